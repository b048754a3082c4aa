//! Closing remarks: "thanks, all good!", "ok got it", "спасибо, всё понятно", "danke!" — messages
//! that end a conversation and need no reply.
//!
//! The check is deliberately conservative, because swallowing a real question is far worse than
//! opening one needless ticket. A text is a closing remark only when
//! - it asks nothing: no question mark of any script;
//! - it is short (at most [`MAX_TOKENS`] tokens);
//! - *every* token is covered by a small built-in multilingual lexicon, read left to right with
//!   the longest phrase first: gratitude and acknowledgement phrases ("thank you", "got it",
//!   "alles klar", "всё понятно", "謝謝", ...) and the few words that soften them ("so much",
//!   "for your help", "again", ...);
//! - at least one of its phrases is gratitude or acknowledgement, not only softening words.
//!
//! So "thanks, when is the report due?" (a question, and "report" is in no lexicon) and "ok, but
//! the invoice is wrong" are never closing remarks. The lexicon covers English, German, Russian,
//! Belarusian, Ukrainian, Chinese (traditional and simplified), French, Spanish and Italian; a
//! closing remark in another language is classified like any text (at worst, a ticket).
//! Phrases are normalized like inquiries, so case, accents and full-width forms do not matter.

use std::sync::OnceLock;

use super::NormalizedText;

/// The most tokens a closing remark has.
pub const MAX_TOKENS: usize = 12;

/// Gratitude and acknowledgement: any one of them makes a closing remark.
const CLOSERS: &[&str] = &[
    // English
    "thanks",
    "thank you",
    "thank u",
    "thx",
    "thnx",
    "ty",
    "tnx",
    "cheers",
    "ok",
    "okay",
    "k",
    "kk",
    "okey",
    "got it",
    "gotcha",
    "understood",
    "noted",
    "perfect",
    "great",
    "awesome",
    "excellent",
    "wonderful",
    "brilliant",
    "cool",
    "fine",
    "lovely",
    "sounds good",
    "looks good",
    "all good",
    "all clear",
    "all set",
    "appreciate it",
    "appreciated",
    "much appreciated",
    "no worries",
    "no problem",
    "will do",
    "makes sense",
    "that works",
    "that helps",
    "that helped",
    "sorted",
    "great stuff",
    "bye",
    "goodbye",
    "have a nice day",
    "have a good day",
    "have a great day",
    "have a nice weekend",
    "have a good weekend",
    "have a great weekend",
    "👍",
    "🙏",
    "🙂",
    "😊",
    "👌",
    "❤",
    // German
    "danke",
    "danke schon",
    "dankeschon",
    "vielen dank",
    "besten dank",
    "herzlichen dank",
    "tausend dank",
    "alles klar",
    "alles gut",
    "prima",
    "perfekt",
    "passt",
    "in ordnung",
    "verstanden",
    "toll",
    "klasse",
    "super",
    "sehr gut",
    "gut",
    "tschuss",
    // Russian
    "спасибо",
    "спасибочки",
    "благодарю",
    "благодарим",
    "понятно",
    "понял",
    "поняла",
    "поняли",
    "ясно",
    "хорошо",
    "ок",
    "окей",
    "отлично",
    "супер",
    "договорились",
    "принято",
    "в порядке",
    "до свидания",
    // Belarusian
    "дзякуй",
    "дзякую",
    "зразумела",
    "зразумеу",
    "зразумелі",
    "добра",
    "выдатна",
    // Ukrainian
    "дякую",
    "зрозуміло",
    "добре",
    "чудово",
    // Chinese
    "謝謝",
    "谢谢",
    "多謝",
    "多谢",
    "感謝",
    "感谢",
    "好的",
    "好",
    "明白",
    "知道了",
    "了解",
    "收到",
    "沒問題",
    "没问题",
    "懂了",
    "太好了",
    "辛苦了",
    // French, Spanish, Italian
    "merci",
    "merci beaucoup",
    "daccord",
    "parfait",
    "gracias",
    "muchas gracias",
    "vale",
    "perfecto",
    "entendido",
    "grazie",
    "grazie mille",
    "perfetto",
    "va bene",
];

