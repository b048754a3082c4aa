//! The live-update stream: `GET /console/events` sends a `change` event whenever the helpdesk
//! changes a ticket or someone opens or leaves a ticket page; the page's script then fetches
//! the page again. With `?ticket=ID` the stream also marks its session as viewing that ticket
//! for as long as it stays open, which is how others see who is there; with `?activity` (the
//! lead's dashboard, admins) it also fires on every new decision, answers included.
//!
//! Changes are told at most once per [`SETTLE`]: a burst of them (a busy intake) costs each
//! page one fetch, and an answer's decision, written moments after it is made, is counted by
//! the fetch it caused.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::watch;

use super::Session;
use super::session::Viewing;
use crate::helpdesk::Role;
use crate::web::WebState;

/// How long a stream lets changes gather before it tells its page of them.
const SETTLE: Duration = Duration::from_millis(250);

/// What one stream waits on, and the viewing it holds while open.
struct Listener {
    tickets: watch::Receiver<u64>,
    presence: watch::Receiver<u64>,
    /// New decisions, for the lead's dashboard only.
    decisions: Option<watch::Receiver<u64>>,
    _viewing: Option<Viewing>,
}

/// The stream of a page of the signed-in session.
pub async fn events(
    State(state): State<Arc<WebState>>,
    Session(session): Session,
    RawQuery(query): RawQuery,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let query = query.unwrap_or_default();
    let mut parameters = form_urlencoded::parse(query.as_bytes());
    let watched = parameters
        .clone()
        .find(|(name, _)| name == "ticket")
        .and_then(|(_, id)| id.parse::<u64>().ok());
    let activity =
        session.caller.role == Role::Admin && parameters.any(|(name, _)| name == "activity");
    let mut presence = state.console.presence_changes();
    // Its own arrival is not news to the page that opened it.
    let viewing = watched.map(|ticket_id| state.console.view(&session.id, ticket_id));
    presence.mark_unchanged();
    let listener = Listener {
        tickets: state.helpdesk.changes(),
        presence,
        decisions: activity.then(|| state.helpdesk.decisions()),
        _viewing: viewing,
    };
    let stream = futures_util::stream::unfold(listener, |mut listener| async move {
        let decisions = &mut listener.decisions;
        let decided = async move {
            match decisions {
                Some(decisions) => decisions.changed().await,
                None => std::future::pending().await,
            }
        };
        let changed = tokio::select! {
            changed = listener.tickets.changed() => changed,
            changed = listener.presence.changed() => changed,
            changed = decided => changed,
        };
        // A closed channel means the server is going away: the stream ends with it.
        changed.ok()?;
        tokio::time::sleep(SETTLE).await;
        // What changed while it settled is in this event.
        listener.tickets.mark_unchanged();
        listener.presence.mark_unchanged();
        if let Some(decisions) = &mut listener.decisions {
            decisions.mark_unchanged();
        }
        let event = Event::default().event("change").data("changed");
        Some((Ok(event), listener))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
