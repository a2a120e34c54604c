//! Signing on behalf of a CVR under its rule of representation, over HTTP: the administrator
//! sets "director alone, or two board members jointly" and the roles; a signing case for a
//! contract collects the board members' signatures as incremental revisions of one PDF; the
//! validator says the rule is not met after one and met after two, naming both roles; someone
//! without a role, a second signature by the same person, a role taken away between approval
//! and signature, and approvals that do not cover the capacity are refused. pdfsig and pyHanko
//! accept every signature of the result.

use serde_json::{json, Value};

use crate::orgs::{get, org_credential, post, send, Person};
use crate::roles::{page, page_text};
use crate::signing::{csc, details};
use crate::support::{sample_pdf, Service};

const CVR: &str = "35408002";

/// Registers the organisation with `admin` as its administrator and makes each of `members`
/// a member with `sign_on_behalf` (invited by username, accepted); answers their person ids.
pub(crate) async fn organisation_with(
    svc: &Service,
    cvr: &str,
    name: &str,
    admin: &Person,
    members: &[&Person],
) -> Vec<String> {
    let (_, admin_username) = admin.provision(svc).await;
    svc.service
        .orgs
        .create_organisation(cvr, name, &admin_username)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for m in members {
        let (id, username) = m.provision(svc).await;
        let (status, invitation) = post(
            svc,
            &format!("/v1/orgs/{cvr}/invitations"),
            &admin.token(svc, None),
            &json!({"username": username, "sign_on_behalf": true}),
        )
        .await;
        assert_eq!(status, 201, "{invitation}");
        let (status, joined) = post(
            svc,
            "/v1/orgs/invitations/accept",
            &m.token(svc, None),
            &json!({"code": invitation["code"]}),
        )
        .await;
        assert_eq!(status, 200, "{joined}");
        ids.push(id);
    }
    ids
}

/// The administrator sets the organisation's rule of representation.
async fn set_rule(svc: &Service, admin: &Person, rule: &str) {
    let (status, body) = send(
        reqwest::Client::new()
            .put(svc.url(&format!("/v1/orgs/{CVR}/rule")))
            .bearer_auth(admin.token(svc, None))
            .json(&json!({ "rule": rule })),
    )
    .await;
    assert!(status == 200 || status == 204, "{status} {body}");
}

async fn set_role(svc: &Service, admin: &Person, person: &str, role: &str, granted: bool) {
    let (status, body) = post(
        svc,
        &format!("/v1/orgs/{CVR}/members/{person}/roles"),
        &admin.token(svc, None),
        &json!({"role": role, "granted": granted}),
    )
    .await;
    assert!(status == 200 || status == 204, "{status} {body}");
}

/// Signs a document of the native flow with the employee credential, approved (over `digest`)
/// in the broker token; answers the status and body.
async fn sign_document(
    svc: &Service,
    who: &Person,
    document: &Value,
    hash: &Value,
) -> (u16, Value) {
    let token = who.token(svc, None);
    let employee = org_credential(svc, &token, "employee")
        .await
        .expect("employee credential");
    sign_uploaded(svc, who, &employee, document, hash).await
}

