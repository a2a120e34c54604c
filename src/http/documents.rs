//! Native whole-document signing: upload a document, authorize its digest (CSC
//! `credentials/authorize`, any activation), sign it, download the result.

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::Bearer;
use super::router::{AppState, RequestId};
use crate::service::{parse_level, Error, ErrorCode, Format};

/// The query of an upload.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// `cades-attached`, `cades-detached`, `xades-enveloped`, `xades-enveloping`,
    /// `xades-detached`.
    format: String,
    /// `B-B` (default), `B-T`, `B-LT`, `B-LTA`.
    #[serde(default)]
    level: Option<String>,
}

/// `POST /v1/documents?format=…&level=…` with the document as the body: answers its id and
/// SHA-256 (base64), which the signer authorizes next.
pub async fn upload(
    State(state): State<AppState>,
    Bearer(principal): Bearer,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Error> {
    let format = Format::parse(&query.format).ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedFormat,
            "format: cades-attached, cades-detached, xades-enveloped, xades-enveloping or xades-detached",
        )
    })?;
    let level = parse_level(query.level.as_deref().unwrap_or("B-B"))
        .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "level: B-B, B-T, B-LT or B-LTA"))?;
    let uploaded = state
        .service
        .upload_document(&principal, body.to_vec(), format, level)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": uploaded.id,
            "sha256": base64::engine::general_purpose::STANDARD.encode(&uploaded.sha256),
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
            "expires_at": uploaded.expires_at,
        })),
    ))
}

/// The body of a signing request.
#[derive(Debug, Deserialize)]
pub struct SignRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    #[serde(default, rename = "SAD")]
    sad: Option<String>,
}

/// `POST /v1/documents/{id}/sign` `{credentialID, SAD}`.
pub async fn sign(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
    Path(id): Path<String>,
    Json(request): Json<SignRequest>,
) -> Result<Json<Value>, Error> {
    state
        .service
        .sign_uploaded(
            &principal,
            &id,
            &request.credential_id,
            request.sad,
            Some(request_id.0),
        )
        .await?;
    Ok(Json(
        json!({ "id": id, "signed": format!("/v1/documents/{id}/signed") }),
    ))
}

/// `GET /v1/documents/{id}/signed`: the signed document or signature.
pub async fn signed(
    State(state): State<AppState>,
    Bearer(principal): Bearer,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Error> {
    let (bytes, media_type) = state.service.signed_document(&principal, &id).await?;
    Ok(([(header::CONTENT_TYPE, media_type)], bytes))
}
