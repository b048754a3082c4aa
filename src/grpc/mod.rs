//! The gRPC adapters: authentication, per-token limits, callers' deadlines, admission, metrics,
//! translation between proto messages and the domain API's types ([`crate::helpdesk`]), and the
//! mapping of errors to status codes.
//! No domain rule lives here; the domain never sees a proto type.

mod activity;
mod app;
pub mod auth;
pub mod convert;
mod deadline;
mod error;
mod feedback;
mod specialist;
mod stream;
mod triage;
mod watch;

pub use app::App;
pub use auth::BearerMetadata;
pub use deadline::DeadlineLayer;
pub use error::ServiceError;
pub use specialist::SpecialistApi;
pub use stream::TriageRoutes;
pub use triage::TriageApi;
