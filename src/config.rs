//! The server's configuration: embedded defaults that run with no file at all, or a TOML file
//! in which every key is optional and an unknown key is an error. Bearer tokens may also come
//! from a tokens file and the `TRIAGE_TOKENS` variable (`config/tokens.rs`); the server's edges
//! (TLS, per-token limits, health and reflection) are configured as `config/edges.rs` says.

mod console;
mod edges;
mod tokens;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::helpdesk::Role;
pub use console::ConsoleConfig;
pub use edges::{Access, Limits, Rate, RoleLimits, TlsConfig, TokenLimits};
pub use tokens::{TokenConfig, TokenDigest};

/// The environment variable `triage serve` reads more `[[tokens]]` tables from.
pub const TOKENS_VARIABLE: &str = "TRIAGE_TOKENS";

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

/// The server's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ConfigFile")]
pub struct Config {
    /// The gRPC address.
    pub listen: SocketAddr,
    /// The Prometheus metrics address (`GET /metrics`); none when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// The HTTP address of the pages triage serves (the console, the feedback page); none when
    /// unset.
    pub http_listen: Option<SocketAddr>,
    /// The address clients reach those pages at, which links in mails start with;
    /// `http://<http_listen>` when unset.
    pub public_url: Option<String>,
    /// Ratings of answers: how long they may be changed, the links' signing key.
    pub feedback: FeedbackConfig,
    /// The console's sessions: how long they last.
    pub console: ConsoleConfig,
    /// The domain pack served.
    pub pack: PathBuf,
    /// The model folder; `models/<pack name>` when unset.
    pub model: Option<PathBuf>,
    /// Where tickets, decisions and the clients' status data are kept.
    pub backend: Backend,
    /// The `data_dir` the file sets though the backend is scaled out, where nothing uses it
    /// (warned of).
    pub unused_data_dir: Option<PathBuf>,
    /// The most bytes of subject plus body an inquiry may have.
    pub max_text_bytes: usize,
    /// The largest gRPC message accepted.
    pub max_message_bytes: usize,
    /// Requests handled at once; more are refused with RESOURCE_EXHAUSTED.
    pub max_in_flight: usize,
    /// The lease of a claim that names none.
    pub default_lease_seconds: u64,
    /// The longest lease a claim or an extension may ask for.
    pub max_lease_seconds: u64,
    /// Deliveries after which an expired ticket goes to the dead-letter queue.
    pub max_deliveries: u32,
    /// The page cache of the embedded queue's file, in MiB.
    pub store_cache_mb: usize,
    /// Days the embedded queue keeps resolved tickets' audit records and decisions; 0 keeps
    /// them forever.
    pub retention_days: u64,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_seconds: u64,
    /// Bearer tokens from every source: the config's `[[tokens]]`, then the tokens file's,
    /// then `TRIAGE_TOKENS`'s; with none, the server only listens on a loopback address.
    pub tokens: Vec<TokenConfig>,
    /// A file of more `[[tokens]]` tables, read with the config (and so again on SIGHUP).
    pub tokens_file: Option<PathBuf>,
    /// TLS on the listeners; without it a non-loopback address needs `insecure`.
    pub tls: Option<TlsConfig>,
    /// Serve plaintext on a non-loopback address: tokens and client mail travel in the clear.
    pub insecure: bool,
    /// Per-token limits, by role.
    pub limits: Limits,
    /// Who beyond loopback may use the health service.
    pub health: Access,
    /// Who beyond loopback may use the reflection service.
    pub reflection: Access,
}

/// Where tickets, decisions and the clients' status data are kept: on one machine, or scaled
/// out over NATS JetStream and PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// One machine: tickets and decisions in `route.redb` under `data_dir`; the clients from
    /// the pack's status files, or from PostgreSQL when `clients` names a database (load it
    /// with `triage import`).
    Embedded {
        data_dir: PathBuf,
        clients: Option<PostgresConfig>,
    },
    /// Several replicas: tickets in NATS JetStream; decisions, the ticket ledger and the
    /// clients in PostgreSQL.
    ScaledOut {
        postgres: PostgresConfig,
        nats: NatsConfig,
    },
}

