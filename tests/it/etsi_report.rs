//! The ETSI TS 119 102-2 XML report (sealed by the service at B-T, checked by xmlsec1 with the
//! root alone and its timestamp by `openssl ts -verify`) and the validation policies selected
//! per request (`?policy=`, `qsign verify --policy`, `--etsi-report`).

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
const XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
const ETSI: &str = "application/vnd.etsi.validationreport+xml";
const PASSED: &str = "urn:etsi:019102:mainindication:total-passed";

/// The children of `vr:SignatureValidationReport` in the order of the schema
/// (`SignatureValidationReportType`).
const ORDER: [&str; 9] = [
    "SignatureIdentifier",
    "ValidationConstraintsEvaluationReport",
    "ValidationTimeInfo",
    "SignersDocument",
    "SignatureAttributes",
    "SignerInformation",
    "SignatureQuality",
    "SignatureValidationProcess",
    "SignatureValidationStatus",
];

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

/// A one-page PDF signed at `level` by the service's PAdES code with a new user key.
async fn signed_pdf(svc: &Service, level: Level) -> Vec<u8> {
    let signer = key(svc).await;
    let pdf = sample_pdf(1, "1.7", 0);
    sign(svc, &signer, pdf, &Options::default(), level).await
}

/// The SHA-256 of the bytes a PDF's last signature covers, read here from its `/ByteRange`.
fn byte_range_digest(pdf: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    let at = pdf.windows(10).rposition(|w| w == b"/ByteRange").unwrap();
    let open = at + pdf[at..].iter().position(|b| *b == b'[').unwrap();
    let close = open + pdf[open..].iter().position(|b| *b == b']').unwrap();
    let numbers: Vec<usize> = std::str::from_utf8(&pdf[open + 1..close])
        .unwrap()
        .split_ascii_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let &[a, b, c, d] = numbers.as_slice() else {
        panic!("a ByteRange of four numbers: {numbers:?}")
    };
    let mut digest = sha2::Sha256::new();
    digest.update(&pdf[a..a + b]);
    digest.update(&pdf[c..c + d]);
    digest.finalize().to_vec()
}

