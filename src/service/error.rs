//! The one place where errors become gRPC statuses.
//!
//! Handlers and the domain return [`ServiceError`]; each variant has one gRPC code. Messages say
//! what failed and name the field; internal errors are logged here with their cause and the
//! client gets a plain message.

use tonic::{Code, Status};

/// An error a request ends with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{field}: {message}")]
    InvalidArgument {
        field: &'static str,
        message: String,
    },
    #[error("{field}: {message}")]
    NotFound {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
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

    /// The gRPC code of the error.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument { .. } => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists(_) => Code::AlreadyExists,
            Self::FailedPrecondition(_) => Code::FailedPrecondition,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::ResourceExhausted(_) => Code::ResourceExhausted,
            Self::Unavailable(_) => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        if code == Code::Internal {
            tracing::error!(error = %error, "internal error");
            return Status::internal("internal error; the server log has the cause");
        }
        Status::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field errors name the field; internal causes do not reach the client.
    #[test]
    fn statuses_carry_code_and_message() {
        let status = Status::from(ServiceError::invalid("inquiry.body", "is empty"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "inquiry.body: is empty");
        let status = Status::from(ServiceError::Internal("disk /var/x failed".into()));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("/var/x"));
    }
}
