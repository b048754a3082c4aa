//! The gRPC client commands `ask`, `queue …` and `feedback`, and the connection flags every client
//! command shares (the email worker and the bench included): the address, the token, and TLS.
//! The dead-letter commands are in `remote/dead_letters.rs`.

mod dead_letters;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use jiff::{SpanRound, Unit};
use tonic::Request;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use triage::proto::v1 as pb;
use triage::proto::v1::specialist_service_client::SpecialistServiceClient;
use triage::proto::v1::triage_service_client::TriageServiceClient;
use triage::route::LeaseToken;

/// Where the server is and who we are.
#[derive(Args, Clone)]
pub struct Connection {
    /// The server's address: `https://…` for TLS.
    #[arg(
        long,
        visible_alias = "server",
        default_value = "http://127.0.0.1:50051"
    )]
    pub addr: String,
    /// A bearer token (or TRIAGE_TOKEN).
    #[arg(long, env = "TRIAGE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM: the CA that signed the server's certificate; the system's roots when unset.
    #[arg(long, env = "TRIAGE_CA")]
    pub ca: Option<PathBuf>,
    /// PEM: our certificate, for a server that requires one (mutual TLS).
    #[arg(long, env = "TRIAGE_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM: the private key of --cert.
    #[arg(long, env = "TRIAGE_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
}

impl Connection {
    /// The server's endpoint, not yet connected: over TLS for an `https://` address.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let endpoint = Endpoint::from_shared(self.addr.clone()).context("invalid --addr")?;
        if !self.addr.starts_with("https://") {
            anyhow::ensure!(
                self.ca.is_none() && self.cert.is_none(),
                "--ca and --cert are for TLS: give the address as https://{}",
                self.addr.trim_start_matches("http://")
            );
            return Ok(endpoint);
        }
        let mut tls = ClientTlsConfig::new();
        tls = match &self.ca {
            Some(ca) => tls.ca_certificate(Certificate::from_pem(read_pem(ca, "--ca")?)),
            None => tls.with_native_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            tls = tls.identity(Identity::from_pem(
                read_pem(cert, "--cert")?,
                read_pem(key, "--key")?,
            ));
        }
        endpoint.tls_config(tls).context("TLS settings")
    }

    /// The `authorization` metadata of the token, if there is one.
    pub fn authorization(&self) -> Result<Option<MetadataValue<Ascii>>> {
        self.token
            .as_ref()
            .map(|token| {
                format!("Bearer {token}")
                    .parse()
                    .context("the token is not valid metadata")
            })
            .transpose()
    }

    pub async fn channel(&self) -> Result<Channel> {
        self.endpoint()?
            .connect()
            .await
            .with_context(|| format!("cannot connect to {}", self.addr))
    }

    pub fn request<T>(&self, message: T) -> Result<Request<T>> {
        let mut request = Request::new(message);
        if let Some(value) = self.authorization()? {
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

/// The contents of the PEM file given as `flag`.
fn read_pem(path: &Path, flag: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{flag}: cannot read {}", path.display()))
}

#[derive(Args)]
pub struct AskArgs {
    #[command(flatten)]
    connection: Connection,
    /// The client the inquiry is from.
    #[arg(long)]
    client: String,
    /// Who sent it (an email address): a contact of the client gets the answer in their
    /// language (unless the text is in another of the pack's) and role.
    #[arg(long)]
    sender: Option<String>,
    /// The inquiry id; a fresh one when unset.
    #[arg(long)]
    id: Option<String>,
    text: String,
}

#[derive(Args)]
pub struct InquiryArgs {
    #[command(flatten)]
    connection: Connection,
    /// The inquiry id (an email's Message-ID).
    id: String,
}

#[derive(Args)]
pub struct QueueArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    action: QueueAction,
}

/// Why a ticket is resolved without a reply.
#[derive(Clone, Copy, clap::ValueEnum)]
enum WhyNoReply {
    Duplicate,
    Spam,
    NoReplyNeeded,
}

impl From<WhyNoReply> for pb::NoReplyReason {
    fn from(reason: WhyNoReply) -> Self {
        match reason {
            WhyNoReply::Duplicate => Self::Duplicate,
            WhyNoReply::Spam => Self::Spam,
            WhyNoReply::NoReplyNeeded => Self::NoReplyNeeded,
        }
    }
}

#[derive(Subcommand)]
enum QueueAction {
    /// The queues with depth, oldest ticket age and SLA breaches.
    List,
    /// Lease the next ticket of a queue.
    Claim {
        queue: String,
        /// Lease length in seconds; the server's default when unset.
        #[arg(long)]
        lease: Option<u64>,
    },
    /// Extend a lease.
    Extend {
        ticket: u64,
        token: LeaseToken,
        #[arg(long)]
        lease: Option<u64>,
    },
    /// Close a ticket with a reply to the client (delivered through the inquiry's channel) or,
    /// with --no-reply, the reason there is none.
    Resolve {
        ticket: u64,
        token: LeaseToken,
        /// The answer to the client.
        #[arg(
            long,
            required_unless_present = "no_reply",
            conflicts_with = "no_reply"
        )]
        reply: Option<String>,
        /// Why the client gets no reply.
        #[arg(long, value_enum)]
        no_reply: Option<WhyNoReply>,
        /// An internal note for the audit, never shown to the client.
        #[arg(long)]
        note: Option<String>,
        /// How it was resolved, for the audit ("replied" or "no reply: …" when unset).
        #[arg(long)]
        outcome: Option<String>,
    },
    /// Hand a ticket back with a reason.
    Release {
        ticket: u64,
        token: LeaseToken,
        reason: String,
    },
    /// Move a ticket to the right queue.
    Reroute {
        ticket: u64,
        token: LeaseToken,
        to: String,
        reason: String,
    },
    /// The dead letters of a queue (tickets out of circulation after their last delivery),
    /// oldest first.
    DeadLetters { queue: String },
    /// Put a dead letter back ready, under the same ticket id, on its queue or another.
    Redrive {
        ticket: u64,
        /// The queue to put it on; its own when unset.
        #[arg(long)]
        to: Option<String>,
        /// Why (kept with who and when).
        #[arg(long)]
        reason: String,
    },
    /// Remove a dead letter for good.
    Discard {
        ticket: u64,
        /// Why (kept with who and when).
        #[arg(long)]
        reason: String,
    },
}

