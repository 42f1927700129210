//! [`ErrorCode`]: the fixed numbers the front ends see for every failure,
//! and the mapping from the core's error enums to them.
//!
//! The phone and web bridges (docs/BRIDGE.md) pass a number and a message
//! across the language boundary; the user interface chooses what to show
//! from the number alone. A number, once published, keeps its meaning for
//! ever: new failures get new numbers, retired ones are never reused.
//! `sealcam-relay` maps its own errors to the same codes.

use crate::capture::CaptureError;
use crate::envelope::{FormatError, OpenError, SealError, VerifyError as EnvelopeVerifyError};
use crate::keys::{CertificateError, KeyError};
use crate::protocol::ReceiptError;
use crate::record::{ClinicianError, RecordError};
use crate::sanitize::SanitizeError;

/// Why a call across the bridge failed, as a number that never changes.
///
/// The numbers and what a user interface should say for each are listed in
/// docs/BRIDGE.md (a test checks the table against this enum). 23 is
/// retired (it was "a request path is not canonical", now
/// [`ErrorCode::Internal`]).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    /// An argument is not usable: not UTF-8, a key, id or path that does
    /// not parse, a time out of range. A bug in the calling app.
    InvalidArgument = 1,
    /// A JSON argument is not well formed or not of the documented shape
    /// (unknown or repeated fields, wrong types). A bug in the calling app.
    InvalidJson = 2,
    /// A bug in sealcam: a check that cannot fail failed, or a panic was
    /// caught at the bridge.
    Internal = 3,

    /// The enrolment payload (the QR code's text) cannot be read.
    BadEnrolmentPayload = 10,
    /// The device home already holds an enrolment.
    AlreadyEnrolled = 11,
    /// The device home holds no enrolment.
    NotEnrolled = 12,
    /// The device's files are damaged or from another version.
    DamagedHome = 13,
    /// The device is enrolled but not approved by the administrator yet.
    NotApproved = 14,
    /// No valid recipient directory (none published, or expired).
    NoDirectory = 15,
    /// A directory or certificate does not verify against the pinned
    /// organisation key.
    Untrusted = 16,
    /// The store's organisation key is not the one in the enrolment payload.
    OrgMismatch = 17,
    /// The store refused the enrolment code (wrong, used or expired).
    CodeRefused = 18,
    /// The store URL is not `https://host[:port]`.
    BadStoreUrl = 19,
    /// The store could not be reached; retrying later may succeed.
    Network = 20,
    /// The store answered with an error.
    StoreRefused = 21,
    /// The store's receipt did not verify; the envelope stays queued.
    BadReceipt = 22,
    /// The device certificate has expired.
    CertificateExpired = 24,
    /// The device certificate is not valid yet (usually a clock behind).
    CertificateNotYetValid = 25,
    /// The administrator revoked this device.
    Revoked = 26,

    /// The image is damaged: truncated, or its structure is corrupt.
    ImageDamaged = 30,
    /// The clinical record breaks a rule not covered by a finer code.
    RecordInvalid = 31,
    /// Sealing refused (too large, signing key and certificate differ).
    SealFailed = 32,
    /// Not a photo sealcam reads: empty, or not JPEG, PNG, WebP or HEIC.
    NotAnImage = 33,
    /// The image is larger than the limit.
    ImageTooLarge = 34,
    /// A valid image using a feature that cannot be stripped losslessly.
    ImageFeatureUnsupported = 35,
    /// The stripped image failed the independent check (a sealcam bug;
    /// nothing was kept).
    ImageCheckFailed = 36,

    /// Reading or writing the device's files failed.
    Io = 40,
    /// The NHS number is not 10 digits or its check digit is wrong.
    NhsNumberInvalid = 41,
    /// The patient has neither an NHS number nor a local identifier.
    PatientIdentifierMissing = 42,
    /// The local identifier, name or date of birth breaks its rule.
    PatientDetailsInvalid = 43,
    /// No consent was recorded (or it names no scope).
    ConsentMissing = 44,
    /// The consent is recorded but breaks a rule (e.g. best interests
    /// without notes).
    ConsentInvalid = 45,
    /// The body site, SNOMED CT code, laterality or caption breaks its rule.
    BodySiteInvalid = 46,
    /// The clinician's details are missing or break their rules.
    ClinicianInvalid = 47,

    /// The recipients are not usable (none, too many, repeated, a bad key).
    BadRecipients = 50,

    /// The bytes are not a sealcam envelope.
    NotAnEnvelope = 60,
    /// An envelope of a format version this sealcam does not read.
    EnvelopeUnsupportedVersion = 61,
    /// The envelope is truncated, has trailing bytes or a malformed field.
    EnvelopeDamaged = 62,
    /// The envelope is not addressed to this key.
    NotARecipient = 63,
    /// The envelope failed a cryptographic check: altered, forged, unsigned
    /// where a signature is required, or from the future.
    EnvelopeRejected = 64,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidJson,
        ErrorCode::Internal,
        ErrorCode::BadEnrolmentPayload,
        ErrorCode::AlreadyEnrolled,
        ErrorCode::NotEnrolled,
        ErrorCode::DamagedHome,
        ErrorCode::NotApproved,
        ErrorCode::NoDirectory,
        ErrorCode::Untrusted,
        ErrorCode::OrgMismatch,
        ErrorCode::CodeRefused,
        ErrorCode::BadStoreUrl,
        ErrorCode::Network,
        ErrorCode::StoreRefused,
        ErrorCode::BadReceipt,
        ErrorCode::CertificateExpired,
        ErrorCode::CertificateNotYetValid,
        ErrorCode::Revoked,
        ErrorCode::ImageDamaged,
        ErrorCode::RecordInvalid,
        ErrorCode::SealFailed,
        ErrorCode::NotAnImage,
        ErrorCode::ImageTooLarge,
        ErrorCode::ImageFeatureUnsupported,
        ErrorCode::ImageCheckFailed,
        ErrorCode::Io,
        ErrorCode::NhsNumberInvalid,
        ErrorCode::PatientIdentifierMissing,
        ErrorCode::PatientDetailsInvalid,
        ErrorCode::ConsentMissing,
        ErrorCode::ConsentInvalid,
        ErrorCode::BodySiteInvalid,
        ErrorCode::ClinicianInvalid,
        ErrorCode::BadRecipients,
        ErrorCode::NotAnEnvelope,
        ErrorCode::EnvelopeUnsupportedVersion,
        ErrorCode::EnvelopeDamaged,
        ErrorCode::NotARecipient,
        ErrorCode::EnvelopeRejected,
    ];

    /// The number.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// The code with this number, if there is one.
    pub fn from_u32(n: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_u32() == n)
    }

    /// The code's name in snake case (`not_enrolled`): what JSON and the
    /// docs call it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::Internal => "internal",
            ErrorCode::BadEnrolmentPayload => "bad_enrolment_payload",
            ErrorCode::AlreadyEnrolled => "already_enrolled",
            ErrorCode::NotEnrolled => "not_enrolled",
            ErrorCode::DamagedHome => "damaged_home",
            ErrorCode::NotApproved => "not_approved",
            ErrorCode::NoDirectory => "no_directory",
            ErrorCode::Untrusted => "untrusted",
            ErrorCode::OrgMismatch => "org_mismatch",
            ErrorCode::CodeRefused => "code_refused",
            ErrorCode::BadStoreUrl => "bad_store_url",
            ErrorCode::Network => "network",
            ErrorCode::StoreRefused => "store_refused",
            ErrorCode::BadReceipt => "bad_receipt",
            ErrorCode::CertificateExpired => "certificate_expired",
            ErrorCode::CertificateNotYetValid => "certificate_not_yet_valid",
            ErrorCode::Revoked => "revoked",
            ErrorCode::ImageDamaged => "image_damaged",
            ErrorCode::RecordInvalid => "record_invalid",
            ErrorCode::SealFailed => "seal_failed",
            ErrorCode::NotAnImage => "not_an_image",
            ErrorCode::ImageTooLarge => "image_too_large",
            ErrorCode::ImageFeatureUnsupported => "image_feature_unsupported",
            ErrorCode::ImageCheckFailed => "image_check_failed",
            ErrorCode::Io => "io",
            ErrorCode::NhsNumberInvalid => "nhs_number_invalid",
            ErrorCode::PatientIdentifierMissing => "patient_identifier_missing",
            ErrorCode::PatientDetailsInvalid => "patient_details_invalid",
            ErrorCode::ConsentMissing => "consent_missing",
            ErrorCode::ConsentInvalid => "consent_invalid",
            ErrorCode::BodySiteInvalid => "body_site_invalid",
            ErrorCode::ClinicianInvalid => "clinician_invalid",
            ErrorCode::BadRecipients => "bad_recipients",
            ErrorCode::NotAnEnvelope => "not_an_envelope",
            ErrorCode::EnvelopeUnsupportedVersion => "envelope_unsupported_version",
            ErrorCode::EnvelopeDamaged => "envelope_damaged",
            ErrorCode::NotARecipient => "not_a_recipient",
            ErrorCode::EnvelopeRejected => "envelope_rejected",
        }
    }
}

