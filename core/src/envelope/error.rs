//! Envelope errors. Decryption failures are deliberately coarse: a caller
//! learns "not for you" or "could not be opened", never which check failed.

use crate::keys::CertificateError;
use crate::sanitize::VerifyError as ImageVerifyError;

/// The bytes are not a well-formed envelope (found before any cryptography).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes do not start with the envelope magic.
    #[error("not a sealcam envelope (wrong magic bytes)")]
    NotAnEnvelope,
    /// A format version this build does not know.
    #[error("envelope format version {0} is not supported; upgrade sealcam")]
    UnsupportedVersion(u8),
    /// Shorter than the header says: cut off in transfer.
    #[error("envelope is truncated: it is shorter than its header says; fetch it again")]
    Truncated,
    /// Longer than the header says.
    #[error("envelope has trailing bytes after its end; fetch it again")]
    TrailingBytes,
    /// A field is out of range.
    #[error("malformed envelope: {0}")]
    Malformed(&'static str),
}

/// Why [`super::seal`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The image still carries metadata: sanitize it first.
    #[error("the image has not been sanitized ({0}); strip it first (sealcam does this for you in `seal`)")]
    NotSanitized(#[source] ImageVerifyError),
    /// No recipients, too many, or the same one twice.
    #[error("recipients: {0}")]
    Recipients(&'static str),
    /// Record or image too large for the format.
    #[error("the image and record are too large to seal ({0} bytes)")]
    TooLarge(u64),
    /// A recipient public key was rejected by HPKE.
    #[error("a recipient key is invalid; check the recipient string")]
    BadRecipient,
    /// The signing key does not match the certificate's device key.
    #[error("the signing key does not belong to the device certificate")]
    SignerMismatch,
    /// Internal encryption failure (should not happen).
    #[error("encryption failed")]
    Encrypt,
}

/// Why [`super::open`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Structurally invalid (see [`FormatError`]).
    #[error(transparent)]
    Format(#[from] FormatError),
    /// No stanza names this identity's key.
    #[error("this envelope is not addressed to this key")]
    NotARecipient,
    /// Any cryptographic check failed: wrong key, tampered header, bad
    /// tag, reordered or truncated chunks.
    #[error(
        "the envelope could not be decrypted: it was altered, damaged or not sealed for this key"
    )]
    Decrypt,
    /// The sender's signature does not verify.
    #[error("the sender's signature is invalid: the envelope was altered or not made by the device it names")]
    BadSignature,
    /// Decrypted, but the inner record block is invalid.
    #[error("the envelope decrypted but its clinical record is invalid: {0}")]
    Record(String),
}

/// Why [`super::verify`] rejected an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Structurally invalid.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The envelope carries no device signature.
    #[error(
        "the envelope is unsigned; the store accepts only envelopes signed by an enrolled device"
    )]
    Unsigned,
    /// The device certificate does not verify against the organisation key.
    #[error("device certificate rejected: {0}")]
    Certificate(#[source] CertificateError),
    /// The device signature does not verify.
    #[error("the device signature is invalid: the envelope was altered")]
    BadSignature,
    /// Created in the future beyond the allowed clock skew.
    #[error("the envelope claims a creation time in the future; check the device clock")]
    FromTheFuture,
    /// The device certificate was valid at the envelope's creation time
    /// (which the signer chose) but is not at the verifier's time: it has
    /// expired since, or the creation time was set back into its validity.
    #[error("device certificate rejected at the time of receipt: {0}")]
    CertificateAtReceipt(#[source] CertificateError),
}