pub fn ask(args: AskArgs) -> Result<()> {
    crate::runtime()?.block_on(async {
        let mut client = TriageServiceClient::new(args.connection.channel().await?);
        let id = args.id.unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("ask-{nanos}")
        });
        let inquiry = pb::Inquiry {
            inquiry_id: id,
            client_id: args.client,
            sender: args.sender.unwrap_or_default(),
            channel: pb::Channel::Api.into(),
            body: args.text,
            ..pb::Inquiry::default()
        };
        let response = client
            .submit(args.connection.request(pb::SubmitRequest {
                inquiry: Some(inquiry),
            })?)
            .await?;
        let response = response.into_inner();
        let Some(decision) = response.decision else {
            anyhow::bail!("the server sent no decision")
        };
        let replayed = if response.replayed {
            " · replayed"
        } else {
            ""
        };
        if let Some(pb::decision::Outcome::NoReply(no_reply)) = &decision.outcome {
            // The model's intent means nothing for a text that needs no reply.
            println!("no reply needed: {}{replayed}", no_reply.reason);
            println!("model {}", decision.model_version);
            return Ok(());
        }
        println!(
            "{} ({:.1} %) · {}{replayed}",
            decision.intent,
            100.0 * decision.tier_confidence,
            if decision.tier == pb::Tier::Direct as i32 {
                "direct"
            } else {
                "expert"
            },
        );
        match decision.outcome {
            Some(pb::decision::Outcome::Answer(answer)) => {
                println!("answer: {}", answer.text);
                if let Some(variant) = &answer.variant {
                    println!("variant: {}", variant.reason);
                }
            }
            Some(pb::decision::Outcome::Ticket(ticket)) => {
                println!(
                    "ticket {} on queue {} (priority {})",
                    ticket.ticket_id, ticket.queue, ticket.priority
                );
                if !decision.escalation_reason.is_empty() {
                    println!("why a human: {}", decision.escalation_reason);
                }
                for answer in &ticket.prepared_answers {
                    println!("prepared for the specialist: {}", answer.text);
                }
                if let Some(told) = &response.acknowledgement {
                    let now = jiff::Timestamp::now();
                    println!("told the client: {}", told.text);
                    println!(
                        "team: {}, {}",
                        told.team,
                        sla_due(told.sla_due.as_ref(), now)?
                    );
                    match &told.expected_by {
                        Some(by) => println!(
                            "expected reply {} (by {})",
                            told.expected_wait,
                            Moment::of(by, now)?.utc
                        ),
                        None => {
                            println!("no expected wait told: too few recent answers on the queue, or told before")
                        }
                    }
                }
            }
            Some(pb::decision::Outcome::NoReply(_)) | None => println!("no outcome"),
        }
        for part in &decision.parts {
            println!(
                "clause \"{}\": {} ({:.1} %)",
                part.text,
                part.intent,
                100.0 * part.confidence
            );
        }
        println!("model {}", decision.model_version);
        Ok(())
    })
}

