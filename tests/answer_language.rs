//! Answers for the stakeholder, end to end: mails from a distributor client's contacts reach a
//! server on the distributor pack through the email worker, and each reply is written in the
//! mail's language with the contact's role wording (finance: amounts and due dates first;
//! logistics: the delivery window and carrier), while the decision says which variant was
//! used and why.

mod common;

use std::path::Path;

use common::TestServer;
use common::ingest::{deliver, mail, no_guard, options, records_by_file};
use triage::mail::{MailOutcome, Maildir};
use triage::proto::v1::{AnswerVariant, GetInquiryRequest, decision};

/// The distributor pack.
fn distributor() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/distributor")
}

/// A server on the distributor pack with its committed model.
async fn distributor_server(dir: &Path) -> TestServer {
    TestServer::start(triage::config::Config {
        pack: distributor(),
        model: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/distributor")),
        backend: triage::config::Backend::embedded(dir.join("var")),
        metrics_listen: None,
        ..Default::default()
    })
    .await
}

/// The body of the reply the worker wrote to the mail with Message-ID `id`.
fn reply_text(root: &Path, id: &str) -> String {
    let raw = std::fs::read(root.join(format!("outbox/{id}.eml"))).expect("a reply");
    let reply = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("the reply parses");
    reply.body_text(0).expect("a text body").into_owned()
}

/// The variant the server's decision on `inquiry_id` says its answer is written in.
async fn answer_variant(server: &TestServer, inquiry_id: &str) -> AnswerVariant {
    // Answers are recorded without waiting for the store's next commit.
    server.app.helpdesk.flush().await.unwrap();
    let state = server
        .triage()
        .await
        .get_inquiry(GetInquiryRequest {
            inquiry_id: inquiry_id.to_owned(),
        })
        .await
        .expect("the inquiry is known")
        .into_inner();
    let decision = state.decision.expect("a decision");
    let Some(decision::Outcome::Answer(answer)) = decision.outcome else {
        panic!("{inquiry_id} was not answered: {decision:?}");
    };
    answer.variant.expect("the answer names its variant")
}

/// A Chinese mail from Huaxin's finance contact is answered in Chinese with the finance
/// wording; a Russian mail from Baltic Nordic's warehouse manager in Russian with the
/// logistics wording; the decisions say so and why. A Chinese question for the finance team
/// is acknowledged in Chinese.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_answered_in_their_language_and_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = distributor_server(dir.path()).await;
    let root = dir.path().join("Maildir");
    deliver(
        &root,
        "finance-zh.eml",
        &mail(
            Some("finance-zh@huaxin-trading.example"),
            "caiwu@huaxin-trading.example",
            "发票付款",
            "您好，请问发票INV-2026-0422现在是什么状态？付款截止日期是哪天？谢谢！",
        ),
    );
    deliver(
        &root,
        "logistics-ru.eml",
        &mail(
            Some("logistics-ru@balticnordic.example"),
            "warehouse@balticnordic.example",
            "Доставка",
            "Добрый день! Подскажите, пожалуйста, в какое окно ждать доставку по заказу \
             ORD-58281 и какой перевозчик её везёт? Заранее спасибо, склад.",
        ),
    );
    deliver(
        &root,
        "credit-zh.eml",
        &mail(
            Some("credit-zh@huaxin-trading.example"),
            "caiwu@huaxin-trading.example",
            "信用额度",
            "您好，我们希望把信用额度提高到80万元，请问需要提供哪些材料？",
        ),
    );
    let mut worker_options = options(server.addr);
    worker_options.guard = no_guard();
    let summary = common::ingest::worker(worker_options, &root)
        .run_maildir(&Maildir::open(&root).unwrap(), None, std::future::pending())
        .await
        .unwrap();
    assert_eq!(
        (summary.answered, summary.routed, summary.acknowledged),
        (2, 1, 1),
        "{summary:?}"
    );
    let acknowledgement = reply_text(&root, "credit-zh@huaxin-trading.example");
    assert!(
        acknowledgement.starts_with("感谢您的来信。Finance已受理（工单 "),
        "{acknowledgement}"
    );
    assert!(
        acknowledgement.contains("年") && acknowledgement.contains("星期"),
        "the due time written for people: {acknowledgement}"
    );
    let records = records_by_file(&root);
    for name in ["finance-zh.eml", "logistics-ru.eml"] {
        assert_eq!(records[name].outcome, MailOutcome::Answered, "{name}");
    }

    let finance = reply_text(&root, "finance-zh@huaxin-trading.example");
    assert!(
        finance.starts_with("应付金额 58,900.00 CNY，付款截止日期"),
        "{finance}"
    );
    assert!(finance.contains("INV-2026-0422"), "{finance}");
    assert!(
        finance.contains("年") && finance.contains("星期"),
        "{finance}"
    );
    let variant = answer_variant(&server, &records["finance-zh.eml"].inquiry_id).await;
    assert_eq!(
        (
            variant.language.as_str(),
            variant.language_source.as_str(),
            variant.role.as_str(),
            variant.role_wording,
            variant.contact.as_str(),
        ),
        (
            "zh",
            "inquiry",
            "finance",
            true,
            "caiwu@huaxin-trading.example"
        )
    );
    assert!(
        variant.reason.contains("the finance wording"),
        "{}",
        variant.reason
    );

    let logistics = reply_text(&root, "logistics-ru@balticnordic.example");
    assert!(
        logistics.starts_with("Окно доставки по заказу ORD-58281:"),
        "{logistics}"
    );
    assert!(logistics.contains("DSV Road"), "{logistics}");
    let variant = answer_variant(&server, &records["logistics-ru.eml"].inquiry_id).await;
    assert_eq!(
        (
            variant.language.as_str(),
            variant.role.as_str(),
            variant.role_wording,
        ),
        ("ru", "logistics", true)
    );
    server.stop().await;
}
