//! A pack's status data: `status.json` (the clients and their entities) and `templates.toml`
//! (how each status kind is answered), loaded together, validated, and indexed by client id,
//! email address and mail domain.
//!
//! `status.json` is `{"as_of": "<date or time>", "clients": [{"id", "name", "tier", "emails",
//! "domains", "fields", "entities": [{"kind", "id", "name", "aliases", "fields"}], "contacts":
//! [{"email", "name", "role", "language"}]}]}`; `fields` map names to strings. Client ids are
//! unique, entity ids unique within their client, an email address or domain belongs to one
//! client only, and a contact's address is its client's and listed once.
//!
//! When the pack says `shift_to_today`, every date of the file (`as_of` and each field value
//! that is a date) moves by the same whole number of days so that `as_of` falls on the day the
//! data is loaded; times of day, and the words of names ("November SEO review"), stay as they
//! are. Answers are read at the inquiry's receive time, within the pack's limits on the data's
//! age (see `freshness`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::client::{Client, RawClient};
use super::contact::Contact;
use super::date::{Timestamp, utc_date};
use super::error::{AnswerError, read_text};
use super::freshness::{Age, Freshness};
use super::language::Language;
use super::reads::Question;
use super::rendered::{Answer, NoAnswer};
use super::templates::Templates;
use super::variant::Reader;
use super::vocabulary::Vocabulary;
use crate::pack::StatusSettings;
use crate::text::{printable, quoted};

/// The file holding the clients' data.
pub const STATUS_FILE: &str = "status.json";
/// The file holding the answer templates.
pub const TEMPLATES_FILE: &str = "templates.toml";

/// One consistent snapshot of a pack's status data and templates.
#[derive(Debug)]
pub struct StatusData {
    as_of: Timestamp,
    clients: Vec<Arc<Client>>,
    by_id: BTreeMap<String, usize>,
    by_email: BTreeMap<String, usize>,
    by_domain: BTreeMap<String, usize>,
    /// The clients' contacts by address.
    contacts: BTreeMap<String, Contact>,
    templates: Templates,
    vocabulary: Vocabulary,
    freshness: Freshness,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    as_of: String,
    clients: Vec<RawClient>,
}

impl StatusData {
    /// Loads `dir/status.json` and `dir/templates.toml` at `now`, under the pack's `settings`;
    /// `direct_intents` are the pack's `(intent, status_kind)` pairs, each of which must have a
    /// template.
    pub fn load(
        dir: &Path,
        direct_intents: &[(String, String)],
        settings: &StatusSettings,
        now: jiff::Timestamp,
    ) -> Result<Self, AnswerError> {
        let templates = Templates::load(&dir.join(TEMPLATES_FILE), direct_intents)?;
        let path = dir.join(STATUS_FILE);
        let source = read_text(&path)?;
        Self::parse(&path, &source, templates, settings, now)
    }

    /// Parses and validates `source`, the text of `path`, against `templates`, at `now`.
    pub(crate) fn parse(
        path: &Path,
        source: &str,
        templates: Templates,
        settings: &StatusSettings,
        now: jiff::Timestamp,
    ) -> Result<Self, AnswerError> {
        let mut raw: RawStatus =
            serde_json::from_str(source).map_err(|error| AnswerError::Syntax {
                path: path.to_owned(),
                message: printable(&error.to_string()),
            })?;
        let mut as_of = Timestamp::parse(&raw.as_of).ok_or_else(|| AnswerError::BadFile {
            path: path.to_owned(),
            message: format!(
                "as_of {} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)",
                quoted(&raw.as_of)
            ),
        })?;
        if settings.shift_to_today {
            let days = utc_date(now).duration_since(as_of.date()).as_hours() / 24;
            as_of = as_of
                .shifted_by_days(days)
                .ok_or_else(|| AnswerError::BadFile {
                    path: path.to_owned(),
                    message: format!("as_of {as_of} cannot be moved {days} days to today"),
                })?;
            for client in &mut raw.clients {
                client.shift_dates(days);
            }
        }
        let mut contacts = BTreeMap::new();
        let mut clients = Vec::with_capacity(raw.clients.len());
        for (index, mut raw_client) in raw.clients.into_iter().enumerate() {
            let raw_contacts = raw_client.take_contacts();
            let client = raw_client.validate(path, index, as_of)?;
            for raw_contact in raw_contacts {
                let bad = |message: String| AnswerError::BadClient {
                    path: path.to_owned(),
                    client: client.id.clone(),
                    message,
                };
                let contact = raw_contact.validate(&client).map_err(bad)?;
                if let Some(other) = contacts.get(&contact.email).map(|c: &Contact| &c.client_id) {
                    return Err(bad(format!(
                        "contact {} is already listed for client {}",
                        quoted(&contact.email),
                        quoted(other)
                    )));
                }
                contacts.insert(contact.email.clone(), contact);
            }
            clients.push(Arc::new(client));
        }
        templates.check_data(path, &clients)?;
        let mut data = Self {
            as_of,
            clients: Vec::new(),
            by_id: BTreeMap::new(),
            by_email: BTreeMap::new(),
            by_domain: BTreeMap::new(),
            contacts,
            templates,
            vocabulary: Vocabulary::new(&clients),
            freshness: Freshness::new(settings),
        };
        for client in clients {
            data.index(path, client)?;
        }
        Ok(data)
    }

