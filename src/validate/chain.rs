//! Certificates: signature verification (ring), chain building to trust anchors, validity,
//! key usage, and revocation from CRLs and OCSP responses supplied with the signature.
//!
//! Online (through the [`Fetch`] the service gives, never by itself): OCSP requests to the
//! responder a certificate names in its AIA (RFC 6960, with a nonce), CRLs from its
//! distribution points (RFC 5280 §4.2.1.13), and missing issuers from its AIA caIssuers
//! (RFC 5280 §4.2.2.1, DER or a PKCS#7 certs-only bundle).
//!
//! Here: certificates and chain building. Reading CRLs and OCSP responses at hand is in
//! `revocation`; fetching them, and completing a path from caIssuers, in `online`.

mod online;
mod revocation;

use std::collections::HashSet;

use der::{Decode, Encode};
use sha2::{Digest as _, Sha256};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::Certificate;

use super::report::SubIndication;
use crate::formats::asn1::oid;

pub use online::{
    ca_issuers_urls, certificates_in, crl_urls, gather, ocsp_request, ocsp_urls, online, path,
    revocation_or_fetch, Evidence, Found, Gathered, Source,
};
pub use revocation::{ocsp_check, read_crl, revocation, revocation_dated, Crl, Fresh};

/// Longest chain followed.
const MAX_DEPTH: usize = 8;

/// Most remembered verifications before the memory is cleared.
const VERIFIED_MAX: usize = 16_384;

/// Verifications remembered (those that passed) and those under way, process-wide.
#[derive(Default)]
struct Memo {
    /// Keys of verifications that passed.
    passed: HashSet<[u8; 32]>,
    /// Keys of verifications a thread is doing now.
    running: HashSet<[u8; 32]>,
}

/// The memo, and the signal that a running verification ended.
fn memo() -> &'static (std::sync::Mutex<Memo>, std::sync::Condvar) {
    static MEMO: std::sync::OnceLock<(std::sync::Mutex<Memo>, std::sync::Condvar)> =
        std::sync::OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// Seconds since the epoch of an X.509 time.
