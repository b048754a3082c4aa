//! The one text normalizer shared by the keyword index and the features.
//!
//! Text is Unicode-normalized (NFKC, so full-width forms and ligatures fold to their plain
//! letters), accents on Latin, Greek and Cyrillic letters are dropped, and case is folded.
//! It is then cut into *runs*: a run is either a word of a spaced script (letters and digits,
//! apostrophes inside a word dropped) or a maximal stretch of an unspaced script (Chinese,
//! Japanese kana, Thai, ...). A spaced run is one word token; an unspaced run yields one token per
//! character, so word bigrams over it are character bigrams and no dictionary is needed.
//! Emoji are kept as one-character tokens, since "😡" says something; other symbols separate runs.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A normalized text: its runs, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormalizedText {
    runs: Vec<Run>,
}

/// One run of the normalized text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The run's characters, normalized.
    pub text: String,
    /// Whether the run is from a script written without spaces (one token per character).
    pub unspaced: bool,
}

impl NormalizedText {
    /// Normalizes `text`; never fails, whatever the input.
    pub fn new(text: &str) -> Self {
        let mut runs = Vec::new();
        let mut current = String::new();
        let mut current_unspaced = false;
        let flush = |current: &mut String, unspaced: bool, runs: &mut Vec<Run>| {
            if !current.is_empty() {
                runs.push(Run {
                    text: std::mem::take(current),
                    unspaced,
                });
            }
        };
        let normalized = nfkc_without_accents(text);
        let mut chars = normalized.chars().peekable();
        while let Some(c) = chars.next() {
            if is_combining_mark(c) {
                // Marks left after folding carry meaning (Devanagari vowel signs, for instance)
                // and stay inside their word.
                if !current.is_empty() {
                    current.push(c);
                }
                continue;
            }
            let is_apostrophe = c == '\'' || c == '\u{2019}';
            if is_apostrophe
                && !current.is_empty()
                && !current_unspaced
                && chars.peek().is_some_and(|next| next.is_alphanumeric())
            {
                continue;
            }
            if is_unspaced_script(c) {
                if !current_unspaced {
                    flush(&mut current, false, &mut runs);
                }
                current_unspaced = true;
                push_folded(&mut current, c);
            } else if c.is_alphanumeric() {
                if current_unspaced {
                    flush(&mut current, true, &mut runs);
                }
                current_unspaced = false;
                push_folded(&mut current, c);
            } else {
                flush(&mut current, current_unspaced, &mut runs);
                if is_emoji(c) {
                    runs.push(Run {
                        text: c.to_string(),
                        unspaced: true,
                    });
                }
            }
        }
        flush(&mut current, current_unspaced, &mut runs);
        Self { runs }
    }

    /// The runs in text order.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The word tokens in text order: each spaced run, and each character of an unspaced run.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.runs.iter().flat_map(|run| {
            let mut rest = run.text.as_str();
            let unspaced = run.unspaced;
            std::iter::from_fn(move || {
                if rest.is_empty() {
                    return None;
                }
                let end = if unspaced {
                    rest.chars().next().map_or(rest.len(), char::len_utf8)
                } else {
                    rest.len()
                };
                let (token, tail) = rest.split_at(end);
                rest = tail;
                Some(token)
            })
        })
    }

    /// True when the text holds no token at all (empty, whitespace or punctuation only).
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// NFKC of `text` without the accents of alphabetic scripts. ASCII, most of what a helpdesk
/// reads, is that already and is borrowed as it is.
fn nfkc_without_accents(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(fold_accents(text).nfc().collect())
    }
}

/// The compatibility decomposition (NFKD) of `text` without the accents of alphabetic
/// scripts; composing it again (NFC) gives NFKC minus those accents.
fn fold_accents(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut base: Option<char> = None;
    for c in text.nfkd() {
        if !is_combining_mark(c) {
            base = Some(c);
        } else if base.is_some_and(is_accent_folding_script) {
            continue;
        }
        folded.push(c);
    }
    folded
}

/// Lower-cases `c` into `out` (full Unicode case folding of the character).
fn push_folded(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Scripts whose accents are folded away (Latin, Greek, Cyrillic and their extensions).
fn is_accent_folding_script(base: char) -> bool {
    matches!(base as u32, 0x0041..=0x052F | 0x1E00..=0x1FFF)
}

/// Scripts written without spaces between words.
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B-F, compatibility supplement
}

/// Pictographic emoji kept as tokens.
fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F300..=0x1FAFF | 0x2600..=0x27BF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        NormalizedText::new(text)
            .tokens()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn folds_case_accents_and_width() {
        assert_eq!(tokens("Café RÉSUMÉ"), ["cafe", "resume"]);
        assert_eq!(tokens("ＡＢＣ　１２３"), ["abc", "123"]);
        // A decomposed accent (e + combining acute) folds like the precomposed one.
        assert_eq!(tokens("cafe\u{301}"), ["cafe"]);
        assert_eq!(tokens("Straße ΣΟΦΙΑ"), ["straße", "σοφια"]);
    }

    #[test]
    fn keeps_marks_that_carry_meaning() {
        // Devanagari vowel signs are combining marks but part of the word.
        assert_eq!(tokens("नमस्ते"), ["नमस्ते"]);
    }

    #[test]
    fn splits_words_and_joins_apostrophes() {
        assert_eq!(
            tokens("Where's my card?? It doesn't work!"),
            ["wheres", "my", "card", "it", "doesnt", "work"]
        );
        assert_eq!(tokens("'quoted'"), ["quoted"]);
        assert_eq!(tokens("invoice #1042, paid?"), ["invoice", "1042", "paid"]);
    }

    #[test]
    fn cuts_chinese_into_characters() {
        let text = NormalizedText::new("我的卡在哪里？SEO报告");
        let runs: Vec<_> = text
            .runs()
            .iter()
            .map(|r| (r.text.as_str(), r.unspaced))
            .collect();
        assert_eq!(
            runs,
            [("我的卡在哪里", true), ("seo", false), ("报告", true)]
        );
        assert_eq!(
            tokens("我的卡在哪里？SEO报告"),
            ["我", "的", "卡", "在", "哪", "里", "seo", "报", "告"]
        );
    }

    #[test]
    fn keeps_emoji_as_tokens() {
        assert_eq!(tokens("site down 😡😡"), ["site", "down", "😡", "😡"]);
    }

    #[test]
    fn empty_and_symbol_only_text_has_no_tokens() {
        assert!(NormalizedText::new("").is_empty());
        assert!(NormalizedText::new("   \t\n ").is_empty());
        assert!(NormalizedText::new("?!… — *** \u{301}").is_empty());
    }

    /// The ASCII shortcut is sound: every ASCII character is its own NFKC without accents.
    #[test]
    fn ascii_is_already_normalized() {
        let ascii: String = (0u8..=127).map(char::from).collect();
        assert!(matches!(nfkc_without_accents(&ascii), Cow::Borrowed(_)));
        assert_eq!(fold_accents(&ascii).nfc().collect::<String>(), ascii);
    }

    #[test]
    fn very_long_text_is_normalized_whole() {
        let text = "report ".repeat(20_000);
        assert_eq!(NormalizedText::new(&text).tokens().count(), 20_000);
    }
}
