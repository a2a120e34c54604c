//! `POST /v1/validate`: a validation report for a signed file, no login needed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::router::AppState;
use crate::service::{Error, ErrorCode};

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
/// detached signature: the report, with the overall indication first.
pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
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
    Ok(Json(value))
}
