//! Use cases of signing: activation (SAD issuance), signing hashes and time-stamping a hash;
//! credentials are managed in `credentials`, also as [`Signing`], and an organisation's system
//! clients use its seal through `seals`.
//!
//! The service checks who calls and how strongly they activated; the SAM ([`crate::sam`])
//! checks the SAD and is the only one that makes the HSM sign with a user key.

mod extend;
mod seals;
mod short_lived;

pub use short_lived::ShortLivedSigned;

use sha2::{Digest as _, Sha256};

use super::{from_json, person_ctx, to_json, unix_now, unix_now_ms, Error, ErrorCode, Trust};
use crate::audit::{Audit, Context, Event};
use crate::clock::SharedClock;
use crate::identity::{Identity, Principal};
use crate::keys::policy::Scal;
use crate::keys::{algo, Credential, Keys};
use crate::pki::Pki;
use crate::sam::{self, Grant, Sad, Sam, SignRequest};
use crate::store::Store;
use crate::types::{ActivationFactor, Digest, DigestError, HashAlgorithm, UnixTime};

/// What a signHash request signs with: checked before any SAD is looked at.
struct SignTarget {
    credential: Credential,
    scheme: crate::hsm::SignAlgorithm,
    algorithm: HashAlgorithm,
    hashes: Vec<Digest>,
    /// The SAD's use count, read with the credential.
    spent: Option<(crate::types::SadId, i64)>,
}

/// Credentials, activation and signing hashes.
#[derive(Debug, Clone)]
pub struct Signing {
    pub(super) store: Store,
    pub(super) pki: Pki,
    pub(super) audit: Audit,
    pub(super) identity: Identity,
    pub(super) keys: Keys,
    pub(super) sam: Sam,
    pub(super) orgs: crate::orgs::Orgs,
    pub(super) clock: SharedClock,
    pub(super) trust: Trust,
    /// Seconds a person has to approve a request on their phone (`approvals`).
    pub(super) approval_lifetime: i64,
}

/// The hashes a request is about.
#[derive(Debug, Clone, Default)]
pub struct Hashes {
    /// The CSC `credentialID`.
    pub credential_id: String,
    /// Hash algorithm OID (or name); SHA-256 when absent.
    pub hash_algorithm: Option<String>,
    /// The hashes, base64 (standard or URL-safe), parsed once by the use case.
    pub hashes: Vec<String>,
    /// Signatures to allow; the number of hashes when absent.
    pub num_signatures: Option<u32>,
    /// What the hashes stand for, shown to the signer and recorded (CSC `description`).
    pub label: Option<String>,
}

/// How the signer activates a signature.
#[derive(Debug, Clone)]
pub enum Activation {
    /// A TOTP code sent by the client ("explicit" mode, SCAL1).
    Totp(String),
    /// A passkey assertion over a challenge from [`Signing::activation_challenge`] (SCAL2).
    Passkey {
        /// The challenge id.
        challenge_id: String,
        /// The `PublicKeyCredential` JSON.
        assertion: serde_json::Value,
    },
    /// The caller's access token itself: it carries `authorization_details` naming the
    /// credential and the digests, approved on qsign's login page (the OAuth
    /// authorization-code flow) or at a trusted external issuer, with a fresh `auth_time`
    /// (SCAL2). Each token activates once.
    Token,
}

/// How recent the approval behind a token activation must be, seconds.
const APPROVAL_FRESHNESS: i64 = 300;

/// A signing request.
#[derive(Debug, Clone)]
pub struct SignHash {
    /// The CSC `credentialID`.
    pub credential_id: String,
    /// The SAD; `None` when the bearer token itself carries the approval
    /// (`authorization_details`), which then activates this one request.
    pub sad: Option<String>,
    /// Hash algorithm OID; taken from `sign_algo` when that names one.
    pub hash_algorithm: Option<String>,
    /// The hashes, base64 (standard or URL-safe), parsed once by the use case.
    pub hashes: Vec<String>,
    /// The signature algorithm OID.
    pub sign_algo: String,
}

