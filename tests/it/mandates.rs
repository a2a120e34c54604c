//! Powers of attorney over HTTP: an organisation offers one to another, whose administrator
//! accepts it and assigns it to a member, who may then use it (and nobody else, for nothing
//! else, at no other time) until the grantor revokes it; the request direction; who may change
//! what at which level; a person as grantee; the audit trails of both organisations; a database
//! writer who reactivates a revoked mandate; and the operator's command line.

use std::io::Write as _;

use qsign::types::PersonId;
use serde_json::{json, Value};

use crate::orgs::{get, post, Person};
use crate::signing::refused;
use crate::support::{self, Service};

/// The grantor in these tests.
const A: &str = "35408002";
/// The grantee organisation.
const B: &str = "25313763";

/// Two organisations, A and B, each with an administrator at High, and two members of B who
/// hold `sign_on_behalf` there.
struct World {
    svc: Service,
    a_admin: Person,
    a_admin_id: String,
    b_admin: Person,
    /// The member the mandate is assigned to.
    member: Person,
    member_id: PersonId,
    /// A member without the assignment.
    other: Person,
    other_id: PersonId,
}

async fn world() -> World {
    let svc = Service::start().await;
    let a_admin = Person::new("admin-a", "Astrid", "Admin");
    let b_admin = Person::new("admin-b", "Bo", "Boss");
    let member = Person::new("member-m", "Karen", "Blixen");
    let other = Person::new("member-n", "Nils", "Nielsen");
    let (a_admin_id, a_user) = a_admin.provision(&svc).await;
    let (_, b_user) = b_admin.provision(&svc).await;
    let (member_id, member_user) = member.provision(&svc).await;
    let (other_id, other_user) = other.provision(&svc).await;
    let orgs = &svc.service.orgs;
    orgs.create_organisation(A, "Rungstedlund A/S", &a_user)
        .await
        .unwrap();
    orgs.create_organisation(B, "Other ApS", &b_user)
        .await
        .unwrap();
    for (who, username) in [(&member, &member_user), (&other, &other_user)] {
        let (status, invitation) = post(
            &svc,
            &format!("/v1/orgs/{B}/invitations"),
            &b_admin.token(&svc, None),
            &json!({"username": username, "sign_on_behalf": true}),
        )
        .await;
        assert_eq!(status, 201, "{invitation}");
        let (status, joined) = post(
            &svc,
            "/v1/orgs/invitations/accept",
            &who.token(&svc, None),
            &json!({"code": invitation["code"]}),
        )
        .await;
        assert_eq!(status, 200, "{joined}");
    }
    World {
        svc,
        a_admin,
        a_admin_id,
        b_admin,
        member,
        member_id: PersonId::parse(&member_id).unwrap(),
        other,
        other_id: PersonId::parse(&other_id).unwrap(),
    }
}

impl World {
    /// `POST path` by `who` with `body`.
    async fn post(&self, who: &Person, path: &str, body: Value) -> (u16, Value) {
        post(&self.svc, path, &who.token(&self.svc, None), &body).await
    }

    /// `GET path` by `who`.
    async fn get(&self, who: &Person, path: &str) -> (u16, Value) {
        get(&self.svc, path, &who.token(&self.svc, None)).await
    }

    /// The signing-time check, answering the error code when it refuses.
    async fn usable(
        &self,
        person: &PersonId,
        id: &str,
        grantor: &str,
        scope: &str,
        at: i64,
    ) -> Result<qsign::service::MandateGrant, String> {
        self.svc
            .service
            .orgs
            .usable_mandate(person, id, grantor, scope, at)
            .await
            .map_err(|e| e.code.as_str().to_owned())
    }

