//! CSC throughput over HTTP: approvals (`credentials/authorize` issuing a SAD),
//! asynchronous signatures end to end (`signatures/signHash` with `operationMode` "A", 100
//! hashes per request, polled with `signatures/signPolling` until the signatures are there)
//! and an organisation's seal signatures by its system clients (CSC §8.5), beside the raw
//! PKCS#11 rates of the same run.
//!
//! The service runs in this process on loopback HTTP, as in the signing benchmark (SoftHSM
//! with a pool of 4 sessions, SQLite in WAL with `synchronous=FULL`, a checkpoint every 100
//! audit records, asynchronous signing with its defaults: 8 workers). The clients are 16
//! persons of the test's trusted external issuer (the broker of `tests/it/support.rs`), one per
//! client task, each with the qualified credential (High, SCAL2).
//!
//! - **Approvals** need no human: each is an access token of the broker that carries
//!   `authorization_details` for one document's hash (what the broker's own page would have
//!   shown), made by this process before the clock starts; `credentials/authorize` without a
//!   factor checks the approval (once per token) and issues the SAD (signed in the HSM,
//!   audited).
//! - **Asynchronous signing** uses one SAD over 100 hashes per request, issued up front through
//!   the SAM (what is measured is the signing, not the activation): each client submits, then
//!   polls every 10 ms until the 100 signatures come back; the latency is submission to result.
//! - **Raw**: 16 tasks calling `Hsm::sign_with_wrapped` on the same pool, with one digest per
//!   unwrap (the signing benchmark's raw row) and with 100 digests per unwrap (the HSM work of
//!   one asynchronous request), just before.
//! - **Seals**: an organisation with a seal and 16 system clients (one per client task, each a
//!   P-256 key, a quota of 100 signatures per authorization and the highest rate a
//!   registration accepts, `qsign::identity::machine::MAX_RATE` authorizations a minute:
//!   the 6 authorizations each client makes are far below it, so nothing is throttled), each
//!   with a client-credentials token (`private_key_jwt` assertion, DPoP-bound), all set up
//!   before the clock starts. Each request is `credentials/authorize` for the seal with 100
//!   hashes (the SAD) then the synchronous `signatures/signHash` of the 100, each call with a
//!   fresh DPoP proof; the latency is the two calls.
//!
//! Run: `cargo bench --bench csc`. Figures go to `docs/performance.md`.

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

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use qsign::audit::Context;
use qsign::hsm::{Digest, HashAlgorithm, KeyAlgorithm, SignAlgorithm};
use qsign::identity::loa::Loa;
use qsign::keys::policy::Scal;
use qsign::sam::Grant;
use qsign::types::{ActivationFactor, UnixTime};
use serde_json::{json, Value};
use sha2::Digest as _;

