//! Threads: an inquiry that replies to an earlier one of its client (a follow-up) joins the
//! earlier one's thread.
//!
//! A follow-up names the inquiry it replies to (`in_reply_to`; the email worker names the
//! thread's first mail). Its thread is that inquiry's, as the inquiry's decision keeps it, or,
//! for an id triage never decided (a thread the agency started by mail), the thread of that id.
//! Only the client's own decisions and tickets count: an id naming another client's inquiry is
//! no thread at all, so a follow-up never reaches another client's ticket or topic.
//!
//! While the thread has an open ticket, the follow-up is attached to it (`route::thread`).
//! Otherwise it is decided afresh, read with the thread's topic: the classifier reads the
//! topic, then the follow-up's prose. A reply leans on what it replies to ("when can we expect
//! it?", "what would that cost?" name no subject of their own), and the model's evidence from
//! the two texts adds up: what the follow-up leaves open the topic decides, while a follow-up
//! that clearly asks about something else pulls the decision its way, or leaves the model unsure
//! and a person answers. Two things are the reply's own and are read on its text alone: a
//! closing remark ("thanks, all good!") needs no reply whatever the thread was about, and a
//! language the pack does not cover needs a person who reads it.
//!
//! One more rule keeps automatic answers from going round in circles: a follow-up to an
//! automatic answer that would get the same answer again (the same status data, the same
//! record) goes to a person. The first answer did not settle it; sending it again will not.

use crate::classify::{
    Classification, Classifier, ClassifyError, EscalationReason, Explanation, Recommendation,
};
use crate::route::{StoredDecision, ThreadTicket};

use super::{Decision, Disposition, Inquiry, ThreadRecord, ThreadRole};

/// The most bytes of a thread's first prose kept as its topic: the question is at its start,
/// and every decision of the thread keeps a copy.
const MAX_TOPIC_BYTES: usize = 1024;

/// The thread an inquiry belongs to, as far as its client's own decisions tell.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Thread {
    pub id: String,
    /// Whether the inquiry follows up an earlier one of its client (known or not).
    pub follows_up: bool,
    /// The thread's topic, when the inquiry follows up a decision that keeps one.
    pub topic: Option<String>,
    /// The status kind and record of the automatic answer the followed-up inquiry got.
    pub earlier_answer: Option<(String, Option<String>)>,
    /// The thread's open ticket, when the inquiry follows up a thread that has one.
    pub open_ticket: Option<ThreadTicket>,
}

/// How an inquiry was read in its thread: the classification the decision rests on.
pub(super) struct Reading {
    pub classification: Classification,
    pub explanation: Explanation,
    pub role: ThreadRole,
}

impl Thread {
    /// The thread `inquiry` starts, of its own id.
    pub fn started_by(inquiry: &Inquiry) -> Self {
        Self {
            id: inquiry.inquiry_id.clone(),
            follows_up: false,
            topic: None,
            earlier_answer: None,
            open_ticket: None,
        }
    }

    /// The thread of `inquiry`, which names `named`, whose stored decision is `earlier` (if
    /// any); another client's decision makes it a thread of its own.
    pub fn followed(
        inquiry: &Inquiry,
        named: &str,
        earlier: Option<&StoredDecision<Decision>>,
    ) -> Self {
        let Some(earlier) = earlier else {
            return Self {
                id: named.to_owned(),
                follows_up: true,
                ..Self::started_by(inquiry)
            };
        };
        let decision = &earlier.decision;
        if decision.client_id != inquiry.client_id {
            tracing::warn!(
                inquiry_id = %inquiry.inquiry_id,
                client_id = %inquiry.client_id,
                "the inquiry names another client's inquiry as the one it replies to; read as a thread of its own"
            );
            return Self::started_by(inquiry);
        }
        let earlier_answer = match &decision.outcome {
            Disposition::Answered(answer) => {
                Some((answer.status_kind.clone(), answer.entity_id.clone()))
            }
            _ => None,
        };
        Self {
            id: decision
                .thread
                .as_ref()
                .map_or_else(|| named.to_owned(), |thread| thread.id.clone()),
            follows_up: true,
            topic: decision.thread.as_ref().map(|thread| thread.topic.clone()),
            earlier_answer,
            open_ticket: None,
        }
    }

