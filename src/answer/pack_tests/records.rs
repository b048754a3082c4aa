//! The generated test that no answer ever names a record other than the one asked about. For
//! every client of the agency and distributor packs, every record of every kind an intent
//! reads, and several phrasings in the packs' languages, an inquiry naming the record by id, by
//! a code field (an invoice number, a tracking number), by its number, or by its name or an
//! alias is answered about that record. An inquiry naming a record the client does not have
//! (another client's id or name, an off-by-one number, an invented name built from the pack's
//! words) is answered "no such record" or goes to a person, and never names one of the client's
//! records.

use std::collections::{BTreeMap, BTreeSet};

use super::Pack;
use crate::answer::mention::words;
use crate::answer::{Answer, Client, Entity, NoAnswer};

/// Frames for a record named by an id or number, in the packs' languages.
const ID_FRAMES: [&str; 6] = [
    "what's the status of {}?",
    "can you send me {} please",
    "Какой статус у {}?",
    "Wie ist der Stand von {}?",
    "{} 怎么样了？",
    "Скажыце, калі ласка, што з {}",
];

/// Frames for a record named by its name or an alias.
const NAME_FRAMES: [&str; 3] = ["any news about the {}?", "Как дела с {}?", "{}怎么样了"];

/// What an inquiry must get.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// An answer about this record.
    Record(String),
    /// An answer about a record whose name and aliases hold all these words, or none at all.
    Fitting(BTreeSet<String>),
    /// No answer about any record: "no such record", or a person.
    NoRecord,
}

/// One generated inquiry.
struct Case {
    client: String,
    intent: String,
    text: String,
    expect: Expect,
}

/// The words of `name` that pick a record: its words without those of the kind's own name.
fn picking_words(name: &str, kind: &str) -> BTreeSet<String> {
    let generic: BTreeSet<String> = words(&kind.replace('_', " ")).into_iter().collect();
    words(name)
        .into_iter()
        .filter(|word| !generic.contains(word))
        .collect()
}

/// The words of a record's name and aliases.
fn record_words(entity: &Entity) -> BTreeSet<String> {
    std::iter::once(&entity.name)
        .chain(&entity.aliases)
        .flat_map(|name| words(name))
        .collect()
}

/// Whether `value` is a code: letters and digits without blanks, not a date or a link.
fn is_code(value: &str) -> bool {
    value.bytes().any(|b| b.is_ascii_alphabetic())
        && value.bytes().any(|b| b.is_ascii_digit())
        && !value.contains(char::is_whitespace)
        && !value.contains('/')
        && crate::answer::Timestamp::parse(value).is_none()
}

/// The runs of digits in `text`, leading zeros dropped.
fn numbers(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .map(|run| {
            let trimmed = run.trim_start_matches('0');
            if trimmed.is_empty() { "0" } else { trimmed }.to_owned()
        })
        .collect()
}

/// Every number in a record's id, code fields, name and aliases.
fn record_numbers(entity: &Entity) -> BTreeSet<String> {
    std::iter::once(&entity.id)
        .chain(entity.fields.values().filter(|value| is_code(value)))
        .chain(std::iter::once(&entity.name))
        .chain(&entity.aliases)
        .flat_map(|text| numbers(text))
        .collect()
}

/// The last run of three or more digits of `id`, with where it starts.
fn last_number(id: &str) -> Option<(usize, &str)> {
    let bytes = id.as_bytes();
    let end = bytes.iter().rposition(u8::is_ascii_digit)? + 1;
    let start = bytes[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |at| at + 1);
    (end - start >= 3).then(|| (start, &id[start..end]))
}

fn is_year(number: &str) -> bool {
    number.len() == 4 && ("1900".."2100").contains(&number)
}

/// Whether `name` holds a number of three or more digits.
fn has_number(name: &str) -> bool {
    numbers(name).iter().any(|number| number.len() >= 3)
}

