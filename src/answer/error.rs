//! Why a pack's status data or answer templates could not be loaded: every error names the file,
//! and the client, entity, template or line at fault.

use std::path::PathBuf;

/// Why `status.json` or `templates.toml` could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid JSON or TOML, or does not have the documented shape; the message
    /// gives the line.
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    /// A problem with the file as a whole (its `as_of`, a missing template).
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("{path}: client {client:?}: {message}")]
    BadClient {
        path: PathBuf,
        client: String,
        message: String,
    },
    #[error("{path}: client {client:?}, entity {entity:?}: {message}")]
    BadEntity {
        path: PathBuf,
        client: String,
        entity: String,
        message: String,
    },
    /// A template, named by its table (`status_kinds.invoice`, `intents.age_limit`).
    #[error("{path}: [{table}]: {message}")]
    BadTemplate {
        path: PathBuf,
        table: String,
        message: String,
    },
}
