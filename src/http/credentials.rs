//! Native API for credential holders: list credentials and change their state.

use axum::extract::{Extension, Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::extract::Bearer;
use super::router::{AppState, RequestId};
use crate::service::{CredentialStatus, Error, ErrorCode, StateChange};

/// `GET /v1/credentials`: the caller's credentials (made on first use).
pub async fn list(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
) -> Result<Json<Value>, Error> {
    let credentials = state
        .service
        .credentials(&principal, Some(request_id.0))
        .await?;
    let listed: Vec<Value> = credentials
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "policy": c.policy.name,
                "description": c.description(),
                "cvr": c.kind.cvr(),
                "status": match c.status {
                    CredentialStatus::Active => "active",
                    CredentialStatus::Suspended => "suspended",
                    CredentialStatus::Revoked => "revoked",
                },
                "key_algorithm": c.algorithm.as_str(),
                "certificate_serial": c.serial,
                "created_at": c.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "credentials": listed })))
}

/// `POST /v1/credentials/{id}/{suspend|resume|revoke}`.
pub async fn change(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
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
        .change_credential(&principal, &id, change, Some(request_id.0))
        .await?;
    Ok(Json(json!({ "id": id, "changed": changed })))
}
