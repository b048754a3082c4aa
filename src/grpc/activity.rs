//! The lead's activity report over gRPC (`Activity`, admins): the request's start, or today's,
//! passed to the domain API ([`crate::helpdesk::Helpdesk::activity`]) and its counts returned.

use super::ServiceError;
use super::app::App;
use super::convert::{timestamp, timestamp_to_ms};
use crate::helpdesk::{Caller, Count};
use crate::proto::v1 as pb;

/// The activity since the request's `since` (today when unset), for an admin `caller`.
pub(super) async fn report(
    app: &App,
    caller: &Caller,
    request: pb::ActivityRequest,
) -> Result<pb::ActivityResponse, ServiceError> {
    let activity = match &request.since {
        Some(since) => {
            let since_ms = timestamp_to_ms(since)
                .ok_or_else(|| ServiceError::invalid("since", "is not a valid time"))?;
            app.helpdesk.activity(caller, since_ms).await?
        }
        None => app.helpdesk.activity_today(caller).await?,
    };
    let counts = |counts: &[Count]| {
        counts
            .iter()
            .map(|count| pb::ActivityCount {
                key: count.key.clone(),
                count: count.count,
            })
            .collect()
    };
    Ok(pb::ActivityResponse {
        since: Some(timestamp(activity.since_ms)),
        decisions: activity.decisions,
        truncated: activity.truncated,
        by_tier: counts(&activity.by_tier),
        by_intent: counts(&activity.by_intent),
        by_channel: counts(&activity.by_channel),
        answered: activity.answered,
        queued: activity.queued,
        attached: activity.attached,
        deflection: activity.deflection().unwrap_or(0.0),
        escalations: counts(&activity.escalations),
        no_reply: counts(&activity.no_reply),
    })
}
