//! Businesses as they really sign, over HTTP: the rule of representation and members' roles
//! (set by High administrators only, audited, an unparsable rule refused with `invalid_rule`),
//! anonymous employees (their certificate, read by `openssl x509`, and their visible PDF
//! signature, read by pdfsig, name the pseudonym and the organisation, never the person; the
//! administrators still see who it is), bulk enrolment of a thousand employees in one request,
//! members asking for a right (approved by an administrator) and leaving (their employee
//! credential revoked at once), and the organisation's page with all of it.

use std::time::Instant;

use serde_json::{json, Value};

use crate::orgs::{get, org_credential, post, send, x509_text, Person};
use crate::signing::{b64, certificate, csc, details, hashes_of, refused, unb64};
use crate::support::{self, sample_pdf, Service};

const CVR: &str = "35408002";

async fn put(svc: &Service, path: &str, token: &str, body: &Value) -> (u16, Value) {
    send(
        reqwest::Client::new()
            .put(svc.url(path))
            .bearer_auth(token)
            .json(body),
    )
    .await
}

async fn delete(svc: &Service, path: &str, token: &str) -> (u16, Value) {
    send(
        reqwest::Client::new()
            .delete(svc.url(path))
            .bearer_auth(token),
    )
    .await
}

/// An organisation with `admin` as its first administrator.
async fn organisation(svc: &Service, admin: &Person) -> (String, String) {
    let (id, username) = admin.provision(svc).await;
    svc.service
        .orgs
        .create_organisation(CVR, "Rungstedlund A/S", &username)
        .await
        .unwrap();
    (id, username)
}

/// `member` joins with an invitation made by `admin` with `grants` (the invitation's JSON).
async fn join(svc: &Service, admin: &Person, member: &Person, grants: Value) {
    let (status, invitation) = post(
        svc,
        &format!("/v1/orgs/{CVR}/invitations"),
        &admin.token(svc, None),
        &grants,
    )
    .await;
    assert_eq!(status, 201, "{invitation}");
    let (status, joined) = post(
        svc,
        "/v1/orgs/invitations/accept",
        &member.token(svc, None),
        &json!({"code": invitation["code"]}),
    )
    .await;
    assert_eq!(status, 200, "{joined}");
}

/// The member of the administrators' listing with this person id.
async fn listed(svc: &Service, admin: &Person, person: &str) -> Value {
    let (status, members) = get(
        svc,
        &format!("/v1/orgs/{CVR}/members"),
        &admin.token(svc, None),
    )
    .await;
    assert_eq!(status, 200, "{members}");
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["person"] == person)
        .unwrap_or_else(|| panic!("{person} not in {members}"))
        .clone()
}

