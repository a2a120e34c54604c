//! Signing under a short-lived certificate: an approval for a CSC `signatureQualifier` rather
//! than a credential, and the one signing operation it allows, with a key made in the HSM for
//! that operation alone.
//!
//! The approval is a SAD of its own kind (`ql`, the qualifier, in place of `cred`): a
//! credential's SAD never reads as a qualifier's and a qualifier's never as a credential's
//! (`Claims::verify_qualifier`, `Claims::verify`), so neither can stand in for the other.
//!
//! [`Sam::sign_short_lived`], in this order:
//! 1. checks the SAD as [`Sam::sign`] does (signature, expiry, signer, qualifier and policy,
//!    level, hashes, uses left) and that each hash approves what the request derives from it
//!    (the hashes themselves for `signHash`; for `signDoc` the documents, their options and
//!    prepared PDF revisions, as [`Derive`] says), and records a refusal;
//! 2. spends its uses in the audit transaction (one conditional statement, across nodes)
//!    *before* any key or certificate exists: a replayed or raced SAD never gets a key;
//! 3. generates the key pair in the HSM (session objects, not extractable), has the issuing CA
//!    certify it for minutes (`keys::Keys::issue_short_lived`, which stores and audits the
//!    certificate), saying how the signer authenticated;
//! 4. builds what is signed with that certificate as the signer's (for `signDoc`: the CAdES
//!    signed attributes with its signing-certificate-v2 reference, the XAdES `SignedInfo`),
//!    signs it, then destroys the key and closes its session (also on failure);
//! 5. records the signatures and the key's destruction, and only then hands the signatures
//!    (for XAdES the signed documents) and the certificate out. When anything after step 3
//!    fails, the certificate is revoked, and the SAD stays spent (a new approval is needed):
//!    nothing signed ever left.

use super::sad::Claims;
use super::{
    consumed, inputs, made, mode, refusal, signed_output, to_sign, Asked, Derive, Error, Issued,
    Sad, Sam,
};
use crate::audit::{Context, Event};
use crate::hsm::SignAlgorithm;
use crate::identity::loa::Loa;
use crate::keys::policy::{Policy, Scal};
use crate::keys::{algo, Approval, Keys, Owner};
use crate::types::{ActivationFactor, Digest, HashAlgorithm, PersonId, SadId, UnixTime};

/// What an approval for a signature qualifier grants, as the service established it.
#[derive(Debug, Clone)]
pub struct QualifierGrant<'a> {
    /// The CSC `signatureQualifier`.
    pub qualifier: &'a str,
    /// The policy that offers short-lived certificates under it.
    pub policy: &'a Policy,
    /// The signer.
    pub person: PersonId,
    /// Hash algorithm of `hashes`.
    pub hash_algorithm: HashAlgorithm,
    /// The exact hashes the signer approved.
    pub hashes: Vec<Digest>,
    /// How many signatures the SAD allows (at least one per hash).
    pub num_signatures: u32,
    /// The caller's login level.
    pub loa: Loa,
    /// The activation control level reached.
    pub scal: Scal,
    /// The activation factor.
    pub factor: ActivationFactor,
    /// What the signer was shown the hashes stand for.
    pub label: Option<String>,
}

/// A signing request under a short-lived certificate.
#[derive(Debug, Clone)]
pub struct ShortLivedRequest<'a> {
    /// The CSC `signatureQualifier`.
    pub qualifier: &'a str,
    /// The policy that offers short-lived certificates under it.
    pub policy: &'a Policy,
    /// The signer, with the names their certificate carries.
    pub owner: &'a Owner,
    /// The SAD presented.
    pub sad: &'a str,
    /// Hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The covered hashes the request signs, each of `hash_algorithm`.
    pub hashes: Vec<Digest>,
    /// Signature scheme (it fits the policy's key algorithm).
    pub scheme: SignAlgorithm,
    /// The `signAlgo` OID, for the audit record.
    pub sign_algo: &'a str,
    /// Who authenticated the signer (the identity provider's issuer), for the certificate.
    pub identity_provider: &'a str,
    /// What is signed for each covered hash: the hashes themselves (`signHash`), or for
    /// `signDoc` what the SAM builds from the documents with the new certificate.
    pub derive: Derive<'a>,
}

