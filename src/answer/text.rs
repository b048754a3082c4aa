//! The text of an answer template: literal text with `{placeholder}`s, parsed once at load and
//! rendered against one client and, when the template reads one, one of its entities.
//!
//! Placeholders: `{name}`, `{id}` and `{<field>}` of the chosen entity, `{client.name}`,
//! `{client.<field>}`, `{as_of}`; any of them may end in `:date` ("Saturday 28 November 2026")
//! or `:datetime` ("Tuesday 24 November 2026 at 14:30 UTC"), written in the wording's language. A template's `missing` text, the
//! answer to an inquiry naming a record the client does not have, has two more: `{asked}`, the
//! reference as written, and `{records}`, the client's records of the kind, each written by the
//! template's `item` text. `{{` and `}}` are literal braces.

use std::collections::BTreeSet;

use super::client::{Client, Entity, is_usable_field_name};
use super::date::Timestamp;
use super::language::DateWriter;
use super::rendered::{Fact, NoAnswer};

/// A parsed template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Value(Placeholder),
}

/// One `{placeholder}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placeholder {
    /// The name as written, without the format: the fact's name.
    pub(crate) key: String,
    pub(crate) source: Source,
    pub(crate) format: Format,
}

/// Where a placeholder's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    EntityName,
    EntityId,
    EntityField(String),
    ClientName,
    ClientField(String),
    AsOf,
    /// The reference to a record the client does not have, as the inquiry wrote it.
    Asked,
    /// The client's records of the kind, listed.
    Records,
}

impl Source {
    /// Whether the value comes from the chosen entity.
    pub(crate) fn needs_entity(&self) -> bool {
        matches!(
            self,
            Self::EntityName | Self::EntityId | Self::EntityField(_)
        )
    }

    /// Whether the value exists only in a `missing` text.
    pub(crate) fn needs_missing(&self) -> bool {
        matches!(self, Self::Asked | Self::Records)
    }
}

/// What a `missing` text fills in besides the client's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Missing<'a> {
    pub(crate) asked: &'a str,
    pub(crate) records: &'a str,
}

/// How a placeholder's value is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Plain,
    Date,
    DateTime,
}

impl Text {
    /// Parses a template text; the error says what is wrong and where.
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        if template.trim().is_empty() {
            return Err("empty text".into());
        }
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut chars = template.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.next_if(|&(_, next)| next == '{').is_some() => literal.push('{'),
                '}' if chars.next_if(|&(_, next)| next == '}').is_some() => literal.push('}'),
                '}' => return Err(format!("unmatched '}}' at byte {at}")),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, next)) => inner.push(next),
                            None => return Err(format!("unclosed '{{' at byte {at}")),
                        }
                    }
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Value(Placeholder::parse(&inner)?));
                }
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Self { segments })
    }

    /// The placeholders in text order.
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Value(placeholder) => Some(placeholder),
            Segment::Literal(_) => None,
        })
    }

    /// The names of the facts the text states: its placeholders' keys.
    pub(crate) fn fact_names(&self) -> BTreeSet<&str> {
        self.placeholders()
            .map(|placeholder| placeholder.key.as_str())
            .collect()
    }

    /// The text with every placeholder filled in, dates written by `dates`, and the facts
    /// used; a value the data lacks is a `MissingField`, never a blank.
    pub(crate) fn render(
        &self,
        client: &Client,
        entity: Option<&Entity>,
        dates: &DateWriter,
    ) -> Result<(String, Vec<Fact>), NoAnswer> {
        self.render_with(client, entity, None, dates)
    }

    /// [`Self::render`] for a `missing` text, with its reference and records.
    pub(crate) fn render_with(
        &self,
        client: &Client,
        entity: Option<&Entity>,
        missing: Option<Missing<'_>>,
        dates: &DateWriter,
    ) -> Result<(String, Vec<Fact>), NoAnswer> {
        let mut text = String::new();
        let mut facts: Vec<Fact> = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(literal) => text.push_str(literal),
                Segment::Value(placeholder) => {
                    let value = placeholder.value(client, entity, missing)?;
                    text.push_str(&placeholder.format.write(&value, dates));
                    if !facts.iter().any(|fact| fact.name == placeholder.key) {
                        facts.push(Fact {
                            name: placeholder.key.clone(),
                            value,
                        });
                    }
                }
            }
        }
        Ok((text, facts))
    }

    /// The text with each placeholder filled in by `value` (from its name), for texts whose
    /// placeholders were checked to be the caller's own names (the acknowledgement's).
    pub(crate) fn render_values<'a>(
        &self,
        value: impl Fn(&str) -> &'a str,
        dates: &DateWriter,
    ) -> String {
        let mut text = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(literal) => text.push_str(literal),
                Segment::Value(placeholder) => {
                    text.push_str(&placeholder.format.write(value(&placeholder.key), dates));
                }
            }
        }
        text
    }
}

