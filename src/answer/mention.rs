//! Which of a client's records of one kind an inquiry names: one, several, none in particular,
//! or one the client does not have. The rule, in order:
//!
//! 1. **Numbers and ids** (see [`super::reference`]): a number or id of one of the client's
//!    records names it. A number or id shaped like a record reference that is none of the
//!    client's records ("INV-1043" when acme has 1038, 1042 and 1045; another client's id; an
//!    off-by-one number) names a record the client does not have: the inquiry is about that
//!    record, so it is answered "no such record" (or by a person), never with another one, even
//!    when it also names one of the client's. Years, amounts, dates, times and quantities are
//!    not record numbers.
//! 2. **Names**, when the text has no number or id: its *naming words* are its words that occur
//!    in the names and aliases of the kind's records anywhere in the pack (the kind's
//!    vocabulary), except the words of the kind's own name ("invoice"), function words and the
//!    words of time ("next", "last", "new") that the select rules read. A record fits when its
//!    name and aliases hold *every* naming word; one fitting record is named, several are named
//!    together (the select rule then picks among them, or a person does), and none means the
//!    text names a record the client does not have ("the final accessibility report" when
//!    acme's only final report is the SEO one). A word the pack's names never use names
//!    nothing, so "is the invoice from last week paid?" names no invoice; a number names only
//!    next to another word or number of a name it occurs in ("sunflower oil 1 L" is not "5 L",
//!    "the 2+1" is "Sunny Day 2+1", but the "1" of "€1,200 for oil" names nothing).
//!
//! Words are the normalizer's tokens with a plural "s" dropped; unspaced scripts (Chinese) are
//! compared as character pairs, so "最终报告" needs "最终" and "报告", not just "报".

use std::collections::BTreeSet;
use std::sync::LazyLock;

use crate::classify::NormalizedText;

use super::client::Entity;
use super::reference::{Identifiers, referenced};
use super::vocabulary::{KindVocabulary, is_number};

/// Function words of the packs' languages, and words of time that select rather than name;
/// compared after normalizing (`STOPS`), so they are written as people write them.
const STOP_WORDS: &[&str] = &[
    // English
    "a",
    "about",
    "all",
    "an",
    "and",
    "any",
    "are",
    "at",
    "be",
    "by",
    "can",
    "current",
    "did",
    "do",
    "does",
    "for",
    "from",
    "has",
    "have",
    "how",
    "i",
    "in",
    "is",
    "it",
    "last",
    "latest",
    "me",
    "my",
    "new",
    "news",
    "next",
    "of",
    "old",
    "on",
    "or",
    "our",
    "previous",
    "recent",
    "the",
    "this",
    "to",
    "upcoming",
    "us",
    "was",
    "we",
    "what",
    "when",
    "where",
    "which",
    "will",
    "with",
    "you",
    "your",
    // German
    "am",
    "an",
    "auf",
    "das",
    "dem",
    "den",
    "der",
    "des",
    "die",
    "ein",
    "eine",
    "einen",
    "für",
    "im",
    "ist",
    "mit",
    "nächste",
    "unser",
    "unsere",
    "von",
    "wann",
    "was",
    "wie",
    "wo",
    "zu",
    "zum",
    "zur",
    // Russian
    "в",
    "во",
    "где",
    "для",
    "и",
    "из",
    "как",
    "когда",
    "к",
    "ли",
    "мой",
    "моя",
    "мы",
    "на",
    "наш",
    "наша",
    "не",
    "о",
    "от",
    "по",
    "с",
    "следующий",
    "у",
    "что",
    "это",
    // Belarusian
    "дзе",
    "з",
    "і",
    "калі",
    "мой",
    "на",
    "наш",
    "не",
    "па",
    "пра",
    "ці",
    "у",
    "ў",
    "што",
    "гэта",
    "наступны",
    "ад",
    "да",
    // Chinese, as single characters of an unspaced run
    "的",
    "了",
    "吗",
    "呢",
    "我",
    "们",
    "是",
    "在",
    "有",
    "和",
];

