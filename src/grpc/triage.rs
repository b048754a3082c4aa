//! The triage service adapter: Submit, Classify, Ping, GetInquiry and ListReplies, and the
//! entries to SubmitStream (which lives in `stream.rs`), WatchInquiry (`watch.rs`) and Feedback,
//! FeedbackLink and FeedbackSummary (`feedback.rs`).

use std::sync::Arc;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::ServiceError;
use super::app::App;
use super::convert::{
    acknowledgement_to_proto, channel_from_proto, classification_to_proto, decision_to_proto,
    inquiry_from_proto, inquiry_state_to_proto, reply_to_proto, timestamp, timestamp_to_ms,
};
use super::stream::{self, DecisionStream};
use super::watch::{InquiryStream, watch_inquiry};
use super::{activity, feedback};
use crate::helpdesk::{Caller, MAX_REPLIES_PER_READ};
use crate::intake::{Decision, Disposition, Submitted, ThreadRole};
use crate::proto::v1 as pb;
use crate::proto::v1::triage_service_server::TriageService;

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
pub(super) async fn submit_one(
    app: &App,
    caller: &Caller,
    request: pb::SubmitRequest,
) -> Result<pb::SubmitResponse, ServiceError> {
    let inquiry = inquiry_from_proto(request.inquiry, app.helpdesk.now_ms())?;
    let submitted = app.helpdesk.submit(caller, inquiry).await?;
    let acknowledgement = app.helpdesk.acknowledge(&submitted).await;
    let Submitted {
        decision,
        ticket_id,
        replayed,
    } = submitted;
    if !replayed {
        observe(app, &decision);
    }
    Ok(pb::SubmitResponse {
        decision: Some(decision_to_proto(&decision, ticket_id)),
        replayed,
        acknowledgement: acknowledgement.as_ref().map(acknowledgement_to_proto),
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
        Disposition::Attached(ticket) => (ticket.queue.as_str(), None),
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
    let role = decision.thread.as_ref().map(|thread| thread.role);
    if let Some(role) = role.filter(|role| *role != ThreadRole::Started) {
        app.metrics.observe_follow_up(role.as_str());
    }
    tracing::debug!(
        inquiry_id = %decision.inquiry_id,
        client_id = %decision.client_id,
        intent = %classification.intent,
        tier = %classification.tier,
        confidence = classification.tier_probability,
        target,
        escalation,
        thread_role = role.map(ThreadRole::as_str),
        "decided inquiry"
    );
}

#[tonic::async_trait]
impl TriageService for TriageApi {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        self.app
            .call("Submit", request, |caller, message| async move {
                submit_one(&self.app, &caller, message).await
            })
            .await
    }

    type SubmitStreamStream = DecisionStream;

    /// The server routes SubmitStream around this method, to the same handler with items
    /// decoded one by one (see `stream.rs`); here a bad item ends the stream with its status.
    async fn submit_stream(
        &self,
        request: Request<Streaming<pb::SubmitRequest>>,
    ) -> Result<Response<Self::SubmitStreamStream>, Status> {
        let request = request.map(|inbound| inbound.map(|item| item.map(Ok)));
        stream::open(Arc::clone(&self.app), request)
    }

    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        self.app
            .call("Classify", request, |caller, message| async move {
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
        self.app
            .call("Ping", request, |_, _| async { Ok(pb::PingResponse {}) })
            .await
    }

    async fn get_inquiry(
        &self,
        request: Request<pb::GetInquiryRequest>,
    ) -> Result<Response<pb::InquiryState>, Status> {
        self.app
            .call("GetInquiry", request, |caller, message| async move {
                let state = self
                    .app
                    .helpdesk
                    .inquiry(&caller, &message.inquiry_id)
                    .await?;
                Ok(inquiry_state_to_proto(&state))
            })
            .await
    }

    async fn feedback(
        &self,
        request: Request<pb::FeedbackRequest>,
    ) -> Result<Response<pb::FeedbackResponse>, Status> {
        self.app
            .call("Feedback", request, |caller, message| async move {
                feedback::rate(&self.app, &caller, message).await
            })
            .await
    }

    async fn feedback_link(
        &self,
        request: Request<pb::FeedbackLinkRequest>,
    ) -> Result<Response<pb::FeedbackLinkResponse>, Status> {
        self.app
            .call("FeedbackLink", request, |caller, message| async move {
                feedback::link(&self.app, &caller, message).await
            })
            .await
    }

    type WatchInquiryStream = InquiryStream;

    async fn watch_inquiry(
        &self,
        request: Request<pb::GetInquiryRequest>,
    ) -> Result<Response<Self::WatchInquiryStream>, Status> {
        let app = Arc::clone(&self.app);
        self.app
            .call("WatchInquiry", request, |caller, message| async move {
                let first = app.helpdesk.inquiry(&caller, &message.inquiry_id).await?;
                Ok(watch_inquiry(app, caller, message.inquiry_id, first))
            })
            .await
    }

    async fn list_replies(
        &self,
        request: Request<pb::ListRepliesRequest>,
    ) -> Result<Response<pb::ListRepliesResponse>, Status> {
        self.app
            .call("ListReplies", request, |caller, message| async move {
                let channel = channel_from_proto("channel", message.channel)?;
                let since_ms = match &message.since {
                    None => i64::MIN,
                    Some(since) => timestamp_to_ms(since)
                        .ok_or_else(|| ServiceError::invalid("since", "is not a valid time"))?,
                };
                let limit = match message.limit {
                    0 => MAX_REPLIES_PER_READ,
                    limit => usize::try_from(limit).unwrap_or(MAX_REPLIES_PER_READ),
                };
                let page = self
                    .app
                    .helpdesk
                    .replies_since(&caller, channel, since_ms, limit)
                    .await?;
                Ok(pb::ListRepliesResponse {
                    replies: page.replies.iter().map(reply_to_proto).collect(),
                    next_since: page.next_since_ms.map(timestamp),
                })
            })
            .await
    }

    async fn activity(
        &self,
        request: Request<pb::ActivityRequest>,
    ) -> Result<Response<pb::ActivityResponse>, Status> {
        self.app
            .call("Activity", request, |caller, message| async move {
                activity::report(&self.app, &caller, message).await
            })
            .await
    }

    async fn feedback_summary(
        &self,
        request: Request<pb::FeedbackSummaryRequest>,
    ) -> Result<Response<pb::FeedbackSummaryResponse>, Status> {
        self.app
            .call("FeedbackSummary", request, |caller, _| async move {
                feedback::summary(&self.app, &caller).await
            })
            .await
    }
}
