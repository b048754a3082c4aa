//! Delivery reports: which recipients a bounce says were not reached, and whether for good.
//!
//! A standard report (RFC 3464: `multipart/report` with a `message/delivery-status` part) is
//! read field by field: each recipient's `Final-Recipient`, `Action` and `Status`. A
//! non-standard one (the plain text of qmail, older Exim and many appliances) names its failed
//! recipients in `X-Failed-Recipients` or on the lines of its notice, and tells its severity by
//! the status codes it quotes ("550 5.1.1", "#5.1.1") or, without any, by its wording. A status
//! of class 5 is permanent: that address will not receive mail.

use mail_parser::{Message, MimeHeaders};
use serde::{Deserialize, Serialize};

/// What a delivery report says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounce {
    /// The recipients not delivered to (a report of success lists none).
    pub failures: Vec<Failure>,
}

/// One recipient a delivery report says was not reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The address, lowercased.
    pub recipient: String,
    /// The enhanced status code (RFC 3463), such as "5.1.1", when the report gives one.
    pub status: Option<String>,
    /// The failure is final: mail to the address will not arrive.
    pub permanent: bool,
}

impl Bounce {
    /// The failures that are permanent.
    pub fn permanent(&self) -> impl Iterator<Item = &Failure> {
        self.failures.iter().filter(|failure| failure.permanent)
    }

    /// "gone@x permanent (5.1.1), busy@y transient (4.2.2)", for the journal.
    pub fn describe(&self) -> String {
        if self.failures.is_empty() {
            return "no failed recipient".to_owned();
        }
        let failures: Vec<String> = self
            .failures
            .iter()
            .map(|failure| {
                let severity = if failure.permanent {
                    "permanent"
                } else {
                    "transient"
                };
                match &failure.status {
                    Some(status) => format!("{} {severity} ({status})", failure.recipient),
                    None => format!("{} {severity}", failure.recipient),
                }
            })
            .collect();
        failures.join(", ")
    }
}

/// Reads the report of a bounce sent to `helpdesk` (whose own address is never a failure).
pub fn read_bounce(message: &Message<'_>, helpdesk: &str) -> Bounce {
    let failures = delivery_status(message).unwrap_or_else(|| text_failures(message, helpdesk));
    Bounce { failures }
}

/// The failures of the `message/delivery-status` part, if there is one.
fn delivery_status(message: &Message<'_>) -> Option<Vec<Failure>> {
    let part = message.parts.iter().find(|part| {
        part.content_type().is_some_and(|content_type| {
            content_type.ctype().eq_ignore_ascii_case("message")
                && content_type.subtype().is_some_and(|subtype| {
                    subtype.eq_ignore_ascii_case("delivery-status")
                        || subtype.eq_ignore_ascii_case("global-delivery-status")
                })
        })
    })?;
    let text = String::from_utf8_lossy(part.contents());
    let failures = field_groups(&text)
        .iter()
        .filter_map(|fields| {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(field, _)| field.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.as_str())
            };
            let recipient = field("Final-Recipient")
                .or_else(|| field("Original-Recipient"))
                .and_then(typed_address)?;
            let action = field("Action")
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if !action.starts_with("failed") && !action.starts_with("delayed") {
                return None;
            }
            let status = field("Status")
                .and_then(|value| value.split_whitespace().find_map(status_code))
                .or_else(|| field("Diagnostic-Code").and_then(|value| statuses(value).pop()));
            let permanent = match &status {
                Some(status) => status.starts_with('5'),
                None => action.starts_with("failed"),
            };
            Some(Failure {
                recipient,
                status,
                permanent,
            })
        })
        .collect();
    Some(failures)
}

