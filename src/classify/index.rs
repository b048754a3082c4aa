//! The keyword index: a tantivy index with one document per intent, holding the normalized
//! tokens of all its labelled examples, and BM25 evidence per intent for a query.
//!
//! One document per intent (rather than per example) keeps the index at a few dozen documents,
//! so scoring every intent costs little more than setting up the query's terms; the query keeps
//! only its rarest known terms, which bounds that cost on long texts. Queries are built in code
//! from normalized tokens as term queries: user text never reaches a query parser.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{
    DocId, Index, IndexReader, Score, SegmentOrdinal, SegmentReader, TantivyDocument, Term,
};

use super::ClassifyError;
use super::normalize::NormalizedText;

const TOKENIZER: &str = "triage_tokens";
/// Longer tokens (hostile input, base64 blobs) are neither indexed nor queried.
const MAX_TOKEN_BYTES: usize = 64;

/// BM25 evidence per intent over the labelled examples.
pub struct KeywordIndex {
    reader: IndexReader,
    terms: Field,
    /// For each segment, the intent of each of its documents.
    intent_of_doc: Arc<Vec<Arc<[u32]>>>,
    intent_count: usize,
    /// The inverse document frequency of each indexed token, to keep a query's rarest terms.
    token_idf: HashMap<String, f32>,
    max_query_terms: usize,
}

impl KeywordIndex {
    /// Indexes the examples: `examples` yields each example's intent and normalized text.
    pub fn build<'a>(
        intent_count: usize,
        examples: impl IntoIterator<Item = (usize, &'a NormalizedText)>,
        max_query_terms: usize,
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
        let mut document_frequency: HashMap<&str, u32> = HashMap::new();
        for (intent, text) in intent_text.iter().enumerate() {
            let mut document = TantivyDocument::default();
            document.add_text(terms, text);
            document.add_u64(intent_field, intent as u64);
            writer.add_document(document)?;
            let mut seen: Vec<&str> = text.split_whitespace().collect();
            seen.sort_unstable();
            seen.dedup();
            for token in seen {
                *document_frequency.entry(token).or_default() += 1;
            }
        }
        writer.commit()?;
        let reader = index.reader()?;
        let searcher = reader.searcher();
        let mut intent_of_doc = Vec::new();
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64("intent")?;
            let intents: Arc<[u32]> = (0..segment.max_doc())
                .map(|doc| column.first(doc).unwrap_or(0) as u32)
                .collect();
            intent_of_doc.push(intents);
        }
        let n = intent_count as f32;
        let token_idf = document_frequency
            .into_iter()
            .map(|(token, df)| {
                let df = df as f32;
                (token.to_owned(), (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
            })
            .collect();
        Ok(Self {
            reader,
            terms,
            intent_of_doc: Arc::new(intent_of_doc),
            intent_count,
            token_idf,
            max_query_terms,
        })
    }

    /// The number of intents (documents) scored.
    pub fn intent_count(&self) -> usize {
        self.intent_count
    }

    /// The query's terms: its distinct indexed tokens, the rarest first, at most
    /// `max_query_terms` of them.
    fn query_terms<'t>(&self, text: &'t NormalizedText) -> Vec<(&'t str, f32)> {
        let mut terms: Vec<(&str, f32)> = text
            .tokens()
            .filter_map(|token| self.token_idf.get(token).map(|&idf| (token, idf)))
            .collect();
        terms.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        terms.dedup_by(|a, b| a.0 == b.0);
        terms.truncate(self.max_query_terms);
        terms
    }

    /// The BM25 score of every intent's document for `text` (zero where nothing matched).
    pub fn scores(&self, text: &NormalizedText) -> Result<Vec<f32>, ClassifyError> {
        let terms = self.query_terms(text);
        if terms.is_empty() {
            return Ok(vec![0.0; self.intent_count]);
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|(token, _)| {
                let term = Term::from_field_text(self.terms, token);
                let query: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        let query = BooleanQuery::new(clauses);
        let collector = IntentScores {
            intent_of_doc: Arc::clone(&self.intent_of_doc),
            intent_count: self.intent_count,
        };
        Ok(self.reader.searcher().search(&query, &collector)?)
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

    fn index(examples: &[(usize, &str)]) -> KeywordIndex {
        let texts: Vec<(usize, NormalizedText)> = examples
            .iter()
            .map(|(intent, text)| (*intent, NormalizedText::new(text)))
            .collect();
        KeywordIndex::build(3, texts.iter().map(|(i, t)| (*i, t)), 32).unwrap()
    }

    fn fixture() -> KeywordIndex {
        index(&[
            (0, "when will the final report be ready"),
            (0, "report due date"),
            (1, "is invoice 1042 paid"),
            (1, "invoice paid yet"),
            (2, "what should the seo strategy focus on"),
            (2, "我们的SEO策略应该关注什么"),
        ])
    }

    #[test]
    fn scores_the_matching_intent_highest() {
        let index = fixture();
        let scores = index
            .scores(&NormalizedText::new("has invoice 77 been paid?"))
            .unwrap();
        assert_eq!(scores.len(), 3);
        assert!(
            scores[1] > 0.0 && scores[1] > scores[0] && scores[1] > scores[2],
            "{scores:?}"
        );
        let chinese = index.scores(&NormalizedText::new("SEO策略")).unwrap();
        assert!(
            chinese[2] > chinese[0] && chinese[2] > chinese[1],
            "{chinese:?}"
        );
    }

    #[test]
    fn hostile_text_is_never_syntax() {
        let index = fixture();
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
            assert!(scores.is_ok(), "{text:.40}: {scores:?}");
        }
        // Field syntax is just words: `intent:1` matches nothing, it does not select intent 1.
        assert_eq!(
            index.scores(&NormalizedText::new("intent:1")).unwrap(),
            vec![0.0; 3]
        );
        // Negation is not an operator: "-invoice" still finds invoices.
        assert!(index.scores(&NormalizedText::new("-invoice")).unwrap()[1] > 0.0);
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
