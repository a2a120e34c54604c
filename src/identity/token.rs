//! Access tokens: compact JWS (RFC 7515) JWTs (RFC 7519) signed ES256 by the IdP key in the
//! HSM, and their strict verification.
//!
//! Verification accepts exactly one algorithm (ES256) and only keys this service published, by
//! `kid`; the header's `alg` is checked before anything else, so `none`, HS256 "signed" with the
//! public key, and other confusions are refused. `iss`, `aud`, `exp`, `nbf` (with a bounded
//! leeway) and `acr` are required to be right.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::loa::Loa;

/// Leeway for `exp` and `nbf`, seconds.
pub const LEEWAY: i64 = 30;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the person's UUID.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// When the person authenticated.
    pub auth_time: i64,
    /// Level of assurance (NSIS URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Factors used (RFC 8176 values).
    #[serde(default)]
    pub amr: Vec<String>,
    /// Unique token id (for revocation).
    pub jti: String,
    /// What the person approved on qsign's own pages (RFC 9396; CSC `credential` entries with
    /// the document digests), when the token came from such an authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<serde_json::Value>,
    /// The key the token is bound to (RFC 9449 §6.1, RFC 7800 `cnf` with the key's RFC 7638
    /// thumbprint `jkt`): then the token is usable only beside a fresh DPoP proof of that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// What the token is for, as CSC names it: `service` (list, info, authorize, …) or
    /// `credential` (the approval of `authorization_details`, for the signing calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OAuth client the token was issued to (RFC 9068 §2.2): the registered client of the
    /// authorization-code flow (then `sub` is the person), or the system client of a
    /// client-credentials token (then `sub` is the client too, and the token names no person);
    /// absent for tokens a person got directly (password grant, passkey login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The confirmation claim of a DPoP-bound token (RFC 9449 §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the key, base64url.
    pub jkt: String,
}

/// Why a token was refused. Each maps to a stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// `alg` is not ES256.
    #[error("token algorithm not accepted")]
    Algorithm,
    /// `kid` names no key of this issuer.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad token signature")]
    Signature,
    /// Another issuer.
    #[error("wrong token issuer")]
    Issuer,
    /// Another audience.
    #[error("wrong token audience")]
    Audience,
    /// Past `exp`.
    #[error("token expired")]
    Expired,
    /// Before `nbf` or issued in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// No `acr`.
    #[error("token has no acr")]
    MissingAcr,
    /// An `acr` that is no known level.
    #[error("token acr is not a known level of assurance")]
    UnknownAcr,
    /// Revoked (logout).
    #[error("token revoked")]
    Revoked,
    /// A DPoP-bound token presented without its proof, or as `Bearer`.
    #[error("this token is bound to a key: present it as `Authorization: DPoP` with a DPoP proof")]
    ProofRequired,
    /// The `DPoP` scheme with a token that is bound to no key.
    #[error("the DPoP scheme is for DPoP-bound tokens; present this one as Bearer")]
    NotBound,
    /// A system client's token where a person must act.
    #[error("a system client's token acts for no person; it is valid for the CSC seal calls only")]
    ClientToken,
    /// A person's token where a system client's is needed.
    #[error("not a system client's token")]
    NotAClient,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, TokenError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::Malformed)
}

/// The key id of a public key: base64url of the first 16 bytes of SHA-256 over its SPKI.
#[must_use]
pub fn key_id(spki: &[u8]) -> String {
    b64(Sha256::digest(spki).get(..16).unwrap_or_default())
}

/// `header.payload` to be signed, and the SHA-256 digest the HSM signs.
///
/// # Errors
/// Only if the claims cannot be serialised.
pub fn signing_input<T: serde::Serialize>(
    kid: &str,
    claims: &T,
) -> Result<(String, [u8; 32]), serde_json::Error> {
    let header = Header {
        alg: "ES256".into(),
        typ: Some("JWT".into()),
        kid: Some(kid.to_owned()),
    };
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&header)?),
        b64(&serde_json::to_vec(claims)?)
    );
    let digest = Sha256::digest(input.as_bytes()).into();
    Ok((input, digest))
}

/// Appends the raw `r || s` signature (which is exactly the JWS ES256 form, RFC 7518 §3.4).
#[must_use]
pub fn assemble(input: &str, raw_signature: &[u8]) -> String {
    format!("{input}.{}", b64(raw_signature))
}

/// A public key for token verification, with the one algorithm it may be used with: ES256
/// (a P-256 point, checked to be on the curve when made) or RS256 (RSA, 2048 bits or more,
/// for external issuers). Verification uses `ring` (about five times the pure-Rust `p256`
/// rate; see docs/performance.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyKey {
    /// ES256: the uncompressed SEC1 point.
    Es256(Vec<u8>),
    /// RS256: modulus and public exponent, big-endian.
    Rs256 {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
}

