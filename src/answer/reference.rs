//! Record numbers and ids: what identifies a record, and which spans of an inquiry name a record
//! of a kind by number or id.
//!
//! A record is identified by its id, by each field value that is a code (one run of letters and
//! digits without spaces, such as an invoice `number` or a shipment's `tracking`; dates and
//! links are not codes), and by the codes and plain numbers of three or more digits in its name
//! and aliases ("Order ORD-58290", an alias "0398"; not an amount such as "52,118.40"). Each identifier is compared in its compact
//! form (ASCII letters and digits, lower-cased: "INV-2026-0412" is "inv20260412"), without its
//! leading letters ("20260412"), and by its numbers (digit runs, leading zeros ignored, a year
//! beside another number left out: INV-2026-0412 is numbered 412).
//!
//! An inquiry is cut into chunks (ASCII letters and digits, joined by `-`, `_`, `.`, `:` and
//! thousands commas). A chunk, or up to five neighbouring chunks run together, that equals an
//! identifier of one of the client's records names that record; so does a number equal to one of
//! a record's numbers, alone or after the kind's prefix ("inv 1042", "#1042", "№ 1042"). What is
//! left is a *reference to a record the client does not have* when it has the shape of one:
//! - a code of a record of the kind in the pack, of any client ("CA-DOBRYKUT");
//! - a code whose leading letters are a prefix of the kind's ids in the pack ("INV-1043"), or a
//!   code with an unknown prefix and a number of three or more digits that is not a year
//!   ("XYZ-1043"); a code whose prefix belongs to another kind ("D-114" in an invoice question)
//!   is not about this kind, and one starting with digits is a quantity ("500ml");
//! - a number after the kind's name, prefix, `#`, `№`, `no` or `nr` ("invoice 7", "#7");
//! - a bare number of three or more digits, for a kind whose records are numbered in the pack,
//!   unless it is a year (1900–2099), an amount (after a currency sign or before a currency code,
//!   `%` or a unit: "€1,200", "4800 GBP", "500 ml"), part of a date, time or decimal ("30.11.2026",
//!   "14:30", "0.63") or the tail of a spaced thousands group ("1 200").

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization;

use super::date::Timestamp;

/// The shortest number that names a record without a prefix or mark ("1042", not "7").
const MIN_BARE_DIGITS: usize = 3;

/// The most neighbouring chunks read together as one id ("C BW 2026 10 G").
const MAX_WINDOW: usize = 5;

/// Words that mark the number after them as a record number ("No. 1042", "Nr. 1042").
const NUMBER_MARKS: [&str; 2] = ["no", "nr"];

/// Currency codes that make the number beside them an amount ("GBP 4800", "4800 GBP").
const CURRENCIES: [&str; 28] = [
    "usd", "eur", "gbp", "chf", "jpy", "cny", "rmb", "rub", "byn", "uah", "pln", "czk", "huf",
    "sek", "nok", "dkk", "cad", "aud", "nzd", "inr", "brl", "mxn", "ils", "aed", "sgd", "hkd",
    "krw", "kzt",
];

/// Units and currency words that make the number before them a quantity or an amount.
const UNITS: [&str; 31] = [
    "ml", "l", "kg", "g", "mg", "t", "km", "m", "cm", "mm", "pcs", "pc", "x", "h", "hr", "hrs",
    "min", "mins", "gb", "mb", "kb", "tb", "px", "k", "euro", "euros", "dollars", "pounds",
    "hours", "days", "cases",
];

/// Currency and amount words in other scripts after a number ("1200 руб", "1200元").
const AMOUNT_WORDS: [&str; 9] = ["руб", "р.", "евро", "долл", "фунт", "юан", "元", "円", "%"];

/// Currency signs before a number.
const CURRENCY_SIGNS: [char; 16] = [
    '$', '€', '£', '¥', '₽', '₴', '₹', '₩', '₺', '₪', '¢', '₫', '₦', '₱', '₸', '₼',
];