/// Signs a document of the native flow with `credential`: the SAD from `credentials/authorize`
/// over `hash`, approved in `who`'s broker token (an approval token is for the CSC calls
/// only), then `POST /v1/documents/{id}/sign` with the SAD. Answers the authorization's
/// refusal, or the signature's status and body.
pub(crate) async fn sign_uploaded(
    svc: &Service,
    who: &Person,
    credential: &str,
    document: &Value,
    hash: &Value,
) -> (u16, Value) {
    let mut approval = details(credential, &[("contract.pdf", b"placeholder")]);
    approval[0]["documentDigests"][0]["hash"] = hash.clone();
    let (status, auth) = csc(
        svc,
        "credentials/authorize",
        &who.token(svc, Some(approval)),
        &json!({"credentialID": credential, "numSignatures": 1, "hashes": [hash],
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"}),
    )
    .await;
    if status != 200 {
        return (status, auth);
    }
    post(
        svc,
        &format!("/v1/documents/{}/sign", document["id"].as_str().unwrap()),
        &who.token(svc, None),
        &json!({"credentialID": credential, "SAD": auth["SAD"]}),
    )
    .await
}

/// The validation report of a PDF.
async fn validate(svc: &Service, pdf: &[u8]) -> Value {
    let (status, report) = send(
        reqwest::Client::new()
            .post(svc.url("/v1/validate"))
            .body(pdf.to_vec()),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    report
}

async fn case_pdf(svc: &Service, who: &Person, case: &str) -> Vec<u8> {
    let r = reqwest::Client::new()
        .get(svc.url(&format!("/v1/orgs/{CVR}/cases/{case}/document")))
        .bearer_auth(who.token(svc, None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_completes_when_two_board_members_have_signed_under_the_rule() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let bo = Person::new("board-1", "Bo", "Bestyrelse");
    let berit = Person::new("board-2", "Berit", "Bestyrelse");
    let bent = Person::new("board-3", "Bent", "Bestyrelse");
    let carl = Person::new("clerk-1", "Carl", "Clerk");
    let ids = organisation_with(
        &svc,
        CVR,
        "Rungstedlund A/S",
        &admin,
        &[&bo, &berit, &bent, &carl],
    )
    .await;
    let [bo_id, berit_id, bent_id, _carl_id] = <[String; 4]>::try_from(ids).unwrap();

    // Without a rule no case opens.
    let contract = sample_pdf(2, "1.7", 0);
    let open = |who: &Person| {
        reqwest::Client::new()
            .post(svc.url(&format!(
                "/v1/orgs/{CVR}/cases?title=Lease%20of%20Rungstedlund"
            )))
            .bearer_auth(who.token(&svc, None))
            .body(contract.clone())
    };
    let (status, body) = send(open(&bo)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );

    // The administrator sets the rule and the roles.
    set_rule(&svc, &admin, "director|board{2}").await;
    for id in [&bo_id, &berit_id, &bent_id] {
        set_role(&svc, &admin, id, "board", true).await;
    }

    let (status, case) = send(open(&bo)).await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["state"], "open");
    assert_eq!(case["rule"], "director | board{2}");
    assert_eq!(case["missing"], json!(["1 more director"]));
    let id = case["id"].as_str().unwrap().to_owned();
    let signing = |who: &Person, body: Value| {
        let path = format!("/v1/orgs/{CVR}/cases/{id}/signing");
        let token = who.token(&svc, None);
        let svc = &svc;
        async move { post(svc, &path, &token, &body).await }
    };

    // Carl holds no role: refused, whatever role he names.
    for role in ["board", "director"] {
        let (status, body) = signing(&carl, json!({"role": role})).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("right_missing")),
            "{body}"
        );
    }

    // Bo prepares his signature as a board member: the approval covers the capacity.
    let (status, document) =
        signing(&bo, json!({"role": "board", "reason": "Board approval"})).await;
    assert_eq!(status, 201, "{document}");
    let approval = document["approval"].as_str().unwrap();
    assert!(
        approval.contains("capacity=")
            && approval.contains("\"role\":\"board\"")
            && approval.contains("director | board{2}"),
        "{approval}"
    );
    assert_ne!(document["digest"], document["sha256"]);
    // An approval of the document alone does not sign it in a capacity.
    let (status, body) = sign_document(&svc, &bo, &document, &document["sha256"]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "hash_not_authorized");
    let (status, body) = sign_document(&svc, &bo, &document, &document["digest"]).await;
    assert_eq!(status, 200, "{body}");

    let (_, case) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/cases/{id}"),
        &bo.token(&svc, None),
    )
    .await;
    assert_eq!(case["state"], "open", "{case}");
    assert_eq!(case["signatures"][0]["role"], "board");
    assert_eq!(case["signatures"][0]["name"], "Bo Bestyrelse");
    assert_eq!(case["missing"], json!(["1 more board", "1 more director"]));
    let once = case_pdf(&svc, &bo, &id).await;
    let report = validate(&svc, &once).await;
    assert_eq!(
        report["signatures"][0]["capacity"]["role"], "board",
        "{report}"
    );
    assert_eq!(report["representation"][0]["satisfied"], false, "{report}");
    assert_eq!(report["representation"][0]["rule"], "director | board{2}");

    // Bo cannot sign twice.
    let (status, body) = signing(&bo, json!({"role": "board"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("case_closed")),
        "{body}"
    );

    // Bent prepares a signature, then loses the role before signing: refused at once.
    let (status, bents) = signing(&bent, json!({"role": "board"})).await;
    assert_eq!(status, 201, "{bents}");
    set_role(&svc, &admin, &bent_id, "board", false).await;
    let (status, body) = sign_document(&svc, &bent, &bents, &bents["digest"]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("right_missing")),
        "{body}"
    );

    // Berit completes it.
    let (status, document) = signing(&berit, json!({"role": "board"})).await;
    assert_eq!(status, 201, "{document}");
    let (status, body) = sign_document(&svc, &berit, &document, &document["digest"]).await;
    assert_eq!(status, 200, "{body}");
    let (_, case) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/cases/{id}"),
        &berit.token(&svc, None),
    )
    .await;
    assert_eq!(case["state"], "complete", "{case}");
    assert_eq!(case["missing"], json!([]));
    let (status, body) = signing(&berit, json!({"role": "board"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("case_closed")),
        "{body}"
    );

    // The result: both signatures in one PDF, accepted by pdfsig and pyHanko; the rule met.
    let done = case_pdf(&svc, &admin, &id).await;
    assert!(
        done.starts_with(&once),
        "each signature is an incremental revision"
    );
    crate::pades::assert_valid(&svc, &done, 2, false, "the case's PDF").await;
    let report = validate(&svc, &done).await;
    assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
    let representation = &report["representation"][0];
    assert_eq!(representation["satisfied"], true, "{report}");
    assert_eq!(representation["cvr"], CVR);
    let signed_as: Vec<&str> = representation["signed_as"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(signed_as.len(), 2, "{report}");
    assert!(
        signed_as.iter().all(|s| s.contains("board")),
        "{signed_as:?}"
    );

    // The organisation's audit trail has the case opened and both signatures.
    let (_, audit) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/audit"),
        &admin.token(&svc, None),
    )
    .await;
    let events: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events.iter().filter(|e| **e == "case_opened").count(),
        1,
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| **e == "case_signed").count(),
        2,
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == "signed_in_capacity")
            .count(),
        2,
        "{events:?}"
    );

    // Someone outside the organisation sees nothing of it.
    let stranger = Person::new("stranger-1", "Sven", "Stranger");
    stranger.provision(&svc).await;
    let (status, body) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/cases/{id}"),
        &stranger.token(&svc, None),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    svc.stop().await;
}

