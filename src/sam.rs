//! The signature activation module: the one place that makes the HSM use a user key.
//!
//! How sole control is enforced:
//! - User keys exist outside the HSM only wrapped under its master key
//!   ([`crate::hsm::WrappedKey`]); unwrapping happens inside [`Hsm::sign_with_wrapped`], which
//!   puts the key in a session object (sensitive, not extractable), signs, and destroys it.
//!   No function returns an unwrapped key.
//! - This module is the only caller of `sign_with_wrapped` (the layering test fails if any
//!   other module names it), and it calls it only from [`Sam::sign`], after the signature
//!   activation data (SAD) checked out:
//!   signed by the SAD key in the HSM, not expired, issued to the calling person for this
//!   credential, the hash algorithm and every hash covered, the policy's level and activation
//!   strength met, and uses left.
//! - Uses are counted in the database by one conditional statement in the same transaction as
//!   the audit records of the signatures ([`Audit::record_if`]); the signatures leave this
//!   module only after that commit. Two requests racing for the last use, on one node or on
//!   several, get one signature between them.
//!
//! A SAD is a compact JWS (ES256) made by the HSM's SAD key. It is issued by [`Sam::issue`]
//! only after the service checked a fresh activation factor bound to the same hashes.
//!
//! Short-lived certificates (`short_lived`): an approval for a signature qualifier rather than
//! a credential, and [`Sam::sign_short_lived`], the other way this module makes the HSM use a
//! user key: one generated for that operation, certified for minutes, destroyed after signing
//! ([`crate::hsm::EphemeralKey::sign_and_destroy`], named only here). `extend` renews a SAD
//! for the rest of its transaction (`credentials/extendTransaction`).

mod extend;
mod sad;
mod short_lived;

pub use sad::unverified_id as unverified_sad_id;
pub use short_lived::{qualifier_subject, QualifierGrant, ShortLivedRequest, ShortLivedSignatures};

use std::sync::Arc;

use crate::audit::{self, Audit, Context, Entry, Event};
use crate::formats::representation::{capacity_approval, Capacity};
use crate::formats::{cms, pades, xades};
use crate::hsm::{self, Hsm, ServiceKey, SignAlgorithm};
use crate::identity::loa::Loa;
use crate::identity::token::{self, VerifyKey};
use crate::keys::algo;
use crate::keys::policy::Scal;
use crate::keys::Credential;
use crate::store::Store;
use crate::types::{ActivationFactor, Digest, HashAlgorithm, PersonId, SadId, UnixTime};
use sad::Claims;
use sha2::Digest as _;

/// Why the SAM refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SAD does not verify or does not decode.
    #[error("the signature activation data is not valid")]
    InvalidSad,
    /// The SAD has expired.
    #[error("the signature activation data has expired")]
    Expired,
    /// The SAD was issued to another person or for another credential.
    #[error("the signature activation data belongs to another person or credential")]
    NotYours,
    /// A hash (or the hash algorithm) is not among those the SAD covers.
    #[error("a hash is not covered by the signature activation data")]
    HashNotCovered,
    /// Every use of the SAD is spent.
    #[error("the signature activation data has been used")]
    Used,
    /// More hashes than the SAD has uses left.
    #[error("more hashes than the signature activation data allows")]
    CountExceeded,
    /// The activation is weaker than the credential's policy asks.
    #[error("the activation does not meet the credential's policy")]
    PolicyNotMet,
    /// The HSM failed.
    #[error(transparent)]
    Hsm(#[from] hsm::Error),
    /// The audit record could not be written: no signature leaves.
    #[error(transparent)]
    Audit(#[from] audit::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The signed attributes could not be built.
    #[error("cannot build the signature: {0}")]
    Format(String),
}

impl Error {
    /// The stable reason written in the audit record.
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::InvalidSad => "invalid_sad",
            Self::Expired => "sad_expired",
            Self::NotYours => "sad_mismatch",
            Self::HashNotCovered => "hash_not_authorized",
            Self::Used => "sad_used",
            Self::CountExceeded => "sad_count_exceeded",
            Self::PolicyNotMet => "activation_too_weak",
            Self::Hsm(_) | Self::Audit(_) | Self::Store(_) | Self::Format(_) => "internal_error",
        }
    }
}

