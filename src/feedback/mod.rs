//! Feedback: how satisfied a client was with the answer to one inquiry (CSAT, 1–5) and how easy
//! the helpdesk made it (CES, 1–7, "The helpdesk made it easy for me to handle my issue"), with
//! an optional comment, kept with the inquiry's context (intent, queue, channel, wait, whether
//! a person answered) so that complaints and friction can be traced to where they come from.
//!
//! One rating per inquiry, under these rules ([`apply_rating`], shared by both stores):
//! - A first rating is recorded whatever its source.
//! - A later rating through the API or the signed link **changes** the rating while the change
//!   window (28 days after the answer by default) is open, and is refused after it.
//! - A rating by **email** (a reply of one digit) is recorded only as the first rating: a later
//!   email rating is refused. A mail client re-sending a message, or an auto-reply quoting the
//!   digit, would otherwise overwrite a rating the client gave deliberately; a client who wants
//!   to change an email rating uses the link or the frontend.
//!
//! The stores ([`FeedbackStore`]) apply the rules atomically with the write: the embedded one
//! in a redb file of its own (`embedded.rs`), the scaled-out one in PostgreSQL
//! (`postgres.rs`). `link.rs` signs and checks the links a client rates through without a
//! token; `summary.rs` aggregates the ratings by intent and by queue.

mod embedded;
mod link;
mod postgres;
mod summary;

pub use embedded::{EmbeddedFeedback, FEEDBACK_FILE, LINK_KEY_FILE};
pub use link::{GENERATED_KEY_BYTES, LinkError, LinkSigner, LinkTarget, MIN_KEY_BYTES};
pub use postgres::PgFeedback;
pub use summary::{AUTOMATIC, FeedbackSummary, SummaryRow};

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::intake::Channel;
use crate::postgres::PostgresError;
use crate::text::quoted;

/// The longest comment kept, in bytes.
pub const MAX_COMMENT_BYTES: usize = 2000;

/// How long after the answer a rating may be changed, by default.
pub const DEFAULT_CHANGE_WINDOW: Duration = Duration::from_secs(28 * 86_400);

/// Why feedback could not be recorded or read.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// A field of the rating is out of range.
    #[error("{field}: {message}")]
    InvalidRating {
        field: &'static str,
        message: String,
    },
    /// A second rating by email: the first one stands.
    #[error(
        "inquiry {} was already rated; a rating by email is recorded once (a re-sent mail or an \
         auto-reply must not overwrite it): change it through the feedback link",
        quoted(.0)
    )]
    AlreadyRatedByEmail(String),
    /// A change after the window closed.
    #[error("the rating of inquiry {} can no longer be changed: it was answered more than {days} days ago", quoted(.inquiry_id))]
    WindowClosed { inquiry_id: String, days: u64 },
    /// The store failed.
    #[error("feedback store: {0}")]
    Storage(String),
    /// The PostgreSQL store failed.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
}

impl FeedbackError {
    /// A failure of the store, saying what was being done.
    pub(crate) fn storage(what: impl std::fmt::Display, cause: impl std::fmt::Display) -> Self {
        Self::Storage(format!("{what}: {cause}"))
    }
}

/// A client's rating of the answer to one inquiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Satisfaction, 1 (very dissatisfied) to 5 (very satisfied).
    pub csat: u8,
    /// Effort, 1 (strongly disagree that it was easy) to 7 (strongly agree).
    pub ces: Option<u8>,
    /// What the client wrote, if anything.
    pub comment: Option<String>,
}

impl Rating {
    /// The rating checked: CSAT 1–5, CES 1–7, a comment of at most [`MAX_COMMENT_BYTES`]
    /// (blank counts as none); an error names the field.
    pub fn validated(self) -> Result<Self, FeedbackError> {
        let invalid = |field, message: String| FeedbackError::InvalidRating { field, message };
        if !(1..=5).contains(&self.csat) {
            return Err(invalid(
                "rating.csat",
                format!("must be 1 to 5, not {}", self.csat),
            ));
        }
        if let Some(ces) = self.ces
            && !(1..=7).contains(&ces)
        {
            return Err(invalid("rating.ces", format!("must be 1 to 7, not {ces}")));
        }
        let comment = self
            .comment
            .map(|comment| comment.trim().to_owned())
            .filter(|comment| !comment.is_empty());
        if let Some(comment) = &comment
            && comment.len() > MAX_COMMENT_BYTES
        {
            return Err(invalid(
                "rating.comment",
                format!(
                    "is {} bytes; at most {MAX_COMMENT_BYTES} are kept",
                    comment.len()
                ),
            ));
        }
        Ok(Self { comment, ..self })
    }
}

/// How a rating came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The gRPC API (a frontend).
    Api,
    /// A reply mail of one digit.
    Email,
    /// The signed feedback link's page.
    Link,
}

