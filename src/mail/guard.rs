//! The loop breaker for automatic replies: which answers may go out by mail, and which are
//! held for a person instead.
//!
//! Helpdesks that answer mail automatically (Zammad, osTicket, Request Tracker) all keep a
//! per-address memory of what they sent, because headers alone do not stop every loop: an
//! auto-responder that ignores `Auto-Submitted` answers each reply with a mail of its own. Three
//! rules, each per recipient address:
//!
//! - the same reply (the same answer text) goes to an address at most once within the period;
//! - at most `per_hour` automatic replies to an address within any hour, and at most
//!   `per_thread` within one thread and the period;
//! - an address that reaches a cap is paused for the period: every answer to it is held.
//!
//! A held answer is not sent: the worker hands the mail to a person (a ticket) with the
//! [`Hold`] as the reason. The acknowledgement of a mail a person will answer is an automatic
//! reply too, under the same rules, and at most one goes to a thread: a held one is not sent
//! (the ticket stands). A client's distinct questions get distinct answers, so normal
//! traffic passes: only repeats and bursts are held. The guard's memory is rebuilt from the
//! journal when the worker starts (each reply and each hold is a journal record), so it
//! survives restarts with nothing else to store.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const HOUR_MS: i64 = 3_600_000;

/// The guard's limits; a zero turns its rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardLimits {
    /// Automatic replies to one address within any hour.
    pub per_hour: usize,
    /// Automatic replies to one address within one thread and the period.
    pub per_thread: usize,
    /// In milliseconds: how long a reply is remembered (no second identical one), the span of
    /// the thread cap, and how long an address that reached a cap stays paused.
    pub period_ms: i64,
}

impl Default for GuardLimits {
    /// 10 an hour, 5 a thread, a day: far above a person's pace, far below a loop's.
    fn default() -> Self {
        Self {
            per_hour: 10,
            per_thread: 5,
            period_ms: 24 * HOUR_MS,
        }
    }
}

/// Why an automatic reply is held for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Hold {
    /// The same reply went to the address at `sent_ms`, within the period.
    SameReply { sent_ms: i64 },
    /// `sent` replies went to the address within the last hour: the address is paused until
    /// `until_ms`.
    HourlyCap { sent: usize, until_ms: i64 },
    /// `sent` replies went to the address in this thread within the period: the address is
    /// paused until `until_ms`.
    ThreadCap { sent: usize, until_ms: i64 },
    /// The address reached a cap before and is paused until `until_ms`.
    Paused { until_ms: i64 },
}

impl Hold {
    /// When the pause this hold started ends, for a hold that started one.
    fn pause_until_ms(&self) -> Option<i64> {
        match self {
            Self::HourlyCap { until_ms, .. } | Self::ThreadCap { until_ms, .. } => Some(*until_ms),
            Self::SameReply { .. } | Self::Paused { .. } => None,
        }
    }
}

/// Unix milliseconds as an RFC 3339 time to the second, for the reasons people read.
fn time(ms: i64) -> String {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: 0,
    }
    .to_string()
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SameReply { sent_ms } => write!(
                f,
                "the same automatic reply was sent to this address at {}",
                time(*sent_ms)
            ),
            Self::HourlyCap { sent, until_ms } => write!(
                f,
                "{sent} automatic replies to this address within an hour: automatic replies \
                 to it paused until {}",
                time(*until_ms)
            ),
            Self::ThreadCap { sent, until_ms } => write!(
                f,
                "{sent} automatic replies to this address in this thread: automatic replies \
                 to it paused until {}",
                time(*until_ms)
            ),
            Self::Paused { until_ms } => write!(
                f,
                "automatic replies to this address are paused until {}",
                time(*until_ms)
            ),
        }
    }
}

