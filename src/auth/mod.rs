//! Bearer tokens, below both adapters (the gRPC services and the web console): which
//! [`Caller`] presents each and the [`CallerLimits`] it is held to ([`limits`]). How a token is
//! presented (gRPC metadata, a sign-in form) is the adapter's part; what a caller may do is the
//! domain's rule ([`Caller`]'s checks).
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

pub mod limits;

use arc_swap::ArcSwap;

pub use limits::CallerLimits;

use crate::config::{Config, TokenDigest};
use crate::helpdesk::Caller;
use crate::telemetry::Metrics;

/// A caller proved by its token, and the limits its token is held to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub limits: Arc<CallerLimits>,
}

/// A token was missing, malformed or unknown; the message says which, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthenticated(pub String);

/// Checks presented bearer tokens against the configured ones.
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

    /// The caller a bearer token `presented` by `peer` proves (gRPC metadata and the
    /// console's sign-in form present one alike); failures are counted and logged alike.
    pub fn authenticate_token(
        &self,
        presented: &str,
        peer: Option<SocketAddr>,
    ) -> Result<Authenticated, Unauthenticated> {
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
    pub fn local_admin(&self) -> Authenticated {
        Authenticated {
            caller: Caller::local_admin(),
            limits: Arc::clone(&self.open),
        }
    }

    /// Counts a failure of `peer` (`reason`: `missing`, `malformed`, `unknown`) and logs the
    /// thinned few; the error the caller gets.
    pub fn refuse(
        &self,
        peer: Option<SocketAddr>,
        reason: &'static str,
        message: &str,
        fingerprint: Option<String>,
    ) -> Unauthenticated {
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
        Unauthenticated(message.to_owned())
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
