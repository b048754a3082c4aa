//! `triage queue dead-letters | redrive | discard`: a queue's dead letters as a table, and
//! putting one back on a queue or removing it, each with a reason the server keeps.

use anyhow::{Context, Result};
use tonic::transport::Channel;

use super::{Connection, Moment};
use triage::proto::v1 as pb;
use triage::proto::v1::specialist_service_client::SpecialistServiceClient;

/// The most characters of a subject (or of the body, when there is no subject) a row shows.
const SUBJECT_CHARS: usize = 60;

/// Prints the dead letters of `queue`, oldest first: ticket, client, when, deliveries, reason
/// and subject.
pub(super) async fn list(
    client: &mut SpecialistServiceClient<Channel>,
    connection: &Connection,
    queue: String,
) -> Result<()> {
    let letters = client
        .list_dead_letters(connection.request(pb::ListDeadLettersRequest {
            queue: queue.clone(),
        })?)
        .await?
        .into_inner()
        .dead_letters;
    if letters.is_empty() {
        println!("queue {queue} has no dead letters");
        return Ok(());
    }
    let now = jiff::Timestamp::now();
    println!(
        "{:>8}  {:<16} {:<36} {:>10}  {:<44} subject",
        "ticket", "client", "dead-lettered", "deliveries", "reason"
    );
    for letter in letters {
        let ticket_id = letter.ticket.as_ref().map_or(0, |t| t.ticket_id);
        let inquiry = letter.inquiry.unwrap_or_default();
        let client = match inquiry.client_id.as_str() {
            "" => "-",
            id => id,
        };
        let when = match &letter.dead_at {
            Some(at) => {
                let at = Moment::of(at, now).context("the dead letter's time")?;
                format!("{} ({} ago)", at.utc, at.distance())
            }
            None => "-".to_owned(),
        };
        println!(
            "{ticket_id:>8}  {client:<16} {when:<36} {:>10}  {:<44} {}",
            letter.deliveries,
            letter.reason,
            subject(&inquiry)
        );
    }
    Ok(())
}

/// Redrives dead letter `ticket` to `to` (its own queue when `None`), saying why.
pub(super) async fn redrive(
    client: &mut SpecialistServiceClient<Channel>,
    connection: &Connection,
    ticket: u64,
    to: Option<String>,
    reason: String,
) -> Result<()> {
    let redriven = client
        .redrive_dead_letter(connection.request(pb::RedriveDeadLetterRequest {
            ticket_id: ticket,
            to_queue: to.unwrap_or_default(),
            reason,
        })?)
        .await?
        .into_inner();
    println!("ticket {ticket} is ready again on queue {}", redriven.queue);
    Ok(())
}

/// Discards dead letter `ticket`, saying why.
pub(super) async fn discard(
    client: &mut SpecialistServiceClient<Channel>,
    connection: &Connection,
    ticket: u64,
    reason: String,
) -> Result<()> {
    client
        .discard_dead_letter(connection.request(pb::DiscardDeadLetterRequest {
            ticket_id: ticket,
            reason,
        })?)
        .await?;
    println!("ticket {ticket} discarded");
    Ok(())
}

/// The inquiry's subject, or the start of its body when it has none, on one line and cut to
/// [`SUBJECT_CHARS`].
fn subject(inquiry: &pb::Inquiry) -> String {
    let text = match inquiry.subject.trim() {
        "" => inquiry.body.as_str(),
        subject => subject,
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(SUBJECT_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row shows the subject, else the body's start, on one line and cut short.
    #[test]
    fn subjects_are_one_short_line() {
        let inquiry = |subject: &str, body: &str| pb::Inquiry {
            subject: subject.into(),
            body: body.into(),
            ..pb::Inquiry::default()
        };
        assert_eq!(
            subject(&inquiry("Billing\ndispute", "x")),
            "Billing dispute"
        );
        assert_eq!(
            subject(&inquiry(" ", "why was I\tbilled twice?")),
            "why was I billed twice?"
        );
        let long = "é".repeat(SUBJECT_CHARS + 5);
        assert_eq!(
            subject(&inquiry(&long, "")),
            format!("{}…", "é".repeat(SUBJECT_CHARS))
        );
    }
}
