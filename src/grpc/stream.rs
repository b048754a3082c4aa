//! SubmitStream: many inquiries over one call, each decided on its own and answered in any
//! order, and how such a call reads, holds back, and ends.
//!
//! - **Items one by one.** Each item is decoded on its own ([`StreamItemCodec`]): bytes that
//!   are no SubmitRequest, invalid UTF-8 in a string, or an item over `max_message_bytes` get
//!   that item's error (INVALID_ARGUMENT, OUT_OF_RANGE) and the items after it go on. An item
//!   over [`SKIPPABLE_ITEMS`] times that limit cannot be read past: the stream ends with
//!   OUT_OF_RANGE after answering what it took.
//! - **Holding back.** The stream reads its next item only while it has one of
//!   [`STREAM_CONCURRENCY`] places and the item a place within its token's limits (its
//!   requests in flight and per second, [`super::limits`]) and then a permit of the server's
//!   admission; otherwise it reads nothing, and HTTP/2 flow control holds the caller back (see
//!   the window settings in [`crate::server`]). Items are never refused for load.
//! - **Ending.** When the caller closes its side, the stream ends OK once every item is
//!   answered. When the caller's deadline passes it ends with DEADLINE_EXCEEDED. When shutdown
//!   begins it reads no more items, answers those it took, and ends with UNAVAILABLE: the items
//!   the caller sent that got no answer were not taken, and resubmitting them is safe (an
//!   inquiry id already decided returns its decision).
//!
//! The generated service decodes items strictly (one bad item ends the call), so the server
//! serves SubmitStream through [`TriageRoutes`], which routes it here with the lenient codec and
//! every other method to the generated service.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::{Request, Response, Status, Streaming};

use super::BearerMetadata;
use super::ServiceError;
use super::app::App;
use super::deadline::CallDeadline;
use super::triage::{TriageApi, submit_one};
use crate::auth::Authenticated;
use crate::helpdesk::Caller;
use crate::proto::codec::{StreamItem, StreamItemCodec};
use crate::proto::v1 as pb;
use crate::proto::v1::triage_service_server::TriageServiceServer;

/// How many items of one stream are decided at once.
pub const STREAM_CONCURRENCY: usize = 64;

/// An item up to this many times `max_message_bytes` is read whole and answered as too large;
/// a larger one ends the stream (skipping it would mean holding it all the same).
pub const SKIPPABLE_ITEMS: usize = 4;

/// The path of SubmitStream.
const SUBMIT_STREAM: &str = "/triage.v1.TriageService/SubmitStream";

/// The responses of a stream.
pub type DecisionStream =
    Pin<Box<dyn Stream<Item = Result<pb::SubmitStreamResponse, Status>> + Send>>;

/// The triage service as the server serves it: SubmitStream with [`StreamItemCodec`], items
/// one by one, every other method by the generated service.
#[derive(Clone)]
pub struct TriageRoutes {
    generated: TriageServiceServer<TriageApi>,
    app: Arc<App>,
    max_message_bytes: usize,
}

impl TriageRoutes {
    /// The service over `app`, with messages (and stream items) up to `max_message_bytes`.
    pub fn new(app: Arc<App>, max_message_bytes: usize) -> Self {
        Self {
            generated: TriageServiceServer::new(TriageApi::new(Arc::clone(&app)))
                .max_decoding_message_size(max_message_bytes),
            app,
            max_message_bytes,
        }
    }
}

impl NamedService for TriageRoutes {
    const NAME: &'static str = <TriageServiceServer<TriageApi> as NamedService>::NAME;
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl tower::Service<http::Request<tonic::body::Body>> for TriageRoutes {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        if request.uri().path() != SUBMIT_STREAM {
            return self.generated.call(request);
        }
        let method = SubmitStreamMethod(Arc::clone(&self.app));
        let mut grpc = tonic::server::Grpc::new(StreamItemCodec::new(self.max_message_bytes))
            .max_decoding_message_size(self.max_message_bytes.saturating_mul(SKIPPABLE_ITEMS));
        Box::pin(async move { Ok(grpc.streaming(method, request).await) })
    }
}

/// SubmitStream over the lenient codec.
struct SubmitStreamMethod(Arc<App>);

impl tonic::server::StreamingService<StreamItem> for SubmitStreamMethod {
    type Response = pb::SubmitStreamResponse;
    type ResponseStream = DecisionStream;
    type Future = BoxFuture<Result<Response<DecisionStream>, Status>>;

    fn call(&mut self, request: Request<Streaming<StreamItem>>) -> Self::Future {
        let app = Arc::clone(&self.0);
        Box::pin(async move { open(app, request) })
    }
}

