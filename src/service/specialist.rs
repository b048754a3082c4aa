//! The specialist service adapter: claim, extend, resolve, release and reroute tickets, and
//! list the queues. A specialist sees and works on its own queues only.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use super::app::App;
use super::convert::{decision_to_proto, duration, duration_to_ms, inquiry_to_proto, timestamp};
use super::{Principal, ServiceError};
use crate::config::Role;
use crate::intake::{Decision, TicketPayload};
use crate::proto::v1 as pb;
use crate::proto::v1::specialist_service_server::SpecialistService;
use crate::route::{StoredDecision, Ticket};

/// The specialist service over the shared [`App`].
#[derive(Clone)]
pub struct SpecialistApi {
    app: Arc<App>,
}

impl SpecialistApi {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }

    /// The lease asked for, or the default; longer than the maximum is refused.
    fn lease_ms(&self, lease: Option<&prost_types::Duration>) -> Result<i64, ServiceError> {
        let Some(lease) = lease else {
            return Ok(self.app.default_lease.as_millis() as i64);
        };
        let ms = duration_to_ms("lease", lease)?;
        if Duration::from_millis(ms as u64) > self.app.max_lease {
            return Err(ServiceError::invalid(
                "lease",
                format!("is over the maximum of {:?}", self.app.max_lease),
            ));
        }
        Ok(ms)
    }

    /// The ticket `ticket_id`, checked to be on one of the caller's queues.
    async fn own_ticket(
        &self,
        principal: &Principal,
        ticket_id: u64,
    ) -> Result<Ticket, ServiceError> {
        principal.check_role(&[Role::Specialist], "work on tickets")?;
        let ticket = self
            .app
            .intake
            .queue()
            .ticket(ticket_id)
            .await?
            .ok_or_else(|| {
                ServiceError::not_found("ticket_id", format!("ticket {ticket_id} is not open"))
            })?;
        principal.check_queue(&ticket.queue)?;
        Ok(ticket)
    }
}

/// The claimed ticket as specialists see it: the inquiry and the decision with its explanation.
fn claimed_to_proto(
    ticket: &Ticket,
    decision: Option<StoredDecision<Decision>>,
) -> Result<pb::ClaimedTicket, ServiceError> {
    let payload: TicketPayload = serde_json::from_str(&ticket.payload)
        .map_err(|e| ServiceError::Internal(format!("ticket {} payload: {e}", ticket.id)))?;
    let lease = ticket.lease.as_ref();
    Ok(pb::ClaimedTicket {
        ticket: Some(pb::Ticket {
            ticket_id: ticket.id,
            queue: ticket.queue.clone(),
            priority: u32::from(ticket.priority),
            sla_due: Some(timestamp(ticket.sla_due_ms)),
        }),
        lease_token: lease.map_or(0, |l| l.token),
        lease_expires: lease.map(|l| timestamp(l.expires_ms)),
        deliveries: ticket.deliveries,
        inquiry: Some(inquiry_to_proto(&payload.inquiry)),
        decision: decision
            .as_ref()
            .map(|stored| decision_to_proto(&stored.decision, stored.ticket_id)),
    })
}

fn required_text(field: &'static str, text: &str) -> Result<(), ServiceError> {
    if text.trim().is_empty() {
        return Err(ServiceError::invalid(field, "is empty"));
    }
    if text.len() > 4096 {
        return Err(ServiceError::invalid(field, "is over 4096 bytes"));
    }
    Ok(())
}

