//! CAdES detached signing of a 100 MB file against `openssl cms -sign`, and XAdES enveloped
//! signing of a 1 MB XML document against `xmlsec1 --sign`, each with the same key type (P-256),
//! in the same run.
//!
//! qsign's path: stream the file through SHA-256 in 1 MiB chunks (the file is never held in
//! memory), build the signed attributes, sign their digest with a wrapped P-256 user key in
//! SoftHSM (unwrap + sign + destroy), assemble the detached SignedData, write it. openssl's:
//! `openssl cms -sign -binary -md sha256` with the key in a PEM file.
//!
//! Run: `cargo bench --bench formats`. Figures go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    dead_code,
    reason = "benchmark harness"
)]

#[path = "../tests/it/support.rs"]
mod fixtures;

use std::io::{Read as _, Write as _};
use std::process::Command;
use std::time::{Duration, Instant};

use qsign::formats::cms::{self, SignatureAlgorithm};
use qsign::hsm::{ecdsa_signature_der, Digest, HashAlgorithm, SignAlgorithm};
use qsign::pki::Ca;
use sha2::Digest as _;

const SIZE: usize = 100 * 1024 * 1024;
const RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
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
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    {
        let mut f = std::fs::File::create(&big).unwrap();
        let mut block = vec![0u8; 1024 * 1024];
        for i in 0..SIZE / block.len() {
            for (j, b) in block.iter_mut().enumerate() {
                *b = u8::try_from((i * 31 + j * 7) % 251).unwrap();
            }
            f.write_all(&block).unwrap();
        }
    }

    // qsign: a wrapped P-256 user key and its certificate from the CA.
    let (wrapped, issued_der) = fixtures::user_key(&svc).await;
    let chain = vec![svc.pki.ca_certificate(Ca::Issuing).await.unwrap()];
    let mut ours = Vec::new();
    for run in 0..RUNS {
        let start = Instant::now();
        let mut file = std::fs::File::open(&big).unwrap();
        let mut hasher = sha2::Sha256::new();
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let n = file.read(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let prepared = cms::prepare(&digest, &issued_der, Some(svc.now()), None).unwrap();
        let raw = svc
            .hsm
            .sign_with_wrapped(
                &wrapped,
                SignAlgorithm::Ecdsa,
                vec![Digest::new(HashAlgorithm::Sha256, prepared.to_be_signed.to_vec()).unwrap()],
            )
            .await
            .unwrap()
            .remove(0);
        let signature = ecdsa_signature_der(&raw).unwrap();
        let signed = cms::assemble(
            &prepared,
            None,
            &chain,
            SignatureAlgorithm::EcdsaSha256,
            &signature,
        )
        .unwrap();
        std::fs::write(dir.path().join(format!("ours-{run}.p7s")), &signed).unwrap();
        ours.push(start.elapsed());
    }

    // openssl: the same key type, the key in a file.
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=bench",
            "-days",
            "1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(status.status.success());
    let mut theirs = Vec::new();
    for run in 0..RUNS {
        let start = Instant::now();
        let out = Command::new("openssl")
            .args([
                "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER", "-in",
            ])
            .arg(&big)
            .arg("-signer")
            .arg(&cert)
            .arg("-inkey")
            .arg(&key)
            .arg("-out")
            .arg(dir.path().join(format!("openssl-{run}.p7s")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        theirs.push(start.elapsed());
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!("| CAdES detached, 100 MiB file, P-256 (median of {RUNS}) | time |");
    println!("|---|---:|");
    println!(
        "| qsign (streamed SHA-256, SoftHSM unwrap + sign, assemble) | {:.0} ms |",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "| openssl cms -sign (key in a file) | {:.0} ms |",
        theirs.as_secs_f64() * 1e3
    );
    println!(
        "| ratio qsign / openssl | {:.2} |",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
    xades_against_xmlsec1(&svc, &issued_der, &wrapped, &key, &cert, dir.path()).await;
    svc.stop().await;
}

/// XAdES enveloped over a 1 MiB XML document, against `xmlsec1 --sign` with a template.
async fn xades_against_xmlsec1(
    svc: &fixtures::Service,
    certificate: &[u8],
    wrapped: &qsign::hsm::WrappedKey,
    key: &std::path::Path,
    cert: &std::path::Path,
    dir: &std::path::Path,
) {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<ledger xmlns=\"urn:example:ledger\">\n");
    let mut i = 0;
    while xml.len() < 1024 * 1024 {
        xml.push_str(&format!(
            "  <entry n=\"{i}\" account=\"DK{i:08}\">Payment &amp; fee {i}</entry>\n"
        ));
        i += 1;
    }
    xml.push_str("</ledger>\n");
    let mut ours = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let prepared = qsign::formats::xades::prepare_enveloped(
            xml.as_bytes(),
            certificate,
            &[],
            qsign::formats::xades::SignatureAlgorithm::EcdsaSha256,
            "text/xml",
            svc.now(),
        )
        .unwrap();
        let raw = svc
            .hsm
            .sign_with_wrapped(
                wrapped,
                SignAlgorithm::Ecdsa,
                vec![Digest::new(HashAlgorithm::Sha256, prepared.to_be_signed.to_vec()).unwrap()],
            )
            .await
            .unwrap()
            .remove(0);
        let signed = qsign::formats::xades::assemble(&prepared, &raw);
        std::fs::write(dir.join("ours.xml"), signed).unwrap();
        ours.push(start.elapsed());
    }
    let template = xml.replace(
        "</ledger>",
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/>\
         <ds:Reference URI=\"\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>\
         <ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></ledger>",
    );
    let template_file = dir.join("template.xml");
    std::fs::write(&template_file, template).unwrap();
    let mut theirs = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = Command::new("xmlsec1")
            .arg("--sign")
            .arg("--privkey-pem")
            .arg(format!("{},{}", key.display(), cert.display()))
            .arg("--output")
            .arg(dir.join("xmlsec.xml"))
            .arg(&template_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        theirs.push(start.elapsed());
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!();
    println!("| XAdES enveloped, 1 MiB XML, P-256 (median of {RUNS}) | time |");
    println!("|---|---:|");
    println!(
        "| qsign (parse, exclusive C14N, SignedProperties, SoftHSM sign, assemble) | {:.1} ms |",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "| xmlsec1 --sign (XML-DSig template, key in a file) | {:.1} ms |",
        theirs.as_secs_f64() * 1e3
    );
    println!(
        "| ratio qsign / xmlsec1 | {:.2} |",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}
