//! Translation between the proto messages and the domain API's types. What cannot be
//! translated (an unknown enum value, an invalid timestamp or duration) is refused naming the
//! field; every other rule is the domain's.

use prost_types::{Duration as ProtoDuration, Timestamp};

use super::ServiceError;
use crate::classify::{Classification, Explanation, Recommendation};
use crate::helpdesk::{
    Acknowledgement, AttachedFollowUp, ClaimedTicket, Closing, DeadLetterView, Delivered,
    HeldTicket, InquiryState, NoReplyReason, QueueReport, Status,
};
use crate::intake::{AnswerRecord, Channel, Decision, Disposition, Inquiry, ThreadRole};
use crate::pack::Tier;
use crate::proto::v1 as pb;
use crate::route::LeaseToken;

/// The domain inquiry of a request; `now_ms` stands in for a missing receive time. What the
/// domain checks (ids, sender, text) it checks; here only what does not translate is refused.
pub fn inquiry_from_proto(
    inquiry: Option<pb::Inquiry>,
    now_ms: i64,
) -> Result<Inquiry, ServiceError> {
    let inquiry = inquiry.ok_or_else(|| ServiceError::invalid("inquiry", "is missing"))?;
    let channel = channel_from_proto("inquiry.channel", inquiry.channel)?;
    let received_ms = match inquiry.received_at {
        None => now_ms,
        Some(timestamp) => timestamp_to_ms(&timestamp)
            .ok_or_else(|| ServiceError::invalid("inquiry.received_at", "is not a valid time"))?,
    };
    Ok(Inquiry {
        inquiry_id: inquiry.inquiry_id,
        client_id: inquiry.client_id,
        channel,
        subject: inquiry.subject,
        body: inquiry.body,
        received_ms,
        in_reply_to: Some(inquiry.in_reply_to).filter(|id| !id.is_empty()),
        sender: Some(inquiry.sender).filter(|sender| !sender.is_empty()),
        attachments: inquiry.attachments,
        handoff_reason: Some(inquiry.handoff_reason).filter(|reason| !reason.is_empty()),
    })
}

/// The proto form of a channel.
fn channel_to_proto(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Unspecified => pb::Channel::Unspecified,
        Channel::Web => pb::Channel::Web,
        Channel::Email => pb::Channel::Email,
        Channel::Chat => pb::Channel::Chat,
        Channel::Api => pb::Channel::Api,
    }
}

/// The domain channel of a proto value; `field` names it when it is unknown.
pub fn channel_from_proto(field: &'static str, value: i32) -> Result<Channel, ServiceError> {
    match pb::Channel::try_from(value) {
        Ok(pb::Channel::Unspecified) => Ok(Channel::Unspecified),
        Ok(pb::Channel::Web) => Ok(Channel::Web),
        Ok(pb::Channel::Email) => Ok(Channel::Email),
        Ok(pb::Channel::Chat) => Ok(Channel::Chat),
        Ok(pb::Channel::Api) => Ok(Channel::Api),
        Err(_) => Err(ServiceError::invalid(
            field,
            format!("unknown channel {value}"),
        )),
    }
}

/// How a Resolve request closes its ticket.
pub fn closing_from_proto(request: &pb::ResolveRequest) -> Result<Closing, ServiceError> {
    let no_reply = match pb::NoReplyReason::try_from(request.no_reply_reason) {
        Ok(pb::NoReplyReason::Unspecified) => None,
        Ok(pb::NoReplyReason::Duplicate) => Some(NoReplyReason::Duplicate),
        Ok(pb::NoReplyReason::Spam) => Some(NoReplyReason::Spam),
        Ok(pb::NoReplyReason::NoReplyNeeded) => Some(NoReplyReason::NoReplyNeeded),
        Err(_) => {
            return Err(ServiceError::invalid(
                "no_reply_reason",
                format!("unknown reason {}", request.no_reply_reason),
            ));
        }
    };
    Ok(Closing {
        reply: Some(request.reply.clone()).filter(|reply| !reply.is_empty()),
        no_reply,
        outcome: request.outcome.clone(),
        note: Some(request.internal_note.clone()).filter(|note| !note.trim().is_empty()),
    })
}

