//! [`ClinicalRecord`]: the whole record sealed with an image, and its JSON
//! form (docs/RECORD.md).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use super::body_site::RawBodySite;
use super::clinician::RawClinician;
use super::consent::RawConsent;
use super::image::RawImageInfo;
use super::patient::RawPatient;
use super::wire;
use super::{
    BodySite, Capture, Clinician, Consent, DeviceIdHex, ImageInfo, MediaType, Patient, RecordError,
    Source,
};

/// The largest record JSON [`ClinicalRecord::from_json`] reads: 64 KiB.
/// A record at every field's maximum length is well under 32 KiB.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// The clinical record sealed with each image: patient, body site, capture,
/// consent, source and image. Patient data: it exists in plaintext only on
/// the capturing device and the records workstation.
///
/// Build one with [`ClinicalRecord::new`], which checks the rules that span
/// fields; read one with [`ClinicalRecord::from_json`]; write one with
/// [`ClinicalRecord::to_json`]. The JSON format is specified in
/// docs/RECORD.md.
///
/// `Debug` shows only the version, source and image type and size: never
/// patient data.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ClinicalRecord {
    version: u32,
    patient: Patient,
    body_site: BodySite,
    #[serde(serialize_with = "wire::serialize_rfc3339")]
    captured_at: OffsetDateTime,
    clinician: Clinician,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<DeviceIdHex>,
    consent: Consent,
    source: Source,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_capability"
    )]
    link_capability: Option<Vec<u8>>,
    image: ImageInfo,
}

/// The link capability as base64url (no padding).
fn serialize_capability<S: serde::Serializer>(
    c: &Option<Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match c {
        Some(bytes) => serializer.serialize_str(&crate::protocol::text::b64(bytes)),
        None => serializer.serialize_none(),
    }
}

/// The largest link capability a record carries (its encoding's limit).
const MAX_CAPABILITY_BYTES: usize = 4096;

impl ClinicalRecord {
    /// The record format version this code writes and reads.
    pub const VERSION: u32 = 1;

    /// Builds a record, checking the rules that span fields:
    /// - the capture time can be written as RFC 3339
    ///   ([`RecordError::CapturedAt`]);
    /// - the clinician's details are valid ([`RecordError::Clinician`]);
    /// - the patient's date of birth, if given, is not after the capture
    ///   date, taken in the capture time's own UTC offset
    ///   ([`RecordError::DateOfBirthAfterCapture`]).
    ///
    /// The rules within a part (a patient identifier is present, a
    /// best-interests decision has notes, ...) were checked when the part
    /// was built.
    pub fn new(
        patient: Patient,
        body_site: BodySite,
        capture: Capture,
        consent: Consent,
        source: Source,
        image: ImageInfo,
    ) -> Result<Self, RecordError> {
        let Capture {
            captured_at,
            clinician,
            device_id,
        } = capture;
        if !wire::is_rfc3339_representable(captured_at) {
            return Err(RecordError::CapturedAt);
        }
        let clinician = clinician.checked()?;
        if let Some(dob) = patient.date_of_birth() {
            if dob > captured_at.date() {
                return Err(RecordError::DateOfBirthAfterCapture);
            }
        }
        Ok(ClinicalRecord {
            version: Self::VERSION,
            patient,
            body_site,
            captured_at,
            clinician,
            device_id,
            consent,
            source,
            link_capability: None,
            image,
        })
    }

    /// This record with the patient link's capability (the bytes of a
    /// [`crate::keys::LinkCapability`], as the upload page received it),
    /// which lets a records workstation check who made the link. Only a
    /// `patient_link` record carries one ([`RecordError::LinkCapability`]).
    /// The bytes are checked for their form when the capability is
    /// verified, not here.
    pub fn with_link_capability(mut self, capability: Vec<u8>) -> Result<Self, RecordError> {
        if self.source != Source::PatientLink
            || capability.is_empty()
            || capability.len() > MAX_CAPABILITY_BYTES
        {
            return Err(RecordError::LinkCapability);
        }
        self.link_capability = Some(capability);
        Ok(self)
    }

