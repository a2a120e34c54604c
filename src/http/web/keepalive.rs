//! Time limits (WCAG 2.2.1): every signed-in page carries when its session ends
//! (`data-session-expires` on `<body>`, with the service's time beside it), and the page's
//! script warns two minutes before with a button that keeps the session: a POST here (with
//! the anti-forgery token, like every POST) gives a fresh session cookie for the same login —
//! the same factors and level, never a higher one, never past the login's longest duration —
//! or, once that is reached, `invalid_token` and the warning's link to log in again and come
//! back to the page.

use axum::response::Response;
use serde::Serialize;
use std::sync::Arc;

use super::SignedIn;
use crate::service::{Error, Logins};

/// What the page's script learns from a kept session.
#[derive(Debug, Serialize)]
pub struct Extended {
    /// When the session now ends, Unix seconds.
    expires: i64,
    /// The service's time, Unix seconds (the script counts from it).
    now: i64,
    /// The session's level of assurance (URI): the same as before.
    loa: &'static str,
}

/// `POST /session/extend` (JSON): a fresh session cookie for a login that is still valid.
pub async fn extend(SignedIn(login, session): SignedIn<Arc<Logins>>) -> Result<Response, Error> {
    let issued = login.extend_session(&session.principal).await?;
    let now = session.user.now;
    let body = Extended {
        expires: now.saturating_add(i64::try_from(issued.expires_in).unwrap_or(0)),
        now,
        loa: issued.loa.uri(),
    };
    Ok(session
        .web
        .json_session(body, &issued.access_token, issued.expires_in))
}
