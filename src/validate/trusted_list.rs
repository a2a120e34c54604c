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

use der::asn1::ObjectIdentifier;
use der::Decode as _;
use x509_cert::ext::pkix::{CertificatePolicies, KeyUsage, KeyUsages};

use super::chain::Cert;
use super::cms::{self, Material};
use super::report::{
    rfc3339, Indication, Qualification, Report, SubIndication, TrustedListReport, TrustedListStatus,
};
use super::xml::{b64, child, is, text, DS, ENVELOPED, XADES};
use crate::formats::xml::{self, Element, XML_NS};

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

/// Parses a list without checking its signature.
///
/// # Errors
/// What makes it unusable.
pub fn parse(bytes: &[u8], budget: &Budget) -> Result<List, Error> {
    let doc = document(bytes, budget)?;
    list(&doc.root, budget)
}

/// Parses a list and verifies its signature: one enveloped signature over the whole list,
/// valid at `now`, by exactly one of `allowed`.
///
/// # Errors
/// What makes it unusable; [`Error::SignerNotAllowed`] for a signer not among `allowed`.
pub fn verify(bytes: &[u8], allowed: &[Cert], now: i64, budget: &Budget) -> Result<List, Error> {
    let doc = document(bytes, budget)?;
    let parsed = list(&doc.root, budget)?;
    covers_whole_list(&doc.root)?;
    let material = Material {
        anchors: allowed.to_vec(),
        now,
        ..Material::default()
    };
    let reports = super::xml::validate(bytes, None, &material).map_err(Error::Signature)?;
    let [report] = reports.as_slice() else {
        return Err(Error::Signature(format!(
            "{} signatures in the list, not one",
            reports.len()
        )));
    };
    if report.sub_indication == Some(SubIndication::NoCertificateChainFound) {
        return Err(Error::SignerNotAllowed);
    }
    if report.indication != Indication::TotalPassed {
        return Err(Error::Signature(report.errors.join("; ")));
    }
    // The signer itself must be one of the allowed certificates, not one they issued.
    match report.chain_certificates.as_slice() {
        [signer] if allowed.iter().any(|a| a.der == signer.der) => Ok(parsed),
        _ => Err(Error::SignerNotAllowed),
    }
}

/// Checks that a list pointed to is for the territory the pointer names.
///
/// # Errors
/// [`Error::Territory`].
pub fn check_territory(list: &List, pointer: &Pointer) -> Result<(), Error> {
    match &pointer.territory {
        Some(expected) if !expected.eq_ignore_ascii_case(&list.territory) => {
            Err(Error::Territory {
                expected: expected.clone(),
                found: list.territory.clone(),
            })
        }
        _ => Ok(()),
    }
}

fn document(bytes: &[u8], budget: &Budget) -> Result<xml::Document, Error> {
    let limits = xml::Limits {
        bytes: budget.bytes,
        ..xml::Limits::default()
    };
    xml::parse(bytes, limits).map_err(Error::Xml)
}

/// The list's one signature is a child of the root and references the whole list (`URI=""`
/// or the root's `Id`) with the enveloped-signature transform.
fn covers_whole_list(root: &Element) -> Result<(), Error> {
    let mut signatures = root.elements().filter(|e| is(e, DS, "Signature"));
    let (Some(signature), None) = (signatures.next(), signatures.next()) else {
        return Err(Error::Signature(
            "the list must carry exactly one enveloped ds:Signature".into(),
        ));
    };
    let info = child(signature, DS, "SignedInfo")
        .ok_or_else(|| Error::Signature("no ds:SignedInfo".into()))?;
    let root_id = root.attribute("Id");
    let whole = info
        .elements()
        .filter(|e| is(e, DS, "Reference"))
        .any(|reference| {
            let uri = reference.attribute("URI");
            let to_root = uri == Some("")
                || uri
                    .and_then(|u| u.strip_prefix('#'))
                    .is_some_and(|id| root_id == Some(id));
            let enveloped = child(reference, DS, "Transforms").is_some_and(|t| {
                t.elements()
                    .any(|x| x.attribute("Algorithm") == Some(ENVELOPED))
            });
            to_root && enveloped
        });
    if whole {
        Ok(())
    } else {
        Err(Error::Signature(
            "the signature does not cover the whole list".into(),
        ))
    }
}

/// The elements of an iterator, at most `limit` of them.
fn bounded<'a>(
    items: impl Iterator<Item = &'a Element>,
    what: &'static str,
    limit: usize,
) -> Result<Vec<&'a Element>, Error> {
    let out: Vec<&Element> = items.take(limit.saturating_add(1)).collect();
    if out.len() > limit {
        return Err(Error::TooMany { what, limit });
    }
    Ok(out)
}

