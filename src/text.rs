//! Text helpers more than one layer needs: cutting a text to a byte budget without splitting a
//! character.

/// The longest start of `text` that fits in `max` bytes and ends on a character boundary.
pub fn truncated(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let end = (0..=max)
        .rev()
        .find(|&end| text.is_char_boundary(end))
        .unwrap_or(0);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cut never splits a character, and a text within the budget is kept whole.
    #[test]
    fn cuts_at_a_character_boundary() {
        assert_eq!(truncated("héllo", 2), "h");
        assert_eq!(truncated("héllo", 3), "hé");
        assert_eq!(truncated("héllo", 60), "héllo");
        assert_eq!(truncated("日本", 2), "");
        assert_eq!(truncated("", 0), "");
    }
}
