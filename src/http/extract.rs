//! Extractors that speak the service's error format.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::router::AppState;
use crate::service::{Error, ErrorCode, Principal};

/// The caller, from `Authorization: Bearer <access token>`; anything else is `invalid_token`.
#[derive(Debug, Clone)]
pub struct Bearer(pub Principal);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                Error::new(ErrorCode::InvalidToken, "a bearer access token is required")
            })?;
        let principal = state.service.authenticate(token.trim()).await?;
        // A token that carries an approval (RFC 9396 `authorization_details`) is for signing
        // what was approved, not a general login: only the CSC credential and signature calls
        // take it.
        if principal.authorization_details.is_some() && !approval_route(parts.uri.path()) {
            return Err(Error::new(
                ErrorCode::InvalidToken,
                "this token carries an approval and is valid only for the CSC credential and signature calls",
            ));
        }
        Ok(Self(principal))
    }
}

/// The routes an approval token may call.
fn approval_route(path: &str) -> bool {
    ["/csc/v1/", "/csc/v2/"].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("credentials/") || rest.starts_with("signatures/"))
    })
}
