//! Conversion between the proto messages and the domain types, with the validation of what
//! comes in: every rejected field is named in the error.

use prost_types::{Duration as ProtoDuration, Timestamp};

use super::ServiceError;
use crate::classify::{Classification, Explanation};
use crate::intake::{Channel, Decision, DecisionOutcome, Inquiry};
use crate::pack::Tier;
use crate::proto::v1 as pb;

/// The longest inquiry id accepted.
const MAX_ID_LEN: usize = 200;

/// Limits on what an inquiry may hold.
#[derive(Debug, Clone, Copy)]
pub struct InquiryLimits {
    pub max_text_bytes: usize,
}

/// Validates an id: 1 to 200 visible ASCII characters (an email Message-ID fits).
pub fn validate_id(field: &'static str, id: &str) -> Result<(), ServiceError> {
    if id.is_empty() {
        return Err(ServiceError::invalid(field, "is empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(ServiceError::invalid(
            field,
            format!("is {} bytes, over {MAX_ID_LEN}", id.len()),
        ));
    }
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ServiceError::invalid(
            field,
            "must be visible ASCII without spaces",
        ));
    }
    Ok(())
}

/// The longest sender address accepted (RFC 5321's path limit less the brackets).
const MAX_SENDER_LEN: usize = 254;

/// Validates a sender address: up to 254 bytes with an `@`, no spaces or control characters
/// (internationalized addresses are fine).
fn validate_sender(sender: &str) -> Result<(), ServiceError> {
    const FIELD: &str = "inquiry.sender";
    if sender.len() > MAX_SENDER_LEN {
        return Err(ServiceError::invalid(
            FIELD,
            format!("is {} bytes, over {MAX_SENDER_LEN}", sender.len()),
        ));
    }
    if !sender.contains('@') || sender.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ServiceError::invalid(
            FIELD,
            "must be an email address without spaces",
        ));
    }
    Ok(())
}

/// The domain inquiry of a request, validated; `now_ms` stands in for a missing receive time.
pub fn inquiry_from_proto(
    inquiry: Option<pb::Inquiry>,
    limits: InquiryLimits,
    now_ms: i64,
) -> Result<Inquiry, ServiceError> {
    let inquiry = inquiry.ok_or_else(|| ServiceError::invalid("inquiry", "is missing"))?;
    validate_id("inquiry.inquiry_id", &inquiry.inquiry_id)?;
    if !inquiry.sender.is_empty() {
        validate_sender(&inquiry.sender)?;
    }
    // An empty client id is allowed with a sender: the server finds the client by it.
    if !inquiry.client_id.is_empty() || inquiry.sender.is_empty() {
        validate_id("inquiry.client_id", &inquiry.client_id)?;
    }
    if !inquiry.in_reply_to.is_empty() {
        validate_id("inquiry.in_reply_to", &inquiry.in_reply_to)?;
    }
    let text_bytes = inquiry.subject.len() + inquiry.body.len();
    if text_bytes > limits.max_text_bytes {
        return Err(ServiceError::invalid(
            "inquiry.body",
            format!(
                "subject and body are {text_bytes} bytes, over the limit of {}",
                limits.max_text_bytes
            ),
        ));
    }
    if inquiry.subject.trim().is_empty() && inquiry.body.trim().is_empty() {
        return Err(ServiceError::invalid(
            "inquiry.body",
            "subject and body are both empty",
        ));
    }
    let channel = match pb::Channel::try_from(inquiry.channel) {
        Ok(pb::Channel::Unspecified) => Channel::Unspecified,
        Ok(pb::Channel::Web) => Channel::Web,
        Ok(pb::Channel::Email) => Channel::Email,
        Ok(pb::Channel::Chat) => Channel::Chat,
        Ok(pb::Channel::Api) => Channel::Api,
        Err(_) => {
            return Err(ServiceError::invalid(
                "inquiry.channel",
                format!("unknown channel {}", inquiry.channel),
            ));
        }
    };
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
    })
}

/// The proto form of a domain inquiry.
pub fn inquiry_to_proto(inquiry: &Inquiry) -> pb::Inquiry {
    let channel = match inquiry.channel {
        Channel::Unspecified => pb::Channel::Unspecified,
        Channel::Web => pb::Channel::Web,
        Channel::Email => pb::Channel::Email,
        Channel::Chat => pb::Channel::Chat,
        Channel::Api => pb::Channel::Api,
    };
    pb::Inquiry {
        inquiry_id: inquiry.inquiry_id.clone(),
        client_id: inquiry.client_id.clone(),
        channel: channel.into(),
        subject: inquiry.subject.clone(),
        body: inquiry.body.clone(),
        received_at: Some(timestamp(inquiry.received_ms)),
        in_reply_to: inquiry.in_reply_to.clone().unwrap_or_default(),
        sender: inquiry.sender.clone().unwrap_or_default(),
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
        ..pb::Decision::default()
    }
}

