//! Asynchronous signing over the CSC API (`operationMode` "A", `signatures/signPolling`) and
//! its callbacks, against a callback receiver served by the test on 127.0.0.1: a batch of 100
//! hashes polled, checked by openssl and called back once; the attacks refused (a
//! `response_uri` not registered for the token's client, another person's `responseID`, a
//! redirecting receiver); the quota of pending operations; a receiver that hangs; a PDF
//! signed asynchronously and checked by pdfsig; callbacks over https to receivers with
//! certificates of a test CA made by openssl, trusted only when configured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt as _;

use crate::signing::{
    audit_events, authorize_totp, b64, certificate, credential, csc, hashes_of, openssl_verifies,
    person, refused, unb64, Person,
};
use crate::support::{self, Service};

const PASSWORD: &str = "correct horse battery staple";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
/// The registered OAuth client of the tests (`support::identity_settings`).
const CLIENT: &str = "signer-app";
const REDIRECT: &str = "http://localhost:9999/callback";

/// What a callback receiver saw: the route and the JSON body, one message per request.
type Seen = tokio::sync::mpsc::UnboundedSender<(&'static str, Value)>;

/// A callback receiver on a loopback port: `/cb` answers 204, `/hang` never answers, and
/// `/redirect` answers 307 to `redirect_to`. Each request is reported on `seen`.
struct Receiver {
    base: String,
    seen: tokio::sync::mpsc::UnboundedReceiver<(&'static str, Value)>,
}

#[derive(Clone)]
struct ReceiverState {
    seen: Seen,
    redirect_to: String,
}

fn report(state: &ReceiverState, route: &'static str, body: &[u8]) {
    let value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let _ = state.seen.send((route, value));
}

async fn called_back(State(state): State<ReceiverState>, body: Bytes) -> StatusCode {
    report(&state, "cb", &body);
    StatusCode::NO_CONTENT
}

async fn hangs(State(state): State<ReceiverState>, body: Bytes) -> StatusCode {
    report(&state, "hang", &body);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    StatusCode::NO_CONTENT
}

async fn redirects(
    State(state): State<ReceiverState>,
    body: Bytes,
) -> (StatusCode, [(axum::http::HeaderName, String); 1]) {
    report(&state, "redirect", &body);
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(axum::http::header::LOCATION, state.redirect_to.clone())],
    )
}