/// The child elements `local` of `e` in namespace `ns`, at most `limit`.
fn children<'a>(
    e: &'a Element,
    ns: &'static str,
    local: &'static str,
    limit: usize,
) -> Result<Vec<&'a Element>, Error> {
    bounded(e.elements().filter(|c| is(c, ns, local)), local, limit)
}

/// The trimmed text of `e`, within the budget.
fn bounded_text(e: &Element, what: &'static str, budget: &Budget) -> Result<String, Error> {
    let t = text(e);
    if t.len() > budget.text {
        return Err(Error::TooLong {
            what,
            limit: budget.text,
        });
    }
    Ok(t.trim().to_owned())
}

/// The text of the child `local` (in the TSL namespace), if present and not empty.
fn optional(e: &Element, local: &'static str, budget: &Budget) -> Result<Option<String>, Error> {
    child(e, TSL, local)
        .map(|c| bounded_text(c, local, budget))
        .transpose()
        .map(|t| t.filter(|t| !t.is_empty()))
}

fn required(e: &Element, local: &'static str, budget: &Budget) -> Result<String, Error> {
    optional(e, local, budget)?.ok_or(Error::Missing(local))
}

fn time_of(value: &str, what: &'static str) -> Result<i64, Error> {
    date_time(value).ok_or_else(|| Error::Malformed {
        what,
        value: value.to_owned(),
    })
}

/// A multilingual name (`Name` children): the English one, else the first.
fn name(e: Option<&Element>, what: &'static str, budget: &Budget) -> Result<String, Error> {
    let Some(e) = e else {
        return Err(Error::Missing(what));
    };
    let names = children(e, TSL, "Name", budget.qualifications)?;
    let english = names.iter().find(|n| {
        n.attributes
            .iter()
            .any(|a| a.ns.as_deref() == Some(XML_NS) && a.local == "lang" && a.value == "en")
    });
    let Some(chosen) = english.or(names.first()) else {
        return Err(Error::Missing(what));
    };
    bounded_text(chosen, what, budget)
}

/// The certificates of `DigitalId/X509Certificate` under the identity elements given.
fn certificates(identities: &[&Element], budget: &Budget) -> Result<Vec<Cert>, Error> {
    let mut out = Vec::new();
    for identity in identities {
        for id in children(identity, TSL, "DigitalId", budget.identities)? {
            let Some(x509) = child(id, TSL, "X509Certificate") else {
                continue;
            };
            if text(x509).len() > budget.text {
                return Err(Error::TooLong {
                    what: "X509Certificate",
                    limit: budget.text,
                });
            }
            if out.len() >= budget.identities {
                return Err(Error::TooMany {
                    what: "certificates",
                    limit: budget.identities,
                });
            }
            out.extend(b64(Some(x509)).and_then(|der| Cert::parse(&der)));
        }
    }
    Ok(out)
}

fn list(root: &Element, budget: &Budget) -> Result<List, Error> {
    if !is(root, TSL, "TrustServiceStatusList") {
        return Err(Error::NotAList);
    }
    let info = child(root, TSL, "SchemeInformation").ok_or(Error::Missing("SchemeInformation"))?;
    let territory = required(info, "SchemeTerritory", budget)?;
    let sequence_number = optional(info, "TSLSequenceNumber", budget)?
        .map(|n| {
            n.parse::<u64>().map_err(|_| Error::Malformed {
                what: "TSLSequenceNumber",
                value: n.clone(),
            })
        })
        .transpose()?;
    let issued = optional(info, "ListIssueDateTime", budget)?
        .map(|t| time_of(&t, "ListIssueDateTime"))
        .transpose()?;
    let next_update = child(info, TSL, "NextUpdate")
        .and_then(|n| child(n, TSL, "dateTime"))
        .map(|d| bounded_text(d, "NextUpdate", budget))
        .transpose()?
        .filter(|t| !t.is_empty())
        .map(|t| time_of(&t, "NextUpdate"))
        .transpose()?;
    let mut pointers = Vec::new();
    if let Some(p) = child(info, TSL, "PointersToOtherTSL") {
        for e in children(p, TSL, "OtherTSLPointer", budget.pointers)? {
            pointers.push(pointer(e, budget)?);
        }
    }
    let mut providers = Vec::new();
    let mut services = 0usize;
    if let Some(p) = child(root, TSL, "TrustServiceProviderList") {
        for e in children(p, TSL, "TrustServiceProvider", budget.providers)? {
            providers.push(provider(e, budget, &mut services)?);
        }
    }
    Ok(List {
        territory,
        sequence_number,
        issued,
        next_update,
        pointers,
        providers,
    })
}

