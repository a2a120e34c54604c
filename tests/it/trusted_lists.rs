//! EU trusted lists and the qualification at signing time, against a test scheme built here:
//! a list of lists and two national lists (DK, SE) signed with xmlsec1, served over loopback
//! HTTP (and HTTPS, with a certificate of a test CA) with the CAs' CRLs; signer certificates
//! and CAdES signatures made by openssl, a PDF signed by pyHanko and an XML document by
//! xmlsec1 under the listed services. Every list is checked by xmlsec1 and every signature by
//! `openssl cms -verify`, pyHanko or xmlsec1 too.

mod scheme;

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;

use crate::support::{self, run, sample_pdf, Service};
use scheme::{
    build, https_file_server, lotl_xml, signature_template, Built, CONTENT, GRANTED, WITHDRAWN,
};

/// Validation settings with the lists at `lotl`, cached in `cache`, and CRLs fetched.
fn settings(built: &Built, lotl: &str, cache: &Path) -> qsign::service::ValidationSettings {
    qsign::service::ValidationSettings {
        lotl_url: Some(lotl.to_owned()),
        lotl_certs: vec![built.scheme.der("lotl")],
        trusted_list_dir: Some(cache.to_owned()),
        fetch_revocation: true,
        // The test serves the CRLs on the loopback.
        fetch_allow_private: true,
        ..qsign::service::ValidationSettings::default()
    }
}

