//! A seeded Maildir of real-shaped mails for tests and measurements (`triage sample-maildir`):
//! the pack's test texts from its clients' addresses and domains, some from unknown senders,
//! some replies with quoted history and a signature, some base64 or quoted-printable encoded,
//! some multipart/alternative, and a few without a sender (for the quarantine); optionally each
//! with an attachment of a given size (for memory measurements). The same seed gives the same
//! mails.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use triage::answer::StatusData;
use triage::pack::Pack;

/// A small deterministic generator (xorshift64*); no need for a real random source.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// The senders: each client's addresses, and made-up people at its domains.
fn senders(status: &StatusData) -> Vec<String> {
    let mut senders = Vec::new();
    for client in status.clients() {
        senders.extend(client.emails.iter().cloned());
        for domain in &client.domains {
            senders.push(format!("someone@{domain}"));
        }
    }
    senders
}

/// Base64 of `bytes`, in lines of 76.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (index, chunk) in bytes.chunks(3).enumerate() {
        if index > 0 && index % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Quoted-printable of `text` (soft line breaks every 72 characters).
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    let mut column = 0;
    for byte in text.bytes() {
        let piece = if byte == b'\n' {
            column = 0;
            out.push_str("\r\n");
            continue;
        } else if (33..=126).contains(&byte) && byte != b'=' || byte == b' ' {
            char::from(byte).to_string()
        } else {
            format!("={byte:02X}")
        };
        if column + piece.len() > 72 {
            out.push_str("=\r\n");
            column = 0;
        }
        column += piece.len();
        out.push_str(&piece);
    }
    out
}

/// The `index`-th sample mail.
fn sample_mail(rng: &mut Rng, index: usize, seed: u64, text: &str, senders: &[String]) -> String {
    let mut head = String::new();
    match rng.below(100) {
        0 => {} // no sender: quarantined
        1..=3 => {
            let _ = write!(head, "From: Stranger <stranger{index}@unknown.example>\r\n");
        }
        _ => {
            let sender = &senders[rng.below(senders.len())];
            let _ = write!(head, "From: Client <{sender}>\r\n");
        }
    }
    let minute = index % 60;
    let _ = write!(
        head,
        "To: helpdesk@agency.example\r\nSubject: Question {index}\r\n\
         Date: Fri, 20 Nov 2026 09:{minute:02}:00 +0000\r\n\
         Message-ID: <sample-{seed}-{index}@mail.example>\r\nMIME-Version: 1.0\r\n"
    );
    let mut body = text.to_owned();
    if rng.below(5) == 0 {
        body.push_str(
            "\n\nBest regards,\nJo\n\nOn Thu, 19 Nov 2026 at 17:00, Helpdesk <helpdesk@agency.example> wrote:\n> Thanks for your message.\n> We will get back to you.\n",
        );
    }
    match rng.below(10) {
        0 => format!(
            "{head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(body.as_bytes())
        ),
        1 => format!(
            "{head}Content-Type: multipart/alternative; boundary=\"b{index}\"\r\n\r\n\
             --b{index}\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n\
             --b{index}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{}</p>\r\n--b{index}--\r\n",
            quoted_printable(&body),
            body.replace('&', "&amp;").replace('<', "&lt;")
        ),
        2 => format!(
            "{head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n",
            quoted_printable(&body)
        ),
        _ => format!(
            "{head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
            body.replace('\n', "\r\n")
        ),
    }
}

/// `mail` as the text part of a multipart/mixed mail with an attachment of `bytes` bytes
/// (seeded by `index`).
fn with_attachment(mail: &str, index: usize, bytes: usize) -> String {
    let split = mail.find("Content-Type:").unwrap_or(mail.len());
    let (head, content) = mail.split_at(split);
    let mut rng = Rng::new(index as u64 + 1);
    let data: Vec<u8> = (0..bytes).map(|_| rng.below(256) as u8).collect();
    format!(
        "{head}Content-Type: multipart/mixed; boundary=\"m{index}\"\r\n\r\n--m{index}\r\n{content}\r\n\
         --m{index}\r\nContent-Type: application/octet-stream; name=\"data{index}.bin\"\r\n\
         Content-Disposition: attachment; filename=\"data{index}.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--m{index}--\r\n",
        base64(&data)
    )
}

/// Writes `count` sample mails into the Maildir at `out` (through `tmp/`, as a delivery
/// agent does), from `pack`'s test texts and `status`' clients, each with an attachment of
/// `attachment_bytes` when that is not 0; returns how many.
pub fn write_maildir(
    pack: &Pack,
    status: &StatusData,
    out: &Path,
    count: usize,
    seed: u64,
    attachment_bytes: usize,
) -> io::Result<usize> {
    let senders = senders(status);
    if pack.test.is_empty() || senders.is_empty() {
        return Err(io::Error::other(
            "the pack has no test texts or no client address",
        ));
    }
    for folder in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(out.join(folder))?;
    }
    let mut rng = Rng::new(seed);
    for index in 0..count {
        let text = &pack.test[rng.below(pack.test.len())].text;
        let mut mail = sample_mail(&mut rng, index, seed, text, &senders);
        if attachment_bytes > 0 {
            mail = with_attachment(&mail, index, attachment_bytes);
        }
        let name = format!("{}.M{index:06}P{seed}.sample", 1_795_165_200 + index);
        let temporary = out.join("tmp").join(&name);
        std::fs::write(&temporary, mail)?;
        std::fs::rename(&temporary, out.join("new").join(&name))?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use triage::mail::parse::parse_mail;

    /// A mail with an attachment keeps its text and names the attachment.
    #[test]
    fn attachments_wrap_the_text() {
        let mut rng = Rng::new(3);
        let senders = ["ops@acme.example".to_owned()];
        for index in 0..20 {
            let plain = sample_mail(&mut rng, index, 3, "is invoice 1042 paid?", &senders);
            let Ok(expected) = parse_mail(plain.as_bytes()) else {
                continue;
            };
            let mail = parse_mail(with_attachment(&plain, index, 1000).as_bytes()).unwrap();
            assert_eq!(mail.body, expected.body, "{plain}");
            assert_eq!(mail.attachments, [format!("data{index}.bin")]);
        }
    }

    /// The hand-made encodings decode to the text they encode.
    #[test]
    fn encodings_round_trip() {
        let text = "Prüfbericht — когда? 报告 = ready\nsecond line ".repeat(5);
        for (encoding, encoded) in [
            ("base64", base64(text.as_bytes())),
            ("quoted-printable", quoted_printable(&text)),
        ] {
            let raw = format!(
                "From: a@acme.example\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Transfer-Encoding: {encoding}\r\n\r\n{encoded}\r\n"
            );
            let body = parse_mail(raw.as_bytes()).unwrap().body;
            assert_eq!(body.replace("\r\n", "\n").trim(), text.trim(), "{encoding}");
        }
    }
}
