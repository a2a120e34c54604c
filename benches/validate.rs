//! Validation of B-LT PDFs (1 MB and 50 MB) against one SHA-256 pass over the same bytes, and
//! against pyHanko's validator on the same file (in its own process, timed inside it).
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

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let svc = fixtures::Service::start_production().await;
    let (wrapped, cert) = fixtures::user_key(&svc).await;
    let validation = svc
        .service
        .documents
        .pdf_validation(std::slice::from_ref(&cert))
        .await
        .unwrap();
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
        let ours = median(
            (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    std::hint::black_box(
                        validate::validate(&pdf, None, &material, usize::MAX).unwrap(),
                    );
                    start.elapsed()
                })
                .collect(),
        );
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
        let out = Command::new(&python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/benches/tools/pyhanko_validate.py"
            ))
            .arg(&root_file)
            .arg(&file)
            .arg(RUNS.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pyHanko: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let theirs = theirs["median_ms"].as_f64().unwrap();
        let ours_ms = ours.as_secs_f64() * 1000.0;
        println!(
            "| {label} | {:.1} ms | {ours_ms:.1} ms | {:.1} ms | {:.2}× | {theirs:.1} ms | {:.1}× |",
            cold.as_secs_f64() * 1000.0,
            hash.as_secs_f64() * 1000.0,
            ours.as_secs_f64() / hash.as_secs_f64(),
            theirs / ours_ms,
        );
    }
}
