//! The decisions a queue keeps per inquiry id, which make recording idempotent: the record
//! type the caller chooses ([`DecisionRecord`]), the decision read back with the ticket it
//! queued ([`StoredDecision`]) and the answer to recording one ([`Recorded`]).
//!
//! The queue never looks inside a decision: it stores what the caller's type serializes to
//! and gives back the same type, so the layers above keep their own decision type and the
//! queue knows nothing of classification or answers.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::RouteError;

/// What a caller may store as a decision: any owned, serializable, thread-safe type.
pub trait DecisionRecord: Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> DecisionRecord for T {}

/// A stored decision with the id of the ticket its recording queued, if it queued one. The
/// ticket id is the queue's: assigned when the decision was recorded, never part of `decision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDecision<D> {
    pub decision: D,
    pub ticket_id: Option<u64>,
}

/// The answer to recording a decision with a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded<D> {
    /// This call stored the decision and queued its ticket under the id the queue assigned.
    New { ticket_id: u64 },
    /// The inquiry was decided before (perhaps by another replica): nothing was written, and
    /// this is the first decision.
    Existing(StoredDecision<D>),
}

/// The stored form of a decision: its JSON (the embedded rows compress it with their
/// neighbours'; the JetStream ledger keeps it as text).
pub(crate) fn encode_decision<D: DecisionRecord>(
    inquiry_id: &str,
    decision: &D,
) -> Result<String, RouteError> {
    serde_json::to_string(decision).map_err(|err| {
        RouteError::storage(
            format_args!("encoding the decision of inquiry {inquiry_id}"),
            err,
        )
    })
}

/// A stored decision read back as the caller's type.
pub(crate) fn decode_decision<D: DecisionRecord>(
    inquiry_id: &str,
    stored: StoredDecision<impl AsRef<[u8]>>,
) -> Result<StoredDecision<D>, RouteError> {
    let decision = serde_json::from_slice(stored.decision.as_ref()).map_err(|err| {
        RouteError::storage(
            format_args!("decoding the decision of inquiry {inquiry_id}"),
            err,
        )
    })?;
    Ok(StoredDecision {
        decision,
        ticket_id: stored.ticket_id,
    })
}