    /// The events of an organisation's audit trail about mandate `id`, newest first.
    async fn mandate_events(&self, admin: &Person, cvr: &str, id: &str) -> Vec<Value> {
        let (status, audit) = self.get(admin, &format!("/v1/orgs/{cvr}/audit")).await;
        assert_eq!(status, 200, "{audit}");
        audit["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["details"]["mandate"] == id)
            .cloned()
            .collect()
    }
}

/// Terms valid from `now` for an hour.
fn terms(scope: &str, now: i64) -> Value {
    json!({"scope": scope, "valid_from": now, "valid_until": now + 3600})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mandate_offered_accepted_and_assigned_is_usable_until_revoked() {
    let w = world().await;
    let now = w.svc.now();

    // A offers B a mandate to sign on its behalf for an hour; B accepts and assigns it to M.
    let mut offer = terms("sign_on_behalf", now);
    offer["to_cvr"] = B.into();
    let (status, offered) = w
        .post(&w.a_admin, &format!("/v1/orgs/{A}/mandates"), offer)
        .await;
    assert_eq!(status, 201, "{offered}");
    assert_eq!(offered["state"], "offered");
    assert_eq!(offered["grantor_name"], "Rungstedlund A/S");
    assert_eq!(offered["grantee_cvr"], B);
    assert_eq!(offered["grantee_name"], "Other ApS");
    let id = offered["id"].as_str().unwrap().to_owned();
    assert_eq!(
        w.usable(&w.member_id, &id, A, "sign_on_behalf", now).await,
        Err("mandate_invalid".into()),
        "not accepted yet"
    );
    let (status, accepted) = w
        .post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!((status, &accepted["state"]), (200, &json!("active")));
    let (status, body) = w
        .post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/assignments"),
            json!({"person": w.member_id.to_string(), "assigned": true}),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // M may use it now, for the scope and for a theme it covers; what a signature carries.
    let grant = w
        .usable(&w.member_id, &id, A, "sign_on_behalf", now)
        .await
        .unwrap();
    assert_eq!(
        (grant.grantor_cvr.as_str(), grant.grantor_name.as_str()),
        (A, "Rungstedlund A/S")
    );
    assert_eq!(grant.holder_cvr.as_deref(), Some(B));
    assert_eq!(grant.valid_until, now + 3600);
    let carried = grant.to_mandate();
    assert_eq!(
        (carried.id.as_str(), carried.holder_cvr.as_deref()),
        (id.as_str(), Some(B))
    );
    assert!(w
        .usable(&w.member_id, &id, A, "accounting", now + 10)
        .await
        .is_ok());
    // Nobody else, for nothing else, at no other time, for no other grantor.
    for (who, scope, at, grantor, why) in [
        (
            &w.other_id,
            "sign_on_behalf",
            now,
            A,
            "a member without the assignment",
        ),
        (&w.member_id, "use_seal", now, A, "another scope"),
        (
            &w.member_id,
            "sign_on_behalf",
            now - 1,
            A,
            "before the window",
        ),
        (&w.member_id, "sign_on_behalf", now + 3600, A, "at its end"),
        (
            &w.member_id,
            "sign_on_behalf",
            now + 7200,
            A,
            "after the window",
        ),
        (&w.member_id, "sign_on_behalf", now, B, "another grantor"),
    ] {
        assert_eq!(
            w.usable(who, &id, grantor, scope, at).await,
            Err("mandate_invalid".into()),
            "{why}"
        );
    }

    // The lists: A granted it, B holds it, M may use it, N may not.
    let (status, of_a) = w.get(&w.a_admin, &format!("/v1/orgs/{A}/mandates")).await;
    assert_eq!(status, 200, "{of_a}");
    assert_eq!(of_a["granted"][0]["id"], id.as_str(), "{of_a}");
    assert_eq!(of_a["received"], json!([]));
    let (_, of_b) = w.get(&w.b_admin, &format!("/v1/orgs/{B}/mandates")).await;
    assert_eq!(of_b["received"][0]["id"], id.as_str(), "{of_b}");
    assert_eq!(
        of_b["received"][0]["assignments"][0]["person"],
        w.member_id.to_string(),
        "{of_b}"
    );
    let (_, mine) = w.get(&w.member, "/v1/me/mandates").await;
    assert_eq!(mine["usable"][0]["id"], id.as_str(), "{mine}");
    assert_eq!(mine["usable"][0]["holder_cvr"], B, "{mine}");
    let (_, theirs) = w.get(&w.other, "/v1/me/mandates").await;
    assert_eq!(theirs["usable"], json!([]), "{theirs}");

    // A revokes it: the next check fails at once, and it cannot be accepted again.
    let (status, revoked) = w
        .post(
            &w.a_admin,
            &format!("/v1/orgs/{A}/mandates/{id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!((status, &revoked["state"]), (200, &json!("revoked")));
    assert_eq!(
        w.usable(&w.member_id, &id, A, "sign_on_behalf", now).await,
        Err("mandate_invalid".into())
    );
    let (_, mine) = w.get(&w.member, "/v1/me/mandates").await;
    assert_eq!(mine["usable"], json!([]), "{mine}");
    refused(
        &w.post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/accept"),
            json!({}),
        )
        .await,
        409,
        "invalid_state",
    );

    // A database writer sets it back to active: the row no longer matches its integrity tag.
    crate::signing::sql(
        &w.svc,
        "UPDATE mandates SET state = 'active' WHERE id = $1",
        &[&id],
    )
    .await;
    assert_eq!(
        w.usable(&w.member_id, &id, A, "sign_on_behalf", now).await,
        Err("mandate_invalid".into())
    );

    // Both audit trails show the offer, the acceptance, the assignment and the revocation,
    // each by the administrator who made it.
    for (admin, cvr) in [(&w.a_admin, A), (&w.b_admin, B)] {
        let events = w.mandate_events(admin, cvr, &id).await;
        let names: Vec<&str> = events
            .iter()
            .map(|r| r["event"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "mandate_revoked",
                "mandate_assigned",
                "mandate_accepted",
                "mandate_offered"
            ],
            "{cvr}: {events:?}"
        );
        assert_eq!(events[0]["actor"], format!("person:{}", w.a_admin_id));
        assert_eq!(events[1]["details"]["person"], w.member_id.to_string());
        assert_eq!(events[3]["details"]["grantee_cvr"], B);
    }
    w.svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requested_mandate_is_active_once_the_grantor_approves() {
    let w = world().await;
    let now = w.svc.now();
    let mut request = terms("accounting", now);
    request["from_cvr"] = A.into();
    let (status, requested) = w
        .post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandate-requests"),
            request,
        )
        .await;
    assert_eq!(status, 201, "{requested}");
    assert_eq!(
        (&requested["state"], &requested["grantor_cvr"]),
        (&json!("requested"), &json!(A))
    );
    let id = requested["id"].as_str().unwrap().to_owned();

    // B cannot approve (or accept) its own request; A approves it.
    for action in ["approve", "accept"] {
        refused(
            &w.post(
                &w.b_admin,
                &format!("/v1/orgs/{B}/mandates/{id}/{action}"),
                json!({}),
            )
            .await,
            409,
            "invalid_state",
        );
    }
    let (status, approved) = w
        .post(
            &w.a_admin,
            &format!("/v1/orgs/{A}/mandates/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!((status, &approved["state"]), (200, &json!("active")));

    // Only the holder assigns it; a theme covers only itself.
    let assign = |assigned: bool| json!({"person": w.member_id.to_string(), "assigned": assigned});
    refused(
        &w.post(
            &w.a_admin,
            &format!("/v1/orgs/{A}/mandates/{id}/assignments"),
            assign(true),
        )
        .await,
        409,
        "invalid_state",
    );
    let (status, _) = w
        .post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/assignments"),
            assign(true),
        )
        .await;
    assert_eq!(status, 204);
    assert!(w
        .usable(&w.member_id, &id, A, "accounting", now)
        .await
        .is_ok());
    assert_eq!(
        w.usable(&w.member_id, &id, A, "sign_on_behalf", now).await,
        Err("mandate_invalid".into())
    );

    // Taken from the member: unusable at once; taking it again is not_found.
    let (status, _) = w
        .post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/assignments"),
            assign(false),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        w.usable(&w.member_id, &id, A, "accounting", now).await,
        Err("mandate_invalid".into())
    );
    refused(
        &w.post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/assignments"),
            assign(false),
        )
        .await,
        404,
        "not_found",
    );

    // B renounces it.
    let (status, renounced) = w
        .post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!((status, &renounced["state"]), (200, &json!("revoked")));
    let events = w.mandate_events(&w.a_admin, A, &id).await;
    let names: Vec<&str> = events
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "mandate_revoked",
            "mandate_unassigned",
            "mandate_assigned",
            "mandate_approved",
            "mandate_requested"
        ]
    );
    w.svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandate_changes_need_an_administrator_of_a_side_and_requests_that_fit() {
    let w = world().await;
    let now = w.svc.now();
    let mut offer = terms("sign_on_behalf", now);
    offer["to_cvr"] = B.into();
    let path = format!("/v1/orgs/{A}/mandates");

    // Not an administrator of A: a member of B, B's administrator.
    for who in [&w.member, &w.b_admin] {
        refused(&w.post(who, &path, offer.clone()).await, 403, "forbidden");
        refused(&w.get(who, &path).await, 403, "forbidden");
    }

    // Requests that do not fit.
    let with = |changes: Value| {
        let mut body = offer.clone();
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (body, status, code) in [
        (
            with(json!({"to_username": "someone"})),
            400,
            "invalid_request",
        ),
        (with(json!({"to_cvr": A})), 400, "invalid_request"),
        (with(json!({"to_cvr": "12345678"})), 400, "invalid_cvr"),
        (
            with(json!({"scope": "Sign on behalf"})),
            400,
            "invalid_request",
        ),
        (with(json!({"valid_until": now})), 400, "invalid_request"),
        (
            with(json!({"valid_until": now + 6 * 366 * 86_400})),
            400,
            "invalid_request",
        ),
        (with(json!({"to_cvr": "12345674"})), 404, "not_found"),
    ] {
        refused(&w.post(&w.a_admin, &path, body).await, status, code);
    }
    let no_grantee = json!({"scope": "accounting", "valid_from": now, "valid_until": now + 60});
    refused(
        &w.post(&w.a_admin, &path, no_grantee).await,
        400,
        "invalid_request",
    );

    // Unknown mandates and actions.
    let unknown = uuid::Uuid::new_v4();
    for tail in [format!("{unknown}/revoke"), "not-a-uuid/revoke".to_owned()] {
        refused(
            &w.post(&w.a_admin, &format!("{path}/{tail}"), json!({}))
                .await,
            404,
            "not_found",
        );
    }
    let (status, offered) = w.post(&w.a_admin, &path, offer.clone()).await;
    assert_eq!(status, 201, "{offered}");
    let id = offered["id"].as_str().unwrap().to_owned();
    refused(
        &w.post(&w.a_admin, &format!("{path}/{id}/publish"), json!({}))
            .await,
        404,
        "not_found",
    );
    // A third organisation's administrator does not see it.
    let third = Person::new("admin-c", "Carl", "Third");
    let (_, third_user) = third.provision(&w.svc).await;
    w.svc
        .service
        .orgs
        .create_organisation("12345674", "Third ApS", &third_user)
        .await
        .unwrap();
    refused(
        &w.post(
            &third,
            &format!("/v1/orgs/12345674/mandates/{id}/accept"),
            json!({}),
        )
        .await,
        404,
        "not_found",
    );
    // The grantor cannot accept its own offer, nor assign it before it is active.
    refused(
        &w.post(&w.a_admin, &format!("{path}/{id}/accept"), json!({}))
            .await,
        409,
        "invalid_state",
    );
    refused(
        &w.post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/assignments"),
            json!({"person": w.member_id.to_string(), "assigned": true}),
        )
        .await,
        409,
        "invalid_state",
    );
    // B refuses it: over for good.
    let (status, refused_offer) = w
        .post(
            &w.b_admin,
            &format!("/v1/orgs/{B}/mandates/{id}/refuse"),
            json!({}),
        )
        .await;
    assert_eq!((status, &refused_offer["state"]), (200, &json!("refused")));
    for action in ["accept", "revoke"] {
        refused(
            &w.post(
                &w.b_admin,
                &format!("/v1/orgs/{B}/mandates/{id}/{action}"),
                json!({}),
            )
            .await,
            409,
            "invalid_state",
        );
    }
    w.svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandate_changes_need_a_high_login() {
    let svc = Service::start().await;
    let karen = crate::signing::person(&svc, "karen").await;
    for (cvr, name) in [(A, "Rungstedlund A/S"), (B, "Other ApS")] {
        svc.service
            .orgs
            .create_organisation(cvr, name, "karen")
            .await
            .unwrap();
    }
    // Password + TOTP is Substantial: the list is read, nothing changes.
    let token = karen.login(&svc, true).await;
    let (status, list) = get(&svc, &format!("/v1/orgs/{A}/mandates"), &token).await;
    assert_eq!(status, 200, "{list}");
    let now = svc.now();
    let mut offer = terms("sign_on_behalf", now);
    offer["to_cvr"] = B.into();
    let mut request = terms("sign_on_behalf", now);
    request["from_cvr"] = A.into();
    let unknown = uuid::Uuid::new_v4();
    for (path, body) in [
        (format!("/v1/orgs/{A}/mandates"), offer),
        (format!("/v1/orgs/{B}/mandate-requests"), request),
        (format!("/v1/orgs/{A}/mandates/{unknown}/revoke"), json!({})),
        (
            format!("/v1/orgs/{B}/mandates/{unknown}/assignments"),
            json!({"person": unknown.to_string(), "assigned": true}),
        ),
        (format!("/v1/me/mandates/{unknown}/accept"), json!({})),
    ] {
        refused(
            &post(&svc, &path, &token, &body).await,
            403,
            "insufficient_loa",
        );
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_grantee_accepts_by_username_and_uses_the_mandate_alone() {
    let w = world().await;
    let now = w.svc.now();
    let proxy = Person::new("proxy-p", "Peter", "Proxy");
    let (proxy_id, proxy_user) = proxy.provision(&w.svc).await;
    let proxy_id = PersonId::parse(&proxy_id).unwrap();
    let mut offer = terms("accounting", now);
    offer["to_username"] = proxy_user.clone().into();
    let (status, offered) = w
        .post(&w.a_admin, &format!("/v1/orgs/{A}/mandates"), offer)
        .await;
    assert_eq!(status, 201, "{offered}");
    assert_eq!(
        (&offered["grantee_cvr"], &offered["grantee_username"]),
        (&Value::Null, &json!(proxy_user))
    );
    assert_eq!(offered["grantee_name"], "Peter Proxy");
    let id = offered["id"].as_str().unwrap().to_owned();

    // The person sees the offer; someone else cannot take it.
    let (_, mine) = w.get(&proxy, "/v1/me/mandates").await;
    assert_eq!(mine["offered"][0]["id"], id.as_str(), "{mine}");
    assert_eq!(mine["usable"], json!([]), "{mine}");
    refused(
        &w.post(
            &w.member,
            &format!("/v1/me/mandates/{id}/accept"),
            json!({}),
        )
        .await,
        404,
        "not_found",
    );
    let (status, accepted) = w
        .post(&proxy, &format!("/v1/me/mandates/{id}/accept"), json!({}))
        .await;
    assert_eq!((status, &accepted["state"]), (200, &json!("active")));
    refused(
        &w.post(&proxy, &format!("/v1/me/mandates/{id}/approve"), json!({}))
            .await,
        409,
        "invalid_state",
    );

    // Usable by the person alone, without an organisation.
    let grant = w
        .usable(&proxy_id, &id, A, "accounting", now)
        .await
        .unwrap();
    assert_eq!(grant.holder_cvr, None);
    assert_eq!(grant.to_mandate().holder_cvr, None);
    assert_eq!(
        w.usable(&w.member_id, &id, A, "accounting", now).await,
        Err("mandate_invalid".into())
    );
    let (_, mine) = w.get(&proxy, "/v1/me/mandates").await;
    assert_eq!(mine["usable"][0]["id"], id.as_str(), "{mine}");
    assert_eq!(mine["usable"][0]["holder_cvr"], Value::Null, "{mine}");
    assert_eq!(mine["offered"], json!([]), "{mine}");

    // The person's own history shows it; they renounce it.
    let (_, history) = w.get(&proxy, "/v1/me/history").await;
    let events: Vec<&Value> = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["event"]["type"])
        .collect();
    assert!(
        events.contains(&&json!("mandate_offered")) && events.contains(&&json!("mandate_accepted")),
        "{history}"
    );
    let (status, renounced) = w
        .post(&proxy, &format!("/v1/me/mandates/{id}/revoke"), json!({}))
        .await;
    assert_eq!((status, &renounced["state"]), (200, &json!("revoked")));
    assert_eq!(
        w.usable(&proxy_id, &id, A, "accounting", now).await,
        Err("mandate_invalid".into())
    );
    let events = w.mandate_events(&w.a_admin, A, &id).await;
    assert_eq!(events[0]["event"], "mandate_revoked");
    assert_eq!(events[0]["actor"], format!("person:{proxy_id}"));
    w.svc.stop().await;
}

/// Runs `qsign ARGS` on a data directory; answers (exit code, stdout, stderr).
fn qsign(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = support::run(support::qsign(dir).args(args));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `qsign org mandate grant --from A … --scope SCOPE --days 30` with the grantee options `to`.
fn grant(dir: &std::path::Path, to: &[&str], scope: &str) -> (i32, String, String) {
    let mut args = vec!["org", "mandate", "grant", "--from", A];
    args.extend_from_slice(to);
    args.extend_from_slice(&["--scope", scope, "--days", "30"]);
    qsign(dir, &args)
}

/// The mandate id of `granted <id> …` in a command's output.
fn granted(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("granted "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned()
}

#[test]
fn the_operator_grants_lists_and_revokes_mandates_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = qsign(dir.path(), &["init"]);
    assert_eq!(code, 0, "{err}");
    let mut add = support::qsign(dir.path());
    add.args([
        "user",
        "add",
        "astrid",
        "--given-name",
        "Astrid",
        "--family-name",
        "Admin",
        "--password-stdin",
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = add.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    for (cvr, name) in [(A, "Rungstedlund A/S"), (B, "Other ApS")] {
        let (code, _, err) = qsign(
            dir.path(),
            &[
                "org", "add", "--cvr", cvr, "--name", name, "--admin", "astrid",
            ],
        );
        assert_eq!(code, 0, "{err}");
    }

    let (code, out, err) = grant(dir.path(), &["--to-cvr", B], "accounting");
    assert_eq!(code, 0, "{err}");
    let id = granted(&out);
    let (code, out, err) = grant(dir.path(), &["--to-user", "astrid"], "accounting");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" to person "), "{out}");
    // One grantee, not two nor none; a scope in the language.
    let both = ["--to-cvr", B, "--to-user", "astrid"];
    assert_eq!(
        grant(dir.path(), &both, "accounting").0,
        2,
        "clap refuses both"
    );
    assert_eq!(grant(dir.path(), &[], "accounting").0, 2, "and neither");
    let (code, _, err) = grant(dir.path(), &["--to-cvr", B], "Bad Scope");
    assert_eq!(code, 1);
    assert!(err.contains("is not a scope"), "{err}");

    let (code, out, err) = qsign(dir.path(), &["org", "mandate", "list", "--cvr", B]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with(id.as_str()))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("\tactive\treceived\t35408002\tCVR 25313763\taccounting\t"),
        "{line}"
    );
    let revoke = ["org", "mandate", "revoke", "--id", id.as_str()];
    let (code, out, err) = qsign(dir.path(), &revoke);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l == format!("revoked {id}")), "{out}");
    let (_, out, _) = qsign(dir.path(), &["org", "mandate", "list", "--cvr", A]);
    let line = out
        .lines()
        .find(|l| l.starts_with(id.as_str()))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("\trevoked\tgranted\t"), "{line}");
    // Revoked is for good.
    let (code, _, err) = qsign(dir.path(), &revoke);
    assert_eq!(code, 1);
    assert!(err.contains("cannot revoke"), "{err}");
}

