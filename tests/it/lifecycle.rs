//! Credential lifecycle and transactions over the CSC API: short-lived certificates
//! (`signatureQualifier` without `credentialID`: a key made in the HSM for one operation, a
//! certificate valid for minutes, the key destroyed), `credentials/create` and
//! `credentials/delete`, `credentials/extendTransaction`, `signDoc` with
//! `returnValidationInfo`, and pyHanko's own CSC client signing a PDF through qsign over
//! `/csc/v1` and `/csc/v2`. Every certificate, signature, CRL and OCSP response is read by
//! openssl; the PDFs by pdfsig and qsign's validator.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use cryptoki::object::Attribute;
use qsign::pki::Ca;
use qsign::validate::Indication;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

use crate::orgs::x509_text;
use crate::signing::{
    audit_events, authorize_totp, b64, certificate, credential, csc, hashes_of, openssl_verifies,
    passkey_login, person, refused, sign_hash, unb64, Person,
};
use crate::support::{self, Service};

const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const AES: &str = "eu_eidas_aes";
const QES: &str = "eu_eidas_qes";
const SUBSTANTIAL: &str = "https://data.gov.dk/concept/core/nsis/loa/Substantial";
const HIGH: &str = "https://data.gov.dk/concept/core/nsis/loa/High";

/// The next TOTP step's code: a code activates once, and not the one the login used.
fn next_code(svc: &Service, who: &Person) -> String {
    svc.clock.advance(30);
    who.code(svc)
}

