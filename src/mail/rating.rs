//! Ratings by mail: each answer that went out by mail (automatic, or a specialist's reply) is
//! followed, once per inquiry and after a set delay, by a short mail asking the client to rate
//! it: a reply of one digit (1 to 5), or the signed link to the rating page for more (the
//! effort it took, a comment). A client's reply whose text is one such digit, in a thread of an
//! answer or an ask, is that inquiry's rating: passed to the server (which takes a rating by
//! mail only as the inquiry's first), never submitted as an inquiry.
//!
//! The state lives in `.triage/ratings.jsonl`, one line per step, synced: an ask due, an ask
//! sent, a rating read from a mail, the server's word on it. A step is written before the mail
//! it concerns leaves `new/` or after the ask is in the outbox, so a restart neither loses a
//! rating nor asks twice (a kill between the outbox and the line writes the same file again).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use serde::{Deserialize, Serialize};

use super::jsonl;
use super::parse::ParsedMail;
use super::reply::{message_id, reply_subject};

/// The highest digit a rating reply may be: satisfaction is asked on a scale of 1 to 5.
const MAX_DIGIT: u8 = 5;

/// An ask for a rating of an answer, due once the answer has had time to be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    /// The inquiry whose answer is rated.
    pub inquiry_id: String,
    pub recipient: String,
    /// The subject of the thread.
    pub subject: String,
    /// The Message-ID of the answer: the ask is threaded under it.
    pub answer_message_id: String,
    /// The thread's Message-IDs before the answer, oldest first.
    pub references: Vec<String>,
    /// When the answer went out, by the worker's clock (which the delay is counted on).
    pub answered_ms: i64,
}

/// A rating read from a client's mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRating {
    /// The rating mail's own inquiry id (its journal key).
    pub mail_id: String,
    /// The inquiry whose answer it rates.
    pub inquiry_id: String,
    pub csat: u8,
}

/// What the server made of a rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum RatingVerdict {
    Recorded,
    Refused { reason: String },
}

/// One line of `ratings.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Line {
    Ask(Ask),
    /// The ask for `inquiry_id` went out as `message_id` (or was dropped: `message_id` empty).
    Asked {
        inquiry_id: String,
        message_id: String,
    },
    Rating(MailRating),
    Rated {
        mail_id: String,
        #[serde(flatten)]
        verdict: RatingVerdict,
    },
}

/// The asks and ratings of one spool, and the file that keeps them.
pub struct RatingLedger {
    path: PathBuf,
    /// Every ask, by inquiry id: one per inquiry, ever.
    asks: HashMap<String, Ask>,
    /// The asks sent, by inquiry id.
    asked: HashMap<String, String>,
    /// The inquiry each answer and ask mail is about, by Message-ID.
    threads: HashMap<String, String>,
    ratings: HashMap<String, MailRating>,
    rated: HashMap<String, RatingVerdict>,
}

