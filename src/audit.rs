//! The audit log: a typed, hash-chained, HSM-checkpointed ledger of security-relevant events
//! (DESIGN.md §7).
//!
//! Each record is a versioned, canonical JSON encoding of an [`Entry`] (struct fields in a fixed
//! order, no maps, no floats), stored with `hash = SHA-256(previous hash || record)`; the first
//! record chains from 32 zero bytes. Appends run inside the caller's database transaction, after
//! taking the audit lock ([`store::Tx::lock_audit`]), so a record exists if and only if the
//! action it records committed, and the sequence has no gaps or forks even with several nodes
//! on one PostgreSQL. Every `checkpoint_every` records, and at shutdown, the head is signed with
//! the audit key in the HSM.
//!
//! Records hold identifiers and hashes, never document contents, tokens, PINs or key material.
//!
//! May use `store`, `hsm` and `clock`.

use std::sync::Arc;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::hsm::{
    self, ecdsa_signature_der, Digest, HashAlgorithm, Hsm, ServiceKey, SignAlgorithm,
};
use crate::store::{self, AuditFilter, AuditRow, CheckpointRow, Store, Tx};

/// Version of the record encoding.
pub const RECORD_VERSION: u16 = 1;
/// Domain separation for checkpoint signatures of version 1 (unchained).
const CHECKPOINT_TAG: &[u8] = b"qsign audit checkpoint v1\n";
/// Domain separation for chained checkpoint signatures (version 2).
const CHECKPOINT_TAG_V2: &[u8] = b"qsign audit checkpoint v2\n";

/// Errors of the audit log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The HSM failed.
    #[error(transparent)]
    Hsm(#[from] hsm::Error),
    /// A record could not be encoded.
    #[error("audit record encoding failed: {0}")]
    Encoding(String),
    /// The group commit that carried the record failed; the record is not in the log.
    #[error("audit group commit failed: {0}")]
    Commit(String),
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Actor {
    /// A person, by their random UUID.
    Person(uuid::Uuid),
    /// The service itself (start-up, scheduled work).
    System,
    /// An anonymous client of a public endpoint (TSA, OCSP, validation).
    Anonymous,
}

impl Actor {
    /// The indexed text form: `person:<uuid>`, `system`, `anonymous`.
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::Person(id) => format!("person:{id}"),
            Self::System => "system".to_owned(),
            Self::Anonymous => "anonymous".to_owned(),
        }
    }
}