/// The codes and numbers that identify one record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Identifiers {
    /// Compact forms, with and without their leading letters: "inv1042", "1042".
    compacts: BTreeSet<String>,
    /// Numbers without leading zeros: "1042", "412".
    numbers: BTreeSet<String>,
    /// Leading letters of the compact forms: "inv".
    prefixes: BTreeSet<String>,
}

impl Identifiers {
    /// What identifies the record with `id`, `fields`, `name` and `aliases`.
    pub(crate) fn new<'a>(
        id: &str,
        fields: impl Iterator<Item = &'a String>,
        names: impl Iterator<Item = &'a str>,
    ) -> Self {
        let mut identifiers = Self::default();
        identifiers.add(id);
        for value in fields.filter(|value| is_code_value(value)) {
            identifiers.add(value);
        }
        for name in names {
            for chunk in chunks(name) {
                let shape = Shape::of(&chunk.text);
                let numbered = shape.longest_non_year_run() >= MIN_BARE_DIGITS;
                if numbered && (shape.is_code() || (shape.is_number() && chunk.is_plain())) {
                    identifiers.add(&chunk.text);
                }
            }
        }
        identifiers
    }

    /// Adds one identifier.
    fn add(&mut self, identifier: &str) {
        let shape = Shape::of(identifier);
        if shape.compact.is_empty() {
            return;
        }
        self.prefixes.insert(shape.prefix.clone());
        let years_left_out = shape.runs.len() > 1;
        for run in &shape.runs {
            if !(years_left_out && is_year(run)) {
                self.numbers.insert(without_leading_zeros(run).to_owned());
            }
        }
        self.compacts
            .insert(shape.compact[shape.prefix.len()..].to_owned());
        self.compacts.insert(shape.compact);
        self.compacts.remove("");
    }

    /// The leading letters of the record's identifiers ("inv"; "" for a plain number).
    pub(crate) fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.prefixes.iter().map(String::as_str)
    }

    /// The compact forms that hold a letter ("inv1042", "cadobrykut").
    pub(crate) fn codes(&self) -> impl Iterator<Item = &str> {
        self.compacts
            .iter()
            .filter(|compact| compact.bytes().any(|b| b.is_ascii_alphabetic()))
            .map(String::as_str)
    }

    /// Whether some number of the record has three or more digits.
    pub(crate) fn is_numbered(&self) -> bool {
        self.numbers
            .iter()
            .any(|number| number.len() >= MIN_BARE_DIGITS)
    }

    /// Whether `reference` names this record.
    fn named_by(&self, reference: &Shape) -> bool {
        if self.compacts.contains(&reference.compact) {
            return true;
        }
        let digits: usize = reference.runs.iter().map(String::len).sum();
        let Some(number) = reference.runs.last() else {
            return false;
        };
        if reference.prefix.len() + digits != reference.compact.len() {
            return false;
        }
        let prefixed = reference.prefix.is_empty() || self.prefixes.contains(&reference.prefix);
        prefixed && self.numbers.contains(without_leading_zeros(number))
    }
}

/// How the records of a kind are identified across a pack: what a reference to one looks like.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct KindShape {
    /// Leading letters of the kind's identifiers ("inv").
    pub(crate) prefixes: BTreeSet<String>,
    /// The words of the kind's name ("invoice"), which mark a number after them.
    pub(crate) words: BTreeSet<String>,
    /// Leading letters of other kinds' identifiers that are not this kind's.
    pub(crate) foreign_prefixes: BTreeSet<String>,
    /// The compact codes of all the kind's records in the pack, of all clients: another
    /// client's id is a reference even without digits ("CA-DOBRYKUT").
    pub(crate) codes: BTreeSet<String>,
    /// Whether some record of the kind has a number of three or more digits.
    pub(crate) numbered: bool,
}

impl KindShape {
    /// Whether `word`, a chunk of letters, marks the number after it.
    fn marks(&self, word: &Shape) -> bool {
        word.runs.is_empty()
            && (self.prefixes.contains(&word.compact)
                || self.words.contains(&word.compact)
                || NUMBER_MARKS.contains(&word.compact.as_str()))
    }
}

