//! The audit log under real processes: a server killed with SIGKILL during a load keeps a
//! verifying chain with a record for every timestamp a client received; two servers on one
//! PostgreSQL write one gap-free chain; `qsign audit verify` names a tampered record.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use der::{Decode, Encode};
use qsign::formats::asn1::tsp::TimeStampResp;

use crate::server::Server;
use crate::support;

/// A DER timestamp query made by openssl.
fn query(dir: &Path) -> Vec<u8> {
    let data = dir.join("data.txt");
    std::fs::write(&data, b"load").unwrap();
    let out = dir.join("q.tsq");
    let (ok, text) = support::openssl(&[
        "ts".as_ref(),
        "-query".as_ref(),
        "-data".as_ref(),
        data.as_os_str(),
        "-sha256".as_ref(),
        "-cert".as_ref(),
        "-out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{text}");
    std::fs::read(out).unwrap()
}

/// Sends timestamp requests until `stop` or a connection error; returns the serials and the
/// DER of the tokens received.
async fn load(
    base: String,
    query: Arc<Vec<u8>>,
    stop: Arc<AtomicBool>,
    max: usize,
) -> Vec<(String, Vec<u8>)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut serials = Vec::new();
    while !stop.load(Ordering::Relaxed) && serials.len() < max {
        let sent = client
            .post(format!("{base}/tsa"))
            .header("content-type", "application/timestamp-query")
            .body(query.as_ref().clone())
            .send()
            .await;
        let Ok(response) = sent else { break };
        let Ok(body) = response.bytes().await else {
            break;
        };
        let reply = TimeStampResp::from_der(&body).unwrap();
        assert_eq!(reply.status.status, 0, "timestamp refused");
        let token = reply.time_stamp_token.unwrap().to_der().unwrap();
        let info = qsign::pki::tsa::token_info(&token).unwrap();
        serials.push((hex::encode(info.serial_number.as_bytes()), token));
    }
    serials
}

/// Subjects of every `timestamp_issued` record, from `qsign audit export`.
fn exported_timestamp_serials(cmd: &mut std::process::Command) -> Vec<String> {
    let out = support::run(cmd.args(["audit", "export"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["record"]["event"]["type"] == "timestamp_issued")
        .map(|v| v["record"]["event"]["serial"].as_str().unwrap().to_owned())
        .collect()
}

/// Checks every token with `openssl ts -verify` against the chain `qsign ca export` gives.
fn openssl_verifies_all(
    data_dir: &Path,
    cmd: &mut std::process::Command,
    tokens: &[(String, Vec<u8>)],
) {
    let out = support::run(cmd.args(["ca", "export", "--chain"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chain = data_dir.join("chain.pem");
    std::fs::write(&chain, &out.stdout).unwrap();
    let data = data_dir.join("data.txt");
    for (serial, token) in tokens {
        let path = data_dir.join("token.der");
        std::fs::write(&path, token).unwrap();
        let (ok, text) = support::openssl(&[
            "ts".as_ref(),
            "-verify".as_ref(),
            "-in".as_ref(),
            path.as_os_str(),
            "-token_in".as_ref(),
            "-data".as_ref(),
            data.as_os_str(),
            "-CAfile".as_ref(),
            chain.as_os_str(),
        ]);
        assert!(
            ok && text.contains("Verification: OK"),
            "token {serial}: {text}"
        );
    }
}

fn verify(cmd: &mut std::process::Command) -> (bool, String) {
    let out = support::run(cmd.args(["audit", "verify"]));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_load_loses_no_record_of_a_returned_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let query = Arc::new(query(dir.path()));
    let server = Server::start(
        unlimited(support::qsign(dir.path())),
        &dir.path().join("serve.log"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let base = server.url("");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(tokio::spawn(load(
            base.clone(),
            Arc::clone(&query),
            Arc::clone(&stop),
            usize::MAX,
        )));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.extend(t.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let received: HashSet<String> = tokens.iter().map(|(serial, _)| serial.clone()).collect();
    assert!(
        received.len() > 50,
        "the load made only {} timestamps",
        received.len()
    );
    openssl_verifies_all(dir.path(), &mut support::qsign(dir.path()), &tokens);

    let (ok, text) = verify(&mut support::qsign(dir.path()));
    assert!(ok, "{text}");
    let recorded: HashSet<String> = exported_timestamp_serials(&mut support::qsign(dir.path()))
        .into_iter()
        .collect();
    let missing: Vec<&String> = received.difference(&recorded).collect();
    assert!(
        missing.is_empty(),
        "{} returned timestamps have no audit record",
        missing.len()
    );

    // A clean restart and stop adds its records and a head checkpoint; still verifying.
    let server = Server::start(
        unlimited(support::qsign(dir.path())),
        &dir.path().join("serve2.log"),
    );
    assert!(server.stop().await.success());
    let (ok, text) = verify(&mut support::qsign(dir.path()));
    assert!(ok && text.contains("audit log OK"), "{text}");

    // Tampering with one stored record: verify exits non-zero naming it.
    let url = format!("sqlite://{}", dir.path().join("qsign.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let record: Vec<u8> = sqlx::query_scalar("SELECT record FROM audit_log WHERE seq = 5")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut bad = record.clone();
    bad[10] ^= 0x01;
    sqlx::query("UPDATE audit_log SET record = $1 WHERE seq = 5")
        .bind(bad)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = support::run(support::qsign(dir.path()).args(["audit", "verify"]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("audit chain broken at seq 5"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_write_one_gap_free_chain() {
    let db = support::PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let node = || {
        let mut cmd = support::qsign(dir.path());
        cmd.env("QSIGN_DATABASE_URL", &db.url);
        cmd
    };
    let out = support::run(node().arg("init"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let query = Arc::new(query(dir.path()));
    let a = Server::start(unlimited(node()), &dir.path().join("a.log"));
    let b = Server::start(unlimited(node()), &dir.path().join("b.log"));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for server in [&a, &b] {
        for _ in 0..4 {
            tasks.push(tokio::spawn(load(
                server.url(""),
                Arc::clone(&query),
                Arc::clone(&stop),
                40,
            )));
        }
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.extend(t.await.unwrap());
    }
    assert_eq!(tokens.len(), 320);
    openssl_verifies_all(dir.path(), &mut node(), &tokens);
    assert!(a.stop().await.success());
    assert!(b.stop().await.success());
    let (ok, text) = verify(&mut node());
    assert!(ok, "{text}");
    assert_eq!(exported_timestamp_serials(&mut node()).len(), 320);
    db.drop_now().await;
}

/// `qsign` without the per-source limit on public endpoints: the load comes from one address.
fn unlimited(mut cmd: std::process::Command) -> std::process::Command {
    cmd.env("QSIGN_HTTP_PUBLIC_REQUESTS_PER_SECOND", "0");
    cmd
}
