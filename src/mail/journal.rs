//! The worker's state (`.triage/journal.jsonl`): one JSON line per mail handled, appended and
//! synced before the mail leaves `new/`, so a restart knows what is done; and before a mail is
//! first submitted, a line saying so ([`Submission`]), synced with the same write.
//!
//! A mail whose inquiry id is in the journal is not submitted again: it is only moved where
//! its record says (a kill between the journal and the move leaves exactly that to do). Each
//! mail has a record of its own: a copy of a mail from another file is recorded as a
//! duplicate under a key derived from its source, another mail reusing a Message-ID under a
//! derived inquiry id; a record's `fingerprint` tells the two apart. Lines written by earlier
//! versions (without the newer fields) still read. The
//! submissions tell a decision this spool asked for (replayed after a crash: its reply is
//! still to be written) from one another spool asked for (a fresh copy of the mailbox against
//! the same server: the reply went out from there). A line torn by a crash at the end of the
//! file is cut off when the journal is opened.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::bounce::Bounce;
use super::guard::Hold;
use super::kind::MailKind;

/// What became of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailOutcome {
    /// Answered automatically; the reply is in the outbox.
    Answered,
    /// A ticket on a specialist queue (or the escalation queue).
    Routed,
    /// Not an inquiry, or refused by the server; the mail is in the quarantine.
    Quarantined,
    /// Needs no reply (a closing remark such as "thanks, all good!"): no reply, no ticket.
    NoReply,
    /// Sent by a machine (see `kind`): not submitted, no reply, no ticket; moved to `cur/`.
    Automatic,
    /// The server had answered it for another spool (a copy of this mailbox, or another
    /// worker): that answer was sent from there, and none is written here.
    AnsweredBefore,
    /// A copy of a mail handled before (one Message-ID, one sender, one content), from
    /// another file: not submitted; `duplicate_of` names the mail it copies.
    Duplicate,
    /// A reply of one digit rating an answer (see `reason`): passed on as the client's rating,
    /// not submitted; moved to `cur/`.
    Rated,
}

/// One handled mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRecord {
    /// The file (or `mbox:index`) the mail came from.
    pub source: String,
    pub message_id: Option<String>,
    pub inquiry_id: String,
    pub sender: Option<String>,
    /// The client the worker mapped the sender to; `None` for an unknown sender.
    pub client_id: Option<String>,
    pub outcome: MailOutcome,
    pub queue: Option<String>,
    pub ticket_id: Option<u64>,
    /// Why a human answers (for an escalation), why the mail was quarantined, what shows a
    /// machine sent it, or why its reply was withheld.
    pub reason: Option<String>,
    /// The reply's file name in the outbox: the answer, or a routed mail's acknowledgement.
    pub reply: Option<String>,
    pub thread_id: Option<String>,
    pub attachments: Vec<String>,
    pub truncated: bool,
    /// The server had decided on this inquiry id before.
    pub replayed: bool,
    pub handled_ms: i64,
    /// Who sent the mail (a person, unless the record says otherwise).
    #[serde(default)]
    pub kind: MailKind,
    /// What a bounce reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounce: Option<Bounce>,
    /// Of an answered or acknowledged mail: the digest of the reply's text, which the reply
    /// guard compares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_digest: Option<String>,
    /// Why the reply guard held the answer and handed the mail to a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Hold>,
    /// The inquiry id the mail was submitted under when it is not its own: a mail handed to a
    /// person is submitted again under a derived id, and its ticket carries that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_as: Option<String>,
    /// What the mail says, as a digest ([`ParsedMail::fingerprint`]): tells a copy of the
    /// mail from another mail reusing its Message-ID. Records of earlier versions have none.
    ///
    /// [`ParsedMail::fingerprint`]: super::parse::ParsedMail::fingerprint
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Of a duplicate: the inquiry id of the mail it copies (its own record's key is derived
    /// from that id and its source, so that each copy has a line of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// A mail about to be submitted for the first time (or to be handed to a person), journaled
/// before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The mail's inquiry id.
    pub submitted: String,
    /// Set when the mail is handed to a person: why the guard held its answer. A restart
    /// hands it over again instead of asking the guard a second time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Hold>,
}

