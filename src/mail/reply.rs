//! The reply to an answered mail, as an `.eml` file in the outbox for the mail system to send.
//!
//! From is the helpdesk's address, To the sender, the subject "Re: …" once (existing "Re:",
//! "RE:", "AW:", "回复:" prefixes are not stacked), In-Reply-To and References thread it under
//! the client's mail. Everything in it derives from the inquiry and its decision (the
//! Message-ID from the inquiry id, the Date from the decision time), and the file is named
//! after the inquiry id and written through a synced temporary file and a rename: writing it again
//! after a restart gives the same file, never a second one. `mail-builder` encodes the
//! headers (RFC 2047) and the UTF-8 body (quoted-printable or base64, as the text needs).
//!
//! Every reply says it is automatic, so that the other side's responders stay silent:
//! `Auto-Submitted: auto-replied` (RFC 3834, which vacation programs and helpdesks check) and
//! `X-Auto-Response-Suppress: All` (what Exchange and Outlook check). No `Precedence` header:
//! it is no standard field (RFC 3834 names `Auto-Submitted` as the one to use; RFC 2076 advises
//! against `Precedence`), and its common value `bulk` files the answer as bulk mail at some
//! providers; the [`guard`](super::guard) stops the loops headers cannot.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use sha2::{Digest, Sha256};

use super::parse::ParsedMail;

/// Reply prefixes that are not stacked.
const REPLY_PREFIXES: [&str; 8] = [
    "re:",
    "aw:",
    "sv:",
    "antw:",
    "回复:",
    "回复：",
    "答复:",
    "答复：",
];

/// The subject of a reply: "Re: " and the original without its reply prefixes.
pub fn reply_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    while let Some(stripped) = REPLY_PREFIXES.iter().find_map(|prefix| {
        rest.get(..prefix.len())
            .filter(|head| head.to_lowercase() == *prefix)
            .map(|_| rest[prefix.len()..].trim_start())
    }) {
        rest = stripped;
    }
    if rest.is_empty() {
        "Re: your inquiry".to_owned()
    } else {
        format!("Re: {rest}")
    }
}

