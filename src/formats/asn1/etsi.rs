//! ETSI and ESS structures for certificates and signed attributes.

use der::asn1::{Ia5String, ObjectIdentifier, OctetString, PrintableString};
use der::{Any, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;

/// RFC 3739 §3.2.6:
///
/// ```text
/// QCStatements ::= SEQUENCE OF QCStatement
/// QCStatement ::= SEQUENCE {
///     statementId        QC-STATEMENT.&Id({SupportedStatements}),
///     statementInfo      QC-STATEMENT.&Type({SupportedStatements}{@statementId}) OPTIONAL }
/// ```
pub type QcStatements = Vec<QcStatement>;

/// One statement of [`QcStatements`].
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct QcStatement {
    /// What is stated (ETSI EN 319 412-5 §4).
    pub statement_id: ObjectIdentifier,
    /// The statement's parameters, if it has any.
    pub statement_info: Option<Any>,
}

/// ETSI EN 319 412-5 §4.3.4:
///
/// ```text
/// PdsLocation ::= SEQUENCE {
///     url IA5String,
///     language PrintableString (SIZE(2)) } -- ISO 639-1 language code
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PdsLocation {
    /// Where the PKI disclosure statement is.
    pub url: Ia5String,
    /// Its language.
    pub language: PrintableString,
}

/// RFC 5035 §3:
///
/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first.
    pub certs: Vec<EssCertIdV2>,
    /// Not used by qsign; kept so that others' attributes decode.
    pub policies: Option<Any>,
}

impl AtsHashIndexV3 {
    /// Reads an ATSHashIndexV3 (DER). The derived decoder cannot tell a left-out
    /// `hashIndAlgorithm` from `certificatesHashIndex` (both are SEQUENCEs), so the elements
    /// are counted: four with the algorithm, three without.
    ///
    /// # Errors
    /// A value that is not such a SEQUENCE.
    pub fn parse(der_bytes: &[u8]) -> der::Result<Self> {
        use der::Decode as _;
        let elements: Vec<Any> = Vec::from_der(der_bytes)?;
        let (algorithm, rest) = match elements.as_slice() {
            [a, rest @ ..] if rest.len() == 3 => {
                (Some(a.decode_as::<AlgorithmIdentifierOwned>()?), rest)
            }
            rest => (None, rest),
        };
        let [certificates, crls, unsigned] = rest else {
            return Err(der::Tag::Sequence.value_error().into());
        };
        Ok(Self {
            hash_ind_algorithm: algorithm,
            certificates_hash_index: certificates.decode_as()?,
            crls_hash_index: crls.decode_as()?,
            unsigned_attr_values_hash_index: unsigned.decode_as()?,
        })
    }
}

/// RFC 5035 §4:
///
/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///     hashAlgorithm   AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash        Hash,
///     issuerSerial    IssuerSerial OPTIONAL }
/// ```
///
/// DER leaves out a DEFAULT value, so SHA-256 is encoded as an absent `hash_algorithm`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// `None` means SHA-256.
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of the whole certificate DER.
    pub cert_hash: OctetString,
    /// Issuer and serial of the certificate.
    pub issuer_serial: Option<IssuerSerial>,
}

/// ETSI EN 319 122-1 §5.5.2 (the attribute `id-aa-ATSHashIndexV3`, 0.4.0.19122.1.5):
///
/// ```text
/// ATSHashIndexV3 ::= SEQUENCE {
///     hashIndAlgorithm             AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certificatesHashIndex        SEQUENCE OF OCTET STRING,
///     crlsHashIndex                SEQUENCE OF OCTET STRING,
///     unsignedAttrValuesHashIndex  SEQUENCE OF OCTET STRING }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct AtsHashIndexV3 {
    /// `None` means SHA-256 (DER leaves out the DEFAULT).
    pub hash_ind_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of each CertificateChoices of `SignedData.certificates`.
    pub certificates_hash_index: Vec<OctetString>,
    /// Hash of each RevocationInfoChoice of `SignedData.crls`.
    pub crls_hash_index: Vec<OctetString>,
    /// Hash of each attribute type with one of its values, over the unsigned attributes.
    pub unsigned_attr_values_hash_index: Vec<OctetString>,
}

/// RFC 5035 §4:
///
/// ```text
/// IssuerSerial ::= SEQUENCE {
///     issuer         GeneralNames,
///     serialNumber   CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer's name as a directoryName.
    pub issuer: GeneralNames,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}
