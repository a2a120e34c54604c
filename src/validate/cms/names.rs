//! What a certificate says of its holder: the names, and the QCStatements hints.

use der::asn1::ObjectIdentifier;
use der::Decode;

use super::super::chain::Cert;
use super::super::report::{Qualification, Signer};
use crate::formats::asn1::etsi::QcStatement;
use crate::formats::asn1::oid;

/// Who a certificate names.
#[must_use]
pub fn signer_of(cert: &Cert) -> Signer {
    let subject = cert.cert.tbs_certificate().subject();
    let text = |id: ObjectIdentifier| {
        subject.iter().find(|atv| atv.oid == id).and_then(|atv| {
            x509_cert::ext::pkix::name::DirectoryString::try_from(&atv.value)
                .ok()
                .map(String::from)
                .or_else(|| {
                    der::asn1::PrintableStringRef::try_from(&atv.value)
                        .ok()
                        .map(|s| s.as_str().to_owned())
                })
        })
    };
    Signer {
        name: text(oid::COMMON_NAME),
        pseudonym: text(oid::SERIAL_NUMBER),
        organisation: text(oid::ORGANIZATION_NAME),
        cvr: text(oid::ORGANIZATION_IDENTIFIER)
            .and_then(|v| v.strip_prefix("NTRDK-").map(str::to_owned)),
        subject: subject.to_string(),
        serial: hex::encode(cert.cert.tbs_certificate().serial_number().as_bytes()),
    }
}

/// The QCStatements hints of a certificate.
#[must_use]
pub fn qualification(cert: &Cert) -> Qualification {
    let statements: Vec<QcStatement> = cert
        .cert
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == oid::QC_STATEMENTS)
        .and_then(|e| Vec::<QcStatement>::from_der(e.extn_value.as_bytes()).ok())
        .unwrap_or_default();
    let has = |id: ObjectIdentifier| statements.iter().any(|s| s.statement_id == id);
    let qc_type = statements
        .iter()
        .find(|s| s.statement_id == oid::QC_TYPE)
        .and_then(|s| s.statement_info.as_ref())
        .and_then(|info| info.decode_as::<Vec<ObjectIdentifier>>().ok())
        .and_then(|types| {
            types.iter().find_map(|t| match *t {
                t if t == oid::QC_TYPE_ESIGN => Some("esign".to_owned()),
                t if t == oid::QC_TYPE_ESEAL => Some("eseal".to_owned()),
                _ => None,
            })
        });
    Qualification {
        qualified_certificate: has(oid::QC_COMPLIANCE),
        qscd: has(oid::QC_SSCD),
        qc_type,
    }
}