impl Backend {
    /// The embedded backend in `data_dir`, with the clients from the pack's status files.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        Self::Embedded {
            data_dir: data_dir.into(),
            clients: None,
        }
    }

    /// The folder of the embedded queue; none when scaled out.
    pub fn data_dir(&self) -> Option<&Path> {
        match self {
            Self::Embedded { data_dir, .. } => Some(data_dir),
            Self::ScaledOut { .. } => None,
        }
    }

    /// The NATS JetStream of a scaled-out backend.
    pub fn nats(&self) -> Option<&NatsConfig> {
        match self {
            Self::Embedded { .. } => None,
            Self::ScaledOut { nats, .. } => Some(nats),
        }
    }

    /// The PostgreSQL database the clients are looked up in, if any.
    pub fn postgres(&self) -> Option<&PostgresConfig> {
        match self {
            Self::Embedded { clients, .. } => clients.as_ref(),
            Self::ScaledOut { postgres, .. } => Some(postgres),
        }
    }
}

/// The configuration file as written: every key optional, an unknown key an error. The
/// backend is chosen by the sections present: `[nats]` (with `[postgres]`) scales out;
/// without it the queue is embedded in `data_dir` (unused when scaled out), and a lone
/// `[postgres]` holds the clients.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default = "default_listen")]
    listen: SocketAddr,
    #[serde(default = "default_metrics_listen")]
    metrics_listen: Option<SocketAddr>,
    #[serde(default = "default_http_listen")]
    http_listen: Option<SocketAddr>,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    feedback: FeedbackConfig,
    #[serde(default)]
    console: ConsoleConfig,
    #[serde(default = "default_pack")]
    pack: PathBuf,
    #[serde(default)]
    model: Option<PathBuf>,
    #[serde(default)]
    data_dir: Option<PathBuf>,
    #[serde(default = "default_max_text_bytes")]
    max_text_bytes: usize,
    #[serde(default = "default_max_message_bytes")]
    max_message_bytes: usize,
    #[serde(default = "default_max_in_flight")]
    max_in_flight: usize,
    #[serde(default = "default_lease_seconds")]
    default_lease_seconds: u64,
    #[serde(default = "default_max_lease_seconds")]
    max_lease_seconds: u64,
    #[serde(default = "default_max_deliveries")]
    max_deliveries: u32,
    #[serde(default = "default_store_cache_mb")]
    store_cache_mb: usize,
    #[serde(default = "default_retention_days")]
    retention_days: u64,
    #[serde(default = "default_shutdown_grace_seconds")]
    shutdown_grace_seconds: u64,
    #[serde(default)]
    tokens: Vec<TokenConfig>,
    #[serde(default)]
    tokens_file: Option<PathBuf>,
    #[serde(default)]
    tls: Option<TlsConfig>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    limits: Limits,
    #[serde(default = "default_health")]
    health: Access,
    #[serde(default = "default_reflection")]
    reflection: Access,
    #[serde(default)]
    postgres: Option<PostgresConfig>,
    #[serde(default)]
    nats: Option<NatsConfig>,
}

impl TryFrom<ConfigFile> for Config {
    type Error = String;

    fn try_from(file: ConfigFile) -> Result<Self, String> {
        let mut unused_data_dir = None;
        let backend = match (file.nats, file.postgres) {
            (Some(nats), Some(postgres)) => {
                unused_data_dir = file.data_dir;
                Backend::ScaledOut { postgres, nats }
            }
            (Some(_), None) => {
                return Err(
                    "[nats] needs [postgres]: decisions, leases and audit records are kept there"
                        .to_owned(),
                );
            }
            (None, clients) => Backend::Embedded {
                data_dir: file.data_dir.unwrap_or_else(default_data_dir),
                clients,
            },
        };
        Ok(Self {
            listen: file.listen,
            metrics_listen: file.metrics_listen,
            http_listen: file.http_listen,
            public_url: file.public_url,
            feedback: file.feedback,
            console: file.console,
            pack: file.pack,
            model: file.model,
            backend,
            unused_data_dir,
            max_text_bytes: file.max_text_bytes,
            max_message_bytes: file.max_message_bytes,
            max_in_flight: file.max_in_flight,
            default_lease_seconds: file.default_lease_seconds,
            max_lease_seconds: file.max_lease_seconds,
            max_deliveries: file.max_deliveries,
            store_cache_mb: file.store_cache_mb,
            retention_days: file.retention_days,
            shutdown_grace_seconds: file.shutdown_grace_seconds,
            tokens: file.tokens,
            tokens_file: file.tokens_file,
            tls: file.tls,
            insecure: file.insecure,
            limits: file.limits,
            health: file.health,
            reflection: file.reflection,
        })
    }
}

