//! Online revocation and chain completion: a test PKI made by openssl (root, an intermediate
//! published only at a caIssuers URL, signers whose AIA names an OCSP responder and the
//! intermediate on a loopback server of the test), OCSP answers made by `openssl ocsp` from
//! the requests qsign sends, CMS signatures made by `openssl cms -sign`. Each refusal is the
//! attack performed: a responder that is not the issuer's, a stale nonce, a private address,
//! an answer over the size limit; and no request is made while fetching is off.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use qsign::validate::{Indication, Report, SubIndication};

use crate::support::{run, Service};

/// Makes the PKI in the current directory; `$B` is the base URL of the test's server.
const MAKE_PKI: &str = r#"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
for k in root inter signer revoked responder rogue; do key $k; done
openssl req -x509 -new -key root.key -subj "/CN=Online Test Root" -days 30 -set_serial 1 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out root.pem
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\ncrlDistributionPoints=URI:%s/root.crl\n' "$B" > inter.ext
openssl req -new -key inter.key -subj "/CN=Online Test Intermediate" \
  | openssl x509 -req -CA root.pem -CAkey root.key -set_serial 2 -days 30 -extfile inter.ext -out inter.pem
printf 'keyUsage=critical,digitalSignature,nonRepudiation\nauthorityInfoAccess=OCSP;URI:%s/ocsp,caIssuers;URI:%s/inter.crt\ncrlDistributionPoints=URI:%s/inter.crl\n' "$B" "$B" "$B" > leaf.ext
openssl req -new -key signer.key -subj "/CN=Online Signer" \
  | openssl x509 -req -CA inter.pem -CAkey inter.key -set_serial 0x1001 -days 30 -extfile leaf.ext -out signer.pem
openssl req -new -key revoked.key -subj "/CN=Online Revoked" \
  | openssl x509 -req -CA inter.pem -CAkey inter.key -set_serial 0x1002 -days 30 -extfile leaf.ext -out revoked.pem
printf 'extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature\n' > responder.ext
openssl req -new -key responder.key -subj "/CN=Online Responder" \
  | openssl x509 -req -CA inter.pem -CAkey inter.key -set_serial 0x2001 -days 30 -extfile responder.ext -out responder.pem
openssl req -new -key rogue.key -subj "/CN=Online Test Intermediate" \
  | openssl x509 -req -CA root.pem -CAkey root.key -set_serial 0x3001 -days 30 -extfile responder.ext -out rogue.pem
expiry=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
revoked=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t1001\tunknown\t/CN=Online Signer\nR\t%s\t%s\t1002\tunknown\t/CN=Online Revoked\n' "$expiry" "$expiry" "$revoked" > inter.index
printf 'V\t%s\t\t02\tunknown\t/CN=Online Test Intermediate\n' "$expiry" > root.index
for n in root inter; do
  printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s.index\ncrlnumber=%s.crlnum\ndefault_md=sha256\ndefault_crl_days=7\n' $n $n > $n.cnf
  echo 01 > $n.crlnum
  openssl ca -batch -config $n.cnf -gencrl -keyfile $n.key -cert $n.pem -out $n.crl.pem
  openssl crl -in $n.crl.pem -outform DER -out $n.crl
done
openssl x509 -in inter.pem -outform DER -out inter.crt
openssl x509 -in root.pem -outform DER -out root.der
echo "a contract signed elsewhere" > content.txt
"#;

/// How the test's OCSP responder answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Signed by a responder the intermediate certified for OCSP signing, nonce echoed.
    Delegated,
    /// Signed by a key the intermediate never certified (a certificate of the root's).
    Stranger,
    /// The answer to another request, with another nonce.
    OtherNonce,
    /// Two MiB of bytes.
    Huge,
}

/// The test PKI and its loopback server (caIssuers, CRLs, OCSP), counting the requests.
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    /// The root certificate (DER).
    pub(crate) root: Vec<u8>,
    mode: Mutex<Mode>,
    crls: AtomicBool,
    hits: AtomicUsize,
}

