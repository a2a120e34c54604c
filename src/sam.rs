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
//! for the rest of its transaction (`credentials/extendTransaction`). `input` derives what is
//! signed for each covered hash (the hash, or the CAdES, PAdES or XAdES signed data).

mod extend;
mod input;
mod sad;
mod short_lived;

pub use input::{Derive, InCapacity};
pub use sad::unverified_id as unverified_sad_id;
pub use short_lived::{qualifier_subject, QualifierGrant, ShortLivedRequest, ShortLivedSignatures};

use std::sync::Arc;

use crate::audit::{self, Audit, Context, Entry, Event};
use crate::hsm::{self, Hsm, ServiceKey, SignAlgorithm};
use crate::identity::loa::Loa;
use crate::identity::token::{self, VerifyKey};
use crate::keys::algo;
use crate::keys::policy::{Policy, Scal};
use crate::keys::Credential;
use crate::store::Store;
use crate::types::{ActivationFactor, Digest, HashAlgorithm, PersonId, SadId, UnixTime};
use input::{inputs, mode, signed_output, to_sign};
use sad::Claims;
use serde::Serialize;

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

/// The record of a refused signature with `credential` (an id, or a qualifier's subject).
fn refusal(
    ctx: &Context,
    subject: Option<&str>,
    credential: &str,
    reason: &str,
    sad: Option<SadId>,
) -> Entry {
    ctx.entry(
        subject.map(str::to_owned),
        Event::SignatureRefused {
            credential: credential.to_owned(),
            reason: reason.to_owned(),
            sad: sad.map(|id| id.to_string()),
        },
    )
}

/// The record of a SAD's spending on `hashes`.
fn consumed(ctx: &Context, subject: Option<&str>, claims: &Claims, hashes: &[Digest]) -> Entry {
    ctx.entry(
        subject.map(str::to_owned),
        Event::SadConsumed {
            sad: claims.jti.to_string(),
            count: u32::try_from(hashes.len()).unwrap_or(u32::MAX),
        },
    )
}

/// The records of the signatures made with `credential` (an id, or a short-lived
/// certificate's name), one per hash, under the SAD of `claims`.
fn made(
    ctx: &Context,
    subject: Option<&str>,
    credential: &str,
    hashes: &[Digest],
    sign_algo: &str,
    claims: &Claims,
) -> Vec<Entry> {
    hashes
        .iter()
        .map(|h| {
            ctx.entry(
                subject.map(str::to_owned),
                Event::SignatureMade {
                    credential: credential.to_owned(),
                    hash: hex::encode(h.as_bytes()),
                    algorithm: sign_algo.to_owned(),
                    policy: claims.pol.clone(),
                    loa: claims.loa.clone(),
                    sad: claims.jti.to_string(),
                },
            )
        })
        .collect()
}

/// What a signing request asks of a SAD.
struct Asked<'a> {
    /// The policy the SAD must be of.
    policy: &'a Policy,
    /// The hash algorithm of `hashes`.
    algorithm: HashAlgorithm,
    /// The hashes to sign.
    hashes: &'a [Digest],
    /// The SAD's use count as read with the credential, if it was.
    spent: Option<(SadId, i64)>,
}