/// The field groups of a delivery-status body: blocks separated by blank lines, each a list of
/// `(name, value)` with folded lines joined.
fn field_groups(text: &str) -> Vec<Vec<(String, String)>> {
    let mut groups: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.lines() {
        let current = groups.last_mut().expect("groups is never empty");
        if line.trim().is_empty() {
            if !current.is_empty() {
                groups.push(Vec::new());
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            current.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    groups
}

/// The address of a typed recipient field ("rfc822; Jo@Acme.example"), lowercased.
fn typed_address(value: &str) -> Option<String> {
    let address = value.split_once(';').map_or(value, |(_, address)| address);
    clean_address(address)
}

/// `token` without brackets and punctuation, lowercased, if it is an address.
fn clean_address(token: &str) -> Option<String> {
    let address = token
        .trim()
        .trim_matches(|c: char| "<>()[]\"',;:".contains(c))
        .to_lowercase();
    let (local, domain) = address.split_once('@')?;
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "._%+-'=".contains(c));
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || ".-".contains(c));
    (local_ok && domain_ok).then_some(address)
}

/// `token` if it is an enhanced status code ("5.1.1": class 2, 4 or 5, then two numbers of up
/// to three digits).
fn status_code(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    let number =
        |part: &str| (1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    let valid = parts.next().is_none()
        && matches!(class, "2" | "4" | "5")
        && number(subject)
        && number(detail);
    valid.then(|| token.to_owned())
}

/// An SMTP reply code ("550"): three digits, class 2, 4 or 5.
fn is_reply_code(token: &str) -> bool {
    token.len() == 3
        && token.bytes().all(|b| b.is_ascii_digit())
        && matches!(token.as_bytes()[0], b'2' | b'4' | b'5')
}

/// The enhanced status codes quoted in `text` as mail systems quote them: after an SMTP reply
/// code ("550 5.1.1", "550-5.1.1"), after "#" (qmail's "#5.1.1") or after "Status:". A bare
/// "4.12.26" in running text (a date) is not one.
fn statuses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut previous = "";
    for raw_token in text.split_whitespace() {
        let token = raw_token.trim_start_matches(['(', '[']);
        let hashed = token.starts_with('#');
        let token = token
            .trim_start_matches('#')
            .trim_end_matches(|c: char| ").,;:]".contains(c));
        let quoted = match token.split_once('-') {
            Some((reply, status)) if is_reply_code(reply) => status_code(status),
            _ => status_code(token).filter(|_| {
                hashed || is_reply_code(previous) || previous.eq_ignore_ascii_case("status:")
            }),
        };
        found.extend(quoted);
        previous = raw_token;
    }
    found
}

/// Header names that open the copy of the original mail in a text bounce: the notice ends there.
const COPY_STARTS: &[&str] = &[
    "return-path:",
    "received:",
    "from:",
    "to:",
    "subject:",
    "date:",
    "message-id:",
];

/// The failures of a non-standard (text) bounce.
fn text_failures(message: &Message<'_>, helpdesk: &str) -> Vec<Failure> {
    let text = message
        .text_bodies()
        .next()
        .and_then(|part| part.text_contents())
        .unwrap_or_default();
    let notice: Vec<&str> = text
        .lines()
        .take_while(|line| {
            let line = line.trim_start().to_ascii_lowercase();
            !COPY_STARTS.iter().any(|name| line.starts_with(name))
        })
        .collect();
    let notice = notice.join("\n");
    let codes = statuses(&notice);
    let status = codes
        .iter()
        .find(|code| code.starts_with('5'))
        .or_else(|| codes.iter().find(|code| code.starts_with('4')))
        .cloned();
    let permanent = match &status {
        Some(status) => status.starts_with('5'),
        None => says_permanent(&notice),
    };
    let own: Vec<String> = message
        .from()
        .into_iter()
        .flat_map(|address| address.iter())
        .filter_map(|addr| addr.address())
        .chain([helpdesk])
        .map(str::to_lowercase)
        .collect();
    let mut recipients: Vec<String> = message
        .header_raw("X-Failed-Recipients")
        .unwrap_or_default()
        .split(',')
        .filter_map(clean_address)
        .collect();
    for line in notice.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let alone = tokens.len() == 1;
        if alone || !statuses(line).is_empty() {
            recipients.extend(tokens.iter().filter_map(|token| clean_address(token)));
        }
    }
    let mut failures: Vec<Failure> = Vec::new();
    for recipient in recipients {
        let daemon = ["mailer-daemon@", "postmaster@"]
            .iter()
            .any(|local| recipient.starts_with(local));
        if daemon || own.contains(&recipient) || failures.iter().any(|f| f.recipient == recipient) {
            continue;
        }
        failures.push(Failure {
            recipient,
            status: status.clone(),
            permanent,
        });
    }
    failures
}

