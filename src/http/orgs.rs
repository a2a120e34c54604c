//! Organisation administration over the native API: memberships, members, invitations,
//! rights, the seal, and the organisation's audit trail; in submodules, roles and the rule of
//! representation ([`roles`]), what members do for themselves ([`own`]) and bulk enrolment
//! ([`bulk`]).

pub(super) mod bulk;
pub(super) mod clients;
pub(super) mod own;
pub(super) mod roles;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

use super::extract::{Caller, Json};
use crate::service::{Error, ErrorCode, Grants, MemberRow, Organisations as Orgs, Right};

/// A member of an organisation.
#[derive(Debug, Serialize)]
pub struct Member {
    /// Person id.
    person: String,
    username: String,
    /// Given and family name.
    name: String,
    admin: bool,
    rights: Rights,
    /// Unix seconds.
    joined_at: i64,
    /// Roles held, sorted.
    roles: Vec<String>,
    /// Anonymous: the employee certificate names the pseudonym, not the person.
    anonymous: bool,
    /// The pseudonym of an anonymous member; `null` otherwise.
    pseudonym: Option<String>,
}

/// A member's rights.
#[derive(Debug, Serialize)]
pub struct Rights {
    sign_on_behalf: bool,
    use_seal: bool,
}

impl Member {
    /// A member with their roles.
    pub(super) fn new(m: &MemberRow, roles: Vec<String>) -> Self {
        let pseudonym = m.pseudonym.clone().filter(|_| m.anonymous);
        Self {
            person: m.person.clone(),
            username: m.username.clone(),
            name: format!("{} {}", m.given_name, m.family_name),
            admin: m.admin,
            rights: Rights {
                sign_on_behalf: m.sign_on_behalf,
                use_seal: m.use_seal,
            },
            joined_at: m.joined_at,
            roles,
            anonymous: pseudonym.is_some(),
            pseudonym,
        }
    }
}

/// `GET /v1/orgs` reply.
#[derive(Debug, Serialize)]
pub struct Organisations {
    organisations: Vec<Membership>,
}

/// An organisation of the caller, with the caller's membership.
#[derive(Debug, Serialize)]
pub struct Membership {
    cvr: String,
    name: String,
    status: String,
    member: Member,
}

/// `GET /v1/orgs/{cvr}/members` reply.
#[derive(Debug, Serialize)]
pub struct Members {
    members: Vec<Member>,
}

/// `POST /v1/orgs/{cvr}/invitations` reply: the code, shown once.
#[derive(Debug, Serialize)]
pub struct Invitation {
    code: String,
    /// Unix seconds.
    expires_at: i64,
}

/// `POST /v1/orgs/invitations/accept` reply: the organisation joined.
#[derive(Debug, Serialize)]
pub struct Joined {
    cvr: String,
    name: String,
}

/// `POST /v1/orgs/{cvr}/seal` reply: the seal credential.
#[derive(Debug, Serialize)]
pub struct Seal {
    #[serde(rename = "credentialID")]
    credential_id: String,
    description: String,
    policy: String,
}

/// `GET /v1/orgs/{cvr}/audit` reply.
#[derive(Debug, Serialize)]
pub struct AuditRecords {
    records: Vec<AuditRecord>,
}

/// An audit record of the organisation.
#[derive(Debug, Serialize)]
pub struct AuditRecord {
    seq: i64,
    /// Unix milliseconds.
    at: i64,
    actor: String,
    event: String,
    /// The event's own members.
    details: Value,
    /// The support reference of the request; `null` for work of the service itself.
    request_id: Option<String>,
}

/// `GET /v1/orgs`: the caller's organisations, rights and roles.
pub async fn mine(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
) -> Result<Json<Organisations>, Error> {
    let organisations = orgs
        .memberships_with_roles(&principal)
        .await?
        .into_iter()
        .map(|(org, m, roles)| Membership {
            member: Member::new(&m, roles),
            cvr: org.cvr,
            name: org.name,
            status: org.status,
        })
        .collect();
    Ok(Json(Organisations { organisations }))
}

/// `GET /v1/orgs/{cvr}/members` (administrators): members with rights, roles and anonymity
/// (an anonymous member's name is shown to administrators).
pub async fn members(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
) -> Result<Json<Members>, Error> {
    let members = orgs.members_with_roles(&principal, &cvr).await?;
    Ok(Json(Members {
        members: members
            .into_iter()
            .map(|(m, roles)| Member::new(&m, roles))
            .collect(),
    }))
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
    /// Join anonymously: the employee certificate names a pseudonym, not the person.
    #[serde(default)]
    anonymous: bool,
    /// Roles given on acceptance.
    #[serde(default)]
    roles: Vec<String>,
}

