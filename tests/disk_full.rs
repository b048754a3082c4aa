//! A full disk: the server's data directory is on a small tmpfs, a ballast file takes the rest
//! of its space, and writes fail. Clients get UNAVAILABLE (retryable) and health turns
//! NOT_SERVING while the store cannot write; once the ballast is gone the store heals by
//! itself, without a restart, and every ticket acknowledged before is still there. A shutdown
//! while the disk is full again, after answers were acknowledged, exits non-zero.
//!
//! Mounting a tmpfs needs root (CI runs as root). Elsewhere the test says so and does nothing.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::inquiry;
use common::load::{EXPERT_TEXTS, check_replays};
use common::process::{connect, health, start_server, terminate, wait_for_health, write_config};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// A tmpfs of `megabytes` at a new directory, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts it, or says why it cannot.
    fn mount(megabytes: u32) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).map_err(|e| e.to_string())?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !mounted.status.success() {
            return Err(format!(
                "mounting a tmpfs failed (it needs root): {}",
                String::from_utf8_lossy(&mounted.stderr).trim()
            ));
        }
        Ok(Self { path, _dir: dir })
    }

    /// Writes a ballast file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        let ballast = self.path.join("ballast");
        let mut file = std::fs::File::create(&ballast).expect("create the ballast");
        let chunk = vec![0xA5_u8; 64 << 10];
        loop {
            match file.write_all(&chunk).and_then(|()| file.sync_all()) {
                Ok(()) => {}
                Err(error) if error.raw_os_error() == Some(28) => break, // ENOSPC
                Err(error) => panic!("filling the disk failed: {error}"),
            }
        }
        // The last partial chunk, byte-wise, so not a page is left.
        while file.write_all(&[0]).and_then(|()| file.sync_all()).is_ok() {}
        ballast
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn expert(id: &str, n: usize) -> pb::SubmitRequest {
    inquiry(id, "acme", EXPERT_TEXTS[n % EXPERT_TEXTS.len()])
}

/// The ticket a submission queued.
fn ticket_of(response: pb::SubmitResponse) -> u64 {
    match response.decision.and_then(|d| d.outcome) {
        Some(pb::decision::Outcome::Ticket(ticket)) => ticket.ticket_id,
        other => panic!("an expert inquiry was not queued: {other:?}"),
    }
}

/// Submits `id` until it is taken, as a client retrying UNAVAILABLE would; panics on any
/// other error.
async fn submit_until_taken(
    triage: &mut TriageServiceClient<tonic::transport::Channel>,
    id: &str,
    n: usize,
) -> pb::SubmitResponse {
    let started = Instant::now();
    loop {
        match triage.submit(expert(id, n)).await {
            Ok(response) => return response.into_inner(),
            Err(status) if status.code() == Code::Unavailable => {
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "{id} was never taken: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("{id}: {status:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_and_heals_when_space_returns() {
    let disk = match SmallDisk::mount(24) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let config = write_config(&disk.path, "triage.toml", 0, "");
    let (child, addr) = start_server(&config);
    let channel = connect(&addr).await;
    let mut triage = TriageServiceClient::new(channel.clone());
    let mut acknowledged = BTreeMap::new();
    for n in 0..20 {
        let id = format!("before-acme-{n}");
        let response = triage.submit(expert(&id, n)).await.unwrap().into_inner();
        acknowledged.insert(id, ticket_of(response));
    }

    let ballast = disk.fill();
    let mut refused = None;
    for n in 0..50_000 {
        let id = format!("full-acme-{n}");
        match triage.submit(expert(&id, n)).await {
            Ok(response) => {
                acknowledged.insert(id, ticket_of(response.into_inner()));
            }
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    let refused = refused.expect("a full disk refused a write");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    wait_for_health(&channel, ServingStatus::NotServing).await;
    let again = triage.submit(expert("while-full", 0)).await.unwrap_err();
    assert_eq!(again.code(), Code::Unavailable, "{again:?}");
    assert_eq!(health(&channel).await, ServingStatus::NotServing);

    std::fs::remove_file(&ballast).unwrap();
    let healed = submit_until_taken(&mut triage, "after-space-returns", 1).await;
    assert!(!healed.replayed);
    wait_for_health(&channel, ServingStatus::Serving).await;
    check_replays(channel.clone(), &acknowledged).await;

    // Full again: answers are acknowledged until a write fails, so the shutdown cannot store
    // all it acknowledged.
    disk.fill();
    let mut answered = 0;
    for n in 0..50_000 {
        let question = "when will the final report be ready?";
        if triage
            .submit(inquiry(&format!("direct-{n}"), "acme", question))
            .await
            .is_ok()
        {
            answered += 1;
        }
        if let Err(status) = triage.submit(expert(&format!("last-{n}"), n)).await {
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
            break;
        }
    }
    assert!(answered > 0, "no answer was acknowledged on the full disk");
    let exit = terminate(child);
    assert!(!exit.success(), "the shutdown exited with {exit}");
}