/// Shows what became of an inquiry: its state, the decision, its ticket and the replies sent.
pub fn inquiry(args: InquiryArgs) -> Result<()> {
    crate::runtime()?.block_on(async {
        let connection = &args.connection;
        let mut client = TriageServiceClient::new(connection.channel().await?);
        let state = client
            .get_inquiry(connection.request(pb::GetInquiryRequest {
                inquiry_id: args.id,
            })?)
            .await?
            .into_inner();
        let now = jiff::Timestamp::now();
        let status = pb::InquiryStatus::try_from(state.status)
            .map_or("unknown", |status| status.as_str_name())
            .trim_start_matches("INQUIRY_STATUS_")
            .to_lowercase()
            .replace('_', " ");
        println!("inquiry {}: {status}", state.inquiry_id);
        if let Some(decision) = &state.decision {
            println!(
                "client {}, intent {} ({:.1} %)",
                decision.client_id,
                decision.intent,
                100.0 * decision.intent_confidence
            );
            if let Some(pb::decision::Outcome::Ticket(ticket)) = &decision.outcome {
                println!(
                    "ticket {}, {}",
                    ticket.ticket_id,
                    sla_due(ticket.sla_due.as_ref(), now)?
                );
            }
            if let Some(pb::decision::Outcome::Answer(answer)) = &decision.outcome {
                println!("answered: {}", answer.text);
            }
        }
        if !state.queue.is_empty() {
            println!("queue {}", state.queue);
        }
        if state.lease_expires.is_some() {
            println!("{}", lease_expiry(state.lease_expires.as_ref(), now)?);
        }
        if let Some(resolved) = &state.resolved_at {
            println!("resolved {}", Moment::of(resolved, now)?.utc);
        }
        for reply in &state.replies {
            let sent = match &reply.sent_at {
                Some(at) => Moment::of(at, now)?.utc,
                None => String::new(),
            };
            println!(
                "\nreply {} sent {sent}, in reply to {}:",
                reply.seq, reply.in_reply_to
            );
            for line in reply.text.lines() {
                println!("  {line}");
            }
        }
        Ok(())
    })
}

/// A server time as the commands show it: its UTC minute, and how far it is from `now`
/// (negative once past), rounded to the minute.
struct Moment {
    utc: String,
    from_now: jiff::Span,
}

impl Moment {
    fn of(at: &prost_types::Timestamp, now: jiff::Timestamp) -> Result<Self> {
        let at = jiff::Timestamp::new(at.seconds, at.nanos)
            .context("the server sent a time out of range")?;
        let from_now = now.until(at)?.round(
            SpanRound::new()
                .largest(Unit::Day)
                .smallest(Unit::Minute)
                .days_are_24_hours(),
        )?;
        Ok(Self {
            utc: at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            from_now,
        })
    }

    /// `from_now` without its sign, as "1d 3h 12m".
    fn distance(&self) -> String {
        format!("{:#}", self.from_now.abs())
    }
}

/// "due 2026-12-06 14:00 UTC (in 3h 12m)", or "overdue by …" once past.
fn sla_due(due: Option<&prost_types::Timestamp>, now: jiff::Timestamp) -> Result<String> {
    let Some(due) = due else {
        return Ok("no SLA due time".to_owned());
    };
    let due = Moment::of(due, now)?;
    Ok(if due.from_now.is_negative() {
        format!("overdue by {} (due {})", due.distance(), due.utc)
    } else {
        format!("due {} (in {})", due.utc, due.distance())
    })
}

