//! EU trusted lists (ETSI TS 119 612 v2) and the qualification of a signature at its signing
//! time (ETSI TS 119 615, after EN 319 102-1 §5.6; simplified). **Pure**: a list's bytes, the
//! certificates allowed to sign it, a signer's chain and a time in; a parsed list, a verdict on
//! its signature and a qualification out. Fetching, caching and refreshing are
//! `service::trusted_lists`'.
//!
//! A list is read by the hostile-input-proof XML parser and then walked with a [`Budget`]: every
//! count (pointers, providers, services, history, identities, qualifiers, criteria) and every
//! text is bounded. Its signature must be one enveloped `ds:Signature` (a child of the root)
//! whose `SignedInfo` covers the whole list, verified by [`super::xml`] with exactly the
//! allowed certificates as trust anchors, and the signing certificate must be one of them.
//!
//! The qualification: the CA/QC service whose certificate is in the signer's chain above the
//! signer, its status at the best signature time (`granted`; before 2016-07-01 also
//! `undersupervision`, `supervisionincessation` and `accredited`), the certificate's
//! QCStatements completed or overridden by the service's qualifiers whose criteria the
//! certificate meets, and the service's `ForeSignatures`/`ForeSeals` scope.
//!
//! The reading and its budgets are in `parse`, the decision in `qualification`, the dates in
//! `time`.

mod parse;
mod qualification;
mod time;

#[cfg(test)]
mod tests;

use der::asn1::ObjectIdentifier;

use super::chain::Cert;
use crate::formats::xml;

pub use parse::{check_territory, parse, verify};
pub use qualification::Set;
pub use time::date_time;

/// The trusted-list namespace (TS 119 612 v2).
pub const TSL: &str = "http://uri.etsi.org/02231/v2#";
/// The namespace of the qualifications extension.
pub const ECC: &str = "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#";
/// The namespace of the additional types (`MimeType`).
pub const TSLX: &str = "http://uri.etsi.org/02231/v2/additionaltypes#";
/// The service type of a CA issuing qualified certificates.
pub const CA_QC: &str = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC";
/// The status of a qualified service under eIDAS.
pub const GRANTED: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted";
/// The MIME type of a list in XML (a pointer may also name a PDF copy).
pub const XML_MIME: &str = "application/vnd.etsi.tsl+xml";
/// Statuses that meant "qualified" under Directive 1999/93/EC, before eIDAS applied.
const BEFORE_EIDAS: [&str; 3] = [
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/undersupervision",
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/supervisionincessation",
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/accredited",
];
/// 2016-07-01T00:00:00Z: from then on only `granted` is qualified.
const EIDAS_APPLIES: i64 = 1_467_331_200;
/// The prefix of qualifier and additional-information URIs.
const SVC_INFO_EXT: &str = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/";
/// Deepest nesting of criteria lists.
const MAX_CRITERIA_DEPTH: usize = 4;

/// Why a list is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The XML parser refused it.
    #[error("the list does not parse: {0}")]
    Xml(xml::Error),
    /// The root is not `tsl:TrustServiceStatusList`.
    #[error("not a trusted list (the root is not tsl:TrustServiceStatusList)")]
    NotAList,
    /// A mandatory element is missing or empty.
    #[error("the list has no {0}")]
    Missing(&'static str),
    /// More elements of a kind than the budget.
    #[error("more than {limit} {what} in the list")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The budget.
        limit: usize,
    },
    /// A text longer than the budget.
    #[error("a {what} longer than {limit} bytes")]
    TooLong {
        /// Which text.
        what: &'static str,
        /// The budget.
        limit: usize,
    },
    /// A value that does not read as its type.
    #[error("{what} does not read: {value:?}")]
    Malformed {
        /// Which value.
        what: &'static str,
        /// The value, as bounded by the text budget.
        value: String,
    },
    /// The list's signature does not verify, or does not cover the whole list.
    #[error("the list's signature: {0}")]
    Signature(String),
    /// The list is signed by a certificate that is not allowed to sign it.
    #[error("the list is not signed by a certificate allowed to sign it")]
    SignerNotAllowed,
    /// The list is for another territory than the pointer to it says.
    #[error("the list is for {found}, the list of lists points to it for {expected}")]
    Territory {
        /// The territory the pointer names.
        expected: String,
        /// The territory the list names.
        found: String,
    },
}

impl Error {
    /// A stable code for each kind of refusal.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Xml(e) => e.code(),
            Self::NotAList => "tl_not_a_list",
            Self::Missing(_) => "tl_missing",
            Self::TooMany { .. } => "tl_too_many",
            Self::TooLong { .. } => "tl_too_long",
            Self::Malformed { .. } => "tl_malformed",
            Self::Signature(_) => "tl_signature",
            Self::SignerNotAllowed => "tl_signer_not_allowed",
            Self::Territory { .. } => "tl_territory",
        }
    }
}

/// Bounds on what one list may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most bytes.
    pub bytes: usize,
    /// Most pointers to other lists.
    pub pointers: usize,
    /// Most trust service providers.
    pub providers: usize,
    /// Most services, over all providers.
    pub services: usize,
    /// Most history instances of one service.
    pub history: usize,
    /// Most certificates naming one service or one pointed-to list's signers.
    pub identities: usize,
    /// Most extensions, qualification elements, qualifiers or criteria in one place.
    pub qualifications: usize,
    /// Longest text (a base64 certificate included), bytes.
    pub text: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            bytes: 32 * 1024 * 1024,
            pointers: 256,
            providers: 4096,
            services: 16_384,
            history: 256,
            identities: 64,
            qualifications: 64,
            text: 64 * 1024,
        }
    }
}

