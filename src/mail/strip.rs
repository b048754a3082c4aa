//! Quoted history and signatures: what a reply repeats or signs is cut before classifying, so
//! the model sees only what the client wrote this time.
//!
//! History starts at an attribution line, an Outlook separator or an Outlook header block, in
//! the languages of the common mail clients:
//! - attributions: a line ending in a colon with a verb of writing ("On … wrote:", "Am … schrieb
//!   …:", "Le … a écrit :", "… написал(а):", "Вы писали:", "在 … 写道：", "於 … 寫道："),
//!   possibly wrapped onto a second line, and dated or addressed (a digit or an "@") unless a
//!   quoted line follows; also Gmail's verbless `date name <address>:` (Japanese);
//! - separators: a dashed line with a title ("-----Original Message-----", "----- 原始邮件
//!   -----") or a rule of underscores;
//! - header blocks: a "From:" line in any of the languages below followed within three lines by
//!   another header ("Sent:", "Gesendet:", "Envoyé :", "Отправлено:", "发送时间:"…).
//!
//! Quoted lines ("> …") are dropped wherever they are. A signature starts at the "-- "
//! delimiter, a common closing line ("Best regards,", "Mit freundlichen Grüßen", "С уважением,",
//! "此致", "顺祝商祺") or a mobile client's line ("Sent from my iPhone", "Von meinem iPhone
//! gesendet", "发自我的iPhone") near the end. Nothing is cut when that would leave no text.

/// Closing lines after which only a name or a signature follows, lowercased.
const SIGN_OFFS: &[&str] = &[
    // English
    "thanks",
    "thank you",
    "thank you very much",
    "thanks so much",
    "many thanks",
    "thanks in advance",
    "thanks again",
    "with thanks",
    "cheers",
    "best",
    "all the best",
    "best regards",
    "kind regards",
    "warm regards",
    "warmest regards",
    "regards",
    "best wishes",
    "sincerely",
    "yours sincerely",
    "yours faithfully",
    "yours truly",
    "respectfully",
    // German
    "mit freundlichen grüßen",
    "mit freundlichen grüssen",
    "mit besten grüßen",
    "mit besten grüssen",
    "freundliche grüße",
    "freundliche grüsse",
    "viele grüße",
    "viele grüsse",
    "beste grüße",
    "beste grüsse",
    "liebe grüße",
    "liebe grüsse",
    "herzliche grüße",
    "herzliche grüsse",
    "schöne grüße",
    "grüße",
    "gruß",
    "mfg",
    "danke",
    "vielen dank",
    "besten dank",
    // French, Spanish, Italian, Portuguese, Dutch, Polish
    "cordialement",
    "bien cordialement",
    "bien à vous",
    "salutations",
    "meilleures salutations",
    "merci",
    "merci d'avance",
    "saludos",
    "un saludo",
    "saludos cordiales",
    "atentamente",
    "gracias",
    "cordiali saluti",
    "distinti saluti",
    "saluti",
    "grazie",
    "atenciosamente",
    "cumprimentos",
    "obrigado",
    "obrigada",
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "vriendelijke groet",
    "groeten",
    "pozdrawiam",
    "z poważaniem",
    // Russian, Ukrainian, Belarusian
    "с уважением",
    "с наилучшими пожеланиями",
    "спасибо",
    "заранее спасибо",
    "спасибо заранее",
    "благодарю",
    "всего доброго",
    "всего хорошего",
    "з повагою",
    "дякую",
    "з павагай",
    "дзякуй",
    // Chinese (simplified and traditional), Japanese
    "谢谢",
    "謝謝",
    "多谢",
    "多謝",
    "此致",
    "此致敬礼",
    "此致敬禮",
    "敬礼",
    "敬禮",
    "顺祝商祺",
    "順祝商祺",
    "顺颂商祺",
    "順頌商祺",
    "顺颂时祺",
    "祝好",
    "よろしくお願いします",
    "よろしくお願いいたします",
];

