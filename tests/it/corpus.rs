//! The corpus of files signed by other tools (`tests/corpus/`, made by
//! `tests/corpus/regenerate.sh`): given only the corpus root as trust anchor, qsign's validator
//! reaches, for every file, the verdict the independent tool recorded in the manifest (pyHanko
//! for PDF, xmlsec1 for XML, `openssl cms -verify` for CMS), through the library and through
//! `qsign verify --trust`; and the cheap tools are asked again, so that the manifest stays
//! honest.
//!
//! From a report to a verdict (also in docs/validation.md, "Files signed by other tools"):
//! **valid** when every signature is TOTAL-PASSED, or, for a file that carries no revocation
//! data (manifest `revocation = "none"`), when every signature that did not pass is
//! INDETERMINATE / TRY_LATER and every finding on it is a missing revocation status (the
//! independent tools do not ask for revocation; qsign does). Anything else is **invalid**.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use qsign::validate::{self, Cert, Indication, Material, Report, SubIndication};
use serde::Deserialize;

use crate::support::{self, run};

/// How the validator words a missing revocation status (`validate::cms::assess`).
const NO_REVOCATION: &str = "no revocation information for ";

#[derive(Debug, Deserialize)]
struct Manifest {
    file: Vec<Entry>,
}

/// A corpus file, as `regenerate.sh` recorded it.
#[derive(Debug, Deserialize)]
struct Entry {
    /// The signed file, under `tests/corpus/`.
    path: String,
    /// The signed content of a detached signature.
    content: Option<String>,
    /// The independent tool whose verdict this is.
    tool: String,
    verdict: Verdict,
    revocation: Revocation,
    /// What was done to a negative file.
    case: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Valid,
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Revocation {
    /// The file carries CRLs for its whole chain (a PDF's DSS).
    #[serde(rename = "embedded")]
    Embedded,
    /// It carries none.
    #[serde(rename = "none")]
    Absent,
}

impl Entry {
    fn file(&self) -> Vec<u8> {
        std::fs::read(corpus().join(&self.path)).unwrap()
    }

    fn content(&self) -> Option<Vec<u8>> {
        self.content
            .as_ref()
            .map(|c| std::fs::read(corpus().join(c)).unwrap())
    }

