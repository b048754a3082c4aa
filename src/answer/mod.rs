//! Direct answers from a client's status data: for an inquiry the classifier called direct,
//! the answer read from the requesting client's own records, or the reason a person has to
//! answer it instead.
//!
//! A pack folder holds `status.json` (clients and their entities) and `templates.toml` (how each
//! status kind is answered); `StatusStore` keeps them loaded and reloadable, and
//! `StatusData::answer` answers from one client's data, which is all it is given, at the time
//! the inquiry was received: the record the inquiry names or none (`mention`), "next" and
//! "overdue" as of that time (`select`, `overdue`), and never from data older than the pack
//! allows (`freshness`). The answer is written for its reader (`variant`): in the inquiry's
//! language or the contact's (`contact`, `language`), in their role's wording where the
//! template has one.

mod acknowledgement;
mod client;
mod contact;
mod date;
mod directory;
mod error;
mod field_values;
mod freshness;
mod language;
mod mention;
mod overdue;
mod reads;
mod reference;
mod rendered;
mod select;
mod status;
mod store;
mod template_rule;
mod templates;
mod text;
mod variant;
mod vocabulary;

#[cfg(test)]
mod pack_tests;

pub use acknowledgement::{AcknowledgementFacts, ExpectedWait, WAIT_BUCKETS};
pub use client::{Client, ClientTier, Entity};
pub use contact::{Contact, Role};
pub use date::{Timestamp, instant_from_unix_ms};
pub use directory::{ClientDirectory, DirectoryError, PgStatus, Recent};
pub use error::AnswerError;
pub use language::Language;
pub use rendered::{Answer, Fact, NoAnswer};
pub use status::{STATUS_FILE, StatusData, TEMPLATES_FILE};
pub use store::StatusStore;
pub use templates::Templates;
pub use variant::{LanguageSource, Reader, Variant};
