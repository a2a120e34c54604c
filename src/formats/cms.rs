//! CAdES (ETSI EN 319 122-1) signatures as CMS SignedData, in the three steps of every format
//! here: [`prepare`] the signed attributes and the digest to be signed, have the signer sign
//! that digest (remotely, through the SAM), [`assemble`] the SignedData; then extend it:
//! [`add_signature_timestamp`] (B-T), [`add_validation_data`] (B-LT) and
//! [`archive_imprint`] with [`add_archive_timestamp`] (B-LTA, archive-time-stamp-v3 with
//! ATSHashIndexV3).
//!
//! Pure: bytes in, bytes out. The signed attributes are the baseline set: content-type,
//! message-digest, signing-time and ESS signing-certificate-v2, and signer-attributes-v2 when
//! the signature is made in a capacity; only SHA-256 is used for the content and the
//! attributes.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::revocation::{RevocationInfoChoice, RevocationInfoChoices};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode};
use sha2::{Digest as _, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;
use x509_cert::Certificate;

mod parallel;

pub use parallel::{merge_parallel, split_signers, MAX_PARALLEL};

use super::asn1::etsi::{AtsHashIndexV3, EssCertIdV2, IssuerSerial, SigningCertificateV2};
use super::asn1::{oid, signer_attributes};
use super::representation::Capacity;

/// What is wrong with an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A certificate, CRL, token or CMS structure that does not parse.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A value that cannot be encoded (a time outside UTCTime, for example).
    #[error("cannot encode: {0}")]
    Encoding(String),
    /// A capacity that cannot be signed (see [`Capacity::check`]).
    #[error("{0}")]
    Capacity(String),
}

fn enc(e: der::Error) -> Error {
    Error::Encoding(e.to_string())
}

/// The CAdES baseline levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Basic signature.
    BB,
    /// With a signature timestamp.
    BT,
    /// With the certificates and revocation data to validate it later.
    BLT,
    /// With an archive timestamp over all of it.
    BLTA,
}

/// The signature algorithm of the signer's key, as it goes in the SignerInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// ecdsa-with-SHA256 (DER signature value).
    EcdsaSha256,
    /// sha256WithRSAEncryption (PKCS#1 v1.5).
    RsaSha256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32.
    RsaPssSha256,
}

impl SignatureAlgorithm {
    fn identifier(self) -> Result<AlgorithmIdentifierOwned, Error> {
        Ok(match self {
            Self::EcdsaSha256 => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA256,
                parameters: None,
            },
            Self::RsaSha256 => AlgorithmIdentifierOwned {
                oid: oid::RSA_WITH_SHA256,
                parameters: Some(Any::null()),
            },
            Self::RsaPssSha256 => AlgorithmIdentifierOwned {
                oid: oid::RSA_PSS,
                // RSASSA-PSS-params { sha256, mgf1SHA256, saltLength 32 } (RFC 4055 §3.1).
                parameters: Some(Any::from_der(&PSS_SHA256_PARAMS).map_err(enc)?),
            },
        })
    }
}

/// DER of RSASSA-PSS-params with SHA-256, MGF1 with SHA-256 and a 32-byte salt.
const PSS_SHA256_PARAMS: [u8; 54] = [
    0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
    0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
];

/// The signed attributes and what the signer must sign.
#[derive(Debug, Clone)]
pub struct Prepared {
    attrs: SetOfVec<Attribute>,
    signer: Certificate,
    /// SHA-256 over the DER of the signed attributes: the digest to sign.
    pub to_be_signed: [u8; 32],
}

/// A single-valued attribute.
///
/// # Errors
/// Encoding failures.
pub fn attribute(oid: der::asn1::ObjectIdentifier, value: Any) -> Result<Attribute, Error> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(enc)?;
    Ok(Attribute { oid, values })
}