/// Ratings of answers (`[feedback]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackConfig {
    /// Days after the answer during which a rating may be changed (through the API or the
    /// link), and for which a feedback link works.
    #[serde(default = "default_change_window_days")]
    pub change_window_days: u64,
    /// The key feedback links are signed with, in hex (at least 32 digits); when unset, one is
    /// made once and kept: in `feedback.key` in the data folder, or in PostgreSQL when scaled
    /// out.
    #[serde(default)]
    pub link_key: Option<String>,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        Self {
            change_window_days: default_change_window_days(),
            link_key: None,
        }
    }
}

impl FeedbackConfig {
    /// How long after the answer a rating may be changed.
    pub fn change_window(&self) -> Duration {
        Duration::from_secs(self.change_window_days.saturating_mul(86_400))
    }

    /// The configured link key as bytes, if one is configured.
    pub fn link_key_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        let Some(hex) = &self.link_key else {
            return Ok(None);
        };
        let digits = hex.trim();
        let valid = digits.len() >= 32
            && digits.len() % 2 == 0
            && digits.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(
                "[feedback] link_key must be an even number of hex digits, at least 32".to_owned(),
            );
        }
        let bytes = (0..digits.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&digits[at..at + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|err| format!("[feedback] link_key: {err}"))?;
        Ok(Some(bytes))
    }
}

fn default_change_window_days() -> u64 {
    28
}

/// The PostgreSQL database of a scaled-out deployment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// A `postgres://user@host:port/db` URL or a `host=… user=…` string.
    pub url: String,
    /// The schema triage's tables live in (created if missing); the user's default when unset.
    #[serde(default)]
    pub schema: Option<String>,
    /// Connections per replica.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
}

/// The NATS JetStream stream of a scaled-out deployment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    #[serde(default = "default_nats_url")]
    pub url: String,
    /// The work-queue stream of tickets.
    #[serde(default = "default_nats_stream")]
    pub stream: String,
    /// Subjects are `<subject_prefix>.tickets.<queue>.p<priority band>`.
    #[serde(default = "default_subject_prefix")]
    pub subject_prefix: String,
    /// Stream replicas: 3 on a three-server cluster, so an acknowledged ticket is on a quorum.
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// How long a republished inquiry id is recognised as a duplicate.
    #[serde(default = "default_duplicate_window_seconds")]
    pub duplicate_window_seconds: u64,
    /// How long a publish or an ack waits before the call fails with UNAVAILABLE.
    #[serde(default = "default_nats_timeout_ms")]
    pub timeout_ms: u64,
    /// Rewrite a stream, consumers and recorded settings that disagree with this replica's
    /// instead of refusing to start: `triage serve --migrate`, never the file.
    #[serde(skip)]
    pub migrate: bool,
}

fn default_pool_size() -> usize {
    16
}

fn default_nats_url() -> String {
    "nats://127.0.0.1:4222".to_owned()
}

fn default_nats_stream() -> String {
    "TRIAGE_TICKETS".to_owned()
}

fn default_subject_prefix() -> String {
    "triage".to_owned()
}

fn default_replicas() -> usize {
    1
}

fn default_duplicate_window_seconds() -> u64 {
    600
}

fn default_nats_timeout_ms() -> u64 {
    2000
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50051))
}

fn default_metrics_listen() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 9464)))
}

fn default_http_listen() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 7601)))
}

fn default_pack() -> PathBuf {
    PathBuf::from("data/agency")
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("var")
}

fn default_max_text_bytes() -> usize {
    16 * 1024
}

fn default_max_message_bytes() -> usize {
    1024 * 1024
}

fn default_max_in_flight() -> usize {
    1024
}

