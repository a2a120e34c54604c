//! Credential lifecycle over the CSC API: `credentials/create` (a new long-term credential
//! under a named policy) and `credentials/delete` (its certificate revoked, its key destroyed,
//! the credential marked deleted), as [`Signing`]; and the validation data `signDoc` answers
//! with `returnValidationInfo`, as [`Documents`].

use super::credentials::CredentialInfo;
use super::{owner, person_ctx, Documents, Error, ErrorCode, Signing};
use crate::formats::pades;
use crate::identity::Principal;
use crate::keys::{self, For, Kind};

impl Signing {
    /// `credentials/create`: a new personal credential under `policy`, named from the
    /// person's account (as the credentials made on first use are). Answers it with its
    /// chain.
    ///
    /// Checked before anything is made, so that a refused request issues no certificate: the
    /// policy exists, the caller's login is at its level, and the person has no live
    /// credential under it (a second one would also be refused by the database).
    ///
    /// # Errors
    /// `invalid_request` (no such policy), `insufficient_loa`, `already_exists`,
    /// `quota_exceeded` (too many new credentials today); HSM, PKI and store failures.
    pub async fn create_credential(
        &self,
        principal: &Principal,
        policy: &str,
        request_id: Option<String>,
    ) -> Result<CredentialInfo, Error> {
        let ctx = person_ctx(principal, request_id);
        let policy = self.keys.policy(policy).ok_or_else(|| {
            Error::new(ErrorCode::InvalidRequest, format!("no policy {policy:?}"))
        })?;
        if principal.loa < policy.min_loa {
            return Err(Error::new(
                ErrorCode::InsufficientLoa,
                format!(
                    "the {} policy needs a login at {} or higher",
                    policy.name,
                    policy.min_loa.uri()
                ),
            ));
        }
        let exists = || {
            Error::new(
                ErrorCode::AlreadyExists,
                format!(
                    "you have a live credential under the {} policy; delete it first",
                    policy.name
                ),
            )
        };
        let live = self
            .keys
            .list(&principal.person)
            .await?
            .into_iter()
            .any(|c| {
                c.policy.name == policy.name
                    && c.status != keys::Status::Revoked
                    && c.kind == Kind::Personal
            });
        if live {
            return Err(exists());
        }
        let owner = owner(&self.store, &principal.person).await?;
        let credential = match self
            .keys
            .create(&owner, &policy.name, &For::Personal, &ctx, self.now())
            .await
        {
            Ok(c) => c,
            // Made by a request racing this one.
            Err(keys::Error::Store(crate::store::Error::Conflict)) => return Err(exists()),
            Err(e) => return Err(e.into()),
        };
        self.credential_info(principal, &credential.id.to_string())
            .await
    }

    /// `credentials/delete`: revokes one of the caller's personal credentials and its
    /// certificate, destroys its key and marks it deleted. Someone else's credential (and an
    /// unknown or already deleted one) is `credential_not_found`. Needs the policy's login
    /// level, as revoking does. Credentials made on first use are not made again under a
    /// policy whose credential the person deleted; `credentials/create` makes one.
    ///
    /// # Errors
    /// `credential_not_found`, `invalid_request` (an organisation's credential),
    /// `insufficient_loa`; PKI, HSM and store failures.
    pub async fn delete_credential(
        &self,
        principal: &Principal,
        id: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = person_ctx(principal, request_id);
        let credential = self.keys.owned(&principal.person, id).await?;
        if credential.kind != Kind::Personal {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "only personal credentials are deleted here; an organisation's credentials are withdrawn by the organisation",
            ));
        }
        if principal.loa < credential.policy.min_loa {
            return Err(Error::new(
                ErrorCode::InsufficientLoa,
                format!(
                    "the {} policy needs a login at {} or higher",
                    credential.policy.name,
                    credential.policy.min_loa.uri()
                ),
            ));
        }
        self.keys.delete(&credential, &ctx, self.now()).await?;
        Ok(())
    }
}

impl Documents {
    /// What a verifier needs for signatures of one of the caller's credentials (CSC
    /// `validationInfo`): the credential's certificate, the CA, TSA and OCSP-responder
    /// certificates, fresh CRLs of both CAs and an OCSP response on the credential's
    /// certificate; what B-LT puts into a PDF.
    ///
    /// # Errors
    /// `credential_not_found`; HSM and store failures.
    pub async fn validation_info(
        &self,
        principal: &Principal,
        credential_id: &str,
    ) -> Result<pades::Validation, Error> {
        let credential = self
            .signing
            .usable_credential(principal, credential_id)
            .await?;
        self.pdf_validation(std::slice::from_ref(&credential.certificate))
            .await
    }
}
