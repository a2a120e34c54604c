//! Powers of attorney over the native API: offers and requests, accepting, approving, refusing
//! and revoking them, assigning them to members, and the lists of an organisation and of the
//! caller.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{Caller, Json};
use crate::service::{Error, ListedMandate, MandateGrant, MandateTerms, Organisations as Orgs};

/// A power of attorney as its parties see it.
#[derive(Debug, Serialize)]
pub struct Mandate {
    id: String,
    grantor_cvr: String,
    grantor_name: String,
    /// The holding organisation; `null` when a person holds it.
    grantee_cvr: Option<String>,
    /// The holding organisation's name, or the holding person's full name.
    grantee_name: String,
    /// The holding person's username; `null` when an organisation holds it.
    grantee_username: Option<String>,
    /// `sign_on_behalf`, `use_seal` or a theme.
    scope: String,
    /// Unix seconds.
    valid_from: i64,
    /// Unix seconds (exclusive).
    valid_until: i64,
    /// `offered`, `requested`, `active`, `refused` or `revoked`.
    state: String,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    updated_at: i64,
    /// The members of the holding organisation it is assigned to.
    assignments: Vec<Assignment>,
}

/// A member a mandate is assigned to.
#[derive(Debug, Serialize)]
pub struct Assignment {
    /// Person id.
    person: String,
    username: String,
    /// Given and family name.
    name: String,
    /// Unix seconds.
    assigned_at: i64,
}

impl From<&ListedMandate> for Mandate {
    fn from(m: &ListedMandate) -> Self {
        Self {
            id: m.row.id.clone(),
            grantor_cvr: m.row.grantor_cvr.clone(),
            grantor_name: m.grantor_name.clone(),
            grantee_cvr: m.row.grantee_cvr.clone(),
            grantee_name: m.grantee_name.clone(),
            grantee_username: m.grantee_username.clone(),
            scope: m.row.scope.clone(),
            valid_from: m.row.valid_from,
            valid_until: m.row.valid_until,
            state: m.row.state.clone(),
            created_at: m.row.created_at,
            updated_at: m.row.updated_at,
            assignments: m
                .assignments
                .iter()
                .map(|a| Assignment {
                    person: a.person.clone(),
                    username: a.username.clone(),
                    name: format!("{} {}", a.given_name, a.family_name),
                    assigned_at: a.assigned_at,
                })
                .collect(),
        }
    }
}

/// `GET /v1/orgs/{cvr}/mandates` reply.
#[derive(Debug, Serialize)]
pub struct Mandates {
    /// Granted by the organisation.
    granted: Vec<Mandate>,
    /// Held by the organisation.
    received: Vec<Mandate>,
}

/// A mandate the caller may use now.
#[derive(Debug, Serialize)]
pub struct Usable {
    id: String,
    grantor_cvr: String,
    grantor_name: String,
    /// The organisation through which the caller holds it; `null` when granted to them.
    holder_cvr: Option<String>,
    scope: String,
    /// Unix seconds.
    valid_from: i64,
    /// Unix seconds (exclusive).
    valid_until: i64,
}

impl From<&MandateGrant> for Usable {
    fn from(g: &MandateGrant) -> Self {
        Self {
            id: g.id.clone(),
            grantor_cvr: g.grantor_cvr.clone(),
            grantor_name: g.grantor_name.clone(),
            holder_cvr: g.holder_cvr.clone(),
            scope: g.scope.clone(),
            valid_from: g.valid_from,
            valid_until: g.valid_until,
        }
    }
}

/// `GET /v1/me/mandates` reply.
#[derive(Debug, Serialize)]
pub struct MyMandates {
    /// Usable now.
    usable: Vec<Usable>,
    /// Offered to the caller, waiting for their answer.
    offered: Vec<Mandate>,
}

/// An offer of a mandate: to an organisation or to a person, one of them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    /// The organisation that is to hold it.
    #[serde(default)]
    to_cvr: Option<String>,
    /// The person who is to hold it.
    #[serde(default)]
    to_username: Option<String>,
    scope: String,
    valid_from: i64,
    valid_until: i64,
}

/// A request for a mandate from another organisation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MandateRequest {
    /// The organisation asked to grant it.
    from_cvr: String,
    scope: String,
    valid_from: i64,
    valid_until: i64,
}

/// An assignment to a member, or its end.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    /// Person id of a member of the holding organisation.
    person: String,
    /// Assign (`true`) or take away (`false`).
    assigned: bool,
}

/// `GET /v1/orgs/{cvr}/mandates` (administrators): granted and received, with assignments.
pub async fn list(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
) -> Result<Json<Mandates>, Error> {
    let listed = orgs.organisation_mandates(&principal, &cvr).await?;
    let (granted, received): (Vec<&ListedMandate>, Vec<&ListedMandate>) =
        listed.iter().partition(|m| m.row.grantor_cvr == cvr.trim());
    Ok(Json(Mandates {
        granted: granted.into_iter().map(Mandate::from).collect(),
        received: received.into_iter().map(Mandate::from).collect(),
    }))
}

