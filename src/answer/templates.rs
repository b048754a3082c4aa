//! A pack's answer templates (`templates.toml`): how each status kind, or one intent, is
//! answered; validated against the pack's direct intents and its data, and applied to one
//! client at a time.
//!
//! ```toml
//! default_language = "en-GB"  # the language of the main texts; "en-GB" unless given
//! languages = ["ru", "zh"]  # the others: every table has a variant in each
//! as_of_note = "These are our records as of {as_of:datetime}."  # optional, see below
//! as_of_note_variants = { ru = "...", zh = "..." }  # the note in the other languages
//! [status_kinds.invoice]
//! entity = "invoice"        # the entity kind to read
//! select = "latest"         # mentioned | next | latest | single | none
//! order_by = "issued"       # next and latest only: the date field they order by
//! text = "Invoice {id} is {status}; it is due on {due:date}."
//! missing = "We have no invoice {asked} on your account; yours are {records}."  # optional
//! item = "{id} ({status})"  # how {records} writes each record; "{name}" unless given
//! [[status_kinds.invoice.cases]]  # optional: the first case whose fields all match wins
//! when = { status = "paid" }
//! text = "Invoice {id} was paid on {paid_on:date}."
//! [status_kinds.invoice.variants.ru]          # the template in another language: its text,
//! text = "Счёт {id}: {status}, оплатить до {due:date}."  # missing and item, and the cases of
//! [[status_kinds.invoice.variants.ru.cases]]  # the main text in the same order
//! when = { status = "paid" }
//! text = "Счёт {id} оплачен {paid_on:date}."
//! [status_kinds.invoice.variants."zh/finance"]  # optional: a role's own wording in a language
//! text = "..."
//! [intents.age_limit]       # optional: a whole template of its own for one intent ...
//! select = "none"
//! text = "You need to be 18 or over to open an account."
//! [intents.overdue_invoice] # ... or, without select, its status kind's template narrowed
//! only = { status = "overdue" }   # consider only entities with these field values
//! [records.invoice]         # optional: when a kind's records read as overdue (`overdue`)
//! due = "due"
//! state = "status"
//! closing = ["paid"]
//! overdue = "overdue"
//! ```
//!
//! `as_of_note` is added to an answer whose data is older than the pack's
//! `status.as_of_note_after_hours`; it may use `{as_of}` and the client's values. What the
//! client is told when a person will answer is `[acknowledgement]`
//! ([`AcknowledgementTexts`]).
//!
//! Every variant states the same facts as the main text (see `template_rule`); which one an
//! answer gets is the reader's choice (see `variant`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::acknowledgement::{AcknowledgementFacts, AcknowledgementTexts, RawAcknowledgement};
use super::client::{Client, Entity};
use super::date::Timestamp;
use super::error::{AnswerError, read_text};
use super::language::{DateWriter, Language};
use super::overdue::{OverdueRule, RawOverdueRule};
use super::reads::Question;
use super::rendered::{Answer, Fact, NoAnswer};
#[cfg(test)]
use super::template_rule::WordingKey;
use super::template_rule::{PackLanguages, RawTemplateRule, TemplateRule};
use super::text::{Format, Source, Text};
use super::variant::Reader;
use crate::text::{printable, quoted};

/// The note on an answer from data older than the pack's setting, unless the file gives one.
const DEFAULT_AS_OF_NOTE: &str = "This is what our records showed on {as_of:datetime}.";

/// The language of the main texts unless the file names one: British English, whose dates
/// read "Saturday 28 November 2026".
const DEFAULT_LANGUAGE: &str = "en-GB";

/// All of a pack's templates, by status kind and by intent, with the kinds' overdue rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    by_kind: BTreeMap<String, TemplateRule>,
    by_intent: BTreeMap<String, TemplateRule>,
    overdue: BTreeMap<String, OverdueRule>,
    /// The note in each of the pack's languages.
    as_of_note: BTreeMap<Language, Text>,
    languages: PackLanguages,
    dates: DateWriters,
    acknowledgement: AcknowledgementTexts,
}

