//! Trusted external issuers (an eID broker, any OIDC provider): their ES256 or RS256 access
//! tokens are accepted when they verify with a key from the configured JWKS (the key decides
//! the algorithm) and carry the configured issuer, audience, a valid time window (bounded clock
//! skew) and a known level of assurance.

use base64::Engine as _;

use super::loa::Loa;
use super::token::{verified_payload, TokenError};
use super::{Error, Identity, Principal};
use crate::audit::{Context, Event};
use crate::hsm;
use crate::store::PersonRow;
use crate::types::PersonId;

/// One trusted issuer.
#[derive(Debug, Clone)]
pub struct ExternalIssuer {
    /// Its `iss`.
    pub issuer: String,
    /// The `aud` required.
    pub audience: String,
    /// Its keys by `kid`.
    pub keys: Vec<(String, super::token::VerifyKey)>,
    /// The claim with the level of assurance.
    pub loa_claim: String,
    /// Largest clock difference accepted, seconds.
    pub max_skew: i64,
}

/// What qsign takes from an external token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalClaims {
    /// The issuer's subject identifier.
    pub sub: String,
    /// Given name, if sent.
    pub given_name: Option<String>,
    /// Family name, if sent.
    pub family_name: Option<String>,
    /// The level of assurance.
    pub loa: Loa,
    /// Expiry.
    pub exp: i64,
    /// Token id (or a hash of the token when the issuer sends none), for revocation.
    pub jti: String,
    /// When the person authenticated at the issuer (`auth_time`; `iat` when absent).
    pub auth_time: i64,
    /// What the person approved at the issuer (RFC 9396), if sent.
    pub authorization_details: Option<serde_json::Value>,
}

/// Fetches a JWKS document over HTTP(S) with a 10-second timeout.
///
/// # Errors
/// A message when it cannot be fetched.
pub async fn fetch_jwks(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    response.text().await.map_err(|e| format!("{url}: {e}"))
}

impl ExternalIssuer {
    /// Reads the P-256 and RSA keys of a JWKS document (RFC 7517); other keys are skipped.
    ///
    /// # Errors
    /// A message when the document is not a JWKS or has no usable key.
    pub fn from_jwks(
        issuer: &str,
        audience: &str,
        jwks: &str,
        loa_claim: &str,
        max_skew: i64,
    ) -> Result<Self, String> {
        let doc: serde_json::Value =
            serde_json::from_str(jwks).map_err(|e| format!("JWKS: {e}"))?;
        let b64 = |v: &serde_json::Value| {
            v.as_str().and_then(|s| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s)
                    .ok()
            })
        };
        let mut keys = Vec::new();
        for key in doc
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or("JWKS has no keys array")?
        {
            let text = |name: &str| key.get(name).and_then(|v| v.as_str());
            let bytes = |name: &str| key.get(name).and_then(b64);
            // Keys without a kid, of other types or with missing parts are passed over.
            let Some(kid) = text("kid") else {
                continue;
            };
            let verifying = match (text("kty"), text("crv")) {
                (Some("RSA"), _) => {
                    let (Some(n), Some(e)) = (bytes("n"), bytes("e")) else {
                        continue;
                    };
                    super::token::VerifyKey::rsa(n, e)
                        .map_err(|_| format!("JWKS key {kid} is an RSA key under 2048 bits"))?
                }
                (Some("EC"), Some("P-256")) => {
                    let (Some(x), Some(y)) = (bytes("x"), bytes("y")) else {
                        continue;
                    };
                    let mut point = vec![0x04];
                    point.extend(x);
                    point.extend(y);
                    super::token::VerifyKey::from_sec1(&point)
                        .map_err(|_| format!("JWKS key {kid} is not a P-256 point"))?
                }
                _ => continue,
            };
            keys.push((kid.to_owned(), verifying));
        }
        if keys.is_empty() {
            return Err("JWKS has no P-256 or RSA key with a kid".into());
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys,
            loa_claim: loa_claim.to_owned(),
            max_skew,
        })
    }

    /// Verifies a token of this issuer.
    ///
    /// # Errors
    /// The first [`TokenError`] found.
    pub fn verify(&self, token: &str, now: i64) -> Result<ExternalClaims, TokenError> {
        let payload = verified_payload(token, &self.keys)?;
        let claims: serde_json::Value =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let number = |name: &str| claims.get(name).and_then(serde_json::Value::as_i64);
        if text("iss").as_deref() != Some(self.issuer.as_str()) {
            return Err(TokenError::Issuer);
        }
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => *a == self.audience,
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(TokenError::Audience);
        }
        let exp = number("exp").ok_or(TokenError::Malformed)?;
        if now > exp.saturating_add(self.max_skew) {
            return Err(TokenError::Expired);
        }
        let early = |t: Option<i64>| t.is_some_and(|t| now.saturating_add(self.max_skew) < t);
        if early(number("nbf")) || early(number("iat")) {
            return Err(TokenError::NotYetValid);
        }
        let loa = text(&self.loa_claim).ok_or(TokenError::MissingAcr)?;
        let loa = Loa::parse(&loa).ok_or(TokenError::UnknownAcr)?;
        let sub = text("sub")
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .ok_or(TokenError::Malformed)?;
        let jti = text("jti").unwrap_or_else(|| {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(token.as_bytes()))
        });
        Ok(ExternalClaims {
            sub,
            given_name: text("given_name"),
            family_name: text("family_name"),
            loa,
            exp,
            jti,
            auth_time: number("auth_time").or_else(|| number("iat")).unwrap_or(0),
            authorization_details: claims
                .get("authorization_details")
                .filter(|v| !v.is_null())
                .cloned(),
        })
    }
}

