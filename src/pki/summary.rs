//! Reading a DER certificate for display: its subject's names, issuer, serial and validity.

use der::Decode;
use x509_cert::time::Time;
use x509_cert::Certificate;

use super::Error;

/// What a certificate says, in the forms APIs show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Subject DN (RFC 4514).
    pub subject: String,
    /// Issuer DN (RFC 4514).
    pub issuer: String,
    /// Serial, hex.
    pub serial: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

/// The subject's common name of a DER certificate, if it has one.
#[must_use]
pub fn common_name(der: &[u8]) -> Option<String> {
    let cert = Certificate::from_der(der).ok()?;
    cert.tbs_certificate()
        .subject()
        .common_name()
        .ok()
        .flatten()
        .map(String::from)
}

/// The subject's organisation name of a DER certificate, if it has one.
#[must_use]
pub fn organization(der: &[u8]) -> Option<String> {
    let cert = Certificate::from_der(der).ok()?;
    cert.tbs_certificate()
        .subject()
        .organization()
        .ok()
        .flatten()
        .map(String::from)
}

/// Reads the names, serial and validity of a DER certificate.
///
/// # Errors
/// [`Error::Encoding`] when it does not parse.
pub fn summary(der: &[u8]) -> Result<Summary, Error> {
    let cert = Certificate::from_der(der).map_err(|e| Error::Encoding(e.to_string()))?;
    let tbs = cert.tbs_certificate();
    let unix = |t: &Time| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    Ok(Summary {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        serial: hex::encode(tbs.serial_number().as_bytes()),
        not_before: unix(&tbs.validity().not_before),
        not_after: unix(&tbs.validity().not_after),
    })
}