fn default_lease_seconds() -> u64 {
    300
}

fn default_max_lease_seconds() -> u64 {
    3600
}

fn default_max_deliveries() -> u32 {
    5
}

fn default_store_cache_mb() -> usize {
    64
}

fn default_retention_days() -> u64 {
    90
}

fn default_shutdown_grace_seconds() -> u64 {
    10
}

fn default_health() -> Access {
    Access::Open
}

fn default_reflection() -> Access {
    Access::Token
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str("").expect("every key has a default")
    }
}

impl Config {
    /// Reads and validates the TOML file at `path`, with its tokens file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let config = Self::read(path)?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration `triage serve` runs, and rereads on SIGHUP: the file at `path` (or the
    /// defaults) with its tokens file, plus the tokens of `env_tokens` (the text of
    /// [`TOKENS_VARIABLE`]), validated.
    pub fn from_sources(
        path: Option<&Path>,
        env_tokens: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => Self::read(path)?,
            None => Self::default(),
        };
        if let Some(text) = env_tokens {
            config
                .tokens
                .extend(parse_tokens(text, Path::new(TOKENS_VARIABLE))?);
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses and validates a TOML text (a tokens file it names is not read).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config = parse_toml::<Config>(text, Path::new("config"))?;
        config.validate()?;
        Ok(config)
    }

