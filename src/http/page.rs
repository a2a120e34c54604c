//! Server-rendered HTML for the identity provider's bare pages (a redirect it cannot make):
//! escaped text only, no script, no external assets, strict security headers; and the headers
//! every HTML page carries. The login page itself is in the site's layout (`web::idp_login`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and double-quoted attribute values.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The headers of every HTML page: its content security policy and referrer policy, no
/// sniffing, framing or caching.
pub fn page_headers(
    headers: &mut axum::http::HeaderMap,
    policy: &'static str,
    referrer: &'static str,
) {
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, referrer),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// A page with security headers: no scripts, styles or frames; not cached; no referrer.
pub fn html(status: StatusCode, title: &str, body: &str) -> Response {
    html_with_policy(
        status,
        title,
        body,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    )
}

fn html_with_policy(status: StatusCode, title: &str, body: &str, policy: &'static str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title></head><body><main>{body}</main></body></html>\n",
        escape(title)
    );
    let mut response = (status, page).into_response();
    response.extensions_mut().insert(super::error::Rendered);
    page_headers(response.headers_mut(), policy, "no-referrer");
    response
}

/// An error page in plain words.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!("<h1>Cannot continue</h1><p>{}</p>", escape(message));
    html(status, "qsign: cannot continue", &body)
}

/// The login page's script: the pages' one script, which also drives this page's passkey.
pub fn login_script() -> Response {
    super::web::script_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }
}
