//! The fail-closed verifier: an independent parse of a sanitized image.
//!
//! It shares no code and no bookkeeping with the writers in the format
//! modules: it re-reads the output from scratch and accepts only an
//! allowlist of structures. Anything else — an EXIF block holding more than
//! Orientation, XMP, IPTC, comments, MPF, thumbnails, text chunks, metadata
//! items, unknown chunks or boxes, or a byte after the end of the image — is
//! reported as a [`VerifyError`], and [`super::sanitize`] then returns no
//! output at all.

mod heif;
mod jpeg;
mod minimal_exif;
mod png;
mod webp;

use super::{ImageFormat, VerifyError};

/// What the verifier learned about an image it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The image's format.
    pub format: ImageFormat,
    /// Orientation from the remaining minimal EXIF, if any (2..=8).
    pub orientation: Option<u16>,
}

/// Checks that `image` carries no identifying metadata and nothing after
/// the end of the image. Detects the format itself.
pub fn verify(image: &[u8]) -> Result<Verified, VerifyError> {
    let (format, orientation) = if image.starts_with(&[0xFF, 0xD8]) {
        (ImageFormat::Jpeg, jpeg::verify(image)?)
    } else if image.starts_with(b"\x89PNG\r\n\x1a\n") {
        (ImageFormat::Png, png::verify(image)?)
    } else if image.len() >= 12 && &image[0..4] == b"RIFF" && &image[8..12] == b"WEBP" {
        (ImageFormat::WebP, webp::verify(image)?)
    } else if image.len() >= 8 && &image[4..8] == b"ftyp" {
        (ImageFormat::Heif, heif::verify(image)?)
    } else {
        return Err(VerifyError::UnknownFormat);
    };
    Ok(Verified {
        format,
        orientation,
    })
}