/// The stop words as the normalizer writes them (accents and case folded).
static STOPS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    STOP_WORDS
        .iter()
        .flat_map(|word| NormalizedText::new(word).runs().to_vec())
        .map(|run| run.text)
        .collect()
});

/// What the text names among the candidates (in candidate order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mention<'a> {
    /// No candidate is named, and no other record either.
    Nothing,
    /// Exactly one candidate is named.
    One(&'a Entity),
    /// Several are named together.
    Several(Vec<&'a Entity>),
    /// A record the client does not have is named, by a number or id as written.
    UnknownRecord(String),
    /// A record the client does not have is named, by these words of the kind's names.
    UnknownName(String),
}

impl<'a> Mention<'a> {
    /// Reads which of `candidates`, all of one client's records of a kind, the text names;
    /// `vocabulary` is the kind's across the pack.
    pub(crate) fn find(text: &str, candidates: &[&'a Entity], vocabulary: &KindVocabulary) -> Self {
        let identifiers: Vec<&Identifiers> = candidates
            .iter()
            .map(|entity| &entity.terms().identifiers)
            .collect();
        let references = referenced(text, &identifiers, &vocabulary.shape);
        if let Some(unknown) = references.unknown.into_iter().next() {
            return Self::UnknownRecord(unknown);
        }
        if !references.named.is_empty() {
            return Self::from_fitting(
                references
                    .named
                    .iter()
                    .map(|&position| candidates[position])
                    .collect(),
            );
        }
        let mut naming: Vec<String> = words(text)
            .into_iter()
            .filter(|word| {
                vocabulary.words.contains(word)
                    && !vocabulary.generic.contains(word)
                    && !is_number(word)
            })
            .collect();
        let beside_a_word = numbers_beside_their_words(text, vocabulary);
        naming.extend(beside_a_word);
        if naming.is_empty() {
            return Self::Nothing;
        }
        let fitting: Vec<&Entity> = candidates
            .iter()
            .copied()
            .filter(|entity| {
                naming
                    .iter()
                    .all(|word| entity.terms().words.contains(word))
            })
            .collect();
        if fitting.is_empty() {
            return Self::UnknownName(naming.join(" "));
        }
        Self::from_fitting(fitting)
    }

    fn from_fitting(fitting: Vec<&'a Entity>) -> Self {
        match fitting.as_slice() {
            [] => Self::Nothing,
            [one] => Self::One(one),
            _ => Self::Several(fitting),
        }
    }
}

/// The numbers of `text` that stand next to a word (or number) of a name they occur in: "oil 1
/// L", "the 2+1"; not the "1" of "€1,200 for oil" or the "5" of "oil on 5 May".
fn numbers_beside_their_words(text: &str, vocabulary: &KindVocabulary) -> Vec<String> {
    let normalized = NormalizedText::new(text);
    let tokens: Vec<&str> = normalized
        .runs()
        .iter()
        .map(|run| singular(&run.text))
        .collect();
    let mut found: Vec<String> = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        let Some(companions) = vocabulary.numbers.get(*token) else {
            continue;
        };
        let beside = [at.checked_sub(1), Some(at + 1)]
            .into_iter()
            .flatten()
            .filter_map(|next| tokens.get(next))
            .any(|next| companions.contains(*next));
        if beside && !found.iter().any(|number| number == token) {
            found.push((*token).to_owned());
        }
    }
    found
}

/// What names a record: its identifiers and the words of its name and aliases, read once per
/// entity (see `Entity::terms`) rather than on every inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntityTerms {
    pub(crate) identifiers: Identifiers,
    pub(crate) words: BTreeSet<String>,
}

impl EntityTerms {
    pub(crate) fn new(entity: &Entity) -> Self {
        let names = || {
            std::iter::once(entity.name.as_str()).chain(entity.aliases.iter().map(String::as_str))
        };
        Self {
            identifiers: Identifiers::new(&entity.id, entity.fields.values(), names()),
            words: names().flat_map(words).collect(),
        }
    }
}

