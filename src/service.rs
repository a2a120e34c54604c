//! Use cases. Owns transaction boundaries, reads the clock once per request, and turns the
//! domain's failures into [`Error`]s with stable codes.
//!
//! May use the domain modules, `store`, `hsm`, `clock` and `config`.

mod account;
mod documents;
pub mod error;
mod orgs;
mod pdf;
pub mod scal;
mod signing;
mod validation;

use crate::audit::{Actor, Audit, Context, Event};
use crate::clock::SharedClock;
use crate::hsm::Hsm;
pub use crate::identity::loa::Loa;
use crate::identity::oauth::AuthorizeError;
pub use crate::identity::oauth::AuthorizeQuery;
use crate::identity::Identity;
pub use crate::identity::{Issued, Principal};
use crate::keys::Keys;
use crate::pki::{Ca, Pki};
use crate::sam::Sam;
use crate::store::AuditFilter;
use crate::store::Store;

pub use crate::formats::pades::{Options as PdfOptions, Visible as PdfVisible};
pub use crate::keys::policy::Scal;
pub use crate::keys::{Credential, Kind as CredentialKind, Status as CredentialStatus};
pub use crate::orgs::{Cvr, Grants, Right};
pub use crate::sam::Sad;
pub use crate::store::{MemberRow, OrganisationRow};
pub use crate::validate::report::rfc3339;
pub use account::{is_support_reference, DocumentInfo, Factors, TotpOffer, PREVIEW_PAGES};
pub use documents::{level_name, parse_level, Document, Format, Level, SignDoc, Uploaded};
pub use error::{Error, ErrorCode};
pub use signing::{Activation, CredentialInfo, Hashes, SignHash, StateChange};
pub use validation::ValidationSettings;

/// The service: everything a request needs, cheap to clone.
#[derive(Debug, Clone)]
pub struct Service {
    store: Store,
    hsm: Hsm,
    pki: Pki,
    audit: Audit,
    identity: Identity,
    keys: Keys,
    sam: Sam,
    clock: SharedClock,
    document_lifetime: i64,
    orgs: crate::orgs::Orgs,
    validation: std::sync::Arc<validation::ValidationSettings>,
    /// Usernames of support operators (the support view).
    operators: std::sync::Arc<Vec<String>>,
    /// Turns for CPU-heavy work on untrusted input (parsing, preparing and validating
    /// documents): one per core, so such work never starves the async runtime or itself.
    cpu: std::sync::Arc<tokio::sync::Semaphore>,
}

/// How long a request waits for a turn at CPU-heavy work before it is answered 503.
const CPU_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long an uploaded document is kept by default, seconds.
pub const DEFAULT_DOCUMENT_LIFETIME: u32 = 900;

/// The parts a [`Service`] is made of.
#[derive(Debug)]
pub struct Parts {
    /// The database.
    pub store: Store,
    /// The HSM.
    pub hsm: Hsm,
    /// The PKI.
    pub pki: Pki,
    /// The audit log.
    pub audit: Audit,
    /// The identity provider.
    pub identity: Identity,
    /// Credentials.
    pub keys: Keys,
    /// The signature activation module.
    pub sam: Sam,
    /// Organisations.
    pub orgs: crate::orgs::Orgs,
    /// The clock.
    pub clock: SharedClock,
}

/// Readiness of each dependency, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `None` when the database answers, else why not.
    pub database: Option<String>,
    /// `None` when the HSM answers and the master key is there, else why not.
    pub hsm: Option<String>,
}

impl Readiness {
    /// Whether every dependency is ready.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.database.is_none() && self.hsm.is_none()
    }
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
    /// The factor that comes with the passkey: the password, else a TOTP code (empty fields
    /// count as absent).
    fn second_factor(&self) -> Result<crate::identity::passkey::SecondFactor<'_>, Error> {
        use crate::identity::passkey::SecondFactor;
        match (
            self.password.as_deref().filter(|p| !p.is_empty()),
            self.otp.as_deref().filter(|o| !o.is_empty()),
        ) {
            (Some(p), _) => Ok(SecondFactor::Password(p)),
            (None, Some(code)) => Ok(SecondFactor::Totp(code)),
            (None, None) => Err(Error::new(
                ErrorCode::InvalidRequest,
                "a password or a one-time code must come with the passkey",
            )),
        }
    }
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

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::internal(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| {
        Error::new(
            ErrorCode::InvalidRequest,
            format!("malformed WebAuthn credential: {e}"),
        )
    })
}