impl Placeholder {
    /// Parses the inside of `{...}`.
    fn parse(inner: &str) -> Result<Self, String> {
        let (key, format) = match inner.split_once(':') {
            None => (inner, Format::Plain),
            Some((key, "date")) => (key, Format::Date),
            Some((key, "datetime")) => (key, Format::DateTime),
            Some((_, format)) => {
                return Err(format!(
                    "unknown format {format:?} in {{{inner}}} (expected date or datetime)"
                ));
            }
        };
        let source = match key {
            "name" => Source::EntityName,
            "id" => Source::EntityId,
            "as_of" => Source::AsOf,
            "asked" => Source::Asked,
            "records" => Source::Records,
            "client.name" => Source::ClientName,
            _ => match key.strip_prefix("client.") {
                Some(field) if is_usable_field_name(field) => Source::ClientField(field.to_owned()),
                None if is_usable_field_name(key) => Source::EntityField(key.to_owned()),
                _ => return Err(format!("unknown placeholder {{{inner}}}")),
            },
        };
        Ok(Self {
            key: key.to_owned(),
            source,
            format,
        })
    }

    /// The stored value for `client` and `entity`.
    fn value(
        &self,
        client: &Client,
        entity: Option<&Entity>,
        missing: Option<Missing<'_>>,
    ) -> Result<String, NoAnswer> {
        let lacking = |entity: Option<&Entity>| NoAnswer::MissingField {
            entity: entity.map(|entity| entity.name.clone()),
            field: self.key.clone(),
        };
        let value = match &self.source {
            Source::AsOf => Some(client.as_of.to_string()),
            Source::Asked => missing.map(|missing| missing.asked.to_owned()),
            Source::Records => missing.map(|missing| missing.records.to_owned()),
            Source::ClientName => Some(client.name.clone()),
            Source::ClientField(field) => client.fields.get(field).cloned(),
            Source::EntityName => entity.map(|entity| entity.name.clone()),
            Source::EntityId => entity.map(|entity| entity.id.clone()),
            Source::EntityField(field) => {
                entity.and_then(|entity| entity.fields.get(field).cloned())
            }
        };
        value.ok_or_else(|| lacking(entity.filter(|_| self.source.needs_entity())))
    }
}

