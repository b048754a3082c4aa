//! One template rule, a table of `templates.toml` as written: what it reads (an entity kind, which of
//! them, and its select rule; or the client alone), its per-value cases, and its wordings: the
//! main one, in the pack's default language, and its variants by language and by the contact's
//! role, each with its text, a text per case, and its answer to an inquiry naming a record the
//! client does not have. Validated on the way in; an intent's table may build on its status
//! kind's.
//!
//! Every wording states the same facts: its text, each case's and its `missing` use the same
//! placeholders as the main wording's, so a variant only orders, stresses and words them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::client::{Client, Entity, is_usable_field_name};
use super::contact::Role;
use super::field_values::FieldValues;
use super::language::{DateWriter, Language};
use super::reads::Reads;
use super::rendered::{Fact, NoAnswer};
use super::select::Pick;
use super::text::{Missing, Text};

/// How `{records}` writes each record when the template gives no `item`.
const DEFAULT_ITEM: &str = "{name}";

/// The languages a pack's templates are written in: the main texts' language and the others,
/// each of which every table has a variant in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackLanguages {
    pub(crate) default: Language,
    pub(crate) others: BTreeSet<Language>,
}

impl PackLanguages {
    /// The pack's language for a reader of `wanted`: the same tag, else one of the same
    /// language ("en" reads "en-GB"); `None` when the templates are not written in it.
    pub(crate) fn matching(&self, wanted: &Language) -> Option<&Language> {
        self.all().find(|language| *language == wanted).or_else(|| {
            self.all()
                .find(|language| language.primary() == wanted.primary())
        })
    }

    /// The pack's other language a variant tagged `tag` is written in, or what is wrong with
    /// the tag.
    pub(crate) fn other(&self, tag: &str) -> Result<Language, String> {
        let written = Language::parse(tag)?;
        self.matching(&written)
            .filter(|language| self.others.contains(*language))
            .cloned()
            .ok_or_else(|| format!("{written} is not one of the pack's other languages"))
    }

    /// The first of the pack's other languages that `has` says lacks its variant.
    pub(crate) fn lacking(&self, has: impl Fn(&Language) -> bool) -> Option<&Language> {
        self.others.iter().find(|language| !has(language))
    }

    /// Every language, the default first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Language> {
        std::iter::once(&self.default).chain(&self.others)
    }
}

/// Which wording: a language, and a role when the wording is that role's own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WordingKey {
    pub(crate) language: Language,
    pub(crate) role: Option<Role>,
}

impl WordingKey {
    /// Parses a variant's key: `ru` or `ru/finance`.
    fn parse(key: &str) -> Result<Self, String> {
        let (language, role) = match key.split_once('/') {
            Some((language, role)) => (language, Some(Role::parse(role)?)),
            None => (key, None),
        };
        Ok(Self {
            language: Language::parse(language)?,
            role,
        })
    }
}

/// One validated template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateRule {
    /// `status_kinds.<kind>` or `intents.<intent>`, for messages.
    pub(crate) table: String,
    /// The entities read and how one is picked; `None` for client-only answers.
    pub(crate) reads: Option<Reads>,
    /// The field values of each case, in order: the first that all hold picks the case's text.
    whens: Vec<FieldValues>,
    /// The main wording's key: the pack's default language, no role.
    main: WordingKey,
    wordings: BTreeMap<WordingKey, Wording>,
}

/// A template's texts in one language, for everyone or for one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wording {
    text: Text,
    /// One text per case, in the order of the template's `whens`.
    cases: Vec<Text>,
    /// The answer to an inquiry naming, by number or id, a record the client does not have;
    /// without it a person answers such an inquiry.
    missing: Option<MissingText>,
}

/// The `missing` text and how it lists the client's records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MissingText {
    text: Text,
    item: Text,
}

