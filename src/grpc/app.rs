//! What every RPC shares: the domain API, authentication, admission and metrics, and the
//! wrapper that runs a handler under them. The caller's deadline (`grpc-timeout`) is enforced
//! in front of every RPC ([`super::DeadlineLayer`]), not here.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tonic::metadata::MetadataMap;
use tonic::{Response, Status};

use super::{Authenticator, ServiceError};
use crate::helpdesk::{Caller, Helpdesk};
use crate::telemetry::Metrics;

/// The state the gRPC services share.
pub struct App {
    pub helpdesk: Arc<Helpdesk>,
    pub auth: Authenticator,
    pub metrics: Arc<Metrics>,
    admission: Semaphore,
    max_in_flight: usize,
}

impl App {
    /// The services over `helpdesk`, running at most `max_in_flight` requests at once.
    pub fn new(
        helpdesk: Arc<Helpdesk>,
        auth: Authenticator,
        metrics: Arc<Metrics>,
        max_in_flight: usize,
    ) -> Self {
        Self {
            helpdesk,
            auth,
            metrics,
            admission: Semaphore::new(max_in_flight),
            max_in_flight,
        }
    }

    /// Runs one unary RPC: authentication, then [`App::serve`].
    pub async fn call<T, F, Fut>(
        &self,
        rpc: &'static str,
        metadata: &MetadataMap,
        handler: F,
    ) -> Result<Response<T>, Status>
    where
        F: FnOnce(Caller) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let caller = self.auth.authenticate(metadata);
        self.serve(rpc, caller, handler)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    /// Runs one request of an authenticated (or refused) caller: admission (overload is
    /// RESOURCE_EXHAUSTED, never a queue), the handler, and its metrics.
    pub async fn serve<T, F, Fut>(
        &self,
        rpc: &'static str,
        caller: Result<Caller, ServiceError>,
        handler: F,
    ) -> Result<T, ServiceError>
    where
        F: FnOnce(Caller) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let started = Instant::now();
        let result = match (self.admit(), caller) {
            (Ok(_permit), Ok(caller)) => handler(caller).await,
            (Err(error), _) | (_, Err(error)) => Err(error),
        };
        let code = result
            .as_ref()
            .map_or_else(ServiceError::code, |_| tonic::Code::Ok);
        self.metrics.observe_request(rpc, code, started.elapsed());
        result
    }

    /// A permit to work, or RESOURCE_EXHAUSTED when `max_in_flight` requests already run.
    fn admit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ServiceError> {
        self.admission.try_acquire().map_err(|_| {
            ServiceError::ResourceExhausted(format!(
                "overloaded: {} requests in flight; retry with backoff",
                self.max_in_flight
            ))
        })
    }
}
