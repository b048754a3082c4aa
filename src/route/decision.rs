//! `RecordOutcome`: the answer to `record_decision`, and `StoredDecision`, the decision kept
//! per inquiry id that makes recording idempotent, with the form decisions with a ticket were
//! stored in, one per row, before decision rows (`rows.rs`).

#[cfg(test)]
use super::codec::pack_into;
use super::codec::unpack;

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

/// The decision stored for one inquiry id, with the ticket it queued: read from its decision
/// row (`rows.rs`), or from `decisions`, where a decision with a ticket was stored before.
///
/// That earlier form is bytes, not JSON: one tag byte (ticket or not), the ticket id as
/// little-endian `u64`, then the decision's JSON framed like every stored record (`codec.rs`:
/// compressed when that is smaller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredDecision {
    pub decision_json: String,
    pub ticket_id: Option<u64>,
}

const HEADER: usize = 9;

impl StoredDecision {
    /// The stored form, as written before decision rows (tests make such records with it).
    #[cfg(test)]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER + self.decision_json.len());
        bytes.push(u8::from(self.ticket_id.is_some()));
        bytes.extend_from_slice(&self.ticket_id.unwrap_or(0).to_le_bytes());
        pack_into(self.decision_json.as_bytes(), &mut bytes);
        bytes
    }

    /// Reads the stored form back; `None` when it is not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (header, json) = bytes.split_at_checked(HEADER)?;
        let id = u64::from_le_bytes(header[1..].try_into().ok()?);
        let ticket_id = match header[0] {
            0 => None,
            1 => Some(id),
            _ => return None,
        };
        let decision_json = String::from_utf8(unpack(json)?.into_owned()).ok()?;
        Some(Self {
            decision_json,
            ticket_id,
        })
    }

    /// The answer to a repeated `record_decision` for the same inquiry.
    pub fn into_existing(self) -> RecordOutcome {
        RecordOutcome::Existing {
            decision_json: self.decision_json,
            ticket_id: self.ticket_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(decision_json: &str, ticket_id: Option<u64>) -> StoredDecision {
        StoredDecision {
            decision_json: decision_json.into(),
            ticket_id,
        }
    }

    /// The stored form reads back as written, with and without a ticket, short (kept as it
    /// is) and long (compressed); garbage is refused.
    #[test]
    fn stored_decisions_round_trip() {
        let long = format!(
            "{{\"terms\":[{}]}}",
            ["\"invoice\"", "\"é\""].repeat(40).join(",")
        );
        for ticket_id in [None, Some(42)] {
            for json in ["{\"a\":\"é\"}", long.as_str()] {
                let decision = stored(json, ticket_id);
                assert_eq!(
                    StoredDecision::from_bytes(&decision.to_bytes()),
                    Some(decision)
                );
            }
        }
        let compressed = stored(&long, None).to_bytes();
        assert_eq!(compressed[0], 0);
        assert_ne!(compressed[HEADER], b'{', "the JSON is stored compressed");
        assert!(
            compressed.len() < long.len() / 2,
            "{} bytes",
            compressed.len()
        );
        assert_eq!(StoredDecision::from_bytes(b"\x07short"), None);
        assert_eq!(
            StoredDecision::from_bytes(&[2, 0, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
        let mut truncated = compressed.clone();
        truncated.truncate(compressed.len() - 5);
        assert_eq!(StoredDecision::from_bytes(&truncated), None);
    }

    /// Records written before compression (tag 0 or 1, the JSON verbatim) still read.
    #[test]
    fn uncompressed_records_still_read() {
        let mut old = vec![1];
        old.extend_from_slice(&7u64.to_le_bytes());
        old.extend_from_slice(b"{\"intent\":\"invoice_status\"}");
        assert_eq!(
            StoredDecision::from_bytes(&old),
            Some(stored("{\"intent\":\"invoice_status\"}", Some(7)))
        );
    }
}