/// A trusted list: the scheme information, pointers to other lists and the providers.
#[derive(Debug, Clone)]
pub struct List {
    /// `SchemeTerritory` (`EU` for the list of lists).
    pub territory: String,
    /// `TSLSequenceNumber`.
    pub sequence_number: Option<u64>,
    /// `ListIssueDateTime`, Unix seconds.
    pub issued: Option<i64>,
    /// `NextUpdate`, Unix seconds (none for a closed list).
    pub next_update: Option<i64>,
    /// `PointersToOtherTSL`.
    pub pointers: Vec<Pointer>,
    /// `TrustServiceProviderList`.
    pub providers: Vec<Provider>,
}

/// A pointer to another list (`OtherTSLPointer`).
#[derive(Debug, Clone)]
pub struct Pointer {
    /// `TSLLocation`.
    pub location: String,
    /// The `SchemeTerritory` of its additional information.
    pub territory: Option<String>,
    /// The `MimeType` of its additional information.
    pub mime_type: Option<String>,
    /// The `TSLType` of its additional information.
    pub list_type: Option<String>,
    /// The certificates that may sign the list pointed to.
    pub certificates: Vec<Cert>,
}

impl Pointer {
    /// Whether the list pointed to is in XML.
    #[must_use]
    pub fn is_xml(&self) -> bool {
        self.mime_type
            .as_deref()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(XML_MIME))
    }

    /// Whether it points to a list of lists (the LOTL names itself among its pointers).
    #[must_use]
    pub fn is_list_of_lists(&self) -> bool {
        self.list_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().ends_with("listofthelists"))
    }
}

/// A trust service provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// `TSPName` (English when given).
    pub name: String,
    /// Its services.
    pub services: Vec<Service>,
}

/// A trust service, with its status history.
#[derive(Debug, Clone)]
pub struct Service {
    /// `ServiceTypeIdentifier`.
    pub type_identifier: String,
    /// `ServiceName` (English when given).
    pub name: String,
    /// `ServiceDigitalIdentity` certificates.
    pub certificates: Vec<Cert>,
    /// The current status first, then the history (`ServiceHistoryInstance`), each with the
    /// extensions that held then.
    pub periods: Vec<Period>,
}

/// A service's status from a time on, with the extensions of that time.
#[derive(Debug, Clone)]
pub struct Period {
    /// `ServiceStatus`.
    pub status: String,
    /// `StatusStartingTime`, Unix seconds.
    pub start: i64,
    /// `AdditionalServiceInformation` URIs (`ForeSignatures`, `ForeSeals`, ...).
    pub additional: Vec<String>,
    /// The qualifications extension.
    pub qualifications: Vec<QualificationElement>,
}

/// One `QualificationElement`: qualifiers for the certificates its criteria select.
#[derive(Debug, Clone)]
pub struct QualificationElement {
    /// `Qualifier/@uri`.
    pub qualifiers: Vec<String>,
    /// `CriteriaList`.
    pub criteria: Criteria,
}

/// A `CriteriaList`.
#[derive(Debug, Clone)]
pub struct Criteria {
    /// `assert`.
    pub assert: Assert,
    /// Its criteria.
    pub items: Vec<Criterion>,
}

/// How a `CriteriaList` combines its criteria.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assert {
    /// Every criterion holds.
    All,
    /// At least one holds.
    AtLeastOne,
    /// None holds.
    None,
}

/// One criterion of a `CriteriaList`.
#[derive(Debug, Clone)]
pub enum Criterion {
    /// `KeyUsage`: each named bit set (true) or clear (false).
    KeyUsage(Vec<(String, bool)>),
    /// `PolicySet`: the certificate has every one of these policies.
    Policies(Vec<ObjectIdentifier>),
    /// A nested `CriteriaList`.
    Nested(Criteria),
    /// A criterion this validator does not evaluate: it never holds.
    Unsupported(String),
}

/// The qualification of a signature at its signing time (ETSI TS 119 615).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A qualified electronic signature.
    QeSig,
    /// A qualified electronic seal.
    QeSeal,
    /// An advanced signature with a qualified certificate (no QSCD).
    AdESigQc,
    /// An advanced seal with a qualified certificate (no QSCD).
    AdESealQc,
    /// An advanced signature.
    AdESig,
    /// An advanced seal.
    AdESeal,
    /// Would be a qualified signature, but the validation is indeterminate.
    IndeterminateQeSig,
    /// Would be a qualified seal, but the validation is indeterminate.
    IndeterminateQeSeal,
    /// Not applicable: no chain, a failed signature, or an indeterminate one not qualified.
    NotApplicable,
}

impl Level {
    /// The name TS 119 615 gives it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::QeSig => "QESig",
            Self::QeSeal => "QESeal",
            Self::AdESigQc => "AdESig-QC",
            Self::AdESealQc => "AdESeal-QC",
            Self::AdESig => "AdESig",
            Self::AdESeal => "AdESeal",
            Self::IndeterminateQeSig => "Indeterminate-QESig",
            Self::IndeterminateQeSeal => "Indeterminate-QESeal",
            Self::NotApplicable => "N/A",
        }
    }
}

/// Signature or seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Signature,
    Seal,
}

impl List {
    /// Services over all providers.
    #[must_use]
    pub fn service_count(&self) -> usize {
        self.providers.iter().map(|p| p.services.len()).sum()
    }
}
