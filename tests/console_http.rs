//! The console's refusals over plain HTTP/1.1, without a browser: sign-in only with a valid
//! token and the form's own CSRF token, the session cookie's attributes, every POST refused
//! without the session's CSRF token, sign-out ending the session, the security headers.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use common::{TestServer, agency_config};
use triage::config::{Role, TokenConfig};
use triage::web::{self, WebState};

const ALICE: &str = "alice-token-0123456789";
const WEB: &str = "web-token-0123456789";

/// A response's status, headers and body.
struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: String,
}

impl Reply {
    /// The value of the cookie `name` this response sets, with its attributes.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value of the hidden `csrf` field of the page's first form.
    fn csrf(&self) -> String {
        let start = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[start..start + 64].to_owned()
    }
}

async fn start() -> (TestServer, SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(&dir.path().join("var"));
    let mut alice = TokenConfig::new("alice", ALICE, Role::Specialist);
    alice.queues = vec!["seo".into()];
    config.tokens = vec![alice, TokenConfig::new("web", WEB, Role::Submitter)];
    let server = TestServer::start(config).await;
    let router = web::router(WebState::new(
        Arc::clone(&server.app.helpdesk),
        Arc::clone(&server.app.metrics),
        Arc::clone(&server.app.auth),
        false,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(web::serve(listener, None, router));
    (server, address, dir)
}

/// Sends one request with `cookies`, posting `form` when given.
async fn request(address: SocketAddr, path: &str, cookies: &[&str], form: Option<&str>) -> Reply {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut builder = hyper::Request::builder()
        .method(if form.is_some() { "POST" } else { "GET" })
        .uri(path)
        .header("host", address.to_string())
        .header("content-type", "application/x-www-form-urlencoded");
    if !cookies.is_empty() {
        builder = builder.header("cookie", cookies.join("; "));
    }
    let request = builder
        .body(Full::<Bytes>::from(form.unwrap_or_default().to_owned()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The `name=value` part of a Set-Cookie value.
fn pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

/// Signs in as alice; the session cookie (`name=value`) and the CSRF token of her pages.
async fn sign_in(address: SocketAddr) -> (String, String) {
    let form = request(address, "/console/sign-in", &[], None).await;
    let sign_in_cookie = form.set_cookie("triage_console_sign_in").unwrap();
    let body = format!("csrf={}&token={ALICE}", form.csrf());
    let signed = request(
        address,
        "/console/sign-in",
        &[pair(&sign_in_cookie)],
        Some(&body),
    )
    .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let session = pair(&signed.set_cookie("triage_console").unwrap()).to_owned();
    let queues = request(address, "/console/queues", &[&session], None).await;
    assert_eq!(queues.status, 200, "{}", queues.body);
    (session, queues.csrf())
}

/// Sign-in takes a valid token with the form's own CSRF token; the session cookie is HttpOnly
/// and SameSite=Strict; the token shows nowhere after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_needs_a_valid_token_and_the_forms_csrf_token() {
    let (server, address, _dir) = start().await;
    let form = request(address, "/console/sign-in", &[], None).await;
    assert_eq!(form.status, 200);
    let csp = form.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!form.body.contains("<script>"), "no inline script");
    let cookie = form.set_cookie("triage_console_sign_in").unwrap();
    let csrf = form.csrf();

    let without_cookie = format!("csrf={csrf}&token={ALICE}");
    let refused = request(address, "/console/sign-in", &[], Some(&without_cookie)).await;
    assert_eq!(refused.status, 403);
    let without_csrf = format!("token={ALICE}");
    let refused = request(
        address,
        "/console/sign-in",
        &[pair(&cookie)],
        Some(&without_csrf),
    )
    .await;
    assert_eq!(refused.status, 403);
    let wrong = format!("csrf={csrf}&token=not-a-token");
    let refused = request(address, "/console/sign-in", &[pair(&cookie)], Some(&wrong)).await;
    assert_eq!(refused.status, 401);
    let submitter = format!("csrf={csrf}&token={WEB}");
    let refused = request(
        address,
        "/console/sign-in",
        &[pair(&cookie)],
        Some(&submitter),
    )
    .await;
    assert_eq!(
        refused.status, 403,
        "a submitter's token does not open the console"
    );

    let good = format!("csrf={csrf}&token={ALICE}");
    let signed = request(address, "/console/sign-in", &[pair(&cookie)], Some(&good)).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.headers["location"], "/console");
    let session = signed.set_cookie("triage_console").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "no TLS here: {session}");
    let queues = request(address, "/console/queues", &[pair(&session)], None).await;
    assert!(!queues.body.contains(ALICE), "the token is not in the page");
    server.stop().await;
}

/// Every POST is refused without the session's CSRF token, and pages need a session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_sessions_csrf_token_are_refused() {
    let (server, address, _dir) = start().await;
    let (session, csrf) = sign_in(address).await;
    for path in [
        "/console/queues/seo/claim",
        "/console/tickets/1/release",
        "/console/dead-letters/1/redrive",
        "/console/sign-out",
    ] {
        let none = request(address, path, &[&session], Some("reason=x")).await;
        assert_eq!(none.status, 403, "{path}: {}", none.body);
        let wrong = request(
            address,
            path,
            &[&session],
            Some(&format!("csrf={}", "0".repeat(64))),
        )
        .await;
        assert_eq!(wrong.status, 403, "{path}");
        let no_session = request(address, path, &[], Some(&format!("csrf={csrf}"))).await;
        assert_eq!(no_session.status, 403, "{path}");
    }
    let anonymous = request(address, "/console/queues", &[], None).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.headers["location"], "/console/sign-in");

    // With its token the form goes through: the queue is empty, and the page says so.
    let claimed = request(
        address,
        "/console/queues/seo/claim",
        &[&session],
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(claimed.status, 200);
    assert!(
        claimed.body.contains("No ticket is ready on seo"),
        "{}",
        claimed.body
    );
    let other = request(
        address,
        "/console/queues/billing/claim",
        &[&session],
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(other.status, 403, "{}", other.body);

    let out = request(
        address,
        "/console/sign-out",
        &[&session],
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(out.status, 303);
    assert!(
        out.set_cookie("triage_console")
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = request(address, "/console/queues", &[&session], None).await;
    assert_eq!(after.status, 303, "the session ended");
    server.stop().await;
}
