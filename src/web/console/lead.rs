//! The team lead's dashboard (admins): every queue live (ready, being worked, oldest waiting,
//! past SLA, dead letters) with a chart, the dead letters with redrive and discard, and the
//! clients' ratings (CSAT, CES) by queue. It follows the helpdesk's changes while open.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::format::{instant, span};
use super::pages::{Chrome, refused, render};
use super::{Posted, Session, helpdesk_refused};
use crate::helpdesk::{DeadLetterView, Role};
use crate::route::QueueStats;
use crate::web::WebState;

/// The chart's width for the largest count, in SVG units.
const BAR_SPAN: u64 = 300;

#[derive(Template)]
#[template(path = "console/lead.html")]
struct LeadPage {
    chrome: Chrome,
    queues: Vec<QueueRow>,
    bars: Vec<Bar>,
    chart_height: usize,
    dead_letters: Vec<DeadLetterRow>,
    ratings: Vec<RatingRow>,
}

/// One queue's bar in the chart: ready and leased counts side by side.
struct Bar {
    queue: String,
    y: usize,
    ready: u64,
    ready_width: u64,
    leased: u64,
    leased_width: u64,
}

/// One queue's counts.
struct QueueRow {
    queue: String,
    ready: u64,
    leased: u64,
    oldest: String,
    breaches: u64,
    dead_letters: u64,
}

impl QueueRow {
    fn of(stats: &QueueStats) -> Self {
        Self {
            queue: stats.queue.clone(),
            ready: stats.ready,
            leased: stats.leased,
            oldest: stats
                .oldest_ready_age_ms
                .map_or_else(|| "–".to_owned(), span),
            breaches: stats.sla_breaches,
            dead_letters: stats.dead_letters,
        }
    }
}

struct DeadLetterRow {
    ticket_id: u64,
    queue: String,
    reason: String,
    dead_at: String,
    deliveries: u32,
    text: String,
}

struct RatingRow {
    queue: String,
    count: u64,
    mean_csat: String,
    satisfied: String,
    mean_ces: String,
}

/// The dashboard.
pub async fn dashboard(State(state): State<Arc<WebState>>, Session(session): Session) -> Response {
    let caller = &session.caller;
    if caller.role != Role::Admin {
        return refused(StatusCode::FORBIDDEN, "The lead's dashboard is for admins.");
    }
    let helpdesk = &state.helpdesk;
    let queues = match helpdesk.all_queue_stats().await {
        Ok(queues) => queues,
        Err(error) => return helpdesk_refused(&error),
    };
    let mut dead_letters = Vec::new();
    for stats in queues.iter().filter(|stats| stats.dead_letters > 0) {
        match helpdesk.dead_letters(caller, &stats.queue).await {
            Ok(letters) => dead_letters.extend(letters.into_iter().map(dead_letter_row)),
            Err(error) => return helpdesk_refused(&error),
        }
    }
    let ratings = match helpdesk.feedback_summary(caller).await {
        Ok(summary) => summary
            .by_queue
            .into_iter()
            .map(|row| RatingRow {
                queue: row.key,
                count: row.count,
                mean_csat: format!("{:.2}", row.mean_csat),
                satisfied: format!("{:.0}%", row.satisfied_share * 100.0),
                mean_ces: row
                    .mean_ces
                    .map_or_else(|| "–".to_owned(), |ces| format!("{ces:.2}")),
            })
            .collect(),
        Err(error) => return helpdesk_refused(&error),
    };
    let largest = queues
        .iter()
        .map(|stats| stats.ready.max(stats.leased))
        .max()
        .unwrap_or(0)
        .max(1);
    let bars: Vec<Bar> = queues
        .iter()
        .enumerate()
        .map(|(index, stats)| Bar {
            queue: stats.queue.clone(),
            y: index * 40,
            ready: stats.ready,
            ready_width: stats.ready * BAR_SPAN / largest,
            leased: stats.leased,
            leased_width: stats.leased * BAR_SPAN / largest,
        })
        .collect();
    let page = LeadPage {
        chrome: Chrome::signed_in(
            "Lead dashboard",
            &session,
            Some("/console/events".to_owned()),
        ),
        chart_height: bars.len() * 40,
        bars,
        queues: queues.iter().map(QueueRow::of).collect(),
        dead_letters,
        ratings,
    };
    render(StatusCode::OK, &page)
}

fn dead_letter_row(letter: DeadLetterView) -> DeadLetterRow {
    DeadLetterRow {
        ticket_id: letter.ticket_id,
        queue: letter.queue,
        reason: letter.reason,
        dead_at: instant(letter.dead_ms),
        deliveries: letter.deliveries,
        text: letter.inquiry.text(),
    }
}

/// Redrives (back to its queue, ready) or discards a dead letter, saying why.
pub async fn dead_letter(
    State(state): State<Arc<WebState>>,
    Path((ticket_id, action)): Path<(u64, String)>,
    posted: Posted,
) -> Response {
    let caller = &posted.session.caller;
    let reason = posted.field("reason");
    let done = match action.as_str() {
        "redrive" => {
            state
                .helpdesk
                .redrive(caller, ticket_id, None, reason)
                .await
        }
        "discard" => state.helpdesk.discard(caller, ticket_id, reason).await,
        _ => return refused(StatusCode::NOT_FOUND, "There is no such action."),
    };
    match done {
        Ok(_) => Redirect::to("/console/lead").into_response(),
        Err(error) => helpdesk_refused(&error),
    }
}