#[tonic::async_trait]
impl SpecialistService for SpecialistApi {
    async fn claim(
        &self,
        request: Request<pb::ClaimRequest>,
    ) -> Result<Response<pb::ClaimResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.app
            .call("Claim", &metadata, |principal| async move {
                principal.check_role(&[Role::Specialist], "claim tickets")?;
                let queue = self.app.queue("queue", &message.queue)?;
                principal.check_queue(&queue.name)?;
                let lease_ms = self.lease_ms(message.lease.as_ref())?;
                let claimed = self
                    .app
                    .intake
                    .queue()
                    .claim(&queue.name, &principal.name, lease_ms)
                    .await?;
                let ticket = match claimed {
                    None => None,
                    Some(ticket) => {
                        let decision = self.app.intake.stored_decision(&ticket.inquiry_id).await?;
                        Some(claimed_to_proto(&ticket, decision)?)
                    }
                };
                Ok(pb::ClaimResponse { ticket })
            })
            .await
    }

    async fn extend(
        &self,
        request: Request<pb::ExtendRequest>,
    ) -> Result<Response<pb::ExtendResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.app
            .call("Extend", &metadata, |principal| async move {
                self.own_ticket(&principal, message.ticket_id).await?;
                let lease_ms = self.lease_ms(message.lease.as_ref())?;
                let ticket = self
                    .app
                    .intake
                    .queue()
                    .extend(message.ticket_id, message.lease_token, lease_ms)
                    .await?;
                Ok(pb::ExtendResponse {
                    lease_expires: ticket.lease.map(|l| timestamp(l.expires_ms)),
                })
            })
            .await
    }

    async fn resolve(
        &self,
        request: Request<pb::ResolveRequest>,
    ) -> Result<Response<pb::ResolveResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.app
            .call("Resolve", &metadata, |principal| async move {
                required_text("outcome", &message.outcome)?;
                self.own_ticket(&principal, message.ticket_id).await?;
                let audit = self
                    .app
                    .intake
                    .queue()
                    .resolve(
                        message.ticket_id,
                        message.lease_token,
                        &principal.name,
                        &message.outcome,
                    )
                    .await?;
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
        let (metadata, _, message) = request.into_parts();
        self.app
            .call("Release", &metadata, |principal| async move {
                required_text("reason", &message.reason)?;
                self.own_ticket(&principal, message.ticket_id).await?;
                self.app
                    .intake
                    .queue()
                    .release(
                        message.ticket_id,
                        message.lease_token,
                        &principal.name,
                        &message.reason,
                    )
                    .await?;
                Ok(pb::ReleaseResponse {})
            })
            .await
    }

    async fn reroute(
        &self,
        request: Request<pb::RerouteRequest>,
    ) -> Result<Response<pb::RerouteResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.app
            .call("Reroute", &metadata, |principal| async move {
                required_text("reason", &message.reason)?;
                let to = self.app.queue("to_queue", &message.to_queue)?.name.clone();
                self.own_ticket(&principal, message.ticket_id).await?;
                self.app
                    .intake
                    .queue()
                    .reroute(
                        message.ticket_id,
                        message.lease_token,
                        &principal.name,
                        &to,
                        &message.reason,
                    )
                    .await?;
                Ok(pb::RerouteResponse {})
            })
            .await
    }

    async fn list_queues(
        &self,
        request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        let (metadata, _, _) = request.into_parts();
        self.app
            .call("ListQueues", &metadata, |principal| async move {
                principal.check_role(&[Role::Specialist], "list queues")?;
                let visible: Vec<String> = self
                    .app
                    .queues
                    .iter()
                    .filter(|q| principal.may_see_queue(&q.name))
                    .map(|q| q.name.clone())
                    .collect();
                let stats = self.app.intake.queue().stats(&visible).await?;
                let queues = stats
                    .into_iter()
                    .filter(|s| principal.may_see_queue(&s.queue))
                    .map(|s| {
                        let pack_queue = self.app.queues.iter().find(|q| q.name == s.queue);
                        pb::QueueStats {
                            description: pack_queue
                                .map(|q| q.description.clone())
                                .unwrap_or_default(),
                            sla_hours: pack_queue.map_or(0.0, |q| q.sla_hours),
                            ready: s.ready,
                            leased: s.leased,
                            dead_letters: s.dead_letters,
                            oldest_ready_age: s.oldest_ready_age_ms.map(duration),
                            sla_breaches: s.sla_breaches,
                            queue: s.queue,
                        }
                    })
                    .collect();
                Ok(pb::ListQueuesResponse { queues })
            })
            .await
    }
}
