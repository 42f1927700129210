//! Consent to the recording, after the GMC guidance "Making and using visual
//! and audio recordings of patients": what it may be used for, how consent
//! was given, by whom, who obtained it and when.

use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use super::clinician::RawClinician;
use super::wire::{self, redacted_option, word_enum};
use super::{Clinician, RecordError};

word_enum! {
    /// One purpose the patient agreed the image may be used for.
    pub enum ConsentScope (RecordError::ConsentScope) {
        /// The patient's own care (the clinical record, referral, review).
        Care = "care",
        /// Teaching and training of health professionals.
        Teaching = "teaching",
        /// Publication (journals, books, websites, conference talks).
        Publication = "publication",
    }
}

word_enum! {
    /// How consent was recorded.
    pub enum ConsentMethod (RecordError::ConsentMethod) {
        /// Spoken, noted by the clinician.
        Verbal = "verbal",
        /// On a paper or electronic consent form filed elsewhere.
        Written = "written",
        /// A signature captured as an image that travels with the record
        /// (see [`Consent::signature_image_sha256`]).
        SignatureImage = "signature_image",
    }
}

word_enum! {
    /// Who gave consent.
    pub enum ConsentGiver (RecordError::ConsentGiver) {
        /// The patient, having capacity.
        Patient = "patient",
        /// A parent, for a child who cannot consent.
        Parent = "parent",
        /// A legal guardian or other person with authority to decide.
        Guardian = "guardian",
        /// Nobody could consent: the patient lacks capacity and the decision
        /// was made in their best interests. Consent notes are then required.
        BestInterests = "best_interests",
    }
}

/// A non-empty set of [`ConsentScope`]s.
///
/// Each scope is explicit: teaching or publication does not imply care.
/// In JSON: an array of the scope names, sorted alphabetically
/// (`["care","publication","teaching"]`); each name at most once.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsentScopes(u8);

impl fmt::Debug for ConsentScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The scopes in their JSON (alphabetical) order.
const SCOPES_SORTED: [ConsentScope; 3] = [
    ConsentScope::Care,
    ConsentScope::Publication,
    ConsentScope::Teaching,
];

fn bit(scope: ConsentScope) -> u8 {
    match scope {
        ConsentScope::Care => 1,
        ConsentScope::Teaching => 2,
        ConsentScope::Publication => 4,
    }
}

impl ConsentScopes {
    /// Builds the set. Fails when `scopes` is empty or names a scope twice.
    pub fn new(scopes: impl IntoIterator<Item = ConsentScope>) -> Result<Self, RecordError> {
        let mut bits = 0u8;
        for scope in scopes {
            if bits & bit(scope) != 0 {
                return Err(RecordError::ConsentScopeRepeated);
            }
            bits |= bit(scope);
        }
        if bits == 0 {
            return Err(RecordError::ConsentScopesEmpty);
        }
        Ok(ConsentScopes(bits))
    }

    /// Parses a comma-separated list such as `care,teaching` (each item as
    /// [`ConsentScope::parse`] reads it, so `Care, Teaching` works too).
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        if s.trim().is_empty() {
            return Err(RecordError::ConsentScopesEmpty);
        }
        let scopes = s
            .split(',')
            .map(ConsentScope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        ConsentScopes::new(scopes)
    }

    /// True when the patient agreed to `scope`.
    pub fn contains(self, scope: ConsentScope) -> bool {
        self.0 & bit(scope) != 0
    }

    /// The scopes, in alphabetical order of their names (the JSON order).
    pub fn iter(self) -> impl Iterator<Item = ConsentScope> {
        SCOPES_SORTED.into_iter().filter(move |s| self.contains(*s))
    }
}

impl fmt::Display for ConsentScopes {
    /// Writes the scopes comma-separated, as [`ConsentScopes::parse`] reads them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for ConsentScopes {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConsentScopes::parse(s)
    }
}

impl Serialize for ConsentScopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for scope in self.iter() {
            seq.serialize_element(scope.as_str())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ConsentScopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_via_raw::<D, Vec<String>, ConsentScopes>(deserializer)
    }
}

impl TryFrom<Vec<String>> for ConsentScopes {
    type Error = RecordError;

