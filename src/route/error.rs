//! `RouteError`: every way a queue call can fail, grouped so the service can map each
//! variant to one gRPC status code (see [`RouteError::kind`]).

use thiserror::Error;

/// Failure of a queue call. Cloneable so one failed batch can report to every caller in it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    /// No live ticket has this id (it never existed, was resolved or was dead-lettered).
    #[error("ticket {0} not found")]
    NotFound(u64),
    /// The ticket has no lease, or its lease belongs to someone else.
    #[error("ticket {ticket_id} is not leased by {holder}")]
    NotLeased { ticket_id: u64, holder: String },
    /// The lease token does not match the ticket's current lease. The token is a secret, so
    /// the error does not repeat it.
    #[error("the lease token is not the current lease of ticket {ticket_id}")]
    StaleLease { ticket_id: u64 },
    /// The lease ran out before the operation (any of extend, resolve, release, reroute).
    #[error("lease on ticket {ticket_id} expired at {expires_ms} ms")]
    LeaseExpired { ticket_id: u64, expires_ms: i64 },
    /// The caller passed something the queue cannot accept.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The writer thread is gone (stopped after a failed commit, or shut down).
    #[error("route queue unavailable: {0}")]
    Unavailable(String),
    /// The shared engines were set up with settings this replica does not have.
    #[error("{0}")]
    SettingsDiffer(String),
    /// The database failed, or holds a record that cannot be decoded.
    #[error("route storage failed: {0}")]
    Storage(String),
    /// Reading or writing the database's file failed (a full disk, an I/O error): the store
    /// refuses every call until its file is opened anew, which the writer does by itself.
    #[error("route storage I/O failed: {0}")]
    Io(String),
}

/// The gRPC-shaped class of a [`RouteError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    FailedPrecondition,
    InvalidArgument,
    Unavailable,
    Internal,
}

impl RouteError {
    /// The message of a panic caught inside the store (redb panics on some damaged pages).
    pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
        payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("no message")
    }

    /// Which gRPC status class this error belongs to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::NotLeased { .. }
            | Self::StaleLease { .. }
            | Self::LeaseExpired { .. }
            | Self::SettingsDiffer(_) => ErrorKind::FailedPrecondition,
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::Unavailable(_) | Self::Io(_) => ErrorKind::Unavailable,
            Self::Storage(_) => ErrorKind::Internal,
        }
    }

    /// A storage failure while `what` was being done.
    pub(crate) fn storage(what: impl std::fmt::Display, err: impl std::fmt::Display) -> Self {
        Self::Storage(format!("{what} failed: {err}"))
    }
}

/// A failure of the file itself is [`RouteError::Io`]; any other redb failure is
/// [`RouteError::Storage`], with redb's message.
impl From<redb::StorageError> for RouteError {
    fn from(err: redb::StorageError) -> Self {
        match err {
            redb::StorageError::Io(_) | redb::StorageError::PreviousIo => Self::Io(err.to_string()),
            err => Self::Storage(err.to_string()),
        }
    }
}

/// Converts each redb error type that may wrap a [`redb::StorageError`] as that one, the
/// others into [`RouteError::Storage`].
macro_rules! storage_from {
    ($($ty:ident),+ $(,)?) => {$(
        impl From<redb::$ty> for RouteError {
            fn from(err: redb::$ty) -> Self {
                match err {
                    redb::$ty::Storage(storage) => storage.into(),
                    err => Self::Storage(err.to_string()),
                }
            }
        }
    )+};
}

storage_from!(TableError, TransactionError, CommitError, DatabaseError);

impl From<redb::SetDurabilityError> for RouteError {
    fn from(err: redb::SetDurabilityError) -> Self {
        Self::Storage(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lease failures all map to FailedPrecondition, storage failures to Internal.
    #[test]
    fn kinds_group_variants_for_grpc() {
        let stale = RouteError::StaleLease { ticket_id: 1 };
        assert_eq!(stale.kind(), ErrorKind::FailedPrecondition);
        assert_eq!(RouteError::NotFound(1).kind(), ErrorKind::NotFound);
        assert_eq!(
            RouteError::storage("reading ticket 1", "disk gone").kind(),
            ErrorKind::Internal
        );
    }

    /// The message names the ticket and the holder, lowercase.
    #[test]
    fn not_leased_message_names_ticket_and_holder() {
        let err = RouteError::NotLeased {
            ticket_id: 42,
            holder: "alice".into(),
        };
        assert_eq!(err.to_string(), "ticket 42 is not leased by alice");
    }
}
