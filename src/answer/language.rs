//! The languages answers are written in: a BCP 47 language tag as packs and contacts write it
//! ("en", "ru", "be", "zh", "de"), the language an inquiry is written in (whatlang's detection,
//! named the same way), and dates written for people in a language.
//!
//! The detector is sure of a language only when its trigram models agree clearly, which short
//! texts and close languages (Russian and Belarusian, Russian and Ukrainian) seldom give. When
//! it is unsure, [`InquiryLanguage::likely`] is its choice among the pack's own languages alone,
//! kept when it is reliable there or when the text's script is written in only one of them (Han
//! characters in a pack whose only Han language is Chinese).
//!
//! Dates come from ICU4X's compiled CLDR data (the Gregorian calendar, a long date with the
//! weekday): the names of days and months, their grammatical case ("28 ноября"), the word
//! order and the marks ("2026年11月28日星期六") are CLDR's, never written by hand. English keeps
//! the project's own form (see [`DateWriter::English`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use icu_calendar::Gregorian;
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::{YMDE, YMDET};
use icu_datetime::input::{Date, DateTime, Time};
use icu_locale::{Locale, LocaleCanonicalizer};
use serde::{Deserialize, Serialize};

use super::date::Timestamp;

/// A language, as a canonical BCP 47 tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    /// The language tagged `tag` ("ru", "zh", "en-GB"; ISO 639-3 codes such as "rus" are
    /// written as their two-letter tag), or what is wrong with the tag.
    pub fn parse(tag: &str) -> Result<Self, String> {
        let mut locale: Locale = tag
            .parse()
            .map_err(|_| format!("{tag:?} is not a language tag (such as en, ru, zh)"))?;
        if !locale.extensions.is_empty() {
            return Err(format!(
                "{tag:?}: a language tag without extensions is expected"
            ));
        }
        LocaleCanonicalizer::new_common().canonicalize(&mut locale);
        Ok(Self(locale.to_string()))
    }

    /// The language `text` is written in, as far as the detector can tell, the unsure guess
    /// made among `candidates` (the pack's languages).
    pub fn of_text<'a>(
        text: &str,
        candidates: impl IntoIterator<Item = &'a Language>,
    ) -> InquiryLanguage {
        let detected = whatlang::detect(text);
        if let Some(info) = detected.filter(whatlang::Info::is_reliable) {
            return InquiryLanguage {
                sure: Self::parse(info.lang().code()).ok(),
                likely: None,
            };
        }
        let allowed: Vec<whatlang::Lang> = candidates
            .into_iter()
            .filter_map(|language| DETECTOR_LANGUAGES.get(language.primary()).copied())
            .collect();
        if allowed.is_empty() {
            return InquiryLanguage::default();
        }
        let likely = whatlang::Detector::with_allowlist(allowed.clone())
            .detect(text)
            .filter(|info| {
                let same_script = info
                    .script()
                    .langs()
                    .iter()
                    .filter(|language| allowed.contains(language))
                    .count();
                info.is_reliable() || same_script == 1
            })
            .and_then(|info| Self::parse(info.lang().code()).ok());
        InquiryLanguage { sure: None, likely }
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The language subtag alone: "en" of "en-GB".
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The detector's languages by their language subtag ("ru" for whatlang's "rus").
static DETECTOR_LANGUAGES: LazyLock<BTreeMap<String, whatlang::Lang>> = LazyLock::new(|| {
    whatlang::Lang::all()
        .iter()
        .filter_map(|&lang| {
            let tag = Language::parse(lang.code()).ok()?;
            Some((tag.primary().to_owned(), lang))
        })
        .collect()
});

/// The language an inquiry is written in, as far as the detector can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InquiryLanguage {
    /// The language the detector is sure of, among all it knows.
    pub sure: Option<Language>,
    /// When it is unsure: its choice among the pack's languages, where that choice holds.
    pub likely: Option<Language>,
}

/// Writes dates for people in one language.
pub(crate) enum DateWriter {
    /// English keeps the project's own long form, "Saturday 28 November 2026" (jiff's English
    /// names), which clients, documents and records already show; CLDR's British form differs
    /// only by a comma after the weekday.
    English,
    /// Any other language, from CLDR.
    Cldr {
        date: Box<FixedCalendarDateTimeFormatter<Gregorian, YMDE>>,
        date_time: Box<FixedCalendarDateTimeFormatter<Gregorian, YMDET>>,
    },
}

impl fmt::Debug for DateWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::English => f.write_str("DateWriter::English"),
            Self::Cldr { .. } => f.write_str("DateWriter::Cldr"),
        }
    }
}

impl DateWriter {
    /// The writer for `language`; CLDR's nearest data when it has none of the language itself.
    pub(crate) fn new(language: &Language) -> Result<Self, String> {
        if language.primary() == "en" {
            return Ok(Self::English);
        }
        let locale: Locale = language
            .as_str()
            .parse()
            .map_err(|_| format!("{language} is not a language tag"))?;
        let cannot = |error: icu_datetime::DateTimeFormatterLoadError| {
            format!("no date formats for {language}: {error}")
        };
        Ok(Self::Cldr {
            date: Box::new(
                FixedCalendarDateTimeFormatter::try_new((&locale).into(), YMDE::long())
                    .map_err(cannot)?,
            ),
            date_time: Box::new(
                FixedCalendarDateTimeFormatter::try_new(
                    (&locale).into(),
                    YMDE::long().with_time_hm(),
                )
                .map_err(cannot)?,
            ),
        })
    }

