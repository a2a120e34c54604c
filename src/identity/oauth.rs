//! The OAuth 2.0 authorization-code flow (RFC 6749 §4.1) with PKCE S256 (RFC 7636), for
//! registered clients only; the request may come by value or by reference to a pushed request
//! ([`super::par`]), and the client authenticates as it is registered
//! ([`super::client_auth`]).
//!
//! A client is sent to `/idp/authorize`; qsign shows its own login page (the password and a
//! TOTP code go to qsign, never through the client), then redirects back with a one-time code
//! that lives 60 seconds and is redeemed once (`DELETE … RETURNING`), with the PKCE verifier.
//! Tokens for the signing service itself (audience `qsign`) carry the person's UUID as `sub`;
//! tokens for any other relying party carry a pairwise `sub` (an HMAC of the client id and the
//! person under a per-installation secret), so two relying parties cannot link a person.

use std::collections::BTreeSet;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::client_auth::ClientAuth;
use super::loa::{Factor, Loa};
use super::{Attempt, Error, Identity, Issued, TokenGrant};
use crate::audit::Context;
use crate::store::{OauthCodeRow, OauthRequestRow};

/// A registered client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// Its id.
    pub client_id: String,
    /// Exact redirect URIs it may use.
    pub redirect_uris: Vec<String>,
    /// The audience of its tokens: the service's own audience for signing clients (the
    /// person's UUID as `sub`), anything else for a relying party (a pairwise `sub`).
    pub audience: String,
    /// How it authenticates at the token and PAR endpoints: public (`none`) or
    /// `private_key_jwt` with its keys.
    pub auth: ClientAuth,
}

/// Seconds a login page may stay open.
pub(super) const REQUEST_LIFETIME: i64 = 600;
/// Seconds a code lives.
const CODE_LIFETIME: i64 = 60;

/// Why an authorization request cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Unknown client or redirect URI: show an error page, never redirect.
    Page(String),
    /// Tell the client through its redirect URI (RFC 6749 §4.1.2.1).
    Redirect {
        /// Where to.
        location: String,
    },
}

/// The query of an authorization request.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuthorizeQuery {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// One of its registered redirect URIs.
    pub redirect_uri: Option<String>,
    /// Returned as given.
    pub state: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    pub code_challenge_method: Option<String>,
    /// RFC 9396 rich authorization request: CSC `credential` entries naming the credential,
    /// the hash algorithm and the digests (with labels) the person is asked to approve.
    pub authorization_details: Option<String>,
    /// The CSC scope: `service` (a login) or `credential` (an approval, which needs
    /// `authorization_details`); when absent it follows from the details.
    pub scope: Option<String>,
    /// A pushed request's reference (RFC 9126): then every other parameter but `client_id`
    /// comes from the pushed request.
    pub request_uri: Option<String>,
}

