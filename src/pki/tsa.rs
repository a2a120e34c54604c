//! The RFC 3161 timestamp authority, and a client for it or for an external TSA.
//!
//! Tokens are CMS SignedData (RFC 5652) over a TSTInfo, signed with the TSA key in the HSM; the
//! signed attributes carry content-type, message-digest and ESS signing-certificate-v2 (RFC
//! 5035), so that the token names the exact TSA certificate. Bad requests get a `rejection`
//! status with the matching failure bit, never a panic.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{BitString, Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use sha2::{Digest as _, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::Certificate;

use super::profile::enc;
use super::{algorithm, generalized, parse_cert, random_serial, Error, Pki, Role};
use crate::audit::{Context, Event};
use crate::formats::asn1::etsi::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
use crate::formats::asn1::oid;
use crate::formats::asn1::tsp::{
    failure, Accuracy, MessageImprint, PkiStatusInfo, TimeStampReq, TimeStampResp, TstInfo,
};
use crate::hsm::ServiceKey;

impl Pki {
    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp`. Never fails: bad requests get
    /// `rejection` with a failure bit; internal failures `systemFailure` (and are logged).
    pub async fn timestamp(&self, request: &[u8], ctx: &Context, now: i64) -> Vec<u8> {
        let Ok(req) = TimeStampReq::from_der(request) else {
            return rejection(
                failure::BAD_DATA_FORMAT,
                "request is not a DER TimeStampReq",
            );
        };
        if req.version != 1 {
            return rejection(failure::BAD_REQUEST, "unsupported version");
        }
        let expected = match req.message_imprint.hash_algorithm.oid {
            o if o == oid::SHA256 => 32,
            o if o == oid::SHA384 => 48,
            o if o == oid::SHA512 => 64,
            _ => {
                return rejection(
                    failure::BAD_ALG,
                    "hash algorithm must be SHA-256, SHA-384 or SHA-512",
                )
            }
        };
        if req.message_imprint.hashed_message.as_bytes().len() != expected {
            return rejection(
                failure::BAD_DATA_FORMAT,
                "hash length does not match its algorithm",
            );
        }
        if req
            .req_policy
            .is_some_and(|p| p != self.settings.tsa_policy_oid)
        {
            return rejection(failure::UNACCEPTED_POLICY, "unknown TSA policy");
        }
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return rejection(
                failure::UNACCEPTED_EXTENSION,
                "extensions are not supported",
            );
        }
        match self.token(&req, ctx, now).await {
            Ok(token) => TimeStampResp {
                status: PkiStatusInfo {
                    status: 0,
                    status_string: None,
                    fail_info: None,
                },
                time_stamp_token: Some(token),
            }
            .to_der()
            .unwrap_or_else(|_| fallback(failure::SYSTEM_FAILURE)),
            Err(e) => {
                tracing::error!(error = %e, "timestamp failed");
                rejection(failure::SYSTEM_FAILURE, "the TSA failed; try again")
            }
        }
    }

    async fn token(&self, req: &TimeStampReq, ctx: &Context, now: i64) -> Result<Any, Error> {
        let tsa = parse_cert(&self.service_row(Role::Tsa).await?.der)?;
        let serial = Int::new(&random_serial()?).map_err(enc)?;
        let info = TstInfo {
            version: 1,
            policy: self.settings.tsa_policy_oid,
            message_imprint: req.message_imprint.clone(),
            serial_number: serial.clone(),
            gen_time: crate::formats::asn1::tsp::GenTime::whole(generalized(now)?),
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let content = info.to_der().map_err(enc)?;
        let signer_info = self.signer_info(&tsa, &content).await?;
        let certificates = if req.cert_req {
            // The TSA's certificate and its issuing CA's: a verifier that trusts the root
            // builds the path from the token alone.
            let issuing = self.service_cert(Role::Issuing).await?;
            let mut set = SetOfVec::new();
            set.insert(CertificateChoices::Certificate(tsa))
                .map_err(enc)?;
            set.insert(CertificateChoices::Certificate(issuing))
                .map_err(enc)?;
            Some(cms::signed_data::CertificateSet(set))
        } else {
            None
        };
        let mut digests = SetOfVec::new();
        digests.insert(sha256_id()).map_err(enc)?;
        let mut signers = SetOfVec::new();
        signers.insert(signer_info).map_err(enc)?;
        let signed = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: digests,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oid::TST_INFO,
                econtent: Some(
                    Any::encode_from(&OctetString::new(content).map_err(enc)?).map_err(enc)?,
                ),
            },
            certificates,
            crls: None,
            signer_infos: cms::signed_data::SignerInfos(signers),
        };
        let info = ContentInfo {
            content_type: oid::SIGNED_DATA,
            content: Any::encode_from(&signed).map_err(enc)?,
        };
        let token = Any::encode_from(&info).map_err(enc)?;
        // The token leaves only after its record is durable.
        let serial = hex::encode(serial.as_bytes());
        let hash_algorithm = match req.message_imprint.hash_algorithm.oid {
            o if o == oid::SHA384 => "sha384",
            o if o == oid::SHA512 => "sha512",
            _ => "sha256",
        };
        let entry = ctx.entry(
            Some(serial.clone()),
            Event::TimestampIssued {
                serial,
                hash_algorithm: hash_algorithm.to_owned(),
                imprint: hex::encode(req.message_imprint.hashed_message.as_bytes()),
            },
        );
        self.audit.record(&entry, now.saturating_mul(1000)).await?;
        Ok(token)
    }

    async fn signer_info(&self, tsa: &Certificate, content: &[u8]) -> Result<SignerInfo, Error> {
        let tsa_der = tsa.to_der().map_err(enc)?;
        let issuer = tsa.tbs_certificate().issuer().clone();
        let serial = tsa.tbs_certificate().serial_number().clone();
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(Sha256::digest(&tsa_der).to_vec()).map_err(enc)?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(issuer.clone())],
                    serial_number: serial.clone(),
                }),
            }],
            policies: None,
        };
        let mut attrs = SetOfVec::new();
        attrs
            .insert(attribute(
                oid::CONTENT_TYPE,
                Any::encode_from(&oid::TST_INFO).map_err(enc)?,
            )?)
            .map_err(enc)?;
        attrs
            .insert(attribute(
                oid::MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(Sha256::digest(content).to_vec()).map_err(enc)?)
                    .map_err(enc)?,
            )?)
            .map_err(enc)?;
        attrs
            .insert(attribute(
                oid::SIGNING_CERTIFICATE_V2,
                Any::encode_from(&ess).map_err(enc)?,
            )?)
            .map_err(enc)?;
        // The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4).
        let signature = self
            .sign_der(ServiceKey::Tsa, &attrs.to_der().map_err(enc)?)
            .await?;
        Ok(SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer,
                serial_number: serial,
            }),
            digest_alg: sha256_id(),
            signed_attrs: Some(attrs),
            signature_algorithm: algorithm(ServiceKey::Tsa),
            signature: OctetString::new(signature).map_err(enc)?,
            unsigned_attrs: None,
        })
    }
}

/// A single-valued CMS attribute.
pub(crate) fn attribute(oid: der::asn1::ObjectIdentifier, value: Any) -> Result<Attribute, Error> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(enc)?;
    Ok(Attribute { oid, values })
}

fn sha256_id() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256,
        parameters: None,
    }
}

fn rejection(bit: usize, text: &'static str) -> Vec<u8> {
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status: 2,
            status_string: Some(vec![text.to_owned()]),
            fail_info: fail_bits(bit),
        },
        time_stamp_token: None,
    };
    resp.to_der().unwrap_or_else(|_| fallback(bit))
}

/// PKIFailureInfo as a named BIT STRING with `bit` set (DER: no trailing zero bits).
fn fail_bits(bit: usize) -> Option<BitString> {
    let mut bytes = vec![0u8; bit / 8 + 1];
    let byte = bytes.get_mut(bit / 8)?;
    *byte = 0x80 >> (bit % 8);
    let unused = u8::try_from(7 - bit % 8).ok()?;
    BitString::new(unused, bytes).ok()
}

/// `SEQUENCE { SEQUENCE { INTEGER 2 } }`: a bare rejection, should encoding ever fail.
fn fallback(_bit: usize) -> Vec<u8> {
    vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]
}

/// Hash algorithms a timestamp can be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImprintHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// Where timestamps come from: the embedded TSA or an external one by URL.
#[derive(Debug, Clone)]
pub enum Source {
    /// This service's own TSA, called in-process.
    Embedded(Pki),
    /// An RFC 3161 TSA over HTTP.
    External {
        /// The TSA URL.
        url: String,
        /// The HTTP client (with timeouts).
        client: reqwest::Client,
    },
}

/// Client errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TSA could not be reached or answered with an HTTP error.
    #[error("TSA unreachable: {0}")]
    Unreachable(String),
    /// The TSA refused.
    #[error("TSA refused the request (status {0})")]
    Refused(u8),
    /// The answer does not match the request.
    #[error("TSA answer is invalid: {0}")]
    Invalid(&'static str),
}

impl Source {
    /// An external TSA with a 10-second timeout.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn external(url: &str) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        Ok(Self::External {
            url: url.to_owned(),
            client,
        })
    }

    /// A timestamp token (DER ContentInfo) over `digest`, checked against the request: status
    /// granted, same imprint, same nonce.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn token(
        &self,
        hash: ImprintHash,
        digest: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, ClientError> {
        let algorithm = match hash {
            ImprintHash::Sha256 => oid::SHA256,
            ImprintHash::Sha384 => oid::SHA384,
            ImprintHash::Sha512 => oid::SHA512,
        };
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|_| ClientError::Invalid("no randomness"))?;
        // Positive and without a leading zero octet, so that its DER form is these 8 bytes and
        // the answer can be compared byte for byte.
        nonce[0] = (nonce[0] & 0x7f) | 0x01;
        let imprint = MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: algorithm,
                parameters: None,
            },
            hashed_message: OctetString::new(digest.to_vec())
                .map_err(|_| ClientError::Invalid("digest"))?,
        };
        let request = TimeStampReq {
            version: 1,
            message_imprint: imprint.clone(),
            req_policy: None,
            nonce: Some(Int::new(&nonce).map_err(|_| ClientError::Invalid("nonce"))?),
            cert_req: true,
            extensions: None,
        };
        let request_der = request
            .to_der()
            .map_err(|_| ClientError::Invalid("request encoding"))?;
        let reply = match self {
            Self::Embedded(pki) => pki.timestamp(&request_der, &Context::system(), now).await,
            Self::External { url, client } => {
                let response = client
                    .post(url)
                    .header("content-type", "application/timestamp-query")
                    .body(request_der)
                    .send()
                    .await
                    .map_err(|e| ClientError::Unreachable(e.to_string()))?;
                if !response.status().is_success() {
                    return Err(ClientError::Unreachable(format!(
                        "HTTP {}",
                        response.status()
                    )));
                }
                response
                    .bytes()
                    .await
                    .map_err(|e| ClientError::Unreachable(e.to_string()))?
                    .to_vec()
            }
        };
        let resp = TimeStampResp::from_der(&reply)
            .map_err(|_| ClientError::Invalid("not a TimeStampResp"))?;
        if resp.status.status > 1 {
            return Err(ClientError::Refused(resp.status.status));
        }
        let token = resp
            .time_stamp_token
            .ok_or(ClientError::Invalid("granted without a token"))?;
        let info = token_info(&token.to_der().map_err(|_| ClientError::Invalid("token"))?)?;
        if info.message_imprint != imprint {
            return Err(ClientError::Invalid("token is for another hash"));
        }
        if info.nonce != request.nonce {
            return Err(ClientError::Invalid("nonce not echoed"));
        }
        token.to_der().map_err(|_| ClientError::Invalid("token"))
    }
}

/// The TSTInfo inside a timestamp token (without checking its signature).
///
/// # Errors
/// [`ClientError::Invalid`] when the token is not a SignedData over a TSTInfo.
pub fn token_info(token: &[u8]) -> Result<TstInfo, ClientError> {
    let info =
        ContentInfo::from_der(token).map_err(|_| ClientError::Invalid("not a ContentInfo"))?;
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|_| ClientError::Invalid("not SignedData"))?;
    if signed.encap_content_info.econtent_type != oid::TST_INFO {
        return Err(ClientError::Invalid("not a TSTInfo"));
    }
    let content = signed
        .encap_content_info
        .econtent
        .ok_or(ClientError::Invalid("no content"))?;
    let octets: OctetString = content
        .decode_as()
        .map_err(|_| ClientError::Invalid("content"))?;
    TstInfo::from_der(octets.as_bytes()).map_err(|_| ClientError::Invalid("TSTInfo"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_bits_are_named_bit_strings() {
        let b = fail_bits(failure::BAD_ALG).unwrap();
        assert_eq!(b.raw_bytes(), [0x80]);
        assert_eq!(b.unused_bits(), 7);
        let b = fail_bits(failure::BAD_DATA_FORMAT).unwrap();
        assert_eq!(b.raw_bytes(), [0x04]);
        let b = fail_bits(failure::SYSTEM_FAILURE).unwrap();
        assert_eq!(b.raw_bytes(), [0, 0, 0, 0x40]);
    }

    #[test]
    fn rejections_decode() {
        let r = TimeStampResp::from_der(&rejection(failure::BAD_REQUEST, "x")).unwrap();
        assert_eq!(r.status.status, 2);
        assert!(r.time_stamp_token.is_none());
        let r = TimeStampResp::from_der(&fallback(0)).unwrap();
        assert_eq!(r.status.status, 2);
    }
}
