//! Identity provider endpoints: OpenID discovery, JWKS, the token endpoint (authorization
//! code, client credentials, and the password grant, an extension for scripted clients; DPoP
//! proofs and client assertions beside them), logout, and the caller's own history.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::extract::{Caller, Json, Origin};
use super::page;
use super::router::AppState;
use super::web::idp_login::{login_page, Context as LoginContext, Pending};
use super::wire::{Ceremony, Location};
use crate::service::AuthorizeOutcome;
use crate::service::{Account, Error, ErrorCode, Logins};

/// `GET /.well-known/openid-configuration`
pub async fn discovery(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.service.login.discovery(&state.config.public_url()))
}

/// `GET /idp/jwks`
pub async fn jwks(State(login): State<Arc<Logins>>) -> Result<impl IntoResponse, Error> {
    Ok(Json(login.jwks().await?))
}

/// A pending request named by the login page's own address (`?request=…`: where its
/// language switch returns to).
#[derive(Debug, Deserialize)]
pub struct PendingQuery {
    #[serde(default)]
    request: Option<String>,
}

/// The page of an error on the login's way, in the site's layout and the reader's language.
fn login_error(state: &AppState, headers: &HeaderMap, reference: &str, message: &str) -> Response {
    super::web::error_page(
        headers,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
        message,
        reference,
        state.config.support.contact.as_deref(),
        "/idp/authorize",
    )
}

/// `GET /idp/authorize`: the login page of the authorization-code flow (also the page of a
/// pending request again, `?request=…`, after the language switch).
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Origin(_, request_id): Origin,
    Query(pending): Query<PendingQuery>,
    Query(query): Query<crate::service::AuthorizeQuery>,
) -> Response {
    let login = &state.service.login;
    let reference = request_id.unwrap_or_default();
    let context = LoginContext {
        headers: &headers,
        support: state.config.support.contact.as_deref(),
        request_id: &reference,
    };
    if let (Some(request), None) = (pending.request.as_deref(), query.client_id.as_deref()) {
        return match login.pending_client(request).await {
            Ok(Some((client, approving))) => {
                let pending = Pending {
                    request,
                    client: &client,
                    approving: &approving,
                };
                login_page(context, pending, None)
            }
            _ => login_error(&state, &headers, &reference, EXPIRED),
        };
    }
    match login.authorize_start(&query).await {
        AuthorizeOutcome::Login {
            request,
            client,
            approving,
        } => {
            let pending = Pending {
                request: &request,
                client: &client,
                approving: &approving,
            };
            login_page(context, pending, None)
        }
        AuthorizeOutcome::ErrorPage(message) => login_error(&state, &headers, &reference, &message),
        AuthorizeOutcome::Redirect(location) => redirect(&location),
    }
}

/// What an expired (or made-up) login page says.
const EXPIRED: &str = "this login page has expired; go back to the application and start again";

/// `POST /idp/authorize`: the login form; on success back to the client with a code, else
/// the page again with the error summary.
pub async fn authorize_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Origin(source, request_id): Origin,
    Form(form): Form<crate::service::AuthorizeForm>,
) -> Response {
    let login = &state.service.login;
    let reference = request_id.clone().unwrap_or_default();
    match login.authorize_login(&form, source, request_id).await {
        Ok(location) => redirect(&location),
        Err(e) => match login.pending_client(&form.request).await {
            Ok(Some((client, approving))) => {
                let context = LoginContext {
                    headers: &headers,
                    support: state.config.support.contact.as_deref(),
                    request_id: &reference,
                };
                let pending = Pending {
                    request: &form.request,
                    client: &client,
                    approving: &approving,
                };
                login_page(context, pending, Some((&e, form.username.trim())))
            }
            _ => login_error(&state, &headers, &reference, EXPIRED),
        },
    }
}

/// The passkey option of the login page: the pending request, and the passkey with the
/// password or a TOTP code.
#[derive(Debug, Deserialize)]
pub struct PageLogin {
    request: String,
    username: String,
    state: String,
    credential: serde_json::Value,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    otp: Option<String>,
}

/// The start of the login page's passkey option.
#[derive(Debug, Deserialize)]
pub struct PageStart {
    request: String,
    username: String,
}