fn pointer(e: &Element, budget: &Budget) -> Result<Pointer, Error> {
    let location = required(e, "TSLLocation", budget)?;
    let identities = child(e, TSL, "ServiceDigitalIdentities")
        .map(|s| children(s, TSL, "ServiceDigitalIdentity", budget.identities))
        .transpose()?
        .unwrap_or_default();
    let certificates = certificates(&identities, budget)?;
    let (mut territory, mut mime_type, mut list_type) = (None, None, None);
    if let Some(additional) = child(e, TSL, "AdditionalInformation") {
        for other in children(additional, TSL, "OtherInformation", budget.qualifications)? {
            for item in other.elements() {
                let value = Some(bounded_text(item, "OtherInformation", budget)?);
                if is(item, TSL, "SchemeTerritory") {
                    territory = value;
                } else if is(item, TSLX, "MimeType") {
                    mime_type = value;
                } else if is(item, TSL, "TSLType") {
                    list_type = value;
                }
            }
        }
    }
    Ok(Pointer {
        location,
        territory,
        mime_type,
        list_type,
        certificates,
    })
}

fn provider(e: &Element, budget: &Budget, services: &mut usize) -> Result<Provider, Error> {
    let info = child(e, TSL, "TSPInformation").ok_or(Error::Missing("TSPInformation"))?;
    let name = name(child(info, TSL, "TSPName"), "TSPName", budget)?;
    let mut out = Vec::new();
    if let Some(list) = child(e, TSL, "TSPServices") {
        let left = budget.services.saturating_sub(*services);
        let found = bounded(
            list.elements().filter(|c| is(c, TSL, "TSPService")),
            "services",
            left,
        )
        .map_err(|_| Error::TooMany {
            what: "services",
            limit: budget.services,
        })?;
        *services = services.saturating_add(found.len());
        for s in found {
            out.push(service(s, budget)?);
        }
    }
    Ok(Provider {
        name,
        services: out,
    })
}

fn service(e: &Element, budget: &Budget) -> Result<Service, Error> {
    let info = child(e, TSL, "ServiceInformation").ok_or(Error::Missing("ServiceInformation"))?;
    let type_identifier = required(info, "ServiceTypeIdentifier", budget)?;
    let name = name(child(info, TSL, "ServiceName"), "ServiceName", budget)?;
    let identities = children(info, TSL, "ServiceDigitalIdentity", budget.identities)?;
    let certificates = certificates(&identities, budget)?;
    let mut periods = vec![period(info, budget)?];
    if let Some(history) = child(e, TSL, "ServiceHistory") {
        for h in bounded(
            history
                .elements()
                .filter(|c| is(c, TSL, "ServiceHistoryInstance")),
            "history instances",
            budget.history,
        )? {
            periods.push(period(h, budget)?);
        }
    }
    Ok(Service {
        type_identifier,
        name,
        certificates,
        periods,
    })
}

fn period(e: &Element, budget: &Budget) -> Result<Period, Error> {
    let status = required(e, "ServiceStatus", budget)?;
    let start = time_of(
        &required(e, "StatusStartingTime", budget)?,
        "StatusStartingTime",
    )?;
    let mut additional = Vec::new();
    let mut qualifications = Vec::new();
    if let Some(extensions) = child(e, TSL, "ServiceInformationExtensions") {
        for extension in children(extensions, TSL, "Extension", budget.qualifications)? {
            for info in children(
                extension,
                TSL,
                "AdditionalServiceInformation",
                budget.qualifications,
            )? {
                additional.push(required(info, "URI", budget)?);
            }
            for list in children(extension, ECC, "Qualifications", budget.qualifications)? {
                for element in children(list, ECC, "QualificationElement", budget.qualifications)? {
                    qualifications.push(qualification_element(element, budget)?);
                }
            }
        }
    }
    Ok(Period {
        status,
        start,
        additional,
        qualifications,
    })
}

fn qualification_element(e: &Element, budget: &Budget) -> Result<QualificationElement, Error> {
    let mut qualifiers = Vec::new();
    if let Some(list) = child(e, ECC, "Qualifiers") {
        for q in children(list, ECC, "Qualifier", budget.qualifications)? {
            let uri = q.attribute("uri").unwrap_or_default();
            if uri.len() > budget.text {
                return Err(Error::TooLong {
                    what: "Qualifier",
                    limit: budget.text,
                });
            }
            qualifiers.push(uri.trim().to_owned());
        }
    }
    let criteria = child(e, ECC, "CriteriaList").ok_or(Error::Missing("CriteriaList"))?;
    Ok(QualificationElement {
        qualifiers,
        criteria: criteria_list(criteria, budget, 0)?,
    })
}

