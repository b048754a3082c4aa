//! What answering returns: the `Answer` with the facts it used, or the `NoAnswer` saying why a
//! person has to answer instead.

use super::variant::Variant;

/// A direct answer, rendered from one client's status data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The reply, ready to send.
    pub text: String,
    /// Exactly the values the reply used, in the order it first used them, as stored (dates
    /// unformatted).
    pub facts: Vec<Fact>,
    /// The entity the reply is about, when it is about one.
    pub entity_id: Option<String>,
    /// When the data was taken (`status.json`'s `as_of`, moved with the data when the pack
    /// shifts its dates to the day of loading).
    pub as_of: String,
    /// The template's variant the reply is written in, and why.
    pub variant: Variant,
}

/// One value an answer used, named as its placeholder: `due`, `name`, `client.account_manager`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub name: String,
    pub value: String,
}

/// Why an inquiry cannot be answered from the data; a person answers it instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoAnswer {
    /// Neither the intent nor its status kind has a template (the caller passed an intent the
    /// loaded templates were not checked against).
    #[error("no answer template for intent {intent:?} or status kind {status_kind:?}")]
    NoTemplate { intent: String, status_kind: String },
    /// The client has no entity of the kind the answer reads.
    #[error("the client has no {kind} on record")]
    NoData { kind: String },
    /// Several entities fit the inquiry equally well.
    #[error("the inquiry could be about any of: {}", candidates.join("; "))]
    Ambiguous { candidates: Vec<String> },
    /// The client has several entities of the kind and the inquiry names none of them.
    #[error("the client has several and the inquiry names none of: {}", candidates.join("; "))]
    NotMentioned { candidates: Vec<String> },
    /// The answer wants the next one, but none is on or after the inquiry's time.
    #[error("none is upcoming at the time of the inquiry among: {}", candidates.join("; "))]
    NoneUpcoming { candidates: Vec<String> },
    /// The answer wants the latest one up to the inquiry's time, but all are later.
    #[error("none has come yet at the time of the inquiry among: {}", candidates.join("; "))]
    NonePast { candidates: Vec<String> },
    /// The inquiry names a record by a number or id the client has none of (its own records of
    /// the kind are listed, never used).
    #[error(
        "the inquiry names {kind} {asked:?}, which the client does not have; the client's: {}",
        listed(candidates)
    )]
    NoSuchRecord {
        kind: String,
        asked: String,
        candidates: Vec<String>,
    },
    /// The inquiry names a record by words of the kind's names that none of the client's records
    /// has all of.
    #[error(
        "the inquiry names a {kind} by {words:?}, which none of the client's has; the client's: {}",
        listed(candidates)
    )]
    NoSuchName {
        kind: String,
        words: String,
        candidates: Vec<String>,
    },
    /// The inquiry names a record the answer does not read (the intent reads only some records
    /// of the kind).
    #[error("the inquiry names {name:?}, which is not a {kind}")]
    NotApplicable { name: String, kind: String },
    /// The status data is older than the pack allows answers to be given from.
    #[error(
        "the status data is as of {as_of}, {age} before the inquiry; answers may use data up to {max_age} old"
    )]
    StaleData {
        as_of: String,
        age: String,
        max_age: String,
    },
    /// The chosen record (or the client, when `entity` is `None`) lacks a value the answer
    /// needs.
    #[error("{} has no {field:?} value", entity.as_deref().map_or("the client record".to_owned(), |name| format!("the record {name:?}")))]
    MissingField {
        entity: Option<String>,
        field: String,
    },
}

impl NoAnswer {
    /// The reason for people, e.g. to show the agent who takes the inquiry over.
    pub fn reason(&self) -> String {
        self.to_string()
    }

    /// A short, fixed name of the reason, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoTemplate { .. } => "no_template",
            Self::NoData { .. } => "no_data",
            Self::Ambiguous { .. } => "ambiguous",
            Self::NotMentioned { .. } => "not_mentioned",
            Self::NoneUpcoming { .. } => "none_upcoming",
            Self::NonePast { .. } => "none_past",
            Self::NoSuchRecord { .. } => "no_such_record",
            Self::NoSuchName { .. } => "no_such_name",
            Self::NotApplicable { .. } => "not_applicable",
            Self::StaleData { .. } => "stale_data",
            Self::MissingField { .. } => "missing_field",
        }
    }
}

/// Names for a reason: "none" for an empty list.
fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reasons read as sentences and list the candidates in order.
    #[test]
    fn reasons_are_readable() {
        let ambiguous = NoAnswer::Ambiguous {
            candidates: vec!["Final SEO report".into(), "Final PPC report".into()],
        };
        assert_eq!(
            ambiguous.reason(),
            "the inquiry could be about any of: Final SEO report; Final PPC report"
        );
        let missing = NoAnswer::MissingField {
            entity: Some("Invoice 1042".into()),
            field: "paid_on".into(),
        };
        assert_eq!(
            missing.reason(),
            "the record \"Invoice 1042\" has no \"paid_on\" value"
        );
        let missing = NoAnswer::MissingField {
            entity: None,
            field: "client.account_manager".into(),
        };
        assert_eq!(
            missing.reason(),
            "the client record has no \"client.account_manager\" value"
        );
        assert_eq!(
            NoAnswer::NoData {
                kind: "deliverable".into()
            }
            .reason(),
            "the client has no deliverable on record"
        );
        let unknown = NoAnswer::NoSuchRecord {
            kind: "invoice".into(),
            asked: "INV-1043".into(),
            candidates: vec!["INV-1042 October SEO retainer".into()],
        };
        assert_eq!(
            unknown.reason(),
            "the inquiry names invoice \"INV-1043\", which the client does not have; the \
             client's: INV-1042 October SEO retainer"
        );
        let stale = NoAnswer::StaleData {
            as_of: "Friday 20 November 2026 at 09:00 UTC".into(),
            age: "14 days".into(),
            max_age: "7 days".into(),
        };
        assert_eq!(
            stale.reason(),
            "the status data is as of Friday 20 November 2026 at 09:00 UTC, 14 days before the \
             inquiry; answers may use data up to 7 days old"
        );
        assert_eq!(stale.kind(), "stale_data");
    }
}