/// What the record of an issued SAD says beside its claims.
struct Issued<'a> {
    /// The audit subject (the credential's, or the person's).
    subject: String,
    /// What the SAD is for: the credential id, or a qualifier's subject.
    credential: String,
    /// The approved hashes.
    hashes: &'a [Digest],
    /// The activation factor.
    factor: &'a str,
    /// What the signer was shown the hashes stand for.
    label: Option<String>,
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

    /// A SAD token over `claims`, signed by the SAD key in the HSM.
    async fn signed_token<T: Serialize + Sync>(&self, claims: &T) -> Result<String, Error> {
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

    /// Signs `claims` into a SAD, records its issue and answers it.
    async fn issue_claims(
        &self,
        ctx: &Context,
        claims: &Claims,
        issued: Issued<'_>,
        now: UnixTime,
    ) -> Result<Sad, Error> {
        let token = self.signed_token(claims).await?;
        let entry = ctx.entry(
            Some(issued.subject),
            Event::SadIssued {
                sad: claims.jti.to_string(),
                credential: issued.credential,
                policy: claims.pol.clone(),
                hash_algorithm: claims.halg.clone(),
                hashes: issued
                    .hashes
                    .iter()
                    .map(|h| hex::encode(h.as_bytes()))
                    .collect(),
                num_signatures: claims.n,
                loa: claims.loa.clone(),
                scal: claims.scal.clone(),
                factor: issued.factor.to_owned(),
                label: issued.label,
            },
        );
        self.audit.record(&entry, now.as_millis()).await?;
        Ok(Sad {
            token,
            expires_in: self.lifetime,
        })
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
            cred: Some(grant.credential.id),
            ql: None,
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
        let issued = Issued {
            subject: grant.credential.audit_subject(),
            credential: grant.credential.id.to_string(),
            hashes: &grant.hashes,
            factor: grant.factor.as_str(),
            label: grant.label.clone(),
        };
        self.issue_claims(ctx, &claims, issued, now).await
    }

    /// A check's outcome; a refusal (with the SAD's id when it could be read) is logged,
    /// recorded as `refused` makes its record from the reason and the id, and answered.
    async fn refuse_failed<T>(
        &self,
        checked: Result<T, (Error, Option<SadId>)>,
        refused: impl Fn(&str, Option<SadId>) -> Entry,
        now: UnixTime,
    ) -> Result<T, Error> {
        match checked {
            Ok(value) => Ok(value),
            Err((e, sad)) => {
                tracing::warn!(reason = e.reason(), "signature refused");
                self.audit
                    .record(&refused(e.reason(), sad), now.as_millis())
                    .await?;
                Err(e)
            }
        }
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
        let credential = request.credential;
        let (subject, id) = (credential.audit_subject(), credential.id.to_string());
        let checked = self.check(request, ctx, now).await.map(|_| ());
        let refused = |reason: &str, sad: Option<SadId>| {
            refusal(ctx, Some(subject.as_str()), &id, reason, sad)
        };
        self.refuse_failed(checked, refused, now).await
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
        let (subject, id) = (credential.audit_subject(), credential.id.to_string());
        let refused = |reason: &str, sad: Option<SadId>| {
            refusal(ctx, Some(subject.as_str()), &id, reason, sad)
        };
        let checked = self.check(request, ctx, now).await;
        let claims = self.refuse_failed(checked, &refused, now).await?;
        let inputs = inputs(&request.hashes, request.derive)?;
        let (digests, pending) = to_sign(&inputs, &request.hashes, &credential.certificate)?;
        let signatures = self
            .hsm
            .sign_with_wrapped(&credential.wrapped, request.scheme, digests)
            .await?;
        let subject = Some(subject.as_str());
        let mut entries = vec![consumed(ctx, subject, &claims, &request.hashes)];
        entries.extend(made(
            ctx,
            subject,
            &id,
            &request.hashes,
            request.sign_algo,
            &claims,
        ));
        let asked = Asked {
            policy: &credential.policy,
            algorithm: request.hash_algorithm,
            hashes: &request.hashes,
            spent: None,
        };
        let otherwise = vec![refused("sad_used", Some(claims.jti))];
        if self
            .spend(
                &claims,
                &asked,
                mode(&request.derive),
                entries,
                otherwise,
                now,
            )
            .await?
        {
            tracing::info!(credential = %credential.id, signatures = request.hashes.len(), "signatures made");
            Ok(signed_output(&pending, signatures))
        } else {
            tracing::warn!(credential = %credential.id, reason = "sad_used", "signature refused");
            // The signatures are dropped here: they never leave the SAM.
            Err(Error::Used)
        }
    }

    /// Spends a use of the SAD of `claims` for each hash asked, in `mode`, in one audit
    /// transaction with `entries`: one conditional statement decides races across nodes. When
    /// the uses are gone meanwhile, `otherwise` is recorded instead and the answer is `false`.
    async fn spend(
        &self,
        claims: &Claims,
        asked: &Asked<'_>,
        mode: &'static str,
        entries: Vec<Entry>,
        otherwise: Vec<Entry>,
        now: UnixTime,
    ) -> Result<bool, Error> {
        let (id, max, expires_at) = (
            claims.jti.to_string(),
            i64::from(claims.n),
            claims.exp.as_secs(),
        );
        let uses = i64::try_from(asked.hashes.len()).unwrap_or(i64::MAX);
        let counted = multiplicities(asked.hashes, &claims.covered(asked.algorithm));
        let guard: audit::Guard = Box::new(move |tx| {
            Box::pin(async move { tx.use_sad(&id, uses, max, expires_at, mode, &counted).await })
        });
        Ok(self
            .audit
            .record_if(guard, entries, otherwise, now.as_millis())
            .await?)
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
        let credential = request.credential;
        let theirs = claims.sub == signer(ctx, credential)
            && claims.cred == Some(credential.id)
            && claims.cli.as_deref() == client(ctx);
        let asked = Asked {
            policy: &credential.policy,
            algorithm: request.hash_algorithm,
            hashes: &request.hashes,
            spent: request.spent,
        };
        self.check_terms(&claims, theirs, &asked, now)
            .await
            .map_err(|e| (e, Some(claims.jti)))?;
        Ok(claims)
    }

    /// The checks every SAD gets once its signature verified: not expired; issued to the
    /// caller for what the request signs with (`theirs`); of the asked policy, at its level
    /// and activation strength; the hash algorithm and each hash covered, none more often
    /// than approved; and uses left for them. The uses are read here to refuse early (and to
    /// tell a replay from too many hashes); the conditional update at commit decides races.
    async fn check_terms(
        &self,
        claims: &Claims,
        theirs: bool,
        asked: &Asked<'_>,
        now: UnixTime,
    ) -> Result<(), Error> {
        if now >= claims.exp {
            return Err(Error::Expired);
        }
        if !theirs {
            return Err(Error::NotYours);
        }
        let policy = asked.policy;
        if claims.pol != policy.name
            || Loa::parse(&claims.loa).is_none_or(|l| l < policy.min_loa)
            || (claims.scal == "1" && policy.scal == Scal::Scal2)
        {
            return Err(Error::PolicyNotMet);
        }
        if algo::hash_from_oid(&claims.halg) != Some(asked.algorithm) {
            return Err(Error::HashNotCovered);
        }
        let covered = claims.covered(asked.algorithm);
        if asked.hashes.is_empty() || !asked.hashes.iter().all(|h| covered.contains(h)) {
            return Err(Error::HashNotCovered);
        }
        // Each hash is signed at most as often as it was approved: [h1, h1] does not spend an
        // approval of [h1, h2].
        if multiplicities(asked.hashes, &covered)
            .iter()
            .any(|(_, wanted, approved)| wanted > approved)
        {
            return Err(Error::HashNotCovered);
        }
        let used = match asked.spent {
            Some((sad, used)) if sad == claims.jti => used,
            _ => self.store.sad_uses(&claims.jti.to_string()).await?,
        };
        let count = i64::try_from(asked.hashes.len()).unwrap_or(i64::MAX);
        if used >= i64::from(claims.n) {
            return Err(Error::Used);
        }
        if used.saturating_add(count) > i64::from(claims.n) {
            return Err(Error::CountExceeded);
        }
        Ok(())
    }
}