/// The proto form of what a client is told when a person will answer.
pub fn acknowledgement_to_proto(ack: &Acknowledgement) -> pb::Acknowledgement {
    let expected = ack.expected.as_ref();
    pb::Acknowledgement {
        team: ack.team.clone(),
        sla_due: Some(timestamp(ack.sla_due_ms)),
        expected_wait: expected.map(|e| e.english().to_owned()).unwrap_or_default(),
        expected_wait_kind: expected
            .map(|e| e.bucket.kind.label().to_owned())
            .unwrap_or_default(),
        expected_by: expected.map(|e| timestamp(e.bucket.deadline_ms)),
        text: ack.text.clone(),
    }
}

/// The proto form of a reply sent.
pub fn reply_to_proto(sent: &Delivered) -> pb::Reply {
    pb::Reply {
        seq: sent.seq,
        ticket_id: sent.ticket_id,
        inquiry_id: sent.inquiry_id.clone(),
        client_id: sent.client_id.clone(),
        sent_at: Some(timestamp(sent.sent_ms)),
        text: sent.reply.text.clone(),
        channel: channel_to_proto(sent.reply.channel).into(),
        in_reply_to: sent.reply.in_reply_to.clone(),
        recipient: sent.reply.recipient.clone().unwrap_or_default(),
        subject: sent.reply.subject.clone(),
        thread_id: sent.reply.thread_id.clone(),
    }
}

/// The proto form of an inquiry's state.
pub fn inquiry_state_to_proto(state: &InquiryState) -> pb::InquiryState {
    let (status, queue, lease_expires, resolved_at) = match &state.status {
        Status::Answered => (pb::InquiryStatus::Answered, None, None, None),
        Status::NoReply => (pb::InquiryStatus::NoReply, None, None, None),
        Status::Queued { queue } => (pb::InquiryStatus::Queued, Some(queue), None, None),
        Status::Claimed {
            queue,
            lease_expires_ms,
        } => (
            pb::InquiryStatus::Claimed,
            Some(queue),
            Some(timestamp(*lease_expires_ms)),
            None,
        ),
        Status::Resolved { queue, resolved_ms } => (
            pb::InquiryStatus::Resolved,
            Some(queue),
            None,
            Some(timestamp(*resolved_ms)),
        ),
        Status::DeadLettered { queue } => {
            (pb::InquiryStatus::DeadLettered, Some(queue), None, None)
        }
        Status::Closed => (pb::InquiryStatus::Closed, None, None, None),
    };
    pb::InquiryState {
        inquiry_id: state.decision.inquiry_id.clone(),
        status: status.into(),
        decision: Some(decision_to_proto(&state.decision, state.ticket_id)),
        queue: queue.cloned().unwrap_or_default(),
        lease_expires,
        resolved_at,
        replies: state.replies.iter().map(reply_to_proto).collect(),
    }
}

/// The proto form of a domain inquiry.
pub fn inquiry_to_proto(inquiry: &Inquiry) -> pb::Inquiry {
    pb::Inquiry {
        inquiry_id: inquiry.inquiry_id.clone(),
        client_id: inquiry.client_id.clone(),
        channel: channel_to_proto(inquiry.channel).into(),
        subject: inquiry.subject.clone(),
        body: inquiry.body.clone(),
        received_at: Some(timestamp(inquiry.received_ms)),
        in_reply_to: inquiry.in_reply_to.clone().unwrap_or_default(),
        sender: inquiry.sender.clone().unwrap_or_default(),
        attachments: inquiry.attachments.clone(),
        handoff_reason: inquiry.handoff_reason.clone().unwrap_or_default(),
    }
}

fn tier(tier: Tier) -> i32 {
    match tier {
        Tier::Direct => pb::Tier::Direct.into(),
        Tier::Expert => pb::Tier::Expert.into(),
    }
}

