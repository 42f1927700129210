//! Shared helpers for the record's wire form: text rules, hex, dates and
//! timestamps, redacted `Debug` output, and serde plumbing that never lets a
//! value into an error message.

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

use super::RecordError;

/// Placeholder printed by `Debug` in place of patient data.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `Some(<redacted>)` or `None`: shows whether an optional field is present.
pub(crate) fn redacted_option<T>(value: &Option<T>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}

use crate::display_text::is_bidi_control;

/// A single line of text: trimmed, `1..=max` characters, no control or
/// bidirectional-override characters. `None` when the rule is broken.
pub(crate) fn single_line(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    let count = s.chars().count();
    if count == 0 || count > max || s.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return None;
    }
    Some(s.to_string())
}

/// Free text that may span lines: trimmed, `1..=max` characters, no control
/// characters other than line feed, carriage return and tab, no
/// bidirectional-override characters. `None` when the rule is broken.
pub(crate) fn multi_line(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    let count = s.chars().count();
    let bad = |c: char| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_control(c);
    if count == 0 || count > max || s.chars().any(bad) {
        return None;
    }
    Some(s.to_string())
}

/// Lowercase hexadecimal ([`crate::hex`]).
pub(crate) use crate::hex::{decode as parse_hex_lower, encode as hex_lower};

/// Formats a date as `YYYY-MM-DD` (years 0 to 9999).
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Parses exactly `YYYY-MM-DD` as a calendar date.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(5..7)?).ok()?).ok()?;
    let day = u8::try_from(digits(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// True when the timestamp can be written in RFC 3339 (years 0 to 9999, an
/// offset of whole minutes under 24 hours).
pub(crate) fn is_rfc3339_representable(t: OffsetDateTime) -> bool {
    t.format(&Rfc3339).is_ok()
}

/// Parses an RFC 3339 timestamp.
pub(crate) fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// `serialize_with` for timestamps. Record constructors only accept
/// timestamps for which [`is_rfc3339_representable`] holds, so this does not fail.
pub(crate) fn serialize_rfc3339<S: Serializer>(
    t: &OffsetDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let text = t
        .format(&Rfc3339)
        .map_err(|_| serde::ser::Error::custom("timestamp cannot be written as RFC 3339"))?;
    serializer.serialize_str(&text)
}

/// Names of every field in the record format, so that serde's "missing
/// field" and "duplicate field" messages can be turned back into a
/// `&'static str` without copying text from the input.
const FIELD_NAMES: &[&str] = &[
    "version",
    "patient",
    "nhs_number",
    "local_id",
    "name",
    "date_of_birth",
    "body_site",
    "text",
    "snomed_code",
    "laterality",
    "caption",
    "captured_at",
    "clinician",
    "registration_body",
    "registration_number",
    "device_id",
    "consent",
    "scopes",
    "method",
    "given_by",
    "obtained_by",
    "obtained_at",
    "notes",
    "signature_image_sha256",
    "source",
    "link_capability",
    "image",
    "media_type",
    "width",
    "height",
    "sha256",
];

/// The field name quoted in a serde message like "missing field `name`",
/// when it is one of ours.
fn quoted_field(message: &str) -> Option<&'static str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let name = &message[start..start + len];
    FIELD_NAMES.iter().copied().find(|field| *field == name)
}

/// Writes a timestamp as RFC 3339; [`RecordError::CapturedAt`] when it
/// cannot be (years outside 0 to 9999).
pub(crate) fn format_rfc3339(t: OffsetDateTime) -> Result<String, RecordError> {
    t.format(&Rfc3339).map_err(|_| RecordError::CapturedAt)
}

/// A JSON value read strictly: a key given twice in one object is an error
/// ("duplicate field `name`", as serde's derived structs say), where
/// `serde_json::Value` would keep the last one silently.
struct StrictValue(serde_json::Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor};
        use serde_json::Value;
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Null))
            }
            fn visit_none<E>(self) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
                let mut items = Vec::new();
                while let Some(StrictValue(v)) = seq.next_element()? {
                    items.push(v);
                }
                Ok(StrictValue(Value::Array(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
                let mut object = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let StrictValue(value) = map.next_value()?;
                    if object.contains_key(&key) {
                        // Only our own field names are ever quoted back.
                        let name = FIELD_NAMES
                            .iter()
                            .find(|f| **f == key)
                            .copied()
                            .unwrap_or("?");
                        return Err(A::Error::custom(format_args!("duplicate field `{name}`")));
                    }
                    object.insert(key, value);
                }
                Ok(StrictValue(Value::Object(object)))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Parses a JSON object strictly (no key twice in any object); errors as
/// [`json_error`] makes them, never quoting the input.
pub(crate) fn parse_strict_object(
    json: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, RecordError> {
    match serde_json::from_slice::<StrictValue>(json).map_err(|e| json_error(&e))? {
        StrictValue(serde_json::Value::Object(object)) => Ok(object),
        _ => Err(RecordError::WrongJsonType { line: 1, column: 1 }),
    }
}

/// Turns a serde_json error into a [`RecordError`] that holds no input.
///
/// serde's own messages may quote the offending value ("invalid type: string
/// \"...\"") or key ("unknown field `...`"); they are reduced to a category
/// and a position. Only structural problems reach this function: the content
/// of every field is checked afterwards, by code that returns typed errors.
pub(crate) fn json_error(e: &serde_json::Error) -> RecordError {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => RecordError::JsonSyntax { line, column },
        Category::Data => {
            let message = e.to_string();
            if message.starts_with("unknown field") {
                RecordError::UnknownField { line, column }
            } else if message.starts_with("invalid type") || message.starts_with("invalid length") {
                RecordError::WrongJsonType { line, column }
            } else if message.starts_with("missing field") {
                match quoted_field(&message) {
                    Some(field) => RecordError::MissingField { field },
                    None => RecordError::InvalidJsonValue { line, column },
                }
            } else if message.starts_with("duplicate field") {
                match quoted_field(&message) {
                    Some(field) => RecordError::DuplicateField { field },
                    None => RecordError::InvalidJsonValue { line, column },
                }
            } else {
                RecordError::InvalidJsonValue { line, column }
            }
        }
    }
}

/// Deserializes a record type through its plain "raw" mirror `R`, then
/// checks it with `T::try_from`. Going through a JSON value first means that
/// serde's value-quoting messages never reach the caller's deserializer: only
/// our own messages do. (The record is JSON only, so requiring a
/// self-describing format costs nothing.)
pub(crate) fn deserialize_via_raw<'de, D, R, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    R: DeserializeOwned,
    T: TryFrom<R>,
    T::Error: fmt::Display,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    let raw: R = serde_json::from_value(value).map_err(|e| D::Error::custom(json_error(&e)))?;
    T::try_from(raw).map_err(D::Error::custom)
}

/// Deserializes a JSON string and parses it with `parse`; any other JSON
/// type gives `wrong_type`. The value never appears in the error.
pub(crate) fn deserialize_string_with<'de, D, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Result<T, RecordError>,
    wrong_type: RecordError,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => parse(&s).map_err(D::Error::custom),
        _ => Err(D::Error::custom(wrong_type)),
    }
}

