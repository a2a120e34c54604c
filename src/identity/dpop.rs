//! DPoP (RFC 9449): proofs that a caller holds a key, and access tokens bound to that key.
//!
//! A client that sends a `DPoP` proof to the token endpoint gets a token whose `cnf.jkt` is
//! the RFC 7638 thumbprint of the proof's key, with the token type `DPoP` (§5, §6.1). Such a
//! token is accepted only as `Authorization: DPoP <token>` beside a fresh proof for that very
//! request (§7.1): a copied token is useless without the private key. A token bound to no key
//! keeps working as `Bearer`, unchanged; a bound one presented as `Bearer` is refused.
//!
//! A proof (§4.2, §4.3) is a compact JWS with `typ` `dpop+jwt`, `alg` ES256 (the one algorithm
//! offered) and the public P-256 key in its `jwk` header (a key with a private member is
//! refused). Its claims name the request's method (`htm`) and URL without query and fragment
//! (`htu`), when it was made (`iat`: at most [`PROOF_MAX_AGE`] seconds ago and
//! [`PROOF_MAX_SKEW`] ahead), a unique id (`jti`) and, beside an access token, the token's
//! SHA-256 (`ath`). A `jti` is accepted once per key: the store keeps a hash of the two until
//! the proof would be stale anyway, across nodes, so what is kept is bounded by the requests of
//! holders of valid proofs. No server nonces are used (§8): freshness rests on `iat` and the
//! single-use `jti`.

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::token::{TokenError, VerifyKey};
use super::{Attempt, Error, Identity, Issued, TokenGrant};
use crate::audit::Context;

/// Seconds a proof stays acceptable after its `iat`.
pub const PROOF_MAX_AGE: i64 = 60;
/// Seconds a proof's `iat` may lie ahead of the service's clock.
pub const PROOF_MAX_SKEW: i64 = 10;
/// The largest proof read, bytes.
const PROOF_MAX_LEN: usize = 4096;

/// How a request presents its access token (RFC 6750 `Bearer`, RFC 9449 `DPoP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`, with a `DPoP` proof header.
    Dpop,
}

/// An access token as a request presents it, with what a DPoP proof must match.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The access token.
    pub token: &'a str,
    /// The authorization scheme it came with.
    pub scheme: Scheme,
    /// The request's `DPoP` header, if it had one.
    pub proof: Option<&'a str>,
    /// The request's HTTP method.
    pub method: &'a str,
    /// The request's URL as the service is reached: its public URL and the path.
    pub url: &'a str,
}

impl<'a> Presented<'a> {
    /// A token presented as a bearer token without a proof (a session cookie): a DPoP-bound
    /// token is refused this way.
    #[must_use]
    pub const fn bearer(token: &'a str) -> Self {
        Self {
            token,
            scheme: Scheme::Bearer,
            proof: None,
            method: "",
            url: "",
        }
    }
}

/// Why a DPoP proof was refused; each is `invalid_dpop_proof`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not three base64url parts of JSON with the claims a proof needs.
    #[error("the DPoP proof is malformed")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ must be dpop+jwt")]
    Type,
    /// `alg` is not ES256.
    #[error("the DPoP proof's algorithm must be ES256")]
    Algorithm,
    /// The `jwk` is not a public P-256 key.
    #[error("the DPoP proof's jwk must be a public P-256 key")]
    Key,
    /// The signature does not verify with the `jwk`.
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    /// `htm` is another method.
    #[error("the DPoP proof is for another HTTP method")]
    Method,
    /// `htu` is another URL.
    #[error("the DPoP proof is for another URL")]
    Url,
    /// `iat` is too old or too far ahead.
    #[error("the DPoP proof is too old or from the future")]
    Stale,
    /// `ath` is missing or is not the hash of the access token presented.
    #[error("the DPoP proof's ath does not match the access token")]
    TokenHash,
    /// The proof's `jti` was seen before for its key.
    #[error("the DPoP proof was used before")]
    Replayed,
    /// The proof is signed by another key than the one the token is bound to.
    #[error("the DPoP proof is signed by another key than the token is bound to")]
    KeyMismatch,
}

