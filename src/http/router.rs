//! The router: routes, limits, timeouts and the request-id, logging and error layers.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use super::{
    cases, credentials, csc, documents, error, idp, mandates, oauth, ops, orgs, pki, validate, web,
};
use crate::config::Config;
use crate::service::Service;
use crate::telemetry::Metrics;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases (behind one pointer: the state is cloned for every request and every
    /// middleware, and the service holds many shared parts).
    pub service: Arc<Service>,
    /// Request counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The effective configuration.
    pub config: Arc<Config>,
}

/// Lets a handler take the one use case it calls as its state (`State<Arc<Logins>>`, …): one
/// pointer copied per request, not the use case's parts.
macro_rules! use_case_states {
    ($($field:ident: $case:ident),* $(,)?) => {$(
        impl FromRef<AppState> for Arc<crate::service::$case> {
            fn from_ref(state: &AppState) -> Self {
                state.service.$field.clone()
            }
        }
    )*};
}

use_case_states! {
    login: Logins,
    signing: Signing,
    documents: Documents,
    operations: Operations,
    orgs: Organisations,
    validation: Validation,
    trust: Trust,
    account: Account,
}

/// The request id of the current request: always a new UUID made here (a caller cannot choose
/// the support reference, which an operator trusts to find audit records). It is the
/// `support_ref` of error bodies and the `X-Request-Id` of every response; the caller's own
/// `X-Request-Id`, when safe to log, is kept beside it and echoed as `X-Client-Request-Id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Adds routes to a router: the router, then one `"path" => method router` a line.
macro_rules! route_table {
    ($router:expr; $($path:expr => $method:expr),* $(,)?) => {
        $router$(.route($path, $method))*
    };
}

pub(super) use route_table;

