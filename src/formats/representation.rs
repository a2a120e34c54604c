//! Representation: the capacity a signature is made in (a role in an organisation, under its
//! rule of representation, possibly through a power of attorney) and the rule language itself.
//!
//! A rule says which combinations of roles bind an organisation, as CVR records it in words
//! ("the director alone, or two board members jointly"):
//!
//! ```text
//! rule  := all ( "|" all )*          any one alternative suffices
//! all   := atom ( "&" atom )*        every part is needed, each by other signers
//! atom  := role [ "{" n "}" ] | "(" rule ")"
//! role  := [a-z][a-z0-9_-]*          at most 32 characters
//! ```
//!
//! `director | board{2} | chair & board{1}` is met by a director, by two board members, or by
//! a chair together with a board member. Each signer counts once, in the role they signed in.
//! Parsing is bounded (text length, roles, nesting, alternatives): a rule over the bounds is
//! refused, never evaluated.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest as _, Sha256};

/// The longest rule text accepted.
pub const MAX_RULE_LEN: usize = 512;
/// The most role atoms in one rule.
const MAX_ATOMS: usize = 64;
/// The deepest nesting of parentheses.
const MAX_DEPTH: usize = 8;
/// The most alternatives the rule expands to (each a set of roles with counts).
const MAX_ALTERNATIVES: usize = 256;
/// The largest count of one role in an atom.
const MAX_COUNT: u32 = 50;
/// The longest role name.
pub const MAX_ROLE_LEN: usize = 32;

/// Why a rule or a role name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Empty, too long, too many roles, too deep or too many alternatives.
    #[error("rule too large: {0}")]
    TooLarge(&'static str),
    /// Not in the rule language.
    #[error("rule syntax: {0} at character {1}")]
    Syntax(&'static str, usize),
    /// A role name outside `[a-z][a-z0-9_-]*` (at most 32 characters).
    #[error("invalid role name {0:?}: lower-case letters, digits, '_' and '-', starting with a letter, at most 32 characters")]
    Role(String),
}

/// Checks a role name.
///
/// # Errors
/// [`RuleError::Role`].
pub fn check_role(name: &str) -> Result<(), RuleError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= MAX_ROLE_LEN {
        Ok(())
    } else {
        Err(RuleError::Role(name.chars().take(40).collect()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Role(String, u32),
    All(Vec<Node>),
    Any(Vec<Node>),
}

/// One way to meet a rule: how many distinct signers of each role.
type Alternative = BTreeMap<String, u32>;

/// A parsed rule of representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    text: String,
    alternatives: Vec<Alternative>,
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    atoms: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn list(&mut self, depth: usize, sep: u8) -> Result<Vec<Node>, RuleError> {
        let mut parts = vec![if sep == b'|' {
            self.all(depth)?
        } else {
            self.atom(depth)?
        }];
        while self.eat(sep) {
            parts.push(if sep == b'|' {
                self.all(depth)?
            } else {
                self.atom(depth)?
            });
        }
        Ok(parts)
    }

    fn any(&mut self, depth: usize) -> Result<Node, RuleError> {
        let mut parts = self.list(depth, b'|')?;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::Any(parts)
        })
    }

    fn all(&mut self, depth: usize) -> Result<Node, RuleError> {
        let mut parts = self.list(depth, b'&')?;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::All(parts)
        })
    }

    fn atom(&mut self, depth: usize) -> Result<Node, RuleError> {
        if self.eat(b'(') {
            if depth >= MAX_DEPTH {
                return Err(RuleError::TooLarge("nested too deeply"));
            }
            let inner = self.any(depth + 1)?;
            if !self.eat(b')') {
                return Err(RuleError::Syntax("expected ')'", self.pos));
            }
            return Ok(inner);
        }
        self.skip_space();
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        {
            self.pos += 1;
        }
        let name = std::str::from_utf8(self.bytes.get(start..self.pos).unwrap_or_default())
            .unwrap_or_default();
        if name.is_empty() {
            return Err(RuleError::Syntax("expected a role", self.pos));
        }
        check_role(name)?;
        self.atoms += 1;
        if self.atoms > MAX_ATOMS {
            return Err(RuleError::TooLarge("too many roles"));
        }
        let mut count = 1;
        if self.eat(b'{') {
            self.skip_space();
            let start = self.pos;
            while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
            count = std::str::from_utf8(self.bytes.get(start..self.pos).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
                .filter(|n| (1..=MAX_COUNT).contains(n))
                .ok_or(RuleError::Syntax("expected a count from 1 to 50", start))?;
            if !self.eat(b'}') {
                return Err(RuleError::Syntax("expected '}'", self.pos));
            }
        }
        Ok(Node::Role(name.to_owned(), count))
    }
}

