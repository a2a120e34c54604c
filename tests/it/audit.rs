//! The audit log on SQLite and PostgreSQL: every kind of tampering is found at the right
//! sequence number, concurrent writers build one gap-free chain, appends are atomic with their
//! transaction, checkpoint signatures verify with openssl, and a log rewritten by a database
//! writer (checkpoints deleted, the chain recomputed, or the whole log replaced) fails.

use qsign::audit::{Actor, Audit, Context, Entry, Event};
use qsign::store::{AuditRow, Store};

use crate::support;

/// Direct database access, as an attacker with database rights would have.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

macro_rules! raw_value {
    ($raw:expr, |$pool:ident| $body:expr) => {
        match $raw {
            Raw::Sqlite($pool) => $body,
            Raw::Postgres($pool) => $body,
        }
    };
}

macro_rules! raw {
    ($raw:expr, |$pool:ident| $body:expr) => {
        match $raw {
            Raw::Sqlite($pool) => {
                $body;
            }
            Raw::Postgres($pool) => {
                $body;
            }
        }
    };
}

impl Raw {
    async fn row(&self, seq: i64) -> AuditRow {
        let sql = "SELECT seq, at, actor, event, subject, request_id, record, hash FROM audit_log WHERE seq = $1";
        raw_value!(self, |p| sqlx::query_as::<_, AuditRow>(sql)
            .bind(seq)
            .fetch_one(p)
            .await
            .unwrap())
    }

    async fn put(&self, seq: i64, r: &AuditRow) {
        let sql = "UPDATE audit_log SET at = $2, actor = $3, event = $4, subject = $5, \
                   request_id = $6, record = $7, hash = $8 WHERE seq = $1";
        raw!(self, |p| sqlx::query(sql)
            .bind(seq)
            .bind(r.at)
            .bind(&r.actor)
            .bind(&r.event)
            .bind(&r.subject)
            .bind(&r.request_id)
            .bind(&r.record)
            .bind(&r.hash)
            .execute(p)
            .await
            .unwrap());
    }

    async fn delete(&self, from: i64, to: i64) {
        let sql = "DELETE FROM audit_log WHERE seq >= $1 AND seq <= $2";
        raw!(self, |p| sqlx::query(sql)
            .bind(from)
            .bind(to)
            .execute(p)
            .await
            .unwrap());
    }

    async fn checkpoint(&self, seq: i64) -> (Vec<u8>, Vec<u8>) {
        let sql = "SELECT head_hash, signature FROM audit_checkpoints WHERE seq = $1";
        raw_value!(self, |p| sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(sql)
            .bind(seq)
            .fetch_one(p)
            .await
            .unwrap())
    }

    async fn delete_checkpoints(&self, from: i64, to: i64) {
        let sql = "DELETE FROM audit_checkpoints WHERE seq >= $1 AND seq <= $2";
        raw!(self, |p| sqlx::query(sql)
            .bind(from)
            .bind(to)
            .execute(p)
            .await
            .unwrap());
    }

    /// Rewrites record `seq` (its subject `credential-N` becomes `credential-X`, same length,
    /// still canonical) and recomputes the hash chain from there to `last`, as a database
    /// writer without the HSM can.
    async fn rewrite_from(&self, seq: i64, last: i64) {
        let mut prev = if seq == 1 {
            vec![0u8; 32]
        } else {
            self.row(seq - 1).await.hash
        };
        for s in seq..=last {
            let mut row = self.row(s).await;
            if s == seq {
                let text = String::from_utf8(row.record.clone()).unwrap();
                let subject = row.subject.clone().unwrap();
                let forged = format!("{}X", &subject[..subject.len() - 1]);
                row.record = text.replace(&subject, &forged).into_bytes();
                row.subject = Some(forged);
            }
            row.hash = qsign::audit::chain_hash(&prev, &row.record).to_vec();
            prev = row.hash.clone();
            self.put(s, &row).await;
        }
    }

    async fn put_checkpoint(&self, seq: i64, head_hash: &[u8], signature: &[u8]) {
        let sql = "UPDATE audit_checkpoints SET head_hash = $2, signature = $3 WHERE seq = $1";
        raw!(self, |p| sqlx::query(sql)
            .bind(seq)
            .bind(head_hash)
            .bind(signature)
            .execute(p)
            .await
            .unwrap());
    }
}

/// A fresh audit log on one back end, with direct access for tampering.
struct Fixture {
    audit: Audit,
    store: Store,
    raw: Raw,
    anchors: tempfile::TempDir,
    _dir: Option<tempfile::TempDir>,
    pg: Option<support::PgDatabase>,
}

