//! The question's prose: what of an inquiry's text the classifier reads.
//!
//! Clients paste data under their questions: a CSV or TSV export, a log, a column of figures, a
//! code block. Its words say little about what is asked and, by their bulk, outweigh the
//! question's own (16 KiB of campaign figures under "why did our conversion tracking stop?"
//! reads as a paid media question). Such lines are recognised by their shape alone, so the rule
//! holds in any language and script:
//! - fenced code blocks (a line starting with three backticks or tildes opens and closes one);
//! - lines mostly of digits and symbols: fewer than two letters in five of their visible
//!   characters (figures, ids, separators, braces);
//! - runs of three or more lines of one shape: the same count of one field separator (tab,
//!   comma, semicolon, pipe; at least two, so three fields), or the same opening shape holding
//!   a digit or a symbol (`2026-12-03 10:22:01 ERROR …`, `at com.example.Shop(Shop.java:42)`),
//!   which is how tables and logs look and prose does not.
//!
//! The rest is the prose. When nothing is left (an inquiry that is all data) the whole text is
//! read. Only the classifier reads the prose: the ticket and the answer's record lookup keep the
//! whole text.

use std::borrow::Cow;

/// The fewest consecutive lines of one shape that make a table or a log.
const MIN_RUN: usize = 3;

/// How many symbols of a line's start make its opening shape (see [`opening_shape`]).
const OPENING_SYMBOLS: usize = 6;

/// The text the classifier reads of `text`: its prose, without pasted data; the whole text when
/// it has no prose, or no data.
pub fn question_prose(text: &str) -> Cow<'_, str> {
    let lines: Vec<&str> = text.lines().collect();
    let data = data_lines(&lines);
    if !data.contains(&true) {
        return Cow::Borrowed(text);
    }
    let mut prose: Vec<&str> = Vec::with_capacity(lines.len());
    for (line, _) in lines.iter().zip(&data).filter(|(_, is_data)| !**is_data) {
        // The blank lines around a block of data left out become one.
        let blank = line.trim().is_empty();
        if !(blank && prose.last().is_some_and(|last| last.trim().is_empty())) {
            prose.push(line);
        }
    }
    let prose = prose.join("\n");
    if prose.chars().any(char::is_alphabetic) {
        Cow::Owned(prose)
    } else {
        Cow::Borrowed(text)
    }
}

/// For each line, whether it is pasted data.
fn data_lines(lines: &[&str]) -> Vec<bool> {
    let mut data = vec![false; lines.len()];
    let mut in_fence = false;
    for (line, is_data) in lines.iter().zip(data.iter_mut()) {
        let fence = is_fence(line);
        *is_data = fence || in_fence || mostly_symbols(line);
        in_fence ^= fence;
    }
    mark_runs(lines, &mut data, separator_shape);
    mark_runs(lines, &mut data, opening_shape);
    data
}

/// Marks as data every run of at least [`MIN_RUN`] consecutive lines with the same shape
/// (`None` is no shape and ends a run).
fn mark_runs<K: PartialEq>(lines: &[&str], data: &mut [bool], shape: impl Fn(&str) -> Option<K>) {
    let shapes: Vec<Option<K>> = lines.iter().map(|line| shape(line)).collect();
    let mut start = 0;
    while start < shapes.len() {
        let mut end = start + 1;
        if shapes[start].is_some() {
            while end < shapes.len() && shapes[end] == shapes[start] {
                end += 1;
            }
            if end - start >= MIN_RUN {
                data[start..end].iter_mut().for_each(|d| *d = true);
            }
        }
        start = end;
    }
}

/// A line opening or closing a fenced code block.
fn is_fence(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("```") || line.starts_with("~~~")
}

/// Fewer than two in five of the line's visible characters are letters (any script).
fn mostly_symbols(line: &str) -> bool {
    let (letters, visible) = line
        .chars()
        .filter(|c| !c.is_whitespace())
        .fold((0usize, 0usize), |(letters, visible), c| {
            (letters + usize::from(c.is_alphabetic()), visible + 1)
        });
    visible > 0 && letters * 5 < visible * 2
}

/// The field separator a line uses at least twice (the most used one), with its count.
fn separator_shape(line: &str) -> Option<(char, usize)> {
    ['\t', ',', ';', '|']
        .into_iter()
        .map(|sep| (sep, line.matches(sep).count()))
        .filter(|(_, count)| *count >= 2)
        .max_by_key(|(_, count)| *count)
}