fn unix(t: &x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// A parsed certificate with its DER.
#[derive(Debug, Clone)]
pub struct Cert {
    /// The certificate.
    pub cert: Certificate,
    /// Its DER.
    pub der: Vec<u8>,
}

impl Cert {
    /// Parses DER.
    #[must_use]
    pub fn parse(der: &[u8]) -> Option<Self> {
        Some(Self {
            cert: Certificate::from_der(der).ok()?,
            der: der.to_vec(),
        })
    }

    /// Not before, not after (Unix seconds).
    #[must_use]
    pub fn validity(&self) -> (i64, i64) {
        let v = self.cert.tbs_certificate().validity();
        (unix(&v.not_before), unix(&v.not_after))
    }

    fn extension<T: for<'a> Decode<'a>>(&self, id: der::asn1::ObjectIdentifier) -> Option<T> {
        self.cert
            .tbs_certificate()
            .extensions()?
            .iter()
            .find(|e| e.extn_id == id)
            .and_then(|e| T::from_der(e.extn_value.as_bytes()).ok())
    }

    /// Whether the certificate is a CA.
    #[must_use]
    pub fn is_ca(&self) -> bool {
        self.extension::<BasicConstraints>(const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS)
            .is_some_and(|b| b.ca)
    }

    /// Whether the key usage allows `usage` (a missing extension allows everything).
    #[must_use]
    pub fn key_usage(&self, usage: KeyUsages) -> bool {
        self.extension::<KeyUsage>(const_oid::db::rfc5280::ID_CE_KEY_USAGE)
            .is_none_or(|k| k.0.contains(usage))
    }

    /// The subject public key (SPKI BIT STRING contents) and its algorithm OID and curve.
    fn key(
        &self,
    ) -> (
        &[u8],
        der::asn1::ObjectIdentifier,
        Option<der::asn1::ObjectIdentifier>,
    ) {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
        (
            spki.subject_public_key.raw_bytes(),
            spki.algorithm.oid,
            curve,
        )
    }

    /// Verifies `signature` over `message` with this certificate's key and the signature
    /// algorithm `algorithm` (ECDSA with SHA-256/384, RSA PKCS#1 v1.5 or PSS with SHA-256).
    ///
    /// Positive results are remembered process-wide (keyed by SHA-256 over the key, the
    /// algorithm, the message and the signature), so the CA certificates and CRLs a
    /// long-running service sees again are not verified again.
    #[must_use]
    pub fn verifies(
        &self,
        algorithm: &der::asn1::ObjectIdentifier,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let mut h = Sha256::new();
        for part in [self.key().0, algorithm.as_bytes(), message, signature] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        let key: [u8; 32] = h.finalize().into();
        let (lock, ended) = memo();
        // The same verification under way in another thread ([`anchor_signatures_ahead`]) is
        // waited for rather than done twice.
        let Ok(mut state) = lock.lock() else {
            return self.verify_uncached(algorithm, message, signature);
        };
        while state.running.contains(&key) {
            let Ok(next) = ended.wait(state) else {
                return self.verify_uncached(algorithm, message, signature);
            };
            state = next;
        }
        if state.passed.contains(&key) {
            return true;
        }
        state.running.insert(key);
        drop(state);
        let ok = self.verify_uncached(algorithm, message, signature);
        if let Ok(mut state) = lock.lock() {
            state.running.remove(&key);
            if ok {
                if state.passed.len() >= VERIFIED_MAX {
                    state.passed.clear();
                }
                state.passed.insert(key);
            }
        }
        ended.notify_all();
        ok
    }

    fn verify_uncached(
        &self,
        algorithm: &der::asn1::ObjectIdentifier,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        use ring::signature as rs;
        let (key, key_alg, curve) = self.key();
        let p256 = const_oid::db::rfc5912::SECP_256_R_1;
        let p384 = const_oid::db::rfc5912::SECP_384_R_1;
        let ec = key_alg == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY;
        let verifier: &dyn rs::VerificationAlgorithm = match (*algorithm, ec, curve) {
            (a, true, Some(c)) if a == oid::ECDSA_WITH_SHA256 && c == p256 => {
                &rs::ECDSA_P256_SHA256_ASN1
            }
            (a, true, Some(c)) if a == oid::ECDSA_WITH_SHA384 && c == p256 => {
                &rs::ECDSA_P256_SHA384_ASN1
            }
            (a, true, Some(c)) if a == oid::ECDSA_WITH_SHA256 && c == p384 => {
                &rs::ECDSA_P384_SHA256_ASN1
            }
            (a, true, Some(c)) if a == oid::ECDSA_WITH_SHA384 && c == p384 => {
                &rs::ECDSA_P384_SHA384_ASN1
            }
            (a, false, _) if a == oid::RSA_WITH_SHA256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            (a, false, _) if a == const_oid::db::rfc5912::SHA_384_WITH_RSA_ENCRYPTION => {
                &rs::RSA_PKCS1_2048_8192_SHA384
            }
            (a, false, _) if a == oid::RSA_PSS => &rs::RSA_PSS_2048_8192_SHA256,
            _ => return false,
        };
        rs::UnparsedPublicKey::new(verifier, key)
            .verify(message, signature)
            .is_ok()
    }

    /// Verifies an RSA PKCS#1 v1.5 signature with SHA-1 (legacy signatures only: never used
    /// for certificates, CRLs, OCSP responses or timestamps; the validation policy decides
    /// whether such a signature is accepted).
    #[must_use]
    pub fn verifies_rsa_sha1(&self, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature as rs;
        let (key, key_alg, _) = self.key();
        key_alg == const_oid::db::rfc5912::RSA_ENCRYPTION
            && rs::UnparsedPublicKey::new(&rs::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, key)
                .verify(message, signature)
                .is_ok()
    }

    /// The size of the RSA modulus in bits (`None`: not an RSA key).
    #[must_use]
    pub fn rsa_bits(&self) -> Option<usize> {
        let (key, key_alg, _) = self.key();
        if key_alg != const_oid::db::rfc5912::RSA_ENCRYPTION {
            return None;
        }
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017).
        let integers = Vec::<der::asn1::UintRef<'_>>::from_der(key).ok()?;
        let modulus = integers.first()?.as_bytes();
        let first = *modulus.first()?;
        let unused = usize::try_from(first.leading_zeros()).unwrap_or(0);
        Some(modulus.len().saturating_mul(8).saturating_sub(unused))
    }

    /// The signature algorithm's family of this certificate's key, as validation policies
    /// name it (`ECDSA`, `RSA`).
    #[must_use]
    pub fn key_family(&self) -> Option<&'static str> {
        match self.key().1 {
            a if a == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY => Some("ECDSA"),
            a if a == const_oid::db::rfc5912::RSA_ENCRYPTION => Some("RSA"),
            _ => None,
        }
    }

    /// Whether `issuer` issued this certificate (names match and its key verifies).
    #[must_use]
    pub fn issued_by(&self, issuer: &Self) -> bool {
        let tbs = self.cert.tbs_certificate();
        if tbs.issuer() != issuer.cert.tbs_certificate().subject() {
            return false;
        }
        let Ok(tbs_der) = tbs.to_der() else {
            return false;
        };
        let Some(signature) = self.cert.signature().as_bytes() else {
            return false;
        };
        issuer.verifies(&self.cert.signature_algorithm().oid, &tbs_der, signature)
    }
}