/// How mobile and webmail clients write their signature line, lowercased, as (start, end):
/// "Sent from my iPhone", "Von meinem iPhone gesendet", "发自我的iPhone", "iPhoneから送信".
const CLIENT_SIGNATURES: &[(&str, &str)] = &[
    ("sent from my ", ""),
    ("sent from outlook", ""),
    ("sent from mail for windows", ""),
    ("sent from yahoo mail", ""),
    ("get outlook for ", ""),
    ("von meinem ", "gesendet"),
    ("gesendet von meinem ", ""),
    ("gesendet von outlook", ""),
    ("gesendet mit der ", "app"),
    ("envoyé de mon ", ""),
    ("envoyé depuis mon ", ""),
    ("enviado desde mi ", ""),
    ("enviado do meu ", ""),
    ("inviato da iphone", ""),
    ("inviato dal mio ", ""),
    ("verzonden vanaf mijn ", ""),
    ("verstuurd vanaf mijn ", ""),
    ("wysłane z mojego ", ""),
    ("отправлено с iphone", ""),
    ("отправлено из мобильной", ""),
    ("надіслано з iphone", ""),
    ("发自我的", ""),
    ("寄自我的", ""),
    ("從我的", "傳送"),
    ("", "から送信"),
];

/// The longest line taken for a client's signature line.
const MAX_CLIENT_SIGNATURE_CHARS: usize = 60;

/// How many non-empty lines from the end a sign-off may stand.
const SIGN_OFF_WINDOW: usize = 6;

/// Verbs of writing that end an attribution line (before its colon), lowercased.
const ATTRIBUTION_ENDINGS: &[&str] = &[
    "wrote",
    "writes",
    "a écrit",
    "escribió",
    "ha scritto",
    "escreveu",
    "kirjoitti",
    "napisał(a)",
    "napisał",
    "napisała",
    "napsal(a)",
    "napsal",
    "написал(а)",
    "написал",
    "написала",
    "писал(а)",
    "писал",
    "писали",
    "пишет",
    "написав(ла)",
    "написав",
    "пише",
    "напісаў(ла)",
    "напісаў",
    "піша",
    "yazdı",
    "írta",
    "έγραψε",
    "写道",
    "寫道",
    "書きました",
    "작성",
    "님이 작성",
];

/// Verbs of writing that stand before the writer's name or the date ("Am … schrieb Dana <…>:",
/// The Bat!'s "Вы писали 20 ноября 2026 г., 10:00:").
const ATTRIBUTION_VERBS: &[&str] = &["schrieb", "schreef", "skrev", "kirjoitti", "писали"];

/// Header names that open a forwarded or replied-to header block: "From" in the languages of
/// the common clients.
const HEADER_STARTS: &[&str] = &[
    "from",
    "von",
    "de",
    "da",
    "van",
    "från",
    "fra",
    "od",
    "от",
    "від",
    "ад",
    "kimden",
    "feladó",
    "lähettäjä",
    "από",
    "发件人",
    "發件人",
    "寄件者",
    "寄件人",
    "差出人",
    "보낸 사람",
    "remitente",
];
/// Header names that follow the first one in such a block (sent, date, to, subject, cc).
const HEADER_FOLLOWERS: &[&str] = &[
    "sent",
    "date",
    "to",
    "subject",
    "cc",
    "gesendet",
    "datum",
    "an",
    "betreff",
    "envoyé",
    "à",
    "objet",
    "enviado",
    "fecha",
    "para",
    "asunto",
    "inviato",
    "data",
    "a",
    "oggetto",
    "verzonden",
    "aan",
    "onderwerp",
    "skickat",
    "till",
    "ämne",
    "sendt",
    "til",
    "emne",
    "wysłano",
    "do",
    "temat",
    "отправлено",
    "дата",
    "кому",
    "тема",
    "надіслано",
    "адпраўлена",
    "каму",
    "gönderildi",
    "kime",
    "konu",
    "发送时间",
    "日期",
    "收件人",
    "主题",
    "抄送",
    "寄件日期",
    "收件者",
    "主旨",
    "副本",
    "送信日時",
    "宛先",
    "件名",
    "제목",
];

/// The text the client wrote this time: `body` without quoted history and signature.
pub fn strip_reply(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let end = history_start(&lines).unwrap_or(lines.len());
    let own: Vec<&str> = lines[..end]
        .iter()
        .copied()
        .filter(|line| !line.trim_start().starts_with('>'))
        .collect();
    let end = signature_start(&own).unwrap_or(own.len());
    let text = own[..end].join("\n").trim().to_owned();
    if text.is_empty() {
        body.trim().to_owned()
    } else {
        text
    }
}

