//! `qsign serve`: start the service; on a managed SoftHSM token, initialise on first run.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::{App, HsmSetup};
use crate::clock;
use crate::config::Config;
use crate::http::{serve, AppState};
use crate::telemetry::Metrics;

pub(super) fn run(mut config: Config) -> anyhow::Result<()> {
    let setup = HsmSetup::from_config(&config)?;
    let managed = config.hsm.managed_softhsm;
    super::runtime()?.block_on(async move {
        // Bind first, so that a port chosen by the OS is in the public URL the PKI uses.
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let bound = listener.local_addr()?;
        config.listen = bound;
        let (app, _) = App::open(&config, setup, managed, clock::system()).await?;
        let fingerprint = app.root_fingerprint().await?;
        let grace = Duration::from_secs(config.http.shutdown_grace_secs);
        let service = app.service.clone();
        let redacted = state_config_fingerprint(&config)?;
        service.started(redacted).await?;
        let state = AppState {
            service: Arc::new(service.clone()),
            metrics: Arc::new(Metrics::default()),
            config: Arc::new(config),
        };
        tracing::info!(root_ca_sha256 = %fingerprint, addr = %bound, "qsign started");
        let shutdown = shutdown_signal()?;
        println!(
            "qsign listening on {} (bound to {bound})",
            state.config.public_url()
        );
        // Expired working data is pruned at start and every ten minutes (docs/operations.md).
        let pruner = {
            let service = service.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(600));
                loop {
                    every.tick().await;
                    if let Err(e) = service.prune().await {
                        tracing::warn!(error = %e, "pruning expired data failed");
                    }
                }
            })
        };
        serve(listener, state, shutdown, grace).await?;
        pruner.abort();
        if let Err(e) = service.stopping().await {
            tracing::error!(error = %e, "could not record the stop in the audit log");
        }
        app.close().await;
        tracing::info!("qsign stopped");
        Ok(())
    })
}

/// SHA-256 of the effective configuration with secrets redacted, for the start-up record.
fn state_config_fingerprint(config: &Config) -> anyhow::Result<String> {
    use sha2::Digest as _;
    Ok(hex::encode(sha2::Sha256::digest(
        config.to_redacted_toml()?.as_bytes(),
    )))
}

/// Registers SIGTERM and SIGINT handlers now (so a signal that arrives as soon as the URL is
/// printed is not lost to the default action) and returns a future that resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}
