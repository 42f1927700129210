//! The capture pipeline, once: image bytes and a [`RecordDraft`] in, a
//! sealed envelope out.
//!
//! ```text
//! image (owned) ─▶ sanitize once, in its own buffer ─▶ complete the record from the
//!                  sanitized bytes (media type, SHA-256, device id) ─▶ seal in the same buffer
//! ```
//!
//! `sealcam seal`, `sealcam send`, the relay agent and every bridge call
//! [`capture`]; nothing else assembles these steps. The time is a
//! parameter (the core reads no clock) and randomness comes from the
//! operating system through `getrandom`.

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::envelope::{self, EnvelopeId, SealError, Signer};
use crate::keys::Recipient;
use crate::record::{
    BodySite, Capture, ClinicalRecord, Clinician, Consent, DeviceIdHex, ImageInfo, MediaType,
    Patient, RecordError, Source,
};
use crate::sanitize::{self, Report, SanitizeError};

/// The clinical record without what the pipeline fills in: the image's
/// media type and SHA-256 (of the sanitized bytes, which the caller never
/// sees) and the id of the signing device.
///
/// `Debug` shows nothing of the patient.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordDraft {
    /// The patient.
    pub patient: Patient,
    /// Where on the body.
    pub body_site: BodySite,
    /// When the image was taken; `None`: the capture's `now`.
    pub captured_at: Option<OffsetDateTime>,
    /// The clinician responsible.
    pub clinician: Clinician,
    /// The consent recorded at the bedside.
    pub consent: Consent,
    /// How the image reached sealcam.
    pub source: Source,
    /// The image's width and height in pixels, when the caller knows them.
    pub dimensions: Option<(u32, u32)>,
    /// For a patient-link upload: the link's capability as the page
    /// received it (sealed with the record, so records staff can check who
    /// made the link).
    pub link_capability: Option<Vec<u8>>,
}

impl std::fmt::Debug for RecordDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordDraft")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Fields of the record JSON that the pipeline sets; a draft must not
/// carry them.
const PIPELINE_FIELDS: [&str; 3] = ["version", "device_id", "image"];

impl RecordDraft {
    /// The draft of an existing record (its image and device fields are
    /// replaced when the draft is completed; its dimensions are kept).
    pub fn from_record(record: &ClinicalRecord) -> RecordDraft {
        let image = record.image();
        RecordDraft {
            patient: record.patient().clone(),
            body_site: record.body_site().clone(),
            captured_at: Some(record.captured_at()),
            clinician: record.clinician().clone(),
            consent: record.consent().clone(),
            source: record.source(),
            dimensions: image.width().zip(image.height()),
            link_capability: record.link_capability().map(<[u8]>::to_vec),
        }
    }

    /// Reads a draft from JSON: the record's JSON (docs/RECORD.md) without
    /// `version`, `device_id` and `image`, which the pipeline sets, and
    /// with three defaults (docs/BRIDGE.md):
    /// - `clinician` may be left out when `default_clinician` is given (the
    ///   one in the signing device's certificate);
    /// - `consent.obtained_by` may be left out: the clinician;
    /// - `captured_at` may be left out: the time of the capture;
    ///   `consent.obtained_at` may be left out: `captured_at`, or `now`.
    ///
    /// Every rule of the record applies, a date of birth after `now`'s date
    /// (with a day's allowance for time zones) is refused
    /// ([`crate::record::check_date_of_birth`]), and errors never quote
    /// the input.
    pub fn from_json(
        json: &[u8],
        default_clinician: Option<&Clinician>,
        now: OffsetDateTime,
    ) -> Result<RecordDraft, RecordError> {
        use serde_json::{Map, Value};
        if json.len() > crate::record::MAX_JSON_BYTES {
            return Err(RecordError::TooLarge {
                size: json.len(),
                limit: crate::record::MAX_JSON_BYTES,
            });
        }
        let mut object: Map<String, Value> = crate::record::parse_strict_object(json)?;
        if let Some(field) = PIPELINE_FIELDS.iter().find(|f| object.contains_key(**f)) {
            return Err(RecordError::SetByPipeline { field });
        }
        let clinician = match (object.get("clinician"), default_clinician) {
            (Some(given), _) => given.clone(),
            (None, Some(c)) => serde_json::to_value(c)
                .map_err(|_| RecordError::MissingField { field: "clinician" })?,
            (None, None) => return Err(RecordError::MissingField { field: "clinician" }),
        };
        let captured_given = object.contains_key("captured_at");
        let captured_at = match object.get("captured_at") {
            Some(v) => v.clone(),
            None => Value::String(crate::record::format_rfc3339(now)?),
        };
        if let Some(Value::Object(consent)) = object.get_mut("consent") {
            consent
                .entry("obtained_by")
                .or_insert_with(|| clinician.clone());
            consent
                .entry("obtained_at")
                .or_insert_with(|| captured_at.clone());
        }
        object.insert("version".into(), Value::from(ClinicalRecord::VERSION));
        object.insert("clinician".into(), clinician);
        object.insert("captured_at".into(), captured_at);
        // A placeholder the pipeline replaces: the record's own rules are
        // checked by parsing the whole record.
        object.insert(
            "image".into(),
            serde_json::json!({"media_type": "image/jpeg", "sha256": "0".repeat(64)}),
        );
        let whole = Zeroizing::new(
            serde_json::to_vec(&Value::Object(object))
                .map_err(|_| RecordError::JsonSyntax { line: 0, column: 0 })?,
        );
        let record = ClinicalRecord::from_json(&whole)?;
        if let Some(dob) = record.patient().date_of_birth() {
            // A `now` whose UTC date the calendar cannot hold is judged
            // by its own date.
            let today = now
                .checked_to_offset(time::UtcOffset::UTC)
                .unwrap_or(now)
                .date();
            crate::record::check_date_of_birth(dob, today)?;
        }
        let mut draft = RecordDraft::from_record(&record);
        draft.dimensions = None;
        if !captured_given {
            draft.captured_at = None;
        }
        Ok(draft)
    }

