//! The load generator, a plain gRPC client: N connections × M requests in flight for a
//! duration on `Ping` (the ceiling: the same server doing nothing) and as long on `Submit` with
//! the workload's inquiries in turn, with throughput, latency percentiles and errors by code
//! for each, and the ratio of the two. The two loads alternate in rounds, so a machine that
//! speeds up or slows down during the run moves both alike and the ratio measures the server,
//! not the drift.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// Which Submit path to load; it names the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BenchMode {
    /// Direct inquiries, each sent for a client whose status data holds what it asks about:
    /// the path answered from status data.
    Direct,
    /// Inquiries whose true intent is expert, for the clients in turn: durable tickets.
    Expert,
}

/// One inquiry of the workload: who asks what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BenchInquiry {
    pub client_id: String,
    pub text: String,
}

/// How to load the server.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The server, with its TLS settings if any.
    pub endpoint: Endpoint,
    pub token: Option<String>,
    pub mode: BenchMode,
    pub connections: usize,
    pub in_flight: usize,
    /// How long each load runs in all.
    pub duration: Duration,
    /// Ping and Submit alternate this many times, each for `duration / rounds` at a time.
    pub rounds: u32,
    /// The inquiries sent, in turn.
    pub inquiries: Vec<BenchInquiry>,
}

/// One load phase's figures.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub rpc: String,
    pub requests: u64,
    pub ok: u64,
    pub seconds: f64,
    pub throughput_per_s: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub errors_by_code: BTreeMap<String, u64>,
    /// For Submit: decisions answered automatically and decisions queued.
    pub answered: u64,
    pub queued: u64,
}

/// The whole run: the ceiling and the Submit path, measured the same way in one run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub mode: BenchMode,
    pub connections: usize,
    pub in_flight_per_connection: usize,
    pub rounds: u32,
    pub ping: LoadReport,
    pub submit: LoadReport,
    /// Submit throughput over Ping throughput.
    pub submit_over_ping: f64,
    /// The same ratio in each round, to show how much it moved.
    pub submit_over_ping_by_round: Vec<f64>,
}

/// Alternates Ping and Submit for `rounds` rounds.
pub async fn run(options: &BenchOptions) -> Result<BenchReport, tonic::transport::Error> {
    let mut channels = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        channels.push(options.endpoint.clone().connect().await?);
    }
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let shared = Arc::new(options.clone());
    let rounds = options.rounds.max(1);
    let slice = options.duration / rounds;
    let (mut ping, mut submit) = (Load::default(), Load::default());
    let mut submit_over_ping_by_round = Vec::new();
    for round in 0..rounds {
        let pinged = ping.run(&channels, &shared, slice, |_, _| Call::Ping).await;
        let submitted = submit
            .run(&channels, &shared, slice, move |worker, seq| Call::Submit {
                id: format!("bench-{run_id}-{round}-{worker}-{seq}"),
            })
            .await;
        submit_over_ping_by_round.push(ratio(submitted, pinged));
    }
    let (ping, submit) = (ping.summarize("Ping"), submit.summarize("Submit"));
    Ok(BenchReport {
        mode: options.mode,
        connections: options.connections,
        in_flight_per_connection: options.in_flight,
        rounds,
        submit_over_ping: ratio(submit.throughput_per_s, ping.throughput_per_s),
        ping,
        submit,
        submit_over_ping_by_round,
    })
}

/// `submit` over `ping`, 0 when nothing pinged.
fn ratio(submit: f64, ping: f64) -> f64 {
    if ping > 0.0 { submit / ping } else { 0.0 }
}

enum Call {
    Ping,
    Submit { id: String },
}

#[derive(Default)]
struct WorkerTally {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
    answered: u64,
    queued: u64,
}

/// One load's tally over its rounds.
#[derive(Default)]
struct Load {
    tally: WorkerTally,
    seconds: f64,
}

