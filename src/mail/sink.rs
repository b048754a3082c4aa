//! Handled mails, committed in groups: permanent bounces paused in the suppression list, replies
//! written to the outbox (except to a paused address: that reply is withheld and the record
//! says why), then their records appended to the journal with the submissions of the mails
//! about to be sent, and synced, then the mails moved out of `new/`. Each step can be repeated
//! after a crash with the same result, which is what makes a restart safe: a mail still in
//! `new/` is either unknown to the journal's records (submitted again; the server replays its
//! decision, and the journal's submission says the decision is this spool's) or known (only
//! moved, as its record says).

use std::io;
use std::time::Duration;

use serde::Serialize;

use super::IngestError;
use super::handle::now_ms;
use super::journal::{Journal, MailOutcome, MailRecord, Submission};
use super::mailbox::{Origin, Spool, mark_seen};
use super::rating::Ask;
use super::reply::write_replies;
use super::suppression::SuppressionList;

/// A handled mail waiting for its group's commit.
pub struct Handled {
    pub origin: Origin,
    /// The raw mail, kept only for an mbox entry, which the quarantine cannot copy from a
    /// file of its own.
    pub mbox_bytes: Option<Vec<u8>>,
    pub record: MailRecord,
    /// The reply to put into the outbox, for an answered mail.
    pub reply: Option<Vec<u8>>,
    /// The ask for a rating of the answer, kept to be sent later.
    pub ask: Option<Ask>,
}

/// What a run did, for the log and the terminal.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Mails taken out of `new/` (or read from files) in this run.
    pub processed: u64,
    pub answered: u64,
    pub routed: u64,
    /// Routed mails whose acknowledgement went into the outbox.
    pub acknowledged: u64,
    pub quarantined: u64,
    /// Mails that need no reply (closing remarks): nothing sent, no ticket.
    pub no_reply: u64,
    /// Mails a machine sent (auto-replies, bounces, bulk): journaled, not submitted.
    pub automatic: u64,
    /// Answers not written because automatic mail to the address is paused (it bounced).
    pub withheld: u64,
    /// Copies of a mail handled before (re-delivered: one Message-ID, sender and content),
    /// each journaled as such, and mails a killed run had finished but not yet moved. They are
    /// moved, not submitted again.
    pub duplicates: u64,
    /// Mails the server had answered for another spool: no second reply written.
    pub answered_before: u64,
    /// Mails whose answer the reply guard held: handed to a person (counted as routed too).
    pub handed_off: u64,
    /// Specialists' replies put into the outbox.
    pub replies_delivered: usize,
    /// Mails asking for a rating put into the outbox.
    pub ratings_asked: usize,
    /// Replies of one digit rating an answer, passed on as ratings (the server may refuse a
    /// second one).
    pub ratings: u64,
}

impl Summary {
    /// Adds another run's counts.
    pub fn add(&mut self, other: Self) {
        self.processed += other.processed;
        self.answered += other.answered;
        self.routed += other.routed;
        self.acknowledged += other.acknowledged;
        self.quarantined += other.quarantined;
        self.no_reply += other.no_reply;
        self.automatic += other.automatic;
        self.withheld += other.withheld;
        self.duplicates += other.duplicates;
        self.answered_before += other.answered_before;
        self.handed_off += other.handed_off;
        self.replies_delivered += other.replies_delivered;
        self.ratings_asked += other.ratings_asked;
        self.ratings += other.ratings;
    }

    fn count(&mut self, record: &MailRecord) {
        self.processed += 1;
        match record.outcome {
            MailOutcome::Answered => self.answered += 1,
            MailOutcome::Routed => self.routed += 1,
            MailOutcome::Quarantined => self.quarantined += 1,
            MailOutcome::NoReply => self.no_reply += 1,
            MailOutcome::Automatic => self.automatic += 1,
            MailOutcome::AnsweredBefore => self.answered_before += 1,
            MailOutcome::Duplicate => self.duplicates += 1,
            MailOutcome::Rated => self.ratings += 1,
        }
        if record.outcome == MailOutcome::Routed {
            self.handed_off += u64::from(record.held.is_some());
            self.acknowledged += u64::from(record.reply.is_some());
        }
    }
}

/// The journal, the suppression list and the spool folders, which together keep the state of
/// the mailbox.
pub struct Sink {
    pub spool: Spool,
    pub journal: Journal,
    pub suppression: SuppressionList,
}

fn failed(what: String) -> impl FnOnce(io::Error) -> IngestError {
    move |source| IngestError::Io { what, source }
}

impl Sink {
    /// Opens the journal of `spool` and the suppression list beside it (`bounced.json`).
    pub fn open(spool: Spool) -> Result<Self, IngestError> {
        let journal = Journal::open(&spool.journal).map_err(failed(format!(
            "cannot open the journal {}",
            spool.journal.display()
        )))?;
        let path = spool.journal.with_file_name("bounced.json");
        let suppression = SuppressionList::open(&path, now_ms()).map_err(failed(format!(
            "cannot read the suppression list {}",
            path.display()
        )))?;
        Ok(Self {
            spool,
            journal,
            suppression,
        })
    }

