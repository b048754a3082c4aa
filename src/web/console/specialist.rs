//! The specialist's screens: my queues (counts, the next ticket's priority and SLA countdown,
//! claim next) and the ticket (its thread, the client, the decision with its explanation, who
//! else is viewing it, the lease as the soft lock it is), with the actions on a held ticket:
//! reply and resolve (or resolve without a reply, saying why), release, reroute, extend.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::format::{countdown, instant, label, span};
use super::pages::{Chrome, render};
use super::session::SignedIn;
use super::{Posted, Session, helpdesk_refused};
use crate::answer::Client;
use crate::helpdesk::{ClaimedTicket, Closing, HeldTicket, NoReplyReason, QueueReport};
use crate::intake::{Disposition, Inquiry};
use crate::web::WebState;

#[derive(Template)]
#[template(path = "console/queues.html")]
struct QueuesPage {
    chrome: Chrome,
    notice: Option<String>,
    rows: Vec<QueueRow>,
    /// The queue whose next ticket is the most urgent of all: the `c` shortcut claims there.
    most_urgent: Option<String>,
    /// The tickets of these queues someone has open now.
    viewed: Vec<ViewedTicket>,
}

/// A ticket of one of the specialist's queues that someone has open, and who.
struct ViewedTicket {
    ticket_id: u64,
    queue: String,
    /// The viewers' names ("you" for the specialist's own), joined.
    viewers: String,
    /// The lease's holder, when it is held.
    holder: Option<String>,
}

/// One queue as the specialist's list shows it.
struct QueueRow {
    name: String,
    description: String,
    ready: u64,
    leased: u64,
    oldest: String,
    breaches: u64,
    /// The next ticket's priority and SLA countdown, when one is ready.
    next: Option<(u8, i64, String)>,
}

impl QueueRow {
    fn of(report: QueueReport, now_ms: i64) -> Self {
        let stats = report.stats;
        Self {
            name: stats.queue,
            description: report.description,
            ready: stats.ready,
            leased: stats.leased,
            oldest: stats
                .oldest_ready_age_ms
                .map_or_else(|| "–".to_owned(), span),
            breaches: stats.sla_breaches,
            next: stats.next_ready.map(|next| {
                (
                    next.priority,
                    next.sla_due_ms,
                    countdown(next.sla_due_ms, now_ms),
                )
            }),
        }
    }
}

/// My queues.
pub async fn queues(State(state): State<Arc<WebState>>, Session(session): Session) -> Response {
    queues_page(&state, &session, None).await
}

async fn queues_page(state: &WebState, session: &SignedIn, notice: Option<String>) -> Response {
    let reports = match state.helpdesk.queue_reports(&session.caller).await {
        Ok(reports) => reports,
        Err(error) => return helpdesk_refused(&error),
    };
    let now_ms = state.helpdesk.now_ms();
    let most_urgent = reports
        .iter()
        .filter_map(|report| Some((report.stats.next_ready?, &report.stats.queue)))
        .min()
        .map(|(_, queue)| queue.clone());
    let page = QueuesPage {
        chrome: Chrome::signed_in("My queues", session, Some("/console/events".to_owned())),
        notice,
        rows: reports
            .into_iter()
            .map(|r| QueueRow::of(r, now_ms))
            .collect(),
        most_urgent,
        viewed: viewed_tickets(state, session).await,
    };
    render(StatusCode::OK, &page)
}

