//! Dates read at the inquiry's receive time: "next" and "latest", overdue records, the data's
//! age stated or refused, and sample data moved to the day it is loaded.

use super::{Pack, as_of, pack_dir};
use crate::answer::NoAnswer;
use crate::pack::StatusSettings;

fn at(text: &str) -> jiff::Timestamp {
    text.parse().expect("instant")
}

/// The agency pack with a week's notice turned into a month's, to ask about late November.
fn agency_for_a_month() -> Pack {
    let settings = StatusSettings {
        as_of_note_after_hours: 24,
        max_age_hours: 30 * 24,
        shift_to_today: false,
    };
    Pack::load_with("agency", &settings, as_of("agency"))
}

/// "Next" is the first meeting after the inquiry, not after the data's date.
#[test]
fn next_meeting_after_the_inquiry() {
    let agency = Pack::load("agency");
    let next = |when: &str| {
        agency
            .ask_at("acme", "next_meeting", "when's our next meeting?", at(when))
            .map(|answer| answer.entity_id.unwrap_or_default())
    };
    assert_eq!(next("2026-11-20T09:00:00Z"), Ok("M-305".into()));
    assert_eq!(next("2026-11-24T14:29:00Z"), Ok("M-305".into()));
    assert_eq!(next("2026-11-25T09:00:00Z"), Ok("M-309".into()));
    let answer = agency
        .ask_at(
            "acme",
            "next_meeting",
            "when's our next meeting?",
            at("2026-11-25T09:00:00Z"),
        )
        .expect("answered");
    assert_eq!(
        answer.text,
        "December SEO review is on Thursday 3 December 2026 at 10:00 UTC. Join here: \
         https://meet.agency.example/acme-seo This is what our records showed on Friday 20 \
         November 2026 at 09:00 UTC."
    );
    // Asked on 4 December, acme's last meeting on record is past: nothing is made up.
    assert!(matches!(
        agency_for_a_month().ask_at(
            "acme",
            "next_meeting",
            "when's our next meeting?",
            at("2026-12-04T09:00:00Z")
        ),
        Err(NoAnswer::NoneUpcoming { .. })
    ));
}

/// An unpaid invoice past its due date is overdue at the time of the inquiry; a paid one never.
#[test]
fn unpaid_invoices_past_due_are_overdue() {
    let agency = agency_for_a_month();
    let ask = |when: &str| {
        agency
            .ask_at("acme", "invoice_status", "is invoice 1042 paid?", at(when))
            .expect("answered")
            .text
    };
    assert!(
        ask("2026-11-30T18:00:00Z").starts_with(
            "Invoice INV-1042 (October SEO retainer) for 4,800.00 GBP was issued on Saturday 31 \
             October 2026 and is open; payment is due on Monday 30 November 2026."
        ),
        "{}",
        ask("2026-11-30T18:00:00Z")
    );
    assert!(
        ask("2026-12-04T09:00:00Z").starts_with(
            "Invoice INV-1042 (October SEO retainer) for 4,800.00 GBP was due on Monday 30 \
             November 2026 and is now overdue."
        ),
        "{}",
        ask("2026-12-04T09:00:00Z")
    );
    let paid = agency
        .ask_at(
            "acme",
            "invoice_status",
            "invoice 1038?",
            at("2026-12-04T09:00:00Z"),
        )
        .expect("answered");
    assert!(paid.text.contains("was paid on"), "{}", paid.text);
    // The missing answer lists the invoices as they stand at the time of the inquiry.
    let missing = agency
        .ask_at(
            "acme",
            "invoice_copy",
            "copy of INV-1043 please",
            at("2026-12-04T09:00:00Z"),
        )
        .expect("answered");
    assert!(
        missing
            .text
            .starts_with("We have no invoice INV-1043 on your account."),
        "{}",
        missing.text
    );
    let status = agency
        .ask_at(
            "acme",
            "invoice_status",
            "INV-1043?",
            at("2026-12-04T09:00:00Z"),
        )
        .expect("answered");
    assert!(
        status.text.contains("INV-1042 (overdue)"),
        "{}",
        status.text
    );
}