/// A template table as written. In `[intents.*]`, a table without `select` builds on its
/// status kind's table: it keeps that table's `entity`, `select` and `order_by`, and replaces
/// `only`, and (together) `text`, `cases`, `missing`, `item` and `variants`, when it gives
/// them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTemplateRule {
    entity: Option<String>,
    select: Option<Select>,
    order_by: Option<String>,
    only: Option<BTreeMap<String, String>>,
    text: Option<String>,
    cases: Option<Vec<RawCase>>,
    missing: Option<String>,
    item: Option<String>,
    /// Wordings by `language` or `language/role`.
    variants: Option<BTreeMap<String, RawWording>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    when: BTreeMap<String, String>,
    text: String,
}

/// A variant as written: its own texts, with the cases of the main wording in the same order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWording {
    text: String,
    #[serde(default)]
    cases: Vec<RawCase>,
    missing: Option<String>,
    item: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Select {
    Mentioned,
    Next,
    Latest,
    Single,
    None,
}

impl RawTemplateRule {
    /// This intent table completed from `base`, its status kind's table (if there is one).
    pub(crate) fn over(self, base: Option<&RawTemplateRule>) -> Result<RawTemplateRule, String> {
        if self.select.is_some() {
            return Ok(self);
        }
        let Some(base) = base else {
            return Err("select is required: the status kind has no template to build on".into());
        };
        if self.entity.is_some() || self.order_by.is_some() {
            return Err("entity and order_by can only be changed together with select".into());
        }
        let own_wording = self.text.is_some()
            || self.cases.is_some()
            || self.missing.is_some()
            || self.item.is_some()
            || self.variants.is_some();
        let wording = if own_wording {
            (
                self.text,
                self.cases,
                self.missing,
                self.item,
                self.variants,
            )
        } else {
            (
                base.text.clone(),
                base.cases.clone(),
                base.missing.clone(),
                base.item.clone(),
                base.variants.clone(),
            )
        };
        let (text, cases, missing, item, variants) = wording;
        Ok(RawTemplateRule {
            entity: base.entity.clone(),
            select: base.select,
            order_by: base.order_by.clone(),
            only: self.only.or_else(|| base.only.clone()),
            text,
            cases,
            missing,
            item,
            variants,
        })
    }

    /// The template, or what is wrong with it; `languages` are the pack's, each of which
    /// needs a variant (the default's is the main wording).
    pub(crate) fn validate(
        self,
        table: String,
        languages: &PackLanguages,
    ) -> Result<TemplateRule, String> {
        let select = self.select.ok_or("select is required")?;
        let pick = match (select, self.order_by) {
            (Select::None, None) => None,
            (Select::None, Some(_)) => return Err("order_by needs select next or latest".into()),
            (Select::Mentioned, None) => Some(Pick::Mentioned),
            (Select::Single, None) => Some(Pick::Single),
            (Select::Mentioned | Select::Single, Some(_)) => {
                return Err("order_by only applies to select next or latest".into());
            }
            (Select::Next | Select::Latest, None) => {
                return Err("select next and latest need order_by".into());
            }
            (select, Some(field)) => {
                if !is_usable_field_name(&field) {
                    return Err(format!("order_by {field:?} is not a field name"));
                }
                Some(match select {
                    Select::Next => Pick::Next(field),
                    _ => Pick::Latest(field),
                })
            }
        };
        let reads = match (pick, self.entity) {
            (None, None) => None,
            (None, Some(_)) => return Err("entity needs a select other than none".into()),
            (Some(_), None) => return Err("entity is required unless select is none".into()),
            (Some(_), Some(kind)) if kind.trim().is_empty() => return Err("empty entity".into()),
            (Some(pick), Some(kind)) => Some(Reads {
                kind,
                only: None,
                pick,
            }),
        };
        let reads = match (reads, self.only) {
            (reads, None) => reads,
            (None, Some(_)) => return Err(needs_entity("only")),
            (Some(reads), Some(only)) => Some(Reads {
                only: Some(FieldValues::parse("only", only)?),
                ..reads
            }),
        };
        let raw_cases = self.cases.unwrap_or_default();
        if reads.is_none() && !raw_cases.is_empty() {
            return Err(needs_entity("cases"));
        }
        let whens = raw_cases
            .iter()
            .enumerate()
            .map(|(index, case)| {
                FieldValues::parse(&format!("cases[{index}].when"), case.when.clone())
            })
            .collect::<Result<Vec<_>, String>>()?;
        let has_entity = reads.is_some();
        let main_raw = RawWording {
            text: self.text.ok_or("text is required")?,
            cases: raw_cases,
            missing: self.missing,
            item: self.item,
        };
        let main = main_raw.validate("", has_entity, &whens)?;
        let main_key = WordingKey {
            language: languages.default.clone(),
            role: None,
        };
        let mut wordings = BTreeMap::new();
        for (key, raw) in self.variants.unwrap_or_default() {
            let label = format!("variants.{key}: ");
            let written = WordingKey::parse(&key).map_err(|message| format!("{label}{message}"))?;
            let Some(language) = languages.matching(&written.language) else {
                return Err(format!(
                    "{label}{} is not one of the pack's languages ({})",
                    written.language,
                    listed(languages.all())
                ));
            };
            let parsed = WordingKey {
                language: language.clone(),
                role: written.role,
            };
            if parsed == main_key {
                return Err(format!(
                    "{label}the main text is already in {}",
                    parsed.language
                ));
            }
            let wording = raw.validate(&label, has_entity, &whens)?;
            wording
                .states_the_facts_of(&main)
                .map_err(|message| format!("{label}{message}"))?;
            wordings.insert(parsed, wording);
        }
        let lacking: Vec<&Language> = languages
            .others
            .iter()
            .filter(|language| {
                !wordings.contains_key(&WordingKey {
                    language: (*language).clone(),
                    role: None,
                })
            })
            .collect();
        if !lacking.is_empty() {
            return Err(format!(
                "no variant in {} (the pack's languages are {})",
                listed(lacking.into_iter()),
                listed(languages.all())
            ));
        }
        wordings.insert(main_key.clone(), main);
        Ok(TemplateRule {
            table,
            reads,
            whens,
            main: main_key,
            wordings,
        })
    }
}