/// What happened. Variant names are stable: they are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Event {
    /// The service started with a configuration (fingerprint of the redacted configuration).
    ServiceStarted {
        /// SHA-256 hex of the effective configuration, secrets redacted.
        config_sha256: String,
        /// Version of qsign.
        version: String,
    },
    /// The service stopped.
    ServiceStopped,
    /// A certificate was issued.
    CertificateIssued {
        /// Serial, hex.
        serial: String,
        /// Profile role (`natural_person`, `tsa`, ...).
        role: String,
        /// Issuing CA.
        issuer: String,
    },
    /// A certificate was revoked.
    CertificateRevoked {
        /// Serial, hex.
        serial: String,
        /// RFC 5280 CRLReason code.
        reason: i32,
    },
    /// The TSA issued a timestamp token.
    TimestampIssued {
        /// Token serial, hex.
        serial: String,
        /// Hash algorithm of the imprint.
        hash_algorithm: String,
        /// The time-stamped hash, hex.
        imprint: String,
    },
    /// A login succeeded.
    Login {
        /// Level of assurance reached (URI).
        loa: String,
        /// Factors used.
        factors: Vec<String>,
    },
    /// A login failed.
    LoginFailed {
        /// Why, as an error code.
        reason: String,
    },
    /// An account was locked after repeated failures.
    Lockout {
        /// Until when (Unix ms).
        until_ms: i64,
    },
    /// A session was stepped up to a higher level of assurance.
    StepUp {
        /// New level (URI).
        loa: String,
    },
    /// A login factor was enrolled.
    FactorEnrolled {
        /// `password`, `totp`, `webauthn`.
        factor: String,
    },
    /// A login factor was removed by its owner (a lost phone or key).
    FactorRemoved {
        /// `totp`, `webauthn`.
        factor: String,
    },
    /// A credential was created.
    CredentialCreated {
        /// Credential id.
        credential: String,
        /// Signature policy.
        policy: String,
    },
    /// A credential was suspended.
    CredentialSuspended {
        /// Credential id.
        credential: String,
    },
    /// A suspended credential was resumed.
    CredentialResumed {
        /// Credential id.
        credential: String,
    },
    /// A credential was revoked.
    CredentialRevoked {
        /// Credential id.
        credential: String,
    },
    /// Signature activation data was issued.
    SadIssued {
        /// SAD id.
        sad: String,
        /// Credential id.
        credential: String,
        /// Signature policy.
        policy: String,
        /// Hash algorithm OID.
        hash_algorithm: String,
        /// Hashes covered, hex.
        hashes: Vec<String>,
        /// Signatures allowed.
        num_signatures: u32,
        /// Level of assurance of the caller's login (URI).
        loa: String,
        /// Activation control level reached (`1` or `2`).
        scal: String,
        /// The activation factor (`webauthn`, `oauth`, `external`, `totp`).
        factor: String,
        /// What the signer was shown the hashes stand for.
        label: Option<String>,
    },
    /// An activation was refused.
    ActivationRefused {
        /// Credential id as asked.
        credential: String,
        /// Why, as an error code.
        reason: String,
    },
    /// Signature activation data was used.
    SadConsumed {
        /// SAD id.
        sad: String,
        /// Uses consumed.
        count: u32,
    },
    /// A signature was made.
    SignatureMade {
        /// Credential id.
        credential: String,
        /// Hash signed, hex.
        hash: String,
        /// Signature algorithm OID.
        algorithm: String,
        /// Signature policy.
        policy: String,
        /// Level of assurance of the activation (URI).
        loa: String,
        /// The SAD used.
        sad: String,
    },
    /// A signing request was refused.
    SignatureRefused {
        /// Credential id as asked.
        credential: String,
        /// Why, as an error code.
        reason: String,
        /// The SAD presented, when it could be read.
        sad: Option<String>,
    },
    /// A file was validated.
    ValidationRequested {
        /// SHA-256 hex of the file.
        document_sha256: String,
    },
    /// An organisation right was granted.
    RightGranted {
        /// CVR number.
        cvr: String,
        /// The right.
        right: String,
        /// To whom.
        person: uuid::Uuid,
    },
    /// An organisation right was revoked.
    RightRevoked {
        /// CVR number.
        cvr: String,
        /// The right.
        right: String,
        /// From whom.
        person: uuid::Uuid,
    },
    /// An administrative action.
    AdminAction {
        /// What was done.
        action: String,
    },
    /// An organisation was registered.
    OrganisationCreated {
        /// CVR number.
        cvr: String,
        /// Registered name.
        name: String,
    },
    /// Someone was invited into an organisation.
    MemberInvited {
        /// CVR number.
        cvr: String,
        /// The invited person, when bound to one.
        person: Option<uuid::Uuid>,
        /// Joins as administrator.
        admin: bool,
    },
    /// A person joined an organisation (accepted an invitation, or as its first administrator).
    MemberJoined {
        /// CVR number.
        cvr: String,
        /// Who.
        person: uuid::Uuid,
        /// As administrator.
        admin: bool,
    },
    /// A member was removed from an organisation.
    MemberRemoved {
        /// CVR number.
        cvr: String,
        /// Who.
        person: uuid::Uuid,
    },
}

impl Event {
    /// The stored event type name.
    #[must_use]
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// Who is acting and under which request: passed down from the HTTP layer or the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Who acts.
    pub actor: Actor,
    /// The request id (support reference), when there is a request.
    pub request_id: Option<String>,
}

impl Context {
    /// The service itself, outside any request.
    #[must_use]
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            request_id: None,
        }
    }

    /// An entry about `subject` by this actor.
    #[must_use]
    pub fn entry(&self, subject: Option<String>, event: Event) -> Entry {
        Entry {
            actor: self.actor.clone(),
            subject,
            request_id: self.request_id.clone(),
            event,
        }
    }
}

/// One audit entry as the caller describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Who acted.
    pub actor: Actor,
    /// What it is about (certificate serial, credential id, ...), indexed.
    pub subject: Option<String>,
    /// The request id (support reference).
    pub request_id: Option<String>,
    /// What happened.
    pub event: Event,
}

/// The canonical record: what is hashed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Encoding version.
    pub v: u16,
    /// Sequence number.
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// Who acted.
    pub actor: Actor,
    /// What it is about.
    pub subject: Option<String>,
    /// Support reference.
    pub request_id: Option<String>,
    /// What happened.
    pub event: Event,
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Sequence number.
    pub seq: i64,
    /// Record hash.
    pub hash: [u8; 32],
}

/// The result of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// First sequence number checked.
    pub from: i64,
    /// Last sequence number checked (0 when empty).
    pub to: i64,
    /// Checkpoints whose signature was verified.
    pub checkpoints: usize,
    /// Sequence number of the last checkpoint, if any.
    pub last_checkpoint: Option<i64>,
    /// Records after the last checkpoint, not yet covered by a signature (fewer than the
    /// checkpoint interval; the next checkpoint or the shutdown checkpoint covers them).
    pub uncovered: i64,
    /// Published checkpoints (anchors outside the database) found and matched.
    pub anchors: usize,
}

