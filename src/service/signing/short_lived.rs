//! Short-lived certificates at the CSC API: an approval of hashes for a `signatureQualifier`
//! (`credentials/authorize` and `credentials/getChallenge` with `signatureQualifier` in place
//! of `credentialID`), and `signatures/signHash` with that qualifier and no `credentialID`,
//! which signs with a key made in the HSM for the one operation and answers the signatures with
//! a certificate valid for minutes. Part of [`Signing`].
//!
//! The policy is the one whose `qualifier` is the request's (`policies/signature.toml`); its
//! login level and activation strength apply as to its credentials. The activation is a TOTP
//! code (SCAL1 policies) or a passkey assertion over a challenge that commits to the qualifier
//! and the hashes; an OAuth approval names credentials, so it cannot approve a qualifier.

use std::sync::Arc;

use super::{
    bad, check_label, commitment, der_signatures, hash_algorithm, parse_hashes, sign_parts,
    signatures_asked, Activation, Hashes, SignHash, Signing,
};
use crate::identity::Principal;
use crate::keys::policy::{Policy, Scal};
use crate::sam::{qualifier_subject, Derive, QualifierGrant, Sad, ShortLivedRequest};
use crate::service::{owner, person_ctx, Error, ErrorCode};
use crate::types::{Digest, HashAlgorithm, UnixTime};

/// What a `signHash` or `signDoc` under a short-lived certificate gives, with its chain.
#[derive(Debug, Clone)]
pub struct ShortLivedSigned {
    /// `signHash`: the signatures in the order of the hashes, DER for ECDSA (as X.509 and CMS
    /// use them). `signDoc`: the signed documents and detached signatures, in request order.
    pub signatures: Vec<Vec<u8>>,
    /// The short-lived certificate, then the issuing CA and the root (DER).
    pub chain: Vec<Vec<u8>>,
}

/// An approval request for a qualifier whose policy, hashes and count checked out.
struct QualifierTarget {
    policy: Arc<Policy>,
    algorithm: HashAlgorithm,
    hashes: Vec<Digest>,
    n: u32,
}

impl QualifierTarget {
    /// What a passkey activation for this approval commits to.
    fn commitment(&self, qualifier: &str) -> [u8; 32] {
        commitment(
            &qualifier_subject(qualifier),
            self.algorithm,
            &self.hashes,
            self.n,
        )
    }
}

impl Signing {
    /// The policy offering short-lived certificates under `qualifier`, with the caller's login
    /// at its level.
    pub(in crate::service) fn qualifier_policy(
        &self,
        principal: &Principal,
        qualifier: &str,
    ) -> Result<Arc<Policy>, Error> {
        let policy = self.keys.short_lived_policy(qualifier).ok_or_else(|| {
            bad(format!(
                "signatureQualifier {qualifier:?} is not offered for short-lived certificates"
            ))
        })?;
        if principal.loa < policy.min_loa {
            return Err(Error::new(
                ErrorCode::InsufficientLoa,
                format!(
                    "{qualifier} needs a login at {} or higher",
                    policy.min_loa.uri()
                ),
            ));
        }
        Ok(policy)
    }

    /// The SAD of a request signing under a short-lived certificate: required, since only an
    /// activation for the qualifier (`credentials/authorize` with it) can approve one.
    pub(in crate::service) fn qualifier_sad(sad: Option<&str>) -> Result<String, Error> {
        sad.map(str::to_owned).ok_or_else(|| {
            bad("SAD: required with signatureQualifier (credentials/authorize with the signatureQualifier gives it)")
        })
    }

    /// Checks the parts of a qualifier approval that do not depend on the factor.
    fn qualifier_target(
        &self,
        principal: &Principal,
        qualifier: &str,
        request: &Hashes,
    ) -> Result<QualifierTarget, Error> {
        let policy = self.qualifier_policy(principal, qualifier)?;
        let algorithm = hash_algorithm(request.hash_algorithm.as_deref())?;
        let hashes = parse_hashes(&request.hashes, algorithm)?;
        let n = signatures_asked(&hashes, request.num_signatures, policy.max_signatures)?;
        check_label(request.label.as_deref())?;
        Ok(QualifierTarget {
            policy,
            algorithm,
            hashes,
            n,
        })
    }