    /// Reads the JSON form: canonical names only, any order, each once.
    fn try_from(names: Vec<String>) -> Result<Self, RecordError> {
        let scopes = names
            .iter()
            .map(|name| ConsentScope::from_canonical(name))
            .collect::<Result<Vec<_>, _>>()?;
        ConsentScopes::new(scopes)
    }
}

/// Consent to the recording and its uses.
///
/// `obtained_by` is a [`Clinician`] (name, regulator, registration number),
/// the same type as the capturing clinician, so that both can be checked
/// against the register the same way. It is always required; for a
/// best-interests decision it names the clinician who made it.
///
/// Rules checked by [`Consent::new`] (and when reading JSON):
/// - `notes`, when given, are 1 to 2000 characters;
/// - [`ConsentGiver::BestInterests`] requires `notes` (who was consulted,
///   why the recording is in the patient's best interests);
/// - `signature_image_sha256` is only allowed with
///   [`ConsentMethod::SignatureImage`]. It is the SHA-256 of the signature
///   image, which travels separately (its own attachment or form): the
///   record carries only the hash that binds the two together.
///
/// `Debug` hides the notes.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Consent {
    scopes: ConsentScopes,
    method: ConsentMethod,
    given_by: ConsentGiver,
    obtained_by: Clinician,
    #[serde(serialize_with = "wire::serialize_rfc3339")]
    obtained_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_sha256_option"
    )]
    signature_image_sha256: Option<[u8; 32]>,
}

impl Consent {
    /// Builds a consent, checking the rules in the type documentation.
    /// `obtained_at` must be writable as RFC 3339 (years 0 to 9999, an
    /// offset of whole minutes).
    pub fn new(
        scopes: ConsentScopes,
        method: ConsentMethod,
        given_by: ConsentGiver,
        obtained_by: Clinician,
        obtained_at: OffsetDateTime,
        notes: Option<&str>,
        signature_image_sha256: Option<[u8; 32]>,
    ) -> Result<Self, RecordError> {
        let obtained_by = obtained_by.checked()?;
        if !wire::is_rfc3339_representable(obtained_at) {
            return Err(RecordError::ConsentObtainedAt);
        }
        let notes = notes
            .map(|n| wire::multi_line(n, 2000).ok_or(RecordError::ConsentNotes))
            .transpose()?;
        if given_by == ConsentGiver::BestInterests && notes.is_none() {
            return Err(RecordError::BestInterestsNeedsNotes);
        }
        if signature_image_sha256.is_some() && method != ConsentMethod::SignatureImage {
            return Err(RecordError::SignatureHashWithoutSignatureMethod);
        }
        Ok(Consent {
            scopes,
            method,
            given_by,
            obtained_by,
            obtained_at,
            notes,
            signature_image_sha256,
        })
    }

    /// What the image may be used for.
    pub fn scopes(&self) -> ConsentScopes {
        self.scopes
    }

    /// How consent was recorded.
    pub fn method(&self) -> ConsentMethod {
        self.method
    }

    /// Who gave consent.
    pub fn given_by(&self) -> ConsentGiver {
        self.given_by
    }

    /// The clinician who obtained consent (or made the best-interests decision).
    pub fn obtained_by(&self) -> &Clinician {
        &self.obtained_by
    }

    /// When consent was obtained.
    pub fn obtained_at(&self) -> OffsetDateTime {
        self.obtained_at
    }

    /// Free-text notes, if any.
    pub fn notes(&self) -> Option<&str> {
        self.notes.as_deref()
    }

    /// SHA-256 of the signature image, if one was captured and hashed.
    pub fn signature_image_sha256(&self) -> Option<&[u8; 32]> {
        self.signature_image_sha256.as_ref()
    }
}

impl fmt::Debug for Consent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consent")
            .field("scopes", &self.scopes)
            .field("method", &self.method)
            .field("given_by", &self.given_by)
            .field("obtained_by", &self.obtained_by)
            .field("obtained_at", &self.obtained_at)
            .field("notes", &redacted_option(&self.notes))
            .field(
                "signature_image_sha256",
                &redacted_option(&self.signature_image_sha256),
            )
            .finish()
    }
}

impl<'de> Deserialize<'de> for Consent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_via_raw::<D, RawConsent, Consent>(deserializer)
    }
}