    /// Adds `client` to the indexes, refusing an id, email or domain another client has.
    fn index(&mut self, path: &Path, client: Arc<Client>) -> Result<(), AnswerError> {
        let position = self.clients.len();
        let clash = |what: &str, value: &str, other: usize| AnswerError::BadClient {
            path: path.to_owned(),
            client: client.id.clone(),
            message: format!(
                "{what} {} already belongs to client {}",
                quoted(value),
                quoted(
                    self.clients
                        .get(other)
                        .map_or("", |other| other.id.as_str())
                )
            ),
        };
        if let Some(&other) = self.by_id.get(&client.id) {
            return Err(clash("id", &client.id, other));
        }
        for (what, values, index) in [
            ("email", &client.emails, &self.by_email),
            ("domain", &client.domains, &self.by_domain),
        ] {
            if let Some((value, &other)) = values
                .iter()
                .find_map(|value| index.get(value).map(|other| (value, other)))
            {
                return Err(clash(what, value, other));
            }
        }
        self.by_id.insert(client.id.clone(), position);
        for email in &client.emails {
            self.by_email.insert(email.clone(), position);
        }
        for domain in &client.domains {
            self.by_domain.insert(domain.clone(), position);
        }
        self.clients.push(client);
        Ok(())
    }

    /// When the data was taken.
    pub fn as_of(&self) -> Timestamp {
        self.as_of
    }

    /// All clients, in file order.
    pub fn clients(&self) -> &[Arc<Client>] {
        &self.clients
    }

    /// The client with id `id` (exact).
    pub fn client(&self, id: &str) -> Option<&Arc<Client>> {
        self.by_id
            .get(id)
            .and_then(|&index| self.clients.get(index))
    }

    /// The client a sender belongs to: by the exact address, else by its mail domain; both
    /// case-insensitive. Subdomains are not matched ("mail.acme.example" is not "acme.example").
    pub fn client_for_email(&self, address: &str) -> Option<&Arc<Client>> {
        let address = address.trim().to_lowercase();
        let domain = address.rsplit_once('@').map(|(_, domain)| domain)?;
        self.by_email
            .get(&address)
            .or_else(|| self.by_domain.get(domain))
            .and_then(|&index| self.clients.get(index))
    }

    /// The pack's answer templates.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The contact of `client` writing from `address` (case-insensitive), if it is one.
    pub fn contact(&self, client: &Client, address: &str) -> Option<&Contact> {
        self.contacts
            .get(&address.trim().to_lowercase())
            .filter(|contact| contact.client_id == client.id)
    }

    /// The reader of `text`, an inquiry of `client` (`None`: a sender of no known client) from
    /// `sender` (an address, if known): in the inquiry's language when the pack is written in
    /// it, else the contact's, else the pack's default (see [`Reader`]).
    pub fn reader(&self, client: Option<&Client>, sender: Option<&str>, text: &str) -> Reader {
        let contact = client
            .zip(sender)
            .and_then(|(client, sender)| self.contact(client, sender));
        let languages = self.templates.languages();
        Reader::choose(
            languages,
            Language::of_text(text, languages.all()),
            contact.cloned(),
        )
    }

