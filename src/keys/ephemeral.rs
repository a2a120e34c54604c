//! Short-lived certificates (NemLog-in, BankID and the Swedish signing services work so): which
//! policy offers them under a CSC `signatureQualifier`, and the certificate of a key the SAM
//! made in the HSM for one signing operation. The key itself never passes through here: the
//! SAM generates it, has its certificate issued, signs and destroys it.

use std::sync::Arc;
use std::time::Duration;

use super::policy::Policy;
use super::{Error, Keys, Owner};
use crate::audit::Context;
use crate::pki::{Authentication, Issued, Reason};

/// The approval a short-lived certificate serves, as the SAM verified it: what the certificate
/// says about how the signer authenticated (RFC 7773).
#[derive(Debug, Clone, Copy)]
pub struct Approval<'a> {
    /// Who authenticated the signer: the identity provider's issuer.
    pub identity_provider: &'a str,
    /// When the signer approved, Unix seconds.
    pub instant: i64,
    /// The level of assurance of the login behind the approval, as its URI.
    pub loa: &'a str,
    /// The approval's id (the SAD id).
    pub sad: &'a str,
}

impl Keys {
    /// The policy that offers short-lived certificates under a CSC `signatureQualifier`
    /// (`eu_eidas_qes`, `eu_eidas_aes`), if one does.
    #[must_use]
    pub fn short_lived_policy(&self, qualifier: &str) -> Option<Arc<Policy>> {
        self.policies
            .iter()
            .find(|p| p.qualifier.as_deref() == Some(qualifier))
            .cloned()
    }

    /// Issues the certificate of a key made for one operation: the natural-person profile of
    /// `policy` for `owner` (names and `serialNumber` as in a long-term certificate), valid for
    /// the policy's `short_lived_minutes` from `now`, saying how the signer authenticated for
    /// `approval`.
    ///
    /// # Errors
    /// PKI failures (HSM, store, audit).
    pub async fn issue_short_lived(
        &self,
        owner: &Owner,
        policy: &Policy,
        spki: &[u8],
        approval: &Approval<'_>,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let person = self.natural_person(owner, policy);
        let lifetime = Duration::from_secs(u64::from(policy.short_lived_minutes) * 60);
        let authentication = Authentication {
            identity_provider: approval.identity_provider.to_owned(),
            instant: approval.instant,
            loa: approval.loa.to_owned(),
            assertion: approval.sad.to_owned(),
        };
        Ok(self
            .pki
            .issue_short_lived(
                spki,
                &person,
                policy.oid,
                lifetime,
                &authentication,
                ctx,
                now,
            )
            .await?)
    }

    /// Revokes a short-lived certificate whose key signed nothing that left the service (the
    /// operation failed after the certificate was issued), so that no one can rely on it.
    ///
    /// # Errors
    /// PKI failures.
    pub async fn withdraw_short_lived(
        &self,
        serial: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        self.pki
            .revoke(serial, Reason::CessationOfOperation, ctx, now)
            .await?;
        Ok(())
    }
}