impl From<sam::Error> for Error {
    fn from(e: sam::Error) -> Self {
        let code = match e {
            sam::Error::InvalidSad => ErrorCode::InvalidSad,
            sam::Error::Expired => ErrorCode::SadExpired,
            sam::Error::NotYours => ErrorCode::SadMismatch,
            sam::Error::HashNotCovered => ErrorCode::HashNotAuthorized,
            sam::Error::Used => ErrorCode::SadUsed,
            sam::Error::CountExceeded => ErrorCode::SadCountExceeded,
            sam::Error::PolicyNotMet => ErrorCode::ActivationTooWeak,
            sam::Error::Hsm(e) => return e.into(),
            sam::Error::Store(e) => return e.into(),
            sam::Error::Audit(e) => return Self::internal(e.to_string()),
            sam::Error::Format(e) => return Self::internal(e),
        };
        Self::new(code, code.description())
    }
}

/// The commitment a passkey activation signs: SHA-256 over a tag, the credential, the hash
/// algorithm, the number of signatures and each hash with its length.
fn commitment(credential: &str, hash: HashAlgorithm, hashes: &[Digest], n: u32) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"qsign-sad-v1\0");
    h.update(credential.as_bytes());
    h.update(b"\0");
    h.update(algo::hash_oid(hash).as_bytes());
    h.update(b"\0");
    h.update(n.to_be_bytes());
    for x in hashes {
        let x = x.as_bytes();
        h.update(u32::try_from(x.len()).unwrap_or(u32::MAX).to_be_bytes());
        h.update(x);
    }
    h.finalize().into()
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidRequest, message)
}

/// A hash of a request that is not a digest of `algorithm`.
fn hash_error(e: DigestError, algorithm: HashAlgorithm) -> Error {
    match e {
        DigestError::NotBase64 => bad("hashes: not base64"),
        DigestError::WrongLength { got, .. } => bad(format!(
            "hashes: a {got}-byte hash does not fit {}",
            algo::hash_oid(algorithm)
        )),
    }
}

/// Parses a request's base64 hashes (standard or URL-safe alphabet, at least one) into digests
/// of `algorithm`: the one place where hashes enter as text.
fn parse_hashes(hashes: &[String], algorithm: HashAlgorithm) -> Result<Vec<Digest>, Error> {
    if hashes.is_empty() {
        return Err(bad("hashes: at least one hash is required"));
    }
    hashes
        .iter()
        .map(|h| Digest::parse_base64(h, algorithm).map_err(|e| hash_error(e, algorithm)))
        .collect()
}

/// An activation request whose credential, hash algorithm, hashes and number of signatures
/// checked out.
pub(super) struct Target {
    pub(super) credential: Credential,
    pub(super) algorithm: HashAlgorithm,
    pub(super) hashes: Vec<Digest>,
    pub(super) n: u32,
}

impl Target {
    /// Checks the number of signatures asked (the number of hashes when `None`) against the
    /// hashes and the credential's policy.
    fn new(
        credential: Credential,
        algorithm: HashAlgorithm,
        hashes: Vec<Digest>,
        num_signatures: Option<u32>,
    ) -> Result<Self, Error> {
        let n = signatures_asked(&hashes, num_signatures, credential.policy.max_signatures)?;
        Ok(Self {
            credential,
            algorithm,
            hashes,
            n,
        })
    }
}

fn hash_algorithm(oid: Option<&str>) -> Result<HashAlgorithm, Error> {
    oid.map_or(Ok(HashAlgorithm::Sha256), |o| {
        algo::hash_from_oid(o).ok_or_else(|| {
            Error::new(
                ErrorCode::UnsupportedAlgorithm,
                format!("hash algorithm {o:?} is not supported"),
            )
        })
    })
}