fn criteria_list(e: &Element, budget: &Budget, depth: usize) -> Result<Criteria, Error> {
    if depth >= MAX_CRITERIA_DEPTH {
        return Err(Error::TooMany {
            what: "nested criteria lists",
            limit: MAX_CRITERIA_DEPTH,
        });
    }
    let assert = match e.attribute("assert") {
        None | Some("all") => Assert::All,
        Some("atLeastOne") => Assert::AtLeastOne,
        Some("none") => Assert::None,
        Some(other) => {
            return Err(Error::Malformed {
                what: "CriteriaList/@assert",
                value: other.chars().take(64).collect(),
            });
        }
    };
    let mut items = Vec::new();
    for c in bounded(e.elements(), "criteria", budget.qualifications)? {
        let item = if is(c, ECC, "KeyUsage") {
            let mut bits = Vec::new();
            for bit in children(c, ECC, "KeyUsageBit", budget.qualifications)? {
                let value = bounded_text(bit, "KeyUsageBit", budget)?;
                bits.push((
                    bit.attribute("name").unwrap_or_default().to_owned(),
                    value == "true",
                ));
            }
            Criterion::KeyUsage(bits)
        } else if is(c, ECC, "PolicySet") {
            let mut oids = Vec::new();
            let mut unreadable = false;
            for p in children(c, ECC, "PolicyIdentifier", budget.qualifications)? {
                let id = child(p, XADES, "Identifier")
                    .map(|i| bounded_text(i, "PolicyIdentifier", budget))
                    .transpose()?
                    .unwrap_or_default();
                let dotted = id.strip_prefix("urn:oid:").unwrap_or(&id);
                match ObjectIdentifier::new(dotted) {
                    Ok(oid) => oids.push(oid),
                    Err(_) => unreadable = true,
                }
            }
            if unreadable {
                Criterion::Unsupported("PolicySet with an identifier that is no OID".into())
            } else {
                Criterion::Policies(oids)
            }
        } else if is(c, ECC, "CriteriaList") {
            Criterion::Nested(criteria_list(c, budget, depth + 1)?)
        } else if c.local == "Description" {
            continue;
        } else {
            Criterion::Unsupported(c.local.chars().take(64).collect())
        };
        items.push(item);
    }
    Ok(Criteria { assert, items })
}

/// Unix seconds of an `xsd:dateTime` (`2024-05-01T12:00:00Z`, fractions and offsets allowed;
/// no zone means UTC).
#[must_use]
pub fn date_time(value: &str) -> Option<i64> {
    let (date, rest) = value.trim().split_once('T')?;
    let mut ymd = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (ymd.next(), ymd.next(), ymd.next(), ymd.next()) else {
        return None;
    };
    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let offset = match zone {
        "" | "Z" => 0,
        _ => {
            let (sign, hm) = zone.split_at(1);
            let (h, m) = hm.split_once(':')?;
            let secs =
                i64::from(h.parse::<u8>().ok()?) * 3600 + i64::from(m.parse::<u8>().ok()?) * 60;
            if sign == "-" {
                -secs
            } else {
                secs
            }
        }
    };
    let whole = clock.split('.').next()?;
    let mut hms = whole.split(':');
    let (Some(h), Some(mi), Some(s), None) = (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return None;
    };
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let at = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?)
        .ok()?
        .with_hms(h.parse().ok()?, mi.parse().ok()?, s.parse().ok()?)
        .ok()?
        .assume_utc()
        .unix_timestamp();
    at.checked_sub(offset)
}

impl Service {
    /// The period in force at `at`: the one that started last, not after `at`.
    #[must_use]
    pub fn period_at(&self, at: i64) -> Option<&Period> {
        self.periods
            .iter()
            .filter(|p| p.start <= at)
            .max_by_key(|p| p.start)
    }

    /// Whether `cert` is one of the service's identities (same subject and key).
    fn names(&self, cert: &Cert) -> bool {
        let key = |c: &Cert| {
            c.cert
                .tbs_certificate()
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes()
                .to_vec()
        };
        self.certificates.iter().any(|s| {
            s.der == cert.der
                || (s.cert.tbs_certificate().subject() == cert.cert.tbs_certificate().subject()
                    && key(s) == key(cert))
        })
    }
}

/// Whether a status at `at` means qualified.
fn qualified_status(status: &str, at: i64) -> bool {
    status == GRANTED || (at < EIDAS_APPLIES && BEFORE_EIDAS.contains(&status))
}

/// What a certificate is, after the trusted list has had its say.
struct Verdict {
    qualified: bool,
    qscd: bool,
    kind: Kind,
}

impl Period {
    /// The service's scope: signatures, seals, both (empty: not said).
    fn scope(&self) -> (bool, bool) {
        let has = |name: &str| {
            self.additional
                .iter()
                .any(|u| u.strip_prefix(SVC_INFO_EXT) == Some(name))
        };
        (has("ForeSignatures"), has("ForeSeals"))
    }

    /// What a certificate that does not say is for: seals when the service issues for seals
    /// only, else signatures (a qualified certificate without `QcType` is for signatures).
    fn default_kind(&self) -> Kind {
        match self.scope() {
            (false, true) => Kind::Seal,
            _ => Kind::Signature,
        }
    }

