//! Language coverage: which languages and scripts a pack's training rows are written in, and
//! whether an inquiry is in one of them.
//!
//! Detection is whatlang's (trigram models of 69 languages plus a script detector). Training
//! measures, with the same detector, the share of training rows in each script and in each
//! language (a row counts for a language only when the detection is reliable); the shares are
//! saved with the model, so coverage comes from the data, never from a list.
//!
//! An inquiry is not covered when
//! - its dominant script (by letter count, so "Shopify" in a Russian sentence does not change
//!   it) has under `min_share` of the training rows: a Cyrillic text to a pack trained only on
//!   Latin text is never understood, however short; or
//! - the detector is reliable about a language with under `min_share` of the rows *and* the text
//!   shares few terms with the training rows (the caller's check). Short texts are seldom
//!   reliable, and an English question with one German product name keeps its English words,
//!   so neither is refused on the detector's word alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use whatlang::{Detector, Lang, Script};

/// The share of rows a language or script needs to count as covered.
pub const DEFAULT_MIN_SHARE: f64 = 0.02;

/// The languages and scripts of a pack's training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageSupport {
    /// Share of training rows per dominant script (whatlang's script name).
    pub scripts: BTreeMap<String, f64>,
    /// Share of training rows reliably detected in each language (ISO 639-3 code).
    pub languages: BTreeMap<String, f64>,
    /// The share a language or script needs to be covered.
    pub min_share: f64,
}

/// A language (or, when the language is not known, a script) the pack does not cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    /// ISO 639-3 code of the language, or the script's name when no language was detected.
    pub language: String,
}

/// What the detector says about one text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detected {
    pub script: Option<Script>,
    /// The language, only when the detector is reliable about it.
    pub language: Option<Lang>,
}

/// Detects the dominant script and, when reliable, the language of `text`.
pub fn detect(text: &str) -> Detected {
    let script = whatlang::detect_script(text);
    let language = script
        .and_then(|_| whatlang::detect(text))
        .filter(whatlang::Info::is_reliable)
        .map(|info| info.lang());
    Detected { script, language }
}

/// A guesser of the language of texts (ISO 639-3), for reports that group texts by language,
/// never for a decision: the language the detector is sure of, else its best guess among
/// `covered` (short texts are seldom sure, and unbounded guesses scatter English rows over
/// Afrikaans, Welsh and Danish); with nothing covered, the detector's best guess.
pub fn guesser(covered: Vec<Lang>) -> impl Fn(&str) -> Option<&'static str> {
    let among_covered = (!covered.is_empty()).then(|| Detector::with_allowlist(covered));
    move |text| match whatlang::detect(text) {
        Some(info) if info.is_reliable() => Some(info.lang().code()),
        unsure => among_covered
            .as_ref()
            .map_or(unsure.map(|info| info.lang()), |d| d.detect_lang(text))
            .map(|language| language.code()),
    }
}

impl LanguageSupport {
    /// Measures the shares of `texts`, the training rows.
    pub fn measure<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut scripts = BTreeMap::new();
        let mut languages = BTreeMap::new();
        let mut rows = 0usize;
        for text in texts {
            rows += 1;
            let detected = detect(text);
            if let Some(script) = detected.script {
                *scripts.entry(script.name().to_owned()).or_insert(0.0) += 1.0;
            }
            if let Some(language) = detected.language {
                *languages.entry(language.code().to_owned()).or_insert(0.0) += 1.0;
            }
        }
        let total = rows.max(1) as f64;
        for share in scripts.values_mut().chain(languages.values_mut()) {
            *share /= total;
        }
        Self {
            scripts,
            languages,
            min_share: DEFAULT_MIN_SHARE,
        }
    }

    fn script_share(&self, script: Script) -> f64 {
        self.scripts.get(script.name()).copied().unwrap_or(0.0)
    }

    fn language_share(&self, language: Lang) -> f64 {
        self.languages.get(language.code()).copied().unwrap_or(0.0)
    }

    /// The languages with at least `min_share` of the training rows.
    pub fn covered(&self) -> Vec<Lang> {
        self.languages
            .iter()
            .filter(|&(_, &share)| share >= self.min_share)
            .filter_map(|(code, _)| Lang::from_code(code.as_str()))
            .collect()
    }

    /// The language of `text` if the pack does not cover it. `few_known_terms` tells whether
    /// the text shares few terms with the training rows; a language the detector is sure of is
    /// refused only then, so a covered-language text with a foreign name or two is never
    /// refused. (The language detector, the costly part, runs only when its verdict matters.)
    pub fn uncovered(&self, text: &str, few_known_terms: bool) -> Option<Uncovered> {
        let script = whatlang::detect_script(text)?;
        let detected_language = || detect(text).language;
        if self.script_share(script) < self.min_share {
            let language = detected_language()
                .map_or_else(|| script.name().to_owned(), |l| l.code().to_owned());
            return Some(Uncovered { language });
        }
        if !few_known_terms {
            return None;
        }
        let language = detected_language()?;
        (self.language_share(language) < self.min_share).then(|| Uncovered {
            language: language.code().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn english_only() -> LanguageSupport {
        LanguageSupport::measure([
            "when is the next meeting with our account manager",
            "can you send me a copy of the last invoice please",
            "how many hours are left in the budget this month",
            "what is the status of the website redesign project",
        ])
    }

    /// The detector knows the languages the packs' clients write in.
    #[test]
    fn detects_the_clients_languages() {
        let cases = [
            ("Когда будет готов отчёт по рекламной кампании?", Lang::Rus),
            (
                "Калі будзе гатовы справаздача па рэкламнай кампаніі?",
                Lang::Bel,
            ),
            (
                "Wann ist die nächste Besprechung mit unserem Kundenbetreuer?",
                Lang::Deu,
            ),
            ("請問我們的網站改版項目目前進度如何？", Lang::Cmn),
        ];
        for (text, language) in cases {
            assert_eq!(detect(text).language, Some(language), "{text}");
        }
    }

    /// A script without training rows is not covered, whatever the length of the text.
    #[test]
    fn an_unseen_script_is_not_covered() {
        let support = english_only();
        assert_eq!(support.scripts.get("Latin"), Some(&1.0));
        let short = "счёт?";
        assert_eq!(
            support.uncovered(short, false).unwrap().language,
            "Cyrillic"
        );
        let long = "Когда будет готов отчёт по рекламной кампании?";
        assert_eq!(support.uncovered(long, false).unwrap().language, "rus");
    }

    /// A reliably detected uncovered language in the pack's script is refused only when the
    /// text also shares few terms with the training rows.
    #[test]
    fn a_foreign_language_in_a_known_script_needs_few_known_terms() {
        let support = english_only();
        let german = "Wann ist die nächste Besprechung mit unserem Kundenbetreuer?";
        assert_eq!(support.uncovered(german, true).unwrap().language, "deu");
        assert_eq!(support.uncovered(german, false), None);
        let english = "when is the next meeting with our account manager";
        assert_eq!(support.uncovered(english, true), None);
    }

    /// A text with no letters has no language to refuse.
    #[test]
    fn no_letters_no_verdict() {
        assert_eq!(english_only().uncovered("1045 ?!", true), None);
    }
}