impl RatingLedger {
    /// Reads the ledger at `path` (none yet: nothing asked); a line that does not read is an
    /// error naming it.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut ledger = Self {
            path: path.to_owned(),
            asks: HashMap::new(),
            asked: HashMap::new(),
            threads: HashMap::new(),
            ratings: HashMap::new(),
            rated: HashMap::new(),
        };
        for line in jsonl::read::<Line>(path)? {
            ledger.apply(line);
        }
        Ok(ledger)
    }

    fn apply(&mut self, line: Line) {
        match line {
            Line::Ask(ask) => {
                self.threads
                    .insert(ask.answer_message_id.clone(), ask.inquiry_id.clone());
                self.asks.insert(ask.inquiry_id.clone(), ask);
            }
            Line::Asked {
                inquiry_id,
                message_id,
            } => {
                if !message_id.is_empty() {
                    self.threads.insert(message_id.clone(), inquiry_id.clone());
                }
                self.asked.insert(inquiry_id, message_id);
            }
            Line::Rating(rating) => {
                self.ratings.insert(rating.mail_id.clone(), rating);
            }
            Line::Rated { mail_id, verdict } => {
                self.rated.insert(mail_id, verdict);
            }
        }
    }

    /// Appends `lines`, synced, and applies them.
    fn append(&mut self, lines: Vec<Line>) -> io::Result<()> {
        jsonl::append(&self.path, &lines)?;
        for line in lines {
            self.apply(line);
        }
        Ok(())
    }

    /// Keeps `asks` due, but for inquiries asked about before (an inquiry is asked once).
    pub fn schedule(&mut self, asks: impl IntoIterator<Item = Ask>) -> io::Result<()> {
        let mut new: Vec<Ask> = Vec::new();
        for ask in asks {
            let known = self.asks.contains_key(&ask.inquiry_id)
                || new.iter().any(|other| other.inquiry_id == ask.inquiry_id);
            if !known {
                new.push(ask);
            }
        }
        self.append(new.into_iter().map(Line::Ask).collect())
    }

    /// The asks not sent yet about answers that went out by `answered_by_ms`, the oldest first.
    pub fn due(&self, answered_by_ms: i64) -> Vec<Ask> {
        let mut due: Vec<Ask> = self
            .asks
            .values()
            .filter(|ask| {
                ask.answered_ms <= answered_by_ms && !self.asked.contains_key(&ask.inquiry_id)
            })
            .cloned()
            .collect();
        due.sort_by(|a, b| (a.answered_ms, &a.inquiry_id).cmp(&(b.answered_ms, &b.inquiry_id)));
        due
    }

    /// Keeps the ask for `inquiry_id` sent as `message_id`, or dropped when `None`.
    pub fn asked(&mut self, inquiry_id: &str, message_id: Option<String>) -> io::Result<()> {
        self.append(vec![Line::Asked {
            inquiry_id: inquiry_id.to_owned(),
            message_id: message_id.unwrap_or_default(),
        }])
    }

    /// The rating `mail` gives, when it is one: a reply of one digit from 1 to 5 in the thread
    /// of an answer or an ask this spool sent.
    pub fn rating_in(&self, mail: &ParsedMail) -> Option<MailRating> {
        let csat = rating_digit(&mail.body)?;
        let inquiry_id = mail
            .references
            .iter()
            .rev()
            .find_map(|id| self.threads.get(id))?;
        Some(MailRating {
            mail_id: mail.inquiry_id.clone(),
            inquiry_id: inquiry_id.clone(),
            csat,
        })
    }

    /// Keeps `rating` to be passed to the server (once per mail).
    pub fn record(&mut self, rating: MailRating) -> io::Result<()> {
        if self.ratings.contains_key(&rating.mail_id) {
            return Ok(());
        }
        self.append(vec![Line::Rating(rating)])
    }

    /// The ratings the server has not taken or refused yet.
    pub fn unsent(&self) -> Vec<MailRating> {
        let mut unsent: Vec<MailRating> = self
            .ratings
            .values()
            .filter(|rating| !self.rated.contains_key(&rating.mail_id))
            .cloned()
            .collect();
        unsent.sort_by(|a, b| a.mail_id.cmp(&b.mail_id));
        unsent
    }

    /// Keeps what the server made of the rating in `mail_id`.
    pub fn rated(&mut self, mail_id: &str, verdict: RatingVerdict) -> io::Result<()> {
        self.append(vec![Line::Rated {
            mail_id: mail_id.to_owned(),
            verdict,
        }])
    }
}

/// The digit a client's text is, when it is one digit from 1 to 5 (`MAX_DIGIT`) and nothing
/// else but spaces and punctuation ("4", " 5! "); full-width digits count (as Chinese and
/// Japanese input writes them).
pub fn rating_digit(text: &str) -> Option<u8> {
    let mut digits = text
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation() && !is_wide_punctuation(*c));
    let digit = digits.next()?;
    if digits.next().is_some() {
        return None;
    }
    let value = match digit {
        '0'..='9' => digit.to_digit(10)?,
        '０'..='９' => u32::from(digit) - u32::from('０'),
        _ => return None,
    };
    let value = u8::try_from(value).ok()?;
    (1..=MAX_DIGIT).contains(&value).then_some(value)
}

/// Full-width and CJK punctuation that may follow a digit ("５！", "4。").
fn is_wide_punctuation(c: char) -> bool {
    matches!(c, '！' | '。' | '，' | '．' | '？')
}