/// What an activation grants, as the service established it.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    /// The credential.
    pub credential: &'a Credential,
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

/// Issued signature activation data.
#[derive(Debug, Clone)]
pub struct Sad {
    /// The SAD token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// A signing request.
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    /// The credential (owned by the caller, checked by the service).
    pub credential: &'a Credential,
    /// The SAD presented.
    pub sad: &'a str,
    /// Hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// Hashes to sign, each of `hash_algorithm`.
    pub hashes: Vec<Digest>,
    /// Signature scheme.
    pub scheme: SignAlgorithm,
    /// The `signAlgo` OID, for the audit record.
    pub sign_algo: &'a str,
    /// What is signed for each covered hash; the SAM derives it itself, so that what gets
    /// signed always follows from what the SAD covers.
    pub derive: Derive<'a>,
    /// The SAD's use count as read together with the credential (one query for what a
    /// signature needs), if it was; used only when it is the count of the SAD that verifies.
    /// It serves the early refusal only: the conditional update at commit decides.
    pub spent: Option<(SadId, i64)>,
}

/// Each distinct hash of a request (its bytes, in byte order) with how often the request signs
/// it and how often the SAD lists it.
fn multiplicities(asked: &[Digest], covered: &[Digest]) -> Vec<(Vec<u8>, i64, i64)> {
    let count = |list: &[Digest], h: &[u8]| {
        i64::try_from(list.iter().filter(|x| x.as_bytes() == h).count()).unwrap_or(i64::MAX)
    };
    let mut distinct: Vec<&[u8]> = asked.iter().map(Digest::as_bytes).collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
        .into_iter()
        .map(|h| (h.to_vec(), count(asked, h), count(covered, h)))
        .collect()
}

/// A CAdES document signed in a capacity: its SHA-256 and the capacity. The hash the signer
/// approved for it is [`capacity_approval`] of the two.
#[derive(Debug, Clone, Copy)]
pub struct InCapacity<'a> {
    /// The document's SHA-256 (the CMS message digest).
    pub sha256: [u8; 32],
    /// The capacity (signer-attributes-v2).
    pub capacity: &'a Capacity,
}

/// How the SAM derives what it signs from the hashes the SAD covers.
#[derive(Debug, Clone, Copy)]
pub enum Derive<'a> {
    /// The hashes themselves (`signHash`).
    Hashes,
    /// `signDoc`, CAdES: each hash is a document's SHA-256, or for a document signed in a
    /// capacity the approval of its SHA-256 and the capacity ([`capacity_approval`]), which
    /// the SAM checks. The SAM builds the CAdES signed attributes (with signer-attributes-v2
    /// for a capacity) with the credential's certificate at this signing time and signs their
    /// digest.
    Cades {
        /// Signing time.
        time: UnixTime,
        /// For each hash, in order, the document and capacity it approves, when the document
        /// is signed in a capacity; a hash without an entry (or `None`) is a document's
        /// SHA-256 itself.
        capacities: &'a [Option<InCapacity<'a>>],
    },
    /// The hashes are the SHA-256 digests of these documents (`signDoc`, XAdES), or for a
    /// document signed in a capacity the approval of that digest and the capacity
    /// ([`capacity_approval`]): the SAM checks each document against its hash, builds the
    /// signature as packaged (with `SignerRoleV2` for a capacity) and signs its `SignedInfo`;
    /// [`Sam::sign`] then returns the signed documents.
    Xades {
        /// The documents, in the order of the hashes.
        documents: &'a [Vec<u8>],
        /// The packaging of each document.
        packagings: &'a [xades::Packaging<'a>],
        /// `DataObjectFormat` MIME type.
        mime: &'a str,
        /// Signing time.
        signing_time: UnixTime,
        /// The key's XML signature algorithm.
        algorithm: xades::SignatureAlgorithm,
        /// The CA certificates of the credential's certificate, without the root, for
        /// `ds:KeyInfo`.
        chain: &'a [Vec<u8>],
        /// The capacity each document is signed in, in the order of the hashes; a document
        /// without an entry (or `None`) is signed in none.
        capacities: &'a [Option<&'a Capacity>],
    },
    /// The hashes are the approvals of PDF documents (`signDoc`, PAdES: the document's SHA-256,
    /// or with options `pades::approval_digest` of it and the options), here prepared with their
    /// signature placeholders, in the order of the hashes: the SAM checks that each prepared
    /// revision was made over exactly the covered document with exactly the approved options
    /// (`Prepared::approval`) and signs the digest of the
    /// CAdES signed attributes over its byte ranges' digest (computed by `pades` when the
    /// revision was appended; no signing-time attribute; signer-attributes-v2 with the
    /// capacity of the options, which the approval covers).
    Pades(&'a [pades::Prepared]),
}

