//! `PgFeedback`: the ratings in PostgreSQL, in the deployment's schema (table `feedback`,
//! migration `0006_feedback`), for a scaled-out deployment whose replicas all take ratings. A
//! rating is read with its row locked (`FOR UPDATE`), checked against the rules and written in
//! one transaction; two first ratings at once are told apart by the primary key, the second
//! then applied as a change of the first. The links' signing key is kept in
//! `feedback_link_key`, so every replica signs and checks with the same one.

use std::time::Duration;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{
    FeedbackError, FeedbackRecord, FeedbackStore, FeedbackSummary, Rating, Source, apply_rating,
};
use crate::intake::Channel;
use crate::postgres::{Postgres, failed};

/// The columns of a rating, in the order [`record_of`] reads and [`PgFeedback::rate`] writes.
const COLUMNS: &str = "inquiry_id, client_id, intent, queue, channel, wait_ms, \
    answered_by_person, answered_ms, rated_ms, source, changes, csat, ces, comment";

/// The ratings in PostgreSQL.
#[derive(Clone)]
pub struct PgFeedback {
    pg: Postgres,
}

impl PgFeedback {
    /// The store over `pg` (migrated).
    pub fn new(pg: Postgres) -> Self {
        Self { pg }
    }
}

/// A channel's stored name: its serde name.
fn channel_name(channel: Channel) -> String {
    match serde_json::to_value(channel) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// The channel stored as `name`; unspecified when it names none.
fn channel_named(name: String) -> Channel {
    serde_json::from_value(serde_json::Value::String(name)).unwrap_or_default()
}

/// A row of `feedback` as a record.
fn record_of(row: &Row) -> Result<FeedbackRecord, FeedbackError> {
    let inquiry_id: String = row.get(0);
    let source: String = row.get(9);
    let Some(source) = Source::from_name(&source) else {
        return Err(FeedbackError::Storage(format!(
            "the rating of inquiry {inquiry_id} has an unknown source {source:?}"
        )));
    };
    let score = |value: i16| u8::try_from(value).unwrap_or(0);
    Ok(FeedbackRecord {
        client_id: row.get(1),
        intent: row.get(2),
        queue: row.get(3),
        channel: channel_named(row.get(4)),
        wait_ms: row.get(5),
        answered_by_person: row.get(6),
        answered_ms: row.get(7),
        rated_ms: row.get(8),
        source,
        changes: u32::try_from(row.get::<_, i32>(10)).unwrap_or(0),
        rating: Rating {
            csat: score(row.get(11)),
            ces: row.get::<_, Option<i16>>(12).map(score),
            comment: row.get(13),
        },
        inquiry_id,
    })
}

#[async_trait::async_trait]
impl FeedbackStore for PgFeedback {
    async fn rate(
        &self,
        incoming: FeedbackRecord,
        change_window: Duration,
    ) -> Result<FeedbackRecord, FeedbackError> {
        let mut conn = self.pg.client().await?;
        // A first rating that finds the row inserted meanwhile is applied again, as a change.
        loop {
            let txn = conn
                .transaction()
                .await
                .map_err(failed("starting to record a rating"))?;
            let existing = txn
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM feedback WHERE inquiry_id = $1 FOR UPDATE"),
                    &[&incoming.inquiry_id],
                )
                .await
                .map_err(failed("reading a rating"))?
                .map(|row| record_of(&row))
                .transpose()?;
            let first = existing.is_none();
            let record = apply_rating(existing, incoming.clone(), change_window)?;
            let channel = channel_name(record.channel);
            let changes = i32::try_from(record.changes).unwrap_or(i32::MAX);
            let csat = i16::from(record.rating.csat);
            let ces = record.rating.ces.map(i16::from);
            let params: [&(dyn ToSql + Sync); 14] = [
                &record.inquiry_id,
                &record.client_id,
                &record.intent,
                &record.queue,
                &channel,
                &record.wait_ms,
                &record.answered_by_person,
                &record.answered_ms,
                &record.rated_ms,
                &record.source.as_str(),
                &changes,
                &csat,
                &ces,
                &record.rating.comment,
            ];
            let written = if first {
                let statement = format!(
                    "INSERT INTO feedback ({COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                     ON CONFLICT (inquiry_id) DO NOTHING"
                );
                txn.execute(&statement, &params).await
            } else {
                // A change keeps the inquiry's context and replaces the rating.
                let statement = "UPDATE feedback SET rated_ms = $2, source = $3, changes = $4, \
                                 csat = $5, ces = $6, comment = $7 WHERE inquiry_id = $1";
                let change: [&(dyn ToSql + Sync); 7] = [
                    params[0], params[8], params[9], params[10], params[11], params[12], params[13],
                ];
                txn.execute(statement, &change).await
            }
            .map_err(failed("recording a rating"))?;
            if written == 0 {
                continue;
            }
            txn.commit().await.map_err(failed("committing a rating"))?;
            return Ok(record);
        }
    }

    async fn rating(&self, inquiry_id: &str) -> Result<Option<FeedbackRecord>, FeedbackError> {
        let conn = self.pg.client().await?;
        conn.query_opt(
            &format!("SELECT {COLUMNS} FROM feedback WHERE inquiry_id = $1"),
            &[&inquiry_id],
        )
        .await
        .map_err(failed("reading a rating"))?
        .map(|row| record_of(&row))
        .transpose()
    }

    async fn summary(&self) -> Result<FeedbackSummary, FeedbackError> {
        let conn = self.pg.client().await?;
        let rows = conn
            .query(&format!("SELECT {COLUMNS} FROM feedback"), &[])
            .await
            .map_err(failed("reading the ratings"))?;
        let records = rows.iter().map(record_of).collect::<Result<Vec<_>, _>>()?;
        Ok(FeedbackSummary::of(&records))
    }

    async fn link_key(&self, candidate: Vec<u8>) -> Result<Vec<u8>, FeedbackError> {
        let conn = self.pg.client().await?;
        conn.execute(
            "INSERT INTO feedback_link_key (key) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&candidate],
        )
        .await
        .map_err(failed("keeping the feedback link key"))?;
        let row = conn
            .query_one("SELECT key FROM feedback_link_key", &[])
            .await
            .map_err(failed("reading the feedback link key"))?;
        Ok(row.get(0))
    }
}
