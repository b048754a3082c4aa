//! The trained classifier: one inquiry text in, a [`Classification`] out.
//!
//! Before the model's intent is trusted, the text is checked in this order: a closing remark
//! needs no reply ([`closing`](super::closing)); a text the pack cannot support (uncovered
//! language, unlike any intent: [`scope`](super::scope)) is escalated with that reason; an
//! inquiry whose clauses are confident questions of both tiers
//! ([`clauses`](super::clauses)) goes whole to the expert clause's specialist queue, its
//! clauses listed so the direct facts can be attached. Only then does the model's outcome stand.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::calibrate::{Calibration, softmax};
use super::clauses::clauses;
use super::closing::is_closing_remark;
use super::explain::ExampleMemory;
use super::language;
use super::model::argmax;
use super::scope::{OutOfScope, ScopeModel, Vocabulary, keyword_evidence};
use super::{
    ClassifyError, Explanation, Idf, KeywordIndex, LogisticModel, NormalizedText, SparseVector,
};
use crate::pack::{Intent, Pack, Target, Tier};

/// How many alternatives a classification lists after the chosen intent.
const ALTERNATIVES: usize = 3;

/// The fewest tokens a clause needs to count as a question of its own when an inquiry is
/// checked for questions of both tiers: "Hi,", "Jo" or "Invoice question" are not.
const MIN_CLAUSE_TOKENS: usize = 3;

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
    /// What training learned about the pack's scope; `None` for a model saved without it,
    /// which then checks no scope.
    pub(super) scope: Option<ScopeModel>,
    pub(super) vocabulary: Vocabulary,
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
    /// Needs no reply at all, and so no ticket.
    NoReply { reason: NoReplyReason },
}

impl Recommendation {
    /// The outcome in words, for people reading a classification.
    pub fn describe(&self) -> String {
        match self {
            Self::Answer { status_kind } => format!("answer from the {status_kind} data"),
            Self::Route { queue } => format!("route to the {queue} queue"),
            Self::Escalate { queue, reason } => {
                format!("escalate to the {queue} queue: {}", reason.describe())
            }
            Self::NoReply { reason } => format!("no reply: {}", reason.describe()),
        }
    }
}

/// Why an inquiry needs no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoReplyReason {
    /// Thanks or an acknowledgement that closes the conversation ("thanks, all good!").
    ClosingRemark,
}

impl NoReplyReason {
    /// A short, fixed name of the reason, for metrics labels.
    pub fn kind(self) -> &'static str {
        match self {
            Self::ClosingRemark => "closing_remark",
        }
    }

    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ClosingRemark => "a closing remark",
        }
    }
}

/// Why an inquiry was escalated instead of answered or routed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EscalationReason {
    /// A direct intent, but not confident enough to answer automatically.
    LowConfidence { confidence: f32, threshold: f32 },
    /// An expert intent, but not confident enough of which specialist.
    UnsureOfQueue { confidence: f32, threshold: f32 },
    /// Written in a language (ISO 639-3 code, or a script's name) the pack has little or no
    /// training text in.
    LanguageNotCovered { language: String },
    /// Few known terms, weak keyword evidence: like no intent of the pack.
    UnlikeAnyIntent,
    /// More like the pack's out-of-scope examples (`oos` rows of `train.csv`) than like the
    /// best intent's answer or queue.
    OutOfScope { probability: f32 },
}

impl EscalationReason {
    /// A short, fixed name of the reason, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LowConfidence { .. } => "low_confidence",
            Self::UnsureOfQueue { .. } => "unsure_of_queue",
            Self::LanguageNotCovered { .. } => "language_not_covered",
            Self::UnlikeAnyIntent => "unlike_any_intent",
            Self::OutOfScope { .. } => "out_of_scope",
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
            Self::LanguageNotCovered { language } => {
                format!("language not covered by this pack: {language}")
            }
            Self::UnlikeAnyIntent => "unlike any intent of this pack".to_owned(),
            Self::OutOfScope { probability } => {
                format!("like what this pack does not serve ({probability:.2} out of scope)")
            }
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
    /// The clauses, when the inquiry holds confident questions of both tiers (and only then).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
}

