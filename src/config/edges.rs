//! The configuration of the server's edges: TLS on its listeners, per-token limits by role, and
//! who beyond loopback may use the health and reflection services.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::helpdesk::Role;

/// TLS on the server's listeners (gRPC, and metrics when they are served).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM: the server's certificate, then any intermediates.
    pub cert: PathBuf,
    /// PEM: its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM: the certificates of the CAs a client's certificate must chain to. When set, every
    /// caller needs a certificate (mutual TLS).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// How often the files are checked for a change; SIGHUP also reloads them.
    #[serde(default = "default_reload_seconds")]
    pub reload_seconds: u64,
}

impl TlsConfig {
    /// How often the files are checked for a change.
    pub fn reload_every(&self) -> Duration {
        Duration::from_secs(self.reload_seconds)
    }
}

fn default_reload_seconds() -> u64 {
    10
}

/// The per-token limits of one role, as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleLimits {
    /// Requests (SubmitStream items included) one token may make per second; unlimited when
    /// unset.
    pub requests_per_second: Option<u32>,
    /// Requests one token may make at once above its rate; `requests_per_second` when unset.
    pub burst: Option<u32>,
    /// Requests of one token in flight at once; half of `max_in_flight` when unset.
    pub in_flight: Option<usize>,
}

/// `[limits.<role>]`: the per-token limits of each role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, alias = "intake")]
    pub submitter: RoleLimits,
    #[serde(default)]
    pub specialist: RoleLimits,
    #[serde(default)]
    pub admin: RoleLimits,
}

impl Limits {
    /// What `role` is limited to.
    pub fn of(&self, role: Role) -> &RoleLimits {
        match role {
            Role::Submitter => &self.submitter,
            Role::Specialist => &self.specialist,
            Role::Admin => &self.admin,
        }
    }

    /// Checks that no limit is zero.
    pub(super) fn validate(&self) -> Result<(), String> {
        for (role, limits) in [
            ("submitter", &self.submitter),
            ("specialist", &self.specialist),
            ("admin", &self.admin),
        ] {
            if limits.requests_per_second == Some(0)
                || limits.burst == Some(0)
                || limits.in_flight == Some(0)
            {
                return Err(format!(
                    "[limits.{role}]: requests_per_second, burst and in_flight must be above 0 \
                     (leave one out for no limit or the default)"
                ));
            }
            if limits.burst.is_some() && limits.requests_per_second.is_none() {
                return Err(format!("[limits.{role}]: burst needs requests_per_second"));
            }
        }
        Ok(())
    }
}

/// What one token is held to, resolved from its role's [`RoleLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLimits {
    /// Requests per second and the burst above it; none: no rate limit.
    pub rate: Option<Rate>,
    /// Requests in flight at once.
    pub in_flight: usize,
}

/// A rate: `per_second` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// Who, beyond callers on loopback (always let in), may use the health or the reflection
/// service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone.
    Open,
    /// Callers with a valid token, of any role.
    Token,
    /// No one.
    Loopback,
}
