//! `DecisionRow`: the decisions recorded in one write batch, stored many to a row.
//!
//! Every submission's decision is recorded so that a resubmission replays it. Stored one per
//! row, keyed by inquiry id, each decision cost the writer a B-tree insert of a kilobyte-sized
//! value at a random place, and so a page of its own (and often its parent's) rewritten at
//! every commit. Stored together, the decisions of one write batch share one row under a
//! sequential id, whose JSON compresses an order of magnitude better (field names, intents and
//! explanation texts repeat), and each decision costs only a small index entry, inquiry id →
//! row id, in the decision index.
//!
//! The stored form is the row's time, then its records, framed like every stored record
//! (`codec.rs`: compressed when that is smaller). The time is the `i64` Unix milliseconds of
//! the batch that stored the row, which retention ages the row's decisions by. A record is
//! `u32` id length, id, `u64` ticket id (0: no ticket), `u32` decision length, decision (all
//! little-endian).

use super::codec::{pack_into, unpack};
use crate::route::decision::StoredDecision;
use crate::route::error::RouteError;

/// The most decisions kept in one stored row: a replay decodes its whole row, so this bounds
/// a replay's work (some 100 KB of JSON) while keeping most of the shared compression.
pub(crate) const MAX_DECISIONS_PER_ROW: usize = 64;

/// A decision as the rows hold it: its stored bytes, with its ticket.
pub(crate) type RawDecision = StoredDecision<Vec<u8>>;

/// Decisions gathered for one stored row, in the order they were recorded.
#[derive(Debug, Default)]
pub(crate) struct DecisionRow {
    records: Vec<u8>,
    len: usize,
}

impl DecisionRow {
    /// Adds the decision of `inquiry_id`, with the ticket it queued; the caller keeps ids
    /// unique within a row. A field over the 4 GiB its length prefix can say is refused, and
    /// nothing is added.
    pub fn push(
        &mut self,
        inquiry_id: &str,
        ticket_id: Option<u64>,
        decision: &[u8],
    ) -> Result<(), RouteError> {
        let lengths = [inquiry_id.as_bytes(), decision].map(|field| u32::try_from(field.len()));
        let [Ok(id_len), Ok(decision_len)] = lengths else {
            return Err(RouteError::InvalidArgument(format!(
                "the decision of inquiry {inquiry_id:.64} is too large to store"
            )));
        };
        self.records.extend_from_slice(&id_len.to_le_bytes());
        self.records.extend_from_slice(inquiry_id.as_bytes());
        self.records
            .extend_from_slice(&ticket_id.unwrap_or(0).to_le_bytes());
        self.records.extend_from_slice(&decision_len.to_le_bytes());
        self.records.extend_from_slice(decision);
        self.len += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The decision of `inquiry_id`, if this row holds one.
    pub fn find(&self, inquiry_id: &str) -> Option<RawDecision> {
        find_in(&self.records, inquiry_id).ok().flatten()
    }

    /// The stored form, stamped with `stored_ms`; the row is empty afterwards.
    pub fn take_stored(&mut self, stored_ms: i64) -> Vec<u8> {
        let mut framed = Vec::with_capacity(8 + self.records.len());
        framed.extend_from_slice(&stored_ms.to_le_bytes());
        framed.extend_from_slice(&self.records);
        let mut stored = Vec::with_capacity(framed.len() / 4);
        pack_into(&framed, &mut stored);
        *self = Self::default();
        stored
    }
}

/// One decision of a stored row, as [`stored_entries`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowEntry {
    pub inquiry_id: String,
    pub decision: RawDecision,
}

/// A stored row taken apart: when it was stored and its decisions, in the order recorded.
pub(crate) fn stored_entries(stored: &[u8]) -> Result<(i64, Vec<RowEntry>), Malformed> {
    let framed = unpack(stored).ok_or(Malformed)?;
    let (stored_ms, mut records) = split_time(&framed)?;
    let mut entries = Vec::new();
    while !records.is_empty() {
        let (id, decision) = next_record(&mut records)?;
        let inquiry_id = String::from_utf8(id.to_vec()).map_err(|_| Malformed)?;
        entries.push(RowEntry {
            inquiry_id,
            decision,
        });
    }
    Ok((stored_ms, entries))
}

/// A row of `entries`, as [`DecisionRow::push`] would have gathered them.
pub(crate) fn row_of(entries: &[RowEntry]) -> Result<DecisionRow, RouteError> {
    let mut row = DecisionRow::default();
    for entry in entries {
        let decision = &entry.decision;
        row.push(&entry.inquiry_id, decision.ticket_id, &decision.decision)?;
    }
    Ok(row)
}

fn split_time(framed: &[u8]) -> Result<(i64, &[u8]), Malformed> {
    let (stored_ms, records) = framed.split_first_chunk::<8>().ok_or(Malformed)?;
    Ok((i64::from_le_bytes(*stored_ms), records))
}

/// Why a stored row could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The decision of `inquiry_id` in a stored row: `Ok(None)` when the row holds none, `Err`
/// when it is not a row [`DecisionRow::take_stored`] made.
pub(crate) fn find_stored(
    stored: &[u8],
    inquiry_id: &str,
) -> Result<Option<RawDecision>, Malformed> {
    let framed = unpack(stored).ok_or(Malformed)?;
    find_in(split_time(&framed)?.1, inquiry_id)
}

fn find_in(mut records: &[u8], inquiry_id: &str) -> Result<Option<RawDecision>, Malformed> {
    while !records.is_empty() {
        let (id, decision) = next_record(&mut records)?;
        if id == inquiry_id.as_bytes() {
            return Ok(Some(decision));
        }
    }
    Ok(None)
}

