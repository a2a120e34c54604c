//! The validation report, in the spirit of ETSI TS 119 102-2: an indication per signature with
//! its sub-indication, and what was found on the way.

use serde::Serialize;

/// The main indication (ETSI EN 319 102-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Indication {
    /// Every check passed.
    TotalPassed,
    /// A check could not be completed (missing data, untrusted chain, ...).
    Indeterminate,
    /// The signature is invalid.
    TotalFailed,
}

impl Indication {
    /// Whether a failure with the indication `failure` decides over this one: the first
    /// failure decides, and a later total failure overrides an indeterminate one.
    pub(super) fn yields_to(self, failure: Self) -> bool {
        self == Self::TotalPassed || (self == Self::Indeterminate && failure == Self::TotalFailed)
    }
}

/// The sub-indication (ETSI EN 319 102-1 §5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    /// The signature or its container is not well formed.
    FormatFailure,
    /// The signed data does not match its digest.
    HashFailure,
    /// The signature value does not verify.
    SigCryptoFailure,
    /// The signer's certificate was revoked.
    Revoked,
    /// The signed attributes or the document's changes break the signature's constraints.
    SigConstraintsFailure,
    /// A chain constraint failed (an issuer that is no CA, a key usage that does not allow
    /// signing).
    ChainConstraintsFailure,
    /// No chain to a trust anchor.
    NoCertificateChainFound,
    /// No signing certificate found or it does not match the signed reference.
    NoSigningCertificateFound,
    /// The certificate expired and nothing proves the signature existed before.
    OutOfBoundsNoPoe,
    /// The certificate was not yet valid when the signature was made.
    NotYetValid,
    /// The revocation status could not be established; try later.
    TryLater,
    /// A timestamp does not verify or does not match.
    TimestampFailure,
}

/// Who signed, as the certificate says.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Signer {
    /// Common name.
    pub name: Option<String>,
    /// `serialNumber` (qsign: `UUID:<random id>`, a pseudonym).
    pub pseudonym: Option<String>,
    /// Organisation name.
    pub organisation: Option<String>,
    /// CVR from `organizationIdentifier` `NTRDK-<CVR>`.
    pub cvr: Option<String>,
    /// The full subject DN.
    pub subject: String,
    /// Certificate serial (hex).
    pub serial: String,
}

/// QCStatements hints.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Qualification {
    /// `QcCompliance`: an EU qualified certificate.
    pub qualified_certificate: bool,
    /// `QcSSCD`: the key is in a qualified device.
    pub qscd: bool,
    /// `QcType`: `esign` or `eseal`.
    pub qc_type: Option<String>,
}

/// A signature's report.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// Its id in the file (PDF field name, or `signature-N`).
    pub id: String,
    /// `PAdES`, `CAdES` or `PDF document timestamp`.
    pub format: String,
    /// The indication.
    pub indication: Indication,
    /// The sub-indication when not passed.
    pub sub_indication: Option<SubIndication>,
    /// What went wrong, in words.
    pub errors: Vec<String>,
    /// The signer.
    pub signer: Option<Signer>,
    /// The claimed signing time (signing-time attribute or PDF `/M`), RFC 3339.
    pub claimed_signing_time: Option<String>,
    /// The time a timestamp proves the signature existed at, RFC 3339.
    pub proven_signing_time: Option<String>,
    /// The baseline level reached (`B-B` ... `B-LTA`).
    pub level: Option<String>,
    /// The chain, subject DNs from the signer to the anchor.
    pub chain: Vec<String>,
    /// `good`, `revoked` or `unknown` for the signer's certificate.
    pub revocation: String,
    /// QCStatements.
    pub qualification: Qualification,
    /// PDF: which bytes the signature covers.
    pub coverage: Option<Coverage>,
}

impl SignatureReport {
    /// A report with nothing found wrong yet.
    #[must_use]
    pub fn new(id: String, format: &str) -> Self {
        Self {
            id,
            format: format.to_owned(),
            indication: Indication::TotalPassed,
            sub_indication: None,
            errors: Vec::new(),
            signer: None,
            claimed_signing_time: None,
            proven_signing_time: None,
            level: None,
            chain: Vec::new(),
            revocation: "unknown".into(),
            qualification: Qualification::default(),
            coverage: None,
        }
    }

    /// Records a failure; the first decides the indication, a later total failure overrides an
    /// indeterminate one.
    pub fn fail(&mut self, indication: Indication, sub: SubIndication, why: String) {
        self.errors.push(why);
        if self.indication.yields_to(indication) {
            self.indication = indication;
            self.sub_indication = Some(sub);
        }
    }
}

/// What a PDF signature covers.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// The revision (from 1) the signature signs.
    pub revision: usize,
    /// Whether it covers the whole file.
    pub whole_file: bool,
    /// Changes made after it, each judged.
    pub later_changes: Vec<Change>,
}

/// A change made in a later revision.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    /// The object number.
    pub object: u32,
    /// What it is (`signature`, `document security store`, `page content`, ...).
    pub what: String,
    /// Whether a signature allows it (DSS, timestamps, further signatures, form filling).
    pub allowed: bool,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The file's kind (`pdf`, `cms`).
    pub file: String,
    /// Every signature, in the file's order.
    pub signatures: Vec<SignatureReport>,
    /// The validation time, RFC 3339.
    pub validation_time: String,
}

impl Report {
    /// The worst indication over all signatures (none: indeterminate).
    #[must_use]
    pub fn overall(&self) -> Indication {
        if self.signatures.is_empty() {
            return Indication::Indeterminate;
        }
        if self
            .signatures
            .iter()
            .any(|s| s.indication == Indication::TotalFailed)
        {
            Indication::TotalFailed
        } else if self
            .signatures
            .iter()
            .any(|s| s.indication == Indication::Indeterminate)
        {
            Indication::Indeterminate
        } else {
            Indication::TotalPassed
        }
    }
}

/// The baseline level a CAdES or XAdES signature reaches: B-T with a signature timestamp, B-LT
/// with validation data in the signature as well, B-LTA with a verified archive timestamp too.
pub(super) fn baseline_level(
    timestamped: bool,
    validation_data: bool,
    archived: bool,
) -> &'static str {
    match (timestamped, validation_data, archived) {
        (false, ..) => "B-B",
        (true, false, _) => "B-T",
        (true, true, false) => "B-LT",
        (true, true, true) => "B-LTA",
    }
}

/// RFC 3339 of Unix seconds.
#[must_use]
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