fn serialize_sha256_option<S: Serializer>(
    hash: &Option<[u8; 32]>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match hash {
        Some(hash) => serializer.serialize_str(&wire::hex_lower(hash)),
        None => serializer.serialize_none(),
    }
}

/// The JSON shape of [`Consent`], before any field is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConsent {
    scopes: Vec<String>,
    method: String,
    given_by: String,
    obtained_by: RawClinician,
    obtained_at: String,
    notes: Option<String>,
    signature_image_sha256: Option<String>,
}

impl TryFrom<RawConsent> for Consent {
    type Error = RecordError;

    fn try_from(raw: RawConsent) -> Result<Self, RecordError> {
        let scopes = ConsentScopes::try_from(raw.scopes)?;
        let method = ConsentMethod::from_canonical(&raw.method)?;
        let given_by = ConsentGiver::from_canonical(&raw.given_by)?;
        let obtained_by = Clinician::try_from(raw.obtained_by)?;
        let obtained_at =
            wire::parse_rfc3339(&raw.obtained_at).ok_or(RecordError::ConsentObtainedAt)?;
        let signature_image_sha256 = raw
            .signature_image_sha256
            .as_deref()
            .map(|h| wire::parse_hex_lower::<32>(h).ok_or(RecordError::SignatureImageSha256))
            .transpose()?;
        Consent::new(
            scopes,
            method,
            given_by,
            obtained_by,
            obtained_at,
            raw.notes.as_deref(),
            signature_image_sha256,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RegistrationBody;
    use time::macros::datetime;

    fn nurse() -> Clinician {
        Clinician::new("Nurse Pat Fictional", RegistrationBody::Nmc, "00A0000A").expect("valid")
    }

    fn scopes(s: &str) -> ConsentScopes {
        ConsentScopes::parse(s).expect(s)
    }

    #[test]
    fn scopes_parse_and_order() {
        let all = scopes("teaching, publication,care");
        assert_eq!(
            all.iter().collect::<Vec<_>>(),
            [
                ConsentScope::Care,
                ConsentScope::Publication,
                ConsentScope::Teaching
            ]
        );
        assert_eq!(all.to_string(), "care,publication,teaching");
        assert_eq!(format!("{all:?}"), "{Care, Publication, Teaching}");
        assert_eq!(
            serde_json::to_string(&all).expect("ser"),
            r#"["care","publication","teaching"]"#
        );
        let care_teaching: ConsentScopes = "care,teaching".parse().expect("valid");
        assert!(care_teaching.contains(ConsentScope::Teaching));
        assert!(!care_teaching.contains(ConsentScope::Publication));
        assert_eq!(scopes("Teaching").iter().count(), 1);
        assert!(
            !scopes("teaching").contains(ConsentScope::Care),
            "no implied care"
        );

        assert_eq!(
            ConsentScopes::parse(""),
            Err(RecordError::ConsentScopesEmpty)
        );
        assert_eq!(ConsentScopes::new([]), Err(RecordError::ConsentScopesEmpty));
        assert_eq!(
            ConsentScopes::parse("care,care"),
            Err(RecordError::ConsentScopeRepeated)
        );
        assert_eq!(
            ConsentScopes::parse("care,,teaching"),
            Err(RecordError::ConsentScope)
        );
        assert_eq!(
            ConsentScopes::parse("care,research"),
            Err(RecordError::ConsentScope)
        );
    }

    #[test]
    fn scopes_json_is_strict() {
        let back: ConsentScopes =
            serde_json::from_str(r#"["teaching","care"]"#).expect("any order");
        assert_eq!(back, scopes("care,teaching"));
        for bad in [
            "[]",
            r#"["Care"]"#,
            r#"["care","care"]"#,
            r#""care""#,
            r#"["care",1]"#,
        ] {
            assert!(serde_json::from_str::<ConsentScopes>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn method_and_giver_words() {
        assert_eq!(
            "signature-image".parse::<ConsentMethod>(),
            Ok(ConsentMethod::SignatureImage)
        );
        assert_eq!("Verbal".parse::<ConsentMethod>(), Ok(ConsentMethod::Verbal));
        assert_eq!(
            "best-interests".parse::<ConsentGiver>(),
            Ok(ConsentGiver::BestInterests)
        );
        assert_eq!(
            "best_interests".parse::<ConsentGiver>(),
            Ok(ConsentGiver::BestInterests)
        );
        assert_eq!(
            ConsentGiver::from_canonical("best-interests"),
            Err(RecordError::ConsentGiver)
        );
        assert_eq!(
            "carer".parse::<ConsentGiver>(),
            Err(RecordError::ConsentGiver)
        );
        assert_eq!(
            "email".parse::<ConsentMethod>(),
            Err(RecordError::ConsentMethod)
        );
    }

    #[test]
    fn cross_field_rules() {
        let at = datetime!(2026-11-21 10:12 UTC);
        let ok = |giver, method, notes, sig| {
            Consent::new(scopes("care"), method, giver, nurse(), at, notes, sig)
        };
        assert!(ok(ConsentGiver::Patient, ConsentMethod::Verbal, None, None).is_ok());
        assert_eq!(
            ok(
                ConsentGiver::BestInterests,
                ConsentMethod::Verbal,
                None,
                None
            ),
            Err(RecordError::BestInterestsNeedsNotes)
        );
        assert!(ok(
            ConsentGiver::BestInterests,
            ConsentMethod::Verbal,
            Some("Discussed with daughter (LPA health and welfare)."),
            None
        )
        .is_ok());
        assert_eq!(
            ok(
                ConsentGiver::BestInterests,
                ConsentMethod::Verbal,
                Some("  "),
                None
            ),
            Err(RecordError::ConsentNotes)
        );
        assert_eq!(
            ok(
                ConsentGiver::Patient,
                ConsentMethod::Written,
                None,
                Some([7; 32])
            ),
            Err(RecordError::SignatureHashWithoutSignatureMethod)
        );
        assert!(ok(
            ConsentGiver::Parent,
            ConsentMethod::SignatureImage,
            None,
            Some([7; 32])
        )
        .is_ok());
        assert!(ok(
            ConsentGiver::Parent,
            ConsentMethod::SignatureImage,
            None,
            None
        )
        .is_ok());
        assert_eq!(
            ok(
                ConsentGiver::Patient,
                ConsentMethod::Verbal,
                Some(&"n".repeat(2001)),
                None
            ),
            Err(RecordError::ConsentNotes)
        );
        let odd_offset = at.replace_offset(time::UtcOffset::from_hms(1, 0, 30).expect("offset"));
        assert_eq!(
            Consent::new(
                scopes("care"),
                ConsentMethod::Verbal,
                ConsentGiver::Patient,
                nurse(),
                odd_offset,
                None,
                None
            ),
            Err(RecordError::ConsentObtainedAt)
        );
        let bad_clinician = Clinician {
            name: String::new(),
            ..nurse()
        };
        assert!(matches!(
            Consent::new(
                scopes("care"),
                ConsentMethod::Verbal,
                ConsentGiver::Patient,
                bad_clinician,
                at,
                None,
                None
            ),
            Err(RecordError::Clinician(_))
        ));
    }

    #[test]
    fn json_round_trip_and_debug() {
        let consent = Consent::new(
            scopes("care,teaching"),
            ConsentMethod::SignatureImage,
            ConsentGiver::Guardian,
            nurse(),
            datetime!(2026-11-21 10:12 +01:00),
            Some("Secret note"),
            Some([0xab; 32]),
        )
        .expect("valid");
        let json = serde_json::to_string(&consent).expect("ser");
        assert!(json.starts_with(r#"{"scopes":["care","teaching"],"method":"signature_image","given_by":"guardian","obtained_by":{"#), "{json}");
        assert!(
            json.contains(r#""obtained_at":"2026-11-21T10:12:00+01:00""#),
            "{json}"
        );
        assert!(json.contains(&format!(
            r#""signature_image_sha256":"{}""#,
            "ab".repeat(32)
        )));
        let back: Consent = serde_json::from_str(&json).expect("de");
        assert_eq!(back, consent);
        let shown = format!("{consent:?}");
        assert!(!shown.contains("Secret"), "{shown}");
        assert!(shown.contains("Guardian"), "{shown}");
    }
}
