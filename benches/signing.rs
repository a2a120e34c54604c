//! signHash throughput over HTTP against the raw PKCS#11 rate, in the same run.
//!
//! The service runs in this process on loopback HTTP (SoftHSM, SQLite in WAL with
//! `synchronous=FULL`, the audit group commit with a checkpoint every 100 records, the
//! default). Signature activation data is issued up front
//! through the SAM (the bench measures signing, not activation), one SAD per request, each
//! covering the request's hashes. 32 client tasks then call `signatures/signHash`, with one
//! hash and with ten hashes per request; the raw rate is 32 tasks doing unwrap + sign +
//! destroy on the same HSM pool.
//!
//! Run: `cargo bench --bench signing`. Figures go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::cast_precision_loss,
    missing_docs,
    dead_code,
    reason = "benchmark harness"
)]

#[path = "../tests/it/support.rs"]
mod fixtures;

use std::sync::Arc;
use std::time::{Duration, Instant};

use qsign::audit::Context;
use qsign::hsm::{Digest, HashAlgorithm, KeyAlgorithm, SignAlgorithm};
use qsign::identity::loa::Loa;
use qsign::identity::AccountRequest;
use qsign::keys::policy::Scal;
use qsign::sam::Grant;
use qsign::types::{ActivationFactor, UnixTime};
use sha2::Digest as _;

const TASKS: usize = 32;

struct Row {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn row(mut latencies: Vec<Duration>, elapsed: Duration, ops_per_item: usize) -> Row {
    latencies.sort();
    let n = latencies.len();
    Row {
        rate: (n * ops_per_item) as f64 / elapsed.as_secs_f64(),
        p50: latencies[n / 2],
        p99: latencies[(n * 99 / 100).min(n - 1)],
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let svc = fixtures::Service::start_production().await;
    let account = svc
        .identity
        .create_account(
            &AccountRequest {
                username: "bench",
                given_name: "Bench",
                family_name: "Mark",
                password: "bench password",
                with_totp: true,
            },
            &Context::system(),
            svc.now(),
        )
        .await
        .unwrap();
    let owner = qsign::keys::Owner {
        id: account.id,
        given_name: "Bench".into(),
        family_name: "Mark".into(),
    };
    let credentials = svc
        .keys
        .ensure(&owner, &Context::system(), svc.now())
        .await
        .unwrap();
    let credential = credentials
        .into_iter()
        .find(|c| c.policy.name == "advanced")
        .unwrap();
    // A Substantial token (password and TOTP code), as the advanced policy asks.
    let secret = account.totp_secret.clone().unwrap();
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let code = format!(
        "{:06}",
        qsign::identity::totp::code_at(&key, svc.now().div_euclid(qsign::identity::totp::STEP))
    );
    let token = svc
        .identity
        .password_grant(
            "bench",
            "bench password",
            Some(&code),
            None,
            &Context::system(),
            svc.now(),
        )
        .await
        .unwrap()
        .access_token;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(TASKS)
        .build()
        .unwrap();
    println!("| measurement | rate | p50 | p99 |");
    println!("|---|---|---|---|");

    // Raw PKCS#11: unwrap + sign + destroy of a P-256 user key, 32 tasks on the same pool.
    let (wrapped, _) = svc
        .hsm
        .generate_wrapped(KeyAlgorithm::EcP256)
        .await
        .unwrap();
    let raw = {
        let per_task = 150;
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            let hsm = svc.hsm.clone();
            let wrapped = wrapped.clone();
            handles.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                for _ in 0..per_task {
                    let t = Instant::now();
                    let d = Digest::new(HashAlgorithm::Sha256, vec![7; 32]).unwrap();
                    hsm.sign_with_wrapped(&wrapped, SignAlgorithm::Ecdsa, vec![d])
                        .await
                        .unwrap();
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        row(all, start.elapsed(), 1)
    };
    println!(
        "| raw PKCS#11 unwrap + sign + destroy, P-256, {TASKS} tasks | {:.0} signatures/s | {:.2} ms | {:.2} ms |",
        raw.rate,
        raw.p50.as_secs_f64() * 1e3,
        raw.p99.as_secs_f64() * 1e3
    );

    for (hashes_per_request, per_task) in [(1usize, 120usize), (10, 25)] {
        // One SAD per request, issued up front.
        let mut jobs = Vec::new();
        for i in 0..TASKS * per_task {
            let hashes: Vec<Digest> = (0..hashes_per_request)
                .map(|j| Digest::sha256(sha2::Sha256::digest(format!("doc {i} {j}")).into()))
                .collect();
            let b64: Vec<String> = hashes.iter().map(Digest::to_base64).collect();
            let grant = Grant {
                credential: &credential,
                hash_algorithm: HashAlgorithm::Sha256,
                hashes,
                num_signatures: u32::try_from(hashes_per_request).unwrap(),
                loa: Loa::Substantial,
                scal: Scal::Scal1,
                factor: ActivationFactor::Totp,
                label: None,
            };
            let sad = svc
                .sam
                .issue(&grant, &Context::system(), UnixTime::from_secs(svc.now()))
                .await
                .unwrap();
            jobs.push(serde_json::json!({
                "credentialID": credential.id.to_string(),
                "SAD": sad.token,
                "hashes": b64,
                "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
                "signAlgo": "1.2.840.10045.4.3.2",
            }));
        }
        let jobs = Arc::new(std::sync::Mutex::new(jobs));
        let url = svc.url("/csc/v2/signatures/signHash");
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            let (jobs, client, url, token) =
                (jobs.clone(), client.clone(), url.clone(), token.clone());
            handles.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let Some(job) = jobs.lock().unwrap().pop() else {
                        break;
                    };
                    let t = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&job)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status().as_u16(), 200);
                    let _ = response.bytes().await.unwrap();
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        let requests = row(all.clone(), start.elapsed(), 1);
        let signatures = row(all, start.elapsed(), hashes_per_request);
        println!(
            "| signHash over HTTP, {hashes_per_request} hash{} per request, {TASKS} clients | {:.0} requests/s = {:.0} signatures/s ({:.0} % of raw) | {:.2} ms | {:.2} ms |",
            if hashes_per_request == 1 { "" } else { "es" },
            requests.rate,
            signatures.rate,
            100.0 * signatures.rate / raw.rate,
            requests.p50.as_secs_f64() * 1e3,
            requests.p99.as_secs_f64() * 1e3
        );
    }
    svc.stop().await;
}
