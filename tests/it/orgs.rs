//! Businesses over HTTP: an organisation by CVR, an administrator who invites, an employee who
//! accepts and gets an employee certificate (checked with `openssl x509`), signs a PDF on
//! behalf of the CVR (pdfsig and pyHanko accept it and show the organisation), loses the right
//! (the next activation is refused and OCSP shows the certificate revoked), the seal used by a
//! member with `use_seal` and refused without it, and isolation between organisations.

use std::process::Command;

use serde_json::{json, Value};

use crate::signing::{b64, certificate, csc, details, hashes_of, openssl_verifies, refused, unb64};
use crate::support::{self, run, sample_pdf, Service};

const CVR: &str = "35408002";
const OTHER_CVR: &str = "25313763";
/// The level of assurance High (NSIS), as the broker names it.
const HIGH: &str = "https://data.gov.dk/concept/core/nsis/High";
/// The level of assurance Substantial (NSIS), as the broker names it.
const SUBSTANTIAL: &str = "https://data.gov.dk/concept/core/nsis/Substantial";

/// An externally authenticated person, at High unless asked otherwise: a fresh token each call
/// (tokens activate once).
pub(crate) struct Person {
    sub: String,
    given: String,
    family: String,
}

impl Person {
    pub(crate) fn new(sub: &str, given: &str, family: &str) -> Self {
        Self {
            sub: sub.into(),
            given: given.into(),
            family: family.into(),
        }
    }

    /// A token at High.
    pub(crate) fn token(&self, svc: &Service, approval: Option<Value>) -> String {
        self.token_at(svc, HIGH, approval)
    }

    /// A token at Substantial, without an approval.
    pub(crate) fn substantial(&self, svc: &Service) -> String {
        self.token_at(svc, SUBSTANTIAL, None)
    }

    /// A token at the level of assurance `loa` (its URI).
    pub(crate) fn token_at(&self, svc: &Service, loa: &str, approval: Option<Value>) -> String {
        let t = svc.now();
        support::broker_token(
            &support::broker_key(),
            &json!({
                "iss": "https://broker.example", "aud": "qsign", "sub": self.sub,
                "exp": t + 300, "iat": t, "auth_time": t,
                "jti": uuid::Uuid::new_v4().to_string(),
                "loa": loa,
                "given_name": self.given, "family_name": self.family,
                "authorization_details": approval.unwrap_or(Value::Null),
            }),
        )
    }

    /// Provisions the person (first use) and answers their id and username.
    pub(crate) async fn provision(&self, svc: &Service) -> (String, String) {
        let (status, body) = get(svc, "/v1/orgs", &self.token(svc, None)).await;
        assert_eq!(status, 200, "{body}");
        let (id, _) = svc
            .store
            .external_person("https://broker.example", &self.sub)
            .await
            .unwrap()
            .unwrap();
        let username = svc.store.person_by_id(&id).await.unwrap().unwrap().username;
        (id, username)
    }
}

pub(crate) async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn get(svc: &Service, path: &str, token: &str) -> (u16, Value) {
    send(reqwest::Client::new().get(svc.url(path)).bearer_auth(token)).await
}

pub(crate) async fn post(svc: &Service, path: &str, token: &str, body: &Value) -> (u16, Value) {
    send(
        reqwest::Client::new()
            .post(svc.url(path))
            .bearer_auth(token)
            .json(body),
    )
    .await
}

/// The caller's credential acting for the organisation of these tests (employee or seal).
pub(crate) async fn org_credential(svc: &Service, token: &str, kind: &str) -> Option<String> {
    org_credential_of(svc, token, kind, CVR).await
}

/// The caller's credential acting for `cvr` (employee or seal), from `credentials/list`.
pub(crate) async fn org_credential_of(
    svc: &Service,
    token: &str,
    kind: &str,
    cvr: &str,
) -> Option<String> {
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
        .find(|c| c["kind"] == kind && c["cvr"] == cvr && c["cert"]["status"] == "valid")
        .map(|c| c["credentialID"].as_str().unwrap().to_owned())
}