/// The number of signatures a request asks (the number of hashes when `None`): from the number
/// of hashes to `max`.
fn signatures_asked(
    hashes: &[Digest],
    num_signatures: Option<u32>,
    max: u32,
) -> Result<u32, Error> {
    let count = u32::try_from(hashes.len()).unwrap_or(u32::MAX);
    let n = num_signatures.unwrap_or(count);
    if n < count || n == 0 || n > max {
        return Err(bad(format!(
            "numSignatures must be from the number of hashes ({count}) to {max}"
        )));
    }
    Ok(n)
}

/// Refuses a request's description (CSC `description`) longer than 500 characters.
fn check_label(label: Option<&str>) -> Result<(), Error> {
    if label.is_some_and(|l| l.chars().count() > 500) {
        return Err(bad("description: at most 500 characters"));
    }
    Ok(())
}

/// An activation factor's failure: a wrong one is `activation_failed`.
fn activation_failed(e: crate::identity::Error) -> Error {
    match e {
        crate::identity::Error::InvalidCredentials => Error::new(
            ErrorCode::ActivationFailed,
            ErrorCode::ActivationFailed.description(),
        ),
        other => other.into(),
    }
}

/// The scheme, hash algorithm and parsed hashes of a signHash with a `key` key.
fn sign_parts(
    request: &SignHash,
    key: crate::hsm::KeyAlgorithm,
) -> Result<(crate::hsm::SignAlgorithm, HashAlgorithm, Vec<Digest>), Error> {
    let hash = request
        .hash_algorithm
        .as_deref()
        .map(|h| hash_algorithm(Some(h)))
        .transpose()?;
    let (scheme, algorithm) = algo::scheme(&request.sign_algo, hash, key).ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedAlgorithm,
            format!(
                "signAlgo {:?} with this hash algorithm does not fit a {} key",
                request.sign_algo,
                key.as_str()
            ),
        )
    })?;
    let hashes = parse_hashes(&request.hashes, algorithm)?;
    Ok((scheme, algorithm, hashes))
}

/// The HSM's signatures as a signHash answers them: DER for an EC key (`ec`), as X.509 and
/// CMS use them.
fn der_signatures(raw: Vec<Vec<u8>>, ec: bool) -> Result<Vec<Vec<u8>>, Error> {
    if ec {
        raw.iter()
            .map(|r| crate::hsm::ecdsa_signature_der(r).map_err(Error::from))
            .collect()
    } else {
        Ok(raw)
    }
}

impl Signing {
    /// A certificate's chain: `leaf`, then the issuing CA and the root (DER).
    pub(super) async fn certificate_chain(&self, leaf: Vec<u8>) -> Result<Vec<Vec<u8>>, Error> {
        Ok(vec![
            leaf,
            self.pki.ca_certificate(crate::pki::Ca::Issuing).await?,
            self.pki.ca_certificate(crate::pki::Ca::Root).await?,
        ])
    }

    /// Starts a passkey activation whose challenge commits to `c`: the challenge id and the
    /// options for `navigator.credentials.get`.
    async fn passkey_challenge(
        &self,
        principal: &Principal,
        c: &[u8; 32],
    ) -> Result<(String, serde_json::Value), Error> {
        let (id, options) = self
            .identity
            .activation_start(&principal.person, c, self.now())
            .await
            .map_err(|e| match e {
                crate::identity::Error::InvalidCredentials => Error::new(
                    ErrorCode::ActivationFailed,
                    "this account has no passkey; enrol one first",
                ),
                other => other.into(),
            })?;
        Ok((id, to_json(&options)?))
    }

