//! The patient: identifiers, name and date of birth.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::macros::date;
use time::Date;

use super::wire::{self, redacted_option, Redacted};
use super::{NhsNumber, RecordError};

/// A local patient identifier (hospital number, MRN): 1 to 32 ASCII
/// letters, digits, hyphens or slashes, case kept as given.
/// `Debug` prints `LocalPatientId(<redacted>)`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LocalPatientId(String);

impl LocalPatientId {
    /// Parses a local identifier (surrounding whitespace is ignored).
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        let s = s.trim();
        if !(1..=32).contains(&s.len())
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
        {
            return Err(RecordError::LocalPatientId);
        }
        Ok(LocalPatientId(s.to_string()))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LocalPatientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LocalPatientId").field(&Redacted).finish()
    }
}

impl FromStr for LocalPatientId {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LocalPatientId::parse(s)
    }
}

impl Serialize for LocalPatientId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LocalPatientId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_string_with(
            deserializer,
            LocalPatientId::parse,
            RecordError::LocalPatientId,
        )
    }
}

/// The patient's name as one string ("Alex Example"): 1 to 200 characters,
/// no control or bidirectional-override characters, trimmed.
/// There is deliberately no `Display`: use [`PatientName::as_str`] where the
/// name is meant to be shown. `Debug` prints `PatientName(<redacted>)`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PatientName(String);

impl PatientName {
    /// Parses a name (surrounding whitespace is removed).
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        wire::single_line(s, 200)
            .map(PatientName)
            .ok_or(RecordError::PatientName)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PatientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PatientName").field(&Redacted).finish()
    }
}

impl FromStr for PatientName {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PatientName::parse(s)
    }
}

impl Serialize for PatientName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PatientName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_string_with(deserializer, PatientName::parse, RecordError::PatientName)
    }
}

/// The earliest date of birth accepted.
pub const EARLIEST_DATE_OF_BIRTH: Date = date!(1880 - 01 - 01);

/// Parses a date of birth written `YYYY-MM-DD` and checks it is neither
/// before [`EARLIEST_DATE_OF_BIRTH`] nor after `today_utc` (the caller's
/// date in UTC: the core reads no clock), as [`check_date_of_birth`].
pub fn parse_date_of_birth(s: &str, today_utc: Date) -> Result<Date, RecordError> {
    let date = wire::parse_date(s.trim()).ok_or(RecordError::DateOfBirthFormat)?;
    check_date_of_birth(date, today_utc)
}

/// Checks a date of birth is neither before [`EARLIEST_DATE_OF_BIRTH`] nor
/// in the future, judged from `today_utc` (the caller's date in UTC).
/// "The future" starts the day after tomorrow in UTC: a date that is
/// already today somewhere on Earth (UTC+14) is accepted.
pub fn check_date_of_birth(date: Date, today_utc: Date) -> Result<Date, RecordError> {
    check_not_too_early(date)?;
    let latest = today_utc.next_day().unwrap_or(today_utc);
    if date > latest {
        return Err(RecordError::DateOfBirthInFuture);
    }
    Ok(date)
}

/// The part of the date-of-birth rule that needs no clock.
fn check_not_too_early(date: Date) -> Result<Date, RecordError> {
    if date < EARLIEST_DATE_OF_BIRTH {
        return Err(RecordError::DateOfBirthTooEarly);
    }
    Ok(date)
}

/// The patient an image is of. Holds at least one identifier: an NHS
/// number, a local identifier (hospital number), or both.
///
/// `Debug` shows only which fields are present, never their values.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Patient {
    #[serde(skip_serializing_if = "Option::is_none")]
    nhs_number: Option<NhsNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_id: Option<LocalPatientId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<PatientName>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_date_of_birth"
    )]
    date_of_birth: Option<Date>,
}