/// The tickets of the session's queues someone views now. A ticket the caller may not see,
/// or no longer open, is left out.
async fn viewed_tickets(state: &WebState, session: &SignedIn) -> Vec<ViewedTicket> {
    let own = session.caller.name.as_str();
    let now_ms = state.helpdesk.now_ms();
    let mut viewed = Vec::new();
    for (ticket_id, names) in state.console.viewed_tickets() {
        let ticket = match state.helpdesk.open_ticket(&session.caller, ticket_id).await {
            Ok(ticket) => ticket,
            Err(error) => {
                tracing::debug!(ticket_id, %error, "a viewed ticket left out of the queue list");
                continue;
            }
        };
        let viewers = names
            .iter()
            .map(|name| if name == own { "you" } else { name.as_str() })
            .collect::<Vec<_>>()
            .join(", ");
        viewed.push(ViewedTicket {
            ticket_id,
            queue: ticket.queue,
            viewers,
            holder: ticket
                .lease
                .filter(|lease| lease.expires_ms > now_ms)
                .map(|lease| lease.holder),
        });
    }
    viewed
}

/// Claims the next ticket of a queue and opens it; the queue list says so when none is ready.
pub async fn claim(
    State(state): State<Arc<WebState>>,
    Path(queue): Path<String>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    match state.helpdesk.claim(&session.caller, &queue, None).await {
        Ok(Some(ticket)) => {
            if let Some(lease) = &ticket.lease {
                state.console.hold(
                    &session.id,
                    HeldTicket {
                        ticket_id: ticket.ticket_id,
                        lease_token: lease.token,
                    },
                );
            }
            Redirect::to(&format!("/console/tickets/{}", ticket.ticket_id)).into_response()
        }
        Ok(None) => {
            queues_page(
                &state,
                session,
                Some(format!("No ticket is ready on {queue}.")),
            )
            .await
        }
        Err(error) => helpdesk_refused(&error),
    }
}

#[derive(Template)]
#[template(path = "console/ticket.html")]
struct TicketPage {
    chrome: Chrome,
    ticket_id: u64,
    queue: String,
    priority: u8,
    sla_due_ms: i64,
    sla: String,
    /// The lease as the soft lock it is, in words.
    lock: String,
    /// Whether this session holds the lease (and so may act).
    held: bool,
    /// Changes when the ticket changes under its viewer (a follow-up, a reroute, a new holder).
    version: String,
    others_viewing: Vec<String>,
    thread: Vec<Message>,
    client: Option<ClientView>,
    decision: Option<DecisionView>,
    /// The queues it can be rerouted to.
    other_queues: Vec<String>,
    /// The queue's canned replies: code and text.
    canned: Vec<(String, String)>,
}

/// One message of the thread.
struct Message {
    heading: String,
    subject: String,
    body: String,
    attachments: Vec<String>,
}

struct ClientView {
    id: String,
    name: String,
    tier: &'static str,
    account_manager: String,
    /// Client-level facts other than the account manager.
    fields: Vec<(String, String)>,
    /// Its records (projects, orders, …): the status facts an answer would use.
    records: Vec<(String, String, String)>,
}

struct DecisionView {
    intent: String,
    tier: String,
    confidence: String,
    margin: String,
    against: Option<String>,
    terms: Vec<(String, String, bool)>,
    nearest: Vec<(String, String, String)>,
    alternatives: Vec<String>,
    /// Why a person answers where the model would not have sent it, in words.
    escalation: Option<String>,
    /// The answers prepared from the client's data for the inquiry's direct questions.
    prepared: Vec<PreparedAnswer>,
}

/// An answer prepared for the specialist, with the variant it is written in.
struct PreparedAnswer {
    text: String,
    /// The template's variant (language and wording) and why, when the record keeps it.
    variant: Option<String>,
}

