//! Loading, overrides, validation and redaction of the configuration.

use std::collections::BTreeSet;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The `QSIGN_*` variables a text names (the bare prefix is none).
fn variables_named_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("QSIGN_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if name.len() > "QSIGN_".len() {
            out.insert(name);
        }
    }
    out
}

/// The (dotted key, value) pairs of a TOML table, tables flattened.
fn leaves(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => leaves(&key, inner, out),
            other => out.push((key, other.clone())),
        }
    }
}

#[test]
fn defaults_are_loopback_and_sqlite_in_data_dir() {
    let c = Config::load(None, env(&[])).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.public_url(), "http://localhost:8080");
    assert_eq!(c.database_url().expose(), "sqlite://./var/qsign.db");
    assert_eq!(c.softhsm_dir(), PathBuf::from("./var/softhsm"));
}

#[test]
fn env_overrides_file_and_accepts_double_underscore() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:9000\"\n[hsm]\nsessions = 2\n").unwrap();
    let c = Config::load(
        Some(&path),
        env(&[
            ("QSIGN_HSM__SESSIONS", "5"),
            ("QSIGN_DATABASE_URL", "postgres://u:pw@h/db"),
            ("PATH", "/bin"),
        ]),
    )
    .unwrap();
    assert_eq!(c.listen.port(), 9000);
    assert_eq!(c.hsm.sessions, 5);
    assert_eq!(c.database_url().expose(), "postgres://u:pw@h/db");
}

#[test]
fn unknown_file_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.toml");
    std::fs::write(&path, "[hsm]\nsesions = 2\n").unwrap();
    let err = Config::load(Some(&path), env(&[])).unwrap_err();
    assert!(err.to_string().contains("sesions"), "{err}");
}

#[test]
fn unknown_env_key_is_rejected() {
    let err = Config::load(None, env(&[("QSIGN_LISTN", "x")])).unwrap_err();
    assert!(
        matches!(err, Error::UnknownEnv(ref n) if n == "QSIGN_LISTN"),
        "{err}"
    );
}