    /// The certificate's QCStatements completed and overridden by the qualifiers of this
    /// period whose criteria it meets, within the service's scope.
    fn judge(&self, leaf: &Cert, hints: &Qualification) -> Verdict {
        let applying: Vec<&str> = self
            .qualifications
            .iter()
            .filter(|q| q.criteria.holds(leaf))
            .flat_map(|q| q.qualifiers.iter())
            .filter_map(|u| u.strip_prefix(SVC_INFO_EXT))
            .collect();
        let has = |name: &str| applying.contains(&name);
        let mut qualified = hints.qualified_certificate;
        if has("QCStatement") {
            qualified = true;
        }
        if has("NotQualified") {
            qualified = false;
        }
        let mut qscd = hints.qscd;
        if has("QCWithSSCD") || has("QCWithQSCD") {
            qscd = true;
        }
        if has("QCNoSSCD") || has("QCNoQSCD") {
            qscd = false;
        }
        let mut kind = hinted_kind(hints);
        if has("QCForESig") {
            kind = Some(Kind::Signature);
        }
        if has("QCForESeal") {
            kind = Some(Kind::Seal);
        }
        let (for_signatures, for_seals) = self.scope();
        let kind = kind.unwrap_or_else(|| self.default_kind());
        // A service that says what it issues for does not issue qualified certificates for
        // anything else.
        if (for_signatures || for_seals)
            && !((kind == Kind::Signature && for_signatures) || (kind == Kind::Seal && for_seals))
        {
            qualified = false;
        }
        Verdict {
            qualified,
            qscd,
            kind,
        }
    }
}

fn hinted_kind(hints: &Qualification) -> Option<Kind> {
    match hints.qc_type.as_deref() {
        Some("esign") => Some(Kind::Signature),
        Some("eseal") => Some(Kind::Seal),
        _ => None,
    }
}

impl Criteria {
    /// Whether `cert` meets the list.
    #[must_use]
    pub fn holds(&self, cert: &Cert) -> bool {
        let mut each = self.items.iter().map(|c| c.holds(cert));
        match self.assert {
            Assert::All => each.all(|x| x),
            Assert::AtLeastOne => each.any(|x| x),
            Assert::None => !each.any(|x| x),
        }
    }
}

impl Criterion {
    fn holds(&self, cert: &Cert) -> bool {
        match self {
            Self::KeyUsage(bits) => {
                let usage = extension(cert, const_oid::db::rfc5280::ID_CE_KEY_USAGE)
                    .and_then(|v| KeyUsage::from_der(v).ok());
                bits.iter().all(|(name, wanted)| {
                    key_usage_bit(name).is_some_and(|bit| {
                        usage.as_ref().is_some_and(|u| u.0.contains(bit)) == *wanted
                    })
                })
            }
            Self::Policies(oids) => {
                let held: Vec<ObjectIdentifier> =
                    extension(cert, const_oid::db::rfc5280::ID_CE_CERTIFICATE_POLICIES)
                        .and_then(|v| CertificatePolicies::from_der(v).ok())
                        .map(|p| p.0.iter().map(|i| i.policy_identifier).collect())
                        .unwrap_or_default();
                oids.iter().all(|o| held.contains(o))
            }
            Self::Nested(c) => c.holds(cert),
            Self::Unsupported(_) => false,
        }
    }
}

fn extension(cert: &Cert, id: ObjectIdentifier) -> Option<&[u8]> {
    cert.cert
        .tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == id)
        .map(|e| e.extn_value.as_bytes())
}

fn key_usage_bit(name: &str) -> Option<KeyUsages> {
    Some(match name {
        "digitalSignature" => KeyUsages::DigitalSignature,
        "nonRepudiation" => KeyUsages::NonRepudiation,
        "keyEncipherment" => KeyUsages::KeyEncipherment,
        "dataEncipherment" => KeyUsages::DataEncipherment,
        "keyAgreement" => KeyUsages::KeyAgreement,
        "keyCertSign" => KeyUsages::KeyCertSign,
        "crlSign" => KeyUsages::CRLSign,
        "encipherOnly" => KeyUsages::EncipherOnly,
        "decipherOnly" => KeyUsages::DecipherOnly,
        _ => return None,
    })
}

/// The trusted lists in use: the verified lists whose services count, and what became of
/// every list (the list of lists included).
#[derive(Debug, Clone, Default)]
pub struct Set {
    /// Verified lists.
    pub lists: Vec<List>,
    /// One entry per list fetched or tried.
    pub statuses: Vec<TrustedListStatus>,
}

impl Set {
    /// The certificates of every CA/QC service, whatever its status (the status decides the
    /// qualification, not the chain): trust anchors beside the operator's.
    #[must_use]
    pub fn anchors(&self) -> Vec<Cert> {
        self.services()
            .filter(|(_, _, s)| s.type_identifier == CA_QC)
            .flat_map(|(_, _, s)| s.certificates.iter().cloned())
            .collect()
    }

