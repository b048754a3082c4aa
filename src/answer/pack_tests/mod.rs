//! Tests over the shipped packs' data (`data/agency`, `data/banking77`, `data/distributor`): they
//! load, answer naturally, name only the record asked about, read dates at the inquiry's time,
//! never leak one client's data into another's answer, and reload safely. This file holds the
//! shared helpers and the tests that cover several packs. Every test reads the data at a fixed
//! time, never today's.

mod agency;
mod banking;
mod dates;
mod files;
mod records;
mod variants;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Answer, NoAnswer, StatusData};
use crate::pack::StatusSettings;

/// The pack folder `name` under the crate's `data/`.
fn pack_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// The pack's direct `(intent, status_kind)` pairs, from its intents file.
fn direct_intents(pack: &str) -> Vec<(String, String)> {
    let path = pack_dir(pack).join("intents.csv");
    let text = std::fs::read_to_string(&path).expect("intents file");
    text.lines()
        .skip(1)
        .filter_map(
            |line| match line.split(',').collect::<Vec<_>>().as_slice() {
                [intent, "direct", _, kind] => Some(((*intent).to_owned(), (*kind).to_owned())),
                _ => None,
            },
        )
        .collect()
}

/// The time the shipped pack `name`'s data is taken at (its `as_of`), at which the tests load
/// and ask it, so that no date moves.
fn as_of(name: &str) -> jiff::Timestamp {
    let as_of = if name == "distributor" {
        "2026-12-04T18:00:00Z"
    } else {
        "2026-11-20T09:00:00Z"
    };
    as_of.parse().expect("instant")
}

/// The shipped pack's `[status]` settings.
fn status_settings(name: &str) -> StatusSettings {
    crate::pack::Pack::load(&pack_dir(name))
        .unwrap_or_else(|error| panic!("{name} loads: {error}"))
        .settings
        .status
}

/// A shipped pack, loaded, asked as the service asks: by client, intent and text.
struct Pack {
    data: StatusData,
    kinds: BTreeMap<String, String>,
    at: jiff::Timestamp,
}

impl Pack {
    /// Loads `data/<name>` against the pack's direct intents, at its data's `as_of`.
    fn load(name: &str) -> Self {
        Self::load_at(name, as_of(name))
    }

    /// Loads `data/<name>` at `at` (which moves its dates when the pack shifts them to today),
    /// and asks at that time.
    fn load_at(name: &str, at: jiff::Timestamp) -> Self {
        Self::load_with(name, &status_settings(name), at)
    }

    /// [`Self::load_at`] with other `[status]` settings than the pack's.
    fn load_with(name: &str, settings: &StatusSettings, at: jiff::Timestamp) -> Self {
        let intents = direct_intents(name);
        let data = StatusData::load(&pack_dir(name), &intents, settings, at)
            .unwrap_or_else(|error| panic!("{name} loads: {error}"));
        Self {
            data,
            kinds: intents.into_iter().collect(),
            at,
        }
    }

    /// Answers `text`, an inquiry of `intent` (its status kind from the pack), for `client`.
    fn ask(&self, client: &str, intent: &str, text: &str) -> Result<Answer, NoAnswer> {
        self.ask_at(client, intent, text, self.at)
    }

    /// [`Self::ask`] for an inquiry received at `at`.
    fn ask_at(
        &self,
        client: &str,
        intent: &str,
        text: &str,
        at: jiff::Timestamp,
    ) -> Result<Answer, NoAnswer> {
        let kind = self.kinds.get(intent).expect("a direct intent");
        let client = self.data.client(client).expect("known client");
        let reader = self.data.reader(Some(client), None, text);
        self.data.answer(client, intent, kind, text, at, &reader)
    }

    /// The answer; fails the test with the reason if there is none.
    fn answered(&self, client: &str, intent: &str, text: &str) -> Answer {
        self.ask(client, intent, text).unwrap_or_else(|reason| {
            panic!("{client} {intent} {text:?}: expected an answer, got: {reason}")
        })
    }

    /// The id of the entity the answer is about ("" for a client-only answer).
    fn entity(&self, client: &str, intent: &str, text: &str) -> String {
        self.answered(client, intent, text)
            .entity_id
            .unwrap_or_default()
    }

    /// The answer's text.
    fn text(&self, client: &str, intent: &str, text: &str) -> String {
        self.answered(client, intent, text).text
    }
}

/// The packs' data and templates load and pass validation.
#[test]
fn the_packs_load() {
    assert_eq!(Pack::load("agency").data.clients().len(), 6);
    assert_eq!(Pack::load("banking77").data.clients().len(), 4);
    assert_eq!(Pack::load("distributor").data.clients().len(), 9);
}

/// Whatever is asked, in either pack, an answer or reason only ever shows the asker's records,
/// and the shipped data never lacks a value a template needs.
#[test]
fn answers_only_ever_use_the_askers_entities() {
    for name in ["agency", "banking77", "distributor"] {
        let pack = Pack::load(name);
        // Every entity's id and name, of every client, is asked by every client.
        let mut texts = vec!["what's the status?".to_owned()];
        for client in pack.data.clients() {
            texts.extend(
                client
                    .entities
                    .iter()
                    .flat_map(|e| [e.id.clone(), e.name.clone()]),
            );
        }
        for client in pack.data.clients() {
            let own = |value: &str| {
                client
                    .entities
                    .iter()
                    .any(|e| e.id == value || e.name == value)
            };
            for intent in pack.kinds.keys() {
                for text in &texts {
                    let context = format!("{name}/{} {intent} {text:?}", client.id);
                    let own_listed = |listed: &String| {
                        client
                            .entities
                            .iter()
                            .any(|e| *listed == format!("{} ({})", e.id, e.name))
                    };
                    match pack.ask(&client.id, intent, text) {
                        Ok(answer) => {
                            let id = answer.entity_id.unwrap_or_default();
                            assert!(id.is_empty() || own(&id), "{context}: {id}");
                        }
                        Err(
                            NoAnswer::Ambiguous { candidates }
                            | NoAnswer::NotMentioned { candidates }
                            | NoAnswer::NoneUpcoming { candidates }
                            | NoAnswer::NonePast { candidates },
                        ) => {
                            let foreign = candidates.iter().find(|name| !own(name));
                            assert!(foreign.is_none(), "{context}: {foreign:?}");
                        }
                        Err(
                            NoAnswer::NoSuchRecord { candidates, .. }
                            | NoAnswer::NoSuchName { candidates, .. },
                        ) => {
                            let foreign = candidates.iter().find(|listed| !own_listed(listed));
                            assert!(foreign.is_none(), "{context}: {foreign:?}");
                        }
                        Err(NoAnswer::NotApplicable { name, .. }) => {
                            assert!(name.split("; ").all(own), "{context}: {name}");
                        }
                        Err(NoAnswer::NoData { .. }) => {}
                        Err(other) => panic!("{context}: {other}"),
                    }
                }
            }
        }
    }
}

/// The same inquiry always gives the same result, load after load.
#[test]
fn answers_are_deterministic() {
    let (first, second) = (Pack::load("agency"), Pack::load("agency"));
    for text in [
        "when will the report be ready?",
        "the final report",
        "invoice?",
        "next meeting",
    ] {
        for intent in [
            "deliverable_eta",
            "invoice_status",
            "next_meeting",
            "campaign_results",
        ] {
            assert_eq!(
                first.ask("acme", intent, text),
                second.ask("acme", intent, text)
            );
        }
    }
}
