//! Prometheus metrics of the service and the tiny HTTP endpoint that serves them.
//!
//! Requests and latency by RPC and status code, decisions by tier, intent and target (status kind
//! or queue), escalations by reason, decisions needing no reply by reason, inquiries of mixed tiers, the queues' depth, oldest ticket age and SLA breaches, tickets dead-lettered by queue, the records retention removed,
//! authentication failures by source, requests refused for their token's limits, the expected
//! waits told to clients by queue and bucket with how many were kept, and clients' ratings of
//! answers by queue and source, with their CSAT and CES scores.
//!
//! The scores are counters by score (`triage_feedback_csat_total{queue,score}`, the same for
//! CES), not histograms: a score is one of five (or seven) values, so a counter per value is
//! the exact distribution, from which the share satisfied (`score` 4 or 5) and the mean follow
//! in PromQL; a histogram's cumulative `le` buckets would hold the same on an integer scale, less
//! readably. A changed rating is counted again: these count ratings given, while the summary
//! (`FeedbackSummary`) holds each inquiry's latest.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::tls::{Protocol, ServerTls};

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    decisions: IntCounterVec,
    escalations: IntCounterVec,
    no_replies: IntCounterVec,
    mixed_tiers: IntCounterVec,
    follow_ups: IntCounterVec,
    retention_removed: IntCounterVec,
    dead_lettered: IntCounterVec,
    auth_failures: IntCounterVec,
    /// The sources `auth_failures` has a series for, at most [`AUTH_FAILURE_SOURCES`].
    auth_failure_sources: Mutex<HashSet<String>>,
    limited: IntCounterVec,
    feedback: IntCounterVec,
    feedback_csat: IntCounterVec,
    feedback_ces: IntCounterVec,
    wait_told: IntCounterVec,
    wait_kept: IntCounterVec,
    queue_ready: IntGaugeVec,
    queue_leased: IntGaugeVec,
    queue_dead_letters: IntGaugeVec,
    queue_oldest_age: GaugeVec,
    queue_sla_breaches: IntGaugeVec,
}

/// The most sources authentication failures are counted apart; the others are counted as
/// `other`, so that a caller trying from many addresses cannot grow the metrics without bound.
const AUTH_FAILURE_SOURCES: usize = 1000;