    fn services(&self) -> impl Iterator<Item = (&List, &Provider, &Service)> {
        self.lists.iter().flat_map(|l| {
            l.providers
                .iter()
                .flat_map(move |p| p.services.iter().map(move |s| (l, p, s)))
        })
    }

    /// The CA/QC service that issued a certificate of `chain` above the signer.
    fn issuer_of(&self, chain: &[Cert]) -> Option<(&List, &Provider, &Service)> {
        let above = chain.get(1..).unwrap_or_default();
        above.iter().find_map(|c| {
            self.services()
                .find(|(_, _, s)| s.type_identifier == CA_QC && s.names(c))
        })
    }

    /// The qualification of a signature whose validation ended in `indication`, with the
    /// chain `chain` (signer first; empty when none was found), at the best signature time
    /// `at`; and the trusted-list entry it was decided from.
    #[must_use]
    pub fn qualify(
        &self,
        indication: Indication,
        chain: &[Cert],
        at: i64,
    ) -> (Level, Option<TrustedListReport>) {
        let Some(leaf) = chain.first() else {
            return (Level::NotApplicable, None);
        };
        let hints = cms::qualification(leaf);
        let (verdict, entry) = match self.issuer_of(chain) {
            None => (
                Verdict {
                    qualified: false,
                    qscd: false,
                    kind: hinted_kind(&hints).unwrap_or(Kind::Signature),
                },
                None,
            ),
            Some((list, provider, service)) => {
                let period = service.period_at(at);
                let entry = TrustedListReport {
                    country: list.territory.clone(),
                    tsp: provider.name.clone(),
                    service: service.name.clone(),
                    status: period.map(|p| p.status.clone()),
                    status_start: period.map(|p| rfc3339(p.start)),
                };
                // A service not qualified at that time issues no qualified certificates.
                let verdict = match period {
                    Some(p) if qualified_status(&p.status, at) => p.judge(leaf, &hints),
                    _ => Verdict {
                        qualified: false,
                        qscd: false,
                        kind: hinted_kind(&hints).unwrap_or_else(|| {
                            period.map_or(Kind::Signature, Period::default_kind)
                        }),
                    },
                };
                (verdict, Some(entry))
            }
        };
        let level = match (verdict.qualified, verdict.qscd, verdict.kind) {
            (true, true, Kind::Signature) => Level::QeSig,
            (true, true, Kind::Seal) => Level::QeSeal,
            (true, false, Kind::Signature) => Level::AdESigQc,
            (true, false, Kind::Seal) => Level::AdESealQc,
            (false, _, Kind::Signature) => Level::AdESig,
            (false, _, Kind::Seal) => Level::AdESeal,
        };
        let level = match (indication, level) {
            (Indication::TotalPassed, level) => level,
            (Indication::Indeterminate, Level::QeSig) => Level::IndeterminateQeSig,
            (Indication::Indeterminate, Level::QeSeal) => Level::IndeterminateQeSeal,
            _ => Level::NotApplicable,
        };
        (level, entry)
    }

    /// Puts the qualification of each signature (not of document timestamps) into a report,
    /// at its proven signing time or else `now`, with the lists' statuses.
    pub fn apply(&self, report: &mut Report, now: i64) {
        report.trusted_lists.clone_from(&self.statuses);
        for s in &mut report.signatures {
            if s.format == "PDF document timestamp" {
                continue;
            }
            let at = s
                .proven_signing_time
                .as_deref()
                .and_then(date_time)
                .unwrap_or(now);
            let (level, entry) = self.qualify(s.indication, &s.chain_certificates, at);
            s.qualification_level = Some(level.as_str().to_owned());
            s.trusted_list = entry;
        }
    }
}