/// What the references of an inquiry name among one client's records of a kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Referenced {
    /// Positions of the records named, in the order of `records`.
    pub(crate) named: Vec<usize>,
    /// References to records the client does not have, as written.
    pub(crate) unknown: Vec<String>,
}

/// Reads the references in `text` to records of a kind shaped as `kind`, against the client's
/// records of that kind (`records`, their identifiers).
pub(crate) fn referenced(text: &str, records: &[&Identifiers], kind: &KindShape) -> Referenced {
    let text: String = text.nfkc().collect();
    let chunks = chunks(&text);
    let shapes: Vec<Shape> = chunks.iter().map(|chunk| Shape::of(&chunk.text)).collect();
    let marked: Vec<bool> = (0..chunks.len())
        .map(|index| {
            chunks[index].after_hash
                || (index > 0 && chunks[index].joined && kind.marks(&shapes[index - 1]))
        })
        .collect();
    let mut used = vec![false; chunks.len()];
    let mut named = BTreeSet::new();
    // The client's identifiers first, then the kind's codes in the pack, each the widest runs
    // of neighbouring chunks first.
    for_each_window(&chunks, &mut used, |window, start| {
        let reference = Shape::of(&joined(window));
        let plain_number = reference.is_number()
            && window
                .iter()
                .all(|chunk| chunk.is_plain() && !chunk.is_amount && !chunk.is_thousands_tail);
        let a_number = plain_number
            && (marked[start]
                || (reference.compact.len() >= MIN_BARE_DIGITS && !is_year(&reference.compact)));
        let has_letters = reference.compact.bytes().any(|b| b.is_ascii_alphabetic());
        if !(a_number || has_letters) {
            return false;
        }
        let by_number = window.len() == 1 && (a_number || reference.is_code());
        let hits: Vec<usize> = records
            .iter()
            .enumerate()
            .filter(|(_, record)| {
                record.compacts.contains(&reference.compact)
                    || (by_number && record.named_by(&reference))
            })
            .map(|(position, _)| position)
            .collect();
        named.extend(&hits);
        !hits.is_empty()
    });
    let mut unknown = Vec::new();
    for_each_window(&chunks, &mut used, |window, _| {
        let written = joined(window);
        let reference = Shape::of(&written);
        let known = reference.compact.bytes().any(|b| b.is_ascii_alphabetic())
            && kind.codes.contains(&reference.compact);
        if known {
            unknown.push(written);
        }
        known
    });
    for (index, chunk) in chunks.iter().enumerate() {
        if used[index] {
            continue;
        }
        let shape = &shapes[index];
        let is_reference = if shape.is_number() {
            chunk.is_plain()
                && (marked[index]
                    || (kind.numbered
                        && shape.compact.len() >= MIN_BARE_DIGITS
                        && !is_year(&shape.compact)
                        && !chunk.is_amount
                        && !chunk.is_thousands_tail))
        } else if shape.is_code() {
            let prefix = shape.prefix.as_str();
            !prefix.is_empty()
                && (NUMBER_MARKS.contains(&prefix)
                    || kind.prefixes.contains(prefix)
                    || (!kind.foreign_prefixes.contains(prefix)
                        && shape.longest_non_year_run() >= MIN_BARE_DIGITS))
        } else {
            false
        };
        if !is_reference {
            continue;
        }
        let id_prefix = index
            .checked_sub(1)
            .filter(|&previous| chunk.joined && !used[previous] && shape.is_number())
            .filter(|&previous| kind.prefixes.contains(&shapes[previous].compact));
        unknown.push(match id_prefix {
            Some(previous) => format!("{} {}", chunks[previous].text, chunk.text),
            None if chunk.after_hash => format!("#{}", chunk.text),
            None => chunk.text.clone(),
        });
    }
    Referenced {
        named: named.into_iter().collect(),
        unknown,
    }
}

/// The chunks of `window` as one text, blank-separated so their digit runs stay apart.
fn joined(window: &[Chunk]) -> String {
    let texts: Vec<&str> = window.iter().map(|chunk| chunk.text.as_str()).collect();
    texts.join(" ")
}

