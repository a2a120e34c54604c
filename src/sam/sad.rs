//! The SAD token: a compact JWS (ES256, signed by the HSM's SAD key) over these claims.

use serde::{Deserialize, Serialize};

use crate::identity::token::{self, VerifyKey};
use crate::types::{CredentialId, Digest, HashAlgorithm, PersonId, SadId, UnixTime};

/// What a SAD binds. The JSON form is unchanged by the types: ids are hyphenated UUID strings,
/// times Unix seconds. A SAD is for a credential (`cred`) or for a signature qualifier (`ql`),
/// never both: [`Claims::verify`] reads only the first kind and [`Claims::verify_qualifier`]
/// only the second, so neither can stand in for the other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Claims {
    /// Unique id: the key of its use count.
    pub jti: SadId,
    /// The person.
    pub sub: PersonId,
    /// The credential; absent from a SAD for a signature qualifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred: Option<CredentialId>,
    /// The CSC `signatureQualifier`, in place of the credential: a SAD for one operation under
    /// a short-lived certificate (`short_lived`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ql: Option<String>,
    /// The credential's signature policy.
    pub pol: String,
    /// Hash algorithm OID.
    pub halg: String,
    /// The hashes, standard base64.
    pub hashes: Vec<String>,
    /// Signatures allowed.
    pub n: u32,
    /// Issued at, Unix seconds.
    pub iat: UnixTime,
    /// Expires at, Unix seconds.
    pub exp: UnixTime,
    /// Login level of the activation (URI).
    pub loa: String,
    /// Activation control level (`1` or `2`).
    pub scal: String,
    /// The system client the SAD was issued to, when a machine uses an organisation's seal
    /// (no person acts; `sub` is then the seal's owner): only that client may spend it, and no
    /// person may spend one issued to a client, nor a client one issued to a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli: Option<String>,
}

/// The id a SAD names, read without checking its signature: only so that its use count can be
/// read together with the credential. Nothing depends on it before the SAM has verified the
/// SAD, and the SAM uses a count read this way only for the id it verified.
#[must_use]
pub fn unverified_id(sad: &str) -> Option<SadId> {
    use base64::Engine as _;
    #[derive(Deserialize)]
    struct Named {
        jti: SadId,
    }
    let payload = sad.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Named>(&bytes).ok().map(|n| n.jti)
}

impl Claims {
    /// The claims of a credential's SAD whose signature verifies under the SAD key, or `None`
    /// (also for a qualifier's SAD).
    pub(super) fn verify(sad: &str, kid: &str, key: &VerifyKey) -> Option<Self> {
        Self::verified(sad, kid, key).filter(|c| c.cred.is_some() && c.ql.is_none())
    }

    /// The claims of a signature qualifier's SAD whose signature verifies under the SAD key,
    /// or `None` (also for a credential's SAD).
    pub(super) fn verify_qualifier(sad: &str, kid: &str, key: &VerifyKey) -> Option<Self> {
        Self::verified(sad, kid, key).filter(|c| c.cred.is_none() && c.ql.is_some())
    }

    fn verified(sad: &str, kid: &str, key: &VerifyKey) -> Option<Self> {
        let keys = [(kid.to_owned(), key.clone())];
        let payload = token::verified_payload(sad, &keys).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// The covered hashes, as digests of `algorithm` (the SAD's, checked by the caller); a
    /// hash that is not one is left out, and so covers nothing.
    pub(super) fn covered(&self, algorithm: HashAlgorithm) -> Vec<Digest> {
        self.hashes
            .iter()
            .filter_map(|h| Digest::parse_base64(h, algorithm).ok())
            .collect()
    }
}
