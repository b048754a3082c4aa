//! The trained classifier: one inquiry text in, a [`Classification`] out.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::calibrate::{Calibration, softmax};
use super::explain::ExampleMemory;
use super::model::argmax;
use super::{
    ClassifyError, Explanation, Idf, KeywordIndex, LogisticModel, NormalizedText, SparseVector,
};
use crate::pack::{Intent, Pack, Target, Tier};

/// How many alternatives a classification lists after the chosen intent.
const ALTERNATIVES: usize = 3;

/// A trained classifier for one pack, ready to classify.
pub struct Classifier {
    pub(super) pack_name: String,
    pub(super) intents: Vec<Intent>,
    /// For each intent, the group of intents with its tier and target (status kind or queue).
    pub(super) group_of_intent: Vec<usize>,
    pub(super) escalation_queue: String,
    pub(super) idf: Idf,
    pub(super) index: KeywordIndex,
    pub(super) model: LogisticModel,
    pub(super) calibration: Calibration,
    pub(super) memory: ExampleMemory,
    pub(super) version: String,
}

/// What happens to a classified inquiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Recommendation {
    /// Answered automatically from the client's status data of this kind.
    Answer { status_kind: String },
    /// Sent to this specialist queue.
    Route { queue: String },
    /// Sent to a human on the escalation queue, for this reason.
    Escalate {
        queue: String,
        reason: EscalationReason,
    },
}

/// Why an inquiry was escalated instead of answered or routed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EscalationReason {
    /// A direct intent, but not confident enough to answer automatically.
    LowConfidence { confidence: f32, threshold: f32 },
    /// An expert intent, but not confident enough of which specialist.
    UnsureOfQueue { confidence: f32, threshold: f32 },
}

impl EscalationReason {
    /// A short, fixed name of the reason, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LowConfidence { .. } => "low_confidence",
            Self::UnsureOfQueue { .. } => "unsure_of_queue",
        }
    }

    /// The reason in words.
    pub fn describe(&self) -> String {
        match self {
            Self::LowConfidence {
                confidence,
                threshold,
            } => format!(
                "the model is not sure enough to answer ({confidence:.2} below {threshold:.2})"
            ),
            Self::UnsureOfQueue {
                confidence,
                threshold,
            } => format!(
                "the model is not sure which specialist should answer ({confidence:.2} below {threshold:.2})"
            ),
        }
    }
}

/// An intent the classifier considered, with its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    pub intent: String,
    pub tier: Tier,
    pub probability: f32,
}

/// The classifier's decision on one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The most probable intent (index into the pack's intents).
    pub intent_index: usize,
    pub intent: String,
    pub tier: Tier,
    pub intent_probability: f32,
    /// The calibrated probability that the tier is right.
    pub tier_probability: f32,
    /// The probability of the intent's tier and status kind (direct) or queue (expert).
    pub target_probability: f32,
    /// The next most probable intents.
    pub alternatives: Vec<Alternative>,
    /// Intent probability minus the runner-up's.
    pub margin: f32,
    pub outcome: Recommendation,
    pub model_version: String,
}

impl Classification {
    /// Whether the inquiry is answered automatically.
    pub fn is_answered(&self) -> bool {
        matches!(self.outcome, Recommendation::Answer { .. })
    }
}

impl Classifier {
    /// The model version, carried by every decision.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The name of the pack the classifier belongs to.
    pub fn pack_name(&self) -> &str {
        &self.pack_name
    }

    /// The pack's intents, in the model's class order.
    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// The calibration in force.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// Classifies `text`; an empty text (no word at all) is an error.
    pub fn classify(&self, text: &str) -> Result<Classification, ClassifyError> {
        let normalized = NormalizedText::new(text);
        if normalized.is_empty() {
            return Err(ClassifyError::EmptyText);
        }
        let lexical = self.idf.features(&normalized);
        let probabilities = self.probabilities(&normalized, &lexical);
        Ok(self.decide(&probabilities))
    }

    /// Classifies `text` and explains the decision, normalizing and counting the text once.
    pub fn classify_explained(
        &self,
        text: &str,
    ) -> Result<(Classification, Explanation), ClassifyError> {
        let normalized = NormalizedText::new(text);
        if normalized.is_empty() {
            return Err(ClassifyError::EmptyText);
        }
        let counts = self.idf.space().counts(&normalized);
        let lexical = self.idf.weigh(counts.clone());
        let classification = self.decide(&self.probabilities(&normalized, &lexical));
        let explanation = self.explanation(&normalized, &lexical, &counts, &classification);
        Ok((classification, explanation))
    }

    /// The calibrated intent probabilities of a normalized text with its lexical features.
    pub(super) fn probabilities(&self, text: &NormalizedText, lexical: &SparseVector) -> Vec<f32> {
        let evidence = index_evidence(&self.index.scores(text));
        let mut logits = vec![0.0; self.intents.len()];
        self.model.sparse_logits(
            feature_row(lexical, &evidence, self.idf.space().dims()),
            &mut logits,
        );
        let mut probabilities = vec![0.0; logits.len()];
        softmax(&logits, self.calibration.temperature, &mut probabilities);
        probabilities
    }