/// A verification failure: the first bad sequence number and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {reason}")]
pub struct Broken {
    /// The first sequence number that does not verify.
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// The audit log: cheap to clone.
#[derive(Debug, Clone)]
pub struct Audit {
    store: Store,
    hsm: Hsm,
    checkpoint_every: i64,
    /// Where each checkpoint is also published, write-once, outside the database.
    anchors: Option<Arc<std::path::PathBuf>>,
    /// The audit public key (SEC1 point), read once.
    key: Arc<tokio::sync::OnceCell<p256::ecdsa::VerifyingKey>>,
    /// The group-commit queue of [`Audit::record`], started on first use.
    queue: Arc<tokio::sync::OnceCell<tokio::sync::mpsc::Sender<Queued>>>,
}

/// A record waiting for the next group commit, with where to report the outcome.
/// A condition checked inside the audit transaction before its records are appended: the
/// records land only if it says yes, in the same commit as whatever it wrote (for example a
/// conditional update that uses up signature activation data).
pub type Guard = Box<
    dyn for<'t> FnOnce(
            &'t mut Tx,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<bool, store::Error>> + Send + 't>,
        > + Send,
>;

/// One request to the group-commit writer.
struct Work {
    guard: Option<Guard>,
    /// Appended when there is no guard or it says yes.
    entries: Vec<Entry>,
    /// Appended when the guard says no.
    otherwise: Vec<Entry>,
    at: i64,
}

/// A request and where its outcome goes.
type Queued = (
    Work,
    tokio::sync::oneshot::Sender<Result<(bool, Vec<Appended>), String>>,
);

/// The most requests one group commit takes.
const MAX_BATCH: usize = 256;

impl Audit {
    /// The audit log over a store and the HSM's audit key; a checkpoint every
    /// `checkpoint_every` records.
    #[must_use]
    pub fn new(store: Store, hsm: Hsm, checkpoint_every: u32) -> Self {
        Self {
            store,
            hsm,
            checkpoint_every: i64::from(checkpoint_every.max(1)),
            anchors: None,
            key: Arc::new(tokio::sync::OnceCell::new()),
            queue: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Publishes every checkpoint also as a write-once file in `dir` (and a log line), so that
    /// a rewrite of the whole database is found by `qsign audit verify --anchors DIR`.
    #[must_use]
    pub fn with_anchors(mut self, dir: std::path::PathBuf) -> Self {
        self.anchors = Some(Arc::new(dir));
        self
    }

    /// Appends `entry` inside `tx`. The caller commits, then calls [`Audit::committed`].
    ///
    /// # Errors
    /// Database or encoding failures; the caller's transaction must then be dropped.
    pub async fn append(&self, tx: &mut Tx, entry: &Entry, now_ms: i64) -> Result<Appended, Error> {
        let appended = self
            .append_all(tx, std::iter::once((entry, now_ms)))
            .await?;
        appended
            .first()
            .copied()
            .ok_or_else(|| Error::Encoding("nothing appended".into()))
    }

    /// Appends several entries in order inside `tx`: one lock and one read of the head.
    async fn append_all<'a>(
        &self,
        tx: &mut Tx,
        entries: impl Iterator<Item = (&'a Entry, i64)>,
    ) -> Result<Vec<Appended>, Error> {
        tx.lock_audit().await?;
        let (mut seq, head) = tx.audit_head().await?.unwrap_or((0, vec![0; 32]));
        let mut prev: [u8; 32] = head
            .try_into()
            .map_err(|_| Error::Encoding("stored head hash".into()))?;
        let mut out = Vec::new();
        // A checkpoint at every multiple of the interval, signed inside the same transaction
        // (under the audit lock): none can be skipped, and each chains to the one before.
        let mut last: Option<Option<CheckpointRow>> = None;
        for (entry, now_ms) in entries {
            seq += 1;
            let record = Record {
                v: RECORD_VERSION,
                seq,
                at: now_ms,
                actor: entry.actor.clone(),
                subject: entry.subject.clone(),
                request_id: entry.request_id.clone(),
                event: entry.event.clone(),
            };
            let bytes = serde_json::to_vec(&record).map_err(|e| Error::Encoding(e.to_string()))?;
            let hash = chain_hash(&prev, &bytes);
            tx.insert_audit(&AuditRow {
                seq,
                at: now_ms,
                actor: entry.actor.key(),
                event: entry.event.name(),
                subject: entry.subject.clone(),
                request_id: entry.request_id.clone(),
                record: bytes,
                hash: hash.to_vec(),
            })
            .await?;
            prev = hash;
            out.push(Appended { seq, hash });
            if seq % self.checkpoint_every == 0 {
                let previous = match last.take() {
                    Some(known) => known,
                    None => tx.last_checkpoint().await?,
                };
                let made = self
                    .make_checkpoint(seq, hash.to_vec(), previous.as_ref(), now_ms)
                    .await?;
                tx.insert_checkpoint(&made).await?;
                last = Some(Some(made));
            }
        }
        Ok(out)
    }

    /// Signs a version 2 checkpoint over `head_hash` at `seq`, chained to `previous`.
    async fn make_checkpoint(
        &self,
        seq: i64,
        head_hash: Vec<u8>,
        previous: Option<&CheckpointRow>,
        now_ms: i64,
    ) -> Result<CheckpointRow, Error> {
        let prev_hash = previous.map_or_else(|| vec![0u8; 32], |c| signed_digest(c).to_vec());
        let mut row = CheckpointRow {
            seq,
            head_hash,
            at: now_ms,
            key_label: ServiceKey::Audit.label().to_owned(),
            signature: Vec::new(),
            version: 2,
            every: self.checkpoint_every,
            prev_hash: Some(prev_hash),
        };
        let raw = self
            .hsm
            .sign(
                ServiceKey::Audit,
                SignAlgorithm::Ecdsa,
                Digest::new(HashAlgorithm::Sha256, signed_digest(&row).to_vec())?,
            )
            .await?;
        row.signature = ecdsa_signature_der(&raw)?;
        Ok(row)
    }

    /// Publishes a checkpoint outside the database: a log line always, and a write-once file
    /// in the anchor directory when one is configured. Failures are logged: the checkpoint is
    /// in the database, and `qsign audit verify` reports anchors that are missing.
    fn publish(&self, c: &CheckpointRow) {
        tracing::info!(
            seq = c.seq,
            head_hash = %hex::encode(&c.head_hash),
            signature = %hex::encode(&c.signature),
            "audit checkpoint"
        );
        let Some(dir) = self.anchors.as_deref() else {
            return;
        };
        if let Err(e) = write_anchor(dir, c) {
            tracing::error!(seq = c.seq, dir = %dir.display(), error = %e, "audit anchor not written");
        }
    }

    /// Appends `entry` inside `tx` and commits it: the action and its record land together
    /// or not at all. Then signs a checkpoint if one is due.
    ///
    /// # Errors
    /// Database or encoding failures; nothing was committed.
    pub async fn append_and_commit(
        &self,
        mut tx: Tx,
        entry: &Entry,
        now_ms: i64,
    ) -> Result<Appended, Error> {
        let appended = self.append(&mut tx, entry, now_ms).await?;
        tx.commit().await?;
        self.committed(appended, now_ms).await;
        Ok(appended)
    }

    /// Appends several entries inside `tx` and commits them with it.
    ///
    /// # Errors
    /// Database or encoding failures; nothing was committed.
    pub async fn append_many_and_commit(
        &self,
        mut tx: Tx,
        entries: &[Entry],
        now_ms: i64,
    ) -> Result<(), Error> {
        let appended = self
            .append_all(&mut tx, entries.iter().map(|e| (e, now_ms)))
            .await?;
        tx.commit().await?;
        for a in appended {
            self.committed(a, now_ms).await;
        }
        Ok(())
    }

    /// After the transaction of an append committed: publishes the checkpoint that was signed
    /// with it when the record is at a multiple of `checkpoint_every`.
    pub async fn committed(&self, appended: Appended, _now_ms: i64) {
        if appended.seq % self.checkpoint_every == 0 {
            match self.store.checkpoint(appended.seq).await {
                Ok(Some(c)) => self.publish(&c),
                Ok(None) => tracing::error!(seq = appended.seq, "audit checkpoint missing"),
                Err(e) => {
                    tracing::error!(seq = appended.seq, error = %e, "audit checkpoint unread")
                }
            }
        }
    }

    /// Records `entry` for an event with no other database change, and returns once it is
    /// committed. Concurrent calls share transactions (group commit): while one transaction
    /// commits, the next records queue and go into the following one together.
    ///
    /// # Errors
    /// Database or encoding failures: the event is not recorded, and the caller must not go on
    /// as if it were.
    pub async fn record(&self, entry: &Entry, now_ms: i64) -> Result<Appended, Error> {
        let (_, appended) = self
            .submit(None, vec![entry.clone()], Vec::new(), now_ms)
            .await?;
        appended
            .first()
            .copied()
            .ok_or_else(|| Error::Encoding("nothing appended".into()))
    }

    /// Runs `guard` inside a group-commit transaction; if it says yes, appends `entries` in
    /// that transaction, otherwise `otherwise`. Returns the guard's answer once the
    /// transaction committed: what the guard wrote and the records are durable together, or
    /// neither is.
    ///
    /// # Errors
    /// Database or encoding failures: nothing of it was committed.
    pub async fn record_if(
        &self,
        guard: Guard,
        entries: Vec<Entry>,
        otherwise: Vec<Entry>,
        now_ms: i64,
    ) -> Result<bool, Error> {
        Ok(self
            .submit(Some(guard), entries, otherwise, now_ms)
            .await?
            .0)
    }

    async fn submit(
        &self,
        guard: Option<Guard>,
        entries: Vec<Entry>,
        otherwise: Vec<Entry>,
        at: i64,
    ) -> Result<(bool, Vec<Appended>), Error> {
        let queue = self
            .queue
            .get_or_init(|| async {
                let (sender, receiver) = tokio::sync::mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(self.clone().commit_loop(receiver));
                sender
            })
            .await;
        let (done, outcome) = tokio::sync::oneshot::channel();
        let queued = (
            Work {
                guard,
                entries,
                otherwise,
                at,
            },
            done,
        );
        queue
            .send(queued)
            .await
            .map_err(|_| Error::Commit("the audit writer stopped".into()))?;
        outcome
            .await
            .map_err(|_| Error::Commit("the audit writer stopped".into()))?
            .map_err(Error::Commit)
    }

    /// The group-commit writer: takes everything queued, runs the guards and appends the
    /// records in one transaction, commits, then answers every waiter.
    async fn commit_loop(self, mut receiver: tokio::sync::mpsc::Receiver<Queued>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let now_ms = batch.last().map_or(0, |(w, _): &Queued| w.at);
            let (work, waiters): (Vec<Work>, Vec<_>) = batch.drain(..).unzip();
            let outcome = self.commit_batch(work).await;
            match outcome {
                Ok(results) => {
                    // Checkpoints first, so that a caller who sees its record committed also
                    // sees the checkpoint it was due.
                    for a in results.iter().flat_map(|(_, a)| a) {
                        self.committed(*a, now_ms).await;
                    }
                    for (done, result) in waiters.into_iter().zip(results) {
                        let _ = done.send(Ok(result));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, requests = waiters.len(), "audit group commit failed");
                    for done in waiters {
                        let _ = done.send(Err(e.to_string()));
                    }
                }
            }
        }
    }

    /// One group commit. The audit lock is taken first, so that guards from several nodes
    /// run one transaction at a time and cannot deadlock on each other's rows.
    async fn commit_batch(&self, work: Vec<Work>) -> Result<Vec<(bool, Vec<Appended>)>, Error> {
        let mut tx = self.store.begin().await?;
        tx.lock_audit().await?;
        let mut chosen = Vec::with_capacity(work.len());
        for q in work {
            let passed = match q.guard {
                Some(guard) => guard(&mut tx).await?,
                None => true,
            };
            let entries = if passed { q.entries } else { q.otherwise };
            chosen.push((passed, entries, q.at));
        }
        let mut flat: Vec<(&Entry, i64)> = Vec::new();
        for (_, entries, at) in &chosen {
            flat.extend(entries.iter().map(|e| (e, *at)));
        }
        let appended = self.append_all(&mut tx, flat.into_iter()).await?;
        tx.commit().await?;
        let mut appended = appended.into_iter();
        Ok(chosen
            .iter()
            .map(|(passed, entries, _)| (*passed, appended.by_ref().take(entries.len()).collect()))
            .collect())
    }

    /// Signs a checkpoint over the current head unless it already has one (shutdown), after
    /// checking that the records since the last checkpoint chain from it: a log whose tail
    /// was rewritten is not signed over.
    ///
    /// # Errors
    /// Database or HSM failures; [`Error::Encoding`] when the tail does not chain.
    pub async fn checkpoint_head(&self, now_ms: i64) -> Result<Option<i64>, Error> {
        let mut tx = self.store.begin().await?;
        tx.lock_audit().await?;
        let Some((head, head_hash)) = tx.audit_head().await? else {
            return Ok(None);
        };
        let previous = tx.last_checkpoint().await?;
        if previous.as_ref().is_some_and(|c| c.seq >= head) {
            return Ok(None);
        }
        let (from, mut prev) = match &previous {
            Some(c) => (c.seq + 1, c.head_hash.clone()),
            None => (1, vec![0u8; 32]),
        };
        // A checkpoint that should exist and does not: the log was rewritten (its checkpoints
        // deleted); signing now would bless the forgery.
        let interval = previous
            .as_ref()
            .map_or(self.checkpoint_every, |c| c.every.max(1));
        if head - (from - 1) >= interval.max(self.checkpoint_every) {
            return Err(Error::Encoding(format!(
                "audit checkpoint missing after record {}; not signing",
                from - 1
            )));
        }
        for row in self.store.audit_range(from, head + 1).await? {
            if check_row(&row, &prev).is_err() {
                return Err(Error::Encoding(format!(
                    "audit record {} does not chain from the last checkpoint; not signing",
                    row.seq
                )));
            }
            prev = row.hash;
        }
        let made = self
            .make_checkpoint(head, head_hash, previous.as_ref(), now_ms)
            .await?;
        tx.insert_checkpoint(&made).await?;
        tx.commit().await?;
        self.publish(&made);
        Ok(Some(head))
    }

    /// Verifies the chain from `from` (1 when `None`) to the head; every checkpoint's
    /// signature and its link to the one before; that no checkpoint is missing (one at least
    /// every interval, the head included: a log whose checkpoints were deleted fails); and,
    /// with `anchors`, that every checkpoint published there is signed, in the log, and matches
    /// it (a log rewritten or replaced as a whole fails). With `from > 1` the stored hash of
    /// `from - 1` is the (trusted) anchor of the chain.
    ///
    /// # Errors
    /// `Err(Ok(Broken))` names the first bad sequence number; `Err(Err(_))` is a failure to
    /// read the log.
    pub async fn verify(
        &self,
        from: Option<i64>,
        anchors: Option<&std::path::Path>,
    ) -> Result<Report, Result<Broken, Error>> {
        let from = from.unwrap_or(1).max(1);
        let last = self
            .store
            .audit_last_seq()
            .await
            .map_err(|e| Err(e.into()))?;
        let mut prev = if from == 1 {
            vec![0u8; 32]
        } else {
            let anchor = self
                .store
                .audit_range(from - 1, from)
                .await
                .map_err(|e| Err(e.into()))?;
            match anchor.first() {
                Some(row) => row.hash.clone(),
                None => return Err(Ok(broken(from - 1, "record missing"))),
            }
        };
        let all = self.store.checkpoints(1).await.map_err(|e| Err(e.into()))?;
        let published = match anchors {
            Some(dir) if !dir.exists() => {
                // No published checkpoint at all: fine only while none was due.
                if let Some(c) = all.iter().find(|c| c.version >= 2) {
                    return Err(Ok(broken(
                        c.seq,
                        &format!(
                            "the anchor directory {} is missing: the published checkpoints are gone",
                            dir.display()
                        ),
                    )));
                }
                Vec::new()
            }
            Some(dir) => read_anchors(dir).map_err(Ok)?,
            None => Vec::new(),
        };
        let mut hashes = std::collections::HashMap::new();
        let wanted: std::collections::HashSet<i64> = all
            .iter()
            .map(|c| c.seq)
            .chain(published.iter().map(|c| c.seq))
            .filter(|s| *s >= from)
            .collect();
        let mut expected = from;
        const PAGE: i64 = 1000;
        while expected <= last {
            let rows = self
                .store
                .audit_range(expected, expected + PAGE)
                .await
                .map_err(|e| Err(e.into()))?;
            if rows.is_empty() {
                return Err(Ok(broken(expected, "record missing")));
            }
            for row in rows {
                if row.seq != expected {
                    return Err(Ok(broken(expected, "record missing")));
                }
                check_row(&row, &prev).map_err(|reason| Ok(broken(row.seq, reason)))?;
                if wanted.contains(&row.seq) {
                    hashes.insert(row.seq, row.hash.clone());
                }
                prev = row.hash;
                expected += 1;
            }
        }
        let key = self.audit_key().await.map_err(Err)?;
        let mut link: Option<[u8; 32]> = None;
        let mut covered = 0;
        let mut interval = self.checkpoint_every;
        for c in &all {
            // No checkpoint may be missing: the next is due one interval after the last.
            if c.seq - covered > interval {
                return Err(Ok(broken(
                    covered + interval,
                    "checkpoint missing (deleted, or the log was rewritten)",
                )));
            }
            check_checkpoint(&key, c).map_err(|reason| Ok(broken(c.seq, reason)))?;
            if c.version >= 2 {
                let expected_link = link.unwrap_or([0; 32]);
                if c.prev_hash.as_deref() != Some(expected_link.as_slice()) {
                    return Err(Ok(broken(
                        c.seq,
                        "checkpoint does not chain to the one before (a checkpoint was removed or replaced)",
                    )));
                }
            }
            if c.seq >= from {
                match hashes.get(&c.seq) {
                    Some(hash) if hash == &c.head_hash => {}
                    Some(_) => {
                        return Err(Ok(broken(
                            c.seq,
                            "checkpoint hash differs from the record's hash",
                        )))
                    }
                    None => {
                        return Err(Ok(broken(
                            c.seq,
                            "checkpoint names a record that is not in the log",
                        )))
                    }
                }
            }
            link = Some(signed_digest(c));
            covered = c.seq;
            if c.every > 0 {
                interval = c.every;
            }
        }
        // The head: the records after the last checkpoint must be fewer than an interval.
        if last - covered >= interval {
            return Err(Ok(broken(
                covered + interval,
                "checkpoint missing (deleted, or the log was rewritten)",
            )));
        }
        if anchors.is_some() {
            // Every chained checkpoint was published when it was made: one missing from the
            // directory means the directory (or the log) was tampered with.
            if let Some(c) = all
                .iter()
                .filter(|c| c.version >= 2)
                .find(|c| !published.iter().any(|a| a.seq == c.seq))
            {
                return Err(Ok(broken(
                    c.seq,
                    "a checkpoint of the log is missing from the published checkpoints",
                )));
            }
        }
        for anchor in &published {
            check_checkpoint(&key, anchor).map_err(|reason| {
                Ok(broken(
                    anchor.seq,
                    &format!("published checkpoint: {reason}"),
                ))
            })?;
            if anchor.seq > last {
                return Err(Ok(broken(
                    anchor.seq,
                    "a published checkpoint names a record beyond the head: the log was truncated or replaced",
                )));
            }
            if anchor.seq >= from && hashes.get(&anchor.seq) != Some(&anchor.head_hash) {
                return Err(Ok(broken(
                    anchor.seq,
                    "the log differs from the published checkpoint: it was rewritten",
                )));
            }
            if !all
                .iter()
                .any(|c| c.seq == anchor.seq && c.signature == anchor.signature)
            {
                return Err(Ok(broken(
                    anchor.seq,
                    "a published checkpoint is missing from the database",
                )));
            }
        }
        Ok(Report {
            from,
            to: last,
            checkpoints: all.len(),
            last_checkpoint: all.last().map(|c| c.seq),
            uncovered: last - covered,
            anchors: published.len(),
        })
    }

    /// Rows from `from` to `to` (inclusive) for export.
    ///
    /// # Errors
    /// Database failures.
    pub async fn range(&self, from: i64, to: i64) -> Result<Vec<AuditRow>, Error> {
        Ok(self.store.audit_range(from, to.saturating_add(1)).await?)
    }

    /// Rows matching a filter, newest first (support and history queries).
    ///
    /// # Errors
    /// Database failures.
    pub async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, Error> {
        Ok(self.store.audit_query(filter).await?)
    }

    /// The audit public key as DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn public_key_der(&self) -> Result<Vec<u8>, Error> {
        Ok(self.hsm.public_key(ServiceKey::Audit).await?)
    }