/// A notice without status codes says its failure is permanent ("This is a permanent error",
/// "permanently"), as opposed to one still being retried.
fn says_permanent(notice: &str) -> bool {
    let notice = notice.to_lowercase();
    let retried = [
        "temporar",
        "not yet been delivered",
        "delayed",
        "will be retried",
        "still trying",
    ]
    .iter()
    .any(|phrase| notice.contains(phrase));
    notice.contains("permanent") && !retried
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;

    use super::*;

    fn bounce(raw: &str) -> Bounce {
        let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
        read_bounce(&message, "helpdesk@agency.example")
    }

    /// A standard report gives each recipient's status; only failed and delayed ones count.
    #[test]
    fn delivery_status_parts_are_read() {
        let raw = "From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n\
            --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n\
            Final-Recipient: rfc822; Gone@Acme.example\r\nAction: failed\r\nStatus: 5.1.1 (bad mailbox)\r\n\r\n\
            Final-Recipient: rfc822;busy@acme.example\r\nAction: delayed\r\nStatus: 4.2.2\r\n\r\n\
            Final-Recipient: rfc822; ok@acme.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n\
            Original-Recipient: rfc822; old@acme.example\r\nAction: failed\r\nDiagnostic-Code: smtp;\r\n 550 5.7.1 refused\r\n\r\n\
            --b--\r\n";
        let report = bounce(raw);
        assert_eq!(
            report.describe(),
            "gone@acme.example permanent (5.1.1), busy@acme.example transient (4.2.2), old@acme.example permanent (5.7.1)"
        );
        assert_eq!(report.permanent().count(), 2);
    }

    /// A text bounce gives its recipients on their own lines or beside a status, and its
    /// severity by the codes it quotes; the helpdesk and the mail system are never failures.
    #[test]
    fn text_bounces_are_read() {
        let qmail = "From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n\r\n\
            Hi. This is the qmail-send program at mx.example.\r\n\
            I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
            This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n\
            <gone@lumen.example>:\r\n192.0.2.1 does not like recipient.\r\nRemote host said: 550 5.1.1 <gone@lumen.example>... User unknown\r\n\
            Giving up on 192.0.2.1.\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n\
            Return-Path: <helpdesk@agency.example>\r\nTo: gone@lumen.example\r\nCc: other@lumen.example\r\n\r\nYour answer.\r\n";
        assert_eq!(
            bounce(qmail).describe(),
            "gone@lumen.example permanent (5.1.1)"
        );
        let exim = "From: Mail Delivery System <Mailer-Daemon@mx.example>\r\nX-Failed-Recipients: far@harbour.example\r\n\r\n\
            A message that you sent has not yet been delivered to one or more of its recipients after\r\n\
            more than 24 hours on the queue on mx.example.\r\n\r\n  far@harbour.example\r\n    host mx.harbour.example: 451 4.7.1 Greylisted, try later\r\n";
        assert_eq!(
            bounce(exim).describe(),
            "far@harbour.example transient (4.7.1)"
        );
        let worded = "From: postmaster@mx.example\r\n\r\nDelivery to the following recipient failed permanently:\r\n\r\n     left@acme.example\r\n";
        assert_eq!(bounce(worded).describe(), "left@acme.example permanent");
    }

    /// Status codes count only where mail systems quote them, not dates or versions.
    #[test]
    fn status_codes_need_their_context() {
        assert_eq!(statuses("550 5.1.1 user unknown"), ["5.1.1"]);
        assert_eq!(statuses("said: 550-5.2.2 mailbox full"), ["5.2.2"]);
        assert_eq!(statuses("(#5.1.1)"), ["5.1.1"]);
        assert_eq!(statuses("Status: 4.4.7"), ["4.4.7"]);
        assert!(statuses("on 4.12.26 we met; version 5.1.1 of the app").is_empty());
        assert!(statuses("Exim 4.96 at 192.168.1.5").is_empty());
    }
}
