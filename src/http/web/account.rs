//! The account page: the session's level, step-up, passkeys and the authenticator app — add
//! them, and remove a lost one from a session made with another factor.

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

use super::errors::on_page;
use super::{Chrome, Problem, SignedIn, Texts};
use crate::http::extract::Json;
use crate::http::router::AppState;
use crate::http::wire::{Ceremony, Location};
use crate::service::{Account, Error, Logins, TotpOffer};

page_chrome!(AccountPage, TotpPage);

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    chrome: Chrome<'a>,
    message: Option<&'static str>,
    loa: &'static str,
    /// (id, enrolled at, counts for High from — when that is still ahead, how it was bound).
    passkeys: Vec<(String, String, Option<String>, String)>,
    /// Whether the session is High (a passkey can be added without an enrolment code).
    high: bool,
    factors: crate::service::Factors,
}

/// Which message to show after a change (a fixed set: nothing from the query is reflected).
#[derive(Debug, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

fn message(t: &'static Texts, done: &str) -> Option<&'static str> {
    Some(match done {
        "passkey-added" => t.msg_passkey_added,
        "passkey-removed" => t.msg_passkey_removed,
        "totp-enrolled" => t.msg_totp_enrolled,
        "totp-removed" => t.msg_totp_removed,
        "stepped-up" => t.msg_stepped_up,
        _ => return None,
    })
}

/// `GET /account`
pub async fn page(
    SignedIn(state, session): SignedIn<AppState>,
    Query(done): Query<Done>,
) -> Result<Response, Error> {
    let factors = state.service.account.factors(&session.principal).await?;
    let t = session.web.t;
    Ok(session.web.render(&AccountPage {
        chrome: session.chrome(),
        message: message(t, &done.done),
        loa: session.user.loa,
        passkeys: factors
            .passkeys
            .iter()
            .map(|p| {
                let pending = (p.high_from > state.service.clock_now())
                    .then(|| crate::service::rfc3339(p.high_from));
                let bound = match p.bound_by.as_str() {
                    "enrolment-code" => t.bound_by_code,
                    "high-session" => t.bound_by_passkey,
                    _ => "",
                };
                (
                    p.id.clone(),
                    crate::service::rfc3339(p.created_at),
                    pending,
                    bound.to_owned(),
                )
            })
            .collect(),
        high: session.principal.loa >= crate::service::Loa::High,
        factors,
    }))
}

/// A WebAuthn ceremony's finish from the page script.
#[derive(Debug, Deserialize)]
pub struct Finish {
    state: String,
    credential: serde_json::Value,
}

/// What the page script sends to start an enrolment.
#[derive(Debug, Default, Deserialize)]
pub struct RegisterStart {
    #[serde(default)]
    enrolment_code: Option<String>,
}

/// `POST /account/passkeys/start` (JSON; a High session, or the enrolment code).
pub async fn passkey_start(
    SignedIn(login, session): SignedIn<Arc<Logins>>,
    body: Option<Json<RegisterStart>>,
) -> Result<Json<Ceremony>, Error> {
    let start = body.map(|Json(b)| b).unwrap_or_default();
    let code = start.enrolment_code.as_deref();
    login
        .passkey_register_start(&session.principal, code)
        .await
        .map(Ceremony::reply)
}

/// `POST /account/passkeys/finish` (JSON).
pub async fn passkey_finish(
    SignedIn(login, session): SignedIn<Arc<Logins>>,
    Json(finish): Json<Finish>,
) -> Result<Json<Location>, Error> {
    let (principal, request_id) = (&session.principal, session.request_id());
    login
        .passkey_register_finish(principal, &finish.state, finish.credential, request_id)
        .await?;
    Ok(Json(Location {
        location: "/account?done=passkey-added".into(),
    }))
}

/// The passkey to remove.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    id: String,
}

