//! ASN.1 types missing from the RustCrypto crates in use, modelled with `der` derives. Each type
//! quotes its definition and names its clause; decoding is strict DER and rejects trailing data.

pub mod auth_context;
pub mod etsi;
pub mod ocsp;
pub mod signer_attributes;
pub mod tsp;

use der::asn1::ObjectIdentifier;

/// Object identifiers used across the formats and the PKI.
pub mod oid {
    use super::ObjectIdentifier;

    const fn o(s: &str) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(s)
    }

    /// id-sha1 (RFC 3279 §2.2.1).
    pub const SHA1: ObjectIdentifier = o("1.3.14.3.2.26");
    /// id-sha256 (RFC 5754 §2.2).
    pub const SHA256: ObjectIdentifier = o("2.16.840.1.101.3.4.2.1");
    /// id-sha384.
    pub const SHA384: ObjectIdentifier = o("2.16.840.1.101.3.4.2.2");
    /// id-sha512.
    pub const SHA512: ObjectIdentifier = o("2.16.840.1.101.3.4.2.3");
    /// ecdsa-with-SHA256 (RFC 5758 §3.2).
    pub const ECDSA_WITH_SHA256: ObjectIdentifier = o("1.2.840.10045.4.3.2");
    /// ecdsa-with-SHA384.
    pub const ECDSA_WITH_SHA384: ObjectIdentifier = o("1.2.840.10045.4.3.3");

    /// id-pe-qcStatements (RFC 3739 §3.2.6).
    pub const QC_STATEMENTS: ObjectIdentifier = o("1.3.6.1.5.5.7.1.3");
    /// id-etsi-qcs-QcCompliance (ETSI EN 319 412-5 §4.2.1).
    pub const QC_COMPLIANCE: ObjectIdentifier = o("0.4.0.1862.1.1");
    /// id-etsi-qcs-QcSSCD (EN 319 412-5 §4.2.2).
    pub const QC_SSCD: ObjectIdentifier = o("0.4.0.1862.1.4");
    /// id-etsi-qcs-QcPDS (EN 319 412-5 §4.3.4).
    pub const QC_PDS: ObjectIdentifier = o("0.4.0.1862.1.5");
    /// id-etsi-qcs-QcType (EN 319 412-5 §4.2.3).
    pub const QC_TYPE: ObjectIdentifier = o("0.4.0.1862.1.6");
    /// id-etsi-qct-esign.
    pub const QC_TYPE_ESIGN: ObjectIdentifier = o("0.4.0.1862.1.6.1");
    /// id-etsi-qct-eseal.
    pub const QC_TYPE_ESEAL: ObjectIdentifier = o("0.4.0.1862.1.6.2");
    /// QCP-n-qscd: qualified certificate policy, natural person, key in a QSCD
    /// (ETSI EN 319 411-2 §5.3).
    pub const QCP_N_QSCD: ObjectIdentifier = o("0.4.0.194112.1.2");
    /// QCP-l-qscd: legal person, key in a QSCD.
    pub const QCP_L_QSCD: ObjectIdentifier = o("0.4.0.194112.1.3");
    /// NCP+: normalized certificate policy requiring a secure device (ETSI EN 319 411-1).
    pub const NCP_PLUS: ObjectIdentifier = o("0.4.0.2042.1.2");

    /// commonName (X.520).
    pub const COMMON_NAME: ObjectIdentifier = o("2.5.4.3");
    /// surname (X.520).
    pub const SURNAME: ObjectIdentifier = o("2.5.4.4");
    /// serialNumber (X.520).
    pub const SERIAL_NUMBER: ObjectIdentifier = o("2.5.4.5");
    /// countryName (X.520).
    pub const COUNTRY_NAME: ObjectIdentifier = o("2.5.4.6");
    /// organizationName (X.520).
    pub const ORGANIZATION_NAME: ObjectIdentifier = o("2.5.4.10");
    /// title (X.520).
    pub const TITLE: ObjectIdentifier = o("2.5.4.12");
    /// description (X.520).
    pub const DESCRIPTION: ObjectIdentifier = o("2.5.4.13");
    /// role (X.509 / RFC 5755 §4.4.5), whose values are `RoleSyntax`.
    pub const ROLE: ObjectIdentifier = o("2.5.4.72");
    /// givenName (X.520).
    pub const GIVEN_NAME: ObjectIdentifier = o("2.5.4.42");
    /// pseudonym (X.520; EN 319 412-2 §4.2.4 lets it stand for the given and family names).
    pub const PSEUDONYM: ObjectIdentifier = o("2.5.4.65");
    /// anyPolicy (RFC 5280 §4.2.1.4).
    pub const ANY_POLICY: ObjectIdentifier = o("2.5.29.32.0");
    /// organizationIdentifier (X.520, used by EN 319 412-1 §5.1.4).
    pub const ORGANIZATION_IDENTIFIER: ObjectIdentifier = o("2.5.4.97");

    /// id-kp-timeStamping (RFC 5280 §4.2.1.12).
    pub const KP_TIME_STAMPING: ObjectIdentifier = o("1.3.6.1.5.5.7.3.8");
    /// id-kp-OCSPSigning.
    pub const KP_OCSP_SIGNING: ObjectIdentifier = o("1.3.6.1.5.5.7.3.9");
    /// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
    pub const OCSP_NOCHECK: ObjectIdentifier = o("1.3.6.1.5.5.7.48.1.5");
    /// id-pkix-ocsp-basic (RFC 6960 §4.2.1).
    pub const OCSP_BASIC: ObjectIdentifier = o("1.3.6.1.5.5.7.48.1.1");
    /// id-pkix-ocsp-nonce (RFC 8954).
    pub const OCSP_NONCE: ObjectIdentifier = o("1.3.6.1.5.5.7.48.1.2");
    /// id-ad-ocsp (RFC 5280 §4.2.2.1).
    pub const AD_OCSP: ObjectIdentifier = o("1.3.6.1.5.5.7.48.1");
    /// id-ad-caIssuers.
    pub const AD_CA_ISSUERS: ObjectIdentifier = o("1.3.6.1.5.5.7.48.2");

    /// id-signedData (RFC 5652 §5.1).
    pub const SIGNED_DATA: ObjectIdentifier = o("1.2.840.113549.1.7.2");
    /// id-ct-TSTInfo (RFC 3161 §2.4.2).
    pub const TST_INFO: ObjectIdentifier = o("1.2.840.113549.1.9.16.1.4");
    /// id-contentType (RFC 5652 §11.1).
    pub const CONTENT_TYPE: ObjectIdentifier = o("1.2.840.113549.1.9.3");
    /// id-messageDigest (RFC 5652 §11.2).
    pub const MESSAGE_DIGEST: ObjectIdentifier = o("1.2.840.113549.1.9.4");
    /// id-signingTime (RFC 5652 §11.3).
    pub const SIGNING_TIME: ObjectIdentifier = o("1.2.840.113549.1.9.5");
    /// id-aa-signingCertificateV2 (RFC 5035 §3).
    pub const SIGNING_CERTIFICATE_V2: ObjectIdentifier = o("1.2.840.113549.1.9.16.2.47");
    /// id-aa-ets-archiveTimestampV3 (ETSI EN 319 122-1 §5.5.3).
    pub const ARCHIVE_TIME_STAMP_V3: ObjectIdentifier = o("0.4.0.1733.2.4");
    /// id-aa-ets-signerAttrV2, signer-attributes-v2 (ETSI EN 319 122-1 §5.2.6.1).
    pub const SIGNER_ATTRIBUTES_V2: ObjectIdentifier = o("0.4.0.19122.1.1");
    /// id-aa-ATSHashIndexV3 (ETSI EN 319 122-1 §5.5.2).
    pub const ATS_HASH_INDEX_V3: ObjectIdentifier = o("0.4.0.19122.1.5");
    /// id-data (RFC 5652 §4).
    pub const ID_DATA: ObjectIdentifier = o("1.2.840.113549.1.7.1");
    /// id-aa-signatureTimeStampToken (RFC 3161 appendix A).
    pub const SIGNATURE_TIME_STAMP: ObjectIdentifier = o("1.2.840.113549.1.9.16.2.14");
    /// sha256WithRSAEncryption (RFC 4055).
    pub const RSA_WITH_SHA256: ObjectIdentifier = o("1.2.840.113549.1.1.11");
    /// RSASSA-PSS (RFC 4055).
    pub const RSA_PSS: ObjectIdentifier = o("1.2.840.113549.1.1.10");
}
