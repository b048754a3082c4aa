//! `Snapshot`: the read side — queries over one redb read transaction, which runs beside
//! the writer and sees the last committed batch.

use redb::{AccessGuard, Database, ReadTransaction, ReadableDatabase, ReadableTable};

use super::rows::{RawDecision, stored_entries};
use super::schema::{
    AUDIT, AUDIT_TIMES, CORRECTIONS, DEAD_LETTER_ACTIONS, DEAD_LETTERS, DECISION_INDEX,
    DECISION_ROWS, DeadLetter, FOLLOW_UPS, LEASES, READY, REPLIES, REPLY_TICKETS, REPLY_TIMES,
    RESOLVED, RESOLVED_THREADS, ResolvedTicket, THREADS, TICKETS, dead_letter_range, decode,
    find_dead_letter, follow_ups_of, indexed_ticket, read_json, ready_range_up_to, stored_decision,
    thread_range,
};
use crate::route::dead_letter::DeadLetterAction;
use crate::route::error::RouteError;
use crate::route::history::{AuditRecord, Correction, SentReply};
use crate::route::stats::{QueueStats, Tally};
use crate::route::thread::ThreadTicket;
use crate::route::ticket::Ticket;

/// A consistent view of the committed queue.
pub(crate) struct Snapshot {
    txn: ReadTransaction,
}

impl Snapshot {
    pub fn begin(db: &Database) -> Result<Self, RouteError> {
        Ok(Self {
            txn: db.begin_read()?,
        })
    }

    /// The decision stored for `inquiry_id`, from its decision row.
    pub fn decision(&self, inquiry_id: &str) -> Result<Option<RawDecision>, RouteError> {
        stored_decision(
            &self.txn.open_table(DECISION_INDEX)?,
            &self.txn.open_table(DECISION_ROWS)?,
            None,
            inquiry_id,
        )
    }