/// The mail asking for a rating of `ask`'s answer, from `from_address`, with the rating `link`,
/// dated `now_ms`; and its Message-ID.
pub fn ask_eml(
    ask: &Ask,
    link: &str,
    from_address: &str,
    now_ms: i64,
) -> io::Result<(Vec<u8>, String)> {
    let id = message_id("rating", &ask.inquiry_id, from_address);
    let mut references = ask.references.clone();
    references.push(ask.answer_message_id.clone());
    references.dedup();
    let text = format!(
        "How did we do?\n\n\
         Reply to this mail with one digit to rate our answer:\n\
         5 very satisfied, 4 satisfied, 3 neither, 2 dissatisfied, 1 very dissatisfied.\n\n\
         Or rate it here, and tell us how easy it was:\n{link}\n"
    );
    let eml = MessageBuilder::new()
        .from(from_address)
        .to(ask.recipient.as_str())
        .subject(reply_subject(&ask.subject))
        .message_id(id.as_str())
        .in_reply_to(ask.answer_message_id.as_str())
        .references(references)
        .date(now_ms.div_euclid(1000))
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .header("X-Auto-Response-Suppress", Raw::new("All"))
        .text_body(text)
        .write_to_vec()?;
    Ok((eml, id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse::parse_mail_to;

    fn ask(inquiry_id: &str, answered_ms: i64) -> Ask {
        Ask {
            inquiry_id: inquiry_id.into(),
            recipient: "wang@acme.example".into(),
            subject: "Content plan".into(),
            answer_message_id: format!("reply.{}@agency.example", &inquiry_id[..2]),
            references: vec![inquiry_id.into()],
            answered_ms,
        }
    }

    #[test]
    fn a_rating_is_one_digit_from_one_to_five() {
        for (text, digit) in [
            ("4", Some(4)),
            (" 5!\n", Some(5)),
            ("５！", Some(5)),
            ("1.", Some(1)),
        ] {
            assert_eq!(rating_digit(text), digit, "{text:?}");
        }
        for text in ["", "0", "6", "45", "4 stars", "five", "4/5", "-"] {
            assert_eq!(rating_digit(text), None, "{text:?}");
        }
    }

    /// An inquiry is asked about once, when its answer is old enough; the ledger survives a restart, and a digit
    /// replying to the answer or the ask rates that inquiry.
    #[test]
    fn asks_and_ratings_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".triage/ratings.jsonl");
        let mut ledger = RatingLedger::open(&path).unwrap();
        ledger
            .schedule([ask("m1@acme.example", 100), ask("m2@acme.example", 200)])
            .unwrap();
        ledger.schedule([ask("m1@acme.example", 50)]).unwrap();
        assert_eq!(ledger.due(150), vec![ask("m1@acme.example", 100)]);
        ledger
            .asked("m1@acme.example", Some("rating-1@agency.example".into()))
            .unwrap();
        assert_eq!(ledger.due(150), Vec::<Ask>::new());

        let mut ledger = RatingLedger::open(&path).unwrap();
        assert_eq!(ledger.due(1_000), vec![ask("m2@acme.example", 200)]);
        let mail = |id: &str, body: &str, references: &[&str]| {
            let references: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
            let raw = format!(
                "From: wang@acme.example\r\nTo: help@agency.example\r\nMessage-ID: <{id}>\r\n\
                 References: {}\r\nSubject: Re: Content plan\r\n\r\n{body}\r\n",
                references.join(" ")
            );
            parse_mail_to(raw.as_bytes(), "help@agency.example").unwrap()
        };
        let to_ask = mail(
            "r1@acme.example",
            "4",
            &["m1@acme.example", "rating-1@agency.example"],
        );
        let rating = ledger.rating_in(&to_ask).unwrap();
        assert_eq!(
            (rating.inquiry_id.as_str(), rating.csat),
            ("m1@acme.example", 4)
        );
        let to_answer = mail(
            "r2@acme.example",
            "5",
            &["m2@acme.example", "reply.m2@agency.example"],
        );
        assert_eq!(
            ledger.rating_in(&to_answer).unwrap().inquiry_id,
            "m2@acme.example"
        );
        assert_eq!(
            ledger.rating_in(&mail("r3@acme.example", "5", &["other@x"])),
            None
        );
        assert_eq!(
            ledger.rating_in(&mail("r4@acme.example", "thanks", &["m1@acme.example"])),
            None
        );

        ledger.record(rating.clone()).unwrap();
        ledger.record(rating.clone()).unwrap();
        assert_eq!(ledger.unsent(), vec![rating.clone()]);
        ledger
            .rated("r1@acme.example", RatingVerdict::Recorded)
            .unwrap();
        let reopened = RatingLedger::open(&path).unwrap();
        assert_eq!(reopened.unsent(), Vec::<MailRating>::new());

        std::fs::write(&path, "{\"step\":\"ask\"}\n").unwrap();
        let error = RatingLedger::open(&path).err().unwrap().to_string();
        assert!(
            error.contains("ratings.jsonl line 1: missing field"),
            "{error}"
        );
    }

    /// The ask is an automatic mail threaded under the answer, with the digit scale and link.
    #[test]
    fn the_ask_is_threaded_under_the_answer() {
        let (eml, id) = ask_eml(
            &ask("m1@acme.example", 0),
            "https://help.example/feedback/abc",
            "help@agency.example",
            1_795_165_200_000,
        )
        .unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&eml).unwrap();
        assert_eq!(parsed.subject(), Some("Re: Content plan"));
        assert_eq!(
            parsed.in_reply_to().as_text(),
            Some("reply.m1@agency.example")
        );
        assert_eq!(parsed.message_id(), Some(id.as_str()));
        let text = String::from_utf8_lossy(&eml);
        assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
        let body = parsed.body_text(0).unwrap();
        assert!(body.contains("one digit"), "{body}");
        assert!(body.contains("https://help.example/feedback/abc"), "{body}");
    }
}
