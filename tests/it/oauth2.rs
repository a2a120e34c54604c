//! OAuth 2.0 beyond the plain code flow, over real HTTP: the authorization server metadata,
//! pushed authorization requests (RFC 9126), DPoP-bound tokens (RFC 9449) and clients that
//! authenticate with `private_key_jwt` (RFC 7523). Each property is checked by the attack that
//! would break it: a `request_uri` reused, used by another client or after it expired; a
//! DPoP-bound token replayed without its proof, as a bearer token, with a proof for another
//! URL or method, with a reused, stale or foreign proof; a client assertion signed by another
//! key, for another audience, expired or replayed.

use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::signing::{person, refused};
use crate::support::{self, Service};

const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://localhost:9999/callback";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS, ES256, over a header and claims.
pub(crate) fn jws(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature: Signature = key
        .sign_prehash(&sha2::Sha256::digest(input.as_bytes()))
        .unwrap();
    format!("{input}.{}", b64url(&signature.to_bytes()))
}

/// The public JWK of a P-256 key.
pub(crate) fn jwk_of(key: &SigningKey) -> Value {
    let point = key.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    json!({"kty": "EC", "crv": "P-256", "x": b64url(&bytes[1..33]), "y": b64url(&bytes[33..65])})
}

/// The RFC 7638 thumbprint of a P-256 key.
pub(crate) fn thumbprint_of(key: &SigningKey) -> String {
    let point = key.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    qsign::identity::dpop::thumbprint(&bytes[1..33], &bytes[33..65])
}

/// A `private_key_jwt` client assertion.
pub(crate) fn assertion(key: &SigningKey, client: &str, aud: &str, exp: i64, jti: &str) -> String {
    jws(
        key,
        &json!({"alg": "ES256", "typ": "JWT"}),
        &json!({"iss": client, "sub": client, "aud": aud, "exp": exp, "iat": exp - 60,
            "jti": jti}),
    )
}

/// A client's DPoP key.
pub(crate) struct DpopKey(pub(crate) SigningKey);

impl DpopKey {
    pub(crate) fn new(seed: u8) -> Self {
        Self(SigningKey::from_slice(&[seed; 32]).unwrap())
    }

    /// A proof for `method` and `url` made at `iat`, with the `ath` of `token` when given.
    pub(crate) fn proof_at(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        iat: i64,
    ) -> String {
        let mut claims = json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": method,
            "htu": url, "iat": iat});
        if let Some(token) = token {
            claims["ath"] = json!(b64url(&sha2::Sha256::digest(token.as_bytes())));
        }
        jws(
            &self.0,
            &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk_of(&self.0)}),
            &claims,
        )
    }

    /// A fresh proof for `method` and `url`, with the `ath` of `token` when given.
    pub(crate) fn proof(
        &self,
        svc: &Service,
        method: &str,
        url: &str,
        token: Option<&str>,
    ) -> String {
        self.proof_at(method, url, token, svc.now())
    }
}

/// A request's status, body and `WWW-Authenticate` header.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> (u16, Value, String) {
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        challenge,
    )
}

/// A form POST.
pub(crate) async fn form(svc: &Service, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let (status, body, _) = send(reqwest::Client::new().post(svc.url(path)).form(form)).await;
    (status, body)
}

/// A CSC call with `Authorization: {scheme} {token}` and, when given, a `DPoP` proof.
async fn csc_with(
    svc: &Service,
    method: &str,
    (scheme, token): (&str, &str),
    proof: Option<&str>,
) -> (u16, Value, String) {
    let mut request = reqwest::Client::new()
        .post(svc.url(&format!("/csc/v2/{method}")))
        .header("Authorization", format!("{scheme} {token}"))
        .json(&json!({}));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    send(request).await
}

/// The claims of a JWT, unverified.
fn claims_of(jwt: &str) -> Value {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// The parameters with a `private_key_jwt` assertion.
fn with_assertion<'a>(
    params: &[(&'a str, &'a str)],
    assertion: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut p = params.to_vec();
    p.push(("client_assertion_type", JWT_BEARER));
    p.push(("client_assertion", assertion));
    p
}

