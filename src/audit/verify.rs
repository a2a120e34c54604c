//! Verification of the whole log: the hash chain, every checkpoint's signature and link, no
//! checkpoint missing, and agreement with the published anchors.

use super::checkpoint::{check_checkpoint, read_anchors, signed_digest};
use super::record::check_row;
use super::{Audit, Error};

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

impl Audit {
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

pub(super) fn broken(seq: i64, reason: &str) -> Broken {
    Broken {
        seq,
        reason: reason.to_owned(),
    }
}