    /// The date of `timestamp` (its UTC day): "Saturday 28 November 2026", "суббота, 28 ноября
    /// 2026 г.".
    pub(crate) fn date(&self, timestamp: &Timestamp) -> String {
        let Self::Cldr { date: format, .. } = self else {
            return timestamp.readable_date();
        };
        match gregorian(timestamp) {
            Some(date) => format.format(&date).to_string(),
            None => timestamp.to_string(),
        }
    }

    /// The date and, when there is one, the UTC time of `timestamp`.
    pub(crate) fn date_time(&self, timestamp: &Timestamp) -> String {
        let Self::Cldr {
            date_time: format, ..
        } = self
        else {
            return timestamp.readable_date_time();
        };
        let Timestamp::Instant(instant) = timestamp else {
            return self.date(timestamp);
        };
        let time = jiff::tz::Offset::UTC.to_datetime(*instant).time();
        let written = gregorian(timestamp).and_then(|date| {
            let time = Time::try_new(
                u8::try_from(time.hour()).ok()?,
                u8::try_from(time.minute()).ok()?,
                0,
                0,
            )
            .ok()?;
            Some(format.format(&DateTime { date, time }).to_string())
        });
        match written {
            Some(written) => format!("{written} UTC"),
            None => timestamp.to_string(),
        }
    }
}

/// The UTC day of `timestamp` in ICU's Gregorian calendar.
fn gregorian(timestamp: &Timestamp) -> Option<Date<Gregorian>> {
    let day = timestamp.date();
    Date::try_new_gregorian(
        i32::from(day.year()),
        u8::try_from(day.month()).ok()?,
        u8::try_from(day.day()).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(tag: &str) -> DateWriter {
        DateWriter::new(&Language::parse(tag).expect("tag")).expect("writer")
    }

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).expect("timestamp")
    }

    /// Tags are canonical, and three-letter codes (the detector's) become two-letter tags.
    #[test]
    fn tags_are_canonical() {
        for (tag, canonical) in [
            ("ru", "ru"),
            ("rus", "ru"),
            ("bel", "be"),
            ("cmn", "zh"),
            ("deu", "de"),
            ("EN-gb", "en-GB"),
        ] {
            assert_eq!(Language::parse(tag).expect(tag).as_str(), canonical);
        }
        assert!(Language::parse("not a tag").is_err());
        assert!(Language::parse("en-u-ca-buddhist").is_err());
    }

    /// A sure detection names the language; a text too short to tell names none.
    #[test]
    fn detects_the_language_of_a_text() {
        let language = |text: &str| Language::of_text(text, []).sure.map(|l| l.to_string());
        assert_eq!(
            language("请问我们的发票什么时候到期？财务需要安排付款。").as_deref(),
            Some("zh")
        );
        assert_eq!(
            language(
                "Добрый день! Подскажите, пожалуйста, когда приедет наша поставка на склад и \
                 какой перевозчик её везёт? Нам нужно заранее забронировать рампу для разгрузки."
            )
            .as_deref(),
            Some("ru")
        );
        assert_eq!(language("ok"), None);
    }

    /// Unsure, the detector chooses among the pack's languages: a Russian mail whose words
    /// Belarusian and Bulgarian share is likely Russian to a pack written in English, Russian,
    /// Belarusian and Chinese; a short line is likely the one language of its script the pack
    /// has; a line no language of the pack's can be told from is left unnamed.
    #[test]
    fn an_unsure_detection_chooses_among_the_pack_languages() {
        let pack: Vec<Language> = ["en", "ru", "be", "zh"]
            .iter()
            .map(|tag| Language::parse(tag).unwrap())
            .collect();
        let detected = |text: &str| {
            let found = Language::of_text(text, &pack);
            (
                found.sure.map(|l| l.to_string()),
                found.likely.map(|l| l.to_string()),
            )
        };
        assert_eq!(
            detected(
                "Добрый день! Подскажите, пожалуйста, в какое окно ждать доставку по заказу \
                 ORD-58281 и какой перевозчик её везёт? Заранее спасибо, склад."
            ),
            (None, Some("ru".into()))
        );
        assert_eq!(
            detected("Wann kommt die Lieferung?"),
            (None, Some("en".into()))
        );
        assert_eq!(detected("Где счёт?"), (None, None));
    }

    /// Dates are written in each language's own way, from CLDR.
    #[test]
    fn writes_dates_in_each_language() {
        let day = ts("2026-11-28");
        for (tag, expected) in [
            ("ru", "суббота, 28 ноября 2026\u{202f}г."),
            ("be", "субота, 28 лістапада 2026\u{202f}г."),
            ("en-GB", "Saturday 28 November 2026"),
            ("zh", "2026年11月28日星期六"),
            ("de", "Samstag, 28. November 2026"),
        ] {
            assert_eq!(writer(tag).date(&day), expected, "{tag}");
        }
        assert_eq!(
            writer("ru").date_time(&ts("2026-11-24T14:30:00Z")),
            "вторник, 24 ноября 2026\u{202f}г. в 14:30 UTC"
        );
        assert_eq!(
            writer("en-GB").date_time(&ts("2026-11-24T14:30:00Z")),
            "Tuesday 24 November 2026 at 14:30 UTC"
        );
        assert_eq!(
            writer("zh").date_time(&ts("2026-11-24")),
            writer("zh").date(&ts("2026-11-24"))
        );
    }
}
