//! Scope: whether the pack can support an inquiry at all, before the model is trusted with it.
//!
//! The model always names some intent; on text unlike its training rows (out of scope, or in a
//! language the pack was not trained in) that name is noise, however confident. Two checks run
//! first, and either one escalates the inquiry with its reason:
//! - **language** ([`LanguageSupport`]): the text's language or script has little or no training
//!   support;
//! - **unlike any intent**: the text has few known terms (the idf-weighted share of its tokens
//!   seen in training rows) *and* weak keyword evidence (the best intent's BM25 score).
//!
//! The bounds of "few" and "weak" are not hand-set: training measures both signals on every
//! in-scope training row out of fold (the known-term share leaving the row out of the
//! vocabulary, the BM25 score from the cross-fitted index that never held the row) and keeps a
//! low quantile of each. Both must fall below their bound, so at most that share of in-scope
//! text is escalated this way, and usually far less.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::NormalizedText;
use super::language::LanguageSupport;

/// The quantile of the in-scope signals below which a text counts as unlike any intent.
pub const DEFAULT_UNLIKE_QUANTILE: f64 = 0.05;

/// What training learned about the pack's scope; saved with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeModel {
    pub languages: LanguageSupport,
    /// The quantile of in-scope training rows the bounds were taken at.
    pub quantile: f64,
    /// Below this idf-weighted share of known terms, a text has few known terms.
    pub known_term_share: f32,
    /// Below this best-intent keyword evidence (`ln(1 + BM25)`), the evidence is weak.
    pub keyword_evidence: f32,
}

/// Why the pack cannot support an inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutOfScope {
    /// The text's language (ISO 639-3) or script has little or no training support.
    Language(String),
    /// Few known terms and weak keyword evidence.
    UnlikeAnyIntent,
}

/// How often each token occurs in the training rows (in how many rows).
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    rows: u32,
    row_frequency: HashMap<String, u32>,
}

impl Vocabulary {
    /// Counts the distinct tokens of each training row.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a NormalizedText>) -> Self {
        let mut vocabulary = Self::default();
        for text in texts {
            vocabulary.rows += 1;
            for token in distinct_tokens(text) {
                *vocabulary
                    .row_frequency
                    .entry(token.to_owned())
                    .or_insert(0) += 1;
            }
        }
        vocabulary
    }

    /// The idf-weighted share of the text's distinct tokens that occur in the training rows,
    /// with `own` rows (0 for a query, 1 for a training row measured out of fold) taken away.
    fn known_term_share(&self, text: &NormalizedText, own: u32) -> f32 {
        let rows = self.rows.saturating_sub(own) as f32;
        let (mut known, mut total) = (0.0f32, 0.0f32);
        for token in distinct_tokens(text) {
            let seen = self
                .row_frequency
                .get(token)
                .map_or(0, |&f| f.saturating_sub(own));
            let weight = ((rows + 1.0) / (seen as f32 + 1.0)).ln() + 1.0;
            total += weight;
            if seen > 0 {
                known += weight;
            }
        }
        if total > 0.0 { known / total } else { 0.0 }
    }
}

fn distinct_tokens(text: &NormalizedText) -> Vec<&str> {
    let mut tokens: Vec<&str> = text.tokens().collect();
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}

/// The keyword evidence of the best intent: `ln(1 + best BM25 score)`.
pub fn keyword_evidence(scores: &[f32]) -> f32 {
    (1.0 + scores.iter().copied().fold(0.0f32, f32::max)).ln()
}