fn audit_error(e: crate::audit::Error) -> Error {
    match e {
        crate::audit::Error::Store(e) => e.into(),
        crate::audit::Error::Hsm(e) => e.into(),
        other => Error::internal(other.to_string()),
    }
}

/// HSM counters for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HsmStats {
    /// Operations run.
    pub operations: u64,
    /// Operations that failed.
    pub failures: u64,
    /// Pool rebuilds after lost sessions.
    pub rebuilds: u64,
    /// User keys unwrapped.
    pub unwraps: u64,
    /// Idle sessions.
    pub idle_sessions: u64,
}

impl Service {
    /// Builds the service from its parts.
    #[must_use]
    pub fn new(parts: Parts) -> Self {
        let Parts {
            store,
            hsm,
            pki,
            audit,
            identity,
            keys,
            sam,
            orgs,
            clock,
        } = parts;
        Self {
            store,
            hsm,
            pki,
            audit,
            identity,
            keys,
            sam,
            clock,
            document_lifetime: i64::from(DEFAULT_DOCUMENT_LIFETIME),
            orgs,
            validation: std::sync::Arc::new(validation::ValidationSettings::default()),
            operators: std::sync::Arc::new(Vec::new()),
            cpu: std::sync::Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            )),
        }
    }

    /// Runs CPU-heavy work on a blocking thread when a turn is free (one per core; waiting
    /// is bounded by [`CPU_WAIT`], then `temporarily_unavailable`). The turn is held until the
    /// work ends, also when the request gave up on it, so that abandoned work still counts.
    pub(crate) async fn cpu<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit =
            tokio::time::timeout(CPU_WAIT, std::sync::Arc::clone(&self.cpu).acquire_owned())
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorCode::TemporarilyUnavailable,
                        "the service is busy with other documents; try again shortly",
                    )
                })?
                .map_err(|e| Error::internal(e.to_string()))?;
        // The request's span follows the work onto the blocking thread, so its lines carry the
        // support reference too.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _turn = permit;
            let _span = span.enter();
            work()
        })
        .await
        .map_err(|e| Error::internal(format!("worker: {e}")))
    }

    /// Names the support operators (usernames): they may use the support view.
    #[must_use]
    pub fn with_operators(mut self, usernames: Vec<String>) -> Self {
        self.operators = std::sync::Arc::new(usernames);
        self
    }

    /// Validates with these settings (trust anchors, limits).
    #[must_use]
    pub fn with_validation(mut self, settings: ValidationSettings) -> Self {
        self.validation = std::sync::Arc::new(settings);
        self
    }

    /// Keeps uploaded documents (and their signed results) `secs` seconds.
    #[must_use]
    pub fn with_document_lifetime(mut self, secs: u32) -> Self {
        self.document_lifetime = i64::from(secs.max(1));
        self
    }

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
        let ctx = Context {
            actor: Actor::Anonymous,
            request_id,
        };
        let now = self.now();
        Ok(self
            .identity
            .password_grant(username, password, otp, source.as_deref(), &ctx, now)
            .await?)
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
    ) -> Result<(String, serde_json::Value), Error> {
        let (state, options) = self
            .identity
            .passkey_register_start(principal, enrolment_code, self.now())
            .await?;
        Ok((state, to_json(&options)?))
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
        let ctx = Context {
            actor: Actor::Person(principal.person),
            request_id,
        };
        Ok(self
            .identity
            .passkey_register_finish(principal, state, &credential, &ctx, self.now())
            .await?)
    }

    /// Starts a passkey login; returns the state id and the request options.
    ///
    /// # Errors
    /// `invalid_grant` when the account has no passkey.
    pub async fn passkey_login_start(
        &self,
        username: &str,
    ) -> Result<(String, serde_json::Value), Error> {
        let (state, options) = self
            .identity
            .passkey_login_start(username, self.now())
            .await?;
        Ok((state, to_json(&options)?))
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
        let second = login.second_factor()?;
        let ctx = Context {
            actor: Actor::Anonymous,
            request_id,
        };
        let now = self.now();
        Ok(self
            .identity
            .passkey_login_finish(
                &login.username,
                &login.state,
                &credential,
                second,
                source.as_deref(),
                &ctx,
                now,
            )
            .await?)
    }

    /// Starts a passkey step-up of the caller's session.
    ///
    /// # Errors
    /// `invalid_grant` when the person has no passkey.
    pub async fn passkey_stepup_start(
        &self,
        principal: &Principal,
    ) -> Result<(String, serde_json::Value), Error> {
        let (state, options) = self
            .identity
            .passkey_stepup_start(principal, self.now())
            .await?;
        Ok((state, to_json(&options)?))
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
        let ctx = Context {
            actor: Actor::Person(principal.person),
            request_id,
        };
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
        let ctx = Context {
            actor: Actor::Person(principal.person),
            request_id,
        };
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
        let ctx = Context {
            actor: Actor::Anonymous,
            request_id,
        };
        let otp = form.otp.as_deref().filter(|o| !o.is_empty());
        let now = self.now();
        Ok(self
            .identity
            .authorize_login(
                &form.request,
                &form.username,
                &form.password,
                otp,
                source.as_deref(),
                &ctx,
                now,
            )
            .await?)
    }

    /// Starts the passkey option of the login page for a pending request.
    ///
    /// # Errors
    /// `invalid_grant` for an expired request or an account without a passkey.
    pub async fn authorize_passkey_start(
        &self,
        request: &str,
        username: &str,
    ) -> Result<(String, serde_json::Value), Error> {
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
        let second = login.second_factor()?;
        let ctx = Context {
            actor: Actor::Anonymous,
            request_id,
        };
        let now = self.now();
        Ok(self
            .identity
            .authorize_passkey(
                request,
                &login.username,
                &login.state,
                &credential,
                second,
                source.as_deref(),
                &ctx,
                now,
            )
            .await?)
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

    /// Redeems an authorization code with its PKCE verifier.
    ///
    /// # Errors
    /// `invalid_grant`.
    pub async fn exchange_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<Issued, Error> {
        Ok(self
            .identity
            .exchange_code(code, client_id, redirect_uri, verifier, self.now())
            .await?)
    }

    /// Revokes the caller's token.
    ///
    /// # Errors
    /// Database failures.
    pub async fn logout(&self, principal: &Principal) -> Result<(), Error> {
        Ok(self.identity.logout(principal).await?)
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

    /// The OpenID provider metadata.
    #[must_use]
    pub fn discovery(&self, public_url: &str) -> serde_json::Value {
        let issuer = &self.identity.settings().issuer;
        let acr: Vec<&str> = crate::identity::loa::Loa::ALL
            .iter()
            .map(|l| l.uri())
            .collect();
        serde_json::json!({
            "issuer": issuer,
            "jwks_uri": format!("{public_url}/idp/jwks"),
            "token_endpoint": format!("{public_url}/idp/token"),
            "authorization_endpoint": format!("{public_url}/idp/authorize"),
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public", "pairwise"],
            "grant_types_supported": ["authorization_code", "password"],
            "token_endpoint_auth_methods_supported": ["none"],
            "acr_values_supported": acr,
            "id_token_signing_alg_values_supported": ["ES256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "acr", "amr", "jti"],
        })
    }

    /// The caller's own audit history (logins, enrolments, signatures), newest first.
    ///
    /// # Errors
    /// Database failures.
    pub async fn my_history(
        &self,
        principal: &Principal,
        limit: i64,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let limit = limit.clamp(1, 1000);
        let about = AuditFilter {
            subject: Some(format!("person:{}", principal.person)),
            limit,
            ..AuditFilter::default()
        };
        let by = AuditFilter {
            actor: Some(Actor::Person(principal.person).key()),
            limit,
            ..AuditFilter::default()
        };
        let mut rows = self.audit.query(&about).await.map_err(audit_error)?;
        rows.extend(self.audit.query(&by).await.map_err(audit_error)?);
        rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
        rows.dedup_by_key(|r| r.seq);
        rows.truncate(usize::try_from(limit).unwrap_or(100));
        rows.iter()
            .map(|r| serde_json::from_slice(&r.record).map_err(|e| Error::internal(e.to_string())))
            .collect()
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Deletes expired working data (see `Store::prune`); run periodically by `qsign serve`.
    ///
    /// # Errors
    /// Store failures.
    pub async fn prune(&self) -> Result<u64, Error> {
        let pruned = self.store.prune(self.now()).await?;
        let total = pruned.iter().map(|(_, n)| n).sum();
        if total > 0 {
            tracing::info!(?pruned, "expired working data pruned");
        }
        Ok(total)
    }

    /// The service's current time, Unix seconds (pages compare dates against it).
    #[must_use]
    pub fn clock_now(&self) -> i64 {
        self.now()
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    /// Records that the service started with a configuration (its redacted fingerprint).
    ///
    /// # Errors
    /// When the record cannot be written: the service must not start unaudited.
    pub async fn started(&self, config_sha256: String) -> Result<(), Error> {
        let event = Event::ServiceStarted {
            config_sha256,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        let entry = Context::system().entry(None, event);
        self.audit
            .record(&entry, self.now_ms())
            .await
            .map_err(audit_error)?;
        Ok(())
    }

    /// Records the stop and signs a checkpoint over the head of the audit log.
    ///
    /// # Errors
    /// Database or HSM failures.
    pub async fn stopping(&self) -> Result<(), Error> {
        let now = self.now_ms();
        let entry = Context::system().entry(None, Event::ServiceStopped);
        self.audit.record(&entry, now).await.map_err(audit_error)?;
        self.audit.checkpoint_head(now).await.map_err(audit_error)?;
        Ok(())
    }

    /// The DER certificate of a CA by name (`root`, `issuing`) for the AIA caIssuers URL.
    ///
    /// # Errors
    /// `not_found` for another name; `not_ready` before `qsign init`.
    pub async fn ca_certificate(&self, name: &str) -> Result<Vec<u8>, Error> {
        let ca = Ca::parse(name).ok_or_else(|| Error::new(ErrorCode::NotFound, "no such CA"))?;
        Ok(self.pki.ca_certificate(ca).await?)
    }

    /// A freshly signed CRL of a CA by name.
    ///
    /// # Errors
    /// `not_found` for another name; HSM and database failures.
    pub async fn crl(&self, name: &str) -> Result<Vec<u8>, Error> {
        let ca = Ca::parse(name).ok_or_else(|| Error::new(ErrorCode::NotFound, "no such CA"))?;
        Ok(self.pki.crl(ca, self.now()).await?)
    }

    /// An OCSP response (DER) to a DER request; protocol errors are in the response itself.
    pub async fn ocsp(&self, request: &[u8]) -> Vec<u8> {
        self.pki.ocsp(request, self.now()).await
    }

    /// A time-stamp response (DER) to a DER request; protocol errors are in the response. A
    /// token is returned only after its audit record is committed.
    pub async fn timestamp(&self, request: &[u8], request_id: Option<String>) -> Vec<u8> {
        let ctx = Context {
            actor: Actor::Anonymous,
            request_id,
        };
        self.pki.timestamp(request, &ctx, self.now()).await
    }

    /// Checks the database and the HSM, concurrently.
    pub async fn readiness(&self) -> Readiness {
        let (db, hsm) = tokio::join!(self.store.ping(), self.hsm.ping());
        Readiness {
            database: db.err().map(|e| e.to_string()),
            hsm: hsm.err().map(|e| e.to_string()),
        }
    }

    /// HSM counters.
    #[must_use]
    pub fn hsm_stats(&self) -> HsmStats {
        let s = self.hsm.stats();
        HsmStats {
            operations: s.operations,
            failures: s.failures,
            rebuilds: s.rebuilds,
            unwraps: s.unwraps,
            idle_sessions: s.idle_sessions,
        }
    }

    /// Closes the database pools (graceful shutdown).
    pub async fn close(&self) {
        self.store.close().await;
    }
}
