//! Serving a bound listener until a shutdown future resolves, then draining.
//!
//! Each connection is served by hyper's HTTP/1 server with a header-read timeout (a client
//! that trickles its headers is closed), and one source address may hold only so many
//! connections at once: a slow client cannot hold the service's turns for everyone.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::Service as _;

use super::router::{router, AppState};

/// Open connections by source address.
#[derive(Debug, Default)]
struct Sources(Mutex<HashMap<IpAddr, usize>>);

impl Sources {
    /// Counts a new connection from `ip` unless it has `max` already.
    fn admit(&self, ip: IpAddr, max: usize) -> bool {
        let mut open = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(ip).or_default();
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn release(&self, ip: IpAddr) {
        let mut open = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// Serves `state` on `listener` until `shutdown` resolves, then stops accepting and waits up to
/// `grace` for in-flight requests.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let header_timeout = Duration::from_secs(state.config.http.header_timeout_secs.max(1));
    let per_source = state.config.http.max_connections_per_source.max(1);
    let mut make = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let sources = Arc::new(Sources::default());
    // Every connection task holds a sender; when all are gone, the drain is over.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let source = super::source_of(peer.ip());
        if !sources.admit(source, per_source) {
            tracing::warn!(source = %source, "too many connections from one source; closed");
            drop(stream);
            continue;
        }
        let Ok(service) = make.call(peer).await;
        let service = TowerToHyperService::new(service);
        let (sources, done, mut stopping) =
            (Arc::clone(&sources), done_tx.clone(), stopping_rx.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            sources.release(source);
            drop(done);
        });
    }
    tracing::info!("shutdown requested; draining in-flight requests");
    let _ = stopping_tx.send(true);
    drop(done_tx);
    if tokio::time::timeout(grace, done_rx.recv()).await.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "requests still running after the grace period"
        );
    }
    Ok(())
}
