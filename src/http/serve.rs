//! Serving a bound listener until a shutdown future resolves, then draining.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

use super::router::{router, AppState};

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
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutdown requested; draining in-flight requests");
        let _ = stopping_tx.send(());
    };
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period");
            Ok(())
        }
    }
}
