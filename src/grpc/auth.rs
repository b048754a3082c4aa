//! The gRPC side of bearer tokens: the `authorization: Bearer <token>` metadata of each
//! request, checked by the shared [`Authenticator`], and who may use the health and reflection
//! services.

use std::net::SocketAddr;

use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use super::ServiceError;
use crate::auth::{Authenticated, Authenticator};
use crate::config::Access;

/// How a gRPC request proves its caller, with the tokens of an [`Authenticator`].
pub trait BearerMetadata {
    /// The caller of a request with this metadata, from `peer`.
    fn authenticate(
        &self,
        metadata: &MetadataMap,
        peer: Option<SocketAddr>,
    ) -> Result<Authenticated, ServiceError>;

    /// Lets a request to `service` (health, reflection) through as `access` says; a caller on
    /// loopback always passes.
    fn check_access(
        &self,
        service: &str,
        access: Access,
        request: &Request<()>,
    ) -> Result<(), Status>;
}

impl BearerMetadata for Authenticator {
    fn authenticate(
        &self,
        metadata: &MetadataMap,
        peer: Option<SocketAddr>,
    ) -> Result<Authenticated, ServiceError> {
        if self.is_open() {
            return Ok(self.local_admin());
        }
        let Some(value) = metadata.get("authorization") else {
            return Err(self
                .refuse(
                    peer,
                    "missing",
                    "missing authorization metadata (Bearer token)",
                    None,
                )
                .into());
        };
        let Ok(value) = value.to_str() else {
            return Err(self
                .refuse(
                    peer,
                    "malformed",
                    "authorization metadata is not visible ASCII",
                    None,
                )
                .into());
        };
        let Some(presented) = value.strip_prefix("Bearer ") else {
            return Err(self
                .refuse(
                    peer,
                    "malformed",
                    "authorization metadata must be `Bearer <token>`",
                    None,
                )
                .into());
        };
        Ok(self.authenticate_token(presented, peer)?)
    }

