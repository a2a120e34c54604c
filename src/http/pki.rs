//! PKI endpoints: CA certificates (AIA caIssuers), CRLs, OCSP (RFC 6960 Appendix A: POST and
//! GET) and the RFC 3161 TSA (POST). Protocol errors travel inside the protocol's own response
//! with HTTP 200, as clients of these protocols expect; HTTP errors are for wrong routes, media
//! types and sizes.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::sync::Arc;

use super::router::RequestId;
use crate::service::{Error, ErrorCode, Trust};

/// Largest OCSP or timestamp request accepted (a request for 16 certificates is under 2 KiB).
pub const REQUEST_LIMIT: usize = 16 * 1024;

/// `GET /pki/ca/{name}.crt`
pub async fn ca_certificate(
    State(trust): State<Arc<Trust>>,
    Path(file): Path<String>,
) -> Result<Response, Error> {
    let der = trust.ca_certificate(named(&file, ".crt")?).await?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-cert")], der).into_response())
}

/// `GET /pki/crl/{name}.crl`
pub async fn crl(
    State(trust): State<Arc<Trust>>,
    Path(file): Path<String>,
) -> Result<Response, Error> {
    let der = trust.crl(named(&file, ".crl")?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-crl"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        der,
    )
        .into_response())
}

/// `POST /pki/ocsp` with `application/ocsp-request`.
pub async fn ocsp_post(
    State(trust): State<Arc<Trust>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    require_type(&headers, "application/ocsp-request")?;
    Ok(ocsp_reply(trust.ocsp(&body).await))
}

/// `GET /pki/ocsp/{base64 of the DER request}` (RFC 6960 Appendix A.1).
pub async fn ocsp_get(
    State(trust): State<Arc<Trust>>,
    Path(encoded): Path<String>,
) -> Result<Response, Error> {
    if encoded.len() > REQUEST_LIMIT {
        return Err(Error::new(
            ErrorCode::PayloadTooLarge,
            "OCSP request too large",
        ));
    }
    let request = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_end_matches('/'))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&encoded))
        .map_err(|_| Error::new(ErrorCode::InvalidRequest, "the OCSP GET path is not base64"))?;
    Ok(ocsp_reply(trust.ocsp(&request).await))
}

/// `POST /tsa` with `application/timestamp-query`.
pub async fn timestamp(
    State(trust): State<Arc<Trust>>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    require_type(&headers, "application/timestamp-query")?;
    let reply = trust.timestamp(&body, Some(request_id.0)).await;
    Ok((
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        reply,
    )
        .into_response())
}

fn ocsp_reply(der: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/ocsp-response")], der).into_response()
}

fn require_type(headers: &HeaderMap, expected: &str) -> Result<(), Error> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if given
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(expected))
    {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::UnsupportedMediaType,
            format!("expected Content-Type {expected}"),
        ))
    }
}

/// The name in a file name with the `suffix` its route serves (`root.crt`: `root`).
fn named<'a>(file: &'a str, suffix: &str) -> Result<&'a str, Error> {
    file.strip_suffix(suffix).ok_or_else(not_found)
}

fn not_found() -> Error {
    Error::new(ErrorCode::NotFound, ErrorCode::NotFound.description())
}
