//! Certificates: signature verification (ring), chain building to trust anchors, validity,
//! key usage, and revocation from CRLs and OCSP responses supplied with the signature.

use std::collections::HashSet;

use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::Certificate;

use super::report::{RevocationData, SubIndication};
use crate::formats::asn1::ocsp::{BasicOcspResponse, CertStatus, OcspResponse};
use crate::formats::asn1::oid;

/// Longest chain followed.
const MAX_DEPTH: usize = 8;

/// Most remembered verifications before the memory is cleared.
const VERIFIED_MAX: usize = 16_384;

fn verified() -> &'static std::sync::Mutex<HashSet<[u8; 32]>> {
    static VERIFIED: std::sync::OnceLock<std::sync::Mutex<HashSet<[u8; 32]>>> =
        std::sync::OnceLock::new();
    VERIFIED.get_or_init(|| std::sync::Mutex::new(HashSet::new()))
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
        if verified().lock().is_ok_and(|set| set.contains(&key)) {
            return true;
        }
        let ok = self.verify_uncached(algorithm, message, signature);
        if ok {
            if let Ok(mut set) = verified().lock() {
                if set.len() >= VERIFIED_MAX {
                    set.clear();
                }
                set.insert(key);
            }
        }
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

/// Fetches revocation data from the network (a CRL distribution point's URL).
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// The bytes at `url`, or `None` (unreachable, too slow, too large, not HTTP).
    fn get(&self, url: &str) -> Option<Vec<u8>>;
}

/// Revocation status the validating service's own CA knows first-hand (its certificate
/// store), so that its own certificates need no freshly signed CRL per validation.
pub trait Local: Send + Sync + std::fmt::Debug {
    /// The status of exactly this certificate, when this CA issued it.
    fn status(&self, cert: &Cert) -> Option<Status>;
}

/// The HTTP(S) URLs of a certificate's CRL distribution points.
#[must_use]
pub fn crl_urls(cert: &Cert) -> Vec<String> {
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    cert.extension::<x509_cert::ext::pkix::CrlDistributionPoints>(
        const_oid::db::rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS,
    )
    .map(|points| {
        points
            .0
            .iter()
            .filter_map(|p| match &p.distribution_point {
                Some(DistributionPointName::FullName(names)) => Some(names),
                _ => None,
            })
            .flatten()
            .filter_map(|n| match n {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.as_str().to_owned()),
                _ => None,
            })
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .collect()
    })
    .unwrap_or_default()
}

/// [`revocation`] from the data at hand; when that says nothing, what the validator's own CA
/// knows (`local`); then, when `fetch` is given, the CRLs at the certificate's distribution
/// points.
#[must_use]
pub fn revocation_or_fetch(
    cert: &Cert,
    issuer: &Cert,
    crls: &[Vec<u8>],
    ocsps: &[Vec<u8>],
    local: Option<&dyn Local>,
    fetch: Option<&dyn Fetch>,
) -> Status {
    let status = revocation(cert, issuer, crls, ocsps);
    if status != Status::Unknown {
        return status;
    }
    if let Some(known) = local.and_then(|l| l.status(cert)) {
        return known;
    }
    let Some(fetch) = fetch else {
        return status;
    };
    let fetched: Vec<Vec<u8>> = crl_urls(cert).iter().filter_map(|u| fetch.get(u)).collect();
    revocation(cert, issuer, &fetched, &[])
}

/// The status of `cert` (issued by `issuer`) from `crls` and `ocsps` (DER), each checked:
/// signed by the issuer (CRL) or by the issuer or a responder it delegated to (OCSP).
#[must_use]
pub fn revocation(cert: &Cert, issuer: &Cert, crls: &[Vec<u8>], ocsps: &[Vec<u8>]) -> Status {
    revocation_dated(cert, issuer, crls, ocsps).map_or(Status::Unknown, |(status, _)| status)
}

/// [`revocation`], with the data that answered: the status, and the CRL or OCSP response
/// (its DER, kind and `thisUpdate`). `None`: no data at hand answers.
#[must_use]
pub fn revocation_dated(
    cert: &Cert,
    issuer: &Cert,
    crls: &[Vec<u8>],
    ocsps: &[Vec<u8>],
) -> Option<(Status, RevocationData)> {
    let serial = cert.cert.tbs_certificate().serial_number();
    for der in crls {
        let Ok(crl) = CertificateList::from_der(der) else {
            continue;
        };
        if crl.tbs_cert_list.issuer != *issuer.cert.tbs_certificate().subject() {
            continue;
        }
        let (Ok(tbs), Some(sig)) = (crl.tbs_cert_list.to_der(), crl.signature.as_bytes()) else {
            continue;
        };
        if !issuer.verifies(&crl.signature_algorithm.oid, &tbs, sig) {
            continue;
        }
        let listed = crl
            .tbs_cert_list
            .revoked_certificates
            .as_ref()
            .and_then(|list| list.iter().find(|r| r.serial_number == *serial))
            .map(|r| unix(&r.revocation_date));
        let data = RevocationData {
            der: der.clone(),
            ocsp: false,
            issued: unix(&crl.tbs_cert_list.this_update),
        };
        return Some((listed.map_or(Status::Good, Status::Revoked), data));
    }
    ocsps.iter().find_map(|der| {
        ocsp_status(cert, issuer, der).map(|(status, issued)| {
            let data = RevocationData {
                der: der.clone(),
                ocsp: true,
                issued,
            };
            (status, data)
        })
    })
}

/// The status an OCSP response gives `cert`, with the response's `thisUpdate`.
fn ocsp_status(cert: &Cert, issuer: &Cert, der: &[u8]) -> Option<(Status, i64)> {
    let response = OcspResponse::from_der(der).ok()?;
    let bytes = response.response_bytes?;
    if bytes.response_type != oid::OCSP_BASIC {
        return None;
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).ok()?;
    let tbs = basic.tbs_response_data.to_der().ok()?;
    let signature = basic.signature.as_bytes()?;
    let signed_by = |c: &Cert| c.verifies(&basic.signature_algorithm.oid, &tbs, signature);
    let trusted = signed_by(issuer)
        || basic.certs.iter().flatten().any(|c| {
            c.to_der()
                .ok()
                .and_then(|d| Cert::parse(&d))
                .is_some_and(|responder| responder.issued_by(issuer) && signed_by(&responder))
        });
    if !trusted {
        return None;
    }
    let name_hash = Sha1::digest(issuer.cert.tbs_certificate().subject().to_der().ok()?);
    let key_hash = Sha1::digest(issuer.key().0);
    let serial = cert.cert.tbs_certificate().serial_number();
    basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| {
            r.cert_id.hash_algorithm.oid == oid::SHA1
                && r.cert_id.issuer_name_hash.as_bytes() == name_hash.as_slice()
                && r.cert_id.issuer_key_hash.as_bytes() == key_hash.as_slice()
                && r.cert_id.serial_number == *serial
        })
        .and_then(|r| {
            let status = match &r.cert_status {
                CertStatus::Good(_) => Status::Good,
                CertStatus::Revoked(info) => {
                    Status::Revoked(unix_generalized(&info.revocation_time))
                }
                CertStatus::Unknown(_) => return None,
            };
            Some((status, unix_generalized(&r.this_update)))
        })
}

fn unix_generalized(t: &der::asn1::GeneralizedTime) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}
