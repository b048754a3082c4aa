//! One mail's way through the worker: read into an inquiry (or set aside as a machine's
//! mail), and the server's answer to it turned into what becomes of the mail (answered with a
//! reply, routed with a ticket and acknowledged, quarantined with a reason, handed to a person
//! when the reply guard holds its answer, or tried again).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;
use sha2::{Digest, Sha256};
use tonic::{Code, Status};

use super::guard::{Hold, ReplyGuard, reply_digest};
use super::journal::{MailOutcome, MailRecord, Submission};
use super::mailbox::{Origin, RawMail};
use super::parse::{MAX_TEXT_BYTES, ParseError, ParsedMail, parse_mail_to, raw_id};
use super::rating::{Ask, MailRating};
use super::reply::{reply_eml, reply_file_name, reply_message_id};
use super::sink::Handled;
use crate::grpc::convert::inquiry_from_proto;
use crate::helpdesk::validate_inquiry;
use crate::proto::v1 as pb;
use crate::proto::v1::submit_stream_response::Result as StreamResult;
use crate::text::quoted;

/// How often an inquiry the server failed on internally is tried before it is quarantined
/// (a server that is down or overloaded is waited for without limit).
const MAX_INTERNAL_RETRIES: u32 = 5;

/// The most attachment names an inquiry carries, and the longest name, in bytes.
const MAX_ATTACHMENTS: usize = 100;
const MAX_ATTACHMENT_NAME_BYTES: usize = 255;

/// A mail ready to be submitted, parsed (its raw bytes are not kept, but for an mbox entry).
/// It names no client: the server maps the sender's address to one (and hands a sender of no
/// client to a person).
pub struct Pending {
    pub origin: Origin,
    received_ms: Option<i64>,
    mbox_bytes: Option<Vec<u8>>,
    pub mail: ParsedMail,
    internal_failures: u32,
    /// How often this spool submitted the mail, a submission journaled by an earlier run
    /// included: a replayed answer to the first of them was decided for another spool.
    submissions: u32,
    /// Set when the reply guard held the mail's answer: the mail is submitted again under
    /// [`handoff_id`], for a person to answer.
    handoff: Option<Hold>,
    /// The outbox holds a reply to the mail, written by a run killed before it journaled the
    /// mail: the reply may have been sent, so it stands whatever the guard would say now.
    reply_written: bool,
}

/// What becomes of a mail after the server's response.
pub enum Verdict {
    Handled(Box<Handled>),
    Retry(Box<Pending>, Status),
    /// The reply guard held the answer: submit the mail again, for a person.
    HandOff(Box<Pending>),
    /// The worker may not submit at all (no valid token): stop.
    Fatal(Status),
}

/// The inquiry id a mail handed to a person is submitted under: derived from its own, so a
/// retry or a restart submits the same one and the server makes one ticket.
pub fn handoff_id(inquiry_id: &str) -> String {
    digest_id("handoff-", inquiry_id)
}

/// The inquiry id of a mail reusing `inquiry_id` (another sender's, or other content): derived
/// from the id and the mail's `fingerprint`, so that a restart derives the same one and each
/// such mail is an inquiry of its own.
pub fn reused_id(inquiry_id: &str, fingerprint: &str) -> String {
    digest_id("reused-", &format!("{inquiry_id}\n{fingerprint}"))
}

/// The journal key of a copy of the mail `inquiry_id` read from `source`: one per copy.
fn copy_id(inquiry_id: &str, source: &str) -> String {
    digest_id("copy-", &format!("{inquiry_id}\n{source}"))
}

