//! Who an answer is for, and which wording of a template they get: the reader's language, which
//! is the inquiry's when the detector is sure of it and the pack is written in it, else the
//! contact's when the pack is written in that, else the one of the pack's languages the inquiry
//! is most likely in, else the pack's default; and the contact's role, whose own wording is used where
//! the template has one (finance sees amounts and due dates first, logistics the delivery
//! window and carrier), else the language's plain wording. The facts are the same either way.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::contact::{Contact, Role};
use super::language::{InquiryLanguage, Language};
use super::template_rule::PackLanguages;

/// Where the language of an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageSource {
    /// The inquiry is written in it.
    Inquiry,
    /// The contact who wrote reads it (the inquiry's language could not be told, or the pack
    /// is not written in it).
    Contact,
    /// The detector was unsure of the inquiry's language, and no contact's language is the
    /// pack's: of the pack's languages, the inquiry is most likely in this one.
    InquiryLikely,
    /// Neither the inquiry's nor a contact's language is one of the pack's.
    PackDefault,
}

impl LanguageSource {
    /// The source's fixed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inquiry => "inquiry",
            Self::Contact => "contact",
            Self::InquiryLikely => "inquiry_likely",
            Self::PackDefault => "pack_default",
        }
    }
}

impl fmt::Display for LanguageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reader of an answer: the language it is written in, why, and the contact, if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub language: Language,
    pub language_source: LanguageSource,
    pub contact: Option<Contact>,
}

impl Reader {
    /// The reader of an inquiry written in `inquiry_language` by `contact`, to a pack written
    /// in `languages`.
    pub(crate) fn choose(
        languages: &PackLanguages,
        inquiry_language: InquiryLanguage,
        contact: Option<Contact>,
    ) -> Self {
        let of_pack = |language: Option<Language>| {
            language.and_then(|language| languages.matching(&language).cloned())
        };
        let of_contact = contact
            .as_ref()
            .and_then(|contact| languages.matching(&contact.language).cloned());
        let (language, language_source) = [
            (of_pack(inquiry_language.sure), LanguageSource::Inquiry),
            (of_contact, LanguageSource::Contact),
            (
                of_pack(inquiry_language.likely),
                LanguageSource::InquiryLikely,
            ),
        ]
        .into_iter()
        .find_map(|(language, source)| Some((language?, source)))
        .unwrap_or_else(|| (languages.default.clone(), LanguageSource::PackDefault));
        Self {
            language,
            language_source,
            contact,
        }
    }

    /// The variant of an answer to this reader, whose wording was the role's own or not.
    pub(crate) fn variant(&self, role_wording: bool) -> Variant {
        Variant {
            language: self.language.clone(),
            language_source: self.language_source,
            contact: self.contact.as_ref().map(|contact| contact.email.clone()),
            role: self.contact.as_ref().map(|contact| contact.role),
            role_wording,
        }
    }
}

/// Which variant of its template an answer was written in, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub language: Language,
    pub language_source: LanguageSource,
    /// The contact's address, when the inquiry came from a known contact.
    pub contact: Option<String>,
    /// The contact's role.
    pub role: Option<Role>,
    /// Whether the role's own wording was used (else the language's plain one).
    pub role_wording: bool,
}

impl Variant {
    /// The choice in words: "zh, the language of the inquiry; the finance wording, for finance
    /// contact ap@acme.example".
    pub fn reason(&self) -> String {
        let language = match self.language_source {
            LanguageSource::Inquiry => format!("{}, the language of the inquiry", self.language),
            LanguageSource::Contact => format!(
                "{}, the contact's language (the inquiry's is not told or not the pack's)",
                self.language
            ),
            LanguageSource::InquiryLikely => format!(
                "{}, most likely the language of the inquiry among the pack's (the detector was \
                 unsure, and no contact's language is the pack's)",
                self.language
            ),
            LanguageSource::PackDefault => format!(
                "{}, the pack's default (neither the inquiry's nor a contact's language is the \
                 pack's)",
                self.language
            ),
        };
        let role = match (&self.contact, self.role) {
            (Some(contact), Some(role)) if self.role_wording => {
                format!("the {role} wording, for {role} contact {contact}")
            }
            (Some(contact), Some(role)) => {
                format!("the plain wording: the template has no {role} one (contact {contact})")
            }
            _ => "the plain wording: the sender is not a known contact".to_owned(),
        };
        format!("{language}; {role}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn language(tag: &str) -> Language {
        Language::parse(tag).expect("tag")
    }

    fn contact(tag: &str, role: Role) -> Contact {
        Contact {
            client_id: "acme".into(),
            email: "ap@acme.example".into(),
            name: "A".into(),
            role,
            language: language(tag),
        }
    }

    /// The inquiry's sure language wins when the pack has it, then the contact's, then the
    /// inquiry's likely one, then the default.
    #[test]
    fn language_falls_back_in_order() {
        let languages = PackLanguages {
            default: language("en-GB"),
            others: BTreeSet::from([language("ru"), language("zh")]),
        };
        let sure = |tag: &str| InquiryLanguage {
            sure: Some(language(tag)),
            likely: None,
        };
        let likely = |tag: &str| InquiryLanguage {
            sure: None,
            likely: Some(language(tag)),
        };
        let chosen_for = |inquiry: InquiryLanguage, contact: Option<Contact>| {
            let reader = Reader::choose(&languages, inquiry, contact);
            (reader.language.to_string(), reader.language_source)
        };
        let chosen = |inquiry: Option<&str>, contact: Option<Contact>| {
            chosen_for(inquiry.map(sure).unwrap_or_default(), contact)
        };
        assert_eq!(
            chosen_for(likely("zh"), Some(contact("ru", Role::Finance))),
            ("ru".into(), LanguageSource::Contact)
        );
        assert_eq!(
            chosen_for(likely("zh"), Some(contact("be", Role::Buyer))),
            ("zh".into(), LanguageSource::InquiryLikely)
        );
        assert_eq!(
            chosen_for(likely("de"), None),
            ("en-GB".into(), LanguageSource::PackDefault)
        );
        let finance_ru = || Some(contact("ru", Role::Finance));
        assert_eq!(
            chosen(Some("zh"), finance_ru()),
            ("zh".into(), LanguageSource::Inquiry)
        );
        assert_eq!(
            chosen(Some("de"), finance_ru()),
            ("ru".into(), LanguageSource::Contact)
        );
        assert_eq!(
            chosen(None, finance_ru()),
            ("ru".into(), LanguageSource::Contact)
        );
        assert_eq!(
            chosen(None, Some(contact("be", Role::Buyer))),
            ("en-GB".into(), LanguageSource::PackDefault)
        );
        assert_eq!(
            chosen(Some("en"), None),
            ("en-GB".into(), LanguageSource::Inquiry),
            "a language reads the pack's variant of it"
        );
        assert_eq!(
            chosen(None, None),
            ("en-GB".into(), LanguageSource::PackDefault)
        );
    }

    /// The reason names the language's source, the role and whether its wording was used.
    #[test]
    fn reasons_read_as_sentences() {
        let reader = Reader {
            language: language("zh"),
            language_source: LanguageSource::Inquiry,
            contact: Some(contact("zh", Role::Finance)),
        };
        assert_eq!(
            reader.variant(true).reason(),
            "zh, the language of the inquiry; the finance wording, for finance contact \
             ap@acme.example"
        );
        assert_eq!(
            reader.variant(false).reason(),
            "zh, the language of the inquiry; the plain wording: the template has no finance \
             one (contact ap@acme.example)"
        );
    }
}
