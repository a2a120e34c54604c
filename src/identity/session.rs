//! Keeping a session: a fresh access token for a login that is still valid, so that a person
//! warned that their session ends can go on (WCAG 2.2.1). The new token carries the same
//! factors, the same `auth_time` and at most the same level; it never outlives the login's
//! longest duration ([`MAX_LOGIN_SECS`] after `auth_time`); the old token is revoked.

use super::{Error, Identity, Issued, Principal, TokenError};

/// The longest a login lasts however often its session is extended, seconds: after it the
/// person logs in again (a new `auth_time`).
pub const MAX_LOGIN_SECS: i64 = 8 * 3600;

impl Identity {
    /// A fresh token for the caller's session: the same person, factors and `auth_time`, a
    /// level no higher than the session's, expiring at the token lifetime from now or at the
    /// login's longest duration, whichever comes first. The caller's token is revoked.
    ///
    /// # Errors
    /// [`Error::Token`] (`Expired`) once the login has reached [`MAX_LOGIN_SECS`] (or for a
    /// person of an external issuer, whose logins are made there: `Issuer`); store, HSM
    /// failures.
    pub async fn extend_session(&self, principal: &Principal, now: i64) -> Result<Issued, Error> {
        if principal.external {
            return Err(TokenError::Issuer.into());
        }
        let until = principal.auth_time.saturating_add(MAX_LOGIN_SECS);
        if until <= now {
            return Err(TokenError::Expired.into());
        }
        let factors = principal.factors();
        // Never above the session's own level (a passkey still in its delay stays below High).
        let loa = self
            .policy
            .level(&factors)
            .ok_or(Error::NoLevel)?
            .min(principal.loa);
        let grant = super::TokenGrant {
            auth_time: principal.auth_time,
            until: Some(until),
            ..super::TokenGrant::default()
        };
        let audience = self.settings.audience.clone();
        let issued = self
            .issue_token(
                principal.person.to_string(),
                audience,
                loa,
                &factors,
                grant,
                now,
            )
            .await?;
        // One live token per session: the old one ends here.
        self.store
            .revoke_token(&principal.jti, principal.exp)
            .await?;
        Ok(issued)
    }
}
