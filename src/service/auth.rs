//! Bearer tokens and what their holders may do: intake submits for all or listed clients,
//! specialists work only on their listed queues, admins do everything.
//!
//! Without configured tokens the server runs open, on loopback only (the config refuses
//! anything else), and every caller is the local admin.

use tonic::metadata::MetadataMap;

use super::ServiceError;
use crate::config::{Role, TokenConfig};

/// Who is calling and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    clients: Vec<String>,
    queues: Vec<String>,
}

impl Principal {
    /// Whether the caller may submit inquiries for `client`.
    pub fn check_client(&self, client: &str) -> Result<(), ServiceError> {
        let allowed = match self.role {
            Role::Admin => true,
            Role::Intake => self.clients.is_empty() || self.clients.iter().any(|c| c == client),
            Role::Specialist => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "{} may not submit for client `{client}`",
                self.name
            )))
        }
    }

    /// Whether the caller may see and work on `queue`.
    pub fn check_queue(&self, queue: &str) -> Result<(), ServiceError> {
        if self.may_see_queue(queue) {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "{} may not work on queue `{queue}`",
                self.name
            )))
        }
    }

    /// Whether `queue` is one of the caller's.
    pub fn may_see_queue(&self, queue: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Specialist => self.queues.iter().any(|q| q == queue),
            Role::Intake => false,
        }
    }

    /// Whether the caller has one of `roles` (admin always has).
    pub fn check_role(&self, roles: &[Role], what: &str) -> Result<(), ServiceError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "{} ({:?}) may not {what}",
                self.name, self.role
            )))
        }
    }
}

/// Checks the `authorization: Bearer <token>` metadata of each request.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: Vec<TokenConfig>,
}

impl Authenticator {
    pub fn new(tokens: Vec<TokenConfig>) -> Self {
        Self { tokens }
    }

    /// Whether the server runs without tokens (loopback only).
    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The caller of a request with this metadata.
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, ServiceError> {
        if self.is_open() {
            return Ok(Principal {
                name: "local".to_owned(),
                role: Role::Admin,
                clients: Vec::new(),
                queues: Vec::new(),
            });
        }
        let unauthenticated = |message: &str| ServiceError::Unauthenticated(message.to_owned());
        let value = metadata
            .get("authorization")
            .ok_or_else(|| unauthenticated("missing authorization metadata (Bearer token)"))?;
        let value = value
            .to_str()
            .map_err(|_| unauthenticated("authorization metadata is not visible ASCII"))?;
        let presented = value
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauthenticated("authorization metadata must be `Bearer <token>`"))?;
        let token = self
            .tokens
            .iter()
            .find(|t| constant_time_equal(t.token.as_bytes(), presented.as_bytes()))
            .ok_or_else(|| unauthenticated("unknown token"))?;
        Ok(Principal {
            name: token.name.clone(),
            role: token.role,
            clients: token.clients.clone(),
            queues: token.queues.clone(),
        })
    }
}

/// Compares secrets without an early exit that would time how much of a guess was right.
fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, role: Role, clients: &[&str], queues: &[&str]) -> TokenConfig {
        TokenConfig {
            name: name.to_owned(),
            token: format!("{name}-0123456789abcdef"),
            role,
            clients: clients.iter().map(|c| c.to_string()).collect(),
            queues: queues.iter().map(|q| q.to_string()).collect(),
        }
    }

    fn metadata(value: &str) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("authorization", value.parse().unwrap());
        map
    }

    fn authenticator() -> Authenticator {
        Authenticator::new(vec![
            token("web", Role::Intake, &["acme"], &[]),
            token("alice", Role::Specialist, &[], &["seo"]),
        ])
    }

    /// Each token gets its own rights; a wrong or missing token gets none.
    #[test]
    fn tokens_map_to_principals() {
        let auth = authenticator();
        let web = auth
            .authenticate(&metadata("Bearer web-0123456789abcdef"))
            .unwrap();
        assert!(web.check_client("acme").is_ok());
        assert!(matches!(
            web.check_client("globex"),
            Err(ServiceError::PermissionDenied(_))
        ));
        assert!(web.check_queue("seo").is_err());
        let alice = auth
            .authenticate(&metadata("Bearer alice-0123456789abcdef"))
            .unwrap();
        assert!(alice.check_queue("seo").is_ok());
        assert!(alice.check_queue("billing").is_err());
        assert!(alice.check_client("acme").is_err());
        for bad in [
            "Bearer nope",
            "web-0123456789abcdef",
            "Basic abc",
            "Bearer ",
        ] {
            assert!(
                matches!(
                    auth.authenticate(&metadata(bad)),
                    Err(ServiceError::Unauthenticated(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            auth.authenticate(&MetadataMap::new()),
            Err(ServiceError::Unauthenticated(_))
        ));
    }

    /// Without tokens every caller is the local admin.
    #[test]
    fn open_mode_is_admin() {
        let principal = Authenticator::new(Vec::new())
            .authenticate(&MetadataMap::new())
            .unwrap();
        assert_eq!(principal.role, Role::Admin);
        assert!(principal.check_client("anyone").is_ok() && principal.check_queue("any").is_ok());
    }
}
