//! [`RecordError`]: why a clinical record, or one of its fields, was refused.
//!
//! Every message says what is wrong and how to fix it, and none repeats the
//! offending value: the record is patient data, and error messages end up in
//! logs, crash reports and support e-mails.

use super::ClinicianError;

/// Why a clinical record or one of its fields was refused.
///
/// Messages name the field and the rule, never the value. Errors found while
/// reading JSON that concern its structure (not one field's content) carry a
/// line and column in the input instead of the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    // --- patient -----------------------------------------------------------
    /// The NHS number is not ten digits (optionally grouped 3-3-4 by spaces or hyphens).
    #[error("NHS number must be 10 digits, optionally grouped 3-3-4 with spaces or hyphens")]
    NhsNumberFormat,
    /// The NHS number's Modulus 11 check digit does not match the other nine digits.
    #[error("NHS number check digit does not match: check the number was typed correctly")]
    NhsNumberCheckDigit,
    /// The local patient identifier (hospital number) is empty, too long or holds other characters.
    #[error("local patient identifier (hospital number) must be 1 to 32 letters, digits, hyphens or slashes")]
    LocalPatientId,
    /// The patient name is empty, too long or holds control characters.
    #[error("patient name must be 1 to 200 characters without control or bidirectional-override characters")]
    PatientName,
    /// The date of birth is not a calendar date written `YYYY-MM-DD`.
    #[error("date of birth must be a calendar date written YYYY-MM-DD")]
    DateOfBirthFormat,
    /// The date of birth is before 1880-01-01.
    #[error("date of birth is before 1880: check the year")]
    DateOfBirthTooEarly,
    /// The date of birth is after today.
    #[error("date of birth is in the future: check the date and the device clock")]
    DateOfBirthInFuture,
    /// The date of birth is after the day the image was captured.
    #[error(
        "date of birth is after the capture date: check the date of birth and the device clock"
    )]
    DateOfBirthAfterCapture,
    /// The patient has neither an NHS number nor a local identifier.
    #[error("the patient needs an NHS number or a local identifier (hospital number): give at least one")]
    NoPatientIdentifier,

    // --- body site -----------------------------------------------------------
    /// The body site text is empty, too long or holds control characters.
    #[error("body site must be 1 to 200 characters without control or bidirectional-override characters")]
    BodySiteText,
    /// The SNOMED CT code is not 6 to 18 digits (without a leading zero).
    #[error("SNOMED CT code must be 6 to 18 digits without a leading zero")]
    SnomedFormat,
    /// The SNOMED CT code's Verhoeff check digit does not match.
    #[error("SNOMED CT code check digit (Verhoeff) does not match: copy the concept id again from the terminology browser")]
    SnomedCheckDigit,
    /// The SNOMED CT identifier is valid but names a description or relationship, not a concept.
    #[error("SNOMED CT identifier is not a concept id (it looks like a description or relationship id): use the concept id")]
    SnomedNotConcept,
    /// The laterality is not one of the allowed words.
    #[error("laterality must be left, right, bilateral or midline")]
    Laterality,
    /// The caption is empty, too long or holds control characters.
    #[error("caption must be 1 to 1000 characters without control characters other than line breaks and tabs; leave it out if there is none")]
    Caption,

    // --- capture -------------------------------------------------------------
    /// The capture time is not an RFC 3339 timestamp (or cannot be written as one).
    #[error("captured_at must be an RFC 3339 timestamp with a UTC offset, years 0000 to 9999 (like 2026-11-21T10:15:30Z)")]
    CapturedAt,
    /// A clinician's details are invalid (the capturing clinician or the one who obtained consent).
    #[error(transparent)]
    Clinician(#[from] ClinicianError),
    /// The device id is not 32 lowercase hexadecimal characters.
    #[error("device id must be 32 lowercase hexadecimal characters (16 bytes)")]
    DeviceId,

    // --- consent -------------------------------------------------------------
    /// A consent scope is not one of the allowed words.
    #[error(
        "consent scope must be care, teaching or publication (comma-separated, like care,teaching)"
    )]
    ConsentScope,
    /// No consent scope was given.
    #[error("consent needs at least one scope: care, teaching or publication")]
    ConsentScopesEmpty,
    /// A consent scope is listed more than once.
    #[error("a consent scope is listed more than once: list each of care, teaching, publication at most once")]
    ConsentScopeRepeated,
    /// The consent method is not one of the allowed words.
    #[error("consent method must be verbal, written or signature_image")]
    ConsentMethod,
    /// Who gave consent is not one of the allowed words.
    #[error("consent given_by must be patient, parent, guardian or best_interests")]
    ConsentGiver,
    /// The consent time is not an RFC 3339 timestamp (or cannot be written as one).
    #[error("consent obtained_at must be an RFC 3339 timestamp with a UTC offset, years 0000 to 9999 (like 2026-11-21T10:12:00Z)")]
    ConsentObtainedAt,
    /// The consent notes are empty, too long or hold control characters.
    #[error("consent notes must be 1 to 2000 characters without control characters other than line breaks and tabs; leave them out if there are none")]
    ConsentNotes,
    /// A best-interests decision was recorded without notes.
    #[error("a best-interests decision needs consent notes: record who was consulted and why the recording is in the patient's best interests")]
    BestInterestsNeedsNotes,
    /// The signature image hash is not 64 lowercase hexadecimal characters.
    #[error("signature_image_sha256 must be 64 lowercase hexadecimal characters (a SHA-256 hash)")]
    SignatureImageSha256,
    /// A signature image hash was given for a consent method other than `signature_image`.
    #[error("signature_image_sha256 is only allowed when the consent method is signature_image: remove it or change the method")]
    SignatureHashWithoutSignatureMethod,

    // --- source and image ----------------------------------------------------
    /// The source is not one of the allowed words.
    #[error("source must be device_capture, patient_link or desktop_import")]
    Source,
    /// The media type is not one of the supported image types.
    #[error("image media_type must be image/jpeg, image/png, image/webp or image/heif")]
    MediaType,
    /// A dimension is zero, or only one of width and height is given.
    #[error("image width and height must both be given (each at least 1) or both be left out when unknown")]
    ImageDimensions,
    /// The image hash is not 64 lowercase hexadecimal characters.
    #[error("image sha256 must be 64 lowercase hexadecimal characters")]
    ImageSha256,
    /// The image bytes do not match the SHA-256 recorded for them.
    #[error("the image does not match the SHA-256 in its clinical record: the image or the record was altered or mixed up; do not file it")]
    ImageHashMismatch,

    // --- the JSON document ---------------------------------------------------
    /// The record JSON is larger than [`super::MAX_JSON_BYTES`].
    #[error("clinical record JSON is {size} bytes, over the limit of {limit} bytes: shorten the caption or notes")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A record draft carries a field the capture pipeline sets itself
    /// (`version`, `device_id`, `image`).
    #[error("the record draft has the field `{field}`, which sealcam sets from the image and the device: leave it out")]
    SetByPipeline {
        /// The field's name.
        field: &'static str,
    },
    /// `link_capability` is not base64url of 1 to 4096 bytes, or the record
    /// is not a `patient_link` record.
    #[error("link_capability must be the base64url of the link's capability (at most 4096 bytes), and only a patient_link record carries one")]
    LinkCapability,
    /// The record's `version` is not one this code reads.
    #[error("clinical record version is not supported: this sealcam reads version 1 records; update sealcam")]
    UnsupportedVersion,
    /// The input is not well-formed JSON (or ends early).
    #[error("clinical record is not well-formed JSON (line {line}, column {column}): fix the syntax there")]
    JsonSyntax {
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
    },
    /// An object holds a field the format does not define.
    #[error("clinical record has a field the version 1 format does not define (line {line}, column {column}): remove it; docs/RECORD.md lists the fields")]
    UnknownField {
        /// Line of the error, from 1 (0 when unknown).
        line: usize,
        /// Column of the error, from 1 (0 when unknown).
        column: usize,
    },
    /// A required field is missing.
    #[error("clinical record lacks the required field `{field}`: add it")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A field appears twice in one object.
    #[error("clinical record has the field `{field}` twice in one object: keep one")]
    DuplicateField {
        /// The field's name.
        field: &'static str,
    },
    /// A value has the wrong JSON type (a number where text belongs, an object where a list belongs, ...).
    #[error("clinical record has a value of the wrong JSON type (line {line}, column {column}): docs/RECORD.md gives each field's type")]
    WrongJsonType {
        /// Line of the error, from 1 (0 when unknown).
        line: usize,
        /// Column of the error, from 1 (0 when unknown).
        column: usize,
    },
    /// A value is outside what its field allows (a negative or too large number, an unknown word).
    #[error("clinical record has a value its field does not allow (line {line}, column {column}): docs/RECORD.md gives each field's rules")]
    InvalidJsonValue {
        /// Line of the error, from 1 (0 when unknown).
        line: usize,
        /// Column of the error, from 1 (0 when unknown).
        column: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_distinct_and_say_what_to_do() {
        use RecordError::*;
        let all = [
            NhsNumberFormat,
            NhsNumberCheckDigit,
            LocalPatientId,
            PatientName,
            DateOfBirthFormat,
            DateOfBirthTooEarly,
            DateOfBirthInFuture,
            DateOfBirthAfterCapture,
            NoPatientIdentifier,
            BodySiteText,
            SnomedFormat,
            SnomedCheckDigit,
            SnomedNotConcept,
            Laterality,
            Caption,
            CapturedAt,
            Clinician(ClinicianError::Name),
            DeviceId,
            ConsentScope,
            ConsentScopesEmpty,
            ConsentScopeRepeated,
            ConsentMethod,
            ConsentGiver,
            ConsentObtainedAt,
            ConsentNotes,
            BestInterestsNeedsNotes,
            SignatureImageSha256,
            SignatureHashWithoutSignatureMethod,
            Source,
            MediaType,
            ImageDimensions,
            ImageSha256,
            ImageHashMismatch,
            TooLarge { size: 2, limit: 1 },
            SetByPipeline { field: "image" },
            LinkCapability,
            UnsupportedVersion,
            JsonSyntax { line: 1, column: 2 },
            UnknownField { line: 1, column: 2 },
            MissingField { field: "patient" },
            DuplicateField { field: "patient" },
            WrongJsonType { line: 1, column: 2 },
            InvalidJsonValue { line: 1, column: 2 },
        ];
        let messages: Vec<String> = all.iter().map(ToString::to_string).collect();
        for (i, m) in messages.iter().enumerate() {
            assert!(m.len() > 20, "{m}");
            assert!(!messages[..i].contains(m), "duplicate message: {m}");
        }
        assert_eq!(
            NhsNumberCheckDigit.to_string(),
            "NHS number check digit does not match: check the number was typed correctly"
        );
    }
}
