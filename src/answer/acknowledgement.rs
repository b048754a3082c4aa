//! What a client is told when a person will answer (`[acknowledgement]` in `templates.toml`):
//! which team has the inquiry, its ticket, when the service level says it is due and, when one
//! can be told, the expected wait. The same words go to every channel: the Submit response
//! carries them, and the email worker sends them as its acknowledgement.
//!
//! ```toml
//! [acknowledgement]
//! text = "{team} have your message as ticket {ticket} and will answer you {expected_wait}."
//! without_wait = "{team} have your message as ticket {ticket}. Due by {sla_due:datetime}."
//! ```
//!
//! Placeholders: `{team}`, `{ticket}`, `{sla_due}` (a time: `:date` or `:datetime` writes it
//! for people) and, in `text` only, `{expected_wait}` ("within 4 hours"). `without_wait` is
//! used when no wait is told (too little recent history, a follow-up).

use serde::Deserialize;

use super::language::DateWriter;
use super::text::{Source, Text};

/// The acknowledgement with a wait, unless the pack gives its own.
const DEFAULT_TEXT: &str = "Thank you for your message. {team} have it as ticket {ticket} and \
expect to answer you {expected_wait}.";
/// The acknowledgement without a wait, unless the pack gives its own.
const DEFAULT_WITHOUT_WAIT: &str = "Thank you for your message. {team} have it as ticket {ticket} \
and will answer you by {sla_due:datetime} at the latest.";

/// The placeholders every acknowledgement may use, and the one only `text` may.
const NAMES: [&str; 3] = ["team", "ticket", "sla_due"];
const WAIT: &str = "expected_wait";

/// `[acknowledgement]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAcknowledgement {
    text: Option<String>,
    without_wait: Option<String>,
}

/// The facts an acknowledgement is written from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementFacts<'a> {
    pub team: &'a str,
    pub ticket_id: u64,
    /// RFC 3339.
    pub sla_due: String,
    /// The wait in words, when one is told.
    pub expected_wait: Option<&'a str>,
}

/// The pack's acknowledgement texts, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementTexts {
    text: Text,
    without_wait: Text,
}

impl RawAcknowledgement {
    /// The texts, the pack's or the defaults; the error names the key and what is wrong.
    pub(crate) fn validate(self) -> Result<AcknowledgementTexts, String> {
        let text = checked("text", self.text.as_deref().unwrap_or(DEFAULT_TEXT), true)?;
        let without_wait = checked(
            "without_wait",
            self.without_wait.as_deref().unwrap_or(DEFAULT_WITHOUT_WAIT),
            false,
        )?;
        Ok(AcknowledgementTexts { text, without_wait })
    }
}

/// `source` parsed, with only the placeholders an acknowledgement has (`{expected_wait}` when
/// `with_wait`).
fn checked(key: &str, source: &str, with_wait: bool) -> Result<Text, String> {
    let text = Text::parse(source).map_err(|message| format!("{key}: {message}"))?;
    for placeholder in text.placeholders() {
        let known = match &placeholder.source {
            Source::EntityField(name) => {
                NAMES.contains(&name.as_str()) || (with_wait && name == WAIT)
            }
            _ => false,
        };
        if !known {
            let allowed = if with_wait {
                "{team}, {ticket}, {sla_due} or {expected_wait}"
            } else {
                "{team}, {ticket} or {sla_due}"
            };
            return Err(format!(
                "{key}: {{{}}} is not a placeholder here (use {allowed})",
                placeholder.key
            ));
        }
    }
    Ok(text)
}

impl AcknowledgementTexts {
    /// The acknowledgement of `facts`, its dates written by `dates`: `text` when a wait is
    /// told, else `without_wait`.
    pub(crate) fn render(&self, facts: &AcknowledgementFacts<'_>, dates: &DateWriter) -> String {
        let ticket = facts.ticket_id.to_string();
        let (template, wait) = match facts.expected_wait {
            Some(wait) => (&self.text, wait),
            None => (&self.without_wait, ""),
        };
        template.render_values(
            |name| match name {
                "team" => facts.team,
                "ticket" => &ticket,
                "sla_due" => &facts.sla_due,
                _ => wait,
            },
            dates,
        )
    }
}

impl Default for AcknowledgementTexts {
    fn default() -> Self {
        RawAcknowledgement::default()
            .validate()
            .expect("the default acknowledgement texts are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::language::Language;

    fn english() -> DateWriter {
        DateWriter::new(&Language::parse("en-GB").unwrap()).unwrap()
    }

    fn facts(expected_wait: Option<&str>) -> AcknowledgementFacts<'_> {
        AcknowledgementFacts {
            team: "Web developers",
            ticket_id: 42,
            sla_due: "2026-12-07T09:00:00Z".into(),
            expected_wait,
        }
    }

    #[test]
    fn the_defaults_name_the_team_the_ticket_and_the_wait_or_the_due_time() {
        let texts = AcknowledgementTexts::default();
        assert_eq!(
            texts.render(&facts(Some("within 4 hours")), &english()),
            "Thank you for your message. Web developers have it as ticket 42 and expect to \
             answer you within 4 hours."
        );
        assert_eq!(
            texts.render(&facts(None), &english()),
            "Thank you for your message. Web developers have it as ticket 42 and will answer \
             you by Monday 7 December 2026 at 09:00 UTC at the latest."
        );
    }

    #[test]
    fn a_packs_texts_are_checked() {
        let raw = |text: &str, without_wait: &str| RawAcknowledgement {
            text: Some(text.into()),
            without_wait: Some(without_wait.into()),
        };
        let texts = raw(
            "{team}: {ticket}, {expected_wait}.",
            "{team}: {ticket}, {sla_due:date}.",
        )
        .validate()
        .unwrap();
        assert_eq!(
            texts.render(&facts(None), &english()),
            "Web developers: 42, Monday 7 December 2026."
        );
        assert_eq!(
            raw("{team}", "{team} {expected_wait}")
                .validate()
                .unwrap_err(),
            "without_wait: {expected_wait} is not a placeholder here (use {team}, {ticket} or {sla_due})"
        );
        assert_eq!(
            raw("{client.name}", "{team}").validate().unwrap_err(),
            "text: {client.name} is not a placeholder here (use {team}, {ticket}, {sla_due} or {expected_wait})"
        );
        assert_eq!(
            raw("{team", "{team}").validate().unwrap_err(),
            "text: unclosed '{' at byte 0"
        );
    }
}