/// The first line of quoted history, if any.
fn history_start(lines: &[&str]) -> Option<usize> {
    (0..lines.len()).find(|&index| {
        let line = lines[index].trim();
        let next = lines.get(index + 1).map_or("", |next| next.trim());
        let quote_follows = lines[index + 1..]
            .iter()
            .map(|line| line.trim())
            .find(|line| !line.is_empty())
            .is_some_and(|line| line.starts_with('>'));
        is_attribution(line, quote_follows)
            || is_wrapped_attribution(line, next)
            || is_separator(line)
            || opens_header_block(lines, index)
    })
}

/// An attribution line: it ends in a colon after a verb of writing (or a writer's address,
/// Gmail's Japanese form), and names a date or an address unless a quote follows it.
fn is_attribution(line: &str, quote_follows: bool) -> bool {
    if line.starts_with('>') || line.chars().count() <= 8 {
        return false;
    }
    let Some(head) = line
        .strip_suffix(':')
        .or_else(|| line.strip_suffix('：'))
        .map(|head| head.trim_end().to_lowercase())
    else {
        return false;
    };
    let dated = head.contains(|c: char| c.is_ascii_digit()) || head.contains('@');
    let ends_with_verb = ATTRIBUTION_ENDINGS.iter().any(|verb| {
        // CJK has no spaces between words; other scripts need the verb to be a whole word.
        let cjk = verb.starts_with(|c: char| c >= '\u{2E80}');
        head.strip_suffix(verb).is_some_and(|before| {
            cjk || before.is_empty() || before.ends_with(|c: char| !c.is_alphanumeric())
        })
    });
    let verb_before_name = ATTRIBUTION_VERBS.iter().any(|verb| {
        head.split(|c: char| !c.is_alphanumeric())
            .any(|word| word == *verb)
    });
    let addressed = head.ends_with('>') && head.contains('@') && dated;
    ((ends_with_verb || verb_before_name) && (dated || quote_follows)) || addressed
}

/// An attribution wrapped onto a second line ("On …, Dana <d@x>" then "wrote:").
fn is_wrapped_attribution(line: &str, next: &str) -> bool {
    !line.ends_with([':', '：'])
        && next.split_whitespace().count() <= 2
        && is_attribution(&format!("{line} {next}"), false)
}

/// A dashed line with a title ("-----Original Message-----", "----- 原始邮件 -----") or a rule of
/// underscores.
fn is_separator(line: &str) -> bool {
    let dashed = line.starts_with("-----") && line.ends_with("-----") && line.len() > 10;
    let ruled = line.len() >= 10 && line.chars().all(|c| c == '_');
    dashed || ruled
}

/// A "From: …" line (in any of the languages) followed within three lines by "Sent:", "To:"
/// and the like.
fn opens_header_block(lines: &[&str], index: usize) -> bool {
    let is_header = |line: &str, names: &[&str]| {
        let line = line.trim().trim_start_matches('*').to_lowercase();
        names.iter().any(|name| {
            line.strip_prefix(name).is_some_and(|rest| {
                rest.trim_start_matches('*')
                    .trim_start()
                    .starts_with([':', '：'])
            })
        })
    };
    if !is_header(lines[index], HEADER_STARTS) {
        return false;
    }
    // The Chinese header names are unambiguous on their own.
    let chinese = ["发件人", "發件人", "寄件者", "寄件人"]
        .iter()
        .any(|name| lines[index].trim_start().starts_with(name));
    chinese
        || lines
            .iter()
            .skip(index + 1)
            .take(3)
            .any(|line| is_header(line, HEADER_FOLLOWERS))
}

/// The first line of the signature, if any.
fn signature_start(lines: &[&str]) -> Option<usize> {
    if let Some(index) = lines.iter().position(|line| line.trim_end() == "--") {
        return Some(index);
    }
    let non_empty: Vec<usize> = (0..lines.len())
        .filter(|&index| !lines[index].trim().is_empty())
        .collect();
    let window_start = non_empty.len().saturating_sub(SIGN_OFF_WINDOW);
    non_empty[window_start..].iter().copied().find(|&index| {
        index > 0 && (is_sign_off(lines[index]) || is_client_signature(lines[index]))
    })
}

/// "Best regards," "Thanks!" "谢谢！": a known closing with only punctuation after it.
fn is_sign_off(line: &str) -> bool {
    let closing = line
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || "，。！、～".contains(c))
        .trim_end()
        .to_lowercase();
    SIGN_OFFS.contains(&closing.as_str())
}

