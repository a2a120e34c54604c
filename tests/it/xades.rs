//! XAdES B-B enveloped signatures with a P-256 user key in SoftHSM, checked by `xmlsec1 --verify`
//! with qsign's root as the trusted CA; tampering with the content or the signed properties
//! makes xmlsec1 fail.

use qsign::formats::xades::{self, SignatureAlgorithm};
use qsign::hsm::{Digest, HashAlgorithm, SignAlgorithm};
use qsign::pki::Ca;

use crate::support::{self, Service};

/// Signs `document` enveloped with a new user key; returns the signed XML.
pub(crate) async fn sign(svc: &Service, document: &[u8]) -> Vec<u8> {
    let chain = [svc
        .pki
        .ca_certificate(qsign::pki::Ca::Issuing)
        .await
        .unwrap()];
    sign_with_chain(svc, document, &chain).await
}

/// [`sign`], with `chain` after the signer's certificate in `ds:KeyInfo`.
async fn sign_with_chain(svc: &Service, document: &[u8], chain: &[Vec<u8>]) -> Vec<u8> {
    let (wrapped, issued_der) = support::user_key(svc).await;
    let prepared = xades::prepare_enveloped(
        document,
        &issued_der,
        chain,
        SignatureAlgorithm::EcdsaSha256,
        "text/xml",
        svc.now(),
    )
    .unwrap();
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
    xades::assemble(&prepared, &raw)
}

