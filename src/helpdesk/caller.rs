//! Who calls the helpdesk and what they may do: submitters submit for all or listed clients,
//! specialists work only on their listed queues, admins do everything. How a caller proved who
//! it is (a bearer token, a session) is the adapter's business.

use serde::Deserialize;

use super::HelpdeskError;
use crate::text::quoted;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Submits inquiries (the frontend, the email worker, the benchmark). Configured as
    /// `submitter`, or `intake` as before.
    #[serde(alias = "intake")]
    Submitter,
    /// Claims and resolves tickets of its queues.
    Specialist,
    /// Everything.
    Admin,
}

/// An authenticated caller of the helpdesk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Names the holder of leases and audit records.
    pub name: String,
    pub role: Role,
    /// For a submitter: the clients it may submit for; all when empty.
    clients: Vec<String>,
    /// For a specialist: the queues it works on.
    queues: Vec<String>,
}

impl Caller {
    pub fn new(name: String, role: Role, clients: Vec<String>, queues: Vec<String>) -> Self {
        Self {
            name,
            role,
            clients,
            queues,
        }
    }

    /// The caller of a server that runs without credentials (on loopback only).
    pub fn local_admin() -> Self {
        Self::new("local".to_owned(), Role::Admin, Vec::new(), Vec::new())
    }

    /// Whether the caller may submit inquiries for `client`.
    pub fn check_client(&self, client: &str) -> Result<(), HelpdeskError> {
        let allowed = match self.role {
            Role::Admin => true,
            Role::Submitter => self.clients.is_empty() || self.clients.iter().any(|c| c == client),
            Role::Specialist => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(HelpdeskError::PermissionDenied(format!(
                "{} may not submit for client {}",
                self.name,
                quoted(client)
            )))
        }
    }

    /// Whether the caller may see and work on `queue`.
    pub fn check_queue(&self, queue: &str) -> Result<(), HelpdeskError> {
        if self.may_see_queue(queue) {
            Ok(())
        } else {
            Err(HelpdeskError::PermissionDenied(format!(
                "{} may not work on queue {}",
                self.name,
                quoted(queue)
            )))
        }
    }

    /// Whether `queue` is one of the caller's.
    pub fn may_see_queue(&self, queue: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Specialist => self.queues.iter().any(|q| q == queue),
            Role::Submitter => false,
        }
    }

    /// Whether the caller may submit inquiries at all (for some client).
    pub fn check_may_submit(&self) -> Result<(), HelpdeskError> {
        self.check_role(&[Role::Submitter], "submit inquiries")
    }

    /// Whether the caller has one of `roles` (admin always has).
    pub fn check_role(&self, roles: &[Role], what: &str) -> Result<(), HelpdeskError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(HelpdeskError::PermissionDenied(format!(
                "{} ({:?}) may not {what}",
                self.name, self.role
            )))
        }
    }
}
