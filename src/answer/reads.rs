//! What a template reads from a client: the entities of one kind as they read at the time of
//! the inquiry (the kind's overdue rule applied), optionally only those with given field
//! values, and the select rule that picks one of them for an inquiry.

use std::borrow::Cow;

use super::client::{Client, Entity};
use super::field_values::FieldValues;
use super::mention::Mention;
use super::overdue::OverdueRule;
use super::rendered::NoAnswer;
use super::select::Pick;
use super::vocabulary::Vocabulary;

/// The entities a template reads and how it picks one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reads {
    pub(crate) kind: String,
    /// Field values an entity must have to be considered at all (`only`).
    pub(crate) only: Option<FieldValues>,
    pub(crate) pick: Pick,
}

/// An inquiry as the answer sees it: its text, when it was received, and the pack's vocabulary
/// to read its text against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Question<'a> {
    pub(crate) text: &'a str,
    pub(crate) at: jiff::Timestamp,
    pub(crate) vocabulary: &'a Vocabulary,
}

impl Reads {
    /// The client's entities of the kind, in file order, as they read at `at`.
    pub(crate) fn records<'a>(
        &self,
        client: &'a Client,
        at: jiff::Timestamp,
        overdue: Option<&OverdueRule>,
    ) -> Vec<Cow<'a, Entity>> {
        client
            .entities_of(&self.kind)
            .map(|entity| match overdue {
                Some(rule) => rule.apply(entity, at),
                None => Cow::Borrowed(entity),
            })
            .collect()
    }

    /// The one entity of `client` that `question` is about, or why there is none: no entity
    /// of the kind at all is `NoData`. The text is read against all the client's entities of
    /// the kind, so a record that `only` leaves out is never taken for another one.
    pub(crate) fn choose<'a>(
        &self,
        client: &'a Client,
        question: &Question<'_>,
        overdue: Option<&OverdueRule>,
    ) -> Result<Cow<'a, Entity>, NoAnswer> {
        let records = self.records(client, question.at, overdue);
        if records.is_empty() {
            return Err(NoAnswer::NoData {
                kind: self.describe(),
            });
        }
        let all: Vec<&Entity> = records.iter().map(AsRef::as_ref).collect();
        let listed = || {
            all.iter()
                .map(|entity| format!("{} ({})", entity.id, entity.name))
                .collect()
        };
        let vocabulary = question.vocabulary.kind(&self.kind);
        let named = match Mention::find(question.text, &all, &vocabulary) {
            Mention::UnknownRecord(asked) => {
                return Err(NoAnswer::NoSuchRecord {
                    kind: self.kind.clone(),
                    asked,
                    candidates: listed(),
                });
            }
            Mention::UnknownName(words) => {
                return Err(NoAnswer::NoSuchName {
                    kind: self.kind.clone(),
                    words,
                    candidates: listed(),
                });
            }
            Mention::Nothing => Vec::new(),
            Mention::One(entity) => vec![entity],
            Mention::Several(entities) => entities,
        };
        let considered =
            |entity: &&Entity| self.only.as_ref().is_none_or(|only| only.hold_for(entity));
        let candidates: Vec<&Entity> = all.iter().copied().filter(considered).collect();
        let named_considered: Vec<&Entity> = named.iter().copied().filter(considered).collect();
        if !named.is_empty() && named_considered.is_empty() {
            let names: Vec<&str> = named.iter().map(|entity| entity.name.as_str()).collect();
            return Err(NoAnswer::NotApplicable {
                name: names.join("; "),
                kind: self.describe(),
            });
        }
        let chosen = self
            .pick
            .choose(
                &self.describe(),
                &candidates,
                &named_considered,
                question.at,
            )?
            .id
            .clone();
        records
            .into_iter()
            .find(|record| record.id == chosen)
            .ok_or_else(|| NoAnswer::NoData {
                kind: self.describe(),
            })
    }

    /// What the candidates are, for people: `invoice`, `transfer with state "declined"`.
    fn describe(&self) -> String {
        match &self.only {
            None => self.kind.clone(),
            Some(only) => format!("{} with {}", self.kind, only.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn transfer(id: &str, name: &str, state: &str) -> Entity {
        Entity::new(
            "transfer".into(),
            id.into(),
            name.into(),
            Vec::new(),
            BTreeMap::from([("state".into(), state.into())]),
        )
    }

    fn client() -> Arc<Client> {
        Arc::new(Client::for_tests(
            "c",
            vec![
                transfer("T-101", "Transfer to Daniel", "pending"),
                Entity::new(
                    "card".into(),
                    "K-1".into(),
                    "Debit card".into(),
                    Vec::new(),
                    BTreeMap::from([("state".into(), "declined".into())]),
                ),
                transfer("T-102", "Transfer to Camille", "declined"),
            ],
        ))
    }

    fn reads(state: &str) -> Reads {
        Reads {
            kind: "transfer".into(),
            only: Some(
                FieldValues::parse("only", BTreeMap::from([("state".into(), state.into())]))
                    .expect("valid"),
            ),
            pick: Pick::Single,
        }
    }

    fn choose(reads: &Reads, text: &str) -> Result<String, NoAnswer> {
        let client = client();
        let vocabulary = Vocabulary::new(std::slice::from_ref(&client));
        let question = Question {
            text,
            at: "2026-11-20T09:00:00Z".parse().expect("instant"),
            vocabulary: &vocabulary,
        };
        reads
            .choose(&client, &question, None)
            .map(|entity| entity.id.clone())
    }

    /// Only entities of the kind with the `only` values are considered; none is NoData for them.
    #[test]
    fn only_narrows_the_candidates() {
        assert_eq!(choose(&reads("declined"), "?"), Ok("T-102".into()));
        assert_eq!(
            choose(&reads("failed"), "?"),
            Err(NoAnswer::NoData {
                kind: "transfer with state \"failed\"".into()
            })
        );
    }

    /// A record `only` leaves out is named as such, never taken for the one `only` keeps.
    #[test]
    fn a_named_record_left_out_is_not_replaced() {
        assert_eq!(
            choose(
                &reads("declined"),
                "why was my transfer to Daniel declined?"
            ),
            Err(NoAnswer::NotApplicable {
                name: "Transfer to Daniel".into(),
                kind: "transfer with state \"declined\"".into()
            })
        );
        assert_eq!(choose(&reads("declined"), "T-102?"), Ok("T-102".into()));
        assert!(matches!(
            choose(&reads("declined"), "and T-103?"),
            Err(NoAnswer::NoSuchRecord { asked, candidates, .. })
                if asked == "T-103" && candidates.len() == 2
        ));
    }
}