async fn receiver(redirect_to: &str) -> Receiver {
    use axum::routing::post;
    let (seen, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route("/cb", post(called_back))
        .route("/hang", post(hangs))
        .route("/redirect", post(redirects))
        .with_state(ReceiverState {
            seen,
            redirect_to: redirect_to.to_owned(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Receiver { base, seen: rx }
}

impl Receiver {
    /// The next request the receiver saw, within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<(&'static str, Value)> {
        tokio::time::timeout(wait, self.seen.recv())
            .await
            .ok()
            .flatten()
    }
}

/// A service whose client `signer-app` has `uris` registered as response URIs, callbacks
/// bounded to one second an attempt, and `adjust` applied last.
async fn start(
    uris: Vec<String>,
    adjust: impl FnOnce(&mut qsign::service::OperationSettings),
) -> Service {
    Service::start_adjusted(move |settings| {
        let operations = &mut settings.operations;
        operations.response_uris = BTreeMap::from([(CLIENT.to_owned(), uris)]);
        operations.callback_timeout = Duration::from_secs(1);
        operations.callback_backoff = Duration::from_millis(200);
        adjust(operations);
    })
    .await
}

/// An access token of the client `signer-app`: the person logs in on qsign's own page
/// (password and TOTP code) and the client redeems the code with its PKCE verifier.
async fn client_token(svc: &Service, username: &str, who: &Person) -> String {
    let (verifier, challenge) = support::pkce();
    let http = support::no_redirects();
    let url = format!(
        "{}?response_type=code&client_id={CLIENT}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
        svc.url("/idp/authorize"),
        qsign::identity::oauth::percent(REDIRECT),
    );
    let html = http.get(&url).send().await.unwrap().text().await.unwrap();
    let request = support::form_request(&html);
    let otp = who.code(svc);
    let done = http
        .post(svc.url("/idp/authorize"))
        .form(&[
            ("request", request.as_str()),
            ("username", username),
            ("password", PASSWORD),
            ("otp", otp.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let issued: Value = reqwest::Client::new()
        .post(svc.url("/idp/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    issued["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued}"))
        .to_owned()
}

/// `n` documents and their SHA-256 hashes.
fn documents(n: usize) -> (Vec<Vec<u8>>, Vec<String>) {
    let docs: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("invoice {i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
    let hashes = hashes_of(&refs);
    (docs, hashes)
}

/// A SAD over `hashes` for the advanced credential, activated by the TOTP code of the next
/// step (the login used the current one).
async fn sad(
    svc: &Service,
    token: &str,
    who: &Person,
    credential: &str,
    hashes: &[String],
) -> String {
    svc.clock.advance(30);
    let (status, auth) =
        authorize_totp(svc, token, credential, hashes, hashes.len(), &who.code(svc)).await;
    assert_eq!(status, 200, "{auth}");
    auth["SAD"].as_str().unwrap().to_owned()
}

/// An asynchronous signHash request.
fn sign_hash(credential: &str, sad: &str, hashes: &[String], response_uri: Option<&str>) -> Value {
    let mut body = json!({
        "credentialID": credential, "SAD": sad, "hashes": hashes,
        "hashAlgorithmOID": SHA256, "signAlgo": ECDSA_SHA256, "operationMode": "A",
    });
    if let Some(uri) = response_uri {
        body["response_uri"] = json!(uri);
    }
    body
}

async fn poll(svc: &Service, token: &str, id: &str) -> (u16, Value) {
    csc(
        svc,
        "signatures/signPolling",
        token,
        &json!({"responseID": id}),
    )
    .await
}

/// Polls until the operation has ended (202 until then, with its id); its final answer.
async fn finished(svc: &Service, token: &str, id: &str) -> (u16, Value) {
    for _ in 0..600 {
        let reply = poll(svc, token, id).await;
        if reply.0 != 202 {
            return reply;
        }
        assert_eq!(reply.1, json!({"responseID": id}));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("operation {id} did not end within 30 seconds");
}

/// The `callback_delivery` audit events, once there are `n` (waiting up to 15 seconds).
async fn deliveries(svc: &Service, n: usize) -> Vec<Value> {
    for _ in 0..150 {
        let events = audit_events(svc, "callback_delivery").await;
        if events.len() >= n {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} callback deliveries recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asynchronous_batch_of_100_hashes_is_polled_verified_and_called_back_once() {
    let mut callbacks = receiver("").await;
    let uri = format!("{}/cb", callbacks.base);
    let svc = start(vec![uri.clone()], |_| {}).await;
    let karen = person(&svc, "karen").await;
    let token = client_token(&svc, "karen", &karen).await;
    let advanced = credential(&svc, &token, "advanced").await;

    // The service says it signs asynchronously.
    let (status, info) = csc(&svc, "info", &token, &json!({})).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["asynchronousOperationMode"], true);
    assert!(info["methods"]
        .as_array()
        .unwrap()
        .contains(&json!("signatures/signPolling")));

    let (docs, hashes) = documents(100);
    let sad = sad(&svc, &token, &karen, &advanced, &hashes).await;
    let mut request = sign_hash(&advanced, &sad, &hashes, Some(&uri));
    request["validity_period"] = json!(60_000);
    let (status, accepted) = csc(&svc, "signatures/signHash", &token, &request).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["responseID"].as_str().unwrap().to_owned();
    assert_eq!(accepted, json!({"responseID": id}));

    // Polling ends with the body the synchronous call answers: 100 signatures, in order,
    // each verified by openssl against the credential's certificate.
    let (status, done) = finished(&svc, &token, &id).await;
    assert_eq!(status, 200, "{done}");
    let signatures = done["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 100);
    assert_eq!(done.as_object().unwrap().len(), 1, "{done}");
    let cert = certificate(&svc, &token, &advanced).await;
    for (doc, signature) in docs.iter().zip(signatures) {
        assert!(openssl_verifies(&svc, &cert, doc, &unb64(signature)));
    }
    // Signed through the synchronous path: one audit record per signature, one SAD spend.
    assert_eq!(audit_events(&svc, "signature_made").await.len(), 100);

    // The callback arrives once, with the operation's id and the same result.
    let (route, called) = callbacks.next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(route, "cb");
    assert_eq!(called["responseID"], json!(id));
    assert_eq!(called["signatures"], done["signatures"]);
    assert_eq!(called.as_object().unwrap().len(), 2, "{called}");
    assert!(callbacks.next(Duration::from_secs(1)).await.is_none());
    let recorded = deliveries(&svc, 1).await;
    assert_eq!(
        recorded,
        [
            json!({"type": "callback_delivery", "operation": id, "client": CLIENT,
                "attempts": 1, "delivered": true, "outcome": "HTTP 204"})
        ]
    );

    // The result is kept for the validity period: polled again, the same.
    assert_eq!(poll(&svc, &token, &id).await, (200, done.clone()));
    // Another person's responseID is not found, for a token of the same client too.
    let bob = person(&svc, "bob").await;
    let bobs = client_token(&svc, "bob", &bob).await;
    refused(&poll(&svc, &bobs, &id).await, 404, "not_found");
    refused(
        &poll(&svc, &bob.login(&svc, false).await, &id).await,
        404,
        "not_found",
    );
    // After the validity period it is gone.
    svc.clock.advance(61);
    refused(&poll(&svc, &token, &id).await, 404, "not_found");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_uri_not_registered_for_the_tokens_client_is_refused_before_anything_is_signed()
{
    let mut registered = receiver("").await;
    let mut elsewhere = receiver("").await;
    let uri = format!("{}/cb", registered.base);
    let svc = start(vec![uri.clone()], |_| {}).await;
    let karen = person(&svc, "karen").await;
    let token = client_token(&svc, "karen", &karen).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let (_, hashes) = documents(1);
    let sad = sad(&svc, &token, &karen, &advanced, &hashes).await;

    // Server-side request forgery: another local port, the cloud metadata address, and
    // near misses of the registered URI are all refused.
    for asked in [
        format!("{}/cb", elsewhere.base),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("{uri}/"),
        format!("{uri}?x=1"),
        format!("{}/CB", registered.base),
        format!("{}/redirect", registered.base),
    ] {
        let reply = csc(
            &svc,
            "signatures/signHash",
            &token,
            &sign_hash(&advanced, &sad, &hashes, Some(&asked)),
        )
        .await;
        refused(&reply, 400, "invalid_request");
        assert!(
            reply.1["error_description"]
                .as_str()
                .unwrap()
                .contains("response_uri"),
            "{asked}: {}",
            reply.1
        );
        let pdf = json!({"credentialID": advanced, "SAD": sad, "operationMode": "A",
            "response_uri": asked, "documents": [{"document": b64(b"%PDF-1.7"),
            "signature_format": "C"}]});
        refused(
            &csc(&svc, "signatures/signDoc", &token, &pdf).await,
            400,
            "invalid_request",
        );
    }
    // A token without a registered client (a password login) may not name even the
    // registered URI; nor may a trusted external issuer's token, whose client is unknown here
    // (refused before its credential is looked at).
    let password = karen.login(&svc, false).await;
    refused(
        &csc(
            &svc,
            "signatures/signHash",
            &password,
            &sign_hash(&advanced, &sad, &hashes, Some(&uri)),
        )
        .await,
        400,
        "invalid_request",
    );
    let t = svc.now();
    let broker = support::broker_token(
        &support::broker_key(),
        &json!({"iss": "https://broker.example", "aud": "qsign", "sub": "broker-subject-9",
            "exp": t + 300, "iat": t, "auth_time": t, "jti": "async-1",
            "loa": "https://data.gov.dk/concept/core/nsis/High",
            "given_name": "Karen", "family_name": "Blixen"}),
    );
    refused(
        &csc(
            &svc,
            "signatures/signHash",
            &broker,
            &sign_hash(&advanced, &sad, &hashes, Some(&uri)),
        )
        .await,
        400,
        "invalid_request",
    );
    // The asynchronous options are bounded, and belong to the asynchronous mode.
    for (member, value) in [
        ("validity_period", json!(0)),
        ("validity_period", json!(3_600_001)),
        ("operationMode", json!("S")),
        ("operationMode", json!("B")),
    ] {
        let mut request = sign_hash(&advanced, &sad, &hashes, Some(&uri));
        request[member] = value;
        refused(
            &csc(&svc, "signatures/signHash", &token, &request).await,
            400,
            "invalid_request",
        );
    }

    // Nothing was signed and nothing was sent: the SAD is unspent and signs synchronously.
    assert!(audit_events(&svc, "signature_made").await.is_empty());
    let mut synchronous = sign_hash(&advanced, &sad, &hashes, None);
    synchronous["operationMode"] = json!("S");
    let (status, signed) = csc(&svc, "signatures/signHash", &token, &synchronous).await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["signatures"].as_array().unwrap().len(), 1);
    assert!(elsewhere.next(Duration::from_millis(500)).await.is_none());
    assert!(registered.next(Duration::from_millis(500)).await.is_none());
    assert!(audit_events(&svc, "callback_delivery").await.is_empty());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_redirect_is_not_followed() {
    let mut target = receiver("").await;
    let mut redirecting = receiver(&format!("{}/cb", target.base)).await;
    let uri = format!("{}/redirect", redirecting.base);
    let svc = start(vec![uri.clone()], |o| o.callback_attempts = 2).await;
    let karen = person(&svc, "karen").await;
    let token = client_token(&svc, "karen", &karen).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let (_, hashes) = documents(1);
    let sad = sad(&svc, &token, &karen, &advanced, &hashes).await;
    let (status, accepted) = csc(
        &svc,
        "signatures/signHash",
        &token,
        &sign_hash(&advanced, &sad, &hashes, Some(&uri)),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["responseID"].as_str().unwrap();
    assert_eq!(finished(&svc, &token, id).await.0, 200);
    // Each attempt is answered 307 and counts as not delivered; the redirect's target hears
    // nothing.
    let recorded = deliveries(&svc, 1).await;
    assert_eq!(
        (
            &recorded[0]["delivered"],
            &recorded[0]["attempts"],
            &recorded[0]["outcome"]
        ),
        (&json!(false), &json!(2), &json!("HTTP 307"))
    );
    for _ in 0..2 {
        let (route, body) = redirecting.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!((route, &body["responseID"]), ("redirect", &json!(id)));
    }
    assert!(target.next(Duration::from_millis(500)).await.is_none());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_callback_receiver_blocks_neither_polling_nor_the_service() {
    let mut hanging = receiver("").await;
    let uri = format!("{}/hang", hanging.base);
    let svc = start(vec![uri.clone()], |o| o.callback_attempts = 3).await;
    let karen = person(&svc, "karen").await;
    let token = client_token(&svc, "karen", &karen).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let (docs, hashes) = documents(2);
    let sad = sad(&svc, &token, &karen, &advanced, &hashes).await;
    let (status, accepted) = csc(
        &svc,
        "signatures/signHash",
        &token,
        &sign_hash(&advanced, &sad, &hashes, Some(&uri)),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["responseID"].as_str().unwrap();

    // The result is there while the receiver still hangs: the callback has not ended.
    let (status, done) = finished(&svc, &token, id).await;
    assert_eq!(status, 200, "{done}");
    assert!(audit_events(&svc, "callback_delivery").await.is_empty());
    let (route, _) = hanging.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(route, "hang");
    // Other requests are answered at once meanwhile.
    let t = Instant::now();
    let (status, _) = csc(&svc, "info", &token, &json!({})).await;
    assert_eq!(status, 200);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let cert = certificate(&svc, &token, &advanced).await;
    for (doc, signature) in docs.iter().zip(done["signatures"].as_array().unwrap()) {
        assert!(openssl_verifies(&svc, &cert, doc, &unb64(signature)));
    }
    // Each attempt stops at its timeout; after the last the failure is recorded.
    let recorded = deliveries(&svc, 1).await;
    assert_eq!(
        recorded,
        [
            json!({"type": "callback_delivery", "operation": id, "client": CLIENT,
                "attempts": 3, "delivered": false, "outcome": "timed out"})
        ]
    );
    for _ in 0..2 {
        let (route, _) = hanging.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(route, "hang");
    }
    assert!(hanging.next(Duration::from_millis(500)).await.is_none());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_operations_are_bounded_per_person_and_stop_at_their_deadline() {
    // No worker: accepted operations stay pending until their deadline.
    let svc = start(Vec::new(), |o| {
        o.max_pending = 2;
        o.workers = 0;
        o.timeout = Duration::from_secs(2);
    })
    .await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let (_, hashes) = documents(1);
    let request = sign_hash(&advanced, "not-a-sad", &hashes, None);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, accepted) = csc(&svc, "signatures/signHash", &token, &request).await;
        assert_eq!(status, 202, "{accepted}");
        ids.push(accepted["responseID"].as_str().unwrap().to_owned());
    }
    assert_eq!(poll(&svc, &token, &ids[0]).await.0, 202);
    let over = csc(&svc, "signatures/signHash", &token, &request).await;
    refused(&over, 429, "quota_exceeded");
    // The quota is the person's own.
    let bob = person(&svc, "bob").await;
    let bobs = bob.login(&svc, true).await;
    let his = credential(&svc, &bobs, "advanced").await;
    let (status, accepted) = csc(
        &svc,
        "signatures/signHash",
        &bobs,
        &sign_hash(&his, "not-a-sad", &hashes, None),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    // What is cheap to check is answered at once, as synchronously (and recorded).
    refused(
        &csc(
            &svc,
            "signatures/signHash",
            &token,
            &sign_hash(&his, "not-a-sad", &hashes, None),
        )
        .await,
        404,
        "credential_not_found",
    );
    assert!(audit_events(&svc, "signature_refused")
        .await
        .iter()
        .any(|e| e["reason"] == "credential_not_found"));

    // At the deadline the operations stop, their result is the timeout, and the quota is
    // free again.
    let (status, body) = finished(&svc, &token, &ids[0]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (408, Some("request_timeout")),
        "{body}"
    );
    let (status, body) = finished(&svc, &token, &ids[1]).await;
    assert_eq!(status, 408, "{body}");
    let (status, accepted) = csc(&svc, "signatures/signHash", &token, &request).await;
    assert_eq!(status, 202, "{accepted}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asynchronous_signdoc_signs_a_pdf_and_reports_a_spent_sad_as_its_result() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let pdf = support::sample_pdf(1, "1.7", 0);
    let sad = sad(
        &svc,
        &token,
        &karen,
        &advanced,
        &hashes_of(&[pdf.as_slice()]),
    )
    .await;
    let request = json!({"credentialID": advanced, "SAD": sad, "operationMode": "A",
        "documents": [{"document": b64(&pdf), "signature_format": "P",
                       "conformance_level": "Ades-B-B"}]});
    let (status, accepted) = csc(&svc, "signatures/signDoc", &token, &request).await;
    assert_eq!(status, 202, "{accepted}");
    let (status, done) = finished(&svc, &token, accepted["responseID"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["SignatureObject"], json!([]));
    let signed = unb64(&done["DocumentWithSignature"][0]);
    assert!(signed.starts_with(&pdf), "an incremental update");
    let (signatures, text) = crate::pades::pdfsig(&svc, &signed);
    assert_eq!(signatures, [(true, true)], "{text}");

    // The same request again is accepted, and ends as the synchronous call would: the SAD
    // is spent.
    let (status, accepted) = csc(&svc, "signatures/signDoc", &token, &request).await;
    assert_eq!(status, 202, "{accepted}");
    let again = finished(&svc, &token, accepted["responseID"].as_str().unwrap()).await;
    refused(&again, 400, "sad_used");
    svc.stop().await;
}

/// A test CA and a certificate for 127.0.0.1 and localhost it issued, made by openssl in
/// `dir`: the CA certificate (DER), and the server's certificate and key (PEM files).
pub(crate) fn callback_pki(dir: &Path) -> (Vec<u8>, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = support::run(Command::new("openssl").current_dir(dir).args(args));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let p256 = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-subj",
        "/CN=Callback Test CA",
        "-days",
        "2",
    ];
    ca.extend(p256);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    ca.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(&ca);
    let mut request = vec!["req", "-subj", "/CN=localhost"];
    request.extend(p256);
    request.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&request);
    std::fs::write(
        dir.join("server.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.cnf",
    ]);
    openssl(&["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
    (
        std::fs::read(dir.join("ca.der")).unwrap(),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// A callback receiver over TLS (`tests/tools/tls_receiver.py`, Python's own `http.server`
/// and `ssl`) on a loopback port, with a certificate from [`callback_pki`]: `/cb` answers
/// 204, `/redirect` 307 to `/cb`; each request is reported with its path and JSON body.
struct TlsReceiver {
    base: String,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    _process: tokio::process::Child,
}

async fn tls_receiver(certificate: &Path, key: &Path) -> TlsReceiver {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/tls_receiver.py");
    let mut process = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(certificate)
        .arg(key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); make test installs it"));
    let mut lines = tokio::io::BufReader::new(process.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("the TLS receiver did not start")
        .unwrap()
        .expect("the TLS receiver said nothing");
    TlsReceiver {
        base: format!("https://127.0.0.1:{}", port.trim()),
        lines,
        _process: process,
    }
}

impl TlsReceiver {
    /// The next request the receiver saw, within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Value> {
        let line = tokio::time::timeout(wait, self.lines.next_line())
            .await
            .ok()?
            .ok()??;
        Some(serde_json::from_str(&line).unwrap())
    }
}

/// An asynchronous signHash of one hash with a callback to `uri`, polled to its end; the
/// operation's id and its result.
async fn signed_with_callback(
    svc: &Service,
    token: &str,
    who: &Person,
    credential: &str,
    hash: &str,
    uri: &str,
) -> (String, Value) {
    let hashes = [hash.to_owned()];
    let sad = sad(svc, token, who, credential, &hashes).await;
    let request = sign_hash(credential, &sad, &hashes, Some(uri));
    let (status, accepted) = csc(svc, "signatures/signHash", token, &request).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["responseID"].as_str().unwrap().to_owned();
    let (status, done) = finished(svc, token, &id).await;
    assert_eq!(status, 200, "{done}");
    (id, done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_callback_is_delivered_to_a_receiver_of_the_configured_ca_and_only_to_it() {
    // Two receivers over TLS: one with a certificate of the CA the service is given
    // (async_signing.callback_ca), one with a certificate of a CA it does not know.
    let (trusted_dir, unknown_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ca, server_cert, server_key) = callback_pki(trusted_dir.path());
    let mut trusted = tls_receiver(&server_cert, &server_key).await;
    let (_, server_cert, server_key) = callback_pki(unknown_dir.path());
    let mut unknown = tls_receiver(&server_cert, &server_key).await;
    let uri = format!("{}/cb", trusted.base);
    let redirect = format!("{}/redirect", trusted.base);
    let untrusted = format!("{}/cb", unknown.base);
    let registered = vec![uri.clone(), redirect.clone(), untrusted.clone()];
    let svc = start(registered, |o| {
        o.callback_roots = vec![ca];
        o.callback_attempts = 2;
    })
    .await;
    let karen = person(&svc, "karen").await;
    let token = client_token(&svc, "karen", &karen).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let (docs, hashes) = documents(3);

    // The callback arrives over TLS with the operation's id and its result, once.
    let (id, done) = signed_with_callback(&svc, &token, &karen, &advanced, &hashes[0], &uri).await;
    let called = trusted
        .next(Duration::from_secs(10))
        .await
        .expect("no https callback arrived");
    assert_eq!(called["path"], "/cb");
    assert_eq!(called["body"]["responseID"], json!(id));
    assert_eq!(called["body"]["signatures"], done["signatures"]);
    let cert = certificate(&svc, &token, &advanced).await;
    assert!(openssl_verifies(
        &svc,
        &cert,
        &docs[0],
        &unb64(&done["signatures"][0])
    ));
    assert_eq!(
        deliveries(&svc, 1).await,
        [
            json!({"type": "callback_delivery", "operation": id, "client": CLIENT,
                "attempts": 1, "delivered": true, "outcome": "HTTP 204"})
        ]
    );
    assert!(trusted.next(Duration::from_millis(500)).await.is_none());

    // Over https too, a URI not registered is refused and a redirect is not followed.
    let (_, sad_hashes) = documents(1);
    let sad_refused = sad(&svc, &token, &karen, &advanced, &sad_hashes).await;
    refused(
        &csc(
            &svc,
            "signatures/signHash",
            &token,
            &sign_hash(
                &advanced,
                &sad_refused,
                &sad_hashes,
                Some(&format!("{}/elsewhere", trusted.base)),
            ),
        )
        .await,
        400,
        "invalid_request",
    );
    let (redirected, _) =
        signed_with_callback(&svc, &token, &karen, &advanced, &hashes[1], &redirect).await;
    for _ in 0..2 {
        let seen = trusted.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(seen["path"], "/redirect", "{seen}");
    }
    assert!(trusted.next(Duration::from_millis(500)).await.is_none());

    // A receiver whose CA is not configured: the handshake fails, the delivery is recorded
    // as failed, nothing reaches it, and the result is still there to poll.
    let (failed, _) =
        signed_with_callback(&svc, &token, &karen, &advanced, &hashes[2], &untrusted).await;
    let recorded = deliveries(&svc, 3).await;
    let outcome = |operation: &str| {
        let event = recorded
            .iter()
            .find(|e| e["operation"] == operation)
            .unwrap_or_else(|| panic!("no delivery of {operation}: {recorded:?}"));
        (
            event["delivered"].clone(),
            event["attempts"].clone(),
            event["outcome"].clone(),
        )
    };
    assert_eq!(
        outcome(&redirected),
        (json!(false), json!(2), json!("HTTP 307"))
    );
    assert_eq!(
        outcome(&failed),
        (json!(false), json!(2), json!("TLS handshake failed"))
    );
    assert!(unknown.next(Duration::from_millis(500)).await.is_none());
    let (status, again) = poll(&svc, &token, &failed).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["signatures"].as_array().unwrap().len(), 1);
    svc.stop().await;
}