fn redirect(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// The pages: a member opens a case by uploading the PDF, the case's page shows the rule and
/// what is still needed and offers only the roles the member holds that count; choosing one
/// leads to the ordinary review page, which names the capacity and offers the employee
/// credential first; a member without a role is told they cannot sign; the list and the
/// download work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_open_and_sign_a_case_on_the_pages() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let bo = Person::new("board-1", "Bo", "Bestyrelse");
    let carl = Person::new("clerk-1", "Carl", "Clerk");
    let ids = organisation_with(&svc, CVR, "Rungstedlund A/S", &admin, &[&bo, &carl]).await;
    set_rule(&svc, &admin, "director | board{2}").await;
    set_role(&svc, &admin, &ids[0], "board", true).await;

    let (content_type, body) = crate::web::multipart_with(
        &[("title", "Lease \"2027\""), ("days", "7")],
        "file",
        "lease.pdf",
        &sample_pdf(1, "1.7", 0),
    );
    let r = page(
        &svc,
        reqwest::Method::POST,
        &format!("/org/{CVR}/cases"),
        &bo.token(&svc, None),
    )
    .header("content-type", content_type)
    .body(body)
    .send()
    .await
    .unwrap();
    let case_page = redirect(&r);
    assert!(
        case_page.starts_with(&format!("/org/{CVR}/cases/")),
        "{case_page}"
    );

    let text = page_text(&svc, &case_page, &bo.token(&svc, None)).await;
    assert!(
        text.contains("Lease &#34;2027&#34;") || text.contains("Lease &quot;2027&quot;"),
        "{text}"
    );
    assert!(
        text.contains("<code id=\"case-rule\">director | board{2}</code>"),
        "{text}"
    );
    assert!(text.contains("1 more director"), "{text}");
    assert!(
        text.contains("<option value=\"role:board\">board</option>"),
        "{text}"
    );
    assert!(!text.contains("role:director"), "{text}");
    // Carl holds no role the rule counts.
    let carls = page_text(&svc, &case_page, &carl.token(&svc, None)).await;
    assert!(carls.contains("id=\"case-no-way\""), "{carls}");
    assert!(!carls.contains("id=\"case-sign\""), "{carls}");

    // Bo chooses to sign as a board member: the review page names the capacity and offers
    // his employee credential first.
    let r = page(
        &svc,
        reqwest::Method::POST,
        &format!("{case_page}/sign"),
        &bo.token(&svc, None),
    )
    .form(&[("way", "role:board")])
    .send()
    .await
    .unwrap();
    let review = redirect(&r);
    assert!(review.starts_with("/sign/"), "{review}");
    let text = page_text(&svc, &review, &bo.token(&svc, None)).await;
    assert!(
        text.contains(
            "board of Rungstedlund A/S (CVR 35408002) under the rule 'director | board{2}'"
        ) || text.contains(
            "board of Rungstedlund A/S (CVR 35408002) under the rule &#39;director | board{2}&#39;"
        ),
        "{text}"
    );
    let token = bo.token(&svc, None);
    let employee = org_credential(&svc, &token, "employee").await.unwrap();
    let first_option = text
        .split("<select id=\"credential\" name=\"credential\">")
        .nth(1)
        .and_then(|s| s.split("value=\"").nth(1))
        .and_then(|s| s.split('"').next())
        .unwrap();
    assert_eq!(first_option, employee, "{text}");
    // A way the member does not have is refused.
    let r = page(
        &svc,
        reqwest::Method::POST,
        &format!("{case_page}/sign"),
        &carl.token(&svc, None),
    )
    .form(&[("way", "role:board")])
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 403);

    // The list, and the current PDF as an attachment with a safe file name.
    let list = page_text(&svc, &format!("/org/{CVR}/cases"), &bo.token(&svc, None)).await;
    assert!(list.contains(&format!("href=\"{case_page}\"")), "{list}");
    let r = page(
        &svc,
        reqwest::Method::GET,
        &format!("{case_page}/document"),
        &bo.token(&svc, None),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"Lease _2027_.pdf\""
    );
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));
    svc.stop().await;
}

