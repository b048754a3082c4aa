//! The specialist's answer to the client: how a ticket is closed ([`Closing`]: a reply, or a
//! recorded reason for none), the reply as the channels deliver it ([`ClientReply`]: threaded to
//! the client's latest message), and the feed of replies sent, which the channel workers read
//! ([`Helpdesk::replies_since`]).

use serde::{Deserialize, Serialize};

use super::validate::validate_note;
use super::{Caller, Helpdesk, HelpdeskError, Role};
use crate::intake::{Channel, Inquiry};
use crate::route::{Resolution, SentReply, Ticket};

/// Why a ticket is resolved without a reply to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoReplyReason {
    /// The same request is answered on another ticket.
    Duplicate,
    Spam,
    /// Nothing is left to say (the client's matter is settled).
    NoReplyNeeded,
}

impl NoReplyReason {
    /// A short, fixed name, for the audit record.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Spam => "spam",
            Self::NoReplyNeeded => "no_reply_needed",
        }
    }
}

/// How a specialist closes a ticket: with a reply to the client, or with the reason there is
/// none; an outcome for the audit (derived when blank) and an internal note, both optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closing {
    pub reply: Option<String>,
    pub no_reply: Option<NoReplyReason>,
    pub outcome: String,
    pub note: Option<String>,
}

/// A reply to the client, as kept with the ticket's audit record and delivered by the channel
/// the inquiry came by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientReply {
    pub text: String,
    pub channel: Channel,
    /// The client's latest message in the thread (the ticket's inquiry or its last follow-up):
    /// what an email reply is In-Reply-To.
    pub in_reply_to: String,
    /// The thread's first message, which an email reply's References start with, so that the
    /// client's answer to it joins the thread.
    pub thread_id: String,
    /// Where an email reply goes: that message's sender.
    pub recipient: Option<String>,
    /// The subject of the thread's first inquiry (an email reply says "Re: " and it).
    pub subject: String,
}

/// A reply sent on a ticket, as a channel worker or the client's frontend reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Increasing in the order replies were stored.
    pub seq: u64,
    pub ticket_id: u64,
    /// The inquiry the ticket was queued for.
    pub inquiry_id: String,
    pub client_id: String,
    pub sent_ms: i64,
    pub reply: ClientReply,
}

/// The most replies one read of the feed returns.
pub const MAX_REPLIES_PER_READ: usize = 500;

/// One read of the feed of replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepliesPage {
    pub replies: Vec<Delivered>,
    /// Where to read on from when the read stopped at its limit: the time of the last reply it
    /// looked at (replies at that time are read again, so the reader skips those it has).
    pub next_since_ms: Option<i64>,
}

impl Closing {
    /// Checks the closing (a reply, or a reason for none, not both; the note and outcome within
    /// bounds) and says the outcome the audit keeps.
    pub(super) fn checked_outcome(&self, max_reply_bytes: usize) -> Result<String, HelpdeskError> {
        let outcome = match (&self.reply, self.no_reply) {
            (Some(_), Some(_)) => {
                return Err(HelpdeskError::invalid(
                    "no_reply_reason",
                    "is set beside a reply: send one or the other",
                ));
            }
            (None, None) => {
                return Err(HelpdeskError::invalid(
                    "reply",
                    "is empty: resolving without a reply needs a reason (duplicate, spam or \
                     no reply needed)",
                ));
            }
            (Some(text), None) => {
                validate_reply(text, max_reply_bytes)?;
                "replied".to_owned()
            }
            (None, Some(reason)) => format!("no reply: {}", reason.as_str()),
        };
        if let Some(note) = &self.note {
            validate_note("internal_note", note)?;
        }
        Ok(match self.outcome.trim() {
            "" => outcome,
            given => {
                validate_note("outcome", given)?;
                given.to_owned()
            }
        })
    }

    /// The resolution the queue keeps, with `outcome` (see [`Self::checked_outcome`]), the
    /// reply threaded to the ticket's latest message.
    pub(super) fn resolution(
        self,
        outcome: String,
        ticket: &Ticket,
        inquiry: &Inquiry,
        latest: &Inquiry,
    ) -> Result<Resolution, HelpdeskError> {
        let reply = self.reply.map(|text| ClientReply {
            text,
            channel: inquiry.channel,
            in_reply_to: latest.inquiry_id.clone(),
            thread_id: inquiry
                .in_reply_to
                .clone()
                .unwrap_or_else(|| inquiry.inquiry_id.clone()),
            recipient: latest.sender.clone().or_else(|| inquiry.sender.clone()),
            subject: inquiry.subject.clone(),
        });
        let reply = reply
            .map(|reply| serde_json::to_string(&reply))
            .transpose()
            .map_err(|e| {
                HelpdeskError::CorruptRecord(format!("the reply on ticket {}: {e}", ticket.id))
            })?;
        Ok(Resolution {
            outcome,
            note: self.note,
            reply,
        })
    }
}

/// A reply's text: not blank, within the size an inquiry may have.
fn validate_reply(text: &str, max_bytes: usize) -> Result<(), HelpdeskError> {
    if text.trim().is_empty() {
        return Err(HelpdeskError::invalid("reply", "is blank"));
    }
    if text.len() > max_bytes {
        return Err(HelpdeskError::invalid(
            "reply",
            format!("is over {max_bytes} bytes"),
        ));
    }
    Ok(())
}

/// A stored reply decoded.
pub(super) fn delivered(sent: SentReply) -> Result<Delivered, HelpdeskError> {
    let reply = serde_json::from_str(&sent.payload).map_err(|e| {
        HelpdeskError::CorruptRecord(format!(
            "reply {} of ticket {}: {e}",
            sent.seq, sent.ticket_id
        ))
    })?;
    Ok(Delivered {
        seq: sent.seq,
        ticket_id: sent.ticket_id,
        inquiry_id: sent.inquiry_id,
        client_id: sent.client_id,
        sent_ms: sent.sent_ms,
        reply,
    })
}

impl Helpdesk {
    /// The replies sent at or after `since_ms` on `channel`, by time, at most `limit` (and
    /// [`MAX_REPLIES_PER_READ`]): what a channel worker delivers. A submitter bound to some
    /// clients reads theirs only.
    pub async fn replies_since(
        &self,
        caller: &Caller,
        channel: Channel,
        since_ms: i64,
        limit: usize,
    ) -> Result<RepliesPage, HelpdeskError> {
        caller.check_role(&[Role::Submitter], "read the replies sent")?;
        let limit = limit.clamp(1, MAX_REPLIES_PER_READ);
        let sent = self.queue.replies_since(since_ms, limit).await?;
        let next_since_ms = if sent.len() < limit {
            None
        } else {
            // A page of one instant would be read again forever: go on past it.
            let (first, last) = (sent[0].sent_ms, sent[sent.len() - 1].sent_ms);
            Some(if first == last { last + 1 } else { last })
        };
        let mut replies = Vec::with_capacity(sent.len());
        for sent in sent {
            if caller.check_client(&sent.client_id).is_err() {
                continue;
            }
            let reply = delivered(sent)?;
            if reply.reply.channel == channel {
                replies.push(reply);
            }
        }
        Ok(RepliesPage {
            replies,
            next_since_ms,
        })
    }
}
