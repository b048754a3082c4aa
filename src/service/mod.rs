//! The gRPC adapters: authentication, callers' deadlines, validation, conversion between proto
//! and domain types, and the mapping of errors to status codes. The domain never sees a proto type.

mod app;
pub mod auth;
pub mod convert;
mod deadline;
mod error;
mod specialist;
mod triage;

pub use app::App;
pub use auth::{Authenticator, Principal};
pub use deadline::DeadlineLayer;
pub use error::ServiceError;
pub use specialist::SpecialistApi;
pub use triage::TriageApi;
