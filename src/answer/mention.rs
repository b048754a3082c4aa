//! Which of a client's entities an inquiry names, read through the normalizer's tokens.
//!
//! An entity is named decisively by its id or the number in it ("1042", "#1042", "INV-1042",
//! "inv 1042"). Otherwise each candidate scores the distinct words of its name and aliases that
//! the text contains, counting only words that discriminate: a word every candidate has ("report"
//! when all are reports) scores nothing, nor do a few function words. Unspaced scripts (Chinese)
//! are compared as character pairs, so "最终报告" needs "最终", not just "报".

use std::collections::BTreeSet;

use crate::classify::NormalizedText;

use super::client::Entity;

/// Function words that say nothing about which entity is meant.
const STOP_WORDS: [&str; 30] = [
    "a", "an", "and", "are", "at", "be", "by", "do", "for", "from", "has", "have", "how", "i",
    "in", "is", "it", "me", "my", "of", "on", "or", "our", "the", "this", "to", "we", "what",
    "when", "with",
];

/// The shortest id part that counts as a number naming an entity on its own ("1042", not "7").
const MIN_ID_NUMBER_LEN: usize = 3;

/// What the text names among the candidates (in candidate order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mention<'a> {
    /// No candidate is named.
    Nothing,
    /// Exactly one candidate is named best.
    One(&'a Entity),
    /// Several are named equally well.
    Several(Vec<&'a Entity>),
}

impl<'a> Mention<'a> {
    /// Reads which of `candidates` the text names.
    pub(crate) fn find(text: &str, candidates: &[&'a Entity]) -> Self {
        let normalized = NormalizedText::new(text);
        let text_ids = id_forms_of_text(&normalized);
        let decisive: Vec<&Entity> = candidates
            .iter()
            .copied()
            .filter(|entity| {
                entity
                    .terms()
                    .id_forms
                    .iter()
                    .any(|form| text_ids.contains(form))
            })
            .collect();
        if !decisive.is_empty() {
            return Self::from_best(decisive);
        }
        let asked = words(&normalized);
        let vocabularies: Vec<&BTreeSet<String>> = candidates
            .iter()
            .map(|entity| &entity.terms().vocabulary)
            .collect();
        let shared: BTreeSet<&String> = match vocabularies.split_first() {
            Some((first, rest)) => first
                .iter()
                .filter(|word| rest.iter().all(|other| other.contains(*word)))
                .collect(),
            None => BTreeSet::new(),
        };
        let scored: Vec<(&Entity, usize)> = candidates
            .iter()
            .zip(&vocabularies)
            .map(|(entity, vocabulary)| {
                let score = vocabulary
                    .iter()
                    .filter(|word| !shared.contains(word) && asked.contains(*word))
                    .count();
                (*entity, score)
            })
            .collect();
        let best = scored.iter().map(|(_, score)| *score).max().unwrap_or(0);
        if best == 0 {
            return Self::Nothing;
        }
        Self::from_best(
            scored
                .into_iter()
                .filter(|(_, score)| *score == best)
                .map(|(entity, _)| entity)
                .collect(),
        )
    }

    fn from_best(best: Vec<&'a Entity>) -> Self {
        match best.as_slice() {
            [] => Self::Nothing,
            [one] => Self::One(one),
            _ => Self::Several(best),
        }
    }
}

/// What names an entity: its id forms and the words of its name and aliases, read once per
/// entity (see `Entity::terms`) rather than on every inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntityTerms {
    id_forms: Vec<String>,
    vocabulary: BTreeSet<String>,
}

impl EntityTerms {
    pub(crate) fn new(id: &str, name: &str, aliases: &[String]) -> Self {
        Self {
            id_forms: id_forms_of_entity(id),
            vocabulary: std::iter::once(name)
                .chain(aliases.iter().map(String::as_str))
                .flat_map(|name| words(&NormalizedText::new(name)))
                .collect(),
        }
    }
}

/// The comparable words of a text: spaced tokens (a plural "s" dropped, function words left
/// out) and character pairs of unspaced runs (a lone character stands for itself).
fn words(text: &NormalizedText) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    for run in text.runs() {
        if run.unspaced {
            let chars: Vec<char> = run.text.chars().collect();
            if let [single] = chars.as_slice() {
                words.insert(single.to_string());
            }
            words.extend(chars.windows(2).map(|pair| pair.iter().collect::<String>()));
        } else if !STOP_WORDS.contains(&run.text.as_str()) {
            words.insert(singular(&run.text).to_owned());
        }
    }
    words
}

/// `word` without a plural "s" ("reports" → "report"), applied alike to texts and names.
fn singular(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem,
        _ => word,
    }
}

