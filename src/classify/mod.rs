//! Classification: inquiry text → intent, tier with a calibrated probability, what to do with it,
//! and why.
//!
//! The pipeline: [`NormalizedText`] (one normalizer for index and features) → lexical features
//! ([`Idf`] over hashed word and character n-grams) plus BM25 evidence per intent from the
//! [`KeywordIndex`] → a [`LogisticModel`] → temperature-scaled probabilities → a [`Classification`]
//! whose [`Recommendation`] answers, routes or escalates. [`train()`] builds a [`Classifier`] from a pack,
//! [`artifact`] saves and loads it, [`eval`] measures it.

pub mod artifact;
mod calibrate;
mod classifier;
mod clauses;
mod closing;
pub mod eval;
mod explain;
pub mod features;
pub mod index;
pub mod language;
pub mod model;
pub mod normalize;
mod quality;
pub mod scope;
pub mod train;

pub use calibrate::Calibration;
pub use classifier::{
    Alternative, Classification, Classifier, EscalationReason, NoReplyReason, Part, Recommendation,
};
pub use explain::{Explanation, NearestExample, WeightedTerm};
pub use features::{FeatureSpace, Idf, SparseVector};
pub use index::KeywordIndex;
pub use model::LogisticModel;
pub use normalize::NormalizedText;
pub use quality::quality_warnings;
pub use train::{SkippedRow, TrainOptions, Trained, train};

use std::path::PathBuf;

/// Why classifying, training or loading a model failed.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("the text is empty or has no words")]
    EmptyText,
    #[error("keyword index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("model fit failed: {0}")]
    Fit(String),
    #[error(
        "the {fit} fit of pack `{pack}` did not converge: after {rounds} L-BFGS run(s) of up to \
         {iterations} iterations in all, each continuing from the last one's weights, the gradient \
         is still {gradient_ratio:.4} of its size at the start (converged means at most \
         {tolerance}); the features may be badly scaled or the pack too large for the iteration limits"
    )]
    NotConverged {
        pack: String,
        fit: &'static str,
        rounds: u32,
        iterations: u64,
        gradient_ratio: f64,
        tolerance: f64,
    },
    #[error("{path}: intent `{intent}` has no training row with words to learn from")]
    NoWords { intent: String, path: PathBuf },
    #[error("cannot use the model in {path}: {message}")]
    Model { path: PathBuf, message: String },
    #[error("cannot read or write {path}: {source}")]
    ModelIo {
        path: PathBuf,
        source: std::io::Error,
    },
}
