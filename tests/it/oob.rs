//! Approval on the person's phone, end to end over real HTTP: a relying party (a CSC client
//! with the person's High access token) asks with `credentials/authorize` and `"authMode":
//! "oob"` (202 and a handle; nothing activated), polls `credentials/authorizeCheck` (202 while
//! pending), the person approves on a second device (another HTTP client with its own web
//! session, logged in with a software passkey) with a passkey assertion over the hashes, and the
//! relying party collects the SAD once and signs with it (openssl verifies). Every attack has its
//! refusal: another person, another token, a lower session level, an assertion over other
//! hashes, a second collection, a second decision, a refused and an expired request.

use serde_json::{json, Value};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_rs::prelude::{RequestChallengeResponse, Url};

use crate::signing::{
    audit_events, certificate, credential, csc, hashes_of, openssl_verifies, passkey_login, person,
    refused, unb64, PASSWORD,
};
use crate::support::{self, Service};

const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

/// A page of the service under `localhost` (passkeys need a domain name).
fn page(svc: &Service, path: &str) -> String {
    svc.url(path).replace("127.0.0.1", "localhost")
}

/// The value of a cookie a response sets.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&prefix))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
}

/// A browser on a device of its own: its session cookie (once logged in) and its
/// anti-forgery token.
struct Phone {
    client: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Phone {
    /// A new visitor: the anti-forgery token the service hands out, no session.
    async fn visitor(svc: &Service) -> Self {
        let client = support::no_redirects();
        let r = client.get(page(svc, "/")).send().await.unwrap();
        let csrf = set_cookie(&r, "qsign_csrf").expect("a visitor gets the anti-forgery cookie");
        Self {
            client,
            cookie: format!("qsign_csrf={csrf}"),
            csrf,
        }
    }

    /// Logs in on the page with the passkey and the password (High).
    async fn with_passkey(
        svc: &Service,
        username: &str,
        authenticator: &mut SoftPasskey,
        origin: &Url,
    ) -> Self {
        let visitor = Self::visitor(svc).await;
        let (status, start) = visitor
            .post(
                svc,
                "/web/passkey/login/start",
                &json!({"username": username}),
            )
            .await;
        assert_eq!(status, 200, "{start}");
        let options: RequestChallengeResponse =
            serde_json::from_value(start["options"].clone()).unwrap();
        let assertion = authenticator
            .do_authentication(origin.clone(), options)
            .unwrap();
        let r = visitor
            .client
            .post(page(svc, "/web/passkey/login/finish"))
            .header("cookie", &visitor.cookie)
            .header("x-csrf-token", &visitor.csrf)
            .json(&json!({"username": username, "state": start["state"],
                "credential": assertion, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        visitor.logged_in(&r)
    }

    /// Logs in on the page with the password and a one-time code (Substantial).
    async fn with_code(svc: &Service, username: &str, code: &str) -> Self {
        let visitor = Self::visitor(svc).await;
        let r = visitor
            .client
            .post(page(svc, &format!("/login?csrf={}", visitor.csrf)))
            .header("cookie", &visitor.cookie)
            .form(&[
                ("username", username),
                ("password", PASSWORD),
                ("otp", code),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        visitor.logged_in(&r)
    }

    fn logged_in(self, response: &reqwest::Response) -> Self {
        let session = set_cookie(response, "qsign_session").expect("a session cookie");
        Self {
            cookie: format!("qsign_session={session}; qsign_csrf={}", self.csrf),
            ..self
        }
    }

    /// A page: its status and HTML.
    async fn get(&self, svc: &Service, path: &str, language: &str) -> (u16, String) {
        let r = self
            .client
            .get(page(svc, path))
            .header("cookie", &self.cookie)
            .header("accept-language", language)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A script's JSON call with the anti-forgery header.
    async fn post(&self, svc: &Service, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(page(svc, path))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A form post without script (the token in the action): the status, where it
    /// redirects, and the JSON error body if any.
    async fn submit(&self, svc: &Service, path: &str) -> (u16, String, Value) {
        let r = self
            .client
            .post(page(svc, &format!("{path}?csrf={}", self.csrf)))
            .header("cookie", &self.cookie)
            .form(&[("confirm", "1")])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        (
            status,
            location,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// Approves a request with the passkey, as the page's script does: the challenge over
    /// the request's hashes, the assertion, the finish.
    async fn approve(
        &self,
        svc: &Service,
        id: &str,
        authenticator: &mut SoftPasskey,
        origin: &Url,
    ) -> (u16, Value) {
        let (status, start) = self
            .post(svc, &format!("/approvals/{id}/passkey/start"), &json!({}))
            .await;
        if status != 200 {
            return (status, start);
        }
        let options: RequestChallengeResponse =
            serde_json::from_value(start["options"].clone()).unwrap();
        let assertion = authenticator
            .do_authentication(origin.clone(), options)
            .unwrap();
        self.post(
            svc,
            &format!("/approvals/{id}/passkey/finish"),
            &json!({"state": start["state"], "assertion": assertion}),
        )
        .await
    }
}

/// The relying party asks for approval of `hashes` on the person's phone.
async fn ask(
    svc: &Service,
    token: &str,
    credential: &str,
    hashes: &[String],
    labels: &[&str],
) -> (u16, Value) {
    csc(
        svc,
        "credentials/authorize",
        token,
        &json!({"credentialID": credential, "numSignatures": hashes.len(), "hashes": hashes,
            "hashAlgorithmOID": SHA256, "description": "lease and annex",
            "authMode": "oob", "labels": labels}),
    )
    .await
}

/// `credentials/authorizeCheck` with a handle.
async fn check(svc: &Service, token: &str, handle: &str) -> (u16, Value) {
    csc(
        svc,
        "credentials/authorizeCheck",
        token,
        &json!({"handle": handle}),
    )
    .await
}

fn hex_of(doc: &[u8]) -> String {
    hex::encode(support::sha256(doc))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_on_the_persons_phone_gives_the_relying_party_one_sad_that_signs() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let bob = person(&svc, "bob").await;
    let origin = Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap();
    let mut passkey = SoftPasskey::new(true);
    // The relying party holds Karen's High access token.
    let relying_party = passkey_login(&svc, &karen, &mut passkey, &origin).await;
    let qualified = credential(&svc, &relying_party, "qualified").await;
    let (info_status, info) = csc(&svc, "info", &relying_party, &json!({})).await;
    assert_eq!(info_status, 200);
    assert!(info["methods"]
        .as_array()
        .unwrap()
        .contains(&json!("credentials/authorizeCheck")));

    // The request: 202, a handle, the time the person has and the page to show; nothing is
    // activated yet.
    let docs: [&[u8]; 2] = [b"lease of the farm", b"annex: the inventory"];
    let hashes = hashes_of(&docs);
    let labels = ["Lease.pdf", "<b>Annex</b>.pdf"];
    let (status, asked) = ask(&svc, &relying_party, &qualified, &hashes, &labels).await;
    assert_eq!(status, 202, "{asked}");
    let handle = asked["handle"].as_str().unwrap().to_owned();
    assert_eq!(
        asked["expiresIn"], 120,
        "signing.approval_lifetime_secs in the tests"
    );
    assert_eq!(
        asked["approvalURL"],
        format!("{}/approvals/{handle}", svc.base)
    );
    assert!(audit_events(&svc, "sad_issued").await.is_empty());
    let requested = audit_events(&svc, "approval_requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["request"], handle.as_str());
    assert_eq!(requested[0]["labels"], json!(labels));
    assert_eq!(
        requested[0]["hashes"],
        json!([hex_of(docs[0]), hex_of(docs[1])])
    );
    // Polling: still pending, the same handle.
    let (status, pending) = check(&svc, &relying_party, &handle).await;
    assert_eq!(
        (status, &pending["handle"]),
        (202, &json!(handle)),
        "{pending}"
    );
    // A factor with authMode oob, and labels without it, are refused.
    let mixed = csc(
        &svc,
        "credentials/authorize",
        &relying_party,
        &json!({"credentialID": qualified, "hashes": hashes, "authMode": "oob",
            "authData": [{"id": "OTP", "value": "123456"}]}),
    )
    .await;
    refused(&mixed, 400, "invalid_request");
    let (status, _) = ask(&svc, &relying_party, &qualified, &hashes, &["only one"]).await;
    assert_eq!(status, 400, "one label per hash");

    // Another person sees nothing of it and cannot decide it, on the pages or over CSC.
    let bobs_phone = Phone::with_code(&svc, "bob", &bob.code(&svc)).await;
    let (status, list) = bobs_phone.get(&svc, "/approvals", "en").await;
    assert_eq!(status, 200);
    assert!(
        !list.contains(&handle) && !list.contains("Lease.pdf"),
        "{list}"
    );
    let (status, _) = bobs_phone
        .get(&svc, &format!("/approvals/{handle}"), "en")
        .await;
    assert_eq!(status, 404);
    refused(
        &bobs_phone
            .post(
                &svc,
                &format!("/approvals/{handle}/passkey/start"),
                &json!({}),
            )
            .await,
        404,
        "not_found",
    );
    let (status, _, body) = bobs_phone
        .submit(&svc, &format!("/approvals/{handle}/refuse"))
        .await;
    refused(&(status, body), 404, "not_found");
    let bobs_token = bob.login(&svc, false).await;
    refused(&check(&svc, &bobs_token, &handle).await, 404, "not_found");
    // Nor does another token of Karen's collect it: only the one that asked.
    let other_token = karen.login(&svc, false).await;
    refused(&check(&svc, &other_token, &handle).await, 404, "not_found");

    // A session below the credential's level cannot approve it (the lower of the two logins
    // counts): Karen's phone logged in with password and code is Substantial.
    svc.clock.advance(30);
    let low_phone = Phone::with_code(&svc, "karen", &karen.code(&svc)).await;
    refused(
        &low_phone
            .post(
                &svc,
                &format!("/approvals/{handle}/passkey/start"),
                &json!({}),
            )
            .await,
        403,
        "insufficient_loa",
    );

    // Karen's phone: its own session, logged in with the passkey. The list shows the request:
    // the description, the credential, each label (as text) with its hex digest.
    let phone = Phone::with_passkey(&svc, "karen", &mut passkey, &origin).await;
    let (status, list) = phone.get(&svc, "/approvals", "en").await;
    assert_eq!(status, 200, "{list}");
    let (first, second) = (hex_of(docs[0]), hex_of(docs[1]));
    let link = format!("href=\"/approvals/{handle}\"");
    for shown in [
        "lease and annex",
        "Lease.pdf",
        "&#60;b&#62;Annex&#60;/b&#62;.pdf",
        "(personal)",
        first.as_str(),
        second.as_str(),
        link.as_str(),
    ] {
        assert!(list.contains(shown), "{shown} not in {list}");
    }
    assert!(!list.contains("<b>Annex</b>"), "markup is shown as text");
    let (_, danish) = phone.get(&svc, "/approvals", "da").await;
    assert!(
        danish.contains("lang=\"da\"") && danish.contains("Godkendelser, der venter på dig"),
        "{danish}"
    );
    let (status, one) = phone.get(&svc, &format!("/approvals/{handle}"), "en").await;
    assert_eq!(status, 200);
    assert!(
        one.contains("id=\"approve-request\"") && one.contains(&hex_of(docs[1])),
        "{one}"
    );

    // An assertion over other hashes does not approve this request: the challenge comes from
    // credentials/getChallenge for a different pair, the assertion is sent here.
    let other_docs: [&[u8]; 2] = [b"lease of the farm", b"a different annex"];
    let other = hashes_of(&other_docs);
    let (status, challenge) = csc(
        &svc,
        "credentials/getChallenge",
        &relying_party,
        &json!({"credentialID": qualified, "numSignatures": 2, "hashes": other,
            "hashAlgorithmOID": SHA256}),
    )
    .await;
    assert_eq!(status, 200, "{challenge}");
    let options: RequestChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    let assertion = passkey.do_authentication(origin.clone(), options).unwrap();
    refused(
        &phone
            .post(
                &svc,
                &format!("/approvals/{handle}/passkey/finish"),
                &json!({"state": challenge["challengeID"], "assertion": assertion}),
            )
            .await,
        400,
        "activation_failed",
    );
    assert!(audit_events(&svc, "sad_issued").await.is_empty());
    let (status, _) = check(&svc, &relying_party, &handle).await;
    assert_eq!(status, 202, "still pending");

    // The passkey over these hashes approves; the request leaves the list.
    let (status, approved) = phone.approve(&svc, &handle, &mut passkey, &origin).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["location"], "/approvals?done=approved");
    let (_, list) = phone.get(&svc, "/approvals?done=approved", "en").await;
    assert!(
        !list.contains(&handle) && list.contains("id=\"message\""),
        "{list}"
    );
    let (_, one) = phone.get(&svc, &format!("/approvals/{handle}"), "en").await;
    assert!(
        one.contains("approval-decided") && !one.contains("id=\"approve-request\""),
        "{one}"
    );
    // Decided once: neither a second approval nor a refusal.
    refused(
        &phone.approve(&svc, &handle, &mut passkey, &origin).await,
        409,
        "authorization_closed",
    );
    let (status, _, body) = phone
        .submit(&svc, &format!("/approvals/{handle}/refuse"))
        .await;
    refused(&(status, body), 409, "authorization_closed");

    // The relying party collects the SAD, once; another token still gets nothing.
    refused(&check(&svc, &other_token, &handle).await, 404, "not_found");
    let (status, collected) = check(&svc, &relying_party, &handle).await;
    assert_eq!(status, 200, "{collected}");
    let sad = collected["SAD"].as_str().unwrap().to_owned();
    assert!(collected["expiresIn"].as_i64().unwrap() > 0);
    refused(
        &check(&svc, &relying_party, &handle).await,
        409,
        "authorization_closed",
    );

    // The SAD signs exactly these hashes, and openssl verifies the signatures.
    let (status, signed) = csc(
        &svc,
        "signatures/signHash",
        &relying_party,
        &json!({"credentialID": qualified, "SAD": sad, "hashes": hashes,
            "hashAlgorithmOID": SHA256, "signAlgo": ECDSA_SHA256}),
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    let cert = certificate(&svc, &relying_party, &qualified).await;
    for (doc, signature) in docs.iter().zip(signed["signatures"].as_array().unwrap()) {
        assert!(openssl_verifies(&svc, &cert, doc, &unb64(signature)));
    }

    // The audit trail: requested, the SAD issued at SCAL2 by the passkey at High, approved,
    // handed out.
    let issued = audit_events(&svc, "sad_issued").await;
    assert_eq!(issued.len(), 1);
    assert_eq!(
        (issued[0]["scal"].as_str(), issued[0]["factor"].as_str()),
        (Some("2"), Some("webauthn"))
    );
    assert!(issued[0]["loa"].as_str().unwrap().ends_with("High"));
    assert_eq!(issued[0]["label"], "lease and annex");
    let granted = audit_events(&svc, "approval_granted").await;
    assert_eq!(granted.len(), 1);
    assert_eq!(
        (&granted[0]["request"], &granted[0]["factor"]),
        (&json!(handle), &json!("webauthn"))
    );
    assert_eq!(granted[0]["sad"], issued[0]["sad"]);
    let handed = audit_events(&svc, "approval_collected").await;
    assert_eq!(handed.len(), 1, "handed out once");
    assert_eq!(handed[0]["sad"], issued[0]["sad"]);
    assert!(svc.audit.verify(None, None).await.is_ok());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_expired_request_gives_no_sad() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let origin = Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap();
    let mut passkey = SoftPasskey::new(true);
    let relying_party = passkey_login(&svc, &karen, &mut passkey, &origin).await;
    let qualified = credential(&svc, &relying_party, "qualified").await;
    let phone = Phone::with_passkey(&svc, "karen", &mut passkey, &origin).await;
    let unwanted: [&[u8]; 1] = [b"a contract Karen does not want"];
    let hashes = hashes_of(&unwanted);

    // Refused on the phone (a plain form, no script): the relying party is told so, and the
    // request cannot be approved afterwards.
    let (status, asked) = ask(&svc, &relying_party, &qualified, &hashes, &["Contract.pdf"]).await;
    assert_eq!(status, 202, "{asked}");
    let handle = asked["handle"].as_str().unwrap().to_owned();
    let (status, location, _) = phone
        .submit(&svc, &format!("/approvals/{handle}/refuse"))
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/approvals?done=refused")
    );
    refused(
        &check(&svc, &relying_party, &handle).await,
        403,
        "authorization_refused",
    );
    refused(
        &phone.approve(&svc, &handle, &mut passkey, &origin).await,
        409,
        "authorization_closed",
    );
    let refusals = audit_events(&svc, "approval_refused").await;
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0]["request"], handle.as_str());

    // Not decided in time: expired for the relying party (recorded once) and for the phone.
    let (status, asked) = ask(&svc, &relying_party, &qualified, &hashes, &["Contract.pdf"]).await;
    assert_eq!(status, 202, "{asked}");
    let late = asked["handle"].as_str().unwrap().to_owned();
    svc.clock.advance(121);
    for _ in 0..2 {
        refused(
            &check(&svc, &relying_party, &late).await,
            400,
            "authorization_expired",
        );
    }
    let expired = audit_events(&svc, "approval_expired").await;
    assert_eq!(expired.len(), 1, "recorded once");
    assert_eq!(expired[0]["request"], late.as_str());
    refused(
        &phone.approve(&svc, &late, &mut passkey, &origin).await,
        400,
        "authorization_expired",
    );
    let (_, list) = phone.get(&svc, "/approvals", "en").await;
    assert!(
        !list.contains(&late) && list.contains("id=\"approvals-none\""),
        "{list}"
    );
    assert!(audit_events(&svc, "sad_issued").await.is_empty());
    assert!(svc.audit.verify(None, None).await.is_ok());
    svc.stop().await;
}
