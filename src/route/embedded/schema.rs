//! The redb tables of the queue, their key layout, the schema version checked on open, and
//! the codec for stored records: JSON, LZ4-compressed when that is smaller (see the module doc
//! of `route::embedded` for the full layout).
//!
//! The file holds one format, named by [`SCHEMA_VERSION`] in its `meta` table: a new file is
//! stamped with it, and a file of any other version (or none) is refused with both versions
//! named, never read as if it were this one. A change to the layout or to a stored record's
//! form raises the version.

use std::borrow::Borrow;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::path::Path;

use redb::{Database, Key, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::codec::{pack_into, unpack};
use super::rows::{DecisionRow, RawDecision, find_stored};
pub(crate) use crate::route::dead_letter::DeadLetter;
use crate::route::error::RouteError;
use crate::route::thread::FollowUp;
use crate::route::ticket::Ticket;

/// Ready-index key: queue, priority, SLA due, ticket id — claim order within a queue.
pub(crate) type ReadyKey<'a> = (&'a str, u8, i64, u64);

/// Thread-index key: client id, thread id, ticket id — a thread's live tickets in the order
/// they were queued.
pub(crate) type ThreadKey<'a> = (&'a str, &'a str, u64);

/// Live tickets (ready or leased) by id, JSON [`Ticket`].
pub(crate) const TICKETS: TableDefinition<u64, &[u8]> = TableDefinition::new("tickets");
/// Ready tickets, ordered for claiming.
pub(crate) const READY: TableDefinition<ReadyKey, ()> = TableDefinition::new("ready");
/// Leased tickets by (lease expiry ms, ticket id), so expired leases are a prefix scan.
pub(crate) const LEASES: TableDefinition<(i64, u64), ()> = TableDefinition::new("leases");
/// Decisions many to a row, by row id (`rows.rs`).
pub(crate) const DECISION_ROWS: TableDefinition<u64, &[u8]> = TableDefinition::new("decision_rows");
/// The decision row holding each inquiry's decision, by inquiry id.
pub(crate) const DECISION_INDEX: TableDefinition<&str, u64> =
    TableDefinition::new("decision_index");
/// Dead-lettered tickets by (queue, ticket id), JSON [`DeadLetter`].
pub(crate) const DEAD_LETTERS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("dead_letters");
/// Resolved tickets by id, JSON `AuditRecord`.
pub(crate) const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// The audit records by (resolved ms, ticket id), so the ones past retention are a prefix.
pub(crate) const AUDIT_TIMES: TableDefinition<(i64, u64), ()> = TableDefinition::new("audit_times");
/// Replies sent to clients by reply sequence, JSON `SentReply`.
pub(crate) const REPLIES: TableDefinition<u64, &[u8]> = TableDefinition::new("replies");
/// The replies of each ticket by (ticket id, reply sequence).
pub(crate) const REPLY_TICKETS: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("reply_tickets");
/// The replies by (sent ms, reply sequence), for the channels that deliver them.
pub(crate) const REPLY_TIMES: TableDefinition<(i64, u64), ()> = TableDefinition::new("reply_times");
/// Resolved tickets queued with a thread, by id, JSON [`ResolvedTicket`]: kept to reopen.
pub(crate) const RESOLVED: TableDefinition<u64, &[u8]> = TableDefinition::new("resolved");
/// The resolved tickets of each thread by (client id, thread id, ticket id).
pub(crate) const RESOLVED_THREADS: TableDefinition<ThreadKey, ()> =
    TableDefinition::new("resolved_threads");
/// Queue corrections by correction id, JSON `Correction`.
pub(crate) const CORRECTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("corrections");
/// The live tickets queued with a thread, by (client id, thread id, ticket id).
pub(crate) const THREADS: TableDefinition<ThreadKey, ()> = TableDefinition::new("threads");
/// The follow-ups attached to live tickets by (ticket id, position from 0), JSON [`FollowUp`].
pub(crate) const FOLLOW_UPS: TableDefinition<(u64, u32), &[u8]> =
    TableDefinition::new("follow_ups");
