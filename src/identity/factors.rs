//! A person's own management of login factors: list them, enrol a new TOTP secret, and remove
//! a lost phone or key from a session made with another factor.
//!
//! Rules: changing factors needs a Substantial session (two factors); a TOTP secret can only be
//! (re)placed from a High session (a passkey was used), so a stolen phone plus password cannot
//! swap the phone; and the last second factor cannot be removed, so an account never falls back
//! to a password alone by accident.

use super::{Error, Identity, Loa, Principal};
use crate::audit::{Context, Event};

/// What a person has enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factors {
    /// Login name.
    pub username: String,
    /// Whether a TOTP secret is enrolled.
    pub totp: bool,
    /// Passkeys, oldest first.
    pub passkeys: Vec<PasskeyInfo>,
}

/// One enrolled passkey, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    /// Credential id, base64url.
    pub id: String,
    /// Enrolment time, Unix seconds.
    pub created_at: i64,
    /// From when it counts for High, Unix seconds.
    pub high_from: i64,
    /// `high-session`, `enrolment-code` or `session`.
    pub bound_by: String,
}

/// A new TOTP secret offered for enrolment: shown once, stored only when a code confirms it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpOffer {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://` URI for authenticator apps.
    pub uri: String,
}

impl Identity {
    /// The factors of the caller.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`]; store failures.
    pub async fn factors(&self, principal: &Principal) -> Result<Factors, Error> {
        let id = principal.person.to_string();
        let person = self
            .store
            .person_by_id(&id)
            .await?
            .ok_or(Error::UnknownAccount)?;
        Ok(Factors {
            username: person.username,
            totp: person.totp_secret.is_some(),
            // Only passkeys whose integrity tag verifies: a row a database writer added does
            // not count as "a second factor remains".
            passkeys: self
                .stored_passkeys(&id)
                .await?
                .into_iter()
                .map(|(p, _)| PasskeyInfo {
                    id: p.credential_id,
                    created_at: p.created_at,
                    high_from: p.high_from,
                    bound_by: p.bound_by,
                })
                .collect(),
        })
    }

    /// A fresh TOTP secret for the caller to confirm with [`Identity::totp_enrol`].
    ///
    /// # Errors
    /// [`Error::InsufficientLoa`] below High; store failures.
    pub async fn totp_offer(&self, principal: &Principal) -> Result<TotpOffer, Error> {
        may_enrol(principal)?;
        let factors = self.factors(principal).await?;
        let secret = super::totp::new_secret().map_err(|e| Error::Internal(e.to_string()))?;
        let uri = super::totp::uri(&secret, "qsign", &factors.username);
        Ok(TotpOffer { secret, uri })
    }

    /// Stores a TOTP secret once a current code from it is shown (replacing any earlier one).
    ///
    /// # Errors
    /// [`Error::InsufficientLoa`] below High, [`Error::InvalidCredentials`] for a code that does
    /// not match; store and audit failures.
    pub async fn totp_enrol(
        &self,
        principal: &Principal,
        secret: &str,
        code: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        may_enrol(principal)?;
        let step = super::totp::matching_step(secret.trim(), code.trim(), now)
            .ok_or(Error::InvalidCredentials)?;
        let person = principal.person.to_string();
        let sealed = self.seal_secret(&person, secret.trim()).await?;
        self.store
            .set_totp(&person, Some(&sealed), Some(step))
            .await?;
        self.factor_event(
            principal,
            ctx,
            Event::FactorEnrolled {
                factor: "totp".into(),
            },
            now,
        )
        .await
    }

    /// Removes the caller's TOTP secret (a lost phone); a passkey must remain.
    ///
    /// # Errors
    /// [`Error::InsufficientLoa`] below Substantial, [`Error::InvalidAccount`] when no passkey
    /// would remain or there is no TOTP; store and audit failures.
    pub async fn remove_totp(
        &self,
        principal: &Principal,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        let factors = self.factors_to_remove(principal).await?;
        if !factors.totp {
            return Err(Error::InvalidAccount(
                "no one-time code app is enrolled".into(),
            ));
        }
        if factors.passkeys.is_empty() {
            return Err(Error::InvalidAccount(
                "the last second factor cannot be removed: enrol a passkey first".into(),
            ));
        }
        self.store
            .set_totp(&principal.person.to_string(), None, None)
            .await?;
        self.factor_event(
            principal,
            ctx,
            Event::FactorRemoved {
                factor: "totp".into(),
            },
            now,
        )
        .await
    }

    /// Removes one of the caller's passkeys (a lost key); another second factor must remain.
    ///
    /// # Errors
    /// [`Error::InsufficientLoa`] below Substantial, [`Error::UnknownAccount`] for a passkey
    /// the caller does not have, [`Error::InvalidAccount`] for the last second factor; store and
    /// audit failures.
    pub async fn remove_passkey(
        &self,
        principal: &Principal,
        credential_id: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        let factors = self.factors_to_remove(principal).await?;
        if !factors.passkeys.iter().any(|p| p.id == credential_id) {
            return Err(Error::UnknownAccount);
        }
        if !factors.totp && factors.passkeys.len() == 1 {
            return Err(Error::InvalidAccount(
                "the last second factor cannot be removed: enrol another one first".into(),
            ));
        }
        if !self
            .store
            .delete_passkey(&principal.person.to_string(), credential_id)
            .await?
        {
            return Err(Error::UnknownAccount);
        }
        self.factor_event(
            principal,
            ctx,
            Event::FactorRemoved {
                factor: "webauthn".into(),
            },
            now,
        )
        .await
    }

    /// The caller's factors, for removing one: that needs a Substantial session.
    async fn factors_to_remove(&self, principal: &Principal) -> Result<Factors, Error> {
        need(principal, Loa::Substantial)?;
        self.factors(principal).await
    }

    async fn factor_event(
        &self,
        principal: &Principal,
        ctx: &Context,
        event: Event,
        now: i64,
    ) -> Result<(), Error> {
        let ctx = Context::person(principal.person, ctx.request_id.clone());
        let entry = ctx.entry(Some(format!("person:{}", principal.person)), event);
        self.audit.record(&entry, now.saturating_mul(1000)).await?;
        Ok(())
    }
}

/// Whether the caller may (re)place a factor: a High session of a person of this identity
/// provider (a person of an external issuer has no local factors).
fn may_enrol(principal: &Principal) -> Result<(), Error> {
    need(principal, Loa::High)?;
    if principal.external {
        return Err(Error::LocalFactors);
    }
    Ok(())
}

fn need(principal: &Principal, required: Loa) -> Result<(), Error> {
    if principal.loa < required {
        return Err(Error::InsufficientLoa { required });
    }
    Ok(())
}