/// A ticket of one of my queues.
pub async fn ticket(
    State(state): State<Arc<WebState>>,
    Path(ticket_id): Path<u64>,
    Session(session): Session,
) -> Response {
    let helpdesk = &state.helpdesk;
    let ticket = match helpdesk.open_ticket(&session.caller, ticket_id).await {
        Ok(ticket) => ticket,
        Err(error) => return helpdesk_refused(&error),
    };
    let client = match helpdesk.ticket_client(&session.caller, &ticket).await {
        Ok(client) => client,
        Err(error) => return helpdesk_refused(&error),
    };
    let now_ms = helpdesk.now_ms();
    let held = state
        .console
        .held(&session.id, ticket_id)
        .is_some_and(|held| {
            ticket
                .lease
                .as_ref()
                .is_some_and(|lease| lease.token == held.lease_token && lease.expires_ms > now_ms)
        });
    let lock = match &ticket.lease {
        Some(lease) if lease.expires_ms > now_ms => {
            let whose = if held {
                "you".to_owned()
            } else {
                lease.holder.clone()
            };
            format!(
                "Held by {whose} until {} ({} left). A lease is a soft lock: when it runs out \
                 the ticket goes back to the queue for the next claim.",
                instant(lease.expires_ms),
                span(lease.expires_ms - now_ms)
            )
        }
        _ => "Not held: the next claim on its queue may take it.".to_owned(),
    };
    let version = format!(
        "{}/{}/{}",
        ticket.follow_ups.len(),
        ticket.queue,
        ticket
            .lease
            .as_ref()
            .map_or("", |lease| lease.holder.as_str())
    );
    let canned = match helpdesk.canned_replies(&session.caller, &ticket.queue) {
        Ok(canned) => canned.into_iter().map(|c| (c.code, c.text)).collect(),
        Err(error) => return helpdesk_refused(&error),
    };
    let other_queues = helpdesk
        .queue_names()
        .filter(|name| *name != ticket.queue)
        .map(str::to_owned)
        .collect();
    let page = TicketPage {
        chrome: Chrome::signed_in(
            format!("Ticket {ticket_id}"),
            &session,
            Some(format!("/console/events?ticket={ticket_id}")),
        ),
        ticket_id,
        queue: ticket.queue.clone(),
        priority: ticket.priority,
        sla_due_ms: ticket.sla_due_ms,
        sla: countdown(ticket.sla_due_ms, now_ms),
        lock,
        held,
        version,
        others_viewing: state.console.others_viewing(&session.id, ticket_id),
        thread: thread(&ticket),
        client: client.as_deref().map(client_view),
        decision: ticket.decision.as_ref().map(|decision| {
            let classification = &decision.classification;
            let explanation = &decision.explanation;
            DecisionView {
                intent: classification.intent.clone(),
                tier: classification.tier.to_string(),
                confidence: format!("{:.0}%", classification.intent_probability * 100.0),
                margin: format!("{:.2}", classification.margin),
                against: explanation.against.clone(),
                terms: explanation
                    .terms
                    .iter()
                    .map(|t| (t.term.clone(), format!("{:+.2}", t.weight), t.weight >= 0.0))
                    .collect(),
                nearest: explanation
                    .nearest
                    .iter()
                    .map(|n| {
                        (
                            n.text.clone(),
                            n.intent.clone(),
                            format!("{:.2}", n.similarity),
                        )
                    })
                    .collect(),
                alternatives: classification
                    .alternatives
                    .iter()
                    .map(|a| format!("{} ({:.0}%)", a.intent, a.probability * 100.0))
                    .collect(),
                escalation: match &decision.outcome {
                    Disposition::Queued(queued) => {
                        queued.escalation.as_ref().map(|e| e.reason.clone())
                    }
                    _ => None,
                },
                prepared: match &decision.outcome {
                    Disposition::Queued(queued) => queued
                        .prepared_answers
                        .iter()
                        .map(|answer| PreparedAnswer {
                            text: answer.text.clone(),
                            variant: answer.variant.as_ref().map(|variant| variant.reason()),
                        })
                        .collect(),
                    _ => Vec::new(),
                },
            }
        }),
        other_queues,
        canned,
    };
    render(StatusCode::OK, &page)
}