    /// The file at `path` and its tokens file, not yet validated.
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let mut config: Config = parse_toml(&read_text(path)?, path)?;
        if let Some(tokens_file) = &config.tokens_file {
            let tokens = parse_tokens(&read_text(tokens_file)?, tokens_file)?;
            config.tokens.extend(tokens);
        }
        Ok(config)
    }

    /// Checks what serde cannot: limits in range, tokens sound, no open port without tokens.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if self.max_text_bytes == 0 || self.max_text_bytes >= self.max_message_bytes {
            return invalid(format!(
                "max_text_bytes ({}) must be above 0 and below max_message_bytes ({})",
                self.max_text_bytes, self.max_message_bytes
            ));
        }
        if self.max_in_flight == 0 || self.max_deliveries == 0 || self.store_cache_mb == 0 {
            return invalid(
                "max_in_flight, max_deliveries and store_cache_mb must be above 0".to_owned(),
            );
        }
        if self.default_lease_seconds == 0 || self.default_lease_seconds > self.max_lease_seconds {
            return invalid(format!(
                "default_lease_seconds ({}) must be above 0 and at most max_lease_seconds ({})",
                self.default_lease_seconds, self.max_lease_seconds
            ));
        }
        if let Some((key, address)) = self.plaintext_listeners().next()
            && !self.insecure
        {
            return invalid(format!(
                "{key} = {address} is not a loopback address and [tls] is not set: tokens and \
                 client mail would travel in the clear; configure [tls], or set \
                 insecure = true to serve plaintext all the same"
            ));
        }
        if self.tokens.is_empty() && !self.listen.ip().is_loopback() {
            return invalid(format!(
                "listen = {} is not a loopback address: without tokens the server only listens on \
                 loopback; add [[tokens]]",
                self.listen
            ));
        }
        if self.feedback.change_window_days == 0 {
            return invalid("[feedback] change_window_days must be above 0".to_owned());
        }
        self.feedback
            .link_key_bytes()
            .map_err(ConfigError::Invalid)?;
        self.console.validate().map_err(ConfigError::Invalid)?;
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid(format!(
                "public_url = {url:?} must start with http:// or https://"
            ));
        }
        if self.tls.as_ref().is_some_and(|tls| tls.reload_seconds == 0) {
            return invalid("[tls] reload_seconds must be above 0".to_owned());
        }
        self.limits.validate().map_err(ConfigError::Invalid)?;
        if let Backend::ScaledOut { nats, .. } = &self.backend
            && (nats.replicas == 0 || nats.timeout_ms == 0 || nats.duplicate_window_seconds == 0)
        {
            return invalid(
                "[nats] replicas, timeout_ms and duplicate_window_seconds must be above 0"
                    .to_owned(),
            );
        }
        if self.backend.postgres().is_some_and(|pg| pg.pool_size == 0) {
            return invalid("[postgres] pool_size must be above 0".to_owned());
        }
        tokens::validate(&self.tokens).map_err(ConfigError::Invalid)?;
        Ok(())
    }

    /// The lease of a claim that names none.
    pub fn default_lease(&self) -> Duration {
        Duration::from_secs(self.default_lease_seconds)
    }

    /// The longest lease allowed.
    pub fn max_lease(&self) -> Duration {
        Duration::from_secs(self.max_lease_seconds)
    }

    /// How long the embedded queue keeps finished work; `None`: forever.
    pub fn retention(&self) -> Option<Duration> {
        (self.retention_days > 0)
            .then(|| Duration::from_secs(self.retention_days.saturating_mul(86_400)))
    }

    /// The address links to triage's pages start with: `public_url`, else
    /// `http://<http_listen>` (`https://` with `[tls]`), without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match (&self.public_url, self.http_listen) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Some(address)) => {
                let scheme = if self.tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{address}")
            }
            (None, None) => String::new(),
        }
    }

    /// How long shutdown waits for in-flight requests.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }

    /// What a token of `role` is held to: its role's `[limits]`, or by default no rate and
    /// half of `max_in_flight`, so that one caller always leaves room for the others.
    pub fn token_limits(&self, role: Role) -> TokenLimits {
        let limits = self.limits.of(role);
        TokenLimits {
            rate: limits.requests_per_second.map(|per_second| Rate {
                per_second,
                burst: limits.burst.unwrap_or(per_second),
            }),
            in_flight: limits.in_flight.unwrap_or((self.max_in_flight / 2).max(1)),
        }
    }

    /// The listeners, by key, that would serve plaintext beyond loopback: a non-loopback
    /// address without `[tls]`.
    fn plaintext_listeners(&self) -> impl Iterator<Item = (&'static str, SocketAddr)> {
        let plaintext = self.tls.is_none();
        [
            ("listen", Some(self.listen)),
            ("metrics_listen", self.metrics_listen),
            ("http_listen", self.http_listen),
        ]
        .into_iter()
        .filter_map(|(key, address)| Some((key, address?)))
        .filter(move |(_, address)| plaintext && !address.ip().is_loopback())
    }

    /// What the server warns about when it starts or reloads: plaintext on a non-loopback
    /// address, and tokens kept in plain text.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .plaintext_listeners()
            .map(|(key, address)| {
                format!(
                    "insecure = true: {key} = {address} serves plaintext; tokens and client mail \
                     travel in the clear"
                )
            })
            .collect();
        if let Some(data_dir) = &self.unused_data_dir {
            warnings.push(format!(
                "data_dir = {} is not used: with [nats] the tickets are in JetStream and the \
                 rest in PostgreSQL; remove the key",
                data_dir.display()
            ));
        }
        for token in self.tokens.iter().filter(|token| token.plain_text) {
            warnings.push(format!(
                "token {:?} is kept in plain text, which is deprecated: replace its `token = …` \
                 with token_sha256 = \"{}\"",
                token.name, token.digest
            ));
        }
        warnings
    }
}

/// The text of the file at `path`.
fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses TOML `text` read from `source`; an error names the source, line and column.
fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, source: &Path) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|error| ConfigError::Parse {
        path: source.to_path_buf(),
        message: error.to_string().trim().to_owned(),
    })
}

