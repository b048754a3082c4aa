//! Retention: what the queue keeps about finished work is removed once it is older than
//! [`Retention::keep`], so the file stops growing with every ticket ever made.
//!
//! A sweep ([`EmbeddedQueue::sweep`]) removes, oldest first:
//! - **audit records** resolved before the cutoff, after appending them as JSON lines to
//!   `archive/audit-YYYY-MM.jsonl` (the month they were resolved, UTC) in the data directory.
//!   The lines are written and fsync'd before the commit that removes the records, so a crash
//!   between the two loses nothing; the next sweep then exports those records again, so an
//!   archive may hold a line twice (the same line: readers keep one per `ticket_id`).
//! - **decisions** recorded before the cutoff (the idempotency records): a resubmission of
//!   such an inquiry id is decided afresh, as a new inquiry. A decision whose ticket is still
//!   open (ready, leased or dead-lettered) is kept, so that its inquiry never queues twice.
//!
//! Dead letters (unresolved work), corrections (kept for retraining) and the actions taken on
//! dead letters (redrives and discards: the operators' audit trail) are never removed.
//! Every removal goes through the writer in batches of at most [`Retention::chunk`] records,
//! each one write transaction among the others', so a sweep never holds the writer for long.
//! The space freed is reused for new records; `triage store compact` gives it back to the file
//! system (`maintenance.rs`).

use std::collections::BTreeMap;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{EmbeddedQueue, Inner};
use crate::route::decision::DecisionRecord;
use crate::route::error::RouteError;
use crate::route::history::AuditRecord;

/// Records removed per writer batch by default.
pub const DEFAULT_SWEEP_CHUNK: usize = 2_000;

/// The folder of the data directory the removed audit records are appended to.
pub const ARCHIVE_DIR: &str = "archive";

/// How long finished work is kept, and where removed audit records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Audit records and decisions older than this are removed.
    pub keep: Duration,
    /// Where removed audit records are appended, one JSON line each.
    pub archive_dir: PathBuf,
    /// Most records one writer batch removes.
    pub chunk: usize,
}

impl Retention {
    /// Keeps `keep`, archiving into `archive/` under the queue's `data_dir`.
    pub fn new(keep: Duration, data_dir: &Path) -> Self {
        Self {
            keep,
            archive_dir: data_dir.join(ARCHIVE_DIR),
            chunk: DEFAULT_SWEEP_CHUNK,
        }
    }
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Audit records exported and removed.
    pub audit_removed: u64,
    /// Decisions removed.
    pub decisions_removed: u64,
    /// Writer batches the removals took.
    pub batches: u64,
}

impl<D: DecisionRecord> EmbeddedQueue<D> {
    /// Removes the audit records (exported first) and decisions older than `retention.keep`
    /// by the queue's clock, in batches of at most `retention.chunk` (see the module doc).
    pub async fn sweep(&self, retention: &Retention) -> Result<SweepReport, RouteError> {
        if retention.chunk == 0 {
            return Err(RouteError::InvalidArgument(
                "a retention sweep needs a chunk of at least one record".to_owned(),
            ));
        }
        let keep_ms = i64::try_from(retention.keep.as_millis()).unwrap_or(i64::MAX);
        let cutoff_ms = self.inner.clock.now_ms().saturating_sub(keep_ms);
        let chunk = retention.chunk;
        let mut report = SweepReport::default();
        loop {
            let expired = self
                .read(move |snap, _| snap.audit_resolved_before(cutoff_ms, chunk))
                .await?;
            if expired.is_empty() {
                break;
            }
            let archive_dir = retention.archive_dir.clone();
            let (expired, exported) = tokio::task::spawn_blocking(move || {
                let exported = export(&archive_dir, &expired);
                (expired, exported)
            })
            .await
            .map_err(|err| RouteError::Unavailable(format!("audit export task failed: {err}")))?;
            exported?;
            let keys: Vec<(i64, u64)> = expired
                .iter()
                .map(|record| (record.resolved_ms, record.ticket_id))
                .collect();
            let removed = self
                .inner
                .writer
                .submit(true, move |txn| txn.remove_audit(&keys))
                .await?;
            report.audit_removed += removed as u64;
            report.batches += 1;
            tracing::debug!(
                removed,
                cutoff_ms,
                "retention: audit records exported and removed"
            );
            if expired.len() < chunk {
                break;
            }
        }
        let mut from_row = 0;
        loop {
            let step = self
                .inner
                .writer
                .submit(true, move |txn| {
                    txn.remove_decisions_before(cutoff_ms, from_row, chunk)
                })
                .await?;
            report.decisions_removed += step.removed as u64;
            report.batches += 1;
            tracing::debug!(
                removed = step.removed,
                cutoff_ms,
                "retention: decisions removed"
            );
            let Some(next_row) = step.next_row else {
                break;
            };
            from_row = next_row;
        }
        tracing::info!(
            audit_removed = report.audit_removed,
            decisions_removed = report.decisions_removed,
            batches = report.batches,
            cutoff_ms,
            archive = %retention.archive_dir.display(),
            "retention sweep done"
        );
        Ok(report)
    }