impl From<&SanitizeError> for ErrorCode {
    fn from(e: &SanitizeError) -> Self {
        match e {
            SanitizeError::Empty | SanitizeError::UnsupportedFormat { .. } => ErrorCode::NotAnImage,
            SanitizeError::TooLarge { .. } => ErrorCode::ImageTooLarge,
            SanitizeError::Truncated { .. } | SanitizeError::Corrupt { .. } => {
                ErrorCode::ImageDamaged
            }
            SanitizeError::UnsupportedFeature { .. } => ErrorCode::ImageFeatureUnsupported,
            SanitizeError::Verification(_) => ErrorCode::ImageCheckFailed,
        }
    }
}

impl From<&RecordError> for ErrorCode {
    fn from(e: &RecordError) -> Self {
        use RecordError as R;
        match e {
            R::NhsNumberFormat | R::NhsNumberCheckDigit => ErrorCode::NhsNumberInvalid,
            R::NoPatientIdentifier => ErrorCode::PatientIdentifierMissing,
            R::LocalPatientId
            | R::PatientName
            | R::DateOfBirthFormat
            | R::DateOfBirthTooEarly
            | R::DateOfBirthInFuture
            | R::DateOfBirthAfterCapture => ErrorCode::PatientDetailsInvalid,
            R::BodySiteText
            | R::SnomedFormat
            | R::SnomedCheckDigit
            | R::SnomedNotConcept
            | R::Laterality
            | R::Caption => ErrorCode::BodySiteInvalid,
            R::Clinician(_) => ErrorCode::ClinicianInvalid,
            R::ConsentScopesEmpty => ErrorCode::ConsentMissing,
            R::ConsentScope
            | R::ConsentScopeRepeated
            | R::ConsentMethod
            | R::ConsentGiver
            | R::ConsentObtainedAt
            | R::ConsentNotes
            | R::BestInterestsNeedsNotes
            | R::SignatureImageSha256
            | R::SignatureHashWithoutSignatureMethod => ErrorCode::ConsentInvalid,
            R::MissingField { field } => match *field {
                "consent" | "scopes" | "method" | "given_by" => ErrorCode::ConsentMissing,
                "patient" => ErrorCode::PatientIdentifierMissing,
                "body_site" => ErrorCode::BodySiteInvalid,
                "clinician" => ErrorCode::ClinicianInvalid,
                _ => ErrorCode::InvalidJson,
            },
            R::JsonSyntax { .. }
            | R::UnknownField { .. }
            | R::DuplicateField { .. }
            | R::WrongJsonType { .. }
            | R::InvalidJsonValue { .. }
            | R::SetByPipeline { .. } => ErrorCode::InvalidJson,
            R::CapturedAt
            | R::DeviceId
            | R::Source
            | R::MediaType
            | R::ImageDimensions
            | R::ImageSha256
            | R::ImageHashMismatch
            | R::TooLarge { .. }
            | R::LinkCapability
            | R::UnsupportedVersion => ErrorCode::RecordInvalid,
        }
    }
}

