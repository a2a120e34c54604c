//! Client authentication at the token and PAR endpoints: public clients, and
//! `private_key_jwt` (RFC 7523 §2.2 and §3, OpenID Connect Core §9).
//!
//! A client registered in the configuration is either public (`none`: it proves nothing, and
//! PKCE protects its codes) or authenticates with `private_key_jwt`: `client_assertion_type`
//! [`JWT_BEARER`] and a `client_assertion`, an ES256 JWT signed with one of its registered P-256
//! keys, whose `iss` and `sub` are its client id, whose `aud` names this issuer, its token
//! endpoint or its PAR endpoint, whose `exp` lies at most [`ASSERTION_MAX_LIFETIME`] seconds
//! ahead, and whose `jti` is accepted once (kept, across nodes, until the assertion has
//! expired). A client registered for `private_key_jwt` never gets a token or pushes a request
//! without a valid assertion; a public client that sends one is refused too (it is not what it
//! registered as). An organisation's system clients ([`super::machine`]) authenticate the same
//! way, with the key their administrator registered.

use serde::Deserialize;

use super::dpop::once_key;
use super::oauth::Client;
use super::token::{self, VerifyKey};
use super::{Error, Identity};

/// The `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far ahead an assertion's `exp` may lie, seconds: bounds how long its `jti` is kept.
pub const ASSERTION_MAX_LIFETIME: i64 = 300;

/// The largest assertion read, bytes.
const ASSERTION_MAX_LEN: usize = 8 * 1024;

/// How a registered client authenticates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// A public client (`none`): its id alone; PKCE protects its codes.
    #[default]
    None,
    /// `private_key_jwt`, with an assertion signed by one of these keys (ES256, P-256).
    PrivateKeyJwt(Vec<VerifyKey>),
}

/// A client assertion as an endpoint got it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAssertion<'a> {
    /// `client_assertion_type`.
    pub kind: &'a str,
    /// `client_assertion`.
    pub assertion: &'a str,
}

/// Why a client's authentication was refused; each is `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No such client.
    #[error("unknown client")]
    Unknown,
    /// A `private_key_jwt` client without an assertion.
    #[error("this client authenticates with private_key_jwt: a client_assertion is required")]
    Missing,
    /// A public client with an assertion.
    #[error("this client is registered as public (none): it sends no client_assertion")]
    Unexpected,
    /// Another assertion type.
    #[error(
        "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )]
    AssertionType,
    /// Not a JWT with the claims an assertion needs.
    #[error("the client assertion is malformed")]
    Malformed,
    /// Not ES256, or the signature does not verify with any of the client's keys.
    #[error("the client assertion's signature does not verify with the client's keys")]
    Signature,
    /// `iss` or `sub` is not the client.
    #[error("the client assertion's iss and sub must both be the client id")]
    Subject,
    /// `aud` names neither this issuer nor its token or PAR endpoint.
    #[error("the client assertion's aud must name this issuer or its token or PAR endpoint")]
    Audience,
    /// Expired, not yet valid, or living longer than allowed.
    #[error("the client assertion has expired, is not yet valid or lives too long")]
    Expired,
    /// Its `jti` was seen before.
    #[error("the client assertion was used before")]
    Replayed,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    jti: String,
}

/// `aud`: one name or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Whether it names one of `accepted`.
    fn names(&self, accepted: &[&str]) -> bool {
        match self {
            Self::One(a) => accepted.contains(&a.as_str()),
            Self::Many(list) => list.iter().any(|a| accepted.contains(&a.as_str())),
        }
    }
}

fn unb64(s: &str) -> Result<Vec<u8>, ClientError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| ClientError::Malformed)
}

/// Checks an assertion of `client_id` against its keys: ES256 signature, `iss` and `sub`,
/// `aud` among `audiences`, `exp` (with [`token::LEEWAY`]) at most
/// [`ASSERTION_MAX_LIFETIME`] ahead, `nbf` and `iat` not in the future. Answers its `jti` and
/// `exp`; does not record the `jti` ([`Identity`] does).
///
/// # Errors
/// The first [`ClientError`] found.
pub fn verify_assertion(
    assertion: &str,
    client_id: &str,
    keys: &[VerifyKey],
    audiences: &[&str],
    now: i64,
) -> Result<(String, i64), ClientError> {
    if assertion.len() > ASSERTION_MAX_LEN {
        return Err(ClientError::Malformed);
    }
    let mut parts = assertion.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClientError::Malformed);
    };
    let header: Header = serde_json::from_slice(&unb64(h)?).map_err(|_| ClientError::Malformed)?;
    // A DPoP proof is not a client assertion, whatever it says.
    if header.typ.as_deref() == Some("dpop+jwt") {
        return Err(ClientError::Malformed);
    }
    if header.alg != "ES256" {
        return Err(ClientError::Signature);
    }
    let signature = unb64(s)?;
    let input = assertion
        .get(..h.len() + 1 + p.len())
        .ok_or(ClientError::Malformed)?;
    if !keys
        .iter()
        .any(|key| key.verify(input.as_bytes(), &signature))
    {
        return Err(ClientError::Signature);
    }
    let claims: Claims = serde_json::from_slice(&unb64(p)?).map_err(|_| ClientError::Malformed)?;
    if claims.iss != client_id || claims.sub != client_id {
        return Err(ClientError::Subject);
    }
    if !claims.aud.names(audiences) {
        return Err(ClientError::Audience);
    }
    let ahead = now.saturating_add(token::LEEWAY);
    if now > claims.exp.saturating_add(token::LEEWAY)
        || claims.exp > now.saturating_add(ASSERTION_MAX_LIFETIME)
        || claims.nbf.is_some_and(|nbf| nbf > ahead)
        || claims.iat.is_some_and(|iat| iat > ahead)
    {
        return Err(ClientError::Expired);
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(ClientError::Malformed);
    }
    Ok((claims.jti, claims.exp))
}

