//! What a client is told when a person will answer (`[acknowledgement]` in `templates.toml`):
//! which team has the inquiry, its ticket, when the service level says it is due and, when one
//! can be told, the expected wait; in the language the client is written to (the decision's),
//! like any answer. The same words go to every channel: the Submit response carries them, and
//! the email worker sends them as its acknowledgement.
//!
//! ```toml
//! [acknowledgement]
//! text = "{team} have your message as ticket {ticket} and will answer you {expected_wait}."
//! without_wait = "{team} have your message as ticket {ticket}. Due by {sla_due:datetime}."
//!
//! [acknowledgement.variants.ru]
//! text = "Ваше обращение получила команда {team} (заявка {ticket}); ответим {expected_wait}."
//! without_wait = "Ваше обращение получила команда {team} (заявка {ticket}); ответим не позднее {sla_due:datetime}."
//! waits = { within_1h = "в течение часа", within_2h = "в течение двух часов", ... }
//! ```
//!
//! Placeholders: `{team}`, `{ticket}`, `{sla_due}` (a time: `:date` or `:datetime` writes it
//! for people) and, in `text` only, `{expected_wait}`: the wait's bucket in the words of the
//! table's `waits` ([`WAIT_BUCKETS`] names them), English ones ("within 4 hours") where an
//! English table gives none. `without_wait` is used when no wait is told (too little recent
//! history, a follow-up). A pack written in several languages gives a variant in each of its
//! other languages; a table in a language other than English gives every wait's words.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::date::Timestamp;
use super::language::{DateWriter, Language};
use super::template_rule::PackLanguages;
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

/// The expected wait's buckets by name, as the helpdesk's estimator tells them: the keys of a
/// table's `waits`.
pub const WAIT_BUCKETS: [&str; 7] = [
    "within_1h",
    "within_2h",
    "within_4h",
    "end_of_today",
    "tomorrow_noon",
    "within_2d",
    "within_1w",
];

/// `[acknowledgement]` as written: the default language's words and the variants.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAcknowledgement {
    text: Option<String>,
    without_wait: Option<String>,
    #[serde(default)]
    waits: BTreeMap<String, String>,
    #[serde(default)]
    variants: BTreeMap<String, RawWords>,
}

/// One variant as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWords {
    text: String,
    without_wait: String,
    #[serde(default)]
    waits: BTreeMap<String, String>,
}

/// The facts an acknowledgement is written from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementFacts<'a> {
    pub team: &'a str,
    pub ticket_id: u64,
    pub sla_due: jiff::Timestamp,
    /// The wait, when one is told.
    pub expected_wait: Option<ExpectedWait<'a>>,
}

/// A wait told: its bucket's name (one of [`WAIT_BUCKETS`]) and its English words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedWait<'a> {
    pub bucket: &'a str,
    pub english: &'a str,
}

/// The pack's acknowledgement texts, checked: the default language's and each other
/// language's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementTexts {
    main: Words,
    variants: BTreeMap<Language, Words>,
}

/// The acknowledgement in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Words {
    text: Text,
    without_wait: Text,
    /// The waits' words by bucket name; the English words for a bucket not here.
    waits: BTreeMap<String, String>,
}

impl RawAcknowledgement {
    /// The texts, the pack's or the English defaults, for a pack written in `languages`; the
    /// error names the table and what is wrong.
    pub(crate) fn validate(
        self,
        languages: &PackLanguages,
    ) -> Result<AcknowledgementTexts, (String, String)> {
        let main_table = "acknowledgement".to_owned();
        let english_default = languages.default.primary() == "en";
        if !english_default && (self.text.is_none() || self.without_wait.is_none()) {
            return Err((
                main_table,
                format!(
                    "the pack's default language is {}: give text and without_wait in it",
                    languages.default
                ),
            ));
        }
        let main = Words::checked(
            self.text.as_deref().unwrap_or(DEFAULT_TEXT),
            self.without_wait.as_deref().unwrap_or(DEFAULT_WITHOUT_WAIT),
            self.waits,
            &languages.default,
        )
        .map_err(|message| (main_table, message))?;
        let mut variants = BTreeMap::new();
        for (tag, raw) in self.variants {
            let table = format!("acknowledgement.variants.{tag}");
            let language = languages
                .other(&tag)
                .map_err(|message| (table.clone(), message))?;
            let words = Words::checked(&raw.text, &raw.without_wait, raw.waits, &language)
                .map_err(|message| (table, message))?;
            variants.insert(language, words);
        }
        if let Some(lacking) = languages.lacking(|language| variants.contains_key(language)) {
            return Err((
                "acknowledgement.variants".to_owned(),
                format!("no acknowledgement in {lacking}, one of the pack's languages"),
            ));
        }
        Ok(AcknowledgementTexts { main, variants })
    }
}