    async fn audit_key(&self) -> Result<p256::ecdsa::VerifyingKey, Error> {
        self.key
            .get_or_try_init(|| async {
                let spki = self.public_key_der().await?;
                let point = spki
                    .get(spki.len().saturating_sub(65)..)
                    .unwrap_or_default();
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map_err(|_| Error::Encoding("audit public key".into()))
            })
            .await
            .copied()
    }
}

/// `SHA-256(previous hash || record)`.
#[must_use]
pub fn chain_hash(prev: &[u8], record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(record);
    h.finalize().into()
}

/// What a checkpoint signature covers: SHA-256(tag || seq (8 bytes, big endian) || head hash).
#[must_use]
pub fn checkpoint_digest(seq: i64, head_hash: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHECKPOINT_TAG);
    h.update(seq.to_be_bytes());
    h.update(head_hash);
    h.finalize().into()
}

/// What a checkpoint's signature covers, by its version: version 1 SHA-256(tag || seq ||
/// head hash); version 2 SHA-256(tag v2 || seq || interval || head hash || previous
/// checkpoint's digest).
#[must_use]
pub fn signed_digest(c: &CheckpointRow) -> [u8; 32] {
    if c.version < 2 {
        return checkpoint_digest(c.seq, &c.head_hash);
    }
    let mut h = Sha256::new();
    h.update(CHECKPOINT_TAG_V2);
    h.update(c.seq.to_be_bytes());
    h.update(c.every.to_be_bytes());
    h.update(&c.head_hash);
    h.update(c.prev_hash.as_deref().unwrap_or_default());
    h.finalize().into()
}

