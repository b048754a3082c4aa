//! `TicketIds`: ticket ids unique for the life of a deployment, whatever happens to its stream.
//! They come from a PostgreSQL sequence a block at a time, so replicas never hand out the same
//! id and a Submit costs a round trip only once per block. An id taken by a publish that then
//! fails is skipped: ids have gaps, and across replicas they are not in arrival order.

use std::ops::Range;

use tokio::sync::Mutex;

use super::Ledger;
use crate::postgres::PostgresError;

/// The ids this replica has taken and not yet handed out.
#[derive(Default)]
pub(super) struct TicketIds {
    block: Mutex<Range<u64>>,
}

impl TicketIds {
    /// The next id, taking a new block from the ledger when this one is used up.
    pub(super) async fn next(&self, ledger: &Ledger) -> Result<u64, PostgresError> {
        let mut block = self.block.lock().await;
        if block.is_empty() {
            *block = ledger.take_ticket_ids().await?;
        }
        block.next().ok_or_else(|| {
            PostgresError::Unavailable("the ticket id sequence gave an empty block".to_owned())
        })
    }
}
