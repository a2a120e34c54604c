//! Native API for credential holders: list credentials and change their state.

use axum::extract::{Extension, Path, State};
use serde::Serialize;

use super::extract::{Bearer, Json};
use super::router::{AppState, RequestId};
use crate::service::{CredentialStatus, Error, ErrorCode, StateChange};

/// `GET /v1/credentials` reply.
#[derive(Debug, Serialize)]
pub struct Credentials {
    credentials: Vec<CredentialEntry>,
}

/// A credential of the caller.
#[derive(Debug, Serialize)]
pub struct CredentialEntry {
    /// The CSC `credentialID`.
    id: String,
    policy: String,
    description: String,
    /// The organisation's CVR number; `null` for a personal credential.
    cvr: Option<String>,
    /// `active`, `suspended` or `revoked`.
    status: &'static str,
    key_algorithm: &'static str,
    /// Hex.
    certificate_serial: String,
    /// Unix seconds.
    created_at: i64,
}

/// `POST /v1/credentials/{id}/{action}` reply.
#[derive(Debug, Serialize)]
pub struct Changed {
    id: String,
    /// Whether the state changed (`false`: it was so already).
    changed: bool,
}

/// `GET /v1/credentials`: the caller's credentials (made on first use).
pub async fn list(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
) -> Result<Json<Credentials>, Error> {
    let credentials = state
        .service
        .signing
        .credentials(&principal, Some(request_id.0))
        .await?;
    let credentials = credentials
        .iter()
        .map(|c| CredentialEntry {
            id: c.id.to_string(),
            policy: c.policy.name.clone(),
            description: c.description(),
            cvr: c.kind.cvr().map(str::to_owned),
            status: match c.status {
                CredentialStatus::Active => "active",
                CredentialStatus::Suspended => "suspended",
                CredentialStatus::Revoked => "revoked",
            },
            key_algorithm: c.algorithm.as_str(),
            certificate_serial: c.serial.clone(),
            created_at: c.created_at,
        })
        .collect();
    Ok(Json(Credentials { credentials }))
}

/// `POST /v1/credentials/{id}/{suspend|resume|revoke}`.
pub async fn change(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Changed>, Error> {
    let change = match action.as_str() {
        "suspend" => StateChange::Suspend,
        "resume" => StateChange::Resume,
        "revoke" => StateChange::Revoke,
        _ => {
            return Err(Error::new(
                ErrorCode::NotFound,
                "the action is suspend, resume or revoke",
            ))
        }
    };
    let changed = state
        .service
        .signing
        .change_credential(&principal, &id, change, Some(request_id.0))
        .await?;
    Ok(Json(Changed { id, changed }))
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::http::wire::ResponseBody;

    impl ResponseBody for Credentials {
        fn samples() -> Vec<Self> {
            let entry = |cvr: Option<&str>| CredentialEntry {
                id: "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a".into(),
                policy: "advanced".into(),
                description: "Advanced signature (personal)".into(),
                cvr: cvr.map(str::to_owned),
                status: "active",
                key_algorithm: "ec-p256",
                certificate_serial: "1f".into(),
                created_at: 1_750_000_000,
            };
            vec![Self {
                credentials: vec![entry(None), entry(Some("12345678"))],
            }]
        }
    }

    impl ResponseBody for Changed {
        fn samples() -> Vec<Self> {
            vec![Self {
                id: "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a".into(),
                changed: true,
            }]
        }
    }
}
