//! HEIF verifier (placeholder until the HEIF writer lands).
use crate::sanitize::{ImageFormat, VerifyError};
pub(super) fn verify(_b: &[u8]) -> Result<Option<u16>, VerifyError> {
    Err(VerifyError::malformed(
        ImageFormat::Heif,
        "HEIF verification not built",
        0,
    ))
}