impl VerifyKey {
    /// An ES256 key from a SEC1 point (uncompressed or compressed).
    ///
    /// # Errors
    /// [`TokenError::UnknownKey`] when it is not a P-256 point.
    pub fn from_sec1(point: &[u8]) -> Result<Self, TokenError> {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
            .map_err(|_| TokenError::UnknownKey)?;
        Ok(Self::Es256(key.to_sec1_point(false).as_bytes().to_vec()))
    }

    /// An ES256 key from a DER `SubjectPublicKeyInfo` of a P-256 key.
    ///
    /// # Errors
    /// [`TokenError::UnknownKey`] when it is not one.
    pub fn from_spki(spki: &[u8]) -> Result<Self, TokenError> {
        use der::Decode as _;
        let info =
            spki::SubjectPublicKeyInfoRef::from_der(spki).map_err(|_| TokenError::UnknownKey)?;
        Self::from_sec1(info.subject_public_key.raw_bytes())
    }

    /// An RS256 key from its modulus and exponent.
    ///
    /// # Errors
    /// [`TokenError::UnknownKey`] for a modulus under 2048 bits.
    pub fn rsa(n: Vec<u8>, e: Vec<u8>) -> Result<Self, TokenError> {
        let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
        if bits < 2048 || e.is_empty() {
            return Err(TokenError::UnknownKey);
        }
        Ok(Self::Rs256 { n, e })
    }

    const fn algorithm(&self) -> &'static str {
        match self {
            Self::Es256(_) => "ES256",
            Self::Rs256 { .. } => "RS256",
        }
    }

    /// Whether `signature` (raw `r || s` for ES256) verifies over `message` under this key.
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Es256(point) => {
                signature.len() == 64
                    && ring::signature::UnparsedPublicKey::new(
                        &ring::signature::ECDSA_P256_SHA256_FIXED,
                        point,
                    )
                    .verify(message, signature)
                    .is_ok()
            }
            Self::Rs256 { n, e } => ring::signature::RsaPublicKeyComponents { n, e }
                .verify(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    message,
                    signature,
                )
                .is_ok(),
        }
    }
}

/// Checks the compact JWS: size, three parts, `alg` ES256 or RS256 (checked first), a `kid`
/// among `keys` whose algorithm is that `alg`, and the signature; returns the payload bytes,
/// not yet interpreted.
///
/// # Errors
/// [`TokenError::Malformed`], [`TokenError::Algorithm`], [`TokenError::UnknownKey`],
/// [`TokenError::Signature`].
pub fn verified_payload(token: &str, keys: &[(String, VerifyKey)]) -> Result<Vec<u8>, TokenError> {
    if token.len() > 8 * 1024 {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Header = serde_json::from_slice(&unb64(h)?).map_err(|_| TokenError::Malformed)?;
    if header.alg != "ES256" && header.alg != "RS256" {
        return Err(TokenError::Algorithm);
    }
    let kid = header.kid.ok_or(TokenError::UnknownKey)?;
    let key = keys
        .iter()
        .find(|(k, _)| *k == kid)
        .map(|(_, key)| key)
        .ok_or(TokenError::UnknownKey)?;
    // The key decides the algorithm: a header naming another one is refused (no confusion
    // between an RSA and an EC key, or with HMAC).
    if key.algorithm() != header.alg {
        return Err(TokenError::Algorithm);
    }
    let signature = unb64(s)?;
    // The signed input is the token up to its last dot, as it came: no copy.
    let input = token
        .get(..h.len() + 1 + p.len())
        .ok_or(TokenError::Malformed)?;
    if !key.verify(input.as_bytes(), &signature) {
        return Err(TokenError::Signature);
    }
    unb64(p)
}

/// The `iss` of a token, read without verifying anything: only to choose the verifier.
#[must_use]
pub fn unverified_issuer(token: &str) -> Option<String> {
    let payload = unb64(token.split('.').nth(1)?).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    value.get("iss")?.as_str().map(str::to_owned)
}

/// Whether a token is a system client's (a `client_id` claim that is also its `sub`: a person's
/// token from the authorization-code flow names its client too, but its `sub` is the person),
/// read without verifying anything: only to choose which checks it gets, all of which verify
/// it.
#[must_use]
pub fn unverified_client(token: &str) -> bool {
    let Some(payload) = token.split('.').nth(1).and_then(|p| unb64(p).ok()) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&payload)
        .ok()
        .is_some_and(|v| {
            v.get("client_id")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|c| v.get("sub").and_then(serde_json::Value::as_str) == Some(c))
        })
}

/// A verifier for this issuer's tokens.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Accepted issuer.
    pub issuer: String,
    /// Accepted audience.
    pub audience: String,
    /// Keys by `kid`.
    pub keys: Vec<(String, VerifyKey)>,
}