/// ESS signing-certificate-v2 naming `cert` by its SHA-256 and issuer and serial.
///
/// # Errors
/// Encoding failures.
pub fn signing_certificate_v2(cert: &Certificate) -> Result<Attribute, Error> {
    let der = cert.to_der().map_err(enc)?;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(Sha256::digest(&der).to_vec()).map_err(enc)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate().issuer().clone(),
                )],
                serial_number: cert.tbs_certificate().serial_number().clone(),
            }),
        }],
        policies: None,
    };
    attribute(
        oid::SIGNING_CERTIFICATE_V2,
        Any::encode_from(&ess).map_err(enc)?,
    )
}

/// Step 1: the signed attributes over content whose SHA-256 is `content_digest`, for the
/// signer's certificate, with a signing-time attribute at `signing_time` (Unix seconds) when
/// given (PAdES leaves it out: the time is the signature dictionary's `/M`), and with
/// signer-attributes-v2 claiming `capacity` when given (see [`signer_attributes`]).
///
/// # Errors
/// [`Error::Malformed`] for a certificate that does not parse; [`Error::Capacity`] for a
/// capacity that may not be signed; encoding failures.
pub fn prepare(
    content_digest: &[u8; 32],
    signer_certificate: &[u8],
    signing_time: Option<i64>,
    capacity: Option<&Capacity>,
) -> Result<Prepared, Error> {
    let signer =
        Certificate::from_der(signer_certificate).map_err(|_| Error::Malformed("certificate"))?;
    let mut attrs = SetOfVec::new();
    if let Some(signing_time) = signing_time {
        let seconds = u64::try_from(signing_time).map_err(|_| Error::Encoding("time".into()))?;
        let time =
            UtcTime::from_unix_duration(std::time::Duration::from_secs(seconds)).map_err(enc)?;
        attrs
            .insert(attribute(
                oid::SIGNING_TIME,
                Any::encode_from(&Time::UtcTime(time)).map_err(enc)?,
            )?)
            .map_err(enc)?;
    }
    if let Some(capacity) = capacity {
        let claimed = signer_attributes::attribute(capacity).map_err(|e| match e {
            signer_attributes::Error::Encoding(e) => Error::Encoding(e),
            other => Error::Capacity(other.to_string()),
        })?;
        attrs.insert(claimed).map_err(enc)?;
    }
    for a in [
        attribute(
            oid::CONTENT_TYPE,
            Any::encode_from(&oid::ID_DATA).map_err(enc)?,
        )?,
        attribute(
            oid::MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(content_digest.to_vec()).map_err(enc)?)
                .map_err(enc)?,
        )?,
        signing_certificate_v2(&signer)?,
    ] {
        attrs.insert(a).map_err(enc)?;
    }
    // The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4).
    let to_be_signed = Sha256::digest(attrs.to_der().map_err(enc)?).into();
    Ok(Prepared {
        attrs,
        signer,
        to_be_signed,
    })
}

/// Step 3: the SignedData (as a ContentInfo, DER) with the signature over
/// [`Prepared::to_be_signed`]; `content` attached when given, detached otherwise; `chain` are
/// the CA certificates to include beside the signer's.
///
/// # Errors
/// [`Error::Malformed`] for a chain certificate that does not parse; encoding failures.
pub fn assemble(
    prepared: &Prepared,
    content: Option<&[u8]>,
    chain: &[Vec<u8>],
    algorithm: SignatureAlgorithm,
    signature: &[u8],
) -> Result<Vec<u8>, Error> {
    let tbs = prepared.signer.tbs_certificate();
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: sha256_id(),
        signed_attrs: Some(prepared.attrs.clone()),
        signature_algorithm: algorithm.identifier()?,
        signature: OctetString::new(signature.to_vec()).map_err(enc)?,
        unsigned_attrs: None,
    };
    let mut certificates = SetOfVec::new();
    certificates
        .insert(CertificateChoices::Certificate(prepared.signer.clone()))
        .map_err(enc)?;
    for der in chain {
        let cert = Certificate::from_der(der).map_err(|_| Error::Malformed("certificate"))?;
        certificates
            .insert(CertificateChoices::Certificate(cert))
            .map_err(enc)?;
    }
    let mut digests = SetOfVec::new();
    digests.insert(sha256_id()).map_err(enc)?;
    let mut signers = SetOfVec::new();
    signers.insert(signer_info).map_err(enc)?;
    let econtent = content
        .map(|c| Any::encode_from(&OctetString::new(c.to_vec()).map_err(enc)?).map_err(enc))
        .transpose()?;
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: digests,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid::ID_DATA,
            econtent,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(signers),
    };
    wrap(&signed)
}

