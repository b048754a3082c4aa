//! `DecisionWriter`: decisions reach the ledger in batches, one statement for every decision
//! handed over while the previous batch was written (a group commit), so the ledger's work per
//! Submit falls as the load rises. A ticket's decision is awaited by its caller, since it
//! decides what a retry gets; an answer's is not, as in the embedded queue (the contract lets an
//! answer be made durable later: a lost one is decided again the same way). `flush` waits for
//! everything handed over before it.

use std::collections::HashSet;

use tokio::sync::{mpsc, oneshot};

use super::Ledger;
use super::ledger::NewDecision;
use crate::route::decision::StoredDecision;
use crate::route::error::RouteError;

/// Most decisions one statement writes.
const MAX_BATCH: usize = 512;

/// What a ticket's caller learns: `None` when its decision was stored, else the one stored
/// first.
type Outcome = Result<Option<StoredDecision<String>>, RouteError>;

enum Job {
    Answer(NewDecision),
    Ticket(NewDecision, oneshot::Sender<Outcome>),
    Flush(oneshot::Sender<()>),
}

/// The handle to the task that writes decisions.
pub(super) struct DecisionWriter {
    jobs: mpsc::UnboundedSender<Job>,
}

impl DecisionWriter {
    /// Starts the writing task; it ends once the writer is dropped and its jobs are done.
    pub(super) fn start(ledger: Ledger) -> Self {
        let (jobs, received) = mpsc::unbounded_channel();
        tokio::spawn(run(ledger, received));
        Self { jobs }
    }

    /// Stores a ticket's decision unless one is stored for its inquiry, once written.
    pub(super) async fn record_ticket(&self, decision: NewDecision) -> Outcome {
        let (done, outcome) = oneshot::channel();
        self.send(Job::Ticket(decision, done))?;
        outcome.await.map_err(|_| gone())?
    }

    /// Hands an answer's decision over to be written with the next batch.
    pub(super) fn record_answer(&self, decision: NewDecision) -> Result<(), RouteError> {
        self.send(Job::Answer(decision))
    }

    /// Waits until every decision handed over before this call was written (or failed).
    pub(super) async fn flush(&self) -> Result<(), RouteError> {
        let (done, flushed) = oneshot::channel();
        self.send(Job::Flush(done))?;
        flushed.await.map_err(|_| gone())
    }

    fn send(&self, job: Job) -> Result<(), RouteError> {
        self.jobs.send(job).map_err(|_| gone())
    }
}

fn gone() -> RouteError {
    RouteError::Unavailable("the ledger's decision writer stopped".to_owned())
}

async fn run(ledger: Ledger, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        write(&ledger, batch).await;
    }
}

/// Writes one batch: each inquiry's first decision in it is offered to the ledger, and a
/// ticket whose decision was not stored (stored earlier, or a repeat in the batch) learns the
/// one that was.
async fn write(ledger: &Ledger, batch: Vec<Job>) {
    let mut offered = Vec::new();
    let mut seen = HashSet::new();
    let mut waiting = Vec::new();
    let mut flushes = Vec::new();
    for job in batch {
        let (decision, done) = match job {
            Job::Answer(decision) => (decision, None),
            Job::Ticket(decision, done) => (decision, Some(done)),
            Job::Flush(done) => {
                flushes.push(done);
                continue;
            }
        };
        let first = seen.insert(decision.inquiry_id.clone());
        if let Some(done) = done {
            waiting.push((decision.inquiry_id.clone(), first, done));
        }
        if first {
            offered.push(decision);
        }
    }
    match ledger.record_decisions(&offered).await {
        Ok(stored) => {
            for (inquiry_id, first, done) in waiting {
                let outcome = if first && stored.contains(&inquiry_id) {
                    Ok(None)
                } else {
                    earlier(ledger, &inquiry_id).await
                };
                let _ = done.send(outcome);
            }
        }
        Err(error) => {
            let error = RouteError::from(error);
            let answers = offered.len() - waiting.iter().filter(|w| w.1).count();
            if answers > 0 {
                tracing::error!(%error, answers, "answers' decisions not stored; a replay decides them again");
            }
            for (_, _, done) in waiting {
                let _ = done.send(Err(error.clone()));
            }
        }
    }
    for done in flushes {
        let _ = done.send(());
    }
}

/// The decision stored for `inquiry_id` before this one.
async fn earlier(ledger: &Ledger, inquiry_id: &str) -> Outcome {
    match ledger.decision(inquiry_id).await? {
        Some(stored) => Ok(Some(stored)),
        None => Err(RouteError::Storage(format!(
            "the decision on {inquiry_id:?} was neither stored nor found"
        ))),
    }
}
