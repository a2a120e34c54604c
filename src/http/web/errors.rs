//! Errors as a person meets them. A refused form shows its own page again with an error
//! summary above the form (WCAG 3.3.1 and 3.3.3): what went wrong in the page's language,
//! each message a link to the field to fix, what to do next, the code (linked to `/help`) and
//! a short support reference to read aloud; the field is marked `aria-invalid` and described
//! by an inline message, and the page's script moves the focus to the summary. Everything
//! else (an ended session, a forged form, a missing page, the service's own failure) is the
//! error page.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{encode, html_response, i18n, local_path, texts, Chrome, Web};
use crate::service::{short_reference, Error, ErrorCode};

/// The service's messages start in lower case (they also end up in JSON and logs): as a
/// sentence on a page.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A refused form, as its page shows it again (`error_summary.html`).
#[derive(Debug, Clone)]
pub struct Problem {
    /// The id of the field to fix: marked `aria-invalid`, described by `{field}-error`.
    pub field: &'static str,
    /// Where the summary's link goes: the field, or the page that helps (`/account` to step
    /// up).
    pub href: String,
    /// What went wrong, in the page's language: the service's words on an English page, the
    /// code's Danish explanation on a Danish one.
    pub message: String,
    /// The service's own (English) words on a page in another language, marked `lang="en"`.
    pub detail: Option<String>,
    /// What to do next (empty when the message says it).
    pub advice: &'static str,
    /// The error code (linked to `/help`).
    pub code: &'static str,
    /// The short support reference (8 characters to read aloud).
    pub reference: String,
    /// The whole support reference (the request id).
    pub request_id: String,
    /// The page's status: the error's.
    pub status: StatusCode,
}

/// Whether an error is for a form's own page: what a person can fix or try again. Not an
/// ended session (its page logs in again and comes back), a form from elsewhere, a missing or
/// finished thing, or the service's own failure (the error page, logged with its detail).
pub const fn on_page(code: ErrorCode) -> bool {
    !matches!(
        code,
        ErrorCode::InternalError
            | ErrorCode::InvalidToken
            | ErrorCode::FormRejected
            | ErrorCode::NotFound
            | ErrorCode::AlreadyExists
            | ErrorCode::MethodNotAllowed
            | ErrorCode::TemporarilyUnavailable
            | ErrorCode::NotReady
            | ErrorCode::RequestTimeout
    )
}

impl Problem {
    /// The problem of `error` on a page of `web`, about the field `field`.
    pub fn new(web: &Web, error: &Error, field: &'static str) -> Self {
        Self::in_language(web.t, &web.request_id, error, field)
    }

    /// [`Problem::new`] for a page outside the session's pages (the identity provider's).
    pub fn in_language(
        t: &'static i18n::Texts,
        request_id: &str,
        error: &Error,
        field: &'static str,
    ) -> Self {
        if let Some(detail) = &error.detail {
            tracing::warn!(code = error.code.as_str(), detail = %detail, "form refused");
        }
        let english = sentence(&error.message);
        let (_, advice) = i18n::explain(t, error.code);
        let (message, detail, advice) = if t.lang == "en" {
            (english, None, advice)
        } else {
            (advice.to_owned(), Some(english), "")
        };
        Self {
            field,
            href: format!("#{field}"),
            message,
            detail,
            advice,
            code: error.code.as_str(),
            reference: short_reference(request_id),
            request_id: request_id.to_owned(),
            status: crate::http::error::status(error.code),
        }
    }

    /// The summary's link goes to `href` (a page that helps) rather than to the field.
    #[must_use]
    pub fn linking(mut self, href: &str) -> Self {
        href.clone_into(&mut self.href);
        self
    }
}

impl Web {
    /// A page shown again after a refused form: with the error's status.
    pub(super) fn render_problem(
        &self,
        page: &impl Template,
        problem: Option<&Problem>,
    ) -> Response {
        let mut response = self.render(page);
        if let Some(p) = problem {
            if response.status() == StatusCode::OK {
                *response.status_mut() = p.status;
            }
        }
        response
    }
}

/// The error page: the message in plain words, what to do, the code and the support reference.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome<'a>,
    /// For an ended session: the start page that logs in and returns here.
    login_again: Option<String>,
    message: &'a str,
    advice: &'static str,
    code: &'static str,
    support_ref: &'a str,
    /// The short form of `support_ref`, to read aloud.
    short_ref: String,
}

page_chrome!(ErrorPage);

/// The error page for a browser (used by the error envelope for requests that accept HTML).
pub fn error_page(
    headers: &HeaderMap,
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    support_ref: &str,
    support: Option<&str>,
    path: &str,
) -> Response {
    let t = texts(headers);
    let message = sentence(message);
    let page = ErrorPage {
        chrome: Chrome {
            t,
            user: None,
            csrf: "",
            back: "/",
            support,
        },
        login_again: (code == ErrorCode::InvalidToken).then(|| {
            if local_path(path) && path != "/" {
                format!("/?next={}", encode(path))
            } else {
                "/".to_owned()
            }
        }),
        message: &message,
        advice: i18n::explain(t, code).1,
        code: code.as_str(),
        support_ref,
        short_ref: short_reference(support_ref),
    };
    let html = page
        .render()
        .unwrap_or_else(|_| format!("{}: {}", code.as_str(), support_ref));
    html_response(status, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_errors_stay_on_their_page_and_failures_do_not() {
        assert!(on_page(ErrorCode::ActivationFailed));
        assert!(on_page(ErrorCode::NotPdf));
        assert!(on_page(ErrorCode::InvalidGrant));
        assert!(!on_page(ErrorCode::InternalError));
        assert!(!on_page(ErrorCode::InvalidToken));
        assert!(!on_page(ErrorCode::FormRejected));
    }

    #[test]
    fn a_danish_page_explains_the_code_and_keeps_the_service_words_as_english() {
        let error = Error::new(ErrorCode::ActivationFailed, "the code did not match");
        let request_id = "0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b";
        let da = Problem::in_language(&i18n::DA, request_id, &error, "otp");
        assert_eq!(da.message, i18n::danish_advice(ErrorCode::ActivationFailed));
        assert_eq!(da.detail.as_deref(), Some("The code did not match"));
        assert_eq!(da.href, "#otp");
        assert_eq!(da.reference, short_reference(request_id));
        assert_eq!(da.status, StatusCode::BAD_REQUEST);
        let en = Problem::in_language(&i18n::EN, request_id, &error, "otp");
        assert_eq!(en.message, "The code did not match");
        assert_eq!(en.detail, None);
        assert_eq!(en.advice, ErrorCode::ActivationFailed.advice());
        assert_eq!(en.linking("/account").href, "/account");
    }
}
