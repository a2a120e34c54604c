//! The SAD token: a compact JWS (ES256, signed by the HSM's SAD key) over these claims.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::identity::token::{self, VerifyKey};

/// What a SAD binds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Claims {
    /// Unique id: the key of its use count.
    pub jti: String,
    /// The person.
    pub sub: String,
    /// The credential.
    pub cred: String,
    /// The credential's signature policy.
    pub pol: String,
    /// Hash algorithm OID.
    pub halg: String,
    /// The hashes, base64.
    pub hashes: Vec<String>,
    /// Signatures allowed.
    pub n: u32,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// Login level of the activation (URI).
    pub loa: String,
    /// Activation control level (`1` or `2`).
    pub scal: String,
}

impl Claims {
    /// The claims of a SAD whose signature verifies under the SAD key, or `None`.
    pub(super) fn verify(sad: &str, kid: &str, key: &VerifyKey) -> Option<Self> {
        let keys = [(kid.to_owned(), key.clone())];
        let payload = token::verified_payload(sad, &keys).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// The covered hashes as bytes.
    pub(super) fn hash_bytes(&self) -> Vec<Vec<u8>> {
        self.hashes
            .iter()
            .filter_map(|h| base64::engine::general_purpose::STANDARD.decode(h).ok())
            .collect()
    }
}

/// Standard base64, as CSC sends hashes.
pub(super) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