/// Checks a checkpoint's signature with the audit key.
fn check_checkpoint(
    key: &p256::ecdsa::VerifyingKey,
    c: &CheckpointRow,
) -> Result<(), &'static str> {
    let signature = p256::ecdsa::Signature::from_der(&c.signature)
        .map_err(|_| "checkpoint signature is not DER ECDSA")?;
    key.verify_prehash(&signed_digest(c), &signature)
        .map_err(|_| "checkpoint signature does not verify")
}

/// A published checkpoint, as its file holds it (hashes and signature in hex).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Anchor {
    seq: i64,
    head_hash: String,
    at: i64,
    key_label: String,
    signature: String,
    version: i64,
    every: i64,
    prev_hash: Option<String>,
}

/// The file of a published checkpoint.
fn anchor_name(seq: i64) -> String {
    format!("checkpoint-{seq:020}.json")
}

/// Writes a checkpoint to the anchor directory once: never replaced (an existing file with
/// other content is an error), read-only.
fn write_anchor(dir: &std::path::Path, c: &CheckpointRow) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    std::fs::create_dir_all(dir)?;
    let path = dir.join(anchor_name(c.seq));
    let body = serde_json::to_string(&Anchor {
        seq: c.seq,
        head_hash: hex::encode(&c.head_hash),
        at: c.at,
        key_label: c.key_label.clone(),
        signature: hex::encode(&c.signature),
        version: c.version,
        every: c.every,
        prev_hash: c.prev_hash.as_deref().map(hex::encode),
    })
    .map_err(std::io::Error::other)?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(body.as_bytes())?;
            file.sync_all()?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if std::fs::read_to_string(&path)? == body {
                Ok(())
            } else {
                Err(std::io::Error::other(format!(
                    "{} exists with other content",
                    path.display()
                )))
            }
        }
        Err(e) => Err(e),
    }
}

