//! The web pages for citizens, business administrators, verifiers and support: server-rendered
//! askama templates (auto-escaped), one stylesheet, and one script for the WebAuthn steps only.
//!
//! Security: a strict Content-Security-Policy (no inline script or style, nothing from other
//! origins, no framing); the session is the access token in an `HttpOnly; SameSite=Lax` cookie
//! (`Secure` unless the public URL is loopback HTTP); every POST carries the anti-forgery token
//! (the form's action names it, scripts send it as `X-CSRF-Token`), compared in constant time
//! with the `qsign_csrf` cookie, and a POST whose `Origin` is another site is refused. The
//! check is a layer over all page routes, so no handler can forget it.

/// Gives each named page — a template struct with a `chrome: Chrome` field — the [`Chrome`]
/// fields as its own through `Deref`, so that `base.html` reads `t`, `user`, `csrf` and `back`
/// from every page (the way askama's own template inheritance test does it).
macro_rules! page_chrome {
    ($($page:ident),+ $(,)?) => {
        $(
            impl<'a> std::ops::Deref for $page<'a> {
                type Target = $crate::http::web::Chrome<'a>;

                fn deref(&self) -> &Self::Target {
                    &self.chrome
                }
            }
        )+
    };
}

mod account;
mod approvals;
mod cases;
mod citizen;
mod errors;
mod help;
mod history;
pub mod i18n;
pub mod idp_login;
mod keepalive;
mod org;
mod qr;
mod start;
pub mod verify;