/// The organisation's audit records as its administrator reads them.
async fn org_audit(svc: &Service, admin: &Person) -> Vec<Value> {
    let (status, audit) = get(
        svc,
        &format!("/v1/orgs/{CVR}/audit?limit=1000"),
        &admin.token(svc, None),
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    audit["records"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_roles_are_set_by_high_administrators_only_and_audited() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let karen = Person::new("employee-1", "Karen", "Blixen");
    let outsider = Person::new("outsider-1", "Otto", "Outsider");
    let (admin_id, _) = organisation(&svc, &admin).await;
    let (karen_id, karen_username) = karen.provision(&svc).await;
    outsider.provision(&svc).await;
    // Karen joins with a role given on the invitation.
    join(
        &svc,
        &admin,
        &karen,
        json!({"username": karen_username, "roles": ["board"]}),
    )
    .await;
    let (_, mine) = get(&svc, "/v1/orgs", &karen.token(&svc, None)).await;
    assert_eq!(
        mine["organisations"][0]["member"]["roles"],
        json!(["board"])
    );

    // The rule: High administrators only; an unparsable one is refused with its own code.
    let rule_path = format!("/v1/orgs/{CVR}/rule");
    let text = "board{2} | director";
    refused(
        &put(
            &svc,
            &rule_path,
            &admin.substantial(&svc),
            &json!({"rule": text}),
        )
        .await,
        403,
        "insufficient_loa",
    );
    refused(
        &put(
            &svc,
            &rule_path,
            &karen.token(&svc, None),
            &json!({"rule": text}),
        )
        .await,
        403,
        "forbidden",
    );
    for bad in ["director |", "Director", "board{0}", "(chair", ""] {
        refused(
            &put(
                &svc,
                &rule_path,
                &admin.token(&svc, None),
                &json!({"rule": bad}),
            )
            .await,
            400,
            "invalid_rule",
        );
    }
    let canonical = qsign::formats::representation::Rule::parse(text).unwrap();
    let (status, set) = put(
        &svc,
        &rule_path,
        &admin.token(&svc, None),
        &json!({"rule": text}),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["rule"], canonical.as_str());
    assert_eq!(set["roles"], json!(["board", "director"]));
    // Members read it; others do not.
    let (status, read) = get(&svc, &rule_path, &karen.substantial(&svc)).await;
    assert_eq!((status, &read["rule"]), (200, &json!(canonical.as_str())));
    refused(
        &get(&svc, &rule_path, &outsider.token(&svc, None)).await,
        403,
        "forbidden",
    );

    // Roles: High administrators only; effective at once.
    let roles_path = format!("/v1/orgs/{CVR}/members/{karen_id}/roles");
    let give = json!({"role": "director", "granted": true});
    refused(
        &post(&svc, &roles_path, &karen.token(&svc, None), &give).await,
        403,
        "forbidden",
    );
    refused(
        &post(&svc, &roles_path, &outsider.token(&svc, None), &give).await,
        403,
        "forbidden",
    );
    refused(
        &post(&svc, &roles_path, &admin.substantial(&svc), &give).await,
        403,
        "insufficient_loa",
    );
    refused(
        &post(
            &svc,
            &roles_path,
            &admin.token(&svc, None),
            &json!({"role": "Director", "granted": true}),
        )
        .await,
        400,
        "invalid_request",
    );
    let (status, body) = post(&svc, &roles_path, &admin.token(&svc, None), &give).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        listed(&svc, &admin, &karen_id).await["roles"],
        json!(["board", "director"])
    );
    let (status, _) = post(
        &svc,
        &roles_path,
        &admin.token(&svc, None),
        &json!({"role": "board", "granted": false}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        listed(&svc, &admin, &karen_id).await["roles"],
        json!(["director"])
    );
    // A role a database writer adds (without the integrity tag) counts for nothing.
    crate::signing::sql(
        &svc,
        "INSERT INTO org_roles (cvr, person, role, granted_at) VALUES ($1, $2, 'chair', 0)",
        &[CVR, &karen_id],
    )
    .await;
    assert_eq!(
        listed(&svc, &admin, &karen_id).await["roles"],
        json!(["director"])
    );
    let (_, mine) = get(&svc, "/v1/orgs", &karen.token(&svc, None)).await;
    assert_eq!(
        mine["organisations"][0]["member"]["roles"],
        json!(["director"])
    );

    // Each change is audited under the organisation, with the administrator as actor.
    let records = org_audit(&svc, &admin).await;
    let by_admin = |event: &str| {
        records
            .iter()
            .filter(|r| r["event"] == event && r["actor"] == format!("person:{admin_id}"))
            .count()
    };
    assert_eq!(by_admin("rule_set"), 1, "{records:?}");
    assert_eq!(by_admin("role_removed"), 1, "{records:?}");
    let added: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "role_added")
        .collect();
    assert_eq!(
        added.len(),
        2,
        "board on joining, director later: {added:?}"
    );
    assert!(added
        .iter()
        .all(|r| r["details"]["person"] == karen_id.as_str()));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_employee_is_named_by_the_pseudonym_in_the_certificate_and_the_pdf() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let karen = Person::new("employee-1", "Karen", "Blixen");
    organisation(&svc, &admin).await;
    let (karen_id, karen_username) = karen.provision(&svc).await;
    join(
        &svc,
        &admin,
        &karen,
        json!({"username": karen_username, "sign_on_behalf": true, "anonymous": true}),
    )
    .await;

    // The administrators see who it is, and the pseudonym.
    let member = listed(&svc, &admin, &karen_id).await;
    assert_eq!(member["anonymous"], true, "{member}");
    assert_eq!(member["name"], "Karen Blixen");
    assert_eq!(member["username"], karen_username.as_str());
    let pseudonym = member["pseudonym"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&pseudonym).is_ok(), "{pseudonym}");
    // Karen sees her own pseudonym.
    let (_, mine) = get(&svc, "/v1/me/orgs", &karen.token(&svc, None)).await;
    assert_eq!(
        mine["organisations"][0]["member"]["pseudonym"],
        pseudonym.as_str()
    );

    // The employee certificate, read by openssl: the pseudonym and the organisation, no name.
    let token = karen.token(&svc, None);
    let employee = org_credential(&svc, &token, "employee")
        .await
        .expect("employee credential");
    let cert = certificate(&svc, &token, &employee).await;
    let text = x509_text(&svc, &cert);
    assert!(text.contains(&format!("pseudonym = {pseudonym}")), "{text}");
    assert!(text.contains(&format!("CN = {pseudonym}")), "{text}");
    assert!(text.contains("O = Rungstedlund A/S"), "{text}");
    assert!(
        text.contains("organizationIdentifier = NTRDK-35408002"),
        "{text}"
    );
    for secret in [
        "Karen",
        "Blixen",
        karen_id.as_str(),
        karen_username.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }

    // A visible PDF signature made with it shows the pseudonym, never the name.
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
    let (signatures, text) = crate::pades::pdfsig(&svc, &pdf);
    assert_eq!(signatures.len(), 1, "{text}");
    assert!(text.contains(&pseudonym), "{text}");
    assert!(text.contains("Rungstedlund A/S"), "{text}");
    for secret in ["Karen", "Blixen"] {
        assert!(!text.contains(secret), "{secret} in {text}");
        assert!(
            !pdf.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the signed PDF"
        );
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_asks_for_a_right_an_administrator_approves_and_the_member_sees_it() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let karen = Person::new("employee-1", "Karen", "Blixen");
    let outsider = Person::new("outsider-1", "Otto", "Outsider");
    let (admin_id, _) = organisation(&svc, &admin).await;
    let (karen_id, karen_username) = karen.provision(&svc).await;
    outsider.provision(&svc).await;
    join(&svc, &admin, &karen, json!({"username": karen_username})).await;
    let requests = format!("/v1/orgs/{CVR}/requests");

    // Karen asks for sign_on_behalf and for a role; asking twice, or for nonsense, is refused.
    let (status, right) = post(
        &svc,
        &requests,
        &karen.substantial(&svc),
        &json!({"right": "sign_on_behalf"}),
    )
    .await;
    assert_eq!(status, 201, "{right}");
    assert_eq!(
        (&right["kind"], &right["name"]),
        (&json!("right"), &json!("sign_on_behalf"))
    );
    refused(
        &post(
            &svc,
            &requests,
            &karen.substantial(&svc),
            &json!({"right": "sign_on_behalf"}),
        )
        .await,
        409,
        "already_exists",
    );
    let (status, role) = post(
        &svc,
        &requests,
        &karen.substantial(&svc),
        &json!({"role": "board"}),
    )
    .await;
    assert_eq!(status, 201, "{role}");
    for bad in [
        json!({"right": "everything"}),
        json!({"role": "Board"}),
        json!({"right": "use_seal", "role": "board"}),
        json!({}),
    ] {
        refused(
            &post(&svc, &requests, &karen.substantial(&svc), &bad).await,
            400,
            "invalid_request",
        );
    }
    refused(
        &post(
            &svc,
            &requests,
            &outsider.token(&svc, None),
            &json!({"right": "use_seal"}),
        )
        .await,
        403,
        "forbidden",
    );
    // Only administrators list them.
    refused(
        &get(&svc, &requests, &karen.token(&svc, None)).await,
        403,
        "forbidden",
    );
    let (status, pending) = get(&svc, &requests, &admin.substantial(&svc)).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(
        pending["requests"].as_array().unwrap().len(),
        2,
        "{pending}"
    );
    assert!(pending["requests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["person"] == karen_id.as_str()));
    let (_, mine) = get(&svc, "/v1/me/orgs", &karen.token(&svc, None)).await;
    assert_eq!(
        mine["organisations"][0]["requests"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{mine}"
    );

    // Deciding needs High; approval grants the right (the employee credential is issued).
    let decide = |id: &Value| format!("{requests}/{}", id.as_str().unwrap());
    refused(
        &post(
            &svc,
            &decide(&right["id"]),
            &admin.substantial(&svc),
            &json!({"approve": true}),
        )
        .await,
        403,
        "insufficient_loa",
    );
    refused(
        &post(
            &svc,
            &decide(&right["id"]),
            &karen.token(&svc, None),
            &json!({"approve": true}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_eq!(
        org_credential(&svc, &karen.token(&svc, None), "employee").await,
        None
    );
    let (status, body) = post(
        &svc,
        &decide(&right["id"]),
        &admin.token(&svc, None),
        &json!({"approve": true}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let employee = org_credential(&svc, &karen.token(&svc, None), "employee")
        .await
        .expect("the approved right issues the employee credential");
    assert_eq!(
        listed(&svc, &admin, &karen_id).await["rights"]["sign_on_behalf"],
        true
    );
    // The role is refused: nothing is given.
    let (status, _) = post(
        &svc,
        &decide(&role["id"]),
        &admin.token(&svc, None),
        &json!({"approve": false}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(listed(&svc, &admin, &karen_id).await["roles"], json!([]));
    // Decided once.
    refused(
        &post(
            &svc,
            &decide(&role["id"]),
            &admin.token(&svc, None),
            &json!({"approve": true}),
        )
        .await,
        404,
        "not_found",
    );
    let (_, pending) = get(&svc, &requests, &admin.token(&svc, None)).await;
    assert_eq!(pending["requests"], json!([]));
    let records = org_audit(&svc, &admin).await;
    let decided: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "request_decided")
        .collect();
    assert_eq!(decided.len(), 2, "{records:?}");
    assert!(decided
        .iter()
        .all(|r| r["actor"] == format!("person:{admin_id}")));
    assert!(records
        .iter()
        .any(|r| r["event"] == "right_granted" && r["details"]["person"] == karen_id.as_str()));
    assert_eq!(
        records
            .iter()
            .filter(|r| r["event"] == "request_made" && r["actor"] == format!("person:{karen_id}"))
            .count(),
        2
    );

    // Karen signs for the organisation; she sees the signature among her own.
    let doc: &[u8] = b"purchase order 2026-31";
    let token = karen.token(&svc, Some(details(&employee, &[("order", doc)])));
    let (status, auth) = csc(
        &svc,
        "credentials/authorize",
        &token,
        &json!({"credentialID": employee, "numSignatures": 1, "hashes": hashes_of(&[doc]),
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"}),
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    let (status, sig) = csc(
        &svc,
        "signatures/signHash",
        &token,
        &json!({"credentialID": employee, "SAD": auth["SAD"], "hashes": hashes_of(&[doc]),
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2"}),
    )
    .await;
    assert_eq!(status, 200, "{sig}");
    let (status, mine) = get(&svc, "/v1/me/orgs", &karen.substantial(&svc)).await;
    assert_eq!(status, 200, "{mine}");
    let org = &mine["organisations"][0];
    assert_eq!(org["cvr"], CVR);
    assert_eq!(org["member"]["rights"]["sign_on_behalf"], true);
    assert_eq!(org["member"]["anonymous"], false);
    assert_eq!(org["requests"], json!([]));
    let signatures = org["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{mine}");
    assert_eq!(signatures[0]["credential"], employee.as_str());
    assert_eq!(
        signatures[0]["hash"],
        hex::encode(support::sha256(doc)).as_str()
    );
    // Someone else's organisations are not in anyone's own list.
    let (_, theirs) = get(&svc, "/v1/me/orgs", &outsider.token(&svc, None)).await;
    assert_eq!(theirs["organisations"], json!([]));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_revokes_the_employee_credential_and_the_last_administrator_stays() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let karen = Person::new("employee-1", "Karen", "Blixen");
    let outsider = Person::new("outsider-1", "Otto", "Outsider");
    let (admin_id, _) = organisation(&svc, &admin).await;
    let (karen_id, karen_username) = karen.provision(&svc).await;
    outsider.provision(&svc).await;
    join(
        &svc,
        &admin,
        &karen,
        json!({"username": karen_username, "sign_on_behalf": true, "roles": ["board"]}),
    )
    .await;
    let employee = org_credential(&svc, &karen.token(&svc, None), "employee")
        .await
        .expect("employee credential");
    let leave = format!("/v1/me/orgs/{CVR}");

    // Karen withdraws her consent.
    let (status, body) = delete(&svc, &leave, &karen.substantial(&svc)).await;
    assert_eq!(status, 204, "{body}");
    let (_, mine) = get(&svc, "/v1/me/orgs", &karen.token(&svc, None)).await;
    assert_eq!(mine["organisations"], json!([]));
    // The employee credential is revoked at once: listed as revoked, refused when used.
    let (_, list) = get(&svc, "/v1/credentials", &karen.token(&svc, None)).await;
    let revoked = list["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == employee.as_str())
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(revoked["status"], "revoked", "{list}");
    let doc: &[u8] = b"after leaving";
    let (status, refusal) = csc(
        &svc,
        "credentials/authorize",
        &karen.token(&svc, Some(details(&employee, &[("x", doc)]))),
        &json!({"credentialID": employee, "numSignatures": 1, "hashes": hashes_of(&[doc]),
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"}),
    )
    .await;
    assert!(
        matches!(
            refusal["error"].as_str(),
            Some("right_missing" | "credential_revoked" | "credential_not_found")
        ) && status >= 400,
        "{status} {refusal}"
    );
    // Her roles went with the membership; the administrators see her gone.
    let (_, members) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/members"),
        &admin.token(&svc, None),
    )
    .await;
    assert!(
        members["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["person"] != karen_id.as_str()),
        "{members}"
    );
    let records = org_audit(&svc, &admin).await;
    assert!(
        records
            .iter()
            .any(|r| r["event"] == "member_left" && r["actor"] == format!("person:{karen_id}")),
        "{records:?}"
    );
    assert!(records.iter().any(|r| r["event"] == "credential_revoked"));

    // Leaving twice, or an organisation one is not in: forbidden. The last administrator
    // cannot leave.
    refused(
        &delete(&svc, &leave, &karen.token(&svc, None)).await,
        403,
        "forbidden",
    );
    refused(
        &delete(&svc, &leave, &outsider.token(&svc, None)).await,
        403,
        "forbidden",
    );
    let (status, last) = delete(&svc, &leave, &admin.token(&svc, None)).await;
    assert_eq!(
        (status, last["error"].as_str()),
        (400, Some("invalid_request")),
        "{last}"
    );
    assert!(
        last["error_description"]
            .as_str()
            .unwrap()
            .contains("at least one administrator"),
        "{last}"
    );
    assert_eq!(listed(&svc, &admin, &admin_id).await["admin"], true);
    svc.stop().await;
}

/// The CSV of the bulk test: 1,000 employees, the first `existing` of them with accounts
/// already, every tenth with `sign_on_behalf`, every hundredth (from 50) anonymous, every
/// seventh a board member; and two malformed rows (lines 302 and 703).
fn thousand(existing: usize) -> (String, Vec<usize>) {
    let mut csv = String::from(
        "username,given_name,family_name,email,roles,sign_on_behalf,use_seal,anonymous\n",
    );
    let mut line = 1;
    let mut bad = Vec::new();
    for i in 0..1000 {
        if i == 300 || i == 700 {
            line += 1;
            bad.push(line);
            csv.push_str(if i == 300 {
                "broken-row,Only,Three\n"
            } else {
                "maybe-row,May,Be,,,maybe,no,no\n"
            });
        }
        let username = if i < existing {
            format!("existing-{i:03}")
        } else {
            format!("employee-{i:04}")
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let roles = if i % 7 == 0 {
            "\"board; director\""
        } else {
            ""
        };
        line += 1;
        csv.push_str(&format!(
            "{username},Given{i},\"Family, {i}\",{username}@example.dk,{roles},{},{},{}\n",
            yes(i % 10 == 0),
            yes(i % 3 == 0),
            yes(i % 100 == 50),
        ));
    }
    (csv, bad)
}

/// The answer to the headers of a 2 MiB CSV upload (the body is never sent: the limit is
/// enforced from `Content-Length`): status and body.
async fn headers_only(svc: &Service, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = svc.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
         Content-Type: text/csv\r\nConnection: close\r\n\r\n",
        2 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await
    .expect("no answer to an oversize request")
    .unwrap();
    let text = String::from_utf8(response).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        status,
        text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_employees_are_enrolled_in_one_request() {
    const EXISTING: usize = 20;
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    organisation(&svc, &admin).await;
    let mut existing = Vec::new();
    for i in 0..EXISTING {
        existing.push(crate::signing::person(&svc, &format!("existing-{i:03}")).await);
    }
    let (csv, bad) = thousand(EXISTING);
    let bulk = svc.url(&format!("/v1/orgs/{CVR}/members/bulk"));
    let upload = |token: String, media_type: &'static str, body: String| {
        send(
            reqwest::Client::new()
                .post(&bulk)
                .bearer_auth(token)
                .header("content-type", media_type)
                .body(body),
        )
    };

    // Refusals first: a Substantial login, another media type, a file that is not CSV.
    refused(
        &upload(admin.substantial(&svc), "text/csv", csv.clone()).await,
        403,
        "insufficient_loa",
    );
    refused(
        &upload(admin.token(&svc, None), "application/json", csv.clone()).await,
        415,
        "unsupported_media_type",
    );
    let unclosed =
        "username,given_name,family_name,email,roles,sign_on_behalf,use_seal,anonymous\n\
                    a,A,Aa,,,no,no,no\nb,\"B,Bb,,,no,no,no\n";
    let (status, body) = upload(admin.token(&svc, None), "text/csv", unclosed.to_owned()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("line 3"),
        "{body}"
    );
    let (status, body) = headers_only(&svc, &format!("/v1/orgs/{CVR}/members/bulk")).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload_too_large"), "{body}");

    // The thousand, in one request.
    let started = Instant::now();
    let (status, report) = upload(admin.token(&svc, None), "text/csv; charset=utf-8", csv).await;
    let elapsed = started.elapsed();
    // How long it takes is measured by `cargo bench --bench orgs`, not asserted here.
    println!("bulk enrolment of 1,000 employees (+2 malformed rows): {elapsed:?}");
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["totals"],
        json!({"rows": 1002, "created": 1000 - EXISTING, "invited": EXISTING, "errors": 2}),
    );
    let rows = report["rows"].as_array().unwrap();
    let errors: Vec<&Value> = rows.iter().filter(|r| r["outcome"] == "error").collect();
    assert_eq!(
        errors
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        bad.iter().map(|l| *l as u64).collect::<Vec<_>>()
    );
    assert!(
        errors[0]["error"].as_str().unwrap().contains("3 fields"),
        "{:?}",
        errors[0]
    );
    assert!(
        errors[1]["error"]
            .as_str()
            .unwrap()
            .contains("sign_on_behalf"),
        "{:?}",
        errors[1]
    );
    for row in rows {
        match row["outcome"].as_str().unwrap() {
            "created" => assert!(
                row["enrolment_code"].is_string() && row["initial_password"].is_string(),
                "{row}"
            ),
            "invited" => assert!(row["invitation_code"].is_string(), "{row}"),
            _ => assert!(row["error"].is_string(), "{row}"),
        }
    }

    // The members listing has them, with their rights, roles and anonymity.
    let (status, members) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/members"),
        &admin.token(&svc, None),
    )
    .await;
    assert_eq!(status, 200);
    let members = members["members"].as_array().unwrap();
    assert_eq!(
        members.len(),
        1 + 1000 - EXISTING,
        "the administrator and the created"
    );
    let member = |username: &str| {
        members
            .iter()
            .find(|m| m["username"] == username)
            .unwrap_or_else(|| panic!("{username} is not a member"))
    };
    let first = member("employee-0070");
    assert_eq!(first["name"], "Given70 Family, 70");
    assert_eq!(first["roles"], json!(["board", "director"]));
    assert_eq!(first["rights"]["sign_on_behalf"], true);
    assert_eq!(first["anonymous"], false);
    let anonymous = member("employee-0150");
    assert_eq!(anonymous["anonymous"], true);
    let pseudonym = anonymous["pseudonym"].as_str().unwrap().to_owned();
    assert_eq!(
        members.iter().filter(|m| m["anonymous"] == true).count(),
        10
    );
    // Employee credentials were issued in the HSM for every created member with
    // sign_on_behalf: one each, for this organisation.
    let signers: Vec<&Value> = members
        .iter()
        .filter(|m| m["rights"]["sign_on_behalf"] == true)
        .collect();
    assert_eq!(signers.len(), 100 - EXISTING / 10);
    for m in &signers {
        let credentials = svc
            .store
            .credentials(m["person"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(
            credentials
                .iter()
                .filter(|c| c.kind == "employee" && c.cvr.as_deref() == Some(CVR))
                .count(),
            1,
            "{m}"
        );
    }
    // An anonymous one's certificate names the pseudonym, not the person.
    let anonymous_credentials = svc
        .store
        .credentials(anonymous["person"].as_str().unwrap())
        .await
        .unwrap();
    let text = x509_text(&svc, &anonymous_credentials[0].certificate);
    assert!(text.contains(&format!("pseudonym = {pseudonym}")), "{text}");
    assert!(
        !text.contains("Given150") && !text.contains("Family"),
        "{text}"
    );

    // An existing account consents by accepting its invitation, with the row's role.
    let row = rows
        .iter()
        .find(|r| r["username"] == "existing-000")
        .unwrap();
    let token = existing[0].login(&svc, true).await;
    let (status, joined) = post(
        &svc,
        "/v1/orgs/invitations/accept",
        &token,
        &json!({"code": row["invitation_code"]}),
    )
    .await;
    assert_eq!(status, 200, "{joined}");
    let (_, mine) = get(&svc, "/v1/orgs", &token).await;
    assert_eq!(
        mine["organisations"][0]["member"]["roles"],
        json!(["board", "director"])
    );
    // A created account logs in with its initial password.
    let created = rows
        .iter()
        .find(|r| r["username"] == "employee-0021")
        .unwrap();
    let (status, issued) = send(reqwest::Client::new().post(svc.url("/idp/token")).form(&[
        ("grant_type", "password"),
        ("username", "employee-0021"),
        ("password", created["initial_password"].as_str().unwrap()),
    ]))
    .await;
    assert_eq!(status, 200, "{issued}");
    svc.stop().await;
}

/// A page request with a session (an access token) and the anti-forgery token.
pub(crate) fn page(
    svc: &Service,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    const CSRF: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
    let separator = if path.contains('?') { '&' } else { '?' };
    let url = if method == reqwest::Method::POST {
        svc.url(&format!("{path}{separator}csrf={CSRF}"))
    } else {
        svc.url(path)
    };
    support::no_redirects().request(method, url).header(
        "cookie",
        format!("qsign_session={token}; qsign_csrf={CSRF}"),
    )
}

/// A page's HTML (asserting it answers 200).
pub(crate) async fn page_text(svc: &Service, path: &str, token: &str) -> String {
    let r = page(svc, reqwest::Method::GET, path, token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// Posts a page form; answers where it redirects to.
pub(crate) async fn submit(
    svc: &Service,
    path: &str,
    token: &str,
    form: &[(&str, &str)],
) -> String {
    let r = page(svc, reqwest::Method::POST, path, token)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = r.text().await.unwrap();
    assert_eq!(status, 303, "{path}: {body}");
    location.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organisation_page_shows_the_rule_roles_and_requests_and_members_leave_there() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let karen = Person::new("employee-1", "Karen", "Blixen");
    organisation(&svc, &admin).await;
    let (karen_id, karen_username) = karen.provision(&svc).await;
    join(&svc, &admin, &karen, json!({"username": karen_username})).await;
    let org = format!("/org/{CVR}");

    // The administrator sets the rule and gives a role on the page.
    let to = submit(
        &svc,
        &format!("{org}/rule"),
        &admin.token(&svc, None),
        &[("rule", "director | board{2}")],
    )
    .await;
    assert_eq!(to, format!("{org}?done=rule"));
    let to = submit(
        &svc,
        &format!("{org}/members/{karen_id}/roles"),
        &admin.token(&svc, None),
        &[("role", "board"), ("granted", "true")],
    )
    .await;
    assert_eq!(to, format!("{org}?done=role"));
    // Karen asks for use_seal on her page.
    let to = submit(
        &svc,
        &format!("{org}/request"),
        &karen.substantial(&svc),
        &[("kind", "right"), ("name", "use_seal")],
    )
    .await;
    assert_eq!(to, "/org?done=requested");
    let mine = page_text(&svc, "/org?done=requested", &karen.substantial(&svc)).await;
    assert!(mine.contains("id=\"message\""), "{mine}");
    assert!(mine.contains("<dd class=\"roles\">board</dd>"), "{mine}");
    assert!(
        mine.contains("<dd class=\"pending\">use_seal</dd>"),
        "{mine}"
    );
    assert!(
        mine.contains(&format!("action=\"/org/{CVR}/leave?csrf=")),
        "{mine}"
    );

    // The administrator's page: the rule, Karen's role, her request; labelled forms.
    let html = page_text(&svc, &org, &admin.token(&svc, None)).await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("<code>director | board{2}</code>"), "{html}");
    assert!(html.contains("<label for=\"rule-text\">"), "{html}");
    assert!(
        html.contains(&format!(
            "<label class=\"visually-hidden\" for=\"role-{karen_id}\">"
        )),
        "{html}"
    );
    assert!(html.contains("<code>board</code>"), "{html}");
    assert!(html.contains("right use_seal"), "{html}");
    let id = html
        .split("data-request=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let to = submit(
        &svc,
        &format!("{org}/requests/{id}"),
        &admin.token(&svc, None),
        &[("approve", "true")],
    )
    .await;
    assert_eq!(to, format!("{org}?done=request"));
    assert_eq!(
        listed(&svc, &admin, &karen_id).await["rights"]["use_seal"],
        true
    );
    let html = page_text(&svc, &to, &admin.token(&svc, None)).await;
    assert!(html.contains("id=\"requests\""), "{html}");
    assert!(!html.contains("data-request="), "decided: {html}");

    // Karen leaves on her page.
    let to = submit(&svc, &format!("{org}/leave"), &karen.substantial(&svc), &[]).await;
    assert_eq!(to, "/org?done=left");
    let mine = page_text(&svc, &to, &karen.substantial(&svc)).await;
    assert!(!mine.contains("id=\"orgs\""), "{mine}");
    let (_, members) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/members"),
        &admin.token(&svc, None),
    )
    .await;
    assert_eq!(members["members"].as_array().unwrap().len(), 1);
    svc.stop().await;
}
