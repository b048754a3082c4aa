//! Explanations: why the classifier chose an intent over its runner-up, in words a helpdesk
//! reader can check, and the labelled examples closest to the inquiry.
//!
//! A word's weight is what its n-grams (the word itself, its bigrams, its character n-grams)
//! add to the chosen intent's logit minus the runner-up's. The nearest examples are the chosen
//! intent's training examples sharing the most idf-weighted words with the text.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::features::Origin;
use super::{Classification, Classifier, ClassifyError, Idf, NormalizedText, SparseVector};

/// How many words and examples an explanation shows.
const TERMS: usize = 5;
const NEAREST: usize = 3;

/// Why a text got its classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The words that weighed most, positive for the chosen intent.
    pub terms: Vec<WeightedTerm>,
    /// The runner-up the weights are measured against, if any.
    pub against: Option<String>,
    /// The chosen intent's labelled examples closest to the text.
    pub nearest: Vec<NearestExample>,
}

/// A word of the text and how much it pushed toward the chosen intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedTerm {
    pub term: String,
    pub weight: f32,
}

/// A labelled training example close to the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearestExample {
    pub text: String,
    pub intent: String,
    /// Shared idf-weighted words, as a cosine in [0, 1].
    pub similarity: f32,
}

/// The training examples of each intent, as word buckets for the nearest-example search.
pub(super) struct ExampleMemory {
    by_intent: Vec<Vec<Example>>,
}

/// One remembered example: its text, its distinct word buckets and their idf norm.
#[derive(Clone)]
struct Example {
    text: String,
    words: Vec<u32>,
    norm: f32,
}

impl ExampleMemory {
    /// `examples` yields each example's intent, text and normalized text (already made for
    /// the keyword index, so it is not normalized twice).
    pub(super) fn new<'a>(
        intent_count: usize,
        idf: &Idf,
        examples: impl IntoIterator<Item = (usize, &'a str, &'a NormalizedText)>,
    ) -> Self {
        let mut by_intent = vec![Vec::new(); intent_count];
        for (intent, text, normalized) in examples {
            let words = word_buckets(idf, normalized);
            by_intent[intent].push(Example {
                text: text.to_owned(),
                norm: idf_norm(idf.weights(), &words),
                words,
            });
        }
        Self { by_intent }
    }
}

fn word_buckets(idf: &Idf, text: &NormalizedText) -> Vec<u32> {
    let mut words: Vec<u32> = text.tokens().map(|t| idf.space().word_bucket(t)).collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// The length of a set of words as an idf-weighted vector.
fn idf_norm(idf: &[f32], words: &[u32]) -> f32 {
    words
        .iter()
        .map(|&w| idf[w as usize].powi(2))
        .sum::<f32>()
        .sqrt()
}

impl Classifier {
    /// Explains `classification`, which this classifier gave for `text`.
    pub fn explain(
        &self,
        text: &str,
        classification: &Classification,
    ) -> Result<Explanation, ClassifyError> {
        let normalized = NormalizedText::new(text);
        if normalized.is_empty() {
            return Err(ClassifyError::EmptyText);
        }
        let counts = self.idf.space().counts(&normalized);
        let features = self.idf.weigh(counts.clone());
        Ok(self.explanation(&normalized, &features, &counts, classification))
    }

    /// The explanation of a normalized text, given its weighted features and raw counts.
    pub(super) fn explanation(
        &self,
        text: &NormalizedText,
        features: &SparseVector,
        counts: &SparseVector,
        classification: &Classification,
    ) -> Explanation {
        let chosen = classification.intent_index;
        let against = classification
            .alternatives
            .first()
            .and_then(|a| self.intents.iter().position(|i| i.name == a.intent));
        Explanation {
            terms: self.weighted_terms(text, features, counts, chosen, against),
            against: against.map(|i| self.intents[i].name.clone()),
            nearest: self.nearest_examples(text, chosen),
        }
    }

    fn weighted_terms(
        &self,
        text: &NormalizedText,
        features: &SparseVector,
        counts: &SparseVector,
        chosen: usize,
        against: Option<usize>,
    ) -> Vec<WeightedTerm> {
        let space = self.idf.space();
        let run_of_token: Vec<usize> = text
            .runs()
            .iter()
            .enumerate()
            .flat_map(|(run, r)| {
                let tokens = if r.unspaced {
                    r.text.chars().count()
                } else {
                    1
                };
                std::iter::repeat_n(run, tokens)
            })
            .collect();
        // Each occurrence of a bucket carries an equal share of the bucket's weighted value.
        let mut share = vec![0.0f32; space.dims()];
        for ((&bucket, value), count) in features
            .indices
            .iter()
            .zip(&features.values)
            .zip(&counts.values)
        {
            share[bucket as usize] = value / count;
        }
        let mut weight_of_run = vec![0.0f32; text.runs().len()];
        space.for_each_bucket(text, |bucket, origin| {
            let run = match origin {
                Origin::Token(token) => run_of_token[token],
                Origin::Run(run) => run,
            };
            let feature = bucket as usize;
            let delta = self.model.weight(feature, chosen)
                - against.map_or(0.0, |a| self.model.weight(feature, a));
            weight_of_run[run] += share[feature] * delta;
        });
        let mut by_term: HashMap<&str, f32> = HashMap::new();
        for (run, weight) in text.runs().iter().zip(weight_of_run) {
            *by_term.entry(run.text.as_str()).or_default() += weight;
        }
        let mut terms: Vec<WeightedTerm> = by_term
            .into_iter()
            .map(|(term, weight)| WeightedTerm {
                term: term.to_owned(),
                weight,
            })
            .collect();
        terms.sort_by(|a, b| {
            b.weight
                .abs()
                .total_cmp(&a.weight.abs())
                .then_with(|| a.term.cmp(&b.term))
        });
        terms.truncate(TERMS);
        terms
    }

    fn nearest_examples(&self, text: &NormalizedText, chosen: usize) -> Vec<NearestExample> {
        let idf = self.idf.weights();
        let query = word_buckets(&self.idf, text);
        let query_norm = idf_norm(idf, &query);
        // Each query word's squared idf, by bucket: an example's overlap is then one lookup
        // per word.
        let mut query_weight = vec![0.0f32; self.idf.space().word_buckets as usize];
        for &w in &query {
            query_weight[w as usize] = idf[w as usize].powi(2);
        }
        let mut scored: Vec<(f32, &str)> = self.memory.by_intent[chosen]
            .iter()
            .filter_map(|example| {
                let shared: f32 = example
                    .words
                    .iter()
                    .map(|&w| query_weight[w as usize])
                    .sum();
                let denominator = query_norm * example.norm;
                (shared > 0.0 && denominator > 0.0)
                    .then(|| (shared / denominator, example.text.as_str()))
            })
            .collect();
        let most_similar =
            |a: &(f32, &str), b: &(f32, &str)| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1));
        if scored.len() > NEAREST {
            scored.select_nth_unstable_by(NEAREST, most_similar);
            scored.truncate(NEAREST);
        }
        scored.sort_unstable_by(most_similar);
        scored
            .into_iter()
            .map(|(similarity, example)| NearestExample {
                text: example.to_owned(),
                intent: self.intents[chosen].name.clone(),
                similarity,
            })
            .collect()
    }
}