pub(crate) fn x509_text(svc: &Service, der: &[u8]) -> String {
    let file = svc.file(&format!("{}.der", uuid::Uuid::new_v4()), der);
    let out = run(Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&file));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_signs_for_the_cvr_loses_the_right_and_the_seal_needs_its_right() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let karen = Person::new("employee-1", "Karen", "Blixen");
    let clerk = Person::new("clerk-1", "Carl", "Clerk");
    let (_, admin_username) = admin.provision(&svc).await;
    let (karen_id, karen_username) = karen.provision(&svc).await;
    let (clerk_id, _) = clerk.provision(&svc).await;

    // The operator registers the organisation; bad CVR numbers are refused.
    let bad = svc
        .service
        .orgs
        .create_organisation("12345678", "Wrong A/S", &admin_username)
        .await
        .unwrap_err();
    assert_eq!(bad.code.as_str(), "invalid_cvr");
    svc.service
        .orgs
        .create_organisation(CVR, "Rungstedlund A/S", &admin_username)
        .await
        .unwrap();
    let again = svc
        .service
        .orgs
        .create_organisation(CVR, "Rungstedlund A/S", &admin_username)
        .await
        .unwrap_err();
    assert_eq!(again.code.as_str(), "already_exists");

    // Invite Karen (bound to her account) with sign_on_behalf; Carl by code, no rights.
    let (status, invitation) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/invitations"),
        &admin.token(&svc, None),
        &json!({"username": karen_username, "sign_on_behalf": true}),
    )
    .await;
    assert_eq!(status, 201, "{invitation}");
    let code = invitation["code"].as_str().unwrap().to_owned();
    // Someone else cannot use Karen's code.
    refused(
        &post(
            &svc,
            "/v1/orgs/invitations/accept",
            &clerk.token(&svc, None),
            &json!({"code": code}),
        )
        .await,
        404,
        "not_found",
    );
    let (status, joined) = post(
        &svc,
        "/v1/orgs/invitations/accept",
        &karen.token(&svc, None),
        &json!({"code": code}),
    )
    .await;
    assert_eq!(
        (status, joined["cvr"].as_str()),
        (200, Some(CVR)),
        "{joined}"
    );
    refused(
        &post(
            &svc,
            "/v1/orgs/invitations/accept",
            &karen.token(&svc, None),
            &json!({"code": code}),
        )
        .await,
        404,
        "not_found",
    );
    let (_, open) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/invitations"),
        &admin.token(&svc, None),
        &json!({}),
    )
    .await;
    let (status, _) = post(
        &svc,
        "/v1/orgs/invitations/accept",
        &clerk.token(&svc, None),
        &json!({"code": open["code"]}),
    )
    .await;
    assert_eq!(status, 200);

    // Karen now has two credentials: her private one and the employee one, described apart.
    let token = karen.token(&svc, None);
    let (_, list) = csc(
        &svc,
        "credentials/list",
        &token,
        &json!({"credentialInfo": true}),
    )
    .await;
    let descriptions: Vec<&str> = list["credentialInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["description"].as_str().unwrap())
        .collect();
    assert!(
        descriptions.iter().any(|d| d.contains("(personal)")),
        "{list}"
    );
    assert!(
        descriptions
            .iter()
            .any(|d| d.contains("on behalf of Rungstedlund A/S (CVR 35408002)")),
        "{list}"
    );
    let employee = org_credential(&svc, &token, "employee")
        .await
        .expect("employee credential");
    let cert = certificate(&svc, &token, &employee).await;
    let text = x509_text(&svc, &cert);
    assert!(text.contains("O = Rungstedlund A/S"), "{text}");
    assert!(
        text.contains("organizationIdentifier = NTRDK-35408002"),
        "{text}"
    );
    assert!(text.contains("CN = Karen Blixen"), "{text}");

    // A PDF signed on behalf of the CVR, visibly, approved through the broker's token.
    let contract = sample_pdf(1, "1.7", 0);
    let options = qsign::formats::pades::Options {
        visible: Some(qsign::formats::pades::Visible {
            page: 1,
            rect: [300.0, 60.0, 560.0, 130.0],
            signer: String::new(),
            organisation: None,
            cvr: None,
        }),
        ..Default::default()
    };
    let mut approval = details(&employee, &[("contract.pdf", &contract)]);
    approval[0]["documentDigests"][0]["hash"] = crate::pades::approval(&contract, &options).into();
    let (status, signed) = csc(
        &svc,
        "signatures/signDoc",
        &karen.token(&svc, Some(approval)),
        &json!({"credentialID": employee, "documents": [{
            "document": b64(&contract), "signature_format": "P", "conformance_level": "Ades-B-T",
            "qsign_pdf": {"visible": {"page": 1, "rect": [300, 60, 560, 130]}}}]}),
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    let pdf = unb64(&signed["DocumentWithSignature"][0]);
    crate::pades::assert_valid(&svc, &pdf, 1, false, "on behalf of the CVR").await;
    let (_, text) = crate::pades::pdfsig(&svc, &pdf);
    assert!(
        text.contains("O=Rungstedlund A/S") && text.contains("NTRDK-35408002"),
        "{text}"
    );

    // The right is taken away: the credential is revoked at once.
    let (status, body) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/members/{karen_id}/rights"),
        &admin.token(&svc, None),
        &json!({"right": "sign_on_behalf", "granted": false}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let hashes = hashes_of(&[b"after revocation"]);
    refused(
        &csc(
            &svc,
            "credentials/authorize",
            &karen.token(
                &svc,
                Some(details(&employee, &[("x", b"after revocation")])),
            ),
            &json!({
            "credentialID": employee, "numSignatures": 1, "hashes": hashes,
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"}),
        )
        .await,
        403,
        "right_missing",
    );
    let (_, list) = get(&svc, "/v1/credentials", &karen.token(&svc, None)).await;
    let revoked = list["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == employee.as_str())
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(revoked["status"], "revoked", "{list}");
    // OCSP, asked by openssl over HTTP, says revoked.
    let issuing = svc
        .pki
        .ca_certificate(qsign::pki::Ca::Issuing)
        .await
        .unwrap();
    let issuing_file = svc.file("issuing.pem", support::cert_pem(&issuing).as_bytes());
    let cert_file = svc.file("employee.pem", support::cert_pem(&cert).as_bytes());
    let out = run(Command::new("openssl")
        .args(["ocsp", "-noverify", "-issuer"])
        .arg(&issuing_file)
        .arg("-cert")
        .arg(&cert_file)
        .arg("-url")
        .arg(svc.url("/pki/ocsp")));
    let ocsp = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(ocsp.contains(": revoked"), "{ocsp}");

    // The seal: made by the administrator; Carl without use_seal is refused, with it he signs.
    let (status, seal) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/seal"),
        &admin.token(&svc, None),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{seal}");
    let seal_id = seal["credentialID"].as_str().unwrap().to_owned();
    let doc: &[u8] = b"invoice 2026-117";
    let seal_request = json!({"credentialID": seal_id, "numSignatures": 1,
        "hashes": hashes_of(&[doc]), "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"});
    // `credentials/authorize` of the seal by `who`, approved in their broker token.
    let authorize_seal = |who: &Person| {
        let token = who.token(&svc, Some(details(&seal_id, &[("invoice", doc)])));
        let request = seal_request.clone();
        let svc = &svc;
        async move { csc(svc, "credentials/authorize", &token, &request).await }
    };
    refused(&authorize_seal(&clerk).await, 403, "right_missing");
    let (status, _) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/members/{clerk_id}/rights"),
        &admin.token(&svc, None),
        &json!({"right": "use_seal", "granted": true}),
    )
    .await;
    assert_eq!(status, 204);
    let clerk_token = clerk.token(&svc, Some(details(&seal_id, &[("invoice", doc)])));
    assert_eq!(
        org_credential(&svc, &clerk_token, "seal").await.as_deref(),
        Some(seal_id.as_str())
    );
    let (status, auth) = csc(&svc, "credentials/authorize", &clerk_token, &seal_request).await;
    assert_eq!(status, 200, "{auth}");
    let (status, sig) = csc(
        &svc,
        "signatures/signHash",
        &clerk_token,
        &json!({
        "credentialID": seal_id, "SAD": auth["SAD"], "hashes": hashes_of(&[doc]),
        "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2"}),
    )
    .await;
    assert_eq!(status, 200, "{sig}");
    let seal_cert = certificate(&svc, &clerk_token, &seal_id).await;
    assert!(openssl_verifies(
        &svc,
        &seal_cert,
        doc,
        &unb64(&sig["signatures"][0])
    ));
    let text = x509_text(&svc, &seal_cert);
    assert!(
        text.contains("CN = Rungstedlund A/S") || text.contains("O = Rungstedlund A/S"),
        "{text}"
    );
    // Karen (a member without use_seal) is refused; an outsider does not even see it.
    let outsider = Person::new("outsider-1", "Otto", "Outsider");
    outsider.provision(&svc).await;
    refused(&authorize_seal(&karen).await, 403, "right_missing");
    refused(
        &authorize_seal(&outsider).await,
        404,
        "credential_not_found",
    );
    // A database writer grants Karen use_seal (or makes her an administrator) by SQL: the
    // membership no longer matches its integrity tag and counts as none.
    crate::signing::sql(
        &svc,
        "UPDATE org_members SET use_seal = TRUE, admin = TRUE WHERE person = $1",
        &[&karen_id.to_string()],
    )
    .await;
    refused(&authorize_seal(&karen).await, 404, "credential_not_found");
    refused(
        &get(
            &svc,
            &format!("/v1/orgs/{CVR}/members"),
            &karen.token(&svc, None),
        )
        .await,
        403,
        "forbidden",
    );

    // The organisation's audit trail names the organisation and the member for the seal use.
    let (status, audit) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/audit"),
        &admin.token(&svc, None),
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let records = audit["records"].as_array().unwrap();
    let made = records
        .iter()
        .find(|r| r["event"] == "signature_made" && r["details"]["credential"] == seal_id.as_str())
        .unwrap_or_else(|| panic!("no seal signature in {audit}"));
    assert_eq!(made["actor"], format!("person:{clerk_id}"));
    for event in [
        "organisation_created",
        "member_invited",
        "member_joined",
        "right_granted",
        "right_revoked",
    ] {
        assert!(
            records.iter().any(|r| r["event"] == event),
            "{event}: {audit}"
        );
    }

    // Isolation: another organisation's administrator, and a plain member, get `forbidden`.
    let other_admin = Person::new("admin-2", "Bo", "Other");
    let (_, other_username) = other_admin.provision(&svc).await;
    svc.service
        .orgs
        .create_organisation(OTHER_CVR, "Other ApS", &other_username)
        .await
        .unwrap();
    for (who, token) in [
        ("other admin", other_admin.token(&svc, None)),
        ("member", karen.token(&svc, None)),
    ] {
        refused(
            &get(&svc, &format!("/v1/orgs/{CVR}/members"), &token).await,
            403,
            "forbidden",
        );
        refused(
            &get(&svc, &format!("/v1/orgs/{CVR}/audit"), &token).await,
            403,
            "forbidden",
        );
        let (status, body) = post(
            &svc,
            &format!("/v1/orgs/{CVR}/members/{clerk_id}/rights"),
            &token,
            &json!({"right": "use_seal", "granted": false}),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("forbidden")),
            "{who}: {body}"
        );
    }
    refused(
        &get(&svc, "/v1/orgs/1234/members", &admin.token(&svc, None)).await,
        400,
        "invalid_cvr",
    );

    // A removed member loses the seal at once.
    let (status, _) = send(
        reqwest::Client::new()
            .delete(svc.url(&format!("/v1/orgs/{CVR}/members/{clerk_id}")))
            .bearer_auth(admin.token(&svc, None)),
    )
    .await;
    assert_eq!(status, 204);
    refused(&authorize_seal(&clerk).await, 404, "credential_not_found");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_changes_need_a_high_login() {
    let svc = Service::start().await;
    let karen = crate::signing::person(&svc, "karen").await;
    svc.service
        .orgs
        .create_organisation(CVR, "Rungstedlund A/S", "karen")
        .await
        .unwrap();
    // Password + TOTP is Substantial: reading works, changing does not.
    let token = karen.login(&svc, true).await;
    let (status, members) = get(&svc, &format!("/v1/orgs/{CVR}/members"), &token).await;
    assert_eq!(status, 200, "{members}");
    assert_eq!(members["members"][0]["admin"], true);
    refused(
        &post(
            &svc,
            &format!("/v1/orgs/{CVR}/invitations"),
            &token,
            &json!({}),
        )
        .await,
        403,
        "insufficient_loa",
    );
    refused(
        &post(&svc, &format!("/v1/orgs/{CVR}/seal"), &token, &json!({})).await,
        403,
        "insufficient_loa",
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seal_belongs_to_the_organisation_not_to_the_administrator_who_made_it() {
    let svc = Service::start().await;
    let first = Person::new("admin-a", "Astrid", "Admin");
    let second = Person::new("admin-b", "Bent", "Admin");
    let (first_id, first_username) = first.provision(&svc).await;
    let (_, second_username) = second.provision(&svc).await;
    svc.service
        .orgs
        .create_organisation(CVR, "Rungstedlund A/S", &first_username)
        .await
        .unwrap();
    let (status, invitation) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/invitations"),
        &first.token(&svc, None),
        &json!({"username": second_username, "admin": true}),
    )
    .await;
    assert_eq!(status, 201, "{invitation}");
    let (status, _) = post(
        &svc,
        "/v1/orgs/invitations/accept",
        &second.token(&svc, None),
        &json!({"code": invitation["code"]}),
    )
    .await;
    assert_eq!(status, 200);
    // The first administrator makes the seal, then is removed by the second.
    let (status, seal) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/seal"),
        &first.token(&svc, None),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{seal}");
    let seal_id = seal["credentialID"].as_str().unwrap().to_owned();
    let (status, _) = send(
        reqwest::Client::new()
            .delete(svc.url(&format!("/v1/orgs/{CVR}/members/{first_id}")))
            .bearer_auth(second.token(&svc, None)),
    )
    .await;
    assert_eq!(status, 204);
    let change = |who: &Person, action: &str| {
        let token = who.token(&svc, None);
        let path = format!("/v1/credentials/{seal_id}/{action}");
        let svc = &svc;
        async move { post(svc, &path, &token, &json!({})).await }
    };
    // An invitation a database writer inserts (administrator, seal) invites nobody.
    let forged_code = "FORGEDINVITATIONCODE";
    let id = hex::encode(support::sha256(forged_code.as_bytes()));
    crate::signing::sql(
        &svc,
        "INSERT INTO org_invitations (id, cvr, person, admin, sign_on_behalf, use_seal, \
         created_at, expires_at) VALUES ($1, $2, NULL, TRUE, TRUE, TRUE, 0, 4102444800)",
        &[&id, CVR],
    )
    .await;
    refused(
        &post(
            &svc,
            "/v1/orgs/invitations/accept",
            &first.token(&svc, None),
            &json!({"code": forged_code}),
        )
        .await,
        404,
        "not_found",
    );
    // The removed administrator can no longer suspend, resume or revoke it.
    for action in ["suspend", "resume", "revoke"] {
        refused(&change(&first, action).await, 404, "credential_not_found");
    }
    // The current administrator manages it: suspends, resumes, suspends and revokes it, then
    // makes a new one (a suspended or revoked seal does not block the organisation).
    for action in ["suspend", "resume", "suspend", "revoke"] {
        let (status, body) = change(&second, action).await;
        assert!(status == 200 || status == 204, "{action}: {status} {body}");
    }
    let (status, renewed) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/seal"),
        &second.token(&svc, None),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    assert_ne!(renewed["credentialID"], seal_id.as_str());
    svc.stop().await;
}