impl List {
    /// Services over all providers.
    #[must_use]
    pub fn service_count(&self) -> usize {
        self.providers.iter().map(|p| p.services.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service_xml(name: &str, status: &str, start: &str, history: &str) -> String {
        format!(
            "<tsl:TSPService><tsl:ServiceInformation>\
             <tsl:ServiceTypeIdentifier>{CA_QC}</tsl:ServiceTypeIdentifier>\
             <tsl:ServiceName><tsl:Name xml:lang=\"da\">dansk</tsl:Name>\
             <tsl:Name xml:lang=\"en\">{name}</tsl:Name></tsl:ServiceName>\
             <tsl:ServiceDigitalIdentity/>\
             <tsl:ServiceStatus>{status}</tsl:ServiceStatus>\
             <tsl:StatusStartingTime>{start}</tsl:StatusStartingTime>\
             <tsl:ServiceInformationExtensions><tsl:Extension Critical=\"true\">\
             <ecc:Qualifications><ecc:QualificationElement><ecc:Qualifiers>\
             <ecc:Qualifier uri=\"{SVC_INFO_EXT}QCWithSSCD\"/></ecc:Qualifiers>\
             <ecc:CriteriaList assert=\"atLeastOne\"><ecc:PolicySet><ecc:PolicyIdentifier>\
             <xades:Identifier Qualifier=\"OIDAsURN\">urn:oid:1.2.3.4</xades:Identifier>\
             </ecc:PolicyIdentifier></ecc:PolicySet></ecc:CriteriaList>\
             </ecc:QualificationElement></ecc:Qualifications></tsl:Extension>\
             <tsl:Extension Critical=\"false\"><tsl:AdditionalServiceInformation>\
             <tsl:URI>{SVC_INFO_EXT}ForeSignatures</tsl:URI></tsl:AdditionalServiceInformation>\
             </tsl:Extension></tsl:ServiceInformationExtensions>\
             </tsl:ServiceInformation>{history}</tsl:TSPService>"
        )
    }

    fn list_xml(services: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <tsl:TrustServiceStatusList xmlns:tsl=\"{TSL}\" xmlns:ecc=\"{ECC}\" \
             xmlns:tslx=\"{TSLX}\" xmlns:xades=\"{XADES}\" Id=\"tsl\">\
             <tsl:SchemeInformation><tsl:TSLSequenceNumber>42</tsl:TSLSequenceNumber>\
             <tsl:SchemeTerritory>DK</tsl:SchemeTerritory>\
             <tsl:ListIssueDateTime>2026-01-01T00:00:00Z</tsl:ListIssueDateTime>\
             <tsl:NextUpdate><tsl:dateTime>2026-07-01T00:00:00Z</tsl:dateTime></tsl:NextUpdate>\
             <tsl:PointersToOtherTSL><tsl:OtherTSLPointer>\
             <tsl:ServiceDigitalIdentities/>\
             <tsl:TSLLocation>http://example.test/se.xml</tsl:TSLLocation>\
             <tsl:AdditionalInformation><tsl:OtherInformation>\
             <tsl:SchemeTerritory>SE</tsl:SchemeTerritory></tsl:OtherInformation>\
             <tsl:OtherInformation><tslx:MimeType>{XML_MIME}</tslx:MimeType>\
             </tsl:OtherInformation></tsl:AdditionalInformation>\
             </tsl:OtherTSLPointer></tsl:PointersToOtherTSL></tsl:SchemeInformation>\
             <tsl:TrustServiceProviderList><tsl:TrustServiceProvider><tsl:TSPInformation>\
             <tsl:TSPName><tsl:Name xml:lang=\"en\">Test TSP</tsl:Name></tsl:TSPName>\
             </tsl:TSPInformation><tsl:TSPServices>{services}</tsl:TSPServices>\
             </tsl:TrustServiceProvider></tsl:TrustServiceProviderList>\
             </tsl:TrustServiceStatusList>"
        )
    }

    #[test]
    fn a_list_is_read_with_its_pointers_services_qualifiers_and_history() {
        let history = "<tsl:ServiceHistory><tsl:ServiceHistoryInstance>\
             <tsl:ServiceTypeIdentifier>x</tsl:ServiceTypeIdentifier>\
             <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted\
             </tsl:ServiceStatus>\
             <tsl:StatusStartingTime>2017-01-01T00:00:00Z</tsl:StatusStartingTime>\
             </tsl:ServiceHistoryInstance></tsl:ServiceHistory>";
        let withdrawn = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn";
        let xml = list_xml(&service_xml(
            "Old CA",
            withdrawn,
            "2024-03-01T10:00:00+01:00",
            history,
        ));
        let list = parse(xml.as_bytes(), &Budget::default()).unwrap();
        assert_eq!(list.territory, "DK");
        assert_eq!(list.sequence_number, Some(42));
        assert_eq!(list.next_update, date_time("2026-07-01T00:00:00Z"));
        let [pointer] = list.pointers.as_slice() else {
            panic!("{:?}", list.pointers)
        };
        assert!(pointer.is_xml() && !pointer.is_list_of_lists());
        assert_eq!(pointer.territory.as_deref(), Some("SE"));
        let service = &list.providers[0].services[0];
        assert_eq!(list.providers[0].name, "Test TSP");
        assert_eq!(service.name, "Old CA", "the English name is chosen");
        assert_eq!(service.periods.len(), 2);
        let period = &service.periods[0];
        assert_eq!(period.qualifications[0].qualifiers.len(), 1);
        assert!(matches!(
            period.qualifications[0].criteria.items[0],
            Criterion::Policies(ref oids) if oids == &[ObjectIdentifier::new_unwrap("1.2.3.4")]
        ));
        assert_eq!(period.scope(), (true, false));
        // The status at a time: granted from 2017 until the withdrawal (09:00 UTC).
        let withdrawal = date_time("2024-03-01T09:00:00Z").unwrap();
        assert_eq!(
            service.period_at(withdrawal - 1).map(|p| p.status.as_str()),
            Some(GRANTED)
        );
        assert_eq!(
            service.period_at(withdrawal).map(|p| p.status.as_str()),
            Some(withdrawn)
        );
        assert!(service
            .period_at(date_time("2016-12-31T23:59:59Z").unwrap())
            .is_none());
        assert!(qualified_status(GRANTED, withdrawal));
        assert!(!qualified_status(withdrawn, withdrawal));
        assert!(qualified_status(BEFORE_EIDAS[2], EIDAS_APPLIES - 1));
        assert!(!qualified_status(BEFORE_EIDAS[2], EIDAS_APPLIES));
    }

    #[test]
    fn a_list_over_its_budgets_is_refused_with_its_code() {
        let one = service_xml("CA", GRANTED, "2020-01-01T00:00:00Z", "");
        let xml = list_xml(&one.repeat(5));
        assert!(parse(xml.as_bytes(), &Budget::default()).is_ok());
        let few = Budget {
            services: 4,
            ..Budget::default()
        };
        let e = parse(xml.as_bytes(), &few).unwrap_err();
        assert_eq!(e.code(), "tl_too_many", "{e}");
        assert!(e.to_string().contains("more than 4 services"), "{e}");
        let small = Budget {
            bytes: 1000,
            ..Budget::default()
        };
        let e = parse(xml.as_bytes(), &small).unwrap_err();
        assert_eq!(e.code(), "xml_too_large", "{e}");
        let short = Budget {
            text: 10,
            ..Budget::default()
        };
        let e = parse(xml.as_bytes(), &short).unwrap_err();
        assert_eq!(e.code(), "tl_too_long", "{e}");
        let history = format!(
            "<tsl:ServiceHistory>{}</tsl:ServiceHistory>",
            "<tsl:ServiceHistoryInstance><tsl:ServiceStatus>s</tsl:ServiceStatus>\
             <tsl:StatusStartingTime>2020-01-01T00:00:00Z</tsl:StatusStartingTime>\
             </tsl:ServiceHistoryInstance>"
                .repeat(3)
        );
        let xml = list_xml(&service_xml(
            "CA",
            GRANTED,
            "2021-01-01T00:00:00Z",
            &history,
        ));
        let brief = Budget {
            history: 2,
            ..Budget::default()
        };
        assert_eq!(
            parse(xml.as_bytes(), &brief).unwrap_err().code(),
            "tl_too_many"
        );
        // Not a list, a DTD, a bad time.
        assert_eq!(
            parse(b"<a/>", &Budget::default()).unwrap_err(),
            Error::NotAList
        );
        assert_eq!(
            parse(b"<!DOCTYPE a []><a/>", &Budget::default())
                .unwrap_err()
                .code(),
            "xml_dtd"
        );
        let bad = list_xml(&service_xml("CA", GRANTED, "yesterday", ""));
        assert_eq!(
            parse(bad.as_bytes(), &Budget::default())
                .unwrap_err()
                .code(),
            "tl_malformed"
        );
    }

    #[test]
    fn an_unsigned_or_partly_signed_list_is_refused() {
        let xml = list_xml("");
        let e = verify(xml.as_bytes(), &[], 0, &Budget::default()).unwrap_err();
        assert_eq!(e.code(), "tl_signature", "{e}");
        // A signature that references only a part of the list.
        let partial = xml.replace(
            "</tsl:TrustServiceStatusList>",
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
             <ds:Reference URI=\"#other\"><ds:Transforms><ds:Transform \
             Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
             </ds:Transforms></ds:Reference></ds:SignedInfo></ds:Signature>\
             </tsl:TrustServiceStatusList>",
        );
        let e = verify(partial.as_bytes(), &[], 0, &Budget::default()).unwrap_err();
        assert!(e.to_string().contains("whole list"), "{e}");
    }

    #[test]
    fn times_read_with_fractions_and_offsets() {
        assert_eq!(date_time("2016-07-01T00:00:00Z"), Some(EIDAS_APPLIES));
        assert_eq!(
            date_time("2016-07-01T02:00:00.250+02:00"),
            Some(EIDAS_APPLIES)
        );
        assert_eq!(date_time("2016-06-30T22:00:00-02:00"), Some(EIDAS_APPLIES));
        assert_eq!(date_time("2016-07-01T00:00:00"), Some(EIDAS_APPLIES));
        assert_eq!(date_time("2016-13-01T00:00:00Z"), None);
        assert_eq!(date_time("2016-07-01"), None);
        assert_eq!(date_time("2016-07-01T00:00Z"), None);
    }

    #[test]
    fn without_a_chain_or_a_listed_service_nothing_is_qualified() {
        let set = Set::default();
        assert_eq!(
            set.qualify(Indication::TotalPassed, &[], 0),
            (Level::NotApplicable, None)
        );
        assert_eq!(Level::AdESealQc.as_str(), "AdESeal-QC");
        assert_eq!(Level::IndeterminateQeSig.as_str(), "Indeterminate-QESig");
    }
}
