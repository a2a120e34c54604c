//! Logins: the embedded identity provider's use cases. The password grant, passkey logins and
//! step-ups, enrolling a passkey, the OAuth authorization-code flow with its login page,
//! logout, and what relying parties read (JWKS, the issuer); the token and PAR endpoints,
//! DPoP and the metadata are in `oauth`.

use super::{from_json, person_ctx, to_json, unix_now, Error, ErrorCode};
use crate::audit::Context;
use crate::clock::SharedClock;
use crate::identity::oauth::{AuthorizeError, AuthorizeQuery};
use crate::identity::passkey::SecondFactor;
use crate::identity::{Attempt, Identity, Issued, Principal, Proof};

/// The identity provider's use cases.
#[derive(Debug, Clone)]
pub struct Logins {
    pub(super) identity: Identity,
    pub(super) clock: SharedClock,
}

/// What an authorization request leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// Show the login page for this pending request.
    Login {
        /// The pending request id (the form's anti-forgery value).
        request: String,
        /// The client's id, to show whom the person logs in to.
        client: String,
        /// What the person approves by logging in (documents to sign), one line each.
        approving: Vec<String>,
    },
    /// Show an error page; never redirect (unknown client or redirect URI).
    ErrorPage(String),
    /// Send the browser back to the client with an error.
    Redirect(String),
}

/// The login page's form.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AuthorizeForm {
    /// The pending request id.
    pub request: String,
    /// The account.
    pub username: String,
    /// The password.
    pub password: String,
    /// A TOTP code, optional.
    #[serde(default)]
    pub otp: Option<String>,
}