/// The whole HTTP interface as a router (tests call it with `oneshot` or serve it on port 0).
pub fn router(state: AppState) -> Router {
    let http = &state.config.http;
    let public = Arc::new(RateLimit::new(http.public_requests_per_second));
    let turns = Admission {
        permits: Arc::new(tokio::sync::Semaphore::new(http.max_in_flight)),
        wait: Duration::from_secs(http.queue_timeout_secs),
    };
    // A system client's token goes to the seal calls for machines (layered on the CSC routes
    // only: a route added below does not pass through it).
    let csc_api = csc_routes(csc_routes(Router::new(), "v2"), "v1").layer(
        middleware::from_fn_with_state(state.clone(), csc::machine::dispatch),
    );
    let api = route_table! { csc_api;
        "/metrics" => get(ops::metrics),
        "/openapi.json" => get(ops::openapi),
        "/.well-known/openid-configuration" => get(idp::discovery),
        "/.well-known/oauth-authorization-server" => get(oauth::metadata),
        "/idp/par" => post(oauth::par),
        "/idp/jwks" => get(idp::jwks),
        "/idp/token" => post(idp::token),
        "/idp/authorize" => get(idp::authorize).post(idp::authorize_submit),
        "/idp/authorize/passkey/start" => post(idp::authorize_passkey_start),
        "/idp/authorize/passkey/finish" => post(idp::authorize_passkey_finish),
        "/idp/static/login.js" => get(idp::login_script),
        "/idp/logout" => post(idp::logout),
        "/idp/passkeys/register/start" => post(idp::passkey_register_start),
        "/idp/passkeys/register/finish" => post(idp::passkey_register_finish),
        "/idp/passkeys/login/start" => post(idp::passkey_login_start),
        "/idp/passkeys/login/finish" => post(idp::passkey_login_finish),
        "/idp/stepup/passkey/start" => post(idp::passkey_stepup_start),
        "/idp/stepup/passkey/finish" => post(idp::passkey_stepup_finish),
        "/idp/stepup/totp" => post(idp::totp_stepup),
        "/v1/me/history" => get(idp::history),
        "/v1/credentials" => get(credentials::list),
        "/v1/credentials/{id}/{action}" => post(credentials::change),
        "/v1/documents/{id}" => delete(documents::remove),
        "/v1/orgs" => get(orgs::mine),
        "/v1/orgs/invitations/accept" => post(orgs::accept),
        "/v1/orgs/{cvr}/members" => get(orgs::members),
        "/v1/orgs/{cvr}/invitations" => post(orgs::invite),
        "/v1/orgs/{cvr}/members/{person}/rights" => post(orgs::set_right),
        "/v1/orgs/{cvr}/members/{person}" => delete(orgs::remove),
        "/v1/orgs/{cvr}/seal" => post(orgs::seal),
        "/v1/orgs/{cvr}/audit" => get(orgs::audit),
        "/v1/orgs/{cvr}/clients" => get(orgs::clients::list).post(orgs::clients::register),
        "/v1/orgs/{cvr}/clients/{id}" => delete(orgs::clients::remove),
        "/v1/orgs/{cvr}/cases/{id}" => get(cases::get),
        "/v1/orgs/{cvr}/cases/{id}/document" => get(cases::document),
        "/v1/orgs/{cvr}/cases/{id}/signature" => get(cases::signature),
        "/v1/orgs/{cvr}/cases/{id}/signing" => post(cases::signing),
        "/v1/orgs/{cvr}/mandates" => get(mandates::list).post(mandates::offer),
        "/v1/orgs/{cvr}/mandate-requests" => post(mandates::request),
        "/v1/orgs/{cvr}/mandates/{id}/assignments" => post(mandates::assign),
        "/v1/orgs/{cvr}/mandates/{id}/{action}" => post(mandates::change),
        "/v1/me/mandates" => get(mandates::mine),
        "/v1/me/mandates/{id}/{action}" => post(mandates::change_mine),
        "/v1/orgs/{cvr}/rule" => get(orgs::roles::rule).put(orgs::roles::set_rule),
        "/v1/orgs/{cvr}/members/{person}/roles" => post(orgs::roles::set_role),
        "/v1/orgs/{cvr}/requests" => get(orgs::own::requests).post(orgs::own::request),
        "/v1/orgs/{cvr}/requests/{id}" => post(orgs::own::decide),
        "/v1/me/orgs" => get(orgs::own::mine),
        "/v1/me/orgs/{cvr}" => delete(orgs::own::leave),
        "/v1/documents/{id}/sign" => post(documents::sign),
        "/v1/documents/{id}/signed" => get(documents::signed),
        "/pki/ca/{file}" => get(pki::ca_certificate),
        "/pki/crl/{file}" => get(pki::crl),
    };
    let public_pki = route_table! { Router::new();
        "/pki/ocsp" => post(pki::ocsp_post),
        "/pki/ocsp/{*request}" => get(pki::ocsp_get),
        "/tsa" => post(pki::timestamp),
    };
    let public_pki = public_pki
        .layer(DefaultBodyLimit::max(pki::REQUEST_LIMIT))
        .layer(middleware::from_fn_with_state(public.clone(), rate_limit));
    // Documents travel in these bodies: their own, larger limit.
    let uploads = route_table! { Router::new();
        "/csc/v2/signatures/signDoc" => post(csc::asynchronous::sign_doc),
        "/csc/v1/signatures/signDoc" => post(csc::asynchronous::sign_doc),
        "/v1/documents" => post(documents::upload),
        "/v1/orgs/{cvr}/cases" => post(cases::open).get(cases::list),
        "/v1/pdf/extend" => post(documents::extend),
        "/v1/extend" => post(documents::extend),
        "/v1/validate" => post(validate::validate)
            .layer(middleware::from_fn_with_state(public, rate_limit)),
    };
    // A bulk enrolment works through thousands of rows: a timeout of its own.
    let bulk = route_table! { Router::new();
        "/v1/orgs/{cvr}/members/bulk" => post(orgs::bulk::enrol),
    };
    let bulk = bulk
        .layer(DefaultBodyLimit::max(http.body_limit))
        .layer(RequestBodyLimitLayer::new(http.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(http.request_timeout_secs.max(orgs::bulk::TIMEOUT_SECS)),
        ));
    api.merge(public_pki)
        .merge(web::routes())
        .fallback(ops::not_found)
        .layer(DefaultBodyLimit::max(http.body_limit))
        .layer(RequestBodyLimitLayer::new(http.body_limit))
        .merge(
            uploads
                .merge(web::upload_routes())
                .layer(DefaultBodyLimit::max(http.document_limit))
                .layer(RequestBodyLimitLayer::new(http.document_limit)),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(http.request_timeout_secs),
        ))
        .merge(bulk)
        .layer(middleware::from_fn_with_state(turns, admit))
        // Outside the limit and the timeout: a load balancer always gets an answer.
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::envelope,
        ))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// The CSC methods under `/csc/{version}/` (v1 and v2 answer alike), `signDoc` aside: it