/// The comparable words of a text, in order and each once: spaced tokens (a plural "s"
/// dropped, function words left out) and character pairs of unspaced runs (a lone character
/// stands for itself).
pub(crate) fn words(text: &str) -> Vec<String> {
    let normalized = NormalizedText::new(text);
    let mut seen = BTreeSet::new();
    let mut words = Vec::new();
    let mut keep = |word: String| {
        if !STOPS.contains(&word) && seen.insert(word.clone()) {
            words.push(word);
        }
    };
    for run in normalized.runs() {
        if run.unspaced {
            let chars: Vec<char> = run.text.chars().collect();
            if let [single] = chars.as_slice() {
                keep(single.to_string());
            }
            for pair in chars.windows(2) {
                keep(pair.iter().collect());
            }
        } else if !STOPS.contains(&run.text) {
            keep(singular(&run.text).to_owned());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::client::Client;
    use crate::answer::vocabulary::Vocabulary;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn entity(kind: &str, id: &str, name: &str, aliases: &[&str]) -> Entity {
        Entity::new(
            kind.into(),
            id.into(),
            name.into(),
            aliases.iter().map(|alias| (*alias).to_owned()).collect(),
            BTreeMap::new(),
        )
    }

    fn client(id: &str, entities: Vec<Entity>) -> Arc<Client> {
        Arc::new(Client::for_tests(id, entities))
    }

    /// Two clients' deliverables, as the pack's vocabulary sees them.
    fn pack() -> Vec<Arc<Client>> {
        vec![
            client(
                "acme",
                vec![
                    entity(
                        "deliverable",
                        "D-114",
                        "Final SEO report",
                        &["seo audit report", "最终报告"],
                    ),
                    entity(
                        "deliverable",
                        "D-117",
                        "Monthly analytics report",
                        &["月度分析报告"],
                    ),
                    entity("deliverable", "D-120", "Homepage wireframes", &[]),
                ],
            ),
            client(
                "brightwave",
                vec![
                    entity("deliverable", "D-220", "Final SEO report", &[]),
                    entity("deliverable", "D-226", "Final accessibility report", &[]),
                ],
            ),
        ]
    }

    /// What `text` names among `client`'s deliverables: ids, or the unknown reference.
    fn find(clients: &[Arc<Client>], client: usize, text: &str) -> String {
        let vocabulary = Vocabulary::new(clients);
        let candidates: Vec<&Entity> = clients[client].entities.iter().collect();
        match Mention::find(text, &candidates, &vocabulary.kind("deliverable")) {
            Mention::Nothing => "nothing".into(),
            Mention::One(entity) => entity.id.clone(),
            Mention::Several(tied) => tied
                .iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
            Mention::UnknownRecord(asked) => format!("no record {asked}"),
            Mention::UnknownName(words) => format!("no name {words}"),
        }
    }

    /// Every naming word must fit: "final accessibility report" is not acme's final SEO report.
    #[test]
    fn every_naming_word_must_fit() {
        let pack = pack();
        assert_eq!(
            find(&pack, 0, "when will the final report be ready?"),
            "D-114"
        );
        assert_eq!(find(&pack, 0, "the final SEO audit?"), "D-114");
        assert_eq!(
            find(&pack, 0, "the final accessibility report"),
            "no name final accessibility report"
        );
        assert_eq!(find(&pack, 0, "is the report done?"), "D-114,D-117");
        assert_eq!(find(&pack, 0, "monthly reports please"), "D-117");
        assert_eq!(
            find(&pack, 1, "when will the final report be ready?"),
            "D-220,D-226"
        );
        assert_eq!(find(&pack, 1, "the final SEO report?"), "D-220");
        assert_eq!(
            find(&pack, 1, "the homepage wireframes?"),
            "no name homepage wireframe"
        );
    }

    /// Words the pack's names never use, function words and the kind's name name nothing.
    #[test]
    fn unknown_words_name_nothing() {
        let pack = pack();
        for text in [
            "what is the status of my thing",
            "is the deliverable from last week done?",
            "when is the next one due?",
            "any news on the new one?",
            "wann ist der nächste fällig?",
        ] {
            assert_eq!(find(&pack, 0, text), "nothing", "{text}");
        }
    }

    /// Ids decide over words; an id the client lacks names no other record.
    #[test]
    fn ids_decide_and_unknown_ids_name_nothing_else() {
        let pack = pack();
        assert_eq!(find(&pack, 0, "D-117, the final report"), "D-117");
        assert_eq!(find(&pack, 0, "the final report, D-226"), "no record D-226");
        assert_eq!(find(&pack, 0, "D-114 and D-115"), "no record D-115");
        assert_eq!(find(&pack, 0, "deliverable 117"), "D-117");
    }

    /// Chinese names match through character pairs, and a shared pair does not decide.
    #[test]
    fn chinese_names_match_by_character_pairs() {
        let pack = pack();
        assert_eq!(find(&pack, 0, "最终报告什么时候好？"), "D-114");
        assert_eq!(find(&pack, 0, "请问最终的报告呢"), "D-114");
        assert_eq!(find(&pack, 0, "月度分析报告呢"), "D-117");
        assert_eq!(find(&pack, 0, "报告什么时候好？"), "D-114,D-117");
    }

    /// A single record is named by its words, and by no word it lacks.
    #[test]
    fn a_single_record_and_its_own_words() {
        let pack = vec![
            client(
                "northwind",
                vec![entity("deliverable", "D-301", "Spring landing page", &[])],
            ),
            client(
                "acme",
                vec![entity("deliverable", "D-114", "Final SEO report", &[])],
            ),
        ];
        assert_eq!(find(&pack, 0, "is the landing page ready?"), "D-301");
        assert_eq!(find(&pack, 0, "is it ready?"), "nothing");
        assert_eq!(find(&pack, 0, "when is my report ready?"), "no name report");
    }

    /// A number names only beside a word of a name it is in: sizes tell products apart,
    /// amounts and dates name nothing.
    #[test]
    fn numbers_name_beside_their_words() {
        let product = |id: &str, name: &str| entity("product", id, name, &[]);
        let pack = vec![
            client(
                "a",
                vec![
                    product("SKU-1", "Sunflower oil 1 L"),
                    product("SKU-2", "Oats 500 g"),
                ],
            ),
            client(
                "b",
                vec![
                    product("SKU-5", "Sunflower oil 5 L"),
                    product("SKU-6", "Crackers phase 1"),
                ],
            ),
        ];
        let find_product = |client: usize, text: &str| {
            let vocabulary = Vocabulary::new(&pack);
            let candidates: Vec<&Entity> = pack[client].entities.iter().collect();
            match Mention::find(text, &candidates, &vocabulary.kind("product")) {
                Mention::One(entity) => entity.id.clone(),
                Mention::UnknownName(words) => format!("no name {words}"),
                other => format!("{other:?}"),
            }
        };
        assert_eq!(
            find_product(1, "any sunflower oil 1 L left?"),
            "no name sunflower oil l 1"
        );
        assert_eq!(find_product(1, "any sunflower oil 5 L left?"), "SKU-5");
        assert_eq!(find_product(0, "we paid €1,200 for oil on 5 May"), "SKU-1");
    }

    /// Words: plurals folded, function words of the packs' languages dropped, pairs for Chinese.
    #[test]
    fn words_of_a_text() {
        assert_eq!(words("The Reports for our clients"), ["report", "client"]);
        assert_eq!(words("гель для стирки"), ["гель", "стирки"]);
        assert_eq!(words("最终报告"), ["最终", "终报", "报告"]);
        assert_eq!(words("月"), ["月"]);
    }
}