impl RawWording {
    /// The wording, or what is wrong with it; `label` names the variant in messages, `whens`
    /// are the main wording's cases, which it must give in the same order.
    fn validate(
        self,
        label: &str,
        has_entity: bool,
        whens: &[FieldValues],
    ) -> Result<Wording, String> {
        let check_text = |what: &str, source: &str| {
            let text =
                Text::parse(source).map_err(|message| format!("{label}{what}: {message}"))?;
            if !has_entity
                && let Some(placeholder) = text
                    .placeholders()
                    .find(|placeholder| placeholder.source.needs_entity())
            {
                return Err(format!(
                    "{label}{what}: {}",
                    needs_entity(&format!("{{{}}}", placeholder.key))
                ));
            }
            if let Some(placeholder) = text
                .placeholders()
                .find(|placeholder| placeholder.source.needs_missing())
            {
                return Err(format!(
                    "{label}{what}: {{{}}} can only be used in missing",
                    placeholder.key
                ));
            }
            Ok(text)
        };
        let text = check_text("text", &self.text)?;
        if self.cases.len() != whens.len() {
            return Err(format!(
                "{label}has {} cases where the main text has {}: a variant words every case",
                self.cases.len(),
                whens.len()
            ));
        }
        let cases = self
            .cases
            .into_iter()
            .zip(whens)
            .enumerate()
            .map(|(index, (case, when))| {
                let own = FieldValues::parse(&format!("{label}cases[{index}].when"), case.when)?;
                if own != *when {
                    return Err(format!(
                        "{label}cases[{index}].when is {}, where the main text's is {}",
                        own.describe(),
                        when.describe()
                    ));
                }
                check_text(&format!("cases[{index}].text"), &case.text)
            })
            .collect::<Result<_, String>>()?;
        let missing = match (self.missing, self.item) {
            (None, None) => None,
            (None, Some(_)) => return Err(format!("{label}item needs missing")),
            (Some(_), _) if !has_entity => {
                return Err(format!("{label}{}", needs_entity("missing")));
            }
            (Some(missing), item) => {
                let text = Text::parse(&missing)
                    .map_err(|message| format!("{label}missing: {message}"))?;
                if let Some(placeholder) = text
                    .placeholders()
                    .find(|placeholder| placeholder.source.needs_entity())
                {
                    return Err(format!(
                        "{label}missing: it is about no record, so {{{}}} cannot be used (list \
                         the records with {{records}} and item)",
                        placeholder.key
                    ));
                }
                let item = check_text("item", item.as_deref().unwrap_or(DEFAULT_ITEM))?;
                Some(MissingText { text, item })
            }
        };
        Ok(Wording {
            text,
            cases,
            missing,
        })
    }
}

