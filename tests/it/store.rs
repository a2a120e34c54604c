//! The store suite, run once per back end: SQLite and PostgreSQL.
//!
//! One test per aggregate of `src/store` (keys, persons and their factors, login state,
//! credentials, SAD uses, documents, organisations, representation, audit, PKI, integrity
//! tags, approval requests) calls every
//! repository method with assertions that fail when a back end answers differently: round trips
//! equal what was written, conditional writes refuse when they must, rows taken once are gone,
//! expired rows are not given, unique keys conflict. `store_suite!` runs each against a fresh
//! database of either kind; `every_repository_method_is_called_by_the_suite` fails when a new
//! repository method has no call here.
//!
//! Conventions the coverage test relies on: a store is always called `store` and a transaction
//! `tx` (`store.NAME(` and `tx.NAME(`).

use std::time::Duration;

use qsign::store::{
    ApprovalRow, AuditFilter, AuditRow, Backend, CaseRow, CaseSignatureRow, CertificateRow,
    CheckpointRow, CredentialRow, DocumentRow, Error, InvitationRow, MandateAssignmentRow,
    MandateRow, MemberRow, OauthCodeRow, OauthRequestRow, OperationRow, OrganisationRow,
    PasskeyRow, PersonRow, PushedRequestRow, RequestRow, RoleRow, RuleRow, Store, StoredKey,
    SystemClientRow, Tagged,
};

use crate::support;

/// "Now" in the suite (Unix seconds).
const NOW: i64 = 2_000_000_000;
/// When the rows that expire in the suite expire.
const LATER: i64 = NOW + 300;
/// An organisation's CVR number.
const CVR: &str = "12345678";
/// Another organisation's.
const OTHER_CVR: &str = "87654321";

/// Runs one transaction method in a transaction of its own: committed when the method
/// succeeds, dropped (rolled back) when it fails. Answers the method's result.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $call:expr) => {{
        let mut $tx = $store.begin().await.unwrap();
        let out = $call.await;
        if out.is_ok() {
            $tx.commit().await.unwrap();
        }
        out
    }};
}

/// Asserts that a write was refused for a duplicate key.
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::Conflict)),
        "expected a conflict: {result:?}"
    );
}

/// Asserts that a write was refused by a foreign key (no dedicated error: a query error).
fn assert_dangling<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::Query(_))),
        "expected a foreign key violation: {result:?}"
    );
}

// Rows, each with its key (and owner) as arguments and plausible values elsewhere.

fn key(id: &str) -> StoredKey {
    StoredKey {
        id: id.into(),
        algorithm: "ec-p256".into(),
        blob: vec![0, 1, 2, 255],
        public_key: vec![48, 3, 1, 2, 3],
        created_at: 1_700_000_000,
    }
}

fn person(username: &str) -> PersonRow {
    PersonRow {
        id: format!("id-{username}"),
        username: username.into(),
        given_name: "Ada".into(),
        family_name: format!("{username} Family"),
        status: "active".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
        totp_secret: None,
        totp_last_step: None,
        created_at: NOW,
        password_mac: Some(vec![1; 32]),
    }
}

