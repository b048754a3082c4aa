//! `Txn`: the queue's state changes, applied by the writer inside one redb write
//! transaction. Every operation checks the caller's request (returning NotFound / lease /
//! argument errors) before it changes anything, so a refused request leaves the batch's
//! transaction untouched; a `Storage` error instead aborts the whole batch. Redrive and
//! discard of dead letters are in `txn/dead_letters.rs`.

mod dead_letters;

use std::collections::HashSet;

use redb::{ReadableTable, Table, WriteTransaction};

use super::rows::{DecisionRow, MAX_DECISIONS_PER_ROW, RawDecision, row_of, stored_entries};
use super::schema::{
    AUDIT, AUDIT_TIMES, CORRECTIONS, COUNTERS, DEAD_LETTER_ACTIONS, DEAD_LETTERS, DECISION_INDEX,
    DECISION_ROWS, DeadLetter, FOLLOW_UPS, LEASES, READY, REPLIES, REPLY_TICKETS, REPLY_TIMES,
    RESOLVED, RESOLVED_THREADS, ReadyKey, ResolvedTicket, THREADS, TICKETS, ThreadKey, encode,
    follow_up_range, follow_ups_of, indexed_ticket, read_json, ready_key, ready_range,
    stored_decision, thread_key,
};
use crate::route::decision::Recorded;
use crate::route::error::RouteError;
use crate::route::history::{AuditRecord, Correction, QueuedAs, Resolution, SentReply};
use crate::route::lease_token::LeaseToken;
use crate::route::thread::{Attached, FollowUp, MAX_FOLLOW_UPS, NewFollowUp};
use crate::route::ticket::{Lease, NewTicket, Ticket, lease_expiry, released_last};

const NEXT_TICKET_ID: &str = "next_ticket_id";
const NEXT_CORRECTION_ID: &str = "next_correction_id";
const NEXT_DECISION_ROW: &str = "next_decision_row";
const NEXT_REPLY_SEQ: &str = "next_reply_seq";
const NEXT_DEAD_LETTER_ACTION_ID: &str = "next_dead_letter_action_id";

/// The open tables of one write transaction, the batch's clock reading and its counters.
pub(crate) struct Txn<'t> {
    tickets: Table<'t, u64, &'static [u8]>,
    ready: Table<'t, ReadyKey<'static>, ()>,
    leases: Table<'t, (i64, u64), ()>,
    decision_rows: Table<'t, u64, &'static [u8]>,
    decision_index: Table<'t, &'static str, u64>,
    /// Decisions recorded in this transaction, stored as row `next_decision_row` once full or
    /// at `finish`.
    pending_row: DecisionRow,
    dead_letters: Table<'t, (&'static str, u64), &'static [u8]>,
    audit: Table<'t, u64, &'static [u8]>,
    audit_times: Table<'t, (i64, u64), ()>,
    corrections: Table<'t, u64, &'static [u8]>,
    threads: Table<'t, ThreadKey<'static>, ()>,
    follow_ups: Table<'t, (u64, u32), &'static [u8]>,
    replies: Table<'t, u64, &'static [u8]>,
    reply_tickets: Table<'t, (u64, u64), ()>,
    reply_times: Table<'t, (i64, u64), ()>,
    resolved: Table<'t, u64, &'static [u8]>,
    resolved_threads: Table<'t, ThreadKey<'static>, ()>,
    dead_letter_actions: Table<'t, u64, &'static [u8]>,
    counters: Table<'t, &'static str, u64>,
    next_ticket_id: u64,
    next_correction_id: u64,
    next_decision_row: u64,
    next_reply_seq: u64,
    next_dead_letter_action_id: u64,
    now_ms: i64,
    max_deliveries: u32,
    /// The tickets this transaction dead-lettered, reported once it commits.
    dead_lettered: Vec<DeadLetter>,
}

/// What one step of the decision sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecisionSweep {
    /// Decisions removed.
    pub removed: usize,
    /// The row to go on from; `None` once no row older than the cutoff is left.
    pub next_row: Option<u64>,
}

/// Returns the counter's value and advances it.
fn take(counter: &mut u64) -> u64 {
    let value = *counter;
    *counter += 1;
    value
}

