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

    let status = server.stop().await;
    assert!(status.success(), "exit after SIGTERM: {status}");

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
