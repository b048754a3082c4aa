//! The triage service adapter: Submit, SubmitStream, Classify and Ping.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::app::App;
use super::convert::{classification_to_proto, decision_to_proto, inquiry_from_proto};
use super::{Principal, ServiceError};
use crate::config::Role;
use crate::intake::{DecisionOutcome, Submitted};
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

/// Decides on one submitted inquiry for `principal`.
async fn submit_one(
    app: &App,
    principal: &Principal,
    request: pb::SubmitRequest,
) -> Result<pb::SubmitResponse, ServiceError> {
    principal.check_role(&[Role::Intake], "submit inquiries")?;
    let inquiry = inquiry_from_proto(request.inquiry, app.limits, app.intake.now_ms())?;
    principal.check_client(&inquiry.client_id)?;
    let Submitted {
        decision,
        ticket_id,
        replayed,
    } = app.intake.submit(inquiry).await?;
    if !replayed {
        observe(app, &decision);
    }
    Ok(pb::SubmitResponse {
        decision: Some(decision_to_proto(&decision, ticket_id)),
        replayed,
    })
}

/// Counts a new decision and logs it.
fn observe(app: &App, decision: &crate::intake::Decision) {
    let classification = &decision.classification;
    let (target, escalation) = match &decision.outcome {
        DecisionOutcome::Answered(answer) => (answer.status_kind.as_str(), None),
        DecisionOutcome::Queued(ticket) => (
            ticket.queue.as_str(),
            ticket.escalation.as_ref().map(|e| e.kind.as_str()),
        ),
    };
    app.metrics
        .observe_decision(classification.tier.as_str(), &classification.intent, target);
    if let Some(kind) = escalation {
        app.metrics.observe_escalation(kind);
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

type DecisionStream = Pin<Box<dyn Stream<Item = Result<pb::SubmitStreamResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TriageService for TriageApi {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.app
            .call("Submit", &metadata, |principal| async move {
                submit_one(&self.app, &principal, message).await
            })
            .await
    }

    type SubmitStreamStream = DecisionStream;

    async fn submit_stream(
        &self,
        request: Request<Streaming<pb::SubmitRequest>>,
    ) -> Result<Response<Self::SubmitStreamStream>, Status> {
        let (metadata, _, mut inbound) = request.into_parts();
        let principal = self
            .app
            .auth
            .authenticate(&metadata)
            .map_err(Status::from)?;
        principal
            .check_role(&[Role::Intake], "submit inquiries")
            .map_err(Status::from)?;
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
                let (app, principal, sender) =
                    (Arc::clone(&app), principal.clone(), sender.clone());
                tokio::spawn(async move {
                    let inquiry_id = request
                        .inquiry
                        .as_ref()
                        .map(|i| i.inquiry_id.clone())
                        .unwrap_or_default();
                    let started = std::time::Instant::now();
                    let result = match app.admit() {
                        Ok(_admitted) => submit_one(&app, &principal, request).await,
                        Err(error) => Err(error),
                    };
                    let code = result
                        .as_ref()
                        .map_or_else(ServiceError::code, |_| tonic::Code::Ok);
                    app.metrics
                        .observe_request("SubmitStream.item", code, started.elapsed());
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
                    let _ = sender
                        .send(Ok(pb::SubmitStreamResponse {
                            inquiry_id,
                            result: Some(result),
                        }))
                        .await;
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
            .call("Classify", &metadata, |principal| async move {
                principal.check_role(&[Role::Intake, Role::Specialist], "classify")?;
                if message.text.len() > self.app.limits.max_text_bytes {
                    return Err(ServiceError::invalid(
                        "text",
                        format!(
                            "is {} bytes, over the limit of {}",
                            message.text.len(),
                            self.app.limits.max_text_bytes
                        ),
                    ));
                }
                if message.text.trim().is_empty() {
                    return Err(ServiceError::invalid("text", "is empty"));
                }
                let (classification, explanation) = self.app.intake.dry_run(&message.text)?;
                Ok(pb::ClassifyResponse {
                    decision: Some(classification_to_proto(&classification, &explanation)),
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
