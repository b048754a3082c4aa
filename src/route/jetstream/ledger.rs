//! `Ledger`: what the JetStream queue keeps in PostgreSQL beside its messages: decisions by
//! inquiry id (idempotency across replicas), the current lease of each claimed ticket (so any
//! replica can extend, resolve or release it), the open ticket of each thread and the
//! follow-ups attached to it, dead letters, audit records and corrections.
//!
//! A ticket queued with a thread has a `thread_tickets` row while it is open. Attaching a
//! follow-up locks that row; dead-lettering the ticket deletes it, and resolving it marks it
//! resolved (keeping the ticket to reopen), in the same statement or transaction that records
//! the dead letter or the audit record. So the two serialize on the row: a follow-up is
//! attached before the ticket closes, or finds it closed.
//!
//! Dead letters and what operators do with them are in `ledger/dead_letters.rs`.

mod dead_letters;

use std::collections::HashSet;
use std::ops::Range;

use tokio_postgres::Row;

use crate::postgres::{Postgres, PostgresError, failed};
use crate::readiness::NotReady;
use crate::route::{
    Attached, AuditRecord, Correction, FollowUp, LeaseToken, MAX_FOLLOW_UPS, NewFollowUp,
    NewTicket, QueuedAs, SentReply, StoredDecision, ThreadTicket, Ticket,
};

/// The lease a specialist holds on a ticket, with the message it was delivered as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub ticket_id: u64,
    pub token: LeaseToken,
    pub holder: String,
    pub queue: String,
    pub stream_seq: u64,
    pub ack_subject: String,
    pub expires_ms: i64,
    pub deliveries: u32,
    pub ticket: NewTicket,
}

/// Where a published ticket is: its id and the stream sequence of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub ticket_id: u64,
    pub stream_seq: u64,
}

/// A decision to store: its inquiry, its JSON and the ticket it queued, if any.
#[derive(Debug, Clone)]
pub struct NewDecision {
    pub inquiry_id: String,
    pub decision: String,
    pub ticket: Option<(Queued, NewTicket)>,
}

/// What the lease rows of one queue say at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseSummary {
    /// Leases live at that instant.
    pub live: u64,
    /// When the oldest ticket whose lease ran out (waiting for its redelivery) was created.
    pub oldest_expired_created_ms: Option<i64>,
}

/// The ticket ledger in PostgreSQL.
#[derive(Clone)]
pub struct Ledger {
    pg: Postgres,
}

