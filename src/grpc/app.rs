//! What every RPC shares: the domain API, authentication, the per-token limits, admission and
//! metrics, the wrapper that runs a handler under them, and the word that shutdown has begun.
//! The caller's deadline (`grpc-timeout`) is enforced in front of every RPC
//! ([`super::DeadlineLayer`]), not here.
//!
//! A request passes its token's limits ([`super::limits`]) first, then admission: so a caller
//! over its own limits is refused without taking a place another caller could have had.
//! Admission is `max_in_flight` permits. A unary request that finds none is refused
//! (RESOURCE_EXHAUSTED); a stream's next item waits for one, and while it waits the stream
//! reads nothing more, so its caller is held back by HTTP/2 flow control.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tonic::{Request, Response, Status};

use super::{BearerMetadata, ServiceError};
use crate::auth::{Authenticated, Authenticator};
use crate::helpdesk::{Caller, Helpdesk};
use crate::telemetry::Metrics;

/// The state the gRPC services share.
pub struct App {
    pub helpdesk: Arc<Helpdesk>,
    /// Shared with the console, whose sign-in takes the same tokens.
    pub auth: Arc<Authenticator>,
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
            auth: Arc::new(auth),
            metrics,
            admission: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            stopping: watch::Sender::new(false),
        }
    }

    /// Runs one unary RPC: authentication, the token's limits, admission (each refusal an
    /// error, never a queue), the handler with the caller and the message, and its metrics.
    pub async fn call<M, T, F, Fut>(
        &self,
        rpc: &'static str,
        request: Request<M>,
        handler: F,
    ) -> Result<Response<T>, Status>
    where
        F: FnOnce(Caller, M) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let started = Instant::now();
        let peer = request.remote_addr();
        let (metadata, _, message) = request.into_parts();
        let result = match self.auth.authenticate(&metadata, peer) {
            Ok(who) => self.run(who, |caller| handler(caller, message)).await,
            Err(error) => Err(error),
        };
        self.observe(rpc, started, &result);
        result.map(Response::new).map_err(Status::from)
    }

    /// Runs `handler` for `who` once its token's limits and admission let it.
    async fn run<T, F, Fut>(&self, who: Authenticated, handler: F) -> Result<T, ServiceError>
    where
        F: FnOnce(Caller) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let _place = who.limits.try_start().map_err(|(refusal, retry_after)| {
            self.metrics
                .observe_limited(&who.caller.name, refusal.limit());
            ServiceError::Limited {
                message: format!(
                    "token {:?} {refusal}; retry in {} ms",
                    who.caller.name,
                    retry_after.as_millis().max(1)
                ),
                retry_after,
            }
        })?;
        let _permit = self.admit()?;
        handler(who.caller).await
    }

    /// Runs `work` of a stream's item under the `permits` its token's limits and
    /// [`App::admission`] gave it, and counts it as [`App::call`] counts a request.
    pub async fn serve_admitted<T>(
        &self,
        rpc: &'static str,
        permits: [OwnedSemaphorePermit; 2],
        work: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        let started = Instant::now();
        let result = work.await;
        drop(permits);
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