    /// Checks a one-time code as the activation (SCAL1).
    async fn totp_activation(
        &self,
        principal: &Principal,
        code: &str,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<(Scal, ActivationFactor), Error> {
        self.identity
            .activation_totp(&principal.person, code, ctx, now.as_secs())
            .await
            .map_err(activation_failed)?;
        Ok((Scal::Scal1, ActivationFactor::Totp))
    }

    /// Checks a passkey assertion (the `PublicKeyCredential` JSON) over the challenge
    /// `challenge_id` that committed to `c`.
    /// A passkey still in its delay after an enrolment by code is not yet sole control at
    /// SCAL2.
    async fn passkey_activation(
        &self,
        principal: &Principal,
        challenge_id: &str,
        assertion: serde_json::Value,
        c: &[u8; 32],
        now: UnixTime,
    ) -> Result<(Scal, ActivationFactor), Error> {
        let assertion = from_json(assertion)?;
        let high = self
            .identity
            .activation_finish(
                &principal.person,
                challenge_id,
                c,
                &assertion,
                now.as_secs(),
            )
            .await
            .map_err(activation_failed)?;
        Ok((
            if high { Scal::Scal2 } else { Scal::Scal1 },
            ActivationFactor::Webauthn,
        ))
    }

    /// Checks the parts of an activation request that do not depend on the factor; its
    /// hashes are parsed here.
    pub(super) async fn activation_target(
        &self,
        principal: &Principal,
        request: &Hashes,
    ) -> Result<Target, Error> {
        let credential = self
            .signing_credential(principal, &request.credential_id)
            .await?;
        let algorithm = hash_algorithm(request.hash_algorithm.as_deref())?;
        let hashes = parse_hashes(&request.hashes, algorithm)?;
        let target = Target::new(credential, algorithm, hashes, request.num_signatures)?;
        check_label(request.label.as_deref())?;
        Ok(target)
    }

    /// Records a refusal (`event`, which names the error) and returns the error; a failed
    /// record takes its place.
    async fn refused(&self, ctx: &Context, event: Event, e: Error) -> Error {
        let entry = ctx.entry(None, event);
        match self.audit.record(&entry, unix_now_ms(&self.clock)).await {
            Ok(_) => e,
            Err(a) => Error::internal(a.to_string()),
        }
    }

    /// The result of an activation step; a failure is recorded as a refused activation of
    /// `credential` (as asked).
    pub(super) async fn activation_outcome<T>(
        &self,
        ctx: &Context,
        credential: &str,
        result: Result<T, Error>,
    ) -> Result<T, Error> {
        match result {
            Err(e) => {
                let event = Event::ActivationRefused {
                    credential: credential.to_owned(),
                    reason: e.code.as_str().to_owned(),
                };
                Err(self.refused(ctx, event, e).await)
            }
            ok => ok,
        }
    }

    /// Records a refused signing request and returns the error.
    pub(super) async fn refuse_signature(
        &self,
        ctx: &Context,
        credential: &str,
        e: Error,
    ) -> Error {
        let event = Event::SignatureRefused {
            credential: credential.to_owned(),
            reason: e.code.as_str().to_owned(),
            sad: None,
        };
        self.refused(ctx, event, e).await
    }

    /// Starts a passkey activation: the WebAuthn challenge commits to the credential, the hash
    /// algorithm, the number of signatures and the exact hashes. Returns the challenge id and
    /// the options for `navigator.credentials.get`.
    ///
    /// # Errors
    /// As [`Signing::authorize`] before the factor is checked; `activation_failed` when the
    /// person has no passkey.
    pub async fn activation_challenge(
        &self,
        principal: &Principal,
        request: &Hashes,
        request_id: Option<String>,
    ) -> Result<(String, serde_json::Value), Error> {
        let ctx = person_ctx(principal, request_id);
        let result = async {
            let target = self.activation_target(principal, request).await?;
            let c = commitment(
                &target.credential.id.to_string(),
                target.algorithm,
                &target.hashes,
                target.n,
            );
            self.passkey_challenge(principal, &c).await
        }
        .await;
        self.activation_outcome(&ctx, &request.credential_id, result)
            .await
    }

    /// `credentials/authorize`: checks the caller's level against the credential's policy and
    /// the activation factor, then has the SAM issue signature activation data.
    ///
    /// # Errors
    /// `credential_not_found`, `credential_suspended`, `credential_revoked`,
    /// `insufficient_loa`, `activation_too_weak` (a TOTP code where the policy needs SCAL2),
    /// `activation_failed`, `code_reused`, `too_many_attempts`, `invalid_request`.
    pub async fn authorize(
        &self,
        principal: &Principal,
        request: &Hashes,
        activation: Activation,
        request_id: Option<String>,
    ) -> Result<Sad, Error> {
        let ctx = person_ctx(principal, request_id);
        let result = async {
            let target = self.activation_target(principal, request).await?;
            self.authorize_checked(principal, target, request.label.clone(), activation, &ctx)
                .await
        }
        .await;
        self.activation_outcome(&ctx, &request.credential_id, result)
            .await
    }

    /// Checks the activation factor for a checked target and has the SAM issue the SAD.
    async fn authorize_checked(
        &self,
        principal: &Principal,
        target: Target,
        label: Option<String>,
        activation: Activation,
        ctx: &Context,
    ) -> Result<Sad, Error> {
        let now = UnixTime::from_secs(self.now());
        let Target {
            credential,
            algorithm,
            hashes,
            n,
        } = target;
        let weak = (credential.policy.scal > Scal::Scal1).then(|| {
            format!(
                "the {} policy needs a passkey or the web approval; a one-time code sent by the application is not enough",
                credential.policy.name
            )
        });
        let c = commitment(&credential.id.to_string(), algorithm, &hashes, n);
        let checked = self
            .factor_checked(principal, activation, weak, &c, ctx, now)
            .await?;
        let (scal, factor) = if let Some(checked) = checked {
            checked
        } else {
            self.check_approval(principal, &credential, algorithm, &hashes, now)
                .await?;
            (
                Scal::Scal2,
                if principal.external {
                    ActivationFactor::External
                } else {
                    ActivationFactor::Oauth
                },
            )
        };
        let grant = Grant {
            credential: &credential,
            hash_algorithm: algorithm,
            hashes,
            num_signatures: n,
            loa: principal.loa,
            scal,
            factor,
            label,
        };
        Ok(self.sam.issue(&grant, ctx, now).await?)
    }

    /// Checks a one-time code or a passkey assertion as the activation: `weak` is the refusal
    /// of a code when the policy needs SCAL2, `c` what the passkey's challenge committed to.
    /// `None` for an activation by the caller's token, which each caller checks its own way.
    async fn factor_checked(
        &self,
        principal: &Principal,
        activation: Activation,
        weak: Option<String>,
        c: &[u8; 32],
        ctx: &Context,
        now: UnixTime,
    ) -> Result<Option<(Scal, ActivationFactor)>, Error> {
        match activation {
            Activation::Totp(code) => {
                if let Some(message) = weak {
                    return Err(Error::new(ErrorCode::ActivationTooWeak, message));
                }
                Ok(Some(
                    self.totp_activation(principal, &code, ctx, now).await?,
                ))
            }
            Activation::Passkey {
                challenge_id,
                assertion,
            } => Ok(Some(
                self.passkey_activation(principal, &challenge_id, assertion, c, now)
                    .await?,
            )),
            Activation::Token => Ok(None),
        }
    }

    /// Checks an activation by the caller's token: its `authorization_details` name this
    /// credential, this hash algorithm and every hash; the approval is fresh; and the token has
    /// not activated before.
    async fn check_approval(
        &self,
        principal: &Principal,
        credential: &Credential,
        algorithm: HashAlgorithm,
        hashes: &[Digest],
        now: UnixTime,
    ) -> Result<(), Error> {
        let failed = |m: &str| Error::new(ErrorCode::ActivationFailed, m);
        let details = principal
            .authorization_details
            .as_ref()
            .map(|d| crate::identity::oauth::parse_details(&d.to_string()))
            .transpose()
            .map_err(|m| Error::new(ErrorCode::InvalidRequest, m))?
            .ok_or_else(|| {
                failed("an activation factor is required: OTP, a passkey (challengeID and webauthn), or a token that carries authorization_details")
            })?;
        let id = credential.id.to_string();
        let approved: Vec<Digest> = details
            .iter()
            .filter(|d| {
                d.credential_id == id
                    && algo::hash_from_oid(&d.hash_algorithm_oid) == Some(algorithm)
            })
            .flat_map(|d| d.document_digests.iter())
            .filter_map(|x| Digest::parse_base64(&x.hash, algorithm).ok())
            .collect();
        if !hashes.iter().all(|h| approved.contains(h)) {
            return Err(Error::new(
                ErrorCode::HashNotAuthorized,
                "the token's authorization_details do not approve these hashes for this credential",
            ));
        }
        if now.secs_since(UnixTime::from_secs(principal.auth_time)) > APPROVAL_FRESHNESS {
            return Err(failed(
                "the approval is older than five minutes; approve the documents again",
            ));
        }
        if !self
            .store
            .use_once(&format!("approval:{}", principal.jti), principal.exp)
            .await?
        {
            return Err(failed("this approval has activated a signature already"));
        }
        Ok(())
    }

    /// The SAD of a signing request, or, when it has none, one made from the approval the
    /// bearer token carries (CSC oauth2code: the token activates exactly these hashes, one
    /// signature each). `credential` is the request's, found by `credential_id` as asked.
    #[allow(
        clippy::too_many_arguments,
        reason = "one signing request's parts, parsed"
    )]
    pub(super) async fn sad_or_approval(
        &self,
        principal: &Principal,
        sad: Option<&str>,
        credential_id: &str,
        credential: &Credential,
        hashes: &[Digest],
        algorithm: HashAlgorithm,
        ctx: &Context,
    ) -> Result<String, Error> {
        if let Some(sad) = sad {
            return Ok(sad.to_owned());
        }
        let result = async {
            let target = Target::new(credential.clone(), algorithm, hashes.to_vec(), None)?;
            self.authorize_checked(principal, target, None, Activation::Token, ctx)
                .await
        }
        .await;
        let sad = self.activation_outcome(ctx, credential_id, result).await?;
        Ok(sad.token)
    }

    /// `signatures/signHash`: the SAM signs each hash if the SAD covers it; the signatures
    /// come back in the order of the hashes, DER for ECDSA (as X.509 and CMS use them).
    ///
    /// # Errors
    /// `credential_not_found`, `credential_suspended`, `credential_revoked`,
    /// `insufficient_loa`, `invalid_sad`, `sad_expired`, `sad_mismatch`, `hash_not_authorized`,
    /// `sad_used`, `sad_count_exceeded`, `unsupported_algorithm`, `invalid_request`.
    pub async fn sign_hash(
        &self,
        principal: &Principal,
        request: &SignHash,
        request_id: Option<String>,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let ctx = person_ctx(principal, request_id);
        let target = match self.sign_target(principal, request).await {
            Ok(target) => target,
            Err(e) => return Err(self.refuse_signature(&ctx, &request.credential_id, e).await),
        };
        let sad = self
            .sad_or_approval(
                principal,
                request.sad.as_deref(),
                &request.credential_id,
                &target.credential,
                &target.hashes,
                target.algorithm,
                &ctx,
            )
            .await?;
        self.signed_hashes(target, &sad, &request.sign_algo, &ctx)
            .await
    }

    /// Has the SAM sign the hashes of a checked signHash under `sad`: the signatures in the
    /// order of the hashes, DER for ECDSA (as X.509 and CMS use them).
    async fn signed_hashes(
        &self,
        target: SignTarget,
        sad: &str,
        sign_algo: &str,
        ctx: &Context,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let SignTarget {
            credential,
            scheme,
            algorithm,
            hashes,
            spent,
        } = target;
        let request = SignRequest {
            credential: &credential,
            sad,
            hash_algorithm: algorithm,
            hashes,
            scheme,
            sign_algo,
            derive: crate::sam::Derive::Hashes,
            spent,
        };
        let raw = self
            .sam
            .sign(&request, ctx, UnixTime::from_secs(self.now()))
            .await?;
        der_signatures(raw, credential.algorithm.is_ec())
    }

    async fn sign_target(
        &self,
        principal: &Principal,
        request: &SignHash,
    ) -> Result<SignTarget, Error> {
        // The SAD's use count comes with the credential, in one query.
        let sad = request.sad.as_deref();
        let sad_id = sad.and_then(crate::sam::unverified_sad_id);
        let (credential, used) = self
            .signing_credential_with(
                principal,
                &request.credential_id,
                sad_id.map(|id| id.to_string()).as_deref(),
            )
            .await?;
        let spent = sad_id.zip(used);
        let (scheme, algorithm, hashes) = sign_parts(request, credential.algorithm)?;
        Ok(SignTarget {
            credential,
            scheme,
            algorithm,
            hashes,
            spent,
        })
    }

    /// `signatures/timestamp`: an RFC 3161 token over a hash from the embedded TSA.
    ///
    /// # Errors
    /// `unsupported_algorithm`, `invalid_request`, `temporarily_unavailable`.
    pub async fn timestamp_hash(
        &self,
        hash_algorithm_oid: Option<&str>,
        hash: &str,
    ) -> Result<Vec<u8>, Error> {
        let algorithm = self::hash_algorithm(hash_algorithm_oid)?;
        let digest = Digest::parse_base64(hash, algorithm).map_err(|e| hash_error(e, algorithm))?;
        let imprint = match algorithm {
            HashAlgorithm::Sha256 => crate::pki::tsa::ImprintHash::Sha256,
            HashAlgorithm::Sha384 => crate::pki::tsa::ImprintHash::Sha384,
            HashAlgorithm::Sha512 => crate::pki::tsa::ImprintHash::Sha512,
        };
        self.trust.token(imprint, digest.as_bytes()).await
    }

    /// The current time, Unix seconds (read once per request).
    pub(super) fn now(&self) -> i64 {
        unix_now(&self.clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commitment_depends_on_every_part() {
        let h = vec![Digest::sha256([1u8; 32]), Digest::sha256([2u8; 32])];
        let base = commitment("c", HashAlgorithm::Sha256, &h, 2);
        assert_ne!(base, commitment("d", HashAlgorithm::Sha256, &h, 2));
        assert_ne!(base, commitment("c", HashAlgorithm::Sha384, &h, 2));
        assert_ne!(base, commitment("c", HashAlgorithm::Sha256, &h, 3));
        assert_ne!(base, commitment("c", HashAlgorithm::Sha256, &h[..1], 2));
        let swapped = vec![h[1].clone(), h[0].clone()];
        assert_ne!(base, commitment("c", HashAlgorithm::Sha256, &swapped, 2));
    }

    #[test]
    fn hashes_are_checked() {
        assert!(parse_hashes(&[], HashAlgorithm::Sha256).is_err());
        let ok = Digest::sha256([7u8; 32]).to_base64();
        assert_eq!(
            parse_hashes(std::slice::from_ref(&ok), HashAlgorithm::Sha256).unwrap(),
            vec![Digest::sha256([7u8; 32])]
        );
        let e = parse_hashes(&[ok], HashAlgorithm::Sha384).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.message.contains("a 32-byte hash does not fit"), "{e}");
        let e = parse_hashes(&["not base64!".into()], HashAlgorithm::Sha256).unwrap_err();
        assert_eq!(e.message, "hashes: not base64");
    }
}
