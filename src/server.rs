//! The server's lifecycle: building the service from a [`Config`], serving gRPC (with health
//! and reflection, open to callers beyond loopback as configured) on a listener the caller
//! bound, over TLS when given it, and shutting down in order: health NOT_SERVING, drain
//! in-flight requests within the grace period, flush the queue store (a flush that fails is an
//! error, so the process exits non-zero).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::answer::{ClientDirectory, PgStatus, Recent, StatusStore};
use crate::auth::Authenticator;
use crate::classify::artifact;
use crate::config::{Access, Backend, Config, PostgresConfig};
use crate::feedback::{EmbeddedFeedback, FeedbackError, FeedbackStore, LinkSigner, PgFeedback};
use crate::grpc::{App, BearerMetadata, DeadlineLayer, SpecialistApi, TriageApi, TriageRoutes};
use crate::helpdesk::{Backends, FeedbackBackend, Helpdesk, LeasePolicy, Policy, WaitEstimator};
use crate::intake::DecisionQueue;
use crate::pack::{Pack, Queue};
use crate::postgres::{Postgres, PostgresError};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::v1::specialist_service_server::SpecialistServiceServer;
use crate::proto::v1::triage_service_server::TriageServiceServer;
use crate::route::{
    Clock, EmbeddedQueue, JetStreamQueue, JetStreamSettings, Ledger, OnDrift, QueueSettings,
    Retention, SystemClock,
};
use crate::telemetry::{Metrics, QueueGauges};
use crate::tls::{Protocol, ServerTls};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Pack(#[from] crate::pack::PackError),
    #[error(transparent)]
    Classify(#[from] crate::classify::ClassifyError),
    #[error("status data: {0}")]
    Status(#[from] crate::answer::AnswerError),
    #[error("queue store in {dir}: {source}")]
    Queue {
        dir: String,
        source: crate::route::RouteError,
    },
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    #[error("jetstream queue: {0}")]
    JetStream(crate::route::RouteError),
    #[error("feedback: {0}")]
    Feedback(#[from] FeedbackError),
    #[error("config: {0}")]
    Config(String),
    #[error("escalation queue {} is not listed in the pack's queues.csv", crate::text::quoted(.0))]
    EscalationQueue(String),
    #[error("gRPC: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error(
        "what was acknowledged may not be stored: the queue store could not be flushed at shutdown: {0}"
    )]
    Flush(crate::helpdesk::HelpdeskError),
}

/// How long a replica keeps a client it read from PostgreSQL: an import reaches every replica
/// within it.
const CLIENT_KEPT: Duration = Duration::from_secs(1);

/// How often the embedded queue's retention sweep runs.
const SWEEP_EVERY: Duration = Duration::from_secs(3_600);

/// Builds the service state from the configuration: pack, model, status data, queue store.
/// Refuses to start when a configured engine (PostgreSQL, NATS) cannot be reached.
pub async fn build(config: &Config, metrics: Arc<Metrics>) -> Result<Arc<App>, ServerError> {
    build_with_clock(config, metrics, Arc::new(SystemClock)).await
}

/// [`build`] with the clock leases, SLAs and decisions are timed by (tests step it by hand).
pub async fn build_with_clock(
    config: &Config,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<App>, ServerError> {
    let pack = Pack::load(&config.pack)?;
    let model_dir = config
        .model
        .clone()
        .unwrap_or_else(|| std::path::Path::new("models").join(&pack.name));
    let classifier = Arc::new(artifact::load(&pack, &model_dir)?);
    let status = Arc::new(StatusStore::for_pack(
        &pack,
        crate::answer::instant_from_unix_ms(clock.now_ms()),
    )?);
    let queues = serving_queues(&pack)?;
    type Stores = (
        Directory,
        Arc<DecisionQueue>,
        String,
        Arc<dyn FeedbackStore>,
    );
    let (clients, queue, queue_shown, feedback): Stores = match &config.backend {
        Backend::Embedded { data_dir, clients } => {
            let directory = match clients {
                Some(pg) => Directory::postgres(connect(pg).await?).await?,
                None => Directory::embedded(&status),
            };
            let settings = QueueSettings {
                max_deliveries: config.max_deliveries,
                cache_bytes: config.store_cache_mb.saturating_mul(1 << 20),
                ..QueueSettings::default()
            };
            let queue =
                EmbeddedQueue::open(data_dir, settings, Arc::clone(&clock)).map_err(|source| {
                    ServerError::Queue {
                        dir: data_dir.display().to_string(),
                        source,
                    }
                })?;
            if let Some(keep) = config.retention() {
                let metrics = Arc::clone(&metrics);
                queue.keep_sweeping(Retention::new(keep, data_dir), SWEEP_EVERY, move |report| {
                    metrics.observe_retention(report.audit_removed, report.decisions_removed);
                });
            }
            let shown = format!("embedded in {}", data_dir.display());
            let feedback = Arc::new(EmbeddedFeedback::open(data_dir)?);
            (directory, Arc::new(queue), shown, feedback)
        }
        Backend::ScaledOut { postgres, nats } => {
            let pg = connect(postgres).await?;
            let settings = JetStreamSettings {
                url: nats.url.clone(),
                stream: nats.stream.clone(),
                subject_prefix: nats.subject_prefix.clone(),
                replicas: nats.replicas,
                lease: config.default_lease(),
                max_deliveries: config.max_deliveries,
                duplicate_window: Duration::from_secs(nats.duplicate_window_seconds),
                timeout: Duration::from_millis(nats.timeout_ms),
                queues: queues.iter().map(|q| q.name.clone()).collect(),
                on_drift: if nats.migrate {
                    OnDrift::Migrate
                } else {
                    OnDrift::Refuse
                },
            };
            let queue =
                JetStreamQueue::connect(settings, Ledger::new(pg.clone()), Arc::clone(&clock))
                    .await
                    .map_err(ServerError::JetStream)?;
            let shown = format!("jetstream at {}, stream {}", nats.url, nats.stream);
            let feedback = Arc::new(PgFeedback::new(pg.clone()));
            (
                Directory::postgres(pg).await?,
                Arc::new(queue),
                shown,
                feedback,
            )
        }
    };
    // The data folder is named only where a queue lives in it (not when scaled out).
    tracing::info!(
        pack = %pack.name,
        model = classifier.version(),
        status = %clients.shown,
        clients = clients.count,
        queue = %queue_shown,
        "loaded"
    );
    let feedback = FeedbackBackend {
        links: link_signer(config, feedback.as_ref()).await?,
        store: feedback,
        public_url: config.public_base_url(),
        change_window: config.feedback.change_window(),
    };
    let backends = Backends {
        classifier,
        status,
        clients: clients.directory,
        queue,
        clock,
        feedback,
        wait: Arc::new(WaitEstimator::new(
            pack.settings.time_zone.zone().clone(),
            Arc::clone(&metrics),
        )),
    };
    let policy = Policy {
        leases: LeasePolicy {
            default: config.default_lease(),
            max: config.max_lease(),
        },
        max_text_bytes: config.max_text_bytes,
    };
    let helpdesk = Helpdesk::new(&pack, backends, policy);
    match helpdesk.read_back_resolutions().await {
        Ok(read) => tracing::info!(resolutions = read, "expected waits read back"),
        // The waits are then told once enough tickets are resolved again: no reason not to serve.
        Err(err) => tracing::warn!(error = %err, "expected waits not read back"),
    }
    Ok(Arc::new(App::new(
        Arc::new(helpdesk),
        Authenticator::new(config, Arc::clone(&metrics)),
        metrics,
        config.max_in_flight,
    )))
}

/// The signer of feedback links: with the configured key, else with the one the feedback store
/// keeps (made now when it keeps none), so links outlive restarts and work on every replica.
async fn link_signer(
    config: &Config,
    store: &dyn FeedbackStore,
) -> Result<LinkSigner, ServerError> {
    let key = match config
        .feedback
        .link_key_bytes()
        .map_err(ServerError::Config)?
    {
        Some(key) => key,
        None => {
            let candidate = LinkSigner::generate_key()
                .map_err(|err| FeedbackError::storage("making a feedback link key", err))?;
            store.link_key(candidate).await?
        }
    };
    LinkSigner::new(key).ok_or_else(|| {
        ServerError::Config(format!(
            "the feedback link key is shorter than {} bytes",
            crate::feedback::MIN_KEY_BYTES
        ))
    })
}

/// Where clients are looked up, as the log names it, with how many it holds.
struct Directory {
    directory: Arc<dyn ClientDirectory>,
    shown: String,
    count: u64,
}

impl Directory {
    /// The pack's status files.
    fn embedded(status: &Arc<StatusStore>) -> Self {
        Self {
            count: status.client_ids().len() as u64,
            shown: "pack status files".into(),
            directory: Arc::clone(status) as Arc<dyn ClientDirectory>,
        }
    }

    /// PostgreSQL; an empty store is warned of, as it does not serve until it is imported.
    async fn postgres(pg: Postgres) -> Result<Self, PostgresError> {
        let shown = format!("postgres at {}", pg.location());
        let status = PgStatus::new(pg);
        let count = status.client_count().await?;
        if count == 0 {
            tracing::warn!(
                "{}; until then the health service reports NOT_SERVING and every inquiry that \
                 names a client is answered NOT_FOUND",
                status.empty_store()
            );
        }
        Ok(Self {
            directory: Arc::new(Recent::new(status, CLIENT_KEPT)),
            shown,
            count,
        })
    }
}

/// Connects to the configured PostgreSQL database (migrated).
async fn connect(pg: &PostgresConfig) -> Result<Postgres, PostgresError> {
    Postgres::connect(&pg.url, pg.schema.as_deref(), pg.pool_size).await
}

/// The queues tickets can be on: the pack's, which must include its escalation queue.
fn serving_queues(pack: &Pack) -> Result<Vec<Queue>, ServerError> {
    let escalation = &pack.settings.escalation_queue;
    if !pack.queues.iter().any(|q| &q.name == escalation) {
        return Err(ServerError::EscalationQueue(escalation.clone()));
    }
    Ok(pack.queues.clone())
}

/// How much of one HTTP/2 stream's request data the server lets a client send ahead of what the
/// service has read. A stream that is not read (a SubmitStream at its concurrency, or waiting for
/// admission) holds its client back once this much is buffered.
const STREAM_WINDOW_BYTES: u32 = 64 * 1024;

/// How many streams one connection may have open at once.
const MAX_CONCURRENT_STREAMS: u32 = 128;

/// The connection's window. Data is already bounded by the streams' windows (at most
/// `MAX_CONCURRENT_STREAMS × STREAM_WINDOW_BYTES` = 8 MiB buffered per connection); what this
/// sets is how many small DATA frames the HTTP/2 layer accepts unread before it closes the
/// connection as a flood (GOAWAY ENHANCE_YOUR_CALM): its allowance is half this window,
/// counting up to 256 bytes per frame. At 32 times the streams' total, the streams' windows
/// filled with frames down to 16 bytes each (a gRPC message of 11 bytes) stay within it, so a
/// client sending items as fast as it can is held back by flow control, not disconnected.
const CONNECTION_WINDOW_BYTES: u32 = 32 * MAX_CONCURRENT_STREAMS * STREAM_WINDOW_BYTES;

/// How the server serves.
#[derive(Clone)]
pub struct ServeOptions {
    pub max_message_bytes: usize,
    pub shutdown_grace: Duration,
    /// TLS on the listener; plaintext when `None`.
    pub tls: Option<Arc<ServerTls>>,
    /// Who beyond loopback may use the health service.
    pub health: Access,
    /// Who beyond loopback may use the reflection service.
    pub reflection: Access,
}

impl ServeOptions {
    /// The options `config` gives, in plaintext (see [`ServeOptions::tls`]).
    pub fn new(config: &Config) -> Self {
        Self {
            max_message_bytes: config.max_message_bytes,
            shutdown_grace: config.shutdown_grace(),
            tls: None,
            health: config.health,
            reflection: config.reflection,
        }
    }
}

/// Serves gRPC on `listener` until `shutdown` completes, then shuts down in order.
pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    let ready = app.helpdesk.healthy().await;
    if let Err(reason) = &ready {
        tracing::warn!(%reason, "not serving: an engine is not ready");
    }
    set_serving(&health, ready.is_ok()).await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let health_service = InterceptedService::new(
        health_service,
        guard(Arc::clone(&app), "health", options.health),
    );
    let reflection = InterceptedService::new(
        reflection,
        guard(Arc::clone(&app), "reflection", options.reflection),
    );
    let triage = TriageRoutes::new(Arc::clone(&app), options.max_message_bytes);
    let specialist = SpecialistServiceServer::new(SpecialistApi::new(Arc::clone(&app)))
        .max_decoding_message_size(options.max_message_bytes);
    let gauges = tokio::spawn(refresh_queue_gauges(Arc::clone(&app)));
    let watcher = tokio::spawn(watch_engines(
        Arc::clone(&app),
        health.clone(),
        ready.is_ok(),
    ));
    let stop_watching = watcher.abort_handle();

    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = {
        let health = health.clone();
        let app = Arc::clone(&app);
        async move {
            shutdown.await;
            tracing::info!("shutting down: not serving, draining in-flight requests");
            app.begin_shutdown();
            // Stopped before health is set, so that it cannot report SERVING again after.
            watcher.abort();
            let _ = watcher.await;
            set_serving(&health, false).await;
            let _ = stopping.send(());
        }
    };
    let router = tonic::transport::Server::builder()
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .layer(DeadlineLayer::new(Arc::clone(&app.metrics)))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(triage)
        .add_service(specialist);
    let tls = options.tls.clone();
    let serve = async move {
        match tls {
            Some(tls) => {
                let incoming = tls.incoming(listener, Protocol::Grpc);
                router.serve_with_incoming_shutdown(incoming, signal).await
            }
            None => {
                let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
                router.serve_with_incoming_shutdown(incoming, signal).await
            }
        }
    };
    let grace = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(options.shutdown_grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = serve => result?,
        () = grace => tracing::warn!(grace = ?options.shutdown_grace, "grace period over: dropping requests still in flight"),
    }
    gauges.abort();
    stop_watching.abort();
    app.helpdesk.flush().await.map_err(ServerError::Flush)?;
    tracing::info!("stopped");
    Ok(())
}

/// The interceptor that lets a request to `service` through as `access` says.
fn guard(
    app: Arc<App>,
    service: &'static str,
    access: Access,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    move |request| {
        app.auth.check_access(service, access, &request)?;
        Ok(request)
    }
}

/// Reports NOT_SERVING while an engine (queue, status data) is not ready, and SERVING again
/// once it is, logging why at each change; runs until shutdown aborts it.
async fn watch_engines(
    app: Arc<App>,
    health: tonic_health::server::HealthReporter,
    mut serving: bool,
) {
    let mut interval = tokio::time::interval(Duration::from_millis(500));
    loop {
        interval.tick().await;
        let ready = app.helpdesk.healthy().await;
        if ready.is_ok() == serving {
            continue;
        }
        serving = ready.is_ok();
        match &ready {
            Ok(()) => tracing::info!("engines ready again: serving"),
            Err(reason) => tracing::warn!(%reason, "not serving: an engine is not ready"),
        }
        set_serving(&health, serving).await;
    }
}

/// Reports the server as a whole (the service `""`, what probes ask by default) and both
/// services as serving or not.
async fn set_serving(health: &tonic_health::server::HealthReporter, serving: bool) {
    let status = if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    let services = [
        "",
        <TriageServiceServer<TriageApi> as NamedService>::NAME,
        <SpecialistServiceServer<SpecialistApi> as NamedService>::NAME,
    ];
    for service in services {
        health.set_service_status(service, status).await;
    }
}

/// Keeps the queue gauges current, and the count of dead-lettered tickets (which the queue
/// keeps: the route layer does not depend on telemetry).
async fn refresh_queue_gauges(app: Arc<App>) {
    let mut interval = tokio::time::interval(Duration::from_secs(5));
    loop {
        interval.tick().await;
        match app.helpdesk.all_queue_stats().await {
            Ok(stats) => {
                for s in &stats {
                    app.metrics.set_queue(&QueueGauges {
                        queue: &s.queue,
                        ready: s.ready,
                        leased: s.leased,
                        dead_letters: s.dead_letters,
                        oldest_ready_age: s
                            .oldest_ready_age_ms
                            .map(|ms| Duration::from_millis(ms.max(0) as u64)),
                        sla_breaches: s.sla_breaches,
                    });
                }
            }
            Err(error) => tracing::warn!(%error, "reading queue statistics failed"),
        }
        for (queue, total) in app.helpdesk.dead_lettered_totals() {
            app.metrics.count_dead_lettered(&queue, total);
        }
    }
}
