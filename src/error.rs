//! The crate's error type: one variant per module's error, each module's own enum inside.

use crate::classify::ClassifyError;
use crate::pack::PackError;

/// Any error of the triage library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Classify(#[from] ClassifyError),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