/// The proto decision of a classification alone (a dry run: no answer, no ticket).
pub fn classification_to_proto(
    classification: &Classification,
    explanation: &Explanation,
) -> pb::Decision {
    pb::Decision {
        tier: tier(classification.tier),
        intent: classification.intent.clone(),
        tier_confidence: classification.tier_probability,
        intent_confidence: classification.intent_probability,
        margin: classification.margin,
        alternatives: classification
            .alternatives
            .iter()
            .map(|a| pb::Alternative {
                intent: a.intent.clone(),
                tier: tier(a.tier),
                probability: a.probability,
            })
            .collect(),
        explanation: Some(pb::Explanation {
            terms: explanation
                .terms
                .iter()
                .map(|t| pb::WeightedTerm {
                    term: t.term.clone(),
                    weight: t.weight,
                })
                .collect(),
            against: explanation.against.clone().unwrap_or_default(),
            nearest: explanation
                .nearest
                .iter()
                .map(|n| pb::NearestExample {
                    text: n.text.clone(),
                    intent: n.intent.clone(),
                    similarity: n.similarity,
                })
                .collect(),
        }),
        model_version: classification.model_version.clone(),
        parts: classification
            .parts
            .iter()
            .map(|p| pb::InquiryPart {
                text: p.text.clone(),
                intent: p.intent.clone(),
                tier: tier(p.tier),
                confidence: p.target_probability,
            })
            .collect(),
        outcome: dry_run_outcome(&classification.outcome),
        escalation_kind: match &classification.outcome {
            Recommendation::Escalate { reason, .. } => reason.kind().to_owned(),
            _ => String::new(),
        },
        escalation_reason: match &classification.outcome {
            Recommendation::Escalate { reason, .. } => reason.describe(),
            _ => String::new(),
        },
        ..pb::Decision::default()
    }
}

/// The part of a dry run's outcome that needs no answer lookup and no ticket: a decision that
/// needs no reply. (Answers and tickets only exist once an inquiry is submitted.)
fn dry_run_outcome(outcome: &Recommendation) -> Option<pb::decision::Outcome> {
    match outcome {
        Recommendation::NoReply { reason } => Some(pb::decision::Outcome::NoReply(pb::NoReply {
            kind: reason.kind().to_owned(),
            reason: reason.describe().to_owned(),
        })),
        _ => None,
    }
}

