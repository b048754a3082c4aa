//! The ledger's side of dead letters: reading them, and recording a redrive or a discard in
//! one transaction that takes the dead letter's row first, so of two operators acting on one
//! dead letter at once, one acts and the other finds nothing (NotFound).

use tokio_postgres::Row;

use super::{Ledger, id, unid};
use crate::postgres::{PostgresError, failed};
use crate::route::{DeadLetter, DeadLetterAction, DeadLetterOutcome};

/// The columns of a dead letter, in the order [`dead_letter`] reads them.
const DEAD_LETTER_COLUMNS: &str = "ticket_id, ticket, reason, dead_ms";

impl Ledger {
    /// The dead letters of `queue`, oldest first.
    pub async fn dead_letters(&self, queue: &str) -> Result<Vec<DeadLetter>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE queue = $1
                     ORDER BY dead_ms, ticket_id"
                ),
                &[&queue],
            )
            .await
            .map_err(failed("reading dead letters"))?;
        rows.iter().map(dead_letter).collect()
    }

    /// The dead letter of `ticket_id`, whichever queue it is on.
    pub async fn dead_letter(&self, ticket_id: u64) -> Result<Option<DeadLetter>, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_opt(
                &format!("SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE ticket_id = $1"),
                &[&id(ticket_id)],
            )
            .await
            .map_err(failed("reading a dead letter"))?;
        row.as_ref().map(dead_letter).transpose()
    }

    /// Records the redrive `action` of `letter`, whose ticket was published again at
    /// `stream_seq` on the action's queue: the dead letter goes, its follow-ups come back, it
    /// is its thread's open ticket again (the latest opened), and its decision points at the
    /// new message. `None` (nothing written) when the dead letter is gone already.
    pub async fn record_redrive(
        &self,
        letter: &DeadLetter,
        action: DeadLetterAction,
        stream_seq: u64,
    ) -> Result<Option<DeadLetterAction>, PostgresError> {
        let Some(to_queue) = action.redriven_to().map(str::to_owned) else {
            return Err(PostgresError::Unavailable(format!(
                "recording a redrive of ticket {} that is not one",
                action.ticket_id
            )));
        };
        let ticket = &letter.ticket;
        let ticket_id = id(ticket.id);
        let mut conn = self.pg.client().await?;
        let txn = conn
            .transaction()
            .await
            .map_err(failed("starting a redrive"))?;
        let taken = txn
            .execute(
                "DELETE FROM dead_letters WHERE ticket_id = $1",
                &[&ticket_id],
            )
            .await
            .map_err(failed("taking a dead letter"))?;
        if taken == 0 {
            return Ok(None);
        }
        for follow_up in &ticket.follow_ups {
            txn.execute(
                "INSERT INTO follow_ups (ticket_id, inquiry_id, attached_ms, payload)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &ticket_id,
                    &follow_up.inquiry_id,
                    &follow_up.attached_ms,
                    &follow_up.payload,
                ],
            )
            .await
            .map_err(failed("restoring a follow-up"))?;
        }
        if let Some(thread_id) = &ticket.thread_id {
            txn.execute(
                "INSERT INTO thread_tickets (ticket_id, client_id, thread_id, queue, priority,
                                             sla_due_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (ticket_id) DO UPDATE SET queue = EXCLUDED.queue",
                &[
                    &ticket_id,
                    &ticket.client_id,
                    thread_id,
                    &to_queue,
                    &i32::from(ticket.priority),
                    &ticket.sla_due_ms,
                ],
            )
            .await
            .map_err(failed("reopening a dead letter's thread"))?;
        }
        txn.execute(
            "UPDATE decisions SET stream_seq = $2 WHERE ticket_id = $1 AND stream_seq IS NOT NULL",
            &[&ticket_id, &id(stream_seq)],
        )
        .await
        .map_err(failed("locating a redriven ticket"))?;
        let recorded = insert_action(&txn, action).await?;
        txn.commit().await.map_err(failed("committing a redrive"))?;
        Ok(Some(recorded))
    }

    /// Removes the dead letter `action` names for good and records the discard; `None`
    /// (nothing written) when the dead letter is gone already.
    pub async fn record_discard(
        &self,
        action: DeadLetterAction,
    ) -> Result<Option<DeadLetterAction>, PostgresError> {
        let mut conn = self.pg.client().await?;
        let txn = conn
            .transaction()
            .await
            .map_err(failed("starting a discard"))?;
        let taken = txn
            .execute(
                "DELETE FROM dead_letters WHERE ticket_id = $1",
                &[&id(action.ticket_id)],
            )
            .await
            .map_err(failed("taking a dead letter"))?;
        if taken == 0 {
            return Ok(None);
        }
        let recorded = insert_action(&txn, action).await?;
        txn.commit().await.map_err(failed("committing a discard"))?;
        Ok(Some(recorded))
    }

    /// Every redrive and discard, oldest first.
    pub async fn dead_letter_actions(&self) -> Result<Vec<DeadLetterAction>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                "SELECT id, ticket_id, inquiry_id, queue, redriven_to, actor, reason,
                        dead_reason, acted_ms
                 FROM dead_letter_actions ORDER BY id",
                &[],
            )
            .await
            .map_err(failed("reading dead-letter actions"))?;
        Ok(rows
            .iter()
            .map(|row| DeadLetterAction {
                id: unid(row.get(0)),
                ticket_id: unid(row.get(1)),
                inquiry_id: row.get(2),
                queue: row.get(3),
                outcome: match row.get::<_, Option<String>>(4) {
                    Some(to_queue) => DeadLetterOutcome::Redriven { to_queue },
                    None => DeadLetterOutcome::Discarded,
                },
                actor: row.get(5),
                reason: row.get(6),
                dead_reason: row.get(7),
                acted_ms: row.get(8),
            })
            .collect())
    }
}

/// Stores `action` in the transaction `txn`; the action with the id it was given.
async fn insert_action(
    txn: &tokio_postgres::Transaction<'_>,
    mut action: DeadLetterAction,
) -> Result<DeadLetterAction, PostgresError> {
    let redriven_to = action.redriven_to();
    let row = txn
        .query_one(
            "INSERT INTO dead_letter_actions (ticket_id, inquiry_id, queue, redriven_to, actor,
                                              reason, dead_reason, acted_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &id(action.ticket_id),
                &action.inquiry_id,
                &action.queue,
                &redriven_to,
                &action.actor,
                &action.reason,
                &action.dead_reason,
                &action.acted_ms,
            ],
        )
        .await
        .map_err(failed("storing a dead-letter action"))?;
    action.id = unid(row.get(0));
    Ok(action)
}

/// The dead letter of a row holding [`DEAD_LETTER_COLUMNS`].
fn dead_letter(row: &Row) -> Result<DeadLetter, PostgresError> {
    let ticket_id = unid(row.get(0));
    let ticket = serde_json::from_str(row.get(1)).map_err(|err| {
        PostgresError::Unavailable(format!("damaged dead letter {ticket_id}: {err}"))
    })?;
    Ok(DeadLetter {
        ticket,
        reason: row.get(2),
        dead_ms: row.get(3),
    })
}
