//! Signing under a short-lived certificate: an approval for a CSC `signatureQualifier` rather
//! than a credential, and the one signing operation it allows, with a key made in the HSM for
//! that operation alone.
//!
//! The approval is a SAD of its own kind ([`QualifierClaims`]: `ql`, the qualifier, in place of
//! `cred`). Both kinds refuse unknown members, so a credential's SAD never reads as a
//! qualifier's and a qualifier's never as a credential's: neither can stand in for the other.
//!
//! [`Sam::sign_short_lived`], in this order:
//! 1. checks the SAD as [`Sam::sign`] does (signature, expiry, signer, qualifier and policy,
//!    level, hashes, uses left), and records a refusal;
//! 2. spends its uses in the audit transaction (one conditional statement, across nodes)
//!    *before* any key or certificate exists: a replayed or raced SAD never gets a key;
//! 3. generates the key pair in the HSM (session objects, not extractable), has the issuing CA
//!    certify it for minutes (`keys::Keys::issue_short_lived`, which stores and audits the
//!    certificate), saying how the signer authenticated;
//! 4. signs the hashes, then destroys the key and closes its session (also on failure);
//! 5. records the signatures and the key's destruction, and only then hands the signatures
//!    and the certificate out. When anything after step 3 fails, the certificate is revoked,
//!    and the SAD stays spent (a new approval is needed): nothing signed ever left.

use serde::{Deserialize, Serialize};

use super::{multiplicities, Error, Sad, Sam};
use crate::audit::{self, Context, Entry, Event};
use crate::hsm::{ServiceKey, SignAlgorithm};
use crate::identity::loa::Loa;
use crate::identity::token::{self, VerifyKey};
use crate::keys::policy::{Policy, Scal};
use crate::keys::{algo, Approval, Keys, Owner};
use crate::types::{ActivationFactor, Digest, HashAlgorithm, PersonId, SadId, UnixTime};

/// What a SAD for a signature qualifier binds: as a credential's SAD, with the qualifier in
/// place of the credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QualifierClaims {
    /// Unique id: the key of its use count.
    jti: SadId,
    /// The person.
    sub: PersonId,
    /// The CSC `signatureQualifier`.
    ql: String,
    /// The signature policy that offers it.
    pol: String,
    /// Hash algorithm OID.
    halg: String,
    /// The hashes, standard base64.
    hashes: Vec<String>,
    /// Signatures allowed.
    n: u32,
    /// Issued at, Unix seconds.
    iat: UnixTime,
    /// Expires at, Unix seconds.
    exp: UnixTime,
    /// Login level of the activation (URI).
    loa: String,
    /// Activation control level (`1` or `2`).
    scal: String,
}

impl QualifierClaims {
    /// The claims of a qualifier SAD whose signature verifies under the SAD key, or `None`.
    fn verify(sad: &str, kid: &str, key: &VerifyKey) -> Option<Self> {
        let keys = [(kid.to_owned(), key.clone())];
        let payload = token::verified_payload(sad, &keys).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// The covered hashes as digests of `algorithm`; a hash that is not one covers nothing.
    fn covered(&self, algorithm: HashAlgorithm) -> Vec<Digest> {
        self.hashes
            .iter()
            .filter_map(|h| Digest::parse_base64(h, algorithm).ok())
            .collect()
    }
}

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
    /// Hashes to sign, each of `hash_algorithm`.
    pub hashes: Vec<Digest>,
    /// Signature scheme (it fits the policy's key algorithm).
    pub scheme: SignAlgorithm,
    /// The `signAlgo` OID, for the audit record.
    pub sign_algo: &'a str,
    /// Who authenticated the signer (the identity provider's issuer), for the certificate.
    pub identity_provider: &'a str,
}