/// The digests the HSM signs for the covered hashes, and the XAdES signatures waiting for
/// their values.
fn to_sign(request: &SignRequest<'_>) -> Result<(Vec<Digest>, Vec<xades::Prepared>), Error> {
    let mut digests = Vec::with_capacity(request.hashes.len());
    let mut pending = Vec::new();
    for (i, hash) in request.hashes.iter().enumerate() {
        let to_be_signed = match request.derive {
            Derive::Hashes => {
                digests.push(hash.clone());
                continue;
            }
            Derive::Cades { time, capacities } => {
                let (digest, capacity) = match capacities.get(i).copied().flatten() {
                    // The signer approved this document in exactly this capacity.
                    Some(claim) => {
                        if capacity_approval(&claim.sha256, claim.capacity).as_slice()
                            != hash.as_bytes()
                        {
                            return Err(Error::HashNotCovered);
                        }
                        (claim.sha256, Some(claim.capacity))
                    }
                    None => (
                        <[u8; 32]>::try_from(hash.as_bytes()).map_err(|_| Error::HashNotCovered)?,
                        None,
                    ),
                };
                cms::prepare(
                    &digest,
                    &request.credential.certificate,
                    Some(time.as_secs()),
                    capacity,
                )
                .map_err(|e| Error::Format(e.to_string()))?
                .to_be_signed
            }
            Derive::Pades(prepared) => {
                let prepared = prepared.get(i).ok_or(Error::HashNotCovered)?;
                // The approval covers the document and every option the revision was made
                // with (reason, location, contact, certification, the visible box, the
                // capacity).
                if prepared.approval().as_slice() != hash.as_bytes() {
                    return Err(Error::HashNotCovered);
                }
                cms::prepare(
                    &prepared.digest(),
                    &request.credential.certificate,
                    None,
                    prepared.capacity(),
                )
                .map_err(|e| Error::Format(e.to_string()))?
                .to_be_signed
            }
            Derive::Xades {
                documents,
                packagings,
                mime,
                signing_time,
                algorithm,
                chain,
                capacities,
            } => {
                let document = documents.get(i).ok_or(Error::HashNotCovered)?;
                let packaging = *packagings.get(i).ok_or(Error::HashNotCovered)?;
                let capacity = capacities.get(i).copied().flatten();
                let sha256: [u8; 32] = sha2::Sha256::digest(document).into();
                let approved = capacity.map_or(sha256, |c| capacity_approval(&sha256, c));
                if approved.as_slice() != hash.as_bytes() {
                    return Err(Error::HashNotCovered);
                }
                let mime = match packaging {
                    xades::Packaging::Detached { .. } => "application/octet-stream",
                    _ => mime,
                };
                let prepared = xades::prepare(
                    document,
                    packaging,
                    &request.credential.certificate,
                    chain,
                    algorithm,
                    mime,
                    signing_time.as_secs(),
                    capacity,
                )
                .map_err(|e| Error::Format(e.to_string()))?;
                let to_be_signed = prepared.to_be_signed;
                pending.push(prepared);
                to_be_signed
            }
        };
        digests.push(Digest::sha256(to_be_signed));
    }
    Ok((digests, pending))
}

/// Whom a SAD is bound to: the person acting (an organisation's seal is used by its
/// members, each with their own SAD), or the credential's owner for the service's own work.
fn signer(ctx: &Context, credential: &Credential) -> PersonId {
    match ctx.actor {
        crate::audit::Actor::Person(person) => person,
        _ => credential.person,
    }
}

/// The system client acting, when a machine uses an organisation's seal: a SAD names it too.
fn client(ctx: &Context) -> Option<&str> {
    match &ctx.actor {
        crate::audit::Actor::Client(id) => Some(id.as_str()),
        _ => None,
    }
}