/// "lease expires 2026-12-06 14:00 UTC (in 5m)", or "lease expired … ago" once past.
fn lease_expiry(expires: Option<&prost_types::Timestamp>, now: jiff::Timestamp) -> Result<String> {
    let Some(expires) = expires else {
        return Ok("no lease expiry".to_owned());
    };
    let expires = Moment::of(expires, now)?;
    Ok(if expires.from_now.is_negative() {
        format!("lease expired {} ({} ago)", expires.utc, expires.distance())
    } else {
        format!("lease expires {} (in {})", expires.utc, expires.distance())
    })
}

fn lease(seconds: Option<u64>) -> Option<prost_types::Duration> {
    seconds.map(|s| prost_types::Duration {
        seconds: s as i64,
        nanos: 0,
    })
}

#[derive(Args)]
pub struct FeedbackArgs {
    #[command(flatten)]
    connection: Connection,
}

/// Prints the clients' ratings by intent and by queue, and how well the expected waits told
/// were kept (an admin token).
pub fn feedback(args: FeedbackArgs) -> Result<()> {
    crate::runtime()?.block_on(async {
        let connection = &args.connection;
        let mut client = TriageServiceClient::new(connection.channel().await?);
        let summary = client
            .feedback_summary(connection.request(pb::FeedbackSummaryRequest {})?)
            .await?
            .into_inner();
        print_feedback_groups("intent", &summary.by_intent);
        println!();
        print_feedback_groups("queue", &summary.by_queue);
        println!();
        print_wait_calibration(&summary.waits);
        Ok(())
    })
}

/// The expected waits told on each queue and how they fared, then a line per bucket told.
fn print_wait_calibration(queues: &[pb::WaitCalibration]) {
    println!(
        "{:<24} {:>7} {:>9} {:>7} {:>8} {:>7}",
        "expected waits", "told", "answered", "kept", "overdue", "kept"
    );
    if queues.is_empty() {
        println!("(no expected wait told since the server started)");
    }
    let line = |name: &str, score: &pb::WaitScore| {
        let share = if score.answered + score.overdue == 0 {
            "-".to_owned()
        } else {
            format!("{:.0} %", score.kept_share * 100.0)
        };
        println!(
            "{name:<24} {:>7} {:>9} {:>7} {:>8} {:>7}",
            score.told, score.answered, score.kept, score.overdue, share
        );
    };
    for queue in queues {
        let Some(score) = &queue.score else {
            continue;
        };
        line(&queue.queue, score);
        for bucket in &queue.by_bucket {
            if let Some(score) = &bucket.score {
                line(&format!("  {}", bucket.bucket), score);
            }
        }
    }
}

/// One table of rating groups, headed by what they are grouped by.
fn print_feedback_groups(by: &str, groups: &[pb::FeedbackGroup]) {
    println!(
        "{by:<24} {:>7} {:>6} {:>10} {:>6} {:>9} {:>9}",
        "ratings", "csat", "satisfied", "ces", "easy", "comments"
    );
    if groups.is_empty() {
        println!("(no ratings yet)");
    }
    let percent = |share: f64| format!("{:.0} %", share * 100.0);
    for group in groups {
        let (ces, easy) = if group.ces_count == 0 {
            ("-".to_owned(), "-".to_owned())
        } else {
            (format!("{:.2}", group.mean_ces), percent(group.easy_share))
        };
        println!(
            "{:<24} {:>7} {:>6.2} {:>10} {:>6} {:>9} {:>9}",
            group.key,
            group.count,
            group.mean_csat,
            percent(group.satisfied_share),
            ces,
            easy,
            group.comments
        );
    }
}

