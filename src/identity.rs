//! The embedded identity provider: persons, login factors, levels of assurance and access
//! tokens (DESIGN.md §3). eID only: logging in never unlocks a signing key.
//!
//! Persons are random UUIDs; no national identity number is stored. Passwords are argon2id;
//! TOTP codes are accepted once (the step is consumed atomically in the store). Failed logins
//! are counted per username (known or not, so a lockout does not reveal whether an account
//! exists) and per source address; after `max_failures` the key is locked with exponential
//! back-off. Access tokens are ES256 JWTs signed by the IdP key in the HSM.
//!
//! May use `store`, `hsm`, `audit` and `clock`.

pub mod client_auth;
pub mod dpop;
pub mod external;
pub mod factors;
mod integrity;
pub mod loa;
mod login;
pub mod machine;
pub mod oauth;
pub mod par;
pub mod passkey;
mod session;
pub mod token;
pub mod totp;

use std::collections::BTreeSet;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::audit::{self, Audit, Context, Event};
use crate::hsm::{self, Digest, Hsm, ServiceKey, SignAlgorithm};
use crate::store::{self, PersonRow, Store};
use crate::types::PersonId;
use dpop::{Presented, Scheme};
pub(crate) use integrity::{credential_record, membership_record};
use loa::{Factor, Loa, LoaPolicy};
pub use login::{Attempt, Proof};
pub use session::MAX_LOGIN_SECS;
use token::{Claims, Confirmation, TokenError, Verifier};

/// Errors of the identity provider.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unknown user, wrong password or wrong code: one error for all, on purpose.
    #[error("invalid username, password or code")]
    InvalidCredentials,
    /// Too many failures: locked until the given time.
    #[error("too many failed attempts; try again later")]
    Locked {
        /// Unix seconds.
        until: i64,
    },
    /// A TOTP code that was already used.
    #[error("this one-time code was already used")]
    CodeReused,
    /// The factors used reach no level of assurance.
    #[error("these factors do not reach any level of assurance")]
    NoLevel,
    /// The username is taken.
    #[error("the username is taken")]
    UsernameTaken,
    /// Input that cannot be an account (empty or over-long names, bad characters).
    #[error("invalid account data: {0}")]
    InvalidAccount(String),
    /// No such account.
    #[error("no such account")]
    UnknownAccount,
    /// The session's level of assurance is below what the action needs.
    #[error("this needs a login at level {required:?} or higher")]
    InsufficientLoa {
        /// The level needed.
        required: Loa,
    },
    /// A token refused.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The HSM failed.
    #[error(transparent)]
    Hsm(#[from] hsm::Error),
    /// The audit record could not be written, so the action did not happen.
    #[error(transparent)]
    Audit(#[from] audit::Error),
    /// A person of a trusted external issuer logs in there: no local factors.
    #[error(
        "this account logs in with its external identity provider; local factors cannot be added"
    )]
    LocalFactors,
    /// Internal failures (hashing, encoding).
    #[error("identity internal error: {0}")]
    Internal(String),
    /// A DPoP proof refused.
    #[error(transparent)]
    Dpop(#[from] dpop::ProofError),
    /// A client's authentication refused.
    #[error(transparent)]
    Client(#[from] client_auth::ClientError),
    /// A request whose parameters do not fit (a pushed authorization request, a client's
    /// registration).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A client id that is taken.
    #[error("a client with this id exists already")]
    ClientExists,
}

/// Password hashes computed at once (each takes the argon2 memory cost).
const ARGON2_AT_ONCE: usize = 4;

/// Settings of the identity provider.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The public URL: the WebAuthn origin, whose host is the relying-party id.
    pub public_url: String,
    /// `iss` of issued tokens.
    pub issuer: String,
    /// `aud` of issued tokens (the signing service).
    pub audience: String,
    /// Access token lifetime.
    pub token_lifetime: Duration,
    /// Argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// Failures before a lock.
    pub max_failures: u32,
    /// First lock duration; doubles with each further failure, at most a day.
    pub lockout: Duration,
    /// Registered OAuth clients (authorization-code flow with PKCE).
    pub clients: Vec<oauth::Client>,
    /// How long a passkey bound with an enrolment code (rather than from a High session)
    /// counts for Substantial only, so that the person can notice and react.
    pub new_factor_delay: Duration,
    /// How long an enrolment code stays valid.
    pub enrolment_code_lifetime: Duration,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The JWT.
    pub access_token: String,
    /// Seconds until expiry.
    pub expires_in: u64,
    /// The level reached.
    pub loa: Loa,
    /// Whether the token is bound to a DPoP key (token type `DPoP`, else `Bearer`).
    pub bound: bool,
    /// Its CSC scope: `service` or `credential`.
    pub scope: String,
}

