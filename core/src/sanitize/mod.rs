//! Lossless, fail-closed removal of identifying metadata from images.
//!
//! [`sanitize`] takes the bytes of a JPEG (baseline, progressive, MPO), PNG,
//! WebP or HEIC/HEIF image and returns new bytes in which the container has
//! been edited so that only what is needed to show the picture remains. The
//! coded image data is copied byte for byte: nothing is re-encoded.
//!
//! What is kept and what is dropped is decided in `DESIGN.md` ("Metadata
//! stripping") and restated per format in the format modules. In short:
//! EXIF (except a minimal Orientation-only block), XMP, IPTC, comments,
//! MakerNotes, thumbnails, MPF secondary images, text chunks, timestamps,
//! motion-photo videos and every byte after the end of the image are removed.
//!
//! After writing, the output is handed to [`verify`], an independent parser
//! that shares no bookkeeping with the writers. If it finds anything
//! identifying, [`sanitize`] returns [`SanitizeError::Verification`] and no
//! bytes at all.
//!
//! Errors and reports never contain metadata values (they may be patient
//! data): only categories, byte counts and offsets.

mod error;
mod exif;
mod format;
mod heif;
mod jpeg;
mod png;
mod report;
mod verify;
mod webp;

pub use error::{SanitizeError, VerifyError};
pub use format::{detect_format, ImageFormat};
pub use report::{Category, Removal, Report};
pub use verify::{verify, Verified};

/// Default upper bound on the input size: 256 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// Settings for [`sanitize_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Inputs longer than this are refused with [`SanitizeError::TooLarge`].
    pub max_input_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
        }
    }
}

/// The result of a successful [`sanitize`]: verified bytes and a report.
#[derive(Clone, PartialEq, Eq)]
pub struct Sanitized {
    /// The sanitized image. Same format as the input; passed [`verify`].
    pub bytes: Vec<u8>,
    /// What was removed (categories and sizes, never values).
    pub report: Report,
}

impl std::fmt::Debug for Sanitized {
    // The image bytes are patient data: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sanitized")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("report", &self.report)
            .finish()
    }
}

/// Sanitizes `input` with the default [`Options`].
pub fn sanitize(input: &[u8]) -> Result<Sanitized, SanitizeError> {
    sanitize_with(input, &Options::default())
}

/// Sanitizes `input`: detects the format from its bytes, rewrites the
/// container without identifying metadata, and verifies the result.
///
/// On any error no output is produced.
pub fn sanitize_with(input: &[u8], options: &Options) -> Result<Sanitized, SanitizeError> {
    if input.len() > options.max_input_bytes {
        return Err(SanitizeError::TooLarge {
            size: input.len() as u64,
            limit: options.max_input_bytes as u64,
        });
    }
    let format = detect_format(input).ok_or_else(|| format::describe_unknown(input))?;
    let mut report = Report::new(format, input.len() as u64);
    let bytes = match format {
        ImageFormat::Jpeg => jpeg::strip(input, &mut report)?,
        ImageFormat::Png => png::strip(input, &mut report)?,
        ImageFormat::WebP => webp::strip(input, &mut report)?,
        ImageFormat::Heif => heif::strip(input, &mut report)?,
    };
    let verified = verify(&bytes).map_err(SanitizeError::Verification)?;
    debug_assert_eq!(verified.format, format);
    report.output_bytes = bytes.len() as u64;
    report.orientation = verified.orientation;
    Ok(Sanitized { bytes, report })
}