/// Calls `visit` on each run of one to five neighbouring chunks not yet `used`, the widest
/// first, with the run and its start; a run `visit` takes (returns true for) is used.
fn for_each_window(
    chunks: &[Chunk],
    used: &mut [bool],
    mut visit: impl FnMut(&[Chunk], usize) -> bool,
) {
    for width in (1..=MAX_WINDOW).rev() {
        for start in 0..chunks.len().saturating_sub(width - 1) {
            let window = start..start + width;
            let parts = &chunks[window.clone()];
            let free = !used[window.clone()].contains(&true);
            let neighbours = parts[1..].iter().all(|chunk| chunk.joined);
            if free && neighbours && visit(parts, start) {
                used[window].iter_mut().for_each(|used| *used = true);
            }
        }
    }
}

/// Whether `value`, a field value, is a code: letters and digits in one run, not a date or link.
fn is_code_value(value: &str) -> bool {
    let shape = Shape::of(value);
    !value.contains(char::is_whitespace)
        && !value.contains('/')
        && shape.is_code()
        && Timestamp::parse(value).is_none()
}

/// A four-digit number from 1900 to 2099.
fn is_year(digits: &str) -> bool {
    digits.len() == 4 && ("1900".."2100").contains(&digits)
}

fn without_leading_zeros(digits: &str) -> &str {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() && !digits.is_empty() {
        "0"
    } else {
        trimmed
    }
}

/// The letters-and-digits make-up of a chunk or identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    /// ASCII letters and digits, lower-cased.
    compact: String,
    /// The letters before the first digit.
    prefix: String,
    /// The runs of digits, in order.
    runs: Vec<String>,
}

impl Shape {
    fn of(text: &str) -> Self {
        let compact: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let prefix: String = compact
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        let runs = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|run| !run.is_empty())
            .map(str::to_owned)
            .collect();
        Self {
            compact,
            prefix,
            runs,
        }
    }

    /// Digits only.
    fn is_number(&self) -> bool {
        !self.compact.is_empty()
            && self.prefix.is_empty()
            && self.runs.len() == 1
            && self.runs[0].len() == self.compact.len()
    }

    /// Letters and digits both.
    fn is_code(&self) -> bool {
        !self.runs.is_empty() && self.compact.bytes().any(|b| b.is_ascii_alphabetic())
    }

    /// The length of the longest digit run that is not a year.
    fn longest_non_year_run(&self) -> usize {
        self.runs
            .iter()
            .filter(|run| !is_year(run))
            .map(String::len)
            .max()
            .unwrap_or(0)
    }
}

/// A run of ASCII letters and digits with its inner connectors, and what surrounds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chunk {
    text: String,
    /// Whether at most three blanks, dashes, colons, dots or `#` separate it from the chunk
    /// before.
    joined: bool,
    /// Whether a `#` or `№` comes right before it.
    after_hash: bool,
    /// Whether a currency comes before it, or a currency, unit or `%` after it.
    is_amount: bool,
    /// Whether it is three digits after a number of one to three digits and a blank ("1 200").
    is_thousands_tail: bool,
}

impl Chunk {
    /// Letters and digits alone, without connectors (not "30.11.2026", "14:30" or "1,200").
    fn is_plain(&self) -> bool {
        self.text.bytes().all(|b| b.is_ascii_alphanumeric())
    }
}

