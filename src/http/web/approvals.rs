//! The approvals pages: what relying parties asked the logged-in person to approve on their
//! phone (CSC `credentials/authorize` with `authMode` `oob`), each request with its
//! application's login, the credential, every hash's label and hex digest and the time left;
//! approved with a passkey assertion over exactly those hashes, or refused. Any device where
//! the person is logged in will do: the relying party's token is not this session.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{loa_name, Chrome, SignedIn, Texts};
use crate::http::extract::Json;
use crate::http::router::AppState;
use crate::http::wire::{Ceremony, Location};
use crate::service::{Approval, ApprovalState, Error, Signing};

page_chrome!(ApprovalsPage, ApprovalPage);

/// An approval request as the pages show it.
#[derive(Debug, Clone)]
struct Shown {
    id: String,
    /// Where it stands, in words.
    state: &'static str,
    /// Whether it still waits for the person (the decision buttons).
    pending: bool,
    /// What the credential is.
    credential: String,
    description: Option<String>,
    /// The asking application's login: its level in words and its factors.
    asked_by: String,
    /// `SHA-256`, ...
    hash_name: &'static str,
    /// Each hash: its label and its hex digest.
    hashes: Vec<(Option<String>, String)>,
    num_signatures: i64,
    /// RFC 3339 (the page's script shows it in the reader's time zone).
    asked_at: String,
    /// RFC 3339.
    expires_at: String,
}

fn shown(t: &'static Texts, a: &Approval) -> Shown {
    let state = match a.state {
        ApprovalState::Pending => t.approval_pending,
        ApprovalState::Approved | ApprovalState::Collected => t.approval_approved,
        ApprovalState::Refused => t.approval_refused,
        ApprovalState::Expired => t.approval_expired,
    };
    let factors = if a.factors.is_empty() {
        String::new()
    } else {
        format!(" ({})", a.factors.join(", "))
    };
    Shown {
        id: a.id.clone(),
        state,
        pending: a.state == ApprovalState::Pending,
        credential: a.credential.clone(),
        description: a.description.clone(),
        asked_by: format!("{} {}{factors}", t.approval_application, loa_name(t, a.loa)),
        hash_name: a.hash_name,
        hashes: a
            .hashes
            .iter()
            .map(|h| (h.label.clone(), h.hex.clone()))
            .collect(),
        num_signatures: a.num_signatures,
        asked_at: crate::service::rfc3339(a.created_at),
        expires_at: crate::service::rfc3339(a.expires_at),
    }
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage<'a> {
    chrome: Chrome<'a>,
    message: Option<&'static str>,
    approvals: Vec<Shown>,
}

#[derive(Template)]
#[template(path = "approval.html")]
struct ApprovalPage<'a> {
    chrome: Chrome<'a>,
    a: Shown,
    /// This page's address, as a relying party links to it.
    url: String,
}

/// Which message to show after a decision (a fixed set: nothing from the query is reflected).
#[derive(Debug, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

fn message(t: &'static Texts, done: &str) -> Option<&'static str> {
    match done {
        "approved" => Some(t.msg_approved),
        "refused" => Some(t.msg_refused),
        _ => None,
    }
}

/// `GET /approvals`: the requests that wait for the person's decision.
pub async fn list(
    SignedIn(signing, session): SignedIn<Arc<Signing>>,
    Query(done): Query<Done>,
) -> Result<Response, Error> {
    let t = session.web.t;
    let approvals = signing
        .pending_approvals(&session.principal)
        .await?
        .iter()
        .map(|a| shown(t, a))
        .collect();
    Ok(session.web.render(&ApprovalsPage {
        chrome: session.chrome(),
        message: message(t, &done.done),
        approvals,
    }))
}

/// `GET /approvals/{id}`: one request, with the approval and the refusal while it waits.
pub async fn page(
    State(state): State<AppState>,
    SignedIn(signing, session): SignedIn<Arc<Signing>>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let approval = signing.approval(&session.principal, &id).await?;
    let url = format!("{}/approvals/{}", state.config.public_url(), approval.id);
    Ok(session.web.render(&ApprovalPage {
        chrome: session.chrome(),
        a: shown(session.web.t, &approval),
        url,
    }))
}

/// `POST /approvals/{id}/passkey/start` (JSON): the WebAuthn challenge over the request's
/// credential and hashes.
pub async fn passkey_start(
    SignedIn(signing, session): SignedIn<Arc<Signing>>,
    Path(id): Path<String>,
) -> Result<Json<Ceremony>, Error> {
    signing
        .approval_challenge(&session.principal, &id, session.request_id())
        .await
        .map(Ceremony::reply)
}

/// A passkey approval: the state id of the start and the assertion.
#[derive(Debug, Deserialize)]
pub struct PasskeyFinish {
    state: String,
    assertion: serde_json::Value,
}

/// `POST /approvals/{id}/passkey/finish` (JSON): checks the assertion against the request's
/// hashes and approves; answers where the browser goes next.
pub async fn passkey_finish(
    SignedIn(signing, session): SignedIn<Arc<Signing>>,
    Path(id): Path<String>,
    Json(finish): Json<PasskeyFinish>,
) -> Result<Json<Location>, Error> {
    signing
        .approve(
            &session.principal,
            &id,
            finish.state,
            finish.assertion,
            session.request_id(),
        )
        .await?;
    Ok(Json(Location {
        location: "/approvals?done=approved".into(),
    }))
}

/// `POST /approvals/{id}/refuse`: refuses the request (no script needed).
pub async fn refuse(
    SignedIn(signing, session): SignedIn<Arc<Signing>>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    signing
        .refuse_approval(&session.principal, &id, session.request_id())
        .await?;
    Ok(Redirect::to("/approvals?done=refused").into_response())
}