/// A proof that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of its key.
    pub jkt: String,
    /// Its unique id.
    pub jti: String,
    /// When it was made, Unix seconds.
    pub iat: i64,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    typ: Option<String>,
    alg: String,
    jwk: serde_json::Value,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, ProofError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| ProofError::Malformed)
}

/// The key of a public P-256 JWK (`kty` `EC`, `crv` `P-256`, `x` and `y` of 32 bytes each, a
/// point on the curve, no private `d`) and its RFC 7638 thumbprint.
///
/// # Errors
/// [`ProofError::Key`] for anything else.
pub fn public_jwk(jwk: &serde_json::Value) -> Result<(VerifyKey, String), ProofError> {
    let member = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
    if member("kty") != Some("EC") || member("crv") != Some("P-256") || jwk.get("d").is_some() {
        return Err(ProofError::Key);
    }
    let coordinate = |name: &str| {
        member(name)
            .and_then(|v| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(v)
                    .ok()
            })
            .filter(|bytes| bytes.len() == 32)
            .ok_or(ProofError::Key)
    };
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    let mut point = Vec::with_capacity(65);
    point.push(4u8);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    let key = VerifyKey::from_sec1(&point).map_err(|_| ProofError::Key)?;
    Ok((key, thumbprint(&x, &y)))
}

/// The RFC 7638 thumbprint of a P-256 key given by its coordinates: SHA-256 over its required
/// members in lexical order without white space, base64url.
#[must_use]
pub fn thumbprint(x: &[u8], y: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(x),
        b64(y)
    );
    b64(&Sha256::digest(canonical.as_bytes()))
}

/// The `ath` of an access token (RFC 9449 §4.2): base64url of its SHA-256.
#[must_use]
pub fn token_hash(token: &str) -> String {
    b64(&Sha256::digest(token.as_bytes()))
}

/// Checks a proof for a request (its method and URL) and, beside an access token, its `ath`
/// (RFC 9449 §4.3). Does not record its `jti`: [`Identity`] does, once everything else checked
/// out.
///
/// # Errors
/// The first [`ProofError`] found.
pub fn verify_proof(
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    now: i64,
) -> Result<Proof, ProofError> {
    if proof.len() > PROOF_MAX_LEN {
        return Err(ProofError::Malformed);
    }
    let mut parts = proof.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    let header: Header = serde_json::from_slice(&unb64(h)?).map_err(|_| ProofError::Malformed)?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err(ProofError::Type);
    }
    if header.alg != "ES256" {
        return Err(ProofError::Algorithm);
    }
    let (key, jkt) = public_jwk(&header.jwk)?;
    let signature = unb64(s)?;
    // The signed input is the proof up to its last dot, as it came.
    let input = proof
        .get(..h.len() + 1 + p.len())
        .ok_or(ProofError::Malformed)?;
    if !key.verify(input.as_bytes(), &signature) {
        return Err(ProofError::Signature);
    }
    let claims: Claims = serde_json::from_slice(&unb64(p)?).map_err(|_| ProofError::Malformed)?;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(ProofError::Malformed);
    }
    if claims.htm != method {
        return Err(ProofError::Method);
    }
    if !same_url(&claims.htu, url) {
        return Err(ProofError::Url);
    }
    if claims.iat < now.saturating_sub(PROOF_MAX_AGE)
        || claims.iat > now.saturating_add(PROOF_MAX_SKEW)
    {
        return Err(ProofError::Stale);
    }
    if let Some(token) = access_token {
        if claims.ath.as_deref() != Some(token_hash(token).as_str()) {
            return Err(ProofError::TokenHash);
        }
    }
    Ok(Proof {
        jkt,
        jti: claims.jti,
        iat: claims.iat,
    })
}

/// Whether a proof's `htu` names `url`: both without query and fragment (§4.3), the scheme and
/// the host compared without regard to case and a default port left out (RFC 3986 §6.2.3).
fn same_url(htu: &str, url: &str) -> bool {
    normal(htu).is_some_and(|h| normal(url).is_some_and(|u| h == u))
}