pub fn queue(args: QueueArgs) -> Result<()> {
    crate::runtime()?.block_on(async {
        let connection = &args.connection;
        let mut client = SpecialistServiceClient::new(connection.channel().await?);
        match args.action {
            QueueAction::List => {
                let queues = client
                    .list_queues(connection.request(pb::ListQueuesRequest {})?)
                    .await?
                    .into_inner()
                    .queues;
                let now = jiff::Timestamp::now();
                println!(
                    "{:<20} {:>6} {:>6} {:>5} {:>10} {:>8}  next ticket",
                    "queue", "ready", "leased", "dead", "oldest", "breaches"
                );
                for q in queues {
                    let oldest = q
                        .oldest_ready_age
                        .map_or_else(|| "-".to_owned(), |d| format!("{}s", d.seconds));
                    let next = match &q.next {
                        Some(next) => format!(
                            "priority {}, {}",
                            next.priority,
                            sla_due(next.sla_due.as_ref(), now)?
                        ),
                        None => "-".to_owned(),
                    };
                    println!(
                        "{:<20} {:>6} {:>6} {:>5} {:>10} {:>8}  {next}",
                        q.queue, q.ready, q.leased, q.dead_letters, oldest, q.sla_breaches
                    );
                }
            }
            QueueAction::Claim {
                queue,
                lease: seconds,
            } => {
                let claimed = client
                    .claim(connection.request(pb::ClaimRequest {
                        queue,
                        lease: lease(seconds),
                    })?)
                    .await?
                    .into_inner()
                    .ticket;
                match claimed {
                    None => println!("the queue is empty"),
                    Some(claimed) => {
                        let ticket = claimed.ticket.unwrap_or_default();
                        let inquiry = claimed.inquiry.unwrap_or_default();
                        let now = jiff::Timestamp::now();
                        println!(
                            "ticket {} (lease token {}, delivery {})",
                            ticket.ticket_id, claimed.lease_token, claimed.deliveries
                        );
                        println!(
                            "priority {}, {}",
                            ticket.priority,
                            sla_due(ticket.sla_due.as_ref(), now)?
                        );
                        println!("{}", lease_expiry(claimed.lease_expires.as_ref(), now)?);
                        let client = match inquiry.client_id.as_str() {
                            "" => "no known client".to_owned(),
                            id => format!("client {id}"),
                        };
                        let from = match inquiry.sender.as_str() {
                            "" => String::new(),
                            sender => format!(", from {sender}"),
                        };
                        println!(
                            "{client}{from}: {}",
                            [inquiry.subject, inquiry.body].join(" ").trim()
                        );
                        if !inquiry.attachments.is_empty() {
                            println!("attachments: {}", inquiry.attachments.join(", "));
                        }
                        if let Some(decision) = claimed.decision {
                            println!(
                                "classified {} ({:.1} %)",
                                decision.intent,
                                100.0 * decision.intent_confidence
                            );
                            if !decision.escalation_reason.is_empty() {
                                println!("why a human: {}", decision.escalation_reason);
                            }
                        }
                    }
                }
            }
            QueueAction::Extend {
                ticket,
                token,
                lease: seconds,
            } => {
                client
                    .extend(connection.request(pb::ExtendRequest {
                        ticket_id: ticket,
                        lease_token: token.to_string(),
                        lease: lease(seconds),
                    })?)
                    .await?;
                println!("extended");
            }
            QueueAction::Resolve {
                ticket,
                token,
                reply,
                no_reply,
                note,
                outcome,
            } => {
                let replied = reply.is_some();
                let resolved = client
                    .resolve(connection.request(pb::ResolveRequest {
                        ticket_id: ticket,
                        lease_token: token.to_string(),
                        outcome: outcome.unwrap_or_default(),
                        reply: reply.unwrap_or_default(),
                        internal_note: note.unwrap_or_default(),
                        no_reply_reason: no_reply.map_or(0, |r| pb::NoReplyReason::from(r).into()),
                    })?)
                    .await?
                    .into_inner();
                let at = match &resolved.resolved_at {
                    Some(at) => Moment::of(at, jiff::Timestamp::now())?.utc,
                    None => "an unknown time".to_owned(),
                };
                if replied {
                    println!("resolved at {at}; the reply goes to the client through its channel");
                } else {
                    println!("resolved at {at}, without a reply");
                }
            }
            QueueAction::Release {
                ticket,
                token,
                reason,
            } => {
                client
                    .release(connection.request(pb::ReleaseRequest {
                        ticket_id: ticket,
                        lease_token: token.to_string(),
                        reason,
                    })?)
                    .await?;
                println!("released");
            }
            QueueAction::Reroute {
                ticket,
                token,
                to,
                reason,
            } => {
                client
                    .reroute(connection.request(pb::RerouteRequest {
                        ticket_id: ticket,
                        lease_token: token.to_string(),
                        to_queue: to,
                        reason,
                    })?)
                    .await?;
                println!("rerouted");
            }
            QueueAction::DeadLetters { queue } => {
                dead_letters::list(&mut client, connection, queue).await?;
            }
            QueueAction::Redrive { ticket, to, reason } => {
                dead_letters::redrive(&mut client, connection, ticket, to, reason).await?;
            }
            QueueAction::Discard { ticket, reason } => {
                dead_letters::discard(&mut client, connection, ticket, reason).await?;
            }
        }
        Ok(())
    })
}
