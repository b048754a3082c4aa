//! The specialists' replies going out by email. After each pass over the mailbox the worker
//! reads the replies sent on the email channel (`ListReplies`) since the last it delivered and
//! writes each into the outbox: from the helpdesk's address to the client, "Re: " and the
//! thread's subject, In-Reply-To the client's latest mail and References starting at the
//! thread's first one (so the client's answer joins the same thread and ticket). A person wrote
//! it, so it carries no `Auto-Submitted` header.
//!
//! Delivered replies are kept in `.triage/replies.jsonl` (one line per reply, synced after the
//! mail is in the outbox): a reply is written once, and the next read starts a minute before
//! the newest one delivered, since replicas store replies only roughly in time order. A worker
//! killed between the outbox and that line writes the same file again (same name, same bytes).

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use mail_builder::MessageBuilder;
use serde::{Deserialize, Serialize};
use tonic::Status;
use tonic::transport::Channel;

use super::jsonl;
use super::reply::{message_domain, reply_subject, write_replies};
use crate::proto::v1 as pb;
use crate::proto::v1::triage_service_client::TriageServiceClient;

/// How far before the newest reply delivered the next read starts.
const LOOKBACK_MS: i64 = 60_000;

/// One delivered reply, as its line in `replies.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
struct DeliveredLine {
    seq: u64,
    sent_ms: i64,
}

/// The replies this spool delivered, and the file that keeps them.
pub struct Deliveries {
    path: PathBuf,
    delivered: HashSet<u64>,
    newest_ms: Option<i64>,
}

impl Deliveries {
    /// Reads the deliveries kept at `path` (none yet: none delivered); a line that does not
    /// read is an error naming it.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut deliveries = Self {
            path: path.to_owned(),
            delivered: HashSet::new(),
            newest_ms: None,
        };
        for line in jsonl::read::<DeliveredLine>(path)? {
            deliveries.remember(&line);
        }
        Ok(deliveries)
    }

    fn remember(&mut self, line: &DeliveredLine) {
        self.delivered.insert(line.seq);
        self.newest_ms = Some(
            self.newest_ms
                .map_or(line.sent_ms, |ms| ms.max(line.sent_ms)),
        );
    }

    /// Where the next read starts.
    fn since_ms(&self) -> i64 {
        self.newest_ms
            .map_or(0, |ms| ms.saturating_sub(LOOKBACK_MS))
    }

    /// Writes every reply sent since the last read into `outbox`, from `from_address`; the
    /// replies it wrote.
    pub async fn deliver(
        &mut self,
        client: &mut TriageServiceClient<Channel>,
        authorization: Option<&tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
        outbox: &Path,
        from_address: &str,
    ) -> Result<Vec<pb::Reply>, DeliveryError> {
        let mut since_ms = self.since_ms();
        let mut written = Vec::new();
        loop {
            let mut request = tonic::Request::new(pb::ListRepliesRequest {
                channel: pb::Channel::Email.into(),
                since: Some(crate::grpc::convert::timestamp(since_ms)),
                limit: 0,
            });
            if let Some(authorization) = authorization {
                request
                    .metadata_mut()
                    .insert("authorization", authorization.clone());
            }
            let page = client.list_replies(request).await?.into_inner();
            for reply in page.replies {
                if self.delivered.contains(&reply.seq) {
                    continue;
                }
                if self.write(&reply, outbox, from_address)? {
                    written.push(reply);
                }
            }
            match &page.next_since {
                Some(next) => {
                    since_ms = crate::grpc::convert::timestamp_to_ms(next).unwrap_or(i64::MAX)
                }
                None => return Ok(written),
            }
        }
    }

    /// Puts `reply` into the outbox (false: it has no recipient), then keeps it delivered.
    fn write(&mut self, reply: &pb::Reply, outbox: &Path, from_address: &str) -> io::Result<bool> {
        let sent_ms = reply
            .sent_at
            .as_ref()
            .and_then(crate::grpc::convert::timestamp_to_ms)
            .unwrap_or_default();
        let written = !reply.recipient.is_empty();
        if !written {
            tracing::warn!(
                ticket_id = reply.ticket_id,
                seq = reply.seq,
                "a reply by email without a recipient is not sent"
            );
        } else {
            let eml = specialist_reply_eml(reply, from_address, sent_ms)?;
            let name = format!("ticket-{}-reply-{}", reply.ticket_id, reply.seq);
            write_replies(outbox, &[(name.as_str(), eml.as_slice())])?;
            tracing::info!(
                ticket_id = reply.ticket_id,
                seq = reply.seq,
                in_reply_to = %reply.in_reply_to,
                "specialist's reply written to the outbox"
            );
        }
        let line = DeliveredLine {
            seq: reply.seq,
            sent_ms,
        };
        jsonl::append(&self.path, std::slice::from_ref(&line))?;
        self.remember(&line);
        Ok(written)
    }
}

