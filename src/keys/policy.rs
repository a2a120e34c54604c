//! Signature policies (`policies/signature.toml`): typed, checked when loaded.

use const_oid::ObjectIdentifier;
use serde::Deserialize;

use crate::hsm::KeyAlgorithm;
use crate::identity::loa::Loa;
use crate::types::{check_policy_name, PolicyFile};

/// The built-in policies, compiled in from `policies/signature.toml`.
pub const DEFAULT_POLICIES: &str = include_str!("../../policies/signature.toml");

/// The policy of the credentials an organisation holds: employee credentials and seals
/// (advanced electronic signatures and seals; a qualified one would need the person's own
/// SCAL2 approval each time, which a seal cannot give).
pub const ORGANISATION_POLICY: &str = "advanced";

/// How long short-lived certificates are valid when a policy does not say, minutes.
pub const DEFAULT_SHORT_LIVED_MINUTES: u32 = 10;

/// The CSC `signatureQualifier` values a policy may offer short-lived certificates under:
/// natural persons' qualified and advanced electronic signatures.
pub const QUALIFIERS: [(&str, bool); 2] = [("eu_eidas_qes", true), ("eu_eidas_aes", false)];

/// Signature activation control level (CEN EN 419 241-1): how the signer's activation reaches
/// the signature activation module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Scal {
    /// The activation factor may pass through the client application (a TOTP code sent in
    /// `credentials/authorize`).
    #[serde(rename = "SCAL1")]
    Scal1,
    /// The factor reaches qsign directly and is bound to the hashes (a passkey assertion over
    /// them, the OAuth authorization-code flow, a trusted issuer's token naming them).
    #[serde(rename = "SCAL2")]
    Scal2,
}

impl Scal {
    /// `"1"` or `"2"`, as CSC `credentials/info` reports it.
    #[must_use]
    pub const fn csc(self) -> &'static str {
        match self {
            Self::Scal1 => "1",
            Self::Scal2 => "2",
        }
    }
}

/// One signature policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Stable name.
    pub name: String,
    /// Whether new persons get a credential under it.
    pub enabled: bool,
    /// Shown to signers.
    pub description: String,
    /// The key type of its credentials.
    pub key_algorithm: KeyAlgorithm,
    /// Qualified certificate profile (QCStatements with QcSSCD) or an advanced one.
    pub qualified: bool,
    /// The policy's own OID in the certificate policies, if it has one.
    pub oid: Option<ObjectIdentifier>,
    /// The least level of the caller's access token.
    pub min_loa: Loa,
    /// The weakest activation accepted.
    pub scal: Scal,
    /// The most signatures one activation may cover.
    pub max_signatures: u32,
    /// The CSC `signatureQualifier` under which the policy also offers short-lived
    /// certificates (a key and a certificate for one signing operation, asked for with
    /// `signatureQualifier` and no `credentialID`); `None`: it does not.
    pub qualifier: Option<String>,
    /// How long its short-lived certificates are valid, minutes.
    pub short_lived_minutes: u32,
}

/// Every policy, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policies(Vec<Policy>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    enabled: bool,
    description: String,
    key_algorithm: String,
    qualified: bool,
    oid: Option<String>,
    min_loa: Loa,
    scal: Scal,
    max_signatures: u32,
    #[serde(default)]
    qualifier: Option<String>,
    #[serde(default)]
    short_lived_minutes: Option<u32>,
}