impl Patient {
    /// Builds a patient record. Fails with
    /// [`RecordError::NoPatientIdentifier`] when both `nhs_number` and
    /// `local_id` are `None`, and with [`RecordError::DateOfBirthTooEarly`]
    /// for a date of birth before [`EARLIEST_DATE_OF_BIRTH`]. A date of
    /// birth in the future is refused by those who know the time:
    /// [`parse_date_of_birth`], `RecordDraft::from_json`, and a record
    /// refuses one after its capture date.
    pub fn new(
        nhs_number: Option<NhsNumber>,
        local_id: Option<LocalPatientId>,
        name: Option<PatientName>,
        date_of_birth: Option<Date>,
    ) -> Result<Self, RecordError> {
        if nhs_number.is_none() && local_id.is_none() {
            return Err(RecordError::NoPatientIdentifier);
        }
        if let Some(dob) = date_of_birth {
            check_not_too_early(dob)?;
        }
        Ok(Patient {
            nhs_number,
            local_id,
            name,
            date_of_birth,
        })
    }

    /// The NHS number, if known.
    pub fn nhs_number(&self) -> Option<&NhsNumber> {
        self.nhs_number.as_ref()
    }

    /// The local identifier (hospital number), if known.
    pub fn local_id(&self) -> Option<&LocalPatientId> {
        self.local_id.as_ref()
    }

    /// The name, if known.
    pub fn name(&self) -> Option<&PatientName> {
        self.name.as_ref()
    }

    /// The date of birth, if known.
    pub fn date_of_birth(&self) -> Option<Date> {
        self.date_of_birth
    }
}

impl fmt::Debug for Patient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Patient")
            .field("nhs_number", &redacted_option(&self.nhs_number))
            .field("local_id", &redacted_option(&self.local_id))
            .field("name", &redacted_option(&self.name))
            .field("date_of_birth", &redacted_option(&self.date_of_birth))
            .finish()
    }
}

impl<'de> Deserialize<'de> for Patient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_via_raw::<D, RawPatient, Patient>(deserializer)
    }
}

fn serialize_date_of_birth<S: Serializer>(
    date: &Option<Date>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => serializer.serialize_str(&wire::format_date(*date)),
        None => serializer.serialize_none(),
    }
}

/// The JSON shape of [`Patient`], before any field is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPatient {
    nhs_number: Option<String>,
    local_id: Option<String>,
    name: Option<String>,
    date_of_birth: Option<String>,
}

impl TryFrom<RawPatient> for Patient {
    type Error = RecordError;

