//! Extractors that speak the service's error format.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, ExtensionRejection};
use axum::extract::{
    ConnectInfo, Extension, FromRef, FromRequest, FromRequestParts, OptionalFromRequest, Request,
};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::router::{AppState, RequestId};
use crate::service::{Error, ErrorCode, Machine, Presented, Principal, Scheme};

/// The caller, from `Authorization: Bearer <access token>`, or `Authorization: DPoP <access
/// token>` with a `DPoP` proof for a DPoP-bound token (RFC 9449); anything else is
/// `invalid_token` (or `invalid_dpop_proof`).
#[derive(Debug, Clone)]
pub struct Bearer(pub Principal);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let presentation = Presentation::of(parts, state)?;
        let principal = state
            .service
            .login
            .authenticate_request(&presentation.presented())
            .await?;
        // A token that carries an approval (RFC 9396 `authorization_details`) is for signing
        // what was approved, not a general login: only the CSC credential and signature calls
        // take it.
        if principal.authorization_details.is_some() && !approval_route(parts.uri.path()) {
            return Err(Error::new(
                ErrorCode::InvalidToken,
                "this token carries an approval and is valid only for the CSC credential and signature calls",
            ));
        }
        Ok(Self(principal))
    }
}

/// An authenticated call to the use case `S`: the use case (as `State<S>` gives it), the
/// caller (as [`Bearer`] gives it) and the request id, which the audit records of the call
/// carry (the `request_id` that every use case changing something takes).
#[derive(Debug, Clone)]
pub struct Caller<S>(pub S, pub Principal, pub Option<String>);

impl<S: FromRef<AppState> + Send> FromRequestParts<AppState> for Caller<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let request_id = request_id(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Bearer(principal) = Bearer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(S::from_ref(state), principal, request_id))
    }
}

/// An authenticated call by an organisation's system client to the use case `S`: the use
/// case, the client (its access token as [`Presentation`] gives it, DPoP included) and the
/// request id.
#[derive(Debug, Clone)]
pub struct ClientCaller<S>(pub S, pub Machine, pub Option<String>);

impl<S: FromRef<AppState> + Send> FromRequestParts<AppState> for ClientCaller<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let request_id = request_id(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let presentation = Presentation::of(parts, state).map_err(IntoResponse::into_response)?;
        let machine = state
            .service
            .login
            .authenticate_machine(&presentation.presented())
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(S::from_ref(state), machine, request_id))
    }
}

/// A request's access token as it was presented: the scheme (`Bearer` or `DPoP`), the token,
/// the `DPoP` proof header (at most one), and the method and URL a proof must name (the
/// public URL and the path: what the client called, whatever proxies stand between).
#[derive(Debug, Clone)]
pub(super) struct Presentation {
    scheme: Scheme,
    token: String,
    proof: Option<String>,
    method: String,
    url: String,
}

impl Presentation {
    /// The presentation of a request.
    ///
    /// # Errors
    /// `invalid_token` without a bearer or DPoP token, `invalid_dpop_proof` for several or
    /// unreadable `DPoP` headers.
    pub(super) fn of(parts: &Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (scheme, token) = match header.split_once(' ') {
            Some((name, token)) if name.eq_ignore_ascii_case("bearer") => (Scheme::Bearer, token),
            Some((name, token)) if name.eq_ignore_ascii_case("dpop") => (Scheme::Dpop, token),
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidToken,
                    "a bearer or DPoP access token is required",
                ))
            }
        };
        Ok(Self {
            scheme,
            token: token.trim().to_owned(),
            proof: dpop_proof(&parts.headers)?,
            method: parts.method.as_str().to_owned(),
            url: format!("{}{}", state.config.public_url(), parts.uri.path()),
        })
    }

    /// The token as the service checks it.
    pub(super) fn presented(&self) -> Presented<'_> {
        Presented {
            token: &self.token,
            scheme: self.scheme,
            proof: self.proof.as_deref(),
            method: &self.method,
            url: &self.url,
        }
    }
}

/// The request's `DPoP` proof header, if it has one (RFC 9449 §4.3: exactly one).
///
/// # Errors
/// `invalid_dpop_proof` for several, or one that is not text.
pub(super) fn dpop_proof(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let mut values = headers.get_all("dpop").iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Error::new(
            ErrorCode::InvalidDpopProof,
            "a request carries one DPoP proof at most",
        ));
    }
    first
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| Error::new(ErrorCode::InvalidDpopProof, "the DPoP header is not text"))
        })
        .transpose()
}

/// Where a login comes from, for its throttling and audit records: the caller's source
/// address (as [`source_of`](super::source_of) counts it) and the request id.
#[derive(Debug, Clone)]
pub struct Origin(pub Option<String>, pub Option<String>);

impl FromRequestParts<AppState> for Origin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let request_id = request_id(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let source = super::source_of(peer.ip()).to_string();
        Ok(Self(Some(source), request_id))
    }
}