/// Splits one record off the front of `records`: its inquiry id and its decision.
fn next_record<'a>(records: &mut &'a [u8]) -> Result<(&'a [u8], RawDecision), Malformed> {
    let id = field(records)?;
    let (ticket_id, rest) = records.split_first_chunk::<8>().ok_or(Malformed)?;
    *records = rest;
    let decision = field(records)?;
    Ok((
        id,
        StoredDecision {
            decision: decision.to_vec(),
            ticket_id: Some(u64::from_le_bytes(*ticket_id)).filter(|&id| id != 0),
        },
    ))
}

/// Splits one length-prefixed field off the front of `records`.
fn field<'a>(records: &mut &'a [u8]) -> Result<&'a [u8], Malformed> {
    let (len, rest) = records.split_first_chunk::<4>().ok_or(Malformed)?;
    let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| Malformed)?;
    let (value, rest) = rest.split_at_checked(len).ok_or(Malformed)?;
    *records = rest;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(n: usize) -> String {
        format!(
            "{{\"intent\":\"invoice_status\",\"answer\":\"Invoice INV-{n} is paid.\",\"terms\":[{}]}}",
            ["{\"term\":\"invoice\",\"weight\":1.5}"; 8].join(",")
        )
    }

    fn entry(json: &str, ticket_id: Option<u64>) -> RawDecision {
        StoredDecision {
            decision: json.as_bytes().to_vec(),
            ticket_id,
        }
    }

    /// Every decision of a stored row reads back by its id with its ticket, and nothing else
    /// does; the row stores far smaller than its decisions one by one.
    #[test]
    fn decisions_read_back_from_their_stored_row() {
        let mut row = DecisionRow::default();
        let ticket = |n: usize| n.is_multiple_of(3).then_some(n as u64 + 100);
        for n in 0..MAX_DECISIONS_PER_ROW {
            row.push(&format!("inq-{n}"), ticket(n), decision(n).as_bytes())
                .expect("pushed");
        }
        assert_eq!(row.len(), MAX_DECISIONS_PER_ROW);
        assert_eq!(row.find("inq-7"), Some(entry(&decision(7), None)));
        assert_eq!(row.find("inq-9"), Some(entry(&decision(9), Some(109))));
        let stored = row.take_stored(1_700_000_000_000);
        assert!(row.is_empty());
        assert_eq!(row.find("inq-7"), None);
        for n in [0, 31, MAX_DECISIONS_PER_ROW - 1] {
            assert_eq!(
                find_stored(&stored, &format!("inq-{n}")),
                Ok(Some(entry(&decision(n), ticket(n))))
            );
        }
        assert_eq!(find_stored(&stored, "inq-"), Ok(None));
        assert_eq!(find_stored(&stored, "other"), Ok(None));
        let one_by_one = MAX_DECISIONS_PER_ROW * decision(0).len();
        assert!(stored.len() * 8 < one_by_one, "{} bytes", stored.len());
    }

    /// A truncated or garbled row is refused, not misread.
    #[test]
    fn malformed_rows_are_refused() {
        let mut row = DecisionRow::default();
        row.push("a", Some(4), b"{\"x\":1}").expect("pushed");
        row.push("b", None, b"{\"x\":2}").expect("pushed");
        let stored = row.take_stored(5);
        assert_eq!(
            find_stored(&stored, "b"),
            Ok(Some(entry("{\"x\":2}", None)))
        );
        assert_eq!(
            find_stored(&stored[..stored.len() - 2], "b"),
            Err(Malformed)
        );
        let timed = |records: &[u8]| [b"\x00\x05\x00\x00\x00\x00\x00\x00\x00", records].concat();
        assert_eq!(
            find_stored(&timed(b"\x05\x00\x00\x00ab"), "b"),
            Err(Malformed)
        );
        assert_eq!(
            find_stored(&timed(b"\x01\x00\x00\x00a\x01\x00"), "a"),
            Err(Malformed)
        );
        assert_eq!(
            find_stored(b"\x00\x05\x00\x00", "a"),
            Err(Malformed),
            "no time"
        );
        assert_eq!(find_stored(b"\x07", "a"), Err(Malformed));
        assert_eq!(find_stored(b"", "a"), Err(Malformed));
        assert_eq!(stored_entries(&timed(b"\x05\x00")), Err(Malformed));
    }

    /// A stored row lists its time and its decisions in order, and a row made of some of them
    /// stores just those.
    #[test]
    fn stored_rows_list_their_time_and_decisions() {
        let mut row = DecisionRow::default();
        row.push("a", Some(4), b"{\"x\":1}").expect("pushed");
        row.push("b", None, b"{\"x\":2}").expect("pushed");
        let (stored_ms, entries) = stored_entries(&row.take_stored(42)).expect("a row");
        assert_eq!(stored_ms, 42);
        let listed: Vec<(&str, RawDecision)> = entries
            .iter()
            .map(|e| (e.inquiry_id.as_str(), e.decision.clone()))
            .collect();
        assert_eq!(
            listed,
            [
                ("a", entry("{\"x\":1}", Some(4))),
                ("b", entry("{\"x\":2}", None))
            ]
        );
        let mut kept = row_of(&entries[1..]).expect("a row");
        assert_eq!(kept.len(), 1);
        let (_, entries) = stored_entries(&kept.take_stored(42)).expect("a row");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].inquiry_id, "b");
    }
}