impl Fixture {
    async fn sqlite() -> Self {
        let (_token, hsm) = support::new_hsm(4).await;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let store = Store::connect(&url, &support::store_options())
            .await
            .unwrap();
        let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
        let anchors = tempfile::tempdir().unwrap();
        Self {
            audit: Audit::new(store.clone(), hsm, 10).with_anchors(anchors.path().join("a")),
            store,
            raw,
            anchors,
            _dir: Some(dir),
            pg: None,
        }
    }

    async fn postgres() -> Self {
        let (_token, hsm) = support::new_hsm(4).await;
        let db = support::PgDatabase::create().await;
        let store = Store::connect(&db.url, &support::store_options())
            .await
            .unwrap();
        let raw = Raw::Postgres(sqlx::PgPool::connect(&db.url).await.unwrap());
        let anchors = tempfile::tempdir().unwrap();
        Self {
            audit: Audit::new(store.clone(), hsm, 10).with_anchors(anchors.path().join("a")),
            store,
            raw,
            anchors,
            _dir: None,
            pg: Some(db),
        }
    }

    async fn fill(&self, n: i64) {
        for i in 0..n {
            let entry = Entry {
                actor: Actor::Person(qsign::types::PersonId::from(uuid::Uuid::from_u128(
                    u128::try_from(i).unwrap(),
                ))),
                subject: Some(format!("credential-{i}")),
                request_id: Some(format!("req-{i}")),
                event: Event::SignatureMade {
                    credential: format!("credential-{i}"),
                    hash: hex::encode([u8::try_from(i % 256).unwrap(); 32]),
                    algorithm: "1.2.840.10045.4.3.2".into(),
                    policy: "qualified".into(),
                    loa: "https://data.gov.dk/concept/core/nsis/loa/High".into(),
                    sad: "sad-1".into(),
                },
            };
            self.audit
                .record(&entry, 1_700_000_000_000 + i)
                .await
                .unwrap();
        }
    }

    async fn broken_at(&self) -> i64 {
        match self.audit.verify(None, None).await {
            Err(Ok(broken)) => broken.seq,
            Ok(report) => panic!("tampering not found: {report:?}"),
            Err(Err(e)) => panic!("verification failed to run: {e}"),
        }
    }

    fn anchor_dir(&self) -> std::path::PathBuf {
        self.anchors.path().join("a")
    }

    async fn finish(self) {
        match &self.raw {
            Raw::Sqlite(p) => p.close().await,
            Raw::Postgres(p) => p.close().await,
        }
        self.store.close().await;
        if let Some(db) = self.pg {
            db.drop_now().await;
        }
    }
}

async fn changed_bytes_are_found(f: Fixture) {
    f.fill(30).await;
    let report = f.audit.verify(None, None).await.unwrap();
    assert_eq!((report.from, report.to, report.checkpoints), (1, 30, 3));
    for seq in [1, 7, 30] {
        let original = f.raw.row(seq).await;
        for i in 0..original.record.len() {
            let mut bad = original.clone();
            bad.record[i] ^= 0x20;
            f.raw.put(seq, &bad).await;
            assert_eq!(f.broken_at().await, seq, "byte {i} of record {seq}");
        }
        // Changing the stored hash instead is found too.
        let mut bad = original.clone();
        bad.hash[0] ^= 1;
        f.raw.put(seq, &bad).await;
        assert_eq!(f.broken_at().await, seq);
        // So is an indexed column that no longer matches its record.
        let mut bad = original.clone();
        bad.actor = "system".into();
        f.raw.put(seq, &bad).await;
        assert_eq!(f.broken_at().await, seq);
        f.raw.put(seq, &original).await;
    }
    f.audit.verify(None, None).await.unwrap();
    f.finish().await;
}

async fn deletion_and_reordering_are_found(f: Fixture) {
    f.fill(30).await;
    // Reorder: swap the contents of records 5 and 6.
    let (five, six) = (f.raw.row(5).await, f.raw.row(6).await);
    f.raw.put(5, &six).await;
    f.raw.put(6, &five).await;
    assert_eq!(f.broken_at().await, 5);
    f.raw.put(5, &five).await;
    f.raw.put(6, &six).await;
    f.audit.verify(None, None).await.unwrap();
    // Delete one record in the middle.
    f.raw.delete(12, 12).await;
    assert_eq!(f.broken_at().await, 12);
    f.finish().await;
}

async fn truncated_tail_is_found(f: Fixture) {
    f.fill(30).await;
    f.raw.delete(25, 30).await;
    assert_eq!(f.broken_at().await, 30);
    f.finish().await;
}