/// Cuts `text` into chunks.
fn chunks(text: &str) -> Vec<Chunk> {
    let chars: Vec<char> = text.chars().collect();
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut gap = String::new();
    let mut index = 0;
    while index < chars.len() {
        if !chars[index].is_ascii_alphanumeric() {
            gap.push(chars[index]);
            index += 1;
            continue;
        }
        let start = index;
        while index < chars.len() && continues_chunk(&chars, index) {
            index += 1;
        }
        let text: String = chars[start..index].iter().collect();
        let gap_is_short = gap.chars().count() <= 3
            && gap
                .chars()
                .all(|c| c.is_whitespace() || matches!(c, '-' | ':' | '.' | '#' | '№'));
        let joined = !chunks.is_empty() && gap_is_short;
        let before = gap.trim_end();
        let after = chars[index..].iter().collect::<String>().to_lowercase();
        let after = after.trim_start();
        let next_word = after
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default();
        let currency_before = before.ends_with(CURRENCY_SIGNS)
            || chunks.last().is_some_and(|previous| {
                joined && CURRENCIES.contains(&previous.text.to_ascii_lowercase().as_str())
            });
        let amount_after = AMOUNT_WORDS.iter().any(|word| after.starts_with(word))
            || CURRENCIES.contains(&next_word)
            || UNITS.contains(&next_word);
        let is_digits = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
        let is_thousands_tail = text.len() == 3
            && is_digits(&text)
            && gap.chars().count() == 1
            && gap.chars().all(char::is_whitespace)
            && chunks
                .last()
                .is_some_and(|previous| previous.text.len() <= 3 && is_digits(&previous.text));
        chunks.push(Chunk {
            text,
            joined,
            after_hash: before.ends_with(['#', '№']),
            is_amount: currency_before || amount_after,
            is_thousands_tail,
        });
        gap.clear();
    }
    chunks
}

