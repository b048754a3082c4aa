//! Which text of a mail is its body, and whether its MIME structure can be trusted.
//!
//! `mail-parser` reads any mail leniently: a multipart whose boundary is missing or never
//! occurs becomes one opaque part, a part whose headers are cut off disappears, base64 that
//! does not decode comes back as its raw characters. Read as they are, such mails lose their
//! body (and get answered from the subject alone) or submit raw base64 as text. Here the
//! structure is checked against the raw bytes, and each text part is decoded from them again
//! ([`decode`](super::decode)): a damaged part is never read as text.
//!
//! The body is the first intact, non-empty text/plain part, else the first such HTML part as
//! text (so an empty text/plain alternative falls back to the HTML one). A mail with damage
//! and no intact text is refused with the damage as the reason, for the quarantine; one whose
//! text survived (a missing closing boundary, a cut-off attachment) is read, and its damage
//! noted.

use std::collections::HashMap;

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::decode::{
    TransferEncoding, decode_charset, html_to_text, is_undecoded_base64, transfer_decode,
};

/// What was read of a mail's body.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Body {
    pub text: String,
    /// What is wrong with parts other than the one read, for the journal.
    pub damage: Vec<String>,
}

/// The body of `message`, or what is wrong with it when the damage left no text.
pub fn read_body(message: &Message<'_>) -> Result<Body, String> {
    let raw = message.raw_message.as_ref();
    let mut damage = structure_damage(message, raw);
    let mut html = None;
    for (index, part) in message.parts.iter().enumerate() {
        let Some(is_html) = text_kind(part) else {
            continue;
        };
        let text = match part_text(part, raw) {
            Ok(text) => text,
            Err(what) => {
                damage.push(format!("part {} ({}): {what}", index + 1, mime_type(part)));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        if !is_html {
            return Ok(Body { text, damage });
        }
        html.get_or_insert(text);
    }
    if let Some(html) = html {
        return Ok(Body {
            text: html_to_text(&html),
            damage,
        });
    }
    match damage.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(Body::default()),
    }
}

/// Whether `part` is a candidate for the body: `Some(false)` for plain text (a part without a
/// Content-Type is plain text), `Some(true)` for HTML, `None` for anything else, attachments
/// included.
fn text_kind(part: &MessagePart<'_>) -> Option<bool> {
    if !matches!(part.body, PartType::Text(_) | PartType::Html(_)) {
        return None;
    }
    let attached = part
        .content_disposition()
        .is_some_and(|disposition| disposition.is_attachment())
        || part.attachment_name().is_some();
    if attached {
        return None;
    }
    match part.content_type() {
        None => Some(false),
        Some(content_type) if content_type.ctype().eq_ignore_ascii_case("text") => {
            match content_type
                .subtype()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("plain") | None => Some(false),
                Some("html") => Some(true),
                _ => None,
            }
        }
        // A part whose multipart structure failed is opaque, never text.
        Some(_) => None,
    }
}

/// A text part decoded from its raw bytes, or why it cannot be.
fn part_text(part: &MessagePart<'_>, raw: &[u8]) -> Result<String, String> {
    let body = raw
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    let encoding = TransferEncoding::of(part.content_transfer_encoding());
    let bytes = transfer_decode(body, encoding)?;
    let charset = part
        .content_type()
        .and_then(|content_type| content_type.attribute("charset"));
    let text = decode_charset(&bytes, charset);
    if encoding == TransferEncoding::Identity && is_undecoded_base64(&text) {
        return Err("its text is still base64-encoded".to_owned());
    }
    Ok(text)
}

/// "text/plain" and the like, for the reasons.
fn mime_type(part: &MessagePart<'_>) -> String {
    part.content_type().map_or_else(
        || "text/plain".to_owned(),
        |content_type| match content_type.subtype() {
            Some(subtype) => format!("{}/{subtype}", content_type.ctype()),
            None => content_type.ctype().to_owned(),
        },
    )
}

/// What is wrong with the multiparts of `message`: a missing boundary, one that never occurs,
/// no parts, or a part that could not be read (its headers cut off).
fn structure_damage(message: &Message<'_>, raw: &[u8]) -> Vec<String> {
    let mut damage = Vec::new();
    let delimiters = delimiter_lines(raw);
    for part in &message.parts {
        let Some(content_type) = part.content_type() else {
            continue;
        };
        if !content_type.ctype().eq_ignore_ascii_case("multipart") {
            continue;
        }
        let name = mime_type(part);
        let Some(boundary) = content_type.attribute("boundary") else {
            damage.push(format!("{name} has no boundary parameter"));
            continue;
        };
        let Some(parts) = part.sub_parts() else {
            damage.push(format!(
                "the boundary \"{boundary}\" of {name} never occurs in its body"
            ));
            continue;
        };
        let opened = delimiters.get(boundary.as_bytes()).copied().unwrap_or(0);
        if opened > parts.len() {
            damage.push(format!(
                "part {} of {name} cannot be read: its headers are cut off",
                parts.len() + 1
            ));
        } else if parts.is_empty() {
            damage.push(format!("{name} has no parts"));
        }
    }
    damage
}