impl Source {
    /// A short, fixed name, for storage, metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Email => "email",
            Self::Link => "link",
        }
    }

    /// The source named `name` by [`Source::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Api, Self::Email, Self::Link]
            .into_iter()
            .find(|source| source.as_str() == name)
    }
}

/// A rating kept with the context of its inquiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    pub inquiry_id: String,
    pub client_id: String,
    /// The intent the inquiry was classified as.
    pub intent: String,
    /// The queue whose specialist resolved the inquiry's ticket; none for an automatic answer.
    pub queue: Option<String>,
    pub channel: Channel,
    /// From the inquiry's decision to its answer, in milliseconds (0 for an automatic answer).
    pub wait_ms: i64,
    /// A person answered (a specialist resolved its ticket), not triage.
    pub answered_by_person: bool,
    /// When the inquiry was answered, Unix milliseconds.
    pub answered_ms: i64,
    /// When the rating (or its latest change) was recorded, Unix milliseconds.
    pub rated_ms: i64,
    /// How the rating (or its latest change) came in.
    pub source: Source,
    /// How many times the rating was changed after the first.
    pub changes: u32,
    pub rating: Rating,
}

/// Where ratings are kept; every implementation applies [`apply_rating`] atomically with its
/// write, so two ratings of one inquiry at once are applied one after the other.
#[async_trait::async_trait]
pub trait FeedbackStore: Send + Sync {
    /// Records `incoming` as the first rating of its inquiry or as a change of it, under the
    /// rules (see the module) with changes allowed for `change_window` after the answer; the
    /// record as stored.
    async fn rate(
        &self,
        incoming: FeedbackRecord,
        change_window: Duration,
    ) -> Result<FeedbackRecord, FeedbackError>;

    /// The rating of `inquiry_id`, if it was rated.
    async fn rating(&self, inquiry_id: &str) -> Result<Option<FeedbackRecord>, FeedbackError>;

    /// The ratings by intent and by queue.
    async fn summary(&self) -> Result<FeedbackSummary, FeedbackError>;

    /// The key feedback links are signed with: the one kept, or `candidate`, kept from now on
    /// when none was (so every replica of a deployment signs with the same key).
    async fn link_key(&self, candidate: Vec<u8>) -> Result<Vec<u8>, FeedbackError>;
}

/// What recording `incoming` over the `existing` rating of its inquiry stores (see the module),
/// or why it is refused.
pub fn apply_rating(
    existing: Option<FeedbackRecord>,
    incoming: FeedbackRecord,
    change_window: Duration,
) -> Result<FeedbackRecord, FeedbackError> {
    let Some(existing) = existing else {
        return Ok(FeedbackRecord {
            changes: 0,
            ..incoming
        });
    };
    if incoming.source == Source::Email {
        return Err(FeedbackError::AlreadyRatedByEmail(incoming.inquiry_id));
    }
    let window_ms = i64::try_from(change_window.as_millis()).unwrap_or(i64::MAX);
    if incoming.rated_ms > existing.answered_ms.saturating_add(window_ms) {
        return Err(FeedbackError::WindowClosed {
            inquiry_id: incoming.inquiry_id,
            days: change_window.as_secs() / 86_400,
        });
    }
    Ok(FeedbackRecord {
        rating: incoming.rating,
        rated_ms: incoming.rated_ms,
        source: incoming.source,
        changes: existing.changes.saturating_add(1),
        ..existing
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(csat: u8, ces: Option<u8>, comment: Option<&str>) -> Rating {
        Rating {
            csat,
            ces,
            comment: comment.map(str::to_owned),
        }
    }

    /// Scores out of range are refused naming the field; a blank comment counts as none.
    #[test]
    fn ratings_are_validated_naming_the_field() {
        let error = rating(0, None, None).validated().unwrap_err().to_string();
        assert_eq!(error, "rating.csat: must be 1 to 5, not 0");
        let error = rating(5, Some(8), None)
            .validated()
            .unwrap_err()
            .to_string();
        assert_eq!(error, "rating.ces: must be 1 to 7, not 8");
        let long = "x".repeat(MAX_COMMENT_BYTES + 1);
        let error = rating(5, None, Some(&long)).validated().unwrap_err();
        assert!(error.to_string().starts_with("rating.comment: "), "{error}");
        let blank = rating(4, Some(7), Some("  ")).validated().unwrap();
        assert_eq!(blank, rating(4, Some(7), None));
    }

    /// Every source has a name it is read back by.
    #[test]
    fn sources_round_trip_by_name() {
        for source in [Source::Api, Source::Email, Source::Link] {
            assert_eq!(Source::from_name(source.as_str()), Some(source));
        }
        assert_eq!(Source::from_name("fax"), None);
    }
}