impl Words {
    /// The texts and waits of a table in `language`, checked.
    fn checked(
        text: &str,
        without_wait: &str,
        waits: BTreeMap<String, String>,
        language: &Language,
    ) -> Result<Self, String> {
        if let Some(unknown) = waits
            .keys()
            .find(|name| !WAIT_BUCKETS.contains(&name.as_str()))
        {
            return Err(format!(
                "waits: {unknown:?} is not a wait (use {})",
                WAIT_BUCKETS.join(", ")
            ));
        }
        if language.primary() != "en"
            && let Some(lacking) = WAIT_BUCKETS.iter().find(|name| !waits.contains_key(**name))
        {
            return Err(format!(
                "waits: no words for {lacking} in {language} (every wait needs its words)"
            ));
        }
        Ok(Self {
            text: checked("text", text, true)?,
            without_wait: checked("without_wait", without_wait, false)?,
            waits,
        })
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
    /// The acknowledgement of `facts` in `language` (the default language's when the pack has
    /// no variant in it), its dates written by `dates`: `text` when a wait is told, else
    /// `without_wait`.
    pub(crate) fn render(
        &self,
        facts: &AcknowledgementFacts<'_>,
        language: &Language,
        dates: &DateWriter,
    ) -> String {
        let words = self.variants.get(language).unwrap_or(&self.main);
        let ticket = facts.ticket_id.to_string();
        // Written as the status data writes instants, which the placeholders' formats read.
        let sla_due = Timestamp::Instant(facts.sla_due).to_string();
        let (template, wait) = match facts.expected_wait {
            Some(wait) => (
                &words.text,
                words
                    .waits
                    .get(wait.bucket)
                    .map_or(wait.english, String::as_str),
            ),
            None => (&words.without_wait, ""),
        };
        template.render_values(
            |name| match name {
                "team" => facts.team,
                "ticket" => &ticket,
                "sla_due" => &sla_due,
                _ => wait,
            },
            dates,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn language(tag: &str) -> Language {
        Language::parse(tag).unwrap()
    }

    fn english() -> PackLanguages {
        PackLanguages {
            default: language("en-GB"),
            others: BTreeSet::new(),
        }
    }

    fn writer(tag: &str) -> DateWriter {
        DateWriter::new(&language(tag)).unwrap()
    }

    fn facts(expected_wait: Option<ExpectedWait<'static>>) -> AcknowledgementFacts<'static> {
        AcknowledgementFacts {
            team: "Web developers",
            ticket_id: 42,
            sla_due: "2026-12-07T09:00:00.250Z".parse().unwrap(),
            expected_wait,
        }
    }

    const FOUR_HOURS: ExpectedWait<'static> = ExpectedWait {
        bucket: "within_4h",
        english: "within 4 hours",
    };

    fn raw(text: &str, without_wait: &str) -> RawAcknowledgement {
        RawAcknowledgement {
            text: Some(text.into()),
            without_wait: Some(without_wait.into()),
            ..RawAcknowledgement::default()
        }
    }

    fn all_waits(words: &str) -> BTreeMap<String, String> {
        WAIT_BUCKETS
            .iter()
            .map(|name| ((*name).to_owned(), format!("{words} {name}")))
            .collect()
    }

    #[test]
    fn the_defaults_name_the_team_the_ticket_and_the_wait_or_the_due_time() {
        let texts = RawAcknowledgement::default().validate(&english()).unwrap();
        let en = language("en-GB");
        assert_eq!(
            texts.render(&facts(Some(FOUR_HOURS)), &en, &writer("en-GB")),
            "Thank you for your message. Web developers have it as ticket 42 and expect to \
             answer you within 4 hours."
        );
        assert_eq!(
            texts.render(&facts(None), &en, &writer("en-GB")),
            "Thank you for your message. Web developers have it as ticket 42 and will answer \
             you by Monday 7 December 2026 at 09:00 UTC at the latest."
        );
    }

    /// Each language's variant writes the wait in its own words and the date in its own way;
    /// a language without a variant reads the default's.
    #[test]
    fn a_variant_speaks_its_language() {
        let languages = PackLanguages {
            default: language("en-GB"),
            others: BTreeSet::from([language("ru")]),
        };
        let mut acknowledgement = raw("{team}: {ticket}, {expected_wait}.", "{team}: {ticket}.");
        acknowledgement.variants.insert(
            "ru".into(),
            RawWords {
                text: "Команда {team}, заявка {ticket}: ответим {expected_wait}.".into(),
                without_wait: "Команда {team}, заявка {ticket}: не позднее {sla_due:date}.".into(),
                waits: all_waits("в течение"),
            },
        );
        let texts = acknowledgement.validate(&languages).unwrap();
        assert_eq!(
            texts.render(&facts(Some(FOUR_HOURS)), &language("ru"), &writer("ru")),
            "Команда Web developers, заявка 42: ответим в течение within_4h."
        );
        assert_eq!(
            texts.render(&facts(None), &language("ru"), &writer("ru")),
            "Команда Web developers, заявка 42: не позднее понедельник, 7 декабря 2026\u{202f}г.."
        );
        assert_eq!(
            texts.render(&facts(Some(FOUR_HOURS)), &language("de"), &writer("en-GB")),
            "Web developers: 42, within 4 hours."
        );
    }

    #[test]
    fn a_packs_texts_are_checked() {
        let texts = raw(
            "{team}: {ticket}, {expected_wait}.",
            "{team}: {ticket}, {sla_due:date}.",
        )
        .validate(&english())
        .unwrap();
        assert_eq!(
            texts.render(&facts(None), &language("en-GB"), &writer("en-GB")),
            "Web developers: 42, Monday 7 December 2026."
        );
        let refused = |acknowledgement: RawAcknowledgement, languages: &PackLanguages| {
            let (table, message) = acknowledgement.validate(languages).unwrap_err();
            format!("{table}: {message}")
        };
        assert_eq!(
            refused(raw("{team}", "{team} {expected_wait}"), &english()),
            "acknowledgement: without_wait: {expected_wait} is not a placeholder here (use {team}, {ticket} or {sla_due})"
        );
        assert_eq!(
            refused(raw("{client.name}", "{team}"), &english()),
            "acknowledgement: text: {client.name} is not a placeholder here (use {team}, {ticket}, {sla_due} or {expected_wait})"
        );
        assert_eq!(
            refused(raw("{team", "{team}"), &english()),
            "acknowledgement: text: unclosed '{' at byte 0"
        );
        let mut typo = raw("{team}", "{team}");
        typo.waits.insert("within_3h".into(), "in 3 hours".into());
        assert!(
            refused(typo, &english())
                .starts_with("acknowledgement: waits: \"within_3h\" is not a wait")
        );

        let russian = PackLanguages {
            default: language("ru"),
            others: BTreeSet::from([language("zh")]),
        };
        assert_eq!(
            refused(RawAcknowledgement::default(), &russian),
            "acknowledgement: the pack's default language is ru: give text and without_wait in it"
        );
        assert_eq!(
            refused(raw("{team}", "{team}"), &russian),
            "acknowledgement: waits: no words for within_1h in ru (every wait needs its words)"
        );
        let mut without_zh = raw("{team}", "{team}");
        without_zh.waits = all_waits("за");
        assert_eq!(
            refused(without_zh, &russian),
            "acknowledgement.variants: no acknowledgement in zh, one of the pack's languages"
        );
        let mut unknown = raw("{team}", "{team}");
        unknown.variants.insert(
            "de".into(),
            RawWords {
                text: "{team}".into(),
                without_wait: "{team}".into(),
                waits: all_waits("in"),
            },
        );
        assert_eq!(
            refused(unknown, &english()),
            "acknowledgement.variants.de: de is not one of the pack's other languages"
        );
    }
}