/// The request id that the request-id layer set, refused as `Extension` refuses it.
async fn request_id(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<String>, ExtensionRejection> {
    let Extension(RequestId(id)) = Extension::<RequestId>::from_request_parts(parts, state).await?;
    Ok(Some(id))
}

/// The routes an approval token may call.
fn approval_route(path: &str) -> bool {
    ["/csc/v1/", "/csc/v2/"].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("credentials/") || rest.starts_with("signatures/"))
    })
}

/// A JSON body of type `T`, read or written. Unlike `axum::Json`, every refusal is the
/// service's error with the usual envelope: no `Content-Type: application/json` is
/// `unsupported_media_type`, a body over the route's limit `payload_too_large`, and a body
/// that is not JSON or does not fit `T` is `invalid_request` with a description that names
/// the member (`credentialID: invalid type: integer …`, `documents[0]: missing field …`).
///
/// As `Option<Json<T>>` a request without a `Content-Type` is `None` (an optional body).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        if !is_json(request.headers()) {
            return Err(Error::new(
                ErrorCode::UnsupportedMediaType,
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let body = <Bytes as FromRequest<S>>::from_request(request, state)
            .await
            .map_err(|rejection| unreadable(&rejection))?;
        parse_json(&body).map(Self)
    }
}

impl<T, S> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Error> {
        if request.headers().get(CONTENT_TYPE).is_none() {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(request, state)
            .await
            .map(Some)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/…+json`,
/// parameters such as `charset` aside).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            essence
                .strip_prefix("application/")
                .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
        })
}

/// The error for a body that could not be read: too large for the route, or broken off.
pub(super) fn unreadable(rejection: &BytesRejection) -> Error {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::new(
            ErrorCode::PayloadTooLarge,
            ErrorCode::PayloadTooLarge.description(),
        )
    } else {
        Error::new(
            ErrorCode::InvalidRequest,
            "the request body could not be read",
        )
    }
}

/// Reads a JSON body as `T`. A refusal is `invalid_request` and names where the body does not
/// fit: the member's path for a wrong type or value (`hashes[1]: invalid type: …`), the field
/// for a missing one (`missing field `signAlgo``), or the line and column of a syntax error.
///
/// # Errors
/// `invalid_request`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        does_not_fit(&path, e.inner())
    })?;
    // Nothing but white space may follow the value.
    deserializer.end().map_err(|e| does_not_fit(".", &e))?;
    Ok(value)
}

/// The refusal of a body, with the path (`.` for the whole body) where it went wrong.
fn does_not_fit(path: &str, e: &serde_json::Error) -> Error {
    let message = if !e.is_data() {
        format!("the body is not valid JSON: {e}")
    } else if path == "." {
        format!("the body does not fit: {e}")
    } else {
        format!("the body does not fit: {path}: {e}")
    };
    Error::new(ErrorCode::InvalidRequest, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        #[serde(rename = "credentialID")]
        credential_id: String,
        #[serde(default)]
        num_signatures: Option<u32>,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Item {
        name: String,
    }

    fn refusal(body: &str) -> String {
        let e = parse_json::<Body>(body.as_bytes()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{}", e.message);
        e.message
    }

    #[test]
    fn a_refused_body_names_the_member_that_does_not_fit() {
        let cases = [
            (
                r#"{"credentialID": 7}"#,
                "credentialID: invalid type: integer `7`",
            ),
            (r#"{"numSignatures": 1}"#, "missing field `credentialID`"),
            (
                r#"{"credentialID": "c", "numSignatures": -1}"#,
                "numSignatures: invalid value: integer `-1`",
            ),
            (
                r#"{"credentialID": "c", "items": [{"name": "a"}, {}]}"#,
                "items[1]: missing field `name`",
            ),
            (r#"{"credentialID": "c""#, "the body is not valid JSON"),
            (r#"{"credentialID": "c"} x"#, "the body is not valid JSON"),
        ];
        for (body, expected) in cases {
            let message = refusal(body);
            assert!(message.contains(expected), "{body}: {message}");
        }
        let body: Body =
            parse_json(br#"{"credentialID": "c", "numSignatures": 2, "items": [{"name": "a"}]}"#)
                .unwrap();
        assert_eq!(body.credential_id, "c");
        assert_eq!(body.num_signatures, Some(2));
        assert_eq!(body.items[0].name, "a");
    }

    #[test]
    fn json_is_application_json_or_a_json_suffix() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, json) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/cloudevents+json", true),
            ("text/json", false),
            ("application/x-www-form-urlencoded", false),
            ("application/jsonx", false),
        ] {
            headers.insert(CONTENT_TYPE, axum::http::HeaderValue::from_static(value));
            assert_eq!(is_json(&headers), json, "{value}");
        }
    }
}