use askama::Template;
use axum::extract::{FromRef, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use super::extract::Origin;
use super::router::{route_table, AppState, RequestId};
use crate::service::{Error, ErrorCode, Loa, Principal};
pub use errors::error_page;
use errors::Problem;
pub use i18n::Texts;

/// The session cookie: the access token.
const SESSION: &str = "qsign_session";
/// The anti-forgery cookie.
const CSRF: &str = "qsign_csrf";
/// The language choice.
const LANG: &str = "qsign_lang";

/// Pages may load their own script, style and images (page previews), talk to their own
/// origin, and post forms to it; nothing else.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page routes with small bodies.
pub fn routes() -> Router<AppState> {
    let pages = route_table! { Router::new();
        "/" => get(start::index),
        "/login" => post(start::login),
        "/logout" => post(start::logout),
        "/web/passkey/login/start" => post(start::passkey_login_start),
        "/web/passkey/login/finish" => post(start::passkey_login_finish),
        "/sign/{id}" => get(citizen::review),
        "/sign/{id}/pages/{page}" => get(citizen::page_image),
        "/sign/{id}/text" => get(citizen::text),
        "/sign/{id}/file" => get(citizen::file),
        "/sign/{id}/approve" => post(citizen::approve_totp),
        "/sign/{id}/passkey/start" => post(citizen::approve_passkey_start),
        "/sign/{id}/passkey/finish" => post(citizen::approve_passkey_finish),
        "/sign/{id}/done" => get(citizen::done),
        "/sign/{id}/download" => get(citizen::download),
        "/sign/{id}/cancel" => post(citizen::cancel),
        "/history" => get(history::history),
        "/session/extend" => post(keepalive::extend),
        "/approvals" => get(approvals::list),
        "/approvals/{id}" => get(approvals::page),
        "/approvals/{id}/passkey/start" => post(approvals::passkey_start),
        "/approvals/{id}/passkey/finish" => post(approvals::passkey_finish),
        "/approvals/{id}/refuse" => post(approvals::refuse),
        "/account" => get(account::page),
        "/account/passkeys/start" => post(account::passkey_start),
        "/account/passkeys/finish" => post(account::passkey_finish),
        "/account/passkeys/remove" => post(account::passkey_remove),
        "/account/totp" => get(account::totp_offer).post(account::totp_enrol),
        "/account/totp/remove" => post(account::totp_remove),
        "/account/totp/qr.svg" => get(qr::totp_qr),
        "/account/stepup/start" => post(account::stepup_start),
        "/account/stepup/finish" => post(account::stepup_finish),
        "/account/stepup/totp" => post(account::stepup_totp),
        "/verify" => get(verify::page),
        "/org" => get(org::list),
        "/org/accept" => post(org::accept),
        "/org/{cvr}" => get(org::page),
        "/org/{cvr}/cases/{id}" => get(cases::page),
        "/org/{cvr}/cases/{id}/sign" => post(cases::sign),
        "/org/{cvr}/cases/{id}/document" => get(cases::document),
        "/org/{cvr}/cases/{id}/signature" => get(cases::signature),
        "/org/{cvr}/invite" => post(org::invite),
        "/org/{cvr}/members/{person}/rights" => post(org::set_right),
        "/org/{cvr}/members/{person}/remove" => post(org::remove),
        "/org/{cvr}/mandates/{id}/revoke" => post(org::revoke_mandate),
        "/org/{cvr}/members/{person}/roles" => post(org::set_role),
        "/org/{cvr}/rule" => post(org::set_rule),
        "/org/{cvr}/requests/{id}" => post(org::decide),
        "/org/{cvr}/request" => post(org::ask),
        "/org/{cvr}/leave" => post(org::leave),
        "/help" => get(help::help),
        "/accessibility" => get(help::accessibility),
        "/support" => get(help::support),
        "/lang" => get(language),
        "/static/qsign.css" => get(stylesheet),
        "/static/qsign.js" => get(script),
    };
    pages.route_layer(middleware::from_fn(csrf_guard))
}

/// The page routes that take whole documents (multipart uploads).
pub fn upload_routes() -> Router<AppState> {
    let pages = route_table! { Router::new();
        "/sign" => post(start::upload),
        "/verify" => post(verify::submit),
        "/org/{cvr}/cases" => post(cases::open).get(cases::list),
    };
    pages.route_layer(middleware::from_fn(csrf_guard))
}

/// What every page needs from the request: texts, the anti-forgery token, the session token
/// and where the language switch returns to.
#[derive(Debug, Clone)]
pub struct Web {
    /// The texts in the reader's language.
    pub t: &'static Texts,
    /// The anti-forgery token (new when the browser had none).
    pub csrf: String,
    new_csrf: bool,
    /// The session's access token, if any.
    token: Option<String>,
    /// This page's path, percent-encoded for the language switch.
    pub back: String,
    /// Whether cookies get `Secure`.
    secure: bool,
    /// The support reference of this request.
    pub request_id: String,
    /// The caller's address.
    source: Option<String>,
    /// How to reach a person for help (`support.contact`).
    support: Option<String>,
}

/// A cookie's value from the `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // Without randomness no token can be made; an empty one never matches (see csrf_guard).
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Percent-encodes a path for a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether `path` is a plain path on this site to return to: `/` followed by path characters
/// only (letters, digits, `/ _ . -`), no `//`, no `..` segment. Anything else — a tab or
/// newline that browsers strip (`/\t/host` becomes `//host`), a backslash, a scheme, a query
/// — is refused, so the language switch is never an open redirect or a broken header.
fn local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains("//")
        && path.len() <= 256
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'.' | b'-'))
        && !path.split('/').any(|segment| segment == "..")
}

/// Whether `target` is a place on this site to return to after logging in or switching the
/// language: a [`local_path`], optionally with one query parameter that names the uploaded
/// file (`name`) or the identity provider's pending login (`request`), its value made of
/// `A-Za-z0-9%._~+-` only (percent-encoded as in a URL). Nothing else: no other parameter (a
/// form's `csrf`), no second one, nothing a header could break on.
fn local_target(target: &str) -> bool {
    let (path, query) = target
        .split_once('?')
        .map_or((target, None), |(p, q)| (p, Some(q)));
    local_path(path)
        && query.is_none_or(|q| {
            let value = q
                .strip_prefix("name=")
                .or_else(|| q.strip_prefix("request="));
            q.len() <= 600
                && value.is_some_and(|v| {
                    v.bytes().all(|b| {
                        b.is_ascii_alphanumeric()
                            || matches!(b, b'%' | b'.' | b'_' | b'~' | b'+' | b'-')
                    })
                })
        })
}

/// This page's place, for the language switch and a login that comes back: the path, with
/// the query when it is one [`local_target`] admits (the review page's file name).
fn here(uri: &axum::http::Uri) -> String {
    match uri.query() {
        Some(q) if local_target(&format!("{}?{q}", uri.path())) => format!("{}?{q}", uri.path()),
        _ => uri.path().to_owned(),
    }
}