/// What operators did with dead letters (redrives, discards) by action id, JSON
/// [`DeadLetterAction`](crate::route::DeadLetterAction).
pub(crate) const DEAD_LETTER_ACTIONS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("dead_letter_actions");
/// Next ticket id, correction id, decision row id and dead-letter action id, by name.
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// What the file is: `schema_version` → [`SCHEMA_VERSION`].
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The version of the file's format this build reads and writes. Version 2: records compressed
/// against the codec's dictionary, decision rows stamped with their time, the `audit_times`
/// table, and a lease's token as 32 hex digits of random bits (version 1 stored a number from
/// a counter, and the counter). The `threads` and `follow_ups` tables and a ticket's thread id
/// came later within version 2: they only add to it, so a file written before them opens (the
/// tables are created empty; its tickets have no thread and take no follow-ups). So did the
/// `dead_letter_actions`, `replies`, `reply_tickets`, `reply_times`, `resolved` and
/// `resolved_threads` tables, created empty in an older file.
pub(crate) const SCHEMA_VERSION: u64 = 2;
const SCHEMA_VERSION_KEY: &str = "schema_version";

/// A resolved ticket kept to be reopened by a follow-up, with its follow-ups in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResolvedTicket {
    pub ticket: Ticket,
    pub resolved_ms: i64,
}

/// The ready-index key of `ticket`.
pub(crate) fn ready_key(ticket: &Ticket) -> ReadyKey<'_> {
    (&ticket.queue, ticket.priority, ticket.sla_due_ms, ticket.id)
}

/// Every ready-index key of `queue`, in claim order.
pub(crate) fn ready_range(queue: &str) -> RangeInclusive<ReadyKey<'_>> {
    ready_range_up_to(queue, u8::MAX)
}

/// The ready-index keys of `queue` of `priority` or a more urgent one, in claim order.
pub(crate) fn ready_range_up_to(queue: &str, priority: u8) -> RangeInclusive<ReadyKey<'_>> {
    (queue, 0, i64::MIN, 0)..=(queue, priority, i64::MAX, u64::MAX)
}

/// The thread-index key of `ticket`, if it was queued with a thread.
pub(crate) fn thread_key(ticket: &Ticket) -> Option<ThreadKey<'_>> {
    let thread = ticket.thread_id.as_deref()?;
    Some((&ticket.client_id, thread, ticket.id))
}

/// Every thread-index key of `client_id`'s thread `thread_id`, oldest ticket first.
pub(crate) fn thread_range<'a>(
    client_id: &'a str,
    thread_id: &'a str,
) -> RangeInclusive<ThreadKey<'a>> {
    (client_id, thread_id, 0)..=(client_id, thread_id, u64::MAX)
}

/// Every follow-up key of ticket `id`, in the order attached.
pub(crate) fn follow_up_range(id: u64) -> RangeInclusive<(u64, u32)> {
    (id, 0)..=(id, u32::MAX)
}

/// The follow-ups of ticket `id`, oldest first.
pub(crate) fn follow_ups_of(
    table: &impl ReadableTable<(u64, u32), &'static [u8]>,
    id: u64,
) -> Result<Vec<FollowUp>, RouteError> {
    let mut follow_ups = Vec::new();
    for entry in table.range(follow_up_range(id))? {
        let (key, value) = entry?;
        let what = format_args!("follow-up {} of ticket {id}", key.value().1);
        follow_ups.push(decode(what, value.value())?);
    }
    Ok(follow_ups)
}

/// Every dead-letter key of `queue`.
pub(crate) fn dead_letter_range(queue: &str) -> RangeInclusive<(&str, u64)> {
    (queue, 0)..=(queue, u64::MAX)
}

/// The dead letter of ticket `id`, whichever queue it is on. The table is keyed by queue
/// first, so this walks it; dead letters are few, and an operator's action is rare.
pub(crate) fn find_dead_letter(
    table: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    id: u64,
) -> Result<Option<DeadLetter>, RouteError> {
    for entry in table.iter()? {
        let (key, value) = entry?;
        if key.value().1 == id {
            return decode(format_args!("dead letter {id}"), value.value()).map(Some);
        }
    }
    Ok(None)
}

