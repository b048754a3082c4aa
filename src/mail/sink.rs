//! Handled mails, committed in groups: replies written to the outbox, then their records
//! appended to the journal and synced, then the mails moved out of `new/`. Each step can be
//! repeated after a crash with the same result, which is what makes a restart safe: a mail
//! still in `new/` is either unknown to the journal (submitted again; the server replays its
//! decision) or known (only moved, as its record says).

use std::io;

use serde::Serialize;

use super::IngestError;
use super::journal::{Journal, MailOutcome, MailRecord};
use super::mailbox::{Origin, Spool, mark_seen};
use super::reply::write_replies;

/// A handled mail waiting for its group's commit.
pub struct Handled {
    pub origin: Origin,
    pub bytes: Vec<u8>,
    pub record: MailRecord,
    /// The reply to put into the outbox, for an answered mail.
    pub reply: Option<Vec<u8>>,
}

/// What a run did, for the log and the terminal.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Mails taken out of `new/` (or read from files) in this run.
    pub processed: u64,
    pub answered: u64,
    pub routed: u64,
    pub quarantined: u64,
    /// Mails whose inquiry id the journal already had: re-delivered copies, and mails a
    /// killed run had finished but not yet moved. They are moved, not submitted again.
    pub duplicates: u64,
}

impl Summary {
    /// Adds another run's counts.
    pub fn add(&mut self, other: Self) {
        self.processed += other.processed;
        self.answered += other.answered;
        self.routed += other.routed;
        self.quarantined += other.quarantined;
        self.duplicates += other.duplicates;
    }

    fn count(&mut self, outcome: MailOutcome) {
        self.processed += 1;
        match outcome {
            MailOutcome::Answered => self.answered += 1,
            MailOutcome::Routed => self.routed += 1,
            MailOutcome::Quarantined => self.quarantined += 1,
        }
    }
}

/// The journal and the spool folders, which together keep the state of the mailbox.
pub struct Sink {
    pub spool: Spool,
    pub journal: Journal,
}

fn failed(what: String) -> impl FnOnce(io::Error) -> IngestError {
    move |source| IngestError::Io { what, source }
}

impl Sink {
    /// Opens the journal of `spool`.
    pub fn open(spool: Spool) -> Result<Self, IngestError> {
        let journal = Journal::open(&spool.journal).map_err(failed(format!(
            "cannot open the journal {}",
            spool.journal.display()
        )))?;
        Ok(Self { spool, journal })
    }

    /// Commits a group of handled mails: outbox, then journal (synced), then the moves.
    pub fn commit(
        &mut self,
        group: Vec<Handled>,
        summary: &mut Summary,
    ) -> Result<(), IngestError> {
        if group.is_empty() {
            return Ok(());
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
            .append(&records)
            .map_err(failed("cannot append to the journal".to_owned()))?;
        for handled in group {
            self.finish(&handled.origin, &handled.bytes, &handled.record)?;
            summary.count(handled.record.outcome);
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

    /// Moves a mail whose inquiry id the journal knows where its record says, and counts it
    /// as a duplicate; false for a mail the journal does not know.
    pub fn finish_known(
        &self,
        origin: &Origin,
        bytes: &[u8],
        inquiry_id: &str,
        summary: &mut Summary,
    ) -> Result<bool, IngestError> {
        let Some(record) = self.journal.get(inquiry_id) else {
            return Ok(false);
        };
        self.finish(origin, bytes, record)?;
        summary.processed += 1;
        summary.duplicates += 1;
        Ok(true)
    }

    /// Moves one mail out of `new/`: to `cur/`, or to the quarantine with its reason.
    fn finish(
        &self,
        origin: &Origin,
        bytes: &[u8],
        record: &MailRecord,
    ) -> Result<(), IngestError> {
        let result = match (record.outcome, origin) {
            (MailOutcome::Quarantined, _) => self.spool.quarantine(
                origin,
                bytes,
                record.reason.as_deref().unwrap_or("quarantined"),
            ),
            (_, Origin::Maildir(path)) => mark_seen(path),
            (_, Origin::File(_) | Origin::Mbox(..)) => Ok(()),
        };
        result.map_err(failed(format!("cannot move {}", origin.describe())))
    }
}
