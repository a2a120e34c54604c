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

mod checkpoint;
mod record;
#[cfg(test)]
mod tests;
mod verify;
mod writer;

use std::sync::Arc;

use crate::hsm::{self, Hsm, ServiceKey};
use crate::store::{self, AuditFilter, AuditRow, CheckpointRow, Store, Tx};

pub use checkpoint::{checkpoint_digest, signed_digest};
pub use record::{
    chain_hash, Actor, Appended, Context, Entry, Event, MandateMember, MandateParties, NewMandate,
    Record, RECORD_VERSION,
};
pub use verify::{Broken, Report};
pub use writer::Guard;
use writer::Queued;

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
}