impl World {
    /// Offers B a `sign_on_behalf` mandate of A for `secs`, accepted by B and assigned to M;
    /// answers its id.
    async fn mandate_for_member(&self, secs: i64) -> String {
        let now = self.svc.now();
        let offer = json!({"scope": "sign_on_behalf", "valid_from": now,
            "valid_until": now + secs, "to_cvr": B});
        let (status, offered) = self
            .post(&self.a_admin, &format!("/v1/orgs/{A}/mandates"), offer)
            .await;
        assert_eq!(status, 201, "{offered}");
        let id = offered["id"].as_str().unwrap().to_owned();
        let (status, _) = self
            .post(
                &self.b_admin,
                &format!("/v1/orgs/{B}/mandates/{id}/accept"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, body) = self
            .post(
                &self.b_admin,
                &format!("/v1/orgs/{B}/mandates/{id}/assignments"),
                json!({"person": self.member_id.to_string(), "assigned": true}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        id
    }

    /// `POST /v1/documents` of a PDF by `who`, on behalf of A under mandate `id`.
    async fn upload_for_a(&self, who: &Person, id: &str, pdf: &[u8]) -> (u16, Value) {
        crate::orgs::send(
            reqwest::Client::new()
                .post(self.svc.url(&format!(
                    "/v1/documents?format=pades&level=B-T&cvr={A}&mandate={id}"
                )))
                .bearer_auth(who.token(&self.svc, None))
                .body(pdf.to_vec()),
        )
        .await
    }

    /// Signs an uploaded document with `who`'s employee credential of B, approved in the
    /// broker token.
    async fn sign_as_b(&self, who: &Person, uploaded: &Value) -> (u16, Value) {
        let token = who.token(&self.svc, None);
        let employee = crate::orgs::org_credential_of(&self.svc, &token, "employee", B)
            .await
            .expect("employee credential of B");
        crate::cases::sign_uploaded(&self.svc, who, &employee, uploaded, &uploaded["digest"]).await
    }
}

/// The mandate used to sign: B's member signs a PDF on behalf of A with B's employee
/// credential; the signature carries the mandate (read back by qsign's validator, accepted by
/// pdfsig and pyHanko); someone without the assignment is refused; a revocation between
/// approval and signature stops the signature; after the window the mandate cannot be used;
/// both organisations' audit trails show the signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signs_for_the_grantor_within_the_mandate_and_not_after_revocation_or_the_window()
{
    let w = world().await;
    let id = w.mandate_for_member(3600).await;
    let contract = support::sample_pdf(1, "1.7", 0);

    let (status, uploaded) = w.upload_for_a(&w.member, &id, &contract).await;
    assert_eq!(status, 201, "{uploaded}");
    let approval = uploaded["approval"].as_str().unwrap();
    assert!(
        approval.contains("\"role\":\"proxy\"") && approval.contains(&id),
        "{approval}"
    );
    let (status, body) = w.sign_as_b(&w.member, &uploaded).await;
    assert_eq!(status, 200, "{body}");
    let r = reqwest::Client::new()
        .get(w.svc.url(body["signed"].as_str().unwrap()))
        .bearer_auth(w.member.token(&w.svc, None))
        .send()
        .await
        .unwrap();
    let pdf = r.bytes().await.unwrap().to_vec();
    let checked =
        crate::pades::assert_valid(&w.svc, &pdf, 1, false, "signed under a mandate").await;
    // pyHanko decodes the claimed attributes: the role and the mandate it was used under.
    let claimed = checked["signatures"][0]["claimed_attributes"].to_string();
    assert!(
        claimed.contains("proxy") && claimed.contains(&id) && claimed.contains(B),
        "{claimed}"
    );
    let (status, report) = crate::orgs::send(
        reqwest::Client::new()
            .post(w.svc.url("/v1/validate"))
            .body(pdf.clone()),
    )
    .await;
    assert_eq!(status, 200);
    let capacity = &report["signatures"][0]["capacity"];
    assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(
        (
            &capacity["role"],
            &capacity["cvr"],
            &capacity["mandate"]["id"],
            &capacity["mandate"]["holder_cvr"]
        ),
        (&json!("proxy"), &json!(A), &json!(id), &json!(B)),
        "{report}"
    );
    assert!(capacity["text"]
        .as_str()
        .unwrap()
        .contains("Rungstedlund A/S"));

    // A member of B without the assignment.
    let (status, body) = w.upload_for_a(&w.other, &id, &contract).await;
    refused(&(status, body), 403, "mandate_invalid");

    // Approved, then revoked before signing: the signature is refused.
    let (status, pending) = w.upload_for_a(&w.member, &id, &contract).await;
    assert_eq!(status, 201, "{pending}");
    let (status, revoked) = w
        .post(
            &w.a_admin,
            &format!("/v1/orgs/{A}/mandates/{id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!((status, &revoked["state"]), (200, &json!("revoked")));
    let (status, body) = w.sign_as_b(&w.member, &pending).await;
    refused(&(status, body), 403, "mandate_invalid");

    // A mandate for ten minutes: usable now, not after its window.
    let short = w.mandate_for_member(600).await;
    let (status, in_time) = w.upload_for_a(&w.member, &short, &contract).await;
    assert_eq!(status, 201, "{in_time}");
    w.svc.clock.advance(601);
    let (status, body) = w.sign_as_b(&w.member, &in_time).await;
    refused(&(status, body), 403, "mandate_invalid");
    let (status, body) = w.upload_for_a(&w.member, &short, &contract).await;
    refused(&(status, body), 403, "mandate_invalid");

    // A's trail shows the signature made on its behalf under the mandate; B's the signature
    // made with its member's employee credential.
    let (_, a_audit) = w.get(&w.a_admin, &format!("/v1/orgs/{A}/audit")).await;
    let on_behalf: Vec<&Value> = a_audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"] == "signed_in_capacity")
        .collect();
    assert_eq!(on_behalf.len(), 1, "{a_audit}");
    assert_eq!(on_behalf[0]["details"]["mandate"], json!(id), "{a_audit}");
    assert_eq!(on_behalf[0]["details"]["holder_cvr"], json!(B));
    let (_, b_audit) = w.get(&w.b_admin, &format!("/v1/orgs/{B}/audit")).await;
    let made = b_audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"] == "signature_made")
        .count();
    assert_eq!(made, 1, "{b_audit}");
    w.svc.stop().await;
}