    fn try_from(raw: RawPatient) -> Result<Self, RecordError> {
        let nhs_number = raw
            .nhs_number
            .as_deref()
            .map(NhsNumber::parse)
            .transpose()?;
        let local_id = raw
            .local_id
            .as_deref()
            .map(LocalPatientId::parse)
            .transpose()?;
        let name = raw.name.as_deref().map(PatientName::parse).transpose()?;
        let date_of_birth = raw
            .date_of_birth
            .as_deref()
            .map(|s| wire::parse_date(s).ok_or(RecordError::DateOfBirthFormat))
            .transpose()?;
        Patient::new(nhs_number, local_id, name, date_of_birth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nhs() -> NhsNumber {
        NhsNumber::parse("9434765919").expect("valid")
    }

    #[test]
    fn local_id_rules() {
        for good in [
            "RX1-000123",
            "A",
            "12/345/678",
            "abcDEF0123456789abcDEF0123456789",
        ] {
            assert_eq!(LocalPatientId::parse(good).expect(good).as_str(), good);
        }
        assert_eq!(
            LocalPatientId::parse(" H123 ").expect("trim").as_str(),
            "H123"
        );
        for bad in [
            "",
            " ",
            "H 123",
            "H_123",
            "H123é",
            "abcDEF0123456789abcDEF0123456789X",
        ] {
            assert_eq!(
                LocalPatientId::parse(bad),
                Err(RecordError::LocalPatientId),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn name_rules() {
        assert_eq!(
            PatientName::parse("  Zoë O'Neill-Ásgeirsdóttir ")
                .expect("valid")
                .as_str(),
            "Zoë O'Neill-Ásgeirsdóttir"
        );
        assert!(PatientName::parse(&"n".repeat(200)).is_ok());
        for bad in [
            String::new(),
            "n".repeat(201),
            "Alex\nExample".into(),
            "Alex\u{202E}Example".into(),
        ] {
            assert_eq!(PatientName::parse(&bad), Err(RecordError::PatientName));
        }
    }

    #[test]
    fn date_of_birth_rules() {
        let today = date!(2026 - 11 - 21);
        assert_eq!(
            parse_date_of_birth("1970-01-31", today),
            Ok(date!(1970 - 01 - 31))
        );
        assert!(parse_date_of_birth("1880-01-01", today).is_ok());
        assert_eq!(
            parse_date_of_birth("1879-12-31", today),
            Err(RecordError::DateOfBirthTooEarly)
        );
        assert_eq!(
            parse_date_of_birth("9000-01-01", today),
            Err(RecordError::DateOfBirthInFuture)
        );
        assert_eq!(
            parse_date_of_birth("31/01/1970", today),
            Err(RecordError::DateOfBirthFormat)
        );
        assert_eq!(check_date_of_birth(today, today), Ok(today));
        let tomorrow = date!(2026 - 11 - 22);
        assert_eq!(check_date_of_birth(tomorrow, today), Ok(tomorrow));
        assert_eq!(
            check_date_of_birth(date!(2026 - 11 - 23), today),
            Err(RecordError::DateOfBirthInFuture)
        );
        // The last day there is: no panic, and still judged.
        assert_eq!(check_date_of_birth(Date::MAX, Date::MAX), Ok(Date::MAX));
        // Without a clock a patient takes any date from 1880 on (a record
        // refuses one after its capture date).
        assert!(Patient::new(Some(nhs()), None, None, Some(date!(9000 - 01 - 01))).is_ok());
        assert_eq!(
            Patient::new(Some(nhs()), None, None, Some(date!(1879 - 12 - 31))),
            Err(RecordError::DateOfBirthTooEarly)
        );
    }

    #[test]
    fn needs_an_identifier() {
        let name = PatientName::parse("Alex Example").ok();
        assert_eq!(
            Patient::new(None, None, name.clone(), Some(date!(1970 - 01 - 31))),
            Err(RecordError::NoPatientIdentifier)
        );
        assert!(Patient::new(Some(nhs()), None, None, None).is_ok());
        let local = LocalPatientId::parse("H123").ok();
        assert!(Patient::new(None, local, name, None).is_ok());
    }

    #[test]
    fn json_shape_and_strictness() {
        let p = Patient::new(
            Some(nhs()),
            None,
            PatientName::parse("Alex Example").ok(),
            Some(date!(1970 - 01 - 31)),
        )
        .expect("valid");
        let json = serde_json::to_string(&p).expect("ser");
        assert_eq!(
            json,
            r#"{"nhs_number":"9434765919","name":"Alex Example","date_of_birth":"1970-01-31"}"#
        );
        let back: Patient = serde_json::from_str(&json).expect("de");
        assert_eq!(back, p);
        let with_nulls: Patient =
            serde_json::from_str(r#"{"nhs_number":"9434765919","local_id":null}"#).expect("de");
        assert_eq!(with_nulls.local_id(), None);

        for (bad, secret) in [
            (r#"{"name":"Alex Example"}"#, "Alex"),
            (r#"{"nhs_number":"9434765919","Alex Example":1}"#, "Alex"),
            (r#"{"nhs_number":9434765919}"#, "434765"),
            (
                r#"{"local_id":"H123","date_of_birth":"31/01/1971"}"#,
                "1971",
            ),
        ] {
            let e = serde_json::from_str::<Patient>(bad).expect_err(bad);
            assert!(!e.to_string().contains(secret), "{e}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let p = Patient::new(
            Some(nhs()),
            LocalPatientId::parse("H123").ok(),
            PatientName::parse("Alex Example").ok(),
            Some(date!(1970 - 01 - 31)),
        )
        .expect("valid");
        let shown = format!("{p:?} {p:#?}");
        for secret in ["9434765919", "943 476", "H123", "Alex", "1970"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("Some(<redacted>)"), "{shown}");
    }
}
