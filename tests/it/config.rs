//! Every `QSIGN_*` variable that `examples/qsign.toml` documents works from the environment:
//! `qsign config check` accepts it with a valid value of its type, other than the default, and
//! prints the value it took (redacted for secrets).

use std::collections::BTreeSet;
use std::path::Path;

use qsign::config::{env_overrides, Config, ValueKind, ENV_NOT_OVERRIDES};

use crate::support;

/// Values for the text keys whose text has a form (an address, a filter, a country, an OID, an
/// enumeration) and for the secrets, which must not be printed.
const TEXT: &[(&str, &str)] = &[
    ("QSIGN_LISTEN", "127.0.0.1:8443"),
    ("QSIGN_LOG", "warn,qsign=info"),
    ("QSIGN_PKI_COUNTRY", "SE"),
    ("QSIGN_PKI_TSA_POLICY_OID", "1.3.6.1.4.1.99999.2.1"),
    ("QSIGN_SIGNING_CREDENTIALS_ON", "first_use"),
    (
        "QSIGN_DATABASE_URL",
        "postgres://qsign:db-secret-1@db.example:5432/qsign",
    ),
    ("QSIGN_HSM_PIN", "pin-secret-2"),
    ("QSIGN_HSM_SO_PIN", "so-pin-secret-3"),
];

/// The variables whose values are printed redacted.
const SECRET: &[&str] = &["QSIGN_DATABASE_URL", "QSIGN_HSM_PIN", "QSIGN_HSM_SO_PIN"];

fn example() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/qsign.toml"))
        .unwrap()
}

/// The overrides the example names in its comments (`QSIGN_CONFIG` names the file).
fn documented(example: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in example.match_indices("QSIGN_") {
        let name: String = example[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if name.len() > "QSIGN_".len() && !ENV_NOT_OVERRIDES.contains(&name.as_str()) {
            out.insert(name);
        }
    }
    out
}

/// The value at a dotted key of a table.
fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let (section, field) = match key.rsplit_once('.') {
        Some((section, field)) => (Some(section), field),
        None => (None, key),
    };
    let mut table = table;
    for part in section.into_iter().flat_map(|s| s.split('.')) {
        table = table.get(part)?.as_table()?;
    }
    table.get(field)
}

/// The value the example shows, commented out, for an optional key (`# url = "..."` under
/// `[database]`).
fn commented_example(example: &str, key: &str) -> Option<toml::Value> {
    let (section, field) = key.rsplit_once('.').unwrap_or(("", key));
    let mut current = String::new();
    for line in example.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            current = line.trim_matches(|c| c == '[' || c == ']').to_owned();
            continue;
        }
        let Some(commented) = line.strip_prefix("# ") else {
            continue;
        };
        if current != section {
            continue;
        }
        if let Ok(table) = commented.parse::<toml::Table>() {
            if let Some(value) = table.get(field) {
                return Some(value.clone());
            }
        }
    }
    None
}

/// A valid value for `variable`, other than the default: the opposite boolean, a neighbouring
/// number, a form from [`TEXT`], the default text changed, or the example of an optional key.
fn test_value(
    variable: &str,
    kind: ValueKind,
    default: Option<&toml::Value>,
    example: &str,
    key: &str,
) -> toml::Value {
    if let Some((_, text)) = TEXT.iter().find(|(v, _)| *v == variable) {
        return toml::Value::String((*text).to_owned());
    }
    match (kind, default) {
        (ValueKind::Bool, Some(toml::Value::Boolean(b))) => toml::Value::Boolean(!b),
        (ValueKind::Integer, Some(toml::Value::Integer(n))) => {
            toml::Value::Integer(if *n > 1 { n - 1 } else { n + 1 })
        }
        (ValueKind::Float, Some(toml::Value::Float(f))) => toml::Value::Float(f + 1.0),
        (ValueKind::Text, Some(toml::Value::String(s))) => toml::Value::String(format!("{s}-test")),
        (ValueKind::Text, None) => commented_example(example, key).unwrap_or_else(|| {
            panic!("{variable}: no default and no example value; add one to TEXT")
        }),
        (kind, default) => panic!("{variable}: {kind:?} with default {default:?}"),
    }
}

/// The text of a value as it is given in the environment.
fn env_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn every_documented_variable_is_accepted_and_shown_by_config_check() {
    let example = example();
    let documented = documented(&example);
    assert!(documented.len() > 50, "{documented:?}");
    let overrides = env_overrides().unwrap();
    let defaults: toml::Table = Config::default()
        .to_redacted_toml()
        .unwrap()
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for variable in &documented {
        let o = overrides
            .iter()
            .find(|o| &o.variable == variable)
            .unwrap_or_else(|| panic!("{variable} is documented but is no override"));
        let value = test_value(
            variable,
            o.kind,
            lookup(&defaults, &o.key),
            &example,
            &o.key,
        );
        let text = env_text(&value);
        let mut cmd = support::qsign(dir.path());
        cmd.args(["config", "check"]).env(variable, &text);
        let out = support::run(&mut cmd);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{variable}={text:?} refused: {stderr}"
        );
        let effective = stdout
            .split("# derived values")
            .next()
            .unwrap()
            .parse::<toml::Table>()
            .unwrap_or_else(|e| panic!("{variable}: {e}\n{stdout}"));
        let shown = lookup(&effective, &o.key);
        if SECRET.contains(&variable.as_str()) {
            assert_eq!(
                shown,
                Some(&toml::Value::String("<redacted>".to_owned())),
                "{variable}: {stdout}"
            );
            assert!(!stdout.contains(&text), "{variable} printed: {stdout}");
        } else {
            assert_eq!(shown, Some(&value), "{variable}={text:?}: {stdout}");
        }
    }
}

/// The variable that was once read as text, so that `true` was refused.
#[test]
fn fetch_revocation_true_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = support::qsign(dir.path());
    cmd.args(["config", "check"])
        .env("QSIGN_VALIDATION_FETCH_REVOCATION", "true");
    let out = support::run(&mut cmd);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("fetch_revocation = true"), "{stdout}");
}
