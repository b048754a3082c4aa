//! The live-update stream: `GET /console/events` sends a `change` event whenever the helpdesk
//! changes a ticket or someone opens or leaves a ticket page; the page's script then fetches
//! the page again. With `?ticket=ID` the stream also marks its session as viewing that ticket
//! for as long as it stays open, which is how others see who is there.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::watch;

use super::Session;
use super::session::Viewing;
use crate::web::WebState;

/// What one stream waits on, and the viewing it holds while open.
struct Listener {
    tickets: watch::Receiver<u64>,
    presence: watch::Receiver<u64>,
    _viewing: Option<Viewing>,
}

/// The stream of a page of the signed-in session.
pub async fn events(
    State(state): State<Arc<WebState>>,
    Session(session): Session,
    RawQuery(query): RawQuery,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let watched = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "ticket")
        .and_then(|(_, id)| id.parse::<u64>().ok());
    let mut presence = state.console.presence_changes();
    // Its own arrival is not news to the page that opened it.
    let viewing = watched.map(|ticket_id| state.console.view(&session.id, ticket_id));
    presence.mark_unchanged();
    let listener = Listener {
        tickets: state.helpdesk.changes(),
        presence,
        _viewing: viewing,
    };
    let stream = futures_util::stream::unfold(listener, |mut listener| async move {
        let changed = tokio::select! {
            changed = listener.tickets.changed() => changed,
            changed = listener.presence.changed() => changed,
        };
        // A closed channel means the server is going away: the stream ends with it.
        changed.ok()?;
        let event = Event::default().event("change").data("changed");
        Some((Ok(event), listener))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
