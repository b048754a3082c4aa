//! LZ4 for stored JSON records: field names and explanation texts repeat, so a ticket or a
//! decision shrinks some threefold, and every commit writes (and fsyncs) that much less.

/// `json` LZ4-compressed with its length in front, when that is smaller.
pub(crate) fn compress(json: &[u8]) -> Option<Vec<u8>> {
    let compressed = lz4_flex::compress_prepend_size(json);
    (compressed.len() < json.len()).then_some(compressed)
}

/// Larger than any record triage stores: a length over it is corruption, not a reason to
/// allocate.
const MAX_RECORD_BYTES: usize = 64 << 20;

/// What [`compress`] made, back; `None` for bytes it did not make (a bad block, or one that
/// does not decompress to the length in front of it).
pub(crate) fn decompress(bytes: &[u8]) -> Option<Vec<u8>> {
    let (length, block) = bytes.split_at_checked(4)?;
    let length = usize::try_from(u32::from_le_bytes(length.try_into().ok()?)).ok()?;
    if length > MAX_RECORD_BYTES {
        return None;
    }
    let json = lz4_flex::decompress(block, length).ok()?;
    (json.len() == length).then_some(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Repetitive JSON shrinks and comes back; tiny JSON is left alone; garbage is refused.
    #[test]
    fn compresses_what_pays_and_refuses_garbage() {
        let json = format!(
            "[{}]",
            ["{\"term\":\"invoice\",\"weight\":1.5}"; 30].join(",")
        );
        let compressed = compress(json.as_bytes()).expect("repetitive JSON compresses");
        assert!(
            compressed.len() < json.len() / 3,
            "{} bytes",
            compressed.len()
        );
        assert_eq!(decompress(&compressed).as_deref(), Some(json.as_bytes()));
        assert_eq!(compress(b"{}"), None);
        assert_eq!(decompress(&compressed[..compressed.len() - 3]), None);
        assert_eq!(decompress(b"\xff\xff\xff\x7fgarbage"), None);
        assert_eq!(decompress(b"\x09\x00\x00\x00\x70garbage"), None);
        assert_eq!(decompress(b"\x01\x00"), None);
    }
}
