//! What the helpdesk accepts: ids, sender addresses and texts within their limits. Every
//! refusal names the field.

use super::HelpdeskError;
use crate::intake::Inquiry;

/// The longest id accepted (an email Message-ID fits).
const MAX_ID_LEN: usize = 200;

/// The longest sender address accepted (RFC 5321's path limit less the brackets).
const MAX_SENDER_LEN: usize = 254;

/// The longest free text a specialist writes (a resolution, a reason).
const MAX_NOTE_BYTES: usize = 4096;

/// The most attachment names an inquiry carries, and the longest name.
const MAX_ATTACHMENTS: usize = 100;
const MAX_ATTACHMENT_NAME_BYTES: usize = 255;

/// The longest reason a caller gives for handing an inquiry to a person.
const MAX_HANDOFF_REASON_BYTES: usize = 1000;

/// Validates an id: 1 to 200 visible ASCII characters.
pub fn validate_id(field: &'static str, id: &str) -> Result<(), HelpdeskError> {
    if id.is_empty() {
        return Err(HelpdeskError::invalid(field, "is empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(HelpdeskError::invalid(
            field,
            format!("is {} bytes, over {MAX_ID_LEN}", id.len()),
        ));
    }
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(HelpdeskError::invalid(
            field,
            "must be visible ASCII without spaces",
        ));
    }
    Ok(())
}

/// Validates a sender address: up to 254 bytes with an `@`, no spaces or control characters
/// (internationalized addresses are fine).
fn validate_sender(sender: &str) -> Result<(), HelpdeskError> {
    const FIELD: &str = "inquiry.sender";
    if sender.len() > MAX_SENDER_LEN {
        return Err(HelpdeskError::invalid(
            FIELD,
            format!("is {} bytes, over {MAX_SENDER_LEN}", sender.len()),
        ));
    }
    if !sender.contains('@') || sender.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(HelpdeskError::invalid(
            FIELD,
            "must be an email address without spaces",
        ));
    }
    Ok(())
}