fn wrap(signed: &SignedData) -> Result<Vec<u8>, Error> {
    ContentInfo {
        content_type: oid::SIGNED_DATA,
        content: Any::encode_from(signed).map_err(enc)?,
    }
    .to_der()
    .map_err(enc)
}

fn sha256_id() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256,
        parameters: None,
    }
}

/// The SignedData of a CAdES signature.
///
/// # Errors
/// [`Error::Malformed`].
fn signed_data(cms: &[u8]) -> Result<SignedData, Error> {
    let info = ContentInfo::from_der(cms).map_err(|_| Error::Malformed("CMS ContentInfo"))?;
    if info.content_type != oid::SIGNED_DATA {
        return Err(Error::Malformed("CMS: not SignedData"));
    }
    info.content
        .decode_as::<SignedData>()
        .map_err(|_| Error::Malformed("CMS SignedData"))
}

fn only_signer(signed: &mut SignedData) -> Result<SignerInfo, Error> {
    let mut infos = signed.signer_infos.0.clone().into_vec();
    if infos.len() != 1 {
        return Err(Error::Malformed("CMS: not exactly one signer"));
    }
    infos.pop().ok_or(Error::Malformed("CMS: no signer"))
}

/// The signer's certificate (DER), found among the SignedData's certificates by the signer
/// identifier.
///
/// # Errors
/// [`Error::Malformed`], also when the certificate is not included.
pub fn signer_certificate(cms: &[u8]) -> Result<Vec<u8>, Error> {
    let mut signed = signed_data(cms)?;
    let signer = only_signer(&mut signed)?;
    let SignerIdentifier::IssuerAndSerialNumber(id) = &signer.sid else {
        return Err(Error::Malformed("CMS: signer named by key identifier"));
    };
    signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .find_map(|choice| match choice {
            CertificateChoices::Certificate(c)
                if c.tbs_certificate().issuer() == &id.issuer
                    && c.tbs_certificate().serial_number() == &id.serial_number =>
            {
                c.to_der().ok()
            }
            _ => None,
        })
        .ok_or(Error::Malformed(
            "CMS: the signer's certificate is not included",
        ))
}

/// The signature value, which the signature timestamp covers (SHA-256 of it is the imprint).
///
/// # Errors
/// [`Error::Malformed`].
pub fn signature_value(cms: &[u8]) -> Result<Vec<u8>, Error> {
    let mut signed = signed_data(cms)?;
    Ok(only_signer(&mut signed)?.signature.as_bytes().to_vec())
}

/// B-T: adds the signature-time-stamp unsigned attribute with an RFC 3161 token (DER
/// ContentInfo) over SHA-256 of the signature value.
///
/// # Errors
/// [`Error::Malformed`] for a CMS or token that does not parse.
pub fn add_signature_timestamp(cms: &[u8], token: &[u8]) -> Result<Vec<u8>, Error> {
    let token = Any::from_der(token).map_err(|_| Error::Malformed("timestamp token"))?;
    let signed = with_unsigned(
        signed_data(cms)?,
        attribute(oid::SIGNATURE_TIME_STAMP, token)?,
    )?;
    wrap(&signed)
}

/// The SignedData with one more unsigned attribute on its one signer.
fn with_unsigned(mut signed: SignedData, attr: Attribute) -> Result<SignedData, Error> {
    let mut signer = only_signer(&mut signed)?;
    let mut unsigned = signer.unsigned_attrs.take().unwrap_or_default();
    unsigned.insert(attr).map_err(enc)?;
    signer.unsigned_attrs = Some(unsigned);
    let mut signers = SetOfVec::new();
    signers.insert(signer).map_err(enc)?;
    signed.signer_infos = SignerInfos(signers);
    Ok(signed)
}

