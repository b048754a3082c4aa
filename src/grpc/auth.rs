//! Bearer tokens: which [`Caller`] presents each and the [`CallerLimits`] it is held to, and
//! who may use the health and reflection services. What a caller may do is the domain's rule
//! ([`Caller`]'s checks).
//!
//! Tokens are kept as SHA-256 digests: a presented token is hashed and compared with every
//! digest, in constant time. The set is replaced whole on reload ([`Authenticator::replace`]);
//! a token that stays, under the same limits, keeps what it uses of them. A failure is counted
//! by source address (`triage_auth_failures_total`) and logged with the source and the
//! presented token's fingerprint, never the token; a source that keeps failing is logged at
//! its 1st, 2nd, 4th, 8th… failure, with the count, not once per request.
//!
//! Without configured tokens the server runs open, on loopback only (the config refuses
//! anything else), and every caller is the local admin.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use super::ServiceError;
use super::limits::CallerLimits;
use crate::config::{Access, Config, TokenDigest};
use crate::helpdesk::Caller;
use crate::telemetry::Metrics;

/// A caller proved by its token, and the limits its token is held to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub limits: Arc<CallerLimits>,
}

/// Checks the `authorization: Bearer <token>` metadata of each request.
pub struct Authenticator {
    tokens: ArcSwap<Vec<Token>>,
    /// The limits of the local admin of an open server: none.
    open: Arc<CallerLimits>,
    metrics: Arc<Metrics>,
}

/// One configured token.
struct Token {
    digest: TokenDigest,
    caller: Caller,
    limits: Arc<CallerLimits>,
}

/// Why a reload of the tokens was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "the new configuration has no tokens, which would open the server to every local caller as \
     admin; keeping the tokens in use (restart the server to run it without tokens)"
)]
pub struct NoTokensLeft;

impl Authenticator {
    /// The tokens of `config`, counting failures in `metrics`.
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Self {
        Self {
            tokens: ArcSwap::from_pointee(tokens_of(config, &[])),
            open: Arc::new(CallerLimits::unlimited()),
            metrics,
        }
    }

    /// Serves the tokens of `config` from now on; returns how many there are. A server with
    /// tokens is not opened by a reload that leaves none.
    pub fn replace(&self, config: &Config) -> Result<usize, NoTokensLeft> {
        let current = self.tokens.load();
        if config.tokens.is_empty() && !current.is_empty() {
            return Err(NoTokensLeft);
        }
        let tokens = tokens_of(config, &current);
        let count = tokens.len();
        self.tokens.store(Arc::new(tokens));
        Ok(count)
    }

    /// Whether the server runs without tokens (loopback only).
    pub fn is_open(&self) -> bool {
        self.tokens.load().is_empty()
    }

    /// The caller of a request with this metadata, from `peer`.
    pub fn authenticate(
        &self,
        metadata: &MetadataMap,
        peer: Option<SocketAddr>,
    ) -> Result<Authenticated, ServiceError> {
        if self.is_open() {
            return Ok(self.local_admin());
        }
        let Some(value) = metadata.get("authorization") else {
            return Err(self.refuse(
                peer,
                "missing",
                "missing authorization metadata (Bearer token)",
                None,
            ));
        };
        let Ok(value) = value.to_str() else {
            return Err(self.refuse(
                peer,
                "malformed",
                "authorization metadata is not visible ASCII",
                None,
            ));
        };
        let Some(presented) = value.strip_prefix("Bearer ") else {
            return Err(self.refuse(
                peer,
                "malformed",
                "authorization metadata must be `Bearer <token>`",
                None,
            ));
        };
        self.authenticate_token(presented, peer)
    }

    /// The caller a bearer token `presented` by `peer` proves (the console's sign-in form
    /// presents one as gRPC metadata does); failures are counted and logged alike.
    pub fn authenticate_token(
        &self,
        presented: &str,
        peer: Option<SocketAddr>,
    ) -> Result<Authenticated, ServiceError> {
        let tokens = self.tokens.load();
        if tokens.is_empty() {
            return Ok(self.local_admin());
        }
        let digest = TokenDigest::of(presented);
        // Every digest is compared, so the time taken says nothing of which one matched.
        let found = tokens.iter().fold(None, |found, token| {
            if token.digest.matches(&digest) {
                Some(token)
            } else {
                found
            }
        });
        let Some(token) = found else {
            return Err(self.refuse(peer, "unknown", "unknown token", Some(digest.fingerprint())));
        };
        Ok(Authenticated {
            caller: token.caller.clone(),
            limits: Arc::clone(&token.limits),
        })
    }