async fn forged_checkpoints_are_found(f: Fixture) {
    f.fill(30).await;
    let (hash, signature) = f.raw.checkpoint(20).await;
    let mut bad = signature.clone();
    let last = bad.len() - 2;
    bad[last] ^= 1;
    f.raw.put_checkpoint(20, &hash, &bad).await;
    assert_eq!(f.broken_at().await, 20);
    let mut other = hash.clone();
    other[0] ^= 1;
    f.raw.put_checkpoint(20, &other, &signature).await;
    assert_eq!(f.broken_at().await, 20);
    // A checkpoint signed by another key does not verify either.
    let (_t, stranger) = support::new_hsm(1).await;
    let digest = qsign::audit::checkpoint_digest(20, &hash);
    let raw = stranger
        .sign(
            qsign::hsm::ServiceKey::Audit,
            qsign::hsm::SignAlgorithm::Ecdsa,
            qsign::hsm::Digest::new(qsign::hsm::HashAlgorithm::Sha256, digest.to_vec()).unwrap(),
        )
        .await
        .unwrap();
    f.raw
        .put_checkpoint(20, &hash, &qsign::hsm::ecdsa_signature_der(&raw).unwrap())
        .await;
    assert_eq!(f.broken_at().await, 20);
    f.raw.put_checkpoint(20, &hash, &signature).await;
    f.audit.verify(None, None).await.unwrap();

    // Checkpoint signatures are plain ECDSA-SHA256 over tag || seq || interval || hash ||
    // the previous checkpoint's digest: openssl agrees.
    let stored = f.store.checkpoint(20).await.unwrap().unwrap();
    let previous = f.store.checkpoint(10).await.unwrap().unwrap();
    assert_eq!(
        stored.prev_hash.as_deref(),
        Some(qsign::audit::signed_digest(&previous).as_slice())
    );
    let mut message = b"qsign audit checkpoint v2\n".to_vec();
    message.extend_from_slice(&20i64.to_be_bytes());
    message.extend_from_slice(&10i64.to_be_bytes());
    message.extend_from_slice(&hash);
    message.extend_from_slice(stored.prev_hash.as_deref().unwrap());
    let spki = f.audit.public_key_der().await.unwrap();
    assert!(support::openssl_verify(
        &spki,
        &message,
        &signature,
        support::OpensslScheme::Ecdsa
    ));
    f.finish().await;
}

