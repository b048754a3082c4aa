//! Evaluation: the metrics of the evaluation report (a contract: outside checks parse it) and
//! the measurement of one-query latency.
//!
//! Intent and tier accuracy are taken before any escalation, so they compare with classifiers
//! that have none; the routing metrics are taken after it. An automatic answer is correct when
//! the true intent has the predicted intent's tier and status kind; an out-of-scope row is
//! handled correctly when it is not answered automatically (a human gets it). A test row whose
//! text normalizes to nothing is skipped like such a training row (see [`train`](mod@super::train)) and
//! counted in the report's `skipped_rows`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::train::{Fits, SkippedRow, rows_with_words};
use super::{Classifier, ClassifyError};
use crate::pack::{Example, Intent, Tier};

/// One evaluated row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The true intent; `None` for an out-of-scope row.
    pub truth: Option<usize>,
    /// The most probable intent.
    pub predicted: usize,
    /// Whether the row was answered automatically.
    pub answered: bool,
    /// The probability given to the predicted intent's tier.
    pub tier_probability: f32,
    /// The row's language as the detector guesses it (ISO 639-3); `None` when it cannot tell.
    pub language: Option<&'static str>,
}

/// The quality metrics of a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub intent_accuracy: f64,
    pub intent_macro_f1: f64,
    pub tier_accuracy: f64,
    /// Share of expert rows answered automatically; `None` without expert rows.
    pub expert_sent_direct: Option<f64>,
    /// Share of automatic answers that are correct; `None` when nothing was answered.
    pub auto_answer_precision: Option<f64>,
    /// Share of direct rows answered automatically and correctly; `None` without direct rows.
    pub deflection: Option<f64>,
    /// Share of out-of-scope rows not answered automatically; `None` without such rows.
    pub out_of_scope_escalated: Option<f64>,
    /// Expected calibration error of the tier probability (10 equal-width bins).
    pub tier_calibration_error: f64,
    pub in_scope_rows: usize,
    pub out_of_scope_rows: usize,
    pub answered_rows: usize,
    /// Rows answered automatically with the wrong fact (another target, or out of scope).
    pub answered_wrong: usize,
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Metrics {
    /// Computes the metrics of `predictions` over the pack's `intents`.
    pub fn compute(intents: &[Intent], predictions: &[Prediction]) -> Self {
        let same_target = |a: usize, b: usize| {
            intents[a].tier == intents[b].tier && intents[a].target == intents[b].target
        };
        let in_scope: Vec<(usize, &Prediction)> = predictions
            .iter()
            .filter_map(|p| p.truth.map(|t| (t, p)))
            .collect();
        let count = |keep: &dyn Fn(usize, &Prediction) -> bool| {
            in_scope.iter().filter(|(t, p)| keep(*t, p)).count()
        };
        let correct_intents = count(&|t, p| p.predicted == t);
        let correct_tiers = count(&|t, p| intents[p.predicted].tier == intents[t].tier);
        let experts = count(&|t, _| intents[t].tier == Tier::Expert);
        let experts_answered = count(&|t, p| intents[t].tier == Tier::Expert && p.answered);
        let directs = count(&|t, _| intents[t].tier == Tier::Direct);
        let deflected = count(&|t, p| {
            intents[t].tier == Tier::Direct && p.answered && same_target(t, p.predicted)
        });
        let answered = predictions.iter().filter(|p| p.answered).count();
        let answered_correctly = predictions
            .iter()
            .filter(|p| p.answered && p.truth.is_some_and(|t| same_target(t, p.predicted)))
            .count();
        let out_of_scope: Vec<&Prediction> =
            predictions.iter().filter(|p| p.truth.is_none()).collect();
        let out_of_scope_held = out_of_scope.iter().filter(|p| !p.answered).count();
        Self {
            intent_accuracy: share(correct_intents, in_scope.len()).unwrap_or(0.0),
            intent_macro_f1: macro_f1(intents.len(), &in_scope),
            tier_accuracy: share(correct_tiers, in_scope.len()).unwrap_or(0.0),
            expert_sent_direct: share(experts_answered, experts),
            auto_answer_precision: share(answered_correctly, answered),
            deflection: share(deflected, directs),
            out_of_scope_escalated: share(out_of_scope_held, out_of_scope.len()),
            tier_calibration_error: tier_calibration_error(intents, &in_scope),
            in_scope_rows: in_scope.len(),
            out_of_scope_rows: out_of_scope.len(),
            answered_rows: answered,
            answered_wrong: answered - answered_correctly,
        }
    }
}

