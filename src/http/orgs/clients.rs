//! An organisation's system clients over the native API (administrators): register one for
//! the organisation's seal (High), list them, remove one (High).

use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

use super::super::extract::{Caller, Json};
use crate::service::{ClientRegistration, Error, ErrorCode, Organisations as Orgs, SystemClient};

/// `POST /v1/orgs/{cvr}/clients` request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    /// 1 to 64 of `[A-Za-z0-9._-]`.
    client_id: String,
    /// The client's public key.
    jwk: Jwk,
    /// Most signatures one authorization may ask for.
    max_signatures_per_authorization: u32,
    /// Most authorizations per minute.
    authorizations_per_minute: u32,
}

/// A public P-256 key as a JWK (RFC 7517); a private member (`d`) is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    /// `EC`.
    kty: String,
    /// `P-256`.
    crv: String,
    /// The x coordinate, base64url.
    x: String,
    /// The y coordinate, base64url.
    y: String,
    /// The client's name for the key, if any (not kept).
    #[serde(default)]
    kid: Option<String>,
    /// `ES256`, if given.
    #[serde(default)]
    alg: Option<String>,
    /// `sig`, if given.
    #[serde(default, rename = "use")]
    key_use: Option<String>,
}

/// A system client of the organisation.
#[derive(Debug, Serialize)]
pub struct Client {
    client_id: String,
    cvr: String,
    /// The public key (JWK).
    jwk: Value,
    /// Its RFC 7638 thumbprint.
    jkt: String,
    max_signatures_per_authorization: u32,
    authorizations_per_minute: u32,
    /// Unix seconds.
    created_at: i64,
}

impl From<SystemClient> for Client {
    fn from(c: SystemClient) -> Self {
        Self {
            client_id: c.client_id,
            cvr: c.cvr,
            jwk: c.jwk,
            jkt: c.jkt,
            max_signatures_per_authorization: c.max_per_authorization,
            authorizations_per_minute: c.per_minute,
            created_at: c.created_at,
        }
    }
}

/// `GET /v1/orgs/{cvr}/clients` reply.
#[derive(Debug, Serialize)]
pub struct Clients {
    clients: Vec<Client>,
}

/// `POST /v1/orgs/{cvr}/clients`: registers a system client for the seal (`201`).
pub async fn register(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
    Json(request): Json<ClientRequest>,
) -> Result<(StatusCode, Json<Client>), Error> {
    let key = request.jwk;
    if key.alg.as_deref().is_some_and(|a| a != "ES256")
        || key.key_use.as_deref().is_some_and(|u| u != "sig")
        || key.kid.as_ref().is_some_and(|k| k.len() > 256)
    {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            "jwk: an ES256 signing key (alg ES256, use sig and a kid of at most 256 bytes, when given)",
        ));
    }
    let registration = ClientRegistration {
        client_id: request.client_id,
        jwk: serde_json::json!({"kty": key.kty, "crv": key.crv, "x": key.x, "y": key.y}),
        max_signatures_per_authorization: request.max_signatures_per_authorization,
        authorizations_per_minute: request.authorizations_per_minute,
    };
    let client = orgs
        .register_client(&principal, &cvr, &registration, request_id)
        .await?;
    Ok((StatusCode::CREATED, Json(client.into())))
}

/// `GET /v1/orgs/{cvr}/clients`: the organisation's system clients.
pub async fn list(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
) -> Result<Json<Clients>, Error> {
    let clients = orgs.clients(&principal, &cvr).await?;
    Ok(Json(Clients {
        clients: clients.into_iter().map(Client::from).collect(),
    }))
}

/// `DELETE /v1/orgs/{cvr}/clients/{id}`: removes a system client; its tokens stop at once.
pub async fn remove(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path((cvr, id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    orgs.remove_client(&principal, &cvr, &id, request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    const X: &str = "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs";
    const Y: &str = "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA";

    fn client() -> Client {
        Client {
            client_id: "invoicing-1".into(),
            cvr: "12345678".into(),
            jwk: json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y}),
            jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into(),
            max_signatures_per_authorization: 100,
            authorizations_per_minute: 20,
            created_at: 1_700_000_000,
        }
    }

    request_samples! {
        ClientRequest => json!({"client_id": "invoicing-1",
            "jwk": {"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": "k1", "alg": "ES256",
                "use": "sig"},
            "max_signatures_per_authorization": 100, "authorizations_per_minute": 20}),
            members: ["jwk" => Jwk];
        Jwk => json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": "k1",
            "alg": "ES256", "use": "sig"});
    }

    response_samples! {
        Client => [client()];
        Clients => [Clients { clients: vec![client()] }];
    }
}
