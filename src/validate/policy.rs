//! Validation policies (`policies/validation.toml`, in the spirit of ETSI TS 119 172-4 and EU
//! DSS's constraint file): for each check a validation policy governs ([`Constraint`]),
//! whether it fails the signature, only warns, or is ignored; the revocation data's greatest
//! age; the digest and signature algorithms accepted, each with an end date; the least RSA
//! key size.
//!
//! A policy is applied after the checks, as a pure function of the report
//! ([`Policy::apply`]): the failures the checks recorded under a constraint the policy
//! relaxes become warnings or disappear; the policy's own checks (algorithms, freshness,
//! timestamp, PDF metadata, qualification) add theirs; the indication is then decided again
//! from the failures that remain, in the order they were found (EN 319 102-1: the first
//! decides, a later TOTAL-FAILED overrides an INDETERMINATE).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::report::{
    representation, Constraint, Failure, Indication, PolicyUsed, Report, SignatureReport,
    SubIndication,
};
use crate::types::{check_policy_name, PolicyFile};

/// The built-in policies, compiled in from `policies/validation.toml`.
pub const DEFAULT_POLICIES: &str = include_str!("../../policies/validation.toml");

/// The policy used when a request names none; every policy file must define it.
pub const DEFAULT_POLICY: &str = "default";

/// Digest algorithms a policy may name.
const DIGESTS: [&str; 4] = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];

/// Signature algorithms a policy may name.
const SIGNATURES: [&str; 3] = ["ECDSA", "RSA", "RSA-PSS"];

/// Most policies in one file.
const MAX_POLICIES: usize = 64;

/// What a policy does with a check that does not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The signature does not pass (INDETERMINATE or TOTAL-FAILED, with the check's
    /// sub-indication).
    Fail,
    /// The signature may pass; the finding is listed in its `warnings`.
    Warn,
    /// Not checked, or its finding dropped.
    Ignore,
}

/// An accepted algorithm and the day it stops being accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Algorithm {
    /// Its name (`SHA-256`, `ECDSA`, ...).
    pub name: String,
    /// `YYYY-MM-DD` (UTC midnight), as written; `None`: no end.
    pub until: Option<String>,
    /// [`Algorithm::until`] in Unix seconds.
    #[serde(skip)]
    until_unix: Option<i64>,
}

/// One validation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Stable name, selected with `?policy=` or `qsign verify --policy`.
    pub name: String,
    /// In words.
    pub description: String,
    /// What each check does, in [`Constraint::ALL`] order.
    levels: Vec<(Constraint, Level)>,
    /// The greatest age of revocation data at the best signature time, seconds.
    pub revocation_max_age_secs: Option<u64>,
    /// The least RSA modulus, bits.
    pub min_rsa_bits: usize,
    /// Accepted digest algorithms.
    pub digest_algorithms: Vec<Algorithm>,
    /// Accepted signature algorithms.
    pub signature_algorithms: Vec<Algorithm>,
}

/// Every policy of a file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policies(Vec<Policy>);

