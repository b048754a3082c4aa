//! Every variant of every template of the packs written in several languages states the same
//! facts as the main text: rendered for every record of every client, each wording (language,
//! and role where the template has one) uses the same values, and no placeholder is left
//! unfilled in any language.

use std::collections::BTreeSet;

use super::Pack;
use crate::answer::Fact;
use crate::answer::rendered::NoAnswer;

/// The facts of a rendering, as a set of (name, value), or the reason it failed.
fn fact_set(
    rendered: Result<(String, Vec<Fact>), NoAnswer>,
) -> Result<(String, BTreeSet<(String, String)>), NoAnswer> {
    rendered.map(|(text, facts)| {
        let facts = facts.into_iter().map(|f| (f.name, f.value)).collect();
        (text, facts)
    })
}

/// Each wording of each template, for each record (or the client alone), renders the main
/// text's facts, in its own language, with no placeholder left.
#[test]
fn every_variant_states_the_facts_of_the_main_text() {
    for name in ["agency", "distributor"] {
        let pack = Pack::load(name);
        let templates = pack.data.templates();
        let languages: Vec<String> = templates
            .languages()
            .all()
            .map(ToString::to_string)
            .collect();
        assert!(languages.len() >= 4, "{name}: {languages:?}");
        let mut seen_languages = BTreeSet::new();
        let mut renderings = 0;
        for template in templates.tables() {
            let main_key = template
                .wording_keys()
                .find(|key| key.role.is_none() && key.language == templates.languages().default)
                .expect("a main wording")
                .clone();
            for client in pack.data.clients() {
                let entities: Vec<_> = match &template.reads {
                    Some(reads) => client.entities_of(&reads.kind).map(Some).collect(),
                    None => vec![None],
                };
                for entity in entities {
                    let main = fact_set(templates.render_in(template, &main_key, client, entity));
                    for key in template.wording_keys() {
                        let context = format!(
                            "{name} [{}] {:?} {} {}",
                            template.table,
                            key,
                            client.id,
                            entity.map_or("", |e| e.id.as_str())
                        );
                        let rendered = fact_set(templates.render_in(template, key, client, entity));
                        match (&main, &rendered) {
                            (Ok((_, main_facts)), Ok((text, facts))) => {
                                assert_eq!(facts, main_facts, "{context}: {text}");
                                assert!(!text.contains(['{', '}']), "{context}: {text}");
                                renderings += 1;
                            }
                            (Err(main_error), Err(error)) => {
                                assert_eq!(error, main_error, "{context}")
                            }
                            _ => panic!("{context}: {main:?} but {rendered:?}"),
                        }
                        seen_languages.insert(key.language.to_string());
                        let records: Vec<_> = entities_of(template, client);
                        // The list of records is written by each wording's `item`: the
                        // names of the facts are compared, and the reference asked about.
                        let missing = |key| {
                            templates
                                .render_missing_in(template, key, client, &records, "X-0000")
                                .map(fact_set)
                                .map(|rendered| {
                                    rendered.map(|(_, facts)| {
                                        facts
                                            .into_iter()
                                            .map(|(name, value)| match name.as_str() {
                                                "records" => (name, String::new()),
                                                _ => (name, value),
                                            })
                                            .collect::<BTreeSet<_>>()
                                    })
                                })
                        };
                        assert_eq!(missing(key), missing(&main_key), "{context}: missing");
                    }
                }
            }
        }
        assert_eq!(
            seen_languages.into_iter().collect::<BTreeSet<_>>(),
            languages.into_iter().collect::<BTreeSet<_>>(),
            "{name}"
        );
        assert!(renderings > 300, "{name}: only {renderings} renderings");
    }
}

/// The client's records of the kind `template` reads (none for a client-only template).
fn entities_of<'a>(
    template: &crate::answer::template_rule::TemplateRule,
    client: &'a crate::answer::Client,
) -> Vec<&'a crate::answer::Entity> {
    template
        .reads
        .as_ref()
        .map(|reads| client.entities_of(&reads.kind).collect())
        .unwrap_or_default()
}

/// The acknowledgement of each pack is written in each of its languages, with and without a
/// wait, every wait in the language's own words: the ticket, the team and the due date in
/// each, no placeholder left, and no English wait words outside English.
#[test]
fn every_acknowledgement_speaks_each_language_of_its_pack() {
    use crate::answer::{AcknowledgementFacts, ExpectedWait, WAIT_BUCKETS};
    for name in ["agency", "distributor"] {
        let pack = Pack::load(name);
        let templates = pack.data.templates();
        let mut texts = BTreeSet::new();
        for language in templates.languages().all() {
            for bucket in WAIT_BUCKETS.map(Some).into_iter().chain([None]) {
                let english = format!("in English words ({})", bucket.unwrap_or_default());
                let facts = AcknowledgementFacts {
                    team: "Finance",
                    ticket_id: 4242,
                    sla_due: "2026-12-07T09:00:00Z".parse().unwrap(),
                    expected_wait: bucket.map(|bucket| ExpectedWait {
                        bucket,
                        english: &english,
                    }),
                };
                let text = templates.acknowledgement(&facts, Some(language));
                let context = format!("{name} {language} {bucket:?}: {text}");
                assert!(
                    text.contains("4242") && text.contains("Finance"),
                    "{context}"
                );
                assert!(!text.contains('{') && !text.contains('}'), "{context}");
                if language.primary() != "en" {
                    assert!(!text.contains("in English words"), "{context}");
                    assert!(!text.contains("December"), "{context}");
                }
                if bucket.is_none() {
                    assert!(text.contains("2026"), "{context}");
                }
                texts.insert(text);
            }
        }
        let expected = templates.languages().all().count() * (WAIT_BUCKETS.len() + 1);
        assert_eq!(texts.len(), expected, "{name}: every text differs");
    }
}