/// One line of the journal file.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Record(Box<MailRecord>),
    Submission(Submission),
}

/// The journal file and the records in it, by inquiry id.
pub struct Journal {
    file: File,
    records: HashMap<String, MailRecord>,
    /// The submissions of mails without a record yet, by inquiry id.
    submissions: HashMap<String, Submission>,
}

impl Journal {
    /// Opens (or creates) the journal at `path`, reads its records and cuts a torn last line.
    pub fn open(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let complete = text.rfind('\n').map_or(0, |end| end + 1);
        if complete < text.len() {
            tracing::warn!(path = %path.display(), "cutting a torn last line of the journal");
            file.set_len(complete as u64)?;
        }
        file.seek(SeekFrom::End(0))?;
        let mut records = HashMap::new();
        let mut submissions = HashMap::new();
        for (number, line) in text[..complete].lines().enumerate() {
            match serde_json::from_str::<Line>(line) {
                Ok(Line::Record(record)) => {
                    records.insert(record.inquiry_id.clone(), *record);
                }
                Ok(Line::Submission(submission)) => {
                    submissions.insert(submission.submitted.clone(), submission);
                }
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    line = number + 1,
                    %error,
                    "skipping an unreadable journal line"
                ),
            }
        }
        submissions.retain(|id, _| !records.contains_key(id));
        Ok(Self {
            file,
            records,
            submissions,
        })
    }

    /// The record of an inquiry id, if it was handled.
    pub fn get(&self, inquiry_id: &str) -> Option<&MailRecord> {
        self.records.get(inquiry_id)
    }

    /// All records, in no order.
    pub fn records(&self) -> impl Iterator<Item = &MailRecord> {
        self.records.values()
    }

    /// The submission of an inquiry id without a record yet, if this spool made one.
    pub fn submission(&self, inquiry_id: &str) -> Option<&Submission> {
        self.submissions.get(inquiry_id)
    }

    /// Appends `records` and `submissions` in one write and syncs the file: they are durable
    /// when this returns.
    pub fn append(&mut self, records: &[MailRecord], submissions: &[Submission]) -> io::Result<()> {
        if records.is_empty() && submissions.is_empty() {
            return Ok(());
        }
        let mut lines = String::new();
        for record in records {
            push_line(&mut lines, record)?;
        }
        for submission in submissions {
            push_line(&mut lines, submission)?;
        }
        self.file.write_all(lines.as_bytes())?;
        self.file.sync_data()?;
        for submission in submissions {
            self.submissions
                .insert(submission.submitted.clone(), submission.clone());
        }
        for record in records {
            self.submissions.remove(&record.inquiry_id);
            self.records
                .insert(record.inquiry_id.clone(), record.clone());
        }
        Ok(())
    }
}