impl Wording {
    /// Every text of the wording with its name, for messages.
    fn named_texts(&self) -> Vec<(String, &Text)> {
        let mut texts = vec![("text".to_owned(), &self.text)];
        for (index, case) in self.cases.iter().enumerate() {
            texts.push((format!("cases[{index}].text"), case));
        }
        if let Some(missing) = &self.missing {
            texts.push(("missing".to_owned(), &missing.text));
            texts.push(("item".to_owned(), &missing.item));
        }
        texts
    }

    /// Checks that this wording states the facts of `main`: the same texts, each with the same
    /// placeholders (in any order).
    fn states_the_facts_of(&self, main: &Wording) -> Result<(), String> {
        let own = self.named_texts();
        let theirs = main.named_texts();
        let names = |texts: &[(String, &Text)]| -> Vec<String> {
            texts.iter().map(|(name, _)| name.clone()).collect()
        };
        if names(own.as_slice()) != names(theirs.as_slice()) {
            return Err(format!(
                "has {} where the main text has {}",
                names(own.as_slice()).join(", "),
                names(theirs.as_slice()).join(", ")
            ));
        }
        for ((name, text), (_, main_text)) in own.iter().zip(&theirs) {
            let (facts, main_facts) = (text.fact_names(), main_text.fact_names());
            if facts != main_facts {
                return Err(format!(
                    "{name} states {} where the main text states {}: a variant words the same \
                     facts",
                    braced(&facts),
                    braced(&main_facts)
                ));
            }
        }
        Ok(())
    }

    /// The text for the case at `case` (`None`: the main text).
    fn text_for(&self, case: Option<usize>) -> &Text {
        case.and_then(|index| self.cases.get(index))
            .unwrap_or(&self.text)
    }
}

impl TemplateRule {
    /// Every text of every wording the template may render about a record or the client: each
    /// main text, each case's, and the item of each `missing` list.
    pub(crate) fn texts(&self) -> impl Iterator<Item = &Text> {
        self.wordings.values().flat_map(|wording| {
            std::iter::once(&wording.text)
                .chain(&wording.cases)
                .chain(wording.missing.iter().map(|missing| &missing.item))
        })
    }

    /// The keys of every wording, the main one included.
    #[cfg(test)]
    pub(crate) fn wording_keys(&self) -> impl Iterator<Item = &WordingKey> {
        self.wordings.keys()
    }

    /// The wording for a reader of `language` in `role`: the role's own in the language when
    /// there is one, else the language's plain one, else the main one. Also its key.
    pub(crate) fn wording(
        &self,
        language: &Language,
        role: Option<Role>,
    ) -> (&WordingKey, &Wording) {
        let key = |role: Option<Role>| WordingKey {
            language: language.clone(),
            role,
        };
        let own = role.and_then(|role| self.wordings.get_key_value(&key(Some(role))));
        own.or_else(|| self.wordings.get_key_value(&key(None)))
            .or_else(|| self.wordings.get_key_value(&self.main))
            .expect("a template has its main wording")
    }

    /// The case that applies to `entity`: the first whose fields all hold.
    pub(crate) fn case_of(&self, entity: Option<&Entity>) -> Option<usize> {
        let entity = entity?;
        self.whens.iter().position(|when| when.hold_for(entity))
    }

