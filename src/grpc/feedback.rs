//! Feedback over gRPC: `Feedback` records a client's rating for a caller scoped like Submit,
//! `FeedbackLink` gives the link a mail asking for a rating carries, `FeedbackSummary` gives
//! admins the ratings by intent and by queue and how well the expected waits were kept; each
//! translated to and from the domain API
//! ([`crate::helpdesk::Helpdesk::rate`]).

use super::ServiceError;
use super::app::App;
use super::convert::timestamp;
use crate::feedback::{Rating, Source, SummaryRow};
use crate::helpdesk::{Caller, QueueCalibration, WaitScore};
use crate::proto::v1 as pb;

/// Records the rating of `request` for `caller` (from a frontend, or a client's reply mail),
/// and counts it.
pub(super) async fn rate(
    app: &App,
    caller: &Caller,
    request: pb::FeedbackRequest,
) -> Result<pb::FeedbackResponse, ServiceError> {
    let score = |field: &'static str, value: u32| {
        u8::try_from(value)
            .map_err(|_| ServiceError::invalid(field, format!("{value} is out of range")))
    };
    let rating = Rating {
        csat: score("rating.csat", request.csat)?,
        ces: match request.ces {
            0 => None,
            ces => Some(score("rating.ces", ces)?),
        },
        comment: Some(request.comment).filter(|comment| !comment.is_empty()),
    };
    let source = match pb::FeedbackSource::try_from(request.source) {
        Ok(pb::FeedbackSource::Api) => Source::Api,
        Ok(pb::FeedbackSource::Email) => Source::Email,
        Err(_) => {
            return Err(ServiceError::invalid(
                "source",
                format!("{} is not a feedback source", request.source),
            ));
        }
    };
    let record = app
        .helpdesk
        .rate(caller, &request.inquiry_id, rating, source)
        .await?;
    app.metrics.observe_rating(&record);
    Ok(pb::FeedbackResponse {
        intent: record.intent,
        queue: record.queue.unwrap_or_default(),
        changes: record.changes,
        rated: Some(timestamp(record.rated_ms)),
    })
}

/// The link rating the answer to the inquiry of `request`, for `caller`.
pub(super) async fn link(
    app: &App,
    caller: &Caller,
    request: pb::FeedbackLinkRequest,
) -> Result<pb::FeedbackLinkResponse, ServiceError> {
    let (url, expires_ms) = app
        .helpdesk
        .rating_link(caller, &request.inquiry_id)
        .await?;
    Ok(pb::FeedbackLinkResponse {
        url,
        expires: Some(timestamp(expires_ms)),
    })
}

/// The ratings by intent and by queue, for an admin `caller`.
pub(super) async fn summary(
    app: &App,
    caller: &Caller,
) -> Result<pb::FeedbackSummaryResponse, ServiceError> {
    let summary = app.helpdesk.feedback_summary(caller).await?;
    let waits = app.helpdesk.wait_calibration(caller)?;
    let groups = |rows: Vec<SummaryRow>| rows.into_iter().map(group_to_proto).collect();
    Ok(pb::FeedbackSummaryResponse {
        by_intent: groups(summary.by_intent),
        by_queue: groups(summary.by_queue),
        waits: waits.into_iter().map(calibration_to_proto).collect(),
    })
}

fn calibration_to_proto(queue: QueueCalibration) -> pb::WaitCalibration {
    pb::WaitCalibration {
        queue: queue.queue,
        score: Some(score_to_proto(&queue.score)),
        by_bucket: queue
            .by_bucket
            .iter()
            .map(|(bucket, score)| pb::WaitBucketScore {
                bucket: bucket.label().to_owned(),
                score: Some(score_to_proto(score)),
            })
            .collect(),
    }
}

fn score_to_proto(score: &WaitScore) -> pb::WaitScore {
    pb::WaitScore {
        told: score.told,
        answered: score.answered,
        kept: score.kept,
        overdue: score.overdue,
        kept_share: score.kept_share().unwrap_or(0.0),
    }
}

fn group_to_proto(row: SummaryRow) -> pb::FeedbackGroup {
    pb::FeedbackGroup {
        key: row.key,
        count: row.count,
        mean_csat: row.mean_csat,
        satisfied_share: row.satisfied_share,
        ces_count: row.ces_count,
        mean_ces: row.mean_ces.unwrap_or(0.0),
        easy_share: row.easy_share.unwrap_or(0.0),
        comments: row.comments,
    }
}
