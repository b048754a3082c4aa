//! How the console writes times and names: instants in UTC to the minute, durations in days,
//! hours and minutes, SLA countdowns ("due in 2h 05m", "overdue by 15m"), and the status data's
//! field names as labels ("Account manager email").

/// `ms` (Unix milliseconds) as `2026-11-20 09:00 UTC`.
pub fn instant(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|at| at.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| format!("{ms} ms"))
}

/// A span of `ms` milliseconds, coarsely: `3d 4h`, `2h 05m`, `7m`.
pub fn span(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes:02}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// How an SLA due at `due_ms` stands at `now_ms`.
pub fn countdown(due_ms: i64, now_ms: i64) -> String {
    if due_ms >= now_ms {
        format!("due in {}", span(due_ms - now_ms))
    } else {
        format!("overdue by {}", span(now_ms - due_ms))
    }
}

/// A field name of the status data (`account_manager_email`, `due-date`) as a label a person
/// reads: words apart, the first capitalised ("Account manager email", "Due date").
pub fn label(field: &str) -> String {
    let words = field.replace(['_', '-'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spans and countdowns read as a person writes them.
    #[test]
    fn times_read_naturally() {
        assert_eq!(span(7 * 60_000 + 59_000), "7m");
        assert_eq!(span((2 * 60 + 5) * 60_000), "2h 05m");
        assert_eq!(span((3 * 24 + 4) * 3_600_000), "3d 4h");
        assert_eq!(countdown(1_000 + 15 * 60_000, 1_000), "due in 15m");
        assert_eq!(countdown(1_000, 1_000 + 15 * 60_000), "overdue by 15m");
        assert_eq!(instant(1_795_165_200_000), "2026-11-20 09:00 UTC");
    }

    /// Field names read as labels; a name without separators keeps its words.
    #[test]
    fn field_names_read_as_labels() {
        assert_eq!(label("account_manager_email"), "Account manager email");
        assert_eq!(label("due-date"), "Due date");
        assert_eq!(label("state"), "State");
        assert_eq!(label(""), "");
    }
}
