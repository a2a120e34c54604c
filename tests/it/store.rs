//! The store suite, run once per back end: SQLite and PostgreSQL.

use qsign::store::{Backend, Error, Store, StoredKey};

use crate::support;

fn key(id: &str) -> StoredKey {
    StoredKey {
        id: id.into(),
        algorithm: "ec-p256".into(),
        blob: vec![0, 1, 2, 255],
        public_key: vec![48, 3, 1, 2, 3],
        created_at: 1_700_000_000,
    }
}

async fn wrapped_keys_round_trip(store: &Store) {
    store.insert_wrapped_key(&key("a")).await.unwrap();
    assert_eq!(store.wrapped_key("a").await.unwrap(), key("a"));
    assert!(matches!(
        store.wrapped_key("missing").await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.insert_wrapped_key(&key("a")).await,
        Err(Error::Conflict)
    ));
}

async fn settings_upsert(store: &Store) {
    assert_eq!(store.setting("x").await.unwrap(), None);
    store.put_setting("x", "1", 1).await.unwrap();
    store.put_setting("x", "2", 2).await.unwrap();
    assert_eq!(store.setting("x").await.unwrap().as_deref(), Some("2"));
}

/// A SAD's uses grow only up to its maximum; a refused use writes nothing.
async fn sad_uses_stay_within_their_maximum(store: &Store) {
    let use_sad = |uses: i64| async move {
        let mut tx = store.begin().await.unwrap();
        let ok = tx
            .use_sad("sad-1", uses, 3, 2_000_000_000, "hash", &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        ok
    };
    assert_eq!(store.sad_uses("sad-1").await.unwrap(), 0);
    assert!(use_sad(2).await);
    assert!(!use_sad(2).await, "2 + 2 > 3");
    assert_eq!(store.sad_uses("sad-1").await.unwrap(), 2);
    assert!(use_sad(1).await);
    assert!(!use_sad(1).await, "all three used");
    assert!(!use_sad(4).await, "more than the maximum at once");
    assert_eq!(store.sad_uses("sad-1").await.unwrap(), 3);
    assert_eq!(store.prune_sad_uses(2_000_000_001).await.unwrap(), 1);
    assert_eq!(store.sad_uses("sad-1").await.unwrap(), 0);
}

async fn schema_is_migrated(store: &Store) {
    assert_eq!(store.schema_version().await.unwrap(), 11);
    assert_eq!(
        store.tables().await.unwrap(),
        [
            "audit_checkpoints",
            "audit_log",
            "certificates",
            "credentials",
            "crl_numbers",
            "documents",
            "enrolment_codes",
            "external_subjects",
            "login_throttle",
            "oauth_codes",
            "oauth_requests",
            "org_invitations",
            "org_members",
            "organisations",
            "passkeys",
            "persons",
            "revoked_tokens",
            "sad_spent",
            "sad_uses",
            "settings",
            "webauthn_states",
            "wrapped_keys"
        ]
    );
    store.ping().await.unwrap();
}

async fn pruning(store: &Store) {
    let now = 2_000_000_000;
    for (id, expires) in [("old", now - 1), ("live", now + 300)] {
        store
            .put_webauthn_state(id, "p", "login", "{}", expires)
            .await
            .unwrap();
        store.revoke_token(id, expires).await.unwrap();
        store.use_once(&format!("sad-{id}"), expires).await.unwrap();
        store
            .put_enrolment_code(&format!("code-{id}"), id, now - 600, expires, b"tag")
            .await
            .unwrap();
    }
    let pruned = store.prune(now).await.unwrap();
    let count = |table: &str| {
        pruned
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    };
    for table in [
        "webauthn_states",
        "revoked_tokens",
        "sad_uses",
        "enrolment_codes",
    ] {
        assert_eq!(count(table), 1, "{table}: {pruned:?}");
    }
    // The live rows are still there: the state can be taken, the token is still revoked.
    assert!(store
        .take_webauthn_state("live", "p", "login", now)
        .await
        .unwrap()
        .is_some());
    assert!(store.token_revoked("live").await.unwrap());
    assert!(!store.token_revoked("old").await.unwrap());
    assert!(store
        .enrolment_code("code-live", "live", now, false)
        .await
        .unwrap()
        .is_some());
    // Pruning again finds nothing more.
    assert!(store.prune(now).await.unwrap().iter().all(|(_, n)| *n == 0));
}

macro_rules! store_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test]
            async fn sad_uses_stay_within_their_maximum() {
                let (store, guard) = $make.await;
                super::sad_uses_stay_within_their_maximum(&store).await;
                guard.finish(store).await;
            }

            #[tokio::test]
            async fn expired_working_data_is_pruned_and_live_data_kept() {
                let (store, guard) = $make.await;
                pruning(&store).await;
                guard.finish(store).await;
            }

            #[tokio::test]
            async fn wrapped_keys_round_trip_and_conflict() {
                let (store, guard) = $make.await;
                wrapped_keys_round_trip(&store).await;
                guard.finish(store).await;
            }

            #[tokio::test]
            async fn settings_are_upserted() {
                let (store, guard) = $make.await;
                settings_upsert(&store).await;
                guard.finish(store).await;
            }

            #[tokio::test]
            async fn schema_reaches_the_same_version_and_tables() {
                let (store, guard) = $make.await;
                schema_is_migrated(&store).await;
                guard.finish(store).await;
            }
        }
    };
}

/// Keeps a test database alive and removes it afterwards.
enum Guard {
    Sqlite(tempfile::TempDir),
    Postgres(support::PgDatabase),
}

impl Guard {
    async fn finish(self, store: Store) {
        store.close().await;
        match self {
            Self::Sqlite(dir) => drop(dir),
            Self::Postgres(db) => db.drop_now().await,
        }
    }
}

async fn sqlite() -> (Store, Guard) {
    let (store, dir) = support::sqlite_store().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    (store, Guard::Sqlite(dir))
}

async fn postgres() -> (Store, Guard) {
    let db = support::PgDatabase::create().await;
    let store = Store::connect(&db.url, &support::store_options())
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    (store, Guard::Postgres(db))
}

store_suite!(sqlite_backend, sqlite());
store_suite!(postgres_backend, postgres());

#[tokio::test]
async fn unreachable_postgres_is_unavailable_not_a_hang() {
    let options = qsign::store::Options {
        max_connections: 1,
        connect_timeout: std::time::Duration::from_secs(2),
    };
    let err = Store::connect("postgres://postgres:pw@127.0.0.1:1/x", &options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert!(
        !err.to_string().contains("pw"),
        "password in message: {err}"
    );
}

#[tokio::test]
async fn both_backends_have_the_same_migrations() {
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let root = env!("CARGO_MANIFEST_DIR");
    assert_eq!(
        names(&format!("{root}/src/store/migrations/sqlite")),
        names(&format!("{root}/src/store/migrations/postgres"))
    );
}

#[tokio::test]
async fn the_sqlite_database_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let (store, dir) = support::sqlite_store().await;
    store.put_setting("probe", "x", 1).await.unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
        seen += 1;
    }
    assert!(seen >= 2, "the database and its WAL");
    // An existing world-readable file is tightened when opened.
    drop(store);
    let db = dir.path().join("t.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("sqlite://{}", db.display());
    let _again = Store::connect(&url, &support::store_options())
        .await
        .unwrap();
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