impl Format {
    /// The value as people read it; a value that is not a date is left as stored (loading
    /// checks the data's dates, so this only guards against data built by hand).
    fn write(self, value: &str, dates: &DateWriter) -> String {
        let date = match self {
            Format::Plain => None,
            Format::Date => Timestamp::parse(value).map(|date| dates.date(&date)),
            Format::DateTime => Timestamp::parse(value).map(|date| dates.date_time(&date)),
        };
        date.unwrap_or_else(|| value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::client::ClientTier;
    use std::collections::BTreeMap;

    fn english() -> DateWriter {
        DateWriter::new(&crate::answer::Language::parse("en-GB").expect("en-GB")).expect("writer")
    }

    fn client() -> Client {
        Client {
            id: "acme".into(),
            name: "Acme Ltd".into(),
            tier: ClientTier::Gold,
            emails: Vec::new(),
            domains: Vec::new(),
            fields: BTreeMap::from([("account_manager".into(), "Dana Whitfield".into())]),
            entities: Vec::new(),
            as_of: Timestamp::parse("2026-11-20T09:00:00Z").expect("date"),
        }
    }

    fn report() -> Entity {
        Entity::new(
            "deliverable".into(),
            "D-114".into(),
            "Final SEO report".into(),
            Vec::new(),
            BTreeMap::from([
                ("due".into(), "2026-11-28".into()),
                ("state".into(), "in review".into()),
            ]),
        )
    }

    fn render(template: &str, entity: Option<&Entity>) -> Result<(String, Vec<Fact>), NoAnswer> {
        Text::parse(template)
            .expect("valid")
            .render(&client(), entity, &english())
    }

    /// Every kind of placeholder fills in, dates are written for people, facts stay raw.
    #[test]
    fn renders_all_placeholders() {
        let (text, facts) = render(
            "{client.name}: {name} ({id}) is {state}, due {due:date}; {client.account_manager} \
             checked at {as_of:datetime}. {{literal}} {name}",
            Some(&report()),
        )
        .expect("renders");
        assert_eq!(
            text,
            "Acme Ltd: Final SEO report (D-114) is in review, due Saturday 28 November 2026; \
             Dana Whitfield checked at Friday 20 November 2026 at 09:00 UTC. {literal} Final SEO report"
        );
        let names: Vec<_> = facts.iter().map(|fact| fact.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "client.name",
                "name",
                "id",
                "state",
                "due",
                "client.account_manager",
                "as_of"
            ]
        );
        assert_eq!(facts[4].value, "2026-11-28");
    }

    /// A value the data lacks stops the answer instead of leaving a blank.
    #[test]
    fn missing_values_are_reported() {
        assert_eq!(
            render("paid on {paid_on:date}", Some(&report())),
            Err(NoAnswer::MissingField {
                entity: Some("Final SEO report".into()),
                field: "paid_on".into()
            })
        );
        assert_eq!(
            render("ask {client.phone}", Some(&report())),
            Err(NoAnswer::MissingField {
                entity: None,
                field: "client.phone".into()
            })
        );
    }

    /// A `missing` text fills in the reference and the records; elsewhere they are missing.
    #[test]
    fn renders_a_missing_text() {
        let text = Text::parse("No invoice {asked}; yours: {records}.").expect("valid");
        let missing = Missing {
            asked: "INV-1043",
            records: "INV-1042 (open)",
        };
        let (rendered, facts) = text
            .render_with(&client(), None, Some(missing), &english())
            .expect("renders");
        assert_eq!(rendered, "No invoice INV-1043; yours: INV-1042 (open).");
        assert_eq!(facts[0].value, "INV-1043");
        assert_eq!(
            text.render(&client(), None, &english()),
            Err(NoAnswer::MissingField {
                entity: None,
                field: "asked".into()
            })
        );
    }

    /// Malformed templates and unknown placeholders are refused at parse time.
    #[test]
    fn rejects_bad_syntax() {
        for (template, expected) in [
            ("due {due", "unclosed '{' at byte 4"),
            ("due } soon", "unmatched '}' at byte 4"),
            ("{}", "unknown placeholder {}"),
            ("{Due}", "unknown placeholder {Due}"),
            ("{client.id}", "unknown placeholder {client.id}"),
            ("{client.}", "unknown placeholder {client.}"),
            ("{asked:record}", "unknown format \"record\""),
            ("{due:when}", "unknown format \"when\""),
            ("{a.b}", "unknown placeholder {a.b}"),
            ("  ", "empty text"),
        ] {
            let error = Text::parse(template).expect_err(template);
            assert!(error.contains(expected), "{template}: {error}");
        }
    }
}