/// Whether the character at `index` continues the chunk it is in: a letter or digit, a `-`,
/// `_`, `.` or `:` between two of them, or a comma before exactly three digits after a digit.
fn continues_chunk(chars: &[char], index: usize) -> bool {
    let c = chars[index];
    if c.is_ascii_alphanumeric() {
        return true;
    }
    let digit_at = |at: usize| chars.get(at).is_some_and(char::is_ascii_digit);
    let alphanumeric_next = chars
        .get(index + 1)
        .is_some_and(char::is_ascii_alphanumeric);
    match c {
        '-' | '_' | '.' | ':' => alphanumeric_next,
        ',' => {
            index > 0
                && digit_at(index - 1)
                && (1..=3).all(|offset| digit_at(index + offset))
                && !digit_at(index + 4)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(id: &str, fields: &[&str], names: &[&str]) -> Identifiers {
        let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        Identifiers::new(id, fields.iter(), names.iter().copied())
    }

    fn invoices() -> Vec<Identifiers> {
        vec![
            ids(
                "INV-1038",
                &["4,800.00", "GBP", "2026-10-30"],
                &["September SEO retainer"],
            ),
            ids(
                "INV-1042",
                &["https://billing.example/INV-1042.pdf"],
                &["October SEO retainer"],
            ),
            ids("INV-1045", &[], &["Website redesign, milestone 2"]),
        ]
    }

    fn invoice_shape() -> KindShape {
        KindShape {
            prefixes: ["inv"].map(str::to_owned).into(),
            words: ["invoice"].map(str::to_owned).into(),
            foreign_prefixes: ["d", "p", "m"].map(str::to_owned).into(),
            codes: ["inv1031", "inv1043"].map(str::to_owned).into(),
            numbered: true,
        }
    }

    fn read(text: &str, records: &[Identifiers], shape: &KindShape) -> (Vec<usize>, Vec<String>) {
        let records: Vec<&Identifiers> = records.iter().collect();
        let found = referenced(text, &records, shape);
        (found.named, found.unknown)
    }

    /// Ids and numbers name their record in every usual form.
    #[test]
    fn ids_and_numbers_name_their_record() {
        for text in [
            "is invoice 1042 paid?",
            "#1042",
            "INV-1042",
            "inv 1042",
            "INV1042 for november",
            "ＩＮＶ－１０４２",
            "№ 1042",
            "Rechnung Nr. 1042",
            "发票1042付了吗",
            "счёт INV 1042 оплачен?",
        ] {
            assert_eq!(
                read(text, &invoices(), &invoice_shape()),
                (vec![1], vec![]),
                "{text}"
            );
        }
        assert_eq!(
            read("1042 and 1045", &invoices(), &invoice_shape()),
            (vec![1, 2], vec![])
        );
    }

    /// Numbers and ids of records the client does not have are references all the same.
    #[test]
    fn unknown_numbers_and_ids_are_references() {
        for (text, written) in [
            ("can you send me a copy of invoice INV-1043?", "INV-1043"),
            ("copy of invoice 1031", "1031"),
            ("invoice #7 please", "#7"),
            ("invoice 7 please", "7"),
            ("what about XYZ-1043", "XYZ-1043"),
            ("invoice 2026", "2026"),
            ("INV-1042-B", "INV-1042-B"),
        ] {
            assert_eq!(
                read(text, &invoices(), &invoice_shape()),
                (vec![], vec![written.to_owned()]),
                "{text}"
            );
        }
    }

    /// Years, amounts, dates, times, quantities and other kinds' ids are not invoice numbers.
    #[test]
    fn years_amounts_and_dates_are_not_record_numbers() {
        for text in [
            "is the invoice from last week paid?",
            "the invoice for 2026",
            "we paid €1,200 yesterday",
            "we paid 4800 GBP",
            "we paid 1 200 руб",
            "paid 1200元",
            "is it due on 30 Nov?",
            "due 30.11.2026 or 2026-11-30 or 30/11/2026?",
            "meeting at 14:30",
            "cpc was 0.63",
            "order 500 ml of it",
            "500ml bottles",
            "the GA4 and Q4 work",
            "deliverable D-114 invoice",
            "a 20% discount",
        ] {
            assert_eq!(
                read(text, &invoices(), &invoice_shape()),
                (vec![], vec![]),
                "{text}"
            );
        }
    }

    /// A kind without numbered records takes no bare number as a reference, only a marked one.
    #[test]
    fn unnumbered_kinds_take_only_marked_numbers() {
        let shape = KindShape {
            numbered: false,
            ..invoice_shape()
        };
        assert_eq!(
            read("we used 120 hours", &invoices(), &shape),
            (vec![], vec![])
        );
        assert_eq!(
            read("#120", &invoices(), &shape),
            (vec![], vec!["#120".to_owned()])
        );
    }

    /// Identifiers come from the id, code-valued fields and numbered codes in names and aliases.
    #[test]
    fn identifiers_of_a_distributor_invoice() {
        let freshmart = [
            ids(
                "INV-0412",
                &["INV-2026-0412", "2026-12-15", "open"],
                &["November deliveries, weeks 45-46"],
            ),
            ids("INV-0431", &["INV-2026-0431"], &["Order ORD-58290"]),
            ids(
                "PAY-FM-1188",
                &["FM-PAY-1188", "INV-2026-0398"],
                &["Payment of 52,118.40 GBP", "0398"],
            ),
            ids(
                "PAY-FM-1203",
                &["FM-PAY-1203"],
                &["Payment of 4,850.00 GBP"],
            ),
        ];
        let shape = KindShape {
            prefixes: ["inv", "ord", "payfm", "fmpay"].map(str::to_owned).into(),
            ..KindShape::default()
        };
        for (text, named) in [
            ("is INV-2026-0412 paid?", 0),
            ("INV 2026 0412", 0),
            ("invoice 0412", 0),
            ("invoice 412", 0),
            ("the invoice for order ORD-58290", 1),
            ("order 58290", 1),
            ("payment for 0398", 2),
            ("FM-PAY-1188", 2),
        ] {
            assert_eq!(
                read(text, &freshmart, &shape),
                (vec![named], vec![]),
                "{text}"
            );
        }
        assert!(
            !freshmart[0].numbers.contains("2026"),
            "a year beside a number"
        );
        assert!(!freshmart[2].numbers.contains("118"), "an amount in a name");
        assert!(!freshmart[0].numbers.contains("45"));
        assert!(freshmart[0].is_numbered());
        assert!(!ids("C-ACME-2026-10", &[], &["October campaign"]).is_numbered());
        assert!(!ids("H-1", &["https://x.example/H-100"], &["Q4 2026 hours"]).is_numbered());
    }
}