impl Policies {
    /// Parses and checks policies: names unique and made of `[a-z0-9-]`, one named
    /// `default`, `chain_not_trusted` never `ignore` (a signature no trust anchor vouches for
    /// proves nothing), a `revocation_max_age_secs` when freshness is checked, known algorithm
    /// names with `YYYY-MM-DD` end dates, and at least one digest and one signature algorithm
    /// when algorithms are checked.
    ///
    /// # Errors
    /// A message naming the policy and the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let entries = PolicyFile::<Entry>::entries(text)?;
        if entries.len() > MAX_POLICIES {
            return Err(format!("more than {MAX_POLICIES} policies"));
        }
        let mut out: Vec<Policy> = Vec::new();
        for e in entries {
            let name = e.name;
            let fail = |m: &str| format!("validation policy {name:?}: {m}");
            check_policy_name(&name, out.iter().map(|p| p.name.as_str())).map_err(&fail)?;
            let c = e.checks;
            if c.chain_not_trusted == Level::Ignore {
                return Err(fail("chain_not_trusted must be fail or warn"));
            }
            if c.revocation_freshness != Level::Ignore && e.revocation_max_age_secs.is_none() {
                return Err(fail("revocation_freshness needs revocation_max_age_secs"));
            }
            let digest_algorithms = algorithms(e.digest_algorithm, &DIGESTS, &fail)?;
            let signature_algorithms = algorithms(e.signature_algorithm, &SIGNATURES, &fail)?;
            if c.algorithms != Level::Ignore
                && (digest_algorithms.is_empty() || signature_algorithms.is_empty())
            {
                return Err(fail(
                    "checking algorithms needs a digest_algorithm and a signature_algorithm",
                ));
            }
            let levels = Constraint::ALL
                .iter()
                .map(|constraint| {
                    let level = match constraint {
                        Constraint::ChainNotTrusted => c.chain_not_trusted,
                        Constraint::CertificateExpired => c.certificate_expired,
                        Constraint::RevocationMissing => c.revocation_missing,
                        Constraint::RevocationFreshness => c.revocation_freshness,
                        Constraint::Algorithms => c.algorithms,
                        Constraint::TimestampMissing => c.timestamp_missing,
                        Constraint::PdfMetadataChanges => c.pdf_metadata_changes,
                        Constraint::RequireQualified => c.require_qualified,
                    };
                    (*constraint, level)
                })
                .collect();
            out.push(Policy {
                name,
                description: e.description,
                levels,
                revocation_max_age_secs: e.revocation_max_age_secs,
                min_rsa_bits: usize::try_from(e.min_rsa_bits.unwrap_or(0)).unwrap_or(usize::MAX),
                digest_algorithms,
                signature_algorithms,
            });
        }
        if !out.iter().any(|p| p.name == DEFAULT_POLICY) {
            return Err(format!("no validation policy named {DEFAULT_POLICY:?}"));
        }
        Ok(Self(out))
    }

    /// A policy by name; `None` names [`DEFAULT_POLICY`].
    #[must_use]
    pub fn get(&self, name: Option<&str>) -> Option<&Policy> {
        let name = name.unwrap_or(DEFAULT_POLICY);
        self.0.iter().find(|p| p.name == name)
    }

    /// Every policy, in file order.
    #[must_use]
    pub fn all(&self) -> &[Policy] {
        &self.0
    }
}

