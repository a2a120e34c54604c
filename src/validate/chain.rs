//! Certificates: signature verification (ring), chain building to trust anchors, validity,
//! key usage, and revocation from CRLs and OCSP responses supplied with the signature.
//!
//! Online (through the [`Fetch`] the service gives, never by itself): OCSP requests to the
//! responder a certificate names in its AIA (RFC 6960, with a nonce), CRLs from its
//! distribution points (RFC 5280 §4.2.1.13), and missing issuers from its AIA caIssuers
//! (RFC 5280 §4.2.2.1, DER or a PKCS#7 certs-only bundle).

use std::collections::HashSet;

use der::{Decode, Encode};
use sha2::{Digest as _, Sha256};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::Certificate;

use super::report::{RevocationData, SubIndication};
use crate::formats::asn1::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest,
};
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

/// Where a certificate's revocation status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// CRLs or OCSP responses the signed file carries (or the validator was given).
    Embedded,
    /// The validating service's own CA, first-hand.
    OwnCa,
    /// An OCSP response fetched from the certificate's responder.
    FetchedOcsp,
    /// A CRL fetched from the certificate's distribution point.
    FetchedCrl,
    /// Nowhere: no usable revocation data.
    Nowhere,
}

impl Source {
    /// The name in reports.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::OwnCa => "own_ca",
            Self::FetchedOcsp => "fetched_ocsp",
            Self::FetchedCrl => "fetched_crl",
            Self::Nowhere => "none",
        }
    }
}

/// A revocation status with where it came from and what happened on the way (fetches that
/// failed, responses not accepted), in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The status.
    pub status: Status,
    /// Its source.
    pub source: Source,
    /// Findings on the way.
    pub notes: Vec<String>,
}

/// Revocation data fetched online, as a long-term signature embeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A DER `OCSPResponse`.
    Ocsp(Vec<u8>),
    /// A DER CRL.
    Crl(Vec<u8>),
}

/// [`revocation`] from the data at hand; when that says nothing, what the validator's own CA
/// knows (`local`); then, when `fetch` is given, [`online`] (OCSP first, then CRLs).
#[must_use]
pub fn revocation_or_fetch(
    cert: &Cert,
    issuer: &Cert,
    crls: &[Vec<u8>],
    ocsps: &[Vec<u8>],
    local: Option<&dyn Local>,
    fetch: Option<&dyn Fetch>,
    now: i64,
) -> Found {
    let found = |status: Status, source: Source, notes: Vec<String>| Found {
        status,
        source,
        notes,
    };
    let status = revocation(cert, issuer, crls, ocsps);
    if status != Status::Unknown {
        return found(status, Source::Embedded, Vec::new());
    }
    if let Some(known) = local.and_then(|l| l.status(cert)) {
        return found(known, Source::OwnCa, Vec::new());
    }
    let Some(fetch) = fetch else {
        return found(Status::Unknown, Source::Nowhere, Vec::new());
    };
    let mut notes = Vec::new();
    match online(cert, issuer, fetch, now, true, &mut notes) {
        Some((status, Evidence::Ocsp(_))) => found(status, Source::FetchedOcsp, notes),
        Some((status, Evidence::Crl(_))) => found(status, Source::FetchedCrl, notes),
        None => found(Status::Unknown, Source::Nowhere, notes),
    }
}

/// Most URLs of one kind tried for one certificate.
const MAX_URLS: usize = 2;

/// Clock skew tolerated between the validator and a responder, seconds.
const SKEW: i64 = 300;

/// The revocation status of `cert` (issued by `issuer`) fetched online: with `ocsp`, from the
/// OCSP responders its AIA names (a request with a nonce, the response checked by
/// [`ocsp_check`] against it), then from the CRLs at its distribution points (signed by the
/// issuer, current at `now`). Answers the status with the data it rests on; what failed on
/// the way goes to `notes`.
pub fn online(
    cert: &Cert,
    issuer: &Cert,
    fetch: &dyn Fetch,
    now: i64,
    ocsp: bool,
    notes: &mut Vec<String>,
) -> Option<(Status, Evidence)> {
    let responders = if ocsp { ocsp_urls(cert) } else { Vec::new() };
    for url in responders.iter().take(MAX_URLS) {
        let nonce = fetch.nonce();
        let Some((request, sent)) = ocsp_request(cert, issuer, &nonce) else {
            break;
        };
        let Some(der) = fetch.post(url, "application/ocsp-request", &request) else {
            notes.push(format!(
                "the OCSP responder {url} was not asked or did not answer usably"
            ));
            continue;
        };
        let fresh = Fresh {
            nonce: &sent,
            now,
            max_age: fetch.max_age(),
        };
        match ocsp_check(cert, issuer, &der, Some(&fresh)) {
            Ok((status, _)) => return Some((status, Evidence::Ocsp(der))),
            Err(why) => notes.push(format!(
                "the OCSP response from {url} is not accepted: {why}"
            )),
        }
    }
    for url in crl_urls(cert).iter().take(MAX_URLS) {
        let Some(der) = fetch.get(url) else {
            notes.push(format!(
                "the CRL at {url} was not fetched or did not arrive usably"
            ));
            continue;
        };
        let status = if crl_current(&der, now) {
            revocation(cert, issuer, std::slice::from_ref(&der), &[])
        } else {
            Status::Unknown
        };
        if status == Status::Unknown {
            notes.push(format!(
                "the CRL at {url} is not accepted: not signed by the issuer, or not current"
            ));
            continue;
        }
        return Some((status, Evidence::Crl(der)));
    }
    None
}