/// Ids are `u64` in the service and `bigint` in PostgreSQL; JetStream sequences fit both.
fn id(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unid(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A `replies` row.
fn sent_reply(row: &Row) -> SentReply {
    SentReply {
        seq: unid(row.get(0)),
        ticket_id: unid(row.get(1)),
        inquiry_id: row.get(2),
        client_id: row.get(3),
        holder: row.get(4),
        sent_ms: row.get(5),
        payload: row.get(6),
    }
}

impl Ledger {
    pub fn new(pg: Postgres) -> Self {
        Self { pg }
    }

    /// Whether PostgreSQL answers now, and where it is when it does not.
    pub async fn ready(&self) -> Result<(), NotReady> {
        if self.pg.ping().await {
            return Ok(());
        }
        Err(NotReady::new(format!(
            "postgres at {} (the ticket ledger): not answering",
            self.pg.location()
        )))
    }

    /// The decision stored for `inquiry_id` (its JSON), with its ticket.
    pub async fn decision(
        &self,
        inquiry_id: &str,
    ) -> Result<Option<StoredDecision<String>>, PostgresError> {
        let conn = self.pg.client().await?;
        let statement = conn
            .prepare_cached("SELECT decision, ticket_id FROM decisions WHERE inquiry_id = $1")
            .await
            .map_err(failed("preparing the decision lookup"))?;
        let row = conn
            .query_opt(&statement, &[&inquiry_id])
            .await
            .map_err(failed("reading a decision"))?;
        Ok(row.map(|row| StoredDecision {
            decision: row.get(0),
            ticket_id: row.get::<_, Option<i64>>(1).map(unid),
        }))
    }

    /// At most `limit` decisions (their JSON, with their tickets and inquiry ids) stored at or
    /// after `since_ms` by PostgreSQL's clock, the latest first.
    pub async fn decisions_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, StoredDecision<String>)>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                "SELECT inquiry_id, decision, ticket_id FROM decisions
                 WHERE stored_at >= to_timestamp(($1::bigint / 1000.0)::float8)
                 ORDER BY stored_at DESC, inquiry_id DESC LIMIT $2",
                &[&since_ms, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(failed("reading the recent decisions"))?;
        Ok(rows
            .iter()
            .map(|row| {
                let stored = StoredDecision {
                    decision: row.get(1),
                    ticket_id: row.get::<_, Option<i64>>(2).map(unid),
                };
                (row.get(0), stored)
            })
            .collect())
    }

    /// Stores each decision (its JSON) unless one is stored for its inquiry, in one statement,
    /// with the ticket it queued, which becomes its thread's open ticket when it names a thread;
    /// returns the inquiries whose decision this call stored. The inquiries must be distinct.
    pub async fn record_decisions(
        &self,
        decisions: &[NewDecision],
    ) -> Result<HashSet<String>, PostgresError> {
        if decisions.is_empty() {
            return Ok(HashSet::new());
        }
        let conn = self.pg.client().await?;
        let statement = conn
            .prepare_cached(
                "WITH offered AS (
                     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[],
                                          $5::text[], $6::text[], $7::text[], $8::integer[],
                                          $9::bigint[])
                     AS t(inquiry_id, ticket_id, decision, stream_seq, client_id, thread_id,
                          queue, priority, sla_due_ms)
                 ), decided AS (
                     INSERT INTO decisions (inquiry_id, ticket_id, decision, stream_seq)
                     SELECT inquiry_id, ticket_id, decision, stream_seq FROM offered
                     ON CONFLICT (inquiry_id) DO NOTHING RETURNING inquiry_id
                 ), opened AS (
                     INSERT INTO thread_tickets (ticket_id, client_id, thread_id, queue,
                                                 priority, sla_due_ms)
                     SELECT o.ticket_id, o.client_id, o.thread_id, o.queue, o.priority,
                            o.sla_due_ms
                     FROM offered o JOIN decided d ON d.inquiry_id = o.inquiry_id
                     WHERE o.ticket_id IS NOT NULL AND o.thread_id IS NOT NULL
                     ON CONFLICT (ticket_id) DO NOTHING
                 )
                 SELECT inquiry_id FROM decided",
            )
            .await
            .map_err(failed("preparing the decision insert"))?;
        let column = |f: &dyn Fn(&NewDecision) -> Option<String>| -> Vec<Option<String>> {
            decisions.iter().map(f).collect()
        };
        let inquiry_ids: Vec<&str> = decisions.iter().map(|d| d.inquiry_id.as_str()).collect();
        let texts: Vec<&str> = decisions.iter().map(|d| d.decision.as_str()).collect();
        let ticket_ids: Vec<Option<i64>> = decisions
            .iter()
            .map(|d| d.ticket.as_ref().map(|(q, _)| id(q.ticket_id)))
            .collect();
        let stream_seqs: Vec<Option<i64>> = decisions
            .iter()
            .map(|d| d.ticket.as_ref().map(|(q, _)| id(q.stream_seq)))
            .collect();
        let client_ids = column(&|d| d.ticket.as_ref().map(|(_, t)| t.client_id.clone()));
        let thread_ids = column(&|d| d.ticket.as_ref().and_then(|(_, t)| t.thread_id.clone()));
        let queues = column(&|d| d.ticket.as_ref().map(|(_, t)| t.queue.clone()));
        let priorities: Vec<Option<i32>> = decisions
            .iter()
            .map(|d| d.ticket.as_ref().map(|(_, t)| i32::from(t.priority)))
            .collect();
        let sla_dues: Vec<Option<i64>> = decisions
            .iter()
            .map(|d| d.ticket.as_ref().map(|(_, t)| t.sla_due_ms))
            .collect();
        let rows = conn
            .query(
                &statement,
                &[
                    &inquiry_ids,
                    &ticket_ids,
                    &texts,
                    &stream_seqs,
                    &client_ids,
                    &thread_ids,
                    &queues,
                    &priorities,
                    &sla_dues,
                ],
            )
            .await
            .map_err(failed("storing decisions"))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Takes the next block of ticket ids: unique across replicas and for the life of the
    /// deployment (the sequence outlives the stream).
    pub async fn take_ticket_ids(&self) -> Result<Range<u64>, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_one(
                "SELECT nextval('ticket_ids'),
                        (SELECT seqincrement FROM pg_sequence
                         WHERE seqrelid = 'ticket_ids'::regclass)",
                &[],
            )
            .await
            .map_err(failed("taking a block of ticket ids"))?;
        let first = unid(row.get(0));
        Ok(first..first.saturating_add(unid(row.get(1))))
    }

    /// The stream sequence of `ticket_id`'s message, as recorded when it was last published.
    pub async fn stream_seq(&self, ticket_id: u64) -> Result<Option<u64>, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_opt(
                "SELECT stream_seq FROM decisions
                 WHERE ticket_id = $1 AND stream_seq IS NOT NULL LIMIT 1",
                &[&id(ticket_id)],
            )
            .await
            .map_err(failed("locating a ticket's message"))?;
        Ok(row.map(|row| unid(row.get(0))))
    }

    /// The ticket a replica published for `inquiry_id` and left unrecorded, found by what
    /// happened to it since: resolved, rerouted or dead-lettered.
    pub async fn ticket_of_unrecorded(
        &self,
        inquiry_id: &str,
    ) -> Result<Option<u64>, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_opt(
                "SELECT ticket_id FROM audit WHERE inquiry_id = $1
                 UNION ALL SELECT ticket_id FROM corrections WHERE inquiry_id = $1
                 UNION ALL SELECT ticket_id FROM dead_letters
                           WHERE ticket::jsonb ->> 'inquiry_id' = $1
                 LIMIT 1",
                &[&inquiry_id],
            )
            .await
            .map_err(failed("looking for an unrecorded inquiry's ticket"))?;
        Ok(row.map(|row| unid(row.get(0))))
    }

    /// The settings the deployment was set up with (setting, value).
    pub async fn deployment(&self) -> Result<Vec<(String, String)>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                "SELECT setting, value FROM deployment ORDER BY setting",
                &[],
            )
            .await
            .map_err(failed("reading the deployment's settings"))?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// Records the deployment's settings, replacing those recorded.
    pub async fn set_deployment(&self, settings: &[(&str, String)]) -> Result<(), PostgresError> {
        let mut conn = self.pg.client().await?;
        let txn = conn
            .transaction()
            .await
            .map_err(failed("starting to record the deployment's settings"))?;
        for (setting, value) in settings {
            txn.execute(
                "INSERT INTO deployment (setting, value) VALUES ($1, $2)
                 ON CONFLICT (setting) DO UPDATE SET value = EXCLUDED.value",
                &[setting, value],
            )
            .await
            .map_err(failed("recording the deployment's settings"))?;
        }
        txn.commit()
            .await
            .map_err(failed("committing the deployment's settings"))
    }

    /// The open ticket last queued in `client_id`'s thread `thread_id`, else the one last
    /// resolved.
    pub async fn thread_ticket(
        &self,
        client_id: &str,
        thread_id: &str,
    ) -> Result<Option<ThreadTicket>, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_opt(
                "SELECT ticket_id, queue, priority, sla_due_ms, resolved_ms FROM thread_tickets
                 WHERE client_id = $1 AND thread_id = $2
                 ORDER BY resolved_ms IS NOT NULL, resolved_ms DESC, opened DESC LIMIT 1",
                &[&client_id, &thread_id],
            )
            .await
            .map_err(failed("reading a thread's open ticket"))?;
        Ok(row.map(|row| ThreadTicket {
            ticket_id: unid(row.get(0)),
            queue: row.get(1),
            priority: u8::try_from(row.get::<_, i32>(2)).unwrap_or(u8::MAX),
            sla_due_ms: row.get(3),
            resolved_ms: row.get(4),
        }))
    }

    /// The resolved ticket `ticket_id` of `client_id`, kept in its thread row to be reopened,
    /// with when it was resolved.
    pub async fn resolved_ticket(
        &self,
        ticket_id: u64,
        client_id: &str,
    ) -> Result<Option<(NewTicket, i64)>, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_opt(
                "SELECT ticket, resolved_ms FROM thread_tickets
                 WHERE ticket_id = $1 AND client_id = $2 AND resolved_ms IS NOT NULL",
                &[&id(ticket_id), &client_id],
            )
            .await
            .map_err(failed("reading a resolved ticket"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let ticket: Option<String> = row.get(0);
        let ticket = ticket.and_then(|json| serde_json::from_str::<NewTicket>(&json).ok());
        Ok(ticket.map(|ticket| (ticket, row.get(1))))
    }

    /// Marks the resolved ticket `ticket_id` (resolved at `resolved_ms`) open again, published
    /// as `ticket` at `stream_seq`; false when it is not resolved at that time any more (a
    /// racing follow-up reopened it first).
    pub async fn reopen(
        &self,
        ticket_id: u64,
        resolved_ms: i64,
        ticket: &NewTicket,
        stream_seq: u64,
    ) -> Result<bool, PostgresError> {
        let conn = self.pg.client().await?;
        let reopened = conn
            .execute(
                "WITH found AS (
                     UPDATE decisions SET stream_seq = $4
                     WHERE inquiry_id = $5 AND ticket_id = $1
                 )
                 UPDATE thread_tickets
                 SET resolved_ms = NULL, ticket = NULL, sla_due_ms = $3, opened = DEFAULT
                 WHERE ticket_id = $1 AND resolved_ms = $2",
                &[
                    &id(ticket_id),
                    &resolved_ms,
                    &ticket.sla_due_ms,
                    &id(stream_seq),
                    &ticket.inquiry_id,
                ],
            )
            .await
            .map_err(failed("reopening a resolved ticket"))?;
        Ok(reopened == 1)
    }

    /// Attaches `follow_up` to its ticket and stores its decision (JSON) with the ticket's id,
    /// in one transaction holding the lock of the ticket's thread row, if the ticket takes it
    /// (open, the same client's, not full); an inquiry already recorded keeps its first
    /// decision.
    pub async fn attach(
        &self,
        decision: &str,
        follow_up: &NewFollowUp,
        now_ms: i64,
    ) -> Result<Attached<String>, PostgresError> {
        let ticket_id = id(follow_up.ticket_id);
        let inquiry_id = follow_up.inquiry_id.as_str();
        let mut conn = self.pg.client().await?;
        let txn = conn
            .transaction()
            .await
            .map_err(failed("starting an attach"))?;
        let open = txn
            .query_opt(
                "SELECT (SELECT count(*) FROM follow_ups WHERE ticket_id = $1)
                 FROM thread_tickets
                 WHERE ticket_id = $1 AND client_id = $2 AND resolved_ms IS NULL FOR UPDATE",
                &[&ticket_id, &follow_up.client_id],
            )
            .await
            .map_err(failed("locking a thread's open ticket"))?;
        let takes_it = open.is_some_and(|row| row.get::<_, i64>(0) < MAX_FOLLOW_UPS as i64);
        let inserted = if takes_it {
            txn.execute(
                "INSERT INTO decisions (inquiry_id, ticket_id, decision) VALUES ($1, $2, $3)
                 ON CONFLICT (inquiry_id) DO NOTHING",
                &[&inquiry_id, &ticket_id, &decision],
            )
            .await
            .map_err(failed("storing a follow-up's decision"))?
        } else {
            0
        };
        if inserted == 0 {
            drop(txn);
            drop(conn);
            return Ok(match self.decision(inquiry_id).await? {
                Some(existing) => Attached::Existing(existing),
                None => Attached::NotAttached,
            });
        }
        txn.execute(
            "INSERT INTO follow_ups (ticket_id, inquiry_id, attached_ms, payload)
             VALUES ($1, $2, $3, $4)",
            &[&ticket_id, &inquiry_id, &now_ms, &follow_up.payload],
        )
        .await
        .map_err(failed("storing a follow-up"))?;
        txn.commit()
            .await
            .map_err(failed("committing a follow-up"))?;
        Ok(Attached::New)
    }

    /// The follow-ups attached to `ticket_id`, oldest first.
    pub async fn follow_ups(&self, ticket_id: u64) -> Result<Vec<FollowUp>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                "SELECT inquiry_id, attached_ms, payload FROM follow_ups
                 WHERE ticket_id = $1 ORDER BY id",
                &[&id(ticket_id)],
            )
            .await
            .map_err(failed("reading follow-ups"))?;
        Ok(rows.iter().map(follow_up).collect())
    }

    /// The lease row of `ticket_id`, if it was claimed and not since resolved or released.
    pub async fn lease(&self, ticket_id: u64) -> Result<Option<LeaseRow>, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_opt(
                "SELECT ticket_id, token, holder, queue, stream_seq, ack_subject, expires_ms,
                        deliveries, ticket
                 FROM leases WHERE ticket_id = $1",
                &[&id(ticket_id)],
            )
            .await
            .map_err(failed("reading a lease"))?;
        row.map(lease_row).transpose()
    }

    /// Records (or replaces) the lease of a ticket just delivered.
    pub async fn put_lease(&self, lease: &LeaseRow) -> Result<(), PostgresError> {
        let ticket = serde_json::to_string(&lease.ticket)
            .map_err(|err| PostgresError::Unavailable(format!("encoding a ticket: {err}")))?;
        let conn = self.pg.client().await?;
        conn.execute(
            "INSERT INTO leases (ticket_id, token, holder, queue, stream_seq, ack_subject,
                                 expires_ms, deliveries, ticket)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (ticket_id) DO UPDATE SET
                 token = EXCLUDED.token, holder = EXCLUDED.holder, queue = EXCLUDED.queue,
                 stream_seq = EXCLUDED.stream_seq, ack_subject = EXCLUDED.ack_subject,
                 expires_ms = EXCLUDED.expires_ms, deliveries = EXCLUDED.deliveries,
                 ticket = EXCLUDED.ticket",
            &[
                &id(lease.ticket_id),
                &lease.token.to_string(),
                &lease.holder,
                &lease.queue,
                &id(lease.stream_seq),
                &lease.ack_subject,
                &lease.expires_ms,
                &i32::try_from(lease.deliveries).unwrap_or(i32::MAX),
                &ticket,
            ],
        )
        .await
        .map_err(failed("storing a lease"))?;
        Ok(())
    }

    /// Moves the expiry of lease `token` of `ticket_id`.
    pub async fn extend_lease(
        &self,
        ticket_id: u64,
        token: LeaseToken,
        expires_ms: i64,
    ) -> Result<(), PostgresError> {
        let conn = self.pg.client().await?;
        conn.execute(
            "UPDATE leases SET expires_ms = $3 WHERE ticket_id = $1 AND token = $2",
            &[&id(ticket_id), &token.to_string(), &expires_ms],
        )
        .await
        .map_err(failed("extending a lease"))?;
        Ok(())
    }

    /// Forgets the lease `token` of `ticket_id` (resolved, released or moved).
    pub async fn drop_lease(&self, ticket_id: u64, token: LeaseToken) -> Result<(), PostgresError> {
        let conn = self.pg.client().await?;
        conn.execute(
            "DELETE FROM leases WHERE ticket_id = $1 AND token = $2",
            &[&id(ticket_id), &token.to_string()],
        )
        .await
        .map_err(failed("dropping a lease"))?;
        Ok(())
    }

    /// Forgets a resolved ticket whose message is acknowledged: its lease `token` and its
    /// follow-ups.
    pub async fn drop_resolved(
        &self,
        ticket_id: u64,
        token: LeaseToken,
    ) -> Result<(), PostgresError> {
        let conn = self.pg.client().await?;
        conn.execute(
            "WITH forgotten AS (
                 DELETE FROM follow_ups WHERE ticket_id = $1
                 AND NOT EXISTS (SELECT 1 FROM thread_tickets WHERE ticket_id = $1)
             )
             DELETE FROM leases WHERE ticket_id = $1 AND token = $2",
            &[&id(ticket_id), &token.to_string()],
        )
        .await
        .map_err(failed("dropping a resolved ticket"))?;
        Ok(())
    }

    /// The leases of `queue` as of `now_ms`: how many are live, and the creation time of the
    /// oldest ticket among those that ran out.
    pub async fn lease_summary(
        &self,
        queue: &str,
        now_ms: i64,
    ) -> Result<LeaseSummary, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_one(
                "SELECT count(*) FILTER (WHERE expires_ms > $2),
                        min((ticket::jsonb ->> 'created_ms')::bigint) FILTER (WHERE expires_ms <= $2)
                 FROM leases WHERE queue = $1",
                &[&queue, &now_ms],
            )
            .await
            .map_err(failed("summing up the leases"))?;
        Ok(LeaseSummary {
            live: unid(row.get(0)),
            oldest_expired_created_ms: row.get(1),
        })
    }

    /// How many tickets of `queue` in priority bands up to `band` (a ticket's band being its
    /// priority, capped at `last_band`) have a lease live at `now_ms`, ticket `ticket_id`
    /// left out.
    pub async fn live_leases_up_to_band(
        &self,
        queue: &str,
        band: u8,
        last_band: u8,
        ticket_id: u64,
        now_ms: i64,
    ) -> Result<u64, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_one(
                "SELECT count(*) FROM leases
                 WHERE queue = $1 AND expires_ms > $2 AND ticket_id <> $3
                   AND least((ticket::jsonb ->> 'priority')::int, $4) <= $5",
                &[
                    &queue,
                    &now_ms,
                    &id(ticket_id),
                    &i32::from(last_band),
                    &i32::from(band),
                ],
            )
            .await
            .map_err(failed("counting the live leases"))?;
        Ok(unid(row.get(0)))
    }

    /// Keeps the audit record of a resolved ticket (a repeat keeps the first) with the reply to
    /// its client, if any (stored only with the first record), and closes its thread to
    /// follow-ups, in one statement.
    pub async fn record_audit(
        &self,
        record: &AuditRecord,
        lease: &LeaseRow,
        reply: Option<&str>,
    ) -> Result<(), PostgresError> {
        let conn = self.pg.client().await?;
        let ticket = serde_json::to_string(&lease.ticket).unwrap_or_default();
        conn.execute(
            "WITH closed AS (
                 UPDATE thread_tickets SET resolved_ms = $6, ticket = $12 WHERE ticket_id = $1
             ), audited AS (
                 INSERT INTO audit (ticket_id, inquiry_id, queue, holder, outcome, resolved_ms,
                                    deliveries, note, stream_seq, priority, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $11, $13, $14)
                 ON CONFLICT (ticket_id) DO UPDATE SET
                     queue = EXCLUDED.queue, holder = EXCLUDED.holder,
                     outcome = EXCLUDED.outcome, resolved_ms = EXCLUDED.resolved_ms,
                     deliveries = EXCLUDED.deliveries, note = EXCLUDED.note,
                     stream_seq = EXCLUDED.stream_seq, priority = EXCLUDED.priority,
                     created_ms = EXCLUDED.created_ms
                 WHERE audit.stream_seq IS DISTINCT FROM EXCLUDED.stream_seq
                 RETURNING ticket_id)
             INSERT INTO replies (ticket_id, inquiry_id, client_id, holder, sent_ms, payload)
             SELECT ticket_id, $2, $9, $4, $6, $10 FROM audited WHERE $10::text IS NOT NULL",
            &[
                &id(record.ticket_id),
                &record.inquiry_id,
                &record.queue,
                &record.holder,
                &record.outcome,
                &record.resolved_ms,
                &i32::try_from(record.deliveries).unwrap_or(i32::MAX),
                &record.note,
                &lease.ticket.client_id,
                &reply,
                &id(lease.stream_seq),
                &ticket,
                &record.queued_as.map(|queued| i16::from(queued.priority)),
                &record.queued_as.map(|queued| queued.created_ms),
            ],
        )
        .await
        .map_err(failed("storing an audit record"))?;
        Ok(())
    }

    /// The audit record of `ticket_id`.
    pub async fn audit(&self, ticket_id: u64) -> Result<Option<AuditRecord>, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_opt(
                format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE ticket_id = $1").as_str(),
                &[&id(ticket_id)],
            )
            .await
            .map_err(failed("reading an audit record"))?;
        Ok(row.as_ref().map(audit_record))
    }

    /// At most `limit` audit records of tickets resolved at or after `since_ms`, the latest
    /// first.
    pub async fn resolved_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit WHERE resolved_ms >= $1
                     ORDER BY resolved_ms DESC, ticket_id DESC LIMIT $2"
                )
                .as_str(),
                &[&since_ms, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(failed("reading the recent audit records"))?;
        Ok(rows.iter().map(audit_record).collect())
    }

    /// The replies sent on `ticket_id`, oldest first.
    pub async fn replies(&self, ticket_id: u64) -> Result<Vec<SentReply>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                "SELECT seq, ticket_id, inquiry_id, client_id, holder, sent_ms, payload
                 FROM replies WHERE ticket_id = $1 ORDER BY seq",
                &[&id(ticket_id)],
            )
            .await
            .map_err(failed("reading a ticket's replies"))?;
        Ok(rows.iter().map(sent_reply).collect())
    }

    /// At most `limit` replies sent at or after `since_ms`, by time, then sequence.
    pub async fn replies_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<SentReply>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                "SELECT seq, ticket_id, inquiry_id, client_id, holder, sent_ms, payload
                 FROM replies WHERE sent_ms >= $1 ORDER BY sent_ms, seq LIMIT $2",
                &[&since_ms, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(failed("reading the replies sent"))?;
        Ok(rows.iter().map(sent_reply).collect())
    }

    /// Records a reroute, the ticket's new queue as its thread knows it and the stream sequence
    /// it was published again at; returns the correction with its id.
    pub async fn record_correction(
        &self,
        mut correction: Correction,
        stream_seq: u64,
    ) -> Result<Correction, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_one(
                "WITH moved AS (UPDATE thread_tickets SET queue = $4 WHERE ticket_id = $1),
                      located AS (UPDATE decisions SET stream_seq = $8
                                  WHERE ticket_id = $1 AND stream_seq IS NOT NULL)
                 INSERT INTO corrections (ticket_id, inquiry_id, from_queue, to_queue, holder,
                                          reason, corrected_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &id(correction.ticket_id),
                    &correction.inquiry_id,
                    &correction.from_queue,
                    &correction.to_queue,
                    &correction.holder,
                    &correction.reason,
                    &correction.corrected_ms,
                    &id(stream_seq),
                ],
            )
            .await
            .map_err(failed("storing a correction"))?;
        correction.id = unid(row.get(0));
        Ok(correction)
    }

    /// Every correction, oldest first.
    pub async fn corrections(&self) -> Result<Vec<Correction>, PostgresError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(
                "SELECT id, ticket_id, inquiry_id, from_queue, to_queue, holder, reason,
                        corrected_ms
                 FROM corrections ORDER BY id",
                &[],
            )
            .await
            .map_err(failed("reading corrections"))?;
        Ok(rows
            .iter()
            .map(|row| Correction {
                id: unid(row.get(0)),
                ticket_id: unid(row.get(1)),
                inquiry_id: row.get(2),
                from_queue: row.get(3),
                to_queue: row.get(4),
                holder: row.get(5),
                reason: row.get(6),
                corrected_ms: row.get(7),
            })
            .collect())
    }

    /// Keeps a ticket that ran out of deliveries, with why and with its follow-ups, which
    /// leave their table for the dead letter; its thread has no open ticket from then on. One
    /// transaction, which first waits for an attach holding the thread row.
    pub async fn record_dead_letter(
        &self,
        ticket: &Ticket,
        reason: &str,
        dead_ms: i64,
    ) -> Result<(), PostgresError> {
        let ticket_id = id(ticket.id);
        let mut conn = self.pg.client().await?;
        let txn = conn
            .transaction()
            .await
            .map_err(failed("starting a dead letter"))?;
        txn.execute(
            "DELETE FROM thread_tickets WHERE ticket_id = $1",
            &[&ticket_id],
        )
        .await
        .map_err(failed("closing a dead letter's thread"))?;
        let follow_ups = txn
            .query(
                "DELETE FROM follow_ups WHERE ticket_id = $1
                 RETURNING inquiry_id, attached_ms, payload, id",
                &[&ticket_id],
            )
            .await
            .map_err(failed("taking a dead letter's follow-ups"))?;
        let mut letter = ticket.clone();
        let mut follow_ups: Vec<(i64, FollowUp)> = follow_ups
            .iter()
            .map(|row| (row.get(3), follow_up(row)))
            .collect();
        follow_ups.sort_by_key(|(position, _)| *position);
        letter.follow_ups = follow_ups.into_iter().map(|(_, f)| f).collect();
        let json = serde_json::to_string(&letter).map_err(|err| {
            PostgresError::Unavailable(format!("encoding dead letter {}: {err}", ticket.id))
        })?;
        txn.execute(
            "INSERT INTO dead_letters (ticket_id, queue, ticket, reason, dead_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id) DO NOTHING",
            &[&ticket_id, &ticket.queue, &json, &reason, &dead_ms],
        )
        .await
        .map_err(failed("storing a dead letter"))?;
        txn.commit()
            .await
            .map_err(failed("committing a dead letter"))
    }

    /// How many dead letters `queue` has.
    pub async fn dead_letter_count(&self, queue: &str) -> Result<u64, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_one(
                "SELECT count(*) FROM dead_letters WHERE queue = $1",
                &[&queue],
            )
            .await
            .map_err(failed("counting dead letters"))?;
        Ok(unid(row.get(0)))
    }
}

