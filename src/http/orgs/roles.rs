//! Roles and the rule of representation over the native API: members read the rule,
//! administrators set it and give or take members' roles (High).

use std::sync::Arc;

use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::http::extract::{Caller, Json};
use crate::service::{Error, Organisations as Orgs, Rule};

/// A rule to set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// The rule (`director | board{2} | chair & board{1}`).
    rule: String,
}

/// `GET` and `PUT /v1/orgs/{cvr}/rule` reply.
#[derive(Debug, Serialize)]
pub struct RuleReply {
    /// The rule in its canonical text; `null` when the organisation has none.
    rule: Option<String>,
    /// The roles the rule names, sorted.
    roles: Vec<String>,
}

impl From<Option<Rule>> for RuleReply {
    fn from(rule: Option<Rule>) -> Self {
        Self {
            roles: rule.as_ref().map(Rule::roles).unwrap_or_default(),
            rule: rule.map(|r| r.as_str().to_owned()),
        }
    }
}

/// `GET /v1/orgs/{cvr}/rule` (members).
pub async fn rule(
    Caller(orgs, principal, _): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
) -> Result<Json<RuleReply>, Error> {
    Ok(Json(orgs.organisation_rule(&principal, &cvr).await?.into()))
}

/// `PUT /v1/orgs/{cvr}/rule` (administrators, High): answers the rule as kept.
pub async fn set_rule(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
    Json(request): Json<RuleRequest>,
) -> Result<Json<RuleReply>, Error> {
    let rule = orgs
        .set_rule(&principal, &cvr, &request.rule, request_id)
        .await?;
    Ok(Json(Some(rule).into()))
}

/// A role to give or take away.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// The role (`director`, `board`, ...).
    role: String,
    /// Give (`true`) or take away (`false`).
    granted: bool,
}

/// `POST /v1/orgs/{cvr}/members/{person}/roles` (administrators, High).
pub async fn set_role(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path((cvr, person)): Path<(String, String)>,
    Json(request): Json<RoleRequest>,
) -> Result<StatusCode, Error> {
    let (role, granted) = (&request.role, request.granted);
    orgs.set_member_role(&principal, &cvr, &person, role, granted, request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    request_samples! {
        RuleRequest => json!({"rule": "director | board{2}"});
        RoleRequest => json!({"role": "board", "granted": true});
    }

    response_samples! {
        RuleReply => [
            RuleReply {
                rule: Some("director | board{2}".into()),
                roles: vec!["board".into(), "director".into()],
            },
            RuleReply { rule: None, roles: Vec::new() },
        ];
    }
}