/// The outbox file name of an inquiry's reply: the id with unsafe characters %-escaped.
pub fn reply_file_name(inquiry_id: &str) -> String {
    let mut name = String::with_capacity(inquiry_id.len() + 4);
    for byte in inquiry_id.bytes() {
        if byte.is_ascii_alphanumeric() || b"@.-_+=".contains(&byte) {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name.push_str(".eml");
    name
}

/// The domain of the Message-IDs of the mails sent from `from_address`.
pub fn message_domain(from_address: &str) -> &str {
    from_address
        .rsplit_once('@')
        .map_or("localhost", |(_, domain)| domain)
}

/// The Message-ID of a mail about `inquiry_id` sent from `from_address`: `kind`, a digest of
/// the id, the helpdesk's domain.
pub fn message_id(kind: &str, inquiry_id: &str, from_address: &str) -> String {
    let digest = Sha256::digest(inquiry_id.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}-{hex}@{}", message_domain(from_address))
}

/// The Message-ID of the reply to the mail `inquiry_id`, from `from_address`.
pub fn reply_message_id(inquiry_id: &str, from_address: &str) -> String {
    message_id("reply", inquiry_id, from_address)
}

/// The reply mail to `mail` with `answer`, from `from_address`, dated `decided_ms`.
pub fn reply_eml(
    mail: &ParsedMail,
    answer: &str,
    from_address: &str,
    decided_ms: i64,
) -> io::Result<Vec<u8>> {
    let mut builder = MessageBuilder::new()
        .from(from_address)
        .to(mail.sender.as_str())
        .subject(reply_subject(&mail.subject))
        .message_id(reply_message_id(&mail.inquiry_id, from_address))
        .date(decided_ms.div_euclid(1000))
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .header("X-Auto-Response-Suppress", Raw::new("All"))
        .text_body(format!("{answer}\n"));
    if let Some(message_id) = &mail.message_id {
        builder = builder
            .in_reply_to(message_id.as_str())
            .references(mail.references.as_slice());
    }
    builder.write_to_vec()
}

/// How many threads sync a group's replies at once.
const SYNC_THREADS: usize = 8;

/// Writes the replies `(inquiry id, eml)` into `outbox`, each atomically (a temporary file,
/// synced, renamed to its name) and durably (the folder synced after the renames). The files
/// are synced in parallel: the filesystem commits concurrent syncs together, where one after
/// the other each would wait for its own commit.
pub fn write_replies(outbox: &Path, replies: &[(&str, &[u8])]) -> io::Result<()> {
    if replies.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(outbox)?;
    let mut staged = Vec::with_capacity(replies.len());
    for (inquiry_id, eml) in replies {
        let name = reply_file_name(inquiry_id);
        let temporary: PathBuf = outbox.join(format!(".{name}.tmp"));
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(eml)?;
        staged.push((file, temporary, outbox.join(name)));
    }
    let files: Vec<&std::fs::File> = staged.iter().map(|(file, ..)| file).collect();
    sync_in_parallel(&files)?;
    for (_, temporary, path) in &staged {
        std::fs::rename(temporary, path)?;
    }
    std::fs::File::open(outbox)?.sync_all()
}

/// Syncs `files` from up to [`SYNC_THREADS`] threads.
fn sync_in_parallel(files: &[&std::fs::File]) -> io::Result<()> {
    let chunk = files.len().div_ceil(SYNC_THREADS).max(1);
    std::thread::scope(|scope| {
        let syncing: Vec<_> = files
            .chunks(chunk)
            .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(|file| file.sync_all())))
            .collect();
        syncing.into_iter().try_for_each(|thread| {
            thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a thread syncing replies failed")))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse::parse_mail;

    /// Reply prefixes are not stacked, in any case or language.
    #[test]
    fn subjects_are_not_stacked() {
        assert_eq!(reply_subject("Invoice"), "Re: Invoice");
        assert_eq!(reply_subject("RE: Re: re:Invoice"), "Re: Invoice");
        assert_eq!(reply_subject("AW: 回复：报告"), "Re: 报告");
        assert_eq!(reply_subject("  "), "Re: your inquiry");
        assert_eq!(reply_subject("Report: Q4"), "Re: Report: Q4");
    }

    /// File names are the id, escaped so that no two ids share one.
    #[test]
    fn file_names_escape_the_id() {
        assert_eq!(reply_file_name("m1@acme.example"), "m1@acme.example.eml");
        assert_eq!(reply_file_name("a/b%c"), "a%2Fb%25c.eml");
    }

    /// The reply threads under the mail, encodes non-ASCII text and is the same when rebuilt.
    #[test]
    fn replies_are_proper_and_deterministic() {
        let raw = "From: Wang <wang@acme.example>\r\nSubject: =?UTF-8?B?5oql5ZGK?=\r\n\
                   Message-ID: <m2@acme.example>\r\nReferences: <m1@acme.example>\r\n\r\n\
                   最终报告什么时候好？\r\n";
        let mail = parse_mail(raw.as_bytes()).unwrap();
        let eml = reply_eml(
            &mail,
            "最终报告在审核中。",
            "help@agency.example",
            1_795_165_200_000,
        )
        .unwrap();
        assert_eq!(
            eml,
            reply_eml(
                &mail,
                "最终报告在审核中。",
                "help@agency.example",
                1_795_165_200_000
            )
            .unwrap()
        );
        let text = String::from_utf8_lossy(&eml);
        for header in [
            "From: <help@agency.example>",
            "To: <wang@acme.example>",
            "In-Reply-To: <m2@acme.example>",
            "References: <m1@acme.example> <m2@acme.example>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=\"utf-8\"",
            "Auto-Submitted: auto-replied",
            "X-Auto-Response-Suppress: All",
        ] {
            assert!(text.contains(header), "{header} missing in\n{text}");
        }
        let reply = mail_parser::MessageParser::default().parse(&eml).unwrap();
        assert_eq!(reply.subject(), Some("Re: 报告"));
        assert_eq!(
            reply.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-replied")
        );
        assert_eq!(
            reply.body_text(0).as_deref().map(str::trim),
            Some("最终报告在审核中。")
        );
        assert_eq!(reply.date().map(|d| d.to_timestamp()), Some(1_795_165_200));
        let dir = tempfile::tempdir().unwrap();
        let replies = [
            (mail.inquiry_id.as_str(), eml.as_slice()),
            ("other@x", b"x"),
        ];
        write_replies(dir.path(), &replies).unwrap();
        let name = reply_file_name(&mail.inquiry_id);
        assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), eml);
        write_replies(dir.path(), &replies).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