impl Policies {
    /// Parses and checks policies: names unique and made of `[a-z0-9-]`, a known key algorithm,
    /// a parseable OID, `max_signatures` from 1 to 1000, a qualified policy that asks for a
    /// High login and SCAL2 (a qualified signature with less would be a false claim), and a
    /// `qualifier` that fits `qualified` (`eu_eidas_qes` for a qualified policy,
    /// `eu_eidas_aes` for an advanced one), named by one policy only, with
    /// `short_lived_minutes` from 1 to 60 (10 when left out; only with a `qualifier`).
    ///
    /// # Errors
    /// A message naming the policy and the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out: Vec<Policy> = Vec::new();
        for e in PolicyFile::<Entry>::entries(text)? {
            let name = e.name;
            let fail = |m: &str| format!("policy {name:?}: {m}");
            check_policy_name(&name, out.iter().map(|p| p.name.as_str())).map_err(&fail)?;
            let key_algorithm = KeyAlgorithm::parse(&e.key_algorithm)
                .ok_or_else(|| fail("key_algorithm must be ec-p256, ec-p384 or rsa-3072"))?;
            let oid = e
                .oid
                .as_deref()
                .map(ObjectIdentifier::new)
                .transpose()
                .map_err(|_| fail("oid does not parse"))?;
            if !(1..=1000).contains(&e.max_signatures) {
                return Err(fail("max_signatures must be from 1 to 1000"));
            }
            if e.qualified && (e.min_loa < Loa::High || e.scal < Scal::Scal2) {
                return Err(fail("a qualified policy needs min_loa High and scal SCAL2"));
            }
            let qualifier = e.qualifier;
            if let Some(q) = qualifier.as_deref() {
                if !QUALIFIERS.contains(&(q, e.qualified)) {
                    return Err(fail(
                        "qualifier must be eu_eidas_qes for a qualified policy, eu_eidas_aes for an advanced one",
                    ));
                }
                if out.iter().any(|p| p.qualifier.as_deref() == Some(q)) {
                    return Err(fail("another policy has this qualifier"));
                }
            }
            let short_lived_minutes = match (e.short_lived_minutes, &qualifier) {
                (Some(_), None) => return Err(fail("short_lived_minutes needs a qualifier")),
                (Some(m), Some(_)) if !(1..=60).contains(&m) => {
                    return Err(fail("short_lived_minutes must be from 1 to 60"))
                }
                (minutes, _) => minutes.unwrap_or(DEFAULT_SHORT_LIVED_MINUTES),
            };
            out.push(Policy {
                name,
                enabled: e.enabled,
                description: e.description,
                key_algorithm,
                qualified: e.qualified,
                oid,
                min_loa: e.min_loa,
                scal: e.scal,
                max_signatures: e.max_signatures,
                qualifier,
                short_lived_minutes,
            });
        }
        if out.is_empty() {
            return Err("no policy defined".into());
        }
        Ok(Self(out))
    }

    /// Every policy, in file order.
    #[must_use]
    pub fn all(&self) -> &[Policy] {
        &self.0
    }

    /// A policy by name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.0.iter().find(|p| p.name == name)
    }

    /// The policies new persons get credentials under.
    pub fn enabled(&self) -> impl Iterator<Item = &Policy> {
        self.0.iter().filter(|p| p.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policies_load() {
        let p = Policies::parse(DEFAULT_POLICIES).unwrap();
        let q = p.get("qualified").unwrap();
        assert!(q.qualified && q.min_loa == Loa::High && q.scal == Scal::Scal2);
        let a = p.get("advanced").unwrap();
        assert!(!a.qualified && a.min_loa == Loa::Substantial && a.scal == Scal::Scal1);
        assert_eq!(p.enabled().count(), 2);
        assert_eq!(
            (q.qualifier.as_deref(), q.short_lived_minutes),
            (Some("eu_eidas_qes"), 10)
        );
        assert_eq!(a.qualifier.as_deref(), Some("eu_eidas_aes"));
    }

    #[test]
    fn qualifiers_fit_the_policy_and_name_one_policy() {
        let swapped = DEFAULT_POLICIES.replacen(
            "qualifier = \"eu_eidas_qes\"",
            "qualifier = \"eu_eidas_aes\"",
            1,
        );
        assert!(Policies::parse(&swapped).unwrap_err().contains("qualifier"));
        let unknown = DEFAULT_POLICIES.replacen(
            "qualifier = \"eu_eidas_aes\"",
            "qualifier = \"eu_eidas_qeseal\"",
            1,
        );
        assert!(Policies::parse(&unknown).unwrap_err().contains("qualifier"));
        let long =
            DEFAULT_POLICIES.replacen("short_lived_minutes = 10", "short_lived_minutes = 61", 1);
        assert!(Policies::parse(&long)
            .unwrap_err()
            .contains("short_lived_minutes"));
        let alone = DEFAULT_POLICIES.replacen("qualifier = \"eu_eidas_qes\"\n", "", 1);
        assert!(Policies::parse(&alone)
            .unwrap_err()
            .contains("needs a qualifier"));
        let without = alone.replacen("short_lived_minutes = 10\n", "", 1);
        let p = Policies::parse(&without).unwrap();
        assert_eq!(p.get("qualified").unwrap().qualifier, None);
    }

    #[test]
    fn a_weak_qualified_policy_is_refused() {
        let weak = DEFAULT_POLICIES.replacen("min_loa = \"High\"", "min_loa = \"Low\"", 1);
        assert!(Policies::parse(&weak).unwrap_err().contains("qualified"));
        let scal1 = DEFAULT_POLICIES.replacen("scal = \"SCAL2\"", "scal = \"SCAL1\"", 1);
        assert!(Policies::parse(&scal1).unwrap_err().contains("qualified"));
    }

    #[test]
    fn bad_entries_are_refused() {
        let twice = format!(
            "{DEFAULT_POLICIES}\n{}",
            &DEFAULT_POLICIES[DEFAULT_POLICIES.find("[[policy]]").unwrap()..]
        );
        assert!(Policies::parse(&twice).unwrap_err().contains("twice"));
        let alg = DEFAULT_POLICIES.replacen(
            "key_algorithm = \"ec-p256\"",
            "key_algorithm = \"dsa-1024\"",
            1,
        );
        assert!(Policies::parse(&alg).unwrap_err().contains("key_algorithm"));
        let count = DEFAULT_POLICIES.replacen("max_signatures = 100", "max_signatures = 0", 1);
        assert!(Policies::parse(&count)
            .unwrap_err()
            .contains("max_signatures"));
        assert!(Policies::parse("[[policy]]\nname = \"x\"").is_err());
        assert!(Policies::parse("policy = []")
            .unwrap_err()
            .contains("no policy"));
    }
}
