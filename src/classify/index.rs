//! The keyword index: a tantivy index with one document per intent, holding the normalized
//! tokens of all its labelled examples, and BM25 evidence per intent for a query.
//!
//! One document per intent (rather than per example) keeps the index at a few dozen documents.
//! The index is static once built and a BM25 score is a sum over the query's terms, so each
//! indexed term's score in every intent's document is read from tantivy once, at build, as that
//! term's *impacts*; a query then sums the impacts of its terms, which gives tantivy's scores
//! for a fraction of what setting up a tantivy query per request costs. The query keeps only its
//! rarest known terms, which bounds that cost on long texts. Terms reach tantivy as term
//! queries built in code from normalized tokens: user text never reaches a query parser.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{
    DocId, Index, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument, Term,
};

use super::ClassifyError;
use super::normalize::NormalizedText;

const TOKENIZER: &str = "triage_tokens";
/// Longer tokens (hostile input, base64 blobs) are neither indexed nor queried.
const MAX_TOKEN_BYTES: usize = 64;

/// BM25 evidence per intent over the labelled examples.
pub struct KeywordIndex {
    /// Every indexed token with what it adds to each intent's score.
    impacts: HashMap<String, TermImpacts>,
    intent_count: usize,
    max_query_terms: usize,
}

/// One indexed token: how rare it is among the intents, and its BM25 score in the document of
/// each intent that holds it.
struct TermImpacts {
    idf: f32,
    scores: Box<[(u32, f32)]>,
}

impl KeywordIndex {
    /// Indexes the examples: `examples` yields each example's intent and normalized text.
    pub fn build<'a>(
        intent_count: usize,
        examples: impl IntoIterator<Item = (usize, &'a NormalizedText)>,
        max_query_terms: usize,
    ) -> Result<Self, ClassifyError> {
        let documents = IntentDocuments::index(intent_count, examples)?;
        let n = intent_count as f32;
        let mut impacts = HashMap::with_capacity(documents.document_frequency.len());
        for (token, &df) in &documents.document_frequency {
            let df = df as f32;
            let term = TermImpacts {
                idf: (1.0 + (n - df + 0.5) / (df + 0.5)).ln(),
                scores: (0u32..)
                    .zip(documents.scores(&[token.as_str()])?)
                    .filter(|(_, score)| *score != 0.0)
                    .collect(),
            };
            impacts.insert(token.clone(), term);
        }
        Ok(Self {
            impacts,
            intent_count,
            max_query_terms,
        })
    }

    /// The number of intents (documents) scored.
    pub fn intent_count(&self) -> usize {
        self.intent_count
    }

    /// The query's terms: its distinct indexed tokens, the rarest first, at most
    /// `max_query_terms` of them.
    fn query_terms<'t>(&'t self, text: &'t NormalizedText) -> Vec<(&'t str, &'t TermImpacts)> {
        let mut terms: Vec<(&str, &TermImpacts)> = text
            .tokens()
            .filter_map(|token| self.impacts.get(token).map(|impacts| (token, impacts)))
            .collect();
        terms.sort_unstable_by(|a, b| b.1.idf.total_cmp(&a.1.idf).then_with(|| a.0.cmp(b.0)));
        terms.dedup_by(|a, b| a.0 == b.0);
        terms.truncate(self.max_query_terms);
        terms
    }

    /// The BM25 score of every intent's document for `text` (zero where nothing matched).
    pub fn scores(&self, text: &NormalizedText) -> Vec<f32> {
        let mut scores = vec![0.0; self.intent_count];
        for (_, term) in self.query_terms(text) {
            for &(intent, score) in &term.scores {
                scores[intent as usize] += score;
            }
        }
        scores
    }
}

/// The tantivy index of the intents' documents, searched while the impacts are built.
struct IntentDocuments {
    searcher: Searcher,
    terms: Field,
    collector: IntentScores,
    /// For each indexed token, how many intents' documents hold it.
    document_frequency: HashMap<String, u32>,
}

impl IntentDocuments {
    fn index<'a>(
        intent_count: usize,
        examples: impl IntoIterator<Item = (usize, &'a NormalizedText)>,
    ) -> Result<Self, ClassifyError> {
        let mut intent_text = vec![String::new(); intent_count];
        for (intent, text) in examples {
            let document = &mut intent_text[intent];
            for token in text.tokens().filter(|t| t.len() <= MAX_TOKEN_BYTES) {
                document.push_str(token);
                document.push(' ');
            }
        }
        let mut schema = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs);
        let terms = schema.add_text_field(
            "terms",
            TextOptions::default().set_indexing_options(indexing),
        );
        let intent_field = schema.add_u64_field("intent", INDEXED | FAST);
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::from(WhitespaceTokenizer::default()),
        );
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        let mut document_frequency: HashMap<String, u32> = HashMap::new();
        for (intent, text) in intent_text.iter().enumerate() {
            let mut document = TantivyDocument::default();
            document.add_text(terms, text);
            document.add_u64(intent_field, intent as u64);
            writer.add_document(document)?;
            let mut seen: Vec<&str> = text.split_whitespace().collect();
            seen.sort_unstable();
            seen.dedup();
            for token in seen {
                *document_frequency.entry(token.to_owned()).or_default() += 1;
            }
        }
        writer.commit()?;
        let searcher = index.reader()?.searcher();
        let mut intent_of_doc = Vec::new();
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64("intent")?;
            let intents: Arc<[u32]> = (0..segment.max_doc())
                .map(|doc| column.first(doc).unwrap_or(0) as u32)
                .collect();
            intent_of_doc.push(intents);
        }
        Ok(Self {
            searcher,
            terms,
            collector: IntentScores {
                intent_of_doc: Arc::new(intent_of_doc),
                intent_count,
            },
            document_frequency,
        })
    }

    /// tantivy's BM25 score of every intent's document for the query of `tokens`, each a term
    /// query built in code.
    fn scores(&self, tokens: &[&str]) -> Result<Vec<f32>, ClassifyError> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = tokens
            .iter()
            .map(|token| {
                let term = Term::from_field_text(self.terms, token);
                let query: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        Ok(self
            .searcher
            .search(&BooleanQuery::new(clauses), &self.collector)?)
    }
}