/// Most signatures of trust anchors [`anchor_signatures_ahead`] verifies, each on its own
/// thread.
const AHEAD_MAX: usize = 4;

/// Starts, in `scope`, the verification of the signatures the trust anchors made over the
/// certificates and CRLs at hand (a PDF's DSS: an issuing CA's certificate, a root's CRL),
/// one thread each, at most [`AHEAD_MAX`]. Roots often have costly keys (P-384, RSA-4096) and
/// their signatures come last in a first validation; verified ahead, while the validation's own
/// thread hashes the document, they are found in the memo [`Cert::verifies`] reads (and waits
/// on while one is under way). Nothing is decided here, and the threads end with the scope.
pub fn anchor_signatures_ahead<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    anchors: &'scope [Cert],
    pool: &'scope [Cert],
    crls: &'scope [Vec<u8>],
) {
    let by_anchor = |name: &x509_cert::name::Name| {
        anchors
            .iter()
            .find(|a| a.cert.tbs_certificate().subject() == name)
    };
    let mut started = 0;
    for der in crls {
        if started >= AHEAD_MAX {
            return;
        }
        let Some(crl) = read_crl(der) else { continue };
        if let Some(anchor) = by_anchor(&crl.list.tbs_cert_list.issuer) {
            started += 1;
            scope.spawn(move || {
                if let Some(signature) = crl.list.signature.as_bytes() {
                    let _ = anchor.verifies(&crl.list.signature_algorithm.oid, &crl.tbs, signature);
                }
            });
        }
    }
    for cert in pool {
        if started >= AHEAD_MAX {
            return;
        }
        if let Some(anchor) = by_anchor(cert.cert.tbs_certificate().issuer()) {
            if anchor.der != cert.der {
                started += 1;
                scope.spawn(move || {
                    let _ = cert.issued_by(anchor);
                });
            }
        }
    }
}

/// What a chain check found.
#[derive(Debug, Clone)]
pub struct Chain {
    /// From the certificate to the trust anchor.
    pub certificates: Vec<Cert>,
}

