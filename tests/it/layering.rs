//! The dependency direction of STYLE.md §2.3, checked on the source: which crate modules each
//! module may use, and which external crates only one module may import.

use std::path::{Path, PathBuf};

/// module -> the crate modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    ("main", &["cli"]),
    ("lib", &[]),
    (
        "cli",
        &[
            "app",
            "config",
            "telemetry",
            "http",
            "service",
            "store",
            "hsm",
            "clock",
            "pki",
            "audit",
            "identity",
            "keys",
            "sam",
            "orgs",
            "validate",
            "types",
        ],
    ),
    (
        "app",
        &[
            "service", "identity", "orgs", "keys", "sam", "pki", "audit", "store", "hsm", "clock",
            "config", "types",
        ],
    ),
    ("http", &["service", "config", "telemetry", "types"]),
    (
        "service",
        &[
            "identity", "orgs", "keys", "sam", "pki", "formats", "validate", "audit", "store",
            "hsm", "clock", "config", "types",
        ],
    ),
    (
        "sam",
        &[
            "keys", "identity", "formats", "audit", "store", "hsm", "types",
        ],
    ),
    (
        "keys",
        &["identity", "pki", "audit", "store", "hsm", "types"],
    ),
    ("orgs", &["keys", "audit", "store", "formats", "types"]),
    ("telemetry", &["types"]),
    (
        "pki",
        &["audit", "hsm", "store", "formats", "clock", "types"],
    ),
    ("audit", &["store", "hsm", "clock", "types"]),
    ("identity", &["audit", "store", "hsm", "clock", "types"]),
    ("formats", &["types"]),
    ("validate", &["formats", "types"]),
    ("store", &["types"]),
    ("hsm", &["types"]),
    ("clock", &["types"]),
    ("config", &["types"]),
    // Typed values: a leaf every module may use.
    ("types", &[]),
];

/// External crates that only one module may import.
const EXCLUSIVE: &[(&str, &str)] = &[("cryptoki", "hsm"), ("sqlx", "store"), ("axum", "http")];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// Crate modules a file refers to (`crate::x`, and `use crate::{x, y}`).
fn crate_refs(text: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    refs.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            refs.push(name);
        }
    }
    refs
}

#[test]
fn modules_use_only_what_the_layering_allows() {
    // The dependency picture of docs/architecture.md, regenerated with
    // `cargo test --test it layering -- --nocapture`.
    for (module, uses) in ALLOWED {
        println!("{module} -> {}", uses.join(", "));
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).unwrap();
        let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
            violations.push(format!(
                "{}: module {module} is missing from the layering table",
                file.display()
            ));
            continue;
        };
        for target in crate_refs(&text) {
            if target != module && !allowed.contains(&target.as_str()) {
                violations.push(format!("{}: {module} uses crate::{target}", file.display()));
            }
        }
        for (krate, owner) in EXCLUSIVE {
            let uses =
                text.contains(&format!("use {krate}::")) || text.contains(&format!("{krate}::"));
            if uses && module != *owner && !text.contains(&format!("{krate}_")) {
                violations.push(format!(
                    "{}: {module} uses {krate}, which belongs to {owner}",
                    file.display()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

/// Sole control (DESIGN.md §2): the functions that make the HSM use a user key (a wrapped one,
/// or one made for a single operation) are named only in `hsm`, which defines them, and `sam`,
/// which calls them after checking a SAD.
#[test]
fn only_the_sam_can_make_the_hsm_use_a_user_key() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut callers = std::collections::BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for name in [
            "sign_with_wrapped",
            "unwrap_key",
            "C_UnwrapKey",
            "sign_and_destroy",
        ] {
            if text.contains(name) {
                callers.insert((module_of(&src, file), name));
            }
        }
    }
    let outside: Vec<_> = callers
        .iter()
        .filter(|(module, _)| module != "hsm" && module != "sam")
        .collect();
    assert!(outside.is_empty(), "user keys reachable from {outside:?}");
    assert!(callers.contains(&("sam".to_owned(), "sign_with_wrapped")));
    // The key of a short-lived certificate, made for one operation, is a user key too.
    assert!(callers.contains(&("sam".to_owned(), "sign_and_destroy")));
    assert!(callers.contains(&("hsm".to_owned(), "sign_and_destroy")));
    assert!(callers.contains(&("hsm".to_owned(), "unwrap_key")));
}

#[test]
fn the_layering_check_catches_a_violation() {
    assert_eq!(crate_refs("use crate::store::Store;"), ["store"]);
    assert_eq!(crate_refs("use crate::{hsm, store::X};"), ["hsm", "store"]);
}

/// Every route of the router is in the OpenAPI document with its methods, and the document
/// names no route that does not exist.
#[test]
fn the_openapi_document_covers_every_route() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let router = std::fs::read_to_string(root.join("src/http/router.rs")).unwrap();
    let mut routes = std::collections::BTreeSet::new();
    let mut add = |path: &str, handler: &str| {
        // `{*request}` (axum catch-all) is `{request}` in OpenAPI.
        let path = path.replace("{*", "{");
        for method in ["get", "post", "put", "delete"] {
            if handler.contains(&format!("{method}(")) {
                routes.insert((path.clone(), method.to_owned()));
            }
        }
    };
    for line in router.lines().map(str::trim) {
        // `route_table!` lines: `"PATH" => handler,` and, for the CSC methods of both
        // versions, `&at("METHOD") => handler,`.
        if let Some((path, handler)) = line.split_once(" => ") {
            let quoted = |s: &str| s.split('"').nth(1).map(str::to_owned);
            if let Some(method) = path.strip_prefix("&at(").and_then(quoted) {
                for version in ["v1", "v2"] {
                    add(&format!("/csc/{version}/{method}"), handler);
                }
            } else if let Some(path) = quoted(path) {
                add(&path, handler);
            }
        }
        // Single `.route("PATH", handler)` calls.
        if let Some(rest) = line.strip_prefix(".route(\"") {
            if let Some((path, handler)) = rest.split_once('"') {
                add(path, handler);
            }
        }
    }
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("docs/openapi.json")).unwrap())
            .unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((path.clone(), method.clone()));
        }
    }
    assert!(routes.len() > 40, "{routes:?}");
    let missing: Vec<_> = routes.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes missing from docs/openapi.json: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "documented routes that do not exist: {stale:?}"
    );
}
