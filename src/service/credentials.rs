//! Credentials as their holders manage them: listing (made on first use), reading one with
//! its certificate chain, suspending, resuming and revoking; and which credential a caller may
//! use or change. Part of [`Signing`].

use super::{owner, person_ctx, Error, ErrorCode, Signing};
use crate::audit::Context;
use crate::identity::Principal;
use crate::keys::{self, Credential};

/// A credential with its certificate chain (signer first, then the issuing CA and the root).
#[derive(Debug, Clone)]
pub struct CredentialInfo {
    /// The credential.
    pub credential: Credential,
    /// DER certificates, the credential's first.
    pub chain: Vec<Vec<u8>>,
    /// The credential's certificate, read.
    pub certificate: crate::pki::Summary,
    /// Whether the certificate is revoked in the CA's records.
    pub certificate_revoked: bool,
}

/// Credential state changes a holder may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    /// Suspend an active credential.
    Suspend,
    /// Resume a suspended one.
    Resume,
    /// Revoke for good (and the certificate).
    Revoke,
}

impl From<keys::Error> for Error {
    fn from(e: keys::Error) -> Self {
        match e {
            keys::Error::NotFound => Self::new(
                ErrorCode::CredentialNotFound,
                ErrorCode::CredentialNotFound.description(),
            ),
            keys::Error::Suspended => Self::new(
                ErrorCode::CredentialSuspended,
                ErrorCode::CredentialSuspended.description(),
            ),
            keys::Error::Revoked => Self::new(
                ErrorCode::CredentialRevoked,
                ErrorCode::CredentialRevoked.description(),
            ),
            keys::Error::TooMany(_) => Self::new(ErrorCode::QuotaExceeded, e.to_string()),
            keys::Error::Hsm(e) => e.into(),
            keys::Error::Store(e) => e.into(),
            keys::Error::Pki(e) => e.into(),
            other => Self::internal(other.to_string()),
        }
    }
}

impl Signing {
    /// Makes the credentials of a new account (when credentials are made at enrolment).
    ///
    /// # Errors
    /// HSM, PKI, store and audit failures.
    pub async fn enrol_credentials(
        &self,
        person: &crate::types::PersonId,
        ctx: &Context,
    ) -> Result<Vec<Credential>, Error> {
        let owner = owner(&self.store, person).await?;
        Ok(self.keys.ensure(&owner, ctx, self.now()).await?)
    }

    /// The caller's credentials; on first use, one under each enabled policy is made.
    ///
    /// # Errors
    /// HSM, PKI, store and audit failures.
    pub async fn credentials(
        &self,
        principal: &Principal,
        request_id: Option<String>,
    ) -> Result<Vec<Credential>, Error> {
        let ctx = person_ctx(principal, request_id);
        let mut credentials = self.enrol_credentials(&principal.person, &ctx).await?;
        credentials.extend(self.orgs.usable_seals(&principal.person).await?);
        Ok(credentials)
    }

