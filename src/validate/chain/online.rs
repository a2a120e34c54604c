//! Validation data fetched online through the service's [`Fetch`]: OCSP requests with a nonce
//! to the responders a certificate's AIA names (RFC 6960, RFC 8954), CRLs from its
//! distribution points (RFC 5280 §4.2.1.13), and missing issuers from its AIA caIssuers
//! (RFC 5280 §4.2.2.1) to complete a path.

use der::Encode;

use super::revocation::{crl_current, ocsp_check, revocation, revocation_dated, Fresh};
use super::{Cert, Fetch, Local, Status, MAX_DEPTH};
use crate::formats::asn1::ocsp::{CertId, OcspRequest, Request, TbsRequest};
use crate::formats::asn1::oid;
use crate::validate::report::RevocationData;

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
    /// The CRL or OCSP response at hand that answered (with [`Source::Embedded`]).
    pub data: Option<RevocationData>,
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
        data: None,
    };
    if let Some((status, data)) = revocation_dated(cert, issuer, crls, ocsps) {
        return Found {
            data: Some(data),
            ..found(status, Source::Embedded, Vec::new())
        };
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
#[must_use]
pub fn ocsp_request(cert: &Cert, issuer: &Cert, nonce: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
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
    crate::validate::cms::signed_data(der)
        .map(|signed| {
            crate::validate::cms::certificates(&signed)
                .take(MAX_BUNDLE)
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
