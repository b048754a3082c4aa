//! A damaged queue file: `triage store check` says what it found and never panics, and a file
//! cut to 0 bytes is refused by the server (with the path and what to do), never taken as a
//! new, empty queue; a check of a file a running server holds says to stop the server;
//! `triage store compact` says what it did and leaves a sound file.

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

/// `clean` with the 4 KiB page at `offset` overwritten by seeded noise, as a failing disk
/// would leave it.
fn with_a_damaged_page(clean: &[u8], offset: usize) -> Vec<u8> {
    let mut bytes = clean.to_vec();
    let end = (offset + 4096).min(bytes.len());
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ offset as u64;
    for byte in &mut bytes[offset..end] {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        *byte = (seed >> 56) as u8;
    }
    bytes
}

/// Each 4 KiB page of a queue file in turn overwritten with noise: `triage store check` finds
/// the file sound (the page was free), repaired or refused with the file's name; it never
/// panics, and some pages are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_damaged_page_is_checked_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (_, data_dir) = queue_with_tickets(dir.path()).await;
    let file = data_dir.join("route.redb");
    let data_dir = data_dir.to_str().unwrap();
    let healthy = run(&["store", "check", "--data-dir", data_dir]);
    assert!(healthy.status.success(), "{healthy:?}");
    assert!(String::from_utf8_lossy(&healthy.stdout).contains(": ok ("));

    let clean = std::fs::read(&file).unwrap();
    let mut refused = 0;
    for offset in (0..clean.len()).step_by(4096) {
        std::fs::write(&file, with_a_damaged_page(&clean, offset)).unwrap();
        let checked = run(&["store", "check", "--data-dir", data_dir]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr),
        );
        match checked.status.code() {
            Some(0) => assert!(
                stdout.contains(": ok (") || stdout.contains("repaired"),
                "page at {offset}: {stdout}"
            ),
            Some(1) => {
                assert!(stderr.contains("route.redb"), "page at {offset}: {stderr}");
                refused += 1;
            }
            other => panic!("page at {offset}: store check ended with {other:?}: {stderr}"),
        }
    }
    assert!(refused > 0, "no damaged page was noticed");
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

/// `triage store check` on the file a running server holds says to stop the server first, and
/// leaves the server serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_while_the_server_runs_says_to_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "triage.toml", 0, "");
    let (child, addr) = start_server(&config);
    let mut triage = TriageServiceClient::new(connect(&addr).await);
    let data_dir = dir.path().join("triage.toml.var");
    let checked = run(&["store", "check", "--data-dir", data_dir.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(1), "{checked:?}");
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(stderr.contains("open in another process"), "{stderr}");
    let text = "our checkout page throws a 500 error since this morning";
    triage
        .submit(inquiry("after-check", "acme", text))
        .await
        .unwrap();
    kill(child);
}

/// `triage store compact` prints the file's size before and after, no larger, and the file
/// passes `triage store check` afterwards; on a running server's file it says to stop it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_reports_both_sizes_and_leaves_a_sound_file() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data_dir) = queue_with_tickets(dir.path()).await;
    let data_dir = data_dir.to_str().unwrap();
    let compacted = run(&["store", "compact", "--data-dir", data_dir]);
    assert!(compacted.status.success(), "{compacted:?}");
    let stdout = String::from_utf8_lossy(&compacted.stdout);
    let sizes: Vec<u64> = stdout
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    assert!(stdout.contains("route.redb: compacted, "), "{stdout}");
    let [before, after] = sizes[..] else {
        panic!("two sizes: {stdout}");
    };
    assert!(after <= before, "{stdout}");
    let file = Path::new(data_dir).join("route.redb");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), after);
    let checked = run(&["store", "check", "--data-dir", data_dir]);
    assert!(checked.status.success(), "{checked:?}");

    let (child, _) = start_server(&config);
    let refused = run(&["store", "compact", "--data-dir", data_dir]);
    kill(child);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("open in another process"), "{stderr}");
}
