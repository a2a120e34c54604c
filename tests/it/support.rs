//! Test fixtures: SoftHSM tokens, databases, the qsign binary, and external tools.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use qsign::hsm::{self, Hsm};
use qsign::store::{self, Store};
use zeroize::Zeroizing;

/// The PostgreSQL server every development and CI machine runs.
pub fn pg_admin_url() -> String {
    std::env::var("PG_TEST_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Points this test process's SoftHSM at a private token directory (once per process).
fn softhsm_conf() -> &'static Path {
    static CONF: OnceLock<PathBuf> = OnceLock::new();
    CONF.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("qsign-softhsm-")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        std::env::set_var("SOFTHSM2_CONF", &conf);
        conf
    })
}

/// The SoftHSM module of this machine; a missing one fails with an install hint.
pub fn module() -> PathBuf {
    hsm::softhsm::find_module()
        .expect("SoftHSM2 is not installed: apt-get install softhsm2 (make test does this)")
}

/// A fresh token with its PINs.
pub struct TestToken {
    pub label: String,
    pub pin: String,
    pub so_pin: String,
}

impl TestToken {
    pub fn options(&self, sessions: usize) -> hsm::Options {
        hsm::Options {
            module: module(),
            token_label: self.label.clone(),
            pin: Zeroizing::new(self.pin.clone()),
            sessions,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Creates a token with a unique label in this process's SoftHSM.
pub fn new_token() -> TestToken {
    softhsm_conf();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let token = TestToken {
        label: format!("t-{}", &id[..12]),
        pin: format!("pin-{id}"),
        so_pin: format!("so-{id}"),
    };
    let status = hsm::init_token(&module(), &token.label, &token.so_pin, &token.pin).unwrap();
    assert_eq!(status, hsm::TokenStatus::Created);
    token
}

/// A fresh token, opened, with the master and service keys created.
pub async fn new_hsm(sessions: usize) -> (TestToken, Hsm) {
    let token = new_token();
    let options = token.options(sessions);
    let hsm = tokio::task::spawn_blocking(move || Hsm::open(options))
        .await
        .unwrap()
        .unwrap();
    hsm.ensure_keys().await.unwrap();
    (token, hsm)
}

pub fn store_options() -> store::Options {
    store::Options {
        max_connections: 8,
        connect_timeout: Duration::from_secs(5),
    }
}

/// A SQLite store in a new temporary directory (kept alive by the returned guard).
pub async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (Store::connect(&url, &store_options()).await.unwrap(), dir)
}

/// A database of its own on the PostgreSQL server; dropped by [`PgDatabase::drop_now`].
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> Self {
        use sqlx::Connection;
        let name = format!("qsign_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
            .await
            .expect("PostgreSQL must run on 127.0.0.1:5432 (see README)");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let base = pg_admin_url();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        Self { name, url }
    }

    pub async fn drop_now(self) {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

/// Runs a command and returns its output; a missing tool fails with an install hint.
pub fn run(cmd: &mut Command) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); make test installs it"))
}

/// Writes a DER SubjectPublicKeyInfo as PEM.
pub fn write_spki_pem(path: &Path, spki_der: &[u8]) {
    use der::pem::LineEnding;
    let pem = der::pem::encode_string("PUBLIC KEY", LineEnding::LF, spki_der).unwrap();
    std::fs::write(path, pem).unwrap();
}

/// How openssl should read a signature.
#[derive(Clone, Copy, Debug)]
pub enum OpensslScheme {
    Ecdsa,
    RsaPkcs1,
    RsaPss,
}

/// Verifies `signature` (DER for ECDSA) over `data` with `openssl dgst -sha256 -verify`.
/// Returns whether openssl said "Verified OK".
pub fn openssl_verify(
    spki_der: &[u8],
    data: &[u8],
    signature: &[u8],
    scheme: OpensslScheme,
) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("pub.pem");
    let sig = dir.path().join("sig.bin");
    let input = dir.path().join("data.bin");
    write_spki_pem(&key, spki_der);
    std::fs::write(&sig, signature).unwrap();
    std::fs::write(&input, data).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["dgst", "-sha256", "-verify"]).arg(&key);
    if let OpensslScheme::RsaPss = scheme {
        cmd.args([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
        ]);
    }
    cmd.arg("-signature").arg(&sig).arg(&input);
    let out = run(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    out.status.success() && stdout.contains("Verified OK")
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

/// The qsign binary with a clean environment for a data directory of its own.
pub fn qsign(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qsign"));
    for (name, _) in std::env::vars() {
        if name.starts_with("QSIGN_") {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("SOFTHSM2_CONF")
        .env("QSIGN_DATA_DIR", data_dir)
        .env("QSIGN_LISTEN", "127.0.0.1:0")
        .env("QSIGN_LOG", "warn");
    cmd
}

/// `qsign verify` on a verifier's machine: no qsign service and no HSM module, so only the roots
/// given with `--trust` are trusted.
pub fn qsign_verify_offline(data_dir: &Path) -> Command {
    let mut cmd = qsign(data_dir);
    cmd.env("QSIGN_HSM_MODULE", "/nonexistent/libsofthsm2.so")
        .env("QSIGN_HSM_MANAGED_SOFTHSM", "false")
        .arg("verify");
    cmd
}

/// PKI settings for tests, pointing at `base_url`.
pub fn pki_settings(base_url: &str) -> qsign::pki::Settings {
    let day = Duration::from_secs(86_400);
    qsign::pki::Settings {
        base_url: base_url.to_owned(),
        organization: "qsign tests".into(),
        country: "DK".into(),
        root_name: "qsign Test Root".into(),
        issuing_name: "qsign Test Issuing".into(),
        root_validity: day * 3650,
        issuing_validity: day * 1825,
        service_validity: day * 365,
        user_validity: day * 365,
        crl_validity: Duration::from_secs(3600),
        ocsp_validity: Duration::from_secs(600),
        policy_oid: Some("1.3.6.1.4.1.99999.1.1".parse().unwrap()),
        tsa_policy_oid: "0.4.0.2023.1.1".parse().unwrap(),
        pds_url: format!("{base_url}/pki/pds"),
    }
}

/// The signing key of the test "external broker" (a fixed P-256 scalar).
pub fn broker_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap()
}

/// The test broker as a trusted issuer, from its JWKS.
pub fn external_issuer() -> qsign::identity::external::ExternalIssuer {
    use base64::Engine as _;
    let point = broker_key().verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    let (x, y) = bytes[1..].split_at(32);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwks = serde_json::json!({"keys": [
        {"kty": "oct", "kid": "ignored", "k": "AQAB"},
        {"kty": "EC", "crv": "P-256", "kid": "broker-1", "x": b64(x), "y": b64(y)}
    ]});
    qsign::identity::external::ExternalIssuer::from_jwks(
        "https://broker.example",
        "qsign",
        &jwks.to_string(),
        "loa",
        60,
    )
    .unwrap()
}

/// The signing key of the test client `confidential-app` (`private_key_jwt`; a fixed P-256
/// scalar).
pub fn confidential_client_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x5a; 32]).unwrap()
}

