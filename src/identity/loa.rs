//! Levels of assurance (NSIS, as the URIs of Danish OIDC/SAML tokens) and the mapping from the
//! login factors used to the level reached (`policies/loa.toml`).

use std::collections::BTreeSet;

use serde::Deserialize;

/// An NSIS level of assurance; ordered, so `Loa::High > Loa::Substantial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Loa {
    /// NSIS Low.
    Low,
    /// NSIS Substantial.
    Substantial,
    /// NSIS High.
    High,
}

const PREFIX_LOA: &str = "https://data.gov.dk/concept/core/nsis/loa/";
const PREFIX_BROKER: &str = "https://data.gov.dk/concept/core/nsis/";

impl Loa {
    /// Every level, lowest first.
    pub const ALL: [Self; 3] = [Self::Low, Self::Substantial, Self::High];

    /// The URI qsign issues (`.../nsis/loa/Level`).
    #[must_use]
    pub const fn uri(self) -> &'static str {
        match self {
            Self::Low => "https://data.gov.dk/concept/core/nsis/loa/Low",
            Self::Substantial => "https://data.gov.dk/concept/core/nsis/loa/Substantial",
            Self::High => "https://data.gov.dk/concept/core/nsis/loa/High",
        }
    }

    /// Parses the NemLog-in form (`.../nsis/loa/High`) and the broker form (`.../nsis/High`);
    /// anything else is `None`.
    #[must_use]
    pub fn parse(uri: &str) -> Option<Self> {
        let level = uri
            .strip_prefix(PREFIX_LOA)
            .or_else(|| uri.strip_prefix(PREFIX_BROKER))?;
        match level {
            "Low" => Some(Self::Low),
            "Substantial" => Some(Self::Substantial),
            "High" => Some(Self::High),
            _ => None,
        }
    }
}

/// A login factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Factor {
    /// Something known.
    Password,
    /// A time-based one-time code (RFC 6238): something held.
    Totp,
    /// A passkey with user verification.
    Webauthn,
}

impl Factor {
    /// Every factor, to read them back from their `amr` values and names.
    const ALL: [Self; 3] = [Self::Password, Self::Totp, Self::Webauthn];

    /// The factor of an `amr` value (RFC 8176); `None` for values this service does not use.
    #[must_use]
    pub fn from_amr(amr: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.amr() == amr)
    }

    /// The factor of a name in the policy and audit records.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The `amr` value (RFC 8176).
    #[must_use]
    pub const fn amr(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::Totp => "otp",
            Self::Webauthn => "hwk",
        }
    }

    /// The name used in the policy and audit records.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Totp => "totp",
            Self::Webauthn => "webauthn",
        }
    }
}

/// The factor-to-level rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaPolicy {
    rules: Vec<(BTreeSet<Factor>, Loa)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    rule: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    factors: Vec<Factor>,
    loa: Loa,
}

/// The default policy, compiled in from `policies/loa.toml`.
pub const DEFAULT_POLICY: &str = include_str!("../../policies/loa.toml");

impl LoaPolicy {
    /// Parses and checks a policy: every rule names at least one factor, and no rule gives a
    /// higher level to a subset of another rule's factors (more factors never lower the level).
    ///
    /// # Errors
    /// A message naming the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let rules: Vec<(BTreeSet<Factor>, Loa)> = file
            .rule
            .into_iter()
            .map(|r| (r.factors.into_iter().collect(), r.loa))
            .collect();
        if rules.is_empty() || rules.iter().any(|(f, _)| f.is_empty()) {
            return Err("every rule needs at least one factor".into());
        }
        for (a, la) in &rules {
            for (b, lb) in &rules {
                if a.is_subset(b) && la > lb {
                    return Err(format!(
                        "{a:?} gives {la:?} but its superset {b:?} only {lb:?}"
                    ));
                }
            }
        }
        Ok(Self { rules })
    }

    /// The level reached with `used`: the highest rule whose factors were all used.
    #[must_use]
    pub fn level(&self, used: &BTreeSet<Factor>) -> Option<Loa> {
        self.rules
            .iter()
            .filter(|(f, _)| f.is_subset(used))
            .map(|(_, l)| *l)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(f: &[Factor]) -> BTreeSet<Factor> {
        f.iter().copied().collect()
    }

    #[test]
    fn both_uri_forms_parse_and_others_do_not() {
        for l in Loa::ALL {
            assert_eq!(Loa::parse(l.uri()), Some(l));
        }
        assert_eq!(
            Loa::parse("https://data.gov.dk/concept/core/nsis/High"),
            Some(Loa::High)
        );
        assert_eq!(
            Loa::parse("https://data.gov.dk/concept/core/nsis/loa/Highest"),
            None
        );
        assert_eq!(
            Loa::parse("http://data.gov.dk/concept/core/nsis/loa/High"),
            None
        );
        assert_eq!(Loa::parse("High"), None);
        assert!(Loa::Low < Loa::Substantial && Loa::Substantial < Loa::High);
    }

    /// Every row of the default mapping, and the combinations around it.
    #[test]
    fn default_policy_maps_every_row() {
        use Factor::{Password, Totp, Webauthn};
        let p = LoaPolicy::parse(DEFAULT_POLICY).unwrap();
        assert_eq!(p.level(&set(&[Password])), Some(Loa::Low));
        assert_eq!(p.level(&set(&[Password, Totp])), Some(Loa::Substantial));
        assert_eq!(p.level(&set(&[Password, Webauthn])), Some(Loa::High));
        assert_eq!(p.level(&set(&[Totp, Webauthn])), Some(Loa::High));
        assert_eq!(p.level(&set(&[Password, Totp, Webauthn])), Some(Loa::High));
        assert_eq!(p.level(&set(&[Totp])), None);
        assert_eq!(p.level(&set(&[Webauthn])), None);
        assert_eq!(p.level(&set(&[])), None);
    }

    #[test]
    fn inconsistent_policies_are_refused() {
        let bad = "[[rule]]\nfactors = [\"password\"]\nloa = \"High\"\n[[rule]]\nfactors = [\"password\", \"totp\"]\nloa = \"Low\"\n";
        assert!(LoaPolicy::parse(bad).is_err());
        assert!(LoaPolicy::parse("[[rule]]\nfactors = []\nloa = \"Low\"\n").is_err());
        assert!(LoaPolicy::parse("[[rule]]\nfactors = [\"sms\"]\nloa = \"Low\"\n").is_err());
    }
}