/// `/idp/authorize` by reference to a pushed request.
fn by_reference(svc: &Service, client: &str, request_uri: &str) -> String {
    format!(
        "{}?client_id={client}&request_uri={}",
        svc.url("/idp/authorize"),
        qsign::identity::oauth::percent(request_uri)
    )
}

/// The parameters of an authorization request of `client` with this PKCE challenge.
fn request_params<'a>(client: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("state", "s-9"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// Logs Karen in on the page of a pushed request; the code from the redirect.
async fn log_in(svc: &Service, karen: &crate::signing::Person, client: &str, uri: &str) -> String {
    let http = support::no_redirects();
    let page = http
        .get(by_reference(svc, client, uri))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let request = support::form_request(&page.text().await.unwrap());
    let otp = karen.code(svc);
    let done = http
        .post(svc.url("/idp/authorize"))
        .form(&[
            ("request", request.as_str()),
            ("username", "karen"),
            ("password", PASSWORD),
            ("otp", otp.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")) && location.ends_with("&state=s-9"),
        "the pushed parameters were used: {location}"
    );
    location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_names_par_dpop_private_key_jwt_and_the_csc_scopes() {
    let svc = Service::start().await;
    let get = |path: &str| {
        let url = svc.url(path);
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let meta = get("/.well-known/oauth-authorization-server").await;
    assert_eq!(meta["issuer"], svc.url("/idp"));
    assert_eq!(meta["authorization_endpoint"], svc.url("/idp/authorize"));
    assert_eq!(meta["token_endpoint"], svc.url("/idp/token"));
    assert_eq!(
        meta["pushed_authorization_request_endpoint"],
        svc.url("/idp/par")
    );
    assert_eq!(meta["jwks_uri"], svc.url("/idp/jwks"));
    assert_eq!(meta["require_pushed_authorization_requests"], false);
    assert_eq!(meta["dpop_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["none", "private_key_jwt"])
    );
    assert_eq!(
        meta["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256"])
    );
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["scopes_supported"], json!(["service", "credential"]));
    assert_eq!(
        meta["authorization_details_types_supported"],
        json!(["credential"])
    );
    let grants = meta["grant_types_supported"].as_array().unwrap();
    for grant in ["authorization_code", "client_credentials"] {
        assert!(grants.contains(&json!(grant)), "{meta}");
    }
    // OpenID discovery says the same, and its own members beside.
    let oidc = get("/.well-known/openid-configuration").await;
    for (member, value) in meta.as_object().unwrap() {
        assert_eq!(&oidc[member], value, "{member}");
    }
    assert!(oidc["acr_values_supported"].as_array().unwrap().len() >= 3);
    // CSC info names the OAuth endpoints and every method.
    let (status, info) = crate::signing::csc(&svc, "info", "", &json!({})).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["oauth2"], svc.url("/idp"));
    assert_eq!(info["oauth2Issuer"], svc.url("/idp"));
    assert_eq!(info["oauth2PAR"], svc.url("/idp/par"));
    let methods = info["methods"].as_array().unwrap();
    for method in [
        "info",
        "credentials/list",
        "credentials/info",
        "credentials/authorize",
        "signatures/signHash",
        "signatures/signDoc",
    ] {
        assert!(methods.contains(&json!(method)), "{method}: {info}");
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_request_is_used_once_by_its_own_client_before_it_expires() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let (_, challenge) = support::pkce();
    let http = support::no_redirects();

    let (status, pushed) = form(&svc, "/idp/par", &request_params("signer-app", &challenge)).await;
    assert_eq!(status, 201, "{pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let uri = pushed["request_uri"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{uri}"
    );

    // Another client cannot use it, and does not spend it by trying.
    let other = http
        .get(by_reference(&svc, "shop", &uri))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 400);
    // Its own client can, once.
    let code = log_in(&svc, &karen, "signer-app", &uri).await;
    assert!(!code.is_empty());
    let again = http
        .get(by_reference(&svc, "signer-app", &uri))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400, "a request_uri worked twice");
    // An unknown one is refused, and so is a pushed request that refers to another.
    let unknown = format!("{uri}x");
    let r = http
        .get(by_reference(&svc, "signer-app", &unknown))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let mut nested = request_params("signer-app", &challenge);
    nested.push(("request_uri", uri.as_str()));
    refused(
        &form(&svc, "/idp/par", &nested).await,
        400,
        "invalid_request",
    );

    // What the authorization endpoint would refuse is refused at once, to the client.
    let mut bad = request_params("signer-app", &challenge);
    bad.retain(|(k, _)| *k != "code_challenge");
    refused(&form(&svc, "/idp/par", &bad).await, 400, "invalid_request");
    let mut wrong_redirect = request_params("signer-app", &challenge);
    wrong_redirect[2] = ("redirect_uri", "https://evil.example/cb");
    refused(
        &form(&svc, "/idp/par", &wrong_redirect).await,
        400,
        "invalid_request",
    );
    let mut scope = request_params("signer-app", &challenge);
    scope.push(("scope", "credential"));
    let (status, body) = form(&svc, "/idp/par", &scope).await;
    assert_eq!(
        status, 400,
        "credential scope without authorization_details: {body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("invalid_scope"));
    refused(
        &form(&svc, "/idp/par", &request_params("nobody", &challenge)).await,
        401,
        "invalid_client",
    );

    // A pushed request expires after 60 seconds.
    let (_, late) = form(&svc, "/idp/par", &request_params("signer-app", &challenge)).await;
    let late = late["request_uri"].as_str().unwrap().to_owned();
    svc.clock.advance(61);
    let r = http
        .get(by_reference(&svc, "signer-app", &late))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "an expired request_uri worked");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_bound_token_works_only_beside_a_fresh_proof_of_its_key_for_the_request() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let key = DpopKey::new(0x11);
    let (verifier, challenge) = support::pkce();
    let (_, pushed) = form(&svc, "/idp/par", &request_params("signer-app", &challenge)).await;
    let uri = pushed["request_uri"].as_str().unwrap().to_owned();
    let code = log_in(&svc, &karen, "signer-app", &uri).await;

    // The code exchange with a DPoP proof gives a token bound to the proof's key.
    let token_url = svc.url("/idp/token");
    let proof = key.proof(&svc, "POST", &token_url, None);
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "signer-app"),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, issued, _) = send(
        reqwest::Client::new()
            .post(token_url.as_str())
            .header("DPoP", proof.as_str())
            .form(&exchange),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["token_type"], "DPoP");
    assert_eq!(issued["scope"], "service");
    let token = issued["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&token)["cnf"]["jkt"], thumbprint_of(&key.0));
    // The same proof at the token endpoint again: a replayed jti.
    let password = [
        ("grant_type", "password"),
        ("username", "karen"),
        ("password", PASSWORD),
    ];
    let (status, body, _) = send(
        reqwest::Client::new()
            .post(token_url.as_str())
            .header("DPoP", proof.as_str())
            .form(&password),
    )
    .await;
    refused(&(status, body), 401, "invalid_dpop_proof");

    let list = svc.url("/csc/v2/credentials/list");
    let dpop = ("DPoP", token.as_str());
    // With a fresh proof for this request: the call works.
    let good = key.proof(&svc, "POST", &list, Some(token.as_str()));
    let (status, body, _) = csc_with(&svc, "credentials/list", dpop, Some(good.as_str())).await;
    assert_eq!(status, 200, "{body}");
    // The same proof again: refused.
    let (status, body, challenge) =
        csc_with(&svc, "credentials/list", dpop, Some(good.as_str())).await;
    refused(&(status, body), 401, "invalid_dpop_proof");
    assert!(
        challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    // The token alone, as DPoP or as a bearer token: refused.
    let (status, body, _) = csc_with(&svc, "credentials/list", dpop, None).await;
    refused(&(status, body), 401, "invalid_token");
    let bearer = ("Bearer", token.as_str());
    let (status, body, _) = csc_with(&svc, "credentials/list", bearer, None).await;
    refused(&(status, body), 401, "invalid_token");
    let fresh = key.proof(&svc, "POST", &list, Some(token.as_str()));
    let (status, body, _) = csc_with(&svc, "credentials/list", bearer, Some(fresh.as_str())).await;
    refused(&(status, body), 401, "invalid_token");
    // A proof for another URL, for another method.
    let info = svc.url("/csc/v2/credentials/info");
    let elsewhere = key.proof(&svc, "POST", &info, Some(token.as_str()));
    let (status, body, _) =
        csc_with(&svc, "credentials/list", dpop, Some(elsewhere.as_str())).await;
    refused(&(status, body), 401, "invalid_dpop_proof");
    let get = key.proof(&svc, "GET", &list, Some(token.as_str()));
    let (status, body, _) = csc_with(&svc, "credentials/list", dpop, Some(get.as_str())).await;
    refused(&(status, body), 401, "invalid_dpop_proof");
    // A proof signed by another key (a thief with the token but not the key).
    let thief = DpopKey::new(0x22);
    let stolen = thief.proof(&svc, "POST", &list, Some(token.as_str()));
    let (status, body, _) = csc_with(&svc, "credentials/list", dpop, Some(stolen.as_str())).await;
    refused(&(status, body), 401, "invalid_dpop_proof");
    // A stale proof, and one made for another token.
    let stale = key.proof_at("POST", &list, Some(token.as_str()), svc.now() - 600);
    let (status, body, _) = csc_with(&svc, "credentials/list", dpop, Some(stale.as_str())).await;
    refused(&(status, body), 401, "invalid_dpop_proof");
    let other = key.proof(&svc, "POST", &list, Some("another access token"));
    let (status, body, _) = csc_with(&svc, "credentials/list", dpop, Some(other.as_str())).await;
    refused(&(status, body), 401, "invalid_dpop_proof");
    // Two proofs at once: refused.
    let (a, b) = (
        key.proof(&svc, "POST", &list, Some(token.as_str())),
        key.proof(&svc, "POST", &list, Some(token.as_str())),
    );
    let (status, body, _) = send(
        reqwest::Client::new()
            .post(list.as_str())
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", a)
            .header("DPoP", b)
            .json(&json!({})),
    )
    .await;
    refused(&(status, body), 401, "invalid_dpop_proof");

    // The native API takes the token with a proof for its own request too.
    let credentials = svc.url("/v1/credentials");
    let proof = key.proof(&svc, "GET", &credentials, Some(token.as_str()));
    let (status, body, _) = send(
        reqwest::Client::new()
            .get(credentials.as_str())
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A token bound to no key keeps working as a bearer token, and not with the DPoP scheme.
    // (A TOTP code works once per step: the next login waits for the next one.)
    svc.clock.advance(30);
    let plain = karen.login(&svc, true).await;
    assert!(claims_of(&plain).get("cnf").is_none());
    let (status, body, _) =
        csc_with(&svc, "credentials/list", ("Bearer", plain.as_str()), None).await;
    assert_eq!(status, 200, "{body}");
    let proof = key.proof(&svc, "POST", &list, Some(plain.as_str()));
    let (status, body, _) = csc_with(
        &svc,
        "credentials/list",
        ("DPoP", plain.as_str()),
        Some(proof.as_str()),
    )
    .await;
    refused(&(status, body), 401, "invalid_token");
    // A bound token from the password grant, too.
    svc.clock.advance(30);
    let proof = key.proof(&svc, "POST", &token_url, None);
    let otp = karen.code(&svc);
    let (status, issued, _) = send(
        reqwest::Client::new()
            .post(token_url.as_str())
            .header("DPoP", proof.as_str())
            .form(&[
                ("grant_type", "password"),
                ("username", "karen"),
                ("password", PASSWORD),
                ("otp", otp.as_str()),
            ]),
    )
    .await;
    assert_eq!(
        (status, issued["token_type"].as_str()),
        (200, Some("DPoP")),
        "{issued}"
    );
    // A session cookie is a bearer presentation: a bound token is refused there.
    let bound = issued["access_token"].as_str().unwrap();
    let page = reqwest::Client::new()
        .get(svc.url("/account"))
        .header("Cookie", format!("qsign_session={bound}"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 401, "a DPoP-bound token worked as a cookie");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_key_jwt_client_needs_a_fresh_assertion_signed_by_its_key() {
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let key = support::confidential_client_key();
    let wrong = SigningKey::from_slice(&[0x5b; 32]).unwrap();
    let client = "confidential-app";
    let par = svc.url("/idp/par");
    let (verifier, challenge) = support::pkce();
    let params = request_params(client, &challenge);
    let later = svc.now() + 60;

    // No assertion, another key, another audience, expired, another client's name, a wrong
    // assertion type: each refused.
    refused(
        &form(&svc, "/idp/par", &params).await,
        401,
        "invalid_client",
    );
    let forged = assertion(&wrong, client, &par, later, "a-1");
    refused(
        &form(&svc, "/idp/par", &with_assertion(&params, &forged)).await,
        401,
        "invalid_client",
    );
    let elsewhere = assertion(&key, client, "https://elsewhere.example/par", later, "a-2");
    refused(
        &form(&svc, "/idp/par", &with_assertion(&params, &elsewhere)).await,
        401,
        "invalid_client",
    );
    let expired = assertion(&key, client, &par, svc.now() - 120, "a-3");
    refused(
        &form(&svc, "/idp/par", &with_assertion(&params, &expired)).await,
        401,
        "invalid_client",
    );
    let named = assertion(&key, "signer-app", &par, later, "a-4");
    refused(
        &form(&svc, "/idp/par", &with_assertion(&params, &named)).await,
        401,
        "invalid_client",
    );
    let good = assertion(&key, client, &par, later, "a-5");
    let mut typed = params.clone();
    typed.push(("client_assertion_type", "urn:example:other"));
    typed.push(("client_assertion", good.as_str()));
    refused(&form(&svc, "/idp/par", &typed).await, 401, "invalid_client");
    // A public client that sends an assertion is not what it registered as.
    let mut public = request_params("signer-app", &challenge);
    public.push(("client_assertion_type", JWT_BEARER));
    public.push(("client_assertion", good.as_str()));
    refused(
        &form(&svc, "/idp/par", &public).await,
        401,
        "invalid_client",
    );

    // A good one works once.
    let (status, pushed) = form(&svc, "/idp/par", &with_assertion(&params, &good)).await;
    assert_eq!(status, 201, "{pushed}");
    refused(
        &form(&svc, "/idp/par", &with_assertion(&params, &good)).await,
        401,
        "invalid_client",
    );
    let uri = pushed["request_uri"].as_str().unwrap().to_owned();
    let code = log_in(&svc, &karen, client, &uri).await;

    // The code is exchanged only with an assertion (the refusal does not spend the code).
    let exchange = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    refused(
        &form(&svc, "/idp/token", &exchange).await,
        401,
        "invalid_client",
    );
    let forged = assertion(&wrong, client, &svc.url("/idp/token"), later, "t-1");
    let mut attempt = exchange.clone();
    attempt.push(("client_assertion_type", JWT_BEARER));
    attempt.push(("client_assertion", forged.as_str()));
    refused(
        &form(&svc, "/idp/token", &attempt).await,
        401,
        "invalid_client",
    );
    // The issuer is an audience the token endpoint accepts.
    let signed = assertion(&key, client, &svc.url("/idp"), later, "t-2");
    let mut attempt = exchange.clone();
    attempt.push(("client_assertion_type", JWT_BEARER));
    attempt.push(("client_assertion", signed.as_str()));
    let (status, issued) = form(&svc, "/idp/token", &attempt).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["token_type"], "Bearer");
    svc.stop().await;
}