/// Appends `value` to `lines` as one JSON line.
fn push_line(lines: &mut String, value: &impl Serialize) -> io::Result<()> {
    lines.push_str(&serde_json::to_string(value).map_err(io::Error::other)?);
    lines.push('\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> MailRecord {
        MailRecord {
            source: format!("{id}.eml"),
            message_id: Some(id.to_owned()),
            inquiry_id: id.to_owned(),
            sender: Some("ops@acme.example".into()),
            client_id: Some("acme".into()),
            outcome: MailOutcome::Routed,
            queue: Some("seo".into()),
            ticket_id: Some(7),
            reason: None,
            reply: None,
            thread_id: None,
            attachments: vec!["brief.pdf".into()],
            truncated: false,
            replayed: false,
            handled_ms: 1,
            kind: MailKind::Human,
            bounce: None,
            reply_digest: None,
            held: None,
            submitted_as: None,
            fingerprint: None,
            duplicate_of: None,
        }
    }

    /// A record written before mails had a kind reads as a person's mail; a machine's mail
    /// keeps its kind and its bounce report.
    #[test]
    fn kinds_are_kept_and_default_to_human() {
        let mut old = serde_json::to_value(record("a")).unwrap();
        let fields = old.as_object_mut().unwrap();
        fields.remove("kind");
        fields.remove("bounce");
        let old: MailRecord = serde_json::from_value(old).unwrap();
        assert_eq!(old.kind, MailKind::Human);
        let mut bounce = record("b");
        bounce.outcome = MailOutcome::Automatic;
        bounce.kind = MailKind::Bounce;
        bounce.bounce = Some(Bounce::default());
        let line = serde_json::to_string(&bounce).unwrap();
        assert!(line.contains("\"outcome\":\"automatic\"") && line.contains("\"kind\":\"bounce\""));
        assert_eq!(serde_json::from_str::<MailRecord>(&line).unwrap(), bounce);
    }

    /// A journal as the worker wrote it before mails had a kind, replies a digest and spools
    /// their submissions reads whole, each record as the person's mail it was.
    #[test]
    fn a_journal_of_an_earlier_version_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".triage/journal.jsonl");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let line = |id: &str, outcome: &str, reply: &str| {
            format!(
                "{{\"source\":\"new/{id}\",\"message_id\":\"{id}\",\"inquiry_id\":\"{id}\",\
                 \"sender\":\"ops@acme.example\",\"client_id\":\"acme\",\"outcome\":\"{outcome}\",\
                 \"queue\":null,\"ticket_id\":null,\"reason\":null,\"reply\":{reply},\
                 \"thread_id\":null,\"attachments\":[],\"truncated\":false,\"replayed\":false,\
                 \"handled_ms\":5}}\n"
            )
        };
        let old = line("a@acme.example", "answered", "\"a@acme.example.eml\"")
            + &line("b@acme.example", "no_reply", "null");
        std::fs::write(&path, old).unwrap();
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.records().count(), 2);
        let answered = journal
            .get("a@acme.example")
            .expect("the answered mail's record");
        assert_eq!(answered.outcome, MailOutcome::Answered);
        assert_eq!(answered.kind, MailKind::Human);
        assert_eq!(answered.reply.as_deref(), Some("a@acme.example.eml"));
        assert_eq!((&answered.reply_digest, &answered.held), (&None, &None));
        assert_eq!(
            journal.get("b@acme.example").unwrap().outcome,
            MailOutcome::NoReply
        );
        assert_eq!(journal.submission("a@acme.example"), None);
    }

    /// Records survive reopening; a torn last line is cut and later appends stay readable.
    #[test]
    fn records_survive_and_torn_lines_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".triage/journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        journal.append(&[record("a"), record("b")], &[]).unwrap();
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"source\":\"c.eml\",\"mess").unwrap();
        drop(file);
        let mut journal = Journal::open(&path).unwrap();
        assert_eq!(journal.get("a"), Some(&record("a")));
        assert!(journal.get("c").is_none());
        journal.append(&[record("c")], &[]).unwrap();
        drop(journal);
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.records().count(), 3);
    }

    /// A submission is known after reopening until its mail's record is written; the last
    /// submission of an id (a hand-off) is the one kept.
    #[test]
    fn submissions_last_until_their_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".triage/journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        let submitted = |id: &str, handoff: Option<Hold>| Submission {
            submitted: id.to_owned(),
            handoff,
        };
        let hold = Hold::Paused { until_ms: 9 };
        journal
            .append(&[], &[submitted("a", None), submitted("b", None)])
            .unwrap();
        journal
            .append(&[record("a")], &[submitted("b", Some(hold.clone()))])
            .unwrap();
        drop(journal);
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.submission("a"), None);
        assert_eq!(journal.submission("b"), Some(&submitted("b", Some(hold))));
        assert_eq!(journal.get("a"), Some(&record("a")));
        assert_eq!(journal.records().count(), 1);
    }
}
