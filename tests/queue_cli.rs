//! `triage queue list` and `triage queue claim` against a real server: each ticket's priority,
//! SLA due time (by its client's tier) and lease expiry, as readable UTC times; and the
//! dead-letter commands (`dead-letters`, `redrive`, `discard`).

mod common;

use common::{TestServer, agency_config, inquiry, stderr_of_failure, stdout_of_success, triage};

/// Both commands show the next ticket's priority and due time, the platinum client's first
/// (its 2 h target on account_management against the queue's 4 h), and a claim its lease
/// expiry; the times are the server's clock, 2026-11-20 09:00 UTC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_commands_show_priority_due_time_and_lease_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    for (id, client_id) in [("std-1", "kettle"), ("plat-1", "brightwave")] {
        let mut request = inquiry(id, client_id, "Please call me about the website.");
        request.inquiry.as_mut().unwrap().handoff_reason = "asked for a person".into();
        client.submit(request).await.unwrap();
    }
    let addr = format!("http://{}", server.addr);
    let queue = |args: &[&str]| {
        let args = [&["queue", "--addr", &addr][..], args].concat();
        stdout_of_success(&triage(dir.path(), &args))
    };

    let listed = queue(&["list"]);
    let management = listed
        .lines()
        .find(|line| line.starts_with("account_management "))
        .unwrap_or_else(|| panic!("no account_management line in\n{listed}"));
    assert!(
        management.contains("priority 0, ") && management.contains("due 2026-11-20 11:00 UTC"),
        "{management}"
    );
    let content = listed
        .lines()
        .find(|line| line.starts_with("content "))
        .unwrap();
    assert!(
        content.ends_with("  -"),
        "an empty queue has no next ticket: {content}"
    );

    for (priority, due) in [(0, "11:00"), (3, "13:00")] {
        let claimed = queue(&["claim", "account_management"]);
        assert!(
            claimed.contains(&format!("priority {priority}, "))
                && claimed.contains(&format!("due 2026-11-20 {due} UTC")),
            "{claimed}"
        );
        assert!(
            claimed
                .lines()
                .any(|line| line.starts_with("lease expire")
                    && line.contains(" 2026-11-20 09:05 UTC (")),
            "{claimed}"
        );
    }
    server.stop().await;
}

/// `queue dead-letters` shows a queue's dead letters as a table (ticket, client, when,
/// deliveries, reason, subject); `queue redrive` puts one back (on another queue with `--to`)
/// and `queue discard` removes one, each with its reason; a ticket that is not a dead letter is
/// refused with the server's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_commands_list_redrive_and_discard_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(dir.path());
    config.max_deliveries = 1;
    let server = TestServer::start(config).await;
    let mut client = server.triage().await;
    for (id, body) in [
        (
            "dl-seo",
            "why did our google rankings drop after the migration?",
        ),
        (
            "dl-spam",
            "which search terms should our new blog pages rank for?",
        ),
    ] {
        client.submit(inquiry(id, "acme", body)).await.unwrap();
    }
    let mut specialist = server.specialist().await;
    let mut dead = Vec::new();
    while let Some(claimed) = server.claim("seo").await {
        let ticket_id = claimed.ticket.unwrap().ticket_id;
        specialist
            .release(triage::proto::v1::ReleaseRequest {
                ticket_id,
                lease_token: claimed.lease_token,
                reason: "out of office".into(),
            })
            .await
            .unwrap();
        dead.push(ticket_id);
    }
    assert_eq!(dead.len(), 2);
    let addr = format!("http://{}", server.addr);
    let queue = |args: &[&str]| {
        let args = [&["queue", "--addr", &addr][..], args].concat();
        triage(dir.path(), &args)
    };

    let listed = stdout_of_success(&queue(&["dead-letters", "seo"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(
        lines[0].contains("ticket") && lines[0].contains("deliveries"),
        "{listed}"
    );
    let row = lines[1..]
        .iter()
        .find(|line| line.trim_start().starts_with(&format!("{} ", dead[0])))
        .unwrap_or_else(|| panic!("no row of ticket {} in\n{listed}", dead[0]));
    for expected in [
        " acme ",
        "2026-11-20 09:00 UTC",
        "released by local after 1 deliveries (out of office)",
    ] {
        assert!(row.contains(expected), "{expected:?} not in {row}");
    }

    let (first, second) = (dead[0].to_string(), dead[1].to_string());
    let redriven = stdout_of_success(&queue(&[
        "redrive",
        &first,
        "--to",
        "content",
        "--reason",
        "a content question after all",
    ]));
    assert_eq!(
        redriven.trim(),
        format!("ticket {first} is ready again on queue content")
    );
    let discarded = stdout_of_success(&queue(&["discard", &second, "--reason", "a duplicate"]));
    assert_eq!(discarded.trim(), format!("ticket {second} discarded"));
    let empty = stdout_of_success(&queue(&["dead-letters", "seo"]));
    assert_eq!(empty.trim(), "queue seo has no dead letters");
    let claimed = server.claim("content").await.expect("redriven to content");
    assert_eq!(claimed.ticket.unwrap().ticket_id, dead[0]);

    let refused = queue(&["discard", &second, "--reason", "again"]);
    let message = stderr_of_failure(&refused);
    assert!(message.contains("is not a dead letter"), "{message}");
    server.stop().await;
}