/// The proto form of an answer record.
fn answer_to_proto(answer: &AnswerRecord) -> pb::Answer {
    pb::Answer {
        text: answer.text.clone(),
        facts: answer
            .facts
            .iter()
            .map(|(name, value)| pb::Fact {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        as_of: iso_to_timestamp(&answer.as_of),
        status_kind: answer.status_kind.clone(),
        entity_id: answer.entity_id.clone().unwrap_or_default(),
        variant: answer.variant.as_ref().map(|variant| pb::AnswerVariant {
            language: variant.language.to_string(),
            language_source: variant.language_source.to_string(),
            contact: variant.contact.clone().unwrap_or_default(),
            role: variant
                .role
                .map(|role| role.to_string())
                .unwrap_or_default(),
            role_wording: variant.role_wording,
            reason: variant.reason(),
        }),
    }
}

/// The proto form of a domain decision, with the id of the ticket it queued.
pub fn decision_to_proto(decision: &Decision, ticket_id: Option<u64>) -> pb::Decision {
    let mut proto = classification_to_proto(&decision.classification, &decision.explanation);
    proto.inquiry_id = decision.inquiry_id.clone();
    proto.client_id = decision.client_id.clone();
    proto.decided_at = Some(timestamp(decision.decided_ms));
    match &decision.outcome {
        Disposition::Answered(answer) => {
            proto.outcome = Some(pb::decision::Outcome::Answer(answer_to_proto(answer)));
        }
        Disposition::Queued(ticket) => {
            (proto.escalation_kind, proto.escalation_reason) = ticket
                .escalation
                .as_ref()
                .map(|e| (e.kind.clone(), e.reason.clone()))
                .unwrap_or_default();
            proto.outcome = Some(pb::decision::Outcome::Ticket(pb::Ticket {
                ticket_id: ticket_id.unwrap_or_default(),
                queue: ticket.queue.clone(),
                priority: u32::from(ticket.priority),
                sla_due: Some(timestamp(ticket.sla_due_ms)),
                prepared_answers: ticket
                    .prepared_answers
                    .iter()
                    .map(answer_to_proto)
                    .collect(),
                attached: false,
                reopened: false,
            }));
        }
        Disposition::Attached(ticket) => {
            proto.outcome = Some(pb::decision::Outcome::Ticket(pb::Ticket {
                ticket_id: ticket_id.unwrap_or_default(),
                queue: ticket.queue.clone(),
                priority: u32::from(ticket.priority),
                sla_due: Some(timestamp(ticket.sla_due_ms)),
                prepared_answers: Vec::new(),
                attached: true,
                reopened: ticket.reopened,
            }));
        }
        Disposition::NoReply(no_reply) => {
            (proto.escalation_kind, proto.escalation_reason) = (String::new(), String::new());
            proto.outcome = Some(pb::decision::Outcome::NoReply(pb::NoReply {
                kind: no_reply.reason_kind.clone(),
                reason: no_reply.reason.clone(),
            }));
        }
    }
    proto.thread = decision.thread.as_ref().map(|thread| pb::Thread {
        thread_id: thread.id.clone(),
        role: match thread.role {
            ThreadRole::Started => pb::ThreadRole::Started,
            ThreadRole::Attached => pb::ThreadRole::Attached,
            ThreadRole::WithContext => pb::ThreadRole::WithContext,
            ThreadRole::OnItsOwn => pb::ThreadRole::OnItsOwn,
        }
        .into(),
    });
    proto
}

/// The earliest instant a proto timestamp may hold, 0001-01-01T00:00:00Z, in Unix milliseconds.
const EARLIEST_TIMESTAMP_MS: i64 = -62_135_596_800_000;
/// The last instant a proto timestamp may hold, 9999-12-31T23:59:59.999Z, in Unix milliseconds.
const LATEST_TIMESTAMP_MS: i64 = 253_402_300_799_999;

/// A proto timestamp of Unix milliseconds, moved into the range the format allows (years 1 to
/// 9999): a strict client refuses to decode a response holding a timestamp outside it, and an
/// instant past year 9999 (a due date of a record from year 0, a sum that ran over) means
/// "never" as well as that year's end does.
pub fn timestamp(ms: i64) -> Timestamp {
    let ms = ms.clamp(EARLIEST_TIMESTAMP_MS, LATEST_TIMESTAMP_MS);
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Unix milliseconds of a proto timestamp, if it is a valid one.
pub fn timestamp_to_ms(timestamp: &Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&timestamp.nanos) {
        return None;
    }
    timestamp
        .seconds
        .checked_mul(1000)?
        .checked_add(i64::from(timestamp.nanos / 1_000_000))
}

/// A proto duration of milliseconds.
pub fn duration(ms: i64) -> ProtoDuration {
    ProtoDuration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// The duration of a proto duration in whole milliseconds, if positive and valid.
pub fn duration_from_proto(
    field: &'static str,
    duration: &ProtoDuration,
) -> Result<std::time::Duration, ServiceError> {
    let ms = duration
        .seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(duration.nanos / 1_000_000)))
        .filter(|ms| *ms > 0 && (0..1_000_000_000).contains(&duration.nanos))
        .ok_or_else(|| ServiceError::invalid(field, "must be a positive duration"))?;
    Ok(std::time::Duration::from_millis(ms.unsigned_abs()))
}

/// The ticket a request names with the lease token it holds; a token not in its written form
/// (32 lowercase hex digits) is refused naming the field `lease_token`.
pub fn held_ticket_from_proto(
    ticket_id: u64,
    lease_token: &str,
) -> Result<HeldTicket, ServiceError> {
    let lease_token = lease_token
        .parse::<LeaseToken>()
        .map_err(|err| ServiceError::invalid("lease_token", err.to_string()))?;
    Ok(HeldTicket {
        ticket_id,
        lease_token,
    })
}

/// The proto form of a claimed ticket: the ticket, its lease, the inquiry, its follow-ups and
/// the decision.
pub fn claimed_ticket_to_proto(claimed: &ClaimedTicket) -> pb::ClaimedTicket {
    let lease = claimed.lease.as_ref();
    let decision = claimed
        .decision
        .as_ref()
        .map(|decision| decision_to_proto(decision, Some(claimed.ticket_id)));
    let prepared_answers = match decision.as_ref().and_then(|d| d.outcome.as_ref()) {
        Some(pb::decision::Outcome::Ticket(decided)) => decided.prepared_answers.clone(),
        _ => Vec::new(),
    };
    pb::ClaimedTicket {
        ticket: Some(pb::Ticket {
            ticket_id: claimed.ticket_id,
            queue: claimed.queue.clone(),
            priority: u32::from(claimed.priority),
            sla_due: Some(timestamp(claimed.sla_due_ms)),
            prepared_answers,
            attached: false,
            reopened: false,
        }),
        lease_token: lease.map(|l| l.token.to_string()).unwrap_or_default(),
        lease_expires: lease.map(|l| timestamp(l.expires_ms)),
        deliveries: claimed.deliveries,
        inquiry: Some(inquiry_to_proto(&claimed.inquiry)),
        decision,
        follow_ups: follow_ups_to_proto(&claimed.follow_ups),
    }
}

/// The proto form of a ticket's follow-ups.
fn follow_ups_to_proto(follow_ups: &[AttachedFollowUp]) -> Vec<pb::FollowUp> {
    follow_ups
        .iter()
        .map(|follow_up| pb::FollowUp {
            inquiry: Some(inquiry_to_proto(&follow_up.inquiry)),
            attached_at: Some(timestamp(follow_up.attached_ms)),
        })
        .collect()
}

/// The proto form of a dead letter: the ticket, its inquiry and follow-ups, why and when.
pub fn dead_letter_to_proto(letter: &DeadLetterView) -> pb::DeadLetter {
    pb::DeadLetter {
        ticket: Some(pb::Ticket {
            ticket_id: letter.ticket_id,
            queue: letter.queue.clone(),
            priority: u32::from(letter.priority),
            sla_due: Some(timestamp(letter.sla_due_ms)),
            prepared_answers: Vec::new(),
            attached: false,
            reopened: false,
        }),
        inquiry: Some(inquiry_to_proto(&letter.inquiry)),
        reason: letter.reason.clone(),
        dead_at: Some(timestamp(letter.dead_ms)),
        deliveries: letter.deliveries,
        follow_ups: follow_ups_to_proto(&letter.follow_ups),
    }
}

/// The proto form of a queue's statistics with what the pack says of it.
pub fn queue_report_to_proto(report: QueueReport) -> pb::QueueStats {
    let stats = report.stats;
    pb::QueueStats {
        description: report.description,
        sla_hours: report.sla_hours,
        ready: stats.ready,
        leased: stats.leased,
        dead_letters: stats.dead_letters,
        oldest_ready_age: stats.oldest_ready_age_ms.map(duration),
        sla_breaches: stats.sla_breaches,
        next: stats.next_ready.map(|next| pb::NextTicket {
            priority: next.priority.into(),
            sla_due: Some(timestamp(next.sla_due_ms)),
        }),
        queue: stats.queue,
    }
}

/// The proto timestamp of a status-data date or UTC date-time (`YYYY-MM-DD[THH:MM:SSZ]`); a
/// date alone is its midnight UTC.
fn iso_to_timestamp(iso: &str) -> Option<Timestamp> {
    crate::answer::Timestamp::parse(iso).map(|time| timestamp(time.unix_ms()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto_inquiry() -> pb::Inquiry {
        pb::Inquiry {
            inquiry_id: "<m1@mail.example>".into(),
            client_id: "acme".into(),
            channel: pb::Channel::Email.into(),
            subject: "Report".into(),
            body: "when is it due?".into(),
            received_at: Some(timestamp(1_700_000_000_123)),
            in_reply_to: String::new(),
            sender: "ops@acme.example".into(),
            attachments: vec!["brief.pdf".into()],
            handoff_reason: "held".into(),
        }
    }

    /// A valid inquiry converts and keeps its fields; a missing receive time is now.
    #[test]
    fn converts_a_valid_inquiry() {
        let inquiry = inquiry_from_proto(Some(proto_inquiry()), 0).unwrap();
        assert_eq!(inquiry.received_ms, 1_700_000_000_123);
        assert_eq!(inquiry.channel, Channel::Email);
        assert_eq!(inquiry_to_proto(&inquiry), proto_inquiry());
        let mut untimed = proto_inquiry();
        untimed.received_at = None;
        assert_eq!(
            inquiry_from_proto(Some(untimed), 42).unwrap().received_ms,
            42
        );
    }

    /// What does not translate is refused naming the field.
    #[test]
    fn untranslatable_fields_are_named() {
        let mut channel = proto_inquiry();
        channel.channel = 42;
        let error = inquiry_from_proto(Some(channel), 0)
            .unwrap_err()
            .to_string();
        assert_eq!(error, "inquiry.channel: unknown channel 42");
        let mut time = proto_inquiry();
        time.received_at = Some(Timestamp {
            seconds: 1,
            nanos: -1,
        });
        let error = inquiry_from_proto(Some(time), 0).unwrap_err().to_string();
        assert_eq!(error, "inquiry.received_at: is not a valid time");
        let missing = inquiry_from_proto(None, 0).unwrap_err().to_string();
        assert_eq!(missing, "inquiry: is missing");
    }

    /// Leases translate to whole milliseconds; zero, negative or malformed ones are refused.
    #[test]
    fn durations_translate_or_are_refused() {
        let lease = ProtoDuration {
            seconds: 1,
            nanos: 500_000_000,
        };
        assert_eq!(
            duration_from_proto("lease", &lease).unwrap(),
            std::time::Duration::from_millis(1500)
        );
        for bad in [(0, 0), (-1, 0), (0, 999_999), (1, -1)] {
            let duration = ProtoDuration {
                seconds: bad.0,
                nanos: bad.1,
            };
            let error = duration_from_proto("lease", &duration).unwrap_err();
            assert_eq!(error.to_string(), "lease: must be a positive duration");
        }
    }

    /// A lease token translates from its written form; anything else is refused naming the
    /// field `lease_token`.
    #[test]
    fn lease_tokens_translate_or_are_refused() {
        let token = "0123456789abcdef0123456789abcdef";
        let held = held_ticket_from_proto(7, token).unwrap();
        assert_eq!(
            (held.ticket_id, held.lease_token.to_string()),
            (7, token.to_owned())
        );
        for bad in ["", "1", "0123456789ABCDEF0123456789ABCDEF"] {
            let error = held_ticket_from_proto(7, bad).unwrap_err();
            assert_eq!(
                error.to_string(),
                "lease_token: must be 32 lowercase hexadecimal digits"
            );
        }
    }

    /// Every instant, however far out, becomes a timestamp within the format's range (years 1
    /// to 9999), which strict clients decode.
    #[test]
    fn timestamps_stay_within_the_format_range() {
        let earliest = timestamp(EARLIEST_TIMESTAMP_MS);
        let latest = timestamp(LATEST_TIMESTAMP_MS);
        assert_eq!((earliest.seconds, earliest.nanos), (-62_135_596_800, 0));
        assert_eq!(
            (latest.seconds, latest.nanos),
            (253_402_300_799, 999_000_000)
        );
        for ms in [
            i64::MIN,
            -62_167_219_200_000,
            1_000_000_000_000_000_000,
            i64::MAX,
        ] {
            let time = timestamp(ms);
            assert!(
                (earliest.seconds..=latest.seconds).contains(&time.seconds),
                "{ms} ms became {time:?}"
            );
            assert!((0..1_000_000_000).contains(&time.nanos), "{time:?}");
        }
        assert_eq!(timestamp(1_700_000_000_123).seconds, 1_700_000_000);
    }

    /// ISO dates convert to the right instant.
    #[test]
    fn iso_dates_convert() {
        assert_eq!(iso_to_timestamp("1970-01-01").unwrap().seconds, 0);
        assert_eq!(
            iso_to_timestamp("2026-11-20T09:00:00Z").unwrap().seconds,
            1_795_165_200
        );
        assert!(iso_to_timestamp("soon").is_none());
    }
}