#[test]
fn bad_numbers_and_urls_are_rejected() {
    assert!(matches!(
        Config::load(None, env(&[("QSIGN_HSM_SESSIONS", "many")])),
        Err(Error::InvalidEnv { .. })
    ));
    assert!(matches!(
        Config::load(None, env(&[("QSIGN_HSM_SESSIONS", "0")])),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        Config::load(None, env(&[("QSIGN_DATABASE_URL", "mysql://x")])),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        Config::load(None, env(&[("QSIGN_PUBLIC_URL", "localhost")])),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn secrets_are_redacted_everywhere() {
    let c = Config::load(
        None,
        env(&[
            ("QSIGN_HSM_PIN", "s3cret-pin"),
            ("QSIGN_DATABASE_URL", "postgres://a:pw9@h/d"),
        ]),
    )
    .unwrap();
    let shown = format!("{c:?}{}", c.to_redacted_toml().unwrap());
    assert!(!shown.contains("s3cret-pin"));
    assert!(!shown.contains("pw9"));
    assert!(shown.contains("<redacted>"));
}

/// `examples/qsign.toml` documents every key with its default: it must load to exactly the
/// defaults, and name exactly the environment overrides.
#[test]
fn example_file_matches_defaults_and_names_exactly_the_overrides() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/qsign.toml");
    let example = Config::load(Some(&path), env(&[])).unwrap();
    let defaults = Config::load(None, env(&[])).unwrap();
    assert_eq!(
        example.to_redacted_toml().unwrap(),
        defaults.to_redacted_toml().unwrap()
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let named: BTreeSet<String> = variables_named_in(&text)
        .into_iter()
        .filter(|n| !ENV_NOT_OVERRIDES.contains(&n.as_str()))
        .collect();
    let known: BTreeSet<String> = env_overrides()
        .unwrap()
        .into_iter()
        .map(|o| o.variable)
        .collect();
    let undocumented: Vec<_> = known.difference(&named).collect();
    let unknown: Vec<_> = named.difference(&known).collect();
    assert!(
        undocumented.is_empty(),
        "not named in examples/qsign.toml: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "named in examples/qsign.toml, but no configuration key: {unknown:?}"
    );
}

/// The variables the field documentation of this module names are overrides too.
#[test]
fn the_field_docs_name_only_overrides() {
    let known: BTreeSet<String> = env_overrides()
        .unwrap()
        .into_iter()
        .map(|o| o.variable)
        .collect();
    let named = variables_named_in(include_str!("../config.rs"));
    let unknown: Vec<_> = named.difference(&known).collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert!(named.len() > 50, "{named:?}");
}

/// Every scalar key of the serialised defaults has its variable, named after its path and
/// read as the type of its default; arrays have none (file only).
#[test]
fn every_key_of_the_defaults_has_a_variable_of_its_type() {
    let overrides = env_overrides().unwrap();
    let defaults: toml::Table = Config::default()
        .to_redacted_toml()
        .unwrap()
        .parse()
        .unwrap();
    let mut keys = Vec::new();
    leaves("", &defaults, &mut keys);
    assert!(keys.len() > 40, "{keys:?}");
    for (key, value) in &keys {
        let found = overrides.iter().find(|o| &o.key == key);
        let kind = match value {
            toml::Value::Boolean(_) => ValueKind::Bool,
            toml::Value::Integer(_) => ValueKind::Integer,
            toml::Value::Float(_) => ValueKind::Float,
            toml::Value::String(_) => ValueKind::Text,
            _ => {
                assert!(found.is_none(), "{key} is set in the file only");
                continue;
            }
        };
        let found = found.unwrap_or_else(|| panic!("{key} has no environment variable"));
        assert_eq!(found.kind, kind, "{key}");
        assert_eq!(found.variable, super::env::variable_of(key));
    }
    assert!(
        overrides.iter().any(|o| o.key == "hsm.pin"),
        "None keys are kept"
    );
    let variables: BTreeSet<&str> = overrides.iter().map(|o| o.variable.as_str()).collect();
    assert_eq!(
        variables.len(),
        overrides.len(),
        "two keys share a variable"
    );
}

/// Every override reaches a field of its type: a value of its kind may be refused for its
/// form (an address, an enumeration) or by validation, never as an unknown key or as a value
/// of the wrong type.
#[test]
fn every_override_reaches_a_field_of_its_type() {
    for o in env_overrides().unwrap() {
        let value = match o.kind {
            ValueKind::Bool => "true",
            ValueKind::Integer => "7",
            ValueKind::Float => "7.5",
            ValueKind::Text => "x",
        };
        let result = Config::load(None, env(&[(o.variable.as_str(), value)]));
        let reached = match &result {
            Ok(_) | Err(Error::Invalid(_)) => true,
            Err(Error::Parse { message, .. }) => {
                !message.contains("invalid type") && !message.contains("unknown field")
            }
            Err(_) => false,
        };
        assert!(reached, "{} = {value:?}: {result:?}", o.variable);
    }
}

/// `QSIGN_VALIDATION_FETCH_REVOCATION` was read as text once, so `true` was refused.
#[test]
fn fetch_revocation_is_a_boolean_in_the_environment() {
    let c = Config::load(None, env(&[("QSIGN_VALIDATION_FETCH_REVOCATION", "true")])).unwrap();
    assert!(c.validation.fetch_revocation);
    let c = Config::load(None, env(&[("QSIGN_VALIDATION_FETCH_REVOCATION", "no")])).unwrap();
    assert!(!c.validation.fetch_revocation);
    assert!(matches!(
        Config::load(None, env(&[("QSIGN_VALIDATION_FETCH_REVOCATION", "maybe")])),
        Err(Error::InvalidEnv { .. })
    ));
}

#[test]
fn array_keys_and_the_file_variable_are_no_overrides() {
    assert!(matches!(
        Config::load(None, env(&[("QSIGN_VALIDATION_TRUST", "/etc/ca.pem")])),
        Err(Error::UnknownEnv(_))
    ));
    assert!(Config::load(None, env(&[("QSIGN_CONFIG", "/nonexistent.toml")])).is_ok());
}

#[test]
fn public_url_is_derived_or_trimmed() {
    let c = Config::load(None, env(&[("QSIGN_LISTEN", "10.1.2.3:443")])).unwrap();
    assert_eq!(c.public_url(), "http://10.1.2.3:443");
    let c = Config::load(None, env(&[("QSIGN_PUBLIC_URL", "https://sign.example/")])).unwrap();
    assert_eq!(c.public_url(), "https://sign.example");
}
