//! Revocation status from the CRLs (RFC 5280 §5) and OCSP responses (RFC 6960) at hand, each
//! checked against the certificate's issuer or a responder it delegated to.

use der::{Decode, Encode};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::ExtendedKeyUsage;

use super::{unix, Cert, Status};
use crate::formats::asn1::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspResponse, OcspResponseStatus,
};
use crate::formats::asn1::oid;
use crate::validate::report::RevocationData;

/// Clock skew tolerated between the validator and a responder, seconds.
const SKEW: i64 = 300;

/// Whether a CRL's `thisUpdate` has come and its `nextUpdate` (if any) has not passed.
pub(super) fn crl_current(der: &[u8], now: i64) -> bool {
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