/// The forms under which a text may name an id: each token, and each pair of adjacent tokens
/// run together ("inv 1042" → "inv1042").
fn id_forms_of_text(text: &NormalizedText) -> BTreeSet<String> {
    let tokens: Vec<&str> = text.tokens().collect();
    let mut forms: BTreeSet<String> = tokens.iter().map(|token| (*token).to_owned()).collect();
    forms.extend(tokens.windows(2).map(|pair| pair.concat()));
    forms
}

/// The forms that name an entity decisively: its id with separators dropped ("INV-1042" →
/// "inv1042") and each long enough number-bearing part of it ("1042").
fn id_forms_of_entity(id: &str) -> Vec<String> {
    let normalized = NormalizedText::new(id);
    let tokens: Vec<&str> = normalized.tokens().collect();
    let mut forms = vec![tokens.concat()];
    forms.extend(
        tokens
            .iter()
            .filter(|token| {
                token.len() >= MIN_ID_NUMBER_LEN && token.bytes().any(|byte| byte.is_ascii_digit())
            })
            .map(|token| (*token).to_owned()),
    );
    forms.retain(|form| !form.is_empty());
    forms
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entity(id: &str, name: &str, aliases: &[&str]) -> Entity {
        Entity::new(
            "deliverable".into(),
            id.into(),
            name.into(),
            aliases.iter().map(|alias| (*alias).to_owned()).collect(),
            BTreeMap::new(),
        )
    }

    /// What `text` names among `entities`, as candidate positions.
    fn find(text: &str, entities: &[Entity]) -> Found {
        let candidates: Vec<&Entity> = entities.iter().collect();
        let position = |entity: &Entity| {
            entities
                .iter()
                .position(|candidate| candidate.id == entity.id)
                .unwrap_or(usize::MAX)
        };
        match Mention::find(text, &candidates) {
            Mention::Nothing => Found::Nothing,
            Mention::One(entity) => Found::One(position(entity)),
            Mention::Several(tied) => Found::Several(tied.into_iter().map(position).collect()),
        }
    }

    /// `Mention` by candidate position, to compare against.
    #[derive(Debug, PartialEq, Eq)]
    enum Found {
        Nothing,
        One(usize),
        Several(Vec<usize>),
    }

    fn reports() -> Vec<Entity> {
        vec![
            entity(
                "D-114",
                "Final SEO report",
                &["seo audit report", "最终报告"],
            ),
            entity("D-117", "Monthly analytics report", &["月度分析报告"]),
            entity("D-120", "Homepage wireframes", &[]),
        ]
    }

    /// A word all candidates share does not decide; the distinctive one does.
    #[test]
    fn shared_words_do_not_discriminate() {
        let two = &reports()[..2];
        assert_eq!(
            find("when will the final report be ready?", two),
            Found::One(0)
        );
        assert_eq!(find("is the report done?", two), Found::Nothing);
        assert_eq!(find("monthly reports please", two), Found::One(1));
    }

    /// Ids and their numbers are decisive, whatever the surrounding words say.
    #[test]
    fn ids_and_numbers_decide() {
        let invoices = [
            entity("INV-1042", "October retainer", &[]),
            entity("INV-1043", "November retainer", &[]),
        ];
        for text in [
            "invoice 1042?",
            "#1042",
            "INV-1042",
            "inv 1042",
            "INV1042 for november",
        ] {
            assert_eq!(find(text, &invoices), Found::One(0), "{text}");
        }
        assert_eq!(find("1042 and 1043", &invoices), Found::Several(vec![0, 1]));
        assert_eq!(find("invoice 104", &invoices), Found::Nothing);
    }

    /// Equal best scores are reported as a tie, in candidate order.
    #[test]
    fn ties_are_several() {
        let finals = [
            entity("D-1", "Final SEO report", &[]),
            entity("D-2", "Final brand guidelines", &[]),
            entity("D-3", "Homepage copy", &[]),
        ];
        assert_eq!(
            find("where is the final one", &finals),
            Found::Several(vec![0, 1])
        );
        assert_eq!(find("the final report", &finals), Found::One(0));
    }

    /// Chinese names match through character pairs, and a shared pair does not decide.
    #[test]
    fn chinese_mentions_match_by_character_pairs() {
        let all = reports();
        assert_eq!(find("最终报告什么时候好？", &all), Found::One(0));
        assert_eq!(find("月度分析报告呢", &all), Found::One(1));
        assert_eq!(find("报告呢", &all[..2]), Found::Nothing);
    }

    /// Function words in a name do not make every question a mention.
    #[test]
    fn function_words_are_ignored() {
        let meetings = [
            entity("M-1", "Review of the quarter", &[]),
            entity("M-2", "Kick-off call", &[]),
        ];
        assert_eq!(
            find("what is the status of my thing", &meetings),
            Found::Nothing
        );
    }
}