/// `POST /v1/orgs/{cvr}/mandates` (administrators, High): offers a mandate, `offered` until
/// the grantee accepts it.
pub async fn offer(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
    Json(request): Json<OfferRequest>,
) -> Result<(StatusCode, Json<Mandate>), Error> {
    let terms = MandateTerms {
        scope: request.scope,
        valid_from: request.valid_from,
        valid_until: request.valid_until,
    };
    let listed = orgs
        .offer_mandate(
            &principal,
            &cvr,
            request.to_cvr.as_deref(),
            request.to_username.as_deref(),
            &terms,
            request_id,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Mandate::from(&listed))))
}

/// `POST /v1/orgs/{cvr}/mandate-requests` (administrators, High): asks another organisation
/// for a mandate, `requested` until it approves.
pub async fn request(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
    Json(request): Json<MandateRequest>,
) -> Result<(StatusCode, Json<Mandate>), Error> {
    let terms = MandateTerms {
        scope: request.scope,
        valid_from: request.valid_from,
        valid_until: request.valid_until,
    };
    let listed = orgs
        .request_mandate(&principal, &cvr, &request.from_cvr, &terms, request_id)
        .await?;
    Ok((StatusCode::CREATED, Json(Mandate::from(&listed))))
}

/// `POST /v1/orgs/{cvr}/mandates/{id}/{accept|approve|refuse|revoke}` (administrators of either
/// side, High).
pub async fn change(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path((cvr, id, action)): Path<(String, String, String)>,
) -> Result<Json<Mandate>, Error> {
    let listed = orgs
        .change_mandate(&principal, Some(cvr.as_str()), &id, &action, request_id)
        .await?;
    Ok(Json(Mandate::from(&listed)))
}

/// `POST /v1/me/mandates/{id}/{accept|refuse|revoke}` (the person a mandate is offered or
/// granted to, High).
pub async fn change_mine(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Mandate>, Error> {
    let listed = orgs
        .change_mandate(&principal, None, &id, &action, request_id)
        .await?;
    Ok(Json(Mandate::from(&listed)))
}

/// `POST /v1/orgs/{cvr}/mandates/{id}/assignments` (administrators of the holding
/// organisation, High).
pub async fn assign(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path((cvr, id)): Path<(String, String)>,
    Json(request): Json<AssignmentRequest>,
) -> Result<StatusCode, Error> {
    orgs.assign_mandate(
        &principal,
        &cvr,
        &id,
        &request.person,
        request.assigned,
        request_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me/mandates`: the mandates the caller may use now, and those offered to them.
pub async fn mine(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
) -> Result<Json<MyMandates>, Error> {
    let mine = orgs.my_mandates(&principal).await?;
    Ok(Json(MyMandates {
        usable: mine.usable.iter().map(Usable::from).collect(),
        offered: mine.offered.iter().map(Mandate::from).collect(),
    }))
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    const ID: &str = "5f0e7c1a-9d2b-4c3e-8f4a-1b2c3d4e5f60";

    /// A mandate of Rungstedlund A/S held by Other ApS, or (`person`) by a person.
    fn mandate(person: bool) -> Mandate {
        Mandate {
            id: ID.into(),
            grantor_cvr: "35408002".into(),
            grantor_name: "Rungstedlund A/S".into(),
            grantee_cvr: (!person).then(|| "25313763".into()),
            grantee_name: String::from(if person { "Karen Blixen" } else { "Other ApS" }),
            grantee_username: person.then(|| "karen".into()),
            scope: "sign_on_behalf".into(),
            valid_from: 1_750_000_000,
            valid_until: 1_750_003_600,
            state: "active".into(),
            created_at: 1_750_000_000,
            updated_at: 1_750_000_100,
            assignments: vec![Assignment {
                person: "2c8e7f4e-6f0b-4d8e-9d43-5b7c1e0f9a21".into(),
                username: "bror".into(),
                name: "Bror Blixen".into(),
                assigned_at: 1_750_000_200,
            }],
        }
    }

    request_samples! {
        OfferRequest => json!({"to_cvr": "25313763", "to_username": "karen",
            "scope": "accounting", "valid_from": 1_750_000_000, "valid_until": 1_750_003_600});
        MandateRequest => json!({"from_cvr": "35408002", "scope": "sign_on_behalf",
            "valid_from": 1_750_000_000, "valid_until": 1_750_003_600});
        AssignmentRequest => json!({"person": "2c8e7f4e-6f0b-4d8e-9d43-5b7c1e0f9a21",
            "assigned": true});
    }

    response_samples! {
        Mandate => [mandate(false), mandate(true)];
        Mandates => [Mandates { granted: vec![mandate(false)], received: vec![mandate(true)] }];
        MyMandates => [MyMandates {
            usable: vec![Usable {
                id: ID.into(),
                grantor_cvr: "35408002".into(),
                grantor_name: "Rungstedlund A/S".into(),
                holder_cvr: Some("25313763".into()),
                scope: "sign_on_behalf".into(),
                valid_from: 1_750_000_000,
                valid_until: 1_750_003_600,
            }],
            offered: vec![mandate(true)],
        }];
    }
}
