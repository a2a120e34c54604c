//! The PKI, checked by OpenSSL: chain and CRL (`openssl verify -crl_check_all`), OCSP
//! (`openssl ocsp` against the running responder), the TSA (`openssl ts -verify`), and the
//! ETSI certificate profiles as OpenSSL decodes them.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use qsign::audit::Context;
use qsign::hsm::KeyAlgorithm;
use qsign::pki::tsa::{ImprintHash, Source};
use qsign::pki::{Ca, CertStatus, Employee, Issued, LegalPerson, NaturalPerson, Reason, Subject};

use crate::support::{self, cert_pem, now, openssl, Service};

fn person(qualified: bool) -> NaturalPerson {
    NaturalPerson {
        given_name: "Karen".into(),
        family_name: "Blixen".into(),
        person_id: qsign::types::PersonId::random(),
        country: "DK".into(),
        qualified,
    }
}

async fn issue(svc: &Service, subject: &Subject) -> Issued {
    let (_, spki) = svc
        .hsm
        .generate_wrapped(KeyAlgorithm::EcP256)
        .await
        .unwrap();
    svc.pki
        .issue(&spki, subject, &Context::system(), now())
        .await
        .unwrap()
}

/// Writes root.pem, issuing.pem and chain.pem (issuing + root).
async fn write_chain(svc: &Service) -> (PathBuf, PathBuf, PathBuf) {
    let root = cert_pem(&svc.pki.ca_certificate(Ca::Root).await.unwrap());
    let issuing = cert_pem(&svc.pki.ca_certificate(Ca::Issuing).await.unwrap());
    (
        svc.file("root.pem", root.as_bytes()),
        svc.file("issuing.pem", issuing.as_bytes()),
        svc.file("chain.pem", format!("{issuing}{root}").as_bytes()),
    )
}

fn os(p: &Path) -> &OsStr {
    p.as_os_str()
}

