//! The people who write in for a client: each contact's address, name, role and language, as
//! a client's `contacts` in `status.json`, validated and found by the sender's address.
//!
//! ```json
//! "contacts": [{"email": "ap@freshmart.example", "name": "Olga Nowak",
//!               "role": "finance", "language": "en"}]
//! ```
//!
//! A contact's address must be the client's (one of its `emails`, or at one of its `domains`),
//! so the sender a mail names is the client's contact and no other client's.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::language::Language;
use crate::text::quoted;

/// What a contact does at the client, which decides what an answer puts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Buyer,
    Finance,
    Logistics,
    Marketing,
    /// IT: the systems, the portal, EDI.
    It,
    Owner,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Self::Buyer,
        Self::Finance,
        Self::Logistics,
        Self::Marketing,
        Self::It,
        Self::Owner,
    ];

    /// The role's name as the data writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buyer => "buyer",
            Self::Finance => "finance",
            Self::Logistics => "logistics",
            Self::Marketing => "marketing",
            Self::It => "it",
            Self::Owner => "owner",
        }
    }

    /// The role named `name`, or the error listing the roles.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|role| role.as_str()).collect();
                format!(
                    "unknown role {} (expected {})",
                    quoted(name),
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One person who writes in for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub client_id: String,
    /// Lower-cased.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub language: Language,
}

/// A contact as written in `status.json`, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContact {
    email: String,
    name: String,
    role: String,
    language: String,
}

impl RawContact {
    /// The contact of `client`, or what is wrong with it.
    pub(crate) fn validate(self, client: &Client) -> Result<Contact, String> {
        let email = self.email.trim().to_lowercase();
        let label = quoted(&email);
        let domain = email.rsplit_once('@').map(|(_, domain)| domain);
        let is_clients = client.emails.contains(&email)
            || domain.is_some_and(|domain| client.domains.iter().any(|own| own == domain));
        if !is_clients {
            return Err(format!(
                "contact {label} is neither one of the client's emails nor at one of its domains"
            ));
        }
        if self.name.trim().is_empty() {
            return Err(format!("contact {label}: empty name"));
        }
        let role =
            Role::parse(&self.role).map_err(|message| format!("contact {label}: {message}"))?;
        let language = Language::parse(&self.language)
            .map_err(|message| format!("contact {label}: language {message}"))?;
        Ok(Contact {
            client_id: client.id.clone(),
            email,
            name: self.name,
            role,
            language,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client {
            emails: vec!["ap@acme.example".into()],
            domains: vec!["acme.example".into()],
            ..Client::for_tests("acme", Vec::new())
        }
    }

    fn contact(json: &str) -> Result<Contact, String> {
        let raw: RawContact = serde_json::from_str(json).map_err(|error| error.to_string())?;
        raw.validate(&client())
    }

    /// A good contact is read with its role and canonical language; its address is lower-cased.
    #[test]
    fn reads_a_contact() {
        let read = contact(
            r#"{"email": "Sklad@Acme.example", "name": "Сяргей Коваль", "role": "logistics", "language": "bel"}"#,
        )
        .expect("valid");
        assert_eq!(read.email, "sklad@acme.example");
        assert_eq!(read.role, Role::Logistics);
        assert_eq!(read.language.as_str(), "be");
    }

    /// Each field is checked, and the error names the contact and what is wrong.
    #[test]
    fn refuses_bad_contacts() {
        for (json, expected) in [
            (
                r#"{"email": "x@other.example", "name": "X", "role": "buyer", "language": "en"}"#,
                "contact \"x@other.example\" is neither one of the client's emails",
            ),
            (
                r#"{"email": "ap@acme.example", "name": " ", "role": "buyer", "language": "en"}"#,
                "contact \"ap@acme.example\": empty name",
            ),
            (
                r#"{"email": "ap@acme.example", "name": "A", "role": "IT", "language": "en"}"#,
                "unknown role \"IT\" (expected buyer, finance, logistics, marketing, it, owner)",
            ),
            (
                r#"{"email": "ap@acme.example", "name": "A", "role": "it", "language": "english!"}"#,
                "language \"english!\" is not a language tag",
            ),
            (
                r#"{"email": "ap@acme.example", "name": "A", "role": "it", "language": "en", "phone": "1"}"#,
                "unknown field `phone`",
            ),
        ] {
            let error = contact(json).expect_err(json);
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }
}
