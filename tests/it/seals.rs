//! Seals for machines (CSC API v2 §8.5) over real HTTP: an administrator at High registers a
//! system client with its public key; the client gets a DPoP-bound token with
//! `client_credentials` and `private_key_jwt`, and signs a thousand hashes with its
//! organisation's seal in batches within its quota, each signature verified by openssl with
//! the seal's certificate, which openssl chains to the root. Refused: a batch over the quota,
//! authorizations over the rate, another organisation's seal, a replayed or forged assertion,
//! the client's token where a person acts, and everything once the client is removed. The
//! organisation's audit trail names the client as the actor of each signature.

use std::process::Command;

use p256::ecdsa::SigningKey;
use serde_json::{json, Value};

use crate::oauth2::{assertion, jwk_of, send, thumbprint_of, DpopKey};
use crate::orgs::{get, post, Person};
use crate::signing::{hashes_of, refused, unb64};
use crate::support::{self, Service};

const CVR: &str = "35408002";
const OTHER_CVR: &str = "25313763";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An organisation registered by the operator with its administrator and its seal; answers
/// the administrator and the seal's credential id.
async fn organisation_with_seal(
    svc: &Service,
    cvr: &str,
    name: &str,
    admin: &str,
) -> (Person, String) {
    let admin = Person::new(admin, "Astrid", "Admin");
    let (_, username) = admin.provision(svc).await;
    svc.service
        .orgs
        .create_organisation(cvr, name, &username)
        .await
        .unwrap();
    let (status, seal) = post(
        svc,
        &format!("/v1/orgs/{cvr}/seal"),
        &admin.token(svc, None),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{seal}");
    (admin, seal["credentialID"].as_str().unwrap().to_owned())
}

/// Registers a system client of `cvr` with `key`, by the token `by`.
async fn register(
    svc: &Service,
    by: &str,
    cvr: &str,
    client: &str,
    key: &SigningKey,
    (quota, rate): (u32, u32),
) -> (u16, Value) {
    post(
        svc,
        &format!("/v1/orgs/{cvr}/clients"),
        by,
        &json!({"client_id": client, "jwk": jwk_of(key),
            "max_signatures_per_authorization": quota, "authorizations_per_minute": rate}),
    )
    .await
}

/// The token endpoint's answer to a client-credentials request with this assertion, bound to
/// `dpop`'s key when given.
async fn client_credentials(
    svc: &Service,
    client: &str,
    signed: &str,
    dpop: Option<&DpopKey>,
) -> (u16, Value) {
    let url = svc.url("/idp/token");
    let mut request = reqwest::Client::new().post(url.as_str()).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", signed),
    ]);
    if let Some(key) = dpop {
        request = request.header("DPoP", key.proof(svc, "POST", &url, None));
    }
    let (status, body, _) = send(request).await;
    (status, body)
}

/// A system client with its DPoP-bound access token.
struct Machine {
    id: String,
    key: SigningKey,
    dpop: DpopKey,
    token: String,
}