/// The proto form of a domain decision, with the id of the ticket it queued.
pub fn decision_to_proto(decision: &Decision, ticket_id: Option<u64>) -> pb::Decision {
    let mut proto = classification_to_proto(&decision.classification, &decision.explanation);
    proto.inquiry_id = decision.inquiry_id.clone();
    proto.client_id = decision.client_id.clone();
    proto.decided_at = Some(timestamp(decision.decided_ms));
    match &decision.outcome {
        DecisionOutcome::Answered(answer) => {
            proto.outcome = Some(pb::decision::Outcome::Answer(pb::Answer {
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
            }));
        }
        DecisionOutcome::Queued(ticket) => {
            proto.escalation_reason = ticket
                .escalation
                .as_ref()
                .map(|e| e.reason.clone())
                .unwrap_or_default();
            proto.outcome = Some(pb::decision::Outcome::Ticket(pb::Ticket {
                ticket_id: ticket_id.unwrap_or_default(),
                queue: ticket.queue.clone(),
                priority: u32::from(ticket.priority),
                sla_due: Some(timestamp(ticket.sla_due_ms)),
            }));
        }
    }
    proto
}

/// A proto timestamp of Unix milliseconds.
pub fn timestamp(ms: i64) -> Timestamp {
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

/// Milliseconds of a proto duration, if positive and valid.
pub fn duration_to_ms(field: &'static str, duration: &ProtoDuration) -> Result<i64, ServiceError> {
    let ms = duration
        .seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(duration.nanos / 1_000_000)))
        .filter(|ms| *ms > 0 && (0..1_000_000_000).contains(&duration.nanos))
        .ok_or_else(|| ServiceError::invalid(field, "must be a positive duration"))?;
    Ok(ms)
}

/// The proto timestamp of an ISO-8601 date or UTC date-time (`YYYY-MM-DD[THH:MM:SSZ]`).
fn iso_to_timestamp(iso: &str) -> Option<Timestamp> {
    let number = |range: std::ops::Range<usize>| iso.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = if iso.len() >= 19 {
        (number(11..13)?, number(14..16)?, number(17..19)?)
    } else {
        (0, 0, 0)
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(Timestamp {
        seconds: days * 86_400 + hour * 3600 + minute * 60 + second,
        nanos: 0,
    })
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
        }
    }

    const LIMITS: InquiryLimits = InquiryLimits {
        max_text_bytes: 100,
    };

    /// A valid inquiry converts and keeps its fields.
    #[test]
    fn converts_a_valid_inquiry() {
        let inquiry = inquiry_from_proto(Some(proto_inquiry()), LIMITS, 0).unwrap();
        assert_eq!(inquiry.received_ms, 1_700_000_000_123);
        assert_eq!(inquiry.channel, Channel::Email);
        assert_eq!(inquiry_to_proto(&inquiry), proto_inquiry());
    }

    /// Without a client id, a sender is enough: the server finds the client by it.
    #[test]
    fn a_sender_stands_in_for_the_client_id() {
        let mut proto = proto_inquiry();
        proto.client_id.clear();
        let inquiry = inquiry_from_proto(Some(proto), LIMITS, 0).unwrap();
        assert_eq!(inquiry.client_id, "");
        assert_eq!(inquiry.sender.as_deref(), Some("ops@acme.example"));
    }

    type Change = dyn Fn(&mut pb::Inquiry);

    /// Each bad field is refused with its name.
    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(Box<Change>, &str)> = vec![
            (
                Box::new(|i| i.inquiry_id.clear()),
                "inquiry.inquiry_id: is empty",
            ),
            (
                Box::new(|i| i.inquiry_id = "a b".into()),
                "inquiry.inquiry_id: must be visible ASCII",
            ),
            (
                Box::new(|i| i.inquiry_id = "x".repeat(201)),
                "inquiry.inquiry_id: is 201 bytes",
            ),
            (
                Box::new(|i| i.client_id = "é".into()),
                "inquiry.client_id: must be visible ASCII",
            ),
            (
                Box::new(|i| i.in_reply_to = "\t".into()),
                "inquiry.in_reply_to",
            ),
            (
                Box::new(|i| i.sender = "ops at acme".into()),
                "inquiry.sender: must be an email address",
            ),
            (
                Box::new(|i| {
                    i.client_id.clear();
                    i.sender.clear();
                }),
                "inquiry.client_id: is empty",
            ),
            (
                Box::new(|i| {
                    i.subject = " ".into();
                    i.body = "\n".into();
                }),
                "inquiry.body: subject and body are both empty",
            ),
            (
                Box::new(|i| i.body = "x".repeat(101)),
                "over the limit of 100",
            ),
            (
                Box::new(|i| i.channel = 42),
                "inquiry.channel: unknown channel 42",
            ),
            (
                Box::new(|i| {
                    i.received_at = Some(Timestamp {
                        seconds: 1,
                        nanos: -1,
                    })
                }),
                "inquiry.received_at",
            ),
        ];
        for (change, expected) in cases {
            let mut inquiry = proto_inquiry();
            change(&mut inquiry);
            let error = inquiry_from_proto(Some(inquiry), LIMITS, 0).unwrap_err();
            assert!(
                matches!(error, ServiceError::InvalidArgument { .. }),
                "{error}"
            );
            assert!(
                error.to_string().contains(expected),
                "{error} !~ {expected}"
            );
        }
        let missing = inquiry_from_proto(None, LIMITS, 0).unwrap_err().to_string();
        assert_eq!(missing, "inquiry: is missing");
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