/// One queue's figures for the gauges.
pub struct QueueGauges<'a> {
    pub queue: &'a str,
    pub ready: u64,
    pub leased: u64,
    pub dead_letters: u64,
    pub oldest_ready_age: Option<Duration>,
    pub sla_breaches: u64,
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let gauge = |name: &str, help: &str| {
            let metric = IntGaugeVec::new(Opts::new(name, help), &["queue"]).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let requests = counter(
            "triage_requests_total",
            "gRPC requests by RPC and status code",
            &["rpc", "code"],
        );
        let decisions = counter(
            "triage_decisions_total",
            "Decisions by tier, intent and target (status kind or queue)",
            &["tier", "intent", "target"],
        );
        let escalations = counter(
            "triage_escalations_total",
            "Inquiries sent to a human, by reason",
            &["reason"],
        );
        let no_replies = counter(
            "triage_no_reply_total",
            "Inquiries that need no reply (no answer, no ticket), by reason",
            &["reason"],
        );
        let mixed_tiers = counter(
            "triage_mixed_tier_total",
            "Inquiries holding questions of both tiers, routed whole with the direct answers prepared, by queue",
            &["queue"],
        );
        let follow_ups = counter(
            "triage_follow_ups_total",
            "Follow-ups in a known thread, by how they were decided (attached, with_context, on_its_own)",
            &["role"],
        );
        let retention_removed = counter(
            "triage_retention_removed_total",
            "Records removed by the retention sweep, by record (audit, decision)",
            &["record"],
        );
        let dead_lettered = counter(
            "triage_tickets_dead_lettered_total",
            "Tickets dead-lettered (their last allowed delivery expired or was released) by this process, by queue",
            &["queue"],
        );
        let auth_failures = counter(
            "triage_auth_failures_total",
            "Requests refused as unauthenticated, by source address (an IPv6 source by its /64) and reason (missing, malformed, unknown)",
            &["source", "reason"],
        );
        let limited = counter(
            "triage_limited_total",
            "Requests refused for their token's limits, by token name and limit (rate, in_flight)",
            &["token", "limit"],
        );
        let feedback = counter(
            "triage_feedback_total",
            "Ratings of answers given (a change counted again), by queue ((automatic) for automatic answers) and source (api, email, link)",
            &["queue", "source"],
        );
        let feedback_csat = counter(
            "triage_feedback_csat_total",
            "Ratings of answers by queue and CSAT score (1 to 5)",
            &["queue", "score"],
        );
        let feedback_ces = counter(
            "triage_feedback_ces_total",
            "Ratings of answers that gave a CES, by queue and CES score (1 to 7)",
            &["queue", "score"],
        );
        let wait_told = counter(
            "triage_wait_told_total",
            "Expected waits told to clients, by queue and bucket",
            &["queue", "bucket"],
        );
        let wait_kept = counter(
            "triage_wait_kept_total",
            "Expected waits told to clients that were kept (answered by the deadline told), by queue and bucket",
            &["queue", "bucket"],
        );
        let latency = HistogramVec::new(
            HistogramOpts::new("triage_request_seconds", "gRPC request latency by RPC").buckets(
                vec![
                    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                    0.1, 0.25, 1.0,
                ],
            ),
            &["rpc"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(latency.clone()))
            .expect("registered once");
        let queue_oldest_age = GaugeVec::new(
            Opts::new(
                "triage_queue_oldest_ready_age_seconds",
                "Age of the oldest ready ticket",
            ),
            &["queue"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(queue_oldest_age.clone()))
            .expect("registered once");
        Self {
            requests,
            latency,
            decisions,
            escalations,
            no_replies,
            mixed_tiers,
            follow_ups,
            retention_removed,
            dead_lettered,
            auth_failures,
            auth_failure_sources: Mutex::new(HashSet::new()),
            limited,
            feedback,
            feedback_csat,
            feedback_ces,
            wait_told,
            wait_kept,
            queue_ready: gauge("triage_queue_ready", "Tickets ready to be claimed"),
            queue_leased: gauge("triage_queue_leased", "Tickets under a lease"),
            queue_dead_letters: gauge(
                "triage_queue_dead_letters",
                "Tickets in the dead-letter queue",
            ),
            queue_sla_breaches: gauge(
                "triage_queue_sla_breaches",
                "Open tickets past their SLA due time",
            ),
            queue_oldest_age,
            registry,
        }
    }

    /// Counts a follow-up decided in its thread as `role`.
    pub fn observe_follow_up(&self, role: &str) {
        self.follow_ups.with_label_values(&[role]).inc();
    }

    /// Counts one finished request.
    pub fn observe_request(&self, rpc: &str, code: tonic::Code, elapsed: Duration) {
        self.requests
            .with_label_values(&[rpc, &format!("{code:?}")])
            .inc();
        self.latency
            .with_label_values(&[rpc])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts an expected wait told to a client: on `queue`, in the bucket labelled `bucket`.
    pub fn observe_wait_told(&self, queue: &str, bucket: &str) {
        self.wait_told.with_label_values(&[queue, bucket]).inc();
    }

    /// Counts an expected wait kept: the ticket was answered by the deadline told.
    pub fn observe_wait_kept(&self, queue: &str, bucket: &str) {
        self.wait_kept.with_label_values(&[queue, bucket]).inc();
    }

    /// Counts one decision.
    pub fn observe_decision(&self, tier: &str, intent: &str, target: &str) {
        self.decisions
            .with_label_values(&[tier, intent, target])
            .inc();
    }

    /// Counts one escalation to a human.
    pub fn observe_escalation(&self, reason: &str) {
        self.escalations.with_label_values(&[reason]).inc();
    }

    /// Counts one decision that needs no reply.
    pub fn observe_no_reply(&self, reason: &str) {
        self.no_replies.with_label_values(&[reason]).inc();
    }

    /// Counts one inquiry of mixed tiers routed whole to `queue`.
    pub fn observe_mixed_tiers(&self, queue: &str) {
        self.mixed_tiers.with_label_values(&[queue]).inc();
    }

    /// Counts the audit records and decisions one retention sweep removed.
    pub fn observe_retention(&self, audit_records: u64, decisions: u64) {
        self.retention_removed
            .with_label_values(&["audit"])
            .inc_by(audit_records);
        self.retention_removed
            .with_label_values(&["decision"])
            .inc_by(decisions);
    }

    /// Counts one request refused as unauthenticated, from `source` (unknown when `None`);
    /// returns how many that source and reason have had.
    pub fn observe_auth_failure(&self, source: Option<IpAddr>, reason: &str) -> u64 {
        let source = match source {
            None => "unknown".to_owned(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let prefix = v6.segments();
                    format!(
                        "{:x}:{:x}:{:x}:{:x}::/64",
                        prefix[0], prefix[1], prefix[2], prefix[3]
                    )
                }
            },
        };
        let label = {
            let mut sources = self
                .auth_failure_sources
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if sources.contains(&source) || sources.len() < AUTH_FAILURE_SOURCES {
                sources.insert(source.clone());
                source
            } else {
                "other".to_owned()
            }
        };
        let counter = self.auth_failures.with_label_values(&[&label, reason]);
        counter.inc();
        counter.get()
    }

    /// Brings the dead-lettered count of `queue` up to `total`, the queue's own count since
    /// the process started (the queue counts them as they happen; this reads it).
    pub fn count_dead_lettered(&self, queue: &str, total: u64) {
        let counter = self.dead_lettered.with_label_values(&[queue]);
        counter.inc_by(total.saturating_sub(counter.get()));
    }

    /// Counts a rating recorded (by its queue, `(automatic)` for an automatic answer, its
    /// source and its scores) and logs it.
    pub fn observe_rating(&self, record: &crate::feedback::FeedbackRecord) {
        let queue = record
            .queue
            .as_deref()
            .unwrap_or(crate::feedback::AUTOMATIC);
        let source = record.source.as_str();
        self.feedback.with_label_values(&[queue, source]).inc();
        self.feedback_csat
            .with_label_values(&[queue, &record.rating.csat.to_string()])
            .inc();
        if let Some(ces) = record.rating.ces {
            self.feedback_ces
                .with_label_values(&[queue, &ces.to_string()])
                .inc();
        }
        tracing::info!(
            inquiry_id = %record.inquiry_id,
            source,
            csat = record.rating.csat,
            ces = record.rating.ces,
            changes = record.changes,
            "rating recorded"
        );
    }

    /// Counts one request of `token` refused for its `limit`.
    pub fn observe_limited(&self, token: &str, limit: &str) {
        self.limited.with_label_values(&[token, limit]).inc();
    }

    /// Sets the queue gauges.
    pub fn set_queue(&self, gauges: &QueueGauges<'_>) {
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let labels = [gauges.queue];
        self.queue_ready
            .with_label_values(&labels)
            .set(as_i64(gauges.ready));
        self.queue_leased
            .with_label_values(&labels)
            .set(as_i64(gauges.leased));
        self.queue_dead_letters
            .with_label_values(&labels)
            .set(as_i64(gauges.dead_letters));
        self.queue_sla_breaches
            .with_label_values(&labels)
            .set(as_i64(gauges.sla_breaches));
        self.queue_oldest_age
            .with_label_values(&labels)
            .set(gauges.oldest_ready_age.map_or(0.0, |age| age.as_secs_f64()));
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves `GET /metrics` (anything else is 404) on `listener`, over `tls` when given, until
/// the task is dropped.
pub async fn serve_metrics(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    metrics: Arc<Metrics>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => respond(stream, &metrics).await,
                Some(tls) => {
                    if let Ok(stream) = tls.accept(Protocol::Http1, stream).await {
                        respond(stream, &metrics).await;
                    }
                }
            }
        });
    }
}

