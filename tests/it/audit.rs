//! The audit log on SQLite and PostgreSQL: every kind of tampering is found at the right
//! sequence number, concurrent writers build one gap-free chain, appends are atomic with their
//! transaction, and checkpoint signatures verify with openssl.

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
        Self {
            audit: Audit::new(store.clone(), hsm, 10),
            store,
            raw,
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
        Self {
            audit: Audit::new(store.clone(), hsm, 10),
            store,
            raw,
            _dir: None,
            pg: Some(db),
        }
    }

    async fn fill(&self, n: i64) {
        for i in 0..n {
            let entry = Entry {
                actor: Actor::Person(uuid::Uuid::from_u128(u128::try_from(i).unwrap())),
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
        match self.audit.verify(None).await {
            Err(Ok(broken)) => broken.seq,
            Ok(report) => panic!("tampering not found: {report:?}"),
            Err(Err(e)) => panic!("verification failed to run: {e}"),
        }
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
    let report = f.audit.verify(None).await.unwrap();
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
    f.audit.verify(None).await.unwrap();
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
    f.audit.verify(None).await.unwrap();
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
    f.audit.verify(None).await.unwrap();

    // Checkpoint signatures are plain ECDSA-SHA256 over tag || seq || hash: openssl agrees.
    let mut message = b"qsign audit checkpoint v1\n".to_vec();
    message.extend_from_slice(&20i64.to_be_bytes());
    message.extend_from_slice(&hash);
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
    let report = f.audit.verify(None).await.unwrap();
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
    f.audit.verify(None).await.unwrap();
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