fn with_params(base: &str, params: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", encoded.join("&"))
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
#[must_use]
pub fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Identity {
    /// The registered client with this id.
    #[must_use]
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.settings.clients.iter().find(|c| c.client_id == id)
    }

    /// Checks an authorization request and keeps it for the login page. A request by
    /// reference (`request_uri`) takes its pushed request, once.
    ///
    /// # Errors
    /// [`AuthorizeError`]; store failures become a page.
    pub async fn authorize_start(
        &self,
        q: &AuthorizeQuery,
        now: i64,
    ) -> Result<OauthRequestRow, AuthorizeError> {
        if let Some(uri) = q.request_uri.as_deref() {
            return self.pushed_start(q.client_id.as_deref(), uri, now).await;
        }
        let client = q
            .client_id
            .as_deref()
            .and_then(|id| self.client(id))
            .ok_or_else(|| AuthorizeError::Page("unknown client".into()))?;
        let redirect =
            checked_redirect(client, q.redirect_uri.as_deref()).map_err(AuthorizeError::Page)?;
        let id = random_token().map_err(|e| AuthorizeError::Page(e.to_string()))?;
        let row = checked_request(client, redirect, q, id, now).map_err(|error| {
            let mut params = vec![("error", error)];
            if let Some(state) = q.state.as_deref() {
                params.push(("state", state));
            }
            AuthorizeError::Redirect {
                location: with_params(redirect, &params),
            }
        })?;
        self.store
            .put_oauth_request(&row)
            .await
            .map_err(|e| AuthorizeError::Page(e.to_string()))?;
        Ok(row)
    }

    /// A pending request, for showing the login page again after a failed attempt.
    ///
    /// # Errors
    /// Store failures.
    pub async fn pending_request(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<OauthRequestRow>, Error> {
        Ok(self.store.oauth_request(id, now).await?)
    }

    /// The login page's submission (a password with an optional TOTP code, or a passkey with
    /// the password or a TOTP code): checks the login, then returns where to redirect with the
    /// code. The request stays usable after a failed login.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] also for an unknown or expired request; the errors of
    /// [`Identity::grant`].
    pub async fn authorize(
        &self,
        request: &str,
        attempt: Attempt<'_>,
        ctx: &Context,
        now: i64,
    ) -> Result<String, Error> {
        if self.store.oauth_request(request, now).await?.is_none() {
            return Err(Error::InvalidCredentials);
        }
        let (person, factors, loa) = self.login(attempt, ctx, now).await?;
        self.complete_authorization(request, person, &factors, loa, now)
            .await
    }

    /// Consumes the pending request and issues its code; returns the redirect location.
    async fn complete_authorization(
        &self,
        request: &str,
        person: crate::types::PersonId,
        factors: &BTreeSet<Factor>,
        loa: Loa,
        now: i64,
    ) -> Result<String, Error> {
        let pending = self
            .store
            .take_oauth_request(request, now)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        let code = random_token().map_err(|e| Error::Internal(e.to_string()))?;
        let mut row = OauthCodeRow {
            code_hash: hex::encode(Sha256::digest(code.as_bytes())),
            client_id: pending.client_id,
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge,
            person_id: person.to_string(),
            factors: factors
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(","),
            auth_time: now,
            expires_at: now + CODE_LIFETIME,
            authorization_details: pending.authorization_details,
            // The level the login reached (capped: a passkey in its delay is Substantial).
            loa: loa.uri().to_owned(),
            mac: None,
        };
        row.mac = Some(self.hsm.tag_record(&code_record(&row)).await?);
        self.store.put_oauth_code(&row).await?;
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = pending.state.as_deref() {
            params.push(("state", state));
        }
        Ok(with_params(&pending.redirect_uri, &params))
    }

    /// Redeems a code at the token endpoint for `client` (authenticated as it is registered,
    /// [`Identity::registered_client`]); the token is bound to the DPoP key `jkt` when a proof
    /// came with the request.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] for an unknown, used or expired code, another client or
    /// redirect URI, or a wrong PKCE verifier.
    pub async fn exchange_code(
        &self,
        code: &str,
        client: &Client,
        redirect_uri: &str,
        verifier: &str,
        jkt: Option<String>,
        now: i64,
    ) -> Result<Issued, Error> {
        let row = self
            .store
            .take_oauth_code(&hex::encode(Sha256::digest(code.as_bytes())), now)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let pkce_ok: bool = expected
            .as_bytes()
            .ct_eq(row.code_challenge.as_bytes())
            .into();
        if !pkce_ok || row.client_id != client.client_id || row.redirect_uri != redirect_uri {
            return Err(Error::InvalidCredentials);
        }
        // A code row inserted or edited by a database writer grants nothing.
        if !self
            .hsm
            .record_intact(code_record(&row), row.mac.as_deref())
            .await?
        {
            return Err(Error::InvalidCredentials);
        }
        let factors: BTreeSet<Factor> = row
            .factors
            .split(',')
            .filter_map(Factor::from_name)
            .collect();
        // Never above what the login reached.
        let reached = Loa::parse(&row.loa).ok_or(Error::NoLevel)?;
        let loa = self
            .policy
            .level(&factors)
            .ok_or(Error::NoLevel)?
            .min(reached);
        let sub = if client.audience == self.settings.audience {
            row.person_id.clone()
        } else {
            self.pairwise(&client.client_id, &row.person_id, now)
                .await?
        };
        let details = row
            .authorization_details
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let grant = TokenGrant {
            auth_time: row.auth_time,
            details,
            jkt,
            client_id: Some(client.client_id.clone()),
            until: None,
        };
        self.issue_token(sub, client.audience.clone(), loa, &factors, grant, now)
            .await
    }

    /// A random per-installation secret kept in the database under `name`, made on first use
    /// (the first node to make it wins).
    pub(super) async fn installation_secret(&self, name: &str, now: i64) -> Result<String, Error> {
        Ok(match self.store.setting(name).await? {
            Some(s) => s,
            None => {
                let candidate = random_token().map_err(|e| Error::Internal(e.to_string()))?;
                self.store
                    .insert_setting_if_absent(name, &candidate, now)
                    .await?
            }
        })
    }

    /// The pairwise subject of a person for a relying party: HMAC-SHA-256 under a random
    /// per-installation secret kept in the database.
    async fn pairwise(&self, client: &str, person: &str, now: i64) -> Result<String, Error> {
        let secret = self.installation_secret("pairwise_secret", now).await?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
            .map_err(|e| Error::Internal(e.to_string()))?;
        mac.update(client.as_bytes());
        mac.update(&[0]);
        mac.update(person.as_bytes());
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

/// One approved document of a CSC `credential` authorization detail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentDigest {
    /// The digest, base64.
    pub hash: String,
    /// What the document is, shown to the person.
    #[serde(default)]
    pub label: Option<String>,
}

/// A CSC `credential` authorization detail (RFC 9396, CSC API v2 §8.3.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialDetail {
    /// Must be `credential`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// Hash algorithm OID of the digests.
    #[serde(rename = "hashAlgorithmOID")]
    pub hash_algorithm_oid: String,
    /// The documents approved.
    pub document_digests: Vec<DocumentDigest>,
}

/// Parses and bounds `authorization_details`: a JSON array of 1 to 10 `credential` entries,
/// each with 1 to 100 digests, at most 32 KiB in all.
///
/// # Errors
/// A message naming the problem.
pub fn parse_details(text: &str) -> Result<Vec<CredentialDetail>, String> {
    if text.len() > 32 * 1024 {
        return Err("authorization_details is too large".into());
    }
    let details: Vec<CredentialDetail> =
        serde_json::from_str(text).map_err(|e| format!("authorization_details: {e}"))?;
    if details.is_empty() || details.len() > 10 {
        return Err("authorization_details: 1 to 10 entries".into());
    }
    for d in &details {
        if d.kind != "credential"
            || d.document_digests.is_empty()
            || d.document_digests.len() > 100
            || d.document_digests
                .iter()
                .any(|x| x.hash.len() > 200 || x.label.as_ref().is_some_and(|l| l.len() > 500))
        {
            return Err("authorization_details: a credential entry with 1 to 100 digests".into());
        }
    }
    Ok(details)
}

/// The client's registered redirect URI that the request names.
pub(super) fn checked_redirect<'a>(
    client: &Client,
    redirect: Option<&'a str>,
) -> Result<&'a str, String> {
    redirect
        .filter(|r| client.redirect_uris.iter().any(|u| u == r))
        .ok_or_else(|| "this redirect URI is not registered for the client".to_owned())
}