impl Load {
    /// Runs one round of `call` for `duration` on every worker; returns its throughput.
    async fn run(
        &mut self,
        channels: &[Channel],
        options: &Arc<BenchOptions>,
        duration: Duration,
        call: impl Fn(usize, u64) -> Call + Send + Sync + Copy + 'static,
    ) -> f64 {
        let started = Instant::now();
        let deadline = started + duration;
        let mut workers = Vec::new();
        for (c, channel) in channels.iter().enumerate() {
            for slot in 0..options.in_flight {
                let worker = c * options.in_flight + slot;
                let client = TriageServiceClient::new(channel.clone());
                let options = Arc::clone(options);
                workers.push(tokio::spawn(work(client, options, worker, deadline, call)));
            }
        }
        let mut round = WorkerTally::default();
        for worker in workers {
            if let Ok(tally) = worker.await {
                round.add(tally);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let throughput = round.ok() as f64 / seconds.max(1e-9);
        self.tally.add(round);
        self.seconds += seconds;
        throughput
    }

    fn summarize(self, rpc: &str) -> LoadReport {
        summarize(rpc, self.tally, self.seconds)
    }
}

/// One worker: `call` after `call` until `deadline`, one at a time.
async fn work(
    mut client: TriageServiceClient<Channel>,
    options: Arc<BenchOptions>,
    worker: usize,
    deadline: Instant,
    call: impl Fn(usize, u64) -> Call,
) -> WorkerTally {
    let mut tally = WorkerTally::default();
    let mut seq = 0u64;
    while Instant::now() < deadline {
        let sent = Instant::now();
        let result = send(
            &mut client,
            &options,
            call(worker, seq),
            worker + seq as usize,
        )
        .await;
        tally.latencies_us.push(sent.elapsed().as_micros() as u64);
        match result {
            Ok(Some(true)) => tally.answered += 1,
            Ok(Some(false)) => tally.queued += 1,
            Ok(None) => {}
            Err(status) => {
                *tally
                    .errors
                    .entry(format!("{:?}", status.code()))
                    .or_default() += 1
            }
        }
        seq += 1;
    }
    tally
}

impl WorkerTally {
    fn add(&mut self, other: WorkerTally) {
        self.latencies_us.extend(other.latencies_us);
        self.answered += other.answered;
        self.queued += other.queued;
        for (code, count) in other.errors {
            *self.errors.entry(code).or_default() += count;
        }
    }

    /// Calls that succeeded.
    fn ok(&self) -> u64 {
        self.latencies_us.len() as u64 - self.errors.values().sum::<u64>()
    }
}

/// Sends one call; for Submit, whether the decision was answered (true) or queued (false).
async fn send(
    client: &mut TriageServiceClient<Channel>,
    options: &BenchOptions,
    call: Call,
    pick: usize,
) -> Result<Option<bool>, Status> {
    match call {
        Call::Ping => {
            client.ping(authorized(options, pb::PingRequest {})).await?;
            Ok(None)
        }
        Call::Submit { id } => {
            let BenchInquiry { client_id, text } =
                options.inquiries[pick % options.inquiries.len()].clone();
            let inquiry = pb::Inquiry {
                inquiry_id: id,
                client_id,
                channel: pb::Channel::Api.into(),
                body: text,
                ..pb::Inquiry::default()
            };
            let response = client
                .submit(authorized(
                    options,
                    pb::SubmitRequest {
                        inquiry: Some(inquiry),
                    },
                ))
                .await?;
            let answered = matches!(
                response.into_inner().decision.and_then(|d| d.outcome),
                Some(pb::decision::Outcome::Answer(_))
            );
            Ok(Some(answered))
        }
    }
}

/// `message` as a request carrying the bench's bearer token, if any.
fn authorized<T>(options: &BenchOptions, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = &options.token
        && let Ok(value) = format!("Bearer {token}").parse()
    {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn summarize(rpc: &str, mut tally: WorkerTally, seconds: f64) -> LoadReport {
    tally.latencies_us.sort_unstable();
    let n = tally.latencies_us.len();
    let at = |q: f64| {
        if n == 0 {
            0
        } else {
            tally.latencies_us[((n as f64 * q).ceil() as usize).clamp(1, n) - 1]
        }
    };
    let ok = tally.ok();
    LoadReport {
        rpc: rpc.to_owned(),
        requests: n as u64,
        ok,
        seconds,
        throughput_per_s: ok as f64 / seconds.max(1e-9),
        p50_us: at(0.50),
        p90_us: at(0.90),
        p99_us: at(0.99),
        max_us: tally.latencies_us.last().copied().unwrap_or(0),
        errors_by_code: tally.errors,
        answered: tally.answered,
        queued: tally.queued,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Percentiles are nearest-rank and throughput counts successful calls only.
    #[test]
    fn summarizes_a_tally() {
        let mut errors = BTreeMap::new();
        errors.insert("Unavailable".to_owned(), 10);
        let tally = WorkerTally {
            latencies_us: (1..=100).rev().collect(),
            errors,
            answered: 60,
            queued: 30,
        };
        let report = summarize("Submit", tally, 2.0);
        assert_eq!(
            (report.p50_us, report.p90_us, report.p99_us, report.max_us),
            (50, 90, 99, 100)
        );
        assert_eq!(report.ok, 90);
        assert_eq!(report.throughput_per_s, 45.0);
    }
}
