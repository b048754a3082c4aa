//! Setting up the engine objects replicas share: the stream, one durable consumer per queue and
//! priority band, and the deployment's settings in the ledger. What is missing is created. What
//! is found must agree with this replica's settings: a replica with another `subject_prefix` or
//! lease would otherwise rewrite the stream or the consumers under the replicas already serving,
//! so it refuses to start and names each setting that differs, unless it is told to migrate
//! ([`OnDrift::Migrate`]), which rewrites them to its own. The same code restores a stream or
//! consumers deleted while the replicas run.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::context::{
    ConsumerInfoErrorKind, CreateStreamErrorKind, GetStreamErrorKind,
};
use async_nats::jetstream::stream::{Config as StreamConfig, RetentionPolicy, StorageType, Stream};
use async_nats::jetstream::{self, ErrorCode};

use super::{BANDS, JetStreamSettings, Ledger};
use crate::route::error::RouteError;

/// What a replica does when the engine objects it finds disagree with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDrift {
    /// Refuse to start, naming each setting that differs.
    #[default]
    Refuse,
    /// Rewrite the objects (and the recorded settings) to this replica's settings.
    Migrate,
}

/// A setting on which an engine object and this replica disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Drift {
    /// The configuration key that differs.
    setting: &'static str,
    /// The object holding the other value ("stream TRIAGE", "consumer TRIAGE_seo_p0").
    object: String,
    found: String,
    wanted: String,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} has {}, this replica {}",
            self.setting, self.object, self.found, self.wanted
        )
    }
}

/// The stream a replica with `settings` uses.
pub(super) fn stream_config(settings: &JetStreamSettings) -> StreamConfig {
    StreamConfig {
        name: settings.stream.clone(),
        subjects: vec![format!("{}.tickets.>", settings.subject_prefix)],
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        num_replicas: settings.replicas,
        duplicate_window: settings.duplicate_window,
        allow_direct: true,
        ..Default::default()
    }
}

/// The durable consumer of one queue's band.
pub(super) fn consumer_name(stream: &str, queue: &str, band: u8) -> String {
    format!("{stream}_{queue}_p{band}")
}

/// The consumer a replica with `settings` reads one queue's band with; its ack wait is the
/// claim lease.
fn consumer_config(settings: &JetStreamSettings, queue: &str, band: u8) -> pull::Config {
    pull::Config {
        durable_name: Some(consumer_name(&settings.stream, queue, band)),
        filter_subject: super::subject(&settings.subject_prefix, queue, band),
        ack_policy: AckPolicy::Explicit,
        ack_wait: settings.lease,
        max_deliver: -1,
        max_ack_pending: 65_536,
        ..Default::default()
    }
}

/// The settings recorded in the ledger for the deployment, as (setting, value).
fn recorded_settings(settings: &JetStreamSettings) -> Vec<(&'static str, String)> {
    vec![
        ("stream", settings.stream.clone()),
        ("subject_prefix", settings.subject_prefix.clone()),
        ("default_lease_seconds", duration(settings.lease)),
        ("max_deliveries", settings.max_deliveries.to_string()),
        (
            "duplicate_window_seconds",
            duration(settings.duplicate_window),
        ),
        ("replicas", settings.replicas.to_string()),
    ]
}

fn duration(value: Duration) -> String {
    format!("{value:?}")
}

/// Sets up the stream and consumers for `settings` (see the module), checking those found and
/// the deployment's recorded settings; returns the stream and the consumers by (queue, band).
pub(super) async fn open(
    js: &jetstream::Context,
    ledger: &Ledger,
    settings: &JetStreamSettings,
) -> Result<(Stream, HashMap<(String, u8), PullConsumer>), RouteError> {
    let nats = Nats(settings);
    let recorded = recorded_settings(settings);
    let mut drifts = ledger_drift(&ledger.deployment().await?, &recorded);
    let (stream, found) = match js.get_stream(&settings.stream).await {
        Ok(stream) => (stream, true),
        Err(err)
            if matches!(err.kind(), GetStreamErrorKind::JetStream(e)
                if e.error_code() == ErrorCode::STREAM_NOT_FOUND) =>
        {
            (create_stream(js, settings).await?, false)
        }
        Err(err) => return Err(nats.error(&format!("opening stream {}", settings.stream), err)),
    };
    if found {
        check_stream_kind(settings, &stream)?;
        drifts.extend(stream_drift(settings, &stream));
    }
    let mut consumers = HashMap::new();
    for queue in &settings.queues {
        for band in 0..BANDS {
            let wanted = consumer_config(settings, queue, band);
            let name = consumer_name(&settings.stream, queue, band);
            match stream.consumer_info(&name).await {
                Ok(info) => drifts.extend(consumer_drift(&name, &info.config, &wanted)),
                Err(err) if matches!(err.kind(), ConsumerInfoErrorKind::NotFound) => {}
                Err(err) => return Err(nats.error(&format!("reading consumer {name}"), err)),
            }
            consumers.insert((queue.clone(), band), wanted);
        }
    }
    let drifts = first_per_setting(drifts);
    if !drifts.is_empty() {
        match settings.on_drift {
            OnDrift::Refuse => return Err(refusal(&drifts)),
            OnDrift::Migrate => migrate_stream(js, settings, &stream, &drifts).await?,
        }
    }
    let mut opened = HashMap::with_capacity(consumers.len());
    for ((queue, band), config) in consumers {
        let name = consumer_name(&settings.stream, &queue, band);
        let consumer = stream
            .create_consumer(config)
            .await
            .map_err(|err| nats.error(&format!("creating consumer {name}"), err))?;
        opened.insert((queue, band), consumer);
    }
    // Reached with no drift, or with drifts being migrated: the settings are this replica's.
    ledger.set_deployment(&recorded_settings(settings)).await?;
    for drift in &drifts {
        tracing::warn!(%drift, "migrated the shared engines to this replica's setting");
    }
    Ok((stream, opened))
}