/// A CSC method under `/csc/{version}/`.
async fn csc_at(
    svc: &Service,
    version: &str,
    method: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(svc.url(&format!("/csc/{version}/{method}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `credentials/authorize` for a signature qualifier with a TOTP code.
pub(crate) async fn authorize_qualifier(
    svc: &Service,
    token: &str,
    qualifier: &str,
    hashes: &[String],
    otp: &str,
) -> (u16, Value) {
    csc(
        svc,
        "credentials/authorize",
        token,
        &json!({
            "signatureQualifier": qualifier,
            "numSignatures": hashes.len(),
            "hashes": hashes,
            "hashAlgorithmOID": SHA256,
            "authData": [{"id": "OTP", "value": otp}],
        }),
    )
    .await
}

/// `signatures/signHash` with a signature qualifier and no credential.
async fn sign_short_lived(
    svc: &Service,
    token: &str,
    qualifier: &str,
    sad: &str,
    hashes: &[String],
) -> (u16, Value) {
    csc(
        svc,
        "signatures/signHash",
        token,
        &json!({
            "signatureQualifier": qualifier,
            "SAD": sad,
            "hashes": hashes,
            "hashAlgorithmOID": SHA256,
            "signAlgo": ECDSA_SHA256,
        }),
    )
    .await
}

/// `credentials/extendTransaction`.
async fn extend(svc: &Service, token: &str, credential: &str, sad: &str) -> (u16, Value) {
    csc(
        svc,
        "credentials/extendTransaction",
        token,
        &json!({"credentialID": credential, "SAD": sad}),
    )
    .await
}

/// PEM files of the issuing CA, the root and both (the chain), in the service's directory.
async fn ca_files(svc: &Service) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let root = support::cert_pem(&svc.pki.ca_certificate(Ca::Root).await.unwrap());
    let issuing = support::cert_pem(&svc.pki.ca_certificate(Ca::Issuing).await.unwrap());
    let name = uuid::Uuid::new_v4();
    (
        svc.file(&format!("{name}-issuing.pem"), issuing.as_bytes()),
        svc.file(&format!("{name}-root.pem"), root.as_bytes()),
        svc.file(
            &format!("{name}-chain.pem"),
            format!("{issuing}{root}").as_bytes(),
        ),
    )
}

/// `openssl verify` of a certificate against the service's chain, at the service's time.
async fn chain_verifies(svc: &Service, der: &[u8]) -> (bool, String) {
    let (issuing, root, _) = ca_files(svc).await;
    let cert = svc.file(
        &format!("{}.pem", uuid::Uuid::new_v4()),
        support::cert_pem(der).as_bytes(),
    );
    let at = svc.now().to_string();
    let (ok, text) = support::openssl(&[
        "verify".as_ref(),
        "-attime".as_ref(),
        at.as_ref(),
        "-CAfile".as_ref(),
        root.as_os_str(),
        "-untrusted".as_ref(),
        issuing.as_os_str(),
        cert.as_os_str(),
    ]);
    (ok && text.contains(": OK"), text)
}

/// How many short-lived certificates the CA has issued (its audit records).
pub(crate) async fn short_lived_issued(svc: &Service) -> usize {
    audit_events(svc, "certificate_issued")
        .await
        .iter()
        .filter(|e| e["role"] == "short_lived")
        .count()
}

/// What a short-lived `signHash` answered: the signature and the certificate chain.
fn signature_and_chain(signed: &Value) -> (Vec<u8>, Vec<Vec<u8>>) {
    let chain = signed["certificates"]
        .as_array()
        .unwrap_or_else(|| panic!("no certificates in {signed}"))
        .iter()
        .map(unb64)
        .collect();
    (unb64(&signed["signatures"][0]), chain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_certificates_serve_one_operation_each_and_leave_no_key_behind() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let long_term = certificate(&svc, &token, &advanced).await;
    let issuing = svc.pki.ca_certificate(Ca::Issuing).await.unwrap();
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let docs: [&[u8]; 3] = [b"purchase order", b"delivery note", b"invoice"];
    let hashes = hashes_of(&docs);

    // Two operations, each approved with a one-time code for the qualifier: two certificates.
    let mut certificates = Vec::new();
    let mut sads = Vec::new();
    for (doc, hash) in docs.iter().zip(&hashes).take(2) {
        let code = next_code(&svc, &karen);
        let (status, auth) =
            authorize_qualifier(&svc, &token, AES, std::slice::from_ref(hash), &code).await;
        assert_eq!(status, 200, "{auth}");
        let sad = auth["SAD"].as_str().unwrap().to_owned();
        let (status, signed) =
            sign_short_lived(&svc, &token, AES, &sad, std::slice::from_ref(hash)).await;
        assert_eq!(status, 200, "{signed}");
        let (signature, chain) = signature_and_chain(&signed);
        assert_eq!(chain.len(), 3);
        assert_eq!((&chain[1], &chain[2]), (&issuing, &root));
        let cert = chain[0].clone();
        assert!(openssl_verifies(&svc, &cert, doc, &signature));
        let (ok, text) = chain_verifies(&svc, &cert).await;
        assert!(ok, "{text}");
        // Valid for the policy's ten minutes from now, naming the person exactly as the
        // long-term certificate does, with the login level behind the approval.
        let summary = qsign::pki::summary(&cert).unwrap();
        assert_eq!(summary.not_after - summary.not_before, 600, "{summary:?}");
        assert!((summary.not_before - svc.now()).abs() <= 5, "{summary:?}");
        assert_eq!(
            summary.subject,
            qsign::pki::summary(&long_term).unwrap().subject
        );
        let text = x509_text(&svc, &cert);
        assert!(text.contains("CN = Karen Blixen"), "{text}");
        assert!(text.contains("serialNumber = UUID:"), "{text}");
        assert!(text.contains("1.2.752.201.5.1"), "{text}");
        assert!(
            text.contains(&format!("AuthnContextClassRef=\"{SUBSTANTIAL}\"")),
            "{text}"
        );
        let sad_id = qsign::sam::unverified_sad_id(&sad).unwrap().to_string();
        assert!(
            text.contains(&format!("AssertionRef=\"{sad_id}\"")),
            "{text}"
        );
        // Kept as the CA keeps every certificate, so CRL and OCSP answer for it.
        assert!(svc.pki.issued_here(&cert).await.unwrap());
        certificates.push(cert);
        sads.push(sad);
    }
    assert_ne!(certificates[0], certificates[1]);
    assert_eq!(short_lived_issued(&svc).await, 2);

    // The same SAD again: refused, and no key or certificate is made for it.
    refused(
        &sign_short_lived(&svc, &token, AES, &sads[0], &hashes[..1]).await,
        400,
        "sad_used",
    );
    // A hash the approval does not cover, a credential's SAD without the credential, the
    // qualifier's SAD with a credential, another qualifier, both or neither: all refused
    // before any key is made.
    let code = next_code(&svc, &karen);
    let (_, auth) = authorize_qualifier(&svc, &token, AES, &hashes[2..], &code).await;
    let third = auth["SAD"].as_str().unwrap().to_owned();
    refused(
        &sign_short_lived(&svc, &token, AES, &third, &hashes[..1]).await,
        400,
        "hash_not_authorized",
    );
    refused(
        &sign_hash(&svc, &token, &advanced, &third, &hashes[2..]).await,
        400,
        "invalid_sad",
    );
    let code = next_code(&svc, &karen);
    let (status, by_credential) =
        authorize_totp(&svc, &token, &advanced, &hashes[2..], 1, &code).await;
    assert_eq!(status, 200, "{by_credential}");
    refused(
        &sign_short_lived(
            &svc,
            &token,
            AES,
            by_credential["SAD"].as_str().unwrap(),
            &hashes[2..],
        )
        .await,
        400,
        "invalid_sad",
    );
    refused(
        &sign_short_lived(&svc, &token, QES, &third, &hashes[2..]).await,
        403,
        "insufficient_loa",
    );
    refused(
        &sign_short_lived(&svc, &token, "eu_eidas_qeseal", &third, &hashes[2..]).await,
        400,
        "invalid_request",
    );
    refused(
        &csc(
            &svc,
            "signatures/signHash",
            &token,
            &json!({"credentialID": advanced, "signatureQualifier": AES, "SAD": third,
                "hashes": &hashes[2..], "signAlgo": ECDSA_SHA256}),
        )
        .await,
        400,
        "invalid_request",
    );
    refused(
        &csc(
            &svc,
            "signatures/signHash",
            &token,
            &json!({"SAD": third, "hashes": &hashes[2..], "signAlgo": ECDSA_SHA256}),
        )
        .await,
        400,
        "invalid_request",
    );
    // A qualified qualifier needs a High login to be approved at all.
    let code = next_code(&svc, &karen);
    refused(
        &authorize_qualifier(&svc, &token, QES, &hashes[2..], &code).await,
        403,
        "insufficient_loa",
    );
    assert_eq!(short_lived_issued(&svc).await, 2);
    // The third approval was spent by none of that.
    let (status, signed) = sign_short_lived(&svc, &token, AES, &third, &hashes[2..]).await;
    assert_eq!(status, 200, "{signed}");
    let (signature, chain) = signature_and_chain(&signed);
    assert!(openssl_verifies(&svc, &chain[0], docs[2], &signature));
    assert_eq!(short_lived_issued(&svc).await, 3);

    // Each key was destroyed after its operation: the HSM has no object of it, nor any
    // session object at all.
    let destroyed = audit_events(&svc, "short_lived_key_destroyed").await;
    assert_eq!(destroyed.len(), 3);
    let serials: Vec<String> = certificates
        .iter()
        .chain(std::iter::once(&chain[0]))
        .map(|c| qsign::pki::summary(c).unwrap().serial)
        .collect();
    let session = crate::hsm::raw_session(&svc.token);
    for (event, serial) in destroyed.iter().zip(&serials) {
        assert_eq!(event["serial"].as_str(), Some(serial.as_str()), "{event}");
        let label = event["key"].as_str().unwrap();
        assert!(
            label.starts_with(qsign::hsm::EPHEMERAL_LABEL_PREFIX),
            "{label}"
        );
        let left = session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .unwrap();
        assert!(left.is_empty(), "{label} is still in the HSM");
    }
    assert!(session
        .find_objects(&[Attribute::Token(false)])
        .unwrap()
        .is_empty());
    // The signatures are recorded under their certificates.
    let made: Vec<String> = audit_events(&svc, "signature_made")
        .await
        .iter()
        .filter_map(|e| e["credential"].as_str().map(str::to_owned))
        .filter(|c| c.starts_with("short-lived:"))
        .collect();
    assert_eq!(
        made,
        serials
            .iter()
            .map(|s| format!("short-lived:{s}"))
            .collect::<Vec<_>>()
    );
    assert!(audit_events(&svc, "signature_refused")
        .await
        .iter()
        .any(|e| e["reason"] == "sad_used" && e["credential"] == "qualifier:eu_eidas_aes"));
    assert!(svc.audit.verify(None, None).await.is_ok());
    svc.stop().await;
}

/// A passkey assertion over a challenge for the qualifier and the hashes.
async fn qualifier_passkey(
    svc: &Service,
    token: &str,
    hashes: &[String],
    authenticator: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
    origin: &webauthn_rs::prelude::Url,
) -> (String, Value) {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    let (status, challenge) = csc(
        svc,
        "credentials/getChallenge",
        token,
        &json!({"signatureQualifier": QES, "numSignatures": hashes.len(), "hashes": hashes,
            "hashAlgorithmOID": SHA256}),
    )
    .await;
    assert_eq!(status, 200, "{challenge}");
    let options: webauthn_rs::prelude::RequestChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    (
        challenge["challengeID"].as_str().unwrap().to_owned(),
        serde_json::to_value(assertion).unwrap(),
    )
}

async fn authorize_qualifier_passkey(
    svc: &Service,
    token: &str,
    hashes: &[String],
    challenge: &str,
    assertion: &Value,
) -> (u16, Value) {
    csc(
        svc,
        "credentials/authorize",
        token,
        &json!({
            "signatureQualifier": QES,
            "numSignatures": hashes.len(),
            "hashes": hashes,
            "hashAlgorithmOID": SHA256,
            "authData": [
                {"id": "challengeID", "value": challenge},
                {"id": "webauthn", "value": assertion.to_string()}
            ],
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qualified_short_lived_certificate_needs_a_passkey_over_the_qualifier_and_the_hashes() {
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let origin =
        webauthn_rs::prelude::Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap();
    let mut authenticator = SoftPasskey::new(true);
    let high = passkey_login(&svc, &karen, &mut authenticator, &origin).await;
    let docs: [&[u8]; 2] = [b"deed of sale", b"mortgage deed"];
    let hashes = hashes_of(&docs);

    // A one-time code is too weak for a qualified signature, even at High.
    let code = next_code(&svc, &karen);
    refused(
        &authorize_qualifier(&svc, &high, QES, &hashes[..1], &code).await,
        403,
        "activation_too_weak",
    );
    // An assertion made for one hash does not approve another.
    let (challenge, assertion) =
        qualifier_passkey(&svc, &high, &hashes[..1], &mut authenticator, &origin).await;
    refused(
        &authorize_qualifier_passkey(&svc, &high, &hashes[1..], &challenge, &assertion).await,
        400,
        "activation_failed",
    );
    let (challenge, assertion) =
        qualifier_passkey(&svc, &high, &hashes[..1], &mut authenticator, &origin).await;
    let (status, auth) =
        authorize_qualifier_passkey(&svc, &high, &hashes[..1], &challenge, &assertion).await;
    assert_eq!(status, 200, "{auth}");
    let (status, signed) = sign_short_lived(
        &svc,
        &high,
        QES,
        auth["SAD"].as_str().unwrap(),
        &hashes[..1],
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    let (signature, chain) = signature_and_chain(&signed);
    assert!(openssl_verifies(&svc, &chain[0], docs[0], &signature));
    let (ok, text) = chain_verifies(&svc, &chain[0]).await;
    assert!(ok, "{text}");
    // A qualified certificate (QCStatements, QCP-n-qscd) that says the approval was at High.
    let text = x509_text(&svc, &chain[0]);
    assert!(text.contains("0.4.0.194112.1.2"), "{text}");
    assert!(
        text.contains("qcStatements") || text.contains("1.3.6.1.5.5.7.1.3"),
        "{text}"
    );
    assert!(
        text.contains(&format!("AuthnContextClassRef=\"{HIGH}\"")),
        "{text}"
    );
    let issued = audit_events(&svc, "sad_issued").await;
    assert_eq!(
        (
            issued[0]["credential"].as_str(),
            issued[0]["scal"].as_str(),
            issued[0]["factor"].as_str()
        ),
        (Some("qualifier:eu_eidas_qes"), Some("2"), Some("webauthn"))
    );
    svc.stop().await;
}

/// How many certificates the CA has issued and revoked (its audit records).
async fn certificate_counts(svc: &Service) -> (usize, usize) {
    (
        audit_events(svc, "certificate_issued").await.len(),
        audit_events(svc, "certificate_revoked").await.len(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_created_and_deleted_and_a_deleted_ones_certificate_is_revoked() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let bob = person(&svc, "bob").await;
    let token = karen.login(&svc, true).await;
    let bobs = bob.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let cert = certificate(&svc, &token, &advanced).await;
    let (status, info) = csc(&svc, "info", &token, &json!({})).await;
    assert_eq!(status, 200, "{info}");
    for method in [
        "credentials/create",
        "credentials/delete",
        "credentials/extendTransaction",
    ] {
        assert!(
            info["methods"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == method),
            "{info}"
        );
    }
    assert_eq!(info["validationInfo"], true, "{info}");

    // Refused requests issue no certificate (and so cannot grow the CRL).
    let before = certificate_counts(&svc).await;
    refused(
        &csc(
            &svc,
            "credentials/create",
            &token,
            &json!({"policy": "advanced"}),
        )
        .await,
        409,
        "already_exists",
    );
    refused(
        &csc(
            &svc,
            "credentials/create",
            &token,
            &json!({"policy": "qualified"}),
        )
        .await,
        403,
        "insufficient_loa",
    );
    refused(
        &csc(
            &svc,
            "credentials/create",
            &token,
            &json!({"policy": "gold"}),
        )
        .await,
        400,
        "invalid_request",
    );
    assert_eq!(certificate_counts(&svc).await, before);

    // Someone else's credential is not found, and stays as it was.
    refused(
        &csc(
            &svc,
            "credentials/delete",
            &bobs,
            &json!({"credentialID": advanced}),
        )
        .await,
        404,
        "credential_not_found",
    );
    assert_eq!(certificate(&svc, &token, &advanced).await, cert);

    let (status, body) = csc(
        &svc,
        "credentials/delete",
        &token,
        &json!({"credentialID": advanced}),
    )
    .await;
    assert_eq!(status, 204, "{body}");

    // Gone: not listed (nor made again on first use), not found, not deleted twice.
    let (status, list) = csc(
        &svc,
        "credentials/list",
        &token,
        &json!({"credentialInfo": true}),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert!(
        !list["credentialInfos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["policy"] == "advanced"),
        "{list}"
    );
    for method in ["credentials/info", "credentials/delete"] {
        refused(
            &csc(&svc, method, &token, &json!({"credentialID": advanced})).await,
            404,
            "credential_not_found",
        );
    }
    // Its key is destroyed and the row marked deleted.
    let row = svc.store.credential(&advanced).await.unwrap().unwrap();
    assert_eq!(row.wrapped, qsign::keys::DESTROYED_KEY);
    assert_eq!(row.status, "revoked");
    assert!(svc
        .store
        .credential_deleted_at(&advanced)
        .await
        .unwrap()
        .is_some());
    assert!(audit_events(&svc, "credential_deleted")
        .await
        .iter()
        .any(|e| e["credential"] == advanced.as_str()));

    // OCSP and the CRL say its certificate is revoked.
    let (issuing, _, chain) = ca_files(&svc).await;
    let deleted = svc.file("deleted.pem", support::cert_pem(&cert).as_bytes());
    let url = svc.url("/pki/ocsp");
    let (ok, text) = support::openssl(&[
        "ocsp".as_ref(),
        "-issuer".as_ref(),
        issuing.as_os_str(),
        "-cert".as_ref(),
        deleted.as_os_str(),
        "-url".as_ref(),
        url.as_ref(),
        "-CAfile".as_ref(),
        chain.as_os_str(),
        "-validity_period".as_ref(),
        "300".as_ref(),
    ]);
    assert!(ok && text.contains("Response verify OK"), "{text}");
    assert!(text.contains("deleted.pem: revoked"), "{text}");
    let crl = reqwest::get(svc.url("/pki/crl/issuing.crl"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let crl = svc.file("issuing.crl", &crl);
    let (ok, text) = support::openssl(&[
        "crl".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        crl.as_os_str(),
        "-noout".as_ref(),
        "-text".as_ref(),
    ]);
    let serial = qsign::pki::summary(&cert).unwrap().serial.to_uppercase();
    assert!(ok && text.contains(&serial), "{serial} not in {text}");

    // A signature with it is refused.
    let code = next_code(&svc, &karen);
    refused(
        &authorize_totp(&svc, &token, &advanced, &hashes_of(&[b"x"]), 1, &code).await,
        404,
        "credential_not_found",
    );

    // A new one is made on request, once.
    let (status, created) = csc(
        &svc,
        "credentials/create",
        &token,
        &json!({"policy": "advanced"}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let new_id = created["credentialID"].as_str().unwrap();
    assert_ne!(new_id, advanced);
    assert_eq!(credential(&svc, &token, "advanced").await, new_id);
    let chain: Vec<Vec<u8>> = created["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(unb64)
        .collect();
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[0], certificate(&svc, &token, new_id).await);
    let (ok, text) = chain_verifies(&svc, &chain[0]).await;
    assert!(ok, "{text}");
    refused(
        &csc(
            &svc,
            "credentials/create",
            &token,
            &json!({"policy": "advanced"}),
        )
        .await,
        409,
        "already_exists",
    );
    assert!(svc.audit.verify(None, None).await.is_ok());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_transactions_share_the_approved_count_and_end_with_the_original() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let bob = person(&svc, "bob").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let docs: [&[u8]; 3] = [b"lease", b"annex", b"house rules"];
    let hashes = hashes_of(&docs);
    let cert = certificate(&svc, &token, &advanced).await;

    let code = next_code(&svc, &karen);
    let (status, auth) = authorize_totp(&svc, &token, &advanced, &hashes[..2], 2, &code).await;
    assert_eq!(status, 200, "{auth}");
    let first = auth["SAD"].as_str().unwrap().to_owned();
    let (status, signed) = sign_hash(&svc, &token, &advanced, &first, &hashes[..1]).await;
    assert_eq!(status, 200, "{signed}");
    let (status, extended) = extend(&svc, &token, &advanced, &first).await;
    assert_eq!(status, 200, "{extended}");
    let second = extended["SAD"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let expires_in = extended["expiresIn"].as_i64().unwrap();
    assert!(
        expires_in > 0 && expires_in <= auth["expiresIn"].as_i64().unwrap(),
        "{extended}"
    );

    // The new SAD takes from the same two approved signatures, one of them made.
    refused(
        &sign_hash(&svc, &token, &advanced, &second, &hashes[..2]).await,
        400,
        "sad_count_exceeded",
    );
    refused(
        &sign_hash(&svc, &token, &advanced, &second, &hashes[2..]).await,
        400,
        "hash_not_authorized",
    );
    let (status, signed) = sign_hash(&svc, &token, &advanced, &second, &hashes[1..2]).await;
    assert_eq!(status, 200, "{signed}");
    assert!(openssl_verifies(
        &svc,
        &cert,
        docs[1],
        &unb64(&signed["signatures"][0])
    ));
    // Both are spent now, and neither extends further.
    refused(
        &sign_hash(&svc, &token, &advanced, &first, &hashes[1..2]).await,
        400,
        "sad_used",
    );
    for sad in [&first, &second] {
        refused(
            &extend(&svc, &token, &advanced, sad).await,
            400,
            "sad_count_exceeded",
        );
    }
    // Only the signer's own SADs extend.
    refused(
        &extend(&svc, &token, &advanced, "eyJhbGciOiJFUzI1NiJ9.e30.AAAA").await,
        400,
        "invalid_sad",
    );
    let bobs = bob.login(&svc, true).await;
    let bobs_credential = credential(&svc, &bobs, "advanced").await;
    let code = next_code(&svc, &karen);
    let (_, auth) = authorize_totp(&svc, &token, &advanced, &hashes[2..], 1, &code).await;
    let third = auth["SAD"].as_str().unwrap().to_owned();
    refused(
        &extend(&svc, &bobs, &bobs_credential, &third).await,
        403,
        "sad_mismatch",
    );
    refused(
        &extend(&svc, &bobs, &advanced, &third).await,
        404,
        "credential_not_found",
    );

    // An extension ends with the original: past its lifetime, neither extends nor signs.
    let (status, extended) = extend(&svc, &token, &advanced, &third).await;
    assert_eq!(status, 200, "{extended}");
    let fourth = extended["SAD"].as_str().unwrap().to_owned();
    svc.clock.advance(301);
    // (The access token has expired too: a new login.)
    let token = karen.login(&svc, true).await;
    for sad in [&third, &fourth] {
        refused(
            &extend(&svc, &token, &advanced, sad).await,
            400,
            "sad_expired",
        );
    }
    refused(
        &sign_hash(&svc, &token, &advanced, &fourth, &hashes[2..]).await,
        400,
        "sad_expired",
    );
    let extensions = audit_events(&svc, "sad_extended").await;
    assert_eq!(extensions.len(), 2);
    assert_eq!(extensions[0]["remaining"], 1);
    assert!(audit_events(&svc, "activation_refused")
        .await
        .iter()
        .any(|e| e["reason"] == "sad_count_exceeded"));
    assert!(svc.audit.verify(None, None).await.is_ok());
    svc.stop().await;
}

/// `signDoc` of a detached CAdES B-B signature over `doc`, asking for `validationInfo` or not.
async fn sign_detached(
    svc: &Service,
    token: &str,
    credential: &str,
    sad: &str,
    doc: &[u8],
    validation: bool,
) -> (u16, Value) {
    csc(
        svc,
        "signatures/signDoc",
        token,
        &json!({"credentialID": credential, "SAD": sad, "returnValidationInfo": validation,
            "documents": [{"document": b64(doc), "signature_format": "C",
                "conformance_level": "Ades-B-B", "signed_envelope_property": "Detached"}]}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_doc_answers_validation_info_that_openssl_reads() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let signer = certificate(&svc, &token, &advanced).await;
    let doc: &[u8] = b"the minutes of the annual meeting";
    let code = next_code(&svc, &karen);
    let (_, auth) = authorize_totp(&svc, &token, &advanced, &hashes_of(&[doc]), 1, &code).await;
    let sad = auth["SAD"].as_str().unwrap();
    let (status, signed) = sign_detached(&svc, &token, &advanced, sad, doc, true).await;
    assert_eq!(status, 200, "{signed}");
    let info = &signed["validationInfo"];
    let all = |key: &str| -> Vec<Vec<u8>> {
        info[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in {signed}"))
            .iter()
            .map(unb64)
            .collect()
    };
    let (certificates, crls, ocsps) = (all("certificates"), all("crl"), all("ocsp"));
    assert_eq!(certificates[0], signer);
    assert_eq!(
        certificates[1],
        svc.pki.ca_certificate(Ca::Issuing).await.unwrap()
    );
    assert_eq!(
        certificates[2],
        svc.pki.ca_certificate(Ca::Root).await.unwrap()
    );
    for der in &certificates {
        x509_text(&svc, der);
    }
    assert_eq!(crls.len(), 2);
    for der in &crls {
        let file = svc.file(&format!("{}.crl", uuid::Uuid::new_v4()), der);
        let (ok, text) = support::openssl(&[
            "crl".as_ref(),
            "-inform".as_ref(),
            "DER".as_ref(),
            "-in".as_ref(),
            file.as_os_str(),
            "-noout".as_ref(),
            "-text".as_ref(),
        ]);
        assert!(ok && text.contains("Certificate Revocation List"), "{text}");
    }
    assert_eq!(ocsps.len(), 1);
    let (issuing, _, chain) = ca_files(&svc).await;
    let response = svc.file("response.der", &ocsps[0]);
    let signer_file = svc.file("signer.pem", support::cert_pem(&signer).as_bytes());
    let (ok, text) = support::openssl(&[
        "ocsp".as_ref(),
        "-respin".as_ref(),
        response.as_os_str(),
        "-issuer".as_ref(),
        issuing.as_os_str(),
        "-cert".as_ref(),
        signer_file.as_os_str(),
        "-CAfile".as_ref(),
        chain.as_os_str(),
        "-validity_period".as_ref(),
        "300".as_ref(),
    ]);
    assert!(ok && text.contains("Response verify OK"), "{text}");
    assert!(text.contains("signer.pem: good"), "{text}");

    // Not asked for: not given.
    let code = next_code(&svc, &karen);
    let (_, auth) = authorize_totp(&svc, &token, &advanced, &hashes_of(&[doc]), 1, &code).await;
    let sad = auth["SAD"].as_str().unwrap();
    let (status, signed) = sign_detached(&svc, &token, &advanced, sad, doc, false).await;
    assert_eq!(status, 200, "{signed}");
    assert!(signed.get("validationInfo").is_none(), "{signed}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyhanko_signs_a_pdf_through_qsign_over_csc_v1_and_v2() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/pyhanko_csc_sign.py");
    for version in ["v1", "v2"] {
        let input = svc.file(
            &format!("{version}-in.pdf"),
            &support::sample_pdf(1, "1.7", 0),
        );
        let output = svc.dir.path().join(format!("{version}-out.pdf"));
        let mut child = tokio::process::Command::new(crate::pades::python())
            .arg(&script)
            .arg(svc.url(""))
            .arg(version)
            .arg(&token)
            .arg(&advanced)
            .arg(&input)
            .arg(&output)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "pyHanko's Python {} cannot run ({e}): run `make test`",
                    crate::pades::python().display()
                )
            });
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        // pyHanko reads the credential (credentials/info) and asks for a SAD over the hash of
        // the signed attributes it built.
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .expect("pyHanko asked for no SAD in two minutes")
            .unwrap();
        let Some(asked) = line.as_deref().and_then(|l| l.strip_prefix("HASHES ")) else {
            let out = child.wait_with_output().await.unwrap();
            panic!(
                "pyHanko over {version} did not ask for a SAD ({line:?}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let asked: Vec<String> = serde_json::from_str(asked).unwrap();
        assert_eq!(asked.len(), 1);
        let code = next_code(&svc, &karen);
        let (status, auth) = csc_at(
            &svc,
            version,
            "credentials/authorize",
            &token,
            &json!({"credentialID": advanced, "numSignatures": 1, "hash": asked,
                "hashAlgo": SHA256, "OTP": code, "description": "tenancy agreement"}),
        )
        .await;
        assert_eq!(status, 200, "{auth}");
        stdin
            .write_all(format!("SAD {}\n", auth["SAD"].as_str().unwrap()).as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        drop(stdin);
        let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("pyHanko did not finish in two minutes")
            .unwrap();
        drop(lines);
        assert!(
            out.status.success(),
            "pyHanko over {version}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let signed = std::fs::read(&output).unwrap();
        let (signatures, text) = crate::pades::pdfsig(&svc, &signed);
        assert_eq!(signatures, [(true, true)], "{version}: {text}");
        let report = svc
            .service
            .validation
            .validate_file(&signed, None, &[])
            .await
            .unwrap();
        assert_eq!(report.signatures.len(), 1, "{version}: {report:?}");
        assert_eq!(
            report.signatures[0].indication,
            Indication::TotalPassed,
            "{version}: {report:?}"
        );
    }
    // Each of pyHanko's signHash calls made one audited signature.
    assert_eq!(audit_events(&svc, "signature_made").await.len(), 2);
    svc.stop().await;
}