/// The texts in the reader's language: the language cookie, else `Accept-Language`.
fn texts(headers: &HeaderMap) -> &'static Texts {
    i18n::choose(
        cookie(headers, LANG),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Whether a public URL is plain HTTP on a loopback host (the only case without `Secure`).
fn loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

impl FromRequestParts<AppState> for Web {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        let t = texts(headers);
        let existing = cookie(headers, CSRF).filter(|v| v.len() == 43);
        let (csrf, new_csrf) =
            existing.map_or_else(|| (random_token(), true), |v| (v.to_owned(), false));
        let source = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| super::source_of(c.0.ip()).to_string());
        Ok(Self {
            t,
            csrf,
            new_csrf,
            token: cookie(headers, SESSION).map(str::to_owned),
            back: encode(&here(&parts.uri)),
            secure: !loopback_http(&state.config.public_url()),
            request_id: parts
                .extensions
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            source,
            support: state.config.support.contact.clone(),
        })
    }
}

/// The person shown in the page header.
#[derive(Debug, Clone)]
pub struct UserView {
    /// Username.
    pub name: String,
    /// Level of assurance, in words.
    pub loa: &'static str,
    /// When the session ends, Unix seconds (the page warns before it).
    pub expires: i64,
    /// The service's time when the page was made, Unix seconds (the script counts from it,
    /// whatever the reader's clock says).
    pub now: i64,
}

/// A logged-in page request: the page context and the verified session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The page context.
    pub web: Web,
    /// Who is logged in.
    pub principal: Principal,
    /// For the header.
    pub user: UserView,
}

/// What `base.html` shows around every page: the texts, the person in the header (none on
/// pages shown without a session), the anti-forgery token for the page's forms and the path
/// the language switch returns to.
struct Chrome<'a> {
    t: &'static Texts,
    user: Option<UserView>,
    csrf: &'a str,
    back: &'a str,
    /// How to reach a person for help, in every footer.
    support: Option<&'a str>,
}

impl Session {
    /// The chrome of a page with the logged-in person in the header.
    fn chrome(&self) -> Chrome<'_> {
        self.web.chrome(Some(self.user.clone()))
    }

    /// The request id, for the audit records of what the page changes.
    fn request_id(&self) -> Option<String> {
        Some(self.web.request_id.clone())
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Ok(web) = Web::from_request_parts(parts, state).await;
        web.session(state).await
    }
}

/// A logged-in page request to the use case `S`: the use case (as `State<S>` gives it) and
/// the session.
#[derive(Debug)]
pub struct SignedIn<S>(pub S, pub Session);

impl<S: FromRef<AppState> + Send> FromRequestParts<AppState> for SignedIn<S> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let session = Session::from_request_parts(parts, state).await?;
        Ok(Self(S::from_ref(state), session))
    }
}

/// The level of a session in the reader's language.
const fn loa_name(t: &'static Texts, loa: Loa) -> &'static str {
    match loa {
        Loa::Low => t.loa_low,
        Loa::Substantial => t.loa_substantial,
        Loa::High => t.loa_high,
    }
}

impl Web {
    /// The verified session of this request.
    ///
    /// # Errors
    /// `invalid_token` without a session cookie or with a token that no longer verifies.
    async fn session(self, state: &AppState) -> Result<Session, Error> {
        let token = self.token.as_deref().ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidToken,
                "you are not logged in (or your session ended); log in on the start page",
            )
        })?;
        let principal = state.service.login.authenticate(token).await?;
        let user = UserView {
            name: state.service.account.username(&principal).await?,
            loa: loa_name(self.t, principal.loa),
            expires: principal.exp,
            now: state.service.clock_now(),
        };
        Ok(Session {
            web: self,
            principal,
            user,
        })
    }

    /// Where the request comes from, for login throttling and audit records.
    fn origin(&self) -> Origin {
        Origin(self.source.clone(), Some(self.request_id.clone()))
    }

    /// The chrome of a page of this request, with `user` in the header.
    fn chrome(&self, user: Option<UserView>) -> Chrome<'_> {
        Chrome {
            t: self.t,
            user,
            csrf: &self.csrf,
            back: &self.back,
            support: self.support.as_deref(),
        }
    }

    /// A rendered page with the security headers (and the anti-forgery cookie when new).
    fn render(&self, page: &impl Template) -> Response {
        match page.render() {
            Ok(html) => self.html(StatusCode::OK, html),
            Err(e) => Error::internal(format!("template: {e}")).into_response(),
        }
    }

    fn html(&self, status: StatusCode, html: String) -> Response {
        let mut response = html_response(status, html);
        if self.new_csrf && !self.csrf.is_empty() {
            self.set_cookie(&mut response, CSRF, &self.csrf, None, "Strict");
        }
        response
    }

    fn set_cookie(
        &self,
        response: &mut Response,
        name: &str,
        value: &str,
        max_age: Option<u64>,
        same_site: &str,
    ) {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }

    /// A redirect that also starts a session with this access token.
    fn start_session(&self, to: &str, token: &str, expires_in: u64) -> Response {
        let mut response = Redirect::to(to).into_response();
        self.set_cookie(&mut response, SESSION, token, Some(expires_in), "Lax");
        response
    }

    /// A JSON reply that also replaces the session token (passkey login and step-up).
    fn json_session(&self, body: impl serde::Serialize, token: &str, expires_in: u64) -> Response {
        let mut response = super::extract::Json(body).into_response();
        self.set_cookie(&mut response, SESSION, token, Some(expires_in), "Lax");
        response
    }

    fn end_session(&self) -> Response {
        let mut response = Redirect::to("/").into_response();
        self.set_cookie(&mut response, SESSION, "", Some(0), "Lax");
        response
    }
}