/// A passkey login form.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PasskeyLogin {
    /// The account.
    pub username: String,
    /// The state id from the start call.
    pub state: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get`.
    pub credential: serde_json::Value,
    /// The password, as the second factor.
    #[serde(default)]
    pub password: Option<String>,
    /// Or a TOTP code.
    #[serde(default)]
    pub otp: Option<String>,
}

impl PasskeyLogin {
    /// The login this form makes with its parsed `credential`: the passkey with the password,
    /// else a TOTP code (empty fields count as absent).
    fn attempt<'a>(
        &'a self,
        credential: &'a webauthn_rs::prelude::PublicKeyCredential,
        source: Option<&'a str>,
    ) -> Result<Attempt<'a>, Error> {
        let second = match (
            self.password.as_deref().filter(|p| !p.is_empty()),
            self.otp.as_deref().filter(|o| !o.is_empty()),
        ) {
            (Some(p), _) => SecondFactor::Password(p),
            (None, Some(code)) => SecondFactor::Totp(code),
            (None, None) => {
                return Err(Error::new(
                    ErrorCode::InvalidRequest,
                    "a password or a one-time code must come with the passkey",
                ))
            }
        };
        let proof = Proof::Passkey {
            state: &self.state,
            credential,
            second,
        };
        Ok(Attempt {
            username: &self.username,
            proof,
            source,
        })
    }
}

/// A started WebAuthn ceremony: the state id, and the options for
/// `navigator.credentials.create` or `navigator.credentials.get`.
pub type Ceremony = (String, serde_json::Value);

/// A ceremony the identity provider started, as the browser gets it.
fn ceremony<T: serde::Serialize>((state, options): (String, T)) -> Result<Ceremony, Error> {
    Ok((state, to_json(&options)?))
}

/// What a person approves by logging in: one line per document of the request's
/// `authorization_details` (what you see is what you sign).
fn approval_lines(details: Option<&str>) -> Vec<String> {
    let Some(details) = details.and_then(|d| crate::identity::oauth::parse_details(d).ok()) else {
        return Vec::new();
    };
    details
        .iter()
        .flat_map(|d| {
            d.document_digests.iter().map(move |doc| {
                format!(
                    "Sign \u{201c}{}\u{201d} with credential {} (digest {})",
                    doc.label.as_deref().unwrap_or("unnamed document"),
                    d.credential_id,
                    doc.hash
                )
            })
        })
        .collect()
}

impl Logins {
    /// The password grant of the token endpoint (an extension for scripted clients): a
    /// password and, optionally, a TOTP code; the token's level follows the factors used.
    ///
    /// # Errors
    /// `invalid_grant` (one code for unknown users, wrong passwords and wrong codes),
    /// `code_reused`, `too_many_attempts`.
    pub async fn password_grant(
        &self,
        username: &str,
        password: &str,
        otp: Option<&str>,
        source: Option<String>,
        request_id: Option<String>,
    ) -> Result<Issued, Error> {
        let attempt = Attempt {
            username,
            proof: Proof::Password { password, otp },
            source: source.as_deref(),
        };
        self.grant(attempt, request_id).await
    }

    /// Verifies a bearer token.
    ///
    /// # Errors
    /// `invalid_token`.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, Error> {
        let principal = self.identity.authenticate(token, self.now()).await?;
        // Every later line of this request names the person by their pseudonymous id (a
        // random UUID, never a name or a username).
        tracing::Span::current().record("person", tracing::field::display(&principal.person));
        Ok(principal)
    }

    /// Starts enrolling a passkey: from a High session, or with the enrolment code the operator
    /// handed over. Returns the state id and the WebAuthn creation options for
    /// `navigator.credentials.create`.
    ///
    /// # Errors
    /// `insufficient_loa` (High) without a code; `invalid_grant` for a wrong or used code;
    /// `forbidden` for a person of an external issuer; `invalid_request` when the public URL
    /// has no domain name.
    pub async fn passkey_register_start(
        &self,
        principal: &Principal,
        enrolment_code: Option<&str>,
    ) -> Result<Ceremony, Error> {
        let now = self.now();
        let started = self
            .identity
            .passkey_register_start(principal, enrolment_code, now);
        ceremony(started.await?)
    }

    /// Finishes enrolling a passkey.
    ///
    /// # Errors
    /// `invalid_request` for a malformed credential; `invalid_grant` when it does not verify
    /// or the state is unknown, used or expired.
    pub async fn passkey_register_finish(
        &self,
        principal: &Principal,
        state: &str,
        credential: serde_json::Value,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let credential = from_json(credential)?;
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .identity
            .passkey_register_finish(principal, state, &credential, &ctx, self.now())
            .await?)
    }

    /// Starts a passkey login; returns the state id and the request options.
    ///
    /// # Errors
    /// `invalid_grant` when the account has no passkey.
    pub async fn passkey_login_start(&self, username: &str) -> Result<Ceremony, Error> {
        let started = self.identity.passkey_login_start(username, self.now());
        ceremony(started.await?)
    }

    /// Finishes a passkey login with the password or a TOTP code beside it (High).
    ///
    /// # Errors
    /// `invalid_grant`, `code_reused`, `too_many_attempts`, `invalid_request`.
    pub async fn passkey_login_finish(
        &self,
        login: PasskeyLogin,
        source: Option<String>,
        request_id: Option<String>,
    ) -> Result<Issued, Error> {
        let credential = from_json(login.credential.clone())?;
        self.grant(login.attempt(&credential, source.as_deref())?, request_id)
            .await
    }

    /// Starts a passkey step-up of the caller's session.
    ///
    /// # Errors
    /// `invalid_grant` when the person has no passkey.
    pub async fn passkey_stepup_start(&self, principal: &Principal) -> Result<Ceremony, Error> {
        let started = self.identity.passkey_stepup_start(principal, self.now());
        ceremony(started.await?)
    }

    /// Finishes a passkey step-up: a new token with the passkey added to the factors.
    ///
    /// # Errors
    /// `invalid_grant`, `invalid_request`.
    pub async fn passkey_stepup_finish(
        &self,
        principal: &Principal,
        state: &str,
        credential: serde_json::Value,
        request_id: Option<String>,
    ) -> Result<Issued, Error> {
        let credential = from_json(credential)?;
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .identity
            .passkey_stepup_finish(principal, state, &credential, &ctx, self.now())
            .await?)
    }

    /// Steps the caller's session up with a TOTP code.
    ///
    /// # Errors
    /// `invalid_grant`, `code_reused`, `too_many_attempts`.
    pub async fn totp_stepup(
        &self,
        principal: &Principal,
        otp: &str,
        request_id: Option<String>,
    ) -> Result<Issued, Error> {
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .identity
            .totp_stepup(principal, otp, &ctx, self.now())
            .await?)
    }

    /// Checks an OAuth authorization request; on success the login page is shown for it.
    pub async fn authorize_start(&self, query: &AuthorizeQuery) -> AuthorizeOutcome {
        match self.identity.authorize_start(query, self.now()).await {
            Ok(row) => AuthorizeOutcome::Login {
                approving: approval_lines(row.authorization_details.as_deref()),
                request: row.id,
                client: row.client_id,
            },
            Err(AuthorizeError::Page(message)) => AuthorizeOutcome::ErrorPage(message),
            Err(AuthorizeError::Redirect { location }) => AuthorizeOutcome::Redirect(location),
        }
    }

    /// The login page's submission: the redirect location with the code, or what to show.
    ///
    /// # Errors
    /// `invalid_grant` (also for an expired page), `code_reused`, `too_many_attempts`.
    pub async fn authorize_login(
        &self,
        form: &AuthorizeForm,
        source: Option<String>,
        request_id: Option<String>,
    ) -> Result<String, Error> {
        let proof = Proof::Password {
            password: &form.password,
            otp: form.otp.as_deref().filter(|o| !o.is_empty()),
        };
        let attempt = Attempt {
            username: &form.username,
            proof,
            source: source.as_deref(),
        };
        self.authorize(&form.request, attempt, request_id).await
    }

    /// Starts the passkey option of the login page for a pending request.
    ///
    /// # Errors
    /// `invalid_grant` for an expired request or an account without a passkey.
    pub async fn authorize_passkey_start(
        &self,
        request: &str,
        username: &str,
    ) -> Result<Ceremony, Error> {
        if self
            .identity
            .pending_request(request, self.now())
            .await?
            .is_none()
        {
            return Err(Error::new(
                ErrorCode::InvalidGrant,
                "this login page has expired; start again",
            ));
        }
        self.passkey_login_start(username).await
    }

    /// Finishes the passkey option of the login page; returns the redirect location.
    ///
    /// # Errors
    /// `invalid_grant`, `code_reused`, `too_many_attempts`, `invalid_request`.
    pub async fn authorize_passkey_finish(
        &self,
        request: &str,
        login: PasskeyLogin,
        source: Option<String>,
        request_id: Option<String>,
    ) -> Result<String, Error> {
        let credential = from_json(login.credential.clone())?;
        self.authorize(
            request,
            login.attempt(&credential, source.as_deref())?,
            request_id,
        )
        .await
    }

    /// The client of a pending authorization request, if it is still pending.
    ///
    /// # Errors
    /// Database failures.
    pub async fn pending_client(
        &self,
        request: &str,
    ) -> Result<Option<(String, Vec<String>)>, Error> {
        Ok(self
            .identity
            .pending_request(request, self.now())
            .await?
            .map(|r| {
                let lines = approval_lines(r.authorization_details.as_deref());
                (r.client_id, lines)
            }))
    }

    /// Revokes the caller's token.
    ///
    /// # Errors
    /// Database failures.
    pub async fn logout(&self, principal: &Principal) -> Result<(), Error> {
        Ok(self.identity.logout(principal).await?)
    }

    /// A fresh token for the caller's session (the web pages' "stay logged in"): the same
    /// factors and login time, never a higher level, never past the login's longest duration
    /// ([`crate::identity::MAX_LOGIN_SECS`]); the caller's token is revoked.
    ///
    /// # Errors
    /// `invalid_token` once the login is too old to extend (log in again), or for a login made
    /// at another identity provider.
    pub async fn extend_session(&self, principal: &Principal) -> Result<Issued, Error> {
        use crate::identity::token::TokenError;
        let extended = self.identity.extend_session(principal, self.now()).await;
        extended.map_err(|e| match e {
            crate::identity::Error::Token(TokenError::Expired) => Error::new(
                ErrorCode::InvalidToken,
                "this login has lasted as long as a login may; log in again",
            ),
            crate::identity::Error::Token(TokenError::Issuer) => Error::new(
                ErrorCode::InvalidToken,
                "a login made at another identity provider is extended there; log in again",
            ),
            other => other.into(),
        })
    }

    /// The IdP's JWKS.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn jwks(&self) -> Result<serde_json::Value, Error> {
        Ok(self.identity.jwks().await?)
    }

    /// The issuer of this service's access tokens.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.identity.settings().issuer.clone()
    }

    /// A login at the token endpoint by an anonymous client.
    async fn grant(
        &self,
        attempt: Attempt<'_>,
        request_id: Option<String>,
    ) -> Result<Issued, Error> {
        let ctx = Context::anonymous(request_id);
        Ok(self.identity.grant(attempt, &ctx, self.now()).await?)
    }

    /// A login on the login page of a pending authorization request; the redirect location.
    async fn authorize(
        &self,
        request: &str,
        attempt: Attempt<'_>,
        request_id: Option<String>,
    ) -> Result<String, Error> {
        let ctx = Context::anonymous(request_id);
        Ok(self
            .identity
            .authorize(request, attempt, &ctx, self.now())
            .await?)
    }

    pub(super) fn now(&self) -> i64 {
        unix_now(&self.clock)
    }
}
