//! Sole control over the CSC API v2: credentials made on first use, activation by a TOTP code
//! (advanced policy) or a passkey assertion over the hashes (qualified policy), signHash, and
//! every refusal with its own code and audit record. Each signature is checked by openssl
//! against the credential's certificate.

use base64::Engine as _;
use qsign::audit::Context;
use qsign::identity::totp;
use qsign::identity::AccountRequest;
use serde_json::{json, Value};

use crate::support::{self, Service};

pub(crate) const PASSWORD: &str = "correct horse battery staple";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn unb64(s: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.as_str().unwrap())
        .unwrap()
}

/// A person with a password and a TOTP secret.
pub(crate) struct Person {
    username: String,
    secret: String,
}

pub(crate) async fn person(svc: &Service, username: &str) -> Person {
    let acct = svc
        .identity
        .create_account(
            &AccountRequest {
                username,
                given_name: "Karen",
                family_name: "Blixen",
                password: PASSWORD,
                with_totp: true,
            },
            &Context::system(),
            svc.now(),
        )
        .await
        .unwrap();
    Person {
        username: username.to_owned(),
        secret: acct.totp_secret.unwrap(),
    }
}

impl Person {
    /// The TOTP code of the service's current step.
    pub(crate) fn code(&self, svc: &Service) -> String {
        let key = data_encoding::BASE32_NOPAD
            .decode(self.secret.as_bytes())
            .unwrap();
        format!(
            "{:06}",
            totp::code_at(&key, svc.now().div_euclid(totp::STEP))
        )
    }