/// `POST /account/passkeys/remove`
pub async fn passkey_remove(
    SignedIn(account, session): SignedIn<Arc<Account>>,
    axum::Form(form): axum::Form<RemoveForm>,
) -> Result<Response, Error> {
    account
        .remove_passkey(&session.principal, &form.id, session.request_id())
        .await?;
    Ok(Redirect::to("/account?done=passkey-removed").into_response())
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    chrome: Chrome<'a>,
    offer: TotpOffer,
    /// A refused confirmation (a wrong code).
    problem: Option<Problem>,
}

/// `GET /account/totp`: a new secret to add to an authenticator app (High only).
pub async fn totp_offer(
    SignedIn(account, session): SignedIn<Arc<Account>>,
) -> Result<Response, Error> {
    let offer = account.totp_offer(&session.principal).await?;
    Ok(session.web.render(&TotpPage {
        chrome: session.chrome(),
        offer,
        problem: None,
    }))
}

/// The confirmation of a new secret.
#[derive(Debug, Deserialize)]
pub struct TotpForm {
    secret: String,
    code: String,
}

/// `POST /account/totp`: a wrong code shows the same secret again with the error summary.
pub async fn totp_enrol(
    SignedIn(account, mut session): SignedIn<Arc<Account>>,
    axum::Form(form): axum::Form<TotpForm>,
) -> Result<Response, Error> {
    let (principal, request_id) = (&session.principal, session.request_id());
    let enrolled = account
        .totp_enrol(principal, &form.secret, &form.code, request_id)
        .await;
    let e = match enrolled {
        Ok(()) => return Ok(Redirect::to("/account?done=totp-enrolled").into_response()),
        Err(e) if on_page(e.code) => e,
        Err(e) => return Err(e),
    };
    // The same secret again (the app may hold it already); without a usable one, the error.
    let Ok(uri) = account.totp_uri(&session.principal, &form.secret).await else {
        return Err(e);
    };
    let offer = TotpOffer {
        secret: form.secret.trim().to_owned(),
        uri,
    };
    let problem = Problem::new(&session.web, &e, "code");
    "/account/totp".clone_into(&mut session.web.back);
    let page = TotpPage {
        chrome: session.chrome(),
        offer,
        problem: Some(problem),
    };
    Ok(session.web.render_problem(&page, page.problem.as_ref()))
}

/// `POST /account/totp/remove`
pub async fn totp_remove(
    SignedIn(account, session): SignedIn<Arc<Account>>,
) -> Result<Response, Error> {
    account
        .remove_totp(&session.principal, session.request_id())
        .await?;
    Ok(Redirect::to("/account?done=totp-removed").into_response())
}

/// `POST /account/stepup/start` (JSON).
pub async fn stepup_start(
    SignedIn(login, session): SignedIn<Arc<Logins>>,
) -> Result<Json<Ceremony>, Error> {
    login
        .passkey_stepup_start(&session.principal)
        .await
        .map(Ceremony::reply)
}

/// `POST /account/stepup/finish` (JSON): the session becomes High.
pub async fn stepup_finish(
    SignedIn(login, session): SignedIn<Arc<Logins>>,
    Json(finish): Json<Finish>,
) -> Result<Response, Error> {
    let (principal, request_id) = (&session.principal, session.request_id());
    let issued = login
        .passkey_stepup_finish(principal, &finish.state, finish.credential, request_id)
        .await?;
    Ok(session.web.json_session(
        Location {
            location: "/account?done=stepped-up".into(),
        },
        &issued.access_token,
        issued.expires_in,
    ))
}

/// A one-time code.
#[derive(Debug, Deserialize)]
pub struct OtpForm {
    otp: String,
}

/// `POST /account/stepup/totp`: the session becomes Substantial.
pub async fn stepup_totp(
    SignedIn(login, session): SignedIn<Arc<Logins>>,
    axum::Form(form): axum::Form<OtpForm>,
) -> Result<Response, Error> {
    let (otp, request_id) = (form.otp.trim(), session.request_id());
    let issued = login
        .totp_stepup(&session.principal, otp, request_id)
        .await?;
    Ok(session.web.start_session(
        "/account?done=stepped-up",
        &issued.access_token,
        issued.expires_in,
    ))
}
