//! The overdue rule a pack states for a kind of record in `templates.toml`: a record with a due
//! date whose state is not a closing one reads as overdue once the date has passed at the time
//! of the inquiry, whatever state the data was exported with.
//!
//! ```toml
//! [records.invoice]
//! due = "due"            # the date field the record is due by
//! state = "status"       # the field holding its state
//! closing = ["paid"]     # states that close it: never overdue
//! overdue = "overdue"    # the state it reads as once due, for the select rules, `only`,
//!                        # the cases and the text alike
//! ```

use std::borrow::Cow;
use std::cmp::Ordering;

use serde::Deserialize;

use super::client::{Entity, is_usable_field_name};
use super::date::Timestamp;

/// One kind's overdue rule, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OverdueRule {
    /// The date field the record is due by.
    pub(crate) due: String,
    state: String,
    closing: Vec<String>,
    overdue: String,
}

/// A `[records.<kind>]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOverdueRule {
    due: String,
    state: String,
    #[serde(default)]
    closing: Vec<String>,
    overdue: String,
}

impl RawOverdueRule {
    /// The rule, or what is wrong with it.
    pub(crate) fn validate(self) -> Result<OverdueRule, String> {
        for (key, field) in [("due", &self.due), ("state", &self.state)] {
            if !is_usable_field_name(field) {
                return Err(format!("{key} {field:?} is not a field name"));
            }
        }
        if self.due == self.state {
            return Err("due and state must be different fields".into());
        }
        if self.overdue.trim().is_empty() {
            return Err("overdue is empty".into());
        }
        if self.closing.contains(&self.overdue) {
            return Err(format!(
                "overdue {:?} is also a closing state",
                self.overdue
            ));
        }
        Ok(OverdueRule {
            due: self.due,
            state: self.state,
            closing: self.closing,
            overdue: self.overdue,
        })
    }
}

impl OverdueRule {
    /// `entity` as it reads at `at`: with its state set to the overdue one when it is due
    /// before `at` and not closed (a due date alone is past once its day is over), else as
    /// stored. A record without a due date or a state is never overdue.
    pub(crate) fn apply<'a>(&self, entity: &'a Entity, at: jiff::Timestamp) -> Cow<'a, Entity> {
        let (Some(due), Some(state)) =
            (entity.fields.get(&self.due), entity.fields.get(&self.state))
        else {
            return Cow::Borrowed(entity);
        };
        let past_due = Timestamp::parse(due).is_some_and(|due| due.cmp_at(at) == Ordering::Less);
        if !past_due || self.closing.contains(state) || *state == self.overdue {
            return Cow::Borrowed(entity);
        }
        let mut fields = entity.fields.clone();
        fields.insert(self.state.clone(), self.overdue.clone());
        Cow::Owned(Entity::new(
            entity.kind.clone(),
            entity.id.clone(),
            entity.name.clone(),
            entity.aliases.clone(),
            fields,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rule(source: &str) -> Result<OverdueRule, String> {
        let raw: RawOverdueRule = toml::from_str(source).map_err(|error| error.to_string())?;
        raw.validate()
    }

    fn invoice(status: &str, due: &str) -> Entity {
        Entity::new(
            "invoice".into(),
            "INV-1".into(),
            "Invoice 1".into(),
            Vec::new(),
            BTreeMap::from([("status".into(), status.into()), ("due".into(), due.into())]),
        )
    }

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().expect("instant")
    }

    /// An open invoice due before the inquiry reads overdue; on its due day it is still open.
    #[test]
    fn unpaid_past_due_reads_overdue() {
        let rule = rule(
            "due = \"due\"\nstate = \"status\"\nclosing = [\"paid\", \"cancelled\"]\noverdue = \"overdue\"",
        )
        .expect("valid");
        let status =
            |entity: &Entity, when: &str| rule.apply(entity, at(when)).fields["status"].clone();
        let open = invoice("open", "2026-11-30");
        assert_eq!(status(&open, "2026-12-04T09:00:00Z"), "overdue");
        assert_eq!(status(&open, "2026-11-30T23:59:59Z"), "open");
        assert_eq!(status(&open, "2026-11-20T09:00:00Z"), "open");
        assert_eq!(
            status(&invoice("paid", "2026-11-30"), "2026-12-04T09:00:00Z"),
            "paid"
        );
        assert_eq!(
            status(
                &invoice("partially paid", "2026-11-30"),
                "2026-12-04T09:00:00Z"
            ),
            "overdue"
        );
        assert!(matches!(
            rule.apply(&open, at("2026-11-20T09:00:00Z")),
            Cow::Borrowed(_)
        ));
        let undated = Entity::new(
            "invoice".into(),
            "INV-2".into(),
            "Invoice 2".into(),
            Vec::new(),
            BTreeMap::from([("status".into(), "open".into())]),
        );
        assert_eq!(status(&undated, "2030-01-01T00:00:00Z"), "open");
    }

    /// The rule names real fields and an overdue state that does not close the record.
    #[test]
    fn bad_rules_are_refused() {
        for (source, expected) in [
            (
                "due = \"Due\"\nstate = \"status\"\noverdue = \"x\"",
                "due \"Due\" is not a field name",
            ),
            (
                "due = \"due\"\nstate = \"due\"\noverdue = \"x\"",
                "different fields",
            ),
            (
                "due = \"due\"\nstate = \"status\"\noverdue = \" \"",
                "overdue is empty",
            ),
            (
                "due = \"due\"\nstate = \"status\"\nclosing = [\"x\"]\noverdue = \"x\"",
                "also a closing state",
            ),
            (
                "due = \"due\"\nstate = \"status\"",
                "missing field `overdue`",
            ),
        ] {
            let error = rule(source).expect_err(source);
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }
}