    fn check_access(
        &self,
        service: &str,
        access: Access,
        request: &Request<()>,
    ) -> Result<(), Status> {
        let peer = request.remote_addr();
        if peer.is_some_and(|peer| peer.ip().is_loopback()) {
            return Ok(());
        }
        match access {
            Access::Open => Ok(()),
            Access::Token => self
                .authenticate(request.metadata(), peer)
                .map(drop)
                .map_err(Status::from),
            Access::Loopback => Err(Status::permission_denied(format!(
                "the {service} service answers callers on loopback only"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{Config, Role, TokenConfig};
    use crate::helpdesk::{Caller, HelpdeskError};
    use crate::telemetry::Metrics;

    fn token(name: &str, role: Role, clients: &[&str], queues: &[&str]) -> TokenConfig {
        let mut token = TokenConfig::new(name, &format!("{name}-0123456789abcdef"), role);
        token.clients = clients.iter().map(|c| c.to_string()).collect();
        token.queues = queues.iter().map(|q| q.to_string()).collect();
        token
    }

    fn metadata(value: &str) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("authorization", value.parse().unwrap());
        map
    }

    fn config(tokens: Vec<TokenConfig>) -> Config {
        Config {
            tokens,
            ..Config::default()
        }
    }

    fn authenticator(metrics: Arc<Metrics>) -> Authenticator {
        let tokens = vec![
            token("web", Role::Submitter, &["acme"], &[]),
            token("alice", Role::Specialist, &[], &["seo"]),
        ];
        Authenticator::new(&config(tokens), metrics)
    }

    fn caller(auth: &Authenticator, value: &str) -> Result<Caller, ServiceError> {
        let peer = "10.1.2.3:4000".parse().ok();
        auth.authenticate(&metadata(value), peer)
            .map(|who| who.caller)
    }

    /// Each token gets its own rights; a wrong or missing token gets none, and is counted by
    /// source and reason.
    #[test]
    fn tokens_map_to_callers() {
        let metrics = Arc::new(Metrics::new());
        let auth = authenticator(Arc::clone(&metrics));
        let web = caller(&auth, "Bearer web-0123456789abcdef").unwrap();
        assert!(web.check_client("acme").is_ok());
        assert!(matches!(
            web.check_client("globex"),
            Err(HelpdeskError::PermissionDenied(_))
        ));
        assert!(web.check_queue("seo").is_err());
        let alice = caller(&auth, "Bearer alice-0123456789abcdef").unwrap();
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
                matches!(caller(&auth, bad), Err(ServiceError::Unauthenticated(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            auth.authenticate(&MetadataMap::new(), None),
            Err(ServiceError::Unauthenticated(_))
        ));
        let source = Some("10.9.9.9".parse().unwrap());
        let counts: Vec<u64> = (0..3)
            .map(|_| metrics.observe_auth_failure(source, "unknown"))
            .collect();
        assert_eq!(counts, [1, 2, 3], "the count logging is thinned by");
        let text = metrics.render();
        for line in [
            "triage_auth_failures_total{reason=\"unknown\",source=\"10.1.2.3\"} 2",
            "triage_auth_failures_total{reason=\"malformed\",source=\"10.1.2.3\"} 2",
            "triage_auth_failures_total{reason=\"missing\",source=\"unknown\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }

    /// Without tokens every caller is the local admin, without limits.
    #[test]
    fn open_mode_is_admin() {
        let auth = Authenticator::new(&Config::default(), Arc::new(Metrics::new()));
        let who = auth.authenticate(&MetadataMap::new(), None).unwrap();
        assert_eq!(who.caller.role, Role::Admin);
        assert!(who.caller.check_client("anyone").is_ok() && who.caller.check_queue("any").is_ok());
        assert_eq!(who.limits.settings(), None);
    }

    /// A reload drops a revoked token, keeps a staying token's limits in use, and never
    /// leaves a server with tokens open.
    #[test]
    fn a_reload_revokes_and_keeps() {
        let auth = authenticator(Arc::new(Metrics::new()));
        let before = auth
            .authenticate(&metadata("Bearer web-0123456789abcdef"), None)
            .unwrap();
        let kept = vec![token("web", Role::Submitter, &["acme"], &[])];
        assert_eq!(auth.replace(&config(kept)).unwrap(), 1);
        let after = auth
            .authenticate(&metadata("Bearer web-0123456789abcdef"), None)
            .unwrap();
        assert!(Arc::ptr_eq(&before.limits, &after.limits));
        assert!(caller(&auth, "Bearer alice-0123456789abcdef").is_err());
        assert!(auth.replace(&config(Vec::new())).is_err());
        assert!(!auth.is_open());
    }

    /// Health and reflection: loopback always passes; other callers as configured.
    #[test]
    fn public_services_follow_their_access() {
        let auth = authenticator(Arc::new(Metrics::new()));
        let request = |peer: &str, token: Option<&str>| {
            let mut request = Request::new(());
            let connect_info = tonic::transport::server::TcpConnectInfo {
                local_addr: None,
                remote_addr: peer.parse().ok(),
            };
            request.extensions_mut().insert(connect_info);
            if let Some(token) = token {
                request
                    .metadata_mut()
                    .insert("authorization", format!("Bearer {token}").parse().unwrap());
            }
            request
        };
        let local = request("127.0.0.1:5000", None);
        let remote = request("192.0.2.7:5000", None);
        let remote_with_token = request("192.0.2.7:5000", Some("web-0123456789abcdef"));
        for access in [Access::Open, Access::Token, Access::Loopback] {
            assert!(auth.check_access("health", access, &local).is_ok());
        }
        assert!(auth.check_access("health", Access::Open, &remote).is_ok());
        let code = |access, request| {
            auth.check_access("reflection", access, request)
                .map_err(|status| status.code())
        };
        assert_eq!(
            code(Access::Token, &remote),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(code(Access::Token, &remote_with_token), Ok(()));
        assert_eq!(
            code(Access::Loopback, &remote_with_token),
            Err(tonic::Code::PermissionDenied)
        );
    }
}
