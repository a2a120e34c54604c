//! The identity provider's login page (`/idp/authorize`, an application's OAuth login) in the
//! site's layout: its stylesheet, header and footer (with the support contact), the same
//! language switch and cookie as the other pages, and a refused login shown on the page with
//! the error summary. Its own policy has no `form-action`: the login answers with a redirect to
//! the application's address, which `form-action 'self'` would block.

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::errors::Problem;
use super::{encode, html_response, texts, Chrome};
use crate::service::{Error, ErrorCode};

/// The login page's policy: its own script, style and pictures, calls to its own origin.
const LOGIN_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "idp_login.html")]
struct LoginPage<'a> {
    chrome: Chrome<'a>,
    /// The pending request id (the form's anti-forgery value).
    request: &'a str,
    /// The application the person logs in to.
    client: &'a str,
    /// What logging in approves (documents to sign), one line each (English).
    approving: Vec<String>,
    /// The username of a refused login.
    username: String,
    /// A refused login.
    problem: Option<Problem>,
}

page_chrome!(LoginPage);

/// A pending authorization request, as its login page shows it.
#[derive(Debug, Clone, Copy)]
pub struct Pending<'a> {
    /// The pending request id.
    pub request: &'a str,
    /// The application's client id.
    pub client: &'a str,
    /// What logging in approves, one line each.
    pub approving: &'a [String],
}

/// The page's surroundings: the request's headers (language), the support contact and the
/// request id (support reference).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// `support.contact`.
    pub support: Option<&'a str>,
    /// This request's id.
    pub request_id: &'a str,
}

/// The login page of a pending request; after a refused login (`refused`: the error and the
/// username tried) with the error summary. A refused login answers 200, as the page is the
/// form to try again.
pub fn login_page(
    context: Context<'_>,
    pending: Pending<'_>,
    refused: Option<(&Error, &str)>,
) -> Response {
    let t = texts(context.headers);
    let back = encode(&format!("/idp/authorize?request={}", pending.request));
    let problem = refused.map(|(e, _)| {
        let field = match e.code {
            ErrorCode::CodeReused => "otp",
            ErrorCode::TooManyAttempts => "username",
            _ => "password",
        };
        Problem::in_language(t, context.request_id, e, field)
    });
    let page = LoginPage {
        chrome: Chrome {
            t,
            user: None,
            csrf: "",
            back: &back,
            support: context.support,
        },
        request: pending.request,
        client: pending.client,
        approving: pending.approving.to_vec(),
        username: refused.map_or_else(String::new, |(_, u)| super::shown_name(u)),
        problem,
    };
    let mut response = match page.render() {
        Ok(html) => html_response(StatusCode::OK, html),
        Err(e) => return Error::internal(format!("template: {e}")).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(LOGIN_POLICY),
    );
    // The login's redirect carries the code to the application: no referrer at all.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
