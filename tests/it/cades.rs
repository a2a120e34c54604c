//! CAdES (CMS SignedData) at B-B, B-T and B-LT, attached and detached, with P-256, RSA-PSS and
//! RSA PKCS#1 v1.5 user keys in SoftHSM; every output checked by `openssl cms -verify` against
//! qsign's root, the timestamp by `openssl ts -verify`, and tampering made to fail.

use qsign::audit::Context;
use qsign::formats::cms::{self, Level, SignatureAlgorithm};
use qsign::hsm::{ecdsa_signature_der, Digest, HashAlgorithm, KeyAlgorithm, SignAlgorithm};
use qsign::pki::{Ca, NaturalPerson, Subject};

use crate::support::{self, Service};

struct Signed {
    cms: Vec<u8>,
    root: std::path::PathBuf,
}

/// Makes a user key and certificate, and a CAdES signature over `content`.
async fn sign(
    svc: &Service,
    content: &[u8],
    attached: bool,
    key: KeyAlgorithm,
    scheme: SignAlgorithm,
    algorithm: SignatureAlgorithm,
) -> Signed {
    let (wrapped, spki) = svc.hsm.generate_wrapped(key).await.unwrap();
    let subject = Subject::NaturalPerson(NaturalPerson {
        given_name: "Karen".into(),
        family_name: "Blixen".into(),
        person_id: qsign::types::PersonId::random(),
        country: "DK".into(),
        qualified: false,
    });
    let issued = svc
        .pki
        .issue(&spki, &subject, &Context::system(), svc.now())
        .await
        .unwrap();
    let digest: [u8; 32] = support::sha256(content).try_into().unwrap();
    let prepared = cms::prepare(&digest, &issued.der, Some(svc.now()), None).unwrap();
    let raw = svc
        .hsm
        .sign_with_wrapped(
            &wrapped,
            scheme,
            vec![Digest::new(HashAlgorithm::Sha256, prepared.to_be_signed.to_vec()).unwrap()],
        )
        .await
        .unwrap()
        .remove(0);
    let signature = if key.is_ec() {
        ecdsa_signature_der(&raw).unwrap()
    } else {
        raw
    };
    let chain = vec![svc.pki.ca_certificate(Ca::Issuing).await.unwrap()];
    let cms = cms::assemble(
        &prepared,
        attached.then_some(content),
        &chain,
        algorithm,
        &signature,
    )
    .unwrap();
    let root_der = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let root = svc.file(
        &format!("root-{}.pem", uuid::Uuid::new_v4()),
        support::cert_pem(&root_der).as_bytes(),
    );
    Signed { cms, root }
}

/// `openssl cms -verify` of a signature against the signer's root.
fn openssl_cms_verify(
    svc: &Service,
    signed: &Signed,
    cms: &[u8],
    content: Option<&[u8]>,
    extra: &[&str],
) -> (bool, String) {
    support::cms_verify(svc, &signed.root, cms, content, extra)
}

