//! One mail's way through the worker: read into an inquiry (or set aside as a machine's
//! mail), and the server's answer to it turned into what becomes of the mail (answered with a
//! reply, routed with a ticket, quarantined with a reason, or tried again).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;
use tonic::{Code, Status};

use super::journal::{MailOutcome, MailRecord};
use super::mailbox::RawMail;
use super::parse::{ParseError, ParsedMail, parse_mail_to, raw_id};
use super::reply::{reply_eml, reply_file_name};
use super::sink::Handled;
use crate::proto::v1 as pb;
use crate::proto::v1::submit_stream_response::Result as StreamResult;

/// How often an inquiry the server failed on internally is tried before it is quarantined
/// (a server that is down or overloaded is waited for without limit).
const MAX_INTERNAL_RETRIES: u32 = 5;

/// A mail ready to be submitted. It names no client: the server maps the sender's address to
/// one (and hands a sender of no client to a person).
pub struct Pending {
    pub raw: RawMail,
    pub mail: ParsedMail,
    internal_failures: u32,
}

/// What becomes of a mail after the server's response.
pub enum Verdict {
    Handled(Box<Handled>),
    Retry(Box<Pending>, Status),
    /// The worker may not submit at all (no valid token): stop.
    Fatal(Status),
}

/// The inquiry id of raw mail bytes sent to `helpdesk`, and the mail, or why they are no
/// inquiry.
pub fn read_mail(bytes: &[u8], helpdesk: &str) -> (String, Result<ParsedMail, ParseError>) {
    match parse_mail_to(bytes, helpdesk) {
        Ok(mail) => (mail.inquiry_id.clone(), Ok(mail)),
        Err(error) => (raw_id(bytes), Err(error)),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix milliseconds as a proto timestamp (before 1970 counts as 1970).
fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// Unix milliseconds of a proto timestamp, if it is a valid one after 1970.
fn unix_ms(timestamp: &Timestamp) -> Option<i64> {
    let time = SystemTime::try_from(*timestamp).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64)
}

/// The journal record of a mail with `outcome`; the caller fills in the rest.
fn record_of(
    raw: &RawMail,
    inquiry_id: String,
    mail: Option<&ParsedMail>,
    client_id: Option<String>,
    outcome: MailOutcome,
) -> MailRecord {
    MailRecord {
        source: raw.origin.describe(),
        message_id: mail.and_then(|mail| mail.message_id.clone()),
        inquiry_id,
        sender: mail.map(|mail| mail.sender.clone()),
        client_id,
        outcome,
        queue: None,
        ticket_id: None,
        reason: None,
        reply: None,
        thread_id: mail.and_then(|mail| mail.thread_id.clone()),
        attachments: mail
            .map(|mail| mail.attachments.clone())
            .unwrap_or_default(),
        truncated: mail.is_some_and(|mail| mail.truncated),
        replayed: false,
        handled_ms: now_ms(),
        kind: mail.map(|mail| mail.sorting.kind).unwrap_or_default(),
        bounce: mail.and_then(|mail| mail.sorting.bounce.clone()),
    }
}

/// A mail a machine sent, journaled with its kind and the evidence, never submitted.
pub fn automatic(raw: RawMail, mail: &ParsedMail) -> Handled {
    let mut reason = mail.sorting.evidence.join("; ");
    if let Some(bounce) = &mail.sorting.bounce {
        reason.push_str(&format!("; failed: {}", bounce.describe()));
    }
    tracing::info!(
        source = %raw.origin.describe(),
        inquiry_id = %mail.inquiry_id,
        kind = ?mail.sorting.kind,
        %reason,
        "not submitting a machine's mail"
    );
    let mut record = record_of(
        &raw,
        mail.inquiry_id.clone(),
        Some(mail),
        None,
        MailOutcome::Automatic,
    );
    record.reason = Some(reason);
    Handled {
        origin: raw.origin,
        bytes: raw.bytes,
        record,
        reply: None,
    }
}

/// A mail for the quarantine, with the reason.
pub fn quarantined(
    raw: RawMail,
    inquiry_id: String,
    mail: Option<&ParsedMail>,
    reason: String,
) -> Handled {
    tracing::warn!(source = %raw.origin.describe(), %reason, "quarantining a mail");
    let mut record = record_of(&raw, inquiry_id, mail, None, MailOutcome::Quarantined);
    record.reason = Some(reason);
    Handled {
        origin: raw.origin,
        bytes: raw.bytes,
        record,
        reply: None,
    }
}

impl Pending {
    pub fn new(raw: RawMail, mail: ParsedMail) -> Self {
        if mail.truncated {
            tracing::warn!(inquiry_id = %mail.inquiry_id, "mail text truncated to the server's limit");
        }
        for damage in &mail.damage {
            tracing::warn!(inquiry_id = %mail.inquiry_id, %damage, "a damaged part is left out of the mail's text");
        }
        Self {
            raw,
            mail,
            internal_failures: 0,
        }
    }

    /// The SubmitStream request of the mail, named by its sender.
    pub fn request(&self) -> pb::SubmitRequest {
        let mail = &self.mail;
        pb::SubmitRequest {
            inquiry: Some(pb::Inquiry {
                inquiry_id: mail.inquiry_id.clone(),
                // None: the server names the client by the sender.
                client_id: String::new(),
                channel: pb::Channel::Email.into(),
                subject: mail.subject.clone(),
                body: mail.body.clone(),
                received_at: self.raw.received_ms.map(timestamp),
                in_reply_to: mail.thread_id.clone().unwrap_or_default(),
                sender: mail.sender.clone(),
            }),
        }
    }

    fn into_quarantined(self, reason: String) -> Handled {
        let inquiry_id = self.mail.inquiry_id.clone();
        quarantined(self.raw, inquiry_id, Some(&self.mail), reason)
    }
}

/// What to do with `pending` after the server's `result`; `from_address` signs replies.
pub fn handle_response(
    mut pending: Pending,
    result: Option<StreamResult>,
    from_address: &str,
) -> Verdict {
    let response = match result {
        Some(StreamResult::Response(response)) => response,
        Some(StreamResult::Error(error)) => {
            let status = Status::new(Code::from_i32(error.code), error.message);
            return match status.code() {
                Code::Unauthenticated => Verdict::Fatal(status),
                // The token's role was checked when the stream opened: this is about the
                // client (a token for some clients only), so it concerns this mail alone.
                Code::PermissionDenied
                | Code::InvalidArgument
                | Code::NotFound
                | Code::AlreadyExists
                | Code::FailedPrecondition
                | Code::OutOfRange => Verdict::Handled(Box::new(
                    pending
                        .into_quarantined(format!("refused by the server: {}", status.message())),
                )),
                Code::Internal | Code::Unknown | Code::DataLoss
                    if pending.internal_failures + 1 >= MAX_INTERNAL_RETRIES =>
                {
                    Verdict::Handled(Box::new(pending.into_quarantined(format!(
                        "the server failed on it {MAX_INTERNAL_RETRIES} times: {}",
                        status.message()
                    ))))
                }
                Code::Internal | Code::Unknown | Code::DataLoss => {
                    pending.internal_failures += 1;
                    Verdict::Retry(Box::new(pending), status)
                }
                _ => Verdict::Retry(Box::new(pending), status),
            };
        }
        None => return Verdict::Retry(Box::new(pending), Status::unknown("an empty response")),
    };
    let Some(decision) = response.decision else {
        return Verdict::Handled(Box::new(
            pending.into_quarantined("the server sent no decision".to_owned()),
        ));
    };
    let decided_ms = decision
        .decided_at
        .as_ref()
        .and_then(unix_ms)
        .unwrap_or_else(now_ms);
    let inquiry_id = pending.mail.inquiry_id.clone();
    let client_id = Some(decision.client_id).filter(|id| !id.is_empty());
    let mut record = record_of(
        &pending.raw,
        inquiry_id.clone(),
        Some(&pending.mail),
        client_id,
        MailOutcome::Routed,
    );
    record.replayed = response.replayed;
    let reply = match decision.outcome {
        Some(pb::decision::Outcome::Answer(answer)) => {
            match reply_eml(&pending.mail, &answer.text, from_address, decided_ms) {
                Ok(eml) => {
                    record.outcome = MailOutcome::Answered;
                    record.reply = Some(reply_file_name(&inquiry_id));
                    Some(eml)
                }
                Err(error) => {
                    return Verdict::Handled(Box::new(
                        pending.into_quarantined(format!("cannot build the reply: {error}")),
                    ));
                }
            }
        }
        Some(pb::decision::Outcome::Ticket(ticket)) => {
            record.queue = Some(ticket.queue);
            record.ticket_id = Some(ticket.ticket_id);
            record.reason = Some(decision.escalation_reason).filter(|r| !r.is_empty());
            None
        }
        Some(pb::decision::Outcome::NoReply(no_reply)) => {
            record.outcome = MailOutcome::NoReply;
            record.reason = Some(no_reply.reason);
            None
        }
        None => {
            return Verdict::Handled(Box::new(
                pending.into_quarantined("the server's decision has no outcome".to_owned()),
            ));
        }
    };
    Verdict::Handled(Box::new(Handled {
        origin: pending.raw.origin,
        bytes: pending.raw.bytes,
        record,
        reply,
    }))
}
