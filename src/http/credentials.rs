//! Native API for credential holders: list credentials and change their state.

use axum::extract::Path;
use serde::Serialize;
use std::sync::Arc;

use super::extract::{Caller, Json};
use crate::service::{CredentialStatus, Error, ErrorCode, Signing, StateChange};

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
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
) -> Result<Json<Credentials>, Error> {
    let credentials = signing.credentials(&principal, request_id).await?;
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
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
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
    let changed = signing
        .change_credential(&principal, &id, change, request_id)
        .await?;
    Ok(Json(Changed { id, changed }))
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::http::wire::response_samples;

    const CREDENTIAL: &str = "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a";

    /// A personal credential, or with `cvr` an employee's.
    fn entry(cvr: Option<&str>) -> CredentialEntry {
        CredentialEntry {
            id: CREDENTIAL.into(),
            policy: "advanced".into(),
            description: "Advanced signature (personal)".into(),
            cvr: cvr.map(str::to_owned),
            status: "active",
            key_algorithm: "ec-p256",
            certificate_serial: "1f".into(),
            created_at: 1_750_000_000,
        }
    }

    response_samples! {
        Credentials => [Credentials { credentials: vec![entry(None), entry(Some("12345678"))] }];
        Changed => [Changed { id: CREDENTIAL.into(), changed: true }];
    }
}
