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
pub mod eval;
mod explain;
pub mod features;
pub mod index;
pub mod model;
pub mod normalize;
pub mod train;

pub use calibrate::Calibration;
pub use classifier::{Alternative, Classification, Classifier, EscalationReason, Recommendation};
pub use explain::{Explanation, NearestExample, WeightedTerm};
pub use features::{FeatureSpace, Idf, SparseVector};
pub use index::KeywordIndex;
pub use model::LogisticModel;
pub use normalize::NormalizedText;
pub use train::{TrainOptions, train};

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
    #[error("cannot use the model in {path}: {message}")]
    Model { path: PathBuf, message: String },
    #[error("cannot read or write {path}: {source}")]
    ModelIo {
        path: PathBuf,
        source: std::io::Error,
    },
}
