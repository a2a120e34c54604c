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

pub mod external;
pub mod factors;
mod integrity;
pub mod loa;
mod login;
pub mod oauth;
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
pub(crate) use integrity::membership_record;
use loa::{Factor, Loa, LoaPolicy};
pub use login::{Attempt, Proof};
pub use session::MAX_LOGIN_SECS;
use token::{Claims, TokenError, Verifier};

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
        self.issue_token(
            person.to_string(),
            audience,
            loa,
            factors,
            (auth_time, None),
            now,
        )
        .await
    }

    /// Issues an access token with a given subject and audience.
    async fn issue_token(
        &self,
        sub: String,
        aud: String,
        loa: Loa,
        factors: &BTreeSet<Factor>,
        (auth_time, details): (i64, Option<serde_json::Value>),
        now: i64,
    ) -> Result<Issued, Error> {
        let login = (auth_time, details, i64::MAX);
        self.issue_token_until(sub, aud, loa, factors, login, now)
            .await
    }

    /// [`Self::issue_token`], expiring at `until` at the latest (a session extended within
    /// its login's longest duration).
    async fn issue_token_until(
        &self,
        sub: String,
        aud: String,
        loa: Loa,
        factors: &BTreeSet<Factor>,
        (auth_time, details, until): (i64, Option<serde_json::Value>, i64),
        now: i64,
    ) -> Result<Issued, Error> {
        let lifetime = i64::try_from(self.settings.token_lifetime.as_secs()).unwrap_or(600);
        let exp = now.saturating_add(lifetime).min(until);
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
        };
        // The key id comes from the verifier, read from the HSM once per process.
        let verifier = self.verifier().await?;
        let kid = verifier
            .keys
            .first()
            .map(|(kid, _)| kid.as_str())
            .ok_or(TokenError::UnknownKey)?;
        let (input, digest) =
            token::signing_input(kid, &claims).map_err(|e| Error::Internal(e.to_string()))?;
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
            expires_in: exp.saturating_sub(now).unsigned_abs(),
            loa,
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

    /// Verifies an access token: signature and claims, not revoked, person still active.
    ///
    /// # Errors
    /// [`Error::Token`]; store and HSM failures.
    pub async fn authenticate(&self, token: &str, now: i64) -> Result<Principal, Error> {
        let issuer = token::unverified_issuer(token).ok_or(TokenError::Malformed)?;
        if issuer != self.settings.issuer {
            return self.authenticate_external(&issuer, token, now).await;
        }
        let verifier = self.verifier().await?;
        let (claims, loa) = self.verified.verify(&verifier, token, now)?;
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
        })
    }

    /// A token of a trusted external issuer; the person is provisioned on first use.
    async fn authenticate_external(
        &self,
        issuer: &str,
        token: &str,
        now: i64,
    ) -> Result<Principal, Error> {
        let trusted = self
            .externals
            .iter()
            .find(|e| e.issuer == issuer)
            .ok_or(TokenError::Issuer)?;
        let claims = trusted.verify(token, now)?;
        if self.store.token_revoked(&claims.jti).await? {
            return Err(TokenError::Revoked.into());
        }
        let (person, mac) = match self.store.external_person(issuer, &claims.sub).await? {
            Some(found) => found,
            None => {
                let id = PersonId::random();
                let row = PersonRow {
                    id: id.to_string(),
                    username: format!("external-{}", id.as_uuid().simple()),
                    given_name: claims.given_name.clone().unwrap_or_default(),
                    family_name: claims.family_name.clone().unwrap_or_default(),
                    status: "active".into(),
                    // No password can match this: external persons log in at their issuer.
                    password_hash: "!".into(),
                    totp_secret: None,
                    totp_last_step: None,
                    created_at: now,
                    password_mac: None,
                };
                let mac = self
                    .hsm
                    .tag_record(&hsm::Record::ExternalSubject {
                        issuer,
                        subject: &claims.sub,
                        person: &row.id,
                    })
                    .await?;
                let provisioned = self
                    .store
                    .provision_external(issuer, &claims.sub, &row, &mac)
                    .await?;
                let action = format!("person provisioned from external issuer {issuer}");
                self.audit
                    .record(
                        &Context::system().entry(
                            Some(format!("person:{}", provisioned.0)),
                            Event::AdminAction { action },
                        ),
                        now * 1000,
                    )
                    .await?;
                provisioned
            }
        };
        // The mapping must be the service's own: a database writer who maps their subject at a
        // trusted issuer to someone else's person gets nothing.
        let intact = self
            .hsm
            .record_intact(
                hsm::Record::ExternalSubject {
                    issuer,
                    subject: &claims.sub,
                    person: &person,
                },
                mac.as_deref(),
            )
            .await?;
        if !intact {
            return Err(TokenError::Revoked.into());
        }
        let row = self.store.person_by_id(&person).await?;
        if row.is_none_or(|p| p.status != "active") {
            return Err(TokenError::Revoked.into());
        }
        let person = PersonId::parse(&person).map_err(|_| TokenError::Malformed)?;
        Ok(Principal {
            person,
            loa: claims.loa,
            amr: vec!["ext".into()],
            jti: claims.jti,
            exp: claims.exp,
            auth_time: claims.auth_time,
            authorization_details: claims.authorization_details,
            external: true,
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
