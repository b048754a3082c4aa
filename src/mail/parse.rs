//! One raw mail → what triage needs of it: the inquiry id, the sender, the subject and the text
//! the client wrote, the thread it belongs to, and notes (attachments, truncation).
//!
//! MIME is parsed by `mail-parser` (multipart, RFC 2047 words, headers); the mail is sorted
//! by who sent it ([`kind`](super::kind)), and only a person's mail has its body read
//! ([`body`](super::body): structure checked, text parts decoded again from their bytes,
//! text/plain preferred over HTML). A mail that cannot be an inquiry (no headers, no sender
//! address, broken MIME, no text) is an error naming why, for the quarantine; nothing here
//! panics on a bad mail.

use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::body::read_body;
use super::kind::{MailKind, Sorting, sort_mail};
use super::strip::strip_reply;

/// The most bytes of subject and body the server takes (its `max_text_bytes` default).
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// The most bytes of a subject kept.
const MAX_SUBJECT_BYTES: usize = 1024;
/// The longest id the server takes.
const MAX_ID_LEN: usize = 200;

/// A mail read as an inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMail {
    /// The Message-ID, normalised (no angle brackets), if the mail has a usable one.
    pub message_id: Option<String>,
    /// The Message-ID, or `raw-` and a digest of the raw bytes for a mail without one.
    pub inquiry_id: String,
    /// What the mail says, as a digest (its `raw-` id, whatever its Message-ID): two mails
    /// with one Message-ID are copies of one mail only when this matches too.
    pub fingerprint: String,
    /// The sender's address, lowercased.
    pub sender: String,
    pub subject: String,
    /// The text the client wrote: history and signature stripped, capped; empty for a mail
    /// a machine sent, whose body is not read.
    pub body: String,
    /// The inquiry id of the thread's first mail, for a reply.
    pub thread_id: Option<String>,
    /// The mail's References with its own Message-ID last, for a reply to it.
    pub references: Vec<String>,
    /// Names of the attachments (ignored, noted).
    pub attachments: Vec<String>,
    /// The text was cut to fit the server's limit.
    pub truncated: bool,
    /// The Date header, in Unix milliseconds.
    pub sent_ms: Option<i64>,
    /// Who sent it: a person, or a machine (with the evidence, and a bounce's report).
    pub sorting: Sorting,
    /// What is wrong with the parts other than the text read (a cut-off attachment).
    pub damage: Vec<String>,
}

/// Why a mail cannot become an inquiry; the text goes into its quarantine `.reason` file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a mail: no header could be read")]
    NotAMail,
    #[error("no sender: the From header has no address")]
    NoSender,
    #[error("no text: the subject and the body are empty")]
    NoText,
    #[error("broken MIME: {0}")]
    BrokenMime(String),
}

/// The id a mail gets without a Message-ID (`raw-` and a digest): of the headers it was written
/// with (whitespace folded) and its body (line ends unified, trailing space cut). Headers that
/// servers add or change in transit (Received, Delivered-To, Return-Path, DKIM and ARC
/// signatures, X-…) do not count, so a re-delivered copy keeps its id. Bytes without any such
/// header are digested whole.
pub fn raw_id(raw: &[u8]) -> String {
    content_id(MessageParser::new().parse(raw).as_ref(), raw)
}

/// [`raw_id`] of `raw` parsed as `message`.
fn content_id(message: Option<&Message<'_>>, raw: &[u8]) -> String {
    const STABLE_HEADERS: [&str; 12] = [
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "date",
        "subject",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    ];
    let root = message.and_then(|message| message.parts.first());
    let mut stable = String::new();
    for header in root.map(|root| root.headers.as_slice()).unwrap_or_default() {
        let name = header.name.as_str().to_ascii_lowercase();
        if STABLE_HEADERS.contains(&name.as_str()) {
            let value = raw
                .get(header.offset_start as usize..header.offset_end as usize)
                .unwrap_or_default();
            let value = String::from_utf8_lossy(value);
            let words: Vec<&str> = value.split_whitespace().collect();
            stable.push_str(&format!("{name}: {}\n", words.join(" ")));
        }
    }
    let mut digest = Sha256::new();
    match root {
        Some(root) if !stable.is_empty() => {
            let body = raw.get(root.offset_body as usize..).unwrap_or_default();
            let body = String::from_utf8_lossy(body).replace("\r\n", "\n");
            digest.update(stable);
            digest.update(b"\n");
            digest.update(body.trim_end());
        }
        _ => digest.update(raw),
    }
    let hex: String = digest.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("raw-{hex}")
}

/// A Message-ID (or References entry) without angle brackets or spaces, if it is a usable id.
pub fn normalise_message_id(id: &str) -> Option<String> {
    let id: String = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let usable =
        !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic());
    usable.then_some(id)
}

