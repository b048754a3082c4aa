//! The specialist service adapter: claim, extend, resolve, release and reroute tickets, list
//! the queues, and list, redrive and discard dead letters, each translated to the domain API.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use super::ServiceError;
use super::app::App;
use super::convert::{
    claimed_ticket_to_proto, closing_from_proto, dead_letter_to_proto, duration_from_proto,
    held_ticket_from_proto, queue_report_to_proto, timestamp,
};
use crate::proto::v1 as pb;
use crate::proto::v1::specialist_service_server::SpecialistService;

/// The specialist service over the shared [`App`].
#[derive(Clone)]
pub struct SpecialistApi {
    app: Arc<App>,
}

impl SpecialistApi {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

/// The lease a request asks for, if it asks for one.
fn lease(lease: Option<&prost_types::Duration>) -> Result<Option<Duration>, ServiceError> {
    lease.map(|l| duration_from_proto("lease", l)).transpose()
}

#[tonic::async_trait]
impl SpecialistService for SpecialistApi {
    async fn claim(
        &self,
        request: Request<pb::ClaimRequest>,
    ) -> Result<Response<pb::ClaimResponse>, Status> {
        self.app
            .call("Claim", request, |caller, message| async move {
                let lease = lease(message.lease.as_ref())?;
                let claimed = self
                    .app
                    .helpdesk
                    .claim(&caller, &message.queue, lease)
                    .await?;
                Ok(pb::ClaimResponse {
                    ticket: claimed.as_ref().map(claimed_ticket_to_proto),
                })
            })
            .await
    }

    async fn extend(
        &self,
        request: Request<pb::ExtendRequest>,
    ) -> Result<Response<pb::ExtendResponse>, Status> {
        self.app
            .call("Extend", request, |caller, message| async move {
                let held = held_ticket_from_proto(message.ticket_id, &message.lease_token)?;
                let lease = lease(message.lease.as_ref())?;
                let renewed = self.app.helpdesk.extend(&caller, held, lease).await?;
                Ok(pb::ExtendResponse {
                    lease_expires: renewed.map(|l| timestamp(l.expires_ms)),
                })
            })
            .await
    }

    async fn resolve(
        &self,
        request: Request<pb::ResolveRequest>,
    ) -> Result<Response<pb::ResolveResponse>, Status> {
        self.app
            .call("Resolve", request, |caller, message| async move {
                let held = held_ticket_from_proto(message.ticket_id, &message.lease_token)?;
                let closing = closing_from_proto(&message)?;
                let audit = self.app.helpdesk.resolve(&caller, held, closing).await?;
                Ok(pb::ResolveResponse {
                    resolved_at: Some(timestamp(audit.resolved_ms)),
                })
            })
            .await
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        self.app
            .call("Release", request, |caller, message| async move {
                let held = held_ticket_from_proto(message.ticket_id, &message.lease_token)?;
                self.app
                    .helpdesk
                    .release(&caller, held, &message.reason)
                    .await?;
                Ok(pb::ReleaseResponse {})
            })
            .await
    }

    async fn reroute(
        &self,
        request: Request<pb::RerouteRequest>,
    ) -> Result<Response<pb::RerouteResponse>, Status> {
        self.app
            .call("Reroute", request, |caller, message| async move {
                let held = held_ticket_from_proto(message.ticket_id, &message.lease_token)?;
                self.app
                    .helpdesk
                    .reroute(&caller, held, &message.to_queue, &message.reason)
                    .await?;
                Ok(pb::RerouteResponse {})
            })
            .await
    }

    async fn list_queues(
        &self,
        request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        self.app
            .call("ListQueues", request, |caller, _| async move {
                let reports = self.app.helpdesk.queue_reports(&caller).await?;
                Ok(pb::ListQueuesResponse {
                    queues: reports.into_iter().map(queue_report_to_proto).collect(),
                })
            })
            .await
    }

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        self.app
            .call("ListDeadLetters", request, |caller, message| async move {
                let letters = self
                    .app
                    .helpdesk
                    .dead_letters(&caller, &message.queue)
                    .await?;
                Ok(pb::ListDeadLettersResponse {
                    dead_letters: letters.iter().map(dead_letter_to_proto).collect(),
                })
            })
            .await
    }

    async fn redrive_dead_letter(
        &self,
        request: Request<pb::RedriveDeadLetterRequest>,
    ) -> Result<Response<pb::RedriveDeadLetterResponse>, Status> {
        self.app
            .call("RedriveDeadLetter", request, |caller, message| async move {
                let to_queue = Some(message.to_queue.as_str()).filter(|queue| !queue.is_empty());
                let action = self
                    .app
                    .helpdesk
                    .redrive(&caller, message.ticket_id, to_queue, &message.reason)
                    .await?;
                Ok(pb::RedriveDeadLetterResponse {
                    queue: action.redriven_to().unwrap_or_default().to_owned(),
                    redriven_at: Some(timestamp(action.acted_ms)),
                })
            })
            .await
    }

    async fn discard_dead_letter(
        &self,
        request: Request<pb::DiscardDeadLetterRequest>,
    ) -> Result<Response<pb::DiscardDeadLetterResponse>, Status> {
        self.app
            .call("DiscardDeadLetter", request, |caller, message| async move {
                let action = self
                    .app
                    .helpdesk
                    .discard(&caller, message.ticket_id, &message.reason)
                    .await?;
                Ok(pb::DiscardDeadLetterResponse {
                    discarded_at: Some(timestamp(action.acted_ms)),
                })
            })
            .await
    }
}
