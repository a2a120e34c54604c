//! The qualification of a signature at its signing time (ETSI TS 119 615, after
//! EN 319 102-1 §5.6; simplified): the CA/QC service above the signer, its status then, the
//! certificate's QCStatements as the service's qualifiers complete or override them, and the
//! service's scope.

use der::asn1::ObjectIdentifier;
use der::Decode as _;
use x509_cert::ext::pkix::{CertificatePolicies, KeyUsage, KeyUsages};

use super::{
    Assert, Criteria, Criterion, Kind, Level, List, Period, Provider, Service, BEFORE_EIDAS, CA_QC,
    EIDAS_APPLIES, GRANTED, SVC_INFO_EXT,
};
use crate::validate::chain::Cert;
use crate::validate::cms;
use crate::validate::report::{
    rfc3339, Indication, Qualification, Report, TrustedListReport, TrustedListStatus,
};

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
pub(super) fn qualified_status(status: &str, at: i64) -> bool {
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
    pub(super) fn scope(&self) -> (bool, bool) {
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
                .and_then(super::date_time)
                .unwrap_or(now);
            let (level, entry) = self.qualify(s.indication, &s.chain_certificates, at);
            s.qualification_level = Some(level.as_str().to_owned());
            s.trusted_list = entry;
        }
    }
}
