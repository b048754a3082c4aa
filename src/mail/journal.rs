//! The worker's state: one JSON line per mail handled (`.triage/journal.jsonl`), appended and
//! synced before the mail leaves `new/`, so a restart knows what is done.
//!
//! A mail whose inquiry id is in the journal is not submitted again: it is only moved where
//! its record says (a kill between the journal and the move leaves exactly that to do). A line
//! torn by a crash at the end of the file is cut off when the journal is opened.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::bounce::Bounce;
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
    /// The reply's file name in the outbox.
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
}

/// The journal file and the records in it, by inquiry id.
pub struct Journal {
    file: File,
    records: HashMap<String, MailRecord>,
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
        for (number, line) in text[..complete].lines().enumerate() {
            match serde_json::from_str::<MailRecord>(line) {
                Ok(record) => {
                    records.insert(record.inquiry_id.clone(), record);
                }
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    line = number + 1,
                    %error,
                    "skipping an unreadable journal line"
                ),
            }
        }
        Ok(Self { file, records })
    }

    /// The record of an inquiry id, if it was handled.
    pub fn get(&self, inquiry_id: &str) -> Option<&MailRecord> {
        self.records.get(inquiry_id)
    }

    /// All records, in no order.
    pub fn records(&self) -> impl Iterator<Item = &MailRecord> {
        self.records.values()
    }

    /// Appends `records` in one write and syncs the file: they are durable when this returns.
    pub fn append(&mut self, records: &[MailRecord]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut lines = String::new();
        for record in records {
            let line = serde_json::to_string(record).map_err(io::Error::other)?;
            lines.push_str(&line);
            lines.push('\n');
        }
        self.file.write_all(lines.as_bytes())?;
        self.file.sync_data()?;
        for record in records {
            self.records
                .insert(record.inquiry_id.clone(), record.clone());
        }
        Ok(())
    }
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

    /// Records survive reopening; a torn last line is cut and later appends stay readable.
    #[test]
    fn records_survive_and_torn_lines_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".triage/journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        journal.append(&[record("a"), record("b")]).unwrap();
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"source\":\"c.eml\",\"mess").unwrap();
        drop(file);
        let mut journal = Journal::open(&path).unwrap();
        assert_eq!(journal.get("a"), Some(&record("a")));
        assert!(journal.get("c").is_none());
        journal.append(&[record("c")]).unwrap();
        drop(journal);
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.records().count(), 3);
    }
}