/// An HTML page with the security headers, marked as rendered for the error envelope.
fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    response.extensions_mut().insert(super::error::Rendered);
    // Not no-referrer: with it, browsers send `Origin: null` on form posts, and the
    // anti-forgery check could not tell our own pages from others.
    super::page::page_headers(response.headers_mut(), POLICY, "same-origin");
    response
}

/// Bytes for the signed-in person only: a picture of a page, a signed file.
fn private_file(bytes: Vec<u8>, media_type: &'static str, attachment: Option<&str>) -> Response {
    let mut response = bytes_response(bytes.into(), media_type, "private, no-store");
    let headers = response.headers_mut();
    if let Some(v) = attachment
        .map(|name| format!("attachment; filename=\"{name}\""))
        .and_then(|d| HeaderValue::from_str(&d).ok())
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The longest file name kept for a page.
const NAME_LIMIT: usize = 200;

/// A file name as a page shows it: without control characters, at most [`NAME_LIMIT`]
/// characters.
fn shown_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(NAME_LIMIT)
        .collect()
}

/// The error for an upload that could not be read: too large, or not well-formed multipart.
fn multipart_error(e: &axum::extract::multipart::MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::new(
            ErrorCode::PayloadTooLarge,
            "the file is larger than this service accepts",
        )
    } else {
        Error::new(
            ErrorCode::InvalidRequest,
            format!("the upload is malformed: {}", e.body_text()),
        )
    }
}

