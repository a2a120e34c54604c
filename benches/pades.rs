//! PAdES signing of 1 MB and 50 MB PDFs at B-B and B-LT: time and peak memory, against one
//! SHA-256 pass over the same bytes, and against pyHanko signing the same file with a P-256
//! key in SoftHSM (in its own process, timed inside it).
//!
//! qsign's path, all in this process: `pades::prepare` (parse the cross-reference, append the
//! revision; for B-LT with the DSS: certificates, two CRLs and an OCSP response), SHA-256 over
//! the byte ranges, CMS signed attributes, signature by a wrapped P-256 user key in SoftHSM
//! (unwrap + sign + destroy), for B-LT a signature timestamp from the embedded TSA (another
//! HSM signature), `pades::assemble`. The input `Vec` moves through the steps.
//!
//! Peak memory: the process's peak resident set (`VmHWM`, reset through
//! `/proc/self/clear_refs` before each measured run) above its resident set before the input
//! was made, over the input's size; the input itself counts (1.0 = no copy at all).
//!
//! Run: `cargo bench --bench pades` (pyHanko from the venv of `make test`, or `PYHANKO_PYTHON`).
//! Figures go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::cast_precision_loss,
    missing_docs,
    dead_code,
    reason = "benchmark harness"
)]

#[path = "../tests/it/support.rs"]
mod fixtures;
#[path = "support/user.rs"]
mod user;

use std::process::Command;
use std::time::{Duration, Instant};

use qsign::formats::cms::Level;
use qsign::formats::pades::{Options, Validation};
use qsign::hsm::WrappedKey;
use sha2::Digest as _;

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn status_kib(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

struct Signer {
    svc: fixtures::Service,
    wrapped: WrappedKey,
    cert: Vec<u8>,
    validation: Validation,
}

impl Signer {
    async fn sign(&self, pdf: Vec<u8>, level: Level) -> Vec<u8> {
        let validation = (level >= Level::BLT).then_some(&self.validation);
        fixtures::pades_sign(
            &self.svc,
            &self.wrapped,
            &self.cert,
            pdf,
            &Options::default(),
            level,
            validation,
        )
        .await
    }
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
    let (wrapped, cert, validation) = user::key_with_validation(&svc).await;
    let signer = Signer {
        svc,
        wrapped,
        cert,
        validation,
    };
    let python = std::env::var("PYHANKO_PYTHON")
        .unwrap_or_else(|_| "/var/tmp/qsign-venv/bin/python".to_owned());
    let dir = tempfile::tempdir().unwrap();
    println!("| size | level | qsign median | SHA-256 once | qsign / SHA-256 | peak memory / size | pyHanko B-B median | pyHanko / qsign |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, size) in [("1 MB", 1 << 20), ("50 MB", 50 << 20)] {
        let pdf = fixtures::sample_pdf(3, "1.7", size);
        let hash_runs: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(sha2::Sha256::digest(&pdf));
                start.elapsed()
            })
            .collect();
        let hash = median(hash_runs);
        // pyHanko: the same file, B-B, a P-256 key on a SoftHSM token of its own.
        let token = fixtures::new_token();
        let file = dir.path().join(format!("{size}.pdf"));
        std::fs::write(&file, &pdf).unwrap();
        let out = Command::new(&python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/benches/tools/pyhanko_sign.py"
            ))
            .arg(fixtures::module())
            .arg(&token.label)
            .arg(&token.pin)
            .arg(&file)
            .arg(RUNS.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pyHanko: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let pyhanko_ms = report["median_ms"].as_f64().unwrap();
        for level in [Level::BB, Level::BLT] {
            // Warm-up, then timed runs; each run owns a fresh copy of the input.
            let _ = signer.sign(pdf.clone(), level).await;
            let mut times = Vec::new();
            for _ in 0..RUNS {
                let input = pdf.clone();
                let start = Instant::now();
                let signed = signer.sign(input, level).await;
                times.push(start.elapsed());
                assert!(signed.len() > pdf.len());
            }
            let ours = median(times);
            // Peak memory of one more run.
            let before = status_kib("VmRSS:");
            let input = pdf.clone();
            reset_peak();
            let signed = signer.sign(input, level).await;
            let peak = status_kib("VmHWM:");
            drop(signed);
            let ratio = (peak.saturating_sub(before) * 1024) as f64 / size as f64;
            let ours_ms = ours.as_secs_f64() * 1000.0;
            let pyhanko = if level == Level::BB {
                (
                    format!("{pyhanko_ms:.1} ms"),
                    format!("{:.1}×", pyhanko_ms / ours_ms),
                )
            } else {
                ("—".to_owned(), "—".to_owned())
            };
            println!(
                "| {label} | {} | {ours_ms:.1} ms | {:.1} ms | {:.2}× | {ratio:.2} | {} | {} |",
                qsign::service::level_name(level),
                hash.as_secs_f64() * 1000.0,
                ours.as_secs_f64() / hash.as_secs_f64(),
                pyhanko.0,
                pyhanko.1,
            );
        }
    }
}
