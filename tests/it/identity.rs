//! The identity provider: levels of assurance from the factors used, ES256 tokens that openssl
//! verifies against the served JWKS, forged tokens refused, TOTP codes accepted once, lockout
//! with back-off, logout and disabled accounts.

use std::collections::BTreeSet;

use base64::Engine as _;
use qsign::audit::Context;
use qsign::hsm::{Digest, HashAlgorithm, ServiceKey, SignAlgorithm};
use qsign::identity::loa::Loa;
use qsign::identity::token::{self, Claims, TokenError};
use qsign::identity::totp;
use qsign::identity::AccountRequest;

use crate::support::{self, now, Service};

const PASSWORD: &str = "correct horse battery staple";

/// A new enrolment code for an account, as `qsign user enrolment-code` makes it.
async fn enrolment_code(svc: &Service, name: &str) -> String {
    svc.identity
        .new_enrolment_code(name, &Context::system(), now())
        .await
        .unwrap()
}

async fn account_id(svc: &Service, name: &str) -> String {
    svc.store
        .person_by_username(name)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn account(svc: &Service, name: &str) -> (qsign::types::PersonId, String) {
    let acct = svc
        .identity
        .create_account(
            &AccountRequest {
                username: name,
                given_name: "Karen",
                family_name: "Blixen",
                password: PASSWORD,
                with_totp: true,
            },
            &Context::system(),
            now(),
        )
        .await
        .unwrap();
    (acct.id, acct.totp_secret.unwrap())
}

fn code(secret: &str, at: i64) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    format!("{:06}", totp::code_at(&key, at.div_euclid(totp::STEP)))
}