    /// Turns intent probabilities into a decision.
    pub(super) fn decide(&self, probabilities: &[f32]) -> Classification {
        let best = argmax(probabilities);
        let intent = &self.intents[best];
        let ranked = top_ranked(probabilities, ALTERNATIVES + 1);
        let sum_where = |keep: &dyn Fn(usize) -> bool| -> f32 {
            (0..probabilities.len())
                .filter(|&i| keep(i))
                .map(|i| probabilities[i])
                .sum()
        };
        let tier_probability = sum_where(&|i| self.intents[i].tier == intent.tier);
        let group = self.group_of_intent[best];
        let target_probability = sum_where(&|i| self.group_of_intent[i] == group);
        let calibration = self.calibration;
        let outcome = match &intent.target {
            Target::StatusKind(kind) if target_probability >= calibration.answer_threshold => {
                Recommendation::Answer {
                    status_kind: kind.clone(),
                }
            }
            Target::StatusKind(_) => Recommendation::Escalate {
                queue: self.escalation_queue.clone(),
                reason: EscalationReason::LowConfidence {
                    confidence: target_probability,
                    threshold: calibration.answer_threshold,
                },
            },
            Target::Queue(queue) if target_probability >= calibration.route_threshold => {
                Recommendation::Route {
                    queue: queue.clone(),
                }
            }
            Target::Queue(_) => Recommendation::Escalate {
                queue: self.escalation_queue.clone(),
                reason: EscalationReason::UnsureOfQueue {
                    confidence: target_probability,
                    threshold: calibration.route_threshold,
                },
            },
        };
        let alternatives = ranked[1..]
            .iter()
            .map(|&i| Alternative {
                intent: self.intents[i].name.clone(),
                tier: self.intents[i].tier,
                probability: probabilities[i],
            })
            .collect::<Vec<_>>();
        let runner_up = alternatives.first().map_or(0.0, |a| a.probability);
        Classification {
            intent_index: best,
            intent: intent.name.clone(),
            tier: intent.tier,
            intent_probability: probabilities[best],
            tier_probability,
            target_probability,
            margin: probabilities[best] - runner_up,
            alternatives,
            outcome,
            model_version: self.version.clone(),
        }
    }
}

/// The indices of the `k` highest values, highest first (the lower index first on ties).
fn top_ranked(values: &[f32], k: usize) -> Vec<usize> {
    let by_rank = |&a: &usize, &b: &usize| {
        values[b]
            .partial_cmp(&values[a])
            .unwrap_or(Ordering::Equal)
            .then(a.cmp(&b))
    };
    let mut ranked: Vec<usize> = (0..values.len()).collect();
    if k < ranked.len() {
        ranked.select_nth_unstable_by(k, by_rank);
        ranked.truncate(k);
    }
    ranked.sort_unstable_by(by_rank);
    ranked
}

/// For each intent, the index of its group (same tier and same status kind or queue).
pub(super) fn target_groups(pack: &Pack) -> Vec<usize> {
    let mut groups: Vec<(Tier, &Target)> = Vec::new();
    pack.intents
        .iter()
        .map(|intent| {
            let key = (intent.tier, &intent.target);
            groups.iter().position(|g| *g == key).unwrap_or_else(|| {
                groups.push(key);
                groups.len() - 1
            })
        })
        .collect()
}

/// The keyword index's evidence as features: each intent's BM25 score relative to the best
/// one, and how strong the best match is overall.
pub(super) fn index_evidence(scores: &[f32]) -> Vec<f32> {
    let best = scores.iter().copied().fold(0.0f32, f32::max);
    let mut evidence: Vec<f32> = scores
        .iter()
        .map(|&s| if best > 0.0 { s / best } else { 0.0 })
        .collect();
    evidence.push((1.0 + best).ln());
    evidence
}

/// The model's sparse input: the lexical features, then the index evidence.
pub(super) fn feature_row<'a>(
    lexical: &'a SparseVector,
    evidence: &'a [f32],
    lexical_dims: usize,
) -> impl Iterator<Item = (usize, f32)> + 'a {
    lexical
        .indices
        .iter()
        .map(|&i| i as usize)
        .zip(lexical.values.iter().copied())
        .chain(
            evidence
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(move |(i, &v)| (lexical_dims + i, v)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_evidence_is_relative_to_the_best_intent() {
        let evidence = index_evidence(&[2.0, 4.0, 0.0]);
        assert_eq!(&evidence[..3], &[0.5, 1.0, 0.0]);
        assert!((evidence[3] - 5f32.ln()).abs() < 1e-6);
        assert_eq!(index_evidence(&[0.0, 0.0]), vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn top_ranked_keeps_the_highest_in_order() {
        let values = [0.1, 0.4, 0.2, 0.4, 0.05];
        assert_eq!(top_ranked(&values, 3), vec![1, 3, 2]);
        assert_eq!(top_ranked(&values, 9), vec![1, 3, 2, 0, 4]);
        assert_eq!(top_ranked(&[], 2), Vec::<usize>::new());
    }

    #[test]
    fn feature_row_offsets_the_evidence() {
        let lexical = SparseVector {
            indices: vec![1, 5],
            values: vec![0.5, 0.25],
        };
        let row: Vec<_> = feature_row(&lexical, &[0.0, 1.0], 10).collect();
        assert_eq!(row, vec![(1, 0.5), (5, 0.25), (11, 1.0)]);
    }
}