const TASKS: usize = 16;
const HASHES: usize = 100;
const APPROVALS_PER_TASK: usize = 25;
const REQUESTS_PER_TASK: usize = 6;
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const ES256: &str = "1.2.840.10045.4.3.2";
const SEAL_CVR: &str = "35408002";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Row {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

impl Row {
    fn cells(&self) -> String {
        format!(
            "{:.2} ms | {:.2} ms",
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        )
    }
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

/// A client: a person of the trusted broker, a plain High token, the qualified credential.
struct Client {
    subject: String,
    token: String,
    credential: String,
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// A token of the trusted test broker for `subject` at High, valid for `lifetime` seconds,
/// with `details` as its `authorization_details` when given.
fn broker(subject: &str, now: i64, lifetime: i64, details: Option<Value>) -> String {
    let mut claims = json!({
        "iss": "https://broker.example", "aud": "qsign", "sub": subject,
        "exp": now + lifetime, "iat": now, "auth_time": now,
        "jti": uuid::Uuid::new_v4().to_string(),
        "loa": "https://data.gov.dk/concept/core/nsis/High",
        "given_name": "Bench", "family_name": "Mark",
    });
    if let Some(details) = details {
        claims["authorization_details"] = details;
    }
    fixtures::broker_token(&fixtures::broker_key(), &claims)
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn hash(text: &str) -> Digest {
    Digest::sha256(sha2::Sha256::digest(text).into())
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS, ES256 (as in tests/it/oauth2.rs).
fn jws(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature: Signature = key
        .sign_prehash(&sha2::Sha256::digest(input.as_bytes()))
        .unwrap();
    format!("{input}.{}", b64url(&signature.to_bytes()))
}

/// The public JWK of a P-256 key.
fn jwk_of(key: &SigningKey) -> Value {
    let point = key.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    json!({"kty": "EC", "crv": "P-256", "x": b64url(&bytes[1..33]), "y": b64url(&bytes[33..65])})
}

/// The RFC 7638 thumbprint of a P-256 key.
fn thumbprint_of(key: &SigningKey) -> String {
    let point = key.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    qsign::identity::dpop::thumbprint(&bytes[1..33], &bytes[33..65])
}

/// A `private_key_jwt` client assertion (RFC 7523).
fn assertion(key: &SigningKey, client: &str, aud: &str, exp: i64) -> String {
    jws(
        key,
        &json!({"alg": "ES256", "typ": "JWT"}),
        &json!({"iss": client, "sub": client, "aud": aud, "exp": exp, "iat": exp - 60,
            "jti": uuid::Uuid::new_v4().to_string()}),
    )
}

/// A fresh DPoP proof (RFC 9449) for a POST to `url`, with the `ath` of `token` when given.
fn dpop_proof(key: &SigningKey, url: &str, token: Option<&str>) -> String {
    // The bench never moves the service's clock: its time is the system's.
    let mut claims = json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": "POST",
        "htu": url, "iat": fixtures::now()});
    if let Some(token) = token {
        claims["ath"] = json!(b64url(&sha2::Sha256::digest(token.as_bytes())));
    }
    jws(
        key,
        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk_of(key)}),
        &claims,
    )
}

/// A system client: its DPoP key and its DPoP-bound access token.
struct Machine {
    dpop: SigningKey,
    token: String,
}

impl Machine {
    /// A CSC call with the token and a fresh proof.
    async fn post(&self, http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
        let proof = dpop_proof(&self.dpop, url, Some(self.token.as_str()));
        let response = http
            .post(url)
            .header("Authorization", format!("DPoP {}", self.token))
            .header("DPoP", proof)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// An organisation with a seal, and `TASKS` system clients of it, each registered (P-256 key,
/// 100 signatures per authorization, the highest rate) and logged in with `client_credentials`
/// (`private_key_jwt`, DPoP-bound); answers the seal's credential id and the clients.
async fn seal_clients(
    svc: &fixtures::Service,
    http: &reqwest::Client,
) -> (String, Vec<Arc<Machine>>) {
    let admin = "bench-seal-admin";
    let token = broker(admin, svc.now(), 3600, None);
    let response = http
        .get(svc.url("/v1/orgs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (id, _) = svc
        .store
        .external_person("https://broker.example", admin)
        .await
        .unwrap()
        .unwrap();
    let username = svc.store.person_by_id(&id).await.unwrap().unwrap().username;
    svc.service
        .orgs
        .create_organisation(SEAL_CVR, "Bench Seal A/S", &username)
        .await
        .unwrap();
    let (status, seal) = post(
        http,
        &svc.url(&format!("/v1/orgs/{SEAL_CVR}/seal")),
        &token,
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{seal}");
    let seal = seal["credentialID"].as_str().unwrap().to_owned();

    let token_url = svc.url("/idp/token");
    let mut machines = Vec::new();
    for t in 0..TASKS {
        let client = format!("bench-seal-{t}");
        let seed = u8::try_from(t).unwrap();
        let key = SigningKey::from_slice(&[0x31 + seed; 32]).unwrap();
        let (status, registered) = post(
            http,
            &svc.url(&format!("/v1/orgs/{SEAL_CVR}/clients")),
            &token,
            &json!({"client_id": client, "jwk": jwk_of(&key),
                "max_signatures_per_authorization": HASHES,
                "authorizations_per_minute": qsign::identity::machine::MAX_RATE}),
        )
        .await;
        assert_eq!(status, 201, "{registered}");
        assert_eq!(registered["jkt"], thumbprint_of(&key));
        let dpop = SigningKey::from_slice(&[0x61 + seed; 32]).unwrap();
        let signed = assertion(&key, &client, &token_url, svc.now() + 60);
        let response = http
            .post(token_url.as_str())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client.as_str()),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", signed.as_str()),
            ])
            .header("DPoP", dpop_proof(&dpop, &token_url, None))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let issued: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{issued}");
        assert_eq!(issued["token_type"], "DPoP", "{issued}");
        machines.push(Arc::new(Machine {
            dpop,
            token: issued["access_token"].as_str().unwrap().to_owned(),
        }));
    }
    (seal, machines)
}

/// Runs the jobs from `TASKS` client tasks, each job by `job`; answers the latencies and the
/// elapsed time.
async fn drive<J, F, Fut>(jobs: Vec<J>, job: F) -> (Vec<Duration>, Duration)
where
    J: Send + 'static,
    F: Fn(J) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let jobs = Arc::new(Mutex::new(jobs));
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (jobs, job) = (jobs.clone(), job.clone());
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(next) = jobs.lock().unwrap().pop() else {
                    break;
                };
                let t = Instant::now();
                job(next).await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    (all, start.elapsed())
}

/// `TASKS` tasks each making `calls` unwrap + sign + destroy calls of `per_call` digests.
async fn raw(svc: &fixtures::Service, per_call: usize, calls: usize) -> Row {
    let (wrapped, _) = svc
        .hsm
        .generate_wrapped(KeyAlgorithm::EcP256)
        .await
        .unwrap();
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (hsm, wrapped) = (svc.hsm.clone(), wrapped.clone());
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..calls {
                let digests = (0..per_call)
                    .map(|_| Digest::new(HashAlgorithm::Sha256, vec![7; 32]).unwrap())
                    .collect();
                let t = Instant::now();
                hsm.sign_with_wrapped(&wrapped, SignAlgorithm::Ecdsa, digests)
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    row(all, start.elapsed(), per_call)
}

async fn run() {
    let svc = fixtures::Service::start_production().await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(TASKS)
        .build()
        .unwrap();

    // One person of the broker per client, provisioned with its first token; the credentials
    // are made on the first listing.
    let mut clients = Vec::new();
    for t in 0..TASKS {
        let subject = format!("bench-subject-{t}");
        let token = broker(&subject, svc.now(), 3600, None);
        let (status, list) = post(
            &http,
            &svc.url("/csc/v2/credentials/list"),
            &token,
            &json!({"credentialInfo": true}),
        )
        .await;
        assert_eq!(status, 200, "{list}");
        let credential = list["credentialInfos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["policy"] == "qualified")
            .unwrap()["credentialID"]
            .as_str()
            .unwrap()
            .to_owned();
        clients.push(Client {
            subject,
            token,
            credential,
        });
    }

    println!("| measurement | rate | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    let single = raw(&svc, 1, 100).await;
    println!(
        "| raw PKCS#11 unwrap + sign + destroy, P-256, {TASKS} tasks | {:.0} signatures/s | {} |",
        single.rate,
        single.cells()
    );
    let batch = raw(&svc, HASHES, 4).await;
    println!(
        "| raw PKCS#11 unwrap + {HASHES} signs + destroy, P-256, {TASKS} tasks | {:.0} signatures/s | {} |",
        batch.rate,
        batch.cells()
    );

    // Approvals: one broker token per approval, made before the clock starts.
    let now = svc.now();
    let mut jobs = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        for j in 0..APPROVALS_PER_TASK {
            let hash = hash(&format!("approved {i} {j}")).to_base64();
            let details = json!([{
                "type": "credential", "credentialID": client.credential,
                "hashAlgorithmOID": SHA256,
                "documentDigests": [{"hash": hash, "label": format!("Contract {j}.pdf")}],
            }]);
            let token = broker(&client.subject, now, 300, Some(details));
            let body = json!({"credentialID": client.credential, "numSignatures": 1,
                "hashes": [hash], "hashAlgorithmOID": SHA256});
            jobs.push((token, body));
        }
    }
    let url = svc.url("/csc/v2/credentials/authorize");
    let (client, target) = (http.clone(), url.clone());
    let (latencies, elapsed) = drive(jobs, move |(token, body): (String, Value)| {
        let (http, url) = (client.clone(), target.clone());
        async move {
            let (status, reply) = post(&http, &url, &token, &body).await;
            assert!(
                status == 200 && reply["SAD"].is_string(),
                "{status} {reply}"
            );
        }
    })
    .await;
    let approvals = row(latencies, elapsed, 1);
    println!(
        "| approval over HTTP: credentials/authorize with a trusted issuer's approval token (1 hash), SAD issued and audited, {TASKS} clients | {:.0} approvals/s | {} |",
        approvals.rate,
        approvals.cells()
    );

    // Asynchronous signing: one SAD over 100 hashes per request, issued up front.
    let mut jobs = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let credential = svc.keys.by_id(&client.credential).await.unwrap();
        for j in 0..REQUESTS_PER_TASK {
            let hashes: Vec<Digest> = (0..HASHES)
                .map(|k| hash(&format!("batch {i} {j} {k}")))
                .collect();
            let b64: Vec<String> = hashes.iter().map(Digest::to_base64).collect();
            let grant = Grant {
                credential: &credential,
                hash_algorithm: HashAlgorithm::Sha256,
                hashes,
                num_signatures: u32::try_from(HASHES).unwrap(),
                loa: Loa::High,
                scal: Scal::Scal2,
                factor: ActivationFactor::External,
                label: None,
            };
            let sad = svc
                .sam
                .issue(&grant, &Context::system(), UnixTime::from_secs(svc.now()))
                .await
                .unwrap();
            jobs.push((
                client.token.clone(),
                json!({"credentialID": client.credential, "SAD": sad.token, "hashes": b64,
                    "hashAlgorithmOID": SHA256, "signAlgo": ES256, "operationMode": "A"}),
            ));
        }
    }
    let (submit, polling) = (
        svc.url("/csc/v2/signatures/signHash"),
        svc.url("/csc/v2/signatures/signPolling"),
    );
    let client = http.clone();
    let (latencies, elapsed) = drive(jobs, move |(token, body): (String, Value)| {
        let (http, submit, polling) = (client.clone(), submit.clone(), polling.clone());
        async move {
            let (status, accepted) = post(&http, &submit, &token, &body).await;
            assert_eq!(status, 202, "{accepted}");
            let poll = json!({"responseID": accepted["responseID"]});
            loop {
                let (status, reply) = post(&http, &polling, &token, &poll).await;
                match status {
                    202 => tokio::time::sleep(Duration::from_millis(10)).await,
                    200 => {
                        assert_eq!(reply["signatures"].as_array().unwrap().len(), HASHES);
                        break;
                    }
                    _ => panic!("{status} {reply}"),
                }
            }
        }
    })
    .await;
    let requests = row(latencies.clone(), elapsed, 1);
    let signatures = row(latencies, elapsed, HASHES);
    println!(
        "| asynchronous signHash over HTTP, {HASHES} hashes per request, submitted and polled to the end, {TASKS} clients | {:.1} requests/s = {:.0} signatures/s ({:.0} % of the raw {HASHES}-per-unwrap rate) | {} |",
        requests.rate,
        signatures.rate,
        100.0 * signatures.rate / batch.rate,
        requests.cells()
    );
    // Seals: 16 system clients, one per task; each request authorizes 100 hashes for the seal
    // and signs them, each call with a fresh DPoP proof.
    let (seal, machines) = seal_clients(&svc, &http).await;
    let mut jobs = Vec::new();
    for (i, machine) in machines.iter().enumerate() {
        for j in 0..REQUESTS_PER_TASK {
            let hashes: Vec<String> = (0..HASHES)
                .map(|k| hash(&format!("seal {i} {j} {k}")).to_base64())
                .collect();
            jobs.push((machine.clone(), hashes));
        }
    }
    let (authorize, sign) = (
        svc.url("/csc/v2/credentials/authorize"),
        svc.url("/csc/v2/signatures/signHash"),
    );
    let client = http.clone();
    let (latencies, elapsed) = drive(
        jobs,
        move |(machine, hashes): (Arc<Machine>, Vec<String>)| {
            let (http, authorize, sign, seal) = (
                client.clone(),
                authorize.clone(),
                sign.clone(),
                seal.clone(),
            );
            async move {
                let (status, authorized) = machine
                    .post(
                        &http,
                        &authorize,
                        &json!({"credentialID": seal, "numSignatures": HASHES,
                            "hashes": hashes, "hashAlgorithmOID": SHA256}),
                    )
                    .await;
                assert!(
                    status == 200 && authorized["SAD"].is_string(),
                    "{status} {authorized}"
                );
                let (status, signed) = machine
                    .post(
                        &http,
                        &sign,
                        &json!({"credentialID": seal, "SAD": authorized["SAD"],
                            "hashes": hashes, "hashAlgorithmOID": SHA256, "signAlgo": ES256}),
                    )
                    .await;
                assert_eq!(status, 200, "{signed}");
                assert_eq!(signed["signatures"].as_array().unwrap().len(), HASHES);
            }
        },
    )
    .await;
    let requests = row(latencies.clone(), elapsed, 1);
    let signatures = row(latencies, elapsed, HASHES);
    println!(
        "| seal signatures per second end to end: a system client (client_credentials, private_key_jwt, DPoP-bound token) over HTTP, credentials/authorize with {HASHES} hashes (SAD) + signatures/signHash of the {HASHES}, fresh DPoP proofs, {TASKS} clients | {:.1} requests/s = {:.0} signatures/s ({:.0} % of the raw {HASHES}-per-unwrap rate) | {} |",
        requests.rate,
        signatures.rate,
        100.0 * signatures.rate / batch.rate,
        requests.cells()
    );
    svc.stop().await;
}
