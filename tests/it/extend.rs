//! Extension of signed files over `POST /v1/extend`: a CAdES signature made by `openssl cms
//! -sign` under another PKI (its intermediate and revocation data fetched online), a qsign XAdES
//! B-B, and a PDF signed by pyHanko under the other PKI, each raised to B-LTA and renewed; the
//! results checked by qsign's validator with fetching off (what they carry must suffice) and by
//! `openssl cms -verify`, `xmlsec1` and pyHanko.

use qsign::formats::cms::Level;
use qsign::validate::{Indication, Report};

use crate::online::{online_settings, Pki};
use crate::support::{self, sample_pdf, Service};

/// `POST /v1/extend?level=B-LTA` with `body`: the status, media type and answer.
async fn extend(svc: &Service, token: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(svc.url("/v1/extend?level=B-LTA"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

/// Validation trusting the other PKI's root (and the service's), fetching off.
async fn offline(svc: &Service, pki: &Pki, file: &[u8]) -> Report {
    svc.service
        .clone()
        .with_validation(online_settings(pki, false, true))
        .validation
        .validate_file(file, None, &[])
        .await
        .unwrap()
}

fn passed_at_lta(report: &Report) {
    let regular: Vec<_> = report
        .signatures
        .iter()
        .filter(|s| s.format != "PDF document timestamp")
        .collect();
    assert!(!regular.is_empty(), "{report:?}");
    for s in regular {
        assert_eq!(s.indication, Indication::TotalPassed, "{report:?}");
        assert_eq!(s.level.as_deref(), Some("B-LTA"), "{report:?}");
    }
}

/// The number of archive-time-stamp-v3 attributes of a CAdES signature.
fn archive_timestamps(cms: &[u8]) -> usize {
    let signed = qsign::validate::cms::signed_data(cms).unwrap();
    signed
        .signer_infos
        .0
        .iter()
        .next()
        .unwrap()
        .unsigned_attrs
        .iter()
        .flat_map(|a| a.iter())
        .filter(|a| a.oid == qsign::formats::asn1::oid::ARCHIVE_TIME_STAMP_V3)
        .count()
}

async fn karen(svc: &Service) -> String {
    crate::signing::person(svc, "karen")
        .await
        .login(svc, true)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extend_cades_of_another_ca_to_b_lta_and_renew_it_and_openssl_still_verifies() {
    let pki = Pki::start().await;
    let settings = online_settings(&pki, true, true);
    let svc = Service::start_adjusted(move |s| s.validation = settings).await;
    let token = karen(&svc).await;
    let cades = pki.cades("signer");
    // Before: only the signer's certificate, and no revocation data, in the signature.
    let report = offline(&svc, &pki, &cades).await;
    assert_ne!(report.signatures[0].indication, Indication::TotalPassed);

    let (status, kind, lta) = extend(&svc, &token, cades.clone()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&lta));
    assert_eq!(kind, "application/pkcs7-signature");
    assert_eq!(qsign::formats::cms::level(&lta).unwrap(), Level::BLTA);
    assert_eq!(archive_timestamps(&lta), 1);
    let report = offline(&svc, &pki, &lta).await;
    passed_at_lta(&report);
    assert_eq!(
        report.signatures[0].revocation_source.as_deref(),
        Some("embedded")
    );
    assert_eq!(report.signatures[0].chain.len(), 3, "{report:?}");
    let (ok, text) = support::cms_verify(&svc, &pki.path("root.pem"), &lta, None, &[]);
    assert!(ok, "openssl cms -verify: {text}");

    // Renewal: a further archive timestamp over everything before it.
    let (status, _, renewed) = extend(&svc, &token, lta.clone()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&renewed));
    assert_eq!(archive_timestamps(&renewed), 2);
    passed_at_lta(&offline(&svc, &pki, &renewed).await);
    let (ok, text) = support::cms_verify(&svc, &pki.path("root.pem"), &renewed, None, &[]);
    assert!(ok, "openssl cms -verify: {text}");

    // A renewed signature whose earlier archive timestamp covers data taken away fails.
    let mut stripped = qsign::validate::cms::signed_data(&renewed).unwrap();
    stripped.crls = None;
    let stripped = der::Encode::to_der(&cms::content_info::ContentInfo {
        content_type: qsign::formats::asn1::oid::SIGNED_DATA,
        content: der::Any::encode_from(&stripped).unwrap(),
    })
    .unwrap();
    let report = offline(&svc, &pki, &stripped).await;
    assert!(
        report.signatures[0]
            .errors
            .iter()
            .any(|e| e.contains("no longer in the signature")),
        "{report:?}"
    );

    // A level below the signature's, and a file that is no signature, are refused.
    let response = reqwest::Client::new()
        .post(svc.url("/v1/extend?level=B-T"))
        .bearer_auth(&token)
        .body(renewed)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = extend(&svc, &token, b"GIF89a".to_vec()).await;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "unusable_input", "{status}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extend_qsign_xades_b_b_to_b_lta_and_renew_it_and_xmlsec1_still_verifies() {
    let svc = Service::start().await;
    let token = karen(&svc).await;
    let signed = crate::xades::sign(&svc, b"<contract><party>Karen</party></contract>").await;
    let (status, kind, lta) = extend(&svc, &token, signed).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&lta));
    assert_eq!(kind, "application/xml");
    assert_eq!(
        qsign::formats::xades::level(&lta).unwrap(),
        qsign::formats::xades::Level::BLTA
    );
    let (ok, text) = support::xmlsec_verify(&svc, &lta).await;
    assert!(ok, "xmlsec1: {text}");
    let validation = &svc.service.validation;
    passed_at_lta(&validation.validate_file(&lta, None, &[]).await.unwrap());

    let (status, _, renewed) = extend(&svc, &token, lta).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&renewed));
    let text = String::from_utf8(renewed.clone()).unwrap();
    assert_eq!(text.matches("<xades141:ArchiveTimeStamp").count(), 2);
    let (ok, out) = support::xmlsec_verify(&svc, &renewed).await;
    assert!(ok, "xmlsec1: {out}");
    passed_at_lta(&validation.validate_file(&renewed, None, &[]).await.unwrap());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extend_pyhanko_pdf_of_another_ca_to_b_lta_and_pyhanko_validates_it() {
    let pki = Pki::start().await;
    let settings = online_settings(&pki, true, true);
    let svc = Service::start_adjusted(move |s| s.validation = settings).await;
    let token = karen(&svc).await;
    let input = svc.file("in.pdf", &sample_pdf(1, "1.7", 0));
    let output = pki.path("pyhanko.pdf");
    let pem = ["signer.key", "signer.pem", "inter.pem"].map(|name| pki.path(name));
    let signed = crate::pades::pyhanko_sign_pem(pem, &input, &output, "Signature1");

    let (status, kind, lta) = extend(&svc, &token, signed.clone()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&lta));
    assert_eq!(kind, "application/pdf");
    assert_eq!(&lta[..signed.len()], signed.as_slice());
    passed_at_lta(&offline(&svc, &pki, &lta).await);
    // pyHanko: the signature under the other PKI's root, the document timestamps under the
    // service's; the DSS holds the fetched OCSP response beside the service's own.
    let theirs = crate::pades::pyhanko_trusting(&svc, &pki.root, &lta, false);
    let signature = &theirs["signatures"][0];
    assert_eq!(signature["timestamp"], false, "{theirs}");
    for check in ["intact", "valid", "trusted"] {
        assert_eq!(signature[check], true, "{check}: {theirs}");
    }
    assert!(theirs["dss"]["ocsps"].as_u64().unwrap() >= 1, "{theirs}");
    let root = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
    let ours = crate::pades::pyhanko_trusting(&svc, &root, &lta, false);
    let stamps: Vec<&serde_json::Value> = ours["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["timestamp"] == true)
        .collect();
    assert_eq!(stamps.len(), 2, "{ours}");
    for stamp in stamps {
        for check in ["intact", "valid", "trusted"] {
            assert_eq!(stamp[check], true, "{check}: {ours}");
        }
    }
    // Renewal: one more document timestamp.
    let (status, _, renewed) = extend(&svc, &token, lta).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&renewed));
    let report = offline(&svc, &pki, &renewed).await;
    passed_at_lta(&report);
    assert_eq!(
        report
            .signatures
            .iter()
            .filter(|s| s.format == "PDF document timestamp")
            .count(),
        3,
        "{report:?}"
    );
    svc.stop().await;
}