/// takes whole documents.
fn csc_routes(router: Router<AppState>, version: &str) -> Router<AppState> {
    let at = |method: &str| format!("/csc/{version}/{method}");
    route_table! { router;
        &at("info") => post(csc::info),
        &at("auth/login") => post(csc::login),
        &at("auth/revoke") => post(csc::revoke),
        &at("credentials/list") => post(csc::list),
        &at("credentials/info") => post(csc::credential_info),
        &at("credentials/getChallenge") => post(csc::get_challenge),
        &at("credentials/authorize") => post(csc::authorize),
        &at("credentials/authorizeCheck") => post(csc::oob::authorize_check),
        &at("credentials/extendTransaction") => post(csc::lifecycle::extend_transaction),
        &at("credentials/create") => post(csc::lifecycle::create),
        &at("credentials/delete") => post(csc::lifecycle::delete),
        &at("signatures/signHash") => post(csc::asynchronous::sign_hash),
        &at("signatures/signPolling") => post(csc::asynchronous::sign_polling),
        &at("signatures/timestamp") => post(csc::timestamp),
    }
}

/// Turns for requests: at most `max_in_flight` at once; waiting for one is bounded.
#[derive(Debug, Clone)]
struct Admission {
    permits: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

/// Lets a request in when a turn is free within the wait, else answers 503
/// `temporarily_unavailable` (the turn is held until the response is made, the request's own
/// timeout included).
async fn admit(
    axum::extract::State(turns): axum::extract::State<Admission>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(turns.wait, Arc::clone(&turns.permits).acquire_owned()).await {
        Ok(Ok(_turn)) => next.run(request).await,
        _ => axum::response::IntoResponse::into_response(crate::service::Error::new(
            crate::service::ErrorCode::TemporarilyUnavailable,
            "the service is busy; try again shortly",
        )),
    }
}

/// A token bucket per source address for the public endpoints that need no login.
#[derive(Debug)]
struct RateLimit {
    /// Tokens added per second (0: no limit).
    rate: f64,
    /// Tokens, and when they were counted, by source.
    buckets:
        std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (f64, std::time::Instant)>>,
}

impl RateLimit {
    fn new(per_second: u32) -> Self {
        Self {
            rate: f64::from(per_second),
            buckets: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Takes a token for `source`; `false` when its bucket is empty.
    fn take(&self, source: std::net::IpAddr) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let burst = self.rate * 2.0;
        let now = std::time::Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > 100_000 {
            // Forget full buckets (sources idle for a while) rather than grow for ever.
            buckets
                .retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * self.rate < burst);
        }
        let (tokens, at) = buckets.entry(source).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Answers 429 `rate_limited` when the caller's address has used its share.
async fn rate_limit(
    axum::extract::State(limit): axum::extract::State<Arc<RateLimit>>,
    request: Request,
    next: Next,
) -> Response {
    let source = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| super::source_of(c.0.ip()));
    match source {
        Some(ip) if !limit.take(ip) => {
            axum::response::IntoResponse::into_response(crate::service::Error::new(
                crate::service::ErrorCode::RateLimited,
                crate::service::ErrorCode::RateLimited.description(),
            ))
        }
        _ => next.run(request).await,
    }
}

const REQUEST_ID: &str = "x-request-id";
const CLIENT_REQUEST_ID: &str = "x-client-request-id";

async fn request_id(mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let client = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| crate::service::is_support_reference(v))
        .map(str::to_owned);
    if let Some(client) = &client {
        tracing::debug!(request_id = %id, client_request_id = %client, "request");
    }
    request.extensions_mut().insert(RequestId(id.clone()));
    // Every line logged while the request runs, in any layer, carries its support reference
    // and its 8-character short form (and, once the caller is authenticated, the person's
    // pseudonymous id): `grep support_ref=<id>` or `grep short_ref=<short>` finds all of a
    // request. The span has the highest level so that no filter disables it: a `warn` filter
    // still shows the reference on every warning.
    let span = tracing::error_span!(
        "request",
        support_ref = %id,
        short_ref = %crate::service::short_reference(&id),
        person = tracing::field::Empty
    );
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    for (name, value) in [(REQUEST_ID, Some(id)), (CLIENT_REQUEST_ID, client)] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