/// Words that soften or extend a closing remark; alone they are not one.
const SOFTENERS: &[&str] = &[
    // English
    "so",
    "very",
    "much",
    "a lot",
    "lots",
    "again",
    "all",
    "for",
    "the",
    "your",
    "you",
    "help",
    "it",
    "that",
    "this",
    "everything",
    "and",
    "now",
    "really",
    "oh",
    "ah",
    "yes",
    "yeah",
    "yep",
    "guys",
    "team",
    "everyone",
    "folks",
    "just",
    "indeed",
    "then",
    "many",
    "a",
    "lot",
    "clear",
    "is",
    "was",
    "great",
    "good",
    "fine",
    "all good",
    "quick",
    "reply",
    "response",
    "answer",
    "info",
    "information",
    // German
    "sehr",
    "vielmals",
    "nochmals",
    "fur",
    "die",
    "ihre",
    "eure",
    "hilfe",
    "ja",
    "das",
    "ist",
    "war",
    "jetzt",
    "so",
    "und",
    "euch",
    "ihnen",
    "dir",
    "alles",
    "antwort",
    "schnelle",
    // Russian, Belarusian, Ukrainian
    "большое",
    "огромное",
    "вам",
    "тебе",
    "за",
    "помощь",
    "все",
    "еще",
    "раз",
    "да",
    "так",
    "ну",
    "теперь",
    "и",
    "ответ",
    "быстрый",
    "вялікі",
    "вялiкi",
    "дапамогу",
    "усе",
    "вам",
    "дуже",
    "за допомогу",
    "все зрозуміло",
    // Chinese
    "了",
    "非常",
    "您",
    "你",
    "的",
    "幫助",
    "帮助",
    "啊",
    "哦",
    "喔",
    "嗯",
    "一切",
    "都",
    "清楚",
    "你們",
    "你们",
    "大家",
    "很",
    // French, Spanish, Italian
    "pour",
    "votre",
    "aide",
    "tout",
    "est",
    "bien",
    "muy",
    "bien",
    "todo",
    "por",
    "su",
    "ayuda",
    "tutto",
    "per",
    "l",
    "aiuto",
];

/// One lexicon phrase as normalized tokens.
struct Phrase {
    tokens: Vec<String>,
    closer: bool,
}

fn lexicon() -> &'static [Phrase] {
    static LEXICON: OnceLock<Vec<Phrase>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let phrase = |text: &str, closer: bool| Phrase {
            tokens: NormalizedText::new(text)
                .tokens()
                .map(str::to_owned)
                .collect(),
            closer,
        };
        let mut phrases: Vec<Phrase> = CLOSERS
            .iter()
            .map(|t| phrase(t, true))
            .chain(SOFTENERS.iter().map(|t| phrase(t, false)))
            .filter(|p| !p.tokens.is_empty())
            .collect();
        // Longest first, so "thank you" is read before "you" and "好的" before "好".
        phrases.sort_by(|a, b| {
            b.tokens
                .len()
                .cmp(&a.tokens.len())
                .then(b.closer.cmp(&a.closer))
        });
        phrases
    })
}

/// Whether `raw` (normalized as `text`) is a closing remark that needs no reply.
pub fn is_closing_remark(raw: &str, text: &NormalizedText) -> bool {
    if raw.contains(['?', '？', '¿', ';', '؟']) {
        return false;
    }
    let tokens: Vec<&str> = text.tokens().collect();
    if tokens.is_empty() || tokens.len() > MAX_TOKENS {
        return false;
    }
    let phrases = lexicon();
    let mut at = 0;
    let mut closed = false;
    while at < tokens.len() {
        let Some(phrase) = phrases.iter().find(|p| {
            tokens[at..].len() >= p.tokens.len()
                && p.tokens.iter().zip(&tokens[at..]).all(|(a, b)| a == b)
        }) else {
            return false;
        };
        closed |= phrase.closer;
        at += phrase.tokens.len();
    }
    closed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closing(text: &str) -> bool {
        is_closing_remark(text, &NormalizedText::new(text))
    }

    /// Thanks and acknowledgements in the clients' languages need no reply.
    #[test]
    fn closing_remarks_are_recognized() {
        for text in [
            "thanks, all good!",
            "ok got it",
            "Thank you so much for your help!",
            "Perfect, thanks again 👍",
            "спасибо, всё понятно",
            "Спасибо большое!",
            "дзякуй, усё зразумела",
            "danke!",
            "Vielen Dank, alles klar.",
            "好的，謝謝！",
            "收到，谢谢",
            "merci beaucoup",
        ] {
            assert!(closing(text), "{text}");
        }
    }

    /// A question, a request or any other content is never swallowed, thanks or not.
    #[test]
    fn questions_and_requests_are_not_closing_remarks() {
        for text in [
            "thanks, when is the report due?",
            "thanks when is the report due",
            "ok, but the invoice is wrong",
            "great, please send the invoice",
            "thanks for the invoice 1045",
            "спасибо, а когда будет отчёт",
            "danke, wann ist das Meeting",
            "謝謝，報告什麼時候好",
            "ok?",
            "yes",
            "all",
            "",
        ] {
            assert!(!closing(text), "{text}");
        }
    }
}
