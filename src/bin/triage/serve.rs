//! `triage serve`: configuration, binding, signals; the lifecycle itself is the library's. Once
//! it listens it prints `serving gRPC on <address>` on stdout.
//!
//! SIGHUP reloads what can change without a restart: the status data, the tokens (the config
//! file, its tokens file and `TRIAGE_TOKENS` are read again, so a token removed there stops
//! working) and the TLS files. Each keeps what it had when its new version does not load.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::TcpListener;

use triage::config::{Backend, Config, TOKENS_VARIABLE};
use triage::grpc::App;
use triage::server::{self, ServeOptions};
use triage::telemetry::{Metrics, serve_metrics};
use triage::tls::ServerTls;
use triage::web::{self, WebState};

/// Serves with the configuration at `config_path`; `migrate` rewrites the shared engines'
/// settings that differ from this replica's (scaled out only).
pub fn run(config_path: Option<&Path>, migrate: bool) -> Result<()> {
    let mut config = read_config(config_path)?;
    if migrate {
        let Backend::ScaledOut { nats, .. } = &mut config.backend else {
            anyhow::bail!(
                "--migrate rewrites the shared engines of a scaled-out deployment; this configuration has no [nats]"
            );
        };
        nats.migrate = true;
    }
    crate::runtime()?.block_on(serve(config, config_path.map(Path::to_path_buf)))
}

/// The configuration from the file at `path` (or the defaults), its tokens file and the
/// `TRIAGE_TOKENS` variable.
fn read_config(path: Option<&Path>) -> Result<Config> {
    let env_tokens = std::env::var(TOKENS_VARIABLE).ok();
    Ok(Config::from_sources(path, env_tokens.as_deref())?)
}

async fn serve(config: Config, config_path: Option<PathBuf>) -> Result<()> {
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    let tls = match &config.tls {
        Some(settings) => {
            let tls = ServerTls::load(settings).context("[tls]")?;
            tls.keep_reloading(settings.reload_every());
            tracing::info!(
                cert = %settings.cert.display(),
                mutual = tls.requires_client_certificates(),
                "serving TLS"
            );
            Some(tls)
        }
        None => None,
    };
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
        tracing::info!(%address, tls = tls.is_some(), "Prometheus metrics at /metrics");
        tokio::spawn(serve_metrics(metrics_listener, tls.clone(), metrics));
    }
    if let Some(address) = config.http_listen {
        let http_listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen for HTTP on {address}"))?;
        let bound = http_listener.local_addr()?;
        tracing::info!(listen = %bound, public_url = %config.public_base_url(), tls = tls.is_some(), "serving the console and the feedback page");
        println!("serving the console on {bound}/console");
        let router = web::router(
            WebState::new(
                Arc::clone(&app.helpdesk),
                Arc::clone(&app.metrics),
                Arc::clone(&app.auth),
                tls.is_some(),
            )
            .with_session_lengths(web::console::SessionLengths {
                idle: config.console.session_idle(),
                lifetime: config.console.session_lifetime(),
            }),
        );
        let tls = tls.clone();
        tokio::spawn(async move {
            if let Err(error) = web::serve(http_listener, tls, router).await {
                tracing::error!(%error, "the HTTP listener stopped");
            }
        });
    }
    spawn_reload_on_hangup(Arc::clone(&app), tls.clone(), config_path);
    let bound = listener.local_addr()?;
    tracing::info!(listen = %bound, "serving gRPC");
    // On stdout for whoever started the server: with `listen = "127.0.0.1:0"` the port is the
    // one the system picked.
    println!("serving gRPC on {bound}");
    let options = ServeOptions {
        tls,
        ..ServeOptions::new(&config)
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

/// On SIGHUP, reloads the status data, the tokens and the TLS files (see the module).
fn spawn_reload_on_hangup(
    app: Arc<App>,
    tls: Option<Arc<ServerTls>>,
    config_path: Option<PathBuf>,
) {
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
            reload_tokens(&app, config_path.as_deref());
            if let Some(tls) = &tls {
                tls.reload_and_log();
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (app, tls, config_path);
}

/// Serves the tokens of the configuration as it reads now; a configuration that does not load
/// keeps the tokens in use.
fn reload_tokens(app: &App, config_path: Option<&Path>) {
    let config = match read_config(config_path) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "tokens not reloaded: the configuration does not load; keeping the tokens in use"
            );
            return;
        }
    };
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    match app.auth.replace(&config) {
        Ok(count) => tracing::info!(tokens = count, "tokens reloaded"),
        Err(error) => tracing::error!(%error, "tokens not reloaded"),
    }
}