/// The figures of the test rows in one language: where a pack is weaker in some of its
/// languages, and whether any of them gets wrong answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LanguageFigures {
    pub rows: usize,
    /// `None` without in-scope rows.
    pub intent_accuracy: Option<f64>,
    pub deflection: Option<f64>,
    pub out_of_scope_escalated: Option<f64>,
    pub answered_rows: usize,
    pub answered_wrong: usize,
}

/// The figures of `predictions` per detected language (`und` where the detector cannot tell).
pub fn by_language(
    intents: &[Intent],
    predictions: &[Prediction],
) -> BTreeMap<String, LanguageFigures> {
    let mut groups: BTreeMap<&str, Vec<Prediction>> = BTreeMap::new();
    for p in predictions {
        groups
            .entry(p.language.unwrap_or("und"))
            .or_default()
            .push(*p);
    }
    groups
        .into_iter()
        .map(|(language, rows)| {
            let m = Metrics::compute(intents, &rows);
            let figures = LanguageFigures {
                rows: rows.len(),
                intent_accuracy: (m.in_scope_rows > 0).then_some(m.intent_accuracy),
                deflection: m.deflection,
                out_of_scope_escalated: m.out_of_scope_escalated,
                answered_rows: m.answered_rows,
                answered_wrong: m.answered_wrong,
            };
            (language.to_owned(), figures)
        })
        .collect()
}

/// Macro-averaged F1 over the intents that occur as truth or prediction.
fn macro_f1(intent_count: usize, rows: &[(usize, &Prediction)]) -> f64 {
    let mut true_positive = vec![0usize; intent_count];
    let mut predicted = vec![0usize; intent_count];
    let mut actual = vec![0usize; intent_count];
    for &(truth, prediction) in rows {
        actual[truth] += 1;
        predicted[prediction.predicted] += 1;
        if truth == prediction.predicted {
            true_positive[truth] += 1;
        }
    }
    let scores: Vec<f64> = (0..intent_count)
        .filter(|&i| actual[i] + predicted[i] > 0)
        .map(|i| 2.0 * true_positive[i] as f64 / (actual[i] + predicted[i]) as f64)
        .collect();
    scores.iter().sum::<f64>() / scores.len().max(1) as f64
}

/// Expected calibration error of the tier probability over 10 equal-width bins.
fn tier_calibration_error(intents: &[Intent], rows: &[(usize, &Prediction)]) -> f64 {
    const BINS: usize = 10;
    let mut confidence = [0.0f64; BINS];
    let mut correct = [0.0f64; BINS];
    let mut size = [0usize; BINS];
    for &(truth, p) in rows {
        let bin = ((p.tier_probability * BINS as f32) as usize).min(BINS - 1);
        confidence[bin] += f64::from(p.tier_probability);
        correct[bin] += f64::from(u8::from(intents[truth].tier == intents[p.predicted].tier));
        size[bin] += 1;
    }
    let total = rows.len().max(1) as f64;
    (0..BINS)
        .filter(|&b| size[b] > 0)
        .map(|b| (confidence[b] - correct[b]).abs() / total)
        .sum()
}

/// The test rows classified.
pub struct TestRun {
    pub predictions: Vec<Prediction>,
    pub latency: Latency,
    /// The test rows left out because their text has no words.
    pub skipped: Vec<SkippedRow>,
}