/// Recreates the stream and the consumers of `settings` when the stream is gone (deleted while
/// the replicas ran), or the consumers that are missing; `Ok(true)` when something was restored.
pub(super) async fn restore(
    js: &jetstream::Context,
    stream: &Stream,
    settings: &JetStreamSettings,
) -> Result<bool, RouteError> {
    let nats = Nats(settings);
    let wanted_consumers = settings.queues.len() * usize::from(BANDS);
    let stream_lost = match stream.get_info().await {
        Ok(info) if info.state.consumer_count >= wanted_consumers => return Ok(false),
        Ok(_) => false,
        Err(err) if answered_with(&err, ErrorCode::STREAM_NOT_FOUND) => true,
        Err(err) => return Err(nats.error(&format!("reading stream {}", settings.stream), err)),
    };
    if stream_lost {
        create_stream(js, settings).await?;
        tracing::error!(
            stream = %settings.stream,
            url = %settings.url,
            "the stream was deleted while serving; recreated it: the tickets it held are gone"
        );
    }
    for queue in &settings.queues {
        for band in 0..BANDS {
            let name = consumer_name(&settings.stream, queue, band);
            stream
                .create_consumer(consumer_config(settings, queue, band))
                .await
                .map_err(|err| nats.error(&format!("recreating consumer {name}"), err))?;
        }
    }
    if !stream_lost {
        tracing::error!(stream = %settings.stream, "consumers were deleted while serving; recreated them");
    }
    Ok(true)
}