/// Why replies could not be delivered now.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("reading the replies sent: {0}")]
    Server(#[from] Status),
    #[error("writing a reply: {0}")]
    Io(#[from] io::Error),
}

/// The Message-ID of the mail carrying a specialist's `reply`, from `from_address`.
pub fn specialist_reply_id(reply: &pb::Reply, from_address: &str) -> String {
    format!(
        "ticket-{}-reply-{}@{}",
        reply.ticket_id,
        reply.seq,
        message_domain(from_address)
    )
}

/// The mail carrying a specialist's `reply`, from `from_address`, dated when it was sent.
pub fn specialist_reply_eml(
    reply: &pb::Reply,
    from_address: &str,
    sent_ms: i64,
) -> io::Result<Vec<u8>> {
    let mut references = vec![reply.thread_id.as_str()];
    if reply.in_reply_to != reply.thread_id {
        references.push(reply.in_reply_to.as_str());
    }
    references.retain(|id| !id.is_empty());
    let mut builder = MessageBuilder::new()
        .from(from_address)
        .to(reply.recipient.as_str())
        .subject(reply_subject(&reply.subject))
        .message_id(specialist_reply_id(reply, from_address))
        .date(sent_ms.div_euclid(1000))
        .text_body(format!("{}\n", reply.text.trim_end()));
    if !reply.in_reply_to.is_empty() {
        builder = builder
            .in_reply_to(reply.in_reply_to.as_str())
            .references(references);
    }
    builder.write_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(seq: u64) -> pb::Reply {
        pb::Reply {
            seq,
            ticket_id: 7,
            inquiry_id: "m1@acme.example".into(),
            client_id: "acme".into(),
            sent_at: Some(crate::grpc::convert::timestamp(1_795_165_200_000)),
            text: "Здравствуйте! Our proposal is attached.".into(),
            channel: pb::Channel::Email.into(),
            in_reply_to: "m2@acme.example".into(),
            recipient: "wang@acme.example".into(),
            subject: "RE: Content plan".into(),
            thread_id: "m1@acme.example".into(),
        }
    }

    /// The reply is a person's, threaded under the latest mail with the thread's root first.
    #[test]
    fn a_specialists_reply_is_threaded_and_not_automatic() {
        let eml =
            specialist_reply_eml(&reply(3), "help@agency.example", 1_795_165_200_000).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&eml).unwrap();
        assert_eq!(parsed.subject(), Some("Re: Content plan"));
        assert_eq!(parsed.in_reply_to().as_text(), Some("m2@acme.example"));
        let text = String::from_utf8_lossy(&eml);
        assert!(
            text.contains("References: <m1@acme.example> <m2@acme.example>"),
            "{text}"
        );
        assert!(
            text.contains("Message-ID: <ticket-7-reply-3@agency.example>"),
            "{text}"
        );
        assert!(!text.contains("Auto-Submitted"), "{text}");
        assert_eq!(
            parsed.body_text(0).as_deref().map(str::trim),
            Some("Здравствуйте! Our proposal is attached.")
        );
    }

    /// A delivered reply is kept across a restart and not written again.
    #[test]
    fn deliveries_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".triage/replies.jsonl");
        let outbox = dir.path().join("outbox");
        let mut deliveries = Deliveries::open(&path).unwrap();
        assert_eq!(deliveries.since_ms(), 0);
        deliveries
            .write(&reply(3), &outbox, "help@agency.example")
            .unwrap();
        let reopened = Deliveries::open(&path).unwrap();
        assert!(reopened.delivered.contains(&3));
        assert_eq!(reopened.since_ms(), 1_795_165_200_000 - LOOKBACK_MS);
        assert!(outbox.join("ticket-7-reply-3.eml").exists());
        std::fs::write(&path, "{\"seq\":1}\nnot json\n").unwrap();
        let error = Deliveries::open(&path).err().unwrap().to_string();
        assert!(
            error.ends_with("replies.jsonl line 1: missing field `sent_ms` at line 1 column 9"),
            "{error}"
        );
    }
}
