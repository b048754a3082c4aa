//! `Ticket`: a unit of specialist work in a queue, with the `NewTicket` it is made from and
//! the `Lease` that marks who is working on it; owns the lease checks and the lease arithmetic
//! both queues share.

use serde::{Deserialize, Serialize};

use super::error::RouteError;
use super::lease_token::LeaseToken;
use super::thread::FollowUp;

/// What the service asks the queue to hold for one inquiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTicket {
    pub inquiry_id: String,
    pub client_id: String,
    pub queue: String,
    /// 0 is the most urgent.
    pub priority: u8,
    /// Unix milliseconds by which the ticket should be resolved.
    pub sla_due_ms: i64,
    pub created_ms: i64,
    /// JSON of the inquiry and its classification; opaque to the queue.
    pub payload: String,
    /// The client's thread the ticket belongs to: while the ticket is live, it is the thread's
    /// open ticket, which follow-ups are attached to (`route::thread`). Absent from tickets
    /// queued before threads were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

impl NewTicket {
    /// Rejects a ticket that cannot be queued for `inquiry_id`.
    pub(crate) fn validate(&self, inquiry_id: &str) -> Result<(), RouteError> {
        if self.inquiry_id != inquiry_id {
            return Err(RouteError::InvalidArgument(format!(
                "ticket inquiry id {:?} differs from decision inquiry id {inquiry_id:?}",
                self.inquiry_id
            )));
        }
        require_name("ticket queue", &self.queue)
    }
}

#[cfg(test)]
impl NewTicket {
    /// A ticket for the tests: client `client-1`, created at 9 s, a small JSON payload.
    pub(crate) fn sample(inquiry_id: &str, queue: &str, priority: u8, sla_due_ms: i64) -> Self {
        Self {
            inquiry_id: inquiry_id.into(),
            client_id: "client-1".into(),
            queue: queue.into(),
            priority,
            sla_due_ms,
            created_ms: 9_000,
            payload: r#"{"text":"help"}"#.into(),
            thread_id: None,
        }
    }
}

/// Why a ticket released with its last allowed delivery is dead-lettered.
pub(crate) fn released_last(holder: &str, deliveries: u32, reason: &str) -> String {
    format!("released by {holder} after {deliveries} deliveries ({reason})")
}

/// Rejects an empty (or blank) name such as a queue, holder or inquiry id.
pub(crate) fn require_name(what: &str, value: &str) -> Result<(), RouteError> {
    if value.trim().is_empty() {
        return Err(RouteError::InvalidArgument(format!("{what} is empty")));
    }
    Ok(())
}

/// Rejects a lease that is not a positive number of milliseconds.
pub(crate) fn require_lease_ms(lease_ms: i64) -> Result<(), RouteError> {
    if lease_ms <= 0 {
        return Err(RouteError::InvalidArgument(format!(
            "lease_ms must be positive, got {lease_ms}"
        )));
    }
    Ok(())
}

/// The instant a lease of `lease_ms` taken at `now_ms` runs out; one too long to represent
/// runs to the last representable instant, in both queues.
pub(crate) fn lease_expiry(now_ms: i64, lease_ms: i64) -> i64 {
    now_ms.saturating_add(lease_ms)
}

/// Who holds a ticket, with which token, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub token: LeaseToken,
    pub holder: String,
    pub expires_ms: i64,
}

/// A live ticket: ready (no lease) or leased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    pub inquiry_id: String,
    pub client_id: String,
    pub queue: String,
    pub priority: u8,
    pub sla_due_ms: i64,
    pub created_ms: i64,
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// How many times the ticket has been claimed.
    pub deliveries: u32,
    pub lease: Option<Lease>,
    /// The follow-ups attached to the ticket, oldest first, as `claim`, `ticket` and
    /// `dead_letters` show them (a queue stores them beside the ticket, not in it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUp>,
}