/// `POST /idp/authorize/passkey/start`
pub async fn authorize_passkey_start(
    State(login): State<Arc<Logins>>,
    Json(start): Json<PageStart>,
) -> Result<impl IntoResponse, Error> {
    login
        .authorize_passkey_start(&start.request, &start.username)
        .await
        .map(Ceremony::reply)
}

/// `POST /idp/authorize/passkey/finish`: answers where the browser goes next.
pub async fn authorize_passkey_finish(
    State(logins): State<Arc<Logins>>,
    Origin(source, request_id): Origin,
    Json(page): Json<PageLogin>,
) -> Result<impl IntoResponse, Error> {
    let login = crate::service::PasskeyLogin {
        username: page.username,
        state: page.state,
        credential: page.credential,
        password: page.password,
        otp: page.otp,
    };
    let location = logins
        .authorize_passkey_finish(&page.request, login, source, request_id)
        .await?;
    Ok(Json(Location { location }))
}

/// `GET /idp/static/login.js`
pub async fn login_script() -> axum::response::Response {
    page::login_script()
}

fn redirect(location: &str) -> axum::response::Response {
    match axum::http::HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response
                .headers_mut()
                .insert(axum::http::header::LOCATION, value);
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(_) => page::error(StatusCode::BAD_REQUEST, "the redirect address is not valid"),
    }
}

/// `POST /idp/token`: the grant of the form ([`crate::service::TokenRequest`]); a `DPoP`
/// proof header binds the token to the proof's key (token type `DPoP`).
pub async fn token(
    State(state): State<AppState>,
    Origin(source, request_id): Origin,
    headers: axum::http::HeaderMap,
    Form(request): Form<crate::service::TokenRequest>,
) -> Result<impl IntoResponse, Error> {
    let proof = super::extract::dpop_proof(&headers)?;
    let issued = state
        .service
        .login
        .token(
            &request,
            proof.as_deref(),
            &state.config.public_url(),
            source,
            request_id,
        )
        .await?;
    Ok(token_reply(&issued))
}

