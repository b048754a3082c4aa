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

    /// Runs one RPC: admission (overload is RESOURCE_EXHAUSTED, never a queue), authentication,
    /// the handler, metrics, and the error's status. The caller's deadline is enforced in front
    /// of every RPC ([`super::DeadlineLayer`]).
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
        let principal = self.auth.authenticate(metadata)?;
        handler(principal).await
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
            IntakeError::Classify(_) | IntakeError::CorruptDecision(..) => {
                ServiceError::Internal(error.to_string())
            }
        }
    }
}
