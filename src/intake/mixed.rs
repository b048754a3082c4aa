//! Inquiries that hold questions of both tiers: the direct questions' answers, prepared from the
//! client's data for the specialist who answers the whole inquiry.
//!
//! The classifier routes such an inquiry to its expert question's specialist queue and lists its
//! clauses. Answering the direct clause automatically and ticketing the rest would send the client
//! two replies and risk the second being read as the only one; one specialist reply, with the
//! facts already looked up, is one complete answer. A direct clause whose answer cannot be looked
//! up (no data, an ambiguous entity) is simply not prepared: the specialist sees it in the clauses.

use crate::answer::{Answer, Client, Reader, StatusData};
use crate::classify::{Part, Recommendation};

use super::AnswerRecord;

/// The answers of the direct `parts` that the client's data supports, for an inquiry received
/// at `received`, written for `reader`.
pub(super) fn prepared_answers(
    status: &StatusData,
    client: &Client,
    reader: &Reader,
    parts: &[Part],
    received: jiff::Timestamp,
) -> Vec<AnswerRecord> {
    parts
        .iter()
        .filter_map(|part| {
            let Recommendation::Answer { status_kind } = &part.outcome else {
                return None;
            };
            let found = status
                .answer(
                    client,
                    &part.intent,
                    status_kind,
                    &part.text,
                    received,
                    reader,
                )
                .ok()?;
            Some(answer_record(found, status_kind))
        })
        .collect()
}

/// The record of an answer found for a status kind.
pub(super) fn answer_record(found: Answer, status_kind: &str) -> AnswerRecord {
    AnswerRecord {
        text: found.text,
        facts: found.facts.into_iter().map(|f| (f.name, f.value)).collect(),
        as_of: found.as_of,
        status_kind: status_kind.to_owned(),
        entity_id: found.entity_id,
        variant: Some(found.variant),
    }
}
