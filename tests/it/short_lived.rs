//! `signatures/signDoc` under short-lived certificates (`signatureQualifier` in place of
//! `credentialID`): CAdES, XAdES and PAdES signed with a key made in the HSM for each
//! operation, each output accepted by an independent tool given only the qsign root
//! (`openssl cms -verify`, `xmlsec1`, pdfsig and pyHanko), each naming its own certificate,
//! valid for minutes and naming the person; a replayed SAD, a SAD over another document and
//! the options that cannot go with a qualifier are refused, none of them making a key.

use qsign::pki::Ca;
use serde_json::{json, Value};

use crate::lifecycle::{authorize_qualifier, short_lived_issued};
use crate::orgs::x509_text;
use crate::signing::{
    audit_events, b64, csc, hashes_of, person, refused, unb64, verified_cades, Person,
};
use crate::support::{self, Service};

const AES: &str = "eu_eidas_aes";

/// A SAD for the qualifier over `docs`, approved with the next step's one-time code.
async fn approve(svc: &Service, token: &str, who: &Person, docs: &[&[u8]]) -> String {
    svc.clock.advance(30);
    let code = who.code(svc);
    let (status, auth) = authorize_qualifier(svc, token, AES, &hashes_of(docs), &code).await;
    assert_eq!(status, 200, "{auth}");
    auth["SAD"].as_str().unwrap().to_owned()
}

/// The certificate chain a short-lived `signDoc` answered: the new certificate, the issuing CA
/// and the root.
fn chain_of(signed: &Value) -> Vec<Vec<u8>> {
    signed["certificates"]
        .as_array()
        .unwrap_or_else(|| panic!("no certificates in {signed}"))
        .iter()
        .map(unb64)
        .collect()
}