impl ScopeModel {
    /// Learns the pack's scope from its training rows: `raw` texts, their normalized forms,
    /// and each row's out-of-fold keyword evidence.
    pub fn calibrate<'a>(
        raw: impl IntoIterator<Item = &'a str>,
        texts: &[NormalizedText],
        out_of_fold_evidence: &[f32],
        quantile: f64,
    ) -> Self {
        let vocabulary = Vocabulary::new(texts);
        let mut shares: Vec<f32> = texts
            .iter()
            .map(|t| vocabulary.known_term_share(t, 1))
            .collect();
        let mut evidence = out_of_fold_evidence.to_vec();
        Self {
            languages: LanguageSupport::measure(raw),
            quantile,
            known_term_share: low_quantile(&mut shares, quantile),
            keyword_evidence: low_quantile(&mut evidence, quantile),
        }
    }

    /// Why the pack cannot support `text`, if it cannot. `keyword_evidence` is the text's best
    /// intent evidence from the index.
    pub fn check(
        &self,
        vocabulary: &Vocabulary,
        raw: &str,
        text: &NormalizedText,
        keyword_evidence: f32,
    ) -> Option<OutOfScope> {
        let few_known_terms = vocabulary.known_term_share(text, 0) < self.known_term_share;
        if let Some(uncovered) = self.languages.uncovered(raw, few_known_terms) {
            return Some(OutOfScope::Language(uncovered.language));
        }
        (few_known_terms && keyword_evidence < self.keyword_evidence)
            .then_some(OutOfScope::UnlikeAnyIntent)
    }
}

/// The value at `quantile` of `values` (sorted in place); 0 when there are none.
fn low_quantile(values: &mut [f32], quantile: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    let at = ((values.len() as f64 * quantile).floor() as usize).min(values.len() - 1);
    values[at]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(rows: &[&str]) -> Vec<NormalizedText> {
        rows.iter().map(|r| NormalizedText::new(r)).collect()
    }

    /// Known terms are weighed by rarity: a text of only unseen words shares nothing, common
    /// words alone share little.
    #[test]
    fn known_term_share_weighs_rare_terms() {
        let rows = texts(&[
            "when is the invoice due",
            "is the invoice paid",
            "when is the next meeting",
            "the meeting agenda please",
        ]);
        let vocabulary = Vocabulary::new(&rows);
        let share = |t: &str| vocabulary.known_term_share(&NormalizedText::new(t), 0);
        assert_eq!(share("weather in paris tomorrow"), 0.0);
        assert_eq!(share("invoice meeting"), 1.0);
        let mostly_unseen = share("is the weather nice in paris");
        assert!(
            mostly_unseen > 0.0 && mostly_unseen < 0.5,
            "{mostly_unseen}"
        );
        // Out of fold, a word only the row itself holds is unknown.
        assert!(vocabulary.known_term_share(&rows[3], 1) < 1.0);
    }

    /// The bounds are low quantiles of the in-scope rows, and a text is unlike any intent only
    /// when both of its signals fall below them.
    #[test]
    fn unlike_any_intent_needs_both_signals_low() {
        let raw = [
            "when is the invoice due",
            "is the invoice paid",
            "when is the next meeting",
            "the meeting agenda please",
        ];
        let rows = texts(&raw);
        let vocabulary = Vocabulary::new(&rows);
        let mut scope = ScopeModel::calibrate(raw, &rows, &[1.0, 2.0, 3.0, 4.0], 0.25);
        // Rows this short are not reliably detected; the pack is English.
        scope.languages.languages.insert("eng".to_owned(), 1.0);
        assert_eq!(scope.keyword_evidence, 2.0);
        let weather = NormalizedText::new("weather in paris tomorrow");
        let check =
            |evidence| scope.check(&vocabulary, "weather in paris tomorrow", &weather, evidence);
        assert_eq!(check(0.5), Some(OutOfScope::UnlikeAnyIntent));
        assert_eq!(check(2.5), None);
        let invoice = NormalizedText::new("invoice due");
        assert_eq!(scope.check(&vocabulary, "invoice due", &invoice, 0.5), None);
    }

    #[test]
    fn low_quantile_of_nothing_is_zero() {
        assert_eq!(low_quantile(&mut [], 0.05), 0.0);
        assert_eq!(low_quantile(&mut [3.0, 1.0, 2.0], 0.0), 1.0);
        assert_eq!(low_quantile(&mut [3.0, 1.0, 2.0], 1.0), 3.0);
    }
}
