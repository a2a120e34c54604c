//! A person's journey through the pages over HTTP (issue #20): a refused form shows its own
//! page again with an error summary (in Danish for a Danish reader), the history names the
//! file signed and keeps digests behind a disclosure, the short support reference leads an
//! operator to the records, the identity provider's login page is the site's, the
//! authenticator app's enrolment has a QR code for its person only, and keeping a session
//! needs the anti-forgery token, never raises the level and never outlives the login.

use qsign::service::short_reference;
use serde_json::{json, Value};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use crate::signing::PASSWORD;
use crate::support::{self, Service};
use crate::web::{account, code, localhost, multipart_with};

/// The anti-forgery token these tests hold (cookie and form action alike).
const CSRF: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// A code that is not the current one.
fn wrong_code(svc: &Service, secret: &str) -> String {
    let right: u32 = code(svc, secret).parse().unwrap();
    format!("{:06}", (right + 1) % 1_000_000)
}

/// A request to a page with the session (if any), the anti-forgery cookie and a language;
/// a POST carries the token in its action as the pages' forms do.
fn page(
    svc: &Service,
    method: reqwest::Method,
    path: &str,
    session: Option<&str>,
    lang: Option<&str>,
) -> reqwest::RequestBuilder {
    let path = if method == reqwest::Method::POST {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{path}{separator}csrf={CSRF}")
    } else {
        path.to_owned()
    };
    let mut cookie = format!("qsign_csrf={CSRF}");
    if let Some(token) = session {
        cookie.push_str(&format!("; qsign_session={token}"));
    }
    if let Some(lang) = lang {
        cookie.push_str(&format!("; qsign_lang={lang}"));
    }
    support::no_redirects()
        .request(method, localhost(svc, &path))
        .header("cookie", cookie)
        .header("accept", "text/html")
}

/// The session token a response sets, if it sets one.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("qsign_session="))
        .and_then(|c| c.split(';').next())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Logs in on the start page with password and code: the session token.
