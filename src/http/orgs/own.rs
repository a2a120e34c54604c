//! What a member does for themselves over the native API: their organisations (roles, rights,
//! anonymity, pending requests, the signatures they made for each), asking for a right or a
//! role, and leaving; administrators list the requests and decide them (High).

use std::sync::Arc;

use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Member;
use crate::http::extract::{Caller, Json};
use crate::service::{Error, ErrorCode, Organisations as Orgs, RequestRow};

/// `GET /v1/me/orgs` reply.
#[derive(Debug, Serialize)]
pub struct OwnOrganisations {
    organisations: Vec<OwnOrganisation>,
}

/// One of the caller's organisations.
#[derive(Debug, Serialize)]
pub struct OwnOrganisation {
    cvr: String,
    name: String,
    status: String,
    /// The caller's membership: rights, roles, anonymity and pseudonym.
    member: Member,
    /// What the caller asked for and is not decided yet.
    requests: Vec<RequestItem>,
    /// The signatures the caller made for the organisation, newest first.
    signatures: Vec<Signed>,
}

/// A pending request for a right or a role.
#[derive(Debug, Serialize)]
pub struct RequestItem {
    id: String,
    /// The member who asks (person id).
    person: String,
    /// `right` or `role`.
    kind: String,
    /// The right or the role.
    name: String,
    /// Unix seconds.
    created_at: i64,
}

impl From<RequestRow> for RequestItem {
    fn from(r: RequestRow) -> Self {
        Self {
            id: r.id,
            person: r.person,
            kind: r.kind,
            name: r.name,
            created_at: r.created_at,
        }
    }
}

/// A signature made for the organisation, from its audit trail.
#[derive(Debug, Serialize)]
pub struct Signed {
    /// The audit record's sequence number.
    seq: i64,
    /// Unix milliseconds.
    at: i64,
    /// The credential (employee or seal).
    credential: String,
    /// The hash signed, hex.
    hash: String,
    /// The support reference of the request; `null` for work of the service itself.
    request_id: Option<String>,
}

/// `GET /v1/me/orgs` (Substantial): the caller's organisations as they see them.
pub async fn mine(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
) -> Result<Json<OwnOrganisations>, Error> {
    let organisations = orgs
        .own_organisations(&principal)
        .await?
        .into_iter()
        .map(|o| OwnOrganisation {
            member: Member::new(&o.member, o.roles),
            cvr: o.organisation.cvr,
            name: o.organisation.name,
            status: o.organisation.status,
            requests: o.requests.into_iter().map(RequestItem::from).collect(),
            signatures: o
                .signatures
                .iter()
                .map(|r| {
                    let record: Value = serde_json::from_slice(&r.record).unwrap_or(Value::Null);
                    let field = |name: &str| {
                        record
                            .get("event")
                            .and_then(|e| e.get(name))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    Signed {
                        seq: r.seq,
                        at: r.at,
                        credential: field("credential"),
                        hash: field("hash"),
                        request_id: r.request_id.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    Ok(Json(OwnOrganisations { organisations }))
}

/// `DELETE /v1/me/orgs/{cvr}` (Substantial): the caller leaves, withdrawing their consent.
pub async fn leave(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
) -> Result<StatusCode, Error> {
    orgs.leave_organisation(&principal, &cvr, request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a member asks for: a right or a role (exactly one).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    /// `sign_on_behalf` or `use_seal`.
    #[serde(default)]
    right: Option<String>,
    /// A role (`board`, ...).
    #[serde(default)]
    role: Option<String>,
}

/// `POST /v1/orgs/{cvr}/requests` (members, Substantial): the request, pending.
pub async fn request(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
    Json(request): Json<AccessRequest>,
) -> Result<(StatusCode, Json<RequestItem>), Error> {
    let (kind, name) = match (&request.right, &request.role) {
        (Some(right), None) => ("right", right),
        (None, Some(role)) => ("role", role),
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "ask for one right or one role: {\"right\": …} or {\"role\": …}",
            ))
        }
    };
    let row = orgs
        .request_access(&principal, &cvr, kind, name, request_id)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// `GET /v1/orgs/{cvr}/requests` reply.
#[derive(Debug, Serialize)]
pub struct Requests {
    requests: Vec<RequestItem>,
}

/// `GET /v1/orgs/{cvr}/requests` (administrators): the pending requests, oldest first.
pub async fn requests(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
) -> Result<Json<Requests>, Error> {
    let requests = orgs
        .pending_requests(&principal, &cvr)
        .await?
        .into_iter()
        .map(RequestItem::from)
        .collect();
    Ok(Json(Requests { requests }))
}

/// An administrator's decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Approve (and grant) or refuse.
    approve: bool,
}

/// `POST /v1/orgs/{cvr}/requests/{id}` (administrators, High): approves or refuses.
pub async fn decide(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path((cvr, id)): Path<(String, String)>,
    Json(decision): Json<Decision>,
) -> Result<StatusCode, Error> {
    orgs.decide_request(&principal, &cvr, &id, decision.approve, request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    const PERSON: &str = "2c8e7f4e-6f0b-4d8e-9d43-5b7c1e0f9a21";

    fn item() -> RequestItem {
        RequestItem {
            id: "5d7c2f0e-0c1b-4a8e-b3f1-9e2d4c6a8b10".into(),
            person: PERSON.into(),
            kind: "right".into(),
            name: "use_seal".into(),
            created_at: 1_750_000_000,
        }
    }

    fn member() -> Member {
        Member::new(
            &crate::service::MemberRow {
                cvr: "35408002".into(),
                person: PERSON.into(),
                username: "karen".into(),
                given_name: "Karen".into(),
                family_name: "Blixen".into(),
                admin: false,
                sign_on_behalf: true,
                use_seal: false,
                joined_at: 1_750_000_000,
                mac: None,
                anonymous: true,
                pseudonym: Some("6a1f0c2e-55b1-4c1e-9d0a-1d2e3f405162".into()),
            },
            vec!["board".into()],
        )
    }

    request_samples! {
        AccessRequest => json!({"right": "use_seal", "role": "board"});
        Decision => json!({"approve": true});
    }

    response_samples! {
        OwnOrganisations => [OwnOrganisations {
            organisations: vec![OwnOrganisation {
                cvr: "35408002".into(),
                name: "Rungstedlund A/S".into(),
                status: "active".into(),
                member: member(),
                requests: vec![item()],
                signatures: vec![Signed {
                    seq: 42,
                    at: 1_750_000_000_000,
                    credential: "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a".into(),
                    hash: "ab".repeat(32),
                    request_id: None,
                }],
            }],
        }];
        RequestItem => [item()];
        Requests => [Requests { requests: vec![item()] }];
    }
}