/// Refuses a POST without the right anti-forgery token, or from another site's page.
async fn csrf_guard(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let headers = request.headers();
    let expected = cookie(headers, CSRF).unwrap_or("");
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            request.uri().query().and_then(|q| {
                q.split('&')
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| *k == "csrf")
                    .map(|(_, v)| v.to_owned())
            })
        })
        .unwrap_or_default();
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site" || v == "same-site");
    let same_origin = !cross_site
        && headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|origin| {
                let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
                host.is_some_and(|h| {
                    origin
                        .strip_prefix("http://")
                        .or_else(|| origin.strip_prefix("https://"))
                        == Some(h)
                })
            });
    let matches = !expected.is_empty()
        && expected.len() == sent.len()
        && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()));
    if matches && same_origin {
        return next.run(request).await;
    }
    Error::new(
        ErrorCode::FormRejected,
        "this form was not sent from qsign's own page, or the page is too old (anti-forgery check); reload the page and try again",
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// `GET /lang?to=da&back=/path`: remembers the language and returns to the page.
async fn language(web: Web, Query(q): Query<LangQuery>) -> Response {
    let lang = if q.to == "da" { "da" } else { "en" };
    // Only a local place: never an open redirect.
    let back = if local_target(&q.back) {
        q.back
    } else {
        "/".to_owned()
    };
    let mut response = Redirect::to(&back).into_response();
    web.set_cookie(&mut response, LANG, lang, Some(31_536_000), "Lax");
    response
}

async fn stylesheet() -> Response {
    asset(
        include_str!("web/static/qsign.css"),
        "text/css; charset=utf-8",
    )
}

async fn script() -> Response {
    script_response()
}

/// The pages' one script (also the identity provider's login page's).
pub fn script_response() -> Response {
    asset(
        include_str!("web/static/qsign.js"),
        "text/javascript; charset=utf-8",
    )
}

fn asset(body: &'static str, media_type: &'static str) -> Response {
    bytes_response(body.into(), media_type, "public, max-age=300")
}

/// Bytes with their media type, never sniffed, cached as `cache` says.
fn bytes_response(
    body: axum::body::Body,
    media_type: &'static str,
    cache: &'static str,
) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// An audit record as a table row.
#[derive(Debug, Clone)]
pub struct Row {
    /// UTC time (RFC 3339; the page's script shows it in the reader's time zone).
    pub when: String,
    /// What happened, in the reader's language (empty for an event without words yet).
    pub label: &'static str,
    /// The event type.
    pub what: String,
    /// The event's fields.
    pub details: String,
}

/// An audit event's fields but its type, `key: value` joined by commas (strings unquoted).
fn event_details(event: &serde_json::Value) -> String {
    event
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "type")
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Row {
    fn from_record(t: &Texts, record: &serde_json::Value) -> Self {
        let at = record["at"].as_i64().unwrap_or(0);
        let when = crate::service::rfc3339(at.div_euclid(1000));
        let event = &record["event"];
        let what = event["type"].as_str().unwrap_or("").to_owned();
        let details = event_details(event);
        Self {
            when,
            label: i18n::event_label(t, &what),
            what,
            details,
        }
    }
}

/// Whether a request prefers an HTML answer (a browser's navigation or form post).
#[must_use]
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; qsign_csrf_x=2; qsign_csrf=3"),
        );
        assert_eq!(cookie(&h, "qsign_csrf"), Some("3"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn the_language_switch_returns_only_to_local_paths() {
        for good in ["/", "/account", "/sign/3f1c-9a/pages/2", "/help"] {
            assert!(local_path(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n",
            "/%0A",
            "/\\evil.example",
            "https://evil.example",
            "/a/../../x",
            "/?x=1",
            "",
        ] {
            assert!(!local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn login_and_language_return_only_to_local_places() {
        for good in [
            "/",
            "/sign/3f1c-9a?name=Aftale%201.pdf",
            "/idp/authorize?request=Zm9v-YmFy_x",
            "/account",
        ] {
            assert!(local_target(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "/a?b=c",
            "/sign/x?name=a&csrf=b",
            "/sign/x?name=a\r\nSet-Cookie:x",
            "/sign/x?name=<b>",
            "https://evil.example/?name=x",
            "/a/../x?name=y",
        ] {
            assert!(!local_target(bad), "{bad:?}");
        }
        let uri: axum::http::Uri = "/sign/x?csrf=abc&name=y".parse().unwrap();
        assert_eq!(here(&uri), "/sign/x");
        let uri: axum::http::Uri = "/sign/x?name=y.pdf".parse().unwrap();
        assert_eq!(here(&uri), "/sign/x?name=y.pdf");
    }

    #[test]
    fn only_loopback_http_goes_without_secure_cookies() {
        assert!(loopback_http("http://localhost:8080"));
        assert!(loopback_http("http://127.0.0.1:1/x"));
        assert!(!loopback_http("https://localhost"));
        assert!(!loopback_http("http://sign.example.dk"));
        assert!(!loopback_http("http://localhost.evil.example"));
    }

    #[test]
    fn levels_are_named_in_the_readers_language() {
        assert_eq!(loa_name(&i18n::DA, Loa::Substantial), "Betydelig");
        assert_eq!(loa_name(&i18n::DA, Loa::High), "Høj");
        assert_eq!(loa_name(&i18n::EN, Loa::Low), "Low");
        assert_eq!(loa_name(&i18n::EN, Loa::High), "High");
    }

    #[test]
    fn paths_are_encoded_for_the_language_switch() {
        assert_eq!(encode("/sign/a b?x"), "/sign/a%20b%3Fx");
    }
}