async fn create_stream(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<Stream, RouteError> {
    let config = stream_config(settings);
    js.create_stream(config.clone()).await.map_err(|err| {
        let overlap = matches!(err.kind(), CreateStreamErrorKind::JetStream(e)
            if e.error_code() == ErrorCode::STREAM_SUBJECT_OVERLAP);
        let hint = if overlap {
            " (another stream takes these subjects: give this deployment its own subject_prefix)"
        } else {
            ""
        };
        Nats(settings).error(
            &format!(
                "creating stream {} for subjects {:?}{hint}",
                settings.stream, config.subjects
            ),
            err,
        )
    })
}

/// Refuses a stream of the name that is not a ticket stream (another program's).
fn check_stream_kind(settings: &JetStreamSettings, stream: &Stream) -> Result<(), RouteError> {
    let config = &stream.cached_info().config;
    if config.retention != RetentionPolicy::WorkQueue || config.storage != StorageType::File {
        return Err(RouteError::SettingsDiffer(format!(
            "nats at {}: stream {} is not a ticket stream (retention {:?}, storage {:?}; \
             triage keeps tickets in a work-queue stream on file): set [nats] stream to a name \
             of its own",
            settings.url, settings.stream, config.retention, config.storage
        )));
    }
    Ok(())
}

/// The settings on which the recorded deployment and this replica disagree.
fn ledger_drift(recorded: &[(String, String)], wanted: &[(&'static str, String)]) -> Vec<Drift> {
    let recorded: HashMap<&str, &str> = recorded
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    wanted
        .iter()
        .filter_map(|(setting, value)| {
            let found = recorded.get(setting)?;
            (found != value).then(|| Drift {
                setting,
                object: "the deployment recorded in postgres".to_owned(),
                found: format!("{found:?}"),
                wanted: format!("has {value:?}"),
            })
        })
        .collect()
}

/// The drifts found on one object.
struct Drifts {
    object: String,
    found: Vec<Drift>,
}

impl Drifts {
    fn of(object: String) -> Self {
        Self {
            object,
            found: Vec::new(),
        }
    }

    /// Notes `setting` when the object's value and this replica's differ.
    fn differs(&mut self, setting: &'static str, found: String, wanted: String) {
        if found != wanted {
            self.found.push(Drift {
                setting,
                object: self.object.clone(),
                found,
                wanted: format!("has {wanted}"),
            });
        }
    }
}

/// The settings on which the stream found and this replica disagree.
fn stream_drift(settings: &JetStreamSettings, stream: &Stream) -> Vec<Drift> {
    let found = &stream.cached_info().config;
    let wanted = stream_config(settings);
    let mut drifts = Drifts::of(format!("stream {}", settings.stream));
    drifts.differs(
        "subject_prefix",
        format!("subjects {:?}", found.subjects),
        format!("subjects {:?}", wanted.subjects),
    );
    drifts.differs(
        "duplicate_window_seconds",
        duration(found.duplicate_window),
        duration(wanted.duplicate_window),
    );
    drifts.differs(
        "replicas",
        found.num_replicas.to_string(),
        wanted.num_replicas.to_string(),
    );
    drifts.differs(
        "stream options (allow_direct)",
        found.allow_direct.to_string(),
        wanted.allow_direct.to_string(),
    );
    drifts.found
}

/// The settings on which a consumer found and this replica disagree.
fn consumer_drift(
    name: &str,
    found: &async_nats::jetstream::consumer::Config,
    wanted: &pull::Config,
) -> Vec<Drift> {
    let mut drifts = Drifts::of(format!("consumer {name}"));
    drifts.differs(
        "default_lease_seconds",
        format!("an ack wait of {}", duration(found.ack_wait)),
        format!("an ack wait of {}", duration(wanted.ack_wait)),
    );
    drifts.differs(
        "subject_prefix",
        format!("filter subject {:?}", found.filter_subject),
        format!("filter subject {:?}", wanted.filter_subject),
    );
    drifts.differs(
        "consumer options (ack policy, max deliver, max ack pending)",
        format!(
            "{:?}, {}, {}",
            found.ack_policy, found.max_deliver, found.max_ack_pending
        ),
        format!(
            "{:?}, {}, {}",
            wanted.ack_policy, wanted.max_deliver, wanted.max_ack_pending
        ),
    );
    drifts.found
}

/// One drift per setting (the first found): a prefix that differs shows on every consumer.
fn first_per_setting(drifts: Vec<Drift>) -> Vec<Drift> {
    let mut seen = BTreeSet::new();
    drifts
        .into_iter()
        .filter(|drift| seen.insert(drift.setting))
        .collect()
}

fn refusal(drifts: &[Drift]) -> RouteError {
    let listed: Vec<String> = drifts.iter().map(|d| format!("  - {d}")).collect();
    RouteError::SettingsDiffer(format!(
        "the shared engines were set up with settings this replica does not have:\n{}\n\
         start it with the settings of the replicas already serving, or once with \
         `triage serve --migrate` to rewrite the engines to its settings",
        listed.join("\n")
    ))
}

/// Rewrites the stream to this replica's settings, unless that would strand tickets: subjects
/// that change while the stream holds messages would leave them where no consumer reads.
async fn migrate_stream(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
    stream: &Stream,
    drifts: &[Drift],
) -> Result<(), RouteError> {
    let info = stream.cached_info();
    let wanted = stream_config(settings);
    if info.config.subjects != wanted.subjects && info.state.messages > 0 {
        return Err(RouteError::SettingsDiffer(format!(
            "nats at {}: stream {} holds {} tickets under subjects {:?}; migrating it to \
             subjects {:?} would strand them: resolve them (or remove the deployment with \
             `triage admin engines remove`) first",
            settings.url,
            settings.stream,
            info.state.messages,
            info.config.subjects,
            wanted.subjects
        )));
    }
    if drifts.iter().any(|d| d.object.starts_with("stream ")) {
        js.update_stream(wanted).await.map_err(|err| {
            Nats(settings).error(&format!("migrating stream {}", settings.stream), err)
        })?;
    }
    Ok(())
}

/// Whether a request failed because the JetStream API answered it with `code`.
fn answered_with(err: &(dyn std::error::Error + 'static), code: ErrorCode) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(js) = err.downcast_ref::<jetstream::Error>()
            && js.error_code() == code
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// Errors of the NATS server at one address.
struct Nats<'a>(&'a JetStreamSettings);

impl Nats<'_> {
    fn error(&self, what: &str, err: impl fmt::Display) -> RouteError {
        RouteError::Unavailable(format!("nats at {}: {what}: {err}", self.0.url))
    }
}