/// Asserts what a short-lived certificate must be: issued by the service's CA under its root,
/// valid for the policy's ten minutes from now, naming the person.
async fn assert_short_lived(svc: &Service, chain: &[Vec<u8>]) {
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[1], svc.pki.ca_certificate(Ca::Issuing).await.unwrap());
    assert_eq!(chain[2], svc.pki.ca_certificate(Ca::Root).await.unwrap());
    let summary = qsign::pki::summary(&chain[0]).unwrap();
    assert_eq!(summary.not_after - summary.not_before, 600, "{summary:?}");
    assert!((summary.not_before - svc.now()).abs() <= 5, "{summary:?}");
    let text = x509_text(svc, &chain[0]);
    assert!(text.contains("CN = Karen Blixen"), "{text}");
    assert!(text.contains("serialNumber = UUID:"), "{text}");
    assert!(svc.pki.issued_here(&chain[0]).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_doc_with_a_qualifier_signs_cades_xades_and_pades_under_a_new_certificate_each() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;

    // CAdES, attached at B-B and detached at B-LTA, with the validation data of the new
    // certificate.
    let contract: &[u8] = b"Contract: signed under a short-lived certificate.";
    let annex: &[u8] = b"Annex: signed detached, at B-LTA.";
    let sad = approve(&svc, &token, &karen, &[contract, annex]).await;
    let cades = json!({
        "signatureQualifier": AES,
        "SAD": sad,
        "returnValidationInfo": true,
        "documents": [
            {"document": b64(contract), "signature_format": "C",
             "conformance_level": "Ades-B-B", "signed_envelope_property": "Attached"},
            {"document": b64(annex), "signature_format": "C",
             "conformance_level": "Ades-B-LTA", "signed_envelope_property": "Detached"},
        ],
    });
    let (status, signed) = csc(&svc, "signatures/signDoc", &token, &cades).await;
    assert_eq!(status, 200, "{signed}");
    let chain = chain_of(&signed);
    assert_short_lived(&svc, &chain).await;
    let (attached, detached, _) = verified_cades(&svc, &signed, annex).await;
    // Both signatures name the new certificate (openssl also checked their
    // signing-certificate-v2 reference against it).
    for cms in [&attached, &detached] {
        assert_eq!(
            qsign::formats::cms::signer_certificate(cms).unwrap(),
            chain[0]
        );
    }
    assert_eq!(
        qsign::formats::cms::level(&detached).unwrap(),
        qsign::formats::cms::Level::BLTA
    );
    let info = &signed["validationInfo"];
    assert_eq!(unb64(&info["certificates"][0]), chain[0], "{info}");
    assert_eq!(info["ocsp"].as_array().unwrap().len(), 1, "{info}");
    // The audit names the documents' digests and the certificate they were signed under.
    let serial = qsign::pki::summary(&chain[0]).unwrap().serial;
    let made = audit_events(&svc, "signature_made").await;
    let digest = hex::encode(support::sha256(annex));
    assert!(made.iter().any(|m| m["hash"] == digest.as_str()
        && m["credential"] == format!("short-lived:{serial}").as_str()));

    // The same SAD again: refused, and no key or certificate is made for it.
    let issued = short_lived_issued(&svc).await;
    refused(
        &csc(&svc, "signatures/signDoc", &token, &cades).await,
        400,
        "sad_used",
    );
    assert_eq!(short_lived_issued(&svc).await, issued);

    // XAdES enveloped at B-T: xmlsec1 verifies it with only the root.
    let xml: &[u8] = b"<?xml version=\"1.0\"?>\n<invoice xmlns=\"urn:example:invoice\"><total currency=\"DKK\">980.00</total></invoice>\n";
    let sad = approve(&svc, &token, &karen, &[xml]).await;
    let request = json!({"signatureQualifier": AES, "SAD": sad, "documents": [
        {"document": b64(xml), "signature_format": "X", "conformance_level": "Ades-B-T"}]});
    let (status, signed) = csc(&svc, "signatures/signDoc", &token, &request).await;
    assert_eq!(status, 200, "{signed}");
    let xml_chain = chain_of(&signed);
    assert_short_lived(&svc, &xml_chain).await;
    let document = unb64(&signed["DocumentWithSignature"][0]);
    let (ok, out) = support::xmlsec_verify(&svc, &document).await;
    assert!(ok, "{out}");
    let text = String::from_utf8(document).unwrap();
    assert!(
        text.contains(&b64(&xml_chain[0])),
        "KeyInfo names the new certificate"
    );
    assert_eq!(
        qsign::formats::xades::level(text.as_bytes()).unwrap(),
        qsign::formats::xades::Level::BT
    );

    // PAdES at B-T: pdfsig and pyHanko accept it given the root.
    let pdf = support::sample_pdf(1, "1.7", 0);
    let sad = approve(&svc, &token, &karen, &[pdf.as_slice()]).await;
    let request = json!({"signatureQualifier": AES, "SAD": sad, "documents": [
        {"document": b64(&pdf), "signature_format": "P", "conformance_level": "Ades-B-T"}]});
    let (status, signed) = csc(&svc, "signatures/signDoc", &token, &request).await;
    assert_eq!(status, 200, "{signed}");
    let pdf_chain = chain_of(&signed);
    assert_short_lived(&svc, &pdf_chain).await;
    let signed_pdf = unb64(&signed["DocumentWithSignature"][0]);
    assert!(signed_pdf.starts_with(&pdf), "an incremental update");
    crate::pades::assert_valid(&svc, &signed_pdf, 1, false, "short-lived PAdES B-T").await;
    let signatures = qsign::formats::pades::signatures(&signed_pdf).unwrap();
    assert_eq!(
        qsign::formats::cms::signer_certificate(&signatures[0].contents).unwrap(),
        pdf_chain[0]
    );

    // Three operations, three certificates; each key destroyed.
    assert_ne!(chain[0], xml_chain[0]);
    assert_ne!(chain[0], pdf_chain[0]);
    assert_ne!(xml_chain[0], pdf_chain[0]);
    assert_eq!(
        audit_events(&svc, "short_lived_key_destroyed").await.len(),
        3
    );
    assert!(svc.audit.verify(None, None).await.is_ok());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_doc_with_a_qualifier_refuses_a_sad_for_another_document_before_any_key_is_made() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let approved: &[u8] = b"The document Karen was shown.";
    let swapped: &[u8] = b"Another document, sent in its place.";
    let sad = approve(&svc, &token, &karen, &[approved]).await;
    let request = |doc: &[u8]| {
        json!({"signatureQualifier": AES, "SAD": sad, "documents": [
            {"document": b64(doc), "signature_format": "C"}]})
    };

    // Another document under the approval: refused and recorded, no certificate made.
    refused(
        &csc(&svc, "signatures/signDoc", &token, &request(swapped)).await,
        400,
        "hash_not_authorized",
    );
    assert!(audit_events(&svc, "signature_refused")
        .await
        .iter()
        .any(
            |e| e["reason"] == "hash_not_authorized" && e["credential"] == "qualifier:eu_eidas_aes"
        ));
    // A SAD of the qualifier with a credential too, no SAD, and the asynchronous mode: refused.
    let both = json!({"credentialID": "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a",
        "signatureQualifier": AES, "SAD": sad,
        "documents": [{"document": b64(approved), "signature_format": "C"}]});
    refused(
        &csc(&svc, "signatures/signDoc", &token, &both).await,
        400,
        "invalid_request",
    );
    let mut without = request(approved);
    without.as_object_mut().unwrap().remove("SAD");
    refused(
        &csc(&svc, "signatures/signDoc", &token, &without).await,
        400,
        "invalid_request",
    );
    let mut asynchronous = request(approved);
    asynchronous["operationMode"] = json!("A");
    refused(
        &csc(&svc, "signatures/signDoc", &token, &asynchronous).await,
        400,
        "invalid_request",
    );
    assert_eq!(short_lived_issued(&svc).await, 0);

    // None of that spent the approval: the document it covers is signed.
    let (status, signed) = csc(&svc, "signatures/signDoc", &token, &request(approved)).await;
    assert_eq!(status, 200, "{signed}");
    let root_der = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let root = svc.file("root.pem", support::cert_pem(&root_der).as_bytes());
    let cms = unb64(&signed["DocumentWithSignature"][0]);
    // At the service's time: a test that moved it for a new code runs ahead of the machine.
    let at = svc.now().to_string();
    let (ok, out) = support::cms_verify(&svc, &root, &cms, None, &["-attime", &at]);
    assert!(ok, "{out}");
    assert_eq!(short_lived_issued(&svc).await, 1);
    svc.stop().await;
}
