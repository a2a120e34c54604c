//! The validation report, in the spirit of ETSI TS 119 102-2: an indication per signature with
//! its sub-indication, and what was found on the way.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::formats::representation::{Capacity, Mandate, Rule};

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
    /// An algorithm or key size is below what the validation policy accepts, whatever the
    /// time (a key too short).
    CryptoConstraintsFailure,
    /// An algorithm was past the end date the validation policy gives it at the best
    /// signature time, and nothing proves the signature existed before that date.
    CryptoConstraintsFailureNoPoe,
    /// The revocation data is older than the validation policy accepts for a certificate
    /// revoked after the best signature time (EN 319 102-1 §5.2.6).
    RevokedNoPoe,
}

impl SubIndication {
    /// The name EN 319 102-1 gives it (`HASH_FAILURE`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FormatFailure => "FORMAT_FAILURE",
            Self::HashFailure => "HASH_FAILURE",
            Self::SigCryptoFailure => "SIG_CRYPTO_FAILURE",
            Self::Revoked => "REVOKED",
            Self::SigConstraintsFailure => "SIG_CONSTRAINTS_FAILURE",
            Self::ChainConstraintsFailure => "CHAIN_CONSTRAINTS_FAILURE",
            Self::NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
            Self::NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
            Self::OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
            Self::NotYetValid => "NOT_YET_VALID",
            Self::TryLater => "TRY_LATER",
            Self::TimestampFailure => "TIMESTAMP_FAILURE",
            Self::CryptoConstraintsFailure => "CRYPTO_CONSTRAINTS_FAILURE",
            Self::CryptoConstraintsFailureNoPoe => "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
            Self::RevokedNoPoe => "REVOKED_NO_POE",
        }
    }
}

/// The checks a validation policy decides about ([`super::policy`]): each may fail the
/// signature, only warn, or be ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// No CRL or OCSP response says whether a certificate of the chain is revoked.
    RevocationMissing,
    /// The revocation data is older, at the best signature time, than the policy allows.
    RevocationFreshness,
    /// A certificate of the chain expired and no timestamp proves the signature came first.
    CertificateExpired,
    /// The signer's certificate does not chain to a trust anchor.
    ChainNotTrusted,
    /// The signature has no signature timestamp (it stays at B-B).
    TimestampMissing,
    /// A PDF's metadata (information dictionary, XMP) was changed after the signature.
    PdfMetadataChanges,
    /// A digest or signature algorithm past its end date, or an RSA key too short.
    Algorithms,
    /// The signature is not a qualified one (QESig or QESeal).
    RequireQualified,
}

impl Constraint {
    /// Every constraint, in the order they are reported.
    pub const ALL: [Self; 8] = [
        Self::ChainNotTrusted,
        Self::CertificateExpired,
        Self::RevocationMissing,
        Self::RevocationFreshness,
        Self::Algorithms,
        Self::TimestampMissing,
        Self::PdfMetadataChanges,
        Self::RequireQualified,
    ];

    /// The key in `policies/validation.toml`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RevocationMissing => "revocation_missing",
            Self::RevocationFreshness => "revocation_freshness",
            Self::CertificateExpired => "certificate_expired",
            Self::ChainNotTrusted => "chain_not_trusted",
            Self::TimestampMissing => "timestamp_missing",
            Self::PdfMetadataChanges => "pdf_metadata_changes",
            Self::Algorithms => "algorithms",
            Self::RequireQualified => "require_qualified",
        }
    }
}

/// One failure a check recorded, in the order found: what it decided and the policy
/// constraint that governs it, if any (the others always fail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The indication it gives.
    pub indication: Indication,
    /// Its sub-indication.
    pub sub: SubIndication,
    /// In words (also in the report's `errors`).
    pub why: String,
    /// The constraint a validation policy may relax.
    pub constraint: Option<Constraint>,
}

impl Failure {
    /// Records the failure: in `facts`, its reason in `errors`, and in the indication when the
    /// current one yields to it (the first failure decides, a later total failure overrides an
    /// indeterminate one).
    pub(super) fn record(
        self,
        facts: &mut Facts,
        errors: &mut Vec<String>,
        indication: &mut Indication,
        sub_indication: &mut Option<SubIndication>,
    ) {
        errors.push(self.why.clone());
        if indication.yields_to(self.indication) {
            *indication = self.indication;
            *sub_indication = Some(self.sub);
        }
        facts.failures.push(self);
    }
}

