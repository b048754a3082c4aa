//! The one error of the domain API, and the kind each error is of.
//!
//! Every operation of [`Helpdesk`](super::Helpdesk) fails with a [`HelpdeskError`]; an adapter
//! maps its [`ErrorKind`] to its own codes (gRPC statuses, HTTP statuses) in one place.
//! Messages say what failed and name the field.

use crate::answer::DirectoryError;
use crate::classify::ClassifyError;
use crate::feedback::FeedbackError;
use crate::intake::IntakeError;
use crate::route::RouteError;
use crate::text::quoted;

/// Why an operation of the helpdesk failed.
#[derive(Debug, thiserror::Error)]
pub enum HelpdeskError {
    /// A field of the request is not acceptable.
    #[error("{field}: {message}")]
    InvalidArgument {
        field: &'static str,
        message: String,
    },
    /// A field names something that does not exist.
    #[error("{field}: {message}")]
    NotFound {
        field: &'static str,
        message: String,
    },
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    #[error("inquiry {} was already submitted by another client", quoted(.0))]
    InquiryIdTaken(String),
    /// The ticket queues refused or failed the operation.
    #[error(transparent)]
    Queue(#[from] RouteError),
    /// The client directory did not answer.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Classify(ClassifyError),
    /// A stored record (a decision, a ticket's payload) cannot be read.
    #[error("{0}")]
    CorruptRecord(String),
    /// An inquiry that was not answered cannot be rated.
    #[error("{0}")]
    NotAnswered(String),
    /// A rating is not acceptable, is refused by the rules, or could not be kept.
    #[error(transparent)]
    Feedback(#[from] FeedbackError),
}

/// The class of a [`HelpdeskError`], which adapters map to their status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    FailedPrecondition,
    Unavailable,
    Internal,
}

impl HelpdeskError {
    /// An invalid field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field,
            message: message.into(),
        }
    }

    /// A field naming something that does not exist.
    pub fn not_found(field: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            field,
            message: message.into(),
        }
    }

    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::InquiryIdTaken(_) => ErrorKind::AlreadyExists,
            Self::Queue(error) => match error.kind() {
                crate::route::ErrorKind::NotFound => ErrorKind::NotFound,
                crate::route::ErrorKind::FailedPrecondition => ErrorKind::FailedPrecondition,
                crate::route::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                crate::route::ErrorKind::Unavailable => ErrorKind::Unavailable,
                crate::route::ErrorKind::Internal => ErrorKind::Internal,
            },
            Self::Directory(_) => ErrorKind::Unavailable,
            Self::Classify(_) | Self::CorruptRecord(_) => ErrorKind::Internal,
            Self::NotAnswered(_) => ErrorKind::FailedPrecondition,
            Self::Feedback(error) => match error {
                FeedbackError::InvalidRating { .. } => ErrorKind::InvalidArgument,
                FeedbackError::AlreadyRatedByEmail(_) | FeedbackError::WindowClosed { .. } => {
                    ErrorKind::FailedPrecondition
                }
                FeedbackError::Postgres(crate::postgres::PostgresError::Unavailable(_)) => {
                    ErrorKind::Unavailable
                }
                FeedbackError::Storage(_) | FeedbackError::Postgres(_) => ErrorKind::Internal,
            },
        }
    }

    /// The request field the error is about, when it is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidArgument { field, .. } | Self::NotFound { field, .. } => Some(field),
            Self::Feedback(FeedbackError::InvalidRating { field, .. }) => Some(field),
            Self::Queue(error) => match error.kind() {
                crate::route::ErrorKind::NotFound => Some("ticket_id"),
                crate::route::ErrorKind::InvalidArgument => Some("request"),
                _ => None,
            },
            _ => None,
        }
    }
}

impl From<ClassifyError> for HelpdeskError {
    fn from(error: ClassifyError) -> Self {
        match error {
            ClassifyError::EmptyText => Self::invalid("text", "has no words to classify"),
            error => Self::Classify(error),
        }
    }
}

impl From<IntakeError> for HelpdeskError {
    fn from(error: IntakeError) -> Self {
        match error {
            IntakeError::UnknownClient(client) => Self::not_found(
                "inquiry.client_id",
                format!("client {} is unknown", quoted(&client)),
            ),
            IntakeError::InquiryIdTaken(inquiry_id) => Self::InquiryIdTaken(inquiry_id),
            IntakeError::Classify(ClassifyError::EmptyText) => {
                Self::invalid("inquiry.body", "has no words to classify")
            }
            IntakeError::Classify(error) => Self::Classify(error),
            IntakeError::Route(error) => Self::Queue(error),
            IntakeError::Directory(error) => Self::Directory(error),
        }
    }
}