    /// The whole record for a sanitized image: its media type, SHA-256
    /// and (unless the draft gives them) displayed width and height
    /// computed from `sanitized`, the signing device's id, the capture
    /// time (`now` when the draft has none).
    pub fn complete(
        &self,
        media_type: MediaType,
        sanitized: &[u8],
        device_id: Option<DeviceIdHex>,
        now: OffsetDateTime,
    ) -> Result<ClinicalRecord, RecordError> {
        let (width, height) = match self.dimensions {
            Some((w, h)) => (Some(w), Some(h)),
            None => match sanitize::dimensions(sanitized) {
                Some(d) => (Some(d.width), Some(d.height)),
                None => (None, None),
            },
        };
        let image = ImageInfo::for_image(media_type, sanitized, width, height)?;
        let record = ClinicalRecord::new(
            self.patient.clone(),
            self.body_site.clone(),
            Capture {
                captured_at: self.captured_at.unwrap_or(now),
                clinician: self.clinician.clone(),
                device_id,
            },
            self.consent.clone(),
            self.source,
            image,
        )?;
        match &self.link_capability {
            Some(c) => record.with_link_capability(c.clone()),
            None => Ok(record),
        }
    }
}

/// Why a capture failed. Every variant says what is wrong with the input,
/// never a value from it.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The image cannot be made safe to send (unknown format, malformed,
    /// too large, or metadata the verifier would not clear).
    #[error("the image cannot be made safe to send: {0}")]
    Sanitize(#[from] SanitizeError),
    /// The record is not valid for this image.
    #[error("the clinical record is not valid: {0}")]
    Record(#[from] RecordError),
    /// Sealing refused (recipients, signer, size).
    #[error("cannot seal: {0}")]
    Seal(#[from] SealError),
    /// `now` is not a time a record can carry.
    #[error("the capture time is out of range")]
    BadTime,
}

/// What [`capture`] made.
pub struct Captured {
    /// The envelope's id.
    pub id: EnvelopeId,
    /// The envelope, ready for the outbox or a file.
    pub envelope: Vec<u8>,
    /// The record sealed inside it (patient data: keep it in memory only).
    pub record: ClinicalRecord,
    /// What the sanitizer removed (counts and sizes, no values).
    pub report: Report,
}

impl std::fmt::Debug for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captured")
            .field("id", &self.id)
            .field("envelope_bytes", &self.envelope.len())
            .finish_non_exhaustive()
    }
}

/// The pipeline: sanitizes `image` once, in its own buffer; completes
/// `draft` from the sanitized bytes and the signer; seals both to
/// `recipients`, created at `now` (Unix seconds), in the same buffer.
///
/// Give `image` room for the envelope ([`envelope::owned_capacity`]) to
/// avoid a second buffer. The image's buffer is wiped whatever happens:
/// on success it holds the envelope, on failure zeros.
pub fn capture(
    image: Vec<u8>,
    draft: &RecordDraft,
    recipients: &[Recipient],
    signer: Signer<'_>,
    now: u64,
    options: &sanitize::Options,
) -> Result<Captured, CaptureError> {
    let mut image = Zeroizing::new(image);
    let at = i64::try_from(now)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or(CaptureError::BadTime)?;
    // sanitize_owned wipes what it does not return, and the result wipes
    // itself if dropped unsealed.
    let clean = sanitize::sanitize_owned_with(std::mem::take(&mut *image), options)?;
    let device_id = match signer {
        Signer::Device { key, .. } => Some(DeviceIdHex::from_bytes(*key.public().id().as_bytes())),
        Signer::Unsigned => None,
    };
    let record = draft.complete(
        MediaType::from(clean.report().format),
        clean.bytes(),
        device_id,
        at,
    )?;
    let report = clean.report().clone();
    let sealed = envelope::seal_owned(clean, &record, recipients, signer, now)?;
    Ok(Captured {
        id: sealed.id,
        envelope: sealed.bytes,
        record,
        report,
    })
}
