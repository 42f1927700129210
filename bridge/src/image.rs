//! Stripping a photo on its own (a preview of what will be sealed; the
//! seal and capture calls strip again, inside the one pipeline).

use sealcam_core::sanitize;

use crate::BridgeError;

/// A stripped photo and what was removed. The image is wiped when this is
/// dropped: copy it out, then drop.
pub struct SanitizeResult {
    /// The stripped image, same format as the input.
    pub image: Vec<u8>,
    /// What was removed (docs/BRIDGE.md, "Sanitize report").
    pub report_json: String,
}

impl Drop for SanitizeResult {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.image);
    }
}

impl std::fmt::Debug for SanitizeResult {
    // The image is patient data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SanitizeResult")
            .field("image", &format_args!("<{} bytes>", self.image.len()))
            .field("report_json", &self.report_json)
            .finish()
    }
}

/// Strips identifying metadata from a JPEG, PNG, WebP or HEIC photo,
/// losslessly, and checks the result with the independent verifier.
/// `image` is consumed and wiped (a JPEG is stripped in its own buffer).
///
/// Errors: `not_an_image`, `image_too_large` (over 256 MiB),
/// `image_damaged`, `image_feature_unsupported`, `image_check_failed`.
pub fn sanitize(image: Vec<u8>) -> Result<SanitizeResult, BridgeError> {
    let clean = sanitize::sanitize_owned(image)?;
    let report_json = crate::json::to_string(clean.report())?;
    Ok(SanitizeResult {
        image: clean.into_bytes(),
        report_json,
    })
}
