//! An inquiry as the domain sees it, and the decision triage takes on it.

use serde::{Deserialize, Serialize};

use crate::answer::{Language, Variant};
use crate::classify::{Classification, Explanation};

/// Where an inquiry came from; it never changes the decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Unspecified,
    Web,
    Email,
    Chat,
    Api,
}

impl Channel {
    /// A short, fixed name, as the API's clients send it (for reports and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Web => "web",
            Self::Email => "email",
            Self::Chat => "chat",
            Self::Api => "api",
        }
    }
}

/// One client inquiry, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inquiry {
    pub inquiry_id: String,
    pub client_id: String,
    pub channel: Channel,
    pub subject: String,
    pub body: String,
    pub received_ms: i64,
    pub in_reply_to: Option<String>,
    /// The sender's address; it names the client when `client_id` is empty. Absent from
    /// records written before senders were kept.
    #[serde(default)]
    pub sender: Option<String>,
    /// The names of the files attached (email): for the specialist, never classified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// Why the caller hands the inquiry to a person instead of letting it be answered
    /// automatically (the email worker's reply guard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_reason: Option<String>,
}

impl Inquiry {
    /// The text classified and answered: the subject, then the body.
    pub fn text(&self) -> String {
        match (self.subject.trim(), self.body.trim()) {
            ("", body) => body.to_owned(),
            (subject, "") => subject.to_owned(),
            (subject, body) => format!("{subject}\n{body}"),
        }
    }
}

/// What triage decided, as kept for idempotent replays and shown to specialists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub inquiry_id: String,
    pub client_id: String,
    /// The channel the inquiry came by, which its replies go back through. Absent from
    /// decisions recorded before it was kept.
    #[serde(default)]
    pub channel: Channel,
    pub classification: Classification,
    pub explanation: Explanation,
    pub decided_ms: i64,
    pub outcome: Disposition,
    /// The thread the inquiry belongs to and how it was read in it. Absent from decisions
    /// recorded before threads were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadRecord>,
    /// The language the client is written to about the inquiry (one of the pack's): its
    /// answer's, its acknowledgement's. Absent from decisions recorded before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

/// An inquiry's place in its thread, as its decision keeps it for the follow-ups to come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRecord {
    /// The thread's id: the inquiry id of its first inquiry, or the id the first inquiry triage
    /// saw of it replied to.
    pub id: String,
    /// What the thread is about: the prose of the first inquiry triage saw of it, cut to a
    /// kilobyte. A follow-up in the thread with no open ticket is read with it.
    pub topic: String,
    pub role: ThreadRole,
}

/// How an inquiry was decided in its thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadRole {
    /// It starts its thread (or replies to nothing known of its client).
    Started,
    /// A follow-up attached to its thread's open ticket: no ticket of its own.
    Attached,
    /// A follow-up in a thread with no open ticket, classified with the thread's topic before
    /// its own text.
    WithContext,
    /// A follow-up in a thread with no open ticket, classified on its own text: a closing
    /// remark, a language the pack does not cover, or a thread whose topic is not known.
    OnItsOwn,
}

impl ThreadRole {
    /// A short, fixed name, for metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Attached => "attached",
            Self::WithContext => "with_context",
            Self::OnItsOwn => "on_its_own",
        }
    }
}

/// What became of the inquiry: answered automatically, queued for a human, or needing no reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Disposition {
    Answered(AnswerRecord),
    Queued(QueuedTicket),
    /// A follow-up attached to the open ticket of its thread, whose id the decision is stored
    /// with.
    Attached(AttachedTicket),
    /// Nothing to answer and no ticket (a closing remark).
    NoReply(NoReplyRecord),
}

/// Why an inquiry got no reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoReplyRecord {
    /// A fixed name of the reason (`closing_remark`). Not `kind`: the disposition's own tag
    /// is stored under that name beside this record's fields.
    pub reason_kind: String,
    /// The reason in words.
    pub reason: String,
}

/// An automatic answer and the facts it used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRecord {
    pub text: String,
    pub facts: Vec<(String, String)>,
    pub as_of: String,
    pub status_kind: String,
    pub entity_id: Option<String>,
    /// The template's variant the text is written in, and why; absent from records written
    /// before answers had variants.
    #[serde(default)]
    pub variant: Option<Variant>,
}

/// A ticket on a specialist queue; its id is the queue's, kept beside the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedTicket {
    pub queue: String,
    pub priority: u8,
    pub sla_due_ms: i64,
    /// Why a human answers an inquiry the model would have answered or routed elsewhere.
    pub escalation: Option<Escalation>,
    /// For an inquiry that also asks direct questions: their answers from the client's data,
    /// for the specialist who answers the whole inquiry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prepared_answers: Vec<AnswerRecord>,
}

/// The ticket a follow-up was attached to, as it was when the follow-up came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedTicket {
    pub queue: String,
    pub priority: u8,
    pub sla_due_ms: i64,
    /// The ticket had been resolved: the follow-up reopened it.
    #[serde(default)]
    pub reopened: bool,
}

/// Why an inquiry went to a human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// A fixed name of the reason (`low_confidence`, `ambiguous`, `no_data`, ...).
    pub kind: String,
    /// The reason in words, with the candidates where there were several.
    pub reason: String,
}

/// What a ticket carries: the inquiry (and what each follow-up attached to it carries: the
/// follow-up). The decision, with its explanation, is stored once under the inquiry id and
/// joined when a specialist claims the ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketPayload {
    pub inquiry: Inquiry,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subject and body join into one text; either may be empty.
    #[test]
    fn text_joins_subject_and_body() {
        let mut inquiry = Inquiry {
            inquiry_id: "i".into(),
            client_id: "c".into(),
            channel: Channel::Email,
            subject: " Report ".into(),
            body: "when is it due?".into(),
            received_ms: 0,
            in_reply_to: None,
            sender: None,
            attachments: Vec::new(),
            handoff_reason: None,
        };
        assert_eq!(inquiry.text(), "Report\nwhen is it due?");
        inquiry.subject.clear();
        assert_eq!(inquiry.text(), "when is it due?");
    }
}
