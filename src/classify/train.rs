//! Training: a pack's labelled examples → a calibrated [`Classifier`].
//!
//! 1. Normalize every example once, count its n-grams, fit the idf, weigh the counts.
//! 2. Hold out a stratified, seeded validation split of the training rows.
//! 3. Index evidence for a training row comes from an index that never holds that row
//!    (cross-fitting: the rows are cut into folds, each fold scored by an index of the others),
//!    so the model learns how the evidence behaves on unseen text.
//! 4. Fit on the rest, calibrate on the validation split (temperature, answer threshold).
//! 5. Refit on all training rows, warm-started from the first fit, and keep that calibration.
//!
//! Everything is seeded and ordered, so the same pack gives byte-identical model files.
//!
//! A row whose text normalizes to nothing ("?", ":(", "。。。。。。": punctuation and symbols
//! only) gives the model nothing to learn from and a classifier nothing to classify; real data
//! sets contain such rows, so they are skipped, never a stop: each is logged with its file and
//! line, and training and evaluation report them ([`SkippedRow`]). At serve time such a text is
//! refused as [`ClassifyError::EmptyText`] (the service maps it
//! to an invalid-argument error naming the field). Each fit must converge
//! ([`FitReport`]); one that does not after its recovery rounds is an error naming the pack.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::calibrate::{
    Calibration, ValidationRow, choose_answer_threshold, fit_temperature, softmax,
};
use super::classifier::{BestTarget, best_target, feature_row, index_evidence, target_groups};
use super::eval::{Metrics, Prediction};
use super::explain::ExampleMemory;
use super::model::{FitReport, FitSettings};
use super::scope::{DEFAULT_UNLIKE_QUANTILE, ScopeModel, Vocabulary};
use super::{
    Classifier, ClassifyError, FeatureSpace, Idf, KeywordIndex, LogisticModel, NormalizedText,
    SparseVector,
};
use crate::pack::{Example, Pack, Target};
use crate::progress::Stage;

/// How a classifier is trained; saved with the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    pub feature_space: FeatureSpace,
    /// L2 penalty of the logistic fit.
    pub alpha: f32,
    pub max_iterations: u64,
    /// The most iterations of the final fit, which starts from the validation model's weights
    /// and so needs fewer.
    pub refit_iterations: u64,
    /// How many more L-BFGS runs, each continuing from the last one's weights, a fit that has
    /// not converged gets before training gives up.
    #[serde(default = "default_recovery_rounds")]
    pub recovery_rounds: u32,
    /// A fit has converged when its gradient is at most this share of the gradient at the
    /// all-zero start.
    #[serde(default = "default_gradient_tolerance")]
    pub gradient_tolerance: f64,
    /// Share of each intent's rows held out for calibration.
    pub validation_share: f64,
    /// Folds of the cross-fitted index evidence.
    pub folds: usize,
    /// The most (rarest) terms a keyword query keeps.
    pub max_query_terms: usize,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            feature_space: FeatureSpace::default(),
            alpha: 0.2,
            max_iterations: 100,
            refit_iterations: 40,
            recovery_rounds: default_recovery_rounds(),
            gradient_tolerance: default_gradient_tolerance(),
            validation_share: 0.1,
            folds: 5,
            max_query_terms: 32,
            seed: 7,
        }
    }
}

fn default_recovery_rounds() -> u32 {
    3
}

fn default_gradient_tolerance() -> f64 {
    0.01
}

/// How the model did on the validation split, at the chosen threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationSummary {
    pub rows: usize,
    pub intent_accuracy: f64,
    pub expert_sent_direct: Option<f64>,
    pub auto_answer_precision: Option<f64>,
    pub deflection: Option<f64>,
}

/// How the two fits of a training ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fits {
    /// The fit on the training rows minus the validation split.
    pub validation: FitReport,
    /// The fit on all training rows, warm-started from the first.
    #[serde(rename = "final")]
    pub all_rows: FitReport,
}

impl Fits {
    /// Whether both fits converged.
    pub fn converged(&self) -> bool {
        self.validation.converged && self.all_rows.converged
    }