/// Builds the chain of `leaf` from `pool` to one of `anchors`.
///
/// # Errors
/// `NO_CERTIFICATE_CHAIN_FOUND` (also for a loop or a chain longer than 8),
/// `CHAIN_CONSTRAINTS_FAILURE` for an issuer that is not a CA.
pub fn build(leaf: &Cert, pool: &[Cert], anchors: &[Cert]) -> Result<Chain, SubIndication> {
    let mut chain = vec![leaf.clone()];
    let mut seen = HashSet::new();
    seen.insert(Sha256::digest(&leaf.der).to_vec());
    loop {
        let Some(current) = chain.last() else {
            return Err(SubIndication::NoCertificateChainFound);
        };
        if anchors.iter().any(|a| a.der == current.der) {
            return Ok(Chain {
                certificates: chain,
            });
        }
        if chain.len() > MAX_DEPTH {
            return Err(SubIndication::NoCertificateChainFound);
        }
        let issuer = anchors
            .iter()
            .chain(pool)
            .find(|c| current.issued_by(c))
            .cloned();
        let Some(issuer) = issuer else {
            return Err(SubIndication::NoCertificateChainFound);
        };
        if !seen.insert(Sha256::digest(&issuer.der).to_vec()) {
            return Err(SubIndication::NoCertificateChainFound);
        }
        if !issuer.is_ca() {
            return Err(SubIndication::ChainConstraintsFailure);
        }
        chain.push(issuer);
    }
}

/// The revocation status of a certificate, from the data at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not revoked, per a CRL or an OCSP response.
    Good,
    /// Revoked at this time (Unix seconds).
    Revoked(i64),
    /// No usable revocation data.
    Unknown,
}

/// Fetches validation data from the network: CRLs, OCSP responses and CA certificates. The
/// service's implementation bounds every fetch (time, size, count, schemes, addresses).
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// The bytes at `url`, or `None` (refused, unreachable, too slow, too large, not HTTP).
    fn get(&self, url: &str) -> Option<Vec<u8>>;
    /// The answer to a POST of `body` (of media type `content_type`) to `url`, or `None` as
    /// for [`Fetch::get`].
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Option<Vec<u8>>;
    /// A fresh random nonce for an OCSP request.
    fn nonce(&self) -> Vec<u8>;
    /// How old, in seconds, a fetched OCSP response without the request's nonce may be.
    fn max_age(&self) -> i64;
}

/// Revocation status the validating service's own CA knows first-hand (its certificate
/// store), so that its own certificates need no freshly signed CRL per validation.
pub trait Local: Send + Sync + std::fmt::Debug {
    /// The status of exactly this certificate, when this CA issued it.
    fn status(&self, cert: &Cert) -> Option<Status>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> Cert {
        let path = format!("{}/tests/corpus/pki/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body)
            .unwrap_or_default();
        Cert::parse(&der).unwrap_or_else(|| unreachable!("corpus certificate {name}"))
    }

    /// Threads asking for the same verification at once (one doing it, the others waiting on
    /// it) all get its answer, for a signature that verifies and for one that does not.
    #[test]
    fn the_same_verification_asked_at_once_answers_every_thread_alike() {
        let root = corpus("root.pem");
        let issuing = corpus("issuing.pem");
        let rogue = corpus("rogue-root.pem");
        let tbs = issuing.cert.tbs_certificate().to_der().unwrap_or_default();
        let algorithm = issuing.cert.signature_algorithm().oid;
        let signature = issuing.cert.signature().raw_bytes();
        // By the root's key (true) and by another key (false: a real verification that fails).
        let check = || {
            (
                root.verifies(&algorithm, &tbs, signature),
                rogue.verifies(&algorithm, &tbs, signature),
            )
        };
        let answers: Vec<(bool, bool)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8).map(|_| scope.spawn(check)).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((false, true)))
                .collect()
        });
        assert_eq!(answers, vec![(true, false); 8]);
        // Remembered now, and still answered alike.
        assert!(issuing.issued_by(&root));
        assert!(!issuing.issued_by(&rogue));
    }
}
