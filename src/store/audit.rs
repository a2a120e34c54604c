//! The audit log's rows and signed checkpoints.

use super::{Error, Store, Tx};

/// One row of the audit log as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// Who acted (`person:<uuid>`, `system`, ...).
    pub actor: String,
    /// Event type name.
    pub event: String,
    /// What the event is about (a certificate serial, a credential id, ...).
    pub subject: Option<String>,
    /// The request id (support reference).
    pub request_id: Option<String>,
    /// The canonical encoding of the record (what is hashed).
    pub record: Vec<u8>,
    /// SHA-256(previous hash || record).
    pub hash: Vec<u8>,
}

/// A signed audit checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckpointRow {
    /// The sequence number it covers (the head at the time).
    pub seq: i64,
    /// The hash of that record.
    pub head_hash: Vec<u8>,
    /// Unix milliseconds.
    pub at: i64,
    /// Label of the HSM key that signed it.
    pub key_label: String,
    /// DER ECDSA signature.
    pub signature: Vec<u8>,
    /// 1 (unchained, before checkpoints were chained) or 2.
    pub version: i64,
    /// The interval in records the log was checkpointed at when this one was made (0 in
    /// version 1).
    pub every: i64,
    /// Version 2: the digest the previous checkpoint signed (32 zero bytes for the first).
    pub prev_hash: Option<Vec<u8>>,
}

/// Which audit rows a query wants; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact subject.
    pub subject: Option<String>,
    /// Exact request id.
    pub request_id: Option<String>,
    /// From this time (Unix ms, inclusive).
    pub from_ms: Option<i64>,
    /// Before this time (Unix ms, exclusive).
    pub to_ms: Option<i64>,
    /// At most this many rows (newest first).
    pub limit: i64,
}

macro_rules! select_audit {
    ($where:literal) => {
        concat!(
            "SELECT seq, at, actor, event, subject, request_id, record, hash FROM audit_log ",
            $where
        )
    };
}

macro_rules! select_checkpoints {
    ($where:literal) => {
        concat!(
            "SELECT seq, head_hash, at, key_label, signature, version, every, prev_hash \
             FROM audit_checkpoints ",
            $where
        )
    };
}

impl Store {
    /// Audit rows with `seq` in `from..to`, in order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_range(&self, from: i64, to: i64) -> Result<Vec<AuditRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            AuditRow,
            select_audit!("WHERE seq >= $1 AND seq < $2 ORDER BY seq"),
            from,
            to
        )?)
    }

    /// The highest audit sequence number, 0 when empty.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_last_seq(&self) -> Result<i64, Error> {
        Ok(fetch!(
            self,
            fetch_one,
            (i64,),
            "SELECT COALESCE(MAX(seq), 0) AS seq FROM audit_log"
        )?
        .0)
    }

    /// Audit rows matching a filter, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_query(&self, f: &AuditFilter) -> Result<Vec<AuditRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            AuditRow,
            select_audit!(
                "WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR subject = $2) \
                 AND ($3 IS NULL OR request_id = $3) AND ($4 IS NULL OR at >= $4) \
                 AND ($5 IS NULL OR at < $5) ORDER BY seq DESC LIMIT $6"
            ),
            &f.actor,
            &f.subject,
            &f.request_id,
            f.from_ms,
            f.to_ms,
            f.limit
        )?)
    }

    /// Audit rows whose request id lies in `[from, to)` (no upper end without `to`), by
    /// request id and newest first within one: the records of a short support reference,
    /// read through the request-id index as a range.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_by_request_range(
        &self,
        from: &str,
        to: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, Error> {
        let to = to.map(str::to_owned);
        Ok(fetch!(
            self,
            fetch_all,
            AuditRow,
            select_audit!(
                "WHERE request_id >= $1 AND ($2 IS NULL OR request_id < $2) \
                 ORDER BY request_id, seq DESC LIMIT $3"
            ),
            from,
            &to,
            limit
        )?)
    }

    /// Stores a checkpoint (a second one for the same `seq` is ignored).
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_checkpoint(&self, c: &CheckpointRow) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        tx.insert_checkpoint(c).await?;
        tx.commit().await
    }

    /// The checkpoint at `seq`, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn checkpoint(&self, seq: i64) -> Result<Option<CheckpointRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            CheckpointRow,
            select_checkpoints!("WHERE seq = $1"),
            seq
        )?)
    }

    /// Checkpoints from `from` on, in order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn checkpoints(&self, from: i64) -> Result<Vec<CheckpointRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            CheckpointRow,
            select_checkpoints!("WHERE seq >= $1 ORDER BY seq"),
            from
        )?)
    }
}

impl Tx {
    /// Serialises audit appends: on PostgreSQL a transaction-scoped advisory lock (released at
    /// commit or rollback), so appends from every node queue; SQLite's `BEGIN IMMEDIATE`
    /// already holds the one write lock.
    ///
    /// # Errors
    /// Database errors.
    pub async fn lock_audit(&mut self) -> Result<(), Error> {
        if let Self::Postgres(t) = self {
            // One fixed 64-bit key for the audit append lock.
            sqlx::query("SELECT pg_advisory_xact_lock(7291000000000000001)")
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// The last audit record's sequence number and hash, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_head(&mut self) -> Result<Option<(i64, Vec<u8>)>, Error> {
        Ok(fetch!(
            tx self,
            fetch_optional,
            (i64, Vec<u8>),
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        )?)
    }

    /// Appends an audit row.
    ///
    /// # Errors
    /// [`Error::Conflict`] if the sequence number is taken; database errors.
    pub async fn insert_audit(&mut self, row: &AuditRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO audit_log (seq, at, actor, event, subject, request_id, record, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            row.seq,
            row.at,
            &row.actor,
            &row.event,
            &row.subject,
            &row.request_id,
            &row.record,
            &row.hash
        )?;
        Ok(())
    }

    /// Stores a signed checkpoint inside this transaction (a second one for the same `seq`
    /// is ignored).
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_checkpoint(&mut self, c: &CheckpointRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO audit_checkpoints \
             (seq, head_hash, at, key_label, signature, version, every, prev_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (seq) DO NOTHING",
            c.seq,
            &c.head_hash,
            c.at,
            &c.key_label,
            &c.signature,
            c.version,
            c.every,
            &c.prev_hash
        )?;
        Ok(())
    }

    /// The newest checkpoint, read inside this transaction (under the audit lock).
    ///
    /// # Errors
    /// Database errors.
    pub async fn last_checkpoint(&mut self) -> Result<Option<CheckpointRow>, Error> {
        Ok(fetch!(
            tx self,
            fetch_optional,
            CheckpointRow,
            select_checkpoints!("ORDER BY seq DESC LIMIT 1")
        )?)
    }
}