/// Downloads both CRLs over HTTP and writes them as one PEM file.
async fn fetch_crls(svc: &Service) -> PathBuf {
    let mut pem = String::new();
    for ca in ["root", "issuing"] {
        let response = reqwest::get(svc.url(&format!("/pki/crl/{ca}.crl")))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pkix-crl");
        let der = svc.file(&format!("{ca}.crl.der"), &response.bytes().await.unwrap());
        let out = svc.dir.path().join(format!("{ca}.crl.pem"));
        let (ok, text) = openssl(&[
            "crl".as_ref(),
            "-inform".as_ref(),
            "DER".as_ref(),
            "-in".as_ref(),
            os(&der),
            "-out".as_ref(),
            os(&out),
        ]);
        assert!(ok, "{text}");
        pem.push_str(&std::fs::read_to_string(&out).unwrap());
    }
    svc.file("crls.pem", pem.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_certificate_chains_to_the_root_and_appears_revoked_on_the_crl() {
    let svc = Service::start().await;
    let (root, issuing, _) = write_chain(&svc).await;
    let issued = issue(&svc, &Subject::NaturalPerson(person(true))).await;
    let user = svc.file("user.pem", cert_pem(&issued.der).as_bytes());

    let verify = |crls: &Path| {
        openssl(&[
            "verify".as_ref(),
            "-CAfile".as_ref(),
            os(&root),
            "-untrusted".as_ref(),
            os(&issuing),
            "-crl_check_all".as_ref(),
            "-CRLfile".as_ref(),
            os(crls),
            os(&user),
        ])
    };
    let crls = fetch_crls(&svc).await;
    let (ok, text) = verify(&crls);
    assert!(ok && text.contains(": OK"), "{text}");

    assert!(svc
        .pki
        .revoke(
            &issued.serial,
            Reason::KeyCompromise,
            &Context::system(),
            now()
        )
        .await
        .unwrap());
    assert!(!svc
        .pki
        .revoke(
            &issued.serial,
            Reason::KeyCompromise,
            &Context::system(),
            now()
        )
        .await
        .unwrap());
    let crls = fetch_crls(&svc).await;
    let (ok, text) = verify(&crls);
    assert!(!ok && text.contains("certificate revoked"), "{text}");

    let (_, crl_text) = openssl(&[
        "crl".as_ref(),
        "-in".as_ref(),
        os(&svc.dir.path().join("issuing.crl.pem")),
        "-noout".as_ref(),
        "-text".as_ref(),
    ]);
    assert!(
        crl_text
            .to_uppercase()
            .contains(&issued.serial.to_uppercase()),
        "{crl_text}"
    );
    assert!(crl_text.contains("Key Compromise"), "{crl_text}");
    assert!(crl_text.contains("X509v3 CRL Number"), "{crl_text}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_reports_good_then_revoked_to_openssl() {
    let svc = Service::start().await;
    let (_, issuing, chain) = write_chain(&svc).await;
    let issued = issue(&svc, &Subject::NaturalPerson(person(true))).await;
    let user = svc.file("user.pem", cert_pem(&issued.der).as_bytes());
    let url = svc.url("/pki/ocsp");
    let ask = || {
        openssl(&[
            "ocsp".as_ref(),
            "-issuer".as_ref(),
            os(&issuing),
            "-cert".as_ref(),
            os(&user),
            "-url".as_ref(),
            url.as_ref(),
            "-CAfile".as_ref(),
            os(&chain),
        ])
    };
    let (ok, text) = ask();
    assert!(ok, "{text}");
    assert!(text.contains("Response verify OK"), "{text}");
    assert!(text.contains("user.pem: good"), "{text}");
    assert!(!text.contains("WARNING"), "nonce not echoed? {text}");

    svc.pki
        .revoke(
            &issued.serial,
            Reason::AffiliationChanged,
            &Context::system(),
            now(),
        )
        .await
        .unwrap();
    let (ok, text) = ask();
    assert!(ok, "{text}");
    assert!(text.contains("Response verify OK"), "{text}");
    assert!(text.contains("user.pem: revoked"), "{text}");
    assert!(text.contains("Reason: affiliationChanged"), "{text}");

    // A serial this CA never issued is unknown.
    let (_, text) = openssl(&[
        "ocsp".as_ref(),
        "-issuer".as_ref(),
        os(&issuing),
        "-serial".as_ref(),
        "0x1234".as_ref(),
        "-url".as_ref(),
        url.as_ref(),
        "-CAfile".as_ref(),
        os(&chain),
    ]);
    assert!(text.contains("0x1234: unknown"), "{text}");

    // RFC 6960 A.1 GET form.
    let request = svc.dir.path().join("req.der");
    let (ok, text) = openssl(&[
        "ocsp".as_ref(),
        "-issuer".as_ref(),
        os(&issuing),
        "-cert".as_ref(),
        os(&user),
        "-no_nonce".as_ref(),
        "-reqout".as_ref(),
        os(&request),
    ]);
    assert!(ok, "{text}");
    use base64::Engine as _;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&request).unwrap());
    let response = reqwest::get(svc.url(&format!("/pki/ocsp/{encoded}")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let resp = svc.file("resp.der", &response.bytes().await.unwrap());
    let (ok, text) = openssl(&[
        "ocsp".as_ref(),
        "-respin".as_ref(),
        os(&resp),
        "-issuer".as_ref(),
        os(&issuing),
        "-cert".as_ref(),
        os(&user),
        "-CAfile".as_ref(),
        os(&chain),
    ]);
    assert!(ok && text.contains("user.pem: revoked"), "{text}");
    svc.stop().await;
}

async fn post(svc: &Service, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(svc.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsa_replies_verify_with_openssl_ts() {
    let svc = Service::start().await;
    let (_, _, chain) = write_chain(&svc).await;
    let data = svc.file("contract.txt", b"the parties agree");
    for with_cert in [true, false] {
        let query = svc.dir.path().join(format!("q{with_cert}.tsq"));
        let mut args: Vec<&OsStr> = vec![
            "ts".as_ref(),
            "-query".as_ref(),
            "-data".as_ref(),
            os(&data),
            "-sha256".as_ref(),
            "-out".as_ref(),
            os(&query),
        ];
        if with_cert {
            args.push("-cert".as_ref());
        }
        let (ok, text) = openssl(&args);
        assert!(ok, "{text}");
        let response = post(
            &svc,
            "/tsa",
            "application/timestamp-query",
            std::fs::read(&query).unwrap(),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/timestamp-reply"
        );
        let reply = svc.file(
            &format!("r{with_cert}.tsr"),
            &response.bytes().await.unwrap(),
        );
        let tsa = svc.file(
            "tsa.pem",
            cert_pem(&svc.pki.tsa_certificate().await.unwrap()).as_bytes(),
        );
        let mut verify: Vec<&OsStr> = vec![
            "ts".as_ref(),
            "-verify".as_ref(),
            "-in".as_ref(),
            os(&reply),
            "-queryfile".as_ref(),
            os(&query),
            "-CAfile".as_ref(),
            os(&chain),
        ];
        if !with_cert {
            verify.extend(["-untrusted".as_ref(), os(&tsa)]);
        }
        let (ok, text) = openssl(&verify);
        assert!(
            ok && text.contains("Verification: OK"),
            "cert={with_cert}: {text}"
        );

        let (_, shown) = openssl(&[
            "ts".as_ref(),
            "-reply".as_ref(),
            "-in".as_ref(),
            os(&reply),
            "-text".as_ref(),
        ]);
        assert!(shown.contains("Status: Granted"), "{shown}");
        assert!(shown.contains("Policy OID: 0.4.0.2023.1.1"), "{shown}");
        assert!(shown.contains("Accuracy: 0x01 seconds"), "{shown}");

        // Other data does not match the token.
        let other = svc.file("other.txt", b"the parties disagree");
        let mut tampered: Vec<&OsStr> = vec![
            "ts".as_ref(),
            "-verify".as_ref(),
            "-in".as_ref(),
            os(&reply),
            "-data".as_ref(),
            os(&other),
            "-CAfile".as_ref(),
            os(&chain),
        ];
        if !with_cert {
            tampered.extend(["-untrusted".as_ref(), os(&tsa)]);
        }
        let (ok, text) = openssl(&tampered);
        assert!(!ok, "a token over other data verified: {text}");
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsa_client_gets_checked_tokens_from_embedded_and_external_tsas() {
    let svc = Service::start().await;
    let (_, _, chain) = write_chain(&svc).await;
    let digest = support::sha256(b"a document");
    let sources = [
        Source::Embedded(svc.pki.clone()),
        Source::external(&svc.url("/tsa")).unwrap(),
    ];
    for (i, source) in sources.iter().enumerate() {
        let token = source
            .token(ImprintHash::Sha256, &digest, now())
            .await
            .unwrap();
        let info = qsign::pki::tsa::token_info(&token).unwrap();
        assert_eq!(
            info.message_imprint.hashed_message.as_bytes(),
            digest.as_slice()
        );
        let path = svc.file(&format!("token{i}.der"), &token);
        let (ok, text) = openssl(&[
            "ts".as_ref(),
            "-verify".as_ref(),
            "-in".as_ref(),
            os(&path),
            "-token_in".as_ref(),
            "-digest".as_ref(),
            hex::encode(&digest).as_ref(),
            "-CAfile".as_ref(),
            os(&chain),
        ]);
        assert!(ok && text.contains("Verification: OK"), "{text}");
    }
    let unreachable = Source::external("http://127.0.0.1:1/tsa").unwrap();
    assert!(matches!(
        unreachable.token(ImprintHash::Sha256, &digest, now()).await,
        Err(qsign::pki::tsa::ClientError::Unreachable(_))
    ));
    svc.stop().await;
}

fn x509_text(svc: &Service, name: &str, der: &[u8]) -> String {
    let path = svc.file(name, &cert_pem(der).into_bytes());
    let (ok, text) = openssl(&[
        "x509".as_ref(),
        "-in".as_ref(),
        os(&path),
        "-noout".as_ref(),
        "-text".as_ref(),
    ]);
    assert!(ok, "{text}");
    text
}

/// The OIDs inside the qcStatements extension, as `openssl asn1parse` decodes them.
fn qc_statement_oids(svc: &Service, name: &str, der: &[u8]) -> Vec<String> {
    let path = svc.file(name, der);
    let (ok, outer) = openssl(&[
        "asn1parse".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        os(&path),
    ]);
    assert!(ok, "{outer}");
    let lines: Vec<&str> = outer.lines().collect();
    let Some(at) = lines
        .iter()
        .position(|l| l.contains("qcStatements") || l.contains("1.3.6.1.5.5.7.1.3"))
    else {
        return Vec::new();
    };
    let octets = lines[at + 1..]
        .iter()
        .find(|l| l.contains("OCTET STRING"))
        .unwrap();
    let offset = octets.split(':').next().unwrap().trim();
    let (ok, inner) = openssl(&[
        "asn1parse".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        os(&path),
        "-strparse".as_ref(),
        offset.as_ref(),
    ]);
    assert!(ok, "{inner}");
    inner
        .lines()
        .filter(|l| {
            l.contains("OBJECT") || l.contains("IA5STRING") || l.contains("PRINTABLESTRING")
        })
        .map(|l| {
            // "    60:d=3  hl=2 l=  27 prim: IA5STRING         :http://host:port/pki/pds"
            let after_kind = l.split_once("prim:").map_or(l, |(_, rest)| rest);
            after_kind
                .split_once(':')
                .map_or("", |(_, value)| value)
                .trim()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_profiles_carry_the_etsi_fields_as_openssl_reads_them() {
    let svc = Service::start().await;
    let base = svc.base.clone();

    let qualified = issue(&svc, &Subject::NaturalPerson(person(true))).await;
    let text = x509_text(&svc, "qualified.pem", &qualified.der);
    for needle in [
        "X509v3 Key Usage: critical\n                Non Repudiation",
        "Policy: 0.4.0.194112.1.2",
        "Policy: 1.3.6.1.4.1.99999.1.1",
        &format!("OCSP - URI:{base}/pki/ocsp"),
        &format!("CA Issuers - URI:{base}/pki/ca/issuing.crt"),
        &format!("URI:{base}/pki/crl/issuing.crl"),
        "GN = Karen",
        "SN = Blixen",
        "serialNumber = UUID:",
        "CN = Karen Blixen",
        "C = DK",
        "ecdsa-with-SHA256",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
    let oids = qc_statement_oids(&svc, "qualified.der", &qualified.der);
    for oid in [
        "0.4.0.1862.1.1",
        "0.4.0.1862.1.4",
        "0.4.0.1862.1.6",
        "0.4.0.1862.1.6.1",
        "0.4.0.1862.1.5",
    ] {
        assert!(oids.iter().any(|o| o == oid), "{oid} not in {oids:?}");
    }
    assert!(
        oids.iter().any(|o| o == &format!("{base}/pki/pds")),
        "{oids:?}"
    );
    assert!(oids.iter().any(|o| o == "en"), "{oids:?}");

    let advanced = issue(&svc, &Subject::NaturalPerson(person(false))).await;
    let text = x509_text(&svc, "advanced.pem", &advanced.der);
    assert!(text.contains("Policy: 0.4.0.2042.1.2"), "{text}");
    assert!(!text.contains("0.4.0.194112.1.2"), "{text}");
    assert!(qc_statement_oids(&svc, "advanced.der", &advanced.der).is_empty());

    let employee = issue(
        &svc,
        &Subject::Employee(Employee {
            person: person(true),
            organization: "Tivoli A/S".into(),
            cvr: "12345678".into(),
        }),
    )
    .await;
    let text = x509_text(&svc, "employee.pem", &employee.der);
    assert!(text.contains("O = Tivoli A/S"), "{text}");
    assert!(
        text.contains("organizationIdentifier = NTRDK-12345678"),
        "{text}"
    );
    assert!(text.contains("CN = Karen Blixen"), "{text}");

    let seal = issue(
        &svc,
        &Subject::LegalPerson(LegalPerson {
            organization: "Tivoli A/S".into(),
            cvr: "12345678".into(),
            country: "DK".into(),
        }),
    )
    .await;
    let text = x509_text(&svc, "seal.pem", &seal.der);
    assert!(text.contains("Policy: 0.4.0.194112.1.3"), "{text}");
    assert!(
        text.contains("organizationIdentifier = NTRDK-12345678"),
        "{text}"
    );
    let oids = qc_statement_oids(&svc, "seal.der", &seal.der);
    assert!(oids.iter().any(|o| o == "0.4.0.1862.1.6.2"), "{oids:?}");

    let tsa = x509_text(&svc, "tsa.pem", &svc.pki.tsa_certificate().await.unwrap());
    assert!(
        tsa.contains("X509v3 Extended Key Usage: critical\n                Time Stamping"),
        "{tsa}"
    );

    let ocsp_der = svc
        .store
        .latest_certificate("ocsp")
        .await
        .unwrap()
        .unwrap()
        .der;
    let ocsp = x509_text(&svc, "ocsp.pem", &ocsp_der);
    assert!(ocsp.contains("OCSP Signing"), "{ocsp}");
    assert!(ocsp.contains("OCSP No Check"), "{ocsp}");

    let issuing = x509_text(
        &svc,
        "issuing.pem",
        &svc.pki.ca_certificate(Ca::Issuing).await.unwrap(),
    );
    assert!(issuing.contains("CA:TRUE, pathlen:0"), "{issuing}");
    assert!(
        issuing.contains(&format!("URI:{base}/pki/crl/root.crl")),
        "{issuing}"
    );

    // The CA certificates are served at the AIA URLs.
    for ca in ["root", "issuing"] {
        let r = reqwest::get(svc.url(&format!("/pki/ca/{ca}.crt")))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pkix-cert");
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_wrong_type_and_oversize_requests_are_refused_cleanly() {
    let svc = Service::start().await;

    let garbage = post(
        &svc,
        "/pki/ocsp",
        "application/ocsp-request",
        b"\x30\x82\xff\xffnot der".to_vec(),
    )
    .await;
    assert_eq!(garbage.status(), 200);
    let resp = svc.file("bad-ocsp.der", &garbage.bytes().await.unwrap());
    let (_, text) = openssl(&[
        "ocsp".as_ref(),
        "-respin".as_ref(),
        os(&resp),
        "-resp_text".as_ref(),
        "-noverify".as_ref(),
    ]);
    assert!(text.to_lowercase().contains("malformedrequest"), "{text}");

    let garbage = post(
        &svc,
        "/tsa",
        "application/timestamp-query",
        b"\x30\x03\x02\x01".to_vec(),
    )
    .await;
    assert_eq!(garbage.status(), 200);
    let reply = svc.file("bad.tsr", &garbage.bytes().await.unwrap());
    let (_, text) = openssl(&[
        "ts".as_ref(),
        "-reply".as_ref(),
        "-in".as_ref(),
        os(&reply),
        "-text".as_ref(),
    ]);
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(
        text.contains("Failure info: the data submitted has the wrong format"),
        "{text}"
    );

    // SHA-1 imprints are refused with badAlg.
    let data = svc.file("d.txt", b"x");
    let query = svc.dir.path().join("sha1.tsq");
    let (ok, text) = openssl(&[
        "ts".as_ref(),
        "-query".as_ref(),
        "-data".as_ref(),
        os(&data),
        "-sha1".as_ref(),
        "-out".as_ref(),
        os(&query),
    ]);
    assert!(ok, "{text}");
    let r = post(
        &svc,
        "/tsa",
        "application/timestamp-query",
        std::fs::read(&query).unwrap(),
    )
    .await;
    let reply = svc.file("sha1.tsr", &r.bytes().await.unwrap());
    let (_, text) = openssl(&[
        "ts".as_ref(),
        "-reply".as_ref(),
        "-in".as_ref(),
        os(&reply),
        "-text".as_ref(),
    ]);
    assert!(
        text.contains("Status: Rejected")
            && text.contains("Failure info: unrecognized or unsupported algorithm identifier"),
        "{text}"
    );

    let wrong_type = post(&svc, "/tsa", "application/json", b"{}".to_vec()).await;
    assert_eq!(wrong_type.status(), 415);
    let body: serde_json::Value = wrong_type.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_media_type");

    let huge = post(
        &svc,
        "/pki/ocsp",
        "application/ocsp-request",
        vec![0x30; 64 * 1024],
    )
    .await;
    assert_eq!(huge.status(), 413);

    let not_base64 = reqwest::get(svc.url("/pki/ocsp/%%%not-base64"))
        .await
        .unwrap();
    assert_eq!(not_base64.status(), 400);
    let body: serde_json::Value = not_base64.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    assert_eq!(
        reqwest::get(svc.url("/pki/crl/nope.crl"))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        reqwest::get(svc.url("/pki/ca/root.pem"))
            .await
            .unwrap()
            .status(),
        404
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchy_is_made_once_and_serials_are_random_128_bit() {
    let svc = Service::start().await;
    let again = svc.pki.ensure_hierarchy(now()).await.unwrap();
    assert_eq!(again.len(), 4);
    assert!(
        again.iter().all(|(_, s)| *s == CertStatus::Existing),
        "{again:?}"
    );

    let (root, issuing, _) = write_chain(&svc).await;
    let mut serials = std::collections::HashSet::new();
    for _ in 0..16 {
        let issued = issue(&svc, &Subject::NaturalPerson(person(false))).await;
        let user = svc.file("user.pem", cert_pem(&issued.der).as_bytes());
        let (ok, text) = openssl(&[
            "verify".as_ref(),
            "-CAfile".as_ref(),
            os(&root),
            "-untrusted".as_ref(),
            os(&issuing),
            os(&user),
        ]);
        assert!(ok && text.contains(": OK"), "{text}");
        assert_eq!(issued.serial.len(), 32, "{}", issued.serial);
        assert!(
            matches!(issued.serial.as_bytes()[0], b'4'..=b'7'),
            "{}",
            issued.serial
        );
        assert!(serials.insert(issued.serial));
    }
    assert!(matches!(
        svc.pki
            .revoke("00ff", Reason::Unspecified, &Context::system(), now())
            .await,
        Err(qsign::pki::Error::UnknownCertificate)
    ));
    let bad = Subject::Employee(Employee {
        person: person(true),
        organization: "X".into(),
        cvr: "1234567".into(),
    });
    let (_, spki) = svc
        .hsm
        .generate_wrapped(KeyAlgorithm::EcP256)
        .await
        .unwrap();
    assert!(matches!(
        svc.pki.issue(&spki, &bad, &Context::system(), now()).await,
        Err(qsign::pki::Error::InvalidSubject(_))
    ));
    assert!(matches!(
        svc.pki
            .issue(
                b"not a key",
                &Subject::NaturalPerson(person(true)),
                &Context::system(),
                now()
            )
            .await,
        Err(qsign::pki::Error::InvalidPublicKey)
    ));
    svc.stop().await;
}