    /// The iteration limit of every L-BFGS run both fits made.
    pub fn iterations(&self) -> u64 {
        self.validation.iterations + self.all_rows.iterations
    }
}

/// A row left out because its text normalizes to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub path: PathBuf,
    pub line: u64,
}

impl fmt::Display for SkippedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// Normalizes the `examples` read from `path`, leaving out (and logging) the rows whose text
/// has no words.
pub fn rows_with_words<'a>(
    examples: &'a [Example],
    path: &Path,
) -> (Vec<(&'a Example, NormalizedText)>, Vec<SkippedRow>) {
    let mut kept = Vec::with_capacity(examples.len());
    let mut skipped = Vec::new();
    for example in examples {
        let normalized = NormalizedText::new(&example.text);
        if normalized.is_empty() {
            let row = SkippedRow {
                path: path.to_path_buf(),
                line: example.line,
            };
            tracing::warn!(row = %row, text = %example.text, "skipped a row whose text has no words");
            skipped.push(row);
        } else {
            kept.push((example, normalized));
        }
    }
    (kept, skipped)
}

/// A trained classifier and what training measured.
pub struct Trained {
    pub classifier: Classifier,
    pub options: TrainOptions,
    pub validation: ValidationSummary,
    pub fits: Fits,
    /// The training rows left out because their text has no words.
    pub skipped: Vec<SkippedRow>,
    /// The training rows the model was fitted on.
    pub training_rows: usize,
    pub seconds: f64,
}

/// The examples as training sees them.
struct Corpus<'a> {
    examples: Vec<&'a Example>,
    texts: Vec<NormalizedText>,
    lexical: Vec<SparseVector>,
    labels: Vec<usize>,
    classes: usize,
    lexical_dims: usize,
}