/// The ways an inquiry may name `entity` by id, code field or number (its number only when no
/// other of `same_kind` has it).
fn id_forms(entity: &Entity, same_kind: &[&Entity]) -> Vec<String> {
    let id = &entity.id;
    let mut forms = vec![
        id.clone(),
        id.to_lowercase(),
        id.replace('-', ""),
        id.replace('-', " "),
    ];
    let shared = |number: &str| {
        same_kind.iter().any(|other| {
            other.id != entity.id && record_numbers(other).is_superset(&numbers(number))
        })
    };
    if let Some((_, number)) = last_number(id).filter(|(_, number)| !shared(number)) {
        forms.push(format!("#{number}"));
        if !is_year(number) {
            forms.push(number.to_owned());
        }
    }
    forms.extend(
        entity
            .fields
            .values()
            .filter(|value| is_code(value))
            .cloned(),
    );
    forms
}

/// The inquiries of `pack` for `client` about `entity`, of each intent reading its kind.
fn own_cases(client: &Client, entity: &Entity, intents: &[&str], out: &mut Vec<Case>) {
    let same_kind: Vec<&Entity> = client.entities_of(&entity.kind).collect();
    for intent in intents {
        let mut push = |text: String, expect: Expect| {
            out.push(Case {
                client: client.id.clone(),
                intent: (*intent).to_owned(),
                text,
                expect,
            });
        };
        for (form, frame) in id_forms(entity, &same_kind)
            .iter()
            .zip(ID_FRAMES.iter().cycle())
        {
            push(frame.replace("{}", form), Expect::Record(entity.id.clone()));
        }
        let names = std::iter::once(&entity.name).chain(&entity.aliases);
        for (name, frame) in names.zip(NAME_FRAMES.iter().cycle()) {
            let picking = picking_words(name, &entity.kind);
            let shared = same_kind
                .iter()
                .any(|other| other.id != entity.id && record_words(other).is_superset(&picking));
            let expect = if shared {
                Expect::Fitting(picking)
            } else {
                Expect::Record(entity.id.clone())
            };
            push(frame.replace("{}", name), expect);
        }
    }
}

/// The inquiries for `client` naming records of `kind` it does not have.
fn foreign_cases(
    client: &Client,
    kind: &str,
    pack_records: &[&Entity],
    intents: &[&str],
    out: &mut Vec<Case>,
) {
    let own: Vec<&Entity> = client.entities_of(kind).collect();
    let own_ids: BTreeSet<&str> = own.iter().map(|entity| entity.id.as_str()).collect();
    let own_numbers: BTreeSet<String> = own.iter().flat_map(|e| record_numbers(e)).collect();
    let fits_own = |name: &str| {
        let picking = picking_words(name, kind);
        own.iter()
            .any(|entity| record_words(entity).is_superset(&picking))
    };
    let mut references: Vec<String> = Vec::new();
    // Other clients' ids whose numbers are none of the client's.
    for other in pack_records {
        let foreign_number = last_number(&other.id).is_none_or(|(_, number)| {
            !own_numbers.contains(numbers(number).iter().next().map_or("", String::as_str))
        });
        if !own_ids.contains(other.id.as_str()) && foreign_number {
            references.push(other.id.clone());
        }
    }
    // One above and one below each of the client's numbers.
    for entity in &own {
        let Some((start, number)) = last_number(&entity.id) else {
            continue;
        };
        let Ok(value) = number.parse::<u64>() else {
            continue;
        };
        for neighbour in [value + 1, value.saturating_sub(1)] {
            let written = format!("{neighbour:0width$}", width = number.len());
            if own_numbers.contains(&neighbour.to_string()) {
                continue;
            }
            references.push(format!("{}{written}", &entity.id[..start]));
            if !is_year(&written) {
                references.push(written);
            }
        }
    }
    // Other clients' names, and names made up of the pack's words around the client's.
    let mut names: BTreeSet<String> = pack_records
        .iter()
        .flat_map(|entity| std::iter::once(&entity.name).chain(&entity.aliases))
        .filter(|name| last_number(name).is_none() && !fits_own(name))
        .cloned()
        .collect();
    let vocabulary: BTreeSet<String> = pack_records.iter().flat_map(|e| record_words(e)).collect();
    // (A name with a number names its record by that number, whatever words come with it.)
    for entity in own.iter().filter(|entity| !has_number(&entity.name)) {
        let known = record_words(entity);
        let invented = vocabulary
            .iter()
            .filter(|word| {
                !known.contains(*word)
                    && word.chars().count() > 3
                    && word.chars().all(char::is_alphabetic)
            })
            .map(|word| format!("{word} {}", entity.name))
            .filter(|name| !fits_own(name))
            .take(2);
        names.extend(invented);
    }
    for intent in intents {
        for (reference, frame) in references.iter().zip(ID_FRAMES.iter().cycle()) {
            out.push(Case {
                client: client.id.clone(),
                intent: (*intent).to_owned(),
                text: frame.replace("{}", reference),
                expect: Expect::NoRecord,
            });
        }
        for (name, frame) in names.iter().zip(NAME_FRAMES.iter().cycle()) {
            out.push(Case {
                client: client.id.clone(),
                intent: (*intent).to_owned(),
                text: frame.replace("{}", name),
                expect: Expect::NoRecord,
            });
        }
    }
}

