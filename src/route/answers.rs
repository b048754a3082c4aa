//! `AnswerBatch`: the decisions that queued no ticket (answers), stored many to a record.
//!
//! A submission answered from status data is recorded only so that a resubmission replays it.
//! Stored one per row, each answer cost the writer a B-tree insert of a kilobyte-sized value
//! and its pages; stored together, the answers of one write batch share one row whose JSON
//! compresses an order of magnitude better (their field names and texts repeat), and each
//! answer costs only an index entry, inquiry id → batch id, in `answer_index`.
//!
//! The stored form is a format byte, then the records, each `u32` id length, id, `u32` JSON
//! length, JSON (lengths little-endian), framed like every stored record (`codec.rs`:
//! compressed when that is smaller; the format byte is never the codec's marker).

use super::codec::{pack_into, unpack};
use super::error::RouteError;

/// The most answers kept in one stored batch: a replay decodes its whole batch, so this bounds
/// a replay's work (some 100 KB of JSON) while keeping most of the shared compression.
pub(crate) const MAX_ANSWERS_PER_BATCH: usize = 64;

/// The first byte of a batch's records, ahead of any framing change.
const FORMAT: u8 = b'A';

/// Answers gathered for one stored batch, in the order they were recorded.
#[derive(Debug)]
pub(crate) struct AnswerBatch {
    /// `FORMAT`, then the records.
    records: Vec<u8>,
    len: usize,
}

impl Default for AnswerBatch {
    fn default() -> Self {
        Self {
            records: vec![FORMAT],
            len: 0,
        }
    }
}

impl AnswerBatch {
    /// Adds the answer of `inquiry_id`; the caller keeps ids unique within a batch. A field
    /// over the 4 GiB its length prefix can say is refused, and nothing is added.
    pub fn push(&mut self, inquiry_id: &str, decision_json: &str) -> Result<(), RouteError> {
        let lengths = [inquiry_id, decision_json].map(|field| u32::try_from(field.len()));
        let [Ok(id_len), Ok(json_len)] = lengths else {
            return Err(RouteError::InvalidArgument(format!(
                "the answer of inquiry {inquiry_id:.64} is too large to store"
            )));
        };
        for (len, field) in [(id_len, inquiry_id), (json_len, decision_json)] {
            self.records.extend_from_slice(&len.to_le_bytes());
            self.records.extend_from_slice(field.as_bytes());
        }
        self.len += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The JSON of `inquiry_id`'s answer, if this batch holds one.
    pub fn find(&self, inquiry_id: &str) -> Option<String> {
        find_in(&self.records, inquiry_id).ok().flatten()
    }

    /// The stored form; the batch is empty afterwards.
    pub fn take_stored(&mut self) -> Vec<u8> {
        let mut stored = Vec::with_capacity(self.records.len() / 4);
        pack_into(&self.records, &mut stored);
        *self = Self::default();
        stored
    }
}

/// Why a stored batch could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The JSON of `inquiry_id`'s answer in a stored batch: `Ok(None)` when the batch holds none,
/// `Err` when it is not a batch [`AnswerBatch::take_stored`] made.
pub(crate) fn find_stored(stored: &[u8], inquiry_id: &str) -> Result<Option<String>, Malformed> {
    find_in(&unpack(stored).ok_or(Malformed)?, inquiry_id)
}

fn find_in(records: &[u8], inquiry_id: &str) -> Result<Option<String>, Malformed> {
    let Some((&FORMAT, mut records)) = records.split_first() else {
        return Err(Malformed);
    };
    while !records.is_empty() {
        let id = field(&mut records)?;
        let json = field(&mut records)?;
        if id == inquiry_id.as_bytes() {
            return String::from_utf8(json.to_vec())
                .map(Some)
                .map_err(|_| Malformed);
        }
    }
    Ok(None)
}

/// Splits one length-prefixed field off the front of `records`.
fn field<'a>(records: &mut &'a [u8]) -> Result<&'a [u8], Malformed> {
    let (len, rest) = records.split_at_checked(4).ok_or(Malformed)?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| Malformed)?);
    let len = usize::try_from(len).map_err(|_| Malformed)?;
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

    /// Every answer of a stored batch reads back by its id, and nothing else does; the batch
    /// stores far smaller than its answers one by one.
    #[test]
    fn answers_read_back_from_their_stored_batch() {
        let mut batch = AnswerBatch::default();
        for n in 0..MAX_ANSWERS_PER_BATCH {
            batch
                .push(&format!("inq-{n}"), &decision(n))
                .expect("pushed");
        }
        assert_eq!(batch.len(), MAX_ANSWERS_PER_BATCH);
        assert_eq!(batch.find("inq-7"), Some(decision(7)));
        let stored = batch.take_stored();
        assert!(batch.is_empty());
        assert_eq!(batch.find("inq-7"), None);
        for n in [0, 31, MAX_ANSWERS_PER_BATCH - 1] {
            assert_eq!(
                find_stored(&stored, &format!("inq-{n}")),
                Ok(Some(decision(n)))
            );
        }
        assert_eq!(find_stored(&stored, "inq-"), Ok(None));
        assert_eq!(find_stored(&stored, "other"), Ok(None));
        let one_by_one = MAX_ANSWERS_PER_BATCH * decision(0).len();
        assert!(stored.len() * 8 < one_by_one, "{} bytes", stored.len());
    }

    /// A truncated or garbled batch is refused, not misread.
    #[test]
    fn malformed_batches_are_refused() {
        let mut batch = AnswerBatch::default();
        batch.push("a", "{\"x\":1}").expect("pushed");
        batch.push("b", "{\"x\":2}").expect("pushed");
        let stored = batch.take_stored();
        assert_eq!(find_stored(&stored, "b"), Ok(Some("{\"x\":2}".into())));
        assert_eq!(
            find_stored(&stored[..stored.len() - 2], "b"),
            Err(Malformed)
        );
        assert_eq!(find_stored(b"A\x05\x00\x00\x00ab", "b"), Err(Malformed));
        assert_eq!(
            find_stored(b"A\x01\x00\x00\x00a\x02\x00\x00\x00\xff\xfe", "a"),
            Err(Malformed)
        );
        assert_eq!(find_stored(b"B", "a"), Err(Malformed));
        assert_eq!(find_stored(b"", "a"), Err(Malformed));
    }
}