/// Revocation data a check used: a CRL or an OCSP response, and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationData {
    /// The DER.
    pub der: Vec<u8>,
    /// An OCSP response (else a CRL).
    pub ocsp: bool,
    /// Its `thisUpdate`, Unix seconds.
    pub issued: i64,
}

/// What the checks found besides the verdict, for the validation policy and the ETSI report;
/// not part of the JSON report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Every failure, in the order found.
    pub failures: Vec<Failure>,
    /// The signature value.
    pub signature_value: Vec<u8>,
    /// The digest algorithm of the signed data (`SHA-256`, ...).
    pub digest_algorithm: Option<&'static str>,
    /// The signature algorithm (`ECDSA`, `RSA`, `RSA-PSS`).
    pub signature_algorithm: Option<&'static str>,
    /// The size of the signer's RSA modulus, bits.
    pub rsa_bits: Option<usize>,
    /// The chain, DER, from the signer's certificate to the anchor.
    pub certificates: Vec<Vec<u8>>,
    /// The revocation data that answered for the signer's certificate.
    pub revocation_data: Vec<RevocationData>,
    /// When the revocation status of the signer's certificate was known (the data's
    /// `thisUpdate`, or the validation time for first-hand or fetched knowledge).
    pub revocation_issued: Option<i64>,
    /// The signature timestamp tokens (DER).
    pub timestamps: Vec<Vec<u8>>,
    /// The time a signature timestamp proves, Unix seconds.
    pub proven: Option<i64>,
    /// The digest of the signed data object as the validator computed it (PDF byte ranges,
    /// CMS content, an XML signature's first data reference): the ETSI report's
    /// `SignersDocument`.
    pub signed_data: Option<SignedData>,
}

/// The digest of a signature's signed data object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData {
    /// Its algorithm, as validation policies name it (`SHA-256`, ...).
    pub algorithm: &'static str,
    /// The digest.
    pub digest: Vec<u8>,
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
    /// Where that status came from: `embedded` (in the file), `own_ca` (the service's own
    /// CA), `fetched_ocsp`, `fetched_crl`, or `none`.
    pub revocation_source: Option<String>,
    /// QCStatements.
    pub qualification: Qualification,
    /// PDF: which bytes the signature covers.
    pub coverage: Option<Coverage>,
    /// The capacity the signature was made in, as signed with it (CAdES and PAdES
    /// signer-attributes-v2, XAdES `SignerRoleV2`).
    pub capacity: Option<CapacityReport>,
    /// What the validation policy only warns about.
    pub warnings: Vec<String>,
    /// What the checks found besides the verdict.
    #[serde(skip)]
    pub facts: Facts,
    /// The qualification at the best signature time (ETSI TS 119 615): `QESig`, `QESeal`,
    /// `AdESig-QC`, `AdESeal-QC`, `AdESig`, `AdESeal`, `Indeterminate-QESig`,
    /// `Indeterminate-QESeal` or `N/A`; absent when no trusted lists are in use.
    #[serde(rename = "qualification_at_signing_time")]
    pub qualification_level: Option<String>,
    /// The trusted-list service the signer's certificate was issued under, with its status at
    /// the best signature time.
    pub trusted_list: Option<TrustedListReport>,
    /// The chain as certificates, from the signer to the anchor: what the qualification is
    /// decided from (not part of the report itself).
    #[serde(skip)]
    pub chain_certificates: Vec<super::chain::Cert>,
}

/// The trusted-list entry of the service that issued a signer's certificate (ETSI TS 119 612).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrustedListReport {
    /// The list's scheme territory (`DK`, `SE`, ...).
    pub country: String,
    /// The trust service provider's name.
    pub tsp: String,
    /// The service's name.
    pub service: String,
    /// The service's status at the best signature time (a URI of TS 119 612), if it had one.
    pub status: Option<String>,
    /// When that status began, RFC 3339.
    pub status_start: Option<String>,
}

/// What became of one trusted list: verified and used, or why not.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrustedListStatus {
    /// Where the list was fetched from.
    pub location: String,
    /// Its scheme territory (`EU` for the list of lists), when known.
    pub territory: Option<String>,
    /// Its sequence number, when it was read.
    pub sequence_number: Option<u64>,
    /// Its next update, RFC 3339, when it was read.
    pub next_update: Option<String>,
    /// Whether a verified copy is in use.
    pub verified: bool,
    /// What went wrong (a fetch, a parse, a signature), also when an older verified copy is
    /// used instead.
    pub problem: Option<String>,
    /// Trust service providers in the list in use.
    pub providers: usize,
    /// Services in the list in use.
    pub services: usize,
}

