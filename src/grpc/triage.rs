//! The triage service adapter: Submit, SubmitStream, Classify and Ping.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::ServiceError;
use super::app::App;
use super::convert::{classification_to_proto, decision_to_proto, inquiry_from_proto};
use crate::helpdesk::Caller;
use crate::intake::{Decision, Disposition, Submitted};
use crate::proto::v1 as pb;
use crate::proto::v1::triage_service_server::TriageService;

/// How many inquiries of one stream are decided at once.
const STREAM_CONCURRENCY: usize = 64;

/// The triage service over the shared [`App`].
#[derive(Clone)]
pub struct TriageApi {
    app: Arc<App>,
}

impl TriageApi {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

/// Submits one inquiry for `caller`: the path of a unary Submit and of each SubmitStream item.
async fn submit_one(
    app: &App,
    caller: &Caller,
    request: pb::SubmitRequest,
) -> Result<pb::SubmitResponse, ServiceError> {
    let inquiry = inquiry_from_proto(request.inquiry, app.helpdesk.now_ms())?;
    let Submitted {
        decision,
        ticket_id,
        replayed,
    } = app.helpdesk.submit(caller, inquiry).await?;
    if !replayed {
        observe(app, &decision);
    }
    Ok(pb::SubmitResponse {
        decision: Some(decision_to_proto(&decision, ticket_id)),
        replayed,
    })
}

/// Counts a new decision and logs it.
fn observe(app: &App, decision: &Decision) {
    let classification = &decision.classification;
    let (target, escalation) = match &decision.outcome {
        Disposition::Answered(answer) => (answer.status_kind.as_str(), None),
        Disposition::Queued(ticket) => (
            ticket.queue.as_str(),
            ticket.escalation.as_ref().map(|e| e.kind.as_str()),
        ),
        Disposition::NoReply(_) => ("no_reply", None),
    };
    app.metrics
        .observe_decision(classification.tier.as_str(), &classification.intent, target);
    if let Some(kind) = escalation {
        app.metrics.observe_escalation(kind);
    }
    if let Disposition::NoReply(no_reply) = &decision.outcome {
        app.metrics.observe_no_reply(&no_reply.reason_kind);
    }
    if !classification.parts.is_empty() && escalation.is_none() {
        app.metrics.observe_mixed_tiers(target);
    }
    tracing::debug!(
        inquiry_id = %decision.inquiry_id,
        client_id = %decision.client_id,
        intent = %classification.intent,
        tier = %classification.tier,
        confidence = classification.tier_probability,
        target,
        escalation,
        "decided inquiry"
    );
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

type DecisionStream = Pin<Box<dyn Stream<Item = Result<pb::SubmitStreamResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TriageService for TriageApi {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.app
            .call("Submit", &metadata, |caller| async move {
                submit_one(&self.app, &caller, message).await
            })
            .await
    }

    type SubmitStreamStream = DecisionStream;

    /// Each item takes the unary path under its own admission and metrics; the stream is
    /// refused as a whole when its caller is not authenticated or may not submit.
    async fn submit_stream(
        &self,
        request: Request<Streaming<pb::SubmitRequest>>,
    ) -> Result<Response<Self::SubmitStreamStream>, Status> {
        let (metadata, _, mut inbound) = request.into_parts();
        let caller = self.app.auth.authenticate(&metadata)?;
        caller.check_may_submit().map_err(ServiceError::from)?;
        let (sender, receiver) = mpsc::channel(STREAM_CONCURRENCY);
        let app = Arc::clone(&self.app);
        tokio::spawn(async move {
            let in_flight = Arc::new(Semaphore::new(STREAM_CONCURRENCY));
            while let Some(message) = inbound.next().await {
                let request = match message {
                    Ok(request) => request,
                    Err(status) => {
                        tracing::debug!(%status, "submit stream ended with an error");
                        break;
                    }
                };
                let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                    break;
                };
                let (app, caller, sender) = (Arc::clone(&app), caller.clone(), sender.clone());
                tokio::spawn(async move {
                    let inquiry_id = request
                        .inquiry
                        .as_ref()
                        .map(|i| i.inquiry_id.clone())
                        .unwrap_or_default();
                    let result = app
                        .serve("SubmitStream.item", Ok(caller), |caller| {
                            let app = Arc::clone(&app);
                            async move { submit_one(&app, &caller, request).await }
                        })
                        .await;
                    let _ = sender.send(Ok(stream_item(inquiry_id, result))).await;
                    drop(permit);
                });
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.app
            .call("Classify", &metadata, |caller| async move {
                let classified = self.app.helpdesk.classify(&caller, &message.text)?;
                Ok(pb::ClassifyResponse {
                    decision: Some(classification_to_proto(
                        &classified.classification,
                        &classified.explanation,
                    )),
                })
            })
            .await
    }

    async fn ping(
        &self,
        request: Request<pb::PingRequest>,
    ) -> Result<Response<pb::PingResponse>, Status> {
        let (metadata, _, _) = request.into_parts();
        self.app
            .call("Ping", &metadata, |_| async { Ok(pb::PingResponse {}) })
            .await
    }
}
