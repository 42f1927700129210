//! Error types of the sanitizer. Messages name the format, what is wrong and
//! where (a byte offset), never a metadata value.

use super::ImageFormat;

/// Why an image could not be sanitized. No output exists when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SanitizeError {
    /// The input is empty.
    #[error("the input is empty: expected a JPEG, PNG, WebP or HEIC/HEIF image")]
    Empty,
    /// The bytes are not a JPEG, PNG, WebP or HEIC/HEIF image.
    #[error("unsupported image format ({found}): sealcam accepts JPEG, PNG, WebP and HEIC/HEIF; convert the image to one of these first")]
    UnsupportedFormat {
        /// A short description of what the bytes look like (never their content).
        found: &'static str,
    },
    /// The input is larger than the configured limit.
    #[error("the input is {size} bytes, over the limit of {limit} bytes; send a smaller image or raise the limit")]
    TooLarge {
        /// Input size in bytes.
        size: u64,
        /// Configured limit in bytes.
        limit: u64,
    },
    /// The file ends before a structure it declares is complete.
    #[error("truncated {format} file: {what} (at byte {offset}); the file was probably cut short in transfer, take or export it again")]
    Truncated {
        /// Detected format.
        format: ImageFormat,
        /// Which structure is incomplete.
        what: &'static str,
        /// Byte offset where the structure starts or the read failed.
        offset: u64,
    },
    /// The container structure is invalid.
    #[error("corrupt {format} file: {what} (at byte {offset}); the file is damaged, export it again from the camera or editor")]
    Corrupt {
        /// Detected format.
        format: ImageFormat,
        /// What is wrong.
        what: &'static str,
        /// Byte offset of the offending structure.
        offset: u64,
    },
    /// A valid file that uses a feature the sanitizer cannot handle losslessly.
    #[error(
        "unsupported {format} feature: {what}; convert the image to a baseline JPEG or PNG first"
    )]
    UnsupportedFeature {
        /// Detected format.
        format: ImageFormat,
        /// The feature.
        what: &'static str,
    },
    /// The writer produced output that the independent verifier rejected.
    /// This is a bug in sealcam; the output was discarded.
    #[error("internal check failed, nothing was written: {0}; please report this as a bug (the message holds no image data)")]
    Verification(#[source] VerifyError),
}

/// What the independent verifier found in an image that must not be there,
/// or why it could not parse the image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bytes are not a supported image format.
    #[error("not a JPEG, PNG, WebP or HEIC/HEIF image")]
    UnknownFormat,
    /// The container cannot be parsed.
    #[error("{format} structure invalid: {what} at byte {offset}")]
    Malformed {
        /// Format being verified.
        format: ImageFormat,
        /// What is wrong.
        what: &'static str,
        /// Byte offset.
        offset: u64,
    },
    /// Identifying or unexpected content remains.
    #[error("{format} still contains {what} at byte {offset}")]
    Found {
        /// Format being verified.
        format: ImageFormat,
        /// What was found (a category, never a value).
        what: &'static str,
        /// Byte offset.
        offset: u64,
    },
}

impl SanitizeError {
    pub(crate) fn truncated(format: ImageFormat, what: &'static str, offset: usize) -> Self {
        SanitizeError::Truncated {
            format,
            what,
            offset: offset as u64,
        }
    }

    pub(crate) fn corrupt(format: ImageFormat, what: &'static str, offset: usize) -> Self {
        SanitizeError::Corrupt {
            format,
            what,
            offset: offset as u64,
        }
    }

    pub(crate) fn unsupported(format: ImageFormat, what: &'static str) -> Self {
        SanitizeError::UnsupportedFeature { format, what }
    }
}

impl VerifyError {
    pub(crate) fn malformed(format: ImageFormat, what: &'static str, offset: usize) -> Self {
        VerifyError::Malformed {
            format,
            what,
            offset: offset as u64,
        }
    }

    pub(crate) fn found(format: ImageFormat, what: &'static str, offset: usize) -> Self {
        VerifyError::Found {
            format,
            what,
            offset: offset as u64,
        }
    }
}
