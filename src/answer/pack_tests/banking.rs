//! Banking77 pack answers: cards, transfers, balances, narrowed intents and policy answers.

use super::Pack;
use crate::answer::NoAnswer;

/// Cards: the one on its way for delivery questions, a named one for status, a tie refused.
#[test]
fn card_answers() {
    let bank = Pack::load("banking77");
    assert_eq!(
        bank.entity("cust-1001", "card_arrival", "where is my card?"),
        "CARD-5560"
    );
    assert_eq!(
        bank.entity("cust-1003", "card_delivery_estimate", "when will it come"),
        "CARD-2290"
    );
    assert_eq!(
        bank.entity(
            "cust-1001",
            "virtual_card_not_working",
            "my virtual card is declined"
        ),
        "CARD-9035"
    );
    assert!(matches!(
        bank.ask("cust-1001", "card_not_working", "my debit card doesn't work"),
        Err(NoAnswer::Ambiguous { candidates }) if candidates == ["Debit card", "Replacement debit card"]
    ));
    assert_eq!(
        bank.text("cust-1004", "pin_blocked", "my PIN is blocked"),
        "The PIN of your card ending in 7731 (Debit card) is blocked after too many incorrect \
         attempts. You can unblock it in the app under Card settings."
    );
}

/// Transfers and balances: latest by default, a named one on request, several accounts asked.
#[test]
fn transfer_and_balance_answers() {
    let bank = Pack::load("banking77");
    assert_eq!(
        bank.text(
            "cust-1001",
            "pending_transfer",
            "why is my transfer pending?"
        ),
        "Your transfer of 1,150.00 GBP to Greenleaf Lettings, made on Thursday 19 November 2026 \
         at 16:40 UTC, is pending and should arrive by Monday 23 November 2026."
    );
    assert_eq!(
        bank.entity("cust-1001", "transfer_timing", "did Daniel get it?"),
        "TRF-7781"
    );
    let deposit = "balance_not_updated_after_cheque_or_cash_deposit";
    assert!(matches!(
        bank.ask("cust-1002", deposit, "what is my balance?"),
        Err(NoAnswer::NotMentioned { .. })
    ));
    assert_eq!(
        bank.entity("cust-1002", deposit, "my euro account"),
        "ACC-1002-EUR"
    );
}

/// Intents about one outcome read only records with that outcome, never the latest other one.
#[test]
fn narrowed_intents_read_only_their_outcome() {
    let bank = Pack::load("banking77");
    assert_eq!(
        bank.ask(
            "cust-1001",
            "declined_card_payment",
            "why was my card declined?"
        ),
        Err(NoAnswer::NoData {
            kind: "card_payment with state \"declined\" and type \"card payment\"".into()
        })
    );
    assert_eq!(
        bank.entity("cust-1002", "declined_cash_withdrawal", "ATM said no"),
        "PAY-55101"
    );
    assert_eq!(
        bank.entity("cust-1003", "top_up_failed", "top up failed"),
        "TOP-3402"
    );
    assert_eq!(
        bank.ask("cust-1002", "verify_top_up", "my top up?"),
        Err(NoAnswer::NoData {
            kind: "topup".into()
        })
    );
}

/// Verification reads the customer's record; policy answers need no record at all.
#[test]
fn verification_and_policy_answers() {
    let bank = Pack::load("banking77");
    let verification = bank.text("cust-1004", "verify_my_identity", "am I verified?");
    assert!(
        verification.contains("a clearer photo of your driving licence"),
        "{verification}"
    );
    let policy = bank.answered(
        "cust-1003",
        "age_limit",
        "can my 16 year old open an account?",
    );
    assert_eq!(policy.text, "You need to be 18 or over to open an account.");
    assert!(policy.facts.is_empty() && policy.entity_id.is_none());
}