/// What one signing operation under a short-lived certificate gives.
#[derive(Debug, Clone)]
pub struct ShortLivedSignatures {
    /// In the order of the hashes: the signatures (ECDSA raw `r || s`), or for XAdES the
    /// signed documents.
    pub signatures: Vec<Vec<u8>>,
    /// The short-lived certificate, DER.
    pub certificate: Vec<u8>,
    /// Its serial, hex.
    pub serial: String,
    /// The label the key had in the HSM (it is destroyed).
    pub key: String,
}

/// The name a qualifier approval goes by where audit records name a credential.
#[must_use]
pub fn qualifier_subject(qualifier: &str) -> String {
    format!("qualifier:{qualifier}")
}

/// What a short-lived request asks of its SAD.
fn asked_of<'a>(request: &'a ShortLivedRequest<'_>) -> Asked<'a> {
    Asked {
        policy: request.policy,
        algorithm: request.hash_algorithm,
        hashes: &request.hashes,
        spent: None,
    }
}

/// A failure of `keys` while certifying, as the SAM reports it.
fn from_keys(e: crate::keys::Error) -> Error {
    match e {
        crate::keys::Error::Hsm(e) => Error::Hsm(e),
        crate::keys::Error::Store(e) => Error::Store(e),
        crate::keys::Error::Audit(e) => Error::Audit(e),
        other => Error::Format(format!("short-lived certificate: {other}")),
    }
}

impl Sam {
    /// Issues a SAD for an approval of a signature qualifier the service has checked, and
    /// records it.
    ///
    /// # Errors
    /// [`Error::PolicyNotMet`] when the grant is below the policy; HSM and audit failures.
    pub async fn issue_for_qualifier(
        &self,
        grant: &QualifierGrant<'_>,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<Sad, Error> {
        let policy = grant.policy;
        if grant.loa < policy.min_loa || grant.scal < policy.scal {
            return Err(Error::PolicyNotMet);
        }
        let claims = Claims {
            jti: SadId::random(),
            sub: grant.person,
            cred: None,
            ql: Some(grant.qualifier.to_owned()),
            pol: policy.name.clone(),
            halg: algo::hash_oid(grant.hash_algorithm).to_owned(),
            hashes: grant.hashes.iter().map(Digest::to_base64).collect(),
            n: grant.num_signatures,
            iat: now,
            exp: now.plus_secs(self.lifetime),
            loa: grant.loa.uri().to_owned(),
            scal: grant.scal.csc().to_owned(),
            cli: None,
        };
        let issued = Issued {
            subject: format!("person:{}", grant.person),
            credential: qualifier_subject(grant.qualifier),
            hashes: &grant.hashes,
            factor: grant.factor.as_str(),
            label: grant.label.clone(),
        };
        self.issue_claims(ctx, &claims, issued, now).await
    }

    /// Checks a qualifier's SAD for a request as [`Sam::sign_short_lived`] will, without
    /// spending anything or making a key; a refusal is recorded. Lets a caller refuse before
    /// it does expensive work (reading documents) for a forged or spent SAD.
    ///
    /// # Errors
    /// As [`Sam::sign_short_lived`] before it spends the SAD.
    pub async fn precheck_short_lived(
        &self,
        request: &ShortLivedRequest<'_>,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<(), Error> {
        let (subject, asked) = (
            format!("person:{}", request.owner.id),
            qualifier_subject(request.qualifier),
        );
        let refused = |reason: &str, sad: Option<SadId>| {
            refusal(ctx, Some(subject.as_str()), &asked, reason, sad)
        };
        let checked = self.check_qualifier(request, now).await.map(|_| ());
        self.refuse_failed(checked, refused, now).await
    }

