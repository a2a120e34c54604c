//! End to end: the real `qsign serve` process over loopback HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;

/// A running `qsign serve`.
pub(crate) struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Server {
    pub(crate) fn start(mut cmd: Command, log: &Path) -> Self {
        let stderr = std::fs::File::create(log).unwrap();
        let mut child = cmd
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!(
                "qsign serve did not start: {}",
                std::fs::read_to_string(log).unwrap()
            );
        };
        assert!(
            !line.is_empty(),
            "qsign serve exited: {}",
            std::fs::read_to_string(log).unwrap()
        );
        // "qsign listening on http://localhost:PORT (bound to 127.0.0.1:PORT)"
        let bound = line
            .trim()
            .rsplit("bound to ")
            .next()
            .unwrap()
            .trim_end_matches(')');
        Self {
            child,
            base: format!("http://{bound}"),
            log: log.to_owned(),
        }
    }

    /// The process id (for its CPU time and memory in /proc).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) async fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if !status.success() {
                    eprintln!(
                        "qsign serve log:\n{}",
                        std::fs::read_to_string(&self.log).unwrap_or_default()
                    );
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "qsign did not stop after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sends the headers of a POST with `length` bytes announced but not sent; returns the status
/// and body of the answer.
async fn raw_post_headers_only(base: &str, path: &str, length: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n\
         Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("no answer to an oversize request")
        .unwrap();
    let text = String::from_utf8(response).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

impl Server {
    /// SIGKILL: no shutdown code runs.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    /// A failed assertion must not leave a server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn init_fingerprint(data_dir: &Path) -> (String, String) {
    let out = support::run(support::qsign(data_dir).arg("init"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let fp = stdout
        .lines()
        .find_map(|l| l.strip_prefix("root CA public key SHA-256: "))
        .unwrap()
        .to_owned();
    (fp, stdout)
}

#[tokio::test]
async fn first_serve_initialises_answers_and_stops_cleanly_then_reuses_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(support::qsign(dir.path()), &dir.path().join("serve.log"));
    let client = reqwest::Client::new();

    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["hsm"], "ok");
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Errors carry a stable code and the request id as support reference.
    let missing = client
        .get(server.url("/no/such/page"))
        .header("X-Request-Id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // The support reference is always the service's own; the caller's id is kept beside it.
    let reference = missing.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(reference, "trace-42");
    assert!(uuid::Uuid::parse_str(&reference).is_ok(), "{reference}");
    assert_eq!(missing.headers()["x-client-request-id"], "trace-42");
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    assert_eq!(body["support_ref"], reference.as_str());
    assert!(body["error_description"].as_str().unwrap().len() > 5);

    // A request id unsafe for logs is replaced, not echoed.
    let replaced = client
        .get(server.url("/healthz"))
        .header("X-Request-Id", "a b")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "a b");
    assert!(replaced.headers().get("x-client-request-id").is_none());

    let wrong_method = client.post(server.url("/readyz")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    let body: serde_json::Value = wrong_method.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");

    // The limit is enforced from Content-Length, before the body is read: send only the
    // headers of a 2 MiB upload and read the answer.
    let (status, body) = raw_post_headers_only(&server.base, "/idp/token", 2 * 1024 * 1024).await;
    assert_eq!(status, 413);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "payload_too_large");

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("qsign_http_responses_total{class=\"4xx\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("qsign_hsm_operations_total"), "{metrics}");

    // Every line a request logs, in any layer, carries its support reference: a refused login
    // is logged by the identity provider inside the request's span.
    let refused = client
        .post(server.url("/idp/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "nobody"),
            ("password", "wrong password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let refused_ref = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let status = server.stop().await;
    assert!(status.success(), "exit after SIGTERM: {status}");
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("support_ref={refused_ref}")))
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("login refused")),
        "the identity provider's line carries the support reference: {log}"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("login refused") && !l.contains("support_ref=")),
        "{log}"
    );
    assert!(!log.contains("wrong password"), "{log}");

    // The same data directory keeps the same keys.
    let (fp1, stdout) = init_fingerprint(dir.path());
    assert!(stdout.contains("nothing to do"), "{stdout}");
    let server = Server::start(support::qsign(dir.path()), &dir.path().join("serve.log"));
    assert_eq!(
        client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(server.stop().await.success());
    let (fp2, _) = init_fingerprint(dir.path());
    assert_eq!(fp1, fp2);
    assert_eq!(fp1.len(), 64);
}

#[tokio::test]
async fn serve_on_postgres_is_ready() {
    let db = support::PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = support::qsign(dir.path());
    cmd.env("QSIGN_DATABASE_URL", &db.url);
    let server = Server::start(cmd, &dir.path().join("serve.log"));
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(server.stop().await.success());
    assert!(
        !dir.path().join("qsign.db").exists(),
        "SQLite used despite QSIGN_DATABASE_URL"
    );
    db.drop_now().await;
}

/// A connection from `source` (a loopback address) that sends half a request's headers.
async fn trickling(base: &str, source: [u8; 4]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::from((source, 0)))
        .unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .unwrap();
    stream
}

