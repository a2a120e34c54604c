//! Audit appends per second on SQLite and PostgreSQL, from 1 and 32 concurrent writers. Each
//! append is one transaction of its own (`Audit::record`): lock, read the head, insert, commit;
//! a checkpoint is signed in the HSM every 100 records.
//!
//! Run: `cargo bench --bench audit` (PostgreSQL at `PG_TEST_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Figures go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    reason = "benchmark harness"
)]

#[path = "support/setup.rs"]
mod support;

use std::time::Duration;

use qsign::audit::{Audit, Context, Event};
use qsign::store::Store;
use sqlx::Connection;

const RUN: Duration = Duration::from_secs(3);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (hsm, _module, dir) = support::hsm_with_keys(&rt, 4);
    let options = qsign::store::Options {
        max_connections: 32,
        connect_timeout: Duration::from_secs(10),
    };
    let admin = std::env::var("PG_TEST_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pg_name = format!("qsign_bench_{}", uuid::Uuid::new_v4().simple());
    let pg_url = format!("{}/{pg_name}", &admin[..admin.rfind('/').unwrap()]);
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {pg_name}")))
            .execute(&mut c)
            .await
            .unwrap();
    });

    println!(
        "qsign audit benchmark ({} s per row; SQLite synchronous=FULL, WAL)\n",
        RUN.as_secs()
    );
    println!("| back end | writers | appends/s | p50 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    for (name, url) in [
        (
            "SQLite",
            format!("sqlite://{}", dir.path().join("audit.db").display()),
        ),
        ("PostgreSQL", pg_url.clone()),
    ] {
        let store = rt.block_on(Store::connect(&url, &options)).unwrap();
        let audit = Audit::new(store.clone(), hsm.clone(), 100);
        for writers in [1, 32] {
            let f = rt.block_on(measure(&audit, writers));
            println!(
                "| {name} | {writers} | {:.0} | {} |",
                f.rate,
                f.latency_cells()
            );
        }
        let report = rt.block_on(audit.verify(None, None)).unwrap();
        assert!(report.to > 0);
        rt.block_on(store.close());
    }
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {pg_name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await
        .unwrap();
    });
}

async fn measure(audit: &Audit, writers: usize) -> support::Figures {
    let audit = audit.clone();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    support::measure(writers, RUN, move || {
        let (audit, counter) = (audit.clone(), std::sync::Arc::clone(&counter));
        async move {
            let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let ctx = Context {
                actor: qsign::audit::Actor::System,
                request_id: Some(format!("r{i}")),
            };
            let entry = ctx.entry(
                Some(format!("credential-{}", i % 32)),
                Event::SignatureMade {
                    credential: format!("credential-{}", i % 32),
                    hash: "ab".repeat(32),
                    algorithm: "1.2.840.10045.4.3.2".into(),
                    policy: "qualified".into(),
                    loa: "https://data.gov.dk/concept/core/nsis/loa/High".into(),
                    sad: "sad-1".into(),
                },
            );
            audit.record(&entry, 1).await.unwrap();
        }
    })
    .await
}
