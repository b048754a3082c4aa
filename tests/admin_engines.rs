//! `triage admin engines status|remove`: after a replica made its stream, consumers and
//! schema, `status` lists them; `remove` without `--yes` removes nothing and exits with 2; with
//! it, removes both, and `status` then says each is missing.

// Needs real PostgreSQL and NATS servers: run with the `engines` feature.
#![cfg(feature = "engines")]

mod common;

use std::path::Path;

use common::engines::{Namespace, nats_url};
use common::process::{connect, kill, start_server, write_config};
use common::{stdout_of_success, triage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_and_remove_removes_only_when_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let namespace = Namespace::new("admin");
    let config = write_config(dir.path(), "replica.toml", 0, &namespace.config_toml(true));
    let (replica, addr) = start_server(&config);
    connect(&addr).await;
    kill(replica);

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = config.to_str().unwrap();
    let status = || {
        stdout_of_success(&triage(
            root,
            &["admin", "engines", "status", "--config", config],
        ))
    };
    let before = status();
    let stream = namespace.stream();
    for expected in [
        format!("nats at {}\n", nats_url()),
        format!(
            "  stream {stream}: subjects {}.tickets.>, 0 messages, 0 bytes, 1 replicas, \
             duplicate window 600 s\n",
            namespace.name
        ),
        format!(
            "  consumer {stream}_billing_p0: filter {}.tickets.billing.p0, pending 0, ack \
             pending 0, ack wait 300 s\n",
            namespace.name
        ),
        format!("  schema \"{}\"\n", namespace.name),
        "  migrations 0001_init, 0002_random_lease_tokens, 0003_threads".to_owned(),
        "  table clients: 0 rows\n".to_owned(),
        "  table audit: 0 rows\n".to_owned(),
    ] {
        assert!(before.contains(&expected), "{expected:?} !~ {before}");
    }
    assert!(!before.contains("missing"), "{before}");

    let unconfirmed = triage(root, &["admin", "engines", "remove", "--config", config]);
    assert_eq!(unconfirmed.status.code(), Some(2), "{unconfirmed:?}");
    let plan = String::from_utf8_lossy(&unconfirmed.stdout);
    assert!(plan.contains(&format!("stream {stream} (with ")), "{plan}");
    assert!(plan.contains("nothing was removed"), "{plan}");
    assert_eq!(status(), before, "remove without --yes changed something");

    let removed = stdout_of_success(&triage(
        root,
        &["admin", "engines", "remove", "--config", config, "--yes"],
    ));
    assert!(
        removed.contains(&format!("deleted stream {stream}")),
        "{removed}"
    );
    assert!(removed.contains("dropped the schema"), "{removed}");
    let after = status();
    assert!(
        after.contains(&format!("  stream {stream}: missing\n")),
        "{after}"
    );
    assert!(
        after.contains(&format!("  schema \"{}\": missing\n", namespace.name)),
        "{after}"
    );
    namespace.remove().await;
}