impl<'t> Txn<'t> {
    /// Opens every table of `txn` and loads the counters; `now_ms` is the batch's instant.
    pub fn open(
        txn: &'t WriteTransaction,
        now_ms: i64,
        max_deliveries: u32,
    ) -> Result<Self, RouteError> {
        let counters = txn.open_table(COUNTERS)?;
        let counter = |name: &str| -> Result<u64, RouteError> {
            Ok(counters.get(name)?.map_or(1, |guard| guard.value()))
        };
        let (
            next_ticket_id,
            next_correction_id,
            next_decision_row,
            next_reply_seq,
            next_dead_letter_action_id,
        ) = (
            counter(NEXT_TICKET_ID)?,
            counter(NEXT_CORRECTION_ID)?,
            counter(NEXT_DECISION_ROW)?,
            counter(NEXT_REPLY_SEQ)?,
            counter(NEXT_DEAD_LETTER_ACTION_ID)?,
        );
        Ok(Self {
            tickets: txn.open_table(TICKETS)?,
            ready: txn.open_table(READY)?,
            leases: txn.open_table(LEASES)?,
            decision_rows: txn.open_table(DECISION_ROWS)?,
            decision_index: txn.open_table(DECISION_INDEX)?,
            pending_row: DecisionRow::default(),
            dead_letters: txn.open_table(DEAD_LETTERS)?,
            audit: txn.open_table(AUDIT)?,
            audit_times: txn.open_table(AUDIT_TIMES)?,
            corrections: txn.open_table(CORRECTIONS)?,
            threads: txn.open_table(THREADS)?,
            follow_ups: txn.open_table(FOLLOW_UPS)?,
            replies: txn.open_table(REPLIES)?,
            reply_tickets: txn.open_table(REPLY_TICKETS)?,
            reply_times: txn.open_table(REPLY_TIMES)?,
            resolved: txn.open_table(RESOLVED)?,
            resolved_threads: txn.open_table(RESOLVED_THREADS)?,
            dead_letter_actions: txn.open_table(DEAD_LETTER_ACTIONS)?,
            counters,
            next_ticket_id,
            next_correction_id,
            next_decision_row,
            next_reply_seq,
            next_dead_letter_action_id,
            now_ms,
            max_deliveries,
            dead_lettered: Vec::new(),
        })
    }

    /// Stores the counters; call once after the batch's last operation. Returns the tickets
    /// the batch dead-lettered, for the writer to report once it has committed them.
    pub fn finish(mut self) -> Result<Vec<DeadLetter>, RouteError> {
        self.store_pending_row()?;
        self.counters
            .insert(NEXT_DECISION_ROW, self.next_decision_row)?;
        self.counters.insert(NEXT_TICKET_ID, self.next_ticket_id)?;
        self.counters
            .insert(NEXT_CORRECTION_ID, self.next_correction_id)?;
        self.counters.insert(NEXT_REPLY_SEQ, self.next_reply_seq)?;
        self.counters
            .insert(NEXT_DEAD_LETTER_ACTION_ID, self.next_dead_letter_action_id)?;
        Ok(self.dead_lettered)
    }

    /// Stores the decision for `inquiry_id` and queues `ticket` under the next ticket id (its
    /// thread's open ticket, when it names one), unless the inquiry is already recorded, in
    /// which case nothing changes and the first decision is returned.
    pub fn record_decision(
        &mut self,
        inquiry_id: &str,
        decision: &[u8],
        ticket: NewTicket,
    ) -> Result<Recorded<Vec<u8>>, RouteError> {
        if let Some(existing) = self.recorded(inquiry_id)? {
            return Ok(Recorded::Existing(existing));
        }
        let ticket_id = self.next_ticket_id;
        // The row refuses a record too large to store: before the ticket is queued, so a
        // refusal leaves the transaction untouched.
        self.store_decision(inquiry_id, decision, Some(ticket_id))?;
        let mut ticket = Ticket::from_new(take(&mut self.next_ticket_id), ticket);
        self.make_ready(&mut ticket)?;
        if let Some(key) = thread_key(&ticket) {
            self.threads.insert(key, ())?;
        }
        Ok(Recorded::New { ticket_id })
    }

