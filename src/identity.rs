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
pub mod loa;
pub mod oauth;
pub mod passkey;
pub mod token;
pub mod totp;

use std::collections::BTreeSet;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::audit::{self, Actor, Audit, Context, Event};
use crate::hsm::{self, Digest, HashAlgorithm, Hsm, ServiceKey, SignAlgorithm};
use crate::store::{self, PersonRow, Store};
use loa::{Factor, Loa, LoaPolicy};
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

/// Marks a TOTP seed sealed under the HSM data key in the database.
const SEALED_PREFIX: &str = "sealed:";

/// How many times more failures a source address may have than a username before a lock.
const ADDRESS_FACTOR: i64 = 10;

/// The longest lock failed logins cause (seconds): a short back-off, so that a stranger
/// guessing cannot lock a person or a shared address for long.
const MAX_LOCK_SECS: i64 = 900;

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
    pub person: uuid::Uuid,
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
    pub id: uuid::Uuid,
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
        let id = uuid::Uuid::new_v4();
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

    /// The resource-owner password grant (an extension for scripted clients): password, and
    /// optionally a TOTP code. Returns a token at the level the factors reach.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] (the same for unknown users, wrong passwords and wrong
    /// codes), [`Error::Locked`], [`Error::CodeReused`], store, HSM and audit failures.
    pub async fn password_grant(
        &self,
        username: &str,
        password: &str,
        otp: Option<&str>,
        source: Option<&str>,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let (id, factors, loa) = self
            .password_login(username, password, otp, source, ctx, now)
            .await?;
        self.issue(id, loa, &factors, now, now).await
    }

    /// Seals a TOTP seed under the HSM data key, bound to the person: what the database keeps.
    async fn seal_secret(&self, person: &str, secret: &str) -> Result<String, Error> {
        let sealed = self
            .hsm
            .seal(secret.as_bytes().to_vec(), person.as_bytes().to_vec())
            .await?;
        Ok(format!(
            "{SEALED_PREFIX}{}",
            data_encoding::BASE64URL_NOPAD.encode(&sealed)
        ))
    }

    /// Once, when the records key is created (`qsign init` or `serve` on an existing
    /// database): tags the rows written before integrity tags existed, and seals TOTP seeds
    /// still stored in plaintext. Only then: afterwards an untagged row or an unsealed seed is
    /// one written without the HSM, and is refused.
    ///
    /// Answers how many rows were tagged.
    ///
    /// # Errors
    /// Store and HSM failures.
    pub async fn tag_existing(&self) -> Result<usize, Error> {
        use crate::hsm::Record;
        use crate::store::Tagged;
        let (store, hsm) = (&self.store, &self.hsm);
        let rows = store.untagged().await?;
        let count = rows.persons.len()
            + rows.passkeys.len()
            + rows.credentials.len()
            + rows.members.len()
            + rows.externals.len();
        for p in &rows.persons {
            let seed = self.sealed_seed(p).await?;
            let mac = hsm
                .tag_record(&Record::Password {
                    person: &p.id,
                    hash: &p.password_hash,
                })
                .await?;
            store
                .set_tag(
                    Tagged::Person {
                        id: &p.id,
                        totp_secret: seed.as_deref(),
                    },
                    &mac,
                )
                .await?;
        }
        for k in &rows.passkeys {
            let mac = hsm
                .tag_record(&Record::Passkey {
                    person: &k.person_id,
                    credential_id: &k.credential_id,
                    passkey: &k.passkey,
                    high_from: k.high_from,
                    bound_by: &k.bound_by,
                })
                .await?;
            store
                .set_tag(Tagged::Passkey(&k.credential_id), &mac)
                .await?;
        }
        for c in &rows.credentials {
            let mac = hsm
                .tag_record(&Record::Credential {
                    id: &c.id,
                    person: &c.person,
                    policy: &c.policy,
                    kind: &c.kind,
                    cvr: c.cvr.as_deref(),
                    algorithm: &c.algorithm,
                    wrapped: &c.wrapped,
                    status: &c.status,
                })
                .await?;
            store.set_tag(Tagged::Credential(&c.id), &mac).await?;
        }
        for (issuer, subject, person) in &rows.externals {
            let mac = hsm
                .tag_record(&Record::ExternalSubject {
                    issuer,
                    subject,
                    person,
                })
                .await?;
            store
                .set_tag(Tagged::External { issuer, subject }, &mac)
                .await?;
        }
        for m in &rows.members {
            let mac = hsm
                .tag_record(&Record::Membership {
                    cvr: &m.cvr,
                    person: &m.person,
                    admin: m.admin,
                    sign_on_behalf: m.sign_on_behalf,
                    use_seal: m.use_seal,
                })
                .await?;
            store
                .set_tag(
                    Tagged::Member {
                        cvr: &m.cvr,
                        person: &m.person,
                    },
                    &mac,
                )
                .await?;
        }
        Ok(count)
    }

    /// A person's TOTP seed as it is to be stored: sealed (a seed stored in plaintext by an
    /// earlier version is sealed now). Used once, when integrity tags are introduced.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn sealed_seed(&self, person: &PersonRow) -> Result<Option<String>, Error> {
        match person.totp_secret.as_deref() {
            Some(s) if !s.starts_with(SEALED_PREFIX) => {
                Ok(Some(self.seal_secret(&person.id, s).await?))
            }
            other => Ok(other.map(str::to_owned)),
        }
    }

    /// The person's TOTP seed, unsealed; `None` when there is none or it does not open (which
    /// is logged: it means the row was tampered with, moved to another person, or written
    /// unsealed by someone other than qsign).
    async fn open_secret(&self, person: &PersonRow) -> Option<Zeroizing<String>> {
        let stored = person.totp_secret.as_deref()?;
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            tracing::error!(person = %person.id, "TOTP seed is not sealed; refused");
            return None;
        };
        let sealed = data_encoding::BASE64URL_NOPAD
            .decode(encoded.as_bytes())
            .ok()?;
        match self.hsm.unseal(sealed, person.id.as_bytes().to_vec()).await {
            Ok(plain) => String::from_utf8(plain).ok().map(Zeroizing::new),
            Err(e) => {
                tracing::error!(person = %person.id, error = %e, "TOTP seed does not open");
                None
            }
        }
    }

    /// Whether a person's password hash carries its integrity tag.
    async fn password_intact(&self, person: &PersonRow) -> Result<bool, Error> {
        Ok(self
            .hsm
            .record_intact(
                hsm::Record::Password {
                    person: &person.id,
                    hash: &person.password_hash,
                },
                person.password_mac.as_deref(),
            )
            .await?)
    }

    /// The throttle keys of a login: the username, and the source address when known.
    fn throttle_keys(&self, username: &str, source: Option<&str>) -> Vec<String> {
        std::iter::once(format!("user:{username}"))
            .chain(source.map(|s| format!("ip:{s}")))
            .collect()
    }

    /// Counts this attempt against every key before any work is done (so a burst of
    /// concurrent guesses is counted as it arrives, not after the slow password check), and
    /// refuses while a key is locked or once the attempt is over the allowance, locking it
    /// with exponential back-off of at most [`MAX_LOCK_SECS`]: an outsider can delay a person
    /// or an address, never lock it for long. A success clears the count.
    async fn check_throttle(&self, keys: &[String], ctx: &Context, now: i64) -> Result<(), Error> {
        for key in keys {
            let (count, until) = self.store.count_attempt(key).await?;
            if until > now {
                return Err(Error::Locked { until });
            }
            if until != 0 {
                // The lock has ended: one attempt may go through (the first to take it); if it
                // fails too, the next one locks again for twice as long.
                if self.store.end_lock(key, until).await? {
                    continue;
                }
                return Err(Error::Locked { until: now + 1 });
            }
            // An address may carry many people (a company's proxy): it gets ten times the
            // allowance of a username.
            let limit = i64::from(self.settings.max_failures)
                * if key.starts_with("ip:") {
                    ADDRESS_FACTOR
                } else {
                    1
                };
            if count > limit {
                let over = u32::try_from(count - limit - 1).unwrap_or(u32::MAX).min(16);
                let secs = i64::try_from(self.settings.lockout.as_secs()).unwrap_or(i64::MAX);
                let until = now.saturating_add(secs.saturating_mul(1 << over).min(MAX_LOCK_SECS));
                self.store.lock_throttle(key, until).await?;
                let anon = Context {
                    actor: Actor::Anonymous,
                    request_id: ctx.request_id.clone(),
                };
                self.audit
                    .record(
                        &anon.entry(
                            key.strip_prefix("user:").map(|u| format!("username:{u}")),
                            Event::Lockout {
                                until_ms: until * 1000,
                            },
                        ),
                        now * 1000,
                    )
                    .await?;
                return Err(Error::Locked { until });
            }
        }
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

    async fn verify_password_blocking(&self, password: &str, hash: String) -> Result<bool, Error> {
        let password = Zeroizing::new(password.to_owned());
        self.argon2_blocking(move |this| this.password_matches(&password, &hash))
            .await
    }

    /// Checks a password or a TOTP code of a known person; failures count toward the lock.
    async fn check_second_factor(
        &self,
        person: &PersonRow,
        second: passkey::SecondFactor<'_>,
        keys: &[String],
        ctx: &Context,
        now: i64,
    ) -> Result<Factor, Error> {
        let subject = Some(format!("person:{}", person.id));
        match second {
            passkey::SecondFactor::Password(password) => {
                if self
                    .verify_password_blocking(password, person.password_hash.clone())
                    .await?
                    && self.password_intact(person).await?
                {
                    Ok(Factor::Password)
                } else {
                    Err(self
                        .fail(keys, subject, "invalid_credentials", ctx, now)
                        .await)
                }
            }
            passkey::SecondFactor::Totp(code) => {
                let secret = self.open_secret(person).await;
                let step = secret
                    .as_deref()
                    .and_then(|s| totp::matching_step(s, code, now));
                let Some(step) = step else {
                    return Err(self
                        .fail(keys, subject, "invalid_credentials", ctx, now)
                        .await);
                };
                if !self.store.consume_totp_step(&person.id, step).await? {
                    let e = self.fail(keys, subject, "code_reused", ctx, now).await;
                    return Err(if matches!(e, Error::InvalidCredentials) {
                        Error::CodeReused
                    } else {
                        e
                    });
                }
                Ok(Factor::Totp)
            }
        }
    }

    /// A successful login: the level the factors reach, the throttle cleared, the record, the
    /// token.
    async fn succeed(
        &self,
        keys: &[String],
        person: &PersonRow,
        factors: &BTreeSet<Factor>,
        cap: Loa,
        ctx: &Context,
        now: i64,
    ) -> Result<(uuid::Uuid, Loa), Error> {
        let loa = self.policy.level(factors).ok_or(Error::NoLevel)?.min(cap);
        for key in keys {
            self.store.clear_throttle(key).await?;
        }
        let id = uuid::Uuid::parse_str(&person.id).map_err(|e| Error::Internal(e.to_string()))?;
        let ctx = Context {
            actor: Actor::Person(id),
            request_id: ctx.request_id.clone(),
        };
        let event = Event::Login {
            loa: loa.uri().to_owned(),
            factors: factors.iter().map(|f| f.name().to_owned()).collect(),
        };
        self.audit
            .record(
                &ctx.entry(Some(format!("person:{}", person.id)), event),
                now * 1000,
            )
            .await?;
        Ok((id, loa))
    }

    /// Checks a password and, optionally, a TOTP code; on success records the login and
    /// returns the person and the factors used (without issuing a token).
    async fn password_login(
        &self,
        username: &str,
        password: &str,
        otp: Option<&str>,
        source: Option<&str>,
        ctx: &Context,
        now: i64,
    ) -> Result<(uuid::Uuid, BTreeSet<Factor>, Loa), Error> {
        let keys = self.throttle_keys(username, source);
        self.check_throttle(&keys, ctx, now).await?;
        let person = self.store.person_by_username(username).await?;
        let hash = person.as_ref().map_or_else(
            || self.dummy_hash.as_str().to_owned(),
            |p| p.password_hash.clone(),
        );
        let password_ok = self.verify_password_blocking(password, hash).await?;
        // The hash must be this person's, as the service wrote it: one copied from another
        // row (whose password the writer knows) has no valid tag here.
        let intact = match &person {
            Some(p) if password_ok => self.password_intact(p).await?,
            _ => false,
        };
        let person = match person {
            Some(p) if password_ok && intact && p.status == "active" => p,
            other => {
                let subject = other.map(|p| format!("person:{}", p.id));
                return Err(self
                    .fail(&keys, subject, "invalid_credentials", ctx, now)
                    .await);
            }
        };
        let mut factors = BTreeSet::from([Factor::Password]);
        if let Some(code) = otp {
            factors.insert(
                self.check_second_factor(
                    &person,
                    passkey::SecondFactor::Totp(code),
                    &keys,
                    ctx,
                    now,
                )
                .await?,
            );
        }
        // No passkey here: at most Substantial, whatever a policy file says.
        let (id, loa) = self
            .succeed(&keys, &person, &factors, Loa::Substantial, ctx, now)
            .await?;
        Ok((id, factors, loa))
    }

    /// Records a failed attempt (already counted by [`Identity::check_throttle`]); returns the
    /// error to give the caller.
    async fn fail(
        &self,
        _keys: &[String],
        subject: Option<String>,
        reason: &str,
        ctx: &Context,
        now: i64,
    ) -> Error {
        let anon = Context {
            actor: Actor::Anonymous,
            request_id: ctx.request_id.clone(),
        };
        let result = self
            .audit
            .record(
                &anon.entry(
                    subject,
                    Event::LoginFailed {
                        reason: reason.to_owned(),
                    },
                ),
                now * 1000,
            )
            .await;
        match result {
            Err(e) => e.into(),
            Ok(_) => Error::InvalidCredentials,
        }
    }

    /// Issues an access token for a person at a level.
    async fn issue(
        &self,
        person: uuid::Uuid,
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
        let lifetime = i64::try_from(self.settings.token_lifetime.as_secs()).unwrap_or(600);
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub,
            aud,
            exp: now.saturating_add(lifetime),
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
                Digest::new(HashAlgorithm::Sha256, digest.to_vec())?,
            )
            .await?;
        Ok(Issued {
            access_token: token::assemble(&input, &raw),
            expires_in: lifetime.unsigned_abs(),
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
        let person = uuid::Uuid::parse_str(&claims.sub).map_err(|_| TokenError::Malformed)?;
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
                let id = uuid::Uuid::new_v4();
                let row = PersonRow {
                    id: id.to_string(),
                    username: format!("external-{}", id.simple()),
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
        let person = uuid::Uuid::parse_str(&person).map_err(|_| TokenError::Malformed)?;
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
