//! The web pages: end to end in Debian's headless Chromium (tests/browser/e2e.mjs, driven by
//! playwright-core), with every downloaded signature checked by pdfsig and pyHanko; and the
//! pages' HTTP contract (security headers, cookies, anti-forgery, error pages, limits) checked
//! over real HTTP.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use qsign::identity::AccountRequest;
use qsign::service::ErrorCode;
use serde_json::{json, Value};

use crate::pades;
use crate::signing::PASSWORD;
use crate::support::{self, sample_pdf, Service};

const CVR: &str = "35408002";

/// Makes an account with a TOTP app; answers its secret.
pub(crate) async fn account(svc: &Service, username: &str, given: &str, family: &str) -> String {
    svc.identity
        .create_account(
            &AccountRequest {
                username,
                given_name: given,
                family_name: family,
                password: PASSWORD,
                with_totp: true,
            },
            &qsign::audit::Context::system(),
            svc.now(),
        )
        .await
        .unwrap()
        .totp_secret
        .unwrap()
}

/// Where screenshots go: `target/screenshots/`.
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("screenshots")
}

/// The service's pages under `localhost` (passkeys need a domain name).
pub(crate) fn localhost(svc: &Service, path: &str) -> String {
    svc.url(path).replace("127.0.0.1", "localhost")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_verifiers_administrators_and_support_use_the_pages_in_chromium() {
    let svc = Service::start().await;
    let alice = account(&svc, "alice", "Alice", "Andersen").await;
    let bob = account(&svc, "bob", "Bo", "Berg").await;
    svc.service
        .orgs
        .create_organisation(CVR, "Andersen ApS", "alice")
        .await
        .unwrap();
    let pdf = sample_pdf(2, "1.4", 0);
    let pdf_path = svc.file("contract.pdf", &pdf);
    let out = svc.dir.path().join("browser");
    std::fs::create_dir_all(&out).unwrap();
    let code = |name: &'static str| {
        let svc = &svc;
        async move {
            svc.identity
                .new_enrolment_code(name, &qsign::audit::Context::system(), svc.now())
                .await
                .unwrap()
        }
    };
    let config = json!({
        "base": localhost(&svc, ""),
        "password": PASSWORD,
        "alice": alice,
        "bob": bob,
        "alice_code": code("alice").await,
        "bob_code": code("bob").await,
        "cvr": CVR,
        "pdf": pdf_path,
        "pdf_sha256": hex::encode(support::sha256(&pdf)),
        "out": out,
        "shots": screenshots(),
    });
    let config_path = svc.file("browser.json", config.to_string().as_bytes());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/e2e.mjs");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .env("WEB_TEST_CONFIG", &config_path)
        .output()
        .await
        .expect("node (make test installs it, with playwright-core and chromium)");
    let results: Value = std::fs::read(out.join("results.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    assert!(
        run.status.success() && results["ok"] == true,
        "browser run failed: {results:#}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        results["help_codes"].as_u64(),
        Some(ErrorCode::ALL.len() as u64),
        "help explains every error code"
    );
    assert_eq!(results["first_name"], "contract-signed.pdf");
    // axe-core ran on every page state the journey shows, in both languages, and found no
    // WCAG 2.x A/AA violation (the browser run fails on any).
    let checked: Vec<&str> = results["axe"]["checked"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        checked.len() >= 25
            && checked.iter().any(|c| c.ends_with("(da)"))
            && checked.iter().any(|c| c.ends_with("(en)")),
        "axe-core checked too few page states: {checked:?}"
    );
    assert_eq!(results["axe"]["violations"], serde_json::json!([]));
    let steps: Vec<&str> = results["steps"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for step in [
        "keyboard only at 375 px",
        "session warning",
        "focus ring contrast",
    ] {
        assert!(
            steps.contains(&step),
            "the browser run did not get to {step:?}: {steps:?}"
        );
    }
    assert!(
        results["focus_rings"].as_u64().unwrap_or(0) >= 8,
        "focus rings measured: {}",
        results["focus_rings"]
    );

    // The files the browser downloaded, checked by the independent validators.
    let once = std::fs::read(out.join("signed-once.pdf")).unwrap();
    let twice = std::fs::read(out.join("signed-twice.pdf")).unwrap();
    assert!(
        once.starts_with(&pdf),
        "the first signature is an incremental update"
    );
    assert!(
        twice.starts_with(&once),
        "the second signature keeps the first"
    );
    let report = pades::assert_valid(&svc, &once, 1, false, "signed in the browser").await;
    assert_eq!(
        report["signatures"][0]["signer_timestamp_valid"], true,
        "{report}"
    );
    assert!(
        report["dss"]["certs"].as_u64().unwrap() >= 3,
        "B-LT: {report}"
    );
    let report = pades::assert_valid(&svc, &twice, 2, false, "two signers in the browser").await;
    for s in report["signatures"].as_array().unwrap() {
        assert_eq!(s["signer_timestamp_valid"], true, "B-LT: {report}");
    }
    let (_, text) = pades::pdfsig(&svc, &twice);
    assert!(
        text.contains("Alice Andersen") && text.contains("Bo Berg"),
        "{text}"
    );
    for shot in [
        "01-login",
        "03-review",
        "06-report",
        "07-organisation",
        "08-error",
    ] {
        let path = screenshots().join(format!("{shot}.png"));
        let png = std::fs::read(&path).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{}", path.display());
    }
    svc.stop().await;
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The anti-forgery token the service hands a new visitor.
async fn csrf_token(svc: &Service) -> String {
    let page = client()
        .get(localhost(svc, "/verify"))
        .send()
        .await
        .unwrap();
    let cookie = set_cookies(&page)
        .into_iter()
        .find(|c| c.starts_with("qsign_csrf="))
        .expect("a new visitor gets the anti-forgery cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie["qsign_csrf=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Logs in on the page with password and code: the session cookie as set (attributes too)
/// and the request's status.
async fn page_login(svc: &Service, username: &str, secret: &str, csrf: &str) -> (u16, String) {
    let r = client()
        .post(localhost(svc, &format!("/login?csrf={csrf}")))
        .header("cookie", format!("qsign_csrf={csrf}"))
        .form(&[
            ("username", username),
            ("password", PASSWORD),
            ("otp", &code(svc, secret)),
        ])
        .send()
        .await
        .unwrap();
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("qsign_session="))
        .unwrap_or_default();
    (r.status().as_u16(), session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_strict_security_headers_and_session_cookies() {
    let svc = Service::start().await;
    let secret = account(&svc, "carl", "Carl", "Nielsen").await;
    for path in ["/", "/verify", "/help"] {
        let r = client().get(localhost(&svc, path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains(" style=") && !body.contains("<script>"),
            "{path}: inline code"
        );
    }
    // Danish by Accept-Language.
    let danish = |path: &str| {
        client()
            .get(localhost(&svc, path))
            .header("accept-language", "da-DK,da;q=0.9")
            .header("accept", "text/html")
            .send()
    };
    let da = danish("/").await.unwrap().text().await.unwrap();
    assert!(da.contains("lang=\"da\"") && da.contains("Log ind"), "{da}");
    // On a Danish error page, the service's own (English) message is marked as English for
    // screen readers; the advice is Danish.
    let da_error = danish("/no/such/page").await.unwrap().text().await.unwrap();
    assert!(
        da_error.contains("id=\"error-message\" lang=\"en\"") && da_error.contains("lang=\"da\""),
        "{da_error}"
    );
    // Every page, and every error, says how to reach a person.
    for page in [&da, &da_error] {
        assert!(
            page.contains("Brug for hjælp? Kontakt qsign test support, +45 70 00 00 00"),
            "{page}"
        );
    }

    // A page whose session ended offers to log in again and come back; the login returns to
    // that page, and only to a local one.
    let review = "/sign/0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a";
    let ended = danish(review).await.unwrap();
    assert_eq!(ended.status(), 401);
    let ended = ended.text().await.unwrap();
    assert!(
        ended.contains(&format!("href=\"/?next={review}\"")),
        "{ended}"
    );
    let start = danish(&format!("/?next={review}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        start.contains(&format!("name=\"next\" value=\"{review}\"")),
        "{start}"
    );
    for (next, expected) in [(review, review), ("//evil.example/x", "/"), ("/a?b=c", "/")] {
        let csrf = csrf_token(&svc).await;
        let r = client()
            .post(localhost(&svc, &format!("/login?csrf={csrf}")))
            .header("cookie", format!("qsign_csrf={csrf}"))
            .form(&[
                ("username", "carl"),
                ("password", PASSWORD),
                ("otp", &code(&svc, &secret)),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(r.headers()["location"], expected, "{next}");
        svc.clock.advance(30);
    }

    // Log in with the token from the cookie: the session cookie is HttpOnly and SameSite=Lax
    // (no Secure on loopback HTTP).
    let csrf = csrf_token(&svc).await;
    let (status, session) = page_login(&svc, "carl", &secret, &csrf).await;
    assert_eq!(status, 303);
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "{session}");
    let token = session["qsign_session=".len()..].split(';').next().unwrap();
    let home = client()
        .get(localhost(&svc, "/"))
        .header(
            "cookie",
            format!("qsign_session={token}; qsign_csrf={csrf}"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("Substantial") && home.contains("carl"),
        "{home}"
    );

    // No open redirect from the language switch, and no broken header: a tab that browsers
    // strip, a newline, a backslash all go home.
    for back in [
        "//evil.example/x",
        "/%09/evil.example",
        "/%0A",
        "/%5C%5Cevil.example",
        "/%0D%0ASet-Cookie:x=1",
    ] {
        let r = client()
            .get(localhost(&svc, &format!("/lang?to=da&back={back}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{back}");
        assert_eq!(r.headers()["location"], "/", "{back}");
    }
    let r = client()
        .get(localhost(&svc, "/lang?to=da&back=/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/account");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_stale_form_posts_are_refused_with_an_error_page() {
    let svc = Service::start().await;
    account(&svc, "dora", "Dora", "Holm").await;
    let csrf = csrf_token(&svc).await;
    let form = [("username", "dora"), ("password", PASSWORD)];
    let cases: [(&str, Option<&str>, Option<&str>); 4] = [
        ("no token", None, None),
        ("a wrong token", Some("x".repeat(43).leak()), None),
        ("no cookie", None, Some(csrf.as_str())),
        ("another site", Some(csrf.as_str()), Some(csrf.as_str())),
    ];
    for (what, cookie, token) in cases {
        let path = token.map_or_else(|| "/login".to_owned(), |t| format!("/login?csrf={t}"));
        let mut request = client()
            .post(localhost(&svc, &path))
            .header("accept", "text/html")
            .form(&form);
        if let Some(c) = cookie {
            request = request.header("cookie", format!("qsign_csrf={c}"));
        }
        if what == "another site" {
            request = request.header("origin", "http://evil.example");
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 403, "{what}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = r.text().await.unwrap();
        assert!(
            page.contains("form_rejected") && page.contains("support-ref"),
            "{what}: {page}"
        );
        assert!(set_cookies_none(&page), "{what}");
    }
    // The same post with the token and the cookie goes through (to a wrong-password error).
    let r = client()
        .post(localhost(&svc, &format!("/login?csrf={csrf}")))
        .header("cookie", format!("qsign_csrf={csrf}"))
        .header("accept", "text/html")
        .form(&[("username", "dora"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("invalid_grant"));
    // API clients still get JSON errors.
    let r = client()
        .post(localhost(&svc, "/login"))
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "form_rejected");
    svc.stop().await;
}

/// A `multipart/form-data` body with one file: its media type and bytes.
fn multipart(field: &str, file_name: &str, content: &[u8]) -> (String, Vec<u8>) {
    multipart_with(&[], field, file_name, content)
}

/// A `multipart/form-data` body with text fields and one file.
pub(crate) fn multipart_with(
    fields: &[(&str, &str)],
    field: &str,
    file_name: &str,
    content: &[u8],
) -> (String, Vec<u8>) {
    let boundary = "qsign-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes());
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A refused page never sets a session.
fn set_cookies_none(page: &str) -> bool {
    !page.contains("qsign_session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_uploads_get_clear_error_pages() {
    let svc = Service::start().await;
    let csrf = csrf_token(&svc).await;
    // 200 MB announced to the verifier: refused from the headers, before the body is read.
    let addr = svc.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /verify?csrf={csrf} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/html\r\n\
         Cookie: qsign_csrf={csrf}\r\nContent-Type: multipart/form-data; boundary=x\r\n\
         Content-Length: {}\r\n\r\n--x\r\n",
        200 * 1024 * 1024
    )
    .unwrap();
    let mut head = vec![0u8; 8192];
    let n = stream.read(&mut head).unwrap();
    let reply = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("text/html"), "{reply}");

    // A file that is not a signed file, with markup in its name and content.
    let evil = "<script>alert(1)</script>.pdf";
    let (media_type, body) = multipart("file", evil, b"<html><script>alert(2)</script></html>");
    let r = client()
        .post(localhost(&svc, &format!("/verify?csrf={csrf}")))
        .header("cookie", format!("qsign_csrf={csrf}"))
        .header("accept", "text/html")
        .header("content-type", media_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("unusable_input"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");

    // An unknown page and a missing session are pages too, with the support reference.
    for (path, code) in [
        ("/no/such/page", "not_found"),
        ("/account", "invalid_token"),
    ] {
        let r = client()
            .get(localhost(&svc, path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        let reference = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let page = r.text().await.unwrap();
        assert!(
            page.contains(code) && page.contains(&reference),
            "{path}: {page}"
        );
    }

    // The JSON report of a real signature, through the same page.
    let signer = pades::key(&svc).await;
    let signed = pades::sign(
        &svc,
        &signer,
        sample_pdf(1, "1.7", 0),
        &qsign::formats::pades::Options::default(),
        qsign::formats::cms::Level::BB,
    )
    .await;
    let (media_type, body) = multipart("file", "signed.pdf", &signed);
    let page = client()
        .post(localhost(&svc, &format!("/verify?csrf={csrf}")))
        .header("cookie", format!("qsign_csrf={csrf}"))
        .header("content-type", media_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"verdict\""), "{page}");
    let (valid, text) = pades::pdfsig(&svc, &signed);
    assert!(valid.iter().all(|(v, _)| *v), "{text}");
    svc.stop().await;
}

/// The current TOTP code of a secret at the service's clock.
pub(crate) fn code(svc: &Service, secret: &str) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    format!(
        "{:06}",
        qsign::identity::totp::code_at(&key, svc.now().div_euclid(30))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_and_any_file_are_signed_on_the_pages_without_javascript() {
    let svc = Service::start().await;
    let secret = account(&svc, "erik", "Erik", "Lund").await;
    let csrf = csrf_token(&svc).await;
    let (_, session) = page_login(&svc, "erik", &secret, &csrf).await;
    let session = session["qsign_session=".len()..].split(';').next().unwrap();
    let cookie = format!("qsign_session={session}; qsign_csrf={csrf}");
    let chain = format!(
        "{}{}",
        support::cert_pem(&svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap()),
        support::cert_pem(
            &svc.pki
                .ca_certificate(qsign::pki::Ca::Issuing)
                .await
                .unwrap()
        )
    );
    let roots = svc.file("roots.pem", chain.as_bytes());
    let xml = b"<?xml version=\"1.0\"?><order id=\"o-7\"><item>Chair</item></order>".to_vec();
    let any = b"\x00\x01 any bytes at all \xff".to_vec();
    for (format, name, content, download) in [
        ("xades-enveloped", "order.xml", &xml, "order-signed.xml"),
        ("cades-detached", "data.bin", &any, "data.bin.p7s"),
    ] {
        let (media_type, body) = multipart_with(
            &[("format", format), ("level", "B-T")],
            "file",
            name,
            content,
        );
        let r = client()
            .post(localhost(&svc, &format!("/sign?csrf={csrf}")))
            .header("cookie", &cookie)
            .header("content-type", media_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{format}");
        let review = r.headers()["location"].to_str().unwrap().to_owned();
        let id = review
            .strip_prefix("/sign/")
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let page = client()
            .get(localhost(&svc, &review))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&hex::encode(support::sha256(content))),
            "{page}"
        );
        // The advanced credential (SCAL1) accepts a one-time code: a plain form, no script.
        let credential = page
            .split("<option value=\"")
            .skip(1)
            .find(|o| o.contains("Advanced"))
            .and_then(|o| o.split('"').next())
            .unwrap()
            .to_owned();
        svc.clock.advance(31);
        let r = client()
            .post(localhost(
                &svc,
                &format!("/sign/{id}/approve?csrf={csrf}&name={name}"),
            ))
            .header("cookie", &cookie)
            .form(&[
                ("credential", credential.as_str()),
                ("otp", &code(&svc, &secret)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{format}: {}", r.text().await.unwrap());
        let r = client()
            .get(localhost(&svc, &format!("/sign/{id}/download?name={name}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-disposition"],
            format!("attachment; filename=\"{download}\"").as_str()
        );
        let signed = r.bytes().await.unwrap().to_vec();
        let (ok, out) = if format == "cades-detached" {
            support::cms_verify(&svc, &roots, &signed, Some(content), &[])
        } else {
            support::xmlsec_verify(&svc, &signed).await
        };
        assert!(ok, "{format}: {out}");
        // Signing again is refused; another person cannot fetch it.
        let again = client()
            .post(localhost(&svc, &format!("/sign/{id}/approve?csrf={csrf}")))
            .header("cookie", &cookie)
            .header("accept", "text/html")
            .form(&[("credential", credential.as_str()), ("otp", "000000")])
            .send()
            .await
            .unwrap();
        assert!(again.status().is_client_error());
        let stranger = client()
            .get(localhost(&svc, &format!("/sign/{id}/download")))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(stranger.status(), 401);
    }
    svc.stop().await;
}
