//! How stored JSON records are framed: LZ4-compressed behind a marker byte when that is
//! smaller, else as they are. Field names and explanation texts repeat, so a ticket or a
//! decision shrinks some threefold. JSON never starts with the marker, so a record written
//! before compression (plain JSON) reads as it is.

use std::borrow::Cow;

/// The first byte of a compressed record, followed by the JSON's length (`u32`, little-endian)
/// and its LZ4 block.
const COMPRESSED: u8 = 0x01;

/// Larger than any record triage stores: a length over it is corruption, not a reason to
/// allocate.
const MAX_RECORD_BYTES: usize = 64 << 20;

/// Appends the stored form of `json` to `out`: compressed when that is smaller, else verbatim.
pub(crate) fn pack_into(json: &[u8], out: &mut Vec<u8>) {
    let compressed = lz4_flex::compress_prepend_size(json);
    if compressed.len() < json.len() {
        out.push(COMPRESSED);
        out.extend_from_slice(&compressed);
    } else {
        out.extend_from_slice(json);
    }
}

/// The JSON of a stored form; `None` for a compressed record that is not one [`pack_into`]
/// made (a bad block, or one that does not decompress to the length in front of it).
pub(crate) fn unpack(stored: &[u8]) -> Option<Cow<'_, [u8]>> {
    let Some((&COMPRESSED, framed)) = stored.split_first() else {
        return Some(Cow::Borrowed(stored));
    };
    let (length, block) = framed.split_at_checked(4)?;
    let length = usize::try_from(u32::from_le_bytes(length.try_into().ok()?)).ok()?;
    if length > MAX_RECORD_BYTES {
        return None;
    }
    let json = lz4_flex::decompress(block, length).ok()?;
    (json.len() == length).then_some(Cow::Owned(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(json: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        pack_into(json, &mut out);
        out
    }

    /// Repetitive JSON shrinks and comes back; tiny JSON is left alone; garbage is refused.
    #[test]
    fn compresses_what_pays_and_refuses_garbage() {
        let json = format!(
            "[{}]",
            ["{\"term\":\"invoice\",\"weight\":1.5}"; 30].join(",")
        );
        let compressed = packed(json.as_bytes());
        assert_eq!(compressed[0], COMPRESSED);
        assert!(
            compressed.len() < json.len() / 3,
            "{} bytes",
            compressed.len()
        );
        assert_eq!(unpack(&compressed).as_deref(), Some(json.as_bytes()));
        assert_eq!(packed(b"{}"), b"{}");
        assert_eq!(unpack(b"{}").as_deref(), Some(&b"{}"[..]));
        assert_eq!(unpack(&compressed[..compressed.len() - 3]), None);
        assert_eq!(unpack(b"\x01\xff\xff\xff\x7fgarbage"), None);
        assert_eq!(unpack(b"\x01\x09\x00\x00\x00\x70garbage"), None);
        assert_eq!(unpack(b"\x01\x01\x00"), None);
    }

    /// A length over the cap is refused before anything is allocated for it, even when its
    /// block would decompress to exactly that length.
    #[test]
    fn lengths_over_the_cap_are_refused() {
        let zeros = vec![0u8; MAX_RECORD_BYTES + 1];
        let mut oversized = vec![COMPRESSED];
        oversized.extend_from_slice(&u32::try_from(zeros.len()).unwrap().to_le_bytes());
        oversized.extend_from_slice(&lz4_flex::compress(&zeros));
        assert_eq!(unpack(&oversized), None);
    }
}