impl From<&ClinicianError> for ErrorCode {
    fn from(_: &ClinicianError) -> Self {
        ErrorCode::ClinicianInvalid
    }
}

impl From<&SealError> for ErrorCode {
    fn from(e: &SealError) -> Self {
        match e {
            SealError::NotSanitized(_) => ErrorCode::ImageCheckFailed,
            SealError::Recipients(_) | SealError::BadRecipient => ErrorCode::BadRecipients,
            SealError::TooLarge(_) | SealError::SignerMismatch => ErrorCode::SealFailed,
            SealError::Encrypt => ErrorCode::Internal,
        }
    }
}

impl From<&FormatError> for ErrorCode {
    fn from(e: &FormatError) -> Self {
        match e {
            FormatError::NotAnEnvelope => ErrorCode::NotAnEnvelope,
            FormatError::UnsupportedVersion(_) => ErrorCode::EnvelopeUnsupportedVersion,
            FormatError::Truncated | FormatError::TrailingBytes | FormatError::Malformed(_) => {
                ErrorCode::EnvelopeDamaged
            }
        }
    }
}

impl From<&OpenError> for ErrorCode {
    fn from(e: &OpenError) -> Self {
        match e {
            OpenError::Format(f) => f.into(),
            OpenError::NotARecipient => ErrorCode::NotARecipient,
            OpenError::Decrypt | OpenError::BadSignature => ErrorCode::EnvelopeRejected,
            OpenError::Record(_) => ErrorCode::RecordInvalid,
        }
    }
}

