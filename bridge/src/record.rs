//! The bedside form's checks: an NHS number as it is typed, and a whole
//! record draft (docs/RECORD.md), before anything is captured.

use sealcam_core::capture::RecordDraft;
use sealcam_core::record::{Clinician, NhsNumber, RegistrationBody};
use sealcam_core::ErrorCode;
use time::OffsetDateTime;

use crate::BridgeError;

/// Checks an NHS number as typed (`9434765919`, `943 476 5919` or
/// `943-476-5919`; surrounding space ignored) and returns its ten digits.
///
/// Errors: [`ErrorCode::NhsNumberInvalid`] (not ten digits, or the
/// Modulus 11 check digit does not match).
pub fn validate_nhs_number(text: &str) -> Result<String, BridgeError> {
    Ok(NhsNumber::parse(text)?.canonical())
}

/// Checks a record draft (docs/BRIDGE.md, "Record draft") as the capture
/// would, at `now_unix` (Unix seconds): every field's rules, the rules
/// between fields, a date of birth not in the future. `clinician` may be
/// left out (the device's certificate, or the caller of a seal, supplies
/// it); `captured_at`, `consent.obtained_by` and `consent.obtained_at` may
/// be left out too.
///
/// Errors name the field and the rule, never the value: a code for each
/// class the form shows differently (`nhs_number_invalid`,
/// `patient_identifier_missing`, `consent_missing`, …), `invalid_json`
/// for a draft that is not of the documented shape.
pub fn check_draft(draft_json: &str, now_unix: u64) -> Result<(), BridgeError> {
    let stand_in = Clinician::new("Stand-in clinician", RegistrationBody::Gmc, "0000000")
        .map_err(|_| BridgeError::new(ErrorCode::Internal, "internal error: stand-in clinician"))?;
    parse_draft(draft_json, Some(&stand_in), time_at(now_unix)?).map(|_| ())
}

/// Reads a draft, with the clinician to use when it names none.
pub(crate) fn parse_draft(
    draft_json: &str,
    default_clinician: Option<&Clinician>,
    now: OffsetDateTime,
) -> Result<RecordDraft, BridgeError> {
    Ok(RecordDraft::from_json(
        draft_json.as_bytes(),
        default_clinician,
        now,
    )?)
}

/// `now_unix` as a time, or [`ErrorCode::InvalidArgument`].
pub(crate) fn time_at(now_unix: u64) -> Result<OffsetDateTime, BridgeError> {
    i64::try_from(now_unix)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| {
            BridgeError::invalid("now_unix is not a time sealcam can record (after the year 9999)")
        })
}
