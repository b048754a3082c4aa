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

use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::calibrate::{
    Calibration, ValidationRow, choose_answer_threshold, fit_temperature, softmax,
};
use super::classifier::{feature_row, index_evidence, target_groups};
use super::eval::{Metrics, Prediction};
use super::explain::ExampleMemory;
use super::model::{FitSettings, argmax};
use super::scope::{DEFAULT_UNLIKE_QUANTILE, ScopeModel, Vocabulary};
use super::{
    Classifier, ClassifyError, FeatureSpace, Idf, KeywordIndex, LogisticModel, NormalizedText,
    SparseVector,
};
use crate::pack::{Pack, Target};
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
            validation_share: 0.1,
            folds: 5,
            max_query_terms: 32,
            seed: 7,
        }
    }
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

/// A trained classifier and what training measured.
pub struct Trained {
    pub classifier: Classifier,
    pub options: TrainOptions,
    pub validation: ValidationSummary,
    pub seconds: f64,
}

/// The examples as training sees them.
struct Corpus {
    texts: Vec<NormalizedText>,
    lexical: Vec<SparseVector>,
    labels: Vec<usize>,
    classes: usize,
    lexical_dims: usize,
}

/// Trains a classifier on the pack's training rows.
pub fn train(pack: &Pack, options: &TrainOptions) -> Result<Trained, ClassifyError> {
    let started = Instant::now();
    let (corpus, idf) = prepare(pack, options);
    let (fit_rows, validation_rows) = validation_split(&corpus.labels, corpus.classes, options);
    let groups = target_groups(pack);
    let settings = FitSettings {
        alpha: options.alpha,
        max_iterations: options.max_iterations,
    };

    let stage = Stage::spinner("fitting the validation model");
    let fit_evidence = cross_fitted_evidence(&corpus, &fit_rows, options)?;
    let fit_x = dense_rows(&corpus, &fit_rows, &fit_evidence);
    let fit_labels: Vec<usize> = fit_rows.iter().map(|&r| corpus.labels[r]).collect();
    let validation_model = LogisticModel::fit(&fit_x, &fit_labels, corpus.classes, settings, None)?;
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
    let scope = learn_scope(pack, &corpus, &all_evidence);
    let refit = FitSettings {
        max_iterations: options.refit_iterations,
        ..settings
    };
    let model = LogisticModel::fit(
        &x,
        &corpus.labels,
        corpus.classes,
        refit,
        Some(&validation_model),
    )?;
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
        pack.train
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
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Normalizes the training texts and weighs their n-grams.
fn prepare(pack: &Pack, options: &TrainOptions) -> (Corpus, Idf) {
    let stage = Stage::counted("normalizing and counting n-grams", pack.train.len() as u64);
    let space = options.feature_space;
    let mut texts = Vec::with_capacity(pack.train.len());
    let mut counts = Vec::with_capacity(pack.train.len());
    for example in &pack.train {
        let text = NormalizedText::new(&example.text);
        counts.push(space.counts(&text));
        texts.push(text);
        stage.advance(1);
    }
    let idf = Idf::fit(space, &counts);
    let lexical = counts.into_iter().map(|c| idf.weigh(c)).collect();
    stage.finish();
    let labels = pack
        .train
        .iter()
        .map(|e| e.intent.expect("training rows are in scope"))
        .collect();
    let corpus = Corpus {
        texts,
        lexical,
        labels,
        classes: pack.intents.len(),
        lexical_dims: space.dims(),
    };
    (corpus, idf)
}

/// The pack's scope, from the training rows and their cross-fitted (out-of-fold) evidence,
/// whose last value is the best intent's keyword evidence.
fn learn_scope(pack: &Pack, corpus: &Corpus, evidence: &[Vec<f32>]) -> ScopeModel {
    let best: Vec<f32> = evidence
        .iter()
        .map(|e| e.last().copied().unwrap_or(0.0))
        .collect();
    ScopeModel::calibrate(
        pack.train.iter().map(|e| e.text.as_str()),
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
    let mut rows = Vec::with_capacity(labels.len());
    let mut probabilities = vec![0.0; pack.intents.len()];
    for (row_logits, &truth) in logits.iter().zip(labels) {
        softmax(row_logits, temperature, &mut probabilities);
        let predicted = argmax(&probabilities);
        let confidence = groups
            .iter()
            .zip(&probabilities)
            .filter(|(g, _)| **g == groups[predicted])
            .map(|(_, p)| p)
            .sum();
        rows.push((
            predicted,
            ValidationRow {
                confidence,
                predicted_direct: matches!(pack.intents[predicted].target, Target::StatusKind(_)),
                truly_expert: matches!(pack.intents[truth].target, Target::Queue(_)),
                answer_correct: groups[predicted] == groups[truth],
            },
        ));
    }
    let answer_threshold = if rows.is_empty() {
        0.5
    } else {
        let validation_rows: Vec<ValidationRow> = rows.iter().map(|(_, r)| *r).collect();
        choose_answer_threshold(
            &validation_rows,
            settings.max_expert_sent_direct,
            settings.min_auto_answer_precision,
        )
    };
    let predictions: Vec<Prediction> = rows
        .iter()
        .zip(labels)
        .map(|((predicted, row), &truth)| Prediction {
            truth: Some(truth),
            predicted: *predicted,
            answered: row.predicted_direct && row.confidence >= answer_threshold,
            tier_probability: row.confidence,
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