impl Pki {
    /// Binds the server on the loopback, makes the PKI naming it, and serves.
    pub(crate) async fn start() -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let out = run(Command::new("bash")
            .arg("-ec")
            .arg(MAKE_PKI)
            .env("B", &base)
            .current_dir(dir.path()));
        assert!(
            out.status.success(),
            "making the test PKI: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let root = std::fs::read(dir.path().join("root.der")).unwrap();
        let pki = Arc::new(Self {
            dir,
            root,
            mode: Mutex::new(Mode::Delegated),
            crls: AtomicBool::new(true),
            hits: AtomicUsize::new(0),
        });
        let app = axum::Router::new().fallback(answer).with_state(pki.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        pki
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set(&self, mode: Mode, crls: bool) {
        *self.mode.lock().unwrap() = mode;
        self.crls.store(crls, Ordering::SeqCst);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// A CAdES signature (attached, DER) by `openssl cms -sign -cades` with the key `who`
    /// (`signer` or `revoked`); only the signer's certificate goes in.
    pub(crate) fn cades(&self, who: &str) -> Vec<u8> {
        let out = self.path(&format!("{who}-{}.p7s", uuid::Uuid::new_v4()));
        let status = run(Command::new("openssl")
            .current_dir(self.dir.path())
            .args([
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-cades",
                "-in",
                "content.txt",
            ])
            .arg("-signer")
            .arg(format!("{who}.pem"))
            .arg("-inkey")
            .arg(format!("{who}.key"))
            .args(["-outform", "DER", "-out"])
            .arg(&out));
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::fs::read(out).unwrap()
    }
}

/// The test server: the intermediate at `/inter.crt`, the root's CRL, the intermediate's CRL
/// (the signers' distribution point) unless switched off, OCSP at
/// `/ocsp` as the mode says; every request counted.
async fn answer(
    axum::extract::State(pki): axum::extract::State<Arc<Pki>>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, Vec<u8>) {
    use axum::http::StatusCode;
    pki.hits.fetch_add(1, Ordering::SeqCst);
    let crls = pki.crls.load(Ordering::SeqCst);
    match uri.path() {
        "/inter.crt" => (
            StatusCode::OK,
            std::fs::read(pki.path("inter.crt")).unwrap(),
        ),
        "/root.crl" => (StatusCode::OK, std::fs::read(pki.path("root.crl")).unwrap()),
        "/inter.crl" if crls => (
            StatusCode::OK,
            std::fs::read(pki.path("inter.crl")).unwrap(),
        ),
        "/ocsp" => {
            let mode = *pki.mode.lock().unwrap();
            let dir = pki.dir.path().to_owned();
            let response = tokio::task::spawn_blocking(move || ocsp(&dir, mode, &body))
                .await
                .unwrap();
            (StatusCode::OK, response)
        }
        _ => (StatusCode::NOT_FOUND, Vec::new()),
    }
}

/// The answer of `openssl ocsp` (as a responder over the intermediate's index) to `request`.
fn ocsp(dir: &Path, mode: Mode, request: &[u8]) -> Vec<u8> {
    if mode == Mode::Huge {
        return vec![0x30; 2 * 1024 * 1024];
    }
    let name = uuid::Uuid::new_v4();
    let req = dir.join(format!("{name}.req"));
    let resp = dir.join(format!("{name}.resp"));
    if mode == Mode::OtherNonce {
        let out = run(Command::new("openssl")
            .current_dir(dir)
            .args([
                "ocsp",
                "-issuer",
                "inter.pem",
                "-serial",
                "0x1001",
                "-reqout",
            ])
            .arg(&req));
        assert!(out.status.success());
    } else {
        std::fs::write(&req, request).unwrap();
    }
    let signer = if mode == Mode::Stranger {
        "rogue"
    } else {
        "responder"
    };
    let out = run(Command::new("openssl")
        .current_dir(dir)
        .args(["ocsp", "-index", "inter.index", "-CA", "inter.pem"])
        .arg("-rsigner")
        .arg(format!("{signer}.pem"))
        .arg("-rkey")
        .arg(format!("{signer}.key"))
        .args(["-ndays", "1", "-reqin"])
        .arg(&req)
        .arg("-respout")
        .arg(&resp));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(resp).unwrap()
}

/// Validation trusting the test root, with fetching as asked.
pub(crate) fn online_settings(
    pki: &Pki,
    fetch: bool,
    allow_private: bool,
) -> qsign::service::ValidationSettings {
    qsign::service::ValidationSettings {
        anchors: vec![pki.root.clone()],
        fetch_revocation: fetch,
        fetch_allow_private: allow_private,
        ..qsign::service::ValidationSettings::default()
    }
}

async fn validate(
    svc: &Service,
    settings: qsign::service::ValidationSettings,
    file: &[u8],
) -> Report {
    svc.service
        .clone()
        .with_validation(settings)
        .validation
        .validate_file(file, None, &[])
        .await
        .unwrap()
}

fn verdict(report: &Report) -> (Indication, Option<SubIndication>) {
    assert_eq!(report.signatures.len(), 1, "{report:?}");
    (
        report.signatures[0].indication,
        report.signatures[0].sub_indication,
    )
}

fn said(report: &Report, words: &str) -> bool {
    report.signatures[0]
        .errors
        .iter()
        .any(|e| e.contains(words))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_ocsp_answers_good_or_revoked_and_the_chain_is_completed_from_ca_issuers() {
    let svc = Service::start().await;
    let pki = Pki::start().await;
    let good = pki.cades("signer");
    let report = validate(&svc, online_settings(&pki, true, true), &good).await;
    assert_eq!(
        verdict(&report),
        (Indication::TotalPassed, None),
        "{report:?}"
    );
    let signature = &report.signatures[0];
    assert_eq!(signature.revocation, "good");
    assert_eq!(signature.revocation_source.as_deref(), Some("fetched_ocsp"));
    // Signer, the intermediate fetched from caIssuers, the root.
    assert_eq!(signature.chain.len(), 3, "{report:?}");
    assert!(signature.chain[1].contains("Online Test Intermediate"));
    assert!(pki.hits() >= 3, "caIssuers, OCSP, the root's CRL");

    let revoked = pki.cades("revoked");
    let report = validate(&svc, online_settings(&pki, true, true), &revoked).await;
    assert_eq!(
        verdict(&report),
        (Indication::TotalFailed, Some(SubIndication::Revoked)),
        "{report:?}"
    );
    assert_eq!(
        report.signatures[0].revocation_source.as_deref(),
        Some("fetched_ocsp")
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_ocsp_from_a_stranger_or_with_another_nonce_is_not_accepted() {
    let svc = Service::start().await;
    let pki = Pki::start().await;
    let good = pki.cades("signer");
    // Signed by a certificate the issuer never gave OCSP signing (the signer's CRL is not
    // served: nothing to fall back on).
    pki.set(Mode::Stranger, false);
    let report = validate(&svc, online_settings(&pki, true, true), &good).await;
    assert_eq!(
        verdict(&report),
        (Indication::Indeterminate, Some(SubIndication::TryLater)),
        "{report:?}"
    );
    assert!(said(&report, "neither the issuer"), "{report:?}");
    assert_eq!(report.signatures[0].revocation, "unknown");
    // A genuine answer, but to another request: its nonce is not ours.
    pki.set(Mode::OtherNonce, false);
    let report = validate(&svc, online_settings(&pki, true, true), &good).await;
    assert_eq!(
        verdict(&report),
        (Indication::Indeterminate, Some(SubIndication::TryLater)),
        "{report:?}"
    );
    assert!(said(&report, "nonce does not match"), "{report:?}");
    // The same responder answering our own request is accepted: the refusals were the attack.
    pki.set(Mode::Delegated, false);
    let report = validate(&svc, online_settings(&pki, true, true), &good).await;
    assert_eq!(
        verdict(&report),
        (Indication::TotalPassed, None),
        "{report:?}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_fetching_reaches_no_private_address_and_nothing_while_off() {
    let svc = Service::start().await;
    let pki = Pki::start().await;
    let good = pki.cades("signer");
    // The loopback is refused before any request: the chain cannot be completed.
    let report = validate(&svc, online_settings(&pki, true, false), &good).await;
    assert_eq!(
        verdict(&report),
        (
            Indication::Indeterminate,
            Some(SubIndication::NoCertificateChainFound)
        ),
        "{report:?}"
    );
    assert_eq!(pki.hits(), 0, "a request reached the private address");
    // Fetching off: no request either.
    let report = validate(&svc, online_settings(&pki, false, true), &good).await;
    assert_ne!(verdict(&report).0, Indication::TotalPassed, "{report:?}");
    assert_eq!(pki.hits(), 0, "a request was made with fetching off");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_answer_over_the_size_limit_is_refused_and_a_crl_is_the_fallback() {
    let svc = Service::start().await;
    let pki = Pki::start().await;
    let good = pki.cades("signer");
    pki.set(Mode::Huge, false);
    let report = validate(&svc, online_settings(&pki, true, true), &good).await;
    assert_eq!(
        verdict(&report),
        (Indication::Indeterminate, Some(SubIndication::TryLater)),
        "{report:?}"
    );
    assert!(said(&report, "did not answer usably"), "{report:?}");
    // With the CRLs served, the distribution point answers instead.
    pki.set(Mode::Huge, true);
    let report = validate(&svc, online_settings(&pki, true, true), &good).await;
    assert_eq!(
        verdict(&report),
        (Indication::TotalPassed, None),
        "{report:?}"
    );
    assert_eq!(
        report.signatures[0].revocation_source.as_deref(),
        Some("fetched_crl")
    );
    svc.stop().await;
}
