//! A damaged queue file: `triage store check` says what it found and never panics, and a file
//! cut to 0 bytes is refused by the server (with the path and what to do), never taken as a
//! new, empty queue.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::inquiry;
use common::process::{connect, kill, start_server, write_config};
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// `triage <args>`, run to its end.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("triage runs")
}

/// A server's queue in `dir`, holding a few tickets, left by a SIGKILL.
async fn queue_with_tickets(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = write_config(dir, "triage.toml", 0, "");
    let (child, addr) = start_server(&config);
    let mut triage = TriageServiceClient::new(connect(&addr).await);
    for n in 0..40 {
        let text = "our checkout page throws a 500 error since this morning";
        triage
            .submit(inquiry(&format!("f-{n}"), "acme", text))
            .await
            .unwrap();
    }
    kill(child);
    (config, dir.join("triage.toml.var"))
}

/// Overwrites 4 KiB in the middle of `path` with seeded noise, as a failing disk would.
fn damage_a_page(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let page = (bytes.len() / 2) & !4095;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for byte in &mut bytes[page..page + 4096] {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        *byte = (seed >> 56) as u8;
    }
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_page_is_checked_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (_, data_dir) = queue_with_tickets(dir.path()).await;
    let data_dir = data_dir.to_str().unwrap();
    let healthy = run(&["store", "check", "--data-dir", data_dir]);
    assert!(healthy.status.success(), "{healthy:?}");
    assert!(String::from_utf8_lossy(&healthy.stdout).contains(": ok ("));

    damage_a_page(&Path::new(data_dir).join("route.redb"));
    let damaged = run(&["store", "check", "--data-dir", data_dir]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&damaged.stdout),
        String::from_utf8_lossy(&damaged.stderr),
    );
    match damaged.status.code() {
        Some(0) => assert!(stdout.contains("repaired"), "{stdout}"),
        Some(1) => assert!(stderr.contains("route.redb"), "{stderr}"),
        other => panic!("store check ended with {other:?} (101 is a panic): {stderr}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_cut_to_nothing_is_refused_not_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data_dir) = queue_with_tickets(dir.path()).await;
    let file = data_dir.join("route.redb");
    std::fs::write(&file, b"").unwrap();

    let served = run(&["serve", "--config", config.to_str().unwrap()]);
    assert_eq!(served.status.code(), Some(1), "{served:?}");
    let stderr = String::from_utf8_lossy(&served.stderr);
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("triage store check"), "{stderr}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 0, "not recreated");

    let checked = run(&["store", "check", "--data-dir", data_dir.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(1), "{checked:?}");
    assert!(String::from_utf8_lossy(&checked.stderr).contains("cannot be opened ("));
}
