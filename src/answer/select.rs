//! The select rules: how a template picks the one entity an answer is about, or says why it
//! cannot. The rules never guess: a tie is `Ambiguous`, an unnamed choice among several is
//! `NotMentioned`, and "next" and "latest" are read at the time of the inquiry.

use std::cmp::Ordering;

use super::client::Entity;
use super::date::Timestamp;
use super::rendered::NoAnswer;

/// How a template that reads an entity picks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The one the text names; if it names none, the only one there is.
    Mentioned,
    /// The one the text names, else the earliest whose field is at or after the inquiry's time
    /// (among those named, when the text names several).
    Next(String),
    /// The one the text names, else the greatest field value at or before the inquiry's time
    /// (among those named, when the text names several).
    Latest(String),
    /// The one the text names, else the only one there is.
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

    /// Picks among `candidates` (one client's entities the template reads, in file order)
    /// given the ones the inquiry names (`named`, none when it names none) and the inquiry's
    /// time `at`; `what` describes the candidates for `NoData`.
    pub(crate) fn choose<'a>(
        &self,
        what: &str,
        candidates: &[&'a Entity],
        named: &[&'a Entity],
        at: jiff::Timestamp,
    ) -> Result<&'a Entity, NoAnswer> {
        if candidates.is_empty() {
            return Err(NoAnswer::NoData { kind: what.into() });
        }
        let names = |pool: &[&Entity]| pool.iter().map(|entity| entity.name.clone()).collect();
        match (self, named) {
            (_, [one]) => Ok(one),
            (Self::Single | Self::Mentioned, []) => match candidates {
                [only] => Ok(only),
                _ if *self == Self::Single => Err(NoAnswer::Ambiguous {
                    candidates: names(candidates),
                }),
                _ => Err(NoAnswer::NotMentioned {
                    candidates: names(candidates),
                }),
            },
            (Self::Single | Self::Mentioned, tied) => Err(NoAnswer::Ambiguous {
                candidates: names(tied),
            }),
            (Self::Next(field) | Self::Latest(field), _) => {
                let next = matches!(self, Self::Next(_));
                let pool = if named.is_empty() { candidates } else { named };
                let wanted = if next {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                let in_range: Vec<(&Entity, Timestamp)> = pool
                    .iter()
                    .filter_map(|entity| {
                        let value = Timestamp::parse(entity.fields.get(field)?)?;
                        (value.cmp_at(at) != wanted.reverse()).then_some((*entity, value))
                    })
                    .collect();
                let best = if next {
                    in_range.iter().map(|(_, value)| *value).min()
                } else {
                    in_range.iter().map(|(_, value)| *value).max()
                };
                let Some(best) = best else {
                    let candidates = names(pool);
                    return Err(match (named.is_empty(), next) {
                        (false, _) => NoAnswer::Ambiguous { candidates },
                        (true, true) => NoAnswer::NoneUpcoming { candidates },
                        (true, false) => NoAnswer::NonePast { candidates },
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

    const NOW: &str = "2026-11-20T09:00:00Z";

    /// Chooses among `entities` at `NOW`, the ones with ids in `named` named by the inquiry.
    fn choose(pick: &Pick, entities: &[Entity], named: &[&str]) -> Result<String, NoAnswer> {
        choose_at(pick, entities, named, NOW)
    }

    fn choose_at(
        pick: &Pick,
        entities: &[Entity],
        named: &[&str],
        at: &str,
    ) -> Result<String, NoAnswer> {
        let candidates: Vec<&Entity> = entities.iter().collect();
        let named: Vec<&Entity> = entities
            .iter()
            .filter(|entity| named.contains(&entity.id.as_str()))
            .collect();
        let at = at.parse().expect("instant");
        pick.choose("meeting", &candidates, &named, at)
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
        assert_eq!(choose(&next, &meetings(), &[]), Ok("M-3".into()));
        assert_eq!(choose(&latest, &meetings(), &[]), Ok("M-4".into()));
    }

    /// "Next" and "latest" are read at the inquiry's time, not the data's.
    #[test]
    fn the_clock_is_the_inquirys() {
        let next = Pick::Next("starts_at".into());
        let latest = Pick::Latest("starts_at".into());
        let later = "2026-12-04T09:00:00Z";
        assert_eq!(
            choose_at(&next, &meetings(), &[], later),
            Err(NoAnswer::NoneUpcoming {
                candidates: meetings().iter().map(|m| m.name.clone()).collect()
            })
        );
        assert_eq!(
            choose_at(&latest, &meetings(), &[], later),
            Ok("M-2".into())
        );
        assert_eq!(
            choose_at(&next, &meetings(), &[], "2026-11-24T14:29:59Z"),
            Ok("M-3".into())
        );
        assert_eq!(
            choose_at(&next, &meetings(), &[], "2026-11-24T14:30:01Z"),
            Ok("M-2".into())
        );
    }

    /// One named entity is the answer; several named narrow the pool the clock picks from.
    #[test]
    fn names_steer_next_and_latest() {
        let next = Pick::Next("starts_at".into());
        assert_eq!(choose(&next, &meetings(), &["M-1"]), Ok("M-1".into()));
        assert_eq!(
            choose(&next, &meetings(), &["M-1", "M-2"]),
            Ok("M-2".into())
        );
        let latest = Pick::Latest("starts_at".into());
        assert_eq!(
            choose(&latest, &meetings(), &["M-1", "M-2"]),
            Ok("M-1".into())
        );
        assert_eq!(
            choose(&latest, &meetings(), &["M-2", "M-3"]),
            Err(NoAnswer::Ambiguous {
                candidates: vec!["Quarterly review".into(), "Launch planning".into()]
            })
        );
    }

    /// With nothing in range, the rule says so instead of falling back to another entity.
    #[test]
    fn nothing_in_range_is_not_guessed() {
        let past = &meetings()[..1];
        assert_eq!(
            choose(&Pick::Next("starts_at".into()), past, &[]),
            Err(NoAnswer::NoneUpcoming {
                candidates: vec!["October review".into()]
            })
        );
        let future = &meetings()[1..3];
        assert!(matches!(
            choose(&Pick::Latest("starts_at".into()), future, &[]),
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
            choose(&Pick::Next("starts_at".into()), &twins, &[]),
            Err(NoAnswer::Ambiguous {
                candidates: vec!["Design sync".into(), "SEO sync".into()]
            })
        );
    }

    /// Single takes the named or only one and refuses to choose among several; none is NoData.
    #[test]
    fn single_and_empty() {
        assert_eq!(
            choose(&Pick::Single, &meetings()[..1], &[]),
            Ok("M-1".into())
        );
        assert_eq!(
            choose(&Pick::Single, &meetings(), &["M-4"]),
            Ok("M-4".into())
        );
        assert!(matches!(
            choose(&Pick::Single, &meetings(), &[]),
            Err(NoAnswer::Ambiguous { candidates }) if candidates.len() == 4
        ));
        assert_eq!(
            choose(&Pick::Mentioned, &[], &[]),
            Err(NoAnswer::NoData {
                kind: "meeting".into()
            })
        );
    }

    /// Mentioned takes the named one, falls back to the only one, and otherwise asks.
    #[test]
    fn mentioned_without_a_name() {
        assert_eq!(
            choose(&Pick::Mentioned, &meetings()[..1], &[]),
            Ok("M-1".into())
        );
        assert!(matches!(
            choose(&Pick::Mentioned, &meetings(), &[]),
            Err(NoAnswer::NotMentioned { candidates }) if candidates.len() == 4
        ));
        assert_eq!(
            choose(&Pick::Mentioned, &meetings(), &["M-3"]),
            Ok("M-3".into())
        );
        assert!(matches!(
            choose(&Pick::Mentioned, &meetings(), &["M-1", "M-2"]),
            Err(NoAnswer::Ambiguous { candidates }) if candidates.len() == 2
        ));
    }
}