/// The structure every report has: root, one signature report per signature with its children
/// in the schema's order, its identifier (the digest of the signature value), times (the best
/// signature time a proof of existence of type `validation`), the signer's document (its
/// digest, and a `signedData` validation object with the same digest), signer and status, the
/// objects it refers to, the validator (its seal and the seal's subject), and the service's
/// enveloped signature last; the signatures' main indications are `indications`. Answers the
/// digest each signature's `vr:SignersDocument` gives its signed data.
fn check_structure(xml_bytes: &[u8], indications: &[&str]) -> Vec<Option<Vec<u8>>> {
    let signatures = indications.len();
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
    let object = |id: &str| {
        objects
            .elements()
            .find(|o| o.attribute("id") == Some(id))
            .unwrap_or_else(|| panic!("no validation object {id}"))
    };
    let mut documents = Vec::new();
    for (report, indication) in root.elements().zip(indications) {
        let order: Vec<usize> = report
            .elements()
            .map(|e| ORDER.iter().position(|n| *n == e.local).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        let id = child(report, VR, "SignatureIdentifier");
        let value = unb64(&text(child(id, DS, "SignatureValue")));
        assert!(!value.is_empty());
        let digest = child(child(id, VR, "DigestAlgAndValue"), DS, "DigestValue");
        assert_eq!(unb64(&text(digest)), support::sha256(&value));
        assert_eq!(text(child(id, VR, "HashOnly")), "false");
        let times = child(report, VR, "ValidationTimeInfo");
        assert!(text(child(times, VR, "ValidationTime")).ends_with('Z'));
        let best = child(times, VR, "BestSignatureTime");
        child(best, VR, "POETime");
        assert_eq!(
            text(child(best, VR, "TypeOfProof")),
            "urn:etsi:019102:poetype:validation"
        );
        let document = report
            .elements()
            .find(|e| e.local == "SignersDocument")
            .map(|d| {
                let digest = child(child(d, VR, "DigestAlgAndValue"), DS, "DigestValue");
                let digest = unb64(&text(digest));
                let reference = child(d, VR, "SignersDocumentRef");
                let data = object(reference.attribute("VOReference").unwrap());
                assert_eq!(
                    text(child(data, VR, "ObjectType")),
                    "urn:etsi:019102:validationObject:signedData"
                );
                let representation = child(data, VR, "ValidationObjectRepresentation");
                let held = child(representation, VR, "DigestAlgAndValue");
                let held = child(held, DS, "DigestValue");
                assert_eq!(unb64(&text(held)), digest);
                digest
            });
        let signer = child(report, VR, "SignerInformation");
        assert_eq!(text(child(signer, VR, "Signer")), "Karen Blixen");
        let cert = child(signer, VR, "SignerCertificate")
            .attribute("VOReference")
            .unwrap();
        assert_eq!(
            text(child(object(cert), VR, "ObjectType")),
            "urn:etsi:019102:validationObject:certificate"
        );
        let status = child(report, VR, "SignatureValidationStatus");
        assert_eq!(text(child(status, VR, "MainIndication")), *indication);
        documents.push(document);
    }
    let validator = child(root, VR, "SignatureValidator");
    let ids: Vec<&Element> = validator.elements().flat_map(Element::elements).collect();
    assert_eq!(ids[0].local, "X509Certificate");
    assert!(text(ids[1]).contains("CN="), "{}", text(ids[1]));
    documents
}

/// `bytes` with the first byte of the first `word` in them changed to `with`.
fn tampered(bytes: &[u8], word: &[u8], with: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = out.windows(word.len()).position(|w| w == word).unwrap();
    out[at] = with;
    out
}

/// Checks the report's seal is XAdES B-T: its signature timestamp verifies with `openssl ts`
/// over the digest of its own `ds:SignatureValue` (canonicalized by lxml), from the service's
/// TSA chaining to `root_file`.
async fn check_seal_timestamp(svc: &Service, report: &[u8], root_file: &std::path::Path) {
    let doc = xml::parse(report, Limits::default()).unwrap();
    let mut stamps = Vec::new();
    all(
        doc.root.elements().last().unwrap(),
        "SignatureTimeStamp",
        &mut stamps,
    );
    assert_eq!(stamps.len(), 1, "{}", String::from_utf8_lossy(report));
    let token = unb64(&text(child(stamps[0], XADES, "EncapsulatedTimeStamp")));
    let token_file = svc.file("seal.tst", &token);
    let tsa = svc.pki.tsa_certificate().await.unwrap();
    let issuing = svc.pki.ca_certificate(Ca::Issuing).await.unwrap();
    let chain = format!("{}{}", support::cert_pem(&tsa), support::cert_pem(&issuing));
    let untrusted = svc.file("seal-tsa.pem", chain.as_bytes());
    let imprint = signature_value_imprint(svc, report);
    support::ts_verify(&imprint, &token_file, root_file, &untrusted);
}

/// The SHA-256 of the exclusive canonical form (lxml's, not qsign's) of the `ds:SignatureValue`
/// of the signature that is the last child of a signed XML document's root: the imprint of a
/// XAdES signature timestamp.
fn signature_value_imprint(svc: &Service, signed: &[u8]) -> Vec<u8> {
    const SCRIPT: &str = "import sys, hashlib\n\
        from lxml import etree\n\
        value = etree.parse(sys.argv[1]).getroot()[-1].find(\
        '{http://www.w3.org/2000/09/xmldsig#}SignatureValue')\n\
        value.tail = None\n\
        c14n = etree.tostring(value, method='c14n', exclusive=True)\n\
        sys.stdout.write(hashlib.sha256(c14n).hexdigest())\n";
    let file = svc.file(&format!("{}.xml", uuid::Uuid::new_v4()), signed);
    let out = run(Command::new(crate::pades::python())
        .args(["-c", SCRIPT])
        .arg(&file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    hex::decode(String::from_utf8_lossy(&out.stdout).trim()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsi_reports_of_pades_and_cades_are_sealed_at_b_t_and_verify_with_the_root_alone() {
    let svc = Service::start().await;
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let root_file = svc.file("root.pem", support::cert_pem(&root).as_bytes());
    let pdf = signed_pdf(&svc, Level::BT).await;
    let report = etsi_report(&svc, &pdf, None).await;
    let documents = check_structure(&report, &[PASSED]);
    // The signer's document is what the byte ranges cover, as computed here.
    assert_eq!(documents, [Some(byte_range_digest(&pdf))]);
    let text_report = String::from_utf8(report.clone()).unwrap();
    assert!(text_report.contains("urn:etsi:019102:validationObject:timestamp"));
    assert!(text_report.contains("<vr:MimeType>application/pdf</vr:MimeType>"));
    assert!(text_report.contains("urn:etsi:019102:validationprocess:LTVM"));
    assert!(!text_report.contains("poetype:provided"));
    // The best signature time is proven by the signature timestamp, which the attributes
    // list with the time it proves.
    let doc = xml::parse(&report, Limits::default()).unwrap();
    let mut proofs = Vec::new();
    all(&doc.root, "POEObject", &mut proofs);
    let mut stamps = Vec::new();
    all(&doc.root, "SignatureTimeStamp", &mut stamps);
    let listed = child(stamps[0], VR, "AttributeObject").attribute("VOReference");
    assert!(listed.is_some());
    assert_eq!(proofs[0].attribute("VOReference"), listed);
    assert!(text(child(stamps[0], VR, "TimeStampValue")).ends_with('Z'));
    let (ok, out) = support::xmlsec_verify(&svc, &report).await;
    assert!(ok, "{out}");
    check_seal_timestamp(&svc, &report, &root_file).await;
    // One byte changed in the report: the seal no longer verifies.
    let changed = tampered(&report, b"total-passed", b'T');
    let (ok, out) = support::xmlsec_verify(&svc, &changed).await;
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
    let (ok, out) = support::cms_verify(&svc, &root_file, &cades, None, &[]);
    assert!(ok, "{out}");
    let report = etsi_report(&svc, &cades, Some("default")).await;
    let documents = check_structure(&report, &[PASSED]);
    // The signer's document is the content, its SHA-256 computed here.
    assert_eq!(documents, [Some(support::sha256(content))]);
    let text_report = String::from_utf8(report.clone()).unwrap();
    assert!(text_report.contains("urn:qsign:validation-constraint:chain_not_trusted"));
    assert!(text_report.contains("urn:etsi:019102:constraintStatus:disabled"));
    assert!(text_report.contains("urn:etsi:019102:constraintStatus:applied"));
    // Each constraint applied passed; "total" is for the signature only.
    let doc = xml::parse(&report, Limits::default()).unwrap();
    let mut constraints = Vec::new();
    all(&doc.root, "ValidationConstraint", &mut constraints);
    let statuses = constraints
        .iter()
        .filter_map(|c| c.elements().find(|e| e.local == "ValidationStatus"));
    for c in statuses {
        assert_eq!(
            text(child(c, VR, "MainIndication")),
            "urn:etsi:019102:mainindication:passed"
        );
    }
    assert!(text_report.contains("urn:etsi:019102:validationprocess:Basic"));
    let (ok, out) = support::xmlsec_verify(&svc, &report).await;
    assert!(ok, "{out}");
    check_seal_timestamp(&svc, &report, &root_file).await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_pdf_is_total_failed_with_hash_failure_in_the_etsi_report() {
    let svc = Service::start().await;
    let signed = signed_pdf(&svc, Level::BB).await;
    let pdf = tampered(&signed, b"Tenancy agreement", b'X');
    let report = etsi_report(&svc, &pdf, None).await;
    let documents = check_structure(&report, &["urn:etsi:019102:mainindication:total-failed"]);
    // The signer's document as it is now, not as it was signed.
    assert_eq!(documents, [Some(byte_range_digest(&pdf))]);
    assert_ne!(byte_range_digest(&pdf), byte_range_digest(&signed));
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

/// The built-in policies and two made from the default that accept SHA-1: without an end
/// (`legacy`), and past its end only with a warning (`legacy-warn`).
fn legacy_policies() -> String {
    let all = qsign::validate::policy::DEFAULT_POLICIES;
    let start = all.find("[[policy]]\nname = \"default\"").unwrap();
    let end = start + 1 + all[start + 1..].find("[[policy]]").unwrap();
    let default = &all[start..end];
    let legacy = default
        .replace("\"default\"", "\"legacy\"")
        .replace("until = \"2016-01-01\"\n", "");
    assert_ne!(legacy.replace("legacy", "default"), default);
    let warn = default
        .replace("\"default\"", "\"legacy-warn\"")
        .replace("algorithms = \"fail\"", "algorithms = \"warn\"");
    format!("{all}\n{legacy}\n{warn}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_selected_per_request_and_sha1_fails_where_it_has_ended() {
    let policies = qsign::validate::Policies::parse(&legacy_policies()).unwrap();
    let svc = Service::start_adjusted(|s| s.validation.policies = policies).await;
    // An RSA key made by openssl, certified by qsign's CA; a CMS with SHA-1 by openssl.
    let dir = svc.dir.path();
    let rsa = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
    let spki = support::openssl_key(&dir.join("rsa.key"), &rsa);
    let cert = support::certify(&svc, &spki, "Karen", "Blixen").await;
    svc.file("rsa.pem", support::cert_pem(&cert).as_bytes());
    let issuing = svc.pki.ca_certificate(Ca::Issuing).await.unwrap();
    svc.file("issuing.pem", support::cert_pem(&issuing).as_bytes());
    svc.file("old.txt", b"An old contract, signed with SHA-1.");
    let files = "-in old.txt -signer rsa.pem -inkey rsa.key -certfile issuing.pem -out sha1.p7s";
    let signing = run(Command::new("openssl")
        .current_dir(dir)
        .args("cms -sign -binary -nodetach -md sha1 -outform DER".split(' '))
        .args(files.split(' ')));
    let stderr = String::from_utf8_lossy(&signing.stderr);
    assert!(signing.status.success(), "{stderr}");
    let sha1 = std::fs::read(dir.join("sha1.p7s")).unwrap();

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
    let changed = tampered(&sha1, b"old contract", b'O');
    let (_, report) = json_report(&svc, &changed, "legacy").await;
    assert_eq!(
        report["signatures"][0]["sub_indication"], "HASH_FAILURE",
        "{report}"
    );

    // A qsign PAdES under the qualified policy: the qualification is not established.
    let pdf = signed_pdf(&svc, Level::BLT).await;
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
    let pdf = signed_pdf(&svc, Level::BLT).await;
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
    let stderr = String::from_utf8_lossy(&init.stderr);
    assert!(init.status.success(), "{stderr}");
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
