//! What a template reads from a client: the entities of one kind (optionally only those with
//! given field values) and the select rule that picks one of them for an inquiry.

use super::client::{Client, Entity};
use super::field_values::FieldValues;
use super::rendered::NoAnswer;
use super::select::Pick;

/// The entities a template reads and how it picks one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reads {
    pub(crate) kind: String,
    /// Field values an entity must have to be considered at all (`only`).
    pub(crate) only: Option<FieldValues>,
    pub(crate) pick: Pick,
}

impl Reads {
    /// The one entity of `client` that inquiry `text` is about, or why there is none.
    pub(crate) fn choose<'a>(
        &self,
        client: &'a Client,
        text: &str,
    ) -> Result<&'a Entity, NoAnswer> {
        let candidates: Vec<&Entity> = client
            .entities_of(&self.kind)
            .filter(|entity| self.only.as_ref().is_none_or(|only| only.hold_for(entity)))
            .collect();
        self.pick
            .choose(&self.describe(), &candidates, &client.as_of, text)
    }

    /// What the candidates are, for people: `invoice`, `transfer with state "declined"`.
    fn describe(&self) -> String {
        match &self.only {
            None => self.kind.clone(),
            Some(only) => format!("{} with {}", self.kind, only.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::client::ClientTier;
    use crate::answer::date::Timestamp;
    use std::collections::BTreeMap;

    /// Only entities of the kind with the `only` values are considered; none is NoData for them.
    #[test]
    fn only_narrows_the_candidates() {
        let entity = |kind: &str, id: &str, state: &str| {
            Entity::new(
                kind.into(),
                id.into(),
                format!("Transfer {id}"),
                Vec::new(),
                BTreeMap::from([("state".into(), state.into())]),
            )
        };
        let client = Client {
            id: "c".into(),
            name: "C".into(),
            tier: ClientTier::Standard,
            emails: Vec::new(),
            domains: Vec::new(),
            fields: BTreeMap::new(),
            entities: vec![
                entity("transfer", "T-1", "pending"),
                entity("card", "K-1", "declined"),
                entity("transfer", "T-2", "declined"),
            ],
            as_of: Timestamp::parse("2026-11-20").expect("date"),
        };
        let reads = |state: &str| Reads {
            kind: "transfer".into(),
            only: Some(
                FieldValues::parse("only", BTreeMap::from([("state".into(), state.into())]))
                    .expect("valid"),
            ),
            pick: Pick::Single,
        };
        assert_eq!(
            reads("declined")
                .choose(&client, "?")
                .map(|e| e.id.as_str()),
            Ok("T-2")
        );
        assert_eq!(
            reads("failed").choose(&client, "?"),
            Err(NoAnswer::NoData {
                kind: "transfer with state \"failed\"".into()
            })
        );
    }
}