/// `prefix` and 128 bits of the SHA-256 of `text`, in hex: an id within the server's limits.
fn digest_id(prefix: &str, text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// The inquiry id of raw mail bytes sent to `helpdesk`, and the mail, or why they are no
/// inquiry.
pub fn read_mail(bytes: &[u8], helpdesk: &str) -> (String, Result<ParsedMail, ParseError>) {
    match parse_mail_to(bytes, helpdesk) {
        Ok(mail) => (mail.inquiry_id.clone(), Ok(mail)),
        Err(error) => (raw_id(bytes), Err(error)),
    }
}

/// The worker's clock, in Unix milliseconds.
pub fn now_ms() -> i64 {
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
    origin: &Origin,
    inquiry_id: String,
    mail: Option<&ParsedMail>,
    client_id: Option<String>,
    outcome: MailOutcome,
) -> MailRecord {
    MailRecord {
        source: origin.describe(),
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
        reply_digest: None,
        held: None,
        submitted_as: None,
        fingerprint: mail.map(|mail| mail.fingerprint.clone()),
        duplicate_of: None,
    }
}

/// A copy of the mail `original` (its sender, its content, from another file), journaled as
/// such under a key of its own, never submitted.
pub fn duplicate(raw: RawMail, mail: &ParsedMail, original: &str) -> Handled {
    tracing::info!(source = %raw.origin.describe(), inquiry_id = %original, "a copy of a mail handled before");
    let key = copy_id(original, &raw.origin.describe());
    let reason = format!("a copy of {original}: not submitted again");
    let mut handled = journaled(raw, key, mail, MailOutcome::Duplicate, reason);
    handled.record.duplicate_of = Some(original.to_owned());
    handled
}

/// A mail settled without the server: journaled under `key` with `outcome` and `reason`,
/// nothing sent, moved to `cur/`.
fn journaled(
    raw: RawMail,
    key: String,
    mail: &ParsedMail,
    outcome: MailOutcome,
    reason: String,
) -> Handled {
    let mut record = record_of(&raw.origin, key, Some(mail), None, outcome);
    record.reason = Some(reason);
    Handled {
        origin: raw.origin,
        mbox_bytes: None,
        record,
        reply: None,
        ask: None,
    }
}

/// A client's reply rating an answer, journaled as such, never submitted: the rating itself
/// is kept in the ratings ledger.
pub fn rated(raw: RawMail, mail: &ParsedMail, rating: &MailRating) -> Handled {
    tracing::info!(source = %raw.origin.describe(), inquiry_id = %rating.inquiry_id, csat = rating.csat, "a rating by mail");
    let reason = format!(
        "a rating of {} for the answer to {}",
        rating.csat,
        quoted(&rating.inquiry_id)
    );
    journaled(
        raw,
        mail.inquiry_id.clone(),
        mail,
        MailOutcome::Rated,
        reason,
    )
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
    journaled(
        raw,
        mail.inquiry_id.clone(),
        mail,
        MailOutcome::Automatic,
        reason,
    )
}

/// The raw bytes of a mail worth keeping for the quarantine: an mbox entry's only.
fn kept_for_quarantine(raw: RawMail) -> (Origin, Option<Vec<u8>>) {
    let bytes = (!raw.origin.has_own_file()).then_some(raw.bytes);
    (raw.origin, bytes)
}

/// A mail for the quarantine, with the reason.
pub fn quarantined(
    origin: Origin,
    mbox_bytes: Option<Vec<u8>>,
    inquiry_id: String,
    mail: Option<&ParsedMail>,
    reason: String,
) -> Handled {
    tracing::warn!(source = %origin.describe(), %reason, "quarantining a mail");
    let mut record = record_of(&origin, inquiry_id, mail, None, MailOutcome::Quarantined);
    record.reason = Some(reason);
    Handled {
        origin,
        mbox_bytes,
        record,
        reply: None,
        ask: None,
    }
}

/// A mail that cannot be an inquiry, for the quarantine.
pub fn unreadable(raw: RawMail, inquiry_id: String, reason: String) -> Handled {
    let (origin, mbox_bytes) = kept_for_quarantine(raw);
    quarantined(origin, mbox_bytes, inquiry_id, None, reason)
}

/// Attachment names as the server takes them: at most [`MAX_ATTACHMENTS`], each cut to
/// [`MAX_ATTACHMENT_NAME_BYTES`] and without control characters ("unnamed" when nothing is
/// left).
fn attachment_names(names: &[String]) -> Vec<String> {
    names
        .iter()
        .take(MAX_ATTACHMENTS)
        .map(|name| {
            let clean: String = name.chars().filter(|c| !c.is_control()).collect();
            let kept = crate::text::truncated(&clean, MAX_ATTACHMENT_NAME_BYTES);
            if kept.is_empty() { "unnamed" } else { kept }.to_owned()
        })
        .collect()
}

impl Pending {
    /// A parsed mail; `earlier` is the journal's submission of it by an earlier run.
    pub fn new(raw: RawMail, mail: ParsedMail, earlier: Option<&Submission>) -> Self {
        if mail.truncated {
            tracing::warn!(inquiry_id = %mail.inquiry_id, "mail text truncated to the server's limit");
        }
        for damage in &mail.damage {
            tracing::warn!(inquiry_id = %mail.inquiry_id, %damage, "a damaged part is left out of the mail's text");
        }
        let received_ms = raw.received_ms;
        let (origin, mbox_bytes) = kept_for_quarantine(raw);
        Self {
            origin,
            received_ms,
            mbox_bytes,
            mail,
            internal_failures: 0,
            submissions: u32::from(earlier.is_some()),
            handoff: earlier.and_then(|submission| submission.handoff.clone()),
            reply_written: false,
        }
    }

    /// Notes that the outbox holds a reply to the mail already.
    pub fn mark_reply_written(&mut self) {
        self.reply_written = true;
    }

    /// The id the mail is submitted under: its own, or the hand-off's.
    pub fn submitted_id(&self) -> String {
        match self.handoff {
            Some(_) => handoff_id(&self.mail.inquiry_id),
            None => self.mail.inquiry_id.clone(),
        }
    }

    /// What the journal must hold before the mail is sent, if it does not hold it yet
    /// (`journaled`): a first submission, or a hand-off.
    pub fn submission(&self, journaled: Option<&Submission>) -> Option<Submission> {
        let submission = Submission {
            submitted: self.mail.inquiry_id.clone(),
            handoff: self.handoff.clone(),
        };
        (journaled != Some(&submission)).then_some(submission)
    }

    /// The raw mail, kept only for an mbox entry.
    pub fn mbox_bytes(&self) -> Option<&[u8]> {
        self.mbox_bytes.as_deref()
    }

    /// Counts a submission about to be sent.
    pub fn count_submission(&mut self) {
        self.submissions += 1;
    }

    /// The SubmitStream request of the mail, named by its sender.
    pub fn request(&self) -> pb::SubmitRequest {
        let mail = &self.mail;
        pb::SubmitRequest {
            inquiry: Some(pb::Inquiry {
                inquiry_id: self.submitted_id(),
                // None: the server names the client by the sender.
                client_id: String::new(),
                channel: pb::Channel::Email.into(),
                subject: mail.subject.clone(),
                body: mail.body.clone(),
                received_at: self.received_ms.map(timestamp),
                in_reply_to: mail.thread_id.clone().unwrap_or_default(),
                sender: mail.sender.clone(),
                attachments: attachment_names(&mail.attachments),
                handoff_reason: self
                    .handoff
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            }),
        }
    }

    /// Why the server would refuse the mail's request, by the server's own rules (its field
    /// limits), checked before it is sent: a field over a limit (a sender address of a
    /// megabyte) is this mail's fault, and sent anyway it could break the stream that the
    /// other mails in flight share. `None` when the request is one the server takes.
    pub fn unsendable(&self) -> Option<String> {
        let request = self.request().inquiry;
        let checked = inquiry_from_proto(request, now_ms())
            .map_err(|error| error.to_string())
            .and_then(|inquiry| {
                validate_inquiry(&inquiry, MAX_TEXT_BYTES).map_err(|error| error.to_string())
            });
        checked
            .err()
            .map(|error| format!("not sent, the server would refuse it: {error}"))
    }

    /// The thread the mail belongs to, for the reply guard: its first reference, else itself.
    fn thread(&self) -> &str {
        self.mail
            .thread_id
            .as_deref()
            .unwrap_or(&self.mail.inquiry_id)
    }

    /// The mail for the quarantine, with `reason`.
    pub fn into_quarantined(self, reason: String) -> Handled {
        let inquiry_id = self.mail.inquiry_id.clone();
        quarantined(
            self.origin,
            self.mbox_bytes,
            inquiry_id,
            Some(&self.mail),
            reason,
        )
    }
}

/// The acknowledgement of `pending`, a mail a person will answer, saying `text`: threaded like
/// an answer, and sent only when its thread had none and the reply guard admits it (a held one
/// is not sent: the ticket stands). A reply the outbox holds from a killed run stands as it is.
fn acknowledge(
    pending: &Pending,
    record: &mut MailRecord,
    text: &str,
    from_address: &str,
    guard: &mut ReplyGuard,
    decided_ms: i64,
) -> Option<Vec<u8>> {
    let (sender, thread) = (&pending.mail.sender, pending.thread());
    if guard.acknowledged(thread) && !pending.reply_written {
        return None;
    }
    let digest = reply_digest(text);
    if pending.reply_written {
        guard.count_sent(sender, thread, &digest, record.handled_ms);
    } else if let Err(hold) = guard.admit(sender, thread, &digest, record.handled_ms) {
        tracing::info!(inquiry_id = %record.inquiry_id, %sender, %hold, "acknowledgement not sent");
        return None;
    }
    guard.remember_acknowledgement(thread);
    record.reply = Some(reply_file_name(&record.inquiry_id));
    record.reply_digest = Some(digest);
    if pending.reply_written {
        return None;
    }
    match reply_eml(&pending.mail, text, from_address, decided_ms) {
        Ok(eml) => Some(eml),
        Err(error) => {
            tracing::warn!(inquiry_id = %record.inquiry_id, %error, "acknowledgement not built");
            record.reply = None;
            record.reply_digest = None;
            None
        }
    }
}

/// What to do with `pending` after the server's `result`: `from_address` signs replies, and
/// `guard` admits each automatic one.
pub fn handle_response(
    mut pending: Pending,
    result: Option<StreamResult>,
    from_address: &str,
    guard: &mut ReplyGuard,
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
        &pending.origin,
        inquiry_id.clone(),
        Some(&pending.mail),
        client_id,
        MailOutcome::Routed,
    );
    record.replayed = response.replayed;
    if let Some(hold) = pending.handoff.take() {
        return match decision.outcome {
            Some(pb::decision::Outcome::Ticket(ticket)) => {
                record.queue = Some(ticket.queue);
                record.ticket_id = Some(ticket.ticket_id);
                record.reason = Some(decision.escalation_reason).filter(|r| !r.is_empty());
                record.held = Some(hold);
                record.submitted_as = Some(handoff_id(&inquiry_id));
                Verdict::Handled(Box::new(Handled {
                    origin: pending.origin,
                    mbox_bytes: pending.mbox_bytes,
                    record,
                    reply: None,
                    ask: None,
                }))
            }
            _ => Verdict::Handled(Box::new(pending.into_quarantined(format!(
                "its automatic reply was held ({hold}), and the server made no ticket of it"
            )))),
        };
    }
    let reply = match decision.outcome {
        // The first submission of this spool, answered before: for another spool.
        Some(pb::decision::Outcome::Answer(_)) if response.replayed && pending.submissions <= 1 => {
            record.outcome = MailOutcome::AnsweredBefore;
            record.reason = Some("answered before for another spool: not sent again".to_owned());
            None
        }
        Some(pb::decision::Outcome::Answer(answer)) => {
            let digest = reply_digest(&answer.text);
            let (sender, thread) = (&pending.mail.sender, pending.thread());
            // The record's time: what the guard remembers after a restart.
            let at_ms = record.handled_ms;
            let admitted = if pending.reply_written {
                guard.count_sent(sender, thread, &digest, at_ms);
                Ok(())
            } else {
                guard.admit(sender, thread, &digest, at_ms)
            };
            if let Err(hold) = admitted {
                tracing::warn!(inquiry_id = %inquiry_id, sender = %pending.mail.sender, %hold, "automatic reply held; handing the mail to a person");
                pending.handoff = Some(hold);
                return Verdict::HandOff(Box::new(pending));
            }
            match reply_eml(&pending.mail, &answer.text, from_address, decided_ms) {
                Ok(eml) => {
                    record.outcome = MailOutcome::Answered;
                    record.reply = Some(reply_file_name(&inquiry_id));
                    record.reply_digest = Some(digest);
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
            // A follow-up joins a thread told before; a decision made for another spool was
            // acknowledged from there.
            let told_elsewhere = response.replayed && pending.submissions <= 1;
            let text = response.acknowledgement.map(|ack| ack.text);
            match text.filter(|text| !ticket.attached && !told_elsewhere && !text.is_empty()) {
                Some(text) => acknowledge(
                    &pending,
                    &mut record,
                    &text,
                    from_address,
                    guard,
                    decided_ms,
                ),
                None => None,
            }
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
    // An answer sent is followed by an ask for its rating.
    let ask = (record.outcome == MailOutcome::Answered).then(|| Ask {
        inquiry_id: inquiry_id.clone(),
        recipient: pending.mail.sender.clone(),
        subject: pending.mail.subject.clone(),
        answer_message_id: reply_message_id(&inquiry_id, from_address),
        references: pending.mail.references.clone(),
        answered_ms: record.handled_ms,
    });
    Verdict::Handled(Box::new(Handled {
        origin: pending.origin,
        mbox_bytes: pending.mbox_bytes,
        record,
        reply,
        ask,
    }))
}
