//! What every RPC shares: the domain API, authentication, admission and metrics, the wrapper
//! that runs a handler under them, and the word that shutdown has begun. The caller's deadline
//! (`grpc-timeout`) is enforced in front of every RPC ([`super::DeadlineLayer`]), not here.
//!
//! Admission is `max_in_flight` permits. A unary request that finds none is refused
//! (RESOURCE_EXHAUSTED); a stream's next item waits for one, and while it waits the stream
//! reads nothing more, so its caller is held back by HTTP/2 flow control.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
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
    admission: Arc<Semaphore>,
    max_in_flight: usize,
    /// True once shutdown has begun.
    stopping: watch::Sender<bool>,
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
            admission: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            stopping: watch::Sender::new(false),
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
        self.observe(rpc, started, &result);
        result
    }

    /// Runs `work` of a stream's item under the `permit` [`App::admission`] gave it, and
    /// counts it as [`App::serve`] counts a request.
    pub async fn serve_admitted<T>(
        &self,
        rpc: &'static str,
        permit: OwnedSemaphorePermit,
        work: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        let started = Instant::now();
        let result = work.await;
        drop(permit);
        self.observe(rpc, started, &result);
        result
    }

    /// Counts a request that started at `started` and ended with `result`.
    pub(super) fn observe<T>(
        &self,
        rpc: &'static str,
        started: Instant,
        result: &Result<T, ServiceError>,
    ) {
        let code = result
            .as_ref()
            .map_or_else(ServiceError::code, |_| tonic::Code::Ok);
        self.metrics.observe_request(rpc, code, started.elapsed());
    }

    /// Waits for a permit to work: how a stream's items are admitted (see the module).
    pub async fn admission(&self) -> Result<OwnedSemaphorePermit, ServiceError> {
        Arc::clone(&self.admission)
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::ShuttingDown("the server admits no more work".into()))
    }

    /// Tells the open streams that shutdown has begun: they stop admitting.
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// Completes once shutdown has begun.
    pub async fn shutdown_begun(&self) {
        // The sender lives as long as `self`, so waiting ends only when shutdown begins.
        let _ = self
            .stopping
            .subscribe()
            .wait_for(|stopping| *stopping)
            .await;
    }

    /// A permit to work, or RESOURCE_EXHAUSTED when `max_in_flight` requests already run.
    fn admit(&self) -> Result<OwnedSemaphorePermit, ServiceError> {
        Arc::clone(&self.admission)
            .try_acquire_owned()
            .map_err(|_| {
                ServiceError::ResourceExhausted(format!(
                    "overloaded: {} requests in flight; retry with backoff",
                    self.max_in_flight
                ))
            })
    }
}