/// B-LT: adds certificates (the TSA's and every CA's) and CRLs to the SignedData, so the
/// signature can be validated after the certificates expire. Duplicates are skipped.
///
/// # Errors
/// [`Error::Malformed`] for a certificate or CRL that does not parse.
pub fn add_validation_data(
    cms: &[u8],
    certificates: &[Vec<u8>],
    crls: &[Vec<u8>],
) -> Result<Vec<u8>, Error> {
    let mut signed = signed_data(cms)?;
    let mut set = signed.certificates.take().map(|c| c.0).unwrap_or_default();
    for der in certificates {
        let cert = Certificate::from_der(der).map_err(|_| Error::Malformed("certificate"))?;
        insert_new(&mut set, CertificateChoices::Certificate(cert))?;
    }
    signed.certificates = Some(CertificateSet(set));
    let mut revocations = signed.crls.take().map(|c| c.0).unwrap_or_default();
    for der in crls {
        let crl = CertificateList::from_der(der).map_err(|_| Error::Malformed("CRL"))?;
        insert_new(&mut revocations, RevocationInfoChoice::Crl(crl))?;
    }
    signed.crls = Some(RevocationInfoChoices(revocations));
    wrap(&signed)
}

/// Adds `item` to `set` unless an equal one is there already.
fn insert_new<T: der::DerOrd + PartialEq>(set: &mut SetOfVec<T>, item: T) -> Result<(), Error> {
    if !set.iter().any(|present| *present == item) {
        set.insert(item).map_err(enc)?;
    }
    Ok(())
}

/// The level a CAdES signature has reached, read from its structure.
///
/// # Errors
/// [`Error::Malformed`].
pub fn level(cms: &[u8]) -> Result<Level, Error> {
    let mut signed = signed_data(cms)?;
    let signer = only_signer(&mut signed)?;
    let timestamped = signer
        .unsigned_attrs
        .as_ref()
        .is_some_and(|u| u.iter().any(|a| a.oid == oid::SIGNATURE_TIME_STAMP));
    let archived = signer
        .unsigned_attrs
        .as_ref()
        .is_some_and(|u| u.iter().any(|a| a.oid == oid::ARCHIVE_TIME_STAMP_V3));
    let revocation = signed.crls.as_ref().is_some_and(|c| !c.0.is_empty());
    Ok(match (timestamped, revocation, archived) {
        (true, true, true) => Level::BLTA,
        (true, true, false) => Level::BLT,
        (true, false, _) => Level::BT,
        _ => Level::BB,
    })
}

/// What an archive timestamp covers: the ATSHashIndexV3 (DER) to put in the token, and the
/// SHA-256 message imprint to ask the TSA for (EN 319 122-1 §5.5.3): the eContentType, the
/// content's hash, the signer info's fields up to the signature, and the hash index.
/// `content_digest` is the SHA-256 of a detached content; an attached one is hashed here.
///
/// # Errors
/// [`Error::Malformed`], also for a detached signature without `content_digest`.
pub fn archive_imprint(
    cms: &[u8],
    content_digest: Option<&[u8; 32]>,
) -> Result<(Vec<u8>, [u8; 32]), Error> {
    let mut signed = signed_data(cms)?;
    let signer = only_signer(&mut signed)?;
    let hash = |bytes: &[u8]| OctetString::new(Sha256::digest(bytes).to_vec()).map_err(enc);
    let mut certificates_hash_index = Vec::new();
    for c in signed.certificates.iter().flat_map(|c| c.0.iter()) {
        certificates_hash_index.push(hash(&c.to_der().map_err(enc)?)?);
    }
    let mut crls_hash_index = Vec::new();
    for c in signed.crls.iter().flat_map(|c| c.0.iter()) {
        crls_hash_index.push(hash(&c.to_der().map_err(enc)?)?);
    }
    let mut unsigned_attr_values_hash_index = Vec::new();
    for a in signer.unsigned_attrs.iter().flat_map(|u| u.iter()) {
        let kind = a.oid.to_der().map_err(enc)?;
        for value in a.values.iter() {
            let mut input = kind.clone();
            input.extend(value.to_der().map_err(enc)?);
            unsigned_attr_values_hash_index.push(hash(&input)?);
        }
    }
    let index = AtsHashIndexV3 {
        hash_ind_algorithm: None,
        certificates_hash_index,
        crls_hash_index,
        unsigned_attr_values_hash_index,
    }
    .to_der()
    .map_err(enc)?;
    let imprint = archive_imprint_with(cms, content_digest, &index)?;
    Ok((index, imprint))
}