/// What a token carries beside its subject, audience and level: when the person authenticated,
/// what they approved (RFC 9396), and the DPoP key it is bound to.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenGrant {
    /// When the person authenticated, Unix seconds.
    pub auth_time: i64,
    /// The approved `authorization_details`, which make the token a `credential` one.
    pub details: Option<serde_json::Value>,
    /// The RFC 7638 thumbprint of the DPoP key the token is bound to.
    pub jkt: Option<String>,
    /// The registered OAuth client of the authorization-code flow the token is for.
    pub client_id: Option<String>,
    /// The latest the token may expire, Unix seconds (a session extended within its login's
    /// longest duration); the token lifetime alone when `None`.
    pub until: Option<i64>,
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The person.
    pub person: PersonId,
    /// Level of assurance of the login.
    pub loa: Loa,
    /// Factors used.
    pub amr: Vec<String>,
    /// Token id.
    pub jti: String,
    /// Token expiry.
    pub exp: i64,
    /// When the person authenticated, Unix seconds.
    pub auth_time: i64,
    /// What the person approved with this login (RFC 9396 `authorization_details`), if the
    /// token carries it.
    pub authorization_details: Option<serde_json::Value>,
    /// Whether a trusted external issuer made the token.
    pub external: bool,
    /// The registered OAuth client this service issued the token to (its `client_id` claim),
    /// when the token came from the authorization-code flow; `None` for tokens a person got
    /// directly and for tokens of external issuers (whose client this service does not know).
    pub client_id: Option<String>,
}

impl Principal {
    /// The login factors the token names; `amr` values this service does not use are left out.
    #[must_use]
    pub fn factors(&self) -> BTreeSet<Factor> {
        self.amr
            .iter()
            .filter_map(|a| Factor::from_amr(a.as_str()))
            .collect()
    }
}

/// What a new account is made of.
#[derive(Debug, Clone, Copy)]
pub struct AccountRequest<'a> {
    /// Login name: 1 to 64 of `[A-Za-z0-9._@-]`.
    pub username: &'a str,
    /// Given name (for certificates).
    pub given_name: &'a str,
    /// Family name (for certificates).
    pub family_name: &'a str,
    /// Password: 8 to 1024 characters.
    pub password: &'a str,
    /// Whether to enrol a TOTP secret.
    pub with_totp: bool,
}

/// A new account and its TOTP secret, if one was enrolled.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The person's id.
    pub id: PersonId,
    /// Base32 TOTP secret (shown once).
    pub totp_secret: Option<String>,
    /// The enrolment code for the first passkey (shown once, handed over out of band).
    pub enrolment_code: String,
}

