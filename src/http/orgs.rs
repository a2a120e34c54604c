//! Organisation administration over the native API: memberships, members, invitations,
//! rights, the seal, and the organisation's audit trail.

use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::Bearer;
use super::router::{AppState, RequestId};
use crate::service::{Error, ErrorCode, Grants, MemberRow, Right};

fn member_json(m: &MemberRow) -> Value {
    json!({
        "person": m.person,
        "username": m.username,
        "name": format!("{} {}", m.given_name, m.family_name),
        "admin": m.admin,
        "rights": {
            "sign_on_behalf": m.sign_on_behalf,
            "use_seal": m.use_seal,
        },
        "joined_at": m.joined_at,
    })
}

/// `GET /v1/orgs`: the caller's organisations and rights.
pub async fn mine(
    State(state): State<AppState>,
    Bearer(principal): Bearer,
) -> Result<Json<Value>, Error> {
    let listed: Vec<Value> = state
        .service
        .my_organisations(&principal)
        .await?
        .iter()
        .map(|(org, m)| {
            json!({
                "cvr": org.cvr,
                "name": org.name,
                "status": org.status,
                "member": member_json(m),
            })
        })
        .collect();
    Ok(Json(json!({ "organisations": listed })))
}

/// `GET /v1/orgs/{cvr}/members` (administrators).
pub async fn members(
    State(state): State<AppState>,
    Bearer(principal): Bearer,
    Path(cvr): Path<String>,
) -> Result<Json<Value>, Error> {
    let members = state.service.organisation_members(&principal, &cvr).await?;
    Ok(Json(
        json!({ "members": members.iter().map(member_json).collect::<Vec<_>>() }),
    ))
}

/// An invitation request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// Bind the invitation to this account; without it, whoever holds the code may accept.
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    sign_on_behalf: bool,
    #[serde(default)]
    use_seal: bool,
}

/// `POST /v1/orgs/{cvr}/invitations` (administrators, High): answers the code, once.
pub async fn invite(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
    Path(cvr): Path<String>,
    Json(request): Json<InviteRequest>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let invitation = state
        .service
        .invite_member(
            &principal,
            &cvr,
            request.username.as_deref(),
            Grants {
                admin: request.admin,
                sign_on_behalf: request.sign_on_behalf,
                use_seal: request.use_seal,
            },
            Some(request_id.0),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "code": invitation.code, "expires_at": invitation.expires_at })),
    ))
}

/// An acceptance.
#[derive(Debug, Deserialize)]
pub struct AcceptRequest {
    code: String,
}

/// `POST /v1/orgs/invitations/accept` `{code}`: the caller joins.
pub async fn accept(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
    Json(request): Json<AcceptRequest>,
) -> Result<Json<Value>, Error> {
    let org = state
        .service
        .accept_invitation(&principal, &request.code, Some(request_id.0))
        .await?;
    Ok(Json(json!({ "cvr": org.cvr, "name": org.name })))
}

/// A rights change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightRequest {
    /// `sign_on_behalf` or `use_seal`.
    right: String,
    /// Grant (`true`) or revoke (`false`).
    granted: bool,
}

/// `POST /v1/orgs/{cvr}/members/{person}/rights` (administrators, High).
pub async fn set_right(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
    Path((cvr, person)): Path<(String, String)>,
    Json(request): Json<RightRequest>,
) -> Result<StatusCode, Error> {
    let right = Right::parse(&request.right).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidRequest,
            "right: sign_on_behalf or use_seal",
        )
    })?;
    state
        .service
        .set_member_right(
            &principal,
            &cvr,
            &person,
            right,
            request.granted,
            Some(request_id.0),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/orgs/{cvr}/members/{person}` (administrators, High).
pub async fn remove(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
    Path((cvr, person)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    state
        .service
        .remove_member(&principal, &cvr, &person, Some(request_id.0))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/orgs/{cvr}/seal` (administrators, High): the seal credential.
pub async fn seal(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Bearer(principal): Bearer,
    Path(cvr): Path<String>,
) -> Result<Json<Value>, Error> {
    let credential = state
        .service
        .organisation_seal(&principal, &cvr, Some(request_id.0))
        .await?;
    Ok(Json(json!({
        "credentialID": credential.id,
        "description": credential.description(),
        "policy": credential.policy.name,
    })))
}

/// The audit query.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /v1/orgs/{cvr}/audit` (administrators): the organisation's records, newest first.
pub async fn audit(
    State(state): State<AppState>,
    Bearer(principal): Bearer,
    Path(cvr): Path<String>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, Error> {
    let rows = state
        .service
        .organisation_audit(&principal, &cvr, query.limit.unwrap_or(100))
        .await?;
    let records: Vec<Value> = rows
        .iter()
        .map(|r| {
            let record: Value = serde_json::from_slice(&r.record).unwrap_or(Value::Null);
            json!({
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "event": r.event,
                "details": record.get("event").cloned().unwrap_or(Value::Null),
                "request_id": r.request_id,
            })
        })
        .collect();
    Ok(Json(json!({ "records": records })))
}