fn passkey(credential_id: &str, owner: &str, created_at: i64) -> PasskeyRow {
    PasskeyRow {
        credential_id: credential_id.into(),
        person_id: owner.into(),
        passkey: format!(r#"{{"cred":"{credential_id}","counter":0}}"#),
        created_at,
        high_from: created_at + 3_600,
        bound_by: "enrolment-code".into(),
        mac: Some(vec![2; 32]),
    }
}

fn credential(id: &str, owner: &str, policy: &str, created_at: i64) -> CredentialRow {
    CredentialRow {
        id: id.into(),
        person: owner.into(),
        policy: policy.into(),
        algorithm: "ec-p256".into(),
        wrapped: b"QSWK wrapped key".to_vec(),
        serial: format!("serial-{id}"),
        certificate: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        status: "active".into(),
        created_at,
        updated_at: created_at,
        kind: "personal".into(),
        cvr: None,
        mac: Some(vec![3; 32]),
    }
}

/// An organisation's seal credential, made by `owner` (an administrator).
fn seal(id: &str, owner: &str, created_at: i64) -> CredentialRow {
    CredentialRow {
        kind: "seal".into(),
        cvr: Some(CVR.into()),
        ..credential(id, owner, "seal", created_at)
    }
}

fn document(id: &str, owner: &str, expires_at: i64) -> DocumentRow {
    DocumentRow {
        id: id.into(),
        person: owner.into(),
        format: "pades".into(),
        level: "B-T".into(),
        content: b"%PDF-1.7 ...".to_vec(),
        signed: None,
        options: Some(r#"{"reason":"approved"}"#.into()),
        sha256: Some("ab".repeat(32)),
        case_id: None,
        created_at: NOW,
        expires_at,
    }
}

/// A pending approval request of `owner`, asked by the token `jti-<id>`.
fn approval(id: &str, owner: &str, expires_at: i64) -> ApprovalRow {
    ApprovalRow {
        id: id.into(),
        person: owner.into(),
        token_id: format!("jti-{id}"),
        loa: "https://data.gov.dk/concept/core/nsis/loa/High".into(),
        amr: "pwd,hwk".into(),
        credential: "cred-1".into(),
        hash_algorithm: "2.16.840.1.101.3.4.2.1".into(),
        hashes: r#"[{"hash":"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=","label":"Lease.pdf"}]"#
            .into(),
        num_signatures: 1,
        description: Some("tenancy agreement".into()),
        status: "pending".into(),
        sad: None,
        sad_expires_at: None,
        created_at: NOW,
        expires_at,
        decided_at: None,
    }
}

/// A pending asynchronous operation accepted at `created_at`, with its deadline and expiry.
fn operation(id: &str, owner: &str, created_at: i64, deadline_at: i64) -> OperationRow {
    OperationRow {
        id: id.into(),
        person: owner.into(),
        kind: "hash".into(),
        status: "pending".into(),
        result: None,
        created_at,
        deadline_at,
        expires_at: deadline_at + 600,
    }
}

fn organisation(cvr: &str) -> OrganisationRow {
    OrganisationRow {
        cvr: cvr.into(),
        name: format!("Firma {cvr} ApS"),
        status: "active".into(),
        created_at: NOW,
    }
}

/// An administrator of `cvr` without the other rights.
fn member(cvr: &str, p: &PersonRow) -> MemberRow {
    MemberRow {
        cvr: cvr.into(),
        person: p.id.clone(),
        username: p.username.clone(),
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        admin: true,
        sign_on_behalf: false,
        use_seal: false,
        joined_at: NOW,
        mac: Some(vec![4; 32]),
        anonymous: false,
        pseudonym: None,
    }
}

fn invitation(id: &str, cvr: &str, invited: Option<&str>) -> InvitationRow {
    InvitationRow {
        id: id.into(),
        cvr: cvr.into(),
        person: invited.map(Into::into),
        admin: false,
        sign_on_behalf: true,
        use_seal: false,
        created_at: NOW,
        expires_at: LATER,
        mac: Some(vec![5; 32]),
        anonymous: false,
        roles: String::new(),
    }
}

/// A role `p` holds in `cvr`.
fn role(cvr: &str, p: &PersonRow, name: &str) -> RoleRow {
    RoleRow {
        cvr: cvr.into(),
        person: p.id.clone(),
        role: name.into(),
        granted_at: NOW,
        mac: Some(vec![9; 32]),
    }
}

/// A request of `p` in `cvr` for a right or a role.
fn request(id: &str, cvr: &str, p: &PersonRow, kind: &str, name: &str, at: i64) -> RequestRow {
    RequestRow {
        id: id.into(),
        cvr: cvr.into(),
        person: p.id.clone(),
        kind: kind.into(),
        name: name.into(),
        created_at: at,
    }
}

/// A mandate of `grantor` held by an organisation or a person (or, wrongly, both or neither),
/// `offered`, valid from `NOW` until `LATER`.
fn mandate(
    id: &str,
    grantor: &str,
    grantee_cvr: Option<&str>,
    grantee_person: Option<&str>,
    created_at: i64,
) -> MandateRow {
    MandateRow {
        id: id.into(),
        grantor_cvr: grantor.into(),
        grantee_cvr: grantee_cvr.map(Into::into),
        grantee_person: grantee_person.map(Into::into),
        scope: "sign_on_behalf".into(),
        valid_from: NOW,
        valid_until: LATER,
        state: "offered".into(),
        created_at,
        updated_at: created_at,
        mac: Some(vec![6; 32]),
    }
}

/// A mandate's assignment to `p`, with the names the store joins from `persons`.
fn assignment(mandate: &str, p: &PersonRow, assigned_at: i64) -> MandateAssignmentRow {
    MandateAssignmentRow {
        mandate: mandate.into(),
        person: p.id.clone(),
        username: p.username.clone(),
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        assigned_at,
        mac: Some(vec![7; 32]),
    }
}

fn oauth_request(id: &str, expires_at: i64) -> OauthRequestRow {
    OauthRequestRow {
        id: id.into(),
        client_id: "client-1".into(),
        redirect_uri: "https://app.example/cb".into(),
        state: Some("xyz".into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        expires_at,
        authorization_details: Some(r#"[{"type":"credential"}]"#.into()),
    }
}

fn oauth_code(code_hash: &str, owner: &str, expires_at: i64) -> OauthCodeRow {
    OauthCodeRow {
        code_hash: code_hash.into(),
        client_id: "client-1".into(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        person_id: owner.into(),
        factors: "password,totp".into(),
        auth_time: NOW,
        expires_at,
        authorization_details: None,
        loa: "http://eidas.europa.eu/LoA/high".into(),
        mac: Some(vec![6; 32]),
    }
}

fn audit_row(seq: i64, actor: &str, subject: Option<&str>, request_id: Option<&str>) -> AuditRow {
    AuditRow {
        seq,
        at: seq * 1_000,
        actor: actor.into(),
        event: "credential.created".into(),
        subject: subject.map(Into::into),
        request_id: request_id.map(Into::into),
        record: format!("record {seq}").into_bytes(),
        hash: format!("hash {seq}").into_bytes(),
    }
}

/// A checkpoint of `version` 1 (unchained) or 2 (chained).
fn checkpoint(seq: i64, version: i64) -> CheckpointRow {
    CheckpointRow {
        seq,
        head_hash: format!("hash {seq}").into_bytes(),
        at: seq * 1_000,
        key_label: "audit-1".into(),
        signature: vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        version,
        every: if version == 2 { 2 } else { 0 },
        prev_hash: (version == 2).then(|| vec![0; 32]),
    }
}

fn certificate(serial: &str, issuer: &str, role: &str, created_at: i64) -> CertificateRow {
    CertificateRow {
        serial: serial.into(),
        issuer: issuer.into(),
        role: role.into(),
        subject: format!("CN={role} {serial},O=qsign"),
        der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        not_before: created_at,
        not_after: created_at + 365 * 86_400,
        revoked_at: None,
        revocation_reason: None,
        created_at,
    }
}

/// What a SAD use signs of one approved hash: (hash, signed now, approved in all).
fn signs(hash: &[u8], now: i64, approved: i64) -> (Vec<u8>, i64, i64) {
    (hash.to_vec(), now, approved)
}

/// Adds persons (parents of credentials and memberships) by username.
async fn add_persons<const N: usize>(store: &Store, usernames: [&str; N]) -> [PersonRow; N] {
    let persons = usernames.map(person);
    for p in &persons {
        store.insert_person(p).await.unwrap();
    }
    persons
}

/// Uses a SAD (expiring at `LATER`) in a transaction of its own.
async fn use_sad(
    store: &Store,
    id: &str,
    uses: i64,
    max: i64,
    mode: &str,
    hashes: &[(Vec<u8>, i64, i64)],
) -> bool {
    in_tx!(store, |tx| tx.use_sad(id, uses, max, LATER, mode, hashes)).unwrap()
}

/// Changes a credential's state in a transaction of its own (tag `[8; 32]`).
async fn set_status(store: &Store, id: &str, status: &str, now: i64) -> bool {
    in_tx!(store, |tx| tx
        .set_credential_status(id, status, now, &[8; 32]))
    .unwrap()
}

/// Revokes a certificate in a transaction of its own.
async fn revoke(store: &Store, serial: &str, at: i64, reason: i32) -> Result<bool, Error> {
    in_tx!(store, |tx| tx.revoke_certificate(serial, at, reason))
}

/// The sequence numbers an audit query answers.
async fn audit_seqs(store: &Store, filter: &AuditFilter) -> Vec<i64> {
    store
        .audit_query(filter)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect()
}

/// Clears an external subject's tag, as if it had been mapped before tags existed: the
/// repository always writes one, so only SQL makes such a row.
async fn forget_external_tag(store: &Store, issuer: &str, subject: &str) {
    const SQL: &str = "UPDATE external_subjects SET mac = NULL WHERE issuer = $1 AND subject = $2";
    let changed = match store {
        Store::Sqlite { write, .. } => sqlx::query(SQL)
            .bind(issuer)
            .bind(subject)
            .execute(write)
            .await
            .unwrap()
            .rows_affected(),
        Store::Postgres(pool) => sqlx::query(SQL)
            .bind(issuer)
            .bind(subject)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(changed, 1);
}

async fn wrapped_keys_round_trip_and_conflict(store: &Store) {
    store.insert_wrapped_key(&key("a")).await.unwrap();
    assert_eq!(store.wrapped_key("a").await.unwrap(), key("a"));
    assert!(matches!(
        store.wrapped_key("missing").await,
        Err(Error::NotFound)
    ));
    assert_conflict(store.insert_wrapped_key(&key("a")).await);
}

/// `put_setting` overwrites; `insert_setting_if_absent` keeps the first value and answers it.
async fn settings_are_upserted(store: &Store) {
    assert_eq!(store.setting("x").await.unwrap(), None);
    store.put_setting("x", "1", 1).await.unwrap();
    store.put_setting("x", "2", 2).await.unwrap();
    assert_eq!(store.setting("x").await.unwrap().as_deref(), Some("2"));
    assert_eq!(
        store.insert_setting_if_absent("x", "3", 3).await.unwrap(),
        "2",
        "the stored value stays"
    );
    assert_eq!(store.setting("x").await.unwrap().as_deref(), Some("2"));
    assert_eq!(
        store
            .insert_setting_if_absent("y", "first", 4)
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        store
            .insert_setting_if_absent("y", "second", 5)
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(store.setting("y").await.unwrap().as_deref(), Some("first"));
}

/// A SAD's uses grow only up to its maximum; a refused use writes nothing.
async fn sad_uses_stay_within_their_maximum(store: &Store) {
    assert_eq!(store.sad_uses("sad-1").await.unwrap(), 0);
    assert!(use_sad(store, "sad-1", 2, 3, "hash", &[]).await);
    assert!(
        !use_sad(store, "sad-1", 2, 3, "hash", &[]).await,
        "2 + 2 > 3"
    );
    assert_eq!(store.sad_uses("sad-1").await.unwrap(), 2);
    assert!(use_sad(store, "sad-1", 1, 3, "hash", &[]).await);
    assert!(
        !use_sad(store, "sad-1", 1, 3, "hash", &[]).await,
        "all three used"
    );
    assert!(
        !use_sad(store, "sad-1", 4, 3, "hash", &[]).await,
        "more than the maximum at once"
    );
    assert_eq!(store.sad_uses("sad-1").await.unwrap(), 3);
    assert_eq!(store.prune_sad_uses(LATER).await.unwrap(), 0, "not expired");
    assert_eq!(store.prune_sad_uses(LATER + 1).await.unwrap(), 1);
    assert_eq!(store.sad_uses("sad-1").await.unwrap(), 0);
}

/// A SAD's first use fixes its mode; an approved hash is signed no more often than approved;
/// a refused use writes nothing (not even the mode); an approval is used once; pruning forgets
/// modes and counts with the uses.
async fn sad_modes_and_hashes(store: &Store) {
    let (a, b) = ([0xaa_u8; 32], [0xbb_u8; 32]);
    assert!(use_sad(store, "bound", 1, 10, "hash", &[]).await);
    assert!(
        !use_sad(store, "bound", 1, 10, "doc", &[]).await,
        "another mode"
    );
    assert!(use_sad(store, "bound", 1, 10, "hash", &[]).await);
    assert_eq!(store.sad_uses("bound").await.unwrap(), 2);

    // a is approved twice, b once.
    assert!(
        use_sad(
            store,
            "hashes",
            2,
            10,
            "doc",
            &[signs(&a, 1, 2), signs(&b, 1, 1)]
        )
        .await
    );
    assert!(
        !use_sad(store, "hashes", 1, 10, "doc", &[signs(&b, 1, 1)]).await,
        "b was signed once already"
    );
    assert!(
        !use_sad(store, "hashes", 2, 10, "doc", &[signs(&a, 2, 2)]).await,
        "a three times in all"
    );
    assert_eq!(
        store.sad_uses("hashes").await.unwrap(),
        2,
        "refused uses count nothing"
    );
    assert!(use_sad(store, "hashes", 1, 10, "doc", &[signs(&a, 1, 2)]).await);
    assert!(!use_sad(store, "hashes", 1, 10, "doc", &[signs(&a, 1, 2)]).await);
    assert_eq!(store.sad_uses("hashes").await.unwrap(), 3);
    assert!(
        use_sad(store, "twice", 2, 10, "doc", &[signs(&a, 2, 2)]).await,
        "both approvals of a hash at once"
    );

    assert!(!use_sad(store, "refused", 1, 10, "doc", &[signs(&a, 3, 2)]).await);
    assert!(
        use_sad(store, "refused", 1, 10, "hash", &[]).await,
        "the refused use bound no mode"
    );
    assert_eq!(store.sad_uses("refused").await.unwrap(), 1);

    assert!(store.use_once("approval", LATER).await.unwrap());
    assert!(!store.use_once("approval", LATER).await.unwrap());
    assert_eq!(store.sad_uses("approval").await.unwrap(), 1);

    store.prune_sad_uses(LATER + 1).await.unwrap();
    assert!(
        use_sad(store, "bound", 1, 10, "doc", &[]).await,
        "the mode was pruned"
    );
    assert!(
        use_sad(store, "hashes", 1, 10, "doc", &[signs(&b, 1, 1)]).await,
        "the counts were pruned"
    );
    assert!(store.use_once("approval", LATER).await.unwrap());
}

async fn schema_reaches_the_same_version_and_tables(store: &Store) {
    assert_eq!(store.schema_version().await.unwrap(), 18);
    assert_eq!(
        store.tables().await.unwrap(),
        [
            "approval_requests",
            "audit_checkpoints",
            "audit_log",
            "case_signatures",
            "certificates",
            "client_rate",
            "credentials",
            "crl_numbers",
            "csc_operations",
            "documents",
            "enrolment_codes",
            "external_subjects",
            "login_throttle",
            "mandate_assignments",
            "mandates",
            "oauth_codes",
            "oauth_pushed",
            "oauth_requests",
            "oauth_seen",
            "org_invitations",
            "org_members",
            "org_requests",
            "org_roles",
            "org_rules",
            "organisations",
            "passkeys",
            "persons",
            "revoked_tokens",
            "sad_spent",
            "sad_uses",
            "settings",
            "signing_cases",
            "system_clients",
            "webauthn_states",
            "wrapped_keys"
        ]
    );
    store.ping().await.unwrap();
}

/// Every table `prune` names loses its expired row and keeps its live one.
async fn expired_working_data_is_pruned_and_live_data_kept(store: &Store) {
    let [owner] = add_persons(store, ["p"]).await;
    for (id, expires) in [("old", NOW - 1), ("live", LATER)] {
        assert!(in_tx!(store, |tx| tx
            .insert_approval(&approval(id, &owner.id, expires)))
        .unwrap());
        store
            .put_webauthn_state(id, "p", "login", "{}", expires)
            .await
            .unwrap();
        store.revoke_token(id, expires).await.unwrap();
        store.use_once(&format!("sad-{id}"), expires).await.unwrap();
        store
            .put_enrolment_code(&format!("code-{id}"), id, NOW - 600, expires, b"tag")
            .await
            .unwrap();
        store
            .put_oauth_request(&oauth_request(id, expires))
            .await
            .unwrap();
        store
            .put_oauth_code(&oauth_code(id, "p", expires))
            .await
            .unwrap();
        store
            .insert_document(&document(id, "p", expires))
            .await
            .unwrap();
        let accepted = operation(&format!("op-{id}"), "p", NOW - 900, NOW - 800);
        assert!(store.start_operation(&accepted, 10).await.unwrap());
        store
            .finish_operation(&accepted.id, "done", b"{}", expires)
            .await
            .unwrap();
        store
            .put_pushed_request(&pushed(id, "app", expires))
            .await
            .unwrap();
        assert!(store.first_use(id, expires, NOW - 600).await.unwrap());
    }
    // Rate windows go two minutes after they started.
    for window in [NOW - 180, NOW - 60] {
        assert!(store.count_client_use("app", window, 5).await.unwrap());
    }
    // Throttle rows go a day after their lock ended; rows never locked stay.
    for (key, locked_until) in [
        ("user:old", NOW - 86_401),
        ("user:live", NOW - 100),
        ("ip:unlocked", 0),
    ] {
        store.count_failure(key).await.unwrap();
        store.lock_throttle(key, locked_until).await.unwrap();
    }
    let pruned = store.prune(NOW).await.unwrap();
    assert_eq!(
        pruned,
        [
            "webauthn_states",
            "oauth_requests",
            "oauth_codes",
            "revoked_tokens",
            "sad_uses",
            "sad_spent",
            "enrolment_codes",
            "login_throttle",
            "csc_operations",
            "documents",
            "approval_requests",
            "oauth_pushed",
            "oauth_seen",
            "client_rate",
        ]
        .map(|table| (table, 1_u64)),
        "one expired row each"
    );
    assert!(store
        .take_pushed_request("hash-live", "app", NOW)
        .await
        .unwrap()
        .is_some());
    assert!(
        !store.first_use("live", LATER, NOW).await.unwrap(),
        "still seen"
    );
    // The live rows are still there.
    assert!(store
        .take_webauthn_state("live", "p", "login", NOW)
        .await
        .unwrap()
        .is_some());
    assert!(store.token_revoked("live").await.unwrap());
    assert!(!store.token_revoked("old").await.unwrap());
    assert!(
        !store.use_once("sad-live", LATER).await.unwrap(),
        "still used"
    );
    assert!(store
        .enrolment_code("code-live", "live", NOW, false)
        .await
        .unwrap()
        .is_some());
    assert!(store.oauth_request("live", NOW).await.unwrap().is_some());
    assert!(store.take_oauth_code("live", NOW).await.unwrap().is_some());
    assert!(store.document("live", "p", NOW).await.unwrap().is_some());
    assert!(store.approval("live", &owner.id).await.unwrap().is_some());
    assert!(store
        .operation("op-live", "p", NOW)
        .await
        .unwrap()
        .is_some());
    assert!(store.operation("op-old", "p", NOW).await.unwrap().is_none());
    assert_eq!(store.throttle("user:live").await.unwrap(), (1, NOW - 100));
    assert_eq!(store.throttle("ip:unlocked").await.unwrap(), (1, 0));
    assert_eq!(store.throttle("user:old").await.unwrap(), (0, 0));
    // Pruning again finds nothing more.
    assert!(store.prune(NOW).await.unwrap().iter().all(|(_, n)| *n == 0));
}

/// Persons by username and id, taken usernames and ids, status, TOTP steps (never replayed),
/// passkeys, enrolment codes (one per person, spent once, not after expiry) and external
/// subjects (provisioned once).
async fn persons_and_factors(store: &Store) {
    let (alice, bob) = (person("alice"), person("bob"));
    store.insert_person(&alice).await.unwrap();
    in_tx!(store, |tx| tx.insert_person(&bob)).unwrap();
    assert_eq!(
        store.person_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.person_by_id(&bob.id).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(store.person_by_username("nobody").await.unwrap(), None);
    assert_eq!(store.person_by_id("nobody").await.unwrap(), None);
    assert_eq!(
        store.persons().await.unwrap(),
        [alice.clone(), bob.clone()],
        "by username"
    );
    let same_username = PersonRow {
        id: "id-other".into(),
        ..person("alice")
    };
    assert_conflict(store.insert_person(&same_username).await);
    assert_conflict(in_tx!(store, |tx| tx.insert_person(&same_username)));
    let same_id = PersonRow {
        username: "alice2".into(),
        ..alice.clone()
    };
    assert_conflict(store.insert_person(&same_id).await);

    assert!(store.set_person_status("bob", "disabled").await.unwrap());
    assert_eq!(
        store.person_by_id(&bob.id).await.unwrap().unwrap().status,
        "disabled"
    );
    assert!(!store.set_person_status("nobody", "disabled").await.unwrap());

    // TOTP: the step that confirmed the enrolment, and older ones, cannot be used.
    assert!(store
        .set_totp(&alice.id, Some("SEALED-SEED"), Some(100))
        .await
        .unwrap());
    let enrolled = store.person_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        (enrolled.totp_secret.as_deref(), enrolled.totp_last_step),
        (Some("SEALED-SEED"), Some(100))
    );
    assert!(
        !store.consume_totp_step(&alice.id, 100).await.unwrap(),
        "replay"
    );
    assert!(
        !store.consume_totp_step(&alice.id, 99).await.unwrap(),
        "older"
    );
    assert!(store.consume_totp_step(&alice.id, 101).await.unwrap());
    assert!(
        !store.consume_totp_step(&alice.id, 101).await.unwrap(),
        "replay"
    );
    assert_eq!(
        store
            .person_by_id(&alice.id)
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        Some(101)
    );
    assert!(!store.consume_totp_step("nobody", 102).await.unwrap());
    assert!(!store.set_totp("nobody", None, None).await.unwrap());
    assert!(store.set_totp(&alice.id, None, None).await.unwrap());
    assert_eq!(
        store.person_by_id(&alice.id).await.unwrap(),
        Some(alice.clone()),
        "TOTP removed"
    );
    assert!(
        store.consume_totp_step(&alice.id, 1).await.unwrap(),
        "no step used yet"
    );

    // Passkeys.
    let first = passkey("cred-1", &alice.id, NOW);
    let second = passkey("cred-2", &alice.id, NOW + 1);
    let bobs = passkey("cred-3", &bob.id, NOW);
    for p in [&second, &first, &bobs] {
        store.insert_passkey(p).await.unwrap();
    }
    assert_conflict(store.insert_passkey(&first).await);
    assert_eq!(
        store.passkeys(&alice.id).await.unwrap(),
        [first.clone(), second.clone()],
        "oldest first"
    );
    store
        .update_passkey("cred-1", r#"{"counter":7}"#, &[9; 32])
        .await
        .unwrap();
    let updated = PasskeyRow {
        passkey: r#"{"counter":7}"#.into(),
        mac: Some(vec![9; 32]),
        ..first
    };
    assert_eq!(
        store.passkeys(&alice.id).await.unwrap(),
        [updated, second.clone()]
    );
    assert!(
        !store.delete_passkey(&bob.id, "cred-1").await.unwrap(),
        "not bob's"
    );
    assert!(store.delete_passkey(&alice.id, "cred-1").await.unwrap());
    assert!(!store.delete_passkey(&alice.id, "cred-1").await.unwrap());
    assert_eq!(store.passkeys(&alice.id).await.unwrap(), [second]);
    assert_eq!(store.passkeys(&bob.id).await.unwrap(), [bobs]);

    // Enrolment codes.
    store
        .put_enrolment_code("code-1", &alice.id, NOW, LATER, b"tag-1")
        .await
        .unwrap();
    assert_eq!(
        store
            .enrolment_code("code-1", &alice.id, NOW, false)
            .await
            .unwrap(),
        Some((LATER, Some(b"tag-1".to_vec())))
    );
    assert_eq!(
        store
            .enrolment_code("code-1", &bob.id, NOW, false)
            .await
            .unwrap(),
        None,
        "another person's"
    );
    assert_eq!(
        store
            .enrolment_code("code-1", &alice.id, LATER, false)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store
            .enrolment_code("code-1", &alice.id, LATER, true)
            .await
            .unwrap(),
        None,
        "expired, so not spent"
    );
    store
        .put_enrolment_code("code-2", &alice.id, NOW, LATER, b"tag-2")
        .await
        .unwrap();
    assert_eq!(
        store
            .enrolment_code("code-1", &alice.id, NOW, false)
            .await
            .unwrap(),
        None,
        "replaced by the new code"
    );
    assert_eq!(
        store
            .enrolment_code("code-2", &alice.id, NOW, true)
            .await
            .unwrap(),
        Some((LATER, Some(b"tag-2".to_vec())))
    );
    assert_eq!(
        store
            .enrolment_code("code-2", &alice.id, NOW, true)
            .await
            .unwrap(),
        None,
        "spent once"
    );
    assert_eq!(
        store
            .enrolment_code("code-2", &alice.id, NOW, false)
            .await
            .unwrap(),
        None
    );

    // External subjects: the first call creates the person, a second finds them.
    let issuer = "https://idp.example";
    let (carol, dave) = (person("carol"), person("dave"));
    let mapped = (carol.id.clone(), Some(b"map".to_vec()));
    assert_eq!(store.external_person(issuer, "sub-1").await.unwrap(), None);
    assert_eq!(
        store
            .provision_external(issuer, "sub-1", &carol, b"map")
            .await
            .unwrap(),
        mapped
    );
    assert_eq!(store.person_by_id(&carol.id).await.unwrap(), Some(carol));
    assert_eq!(
        store
            .provision_external(issuer, "sub-1", &dave, b"other")
            .await
            .unwrap(),
        mapped,
        "the existing person"
    );
    assert_eq!(
        store.person_by_id(&dave.id).await.unwrap(),
        None,
        "nothing written"
    );
    assert_eq!(
        store.external_person(issuer, "sub-1").await.unwrap(),
        Some(mapped)
    );
    assert_eq!(
        store
            .external_person("https://other.example", "sub-1")
            .await
            .unwrap(),
        None
    );
}

/// Throttle counts and locks, revoked and usable tokens, WebAuthn ceremony states and OAuth
/// requests and codes: taken once, never after expiry.
async fn login_state(store: &Store) {
    assert_eq!(store.throttle("user:alice").await.unwrap(), (0, 0));
    assert_eq!(store.count_attempt("user:alice").await.unwrap(), (1, 0));
    assert_eq!(store.count_failure("user:alice").await.unwrap(), 2);
    store.lock_throttle("user:alice", LATER).await.unwrap();
    assert_eq!(store.throttle("user:alice").await.unwrap(), (2, LATER));
    assert_eq!(
        store.count_attempt("user:alice").await.unwrap(),
        (3, LATER),
        "counting keeps the lock"
    );
    assert_eq!(
        store.throttle("ip:192.0.2.1").await.unwrap(),
        (0, 0),
        "keys are separate"
    );
    assert!(
        !store.end_lock("user:alice", NOW).await.unwrap(),
        "not the lock that is set"
    );
    assert!(store.end_lock("user:alice", LATER).await.unwrap());
    assert!(
        !store.end_lock("user:alice", LATER).await.unwrap(),
        "ended once"
    );
    assert_eq!(
        store.throttle("user:alice").await.unwrap(),
        (3, 0),
        "failures kept"
    );
    store.clear_throttle("user:alice").await.unwrap();
    assert_eq!(store.throttle("user:alice").await.unwrap(), (0, 0));
    assert_eq!(store.count_failure("user:alice").await.unwrap(), 1);

    // Tokens.
    let [alice] = add_persons(store, ["alice"]).await;
    assert!(store.token_usable("jti-1", &alice.id).await.unwrap());
    assert!(
        !store.token_usable("jti-1", "nobody").await.unwrap(),
        "unknown person"
    );
    assert!(!store.token_revoked("jti-1").await.unwrap());
    store.revoke_token("jti-1", LATER).await.unwrap();
    store.revoke_token("jti-1", LATER).await.unwrap();
    assert!(store.token_revoked("jti-1").await.unwrap());
    assert!(
        !store.token_usable("jti-1", &alice.id).await.unwrap(),
        "revoked"
    );
    assert!(store.token_usable("jti-2", &alice.id).await.unwrap());
    assert!(store.set_person_status("alice", "disabled").await.unwrap());
    assert!(
        !store.token_usable("jti-2", &alice.id).await.unwrap(),
        "person disabled"
    );

    // WebAuthn ceremony states.
    let state = r#"{"challenge":"c1"}"#;
    store
        .put_webauthn_state("w-1", &alice.id, "register", state, LATER)
        .await
        .unwrap();
    assert_conflict(
        store
            .put_webauthn_state("w-1", &alice.id, "register", "{}", LATER)
            .await,
    );
    for (who, kind, now, why) in [
        (alice.id.as_str(), "login", NOW, "another ceremony"),
        ("id-bob", "register", NOW, "another person"),
        (alice.id.as_str(), "register", LATER, "expired"),
    ] {
        assert_eq!(
            store
                .take_webauthn_state("w-1", who, kind, now)
                .await
                .unwrap(),
            None,
            "{why}"
        );
    }
    assert_eq!(
        store
            .take_webauthn_state("w-1", &alice.id, "register", NOW)
            .await
            .unwrap()
            .as_deref(),
        Some(state)
    );
    assert_eq!(
        store
            .take_webauthn_state("w-1", &alice.id, "register", NOW)
            .await
            .unwrap(),
        None,
        "taken once"
    );

    // OAuth requests.
    let request = oauth_request("req-1", LATER);
    let bare = OauthRequestRow {
        state: None,
        authorization_details: None,
        ..oauth_request("req-2", LATER)
    };
    store.put_oauth_request(&request).await.unwrap();
    store.put_oauth_request(&bare).await.unwrap();
    assert_conflict(store.put_oauth_request(&request).await);
    assert_eq!(
        store.oauth_request("req-1", NOW).await.unwrap(),
        Some(request.clone())
    );
    assert_eq!(
        store.oauth_request("req-1", NOW).await.unwrap(),
        Some(request.clone()),
        "read, not consumed"
    );
    assert_eq!(
        store.oauth_request("req-1", LATER).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.take_oauth_request("req-1", LATER).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.take_oauth_request("req-1", NOW).await.unwrap(),
        Some(request)
    );
    assert_eq!(
        store.take_oauth_request("req-1", NOW).await.unwrap(),
        None,
        "taken once"
    );
    assert_eq!(store.oauth_request("req-1", NOW).await.unwrap(), None);
    assert_eq!(
        store.take_oauth_request("req-2", NOW).await.unwrap(),
        Some(bare)
    );

    // OAuth codes.
    let code = oauth_code("hash-1", &alice.id, LATER);
    store.put_oauth_code(&code).await.unwrap();
    assert_conflict(store.put_oauth_code(&code).await);
    assert_eq!(
        store.take_oauth_code("hash-1", LATER).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.take_oauth_code("hash-1", NOW).await.unwrap(),
        Some(code)
    );
    assert_eq!(
        store.take_oauth_code("hash-1", NOW).await.unwrap(),
        None,
        "redeemed once"
    );
}

/// Deleting a credential: only a revoked one, once; its wrapped key and tag replaced, and
/// the time recorded.
async fn credential_lifecycle(store: &Store) {
    let [alice] = add_persons(store, ["alice"]).await;
    let live = credential("cred-1", &alice.id, "adv", NOW);
    in_tx!(store, |tx| tx.insert_credential(&live)).unwrap();
    assert_eq!(store.credential_deleted_at("cred-1").await.unwrap(), None);
    assert_eq!(store.credential_deleted_at("cred-x").await.unwrap(), None);
    // A live credential is not deleted (it is revoked first).
    let delete = |id: &'static str, wrapped: &'static [u8], now: i64| async move {
        in_tx!(store, |tx| tx.delete_credential(id, wrapped, &[9; 32], now)).unwrap()
    };
    assert!(!delete("cred-1", b"gone", NOW + 1).await);
    assert!(set_status(store, "cred-1", "revoked", NOW + 1).await);
    assert!(delete("cred-1", b"gone", NOW + 2).await);
    assert!(!delete("cred-1", b"again", NOW + 3).await, "deleted once");
    assert!(!delete("cred-x", b"gone", NOW + 3).await, "unknown");
    assert_eq!(
        store.credential_deleted_at("cred-1").await.unwrap(),
        Some(NOW + 2)
    );
    assert_eq!(
        store.credential("cred-1").await.unwrap(),
        Some(CredentialRow {
            wrapped: b"gone".to_vec(),
            mac: Some(vec![9; 32]),
            status: "revoked".into(),
            updated_at: NOW + 2,
            ..live
        })
    );
    // The tombstone still counts among the person's credentials (the daily limit).
    assert_eq!(store.credentials(&alice.id).await.unwrap().len(), 1);
}

/// Credentials: round trips, oldest first per person, one live credential per person, policy,
/// kind and organisation, one live seal per organisation, states that never leave `revoked`.
async fn credentials(store: &Store) {
    let [alice, bob] = add_persons(store, ["alice", "bob"]).await;
    assert_eq!(store.credential("cred-1").await.unwrap(), None);
    let qes = credential("cred-1", &alice.id, "qes", NOW);
    let adv = credential("cred-2", &alice.id, "adv", NOW + 1);
    let mut tx = store.begin().await.unwrap();
    tx.insert_credential(&adv).await.unwrap();
    tx.insert_credential(&qes).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.credentials(&alice.id).await.unwrap(),
        [qes.clone(), adv.clone()],
        "oldest first"
    );
    assert_eq!(store.credential("cred-2").await.unwrap(), Some(adv.clone()));
    assert!(store.credentials(&bob.id).await.unwrap().is_empty());
    // What a signature reads in one query: the credential and a SAD's uses (0 when never).
    assert_eq!(
        store
            .credential_and_sad_uses("cred-2", "sad-9")
            .await
            .unwrap(),
        Some((adv.clone(), 0))
    );
    assert!(use_sad(store, "sad-9", 2, 5, "hash", &[]).await);
    assert_eq!(
        store
            .credential_and_sad_uses("cred-2", "sad-9")
            .await
            .unwrap(),
        Some((adv, 2))
    );
    assert_eq!(
        store
            .credential_and_sad_uses("cred-x", "sad-9")
            .await
            .unwrap(),
        None
    );

    assert_conflict(in_tx!(store, |tx| tx.insert_credential(&qes)));
    let second_qes = credential("cred-3", &alice.id, "qes", NOW + 2);
    assert_conflict(in_tx!(store, |tx| tx.insert_credential(&second_qes)));
    assert_dangling(in_tx!(store, |tx| tx
        .insert_credential(&credential("cred-x", "nobody", "qes", NOW))));
    let employee = CredentialRow {
        kind: "employee".into(),
        cvr: Some(CVR.into()),
        ..credential("cred-4", &alice.id, "qes", NOW + 3)
    };
    in_tx!(store, |tx| tx.insert_credential(&employee)).unwrap();

    // One live seal per organisation.
    assert_eq!(store.seal_credential(CVR).await.unwrap(), None);
    let first_seal = seal("seal-1", &alice.id, NOW + 4);
    in_tx!(store, |tx| tx.insert_credential(&first_seal)).unwrap();
    assert_eq!(
        store.seal_credential(CVR).await.unwrap(),
        Some(first_seal.clone())
    );
    assert_eq!(store.seal_credential(OTHER_CVR).await.unwrap(), None);
    assert_conflict(in_tx!(store, |tx| tx.insert_credential(&seal(
        "seal-2",
        &bob.id,
        NOW + 5
    ))));

    // States.
    assert!(set_status(store, "cred-1", "suspended", NOW + 10).await);
    assert_eq!(
        store.credential("cred-1").await.unwrap(),
        Some(CredentialRow {
            status: "suspended".into(),
            updated_at: NOW + 10,
            mac: Some(vec![8; 32]),
            ..qes
        })
    );
    assert!(
        !set_status(store, "cred-1", "suspended", NOW + 11).await,
        "already suspended"
    );
    assert!(set_status(store, "cred-1", "active", NOW + 12).await);
    assert!(set_status(store, "cred-1", "revoked", NOW + 13).await);
    for status in ["active", "suspended", "revoked"] {
        assert!(
            !set_status(store, "cred-1", status, NOW + 14).await,
            "revoked is final: {status}"
        );
    }
    let revoked = store.credential("cred-1").await.unwrap().unwrap();
    assert_eq!(
        (revoked.status.as_str(), revoked.updated_at),
        ("revoked", NOW + 13)
    );
    assert!(!set_status(store, "unknown", "revoked", NOW).await);

    // A revoked credential frees its policy, a revoked seal its organisation.
    in_tx!(store, |tx| tx.insert_credential(&second_qes)).unwrap();
    assert!(set_status(store, "seal-1", "revoked", NOW + 20).await);
    assert_eq!(store.seal_credential(CVR).await.unwrap(), None);
    let ids: Vec<String> = store
        .credentials(&alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["cred-1", "cred-2", "cred-3", "cred-4", "seal-1"]);
}

/// Documents: counted and read while unexpired and only by their owner, signed (content
/// dropped), deleted by their owner once, pruned at expiry.
async fn documents(store: &Store) {
    let (alice, bob) = ("id-alice", "id-bob");
    assert_eq!(store.count_documents(alice, NOW).await.unwrap(), 0);
    let pdf = document("doc-1", alice, LATER);
    let short = DocumentRow {
        options: None,
        sha256: None,
        ..document("doc-2", alice, NOW + 10)
    };
    let bobs = document("doc-3", bob, LATER);
    for d in [&pdf, &short, &bobs] {
        store.insert_document(d).await.unwrap();
    }
    assert_conflict(store.insert_document(&pdf).await);
    assert_eq!(store.count_documents(alice, NOW).await.unwrap(), 2);
    assert_eq!(
        store.count_documents(alice, NOW + 10).await.unwrap(),
        1,
        "doc-2 expired"
    );
    assert_eq!(
        store.document("doc-1", alice, NOW).await.unwrap(),
        Some(pdf.clone())
    );
    assert_eq!(
        store.document("doc-2", alice, NOW).await.unwrap(),
        Some(short)
    );
    assert_eq!(
        store.document("doc-1", bob, NOW).await.unwrap(),
        None,
        "not bob's"
    );
    assert_eq!(
        store.document("doc-2", alice, NOW + 10).await.unwrap(),
        None,
        "expired"
    );

    store
        .set_document_signed("doc-1", b"signed pdf")
        .await
        .unwrap();
    assert_eq!(
        store.document("doc-1", alice, NOW).await.unwrap(),
        Some(DocumentRow {
            content: Vec::new(),
            signed: Some(b"signed pdf".to_vec()),
            ..pdf
        })
    );
    assert!(
        !store.delete_document("doc-1", bob).await.unwrap(),
        "not bob's"
    );
    assert!(store.delete_document("doc-1", alice).await.unwrap());
    assert!(!store.delete_document("doc-1", alice).await.unwrap());

    assert_eq!(
        store.prune_documents(NOW + 10).await.unwrap(),
        1,
        "doc-2, at its expiry"
    );
    assert_eq!(store.count_documents(alice, NOW).await.unwrap(), 0);
    assert_eq!(
        store.document("doc-3", bob, NOW + 10).await.unwrap(),
        Some(bobs)
    );
}

/// Approval requests: read only by their person, listed while pending and unexpired, decided
/// once (approved with the SAD, or refused; not after their time), expired only after it, the
/// SAD collected once by the token that asked while it is valid, pruned once the time and the
/// SAD both ended; the person must exist.
async fn approval_requests(store: &Store) {
    let [alice, bob] = add_persons(store, ["alice", "bob"]).await;
    let (a, b) = (alice.id.as_str(), bob.id.as_str());
    let first = approval("req-1", a, LATER);
    let second = approval("req-2", a, NOW + 10);
    let bobs = approval("req-3", b, LATER);
    for r in [&first, &second, &bobs] {
        assert!(in_tx!(store, |tx| tx.insert_approval(r)).unwrap());
    }
    assert!(
        !in_tx!(store, |tx| tx.insert_approval(&first)).unwrap(),
        "the id is taken"
    );
    assert_dangling(in_tx!(store, |tx| tx.insert_approval(&approval(
        "req-4",
        "id-nobody",
        LATER
    ))));
    assert_eq!(
        store.approval("req-1", a).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.approval("req-1", b).await.unwrap(), None, "not bob's");
    assert_eq!(store.approval("req-9", a).await.unwrap(), None);
    let ids = |rows: Vec<ApprovalRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.pending_approvals(a, NOW).await.unwrap()),
        ["req-1", "req-2"]
    );
    assert_eq!(
        ids(store.pending_approvals(a, NOW + 10).await.unwrap()),
        ["req-1"],
        "req-2 expired"
    );

    // Decided once, by its person, before its time.
    assert!(
        !in_tx!(store, |tx| tx
            .grant_approval("req-1", b, "sad-b", LATER, NOW))
        .unwrap(),
        "not bob's"
    );
    assert!(in_tx!(store, |tx| tx
        .grant_approval("req-1", a, "sad-1", LATER, NOW))
    .unwrap());
    assert!(
        !in_tx!(store, |tx| tx
            .grant_approval("req-1", a, "sad-2", LATER, NOW))
        .unwrap(),
        "decided already"
    );
    assert!(
        !in_tx!(store, |tx| tx.refuse_approval("req-1", a, NOW)).unwrap(),
        "decided already"
    );
    assert!(
        !in_tx!(store, |tx| tx.grant_approval(
            "req-2",
            a,
            "sad-3",
            LATER,
            NOW + 10
        ))
        .unwrap(),
        "expired"
    );
    assert!(
        !in_tx!(store, |tx| tx.refuse_approval("req-2", a, NOW + 10)).unwrap(),
        "expired"
    );
    assert!(
        !in_tx!(store, |tx| tx.expire_approval("req-3", b, NOW)).unwrap(),
        "still in time"
    );
    assert!(in_tx!(store, |tx| tx.refuse_approval("req-3", b, NOW)).unwrap());
    assert!(
        !in_tx!(store, |tx| tx.expire_approval("req-3", b, LATER)).unwrap(),
        "decided already"
    );
    assert!(in_tx!(store, |tx| tx.expire_approval("req-2", a, NOW + 10)).unwrap());
    assert!(
        !in_tx!(store, |tx| tx.expire_approval("req-2", a, NOW + 10)).unwrap(),
        "once"
    );
    assert_eq!(
        store.approval("req-1", a).await.unwrap(),
        Some(ApprovalRow {
            status: "approved".into(),
            sad: Some("sad-1".into()),
            sad_expires_at: Some(LATER),
            decided_at: Some(NOW),
            ..first.clone()
        })
    );
    assert_eq!(
        store.approval("req-2", a).await.unwrap().unwrap().status,
        "expired"
    );
    assert_eq!(
        store.approval("req-3", b).await.unwrap().unwrap().status,
        "refused"
    );
    assert!(store.pending_approvals(a, NOW).await.unwrap().is_empty());

    // The SAD goes once, to the token that asked, while it is valid.
    assert!(
        !in_tx!(store, |tx| tx.collect_approval(
            "req-1",
            a,
            "jti-other",
            NOW
        ))
        .unwrap(),
        "another token"
    );
    assert!(
        !in_tx!(store, |tx| tx.collect_approval(
            "req-1",
            b,
            "jti-req-1",
            NOW
        ))
        .unwrap(),
        "another person"
    );
    assert!(
        !in_tx!(store, |tx| tx.collect_approval(
            "req-1",
            a,
            "jti-req-1",
            LATER
        ))
        .unwrap(),
        "the SAD expired"
    );
    assert!(
        !in_tx!(store, |tx| tx.collect_approval(
            "req-3",
            b,
            "jti-req-3",
            NOW
        ))
        .unwrap(),
        "refused"
    );
    assert!(in_tx!(store, |tx| tx.collect_approval(
        "req-1",
        a,
        "jti-req-1",
        NOW
    ))
    .unwrap());
    assert!(
        !in_tx!(store, |tx| tx.collect_approval(
            "req-1",
            a,
            "jti-req-1",
            NOW
        ))
        .unwrap(),
        "once"
    );
    let collected = store.approval("req-1", a).await.unwrap().unwrap();
    assert_eq!(
        (collected.status.as_str(), collected.sad),
        ("collected", None)
    );

    // Kept while the time to decide or the SAD lasts.
    assert_eq!(
        store.prune_approvals(LATER).await.unwrap(),
        1,
        "req-2, expired at NOW + 10"
    );
    assert_eq!(store.prune_approvals(LATER + 1).await.unwrap(), 2);
    assert_eq!(store.approval("req-1", a).await.unwrap(), None);
}

/// Organisations, members (upserted rights, by username and by CVR, deleted once) and
/// invitations (taken once, back when the taking transaction rolls back); parents must exist.
async fn organisations(store: &Store) {
    let [alice, bob, carol] = add_persons(store, ["alice", "bob", "carol"]).await;
    assert_eq!(store.organisation(CVR).await.unwrap(), None);
    assert!(store.organisations().await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    tx.insert_organisation(&organisation(OTHER_CVR))
        .await
        .unwrap();
    tx.insert_organisation(&organisation(CVR)).await.unwrap();
    tx.commit().await.unwrap();
    assert_conflict(in_tx!(store, |tx| tx.insert_organisation(&organisation(CVR))));
    assert_eq!(
        store.organisation(CVR).await.unwrap(),
        Some(organisation(CVR))
    );
    assert_eq!(
        store.organisations().await.unwrap(),
        [organisation(CVR), organisation(OTHER_CVR)],
        "by CVR"
    );

    // Members.
    let admin = member(CVR, &alice);
    let employee = MemberRow {
        admin: false,
        sign_on_behalf: true,
        ..member(CVR, &bob)
    };
    let elsewhere = member(OTHER_CVR, &alice);
    let mut tx = store.begin().await.unwrap();
    for m in [&employee, &elsewhere, &admin] {
        tx.upsert_member(m).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(
        store.member(CVR, &alice.id).await.unwrap(),
        Some(admin.clone())
    );
    assert_eq!(store.member(CVR, &carol.id).await.unwrap(), None);
    assert_eq!(store.member(OTHER_CVR, &bob.id).await.unwrap(), None);
    assert_eq!(
        store.members(CVR).await.unwrap(),
        [admin.clone(), employee.clone()],
        "by username"
    );
    assert_eq!(
        store.memberships(&alice.id).await.unwrap(),
        [admin, elsewhere],
        "by CVR"
    );
    assert!(store.memberships(&carol.id).await.unwrap().is_empty());

    // Upserting again changes the rights and the tag, not when the member joined.
    let promoted = MemberRow {
        admin: true,
        use_seal: true,
        joined_at: NOW + 50,
        mac: Some(vec![7; 32]),
        ..employee.clone()
    };
    in_tx!(store, |tx| tx.upsert_member(&promoted)).unwrap();
    let promoted = MemberRow {
        joined_at: employee.joined_at,
        ..promoted
    };
    assert_eq!(
        store.member(CVR, &bob.id).await.unwrap(),
        Some(promoted.clone())
    );
    assert_dangling(in_tx!(store, |tx| tx.upsert_member(&member("00000000", &carol))));
    assert_dangling(in_tx!(store, |tx| tx
        .upsert_member(&member(CVR, &person("nobody")))));

    assert!(!in_tx!(store, |tx| tx.delete_member(CVR, &carol.id)).unwrap());
    assert!(in_tx!(store, |tx| tx.delete_member(CVR, &alice.id)).unwrap());
    assert!(
        !in_tx!(store, |tx| tx.delete_member(CVR, &alice.id)).unwrap(),
        "deleted once"
    );
    assert_eq!(store.members(CVR).await.unwrap(), [promoted]);
    assert_eq!(store.memberships(&alice.id).await.unwrap().len(), 1);

    // Invitations.
    let personal = invitation("inv-1", CVR, Some(carol.id.as_str()));
    let open = InvitationRow {
        admin: true,
        anonymous: true,
        roles: "board director".into(),
        ..invitation("inv-2", CVR, None)
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_invitation(&personal).await.unwrap();
    tx.insert_invitation(&open).await.unwrap();
    tx.commit().await.unwrap();
    assert_conflict(in_tx!(store, |tx| tx.insert_invitation(&personal)));
    assert_dangling(in_tx!(store, |tx| tx
        .insert_invitation(&invitation("inv-3", "00000000", None))));
    assert_eq!(
        in_tx!(store, |tx| tx.take_invitation("inv-1")).unwrap(),
        Some(personal)
    );
    assert_eq!(
        in_tx!(store, |tx| tx.take_invitation("inv-1")).unwrap(),
        None,
        "taken once"
    );
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.take_invitation("inv-2").await.unwrap(),
        Some(open.clone())
    );
    drop(tx);
    assert_eq!(
        in_tx!(store, |tx| tx.take_invitation("inv-2")).unwrap(),
        Some(open),
        "back after the rollback"
    );
    assert_eq!(
        in_tx!(store, |tx| tx.take_invitation("unknown")).unwrap(),
        None
    );
}

/// Powers of attorney: round trips, a taken id, exactly one known grantee and an ordered window
/// (constraints), the lists by organisation (granted or held, oldest first) and by person,
/// state changes conditional on the state read, and assignments (upserted with a new time and
/// tag, joined with the person's names, for known mandates and persons, deleted once).
async fn mandates(store: &Store) {
    let [alice, bob] = add_persons(store, ["alice", "bob"]).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_organisation(&organisation(CVR)).await.unwrap();
    tx.insert_organisation(&organisation(OTHER_CVR))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let held = mandate("m-1", CVR, Some(OTHER_CVR), None, NOW);
    let personal = mandate("m-2", OTHER_CVR, None, Some(&alice.id), NOW + 1);
    let mut tx = store.begin().await.unwrap();
    tx.insert_mandate(&held).await.unwrap();
    tx.insert_mandate(&personal).await.unwrap();
    tx.commit().await.unwrap();
    assert_conflict(in_tx!(store, |tx| tx.insert_mandate(&held)));
    for bad in [
        mandate("m-3", CVR, None, None, NOW),
        mandate("m-4", CVR, Some(OTHER_CVR), Some(&alice.id), NOW),
        mandate("m-5", "00000000", Some(OTHER_CVR), None, NOW),
        mandate("m-6", CVR, Some("00000000"), None, NOW),
        mandate("m-7", CVR, None, Some("nobody"), NOW),
        MandateRow {
            valid_until: NOW,
            ..mandate("m-8", CVR, Some(OTHER_CVR), None, NOW)
        },
    ] {
        assert_dangling(in_tx!(store, |tx| tx.insert_mandate(&bad)));
    }
    assert_eq!(store.mandate("m-1").await.unwrap(), Some(held.clone()));
    assert_eq!(store.mandate("m-3").await.unwrap(), None);
    assert_eq!(
        store.mandates_of(CVR).await.unwrap(),
        std::slice::from_ref(&held)
    );
    assert_eq!(
        store.mandates_of(OTHER_CVR).await.unwrap(),
        [held.clone(), personal.clone()],
        "held and granted, oldest first"
    );
    assert_eq!(
        store.mandates_of_person(&alice.id).await.unwrap(),
        [personal]
    );
    assert!(store.mandates_of_person(&bob.id).await.unwrap().is_empty());

    // A state change happens only from the state read, once.
    let active = MandateRow {
        state: "active".into(),
        updated_at: NOW + 10,
        mac: Some(vec![9; 32]),
        ..held.clone()
    };
    assert!(!in_tx!(store, |tx| tx.update_mandate_state(&active, "requested")).unwrap());
    assert_eq!(store.mandate("m-1").await.unwrap(), Some(held));
    assert!(in_tx!(store, |tx| tx.update_mandate_state(&active, "offered")).unwrap());
    assert!(
        !in_tx!(store, |tx| tx.update_mandate_state(&active, "offered")).unwrap(),
        "moved once"
    );
    assert_eq!(store.mandate("m-1").await.unwrap(), Some(active));

    // Assignments.
    let to_bob = assignment("m-1", &bob, NOW + 20);
    let to_alice = assignment("m-1", &alice, NOW + 21);
    let mut tx = store.begin().await.unwrap();
    tx.upsert_mandate_assignment(&to_bob).await.unwrap();
    tx.upsert_mandate_assignment(&to_alice).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.mandate_assignment("m-1", &bob.id).await.unwrap(),
        Some(to_bob.clone())
    );
    assert_eq!(
        store.mandate_assignment("m-2", &bob.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.mandate_assignments("m-1").await.unwrap(),
        [to_alice.clone(), to_bob.clone()],
        "by username"
    );
    assert!(store.mandate_assignments("m-2").await.unwrap().is_empty());
    assert_eq!(
        store.mandate_assignments_of(&bob.id).await.unwrap(),
        std::slice::from_ref(&to_bob)
    );
    let renewed = MandateAssignmentRow {
        assigned_at: NOW + 30,
        mac: Some(vec![8; 32]),
        ..to_bob
    };
    in_tx!(store, |tx| tx.upsert_mandate_assignment(&renewed)).unwrap();
    assert_eq!(
        store.mandate_assignment("m-1", &bob.id).await.unwrap(),
        Some(renewed)
    );
    assert_dangling(in_tx!(store, |tx| tx
        .upsert_mandate_assignment(&assignment("m-9", &bob, NOW))));
    assert_dangling(in_tx!(store, |tx| tx
        .upsert_mandate_assignment(&assignment("m-1", &person("nobody"), NOW))));
    assert!(in_tx!(store, |tx| tx.delete_mandate_assignment("m-1", &bob.id)).unwrap());
    assert!(
        !in_tx!(store, |tx| tx.delete_mandate_assignment("m-1", &bob.id)).unwrap(),
        "deleted once"
    );
    assert!(store
        .mandate_assignments_of(&bob.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.mandate_assignments("m-1").await.unwrap(), [to_alice]);
}

/// Anonymous members (flag and pseudonym round trip), rules of representation (one per
/// organisation, replaced), members' roles (given once, taken once, by organisation and by
/// person) and requests (once per member and thing, taken once and only in their
/// organisation, back after a rollback); roles and requests need a membership and go with it.
async fn representation(store: &Store) {
    let [alice, bob, carol] = add_persons(store, ["alice", "bob", "carol"]).await;
    let anonymous = MemberRow {
        admin: false,
        anonymous: true,
        pseudonym: Some("6a1f0c2e-55b1-4c1e-9d0a-1d2e3f405162".into()),
        ..member(CVR, &bob)
    };
    let mut tx = store.begin().await.unwrap();
    for cvr in [CVR, OTHER_CVR] {
        tx.insert_organisation(&organisation(cvr)).await.unwrap();
    }
    for m in [&member(CVR, &alice), &anonymous, &member(OTHER_CVR, &alice)] {
        tx.upsert_member(m).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(
        store.member(CVR, &bob.id).await.unwrap(),
        Some(anonymous.clone()),
        "anonymity and the pseudonym round trip"
    );

    // Rules.
    assert_eq!(store.rule(CVR).await.unwrap(), None);
    let rule = RuleRow {
        cvr: CVR.into(),
        rule: "director | board{2}".into(),
        set_at: NOW,
        mac: Some(vec![10; 32]),
    };
    in_tx!(store, |tx| tx.put_rule(&rule)).unwrap();
    assert_eq!(store.rule(CVR).await.unwrap(), Some(rule.clone()));
    let replaced = RuleRow {
        rule: "chair & board{1}".into(),
        set_at: NOW + 5,
        mac: Some(vec![11; 32]),
        ..rule.clone()
    };
    in_tx!(store, |tx| tx.put_rule(&replaced)).unwrap();
    assert_eq!(
        store.rule(CVR).await.unwrap(),
        Some(replaced),
        "replaced: one rule per organisation"
    );
    assert_eq!(store.rule(OTHER_CVR).await.unwrap(), None);
    assert_dangling(in_tx!(store, |tx| tx.put_rule(&RuleRow {
        cvr: "00000000".into(),
        ..rule.clone()
    })));

    // Roles.
    let director = role(CVR, &alice, "director");
    let board = role(CVR, &alice, "board");
    let bobs = role(CVR, &bob, "board");
    let elsewhere = role(OTHER_CVR, &alice, "chair");
    let mut tx = store.begin().await.unwrap();
    for r in [&director, &board, &bobs, &elsewhere] {
        assert!(tx.insert_role(r).await.unwrap());
    }
    tx.commit().await.unwrap();
    let again = RoleRow {
        granted_at: NOW + 9,
        ..director.clone()
    };
    assert!(
        !in_tx!(store, |tx| tx.insert_role(&again)).unwrap(),
        "held already"
    );
    assert_eq!(
        store.roles(CVR).await.unwrap(),
        [board.clone(), director.clone(), bobs.clone()],
        "by person and role; the first row stays"
    );
    assert_eq!(
        store.person_roles(&alice.id).await.unwrap(),
        [board.clone(), director, elsewhere],
        "by CVR and role"
    );
    assert!(store.person_roles(&carol.id).await.unwrap().is_empty());
    assert_dangling(in_tx!(store, |tx| tx.insert_role(&role(CVR, &carol, "board"))));
    assert!(in_tx!(store, |tx| tx.delete_role(CVR, &alice.id, "director")).unwrap());
    assert!(
        !in_tx!(store, |tx| tx.delete_role(CVR, &alice.id, "director")).unwrap(),
        "taken once"
    );
    assert!(!in_tx!(store, |tx| tx.delete_role(OTHER_CVR, &bob.id, "board")).unwrap());
    assert_eq!(store.roles(CVR).await.unwrap(), [board.clone(), bobs]);

    // Requests.
    let seal = request("req-1", CVR, &bob, "right", "use_seal", NOW);
    let chair = request("req-2", CVR, &bob, "role", "chair", NOW + 1);
    let alices = request("req-3", OTHER_CVR, &alice, "right", "sign_on_behalf", NOW);
    let mut tx = store.begin().await.unwrap();
    for r in [&chair, &seal, &alices] {
        tx.insert_request(r).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_conflict(in_tx!(store, |tx| tx.insert_request(&RequestRow {
        id: "req-4".into(),
        ..seal.clone()
    })));
    assert_dangling(in_tx!(store, |tx| tx.insert_request(&request(
        "req-5", CVR, &carol, "right", "use_seal", NOW
    ))));
    assert_eq!(
        store.org_requests(CVR).await.unwrap(),
        [seal.clone(), chair.clone()],
        "oldest first"
    );
    assert_eq!(
        store.person_requests(&alice.id).await.unwrap(),
        std::slice::from_ref(&alices)
    );
    assert_eq!(
        in_tx!(store, |tx| tx.take_request(OTHER_CVR, "req-1")).unwrap(),
        None,
        "only in its organisation"
    );
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.take_request(CVR, "req-1").await.unwrap(),
        Some(seal.clone())
    );
    drop(tx);
    assert_eq!(
        in_tx!(store, |tx| tx.take_request(CVR, "req-1")).unwrap(),
        Some(seal),
        "back after the rollback"
    );
    assert_eq!(
        in_tx!(store, |tx| tx.take_request(CVR, "req-1")).unwrap(),
        None,
        "taken once"
    );
    assert_eq!(store.person_requests(&bob.id).await.unwrap(), [chair]);

    // Roles and requests go with the membership.
    assert!(in_tx!(store, |tx| tx.delete_member(CVR, &bob.id)).unwrap());
    assert_eq!(store.roles(CVR).await.unwrap(), [board]);
    assert!(store.org_requests(CVR).await.unwrap().is_empty());
    assert!(store.person_requests(&bob.id).await.unwrap().is_empty());
    assert_eq!(
        store.person_requests(&alice.id).await.unwrap(),
        [alices],
        "another organisation's request stays"
    );
}

/// The audit log: appends under the lock and the head they move, a taken seq, ranges, every
/// filter of a query (newest first), checkpoints (the first per seq kept, in order), and a
/// second appender waiting for the first.
async fn audit(store: &Store) {
    assert_eq!(store.audit_last_seq().await.unwrap(), 0);
    let rows = [
        audit_row(1, "person:a", Some("cert-1"), Some("req-1")),
        audit_row(2, "system", Some("cert-1"), Some("req-2")),
        audit_row(3, "person:a", None, Some("req-3")),
        audit_row(4, "person:b", Some("cert-2"), None),
        audit_row(5, "person:a", Some("cert-2"), Some("req-5")),
    ];
    let mut tx = store.begin().await.unwrap();
    tx.lock_audit().await.unwrap();
    assert_eq!(tx.audit_head().await.unwrap(), None);
    assert_eq!(tx.last_checkpoint().await.unwrap(), None);
    for row in &rows {
        tx.insert_audit(row).await.unwrap();
    }
    assert_eq!(
        tx.audit_head().await.unwrap(),
        Some((5, rows[4].hash.clone()))
    );
    tx.commit().await.unwrap();
    assert_conflict(in_tx!(store, |tx| tx.insert_audit(&rows[2])));
    assert_eq!(store.audit_last_seq().await.unwrap(), 5);
    assert_eq!(store.audit_range(1, 6).await.unwrap(), rows);
    assert_eq!(store.audit_range(2, 4).await.unwrap(), rows[1..3]);
    assert!(store.audit_range(6, 10).await.unwrap().is_empty());
    // By a range of request ids (a short support reference): in request-id order, newest first
    // within one, without an upper end when none is given, at most `limit`.
    let seqs = |found: Vec<AuditRow>| found.iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(
            store
                .audit_by_request_range("req-2", Some("req-5"), 10)
                .await
                .unwrap()
        ),
        [2, 3]
    );
    assert_eq!(
        seqs(
            store
                .audit_by_request_range("req-3", None, 10)
                .await
                .unwrap()
        ),
        [3, 5]
    );
    assert_eq!(
        seqs(store.audit_by_request_range("req-", None, 1).await.unwrap()),
        [1]
    );
    assert!(store
        .audit_by_request_range("zzz", None, 10)
        .await
        .unwrap()
        .is_empty());

    // Queries.
    let all = AuditFilter {
        limit: 10,
        ..AuditFilter::default()
    };
    let newest_first: Vec<AuditRow> = rows.iter().rev().cloned().collect();
    assert_eq!(store.audit_query(&all).await.unwrap(), newest_first);
    let cases: [(AuditFilter, &[i64]); 8] = [
        (
            AuditFilter {
                limit: 2,
                ..all.clone()
            },
            &[5, 4],
        ),
        (
            AuditFilter {
                actor: Some("person:a".into()),
                ..all.clone()
            },
            &[5, 3, 1],
        ),
        (
            AuditFilter {
                subject: Some("cert-1".into()),
                ..all.clone()
            },
            &[2, 1],
        ),
        (
            AuditFilter {
                request_id: Some("req-3".into()),
                ..all.clone()
            },
            &[3],
        ),
        (
            AuditFilter {
                from_ms: Some(2_000),
                to_ms: Some(4_000),
                ..all.clone()
            },
            &[3, 2],
        ),
        (
            AuditFilter {
                actor: Some("person:a".into()),
                from_ms: Some(2_000),
                ..all.clone()
            },
            &[5, 3],
        ),
        (
            AuditFilter {
                subject: Some("cert-2".into()),
                request_id: Some("req-5".into()),
                ..all.clone()
            },
            &[5],
        ),
        (
            AuditFilter {
                actor: Some("nobody".into()),
                ..all.clone()
            },
            &[],
        ),
    ];
    for (filter, seqs) in &cases {
        assert_eq!(audit_seqs(store, filter).await, *seqs, "{filter:?}");
    }

    // Checkpoints.
    let (early, late) = (checkpoint(2, 1), checkpoint(4, 2));
    let mut tx = store.begin().await.unwrap();
    tx.insert_checkpoint(&late).await.unwrap();
    tx.commit().await.unwrap();
    store.insert_checkpoint(&early).await.unwrap();
    let rival = CheckpointRow {
        signature: vec![0x30, 0x00],
        ..early.clone()
    };
    store.insert_checkpoint(&rival).await.unwrap();
    assert_eq!(
        store.checkpoint(2).await.unwrap(),
        Some(early.clone()),
        "the first one stays"
    );
    assert_eq!(store.checkpoint(3).await.unwrap(), None);
    assert_eq!(
        store.checkpoints(0).await.unwrap(),
        [early, late.clone()],
        "in order"
    );
    assert_eq!(
        store.checkpoints(3).await.unwrap(),
        std::slice::from_ref(&late)
    );
    assert!(store.checkpoints(5).await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.last_checkpoint().await.unwrap(), Some(late));
    tx.commit().await.unwrap();

    // A second appender waits for the first to commit, then sees its record as the head.
    let sixth = audit_row(6, "system", None, None);
    let mut tx = store.begin().await.unwrap();
    tx.lock_audit().await.unwrap();
    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.lock_audit().await.unwrap();
            tx.audit_head().await.unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second appender waits");
    tx.insert_audit(&sixth).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(second.await.unwrap(), Some((6, sixth.hash)));
}

/// Certificates: round trip, a taken serial, the newest per role, revocation (once; an unknown
/// serial is not found), revoked ones per issuer, and CRL numbers counting per issuer.
async fn pki(store: &Store) {
    assert!(matches!(
        store.certificate("01").await,
        Err(Error::NotFound)
    ));
    assert_eq!(store.latest_certificate("issuing").await.unwrap(), None);
    let certs = [
        certificate("01", "root", "root", NOW),
        certificate("03", "root", "issuing", NOW + 2),
        certificate("02", "root", "issuing", NOW + 1),
        certificate("0a", "issuing", "natural_person", NOW + 3),
        certificate("0b", "issuing", "natural_person", NOW + 4),
    ];
    let mut tx = store.begin().await.unwrap();
    for c in &certs {
        tx.insert_certificate(c).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_conflict(in_tx!(store, |tx| tx.insert_certificate(&certs[0])));
    assert_eq!(store.certificate("02").await.unwrap(), certs[2]);
    assert_eq!(
        store.latest_certificate("issuing").await.unwrap().as_ref(),
        Some(&certs[1]),
        "the newest"
    );
    assert_eq!(store.latest_certificate("ocsp").await.unwrap(), None);
    assert!(store
        .revoked_certificates("issuing")
        .await
        .unwrap()
        .is_empty());

    assert!(revoke(store, "0b", NOW + 10, 1).await.unwrap());
    assert!(
        !revoke(store, "0b", NOW + 20, 4).await.unwrap(),
        "already revoked"
    );
    assert!(matches!(
        revoke(store, "ff", NOW, 1).await,
        Err(Error::NotFound)
    ));
    let revoked_b = CertificateRow {
        revoked_at: Some(NOW + 10),
        revocation_reason: Some(1),
        ..certs[4].clone()
    };
    assert_eq!(
        store.certificate("0b").await.unwrap(),
        revoked_b,
        "the first revocation stays"
    );
    assert!(revoke(store, "0a", NOW + 30, 4).await.unwrap());
    let revoked_a = CertificateRow {
        revoked_at: Some(NOW + 30),
        revocation_reason: Some(4),
        ..certs[3].clone()
    };
    assert_eq!(
        store.revoked_certificates("issuing").await.unwrap(),
        [revoked_a, revoked_b],
        "by serial"
    );
    assert!(store.revoked_certificates("root").await.unwrap().is_empty());

    for n in 1..=3_i64 {
        assert_eq!(store.next_crl_number("issuing").await.unwrap(), n);
    }
    assert_eq!(store.next_crl_number("root").await.unwrap(), 1);
    assert_eq!(store.next_crl_number("issuing").await.unwrap(), 4);
}

/// Rows without an integrity tag are listed by `untagged` until `set_tag` tags them (a
/// person's TOTP seed replaced at the same time); tagged rows are never listed.
async fn tags(store: &Store) {
    let legacy = PersonRow {
        password_mac: None,
        totp_secret: Some("PLAINSEED".into()),
        ..person("alice")
    };
    let bob = person("bob");
    for p in [&legacy, &bob] {
        store.insert_person(p).await.unwrap();
    }
    let old_passkey = PasskeyRow {
        mac: None,
        ..passkey("cred-old", &legacy.id, NOW)
    };
    store.insert_passkey(&old_passkey).await.unwrap();
    store
        .insert_passkey(&passkey("cred-new", &bob.id, NOW))
        .await
        .unwrap();
    let old_credential = CredentialRow {
        mac: None,
        ..credential("old", &legacy.id, "qes", NOW)
    };
    let old_member = MemberRow {
        mac: None,
        ..member(CVR, &legacy)
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_credential(&old_credential).await.unwrap();
    tx.insert_credential(&credential("new", &bob.id, "qes", NOW))
        .await
        .unwrap();
    tx.insert_organisation(&organisation(CVR)).await.unwrap();
    tx.upsert_member(&old_member).await.unwrap();
    tx.upsert_member(&member(CVR, &bob)).await.unwrap();
    tx.commit().await.unwrap();
    let issuer = "https://idp.example";
    let carol = person("carol");
    store
        .provision_external(issuer, "sub-old", &carol, b"tag")
        .await
        .unwrap();
    store
        .provision_external(issuer, "sub-new", &person("dave"), b"tag")
        .await
        .unwrap();
    forget_external_tag(store, issuer, "sub-old").await;

    let found = store.untagged().await.unwrap();
    assert_eq!(found.persons, std::slice::from_ref(&legacy));
    assert_eq!(found.passkeys, std::slice::from_ref(&old_passkey));
    assert_eq!(found.credentials, std::slice::from_ref(&old_credential));
    assert_eq!(found.members, std::slice::from_ref(&old_member));
    assert_eq!(
        found.externals,
        [(issuer.to_owned(), "sub-old".to_owned(), carol.id.clone())]
    );

    let tag = [0x7a_u8; 32];
    for row in [
        Tagged::Person {
            id: legacy.id.as_str(),
            totp_secret: Some("SEALED"),
        },
        Tagged::Passkey("cred-old"),
        Tagged::Credential("old"),
        Tagged::Member {
            cvr: CVR,
            person: legacy.id.as_str(),
        },
        Tagged::External {
            issuer,
            subject: "sub-old",
        },
    ] {
        store.set_tag(row, &tag).await.unwrap();
    }
    let found = store.untagged().await.unwrap();
    assert!(
        found.persons.is_empty()
            && found.passkeys.is_empty()
            && found.credentials.is_empty()
            && found.members.is_empty()
            && found.externals.is_empty(),
        "{found:?}"
    );
    let mac = Some(tag.to_vec());
    assert_eq!(
        store.person_by_id(&legacy.id).await.unwrap(),
        Some(PersonRow {
            password_mac: mac.clone(),
            totp_secret: Some("SEALED".into()),
            ..legacy.clone()
        })
    );
    assert_eq!(
        store.passkeys(&legacy.id).await.unwrap(),
        [PasskeyRow {
            mac: mac.clone(),
            ..old_passkey
        }]
    );
    assert_eq!(
        store.credential("old").await.unwrap(),
        Some(CredentialRow {
            mac: mac.clone(),
            ..old_credential
        })
    );
    assert_eq!(
        store.member(CVR, &legacy.id).await.unwrap(),
        Some(MemberRow {
            mac: mac.clone(),
            ..old_member
        })
    );
    assert_eq!(
        store.external_person(issuer, "sub-old").await.unwrap(),
        Some((carol.id, mac))
    );
}

/// Signing cases: opened with their document, listed per organisation, a signature recorded
/// only over the current revision of an open, unexpired case (a signature over an older
/// revision, a second signature by the same person, or one after expiry is not recorded), the
/// case complete when asked.
async fn signing_cases(store: &Store) {
    let [alice, bob, carol] = add_persons(store, ["alice", "bob", "carol"]).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_organisation(&organisation(CVR)).await.unwrap();
    tx.commit().await.unwrap();
    let case = CaseRow {
        id: "case-1".into(),
        cvr: CVR.into(),
        title: "Lease".into(),
        format: "pades".into(),
        rule: "director | board{2}".into(),
        opened_by: alice.id.clone(),
        sha256: "00".repeat(32),
        status: "open".into(),
        created_at: NOW,
        expires_at: LATER,
        completed_at: None,
    };
    store.insert_case(&case, b"%PDF rev 0").await.unwrap();
    assert_conflict(store.insert_case(&case, b"%PDF rev 0").await);
    let other = CaseRow {
        id: "case-2".into(),
        created_at: NOW + 1,
        ..case.clone()
    };
    store.insert_case(&other, b"%PDF other").await.unwrap();
    assert_eq!(store.case(CVR, "case-1").await.unwrap(), Some(case.clone()));
    assert_eq!(
        store.case(OTHER_CVR, "case-1").await.unwrap(),
        None,
        "another CVR"
    );
    assert_eq!(
        store.cases(CVR, 10).await.unwrap(),
        [other.clone(), case.clone()],
        "newest first"
    );
    assert_eq!(store.cases(CVR, 1).await.unwrap(), [other]);
    assert_eq!(
        store.case_content("case-1").await.unwrap().as_deref(),
        Some(&b"%PDF rev 0"[..])
    );
    assert_eq!(store.case_content("nope").await.unwrap(), None);

    let signed_by = |p: &PersonRow, at: i64| CaseSignatureRow {
        case_id: "case-1".into(),
        person: p.id.clone(),
        name: p.username.clone(),
        role: "board".into(),
        signed_at: at,
        signature: (p.username == "carol").then(|| b"parallel signature".to_vec()),
    };
    let rev0 = "00".repeat(32);
    let rev1 = "11".repeat(32);
    assert!(store
        .record_case_signature(
            &signed_by(&bob, NOW + 5),
            &rev0,
            Some((b"%PDF rev 1", &rev1)),
            false,
            NOW + 5
        )
        .await
        .unwrap());
    // Made over revision 0 while the case is at revision 1: not recorded, nothing changes.
    assert!(!store
        .record_case_signature(
            &signed_by(&carol, NOW + 6),
            &rev0,
            Some((b"%PDF stale", &"22".repeat(32))),
            true,
            NOW + 6
        )
        .await
        .unwrap());
    // The same person twice: refused by the key, the revision stays.
    assert!(store
        .record_case_signature(
            &signed_by(&bob, NOW + 7),
            &rev1,
            Some((b"%PDF again", &"33".repeat(32))),
            false,
            NOW + 7
        )
        .await
        .is_err());
    assert_eq!(
        store.case_content("case-1").await.unwrap().as_deref(),
        Some(&b"%PDF rev 1"[..])
    );
    // After expiry: not recorded.
    assert!(!store
        .record_case_signature(
            &signed_by(&carol, LATER),
            &rev1,
            Some((b"%PDF late", &"44".repeat(32))),
            true,
            LATER
        )
        .await
        .unwrap());
    let rev2 = "55".repeat(32);
    assert!(store
        .record_case_signature(
            &signed_by(&carol, NOW + 8),
            &rev1,
            Some((b"%PDF rev 2", &rev2)),
            true,
            NOW + 8
        )
        .await
        .unwrap());
    let done = store.case(CVR, "case-1").await.unwrap().unwrap();
    assert_eq!(
        (
            done.status.as_str(),
            done.completed_at,
            done.sha256.as_str()
        ),
        ("complete", Some(NOW + 8), rev2.as_str())
    );
    assert_eq!(
        store.case_signatures("case-1").await.unwrap(),
        [signed_by(&bob, NOW + 5), signed_by(&carol, NOW + 8)]
    );
    // A complete case takes no further signature.
    assert!(!store
        .record_case_signature(
            &signed_by(&alice, NOW + 9),
            &rev2,
            Some((b"%PDF rev 3", &"66".repeat(32))),
            true,
            NOW + 9
        )
        .await
        .unwrap());
    // A parallel signature (no new revision) keeps the document and its digest as they are.
    let parallel = CaseSignatureRow {
        case_id: "case-2".into(),
        ..signed_by(&carol, NOW + 10)
    };
    assert!(store
        .record_case_signature(&parallel, &rev0, None, false, NOW + 10)
        .await
        .unwrap());
    assert_eq!(
        store.case_content("case-2").await.unwrap().as_deref(),
        Some(&b"%PDF other"[..])
    );
    let kept = store.case(CVR, "case-2").await.unwrap().unwrap();
    assert_eq!((kept.sha256, kept.status), (rev0, "open".to_owned()));
    assert_eq!(store.case_signatures("case-2").await.unwrap(), [parallel]);
}

/// Asynchronous operations: accepted within the person's quota of pending ones (others'
/// and finished ones do not count, nor pending ones past their deadline), a taken id
/// conflicts, finished once, read only by their owner until they expire.
async fn operations(store: &Store) {
    let (alice, bob) = ("id-alice", "id-bob");
    let first = operation("op-1", alice, NOW, NOW + 60);
    let second = operation("op-2", alice, NOW, NOW + 10);
    assert!(store.start_operation(&first, 2).await.unwrap());
    assert!(store.start_operation(&second, 2).await.unwrap());
    assert!(
        !store
            .start_operation(&operation("op-3", alice, NOW, NOW + 60), 2)
            .await
            .unwrap(),
        "alice has two pending"
    );
    assert!(
        store
            .start_operation(&operation("op-bob", bob, NOW, NOW + 60), 2)
            .await
            .unwrap(),
        "bob's quota is his own"
    );
    assert_conflict(store.start_operation(&first, 100).await);
    assert_eq!(
        store.operation("op-1", alice, NOW).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.operation("op-1", bob, NOW).await.unwrap(),
        None,
        "not bob's"
    );
    assert_eq!(store.operation("op-3", alice, NOW).await.unwrap(), None);

    // Once op-2's deadline has passed it no longer counts (its node stopped).
    assert!(store
        .start_operation(&operation("op-4", alice, NOW + 10, NOW + 70), 2)
        .await
        .unwrap());
    // Finished, op-1 no longer counts either, and finishes once.
    assert!(!store
        .start_operation(&operation("op-5", alice, NOW + 10, NOW + 70), 2)
        .await
        .unwrap());
    assert!(store
        .finish_operation("op-1", "done", br#"{"signatures":[]}"#, LATER)
        .await
        .unwrap());
    assert!(!store
        .finish_operation("op-1", "failed", b"{}", LATER)
        .await
        .unwrap());
    assert!(store
        .start_operation(&operation("op-5", alice, NOW + 10, NOW + 70), 2)
        .await
        .unwrap());
    assert_eq!(
        store.operation("op-1", alice, NOW).await.unwrap(),
        Some(OperationRow {
            status: "done".into(),
            result: Some(br#"{"signatures":[]}"#.to_vec()),
            expires_at: LATER,
            ..first
        })
    );
    assert_eq!(
        store.operation("op-1", alice, LATER).await.unwrap(),
        None,
        "expired"
    );
}

fn pushed(id: &str, client: &str, expires_at: i64) -> PushedRequestRow {
    PushedRequestRow {
        uri_hash: format!("hash-{id}"),
        client_id: client.into(),
        request: r#"{"redirect_uri":"https://app.example/cb"}"#.into(),
        expires_at,
    }
}

fn system_client(id: &str, cvr: &str, by: &str) -> SystemClientRow {
    SystemClientRow {
        client_id: id.into(),
        cvr: cvr.into(),
        jwk: r#"{"kty":"EC","crv":"P-256","x":"x","y":"y"}"#.into(),
        jkt: format!("jkt-{id}"),
        max_per_authorization: 100,
        per_minute: 20,
        created_by: by.into(),
        created_at: NOW,
        mac: Some(vec![9; 32]),
    }
}

/// Pushed requests are taken once, by their own client, before they expire; ids are used
/// once until they expire; system clients round-trip, conflict and go; rate windows count to
/// their limit.
async fn oauth_clients(store: &Store) {
    // Pushed requests.
    store
        .put_pushed_request(&pushed("p1", "app", LATER))
        .await
        .unwrap();
    assert_conflict(store.put_pushed_request(&pushed("p1", "app", LATER)).await);
    assert!(
        store
            .take_pushed_request("hash-p1", "other-app", NOW)
            .await
            .unwrap()
            .is_none(),
        "another client's"
    );
    assert_eq!(
        store
            .take_pushed_request("hash-p1", "app", NOW)
            .await
            .unwrap(),
        Some(pushed("p1", "app", LATER)),
        "another client's attempt left it in place"
    );
    assert!(store
        .take_pushed_request("hash-p1", "app", NOW)
        .await
        .unwrap()
        .is_none());
    store
        .put_pushed_request(&pushed("p2", "app", NOW))
        .await
        .unwrap();
    assert!(
        store
            .take_pushed_request("hash-p2", "app", NOW)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    // Ids seen once until they expire.
    assert!(store.first_use("dpop:k:j", LATER, NOW).await.unwrap());
    assert!(!store.first_use("dpop:k:j", LATER, NOW).await.unwrap());
    assert!(!store
        .first_use("dpop:k:j", LATER + 60, NOW + 10)
        .await
        .unwrap());
    assert!(
        store
            .first_use("dpop:k:j", LATER + 600, LATER + 1)
            .await
            .unwrap(),
        "an expired id may come again"
    );
    assert!(store.first_use("dpop:k:other", LATER, NOW).await.unwrap());

    // System clients.
    let admin = person("admin");
    store.insert_person(&admin).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_organisation(&organisation(CVR)).await.unwrap();
    tx.insert_organisation(&organisation(OTHER_CVR))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let a = system_client("invoicing", CVR, &admin.id);
    store.insert_system_client(&a).await.unwrap();
    store
        .insert_system_client(&system_client("archive", CVR, &admin.id))
        .await
        .unwrap();
    store
        .insert_system_client(&system_client("other", OTHER_CVR, &admin.id))
        .await
        .unwrap();
    assert_conflict(
        store
            .insert_system_client(&system_client("invoicing", OTHER_CVR, &admin.id))
            .await,
    );
    assert_dangling(
        store
            .insert_system_client(&system_client("ghost", "99999999", &admin.id))
            .await,
    );
    assert_eq!(store.system_client("invoicing").await.unwrap(), Some(a));
    assert_eq!(store.system_client("nobody").await.unwrap(), None);
    let ids: Vec<String> = store
        .system_clients(CVR)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["archive", "invoicing"]);

    // Rate windows: up to the limit per window, per client.
    for _ in 0..3 {
        assert!(store.count_client_use("invoicing", NOW, 3).await.unwrap());
    }
    assert!(!store.count_client_use("invoicing", NOW, 3).await.unwrap());
    assert!(store
        .count_client_use("invoicing", NOW + 60, 3)
        .await
        .unwrap());
    assert!(store.count_client_use("archive", NOW, 3).await.unwrap());
    assert!(!store.count_client_use("archive", NOW, 0).await.unwrap());

    // Removing: only by its own organisation; its windows go with it.
    assert!(!store
        .delete_system_client(OTHER_CVR, "invoicing")
        .await
        .unwrap());
    assert!(store.delete_system_client(CVR, "invoicing").await.unwrap());
    assert!(!store.delete_system_client(CVR, "invoicing").await.unwrap());
    assert_eq!(store.system_client("invoicing").await.unwrap(), None);
    assert!(
        store.count_client_use("invoicing", NOW, 1).await.unwrap(),
        "a new window"
    );

    // Pruning the clients' working data.
    // The expired pushed request; both ids; the two windows left (archive's, invoicing's new).
    assert_eq!(
        store.prune_clients(LATER + 1000).await.unwrap(),
        [("oauth_pushed", 1), ("oauth_seen", 2), ("client_rate", 2)]
    );
    assert!(store
        .prune_clients(LATER + 1000)
        .await
        .unwrap()
        .iter()
        .all(|(_, n)| *n == 0));
}

/// One test per function above for a back end: `$make` makes a fresh store.
macro_rules! store_suite {
    ($backend:ident, $make:expr) => {
        store_suite!(
            @tests $backend,
            $make,
            [
                wrapped_keys_round_trip_and_conflict,
                settings_are_upserted,
                sad_uses_stay_within_their_maximum,
                sad_modes_and_hashes,
                schema_reaches_the_same_version_and_tables,
                expired_working_data_is_pruned_and_live_data_kept,
                persons_and_factors,
                login_state,
                credentials,
                credential_lifecycle,
                documents,
                approval_requests,
                operations,
                organisations,
                signing_cases,
                mandates,
                representation,
                audit,
                pki,
                tags,
                oauth_clients,
            ]
        );
    };
    (@tests $backend:ident, $make:expr, [$($test:ident),* $(,)?]) => {
        mod $backend {
            use super::*;

            $(
                #[tokio::test]
                async fn $test() {
                    let (store, guard) = $make.await;
                    super::$test(&store).await;
                    guard.finish(store).await;
                }
            )*
        }
    };
}

/// Keeps a test database alive and removes it afterwards.
enum Guard {
    Sqlite(tempfile::TempDir),
    Postgres(support::PgDatabase),
}

impl Guard {
    async fn finish(self, store: Store) {
        store.close().await;
        match self {
            Self::Sqlite(dir) => drop(dir),
            Self::Postgres(db) => db.drop_now().await,
        }
    }
}

async fn sqlite() -> (Store, Guard) {
    let (store, dir) = support::sqlite_store().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    (store, Guard::Sqlite(dir))
}

async fn postgres() -> (Store, Guard) {
    let db = support::PgDatabase::create().await;
    let store = Store::connect(&db.url, &support::store_options())
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    (store, Guard::Postgres(db))
}

store_suite!(sqlite_backend, sqlite());
store_suite!(postgres_backend, postgres());

/// Every repository method (each `pub async fn` of `impl Store` and `impl Tx` in
/// `src/store.rs` and `src/store/*.rs`) is called in this file on its receiver, as
/// `store.NAME(` or `tx.NAME(` (whitespace ignored, so rustfmt's line breaks do not matter):
/// a new repository method without a test fails here.
#[test]
fn every_repository_method_is_called_by_the_suite() {
    // The harness calls these itself: `Store::connect` makes every store, `close` ends it.
    const NOT_IN_THE_SUITE: [&str; 2] = ["connect", "close"];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![root.join("src/store.rs")];
    for entry in std::fs::read_dir(root.join("src/store")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            sources.push(path);
        }
    }
    let suite: String = std::fs::read_to_string(root.join("tests/it/store.rs"))
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut methods: Vec<(&str, String)> = Vec::new();
    for path in &sources {
        let text = std::fs::read_to_string(path).unwrap();
        let mut receiver = None;
        for line in text.lines() {
            if line.starts_with("impl ") {
                receiver = match line {
                    "impl Store {" => Some("store"),
                    "impl Tx {" => Some("tx"),
                    _ => None,
                };
            } else if line == "}" {
                receiver = None;
            } else if let Some(rest) = line.trim_start().strip_prefix("pub async fn ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let Some(receiver) = receiver else {
                    panic!(
                        "{}: `pub async fn {name}` is outside `impl Store` and `impl Tx`: \
                         teach this test how it is called",
                        path.display()
                    );
                };
                methods.push((receiver, name));
            }
        }
    }
    assert!(
        methods.len() > 80 && methods.contains(&("tx", "commit".to_owned())),
        "the sources were not read as expected: {methods:?}"
    );
    for name in NOT_IN_THE_SUITE {
        assert!(
            methods.iter().any(|(_, m)| m == name),
            "`{name}` is no longer a repository method: take it off the list"
        );
    }
    let missing: Vec<String> = methods
        .iter()
        .filter(|(_, name)| !NOT_IN_THE_SUITE.contains(&name.as_str()))
        .map(|(receiver, name)| format!("{receiver}.{name}("))
        .filter(|call| !suite.contains(call.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "repository methods that no test in tests/it/store.rs calls: {missing:?}"
    );
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable_not_a_hang() {
    let options = qsign::store::Options {
        max_connections: 1,
        connect_timeout: std::time::Duration::from_secs(2),
    };
    let err = Store::connect("postgres://postgres:pw@127.0.0.1:1/x", &options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert!(
        !err.to_string().contains("pw"),
        "password in message: {err}"
    );
}

#[tokio::test]
async fn both_backends_have_the_same_migrations() {
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let root = env!("CARGO_MANIFEST_DIR");
    assert_eq!(
        names(&format!("{root}/src/store/migrations/sqlite")),
        names(&format!("{root}/src/store/migrations/postgres"))
    );
}

#[tokio::test]
async fn the_sqlite_database_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let (store, dir) = support::sqlite_store().await;
    store.put_setting("probe", "x", 1).await.unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
        seen += 1;
    }
    assert!(seen >= 2, "the database and its WAL");
    // An existing world-readable file is tightened when opened.
    drop(store);
    let db = dir.path().join("t.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("sqlite://{}", db.display());
    let _again = Store::connect(&url, &support::store_options())
        .await
        .unwrap();
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
