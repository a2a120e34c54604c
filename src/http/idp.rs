//! Identity provider endpoints: OpenID discovery, JWKS, the token endpoint (password grant, an
//! extension for scripted clients), logout, and the caller's own history.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Extension, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use super::extract::Bearer;
use super::router::{AppState, RequestId};
use crate::service::{Error, ErrorCode};

/// `GET /.well-known/openid-configuration`
pub async fn discovery(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.service.discovery(&state.config.public_url()))
}

/// `GET /idp/jwks`
pub async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, Error> {
    Ok(Json(state.service.jwks().await?))
}

/// The token request (RFC 6749 §4.3, form-encoded), with `otp` as qsign's extension.
#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: String,
    username: Option<String>,
    password: Option<String>,
    otp: Option<String>,
}

/// `POST /idp/token`
pub async fn token(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(request): Form<TokenRequest>,
) -> Result<impl IntoResponse, Error> {
    if request.grant_type != "password" {
        return Err(Error::new(
            ErrorCode::UnsupportedGrantType,
            "only grant_type=password is offered here",
        ));
    }
    let (Some(username), Some(password)) = (request.username, request.password) else {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            "username and password are required",
        ));
    };
    let issued = state
        .service
        .password_grant(
            &username,
            &password,
            request.otp.as_deref(),
            Some(peer.ip().to_string()),
            Some(request_id.0),
        )
        .await?;
    Ok(Json(json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "acr": issued.loa.uri(),
    })))
}

/// `POST /idp/logout`: revokes the bearer token.
pub async fn logout(
    State(state): State<AppState>,
    Bearer(principal): Bearer,
) -> Result<impl IntoResponse, Error> {
    state.service.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me/history`: the caller's own audit records, newest first.
pub async fn history(
    State(state): State<AppState>,
    Bearer(principal): Bearer,
) -> Result<impl IntoResponse, Error> {
    let records = state.service.my_history(&principal, 100).await?;
    Ok(Json(
        json!({ "person": principal.person, "loa": principal.loa.uri(), "records": records }),
    ))
}