    /// The patient link's capability, for a `patient_link` record that
    /// carries one.
    pub fn link_capability(&self) -> Option<&[u8]> {
        self.link_capability.as_deref()
    }

    /// This record, describing a different (sanitized) image and device:
    /// the image's media type and SHA-256 are computed from `image`
    /// (width and height kept), and the device id is replaced. What a
    /// capture pipeline does once the image it was given has been stripped.
    pub fn for_image(
        &self,
        media_type: MediaType,
        image: &[u8],
        device_id: Option<DeviceIdHex>,
    ) -> Result<Self, RecordError> {
        let info =
            ImageInfo::for_image(media_type, image, self.image.width(), self.image.height())?;
        let capture = Capture {
            captured_at: self.captured_at,
            clinician: self.clinician.clone(),
            device_id,
        };
        ClinicalRecord::new(
            self.patient.clone(),
            self.body_site.clone(),
            capture,
            self.consent.clone(),
            self.source,
            info,
        )
    }

    /// The record as compact JSON (UTF-8, no whitespace), fields in the
    /// order docs/RECORD.md lists them, absent optional fields left out.
    /// The same record always gives the same bytes.
    ///
    /// # Panics
    ///
    /// Never in practice: every part was checked to be serializable when it
    /// was built (the panic message holds no record data).
    pub fn to_json(&self) -> Vec<u8> {
        match serde_json::to_vec(self) {
            Ok(json) => json,
            // Writing to a Vec does not fail, and the only fallible step,
            // formatting timestamps, was checked by the constructors.
            Err(_) => unreachable!("a checked clinical record always serializes"),
        }
    }

    /// Reads a record from JSON, checking every field and rule (see
    /// docs/RECORD.md). Unknown fields are refused, as is input over
    /// [`MAX_JSON_BYTES`]. Errors never quote the input.
    pub fn from_json(json: &[u8]) -> Result<Self, RecordError> {
        if json.len() > MAX_JSON_BYTES {
            return Err(RecordError::TooLarge {
                size: json.len(),
                limit: MAX_JSON_BYTES,
            });
        }
        // Look at the version first, so that a newer record is reported as
        // such rather than as a list of unknown fields.
        #[derive(Deserialize)]
        struct VersionOnly {
            version: Option<u32>,
        }
        let peek: VersionOnly = serde_json::from_slice(json).map_err(|e| wire::json_error(&e))?;
        if peek.version.is_some_and(|v| v != Self::VERSION) {
            return Err(RecordError::UnsupportedVersion);
        }
        let raw: RawRecord = serde_json::from_slice(json).map_err(|e| wire::json_error(&e))?;
        ClinicalRecord::try_from(raw)
    }

    /// The format version (always [`ClinicalRecord::VERSION`]).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The patient.
    pub fn patient(&self) -> &Patient {
        &self.patient
    }

    /// The body site.
    pub fn body_site(&self) -> &BodySite {
        &self.body_site
    }

    /// When the image was taken.
    pub fn captured_at(&self) -> OffsetDateTime {
        self.captured_at
    }

    /// The responsible clinician.
    pub fn clinician(&self) -> &Clinician {
        &self.clinician
    }

    /// The enrolled device, if any.
    pub fn device_id(&self) -> Option<&DeviceIdHex> {
        self.device_id.as_ref()
    }

    /// The consent.
    pub fn consent(&self) -> &Consent {
        &self.consent
    }

    /// How the image reached sealcam.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The image the record describes.
    pub fn image(&self) -> &ImageInfo {
        &self.image
    }
}

impl fmt::Debug for ClinicalRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClinicalRecord")
            .field("version", &self.version)
            .field("source", &self.source)
            .field("media_type", &self.image.media_type())
            .field("width", &self.image.width())
            .field("height", &self.image.height())
            .finish_non_exhaustive()
    }
}

impl<'de> Deserialize<'de> for ClinicalRecord {
    /// For embedding a record in other JSON; prefer
    /// [`ClinicalRecord::from_json`], which also limits the size and reports
    /// positions.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_via_raw::<D, RawRecord, ClinicalRecord>(deserializer)
    }
}