/// Reads `raw` as a mail to a helpdesk whose own address is unknown (so its own mail coming
/// back is not recognised as such).
pub fn parse_mail(raw: &[u8]) -> Result<ParsedMail, ParseError> {
    parse_mail_to(raw, "")
}

/// Reads `raw` as a mail to the helpdesk at `helpdesk`.
pub fn parse_mail_to(raw: &[u8], helpdesk: &str) -> Result<ParsedMail, ParseError> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|message| !message.headers().is_empty())
        .ok_or(ParseError::NotAMail)?;
    let sender = sender_of(&message).ok_or(ParseError::NoSender)?;
    let message_id = message.message_id().and_then(normalise_message_id);
    let fingerprint = content_id(Some(&message), raw);
    // What the id of a reply's thread must match.
    let inquiry_id = message_id.clone().unwrap_or_else(|| fingerprint.clone());
    let mut references = id_list(message.references());
    let thread_id = references
        .first()
        .cloned()
        .or_else(|| id_list(message.in_reply_to()).into_iter().next());
    references.extend(message_id.clone());
    let (subject, subject_cut) = cap(
        message.subject().unwrap_or_default().trim(),
        MAX_SUBJECT_BYTES,
    );
    let sorting = sort_mail(&message, helpdesk);
    let human = sorting.kind == MailKind::Human;
    let (body, damage) = if human {
        let body = read_body(&message).map_err(ParseError::BrokenMime)?;
        (strip_reply(&body.text), body.damage)
    } else {
        (String::new(), Vec::new())
    };
    let (body, body_cut) = cap(&body, MAX_TEXT_BYTES - subject.len());
    if human && subject.trim().is_empty() && body.trim().is_empty() {
        return Err(ParseError::NoText);
    }
    let attachments = message
        .attachments()
        .map(|part| part.attachment_name().unwrap_or("unnamed").to_owned())
        .collect();
    Ok(ParsedMail {
        message_id,
        inquiry_id,
        fingerprint,
        sender,
        subject,
        body,
        thread_id,
        references,
        attachments,
        truncated: subject_cut || body_cut,
        sent_ms: message.date().map(|date| date.to_timestamp() * 1000),
        sorting,
        damage,
    })
}

/// The From address (else Sender), lowercased.
fn sender_of(message: &Message<'_>) -> Option<String> {
    let first = |address: Option<&Address<'_>>| {
        address
            .and_then(Address::first)
            .and_then(|addr| addr.address())
            .map(|address| address.trim().to_lowercase())
            .filter(|address| address.contains('@') && !address.contains(char::is_whitespace))
    };
    first(message.from()).or_else(|| first(message.sender()))
}

/// The ids of a Message-ID list header, normalised, unusable ones skipped.
fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<&str> = match value {
        HeaderValue::Text(id) => vec![id.as_ref()],
        HeaderValue::TextList(ids) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    ids.into_iter().filter_map(normalise_message_id).collect()
}