/// The request to keep, once the parts checked after its client and redirect URI fit:
/// `response_type` `code`, a PKCE S256 challenge, a bounded `state`, the
/// `authorization_details` and the CSC scope (`credential` exactly when there are details, as
/// the details make the token an approval); otherwise the OAuth error code (RFC 6749
/// §4.1.2.1).
pub(super) fn checked_request(
    client: &Client,
    redirect: &str,
    q: &AuthorizeQuery,
    id: String,
    now: i64,
) -> Result<OauthRequestRow, &'static str> {
    if q.response_type.as_deref() != Some("code") {
        return Err("unsupported_response_type");
    }
    let challenge = q.code_challenge.as_deref().filter(|c| {
        (43..=128).contains(&c.len())
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    });
    let (Some(challenge), Some("S256")) = (challenge, q.code_challenge_method.as_deref()) else {
        return Err("invalid_request");
    };
    if q.state.as_ref().is_some_and(|s| s.len() > 512) {
        return Err("invalid_request");
    }
    let details = match q.authorization_details.as_deref() {
        None => None,
        Some(text) => Some(
            parse_details(text)
                .map(|_| text.to_owned())
                .map_err(|_| "invalid_authorization_details")?,
        ),
    };
    match (q.scope.as_deref(), &details) {
        (None, _) | (Some("service"), None) | (Some("credential"), Some(_)) => {}
        _ => return Err("invalid_scope"),
    }
    Ok(OauthRequestRow {
        id,
        client_id: client.client_id.clone(),
        redirect_uri: redirect.to_owned(),
        state: q.state.clone(),
        code_challenge: challenge.to_owned(),
        expires_at: now + REQUEST_LIFETIME,
        authorization_details: details,
    })
}

/// 32 random bytes, base64url.
pub(super) fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What an authorization code's integrity tag covers.
fn code_record(row: &OauthCodeRow) -> crate::hsm::Record<'_> {
    crate::hsm::Record::OauthCode {
        code_hash: &row.code_hash,
        client: &row.client_id,
        redirect_uri: &row.redirect_uri,
        challenge: &row.code_challenge,
        person: &row.person_id,
        factors: &row.factors,
        loa: &row.loa,
        auth_time: row.auth_time,
        details: row.authorization_details.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_parameters_are_encoded() {
        assert_eq!(
            with_params("https://a/cb", &[("code", "x y"), ("state", "<s>&")]),
            "https://a/cb?code=x%20y&state=%3Cs%3E%26"
        );
        assert_eq!(
            with_params("https://a/cb?k=1", &[("error", "invalid_request")]),
            "https://a/cb?k=1&error=invalid_request"
        );
    }
}
