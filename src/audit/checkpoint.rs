//! Checkpoints: the HSM-signed heads of the log, what their signatures cover, and their
//! publication as write-once anchor files outside the database.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::record::check_row;
use super::verify::{broken, Broken};
use super::{Audit, Error};
use crate::hsm::{ecdsa_signature_der, Digest, ServiceKey, SignAlgorithm};
use crate::store::CheckpointRow;

/// Domain separation for checkpoint signatures of version 1 (unchained).
const CHECKPOINT_TAG: &[u8] = b"qsign audit checkpoint v1\n";
/// Domain separation for chained checkpoint signatures (version 2).
const CHECKPOINT_TAG_V2: &[u8] = b"qsign audit checkpoint v2\n";

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
pub(super) fn check_checkpoint(
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
pub(super) fn read_anchors(dir: &std::path::Path) -> Result<Vec<CheckpointRow>, Broken> {
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

impl Audit {
    /// Signs a version 2 checkpoint over `head_hash` at `seq`, chained to `previous`.
    pub(super) async fn make_checkpoint(
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
                Digest::sha256(signed_digest(&row)),
            )
            .await?;
        row.signature = ecdsa_signature_der(&raw)?;
        Ok(row)
    }

    /// Publishes a checkpoint outside the database: a log line always, and a write-once file
    /// in the anchor directory when one is configured. Failures are logged: the checkpoint is
    /// in the database, and `qsign audit verify` reports anchors that are missing.
    pub(super) fn publish(&self, c: &CheckpointRow) {
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
}