impl From<&EnvelopeVerifyError> for ErrorCode {
    fn from(e: &EnvelopeVerifyError) -> Self {
        match e {
            EnvelopeVerifyError::Format(f) => f.into(),
            EnvelopeVerifyError::Certificate(c) | EnvelopeVerifyError::CertificateAtReceipt(c) => {
                c.into()
            }
            EnvelopeVerifyError::Unsigned
            | EnvelopeVerifyError::BadSignature
            | EnvelopeVerifyError::FromTheFuture => ErrorCode::EnvelopeRejected,
        }
    }
}

impl From<&CaptureError> for ErrorCode {
    fn from(e: &CaptureError) -> Self {
        match e {
            CaptureError::Sanitize(e) => e.into(),
            CaptureError::Record(e) => e.into(),
            CaptureError::Seal(e) => e.into(),
            CaptureError::BadTime => ErrorCode::InvalidArgument,
        }
    }
}

impl From<&CertificateError> for ErrorCode {
    fn from(e: &CertificateError) -> Self {
        match e {
            CertificateError::WrongOrganisation | CertificateError::BadSignature => {
                ErrorCode::Untrusted
            }
            CertificateError::NotYetValid => ErrorCode::CertificateNotYetValid,
            CertificateError::Expired => ErrorCode::CertificateExpired,
        }
    }
}

impl From<&KeyError> for ErrorCode {
    /// A key, key file, certificate or directory that does not parse is an
    /// argument the caller should not have passed; running out of memory
    /// for Argon2id is not the caller's fault.
    fn from(e: &KeyError) -> Self {
        match e {
            KeyError::KdfFailed { .. } => ErrorCode::Internal,
            _ => ErrorCode::InvalidArgument,
        }
    }
}

