//! HEIF placeholder (replaced below).
use super::{ImageFormat, Report, SanitizeError};
pub(crate) fn strip(_input: &[u8], _report: &mut Report) -> Result<Vec<u8>, SanitizeError> {
    Err(SanitizeError::unsupported(ImageFormat::Heif, "HEIF"))
}
