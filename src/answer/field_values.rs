//! Field-value conditions on an entity, as templates write them (`when` of a case, `only` of
//! a template): every named field must hold exactly the given value.

use std::collections::BTreeMap;

use super::client::{Entity, is_usable_field_name};

/// A non-empty set of `field = value` conditions, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldValues(BTreeMap<String, String>);

impl FieldValues {
    /// The conditions, if they name at least one field and only usable field names; `label`
    /// says where they were written, for the message.
    pub(crate) fn parse(label: &str, values: BTreeMap<String, String>) -> Result<Self, String> {
        if values.is_empty() {
            return Err(format!("{label}: names no field"));
        }
        match values.keys().find(|field| !is_usable_field_name(field)) {
            Some(field) => Err(format!("{label}: {field:?} is not a field name")),
            None => Ok(Self(values)),
        }
    }

    /// Whether `entity` has every value.
    pub(crate) fn hold_for(&self, entity: &Entity) -> bool {
        self.0
            .iter()
            .all(|(field, value)| entity.fields.get(field) == Some(value))
    }

    /// The conditions for people: `state "declined" and type "card payment"`.
    pub(crate) fn describe(&self) -> String {
        let conditions: Vec<String> = self
            .0
            .iter()
            .map(|(field, value)| format!("{field} {value:?}"))
            .collect();
        conditions.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(field, value)| ((*field).to_owned(), (*value).to_owned()))
            .collect()
    }

    /// All conditions must hold, exactly; a missing field fails.
    #[test]
    fn all_values_must_match() {
        let wanted = FieldValues::parse(
            "only",
            values(&[("state", "declined"), ("type", "card payment")]),
        )
        .expect("valid");
        let entity = |fields: &[(&str, &str)]| {
            Entity::new(
                "card_payment".into(),
                "P-1".into(),
                "Shop".into(),
                Vec::new(),
                values(fields),
            )
        };
        assert!(wanted.hold_for(&entity(&[
            ("state", "declined"),
            ("type", "card payment"),
            ("x", "y")
        ])));
        assert!(!wanted.hold_for(&entity(&[("state", "Declined"), ("type", "card payment")])));
        assert!(!wanted.hold_for(&entity(&[("state", "declined")])));
        assert_eq!(
            wanted.describe(),
            "state \"declined\" and type \"card payment\""
        );
    }

    /// Empty conditions and bad field names are refused with the label.
    #[test]
    fn rejects_empty_and_bad_names() {
        assert_eq!(
            FieldValues::parse("only", values(&[])),
            Err("only: names no field".into())
        );
        assert_eq!(
            FieldValues::parse("cases[1].when", values(&[("name", "x")])),
            Err("cases[1].when: \"name\" is not a field name".into())
        );
    }
}