/// `POST /idp/logout`: revokes the bearer token.
pub async fn logout(
    Caller(login, principal, _): Caller<Arc<Logins>>,
) -> Result<impl IntoResponse, Error> {
    login.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me/history`: the caller's own audit records, newest first.
pub async fn history(
    Caller(account, principal, _): Caller<Arc<Account>>,
) -> Result<impl IntoResponse, Error> {
    let records = account.my_history(&principal, 100).await?;
    Ok(Json(History {
        person: principal.person.to_string(),
        loa: principal.loa.uri(),
        records,
    }))
}

/// A ceremony finish: the state id and the browser's credential.
#[derive(Debug, Deserialize)]
pub struct Finish {
    state: String,
    credential: serde_json::Value,
}

/// The username that starts a passkey login.
#[derive(Debug, Deserialize)]
pub struct LoginStart {
    username: String,
}

/// A TOTP step-up.
#[derive(Debug, Deserialize)]
pub struct TotpStepUp {
    otp: String,
}

/// `GET /v1/me/history` reply.
#[derive(Debug, Serialize)]
pub struct History {
    /// The caller's person id.
    person: String,
    /// The level of the caller's login (URI).
    loa: &'static str,
    /// The caller's audit records, newest first.
    records: Vec<serde_json::Value>,
}

/// The token endpoint's reply (RFC 6749 §5.1), also after a passkey login or a step-up.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    access_token: String,
    /// `Bearer`, or `DPoP` for a token bound to a DPoP key (RFC 9449 §5).
    token_type: &'static str,
    /// Seconds.
    expires_in: u64,
    /// The level reached (URI).
    acr: &'static str,
    /// The CSC scope: `service`, or `credential` for an approval.
    scope: String,
}

fn token_reply(issued: &crate::service::Issued) -> Json<TokenResponse> {
    Json(TokenResponse {
        access_token: issued.access_token.clone(),
        token_type: if issued.bound { "DPoP" } else { "Bearer" },
        expires_in: issued.expires_in,
        acr: issued.loa.uri(),
        scope: issued.scope.clone(),
    })
}

/// The optional body of a passkey enrolment start.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterStart {
    /// The enrolment code handed over out of band; without it the session must be High.
    #[serde(default)]
    enrolment_code: Option<String>,
}

/// `POST /idp/passkeys/register/start` (bearer: a High session, or an enrolment code).
pub async fn passkey_register_start(
    Caller(login, principal, _): Caller<Arc<Logins>>,
    body: Option<Json<RegisterStart>>,
) -> Result<impl IntoResponse, Error> {
    let start = body.map(|Json(b)| b).unwrap_or_default();
    let code = start.enrolment_code.as_deref();
    login
        .passkey_register_start(&principal, code)
        .await
        .map(Ceremony::reply)
}

/// `POST /idp/passkeys/register/finish` (bearer).
pub async fn passkey_register_finish(
    Caller(login, principal, request_id): Caller<Arc<Logins>>,
    Json(finish): Json<Finish>,
) -> Result<StatusCode, Error> {
    login
        .passkey_register_finish(&principal, &finish.state, finish.credential, request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /idp/passkeys/login/start`
pub async fn passkey_login_start(
    State(login): State<Arc<Logins>>,
    Json(start): Json<LoginStart>,
) -> Result<impl IntoResponse, Error> {
    login
        .passkey_login_start(&start.username)
        .await
        .map(Ceremony::reply)
}

/// `POST /idp/passkeys/login/finish`: the passkey plus the password or a TOTP code.
pub async fn passkey_login_finish(
    State(logins): State<Arc<Logins>>,
    Origin(source, request_id): Origin,
    Json(login): Json<crate::service::PasskeyLogin>,
) -> Result<impl IntoResponse, Error> {
    let issued = logins
        .passkey_login_finish(login, source, request_id)
        .await?;
    Ok(token_reply(&issued))
}

/// `POST /idp/stepup/passkey/start` (bearer).
pub async fn passkey_stepup_start(
    Caller(login, principal, _): Caller<Arc<Logins>>,
) -> Result<impl IntoResponse, Error> {
    login
        .passkey_stepup_start(&principal)
        .await
        .map(Ceremony::reply)
}

/// `POST /idp/stepup/passkey/finish` (bearer): a new token with the passkey added.
pub async fn passkey_stepup_finish(
    Caller(login, principal, request_id): Caller<Arc<Logins>>,
    Json(finish): Json<Finish>,
) -> Result<impl IntoResponse, Error> {
    let issued = login
        .passkey_stepup_finish(&principal, &finish.state, finish.credential, request_id)
        .await?;
    Ok(token_reply(&issued))
}

/// `POST /idp/stepup/totp` (bearer): a new token with a TOTP code added.
pub async fn totp_stepup(
    Caller(login, principal, request_id): Caller<Arc<Logins>>,
    Json(step): Json<TotpStepUp>,
) -> Result<impl IntoResponse, Error> {
    let issued = login.totp_stepup(&principal, &step.otp, request_id).await?;
    Ok(token_reply(&issued))
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    request_samples! {
        PageStart => json!({"request": "r1", "username": "karen"});
        PageLogin => json!({"request": "r1", "username": "karen", "state": "s1", "credential": {},
            "password": "correct horse", "otp": "123456"});
        crate::service::PasskeyLogin => json!({"username": "karen", "state": "s1",
            "credential": {}, "password": "correct horse", "otp": "123456"});
        Finish => json!({"state": "s1", "credential": {}});
        LoginStart => json!({"username": "karen"});
        TotpStepUp => json!({"otp": "123456"});
        RegisterStart => json!({"enrolment_code": "7KQ2-XM4P"});
    }

    response_samples! {
        TokenResponse => [TokenResponse {
            access_token: "eyJhbGciOiJFUzI1NiJ9.e30.AAAA".into(),
            token_type: "DPoP",
            expires_in: 3600,
            acr: "https://data.gov.dk/concept/core/nsis/loa/Substantial",
            scope: "service".into(),
        }];
        History => [History {
            person: "2c8e7f4e-6f0b-4d8e-9d43-5b7c1e0f9a21".into(),
            loa: "https://data.gov.dk/concept/core/nsis/loa/Low",
            records: vec![json!({})],
        }];
    }
}