/// The JSON shape of [`ClinicalRecord`], before any field is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    version: u32,
    patient: RawPatient,
    body_site: RawBodySite,
    captured_at: String,
    clinician: RawClinician,
    device_id: Option<String>,
    consent: RawConsent,
    source: String,
    link_capability: Option<String>,
    image: RawImageInfo,
}

impl TryFrom<RawRecord> for ClinicalRecord {
    type Error = RecordError;

    fn try_from(raw: RawRecord) -> Result<Self, RecordError> {
        if raw.version != ClinicalRecord::VERSION {
            return Err(RecordError::UnsupportedVersion);
        }
        let patient = Patient::try_from(raw.patient)?;
        let body_site = BodySite::try_from(raw.body_site)?;
        let captured_at = wire::parse_rfc3339(&raw.captured_at).ok_or(RecordError::CapturedAt)?;
        let clinician = Clinician::try_from(raw.clinician)?;
        let device_id = raw
            .device_id
            .as_deref()
            .map(DeviceIdHex::parse)
            .transpose()?;
        let consent = Consent::try_from(raw.consent)?;
        let source = Source::from_canonical(&raw.source)?;
        let image = ImageInfo::try_from(raw.image)?;
        let capability = raw
            .link_capability
            .map(|c| crate::protocol::text::parse_b64_vec(&c).ok_or(RecordError::LinkCapability))
            .transpose()?;
        let record = ClinicalRecord::new(
            patient,
            body_site,
            Capture {
                captured_at,
                clinician,
                device_id,
            },
            consent,
            source,
            image,
        )?;
        match capability {
            Some(c) => record.with_link_capability(c),
            None => Ok(record),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{
        ConsentGiver, ConsentMethod, ConsentScopes, Laterality, LocalPatientId, MediaType,
        NhsNumber, PatientName, RegistrationBody, SnomedCode,
    };
    use time::macros::{date, datetime};

    const NAME: &str = "Alex Example-Testpatient";
    const LOCAL_ID: &str = "RX1-000123";
    const SITE: &str = "Left index finger, dorsal surface";
    const CAPTION: &str = "Pigmented lesion, 6 mm, irregular border";
    const NOTES: &str = "Agreed to teaching within the trust; declined publication.";

    fn doctor() -> Clinician {
        Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999").expect("valid")
    }

    fn patient() -> Patient {
        Patient::new(
            NhsNumber::parse("943 476 5919").ok(),
            LocalPatientId::parse(LOCAL_ID).ok(),
            PatientName::parse(NAME).ok(),
            Some(date!(1970 - 01 - 31)),
        )
        .expect("valid patient")
    }

    fn consent() -> Consent {
        Consent::new(
            ConsentScopes::parse("care,teaching").expect("scopes"),
            ConsentMethod::Verbal,
            ConsentGiver::Patient,
            doctor(),
            datetime!(2026-11-21 10:12 UTC),
            Some(NOTES),
            None,
        )
        .expect("valid consent")
    }

    fn capture() -> Capture {
        Capture {
            captured_at: datetime!(2026-11-21 10:15:30 UTC),
            clinician: doctor(),
            device_id: DeviceIdHex::parse("00112233445566778899aabbccddeeff").ok(),
        }
    }

    /// The record shown in docs/RECORD.md.
    fn example() -> ClinicalRecord {
        ClinicalRecord::new(
            patient(),
            BodySite::new(
                SITE,
                SnomedCode::parse("7569003").ok(),
                Some(Laterality::Left),
                Some(CAPTION),
            )
            .expect("valid site"),
            capture(),
            consent(),
            Source::DeviceCapture,
            ImageInfo::for_image(
                MediaType::Jpeg,
                b"sealcam example image",
                Some(4032),
                Some(3024),
            )
            .expect("valid image"),
        )
        .expect("valid record")
    }

    /// The JSON example between the markers in docs/RECORD.md.
    fn doc_example() -> &'static str {
        let doc = include_str!("../../../docs/RECORD.md");
        let start = doc
            .find("<!-- example:begin -->")
            .expect("docs/RECORD.md has the example:begin marker");
        let end = doc
            .find("<!-- example:end -->")
            .expect("docs/RECORD.md has the example:end marker");
        let block = &doc[start..end];
        let json_start = block.find("```json\n").expect("a json block") + "```json\n".len();
        let json_end = block.rfind("```").expect("end of the json block");
        &block[json_start..json_end]
    }

    #[test]
    fn json_round_trip_of_a_full_record() {
        let record = example();
        let json = record.to_json();
        assert_eq!(json, record.to_json(), "deterministic");
        assert!(!json.contains(&b'\n'), "compact");
        let back = ClinicalRecord::from_json(&json).expect("reads its own output");
        assert_eq!(back, record);
        assert_eq!(back.to_json(), json);
        assert_eq!(back.version(), 1);
        assert_eq!(
            back.patient()
                .nhs_number()
                .map(NhsNumber::canonical)
                .as_deref(),
            Some("9434765919")
        );
        assert_eq!(back.patient().name().map(PatientName::as_str), Some(NAME));
        assert_eq!(back.body_site().caption(), Some(CAPTION));
        assert_eq!(back.consent().notes(), Some(NOTES));
        assert_eq!(back.source(), Source::DeviceCapture);
        assert_eq!(back.image().verify(b"sealcam example image"), Ok(()));
        let text = String::from_utf8(json).expect("UTF-8");
        assert!(
            text.starts_with(r#"{"version":1,"patient":{"nhs_number":"9434765919","#),
            "{text}"
        );
    }

    #[test]
    fn docs_example_matches_the_code() {
        let record = example();
        let parsed = ClinicalRecord::from_json(doc_example().as_bytes()).expect("doc example");
        assert_eq!(parsed, record);
        // Field for field, whatever the layout in the document.
        let doc_value: serde_json::Value =
            serde_json::from_str(doc_example()).expect("doc example is JSON");
        let code_value: serde_json::Value =
            serde_json::from_slice(&record.to_json()).expect("JSON");
        assert_eq!(
            doc_value,
            code_value,
            "docs/RECORD.md example is out of date; it should read:\n{}",
            serde_json::to_string_pretty(&record).expect("ser")
        );
    }

    #[test]
    fn minimal_record() {
        let consent = Consent::new(
            ConsentScopes::parse("care").expect("scopes"),
            ConsentMethod::Verbal,
            ConsentGiver::Patient,
            doctor(),
            datetime!(2026-11-21 10:12 UTC),
            None,
            None,
        )
        .expect("consent");
        let record = ClinicalRecord::new(
            Patient::new(None, LocalPatientId::parse("H1").ok(), None, None).expect("patient"),
            BodySite::new("back", None, None, None).expect("site"),
            Capture {
                device_id: None,
                ..capture()
            },
            consent,
            Source::PatientLink,
            ImageInfo::for_image(MediaType::Png, b"", None, None).expect("image"),
        )
        .expect("valid");
        let json = String::from_utf8(record.to_json()).expect("UTF-8");
        assert!(
            include_str!("../../../docs/RECORD.md").contains(&format!("\n{json}\n")),
            "docs/RECORD.md should show the minimal record as:\n{json}"
        );
        assert_eq!(ClinicalRecord::from_json(json.as_bytes()), Ok(record));
    }

    #[test]
    fn debug_never_shows_patient_data() {
        let record = example();
        let shown = format!("{record:?} {record:#?}");
        for secret in [
            NAME,
            "Alex",
            "9434765919",
            "943 476 5919",
            "1970",
            LOCAL_ID,
            SITE,
            "finger",
            CAPTION,
            "lesion",
            NOTES,
            "teaching within",
        ] {
            assert!(!shown.contains(secret), "Debug shows {secret:?}: {shown}");
        }
        assert!(shown.contains("version: 1"), "{shown}");
        assert!(shown.contains("DeviceCapture"), "{shown}");
        // The parts' own Debug output is redacted too.
        let parts = format!(
            "{:?} {:?} {:?}",
            record.patient(),
            record.body_site(),
            record.consent()
        );
        for secret in [NAME, "9434765919", "1970", LOCAL_ID, SITE, CAPTION, NOTES] {
            assert!(!parts.contains(secret), "Debug shows {secret:?}: {parts}");
        }
    }

    #[test]
    fn date_of_birth_after_capture_is_refused() {
        let born_later = Patient::new(
            NhsNumber::parse("9434765919").ok(),
            None,
            None,
            Some(date!(2026 - 11 - 22)),
        );
        // Only if the clock says 2026-11-22 has come (this test may run earlier).
        if let Ok(born_later) = born_later {
            let r = ClinicalRecord::new(
                born_later,
                BodySite::new("back", None, None, None).expect("site"),
                capture(),
                consent(),
                Source::DeviceCapture,
                ImageInfo::for_image(MediaType::Jpeg, b"", None, None).expect("image"),
            );
            assert_eq!(r, Err(RecordError::DateOfBirthAfterCapture));
        }
        // Through JSON, independent of the clock: born the day after capture.
        let json = String::from_utf8(example().to_json())
            .expect("UTF-8")
            .replace("1970-01-31", "2026-11-22");
        assert_eq!(
            ClinicalRecord::from_json(json.as_bytes()),
            Err(RecordError::DateOfBirthAfterCapture)
        );
        // Same day is fine, and the capture's own offset decides the day:
        // 2026-11-21T23:30-05:00 is 2026-11-22 in UTC but the 21st locally.
        let json = String::from_utf8(example().to_json())
            .expect("UTF-8")
            .replace("1970-01-31", "2026-11-21")
            .replace("2026-11-21T10:15:30Z", "2026-11-21T23:30:00-05:00");
        assert!(ClinicalRecord::from_json(json.as_bytes()).is_ok(), "{json}");
    }

    #[test]
    fn capture_rules() {
        let mut c = capture();
        c.captured_at = datetime!(2026-11-21 10:15:30 UTC)
            .replace_offset(time::UtcOffset::from_hms(0, 0, 1).expect("offset"));
        let build = |c| {
            ClinicalRecord::new(
                patient(),
                BodySite::new("back", None, None, None).expect("site"),
                c,
                consent(),
                Source::DeviceCapture,
                ImageInfo::for_image(MediaType::Jpeg, b"", None, None).expect("image"),
            )
        };
        assert_eq!(build(c), Err(RecordError::CapturedAt));
        let mut c = capture();
        c.clinician.registration_number = "not valid".into();
        assert!(matches!(build(c), Err(RecordError::Clinician(_))));
        let mut c = capture();
        c.clinician.name = "  Dr Sam Fictional  ".into();
        let r = build(c).expect("trimmed");
        assert_eq!(r.clinician().name, "Dr Sam Fictional");
    }

    /// Replaces the first `from` in the example's JSON by `to`.
    fn edited(from: &str, to: &str) -> Vec<u8> {
        let json = String::from_utf8(example().to_json()).expect("UTF-8");
        assert!(json.contains(from), "{from} not in {json}");
        json.replacen(from, to, 1).into_bytes()
    }

    #[test]
    fn unknown_fields_are_refused_everywhere() {
        for (from, to) in [
            (r#"{"version":1,"#, r#"{"version":1,"extra":true,"#),
            (r#""patient":{"#, r#""patient":{"nhs":"1","#),
            (r#""body_site":{"#, r#""body_site":{"side":"left","#),
            (r#""clinician":{"#, r#""clinician":{"email":"x","#),
            (r#""consent":{"#, r#""consent":{"witness":"x","#),
            (r#""obtained_by":{"#, r#""obtained_by":{"role":"x","#),
            (r#""image":{"#, r#""image":{"exif":{},"#),
        ] {
            let e = ClinicalRecord::from_json(&edited(from, to)).expect_err(to);
            assert!(
                matches!(e, RecordError::UnknownField { line: 1, .. }),
                "{to}: {e:?}"
            );
        }
    }

    #[test]
    fn structural_errors() {
        assert!(matches!(
            ClinicalRecord::from_json(b"{\"version\":1,"),
            Err(RecordError::JsonSyntax { .. })
        ));
        assert!(matches!(
            ClinicalRecord::from_json(b"[]"),
            Err(RecordError::WrongJsonType { .. })
        ));
        assert!(matches!(
            ClinicalRecord::from_json(b""),
            Err(RecordError::JsonSyntax { .. })
        ));
        assert_eq!(
            ClinicalRecord::from_json(b"{\"version\":2,\"future\":{}}"),
            Err(RecordError::UnsupportedVersion)
        );
        assert_eq!(
            ClinicalRecord::from_json(&edited(r#""version":1,"#, "")),
            Err(RecordError::MissingField { field: "version" })
        );
        assert_eq!(
            ClinicalRecord::from_json(&edited(r#""source":"device_capture","#, "")),
            Err(RecordError::MissingField { field: "source" })
        );
        assert_eq!(
            ClinicalRecord::from_json(&edited(r#""version":1,"#, r#""version":1,"version":1,"#)),
            Err(RecordError::DuplicateField { field: "version" })
        );
        assert!(matches!(
            ClinicalRecord::from_json(&edited(r#""width":4032"#, r#""width":"4032""#)),
            Err(RecordError::WrongJsonType { .. })
        ));
        assert!(matches!(
            ClinicalRecord::from_json(&edited(r#""width":4032"#, r#""width":4294967296"#)),
            Err(RecordError::InvalidJsonValue { .. })
        ));
    }

    #[test]
    fn field_errors_through_json() {
        for (from, to, expected) in [
            ("9434765919", "9434765918", RecordError::NhsNumberCheckDigit),
            ("9434765919", "943476591", RecordError::NhsNumberFormat),
            (
                r#""7569003""#,
                r#""7569004""#,
                RecordError::SnomedCheckDigit,
            ),
            (r#""left""#, r#""Left""#, RecordError::Laterality),
            (
                "2026-11-21T10:15:30Z",
                "2026-11-21 10:15:30",
                RecordError::CapturedAt,
            ),
            (
                "00112233445566778899aabbccddeeff",
                "0011",
                RecordError::DeviceId,
            ),
            (
                r#"["care","teaching"]"#,
                "[]",
                RecordError::ConsentScopesEmpty,
            ),
            (r#""verbal""#, r#""email""#, RecordError::ConsentMethod),
            (
                r#""given_by":"patient""#,
                r#""given_by":"best-interests""#,
                RecordError::ConsentGiver,
            ),
            (r#""device_capture""#, r#""camera""#, RecordError::Source),
            ("image/jpeg", "image/gif", RecordError::MediaType),
            (
                r#""width":4032"#,
                r#""width":0"#,
                RecordError::ImageDimensions,
            ),
            ("1970-01-31", "1870-01-31", RecordError::DateOfBirthTooEarly),
        ] {
            let got = ClinicalRecord::from_json(&edited(from, to));
            assert_eq!(got, Err(expected), "{from} -> {to}");
        }
        // best_interests is spelled with an underscore in JSON; it then needs notes.
        let json = edited(r#""given_by":"patient""#, r#""given_by":"best_interests""#);
        assert!(ClinicalRecord::from_json(&json).is_ok());
        let no_notes = String::from_utf8(json)
            .expect("UTF-8")
            .replace(&format!(r#","notes":"{NOTES}""#), "");
        assert_eq!(
            ClinicalRecord::from_json(no_notes.as_bytes()),
            Err(RecordError::BestInterestsNeedsNotes)
        );
        let no_ids = edited(r#""nhs_number":"9434765919","local_id":"RX1-000123","#, "");
        assert_eq!(
            ClinicalRecord::from_json(&no_ids),
            Err(RecordError::NoPatientIdentifier)
        );
        let sig = edited(
            r#""notes":"#,
            &format!(r#""signature_image_sha256":"{}","notes":"#, "0".repeat(64)),
        );
        assert_eq!(
            ClinicalRecord::from_json(&sig),
            Err(RecordError::SignatureHashWithoutSignatureMethod)
        );
    }

    #[test]
    fn errors_never_quote_the_input() {
        let secret_bits = ["Alex", "943476", "RX1", "finger", "lesion", "trust"];
        let inputs = [
            edited(NAME, "Alex\\u0001"),
            edited(r#""nhs_number":"9434765919""#, r#""nhs_number":9434765918"#),
            edited(r#""local_id":"RX1-000123""#, r#""RX1-000123":"x""#),
            edited(CAPTION, &format!("{CAPTION}\u{7}")),
            edited(r#""laterality":"left""#, r#""laterality":"Alex finger""#),
            edited(r#""name":"Alex"#, r#""name":["Alex"],"x":"Alex"#),
            edited(NOTES, &"trust ".repeat(400)),
            edited(r#""version":1"#, r#""version":"Alex""#),
            b"{\"Alex lesion\": 9434765919".to_vec(),
        ];
        for input in inputs {
            let e = ClinicalRecord::from_json(&input).expect_err("invalid");
            let shown = format!("{e} {e:?}");
            for secret in secret_bits {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            // The same through the serde Deserialize impl.
            let text = String::from_utf8_lossy(&input);
            if let Err(e) = serde_json::from_str::<ClinicalRecord>(&text) {
                let shown = e.to_string();
                for secret in secret_bits {
                    assert!(!shown.contains(secret), "{secret} in {shown}");
                }
            }
        }
    }

    #[test]
    fn size_limit() {
        let mut big = example().to_json();
        assert!(big.len() < MAX_JSON_BYTES);
        // Pad with whitespace (valid JSON) until over the limit.
        big.resize(MAX_JSON_BYTES + 1, b' ');
        assert_eq!(
            ClinicalRecord::from_json(&big),
            Err(RecordError::TooLarge {
                size: MAX_JSON_BYTES + 1,
                limit: MAX_JSON_BYTES
            })
        );
        big.truncate(MAX_JSON_BYTES);
        assert!(
            ClinicalRecord::from_json(&big).is_ok(),
            "exactly at the limit"
        );
    }

    #[test]
    fn longest_record_fits_the_limit() {
        // Every free-text field at its maximum, in 4-byte characters, with
        // as many escaped characters as the rules allow.
        let wide = |n: usize| "😀".repeat(n);
        let long_clinician = Clinician::new(
            &wide(200),
            RegistrationBody::Other(wide(32)),
            &"9".repeat(32),
        )
        .expect("valid");
        let record = ClinicalRecord::new(
            Patient::new(
                NhsNumber::parse("9434765919").ok(),
                LocalPatientId::parse(&"a".repeat(32)).ok(),
                PatientName::parse(&wide(200)).ok(),
                Some(date!(1970 - 01 - 31)),
            )
            .expect("patient"),
            BodySite::new(
                &wide(200),
                SnomedCode::parse("38266002").ok(),
                Some(Laterality::Midline),
                Some(&format!("x{}x", "\t".repeat(998))),
            )
            .expect("site"),
            Capture {
                captured_at: datetime!(2026-11-21 10:15:30.123456789 +05:30),
                clinician: long_clinician.clone(),
                device_id: Some(DeviceIdHex::from_bytes([0xff; 16])),
            },
            Consent::new(
                ConsentScopes::parse("care,teaching,publication").expect("scopes"),
                ConsentMethod::SignatureImage,
                ConsentGiver::BestInterests,
                long_clinician,
                datetime!(2026-11-21 10:15:30.123456789 -09:30),
                Some(&format!("x{}x", "\n".repeat(1998))),
                Some([0xff; 32]),
            )
            .expect("consent"),
            Source::DesktopImport,
            ImageInfo::for_image(MediaType::Webp, b"", Some(u32::MAX), Some(u32::MAX))
                .expect("image"),
        )
        .expect("valid");
        let json = record.to_json();
        assert!(json.len() < MAX_JSON_BYTES / 2, "{} bytes", json.len());
        assert_eq!(ClinicalRecord::from_json(&json), Ok(record));
    }

    #[test]
    fn embedded_deserialize_matches_from_json() {
        let record = example();
        let wrapped = format!(
            r#"{{"record":{}}}"#,
            String::from_utf8(record.to_json()).expect("UTF-8")
        );
        #[derive(Deserialize)]
        struct Wrapper {
            record: ClinicalRecord,
        }
        let w: Wrapper = serde_json::from_str(&wrapped).expect("de");
        assert_eq!(w.record, record);
    }
}
