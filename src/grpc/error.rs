//! The one place where errors become gRPC statuses.
//!
//! Handlers return [`ServiceError`]: the domain's [`HelpdeskError`], by its kind, or what only
//! the adapter knows (a malformed message or stream item, a missing token, a token over its
//! limits, overload, shutdown, a passed deadline). Messages say what
//! failed and name the field; internal errors are logged here with their cause and the client
//! gets a plain message.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::helpdesk::{ErrorKind, HelpdeskError};
use crate::proto::codec::ItemError;
use crate::text::truncated;

/// The longest status message sent, in bytes. Messages quote a caller's values cut short
/// (`crate::text::quoted`); this cap keeps any message, however it was built, far below the
/// 16 KiB of metadata a gRPC client accepts, past which it sees "Stream removed" instead of
/// the status.
const MAX_MESSAGE_BYTES: usize = 1024;

/// An error a request ends with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field of the message cannot be translated into the domain's terms.
    #[error("{field}: {message}")]
    InvalidArgument {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    ResourceExhausted(String),
    /// A caller over its token's limits, told when to retry.
    #[error("{message}")]
    Limited {
        message: String,
        retry_after: Duration,
    },
    /// The server is shutting down and takes no more work.
    #[error("{0}")]
    ShuttingDown(String),
    /// The caller's deadline passed.
    #[error("{0}")]
    DeadlineExceeded(String),
    /// An item of a stream that is not a request.
    #[error(transparent)]
    Item(#[from] ItemError),
    #[error(transparent)]
    Helpdesk(#[from] HelpdeskError),
}

impl ServiceError {
    /// An invalid field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field,
            message: message.into(),
        }
    }

    /// The gRPC code of the error.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument { .. } => Code::InvalidArgument,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::ResourceExhausted(_) | Self::Limited { .. } => Code::ResourceExhausted,
            Self::ShuttingDown(_) => Code::Unavailable,
            Self::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Self::Item(ItemError::Undecodable(_)) => Code::InvalidArgument,
            Self::Item(ItemError::TooLarge { .. }) => Code::OutOfRange,
            Self::Helpdesk(error) => match error.kind() {
                ErrorKind::InvalidArgument => Code::InvalidArgument,
                ErrorKind::NotFound => Code::NotFound,
                ErrorKind::AlreadyExists => Code::AlreadyExists,
                ErrorKind::PermissionDenied => Code::PermissionDenied,
                ErrorKind::FailedPrecondition => Code::FailedPrecondition,
                ErrorKind::Unavailable => Code::Unavailable,
                ErrorKind::Internal => Code::Internal,
            },
        }
    }

    /// The message the client reads: the field first when the error names one.
    fn message(&self) -> String {
        match self {
            Self::Helpdesk(error @ HelpdeskError::Queue(_)) => match error.field() {
                Some(field) => format!("{field}: {error}"),
                None => error.to_string(),
            },
            error => error.to_string(),
        }
    }
}

impl From<crate::auth::Unauthenticated> for ServiceError {
    fn from(error: crate::auth::Unauthenticated) -> Self {
        Self::Unauthenticated(error.0)
    }
}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        if code == Code::Internal {
            tracing::error!(error = %error, "internal error");
            return Status::internal("internal error; the server log has the cause");
        }
        if let ServiceError::Limited {
            message,
            retry_after,
        } = error
        {
            return limited(
                truncated(&message, MAX_MESSAGE_BYTES).to_owned(),
                retry_after,
            );
        }
        Status::new(code, truncated(&error.message(), MAX_MESSAGE_BYTES))
    }
}

/// RESOURCE_EXHAUSTED with when to retry, as gRPC's `RetryInfo` detail and as `retry-after`
/// metadata in whole seconds (rounded up) for clients that read no details.
fn limited(message: String, retry_after: Duration) -> Status {
    let mut status = Status::with_error_details(
        Code::ResourceExhausted,
        message,
        ErrorDetails::with_retry_info(Some(retry_after)),
    );
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    status
        .metadata_mut()
        .insert("retry-after", seconds.max(1).into());
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::RouteError;

    /// Field errors name the field; internal causes do not reach the client.
    #[test]
    fn statuses_carry_code_and_message() {
        let status = Status::from(ServiceError::invalid(
            "lease",
            "must be a positive duration",
        ));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "lease: must be a positive duration");
        let status = Status::from(ServiceError::from(HelpdeskError::invalid(
            "inquiry.body",
            "is empty",
        )));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "inquiry.body: is empty");
        let status = Status::from(ServiceError::from(HelpdeskError::CorruptRecord(
            "disk /var/x failed".into(),
        )));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("/var/x"));
    }

    /// A rating refused by the rules is FAILED_PRECONDITION saying why; a score out of range is
    /// INVALID_ARGUMENT naming its field.
    #[test]
    fn feedback_errors_map_to_their_codes() {
        use crate::feedback::FeedbackError;
        let twice = Status::from(ServiceError::from(HelpdeskError::from(
            FeedbackError::AlreadyRatedByEmail("i1".into()),
        )));
        assert_eq!(twice.code(), Code::FailedPrecondition);
        assert!(
            twice.message().contains("recorded once"),
            "{}",
            twice.message()
        );
        let late = ServiceError::from(HelpdeskError::from(FeedbackError::WindowClosed {
            inquiry_id: "i1".into(),
            days: 28,
        }));
        assert_eq!(late.code(), Code::FailedPrecondition);
        let open = ServiceError::from(HelpdeskError::NotAnswered("not yet".into()));
        assert_eq!(open.code(), Code::FailedPrecondition);
        let range = Status::from(ServiceError::from(HelpdeskError::from(
            FeedbackError::InvalidRating {
                field: "rating.csat",
                message: "must be 1 to 5, not 9".into(),
            },
        )));
        assert_eq!(range.code(), Code::InvalidArgument);
        assert_eq!(range.message(), "rating.csat: must be 1 to 5, not 9");
    }

    /// A caller over its limits learns when to retry, in the details and in the metadata.
    #[test]
    fn limited_callers_get_a_retry_hint() {
        let status = Status::from(ServiceError::Limited {
            message: "token \"web\" is over its limit".into(),
            retry_after: Duration::from_millis(1500),
        });
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "token \"web\" is over its limit");
        let retry = status.get_details_retry_info().expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(Duration::from_millis(1500)));
        assert_eq!(status.metadata().get("retry-after").unwrap(), "2");
    }

    /// Each domain error kind has its code.
    #[test]
    fn domain_errors_map_to_their_codes() {
        let cases = [
            (HelpdeskError::not_found("queue", "x"), Code::NotFound),
            (
                HelpdeskError::PermissionDenied("x".into()),
                Code::PermissionDenied,
            ),
            (
                HelpdeskError::InquiryIdTaken("i".into()),
                Code::AlreadyExists,
            ),
            (
                HelpdeskError::Directory(crate::answer::DirectoryError("down".into())),
                Code::Unavailable,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(ServiceError::from(error).code(), code);
        }
        let gone = Status::from(ServiceError::from(HelpdeskError::from(
            RouteError::NotFound(5),
        )));
        assert_eq!(gone.code(), Code::NotFound);
        assert_eq!(gone.message(), "ticket_id: ticket 5 not found");
        let stale =
            ServiceError::from(HelpdeskError::from(RouteError::StaleLease { ticket_id: 5 }));
        assert_eq!(stale.code(), Code::FailedPrecondition);
    }
}
