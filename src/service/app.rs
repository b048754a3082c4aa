//! What every RPC shares: the domain core, authentication, limits, admission and metrics, and
//! the wrapper that runs a handler under them.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tonic::metadata::MetadataMap;
use tonic::{Response, Status};

use super::convert::InquiryLimits;
use super::{Authenticator, Principal, ServiceError};
use crate::intake::{Intake, IntakeError};
use crate::pack::Queue;
use crate::route::{ErrorKind, RouteError};
use crate::telemetry::Metrics;

/// The state the gRPC services share.
pub struct App {
    pub intake: Arc<Intake>,
    pub auth: Authenticator,
    pub limits: InquiryLimits,
    pub metrics: Arc<Metrics>,
    /// The pack's queues (with the escalation queue), for checks and listings.
    pub queues: Vec<Queue>,
    pub default_lease: Duration,
    pub max_lease: Duration,
    admission: Semaphore,
    max_in_flight: usize,
}

impl App {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        intake: Arc<Intake>,
        auth: Authenticator,
        limits: InquiryLimits,
        metrics: Arc<Metrics>,
        queues: Vec<Queue>,
        default_lease: Duration,
        max_lease: Duration,
        max_in_flight: usize,
    ) -> Self {
        Self {
            intake,
            auth,
            limits,
            metrics,
            queues,
            default_lease,
            max_lease,
            admission: Semaphore::new(max_in_flight),
            max_in_flight,
        }
    }

    /// Runs one RPC: admission (overload is RESOURCE_EXHAUSTED, never a queue), the caller's
    /// deadline, authentication, the handler, metrics, and the error's status.
    pub async fn call<T, F, Fut>(
        &self,
        rpc: &'static str,
        metadata: &MetadataMap,
        handler: F,
    ) -> Result<Response<T>, Status>
    where
        F: FnOnce(Principal) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let started = Instant::now();
        let result = self.run(metadata, handler).await;
        let code = result
            .as_ref()
            .map_or_else(ServiceError::code, |_| tonic::Code::Ok);
        self.metrics.observe_request(rpc, code, started.elapsed());
        result.map(Response::new).map_err(Status::from)
    }

    async fn run<T, F, Fut>(&self, metadata: &MetadataMap, handler: F) -> Result<T, ServiceError>
    where
        F: FnOnce(Principal) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let _permit = self.admit()?;
        let deadline = grpc_timeout(metadata)?;
        let principal = self.auth.authenticate(metadata)?;
        match deadline {
            None => handler(principal).await,
            Some(timeout) => tokio::time::timeout(timeout, handler(principal))
                .await
                .unwrap_or_else(|_| Err(deadline_exceeded(timeout))),
        }
    }

    /// A permit to work, or RESOURCE_EXHAUSTED when `max_in_flight` requests already run.
    pub fn admit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ServiceError> {
        self.admission.try_acquire().map_err(|_| {
            ServiceError::ResourceExhausted(format!(
                "overloaded: {} requests in flight; retry with backoff",
                self.max_in_flight
            ))
        })
    }

    /// The queue named `name`, or NOT_FOUND naming `field`.
    pub fn queue(&self, field: &'static str, name: &str) -> Result<&Queue, ServiceError> {
        self.queues.iter().find(|q| q.name == name).ok_or_else(|| {
            ServiceError::not_found(field, format!("`{name}` is not a queue of this pack"))
        })
    }
}

fn deadline_exceeded(timeout: Duration) -> ServiceError {
    ServiceError::DeadlineExceeded(format!(
        "the caller's deadline of {timeout:?} passed before the decision"
    ))
}

/// The caller's deadline from the `grpc-timeout` header; an already spent one is an error.
fn grpc_timeout(metadata: &MetadataMap) -> Result<Option<Duration>, ServiceError> {
    let Some(value) = metadata.get("grpc-timeout") else {
        return Ok(None);
    };
    let invalid = || ServiceError::invalid("grpc-timeout", "is not a valid timeout");
    let value = value.to_str().map_err(|_| invalid())?;
    let (digits, unit) = value.split_at(value.len().saturating_sub(1));
    let amount: u64 = digits.parse().map_err(|_| invalid())?;
    let timeout = match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return Err(invalid()),
    };
    if timeout < Duration::from_micros(10) {
        return Err(deadline_exceeded(timeout));
    }
    Ok(Some(timeout))
}

impl From<RouteError> for ServiceError {
    fn from(error: RouteError) -> Self {
        let message = error.to_string();
        match error.kind() {
            ErrorKind::NotFound => ServiceError::not_found("ticket_id", message),
            ErrorKind::FailedPrecondition => ServiceError::FailedPrecondition(message),
            ErrorKind::InvalidArgument => ServiceError::invalid("request", message),
            ErrorKind::Unavailable => ServiceError::Unavailable(message),
            ErrorKind::Internal => ServiceError::Internal(message),
        }
    }
}

impl From<IntakeError> for ServiceError {
    fn from(error: IntakeError) -> Self {
        match error {
            IntakeError::UnknownClient(client) => ServiceError::not_found(
                "inquiry.client_id",
                format!("client `{client}` is unknown"),
            ),
            IntakeError::InquiryIdTaken(_) => ServiceError::AlreadyExists(error.to_string()),
            IntakeError::Classify(crate::classify::ClassifyError::EmptyText) => {
                ServiceError::invalid("inquiry.body", "has no words to classify")
            }
            IntakeError::Route(route) => route.into(),
            IntakeError::Directory(error) => ServiceError::Unavailable(error.to_string()),
            IntakeError::Classify(_) => ServiceError::Internal(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_timeout(value: &str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", value.parse().unwrap());
        metadata
    }

    /// Deadlines parse in every unit; spent or malformed ones are refused.
    #[test]
    fn grpc_timeouts_parse() {
        assert_eq!(grpc_timeout(&MetadataMap::new()).unwrap(), None);
        assert_eq!(
            grpc_timeout(&with_timeout("250m")).unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            grpc_timeout(&with_timeout("2S")).unwrap(),
            Some(Duration::from_secs(2))
        );
        assert!(matches!(
            grpc_timeout(&with_timeout("1n")),
            Err(ServiceError::DeadlineExceeded(_))
        ));
        assert!(matches!(
            grpc_timeout(&with_timeout("5x")),
            Err(ServiceError::InvalidArgument { .. })
        ));
        assert!(matches!(
            grpc_timeout(&with_timeout("m")),
            Err(ServiceError::InvalidArgument { .. })
        ));
    }
}
