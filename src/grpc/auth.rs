//! Bearer tokens: which [`Caller`] presents each. What a caller may do is the domain's rule
//! ([`Caller`]'s checks).
//!
//! Without configured tokens the server runs open, on loopback only (the config refuses
//! anything else), and every caller is the local admin.

use tonic::metadata::MetadataMap;

use super::ServiceError;
use crate::config::TokenConfig;
use crate::helpdesk::Caller;

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
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Caller, ServiceError> {
        if self.is_open() {
            return Ok(Caller::local_admin());
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
        Ok(Caller::new(
            token.name.clone(),
            token.role,
            token.clients.clone(),
            token.queues.clone(),
        ))
    }
}

/// Compares secrets without an early exit that would time how much of a guess was right.
fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpdesk::{HelpdeskError, Role};

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
            token("web", Role::Submitter, &["acme"], &[]),
            token("alice", Role::Specialist, &[], &["seo"]),
        ])
    }

    /// Each token gets its own rights; a wrong or missing token gets none.
    #[test]
    fn tokens_map_to_callers() {
        let auth = authenticator();
        let web = auth
            .authenticate(&metadata("Bearer web-0123456789abcdef"))
            .unwrap();
        assert!(web.check_client("acme").is_ok());
        assert!(matches!(
            web.check_client("globex"),
            Err(HelpdeskError::PermissionDenied(_))
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
        let caller = Authenticator::new(Vec::new())
            .authenticate(&MetadataMap::new())
            .unwrap();
        assert_eq!(caller.role, Role::Admin);
        assert!(caller.check_client("anyone").is_ok() && caller.check_queue("any").is_ok());
    }
}