/// `text` cut to at most `max` bytes at a character boundary, and whether it was cut.
fn cap(text: &str, max: usize) -> (String, bool) {
    let kept = crate::text::truncated(text, max);
    (kept.to_owned(), kept.len() < text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &[u8] = b"From: Jo <Jo@Acme.example>\r\nTo: help@agency.example\r\n\
        Subject: =?UTF-8?B?UmU6IEludm9pY2Ugw6k=?=\r\nMessage-ID: < m1@acme.example >\r\n\
        References: <root@acme.example> <m0@agency.example>\r\n\
        Date: Fri, 20 Nov 2026 09:00:00 +0000\r\n\r\nIs invoice 1042 paid?\r\n";

    /// Headers are decoded and normalised; the thread is the first reference.
    #[test]
    fn reads_a_plain_mail() {
        let mail = parse_mail(PLAIN).unwrap();
        assert_eq!(mail.sender, "jo@acme.example");
        assert_eq!(mail.subject, "Re: Invoice é");
        assert_eq!(mail.message_id.as_deref(), Some("m1@acme.example"));
        assert_eq!(mail.inquiry_id, "m1@acme.example");
        assert_eq!(mail.thread_id.as_deref(), Some("root@acme.example"));
        assert_eq!(
            mail.references,
            ["root@acme.example", "m0@agency.example", "m1@acme.example"]
        );
        assert_eq!(mail.body, "Is invoice 1042 paid?");
        assert_eq!(mail.sent_ms, Some(1_795_165_200_000));
        assert!(!mail.truncated && mail.attachments.is_empty());
    }

    /// Without a Message-ID the id is a digest of the mail: stable, and distinct per mail.
    #[test]
    fn ids_without_message_id_are_stable() {
        let raw = b"From: jo@acme.example\r\nSubject: report\r\n\r\nwhen is it due?\r\n";
        let first = parse_mail(raw).unwrap().inquiry_id;
        assert!(first.starts_with("raw-") && first.len() == 36, "{first}");
        assert_eq!(parse_mail(raw).unwrap().inquiry_id, first);
        let other = b"From: jo@acme.example\r\nSubject: report\r\n\r\nwhen is it due??\r\n";
        assert_ne!(parse_mail(other).unwrap().inquiry_id, first);
    }

    /// A mail without a Message-ID keeps its id when delivered again with more trace headers,
    /// other line ends or refolded headers; a change of sender, date, subject or body is
    /// another mail.
    #[test]
    fn raw_ids_ignore_trace_headers() {
        let mail = "From: Jo <jo@acme.example>\r\nTo: help@agency.example\r\n\
                    Date: Fri, 20 Nov 2026 09:00:00 +0000\r\nSubject: report due\r\n\r\n\
                    When is the final report due?\r\n";
        let id = raw_id(mail.as_bytes());
        let relayed = format!(
            "Received: from mx2.example by mx.agency.example; Fri, 20 Nov 2026 09:00:05 +0000\r\n\
             Return-Path: <jo@acme.example>\r\nDelivered-To: help@agency.example\r\n\
             DKIM-Signature: v=1; a=rsa-sha256; d=acme.example; b=abc\r\n\
             X-Spam-Score: 0.1\r\n{mail}"
        );
        assert_eq!(raw_id(relayed.as_bytes()), id);
        let unix = mail
            .replace("\r\n", "\n")
            .replace("Subject: report due", "Subject: report\n due");
        assert_eq!(raw_id(unix.as_bytes()), id);
        for (from, to) in [
            ("jo@acme.example", "al@acme.example"),
            ("09:00:00", "09:01:00"),
            ("report due", "report late"),
            ("final report", "final invoice"),
        ] {
            assert_ne!(raw_id(mail.replace(from, to).as_bytes()), id, "{to}");
        }
        assert_eq!(raw_id(b"\x00\x01"), raw_id(b"\x00\x01"));
        assert_ne!(raw_id(b"\x00\x01"), raw_id(b"\x00\x02"));
    }

    /// Long text is cut at a character boundary and noted, never refused.
    #[test]
    fn long_text_is_capped() {
        let mut raw = b"From: jo@acme.example\r\nSubject: big\r\n\r\n".to_vec();
        raw.extend("é".repeat(20_000).as_bytes());
        let mail = parse_mail(&raw).unwrap();
        assert!(mail.truncated);
        assert!(mail.subject.len() + mail.body.len() <= MAX_TEXT_BYTES);
    }

    /// What cannot be an inquiry says why.
    #[test]
    fn bad_mails_say_why() {
        assert_eq!(parse_mail(b""), Err(ParseError::NotAMail));
        assert_eq!(
            parse_mail(b"Subject: hi\r\n\r\nhello\r\n"),
            Err(ParseError::NoSender)
        );
        assert_eq!(
            parse_mail(b"From: jo@acme.example\r\nSubject:  \r\n\r\n \r\n"),
            Err(ParseError::NoText)
        );
    }

    /// A mail whose MIME structure is broken and left no text is refused with the damage.
    #[test]
    fn broken_mime_is_refused() {
        let raw = b"From: jo@acme.example\r\nSubject: Invoice 1042\r\n\
            Content-Type: multipart/mixed; boundary=\"abc\"\r\n\r\n--xyz\r\n\r\nIs it paid?\r\n--xyz--\r\n";
        let Err(ParseError::BrokenMime(reason)) = parse_mail(raw) else {
            panic!("a mail without parts was read");
        };
        assert!(reason.contains("never occurs"), "{reason}");
    }

    /// A machine's mail is sorted, not read: no body, and no text is needed.
    #[test]
    fn machine_mail_is_sorted_not_read() {
        let raw = b"From: jo@acme.example\r\nAuto-Submitted: auto-replied\r\nSubject: \r\n\r\n\r\n";
        let mail = parse_mail(raw).unwrap();
        assert_eq!(mail.sorting.kind, MailKind::AutoReply);
        assert_eq!(mail.sorting.evidence, ["Auto-Submitted: auto-replied"]);
        assert!(mail.body.is_empty());
    }

    /// Message ids are trimmed of brackets and spaces; unusable ones are dropped.
    #[test]
    fn message_ids_are_normalised() {
        assert_eq!(normalise_message_id(" <a@b> ").as_deref(), Some("a@b"));
        assert_eq!(normalise_message_id("<>"), None);
        assert_eq!(normalise_message_id("<é@b>"), None);
        assert_eq!(normalise_message_id(&"x".repeat(201)), None);
    }
}
