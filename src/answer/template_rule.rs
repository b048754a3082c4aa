//! One template rule, a table of `templates.toml` as written: what it reads (an entity kind, which of
//! them, and its select rule; or the client alone), its text, its per-value cases, and its answer
//! to an inquiry naming a record the client does not have. Validated on the way in; an intent's
//! table may build on its status kind's.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::client::{Client, Entity, is_usable_field_name};
use super::field_values::FieldValues;
use super::reads::Reads;
use super::rendered::{Fact, NoAnswer};
use super::select::Pick;
use super::text::{Missing, Text};

/// How `{records}` writes each record when the template gives no `item`.
const DEFAULT_ITEM: &str = "{name}";

/// One validated template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateRule {
    /// `status_kinds.<kind>` or `intents.<intent>`, for messages.
    pub(crate) table: String,
    /// The entities read and how one is picked; `None` for client-only answers.
    pub(crate) reads: Option<Reads>,
    text: Text,
    cases: Vec<Case>,
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

/// A variant text used when the chosen entity's fields have the given values.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Case {
    when: FieldValues,
    text: Text,
}

/// A template table as written. In `[intents.*]`, a table without `select` builds on its
/// status kind's table: it keeps that table's `entity`, `select` and `order_by`, and replaces
/// `only`, `missing`, `item` and (together) `text` and `cases` when it gives them.
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    when: BTreeMap<String, String>,
    text: String,
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
        let (text, cases) = if self.text.is_some() || self.cases.is_some() {
            (self.text, self.cases)
        } else {
            (base.text.clone(), base.cases.clone())
        };
        Ok(RawTemplateRule {
            entity: base.entity.clone(),
            select: base.select,
            order_by: base.order_by.clone(),
            only: self.only.or_else(|| base.only.clone()),
            text,
            cases,
            missing: self.missing.or_else(|| base.missing.clone()),
            item: self.item.or_else(|| base.item.clone()),
        })
    }

    /// The template, or what is wrong with it.
    pub(crate) fn validate(self, table: String) -> Result<TemplateRule, String> {
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
        let needs_entity =
            |what: &str| format!("select none reads no entity, so {what} cannot be used");
        let reads = match (reads, self.only) {
            (reads, None) => reads,
            (None, Some(_)) => return Err(needs_entity("only")),
            (Some(reads), Some(only)) => Some(Reads {
                only: Some(FieldValues::parse("only", only)?),
                ..reads
            }),
        };
        let check_text = |label: &str, source: &str| {
            let text = Text::parse(source).map_err(|message| format!("{label}: {message}"))?;
            if reads.is_none()
                && let Some(placeholder) = text
                    .placeholders()
                    .find(|placeholder| placeholder.source.needs_entity())
            {
                return Err(format!(
                    "{label}: {}",
                    needs_entity(&format!("{{{}}}", placeholder.key))
                ));
            }
            if let Some(placeholder) = text
                .placeholders()
                .find(|placeholder| placeholder.source.needs_missing())
            {
                return Err(format!(
                    "{label}: {{{}}} can only be used in missing",
                    placeholder.key
                ));
            }
            Ok(text)
        };
        let text = check_text("text", self.text.as_deref().ok_or("text is required")?)?;
        let raw_cases = self.cases.unwrap_or_default();
        if reads.is_none() && !raw_cases.is_empty() {
            return Err(needs_entity("cases"));
        }
        let cases = raw_cases
            .into_iter()
            .enumerate()
            .map(|(index, case)| {
                Ok(Case {
                    when: FieldValues::parse(&format!("cases[{index}].when"), case.when)?,
                    text: check_text(&format!("cases[{index}].text"), &case.text)?,
                })
            })
            .collect::<Result<_, String>>()?;
        let missing = match (self.missing, self.item) {
            (None, None) => None,
            (None, Some(_)) => return Err("item needs missing".into()),
            (Some(_), _) if reads.is_none() => return Err(needs_entity("missing")),
            (Some(missing), item) => {
                let text =
                    Text::parse(&missing).map_err(|message| format!("missing: {message}"))?;
                if let Some(placeholder) = text
                    .placeholders()
                    .find(|placeholder| placeholder.source.needs_entity())
                {
                    return Err(format!(
                        "missing: it is about no record, so {{{}}} cannot be used (list the \
                         records with {{records}} and item)",
                        placeholder.key
                    ));
                }
                let item = check_text("item", item.as_deref().unwrap_or(DEFAULT_ITEM))?;
                Some(MissingText { text, item })
            }
        };
        Ok(TemplateRule {
            table,
            reads,
            text,
            cases,
            missing,
        })
    }
}

impl TemplateRule {
    /// The texts the template may render about a record: the main one, each case's, and the
    /// item of its `missing` list.
    pub(crate) fn texts(&self) -> impl Iterator<Item = &Text> {
        std::iter::once(&self.text)
            .chain(self.cases.iter().map(|case| &case.text))
            .chain(self.missing.iter().map(|missing| &missing.item))
    }

    /// The `missing` answer for `asked`, a reference to a record the client does not have,
    /// listing `records` (the client's of the kind); `None` when the template has no such text.
    pub(crate) fn render_missing(
        &self,
        client: &Client,
        records: &[&Entity],
        asked: &str,
    ) -> Option<Result<(String, Vec<Fact>), NoAnswer>> {
        let missing = self.missing.as_ref()?;
        let listed = records
            .iter()
            .map(|record| {
                missing
                    .item
                    .render(client, Some(record))
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
            )
        }))
    }

    /// The text for `entity`: the first case whose fields all match, else the main text.
    pub(crate) fn text_for(&self, entity: Option<&Entity>) -> &Text {
        entity
            .and_then(|entity| self.cases.iter().find(|case| case.when.hold_for(entity)))
            .map_or(&self.text, |case| &case.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(source: &str) -> Result<TemplateRule, String> {
        let raw: RawTemplateRule = toml::from_str(source).map_err(|error| error.to_string())?;
        raw.validate("status_kinds.test".into())
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
        assert_eq!(*template.text_for(Some(&paid_eur)), text("paid in euros"));
        assert_eq!(*template.text_for(Some(&paid_gbp)), text("paid"));
        assert_eq!(*template.text_for(Some(&open)), text("main"));
        assert_eq!(*template.text_for(None), text("main"));
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
            raw.over(base)?.validate("intents.test".into())
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
}