/// Collects the score of every matching document into a per-intent vector.
struct IntentScores {
    intent_of_doc: Arc<Vec<Arc<[u32]>>>,
    intent_count: usize,
}

struct SegmentIntentScores {
    intent_of_doc: Arc<[u32]>,
    scores: Vec<f32>,
}

impl Collector for IntentScores {
    type Fruit = Vec<f32>;
    type Child = SegmentIntentScores;

    fn for_segment(
        &self,
        segment_ord: SegmentOrdinal,
        _segment: &SegmentReader,
    ) -> tantivy::Result<SegmentIntentScores> {
        Ok(SegmentIntentScores {
            intent_of_doc: Arc::clone(&self.intent_of_doc[segment_ord as usize]),
            scores: vec![0.0; self.intent_count],
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<f32>>) -> tantivy::Result<Vec<f32>> {
        let mut merged = vec![0.0; self.intent_count];
        for fruit in fruits {
            for (total, score) in merged.iter_mut().zip(fruit) {
                *total += score;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentIntentScores {
    type Fruit = Vec<f32>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let intent = self.intent_of_doc[doc as usize] as usize;
        self.scores[intent] = score;
    }

    fn harvest(self) -> Vec<f32> {
        self.scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: [(usize, &str); 6] = [
        (0, "when will the final report be ready"),
        (0, "report due date"),
        (1, "is invoice 1042 paid"),
        (1, "invoice paid yet"),
        (2, "what should the seo strategy focus on"),
        (2, "我们的SEO策略应该关注什么"),
    ];

    fn normalized(examples: &[(usize, &str)]) -> Vec<(usize, NormalizedText)> {
        examples
            .iter()
            .map(|(intent, text)| (*intent, NormalizedText::new(text)))
            .collect()
    }

    fn index(examples: &[(usize, &str)]) -> KeywordIndex {
        let texts = normalized(examples);
        KeywordIndex::build(3, texts.iter().map(|(i, t)| (*i, t)), 32).unwrap()
    }

    #[test]
    fn scores_the_matching_intent_highest() {
        let index = index(&EXAMPLES);
        let scores = index.scores(&NormalizedText::new("has invoice 77 been paid?"));
        assert_eq!(scores.len(), 3);
        assert!(
            scores[1] > 0.0 && scores[1] > scores[0] && scores[1] > scores[2],
            "{scores:?}"
        );
        let chinese = index.scores(&NormalizedText::new("SEO策略"));
        assert!(
            chinese[2] > chinese[0] && chinese[2] > chinese[1],
            "{chinese:?}"
        );
    }

    /// The summed impacts are the scores tantivy gives the whole query.
    #[test]
    fn impacts_sum_to_tantivys_scores() {
        let texts = normalized(&EXAMPLES);
        let documents = IntentDocuments::index(3, texts.iter().map(|(i, t)| (*i, t))).unwrap();
        let index = index(&EXAMPLES);
        for query in [
            "when will the invoice report be paid",
            "the the report report",
            "SEO策略 focus",
            "nothing indexed here",
        ] {
            let text = NormalizedText::new(query);
            let terms: Vec<&str> = index.query_terms(&text).iter().map(|t| t.0).collect();
            let expected = documents.scores(&terms).unwrap();
            let got = index.scores(&text);
            for (got, expected) in got.iter().zip(&expected) {
                assert!(
                    (got - expected).abs() <= 1e-5 * expected.abs().max(1.0),
                    "{query}: {got} against tantivy's {expected}"
                );
            }
        }
    }

    #[test]
    fn hostile_text_is_never_syntax() {
        let index = index(&EXAMPLES);
        let huge = "invoice ".repeat(12_500) + &"x".repeat(10_000);
        let hostile = [
            "\"invoice",
            "invoice)",
            "(((",
            "[1042 TO *]",
            "terms:invoice",
            "intent:1",
            "-invoice",
            "*",
            "invoice^100",
            "report~2",
            "AND OR NOT",
            "\\",
            "",
            huge.as_str(),
        ];
        for text in hostile {
            let scores = index.scores(&NormalizedText::new(text));
            assert!(
                scores.len() == 3 && scores.iter().all(|s| s.is_finite() && *s >= 0.0),
                "{text:.40}: {scores:?}"
            );
        }
        // Field syntax is just words: `intent:1` matches nothing, it does not select intent 1.
        assert_eq!(index.scores(&NormalizedText::new("intent:1")), vec![0.0; 3]);
        // Negation is not an operator: "-invoice" still finds invoices.
        assert!(index.scores(&NormalizedText::new("-invoice"))[1] > 0.0);
    }

    #[test]
    fn long_queries_keep_their_rarest_terms() {
        let index = index(&[(0, "the report"), (1, "the invoice"), (2, "the seo")]);
        let text = NormalizedText::new("the the the invoice");
        let terms = index.query_terms(&text);
        assert_eq!(terms[0].0, "invoice");
        assert_eq!(terms.len(), 2);
    }
}