    /// The local admin of a server without tokens.
    fn local_admin(&self) -> Authenticated {
        Authenticated {
            caller: Caller::local_admin(),
            limits: Arc::clone(&self.open),
        }
    }

    /// Counts a failure of `peer` and logs the thinned few; the error the caller gets.
    fn refuse(
        &self,
        peer: Option<SocketAddr>,
        reason: &'static str,
        message: &str,
        fingerprint: Option<String>,
    ) -> ServiceError {
        let failures = self
            .metrics
            .observe_auth_failure(peer.map(|p| p.ip()), reason);
        // A caller retrying a bad token, or guessing, would write a line per request: the
        // 1st, 2nd, 4th, 8th… failure of a source and reason is logged, with the count.
        if failures.is_power_of_two() {
            tracing::warn!(
                source = %peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
                reason,
                fingerprint,
                failures,
                "authentication failed"
            );
        }
        ServiceError::Unauthenticated(message.to_owned())
    }

    /// Lets a request to `service` (health, reflection) through as `access` says; a caller on
    /// loopback always passes.
    pub fn check_access(
        &self,
        service: &str,
        access: Access,
        request: &Request<()>,
    ) -> Result<(), Status> {
        let peer = request.remote_addr();
        if peer.is_some_and(|peer| peer.ip().is_loopback()) {
            return Ok(());
        }
        match access {
            Access::Open => Ok(()),
            Access::Token => self
                .authenticate(request.metadata(), peer)
                .map(drop)
                .map_err(Status::from),
            Access::Loopback => Err(Status::permission_denied(format!(
                "the {service} service answers callers on loopback only"
            ))),
        }
    }
}