impl Machine {
    /// Gets a token with `client_credentials`, `private_key_jwt` and a DPoP proof.
    async fn log_in(svc: &Service, id: &str, key: SigningKey) -> Self {
        let dpop = DpopKey::new(0x44);
        let signed = assertion(
            &key,
            id,
            &svc.url("/idp/token"),
            svc.now() + 60,
            &uuid::Uuid::new_v4().to_string(),
        );
        let (status, issued) = client_credentials(svc, id, &signed, Some(&dpop)).await;
        assert_eq!(status, 200, "{issued}");
        assert_eq!(issued["token_type"], "DPoP");
        assert_eq!(issued["scope"], "service");
        Self {
            id: id.to_owned(),
            key,
            dpop,
            token: issued["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A CSC call with the token and a fresh proof.
    async fn csc(&self, svc: &Service, method: &str, body: &Value) -> (u16, Value) {
        let url = svc.url(&format!("/csc/v2/{method}"));
        let proof = self
            .dpop
            .proof(svc, "POST", &url, Some(self.token.as_str()));
        let (status, body, _) = send(
            reqwest::Client::new()
                .post(url.as_str())
                .header("Authorization", format!("DPoP {}", self.token))
                .header("DPoP", proof)
                .json(body),
        )
        .await;
        (status, body)
    }

    async fn authorize(&self, svc: &Service, seal: &str, hashes: &[String]) -> (u16, Value) {
        self.csc(
            svc,
            "credentials/authorize",
            &json!({"credentialID": seal, "numSignatures": hashes.len(), "hashes": hashes,
                "hashAlgorithmOID": SHA256, "description": "invoices"}),
        )
        .await
    }

    async fn sign(
        &self,
        svc: &Service,
        seal: &str,
        sad: &Value,
        hashes: &[String],
    ) -> (u16, Value) {
        self.csc(
            svc,
            "signatures/signHash",
            &json!({"credentialID": seal, "SAD": sad, "hashes": hashes,
                "hashAlgorithmOID": SHA256, "signAlgo": ECDSA_SHA256}),
        )
        .await
    }
}

/// openssl checks that `certificate` chains to `root` through `issuing`, and every signature
/// over its document with the certificate's key: one process per signature, in one shell.
fn openssl_verifies_all(
    svc: &Service,
    chain: &[Vec<u8>],
    documents: &[Vec<u8>],
    signatures: &[Vec<u8>],
) {
    let dir = svc
        .dir
        .path()
        .join(format!("seal-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, der) in ["seal.pem", "issuing.pem", "root.pem"].iter().zip(chain) {
        std::fs::write(dir.join(name), support::cert_pem(der)).unwrap();
    }
    let out = support::run(Command::new("openssl").current_dir(&dir).args([
        "verify",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "issuing.pem",
        "seal.pem",
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("seal.pem: OK"),
        "{text}"
    );
    let out = support::run(Command::new("openssl").current_dir(&dir).args([
        "x509", "-in", "seal.pem", "-pubkey", "-noout", "-out", "seal.pub",
    ]));
    assert!(out.status.success());
    for (i, (document, signature)) in documents.iter().zip(signatures).enumerate() {
        std::fs::write(dir.join(format!("d{i}.bin")), document).unwrap();
        std::fs::write(dir.join(format!("s{i}.sig")), signature).unwrap();
    }
    let script = format!(
        "n=0; i=0; while [ $i -lt {} ]; do \
         openssl dgst -sha256 -verify seal.pub -signature s$i.sig d$i.bin >/dev/null 2>&1 \
         && n=$((n+1)); i=$((i+1)); done; echo $n",
        signatures.len()
    );
    let out = support::run(
        Command::new("sh")
            .current_dir(&dir)
            .args(["-c", script.as_str()]),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        signatures.len().to_string(),
        "signatures openssl verified"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_client_seals_a_thousand_hashes_in_batches_and_is_the_audited_actor() {
    let svc = Service::start().await;
    let (admin, seal) = organisation_with_seal(&svc, CVR, "Rungstedlund A/S", "admin-1").await;
    let key = SigningKey::from_slice(&[0x31; 32]).unwrap();
    let client = "invoicing-1";

    // Registering needs a High login of an administrator of the organisation.
    refused(
        &register(&svc, &admin.substantial(&svc), CVR, client, &key, (100, 20)).await,
        403,
        "insufficient_loa",
    );
    let clerk = Person::new("clerk-1", "Carl", "Clerk");
    clerk.provision(&svc).await;
    refused(
        &register(&svc, &clerk.token(&svc, None), CVR, client, &key, (100, 20)).await,
        403,
        "forbidden",
    );
    let mut private = json!({"client_id": client, "max_signatures_per_authorization": 100,
        "authorizations_per_minute": 20, "jwk": jwk_of(&key)});
    private["jwk"]["d"] = json!("c2VjcmV0");
    refused(
        &post(
            &svc,
            &format!("/v1/orgs/{CVR}/clients"),
            &admin.token(&svc, None),
            &private,
        )
        .await,
        400,
        "invalid_request",
    );
    let (status, registered) =
        register(&svc, &admin.token(&svc, None), CVR, client, &key, (100, 20)).await;
    assert_eq!(status, 201, "{registered}");
    assert_eq!(registered["jkt"], thumbprint_of(&key));
    assert_eq!(registered["max_signatures_per_authorization"], 100);
    refused(
        &register(&svc, &admin.token(&svc, None), CVR, client, &key, (100, 20)).await,
        409,
        "already_exists",
    );
    let (status, listed) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/clients"),
        &admin.token(&svc, None),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["clients"][0]["client_id"], client);

    // The client's token, and its seal (only): activated by the client itself.
    let machine = Machine::log_in(&svc, client, key).await;
    let (status, list) = machine
        .csc(
            &svc,
            "credentials/list",
            &json!({"credentialInfo": true, "certificates": "chain", "authInfo": true}),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["credentialIDs"], json!([seal]));
    let info = &list["credentialInfos"][0];
    assert_eq!(
        (info["kind"].as_str(), info["authMode"].as_str()),
        (Some("seal"), Some("implicit"))
    );
    let chain: Vec<Vec<u8>> = info["cert"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(unb64)
        .collect();
    assert_eq!(chain.len(), 3);

    // A thousand hashes, in ten authorizations of a hundred.
    let documents: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("invoice {i:04}").into_bytes())
        .collect();
    let mut signatures = Vec::with_capacity(documents.len());
    for batch in documents.chunks(100) {
        let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
        let hashes = hashes_of(&refs);
        let (status, authorized) = machine.authorize(&svc, &seal, &hashes).await;
        assert_eq!(status, 200, "{authorized}");
        let (status, signed) = machine.sign(&svc, &seal, &authorized["SAD"], &hashes).await;
        assert_eq!(status, 200, "{signed}");
        // The SAD is spent.
        refused(
            &machine
                .sign(&svc, &seal, &authorized["SAD"], &hashes[..1])
                .await,
            400,
            "sad_used",
        );
        signatures.extend(signed["signatures"].as_array().unwrap().iter().map(unb64));
    }
    assert_eq!(signatures.len(), 1000);
    openssl_verifies_all(&svc, &chain, &documents, &signatures);

    // A batch over the quota is refused, and so is asking for more signatures than that.
    let over: Vec<Vec<u8>> = (0..101)
        .map(|i| format!("extra {i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = over.iter().map(Vec::as_slice).collect();
    refused(
        &machine.authorize(&svc, &seal, &hashes_of(&refs)).await,
        429,
        "quota_exceeded",
    );
    let one = hashes_of(&[b"one more"]);
    refused(
        &machine
            .csc(
                &svc,
                "credentials/authorize",
                &json!({"credentialID": seal, "numSignatures": 500,
                "hashes": one, "hashAlgorithmOID": SHA256}),
            )
            .await,
        429,
        "quota_exceeded",
    );
    // A factor is not the client's to send.
    refused(
        &machine
            .csc(
                &svc,
                "credentials/authorize",
                &json!({"credentialID": seal, "hashes": one,
                "authData": [{"id": "OTP", "value": "123456"}]}),
            )
            .await,
        400,
        "invalid_request",
    );

    // The organisation's audit trail names the client as the actor of each signature.
    let (status, audit) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/audit?limit=300"),
        &admin.token(&svc, None),
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let records = audit["records"].as_array().unwrap();
    let by_client = |event: &str| {
        records
            .iter()
            .filter(|r| r["event"] == event && r["actor"] == format!("client:{client}"))
            .count()
    };
    assert!(by_client("signature_made") >= 200, "{audit}");
    assert!(by_client("sad_issued") >= 2, "{audit}");
    assert!(records
        .iter()
        .filter(|r| r["event"] == "sad_issued")
        .all(|r| r["details"]["factor"] == "client" && r["details"]["scal"] == "1"));
    // In the whole log: every signature by the client, under the organisation; the
    // registration by the administrator.
    let rows = svc.store.audit_range(1, i64::MAX).await.unwrap();
    let org = format!("org:{CVR}");
    let signed_by_client = rows
        .iter()
        .filter(|r| {
            r.event == "signature_made"
                && r.actor == format!("client:{client}")
                && r.subject.as_deref() == Some(org.as_str())
        })
        .count();
    assert_eq!(signed_by_client, 1000);
    let registration = rows
        .iter()
        .find(|r| r.event == "client_registered")
        .unwrap();
    assert!(
        registration.actor.starts_with("person:"),
        "{}",
        registration.actor
    );

    // The client's token acts for no person: the native API and the person-only CSC calls
    // refuse it.
    let url = svc.url("/v1/credentials");
    let proof = machine
        .dpop
        .proof(&svc, "GET", &url, Some(machine.token.as_str()));
    let (status, body, _) = send(
        reqwest::Client::new()
            .get(url.as_str())
            .header("Authorization", format!("DPoP {}", machine.token))
            .header("DPoP", proof),
    )
    .await;
    refused(&(status, body), 401, "invalid_token");
    refused(
        &machine
            .csc(
                &svc,
                "credentials/getChallenge",
                &json!({"credentialID": seal, "hashes": one}),
            )
            .await,
        401,
        "invalid_token",
    );
    // Without its proof the token is nothing.
    refused(
        &crate::signing::csc(&svc, "credentials/list", &machine.token, &json!({})).await,
        401,
        "invalid_token",
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_client_uses_its_own_organisations_seal_and_nothing_else() {
    let svc = Service::start().await;
    let (admin, seal) = organisation_with_seal(&svc, CVR, "Rungstedlund A/S", "admin-a").await;
    let (other_admin, other_seal) =
        organisation_with_seal(&svc, OTHER_CVR, "Other ApS", "admin-b").await;
    let key = SigningKey::from_slice(&[0x32; 32]).unwrap();
    let (status, body) = register(
        &svc,
        &admin.token(&svc, None),
        CVR,
        "a-client",
        &key,
        (10, 10),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // An administrator of another organisation cannot register a client for this one.
    let intruder = SigningKey::from_slice(&[0x33; 32]).unwrap();
    refused(
        &register(
            &svc,
            &other_admin.token(&svc, None),
            CVR,
            "b-client",
            &intruder,
            (10, 10),
        )
        .await,
        403,
        "forbidden",
    );
    let machine = Machine::log_in(&svc, "a-client", key).await;
    let hashes = hashes_of(&[b"contract"]);

    // The other organisation's seal does not exist for this client.
    refused(
        &machine
            .csc(
                &svc,
                "credentials/info",
                &json!({"credentialID": other_seal}),
            )
            .await,
        404,
        "credential_not_found",
    );
    refused(
        &machine.authorize(&svc, &other_seal, &hashes).await,
        404,
        "credential_not_found",
    );
    let (status, own) = machine.authorize(&svc, &seal, &hashes).await;
    assert_eq!(status, 200, "{own}");
    refused(
        &machine.sign(&svc, &other_seal, &own["SAD"], &hashes).await,
        404,
        "credential_not_found",
    );
    // Nor does the administrator's personal credential.
    let (status, list) = crate::signing::csc(
        &svc,
        "credentials/list",
        &admin.token(&svc, None),
        &json!({"credentialInfo": true}),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let personal = list["credentialInfos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "personal")
        .map(|c| c["credentialID"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{list}"));
    refused(
        &machine.authorize(&svc, &personal, &hashes).await,
        404,
        "credential_not_found",
    );
    // The client's own SAD still signs with its own seal.
    let (status, signed) = machine.sign(&svc, &seal, &own["SAD"], &hashes).await;
    assert_eq!(status, 200, "{signed}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_client_is_held_to_its_key_its_rate_and_its_registration() {
    let svc = Service::start().await;
    let (admin, seal) = organisation_with_seal(&svc, CVR, "Rungstedlund A/S", "admin-1").await;
    let key = SigningKey::from_slice(&[0x34; 32]).unwrap();
    let (status, body) = register(
        &svc,
        &admin.token(&svc, None),
        CVR,
        "batch-1",
        &key,
        (10, 2),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token_url = svc.url("/idp/token");

    // An assertion signed by another key, for another audience, expired, or used twice.
    let wrong = SigningKey::from_slice(&[0x35; 32]).unwrap();
    let later = svc.now() + 60;
    let forged = assertion(&wrong, "batch-1", &token_url, later, "j-1");
    refused(
        &client_credentials(&svc, "batch-1", &forged, None).await,
        401,
        "invalid_client",
    );
    let elsewhere = assertion(
        &key,
        "batch-1",
        "https://elsewhere.example/token",
        later,
        "j-2",
    );
    refused(
        &client_credentials(&svc, "batch-1", &elsewhere, None).await,
        401,
        "invalid_client",
    );
    let expired = assertion(&key, "batch-1", &token_url, svc.now() - 120, "j-3");
    refused(
        &client_credentials(&svc, "batch-1", &expired, None).await,
        401,
        "invalid_client",
    );
    let good = assertion(&key, "batch-1", &token_url, later, "j-4");
    let (status, issued) = client_credentials(&svc, "batch-1", &good, None).await;
    assert_eq!(
        (status, issued["token_type"].as_str()),
        (200, Some("Bearer")),
        "{issued}"
    );
    refused(
        &client_credentials(&svc, "batch-1", &good, None).await,
        401,
        "invalid_client",
    );
    // An unknown client, and a system client without an assertion.
    let stranger = assertion(&key, "nobody", &token_url, later, "j-5");
    refused(
        &client_credentials(&svc, "nobody", &stranger, None).await,
        401,
        "invalid_client",
    );
    let (status, body) = crate::oauth2::form(
        &svc,
        "/idp/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "batch-1"),
        ],
    )
    .await;
    refused(&(status, body), 401, "invalid_client");

    // Two authorizations a minute, then rate_limited (counted from the start of a minute).
    let into = svc.now().rem_euclid(60);
    if into > 45 {
        svc.clock.advance(60 - into);
    }
    let machine = Machine::log_in(&svc, "batch-1", key).await;
    for i in 0..2 {
        let hashes = hashes_of(&[format!("batch {i}").as_bytes()]);
        let (status, body) = machine.authorize(&svc, &seal, &hashes).await;
        assert_eq!(status, 200, "{body}");
    }
    let hashes = hashes_of(&[b"batch 3"]);
    refused(
        &machine.authorize(&svc, &seal, &hashes).await,
        429,
        "rate_limited",
    );
    assert!(crate::signing::audit_events(&svc, "activation_refused")
        .await
        .iter()
        .any(|e| e["reason"] == "rate_limited"));

    // Removed by an administrator (High): its token and its key stop working at once.
    let (status, body, _) = send(
        reqwest::Client::new()
            .delete(svc.url(&format!("/v1/orgs/{CVR}/clients/{}", machine.id)))
            .bearer_auth(admin.token(&svc, None)),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    refused(
        &machine.csc(&svc, "credentials/list", &json!({})).await,
        401,
        "invalid_token",
    );
    let again = assertion(&machine.key, "batch-1", &token_url, svc.now() + 60, "j-6");
    refused(
        &client_credentials(&svc, "batch-1", &again, None).await,
        401,
        "invalid_client",
    );
    let (status, listed) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/clients"),
        &admin.token(&svc, None),
    )
    .await;
    assert_eq!(
        (status, listed["clients"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    assert_eq!(
        crate::signing::audit_events(&svc, "client_removed")
            .await
            .len(),
        1
    );
    svc.stop().await;
}