    /// `credentials/getChallenge` with a `signatureQualifier`: a WebAuthn challenge that
    /// commits to the qualifier, the hash algorithm, the number of signatures and the hashes.
    ///
    /// # Errors
    /// `invalid_request` (a qualifier not offered), `insufficient_loa`, `activation_failed`
    /// when the person has no passkey.
    pub async fn qualifier_challenge(
        &self,
        principal: &Principal,
        qualifier: &str,
        request: &Hashes,
        request_id: Option<String>,
    ) -> Result<(String, serde_json::Value), Error> {
        let ctx = person_ctx(principal, request_id);
        let result = async {
            let c = self
                .qualifier_target(principal, qualifier, request)?
                .commitment(qualifier);
            self.passkey_challenge(principal, &c).await
        }
        .await;
        self.activation_outcome(&ctx, &qualifier_subject(qualifier), result)
            .await
    }

    /// `credentials/authorize` with a `signatureQualifier`: checks the caller's level against
    /// the qualifier's policy and the activation factor, then has the SAM issue a SAD for the
    /// qualifier (usable only by `signHash` with the same qualifier and no `credentialID`).
    ///
    /// # Errors
    /// `invalid_request`, `insufficient_loa`, `activation_too_weak`, `activation_failed`,
    /// `code_reused`, `too_many_attempts`.
    pub async fn authorize_qualifier(
        &self,
        principal: &Principal,
        qualifier: &str,
        request: &Hashes,
        activation: Activation,
        request_id: Option<String>,
    ) -> Result<Sad, Error> {
        let ctx = person_ctx(principal, request_id);
        let result = async {
            let target = self.qualifier_target(principal, qualifier, request)?;
            let now = UnixTime::from_secs(self.now());
            let weak = (target.policy.scal > Scal::Scal1).then(|| {
                format!(
                    "{qualifier} needs a passkey; a one-time code sent by the application is not enough"
                )
            });
            let c = target.commitment(qualifier);
            let Some((scal, factor)) = self
                .factor_checked(principal, activation, weak, &c, &ctx, now)
                .await?
            else {
                return Err(Error::new(
                    ErrorCode::ActivationFailed,
                    "approving a signatureQualifier needs an activation factor: OTP, or a passkey (challengeID and webauthn)",
                ));
            };
            let grant = QualifierGrant {
                qualifier,
                policy: &target.policy,
                person: principal.person,
                hash_algorithm: target.algorithm,
                hashes: target.hashes,
                num_signatures: target.n,
                loa: principal.loa,
                scal,
                factor,
                label: request.label.clone(),
            };
            Ok(self.sam.issue_for_qualifier(&grant, &ctx, now).await?)
        }
        .await;
        self.activation_outcome(&ctx, &qualifier_subject(qualifier), result)
            .await
    }

    /// `signatures/signHash` with a `signatureQualifier` and no `credentialID`: the SAM makes
    /// a key for this operation, has it certified for minutes, signs each hash the SAD covers
    /// and destroys the key. The signatures come back in the order of the hashes with the
    /// certificate chain (the new certificate first).
    ///
    /// # Errors
    /// `invalid_request` (no SAD, a qualifier not offered), `insufficient_loa`,
    /// `unsupported_algorithm`, `invalid_sad`, `sad_expired`, `sad_mismatch`,
    /// `hash_not_authorized`, `sad_used`, `sad_count_exceeded`.
    pub async fn sign_hash_short_lived(
        &self,
        principal: &Principal,
        qualifier: &str,
        request: &SignHash,
        request_id: Option<String>,
    ) -> Result<ShortLivedSigned, Error> {
        let ctx = person_ctx(principal, request_id);
        let prepared = async {
            let policy = self.qualifier_policy(principal, qualifier)?;
            let (scheme, algorithm, hashes) = sign_parts(request, policy.key_algorithm)?;
            let sad = Self::qualifier_sad(request.sad.as_deref())?;
            let owner = owner(&self.store, &principal.person).await?;
            Ok::<_, Error>((policy, scheme, algorithm, hashes, sad, owner))
        }
        .await;
        let (policy, scheme, algorithm, hashes, sad, owner) = match prepared {
            Ok(p) => p,
            Err(e) => {
                return Err(self
                    .refuse_signature(&ctx, &qualifier_subject(qualifier), e)
                    .await)
            }
        };
        let issuer = self.identity.settings().issuer.clone();
        let signed = self
            .sam
            .sign_short_lived(
                &ShortLivedRequest {
                    qualifier,
                    policy: &policy,
                    owner: &owner,
                    sad: &sad,
                    hash_algorithm: algorithm,
                    hashes,
                    scheme,
                    sign_algo: &request.sign_algo,
                    identity_provider: &issuer,
                    derive: Derive::Hashes,
                },
                &self.keys,
                &ctx,
                UnixTime::from_secs(self.now()),
            )
            .await?;
        let signatures = der_signatures(signed.signatures, policy.key_algorithm.is_ec())?;
        let chain = self.certificate_chain(signed.certificate).await?;
        Ok(ShortLivedSigned { signatures, chain })
    }
}