/// The capacity a signature was made in: a role in an organisation, under its rule of
/// representation, possibly through a power of attorney.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CapacityReport {
    /// The role signed in (`director`, `board`, ...).
    pub role: String,
    /// The organisation's name.
    pub organisation: String,
    /// Its CVR number.
    pub cvr: String,
    /// The rule of representation recorded with the signature.
    pub rule: Option<String>,
    /// The power of attorney used, if any.
    pub mandate: Option<Mandate>,
    /// All of it in words.
    pub text: String,
}

impl From<&Capacity> for CapacityReport {
    fn from(c: &Capacity) -> Self {
        Self {
            role: c.role.clone(),
            organisation: c.organisation.clone(),
            cvr: c.cvr.clone(),
            rule: c.rule.clone(),
            mandate: c.mandate.clone(),
            text: c.text(),
        }
    }
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
            revocation_source: None,
            qualification: Qualification::default(),
            coverage: None,
            capacity: None,
            warnings: Vec::new(),
            facts: Facts::default(),
            qualification_level: None,
            trusted_list: None,
            chain_certificates: Vec::new(),
        }
    }

    /// Records a failure; the first decides the indication, a later total failure overrides an
    /// indeterminate one.
    pub fn fail(&mut self, indication: Indication, sub: SubIndication, why: String) {
        self.fail_on(None, indication, sub, why);
    }

    /// [`SignatureReport::fail`] for a failure that a validation policy's `constraint`
    /// governs.
    pub fn fail_on(
        &mut self,
        constraint: Option<Constraint>,
        indication: Indication,
        sub: SubIndication,
        why: String,
    ) {
        let failure = Failure {
            indication,
            sub,
            why,
            constraint,
        };
        failure.record(
            &mut self.facts,
            &mut self.errors,
            &mut self.indication,
            &mut self.sub_indication,
        );
    }

    /// The TS 119 615 qualification of the signature (`QESig`, `QESeal`, `AdESig-QC`, ...),
    /// when it is known (trusted lists in use).
    #[must_use]
    pub fn qualification_level(&self) -> Option<&str> {
        self.qualification_level.as_deref()
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

/// Whether the signatures made for an organisation under one rule of representation bind it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RepresentationReport {
    /// The organisation's CVR number.
    pub cvr: String,
    /// Its name, as the first signature for it says.
    pub organisation: String,
    /// The rule of representation, as the signatures recorded it.
    pub rule: String,
    /// Whether the signatures that passed, each signer counted once in the role they signed
    /// in, meet the rule.
    pub satisfied: bool,
    /// Who signed as what: "role: signer's name", one per signer whose signature passed.
    pub signed_as: Vec<String>,
    /// What is still needed, in words ("1 more board"); a rule that does not parse says so
    /// here.
    pub missing: Vec<String>,
}

/// The validation policy a report was judged under.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PolicyUsed {
    /// Its name.
    pub name: String,
    /// SHA-256 of its settings (hex), which changes with any of them.
    pub digest: String,
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
    /// For each organisation and rule of representation among the signatures' capacities:
    /// whether the signatures meet the rule ([`representation`]).
    pub representation: Vec<RepresentationReport>,
    /// The validation policy applied, once one is ([`super::policy::Policy::apply`]).
    pub policy: Option<PolicyUsed>,
    /// The validation time, Unix seconds.
    #[serde(skip)]
    pub validated_at: i64,
    /// The trusted lists in use (none when none are configured), each verified or why not.
    pub trusted_lists: Vec<TrustedListStatus>,
}

