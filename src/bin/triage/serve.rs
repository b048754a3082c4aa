//! `triage serve`: configuration, binding, signals; the lifecycle itself is the library's. Once
//! it listens it prints `serving gRPC on <address>` on stdout.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::TcpListener;

use triage::config::Config;
use triage::server::{self, ServeOptions};
use triage::telemetry::{Metrics, serve_metrics};

pub fn run(config_path: Option<&Path>) -> Result<()> {
    let config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    crate::runtime()?.block_on(serve(config))
}

async fn serve(config: Config) -> Result<()> {
    let metrics = Arc::new(Metrics::new());
    let app = server::build(&config, Arc::clone(&metrics)).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    if config.tokens.is_empty() {
        tracing::warn!(listen = %config.listen, "no tokens configured: serving without authentication, on loopback only");
    }
    if let Some(address) = config.metrics_listen {
        let metrics_listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen for metrics on {address}"))?;
        tracing::info!(%address, "Prometheus metrics at /metrics");
        tokio::spawn(serve_metrics(metrics_listener, metrics));
    }
    spawn_status_reload_on_hangup(Arc::clone(&app));
    let bound = listener.local_addr()?;
    tracing::info!(listen = %bound, "serving gRPC");
    // On stdout for whoever started the server: with `listen = "127.0.0.1:0"` the port is the
    // one the system picked.
    println!("serving gRPC on {bound}");
    let options = ServeOptions {
        max_message_bytes: config.max_message_bytes,
        shutdown_grace: config.shutdown_grace(),
    };
    server::run(listener, app, options, shutdown_signal()).await?;
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Reloads the status data on SIGHUP, without a restart; a broken file keeps the old data.
fn spawn_status_reload_on_hangup(app: Arc<triage::grpc::App>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hangup.recv().await.is_some() {
            match app.helpdesk.reload_status() {
                Ok(()) => tracing::info!("status data reloaded"),
                Err(error) => {
                    tracing::error!(%error, "status data reload failed; keeping the old data")
                }
            }
        }
    });
}