async fn token_request(svc: &Service, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(svc.url("/idp/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// DER INTEGER of an unsigned big-endian number (written here, apart from the library).
fn der_int(bytes: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    let mut out = vec![0x02, u8::try_from(v.len()).unwrap()];
    out.extend(v);
    out
}

/// Verifies a JWT with openssl, using only the served JWKS.
async fn openssl_verifies(svc: &Service, jwt: &str) -> bool {
    let jwks: serde_json::Value = reqwest::get(svc.url("/idp/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&b64(jwt.split('.').next().unwrap())).unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap();
    assert_eq!(key["alg"], "ES256");
    // SubjectPublicKeyInfo for P-256: fixed prefix, then 04 || x || y.
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    spki.push(0x04);
    spki.extend(b64(key["x"].as_str().unwrap()));
    spki.extend(b64(key["y"].as_str().unwrap()));
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let raw = b64(sig);
    let (r, s) = raw.split_at(32);
    let mut body = der_int(r);
    body.extend(der_int(s));
    let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
    der.extend(body);
    support::openssl_verify(&spki, input.as_bytes(), &der, support::OpensslScheme::Ecdsa)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_gives_low_totp_gives_substantial_and_openssl_verifies_the_jwt() {
    let svc = Service::start().await;
    let (id, secret) = account(&svc, "karen").await;

    let low: serde_json::Value = token_request(
        &svc,
        &[
            ("grant_type", "password"),
            ("username", "karen"),
            ("password", PASSWORD),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(low["acr"], Loa::Low.uri());
    assert_eq!(low["token_type"], "Bearer");
    let jwt = low["access_token"].as_str().unwrap();
    assert!(
        openssl_verifies(&svc, jwt).await,
        "openssl rejected the token"
    );
    let claims: Claims = serde_json::from_slice(&b64(jwt.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(claims.sub, id.to_string());
    assert_eq!(claims.aud, "qsign");
    assert_eq!(claims.iss, svc.url("/idp"));
    assert_eq!(claims.amr, ["pwd"]);
    assert_eq!(claims.exp - claims.iat, 300);

    let otp = code(&secret, now());
    let response = token_request(
        &svc,
        &[
            ("grant_type", "password"),
            ("username", "karen"),
            ("password", PASSWORD),
            ("otp", &otp),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let substantial: serde_json::Value = response.json().await.unwrap();
    assert_eq!(substantial["acr"], Loa::Substantial.uri());
    let jwt = substantial["access_token"].as_str().unwrap();
    assert!(openssl_verifies(&svc, jwt).await);
    let claims: Claims = serde_json::from_slice(&b64(jwt.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(claims.amr, ["pwd", "otp"]);

    // The same code again is refused, with its own code.
    let again = token_request(
        &svc,
        &[
            ("grant_type", "password"),
            ("username", "karen"),
            ("password", PASSWORD),
            ("otp", &otp),
        ],
    )
    .await;
    assert_eq!(again.status(), 400);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["error"], "code_reused");

    // The token opens the person's own history, which shows both logins.
    let history: serde_json::Value = reqwest::Client::new()
        .get(svc.url("/v1/me/history"))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let logins = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"]["type"] == "login")
        .count();
    assert_eq!(logins, 2);
    let discovery: serde_json::Value = reqwest::get(svc.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["jwks_uri"], svc.url("/idp/jwks"));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_and_wrong_passwords_get_the_same_answer() {
    let svc = Service::start().await;
    account(&svc, "karen").await;
    let mut bodies = Vec::new();
    for (user, password) in [("karen", "wrong password"), ("nobody", "wrong password")] {
        let r = token_request(
            &svc,
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
            ],
        )
        .await;
        assert_eq!(r.status(), 400);
        let mut body: serde_json::Value = r.json().await.unwrap();
        body["support_ref"] = serde_json::Value::Null;
        bodies.push(body);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0]["error"], "invalid_grant");
    let r = token_request(&svc, &[("grant_type", "refresh_token")]).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    // Client credentials are a system client's, with its assertion (tests/it/seals.rs).
    let r = token_request(&svc, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_account_and_the_lock_ends_after_the_back_off() {
    let svc = Service::start().await;
    account(&svc, "karen").await;
    let ctx = Context::system();
    let t0 = now();
    for _ in 0..3 {
        let e = svc
            .identity
            .password_grant("karen", "wrong", None, None, &ctx, t0)
            .await
            .unwrap_err();
        assert!(
            matches!(e, qsign::identity::Error::InvalidCredentials),
            "{e}"
        );
    }
    // Locked now, even with the right password.
    let e = svc
        .identity
        .password_grant("karen", PASSWORD, None, None, &ctx, t0 + 1)
        .await
        .unwrap_err();
    assert!(matches!(e, qsign::identity::Error::Locked { .. }), "{e}");
    // Unknown usernames lock the same way, so a lock says nothing about existence.
    for _ in 0..3 {
        let _ = svc
            .identity
            .password_grant("ghost", "wrong", None, None, &ctx, t0)
            .await;
    }
    let e = svc
        .identity
        .password_grant("ghost", "x", None, None, &ctx, t0 + 1)
        .await
        .unwrap_err();
    assert!(matches!(e, qsign::identity::Error::Locked { .. }), "{e}");
    // After the back-off (2 s) the right password works and clears the count.
    let ok = svc
        .identity
        .password_grant("karen", PASSWORD, None, None, &ctx, t0 + 3)
        .await
        .unwrap();
    assert_eq!(ok.loa, Loa::Low);
    // The audit log recorded the failures and the lock.
    let rows = svc
        .store
        .audit_query(&qsign::store::AuditFilter {
            actor: Some("anonymous".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let kinds: BTreeSet<String> = rows.iter().map(|r| r.event.clone()).collect();
    assert!(
        kinds.contains("login_failed") && kinds.contains("lockout"),
        "{kinds:?}"
    );
    svc.stop().await;
}

/// The token with one character of its signature changed (still valid base64url).
fn tampered_signature(jwt: &str) -> String {
    let mut chars: Vec<char> = jwt.chars().collect();
    let i = chars.len() - 10;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// Signs arbitrary claims with a header of our choosing, using an HSM's IdP key.
async fn sign_with(hsm: &qsign::hsm::Hsm, kid: &str, claims: &Claims) -> String {
    let (input, digest) = token::signing_input(kid, claims).unwrap();
    let raw = hsm
        .sign(
            ServiceKey::Idp,
            SignAlgorithm::Ecdsa,
            Digest::new(HashAlgorithm::Sha256, digest.to_vec()).unwrap(),
        )
        .await
        .unwrap();
    token::assemble(&input, &raw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_out_of_date_tokens_are_refused_each_with_its_reason() {
    let svc = Service::start().await;
    let (id, _) = account(&svc, "karen").await;
    let verifier = svc.identity.verifier().await.unwrap();
    let kid = verifier.keys[0].0.clone();
    let t = now();
    let good = Claims {
        iss: svc.url("/idp"),
        sub: id.to_string(),
        aud: "qsign".into(),
        exp: t + 300,
        iat: t,
        nbf: Some(t),
        auth_time: t,
        acr: Some(Loa::High.uri().into()),
        amr: vec!["pwd".into()],
        jti: uuid::Uuid::new_v4().to_string(),
        authorization_details: None,
        cnf: None,
        scope: None,
        client_id: None,
    };
    let valid = sign_with(&svc.hsm, &kid, &good).await;
    assert!(verifier.verify(&valid, t).is_ok());

    let enc = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let payload = enc(&serde_json::to_value(&good).unwrap());
    // alg none.
    let none = format!(
        "{}.{payload}.",
        enc(&serde_json::json!({"alg": "none", "kid": kid}))
    );
    // HS256 with the public key as the HMAC secret.
    let hs_input = format!(
        "{}.{payload}",
        enc(&serde_json::json!({"alg": "HS256", "kid": kid}))
    );
    let spki = svc.hsm.public_key(ServiceKey::Idp).await.unwrap();
    let mac = {
        use hmac::{KeyInit, Mac};
        let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&spki).unwrap();
        m.update(hs_input.as_bytes());
        m.finalize().into_bytes()
    };
    let hs256 = format!(
        "{hs_input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
    );
    // A key this issuer never published.
    let (_t, stranger) = support::new_hsm(1).await;
    let unknown_kid = sign_with(&stranger, "another-key", &good).await;
    let stranger_same_kid = sign_with(&stranger, &kid, &good).await;
    let with = |f: &dyn Fn(&mut Claims)| {
        let mut c = good.clone();
        f(&mut c);
        c
    };
    let mut cases: Vec<(String, TokenError)> = vec![
        (none, TokenError::Algorithm),
        (hs256, TokenError::Algorithm),
        (unknown_kid, TokenError::UnknownKey),
        (stranger_same_kid, TokenError::Signature),
        ("not.a.token".into(), TokenError::Malformed),
        (format!("{valid}x"), TokenError::Malformed),
        (tampered_signature(&valid), TokenError::Signature),
    ];
    for (claims, expected) in [
        (
            with(&|c| c.iss = "https://evil.example/idp".into()),
            TokenError::Issuer,
        ),
        (
            with(&|c| c.aud = "someone-else".into()),
            TokenError::Audience,
        ),
        (with(&|c| c.exp = t - 3600), TokenError::Expired),
        (with(&|c| c.nbf = Some(t + 3600)), TokenError::NotYetValid),
        (with(&|c| c.acr = None), TokenError::MissingAcr),
        (
            with(&|c| c.acr = Some("https://data.gov.dk/concept/core/nsis/loa/Extreme".into())),
            TokenError::UnknownAcr,
        ),
    ] {
        cases.push((sign_with(&svc.hsm, &kid, &claims).await, expected));
    }
    let client = reqwest::Client::new();
    for (jwt, expected) in cases {
        assert_eq!(verifier.verify(&jwt, t).unwrap_err(), expected, "{jwt}");
        let r = client
            .get(svc.url("/v1/me/history"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{expected:?}");
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["error_description"], expected.to_string());
    }
    // The broker form of acr is accepted.
    let broker =
        with(&|c| c.acr = Some("https://data.gov.dk/concept/core/nsis/Substantial".into()));
    assert_eq!(
        verifier
            .verify(&sign_with(&svc.hsm, &kid, &broker).await, t)
            .unwrap()
            .1,
        Loa::Substantial
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_and_disabling_an_account_end_its_tokens() {
    let svc = Service::start().await;
    account(&svc, "karen").await;
    let client = reqwest::Client::new();
    let get_token = || async {
        let v: serde_json::Value = token_request(
            &svc,
            &[
                ("grant_type", "password"),
                ("username", "karen"),
                ("password", PASSWORD),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    };
    let jwt = get_token().await;
    assert_eq!(
        client
            .get(svc.url("/v1/me/history"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .post(svc.url("/idp/logout"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        client
            .get(svc.url("/v1/me/history"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let jwt = get_token().await;
    svc.identity
        .set_enabled("karen", false, &Context::system(), now())
        .await
        .unwrap();
    assert_eq!(
        client
            .get(svc.url("/v1/me/history"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = token_request(
        &svc,
        &[
            ("grant_type", "password"),
            ("username", "karen"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(
        client
            .get(svc.url("/v1/me/history"))
            .send()
            .await
            .unwrap()
            .status()
            == 401
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_need_valid_names_and_unique_usernames() {
    let svc = Service::start().await;
    account(&svc, "karen").await;
    let ctx = Context::system();
    let id = &svc.identity;
    assert!(matches!(
        id.create_account(
            &AccountRequest {
                username: "karen",
                given_name: "K",
                family_name: "B",
                password: PASSWORD,
                with_totp: false
            },
            &ctx,
            now()
        )
        .await,
        Err(qsign::identity::Error::UsernameTaken)
    ));
    for (user, given, password) in [
        ("bad name", "K", PASSWORD),
        ("ok", "", PASSWORD),
        ("ok", "K", "short"),
    ] {
        assert!(matches!(
            id.create_account(
                &AccountRequest {
                    username: user,
                    given_name: given,
                    family_name: "B",
                    password,
                    with_totp: false
                },
                &ctx,
                now()
            )
            .await,
            Err(qsign::identity::Error::InvalidAccount(_))
        ));
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_external_issuers_token_is_accepted_and_an_untrusted_one_is_not() {
    let svc = Service::start().await;
    let t = now();
    let claims = serde_json::json!({
        "iss": "https://broker.example",
        "aud": ["qsign", "other"],
        "sub": "broker-subject-1",
        "exp": t + 300,
        "iat": t,
        "loa": "https://data.gov.dk/concept/core/nsis/High",
        "given_name": "Karen",
        "family_name": "Blixen",
    });
    let key = support::broker_key();
    let jwt = support::broker_token(&key, &claims);
    let client = reqwest::Client::new();
    let mut people = Vec::new();
    for _ in 0..2 {
        let r = client
            .get(svc.url("/v1/me/history"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["loa"], Loa::High.uri());
        people.push(body["person"].clone());
        let provisioned = body["records"].as_array().unwrap().iter().any(|r| {
            r["event"]["action"].as_str().is_some_and(|a| {
                a.contains("provisioned from external issuer https://broker.example")
            })
        });
        assert!(provisioned, "{body}");
    }
    assert_eq!(people[0], people[1], "provisioned twice");
    // A person of the external issuer logs in there: no local passkey, even at High.
    let (status, body) = post_json(
        &svc,
        "/idp/passkeys/register/start",
        Some(&jwt),
        &serde_json::json!({}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );

    let with = |k: &str, v: serde_json::Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let mut without_loa = claims.clone();
    without_loa.as_object_mut().unwrap().remove("loa");
    let other_key = p256::ecdsa::SigningKey::from_slice(&[0x17; 32]).unwrap();
    let cases = [
        (
            support::broker_token(&key, &with("iss", "https://evil.example".into())),
            "wrong token issuer",
        ),
        (
            support::broker_token(&key, &with("aud", "someone-else".into())),
            "wrong token audience",
        ),
        (
            support::broker_token(&key, &with("exp", (t - 120).into())),
            "token expired",
        ),
        (
            support::broker_token(&key, &with("nbf", (t + 3600).into())),
            "token not yet valid",
        ),
        (
            support::broker_token(
                &key,
                &with("loa", "https://data.gov.dk/concept/core/nsis/Ultra".into()),
            ),
            "token acr is not a known level of assurance",
        ),
        (
            support::broker_token(&key, &without_loa),
            "token has no acr",
        ),
        (
            support::broker_token(&other_key, &claims),
            "bad token signature",
        ),
    ];
    for (jwt, reason) in cases {
        let r = client
            .get(svc.url("/v1/me/history"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{reason}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error_description"], reason);
    }
    // Logging out an external token revokes it here too.
    assert_eq!(
        client
            .post(svc.url("/idp/logout"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        client
            .get(svc.url("/v1/me/history"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A database writer maps the broker's subject to another person: the mapping's tag
    // no longer verifies, so the token opens nothing.
    let (other, _) = account(&svc, "victim").await;
    let url = format!("sqlite://{}", svc.dir.path().join("t.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE external_subjects SET person_id = $1")
        .bind(other.to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let r = client
        .get(svc.url("/v1/me/history"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "a remapped external subject opened another person"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csc_auth_login_takes_basic_credentials_and_gives_a_low_token() {
    let svc = Service::start().await;
    account(&svc, "karen").await;
    let client = reqwest::Client::new();
    for version in ["v2", "v1"] {
        let r = client
            .post(svc.url(&format!("/csc/{version}/auth/login")))
            .basic_auth("karen", Some(PASSWORD))
            .json(&serde_json::json!({"rememberMe": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{version}");
        let body: serde_json::Value = r.json().await.unwrap();
        let jwt = body["access_token"].as_str().unwrap();
        assert!(body["expires_in"].as_u64().unwrap() > 0);
        assert!(openssl_verifies(&svc, jwt).await);
        let claims: Claims = serde_json::from_slice(&b64(jwt.split('.').nth(1).unwrap())).unwrap();
        assert_eq!(claims.acr.as_deref(), Some(Loa::Low.uri()));
    }
    let wrong = client
        .post(svc.url("/csc/v2/auth/login"))
        .basic_auth("karen", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let missing = client
        .post(svc.url("/csc/v2/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    svc.stop().await;
}

/// Posts JSON with a bearer token (or none) and returns status and body.
async fn post_json(
    svc: &Service,
    path: &str,
    bearer: Option<&str>,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().post(svc.url(path)).json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

async fn login(svc: &Service, otp: Option<&str>) -> String {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", "karen"),
        ("password", PASSWORD),
    ];
    if let Some(code) = otp {
        form.push(("otp", code));
    }
    let v: serde_json::Value = token_request(svc, &form).await.json().await.unwrap();
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned()
}

fn acr_of(jwt: &str) -> (String, Vec<String>) {
    let claims: Claims = serde_json::from_slice(&b64(jwt.split('.').nth(1).unwrap())).unwrap();
    (claims.acr.unwrap(), claims.amr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_bind_only_at_high_or_with_an_enrolment_code_and_log_in_at_high() {
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

    let svc = Service::start().await;
    let (_, secret) = account(&svc, "karen").await;
    let origin = Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap();
    let mut authenticator = SoftPasskey::new(true);

    // A password-only session cannot enrol a passkey.
    let low = login(&svc, None).await;
    let (status, body) = post_json(
        &svc,
        "/idp/passkeys/register/start",
        Some(&low),
        &serde_json::json!({}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_loa"))
    );

    // The attack: a phisher relays the password and one TOTP code (Substantial) and tries to
    // bind their own passkey, which would then give High. Refused without the enrolment code.
    let substantial = login(&svc, Some(&code(&secret, now()))).await;
    let (status, body) = post_json(
        &svc,
        "/idp/passkeys/register/start",
        Some(&substantial),
        &serde_json::json!({}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_loa")),
        "{body}"
    );
    // A guessed code is refused too.
    let (status, body) = post_json(
        &svc,
        "/idp/passkeys/register/start",
        Some(&substantial),
        &serde_json::json!({"enrolment_code": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Another person's code does not bind a passkey to this account.
    let _ = account(&svc, "mallory").await;
    let mallorys = enrolment_code(&svc, "mallory").await;
    let (status, _) = post_json(
        &svc,
        "/idp/passkeys/register/start",
        Some(&substantial),
        &serde_json::json!({"enrolment_code": mallorys}),
    )
    .await;
    assert_eq!(status, 400);

    // With the code the operator handed over (out of band), it binds.
    let enrolment = enrolment_code(&svc, "karen").await;
    let (status, start) = post_json(
        &svc,
        "/idp/passkeys/register/start",
        Some(&substantial),
        &serde_json::json!({"enrolment_code": enrolment}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    // Two ceremonies started with one code: only the first to finish spends it.
    let (status, spare) = post_json(
        &svc,
        "/idp/passkeys/register/start",
        Some(&substantial),
        &serde_json::json!({"enrolment_code": enrolment}),
    )
    .await;
    assert_eq!(status, 200, "{spare}");
    let options: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let credential = authenticator
        .do_registration(origin.clone(), options)
        .unwrap();
    let finish = serde_json::json!({"state": start["state"], "credential": credential});
    let (status, body) = post_json(
        &svc,
        "/idp/passkeys/register/finish",
        Some(&substantial),
        &finish,
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let mut second_key = SoftPasskey::new(true);
    let options: CreationChallengeResponse =
        serde_json::from_value(spare["options"].clone()).unwrap();
    let credential = second_key.do_registration(origin.clone(), options).unwrap();
    let (status, body) = post_json(
        &svc,
        "/idp/passkeys/register/finish",
        Some(&substantial),
        &serde_json::json!({"state": spare["state"], "credential": credential}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a spent enrolment code bound a second passkey"
    );
    // The person sees how the passkey was bound, and the history has it.
    let records = svc
        .store
        .audit_query(&qsign::store::AuditFilter {
            subject: Some(format!("person:{}", account_id(&svc, "karen").await)),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        records
            .iter()
            .any(|r| String::from_utf8_lossy(&r.record).contains("webauthn (enrolment-code)")),
        "no enrolment record"
    );
    // The state is gone: finishing again fails.
    let (status, body) = post_json(
        &svc,
        "/idp/passkeys/register/finish",
        Some(&substantial),
        &finish,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Passkey + password: High.
    let (_, start) = post_json(
        &svc,
        "/idp/passkeys/login/start",
        None,
        &serde_json::json!({"username": "karen"}),
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    let finish = serde_json::json!({"username": "karen", "state": start["state"], "credential": assertion, "password": PASSWORD});
    let (status, high) = post_json(&svc, "/idp/passkeys/login/finish", None, &finish).await;
    assert_eq!(status, 200, "{high}");
    assert_eq!(high["acr"], Loa::High.uri());
    let jwt = high["access_token"].as_str().unwrap();
    assert!(openssl_verifies(&svc, jwt).await);
    assert_eq!(acr_of(jwt).1, ["pwd", "hwk"]);
    // Replaying the same state and assertion is refused.
    let (status, body) = post_json(&svc, "/idp/passkeys/login/finish", None, &finish).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // An assertion made for one challenge does not finish another ceremony's state.
    let (_, first) = post_json(
        &svc,
        "/idp/passkeys/login/start",
        None,
        &serde_json::json!({"username": "karen"}),
    )
    .await;
    let (_, second) = post_json(
        &svc,
        "/idp/passkeys/login/start",
        None,
        &serde_json::json!({"username": "karen"}),
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(second["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    let crossed = serde_json::json!({"username": "karen", "state": first["state"], "credential": assertion, "password": PASSWORD});
    let (status, _) = post_json(&svc, "/idp/passkeys/login/finish", None, &crossed).await;
    assert_eq!(status, 400);
    // A passkey alone is not a login.
    let (_, start) = post_json(
        &svc,
        "/idp/passkeys/login/start",
        None,
        &serde_json::json!({"username": "karen"}),
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    let alone =
        serde_json::json!({"username": "karen", "state": start["state"], "credential": assertion});
    let (status, body) = post_json(&svc, "/idp/passkeys/login/finish", None, &alone).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Step-up of a Low session with the passkey: High, with both factors named.
    let low = login(&svc, None).await;
    let (_, start) = post_json(
        &svc,
        "/idp/stepup/passkey/start",
        Some(&low),
        &serde_json::json!({}),
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    let (status, stepped) = post_json(
        &svc,
        "/idp/stepup/passkey/finish",
        Some(&low),
        &serde_json::json!({"state": start["state"], "credential": assertion}),
    )
    .await;
    assert_eq!(status, 200, "{stepped}");
    assert_eq!(stepped["acr"], Loa::High.uri());
    assert_eq!(
        acr_of(stepped["access_token"].as_str().unwrap()).1,
        ["pwd", "hwk"]
    );

    // Step-up of a Low session with TOTP (the next step's code: this step's was used): Substantial.
    let low = login(&svc, None).await;
    let next = code(&secret, now() + totp::STEP);
    let (status, stepped) = post_json(
        &svc,
        "/idp/stepup/totp",
        Some(&low),
        &serde_json::json!({"otp": next}),
    )
    .await;
    assert_eq!(status, 200, "{stepped}");
    assert_eq!(stepped["acr"], Loa::Substantial.uri());
    let (status, body) = post_json(
        &svc,
        "/idp/stepup/totp",
        Some(&low),
        &serde_json::json!({"otp": next}),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("code_reused")));

    // The person's history shows the enrolment and the step-ups.
    let history: serde_json::Value = reqwest::Client::new()
        .get(svc.url("/v1/me/history"))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: BTreeSet<String> = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"]["type"].as_str().unwrap().to_owned())
        .collect();
    for kind in ["factor_enrolled", "login", "step_up"] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
    svc.stop().await;
}

/// Runs the browser part of the flow; returns the code from the redirect.
async fn browser_login(
    svc: &Service,
    client: &str,
    redirect: &str,
    challenge: &str,
    otp: Option<&str>,
) -> String {
    let http = support::no_redirects();
    let url = format!(
        "{}?response_type=code&client_id={client}&redirect_uri={}&state=s-123&code_challenge={challenge}&code_challenge_method=S256",
        svc.url("/idp/authorize"),
        qsign::identity::oauth::percent(redirect)
    );
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    let request = support::form_request(&html);
    // A wrong password shows the page again, with the same request still usable.
    let wrong = http
        .post(svc.url("/idp/authorize"))
        .form(&[
            ("request", request.as_str()),
            ("username", "karen"),
            ("password", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 200);
    assert!(wrong.text().await.unwrap().contains("is not right"));
    let mut form = vec![
        ("request", request.as_str()),
        ("username", "karen"),
        ("password", PASSWORD),
    ];
    if let Some(code) = otp {
        form.push(("otp", code));
    }
    let done = http
        .post(svc.url("/idp/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{redirect}?code=")),
        "{location}"
    );
    assert!(location.ends_with("&state=s-123"), "{location}");
    location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

async fn redeem(
    svc: &Service,
    client: &str,
    redirect: &str,
    code: &str,
    verifier: &str,
) -> (u16, serde_json::Value) {
    let r = token_request(
        svc,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_flow_with_pkce_gives_a_token_once() {
    let svc = Service::start().await;
    let (id, secret) = account(&svc, "karen").await;
    let redirect = "http://localhost:9999/callback";

    let (verifier, challenge) = support::pkce();
    let first = browser_login(
        &svc,
        "signer-app",
        redirect,
        &challenge,
        Some(&code(&secret, now())),
    )
    .await;
    let (status, body) = redeem(
        &svc,
        "signer-app",
        redirect,
        &first,
        "a-wrong-verifier-of-sufficient-length-000000",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The code was spent by that attempt.
    let (status, _) = redeem(&svc, "signer-app", redirect, &first, &verifier).await;
    assert_eq!(status, 400);

    let (verifier, challenge) = support::pkce();
    let next = code(&secret, now() + totp::STEP);
    let second = browser_login(&svc, "signer-app", redirect, &challenge, Some(&next)).await;
    let (status, body) = redeem(&svc, "signer-app", redirect, &second, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["acr"], Loa::Substantial.uri());
    let jwt = body["access_token"].as_str().unwrap();
    assert!(openssl_verifies(&svc, jwt).await);
    let claims: Claims = serde_json::from_slice(&b64(jwt.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(
        (claims.sub, claims.aud),
        (id.to_string(), "qsign".to_owned())
    );
    let (status, _) = redeem(&svc, "signer-app", redirect, &second, &verifier).await;
    assert_eq!(status, 400, "a code worked twice");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relying_parties_get_stable_pairwise_subjects() {
    let svc = Service::start().await;
    let (id, _) = account(&svc, "karen").await;
    let mut subjects = Vec::new();
    for (client, redirect) in [
        ("shop", "https://shop.example/cb"),
        ("shop", "https://shop.example/cb"),
        ("bank", "https://bank.example/cb"),
    ] {
        let (verifier, challenge) = support::pkce();
        let code = browser_login(&svc, client, redirect, &challenge, None).await;
        let (status, body) = redeem(&svc, client, redirect, &code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        let claims: Claims = serde_json::from_slice(&b64(body["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()))
        .unwrap();
        assert_eq!(claims.aud, client);
        assert_eq!(claims.acr.as_deref(), Some(Loa::Low.uri()));
        subjects.push(claims.sub);
    }
    assert_eq!(subjects[0], subjects[1], "not stable for one relying party");
    assert_ne!(
        subjects[0], subjects[2],
        "two relying parties can link the person"
    );
    assert!(
        subjects.iter().all(|s| *s != id.to_string()),
        "the internal id leaked"
    );
    // A relying party's token is not a token for the signing service.
    let bank_token = {
        let (verifier, challenge) = support::pkce();
        let code = browser_login(&svc, "bank", "https://bank.example/cb", &challenge, None).await;
        redeem(&svc, "bank", "https://bank.example/cb", &code, &verifier)
            .await
            .1["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let r = reqwest::Client::new()
        .get(svc.url("/v1/me/history"))
        .bearer_auth(bank_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_authorization_requests_never_go_to_unregistered_addresses() {
    let svc = Service::start().await;
    let http = support::no_redirects();
    let (_, challenge) = support::pkce();
    let base = svc.url("/idp/authorize");
    // Unknown client, with markup in it: an error page, nothing reflected unescaped.
    let r = http
        .get(format!("{base}?response_type=code&client_id=%3Cscript%3Ealert(1)%3C/script%3E&redirect_uri=https://evil.example/&code_challenge={challenge}&code_challenge_method=S256"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(!r.text().await.unwrap().contains("<script>"));
    // A registered client with an unregistered redirect URI: an error page, no redirect.
    let r = http
        .get(format!("{base}?response_type=code&client_id=shop&redirect_uri=https://evil.example/cb&code_challenge={challenge}&code_challenge_method=S256"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    // Without PKCE: back to the registered redirect with an error and the state.
    let r = http
        .get(format!("{base}?response_type=code&client_id=shop&redirect_uri=https://shop.example/cb&state=st"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "https://shop.example/cb?error=invalid_request&state=st"
    );
    // An expired or made-up login form.
    let r = http
        .post(svc.url("/idp/authorize"))
        .form(&[
            ("request", "made-up"),
            ("username", "karen"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("expired"));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_issuers_jwks_can_be_fetched_by_url() {
    // Another qsign plays the external identity provider: its JWKS is served over HTTP.
    let provider = Service::start().await;
    account(&provider, "karen").await;
    let jwks = qsign::identity::external::fetch_jwks(&provider.url("/idp/jwks"))
        .await
        .unwrap();
    let trusted = qsign::identity::external::ExternalIssuer::from_jwks(
        &provider.url("/idp"),
        "qsign",
        &jwks,
        "acr",
        60,
    )
    .unwrap();
    let jwt = login(&provider, None).await;
    let claims = trusted.verify(&jwt, now()).unwrap();
    assert_eq!(claims.loa, Loa::Low);
    let unreachable = qsign::identity::external::fetch_jwks("http://127.0.0.1:1/jwks").await;
    assert!(unreachable.is_err());
    provider.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_offers_passkeys_and_its_calls_give_a_high_login() {
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_rs::prelude::{RequestChallengeResponse, Url};

    let svc = Service::start().await;
    let (_, secret) = account(&svc, "karen").await;
    let origin = Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap();
    let mut authenticator = SoftPasskey::new(true);
    let substantial = login(&svc, Some(&code(&secret, now()))).await;
    enrol_with_code(&svc, &substantial, &mut authenticator, &origin).await;

    // The page loads its script from this origin only, and the script is served.
    let (verifier, challenge) = support::pkce();
    let redirect = "http://localhost:9999/callback";
    let url = format!(
        "{}?response_type=code&client_id=signer-app&redirect_uri={}&state=p1&code_challenge={challenge}&code_challenge_method=S256",
        svc.url("/idp/authorize"),
        qsign::identity::oauth::percent(redirect)
    );
    let page = support::no_redirects().get(&url).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("src=\"/idp/static/login.js\"") && html.contains("id=\"passkey\""));
    let script = reqwest::get(svc.url("/idp/static/login.js")).await.unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script
        .text()
        .await
        .unwrap()
        .contains("/idp/authorize/passkey/finish"));
    let request = support::form_request(&html);

    // What the script does: start, ask the authenticator, finish with the password.
    let (status, start) = post_json(
        &svc,
        "/idp/authorize/passkey/start",
        None,
        &serde_json::json!({"request": request, "username": "karen"}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    let (status, done) = post_json(
        &svc,
        "/idp/authorize/passkey/finish",
        None,
        &serde_json::json!({
            "request": request, "username": "karen", "password": PASSWORD, "otp": null,
            "state": start["state"], "credential": assertion,
        }),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let location = done["location"].as_str().unwrap();
    assert!(
        location.starts_with(&format!("{redirect}?code=")) && location.ends_with("&state=p1"),
        "{location}"
    );
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let (status, body) = redeem(&svc, "signer-app", redirect, code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["acr"], Loa::High.uri());

    // The request is spent: the passkey option cannot start again on it.
    let (status, body) = post_json(
        &svc,
        "/idp/authorize/passkey/start",
        None,
        &serde_json::json!({"request": request, "username": "karen"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    svc.stop().await;
}

/// An RS256 token made with openssl (an independent signer) for a JWKS of an external issuer.
#[tokio::test]
async fn rs256_tokens_of_an_external_issuer_verify_and_the_key_decides_the_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("rsa.pem");
    let (ok, text) = support::openssl(&[
        "genrsa".as_ref(),
        "-out".as_ref(),
        key.as_os_str(),
        "2048".as_ref(),
    ]);
    assert!(ok, "{text}");
    let (_, modulus) = support::openssl(&[
        "rsa".as_ref(),
        "-in".as_ref(),
        key.as_os_str(),
        "-noout".as_ref(),
        "-modulus".as_ref(),
    ]);
    let n = hex::decode(
        modulus
            .lines()
            .find_map(|l| l.strip_prefix("Modulus="))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwks = serde_json::json!({"keys": [{"kty": "RSA", "kid": "rsa-1", "n": enc(&n), "e": "AQAB", "alg": "RS256"}]});
    let trusted = qsign::identity::external::ExternalIssuer::from_jwks(
        "https://idp.example",
        "qsign",
        &jwks.to_string(),
        "acr",
        60,
    )
    .unwrap();
    let t = now();
    let claims = serde_json::json!({"iss": "https://idp.example", "aud": "qsign", "sub": "s-1", "exp": t + 60, "iat": t,
        "acr": Loa::Substantial.uri()});
    let sign = |header: &serde_json::Value| {
        let input = format!(
            "{}.{}",
            enc(header.to_string().as_bytes()),
            enc(claims.to_string().as_bytes())
        );
        let data = dir.path().join("input.txt");
        std::fs::write(&data, &input).unwrap();
        let sig = dir.path().join("sig.bin");
        let (ok, text) = support::openssl(&[
            "dgst".as_ref(),
            "-sha256".as_ref(),
            "-sign".as_ref(),
            key.as_os_str(),
            "-out".as_ref(),
            sig.as_os_str(),
            data.as_os_str(),
        ]);
        assert!(ok, "{text}");
        format!("{input}.{}", enc(&std::fs::read(&sig).unwrap()))
    };
    let jwt = sign(&serde_json::json!({"alg": "RS256", "kid": "rsa-1"}));
    assert_eq!(trusted.verify(&jwt, t).unwrap().loa, Loa::Substantial);
    assert_eq!(
        trusted.verify(&tampered_signature(&jwt), t).unwrap_err(),
        TokenError::Signature
    );
    // The same key named with another algorithm is refused before any signature check.
    let confused = sign(&serde_json::json!({"alg": "ES256", "kid": "rsa-1"}));
    assert_eq!(
        trusted.verify(&confused, t).unwrap_err(),
        TokenError::Algorithm
    );
    let hs = sign(&serde_json::json!({"alg": "HS256", "kid": "rsa-1"}));
    assert_eq!(trusted.verify(&hs, t).unwrap_err(), TokenError::Algorithm);
    // Small RSA keys are not trusted at all.
    let small = serde_json::json!({"keys": [{"kty": "RSA", "kid": "small", "n": enc(&[0xff; 128]), "e": "AQAB"}]});
    assert!(qsign::identity::external::ExternalIssuer::from_jwks(
        "https://idp.example",
        "qsign",
        &small.to_string(),
        "acr",
        60
    )
    .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_seeds_are_sealed_in_the_database_and_bound_to_their_person() {
    let svc = Service::start().await;
    let (_, secret) = account(&svc, "karen").await;
    svc.identity
        .create_account(
            &AccountRequest {
                username: "bob",
                given_name: "Bob",
                family_name: "B",
                password: PASSWORD,
                with_totp: true,
            },
            &Context::system(),
            now(),
        )
        .await
        .unwrap();
    let karen = svc
        .store
        .person_by_username("karen")
        .await
        .unwrap()
        .unwrap();
    let stored = karen.totp_secret.clone().unwrap();
    assert!(stored.starts_with("sealed:"), "{stored}");
    assert!(
        !stored.contains(&secret),
        "the seed is readable in the database"
    );
    // The sealed seed works for its person...
    let ok = token_request(
        &svc,
        &[
            ("grant_type", "password"),
            ("username", "karen"),
            ("password", PASSWORD),
            ("otp", &code(&secret, now())),
        ],
    )
    .await;
    assert_eq!(ok.status(), 200);
    // ...and not when moved to another person's row: Karen's code does not log Bob in.
    let url = format!("sqlite://{}", svc.dir.path().join("t.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE persons SET totp_secret = $1 WHERE username = 'bob'")
        .bind(&stored)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let moved = token_request(
        &svc,
        &[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", PASSWORD),
            ("otp", &code(&secret, now() + totp::STEP)),
        ],
    )
    .await;
    assert_eq!(moved.status(), 400);
    assert_eq!(
        moved.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // A seed written unsealed (a database writer choosing a seed they know) is refused.
    let known = totp::new_secret().unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE persons SET totp_secret = $1 WHERE username = 'bob'")
        .bind(&known)
        .execute(&pool)
        .await
        .unwrap();
    let unsealed = token_request(
        &svc,
        &[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", PASSWORD),
            ("otp", &code(&known, now())),
        ],
    )
    .await;
    assert_eq!(unsealed.status(), 400, "an unsealed seed was accepted");

    // A seed re-enrolled from a High session is stored sealed.
    let karen_id = qsign::types::PersonId::parse(&karen.id).unwrap();
    let high = qsign::identity::Principal {
        person: karen_id,
        loa: Loa::High,
        amr: vec!["pwd".into(), "hwk".into()],
        jti: "t".into(),
        exp: now() + 60,
        auth_time: now(),
        authorization_details: None,
        external: false,
        client_id: None,
    };
    let fresh = totp::new_secret().unwrap();
    svc.identity
        .totp_enrol(
            &high,
            &fresh,
            &code(&fresh, now() + 2 * totp::STEP),
            &Context::system(),
            now() + 2 * totp::STEP,
        )
        .await
        .unwrap();
    let (stored,): (String,) = sqlx::query_as("SELECT totp_secret FROM persons WHERE id = $1")
        .bind(&karen.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(
        stored.starts_with("sealed:") && !stored.contains(&fresh),
        "{stored}"
    );
    // A person of an external issuer cannot add local factors.
    let external = qsign::identity::Principal {
        external: true,
        ..high.clone()
    };
    assert!(matches!(
        svc.identity.totp_offer(&external).await,
        Err(qsign::identity::Error::LocalFactors)
    ));
    svc.stop().await;
}

/// Binds a passkey to karen's account with a fresh enrolment code, from `session`.
async fn enrol_with_code(
    svc: &Service,
    session: &str,
    authenticator: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
    origin: &webauthn_rs::prelude::Url,
) {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    let enrolment = enrolment_code(svc, "karen").await;
    let (_, start) = post_json(
        svc,
        "/idp/passkeys/register/start",
        Some(session),
        &serde_json::json!({"enrolment_code": enrolment}),
    )
    .await;
    let options: webauthn_rs::prelude::CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let credential = authenticator
        .do_registration(origin.clone(), options)
        .unwrap();
    let (status, _) = post_json(
        svc,
        "/idp/passkeys/register/finish",
        Some(session),
        &serde_json::json!({"state": start["state"], "credential": credential}),
    )
    .await;
    assert_eq!(status, 204);
}

/// Logs karen in with her password and the passkey; answers the level reached.
async fn passkey_acr(
    svc: &Service,
    authenticator: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
    origin: &webauthn_rs::prelude::Url,
) -> String {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    let (_, start) = post_json(
        svc,
        "/idp/passkeys/login/start",
        None,
        &serde_json::json!({"username": "karen"}),
    )
    .await;
    let options: webauthn_rs::prelude::RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin.clone(), options)
        .unwrap();
    let finish = serde_json::json!({"username": "karen", "state": start["state"], "credential": assertion, "password": PASSWORD});
    let (status, body) = post_json(svc, "/idp/passkeys/login/finish", None, &finish).await;
    assert_eq!(status, 200, "{body}");
    body["acr"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_bound_by_enrolment_code_counts_for_high_only_after_the_delay() {
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    use webauthn_rs::prelude::Url;

    let svc = Service::start_with_factor_delay(std::time::Duration::from_secs(3600)).await;
    let (_, secret) = account(&svc, "karen").await;
    let origin = Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap();
    let mut authenticator = SoftPasskey::new(true);
    let substantial = login(&svc, Some(&code(&secret, svc.now()))).await;
    enrol_with_code(&svc, &substantial, &mut authenticator, &origin).await;
    // Within the delay: password + the new passkey is Substantial, not High.
    assert_eq!(
        passkey_acr(&svc, &mut authenticator, &origin).await,
        Loa::Substantial.uri()
    );
    // The same through an application's OAuth login on the IdP page: the code carries the
    // capped level, so the token is Substantial too.
    let (verifier, challenge) = support::pkce();
    let redirect = "http://localhost:9999/callback";
    let url = format!(
        "{}?response_type=code&client_id=signer-app&redirect_uri={}&state=p1&code_challenge={challenge}&code_challenge_method=S256",
        svc.url("/idp/authorize"),
        qsign::identity::oauth::percent(redirect)
    );
    let html = support::no_redirects()
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let request = support::form_request(&html);
    let (_, start) = post_json(
        &svc,
        "/idp/authorize/passkey/start",
        None,
        &serde_json::json!({"request": request, "username": "karen"}),
    )
    .await;
    let options: webauthn_rs::prelude::RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = {
        use webauthn_authenticator_rs::WebauthnAuthenticator;
        authenticator
            .do_authentication(origin.clone(), options)
            .unwrap()
    };
    let (status, done) = post_json(
        &svc,
        "/idp/authorize/passkey/finish",
        None,
        &serde_json::json!({
            "request": request, "username": "karen", "password": PASSWORD, "otp": null,
            "state": start["state"], "credential": assertion,
        }),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let location = done["location"].as_str().unwrap();
    let oauth_code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let (status, body) = redeem(&svc, "signer-app", redirect, oauth_code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["acr"],
        Loa::Substantial.uri(),
        "the delay was skipped through OAuth"
    );
    // The account page tells the person when it will count.
    let person = svc
        .store
        .person_by_username("karen")
        .await
        .unwrap()
        .unwrap();
    let rows = svc.store.passkeys(&person.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].bound_by, "enrolment-code");
    assert!(rows[0].high_from >= svc.now() + 3500);
    // After the delay it is High.
    svc.clock.advance(3601);
    assert_eq!(
        passkey_acr(&svc, &mut authenticator, &origin).await,
        Loa::High.uri()
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_login_start_answers_the_same_shape_for_every_username() {
    let svc = Service::start().await;
    account(&svc, "karen").await;
    let shape = |v: &serde_json::Value| {
        let pk = &v["options"]["publicKey"];
        let mut keys: Vec<String> = pk.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (
            keys,
            pk["allowCredentials"].as_array().map(|a| !a.is_empty()),
            v["state"].is_string(),
        )
    };
    // Many unknown names: none answers with an empty list (which no real account has).
    for n in 0..60 {
        let (status, body) = post_json(
            &svc,
            "/idp/passkeys/login/start",
            None,
            &serde_json::json!({"username": format!("someone-{n}")}),
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            !body["options"]["publicKey"]["allowCredentials"]
                .as_array()
                .unwrap()
                .is_empty(),
            "someone-{n}: {body}"
        );
    }
    let mut answers = Vec::new();
    for username in ["karen", "nobody-here", "nobody-here"] {
        let (status, body) = post_json(
            &svc,
            "/idp/passkeys/login/start",
            None,
            &serde_json::json!({"username": username}),
        )
        .await;
        assert_eq!(status, 200, "{username}: {body}");
        answers.push(body);
    }
    // An account without passkeys and an unknown one look alike, and asking twice gives the
    // same credential ids (no tell-tale randomness).
    assert_eq!(shape(&answers[0]), shape(&answers[1]));
    assert_eq!(
        answers[1]["options"]["publicKey"]["allowCredentials"],
        answers[2]["options"]["publicKey"]["allowCredentials"]
    );
    assert_ne!(
        answers[1]["options"]["publicKey"]["challenge"],
        answers[2]["options"]["publicKey"]["challenge"]
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_an_earlier_version_are_tagged_once_when_the_records_key_arrives() {
    let svc = Service::start().await;
    let (id, secret) = account(&svc, "karen").await;
    let owner = qsign::keys::Owner {
        id,
        given_name: "Karen".into(),
        family_name: "Blixen".into(),
    };
    svc.keys
        .ensure(&owner, &Context::system(), now())
        .await
        .unwrap();
    // As an earlier version left them: no tag, the TOTP seed in plaintext.
    let url = format!("sqlite://{}", svc.dir.path().join("t.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE persons SET password_mac = NULL, totp_secret = $1")
        .bind(&secret)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE credentials SET mac = NULL")
        .execute(&pool)
        .await
        .unwrap();
    let login = |otp: Option<String>| {
        let svc = &svc;
        async move {
            let mut form = vec![
                ("grant_type", "password".to_owned()),
                ("username", "karen".to_owned()),
                ("password", PASSWORD.to_owned()),
            ];
            if let Some(otp) = otp {
                form.push(("otp", otp));
            }
            token_request(
                svc,
                &form
                    .iter()
                    .map(|(k, v)| (*k, v.as_str()))
                    .collect::<Vec<_>>(),
            )
            .await
            .status()
            .as_u16()
        }
    };
    // Untagged rows are refused...
    assert_eq!(login(None).await, 400);
    // ...until the migration that runs when the records key is created tags them.
    let tagged = svc.identity.tag_existing().await.unwrap();
    assert!(tagged >= 3, "{tagged} rows: the person and the credentials");
    assert_eq!(svc.identity.tag_existing().await.unwrap(), 0, "runs once");
    let (stored,): (String,) = sqlx::query_as("SELECT totp_secret FROM persons")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(stored.starts_with("sealed:"), "{stored}");
    assert_eq!(login(Some(code(&secret, now()))).await, 200);
    let person = svc
        .store
        .person_by_username("karen")
        .await
        .unwrap()
        .unwrap();
    let credentials = svc
        .keys
        .list(&qsign::types::PersonId::parse(&person.id).unwrap())
        .await
        .unwrap();
    assert!(!credentials.is_empty(), "tagged credentials are usable");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_guesses_is_counted_as_it_arrives_and_locks_only_briefly() {
    let svc = Service::start().await;
    account(&svc, "karen").await;
    let ctx = Context::system();
    let t0 = now();
    // 25 wrong passwords at once: only the allowance (3) reaches the password check; the
    // rest are refused before any argon2 work.
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let identity = svc.identity.clone();
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            identity
                .password_grant("karen", "wrong", None, Some("203.0.113.9"), &ctx, t0)
                .await
        }));
    }
    let mut checked = 0;
    let mut locked = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(qsign::identity::Error::InvalidCredentials) => checked += 1,
            Err(qsign::identity::Error::Locked { until }) => {
                locked += 1;
                assert!(until <= t0 + 900, "a lock of {} s", until - t0);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((checked, locked), (3, 22));
    // The lock an outsider causes is short: at most 15 minutes, then the person logs in.
    let ok = svc
        .identity
        .password_grant("karen", PASSWORD, None, None, &ctx, t0 + 901)
        .await
        .unwrap();
    assert_eq!(ok.loa, Loa::Low);
    svc.stop().await;
}