/// The inquiry and its follow-ups, oldest first.
fn thread(ticket: &ClaimedTicket) -> Vec<Message> {
    let message = |inquiry: &Inquiry, what: &str, at_ms: i64| Message {
        heading: format!(
            "{what} by {} via {}, {}",
            inquiry.sender.as_deref().unwrap_or(&inquiry.client_id),
            format!("{:?}", inquiry.channel).to_lowercase(),
            instant(at_ms)
        ),
        subject: inquiry.subject.clone(),
        body: inquiry.body.clone(),
        attachments: inquiry.attachments.clone(),
    };
    std::iter::once(message(
        &ticket.inquiry,
        "Inquiry",
        ticket.inquiry.received_ms,
    ))
    .chain(
        ticket
            .follow_ups
            .iter()
            .map(|f| message(&f.inquiry, "Follow-up", f.attached_ms)),
    )
    .collect()
}

fn client_view(client: &Client) -> ClientView {
    ClientView {
        id: client.id.clone(),
        name: client.name.clone(),
        tier: client.tier.as_str(),
        account_manager: client
            .fields
            .get("account_manager")
            .cloned()
            .unwrap_or_else(|| "–".to_owned()),
        fields: client
            .fields
            .iter()
            .filter(|(key, _)| *key != "account_manager")
            .map(|(key, value)| (label(key), value.clone()))
            .collect(),
        records: client
            .entities
            .iter()
            .map(|entity| {
                let facts = entity
                    .fields
                    .iter()
                    .map(|(key, value)| format!("{}: {value}", label(key)))
                    .collect::<Vec<_>>()
                    .join("; ");
                (entity.kind.clone(), entity.name.clone(), facts)
            })
            .collect(),
    }
}

/// An action on a ticket this session holds: `resolve`, `release`, `reroute` or `extend`.
pub async fn act(
    State(state): State<Arc<WebState>>,
    Path((ticket_id, action)): Path<(u64, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let Some(held) = state.console.held(&session.id, ticket_id) else {
        return super::pages::refused(
            StatusCode::CONFLICT,
            "You do not hold this ticket: claim it from its queue first.",
        );
    };
    let helpdesk = &state.helpdesk;
    let caller = &session.caller;
    let done = match action.as_str() {
        "resolve" => {
            let closing = match closing_of(&posted) {
                Ok(closing) => closing,
                Err(problem) => return super::pages::refused(StatusCode::BAD_REQUEST, problem),
            };
            helpdesk.resolve(caller, held, closing).await.map(drop)
        }
        "release" => helpdesk.release(caller, held, posted.field("reason")).await,
        "reroute" => {
            let to = posted.field("to_queue");
            helpdesk
                .reroute(caller, held, to, posted.field("reason"))
                .await
        }
        "extend" => {
            return match helpdesk.extend(caller, held, None).await {
                Ok(_) => Redirect::to(&format!("/console/tickets/{ticket_id}")).into_response(),
                Err(error) => helpdesk_refused(&error),
            };
        }
        _ => return super::pages::refused(StatusCode::NOT_FOUND, "There is no such action."),
    };
    match done {
        Ok(()) => {
            state.console.let_go(&session.id, ticket_id);
            Redirect::to("/console/queues").into_response()
        }
        Err(error) => helpdesk_refused(&error),
    }
}

/// The closing the resolve form asks for: the reply, or the reason there is none, and the note.
fn closing_of(posted: &Posted) -> Result<Closing, &'static str> {
    let optional = |name: &str| Some(posted.field(name).to_owned()).filter(|v| !v.is_empty());
    let no_reply = match posted.field("no_reply") {
        "" => None,
        "duplicate" => Some(NoReplyReason::Duplicate),
        "spam" => Some(NoReplyReason::Spam),
        "no_reply_needed" => Some(NoReplyReason::NoReplyNeeded),
        _ => return Err("The reason for not replying is not one of those offered."),
    };
    Ok(Closing {
        reply: if no_reply.is_some() {
            None
        } else {
            optional("reply")
        },
        no_reply,
        outcome: String::new(),
        note: optional("note"),
    })
}