/// "Sent from my iPhone", "Von meinem iPhone gesendet": a mail client's own line.
fn is_client_signature(line: &str) -> bool {
    let line = line.trim().to_lowercase();
    line.chars().count() <= MAX_CLIENT_SIGNATURE_CHARS
        && CLIENT_SIGNATURES
            .iter()
            .any(|(start, end)| line.starts_with(start) && line.ends_with(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind of quoted history is cut, with what precedes it kept.
    #[test]
    fn history_is_cut() {
        let cases = [
            "When is the report due?\n\nOn Mon, 23 Nov 2026 at 10:02, Dana <dana@agency.example> wrote:\n> It is in review.",
            "When is the report due?\nOn Mon, 23 Nov 2026 at 10:02, Dana Whitfield <dana@agency.example>\nwrote:\n> It is in review.",
            "When is the report due?\n\n-----Original Message-----\nFrom: Dana\nSent: Monday\nIt is in review.",
            "When is the report due?\n\n________________________________\nFrom: Dana\nIt is in review.",
            "When is the report due?\n\nFrom: Dana Whitfield <dana@agency.example>\nSent: Monday, 23 November 2026 10:02\nTo: ops@acme.example\nSubject: Report",
            "When is the report due?\n\n发件人: Dana <dana@agency.example>\n发送时间: 2026年11月23日\n主题: 报告",
            "When is the report due?\n\n在 2026年11月23日 10:02，Dana <dana@agency.example> 写道：\n> 报告正在审核。",
            "When is the report due?\n\n23.11.2026 10:02, Dana пишет:\n> Отчёт на проверке.",
        ];
        for case in cases {
            assert_eq!(strip_reply(case), "When is the report due?", "{case}");
        }
    }

    /// Attributions and header blocks of more clients and languages are cut by the same rules.
    #[test]
    fn attributions_in_many_languages_are_cut() {
        let cases = [
            "Wann ist das nächste Meeting?\n\nAm 20.11.2026 um 10:00 schrieb Helpdesk <helpdesk@agency.example>:\n> Der Bericht ist fertig.",
            "Wann ist das nächste Meeting?\n\nHelpdesk <helpdesk@agency.example> schrieb am 20.11.2026 10:00:\n> Der Bericht ist fertig.",
            "Wann ist das nächste Meeting?\nAm 20.11.2026 um 10:00 schrieb Helpdesk\n<helpdesk@agency.example>:\n> Der Bericht ist fertig.",
            "Wann ist das nächste Meeting?\n\nVon: Helpdesk <helpdesk@agency.example>\nGesendet: Freitag, 20. November 2026 10:00\nAn: ops@acme.example\nBetreff: AW: Bericht",
            "Wann ist das nächste Meeting?\n\n-----Ursprüngliche Nachricht-----\nVon: Helpdesk\nDer Bericht ist fertig.",
            "Quand aura lieu la réunion ?\n\nLe ven. 20 nov. 2026 à 10:00, Helpdesk <helpdesk@agency.example> a écrit :\n> Le rapport est prêt.",
            "Quand aura lieu la réunion ?\n\nDe : Helpdesk <helpdesk@agency.example>\nEnvoyé : vendredi 20 novembre 2026 10:00\nÀ : ops@acme.example\nObjet : RE: Rapport",
            "¿Cuándo es la reunión?\n\nEl vie, 20 nov 2026 a las 10:00, Helpdesk (<helpdesk@agency.example>) escribió:\n> El informe está listo.",
            "Когда следующая встреча?\n\nВы писали:\n> Отчёт готов.",
            "Когда следующая встреча?\n\nВы писали 20 ноября 2026 г., 10:00:\n\n> Отчёт готов.",
            "Когда следующая встреча?\n\n20.11.2026, 10:00, Helpdesk написал(а):\n> Отчёт готов.",
            "Когда следующая встреча?\n\nОт: Helpdesk <helpdesk@agency.example>\nОтправлено: 20 ноября 2026 г. 10:00\nКому: ops@acme.example\nТема: Re: Отчёт",
            "我們下次會議是什麼時候？\n\n於 2026年11月20日 週五 10:00，Helpdesk <helpdesk@agency.example> 寫道：\n> 報告已完成。",
            "我們下次會議是什麼時候？\n\n寄件者: Helpdesk <helpdesk@agency.example>\n寄件日期: 2026年11月20日 10:00\n收件者: ops@acme.example\n主旨: 回覆: 報告",
            "我们下次会议是什么时候？\n\n------------------ 原始邮件 ------------------\n发件人: \"Helpdesk\"<helpdesk@agency.example>;\n发送时间: 2026年11月20日(星期五) 上午10:00",
            "次の会議はいつですか？\n\n2026年11月20日(金) 10:00 Helpdesk <helpdesk@agency.example>:\n> 報告書は完成しました。",
            "Wanneer is de volgende vergadering?\n\nOp vr 20 nov. 2026 om 10:00 schreef Helpdesk <helpdesk@agency.example>:\n> Het rapport is klaar.",
        ];
        for case in cases {
            let own = case.lines().next().unwrap();
            assert_eq!(strip_reply(case), own, "{case}");
        }
    }

    /// Sign-offs and mobile clients' lines in more languages are cut; look-alikes are kept.
    #[test]
    fn signatures_in_many_languages_are_cut() {
        let cases = [
            (
                "Wann ist das nächste Meeting?\n\nMit freundlichen Grüßen\nAnna Schmidt\nAcme GmbH",
                "Wann ist das nächste Meeting?",
            ),
            (
                "Wann ist das nächste Meeting?\n\nViele Grüße\nJonas",
                "Wann ist das nächste Meeting?",
            ),
            (
                "Wann ist das nächste Meeting?\n\nVon meinem iPhone gesendet",
                "Wann ist das nächste Meeting?",
            ),
            (
                "我们下次会议是什么时候？\n\n此致\n敬礼！\n王芳",
                "我们下次会议是什么时候？",
            ),
            (
                "我们下次会议是什么时候？\n\n顺祝商祺\n王芳\n\n发自我的iPhone",
                "我们下次会议是什么时候？",
            ),
            (
                "我們下次會議是什麼時候？\n\n順祝商祺\n陳先生",
                "我們下次會議是什麼時候？",
            ),
            (
                "When is our next meeting?\n\nSent from my Galaxy S23",
                "When is our next meeting?",
            ),
            (
                "When is our next meeting?\n\nGet Outlook for Android",
                "When is our next meeting?",
            ),
            (
                "Quand aura lieu la réunion ?\n\nCordialement,\nMarie",
                "Quand aura lieu la réunion ?",
            ),
            (
                "Когда следующая встреча?\n\nВсего доброго,\nОльга\n\nОтправлено с iPhone",
                "Когда следующая встреча?",
            ),
            (
                "Hallo,\nVon meinem Konto wurde 100 € abgebucht.",
                "Hallo,\nVon meinem Konto wurde 100 € abgebucht.",
            ),
            (
                "We rewrote 2 files:\nindex.html and shop.js",
                "We rewrote 2 files:\nindex.html and shop.js",
            ),
        ];
        for (body, own) in cases {
            assert_eq!(strip_reply(body), own, "{body}");
        }
    }

    /// Quoted lines go wherever they are; the client's lines between them stay.
    #[test]
    fn interleaved_quotes_are_dropped() {
        let body =
            "> Is the audit done?\nNot yet, when will it be?\n> Anything else?\nAlso the invoice.";
        assert_eq!(
            strip_reply(body),
            "Not yet, when will it be?\nAlso the invoice."
        );
    }

    /// Signatures go after "-- " or a sign-off near the end, but a sign-off is not cut alone.
    #[test]
    fn signatures_are_cut() {
        assert_eq!(
            strip_reply("Is invoice 1042 paid?\n-- \nJo Smith\nAcme Ltd"),
            "Is invoice 1042 paid?"
        );
        assert_eq!(
            strip_reply("Is invoice 1042 paid?\n\nBest regards,\nJo Smith\n+44 20 1234"),
            "Is invoice 1042 paid?"
        );
        assert_eq!(
            strip_reply("最终报告什么时候好？\n\n谢谢！\n王芳"),
            "最终报告什么时候好？"
        );
        assert_eq!(
            strip_reply("Когда будет готов отчёт?\n\nС уважением,\nИван"),
            "Когда будет готов отчёт?"
        );
        assert_eq!(strip_reply("Thanks!"), "Thanks!");
        assert_eq!(
            strip_reply("Thanks, but is invoice 1042 paid?"),
            "Thanks, but is invoice 1042 paid?"
        );
    }

    /// A body that is all quote is kept as it is rather than emptied.
    #[test]
    fn nothing_left_keeps_the_body() {
        assert_eq!(strip_reply("> only a quote"), "> only a quote");
        assert_eq!(strip_reply(""), "");
    }
}