async fn page_login(svc: &Service, username: &str, secret: &str) -> String {
    let r = page(svc, reqwest::Method::POST, "/login", None, None)
        .form(&[
            ("username", username),
            ("password", PASSWORD),
            ("otp", &code(svc, secret)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    session_cookie(&r).expect("a session")
}

/// The text between `start` and the next `end` in a page.
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    page.split(start)
        .nth(1)
        .unwrap_or_else(|| panic!("{start} not in {page}"))
        .split(end)
        .next()
        .unwrap()
}

/// A page without its `<details>` disclosures.
fn outside_details(page: &str) -> String {
    let mut out = String::new();
    let mut rest = page;
    while let Some(at) = rest.find("<details") {
        out.push_str(&rest[..at]);
        rest = rest[at..]
            .split_once("</details>")
            .map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

/// Whether a text holds a run of at least 40 hex digits (a digest).
fn has_hex_run(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 40 {
            return true;
        }
    }
    false
}

/// The service's WebAuthn origin.
fn origin(svc: &Service) -> Url {
    Url::parse(&svc.base.replace("127.0.0.1", "localhost")).unwrap()
}

/// A JSON post to the service (the identity provider's API, or a page's script with the
/// anti-forgery header).
async fn post_json(
    svc: &Service,
    path: &str,
    bearer: Option<&str>,
    body: &Value,
) -> (u16, Value, Option<String>) {
    let mut request = support::no_redirects()
        .post(localhost(svc, path))
        .header("cookie", format!("qsign_csrf={CSRF}"))
        .header("x-csrf-token", CSRF)
        .json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let session = session_cookie(&r);
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        session,
    )
}

/// Gives an account with an authenticator app a passkey too (bound with the enrolment code
/// the operator hands over); answers the passkey.
async fn add_passkey(svc: &Service, username: &str, secret: &str) -> SoftPasskey {
    let mut authenticator = SoftPasskey::new(true);
    let token: Value = support::no_redirects()
        .post(svc.url("/idp/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", PASSWORD),
            ("otp", &code(svc, secret)),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let enrolment = svc
        .identity
        .new_enrolment_code(username, &qsign::audit::Context::system(), svc.now())
        .await
        .unwrap();
    let (status, start, _) = post_json(
        svc,
        "/idp/passkeys/register/start",
        Some(&token),
        &json!({"enrolment_code": enrolment}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let options: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let credential = authenticator.do_registration(origin(svc), options).unwrap();
    let (status, body, _) = post_json(
        svc,
        "/idp/passkeys/register/finish",
        Some(&token),
        &json!({"state": start["state"], "credential": credential}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    authenticator
}

/// Logs in on the start page with password and passkey (High), asking to come back to
/// `next`: answers where the page's script is sent and the session token.
async fn passkey_page_login(
    svc: &Service,
    username: &str,
    authenticator: &mut SoftPasskey,
    next: &str,
) -> (String, String) {
    let (status, start, _) = post_json(
        svc,
        "/web/passkey/login/start",
        None,
        &json!({"username": username}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = authenticator
        .do_authentication(origin(svc), options)
        .unwrap();
    let finish = format!(
        "/web/passkey/login/finish?next={}",
        qsign::identity::oauth::percent(next)
    );
    let (status, body, session) = post_json(
        svc,
        &finish,
        None,
        &json!({"username": username, "state": start["state"], "credential": assertion,
            "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        body["location"].as_str().unwrap().to_owned(),
        session.expect("a High session"),
    )
}

/// Uploads a file on the start page: the review page's place.
async fn upload(svc: &Service, session: &str, name: &str, content: &[u8]) -> String {
    let (media_type, body) = multipart_with(
        &[("format", "xades-enveloped"), ("level", "B-B")],
        "file",
        name,
        content,
    );
    let r = page(svc, reqwest::Method::POST, "/sign", Some(session), None)
        .header("content-type", media_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_shows_its_own_page_and_the_short_reference_leads_support_to_it() {
    let svc = Service::start().await;
    let secret = account(&svc, "erik", "Erik", "Lund").await;
    let session = page_login(&svc, "erik", &secret).await;

    // Every signed-in page says when its session ends, with the warning ready.
    let home = page(&svc, reqwest::Method::GET, "/", Some(&session), None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("data-session-expires=\"")
            && home.contains("id=\"session-warning\" class=\"session-warning\" role=\"alertdialog\" aria-modal=\"false\"")
            && home.contains("id=\"session-continue\""),
        "{home}"
    );

    // An upload without a file: the start page again, the summary linking to the file field,
    // the options chosen kept (and unfolded).
    let (media_type, body) = multipart_with(&[("level", "B-T")], "other", "x.txt", b"x");
    let r = page(&svc, reqwest::Method::POST, "/sign", Some(&session), None)
        .header("content-type", media_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let refused = r.text().await.unwrap();
    assert!(
        refused.contains("id=\"error-summary\"")
            && refused.contains("href=\"#file\"")
            && refused.contains("id=\"file-error\"")
            && refused.contains("aria-describedby=\"file-error\"")
            && refused.contains("<details id=\"more-options\" open>")
            && refused.contains("<option value=\"B-T\" selected>"),
        "{refused}"
    );

    // A wrong code on the approval: the review again, with the summary linking to the code.
    let xml = b"<?xml version=\"1.0\"?><order id=\"o-7\"><item>Chair</item></order>".to_vec();
    let review = upload(&svc, &session, "order.xml", &xml).await;
    let id = between(&review, "/sign/", "?").to_owned();
    let reviewed = page(&svc, reqwest::Method::GET, &review, Some(&session), None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let credential = reviewed
        .split("<option value=\"")
        .skip(1)
        .find(|o| o.contains("Advanced"))
        .and_then(|o| o.split('"').next())
        .unwrap()
        .to_owned();
    let approve = format!("/sign/{id}/approve?name=order.xml");
    let r = page(&svc, reqwest::Method::POST, &approve, Some(&session), None)
        .form(&[
            ("credential", credential.as_str()),
            ("otp", &wrong_code(&svc, &secret)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let reference = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let short = short_reference(&reference);
    let english = r.text().await.unwrap();
    for expected in [
        "<div class=\"error-summary\" id=\"error-summary\" role=\"alert\" tabindex=\"-1\"",
        "href=\"#otp\"",
        "aria-invalid=\"true\" aria-describedby=\"otp-error\"",
        "id=\"otp-error\"",
        "id=\"doc-sha256\"",
        "<code id=\"error-code\">activation_failed</code>",
        &format!("<code id=\"support-ref\" class=\"short-ref\">{short}</code>"),
        &reference,
        &format!("value=\"{credential}\" data-scal=\"1\" selected"),
        // The language switch returns to the review, not to the form's address.
        &format!("back=/sign/{id}%3Fname%3Dorder.xml"),
    ] {
        assert!(english.contains(expected), "{expected}: {english}");
    }

    // In Danish for a Danish reader: the code's explanation, the service's words marked English.
    let r = page(
        &svc,
        reqwest::Method::POST,
        &approve,
        Some(&session),
        Some("da"),
    )
    .form(&[
        ("credential", credential.as_str()),
        ("otp", &wrong_code(&svc, &secret)),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let danish = r.text().await.unwrap();
    for expected in [
        "<html lang=\"da\">",
        "Der er et problem",
        "Adgangsnøglen eller koden kunne ikke bekræftes.",
        "class=\"error-detail\" lang=\"en\"",
        "href=\"#otp\"",
    ] {
        assert!(danish.contains(expected), "{expected}: {danish}");
    }

    // The right code signs; "My signatures" names the file, says what it was signed as and
    // with which policy, and keeps the digests behind the technical details.
    svc.clock.advance(31);
    let r = page(&svc, reqwest::Method::POST, &approve, Some(&session), None)
        .form(&[
            ("credential", credential.as_str()),
            ("otp", &code(&svc, &secret)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let history = page(&svc, reqwest::Method::GET, "/history", Some(&session), None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        history.contains("<span class=\"history-document\">order.xml</span>")
            && history.contains("data-event=\"signature_made\"")
            && history.contains("Advanced electronic signature")
            && history.contains("<details class=\"history-technical\">"),
        "{history}"
    );
    let visible = outside_details(&history);
    assert!(
        !has_hex_run(&visible),
        "a digest outside the details: {visible}"
    );
    assert!(!visible.contains(" bytes)"), "{visible}");

    // The operator (alice, High through her passkey) finds the refusal by the short reference,
    // as a person reads it aloud; the passkey login came back to where it was asked to.
    let alice_secret = account(&svc, "alice", "Erik", "Lund").await;
    svc.clock.advance(31);
    let mut passkey = add_passkey(&svc, "alice", &alice_secret).await;
    let (location, alice) = passkey_page_login(&svc, "alice", &mut passkey, &review).await;
    assert_eq!(location, review);
    let (first, last) = short.split_at(4);
    for typed in [short.clone(), format!("{} {}", first, last).to_lowercase()] {
        let r = page(
            &svc,
            reqwest::Method::GET,
            &format!("/support?ref={}", qsign::identity::oauth::percent(&typed)),
            Some(&alice),
            None,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{typed}");
        let found = r.text().await.unwrap();
        assert!(
            found.contains("activation_refused")
                && found.contains(&format!("support_ref={reference}")),
            "{typed}: {found}"
        );
    }
    let r = page(
        &svc,
        reqwest::Method::GET,
        &format!("/support?ref={short}"),
        Some(&session),
        None,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 403, "only operators look references up");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_providers_login_page_is_the_sites_in_the_readers_language() {
    let svc = Service::start().await;
    account(&svc, "karen", "Erik", "Lund").await;
    let (_, challenge) = support::pkce();
    let authorize = format!(
        "/idp/authorize?response_type=code&client_id=signer-app&redirect_uri={}&state=s-1&code_challenge={challenge}&code_challenge_method=S256",
        qsign::identity::oauth::percent("http://localhost:9999/callback")
    );
    let r = page(&svc, reqwest::Method::GET, &authorize, None, Some("da"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("style-src 'self'") && !csp.contains("form-action"),
        "{csp}"
    );
    let login = r.text().await.unwrap();
    for expected in [
        "<html lang=\"da\">",
        "href=\"/static/qsign.css\"",
        "src=\"/idp/static/login.js\"",
        "Log ind på qsign",
        "id=\"support-contact\"",
        "id=\"passkey\"",
        "hreflang=\"en\"",
    ] {
        assert!(login.contains(expected), "{expected}: {login}");
    }
    assert!(!login.contains("src=\"/static/qsign.js\""), "one script");
    let request = support::form_request(&login);

    // The language switch comes back to the same pending login.
    let back = format!("/idp/authorize%3Frequest%3D{request}");
    assert!(login.contains(&format!("back={back}")), "{login}");
    let r = page(
        &svc,
        reqwest::Method::GET,
        &format!("/lang?to=en&back={back}"),
        None,
        None,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let again = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(again, format!("/idp/authorize?request={request}"));
    let english = page(&svc, reqwest::Method::GET, &again, None, Some("en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        english.contains("Log in to qsign") && support::form_request(&english) == request,
        "{english}"
    );

    // A wrong password: the page again, with the summary in Danish linking to the password.
    let r = support::no_redirects()
        .post(localhost(&svc, "/idp/authorize"))
        .header("cookie", "qsign_lang=da")
        .form(&[
            ("request", request.as_str()),
            ("username", "karen"),
            ("password", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reference = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let refused = r.text().await.unwrap();
    for expected in [
        "id=\"error-summary\"",
        "href=\"#password\"",
        "aria-describedby=\"password-error\"",
        "Brugernavn, adgangskode eller engangskode er forkert.",
        "lang=\"en\">The username, password or one-time code is not right.",
        "value=\"karen\"",
        &short_reference(&reference),
    ] {
        assert!(refused.contains(expected), "{expected}: {refused}");
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authenticator_apps_qr_code_is_drawn_for_its_person_only() {
    let svc = Service::start().await;
    let secret = account(&svc, "alice", "Erik", "Lund").await;
    let mut passkey = add_passkey(&svc, "alice", &secret).await;
    let (_, alice) = passkey_page_login(&svc, "alice", &mut passkey, "/account").await;
    let offer = page(
        &svc,
        reqwest::Method::GET,
        "/account/totp",
        Some(&alice),
        None,
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let new_secret = between(&offer, "<code id=\"totp-secret\">", "<").to_owned();
    let qr = format!("/account/totp/qr.svg?secret={new_secret}");
    assert!(
        offer.contains(&format!("id=\"totp-qr\" class=\"qr\" src=\"{qr}\" alt=\"")),
        "{offer}"
    );
    let r = page(&svc, reqwest::Method::GET, &qr, Some(&alice), None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let svg = r.text().await.unwrap();
    assert!(svg.contains("<svg") && !svg.contains("<script"), "{svg}");

    // Without the session: no picture. Below High (a password and a code): no picture.
    let r = page(&svc, reqwest::Method::GET, &qr, None, None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(!r.text().await.unwrap().contains("<svg"));
    let other = account(&svc, "erik", "Erik", "Lund").await;
    let erik = page_login(&svc, "erik", &other).await;
    let r = page(&svc, reqwest::Method::GET, &qr, Some(&erik), None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A wrong code: the same secret again, with the summary linking to the code field.
    let r = page(
        &svc,
        reqwest::Method::POST,
        "/account/totp",
        Some(&alice),
        None,
    )
    .form(&[
        ("secret", new_secret.as_str()),
        ("code", &wrong_code(&svc, &new_secret)),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let refused = r.text().await.unwrap();
    assert!(
        refused.contains("id=\"error-summary\"")
            && refused.contains("href=\"#code\"")
            && refused.contains("aria-invalid=\"true\" aria-describedby=\"code-error\"")
            && refused.contains(&format!("<code id=\"totp-secret\">{new_secret}</code>"))
            && refused.contains(&format!("src=\"{qr}\"")),
        "{refused}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeping_a_session_needs_the_token_and_never_raises_the_level_or_outlives_the_login() {
    let svc = Service::start().await;
    let secret = account(&svc, "erik", "Erik", "Lund").await;
    let session = page_login(&svc, "erik", &secret).await;

    // Without the anti-forgery token: refused.
    let r = support::no_redirects()
        .post(localhost(&svc, "/session/extend"))
        .header(
            "cookie",
            format!("qsign_session={session}; qsign_csrf={CSRF}"),
        )
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "form_rejected");

    // With it: a new session at the same level; the old token ends.
    let extend = |token: String| {
        let svc = &svc;
        async move {
            let r = support::no_redirects()
                .post(localhost(svc, "/session/extend"))
                .header(
                    "cookie",
                    format!("qsign_session={token}; qsign_csrf={CSRF}"),
                )
                .header("x-csrf-token", CSRF)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let renewed = session_cookie(&r);
            (
                status,
                r.json::<Value>().await.unwrap_or(Value::Null),
                renewed,
            )
        }
    };
    let (status, body, renewed) = extend(session.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["loa"].as_str().unwrap().ends_with("Substantial"),
        "{body}"
    );
    let renewed = renewed.expect("a new session cookie");
    assert_ne!(renewed, session);
    let home = page(&svc, reqwest::Method::GET, "/", Some(&renewed), None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("<span id=\"loa\">Substantial</span>"),
        "{home}"
    );
    let r = page(&svc, reqwest::Method::GET, "/account", Some(&session), None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the old token is revoked");

    // Kept alive again and again, the session still ends with the login's longest duration.
    let mut token = renewed;
    let mut capped = false;
    for _ in 0..110 {
        svc.clock.advance(280);
        let (status, body, renewed) = extend(token.clone()).await;
        if status != 200 {
            assert_eq!(status, 401, "{body}");
            assert!(capped, "the last session ran to the login's end");
            svc.stop().await;
            return;
        }
        let lasts = body["expires"].as_i64().unwrap() - body["now"].as_i64().unwrap();
        assert!(lasts <= 300, "{body}");
        capped |= lasts < 280;
        token = renewed.unwrap();
    }
    panic!("a login was kept for more than 8 hours");
}