/// A follow-up of a row holding its inquiry id, attach time and payload, in that order.
/// The columns [`audit_record`] reads, in its order.
const AUDIT_COLUMNS: &str = "ticket_id, inquiry_id, queue, holder, outcome, resolved_ms, deliveries, note, priority, \
     created_ms";

/// An `audit` row, as [`AUDIT_COLUMNS`] selects it.
fn audit_record(row: &Row) -> AuditRecord {
    let priority: Option<i16> = row.get(8);
    let created_ms: Option<i64> = row.get(9);
    AuditRecord {
        ticket_id: unid(row.get(0)),
        inquiry_id: row.get(1),
        queue: row.get(2),
        holder: row.get(3),
        outcome: row.get(4),
        resolved_ms: row.get(5),
        deliveries: u32::try_from(row.get::<_, i32>(6)).unwrap_or(0),
        note: row.get(7),
        queued_as: priority
            .zip(created_ms)
            .map(|(priority, created_ms)| QueuedAs {
                priority: u8::try_from(priority).unwrap_or(u8::MAX),
                created_ms,
            }),
    }
}

fn follow_up(row: &Row) -> FollowUp {
    FollowUp {
        inquiry_id: row.get(0),
        attached_ms: row.get(1),
        payload: row.get(2),
    }
}

fn lease_row(row: Row) -> Result<LeaseRow, PostgresError> {
    let ticket: String = row.get(8);
    let ticket = serde_json::from_str(&ticket)
        .map_err(|err| PostgresError::Unavailable(format!("damaged lease ticket: {err}")))?;
    let token = row
        .get::<_, String>(1)
        .parse()
        .map_err(|err| PostgresError::Unavailable(format!("damaged lease token: it {err}")))?;
    Ok(LeaseRow {
        ticket_id: unid(row.get(0)),
        token,
        holder: row.get(2),
        queue: row.get(3),
        stream_seq: unid(row.get(4)),
        ack_subject: row.get(5),
        expires_ms: row.get(6),
        deliveries: u32::try_from(row.get::<_, i32>(7)).unwrap_or(0),
        ticket,
    })
}