    /// `wording`'s `missing` answer for `asked`, a reference to a record the client does not
    /// have, listing `records` (the client's of the kind); `None` when it has no such text.
    pub(crate) fn render_missing(
        wording: &Wording,
        client: &Client,
        records: &[&Entity],
        asked: &str,
        dates: &DateWriter,
    ) -> Option<Result<(String, Vec<Fact>), NoAnswer>> {
        let missing = wording.missing.as_ref()?;
        let listed = records
            .iter()
            .map(|record| {
                missing
                    .item
                    .render(client, Some(record), dates)
                    .map(|(text, _)| text)
            })
            .collect::<Result<Vec<_>, _>>();
        Some(listed.and_then(|listed| {
            let records = if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.join(", ")
            };
            missing.text.render_with(
                client,
                None,
                Some(Missing {
                    asked,
                    records: &records,
                }),
                dates,
            )
        }))
    }

    /// `wording`'s text for `entity`: its case's text when a case applies, else the main one.
    pub(crate) fn text_for<'a>(&self, wording: &'a Wording, entity: Option<&Entity>) -> &'a Text {
        wording.text_for(self.case_of(entity))
    }
}

/// The message for a setting or placeholder that needs an entity under select none.
fn needs_entity(what: &str) -> String {
    format!("select none reads no entity, so {what} cannot be used")
}

/// Languages for people: "be, ru, zh".
fn listed<'a>(languages: impl Iterator<Item = &'a Language>) -> String {
    let tags: Vec<&str> = languages.map(Language::as_str).collect();
    tags.join(", ")
}