    /// Sweeps every `every` (the first time after at most a minute) in a task that holds the
    /// queue weakly: it ends once the last handle to the queue is dropped. `on_sweep` sees each
    /// sweep's report; a failed sweep is logged and retried at the next turn.
    pub fn keep_sweeping(
        &self,
        retention: Retention,
        every: Duration,
        on_sweep: impl Fn(&SweepReport) + Send + 'static,
    ) {
        let queue = WeakQueue::<D> {
            inner: Arc::downgrade(&self.inner),
            decisions: PhantomData,
        };
        // Detached: it ends on its own once the queue is gone.
        drop(tokio::spawn(async move {
            tokio::time::sleep(every.min(Duration::from_secs(60))).await;
            loop {
                let Some(live) = queue.upgrade() else {
                    return;
                };
                match live.sweep(&retention).await {
                    Ok(report) => on_sweep(&report),
                    Err(error) => tracing::warn!(%error, "retention sweep failed"),
                }
                drop(live);
                tokio::time::sleep(every).await;
            }
        }));
    }
}

/// A handle to the queue that does not keep it open.
struct WeakQueue<D> {
    inner: Weak<Inner>,
    decisions: PhantomData<fn() -> D>,
}

impl<D> WeakQueue<D> {
    fn upgrade(&self) -> Option<EmbeddedQueue<D>> {
        Some(EmbeddedQueue {
            inner: self.inner.upgrade()?,
            decisions: PhantomData,
        })
    }
}

/// Appends `records` to the archive file of the month each was resolved in and fsyncs them
/// (and the folder, for a file it created) before returning.
fn export(archive_dir: &Path, records: &[AuditRecord]) -> Result<(), RouteError> {
    let failed = |what: &Path, err: std::io::Error| {
        RouteError::storage(
            format_args!("exporting audit records to {}", what.display()),
            err,
        )
    };
    std::fs::create_dir_all(archive_dir).map_err(|err| failed(archive_dir, err))?;
    let mut by_file: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    for record in records {
        let (year, month) = year_month(record.resolved_ms);
        let path = archive_dir.join(format!("audit-{year:04}-{month:02}.jsonl"));
        let lines = by_file.entry(path).or_default();
        serde_json::to_writer(&mut *lines, record).map_err(|err| {
            RouteError::storage(
                format_args!("encoding audit record {}", record.ticket_id),
                err,
            )
        })?;
        lines.push(b'\n');
    }
    let mut created = false;
    for (path, lines) in &by_file {
        created |= !path.exists();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|err| failed(path, err))?;
        file.write_all(lines).map_err(|err| failed(path, err))?;
        file.sync_data().map_err(|err| failed(path, err))?;
    }
    if created {
        std::fs::File::open(archive_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|err| failed(archive_dir, err))?;
    }
    Ok(())
}

/// The UTC year and month of Unix milliseconds `ms`.
fn year_month(ms: i64) -> (i64, u32) {
    let days = ms.div_euclid(86_400_000);
    // Days since 0000-03-01 in the proleptic Gregorian calendar, counted in 400-year eras of
    // 146,097 days; a year here runs March to February, so leap days end it.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Month boundaries, a leap day and the epoch land in the right file.
    #[test]
    fn months_are_utc_calendar_months() {
        let day = 86_400_000;
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(31 * day - 1), (1970, 1));
        assert_eq!(year_month(31 * day), (1970, 2));
        // 2024-02-29T12:00Z and 2024-03-01T00:00Z
        assert_eq!(year_month(1_709_208_000_000), (2024, 2));
        assert_eq!(year_month(1_709_251_200_000), (2024, 3));
        // 2026-11-20T09:00Z, 2026-12-31T23:59:59Z, 2027-01-01T00:00Z
        assert_eq!(year_month(1_795_165_200_000), (2026, 11));
        assert_eq!(year_month(1_798_761_599_000), (2026, 12));
        assert_eq!(year_month(1_798_761_600_000), (2027, 1));
        assert_eq!(year_month(-1), (1969, 12));
    }
}
