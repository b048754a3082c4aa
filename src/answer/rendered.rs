//! What answering returns: the `Answer` with the facts it used, or the `NoAnswer` saying why a
//! person has to answer instead.

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
    /// When the data was taken (`status.json`'s `as_of`).
    pub as_of: String,
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
    /// The answer wants the next one, but none is on or after the data's date.
    #[error("none is upcoming as of the data's date among: {}", candidates.join("; "))]
    NoneUpcoming { candidates: Vec<String> },
    /// The answer wants the latest one up to the data's date, but all are later.
    #[error("none has come yet as of the data's date among: {}", candidates.join("; "))]
    NonePast { candidates: Vec<String> },
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
            Self::MissingField { .. } => "missing_field",
        }
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
    }
}