/// One clause of an inquiry that holds several questions, classified on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub text: String,
    pub intent: String,
    pub tier: Tier,
    pub target_probability: f32,
    pub outcome: Recommendation,
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

    /// A guesser of the language of texts among those the pack covers, for reports
    /// ([`language::guesser`]).
    pub(super) fn language_guesser(&self) -> impl Fn(&str) -> Option<&'static str> + use<> {
        let covered = self
            .scope
            .as_ref()
            .map_or_else(Vec::new, |scope| scope.languages.covered());
        language::guesser(covered)
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
        Ok(self.classify_normalized(text, &normalized, &lexical))
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
        let classification = self.classify_normalized(text, &normalized, &lexical);
        let explanation = self.explanation(&normalized, &lexical, &counts, &classification);
        Ok((classification, explanation))
    }

    /// The classification of `raw`, normalized as `text`, with its lexical features.
    fn classify_normalized(
        &self,
        raw: &str,
        text: &NormalizedText,
        lexical: &SparseVector,
    ) -> Classification {
        let scores = self.index.scores(text);
        let mut classification = self.decide(&self.probabilities(&scores, lexical));
        if let Some(outcome) = self.unanswerable(raw, text, &scores) {
            classification.outcome = outcome;
        } else if let Some((queue, parts)) = self.mixed_tiers(raw) {
            classification.outcome = Recommendation::Route { queue };
            classification.parts = parts;
        }
        classification
    }

    /// The outcome of a text the model must not decide on: a closing remark, or a text the
    /// pack cannot support.
    fn unanswerable(
        &self,
        raw: &str,
        text: &NormalizedText,
        scores: &[f32],
    ) -> Option<Recommendation> {
        if is_closing_remark(raw, text) {
            return Some(Recommendation::NoReply {
                reason: NoReplyReason::ClosingRemark,
            });
        }
        let scope = self.scope.as_ref()?;
        let reason = match scope.check(&self.vocabulary, raw, text, keyword_evidence(scores))? {
            OutOfScope::Language(language) => EscalationReason::LanguageNotCovered { language },
            OutOfScope::UnlikeAnyIntent => EscalationReason::UnlikeAnyIntent,
        };
        Some(Recommendation::Escalate {
            queue: self.escalation_queue.clone(),
            reason,
        })
    }

    /// When `raw` holds confident questions of both tiers: the queue of the most confident
    /// expert clause, and every clause classified.
    fn mixed_tiers(&self, raw: &str) -> Option<(String, Vec<Part>)> {
        let texts = clauses(raw);
        if texts.len() < 2 {
            return None;
        }
        let parts: Vec<Part> = texts.into_iter().filter_map(|t| self.part(t)).collect();
        let answered = parts
            .iter()
            .any(|p| matches!(p.outcome, Recommendation::Answer { .. }));
        let routed = parts
            .iter()
            .filter_map(|p| match &p.outcome {
                Recommendation::Route { queue } => Some((p.target_probability, queue)),
                _ => None,
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match (answered, routed) {
            (true, Some((_, queue))) => Some((queue.clone(), parts)),
            _ => None,
        }
    }

    /// One clause classified on its own; `None` for a clause too short to be a question of its
    /// own (a greeting, a sign-off, a subject line), a closing remark or a clause the pack
    /// cannot support.
    fn part(&self, raw: &str) -> Option<Part> {
        let text = NormalizedText::new(raw);
        if text.tokens().count() < MIN_CLAUSE_TOKENS {
            return None;
        }
        let scores = self.index.scores(&text);
        let lexical = self.idf.features(&text);
        if self.unanswerable(raw, &text, &scores).is_some() {
            return None;
        }
        let decided = self.decide(&self.probabilities(&scores, &lexical));
        Some(Part {
            text: raw.to_owned(),
            intent: decided.intent,
            tier: decided.tier,
            target_probability: decided.target_probability,
            outcome: decided.outcome,
        })
    }

    /// The calibrated intent probabilities of a text's keyword `scores` and lexical features.
    fn probabilities(&self, scores: &[f32], lexical: &SparseVector) -> Vec<f32> {
        let evidence = index_evidence(scores);
        let mut logits = vec![0.0; self.model.classes()];
        self.model.sparse_logits(
            feature_row(lexical, &evidence, self.idf.space().dims()),
            &mut logits,
        );
        let mut probabilities = vec![0.0; logits.len()];
        softmax(&logits, self.calibration.temperature, &mut probabilities);
        probabilities
    }

    /// Turns class probabilities into a decision: one per intent, then the out-of-scope
    /// class's when the pack has `oos` training rows. The decision names the most probable
    /// intent in any case; a text more probably out of scope than that intent's answer or
    /// queue is escalated.
    pub(super) fn decide(&self, probabilities: &[f32]) -> Classification {
        let BestTarget {
            intent: best,
            target_probability,
            out_of_scope,
        } = best_target(probabilities, &self.group_of_intent);
        let probabilities = &probabilities[..self.intents.len()];
        let intent = &self.intents[best];
        let ranked = top_ranked(probabilities, ALTERNATIVES + 1);
        let tier_probability = (0..probabilities.len())
            .filter(|&i| self.intents[i].tier == intent.tier)
            .map(|i| probabilities[i])
            .sum();
        let calibration = self.calibration;
        let outcome = match &intent.target {
            _ if out_of_scope >= target_probability => Recommendation::Escalate {
                queue: self.escalation_queue.clone(),
                reason: EscalationReason::OutOfScope {
                    probability: out_of_scope,
                },
            },
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
            parts: Vec::new(),
        }
    }
}

/// The most probable intent of a decision and what it is weighed against.
pub(super) struct BestTarget {
    pub intent: usize,
    /// The probability of the intent's group (same tier and status kind or queue).
    pub target_probability: f32,
    /// The out-of-scope class's probability; 0 without one.
    pub out_of_scope: f32,
}

/// The best intent of class `probabilities` (one per intent of `group_of_intent`, then the
/// out-of-scope class's when the model has one). The text is out of scope when `out_of_scope`
/// is at least `target_probability`; the classifier and the calibration both decide so.
pub(super) fn best_target(probabilities: &[f32], group_of_intent: &[usize]) -> BestTarget {
    let (intents, out_of_scope) = probabilities.split_at(group_of_intent.len());
    let intent = argmax(intents);
    let target_probability = group_of_intent
        .iter()
        .zip(intents)
        .filter(|(group, _)| **group == group_of_intent[intent])
        .map(|(_, p)| p)
        .sum();
    BestTarget {
        intent,
        target_probability,
        out_of_scope: out_of_scope.first().copied().unwrap_or(0.0),
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
    use crate::classify::{TrainOptions, train};

    /// The tiny fixture pack without its Chinese rows: a pack trained on English only.
    fn english_only_classifier() -> Classifier {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny");
        let dir = tempfile::tempdir().unwrap();
        for file in ["intents.csv", "queues.csv", "pack.toml"] {
            std::fs::copy(fixture.join(file), dir.path().join(file)).unwrap();
        }
        let train_csv: String = std::fs::read_to_string(fixture.join("train.csv"))
            .unwrap()
            .lines()
            .filter(|line| line.is_ascii())
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(dir.path().join("train.csv"), train_csv).unwrap();
        let pack = Pack::load(dir.path()).unwrap();
        train(&pack, &TrainOptions::default()).unwrap().classifier
    }

    fn escalation_of(classification: &Classification) -> &EscalationReason {
        match &classification.outcome {
            Recommendation::Escalate { reason, .. } => reason,
            other => panic!("expected an escalation, got {other:?}"),
        }
    }

    /// Russian and German questions to a pack trained on English only are escalated as not
    /// covered, never answered or routed; English ones with a foreign word are not refused;
    /// text like no intent is escalated as such; a closing remark needs no reply.
    #[test]
    fn what_the_pack_cannot_support_is_escalated_with_the_reason() {
        let classifier = english_only_classifier();
        let scope = classifier.scope.as_ref().unwrap();
        assert!(scope.languages.languages.contains_key("eng"), "{scope:?}");
        for (text, language) in [
            ("Когда будет готов финальный отчёт по SEO?", "rus"),
            ("Счёт 1042 оплачен?", "Cyrillic"),
            (
                "Wann ist die Rechnung 1042 fällig und wurde sie schon bezahlt?",
                "deu",
            ),
        ] {
            let classification = classifier.classify(text).unwrap();
            let reason = escalation_of(&classification);
            assert_eq!(
                reason,
                &EscalationReason::LanguageNotCovered {
                    language: language.to_owned()
                },
                "{text}"
            );
            assert_eq!(
                reason.describe(),
                format!("language not covered by this pack: {language}")
            );
            assert_eq!(reason.kind(), "language_not_covered");
        }
        let english = classifier
            .classify("is invoice 1042 paid, the Rechnung from March?")
            .unwrap();
        assert!(
            !matches!(
                english.outcome,
                Recommendation::Escalate {
                    reason: EscalationReason::LanguageNotCovered { .. },
                    ..
                }
            ),
            "{english:?}"
        );
        let weather = classifier
            .classify("what's the weather in Paris tomorrow")
            .unwrap();
        assert_eq!(escalation_of(&weather), &EscalationReason::UnlikeAnyIntent);
        let thanks = classifier.classify("thanks, all good!").unwrap();
        assert_eq!(
            thanks.outcome,
            Recommendation::NoReply {
                reason: NoReplyReason::ClosingRemark
            }
        );
        let question = classifier
            .classify("thanks, is invoice 1042 paid?")
            .unwrap();
        assert_eq!(question.intent, "invoice_status");
        assert!(!matches!(question.outcome, Recommendation::NoReply { .. }));
    }

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
