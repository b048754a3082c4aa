//! Agency pack answers: mentions, invoice numbers, next and latest, Chinese, and keeping each
//! client's data to itself.

use super::Pack;
use crate::answer::NoAnswer;

/// "The final report" picks the Final SEO report over the other report, with its due date.
#[test]
fn final_report_is_found_with_its_due_date() {
    let agency = Pack::load("agency");
    let answer = agency.answered(
        "acme",
        "deliverable_eta",
        "When will the final report be ready?",
    );
    assert_eq!(answer.entity_id.as_deref(), Some("D-114"));
    assert_eq!(
        answer.text,
        "Final SEO report (SEO retainer 2026) is in review; it is due on Saturday 28 November 2026."
    );
    let facts: Vec<(&str, &str)> = answer
        .facts
        .iter()
        .map(|fact| (fact.name.as_str(), fact.value.as_str()))
        .collect();
    assert_eq!(
        facts,
        [
            ("name", "Final SEO report"),
            ("project", "SEO retainer 2026"),
            ("state", "in review"),
            ("due", "2026-11-28")
        ]
    );
    assert_eq!(answer.as_of, "2026-11-20T09:00:00Z");
}

/// An invoice number in any usual form names the invoice; its status picks the wording.
#[test]
fn invoice_numbers_are_decisive() {
    let agency = Pack::load("agency");
    for text in [
        "Has invoice 1042 been paid?",
        "status of #1042",
        "INV-1042?",
        "inv1042 paid?",
    ] {
        assert_eq!(
            agency.entity("acme", "invoice_status", text),
            "INV-1042",
            "{text}"
        );
    }
    assert_eq!(
        agency.text("acme", "invoice_status", "what about invoice 1045"),
        "Invoice INV-1045 (Website redesign, milestone 2) for 12,500.00 GBP was due on Saturday \
         14 November 2026 and is now overdue. If you have already paid it, please send us the \
         remittance details."
    );
    assert_eq!(
        agency.text("acme", "invoice_status", "did you get payment for 1038?"),
        "Invoice INV-1038 (September SEO retainer) for 4,800.00 GBP was paid on Wednesday \
         21 October 2026. Thank you!"
    );
}

/// Two equally good matches are Ambiguous; a question naming none of several is NotMentioned.
#[test]
fn unclear_questions_are_not_guessed() {
    let agency = Pack::load("agency");
    assert_eq!(
        agency.ask("acme", "deliverable_eta", "when will the report be ready?"),
        Err(NoAnswer::Ambiguous {
            candidates: vec!["Final SEO report".into(), "Monthly analytics report".into()]
        })
    );
    assert!(matches!(
        agency.ask("acme", "invoice_status", "has my invoice been paid?"),
        Err(NoAnswer::NotMentioned { candidates }) if candidates.len() == 3
    ));
    assert_eq!(
        agency.ask(
            "brightwave",
            "campaign_results",
            "how did the October campaign do?"
        ),
        Err(NoAnswer::Ambiguous {
            candidates: vec![
                "October Google search campaign".into(),
                "October Meta awareness campaign".into()
            ]
        })
    );
}

/// A client without deliverables gets NoData; one with a single deliverable gets that one.
#[test]
fn no_data_and_single_entity() {
    let agency = Pack::load("agency");
    assert_eq!(
        agency.ask("kettle", "deliverable_eta", "when is my report due?"),
        Err(NoAnswer::NoData {
            kind: "deliverable".into()
        })
    );
    assert_eq!(
        agency.entity("northwind", "deliverable_eta", "when is it due?"),
        "D-301"
    );
}

/// The same question for two clients gives each its own data and nothing of the other's.
#[test]
fn never_another_clients_data() {
    let agency = Pack::load("agency");
    let question = "When will the final SEO report be ready?";
    let acme = agency.answered("acme", "deliverable_eta", question);
    let brightwave = agency.answered("brightwave", "deliverable_eta", question);
    assert_eq!(acme.entity_id.as_deref(), Some("D-114"));
    assert_eq!(brightwave.entity_id.as_deref(), Some("D-220"));
    assert!(acme.text.contains("28 November 2026"), "{}", acme.text);
    assert!(
        brightwave.text.contains("10 December 2026"),
        "{}",
        brightwave.text
    );
    for (answer, foreign) in [
        (&acme, ["D-220", "2026-12-10", "10 December"]),
        (&brightwave, ["D-114", "2026-11-28", "28 November"]),
    ] {
        let everything = format!("{} {:?}", answer.text, answer.facts);
        for value in foreign {
            assert!(
                !everything.contains(value),
                "{value} leaked into {everything}"
            );
        }
    }
    // Naming another client's invoice finds nothing of it: the answer says acme has no such
    // invoice and lists acme's own.
    let answer = agency.answered("acme", "invoice_status", "is invoice 1043 paid?");
    assert_eq!(
        answer.text,
        "We have no invoice 1043 on your account. Your invoices are INV-1038 (paid), INV-1042 \
         (open), INV-1045 (overdue)."
    );
    assert_eq!(answer.entity_id, None);
}

