//! `triage queue list` and `triage queue claim` against a real server: each ticket's priority,
//! SLA due time (by its client's tier) and lease expiry, as readable UTC times.

mod common;

use common::{TestServer, agency_config, inquiry, stdout_of_success, triage};

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
