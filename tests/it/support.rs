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