impl Identity {
    /// A client registered in the configuration, authenticated as it is registered: a public
    /// client by its id alone, a `private_key_jwt` client only with a valid, fresh, single-use
    /// assertion whose `aud` is one of `audiences`. The client is `client_id`, or the
    /// assertion's issuer when no `client_id` is given (RFC 7521 §4.2).
    ///
    /// # Errors
    /// [`Error::Client`]; store failures.
    pub async fn registered_client(
        &self,
        client_id: Option<&str>,
        assertion: Option<ClientAssertion<'_>>,
        audiences: &[&str],
        now: i64,
    ) -> Result<Client, Error> {
        let id = match (client_id, assertion) {
            (Some(id), _) => id.to_owned(),
            (None, Some(a)) => {
                token::unverified_issuer(a.assertion).ok_or(ClientError::Malformed)?
            }
            (None, None) => return Err(ClientError::Unknown.into()),
        };
        let client = self.client(&id).ok_or(ClientError::Unknown)?.clone();
        let keys = match &client.auth {
            ClientAuth::None => None,
            ClientAuth::PrivateKeyJwt(keys) => Some(keys.clone()),
        };
        match (keys, assertion) {
            (None, None) => Ok(client),
            (None, Some(_)) => Err(ClientError::Unexpected.into()),
            (Some(_), None) => Err(ClientError::Missing.into()),
            (Some(keys), Some(a)) => {
                self.check_assertion(a, &client.client_id, &keys, audiences, now)
                    .await?;
                Ok(client)
            }
        }
    }

    /// Checks an assertion of `client_id` ([`verify_assertion`]) and records its `jti` until it
    /// expires; one seen before is refused.
    ///
    /// # Errors
    /// [`Error::Client`]; store failures.
    pub(crate) async fn check_assertion(
        &self,
        assertion: ClientAssertion<'_>,
        client_id: &str,
        keys: &[VerifyKey],
        audiences: &[&str],
        now: i64,
    ) -> Result<(), Error> {
        if assertion.kind != JWT_BEARER {
            return Err(ClientError::AssertionType.into());
        }
        let (jti, exp) = verify_assertion(assertion.assertion, client_id, keys, audiences, now)?;
        let key = once_key("assertion", client_id, &jti);
        let until = exp.saturating_add(token::LEEWAY);
        if self.store.first_use(&key, until, now).await? {
            Ok(())
        } else {
            Err(ClientError::Replayed.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::ecdsa::{Signature, SigningKey};
    use serde_json::{json, Value};
    use sha2::Digest as _;

    use super::*;

    const TOKEN: &str = "https://qsign.example/idp/token";

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn key_of(signer: &SigningKey) -> VerifyKey {
        VerifyKey::from_sec1(signer.verifying_key().to_sec1_point(false).as_bytes()).unwrap()
    }

    fn assertion(signer: &SigningKey, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT"});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature: Signature = signer
            .sign_prehash(&sha2::Sha256::digest(input.as_bytes()))
            .unwrap();
        format!("{input}.{}", b64(&signature.to_bytes()))
    }

    fn claims(exp: i64) -> Value {
        json!({"iss": "app", "sub": "app", "aud": TOKEN, "exp": exp, "iat": 1000, "jti": "a-1"})
    }

    #[test]
    fn an_assertion_of_the_client_for_this_server_verifies() {
        let signer = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let keys = [key_of(&signer)];
        let good = assertion(&signer, &claims(1060));
        assert_eq!(
            verify_assertion(&good, "app", &keys, &[TOKEN], 1000),
            Ok(("a-1".to_owned(), 1060))
        );
        let listed = assertion(
            &signer,
            &json!({"iss": "app", "sub": "app", "aud": ["x", TOKEN], "exp": 1060, "jti": "a"}),
        );
        assert!(verify_assertion(&listed, "app", &keys, &[TOKEN], 1000).is_ok());
    }

    #[test]
    fn wrong_key_client_audience_and_times_are_refused() {
        let signer = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let other = SigningKey::from_slice(&[4u8; 32]).unwrap();
        let keys = [key_of(&signer)];
        let check = |a: &str, client: &str, now: i64| {
            verify_assertion(a, client, &keys, &[TOKEN], now).unwrap_err()
        };
        let good = assertion(&signer, &claims(1060));
        assert_eq!(check(&good, "other-app", 1000), ClientError::Subject);
        assert_eq!(
            check(&assertion(&other, &claims(1060)), "app", 1000),
            ClientError::Signature
        );
        let mut elsewhere = claims(1060);
        elsewhere["aud"] = json!("https://elsewhere.example/token");
        assert_eq!(
            check(&assertion(&signer, &elsewhere), "app", 1000),
            ClientError::Audience
        );
        assert_eq!(
            check(&good, "app", 1060 + token::LEEWAY + 1),
            ClientError::Expired
        );
        assert_eq!(
            check(&assertion(&signer, &claims(1000 + 3600)), "app", 1000),
            ClientError::Expired,
            "an assertion that lives for an hour"
        );
        assert_eq!(check("a.b.c", "app", 1000), ClientError::Malformed);
    }
}