impl Identity {
    /// A token of a trusted external issuer; the person is provisioned on first use.
    pub(super) async fn authenticate_external(
        &self,
        issuer: &str,
        token: &str,
        now: i64,
    ) -> Result<Principal, Error> {
        let trusted = self
            .externals
            .iter()
            .find(|e| e.issuer == issuer)
            .ok_or(TokenError::Issuer)?;
        let claims = trusted.verify(token, now)?;
        if self.store.token_revoked(&claims.jti).await? {
            return Err(TokenError::Revoked.into());
        }
        let (person, mac) = match self.store.external_person(issuer, &claims.sub).await? {
            Some(found) => found,
            None => {
                let id = PersonId::random();
                let row = PersonRow {
                    id: id.to_string(),
                    username: format!("external-{}", id.as_uuid().simple()),
                    given_name: claims.given_name.clone().unwrap_or_default(),
                    family_name: claims.family_name.clone().unwrap_or_default(),
                    status: "active".into(),
                    // No password can match this: external persons log in at their issuer.
                    password_hash: "!".into(),
                    totp_secret: None,
                    totp_last_step: None,
                    created_at: now,
                    password_mac: None,
                };
                let mac = self
                    .hsm
                    .tag_record(&hsm::Record::ExternalSubject {
                        issuer,
                        subject: &claims.sub,
                        person: &row.id,
                    })
                    .await?;
                let provisioned = self
                    .store
                    .provision_external(issuer, &claims.sub, &row, &mac)
                    .await?;
                let action = format!("person provisioned from external issuer {issuer}");
                self.audit
                    .record(
                        &Context::system().entry(
                            Some(format!("person:{}", provisioned.0)),
                            Event::AdminAction { action },
                        ),
                        now * 1000,
                    )
                    .await?;
                provisioned
            }
        };
        // The mapping must be the service's own: a database writer who maps their subject at a
        // trusted issuer to someone else's person gets nothing.
        let intact = self
            .hsm
            .record_intact(
                hsm::Record::ExternalSubject {
                    issuer,
                    subject: &claims.sub,
                    person: &person,
                },
                mac.as_deref(),
            )
            .await?;
        if !intact {
            return Err(TokenError::Revoked.into());
        }
        let row = self.store.person_by_id(&person).await?;
        if row.is_none_or(|p| p.status != "active") {
            return Err(TokenError::Revoked.into());
        }
        let person = PersonId::parse(&person).map_err(|_| TokenError::Malformed)?;
        Ok(Principal {
            person,
            loa: claims.loa,
            amr: vec!["ext".into()],
            jti: claims.jti,
            exp: claims.exp,
            auth_time: claims.auth_time,
            authorization_details: claims.authorization_details,
            external: true,
            client_id: None,
        })
    }
}
