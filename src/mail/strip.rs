//! Quoted history and signatures: what a reply repeats or signs is cut before classifying, so
//! the model sees only what the client wrote this time.
//!
//! History starts at an attribution line ("On … wrote:", "… 写道：", "… пишет:"), an Outlook
//! separator ("-----Original Message-----", a line of underscores, or a "From:" header block,
//! also the Chinese "发件人:"); quoted lines ("> …") are dropped wherever they are. A signature
//! starts at the "-- " delimiter or a common sign-off line ("Best regards,", "Thanks", "谢谢",
//! "С уважением,") near the end. Nothing is cut when that would leave no text.

/// Short closing lines after which only a name or a signature follows.
const SIGN_OFFS: [&str; 22] = [
    "thanks",
    "thank you",
    "many thanks",
    "thanks in advance",
    "cheers",
    "best",
    "best regards",
    "kind regards",
    "warm regards",
    "regards",
    "best wishes",
    "sincerely",
    "yours sincerely",
    "sent from my iphone",
    "sent from my android",
    "谢谢",
    "此致",
    "此致敬礼",
    "祝好",
    "с уважением",
    "спасибо",
    "всего доброго",
];

/// How many non-empty lines from the end a sign-off may stand.
const SIGN_OFF_WINDOW: usize = 6;

/// Header names that open a forwarded or replied-to header block.
const HEADER_STARTS: [&str; 6] = ["from", "发件人", "寄件者", "寄件人", "от", "von"];
/// Header names that follow the first one in such a block.
const HEADER_FOLLOWERS: [&str; 9] = [
    "sent",
    "date",
    "to",
    "subject",
    "发送时间",
    "收件人",
    "主题",
    "日期",
    "отправлено",
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
        is_attribution(line, next) || is_separator(line) || opens_header_block(lines, index)
    })
}

/// "On Mon, 1 Dec 2026, Dana <d@x> wrote:" (the "wrote:" may wrap to the next line), and the
/// Chinese and Russian forms.
fn is_attribution(line: &str, next: &str) -> bool {
    let ends_attribution = |text: &str| {
        text.ends_with("wrote:")
            || text.ends_with("写道：")
            || text.ends_with("写道:")
            || text.ends_with("пишет:")
            || text.ends_with("написал:")
    };
    (line.starts_with("On ") && (ends_attribution(line) || next == "wrote:"))
        || (!line.starts_with('>') && ends_attribution(line) && line.chars().count() > 8)
}

/// Outlook's "-----Original Message-----" (any language in the dashes) and "_____" rules.
fn is_separator(line: &str) -> bool {
    let dashed = line.starts_with("-----") && line.ends_with("-----") && line.len() > 10;
    let ruled = line.len() >= 10 && line.chars().all(|c| c == '_');
    dashed || ruled
}

/// A "From: …" line followed within three lines by "Sent:", "To:" and the like.
fn opens_header_block(lines: &[&str], index: usize) -> bool {
    let is_header = |line: &str, names: &[&str]| {
        let line = line.trim().trim_start_matches('*').to_lowercase();
        names.iter().any(|name| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with([':', '：']))
        })
    };
    if !is_header(lines[index], &HEADER_STARTS) {
        return false;
    }
    // The Chinese header names are unambiguous on their own.
    let chinese = ["发件人", "寄件者", "寄件人"]
        .iter()
        .any(|name| lines[index].trim_start().starts_with(name));
    chinese
        || lines
            .iter()
            .skip(index + 1)
            .take(3)
            .any(|line| is_header(line, &HEADER_FOLLOWERS))
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
    non_empty[window_start..]
        .iter()
        .copied()
        .find(|&index| index > 0 && is_sign_off(lines[index]))
}

/// "Best regards," "Thanks!" "谢谢！": a known closing with only punctuation after it.
fn is_sign_off(line: &str) -> bool {
    let closing = line
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || "，。！、".contains(c))
        .to_lowercase();
    SIGN_OFFS.contains(&closing.as_str())
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
