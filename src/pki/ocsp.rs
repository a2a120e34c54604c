//! The OCSP responder (RFC 6960) for certificates of the issuing CA.
//!
//! Responses are signed per request by a delegated responder certificate (EKU OCSPSigning,
//! ocsp-nocheck) so that a request nonce can be echoed; they are not pre-signed. Every failure
//! becomes a protocol answer (`malformedRequest`, `internalError`), never a panic.

use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use x509_cert::ext::Extension;

use super::crl::crl_reason;
use super::profile::enc;
use super::{algorithm, generalized, Error, Pki, Role};
use crate::formats::asn1::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse, TbsRequest,
};
use crate::formats::asn1::oid;
use crate::hsm::ServiceKey;

/// Most certificates asked about in one request.
const MAX_REQUESTS: usize = 16;

/// A CA certificate's subject name (DER) and public key bits, which OCSP `CertID`s hash.
fn name_and_key(ca: &x509_cert::Certificate) -> Result<(Vec<u8>, &[u8]), Error> {
    let tbs = ca.tbs_certificate();
    Ok((
        tbs.subject().to_der().map_err(enc)?,
        tbs.subject_public_key_info().subject_public_key.raw_bytes(),
    ))
}

impl Pki {
    /// Answers a DER `OCSPRequest` with a DER `OCSPResponse`. Never fails: bad requests get
    /// `malformedRequest`, internal failures `internalError` (and are logged).
    pub async fn ocsp(&self, request: &[u8], now: i64) -> Vec<u8> {
        let Ok(parsed) = OcspRequest::from_der(request) else {
            return status_only(OcspResponseStatus::MalformedRequest);
        };
        let count = parsed.tbs_request.request_list.len();
        if count == 0 || count > MAX_REQUESTS {
            return status_only(OcspResponseStatus::MalformedRequest);
        }
        match self.answer(&parsed, now).await {
            Ok(der) => der,
            Err(e) => {
                tracing::error!(error = %e, "OCSP response failed");
                status_only(OcspResponseStatus::InternalError)
            }
        }
    }

    /// A signed OCSP response (DER `OCSPResponse`) on a certificate of the issuing CA, as
    /// embedded in long-term signatures.
    ///
    /// # Errors
    /// A certificate that does not parse; HSM and store failures.
    pub async fn ocsp_response_for(&self, certificate: &[u8], now: i64) -> Result<Vec<u8>, Error> {
        let cert = super::parse_cert(certificate)?;
        let issuer = self.service_cert(Role::Issuing).await?;
        let (issuer_name, issuer_key) = name_and_key(&issuer)?;
        let request = OcspRequest {
            tbs_request: TbsRequest {
                version: None,
                requestor_name: None,
                request_list: vec![Request {
                    req_cert: CertId::sha1(
                        &issuer_name,
                        issuer_key,
                        cert.tbs_certificate().serial_number().clone(),
                    )
                    .map_err(enc)?,
                    single_request_extensions: None,
                }],
                request_extensions: None,
            },
            optional_signature: None,
        };
        self.answer(&request, now).await
    }

    async fn answer(&self, request: &OcspRequest, now: i64) -> Result<Vec<u8>, Error> {
        let issuer = self.service_cert(Role::Issuing).await?;
        let responder_row = self.service_row(Role::Ocsp).await?;
        let responder = super::parse_cert(&responder_row.der)?;
        let (issuer_name, issuer_key) = name_and_key(&issuer)?;
        let next = now.saturating_add(
            i64::try_from(self.settings.ocsp_validity.as_secs()).unwrap_or(i64::MAX),
        );

        let mut responses = Vec::with_capacity(request.tbs_request.request_list.len());
        for entry in &request.tbs_request.request_list {
            let id = &entry.req_cert;
            let ours = match id.hash_algorithm.oid {
                o if o == oid::SHA1 => matches_issuer::<Sha1>(id, &issuer_name, issuer_key),
                o if o == oid::SHA256 => matches_issuer::<Sha256>(id, &issuer_name, issuer_key),
                _ => false,
            };
            let status = if ours {
                self.status(&hex::encode(id.serial_number.as_bytes()))
                    .await?
            } else {
                CertStatus::Unknown(Null)
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status: status,
                this_update: generalized(now)?,
                next_update: Some(generalized(next)?),
                single_extensions: None,
            });
        }
        let nonce: Option<Vec<Extension>> = request
            .tbs_request
            .request_extensions
            .as_ref()
            .and_then(|exts| exts.iter().find(|e| e.extn_id == oid::OCSP_NONCE))
            .filter(|e| e.extn_value.as_bytes().len() <= 64)
            .map(|e| vec![e.clone()]);
        let responder_key = responder
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        let data = ResponseData {
            version: None,
            responder_id: ResponderId::ByKey(
                OctetString::new(Sha1::digest(responder_key).to_vec()).map_err(enc)?,
            ),
            produced_at: generalized(now)?,
            responses,
            response_extensions: nonce,
        };
        let signature = self
            .sign(ServiceKey::Ocsp, &data.to_der().map_err(enc)?)
            .await?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: algorithm(ServiceKey::Ocsp),
            signature,
            certs: Some(vec![responder]),
        };
        OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: oid::OCSP_BASIC,
                response: OctetString::new(basic.to_der().map_err(enc)?).map_err(enc)?,
            }),
        }
        .to_der()
        .map_err(enc)
    }

    async fn status(&self, serial: &str) -> Result<CertStatus, Error> {
        match self.store.certificate(serial).await {
            Ok(row) if row.issuer == "issuing" => Ok(match row.revoked_at {
                None => CertStatus::Good(Null),
                Some(at) => CertStatus::Revoked(RevokedInfo {
                    revocation_time: generalized(at)?,
                    revocation_reason: Some(crl_reason(row.revocation_reason.unwrap_or(0))),
                }),
            }),
            Ok(_) | Err(crate::store::Error::NotFound) => Ok(CertStatus::Unknown(Null)),
            Err(e) => Err(e.into()),
        }
    }
}

fn matches_issuer<D: sha2::Digest>(id: &CertId, name: &[u8], key: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    let name_ok = D::digest(name)
        .as_slice()
        .ct_eq(id.issuer_name_hash.as_bytes());
    let key_ok = D::digest(key)
        .as_slice()
        .ct_eq(id.issuer_key_hash.as_bytes());
    bool::from(name_ok & key_ok)
}

fn status_only(status: OcspResponseStatus) -> Vec<u8> {
    // A two-field SEQUENCE with an ENUMERATED cannot fail to encode; the fallback is its DER.
    OcspResponse {
        response_status: status,
        response_bytes: None,
    }
    .to_der()
    .unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, 0x02])
}
