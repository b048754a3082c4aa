//! The helpdesk console's settings (`[console]`): how long a signed-in session lasts without a
//! request, and at most from sign-in.

use std::time::Duration;

use serde::Deserialize;

/// The console's sessions (`[console]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Minutes a session lasts without a request.
    #[serde(default = "default_session_idle_minutes")]
    pub session_idle_minutes: u64,
    /// Hours a session lasts at most, from sign-in, however busy.
    #[serde(default = "default_session_max_hours")]
    pub session_max_hours: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: default_session_idle_minutes(),
            session_max_hours: default_session_max_hours(),
        }
    }
}

impl ConsoleConfig {
    /// How long a session lasts without a request.
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_minutes.saturating_mul(60))
    }

    /// How long a session lasts at most.
    pub fn session_lifetime(&self) -> Duration {
        Duration::from_secs(self.session_max_hours.saturating_mul(3600))
    }

    /// Both lengths above 0, the idle one no longer than the whole.
    pub fn validate(&self) -> Result<(), String> {
        if self.session_idle_minutes == 0 || self.session_max_hours == 0 {
            return Err(
                "[console] session_idle_minutes and session_max_hours must be above 0".to_owned(),
            );
        }
        if self.session_idle() > self.session_lifetime() {
            return Err(format!(
                "[console] session_idle_minutes ({}) must be at most session_max_hours ({}) \
                 in minutes",
                self.session_idle_minutes, self.session_max_hours
            ));
        }
        Ok(())
    }
}

fn default_session_idle_minutes() -> u64 {
    30
}

fn default_session_max_hours() -> u64 {
    12
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults are the console's former fixed lengths; an idle length over the whole, or
    /// a zero, is refused.
    #[test]
    fn session_lengths_default_and_are_checked() {
        let default = ConsoleConfig::default();
        assert_eq!(default.session_idle(), Duration::from_secs(30 * 60));
        assert_eq!(default.session_lifetime(), Duration::from_secs(12 * 3600));
        assert_eq!(default.validate(), Ok(()));
        let set: ConsoleConfig =
            toml::from_str("session_idle_minutes = 5\nsession_max_hours = 1\n").unwrap();
        assert_eq!(set.session_idle(), Duration::from_secs(300));
        let over = ConsoleConfig {
            session_idle_minutes: 61,
            session_max_hours: 1,
        };
        assert!(over.validate().unwrap_err().contains("at most"));
        let zero = ConsoleConfig {
            session_idle_minutes: 0,
            ..ConsoleConfig::default()
        };
        assert!(zero.validate().is_err());
        assert!(toml::from_str::<ConsoleConfig>("idle = 3\n").is_err());
    }
}
