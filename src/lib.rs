//! triage: a helpdesk service that classifies client inquiries, answers the direct ones from
//! the client's own status data and forwards the expert ones to specialist queues.
//!
//! # Layers, top down
//! Each layer calls only the layers below it.
//! - **Adapters** — [`grpc`]: the triage and specialist services: authentication, per-token
//!   limits, admission, metrics, translation between proto messages and the domain API's types, and the one
//!   mapping of errors to status codes. [`web`]: the HTTP pages (the helpdesk console for
//!   specialists and leads, signed in with the same tokens; the feedback page a client rates
//!   an answer on through a signed link). [`server`] composes the layers from a
//!   [`config::Config`] (config → backends → domain API → adapters), serves, shuts down.
//!   Below both, [`auth`]: the bearer tokens they sign callers in with, as a
//!   [`helpdesk::Caller`], and each token's limits.
//!   [`mail`], the email-ingest worker (a Maildir or mail files in, inquiries named by their
//!   sender over gRPC, replies into an outbox), is a gRPC client like any other, and so is the
//!   load generator of the binary (`triage bench`).
//! - **Domain API** — [`helpdesk`]: one type, [`helpdesk::Helpdesk`], with every operation a
//!   front end offers (submit, classify, claim, extend, resolve, release, reroute, queue
//!   reports, dead letters: list, redrive, discard) for an authenticated [`helpdesk::Caller`], and one error type.
//! - **Domain parts** — [`intake`]: one inquiry in, one decision out (idempotency,
//!   classification, answering, routing); [`classify`]: the normalizer, the tantivy keyword
//!   index, the features, the logistic model, training, calibration, model files and
//!   evaluation; [`answer`]: the clients' status data (behind [`answer::ClientDirectory`]),
//!   entity matching and the answer templates; [`route`]: the ticket queue contract
//!   ([`route::TicketQueue`]), which stores the caller's decision type as it is; [`pack`]: a
//!   helpdesk's domain pack (intents, tiers, queues, labelled examples), loaded and
//!   validated; [`feedback`]: clients' ratings of answers (CSAT, CES) with their inquiry's
//!   context, the rules of changing them, signed links, and their stores (redb, PostgreSQL). None of them knows a gRPC or proto type.
//! - **Backends**, each beside the contract it implements — under [`route`], the durable
//!   embedded queue (`route::embedded`: redb, group commit, leases, dead letters, a schema
//!   version checked on open) and the NATS JetStream queue with its PostgreSQL ledger
//!   (`route::jetstream`); under [`answer`], the status files and the PostgreSQL client
//!   directory ([`answer::PgStatus`]); [`postgres`]: the connection pool and migrations they
//!   share.
//! - Beside them: [`proto`], the generated contract; [`telemetry`], Prometheus metrics;
//!   [`tls`], TLS on the server's listeners with certificates reloaded in place; [`progress`],
//!   progress of long work; [`readiness`], why an engine is not ready; [`error`], the crate's
//!   [`Error`].
//!
//! # Core concepts
//! An inquiry is **direct** when its answer is in the client's status data and **expert** when it
//! needs a specialist. A [`classify::Classifier`] gives each text an intent, a tier with a
//! calibrated probability and a [`classify::Recommendation`]: answer, route to a queue, or escalate to
//! a human when unsure.
//!
//! ```
//! use triage::classify::{Recommendation, TrainOptions, train};
//! use triage::pack::Pack;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("intents.csv"), "intent,tier,queue,status_kind\n\
//!     report_eta,direct,,deliverable\nseo_advice,expert,seo,\n")?;
//! let mut train_csv = String::from("text,label\n");
//! for topic in ["final report", "audit", "monthly report", "deck", "mockups", "copy"] {
//!     train_csv += &format!("when will the {topic} be ready,report_eta\n");
//!     train_csv += &format!("what should the {topic} focus on for seo,seo_advice\n");
//! }
//! std::fs::write(dir.path().join("train.csv"), train_csv)?;
//!
//! let pack = Pack::load(dir.path())?;
//! let classifier = train(&pack, &TrainOptions::default())?.classifier;
//! let decision = classifier.classify("what should our seo strategy focus on?")?;
//! assert_eq!(decision.intent, "seo_advice");
//! assert!(matches!(decision.outcome, Recommendation::Route { .. } | Recommendation::Escalate { .. }));
//! # Ok(())
//! # }
//! ```

pub mod answer;
pub mod auth;
pub mod classify;
pub mod config;
pub mod error;
pub mod feedback;
pub mod grpc;
pub mod helpdesk;
pub mod intake;
pub mod mail;
pub mod pack;
pub mod postgres;
pub mod progress;
pub mod proto;
pub mod readiness;
pub mod route;
pub mod server;
pub mod telemetry;
pub mod text;
pub mod tls;
pub mod web;

pub use error::{Error, Result};