impl From<&ReceiptError> for ErrorCode {
    fn from(_: &ReceiptError) -> Self {
        ErrorCode::BadReceipt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published numbers. A failing line here means a published code
    /// changed: never do that; add a new variant at a new number instead.
    /// The match has no wildcard, so a new variant does not compile until
    /// it is pinned here too.
    fn pinned(c: ErrorCode) -> (u32, &'static str) {
        match c {
            ErrorCode::InvalidArgument => (1, "invalid_argument"),
            ErrorCode::InvalidJson => (2, "invalid_json"),
            ErrorCode::Internal => (3, "internal"),
            ErrorCode::BadEnrolmentPayload => (10, "bad_enrolment_payload"),
            ErrorCode::AlreadyEnrolled => (11, "already_enrolled"),
            ErrorCode::NotEnrolled => (12, "not_enrolled"),
            ErrorCode::DamagedHome => (13, "damaged_home"),
            ErrorCode::NotApproved => (14, "not_approved"),
            ErrorCode::NoDirectory => (15, "no_directory"),
            ErrorCode::Untrusted => (16, "untrusted"),
            ErrorCode::OrgMismatch => (17, "org_mismatch"),
            ErrorCode::CodeRefused => (18, "code_refused"),
            ErrorCode::BadStoreUrl => (19, "bad_store_url"),
            ErrorCode::Network => (20, "network"),
            ErrorCode::StoreRefused => (21, "store_refused"),
            ErrorCode::BadReceipt => (22, "bad_receipt"),
            ErrorCode::CertificateExpired => (24, "certificate_expired"),
            ErrorCode::CertificateNotYetValid => (25, "certificate_not_yet_valid"),
            ErrorCode::Revoked => (26, "revoked"),
            ErrorCode::ImageDamaged => (30, "image_damaged"),
            ErrorCode::RecordInvalid => (31, "record_invalid"),
            ErrorCode::SealFailed => (32, "seal_failed"),
            ErrorCode::NotAnImage => (33, "not_an_image"),
            ErrorCode::ImageTooLarge => (34, "image_too_large"),
            ErrorCode::ImageFeatureUnsupported => (35, "image_feature_unsupported"),
            ErrorCode::ImageCheckFailed => (36, "image_check_failed"),
            ErrorCode::Io => (40, "io"),
            ErrorCode::NhsNumberInvalid => (41, "nhs_number_invalid"),
            ErrorCode::PatientIdentifierMissing => (42, "patient_identifier_missing"),
            ErrorCode::PatientDetailsInvalid => (43, "patient_details_invalid"),
            ErrorCode::ConsentMissing => (44, "consent_missing"),
            ErrorCode::ConsentInvalid => (45, "consent_invalid"),
            ErrorCode::BodySiteInvalid => (46, "body_site_invalid"),
            ErrorCode::ClinicianInvalid => (47, "clinician_invalid"),
            ErrorCode::BadRecipients => (50, "bad_recipients"),
            ErrorCode::NotAnEnvelope => (60, "not_an_envelope"),
            ErrorCode::EnvelopeUnsupportedVersion => (61, "envelope_unsupported_version"),
            ErrorCode::EnvelopeDamaged => (62, "envelope_damaged"),
            ErrorCode::NotARecipient => (63, "not_a_recipient"),
            ErrorCode::EnvelopeRejected => (64, "envelope_rejected"),
        }
    }

    #[test]
    fn numbers_and_names_are_pinned() {
        assert_eq!(ErrorCode::ALL.len(), 40, "a code was added or removed");
        for &c in ErrorCode::ALL {
            assert_eq!((c.as_u32(), c.name()), pinned(c), "{c:?}");
            assert_eq!(ErrorCode::from_u32(c.as_u32()), Some(c));
        }
        // ALL is in numeric order, so each code appears once.
        assert!(ErrorCode::ALL.windows(2).all(|w| w[0] < w[1]));
        for retired_or_unused in [0, 4, 9, 23, 27, 37, 48, 65, u32::MAX] {
            assert_eq!(ErrorCode::from_u32(retired_or_unused), None);
        }
    }

    #[test]
    fn core_errors_map_to_the_codes_a_user_interface_needs() {
        use crate::sanitize::ImageFormat;
        let cases: [(ErrorCode, ErrorCode); 14] = [
            ((&SanitizeError::Empty).into(), ErrorCode::NotAnImage),
            (
                (&SanitizeError::TooLarge { size: 2, limit: 1 }).into(),
                ErrorCode::ImageTooLarge,
            ),
            (
                (&SanitizeError::Corrupt {
                    format: ImageFormat::Jpeg,
                    what: "x",
                    offset: 0,
                })
                    .into(),
                ErrorCode::ImageDamaged,
            ),
            (
                (&RecordError::NhsNumberCheckDigit).into(),
                ErrorCode::NhsNumberInvalid,
            ),
            (
                (&RecordError::MissingField { field: "consent" }).into(),
                ErrorCode::ConsentMissing,
            ),
            (
                (&RecordError::MissingField { field: "width" }).into(),
                ErrorCode::InvalidJson,
            ),
            (
                (&RecordError::BestInterestsNeedsNotes).into(),
                ErrorCode::ConsentInvalid,
            ),
            (
                (&RecordError::NoPatientIdentifier).into(),
                ErrorCode::PatientIdentifierMissing,
            ),
            (
                (&SealError::Recipients("none")).into(),
                ErrorCode::BadRecipients,
            ),
            ((&OpenError::NotARecipient).into(), ErrorCode::NotARecipient),
            (
                (&OpenError::Format(FormatError::Truncated)).into(),
                ErrorCode::EnvelopeDamaged,
            ),
            (
                (&CertificateError::Expired).into(),
                ErrorCode::CertificateExpired,
            ),
            (
                (&CertificateError::BadSignature).into(),
                ErrorCode::Untrusted,
            ),
            (
                (&CaptureError::Record(RecordError::Caption)).into(),
                ErrorCode::BodySiteInvalid,
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