/// The next meeting is the first one after as_of; with only past meetings, none is made up.
#[test]
fn next_meeting_is_the_upcoming_one() {
    let agency = Pack::load("agency");
    let answer = agency.answered("acme", "next_meeting", "When is our next meeting?");
    assert_eq!(answer.entity_id.as_deref(), Some("M-305"));
    assert_eq!(
        answer.text,
        "Website design review is on Tuesday 24 November 2026 at 14:30 UTC. \
         Join here: https://meet.agency.example/acme-web"
    );
    // Lumen's 08:00 meeting on the as_of day has already happened.
    assert_eq!(
        agency.entity("lumen", "next_meeting", "next call?"),
        "M-724"
    );
    assert_eq!(
        agency.ask("northwind", "next_meeting", "when do we meet next?"),
        Err(NoAnswer::NoneUpcoming {
            candidates: vec!["Launch kick-off".into()]
        })
    );
    // A mention wins over the clock, and a past meeting reads as past.
    assert_eq!(
        agency.text("acme", "next_meeting", "when was the November SEO review?"),
        "November SEO review took place on Thursday 5 November 2026 at 10:00 UTC."
    );
}

/// Latest takes the most recent period already ended or started; a mention can pick another.
#[test]
fn latest_campaign_hours_and_invoice_copy() {
    let agency = Pack::load("agency");
    let ask = |client: &str, intent: &str, text: &str| agency.entity(client, intent, text);
    assert_eq!(
        ask("acme", "campaign_results", "how did the campaign do?"),
        "C-ACME-2026-10"
    );
    assert_eq!(
        ask("acme", "campaign_results", "the Black Friday campaign?"),
        "C-ACME-2026-11"
    );
    assert_eq!(
        ask("brightwave", "campaign_results", "October Meta numbers?"),
        "C-BW-2026-10-M"
    );
    assert_eq!(
        ask("acme", "invoice_copy", "can you resend the invoice?"),
        "INV-1042"
    );
    assert_eq!(
        ask("acme", "invoice_copy", "a copy of 1038 please"),
        "INV-1038"
    );
    assert_eq!(
        agency.text("acme", "hours_budget", "how many hours do we have left?"),
        "You have used 31.5 of the 40 hours budgeted for November 2026, so 8.5 hours remain."
    );
}

/// Chinese inquiries find entities through their Chinese aliases; "报告" alone fits two.
#[test]
fn chinese_mentions() {
    let agency = Pack::load("agency");
    assert_eq!(
        agency.entity("acme", "deliverable_eta", "最终报告什么时候能完成？"),
        "D-114"
    );
    assert_eq!(
        agency.entity("acme", "deliverable_eta", "月度分析报告呢？"),
        "D-117"
    );
    assert_eq!(
        agency.ask("acme", "deliverable_eta", "报告什么时候好？"),
        Err(NoAnswer::Ambiguous {
            candidates: vec!["Final SEO report".into(), "Monthly analytics report".into()]
        })
    );
}

/// Client-only answers read the client's own fields.
#[test]
fn account_manager_from_client_fields() {
    let agency = Pack::load("agency");
    let answer = agency.answered(
        "brightwave",
        "account_manager",
        "who is my account manager?",
    );
    assert_eq!(
        answer.text,
        "Your account manager at the agency is Priya Natarajan; you can reach them at \
         priya@agency.example."
    );
    assert_eq!(answer.entity_id, None);
    assert_eq!(answer.facts.len(), 2);
}

/// The outside probe's wrong records: a record acme does not have is never answered with one it
/// has; ids are answered "no such invoice" with the list, names go to a person.
#[test]
fn records_the_client_lacks_are_never_swapped() {
    let agency = Pack::load("agency");
    for (intent, text, asked) in [
        (
            "invoice_copy",
            "can you send me a copy of invoice INV-1043?",
            "INV-1043",
        ),
        ("invoice_copy", "copy of invoice 1031", "1031"),
        ("invoice_status", "is INV-1041 paid?", "INV-1041"),
    ] {
        let answer = agency.answered("acme", intent, text);
        assert_eq!(answer.entity_id, None, "{text}");
        assert!(
            answer.text.starts_with(&format!(
                "We have no invoice {asked} on your account. Your invoices are INV-1038"
            )),
            "{text}: {}",
            answer.text
        );
    }
    assert!(matches!(
        agency.ask("acme", "deliverable_eta", "the final accessibility report?"),
        Err(NoAnswer::NoSuchName { words, .. }) if words == "final accessibility report"
    ));
    assert!(matches!(
        agency.ask("acme", "project_status", "how is the clinic finder rebuild going?"),
        Err(NoAnswer::NoSuchName { words, .. }) if words == "clinic finder rebuild"
    ));
    assert!(matches!(
        agency.ask(
            "acme",
            "next_meeting",
            "when is the quarterly business review?"
        ),
        Err(NoAnswer::NoSuchName { .. })
    ));
}

/// Questions that name no record are read as before: years, amounts, dates and unknown words
/// are not references, so the select rule answers or asks which one.
#[test]
fn questions_naming_no_record_are_not_refused() {
    let agency = Pack::load("agency");
    for text in [
        "is the invoice from last week paid?",
        "we paid €1,200 on 30 Nov, is that the invoice for 2026?",
        "has my invoice been paid?",
    ] {
        assert!(
            matches!(
                agency.ask("acme", "invoice_status", text),
                Err(NoAnswer::NotMentioned { .. })
            ),
            "{text}"
        );
    }
    for text in [
        "can you resend the invoice?",
        "could I get a copy of the invoice from 2026 please",
        "请把发票再发给我一份",
        "Können Sie mir die Rechnung noch einmal schicken?",
    ] {
        assert_eq!(
            agency.entity("acme", "invoice_copy", text),
            "INV-1042",
            "{text}"
        );
    }
    assert_eq!(
        agency.entity("acme", "next_meeting", "когда наша следующая встреча?"),
        "M-305"
    );
}
