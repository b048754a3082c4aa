//! One client's status record as `status.json` holds it: identity, tier, contact addresses,
//! free-form fields and entities (deliverables, invoices, cards, ...), validated on the way in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

use super::contact::RawContact;
use super::date::Timestamp;
use super::error::AnswerError;
use super::mention::EntityTerms;
use crate::text::quoted;

/// Field names that would be shadowed by a built-in placeholder (`{name}`, `{id}`, `{as_of}`).
const RESERVED_FIELDS: [&str; 3] = ["name", "id", "as_of"];

/// A client's service tier; the service derives ticket priority from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientTier {
    Platinum,
    Gold,
    Silver,
    Standard,
}

impl ClientTier {
    /// Every tier, highest first.
    pub const ALL: [ClientTier; 4] = [Self::Platinum, Self::Gold, Self::Silver, Self::Standard];

    /// The tier's name as written in `status.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platinum => "platinum",
            Self::Gold => "gold",
            Self::Silver => "silver",
            Self::Standard => "standard",
        }
    }

    /// The tier named `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tier| tier.as_str() == name)
    }
}

impl fmt::Display for ClientTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One client and everything the answers may say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub tier: ClientTier,
    /// Contact addresses, lower-cased.
    pub emails: Vec<String>,
    /// Mail domains whose senders are this client, lower-cased.
    pub domains: Vec<String>,
    /// Client-level facts (`account_manager`, ...), read by `{client.<field>}`.
    pub fields: BTreeMap<String, String>,
    pub entities: Vec<Entity>,
    /// When the data was taken: the file's `as_of`, carried so an answer needs only the client.
    pub as_of: Timestamp,
}

impl Client {
    /// A standard-tier client `id` (also its name) with `entities` and no contacts or fields,
    /// its data as of 20 November 2026: for tests.
    #[cfg(test)]
    pub(crate) fn for_tests(id: &str, entities: Vec<Entity>) -> Self {
        Self {
            id: id.into(),
            name: id.into(),
            tier: ClientTier::Standard,
            emails: Vec::new(),
            domains: Vec::new(),
            fields: BTreeMap::new(),
            entities,
            as_of: Timestamp::parse("2026-11-20").expect("date"),
        }
    }

    /// The client's entities of `kind`, in file order.
    pub fn entities_of<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Entity> {
        self.entities
            .iter()
            .filter(move |entity| entity.kind == kind)
    }
}

/// One record of a client: a deliverable, an invoice, a meeting, a card, ...
#[derive(Debug, Clone)]
pub struct Entity {
    pub kind: String,
    pub id: String,
    pub name: String,
    /// Other names the client may use for it; matched like the name.
    pub aliases: Vec<String>,
    pub fields: BTreeMap<String, String>,
    /// How a text names it, read from the id, fields, name and aliases above the first time it
    /// is needed: once per load for embedded status data, and only for the entities an inquiry
    /// looks at when each lookup builds its client afresh.
    terms: OnceLock<EntityTerms>,
}

impl Entity {
    pub fn new(
        kind: String,
        id: String,
        name: String,
        aliases: Vec<String>,
        fields: BTreeMap<String, String>,
    ) -> Self {
        Self {
            kind,
            id,
            name,
            aliases,
            fields,
            terms: OnceLock::new(),
        }
    }

    pub(crate) fn terms(&self) -> &EntityTerms {
        self.terms.get_or_init(|| EntityTerms::new(self))
    }
}

/// Entities are equal by what they hold; whether their terms were read yet does not count.
impl PartialEq for Entity {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.kind,
            &self.id,
            &self.name,
            &self.aliases,
            &self.fields,
        ) == (
            &other.kind,
            &other.id,
            &other.name,
            &other.aliases,
            &other.fields,
        )
    }
}

impl Eq for Entity {}

/// A client as written in `status.json`, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    id: String,
    name: String,
    tier: String,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    entities: Vec<RawEntity>,
    /// The people who write in for it: read by the status data, not part of the client (see
    /// `contact`).
    #[serde(default)]
    contacts: Vec<RawContact>,
}

/// An entity as written in `status.json`, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    kind: String,
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

impl RawClient {
    /// The client's contacts as written, taken out of it.
    pub(crate) fn take_contacts(&mut self) -> Vec<RawContact> {
        std::mem::take(&mut self.contacts)
    }