/// Every checkpoint published in `dir`, in order.
fn read_anchors(dir: &std::path::Path) -> Result<Vec<CheckpointRow>, Broken> {
    let unreadable = |what: String| broken(0, &format!("anchor directory: {what}"));
    let entries =
        std::fs::read_dir(dir).map_err(|e| unreadable(format!("{}: {e}", dir.display())))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| unreadable(e.to_string()))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with("checkpoint-") || !name.ends_with(".json") {
            continue;
        }
        let text = std::fs::read(&path).map_err(|e| unreadable(format!("{name}: {e}")))?;
        let not_one = || unreadable(format!("{name} is not a checkpoint"));
        let a: Anchor = serde_json::from_slice(&text).map_err(|_| not_one())?;
        let row = CheckpointRow {
            seq: a.seq,
            head_hash: hex::decode(&a.head_hash).map_err(|_| not_one())?,
            at: a.at,
            key_label: a.key_label,
            signature: hex::decode(&a.signature).map_err(|_| not_one())?,
            version: a.version,
            every: a.every,
            prev_hash: a
                .prev_hash
                .map(|h| hex::decode(h).map_err(|_| not_one()))
                .transpose()?,
        };
        if anchor_name(row.seq) != name {
            return Err(unreadable(format!("{name} names seq {}", row.seq)));
        }
        out.push(row);
    }
    out.sort_by_key(|c| c.seq);
    Ok(out)
}