/// Trains a classifier on the pack's training rows.
pub fn train(pack: &Pack, options: &TrainOptions) -> Result<Trained, ClassifyError> {
    let started = Instant::now();
    let (corpus, idf, skipped) = prepare(pack, options)?;
    let (fit_rows, validation_rows) = validation_split(&corpus.labels, corpus.classes, options);
    let groups = target_groups(pack);
    let settings = FitSettings {
        alpha: options.alpha,
        max_iterations: options.max_iterations,
        recovery_rounds: options.recovery_rounds,
        gradient_tolerance: options.gradient_tolerance,
    };

    let stage = Stage::spinner("fitting the validation model");
    let fit_evidence = cross_fitted_evidence(&corpus, &fit_rows, options)?;
    let fit_x = dense_rows(&corpus, &fit_rows, &fit_evidence);
    let fit_labels: Vec<usize> = fit_rows.iter().map(|&r| corpus.labels[r]).collect();
    let (validation_model, validation_fit) =
        LogisticModel::fit(&fit_x, &fit_labels, corpus.classes, settings, None)?;
    require_convergence(pack, "validation", &validation_fit, options)?;
    drop(fit_x);
    stage.finish();

    let stage = Stage::spinner("calibrating on the validation split");
    let index = KeywordIndex::build(
        corpus.classes,
        fit_rows
            .iter()
            .map(|&r| (corpus.labels[r], &corpus.texts[r])),
        options.max_query_terms,
    )?;
    let mut validation_logits = Vec::with_capacity(validation_rows.len());
    for &row in &validation_rows {
        let evidence = index_evidence(&index.scores(&corpus.texts[row]));
        let mut logits = vec![0.0; corpus.classes];
        validation_model.sparse_logits(
            feature_row(&corpus.lexical[row], &evidence, corpus.lexical_dims),
            &mut logits,
        );
        validation_logits.push(logits);
    }
    let validation_labels: Vec<usize> = validation_rows.iter().map(|&r| corpus.labels[r]).collect();
    let (calibration, validation) =
        calibrate(pack, &groups, &validation_logits, &validation_labels);
    stage.finish();

    let stage = Stage::spinner("fitting the final model on all training rows");
    let all_rows: Vec<usize> = (0..corpus.labels.len()).collect();
    let all_evidence = cross_fitted_evidence(&corpus, &all_rows, options)?;
    let x = dense_rows(&corpus, &all_rows, &all_evidence);
    let scope = learn_scope(&corpus, &all_evidence);
    let refit = FitSettings {
        max_iterations: options.refit_iterations,
        ..settings
    };
    let (model, final_fit) = LogisticModel::fit(
        &x,
        &corpus.labels,
        corpus.classes,
        refit,
        Some(&validation_model),
    )?;
    require_convergence(pack, "final", &final_fit, options)?;
    drop(x);
    let index = KeywordIndex::build(
        corpus.classes,
        corpus.labels.iter().copied().zip(&corpus.texts),
        options.max_query_terms,
    )?;
    stage.finish();

    let memory = ExampleMemory::new(
        corpus.classes,
        &idf,
        corpus
            .examples
            .iter()
            .zip(&corpus.labels)
            .zip(&corpus.texts)
            .map(|((e, &l), normalized)| (l, e.text.as_str(), normalized)),
    );
    let mut classifier = Classifier {
        pack_name: pack.name.clone(),
        intents: pack.intents.clone(),
        group_of_intent: groups,
        escalation_queue: pack.settings.escalation_queue.clone(),
        idf,
        index,
        model,
        calibration,
        memory,
        scope: Some(scope),
        vocabulary: Vocabulary::new(&corpus.texts),
        version: String::new(),
    };
    classifier.version = super::artifact::model_version(&classifier);
    Ok(Trained {
        classifier,
        options: *options,
        validation,
        fits: Fits {
            validation: validation_fit,
            all_rows: final_fit,
        },
        skipped,
        training_rows: corpus.labels.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Refuses a fit that did not converge, saying what was tried.
fn require_convergence(
    pack: &Pack,
    which: &'static str,
    report: &FitReport,
    options: &TrainOptions,
) -> Result<(), ClassifyError> {
    if report.converged {
        return Ok(());
    }
    Err(ClassifyError::NotConverged {
        pack: pack.name.clone(),
        fit: which,
        rounds: report.rounds,
        iterations: report.iterations,
        gradient_ratio: report.gradient_ratio,
        tolerance: options.gradient_tolerance,
    })
}

/// Normalizes the training texts (skipping those without words) and weighs their n-grams.
fn prepare<'a>(
    pack: &'a Pack,
    options: &TrainOptions,
) -> Result<(Corpus<'a>, Idf, Vec<SkippedRow>), ClassifyError> {
    let stage = Stage::counted("normalizing and counting n-grams", pack.train.len() as u64);
    let space = options.feature_space;
    let (rows, skipped) = rows_with_words(&pack.train, &pack.dir.join("train.csv"));
    let mut examples = Vec::with_capacity(rows.len());
    let mut texts = Vec::with_capacity(rows.len());
    let mut counts = Vec::with_capacity(rows.len());
    for (example, text) in rows {
        counts.push(space.counts(&text));
        texts.push(text);
        examples.push(example);
        stage.advance(1);
    }
    let idf = Idf::fit(space, &counts);
    let lexical = counts.into_iter().map(|c| idf.weigh(c)).collect();
    stage.finish();
    let (labels, classes) = classes_of(pack, &examples);
    let mut has_rows = vec![false; classes];
    labels.iter().for_each(|&l| has_rows[l] = true);
    if let Some(empty) = has_rows.iter().position(|has| !has) {
        return Err(ClassifyError::NoWords {
            intent: pack.intents[empty].name.clone(),
            path: pack.dir.join("train.csv"),
        });
    }
    let corpus = Corpus {
        examples,
        texts,
        lexical,
        labels,
        classes,
        lexical_dims: space.dims(),
    };
    Ok((corpus, idf, skipped))
}

/// The class of each training row, and how many classes the model has: one per intent, in
/// the pack's order, then the out-of-scope class when the rows hold any `oos` row.
pub(super) fn classes_of(pack: &Pack, rows: &[&Example]) -> (Vec<usize>, usize) {
    let out_of_scope = pack.intents.len();
    let labels: Vec<usize> = rows
        .iter()
        .map(|e| e.intent.unwrap_or(out_of_scope))
        .collect();
    let classes = out_of_scope + usize::from(labels.contains(&out_of_scope));
    (labels, classes)
}

/// The pack's scope, from the training rows and their cross-fitted (out-of-fold) evidence,
/// whose last value is the best intent's keyword evidence.
fn learn_scope(corpus: &Corpus, evidence: &[Vec<f32>]) -> ScopeModel {
    let best: Vec<f32> = evidence
        .iter()
        .map(|e| e.last().copied().unwrap_or(0.0))
        .collect();
    ScopeModel::calibrate(
        corpus.examples.iter().map(|e| e.text.as_str()),
        &corpus.texts,
        &best,
        DEFAULT_UNLIKE_QUANTILE,
    )
}

/// A seeded hash of a row index, for splits that do not depend on row order elsewhere.
fn row_hash(seed: u64, row: usize) -> u64 {
    let mut x = seed ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    x
}

/// Splits the rows into fitting and validation rows, `validation_share` of each intent's rows
/// (none from an intent with fewer than 5, so every intent keeps rows to fit on).
fn validation_split(
    labels: &[usize],
    classes: usize,
    options: &TrainOptions,
) -> (Vec<usize>, Vec<usize>) {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (row, &label) in labels.iter().enumerate() {
        by_class[label].push(row);
    }
    let mut validation = Vec::new();
    for rows in &mut by_class {
        if rows.len() < 5 {
            continue;
        }
        rows.sort_by_key(|&row| row_hash(options.seed, row));
        let take =
            ((rows.len() as f64 * options.validation_share).round() as usize).min(rows.len() - 1);
        validation.extend_from_slice(&rows[..take]);
    }
    validation.sort_unstable();
    let fit = (0..labels.len())
        .filter(|r| validation.binary_search(r).is_err())
        .collect();
    (fit, validation)
}

/// Index evidence for each of `rows`, each scored by an index built without its fold.
fn cross_fitted_evidence(
    corpus: &Corpus,
    rows: &[usize],
    options: &TrainOptions,
) -> Result<Vec<Vec<f32>>, ClassifyError> {
    let folds = options.folds.max(2);
    let fold_of = |row: usize| (row_hash(options.seed ^ 0x5bd1_e995, row) % folds as u64) as usize;
    let mut evidence = vec![Vec::new(); rows.len()];
    for fold in 0..folds {
        let index = KeywordIndex::build(
            corpus.classes,
            rows.iter()
                .filter(|&&r| fold_of(r) != fold)
                .map(|&r| (corpus.labels[r], &corpus.texts[r])),
            options.max_query_terms,
        )?;
        for (position, &row) in rows.iter().enumerate() {
            if fold_of(row) == fold {
                evidence[position] = index_evidence(&index.scores(&corpus.texts[row]));
            }
        }
    }
    Ok(evidence)
}

/// The dense feature matrix of `rows` (linfa fits dense matrices).
fn dense_rows(corpus: &Corpus, rows: &[usize], evidence: &[Vec<f32>]) -> Array2<f32> {
    let dims = corpus.lexical_dims + corpus.classes + 1;
    let mut x = Array2::<f32>::zeros((rows.len(), dims));
    for (position, (&row, evidence)) in rows.iter().zip(evidence).enumerate() {
        for (feature, value) in feature_row(&corpus.lexical[row], evidence, corpus.lexical_dims) {
            x[[position, feature]] = value;
        }
    }
    x
}

/// Fits the temperature and the answer threshold on the validation split and summarizes how
/// the validation model does with them.
fn calibrate(
    pack: &Pack,
    groups: &[usize],
    logits: &[Vec<f32>],
    labels: &[usize],
) -> (Calibration, ValidationSummary) {
    let settings = &pack.settings;
    let temperature = if labels.is_empty() {
        1.0
    } else {
        fit_temperature(logits, labels)
    };
    let intents = pack.intents.len();
    let mut rows = Vec::with_capacity(labels.len());
    let mut probabilities = Vec::new();
    for (row_logits, &label) in logits.iter().zip(labels) {
        probabilities.resize(row_logits.len(), 0.0);
        softmax(row_logits, temperature, &mut probabilities);
        let BestTarget {
            intent: predicted,
            target_probability: confidence,
            out_of_scope,
        } = best_target(&probabilities, groups);
        let escalated = out_of_scope >= confidence;
        let truth = (label < intents).then_some(label);
        rows.push((
            predicted,
            truth,
            ValidationRow {
                confidence,
                predicted_direct: !escalated
                    && matches!(pack.intents[predicted].target, Target::StatusKind(_)),
                truly_expert: truth
                    .is_some_and(|t| matches!(pack.intents[t].target, Target::Queue(_))),
                answer_correct: truth.is_some_and(|t| groups[predicted] == groups[t]),
            },
        ));
    }
    let answer_threshold = if rows.is_empty() {
        0.5
    } else {
        let validation_rows: Vec<ValidationRow> = rows.iter().map(|(_, _, r)| *r).collect();
        choose_answer_threshold(
            &validation_rows,
            settings.max_expert_sent_direct,
            settings.min_auto_answer_precision,
        )
    };
    let predictions: Vec<Prediction> = rows
        .iter()
        .map(|(predicted, truth, row)| Prediction {
            truth: *truth,
            predicted: *predicted,
            answered: row.predicted_direct && row.confidence >= answer_threshold,
            tier_probability: row.confidence,
            language: None,
        })
        .collect();
    let metrics = Metrics::compute(&pack.intents, &predictions);
    let calibration = Calibration {
        temperature,
        answer_threshold,
        route_threshold: settings.min_route_confidence,
    };
    let summary = ValidationSummary {
        rows: labels.len(),
        intent_accuracy: metrics.intent_accuracy,
        expert_sent_direct: metrics.expert_sent_direct,
        auto_answer_precision: metrics.auto_answer_precision,
        deflection: metrics.deflection,
    };
    (calibration, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small pack on disk: three intents of 20 varied rows each, plus `extra_train` rows.
    fn small_pack(extra_train: &str, test: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, content: &str| std::fs::write(dir.path().join(name), content).unwrap();
        write(
            "intents.csv",
            "intent,tier,queue,status_kind\n\
             eta,direct,,deliverable\n\
             invoice,direct,,invoice\n\
             advice,expert,content,\n",
        );
        let things = ["report", "mockup", "banner", "audit", "draft"];
        let mut train = String::from("text,label\n");
        for (i, thing) in things.iter().cycle().take(20).enumerate() {
            train.push_str(&format!("when will the {thing} be ready {i},eta\n"));
            train.push_str(&format!(
                "has invoice {i} for the {thing} been paid,invoice\n"
            ));
            train.push_str(&format!(
                "what strategy do you advise for our {thing} {i},advice\n"
            ));
        }
        train.push_str(extra_train);
        write("train.csv", &train);
        write("test.csv", test);
        dir
    }

    /// A fit stopped early by a tiny iteration limit is continued until it converges; with
    /// no recovery allowed, training stops with an error naming the pack and what was tried.
    #[test]
    fn an_unconverged_fit_is_recovered_or_refused() {
        let dir = small_pack("", "text,label\n");
        let pack = Pack::load(dir.path()).unwrap();
        let stopped = TrainOptions {
            max_iterations: 1,
            refit_iterations: 1,
            recovery_rounds: 0,
            ..TrainOptions::default()
        };
        let Err(error) = train(&pack, &stopped) else {
            panic!("an unconverged fit was accepted");
        };
        assert!(
            matches!(error, ClassifyError::NotConverged { .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("pack `{}` did not converge", pack.name)),
            "{message}"
        );
        assert!(
            message.contains("after 1 L-BFGS run(s) of up to 1 iterations"),
            "{message}"
        );

        let recovering = TrainOptions {
            recovery_rounds: 500,
            ..stopped
        };
        let trained = train(&pack, &recovering).unwrap();
        assert!(trained.fits.converged(), "{:?}", trained.fits);
        assert!(trained.fits.validation.rounds > 1, "{:?}", trained.fits);
        assert!(
            trained.validation.intent_accuracy > 0.9,
            "{:?}",
            trained.validation
        );
    }

    /// `oos` training rows are a class of their own: a text like them is escalated as out of
    /// scope even when it shares its words with an intent ("when will the …"), the intents are
    /// still answered, and a saved model decides alike once loaded.
    #[test]
    fn out_of_scope_examples_are_a_class_of_their_own() {
        use crate::classify::{EscalationReason, Recommendation, artifact};
        let mut oos = String::new();
        let sports = ["football", "tennis", "hockey", "rugby", "cricket"];
        for (i, sport) in sports.iter().cycle().take(20).enumerate() {
            oos.push_str(&format!(
                "when will the {sport} match start on tv {i},oos\n"
            ));
        }
        let dir = small_pack(&oos, "text,label\n");
        let pack = Pack::load(dir.path()).unwrap();
        let trained = train(&pack, &TrainOptions::default()).unwrap();
        let classifier = &trained.classifier;
        let decided = |text: &str| classifier.classify(text).unwrap().outcome;
        let off_topic = decided("when will the hockey match start");
        assert!(
            matches!(
                off_topic,
                Recommendation::Escalate {
                    reason: EscalationReason::OutOfScope { .. },
                    ..
                }
            ),
            "{off_topic:?}"
        );
        assert!(
            matches!(
                decided("when will the report be ready"),
                Recommendation::Answer { .. }
            ),
            "{:?}",
            decided("when will the report be ready")
        );

        let models = tempfile::tempdir().unwrap();
        artifact::save(&trained, &pack, models.path()).unwrap();
        let loaded = artifact::load(&pack, models.path()).unwrap();
        for text in [
            "when will the hockey match start",
            "has invoice 3 been paid",
        ] {
            assert_eq!(
                loaded.classify(text).unwrap(),
                classifier.classify(text).unwrap(),
                "{text}"
            );
        }
    }

    /// Rows without words are skipped with their file and line, never a stop.
    #[test]
    fn rows_without_words_are_skipped_with_file_and_line() {
        let dir = small_pack("?,eta\n:(,advice\n。。。。。。,invoice\n", "text,label\n");
        let pack = Pack::load(dir.path()).unwrap();
        let trained = train(&pack, &TrainOptions::default()).unwrap();
        let train_csv = dir.path().join("train.csv");
        let lines: Vec<String> = trained.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [62, 63, 64].map(|line| format!("{}:{line}", train_csv.display()))
        );
        assert_eq!(trained.training_rows, 60);
    }

    /// An intent whose every row lacks words is an error naming it, not a fit failure.
    #[test]
    fn an_intent_without_rows_with_words_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("intents.csv"),
            "intent,tier,queue,status_kind\neta,direct,,deliverable\nmood,direct,,mood\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("train.csv"),
            "text,label\nwhen is it ready,eta\n:(,mood\n!!!,mood\n",
        )
        .unwrap();
        let pack = Pack::load(dir.path()).unwrap();
        let Err(error) = train(&pack, &TrainOptions::default()) else {
            panic!("trained without rows for an intent");
        };
        let message = error.to_string();
        assert!(message.contains("train.csv"), "{message}");
        assert!(
            message.contains("intent `mood` has no training row with words"),
            "{message}"
        );
    }

    #[test]
    fn validation_split_is_stratified_and_seeded() {
        let labels: Vec<usize> = (0..100)
            .map(|i| usize::from(i >= 80))
            .chain([2, 2])
            .collect();
        let options = TrainOptions::default();
        let (fit, validation) = validation_split(&labels, 3, &options);
        assert_eq!(fit.len() + validation.len(), labels.len());
        let held = |class| validation.iter().filter(|&&r| labels[r] == class).count();
        assert_eq!((held(0), held(1), held(2)), (8, 2, 0));
        assert_eq!(validation_split(&labels, 3, &options), (fit, validation));
    }
}