/// Identity settings for tests: a cheap argon2 profile, 3 failures before a 2-second lock.
pub fn identity_settings(base_url: &str) -> qsign::identity::Settings {
    qsign::identity::Settings {
        clients: vec![
            qsign::identity::oauth::Client {
                client_id: "signer-app".into(),
                redirect_uris: vec!["http://localhost:9999/callback".into()],
                audience: "qsign".into(),
                ..Default::default()
            },
            qsign::identity::oauth::Client {
                client_id: "shop".into(),
                redirect_uris: vec!["https://shop.example/cb".into()],
                audience: "shop".into(),
                ..Default::default()
            },
            qsign::identity::oauth::Client {
                client_id: "bank".into(),
                redirect_uris: vec!["https://bank.example/cb".into()],
                audience: "bank".into(),
                ..Default::default()
            },
            // A confidential signing client: private_key_jwt with the key of
            // [`confidential_client_key`].
            qsign::identity::oauth::Client {
                client_id: "confidential-app".into(),
                redirect_uris: vec!["http://localhost:9999/callback".into()],
                audience: "qsign".into(),
                auth: qsign::identity::client_auth::ClientAuth::PrivateKeyJwt(vec![
                    qsign::identity::token::VerifyKey::from_sec1(
                        confidential_client_key()
                            .verifying_key()
                            .to_sec1_point(false)
                            .as_bytes(),
                    )
                    .unwrap(),
                ]),
            },
        ],
        public_url: base_url.replace("127.0.0.1", "localhost"),
        issuer: format!("{base_url}/idp"),
        audience: "qsign".into(),
        token_lifetime: Duration::from_secs(300),
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        argon2_parallelism: 1,
        max_failures: 3,
        lockout: Duration::from_secs(2),
        new_factor_delay: Duration::ZERO,
        enrolment_code_lifetime: Duration::from_secs(14 * 86_400),
    }
}