async fn concurrent_writers_make_one_gap_free_chain(f: Fixture) {
    let mut tasks = Vec::new();
    for w in 0..8u32 {
        let audit = f.audit.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25u32 {
                let ctx = Context {
                    actor: Actor::System,
                    request_id: Some(format!("w{w}-{i}")),
                };
                audit
                    .record(
                        &ctx.entry(
                            None,
                            Event::AdminAction {
                                action: "test".into(),
                            },
                        ),
                        1,
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let report = f.audit.verify(None, None).await.unwrap();
    assert_eq!(report.to, 200);
    assert_eq!(report.checkpoints, 20);
    f.finish().await;
}

async fn appends_roll_back_with_their_transaction(f: Fixture) {
    f.fill(3).await;
    let mut tx = f.store.begin().await.unwrap();
    let entry = Context::system().entry(
        None,
        Event::AdminAction {
            action: "abandoned".into(),
        },
    );
    let appended = f.audit.append(&mut tx, &entry, 5).await.unwrap();
    assert_eq!(appended.seq, 4);
    drop(tx);
    assert_eq!(f.store.audit_last_seq().await.unwrap(), 3);
    let again = f.audit.record(&entry, 6).await.unwrap();
    assert_eq!(again.seq, 4);
    f.audit.verify(None, None).await.unwrap();
    // Queries find records by actor, subject and request id (support references).
    let found = f
        .audit
        .query(&qsign::store::AuditFilter {
            request_id: Some("req-1".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].seq, 2);
    f.finish().await;
}

async fn rewritten_logs_are_found(f: Fixture) {
    f.fill(30).await;
    let dir = f.anchor_dir();
    // Every checkpoint was published as a read-only file, and they all match.
    let report = f.audit.verify(None, Some(&dir)).await.unwrap();
    assert_eq!(
        (report.checkpoints, report.anchors, report.uncovered),
        (3, 3, 0)
    );
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(dir.join("checkpoint-00000000000000000010.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o222
    };
    assert_eq!(mode, 0, "anchors are written read-only");

    // One checkpoint deleted: the next no longer chains, the gap is found.
    let (hash, signature) = f.raw.checkpoint(20).await;
    f.raw.delete_checkpoints(20, 20).await;
    assert_eq!(f.broken_at().await, 20);
    f.raw.delete_checkpoints(0, 0).await;
    // Re-inserting it as it was repairs the log (nothing else changed).
    let row = qsign::store::CheckpointRow {
        seq: 20,
        head_hash: hash,
        at: 0,
        key_label: "qsign-audit-1".into(),
        signature,
        version: 2,
        every: 10,
        prev_hash: Some(
            qsign::audit::signed_digest(&f.store.checkpoint(10).await.unwrap().unwrap()).to_vec(),
        ),
    };
    f.store.insert_checkpoint(&row).await.unwrap();
    f.audit.verify(None, None).await.unwrap();

    // The attack: every checkpoint deleted, a record rewritten and the unkeyed chain
    // recomputed. Each record checks against its predecessor, but the checkpoints are missing.
    f.raw.delete_checkpoints(1, 30).await;
    f.raw.rewrite_from(5, 30).await;
    match f.audit.verify(None, None).await {
        Err(Ok(broken)) => {
            assert_eq!(broken.seq, 10, "{broken}");
            assert!(broken.reason.contains("checkpoint missing"), "{broken}");
        }
        other => panic!("a rewritten log passed: {other:?}"),
    }
    // The whole log replaced by a short fresh one that needs no checkpoint yet: only the
    // published checkpoints find it.
    f.raw.delete(1, 30).await;
    f.fill(5).await;
    let report = f.audit.verify(None, None).await.unwrap();
    assert_eq!((report.to, report.uncovered), (5, 5));
    match f.audit.verify(None, Some(&dir)).await {
        Err(Ok(broken)) => {
            assert_eq!(broken.seq, 10, "{broken}");
            assert!(broken.reason.contains("truncated or replaced"), "{broken}");
        }
        other => panic!("a replaced log passed against its anchors: {other:?}"),
    }
    f.finish().await;
}

async fn shutdown_checkpoints_are_not_signed_over_a_rewritten_tail(f: Fixture) {
    f.fill(25).await;
    // A forged anchor file (another head hash) is refused.
    let dir = f.anchor_dir();
    let path = dir.join("checkpoint-00000000000000000020.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["head_hash"] = hex::encode([7u8; 32]).into();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, v.to_string()).unwrap();
    match f.audit.verify(None, Some(&dir)).await {
        Err(Ok(broken)) => {
            assert_eq!(broken.seq, 20, "{broken}");
            assert!(broken.reason.contains("does not verify"), "{broken}");
        }
        other => panic!("a forged anchor passed: {other:?}"),
    }
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, text).unwrap();
    f.audit.verify(None, Some(&dir)).await.unwrap();
    // A tail changed without recomputing the chain: no checkpoint over it.
    let original = f.raw.row(23).await;
    let mut changed = original.clone();
    changed.record[10] ^= 1;
    f.raw.put(23, &changed).await;
    assert!(
        f.audit.checkpoint_head(1).await.is_err(),
        "signed over a broken tail"
    );
    f.raw.put(23, &original).await;
    // The attack of the review: checkpoints deleted, a record rewritten, the chain
    // recomputed; the shutdown checkpoint would have signed the forged history.
    let (hash, signature) = f.raw.checkpoint(20).await;
    f.raw.delete_checkpoints(1, 25).await;
    f.raw.rewrite_from(3, 25).await;
    assert!(
        f.audit.checkpoint_head(1).await.is_err(),
        "a checkpoint was signed over a rewritten log"
    );
    assert!(f.store.checkpoint(25).await.unwrap().is_none());
    f.raw.delete(1, 25).await;
    drop((hash, signature));
    f.finish().await;
}

macro_rules! audit_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn changed_bytes_hashes_and_columns_are_found_at_their_seq() {
                changed_bytes_are_found($make.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn deleted_and_reordered_records_are_found_at_their_seq() {
                deletion_and_reordering_are_found($make.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_truncated_tail_after_a_checkpoint_is_found() {
                truncated_tail_is_found($make.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn forged_checkpoints_are_found_and_real_ones_verify_with_openssl() {
                forged_checkpoints_are_found($make.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rewritten_and_replaced_logs_fail_with_and_without_anchors() {
                rewritten_logs_are_found($make.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn no_shutdown_checkpoint_over_a_rewritten_tail() {
                shutdown_checkpoints_are_not_signed_over_a_rewritten_tail($make.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn eight_concurrent_writers_make_one_gap_free_chain() {
                concurrent_writers_make_one_gap_free_chain($make.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn appends_roll_back_with_their_transaction_and_are_queryable() {
                appends_roll_back_with_their_transaction($make.await).await;
            }
        }
    };
}

audit_suite!(sqlite_backend, Fixture::sqlite());
audit_suite!(postgres_backend, Fixture::postgres());
