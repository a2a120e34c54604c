//! The single mapping from errors to HTTP responses.
//!
//! Handlers return [`service::Error`]; its `IntoResponse` sets the status and attaches the
//! error as a response extension, without a body. The [`envelope`] middleware, which knows the
//! request id, then writes the one body shape every error has
//! (`{"error", "error_description", "support_ref"}`), logs the request, and also dresses the
//! bare errors that axum and tower produce (unknown route, wrong method, body too large,
//! timeout) in that same shape.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::router::{AppState, RequestId};
use crate::service::{self, ErrorCode};

/// The JSON error body.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
    support_ref: &'a str,
}

/// The error carried from a handler to [`envelope`].
#[derive(Debug, Clone)]
struct ErrorInfo {
    code: ErrorCode,
    message: String,
    detail: Option<String>,
}

/// The HTTP status of each code.
#[must_use]
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::TemporarilyUnavailable | ErrorCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::InvalidGrant | ErrorCode::UnsupportedGrantType | ErrorCode::CodeReused => {
            StatusCode::BAD_REQUEST
        }
        ErrorCode::TooManyAttempts | ErrorCode::QuotaExceeded | ErrorCode::RateLimited => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ErrorCode::InvalidToken | ErrorCode::InvalidClient | ErrorCode::InvalidDpopProof => {
            StatusCode::UNAUTHORIZED
        }
        ErrorCode::AlreadyExists | ErrorCode::InvalidState => StatusCode::CONFLICT,
        ErrorCode::InsufficientLoa => StatusCode::FORBIDDEN,
        ErrorCode::CredentialNotFound => StatusCode::NOT_FOUND,
        ErrorCode::CredentialSuspended
        | ErrorCode::CredentialRevoked
        | ErrorCode::SadMismatch
        | ErrorCode::ActivationTooWeak => StatusCode::FORBIDDEN,
        ErrorCode::InvalidSad
        | ErrorCode::SadExpired
        | ErrorCode::HashNotAuthorized
        | ErrorCode::SadUsed
        | ErrorCode::SadCountExceeded
        | ErrorCode::ActivationFailed
        | ErrorCode::UnsupportedAlgorithm
        | ErrorCode::UnsupportedFormat
        | ErrorCode::InvalidXml
        | ErrorCode::NotPdf
        | ErrorCode::PdfEncrypted
        | ErrorCode::PdfMalformed => StatusCode::BAD_REQUEST,
        ErrorCode::PdfNoChangesAllowed | ErrorCode::CaseClosed => StatusCode::CONFLICT,
        ErrorCode::InvalidCvr
        | ErrorCode::UnusableInput
        | ErrorCode::InvalidRule
        | ErrorCode::UnknownPolicy => StatusCode::BAD_REQUEST,
        ErrorCode::Forbidden
        | ErrorCode::RightMissing
        | ErrorCode::FormRejected
        | ErrorCode::MandateInvalid
        | ErrorCode::AuthorizationRefused => StatusCode::FORBIDDEN,
        ErrorCode::AuthorizationExpired => StatusCode::BAD_REQUEST,
        ErrorCode::AuthorizationClosed => StatusCode::CONFLICT,
    }
}

impl IntoResponse for service::Error {
    fn into_response(self) -> Response {
        let mut response = status(self.code).into_response();
        response.extensions_mut().insert(ErrorInfo {
            code: self.code,
            message: self.message,
            detail: self.detail,
        });
        response
    }
}

/// Marks a response whose body is already meant for people (an HTML page): the envelope
/// leaves its body alone.
#[derive(Debug, Clone, Copy)]
pub struct Rendered;

/// The code for an error status that did not come from a handler.
fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::TemporarilyUnavailable,
        s if s.is_client_error() => ErrorCode::InvalidRequest,
        _ => ErrorCode::InternalError,
    }
}

/// Logs each request once, counts it, and writes the error body with the support reference.
pub async fn envelope(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let support_ref = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let method = request.method().clone();
    // The path only: query strings may carry codes or tokens.
    let path = request.uri().path().to_owned();
    // A browser gets an error page in its language rather than JSON.
    let page_headers = super::web::wants_html(request.headers()).then(|| {
        let mut h = axum::http::HeaderMap::new();
        for name in [header::ACCEPT_LANGUAGE, header::COOKIE] {
            for v in request.headers().get_all(&name) {
                h.append(name.clone(), v.clone());
            }
        }
        h
    });
    state.metrics.start();
    let mut response = next.run(request).await;
    let status = response.status();
    let rendered = response.extensions().get::<Rendered>().is_some();
    let info = response.extensions_mut().remove::<ErrorInfo>().or_else(|| {
        (!rendered && (status.is_client_error() || status.is_server_error())).then(|| {
            let code = code_for_status(status);
            ErrorInfo {
                code,
                message: code.description().to_owned(),
                detail: None,
            }
        })
    });
    if let Some(info) = info {
        if let Some(detail) = &info.detail {
            if info.code == ErrorCode::InternalError {
                tracing::error!(support_ref = %support_ref, code = info.code.as_str(), detail = %detail, "request failed");
            } else {
                tracing::warn!(support_ref = %support_ref, code = info.code.as_str(), detail = %detail, "request failed");
            }
        }
        if let Some(page_headers) = &page_headers {
            let page = super::web::error_page(
                page_headers,
                status,
                info.code,
                &info.message,
                &support_ref,
                state.config.support.contact.as_deref(),
                &path,
            );
            let (parts, body) = page.into_parts();
            *response.body_mut() = body;
            let headers = response.headers_mut();
            headers.remove(header::CONTENT_LENGTH);
            for (name, value) in &parts.headers {
                headers.insert(name.clone(), value.clone());
            }
            response.extensions_mut().insert(Rendered);
        } else {
            let body = ErrorBody {
                error: info.code.as_str(),
                error_description: &info.message,
                support_ref: &support_ref,
            };
            let json = serde_json::to_vec(&body).unwrap_or_default();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if info.code == ErrorCode::InvalidToken {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            // RFC 9449 §7.1: the challenge of the DPoP scheme, with the algorithms accepted.
            if info.code == ErrorCode::InvalidDpopProof {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("DPoP error=\"invalid_dpop_proof\", algs=\"ES256\""),
                );
            }
            headers.remove(header::CONTENT_LENGTH);
            *response.body_mut() = Body::from(json);
        }
    }
    let elapsed = started.elapsed();
    state.metrics.finish(status.as_u16(), elapsed);
    tracing::info!(
        support_ref = %support_ref,
        method = %method,
        path = %path,
        status = status.as_u16(),
        micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_error_status() {
        for code in ErrorCode::ALL {
            let s = status(*code);
            assert!(
                s.is_client_error() || s.is_server_error(),
                "{}",
                code.as_str()
            );
        }
    }

    #[test]
    fn framework_statuses_map_to_their_codes() {
        for (status, code) in [
            (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed),
            (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest),
            (StatusCode::BAD_GATEWAY, ErrorCode::InternalError),
        ] {
            assert_eq!(code_for_status(status), code, "{status}");
        }
    }
}