/// The `[[tokens]]` tables of a tokens file or of [`TOKENS_VARIABLE`].
fn parse_tokens(text: &str, source: &Path) -> Result<Vec<TokenConfig>, ConfigError> {
    Ok(parse_toml::<tokens::TokensFile>(text, source)?.tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why `toml` is refused, as the error reads.
    fn refusal(toml: &str) -> String {
        Config::parse(toml).unwrap_err().to_string()
    }

    /// The embedded defaults: loopback, the agency pack, ./var, 16 KiB of text, no tokens.
    #[test]
    fn defaults_run_without_a_file() {
        let config = Config::default();
        assert!(config.listen.ip().is_loopback());
        assert_eq!(config.pack, PathBuf::from("data/agency"));
        assert_eq!(config.backend, Backend::embedded("var"));
        assert_eq!(config.max_text_bytes, 16 * 1024);
        assert_eq!(config.max_message_bytes, 1024 * 1024);
        assert!(config.tokens.is_empty());
        assert_eq!(config.retention(), Some(Duration::from_secs(90 * 86_400)));
        config.validate().unwrap();
    }

    /// The pages listen on loopback by default and links start with that address; a public
    /// URL, a change window and a link key may be set, and bad ones are refused.
    #[test]
    fn feedback_settings_have_defaults_and_are_checked() {
        let config = Config::default();
        assert_eq!(
            config.http_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 7601)))
        );
        assert_eq!(config.public_base_url(), "http://127.0.0.1:7601");
        assert_eq!(
            config.feedback.change_window(),
            Duration::from_secs(28 * 86_400)
        );
        assert_eq!(config.feedback.link_key_bytes(), Ok(None));
        let key = "00112233445566778899aabbccddeeff";
        let set = Config::parse(&format!(
            "public_url = \"https://help.example/\"\n[feedback]\nchange_window_days = 7\nlink_key = \"{key}\"\n"
        ))
        .unwrap();
        assert_eq!(set.public_base_url(), "https://help.example");
        assert_eq!(
            set.feedback.change_window(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(set.feedback.link_key_bytes().unwrap().unwrap().len(), 16);
        let short = refusal("[feedback]\nlink_key = \"abcd\"\n");
        assert!(short.contains("at least 32"), "{short}");
        let zero = refusal("[feedback]\nchange_window_days = 0\n");
        assert!(zero.contains("change_window_days"), "{zero}");
        let scheme = refusal("public_url = \"help.example\"\n");
        assert!(scheme.contains("http://"), "{scheme}");
        let open = refusal("http_listen = \"0.0.0.0:7601\"\n");
        assert!(open.contains("http_listen"), "{open}");
    }

    /// `retention_days = 0` keeps finished work forever; another value keeps it that long.
    #[test]
    fn retention_days_zero_keeps_forever() {
        let forever = Config::parse(
            "retention_days = 0
",
        )
        .unwrap();
        assert_eq!(forever.retention(), None);
        let week = Config::parse(
            "retention_days = 7
",
        )
        .unwrap();
        assert_eq!(week.retention(), Some(Duration::from_secs(7 * 86_400)));
    }

    /// A typo in a key is an error, not a silently ignored setting.
    #[test]
    fn unknown_keys_are_rejected() {
        let error = refusal("listne = \"127.0.0.1:1\"\n");
        assert!(error.contains("unknown field `listne`"), "{error}");
        let error = refusal(
            "[[tokens]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nrole = \"intake\"\nqueue = []\n",
        );
        assert!(error.contains("unknown field `queue`"), "{error}");
    }

    /// Bad values are refused with what is wrong.
    #[test]
    fn invalid_settings_are_refused() {
        let open = refusal("listen = \"0.0.0.0:50051\"\n");
        assert!(open.contains("loopback"), "{open}");
        let short = refusal("[[tokens]]\nname = \"a\"\ntoken = \"short\"\nrole = \"admin\"\n");
        assert!(short.contains("16 characters"), "{short}");
        let queueless = refusal(
            "[[tokens]]\nname = \"s\"\ntoken = \"0123456789abcdef\"\nrole = \"specialist\"\n",
        );
        assert!(queueless.contains("needs queues"), "{queueless}");
        let role =
            refusal("[[tokens]]\nname = \"s\"\ntoken = \"0123456789abcdef\"\nrole = \"root\"\n");
        assert!(role.contains("unknown variant `root`"), "{role}");
        let text = refusal("max_text_bytes = 2000000\n");
        assert!(text.contains("max_text_bytes"), "{text}");
        let lonely_nats = refusal("[nats]\n");
        assert!(lonely_nats.contains("needs [postgres]"), "{lonely_nats}");
        let typo = refusal("[nats]\nstreem = \"X\"\n[postgres]\nurl = \"postgres://x\"\n");
        assert!(typo.contains("unknown field `streem`"), "{typo}");
        let pg = "[postgres]\nurl = \"postgres://x\"\n";
        for zero in [
            "replicas = 0",
            "timeout_ms = 0",
            "duplicate_window_seconds = 0",
        ] {
            let error = refusal(&format!("{pg}[nats]\n{zero}\n"));
            assert!(error.contains("must be above 0"), "{zero}: {error}");
        }
        let pool = refusal("[postgres]\nurl = \"postgres://x\"\npool_size = 0\n");
        assert!(pool.contains("pool_size"), "{pool}");
    }

    /// A scaled-out configuration takes the engines' defaults for what it leaves out.
    #[test]
    fn scaled_out_config_has_defaults() {
        let config =
            Config::parse("[nats]\n[postgres]\nurl = \"postgres://postgres@127.0.0.1/test\"\n")
                .unwrap();
        let Backend::ScaledOut { postgres, nats } = &config.backend else {
            panic!("[nats] with [postgres] scales out: {:?}", config.backend);
        };
        assert_eq!(nats.url, "nats://127.0.0.1:4222");
        assert_eq!((nats.stream.as_str(), nats.replicas), ("TRIAGE_TICKETS", 1));
        assert_eq!(postgres.pool_size, 16);
        assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    }

    /// A `data_dir` set in a scaled-out file is warned of as unused; an embedded one is not.
    #[test]
    fn data_dir_is_unused_when_scaled_out() {
        let scaled_out = "data_dir = \"/srv/q\"\n[nats]\n[postgres]\nurl = \"postgres://x\"\n";
        let warnings = Config::parse(scaled_out).unwrap().warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("data_dir = /srv/q is not used"),
            "{warnings:?}"
        );
        let embedded = Config::parse("data_dir = \"/srv/q\"\n").unwrap();
        assert!(embedded.warnings().is_empty(), "{:?}", embedded.warnings());
    }

    /// Without `[nats]` the queue is embedded in `data_dir`, and a lone `[postgres]` holds
    /// the clients.
    #[test]
    fn embedded_config_may_look_clients_up_in_postgres() {
        let config = Config::parse("data_dir = \"/srv/q\"\n").unwrap();
        assert_eq!(config.backend, Backend::embedded("/srv/q"));
        let config = Config::parse("[postgres]\nurl = \"postgres://x\"\n").unwrap();
        let Backend::Embedded { data_dir, clients } = &config.backend else {
            panic!(
                "a lone [postgres] keeps the embedded queue: {:?}",
                config.backend
            );
        };
        assert_eq!(data_dir, &PathBuf::from("var"));
        assert_eq!(
            clients.as_ref().map(|pg| pg.url.as_str()),
            Some("postgres://x")
        );
        assert_eq!(config.backend.postgres(), clients.as_ref());
    }

    const WEB_TOKEN: &str = "[[tokens]]\nname = \"web\"\ntoken = \"0123456789abcdef\"\nrole = \"intake\"\nclients = [\"acme\"]\n";

    /// A non-loopback address needs tokens and TLS, or `insecure = true`, which is warned of.
    #[test]
    fn an_open_address_needs_tls_or_insecure() {
        let open = format!("listen = \"0.0.0.0:50051\"\n{WEB_TOKEN}");
        let refused = refusal(&open);
        assert!(refused.contains("[tls] is not set"), "{refused}");
        let metrics = refusal("metrics_listen = \"0.0.0.0:9464\"\n");
        assert!(metrics.contains("metrics_listen"), "{metrics}");

        let insecure = Config::parse(&format!("insecure = true\n{open}")).unwrap();
        assert_eq!(insecure.tokens[0].role, Role::Submitter);
        assert_eq!(insecure.tokens[0].clients, ["acme"]);
        let warnings = insecure.warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("listen = 0.0.0.0:50051 serves plaintext")),
            "{warnings:?}"
        );

        let tls = "[tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n";
        let config = Config::parse(&format!("{open}{tls}")).unwrap();
        let tls = config.tls.as_ref().unwrap();
        assert_eq!((tls.client_ca.as_ref(), tls.reload_seconds), (None, 10));
        assert!(config.warnings().iter().all(|w| !w.contains("plaintext")));
    }

    /// A token is kept as its digest; a plain-text one still works, with a warning giving the
    /// digest to write instead.
    #[test]
    fn tokens_are_kept_as_digests() {
        let digest = TokenDigest::of("0123456789abcdef");
        let hashed = Config::parse(&format!(
            "[[tokens]]\nname = \"web\"\nrole = \"submitter\"\ntoken_sha256 = \"{digest}\"\n"
        ))
        .unwrap();
        assert_eq!(hashed.tokens[0].digest, digest);
        assert!(!hashed.tokens[0].plain_text && hashed.warnings().is_empty());

        let plain = Config::parse(WEB_TOKEN).unwrap();
        assert_eq!(plain.tokens[0].digest, digest);
        let warnings = plain.warnings();
        assert!(
            warnings[0].contains(&format!("token_sha256 = \"{digest}\"")),
            "{warnings:?}"
        );

        let both = refusal(&format!(
            "[[tokens]]\nname = \"w\"\nrole = \"admin\"\ntoken = \"0123456789abcdef\"\ntoken_sha256 = \"{digest}\"\n"
        ));
        assert!(both.contains("not both"), "{both}");
        let neither = refusal("[[tokens]]\nname = \"w\"\nrole = \"admin\"\n");
        assert!(neither.contains("needs token_sha256"), "{neither}");
        let short = refusal("[[tokens]]\nname = \"w\"\nrole = \"admin\"\ntoken_sha256 = \"ab\"\n");
        assert!(short.contains("64 hex digits"), "{short}");
    }

    /// Tokens come from the config, its tokens file and the environment, checked as one set.
    #[test]
    fn tokens_come_from_every_source() {
        let dir = tempfile::tempdir().unwrap();
        let entry =
            |name: &str| TokenConfig::new(name, &format!("{name}-0123456789abcdef"), Role::Admin);
        let tokens_file = dir.path().join("tokens.toml");
        std::fs::write(&tokens_file, entry("from-file").to_toml()).unwrap();
        let config_file = dir.path().join("triage.toml");
        std::fs::write(
            &config_file,
            format!(
                "tokens_file = {tokens_file:?}\n{}",
                entry("inline").to_toml()
            ),
        )
        .unwrap();
        let env = entry("from-env").to_toml();
        let config = Config::from_sources(Some(&config_file), Some(&env)).unwrap();
        let names: Vec<&str> = config.tokens.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["inline", "from-file", "from-env"]);

        let twice = Config::from_sources(Some(&config_file), Some(&entry("inline").to_toml()))
            .unwrap_err()
            .to_string();
        assert!(twice.contains("used twice"), "{twice}");
        let bad_env = Config::from_sources(None, Some("[[tokens]]\nname = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(bad_env.starts_with("TRIAGE_TOKENS: "), "{bad_env}");
        std::fs::write(&tokens_file, "[[tokens]]\nnmae = \"x\"\n").unwrap();
        let bad_file = Config::load(&config_file).unwrap_err().to_string();
        assert!(
            bad_file.contains("tokens.toml") && bad_file.contains("unknown field `nmae`"),
            "{bad_file}"
        );
    }

    /// Per-token limits: by default no rate and half of max_in_flight; a role's own limits
    /// otherwise; a zero limit is refused.
    #[test]
    fn token_limits_by_role() {
        let config = Config::parse(
            "max_in_flight = 100\n[limits.submitter]\nrequests_per_second = 50\n\
             [limits.specialist]\nrequests_per_second = 5\nburst = 20\nin_flight = 4\n",
        )
        .unwrap();
        assert_eq!(
            config.token_limits(Role::Submitter),
            TokenLimits {
                rate: Some(Rate {
                    per_second: 50,
                    burst: 50
                }),
                in_flight: 50
            }
        );
        assert_eq!(
            config.token_limits(Role::Specialist),
            TokenLimits {
                rate: Some(Rate {
                    per_second: 5,
                    burst: 20
                }),
                in_flight: 4
            }
        );
        assert_eq!(config.token_limits(Role::Admin).rate, None);
        let zero = refusal("[limits.admin]\nin_flight = 0\n");
        assert!(zero.contains("[limits.admin]"), "{zero}");
        let burst = refusal("[limits.admin]\nburst = 3\n");
        assert!(burst.contains("needs requests_per_second"), "{burst}");
    }
}