/// Answers the one request of a connection.
async fn respond(mut stream: impl AsyncRead + AsyncWrite + Unpin, metrics: &Metrics) {
    let mut request = [0u8; 1024];
    let Ok(read) = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut request)).await
    else {
        return;
    };
    let head = String::from_utf8_lossy(&request[..read.unwrap_or(0)]);
    let (status, body) = if head.starts_with("GET /metrics ") {
        ("200 OK", metrics.render())
    } else {
        (
            "404 Not Found",
            "not found; metrics are at /metrics\n".to_owned(),
        )
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Observed requests, decisions and queue figures appear in the text format; the
    /// dead-lettered count follows the queue's total, not the sum of its readings.
    #[test]
    fn renders_what_was_observed() {
        let metrics = Metrics::new();
        metrics.observe_request("Submit", tonic::Code::Ok, Duration::from_micros(300));
        metrics.observe_decision("expert", "seo_strategy", "seo");
        metrics.observe_escalation("language_not_covered");
        metrics.observe_no_reply("closing_remark");
        metrics.observe_mixed_tiers("design");
        metrics.observe_retention(2, 5);
        metrics.count_dead_lettered("billing", 2);
        metrics.count_dead_lettered("billing", 3);
        metrics.set_queue(&QueueGauges {
            queue: "seo",
            ready: 3,
            leased: 1,
            dead_letters: 0,
            oldest_ready_age: Some(Duration::from_secs(90)),
            sla_breaches: 1,
        });
        let text = metrics.render();
        assert!(
            text.contains("triage_requests_total{code=\"Ok\",rpc=\"Submit\"} 1"),
            "{text}"
        );
        assert!(text.contains(
            "triage_decisions_total{intent=\"seo_strategy\",target=\"seo\",tier=\"expert\"} 1"
        ));
        assert!(text.contains("triage_escalations_total{reason=\"language_not_covered\"} 1"));
        assert!(text.contains("triage_no_reply_total{reason=\"closing_remark\"} 1"));
        assert!(text.contains("triage_mixed_tier_total{queue=\"design\"} 1"));
        assert!(text.contains("triage_retention_removed_total{record=\"audit\"} 2"));
        assert!(text.contains("triage_retention_removed_total{record=\"decision\"} 5"));
        assert!(text.contains("triage_tickets_dead_lettered_total{queue=\"billing\"} 3"));
        assert!(text.contains("triage_queue_ready{queue=\"seo\"} 3"));
        assert!(text.contains("triage_queue_oldest_ready_age_seconds{queue=\"seo\"} 90"));
    }

    /// Authentication failures are counted by source: an IPv6 source by its /64, and past
    /// the cap every new source as `other`.
    #[test]
    fn auth_failure_sources_are_bounded() {
        let metrics = Metrics::new();
        let v6 = |last: u16| Some(IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, last]));
        metrics.observe_auth_failure(v6(1), "unknown");
        metrics.observe_auth_failure(v6(2), "unknown");
        for n in 0..AUTH_FAILURE_SOURCES as u32 {
            metrics.observe_auth_failure(
                Some(IpAddr::from(std::net::Ipv4Addr::from((10u32 << 24) | n))),
                "missing",
            );
        }
        let text = metrics.render();
        assert!(
            text.contains(
                "triage_auth_failures_total{reason=\"unknown\",source=\"2001:db8:1:2::/64\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("source=\"10.0.3.230\"}"),
            "the 999th source has its own series"
        );
        assert!(
            !text.contains("source=\"10.0.3.231\"}"),
            "the 1001st source has no series"
        );
        assert!(
            text.contains("triage_auth_failures_total{reason=\"missing\",source=\"other\"} 1"),
            "{text}"
        );
    }

    /// The endpoint answers GET /metrics with the text format and anything else with 404.
    #[tokio::test]
    async fn serves_metrics_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::new());
        metrics.observe_escalation("ambiguous");
        tokio::spawn(serve_metrics(listener, None, metrics));
        let get = |path: &'static str| async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            stream
                .write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            response
        };
        let ok = get("/metrics").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(
            ok.contains("triage_escalations_total{reason=\"ambiguous\"} 1"),
            "{ok}"
        );
        assert!(get("/other").await.starts_with("HTTP/1.1 404"));
    }
}
