//! `RecordOutcome`: the answer to `record_decision`, and `StoredDecision`, the record kept
//! per inquiry id that makes recording idempotent.

use serde::{Deserialize, Serialize};

/// Result of recording a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// This call stored the decision (and queued its ticket, if any).
    Recorded { ticket_id: Option<u64> },
    /// The inquiry was already recorded; nothing was written and this is the first decision.
    Existing {
        decision_json: String,
        ticket_id: Option<u64>,
    },
}

/// The decision stored for one inquiry id, with the ticket it queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredDecision {
    pub decision_json: String,
    pub ticket_id: Option<u64>,
}

impl StoredDecision {
    /// The answer to a repeated `record_decision` for the same inquiry.
    pub fn into_existing(self) -> RecordOutcome {
        RecordOutcome::Existing {
            decision_json: self.decision_json,
            ticket_id: self.ticket_id,
        }
    }
}
