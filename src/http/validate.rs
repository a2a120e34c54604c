//! `POST /v1/validate`: a validation report for a signed file, no login needed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::page::{escape, html};
use super::router::AppState;
use crate::service::{Error, ErrorCode};

/// The report as a readable page: the verdict in plain words first, then each signature.
fn report_page(report: &Value) -> Response {
    let verdict = match report["indication"].as_str().unwrap_or_default() {
        "TOTAL-PASSED" => "Every signature is valid.",
        "TOTAL-FAILED" => "At least one signature is NOT valid.",
        _ => "The signatures could not be fully checked.",
    };
    let mut body = format!(
        "<h1>Validation report</h1><p class=\"verdict\">{}</p><p>Checked at {}.</p>",
        escape(verdict),
        escape(report["validation_time"].as_str().unwrap_or_default())
    );
    let text = |v: &Value| escape(v.as_str().unwrap_or("—"));
    for s in report["signatures"].as_array().into_iter().flatten() {
        body.push_str(&format!(
            "<section><h2>{} ({})</h2><dl><dt>Result</dt><dd>{}{}</dd><dt>Signer</dt><dd>{}</dd>\
             <dt>Organisation</dt><dd>{} {}</dd><dt>Level</dt><dd>{}</dd>\
             <dt>Claimed signing time</dt><dd>{}</dd><dt>Proven by a timestamp</dt><dd>{}</dd>\
             <dt>Revocation</dt><dd>{}</dd></dl>",
            text(&s["id"]),
            text(&s["format"]),
            text(&s["indication"]),
            s["sub_indication"]
                .as_str()
                .map(|x| format!(" / {}", escape(x)))
                .unwrap_or_default(),
            text(s.pointer("/signer/name").unwrap_or(&Value::Null)),
            text(s.pointer("/signer/organisation").unwrap_or(&Value::Null)),
            s.pointer("/signer/cvr")
                .and_then(Value::as_str)
                .map(|c| format!("(CVR {})", escape(c)))
                .unwrap_or_default(),
            text(&s["level"]),
            text(&s["claimed_signing_time"]),
            text(&s["proven_signing_time"]),
            text(&s["revocation"]),
        ));
        if let Some(coverage) = s["coverage"].as_object() {
            body.push_str(&format!(
                "<p>Covers revision {}{}.</p>",
                coverage
                    .get("revision")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                if coverage.get("whole_file").and_then(Value::as_bool) == Some(true) {
                    " (the whole file)"
                } else {
                    ""
                }
            ));
            let changes: Vec<String> = coverage
                .get("later_changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "<li>{} — {}</li>",
                        text(&c["what"]),
                        if c["allowed"] == Value::Bool(true) {
                            "allowed"
                        } else {
                            "NOT allowed"
                        }
                    )
                })
                .collect();
            if !changes.is_empty() {
                body.push_str(&format!(
                    "<p>Later changes:</p><ul>{}</ul>",
                    changes.join("")
                ));
            }
        }
        let errors: Vec<String> = s["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| format!("<li>{}</li>", text(e)))
            .collect();
        if !errors.is_empty() {
            body.push_str(&format!("<ul class=\"errors\">{}</ul>", errors.join("")));
        }
        body.push_str("</section>");
    }
    html(StatusCode::OK, "Validation report", &body)
}

/// The JSON form, for a detached signature with its content.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    /// The signed file, base64.
    file: String,
    /// The signed content of a detached signature, base64.
    #[serde(default)]
    content: Option<String>,
}

fn unb64(s: &str, what: &str) -> Result<Vec<u8>, Error> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| Error::new(ErrorCode::InvalidRequest, format!("{what}: not base64")))
}

/// `POST /v1/validate` with the file as the body, or JSON `{file, content}` (base64) for a
/// detached signature: the report, with the overall indication first; as a readable HTML page
/// when the client accepts `text/html`.
pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (file, content) = if json {
        let request: Request = serde_json::from_slice(&body)
            .map_err(|e| Error::new(ErrorCode::InvalidRequest, e.to_string()))?;
        let content = request
            .content
            .as_deref()
            .map(|c| unb64(c, "content"))
            .transpose()?;
        (unb64(&request.file, "file")?, content)
    } else {
        (body.to_vec(), None)
    };
    let report = state
        .service
        .validate_file(&file, content.as_deref(), &[])
        .await?;
    let mut value = serde_json::to_value(&report).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(map) = value.as_object_mut() {
        map.insert(
            "indication".into(),
            serde_json::to_value(report.overall()).unwrap_or(Value::Null),
        );
    }
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        return Ok(report_page(&value));
    }
    Ok(Json(value).into_response())
}