/// The alternatives a node expands to (disjunctive normal form, counts of one role added up).
fn expand(node: &Node) -> Result<Vec<Alternative>, RuleError> {
    match node {
        Node::Role(name, n) => Ok(vec![BTreeMap::from([(name.clone(), *n)])]),
        Node::Any(parts) => {
            let mut out = Vec::new();
            for p in parts {
                out.extend(expand(p)?);
                if out.len() > MAX_ALTERNATIVES {
                    return Err(RuleError::TooLarge("too many alternatives"));
                }
            }
            Ok(out)
        }
        Node::All(parts) => {
            let mut out = vec![Alternative::new()];
            for p in parts {
                let options = expand(p)?;
                if out.len().saturating_mul(options.len()) > MAX_ALTERNATIVES {
                    return Err(RuleError::TooLarge("too many alternatives"));
                }
                let mut next = Vec::with_capacity(out.len() * options.len());
                for left in &out {
                    for right in &options {
                        let mut merged = left.clone();
                        for (role, n) in right {
                            let c = merged.entry(role.clone()).or_insert(0);
                            *c = c.saturating_add(*n);
                        }
                        next.push(merged);
                    }
                }
                out = next;
            }
            Ok(out)
        }
    }
}

fn render(node: &Node, out: &mut String, nested: bool) {
    let (parts, sep) = match node {
        Node::Role(name, 1) => {
            out.push_str(name);
            return;
        }
        Node::Role(name, n) => {
            out.push_str(&format!("{name}{{{n}}}"));
            return;
        }
        Node::All(parts) => (parts, " & "),
        Node::Any(parts) => (parts, " | "),
    };
    let paren = nested && matches!(node, Node::Any(_));
    if paren {
        out.push('(');
    }
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        render(p, out, matches!(node, Node::All(_)));
    }
    if paren {
        out.push(')');
    }
}

