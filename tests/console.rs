//! The console end to end in headless Chromium, driven through chromedriver (WebDriver): sign
//! in, claim, reply and resolve (and the reply reaching the client), reroute, dead letters, the
//! lead's live dashboard, presence, hostile client text, CSRF and queue refusals. Each test runs
//! its own server (embedded defaults in a temporary folder) and browser. Screenshots of the main
//! screens go to `target/console-screens/`.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and `chromium-driver`; `.ci/run`
//! installs them), hence the `browser` feature.

#![cfg(feature = "browser")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use common::{TestServer, agency_config};
use triage::config::{Role, TokenConfig};
use triage::helpdesk::{Caller, Status};
use triage::intake::{Channel, Inquiry};
use triage::web::{self, WebState};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The tokens of the test server: specialists of some queues, a lead, a frontend.
const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789";
const LEAD: &str = "lead-token-0123456789";
const WEB: &str = "web-token-0123456789";

/// A chromedriver on a port of its own, in a process group of its own with the Chromium it
/// starts; the group is killed when the driver is dropped, also by a test's panic, so no
/// browser outlives its test.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver and waits until it says it listens (no sleeps).
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (install Debian's chromium-driver)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line
                .expect("chromedriver's output")
                .contains("started successfully")
            {
                break;
            }
        }
        // Keep reading, so chromedriver never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Driver {
    /// The process group of chromedriver and its browsers: chromedriver's own id.
    fn group(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver, and the Chromium processes it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.group())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Killed processes are gone moments later: wait a little for the group to empty, so
        // the next test starts without them.
        for _ in 0..500 {
            if processes_in_group(self.group()).is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The processes of process group `group` still running (not zombies), from `/proc`.
fn processes_in_group(group: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": the name may hold spaces, so read after its ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str()) {
            found.push(pid);
        }
    }
    found
}

/// A server with the console, a chromedriver, and the browsers opened on them.
struct Console {
    server: TestServer,
    base: String,
    driver: Driver,
    browsers: Vec<Client>,
    _dir: tempfile::TempDir,
}

fn token(name: &str, token: &str, role: Role, queues: &[&str]) -> TokenConfig {
    let mut entry = TokenConfig::new(name, token, role);
    entry.queues = queues.iter().map(|q| q.to_string()).collect();
    entry
}

impl Console {
    /// The agency pack's server with the tokens above (changed by `adjust`) and its console.
    async fn start(adjust: impl FnOnce(&mut triage::config::Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = agency_config(&dir.path().join("var"));
        config.tokens = vec![
            token("alice", ALICE, Role::Specialist, &["seo", "webdev"]),
            token("bob", BOB, Role::Specialist, &["seo"]),
            token("lead", LEAD, Role::Admin, &[]),
            token("web", WEB, Role::Submitter, &[]),
        ];
        adjust(&mut config);
        let server = TestServer::start(config).await;
        let router = web::router(WebState::new(
            Arc::clone(&server.app.helpdesk),
            Arc::clone(&server.app.metrics),
            Arc::clone(&server.app.auth),
            false,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(web::serve(listener, None, router));
        Self {
            server,
            base: format!("http://{address}"),
            driver: Driver::start(),
            browsers: Vec::new(),
            _dir: dir,
        }
    }

    /// A new headless browser window of 1280 × 800, signed in with `token`.
    async fn signed_in(&mut self, token: &str) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,800"],
            }),
        );
        let browser = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.driver.url)
            .await
            .expect("a chromium session");
        self.browsers.push(browser.clone());
        browser
            .goto(&format!("{}/console", self.base))
            .await
            .unwrap();
        browser
            .find(Locator::Id("token"))
            .await
            .unwrap()
            .send_keys(token)
            .await
            .unwrap();
        click(&browser, "form button[type=submit]").await;
        wait_for(&browser, "header .who").await;
        browser
    }

    /// Submits `body` for acme as inquiry `id` on the web channel (as its frontend would) and
    /// waits until it is durable.
    async fn submit(&self, id: &str, body: &str) {
        let web = Caller::new(
            "web".into(),
            triage::helpdesk::Role::Submitter,
            vec![],
            vec![],
        );
        let inquiry = Inquiry {
            inquiry_id: id.into(),
            client_id: "acme".into(),
            channel: Channel::Web,
            subject: String::new(),
            body: body.into(),
            received_ms: self.server.app.helpdesk.now_ms(),
            in_reply_to: None,
            sender: None,
            attachments: Vec::new(),
            handoff_reason: None,
        };
        self.server
            .app
            .helpdesk
            .submit(&web, inquiry)
            .await
            .unwrap();
        self.server.app.helpdesk.flush().await.unwrap();
    }

    /// Rates the answer to inquiry `id` as its client would, through the API.
    async fn rate(&self, id: &str, csat: u8, ces: Option<u8>) {
        let web = Caller::new(
            "web".into(),
            triage::helpdesk::Role::Submitter,
            vec![],
            vec![],
        );
        let rating = triage::feedback::Rating {
            csat,
            ces,
            comment: None,
        };
        self.server
            .app
            .helpdesk
            .rate(&web, id, rating, triage::feedback::Source::Api)
            .await
            .unwrap();
    }

    /// Where inquiry `id` stands.
    async fn status(&self, id: &str) -> triage::helpdesk::InquiryState {
        self.server
            .app
            .helpdesk
            .inquiry(&Caller::local_admin(), id)
            .await
            .unwrap()
    }

    async fn close(mut self) {
        for browser in self.browsers.drain(..) {
            let _ = browser.close().await;
        }
        drop(self.driver);
        self.server.stop().await;
    }
}

