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

mod dimensions;
mod error;
mod exif;
mod format;
mod heif;
mod jpeg;
mod png;
mod report;
mod verify;
mod webp;

pub use dimensions::{dimensions, Dimensions};
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

/// A sanitized image that has passed [`verify`], made by [`sanitize_owned`].
///
/// Its bytes are private, so they cannot change between the check and their
/// use: `envelope::seal_owned` accepts it without verifying it again. The
/// buffer is zeroed when a `SanitizedImage` is dropped unused.
pub struct SanitizedImage {
    bytes: Vec<u8>,
    report: Report,
}

impl SanitizedImage {
    /// The sanitized image.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// What was removed.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The image's buffer, leaving the wrapper (and its wipe on drop).
    pub fn into_bytes(mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }

    /// The image as a plain [`Sanitized`].
    pub fn into_sanitized(mut self) -> Sanitized {
        Sanitized {
            bytes: std::mem::take(&mut self.bytes),
            report: self.report.clone(),
        }
    }
}

impl Drop for SanitizedImage {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.bytes);
    }
}

impl std::fmt::Debug for SanitizedImage {
    // The image bytes are patient data: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SanitizedImage")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("report", &self.report)
            .finish()
    }
}

/// Images this process has started to sanitize (either entry point):
/// diagnostics, and what tests count to show a pipeline strips each image
/// once.
static PASSES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many images this process has started to sanitize, through
/// [`sanitize_with`] or [`sanitize_owned_with`].
pub fn passes() -> u64 {
    PASSES.load(std::sync::atomic::Ordering::Relaxed)
}

fn count_pass() {
    PASSES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
    count_pass();
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

/// [`sanitize_owned_with`] with the default [`Options`].
pub fn sanitize_owned(input: Vec<u8>) -> Result<SanitizedImage, SanitizeError> {
    sanitize_owned_with(input, &Options::default())
}

/// Sanitizes the image in `input`, reusing its buffer where it can: the
/// same output as [`sanitize_with`], checked by the same verifier.
///
/// A JPEG is edited in place (segments only move towards the start; the
/// scan data, the bulk, moves once), so no second buffer is allocated and
/// the buffer's capacity is kept, which lets `envelope::seal_owned` turn
/// the same buffer into the envelope. Other formats, and the rare JPEG whose
/// new minimal EXIF block would overwrite input not yet read, are written to
/// a new buffer as [`sanitize_with`] does.
///
/// Every input byte that does not end up in the output is zeroed before
/// its memory is released: the removed metadata on success, the whole
/// buffer (input or partial output) on any error. No bytes are returned
/// unless the verifier accepted them.
pub fn sanitize_owned_with(
    mut input: Vec<u8>,
    options: &Options,
) -> Result<SanitizedImage, SanitizeError> {
    count_pass();
    let wipe = |mut v: Vec<u8>| zeroize::Zeroize::zeroize(&mut v);
    if input.len() > options.max_input_bytes {
        let e = SanitizeError::TooLarge {
            size: input.len() as u64,
            limit: options.max_input_bytes as u64,
        };
        wipe(input);
        return Err(e);
    }
    let Some(format) = detect_format(&input) else {
        let e = format::describe_unknown(&input);
        wipe(input);
        return Err(e);
    };
    let mut report = Report::new(format, input.len() as u64);
    let written = match format {
        ImageFormat::Jpeg => jpeg::plan(&input, &mut report).map(|plan| {
            if plan.fits_in_place(input.len()) {
                plan.write_in_place(&mut input);
                None
            } else {
                Some(plan.write(&input))
            }
        }),
        ImageFormat::Png => png::strip(&input, &mut report).map(Some),
        ImageFormat::WebP => webp::strip(&input, &mut report).map(Some),
        ImageFormat::Heif => heif::strip(&input, &mut report).map(Some),
    };
    let bytes = match written {
        Ok(None) => input,
        Ok(Some(copy)) => {
            wipe(input);
            copy
        }
        Err(e) => {
            wipe(input);
            return Err(e);
        }
    };
    match verify(&bytes) {
        Ok(verified) => {
            debug_assert_eq!(verified.format, format);
            report.output_bytes = bytes.len() as u64;
            report.orientation = verified.orientation;
            Ok(SanitizedImage { bytes, report })
        }
        Err(e) => {
            wipe(bytes);
            Err(SanitizeError::Verification(e))
        }
    }
}
