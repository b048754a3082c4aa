//! `triage bench`: loads a running server over gRPC, `Ping` (the ceiling) and `Submit`
//! alternating, and reports both; and `triage bench-workload`, which writes the inquiries a
//! bench sends from a pack.

mod load;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use triage::answer::StatusStore;
use triage::pack::Pack;

use crate::remote::Connection;
use load::{BenchMode, BenchOptions};

#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    connection: Connection,
    /// The Submit path loaded; it picks the default workload.
    #[arg(long, value_enum, default_value = "direct")]
    mode: BenchMode,
    /// The inquiries sent, a CSV file `client_id,text`; by default the agency pack's workload
    /// of the mode in benches/workload/ (run from the repository).
    #[arg(long)]
    workload: Option<PathBuf>,
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    /// Seconds of each load in all (Ping, and as long Submit).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Ping and Submit alternate this many times, `seconds / rounds` at a time.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Where to write the JSON report.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct WorkloadArgs {
    /// The pack whose labelled test rows are sent, paired with the clients of its status data.
    #[arg(long, default_value = "data/agency")]
    pack: PathBuf,
    #[arg(long, value_enum)]
    mode: BenchMode,
    /// The workload file to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn bench(args: BenchArgs) -> Result<()> {
    let path = args
        .workload
        .unwrap_or_else(|| PathBuf::from(workload::default_path(args.mode)));
    let options = BenchOptions {
        endpoint: args.connection.endpoint()?,
        token: args.connection.token.clone(),
        mode: args.mode,
        connections: args.connections.max(1),
        in_flight: args.in_flight.max(1),
        duration: Duration::from_secs(args.seconds.max(1)),
        rounds: args.rounds,
        inquiries: workload::read(&path)?,
    };
    eprintln!(
        "bench: {} s of Ping and {} s of Submit in {} alternating rounds ({:?}, {} distinct inquiries), {} connections × {} in flight",
        args.seconds,
        args.seconds,
        args.rounds,
        args.mode,
        options.inquiries.len(),
        options.connections,
        options.in_flight
    );
    let report = crate::runtime()?.block_on(load::run(&options))?;
    for phase in [&report.ping, &report.submit] {
        println!(
            "{:<7} {:>9.0}/s  p50 {:>6} µs  p90 {:>6} µs  p99 {:>6} µs  max {:>7} µs  ok {}  errors {:?}",
            phase.rpc,
            phase.throughput_per_s,
            phase.p50_us,
            phase.p90_us,
            phase.p99_us,
            phase.max_us,
            phase.ok,
            phase.errors_by_code
        );
    }
    println!(
        "submit/ping {:.2} (by round: {}); submit decisions answered {} · queued {}",
        report.submit_over_ping,
        report
            .submit_over_ping_by_round
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" "),
        report.submit.answered,
        report.submit.queued
    );
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = args.out {
        std::fs::write(&path, &json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn write_workload(args: WorkloadArgs) -> Result<()> {
    let pack =
        Pack::load(&args.pack).with_context(|| format!("cannot load {}", args.pack.display()))?;
    let status = StatusStore::for_pack(&pack, jiff::Timestamp::now())?.snapshot();
    let inquiries = workload::from_pack(&pack, &status, args.mode);
    anyhow::ensure!(
        !inquiries.is_empty(),
        "the pack's test set and status data give no {:?} inquiry",
        args.mode
    );
    workload::write(&args.out, &inquiries)?;
    println!("{} inquiries in {}", inquiries.len(), args.out.display());
    Ok(())
}