    /// Signs every hash of `request` with a key made for this operation and certified for
    /// minutes by `keys`, if the SAD allows it (see the module documentation for the steps).
    /// Refusals are recorded too.
    ///
    /// # Errors
    /// The [`Error`] variants for each refusal; HSM, store, audit and certificate failures.
    pub async fn sign_short_lived(
        &self,
        request: &ShortLivedRequest<'_>,
        keys: &Keys,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<ShortLivedSignatures, Error> {
        let (subject, asked) = (
            format!("person:{}", request.owner.id),
            qualifier_subject(request.qualifier),
        );
        let refused = |reason: &str, sad: Option<SadId>| {
            refusal(ctx, Some(subject.as_str()), &asked, reason, sad)
        };
        let checked = match self.check_qualifier(request, now).await {
            Ok(claims) => {
                let jti = claims.jti;
                inputs(&request.hashes, request.derive)
                    .map(|inputs| (claims, inputs))
                    .map_err(|e| (e, Some(jti)))
            }
            Err(e) => Err(e),
        };
        let (claims, inputs) = self.refuse_failed(checked, &refused, now).await?;
        // Spent before any key or certificate exists.
        let spent = vec![consumed(
            ctx,
            Some(subject.as_str()),
            &claims,
            &request.hashes,
        )];
        let otherwise = vec![refused("sad_used", Some(claims.jti))];
        if !self
            .spend(
                &claims,
                &asked_of(request),
                mode(&request.derive),
                spent,
                otherwise,
                now,
            )
            .await?
        {
            tracing::warn!(
                qualifier = request.qualifier,
                reason = "sad_used",
                "signature refused"
            );
            return Err(Error::Used);
        }
        let (key, spki) = self
            .hsm
            .generate_ephemeral(request.policy.key_algorithm)
            .await?;
        let label = key.label().to_owned();
        let sad = claims.jti.to_string();
        let approval = Approval {
            identity_provider: request.identity_provider,
            instant: claims.iat.as_secs(),
            loa: &claims.loa,
            sad: &sad,
        };
        // A failure here drops the key, which destroys it.
        let issued = keys
            .issue_short_lived(
                request.owner,
                request.policy,
                &spki,
                &approval,
                ctx,
                now.as_secs(),
            )
            .await
            .map_err(from_keys)?;
        let signed = async {
            // Built with the new certificate as the signer's; a failure drops the key.
            let (digests, pending) = to_sign(&inputs, &request.hashes, &issued.der)?;
            let signatures = key.sign_and_destroy(request.scheme, digests).await?;
            let mut entries = vec![ctx.entry(
                Some(subject.clone()),
                Event::ShortLivedKeyDestroyed {
                    serial: issued.serial.clone(),
                    key: label.clone(),
                    sad: sad.clone(),
                },
            )];
            entries.extend(made(
                ctx,
                Some(subject.as_str()),
                &format!("short-lived:{}", issued.serial),
                &request.hashes,
                request.sign_algo,
                &claims,
            ));
            let tx = self.store.begin().await?;
            self.audit
                .append_many_and_commit(tx, &entries, now.as_millis())
                .await?;
            Ok::<_, Error>(signed_output(&pending, signatures))
        }
        .await;
        match signed {
            Ok(signatures) => {
                tracing::info!(
                    qualifier = request.qualifier,
                    certificate = %issued.serial,
                    signatures = request.hashes.len(),
                    "signatures made under a short-lived certificate"
                );
                Ok(ShortLivedSignatures {
                    signatures,
                    certificate: issued.der,
                    serial: issued.serial,
                    key: label,
                })
            }
            Err(e) => {
                // Nothing signed left: no one may rely on the certificate.
                if let Err(w) = keys
                    .withdraw_short_lived(&issued.serial, ctx, now.as_secs())
                    .await
                {
                    tracing::error!(certificate = %issued.serial, error = %w, "short-lived certificate not withdrawn");
                }
                Err(e)
            }
        }
    }

    /// The stateless checks of a qualifier SAD against a request, and its uses left. On
    /// failure, also the SAD id when the SAD could be read.
    async fn check_qualifier(
        &self,
        request: &ShortLivedRequest<'_>,
        now: UnixTime,
    ) -> Result<Claims, (Error, Option<SadId>)> {
        let (kid, key) = self.key().await.map_err(|e| (e, None))?;
        let claims =
            Claims::verify_qualifier(request.sad, kid, key).ok_or((Error::InvalidSad, None))?;
        let theirs =
            claims.sub == request.owner.id && claims.ql.as_deref() == Some(request.qualifier);
        self.check_terms(&claims, theirs, &asked_of(request), now)
            .await
            .map_err(|e| (e, Some(claims.jti)))?;
        Ok(claims)
    }
}
