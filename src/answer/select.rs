//! The select rules: how a template picks the one entity an answer is about, or says why it
//! cannot. The rules never guess: a tie is `Ambiguous`, an unnamed choice among several is
//! `NotMentioned`.

use std::cmp::Ordering;

use super::client::Entity;
use super::date::Timestamp;
use super::mention::Mention;
use super::rendered::NoAnswer;

/// How a template that reads an entity picks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The one the text names; if it names none, the only one there is.
    Mentioned,
    /// The one the text names clearly, else the earliest whose field is on or after `as_of`.
    Next(String),
    /// The one the text names clearly, else the greatest field value on or before `as_of`.
    Latest(String),
    /// The only one there is.
    Single,
}

impl Pick {
    /// The field the rule orders by, for next and latest.
    pub(crate) fn order_by(&self) -> Option<&str> {
        match self {
            Self::Next(field) | Self::Latest(field) => Some(field),
            Self::Mentioned | Self::Single => None,
        }
    }

    /// Picks among `candidates` (one client's entities the template reads, in file order) for
    /// the inquiry `text` at time `as_of`; `what` describes the candidates for `NoData`.
    pub(crate) fn choose<'a>(
        &self,
        what: &str,
        candidates: &[&'a Entity],
        as_of: &Timestamp,
        text: &str,
    ) -> Result<&'a Entity, NoAnswer> {
        if candidates.is_empty() {
            return Err(NoAnswer::NoData { kind: what.into() });
        }
        let names = |pool: &[&Entity]| pool.iter().map(|entity| entity.name.clone()).collect();
        match self {
            Self::Single => match candidates {
                [only] => Ok(only),
                _ => Err(NoAnswer::Ambiguous {
                    candidates: names(candidates),
                }),
            },
            Self::Mentioned => match (Mention::find(text, candidates), candidates) {
                (Mention::One(entity), _) => Ok(entity),
                (Mention::Several(tied), _) => Err(NoAnswer::Ambiguous {
                    candidates: names(&tied),
                }),
                (Mention::Nothing, [only]) => Ok(only),
                (Mention::Nothing, _) => Err(NoAnswer::NotMentioned {
                    candidates: names(candidates),
                }),
            },
            Self::Next(field) | Self::Latest(field) => {
                let next = matches!(self, Self::Next(_));
                let (pool, named) = match Mention::find(text, candidates) {
                    Mention::One(entity) => return Ok(entity),
                    Mention::Several(tied) => (tied, true),
                    Mention::Nothing => (candidates.to_vec(), false),
                };
                let wanted = if next {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                let in_range: Vec<(&Entity, Timestamp)> = pool
                    .iter()
                    .filter_map(|entity| {
                        let value = Timestamp::parse(entity.fields.get(field)?)?;
                        (value.cmp_loose(as_of) != wanted.reverse()).then_some((*entity, value))
                    })
                    .collect();
                let best = if next {
                    in_range.iter().map(|(_, value)| *value).min()
                } else {
                    in_range.iter().map(|(_, value)| *value).max()
                };
                let Some(best) = best else {
                    let candidates = names(&pool);
                    return Err(match (named, next) {
                        (true, _) => NoAnswer::Ambiguous { candidates },
                        (false, true) => NoAnswer::NoneUpcoming { candidates },
                        (false, false) => NoAnswer::NonePast { candidates },
                    });
                };
                match in_range
                    .iter()
                    .filter(|(_, value)| *value == best)
                    .map(|(entity, _)| *entity)
                    .collect::<Vec<_>>()
                    .as_slice()
                {
                    [one] => Ok(one),
                    tied => Err(NoAnswer::Ambiguous {
                        candidates: names(tied),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn meeting(id: &str, name: &str, starts_at: &str) -> Entity {
        Entity::new(
            "meeting".into(),
            id.into(),
            name.into(),
            Vec::new(),
            BTreeMap::from([("starts_at".into(), starts_at.into())]),
        )
    }

    fn choose(pick: &Pick, entities: &[Entity], text: &str) -> Result<String, NoAnswer> {
        let as_of = Timestamp::parse("2026-11-20T09:00:00Z").expect("date");
        let candidates: Vec<&Entity> = entities.iter().collect();
        pick.choose("meeting", &candidates, &as_of, text)
            .map(|entity| entity.id.clone())
    }

    fn meetings() -> Vec<Entity> {
        vec![
            meeting("M-1", "October review", "2026-10-15T10:00:00Z"),
            meeting("M-2", "Quarterly review", "2026-12-03T15:00:00Z"),
            meeting("M-3", "Launch planning", "2026-11-24T14:30:00Z"),
            meeting("M-4", "Kick-off", "2026-11-20T08:00:00Z"),
        ]
    }

    /// Next is the earliest not yet started; latest the most recent already started.
    #[test]
    fn next_and_latest_follow_the_clock() {
        let next = Pick::Next("starts_at".into());
        let latest = Pick::Latest("starts_at".into());
        assert_eq!(
            choose(&next, &meetings(), "when do we meet next?"),
            Ok("M-3".into())
        );
        assert_eq!(
            choose(&latest, &meetings(), "last meeting notes?"),
            Ok("M-4".into())
        );
    }

    /// A clear mention beats the clock; a tied mention narrows the pool the clock picks from.
    #[test]
    fn mentions_steer_next_and_latest() {
        let next = Pick::Next("starts_at".into());
        assert_eq!(
            choose(&next, &meetings(), "the October review"),
            Ok("M-1".into())
        );
        assert_eq!(
            choose(&next, &meetings(), "the next review"),
            Ok("M-2".into())
        );
        let latest = Pick::Latest("starts_at".into());
        assert_eq!(
            choose(&latest, &meetings(), "the last review"),
            Ok("M-1".into())
        );
    }

    /// With nothing in range, the rule says so instead of falling back to another entity.
    #[test]
    fn nothing_in_range_is_not_guessed() {
        let past = &meetings()[..1];
        assert_eq!(
            choose(&Pick::Next("starts_at".into()), past, "next meeting?"),
            Err(NoAnswer::NoneUpcoming {
                candidates: vec!["October review".into()]
            })
        );
        let future = &meetings()[1..3];
        assert!(matches!(
            choose(&Pick::Latest("starts_at".into()), future, "last meeting?"),
            Err(NoAnswer::NonePast { .. })
        ));
    }

    /// Two entities at the same time are a tie, not a coin toss.
    #[test]
    fn equal_order_values_are_ambiguous() {
        let twins = [
            meeting("M-5", "Design sync", "2026-11-25T10:00:00Z"),
            meeting("M-6", "SEO sync", "2026-11-25T10:00:00Z"),
        ];
        assert_eq!(
            choose(&Pick::Next("starts_at".into()), &twins, "next sync?"),
            Err(NoAnswer::Ambiguous {
                candidates: vec!["Design sync".into(), "SEO sync".into()]
            })
        );
    }

    /// Single takes the only one and refuses to choose among several; no entity is NoData.
    #[test]
    fn single_and_empty() {
        assert_eq!(
            choose(&Pick::Single, &meetings()[..1], "x"),
            Ok("M-1".into())
        );
        assert!(matches!(
            choose(&Pick::Single, &meetings(), "the kick-off"),
            Err(NoAnswer::Ambiguous { candidates }) if candidates.len() == 4
        ));
        assert_eq!(
            choose(&Pick::Mentioned, &[], "x"),
            Err(NoAnswer::NoData {
                kind: "meeting".into()
            })
        );
    }

    /// Mentioned falls back to the only candidate, and otherwise asks for a name.
    #[test]
    fn mentioned_without_a_name() {
        assert_eq!(
            choose(&Pick::Mentioned, &meetings()[..1], "status?"),
            Ok("M-1".into())
        );
        assert!(matches!(
            choose(&Pick::Mentioned, &meetings(), "status?"),
            Err(NoAnswer::NotMentioned { candidates }) if candidates.len() == 4
        ));
        assert_eq!(
            choose(&Pick::Mentioned, &meetings(), "launch planning?"),
            Ok("M-3".into())
        );
    }
}