impl Rule {
    /// Parses a rule; its text becomes canonical (single spaces, needed parentheses only).
    ///
    /// # Errors
    /// [`RuleError`] for text outside the language or over the bounds.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        if text.trim().is_empty() {
            return Err(RuleError::TooLarge("empty"));
        }
        if text.len() > MAX_RULE_LEN {
            return Err(RuleError::TooLarge("longer than 512 characters"));
        }
        let mut parser = Parser {
            bytes: text.as_bytes(),
            pos: 0,
            atoms: 0,
        };
        let node = parser.any(0)?;
        parser.skip_space();
        if parser.pos != text.len() {
            return Err(RuleError::Syntax("unexpected character", parser.pos));
        }
        let alternatives = expand(&node)?;
        let mut canonical = String::new();
        render(&node, &mut canonical, false);
        Ok(Self {
            text: canonical,
            alternatives,
        })
    }

    /// The canonical text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every role the rule names, sorted.
    #[must_use]
    pub fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = self
            .alternatives
            .iter()
            .flat_map(|a| a.keys().cloned())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// Whether signers in these roles (one entry per distinct signer, in the role they
    /// signed in) meet the rule.
    #[must_use]
    pub fn satisfied<S: AsRef<str>>(&self, signed: &[S]) -> bool {
        self.shortfalls(signed).iter().any(BTreeMap::is_empty)
    }

    /// What is still needed, in words: one line per alternative that is closest to being met
    /// ("1 more board", "director"); empty when the rule is met.
    #[must_use]
    pub fn missing<S: AsRef<str>>(&self, signed: &[S]) -> Vec<String> {
        let shortfalls = self.shortfalls(signed);
        if shortfalls.iter().any(BTreeMap::is_empty) {
            return Vec::new();
        }
        let total = |s: &Alternative| s.values().map(|n| u64::from(*n)).sum::<u64>();
        let least = shortfalls.iter().map(total).min().unwrap_or(0);
        let mut out: Vec<String> = shortfalls
            .iter()
            .filter(|s| total(s) == least)
            .map(|s| {
                s.iter()
                    .map(|(role, n)| format!("{n} more {role}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn shortfalls<S: AsRef<str>>(&self, signed: &[S]) -> Vec<Alternative> {
        let mut have: BTreeMap<&str, u32> = BTreeMap::new();
        for role in signed {
            let c = have.entry(role.as_ref()).or_insert(0);
            *c = c.saturating_add(1);
        }
        self.alternatives
            .iter()
            .map(|alt| {
                alt.iter()
                    .filter_map(|(role, need)| {
                        let got = have.get(role.as_str()).copied().unwrap_or(0);
                        (got < *need).then(|| (role.clone(), need - got))
                    })
                    .collect()
            })
            .collect()
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A power of attorney a signature is made under: another organisation (or a person) acting
/// for the organisation named in the [`Capacity`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mandate {
    /// The mandate's id at the issuing service.
    pub id: String,
    /// The organisation that holds the mandate and whose member signs (absent for a mandate
    /// granted to a person directly).
    #[serde(default)]
    pub holder_cvr: Option<String>,
    /// What it allows (`sign_on_behalf`, `use_seal`, or a theme such as `accounting`).
    pub scope: String,
    /// The end of its validity, Unix seconds.
    pub valid_until: i64,
}

/// The capacity a signature is made in: a role in an organisation, the organisation's rule of
/// representation at the time, and the power of attorney used, if any. It is signed with the
/// signature (CAdES `signer-attributes-v2`, XAdES `SignerRoleV2`) and covered by the signer's
/// approval.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capacity {
    /// The role signed in (a name of the rule language: `director`, `board`, `proxy`, ...).
    pub role: String,
    /// The organisation's name.
    pub organisation: String,
    /// Its CVR number.
    pub cvr: String,
    /// The rule of representation recorded for the signature (canonical text).
    #[serde(default)]
    pub rule: Option<String>,
    /// The power of attorney used, if any.
    #[serde(default)]
    pub mandate: Option<Mandate>,
}

impl Capacity {
    /// The capacity in words: "director of Rungstedlund A/S (CVR 35408002) under the rule
    /// 'director | board{2}'", with the power of attorney when there is one.
    #[must_use]
    pub fn text(&self) -> String {
        let mut s = format!("{} of {} (CVR {})", self.role, self.organisation, self.cvr);
        if let Some(rule) = &self.rule {
            s.push_str(&format!(" under the rule '{rule}'"));
        }
        if let Some(m) = &self.mandate {
            s.push_str(&format!(" by power of attorney {} ({}", m.id, m.scope));
            if let Some(holder) = &m.holder_cvr {
                s.push_str(&format!(", held by CVR {holder}"));
            }
            s.push(')');
        }
        s
    }

    /// The canonical line the signer's approval covers (`capacity=` and the JSON of the
    /// capacity with its fields in a fixed order).
    #[must_use]
    pub fn approval_line(&self) -> String {
        // serde_json writes struct fields in declaration order: the text is canonical.
        format!(
            "capacity={}\n",
            serde_json::to_string(self).unwrap_or_default()
        )
    }

    /// Checks the parts a caller or a signed document supplies.
    ///
    /// # Errors
    /// [`RuleError`] for a bad role name or rule, or fields over their bounds.
    pub fn check(&self) -> Result<(), RuleError> {
        check_role(&self.role)?;
        if let Some(rule) = &self.rule {
            Rule::parse(rule)?;
        }
        let long = |s: &str| s.len() > 200;
        if long(&self.organisation)
            || long(&self.cvr)
            || self
                .mandate
                .as_ref()
                .is_some_and(|m| long(&m.id) || long(&m.scope))
        {
            return Err(RuleError::TooLarge("capacity field over 200 characters"));
        }
        Ok(())
    }

    /// The canonical JSON of the capacity (its fields in declaration order, as serde_json
    /// writes them): what [`Capacity::approval_line`] covers and what a signature carries so
    /// that a validator reads every field back exactly.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a capacity back from the JSON a signature carries: at most
    /// [`MAX_CAPACITY_JSON`] bytes, exactly in the canonical form [`Capacity::to_json`]
    /// writes (so nothing signed is read differently), and passing [`Capacity::check`].
    ///
    /// # Errors
    /// [`CapacityError`].
    pub fn from_json(text: &str) -> Result<Self, CapacityError> {
        if text.len() > MAX_CAPACITY_JSON {
            return Err(CapacityError::TooLarge);
        }
        let capacity: Self =
            serde_json::from_str(text).map_err(|e| CapacityError::Json(e.to_string()))?;
        if capacity.to_json() != text {
            return Err(CapacityError::NotCanonical);
        }
        capacity.check()?;
        Ok(capacity)
    }
}

/// The longest capacity JSON a signature may carry, in bytes.
pub const MAX_CAPACITY_JSON: usize = 4096;

/// Why a capacity read from a signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapacityError {
    /// Its JSON is longer than [`MAX_CAPACITY_JSON`].
    #[error("the capacity is longer than 4096 bytes")]
    TooLarge,
    /// Its JSON does not parse as a capacity.
    #[error("the capacity does not parse: {0}")]
    Json(String),
    /// Its JSON is not in the canonical form (other spacing, order or escaping).
    #[error("the capacity is not in its canonical form")]
    NotCanonical,
    /// A role, rule or field the capacity may not have.
    #[error("the capacity is not valid: {0}")]
    Invalid(#[from] RuleError),
}

/// What a signer approves for a CAdES or XAdES document signed in a capacity: SHA-256 over the
/// domain tag `qsign-capacity-approval-v1` and a zero byte, the document's SHA-256 and
/// [`Capacity::approval_line`]. An approval of one capacity cannot sign in another, and no
/// approval of a document alone signs it in a capacity. (A PDF's capacity is one of its
/// options, covered by the PDF approval digest.)
#[must_use]
pub fn capacity_approval(document_sha256: &[u8; 32], capacity: &Capacity) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"qsign-capacity-approval-v1\0");
    h.update(document_sha256);
    h.update(capacity.approval_line().as_bytes());
    h.finalize().into()
}

/// A board member of Rungstedlund A/S under its rule, holding a power of attorney of another
/// organisation: the capacity the tests of this module and of its encodings sign in.
#[cfg(test)]
pub(crate) fn board_member() -> Capacity {
    Capacity {
        role: "board".into(),
        organisation: "Rungstedlund A/S".into(),
        cvr: "35408002".into(),
        rule: Some("director | board{2}".into()),
        mandate: Some(Mandate {
            id: "m-1".into(),
            holder_cvr: Some("12345678".into()),
            scope: "sign_on_behalf".into(),
            valid_until: 1_900_000_000,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn director_alone_or_two_board_members() {
        let rule = Rule::parse("director|board{2}").unwrap();
        assert_eq!(rule.as_str(), "director | board{2}");
        assert!(!rule.satisfied::<&str>(&[]));
        assert!(!rule.satisfied(&["board"]));
        // Either alternative is one signer away.
        assert_eq!(
            rule.missing(&["board"]),
            vec!["1 more board".to_owned(), "1 more director".to_owned()]
        );
        assert_eq!(
            Rule::parse("director{2} | board{3}")
                .unwrap()
                .missing(&["board", "board"]),
            vec!["1 more board".to_owned()]
        );
        assert!(rule.satisfied(&["board", "board"]));
        assert!(rule.satisfied(&["director"]));
        assert!(!rule.satisfied(&["chair"]));
        assert_eq!(
            rule.roles(),
            vec!["board".to_owned(), "director".to_owned()]
        );
    }

    #[test]
    fn conjunctions_need_distinct_signers() {
        let rule = Rule::parse("chair & board{1} | director").unwrap();
        assert!(!rule.satisfied(&["chair"]));
        assert!(rule.satisfied(&["chair", "board"]));
        // The same role twice in a conjunction needs two signers.
        let twice = Rule::parse("board & board").unwrap();
        assert!(!twice.satisfied(&["board"]));
        assert!(twice.satisfied(&["board", "board"]));
        let nested = Rule::parse("(director | chair) & (board{2} | cfo)").unwrap();
        assert_eq!(nested.as_str(), "(director | chair) & (board{2} | cfo)");
        assert!(nested.satisfied(&["chair", "cfo"]));
        assert!(!nested.satisfied(&["chair", "board"]));
        assert_eq!(Rule::parse(nested.as_str()).unwrap(), nested);
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "",
            "   ",
            "director |",
            "| director",
            "Director",
            "board{0}",
            "board{51}",
            "board{2",
            "(director",
            "director)",
            "dir ector",
            "1board",
            "a_very_long_role_name_that_is_over_32",
        ] {
            assert!(Rule::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = "a | ".repeat(200);
        assert_eq!(
            Rule::parse(&long),
            Err(RuleError::TooLarge("longer than 512 characters"))
        );
        let many = ["a"; 65].join(" | ");
        assert_eq!(
            Rule::parse(&many),
            Err(RuleError::TooLarge("too many roles"))
        );
        let deep = format!("{}a{}", "(".repeat(9), ")".repeat(9));
        assert_eq!(
            Rule::parse(&deep),
            Err(RuleError::TooLarge("nested too deeply"))
        );
        // (a|b) & (a|b) & ... multiplies alternatives: 2^9 = 512 > 256.
        let blowup = ["(a | b)"; 9].join(" & ");
        assert_eq!(
            Rule::parse(&blowup),
            Err(RuleError::TooLarge("too many alternatives"))
        );
    }

    #[test]
    fn capacity_in_words_and_for_approval() {
        let mut c = Capacity {
            role: "director".into(),
            organisation: "Rungstedlund A/S".into(),
            cvr: "35408002".into(),
            rule: Some("director | board{2}".into()),
            mandate: None,
        };
        assert_eq!(
            c.text(),
            "director of Rungstedlund A/S (CVR 35408002) under the rule 'director | board{2}'"
        );
        assert!(c
            .approval_line()
            .starts_with("capacity={\"role\":\"director\""));
        assert!(c.check().is_ok());
        c.role = "Director".into();
        assert!(c.check().is_err());
    }

    #[test]
    fn a_capacity_is_read_back_only_from_its_canonical_json() {
        let c = board_member();
        let json = c.to_json();
        assert_eq!(Capacity::from_json(&json).unwrap(), c);
        assert_eq!(c.approval_line(), format!("capacity={json}\n"));
        // Other spacing, another field order, or an invalid role are refused.
        let spaced = json.replace(",\"", ", \"");
        assert_eq!(
            Capacity::from_json(&spaced),
            Err(CapacityError::NotCanonical)
        );
        assert!(matches!(
            Capacity::from_json(&json.replace("\"board\"", "\"Board\"")),
            Err(CapacityError::Invalid(_))
        ));
        assert!(matches!(
            Capacity::from_json("{\"role\":"),
            Err(CapacityError::Json(_))
        ));
        let long = format!("{}{}", json, " ".repeat(MAX_CAPACITY_JSON));
        assert_eq!(Capacity::from_json(&long), Err(CapacityError::TooLarge));
    }

    #[test]
    fn the_capacity_approval_covers_the_document_and_every_field() {
        let c = board_member();
        let doc = [7u8; 32];
        let approval = capacity_approval(&doc, &c);
        assert_ne!(approval, doc);
        assert_ne!(capacity_approval(&[8u8; 32], &c), approval);
        let mut other = c.clone();
        other.role = "director".into();
        assert_ne!(capacity_approval(&doc, &other), approval);
        let mut other = c.clone();
        other.mandate = None;
        assert_ne!(capacity_approval(&doc, &other), approval);
        assert_eq!(capacity_approval(&doc, &board_member()), approval);
    }
}