    /// Moves every date among the client's and its entities' field values by `days` whole
    /// days (a value out of the supported range stays as it is, for validation to judge).
    pub(crate) fn shift_dates(&mut self, days: i64) {
        let shift = |fields: &mut BTreeMap<String, String>| {
            for value in fields.values_mut() {
                if let Some(moved) =
                    Timestamp::parse(value).and_then(|date| date.shifted_by_days(days))
                {
                    *value = moved.to_string();
                }
            }
        };
        shift(&mut self.fields);
        for entity in &mut self.entities {
            shift(&mut entity.fields);
        }
    }

    /// Validates the client read from `path` (the `index`th in the file) and its entities.
    pub(crate) fn validate(
        self,
        path: &Path,
        index: usize,
        as_of: Timestamp,
    ) -> Result<Client, AnswerError> {
        let label = if self.id.trim().is_empty() {
            format!("#{}", index + 1)
        } else {
            self.id.clone()
        };
        let bad = |message: String| AnswerError::BadClient {
            path: path.to_owned(),
            client: label.clone(),
            message,
        };
        if self.id.trim().is_empty() {
            return Err(bad("empty id".into()));
        }
        if self.name.trim().is_empty() {
            return Err(bad("empty name".into()));
        }
        let tier = ClientTier::parse(&self.tier).ok_or_else(|| {
            bad(format!(
                "unknown tier {} (expected platinum, gold, silver or standard)",
                quoted(&self.tier)
            ))
        })?;
        let emails = lowercase_all(self.emails);
        if let Some(email) = emails.iter().find(|email| !is_email(email)) {
            return Err(bad(format!("bad email {}", quoted(email))));
        }
        let domains = lowercase_all(self.domains);
        if let Some(domain) = domains.iter().find(|domain| !is_domain(domain)) {
            return Err(bad(format!("bad domain {}", quoted(domain))));
        }
        check_fields(&self.fields).map_err(|message| bad(format!("fields: {message}")))?;
        let mut ids = BTreeSet::new();
        let mut entities = Vec::with_capacity(self.entities.len());
        for (position, raw) in self.entities.into_iter().enumerate() {
            let entity_label = if raw.id.trim().is_empty() {
                format!("#{}", position + 1)
            } else {
                raw.id.clone()
            };
            let entity = raw.validate().map_err(|message| AnswerError::BadEntity {
                path: path.to_owned(),
                client: label.clone(),
                entity: entity_label,
                message,
            })?;
            if !ids.insert(entity.id.clone()) {
                return Err(bad(format!("duplicate entity id {}", quoted(&entity.id))));
            }
            entities.push(entity);
        }
        Ok(Client {
            id: self.id,
            name: self.name,
            tier,
            emails,
            domains,
            fields: self.fields,
            entities,
            as_of,
        })
    }
}

impl RawEntity {
    /// The entity, or what is wrong with it.
    fn validate(self) -> Result<Entity, String> {
        if self.id.trim().is_empty() {
            return Err("empty id".into());
        }
        if self.kind.trim().is_empty() {
            return Err("empty kind".into());
        }
        if self.name.trim().is_empty() {
            return Err("empty name".into());
        }
        if self.aliases.iter().any(|alias| alias.trim().is_empty()) {
            return Err("empty alias".into());
        }
        check_fields(&self.fields).map_err(|message| format!("fields: {message}"))?;
        Ok(Entity::new(
            self.kind,
            self.id,
            self.name,
            self.aliases,
            self.fields,
        ))
    }
}

/// Whether `name` is a field a template can name: a field name that is not reserved.
pub(crate) fn is_usable_field_name(name: &str) -> bool {
    is_field_name(name) && !RESERVED_FIELDS.contains(&name)
}

/// Whether `name` can be written as a placeholder: lower-case ASCII letters, digits and `_`.
fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

/// Field names must be placeholder names and not shadow a built-in one.
fn check_fields(fields: &BTreeMap<String, String>) -> Result<(), String> {
    for name in fields.keys() {
        if !is_field_name(name) {
            return Err(format!(
                "field name {} must be lower-case letters, digits and '_'",
                quoted(name)
            ));
        }
        if RESERVED_FIELDS.contains(&name.as_str()) {
            return Err(format!("field name {name:?} is reserved"));
        }
    }
    Ok(())
}