/// What `openssl cms -cmsout -print` shows of a CMS file.
fn cms_print(file: &std::path::Path) -> String {
    let (ok, dump) = support::openssl(&[
        "cms".as_ref(),
        "-cmsout".as_ref(),
        "-print".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        file.as_os_str(),
    ]);
    assert!(ok, "{dump}");
    dump
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cades_b_b_attached_and_detached_verify_with_openssl_and_tampering_fails() {
    let svc = Service::start().await;
    let content = b"Tenancy agreement, signed as CAdES.";
    for (key, scheme, algorithm) in [
        (
            KeyAlgorithm::EcP256,
            SignAlgorithm::Ecdsa,
            SignatureAlgorithm::EcdsaSha256,
        ),
        (
            KeyAlgorithm::Rsa3072,
            SignAlgorithm::RsaPss,
            SignatureAlgorithm::RsaPssSha256,
        ),
        (
            KeyAlgorithm::Rsa3072,
            SignAlgorithm::RsaPkcs1v15,
            SignatureAlgorithm::RsaSha256,
        ),
    ] {
        let detached = sign(&svc, content, false, key, scheme, algorithm).await;
        let (ok, out) = openssl_cms_verify(&svc, &detached, &detached.cms, Some(content), &[]);
        assert!(
            ok && out.contains("Verification successful"),
            "{algorithm:?}: {out}"
        );
        let (ok, _) = openssl_cms_verify(
            &svc,
            &detached,
            &detached.cms,
            Some(b"Tenancy agreement, signed as CAdES!"),
            &[],
        );
        assert!(!ok, "{algorithm:?}: changed content must fail");
        // Changing a signed attribute (a digit of the signing time) breaks the signature.
        let mut tampered = detached.cms.clone();
        // The last UTCTime: the signing time in the signer info, after the certificates.
        let at = tampered
            .windows(2)
            .rposition(|w| w == [0x17, 0x0d])
            .unwrap();
        tampered[at + 3] ^= 0x01;
        let (ok, _) = openssl_cms_verify(&svc, &detached, &tampered, Some(content), &[]);
        assert!(!ok, "{algorithm:?}: a changed signed attribute must fail");
        assert_eq!(cms::level(&detached.cms).unwrap(), Level::BB);

        let attached = sign(&svc, content, true, key, scheme, algorithm).await;
        let (ok, out) = openssl_cms_verify(&svc, &attached, &attached.cms, None, &[]);
        assert!(ok, "{algorithm:?}: {out}");
        // Tampering with the embedded content breaks it.
        let mut tampered = attached.cms.clone();
        let at = tampered
            .windows(content.len())
            .position(|w| w == content)
            .unwrap();
        tampered[at] ^= 0x20;
        let (ok, _) = openssl_cms_verify(&svc, &attached, &tampered, None, &[]);
        assert!(!ok, "{algorithm:?}: tampered content must fail");
    }
    // The signed attributes are the CAdES baseline set.
    let signed = sign(
        &svc,
        content,
        false,
        KeyAlgorithm::EcP256,
        SignAlgorithm::Ecdsa,
        SignatureAlgorithm::EcdsaSha256,
    )
    .await;
    let file = svc.file("bb.p7s", &signed.cms);
    let dump = cms_print(&file);
    for attr in [
        "contentType",
        "messageDigest",
        "signingTime",
        "1.2.840.113549.1.9.16.2.47",
    ] {
        assert!(dump.contains(attr), "{attr} missing:\n{dump}");
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cades_b_t_and_b_lt_carry_a_timestamp_and_validation_data_that_openssl_accepts() {
    use sha2::Digest as _;
    let svc = Service::start().await;
    let content = b"Deed of sale, signed at B-LT.";
    let signed = sign(
        &svc,
        content,
        false,
        KeyAlgorithm::EcP256,
        SignAlgorithm::Ecdsa,
        SignatureAlgorithm::EcdsaSha256,
    )
    .await;

    // B-T: a timestamp over the signature value.
    let value = cms::signature_value(&signed.cms).unwrap();
    let imprint = sha2::Sha256::digest(&value).to_vec();
    let token = qsign::pki::tsa::Source::Embedded(svc.pki.clone())
        .token(qsign::pki::tsa::ImprintHash::Sha256, &imprint, svc.now())
        .await
        .unwrap();
    let bt = cms::add_signature_timestamp(&signed.cms, &token).unwrap();
    assert_eq!(cms::level(&bt).unwrap(), Level::BT);
    let (ok, out) = openssl_cms_verify(&svc, &signed, &bt, Some(content), &[]);
    assert!(ok, "{out}");
    // openssl checks the token against the hash of the signature value.
    let tsa = svc.pki.tsa_certificate().await.unwrap();
    let issuing = svc.pki.ca_certificate(Ca::Issuing).await.unwrap();
    let untrusted = svc.file(
        "tsa-chain.pem",
        format!("{}{}", support::cert_pem(&tsa), support::cert_pem(&issuing)).as_bytes(),
    );
    let token_file = svc.file("sig.tst", &token);
    support::ts_verify(&imprint, &token_file, &signed.root, &untrusted);
    let file = svc.file("bt.p7s", &bt);
    let dump = cms_print(&file);
    assert!(dump.contains("id-smime-aa-timeStampToken"), "{dump}");

    // B-LT: the TSA and CA certificates and both CRLs; openssl checks revocation from them.
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let crls = vec![
        svc.pki.crl(Ca::Issuing, svc.now()).await.unwrap(),
        svc.pki.crl(Ca::Root, svc.now()).await.unwrap(),
    ];
    let lt = cms::add_validation_data(&bt, &[tsa, issuing.clone(), root], &crls).unwrap();
    assert_eq!(cms::level(&lt).unwrap(), Level::BLT);
    // Adding the same data again changes nothing.
    assert_eq!(
        cms::add_validation_data(&lt, &[issuing], &crls[..1]).unwrap(),
        lt
    );
    let (ok, out) = openssl_cms_verify(&svc, &signed, &lt, Some(content), &["-crl_check_all"]);
    assert!(ok, "{out}");
    let (ok, _) = openssl_cms_verify(
        &svc,
        &signed,
        &lt,
        Some(b"Deed of sale, signed at B-LT!"),
        &["-crl_check_all"],
    );
    assert!(!ok);

    // B-LTA: an archive-time-stamp-v3 over the content, the signer info and the hash index of
    // the certificates, CRLs and unsigned attributes.
    let digest: [u8; 32] = support::sha256(content).try_into().unwrap();
    let (index, imprint) = cms::archive_imprint(&lt, Some(&digest)).unwrap();
    // The imprint depends on the content and on what the index covers.
    assert_ne!(
        cms::archive_imprint(&lt, Some(&[0; 32])).unwrap().1,
        imprint
    );
    assert_ne!(cms::archive_imprint(&bt, Some(&digest)).unwrap().1, imprint);
    assert!(
        cms::archive_imprint(&lt, None).is_err(),
        "detached needs the content digest"
    );
    let archive = qsign::pki::tsa::Source::Embedded(svc.pki.clone())
        .token(qsign::pki::tsa::ImprintHash::Sha256, &imprint, svc.now())
        .await
        .unwrap();
    let lta = cms::add_archive_timestamp(&lt, &archive, &index).unwrap();
    assert_eq!(cms::level(&lta).unwrap(), Level::BLTA);
    let (ok, out) = openssl_cms_verify(&svc, &signed, &lta, Some(content), &["-crl_check_all"]);
    assert!(ok, "{out}");
    let archive_file = svc.file("archive.tst", &archive);
    support::ts_verify(&imprint, &archive_file, &signed.root, &untrusted);
    let file = svc.file("lta.p7s", &lta);
    // An attached signature reaches B-LTA too: the archive imprint hashes the embedded content.
    let attached = sign(
        &svc,
        content,
        true,
        KeyAlgorithm::EcP256,
        SignAlgorithm::Ecdsa,
        SignatureAlgorithm::EcdsaSha256,
    )
    .await;
    let (index, attached_imprint) = cms::archive_imprint(&attached.cms, None).unwrap();
    assert_eq!(
        cms::archive_imprint(&attached.cms, Some(&digest))
            .unwrap()
            .1,
        attached_imprint,
        "the embedded content is hashed like the detached one"
    );
    let token = qsign::pki::tsa::Source::Embedded(svc.pki.clone())
        .token(
            qsign::pki::tsa::ImprintHash::Sha256,
            &attached_imprint,
            svc.now(),
        )
        .await
        .unwrap();
    let archived = cms::add_archive_timestamp(&attached.cms, &token, &index).unwrap();
    let (ok, out) = openssl_cms_verify(&svc, &attached, &archived, None, &[]);
    assert!(ok, "{out}");
    let dump = cms_print(&file);
    assert!(
        dump.contains("0.4.0.1733.2.4"),
        "archive-time-stamp-v3 missing:\n{dump}"
    );
    svc.stop().await;
}