/// Parallel signatures: a CAdES case over a text document collects each board member's
/// detached signature; all of them as one SignedData verify with `openssl cms -verify` (every
/// signer, given only the root) and qsign's validator finds the rule met with both roles; an
/// XAdES case keeps each signature as its own file, which xmlsec1 verifies; B-LTA is refused
/// for a parallel case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cades_and_xades_cases_collect_parallel_signatures() {
    let svc = Service::start().await;
    let admin = Person::new("admin-1", "Astrid", "Admin");
    let bo = Person::new("board-1", "Bo", "Bestyrelse");
    let berit = Person::new("board-2", "Berit", "Bestyrelse");
    let ids = organisation_with(&svc, CVR, "Rungstedlund A/S", &admin, &[&bo, &berit]).await;
    set_rule(&svc, &admin, "director | board{2}").await;
    for id in &ids {
        set_role(&svc, &admin, id, "board", true).await;
    }
    let document = b"The board approves the lease of Rungstedlund for 2027.\n".to_vec();
    let open = |format: &str| {
        reqwest::Client::new()
            .post(svc.url(&format!(
                "/v1/orgs/{CVR}/cases?title=Board%20minutes&format={format}"
            )))
            .bearer_auth(bo.token(&svc, None))
            .body(document.clone())
    };

    // CAdES: the default for a document that is not a PDF.
    let (status, case) = send(
        reqwest::Client::new()
            .post(svc.url(&format!("/v1/orgs/{CVR}/cases?title=Board%20minutes")))
            .bearer_auth(bo.token(&svc, None))
            .body(document.clone()),
    )
    .await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["format"], "cades-detached");
    let id = case["id"].as_str().unwrap().to_owned();
    let signing = format!("/v1/orgs/{CVR}/cases/{id}/signing");
    let (status, body) = post(
        &svc,
        &signing,
        &bo.token(&svc, None),
        &json!({"role": "board", "level": "B-LTA"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    for who in [&bo, &berit] {
        let (status, doc) = post(
            &svc,
            &signing,
            &who.token(&svc, None),
            &json!({"role": "board", "level": "B-T"}),
        )
        .await;
        assert_eq!(status, 201, "{doc}");
        assert!(
            doc["approval"].as_str().unwrap().starts_with("capacity="),
            "{doc}"
        );
        let (status, body) = sign_document(&svc, who, &doc, &doc["digest"]).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, case) = get(
        &svc,
        &format!("/v1/orgs/{CVR}/cases/{id}"),
        &bo.token(&svc, None),
    )
    .await;
    assert_eq!(case["state"], "complete", "{case}");
    assert_eq!(
        case["signatures"][1]["signature"],
        format!("/v1/orgs/{CVR}/cases/{id}/signature?n=2")
    );
    let download = |path: String| {
        let token = bo.token(&svc, None);
        let url = svc.url(&path);
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.bytes().await.unwrap().to_vec()
        }
    };
    let unchanged = download(format!("/v1/orgs/{CVR}/cases/{id}/document")).await;
    assert_eq!(unchanged, document, "the document itself stays as it was");
    let all = download(case["signatures_file"].as_str().unwrap().to_owned()).await;
    let root = svc.file(
        "root.pem",
        crate::support::cert_pem(&svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap())
            .as_bytes(),
    );
    let (ok, text) = crate::support::cms_verify(&svc, &root, &all, Some(&document), &[]);
    assert!(ok, "openssl cms -verify of both signers: {text}");
    let (_, printed) = crate::support::openssl(&[
        "cms".as_ref(),
        "-cmsout".as_ref(),
        "-print".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        svc.file("all.p7s", &all).as_os_str(),
    ]);
    assert_eq!(
        printed.matches("signatureAlgorithm:").count(),
        2,
        "{printed}"
    );
    let (status, report) = send(reqwest::Client::new().post(svc.url("/v1/validate")).json(
        &json!({"file": crate::signing::b64(&all), "content": crate::signing::b64(&document)}),
    ))
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(
        report["signatures"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    assert_eq!(report["representation"][0]["satisfied"], true, "{report}");
    // One signature alone does not meet the rule.
    let first = download(format!("/v1/orgs/{CVR}/cases/{id}/signature?n=1")).await;
    let (ok, text) = crate::support::cms_verify(&svc, &root, &first, Some(&document), &[]);
    assert!(ok, "{text}");
    // Bounds on parallel signers: merging is refused past 100 signatures, and a SignedData
    // claiming 101 signers is refused by the validator before any is checked.
    assert!(qsign::formats::cms::merge_parallel(&vec![first.clone(); 100]).is_ok());
    assert!(qsign::formats::cms::merge_parallel(&vec![first.clone(); 101]).is_err());
    assert!(qsign::formats::cms::merge_parallel(&[]).is_err());
    let crowded = {
        use der::{Decode as _, Encode as _};
        let info = cms::content_info::ContentInfo::from_der(&first).unwrap();
        let mut signed: cms::signed_data::SignedData = info.content.decode_as().unwrap();
        let one = signed.signer_infos.0.iter().next().unwrap().clone();
        let mut many = Vec::new();
        for i in 0..101_u8 {
            let mut copy = one.clone();
            // Distinct values (a SET OF holds each element once).
            let mut value = copy.signature.as_bytes().to_vec();
            value.push(i);
            copy.signature = der::asn1::OctetString::new(value).unwrap();
            many.push(copy);
        }
        signed.signer_infos =
            cms::signed_data::SignerInfos(der::asn1::SetOfVec::try_from(many).unwrap());
        cms::content_info::ContentInfo {
            content_type: info.content_type,
            content: der::Any::encode_from(&signed).unwrap(),
        }
        .to_der()
        .unwrap()
    };
    assert!(qsign::formats::cms::split_signers(&crowded).is_err());
    let (status, body) = send(reqwest::Client::new().post(svc.url("/v1/validate")).json(
        &json!({"file": crate::signing::b64(&crowded), "content": crate::signing::b64(&document)}),
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unusable_input")),
        "{body}"
    );
    let (_, report) = send(reqwest::Client::new().post(svc.url("/v1/validate")).json(
        &json!({"file": crate::signing::b64(&first), "content": crate::signing::b64(&document)}),
    ))
    .await;
    assert_eq!(report["representation"][0]["satisfied"], false, "{report}");

    // XAdES: each signature is its own file.
    let (status, case) = send(open("xades-detached")).await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_owned();
    let (status, doc) = post(
        &svc,
        &format!("/v1/orgs/{CVR}/cases/{id}/signing"),
        &berit.token(&svc, None),
        &json!({"role": "board"}),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let (status, body) = sign_document(&svc, &berit, &doc, &doc["digest"]).await;
    assert_eq!(status, 200, "{body}");
    let xml = download(format!("/v1/orgs/{CVR}/cases/{id}/signature?n=1")).await;
    let (ok, text) =
        crate::support::xmlsec_verify_with(&svc, &xml, Some(("document-1", &document))).await;
    assert!(ok, "xmlsec1: {text}");
    assert!(String::from_utf8_lossy(&xml).contains("SignerRoleV2"));
    let r = reqwest::Client::new()
        .get(svc.url(&format!("/v1/orgs/{CVR}/cases/{id}/signature")))
        .bearer_auth(bo.token(&svc, None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "an XAdES case names the signature");
    svc.stop().await;
}