async fn validate_json(svc: &Service, cms: &[u8]) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let response = reqwest::Client::new()
        .post(svc.url("/v1/validate"))
        .json(&serde_json::json!({"file": b64(cms), "content": b64(CONTENT)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qualification_at_signing_time_comes_from_the_verified_trusted_lists() {
    let built = build().await;
    let cache = tempfile::tempdir().unwrap();
    let configured = settings(&built, &built.lotl, cache.path());
    let svc = Service::start_adjusted(|s| s.validation = configured).await;
    // Every signature made here verifies in openssl against its CA.
    for (cms, ca) in [
        (&built.qc, "qca"),
        (&built.qc_no_sscd, "qca"),
        (&built.plain, "qca"),
        (&built.withdrawn, "old"),
        (&built.stray, "stray"),
        (&built.seal, "sealca"),
    ] {
        let (ok, out) = support::cms_verify(
            &svc,
            &built.scheme.path(&format!("{ca}.pem")),
            cms,
            Some(CONTENT),
            &[],
        );
        assert!(ok, "{out}");
    }
    // The composition root's background task loads the lists.
    let mut statuses = Vec::new();
    for _ in 0..300 {
        statuses = svc.service.validation.trusted_list_statuses();
        if statuses.iter().filter(|s| s.verified).count() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| s.verified && s.problem.is_none()),
        "{statuses:?}"
    );
    let dk = statuses
        .iter()
        .find(|s| s.territory.as_deref() == Some("DK"))
        .unwrap();
    assert_eq!(
        (dk.sequence_number, dk.providers, dk.services),
        (Some(7), 1, 2)
    );
    assert!(cache.path().join("DK.xml").exists() && cache.path().join("lotl.xml").exists());

    // A QC with QSCD from the granted CA/QC service: QESig, over HTTP.
    let report = validate_json(&svc, &built.qc).await;
    let s = &report["signatures"][0];
    assert_eq!(s["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(s["qualification_at_signing_time"], "QESig", "{report}");
    assert_eq!(s["trusted_list"]["country"], "DK", "{report}");
    assert_eq!(s["trusted_list"]["tsp"], "Test TSP DK", "{report}");
    assert_eq!(s["trusted_list"]["service"], "QCA service", "{report}");
    assert_eq!(s["trusted_list"]["status"], GRANTED, "{report}");
    assert_eq!(
        report["trusted_lists"].as_array().unwrap().len(),
        3,
        "{report}"
    );
    // A QC for seals (QcType eseal) with QSCD from a granted service for seals: QESeal.
    let report = validate_json(&svc, &built.seal).await;
    let s = &report["signatures"][0];
    assert_eq!(s["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(s["qualification_at_signing_time"], "QESeal", "{report}");
    assert_eq!(s["trusted_list"]["country"], "SE", "{report}");
    assert_eq!(s["trusted_list"]["tsp"], "Test TSP SE", "{report}");
    assert_eq!(s["trusted_list"]["service"], "SE seal service", "{report}");
    // The service's QCWithSSCD qualifier completes a QC that does not claim a QSCD.
    let report = validate_json(&svc, &built.qc_no_sscd).await;
    assert_eq!(
        report["signatures"][0]["qualification_at_signing_time"], "QESig",
        "{report}"
    );
    // No QCStatements: an advanced signature, from the same service.
    let report = validate_json(&svc, &built.plain).await;
    let s = &report["signatures"][0];
    assert_eq!(s["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(s["qualification_at_signing_time"], "AdESig", "{report}");
    assert_eq!(s["trusted_list"]["service"], "QCA service", "{report}");
    // A QC from a service withdrawn before the signing time: not qualified.
    let report = validate_json(&svc, &built.withdrawn).await;
    let s = &report["signatures"][0];
    assert_eq!(s["qualification_at_signing_time"], "AdESig", "{report}");
    assert_eq!(s["trusted_list"]["status"], WITHDRAWN, "{report}");
    // A CA on no list: no chain, nothing to qualify.
    let report = validate_json(&svc, &built.stray).await;
    let s = &report["signatures"][0];
    assert_eq!(s["indication"], "INDETERMINATE", "{report}");
    assert_eq!(
        s["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND",
        "{report}"
    );
    assert_eq!(s["qualification_at_signing_time"], "N/A", "{report}");
    assert!(s["trusted_list"].is_null(), "{report}");

    // The cache alone gives the same lists, verified again, with the network gone.
    let cached = qsign::service::TrustedLists::new(
        Some("http://127.0.0.1:9/gone.xml".into()),
        &[built.scheme.der("lotl")],
        Some(cache.path().to_owned()),
    );
    let set = cached.load_cache(svc.now()).await;
    assert!(
        set.statuses.iter().all(|s| s.verified),
        "{:?}",
        set.statuses
    );
    assert_eq!(set.lists.len(), 2);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_or_wrongly_signed_lists_are_not_used_and_reports_say_so() {
    let built = build().await;
    let svc = Service::start().await;
    let cache = tempfile::tempdir().unwrap();
    let validation = svc
        .service
        .clone()
        .with_validation(settings(&built, &built.lotl, cache.path()))
        .validation;
    let statuses = validation.refresh_trusted_lists().await;
    assert!(statuses.iter().all(|s| s.verified), "{statuses:?}");
    // The DK list changed after it was signed: the last verified copy stays in use, and the
    // status says why.
    {
        let mut files = built.files.lock().unwrap();
        let dk = files.get_mut("/dk.xml").unwrap();
        let text = String::from_utf8(dk.clone()).unwrap();
        *dk = text.replace("Test TSP DK", "Evil TSP DK").into_bytes();
    }
    let statuses = validation.refresh_trusted_lists().await;
    let dk = statuses
        .iter()
        .find(|s| s.location.ends_with("/dk.xml"))
        .unwrap();
    assert!(dk.verified, "{dk:?}");
    let why = dk.problem.as_deref().unwrap();
    assert!(
        why.contains("does not match its digest") && why.contains("last verified copy"),
        "{why}"
    );
    let (level, report) = qualification(&validation, &built.qc).await;
    assert_eq!(level.as_deref(), Some("QESig"));
    assert_eq!(
        report.signatures[0].trusted_list.as_ref().unwrap().tsp,
        "Test TSP DK"
    );
    // Without an earlier copy the tampered list is not used: its CA is no anchor.
    let fresh = tempfile::tempdir().unwrap();
    let validation = svc
        .service
        .clone()
        .with_validation(settings(&built, &built.lotl, fresh.path()))
        .validation;
    validation.refresh_trusted_lists().await;
    let (level, report) = qualification(&validation, &built.qc).await;
    let dk = report
        .trusted_lists
        .iter()
        .find(|s| s.territory.as_deref() == Some("DK"))
        .unwrap();
    assert!(!dk.verified, "{dk:?}");
    assert!(problem(dk).contains("does not match its digest"), "{dk:?}");
    assert!(!fresh.path().join("DK.xml").exists());
    let s = &report.signatures[0];
    assert_eq!(
        s.sub_indication,
        Some(qsign::validate::SubIndication::NoCertificateChainFound),
        "{s:?}"
    );
    assert_eq!(level.as_deref(), Some("N/A"));
    // A LOTL signed by a key that is not among lotl_certs: nothing is used.
    let validation = svc
        .service
        .clone()
        .with_validation(settings(&built, &built.lotl_wrong_signer, fresh.path()))
        .validation;
    let statuses = validation.refresh_trusted_lists().await;
    assert_eq!(
        statuses.len(),
        1,
        "no pointer of an untrusted LOTL is followed"
    );
    assert!(!statuses[0].verified);
    assert!(
        problem(&statuses[0]).contains("not signed by a certificate allowed"),
        "{statuses:?}"
    );
    let (level, report) = qualification(&validation, &built.plain).await;
    assert_eq!(level.as_deref(), Some("N/A"));
    assert!(!report.trusted_lists[0].verified);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qsign_verify_and_tl_show_use_the_lists_without_an_hsm() {
    let built = build().await;
    let bare = tempfile::tempdir().unwrap();
    let file = built.scheme.path("karen.p7s");
    let content = built.scheme.path("content.txt");
    let mut cmd = support::qsign(bare.path());
    cmd.env("QSIGN_HSM_MODULE", "/nonexistent/libsofthsm2.so")
        .env("QSIGN_HSM_MANAGED_SOFTHSM", "false")
        // The test serves the lists on the loopback.
        .env("QSIGN_VALIDATION_FETCH_ALLOW_PRIVATE", "true")
        .args([
            "verify",
            "--json",
            "--lotl-url",
            built.lotl.as_str(),
            "--lotl-certs",
        ])
        .arg(built.scheme.path("lotl.pem"))
        .arg("--content")
        .arg(&content)
        .arg(&file);
    let out = run(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Offline, no revocation data is fetched: indeterminate, and so Indeterminate-QESig.
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let s = &report["signatures"][0];
    assert_eq!(s["sub_indication"], "TRY_LATER", "{stdout}");
    assert_eq!(
        s["qualification_at_signing_time"], "Indeterminate-QESig",
        "{stdout}"
    );
    assert_eq!(s["trusted_list"]["country"], "DK", "{stdout}");
    // The lists the configuration names, fetched once, then read from the cache.
    let data = tempfile::tempdir().unwrap();
    let show = || {
        let mut cmd = support::qsign(data.path());
        cmd.env("QSIGN_VALIDATION_LOTL_URL", &built.lotl)
            .env("QSIGN_VALIDATION_LOTL_CERTS", built.scheme.path("lotl.pem"))
            .env("QSIGN_VALIDATION_FETCH_ALLOW_PRIVATE", "true")
            .args(["tl", "show"]);
        run(&mut cmd)
    };
    for _ in 0..2 {
        let out = show();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("DK {}/dk.xml: verified", built.scheme.base)),
            "{stdout}"
        );
        assert!(stdout.contains("sequence number 7"), "{stdout}");
        assert!(stdout.contains("1 providers, 2 services"), "{stdout}");
        assert!(data.path().join("trusted-lists/SE.xml").exists());
    }
    // A LOTL signed by another key (and no earlier copy): shown as not used, and exit 1.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = support::qsign(elsewhere.path());
    cmd.env("QSIGN_VALIDATION_LOTL_URL", &built.lotl_wrong_signer)
        .env("QSIGN_VALIDATION_LOTL_CERTS", built.scheme.path("lotl.pem"))
        .env("QSIGN_VALIDATION_FETCH_ALLOW_PRIVATE", "true")
        .args(["tl", "show", "--refresh"]);
    let out = run(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("not used"), "{stdout}");
}

/// The qualification of the CAdES signature `cms` of [`CONTENT`] under `validation`, and the
/// report.
async fn qualification(
    validation: &qsign::service::Validation,
    cms: &[u8],
) -> (Option<String>, qsign::validate::Report) {
    let report = validation
        .validate_file(cms, Some(CONTENT), &[])
        .await
        .unwrap();
    (report.signatures[0].qualification_level.clone(), report)
}

/// Why a list is not used, or what went wrong with it.
fn problem(status: &qsign::validate::report::TrustedListStatus) -> &str {
    status.problem.as_deref().unwrap_or_default()
}

/// The trusted lists of `settings`, fetched now by a service with those settings.
async fn refreshed(
    svc: &Service,
    settings: qsign::service::ValidationSettings,
) -> (
    Arc<qsign::service::Validation>,
    Vec<qsign::validate::report::TrustedListStatus>,
) {
    let validation = svc.service.clone().with_validation(settings).validation;
    let statuses = validation.refresh_trusted_lists().await;
    (validation, statuses)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_over_https_are_fetched_from_servers_the_tls_roots_vouch_for_and_only_from_those() {
    let built = build().await;
    let svc = Service::start().await;
    let (trusted_dir, unknown_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (https, ca) = https_file_server(Arc::clone(&built.files), trusted_dir.path()).await;
    let (unknown, _) = https_file_server(Arc::clone(&built.files), unknown_dir.path()).await;
    // A list of lists whose pointers are https too, signed by the LOTL signer.
    let lotl = built
        .scheme
        .sign_list(&lotl_xml(&built.scheme, &https), "lotl", "lotl-https.xml");
    built
        .files
        .lock()
        .unwrap()
        .insert("/lotl-https.xml".into(), lotl);
    let cache = tempfile::tempdir().unwrap();
    let over = |base: &str, roots: Vec<Vec<u8>>| qsign::service::ValidationSettings {
        tls_roots: roots,
        ..settings(&built, &format!("{base}/lotl-https.xml"), cache.path())
    };

    // The server's certificate is of the CA that validation.tls_ca names: every list is
    // fetched over TLS and verified, and the lists decide the qualification.
    let (validation, statuses) = refreshed(&svc, over(&https, vec![ca.clone()])).await;
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    for s in &statuses {
        assert!(s.location.starts_with("https://127.0.0.1:"), "{s:?}");
        assert!(s.verified && s.problem.is_none(), "{s:?}");
    }
    let (level, report) = qualification(&validation, &built.qc).await;
    assert_eq!(level.as_deref(), Some("QESig"), "{report:?}");

    // Without that CA the system's roots do not vouch for the server: nothing is fetched, the
    // list of lists is not used, and the report says why.
    let fresh = tempfile::tempdir().unwrap();
    let untrusting = qsign::service::ValidationSettings {
        trusted_list_dir: Some(fresh.path().to_owned()),
        ..over(&https, Vec::new())
    };
    let (validation, statuses) = refreshed(&svc, untrusting).await;
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert!(
        !statuses[0].verified && problem(&statuses[0]).contains("TLS handshake failed"),
        "{statuses:?}"
    );
    let (level, report) = qualification(&validation, &built.qc).await;
    let lotl = &report.trusted_lists[0];
    assert!(
        !lotl.verified && problem(lotl).contains("TLS handshake failed"),
        "{report:?}"
    );
    assert_eq!(level.as_deref(), Some("N/A"));
    // A server with a certificate of another CA, though the configured one is trusted.
    let (_, statuses) = refreshed(&svc, over(&unknown, vec![ca.clone()])).await;
    assert!(
        !statuses[0].verified && problem(&statuses[0]).contains("TLS handshake failed"),
        "{statuses:?}"
    );
    // Without validation.fetch_allow_private the loopback is not even asked.
    let private = qsign::service::ValidationSettings {
        fetch_allow_private: false,
        ..over(&https, vec![ca])
    };
    let (_, statuses) = refreshed(&svc, private).await;
    assert!(
        !statuses[0].verified && problem(&statuses[0]).contains("private or local address"),
        "{statuses:?}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyhanko_and_xmlsec1_signatures_under_a_listed_service_are_qesig() {
    let built = build().await;
    let svc = Service::start().await;
    let cache = tempfile::tempdir().unwrap();
    let (validation, statuses) = refreshed(&svc, settings(&built, &built.lotl, cache.path())).await;
    assert!(statuses.iter().all(|s| s.verified), "{statuses:?}");
    let scheme = &built.scheme;
    let dk_qesig = |report: &qsign::validate::Report| {
        let [s] = report.signatures.as_slice() else {
            panic!("{report:?}")
        };
        assert_eq!(
            s.indication,
            qsign::validate::Indication::TotalPassed,
            "{s:?}"
        );
        assert_eq!(s.qualification_level.as_deref(), Some("QESig"), "{s:?}");
        let entry = s.trusted_list.as_ref().unwrap();
        assert_eq!(
            (
                entry.country.as_str(),
                entry.tsp.as_str(),
                entry.service.as_str()
            ),
            ("DK", "Test TSP DK", "QCA service")
        );
    };

    // A PDF signed by pyHanko with the qualified signer's key and certificate; pyHanko accepts
    // it given the CA.
    let input = svc.file("in.pdf", &sample_pdf(1, "1.7", 0));
    let pem = ["karen.key", "karen.pem", "qca.pem"].map(|name| scheme.path(name));
    let output = scheme.path("karen.pdf");
    let pdf = crate::pades::pyhanko_sign_pem(pem, &input, &output, "Signature1");
    let theirs = crate::pades::pyhanko_trusting(&svc, &scheme.der("qca"), &pdf, false);
    for check in ["intact", "valid", "trusted"] {
        assert_eq!(theirs["signatures"][0][check], true, "{check}: {theirs}");
    }
    dk_qesig(&validation.validate_file(&pdf, None, &[]).await.unwrap());

    // An XML document signed enveloped by xmlsec1, the signer's certificate and the CA's in
    // KeyInfo; xmlsec1 accepts it given the CA (checked as it is made).
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <order><item>trusted list test</item>{}</order>",
        signature_template("ecdsa-sha256")
    );
    let xml = scheme.sign_xml(&document, &["karen", "qca"], "qca", "karen.xml");
    let text = String::from_utf8_lossy(&xml);
    assert_eq!(text.matches("<ds:X509Certificate>").count(), 2, "{text}");
    dk_qesig(&validation.validate_file(&xml, None, &[]).await.unwrap());
    svc.stop().await;
}