    /// Attaches `follow_up` to its ticket and stores its decision with the ticket's id, if the
    /// ticket takes it (live, the same client's, queued with a thread, not full); an inquiry
    /// already recorded keeps its first decision.
    pub fn attach(
        &mut self,
        decision: &[u8],
        follow_up: NewFollowUp,
    ) -> Result<Attached<Vec<u8>>, RouteError> {
        if let Some(existing) = self.recorded(&follow_up.inquiry_id)? {
            return Ok(Attached::Existing(existing));
        }
        let id = follow_up.ticket_id;
        let live: Option<Ticket> = read_json(&self.tickets, id, format_args!("ticket {id}"))?;
        let resolved = match &live {
            Some(_) => None,
            None => {
                read_json::<_, ResolvedTicket>(&self.resolved, id, format_args!("ticket {id}"))?
            }
        };
        let ticket = live.as_ref().or(resolved.as_ref().map(|kept| &kept.ticket));
        let takes_it = ticket.is_some_and(|ticket| {
            ticket.client_id == follow_up.client_id && ticket.thread_id.is_some()
        });
        let position = match &resolved {
            Some(kept) => kept.ticket.follow_ups.len() as u32,
            None => match self.follow_ups.range(follow_up_range(id))?.next_back() {
                Some(last) => last?.0.value().1 + 1,
                None => 0,
            },
        };
        if !takes_it || position as usize >= MAX_FOLLOW_UPS {
            return Ok(Attached::NotAttached);
        }
        if let Some(kept) = resolved {
            self.reopen(kept, follow_up.reopened_sla_due_ms)?;
        }
        self.store_decision(&follow_up.inquiry_id, decision, Some(id))?;
        let attached = FollowUp::attached(follow_up, self.now_ms);
        let what = format_args!("follow-up {position} of ticket {id}");
        self.follow_ups
            .insert((id, position), encode(what, &attached)?.as_slice())?;
        Ok(Attached::New)
    }

    /// Stores a decision that queues no ticket, unless the inquiry is already recorded (then
    /// the first decision is kept).
    pub fn record_answer(&mut self, inquiry_id: &str, decision: &[u8]) -> Result<(), RouteError> {
        if self.recorded(inquiry_id)?.is_none() {
            self.store_decision(inquiry_id, decision, None)?;
        }
        Ok(())
    }

    /// Adds the decision to the pending row and the index, storing the row once it is full.
    fn store_decision(
        &mut self,
        inquiry_id: &str,
        decision: &[u8],
        ticket_id: Option<u64>,
    ) -> Result<(), RouteError> {
        self.pending_row.push(inquiry_id, ticket_id, decision)?;
        self.decision_index
            .insert(inquiry_id, self.next_decision_row)?;
        if self.pending_row.len() >= MAX_DECISIONS_PER_ROW {
            self.store_pending_row()?;
        }
        Ok(())
    }

    /// The decision recorded for `inquiry_id`, stored or still pending in this transaction.
    fn recorded(&self, inquiry_id: &str) -> Result<Option<RawDecision>, RouteError> {
        stored_decision(
            &self.decision_index,
            &self.decision_rows,
            Some((self.next_decision_row, &self.pending_row)),
            inquiry_id,
        )
    }

    /// Stores the pending decisions as the next decision row.
    fn store_pending_row(&mut self) -> Result<(), RouteError> {
        if self.pending_row.is_empty() {
            return Ok(());
        }
        let row_id = take(&mut self.next_decision_row);
        let stored = self.pending_row.take_stored(self.now_ms);
        self.decision_rows.insert(row_id, stored.as_slice())?;
        Ok(())
    }

    /// Sweeps expired leases, then leases the first ready ticket of `queue` to `holder` under
    /// `token`.
    pub fn claim(
        &mut self,
        queue: &str,
        holder: String,
        token: LeaseToken,
        lease_ms: i64,
    ) -> Result<Option<Ticket>, RouteError> {
        self.sweep_expired()?;
        let first = self.ready.range(ready_range(queue))?.next().transpose()?;
        let Some(id) = first.map(|(key, _)| key.value().3) else {
            return Ok(None);
        };
        let mut ticket = self.indexed(id, "ready")?;
        self.ready.remove(ready_key(&ticket))?;
        ticket.deliveries = ticket.deliveries.saturating_add(1);
        let lease = Lease {
            token,
            holder,
            expires_ms: lease_expiry(self.now_ms, lease_ms),
        };
        self.leases.insert((lease.expires_ms, id), ())?;
        ticket.lease = Some(lease);
        self.put(&ticket)?;
        ticket.follow_ups = follow_ups_of(&self.follow_ups, id)?;
        Ok(Some(ticket))
    }

