//! Who took the image: a clinician and their professional registration.
//! Shared by the clinical record and the device certificate.

use serde::{Deserialize, Deserializer, Serialize};

/// A UK healthcare regulator with which a clinician is registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegistrationBody {
    /// General Medical Council (doctors).
    #[serde(rename = "GMC")]
    Gmc,
    /// Nursing and Midwifery Council.
    #[serde(rename = "NMC")]
    Nmc,
    /// Health and Care Professions Council (incl. clinical photographers).
    #[serde(rename = "HCPC")]
    Hcpc,
    /// General Dental Council.
    #[serde(rename = "GDC")]
    Gdc,
    /// General Pharmaceutical Council.
    #[serde(rename = "GPhC")]
    Gphc,
    /// Any other body, by its usual abbreviation (1 to 32 characters).
    #[serde(rename = "other")]
    Other(String),
}

impl RegistrationBody {
    /// The body's usual abbreviation (`GMC`, `NMC`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            RegistrationBody::Gmc => "GMC",
            RegistrationBody::Nmc => "NMC",
            RegistrationBody::Hcpc => "HCPC",
            RegistrationBody::Gdc => "GDC",
            RegistrationBody::Gphc => "GPhC",
            RegistrationBody::Other(s) => s,
        }
    }

    /// Parses an abbreviation, case-insensitively for the known bodies.
    pub fn parse(s: &str) -> Result<Self, ClinicianError> {
        let s = s.trim();
        Ok(match s.to_ascii_uppercase().as_str() {
            "GMC" => RegistrationBody::Gmc,
            "NMC" => RegistrationBody::Nmc,
            "HCPC" => RegistrationBody::Hcpc,
            "GDC" => RegistrationBody::Gdc,
            "GPHC" => RegistrationBody::Gphc,
            _ if (1..=32).contains(&s.chars().count())
                && crate::display_text::is_display_safe(s) =>
            {
                RegistrationBody::Other(s.to_string())
            }
            _ => return Err(ClinicianError::RegistrationBody),
        })
    }

    /// Normalises `Other` through [`RegistrationBody::parse`], which also
    /// checks its length and characters.
    fn checked(self) -> Result<Self, ClinicianError> {
        match self {
            RegistrationBody::Other(s) => RegistrationBody::parse(&s),
            known => Ok(known),
        }
    }
}

impl std::fmt::Display for RegistrationBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A clinician: the person who captured an image or obtained consent.
///
/// Deserializing checks every field as [`Clinician::new`] does and refuses
/// unknown fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clinician {
    /// Full name as registered (1 to 200 characters).
    pub name: String,
    /// The regulator.
    pub registration_body: RegistrationBody,
    /// Registration number with that regulator (1 to 32 characters).
    pub registration_number: String,
}

impl Clinician {
    /// Builds a clinician, checking every field.
    pub fn new(
        name: &str,
        registration_body: RegistrationBody,
        registration_number: &str,
    ) -> Result<Self, ClinicianError> {
        let name = name.trim();
        if !(1..=200).contains(&name.chars().count()) || !crate::display_text::is_display_safe(name)
        {
            return Err(ClinicianError::Name);
        }
        let number = registration_number.trim();
        if !(1..=32).contains(&number.chars().count())
            || !number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ClinicianError::RegistrationNumber);
        }
        Ok(Clinician {
            name: name.to_string(),
            registration_body,
            registration_number: number.to_string(),
        })
    }

    /// Checks (and trims) a clinician that may have been built field by
    /// field, as [`Clinician::new`] would.
    pub(crate) fn checked(self) -> Result<Self, ClinicianError> {
        Clinician::new(
            &self.name,
            self.registration_body.checked()?,
            &self.registration_number,
        )
    }
}

impl<'de> Deserialize<'de> for Clinician {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::wire::deserialize_via_raw::<D, RawClinician, Clinician>(deserializer)
    }
}

/// The JSON shape of [`Clinician`], before any field is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClinician {
    name: String,
    registration_body: RegistrationBody,
    registration_number: String,
}

impl TryFrom<RawClinician> for Clinician {
    type Error = ClinicianError;

    fn try_from(raw: RawClinician) -> Result<Self, ClinicianError> {
        Clinician::new(
            &raw.name,
            raw.registration_body.checked()?,
            &raw.registration_number,
        )
    }
}

/// Why clinician details were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClinicianError {
    /// The name is empty, too long or holds control or text-direction
    /// characters.
    #[error(
        "clinician name must be 1 to 200 characters without control or text-direction characters"
    )]
    Name,
    /// The registration body is empty, too long or holds control characters.
    #[error("registration body must be GMC, NMC, HCPC, GDC, GPhC or another 1 to 32 character abbreviation")]
    RegistrationBody,
    /// The registration number is empty, too long or not alphanumeric.
    #[error("registration number must be 1 to 32 letters, digits or hyphens")]
    RegistrationNumber,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bodies_and_checks_fields() {
        assert_eq!(RegistrationBody::parse("gmc"), Ok(RegistrationBody::Gmc));
        assert_eq!(RegistrationBody::parse("GPhC"), Ok(RegistrationBody::Gphc));
        assert_eq!(
            RegistrationBody::parse("IHCD"),
            Ok(RegistrationBody::Other("IHCD".into()))
        );
        assert!(RegistrationBody::parse("").is_err());
        let c = Clinician::new(" Dr A Example ", RegistrationBody::Gmc, "1234567").expect("valid");
        assert_eq!(c.name, "Dr A Example");
        assert_eq!(
            Clinician::new("", RegistrationBody::Gmc, "1"),
            Err(ClinicianError::Name)
        );
        assert_eq!(
            Clinician::new("A", RegistrationBody::Gmc, "12 34"),
            Err(ClinicianError::RegistrationNumber)
        );
        let json = serde_json::to_string(&c).expect("serialize");
        assert!(json.contains("\"GMC\""), "{json}");
    }

    #[test]
    fn deserializing_checks_fields() {
        let c: Clinician = serde_json::from_str(
            r#"{"name":" Dr A Example ","registration_body":{"other":"IHCD"},"registration_number":"X1"}"#,
        )
        .expect("valid");
        assert_eq!(c.name, "Dr A Example");
        assert_eq!(c.registration_body, RegistrationBody::Other("IHCD".into()));
        for bad in [
            r#"{"name":"","registration_body":"GMC","registration_number":"1"}"#,
            r#"{"name":"A","registration_body":"GMC","registration_number":"1 2"}"#,
            r#"{"name":"A","registration_body":{"other":""},"registration_number":"1"}"#,
            r#"{"name":"A","registration_body":"GMC","registration_number":"1","x":1}"#,
        ] {
            assert!(serde_json::from_str::<Clinician>(bad).is_err(), "{bad}");
        }
        let other_known = Clinician {
            name: "A".into(),
            registration_body: RegistrationBody::Other("gmc".into()),
            registration_number: "1".into(),
        };
        assert_eq!(
            other_known.checked().map(|c| c.registration_body),
            Ok(RegistrationBody::Gmc)
        );
    }
}
