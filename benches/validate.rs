//! Validation of B-LT PDFs (1 MB and 50 MB) against one SHA-256 pass over the same bytes, and
//! against pyHanko's validator on the same file (in its own process, timed inside it); a 1 MB
//! PDF signed five times (five signers, each in its own incremental revision at B-LT), every
//! signature validated by both; and the 1 MB B-LT file verified in a fresh process each time
//! (`qsign verify --trust root.pem FILE` as a child process, pyHanko with its Python start), so
//! that both the in-process and the whole-process comparison are visible.
//!
//! qsign's path: `validate::validate` (parse the cross-reference, read the signature and the
//! DSS, check the byte range, hash the ranges, verify the CMS, build the chain to the root,
//! revocation from the embedded CRLs and OCSP response, the signature timestamp and its TSA
//! chain, the level).
//!
//! Run: `cargo bench --bench validate`. Figures go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    dead_code,
    reason = "benchmark harness"
)]

#[path = "../tests/it/support.rs"]
mod fixtures;
#[path = "support/user.rs"]
mod user;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use qsign::formats::cms::Level;
use qsign::formats::pades::Options;
use qsign::pki::Ca;
use qsign::validate::{self, Cert, Indication, Material};
use sha2::Digest as _;

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median of [`RUNS`] in-process validations of `pdf` after a first one (warm), which
/// must pass.
fn qsign_warm(pdf: &[u8], material: &Material) -> Duration {
    let report = validate::validate(pdf, None, material, usize::MAX).unwrap();
    assert_eq!(report.overall(), Indication::TotalPassed, "{report:?}");
    median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(validate::validate(pdf, None, material, usize::MAX).unwrap());
                start.elapsed()
            })
            .collect(),
    )
}

/// `benches/tools/pyhanko_validate.py` validating every signature of `file` `runs` times.
fn pyhanko(python: &str, root: &Path, file: &Path, runs: usize) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/tools/pyhanko_validate.py"
    ))
    .arg(root)
    .arg(file)
    .arg(runs.to_string());
    cmd
}

/// Runs `cmd` to success; its wall time (process start, imports and exit included) and
/// standard output.
fn wall(cmd: &mut Command) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, out.stdout)
}

/// pyHanko's median in milliseconds, timed inside its process.
fn pyhanko_ms(python: &str, root: &Path, file: &Path) -> f64 {
    let (_, stdout) = wall(&mut pyhanko(python, root, file, RUNS));
    let theirs: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    theirs["median_ms"].as_f64().unwrap()
}

/// Set in a child of this bench: validate one file in this fresh process (nothing verified
/// before, nothing remembered) and print the milliseconds that took.
const COLD: &str = "QSIGN_BENCH_COLD";

/// In a child process: `QSIGN_BENCH_COLD=<file>,<root DER file>,<validation time>`.
fn cold_child(spec: &str) {
    let parts: Vec<&str> = spec.split(',').collect();
    let pdf = std::fs::read(parts[0]).unwrap();
    let root = std::fs::read(parts[1]).unwrap();
    let material = Material {
        anchors: Cert::parse(&root).into_iter().collect(),
        certificates: Vec::new(),
        crls: Vec::new(),
        ocsps: Vec::new(),
        now: parts[2].parse().unwrap(),
        fetch: None,
        local: None,
        deadline: None,
        trusted_lists: None,
    };
    let start = Instant::now();
    let report = validate::validate(&pdf, None, &material, usize::MAX).unwrap();
    let took = start.elapsed();
    assert_eq!(report.overall(), Indication::TotalPassed, "{report:?}");
    println!("{}", ms(took));
}