/// Classifies every test row (read from `path`) one at a time on this thread, timing each
/// call; rows whose text has no words are skipped and listed.
pub fn run(
    classifier: &Classifier,
    test: &[Example],
    path: &Path,
) -> Result<TestRun, ClassifyError> {
    let (rows, skipped) = rows_with_words(test, path);
    // Warm caches and lazily built structures before timing.
    for (example, _) in rows.iter().take(100) {
        classifier.classify(&example.text)?;
    }
    let language_of = classifier.language_guesser();
    let mut micros = Vec::with_capacity(rows.len());
    let mut predictions = Vec::with_capacity(rows.len());
    for (example, _) in &rows {
        let started = Instant::now();
        let classification = classifier.classify(&example.text)?;
        micros.push(started.elapsed().as_secs_f64() * 1e6);
        predictions.push(Prediction {
            truth: example.intent,
            predicted: classification.intent_index,
            answered: classification.is_answered(),
            tier_probability: classification.tier_probability,
            language: language_of(&example.text),
        });
    }
    Ok(TestRun {
        predictions,
        latency: Latency::from_micros(micros),
        skipped,
    })
}

/// One-query latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50_us: f64,
    pub p99_us: f64,
}

impl Latency {
    fn from_micros(mut micros: Vec<f64>) -> Self {
        micros.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if micros.is_empty() {
                return 0.0;
            }
            micros[((micros.len() as f64 * q).ceil() as usize).clamp(1, micros.len()) - 1]
        };
        Self {
            p50_us: at(0.50),
            p99_us: at(0.99),
        }
    }
}

