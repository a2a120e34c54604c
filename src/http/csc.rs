//! Cloud Signature Consortium API (v2, and the same methods under v1): so far `auth/login`,
//! which takes HTTP Basic credentials (CSC API v2 §11.2) and returns a Low access token.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Extension, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine as _;
use serde_json::json;

use super::router::{AppState, RequestId};
use crate::service::{Error, ErrorCode};

/// `POST /csc/v2/auth/login` (and `/csc/v1/auth/login`): HTTP Basic username and password.
pub async fn login(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Error> {
    let header = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoded = header.strip_prefix("Basic ").ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidRequest,
            "HTTP Basic authentication is required",
        )
    })?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "malformed Basic credentials"))?;
    let (username, password) = decoded
        .split_once(':')
        .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "malformed Basic credentials"))?;
    let issued = state
        .service
        .password_grant(
            username,
            password,
            None,
            Some(peer.ip().to_string()),
            Some(request_id.0),
        )
        .await?;
    Ok(Json(
        json!({ "access_token": issued.access_token, "expires_in": issued.expires_in }),
    ))
}