/// Audit records between checkpoints of the services this process starts: 10 in tests (so
/// that checkpoints happen), the production default in benchmarks.
static CHECKPOINT_EVERY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(10);

/// The delay before a passkey bound by enrolment code counts for High, for the next service
/// started (0 unless a test asks).
static FACTOR_DELAY_SECS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A clock that runs with the system clock plus an offset tests can move forward.
#[derive(Debug, Default)]
pub struct TestClock(std::sync::atomic::AtomicI64);

impl TestClock {
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl qsign::clock::Clock for TestClock {
    fn now(&self) -> time::OffsetDateTime {
        qsign::clock::SystemClock.now()
            + time::Duration::seconds(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// A whole service in this process: HSM token, SQLite store, PKI, and the HTTP server on a
/// loopback port.
pub struct Service {
    pub hsm: Hsm,
    pub store: Store,
    pub pki: qsign::pki::Pki,
    pub identity: qsign::identity::Identity,
    pub audit: qsign::audit::Audit,
    #[allow(dead_code, reason = "the signing benchmark issues SADs through them")]
    pub keys: qsign::keys::Keys,
    #[allow(dead_code, reason = "the signing benchmark issues SADs through them")]
    pub sam: qsign::sam::Sam,
    #[allow(dead_code, reason = "not every benchmark uses it")]
    pub service: qsign::service::Service,
    pub clock: std::sync::Arc<TestClock>,
    pub token: TestToken,
    pub base: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Service {
    pub async fn start() -> Self {
        let (store, dir) = sqlite_store().await;
        Self::start_on(store, dir).await
    }

    /// The service on a given store (PostgreSQL tests).
    pub async fn start_on(store: Store, dir: tempfile::TempDir) -> Self {
        let (token, hsm) = new_hsm(4).await;
        Self::start_with(store, dir, hsm, token, None, |_| {}).await
    }

    /// The service with its settings changed by `adjust` after the test defaults are set
    /// (asynchronous signing's bounds and response URIs, ...).
    #[allow(dead_code, reason = "not every test binary adjusts settings")]
    pub async fn start_adjusted(adjust: impl FnOnce(&mut qsign::app::Settings)) -> Self {
        let (store, dir) = sqlite_store().await;
        let (token, hsm) = new_hsm(4).await;
        Self::start_with(store, dir, hsm, token, None, adjust).await
    }

    /// The service with a delay before a passkey bound by enrolment code counts for High.
    #[allow(dead_code, reason = "used by the identity tests only")]
    pub async fn start_with_factor_delay(delay: Duration) -> Self {
        let (store, dir) = sqlite_store().await;
        let (token, hsm) = new_hsm(4).await;
        FACTOR_DELAY_SECS.store(delay.as_secs(), std::sync::atomic::Ordering::SeqCst);
        let svc = Self::start_with(store, dir, hsm, token, None, |_| {}).await;
        FACTOR_DELAY_SECS.store(0, std::sync::atomic::Ordering::SeqCst);
        svc
    }

    /// The service as deployed by default (an audit checkpoint every 100 records rather than
    /// every 10), for benchmarks.
    #[allow(dead_code, reason = "used by the signing benchmark")]
    pub async fn start_production() -> Self {
        let (store, dir) = sqlite_store().await;
        let (token, hsm) = new_hsm(4).await;
        CHECKPOINT_EVERY.store(100, std::sync::atomic::Ordering::SeqCst);
        Self::start_with(store, dir, hsm, token, None, |_| {}).await
    }

    /// Another node: its own HSM sessions on the same token, its own database pools on the
    /// same database (`url`), its own HTTP server, SAM and audit writer.
    pub async fn second_node(&self, url: &str) -> Self {
        let options = self.token.options(4);
        let hsm = tokio::task::spawn_blocking(move || Hsm::open(options))
            .await
            .unwrap()
            .unwrap();
        let store = Store::connect(url, &store_options()).await.unwrap();
        let token = TestToken {
            label: self.token.label.clone(),
            pin: self.token.pin.clone(),
            so_pin: self.token.so_pin.clone(),
        };
        let public = self.base.clone();
        Self::start_with(
            store,
            tempfile::tempdir().unwrap(),
            hsm,
            token,
            Some(public),
            |_| {},
        )
        .await
    }

    /// A node; `public` is the URL the nodes share (their load balancer's), by default this
    /// node's own; `adjust` changes the settings last.
    async fn start_with(
        store: Store,
        dir: tempfile::TempDir,
        hsm: Hsm,
        token: TestToken,
        public: Option<String>,
        adjust: impl FnOnce(&mut qsign::app::Settings),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let own = format!("http://{}", listener.local_addr().unwrap());
        let base = public.clone().unwrap_or_else(|| own.clone());
        let config = qsign::config::Config {
            public_url: Some(base.clone()),
            support: qsign::config::SupportConfig {
                contact: Some("qsign test support, +45 70 00 00 00".to_owned()),
            },
            ..qsign::config::Config::default()
        };
        let mut settings = qsign::app::Settings::from_config(&config).await.unwrap();
        settings.identity = qsign::identity::Settings {
            new_factor_delay: Duration::from_secs(
                FACTOR_DELAY_SECS.load(std::sync::atomic::Ordering::SeqCst),
            ),
            ..identity_settings(&base)
        };
        settings.pki = pki_settings(&base);
        settings.external = vec![external_issuer()];
        settings.checkpoint_every = CHECKPOINT_EVERY.load(std::sync::atomic::Ordering::SeqCst);
        settings.anchor_dir = None;
        settings.sad_lifetime_secs = 300;
        // Shorter than the tokens' 300 s: an approval request can expire while the token that
        // asked still lives (tests/it/oob.rs).
        settings.approval_lifetime_secs = 120;
        // The browser tests' first citizen is also a support operator.
        settings.operators = vec!["alice".to_owned()];
        adjust(&mut settings);
        let clock = std::sync::Arc::new(TestClock::default());
        let app = qsign::app::App::assemble(hsm, store, settings, clock.clone())
            .await
            .unwrap();
        let qsign::app::App {
            service,
            hsm,
            store,
            audit,
            pki,
            identity,
            keys,
            sam,
            ..
        } = app;
        let state = qsign::http::AppState {
            service: std::sync::Arc::new(service.clone()),
            metrics: std::sync::Arc::new(qsign::telemetry::Metrics::default()),
            config: std::sync::Arc::new(config),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            qsign::http::serve(
                listener,
                state,
                async move {
                    let _ = stopped.await;
                },
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        });
        Self {
            hsm,
            store,
            pki,
            identity,
            audit,
            keys,
            sam,
            service,
            clock,
            token,
            base: own,
            dir,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// The service's current time, Unix seconds.
    pub fn now(&self) -> i64 {
        use qsign::clock::Clock;
        self.clock.now().unix_timestamp()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Writes a file into the service's temporary directory and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
    }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    use qsign::clock::Clock;
    qsign::clock::SystemClock.now().unix_timestamp()
}

/// PEM of a DER certificate.
pub fn cert_pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
}

/// Runs openssl with arguments; returns (success, stdout + stderr).
pub fn openssl(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = run(Command::new("openssl").args(args));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A token as an external broker would make it.
pub fn broker_token(key: &p256::ecdsa::SigningKey, claims: &serde_json::Value) -> String {
    use base64::Engine as _;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use sha2::Digest as _;
    let enc = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let input = format!(
        "{}.{}",
        enc(&serde_json::json!({"alg": "ES256", "kid": "broker-1", "typ": "JWT"})),
        enc(claims)
    );
    let sig: p256::ecdsa::Signature = key
        .sign_prehash(&sha2::Sha256::digest(input.as_bytes()))
        .unwrap();
    qsign::identity::token::assemble(&input, &sig.to_bytes())
}

pub fn pkce() -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The pending request id in a login page (its hidden form field).
pub fn form_request(html: &str) -> String {
    html.split("name=\"request\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// `openssl cms -verify` of a CMS signature (DER) against a root (PEM file), with the detached
/// content when given and any extra options (`-crl_check_all`).
pub fn cms_verify(
    svc: &Service,
    root: &Path,
    cms: &[u8],
    content: Option<&[u8]>,
    extra: &[&str],
) -> (bool, String) {
    let name = uuid::Uuid::new_v4();
    let sig = svc.file(&format!("{name}.p7s"), cms);
    let out = svc.dir.path().join(format!("{name}.out"));
    let mut args: Vec<std::ffi::OsString> = vec![
        "cms".into(),
        "-verify".into(),
        "-binary".into(),
        "-inform".into(),
        "DER".into(),
        "-in".into(),
        sig.into(),
        "-CAfile".into(),
        root.into(),
        "-purpose".into(),
        "any".into(),
        "-out".into(),
        out.into(),
    ];
    if let Some(content) = content {
        let file = svc.file(&format!("{name}.bin"), content);
        args.push("-content".into());
        args.push(file.into());
    }
    args.extend(extra.iter().map(Into::into));
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    openssl(&refs)
}

/// Unix seconds as "YYYY-MM-DD HH:MM:SS" (UTC), as xmlsec1 takes a verification time.
fn gmt(unix: i64) -> String {
    qsign::validate::report::rfc3339(unix)
        .replacen('T', " ", 1)
        .trim_end_matches('Z')
        .to_owned()
}

/// `xmlsec1 --verify` of a signed XML document given only the service's root, as a verifier
/// has it (the signature must carry the rest of its chain), with XAdES `SignedProperties` ids
/// registered.
pub async fn xmlsec_verify(svc: &Service, signed: &[u8]) -> (bool, String) {
    xmlsec_verify_with(svc, signed, None).await
}

/// [`xmlsec_verify`] with the data of a detached signature (its URI as a file name beside the
/// signature; relative references enabled).
pub async fn xmlsec_verify_with(
    svc: &Service,
    signed: &[u8],
    detached: Option<(&str, &[u8])>,
) -> (bool, String) {
    use qsign::pki::Ca;
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root_file = dir.path().join("root.pem");
    std::fs::write(&root_file, cert_pem(&root)).unwrap();
    std::fs::write(dir.path().join("signature.xml"), signed).unwrap();
    if let Some((name, data)) = detached {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let out = run(Command::new("xmlsec1")
        .current_dir(dir.path())
        .args([
            "--verify",
            "--enabled-reference-uris",
            "empty,same-doc,local,remote",
        ])
        .arg("--trusted-pem")
        .arg(&root_file)
        // At the service's time: a test that moved it for a new code runs ahead of the
        // machine, and a certificate made then starts ahead of it too.
        .arg("--verification-gmt-time")
        .arg(gmt(svc.now()))
        .args([
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "signature.xml",
        ]));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.contains("OK"), text)
}

/// A new P-256 user key wrapped by the service's HSM, with a natural-person certificate from
/// its CA: the wrapped key and the certificate (DER).
pub async fn user_key(svc: &Service) -> (hsm::WrappedKey, Vec<u8>) {
    let (wrapped, spki) = svc
        .hsm
        .generate_wrapped(hsm::KeyAlgorithm::EcP256)
        .await
        .unwrap();
    (wrapped, certify(svc, &spki, "Karen", "Blixen").await)
}

/// A certificate (DER) from the service's CA for a Danish natural person, not qualified, over
/// a public key (DER SubjectPublicKeyInfo).
pub async fn certify(svc: &Service, spki: &[u8], given_name: &str, family_name: &str) -> Vec<u8> {
    let person = qsign::pki::NaturalPerson {
        given_name: given_name.into(),
        family_name: family_name.into(),
        person_id: qsign::types::PersonId::random(),
        country: "DK".into(),
        qualified: false,
    };
    let subject = qsign::pki::Subject::NaturalPerson(person);
    let context = qsign::audit::Context::system();
    let issued = svc.pki.issue(spki, &subject, &context, svc.now()).await;
    issued.unwrap().der
}

/// A private key made by `openssl genpkey` with `options` (`-algorithm RSA`, ...) into
/// `path`; answers its public key (DER SubjectPublicKeyInfo).
pub fn openssl_key(path: &Path, options: &[&str]) -> Vec<u8> {
    let made = run(Command::new("openssl")
        .arg("genpkey")
        .args(options)
        .arg("-out")
        .arg(path));
    let stderr = String::from_utf8_lossy(&made.stderr);
    assert!(made.status.success(), "{stderr}");
    let public = ["pkey", "-pubout", "-outform", "DER", "-in"];
    run(Command::new("openssl").args(public).arg(path)).stdout
}

/// A sample PDF made here (no tool needed): `pages` pages of text in Helvetica, a classic
/// cross-reference table, header version `version`; with `filler` > 0, page 1 also carries an
/// unfiltered image of that many bytes (large documents for benchmarks).
pub fn sample_pdf(pages: usize, version: &str, filler: usize) -> Vec<u8> {
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(b"<</Type/Catalog/Pages 2 0 R>>".to_vec());
    objects.push(format!("<</Type/Pages/Kids[{}]/Count {pages}>>", kids.join(" ")).into_bytes());
    objects.push(b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>".to_vec());
    let image = 4 + 2 * pages;
    for i in 0..pages {
        let xobject = if filler > 0 && i == 0 {
            format!("/XObject<</Im1 {image} 0 R>>")
        } else {
            String::new()
        };
        objects.push(
            format!(
                "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 3 0 R>>{xobject}>>/Contents {} 0 R>>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        let text = format!(
            "BT /F1 20 Tf 72 760 Td (Tenancy agreement, page {}) Tj 0 -30 Td /F1 12 Tf (The parties agree to the terms below.) Tj ET",
            i + 1
        );
        objects.push(format!("<</Length {}>>\nstream\n{text}\nendstream", text.len()).into_bytes());
    }
    if filler > 0 {
        let side = (1..).take_while(|s| s * s <= filler).last().unwrap_or(1);
        let mut data = vec![0u8; side * side];
        let mut x = 0x2545_f491_u32;
        for b in &mut data {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            [*b, ..] = x.to_le_bytes();
        }
        let mut o = format!(
            "<</Type/XObject/Subtype/Image/Width {side}/Height {side}/ColorSpace/DeviceGray/BitsPerComponent 8/Length {}>>\nstream\n",
            data.len()
        )
        .into_bytes();
        o.extend_from_slice(&data);
        o.extend_from_slice(b"\nendstream");
        objects.push(o);
    }
    let mut out = format!("%PDF-{version}\n%\u{e2}\u{e3}\n").into_bytes();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<</Size {}/Root 1 0 R/ID[<00112233445566778899AABBCCDDEEFF><00112233445566778899AABBCCDDEEFF>]>>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// `openssl ts -verify` of a token over `imprint`.
pub fn ts_verify(
    imprint: &[u8],
    token: &std::path::Path,
    root: &std::path::Path,
    untrusted: &std::path::Path,
) {
    let (ok, out) = openssl(&[
        "ts".as_ref(),
        "-verify".as_ref(),
        "-digest".as_ref(),
        hex::encode(imprint).as_ref(),
        "-in".as_ref(),
        token.as_os_str(),
        "-token_in".as_ref(),
        "-CAfile".as_ref(),
        root.as_os_str(),
        "-untrusted".as_ref(),
        untrusted.as_os_str(),
    ]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
}

/// A PAdES signature as the service makes one, up to B-LT: prepare (with the DSS when
/// `validation` is given), the signed attributes' digest signed by `wrapped` (P-256) in the
/// HSM, the CMS with a signature timestamp from B-T, assemble.
#[allow(dead_code, reason = "not every benchmark signs PDFs")]
pub async fn pades_sign(
    svc: &Service,
    wrapped: &hsm::WrappedKey,
    cert: &[u8],
    pdf: Vec<u8>,
    options: &qsign::formats::pades::Options,
    level: qsign::formats::cms::Level,
    validation: Option<&qsign::formats::pades::Validation>,
) -> Vec<u8> {
    use qsign::formats::cms::{self, Level};
    use qsign::formats::pades;
    use sha2::Digest as _;
    let prepared = pades::prepare(pdf, options, svc.now(), validation).unwrap();
    // With the options' capacity, as the SAM signs it.
    let attributes = cms::prepare(&prepared.digest(), cert, None, prepared.capacity()).unwrap();
    let raw = svc
        .hsm
        .sign_with_wrapped(
            wrapped,
            hsm::SignAlgorithm::Ecdsa,
            vec![
                hsm::Digest::new(hsm::HashAlgorithm::Sha256, attributes.to_be_signed.to_vec())
                    .unwrap(),
            ],
        )
        .await
        .unwrap()
        .remove(0);
    let chain = vec![svc
        .pki
        .ca_certificate(qsign::pki::Ca::Issuing)
        .await
        .unwrap()];
    let mut signed = cms::assemble(
        &attributes,
        None,
        &chain,
        cms::SignatureAlgorithm::EcdsaSha256,
        &hsm::ecdsa_signature_der(&raw).unwrap(),
    )
    .unwrap();
    if level >= Level::BT {
        let value = cms::signature_value(&signed).unwrap();
        let token = qsign::pki::tsa::Source::Embedded(svc.pki.clone())
            .token(
                qsign::pki::tsa::ImprintHash::Sha256,
                &sha2::Sha256::digest(&value),
                svc.now(),
            )
            .await
            .unwrap();
        signed = cms::add_signature_timestamp(&signed, &token).unwrap();
    }
    pades::assemble(prepared, &signed).unwrap()
}
