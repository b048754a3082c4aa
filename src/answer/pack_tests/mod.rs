//! Tests over the shipped packs' data (`data/agency`, `data/banking77`): they load, answer
//! naturally, never leak one client's data into another's answer, and reload safely. This file
//! holds the shared helpers and the tests that cover both packs.

mod agency;
mod banking;
mod files;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Answer, NoAnswer, StatusData};

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

/// A shipped pack, loaded, asked as the service asks: by client, intent and text.
struct Pack {
    data: StatusData,
    kinds: BTreeMap<String, String>,
}

impl Pack {
    /// Loads `data/<name>` against the pack's direct intents.
    fn load(name: &str) -> Self {
        let intents = direct_intents(name);
        let data = StatusData::load(&pack_dir(name), &intents)
            .unwrap_or_else(|error| panic!("{name} loads: {error}"));
        Self {
            data,
            kinds: intents.into_iter().collect(),
        }
    }

    /// Answers `text`, an inquiry of `intent` (its status kind from the pack), for `client`.
    fn ask(&self, client: &str, intent: &str, text: &str) -> Result<Answer, NoAnswer> {
        let kind = self.kinds.get(intent).expect("a direct intent");
        let client = self.data.client(client).expect("known client");
        self.data.templates().answer(client, intent, kind, text)
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

/// Both packs' data and templates load and pass validation.
#[test]
fn both_packs_load() {
    assert_eq!(Pack::load("agency").data.clients().len(), 6);
    assert_eq!(Pack::load("banking77").data.clients().len(), 4);
}

/// Whatever is asked, in either pack, an answer or reason only ever shows the asker's records,
/// and the shipped data never lacks a value a template needs.
#[test]
fn answers_only_ever_use_the_askers_entities() {
    for name in ["agency", "banking77"] {
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