impl Default for Policies {
    /// The built-in policies (a unit test checks that they parse; were they not to, no policy
    /// would be found and every validation would answer `unknown_policy`).
    fn default() -> Self {
        Self::parse(DEFAULT_POLICIES).unwrap_or_else(|_| Self(Vec::new()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    description: String,
    checks: Checks,
    #[serde(default)]
    revocation_max_age_secs: Option<u64>,
    #[serde(default)]
    min_rsa_bits: Option<u32>,
    #[serde(default)]
    digest_algorithm: Vec<AlgorithmEntry>,
    #[serde(default)]
    signature_algorithm: Vec<AlgorithmEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Checks {
    chain_not_trusted: Level,
    certificate_expired: Level,
    revocation_missing: Level,
    revocation_freshness: Level,
    algorithms: Level,
    timestamp_missing: Level,
    pdf_metadata_changes: Level,
    require_qualified: Level,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlgorithmEntry {
    name: String,
    #[serde(default)]
    until: Option<String>,
}

/// Unix seconds of a `YYYY-MM-DD` day at 00:00 UTC.
fn day(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    // Julian day 2440588 is 1970-01-01.
    Some((i64::from(date.to_julian_day()) - 2_440_588) * 86_400)
}

fn algorithms(
    entries: Vec<AlgorithmEntry>,
    known: &[&str],
    fail: &dyn Fn(&str) -> String,
) -> Result<Vec<Algorithm>, String> {
    let mut out: Vec<Algorithm> = Vec::new();
    for e in entries {
        if !known.contains(&e.name.as_str()) {
            return Err(fail(&format!(
                "unknown algorithm {:?} (known: {})",
                e.name,
                known.join(", ")
            )));
        }
        if out.iter().any(|a| a.name == e.name) {
            return Err(fail(&format!("algorithm {:?} named twice", e.name)));
        }
        let until_unix = e
            .until
            .as_deref()
            .map(|u| day(u).ok_or_else(|| fail(&format!("until {u:?} is not YYYY-MM-DD"))))
            .transpose()?;
        out.push(Algorithm {
            name: e.name,
            until: e.until,
            until_unix,
        });
    }
    Ok(out)
}

/// A finding of one of the policy's own checks.
struct Finding {
    constraint: Constraint,
    indication: Indication,
    sub: SubIndication,
    why: String,
}

impl Policy {
    /// What the policy does with `constraint`.
    #[must_use]
    pub fn level(&self, constraint: Constraint) -> Level {
        self.levels
            .iter()
            .find(|(c, _)| *c == constraint)
            .map_or(Level::Fail, |(_, level)| *level)
    }

    /// The name and digest the report carries.
    #[must_use]
    pub fn used(&self) -> PolicyUsed {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        PolicyUsed {
            name: self.name.clone(),
            digest: hex::encode(Sha256::digest(&canonical)),
        }
    }

    /// Applies the policy to a report: every signature judged again ([`Policy::judge`]), the
    /// representation check redone over the new verdicts, the policy named.
    pub fn apply(&self, report: &mut Report) {
        let now = report.validated_at;
        for s in &mut report.signatures {
            self.judge(s, now);
        }
        report.representation = representation(&report.signatures);
        report.policy = Some(self.used());
    }

    /// One signature under the policy, `now` being the validation time (Unix seconds).
    pub fn judge(&self, s: &mut SignatureReport, now: i64) {
        let mut kept: Vec<Failure> = Vec::with_capacity(s.facts.failures.len());
        let mut changed = false;
        for f in std::mem::take(&mut s.facts.failures) {
            match f.constraint.map_or(Level::Fail, |c| self.level(c)) {
                Level::Fail => kept.push(f),
                level => {
                    changed = true;
                    if let Some(at) = s.errors.iter().position(|e| *e == f.why) {
                        s.errors.remove(at);
                    }
                    if level == Level::Warn {
                        s.warnings.push(f.why);
                    }
                }
            }
        }
        for finding in self.findings(s, now) {
            match self.level(finding.constraint) {
                Level::Fail => {
                    changed = true;
                    s.errors.push(finding.why.clone());
                    kept.push(Failure {
                        indication: finding.indication,
                        sub: finding.sub,
                        why: finding.why,
                        constraint: Some(finding.constraint),
                    });
                }
                Level::Warn => s.warnings.push(finding.why),
                Level::Ignore => {}
            }
        }
        s.facts.failures = kept;
        if changed {
            s.indication = Indication::TotalPassed;
            s.sub_indication = None;
            for f in &s.facts.failures {
                if s.indication.yields_to(f.indication) {
                    s.indication = f.indication;
                    s.sub_indication = Some(f.sub);
                }
            }
        }
    }

    /// The policy's own checks of a signature: algorithms and key size, revocation
    /// freshness, the signature timestamp, PDF metadata changes, qualification.
    fn findings(&self, s: &SignatureReport, now: i64) -> Vec<Finding> {
        let mut out = Vec::new();
        if s.format == "PDF document timestamp" {
            return out;
        }
        let best = s.facts.proven.unwrap_or(now);
        let indeterminate = |constraint, sub, why: String| Finding {
            constraint,
            indication: Indication::Indeterminate,
            sub,
            why,
        };
        for (kind, used, accepted) in [
            ("digest", s.facts.digest_algorithm, &self.digest_algorithms),
            (
                "signature",
                s.facts.signature_algorithm,
                &self.signature_algorithms,
            ),
        ] {
            let Some(used) = used else { continue };
            match accepted.iter().find(|a| a.name == used) {
                None => out.push(indeterminate(
                    Constraint::Algorithms,
                    SubIndication::CryptoConstraintsFailure,
                    format!("the {kind} algorithm {used} is not accepted by the validation policy"),
                )),
                Some(a) if a.until_unix.is_some_and(|until| best >= until) => {
                    out.push(indeterminate(
                        Constraint::Algorithms,
                        SubIndication::CryptoConstraintsFailureNoPoe,
                        format!(
                            "the {kind} algorithm {used} was accepted until {} and nothing \
                             proves the signature existed before",
                            a.until.as_deref().unwrap_or_default()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(bits) = s.facts.rsa_bits.filter(|b| *b < self.min_rsa_bits) {
            out.push(indeterminate(
                Constraint::Algorithms,
                SubIndication::CryptoConstraintsFailure,
                format!(
                    "the signer's RSA key has {bits} bits, fewer than the {} the validation \
                     policy asks for",
                    self.min_rsa_bits
                ),
            ));
        }
        if let (Some(issued), Some(max_age)) =
            (s.facts.revocation_issued, self.revocation_max_age_secs)
        {
            let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
            if issued < best.saturating_sub(max_age) {
                let sub = if s.revocation == "revoked" {
                    SubIndication::RevokedNoPoe
                } else {
                    SubIndication::TryLater
                };
                out.push(indeterminate(
                    Constraint::RevocationFreshness,
                    sub,
                    format!(
                        "the revocation data is from {}, more than {max_age} seconds before the \
                         best signature time",
                        super::report::rfc3339(issued)
                    ),
                ));
            }
        }
        if s.proven_signing_time.is_none() {
            out.push(indeterminate(
                Constraint::TimestampMissing,
                SubIndication::SigConstraintsFailure,
                "no timestamp proves when the signature existed (the policy asks for B-T)".into(),
            ));
        }
        let metadata: Vec<String> = s
            .coverage
            .iter()
            .flat_map(|c| &c.later_changes)
            .filter(|c| c.what == "document information" || c.what == "XMP metadata")
            .map(|c| format!("{} (object {})", c.what, c.object))
            .collect();
        if !metadata.is_empty() {
            out.push(indeterminate(
                Constraint::PdfMetadataChanges,
                SubIndication::SigConstraintsFailure,
                format!("metadata changed after signing: {}", metadata.join(", ")),
            ));
        }
        if !matches!(s.qualification_level(), Some("QESig" | "QESeal")) {
            out.push(indeterminate(
                Constraint::RequireQualified,
                SubIndication::SigConstraintsFailure,
                format!(
                    "not a qualified electronic signature or seal ({})",
                    s.qualification_level()
                        .unwrap_or("qualification not established")
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::report::{Change, Coverage, Facts};

    const MIXED: &str = r#"
[[policy]]
name = "default"
description = "as the built-in default"
[policy.checks]
chain_not_trusted = "fail"
certificate_expired = "fail"
revocation_missing = "fail"
revocation_freshness = "ignore"
algorithms = "fail"
timestamp_missing = "ignore"
pdf_metadata_changes = "ignore"
require_qualified = "ignore"
[[policy.digest_algorithm]]
name = "SHA-1"
until = "2016-01-01"
[[policy.digest_algorithm]]
name = "SHA-256"
[[policy.signature_algorithm]]
name = "ECDSA"
[[policy.signature_algorithm]]
name = "RSA"

[[policy]]
name = "relaxed"
description = "warns instead"
revocation_max_age_secs = 3600
min_rsa_bits = 2048
[policy.checks]
chain_not_trusted = "warn"
certificate_expired = "warn"
revocation_missing = "ignore"
revocation_freshness = "fail"
algorithms = "warn"
timestamp_missing = "fail"
pdf_metadata_changes = "warn"
require_qualified = "warn"
[[policy.digest_algorithm]]
name = "SHA-256"
[[policy.signature_algorithm]]
name = "ECDSA"
"#;

    /// 2026-01-01 00:00 UTC.
    const NOW: i64 = 1_767_225_600;

    fn report(fill: impl FnOnce(&mut SignatureReport)) -> Report {
        let mut s = SignatureReport::new("s".into(), "CAdES");
        s.facts = Facts {
            digest_algorithm: Some("SHA-256"),
            signature_algorithm: Some("ECDSA"),
            proven: Some(NOW - 60),
            revocation_issued: Some(NOW - 120),
            ..Facts::default()
        };
        s.proven_signing_time = Some(super::super::report::rfc3339(NOW - 60));
        fill(&mut s);
        let mut r = Report::new("cms", vec![s], String::new());
        r.validated_at = NOW;
        r
    }

    fn judged(policies: &Policies, name: &str, mut r: Report) -> SignatureReport {
        policies.get(Some(name)).unwrap().apply(&mut r);
        assert_eq!(r.policy.as_ref().unwrap().name, name);
        r.signatures.remove(0)
    }

    /// The failure the checks record for a signature without revocation data.
    fn no_revocation(s: &mut SignatureReport) {
        s.fail_on(
            Some(Constraint::RevocationMissing),
            Indication::Indeterminate,
            SubIndication::TryLater,
            "no revocation information".into(),
        );
    }

    fn assert_warns(s: &SignatureReport, text: &str) {
        assert!(
            s.warnings.iter().any(|w| w.contains(text)),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn the_built_in_policies_parse_and_name_default_and_qualified() {
        let p = Policies::parse(DEFAULT_POLICIES).unwrap();
        assert_eq!(Policies::default(), p);
        let names: Vec<&str> = p.all().iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["default", "qualified"]);
        assert_eq!(p.get(None).unwrap().name, "default");
        assert!(p.get(Some("nope")).is_none());
        let q = p.get(Some("qualified")).unwrap();
        assert_eq!(q.level(Constraint::RequireQualified), Level::Fail);
        assert_eq!(q.level(Constraint::RevocationFreshness), Level::Fail);
        assert!(q.revocation_max_age_secs.is_some());
        // The digests differ between policies and are stable.
        assert_ne!(q.used().digest, p.get(None).unwrap().used().digest);
        assert_eq!(q.used(), q.clone().used());
    }

    #[test]
    fn inconsistent_policies_are_refused_with_the_policy_named() {
        let base = MIXED.replace("name = \"relaxed\"", "name = \"default\"");
        assert!(Policies::parse(&base)
            .unwrap_err()
            .contains("defined twice"));
        let no_default = MIXED.replace("name = \"default\"", "name = \"other\"");
        assert!(Policies::parse(&no_default)
            .unwrap_err()
            .contains("no validation policy"));
        let ignored = MIXED.replace(
            "chain_not_trusted = \"warn\"",
            "chain_not_trusted = \"ignore\"",
        );
        let e = Policies::parse(&ignored).unwrap_err();
        assert!(
            e.contains("\"relaxed\"") && e.contains("chain_not_trusted"),
            "{e}"
        );
        let fresh = MIXED.replace("revocation_max_age_secs = 3600\n", "");
        assert!(Policies::parse(&fresh)
            .unwrap_err()
            .contains("revocation_max_age_secs"));
        let md5 = MIXED.replace("name = \"SHA-1\"", "name = \"MD5\"");
        assert!(Policies::parse(&md5)
            .unwrap_err()
            .contains("unknown algorithm"));
        let date = MIXED.replace("2016-01-01", "2016-13-01");
        assert!(Policies::parse(&date).unwrap_err().contains("YYYY-MM-DD"));
        let unknown = MIXED.replace("min_rsa_bits = 2048", "min_rsa_bytes = 2048");
        assert!(Policies::parse(&unknown).is_err());
        let level = MIXED.replace("algorithms = \"warn\"", "algorithms = \"maybe\"");
        assert!(Policies::parse(&level).is_err());
        assert_eq!(day("1970-01-02"), Some(86_400));
        assert_eq!(day("2016-01-01"), Some(1_451_606_400));
        assert_eq!(day("2016-1-01"), None);
    }

    #[test]
    fn a_clean_signature_passes_and_the_default_changes_nothing() {
        let p = Policies::parse(MIXED).unwrap();
        let s = judged(&p, "default", report(|_| {}));
        assert_eq!(s.indication, Indication::TotalPassed);
        assert!(s.warnings.is_empty() && s.errors.is_empty());
        // A failure the default keeps stays exactly as the checks decided.
        let s = judged(
            &p,
            "default",
            report(|s| {
                no_revocation(s);
                s.fail(
                    Indication::TotalFailed,
                    SubIndication::HashFailure,
                    "changed".into(),
                );
            }),
        );
        assert_eq!(
            (s.indication, s.sub_indication),
            (Indication::TotalFailed, Some(SubIndication::HashFailure))
        );
        assert_eq!(s.errors.len(), 2);
    }

    #[test]
    fn an_algorithm_past_its_date_fails_and_a_relaxed_policy_only_warns() {
        let p = Policies::parse(MIXED).unwrap();
        let sha1 = || report(|s| s.facts.digest_algorithm = Some("SHA-1"));
        let s = judged(&p, "default", sha1());
        assert_eq!(s.indication, Indication::Indeterminate);
        assert_eq!(
            s.sub_indication,
            Some(SubIndication::CryptoConstraintsFailureNoPoe)
        );
        assert!(s.errors[0].contains("SHA-1") && s.errors[0].contains("2016-01-01"));
        // A timestamp from before the end date proves the signature existed in time.
        let s = judged(
            &p,
            "default",
            report(|s| {
                s.facts.digest_algorithm = Some("SHA-1");
                s.facts.proven = Some(day("2015-06-01").unwrap());
                s.facts.revocation_issued = s.facts.proven;
            }),
        );
        assert_eq!(s.indication, Indication::TotalPassed, "{:?}", s.errors);
        // The relaxed policy does not list SHA-1 at all, but only warns.
        let s = judged(&p, "relaxed", sha1());
        assert_eq!(s.indication, Indication::TotalPassed);
        assert_warns(&s, "not accepted");
        // A short RSA key.
        let s = judged(
            &p,
            "relaxed",
            report(|s| {
                s.facts.signature_algorithm = Some("ECDSA");
                s.facts.rsa_bits = Some(1024);
            }),
        );
        assert_warns(&s, "1024 bits");
    }

    #[test]
    fn relaxed_checks_turn_failures_into_warnings_or_drop_them() {
        let p = Policies::parse(MIXED).unwrap();
        let s = judged(
            &p,
            "relaxed",
            report(|s| {
                no_revocation(s);
                s.fail_on(
                    Some(Constraint::CertificateExpired),
                    Indication::Indeterminate,
                    SubIndication::OutOfBoundsNoPoe,
                    "expired".into(),
                );
            }),
        );
        assert_eq!(s.indication, Indication::TotalPassed, "{:?}", s.errors);
        assert!(s.errors.is_empty());
        assert_eq!(s.warnings.first().map(String::as_str), Some("expired"));
        // An untagged failure is never relaxed.
        let s = judged(
            &p,
            "relaxed",
            report(|s| {
                s.fail(
                    Indication::TotalFailed,
                    SubIndication::SigCryptoFailure,
                    "does not verify".into(),
                );
            }),
        );
        assert_eq!(s.sub_indication, Some(SubIndication::SigCryptoFailure));
    }

    #[test]
    fn stale_revocation_data_and_a_missing_timestamp_fail_where_asked() {
        let p = Policies::parse(MIXED).unwrap();
        let s = judged(
            &p,
            "relaxed",
            report(|s| s.facts.revocation_issued = Some(NOW - 7200)),
        );
        assert_eq!(
            (s.indication, s.sub_indication),
            (Indication::Indeterminate, Some(SubIndication::TryLater))
        );
        let s = judged(
            &p,
            "relaxed",
            report(|s| {
                s.facts.revocation_issued = Some(NOW - 7200);
                s.revocation = "revoked".into();
            }),
        );
        assert_eq!(s.sub_indication, Some(SubIndication::RevokedNoPoe));
        let s = judged(
            &p,
            "relaxed",
            report(|s| {
                s.proven_signing_time = None;
                s.facts.proven = None;
                s.facts.revocation_issued = Some(NOW);
            }),
        );
        assert_eq!(s.sub_indication, Some(SubIndication::SigConstraintsFailure));
        assert!(s.errors[0].contains("B-T"), "{:?}", s.errors);
        // Not qualified (the qualification is not established): a warning here.
        assert_warns(&s, "qualified");
    }

    #[test]
    fn pdf_metadata_changes_are_reported_or_warned() {
        let p = Policies::parse(MIXED).unwrap();
        let with_metadata = || {
            report(|s| {
                s.coverage = Some(Coverage {
                    revision: 1,
                    whole_file: false,
                    later_changes: vec![Change {
                        object: 7,
                        what: "XMP metadata".into(),
                        allowed: true,
                    }],
                });
            })
        };
        let s = judged(&p, "default", with_metadata());
        assert!(s.warnings.is_empty() && s.indication == Indication::TotalPassed);
        let s = judged(&p, "relaxed", with_metadata());
        assert_warns(&s, "XMP metadata (object 7)");
    }

    #[test]
    fn the_built_in_qualified_policy_refuses_what_is_not_known_to_be_qualified() {
        let p = Policies::default();
        let s = judged(&p, "qualified", report(|_| {}));
        assert_eq!(
            (s.indication, s.sub_indication),
            (
                Indication::Indeterminate,
                Some(SubIndication::SigConstraintsFailure)
            )
        );
        let s = judged(&p, "default", report(|_| {}));
        assert_eq!(s.indication, Indication::TotalPassed);
    }
}