    /// Reads `prose` in this thread (see the module doc).
    pub fn read(&self, classifier: &Classifier, prose: &str) -> Result<Reading, ClassifyError> {
        let (classification, explanation) = classifier.classify_explained(prose)?;
        let role = match self.topic.as_deref() {
            _ if !self.follows_up => ThreadRole::Started,
            Some(topic) if !is_the_replys_own(&classification.outcome) => {
                let (classification, explanation) =
                    classifier.classify_explained(&format!("{topic}\n{prose}"))?;
                return Ok(Reading {
                    classification,
                    explanation,
                    role: ThreadRole::WithContext,
                });
            }
            _ => ThreadRole::OnItsOwn,
        };
        Ok(Reading {
            classification,
            explanation,
            role,
        })
    }

    /// Whether an automatic answer from `status_kind` about `entity_id` would be the answer
    /// the followed-up inquiry already got.
    pub fn repeats_answer(&self, status_kind: &str, entity_id: Option<&str>) -> bool {
        self.earlier_answer
            .as_ref()
            .is_some_and(|(kind, entity)| kind == status_kind && entity.as_deref() == entity_id)
    }

    /// What a decision in this thread keeps of it; `prose` is the inquiry's, the topic of a
    /// thread whose topic is not known yet.
    pub fn record(&self, prose: &str, role: ThreadRole) -> ThreadRecord {
        let topic = match &self.topic {
            Some(topic) => topic.clone(),
            None => crate::text::truncated(prose, MAX_TOPIC_BYTES).to_owned(),
        };
        ThreadRecord {
            id: self.id.clone(),
            topic,
            role,
        }
    }
}

/// Whether an outcome is decided by the reply's own text whatever its thread: a closing
/// remark, or a language the pack does not cover.
fn is_the_replys_own(outcome: &Recommendation) -> bool {
    matches!(
        outcome,
        Recommendation::NoReply { .. }
            | Recommendation::Escalate {
                reason: EscalationReason::LanguageNotCovered { .. },
                ..
            }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::Channel;

    fn inquiry(id: &str) -> Inquiry {
        Inquiry {
            inquiry_id: id.into(),
            client_id: "acme".into(),
            channel: Channel::Web,
            subject: String::new(),
            body: "when can we expect it?".into(),
            received_ms: 0,
            in_reply_to: None,
            sender: None,
            attachments: Vec::new(),
            handoff_reason: None,
        }
    }

    /// A thread's topic is the first prose, cut at a character boundary within a kilobyte; a
    /// known topic is inherited unchanged.
    #[test]
    fn the_topic_is_the_first_prose_cut_to_a_kilobyte() {
        let thread = Thread::started_by(&inquiry("q-1"));
        let long = "é".repeat(MAX_TOPIC_BYTES);
        let record = thread.record(&long, ThreadRole::Started);
        assert_eq!((record.id.as_str(), record.topic.len()), ("q-1", 1024));
        let inherited = Thread {
            topic: Some("the SEO report".into()),
            ..Thread::followed(&inquiry("q-2"), "q-1", None)
        };
        let record = inherited.record("when can we expect it?", ThreadRole::WithContext);
        assert_eq!(
            (record.id.as_str(), record.topic.as_str()),
            ("q-1", "the SEO report")
        );
    }

    /// Only the same status kind about the same record repeats an answer.
    #[test]
    fn an_answer_repeats_only_with_the_same_kind_and_record() {
        let thread = Thread {
            earlier_answer: Some(("invoice".into(), Some("INV-1042".into()))),
            ..Thread::followed(&inquiry("q-2"), "q-1", None)
        };
        assert!(thread.repeats_answer("invoice", Some("INV-1042")));
        assert!(!thread.repeats_answer("invoice", Some("INV-1043")));
        assert!(!thread.repeats_answer("deliverable", Some("INV-1042")));
        assert!(!Thread::started_by(&inquiry("q-3")).repeats_answer("invoice", None));
    }
}