/// The shape of the line's opening, after a list marker ("- ", "2. "): its first
/// [`OPENING_SYMBOLS`] symbols, where a run of letters, of digits or of spaces is one symbol
/// and any other character is itself; `None` unless it holds a digit or another character,
/// since prose lines opening alike ("We need", "We want") are no table.
fn opening_shape(line: &str) -> Option<String> {
    let mut shape = String::new();
    for c in without_list_marker(line.trim()).chars() {
        let class = match c {
            c if c.is_alphabetic() => 'a',
            c if c.is_numeric() => '9',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if shape.ends_with(class) && matches!(class, 'a' | '9' | ' ') {
            continue;
        }
        if shape.chars().count() == OPENING_SYMBOLS {
            break;
        }
        shape.push(class);
    }
    shape.chars().any(|c| c != 'a' && c != ' ').then_some(shape)
}

/// The line without a leading bullet ("-", "*", "•") or number ("1.", "2)") and its space.
fn without_list_marker(line: &str) -> &str {
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let marker = if digits > 0 {
        line[digits..]
            .strip_prefix(['.', ')'])
            .filter(|rest| rest.starts_with(' '))
    } else {
        line.strip_prefix(['-', '*', '•'])
            .filter(|rest| rest.starts_with(' '))
    };
    marker.map_or(line, str::trim_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CSV export of `rows` lines with a header.
    fn csv(rows: usize) -> String {
        let mut csv = String::from("date,campaign,clicks,impressions,spend,conversions\n");
        for day in 0..rows {
            csv.push_str(&format!(
                "2026-11-{:02},Spring Sale Search,{},{},{}.{:02},{}\n",
                day % 28 + 1,
                120 + day,
                4_000 + day * 7,
                310 + day,
                day % 100,
                day % 9
            ));
        }
        csv
    }

    /// A question with a table, a log, a number column or a code block under it reads as the
    /// question alone.
    #[test]
    fn pasted_data_is_left_out() {
        let question = "Why did our conversion tracking stop recording purchases?";
        let log = (0..5)
            .map(|i| format!("2026-12-03 10:22:0{i} ERROR [gtm] tag fired without consent"))
            .collect::<Vec<_>>()
            .join("\n");
        let tsv = "date\tclicks\tspend\n2026-11-01\t12\t3.50\n2026-11-02\t15\t4.10\n";
        let numbers = "1042.50\n1043.00\n  17\n";
        let code = "```\nfunction track() {\n  gtag('event', 'purchase');\n}\n```";
        let trace = "at shop.Checkout.pay(Checkout.java:42)\nat shop.Checkout.run(Checkout.java:17)\nat shop.Main.main(Main.java:9)";
        for data in [
            csv(300),
            log,
            tsv.into(),
            numbers.into(),
            code.into(),
            trace.into(),
        ] {
            let text = format!("{question}\n\n{data}\nThanks, Jo");
            assert_eq!(question_prose(&text), format!("{question}\n\nThanks, Jo"));
        }
    }

    /// Prose stays whole: lists, numbers within sentences, other scripts, a short key-value
    /// pair; text with no data is returned as it is, without a copy.
    #[test]
    fn prose_is_kept() {
        for text in [
            "Is invoice INV-1042 paid?",
            "Hi,\n\nwe have three questions:\n- Can you check the tags?\n- Can you check the goals?\n- Can you check the filters?",
            "1. Is the report ready?\n2. Is the invoice paid?\n3. When is the next call?",
            "Can we move 2,500 EUR of the budget from Q3 to Q4?",
            "1042号发票显示已付款了吗？\n谢谢！",
            "Счёт 1042 оплачен?",
        ] {
            assert!(
                matches!(question_prose(text), Cow::Borrowed(t) if t == text),
                "{text:?} -> {:?}",
                question_prose(text)
            );
        }
    }

    /// An inquiry that is nothing but data is read whole: there is no question to read instead.
    #[test]
    fn all_data_is_read_whole() {
        let text = csv(5);
        assert_eq!(question_prose(&text), text);
        assert_eq!(question_prose("1042?"), "1042?");
    }

    /// Two lines of one shape are not a table; an unclosed fence runs to the end.
    #[test]
    fn runs_and_fences() {
        let two = "We ordered red, green, blue.\nAnd got pink, grey, black.";
        assert_eq!(question_prose(two), two);
        let unclosed = "Does this snippet break the tracking?\n```\nlet x = shop.checkout();";
        assert_eq!(
            question_prose(unclosed),
            "Does this snippet break the tracking?"
        );
    }
}