/// Defines a closed set of words (laterality, consent method, source, ...)
/// as an enum with its canonical spelling, a strict parser for JSON and a
/// lenient one for people and command lines.
///
/// `parse` (and `FromStr`) ignores surrounding whitespace and ASCII case and
/// treats `-` and spaces as `_`, so `best-interests` reads as
/// `best_interests`; JSON accepts only the canonical spelling.
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($error:expr) {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling, as used in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }

            /// Parses the canonical spelling only (the JSON form).
            pub fn from_canonical(s: &str) -> Result<Self, $crate::record::RecordError> {
                match s {
                    $( $wire => Ok($name::$variant), )+
                    _ => Err($error),
                }
            }

            /// Parses leniently: surrounding whitespace and ASCII case are
            /// ignored, and `-` or a space may stand for `_`.
            pub fn parse(s: &str) -> Result<Self, $crate::record::RecordError> {
                let normalized: String = s
                    .trim()
                    .chars()
                    .map(|c| match c {
                        '-' | ' ' => '_',
                        c => c.to_ascii_lowercase(),
                    })
                    .collect();
                Self::from_canonical(&normalized)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::record::RecordError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::record::wire::deserialize_string_with(deserializer, Self::from_canonical, $error)
            }
        }
    };
}
pub(crate) use word_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_iso_8601() {
        let d = parse_date("1970-01-31").expect("valid date");
        assert_eq!(format_date(d), "1970-01-31");
        for bad in [
            "1970-1-31",
            "1970-02-30",
            "70-01-31",
            "1970/01/31",
            "1970-01-31T00:00",
            "+970-01-31",
            "1970-13-01",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_rules() {
        assert_eq!(single_line("  a b ", 3).as_deref(), Some("a b"));
        assert_eq!(single_line("abcd", 3), None);
        assert_eq!(single_line("   ", 3), None);
        assert_eq!(single_line("a\nb", 3), None);
        assert_eq!(single_line("a\u{202E}b", 3), None);
        assert_eq!(
            single_line("ééé", 3).as_deref(),
            Some("ééé"),
            "counts characters"
        );
        assert_eq!(multi_line("a\nb\tc\r\n", 10).as_deref(), Some("a\nb\tc"));
        assert_eq!(multi_line("a\u{7}b", 10), None);
        assert_eq!(multi_line("a\u{2066}b", 10), None);
    }

    #[test]
    fn json_errors_never_quote_the_input() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            name: String,
            width: u32,
        }
        for (input, expected) in [
            (
                r#"{"name":"Secret","width":1,"Secretkey":2}"#,
                "UnknownField",
            ),
            (r#"{"name":"Secret","width":"Secret"}"#, "WrongJsonType"),
            (
                r#"{"name":"Secret","width":9434765919}"#,
                "InvalidJsonValue",
            ),
            (r#"{"name":"Secret","width":-1}"#, "InvalidJsonValue"),
            (r#"{"name":"Secret"}"#, "MissingField"),
            (
                r#"{"name":"Secret","name":"Secret","width":1}"#,
                "DuplicateField",
            ),
            (r#"{"name":"Secret""#, "JsonSyntax"),
        ] {
            let e = serde_json::from_str::<T>(input).expect_err(input);
            let mapped = json_error(&e);
            let shown = format!("{mapped} {mapped:?}");
            assert!(shown.contains(expected), "{shown}");
            assert!(!shown.contains("Secret"), "{shown}");
            assert!(!shown.contains("9434765919"), "{shown}");
        }
    }
}