    /// Answers `text`, an inquiry of `intent` (of `status_kind`) received at `at`, from
    /// `client`'s data alone, for `reader` (see [`Self::reader`]); the client may come from
    /// another directory than this data, but the templates, the pack's vocabulary and the
    /// limits on the data's age are these. An
    /// answer that uses the data says when the data is from once it is older than the pack's
    /// setting, and data older than its maximum age is not answered from. Deterministic: the
    /// same inputs give the same result.
    pub fn answer(
        &self,
        client: &Client,
        intent: &str,
        status_kind: &str,
        text: &str,
        at: jiff::Timestamp,
        reader: &Reader,
    ) -> Result<Answer, NoAnswer> {
        let question = Question {
            text,
            at,
            vocabulary: &self.vocabulary,
        };
        let answered = self
            .templates
            .answer(client, intent, status_kind, &question, reader);
        match (answered, self.freshness.age(client.as_of, at)) {
            // An answer that uses nothing of the data (a policy) does not age with it.
            (Ok(answer), _) if answer.facts.is_empty() => Ok(answer),
            (_, Age::Stale(stale)) => Err(stale),
            (Ok(mut answer), Age::Dated) => {
                self.templates.note_as_of(client, &mut answer)?;
                Ok(answer)
            }
            (answered, Age::Fresh | Age::Dated) => answered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATES: &str = "[status_kinds.meeting]\nentity = \"meeting\"\nselect = \"next\"\n\
                             order_by = \"starts_at\"\ntext = \"{name} at {starts_at:datetime}\"\n\
                             [status_kinds.account_manager]\nselect = \"none\"\n\
                             text = \"{client.account_manager} since {client.since:date}\"\n";

    fn parse(status: &str) -> Result<StatusData, AnswerError> {
        let intents = [
            ("next_meeting".to_owned(), "meeting".to_owned()),
            ("account_manager".to_owned(), "account_manager".to_owned()),
        ];
        let templates =
            Templates::parse(Path::new("templates.toml"), TEMPLATES, &intents).expect("templates");
        let now = "2026-11-20T09:00:00Z".parse().expect("instant");
        StatusData::parse(
            Path::new("status.json"),
            status,
            templates,
            &StatusSettings::default(),
            now,
        )
    }

    fn status(clients: &str) -> String {
        format!(r#"{{"as_of": "2026-11-20T09:00:00Z", "clients": [{clients}]}}"#)
    }

    const ACME: &str = r#"{"id": "acme", "name": "Acme", "tier": "gold", "emails": ["Ops@Acme.example"],
        "domains": ["acme.example"], "entities": [
        {"kind": "meeting", "id": "M-1", "name": "Review", "fields": {"starts_at": "2026-11-24T14:30:00Z"}}]}"#;

    /// Senders are found by exact address or by domain, ignoring case, and only then.
    #[test]
    fn finds_clients_by_email() {
        let beta =
            r#"{"id": "beta", "name": "Beta", "tier": "silver", "emails": ["boss@gmail.example"]}"#;
        let data = parse(&status(&format!("{ACME}, {beta}"))).expect("valid");
        let id = |address: &str| {
            data.client_for_email(address)
                .map(|client| client.id.clone())
        };
        assert_eq!(id("ops@acme.example").as_deref(), Some("acme"));
        assert_eq!(id(" Someone@ACME.Example ").as_deref(), Some("acme"));
        assert_eq!(id("BOSS@gmail.example").as_deref(), Some("beta"));
        assert_eq!(id("other@gmail.example"), None);
        assert_eq!(id("x@mail.acme.example"), None);
        assert_eq!(id("acme.example"), None);
        assert_eq!(
            data.client("acme").map(|client| client.name.as_str()),
            Some("Acme")
        );
        assert!(data.client("ACME").is_none());
        assert_eq!(data.as_of().to_string(), "2026-11-20T09:00:00Z");
    }

    /// An id, address or domain claimed by two clients is refused, naming both.
    #[test]
    fn refuses_shared_ids_and_addresses() {
        let twin = |json: &str| {
            parse(&status(&format!("{ACME}, {json}")))
                .expect_err(json)
                .to_string()
        };
        assert_eq!(
            twin(r#"{"id": "acme", "name": "Acme 2", "tier": "gold"}"#),
            "status.json: client \"acme\": id \"acme\" already belongs to client \"acme\""
        );
        assert_eq!(
            twin(r#"{"id": "beta", "name": "Beta", "tier": "gold", "domains": ["ACME.example"]}"#),
            "status.json: client \"beta\": domain \"acme.example\" already belongs to client \"acme\""
        );
        assert_eq!(
            twin(
                r#"{"id": "beta", "name": "Beta", "tier": "gold", "emails": ["ops@acme.example"]}"#
            ),
            "status.json: client \"beta\": email \"ops@acme.example\" already belongs to client \"acme\""
        );
    }

    /// Dates the templates order by or format must be dates; the error names client and entity.
    #[test]
    fn checks_dates_the_templates_read() {
        let bad_meeting = r#"{"id": "beta", "name": "Beta", "tier": "gold", "entities": [
            {"kind": "meeting", "id": "M-9", "name": "Sync", "fields": {"starts_at": "next Tuesday"}}]}"#;
        let error = parse(&status(bad_meeting))
            .expect_err("bad date")
            .to_string();
        assert!(
            error.starts_with("status.json: client \"beta\", entity \"M-9\": field \"starts_at\" is \"next Tuesday\", not a date"),
            "{error}"
        );
        let bad_since =
            r#"{"id": "beta", "name": "Beta", "tier": "gold", "fields": {"since": "2024"}}"#;
        let error = parse(&status(bad_since)).expect_err("bad date").to_string();
        assert!(
            error.starts_with("status.json: client \"beta\": field \"since\""),
            "{error}"
        );
    }

    /// File-level problems name the file, and syntax errors the line.
    #[test]
    fn reports_file_problems() {
        let error = parse(r#"{"as_of": "20 Nov 2026", "clients": []}"#).expect_err("bad as_of");
        assert_eq!(
            error.to_string(),
            "status.json: as_of \"20 Nov 2026\" is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"
        );
        let error = parse("{\"as_of\": \"2026-11-20\",\n \"clients\": [,]}").expect_err("bad json");
        assert!(
            error.to_string().starts_with("status.json: ") && error.to_string().contains("line 2"),
            "{error}"
        );
        let error = parse(r#"{"as_of": "2026-11-20", "clients": [], "extra": 1}"#)
            .expect_err("unknown key");
        assert!(
            error.to_string().contains("unknown field `extra`"),
            "{error}"
        );
    }

    /// A sender who is a contact of the client is found with their role and language, only
    /// for that client; an address listed twice is refused.
    #[test]
    fn finds_contacts_by_sender() {
        let with_contacts = r#"{"id": "beta", "name": "Beta", "tier": "silver", "domains": ["beta.example"],
            "contacts": [{"email": "AP@beta.example", "name": "Olga", "role": "finance", "language": "ru"}]}"#;
        let data = parse(&status(&format!("{ACME}, {with_contacts}"))).expect("valid");
        let beta = data.client("beta").expect("beta");
        let acme = data.client("acme").expect("acme");
        let contact = data.contact(beta, " ap@BETA.example").expect("a contact");
        assert_eq!(
            (contact.role.as_str(), contact.language.as_str()),
            ("finance", "ru")
        );
        assert!(data.contact(acme, "ap@beta.example").is_none());
        assert!(data.contact(beta, "other@beta.example").is_none());
        let reader = data.reader(Some(beta), Some("ap@beta.example"), "?");
        assert_eq!(
            reader.language.as_str(),
            "en-GB",
            "the pack has no Russian texts"
        );
        assert_eq!(
            reader.contact.as_ref().map(|c| c.role.as_str()),
            Some("finance")
        );

        let twice = r#"{"id": "gamma", "name": "Gamma", "tier": "silver", "emails": ["ap@beta.example"],
            "contacts": [{"email": "ap@beta.example", "name": "O", "role": "it", "language": "en"}]}"#;
        let error = parse(&status(&format!("{with_contacts}, {twice}")))
            .expect_err("listed twice")
            .to_string();
        assert!(
            error.contains("is already listed for client \"beta\""),
            "{error}"
        );
    }
}