/// The identity provider: cheap to clone.
#[derive(Debug, Clone)]
pub struct Identity {
    store: Store,
    hsm: Hsm,
    audit: Audit,
    settings: std::sync::Arc<Settings>,
    policy: std::sync::Arc<LoaPolicy>,
    /// A hash of a random password, verified when the username is unknown so that unknown
    /// users take as long as wrong passwords.
    dummy_hash: std::sync::Arc<String>,
    /// The verifier (the IdP public key read once from the HSM).
    verifier: std::sync::Arc<tokio::sync::OnceCell<Verifier>>,
    /// Tokens already verified.
    verified: std::sync::Arc<token::VerifiedCache>,
    /// Trusted external issuers.
    externals: std::sync::Arc<Vec<external::ExternalIssuer>>,
    /// The WebAuthn relying party, when the public URL has a domain name.
    webauthn: Option<std::sync::Arc<webauthn_rs::Webauthn>>,
    /// Bounds the argon2 computations running at once (memory).
    argon2_permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Identity {
    /// Builds the identity provider.
    ///
    /// # Errors
    /// Bad argon2 parameters.
    pub fn new(
        store: Store,
        hsm: Hsm,
        audit: Audit,
        settings: Settings,
        policy: LoaPolicy,
        externals: Vec<external::ExternalIssuer>,
    ) -> Result<Self, Error> {
        let mut identity = Self {
            store,
            hsm,
            audit,
            settings: std::sync::Arc::new(settings),
            policy: std::sync::Arc::new(policy),
            dummy_hash: std::sync::Arc::new(String::new()),
            verifier: std::sync::Arc::new(tokio::sync::OnceCell::new()),
            verified: std::sync::Arc::new(token::VerifiedCache::default()),
            externals: std::sync::Arc::new(externals),
            webauthn: None,
            argon2_permits: std::sync::Arc::new(tokio::sync::Semaphore::new(ARGON2_AT_ONCE)),
        };
        identity.webauthn =
            passkey::relying_party(&identity.settings.public_url).map(std::sync::Arc::new);
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| Error::Internal(e.to_string()))?;
        identity.dummy_hash = std::sync::Arc::new(identity.hash_password(&hex::encode(random))?);
        Ok(identity)
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn argon2(&self) -> Result<Argon2<'static>, Error> {
        let s = &self.settings;
        let params = Params::new(
            s.argon2_memory_kib,
            s.argon2_iterations,
            s.argon2_parallelism,
            None,
        )
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes a password with argon2id and a random salt (PHC string).
    ///
    /// # Errors
    /// Hashing failures.
    pub fn hash_password(&self, password: &str) -> Result<String, Error> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| Error::Internal(e.to_string()))?;
        self.argon2()?
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(e.to_string()))
    }

    fn password_matches(&self, password: &str, hash: &str) -> bool {
        self.argon2()
            .is_ok_and(|a| a.verify_password(password.as_bytes(), hash).is_ok())
    }

    /// Creates an account with a password and, optionally, a TOTP secret.
    ///
    /// # Errors
    /// [`Error::UsernameTaken`], [`Error::InvalidAccount`], store and audit failures.
    pub async fn create_account(
        &self,
        account: &AccountRequest<'_>,
        ctx: &Context,
        now: i64,
    ) -> Result<NewAccount, Error> {
        let AccountRequest {
            username,
            given_name,
            family_name,
            password,
            with_totp,
        } = *account;
        let valid_name =
            |s: &str| !s.trim().is_empty() && s.len() <= 128 && !s.chars().any(char::is_control);
        if !valid_name(given_name) || !valid_name(family_name) {
            return Err(Error::InvalidAccount(
                "given and family names must be 1 to 128 characters".into(),
            ));
        }
        if username.is_empty()
            || username.len() > 64
            || !username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
        {
            return Err(Error::InvalidAccount(
                "usernames are 1 to 64 of [A-Za-z0-9._@-]".into(),
            ));
        }
        if password.chars().count() < 8 || password.len() > 1024 {
            return Err(Error::InvalidAccount(
                "passwords are 8 to 1024 characters".into(),
            ));
        }
        let id = PersonId::random();
        let password = Zeroizing::new(password.to_owned());
        let hash = self
            .argon2_blocking(move |this| this.hash_password(&password))
            .await??;
        let totp_secret = if with_totp {
            Some(totp::new_secret().map_err(|e| Error::Internal(e.to_string()))?)
        } else {
            None
        };
        let password_mac = Some(
            self.hsm
                .tag_record(&hsm::Record::Password {
                    person: &id.to_string(),
                    hash: &hash,
                })
                .await?,
        );
        let row = PersonRow {
            id: id.to_string(),
            username: username.to_owned(),
            given_name: given_name.to_owned(),
            family_name: family_name.to_owned(),
            status: "active".into(),
            password_hash: hash,
            totp_secret: match &totp_secret {
                Some(secret) => Some(self.seal_secret(&id.to_string(), secret).await?),
                None => None,
            },
            totp_last_step: None,
            created_at: now,
            password_mac,
        };
        match self.store.insert_person(&row).await {
            Err(store::Error::Conflict) => return Err(Error::UsernameTaken),
            other => other?,
        }
        let subject = Some(format!("person:{id}"));
        self.audit
            .record(
                &ctx.entry(
                    subject.clone(),
                    Event::FactorEnrolled {
                        factor: "password".into(),
                    },
                ),
                now * 1000,
            )
            .await?;
        if with_totp {
            self.audit
                .record(
                    &ctx.entry(
                        subject,
                        Event::FactorEnrolled {
                            factor: "totp".into(),
                        },
                    ),
                    now * 1000,
                )
                .await?;
        }
        let enrolment_code = self.put_enrolment_code(&id.to_string(), now).await?;
        Ok(NewAccount {
            id,
            totp_secret,
            enrolment_code,
        })
    }

    /// A new enrolment code for an account (replacing any earlier one), for the operator to
    /// hand over out of band: with it, the person binds a passkey without a High session.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`]; store and audit failures.
    pub async fn new_enrolment_code(
        &self,
        username: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<String, Error> {
        let person = self
            .store
            .person_by_username(username)
            .await?
            .ok_or(Error::UnknownAccount)?;
        let code = self.put_enrolment_code(&person.id, now).await?;
        let action = format!("enrolment code issued for {username}");
        self.audit
            .record(
                &ctx.entry(
                    Some(format!("person:{}", person.id)),
                    Event::AdminAction { action },
                ),
                now * 1000,
            )
            .await?;
        Ok(code)
    }

    /// Makes and keeps (by hash) a new enrolment code: 128 random bits, base32 in groups.
    async fn put_enrolment_code(&self, person: &str, now: i64) -> Result<String, Error> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| Error::Internal(e.to_string()))?;
        let plain = data_encoding::BASE32_NOPAD.encode(&random);
        let code = plain
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        let lifetime =
            i64::try_from(self.settings.enrolment_code_lifetime.as_secs()).unwrap_or(i64::MAX);
        let hash = passkey::enrolment_code_hash(&code);
        let expires_at = now.saturating_add(lifetime);
        let mac = self
            .hsm
            .tag_record(&hsm::Record::EnrolmentCode {
                code_hash: &hash,
                person,
                expires_at,
            })
            .await?;
        self.store
            .put_enrolment_code(&hash, person, now, expires_at, &mac)
            .await?;
        Ok(code)
    }

    /// Every account.
    ///
    /// # Errors
    /// Store failures.
    pub async fn accounts(&self) -> Result<Vec<PersonRow>, Error> {
        Ok(self.store.persons().await?)
    }

    /// Enables or disables an account.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`]; store and audit failures.
    pub async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        let status = if enabled { "active" } else { "disabled" };
        if !self.store.set_person_status(username, status).await? {
            return Err(Error::UnknownAccount);
        }
        let action = format!("account {username} {status}");
        self.audit
            .record(&ctx.entry(None, Event::AdminAction { action }), now * 1000)
            .await?;
        Ok(())
    }

    /// Runs argon2 on a blocking thread, at most [`ARGON2_AT_ONCE`] at a time (each takes its
    /// memory cost in RAM).
    async fn argon2_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .argon2_permits
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || work(&this))
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// Issues an access token for a person at a level.
    async fn issue(
        &self,
        person: PersonId,
        loa: Loa,
        factors: &BTreeSet<Factor>,
        auth_time: i64,
        now: i64,
    ) -> Result<Issued, Error> {
        let audience = self.settings.audience.clone();
        let grant = TokenGrant {
            auth_time,
            ..TokenGrant::default()
        };
        self.issue_token(person.to_string(), audience, loa, factors, grant, now)
            .await
    }

    /// Issues an access token with a given subject and audience, carrying `grant`.
    async fn issue_token(
        &self,
        sub: String,
        aud: String,
        loa: Loa,
        factors: &BTreeSet<Factor>,
        grant: TokenGrant,
        now: i64,
    ) -> Result<Issued, Error> {
        let lifetime = i64::try_from(self.settings.token_lifetime.as_secs()).unwrap_or(600);
        let TokenGrant {
            auth_time,
            details,
            jkt,
            client_id,
            until,
        } = grant;
        // CSC scopes: an approval of documents is a `credential` token, a login a `service` one.
        let scope = if details.is_some() {
            "credential"
        } else {
            "service"
        };
        let exp = now.saturating_add(lifetime).min(until.unwrap_or(i64::MAX));
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub,
            aud,
            exp,
            iat: now,
            nbf: Some(now),
            auth_time,
            acr: Some(loa.uri().to_owned()),
            amr: factors.iter().map(|f| f.amr().to_owned()).collect(),
            jti: uuid::Uuid::new_v4().to_string(),
            authorization_details: details,
            cnf: jkt.map(|jkt| Confirmation { jkt }),
            scope: Some(scope.to_owned()),
            client_id,
        };
        self.sign_token(&claims, loa).await
    }

    /// Signs claims as an access token with the IdP key in the HSM.
    pub(crate) async fn sign_token(&self, claims: &Claims, loa: Loa) -> Result<Issued, Error> {
        // The key id comes from the verifier, read from the HSM once per process.
        let verifier = self.verifier().await?;
        let kid = verifier
            .keys
            .first()
            .map(|(kid, _)| kid.as_str())
            .ok_or(TokenError::UnknownKey)?;
        let (input, digest) =
            token::signing_input(kid, claims).map_err(|e| Error::Internal(e.to_string()))?;
        let raw = self
            .hsm
            .sign(
                ServiceKey::Idp,
                SignAlgorithm::Ecdsa,
                Digest::sha256(digest),
            )
            .await?;
        Ok(Issued {
            access_token: token::assemble(&input, &raw),
            expires_in: claims.exp.saturating_sub(claims.iat).unsigned_abs(),
            loa,
            bound: claims.cnf.is_some(),
            scope: claims.scope.clone().unwrap_or_default(),
        })
    }

    /// The verifier for this issuer's tokens.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn verifier(&self) -> Result<Verifier, Error> {
        self.verifier
            .get_or_try_init(|| self.load_verifier())
            .await
            .cloned()
    }

    async fn load_verifier(&self) -> Result<Verifier, Error> {
        let spki = self.hsm.public_key(ServiceKey::Idp).await?;
        let key = token::VerifyKey::from_spki(&spki)?;
        Ok(Verifier {
            issuer: self.settings.issuer.clone(),
            audience: self.settings.audience.clone(),
            keys: vec![(token::key_id(&spki), key)],
        })
    }

    /// Verifies an access token presented as a bearer token without a proof (a session
    /// cookie): as [`Identity::authenticate_request`], so a DPoP-bound token is refused.
    ///
    /// # Errors
    /// As [`Identity::authenticate_request`].
    pub async fn authenticate(&self, token: &str, now: i64) -> Result<Principal, Error> {
        self.authenticate_request(&Presented::bearer(token), now)
            .await
    }

    /// Verifies an access token as a request presents it: signature and claims, a person's
    /// (not a system client's), its DPoP binding (a bound token only with the `DPoP` scheme and
    /// a fresh proof of its key for this request, [`dpop`]), not revoked, person still active.
    ///
    /// # Errors
    /// [`Error::Token`], [`Error::Dpop`]; store and HSM failures.
    pub async fn authenticate_request(
        &self,
        presented: &Presented<'_>,
        now: i64,
    ) -> Result<Principal, Error> {
        let token = presented.token;
        let issuer = token::unverified_issuer(token).ok_or(TokenError::Malformed)?;
        if issuer != self.settings.issuer {
            // External issuers' tokens are bearer tokens here.
            if presented.scheme == Scheme::Dpop {
                return Err(TokenError::NotBound.into());
            }
            return self.authenticate_external(&issuer, token, now).await;
        }
        let verifier = self.verifier().await?;
        let (claims, loa) = self.verified.verify(&verifier, token, now)?;
        // A system client's token (client credentials: `sub` is the client itself) names no
        // person; a person's token may name the OAuth client it was issued to.
        if claims.client_id.as_deref() == Some(claims.sub.as_str()) {
            return Err(TokenError::ClientToken.into());
        }
        let jkt = claims.cnf.as_ref().map(|c| c.jkt.as_str());
        self.check_binding(jkt, presented, now).await?;
        if !self.store.token_usable(&claims.jti, &claims.sub).await? {
            return Err(TokenError::Revoked.into());
        }
        let person = PersonId::parse(&claims.sub).map_err(|_| TokenError::Malformed)?;
        Ok(Principal {
            person,
            loa,
            amr: claims.amr,
            jti: claims.jti,
            exp: claims.exp,
            auth_time: claims.auth_time,
            authorization_details: claims.authorization_details,
            external: false,
            client_id: claims.client_id,
        })
    }

    /// Revokes the caller's token (logout).
    ///
    /// # Errors
    /// Store failures.
    pub async fn logout(&self, principal: &Principal) -> Result<(), Error> {
        Ok(self
            .store
            .revoke_token(&principal.jti, principal.exp)
            .await?)
    }

    /// The JWKS document.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn jwks(&self) -> Result<serde_json::Value, Error> {
        let spki = self.hsm.public_key(ServiceKey::Idp).await?;
        Ok(serde_json::json!({ "keys": [token::jwk(&spki)] }))
    }
}
