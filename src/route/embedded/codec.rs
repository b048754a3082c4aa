//! How stored records are framed: one tag byte, then the record as it is (`PLAIN`) or
//! LZ4-compressed behind its length (`LZ4`), whichever is smaller. Field names and explanation
//! texts repeat, so a row of decisions shrinks some threefold to tenfold.
//!
//! A single record (a ticket, an audit record) is too short to repeat much of itself, so the
//! compressor starts from [`DICTIONARY`]: the JSON a stored record is made of, its field names
//! and the inquiry payload's, which the record then refers back to instead of spelling out. A
//! queued ticket of the agency workload stores in about half the bytes it took without it.

use std::borrow::Cow;

/// The tag of a record stored as it is.
const PLAIN: u8 = 0x00;
/// The tag of a compressed record, followed by its length (`u32`, little-endian) and its LZ4
/// block, compressed against [`DICTIONARY`].
const LZ4: u8 = 0x02;

/// What the compressor may refer back to before a record's first byte: the JSON of a ticket
/// queued by the service (its inquiry payload, escaped, inside), of an audit record, a dead
/// letter and a correction. Any bytes would do, and ones the records share shrink them most.
/// The stored form depends on it: changing a byte raises the schema version (`schema.rs`).
const DICTIONARY: &[u8] = br#"{"ticket":{"id":1,"inquiry_id":"","client_id":"","queue":"","priority":1,"sla_due_ms":1700000000000,"created_ms":1700000000000,"payload":"{\"inquiry\":{\"inquiry_id\":\"\",\"client_id\":\"\",\"channel\":\"email\",\"subject\":\"\",\"body\":\"\",\"received_ms\":1700000000000,\"in_reply_to\":null,\"sender\":null}}","deliveries":0,"lease":{"token":"0123456789abcdef0123456789abcdef","holder":"","expires_ms":1700000000000}},"reason":"","dead_ms":1700000000000}{"ticket_id":1,"inquiry_id":"","queue":"","holder":"","outcome":"","resolved_ms":1700000000000,"deliveries":1}{"id":1,"ticket_id":1,"inquiry_id":"","from_queue":"","to_queue":"","holder":"","reason":"","corrected_ms":1700000000000}"#;

/// Larger than any record triage stores: a length over it is corruption, not a reason to
/// allocate.
const MAX_RECORD_BYTES: usize = 64 << 20;

/// Appends the stored form of `record` to `out`: compressed when that is smaller, else as it
/// is.
pub(crate) fn pack_into(record: &[u8], out: &mut Vec<u8>) {
    let compressed = lz4_flex::block::compress_prepend_size_with_dict(record, DICTIONARY);
    if compressed.len() < record.len() {
        out.push(LZ4);
        out.extend_from_slice(&compressed);
    } else {
        out.push(PLAIN);
        out.extend_from_slice(record);
    }
}

/// The record of a stored form; `None` for bytes [`pack_into`] did not make (an unknown tag,
/// a bad block, or one that does not decompress to the length in front of it).
pub(crate) fn unpack(stored: &[u8]) -> Option<Cow<'_, [u8]>> {
    match stored.split_first()? {
        (&PLAIN, record) => Some(Cow::Borrowed(record)),
        (&LZ4, framed) => {
            let (length, block) = framed.split_at_checked(4)?;
            let length = usize::try_from(u32::from_le_bytes(length.try_into().ok()?)).ok()?;
            if length > MAX_RECORD_BYTES {
                return None;
            }
            let record = lz4_flex::block::decompress_with_dict(block, length, DICTIONARY).ok()?;
            (record.len() == length).then_some(Cow::Owned(record))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(record: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        pack_into(record, &mut out);
        out
    }

    /// Repetitive JSON shrinks and comes back; tiny JSON is kept as it is behind its tag;
    /// garbage, an unknown tag and an empty record are refused.
    #[test]
    fn compresses_what_pays_and_refuses_garbage() {
        let json = format!(
            "[{}]",
            ["{\"term\":\"invoice\",\"weight\":1.5}"; 30].join(",")
        );
        let compressed = packed(json.as_bytes());
        assert_eq!(compressed[0], LZ4);
        assert!(
            compressed.len() < json.len() / 3,
            "{} bytes",
            compressed.len()
        );
        assert_eq!(unpack(&compressed).as_deref(), Some(json.as_bytes()));
        assert_eq!(packed(b"{}"), b"\x00{}");
        assert_eq!(unpack(b"\x00{}").as_deref(), Some(&b"{}"[..]));
        assert_eq!(unpack(b"{}"), None, "a record without its tag");
        assert_eq!(unpack(b""), None);
        assert_eq!(unpack(&compressed[..compressed.len() - 3]), None);
        assert_eq!(unpack(b"\x02\xff\xff\xff\x7fgarbage"), None);
        assert_eq!(unpack(b"\x02\x09\x00\x00\x00\x70garbage"), None);
        assert_eq!(unpack(b"\x02\x01\x00"), None);
        assert_eq!(unpack(b"\x01\x01\x00"), None, "the tag of schema version 1");
    }

    /// A length over the cap is refused before anything is allocated for it, even when its
    /// block would decompress to exactly that length.
    #[test]
    fn lengths_over_the_cap_are_refused() {
        let zeros = vec![0u8; MAX_RECORD_BYTES + 1];
        let mut oversized = vec![LZ4];
        oversized.extend_from_slice(&u32::try_from(zeros.len()).unwrap().to_le_bytes());
        oversized.extend_from_slice(&lz4_flex::block::compress_with_dict(&zeros, DICTIONARY));
        assert_eq!(unpack(&oversized), None);
    }
}
