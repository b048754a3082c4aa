//! Text helpers more than one layer needs: cutting a text to a byte budget without splitting a
//! character, quoting outside text (a caller's field, a value read from a file) in an error
//! message, and reading a file's bytes as UTF-8 text with the place of the first bad byte.

use std::fmt;

/// The most bytes of an outside text an error message quotes: enough to recognise a name, and
/// short enough that a message stays far below a gRPC client's metadata limit (16 KiB) even
/// when it quotes several values.
pub const QUOTED_MAX_BYTES: usize = 64;

/// The longest start of `text` that fits in `max` bytes and ends on a character boundary.
pub fn truncated(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let end = (0..=max)
        .rev()
        .find(|&end| text.is_char_boundary(end))
        .unwrap_or(0);
    &text[..end]
}

/// Outside text as an error message shows it, from [`quoted`].
#[derive(Debug, Clone, Copy)]
pub struct Quoted<'a>(&'a str);

/// `text` in double quotes for an error message: cut to [`QUOTED_MAX_BYTES`] (an ellipsis
/// marks the cut) with control characters, quotes and backslashes escaped as Rust writes
/// them (`\0`, `\u{1b}`), so that neither a 17 KB name nor a NUL byte reaches a log line or a
/// status message as it came.
pub fn quoted(text: &str) -> Quoted<'_> {
    Quoted(text)
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = truncated(self.0, QUOTED_MAX_BYTES);
        let cut = if kept.len() < self.0.len() { "…" } else { "" };
        write!(f, "\"{}{cut}\"", kept.escape_debug())
    }
}

/// `text` (a parser's message, which may repeat what it read) with every control character
/// but the line break escaped, so that a NUL or an escape sequence from a file is shown, not
/// sent to the terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => c.to_string(),
            c if c.is_control() => c.escape_debug().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Why a file's bytes are not UTF-8 text, with where they stop being it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// A UTF-16 byte order mark: the file was saved as UTF-16, which no pack file may be.
    #[error("is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8")]
    Utf16,
    /// `byte` is the offset from the start of the file (byte order mark included) of the
    /// first byte that is not part of valid UTF-8, on line `line`.
    #[error("line {line}: invalid UTF-8 at byte {byte}; save the file as UTF-8")]
    InvalidUtf8 { line: u64, byte: usize },
}

/// The UTF-8 byte order mark, which editors on Windows put at the start of a file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The text of a file's `bytes`: UTF-8, without the byte order mark some editors write at its
/// start; refused with the line and byte offset of the first invalid sequence, or as UTF-16.
pub fn utf8_text(bytes: Vec<u8>) -> Result<String, EncodingError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(EncodingError::Utf16);
    }
    let skipped = if bytes.starts_with(UTF8_BOM) {
        UTF8_BOM.len()
    } else {
        0
    };
    let mut bytes = bytes;
    bytes.drain(..skipped);
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let before = &error.as_bytes()[..valid];
        let line = 1 + before.iter().filter(|&&byte| byte == b'\n').count() as u64;
        EncodingError::InvalidUtf8 {
            line,
            byte: skipped + valid,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cut never splits a character, and a text within the budget is kept whole.
    #[test]
    fn cuts_at_a_character_boundary() {
        assert_eq!(truncated("héllo", 2), "h");
        assert_eq!(truncated("héllo", 3), "hé");
        assert_eq!(truncated("héllo", 60), "héllo");
        assert_eq!(truncated("日本", 2), "");
        assert_eq!(truncated("", 0), "");
    }

    /// A quoted text is short, marked when cut, and shows control characters escaped.
    #[test]
    fn quoting_cuts_and_escapes() {
        assert_eq!(quoted("seo").to_string(), "\"seo\"");
        assert_eq!(quoted("a\0b\u{1b}[2J").to_string(), "\"a\\0b\\u{1b}[2J\"");
        let long = quoted(&"q".repeat(17_000)).to_string();
        assert_eq!(long, format!("\"{}…\"", "q".repeat(QUOTED_MAX_BYTES)));
        assert_eq!(printable("a\0\nb"), "a\\0\nb");
    }

    /// UTF-8 text loses its byte order mark; anything else is refused saying where.
    #[test]
    fn reads_utf8_and_locates_the_first_bad_byte() {
        assert_eq!(utf8_text(b"\xEF\xBB\xBFa,b\n".to_vec()).unwrap(), "a,b\n");
        assert_eq!(
            utf8_text(b"ok\nfine\nbad \xC3(\n".to_vec()),
            Err(EncodingError::InvalidUtf8 { line: 3, byte: 12 })
        );
        assert_eq!(
            utf8_text(b"\xEF\xBB\xBF\xFF".to_vec()),
            Err(EncodingError::InvalidUtf8 { line: 1, byte: 3 })
        );
        assert_eq!(
            utf8_text(b"\xFF\xFEa\0".to_vec()),
            Err(EncodingError::Utf16)
        );
    }
}
