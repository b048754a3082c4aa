//! Rating answers end to end: the feedback page served by a real router on a bound port and
//! reached with a real HTTP/1.1 client, and the Feedback and FeedbackSummary RPCs of the same
//! server.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use common::{TestServer, agency_config, inquiry};
use triage::proto::v1 as pb;
use triage::web::{self, WebState};

const DAY_MS: i64 = 86_400_000;

/// The server, its feedback page's address and its public base URL.
struct Fixture {
    server: TestServer,
    page: SocketAddr,
    public_url: String,
    _dir: tempfile::TempDir,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = agency_config(&dir.path().join("var"));
    let public_url = config.public_base_url();
    let server = TestServer::start(config).await;
    let router = web::router(WebState::new(
        Arc::clone(&server.app.helpdesk),
        Arc::clone(&server.app.metrics),
        Arc::clone(&server.app.auth),
        false,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page = listener.local_addr().unwrap();
    tokio::spawn(web::serve(listener, None, router));
    Fixture {
        server,
        page,
        public_url,
        _dir: dir,
    }
}

/// Sends one request over HTTP/1.1; the status and the body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::<Bytes>::from(body.to_owned()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

impl Fixture {
    /// Submits `body` for acme as inquiry `id` and waits until its decision is committed.
    async fn submit(&self, id: &str, body: &str) -> pb::Decision {
        let response = self
            .server
            .triage()
            .await
            .submit(inquiry(id, "acme", body))
            .await
            .unwrap()
            .into_inner();
        self.server.app.helpdesk.flush().await.unwrap();
        response.decision.unwrap()
    }

    /// The path of the feedback link of acme's inquiry `id`.
    fn link_path(&self, id: &str) -> String {
        let link = self.server.app.helpdesk.feedback_link(id, "acme");
        link.strip_prefix(&self.public_url)
            .unwrap_or_else(|| panic!("{link} starts with {}", self.public_url))
            .to_owned()
    }
}

/// The link's page shows an accessible form; posting it records the rating (source `link`),
/// which the summary and the metrics then count; a comment's markup is kept as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rating_through_the_link_is_recorded() {
    let fixture = start().await;
    let answered = fixture
        .submit("w1", "when will the final report be ready?")
        .await;
    assert!(
        matches!(answered.outcome, Some(pb::decision::Outcome::Answer(_))),
        "{answered:?}"
    );
    let path = fixture.link_path("w1");

    let (status, form) = http(fixture.page, "GET", &path, "").await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("<form method=\"post\">"), "{form}");
    assert_eq!(form.matches("name=\"csat\"").count(), 5, "{form}");
    assert_eq!(form.matches("name=\"ces\"").count(), 7, "{form}");
    assert!(form.contains("<label for=\"comment\">"), "{form}");

    let (status, thanks) = http(
        fixture.page,
        "POST",
        &path,
        "csat=4&ces=6&comment=%3Cb%3Equick%3C%2Fb%3E",
    )
    .await;
    assert_eq!(status, 200, "{thanks}");
    assert!(thanks.contains("Your rating was recorded."), "{thanks}");

    let summary = fixture
        .server
        .triage()
        .await
        .feedback_summary(pb::FeedbackSummaryRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.by_intent.len(), 1, "{summary:?}");
    let group = &summary.by_intent[0];
    assert_eq!(group.key, "deliverable_eta");
    assert_eq!(
        (group.count, group.mean_csat, group.mean_ces),
        (1, 4.0, 6.0)
    );
    assert_eq!(
        (group.satisfied_share, group.easy_share, group.comments),
        (1.0, 1.0, 1)
    );
    assert_eq!(summary.by_queue[0].key, "(automatic)");
    let metrics = fixture.server.app.metrics.render();
    assert!(
        metrics.contains("triage_feedback_total{queue=\"(automatic)\",source=\"link\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("triage_feedback_csat_total{queue=\"(automatic)\",score=\"4\"} 1"),
        "{metrics}"
    );

    // The same inquiry rated again over gRPC: a change, counted.
    let changed = fixture
        .server
        .triage()
        .await
        .feedback(pb::FeedbackRequest {
            inquiry_id: "w1".into(),
            csat: 5,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((changed.changes, changed.queue.as_str()), (1, ""));

    // `triage feedback` prints the summary as tables by intent and by queue.
    let addr = format!("http://{}", fixture.server.addr);
    let output = tokio::task::spawn_blocking(move || {
        common::triage(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
            &["feedback", "--addr", &addr],
        )
    })
    .await
    .unwrap();
    let table = common::stdout_of_success(&output);
    assert!(table.starts_with("intent "), "{table}");
    let row = table
        .lines()
        .find(|line| line.starts_with("deliverable_eta"))
        .unwrap_or_else(|| panic!("no intent row: {table}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["deliverable_eta", "1", "5.00", "100", "%", "-", "-", "0"],
        "{table}"
    );
    assert!(table.contains("\nqueue "), "{table}");
    assert!(table.contains("(automatic)"), "{table}");
}

/// A forged token gets 403 and an expired one 410, each with a page saying so; a rating out
/// of range is shown the form again with what is wrong; an unanswered inquiry is refused; a
/// body over the limit is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_that_are_not_valid_are_refused() {
    let fixture = start().await;
    fixture
        .submit("w2", "when will the final report be ready?")
        .await;
    let path = fixture.link_path("w2");

    let (status, page) = http(fixture.page, "GET", "/feedback/bm90.c2lnbmVk", "").await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("not valid"), "{page}");
    let tampered = format!("{}x", path);
    assert_eq!(http(fixture.page, "POST", &tampered, "csat=5").await.0, 403);

    let (status, page) = http(fixture.page, "POST", &path, "csat=9").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");

    let big = format!("csat=5&comment={}", "x".repeat(web::MAX_BODY_BYTES));
    assert_eq!(http(fixture.page, "POST", &path, &big).await.0, 413);

    let queued = fixture
        .submit("w3", "what should our SEO strategy focus on next quarter?")
        .await;
    assert!(
        matches!(queued.outcome, Some(pb::decision::Outcome::Ticket(_))),
        "{queued:?}"
    );
    let (status, page) = http(fixture.page, "POST", &fixture.link_path("w3"), "csat=2").await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("not answered yet"), "{page}");

    fixture.server.clock.advance(29 * DAY_MS);
    let (status, page) = http(fixture.page, "GET", &path, "").await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("expired"), "{page}");
    assert_eq!(http(fixture.page, "POST", &path, "csat=5").await.0, 410);
}
