//! Console sessions, kept on the server: a random 256-bit id in an HttpOnly, SameSite=Strict
//! cookie names the signed-in [`Caller`]; a session ends at sign-out, after its idle length
//! without a request, or its lifetime after sign-in ([`SessionLengths`], `[console]` in the
//! configuration), whichever comes first. Each session has its own CSRF token, which every form posts back; and it keeps the
//! lease tokens of the tickets its specialist claimed, so a lease token never leaves the
//! server (not in a page, not in an address).
//!
//! Presence lives here too: which sessions have a ticket open now (a ticket page holds its
//! live-update stream open while shown), announced on [`Sessions::presence_changes`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::helpdesk::{Caller, HeldTicket};
use crate::route::LeaseToken;

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLengths {
    /// Without a request.
    pub idle: Duration,
    /// At most, from sign-in.
    pub lifetime: Duration,
}

impl Default for SessionLengths {
    /// The configuration's defaults: 30 minutes idle, 12 hours at most.
    fn default() -> Self {
        let defaults = crate::config::ConsoleConfig::default();
        Self {
            idle: defaults.session_idle(),
            lifetime: defaults.session_lifetime(),
        }
    }
}

/// The signed-in sessions and who is viewing which ticket.
pub struct Sessions {
    state: Mutex<State>,
    presence: watch::Sender<u64>,
    lengths: SessionLengths,
}

#[derive(Default)]
struct State {
    by_id: HashMap<String, Session>,
    /// Per ticket, the sessions viewing it and how many of their pages show it.
    viewers: BTreeMap<u64, BTreeMap<String, usize>>,
}

struct Session {
    caller: Caller,
    csrf: String,
    started: Instant,
    last_seen: Instant,
    held: HashMap<u64, LeaseToken>,
}

/// What a request learns of its session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id: String,
    pub caller: Caller,
    /// The token every form of this session posts back.
    pub csrf: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new(SessionLengths::default())
    }
}

impl Sessions {
    /// No sessions yet; those opened last `lengths`.
    pub fn new(lengths: SessionLengths) -> Self {
        Self {
            state: Mutex::default(),
            presence: watch::Sender::new(0),
            lengths,
        }
    }

    /// How long a session lasts at most (its cookie's age).
    pub fn lifetime(&self) -> Duration {
        self.lengths.lifetime
    }

    /// Opens a session for `caller` at `now`: its id and CSRF token.
    pub fn open(&self, caller: Caller, now: Instant) -> Result<SignedIn, NoRandomness> {
        let signed_in = SignedIn {
            id: random_hex()?,
            caller: caller.clone(),
            csrf: random_hex()?,
        };
        let session = Session {
            caller,
            csrf: signed_in.csrf.clone(),
            started: now,
            last_seen: now,
            held: HashMap::new(),
        };
        let mut state = self.lock();
        state.forget_expired(now, self.lengths);
        state.by_id.insert(signed_in.id.clone(), session);
        Ok(signed_in)
    }