/// Waits until `css` matches an element of the page; the element.
async fn wait_for(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .forever()
        .every(Duration::from_millis(50))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
}

/// Waits until an element the XPath step `element` matches (`p`, `section[@id='x']`) holds `text`.
async fn wait_for_text(browser: &Client, element: &str, text: &str) {
    let xpath = format!("//{element}[contains(., {})]", xpath_literal(text));
    browser
        .wait()
        .forever()
        .every(Duration::from_millis(50))
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap();
}

fn xpath_literal(text: &str) -> String {
    assert!(!text.contains('"'), "{text}");
    format!("\"{text}\"")
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn fill(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// The text of the first element `css` matches.
async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Narrows `browser` to 420 px and asserts that its page does not scroll sideways.
async fn assert_fits_a_narrow_window(browser: &Client) {
    browser.set_window_size(420, 800).await.unwrap();
    let width = browser
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (width[0].as_u64().unwrap(), width[1].as_u64().unwrap());
    assert!(scroll <= inner, "no sideways scrolling: {scroll} > {inner}");
}

/// Saves what `browser` shows as `target/console-screens/<name>.png`.
async fn screenshot(browser: &Client, name: &str) {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screens");
    std::fs::create_dir_all(&folder).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
}

/// The HTTP status of a request the page makes itself (with its cookies) to `path`, posting
/// `body` as a form when given.
async fn fetch_status(browser: &Client, path: &str, body: Option<&str>) -> u64 {
    let script = "const [path, body] = arguments; \
        const init = body === null ? {} : {method: 'POST', body, \
            headers: {'content-type': 'application/x-www-form-urlencoded'}}; \
        return fetch(path, init).then(response => response.status);";
    browser
        .execute(script, vec![json!(path), json!(body)])
        .await
        .unwrap()
        .as_u64()
        .unwrap()
}

/// The CSRF token of the page's forms.
async fn page_csrf(browser: &Client) -> String {
    browser
        .find(Locator::Css("input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap()
}

const SEO_QUESTION: &str = "why did our google rankings drop after the migration?";

/// A specialist signs in, sees the queue, claims the ticket (thread, client, decision), replies
/// and resolves it; the reply reaches the client through the inquiry's channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_specialist_claims_replies_and_the_reply_reaches_the_client() {
    let mut console = Console::start(|_| {}).await;
    console.submit("q1", SEO_QUESTION).await;
    let alice = console.signed_in(ALICE).await;
    screenshot(&alice, "queues").await;
    assert_eq!(text_of(&alice, "h1").await, "My queues");
    let queues = text_of(&alice, "table.queues").await;
    assert!(
        queues.contains("seo") && queues.contains("webdev"),
        "{queues}"
    );
    assert!(!queues.contains("billing"), "{queues}");

    click(&alice, "form[action='/console/queues/seo/claim'] button").await;
    wait_for(&alice, "#resolve-form").await;
    screenshot(&alice, "ticket").await;
    let thread = text_of(&alice, "#ticket-state").await;
    assert!(thread.contains(SEO_QUESTION), "{thread}");
    assert!(thread.contains("Held by you"), "{thread}");
    let client = text_of(&alice, "section[aria-labelledby=client-heading]").await;
    assert!(
        client.contains("Tier") && client.contains("Account manager"),
        "{client}"
    );
    assert!(
        client.contains("Account manager email") && !client.contains("account_manager_email"),
        "field names read as labels: {client}"
    );
    let decision = text_of(&alice, "section[aria-labelledby=decision-heading]").await;
    assert!(decision.contains("seo_strategy"), "{decision}");
    assert!(decision.contains("Weighted terms") && decision.contains("Nearest examples"));

    // The queue's canned reply, by its code, then words of her own.
    fill(&alice, "#reply", ";audit ").await;
    fill(&alice, "#reply", " The old URLs were not redirected.").await;
    let reply = "Thank you for raising this. We will run a technical SEO audit of the affected \
        pages this week and send you the findings with the fixes we recommend. The old URLs were \
        not redirected.";
    fill(&alice, "#note", "checked the redirect map").await;
    click(&alice, "#resolve-form button[type=submit]").await;
    wait_for_text(&alice, "h1", "My queues").await;

    let state = console.status("q1").await;
    assert!(
        matches!(state.status, Status::Resolved { .. }),
        "{:?}",
        state.status
    );
    assert_eq!(state.replies.len(), 1);
    assert_eq!(state.replies[0].reply.text, reply);
    assert_eq!(state.replies[0].reply.channel, Channel::Web);
    let ticket_id = state.ticket_id.unwrap();
    let audit = console
        .server
        .app
        .helpdesk
        .audit(ticket_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(audit.holder, "alice");
    assert_eq!(audit.note.as_deref(), Some("checked the redirect map"));
    console.close().await;
}

/// A claim by keyboard shortcut; rerouting moves the ticket to the chosen queue with the
/// correction kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerouting_moves_the_ticket_with_its_correction() {
    let mut console = Console::start(|_| {}).await;
    console.submit("q1", SEO_QUESTION).await;
    let alice = console.signed_in(ALICE).await;
    // The shortcut `c` claims the next ticket of the first queue (seo); `?` lists it.
    alice
        .active_element()
        .await
        .unwrap()
        .send_keys("?")
        .await
        .unwrap();
    let sheet = text_of(&alice, "#shortcuts").await;
    assert!(sheet.contains("Claim the next ticket"), "{sheet}");
    screenshot(&alice, "shortcuts").await;
    alice
        .active_element()
        .await
        .unwrap()
        .send_keys("c")
        .await
        .unwrap();
    wait_for(&alice, "#to_queue").await;
    alice
        .find(Locator::Css("#to_queue"))
        .await
        .unwrap()
        .select_by_value("webdev")
        .await
        .unwrap();
    fill(
        &alice,
        "#reroute-reason",
        "the migration broke the site's redirects",
    )
    .await;
    click(&alice, "form[action$='/reroute'] button").await;
    wait_for_text(&alice, "h1", "My queues").await;

    let state = console.status("q1").await;
    assert_eq!(
        state.status,
        Status::Queued {
            queue: "webdev".into()
        }
    );
    let corrections = console.server.app.helpdesk.corrections().await.unwrap();
    assert_eq!(corrections.len(), 1, "{corrections:?}");
    console.close().await;
}

/// A form whose CSRF token is removed is refused (403) and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_is_refused() {
    let mut console = Console::start(|_| {}).await;
    console.submit("q1", SEO_QUESTION).await;
    let alice = console.signed_in(ALICE).await;
    let status = fetch_status(&alice, "/console/queues/seo/claim", Some("")).await;
    assert_eq!(status, 403);
    let wrong = fetch_status(&alice, "/console/queues/seo/claim", Some("csrf=0000")).await;
    assert_eq!(wrong, 403);
    alice
        .execute(
            "document.querySelector(\"form[action='/console/queues/seo/claim'] input[name=csrf]\").remove();",
            vec![],
        )
        .await
        .unwrap();
    click(&alice, "form[action='/console/queues/seo/claim'] button").await;
    wait_for_text(&alice, "p", "did not carry this session's security token").await;
    assert_eq!(
        console.status("q1").await.status,
        Status::Queued {
            queue: "seo".into()
        },
        "nothing was claimed"
    );
    console.close().await;
}

/// A specialist can neither open nor claim from a queue not theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_specialist_is_refused_another_queue() {
    let mut console = Console::start(|_| {}).await;
    console.submit("q1", SEO_QUESTION).await;
    let seo_ticket = console.status("q1").await.ticket_id.unwrap();
    console
        .submit(
            "q2",
            "our website checkout page shows a 500 error since this morning",
        )
        .await;
    let webdev_ticket = console.status("q2").await;
    assert_eq!(
        webdev_ticket.status,
        Status::Queued {
            queue: "webdev".into()
        }
    );
    let bob = console.signed_in(BOB).await;
    let csrf = page_csrf(&bob).await;
    let claim = fetch_status(
        &bob,
        "/console/queues/webdev/claim",
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(claim, 403);
    let path = format!("/console/tickets/{}", webdev_ticket.ticket_id.unwrap());
    assert_eq!(fetch_status(&bob, &path, None).await, 403);
    assert_eq!(fetch_status(&bob, "/console/lead", None).await, 403);
    assert_eq!(
        fetch_status(&bob, &format!("/console/tickets/{seo_ticket}"), None).await,
        200,
        "a ticket of bob's own queue opens"
    );
    bob.goto(&format!("{}{path}", console.base)).await.unwrap();
    wait_for_text(&bob, "p", "may not work on queue").await;
    console.close().await;
}

/// Client text with a script, an image's onerror and a javascript: link shows as text and runs
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_markup_renders_inert() {
    let mut console = Console::start(|_| {}).await;
    let hostile = "why did our google rankings drop? <script>window.pwned = 'script'</script> \
        <img src=x onerror=\"window.pwned = 'onerror'\"> \
        <a href=\"javascript:window.pwned = 'link'\">see here</a>";
    console.submit("q1", hostile).await;
    let alice = console.signed_in(ALICE).await;
    click(&alice, "form[action='/console/queues/seo/claim'] button").await;
    wait_for(&alice, "#resolve-form").await;
    screenshot(&alice, "ticket-hostile-text").await;
    let body = text_of(&alice, ".message .body").await;
    assert!(
        body.contains("<script>window.pwned = 'script'</script>"),
        "{body}"
    );
    assert!(body.contains("<img src=x onerror="), "{body}");
    let planted = alice
        .execute(
            "return [typeof window.pwned, \
                     document.querySelectorAll('.message script, .message img, .message a').length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(planted, json!(["undefined", 0]));
    assert!(alice.get_alert_text().await.is_err(), "no alert is open");
    console.close().await;
}

/// The lead's dashboard counts a new inquiry without a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leads_dashboard_follows_a_submit_without_reload() {
    let mut console = Console::start(|_| {}).await;
    let lead = console.signed_in(LEAD).await;
    wait_for_text(&lead, "h1", "Lead dashboard").await;
    assert_eq!(text_of(&lead, "tr[data-queue=seo] .ready-count").await, "0");
    assert_eq!(text_of(&lead, "#today-total").await, "0");
    lead.execute("window.samePage = true;", vec![])
        .await
        .unwrap();

    let mut triage = console.server.triage().await;
    triage
        .submit(common::with_token(
            WEB,
            common::inquiry("q1", "acme", SEO_QUESTION),
        ))
        .await
        .unwrap();
    wait_for(&lead, "text[data-queue=seo][data-ready='1']").await;
    assert_eq!(text_of(&lead, "tr[data-queue=seo] .ready-count").await, "1");
    wait_for(&lead, "#today-total[data-count='1']").await;
    wait_for(&lead, "#today-tier text[data-key=expert][data-value='1']").await;
    wait_for(&lead, "#today-channel text[data-key=web][data-value='1']").await;
    let same = lead
        .execute("return window.samePage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!(true), "the page was not reloaded");

    // A busier day for the screenshots: answers, tickets, a closing remark and ratings.
    let day = [
        ("d1", "when will the final report be ready?"),
        ("d2", "is invoice 1042 paid?"),
        ("d3", "what should the SEO report focus on?"),
        ("d4", "thanks, that's all!"),
        ("d5", "when is the next milestone due?"),
        (
            "d6",
            "can you integrate our booking system with the new site?",
        ),
    ];
    for (id, body) in day {
        console.submit(id, body).await;
    }
    console.rate("d1", 5, Some(6)).await;
    console.rate("d2", 4, Some(5)).await;
    wait_for(&lead, "#today-total[data-count='7']").await;
    let deflection = text_of(&lead, "#today-deflection").await;
    assert!(deflection.ends_with('%'), "{deflection}");
    lead.refresh().await.unwrap();
    wait_for(&lead, "#ratings-csat rect").await;
    screenshot(&lead, "lead-dashboard").await;
    lead.execute("document.getElementById('today').scrollIntoView();", vec![])
        .await
        .unwrap();
    screenshot(&lead, "lead-dashboard-today").await;
    lead.execute(
        "document.getElementById('ratings').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&lead, "lead-dashboard-ratings").await;
    assert_fits_a_narrow_window(&lead).await;
    lead.execute("document.getElementById('today').scrollIntoView();", vec![])
        .await
        .unwrap();
    screenshot(&lead, "lead-dashboard-narrow").await;
    console.close().await;
}

/// Dead letters show on the lead's dashboard; one is redriven back to its queue, the other
/// discarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_redriven_and_discarded_from_the_dashboard() {
    let mut console = Console::start(|config| config.max_deliveries = 1).await;
    console.submit("q1", SEO_QUESTION).await;
    console
        .submit(
            "q2",
            "which search terms should our new blog pages rank for?",
        )
        .await;
    let helpdesk = Arc::clone(&console.server.app.helpdesk);
    let admin = Caller::local_admin();
    for _ in 0..2 {
        helpdesk.claim(&admin, "seo", None).await.unwrap().unwrap();
    }
    // Both leases run out; the next claim finds both at their last delivery.
    console.server.clock.advance(3_600_000);
    assert!(helpdesk.claim(&admin, "seo", None).await.unwrap().is_none());
    let (first, second) = (
        console.status("q1").await.ticket_id.unwrap(),
        console.status("q2").await.ticket_id.unwrap(),
    );

    let lead = console.signed_in(LEAD).await;
    wait_for(&lead, &format!("#dead-{first}")).await;
    wait_for(&lead, &format!("#dead-{second}")).await;
    lead.execute(
        "document.getElementById('dead-letters').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&lead, "dead-letters").await;
    fill(
        &lead,
        &format!("#redrive-{first}"),
        "the lease ran out during an outage",
    )
    .await;
    click(
        &lead,
        &format!("#dead-{first} form[action$='/redrive'] button"),
    )
    .await;
    wait_for_text(&lead, "h1", "Lead dashboard").await;
    fill(
        &lead,
        &format!("#discard-{second}"),
        "asked again in another ticket",
    )
    .await;
    click(
        &lead,
        &format!("#dead-{second} form[action$='/discard'] button"),
    )
    .await;
    wait_for_text(
        &lead,
        "section[@id='dead-letters']",
        "None: every ticket is in circulation",
    )
    .await;

    assert_eq!(
        console.status("q1").await.status,
        Status::Queued {
            queue: "seo".into()
        }
    );
    assert_eq!(console.status("q2").await.status, Status::Closed);
    let actions = helpdesk.dead_letter_actions(&admin).await.unwrap();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(
        actions.iter().all(|action| action.actor == "lead"),
        "{actions:?}"
    );
    console.close().await;
}

/// Two specialists on one ticket see each other, live, and the holder sees a banner when a
/// lead's reroute or a follow-up changes it under them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_specialists_see_each_other_on_a_ticket() {
    let mut console = Console::start(|_| {}).await;
    console.submit("q1", SEO_QUESTION).await;
    let ticket_id = console.status("q1").await.ticket_id.unwrap();
    let alice = console.signed_in(ALICE).await;
    click(&alice, "form[action='/console/queues/seo/claim'] button").await;
    wait_for(&alice, "#resolve-form").await;
    assert!(text_of(&alice, "#presence").await.contains("No one else"));

    let bob = console.signed_in(BOB).await;
    bob.goto(&format!("{}/console/tickets/{ticket_id}", console.base))
        .await
        .unwrap();
    wait_for_text(&bob, "p[@id='presence']", "alice").await;
    wait_for_text(&alice, "p[@id='presence']", "bob").await;
    let lock = text_of(&bob, ".lock").await;
    assert!(
        lock.contains("Held by alice") && lock.contains("soft lock"),
        "{lock}"
    );
    assert!(
        bob.find(Locator::Css("#resolve-form")).await.is_err(),
        "only the holder gets the forms"
    );
    screenshot(&alice, "presence").await;

    bob.goto(&format!("{}/console/queues", console.base))
        .await
        .unwrap();
    wait_for_text(&alice, "p[@id='presence']", "No one else").await;
    console.close().await;
}

/// The queue list stays usable in a narrow window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_list_fits_a_narrow_window() {
    let mut console = Console::start(|_| {}).await;
    console.submit("q1", SEO_QUESTION).await;
    let alice = console.signed_in(ALICE).await;
    assert_fits_a_narrow_window(&alice).await;
    screenshot(&alice, "queues-narrow").await;
    console.close().await;
}

/// The queue list shows who has each ticket of the specialist's queues open, live: a
/// colleague opening a ticket appears there without a reload, and leaving it, disappears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_list_shows_who_is_viewing_each_ticket() {
    let mut console = Console::start(|_| {}).await;
    console.submit("q1", SEO_QUESTION).await;
    let ticket_id = console.status("q1").await.ticket_id.unwrap();
    let bob = console.signed_in(BOB).await;
    wait_for_text(&bob, "h1", "My queues").await;
    assert!(
        text_of(&bob, "#viewed")
            .await
            .contains("No one has a ticket")
    );

    let alice = console.signed_in(ALICE).await;
    click(&alice, "form[action='/console/queues/seo/claim'] button").await;
    wait_for(&alice, "#resolve-form").await;
    let row = format!("#viewed li[data-ticket='{ticket_id}']");
    wait_for(&bob, &row).await;
    let seen = text_of(&bob, &row).await;
    assert!(
        seen.contains("viewed by alice") && seen.contains("held by alice"),
        "{seen}"
    );
    screenshot(&bob, "queues-presence").await;

    alice
        .goto(&format!("{}/console/queues", console.base))
        .await
        .unwrap();
    wait_for_text(&bob, "section[@id='viewed']", "No one has a ticket").await;
    console.close().await;
}

/// A specialist with a ticket open sees the banner when a follow-up from the client joins it,
/// without a reload, and the follow-up in the thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_shows_the_changed_under_you_banner() {
    let mut console = Console::start(|_| {}).await;
    console.submit("q1", SEO_QUESTION).await;
    let alice = console.signed_in(ALICE).await;
    click(&alice, "form[action='/console/queues/seo/claim'] button").await;
    wait_for(&alice, "#resolve-form").await;
    assert!(
        alice
            .find(Locator::Css("#banner"))
            .await
            .unwrap()
            .attr("hidden")
            .await
            .unwrap()
            .is_some(),
        "no banner before any change"
    );
    alice
        .execute("window.samePage = true;", vec![])
        .await
        .unwrap();

    let follow_up = "also, the blog pages lost their rankings too";
    let mut request = common::inquiry("q2", "acme", follow_up);
    request.inquiry.as_mut().unwrap().in_reply_to = "q1".into();
    let mut triage = console.server.triage().await;
    triage
        .submit(common::with_token(WEB, request))
        .await
        .unwrap();
    wait_for_text(&alice, "div[@id='banner']", "changed while you had it open").await;
    wait_for_text(&alice, "section[@id='ticket-state']", follow_up).await;
    let same = alice
        .execute("return window.samePage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!(true), "the page was not reloaded");
    screenshot(&alice, "ticket-changed-banner").await;
    console.close().await;
}

/// A test that panics with a browser open leaves no chromedriver or Chromium behind: the
/// driver's guard kills its process group as the panic unwinds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_test_leaves_no_browser_running() {
    let (group_tx, group_rx) = std::sync::mpsc::channel();
    let panicked = tokio::spawn(async move {
        let mut console = Console::start(|_| {}).await;
        group_tx.send(console.driver.group()).unwrap();
        let _alice = console.signed_in(ALICE).await;
        assert!(
            !processes_in_group(console.driver.group()).is_empty(),
            "chromedriver and Chromium run while the test does"
        );
        panic!("a failing browser test");
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());
    let group = group_rx.recv().unwrap();
    assert_eq!(processes_in_group(group), Vec::<u32>::new());
}