/// `POST /v1/orgs/{cvr}/invitations` (administrators, High): answers the code, once.
pub async fn invite(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
    Json(request): Json<InviteRequest>,
) -> Result<(StatusCode, Json<Invitation>), Error> {
    let grants = Grants {
        admin: request.admin,
        sign_on_behalf: request.sign_on_behalf,
        use_seal: request.use_seal,
        anonymous: request.anonymous,
    };
    let (username, roles) = (request.username.as_deref(), &request.roles);
    let invitation = orgs
        .invite_member_with_roles(&principal, &cvr, username, grants, roles, request_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Invitation {
            code: invitation.code,
            expires_at: invitation.expires_at,
        }),
    ))
}

/// An acceptance.
#[derive(Debug, Deserialize)]
pub struct AcceptRequest {
    code: String,
}

/// `POST /v1/orgs/invitations/accept` `{code}`: the caller joins.
pub async fn accept(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Json(request): Json<AcceptRequest>,
) -> Result<Json<Joined>, Error> {
    let org = orgs
        .accept_invitation(&principal, &request.code, request_id)
        .await?;
    Ok(Json(Joined {
        cvr: org.cvr,
        name: org.name,
    }))
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
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path((cvr, person)): Path<(String, String)>,
    Json(request): Json<RightRequest>,
) -> Result<StatusCode, Error> {
    let right = Right::parse(&request.right).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidRequest,
            "right: sign_on_behalf or use_seal",
        )
    })?;
    let granted = request.granted;
    orgs.set_member_right(&principal, &cvr, &person, right, granted, request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/orgs/{cvr}/members/{person}` (administrators, High).
pub async fn remove(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path((cvr, person)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    orgs.remove_member(&principal, &cvr, &person, request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/orgs/{cvr}/seal` (administrators, High): the seal credential.
pub async fn seal(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
) -> Result<Json<Seal>, Error> {
    let credential = orgs.organisation_seal(&principal, &cvr, request_id).await?;
    Ok(Json(Seal {
        credential_id: credential.id.to_string(),
        description: credential.description(),
        policy: credential.policy.name.clone(),
    }))
}

/// The audit query.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /v1/orgs/{cvr}/audit` (administrators): the organisation's records, newest first.
pub async fn audit(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditRecords>, Error> {
    let limit = query.limit.unwrap_or(100);
    let rows = orgs.organisation_audit(&principal, &cvr, limit).await?;
    let records = rows
        .iter()
        .map(|r| {
            let record: Value = serde_json::from_slice(&r.record).unwrap_or(Value::Null);
            AuditRecord {
                seq: r.seq,
                at: r.at,
                actor: r.actor.clone(),
                event: r.event.clone(),
                details: record.get("event").cloned().unwrap_or(Value::Null),
                request_id: r.request_id.clone(),
            }
        })
        .collect();
    Ok(Json(AuditRecords { records }))
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    const PERSON: &str = "2c8e7f4e-6f0b-4d8e-9d43-5b7c1e0f9a21";
    const CVR: &str = "12345678";
    const NAME: &str = "Rungstedlund ApS";

    fn member() -> Member {
        Member {
            person: PERSON.into(),
            username: "karen".into(),
            name: "Karen Blixen".into(),
            admin: true,
            rights: Rights {
                sign_on_behalf: true,
                use_seal: false,
            },
            joined_at: 1_750_000_000,
            roles: vec!["director".into()],
            anonymous: false,
            pseudonym: None,
        }
    }

    request_samples! {
        InviteRequest => json!({"username": "bror", "admin": false, "sign_on_behalf": true,
            "use_seal": false, "anonymous": true, "roles": ["board"]});
        AcceptRequest => json!({"code": "QX7T-2K9M"});
        RightRequest => json!({"right": "use_seal", "granted": true});
    }

    response_samples! {
        Organisations => [Organisations {
            organisations: vec![Membership {
                cvr: CVR.into(),
                name: NAME.into(),
                status: "active".into(),
                member: member(),
            }],
        }];
        Members => [Members {
            members: vec![
                member(),
                Member {
                    anonymous: true,
                    pseudonym: Some("6a1f0c2e-55b1-4c1e-9d0a-1d2e3f405162".into()),
                    roles: Vec::new(),
                    ..member()
                },
            ],
        }];
        Invitation => [Invitation { code: "QX7T-2K9M".into(), expires_at: 1_750_086_400 }];
        Joined => [Joined { cvr: CVR.into(), name: NAME.into() }];
        Seal => [Seal {
            credential_id: "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a".into(),
            description: format!("Seal of {NAME} (CVR {CVR})"),
            policy: "seal".into(),
        }];
        AuditRecords => [AuditRecords {
            records: vec![AuditRecord {
                seq: 7,
                at: 1_750_000_000_000,
                actor: format!("person:{PERSON}"),
                event: "member_invited".into(),
                details: json!({}),
                request_id: None,
            }],
        }];
    }
}
