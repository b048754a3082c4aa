//! `QueueStats`: per-queue counts for dashboards and health, and the tally that builds them
//! from one pass over the live tickets and dead letters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ticket::Ticket;

/// Counts for one queue at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    pub queue: String,
    pub ready: u64,
    /// Tickets with a lease, including leases that expired but were not yet swept by a claim.
    pub leased: u64,
    pub dead_letters: u64,
    /// Age of the oldest ready ticket (now - created_ms).
    pub oldest_ready_age_ms: Option<i64>,
    /// Ready or leased tickets past their SLA due time.
    pub sla_breaches: u64,
}

/// Accumulates [`QueueStats`] for the named queues and any other queue seen.
pub(crate) struct Tally {
    now_ms: i64,
    named: Vec<String>,
    queues: BTreeMap<String, QueueStats>,
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
        }
    }

    pub fn ticket(&mut self, ticket: &Ticket) {
        let now_ms = self.now_ms;
        let stats = self.entry(&ticket.queue);
        if ticket.lease.is_some() {
            stats.leased += 1;
        } else {
            stats.ready += 1;
            let age = now_ms.saturating_sub(ticket.created_ms);
            stats.oldest_ready_age_ms = Some(stats.oldest_ready_age_ms.map_or(age, |o| o.max(age)));
        }
        if ticket.sla_due_ms < now_ms {
            stats.sla_breaches += 1;
        }
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
        };
        let mut ticket = Ticket::from_new(1, new);
        ticket.lease = leased.then(|| Lease {
            token: 1,
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
        tally.ticket(&ticket("z", 0, 1_000, false));
        tally.dead_letter("y");
        let names: Vec<_> = tally.finish().into_iter().map(|s| s.queue).collect();
        assert_eq!(names, vec!["b", "a", "y", "z"]);
    }

    /// Ready age uses the oldest ready ticket; breaches count ready and leased alike.
    #[test]
    fn ages_and_breaches() {
        let mut tally = Tally::new(&[], 100);
        tally.ticket(&ticket("q", 40, 50, false));
        tally.ticket(&ticket("q", 10, 50, true));
        tally.ticket(&ticket("q", 90, 500, false));
        let stats = tally.finish().remove(0);
        assert_eq!((stats.ready, stats.leased, stats.sla_breaches), (2, 1, 2));
        assert_eq!(stats.oldest_ready_age_ms, Some(60));
    }
}