    /// The live session `id` at `now`, its idle time restarted; `None` when there is none (never
    /// opened, signed out, or expired: an expired session is dropped here).
    pub fn get(&self, id: &str, now: Instant) -> Option<SignedIn> {
        let mut state = self.lock();
        let session = state.by_id.get_mut(id)?;
        if session.expired(now, self.lengths) {
            state.by_id.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(SignedIn {
            id: id.to_owned(),
            caller: session.caller.clone(),
            csrf: session.csrf.clone(),
        })
    }

    /// Ends session `id` (sign-out).
    pub fn close(&self, id: &str) {
        let mut state = self.lock();
        state.by_id.remove(id);
        let mut left = false;
        for viewers in state.viewers.values_mut() {
            left |= viewers.remove(id).is_some();
        }
        state.viewers.retain(|_, viewers| !viewers.is_empty());
        drop(state);
        if left {
            self.announce();
        }
    }

    /// Keeps the lease token of a ticket session `id` claimed.
    pub fn hold(&self, id: &str, held: HeldTicket) {
        if let Some(session) = self.lock().by_id.get_mut(id) {
            session.held.insert(held.ticket_id, held.lease_token);
        }
    }

    /// The ticket `ticket_id` as session `id` holds it, if it does.
    pub fn held(&self, id: &str, ticket_id: u64) -> Option<HeldTicket> {
        let state = self.lock();
        let lease_token = *state.by_id.get(id)?.held.get(&ticket_id)?;
        Some(HeldTicket {
            ticket_id,
            lease_token,
        })
    }

    /// Forgets the lease of `ticket_id` of session `id` (resolved, released, rerouted).
    pub fn let_go(&self, id: &str, ticket_id: u64) {
        if let Some(session) = self.lock().by_id.get_mut(id) {
            session.held.remove(&ticket_id);
        }
    }

    /// Notes that a page of session `id` shows `ticket_id` until the guard is dropped.
    pub fn view(self: &std::sync::Arc<Self>, id: &str, ticket_id: u64) -> Viewing {
        *self
            .lock()
            .viewers
            .entry(ticket_id)
            .or_default()
            .entry(id.to_owned())
            .or_default() += 1;
        self.announce();
        Viewing {
            sessions: std::sync::Arc::clone(self),
            id: id.to_owned(),
            ticket_id,
        }
    }

    /// The names of those viewing `ticket_id` now, but for session `id`'s own caller, sorted.
    pub fn others_viewing(&self, id: &str, ticket_id: u64) -> Vec<String> {
        let state = self.lock();
        let own = state.by_id.get(id).map(|s| s.caller.name.as_str());
        let mut names = state.viewer_names(ticket_id);
        names.retain(|name| Some(name.as_str()) != own);
        names
    }

    /// Every ticket someone views now, by id, with the names of its viewers, sorted.
    pub fn viewed_tickets(&self) -> Vec<(u64, Vec<String>)> {
        let state = self.lock();
        state
            .viewers
            .keys()
            .map(|&ticket_id| (ticket_id, state.viewer_names(ticket_id)))
            .collect()
    }

    /// Fires whenever someone starts or stops viewing a ticket.
    pub fn presence_changes(&self) -> watch::Receiver<u64> {
        self.presence.subscribe()
    }

    fn announce(&self) {
        self.presence.send_modify(|generation| *generation += 1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // No code panics while holding the lock; a poisoned one still holds consistent maps.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A page of a session showing a ticket; dropping it ends the viewing.
pub struct Viewing {
    sessions: std::sync::Arc<Sessions>,
    id: String,
    ticket_id: u64,
}

impl Drop for Viewing {
    fn drop(&mut self) {
        let mut state = self.sessions.lock();
        if let Some(viewers) = state.viewers.get_mut(&self.ticket_id) {
            if let Some(count) = viewers.get_mut(&self.id) {
                *count -= 1;
                if *count == 0 {
                    viewers.remove(&self.id);
                }
            }
            if viewers.is_empty() {
                state.viewers.remove(&self.ticket_id);
            }
        }
        drop(state);
        self.sessions.announce();
    }
}

impl Session {
    fn expired(&self, now: Instant, lengths: SessionLengths) -> bool {
        now.saturating_duration_since(self.started) >= lengths.lifetime
            || now.saturating_duration_since(self.last_seen) >= lengths.idle
    }
}

impl State {
    fn forget_expired(&mut self, now: Instant, lengths: SessionLengths) {
        self.by_id
            .retain(|_, session| !session.expired(now, lengths));
    }

    /// The names of the callers of the live sessions viewing `ticket_id`, sorted, once each.
    fn viewer_names(&self, ticket_id: u64) -> Vec<String> {
        let mut names: Vec<String> = self
            .viewers
            .get(&ticket_id)
            .into_iter()
            .flat_map(|viewers| viewers.keys())
            .filter_map(|session| self.by_id.get(session))
            .map(|session| session.caller.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The operating system's random source failed: no secret can be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing a session secret failed: {0}")]
pub struct NoRandomness(getrandom::Error);

/// 256 bits from the operating system's random source, in hex.
pub fn random_hex() -> Result<String, NoRandomness> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(NoRandomness)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `presented` equals `expected`, compared in time that does not depend on where they
/// differ.
pub fn same_token(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len()
        && presented
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpdesk::Role;

    fn alice() -> Caller {
        Caller::new("alice".into(), Role::Specialist, vec![], vec!["seo".into()])
    }

    /// A session is found by its id until it idles out or outlives its lifetime (as
    /// configured); an unknown id finds nothing; sign-out ends it.
    #[test]
    fn sessions_expire_and_close() {
        let idle = Duration::from_secs(5 * 60);
        let lifetime = Duration::from_secs(3600);
        let sessions = Sessions::new(SessionLengths { idle, lifetime });
        assert_eq!(sessions.lifetime(), lifetime);
        let start = Instant::now();
        let opened = sessions.open(alice(), start).unwrap();
        assert_eq!(opened.id.len(), 64);
        assert_ne!(opened.id, opened.csrf);
        assert!(sessions.get("not-a-session", start).is_none());
        let found = sessions
            .get(&opened.id, start + Duration::from_secs(60))
            .unwrap();
        assert_eq!(found.caller, alice());
        assert_eq!(found.csrf, opened.csrf);

        // Kept alive by requests, a session still ends at its lifetime.
        let mut now = start;
        while now < start + lifetime - idle {
            now += idle / 2;
            assert!(sessions.get(&opened.id, now).is_some());
        }
        assert!(sessions.get(&opened.id, start + lifetime).is_none());

        let idled = sessions.open(alice(), start).unwrap();
        assert!(
            sessions
                .get(&idled.id, start + idle - Duration::from_secs(1))
                .is_some()
        );
        assert!(sessions.get(&idled.id, start + idle + idle).is_none());

        let closed = sessions.open(alice(), start).unwrap();
        sessions.close(&closed.id);
        assert!(sessions.get(&closed.id, start).is_none());
    }

    /// Tokens compare equal only when every byte is.
    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("", "abc"));
    }

    /// Viewers are counted per ticket and leave when their last page does.
    #[test]
    fn presence_follows_pages() {
        let sessions = std::sync::Arc::new(Sessions::default());
        let now = Instant::now();
        let a = sessions.open(alice(), now).unwrap();
        let bob = Caller::new("bob".into(), Role::Specialist, vec![], vec!["seo".into()]);
        let b = sessions.open(bob, now).unwrap();
        let first = sessions.view(&a.id, 7);
        let second = sessions.view(&a.id, 7);
        assert_eq!(sessions.others_viewing(&b.id, 7), ["alice"]);
        assert!(sessions.others_viewing(&a.id, 7).is_empty());
        drop(first);
        assert_eq!(sessions.others_viewing(&b.id, 7), ["alice"]);
        drop(second);
        assert!(sessions.others_viewing(&b.id, 7).is_empty());
    }
}