    /// A credential the caller may use now: their own personal one, their employee one while
    /// they hold `sign_on_behalf`, or an organisation's seal while they hold `use_seal`.
    /// Credentials of others (and seals of organisations the caller is not in) are
    /// `credential_not_found`.
    ///
    /// # Errors
    /// `credential_not_found`, `right_missing`; store failures.
    pub(super) async fn usable_credential(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Credential, Error> {
        Ok(self.usable_credential_with(principal, id, None).await?.0)
    }

    /// [`Self::usable_credential`], with the use count of the SAD `sad` read in the same
    /// query when there is one.
    async fn usable_credential_with(
        &self,
        principal: &Principal,
        id: &str,
        sad: Option<&str>,
    ) -> Result<(Credential, Option<i64>), Error> {
        let (credential, used) = self.keys.by_id_with_sad_uses(id, sad).await?;
        // Another person's credential is found only if it is a seal (which members use).
        if credential.person != principal.person
            && !matches!(credential.kind, crate::keys::Kind::Seal { .. })
        {
            return Err(crate::keys::Error::NotFound.into());
        }
        match self.orgs.may_use(&principal.person, &credential).await {
            Ok(()) => Ok((credential, used)),
            Err(crate::orgs::Error::NoMember) => Err(crate::keys::Error::NotFound.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// One of the caller's credentials with its certificate chain.
    ///
    /// # Errors
    /// `credential_not_found`.
    pub async fn credential_info(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<CredentialInfo, Error> {
        let credential = self.usable_credential(principal, id).await?;
        self.info_of(credential).await
    }

    /// A credential with its certificate chain, its certificate read and whether the CA has
    /// revoked it.
    pub(super) async fn info_of(&self, credential: Credential) -> Result<CredentialInfo, Error> {
        let chain = self
            .certificate_chain(credential.certificate.clone())
            .await?;
        let certificate = crate::pki::summary(&credential.certificate)?;
        let certificate_revoked = self
            .pki
            .certificate(&credential.serial)
            .await?
            .revoked_at
            .is_some();
        Ok(CredentialInfo {
            credential,
            chain,
            certificate,
            certificate_revoked,
        })
    }

    /// Suspends, resumes or revokes one of the caller's credentials; `false` when nothing
    /// changed. Revoking needs the credential's policy level, like signing.
    ///
    /// # Errors
    /// `credential_not_found`, `credential_revoked`, `insufficient_loa`.
    pub async fn change_credential(
        &self,
        principal: &Principal,
        id: &str,
        change: StateChange,
        request_id: Option<String>,
    ) -> Result<bool, Error> {
        let ctx = person_ctx(principal, request_id);
        let now = self.now();
        let credential = self.changeable_credential(principal, id).await?;
        if principal.loa < credential.policy.min_loa {
            return Err(insufficient(&credential));
        }
        Ok(match change {
            StateChange::Suspend => {
                self.keys
                    .suspend_credential(&credential, true, &ctx, now)
                    .await?
            }
            StateChange::Resume => {
                self.keys
                    .suspend_credential(&credential, false, &ctx, now)
                    .await?
            }
            StateChange::Revoke => self.keys.revoke_credential(&credential, &ctx, now).await?,
        })
    }

    /// A credential the caller may suspend, resume or revoke: their own personal or employee
    /// credential, or an organisation's seal when they are one of its current administrators
    /// with a High login. A seal belongs to the organisation, not to the administrator who
    /// made it: a removed administrator cannot touch it, the current ones can.
    async fn changeable_credential(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Credential, Error> {
        let credential = match self.keys.by_id(id).await {
            Ok(c) => c,
            Err(crate::keys::Error::NotFound) => return Err(crate::keys::Error::NotFound.into()),
            Err(e) => return Err(e.into()),
        };
        if let crate::keys::Kind::Seal { cvr } = &credential.kind {
            let cvr = crate::orgs::Cvr::parse(cvr)
                .map_err(|_| Error::from(crate::keys::Error::NotFound))?;
            if self.orgs.admin_of(&principal.person, &cvr).await.is_err() {
                // No probing: someone else's seal is as unknown as a missing one.
                return Err(crate::keys::Error::NotFound.into());
            }
            if principal.loa < crate::identity::loa::Loa::High {
                return Err(crate::identity::Error::InsufficientLoa {
                    required: crate::identity::loa::Loa::High,
                }
                .into());
            }
            return Ok(credential);
        }
        if credential.person != principal.person {
            return Err(crate::keys::Error::NotFound.into());
        }
        Ok(credential)
    }

    /// One of the caller's credentials that can sign now, with the caller's login at its
    /// policy's level.
    pub(super) async fn signing_credential(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Credential, Error> {
        Ok(self.signing_credential_with(principal, id, None).await?.0)
    }

    /// [`Self::signing_credential`], with the use count of the SAD `sad` read in the same
    /// query when there is one.
    pub(super) async fn signing_credential_with(
        &self,
        principal: &Principal,
        id: &str,
        sad: Option<&str>,
    ) -> Result<(Credential, Option<i64>), Error> {
        let (credential, used) = self.usable_credential_with(principal, id, sad).await?;
        credential.usable()?;
        if principal.loa < credential.policy.min_loa {
            return Err(insufficient(&credential));
        }
        Ok((credential, used))
    }
}

fn insufficient(credential: &Credential) -> Error {
    Error::new(
        ErrorCode::InsufficientLoa,
        format!(
            "the {} policy needs a login at {} or higher",
            credential.policy.name,
            credential.policy.min_loa.uri()
        ),
    )
}