/// The tokens of `config`; one that was in `current` under the same limits keeps its
/// [`CallerLimits`].
fn tokens_of(config: &Config, current: &[Token]) -> Vec<Token> {
    config
        .tokens
        .iter()
        .map(|token| {
            let settings = config.token_limits(token.role);
            let kept = current.iter().find(|old| {
                old.caller.name == token.name && old.limits.settings() == Some(settings)
            });
            Token {
                digest: token.digest,
                caller: Caller::new(
                    token.name.clone(),
                    token.role,
                    token.clients.clone(),
                    token.queues.clone(),
                ),
                limits: kept.map_or_else(
                    || Arc::new(CallerLimits::new(settings)),
                    |old| Arc::clone(&old.limits),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Role, TokenConfig};
    use crate::helpdesk::HelpdeskError;

    fn token(name: &str, role: Role, clients: &[&str], queues: &[&str]) -> TokenConfig {
        let mut token = TokenConfig::new(name, &format!("{name}-0123456789abcdef"), role);
        token.clients = clients.iter().map(|c| c.to_string()).collect();
        token.queues = queues.iter().map(|q| q.to_string()).collect();
        token
    }

    fn metadata(value: &str) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("authorization", value.parse().unwrap());
        map
    }

    fn config(tokens: Vec<TokenConfig>) -> Config {
        Config {
            tokens,
            ..Config::default()
        }
    }

    fn authenticator(metrics: Arc<Metrics>) -> Authenticator {
        let tokens = vec![
            token("web", Role::Submitter, &["acme"], &[]),
            token("alice", Role::Specialist, &[], &["seo"]),
        ];
        Authenticator::new(&config(tokens), metrics)
    }

    fn caller(auth: &Authenticator, value: &str) -> Result<Caller, ServiceError> {
        let peer = "10.1.2.3:4000".parse().ok();
        auth.authenticate(&metadata(value), peer)
            .map(|who| who.caller)
    }

    /// Each token gets its own rights; a wrong or missing token gets none, and is counted by
    /// source and reason.
    #[test]
    fn tokens_map_to_callers() {
        let metrics = Arc::new(Metrics::new());
        let auth = authenticator(Arc::clone(&metrics));
        let web = caller(&auth, "Bearer web-0123456789abcdef").unwrap();
        assert!(web.check_client("acme").is_ok());
        assert!(matches!(
            web.check_client("globex"),
            Err(HelpdeskError::PermissionDenied(_))
        ));
        assert!(web.check_queue("seo").is_err());
        let alice = caller(&auth, "Bearer alice-0123456789abcdef").unwrap();
        assert!(alice.check_queue("seo").is_ok());
        assert!(alice.check_queue("billing").is_err());
        assert!(alice.check_client("acme").is_err());
        for bad in [
            "Bearer nope",
            "web-0123456789abcdef",
            "Basic abc",
            "Bearer ",
        ] {
            assert!(
                matches!(caller(&auth, bad), Err(ServiceError::Unauthenticated(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            auth.authenticate(&MetadataMap::new(), None),
            Err(ServiceError::Unauthenticated(_))
        ));
        let source = Some("10.9.9.9".parse().unwrap());
        let counts: Vec<u64> = (0..3)
            .map(|_| metrics.observe_auth_failure(source, "unknown"))
            .collect();
        assert_eq!(counts, [1, 2, 3], "the count logging is thinned by");
        let text = metrics.render();
        for line in [
            "triage_auth_failures_total{reason=\"unknown\",source=\"10.1.2.3\"} 2",
            "triage_auth_failures_total{reason=\"malformed\",source=\"10.1.2.3\"} 2",
            "triage_auth_failures_total{reason=\"missing\",source=\"unknown\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }

    /// Without tokens every caller is the local admin, without limits.
    #[test]
    fn open_mode_is_admin() {
        let auth = Authenticator::new(&Config::default(), Arc::new(Metrics::new()));
        let who = auth.authenticate(&MetadataMap::new(), None).unwrap();
        assert_eq!(who.caller.role, Role::Admin);
        assert!(who.caller.check_client("anyone").is_ok() && who.caller.check_queue("any").is_ok());
        assert_eq!(who.limits.settings(), None);
    }

    /// A reload drops a revoked token, keeps a staying token's limits in use, and never
    /// leaves a server with tokens open.
    #[test]
    fn a_reload_revokes_and_keeps() {
        let auth = authenticator(Arc::new(Metrics::new()));
        let before = auth
            .authenticate(&metadata("Bearer web-0123456789abcdef"), None)
            .unwrap();
        let kept = vec![token("web", Role::Submitter, &["acme"], &[])];
        assert_eq!(auth.replace(&config(kept)).unwrap(), 1);
        let after = auth
            .authenticate(&metadata("Bearer web-0123456789abcdef"), None)
            .unwrap();
        assert!(Arc::ptr_eq(&before.limits, &after.limits));
        assert!(caller(&auth, "Bearer alice-0123456789abcdef").is_err());
        assert!(auth.replace(&config(Vec::new())).is_err());
        assert!(!auth.is_open());
    }

    /// Health and reflection: loopback always passes; other callers as configured.
    #[test]
    fn public_services_follow_their_access() {
        let auth = authenticator(Arc::new(Metrics::new()));
        let request = |peer: &str, token: Option<&str>| {
            let mut request = Request::new(());
            let connect_info = tonic::transport::server::TcpConnectInfo {
                local_addr: None,
                remote_addr: peer.parse().ok(),
            };
            request.extensions_mut().insert(connect_info);
            if let Some(token) = token {
                request
                    .metadata_mut()
                    .insert("authorization", format!("Bearer {token}").parse().unwrap());
            }
            request
        };
        let local = request("127.0.0.1:5000", None);
        let remote = request("192.0.2.7:5000", None);
        let remote_with_token = request("192.0.2.7:5000", Some("web-0123456789abcdef"));
        for access in [Access::Open, Access::Token, Access::Loopback] {
            assert!(auth.check_access("health", access, &local).is_ok());
        }
        assert!(auth.check_access("health", Access::Open, &remote).is_ok());
        let code = |access, request| {
            auth.check_access("reflection", access, request)
                .map_err(|status| status.code())
        };
        assert_eq!(
            code(Access::Token, &remote),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(code(Access::Token, &remote_with_token), Ok(()));
        assert_eq!(
            code(Access::Loopback, &remote_with_token),
            Err(tonic::Code::PermissionDenied)
        );
    }
}
