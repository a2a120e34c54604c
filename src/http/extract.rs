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
        Ok(Self(state.service.authenticate(token.trim()).await?))
    }
}
