//! The pack's vocabulary for each kind of record, read from every client's records at load: the
//! words of their names and aliases, and the shape of their ids. It is what tells a record the
//! client lacks ("the final accessibility report", "INV-1043") from words that name nothing.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::client::Client;
use super::mention::words;
use super::reference::KindShape;

/// Every kind's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Vocabulary {
    kinds: BTreeMap<String, KindVocabulary>,
}

/// The words and id shape of one kind of record across the pack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct KindVocabulary {
    /// The words of the names and aliases of all the kind's records, of all clients.
    pub(crate) words: BTreeSet<String>,
    /// The words of the kind's own name ("invoice"), which name no record in particular.
    pub(crate) generic: BTreeSet<String>,
    /// For each number among the words ("1" of "sunflower oil 1 L"), the other words and
    /// numbers of the records it occurs in: a number names a record only next to one of them.
    pub(crate) numbers: BTreeMap<String, BTreeSet<String>>,
    pub(crate) shape: KindShape,
}

impl Vocabulary {
    /// The vocabulary of all `clients`' records.
    pub(crate) fn new(clients: &[Arc<Client>]) -> Self {
        let mut kinds: BTreeMap<String, KindVocabulary> = BTreeMap::new();
        for entity in clients.iter().flat_map(|client| &client.entities) {
            let vocabulary = kinds
                .entry(entity.kind.clone())
                .or_insert_with(|| KindVocabulary::named(&entity.kind));
            let terms = entity.terms();
            vocabulary.words.extend(terms.words.iter().cloned());
            for number in terms.words.iter().filter(|word| is_number(word)) {
                let companions = terms.words.iter().filter(|word| *word != number);
                vocabulary
                    .numbers
                    .entry(number.clone())
                    .or_default()
                    .extend(companions.cloned());
            }
            vocabulary.shape.prefixes.extend(
                terms
                    .identifiers
                    .prefixes()
                    .filter(|prefix| !prefix.is_empty())
                    .map(str::to_owned),
            );
            vocabulary
                .shape
                .codes
                .extend(terms.identifiers.codes().map(str::to_owned));
            vocabulary.shape.numbered |= terms.identifiers.is_numbered();
        }
        let all_prefixes: BTreeMap<String, BTreeSet<String>> = kinds
            .iter()
            .map(|(kind, vocabulary)| (kind.clone(), vocabulary.shape.prefixes.clone()))
            .collect();
        for (kind, vocabulary) in &mut kinds {
            vocabulary.shape.foreign_prefixes = all_prefixes
                .iter()
                .filter(|(other, _)| *other != kind)
                .flat_map(|(_, prefixes)| prefixes)
                .filter(|prefix| !vocabulary.shape.prefixes.contains(*prefix))
                .cloned()
                .collect();
        }
        Self { kinds }
    }

    /// The vocabulary of `kind`; a kind no record of the pack has gets only its own name.
    pub(crate) fn kind(&self, kind: &str) -> Cow<'_, KindVocabulary> {
        match self.kinds.get(kind) {
            Some(vocabulary) => Cow::Borrowed(vocabulary),
            None => Cow::Owned(KindVocabulary::named(kind)),
        }
    }
}

impl KindVocabulary {
    /// An empty vocabulary for `kind`, knowing only the words of its name.
    fn named(kind: &str) -> Self {
        let name = kind.replace('_', " ");
        let generic: BTreeSet<String> = words(&name).into_iter().collect();
        Self {
            words: BTreeSet::new(),
            numbers: BTreeMap::new(),
            shape: KindShape {
                words: name.split_whitespace().map(str::to_lowercase).collect(),
                ..KindShape::default()
            },
            generic,
        }
    }
}

/// Whether `word` is all digits.
pub(crate) fn is_number(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::client::Entity;

    fn client(id: &str, entities: &[(&str, &str, &str)]) -> Arc<Client> {
        let entities = entities
            .iter()
            .map(|(kind, id, name)| {
                Entity::new(
                    (*kind).into(),
                    (*id).into(),
                    (*name).into(),
                    Vec::new(),
                    BTreeMap::new(),
                )
            })
            .collect();
        Arc::new(Client::for_tests(id, entities))
    }

    /// Words and prefixes gather across clients; other kinds' prefixes are foreign.
    #[test]
    fn gathers_words_and_id_shapes_across_clients() {
        let vocabulary = Vocabulary::new(&[
            client(
                "a",
                &[
                    ("invoice", "INV-1042", "October retainer"),
                    ("deliverable", "D-114", "Final SEO report"),
                ],
            ),
            client(
                "b",
                &[
                    ("deliverable", "D-226", "Final accessibility report"),
                    ("campaign", "C-B-2026-10", "October search"),
                ],
            ),
        ]);
        let deliverable = vocabulary.kind("deliverable");
        for word in ["final", "seo", "accessibility", "report"] {
            assert!(deliverable.words.contains(word), "{word}");
        }
        assert!(!deliverable.words.contains("retainer"));
        assert_eq!(
            deliverable.generic,
            BTreeSet::from(["deliverable".to_owned()])
        );
        assert!(deliverable.shape.numbered);
        assert!(deliverable.shape.prefixes.contains("d"));
        assert!(deliverable.shape.foreign_prefixes.contains("inv"));
        assert!(deliverable.shape.codes.contains("d226"));
        let campaign = vocabulary.kind("campaign");
        assert_eq!(
            campaign.numbers.get("2026"),
            None,
            "numbers of ids are not words of names"
        );
        assert!(
            !vocabulary.kind("campaign").shape.numbered,
            "a year and a month number nothing"
        );
        let unknown = vocabulary.kind("card_payment");
        assert!(unknown.words.is_empty());
        assert_eq!(
            unknown.generic,
            BTreeSet::from(["card".to_owned(), "payment".to_owned()])
        );
        assert!(unknown.shape.words.contains("payment"));
    }
}