    /// A token: password alone (Low) or with the current TOTP code (Substantial).
    pub(crate) async fn login(&self, svc: &Service, with_totp: bool) -> String {
        let code = self.code(svc);
        let mut form = vec![
            ("grant_type", "password"),
            ("username", self.username.as_str()),
            ("password", PASSWORD),
        ];
        if with_totp {
            form.push(("otp", code.as_str()));
        }
        let v: Value = reqwest::Client::new()
            .post(svc.url("/idp/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_owned()
    }
}

pub(crate) async fn csc(svc: &Service, method: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(svc.url(&format!("/csc/v2/{method}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The id of the caller's credential under `policy`.
pub(crate) async fn credential(svc: &Service, token: &str, policy: &str) -> String {
    let (status, list) = csc(
        svc,
        "credentials/list",
        token,
        &json!({"credentialInfo": true}),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    list["credentialInfos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["policy"] == policy)
        .unwrap_or_else(|| panic!("no {policy} credential in {list}"))["credentialID"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn hashes_of(docs: &[&[u8]]) -> Vec<String> {
    docs.iter().map(|d| b64(&support::sha256(d))).collect()
}

/// `credentials/authorize` with a TOTP code; returns the status and body.
pub(crate) async fn authorize_totp(
    svc: &Service,
    token: &str,
    credential: &str,
    hashes: &[String],
    n: usize,
    otp: &str,
) -> (u16, Value) {
    csc(
        svc,
        "credentials/authorize",
        token,
        &json!({
            "credentialID": credential,
            "numSignatures": n,
            "hashes": hashes,
            "hashAlgorithmOID": SHA256,
            "authData": [{"id": "OTP", "value": otp}],
            "description": "tenancy agreement",
        }),
    )
    .await
}

pub(crate) async fn sign_hash(
    svc: &Service,
    token: &str,
    credential: &str,
    sad: &str,
    hashes: &[String],
) -> (u16, Value) {
    csc(
        svc,
        "signatures/signHash",
        token,
        &json!({
            "credentialID": credential,
            "SAD": sad,
            "hashes": hashes,
            "hashAlgorithmOID": SHA256,
            "signAlgo": ECDSA_SHA256,
        }),
    )
    .await
}

/// The certificate of a credential (DER), from `credentials/info`.
pub(crate) async fn certificate(svc: &Service, token: &str, credential: &str) -> Vec<u8> {
    let (status, info) = csc(
        svc,
        "credentials/info",
        token,
        &json!({"credentialID": credential}),
    )
    .await;
    assert_eq!(status, 200, "{info}");
    unb64(&info["cert"]["certificates"][0])
}

/// openssl checks `signature` over `data` with the public key of `cert_der`.
pub(crate) fn openssl_verifies(
    svc: &Service,
    cert_der: &[u8],
    data: &[u8],
    signature: &[u8],
) -> bool {
    let name = uuid::Uuid::new_v4();
    let cert = svc.file(
        &format!("{name}.pem"),
        support::cert_pem(cert_der).as_bytes(),
    );
    let key = svc.dir.path().join(format!("{name}.pub"));
    let (ok, out) = support::openssl(&[
        "x509".as_ref(),
        "-in".as_ref(),
        cert.as_os_str(),
        "-pubkey".as_ref(),
        "-noout".as_ref(),
        "-out".as_ref(),
        key.as_os_str(),
    ]);
    assert!(ok, "{out}");
    let sig = svc.file(&format!("{name}.sig"), signature);
    let input = svc.file(&format!("{name}.bin"), data);
    let (ok, out) = support::openssl(&[
        "dgst".as_ref(),
        "-sha256".as_ref(),
        "-verify".as_ref(),
        key.as_os_str(),
        "-signature".as_ref(),
        sig.as_os_str(),
        input.as_os_str(),
    ]);
    ok && out.contains("Verified OK")
}

/// The audit events of a type, as JSON records.
pub(crate) async fn audit_events(svc: &Service, event: &str) -> Vec<Value> {
    svc.store
        .audit_range(1, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.event == event)
        .map(|r| serde_json::from_slice::<Value>(&r.record).unwrap()["event"].clone())
        .collect()
}

/// Asserts an error reply: its HTTP status and its stable code.
pub(crate) fn refused(reply: &(u16, Value), status: u16, code: &str) {
    assert_eq!(
        (reply.0, reply.1["error"].as_str()),
        (status, Some(code)),
        "{}",
        reply.1
    );
}

async fn refusal_recorded(svc: &Service, event: &str, reason: &str) -> bool {
    audit_events(svc, event)
        .await
        .iter()
        .any(|e| e["reason"] == reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_totp_activation_signs_two_hashes_and_openssl_verifies_them() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;

    // The OpenAPI document is served and names the CSC methods.
    let doc: Value = reqwest::get(svc.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/csc/v2/signatures/signHash"]["post"].is_object());

    // Made on first use: one credential under each enabled policy.
    let (status, list) = csc(&svc, "credentials/list", &token, &json!({})).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["credentialIDs"].as_array().unwrap().len(), 2);
    let advanced = credential(&svc, &token, "advanced").await;
    let qualified = credential(&svc, &token, "qualified").await;

    let (_, info) = csc(
        &svc,
        "credentials/info",
        &token,
        &json!({"credentialID": advanced, "certificates": "chain", "certInfo": true, "authInfo": true}),
    )
    .await;
    assert_eq!(info["SCAL"], "1");
    assert_eq!(info["authMode"], "explicit");
    assert_eq!(info["key"]["status"], "enabled");
    assert_eq!(info["key"]["len"], 256);
    assert_eq!(info["key"]["curve"], "1.2.840.10045.3.1.7");
    assert!(info["key"]["algo"]
        .as_array()
        .unwrap()
        .contains(&json!(ECDSA_SHA256)));
    assert_eq!(info["cert"]["certificates"].as_array().unwrap().len(), 3);
    assert!(info["cert"]["issuerDN"].as_str().unwrap().contains("CN="));
    assert!(info["cert"]["validTo"].as_str().unwrap().ends_with('Z'));
    let (_, qinfo) = csc(
        &svc,
        "credentials/info",
        &token,
        &json!({"credentialID": qualified}),
    )
    .await;
    assert_eq!(qinfo["SCAL"], "2");
    assert_eq!(qinfo["signatureQualifier"], "eu_eidas_qes");

    // The chain verifies with openssl, and only the qualified certificate has QC statements.
    let chain: Vec<Vec<u8>> = info["cert"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(unb64)
        .collect();
    let leaf = svc.file("leaf.pem", support::cert_pem(&chain[0]).as_bytes());
    let issuing = svc.file("issuing.pem", support::cert_pem(&chain[1]).as_bytes());
    let root = svc.file("root.pem", support::cert_pem(&chain[2]).as_bytes());
    let (ok, out) = support::openssl(&[
        "verify".as_ref(),
        "-CAfile".as_ref(),
        root.as_os_str(),
        "-untrusted".as_ref(),
        issuing.as_os_str(),
        leaf.as_os_str(),
    ]);
    assert!(ok, "{out}");
    let text = |der: &[u8], name: &str| {
        let f = svc.file(name, support::cert_pem(der).as_bytes());
        support::openssl(&[
            "x509".as_ref(),
            "-in".as_ref(),
            f.as_os_str(),
            "-text".as_ref(),
            "-noout".as_ref(),
        ])
        .1
    };
    assert!(!text(&chain[0], "a.pem").contains("qcStatements"));
    let qcert = certificate(&svc, &token, &qualified).await;
    let qtext = text(&qcert, "q.pem");
    assert!(
        qtext.contains("qcStatements") || qtext.contains("1.3.6.1.5.5.7.1.3"),
        "{qtext}"
    );

    // Activation with a new TOTP code (the login's code is spent): a SAD for two hashes.
    svc.clock.advance(30);
    let docs: [&[u8]; 2] = [b"lease for Rungstedlund", b"inventory list"];
    let hashes = hashes_of(&docs);
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes, 2, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    assert_eq!(auth["expiresIn"], 300);
    let sad = auth["SAD"].as_str().unwrap();

    let (status, signed) = sign_hash(&svc, &token, &advanced, sad, &hashes).await;
    assert_eq!(status, 200, "{signed}");
    let signatures = signed["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    for (doc, signature) in docs.iter().zip(signatures) {
        assert!(openssl_verifies(&svc, &chain[0], doc, &unb64(signature)));
    }
    // Not with the other document's data.
    assert!(!openssl_verifies(
        &svc,
        &chain[0],
        docs[1],
        &unb64(&signatures[0])
    ));

    // Replaying the used SAD is refused and recorded.
    refused(
        &sign_hash(&svc, &token, &advanced, sad, &hashes).await,
        400,
        "sad_used",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "sad_used").await);

    // The audit log tells the story: SAD issued with its label, consumed, two signatures.
    let issued = audit_events(&svc, "sad_issued").await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["label"], "tenancy agreement");
    assert_eq!(issued[0]["scal"], "1");
    assert_eq!(issued[0]["factor"], "totp");
    assert_eq!(audit_events(&svc, "sad_consumed").await.len(), 1);
    let made = audit_events(&svc, "signature_made").await;
    assert_eq!(made.len(), 2);
    assert!(made
        .iter()
        .all(|m| m["policy"] == "advanced" && m["loa"].as_str().unwrap().ends_with("Substantial")));

    // The v1 names and path work too: hash, hashAlgo, OTP.
    svc.clock.advance(30);
    let (status, auth) = reqwest::Client::new()
        .post(svc.url("/csc/v1/credentials/authorize"))
        .bearer_auth(&token)
        .json(&json!({"credentialID": advanced, "numSignatures": 1, "hash": [hashes[0]], "hashAlgo": SHA256, "OTP": karen.code(&svc)}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    let auth: Value = auth.json().await.unwrap();
    assert_eq!(status, 200, "{auth}");
    let (status, signed) = reqwest::Client::new()
        .post(svc.url("/csc/v1/signatures/signHash"))
        .bearer_auth(&token)
        .json(&json!({"credentialID": advanced, "SAD": auth["SAD"], "hash": [hashes[0]], "signAlgo": ECDSA_SHA256}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    let signed: Value = signed.json().await.unwrap();
    assert_eq!(status, 200, "{signed}");
    assert!(openssl_verifies(
        &svc,
        &chain[0],
        docs[0],
        &unb64(&signed["signatures"][0])
    ));

    // signatures/timestamp: an RFC 3161 token over a hash that openssl accepts.
    let (status, ts) = csc(
        &svc,
        "signatures/timestamp",
        &token,
        &json!({"hash": hashes[0], "hashAlgorithmOID": SHA256}),
    )
    .await;
    assert_eq!(status, 200, "{ts}");
    let token_file = svc.file("ts.tst", &unb64(&ts["timestamp"]));
    let data = svc.file("doc0", docs[0]);
    let bundle = format!(
        "{}{}",
        support::cert_pem(&svc.pki.tsa_certificate().await.unwrap()),
        support::cert_pem(&chain[1])
    );
    let tsa = svc.file("tsa.pem", bundle.as_bytes());
    let (ok, out) = support::openssl(&[
        "ts".as_ref(),
        "-verify".as_ref(),
        "-data".as_ref(),
        data.as_os_str(),
        "-in".as_ref(),
        token_file.as_os_str(),
        "-token_in".as_ref(),
        "-CAfile".as_ref(),
        root.as_os_str(),
        "-untrusted".as_ref(),
        tsa.as_os_str(),
    ]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sad_is_spent_in_one_mode_and_on_each_approved_hash_once() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let (one, two): (&[u8], &[u8]) = (b"lease", b"inventory");
    let hashes = hashes_of(&[one, two]);
    svc.clock.advance(30);
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes, 2, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let sad = auth["SAD"].as_str().unwrap();
    // [h1, h1] does not spend an approval of [h1, h2].
    refused(
        &sign_hash(
            &svc,
            &token,
            &advanced,
            sad,
            &[hashes[0].clone(), hashes[0].clone()],
        )
        .await,
        400,
        "hash_not_authorized",
    );
    // signHash of h1 spends the SAD in the hash mode (openssl checks the signature)...
    let (status, body) = sign_hash(&svc, &token, &advanced, sad, &hashes[..1]).await;
    assert_eq!(status, 200, "{body}");
    let cert = certificate(&svc, &token, &advanced).await;
    assert!(openssl_verifies(
        &svc,
        &cert,
        one,
        &unb64(&body["signatures"][0])
    ));
    // ...so h1 cannot be signed again, and the document flow cannot use the rest.
    let again = sign_hash(&svc, &token, &advanced, sad, &hashes[..1]).await;
    assert_eq!(again.0, 400, "{}", again.1);
    let (status, body) = csc(
        &svc,
        "signatures/signDoc",
        &token,
        &json!({"credentialID": advanced, "SAD": sad, "documents": [{
            "document": b64(two), "signature_format": "C",
            "conformance_level": "Ades-B-B", "signed_envelope_property": "Detached"}]}),
    )
    .await;
    assert_eq!(status, 400, "signDoc with a SAD spent by signHash: {body}");
    // h2 by signHash is still allowed: the SAD's second signature.
    let (status, body) = sign_hash(&svc, &token, &advanced, sad, &hashes[1..]).await;
    assert_eq!(status, 200, "{body}");
    assert!(openssl_verifies(
        &svc,
        &cert,
        two,
        &unb64(&body["signatures"][0])
    ));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_own_code_and_leaves_an_audit_record() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let isak = person(&svc, "isak").await;
    let login_code = karen.code(&svc);
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let qualified = credential(&svc, &token, "qualified").await;
    let hashes = hashes_of(&[b"one", b"two", b"three"]);

    // The TOTP code used at login cannot activate a signature.
    refused(
        &authorize_totp(&svc, &token, &advanced, &hashes[..1], 1, &login_code).await,
        400,
        "code_reused",
    );
    assert!(refusal_recorded(&svc, "activation_refused", "code_reused").await);
    // A wrong code.
    let (status, body) = authorize_totp(&svc, &token, &advanced, &hashes[..1], 1, "000000").await;
    let wrong = if karen.code(&svc) == "000000" {
        "code_reused"
    } else {
        "activation_failed"
    };
    assert_eq!(body["error"].as_str(), Some(wrong), "{status} {body}");

    // A password-only token is below the policy's level, for authorize and for signHash.
    let low = karen.login(&svc, false).await;
    refused(
        &authorize_totp(&svc, &low, &advanced, &hashes[..1], 1, "123456").await,
        403,
        "insufficient_loa",
    );
    assert!(refusal_recorded(&svc, "activation_refused", "insufficient_loa").await);
    // The qualified policy needs High: a Substantial token is not enough, and a TOTP code
    // is too weak an activation even at High (checked on the SCAL before the code).
    refused(
        &authorize_totp(&svc, &token, &qualified, &hashes[..1], 1, "123456").await,
        403,
        "insufficient_loa",
    );

    // A SAD for two hashes, n = 2.
    svc.clock.advance(30);
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes[..2], 2, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let sad = auth["SAD"].as_str().unwrap().to_owned();
    refused(
        &sign_hash(&svc, &low, &advanced, &sad, &hashes[..1]).await,
        403,
        "insufficient_loa",
    );

    // A hash the SAD does not cover.
    refused(
        &sign_hash(&svc, &token, &advanced, &sad, &hashes[2..]).await,
        400,
        "hash_not_authorized",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "hash_not_authorized").await);
    // Another hash algorithm.
    let (status, body) = csc(
        &svc,
        "signatures/signHash",
        &token,
        &json!({
        "credentialID": advanced, "SAD": sad, "hashes": [b64(&[1u8; 48])],
        "hashAlgorithmOID": "2.16.840.1.101.3.4.2.2", "signAlgo": "1.2.840.10045.2.1"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("hash_not_authorized")),
        "{body}"
    );
    // A tampered SAD.
    let mut forged = sad.clone();
    forged.pop();
    forged.push(if sad.ends_with('A') { 'B' } else { 'A' });
    refused(
        &sign_hash(&svc, &token, &advanced, &forged, &hashes[..1]).await,
        400,
        "invalid_sad",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "invalid_sad").await);
    // An algorithm that does not fit the key.
    refused(
        &csc(
            &svc,
            "signatures/signHash",
            &token,
            &json!({
        "credentialID": advanced, "SAD": sad, "hashes": &hashes[..1],
        "signAlgo": "1.2.840.113549.1.1.11"}),
        )
        .await,
        400,
        "unsupported_algorithm",
    );

    // Use one of the two; then asking for two more exceeds numSignatures; the last one works
    // once; after that the SAD is used up.
    let (status, body) = sign_hash(&svc, &token, &advanced, &sad, &hashes[..1]).await;
    assert_eq!(status, 200, "{body}");
    refused(
        &sign_hash(&svc, &token, &advanced, &sad, &hashes[..2]).await,
        400,
        "sad_count_exceeded",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "sad_count_exceeded").await);
    let (status, body) = sign_hash(&svc, &token, &advanced, &sad, &hashes[1..2]).await;
    assert_eq!(status, 200, "{body}");
    refused(
        &sign_hash(&svc, &token, &advanced, &sad, &hashes[1..2]).await,
        400,
        "sad_used",
    );

    // Another person: Karen's credential id is not found for Isak; Isak's SAD does not work
    // on Karen's credential.
    let isak_token = isak.login(&svc, true).await;
    let isak_advanced = credential(&svc, &isak_token, "advanced").await;
    refused(
        &sign_hash(&svc, &isak_token, &advanced, &sad, &hashes[..1]).await,
        404,
        "credential_not_found",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "credential_not_found").await);
    refused(
        &authorize_totp(
            &svc,
            &isak_token,
            &advanced,
            &hashes[..1],
            1,
            &isak.code(&svc),
        )
        .await,
        404,
        "credential_not_found",
    );
    svc.clock.advance(30);
    let (status, isak_auth) = authorize_totp(
        &svc,
        &isak_token,
        &isak_advanced,
        &hashes[..1],
        1,
        &isak.code(&svc),
    )
    .await;
    assert_eq!(status, 200, "{isak_auth}");
    let isak_sad = isak_auth["SAD"].as_str().unwrap();
    refused(
        &sign_hash(&svc, &token, &advanced, isak_sad, &hashes[..1]).await,
        403,
        "sad_mismatch",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "sad_mismatch").await);

    // Suspended: no activation and no signing; resumed: signing works again.
    let (status, sad3) =
        authorize_totp(&svc, &token, &advanced, &hashes[2..], 1, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{sad3}");
    let sad3 = sad3["SAD"].as_str().unwrap().to_owned();
    let change = |action: &'static str| {
        let url = svc.url(&format!("/v1/credentials/{advanced}/{action}"));
        let token = token.clone();
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(
        change("suspend").await,
        (200, json!({"id": advanced, "changed": true}))
    );
    refused(
        &sign_hash(&svc, &token, &advanced, &sad3, &hashes[2..]).await,
        403,
        "credential_suspended",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "credential_suspended").await);
    svc.clock.advance(30);
    refused(
        &authorize_totp(&svc, &token, &advanced, &hashes[..1], 1, &karen.code(&svc)).await,
        403,
        "credential_suspended",
    );
    let (_, info) = csc(
        &svc,
        "credentials/info",
        &token,
        &json!({"credentialID": advanced}),
    )
    .await;
    assert_eq!(info["key"]["status"], "disabled");
    assert_eq!(change("resume").await.0, 200);
    let (status, body) = sign_hash(&svc, &token, &advanced, &sad3, &hashes[2..]).await;
    assert_eq!(status, 200, "{body}");

    // Expired: a SAD older than five minutes (with a fresh login, since tokens expire too).
    svc.clock.advance(30);
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes[..1], 1, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    svc.clock.advance(301);
    let token = karen.login(&svc, true).await;
    refused(
        &sign_hash(
            &svc,
            &token,
            &advanced,
            auth["SAD"].as_str().unwrap(),
            &hashes[..1],
        )
        .await,
        400,
        "sad_expired",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "sad_expired").await);

    // Revoked: the certificate too; then neither activation nor signing.
    svc.clock.advance(30);
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes[..1], 1, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let url = svc.url(&format!("/v1/credentials/{advanced}/revoke"));
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    refused(
        &sign_hash(
            &svc,
            &token,
            &advanced,
            auth["SAD"].as_str().unwrap(),
            &hashes[..1],
        )
        .await,
        403,
        "credential_revoked",
    );
    assert!(refusal_recorded(&svc, "signature_refused", "credential_revoked").await);
    let (_, info) = csc(
        &svc,
        "credentials/info",
        &token,
        &json!({"credentialID": advanced, "certInfo": true}),
    )
    .await;
    assert_eq!(info["cert"]["status"], "revoked");
    let serial = info["cert"]["serialNumber"].as_str().unwrap();
    assert!(svc
        .pki
        .certificate(serial)
        .await
        .unwrap()
        .revoked_at
        .is_some());
    // Revocation is final: the next listing makes a new credential under the policy.
    let (_, list) = csc(
        &svc,
        "credentials/list",
        &token,
        &json!({"onlyValid": true}),
    )
    .await;
    let ids = list["credentialIDs"].as_array().unwrap();
    assert_eq!(ids.len(), 2, "{list}");
    assert!(!ids.contains(&json!(advanced)));

    // The audit chain still verifies after all of this.
    assert!(svc.audit.verify(None, None).await.is_ok());
    svc.stop().await;
}

/// Enrols a passkey (with an enrolment code) and logs in with passkey + password: a High token.
pub(crate) async fn passkey_login(
    svc: &Service,
    who: &Person,
    authenticator: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
    origin: &webauthn_rs::prelude::Url,
) -> String {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

    let substantial = who.login(svc, true).await;
    let post = |path: &str, token: Option<String>, body: Value| {
        let request = reqwest::Client::new().post(svc.url(path)).json(&body);
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let enrolment = svc
        .identity
        .new_enrolment_code(&who.username, &Context::system(), svc.now())
        .await
        .unwrap();
    let (_, start) = post(
        "/idp/passkeys/register/start",
        Some(substantial.clone()),
        json!({"enrolment_code": enrolment}),
    )
    .await;
    let options: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let credential = authenticator
        .do_registration(origin.clone(), options)
        .unwrap();
    let (status, _) = post(
        "/idp/passkeys/register/finish",
        Some(substantial),
        json!({"state": start["state"], "credential": credential}),
    )
    .await;
    assert_eq!(status, 204);
    let (_, start) = post(
        "/idp/passkeys/login/start",
        None,
        json!({"username": who.username}),
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    let (status, high) = post(
        "/idp/passkeys/login/finish",
        None,
        json!({"username": who.username, "state": start["state"], "credential": assertion, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{high}");
    high["access_token"].as_str().unwrap().to_owned()
}

/// A passkey assertion over the challenge `credentials/getChallenge` gives for these hashes.
async fn passkey_activation(
    svc: &Service,
    token: &str,
    credential: &str,
    hashes: &[String],
    authenticator: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
    origin: &webauthn_rs::prelude::Url,
) -> (String, Value) {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    let (status, challenge) = csc(
        svc,
        "credentials/getChallenge",
        token,
        &json!({"credentialID": credential, "numSignatures": hashes.len(), "hashes": hashes, "hashAlgorithmOID": SHA256}),
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

async fn authorize_passkey(
    svc: &Service,
    token: &str,
    credential: &str,
    hashes: &[String],
    challenge: &str,
    assertion: &Value,
) -> (u16, Value) {
    csc(
        svc,
        "credentials/authorize",
        token,
        &json!({
            "credentialID": credential,
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
async fn a_passkey_assertion_over_the_hashes_activates_the_qualified_credential() {
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let origin =
        webauthn_rs::prelude::Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap();
    let mut authenticator = SoftPasskey::new(true);
    let high = passkey_login(&svc, &karen, &mut authenticator, &origin).await;
    let qualified = credential(&svc, &high, "qualified").await;
    let docs: [&[u8]; 3] = [b"deed of sale", b"mortgage", b"something else"];
    let hashes = hashes_of(&docs);

    // An assertion made for two hashes does not activate another pair.
    let (challenge, assertion) = passkey_activation(
        &svc,
        &high,
        &qualified,
        &hashes[..2],
        &mut authenticator,
        &origin,
    )
    .await;
    let other = [hashes[0].clone(), hashes[2].clone()];
    refused(
        &authorize_passkey(&svc, &high, &qualified, &other, &challenge, &assertion).await,
        400,
        "activation_failed",
    );
    assert!(refusal_recorded(&svc, "activation_refused", "activation_failed").await);

    // The right hashes: a SAD at SCAL2.
    let (challenge, assertion) = passkey_activation(
        &svc,
        &high,
        &qualified,
        &hashes[..2],
        &mut authenticator,
        &origin,
    )
    .await;
    let (status, auth) = authorize_passkey(
        &svc,
        &high,
        &qualified,
        &hashes[..2],
        &challenge,
        &assertion,
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    // The ceremony is used up: the same assertion cannot make a second SAD.
    refused(
        &authorize_passkey(
            &svc,
            &high,
            &qualified,
            &hashes[..2],
            &challenge,
            &assertion,
        )
        .await,
        400,
        "activation_failed",
    );

    let (status, signed) = sign_hash(
        &svc,
        &high,
        &qualified,
        auth["SAD"].as_str().unwrap(),
        &hashes[..2],
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    let cert = certificate(&svc, &high, &qualified).await;
    for (doc, signature) in docs.iter().zip(signed["signatures"].as_array().unwrap()) {
        assert!(openssl_verifies(&svc, &cert, doc, &unb64(signature)));
    }
    let issued = audit_events(&svc, "sad_issued").await;
    assert_eq!(issued.len(), 1);
    assert_eq!(
        (issued[0]["scal"].as_str(), issued[0]["factor"].as_str()),
        (Some("2"), Some("webauthn"))
    );
    assert!(issued[0]["loa"].as_str().unwrap().ends_with("High"));

    // A TOTP code is too weak an activation for the qualified policy, even at High.
    svc.clock.advance(30);
    refused(
        &authorize_totp(&svc, &high, &qualified, &hashes[..1], 1, &karen.code(&svc)).await,
        403,
        "activation_too_weak",
    );
    assert!(refusal_recorded(&svc, "activation_refused", "activation_too_weak").await);
    // The advanced credential takes a passkey activation too.
    let advanced = credential(&svc, &high, "advanced").await;
    let (challenge, assertion) = passkey_activation(
        &svc,
        &high,
        &advanced,
        &hashes[2..],
        &mut authenticator,
        &origin,
    )
    .await;
    let (status, auth) =
        authorize_passkey(&svc, &high, &advanced, &hashes[2..], &challenge, &assertion).await;
    assert_eq!(status, 200, "{auth}");
    svc.stop().await;
}

/// Eight concurrent signHash calls for the last use of one SAD, spread over `nodes`: exactly
/// one signature comes back, the rest are `sad_used`, and the audit log holds one signature.
async fn race_for_the_last_use(nodes: &[&Service]) {
    let first = nodes[0];
    let karen = person(first, "karen").await;
    let token = karen.login(first, true).await;
    let advanced = credential(first, &token, "advanced").await;
    first.clock.advance(30);
    let hashes = hashes_of(&[b"only once"]);
    let (status, auth) =
        authorize_totp(first, &token, &advanced, &hashes, 1, &karen.code(first)).await;
    assert_eq!(status, 200, "{auth}");
    let sad = auth["SAD"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let node = nodes[i % nodes.len()];
        let request = reqwest::Client::new()
            .post(node.url("/csc/v2/signatures/signHash"))
            .bearer_auth(&token)
            .json(&json!({"credentialID": advanced, "SAD": sad, "hashes": hashes, "signAlgo": ECDSA_SHA256}));
        tasks.push(tokio::spawn(async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut signed = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == 200 {
            signed += 1;
        } else {
            assert_eq!(body["error"], "sad_used", "{body}");
        }
    }
    assert_eq!(signed, 1);
    assert_eq!(audit_events(first, "signature_made").await.len(), 1);
    assert_eq!(audit_events(first, "sad_consumed").await.len(), 1);
    assert_eq!(first.store.sad_uses(&sad_id(&sad)).await.unwrap(), 1);
    assert!(first.audit.verify(None, None).await.is_ok());
}

fn sad_id(sad: &str) -> String {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sad.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_for_the_last_use_of_a_sad_yields_one_signature_on_sqlite() {
    let svc = Service::start().await;
    race_for_the_last_use(&[&svc]).await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_for_the_last_use_of_a_sad_on_two_postgresql_nodes_yields_one_signature() {
    let db = support::PgDatabase::create().await;
    let store = qsign::store::Store::connect(&db.url, &support::store_options())
        .await
        .unwrap();
    let one = Service::start_on(store, tempfile::tempdir().unwrap()).await;
    let two = one.second_node(&db.url).await;
    race_for_the_last_use(&[&one, &two]).await;
    one.stop().await;
    two.stop().await;
    db.drop_now().await;
}

/// The CSC `credential` authorization details for documents.
pub(crate) fn details(credential: &str, docs: &[(&str, &[u8])]) -> Value {
    json!([{
        "type": "credential",
        "credentialID": credential,
        "hashAlgorithmOID": SHA256,
        "documentDigests": docs
            .iter()
            .map(|(label, d)| json!({"hash": b64(&support::sha256(d)), "label": label}))
            .collect::<Vec<_>>(),
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth_flow_with_authorization_details_shows_the_documents_and_activates_once() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let docs: [(&str, &[u8]); 2] = [("Lease.pdf", b"lease"), ("Inventory.pdf", b"inventory")];
    let approval = details(&advanced, &docs);

    // qsign's own page shows what is approved; the person logs in there (password + TOTP).
    svc.clock.advance(30);
    let (verifier, challenge) = support::pkce();
    let redirect = "http://localhost:9999/callback";
    let http = support::no_redirects();
    let url = format!(
        "{}?response_type=code&client_id=signer-app&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&authorization_details={}",
        svc.url("/idp/authorize"),
        qsign::identity::oauth::percent(redirect),
        qsign::identity::oauth::percent(&approval.to_string()),
    );
    let html = http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("You are asked to approve"), "{html}");
    assert!(html.contains("Lease.pdf") && html.contains("Inventory.pdf"));
    assert!(html.contains(&b64(&support::sha256(b"lease"))));
    let request = support::form_request(&html);
    let otp = karen.code(&svc);
    let done = http
        .post(svc.url("/idp/authorize"))
        .form(&[
            ("request", request.as_str()),
            ("username", "karen"),
            ("password", PASSWORD),
            ("otp", otp.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let issued: Value = reqwest::Client::new()
        .post(svc.url("/idp/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", "signer-app"),
            ("redirect_uri", redirect),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let approved = issued["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued}"));

    // The approval token is for signing what was approved, not a general login: the account,
    // its history, the IdP and the native document calls refuse it.
    for path in [
        "/v1/me/history",
        "/v1/documents/x/signed",
        "/idp/passkeys/register/start",
    ] {
        let r = reqwest::Client::new()
            .request(
                if path.starts_with("/idp") {
                    reqwest::Method::POST
                } else {
                    reqwest::Method::GET
                },
                svc.url(path),
            )
            .bearer_auth(approved)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token", "{path}: {body}");
    }

    // A hash that was not on the page is refused.
    let other = hashes_of(&[b"something else"]);
    refused(
        &csc(
            &svc,
            "credentials/authorize",
            approved,
            &json!({
        "credentialID": advanced, "numSignatures": 1, "hashes": other, "hashAlgorithmOID": SHA256}),
        )
        .await,
        400,
        "hash_not_authorized",
    );

    // CSC oauth2code: signHash without a SAD, the token being the activation.
    let hashes = hashes_of(&[b"lease", b"inventory"]);
    let (status, signed) = csc(&svc, "signatures/signHash", approved, &json!({
        "credentialID": advanced, "hashes": hashes, "hashAlgorithmOID": SHA256, "signAlgo": ECDSA_SHA256})).await;
    assert_eq!(status, 200, "{signed}");
    let cert = certificate(&svc, &token, &advanced).await;
    for ((_, doc), signature) in docs.iter().zip(signed["signatures"].as_array().unwrap()) {
        assert!(openssl_verifies(&svc, &cert, doc, &unb64(signature)));
    }
    let issued = audit_events(&svc, "sad_issued").await;
    assert_eq!(
        (issued[0]["scal"].as_str(), issued[0]["factor"].as_str()),
        (Some("2"), Some("oauth"))
    );
    // The approval activates once.
    refused(&csc(&svc, "credentials/authorize", approved, &json!({
        "credentialID": advanced, "numSignatures": 2, "hashes": hashes, "hashAlgorithmOID": SHA256})).await, 400, "activation_failed");
    // A token without authorization_details and no factor: a clear refusal.
    refused(
        &csc(
            &svc,
            "credentials/authorize",
            &token,
            &json!({
        "credentialID": advanced, "numSignatures": 1, "hashes": &hashes[..1]}),
        )
        .await,
        400,
        "activation_failed",
    );
    // Malformed details never reach the page: the client hears about it.
    let bad = format!(
        "{}?response_type=code&client_id=signer-app&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&authorization_details=%5B%7B%7D%5D",
        svc.url("/idp/authorize"),
        qsign::identity::oauth::percent(redirect),
    );
    let r = http.get(&bad).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("error=invalid_authorization_details"));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_issuers_token_with_authorization_details_activates_the_qualified_credential() {
    let svc = Service::start().await;
    let key = support::broker_key();
    let t = svc.now();
    let claims = |details: Value, auth_time: i64, jti: &str| {
        json!({
            "iss": "https://broker.example", "aud": "qsign", "sub": "broker-subject-7",
            "exp": t + 300, "iat": t, "auth_time": auth_time, "jti": jti,
            "loa": "https://data.gov.dk/concept/core/nsis/High",
            "given_name": "Karen", "family_name": "Blixen",
            "authorization_details": details,
        })
    };
    // First a plain High token to learn the credential id (made on first use).
    let plain = support::broker_token(&key, &claims(Value::Null, t, "plain"));
    let qualified = credential(&svc, &plain, "qualified").await;
    let docs: [(&str, &[u8]); 1] = [("Deed.pdf", b"deed")];
    let hashes = hashes_of(&[b"deed"]);

    // An approval made ten minutes ago is stale.
    let stale = support::broker_token(&key, &claims(details(&qualified, &docs), t - 600, "stale"));
    refused(&csc(&svc, "credentials/authorize", &stale, &json!({
        "credentialID": qualified, "numSignatures": 1, "hashes": hashes, "hashAlgorithmOID": SHA256})).await, 400, "activation_failed");

    let fresh = support::broker_token(&key, &claims(details(&qualified, &docs), t, "fresh"));
    let (status, auth) = csc(&svc, "credentials/authorize", &fresh, &json!({
        "credentialID": qualified, "numSignatures": 1, "hashes": hashes, "hashAlgorithmOID": SHA256})).await;
    assert_eq!(status, 200, "{auth}");
    let (status, signed) = sign_hash(
        &svc,
        &fresh,
        &qualified,
        auth["SAD"].as_str().unwrap(),
        &hashes,
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    let cert = certificate(&svc, &fresh, &qualified).await;
    assert!(openssl_verifies(
        &svc,
        &cert,
        b"deed",
        &unb64(&signed["signatures"][0])
    ));
    let issued = audit_events(&svc, "sad_issued").await;
    assert_eq!(
        (issued[0]["scal"].as_str(), issued[0]["factor"].as_str()),
        (Some("2"), Some("external"))
    );
    svc.stop().await;
}

/// The first attached and the first detached CAdES signature of a `signDoc` answer, each
/// verified by `openssl cms -verify` given only the service's root (the detached one over
/// `content`, with every CRL checked, at the service's time, which runs ahead of the
/// machine's when a test moved it for a new TOTP code); both, and the root's PEM file.
pub(crate) async fn verified_cades(
    svc: &Service,
    signed: &Value,
    content: &[u8],
) -> (Vec<u8>, Vec<u8>, std::path::PathBuf) {
    let attached = unb64(&signed["DocumentWithSignature"][0]);
    let detached = unb64(&signed["SignatureObject"][0]);
    let root_der = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
    let root = svc.file(
        &format!("{}-root.pem", uuid::Uuid::new_v4()),
        support::cert_pem(&root_der).as_bytes(),
    );
    let at = svc.now().to_string();
    let (ok, out) = support::cms_verify(svc, &root, &attached, None, &["-attime", &at]);
    assert!(ok, "{out}");
    let (ok, out) = support::cms_verify(
        svc,
        &root,
        &detached,
        Some(content),
        &["-crl_check_all", "-attime", &at],
    );
    assert!(ok, "{out}");
    (attached, detached, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_doc_makes_cades_attached_and_detached_up_to_b_lta_that_openssl_verifies() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let contract: &[u8] = b"Contract: the whole document, signed as CAdES.";
    let annex: &[u8] = b"Annex: signed detached, at B-LTA.";
    // The SAD covers the SHA-256 of each submitted document.
    svc.clock.advance(30);
    let hashes = hashes_of(&[contract, annex]);
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes, 2, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let request = json!({
        "credentialID": advanced,
        "SAD": auth["SAD"],
        "documents": [
            {"document": b64(contract), "signature_format": "C",
             "conformance_level": "Ades-B-B", "signed_envelope_property": "Attached"},
            {"document": b64(annex), "signature_format": "C",
             "conformance_level": "Ades-B-LTA", "signed_envelope_property": "Detached"},
        ],
    });
    let (status, signed) = csc(&svc, "signatures/signDoc", &token, &request).await;
    assert_eq!(status, 200, "{signed}");
    let (attached, detached, root) = verified_cades(&svc, &signed, annex).await;
    let (ok, _) = support::cms_verify(&svc, &root, &detached, Some(contract), &[]);
    assert!(
        !ok,
        "a detached signature verifies only with its own document"
    );
    assert_eq!(
        qsign::formats::cms::level(&detached).unwrap(),
        qsign::formats::cms::Level::BLTA
    );
    assert_eq!(
        qsign::formats::cms::level(&attached).unwrap(),
        qsign::formats::cms::Level::BB
    );
    // The audit records the documents' digests as what was signed.
    let made = audit_events(&svc, "signature_made").await;
    let digest = hex::encode(support::sha256(annex));
    assert!(made.iter().any(|m| m["hash"] == digest.as_str()));

    // The SAD is spent; a document the SAD does not cover and a format not offered are refused.
    refused(
        &csc(&svc, "signatures/signDoc", &token, &request).await,
        400,
        "sad_used",
    );
    svc.clock.advance(30);
    let (_, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes[..1], 1, &karen.code(&svc)).await;
    let other = json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": [
        {"document": b64(b"not approved"), "signature_format": "C"}]});
    refused(
        &csc(&svc, "signatures/signDoc", &token, &other).await,
        400,
        "hash_not_authorized",
    );
    let pdf = json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": [
        {"document": b64(b"%PDF-1.7"), "signature_format": "P"}]});
    // A SAD that does not cover the document is refused before the document is read.
    refused(
        &csc(&svc, "signatures/signDoc", &token, &pdf).await,
        400,
        "hash_not_authorized",
    );
    // One that covers it: the broken PDF is refused with its own code.
    svc.clock.advance(30);
    let (_, auth) = authorize_totp(
        &svc,
        &token,
        &advanced,
        &hashes_of(&[b"%PDF-1.7"]),
        1,
        &karen.code(&svc),
    )
    .await;
    let pdf = json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": [
        {"document": b64(b"%PDF-1.7"), "signature_format": "P"}]});
    refused(
        &csc(&svc, "signatures/signDoc", &token, &pdf).await,
        400,
        "pdf_malformed",
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_doc_makes_xades_enveloped_that_xmlsec1_verifies_and_refuses_hostile_xml() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let xml: &[u8] = b"<?xml version=\"1.0\"?>\n<invoice xmlns=\"urn:example:invoice\"><total currency=\"DKK\">1250.00</total></invoice>\n";
    svc.clock.advance(30);
    // Hostile XML is refused with its code before the SAD is used (here the signer was even
    // shown it and approved it: the parser still refuses it).
    let bomb =
        b"<!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]><d>&b;</d>";
    let hashes = hashes_of(&[xml, bomb]);
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes, 2, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let hostile = json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": [
        {"document": b64(bomb), "signature_format": "X"}]});
    let reply = csc(&svc, "signatures/signDoc", &token, &hostile).await;
    refused(&reply, 400, "invalid_xml");
    assert!(reply.1["error_description"]
        .as_str()
        .unwrap()
        .contains("xml_dtd"));
    let pades = json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": [
        {"document": b64(xml), "signature_format": "P"}]});
    refused(
        &csc(&svc, "signatures/signDoc", &token, &pades).await,
        400,
        "not_pdf",
    );

    let request = json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": [
        {"document": b64(xml), "signature_format": "X", "conformance_level": "Ades-B-LTA",
         "signed_envelope_property": "Enveloped"}]});
    let (status, signed) = csc(&svc, "signatures/signDoc", &token, &request).await;
    assert_eq!(status, 200, "{signed}");
    let document = unb64(&signed["DocumentWithSignature"][0]);
    let (ok, out) = support::xmlsec_verify(&svc, &document).await;
    assert!(ok, "{out}");
    assert_eq!(
        qsign::formats::xades::level(&document).unwrap(),
        qsign::formats::xades::Level::BLTA
    );
    let tampered = String::from_utf8(document)
        .unwrap()
        .replace("1250.00", "12500.00");
    let (ok, _) = support::xmlsec_verify(&svc, tampered.as_bytes()).await;
    assert!(!ok);

    // Enveloping (the XML inside the signature) and detached (any bytes, named document-2).
    let data: &[u8] = b"binary \x00\x01 attachment";
    svc.clock.advance(30);
    let hashes = hashes_of(&[xml, data]);
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes, 2, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let request = json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": [
        {"document": b64(xml), "signature_format": "X", "signed_envelope_property": "Enveloping"},
        {"document": b64(data), "signature_format": "X", "signed_envelope_property": "Detached"}]});
    let (status, signed) = csc(&svc, "signatures/signDoc", &token, &request).await;
    assert_eq!(status, 200, "{signed}");
    let enveloping = unb64(&signed["DocumentWithSignature"][0]);
    let (ok, out) = support::xmlsec_verify(&svc, &enveloping).await;
    assert!(ok, "{out}");
    let detached = unb64(&signed["SignatureObject"][0]);
    assert!(String::from_utf8_lossy(&detached).contains("URI=\"document-2\""));
    let (ok, out) = support::xmlsec_verify_with(&svc, &detached, Some(("document-2", data))).await;
    assert!(ok, "{out}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_flow_uploads_authorizes_signs_and_downloads_cades_and_xades() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let http = reqwest::Client::new();
    let upload = |body: Vec<u8>, query: &'static str| {
        let request = http
            .post(svc.url(&format!("/v1/documents?{query}")))
            .bearer_auth(&token)
            .body(body);
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let pdf = b"%PDF-1.7 a contract, signed detached at B-LT".to_vec();
    let xml = b"<?xml version=\"1.0\"?><note><to>Isak</to></note>".to_vec();
    let (status, cades) = upload(pdf.clone(), "format=cades-detached&level=B-LT").await;
    assert_eq!(status, 201, "{cades}");
    assert_eq!(unb64(&cades["sha256"]), support::sha256(&pdf));
    let (status, xades) = upload(xml.clone(), "format=xades-enveloped&level=B-T").await;
    assert_eq!(status, 201, "{xades}");
    // Refusals at upload: a format not offered, a PDF that does not parse, hostile XML.
    refused(
        &upload(pdf.clone(), "format=odf").await,
        400,
        "unsupported_format",
    );
    refused(
        &upload(pdf.clone(), "format=pades").await,
        400,
        "pdf_malformed",
    );
    let bomb = b"<!DOCTYPE x [<!ENTITY a \"a\">]><x>&a;</x>".to_vec();
    refused(
        &upload(bomb, "format=xades-enveloped").await,
        400,
        "invalid_xml",
    );

    // One activation for both digests.
    svc.clock.advance(30);
    let hashes = vec![
        cades["sha256"].as_str().unwrap().to_owned(),
        xades["sha256"].as_str().unwrap().to_owned(),
    ];
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes, 2, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let sign = |id: &Value| {
        let request = http
            .post(svc.url(&format!("/v1/documents/{}/sign", id.as_str().unwrap())))
            .bearer_auth(&token)
            .json(&json!({"credentialID": advanced, "SAD": auth["SAD"]}));
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let download = |id: &Value| {
        let request = http
            .get(svc.url(&format!("/v1/documents/{}/signed", id.as_str().unwrap())))
            .bearer_auth(&token);
        async move {
            let r = request.send().await.unwrap();
            let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
            (r.status().as_u16(), kind, r.bytes().await.unwrap().to_vec())
        }
    };
    assert_eq!(download(&cades["id"]).await.0, 404, "not signed yet");
    let (status, body) = sign(&cades["id"]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = sign(&xades["id"]).await;
    assert_eq!(status, 200, "{body}");
    refused(&sign(&cades["id"]).await, 409, "already_exists");

    let (status, kind, p7s) = download(&cades["id"]).await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "application/pkcs7-signature")
    );
    let root = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
    let root = svc.file("root-n.pem", support::cert_pem(&root).as_bytes());
    let at = svc.now().to_string();
    let (ok, out) = support::cms_verify(
        &svc,
        &root,
        &p7s,
        Some(&pdf),
        &["-crl_check_all", "-attime", &at],
    );
    assert!(ok, "{out}");
    let (status, kind, signed_xml) = download(&xades["id"]).await;
    assert_eq!((status, kind.as_str()), (200, "application/xml"));
    let (ok, out) = support::xmlsec_verify(&svc, &signed_xml).await;
    assert!(ok, "{out}");
    assert_eq!(
        qsign::formats::xades::level(&signed_xml).unwrap(),
        qsign::formats::xades::Level::BT
    );
    // Another person cannot see or sign these documents.
    let isak = person(&svc, "isak").await;
    let isak_token = isak.login(&svc, true).await;
    let r = http
        .get(svc.url(&format!(
            "/v1/documents/{}/signed",
            cades["id"].as_str().unwrap()
        )))
        .bearer_auth(&isak_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    svc.stop().await;
}

/// Elements an independent parser (Python's xml.etree) finds in a signed XML document.
fn xml_elements(svc: &Service, xml: &[u8]) -> Vec<String> {
    let file = svc.file(&format!("{}.xml", uuid::Uuid::new_v4()), xml);
    let out = support::run(
        std::process::Command::new("python3")
            .arg("-c")
            .arg("import sys, xml.etree.ElementTree as T\nfor e in T.parse(sys.argv[1]).iter(): print(e.tag)")
            .arg(&file),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every packaging at every level through `signDoc`: each CAdES output checked by `openssl cms
/// -verify` (with the CRLs it carries from B-LT on) and its attributes by `openssl cms -print`,
/// each XAdES output by `xmlsec1 --verify` and signxml given only the root, and its elements
/// by Python's XML parser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_packaging_at_every_level_verifies_with_the_independent_tools() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let root = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
    let root = svc.file("root-m.pem", support::cert_pem(&root).as_bytes());
    let levels = ["Ades-B-B", "Ades-B-T", "Ades-B-LT", "Ades-B-LTA"];
    for (format, packagings) in [
        ("C", &["Attached", "Detached"][..]),
        ("X", &["Enveloped", "Enveloping", "Detached"][..]),
    ] {
        let mut documents = Vec::new();
        let mut cases = Vec::new();
        for packaging in packagings {
            for (rank, level) in levels.iter().enumerate() {
                let content = format!(
                    "<?xml version=\"1.0\"?><doc p=\"{packaging}\" l=\"{level}\">text</doc>"
                );
                documents.push(json!({"document": b64(content.as_bytes()),
                    "signature_format": format, "signed_envelope_property": packaging,
                    "conformance_level": level}));
                cases.push((*packaging, rank, content.into_bytes()));
            }
        }
        svc.clock.advance(30);
        let refs: Vec<&[u8]> = cases.iter().map(|c| c.2.as_slice()).collect();
        let hashes = hashes_of(&refs);
        let (status, auth) = authorize_totp(
            &svc,
            &token,
            &advanced,
            &hashes,
            hashes.len(),
            &karen.code(&svc),
        )
        .await;
        assert_eq!(status, 200, "{auth}");
        let request = json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": documents});
        let (status, signed) = csc(&svc, "signatures/signDoc", &token, &request).await;
        assert_eq!(status, 200, "{signed}");
        let mut with_document = signed["DocumentWithSignature"].as_array().unwrap().iter();
        let mut detached = signed["SignatureObject"].as_array().unwrap().iter();
        let at = svc.now().to_string();
        for (position, (packaging, rank, content)) in cases.iter().enumerate() {
            let is_detached = *packaging == "Detached";
            let output = unb64(if is_detached {
                detached.next().unwrap()
            } else {
                with_document.next().unwrap()
            });
            let what = format!("{format} {packaging} {}", levels[*rank]);
            if format == "C" {
                let mut extra = vec!["-attime", at.as_str()];
                if *rank >= 2 {
                    extra.push("-crl_check_all");
                }
                let (ok, out) = support::cms_verify(
                    &svc,
                    &root,
                    &output,
                    is_detached.then_some(content.as_slice()),
                    &extra,
                );
                assert!(ok, "{what}: {out}");
                let file = svc.file(&format!("m{position}.p7s"), &output);
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
                assert!(dump.contains("1.2.840.113549.1.9.16.2.47"), "{what}");
                assert_eq!(
                    dump.contains("id-smime-aa-timeStampToken"),
                    *rank >= 1,
                    "{what}"
                );
                assert_eq!(dump.contains("0.4.0.1733.2.4"), *rank >= 3, "{what}");
                assert_eq!(
                    qsign::formats::cms::level(&output).unwrap() as usize,
                    *rank,
                    "{what}"
                );
            } else {
                // A detached XAdES names its document by its position: document-N.
                let name = format!("document-{}", position + 1);
                let (ok, out) =
                    support::xmlsec_verify_with(&svc, &output, Some((&name, content))).await;
                assert!(ok, "{what}: {out}");
                // signxml too, given only the root (it resolves no detached documents).
                if !is_detached {
                    let (ok, out) = signxml_verify(&svc, &output).await;
                    assert!(ok, "{what}: signxml: {out}");
                }
                // Without the issuing CA in ds:KeyInfo, the root alone is not enough.
                if *packaging == "Enveloped" && *rank == 0 {
                    let text = String::from_utf8(output.clone()).unwrap();
                    let second = text.match_indices("<ds:X509Certificate>").nth(1).unwrap().0;
                    let end = text[second..].find("</ds:X509Certificate>").unwrap()
                        + second
                        + "</ds:X509Certificate>".len();
                    let bare = format!("{}{}", &text[..second], &text[end..]);
                    let (ok, out) = signxml_verify(&svc, bare.as_bytes()).await;
                    assert!(!ok, "{what}: signxml without the chain: {out}");
                }
                let tags = xml_elements(&svc, &output);
                let has = |t: &str| tags.iter().any(|x| x.ends_with(t));
                assert!(
                    has("}SigningCertificateV2") && has("}DataObjectFormat"),
                    "{what}"
                );
                assert_eq!(has("}SignatureTimeStamp"), *rank >= 1, "{what}");
                assert_eq!(
                    has("}CertificateValues") && has("}RevocationValues"),
                    *rank >= 2,
                    "{what}"
                );
                assert_eq!(has("}ArchiveTimeStamp"), *rank >= 3, "{what}");
            }
        }
    }
    svc.stop().await;
}

/// signxml's XAdES verification of an enveloped or enveloping signature given only the
/// service's root (`tests/tools/signxml_verify.py`).
async fn signxml_verify(svc: &Service, signed: &[u8]) -> (bool, String) {
    use qsign::pki::Ca;
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root_file = dir.path().join("root.pem");
    std::fs::write(&root_file, support::cert_pem(&root)).unwrap();
    let signed_file = dir.path().join("signed.xml");
    std::fs::write(&signed_file, signed).unwrap();
    let out = support::run(
        std::process::Command::new(crate::pades::python())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/tools/signxml_verify.py"
            ))
            .arg(&signed_file)
            .arg(&root_file),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.starts_with("OK"), text)
}

/// SQL on the service's own SQLite database, as a database writer without the HSM has it.
pub(crate) async fn sql(svc: &Service, statement: &str, binds: &[&str]) {
    let url = format!("sqlite://{}", svc.dir.path().join("t.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()));
    for b in binds {
        query = query.bind(*b);
    }
    query.execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_writer_without_the_hsm_cannot_log_in_as_someone_else_or_sign() {
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_rs::prelude::{RequestChallengeResponse, Url};

    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let mallory = person(&svc, "mallory").await;
    let origin = Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap();
    let mut mallorys_key = SoftPasskey::new(true);
    let _ = passkey_login(&svc, &mallory, &mut mallorys_key, &origin).await;
    let karen_id = svc
        .store
        .person_by_username("karen")
        .await
        .unwrap()
        .unwrap()
        .id;
    let mallory_id = svc
        .store
        .person_by_username("mallory")
        .await
        .unwrap()
        .unwrap()
        .id;
    let password_login = |who: &str| {
        let form = [
            ("grant_type", "password"),
            ("username", who.to_owned().leak() as &str),
            ("password", PASSWORD),
        ];
        let svc = &svc;
        async move {
            reqwest::Client::new()
                .post(svc.url("/idp/token"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(password_login("karen").await, 200);

    // 1. Mallory's password hash (and its tag) copied into Karen's row: the tag names
    //    Mallory, so Karen's account does not open with Mallory's password.
    let (hash, mac): (String, Vec<u8>) = {
        let url = format!("sqlite://{}", svc.dir.path().join("t.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let row = sqlx::query_as("SELECT password_hash, password_mac FROM persons WHERE id = $1")
            .bind(&mallory_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row
    };
    let (original_hash, original_mac): (String, Vec<u8>) = {
        let url = format!("sqlite://{}", svc.dir.path().join("t.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let row = sqlx::query_as("SELECT password_hash, password_mac FROM persons WHERE id = $1")
            .bind(&karen_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row
    };
    sql(
        &svc,
        "UPDATE persons SET password_hash = $1, password_mac = x'00' WHERE id = $2",
        &[&hash, &karen_id],
    )
    .await;
    assert_eq!(
        password_login("karen").await,
        400,
        "a copied hash without its tag"
    );
    sql(
        &svc,
        &format!(
            "UPDATE persons SET password_hash = $1, password_mac = x'{}' WHERE id = $2",
            hex::encode(&mac)
        ),
        &[&hash, &karen_id],
    )
    .await;
    assert_eq!(
        password_login("karen").await,
        400,
        "a copied hash with Mallory's tag"
    );
    sql(
        &svc,
        &format!(
            "UPDATE persons SET password_hash = $1, password_mac = x'{}' WHERE id = $2",
            hex::encode(&original_mac)
        ),
        &[&original_hash, &karen_id],
    )
    .await;
    assert_eq!(
        password_login("karen").await,
        200,
        "Karen's own row still works"
    );

    // 2. Mallory's passkey moved to Karen: Karen's account does not take it.
    sql(
        &svc,
        "UPDATE passkeys SET person_id = $1 WHERE person_id = $2",
        &[&karen_id, &mallory_id],
    )
    .await;
    let (_, start) = csc_free(
        &svc,
        "/idp/passkeys/login/start",
        &json!({"username": "karen"}),
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    // The moved passkey is not offered: the answer is a decoy, so the authenticator holds
    // none of its credentials.
    assert!(
        mallorys_key
            .do_authentication(origin.clone(), options)
            .is_err(),
        "the moved passkey was offered for Karen"
    );

    // 3. Karen's credentials moved to Mallory: Mallory cannot see or use them.
    let karens = karen.login(&svc, true).await;
    // (An enrolment code written by SQL binds no passkey.)
    let forged = qsign::identity::passkey::enrolment_code_hash("FORGED-CODE");
    sql(
        &svc,
        "INSERT INTO enrolment_codes (code_hash, person_id, created_at, expires_at) \
         VALUES ($1, $2, 0, 4102444800)",
        &[&forged, &karen_id],
    )
    .await;
    let r = reqwest::Client::new()
        .post(svc.url("/idp/passkeys/register/start"))
        .bearer_auth(&karens)
        .json(&json!({"enrolment_code": "FORGED-CODE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a forged enrolment code was accepted");
    let advanced = credential(&svc, &karens, "advanced").await;
    sql(
        &svc,
        "UPDATE credentials SET person = $1 WHERE person = $2",
        &[&mallory_id, &karen_id],
    )
    .await;
    svc.clock.advance(30);
    let mallorys = mallory.login(&svc, true).await;
    let (_, list) = csc(&svc, "credentials/list", &mallorys, &json!({})).await;
    assert!(
        !list.to_string().contains(&advanced),
        "Mallory lists Karen's credential: {list}"
    );
    svc.clock.advance(30);
    refused(
        &authorize_totp(
            &svc,
            &mallorys,
            &advanced,
            &hashes_of(&[b"x"]),
            1,
            &mallory.code(&svc),
        )
        .await,
        404,
        "credential_not_found",
    );
    // A policy raised by SQL is refused too (the row no longer matches its tag).
    sql(
        &svc,
        "UPDATE credentials SET person = $1, policy = 'qualified' WHERE id = $2",
        &[&karen_id, &advanced],
    )
    .await;
    svc.clock.advance(30);
    refused(
        &authorize_totp(
            &svc,
            &karens,
            &advanced,
            &hashes_of(&[b"x"]),
            1,
            &karen.code(&svc),
        )
        .await,
        404,
        "credential_not_found",
    );
    // A revoked credential set back to active by SQL: its tag covers the status.
    let mallorys_own = credential(&svc, &mallorys, "advanced").await;
    let r = reqwest::Client::new()
        .post(svc.url(&format!("/v1/credentials/{mallorys_own}/revoke")))
        .bearer_auth(&mallorys)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sql(
        &svc,
        "UPDATE credentials SET status = 'active' WHERE id = $1",
        &[&mallorys_own],
    )
    .await;
    svc.clock.advance(30);
    refused(
        &authorize_totp(
            &svc,
            &mallorys,
            &mallorys_own,
            &hashes_of(&[b"x"]),
            1,
            &mallory.code(&svc),
        )
        .await,
        404,
        "credential_not_found",
    );
    svc.stop().await;
}

/// A JSON post without a token.
async fn csc_free(svc: &Service, path: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(svc.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_work_needs_a_valid_sad_and_uploads_need_substantial() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    // A forged SAD with a PDF that would take work to prepare: refused on the SAD, and no
    // document is read (a broken PDF would otherwise answer pdf_malformed).
    let forged = json!({"credentialID": advanced, "SAD": "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
        "documents": [{"document": b64(b"%PDF-1.7 broken"), "signature_format": "P"}]});
    let (status, body) = csc(&svc, "signatures/signDoc", &token, &forged).await;
    assert_eq!(status, 400, "{body}");
    assert_ne!(body["error"], "pdf_malformed", "{body}");
    assert_eq!(audit_events(&svc, "signature_refused").await.len(), 1);
    // A password alone (Low) cannot upload documents.
    let low = karen.login(&svc, false).await;
    let r = reqwest::Client::new()
        .post(svc.url("/v1/documents?format=cades-detached"))
        .bearer_auth(&low)
        .body(b"contract".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_loa");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_bounded_per_person_and_public_endpoints_per_address() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let client = reqwest::Client::new();
    let upload = |n: usize| {
        client
            .post(svc.url("/v1/documents?format=cades-detached"))
            .bearer_auth(&token)
            .body(format!("contract {n}"))
            .send()
    };
    for n in 0..20 {
        assert_eq!(upload(n).await.unwrap().status(), 201);
    }
    let over = upload(20).await.unwrap();
    assert_eq!(over.status(), 429);
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["error"], "quota_exceeded");
    // Anonymous validation from one address: a burst of 40 is allowed, then the address
    // slows down (20 per second by default).
    let mut limited = 0;
    for _ in 0..60 {
        let r = client
            .post(svc.url("/v1/validate"))
            .body(b"not a signature".to_vec())
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "rate_limited");
            limited += 1;
        }
    }
    assert!(limited >= 10, "{limited} of 60 limited");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_and_recreate_loop_cannot_grow_the_crl_without_end() {
    let svc = Service::start().await;
    let _karen = person(&svc, "karen").await;
    let id = svc
        .store
        .person_by_username("karen")
        .await
        .unwrap()
        .unwrap()
        .id;
    let owner = qsign::keys::Owner {
        id: qsign::types::PersonId::parse(&id).unwrap(),
        given_name: "Karen".into(),
        family_name: "Blixen".into(),
    };
    let ctx = Context::system();
    let mut made = 0;
    let refused = loop {
        match svc.keys.ensure(&owner, &ctx, svc.now()).await {
            Ok(list) => {
                for c in list
                    .iter()
                    .filter(|c| c.status != qsign::keys::Status::Revoked)
                {
                    svc.keys
                        .revoke_credential(c, &ctx, svc.now())
                        .await
                        .unwrap();
                    made += 1;
                }
            }
            Err(e) => break e,
        }
        assert!(made <= 20, "no bound on new credentials");
    };
    assert!(
        matches!(refused, qsign::keys::Error::TooMany(10)),
        "{refused}"
    );
    assert_eq!(made, 10);
    // A day later the person may have new ones again.
    svc.clock.advance(86_401);
    assert!(svc.keys.ensure(&owner, &ctx, svc.now()).await.is_ok());
    svc.stop().await;
}

/// A CSC body that does not fit its type is refused 400 `invalid_request` in the error
/// envelope, and `error_description` names the member: a wrong type, a missing field, an
/// element of an array, a member of a nested object. A body that is not sent as JSON is
/// `unsupported_media_type`; `credentials/list` still takes no body at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_fit_is_refused_naming_the_member() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let hashes = hashes_of(&[b"contract"]);
    let cases = [
        (
            "signatures/signHash",
            json!({"credentialID": 42, "hashes": hashes, "signAlgo": ECDSA_SHA256}),
            "credentialID: invalid type: integer `42`, expected a string",
        ),
        (
            "signatures/signHash",
            json!({"credentialID": "c", "hashes": hashes, "hashAlgorithmOID": SHA256}),
            "missing field `signAlgo`",
        ),
        (
            "signatures/signHash",
            json!({"credentialID": "c", "hashes": [1], "signAlgo": ECDSA_SHA256}),
            "hashes[0]: invalid type: integer `1`",
        ),
        (
            "credentials/authorize",
            json!({"credentialID": "c", "hashes": hashes, "authData": [{"id": "OTP"}]}),
            "authData[0]: missing field `value`",
        ),
        (
            "signatures/signDoc",
            json!({"credentialID": "c", "documents": [{"signature_format": "C"}]}),
            "documents[0]: missing field `document`",
        ),
        (
            "credentials/list",
            json!({"maxResults": "ten"}),
            "maxResults: invalid type: string \"ten\", expected u32",
        ),
    ];
    for (method, body, expected) in cases {
        let reply = csc(&svc, method, &token, &body).await;
        refused(&reply, 400, "invalid_request");
        let description = reply.1["error_description"].as_str().unwrap();
        assert!(
            description.contains(expected),
            "{method} {body}: {description}"
        );
        assert!(
            reply.1["support_ref"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{}",
            reply.1
        );
    }
    assert!(audit_events(&svc, "signature_refused").await.is_empty());

    let client = reqwest::Client::new();
    let not_json = client
        .post(svc.url("/csc/v2/signatures/signHash"))
        .bearer_auth(&token)
        .body(format!(
            r#"{{"credentialID": "c", "signAlgo": "{ECDSA_SHA256}"}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_media_type", "{body}");
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| d.contains("application/json")));

    let no_body = client
        .post(svc.url("/csc/v1/credentials/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(no_body.status(), 200);
    let list: Value = no_body.json().await.unwrap();
    assert!(list["credentialIDs"].is_array(), "{list}");
    assert!(list.get("credentialInfos").is_none(), "{list}");
    svc.stop().await;
}
