//! The ETSI TS 119 102-2 XML report (sealed by the service, checked by xmlsec1 with the root
//! alone) and the validation policies selected per request (`?policy=`, `qsign verify
//! --policy`, `--etsi-report`).

use std::process::Command;

use base64::Engine as _;
use qsign::formats::cms::{self, Level};
use qsign::formats::pades::Options;
use qsign::formats::xml::{self, Element, Limits, Node};
use qsign::hsm::{self, ecdsa_signature_der};
use qsign::pki::Ca;
use serde_json::Value;

use crate::pades::{key, sign};
use crate::support::{self, run, sample_pdf, Service};

const VR: &str = "http://uri.etsi.org/19102/v1.2.1#";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const ETSI: &str = "application/vnd.etsi.validationreport+xml";

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

fn text(e: &Element) -> String {
    e.children
        .iter()
        .filter_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// The child of `e` in `ns` named `local`.
fn child<'a>(e: &'a Element, ns: &str, local: &str) -> &'a Element {
    e.elements()
        .find(|c| c.ns.as_deref() == Some(ns) && c.local == local)
        .unwrap_or_else(|| panic!("no {local} in {}", e.local))
}

fn all<'a>(e: &'a Element, local: &str, out: &mut Vec<&'a Element>) {
    if e.local == local {
        out.push(e);
    }
    for c in e.elements() {
        all(c, local, out);
    }
}

