//! `QueueStats`: per-queue counts for dashboards and health, and the tally that builds them
//! from the ready index's keys, the leased tickets and the dead letters' keys, so the cost of a
//! refresh does not grow with the size of the ready tickets' records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ticket::Ticket;

/// Counts for one queue at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    pub queue: String,
    pub ready: u64,
    /// Tickets with a live lease; one whose lease ran out counts as ready, since the next
    /// claim takes it.
    pub leased: u64,
    pub dead_letters: u64,
    /// Age of the oldest ready ticket (now - created_ms).
    pub oldest_ready_age_ms: Option<i64>,
    /// Ready or leased tickets past their SLA due time.
    pub sla_breaches: u64,
    /// The most urgent ready ticket: the one the next claim takes.
    #[serde(default)]
    pub next_ready: Option<NextReady>,
}

/// What a queue's most urgent ready ticket is: its priority and SLA due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NextReady {
    /// 0 is the most urgent.
    pub priority: u8,
    /// Unix milliseconds.
    pub sla_due_ms: i64,
}

impl QueueStats {
    /// Keeps `age_ms` as the age of the oldest ready ticket if none older is known.
    pub(crate) fn keep_oldest_ready_age(&mut self, age_ms: i64) {
        self.oldest_ready_age_ms = Some(self.oldest_ready_age_ms.map_or(age_ms, |o| o.max(age_ms)));
    }

    /// Keeps `ready` as the next ticket if none more urgent (priority, then SLA due) is known.
    pub(crate) fn keep_most_urgent(&mut self, ready: NextReady) {
        self.next_ready = Some(self.next_ready.map_or(ready, |next| next.min(ready)));
    }
}

/// Accumulates [`QueueStats`] for the named queues and any other queue seen.
pub(crate) struct Tally {
    now_ms: i64,
    named: Vec<String>,
    queues: BTreeMap<String, QueueStats>,
    /// Per queue, the lowest ready ticket id: ids are given in arrival order, so it is the
    /// oldest ready ticket, whose age the caller reads with [`Tally::ready_age`].
    first_ready: BTreeMap<String, u64>,
}

impl Tally {
    pub fn new(named: &[String], now_ms: i64) -> Self {
        let queues = named
            .iter()
            .map(|queue| (queue.clone(), empty(queue)))
            .collect();
        Self {
            now_ms,
            named: named.to_vec(),
            queues,
            first_ready: BTreeMap::new(),
        }
    }

    /// Counts a ready ticket from its ready-index key.
    pub fn ready(&mut self, queue: &str, priority: u8, sla_due_ms: i64, id: u64) {
        let breached = sla_due_ms < self.now_ms;
        let stats = self.entry(queue);
        stats.ready += 1;
        stats.sla_breaches += u64::from(breached);
        stats.keep_most_urgent(NextReady {
            priority,
            sla_due_ms,
        });
        let first = self.first_ready.entry(queue.to_owned()).or_insert(id);
        *first = (*first).min(id);
    }

    /// Counts a leased ticket.
    pub fn leased(&mut self, ticket: &Ticket) {
        let breached = ticket.sla_due_ms < self.now_ms;
        let stats = self.entry(&ticket.queue);
        stats.leased += 1;
        stats.sla_breaches += u64::from(breached);
    }

    /// The oldest ready ticket of each queue that has one, by id.
    pub fn first_ready(&self) -> impl Iterator<Item = u64> + '_ {
        self.first_ready.values().copied()
    }

    /// Records the age of `oldest`, the first ready ticket of its queue.
    pub fn ready_age(&mut self, oldest: &Ticket) {
        let age = self.now_ms.saturating_sub(oldest.created_ms);
        self.entry(&oldest.queue).oldest_ready_age_ms = Some(age);
    }

    pub fn dead_letter(&mut self, queue: &str) {
        self.entry(queue).dead_letters += 1;
    }

    /// The named queues in the order given (once each), then the others by name.
    pub fn finish(mut self) -> Vec<QueueStats> {
        let mut out: Vec<QueueStats> = self
            .named
            .iter()
            .filter_map(|queue| self.queues.remove(queue))
            .collect();
        out.extend(self.queues.into_values());
        out
    }

    fn entry(&mut self, queue: &str) -> &mut QueueStats {
        self.queues
            .entry(queue.to_owned())
            .or_insert_with(|| empty(queue))
    }
}

fn empty(queue: &str) -> QueueStats {
    QueueStats {
        queue: queue.to_owned(),
        ..QueueStats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::ticket::{Lease, NewTicket};

    fn ticket(queue: &str, created_ms: i64, sla_due_ms: i64, leased: bool) -> Ticket {
        let new = NewTicket {
            inquiry_id: "i".into(),
            client_id: "c".into(),
            queue: queue.into(),
            priority: 0,
            sla_due_ms,
            created_ms,
            payload: String::new(),
            thread_id: None,
        };
        let mut ticket = Ticket::from_new(1, new);
        ticket.lease = leased.then(|| Lease {
            token: crate::route::LeaseToken::from_bits(1),
            holder: "h".into(),
            expires_ms: 0,
        });
        ticket
    }

    /// Named queues come first even when empty; unnamed queues with tickets follow.
    #[test]
    fn named_queues_first_then_others() {
        let named = vec!["b".to_string(), "a".to_string(), "b".to_string()];
        let mut tally = Tally::new(&named, 100);
        tally.ready("z", 3, 1_000, 1);
        tally.dead_letter("y");
        let names: Vec<_> = tally.finish().into_iter().map(|s| s.queue).collect();
        assert_eq!(names, vec!["b", "a", "y", "z"]);
    }

    /// Ready age is the first ready ticket's; breaches count ready and leased alike; the next
    /// ticket is the most urgent ready one, by priority and then SLA due time.
    #[test]
    fn ages_breaches_and_the_next_ticket() {
        let mut tally = Tally::new(&[], 100);
        tally.ready("q", 1, 500, 7);
        tally.ready("q", 2, 50, 3);
        tally.ready("q", 1, 400, 9);
        tally.leased(&ticket("q", 10, 50, true));
        assert_eq!(tally.first_ready().collect::<Vec<_>>(), vec![3]);
        tally.ready_age(&ticket("q", 40, 50, false));
        let stats = tally.finish().remove(0);
        assert_eq!((stats.ready, stats.leased, stats.sla_breaches), (3, 1, 2));
        assert_eq!(stats.oldest_ready_age_ms, Some(60));
        assert_eq!(
            stats.next_ready,
            Some(NextReady {
                priority: 1,
                sla_due_ms: 400
            })
        );
    }
}