    /// At most `limit` decisions of the rows stored at or after `since_ms`, the latest first,
    /// each with its inquiry id. Rows are stored in the order of their ids and stamped with
    /// their batch's time, so the scan walks back from the last row until an older one.
    pub fn decisions_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, RawDecision)>, RouteError> {
        let rows = self.txn.open_table(DECISION_ROWS)?;
        let mut decisions = Vec::new();
        for row in rows.iter()?.rev() {
            let (id, stored) = row?;
            let id = id.value();
            let (stored_ms, entries) = stored_entries(stored.value())
                .map_err(|_| RouteError::Storage(format!("decoding decision row {id} failed")))?;
            if stored_ms < since_ms {
                break;
            }
            for entry in entries.into_iter().rev() {
                if decisions.len() == limit {
                    return Ok(decisions);
                }
                decisions.push((entry.inquiry_id, entry.decision));
            }
        }
        Ok(decisions)
    }

    /// The live ticket `id`, with its follow-ups.
    pub fn ticket(&self, id: u64) -> Result<Option<Ticket>, RouteError> {
        let table = self.txn.open_table(TICKETS)?;
        let Some(mut ticket) = read_json::<_, Ticket>(&table, id, format_args!("ticket {id}"))?
        else {
            return Ok(None);
        };
        ticket.follow_ups = follow_ups_of(&self.txn.open_table(FOLLOW_UPS)?, id)?;
        Ok(Some(ticket))
    }

    /// The live ticket last queued in `client_id`'s thread `thread_id`, else the one last
    /// resolved (kept to be reopened).
    pub fn thread_ticket(
        &self,
        client_id: &str,
        thread_id: &str,
    ) -> Result<Option<ThreadTicket>, RouteError> {
        let threads = self.txn.open_table(THREADS)?;
        if let Some(last) = threads
            .range(thread_range(client_id, thread_id))?
            .next_back()
        {
            let id = last?.0.value().2;
            let ticket = indexed_ticket(&self.txn.open_table(TICKETS)?, id, "threads")?;
            return Ok(Some(thread_ticket(&ticket, None)));
        }
        let resolved_threads = self.txn.open_table(RESOLVED_THREADS)?;
        let Some(last) = resolved_threads
            .range(thread_range(client_id, thread_id))?
            .next_back()
        else {
            return Ok(None);
        };
        let id = last?.0.value().2;
        let what = format_args!("resolved ticket {id}");
        let kept: ResolvedTicket = read_json(&self.txn.open_table(RESOLVED)?, id, what)?
            .ok_or_else(|| {
                RouteError::Storage(format!("resolved_threads names missing ticket {id}"))
            })?;
        Ok(Some(thread_ticket(&kept.ticket, Some(kept.resolved_ms))))
    }

    pub fn audit(&self, id: u64) -> Result<Option<AuditRecord>, RouteError> {
        let table = self.txn.open_table(AUDIT)?;
        read_json(&table, id, format_args!("audit record of ticket {id}"))
    }

    /// The replies sent on ticket `id`, oldest first.
    pub fn replies(&self, id: u64) -> Result<Vec<SentReply>, RouteError> {
        let index = self.txn.open_table(REPLY_TICKETS)?;
        let seqs = index
            .range((id, 0)..=(id, u64::MAX))?
            .map(|entry| entry.map(|(key, _)| key.value().1));
        self.replies_by_seq(seqs)
    }

    /// At most `limit` replies sent at or after `since_ms`, by time, then sequence.
    pub fn replies_since(&self, since_ms: i64, limit: usize) -> Result<Vec<SentReply>, RouteError> {
        let times = self.txn.open_table(REPLY_TIMES)?;
        let seqs = times
            .range((since_ms, 0)..)?
            .take(limit)
            .map(|entry| entry.map(|(key, _)| key.value().1));
        self.replies_by_seq(seqs)
    }

    /// The replies an index names by sequence.
    fn replies_by_seq(
        &self,
        seqs: impl Iterator<Item = Result<u64, redb::StorageError>>,
    ) -> Result<Vec<SentReply>, RouteError> {
        let replies = self.txn.open_table(REPLIES)?;
        seqs.map(|seq| {
            let seq = seq?;
            read_json(&replies, seq, format_args!("reply {seq}"))?.ok_or_else(|| {
                RouteError::Storage(format!("a reply index names missing reply {seq}"))
            })
        })
        .collect()
    }

    /// The first `limit` audit records resolved before `cutoff_ms`, oldest first.
    pub fn audit_resolved_before(
        &self,
        cutoff_ms: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, RouteError> {
        let times = self.txn.open_table(AUDIT_TIMES)?;
        self.audit_records(times.range(..(cutoff_ms, 0))?.take(limit))
    }

    /// The last `limit` audit records resolved at or after `since_ms`, the latest first.
    pub fn audit_resolved_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, RouteError> {
        let times = self.txn.open_table(AUDIT_TIMES)?;
        self.audit_records(times.range((since_ms, 0)..)?.rev().take(limit))
    }

    /// The audit records `audit_times` entries name, in their order.
    fn audit_records<'a>(
        &self,
        times: impl Iterator<
            Item = Result<(AccessGuard<'a, (i64, u64)>, AccessGuard<'a, ()>), redb::StorageError>,
        >,
    ) -> Result<Vec<AuditRecord>, RouteError> {
        let audit = self.txn.open_table(AUDIT)?;
        let mut records = Vec::new();
        for entry in times {
            let (_, id) = entry?.0.value();
            let what = format_args!("audit record of ticket {id}");
            let record = read_json(&audit, id, what)?.ok_or_else(|| {
                RouteError::Storage(format!("audit_times names missing audit record {id}"))
            })?;
            records.push(record);
        }
        Ok(records)
    }

    /// Dead-lettered tickets of `queue`, oldest first (by when they were dead-lettered, then
    /// by id).
    pub fn dead_letters(&self, queue: &str) -> Result<Vec<DeadLetter>, RouteError> {
        let table = self.txn.open_table(DEAD_LETTERS)?;
        let mut letters = Vec::new();
        for entry in table.range(dead_letter_range(queue))? {
            let (key, value) = entry?;
            let what = format_args!("dead letter {}", key.value().1);
            letters.push(decode::<DeadLetter>(what, value.value())?);
        }
        letters.sort_by_key(|letter| (letter.dead_ms, letter.ticket.id));
        Ok(letters)
    }

    /// The dead letter of ticket `id`, whichever queue it is on.
    pub fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, RouteError> {
        find_dead_letter(&self.txn.open_table(DEAD_LETTERS)?, id)
    }

    /// Every redrive and discard, oldest first.
    pub fn dead_letter_actions(&self) -> Result<Vec<DeadLetterAction>, RouteError> {
        let table = self.txn.open_table(DEAD_LETTER_ACTIONS)?;
        let mut actions = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            let what = format_args!("dead-letter action {}", key.value());
            actions.push(decode(what, value.value())?);
        }
        Ok(actions)
    }

    /// Every correction, oldest first.
    pub fn corrections(&self) -> Result<Vec<Correction>, RouteError> {
        let table = self.txn.open_table(CORRECTIONS)?;
        let mut corrections = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            corrections.push(decode(
                format_args!("correction {}", key.value()),
                value.value(),
            )?);
        }
        Ok(corrections)
    }

    /// Stats for `queues` and every other queue holding tickets, as of `now_ms`.
    pub fn stats(&self, queues: &[String], now_ms: i64) -> Result<Vec<QueueStats>, RouteError> {
        let mut tally = Tally::new(queues, now_ms);
        for entry in self.txn.open_table(READY)?.iter()? {
            let (key, _) = entry?;
            let (queue, priority, sla_due_ms, id) = key.value();
            tally.ready(queue, priority, sla_due_ms, id);
        }
        let tickets = self.txn.open_table(TICKETS)?;
        for entry in self.txn.open_table(LEASES)?.iter()? {
            let (key, _) = entry?;
            let (expires_ms, id) = key.value();
            let ticket = indexed_ticket(&tickets, id, "leases")?;
            // An expired lease is swept back to ready by the next claim: it is ready already.
            if expires_ms <= now_ms {
                tally.ready(&ticket.queue, ticket.priority, ticket.sla_due_ms, id);
            } else {
                tally.leased(&ticket);
            }
        }
        let first_ready: Vec<u64> = tally.first_ready().collect();
        for id in first_ready {
            tally.ready_age(&indexed_ticket(&tickets, id, "ready")?);
        }
        for entry in self.txn.open_table(DEAD_LETTERS)?.iter()? {
            let (key, _) = entry?;
            tally.dead_letter(key.value().0);
        }
        Ok(tally.finish())
    }

    /// The ready tickets of `queue` of `priority` or a more urgent one, other than
    /// `ticket_id`, as of `now_ms`: a range of the ready index, and the leases run out by then
    /// (few: the next claim sweeps them).
    pub fn ready_ahead(
        &self,
        queue: &str,
        priority: u8,
        ticket_id: u64,
        now_ms: i64,
    ) -> Result<u64, RouteError> {
        let mut ahead = 0;
        let ready = self.txn.open_table(READY)?;
        for entry in ready.range(ready_range_up_to(queue, priority))? {
            ahead += u64::from(entry?.0.value().3 != ticket_id);
        }
        let tickets = self.txn.open_table(TICKETS)?;
        for entry in self.txn.open_table(LEASES)?.range(..=(now_ms, u64::MAX))? {
            let id = entry?.0.value().1;
            if id == ticket_id {
                continue;
            }
            let ticket = indexed_ticket(&tickets, id, "leases")?;
            ahead += u64::from(ticket.queue == queue && ticket.priority <= priority);
        }
        Ok(ahead)
    }
}

/// What a thread knows of `ticket`, resolved at `resolved_ms` if it was.
fn thread_ticket(ticket: &Ticket, resolved_ms: Option<i64>) -> ThreadTicket {
    ThreadTicket {
        ticket_id: ticket.id,
        queue: ticket.queue.clone(),
        priority: ticket.priority,
        sla_due_ms: ticket.sla_due_ms,
        resolved_ms,
    }
}