/// The SHA-256 message imprint of an archive timestamp whose ATSHashIndexV3 is `index` (DER):
/// what [`archive_imprint`] computes with the index it makes, and what a validator computes
/// with the index an existing archive timestamp carries.
///
/// # Errors
/// As [`archive_imprint`].
pub fn archive_imprint_with(
    cms: &[u8],
    content_digest: Option<&[u8; 32]>,
    index: &[u8],
) -> Result<[u8; 32], Error> {
    let mut signed = signed_data(cms)?;
    let signer = only_signer(&mut signed)?;
    let content_hash: [u8; 32] = match (&signed.encap_content_info.econtent, content_digest) {
        (Some(content), _) => {
            let octets = content
                .decode_as::<OctetString>()
                .map_err(|_| Error::Malformed("CMS eContent"))?;
            Sha256::digest(octets.as_bytes()).into()
        }
        (None, Some(d)) => *d,
        (None, None) => return Err(Error::Malformed("detached CMS without its content digest")),
    };
    let signed_attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or(Error::Malformed("CMS: no signed attributes"))?;
    let mut attrs_der = signed_attrs.to_der().map_err(enc)?;
    // As it stands in the SignerInfo: [0] IMPLICIT, constructed.
    if let Some(tag) = attrs_der.first_mut() {
        *tag = 0xa0;
    }
    let mut h = Sha256::new();
    h.update(
        signed
            .encap_content_info
            .econtent_type
            .to_der()
            .map_err(enc)?,
    );
    h.update(content_hash);
    h.update(signer.version.to_der().map_err(enc)?);
    h.update(signer.sid.to_der().map_err(enc)?);
    h.update(signer.digest_alg.to_der().map_err(enc)?);
    h.update(&attrs_der);
    h.update(signer.signature_algorithm.to_der().map_err(enc)?);
    h.update(signer.signature.to_der().map_err(enc)?);
    h.update(index);
    Ok(h.finalize().into())
}

/// B-LTA: adds an archive-time-stamp-v3 attribute with `token` (over the imprint of
/// [`archive_imprint`]), after putting `ats_hash_index` into the token's own unsigned
/// attributes (which its TSA signature does not cover, as the standard intends).
///
/// # Errors
/// [`Error::Malformed`] for a CMS, token or index that does not parse.
pub fn add_archive_timestamp(
    cms: &[u8],
    token: &[u8],
    ats_hash_index: &[u8],
) -> Result<Vec<u8>, Error> {
    let token_data = signed_data(token).map_err(|_| Error::Malformed("timestamp token"))?;
    let index = Any::from_der(ats_hash_index).map_err(|_| Error::Malformed("ATSHashIndexV3"))?;
    let token_data = with_unsigned(token_data, attribute(oid::ATS_HASH_INDEX_V3, index)?)?;
    let token = Any::from_der(&wrap(&token_data)?).map_err(enc)?;
    let signed = with_unsigned(
        signed_data(cms)?,
        attribute(oid::ARCHIVE_TIME_STAMP_V3, token)?,
    )?;
    wrap(&signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pss_parameters_are_well_formed_der() {
        let any = Any::from_der(&PSS_SHA256_PARAMS).unwrap();
        assert_eq!(any.to_der().unwrap(), PSS_SHA256_PARAMS);
    }

    #[test]
    fn garbage_is_malformed_never_a_panic() {
        for input in [&b""[..], b"\x30", b"\x30\x03\x02\x01\x05", &[0xff; 64]] {
            assert!(matches!(signature_value(input), Err(Error::Malformed(_))));
            assert!(matches!(level(input), Err(Error::Malformed(_))));
            assert!(add_signature_timestamp(input, input).is_err());
        }
        assert!(matches!(
            prepare(&[0; 32], b"not a certificate", Some(0), None),
            Err(Error::Malformed("certificate"))
        ));
    }
}