/// Opens a stream: the caller is refused as a whole when not authenticated or not allowed to
/// submit; otherwise its items are read and answered as the module says.
pub fn open<S>(app: Arc<App>, request: Request<S>) -> Result<Response<DecisionStream>, Status>
where
    S: Stream<Item = Result<StreamItem, Status>> + Send + Unpin + 'static,
{
    let peer = request.remote_addr();
    let (metadata, extensions, inbound) = request.into_parts();
    let who = app.auth.authenticate(&metadata, peer)?;
    who.caller.check_may_submit().map_err(ServiceError::from)?;
    let deadline = extensions.get::<CallDeadline>().map(|d| d.0);
    let (sender, receiver) = mpsc::channel(STREAM_CONCURRENCY);
    tokio::spawn(read_items(app, who, inbound, deadline, sender));
    Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
}

/// Why a stream stopped reading before its caller closed its side.
enum Stop {
    Deadline,
    Shutdown,
    /// The transport failed, or an item was too large to read past.
    Inbound(Status),
}

type Responses = mpsc::Sender<Result<pb::SubmitStreamResponse, Status>>;

/// Reads the items of a stream and answers each on its own task, until the caller closes its
/// side or the stream must stop (see the module).
async fn read_items<S>(
    app: Arc<App>,
    who: Authenticated,
    mut inbound: S,
    deadline: Option<Instant>,
    responses: Responses,
) where
    S: Stream<Item = Result<StreamItem, Status>> + Unpin,
{
    let places = Arc::new(Semaphore::new(STREAM_CONCURRENCY));
    let stop = loop {
        let next = async {
            let place = Arc::clone(&places).acquire_owned().await;
            (place, inbound.next().await)
        };
        let (place, item) = tokio::select! {
            biased;
            () = app.shutdown_begun() => break Some(Stop::Shutdown),
            () = passes(deadline) => break Some(Stop::Deadline),
            next = next => next,
        };
        let Ok(place) = place else {
            break None;
        };
        let item = match item {
            None => break None,
            Some(Err(status)) => break Some(Stop::Inbound(status)),
            Some(Ok(Err(undecoded))) => {
                let started = std::time::Instant::now();
                let result = Err(ServiceError::from(undecoded.error));
                app.observe("SubmitStream.item", started, &result);
                let response = stream_item(undecoded.inquiry_id, result);
                let _ = responses.send(Ok(response)).await;
                continue;
            }
            Some(Ok(Ok(request))) => request,
        };
        let admitted = async {
            let within_limits = who.limits.start().await;
            app.admission()
                .await
                .map(|admission| [within_limits, admission])
        };
        let permits = tokio::select! {
            biased;
            () = app.shutdown_begun() => break Some(Stop::Shutdown),
            () = passes(deadline) => break Some(Stop::Deadline),
            permits = admitted => match permits {
                Ok(permits) => permits,
                Err(_) => break Some(Stop::Shutdown),
            },
        };
        tokio::spawn(answer(
            Arc::clone(&app),
            who.caller.clone(),
            item,
            permits,
            place,
            responses.clone(),
        ));
    };
    drop(inbound);
    let status = match stop {
        None => return,
        Some(Stop::Deadline) => {
            let status = Status::from(ServiceError::DeadlineExceeded(
                "the caller's deadline passed with the stream open".into(),
            ));
            let _ = responses.send(Err(status)).await;
            return;
        }
        Some(Stop::Shutdown) => Status::from(ServiceError::ShuttingDown(
            "the server is shutting down: every item taken is answered above; resubmit the \
             others (an inquiry already decided returns its decision)"
                .into(),
        )),
        Some(Stop::Inbound(status)) => {
            tracing::debug!(%status, "submit stream cannot read on");
            Status::new(
                status.code(),
                format!("the stream cannot be read on: {}", status.message()),
            )
        }
    };
    // Every item taken is answered before the stream ends.
    let _ = places.acquire_many(STREAM_CONCURRENCY as u32).await;
    let _ = responses.send(Err(status)).await;
}

/// Completes when `deadline` passes; never without one.
async fn passes(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Decides one item under its permits (its token's and admission's) and sends its response;
/// its place in the stream is free once the response is sent.
async fn answer(
    app: Arc<App>,
    caller: Caller,
    request: pb::SubmitRequest,
    permits: [OwnedSemaphorePermit; 2],
    place: OwnedSemaphorePermit,
    responses: Responses,
) {
    let inquiry_id = request
        .inquiry
        .as_ref()
        .map(|i| i.inquiry_id.clone())
        .unwrap_or_default();
    let result = app
        .serve_admitted(
            "SubmitStream.item",
            permits,
            submit_one(&app, &caller, request),
        )
        .await;
    let _ = responses.send(Ok(stream_item(inquiry_id, result))).await;
    drop(place);
}

/// The response to one item of a stream: its decision or its error.
fn stream_item(
    inquiry_id: String,
    result: Result<pb::SubmitResponse, ServiceError>,
) -> pb::SubmitStreamResponse {
    let result = match result {
        Ok(response) => pb::submit_stream_response::Result::Response(response),
        Err(error) => {
            let status = Status::from(error);
            pb::submit_stream_response::Result::Error(pb::StreamError {
                code: status.code() as i32,
                message: status.message().to_owned(),
            })
        }
    };
    pb::SubmitStreamResponse {
        inquiry_id,
        result: Some(result),
    }
}