/// Checks one stored row against the previous hash: hash, canonical decoding, and that the
/// record's own fields match the indexed columns.
fn check_row(row: &AuditRow, prev: &[u8]) -> Result<(), &'static str> {
    if chain_hash(prev, &row.record).as_slice() != row.hash.as_slice() {
        return Err("hash does not match the record and its predecessor");
    }
    let record: Record =
        serde_json::from_slice(&row.record).map_err(|_| "record does not decode")?;
    if record.v != RECORD_VERSION {
        return Err("unknown record version");
    }
    let canonical = serde_json::to_vec(&record).map_err(|_| "record does not encode")?;
    if canonical != row.record {
        return Err("record is not in canonical form");
    }
    if record.seq != row.seq
        || record.at != row.at
        || record.actor.key() != row.actor
        || record.event.name() != row.event
        || record.subject != row.subject
        || record.request_id != row.request_id
    {
        return Err("indexed columns differ from the record");
    }
    Ok(())
}

fn broken(seq: i64, reason: &str) -> Broken {
    Broken {
        seq,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, prev: &[u8], event: Event) -> AuditRow {
        let record = Record {
            v: RECORD_VERSION,
            seq,
            at: 1000 + seq,
            actor: Actor::System,
            subject: Some("s".into()),
            request_id: None,
            event: event.clone(),
        };
        let bytes = serde_json::to_vec(&record).unwrap();
        AuditRow {
            seq,
            at: 1000 + seq,
            actor: "system".into(),
            event: event.name(),
            subject: Some("s".into()),
            request_id: None,
            hash: chain_hash(prev, &bytes).to_vec(),
            record: bytes,
        }
    }

    #[test]
    fn event_names_are_stable_snake_case() {
        assert_eq!(Event::ServiceStopped.name(), "service_stopped");
        assert_eq!(
            Event::TimestampIssued {
                serial: "a".into(),
                hash_algorithm: "sha256".into(),
                imprint: "b".into()
            }
            .name(),
            "timestamp_issued"
        );
    }

    #[test]
    fn a_good_row_checks_and_every_changed_byte_fails() {
        let r = row(1, &[0; 32], Event::ServiceStopped);
        check_row(&r, &[0; 32]).unwrap();
        for i in 0..r.record.len() {
            let mut bad = r.clone();
            bad.record[i] ^= 0x01;
            assert!(
                check_row(&bad, &[0; 32]).is_err(),
                "byte {i} flipped and still fine"
            );
        }
        assert!(check_row(&r, &[1; 32]).is_err());
    }

    #[test]
    fn re_encoded_rows_must_match_their_columns() {
        let mut r = row(1, &[0; 32], Event::ServiceStopped);
        r.actor = "person:x".into();
        assert_eq!(
            check_row(&r, &[0; 32]),
            Err("indexed columns differ from the record")
        );
    }

    #[test]
    fn checkpoint_digest_binds_seq_and_hash() {
        assert_ne!(
            checkpoint_digest(1, &[0; 32]),
            checkpoint_digest(2, &[0; 32])
        );
        assert_ne!(
            checkpoint_digest(1, &[0; 32]),
            checkpoint_digest(1, &[1; 32])
        );
    }
}
