//! `POST /v1/validate`: a validation report for a signed file, no login needed.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::extract::{parse_json, Json};
use super::router::AppState;
use crate::service::{Error, ErrorCode, ValidationReport, ETSI_REPORT_MEDIA_TYPE};

/// The query: the validation policy to judge under.
#[derive(Debug, Deserialize)]
pub struct ValidateQuery {
    /// A policy of `policies/validation.toml` (or the configured file); `default` when absent.
    #[serde(default)]
    policy: Option<String>,
}

/// Whether the client asks for the ETSI TS 119 102-2 XML report.
fn wants_etsi(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(ETSI_REPORT_MEDIA_TYPE))
}

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

/// `POST /v1/validate[?policy=NAME]` with the file as the body, or JSON `{file, content}`
/// (base64) for a detached signature: the report under the validation policy, with the
/// overall indication first; as a readable HTML page when the client accepts `text/html`; as
/// the ETSI TS 119 102-2 XML report sealed by the service when it accepts
/// `application/vnd.etsi.validationreport+xml`.
pub async fn validate(
    State(state): State<AppState>,
    web: super::web::Web,
    Query(query): Query<ValidateQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let (file, content) = file_and_content(&headers, &body)?;
    let report = state
        .service
        .validation
        .validate_under(&file, content.as_deref(), &[], query.policy.as_deref())
        .await?;
    if wants_etsi(&headers) {
        let xml = state.service.validation.etsi_report(&report).await?;
        return Ok(([(header::CONTENT_TYPE, ETSI_REPORT_MEDIA_TYPE)], xml).into_response());
    }
    let value = json_value(&report)?;
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
    json_value(&report)
}

/// A report as JSON, with the overall indication first.
fn json_value(report: &ValidationReport) -> Result<Value, Error> {
    let mut value = serde_json::to_value(report).map_err(|e| Error::internal(e.to_string()))?;
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