/// The representation check over a file's signatures: for each distinct (CVR, rule) among the
/// capacities that record a rule, the signers whose signatures passed (TOTAL-PASSED), each
/// counted once (by the certificate's subject) in the role of their first such signature,
/// against the rule ([`Rule::satisfied`], [`Rule::missing`]). Signatures that did not pass do
/// not count; a rule that does not parse is not met.
#[must_use]
pub fn representation(signatures: &[SignatureReport]) -> Vec<RepresentationReport> {
    struct Group<'a> {
        organisation: &'a str,
        /// (signer's subject, role, signer's name), each subject once.
        signers: Vec<(&'a str, &'a str, &'a str)>,
    }
    let mut groups: BTreeMap<(&str, &str), Group<'_>> = BTreeMap::new();
    for s in signatures {
        let Some(capacity) = &s.capacity else {
            continue;
        };
        let Some(rule) = &capacity.rule else {
            continue;
        };
        let group = groups
            .entry((capacity.cvr.as_str(), rule.as_str()))
            .or_insert_with(|| Group {
                organisation: capacity.organisation.as_str(),
                signers: Vec::new(),
            });
        let Some(signer) = &s.signer else {
            continue;
        };
        if s.indication != Indication::TotalPassed
            || group
                .signers
                .iter()
                .any(|(subject, ..)| *subject == signer.subject)
        {
            continue;
        }
        let name = signer.name.as_deref().unwrap_or(signer.subject.as_str());
        group
            .signers
            .push((signer.subject.as_str(), capacity.role.as_str(), name));
    }
    groups
        .into_iter()
        .map(|((cvr, rule), group)| {
            let roles: Vec<&str> = group.signers.iter().map(|(_, role, _)| *role).collect();
            let (satisfied, missing) = match Rule::parse(rule) {
                Ok(parsed) => (parsed.satisfied(&roles), parsed.missing(&roles)),
                Err(e) => (false, vec![format!("the rule does not parse: {e}")]),
            };
            RepresentationReport {
                cvr: cvr.to_owned(),
                organisation: group.organisation.to_owned(),
                rule: rule.to_owned(),
                satisfied,
                signed_as: group
                    .signers
                    .iter()
                    .map(|(_, role, name)| format!("{role}: {name}"))
                    .collect(),
                missing,
            }
        })
        .collect()
}

impl Report {
    /// A report of a file's signatures, with the representation check over them.
    #[must_use]
    pub fn new(file: &str, signatures: Vec<SignatureReport>, validation_time: String) -> Self {
        let representation = representation(&signatures);
        Self {
            file: file.to_owned(),
            signatures,
            validation_time,
            representation,
            policy: None,
            validated_at: 0,
            trusted_lists: Vec::new(),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(subject: &str, role: &str, rule: Option<&str>, passed: bool) -> SignatureReport {
        let mut r = SignatureReport::new(subject.to_owned(), "PAdES");
        if !passed {
            r.fail(
                Indication::TotalFailed,
                SubIndication::HashFailure,
                "changed".into(),
            );
        }
        r.signer = Some(Signer {
            name: Some(subject.trim_start_matches("CN=").to_owned()),
            subject: subject.to_owned(),
            ..Signer::default()
        });
        r.capacity = Some(CapacityReport {
            role: role.to_owned(),
            organisation: "Rungstedlund A/S".into(),
            cvr: "35408002".into(),
            rule: rule.map(str::to_owned),
            mandate: None,
            text: String::new(),
        });
        r
    }

    #[test]
    fn representation_counts_each_passed_signer_once_in_their_role() {
        let rule = Some("director | board{2}");
        let one = [signed("CN=Ann", "board", rule, true)];
        let checked = representation(&one);
        assert_eq!(checked.len(), 1);
        assert_eq!(checked[0].rule, "director | board{2}");
        assert!(!checked[0].satisfied);
        assert_eq!(checked[0].missing, ["1 more board", "1 more director"]);
        assert_eq!(checked[0].signed_as, ["board: Ann"]);
        // The same signer twice counts once; a signature that failed does not count.
        let not_enough = [
            signed("CN=Ann", "board", rule, true),
            signed("CN=Ann", "board", rule, true),
            signed("CN=Bo", "board", rule, false),
        ];
        let checked = representation(&not_enough);
        assert!(!checked[0].satisfied);
        assert_eq!(checked[0].signed_as, ["board: Ann"]);
        let two = [
            signed("CN=Ann", "board", rule, true),
            signed("CN=Bo", "board", rule, true),
        ];
        let checked = representation(&two);
        assert!(checked[0].satisfied);
        assert!(checked[0].missing.is_empty());
        assert_eq!(checked[0].signed_as, ["board: Ann", "board: Bo"]);
        // Without a rule nothing is checked; a rule that does not parse is not met.
        assert!(representation(&[signed("CN=Cy", "director", None, true)]).is_empty());
        let broken = representation(&[signed("CN=Cy", "director", Some("director |"), true)]);
        assert!(!broken[0].satisfied);
        assert!(broken[0].missing[0].starts_with("the rule does not parse"));
        // Each (CVR, rule) is checked on its own.
        let mut other = signed("CN=Di", "director", rule, true);
        if let Some(c) = other.capacity.as_mut() {
            c.cvr = "12345678".into();
        }
        let checked = representation(&[signed("CN=Ann", "board", rule, true), other]);
        assert_eq!(checked.len(), 2);
        assert!(checked.iter().any(|c| c.cvr == "12345678" && c.satisfied));
        assert!(checked.iter().any(|c| c.cvr == "35408002" && !c.satisfied));
    }
}
