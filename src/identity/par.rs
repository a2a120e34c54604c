//! Pushed authorization requests (RFC 9126): a client sends the parameters of its
//! authorization request to the PAR endpoint over the back channel, authenticated as it is
//! registered ([`super::client_auth`]), and gets a `request_uri` that the browser then carries
//! to `/idp/authorize` with only the `client_id`.
//!
//! The request is checked exactly as one sent by value ([`super::oauth`]) before it is kept,
//! so that errors reach the client directly rather than through the browser. It is kept by the
//! SHA-256 of its `request_uri` (128 random bits beside the URN prefix), for
//! [`PUSHED_LIFETIME`] seconds, and taken once, by its own client only: a `request_uri` used a
//! second time, by another client or after it expired finds nothing. Another client's attempt
//! leaves it in place, so that it cannot be spent by someone who saw it.

use sha2::{Digest as _, Sha256};

use super::oauth::{
    checked_redirect, checked_request, random_token, AuthorizeError, AuthorizeQuery, Client,
    REQUEST_LIFETIME,
};
use super::{Error, Identity};
use crate::store::{OauthRequestRow, PushedRequestRow};

/// The prefix of every `request_uri` (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Seconds a pushed request waits for its authorization request.
pub const PUSHED_LIFETIME: i64 = 60;

/// A pushed request, as the PAR endpoint answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The reference for `/idp/authorize`.
    pub request_uri: String,
    /// Seconds it stays usable.
    pub expires_in: i64,
}

/// What a pushed request keeps: the checked request, without its id and expiry.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Kept {
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    authorization_details: Option<String>,
}

/// The key a `request_uri` is kept under.
fn uri_hash(request_uri: &str) -> String {
    hex::encode(Sha256::digest(request_uri.as_bytes()))
}

impl Identity {
    /// Checks an authorization request pushed by `client` (authenticated as it is registered)
    /// and keeps it for [`PUSHED_LIFETIME`] seconds under a new `request_uri`.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] naming what does not fit; store failures.
    pub async fn push_request(
        &self,
        client: &Client,
        q: &AuthorizeQuery,
        now: i64,
    ) -> Result<Pushed, Error> {
        if q.request_uri.is_some() {
            return Err(Error::InvalidRequest(
                "request_uri: a pushed request cannot refer to another".into(),
            ));
        }
        if q.client_id
            .as_deref()
            .is_some_and(|id| id != client.client_id)
        {
            return Err(Error::InvalidRequest(
                "client_id must be the client that authenticated".into(),
            ));
        }
        let redirect =
            checked_redirect(client, q.redirect_uri.as_deref()).map_err(Error::InvalidRequest)?;
        let row = checked_request(client, redirect, q, String::new(), now)
            .map_err(|code| Error::InvalidRequest(refusal(code).to_owned()))?;
        let kept = Kept {
            redirect_uri: row.redirect_uri,
            state: row.state,
            code_challenge: row.code_challenge,
            authorization_details: row.authorization_details,
        };
        let random = random_token().map_err(|e| Error::Internal(e.to_string()))?;
        let request_uri = format!("{REQUEST_URI_PREFIX}{random}");
        let pushed = PushedRequestRow {
            uri_hash: uri_hash(&request_uri),
            client_id: client.client_id.clone(),
            request: serde_json::to_string(&kept).map_err(|e| Error::Internal(e.to_string()))?,
            expires_at: now.saturating_add(PUSHED_LIFETIME),
        };
        self.store.put_pushed_request(&pushed).await?;
        Ok(Pushed {
            request_uri,
            expires_in: PUSHED_LIFETIME,
        })
    }

    /// An authorization request by reference: takes the pushed request (once, by its own
    /// client, before it expires) and keeps it for the login page as a request by value would
    /// be kept.
    pub(super) async fn pushed_start(
        &self,
        client_id: Option<&str>,
        request_uri: &str,
        now: i64,
    ) -> Result<OauthRequestRow, AuthorizeError> {
        let page = |message: &str| AuthorizeError::Page(message.to_owned());
        let failed = |e: &dyn std::fmt::Display| AuthorizeError::Page(e.to_string());
        let client = client_id
            .and_then(|id| self.client(id))
            .ok_or_else(|| page("unknown client"))?;
        if !request_uri.starts_with(REQUEST_URI_PREFIX) {
            return Err(page("request_uri: not a pushed request of this service"));
        }
        let taken = self
            .store
            .take_pushed_request(&uri_hash(request_uri), &client.client_id, now)
            .await
            .map_err(|e| failed(&e))?
            .ok_or_else(|| {
                page("this request is unknown, used, expired or another application's: go back to the application and start again")
            })?;
        let kept: Kept = serde_json::from_str(&taken.request).map_err(|e| failed(&e))?;
        let row = OauthRequestRow {
            id: random_token().map_err(|e| failed(&e))?,
            client_id: client.client_id.clone(),
            redirect_uri: kept.redirect_uri,
            state: kept.state,
            code_challenge: kept.code_challenge,
            expires_at: now.saturating_add(REQUEST_LIFETIME),
            authorization_details: kept.authorization_details,
        };
        self.store
            .put_oauth_request(&row)
            .await
            .map_err(|e| failed(&e))?;
        Ok(row)
    }
}

/// What a refused pushed request is told, by the OAuth error code the check gave.
fn refusal(code: &str) -> &'static str {
    match code {
        "unsupported_response_type" => "unsupported_response_type: response_type must be code",
        "invalid_authorization_details" => {
            "invalid_authorization_details: 1 to 10 credential entries with 1 to 100 digests each"
        }
        "invalid_scope" => {
            "invalid_scope: service without authorization_details, credential with them"
        }
        _ => "invalid_request: a PKCE S256 code_challenge is required and state is at most 512 characters",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_uris_are_kept_by_hash_and_refusals_say_why() {
        let uri = format!("{REQUEST_URI_PREFIX}abc");
        assert_eq!(uri_hash(&uri).len(), 64);
        assert_ne!(uri_hash(&uri), uri_hash(&format!("{uri}d")));
        assert!(refusal("invalid_scope").starts_with("invalid_scope"));
        assert!(refusal("anything").starts_with("invalid_request"));
    }
}
