//! The one rule for text that people read as a name or label: no control
//! characters and none of the characters that reorder how text is shown
//! (the "Trojan Source" set: bidirectional embeddings, overrides and
//! isolates, and the invisible directional marks), which could make one
//! clinician's, team's or staff member's name look like another's. Used by
//! the record, certificates, the recipient directory and the store's staff
//! names.

/// Characters that change the display order of text around them:
/// embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), and
/// the directional marks LRM, RLM (U+200E, U+200F) and ALM (U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Whether `s` may be shown as a name: no control character and no
/// [`is_bidi_control`] character.
pub fn is_display_safe(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() || is_bidi_control(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reordering_and_control_characters_are_unsafe() {
        assert!(is_display_safe("Dr Ada Lovelace-Ñúñez"));
        assert!(is_display_safe("د. علي")); // right-to-left text itself is fine
        for bad in [
            "Dr \u{202E}eoD",
            "A\u{2066}B",
            "x\u{200F}y",
            "x\u{061C}y",
            "tab\there",
            "nul\0",
            "line\nbreak",
        ] {
            assert!(!is_display_safe(bad), "{bad:?}");
        }
    }
}
