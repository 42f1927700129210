//! Where on the body the image was taken: text, optional SNOMED CT code,
//! laterality and caption.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::wire::{self, redacted_option, word_enum, Redacted};
use super::{RecordError, SnomedCode};

word_enum! {
    /// Which side of the body the site is on.
    pub enum Laterality (RecordError::Laterality) {
        /// The patient's left.
        Left = "left",
        /// The patient's right.
        Right = "right",
        /// Both sides.
        Bilateral = "bilateral",
        /// On the midline (neither side).
        Midline = "midline",
    }
}

/// The body site of an image.
///
/// `text` is what the clinician typed or picked ("dorsum of left hand");
/// `snomed_code` the matching SNOMED CT body-structure concept when the app
/// offers one. `Debug` shows only which fields are present.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct BodySite {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    snomed_code: Option<SnomedCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    laterality: Option<Laterality>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<String>,
}

impl BodySite {
    /// Builds a body site. `text`: 1 to 200 characters, one line; `caption`:
    /// 1 to 1000 characters, may span lines (pass `None` rather than an empty
    /// caption). Both are trimmed.
    pub fn new(
        text: &str,
        snomed_code: Option<SnomedCode>,
        laterality: Option<Laterality>,
        caption: Option<&str>,
    ) -> Result<Self, RecordError> {
        let text = wire::single_line(text, 200).ok_or(RecordError::BodySiteText)?;
        let caption = caption
            .map(|c| wire::multi_line(c, 1000).ok_or(RecordError::Caption))
            .transpose()?;
        Ok(BodySite {
            text,
            snomed_code,
            laterality,
            caption,
        })
    }

    /// The site as text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The SNOMED CT concept, if given.
    pub fn snomed_code(&self) -> Option<SnomedCode> {
        self.snomed_code
    }

    /// The laterality, if given.
    pub fn laterality(&self) -> Option<Laterality> {
        self.laterality
    }

    /// The caption, if given.
    pub fn caption(&self) -> Option<&str> {
        self.caption.as_deref()
    }
}

impl fmt::Debug for BodySite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodySite")
            .field("text", &Redacted)
            .field("snomed_code", &redacted_option(&self.snomed_code))
            .field("laterality", &redacted_option(&self.laterality))
            .field("caption", &redacted_option(&self.caption))
            .finish()
    }
}

impl<'de> Deserialize<'de> for BodySite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_via_raw::<D, RawBodySite, BodySite>(deserializer)
    }
}

/// The JSON shape of [`BodySite`], before any field is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBodySite {
    text: String,
    snomed_code: Option<String>,
    laterality: Option<String>,
    caption: Option<String>,
}

impl TryFrom<RawBodySite> for BodySite {
    type Error = RecordError;

    fn try_from(raw: RawBodySite) -> Result<Self, RecordError> {
        let snomed_code = raw
            .snomed_code
            .as_deref()
            .map(SnomedCode::parse)
            .transpose()?;
        let laterality = raw
            .laterality
            .as_deref()
            .map(Laterality::from_canonical)
            .transpose()?;
        BodySite::new(&raw.text, snomed_code, laterality, raw.caption.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laterality_words() {
        assert_eq!("left".parse::<Laterality>(), Ok(Laterality::Left));
        assert_eq!(" Midline ".parse::<Laterality>(), Ok(Laterality::Midline));
        assert_eq!(
            Laterality::from_canonical("Left"),
            Err(RecordError::Laterality),
            "JSON takes the canonical spelling only"
        );
        assert_eq!("both".parse::<Laterality>(), Err(RecordError::Laterality));
        for l in Laterality::ALL {
            assert_eq!(l.as_str().parse::<Laterality>(), Ok(*l));
            assert_eq!(
                serde_json::to_string(l).expect("ser"),
                format!("\"{}\"", l.as_str())
            );
        }
    }

    #[test]
    fn text_and_caption_rules() {
        let site = BodySite::new(
            " Left index finger ",
            SnomedCode::parse("7569003").ok(),
            Some(Laterality::Left),
            Some("Pigmented lesion\n6 mm"),
        )
        .expect("valid");
        assert_eq!(site.text(), "Left index finger");
        assert_eq!(site.caption(), Some("Pigmented lesion\n6 mm"));
        assert_eq!(
            BodySite::new("", None, None, None),
            Err(RecordError::BodySiteText)
        );
        assert_eq!(
            BodySite::new(&"x".repeat(201), None, None, None),
            Err(RecordError::BodySiteText)
        );
        assert_eq!(
            BodySite::new("hand\nfoot", None, None, None),
            Err(RecordError::BodySiteText)
        );
        assert!(BodySite::new("hand", None, None, Some(&"c".repeat(1000))).is_ok());
        for bad in ["c".repeat(1001), String::new(), "a\u{1b}[31m".into()] {
            assert_eq!(
                BodySite::new("hand", None, None, Some(&bad)),
                Err(RecordError::Caption)
            );
        }
    }

    #[test]
    fn json_round_trip_and_debug() {
        let site = BodySite::new(
            "Secret site",
            SnomedCode::parse("7569003").ok(),
            Some(Laterality::Bilateral),
            Some("Secret caption"),
        )
        .expect("valid");
        let json = serde_json::to_string(&site).expect("ser");
        assert_eq!(
            json,
            r#"{"text":"Secret site","snomed_code":"7569003","laterality":"bilateral","caption":"Secret caption"}"#
        );
        assert_eq!(serde_json::from_str::<BodySite>(&json).expect("de"), site);
        let shown = format!("{site:?}");
        assert!(!shown.contains("Secret"), "{shown}");
        assert!(!shown.contains("7569003"), "{shown}");

        for bad in [
            r#"{"text":"Secret site","laterality":"Secret"}"#,
            r#"{"text":"Secret site","snomed_code":"7569004"}"#,
            r#"{"text":"Secret site","extra":"Secret"}"#,
            r#"{"caption":"Secret"}"#,
        ] {
            let e = serde_json::from_str::<BodySite>(bad).expect_err(bad);
            assert!(!e.to_string().contains("Secret"), "{e}");
        }
    }
}