/// Checks the schema version of the database at `path` (stamping a new, empty one with
/// [`SCHEMA_VERSION`]) and creates every table, so read transactions never meet a missing one.
pub(crate) fn open_tables(db: &Database, path: &Path) -> Result<(), RouteError> {
    let read = db.begin_read()?;
    let version = match read.open_table(META) {
        Ok(meta) => meta.get(SCHEMA_VERSION_KEY)?.map(|guard| guard.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(err) => return Err(err.into()),
    };
    let empty = read.list_tables()?.next().is_none();
    drop(read);
    match version {
        Some(SCHEMA_VERSION) => {}
        None if empty => {}
        found => {
            let found = found.map_or("no schema version".to_owned(), |v| {
                format!("schema version {v}")
            });
            return Err(RouteError::Storage(format!(
                "queue database {} has {found}; this build reads schema version {SCHEMA_VERSION} only",
                path.display()
            )));
        }
    }
    let txn = db.begin_write()?;
    txn.open_table(META)?
        .insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)?;
    txn.open_table(TICKETS)?;
    txn.open_table(READY)?;
    txn.open_table(LEASES)?;
    txn.open_table(DECISION_ROWS)?;
    txn.open_table(DECISION_INDEX)?;
    txn.open_table(DEAD_LETTERS)?;
    txn.open_table(AUDIT)?;
    txn.open_table(AUDIT_TIMES)?;
    txn.open_table(CORRECTIONS)?;
    txn.open_table(THREADS)?;
    txn.open_table(FOLLOW_UPS)?;
    txn.open_table(REPLIES)?;
    txn.open_table(REPLY_TICKETS)?;
    txn.open_table(REPLY_TIMES)?;
    txn.open_table(RESOLVED)?;
    txn.open_table(RESOLVED_THREADS)?;
    txn.open_table(DEAD_LETTER_ACTIONS)?;
    txn.open_table(COUNTERS)?;
    txn.commit()?;
    Ok(())
}

/// Serializes a record for storage: its JSON, compressed when that is smaller (`codec.rs`);
/// `what` names it in the error.
pub(crate) fn encode<T: Serialize>(what: impl Display, value: &T) -> Result<Vec<u8>, RouteError> {
    let json = serde_json::to_vec(value)
        .map_err(|err| RouteError::storage(format_args!("encoding {what}"), err))?;
    let mut stored = Vec::with_capacity(json.len());
    pack_into(&json, &mut stored);
    Ok(stored)
}

/// The decision stored for `inquiry_id`, read the same way by a write transaction and a
/// snapshot: from its decision row, stored or in `pending` (the decisions of a row not stored
/// yet, and that row's id).
pub(crate) fn stored_decision(
    index: &impl ReadableTable<&'static str, u64>,
    rows: &impl ReadableTable<u64, &'static [u8]>,
    pending: Option<(u64, &DecisionRow)>,
    inquiry_id: &str,
) -> Result<Option<RawDecision>, RouteError> {
    let Some(row_id) = index.get(inquiry_id)?.map(|guard| guard.value()) else {
        return Ok(None);
    };
    let entry = match pending {
        Some((pending_id, row)) if pending_id == row_id => row.find(inquiry_id),
        _ => match rows.get(row_id)? {
            Some(row) => find_stored(row.value(), inquiry_id).ok().flatten(),
            None => None,
        },
    };
    entry.map(Some).ok_or_else(|| {
        RouteError::Storage(format!(
            "decoding the decision of inquiry {inquiry_id} in decision row {row_id} failed"
        ))
    })
}

/// Parses a stored record; `what` names it in the error.
pub(crate) fn decode<T: DeserializeOwned>(
    what: impl Display,
    bytes: &[u8],
) -> Result<T, RouteError> {
    let json = unpack(bytes).ok_or_else(|| {
        RouteError::Storage(format!("decoding {what} failed: bad compressed record"))
    })?;
    serde_json::from_slice(&json)
        .map_err(|err| RouteError::storage(format_args!("decoding {what}"), err))
}