/// A date writer per language of the pack, made once at load.
#[derive(Debug, Clone)]
struct DateWriters(BTreeMap<Language, Arc<DateWriter>>);

impl PartialEq for DateWriters {
    /// Writers of the same languages write alike.
    fn eq(&self, other: &Self) -> bool {
        self.0.keys().eq(other.0.keys())
    }
}

impl Eq for DateWriters {}

impl DateWriters {
    /// The writer of `language`, else of any language the pack has (load made one for each).
    fn of(&self, language: &Language) -> &DateWriter {
        self.0
            .get(language)
            .or_else(|| self.0.values().next())
            .expect("a pack has at least its default language")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplatesFile {
    default_language: Option<String>,
    #[serde(default)]
    languages: Vec<String>,
    as_of_note: Option<String>,
    #[serde(default)]
    as_of_note_variants: BTreeMap<String, String>,
    #[serde(default)]
    status_kinds: BTreeMap<String, RawTemplateRule>,
    #[serde(default)]
    intents: BTreeMap<String, RawTemplateRule>,
    #[serde(default)]
    records: BTreeMap<String, RawOverdueRule>,
    #[serde(default)]
    acknowledgement: RawAcknowledgement,
}

impl Templates {
    /// Reads and validates `path`; `direct_intents` are the pack's `(intent, status_kind)`
    /// pairs, each of which must get a template (its own or its status kind's).
    pub fn load(path: &Path, direct_intents: &[(String, String)]) -> Result<Self, AnswerError> {
        let source = read_text(path)?;
        Self::parse(path, &source, direct_intents)
    }

    /// Parses and validates `source`, the text of `path`.
    pub(crate) fn parse(
        path: &Path,
        source: &str,
        direct_intents: &[(String, String)],
    ) -> Result<Self, AnswerError> {
        let file: TemplatesFile = toml::from_str(source).map_err(|error| AnswerError::Syntax {
            path: path.to_owned(),
            message: printable(error.to_string().trim_end()),
        })?;
        let bad = |table: String, message: String| AnswerError::BadTemplate {
            path: path.to_owned(),
            table,
            message,
        };
        let languages = pack_languages(&file).map_err(|message| bad_file(path, message))?;
        let mut by_kind = BTreeMap::new();
        for (kind, raw) in &file.status_kinds {
            let table = format!("status_kinds.{kind}");
            let template = raw
                .clone()
                .validate(table.clone(), &languages)
                .map_err(|message| bad(table, message))?;
            by_kind.insert(kind.clone(), template);
        }
        let kinds: BTreeMap<&str, &str> = direct_intents
            .iter()
            .map(|(intent, kind)| (intent.as_str(), kind.as_str()))
            .collect();
        let mut by_intent = BTreeMap::new();
        for (intent, raw) in file.intents {
            let table = format!("intents.{intent}");
            let Some(kind) = kinds.get(intent.as_str()) else {
                return Err(bad(table, "not a direct intent of the pack".into()));
            };
            let template = raw
                .over(file.status_kinds.get(*kind))
                .and_then(|raw| raw.validate(table.clone(), &languages))
                .map_err(|message| bad(table, message))?;
            by_intent.insert(intent, template);
        }
        let mut overdue = BTreeMap::new();
        for (kind, raw) in file.records {
            let rule = raw
                .validate()
                .map_err(|message| bad(format!("records.{kind}"), message))?;
            overdue.insert(kind, rule);
        }
        let note_source = file.as_of_note.as_deref().unwrap_or(DEFAULT_AS_OF_NOTE);
        let main_note =
            as_of_note_text(note_source).map_err(|message| bad("as_of_note".into(), message))?;
        let mut as_of_note = BTreeMap::new();
        for (tag, source) in &file.as_of_note_variants {
            let table = format!("as_of_note_variants.{tag}");
            let language = languages
                .other(tag)
                .map_err(|message| bad(table.clone(), message))?;
            let text = as_of_note_text(source).map_err(|message| bad(table.clone(), message))?;
            if text.fact_names() != main_note.fact_names() {
                return Err(bad(
                    table,
                    "a variant states the facts of as_of_note, no other".into(),
                ));
            }
            as_of_note.insert(language, text);
        }
        if let Some(lacking) = languages.lacking(|language| as_of_note.contains_key(language)) {
            return Err(bad(
                "as_of_note_variants".into(),
                format!("no note in {lacking}, one of the pack's languages"),
            ));
        }
        as_of_note.insert(languages.default.clone(), main_note);
        let dates = languages
            .all()
            .map(|language| {
                DateWriter::new(language).map(|writer| (language.clone(), Arc::new(writer)))
            })
            .collect::<Result<_, String>>()
            .map_err(|message| bad_file(path, message))?;
        let acknowledgement = file
            .acknowledgement
            .validate(&languages)
            .map_err(|(table, message)| bad(table, message))?;
        let templates = Self {
            by_kind,
            by_intent,
            overdue,
            as_of_note,
            languages,
            dates: DateWriters(dates),
            acknowledgement,
        };
        templates.check_intents(path, direct_intents)?;
        Ok(templates)
    }

    /// Every direct intent has a template (its own or its status kind's).
    fn check_intents(
        &self,
        path: &Path,
        direct_intents: &[(String, String)],
    ) -> Result<(), AnswerError> {
        let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (intent, kind) in direct_intents {
            if !self.by_intent.contains_key(intent) && !self.by_kind.contains_key(kind) {
                missing.entry(kind).or_default().push(intent);
            }
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing
                .iter()
                .map(|(kind, intents)| format!("{kind:?} (intents {})", intents.join(", ")))
                .collect();
            return Err(AnswerError::BadFile {
                path: path.to_owned(),
                message: format!("no template for status kind {}", list.join("; ")),
            });
        }
        let used: BTreeSet<&str> = direct_intents
            .iter()
            .map(|(_, kind)| kind.as_str())
            .collect();
        for kind in self
            .by_kind
            .keys()
            .filter(|kind| !used.contains(kind.as_str()))
        {
            tracing::warn!(path = %path.display(), kind, "template for a status kind no direct intent uses");
        }
        Ok(())
    }

    /// Checks the data the templates and overdue rules read: every value they order by, write
    /// as a date or are due by must be a date. `path` is the data file, for messages.
    pub(crate) fn check_data(
        &self,
        path: &Path,
        clients: &[Arc<Client>],
    ) -> Result<(), AnswerError> {
        let bad_entity =
            |client: &Client, entity: &Entity, message: String| AnswerError::BadEntity {
                path: path.to_owned(),
                client: client.id.clone(),
                entity: entity.id.clone(),
                message,
            };
        for template in self.by_kind.values().chain(self.by_intent.values()) {
            let dated = || {
                template
                    .texts()
                    .flat_map(Text::placeholders)
                    .filter(|placeholder| placeholder.format != Format::Plain)
                    .map(|placeholder| &placeholder.source)
            };
            for client in clients {
                for source in dated() {
                    if let Source::ClientField(field) = source
                        && let Some(message) = client
                            .fields
                            .get(field)
                            .and_then(|value| not_a_date(field, value, &template.table))
                    {
                        return Err(AnswerError::BadClient {
                            path: path.to_owned(),
                            client: client.id.clone(),
                            message,
                        });
                    }
                }
                let Some(reads) = &template.reads else {
                    continue;
                };
                let fields: BTreeSet<&str> = dated()
                    .filter_map(|source| match source {
                        Source::EntityField(field) => Some(field.as_str()),
                        _ => None,
                    })
                    .chain(reads.pick.order_by())
                    .collect();
                for entity in client.entities_of(&reads.kind) {
                    let problem = fields.iter().find_map(|field| {
                        entity
                            .fields
                            .get(*field)
                            .and_then(|value| not_a_date(field, value, &template.table))
                    });
                    if let Some(message) = problem {
                        return Err(bad_entity(client, entity, message));
                    }
                }
            }
        }
        for (kind, rule) in &self.overdue {
            let table = format!("records.{kind}");
            for client in clients {
                for entity in client.entities_of(kind) {
                    let problem = entity
                        .fields
                        .get(&rule.due)
                        .and_then(|value| not_a_date(&rule.due, value, &table));
                    if let Some(message) = problem {
                        return Err(bad_entity(client, entity, message));
                    }
                }
            }
        }
        Ok(())
    }

    /// The languages the templates are written in.
    pub(crate) fn languages(&self) -> &PackLanguages {
        &self.languages
    }

    /// Answers `question`, an inquiry of `intent` (of `status_kind`), from `client`'s data
    /// alone, for `reader`: the intent's own template if it has one, else its status kind's, in
    /// the reader's language and, where the template has one, their role's own wording. An
    /// inquiry naming by number or id a record the client does not have gets the template's
    /// `missing` answer when it has one. Deterministic: the same inputs give the same result.
    pub(crate) fn answer(
        &self,
        client: &Client,
        intent: &str,
        status_kind: &str,
        question: &Question<'_>,
        reader: &Reader,
    ) -> Result<Answer, NoAnswer> {
        let template = self
            .by_intent
            .get(intent)
            .or_else(|| self.by_kind.get(status_kind))
            .ok_or_else(|| NoAnswer::NoTemplate {
                intent: intent.into(),
                status_kind: status_kind.into(),
            })?;
        let role = reader.contact.as_ref().map(|contact| contact.role);
        let (key, wording) = template.wording(&reader.language, role);
        let dates = self.dates.of(&key.language);
        let variant = reader.variant(key.role.is_some());
        let answer = |(text, facts): (String, Vec<Fact>), entity_id: Option<String>| Answer {
            text,
            facts,
            entity_id,
            as_of: client.as_of.to_string(),
            variant: variant.clone(),
        };
        let Some(reads) = &template.reads else {
            let text = template.text_for(wording, None);
            return Ok(answer(text.render(client, None, dates)?, None));
        };
        let overdue = self.overdue.get(&reads.kind);
        let entity = match reads.choose(client, question, overdue) {
            Ok(entity) => entity,
            Err(no_such @ NoAnswer::NoSuchRecord { .. }) => {
                let NoAnswer::NoSuchRecord { asked, .. } = &no_such else {
                    return Err(no_such);
                };
                let records = reads.records(client, question.at, overdue);
                let records: Vec<&Entity> = records.iter().map(AsRef::as_ref).collect();
                return match TemplateRule::render_missing(wording, client, &records, asked, dates) {
                    Some(rendered) => Ok(answer(rendered?, None)),
                    None => Err(no_such),
                };
            }
            Err(other) => return Err(other),
        };
        let rendered =
            template
                .text_for(wording, Some(&entity))
                .render(client, Some(&entity), dates)?;
        Ok(answer(rendered, Some(entity.id.clone())))
    }

    /// The kind of record the template of `intent` (of `status_kind`) reads, if it reads one.
    #[cfg(test)]
    pub(crate) fn entity_kind(&self, intent: &str, status_kind: &str) -> Option<&str> {
        self.by_intent
            .get(intent)
            .or_else(|| self.by_kind.get(status_kind))?
            .reads
            .as_ref()
            .map(|reads| reads.kind.as_str())
    }

    /// What a client is told of `facts` when a person will answer, in `language` (the
    /// decision's; the pack's default when it has none).
    pub fn acknowledgement(
        &self,
        facts: &AcknowledgementFacts<'_>,
        language: Option<&Language>,
    ) -> String {
        let language = language
            .and_then(|language| self.languages.matching(language))
            .unwrap_or(&self.languages.default);
        self.acknowledgement
            .render(facts, language, self.dates.of(language))
    }

    /// Every template table, by kind then by intent.
    #[cfg(test)]
    pub(crate) fn tables(&self) -> impl Iterator<Item = &TemplateRule> {
        self.by_kind.values().chain(self.by_intent.values())
    }

    /// `template`'s text for `entity` in the wording `key`, rendered for `client`: for tests
    /// that render every wording.
    #[cfg(test)]
    pub(crate) fn render_in(
        &self,
        template: &TemplateRule,
        key: &WordingKey,
        client: &Client,
        entity: Option<&Entity>,
    ) -> Result<(String, Vec<Fact>), NoAnswer> {
        let (_, wording) = template.wording(&key.language, key.role);
        let text = template.text_for(wording, entity);
        text.render(client, entity, self.dates.of(&key.language))
    }

    /// `template`'s `missing` answer in the wording `key` to `asked`, listing `records` of
    /// `client`; `None` when the template has no such text. For tests.
    #[cfg(test)]
    pub(crate) fn render_missing_in(
        &self,
        template: &TemplateRule,
        key: &WordingKey,
        client: &Client,
        records: &[&Entity],
        asked: &str,
    ) -> Option<Result<(String, Vec<Fact>), NoAnswer>> {
        let (_, wording) = template.wording(&key.language, key.role);
        let dates = self.dates.of(&key.language);
        TemplateRule::render_missing(wording, client, records, asked, dates)
    }

    /// Adds the `as_of_note`, in the answer's language, to `answer`, an answer from `client`'s
    /// data: the sentence, and the facts it used that the answer did not already have.
    pub(crate) fn note_as_of(&self, client: &Client, answer: &mut Answer) -> Result<(), NoAnswer> {
        let language = &answer.variant.language;
        let note = self
            .as_of_note
            .get(language)
            .or_else(|| self.as_of_note.get(&self.languages.default))
            .expect("the note is in every language of the pack");
        let (note, facts): (String, Vec<Fact>) =
            note.render(client, None, self.dates.of(language))?;
        answer.text = format!("{} {note}", answer.text);
        for fact in facts {
            if !answer.facts.iter().any(|known| known.name == fact.name) {
                answer.facts.push(fact);
            }
        }
        Ok(())
    }
}

/// The pack's languages as `file` declares them.
fn pack_languages(file: &TemplatesFile) -> Result<PackLanguages, String> {
    let tag = file.default_language.as_deref().unwrap_or(DEFAULT_LANGUAGE);
    let default = Language::parse(tag).map_err(|message| format!("default_language {message}"))?;
    let mut others = BTreeSet::new();
    for tag in &file.languages {
        let language = Language::parse(tag).map_err(|message| format!("languages: {message}"))?;
        if language == default || !others.insert(language.clone()) {
            return Err(format!("languages: {language} is given twice"));
        }
    }
    Ok(PackLanguages { default, others })
}

/// The as-of note written as `source`, or what is wrong with it.
fn as_of_note_text(source: &str) -> Result<Text, String> {
    let text = Text::parse(source)?;
    let misplaced = text
        .placeholders()
        .find(|p| p.source.needs_entity() || p.source.needs_missing());
    match misplaced {
        Some(placeholder) => Err(format!(
            "it may use {{as_of}} and the client's values, not {{{}}}",
            placeholder.key
        )),
        None => Ok(text),
    }
}

/// A problem with the templates file as a whole.
fn bad_file(path: &Path, message: String) -> AnswerError {
    AnswerError::BadFile {
        path: path.to_owned(),
        message,
    }
}

/// Why `value` of `field` is not a date, as `[table]` needs it to be; `None` when it is one.
fn not_a_date(field: &str, value: &str, table: &str) -> Option<String> {
    Timestamp::parse(value).is_none().then(|| {
        format!(
            "field {field:?} is {}, not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) as \
             [{table}] needs",
            quoted(value)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::client::ClientTier;
    use crate::answer::language::InquiryLanguage;
    use crate::answer::vocabulary::Vocabulary;

    const DELIVERABLE: &str = "[status_kinds.deliverable]\nentity = \"deliverable\"\n\
                               select = \"mentioned\"\ntext = \"{name} is due on {due:date}.\"\n";

    fn parse(source: &str, pairs: &[(&str, &str)]) -> Result<Templates, AnswerError> {
        let intents: Vec<(String, String)> = pairs
            .iter()
            .map(|(intent, kind)| ((*intent).to_owned(), (*kind).to_owned()))
            .collect();
        Templates::parse(Path::new("templates.toml"), source, &intents)
    }

    /// A misspelt key anywhere in the file is an error naming the file, not silently ignored.
    #[test]
    fn unknown_keys_are_rejected() {
        for source in [
            format!("{DELIVERABLE}colour = \"red\""),
            format!(
                "{DELIVERABLE}[[status_kinds.deliverable.cases]]\nwhen = {{state = \"x\"}}\ntext = \"y\"\nelse = \"z\""
            ),
            format!("{DELIVERABLE}[status_kind.meeting]\nselect = \"none\"\ntext = \"x\""),
        ] {
            let error = parse(&source, &[("deliverable_eta", "deliverable")]).expect_err(&source);
            let message = error.to_string();
            assert!(matches!(error, AnswerError::Syntax { .. }), "{message}");
            assert!(message.starts_with("templates.toml: "), "{message}");
            assert!(message.contains("unknown field"), "{message}");
        }
    }

    /// Every status kind a direct intent uses needs a template; all gaps are listed at once.
    #[test]
    fn missing_templates_are_reported() {
        let error = parse(
            DELIVERABLE,
            &[
                ("deliverable_eta", "deliverable"),
                ("next_meeting", "meeting"),
                ("age_limit", "product_policy"),
                ("atm_support", "product_policy"),
            ],
        )
        .expect_err("meeting and product_policy lack templates")
        .to_string();
        assert_eq!(
            error,
            "templates.toml: no template for status kind \"meeting\" (intents next_meeting); \
             \"product_policy\" (intents age_limit, atm_support)"
        );
    }

    /// An intent template covers its intent, and must be for a direct intent of the pack.
    #[test]
    fn intent_templates_cover_and_must_exist() {
        let source =
            format!("{DELIVERABLE}[intents.age_limit]\nselect = \"none\"\ntext = \"18+\"\n");
        assert!(
            parse(
                &source,
                &[
                    ("deliverable_eta", "deliverable"),
                    ("age_limit", "product_policy")
                ]
            )
            .is_ok()
        );
        let error = parse(&source, &[("deliverable_eta", "deliverable")])
            .expect_err("age_limit is not an intent here")
            .to_string();
        assert_eq!(
            error,
            "templates.toml: [intents.age_limit]: not a direct intent of the pack"
        );
        let error = parse("[status_kinds.x]\nselect = \"none\"\ntext = \"{due}\"", &[])
            .expect_err("bad template")
            .to_string();
        assert!(
            error.starts_with(
                "templates.toml: [status_kinds.x]: text: select none reads no entity, so {due}"
            ),
            "{error}"
        );
    }

    /// The intent's own template wins over its kind's; an unknown intent and kind is NoTemplate.
    #[test]
    fn answer_uses_intent_then_kind_template() {
        let source = format!(
            "{DELIVERABLE}[intents.age_limit]\nselect = \"none\"\ntext = \"18+, {{client.name}}\"\n"
        );
        let templates = parse(
            &source,
            &[
                ("deliverable_eta", "deliverable"),
                ("age_limit", "deliverable"),
            ],
        )
        .expect("valid");
        let client = Client {
            name: "Acme".into(),
            tier: ClientTier::Gold,
            ..Client::for_tests("acme", Vec::new())
        };
        let vocabulary = Vocabulary::default();
        let ask = |intent: &str, kind: &str, text: &str| {
            let question = Question {
                text,
                at: "2026-11-20T09:00:00Z".parse().expect("instant"),
                vocabulary: &vocabulary,
            };
            let reader = Reader::choose(templates.languages(), InquiryLanguage::default(), None);
            templates.answer(&client, intent, kind, &question, &reader)
        };
        let answer = ask("age_limit", "deliverable", "how old?").expect("policy");
        assert_eq!(answer.text, "18+, Acme");
        assert_eq!(answer.entity_id, None);
        assert_eq!(answer.as_of, "2026-11-20");
        assert_eq!(
            ask("deliverable_eta", "deliverable", "report?"),
            Err(NoAnswer::NoData {
                kind: "deliverable".into()
            })
        );
        assert!(matches!(
            ask("mystery", "unknown_kind", "?"),
            Err(NoAnswer::NoTemplate { .. })
        ));
    }
}