/// What is wrong with `outcome` for `case`, if anything.
fn judge(pack: &Pack, case: &Case, outcome: &Result<Answer, NoAnswer>) -> Option<String> {
    let client = pack.data.client(&case.client)?;
    let named = match outcome {
        Ok(answer) => answer.entity_id.clone(),
        Err(_) => None,
    };
    match (&case.expect, outcome, named) {
        (Expect::Record(id), _, Some(named)) if named == *id => None,
        (Expect::Record(id), outcome, _) => Some(format!("expected {id}, got {outcome:?}")),
        (Expect::Fitting(picking), _, Some(named)) => {
            let fits = client
                .entities
                .iter()
                .find(|entity| entity.id == named)
                .is_some_and(|entity| record_words(entity).is_superset(picking));
            (!fits).then(|| format!("{named} lacks some of {picking:?}"))
        }
        (Expect::Fitting(_), Ok(answer), None) => {
            Some(format!("an answer about no record: {}", answer.text))
        }
        (
            Expect::Fitting(_),
            Err(NoAnswer::NoSuchRecord { .. } | NoAnswer::NoSuchName { .. }),
            _,
        ) => Some(format!(
            "one of the client's records taken for missing: {outcome:?}"
        )),
        (Expect::Fitting(_), Err(_), None) => None,
        (Expect::NoRecord, _, Some(named)) => Some(format!("named {named}")),
        (Expect::NoRecord, Ok(answer), None) => answer
            .facts
            .iter()
            .all(|fact| fact.name != "asked")
            .then(|| format!("not a no-such-record answer: {}", answer.text)),
        (
            Expect::NoRecord,
            Err(
                NoAnswer::NoSuchRecord { .. }
                | NoAnswer::NoSuchName { .. }
                | NoAnswer::NoData { .. },
            ),
            None,
        ) => None,
        (Expect::NoRecord, Err(other), None) => Some(format!("not seen as missing: {other}")),
    }
}

/// Generates the inquiries for `name`, asks them all, and returns the failures and the count.
fn check_pack(name: &str) -> (Vec<String>, usize) {
    let pack = Pack::load(name);
    let mut intents_by_kind: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (intent, status_kind) in &pack.kinds {
        if let Some(kind) = pack.data.templates().entity_kind(intent, status_kind) {
            intents_by_kind
                .entry(kind.to_owned())
                .or_default()
                .push(intent);
        }
    }
    let mut cases = Vec::new();
    for (kind, intents) in &intents_by_kind {
        let pack_records: Vec<&Entity> = pack
            .data
            .clients()
            .iter()
            .flat_map(|client| client.entities_of(kind))
            .collect();
        for client in pack.data.clients() {
            for entity in client.entities_of(kind) {
                own_cases(client, entity, intents, &mut cases);
            }
            foreign_cases(client, kind, &pack_records, intents, &mut cases);
        }
    }
    let failures = cases
        .iter()
        .filter_map(|case| {
            let outcome = pack.ask(&case.client, &case.intent, &case.text);
            judge(&pack, case, &outcome).map(|problem| {
                format!(
                    "{name}/{} {} {:?}: {problem}",
                    case.client, case.intent, case.text
                )
            })
        })
        .collect();
    (failures, cases.len())
}

/// Every record asked about in every way is the one answered about; a record the client does
/// not have is never answered with another.
#[test]
fn answers_name_only_the_record_asked_about() {
    for (name, least) in [("agency", 1_500), ("distributor", 5_000)] {
        let (failures, asked) = check_pack(name);
        assert!(asked >= least, "{name}: only {asked} inquiries generated");
        assert!(
            failures.is_empty(),
            "{} of {asked} inquiries went wrong, e.g.:\n{}",
            failures.len(),
            failures
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
