//! Logins and their throttling: attempts counted per username and per source address, locks
//! with exponential back-off, the password and TOTP checks, and the audit records of a login's
//! success or failure.

use std::collections::BTreeSet;

use webauthn_rs::prelude::PublicKeyCredential;
use zeroize::Zeroizing;

use super::loa::{Factor, Loa};
use super::{passkey, totp, Error, Identity, Issued};
use crate::audit::{Context, Event};
use crate::hsm;
use crate::store::PersonRow;
use crate::types::PersonId;

/// How many times more failures a source address may have than a username before a lock.
const ADDRESS_FACTOR: i64 = 10;

/// The longest lock failed logins cause (seconds): a short back-off, so that a stranger
/// guessing cannot lock a person or a shared address for long.
const MAX_LOCK_SECS: i64 = 900;

/// One login as a form gives it: the account, its factors and where the attempt comes from.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The account.
    pub username: &'a str,
    /// The factors given.
    pub proof: Proof<'a>,
    /// The client's address, when known: attempts are counted per address too.
    pub source: Option<&'a str>,
}

/// The factors of a login.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// A password and, optionally, a TOTP code: at most Substantial.
    Password {
        /// The password.
        password: &'a str,
        /// A TOTP code.
        otp: Option<&'a str>,
    },
    /// A passkey assertion of a started login ceremony with the password or a TOTP code beside
    /// it: together they reach High (`policies/loa.toml`).
    Passkey {
        /// The state id from [`Identity::passkey_login_start`].
        state: &'a str,
        /// The assertion.
        credential: &'a PublicKeyCredential,
        /// What comes with the passkey.
        second: passkey::SecondFactor<'a>,
    },
}

impl Identity {
    /// The resource-owner password grant (an extension for scripted clients): password, and
    /// optionally a TOTP code. Returns a token at the level the factors reach.
    ///
    /// # Errors
    /// As [`Identity::grant`].
    pub async fn password_grant(
        &self,
        username: &str,
        password: &str,
        otp: Option<&str>,
        source: Option<&str>,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let proof = Proof::Password { password, otp };
        let attempt = Attempt {
            username,
            proof,
            source,
        };
        self.grant(attempt, ctx, now).await
    }

    /// A login at the token endpoint: a token at the level the factors reach.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] (the same for unknown users, wrong passwords, refused
    /// passkeys and wrong codes), [`Error::Locked`], [`Error::CodeReused`], store, HSM and
    /// audit failures.
    pub async fn grant(
        &self,
        attempt: Attempt<'_>,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let (id, factors, loa) = self.login(attempt, ctx, now).await?;
        self.issue(id, loa, &factors, now, now).await
    }

    /// Checks a login: the throttle, then the factors; on success records the login and
    /// returns the person, the factors used and the level they reach (without issuing a
    /// token).
    pub(super) async fn login(
        &self,
        attempt: Attempt<'_>,
        ctx: &Context,
        now: i64,
    ) -> Result<(PersonId, BTreeSet<Factor>, Loa), Error> {
        let mut keys = self.throttle_keys(attempt.username, attempt.source);
        if matches!(attempt.proof, Proof::Passkey { .. }) {
            // A passkey assertion cannot be guessed: the username's lock (which a stranger can
            // keep renewing with wrong passwords) does not stop a passkey login; the source
            // address's count and the second factor's check still apply.
            keys.retain(|k| k.starts_with("ip:"));
        }
        self.check_throttle(&keys, ctx, now).await?;
        let person = self.store.person_by_username(attempt.username).await?;
        let (person, factors, cap) = match attempt.proof {
            Proof::Password { password, otp } => {
                self.password_factors(person, password, otp, &keys, ctx, now)
                    .await?
            }
            Proof::Passkey {
                state,
                credential,
                second,
            } => {
                self.passkey_factors(person, state, credential, second, &keys, ctx, now)
                    .await?
            }
        };
        let (id, loa) = self
            .succeed(&keys, &person, &factors, cap, ctx, now)
            .await?;
        Ok((id, factors, loa))
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
    pub(super) fn throttle_keys(&self, username: &str, source: Option<&str>) -> Vec<String> {
        std::iter::once(format!("user:{username}"))
            .chain(source.map(|s| format!("ip:{s}")))
            .collect()
    }

    /// Counts this attempt against every key before any work is done (so a burst of
    /// concurrent guesses is counted as it arrives, not after the slow password check), and
    /// refuses while a key is locked or once the attempt is over the allowance, locking it
    /// with exponential back-off of at most [`MAX_LOCK_SECS`]: an outsider can delay a person
    /// or an address, never lock it for long. A success clears the count.
    pub(super) async fn check_throttle(
        &self,
        keys: &[String],
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
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
                let anon = Context::anonymous(ctx.request_id.clone());
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

    async fn verify_password_blocking(&self, password: &str, hash: String) -> Result<bool, Error> {
        let password = Zeroizing::new(password.to_owned());
        self.argon2_blocking(move |this| this.password_matches(&password, &hash))
            .await
    }

    /// Checks a password or a TOTP code of a known person; failures count toward the lock.
    pub(super) async fn check_second_factor(
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
    pub(super) async fn succeed(
        &self,
        keys: &[String],
        person: &PersonRow,
        factors: &BTreeSet<Factor>,
        cap: Loa,
        ctx: &Context,
        now: i64,
    ) -> Result<(PersonId, Loa), Error> {
        let loa = self.policy.level(factors).ok_or(Error::NoLevel)?.min(cap);
        for key in keys {
            self.store.clear_throttle(key).await?;
        }
        let id = PersonId::parse(&person.id).map_err(|e| Error::Internal(e.to_string()))?;
        let ctx = Context::person(id, ctx.request_id.clone());
        tracing::info!(person = %id, loa = loa.uri(), "login");
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

    /// Checks a password and, optionally, a TOTP code of the person a login names (if any);
    /// returns the person, the factors and the highest level they may reach (no passkey here:
    /// at most Substantial, whatever a policy file says).
    async fn password_factors(
        &self,
        person: Option<PersonRow>,
        password: &str,
        otp: Option<&str>,
        keys: &[String],
        ctx: &Context,
        now: i64,
    ) -> Result<(PersonRow, BTreeSet<Factor>, Loa), Error> {
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
                    .fail(keys, subject, "invalid_credentials", ctx, now)
                    .await);
            }
        };
        let mut factors = BTreeSet::from([Factor::Password]);
        if let Some(code) = otp {
            factors.insert(
                self.check_second_factor(
                    &person,
                    passkey::SecondFactor::Totp(code),
                    keys,
                    ctx,
                    now,
                )
                .await?,
            );
        }
        Ok((person, factors, Loa::Substantial))
    }

    /// Records a failed attempt (already counted by [`Identity::check_throttle`]); returns the
    /// error to give the caller.
    pub(super) async fn fail(
        &self,
        _keys: &[String],
        subject: Option<String>,
        reason: &str,
        ctx: &Context,
        now: i64,
    ) -> Error {
        tracing::warn!(reason, "login refused");
        let anon = Context::anonymous(ctx.request_id.clone());
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
}