/// The peak resident set size of this process in MiB, where the platform tells it.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The evaluation report whose JSON form is the last line `triage eval` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub pack: String,
    pub model_version: String,
    #[serde(flatten)]
    pub metrics: Metrics,
    /// The main figures per detected language of the test rows.
    pub by_language: BTreeMap<String, LanguageFigures>,
    pub answer_threshold: f32,
    pub temperature: f32,
    pub train_seconds: f64,
    pub classify_p50_us: f64,
    pub classify_p99_us: f64,
    pub peak_rss_mb: Option<f64>,
    /// Training and test rows left out because their text has no words.
    pub skipped_rows: usize,
    /// Whether both fits (validation and final) converged.
    pub converged: bool,
    /// The iteration limit of every L-BFGS run the two fits made (an upper bound of the
    /// iterations used).
    pub fit_iterations: u64,
    pub fits: Fits,
    /// Why the model would not pass `triage train`'s quality gate; empty when it would.
    pub quality_warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::Target;

    fn intent(name: &str, tier: Tier, target: &str) -> Intent {
        let target = match tier {
            Tier::Direct => Target::StatusKind(target.to_owned()),
            Tier::Expert => Target::Queue(target.to_owned()),
        };
        Intent {
            name: name.to_owned(),
            tier,
            target,
        }
    }

    fn row(
        truth: Option<usize>,
        predicted: usize,
        answered: bool,
        tier_probability: f32,
    ) -> Prediction {
        Prediction {
            truth,
            predicted,
            answered,
            tier_probability,
            language: None,
        }
    }

    /// Protects the report's definitions against a hand-computed example.
    #[test]
    fn metrics_match_a_hand_computed_example() {
        // 0 and 1 share a status kind; 2 is another direct kind; 3 is expert.
        let intents = [
            intent("eta", Tier::Direct, "deliverable"),
            intent("eta_alias", Tier::Direct, "deliverable"),
            intent("invoice", Tier::Direct, "invoice"),
            intent("advice", Tier::Expert, "content"),
        ];
        let predictions = [
            row(Some(0), 0, true, 0.9),  // right, answered, correct
            row(Some(0), 1, true, 0.9),  // wrong intent, same kind: answer still correct
            row(Some(2), 0, true, 0.9),  // wrong kind, answered: wrong answer
            row(Some(2), 2, false, 0.9), // right, escalated
            row(Some(3), 3, false, 0.9), // expert, routed
            row(Some(3), 2, true, 0.9),  // expert answered: the costly error
            row(None, 0, true, 0.9),     // out of scope answered: wrong
            row(None, 3, false, 0.9),    // out of scope to a human: right
        ];
        let m = Metrics::compute(&intents, &predictions);
        assert_eq!(m.in_scope_rows, 6);
        assert_eq!(m.out_of_scope_rows, 2);
        assert_eq!(m.answered_rows, 5);
        assert!((m.intent_accuracy - 3.0 / 6.0).abs() < 1e-12);
        // tiers: all right except row 6 (expert → direct): 5/6
        assert!((m.tier_accuracy - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(m.expert_sent_direct, Some(0.5));
        // answered 5: rows 1, 2 correct; 3, 6, 7 wrong
        assert_eq!(m.auto_answer_precision, Some(2.0 / 5.0));
        assert_eq!(m.answered_wrong, 3);
        // direct rows 4: rows 1 and 2 deflected correctly
        assert_eq!(m.deflection, Some(0.5));
        assert_eq!(m.out_of_scope_escalated, Some(0.5));
        // F1 per intent: eta tp1 actual2 pred2 → 0.5; eta_alias 0 → 0; invoice tp1 actual2
        // pred2 → 0.5; advice tp1 actual2 pred1 → 2/3.
        let f1 = (0.5 + 0.0 + 0.5 + 2.0 / 3.0) / 4.0;
        assert!(
            (m.intent_macro_f1 - f1).abs() < 1e-12,
            "{}",
            m.intent_macro_f1
        );
        // One bin at 0.9 holding 5 correct tiers of 6: |5.4 - 5| / 6.
        assert!((m.tier_calibration_error - 0.4 / 6.0).abs() < 1e-6);
    }

    #[test]
    fn absent_groups_give_null_metrics() {
        let intents = [
            intent("a", Tier::Direct, "x"),
            intent("b", Tier::Direct, "y"),
        ];
        let m = Metrics::compute(&intents, &[row(Some(0), 0, false, 0.6)]);
        assert_eq!(m.expert_sent_direct, None);
        assert_eq!(m.auto_answer_precision, None);
        assert_eq!(m.out_of_scope_escalated, None);
        assert_eq!(m.deflection, Some(0.0));
    }

    /// Each language's figures count its own rows only; rows without a language are `und`.
    #[test]
    fn figures_per_language_count_their_own_rows() {
        let intents = [
            intent("eta", Tier::Direct, "deliverable"),
            intent("invoice", Tier::Direct, "invoice"),
        ];
        let in_language = |language, p: Prediction| Prediction { language, ..p };
        let predictions = [
            in_language(Some("deu"), row(Some(0), 0, true, 0.9)),
            in_language(Some("deu"), row(Some(1), 0, true, 0.9)),
            in_language(Some("rus"), row(None, 1, false, 0.9)),
            row(Some(1), 1, false, 0.9),
        ];
        let figures = by_language(&intents, &predictions);
        assert_eq!(figures.keys().collect::<Vec<_>>(), ["deu", "rus", "und"]);
        let german = &figures["deu"];
        assert_eq!(
            (german.rows, german.answered_rows, german.answered_wrong),
            (2, 2, 1)
        );
        assert_eq!(german.intent_accuracy, Some(0.5));
        let russian = &figures["rus"];
        assert_eq!(russian.intent_accuracy, None);
        assert_eq!(russian.out_of_scope_escalated, Some(1.0));
        assert_eq!(figures["und"].intent_accuracy, Some(1.0));
    }

    #[test]
    fn latency_percentiles_are_nearest_rank() {
        let latency = Latency::from_micros((1..=100).map(f64::from).rev().collect());
        assert_eq!(latency.p50_us, 50.0);
        assert_eq!(latency.p99_us, 99.0);
    }
}
