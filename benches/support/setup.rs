//! Set-up shared by the benchmarks: a private SoftHSM token directory and a token in it.

use std::path::PathBuf;

/// Points SoftHSM at a new temporary token directory and creates token `label`; returns the
/// module path and the directory guard.
pub fn softhsm_token(label: &str, pin: &str) -> (PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tokens")).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let module = qsign::hsm::softhsm::find_module().expect("install softhsm2");
    qsign::hsm::init_token(&module, label, "bench-so", pin).unwrap();
    (module, dir)
}

/// Throughput and latency of one benchmark row.
pub struct Figures {
    /// Operations per second over the whole run.
    pub rate: f64,
    /// Median latency.
    pub p50: std::time::Duration,
    /// 99th percentile latency.
    pub p99: std::time::Duration,
}

impl Figures {
    /// The p50 and p99 as table cells.
    pub fn latency_cells(&self) -> String {
        format!(
            "{:.2} ms | {:.2} ms",
            self.p50.as_secs_f64() * 1000.0,
            self.p99.as_secs_f64() * 1000.0
        )
    }
}

/// Figures from per-operation latencies over `elapsed`.
pub fn figures(mut latencies: Vec<std::time::Duration>, elapsed: std::time::Duration) -> Figures {
    latencies.sort();
    let n = latencies.len();
    Figures {
        rate: n as f64 / elapsed.as_secs_f64(),
        p50: latencies[n / 2],
        p99: latencies[(n * 99 / 100).min(n - 1)],
    }
}

/// Runs `op` from `tasks` concurrent tokio tasks for `run`.
pub async fn measure<F, Fut>(tasks: usize, run: std::time::Duration, op: F) -> Figures
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = std::time::Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while start.elapsed() < run {
                let t = std::time::Instant::now();
                op().await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    figures(all, start.elapsed())
}

/// A fresh SoftHSM token with every service key, opened with `sessions` pool sessions.
pub fn hsm_with_keys(
    rt: &tokio::runtime::Runtime,
    sessions: usize,
) -> (qsign::hsm::Hsm, PathBuf, tempfile::TempDir) {
    let (module, dir) = softhsm_token("bench", "bench-pin");
    let hsm = qsign::hsm::Hsm::open(qsign::hsm::Options {
        module: module.clone(),
        token_label: "bench".into(),
        pin: zeroize::Zeroizing::new("bench-pin".into()),
        sessions,
        timeout: std::time::Duration::from_secs(30),
    })
    .unwrap();
    rt.block_on(hsm.ensure_keys()).unwrap();
    (hsm, module, dir)
}