async fn xmlsec_verify(svc: &Service, signed: &[u8]) -> (bool, String) {
    support::xmlsec_verify(svc, signed).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xades_b_b_enveloped_verifies_with_xmlsec1_and_tampering_fails() {
    let svc = Service::start().await;
    let document = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<contract xmlns=\"urn:example:contract\" xmlns:p=\"urn:example:party\" id=\"c-1\">\n  <p:party role=\"tenant\">Karen Blixen</p:party>\n  <p:party role=\"landlord\">Isak Dinesen</p:party>\n  <terms amount=\"1 000 &amp; more\">Rent &lt;monthly&gt;, paid in advance.<!-- note --></terms>\n</contract>\n";
    let signed = sign(&svc, document.as_bytes()).await;
    let (ok, out) = xmlsec_verify(&svc, &signed).await;
    assert!(ok, "{out}\n{}", String::from_utf8_lossy(&signed));
    let text = String::from_utf8(signed.clone()).unwrap();
    for element in [
        "xades:SigningTime",
        "xades:SigningCertificateV2",
        "xades:DataObjectFormat",
    ] {
        assert!(text.contains(element), "{element} missing");
    }
    // A verifier has only the root: the signature carries the issuing CA beside the signer's
    // certificate. Without it, xmlsec1 given only the root cannot build the path.
    assert_eq!(text.matches("<ds:X509Certificate>").count(), 2);
    let bare = sign_with_chain(&svc, document.as_bytes(), &[]).await;
    let (ok, out) = xmlsec_verify(&svc, &bare).await;
    assert!(!ok, "without the chain, only the root is not enough: {out}");

    // The original document is kept byte for byte around the signature.
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<contract"));
    assert!(text.ends_with("</ds:Signature></contract>\n"));

    // Changing the content breaks the document reference.
    let tampered = text.replace("Karen Blixen", "Karen Blixem");
    let (ok, _) = xmlsec_verify(&svc, tampered.as_bytes()).await;
    assert!(!ok, "changed content must fail");
    // Changing a signed property breaks the SignedProperties reference.
    let tampered = text.replace("<xades:MimeType>text/xml", "<xades:MimeType>text/plain");
    let (ok, _) = xmlsec_verify(&svc, tampered.as_bytes()).await;
    assert!(!ok, "changed signed properties must fail");

    // B-T and B-LT: a signature timestamp over the canonical SignatureValue, then the
    // certificates and CRLs; xmlsec1 still verifies, openssl checks the timestamp.
    use sha2::Digest as _;
    let imprint = sha2::Sha256::digest(xades::signature_value_c14n(&signed).unwrap()).to_vec();
    let token = qsign::pki::tsa::Source::Embedded(svc.pki.clone())
        .token(qsign::pki::tsa::ImprintHash::Sha256, &imprint, svc.now())
        .await
        .unwrap();
    let bt = xades::add_signature_timestamp(&signed, &token).unwrap();
    assert_eq!(xades::level(&bt).unwrap(), xades::Level::BT);
    let (ok, out) = xmlsec_verify(&svc, &bt).await;
    assert!(ok, "{out}");
    let tsa = svc.pki.tsa_certificate().await.unwrap();
    let issuing = svc.pki.ca_certificate(Ca::Issuing).await.unwrap();
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let root_file = svc.file("root.pem", support::cert_pem(&root).as_bytes());
    let untrusted = svc.file(
        "tsa-chain.pem",
        format!("{}{}", support::cert_pem(&tsa), support::cert_pem(&issuing)).as_bytes(),
    );
    let token_file = svc.file("sig.tst", &token);
    let (ok, out) = support::openssl(&[
        "ts".as_ref(),
        "-verify".as_ref(),
        "-digest".as_ref(),
        hex::encode(&imprint).as_ref(),
        "-in".as_ref(),
        token_file.as_os_str(),
        "-token_in".as_ref(),
        "-CAfile".as_ref(),
        root_file.as_os_str(),
        "-untrusted".as_ref(),
        untrusted.as_os_str(),
    ]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let crls = vec![
        svc.pki.crl(Ca::Issuing, svc.now()).await.unwrap(),
        svc.pki.crl(Ca::Root, svc.now()).await.unwrap(),
    ];
    let lt = xades::add_validation_data(&bt, &[tsa, issuing, root], &crls).unwrap();
    assert_eq!(xades::level(&lt).unwrap(), xades::Level::BLT);
    let (ok, out) = xmlsec_verify(&svc, &lt).await;
    assert!(ok, "{out}");
    // B-LTA: an archive timestamp over the references' data, SignedInfo, SignatureValue,
    // KeyInfo and the unsigned properties; changing any of them changes its input.
    let input = xades::archive_input(&lt, None).unwrap();
    let lt_str = String::from_utf8(lt.clone()).unwrap();
    let first_cert = lt_str
        .split("<xades:EncapsulatedX509Certificate>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let swapped = lt_str.replacen(&first_cert, &first_cert.replacen('M', "N", 1), 1);
    assert_ne!(
        xades::archive_input(swapped.as_bytes(), None).unwrap(),
        input
    );
    let archive_imprint = sha2::Sha256::digest(&input).to_vec();
    let archive = qsign::pki::tsa::Source::Embedded(svc.pki.clone())
        .token(
            qsign::pki::tsa::ImprintHash::Sha256,
            &archive_imprint,
            svc.now(),
        )
        .await
        .unwrap();
    let lta = xades::add_archive_timestamp(&lt, &archive).unwrap();
    assert_eq!(xades::level(&lta).unwrap(), xades::Level::BLTA);
    let (ok, out) = xmlsec_verify(&svc, &lta).await;
    assert!(ok, "{out}");
    let archive_file = svc.file("archive.tst", &archive);
    let (ok, out) = support::openssl(&[
        "ts".as_ref(),
        "-verify".as_ref(),
        "-digest".as_ref(),
        hex::encode(&archive_imprint).as_ref(),
        "-in".as_ref(),
        archive_file.as_os_str(),
        "-token_in".as_ref(),
        "-CAfile".as_ref(),
        root_file.as_os_str(),
        "-untrusted".as_ref(),
        untrusted.as_os_str(),
    ]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let lt_text = String::from_utf8(lt).unwrap();
    assert_eq!(
        lt_text
            .matches("<xades:UnsignedSignatureProperties>")
            .count(),
        1
    );
    assert_eq!(lt_text.matches("EncapsulatedX509Certificate>").count(), 6);

    // Hostile documents are refused before anything is signed.
    let bomb = "<!DOCTYPE d [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><d>&b;</d>";
    let refused = xades::prepare_enveloped(
        bomb.as_bytes(),
        &[],
        &[],
        SignatureAlgorithm::EcdsaSha256,
        "text/xml",
        svc.now(),
    )
    .unwrap_err();
    assert!(matches!(
        refused,
        xades::Error::Xml(qsign::formats::xml::Error::Dtd)
    ));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xades_enveloping_and_detached_verify_with_xmlsec1() {
    let svc = Service::start().await;
    let (wrapped, issued_der) = support::user_key(&svc).await;
    let chain = [svc
        .pki
        .ca_certificate(qsign::pki::Ca::Issuing)
        .await
        .unwrap()];
    let chain = &chain;
    let sign = |document: Vec<u8>, packaging: xades::Packaging<'static>| {
        let (svc, wrapped, der) = (&svc, wrapped.clone(), issued_der.clone());
        async move {
            let prepared = xades::prepare(
                &document,
                packaging,
                &der,
                chain,
                SignatureAlgorithm::EcdsaSha256,
                "application/octet-stream",
                svc.now(),
                None,
            )
            .unwrap();
            let raw = svc
                .hsm
                .sign_with_wrapped(
                    &wrapped,
                    SignAlgorithm::Ecdsa,
                    vec![
                        Digest::new(HashAlgorithm::Sha256, prepared.to_be_signed.to_vec()).unwrap(),
                    ],
                )
                .await
                .unwrap()
                .remove(0);
            xades::assemble(&prepared, &raw)
        }
    };

    // Enveloping: the XML document travels inside the signature.
    let xml = b"<?xml version=\"1.0\"?>\n<order xmlns=\"urn:example:order\"><item qty=\"2\">Coffee</item></order>\n";
    let enveloping = sign(xml.to_vec(), xades::Packaging::Enveloping).await;
    let (ok, out) = xmlsec_verify(&svc, &enveloping).await;
    assert!(ok, "{out}\n{}", String::from_utf8_lossy(&enveloping));
    assert!(String::from_utf8_lossy(&enveloping).starts_with("<?xml"));
    // Extended to B-LTA: the archive input covers the enveloped data object.
    use sha2::Digest as _;
    let input = xades::archive_input(&enveloping, None).unwrap();
    assert!(String::from_utf8_lossy(&input).contains("Coffee"));
    let token = qsign::pki::tsa::Source::Embedded(svc.pki.clone())
        .token(
            qsign::pki::tsa::ImprintHash::Sha256,
            &sha2::Sha256::digest(&input),
            svc.now(),
        )
        .await
        .unwrap();
    let archived = xades::add_archive_timestamp(&enveloping, &token).unwrap();
    let (ok, out) = xmlsec_verify(&svc, &archived).await;
    assert!(ok, "{out}");
    let tampered = String::from_utf8(enveloping)
        .unwrap()
        .replace("Coffee", "Tea");
    let (ok, _) = xmlsec_verify(&svc, tampered.as_bytes()).await;
    assert!(!ok);

    // Detached: any bytes, named by a URI next to the signature.
    let data = b"%PDF-1.7 any bytes at all \x00\x01\x02".to_vec();
    let detached = sign(
        data.clone(),
        xades::Packaging::Detached {
            uri: "contract.bin",
        },
    )
    .await;
    // Its archive input needs the detached data, which the signature does not hold.
    assert!(xades::archive_input(&detached, None).is_err());
    let with_data = xades::archive_input(&detached, Some(&data)).unwrap();
    assert!(with_data.windows(data.len()).any(|w| w == data.as_slice()));
    let (ok, out) =
        support::xmlsec_verify_with(&svc, &detached, Some(("contract.bin", &data))).await;
    assert!(ok, "{out}");
    let (ok, _) =
        support::xmlsec_verify_with(&svc, &detached, Some(("contract.bin", b"changed"))).await;
    assert!(!ok, "changed detached data must fail");
    svc.stop().await;
}
