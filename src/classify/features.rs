//! Lexical features: hashed word 1-2 grams and character 2-5 grams with sublinear tf·idf.
//!
//! Each n-gram is hashed (FNV-1a, a fixed seed per family) into a bucket of its block: the word
//! block holds word unigrams and bigrams, the character block holds character n-grams taken
//! inside each run padded with a space at both ends (so they see word starts and ends). Each
//! block is weighted by `(1 + ln tf) · idf` and L2-normalized on its own, as a union of two
//! tf·idf vectorizers would be. Hashing keeps the feature space fixed and small, which is what
//! keeps the dense logistic fit fast.

use serde::{Deserialize, Serialize};

use super::normalize::NormalizedText;

/// A sparse vector: sorted, distinct indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

/// The shape of the lexical feature space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSpace {
    /// Buckets for word unigrams and bigrams.
    pub word_buckets: u32,
    /// Buckets for character n-grams.
    pub char_buckets: u32,
    /// Shortest character n-gram.
    pub char_min: u8,
    /// Longest character n-gram.
    pub char_max: u8,
}

impl Default for FeatureSpace {
    fn default() -> Self {
        Self {
            word_buckets: 1024,
            char_buckets: 3072,
            char_min: 2,
            char_max: 5,
        }
    }
}

const WORD_SEED: u64 = 0x6a09_e667_f3bc_c908;
const BIGRAM_SEPARATOR: u8 = 0x1f;
const CHAR_SEED: u64 = 0xbb67_ae85_84ca_a73b;

impl FeatureSpace {
    /// Total number of lexical dimensions.
    pub fn dims(&self) -> usize {
        (self.word_buckets + self.char_buckets) as usize
    }

    /// The word-block bucket of a word unigram.
    pub fn word_bucket(&self, word: &str) -> u32 {
        bucket(fnv1a(WORD_SEED, word.as_bytes()), self.word_buckets)
    }

    /// Calls `visit` with the bucket of every n-gram of `text`, repeats included, and the index
    /// of the token (word unigrams, bigrams' second word) or run (character n-grams) it comes
    /// from. The explanation uses the origin to credit words; counting ignores it.
    pub fn for_each_bucket(&self, text: &NormalizedText, mut visit: impl FnMut(u32, Origin)) {
        let mut previous: Option<&str> = None;
        for (token_index, token) in text.tokens().enumerate() {
            let origin = Origin::Token(token_index);
            visit(self.word_bucket(token), origin);
            if let Some(previous) = previous {
                let first = fnv1a(WORD_SEED, previous.as_bytes());
                let pair = fnv1a(fnv1a(first, &[BIGRAM_SEPARATOR]), token.as_bytes());
                visit(bucket(pair, self.word_buckets), origin);
            }
            previous = Some(token);
        }
        let mut padded = String::new();
        let mut boundaries = Vec::new();
        for (run_index, run) in text.runs().iter().enumerate() {
            padded.clear();
            padded.push(' ');
            padded.push_str(&run.text);
            padded.push(' ');
            boundaries.clear();
            boundaries.extend(padded.char_indices().map(|(i, _)| i));
            boundaries.push(padded.len());
            let chars = boundaries.len() - 1;
            for n in usize::from(self.char_min)..=usize::from(self.char_max) {
                for start in 0..chars.saturating_sub(n - 1) {
                    let gram = &padded.as_bytes()[boundaries[start]..boundaries[start + n]];
                    let hash = fnv1a(CHAR_SEED ^ n as u64, gram);
                    visit(
                        self.word_buckets + bucket(hash, self.char_buckets),
                        Origin::Run(run_index),
                    );
                }
            }
        }
    }

    /// Raw n-gram counts of `text`.
    pub fn counts(&self, text: &NormalizedText) -> SparseVector {
        let mut buckets = Vec::with_capacity(256);
        self.for_each_bucket(text, |bucket, _| buckets.push(bucket));
        buckets.sort_unstable();
        let mut counts = SparseVector::default();
        for bucket in buckets {
            if counts.indices.last() == Some(&bucket) {
                *counts.values.last_mut().expect("parallel to indices") += 1.0;
            } else {
                counts.indices.push(bucket);
                counts.values.push(1.0);
            }
        }
        counts
    }
}

/// Where an n-gram came from in the normalized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Token(usize),
    Run(usize),
}