/// An `http` or `https` URL without query and fragment, in the form [`same_url`] compares.
fn normal(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    let authority = authority.to_ascii_lowercase();
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}{path}"))
}

/// The key under which a single-use id is kept: SHA-256 over its kind, its owner and the id,
/// hex (bounded, whatever the id's length).
pub(super) fn once_key(kind: &str, owner: &str, id: &str) -> String {
    let mut h = Sha256::new();
    for part in [kind, owner, id] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

impl Identity {
    /// Checks a DPoP proof sent to one of this issuer's endpoints without an access token (the
    /// token endpoint): for `method` and `url`, fresh and not seen before (its id is recorded).
    /// Answers its key's thumbprint, which the token issued then binds.
    ///
    /// # Errors
    /// [`Error::Dpop`]; store failures.
    pub async fn endpoint_proof(
        &self,
        proof: &str,
        method: &str,
        url: &str,
        now: i64,
    ) -> Result<String, Error> {
        let proof = verify_proof(proof, method, url, None, now)?;
        self.spend_proof(&proof, now).await?;
        Ok(proof.jkt)
    }

    /// Checks how a verified token of this issuer was presented: a token bound to no key as
    /// `Bearer` (a `DPoP` header beside it is ignored, §7.2); a bound one only as `DPoP`, with a
    /// proof for this request and this token, signed by the key it is bound to, not seen before.
    ///
    /// # Errors
    /// [`Error::Token`] for the wrong scheme or a missing proof, [`Error::Dpop`] for a proof
    /// refused; store failures.
    pub(crate) async fn check_binding(
        &self,
        jkt: Option<&str>,
        presented: &Presented<'_>,
        now: i64,
    ) -> Result<(), Error> {
        let Some(jkt) = jkt else {
            return match presented.scheme {
                Scheme::Bearer => Ok(()),
                Scheme::Dpop => Err(TokenError::NotBound.into()),
            };
        };
        let (Scheme::Dpop, Some(proof)) = (presented.scheme, presented.proof) else {
            return Err(TokenError::ProofRequired.into());
        };
        let proof = verify_proof(
            proof,
            presented.method,
            presented.url,
            Some(presented.token),
            now,
        )?;
        if proof.jkt != jkt {
            return Err(ProofError::KeyMismatch.into());
        }
        self.spend_proof(&proof, now).await
    }

    /// Records a proof's `jti` under its key until the proof is stale; refuses one seen before.
    async fn spend_proof(&self, proof: &Proof, now: i64) -> Result<(), Error> {
        let key = once_key("dpop", &proof.jkt, &proof.jti);
        let until = proof.iat.saturating_add(PROOF_MAX_AGE);
        if self.store.first_use(&key, until, now).await? {
            Ok(())
        } else {
            Err(ProofError::Replayed.into())
        }
    }

    /// A login at the token endpoint, as [`Identity::grant`], whose token is bound to the DPoP
    /// key `jkt` when a proof came with the request.
    ///
    /// # Errors
    /// As [`Identity::grant`].
    pub async fn grant_bound(
        &self,
        attempt: Attempt<'_>,
        ctx: &Context,
        now: i64,
        jkt: Option<String>,
    ) -> Result<Issued, Error> {
        let (id, factors, loa) = self.login(attempt, ctx, now).await?;
        let grant = TokenGrant {
            auth_time: now,
            details: None,
            jkt,
            ..TokenGrant::default()
        };
        let audience = self.settings.audience.clone();
        self.issue_token(id.to_string(), audience, loa, &factors, grant, now)
            .await
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::ecdsa::{Signature, SigningKey};
    use serde_json::{json, Value};
    use sha2::Digest as _;

    use super::*;

    const URL: &str = "https://qsign.example/csc/v2/credentials/list";

    fn jwk(key: &SigningKey) -> Value {
        let point = key.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        json!({"kty": "EC", "crv": "P-256", "x": b64(&bytes[1..33]), "y": b64(&bytes[33..65])})
    }

    fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature: Signature = key.sign_prehash(&Sha256::digest(input.as_bytes())).unwrap();
        format!("{input}.{}", b64(&signature.to_bytes()))
    }

    fn proof(key: &SigningKey, claims: &Value) -> String {
        sign(
            key,
            &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk(key)}),
            claims,
        )
    }

    fn claims(iat: i64) -> Value {
        json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": iat, "ath": token_hash("tok")})
    }

    #[test]
    fn thumbprint_and_ath_match_the_rfc_9449_examples() {
        let jwk = json!({"kty": "EC", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", "crv": "P-256"});
        let (_, jkt) = public_jwk(&jwk).unwrap();
        assert_eq!(jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(
            token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn a_proof_for_this_request_verifies_and_names_its_key() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let p = proof(&key, &claims(1000));
        let checked = verify_proof(&p, "POST", URL, Some("tok"), 1000).unwrap();
        let (_, jkt) = public_jwk(&jwk(&key)).unwrap();
        assert_eq!(checked.jkt, jkt);
        assert_eq!(checked.jti, "j-1");
        // The URL compares without query, fragment, case of scheme and host, default port.
        let same = "HTTPS://QSIGN.example:443/csc/v2/credentials/list?x=1#f";
        assert!(verify_proof(&p, "POST", same, Some("tok"), 1000).is_ok());
    }

    #[test]
    fn every_deviation_is_refused_with_its_reason() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let other = SigningKey::from_slice(&[8u8; 32]).unwrap();
        let good = proof(&key, &claims(1000));
        let check = |p: &str, method: &str, url: &str, token: &str, now: i64| {
            verify_proof(p, method, url, Some(token), now).unwrap_err()
        };
        assert_eq!(check(&good, "GET", URL, "tok", 1000), ProofError::Method);
        let elsewhere = "https://qsign.example/csc/v2/signatures/signHash";
        assert_eq!(
            check(&good, "POST", elsewhere, "tok", 1000),
            ProofError::Url
        );
        assert_eq!(
            check(&good, "POST", URL, "other", 1000),
            ProofError::TokenHash
        );
        assert_eq!(
            check(&good, "POST", URL, "tok", 1000 + PROOF_MAX_AGE + 1),
            ProofError::Stale
        );
        assert_eq!(
            check(&good, "POST", URL, "tok", 1000 - PROOF_MAX_SKEW - 1),
            ProofError::Stale
        );
        // Signed by another key than the header names.
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk(&key)});
        let forged = sign(&other, &header, &claims(1000));
        assert_eq!(
            check(&forged, "POST", URL, "tok", 1000),
            ProofError::Signature
        );
        // Not a DPoP proof, another algorithm, a private key in the header.
        let typ = sign(
            &key,
            &json!({"typ": "JWT", "alg": "ES256", "jwk": jwk(&key)}),
            &claims(1000),
        );
        assert_eq!(check(&typ, "POST", URL, "tok", 1000), ProofError::Type);
        let alg = sign(
            &key,
            &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk(&key)}),
            &claims(1000),
        );
        assert_eq!(check(&alg, "POST", URL, "tok", 1000), ProofError::Algorithm);
        let mut private = jwk(&key);
        private["d"] = json!(b64(&[7u8; 32]));
        let leaked = sign(
            &key,
            &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
            &claims(1000),
        );
        assert_eq!(check(&leaked, "POST", URL, "tok", 1000), ProofError::Key);
        // No ath beside a token.
        let mut bare = claims(1000);
        bare.as_object_mut().unwrap().remove("ath");
        let bare = proof(&key, &bare);
        assert_eq!(
            check(&bare, "POST", URL, "tok", 1000),
            ProofError::TokenHash
        );
        assert!(verify_proof(&bare, "POST", URL, None, 1000).is_ok());
        assert_eq!(
            check("a.b", "POST", URL, "tok", 1000),
            ProofError::Malformed
        );
    }

    #[test]
    fn single_use_keys_differ_by_kind_owner_and_id() {
        let a = once_key("dpop", "k", "j");
        assert_ne!(a, once_key("assertion", "k", "j"));
        assert_ne!(a, once_key("dpop", "k2", "j"));
        assert_ne!(a, once_key("dpop", "kj", ""));
        assert_eq!(a.len(), 64);
    }
}