    fn name(&self) -> String {
        match &self.content {
            Some(content) => format!("{} over {content}", self.path),
            None => self.path.clone(),
        }
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus().join("manifest.toml")).unwrap();
    toml::from_str::<Manifest>(&text).unwrap().file
}

/// The corpus root as the only trust anchor; with `crls`, the corpus CRLs as a verifier who
/// fetched them would supply them.
fn material(crls: bool) -> Material {
    let anchors = qsign::app::read_pem_or_der(&corpus().join("pki/root.pem"))
        .unwrap()
        .iter()
        .filter_map(|der| Cert::parse(der))
        .collect();
    let crls = if crls {
        ["pki/root.crl", "pki/issuing.crl"]
            .iter()
            .map(|name| std::fs::read(corpus().join(name)).unwrap())
            .collect()
    } else {
        Vec::new()
    };
    Material {
        anchors,
        crls,
        now: support::now(),
        ..Material::default()
    }
}

/// The verdict of a report, by the mapping in the module's documentation.
fn verdict(report: &Report, revocation: Revocation) -> Verdict {
    let revocation_only = |s: &validate::SignatureReport| {
        revocation == Revocation::Absent
            && s.indication == Indication::Indeterminate
            && s.sub_indication == Some(SubIndication::TryLater)
            && s.errors.iter().all(|e| e.starts_with(NO_REVOCATION))
    };
    let valid = !report.signatures.is_empty()
        && report
            .signatures
            .iter()
            .all(|s| s.indication == Indication::TotalPassed || revocation_only(s));
    if valid {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

/// What the validator must answer for a negative file, by what was done to it.
fn expected_failure(case: &str) -> (Indication, SubIndication) {
    match case {
        "flipped byte" => (Indication::TotalFailed, SubIndication::HashFailure),
        "unknown root" => (
            Indication::Indeterminate,
            SubIndication::NoCertificateChainFound,
        ),
        // signxml signs SignedInfo without the xml:lang it inherits under inclusive C14N.
        "inherited xml:lang left out of SignedInfo" => {
            (Indication::TotalFailed, SubIndication::SigCryptoFailure)
        }
        other => panic!("the corpus case {other:?} has no expected indication here"),
    }
}

#[test]
fn corpus_files_get_the_verdicts_of_the_independent_tools() {
    let entries = manifest();
    // Every format, with files each tool accepted and files it refused.
    for format in ["pdf/", "xml/", "cms/"] {
        for wanted in [Verdict::Valid, Verdict::Invalid] {
            assert!(
                entries
                    .iter()
                    .any(|e| e.path.starts_with(format) && e.verdict == wanted),
                "no {wanted:?} {format} file in the manifest"
            );
        }
    }
    let (root_only, with_crls) = (material(false), material(true));
    for entry in &entries {
        let name = entry.name();
        let (file, content) = (entry.file(), entry.content());
        let report = validate::validate(&file, content.as_deref(), &root_only, 16 << 20)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            verdict(&report, entry.revocation),
            entry.verdict,
            "{name} ({} says {:?}): {report:#?}",
            entry.tool,
            entry.verdict
        );
        // The corpus CRLs supplied: a valid file passes outright, an invalid one stays so.
        let supplied = validate::validate(&file, content.as_deref(), &with_crls, 16 << 20)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match entry.verdict {
            Verdict::Valid => {
                for (s, t) in report.signatures.iter().zip(&supplied.signatures) {
                    // No format failure, and nothing found but a missing revocation status.
                    assert_ne!(s.sub_indication, Some(SubIndication::FormatFailure), "{name}");
                    assert!(
                        s.errors.iter().all(|e| e.starts_with(NO_REVOCATION)),
                        "{name}: {:?}",
                        s.errors
                    );
                    assert_eq!(
                        (t.indication, t.revocation.as_str()),
                        (Indication::TotalPassed, "good"),
                        "{name} with the CRLs: {supplied:#?}"
                    );
                    if entry.revocation == Revocation::Embedded {
                        assert_eq!(s.indication, Indication::TotalPassed, "{name}");
                        assert_eq!(s.level.as_deref(), Some("B-LT"), "{name}");
                    }
                }
            }
            Verdict::Invalid => {
                assert_eq!(verdict(&supplied, entry.revocation), Verdict::Invalid, "{name}");
                let case = entry.case.as_deref().unwrap_or_default();
                let failed = report
                    .signatures
                    .iter()
                    .find(|s| s.indication != Indication::TotalPassed)
                    .unwrap_or_else(|| panic!("{name}: every signature passed"));
                let (indication, sub) = expected_failure(case);
                assert_eq!(
                    (failed.indication, failed.sub_indication),
                    (indication, Some(sub)),
                    "{name} ({case}): {report:#?}"
                );
            }
        }
    }
}

/// The verdict of the entry's own tool, asked again now.
fn tool_verdict(entry: &Entry) -> Verdict {
    let pki = corpus().join("pki");
    let root = pki.join("root.pem");
    let file = corpus().join(&entry.path);
    let ok = match entry.tool.as_str() {
        "openssl cms -verify" => {
            let out = tempfile::NamedTempFile::new().unwrap();
            let content = entry.content.as_ref().map(|c| corpus().join(c));
            let mut args: Vec<&OsStr> = [
                "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-CAfile",
            ]
            .into_iter()
            .map(OsStr::new)
            .collect();
            args.push(root.as_os_str());
            args.push(OsStr::new("-in"));
            args.push(file.as_os_str());
            args.push(OsStr::new("-out"));
            args.push(out.path().as_os_str());
            if let Some(content) = &content {
                args.push(OsStr::new("-content"));
                args.push(content.as_os_str());
            }
            support::openssl(&args).0
        }
        "xmlsec1 --verify" => run(Command::new("xmlsec1")
            .arg("--verify")
            .arg("--trusted-pem")
            .arg(&root)
            .args([
                "--id-attr:Id",
                "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            ])
            .arg(&file))
        .status
        .success(),
        "pyHanko validate" => {
            let out = run(Command::new(crate::pades::python())
                .arg(corpus().join("pyhanko_verdict.py"))
                .arg(&root)
                .arg(&file));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim() == "valid"
        }
        other => panic!("{}: unknown tool {other:?}", entry.path),
    };
    if ok {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

#[test]
fn corpus_verdicts_still_hold_in_the_independent_tools() {
    let entries = manifest();
    // Every CMS and XML file (milliseconds each); pyHanko (a Python start each) on the file
    // with two signers and on a broken one.
    let asked: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            !e.path.starts_with("pdf/")
                || e.path.ends_with("two-signers.pdf")
                || e.path.ends_with("flipped.pdf")
        })
        .collect();
    assert!(asked.len() >= 10, "{}", asked.len());
    for entry in asked {
        assert_eq!(
            tool_verdict(entry),
            entry.verdict,
            "{} now says otherwise about {}",
            entry.tool,
            entry.name()
        );
    }
}

#[test]
fn corpus_files_verified_by_the_cli_get_the_same_verdicts() {
    // A verifier's machine: no qsign service, no HSM; the corpus root given with --trust.
    let bare = tempfile::tempdir().unwrap();
    let root = corpus().join("pki/root.pem");
    let verify = |file: &str, content: Option<&str>| {
        let mut cmd = support::qsign_verify_offline(bare.path());
        cmd.args(["--json", "--trust"])
            .arg(&root)
            .arg(corpus().join(file));
        if let Some(content) = content {
            cmd.arg("--content").arg(corpus().join(content));
        }
        let out = run(&mut cmd);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "{file}: {e}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report)
    };
    // pyHanko's B-LT by two signers: both pass at B-LT from the DSS alone.
    let (code, report) = verify("pdf/pyhanko-blt-two-signers.pdf", None);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 2, "{report}");
    for s in report["signatures"].as_array().unwrap() {
        assert_eq!(s["level"], "B-LT", "{report}");
    }
    // openssl's detached CAdES: valid, but nothing tells its revocation status.
    let (code, report) = verify("cms/detached-cades.p7s", Some("cms/content.txt"));
    assert_eq!(code, 2, "{report}");
    assert_eq!(report["signatures"][0]["sub_indication"], "TRY_LATER");
    // A flipped byte in xmlsec1's signed data, and pyHanko's signer under an unknown root.
    let (code, report) = verify("xml/xmlsec-exclusive-flipped.xml", None);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["signatures"][0]["sub_indication"], "HASH_FAILURE");
    let (code, report) = verify("pdf/pyhanko-unknown-root.pdf", None);
    assert_eq!(code, 2, "{report}");
    assert_eq!(
        report["signatures"][0]["sub_indication"],
        "NO_CERTIFICATE_CHAIN_FOUND"
    );
}
