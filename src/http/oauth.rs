//! The OAuth 2.0 authorization server's own endpoints beside the token endpoint: its metadata
//! (RFC 8414) and pushed authorization requests (RFC 9126).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Form;
use serde::{Deserialize, Serialize};

use super::extract::Json;
use super::router::AppState;
use crate::service::{AuthorizeQuery, ClientAssertion, Error};

/// `GET /.well-known/oauth-authorization-server`: the authorization server metadata.
pub async fn metadata(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(
        state
            .service
            .login
            .authorization_server_metadata(&state.config.public_url()),
    )
}

/// A pushed authorization request (form-encoded): the parameters `/idp/authorize` takes, and
/// the client's assertion when it authenticates with `private_key_jwt`.
#[derive(Debug, Deserialize)]
pub struct ParRequest {
    /// The parameters of `/idp/authorize`; a `request_uri` among them is refused: a pushed
    /// request cannot refer to another.
    #[serde(flatten)]
    query: AuthorizeQuery,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// The PAR endpoint's reply (RFC 9126 §2.2).
#[derive(Debug, Serialize)]
pub struct ParResponse {
    /// `urn:ietf:params:oauth:request_uri:…`, for `/idp/authorize?client_id=…&request_uri=…`.
    request_uri: String,
    /// Seconds it stays usable (once).
    expires_in: i64,
}

/// `POST /idp/par`: `201` with the `request_uri` of the checked request.
pub async fn par(
    State(state): State<AppState>,
    Form(request): Form<ParRequest>,
) -> Result<(StatusCode, Json<ParResponse>), Error> {
    let ParRequest {
        query,
        client_assertion_type,
        client_assertion,
    } = request;
    let assertion = client_assertion
        .as_deref()
        .map(|assertion| ClientAssertion {
            kind: client_assertion_type.as_deref().unwrap_or_default(),
            assertion,
        });
    let pushed = state
        .service
        .login
        .push(&query, assertion, &state.config.public_url())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ParResponse {
            request_uri: pushed.request_uri,
            expires_in: pushed.expires_in,
        }),
    ))
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::http::wire::response_samples;

    response_samples! {
        ParResponse => [ParResponse {
            request_uri: "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c".into(),
            expires_in: 60,
        }];
    }
}