/// Whether the server closed `stream` (a read ends) within `within`.
async fn closed(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buf = [0u8; 256];
    matches!(
        tokio::time::timeout(within, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    ) || matches!(
        tokio::time::timeout(within, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_health_checks_always_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = support::qsign(dir.path());
    cmd.env("QSIGN_HTTP_HEADER_TIMEOUT_SECS", "1")
        .env("QSIGN_HTTP_MAX_CONNECTIONS_PER_SOURCE", "8");
    let server = Server::start(cmd, &dir.path().join("serve.log"));
    // One source opens its 8 connections and trickles headers on each; a 9th is closed at
    // once.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(trickling(&server.base, [127, 0, 0, 2]).await);
    }
    let mut ninth = trickling(&server.base, [127, 0, 0, 2]).await;
    assert!(
        closed(&mut ninth, Duration::from_millis(500)).await,
        "a ninth connection from one source stayed open"
    );
    // Meanwhile everyone else is served, health checks first.
    let client = reqwest::Client::new();
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Half-sent headers are cut off after the header timeout (1 s here).
    for stream in &mut held {
        assert!(
            closed(stream, Duration::from_secs(5)).await,
            "a trickling connection was kept open"
        );
    }
    // The source may connect again once its connections are closed.
    let mut again = trickling(&server.base, [127, 0, 0, 2]).await;
    assert!(!closed(&mut again, Duration::from_millis(200)).await);
    assert!(server.stop().await.success());
}

/// A PDF from object bodies (numbered from 1) with a classic cross-reference table; `extra`
/// goes into the trailer.
fn hostile_pdf(objects: &[Vec<u8>], extra: &str) -> Vec<u8> {
    let mut file = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(file.len());
        file.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        file.extend_from_slice(body);
        file.extend_from_slice(b"\nendobj\n");
    }
    let xref = file.len();
    file.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes(),
    );
    for o in &offsets {
        file.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    file.extend_from_slice(
        format!(
            "trailer\n<</Size {}/Root 1 0 R{extra}>>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    file
}

/// A FlateDecode stream that inflates to `size` zero bytes.
fn zero_bomb(size: usize, extra: &str) -> Vec<u8> {
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; size], 9);
    let mut body = format!(
        "<</Filter/FlateDecode/Length {}{extra}>>\nstream\n",
        packed.len()
    )
    .into_bytes();
    body.extend_from_slice(&packed);
    body.extend_from_slice(b"\nendstream");
    body
}

/// The hostile files of the review, made here: each is answered within its budgets.
fn hostile_files() -> Vec<(&'static str, Vec<u8>)> {
    let catalog = |extra: &str| format!("<</Type/Catalog/Pages 2 0 R{extra}>>").into_bytes();
    let pages = b"<</Type/Pages/Kids[]/Count 0>>".to_vec();
    // Every cross-reference section names one stream that inflates to 200 MiB.
    let mut xref_bomb = hostile_pdf(
        &[
            catalog(""),
            pages.clone(),
            zero_bomb(200 << 20, "/Type/XRef/W[1 1 1]/Size 3"),
        ],
        "",
    );
    let stm = xref_bomb.windows(7).position(|w| w == b"3 0 obj").unwrap();
    let mut prev: Option<usize> = None;
    for _ in 0..200 {
        let at = xref_bomb.len();
        let link = prev.map_or_else(String::new, |p| format!("/Prev {p}"));
        xref_bomb.extend_from_slice(
            format!("xref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 4/Root 1 0 R/XRefStm {stm}{link}>>\n")
                .as_bytes(),
        );
        prev = Some(at);
    }
    xref_bomb.extend_from_slice(format!("startxref\n{}\n%%EOF\n", prev.unwrap()).as_bytes());
    // A DSS naming the same 200 MiB stream 100 times.
    let dss_bomb = hostile_pdf(
        &[
            catalog(&format!("/DSS<</Certs[{}]>>", "3 0 R ".repeat(100))),
            pages.clone(),
            zero_bomb(200 << 20, ""),
        ],
        "",
    );
    // A form field listing itself 10 000 times, with /Kids back to itself and a long name.
    let fields = hostile_pdf(
        &[
            catalog(&format!(
                "/AcroForm<</Fields[{}]>>",
                "3 0 R ".repeat(10_000)
            )),
            pages.clone(),
            format!(
                "<</FT/Sig/T({})/Kids[3 0 R 3 0 R]/V 4 0 R>>",
                "n".repeat(2000)
            )
            .into_bytes(),
            b"<</Type/Sig/ByteRange[0 1 2 3]/Contents<00>>>".to_vec(),
        ],
        "",
    );
    // A /Size that would wrap the object counter.
    let size = hostile_pdf(&[catalog(""), pages.clone()], "")
        .into_iter()
        .collect::<Vec<u8>>();
    let size = String::from_utf8_lossy(&size)
        .replace("/Size 3", "/Size 4294967295")
        .into_bytes();
    // A namespace flood: 20 000 nested elements each declaring namespaces.
    let flood: String = (0..20_000)
        .map(|i| format!("<e{i} xmlns:a{i}=\"urn:{i}\" xmlns:b{i}=\"urn:{i}\">"))
        .collect();
    vec![
        ("xref stream named by every section", xref_bomb),
        ("DSS naming one bomb 100 times", dss_bomb),
        ("field listing itself", fields),
        ("/Size 4294967295", size),
        ("namespace flood", flood.into_bytes()),
    ]
}

/// CPU seconds used by a process so far (user + system), from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Resident memory of a process in MiB, from /proc.
fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_sent_to_the_running_service_stay_within_their_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(support::qsign(dir.path()), &dir.path().join("serve.log"));
    let pid = server.pid();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let base_memory = resident_mib(pid);
    for (what, file) in hostile_files() {
        let cpu_before = cpu_seconds(pid);
        let started = Instant::now();
        let request = client
            .post(server.url("/v1/validate"))
            .body(file.clone())
            .send();
        // Meanwhile the health check answers at once.
        let health = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let t = Instant::now();
            let status = client
                .get(server.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status();
            (status, t.elapsed())
        };
        let (reply, (health_status, health_time)) = tokio::join!(request, health);
        let reply = reply.unwrap();
        let status = reply.status().as_u16();
        let body = reply.text().await.unwrap();
        let took = started.elapsed();
        let cpu = cpu_seconds(pid) - cpu_before;
        let grown = resident_mib(pid) - base_memory;
        assert!(
            status == 400 || status == 200,
            "{what}: answered {status} {body}"
        );
        assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
        assert!(cpu < 3.0, "{what}: {cpu:.2} CPU seconds");
        assert!(grown < 400.0, "{what}: resident memory grew {grown:.0} MiB");
        assert_eq!(health_status, 200);
        assert!(
            health_time < Duration::from_secs(1),
            "{what}: /healthz took {health_time:?}"
        );
        println!("{what}: {status} in {took:?}, {cpu:.2} CPU s, +{grown:.0} MiB");
    }
    assert!(server.stop().await.success());
}