/// `POST /v1/validate` with `Accept: application/vnd.etsi.validationreport+xml`.
async fn etsi_report(svc: &Service, file: &[u8], policy: Option<&str>) -> Vec<u8> {
    let url = match policy {
        Some(p) => svc.url(&format!("/v1/validate?policy={p}")),
        None => svc.url("/v1/validate"),
    };
    let r = reqwest::Client::new()
        .post(url)
        .header("accept", ETSI)
        .body(file.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"].to_str().unwrap(), ETSI);
    r.bytes().await.unwrap().to_vec()
}

/// The JSON report under `policy`.
async fn json_report(svc: &Service, file: &[u8], policy: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(svc.url(&format!("/v1/validate?policy={policy}")))
        .body(file.to_vec())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The structure every report has: root, one signature report per signature with its
/// identifier (the digest of the signature value), times, signer and status, the objects it
/// refers to, the validator, and the service's enveloped signature last. Answers the main
/// indications.
fn check_structure(xml_bytes: &[u8], signatures: usize) -> Vec<String> {
    let doc = xml::parse(xml_bytes, Limits::default()).unwrap();
    let root = &doc.root;
    assert_eq!(
        (root.ns.as_deref(), root.local.as_str()),
        (Some(VR), "ValidationReport")
    );
    let names: Vec<&str> = root.elements().map(|e| e.local.as_str()).collect();
    let mut expected = vec!["SignatureValidationReport"; signatures];
    expected.extend([
        "SignatureValidationObjects",
        "SignatureValidator",
        "Signature",
    ]);
    assert_eq!(names, expected);
    assert_eq!(root.elements().last().unwrap().ns.as_deref(), Some(DS));
    let objects = child(root, VR, "SignatureValidationObjects");
    let ids: Vec<&str> = objects
        .elements()
        .map(|o| o.attribute("id").unwrap())
        .collect();
    let mut indications = Vec::new();
    for report in root.elements().take(signatures) {
        let id = child(report, VR, "SignatureIdentifier");
        let value = unb64(&text(child(id, DS, "SignatureValue")));
        assert!(!value.is_empty());
        let digest = child(child(id, VR, "DigestAlgAndValue"), DS, "DigestValue");
        assert_eq!(unb64(&text(digest)), support::sha256(&value));
        assert_eq!(text(child(id, VR, "HashOnly")), "false");
        let times = child(report, VR, "ValidationTimeInfo");
        assert!(text(child(times, VR, "ValidationTime")).ends_with('Z'));
        child(child(times, VR, "BestSignatureTime"), VR, "POETime");
        let signer = child(report, VR, "SignerInformation");
        assert_eq!(text(child(signer, VR, "Signer")), "Karen Blixen");
        let cert = child(signer, VR, "SignerCertificate")
            .attribute("VOReference")
            .unwrap();
        assert!(ids.contains(&cert), "{cert} not among {ids:?}");
        let object = objects
            .elements()
            .find(|o| o.attribute("id") == Some(cert))
            .unwrap();
        assert_eq!(
            text(child(object, VR, "ObjectType")),
            "urn:etsi:019102:validationObject:certificate"
        );
        let status = child(report, VR, "SignatureValidationStatus");
        indications.push(text(child(status, VR, "MainIndication")));
    }
    indications
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsi_reports_of_pades_and_cades_are_sealed_and_verify_with_the_root_alone() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let pdf = sign(
        &svc,
        &signer,
        sample_pdf(1, "1.7", 0),
        &Options::default(),
        Level::BT,
    )
    .await;
    let report = etsi_report(&svc, &pdf, None).await;
    assert_eq!(
        check_structure(&report, 1),
        ["urn:etsi:019102:mainindication:total-passed"]
    );
    let text_report = String::from_utf8(report.clone()).unwrap();
    assert!(text_report.contains("urn:etsi:019102:validationObject:timestamp"));
    assert!(text_report.contains("urn:etsi:019102:poetype:provided"));
    assert!(text_report.contains("<vr:MimeType>application/pdf</vr:MimeType>"));
    let (ok, out) = support::xmlsec_verify(&svc, &report).await;
    assert!(ok, "{out}");
    // One byte changed in the report: the seal no longer verifies.
    let at = text_report.find("total-passed").unwrap();
    let mut tampered = report.clone();
    tampered[at] = b'T';
    let (ok, out) = support::xmlsec_verify(&svc, &tampered).await;
    assert!(!ok, "{out}");

    // A CAdES signature made by the service's CMS builder with a key in the HSM.
    let content = b"A lease signed as CAdES.";
    let digest: [u8; 32] = support::sha256(content).try_into().unwrap();
    let (wrapped, cert) = support::user_key(&svc).await;
    let prepared_own = cms::prepare(&digest, &cert, Some(svc.now()), None).unwrap();
    let raw = svc
        .hsm
        .sign_with_wrapped(
            &wrapped,
            hsm::SignAlgorithm::Ecdsa,
            vec![hsm::Digest::new(
                hsm::HashAlgorithm::Sha256,
                prepared_own.to_be_signed.to_vec(),
            )
            .unwrap()],
        )
        .await
        .unwrap()
        .remove(0);
    let chain = vec![svc.pki.ca_certificate(Ca::Issuing).await.unwrap()];
    let cades = cms::assemble(
        &prepared_own,
        Some(content),
        &chain,
        cms::SignatureAlgorithm::EcdsaSha256,
        &ecdsa_signature_der(&raw).unwrap(),
    )
    .unwrap();
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let root_file = svc.file("root.pem", support::cert_pem(&root).as_bytes());
    let (ok, out) = support::cms_verify(&svc, &root_file, &cades, None, &[]);
    assert!(ok, "{out}");
    let report = etsi_report(&svc, &cades, Some("default")).await;
    assert_eq!(
        check_structure(&report, 1),
        ["urn:etsi:019102:mainindication:total-passed"]
    );
    let text_report = String::from_utf8(report.clone()).unwrap();
    assert!(text_report.contains("urn:qsign:validation-constraint:chain_not_trusted"));
    assert!(text_report.contains("urn:etsi:019102:constraintStatus:disabled"));
    assert!(text_report.contains("urn:etsi:019102:validationprocess:Basic"));
    let (ok, out) = support::xmlsec_verify(&svc, &report).await;
    assert!(ok, "{out}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_pdf_is_total_failed_with_hash_failure_in_the_etsi_report() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let mut pdf = sign(
        &svc,
        &signer,
        sample_pdf(1, "1.7", 0),
        &Options::default(),
        Level::BB,
    )
    .await;
    let at = pdf
        .windows(17)
        .position(|w| w == b"Tenancy agreement")
        .unwrap();
    pdf[at] = b'X';
    let report = etsi_report(&svc, &pdf, None).await;
    assert_eq!(
        check_structure(&report, 1),
        ["urn:etsi:019102:mainindication:total-failed"]
    );
    let doc = xml::parse(&report, Limits::default()).unwrap();
    let mut subs = Vec::new();
    all(&doc.root, "SubIndication", &mut subs);
    assert!(
        subs.iter()
            .any(|s| text(s) == "urn:etsi:019102:subindication:HASH_FAILURE"),
        "{}",
        String::from_utf8_lossy(&report)
    );
    let (ok, out) = support::xmlsec_verify(&svc, &report).await;
    assert!(ok, "{out}");
    svc.stop().await;
}

/// The built-in policies and two that accept SHA-1: without an end, and only with a warning.
const LEGACY: &str = r#"
[[policy]]
name = "legacy"
description = "SHA-1 still accepted"
[policy.checks]
chain_not_trusted = "fail"
certificate_expired = "fail"
revocation_missing = "fail"
revocation_freshness = "ignore"
algorithms = "fail"
timestamp_missing = "ignore"
pdf_metadata_changes = "ignore"
require_qualified = "ignore"
[[policy.digest_algorithm]]
name = "SHA-1"
[[policy.digest_algorithm]]
name = "SHA-256"
[[policy.signature_algorithm]]
name = "RSA"
[[policy.signature_algorithm]]
name = "ECDSA"

[[policy]]
name = "legacy-warn"
description = "SHA-1 past its date only warns"
[policy.checks]
chain_not_trusted = "fail"
certificate_expired = "fail"
revocation_missing = "fail"
revocation_freshness = "ignore"
algorithms = "warn"
timestamp_missing = "ignore"
pdf_metadata_changes = "ignore"
require_qualified = "ignore"
[[policy.digest_algorithm]]
name = "SHA-1"
until = "2016-01-01"
[[policy.digest_algorithm]]
name = "SHA-256"
[[policy.signature_algorithm]]
name = "RSA"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_selected_per_request_and_sha1_fails_where_it_has_ended() {
    let policies = qsign::validate::Policies::parse(&format!(
        "{}{LEGACY}",
        qsign::validate::policy::DEFAULT_POLICIES
    ))
    .unwrap();
    let svc = Service::start_adjusted(|s| s.validation.policies = policies).await;
    // An RSA key made by openssl, certified by qsign's CA; a CMS with SHA-1 by openssl.
    let dir = svc.dir.path();
    let key_file = dir.join("rsa.key");
    assert!(run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out"
        ])
        .arg(&key_file))
    .status
    .success());
    let spki = run(Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&key_file))
    .stdout;
    let subject = qsign::pki::Subject::NaturalPerson(qsign::pki::NaturalPerson {
        given_name: "Karen".into(),
        family_name: "Blixen".into(),
        person_id: qsign::types::PersonId::random(),
        country: "DK".into(),
        qualified: false,
    });
    let issued = svc
        .pki
        .issue(&spki, &subject, &qsign::audit::Context::system(), svc.now())
        .await
        .unwrap();
    let cert_file = svc.file("rsa.pem", support::cert_pem(&issued.der).as_bytes());
    let issuing = svc.pki.ca_certificate(Ca::Issuing).await.unwrap();
    let chain_file = svc.file("issuing.pem", support::cert_pem(&issuing).as_bytes());
    let content_file = svc.file("old.txt", b"An old contract, signed with SHA-1.");
    let sig_file = dir.join("sha1.p7s");
    let out = run(Command::new("openssl")
        .args([
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-md",
            "sha1",
            "-outform",
            "DER",
            "-in",
        ])
        .arg(&content_file)
        .arg("-signer")
        .arg(&cert_file)
        .arg("-inkey")
        .arg(&key_file)
        .arg("-certfile")
        .arg(&chain_file)
        .arg("-out")
        .arg(&sig_file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sha1 = std::fs::read(&sig_file).unwrap();

    // The default ended SHA-1 on 2016-01-01 and nothing proves the signature is older.
    let (status, report) = json_report(&svc, &sha1, "default").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["indication"], "INDETERMINATE", "{report}");
    assert_eq!(
        report["signatures"][0]["sub_indication"], "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        "{report}"
    );
    assert_eq!(report["policy"]["name"], "default");
    assert_eq!(report["policy"]["digest"].as_str().unwrap().len(), 64);
    // A policy that still accepts it: the signature itself is sound.
    let (_, report) = json_report(&svc, &sha1, "legacy").await;
    assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(report["signatures"][0]["warnings"], serde_json::json!([]));
    // One that only warns.
    let (_, report) = json_report(&svc, &sha1, "legacy-warn").await;
    assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
    assert!(
        report["signatures"][0]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("SHA-1"),
        "{report}"
    );
    // The same signature with its content changed still fails on its hash under any policy.
    let mut changed = sha1.clone();
    let at = changed
        .windows(12)
        .position(|w| w == b"old contract")
        .unwrap();
    changed[at] = b'O';
    let (_, report) = json_report(&svc, &changed, "legacy").await;
    assert_eq!(
        report["signatures"][0]["sub_indication"], "HASH_FAILURE",
        "{report}"
    );

    // A qsign PAdES under the qualified policy: the qualification is not established.
    let signer = key(&svc).await;
    let pdf = sign(
        &svc,
        &signer,
        sample_pdf(1, "1.7", 0),
        &Options::default(),
        Level::BLT,
    )
    .await;
    let (_, report) = json_report(&svc, &pdf, "default").await;
    assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
    let (_, report) = json_report(&svc, &pdf, "qualified").await;
    assert_eq!(report["indication"], "INDETERMINATE", "{report}");
    assert_eq!(
        report["signatures"][0]["sub_indication"],
        "SIG_CONSTRAINTS_FAILURE"
    );
    assert_eq!(report["policy"]["name"], "qualified");
    // An unknown policy is refused before any work, with its stable code.
    let (status, body) = json_report(&svc, &pdf, "lenient").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unknown_policy", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("qualified"),
        "{body}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qsign_verify_writes_the_etsi_report_sealed_with_a_service_and_unsigned_without() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let pdf = sign(
        &svc,
        &signer,
        sample_pdf(1, "1.7", 0),
        &Options::default(),
        Level::BLT,
    )
    .await;
    let file = svc.file("signed.pdf", &pdf);
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let root_file = svc.file("root.pem", support::cert_pem(&root).as_bytes());
    // A verifier's machine without any qsign service: the report is written, unsigned.
    let bare = tempfile::tempdir().unwrap();
    let out_file = bare.path().join("report.xml");
    let out = run(support::qsign(bare.path())
        .env("QSIGN_HSM_MODULE", "/nonexistent/libsofthsm2.so")
        .env("QSIGN_HSM_MANAGED_SOFTHSM", "false")
        .arg("verify")
        .arg("--trust")
        .arg(&root_file)
        .arg("--etsi-report")
        .arg(&out_file)
        .arg(&file));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("not signed"), "{stderr}");
    let report = std::fs::read(&out_file).unwrap();
    let doc = xml::parse(&report, Limits::default()).unwrap();
    assert_eq!(doc.root.local, "ValidationReport");
    assert!(doc.root.elements().all(|e| e.local != "Signature"));
    let text_report = String::from_utf8(report).unwrap();
    assert!(text_report.contains("urn:etsi:019102:mainindication:total-passed"));
    assert!(text_report.contains("urn:etsi:019102:validationprocess:LTVM"));
    // An unknown policy: exit 3 with the code.
    let out = run(support::qsign(bare.path())
        .env("QSIGN_HSM_MODULE", "/nonexistent/libsofthsm2.so")
        .env("QSIGN_HSM_MANAGED_SOFTHSM", "false")
        .args(["verify", "--policy", "nope", "--trust"])
        .arg(&root_file)
        .arg(&file));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_policy"));

    // Another installation with its own HSM token seals the report.
    let data = tempfile::tempdir().unwrap();
    let init = run(support::qsign(data.path()).arg("init"));
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let sealed_file = data.path().join("sealed.xml");
    let out = run(support::qsign(data.path())
        .arg("verify")
        .arg("--trust")
        .arg(&root_file)
        .args(["--policy", "default", "--etsi-report"])
        .arg(&sealed_file)
        .arg(&file));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sealed = std::fs::read(&sealed_file).unwrap();
    let doc = xml::parse(&sealed, Limits::default()).unwrap();
    let last = doc.root.elements().last().unwrap();
    assert_eq!(
        (last.ns.as_deref(), last.local.as_str()),
        (Some(DS), "Signature")
    );
    // Sealed by that installation: its root verifies it (exported with `qsign ca export`).
    let export = run(support::qsign(data.path()).args(["ca", "export"]));
    assert!(export.status.success());
    let other_root = data.path().join("other-root.pem");
    std::fs::write(&other_root, &export.stdout).unwrap();
    std::fs::write(data.path().join("sealed-copy.xml"), &sealed).unwrap();
    let check = run(Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(&other_root)
        .args([
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
        ])
        .arg(data.path().join("sealed-copy.xml")));
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    svc.stop().await;
}