/// How many lines of `raw` open a part with each boundary ("--boundary"), in one pass however
/// deep the multiparts nest.
fn delimiter_lines(raw: &[u8]) -> HashMap<&[u8], usize> {
    let mut counts = HashMap::new();
    for line in raw.split(|&b| b == b'\n') {
        let Some(boundary) = line.trim_ascii_end().strip_prefix(b"--") else {
            continue;
        };
        // A closing "--boundary--" counts under "boundary--", which is no boundary.
        if !boundary.is_empty() {
            *counts.entry(boundary).or_default() += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;

    use super::*;

    const HEAD: &str = "From: jo@acme.example\r\nSubject: Invoice 1042\r\nMIME-Version: 1.0\r\n";

    fn body(rest: &str) -> Result<Body, String> {
        let raw = format!("{HEAD}{rest}");
        let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
        read_body(&message)
    }

    fn refused(rest: &str) -> String {
        body(rest).expect_err("the mail should be refused")
    }

    /// Each kind of broken structure is refused with what is wrong, never read as its subject.
    #[test]
    fn broken_structures_are_refused() {
        assert_eq!(
            refused(
                "Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nIs it paid?\r\n--x--\r\n"
            ),
            "multipart/mixed has no boundary parameter"
        );
        assert_eq!(
            refused(
                "Content-Type: multipart/mixed; boundary=\"abc\"\r\n\r\n--xyz\r\nContent-Type: text/plain\r\n\r\nIs it paid?\r\n--xyz--\r\n"
            ),
            "the boundary \"abc\" of multipart/mixed never occurs in its body"
        );
        assert_eq!(
            refused(
                "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-"
            ),
            "part 1 of multipart/alternative cannot be read: its headers are cut off"
        );
        assert_eq!(
            refused("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b--\r\n"),
            "multipart/mixed has no parts"
        );
        let bad = refused(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSXMgaW52b2ljZSAx!!MDQyIHBhaWQ/\r\n",
        );
        assert!(
            bad.starts_with("part 1 (text/plain): its base64 does not decode"),
            "{bad}"
        );
        assert_eq!(
            refused(
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base-64\r\n\r\nSXMgaW52b2ljZSAxMDQyIHBhaWQ/IFdlIG5lZWQgdG8ga25vdyBiZWZvcmUgRnJpZGF5Lg==\r\n"
            ),
            "part 1 (text/plain): its text is still base64-encoded"
        );
    }

    /// Intact text survives damage elsewhere: a missing closing boundary, a cut-off attachment.
    #[test]
    fn intact_text_is_recovered() {
        let unclosed = body("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nIs invoice 1042 paid? Z=C3=BCrich\r\n").unwrap();
        assert_eq!(unclosed.text.trim(), "Is invoice 1042 paid? Zürich");
        assert!(unclosed.damage.is_empty());
        let cut = body("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nIs invoice 1042 paid?\r\n--b\r\nContent-Type: application/pdf; na").unwrap();
        assert_eq!(cut.text, "Is invoice 1042 paid?");
        assert_eq!(
            cut.damage,
            ["part 2 of multipart/mixed cannot be read: its headers are cut off"]
        );
    }

    /// An empty text/plain alternative falls back to the HTML one; a mail with only headers
    /// has an empty body, not an error.
    #[test]
    fn empty_plain_text_falls_back_to_html() {
        let alternative = body("Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n \r\n--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Is <b>invoice 1042</b> paid?</p>\r\n--a--\r\n").unwrap();
        assert_eq!(alternative.text.trim(), "Is invoice 1042 paid?");
        assert_eq!(body("").unwrap(), Body::default());
    }

    /// Attachments are never the body, even when they are text.
    #[test]
    fn text_attachments_are_not_the_body() {
        let mixed = body("Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"log.txt\"\r\n\r\nERROR 500\r\n--m\r\nContent-Type: text/plain\r\n\r\nWhy does checkout fail?\r\n--m--\r\n").unwrap();
        assert_eq!(mixed.text, "Why does checkout fail?");
    }
}