/// The signature activation module.
#[derive(Debug, Clone)]
pub struct Sam {
    hsm: Hsm,
    store: Store,
    audit: Audit,
    lifetime: i64,
    key: Arc<tokio::sync::OnceCell<(String, VerifyKey)>>,
}

impl Sam {
    /// A SAM whose SADs live `lifetime_secs` (at most 300).
    #[must_use]
    pub fn new(hsm: Hsm, store: Store, audit: Audit, lifetime_secs: u32) -> Self {
        Self {
            hsm,
            store,
            audit,
            lifetime: i64::from(lifetime_secs.clamp(1, 300)),
            key: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// The SAD key's id and public key, read from the HSM once.
    async fn key(&self) -> Result<&(String, VerifyKey), Error> {
        self.key
            .get_or_try_init(|| async {
                let spki = self.hsm.public_key(ServiceKey::Sad).await?;
                let key = VerifyKey::from_spki(&spki)
                    .map_err(|_| hsm::Error::BadBlob("SAD public key"))?;
                Ok((token::key_id(&spki), key))
            })
            .await
    }

    /// Issues a SAD for a grant the service has checked, and records it.
    ///
    /// # Errors
    /// [`Error::PolicyNotMet`] when the grant is below the credential's policy; HSM and audit
    /// failures.
    pub async fn issue(
        &self,
        grant: &Grant<'_>,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<Sad, Error> {
        let policy = &grant.credential.policy;
        if grant.loa < policy.min_loa || grant.scal < policy.scal {
            return Err(Error::PolicyNotMet);
        }
        let claims = Claims {
            jti: SadId::random(),
            sub: signer(ctx, grant.credential),
            cred: grant.credential.id,
            pol: policy.name.clone(),
            halg: algo::hash_oid(grant.hash_algorithm).to_owned(),
            hashes: grant.hashes.iter().map(Digest::to_base64).collect(),
            n: grant.num_signatures,
            iat: now,
            exp: now.plus_secs(self.lifetime),
            loa: grant.loa.uri().to_owned(),
            scal: grant.scal.csc().to_owned(),
            cli: client(ctx).map(str::to_owned),
        };
        let (kid, _) = self.key().await?;
        let (input, digest) = token::signing_input(kid, &claims)
            .map_err(|e| audit::Error::Encoding(e.to_string()))?;
        let digest = Digest::sha256(digest);
        let signature = self
            .hsm
            .sign(ServiceKey::Sad, SignAlgorithm::Ecdsa, digest)
            .await?;
        let entry = ctx.entry(
            Some(grant.credential.audit_subject()),
            Event::SadIssued {
                sad: claims.jti.to_string(),
                credential: claims.cred.to_string(),
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
            token: token::assemble(&input, &signature),
            expires_in: self.lifetime,
        })
    }

    /// Checks a SAD for a request as [`Sam::sign`] will (signature, expiry, signer, policy,
    /// hashes, uses left) without signing or spending anything; a refusal is recorded. Lets a
    /// caller refuse before it does expensive work for a forged or spent SAD.
    ///
    /// # Errors
    /// As [`Sam::sign`] before signing.
    pub async fn precheck(
        &self,
        request: &SignRequest<'_>,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<(), Error> {
        match self.check(request, ctx, now).await {
            Ok(_) => Ok(()),
            Err((e, sad)) => {
                let credential = request.credential;
                let entry = ctx.entry(
                    Some(credential.audit_subject()),
                    Event::SignatureRefused {
                        credential: credential.id.to_string(),
                        reason: e.reason().to_owned(),
                        sad: sad.map(|id| id.to_string()),
                    },
                );
                self.audit.record(&entry, now.as_millis()).await?;
                Err(e)
            }
        }
    }

    /// Signs every hash of `request` with the credential's key, if the SAD allows it. Refusals
    /// are recorded in the audit log too.
    ///
    /// # Errors
    /// The [`Error`] variants for each refusal; HSM, store and audit failures.
    pub async fn sign(
        &self,
        request: &SignRequest<'_>,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let credential = request.credential;
        let subject = Some(credential.audit_subject());
        let refused = |reason: &str, sad: Option<SadId>| {
            ctx.entry(
                subject.clone(),
                Event::SignatureRefused {
                    credential: credential.id.to_string(),
                    reason: reason.to_owned(),
                    sad: sad.map(|id| id.to_string()),
                },
            )
        };
        let claims = match self.check(request, ctx, now).await {
            Ok(c) => c,
            Err((e, sad)) => {
                tracing::warn!(credential = %credential.id, reason = e.reason(), "signature refused");
                self.audit
                    .record(&refused(e.reason(), sad), now.as_millis())
                    .await?;
                return Err(e);
            }
        };
        let (digests, pending) = to_sign(request)?;
        let signatures = self
            .hsm
            .sign_with_wrapped(&credential.wrapped, request.scheme, digests)
            .await?;
        let count = u32::try_from(request.hashes.len()).unwrap_or(u32::MAX);
        let mut entries: Vec<Entry> = vec![ctx.entry(
            subject.clone(),
            Event::SadConsumed {
                sad: claims.jti.to_string(),
                count,
            },
        )];
        entries.extend(request.hashes.iter().map(|h| {
            ctx.entry(
                subject.clone(),
                Event::SignatureMade {
                    credential: credential.id.to_string(),
                    hash: hex::encode(h.as_bytes()),
                    algorithm: request.sign_algo.to_owned(),
                    policy: claims.pol.clone(),
                    loa: claims.loa.clone(),
                    sad: claims.jti.to_string(),
                },
            )
        }));
        let (id, max, expires_at) = (
            claims.jti.to_string(),
            i64::from(claims.n),
            claims.exp.as_secs(),
        );
        let uses = i64::from(count);
        // A SAD is spent in one mode (signHash, or a document flow) and on each approved hash
        // at most once.
        let mode = if matches!(request.derive, Derive::Hashes) {
            "hash"
        } else {
            "doc"
        };
        let hashes = multiplicities(&request.hashes, &claims.covered(request.hash_algorithm));
        let guard: audit::Guard = Box::new(move |tx| {
            Box::pin(async move { tx.use_sad(&id, uses, max, expires_at, mode, &hashes).await })
        });
        let otherwise = vec![refused("sad_used", Some(claims.jti))];
        if self
            .audit
            .record_if(guard, entries, otherwise, now.as_millis())
            .await?
        {
            tracing::info!(credential = %credential.id, signatures = count, "signatures made");
            if pending.is_empty() {
                Ok(signatures)
            } else {
                Ok(pending
                    .iter()
                    .zip(&signatures)
                    .map(|(p, s)| xades::assemble(p, s))
                    .collect())
            }
        } else {
            tracing::warn!(credential = %credential.id, reason = "sad_used", "signature refused");
            // The signatures are dropped here: they never leave the SAM.
            Err(Error::Used)
        }
    }

    /// The stateless checks of a SAD against a request. On failure, also the SAD id when the
    /// SAD could be read.
    async fn check(
        &self,
        request: &SignRequest<'_>,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<Claims, (Error, Option<SadId>)> {
        let (kid, key) = self.key().await.map_err(|e| (e, None))?;
        let claims = Claims::verify(request.sad, kid, key).ok_or((Error::InvalidSad, None))?;
        let id = Some(claims.jti);
        let fail = |e: Error| Err((e, id));
        let credential = request.credential;
        if now >= claims.exp {
            return fail(Error::Expired);
        }
        if claims.sub != signer(ctx, credential)
            || claims.cred != credential.id
            || claims.cli.as_deref() != client(ctx)
        {
            return fail(Error::NotYours);
        }
        let policy = &credential.policy;
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
        // Each hash is signed at most as often as it was approved: [h1, h1] does not spend an
        // approval of [h1, h2].
        if multiplicities(&request.hashes, &covered)
            .iter()
            .any(|(_, asked, approved)| asked > approved)
        {
            return fail(Error::HashNotCovered);
        }
        // Spent uses are read here to refuse early (and to tell a replay from too many
        // hashes); the conditional update at commit decides races.
        let used = match request.spent {
            Some((sad, used)) if sad == claims.jti => used,
            _ => self
                .store
                .sad_uses(&claims.jti.to_string())
                .await
                .map_err(|e| (e.into(), id))?,
        };
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