    /// Sets how long automatic mail to an address pauses after a permanent bounce.
    pub fn with_bounce_pause(mut self, pause: Duration) -> Self {
        self.suppression.set_pause(pause);
        self
    }

    /// Commits a group of handled mails and the submissions of the mails about to be sent:
    /// outbox, then journal (synced), then the moves.
    pub fn commit(
        &mut self,
        group: Vec<Handled>,
        submissions: &[Submission],
        summary: &mut Summary,
    ) -> Result<(), IngestError> {
        if group.is_empty() && submissions.is_empty() {
            return Ok(());
        }
        self.pause_bounced(&group)?;
        let mut group = group;
        for handled in &mut group {
            if self.withhold_reply(handled) {
                summary.withheld += 1;
            }
        }
        let replies: Vec<(&str, &[u8])> = group
            .iter()
            .filter_map(|h| Some((h.record.inquiry_id.as_str(), h.reply.as_deref()?)))
            .collect();
        write_replies(&self.spool.outbox, &replies).map_err(failed(format!(
            "cannot write replies into {}",
            self.spool.outbox.display()
        )))?;
        let records: Vec<MailRecord> = group.iter().map(|h| h.record.clone()).collect();
        self.journal
            .append(&records, submissions)
            .map_err(failed("cannot append to the journal".to_owned()))?;
        for handled in group {
            self.finish(
                &handled.origin,
                handled.mbox_bytes.as_deref(),
                &handled.record,
            )?;
            summary.count(&handled.record);
            tracing::debug!(
                source = %handled.record.source,
                inquiry_id = %handled.record.inquiry_id,
                outcome = ?handled.record.outcome,
                queue = handled.record.queue.as_deref(),
                ticket_id = handled.record.ticket_id,
                "mail handled"
            );
        }
        Ok(())
    }

    /// Pauses automatic mail to the recipients of the group's permanent bounces.
    fn pause_bounced(&mut self, group: &[Handled]) -> Result<(), IngestError> {
        for handled in group {
            let Some(bounce) = &handled.record.bounce else {
                continue;
            };
            let bounced = bounce
                .permanent()
                .map(|failure| (failure.recipient.as_str(), failure.status.as_deref()));
            self.suppression
                .pause_all(bounced, handled.record.handled_ms)
                .map_err(failed("cannot write the suppression list".to_owned()))?;
        }
        Ok(())
    }

    /// Drops the reply of `handled` when automatic mail to its recipient is paused, saying why
    /// in its record; true when it did.
    fn withhold_reply(&self, handled: &mut Handled) -> bool {
        let (Some(_), Some(sender)) = (&handled.reply, &handled.record.sender) else {
            return false;
        };
        let Some(pause) = self.suppression.active(sender, handled.record.handled_ms) else {
            return false;
        };
        let until = mail_parser::DateTime::from_timestamp(pause.until_ms.div_euclid(1000));
        let reason = format!(
            "reply withheld: mail to {sender} bounced permanently ({}); automatic mail to it is paused until {}",
            pause.status.as_deref().unwrap_or("no status"),
            until.to_rfc3339()
        );
        tracing::warn!(inquiry_id = %handled.record.inquiry_id, %reason, "withholding a reply");
        handled.reply = None;
        handled.record.reply = None;
        handled.record.reason = Some(reason);
        true
    }

    /// Moves a mail whose inquiry id the journal knows where its record says, and counts it
    /// as a duplicate; false for a mail the journal does not know.
    pub fn finish_known(
        &self,
        origin: &Origin,
        mbox_bytes: Option<&[u8]>,
        inquiry_id: &str,
        summary: &mut Summary,
    ) -> Result<bool, IngestError> {
        let Some(record) = self.journal.get(inquiry_id) else {
            return Ok(false);
        };
        self.finish(origin, mbox_bytes, record)?;
        summary.processed += 1;
        summary.duplicates += 1;
        Ok(true)
    }

    /// Moves one mail out of `new/`: to `cur/`, or to the quarantine with its reason.
    fn finish(
        &self,
        origin: &Origin,
        mbox_bytes: Option<&[u8]>,
        record: &MailRecord,
    ) -> Result<(), IngestError> {
        let result = match (record.outcome, origin) {
            (MailOutcome::Quarantined, _) => self.spool.quarantine(
                origin,
                mbox_bytes,
                record.reason.as_deref().unwrap_or("quarantined"),
            ),
            (_, Origin::Maildir(path)) => mark_seen(path),
            (_, Origin::File(_) | Origin::Mbox(..)) => Ok(()),
        };
        result.map_err(failed(format!("cannot move {}", origin.describe())))
    }
}