impl Ticket {
    /// A ready ticket with id `id` made from `new`.
    pub(crate) fn from_new(id: u64, new: NewTicket) -> Self {
        Self {
            id,
            inquiry_id: new.inquiry_id,
            client_id: new.client_id,
            queue: new.queue,
            priority: new.priority,
            sla_due_ms: new.sla_due_ms,
            created_ms: new.created_ms,
            payload: new.payload,
            thread_id: new.thread_id,
            deliveries: 0,
            lease: None,
            follow_ups: Vec::new(),
        }
    }

    /// The lease, if `holder` holds it under `token` and it is live at `now_ms` (strictly
    /// before its expiry). The checks run in this order: another holder (or no lease) is
    /// NotLeased, another token StaleLease, and an expired lease LeaseExpired, whether or not
    /// the ticket was claimed again since: every lease operation applies this one rule.
    pub(crate) fn held_by(
        &self,
        token: LeaseToken,
        holder: &str,
        now_ms: i64,
    ) -> Result<&Lease, RouteError> {
        let lease = match &self.lease {
            Some(lease) if lease.holder == holder => lease,
            _ => {
                return Err(RouteError::NotLeased {
                    ticket_id: self.id,
                    holder: holder.to_owned(),
                });
            }
        };
        if lease.token != token {
            return Err(RouteError::StaleLease { ticket_id: self.id });
        }
        if now_ms >= lease.expires_ms {
            return Err(RouteError::LeaseExpired {
                ticket_id: self.id,
                expires_ms: lease.expires_ms,
            });
        }
        Ok(lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_ticket() -> NewTicket {
        NewTicket::sample("inq", "billing", 1, 10)
    }

    const TOKEN: LeaseToken = LeaseToken::from_bits(3);

    fn leased(holder: &str, expires_ms: i64) -> Ticket {
        let mut ticket = Ticket::from_new(7, new_ticket());
        ticket.lease = Some(Lease {
            token: TOKEN,
            holder: holder.into(),
            expires_ms,
        });
        ticket
    }

    /// Another holder, the right holder with an old token, or no lease at all is refused.
    #[test]
    fn held_by_checks_holder_then_token() {
        let ticket = leased("alice", 100);
        assert!(ticket.held_by(TOKEN, "alice", 0).is_ok());
        assert!(matches!(
            ticket.held_by(TOKEN, "bob", 0),
            Err(RouteError::NotLeased { ticket_id: 7, .. })
        ));
        assert_eq!(
            ticket.held_by(LeaseToken::from_bits(2), "alice", 0),
            Err(RouteError::StaleLease { ticket_id: 7 })
        );
        let ready = Ticket {
            lease: None,
            ..ticket
        };
        assert!(matches!(
            ready.held_by(TOKEN, "alice", 0),
            Err(RouteError::NotLeased { .. })
        ));
    }

    /// A lease is live strictly before its expiry instant; from then on its own holder and
    /// token get LeaseExpired.
    #[test]
    fn held_by_refuses_an_expired_lease() {
        let ticket = leased("alice", 100);
        assert!(ticket.held_by(TOKEN, "alice", 99).is_ok());
        for now_ms in [100, 5_000] {
            assert_eq!(
                ticket.held_by(TOKEN, "alice", now_ms),
                Err(RouteError::LeaseExpired {
                    ticket_id: 7,
                    expires_ms: 100
                })
            );
        }
    }

    /// A lease runs `lease_ms` from now, to the last representable instant at most.
    #[test]
    fn lease_expiry_saturates() {
        assert_eq!(lease_expiry(1_000, 500), 1_500);
        assert_eq!(lease_expiry(1_000, i64::MAX), i64::MAX);
    }

    /// A ticket must name a queue and the inquiry it was decided for.
    #[test]
    fn new_ticket_validation() {
        assert!(new_ticket().validate("inq").is_ok());
        assert!(matches!(
            new_ticket().validate("other"),
            Err(RouteError::InvalidArgument(_))
        ));
        let blank_queue = NewTicket {
            queue: " ".into(),
            ..new_ticket()
        };
        assert!(matches!(
            blank_queue.validate("inq"),
            Err(RouteError::InvalidArgument(_))
        ));
    }
}