impl Verifier {
    /// Checks a token completely and returns its claims and level of assurance.
    ///
    /// # Errors
    /// The first [`TokenError`] found.
    pub fn verify(&self, token: &str, now: i64) -> Result<(Claims, Loa), TokenError> {
        let payload = verified_payload(token, &self.keys)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.issuer {
            return Err(TokenError::Issuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::Audience);
        }
        if now > claims.exp.saturating_add(LEEWAY) {
            return Err(TokenError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(LEEWAY) < nbf)
            || now.saturating_add(LEEWAY) < claims.iat
        {
            return Err(TokenError::NotYetValid);
        }
        let acr = claims.acr.as_deref().ok_or(TokenError::MissingAcr)?;
        let loa = Loa::parse(acr).ok_or(TokenError::UnknownAcr)?;
        Ok((claims, loa))
    }
}

/// Tokens that verified, by SHA-256 of the token, so that a token presented on every request
/// costs one signature check, not one per request. Only fully verified tokens enter; `exp` and
/// `nbf` are checked again on every hit; revocation is the caller's (it is not cached). Bounded:
/// when full, it is emptied.
#[derive(Debug, Default)]
pub struct VerifiedCache {
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], (Claims, Loa)>>,
}

/// Most tokens kept in a [`VerifiedCache`].
const CACHE_LIMIT: usize = 10_000;

impl VerifiedCache {
    /// Verifies `token` with `verifier`, or answers from the cache.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify(
        &self,
        verifier: &Verifier,
        token: &str,
        now: i64,
    ) -> Result<(Claims, Loa), TokenError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let hit = self.lock().get(&key).cloned();
        if let Some((claims, loa)) = hit {
            if now > claims.exp.saturating_add(LEEWAY) {
                self.lock().remove(&key);
                return Err(TokenError::Expired);
            }
            if claims
                .nbf
                .is_some_and(|nbf| now.saturating_add(LEEWAY) < nbf)
            {
                return Err(TokenError::NotYetValid);
            }
            return Ok((claims, loa));
        }
        let verified = verifier.verify(token, now)?;
        let mut entries = self.lock();
        if entries.len() >= CACHE_LIMIT {
            entries.clear();
        }
        entries.insert(key, verified.clone());
        Ok(verified)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; 32], (Claims, Loa)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The JWK (RFC 7517) of a P-256 public key given as SPKI DER.
#[must_use]
pub fn jwk(spki: &[u8]) -> serde_json::Value {
    // The last 64 bytes of a P-256 SPKI are x || y of the uncompressed point.
    let point = spki
        .get(spki.len().saturating_sub(64)..)
        .unwrap_or_default();
    let (x, y) = point.split_at(point.len() / 2);
    serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": b64(x),
        "y": b64(y),
        "kid": key_id(spki),
        "use": "sig",
        "alg": "ES256",
    })
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::hazmat::PrehashSigner;

    use super::*;

    fn setup() -> (Verifier, p256::ecdsa::SigningKey) {
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let verifier = Verifier {
            issuer: "iss".into(),
            audience: "aud".into(),
            keys: vec![(
                "k1".into(),
                VerifyKey::from_sec1(key.verifying_key().to_sec1_point(false).as_bytes()).unwrap(),
            )],
        };
        (verifier, key)
    }

    fn sign(key: &p256::ecdsa::SigningKey, claims: &Claims) -> String {
        let (input, digest) = signing_input("k1", claims).unwrap();
        let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
        assemble(&input, &sig.to_bytes())
    }

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "iss".into(),
            sub: "s".into(),
            aud: "aud".into(),
            exp,
            iat: 100,
            nbf: None,
            auth_time: 100,
            acr: Some(Loa::High.uri().into()),
            amr: vec![],
            jti: "j".into(),
            authorization_details: None,
            cnf: None,
            scope: None,
            client_id: None,
        }
    }

    #[test]
    fn cached_tokens_still_expire_and_bad_ones_are_never_cached() {
        let (verifier, key) = setup();
        let cache = VerifiedCache::default();
        let jwt = sign(&key, &claims(1000));
        assert!(cache.verify(&verifier, &jwt, 500).is_ok());
        assert!(cache.verify(&verifier, &jwt, 600).is_ok());
        assert_eq!(
            cache.verify(&verifier, &jwt, 1000 + LEEWAY + 1),
            Err(TokenError::Expired)
        );
        let forged = format!("{}A", &jwt[..jwt.len() - 1]);
        for _ in 0..2 {
            assert!(cache.verify(&verifier, &forged, 500).is_err());
        }
        assert!(cache.lock().len() <= 1);
    }

    #[test]
    fn oversized_tokens_are_malformed() {
        let (verifier, _) = setup();
        assert_eq!(
            verifier.verify(&"a".repeat(9000), 0),
            Err(TokenError::Malformed)
        );
    }
}
