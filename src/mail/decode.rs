//! A text part's raw bytes → its text: the transfer encoding undone (base64 strictly, so a
//! damaged part is refused rather than half-read), the charset decoded (the declared one when
//! the bytes fit it, else the one `chardetng` reads from the bytes, so a wrong label does not
//! turn the text into U+FFFD), and HTML converted to plain text by `html2text`, with quoted
//! history kept as "> " lines for the stripping that follows.
//!
//! HTML is untrusted: it is capped in size, and a document nested deeper than browsers build
//! goes to `mail-parser`'s linear converter instead (an HTML5 tree builder is quadratic in the
//! nesting depth).

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8};

/// The most HTML converted: far more than the text an inquiry may have.
const MAX_HTML_BYTES: usize = 256 * 1024;
/// The deepest element nesting handed to the HTML5 parser (browsers stop building deeper).
const MAX_HTML_DEPTH: usize = 512;
/// The width HTML is rendered at: wide enough that no sentence is wrapped.
const HTML_WIDTH: usize = 10_000;
/// The fewest base64 characters a text must have to be taken for undecoded base64.
const MIN_ENCODED_LEN: usize = 40;

/// Base64 as mail systems write it: padding optional, stray trailing bits tolerated, and no
/// other deviation (an invalid character or a cut-off quantum is an error).
const MIME_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// How a part's body is transfer-encoded, by its Content-Transfer-Encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    Base64,
    QuotedPrintable,
    /// 7bit, 8bit, binary, none, or a name no decoder knows: the bytes as they are.
    Identity,
}

impl TransferEncoding {
    pub fn of(header: Option<&str>) -> Self {
        match header
            .map(|name| name.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("base64") => Self::Base64,
            Some("quoted-printable") => Self::QuotedPrintable,
            _ => Self::Identity,
        }
    }
}

/// The body bytes of a part with its transfer encoding undone, or why they cannot be.
pub fn transfer_decode(raw: &[u8], encoding: TransferEncoding) -> Result<Vec<u8>, String> {
    match encoding {
        TransferEncoding::Base64 => {
            let compact: Vec<u8> = raw
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            MIME_BASE64
                .decode(compact)
                .map_err(|error| format!("its base64 does not decode ({error})"))
        }
        TransferEncoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(raw)
                .ok_or_else(|| "its quoted-printable does not decode".to_owned())
        }
        TransferEncoding::Identity => Ok(raw.to_vec()),
    }
}

/// `bytes` as text: in the declared `charset` when they are valid in it, else in the charset
/// detected from them. A single-byte label over bytes that are valid UTF-8 is taken as the
/// mislabelled UTF-8 it almost always is.
pub fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    let label = charset.map(str::trim).filter(|label| !label.is_empty());
    let declared = label.map(|label| Encoding::for_label(label.as_bytes()));
    let encoding = match declared {
        // A label encoding_rs does not know (UTF-7 and the like): mail-parser's decoders.
        Some(None) => {
            let decoder = label.and_then(|label| {
                mail_parser::decoders::charsets::map::charset_decoder(label.as_bytes())
            });
            return match decoder {
                Some(decode) => decode(bytes),
                None => decode_charset(bytes, None),
            };
        }
        Some(Some(encoding)) => encoding,
        None => UTF_8,
    };
    if encoding.is_single_byte() && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let (text, had_errors) = encoding.decode_with_bom_removal(bytes);
    if !had_errors {
        return text.into_owned();
    }
    // Mail runs no scripts, so ISO-2022-JP (common in Japanese mail) may be guessed.
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    let guessed = detector.guess(None, Utf8Detection::Allow);
    tracing::debug!(
        declared = encoding.name(),
        detected = guessed.name(),
        "a text part is not valid in its declared charset"
    );
    guessed.decode_with_bom_removal(bytes).0.into_owned()
}

/// Whether `text` is a body still in base64: long enough, nothing but base64 characters on
/// its lines, and decoding to text (not to binary data, as a long hex digest would): no
/// control characters, and UTF-8 or spaced like prose in a legacy charset.
pub fn is_undecoded_base64(text: &str) -> bool {
    let compact: String = text.split_whitespace().collect();
    let alphabet = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
    if compact.len() < MIN_ENCODED_LEN
        || !compact.chars().all(alphabet)
        || text.lines().any(|line| line.trim().contains(' '))
    {
        return false;
    }
    MIME_BASE64.decode(compact).is_ok_and(|bytes| {
        let controls = bytes
            .iter()
            .any(|&b| b.is_ascii_control() && !b"\t\n\r\x0c".contains(&b));
        let spaces = bytes.iter().filter(|&&b| b == b' ').count();
        !controls && (std::str::from_utf8(&bytes).is_ok() || spaces * 32 >= bytes.len())
    })
}

