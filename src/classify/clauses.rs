//! Clauses: an inquiry cut into the questions it may hold, so that one of two questions of
//! different tiers is never dropped.
//!
//! The text is cut at sentence boundaries (Unicode UAX #29, unicode-segmentation), then each
//! sentence at a comma or semicolon followed by a coordinating conjunction ("…, and what do you
//! think…", "…, und …", "…, а …", "…，還有…"). A bare "and" is never a cut: "design and build"
//! is one request. Parts without a word are dropped. The classifier classifies each part and
//! only acts when confident parts disagree in tier, so a cut that splits one question in two
//! costs nothing but time.

use unicode_segmentation::UnicodeSegmentation;

/// Conjunctions that, after a comma or semicolon, start a new clause.
const CONJUNCTIONS: &[&str] = &[
    "and",
    "but",
    "also",
    "plus",
    "und",
    "aber",
    "sowie",
    "außerdem",
    "ausserdem",
    "и",
    "а",
    "но",
    "также",
    "ещё",
    "еще",
    "і",
    "але",
    "таксама",
    "et",
    "mais",
    "y",
    "pero",
    "e",
    "ma",
];

/// Conjunctions of unspaced scripts, which start a new clause right after a comma.
const UNSPACED_CONJUNCTIONS: &[&str] = &[
    "還有", "还有", "另外", "以及", "並且", "并且", "而且", "但是",
];

/// The most parts an inquiry is cut into; longer texts keep their tail in the last part.
pub const MAX_PARTS: usize = 6;

/// The clauses of `text`, in order; a single clause means nothing to split.
pub fn clauses(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for sentence in text.split_sentence_bounds() {
        let mut start = 0;
        for (at, _) in sentence.match_indices([',', ';', '，', '；', '、']) {
            let rest = &sentence[at..];
            let after = rest
                .char_indices()
                .nth(1)
                .map_or("", |(i, _)| rest[i..].trim_start());
            if starts_with_conjunction(after) {
                parts.push(&sentence[start..at]);
                start = sentence.len() - after.len();
            }
        }
        parts.push(&sentence[start..]);
    }
    let mut parts: Vec<&str> = parts
        .into_iter()
        .map(str::trim)
        .filter(|p| p.chars().any(char::is_alphanumeric))
        .collect();
    if parts.len() > MAX_PARTS {
        let tail_start = parts[MAX_PARTS - 1].as_ptr() as usize - text.as_ptr() as usize;
        parts.truncate(MAX_PARTS - 1);
        parts.push(text[tail_start..].trim());
    }
    parts
}

fn starts_with_conjunction(text: &str) -> bool {
    let first_word = text
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_lowercase();
    CONJUNCTIONS.contains(&first_word.as_str())
        || UNSPACED_CONJUNCTIONS.iter().any(|c| text.starts_with(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sentences and conjoined clauses are parts; a bare "and" is not a cut.
    #[test]
    fn cuts_at_sentences_and_conjoined_clauses() {
        assert_eq!(
            clauses("is invoice 1045 paid, and what do you think about redesigning our logo?"),
            vec![
                "is invoice 1045 paid",
                "and what do you think about redesigning our logo?"
            ]
        );
        assert_eq!(
            clauses("When is the meeting? Also, the logo looks dated. Thoughts?"),
            vec![
                "When is the meeting?",
                "Also, the logo looks dated.",
                "Thoughts?"
            ]
        );
        assert_eq!(
            clauses("can you design and build a landing page"),
            vec!["can you design and build a landing page"]
        );
        assert_eq!(
            clauses("Счёт 1045 оплачен, а что вы думаете о новом логотипе?"),
            vec!["Счёт 1045 оплачен", "а что вы думаете о новом логотипе?"]
        );
        assert_eq!(
            clauses("發票1045付了嗎，還有你們覺得新標誌怎麼樣"),
            vec!["發票1045付了嗎", "還有你們覺得新標誌怎麼樣"]
        );
        assert_eq!(clauses("?!"), Vec::<&str>::new());
    }

    /// A long text keeps everything: the parts past the limit stay in the last one.
    #[test]
    fn long_texts_keep_their_tail() {
        let text = "One. Two. Three. Four. Five. Six. Seven. Eight.";
        let parts = clauses(text);
        assert_eq!(parts.len(), MAX_PARTS);
        assert_eq!(parts[MAX_PARTS - 1], "Six. Seven. Eight.");
    }
}
