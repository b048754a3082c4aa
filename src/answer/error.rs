//! Why a pack's status data or answer templates could not be loaded: every error names the file,
//! and the client, entity, template or line at fault.

use std::path::{Path, PathBuf};

use crate::text::{EncodingError, quoted, utf8_text};

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
    #[error("{path}: client {}: {message}", quoted(.client))]
    BadClient {
        path: PathBuf,
        client: String,
        message: String,
    },
    #[error("{path}: client {}, entity {}: {message}", quoted(.client), quoted(.entity))]
    BadEntity {
        path: PathBuf,
        client: String,
        entity: String,
        message: String,
    },
    /// The file is not UTF-8 text; the error says where it stops being it.
    #[error("{path}: {source}")]
    Encoding {
        path: PathBuf,
        source: EncodingError,
    },
    /// A template, named by its table (`status_kinds.invoice`, `intents.age_limit`).
    #[error("{path}: [{table}]: {message}")]
    BadTemplate {
        path: PathBuf,
        table: String,
        message: String,
    },
}

/// The text of `path`: UTF-8 without a byte order mark (which JSON parsers refuse and editors
/// on Windows write), or an error saying where it is not UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String, AnswerError> {
    let bytes = std::fs::read(path).map_err(|source| AnswerError::Io {
        path: path.to_owned(),
        source,
    })?;
    utf8_text(bytes).map_err(|source| AnswerError::Encoding {
        path: path.to_owned(),
        source,
    })
}