/// HTML as plain text: block elements on their own lines, quotes as "> " lines, links as
/// their text, scripts and styles dropped.
pub fn html_to_text(html: &str) -> String {
    let html = crate::text::truncated(html, MAX_HTML_BYTES);
    if nesting_depth(html) > MAX_HTML_DEPTH {
        return mail_parser::decoders::html::html_to_text(html);
    }
    html2text::config::plain_no_decorate()
        .raw_mode(true)
        .link_footnotes(false)
        .string_from_read(html.as_bytes(), HTML_WIDTH)
        .unwrap_or_else(|_| mail_parser::decoders::html::html_to_text(html))
}

/// Elements a parser closes by itself or that hold nothing: they do not nest.
const NOT_NESTING: &[&str] = &[
    "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track",
    "wbr", "param", "p", "li", "td", "th", "tr", "dt", "dd", "option",
];

/// An upper estimate of how deep `html`'s elements nest, from its tags alone (linear).
fn nesting_depth(html: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let closing = rest.starts_with('/');
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || NOT_NESTING.contains(&name.as_str()) {
            continue;
        }
        // The tag ends at its '>', or where the next one starts: never a scan to the end.
        let tag_end = rest.find(['>', '<']).unwrap_or(rest.len());
        if closing {
            depth = depth.saturating_sub(1);
        } else if !rest[..tag_end].ends_with('/') {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base64 decodes when whole, with or without padding, and is refused when damaged.
    #[test]
    fn base64_is_strict() {
        let decode = |raw: &[u8]| transfer_decode(raw, TransferEncoding::Base64);
        assert_eq!(
            decode(b"SXMgaW52b2ljZSAx\r\nMDQyIHBhaWQ/\r\n").unwrap(),
            b"Is invoice 1042 paid?"
        );
        assert_eq!(decode(b"aGk").unwrap(), b"hi");
        assert!(decode(b"SXMgaW52b2ljZSAx!!MDQyIHBhaWQ/").is_err());
        assert!(decode(b"SXMgaW52b2ljZSAxMDQyIHBhaWQ/S").is_err());
        assert_eq!(
            transfer_decode(b"Z=C3=BCrich", TransferEncoding::QuotedPrintable).unwrap(),
            "Zürich".as_bytes()
        );
    }

    /// A wrong or missing label does not garble the text: the bytes' own charset is found.
    #[test]
    fn wrong_charset_labels_are_detected() {
        let russian = "Когда будет готов финальный отчёт по проекту?";
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(russian);
        assert_eq!(decode_charset(&cp1251, Some("utf-8")), russian);
        assert_eq!(decode_charset(&cp1251, Some("windows-1251")), russian);
        let chinese = "我们下次会议是什么时候？请告诉我具体的时间和地点。";
        let (gbk, _, _) = encoding_rs::GBK.encode(chinese);
        assert_eq!(decode_charset(&gbk, None), chinese);
        let german = "Wann ist unser nächstes Meeting? Grüße";
        assert_eq!(
            decode_charset(german.as_bytes(), Some("iso-8859-1")),
            german
        );
        assert_eq!(
            decode_charset("plain".as_bytes(), Some("x-unknown")),
            "plain"
        );
        assert!(!decode_charset(&cp1251, Some("utf-8")).contains('\u{FFFD}'));
    }

    /// Text still in base64 is recognised; prose, short tokens and binary digests are not.
    #[test]
    fn undecoded_base64_is_recognised() {
        assert!(is_undecoded_base64(
            "SXMgaW52b2ljZSAxMDQyIHBhaWQ/IFdlIG5lZWQgdG8ga25vdyBiZWZvcmUgRnJpZGF5Lg==\r\n"
        ));
        assert!(!is_undecoded_base64(
            "Is invoice 1042 paid? We need to know before Friday."
        ));
        assert!(!is_undecoded_base64(
            "d41d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204"
        ));
        assert!(!is_undecoded_base64("aGk="));
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Когда будет готов финальный отчёт?");
        let encoded = base64::engine::general_purpose::STANDARD.encode(cp1251);
        assert!(is_undecoded_base64(&encoded));
    }

    /// HTML becomes text with its structure; quotes are marked, scripts and styles dropped.
    #[test]
    fn html_becomes_text() {
        let html = "<html><head><style>p{color:red}</style><script>alert(1)</script></head>\
            <body><div>When is the report due?</div><div>Thanks &amp; bye</div>\
            <div>On Mon, Dana wrote:</div><blockquote>It is in review.</blockquote></body></html>";
        let text = html_to_text(html);
        assert!(
            text.starts_with("When is the report due?\nThanks & bye\n"),
            "{text}"
        );
        assert!(text.contains("> It is in review."), "{text}");
        assert!(!text.contains("alert") && !text.contains("color"), "{text}");
    }

    /// Pathological nesting does not reach the quadratic parser, and the text still comes out.
    #[test]
    fn deep_html_is_converted_linearly() {
        let deep = format!("{}deep text", "<div>".repeat(50_000));
        assert!(nesting_depth(&deep) > MAX_HTML_DEPTH);
        assert!(html_to_text(&deep).contains("deep text"));
        assert_eq!(
            nesting_depth("<div><p>a<br>b</p><img src=x/></div><div/>"),
            1
        );
    }
}