/// Reads and parses the JSON record stored under `key`, if any.
pub(crate) fn read_json<'k, K: Key + 'static, T: DeserializeOwned>(
    table: &impl ReadableTable<K, &'static [u8]>,
    key: impl Borrow<K::SelfType<'k>>,
    what: impl Display,
) -> Result<Option<T>, RouteError> {
    table
        .get(key)?
        .map(|guard| decode(what, guard.value()))
        .transpose()
}

/// The ticket `index` names by `id`; a missing one means the index and the tickets disagree.
pub(crate) fn indexed_ticket(
    tickets: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
    index: &str,
) -> Result<Ticket, RouteError> {
    read_json(tickets, id, format_args!("ticket {id}"))?
        .ok_or_else(|| RouteError::Storage(format!("{index} index names missing ticket {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ready range of one queue excludes queues sharing its name as a prefix.
    #[test]
    fn ready_range_is_per_queue() {
        let range = ready_range("bill");
        assert!(range.contains(&("bill", 9, 5, 1)));
        assert!(!range.contains(&("billing", 0, 0, 0)));
        assert!(!range.contains(&("bil", 255, i64::MAX, u64::MAX)));
    }

    /// Records round-trip compressed; a record that is not a stored form is refused.
    #[test]
    fn records_round_trip_compressed() {
        let letter = DeadLetter {
            ticket: Ticket::from_new(
                7,
                crate::route::NewTicket {
                    inquiry_id: "q-7".into(),
                    client_id: "acme".into(),
                    queue: "seo".into(),
                    priority: 1,
                    sla_due_ms: 9,
                    created_ms: 3,
                    payload: "{\"inquiry\":{\"body\":\"what should the SEO report focus on?\"}}"
                        .repeat(4),
                    thread_id: None,
                },
            ),
            reason: "delivered 5 times".into(),
            dead_ms: 11,
        };
        let stored = encode("dead letter 7", &letter).unwrap();
        assert_ne!(stored[0], b'{', "the record is stored compressed");
        let plain = serde_json::to_vec(&letter).unwrap();
        assert!(stored.len() < plain.len());
        let read: DeadLetter = decode("dead letter 7", &stored).unwrap();
        assert_eq!(
            (read.ticket, read.reason, read.dead_ms),
            (letter.ticket.clone(), letter.reason.clone(), 11)
        );
        assert!(decode::<DeadLetter>("dead letter 7", &plain).is_err());
        let err = decode::<DeadLetter>("dead letter 7", &stored[..stored.len() / 2]).err();
        assert!(
            matches!(err, Some(RouteError::Storage(msg)) if msg.starts_with("decoding dead letter 7 failed"))
        );
    }

    /// A ticket as the service queues it (its inquiry payload inside) stores in well under
    /// half of its JSON: the codec's dictionary holds what every such record spells out.
    #[test]
    fn a_queued_ticket_stores_in_under_half_its_json() {
        let payload = serde_json::json!({"inquiry": {
            "inquiry_id": "web-20261120-000042", "client_id": "brightwave", "channel": "web",
            "subject": "", "body": "Can you suggest a tone of voice for our new product pages?",
            "received_ms": 1_795_165_200_000_i64, "in_reply_to": null, "sender": null}});
        let ticket = Ticket::from_new(
            42,
            crate::route::NewTicket {
                inquiry_id: "web-20261120-000042".into(),
                client_id: "brightwave".into(),
                queue: "content".into(),
                priority: 1,
                sla_due_ms: 1_795_251_600_000,
                created_ms: 1_795_165_200_000,
                payload: payload.to_string(),
                thread_id: None,
            },
        );
        let json = serde_json::to_vec(&ticket).unwrap();
        let stored = encode("ticket 42", &ticket).unwrap();
        assert!(
            stored.len() * 2 < json.len(),
            "{} bytes stored for {} of JSON",
            stored.len(),
            json.len()
        );
        assert_eq!(decode::<Ticket>("ticket 42", &stored).unwrap(), ticket);
    }

    /// A record that is not valid JSON surfaces as a storage error naming it.
    #[test]
    fn decode_failure_names_the_record() {
        let err = decode::<Ticket>("ticket 9", b"\x00{").err();
        assert!(
            matches!(err, Some(RouteError::Storage(msg)) if msg.starts_with("decoding ticket 9 failed"))
        );
    }

    /// A decision is read from its stored row or from the row still being filled, with its
    /// ticket. An index entry whose row is missing, or whose row lacks the inquiry, is a
    /// storage error naming both, never a decision.
    #[test]
    fn decisions_read_through_the_index_and_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let db = Database::create(&path).unwrap();
        open_tables(&db, &path).unwrap();
        let txn = db.begin_write().unwrap();
        let mut index = txn.open_table(DECISION_INDEX).unwrap();
        let mut rows = txn.open_table(DECISION_ROWS).unwrap();
        let mut row = DecisionRow::default();
        row.push("stored", Some(9), b"{\"a\":1}").unwrap();
        rows.insert(1, row.take_stored(0).as_slice()).unwrap();
        let mut pending = DecisionRow::default();
        pending.push("pending", None, b"{\"a\":2}").unwrap();
        for (id, row_id) in [
            ("stored", 1),
            ("not-in-row", 1),
            ("pending", 2),
            ("lost", 3),
        ] {
            index.insert(id, row_id).unwrap();
        }
        let read = |id| stored_decision(&index, &rows, Some((2, &pending)), id);
        let raw = |decision: &[u8], ticket_id| {
            Ok(Some(RawDecision {
                decision: decision.to_vec(),
                ticket_id,
            }))
        };
        assert_eq!(read("stored"), raw(b"{\"a\":1}", Some(9)));
        assert_eq!(read("pending"), raw(b"{\"a\":2}", None));
        assert_eq!(read("unknown"), Ok(None));
        for (id, row_id) in [("not-in-row", 1), ("lost", 3)] {
            let expected =
                format!("decoding the decision of inquiry {id} in decision row {row_id} failed");
            assert_eq!(read(id), Err(RouteError::Storage(expected)));
        }
    }

    /// Writes `version` (none when `None`) into a new database file with one table, as a
    /// file of another format would be.
    fn file_of_version(dir: &Path, version: Option<u64>) -> std::path::PathBuf {
        let path = dir.join("other.redb");
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TICKETS).unwrap();
        if let Some(version) = version {
            txn.open_table(META)
                .unwrap()
                .insert(SCHEMA_VERSION_KEY, version)
                .unwrap();
        }
        txn.commit().unwrap();
        path
    }

    /// A new file is stamped with this build's schema version and opens again; a file of a
    /// newer or an older version (version 1 among them: counted lease tokens), or of none
    /// (written before versions), is refused with an error naming the file and both versions.
    #[test]
    fn schema_version_is_checked_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.redb");
        let db = Database::create(&path).unwrap();
        open_tables(&db, &path).unwrap();
        open_tables(&db, &path).unwrap();
        let meta = db.begin_read().unwrap().open_table(META).unwrap();
        assert_eq!(
            meta.get(SCHEMA_VERSION_KEY).unwrap().map(|v| v.value()),
            Some(SCHEMA_VERSION)
        );
        for (version, named) in [
            (
                Some(SCHEMA_VERSION + 1),
                format!("schema version {}", SCHEMA_VERSION + 1),
            ),
            (Some(1), "schema version 1".to_owned()),
            (Some(0), "schema version 0".to_owned()),
            (None, "no schema version".to_owned()),
        ] {
            let path = file_of_version(dir.path(), version);
            let db = Database::create(&path).unwrap();
            let expected = format!(
                "queue database {} has {named}; this build reads schema version {SCHEMA_VERSION} only",
                path.display()
            );
            assert_eq!(open_tables(&db, &path), Err(RouteError::Storage(expected)));
            drop(db);
            std::fs::remove_file(&path).unwrap();
        }
    }
}