/// The digest the guard compares replies by: of the answer text, trimmed.
pub fn reply_digest(answer: &str) -> String {
    let digest = Sha256::digest(answer.trim().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// One automatic reply sent.
#[derive(Debug, Clone)]
struct SentReply {
    at_ms: i64,
    thread: String,
    digest: String,
}

/// What the guard remembers of one address.
#[derive(Debug, Default)]
struct AddressHistory {
    /// The replies within the longest span a rule looks at, oldest first.
    sent: VecDeque<SentReply>,
    paused_until_ms: i64,
}

impl AddressHistory {
    /// Forgets replies from before `horizon_ms`.
    fn forget_before(&mut self, horizon_ms: i64) {
        while self.sent.front().is_some_and(|s| s.at_ms < horizon_ms) {
            self.sent.pop_front();
        }
    }

    fn is_idle(&self, now_ms: i64) -> bool {
        self.sent.is_empty() && self.paused_until_ms <= now_ms
    }
}

/// The memory of automatic replies by recipient address, and the rules over it.
#[derive(Debug)]
pub struct ReplyGuard {
    limits: GuardLimits,
    addresses: HashMap<String, AddressHistory>,
    /// The threads an acknowledgement went to.
    acknowledged: HashSet<String>,
    /// Admissions since idle addresses were last dropped.
    since_sweep: usize,
}

/// How many admissions pass between two sweeps of idle addresses.
const SWEEP_EVERY: usize = 4096;

impl ReplyGuard {
    /// A guard with no memory yet.
    pub fn new(limits: GuardLimits) -> Self {
        Self {
            limits,
            addresses: HashMap::new(),
            acknowledged: HashSet::new(),
            since_sweep: 0,
        }
    }

    /// The longest span any rule looks back.
    fn memory_ms(&self) -> i64 {
        self.limits.period_ms.max(HOUR_MS)
    }

    /// Remembers a reply sent before (read back from the journal); one older than every rule's
    /// span is ignored.
    pub fn remember_reply(
        &mut self,
        address: &str,
        thread: &str,
        digest: &str,
        at_ms: i64,
        now_ms: i64,
    ) {
        if at_ms < now_ms - self.memory_ms() {
            return;
        }
        let history = self.addresses.entry(address.to_owned()).or_default();
        let place = history.sent.partition_point(|s| s.at_ms <= at_ms);
        history.sent.insert(
            place,
            SentReply {
                at_ms,
                thread: thread.to_owned(),
                digest: digest.to_owned(),
            },
        );
    }

    /// Remembers a hold made before (read back from the journal): a pause it started.
    pub fn remember_hold(&mut self, address: &str, hold: &Hold, now_ms: i64) {
        let Some(until_ms) = hold.pause_until_ms().filter(|&until| until > now_ms) else {
            return;
        };
        let history = self.addresses.entry(address.to_owned()).or_default();
        history.paused_until_ms = history.paused_until_ms.max(until_ms);
    }

    /// Whether an automatic reply with `digest` may go to `address` in `thread` at `now_ms`.
    /// An admitted reply is counted at once; a reply that reaches a cap pauses the address.
    pub fn admit(
        &mut self,
        address: &str,
        thread: &str,
        digest: &str,
        now_ms: i64,
    ) -> Result<(), Hold> {
        self.sweep(now_ms);
        let limits = self.limits;
        let memory_ms = self.memory_ms();
        let history = self.addresses.entry(address.to_owned()).or_default();
        history.forget_before(now_ms - memory_ms);
        if history.paused_until_ms > now_ms {
            return Err(Hold::Paused {
                until_ms: history.paused_until_ms,
            });
        }
        let in_period = |s: &&SentReply| s.at_ms >= now_ms - limits.period_ms;
        if limits.period_ms > 0
            && let Some(same) = history
                .sent
                .iter()
                .filter(in_period)
                .find(|s| s.digest == digest)
        {
            return Err(Hold::SameReply {
                sent_ms: same.at_ms,
            });
        }
        let until_ms = now_ms + limits.period_ms.max(HOUR_MS);
        let last_hour = history
            .sent
            .iter()
            .filter(|s| s.at_ms > now_ms - HOUR_MS)
            .count();
        if limits.per_hour > 0 && last_hour >= limits.per_hour {
            history.paused_until_ms = until_ms;
            return Err(Hold::HourlyCap {
                sent: last_hour,
                until_ms,
            });
        }
        let in_thread = history
            .sent
            .iter()
            .filter(in_period)
            .filter(|s| s.thread == thread)
            .count();
        if limits.per_thread > 0 && in_thread >= limits.per_thread {
            history.paused_until_ms = until_ms;
            return Err(Hold::ThreadCap {
                sent: in_thread,
                until_ms,
            });
        }
        self.count_sent(address, thread, digest, now_ms);
        Ok(())
    }

    /// Whether an acknowledgement went to `thread` before.
    pub fn acknowledged(&self, thread: &str) -> bool {
        self.acknowledged.contains(thread)
    }

    /// Remembers that an acknowledgement went to `thread` (now, or read back from the journal).
    pub fn remember_acknowledgement(&mut self, thread: &str) {
        self.acknowledged.insert(thread.to_owned());
    }

    /// Counts a reply that went out without asking (written before a crash, so maybe sent).
    pub fn count_sent(&mut self, address: &str, thread: &str, digest: &str, now_ms: i64) {
        let history = self.addresses.entry(address.to_owned()).or_default();
        history.sent.push_back(SentReply {
            at_ms: now_ms,
            thread: thread.to_owned(),
            digest: digest.to_owned(),
        });
    }

    /// Now and then, drops the addresses with nothing left to remember.
    fn sweep(&mut self, now_ms: i64) {
        self.since_sweep += 1;
        if self.since_sweep < SWEEP_EVERY {
            return;
        }
        self.since_sweep = 0;
        let horizon_ms = now_ms - self.memory_ms();
        self.addresses.retain(|_, history| {
            history.forget_before(horizon_ms);
            !history.is_idle(now_ms)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_165_200_000;
    const MINUTE: i64 = 60_000;

    fn guard(per_hour: usize, per_thread: usize) -> ReplyGuard {
        ReplyGuard::new(GuardLimits {
            per_hour,
            per_thread,
            period_ms: 24 * HOUR_MS,
        })
    }

    /// The same reply goes to an address once within the period, again after it, and to
    /// another address at any time.
    #[test]
    fn the_same_reply_goes_once_per_period() {
        let mut guard = guard(10, 5);
        let paid = reply_digest("Invoice INV-1042 is paid.");
        assert_eq!(guard.admit("jo@acme.example", "t1", &paid, T0), Ok(()));
        assert_eq!(
            guard.admit("jo@acme.example", "t2", &paid, T0 + 5 * MINUTE),
            Err(Hold::SameReply { sent_ms: T0 })
        );
        assert_eq!(
            guard.admit("al@acme.example", "t3", &paid, T0 + MINUTE),
            Ok(())
        );
        assert_eq!(
            guard.admit("jo@acme.example", "t4", &paid, T0 + 25 * HOUR_MS),
            Ok(())
        );
    }

    /// Distinct questions of one client within an hour are each answered.
    #[test]
    fn distinct_replies_pass() {
        let mut guard = guard(10, 5);
        for (minute, answer) in [
            "The report is due Friday.",
            "INV-1042 is paid.",
            "Next meeting: Monday.",
        ]
        .into_iter()
        .enumerate()
        {
            let at = T0 + minute as i64 * MINUTE;
            assert_eq!(
                guard.admit(
                    "jo@acme.example",
                    &format!("t{minute}"),
                    &reply_digest(answer),
                    at
                ),
                Ok(())
            );
        }
    }

    /// The hourly cap holds the reply that would exceed it and pauses the address for the
    /// period, even after the hour has passed.
    #[test]
    fn a_burst_pauses_the_address() {
        let mut guard = guard(3, 0);
        for n in 0..3 {
            let digest = reply_digest(&format!("answer {n}"));
            let thread = format!("t{n}");
            guard
                .admit("bot@x.example", &thread, &digest, T0 + n * MINUTE)
                .unwrap();
        }
        let until_ms = T0 + 3 * MINUTE + 24 * HOUR_MS;
        assert_eq!(
            guard.admit(
                "bot@x.example",
                "t9",
                &reply_digest("answer 9"),
                T0 + 3 * MINUTE
            ),
            Err(Hold::HourlyCap { sent: 3, until_ms })
        );
        assert_eq!(
            guard.admit(
                "bot@x.example",
                "t10",
                &reply_digest("answer 10"),
                T0 + 2 * HOUR_MS
            ),
            Err(Hold::Paused { until_ms })
        );
        assert_eq!(
            guard.admit(
                "jo@acme.example",
                "t1",
                &reply_digest("answer 1"),
                T0 + 2 * HOUR_MS
            ),
            Ok(())
        );
        assert_eq!(
            guard.admit(
                "bot@x.example",
                "t11",
                &reply_digest("answer 11"),
                until_ms + 1
            ),
            Ok(())
        );
    }

    /// The thread cap counts replies in one thread only.
    #[test]
    fn the_thread_cap_counts_one_thread() {
        let mut guard = guard(0, 2);
        let at = |n: i64| T0 + n * 2 * HOUR_MS;
        guard
            .admit("jo@acme.example", "t1", &reply_digest("a"), at(0))
            .unwrap();
        guard
            .admit("jo@acme.example", "t2", &reply_digest("b"), at(1))
            .unwrap();
        guard
            .admit("jo@acme.example", "t1", &reply_digest("c"), at(2))
            .unwrap();
        assert!(matches!(
            guard.admit("jo@acme.example", "t1", &reply_digest("d"), at(3)),
            Err(Hold::ThreadCap { sent: 2, .. })
        ));
    }

    /// What is read back from the journal counts as what was sent: replies within the period
    /// and pauses still running; older ones are forgotten.
    #[test]
    fn remembered_replies_and_pauses_count() {
        let now = T0 + 2 * HOUR_MS;
        let mut guard = guard(10, 5);
        guard.remember_reply("jo@acme.example", "t1", &reply_digest("paid"), T0, now);
        guard.remember_reply(
            "jo@acme.example",
            "t1",
            &reply_digest("due"),
            T0 - 30 * HOUR_MS,
            now,
        );
        guard.remember_hold(
            "bot@x.example",
            &Hold::HourlyCap {
                sent: 10,
                until_ms: now + HOUR_MS,
            },
            now,
        );
        guard.remember_hold(
            "old@x.example",
            &Hold::HourlyCap {
                sent: 10,
                until_ms: now - 1,
            },
            now,
        );
        assert_eq!(
            guard.admit("jo@acme.example", "t2", &reply_digest("paid"), now),
            Err(Hold::SameReply { sent_ms: T0 })
        );
        assert_eq!(
            guard.admit("jo@acme.example", "t2", &reply_digest("due"), now),
            Ok(())
        );
        assert_eq!(
            guard.admit("bot@x.example", "t1", &reply_digest("x"), now),
            Err(Hold::Paused {
                until_ms: now + HOUR_MS
            })
        );
        assert_eq!(
            guard.admit("old@x.example", "t1", &reply_digest("x"), now),
            Ok(())
        );
    }

    /// Zero limits turn their rules off.
    #[test]
    fn zero_limits_turn_rules_off() {
        let mut guard = ReplyGuard::new(GuardLimits {
            per_hour: 0,
            per_thread: 0,
            period_ms: 0,
        });
        for n in 0..100 {
            guard
                .admit("jo@acme.example", "t1", &reply_digest("same"), T0 + n)
                .unwrap();
        }
    }

    /// Holds read as reasons a person understands.
    #[test]
    fn holds_read_as_reasons() {
        let hold = Hold::HourlyCap {
            sent: 10,
            until_ms: T0,
        };
        assert_eq!(
            hold.to_string(),
            "10 automatic replies to this address within an hour: automatic replies to it \
             paused until 2026-11-20T09:00:00Z"
        );
    }
}