/// The median of [`RUNS`] validations of `file`, each the first in a fresh process (this
/// bench started again as a child), timed inside it as pyHanko's in-process figure is.
fn qsign_fresh(file: &Path, root_der: &Path, now: i64) -> f64 {
    let mut runs: Vec<f64> = (0..RUNS)
        .map(|_| {
            let mut cmd = Command::new(std::env::current_exe().unwrap());
            cmd.env(
                COLD,
                format!("{},{},{now}", file.display(), root_der.display()),
            );
            let (_, stdout) = wall(&mut cmd);
            String::from_utf8(stdout).unwrap().trim().parse().unwrap()
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    if let Ok(spec) = std::env::var(COLD) {
        cold_child(&spec);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let svc = fixtures::Service::start_production().await;
    let (wrapped, cert, validation) = user::key_with_validation(&svc).await;
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    let material = Material {
        anchors: Cert::parse(&root).into_iter().collect(),
        certificates: Vec::new(),
        crls: Vec::new(),
        ocsps: Vec::new(),
        now: svc.now(),
        fetch: None,
        local: None,
        deadline: None,
        trusted_lists: None,
    };
    let python = std::env::var("PYHANKO_PYTHON")
        .unwrap_or_else(|_| "/var/tmp/qsign-venv/bin/python".to_owned());
    let dir = tempfile::tempdir().unwrap();
    let root_file = dir.path().join("root.pem");
    std::fs::write(&root_file, fixtures::cert_pem(&root)).unwrap();
    println!("| size | qsign (first, cold) | qsign (warm) | SHA-256 once | qsign warm / SHA-256 | pyHanko | pyHanko / qsign warm |");
    println!("|---|---|---|---|---|---|---|");
    for (label, size) in [("1 MB", 1 << 20), ("50 MB", 50 << 20)] {
        let pdf = fixtures::pades_sign(
            &svc,
            &wrapped,
            &cert,
            fixtures::sample_pdf(3, "1.7", size),
            &Options::default(),
            Level::BLT,
            Some(&validation),
        )
        .await;
        let start = Instant::now();
        let report = validate::validate(&pdf, None, &material, usize::MAX).unwrap();
        let cold = start.elapsed();
        assert_eq!(report.overall(), Indication::TotalPassed, "{report:?}");
        assert_eq!(report.signatures[0].level.as_deref(), Some("B-LT"));
        let ours = qsign_warm(&pdf, &material);
        let hash = median(
            (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    std::hint::black_box(sha2::Sha256::digest(&pdf));
                    start.elapsed()
                })
                .collect(),
        );
        let file = dir.path().join(format!("{size}.pdf"));
        std::fs::write(&file, &pdf).unwrap();
        let theirs = pyhanko_ms(&python, &root_file, &file);
        let ours_ms = ms(ours);
        println!(
            "| {label} | {:.1} ms | {ours_ms:.1} ms | {:.1} ms | {:.2}× | {theirs:.1} ms | {:.1}× |",
            ms(cold),
            ms(hash),
            ours.as_secs_f64() / hash.as_secs_f64(),
            theirs / ours_ms,
        );
    }

    // Five signers, each signing the 1 MB document in its own revision at B-LT (the DSS
    // updated each time); every signature validated.
    let mut pdf = fixtures::sample_pdf(3, "1.7", 1 << 20);
    for _ in 0..5 {
        let (wrapped, cert, validation) = user::key_with_validation(&svc).await;
        pdf = fixtures::pades_sign(
            &svc,
            &wrapped,
            &cert,
            pdf,
            &Options::default(),
            Level::BLT,
            Some(&validation),
        )
        .await;
    }
    // Validated after the five signers' certificates were issued.
    let material = Material {
        now: svc.now(),
        ..material
    };
    let report = validate::validate(&pdf, None, &material, usize::MAX).unwrap();
    assert_eq!(report.signatures.len(), 5, "{report:?}");
    assert!(
        report
            .signatures
            .iter()
            .all(|s| s.level.as_deref() == Some("B-LT")),
        "{report:?}"
    );
    let ours = ms(qsign_warm(&pdf, &material));
    let file = dir.path().join("five.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let theirs = pyhanko_ms(&python, &root_file, &file);
    println!();
    println!("| file | signatures | qsign (warm) | pyHanko | pyHanko / qsign warm |");
    println!("|---|---|---|---|---|");
    println!(
        "| 1 MB, five revisions | 5 | {ours:.1} ms | {theirs:.1} ms | {:.1}× |",
        theirs / ours
    );

    // The 1 MB B-LT file verified in a fresh process each time: qsign's CLI on a verifier's
    // machine (no service, no HSM; the root given with --trust) and pyHanko with its Python
    // start, beside the in-process figures.
    let file = dir.path().join(format!("{}.pdf", 1 << 20));
    let pdf = std::fs::read(&file).unwrap();
    let ours = ms(qsign_warm(&pdf, &material));
    let theirs = pyhanko_ms(&python, &root_file, &file);
    let bare = tempfile::tempdir().unwrap();
    let cli = median(
        (0..RUNS)
            .map(|_| {
                let mut cmd = fixtures::qsign_verify_offline(bare.path());
                cmd.arg("--trust").arg(&root_file).arg(&file);
                wall(&mut cmd).0
            })
            .collect(),
    );
    let process = median(
        (0..RUNS)
            .map(|_| wall(&mut pyhanko(&python, &root_file, &file, 1)).0)
            .collect(),
    );
    let root_der = dir.path().join("root.der");
    std::fs::write(&root_der, &root).unwrap();
    let fresh = qsign_fresh(&file, &root_der, material.now);
    // For profiling the fresh-process path by hand: keep the file, the root and the time.
    if let Ok(keep) = std::env::var("QSIGN_BENCH_KEEP") {
        std::fs::copy(&file, Path::new(&keep).join("1mb-b-lt.pdf")).unwrap();
        std::fs::copy(&root_der, Path::new(&keep).join("root.der")).unwrap();
        std::fs::write(Path::new(&keep).join("now"), material.now.to_string()).unwrap();
    }
    let (cli, process) = (ms(cli), ms(process));
    println!();
    println!("| 1 MB B-LT | qsign in-process (warm) | qsign, first validation in a fresh process | qsign verify, whole fresh process | pyHanko in-process | pyHanko, whole fresh process | pyHanko in-process / qsign fresh | pyHanko / qsign, whole processes |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| median of {RUNS} | {ours:.1} ms | {fresh:.2} ms | {cli:.1} ms | {theirs:.1} ms | {process:.1} ms | {:.1}× | {:.1}× |",
        theirs / fresh,
        process / cli,
    );
}