/// Validates attachment names: at most 100, each 1 to 255 bytes without control characters.
fn validate_attachments(names: &[String]) -> Result<(), HelpdeskError> {
    const FIELD: &str = "inquiry.attachments";
    if names.len() > MAX_ATTACHMENTS {
        return Err(HelpdeskError::invalid(
            FIELD,
            format!("has {} names, over {MAX_ATTACHMENTS}", names.len()),
        ));
    }
    for name in names {
        if name.is_empty() || name.len() > MAX_ATTACHMENT_NAME_BYTES {
            return Err(HelpdeskError::invalid(
                FIELD,
                format!(
                    "a name is {} bytes, not 1 to {MAX_ATTACHMENT_NAME_BYTES}",
                    name.len()
                ),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(HelpdeskError::invalid(
                FIELD,
                "a name has a control character",
            ));
        }
    }
    Ok(())
}

/// Validates an inquiry: its ids, its sender, and a text of at most `max_text_bytes` that is
/// not blank. An inquiry without a client id must name its sender.
pub fn validate_inquiry(inquiry: &Inquiry, max_text_bytes: usize) -> Result<(), HelpdeskError> {
    validate_id("inquiry.inquiry_id", &inquiry.inquiry_id)?;
    if let Some(sender) = &inquiry.sender {
        validate_sender(sender)?;
    }
    // An empty client id is allowed with a sender: the client is found by it.
    if !inquiry.client_id.is_empty() || inquiry.sender.is_none() {
        validate_id("inquiry.client_id", &inquiry.client_id)?;
    }
    if let Some(in_reply_to) = &inquiry.in_reply_to {
        validate_id("inquiry.in_reply_to", in_reply_to)?;
    }
    validate_attachments(&inquiry.attachments)?;
    if let Some(reason) = &inquiry.handoff_reason
        && reason.len() > MAX_HANDOFF_REASON_BYTES
    {
        return Err(HelpdeskError::invalid(
            "inquiry.handoff_reason",
            format!("is {} bytes, over {MAX_HANDOFF_REASON_BYTES}", reason.len()),
        ));
    }
    let text_bytes = inquiry.subject.len() + inquiry.body.len();
    if text_bytes > max_text_bytes {
        return Err(HelpdeskError::invalid(
            "inquiry.body",
            format!("subject and body are {text_bytes} bytes, over the limit of {max_text_bytes}"),
        ));
    }
    if inquiry.subject.trim().is_empty() && inquiry.body.trim().is_empty() {
        return Err(HelpdeskError::invalid(
            "inquiry.body",
            "subject and body are both empty",
        ));
    }
    Ok(())
}

/// The earliest receive time taken as given: 2000-01-01T00:00:00Z, in Unix milliseconds.
const EARLIEST_RECEIVE_MS: i64 = 946_684_800_000;

/// How far ahead of the server's clock a receive time may be (clocks drift; a day does not).
const MAX_RECEIVE_AHEAD_MS: i64 = 24 * 60 * 60 * 1000;

/// Whether an inquiry's receive time can be taken as given: from 2000 on, and at most a day
/// ahead of `now_ms`.
pub fn plausible_receive_time(received_ms: i64, now_ms: i64) -> bool {
    (EARLIEST_RECEIVE_MS..=now_ms.saturating_add(MAX_RECEIVE_AHEAD_MS)).contains(&received_ms)
}

/// Validates a text to classify: not blank, at most `max_text_bytes`.
pub fn validate_text(text: &str, max_text_bytes: usize) -> Result<(), HelpdeskError> {
    if text.len() > max_text_bytes {
        return Err(HelpdeskError::invalid(
            "text",
            format!(
                "is {} bytes, over the limit of {max_text_bytes}",
                text.len()
            ),
        ));
    }
    if text.trim().is_empty() {
        return Err(HelpdeskError::invalid("text", "is empty"));
    }
    Ok(())
}

/// Validates a specialist's note (a resolution, a reason): not blank, at most 4096 bytes.
pub fn validate_note(field: &'static str, text: &str) -> Result<(), HelpdeskError> {
    if text.trim().is_empty() {
        return Err(HelpdeskError::invalid(field, "is empty"));
    }
    if text.len() > MAX_NOTE_BYTES {
        return Err(HelpdeskError::invalid(
            field,
            format!("is over {MAX_NOTE_BYTES} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::Channel;

    fn inquiry() -> Inquiry {
        Inquiry {
            inquiry_id: "<m1@mail.example>".into(),
            client_id: "acme".into(),
            channel: Channel::Email,
            subject: "Report".into(),
            body: "when is it due?".into(),
            received_ms: 1_700_000_000_123,
            in_reply_to: None,
            sender: Some("ops@acme.example".into()),
            attachments: vec!["brief.pdf".into()],
            handoff_reason: None,
        }
    }

    const LIMIT: usize = 100;

    /// A valid inquiry passes; without a client id a sender is enough.
    #[test]
    fn valid_inquiries_pass() {
        validate_inquiry(&inquiry(), LIMIT).unwrap();
        let mut by_sender = inquiry();
        by_sender.client_id.clear();
        validate_inquiry(&by_sender, LIMIT).unwrap();
    }

    type Change = dyn Fn(&mut Inquiry);

    /// Each bad field is refused with its name.
    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(Box<Change>, &str)> = vec![
            (
                Box::new(|i| i.inquiry_id.clear()),
                "inquiry.inquiry_id: is empty",
            ),
            (
                Box::new(|i| i.inquiry_id = "a b".into()),
                "inquiry.inquiry_id: must be visible ASCII",
            ),
            (
                Box::new(|i| i.inquiry_id = "x".repeat(201)),
                "inquiry.inquiry_id: is 201 bytes",
            ),
            (
                Box::new(|i| i.client_id = "é".into()),
                "inquiry.client_id: must be visible ASCII",
            ),
            (
                Box::new(|i| i.in_reply_to = Some("\t".into())),
                "inquiry.in_reply_to",
            ),
            (
                Box::new(|i| i.sender = Some("ops at acme".into())),
                "inquiry.sender: must be an email address",
            ),
            (
                Box::new(|i| i.sender = Some(format!("{}@acme.example", "x".repeat(250)))),
                "inquiry.sender: is 263 bytes, over 254",
            ),
            (
                Box::new(|i| {
                    i.client_id.clear();
                    i.sender = None;
                }),
                "inquiry.client_id: is empty",
            ),
            (
                Box::new(|i| {
                    i.subject = " ".into();
                    i.body = "\n".into();
                }),
                "inquiry.body: subject and body are both empty",
            ),
            (
                Box::new(|i| i.body = "x".repeat(101)),
                "over the limit of 100",
            ),
            (
                Box::new(|i| i.attachments = vec!["a.pdf".into(); 101]),
                "inquiry.attachments: has 101 names, over 100",
            ),
            (
                Box::new(|i| i.attachments = vec!["x".repeat(256)]),
                "inquiry.attachments: a name is 256 bytes",
            ),
            (
                Box::new(|i| i.attachments = vec!["a\u{0}.pdf".into()]),
                "inquiry.attachments: a name has a control character",
            ),
            (
                Box::new(|i| i.handoff_reason = Some("x".repeat(1001))),
                "inquiry.handoff_reason: is 1001 bytes, over 1000",
            ),
        ];
        for (change, expected) in cases {
            let mut bad = inquiry();
            change(&mut bad);
            let error = validate_inquiry(&bad, LIMIT).unwrap_err();
            assert!(
                matches!(error, HelpdeskError::InvalidArgument { .. }),
                "{error}"
            );
            assert!(
                error.to_string().contains(expected),
                "{error} !~ {expected}"
            );
        }
    }

    /// A text to classify is refused when blank or over the limit, naming the field `text`.
    #[test]
    fn texts_are_checked_once() {
        validate_text("when is my report due?", LIMIT).unwrap();
        let blank = validate_text(" \n", LIMIT).unwrap_err().to_string();
        assert_eq!(blank, "text: is empty");
        let long = validate_text(&"x".repeat(101), LIMIT)
            .unwrap_err()
            .to_string();
        assert_eq!(long, "text: is 101 bytes, over the limit of 100");
    }

    /// Notes are refused blank or over 4096 bytes; exactly 4096 passes.
    #[test]
    fn notes_are_bounded() {
        validate_note("reason", &"x".repeat(4096)).unwrap();
        assert_eq!(
            validate_note("reason", "  ").unwrap_err().to_string(),
            "reason: is empty"
        );
        assert_eq!(
            validate_note("outcome", &"x".repeat(4097))
                .unwrap_err()
                .to_string(),
            "outcome: is over 4096 bytes"
        );
    }
}