fn lowercase_all(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|value| value.trim().to_lowercase())
        .collect()
}

fn is_email(address: &str) -> bool {
    address
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && is_domain(domain))
}

fn is_domain(domain: &str) -> bool {
    !domain.is_empty() && !domain.contains(['@', ' ']) && domain.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equality is by content: reading an entity's terms (a cache) does not change it.
    #[test]
    fn entities_compare_by_content_not_by_read_terms() {
        let invoice = |name: &str| {
            Entity::new(
                "invoice".into(),
                "INV-1042".into(),
                name.into(),
                Vec::new(),
                BTreeMap::new(),
            )
        };
        let (read, fresh) = (invoice("October retainer"), invoice("October retainer"));
        let _ = read.terms();
        assert_eq!(read, fresh);
        assert_ne!(read, invoice("November retainer"));
    }

    fn raw(json: &str) -> RawClient {
        serde_json::from_str(json).expect("valid raw client")
    }

    fn validate(json: &str) -> Result<Client, AnswerError> {
        let as_of = Timestamp::parse("2026-11-20").expect("date");
        raw(json).validate(Path::new("status.json"), 0, as_of)
    }

    /// A well-formed client keeps its data, with addresses lower-cased.
    #[test]
    fn accepts_a_good_client() {
        let client = validate(
            r#"{"id": "acme", "name": "Acme", "tier": "gold", "emails": ["Ops@Acme.example"],
                "domains": ["ACME.example"], "fields": {"account_manager": "Dana"},
                "entities": [{"kind": "invoice", "id": "INV-1", "name": "Invoice 1"}]}"#,
        )
        .expect("valid");
        assert_eq!(client.tier, ClientTier::Gold);
        assert_eq!(client.emails, ["ops@acme.example"]);
        assert_eq!(client.domains, ["acme.example"]);
        assert_eq!(client.entities_of("invoice").count(), 1);
        assert_eq!(client.entities_of("meeting").count(), 0);
    }

    /// Bad clients are reported with the file and the client, bad entities with the entity too.
    #[test]
    fn errors_name_file_client_and_entity() {
        let cases = [
            (
                r#"{"id": "acme", "name": "Acme", "tier": "bronze"}"#,
                "client \"acme\": unknown tier \"bronze\"",
            ),
            (
                r#"{"id": "acme", "name": " ", "tier": "gold"}"#,
                "client \"acme\": empty name",
            ),
            (
                r#"{"id": "", "name": "Acme", "tier": "gold"}"#,
                "client \"#1\": empty id",
            ),
            (
                r#"{"id": "acme", "name": "Acme", "tier": "gold", "emails": ["nobody"]}"#,
                "bad email",
            ),
            (
                r#"{"id": "acme", "name": "Acme", "tier": "gold", "fields": {"Due": "x"}}"#,
                "field name \"Due\"",
            ),
            (
                r#"{"id": "acme", "name": "Acme", "tier": "gold", "entities": [
                    {"kind": "invoice", "id": "INV-1", "name": "A"},
                    {"kind": "meeting", "id": "INV-1", "name": "B"}]}"#,
                "client \"acme\": duplicate entity id \"INV-1\"",
            ),
            (
                r#"{"id": "acme", "name": "Acme", "tier": "gold", "entities": [
                    {"kind": "invoice", "id": "INV-1", "name": ""}]}"#,
                "client \"acme\", entity \"INV-1\": empty name",
            ),
            (
                r#"{"id": "acme", "name": "Acme", "tier": "gold", "entities": [
                    {"kind": "invoice", "id": "INV-1", "name": "A", "fields": {"name": "x"}}]}"#,
                "entity \"INV-1\": fields: field name \"name\" is reserved",
            ),
        ];
        for (json, expected) in cases {
            let message = validate(json).expect_err(json).to_string();
            assert!(message.starts_with("status.json: "), "{message}");
            assert!(message.contains(expected), "{message} lacks {expected}");
        }
    }

    /// Tier names round-trip and nothing else is a tier.
    #[test]
    fn tier_names_round_trip() {
        for tier in ClientTier::ALL {
            assert_eq!(ClientTier::parse(tier.as_str()), Some(tier));
        }
        assert_eq!(ClientTier::parse("Gold"), None);
    }
}
