//! The QR code beside a new authenticator-app secret: the secret's `otpauth://` URI drawn as
//! an SVG picture on the server (no script, no inline style: an `<img>` of this route fits
//! `img-src 'self'`). Only for the signed-in person at the enrolment's level; never cached.

use axum::extract::Query;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use qrcode::render::svg;
use qrcode::QrCode;
use serde::Deserialize;
use std::sync::Arc;

use super::SignedIn;
use crate::service::{Account, Error, ErrorCode};

/// The secret to draw (the one the enrolment page shows beside the picture).
#[derive(Debug, Deserialize)]
pub struct SecretQuery {
    #[serde(default)]
    secret: String,
}

/// `GET /account/totp/qr.svg?secret=…`: the secret's enrolment URI as a QR code (SVG).
pub async fn totp_qr(
    SignedIn(account, session): SignedIn<Arc<Account>>,
    Query(q): Query<SecretQuery>,
) -> Result<Response, Error> {
    let uri = account.totp_uri(&session.principal, &q.secret).await?;
    let code = QrCode::new(uri.as_bytes()).map_err(|e| {
        Error::new(
            ErrorCode::InvalidRequest,
            format!("the secret cannot be drawn: {e:?}"),
        )
    })?;
    let picture = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let mut response = picture.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "image/svg+xml"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Opened on its own, the picture may run nothing and load nothing.
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    Ok(response)
}