/// Whether a CRL's `thisUpdate` has come and its `nextUpdate` (if any) has not passed.
fn crl_current(der: &[u8], now: i64) -> bool {
    read_crl(der).is_some_and(|crl| {
        let tbs = &crl.list.tbs_cert_list;
        unix(&tbs.this_update) <= now.saturating_add(SKEW)
            && tbs
                .next_update
                .as_ref()
                .is_none_or(|next| unix(next) >= now.saturating_sub(SKEW))
    })
}

/// A CRL as read, with its `TBSCertList` exactly as signed.
#[derive(Debug)]
pub struct Crl {
    /// The CRL.
    pub list: CertificateList,
    /// The DER of its `TBSCertList` as it came: what its signature covers.
    pub tbs: Vec<u8>,
}

/// Reads a CRL (DER). RFC 5280 leaves `version` out of a v1 CRL (as `openssl ca -gencrl`
/// writes one without extensions) while the decoder wants it: such a CRL is read with v1 put
/// in, and its signature is checked over the bytes as they came ([`Crl::tbs`]).
#[must_use]
pub fn read_crl(der: &[u8]) -> Option<Crl> {
    let parts: Vec<der::Any> = Vec::from_der(der).ok()?;
    let [tbs, algorithm, signature] = parts.as_slice() else {
        return None;
    };
    let tbs_der = tbs.to_der().ok()?;
    if let Ok(list) = CertificateList::from_der(der) {
        return Some(Crl { list, tbs: tbs_der });
    }
    let mut fields: Vec<der::Any> = tbs.decode_as().ok()?;
    if fields
        .first()
        .is_none_or(|f| der::Tagged::tag(f) == der::Tag::Integer)
    {
        return None;
    }
    fields.insert(0, der::Any::new(der::Tag::Integer, [0u8]).ok()?);
    let patched = vec![
        der::Any::from_der(&fields.to_der().ok()?).ok()?,
        algorithm.clone(),
        signature.clone(),
    ];
    let list = CertificateList::from_der(&patched.to_der().ok()?).ok()?;
    Some(Crl { list, tbs: tbs_der })
}

/// The URLs of a certificate's AIA entries of one access method, HTTP(S) only.
fn access_urls(cert: &Cert, method: der::asn1::ObjectIdentifier) -> Vec<String> {
    use x509_cert::ext::pkix::name::GeneralName;
    cert.extension::<x509_cert::ext::pkix::AuthorityInfoAccessSyntax>(
        const_oid::db::rfc5280::ID_PE_AUTHORITY_INFO_ACCESS,
    )
    .map(|aia| {
        aia.0
            .iter()
            .filter(|d| d.access_method == method)
            .filter_map(|d| match &d.access_location {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.as_str().to_owned()),
                _ => None,
            })
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .collect()
    })
    .unwrap_or_default()
}

/// The HTTP(S) URLs of a certificate's OCSP responders (AIA id-ad-ocsp).
#[must_use]
pub fn ocsp_urls(cert: &Cert) -> Vec<String> {
    access_urls(cert, oid::AD_OCSP)
}

/// The HTTP(S) URLs where a certificate's issuer is published (AIA id-ad-caIssuers).
#[must_use]
pub fn ca_issuers_urls(cert: &Cert) -> Vec<String> {
    access_urls(cert, oid::AD_CA_ISSUERS)
}

/// A DER `OCSPRequest` for `cert` with a nonce extension, and the nonce extension's value as
/// sent (what a responder that echoes nonces must answer with).
fn ocsp_request(cert: &Cert, issuer: &Cert, nonce: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let name = issuer.cert.tbs_certificate().subject().to_der().ok()?;
    let serial = cert.cert.tbs_certificate().serial_number().clone();
    let id = CertId::sha1(&name, issuer.key().0, serial).ok()?;
    // RFC 8954: the extension's value is the DER of `Nonce ::= OCTET STRING`.
    let value = der::asn1::OctetString::new(nonce).ok()?.to_der().ok()?;
    let extension = x509_cert::ext::Extension {
        extn_id: oid::OCSP_NONCE,
        critical: false,
        extn_value: der::asn1::OctetString::new(value.clone()).ok()?,
    };
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: None,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![extension]),
        },
        optional_signature: None,
    };
    Some((request.to_der().ok()?, value))
}

