//! triage: a helpdesk service that classifies client inquiries, answers the direct ones from
//! the client's own status data and forwards the expert ones to specialist queues.
//!
//! # Layout
//! - [`pack`]: a helpdesk's domain pack (intents, tiers, queues, labelled examples), loaded and
//!   validated.
//! - [`classify`]: the normalizer, the tantivy keyword index, the features, the logistic model,
//!   training, calibration, model files and evaluation.
//! - [`answer`]: the clients' status data (behind [`answer::ClientDirectory`], embedded or in
//!   PostgreSQL) and the answer templates; entity matching.
//! - [`route`]: the queue contract ([`route::TicketQueue`]) and its two backends: the durable
//!   embedded queue (redb, group commit, leases, dead letters) and the NATS JetStream queue
//!   with its PostgreSQL ledger.
//! - [`postgres`]: the PostgreSQL connection pool and schema migrations the backends share.
//! - [`intake`]: the domain core: one inquiry in, one decision out.
//! - [`mail`]: the email-ingest worker: a Maildir or mail files in, inquiries over gRPC,
//!   replies into an outbox, nothing dropped.
//! - [`service`]: the gRPC adapters: auth, validation, conversion, errors to status codes.
//! - [`server`]: building the service from a [`config::Config`], serving, shutting down.
//! - [`proto`]: the generated contract; [`telemetry`]: Prometheus metrics; [`bench`](mod@bench): the load
//!   generator; [`progress`]: progress of long work; [`error`]: the crate's [`Error`].
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
pub mod bench;
pub mod classify;
pub mod config;
pub mod error;
pub mod helpdesk;
pub mod intake;
pub mod mail;
pub mod pack;
pub mod postgres;
pub mod progress;
pub mod proto;
pub mod route;
pub mod server;
pub mod service;
pub mod telemetry;

pub use error::{Error, Result};
