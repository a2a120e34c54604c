//! `POST /v1/validate`: a validation report for a signed file, no login needed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::extract::{parse_json, Json};
use super::router::AppState;
use crate::service::{Error, ErrorCode};

/// The JSON form, for a detached signature with its content.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
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
    web: super::web::Web,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let (file, content) = file_and_content(&headers, &body)?;
    let value = report_json(&state, &file, content.as_deref()).await?;
    if super::web::wants_html(&headers) {
        return Ok(super::web::verify::report_page(&web, &value, None));
    }
    Ok(Json(value).into_response())
}

/// A signed file from a request's body: the body itself, or for JSON (`application/json`)
/// `{file, content}` in base64, the content of a detached signature beside it. Also the form
/// of `POST /v1/extend`.
///
/// # Errors
/// `invalid_request` for JSON that does not fit or is not base64.
pub(super) fn file_and_content(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Vec<u8>, Option<Vec<u8>>), Error> {
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Ok((body.to_vec(), None));
    }
    let request: ValidateRequest = parse_json(body)?;
    let content = request
        .content
        .as_deref()
        .map(|c| unb64(c, "content"))
        .transpose()?;
    Ok((unb64(&request.file, "file")?, content))
}

/// The validation report as JSON, with the overall indication first.
///
/// # Errors
/// As [`crate::service::Validation::validate_file`].
pub async fn report_json(
    state: &AppState,
    file: &[u8],
    content: Option<&[u8]>,
) -> Result<Value, Error> {
    let report = state
        .service
        .validation
        .validate_file(file, content, &[])
        .await?;
    let mut value = serde_json::to_value(&report).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(map) = value.as_object_mut() {
        map.insert(
            "indication".into(),
            serde_json::to_value(report.overall()).unwrap_or(Value::Null),
        );
    }
    Ok(value)
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::request_samples;

    request_samples! {
        ValidateRequest => json!({"file": "MIAGCSqGSIb3DQEHAqCAMIA=", "content": "Y29udHJhY3Q="});
    }
}