    /// Moves the live lease `token` that `holder` has on ticket `id` to expire `lease_ms` from
    /// now.
    pub fn extend(
        &mut self,
        id: u64,
        token: LeaseToken,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Ticket, RouteError> {
        let mut ticket = self.live(id)?;
        let mut lease = ticket.held_by(token, holder, self.now_ms)?.clone();
        self.leases.remove((lease.expires_ms, id))?;
        lease.expires_ms = lease_expiry(self.now_ms, lease_ms);
        self.leases.insert((lease.expires_ms, id), ())?;
        ticket.lease = Some(lease);
        self.put(&ticket)?;
        Ok(ticket)
    }

    /// Removes the ticket with its follow-ups (its thread has no open ticket now) and keeps
    /// its audit record, with the reply to the client if there is one.
    pub fn resolve(
        &mut self,
        id: u64,
        token: LeaseToken,
        holder: String,
        resolution: Resolution,
    ) -> Result<AuditRecord, RouteError> {
        let mut ticket = self.leased(id, token, &holder)?;
        self.unlease(&mut ticket)?;
        self.close(&mut ticket)?;
        self.tickets.remove(id)?;
        let what = format_args!("audit record of ticket {id}");
        if let Some(earlier) = read_json::<_, AuditRecord>(&self.audit, id, what)? {
            // Resolved before and reopened: the latest resolution is the ticket's record.
            self.audit_times.remove((earlier.resolved_ms, id))?;
        }
        if let Some(thread) = ticket.thread_id.as_deref() {
            self.resolved_threads
                .insert((ticket.client_id.as_str(), thread, id), ())?;
            let kept = ResolvedTicket {
                ticket: ticket.clone(),
                resolved_ms: self.now_ms,
            };
            self.resolved.insert(
                id,
                encode(format_args!("resolved ticket {id}"), &kept)?.as_slice(),
            )?;
        }
        if let Some(payload) = resolution.reply {
            let reply = SentReply {
                seq: take(&mut self.next_reply_seq),
                ticket_id: id,
                inquiry_id: ticket.inquiry_id.clone(),
                client_id: ticket.client_id.clone(),
                holder: holder.clone(),
                sent_ms: self.now_ms,
                payload,
            };
            let what = format_args!("reply {} of ticket {id}", reply.seq);
            self.replies
                .insert(reply.seq, encode(what, &reply)?.as_slice())?;
            self.reply_tickets.insert((id, reply.seq), ())?;
            self.reply_times.insert((reply.sent_ms, reply.seq), ())?;
        }
        let record = AuditRecord {
            ticket_id: id,
            inquiry_id: ticket.inquiry_id,
            queue: ticket.queue,
            holder,
            outcome: resolution.outcome,
            resolved_ms: self.now_ms,
            deliveries: ticket.deliveries,
            note: resolution.note,
            queued_as: Some(QueuedAs {
                priority: ticket.priority,
                created_ms: ticket.created_ms,
            }),
        };
        let what = format_args!("audit record of ticket {id}");
        self.audit.insert(id, encode(what, &record)?.as_slice())?;
        self.audit_times.insert((record.resolved_ms, id), ())?;
        Ok(record)
    }

    /// Hands the ticket back to ready in its queue, keeping its delivery count; one released
    /// with its last allowed delivery goes to the dead letters, as an expired one would.
    pub fn release(
        &mut self,
        id: u64,
        token: LeaseToken,
        holder: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError> {
        let mut ticket = self.leased(id, token, holder)?;
        self.unlease(&mut ticket)?;
        if ticket.deliveries >= self.max_deliveries {
            let reason = released_last(holder, ticket.deliveries, reason);
            self.dead_letter(ticket.clone(), reason)?;
            return Ok(ticket);
        }
        self.make_ready(&mut ticket)?;
        tracing::info!(ticket_id = id, holder, reason, "ticket released");
        Ok(ticket)
    }

    /// Moves the ticket to `to_queue` as ready and records the correction.
    pub fn reroute(
        &mut self,
        id: u64,
        token: LeaseToken,
        holder: String,
        to_queue: String,
        reason: String,
    ) -> Result<Ticket, RouteError> {
        let mut ticket = self.leased(id, token, &holder)?;
        if ticket.queue == to_queue {
            return Err(RouteError::InvalidArgument(format!(
                "ticket {id} is already in queue {to_queue}"
            )));
        }
        self.unlease(&mut ticket)?;
        let from_queue = std::mem::replace(&mut ticket.queue, to_queue.clone());
        self.make_ready(&mut ticket)?;
        let correction = Correction {
            id: take(&mut self.next_correction_id),
            ticket_id: id,
            inquiry_id: ticket.inquiry_id.clone(),
            from_queue,
            to_queue,
            holder,
            reason,
            corrected_ms: self.now_ms,
        };
        let what = format_args!("correction {}", correction.id);
        self.corrections
            .insert(correction.id, encode(what, &correction)?.as_slice())?;
        tracing::info!(
            ticket_id = id,
            from = %correction.from_queue,
            to = %correction.to_queue,
            holder = %correction.holder,
            reason = %correction.reason,
            "ticket rerouted"
        );
        Ok(ticket)
    }

    /// Removes the audit records `keys` names by (resolved ms, ticket id), those still kept;
    /// returns how many it removed.
    pub fn remove_audit(&mut self, keys: &[(i64, u64)]) -> Result<usize, RouteError> {
        let mut removed = 0;
        for &(resolved_ms, id) in keys {
            if self.audit_times.remove((resolved_ms, id))?.is_some() {
                self.audit.remove(id)?;
                self.remove_replies(id)?;
                self.forget_resolved(id)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Takes a resolved ticket back into circulation: ready on its queue under its id, with its
    /// follow-ups, delivered to no one yet, due at `sla_due_ms`.
    fn reopen(&mut self, kept: ResolvedTicket, sla_due_ms: i64) -> Result<(), RouteError> {
        let ResolvedTicket { mut ticket, .. } = kept;
        let id = ticket.id;
        self.forget_resolved(id)?;
        for (position, follow_up) in ticket.follow_ups.drain(..).enumerate() {
            let what = format_args!("follow-up {position} of ticket {id}");
            self.follow_ups
                .insert((id, position as u32), encode(what, &follow_up)?.as_slice())?;
        }
        ticket.created_ms = self.now_ms;
        ticket.sla_due_ms = sla_due_ms;
        ticket.deliveries = 0;
        self.make_ready(&mut ticket)?;
        if let Some(key) = thread_key(&ticket) {
            self.threads.insert(key, ())?;
        }
        tracing::info!(ticket_id = id, queue = %ticket.queue, "resolved ticket reopened by a follow-up");
        Ok(())
    }

    /// Drops the resolved ticket `id` kept for reopening, if it is kept.
    fn forget_resolved(&mut self, id: u64) -> Result<(), RouteError> {
        let what = format_args!("resolved ticket {id}");
        if let Some(kept) = read_json::<_, ResolvedTicket>(&self.resolved, id, what)? {
            if let Some(key) = thread_key(&kept.ticket) {
                self.resolved_threads.remove(key)?;
            }
            self.resolved.remove(id)?;
        }
        Ok(())
    }

    /// Removes the replies sent on ticket `id` with their index entries.
    fn remove_replies(&mut self, id: u64) -> Result<(), RouteError> {
        let seqs = self
            .reply_tickets
            .extract_from_if((id, 0)..=(id, u64::MAX), |_, _| true)?
            .map(|entry| entry.map(|(key, _)| key.value().1))
            .collect::<Result<Vec<u64>, _>>()?;
        for seq in seqs {
            let what = format_args!("reply {seq} of ticket {id}");
            if let Some(reply) = read_json::<_, SentReply>(&self.replies, seq, what)? {
                self.reply_times.remove((reply.sent_ms, seq))?;
            }
            self.replies.remove(seq)?;
        }
        Ok(())
    }

    /// Removes the decisions of rows stored before `cutoff_ms`, from row `from_row` on, until
    /// it has looked at `budget` decisions (and finished that row). A decision whose ticket is
    /// still open (live or dead-lettered) is kept, in its row rewritten without the others:
    /// a resubmission of that inquiry must not queue a second ticket. Rows are stored in time
    /// order, so the first row stored at or after `cutoff_ms` ends the walk.
    pub fn remove_decisions_before(
        &mut self,
        cutoff_ms: i64,
        from_row: u64,
        budget: usize,
    ) -> Result<DecisionSweep, RouteError> {
        let dead_lettered = self
            .dead_letters
            .iter()?
            .map(|entry| entry.map(|(key, _)| key.value().1))
            .collect::<Result<HashSet<u64>, _>>()?;
        let mut sweep = DecisionSweep {
            removed: 0,
            next_row: None,
        };
        let mut looked_at = 0;
        let mut row_id = from_row;
        while let Some((id, stored)) = self.first_row_from(row_id)? {
            let malformed = || RouteError::Storage(format!("decoding decision row {id} failed"));
            let (stored_ms, entries) = stored_entries(&stored).map_err(|_| malformed())?;
            if stored_ms >= cutoff_ms {
                return Ok(sweep);
            }
            let mut kept = Vec::new();
            for entry in &entries {
                let open = match entry.decision.ticket_id {
                    Some(ticket) => {
                        self.tickets.get(ticket)?.is_some() || dead_lettered.contains(&ticket)
                    }
                    None => false,
                };
                if open {
                    kept.push(entry.clone());
                } else if self
                    .decision_index
                    .get(entry.inquiry_id.as_str())?
                    .map(|g| g.value())
                    == Some(id)
                {
                    self.decision_index.remove(entry.inquiry_id.as_str())?;
                }
            }
            sweep.removed += entries.len() - kept.len();
            if kept.is_empty() {
                self.decision_rows.remove(id)?;
            } else if kept.len() < entries.len() {
                let row = row_of(&kept)?.take_stored(stored_ms);
                self.decision_rows.insert(id, row.as_slice())?;
            }
            looked_at += entries.len();
            row_id = id + 1;
            if looked_at >= budget {
                sweep.next_row = Some(row_id);
                return Ok(sweep);
            }
        }
        Ok(sweep)
    }

    /// The first stored decision row at or after `row_id`, with its stored form.
    fn first_row_from(&self, row_id: u64) -> Result<Option<(u64, Vec<u8>)>, RouteError> {
        let first = self.decision_rows.range(row_id..)?.next().transpose()?;
        Ok(first.map(|(id, row)| (id.value(), row.value().to_vec())))
    }

    /// Returns every ticket whose lease has expired to ready, or dead-letters it once it has
    /// been delivered `max_deliveries` times.
    fn sweep_expired(&mut self) -> Result<(), RouteError> {
        let expired = self
            .leases
            .range(..=(self.now_ms, u64::MAX))?
            .map(|entry| entry.map(|(key, _)| key.value()))
            .collect::<Result<Vec<_>, _>>()?;
        for (expires_ms, id) in expired {
            self.leases.remove((expires_ms, id))?;
            let mut ticket = self.indexed(id, "lease")?;
            let holder = ticket.lease.take().map(|lease| lease.holder);
            let holder = holder.as_deref().unwrap_or("nobody");
            if ticket.deliveries >= self.max_deliveries {
                let reason = format!(
                    "lease of {holder} expired after {} deliveries",
                    ticket.deliveries
                );
                self.dead_letter(ticket, reason)?;
            } else {
                tracing::info!(ticket_id = id, holder, "lease expired, ticket ready again");
                self.make_ready(&mut ticket)?;
            }
        }
        Ok(())
    }

    /// Takes the ticket out of circulation with its follow-ups, which the dead letter keeps;
    /// the writer reports it once the batch commits.
    fn dead_letter(&mut self, mut ticket: Ticket, reason: String) -> Result<(), RouteError> {
        self.close(&mut ticket)?;
        self.tickets.remove(ticket.id)?;
        let id = ticket.id;
        let letter = DeadLetter {
            ticket,
            reason,
            dead_ms: self.now_ms,
        };
        let bytes = encode(format_args!("dead letter {id}"), &letter)?;
        self.dead_letters
            .insert((letter.ticket.queue.as_str(), id), bytes.as_slice())?;
        self.dead_lettered.push(letter);
        Ok(())
    }

    /// Closes a ticket leaving circulation to follow-ups: out of its thread's index, its
    /// follow-ups moved from their table into `ticket`.
    fn close(&mut self, ticket: &mut Ticket) -> Result<(), RouteError> {
        if let Some(key) = thread_key(ticket) {
            self.threads.remove(key)?;
        }
        ticket.follow_ups = follow_ups_of(&self.follow_ups, ticket.id)?;
        for position in 0..ticket.follow_ups.len() {
            self.follow_ups.remove((ticket.id, position as u32))?;
        }
        Ok(())
    }

    /// Stores `ticket` as ready (no lease) in its queue.
    fn make_ready(&mut self, ticket: &mut Ticket) -> Result<(), RouteError> {
        ticket.lease = None;
        self.ready.insert(ready_key(ticket), ())?;
        self.put(ticket)
    }

    /// Drops the lease of `ticket` from the lease index and from the ticket.
    fn unlease(&mut self, ticket: &mut Ticket) -> Result<(), RouteError> {
        if let Some(lease) = ticket.lease.take() {
            self.leases.remove((lease.expires_ms, ticket.id))?;
        }
        Ok(())
    }

    fn put(&mut self, ticket: &Ticket) -> Result<(), RouteError> {
        let bytes = encode(format_args!("ticket {}", ticket.id), ticket)?;
        self.tickets.insert(ticket.id, bytes.as_slice())?;
        Ok(())
    }

    /// The live ticket `id`, or NotFound.
    fn live(&self, id: u64) -> Result<Ticket, RouteError> {
        read_json(&self.tickets, id, format_args!("ticket {id}"))?.ok_or(RouteError::NotFound(id))
    }

    /// The live ticket `id` if `holder` leases it under `token` and the lease has not run out.
    fn leased(&self, id: u64, token: LeaseToken, holder: &str) -> Result<Ticket, RouteError> {
        let ticket = self.live(id)?;
        ticket.held_by(token, holder, self.now_ms)?;
        Ok(ticket)
    }

    /// The ticket an index entry points at; a dangling entry is storage corruption.
    fn indexed(&self, id: u64, index: &str) -> Result<Ticket, RouteError> {
        indexed_ticket(&self.tickets, id, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::decision::StoredDecision;
    use crate::route::embedded::schema::open_tables;
    use redb::Database;

    fn database(dir: &std::path::Path) -> Result<Database, RouteError> {
        let path = dir.join("t.redb");
        let db = Database::create(&path)?;
        open_tables(&db, &path)?;
        Ok(db)
    }

    fn ticket(inquiry_id: &str) -> NewTicket {
        NewTicket::sample(inquiry_id, "billing", 1, 10)
    }

    /// Counters start at 1 and persist across write transactions.
    #[test]
    fn counters_persist_between_transactions() -> Result<(), RouteError> {
        let dir = tempfile::tempdir().map_err(|e| RouteError::storage("tempdir", e))?;
        let db = database(dir.path())?;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let write = db.begin_write()?;
            let mut txn = Txn::open(&write, 0, 5)?;
            ids.push(take(&mut txn.next_ticket_id));
            txn.finish()?;
            write.commit()?;
        }
        assert_eq!(ids, vec![1, 2]);
        Ok(())
    }

    /// Within one transaction a second record for the same inquiry sees the first, with the
    /// ticket id the first was given; a second answer changes nothing either.
    #[test]
    fn same_transaction_duplicate_is_existing() -> Result<(), RouteError> {
        let dir = tempfile::tempdir().map_err(|e| RouteError::storage("tempdir", e))?;
        let db = database(dir.path())?;
        let write = db.begin_write()?;
        let mut txn = Txn::open(&write, 0, 5)?;
        let first = txn.record_decision("a", b"first", ticket("a"))?;
        let second = txn.record_decision("a", b"second", ticket("a"))?;
        assert_eq!(first, Recorded::New { ticket_id: 1 });
        let existing = Recorded::Existing(StoredDecision {
            decision: b"first".to_vec(),
            ticket_id: Some(1),
        });
        assert_eq!(second, existing);
        txn.record_answer("b", b"answer")?;
        txn.record_answer("b", b"another answer")?;
        let answer = StoredDecision {
            decision: b"answer".to_vec(),
            ticket_id: None,
        };
        assert_eq!(txn.recorded("b")?, Some(answer));
        Ok(())
    }
}