/// The distributor's partly paid and open invoices turn overdue the day after they are due.
#[test]
fn distributor_invoices_turn_overdue() {
    let distributor = Pack::load("distributor");
    let ask = |when: &str| {
        distributor
            .ask_at("huaxin", "invoice_status", "INV-2026-0440", at(when))
            .expect("answered")
            .text
    };
    assert!(ask("2026-12-07T12:00:00Z").contains("is open; payment is due on Monday 7 December"));
    assert!(
        ask("2026-12-08T00:00:01Z")
            .contains("was due on Monday 7 December 2026 and is now overdue")
    );
}

/// Data older than the pack's maximum age is not answered from; the reason says how old.
#[test]
fn stale_data_is_not_answered_from() {
    let agency = Pack::load("agency");
    assert_eq!(
        agency.ask_at(
            "acme",
            "deliverable_eta",
            "when will the final report be ready?",
            at("2026-12-04T09:00:00Z")
        ),
        Err(NoAnswer::StaleData {
            as_of: "Friday 20 November 2026 at 09:00 UTC".into(),
            age: "14 days".into(),
            max_age: "7 days".into(),
        })
    );
    // Fresh data says nothing of its age; a day and a bit later it says when it is from.
    let fresh = agency.answered(
        "acme",
        "deliverable_eta",
        "when will the final report be ready?",
    );
    assert!(!fresh.text.contains("records showed"), "{}", fresh.text);
    let dated = agency
        .ask_at(
            "acme",
            "deliverable_eta",
            "when will the final report be ready?",
            at("2026-11-21T10:00:00Z"),
        )
        .expect("answered");
    assert!(
        dated
            .text
            .ends_with("This is what our records showed on Friday 20 November 2026 at 09:00 UTC."),
        "{}",
        dated.text
    );
    assert!(dated.facts.iter().any(|fact| fact.name == "as_of"));
    // An answer that reads nothing of the data (a policy) does not age.
    let bank = Pack::load("banking77");
    let policy = bank.ask_at(
        "cust-1003",
        "age_limit",
        "can my 16 year old open an account?",
        at("2027-06-01T00:00:00Z"),
    );
    assert_eq!(
        policy.map(|answer| answer.text),
        Ok("You need to be 18 or over to open an account.".into())
    );
}

/// A pack that shifts its sample data moves every date so that as_of is the day of loading:
/// loaded any day, the demo answers as it did on its own day, a whole number of days on.
#[test]
fn sample_data_moves_to_the_day_of_loading() {
    let later = at("2027-03-10T07:30:00Z");
    let shifted = Pack::load_at("agency", later);
    assert_eq!(shifted.data.as_of().to_string(), "2027-03-10T09:00:00Z");
    let next = shifted
        .ask_at("acme", "next_meeting", "when's our next meeting?", later)
        .expect("answered");
    assert_eq!(next.entity_id.as_deref(), Some("M-305"));
    assert!(
        next.text
            .starts_with("Website design review is on Sunday 14 March 2027 at 14:30 UTC."),
        "{}",
        next.text
    );
    let report = shifted
        .ask_at("acme", "deliverable_eta", "the final report?", later)
        .expect("answered");
    let due = report
        .facts
        .iter()
        .find(|fact| fact.name == "due")
        .expect("due");
    assert_eq!(due.value, "2027-03-18");
    // A pack that does not shift keeps its dates whatever the day.
    let settings = StatusSettings {
        shift_to_today: false,
        ..StatusSettings::default()
    };
    let kept = Pack::load_with("agency", &settings, later);
    assert_eq!(kept.data.as_of().to_string(), "2026-11-20T09:00:00Z");
    assert!(pack_dir("agency").join("pack.toml").exists());
}
