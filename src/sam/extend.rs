//! `credentials/extendTransaction`: a new SAD for the further signatures of a transaction the
//! signer approved with one SAD.
//!
//! The new SAD keeps the original's id, hashes, number of signatures and expiry; only its
//! issue time is new. Uses are counted by SAD id, so the new SAD and the original share one
//! count: whatever is signed under either is taken from the same `numSignatures`, and chaining
//! extensions never gives a signature more than the signer approved, nor a minute more than
//! the approval's lifetime.

use super::sad::Claims;
use super::{signer, Error, Sad, Sam};
use crate::audit::{Context, Event};
use crate::identity::loa::Loa;
use crate::keys::policy::Scal;
use crate::keys::Credential;
use crate::types::UnixTime;

impl Sam {
    /// A new SAD for the rest of the transaction of `sad` (a SAD of `credential`, issued to
    /// the person acting), and records the extension.
    ///
    /// # Errors
    /// [`Error::InvalidSad`], [`Error::Expired`] (past the original's lifetime),
    /// [`Error::NotYours`], [`Error::PolicyNotMet`], [`Error::CountExceeded`] (no signature
    /// left of those approved); store, HSM and audit failures.
    pub async fn extend(
        &self,
        credential: &Credential,
        sad: &str,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<Sad, Error> {
        let (kid, key) = self.key().await?;
        let claims = Claims::verify(sad, kid, key).ok_or(Error::InvalidSad)?;
        if now >= claims.exp {
            return Err(Error::Expired);
        }
        if claims.sub != signer(ctx, credential) || claims.cred != Some(credential.id) {
            return Err(Error::NotYours);
        }
        let policy = &credential.policy;
        if claims.pol != policy.name
            || Loa::parse(&claims.loa).is_none_or(|l| l < policy.min_loa)
            || (claims.scal == "1" && policy.scal == Scal::Scal2)
        {
            return Err(Error::PolicyNotMet);
        }
        let used = self.store.sad_uses(&claims.jti.to_string()).await?;
        let remaining = i64::from(claims.n).saturating_sub(used);
        if remaining <= 0 {
            return Err(Error::CountExceeded);
        }
        let renewed = Claims {
            iat: now,
            ..claims.clone()
        };
        let token = self.signed_token(&renewed).await?;
        let entry = ctx.entry(
            Some(credential.audit_subject()),
            Event::SadExtended {
                sad: claims.jti.to_string(),
                credential: credential.id.to_string(),
                remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
                expires_at: claims.exp.as_secs(),
            },
        );
        self.audit.record(&entry, now.as_millis()).await?;
        Ok(Sad {
            token,
            expires_in: claims.exp.secs_since(now),
        })
    }
}