/// Inverse document frequencies of the buckets, learned from the training texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Idf {
    space: FeatureSpace,
    weights: Vec<f32>,
}

impl Idf {
    /// Smoothed idf, `ln((1 + n) / (1 + df)) + 1`, from the counts of the training texts.
    pub fn fit(space: FeatureSpace, counts: &[SparseVector]) -> Self {
        let mut document_frequency = vec![0u32; space.dims()];
        for vector in counts {
            for &index in &vector.indices {
                document_frequency[index as usize] += 1;
            }
        }
        let n = counts.len() as f32;
        let weights = document_frequency
            .iter()
            .map(|&df| ((1.0 + n) / (1.0 + df as f32)).ln() + 1.0)
            .collect();
        Self { space, weights }
    }

    /// Rebuilds the idf from saved weights.
    pub fn from_weights(space: FeatureSpace, weights: Vec<f32>) -> Option<Self> {
        (weights.len() == space.dims()).then_some(Self { space, weights })
    }

    /// The saved weights, one per bucket.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The feature space the idf belongs to.
    pub fn space(&self) -> FeatureSpace {
        self.space
    }

    /// Turns raw counts into the sublinear tf·idf vector, each block L2-normalized.
    pub fn weigh(&self, mut counts: SparseVector) -> SparseVector {
        for (index, value) in counts.indices.iter().zip(counts.values.iter_mut()) {
            *value = (1.0 + value.ln()) * self.weights[*index as usize];
        }
        let split = counts
            .indices
            .partition_point(|&index| index < self.space.word_buckets);
        let (words, chars) = counts.values.split_at_mut(split);
        for block in [words, chars] {
            let norm = block.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                block.iter_mut().for_each(|v| *v /= norm);
            }
        }
        counts
    }

    /// The weighted feature vector of `text`.
    pub fn features(&self, text: &NormalizedText) -> SparseVector {
        self.weigh(self.space.counts(text))
    }
}

fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(seed ^ 0xcbf2_9ce4_8422_2325, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        })
}

fn bucket(hash: u64, buckets: u32) -> u32 {
    // Fold the high bits in: FNV's low bits alone are weakly mixed.
    ((hash ^ (hash >> 29)) % u64::from(buckets)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> NormalizedText {
        NormalizedText::new(s)
    }

    #[test]
    fn counts_word_and_character_grams() {
        let space = FeatureSpace::default();
        let counts = space.counts(&text("ab ab"));
        // "ab" twice and the bigram "ab ab": word block; " ab " char 2-4 grams twice each.
        let word: f32 = counts
            .indices
            .iter()
            .zip(&counts.values)
            .filter(|(i, _)| **i < space.word_buckets)
            .map(|(_, v)| v)
            .sum();
        assert_eq!(word, 3.0);
        let chars: f32 = counts.values.iter().sum::<f32>() - word;
        // padded " ab " has 4 chars: 3 bigrams + 2 trigrams + 1 four-gram, per run.
        assert_eq!(chars, 12.0);
        assert!(counts.indices.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn weighted_blocks_are_unit_length() {
        let space = FeatureSpace::default();
        let texts = [
            "when is the report ready",
            "is invoice 1042 paid",
            "报告什么时候好",
        ];
        let counts: Vec<_> = texts.iter().map(|t| space.counts(&text(t))).collect();
        let idf = Idf::fit(space, &counts);
        let vector = idf.features(&text("when is the SEO report ready?"));
        let norm = |keep: &dyn Fn(u32) -> bool| {
            vector
                .indices
                .iter()
                .zip(&vector.values)
                .filter(|(i, _)| keep(**i))
                .map(|(_, v)| v * v)
                .sum::<f32>()
        };
        assert!((norm(&|i| i < space.word_buckets) - 1.0).abs() < 1e-5);
        assert!((norm(&|i| i >= space.word_buckets) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn empty_text_has_no_features() {
        let space = FeatureSpace::default();
        let idf = Idf::fit(space, &[space.counts(&text("report"))]);
        assert_eq!(idf.features(&text("  ?? ")), SparseVector::default());
    }

    #[test]
    fn hashing_is_stable_across_runs() {
        // A fixed hash: saved models stay valid across builds and platforms.
        assert_eq!(FeatureSpace::default().word_bucket("invoice"), 344);
    }
}
