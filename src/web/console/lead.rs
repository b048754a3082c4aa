//! The team lead's dashboard (admins): every queue live (ready, being worked, oldest waiting,
//! past SLA, dead letters) with a chart, the dead letters with redrive and discard, today's
//! activity (volume by tier, intent and channel, deflection, escalation reasons, closing
//! remarks) and the clients' ratings (CSAT, CES) by queue, as charts. It follows the
//! helpdesk's changes while open.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::charts::BarChart;
use super::format::{instant, span};
use super::pages::{Chrome, refused, render};
use super::{Posted, Session, helpdesk_refused};
use crate::feedback::FeedbackSummary;
use crate::helpdesk::{Activity, Count, DeadLetterView, Role};
use crate::route::QueueStats;
use crate::web::WebState;

/// The chart's width for the largest count, in SVG units.
const BAR_SPAN: u64 = 300;

/// The most intents today's chart shows (the most asked).
const TOP_INTENTS: usize = 10;

#[derive(Template)]
#[template(path = "console/lead.html")]
struct LeadPage {
    chrome: Chrome,
    queues: Vec<QueueRow>,
    bars: Vec<Bar>,
    chart_height: usize,
    dead_letters: Vec<DeadLetterRow>,
    today: Today,
    ratings: Vec<RatingRow>,
    rating_charts: Vec<BarChart>,
}

/// Today's activity as the dashboard shows it.
struct Today {
    since: String,
    decisions: u64,
    /// The note that only the latest decisions were counted, when so.
    truncated: Option<String>,
    /// "64 %", or a dash before any inquiry needed a reply.
    deflection: String,
    answered: u64,
    needing_reply: u64,
    attached: u64,
    no_reply: u64,
    charts: Vec<BarChart>,
}

impl Today {
    fn of(activity: &Activity) -> Self {
        let counts = |counts: &[Count]| -> Vec<(String, u64)> {
            counts.iter().map(|c| (c.key.clone(), c.count)).collect()
        };
        let intents = &activity.by_intent[..activity.by_intent.len().min(TOP_INTENTS)];
        let intents_caption = if activity.by_intent.len() > TOP_INTENTS {
            format!(
                "By intent: the {TOP_INTENTS} most asked of {}",
                activity.by_intent.len()
            )
        } else {
            "By intent".to_owned()
        };
        Self {
            since: instant(activity.since_ms),
            decisions: activity.decisions,
            truncated: activity.truncated.then(|| {
                format!(
                    "Only the latest {} decisions are counted.",
                    crate::helpdesk::MAX_ACTIVITY_DECISIONS
                )
            }),
            deflection: activity
                .deflection()
                .map_or_else(|| "–".to_owned(), |share| format!("{:.0} %", share * 100.0)),
            answered: activity.answered,
            needing_reply: activity.answered + activity.queued + activity.attached,
            attached: activity.attached,
            no_reply: activity.no_reply_total(),
            charts: vec![
                BarChart::of_counts("today-tier", "By tier".into(), counts(&activity.by_tier)),
                BarChart::of_counts(
                    "today-channel",
                    "By channel".into(),
                    counts(&activity.by_channel),
                ),
                BarChart::of_counts("today-intent", intents_caption, counts(intents)),
                BarChart::of_counts(
                    "today-escalations",
                    "Escalated to a person, by reason".into(),
                    counts(&activity.escalations),
                ),
                BarChart::of_counts(
                    "today-no-reply",
                    "No reply needed, by reason".into(),
                    counts(&activity.no_reply),
                ),
            ],
        }
    }
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
        Ok(summary) => summary,
        Err(error) => return helpdesk_refused(&error),
    };
    let today = match helpdesk.activity_today(caller).await {
        Ok(activity) => Today::of(&activity),
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
            Some("/console/events?activity".to_owned()),
        ),
        chart_height: bars.len() * 40,
        bars,
        queues: queues.iter().map(QueueRow::of).collect(),
        dead_letters,
        today,
        rating_charts: rating_charts(&ratings),
        ratings: rating_rows(ratings),
    };
    render(StatusCode::OK, &page)
}

fn rating_rows(summary: FeedbackSummary) -> Vec<RatingRow> {
    summary
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
        .collect()
}

/// The mean CSAT (on its 1–5 scale) and CES (1–7) of each queue as bars.
fn rating_charts(summary: &FeedbackSummary) -> Vec<BarChart> {
    let csat = summary
        .by_queue
        .iter()
        .map(|row| {
            (
                row.key.clone(),
                row.mean_csat,
                format!("{:.2}", row.mean_csat),
            )
        })
        .collect();
    let ces = summary
        .by_queue
        .iter()
        .filter_map(|row| {
            let ces = row.mean_ces?;
            Some((row.key.clone(), ces, format!("{ces:.2}")))
        })
        .collect();
    vec![
        BarChart::of(
            "ratings-csat",
            "Mean CSAT by queue (1–5, higher is better)".into(),
            csat,
            Some(5.0),
        ),
        BarChart::of(
            "ratings-ces",
            "Mean CES by queue (1–7, higher is easier)".into(),
            ces,
            Some(7.0),
        ),
    ]
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
