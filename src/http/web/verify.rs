//! The verifier's pages: upload a signed file (and the content of a detached signature), read
//! the report — the verdict in plain words first, then each signature — and download it as JSON.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::Response;
use base64::Engine as _;
use serde_json::Value;

use super::{multipart_error, shown_name, Chrome, Texts, Web};
use crate::http::router::AppState;
use crate::service::{Error, ErrorCode};

page_chrome!(VerifyPage, ReportPage);

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    chrome: Chrome<'a>,
}

/// `GET /verify`
pub async fn page(web: Web) -> Response {
    web.render(&VerifyPage {
        chrome: web.chrome(None),
    })
}

/// One signature of the report, in words.
#[derive(Debug, Clone)]
pub struct SignatureView {
    result: String,
    class: &'static str,
    signer: String,
    organisation: Option<String>,
    cvr: Option<String>,
    level: String,
    format: String,
    claimed: String,
    proven: String,
    revocation: String,
    revision: Option<u64>,
    whole_file: bool,
    changes: Vec<(String, bool)>,
    errors: Vec<String>,
    /// The capacity signed in, in words.
    capacity: Option<String>,
}

/// One representation check of the report, in words.
#[derive(Debug, Clone)]
pub struct RepresentationView {
    organisation: String,
    cvr: String,
    rule: String,
    met: bool,
    signed_as: String,
    missing: String,
}

/// The report, in words.
#[derive(Debug, Clone)]
pub struct ReportView {
    verdict: &'static str,
    class: &'static str,
    time: String,
    count: usize,
    signatures: Vec<SignatureView>,
    representation: Vec<RepresentationView>,
    json_b64: String,
}

fn words(t: &'static Texts, indication: &str) -> (&'static str, &'static str) {
    match indication {
        "TOTAL-PASSED" => (t.result_passed, "passed"),
        "TOTAL-FAILED" => (t.result_failed, "failed"),
        _ => (t.result_indeterminate, "indeterminate"),
    }
}

impl ReportView {
    /// The view of a JSON report (with the overall `indication` added).
    #[must_use]
    pub fn new(t: &'static Texts, report: &Value) -> Self {
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map_or_else(|| t.none.to_owned(), str::to_owned)
        };
        let signatures: Vec<SignatureView> = report["signatures"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let (word, class) = words(t, s["indication"].as_str().unwrap_or(""));
                let result = match s["sub_indication"].as_str() {
                    Some(sub) => format!("{word} ({sub})"),
                    None => word.to_owned(),
                };
                let coverage = s.get("coverage");
                SignatureView {
                    result,
                    class,
                    signer: text(s.pointer("/signer/name")),
                    organisation: s
                        .pointer("/signer/organisation")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    cvr: s
                        .pointer("/signer/cvr")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    level: text(s.get("level")),
                    format: text(s.get("format")),
                    claimed: text(s.get("claimed_signing_time")),
                    proven: text(s.get("proven_signing_time")),
                    revocation: text(s.get("revocation")),
                    revision: coverage.and_then(|c| c["revision"].as_u64()),
                    whole_file: coverage.is_some_and(|c| c["whole_file"] == Value::Bool(true)),
                    changes: coverage
                        .and_then(|c| c["later_changes"].as_array())
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            (
                                c["what"].as_str().unwrap_or("").to_owned(),
                                c["allowed"] == Value::Bool(true),
                            )
                        })
                        .collect(),
                    errors: s["errors"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.as_str().map(str::to_owned))
                        .collect(),
                    capacity: s
                        .pointer("/capacity/text")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                }
            })
            .collect();
        let joined = |v: &Value, separator: &str| {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(separator)
        };
        let representation = report["representation"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| RepresentationView {
                organisation: text(r.get("organisation")),
                cvr: text(r.get("cvr")),
                rule: text(r.get("rule")),
                met: r["satisfied"] == Value::Bool(true),
                signed_as: joined(&r["signed_as"], ", "),
                missing: joined(&r["missing"], " / "),
            })
            .collect();
        let (verdict, class) = if signatures.is_empty() {
            (t.verdict_none, "failed")
        } else {
            match report["indication"].as_str().unwrap_or("") {
                "TOTAL-PASSED" => (t.verdict_passed, "passed"),
                "TOTAL-FAILED" => (t.verdict_failed, "failed"),
                _ => (t.verdict_indeterminate, "indeterminate"),
            }
        };
        let json = serde_json::to_vec_pretty(report).unwrap_or_default();
        Self {
            verdict,
            class,
            time: text(report.get("validation_time")),
            count: signatures.len(),
            signatures,
            representation,
            json_b64: base64::engine::general_purpose::STANDARD.encode(json),
        }
    }
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    chrome: Chrome<'a>,
    name: Option<String>,
    report: ReportView,
}

/// The report page (also `POST /v1/validate` with `Accept: text/html`).
pub fn report_page(web: &Web, report: &Value, name: Option<String>) -> Response {
    web.render(&ReportPage {
        chrome: Chrome {
            back: "/verify",
            ..web.chrome(None)
        },
        name,
        report: ReportView::new(web.t, report),
    })
}

/// `POST /verify` (multipart: `file`, optional `content`).
pub async fn submit(
    State(state): State<AppState>,
    web: Web,
    mut multipart: Multipart,
) -> Result<Response, Error> {
    let mut file = None;
    let mut content = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(shown_name);
        let bytes = field.bytes().await.map_err(|e| multipart_error(&e))?;
        match name.as_str() {
            "file" => file = Some((file_name, bytes.to_vec())),
            "content" if !bytes.is_empty() => content = Some(bytes.to_vec()),
            _ => {}
        }
    }
    let (name, file) = file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidRequest,
            "choose the signed file to verify",
        )
    })?;
    let value = super::super::validate::report_json(&state, &file, content.as_deref()).await?;
    Ok(report_page(&web, &value, name))
}