/// Placeholder names for people: "{amount}, {due}".
fn braced(names: &BTreeSet<&str>) -> String {
    if names.is_empty() {
        return "nothing".to_owned();
    }
    let braced: Vec<String> = names.iter().map(|name| format!("{{{name}}}")).collect();
    braced.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pack written in English alone.
    fn english() -> PackLanguages {
        PackLanguages {
            default: Language::parse("en-GB").expect("en-GB"),
            others: BTreeSet::new(),
        }
    }

    fn validate(source: &str) -> Result<TemplateRule, String> {
        let raw: RawTemplateRule = toml::from_str(source).map_err(|error| error.to_string())?;
        raw.validate("status_kinds.test".into(), &english())
    }

    /// Each select rule gets the settings it needs and refuses the ones it cannot use.
    #[test]
    fn select_rules_and_their_settings() {
        let ok = [
            (
                "entity = \"meeting\"\nselect = \"next\"\norder_by = \"starts_at\"\ntext = \"{name}\"",
                "next",
            ),
            (
                "entity = \"card\"\nselect = \"single\"\ntext = \"{last4}\"",
                "single",
            ),
            (
                "select = \"none\"\ntext = \"{client.account_manager}\"",
                "none",
            ),
        ];
        for (source, label) in ok {
            assert!(validate(source).is_ok(), "{label}");
        }
        let bad = [
            (
                "entity = \"meeting\"\nselect = \"latest\"\ntext = \"x\"",
                "select next and latest need order_by",
            ),
            (
                "entity = \"invoice\"\nselect = \"mentioned\"\norder_by = \"due\"\ntext = \"x\"",
                "order_by only applies",
            ),
            (
                "select = \"none\"\norder_by = \"due\"\ntext = \"x\"",
                "order_by needs select next or latest",
            ),
            (
                "entity = \"invoice\"\nselect = \"none\"\ntext = \"x\"",
                "entity needs a select other than none",
            ),
            ("select = \"single\"\ntext = \"x\"", "entity is required"),
            (
                "entity = \" \"\nselect = \"single\"\ntext = \"x\"",
                "empty entity",
            ),
            (
                "entity = \"meeting\"\nselect = \"next\"\norder_by = \"Starts\"\ntext = \"x\"",
                "order_by \"Starts\" is not a field name",
            ),
            (
                "entity = \"meeting\"\nselect = \"soonest\"\ntext = \"x\"",
                "unknown variant `soonest`",
            ),
        ];
        for (source, expected) in bad {
            let error = validate(source).expect_err(source);
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    /// Texts are checked: placeholder syntax, and entity placeholders only where there is one.
    #[test]
    fn texts_are_checked() {
        for (source, expected) in [
            (
                "select = \"none\"\ntext = \"due {due:date}\"",
                "text: select none reads no entity, so {due} cannot be used",
            ),
            (
                "entity = \"invoice\"\nselect = \"single\"\ntext = \"{amount\"",
                "text: unclosed '{'",
            ),
            (
                "entity = \"invoice\"\nselect = \"single\"\ntext = \"x\"\n[[cases]]\nwhen = {status = \"paid\"}\ntext = \"{paid_on:day}\"",
                "cases[0].text: unknown format \"day\"",
            ),
            (
                "entity = \"invoice\"\nselect = \"single\"\ntext = \"x\"\n[[cases]]\nwhen = {}\ntext = \"y\"",
                "cases[0].when: names no field",
            ),
            (
                "entity = \"invoice\"\nselect = \"single\"\ntext = \"x\"\n[[cases]]\nwhen = {Status = \"paid\"}\ntext = \"y\"",
                "cases[0].when: \"Status\" is not a field name",
            ),
            (
                "select = \"none\"\ntext = \"x\"\n[[cases]]\nwhen = {status = \"paid\"}\ntext = \"y\"",
                "select none reads no entity, so cases cannot be used",
            ),
        ] {
            let error = validate(source).expect_err(source);
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    /// The first case whose fields all match is used; otherwise the main text.
    #[test]
    fn cases_pick_the_text() {
        let template = validate(
            "entity = \"invoice\"\nselect = \"single\"\ntext = \"main\"\n\
             [[cases]]\nwhen = {status = \"paid\", currency = \"EUR\"}\ntext = \"paid in euros\"\n\
             [[cases]]\nwhen = {status = \"paid\"}\ntext = \"paid\"",
        )
        .expect("valid");
        let invoice = |fields: &[(&str, &str)]| {
            Entity::new(
                "invoice".into(),
                "INV-1".into(),
                "Invoice".into(),
                Vec::new(),
                fields
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                    .collect(),
            )
        };
        let paid_eur = invoice(&[("status", "paid"), ("currency", "EUR")]);
        let paid_gbp = invoice(&[("status", "paid"), ("currency", "GBP")]);
        let open = invoice(&[("status", "open")]);
        let text = |source: &str| Text::parse(source).expect("text");
        let (_, wording) = template.wording(&english().default, None);
        let text_for = |entity| template.text_for(wording, entity).clone();
        assert_eq!(text_for(Some(&paid_eur)), text("paid in euros"));
        assert_eq!(text_for(Some(&paid_gbp)), text("paid"));
        assert_eq!(text_for(Some(&open)), text("main"));
        assert_eq!(text_for(None), text("main"));
    }

    /// An intent table without select builds on its kind's; one with select stands alone.
    #[test]
    fn intent_tables_build_on_their_kind() {
        let kind: RawTemplateRule = toml::from_str(
            "entity = \"transfer\"\nselect = \"latest\"\norder_by = \"initiated\"\ntext = \"main\"\n\
             [[cases]]\nwhen = {state = \"paid\"}\ntext = \"paid\"",
        )
        .expect("kind table");
        let build = |source: &str, base: Option<&RawTemplateRule>| {
            let raw: RawTemplateRule = toml::from_str(source).map_err(|error| error.to_string())?;
            raw.over(base)?.validate("intents.test".into(), &english())
        };
        let narrowed = build("only = {state = \"declined\"}", Some(&kind)).expect("narrowed");
        let reads = narrowed.reads.as_ref().expect("reads");
        assert_eq!(reads.pick, Pick::Latest("initiated".into()));
        assert!(reads.only.is_some());
        assert_eq!(narrowed.texts().count(), 2, "text and cases are inherited");
        let retexted = build("text = \"other\"", Some(&kind)).expect("retexted");
        assert_eq!(
            retexted.texts().count(),
            1,
            "a new text drops the kind's cases"
        );
        assert!(
            build("select = \"none\"\ntext = \"policy\"", Some(&kind))
                .expect("own")
                .reads
                .is_none()
        );
        for (source, base, expected) in [
            (
                "only = {state = \"x\"}",
                None,
                "select is required: the status kind has no template",
            ),
            (
                "order_by = \"due\"",
                Some(&kind),
                "entity and order_by can only be changed together with select",
            ),
            ("only = {}", Some(&kind), "only: names no field"),
            (
                "select = \"none\"\ntext = \"x\"\nonly = {state = \"x\"}",
                None,
                "select none reads no entity, so only cannot be used",
            ),
            ("select = \"none\"", None, "text is required"),
        ] {
            let error = build(source, base).expect_err(source);
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    fn russian_too() -> PackLanguages {
        PackLanguages {
            default: Language::parse("en-GB").expect("en-GB"),
            others: BTreeSet::from([Language::parse("ru").expect("ru")]),
        }
    }

    const INVOICE: &str = "entity = \"invoice\"\nselect = \"single\"\n\
                           text = \"{id}: {amount}, due {due:date}\"\n\
                           [[cases]]\nwhen = {status = \"paid\"}\ntext = \"{id} paid {paid_on:date}\"\n";

    fn with_variants(variants: &str) -> Result<TemplateRule, String> {
        let raw: RawTemplateRule =
            toml::from_str(&format!("{INVOICE}{variants}")).map_err(|error| error.to_string())?;
        raw.validate("status_kinds.invoice".into(), &russian_too())
    }

    const RUSSIAN: &str = "[variants.ru]\ntext = \"Счёт {id}: {amount}, до {due:date}\"\n\
                           cases = [{ when = {status = \"paid\"}, text = \"Счёт {id} оплачен {paid_on:date}\" }]\n";

    /// Every language of the pack needs a variant, and a variant words every case, in order,
    /// with exactly the main text's facts.
    #[test]
    fn variants_are_complete_and_state_the_same_facts() {
        assert!(with_variants(RUSSIAN).is_ok());
        for (variants, expected) in [
            ("", "no variant in ru (the pack's languages are en-GB, ru)"),
            (
                "[variants.ru]\ntext = \"Счёт {id}: {amount}\"\ncases = [{ when = {status = \"paid\"}, text = \"{id} {paid_on}\" }]",
                "variants.ru: text states {amount}, {id} where the main text states {amount}, {due}, {id}",
            ),
            (
                "[variants.ru]\ntext = \"{id} {amount} {due}\"",
                "variants.ru: has 0 cases where the main text has 1",
            ),
            (
                "[variants.ru]\ntext = \"{id} {amount} {due}\"\ncases = [{ when = {status = \"open\"}, text = \"{id} {paid_on}\" }]",
                "variants.ru: cases[0].when is status \"open\", where the main text's is status \"paid\"",
            ),
            (
                &format!("{RUSSIAN}[variants.de]\ntext = \"x\""),
                "variants.de: de is not one of the pack's languages (en-GB, ru)",
            ),
            (
                &format!("{RUSSIAN}[variants.\"ru/boss\"]\ntext = \"x\""),
                "variants.ru/boss: unknown role \"boss\"",
            ),
            (
                &format!("{RUSSIAN}[variants.en]\ntext = \"x\""),
                "variants.en: the main text is already in en-GB",
            ),
        ] {
            let error = with_variants(variants).expect_err(variants);
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    /// A reader gets their role's wording in their language where there is one, else the
    /// language's plain one.
    #[test]
    fn wording_prefers_the_role_then_the_plain_one() {
        let template = with_variants(&format!(
            "{RUSSIAN}[variants.\"ru/finance\"]\ntext = \"{{amount}} до {{due:date}}: счёт {{id}}\"\n\
             cases = [{{ when = {{status = \"paid\"}}, text = \"{{id}}: оплачен {{paid_on:date}}\" }}]\n"
        ))
        .expect("valid");
        let ru = Language::parse("ru").expect("ru");
        let key_of = |role| {
            let (key, _) = template.wording(&ru, role);
            (key.language.to_string(), key.role)
        };
        assert_eq!(
            key_of(Some(Role::Finance)),
            ("ru".into(), Some(Role::Finance))
        );
        assert_eq!(key_of(Some(Role::Logistics)), ("ru".into(), None));
        assert_eq!(key_of(None), ("ru".into(), None));
        let de = Language::parse("de").expect("de");
        let (key, _) = template.wording(&de, Some(Role::Finance));
        assert_eq!(
            key.language.as_str(),
            "en-GB",
            "a language the pack lacks gets the main text"
        );
    }
}