/// Most certificates read from one caIssuers answer.
const MAX_BUNDLE: usize = 8;

/// Most issuers fetched to complete one chain.
const MAX_HOPS: usize = 4;

/// The certificates in a caIssuers answer: one DER certificate, or a PKCS#7 certs-only
/// bundle (a `SignedData` with certificates and no signers).
#[must_use]
pub fn certificates_in(der: &[u8]) -> Vec<Cert> {
    if let Some(one) = Cert::parse(der) {
        return vec![one];
    }
    super::cms::signed_data(der)
        .map(|signed| {
            signed
                .certificates
                .iter()
                .flat_map(|set| set.0.iter())
                .take(MAX_BUNDLE)
                .filter_map(|c| match c {
                    cms::cert::CertificateChoices::Certificate(c) => {
                        c.to_der().ok().and_then(|d| Cert::parse(&d))
                    }
                    cms::cert::CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The path upwards from `leaf`: each issuer found among `anchors` and `pool` or, with
/// `fetch`, at the caIssuers URLs of the certificate below it (at most [`MAX_HOPS`] fetched),
/// until an anchor, a self-issued certificate, or no issuer. Answers the path from `leaf`,
/// and the certificates that were fetched.
#[must_use]
pub fn path(
    leaf: &Cert,
    pool: &[Cert],
    anchors: &[Cert],
    fetch: Option<&dyn Fetch>,
) -> (Vec<Cert>, Vec<Cert>) {
    let mut path = vec![leaf.clone()];
    let mut fetched: Vec<Cert> = Vec::new();
    let mut hops = 0;
    while path.len() <= MAX_DEPTH {
        let Some(current) = path.last() else { break };
        if anchors.iter().any(|a| a.der == current.der) || current.issued_by(current) {
            break;
        }
        let known = anchors
            .iter()
            .chain(pool)
            .chain(&fetched)
            .find(|c| current.issued_by(c))
            .cloned();
        let issuer = match (known, fetch) {
            (Some(issuer), _) => issuer,
            (None, Some(fetch)) if hops < MAX_HOPS => {
                hops += 1;
                let found = ca_issuers_urls(current)
                    .iter()
                    .take(MAX_URLS)
                    .filter_map(|url| fetch.get(url))
                    .flat_map(|bytes| certificates_in(&bytes))
                    .find(|c| current.issued_by(c));
                let Some(issuer) = found else { break };
                fetched.push(issuer.clone());
                issuer
            }
            (None, _) => break,
        };
        if path.iter().any(|c| c.der == issuer.der) {
            break;
        }
        path.push(issuer);
    }
    (path, fetched)
}

/// What a long-term signature needs to carry for a signer certificate of another CA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gathered {
    /// The certificates of its path (DER), the signer's included.
    pub certificates: Vec<Vec<u8>>,
    /// CRLs fetched (DER).
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses fetched (DER).
    pub ocsps: Vec<Vec<u8>>,
    /// Findings on the way, in words.
    pub notes: Vec<String>,
}

/// Gathers the validation data for `leaf`: its path (completed from caIssuers), and for each
/// certificate below the top, revocation data fetched online (OCSP first when `ocsp`, else
/// CRLs only).
#[must_use]
pub fn gather(
    leaf: &Cert,
    pool: &[Cert],
    anchors: &[Cert],
    fetch: &dyn Fetch,
    now: i64,
    ocsp: bool,
) -> Gathered {
    let (path, _) = path(leaf, pool, anchors, Some(fetch));
    let mut out = Gathered {
        certificates: path.iter().map(|c| c.der.clone()).collect(),
        ..Gathered::default()
    };
    for pair in path.windows(2) {
        let [cert, issuer] = pair else { continue };
        match online(cert, issuer, fetch, now, ocsp, &mut out.notes) {
            Some((_, Evidence::Ocsp(der))) => out.ocsps.push(der),
            Some((_, Evidence::Crl(der))) => out.crls.push(der),
            None => out.notes.push(format!(
                "no revocation data found for {}",
                cert.cert.tbs_certificate().subject()
            )),
        }
    }
    out
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
        let Some(Crl { list: crl, tbs }) = read_crl(der) else {
            continue;
        };
        if crl.tbs_cert_list.issuer != *issuer.cert.tbs_certificate().subject() {
            continue;
        }
        let Some(sig) = crl.signature.as_bytes() else {
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
    ocsp_check(cert, issuer, der, None).ok()
}

/// What a fetched OCSP response must meet besides its signature.
#[derive(Debug)]
pub struct Fresh<'a> {
    /// The nonce extension's value as sent.
    pub nonce: &'a [u8],
    /// The validation time, Unix seconds.
    pub now: i64,
    /// How old a response without the nonce may be, seconds.
    pub max_age: i64,
}

/// The status an OCSP response (DER `OCSPResponse`) gives `cert` (issued by `issuer`): the
/// response must be successful and basic, signed by the issuer or by a responder the issuer
/// certified for OCSP signing (id-kp-OCSPSigning), answer for exactly this certificate, and
/// have a `thisUpdate` not in the future and a `nextUpdate` not before it. A fetched response
/// (`fresh`) must also echo the request's nonce when it carries one, be no older than the
/// policy's maximum age when it does not, and not be past its `nextUpdate`.
///
/// # Errors
/// Why the response is not accepted, in words.
pub fn ocsp_check(
    cert: &Cert,
    issuer: &Cert,
    der: &[u8],
    fresh: Option<&Fresh<'_>>,
) -> Result<(Status, i64), String> {
    let response = OcspResponse::from_der(der).map_err(|e| format!("does not parse: {e}"))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(format!(
            "the responder answered {:?}",
            response.response_status
        ));
    }
    let bytes = response.response_bytes.ok_or("no response bytes")?;
    if bytes.response_type != oid::OCSP_BASIC {
        return Err("not a basic OCSP response".into());
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| format!("the basic response does not parse: {e}"))?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| e.to_string())?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or("the signature is not whole bytes")?;
    let signed_by = |c: &Cert| c.verifies(&basic.signature_algorithm.oid, &tbs, signature);
    let delegated = |responder: &Cert| {
        responder.issued_by(issuer)
            && responder
                .extension::<ExtendedKeyUsage>(const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)
                .is_some_and(|eku| eku.0.contains(&oid::KP_OCSP_SIGNING))
            && signed_by(responder)
    };
    let trusted = signed_by(issuer)
        || basic.certs.iter().flatten().any(|c| {
            c.to_der()
                .ok()
                .and_then(|d| Cert::parse(&d))
                .is_some_and(|responder| delegated(&responder))
        });
    if !trusted {
        return Err(
            "signed by a key that is neither the issuer's nor a responder the issuer delegated to"
                .into(),
        );
    }
    let name = issuer
        .cert
        .tbs_certificate()
        .subject()
        .to_der()
        .map_err(|e| e.to_string())?;
    let expected = CertId::sha1(
        &name,
        issuer.key().0,
        cert.cert.tbs_certificate().serial_number().clone(),
    )
    .map_err(|e| e.to_string())?;
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| {
            r.cert_id.hash_algorithm.oid == oid::SHA1
                && r.cert_id.issuer_name_hash == expected.issuer_name_hash
                && r.cert_id.issuer_key_hash == expected.issuer_key_hash
                && r.cert_id.serial_number == expected.serial_number
        })
        .ok_or("no answer for this certificate")?;
    let this_update = unix_generalized(&single.this_update);
    let next_update = single.next_update.as_ref().map(unix_generalized);
    if next_update.is_some_and(|next| next < this_update) {
        return Err("nextUpdate is before thisUpdate".into());
    }
    if let Some(fresh) = fresh {
        if this_update > fresh.now.saturating_add(SKEW) {
            return Err("thisUpdate is in the future".into());
        }
        if next_update.is_some_and(|next| next < fresh.now.saturating_sub(SKEW)) {
            return Err("past its nextUpdate".into());
        }
        let echoed = basic
            .tbs_response_data
            .response_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid::OCSP_NONCE);
        match echoed {
            Some(nonce) if nonce.extn_value.as_bytes() != fresh.nonce => {
                return Err("the nonce does not match the request's".into());
            }
            Some(_) => {}
            None if this_update < fresh.now.saturating_sub(fresh.max_age) => {
                return Err(format!(
                    "no nonce, and older than the {} s a response without one may be",
                    fresh.max_age
                ));
            }
            None => {}
        }
    }
    match &single.cert_status {
        CertStatus::Good(_) => Ok((Status::Good, this_update)),
        CertStatus::Revoked(info) => Ok((
            Status::Revoked(unix_generalized(&info.revocation_time)),
            this_update,
        )),
        CertStatus::Unknown(_) => Err("the responder does not know the certificate".into()),
    }
}

fn unix_generalized(t: &der::asn1::GeneralizedTime) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}
