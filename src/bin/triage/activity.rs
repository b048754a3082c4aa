//! `triage activity`: the inquiries a running server decided today (or since a time), for an
//! admin token: by tier, intent and channel, deflection, escalations and no replies.

use anyhow::{Context, Result};
use clap::Args;
use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

use crate::remote::Connection;

#[derive(Args)]
pub struct ActivityArgs {
    /// Count from this time (RFC 3339, `2026-12-06T00:00:00Z`) instead of today's midnight in
    /// the pack's time zone.
    #[arg(long)]
    since: Option<jiff::Timestamp>,
    #[command(flatten)]
    connection: Connection,
}

/// Prints the activity report.
pub fn activity(args: ActivityArgs) -> Result<()> {
    let since = args.since.map(|since| prost_types::Timestamp {
        seconds: since.as_second(),
        nanos: since.subsec_nanosecond(),
    });
    crate::runtime()?.block_on(async {
        let connection = &args.connection;
        let mut client = TriageServiceClient::new(connection.channel().await?);
        let report = client
            .activity(connection.request(pb::ActivityRequest { since })?)
            .await?
            .into_inner();
        let since = report.since.context("the server sent no start time")?;
        let start = jiff::Timestamp::new(since.seconds, since.nanos)
            .context("the server sent an invalid start time")?;
        println!("since {start}: {} inquiries decided", report.decisions);
        if report.truncated {
            println!("(only the latest decisions were counted)");
        }
        let needing_reply = report.answered + report.queued + report.attached;
        println!(
            "answered automatically {} of {needing_reply} needing a reply ({:.0} %); queued {}, \
             joined an open ticket {}",
            report.answered,
            report.deflection * 100.0,
            report.queued,
            report.attached
        );
        for (title, counts) in [
            ("tier", &report.by_tier),
            ("channel", &report.by_channel),
            ("intent", &report.by_intent),
            ("escalated because", &report.escalations),
            ("no reply because", &report.no_reply),
        ] {
            println!();
            println!("{title:<32} {:>7}", "count");
            if counts.is_empty() {
                println!("(none)");
            }
            for count in counts {
                println!("{:<32} {:>7}", count.key, count.count);
            }
        }
        Ok(())
    })
}