/// What one signing operation under a short-lived certificate gives.
#[derive(Debug, Clone)]
pub struct ShortLivedSignatures {
    /// The signatures, in the order of the hashes (ECDSA raw `r || s`).
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
    /// A SAD token over `claims`, signed by the SAD key in the HSM.
    pub(super) async fn signed_token<T: Serialize + Sync>(
        &self,
        claims: &T,
    ) -> Result<String, Error> {
        let (kid, _) = self.key().await?;
        let (input, digest) =
            token::signing_input(kid, claims).map_err(|e| audit::Error::Encoding(e.to_string()))?;
        let signature = self
            .hsm
            .sign(
                ServiceKey::Sad,
                SignAlgorithm::Ecdsa,
                Digest::sha256(digest),
            )
            .await?;
        Ok(token::assemble(&input, &signature))
    }

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
        let claims = QualifierClaims {
            jti: SadId::random(),
            sub: grant.person,
            ql: grant.qualifier.to_owned(),
            pol: policy.name.clone(),
            halg: algo::hash_oid(grant.hash_algorithm).to_owned(),
            hashes: grant.hashes.iter().map(Digest::to_base64).collect(),
            n: grant.num_signatures,
            iat: now,
            exp: now.plus_secs(self.lifetime),
            loa: grant.loa.uri().to_owned(),
            scal: grant.scal.csc().to_owned(),
        };
        let token = self.signed_token(&claims).await?;
        let entry = ctx.entry(
            Some(format!("person:{}", grant.person)),
            Event::SadIssued {
                sad: claims.jti.to_string(),
                credential: qualifier_subject(grant.qualifier),
                policy: claims.pol.clone(),
                hash_algorithm: claims.halg.clone(),
                hashes: grant
                    .hashes
                    .iter()
                    .map(|h| hex::encode(h.as_bytes()))
                    .collect(),
                num_signatures: claims.n,
                loa: claims.loa.clone(),
                scal: claims.scal.clone(),
                factor: grant.factor.as_str().to_owned(),
                label: grant.label.clone(),
            },
        );
        self.audit.record(&entry, now.as_millis()).await?;
        Ok(Sad {
            token,
            expires_in: self.lifetime,
        })
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
        let subject = Some(format!("person:{}", request.owner.id));
        let asked = qualifier_subject(request.qualifier);
        let refused = |reason: &str, sad: Option<SadId>| {
            ctx.entry(
                subject.clone(),
                Event::SignatureRefused {
                    credential: asked.clone(),
                    reason: reason.to_owned(),
                    sad: sad.map(|id| id.to_string()),
                },
            )
        };
        let claims = match self.check_qualifier(request, now).await {
            Ok(c) => c,
            Err((e, sad)) => {
                tracing::warn!(
                    qualifier = request.qualifier,
                    reason = e.reason(),
                    "signature refused"
                );
                self.audit
                    .record(&refused(e.reason(), sad), now.as_millis())
                    .await?;
                return Err(e);
            }
        };
        // Spent before any key or certificate exists.
        let count = u32::try_from(request.hashes.len()).unwrap_or(u32::MAX);
        let (id, max, expires_at) = (
            claims.jti.to_string(),
            i64::from(claims.n),
            claims.exp.as_secs(),
        );
        let uses = i64::from(count);
        let hashes = multiplicities(&request.hashes, &claims.covered(request.hash_algorithm));
        let guard: audit::Guard = Box::new(move |tx| {
            Box::pin(async move {
                tx.use_sad(&id, uses, max, expires_at, "hash", &hashes)
                    .await
            })
        });
        let spent = vec![ctx.entry(
            subject.clone(),
            Event::SadConsumed {
                sad: claims.jti.to_string(),
                count,
            },
        )];
        let otherwise = vec![refused("sad_used", Some(claims.jti))];
        if !self
            .audit
            .record_if(guard, spent, otherwise, now.as_millis())
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
            let signatures = key
                .sign_and_destroy(request.scheme, request.hashes.clone())
                .await?;
            let mut entries: Vec<Entry> = vec![ctx.entry(
                subject.clone(),
                Event::ShortLivedKeyDestroyed {
                    serial: issued.serial.clone(),
                    key: label.clone(),
                    sad: sad.clone(),
                },
            )];
            entries.extend(request.hashes.iter().map(|h| {
                ctx.entry(
                    subject.clone(),
                    Event::SignatureMade {
                        credential: format!("short-lived:{}", issued.serial),
                        hash: hex::encode(h.as_bytes()),
                        algorithm: request.sign_algo.to_owned(),
                        policy: claims.pol.clone(),
                        loa: claims.loa.clone(),
                        sad: sad.clone(),
                    },
                )
            }));
            let tx = self.store.begin().await?;
            self.audit
                .append_many_and_commit(tx, &entries, now.as_millis())
                .await?;
            Ok::<_, Error>(signatures)
        }
        .await;
        match signed {
            Ok(signatures) => {
                tracing::info!(
                    qualifier = request.qualifier,
                    certificate = %issued.serial,
                    signatures = count,
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
    ) -> Result<QualifierClaims, (Error, Option<SadId>)> {
        let (kid, key) = self.key().await.map_err(|e| (e, None))?;
        let claims =
            QualifierClaims::verify(request.sad, kid, key).ok_or((Error::InvalidSad, None))?;
        let id = Some(claims.jti);
        let fail = |e: Error| Err((e, id));
        if now >= claims.exp {
            return fail(Error::Expired);
        }
        if claims.sub != request.owner.id || claims.ql != request.qualifier {
            return fail(Error::NotYours);
        }
        let policy = request.policy;
        let loa = Loa::parse(&claims.loa);
        if claims.pol != policy.name
            || loa.is_none_or(|l| l < policy.min_loa)
            || (claims.scal == "1" && policy.scal == Scal::Scal2)
        {
            return fail(Error::PolicyNotMet);
        }
        if algo::hash_from_oid(&claims.halg) != Some(request.hash_algorithm) {
            return fail(Error::HashNotCovered);
        }
        let covered = claims.covered(request.hash_algorithm);
        if request.hashes.is_empty() || !request.hashes.iter().all(|h| covered.contains(h)) {
            return fail(Error::HashNotCovered);
        }
        if multiplicities(&request.hashes, &covered)
            .iter()
            .any(|(_, asked, approved)| asked > approved)
        {
            return fail(Error::HashNotCovered);
        }
        let used = self
            .store
            .sad_uses(&claims.jti.to_string())
            .await
            .map_err(|e| (e.into(), id))?;
        let asked = i64::try_from(request.hashes.len()).unwrap_or(i64::MAX);
        if used >= i64::from(claims.n) {
            return fail(Error::Used);
        }
        if used.saturating_add(asked) > i64::from(claims.n) {
            return fail(Error::CountExceeded);
        }
        Ok(claims)
    }
}
