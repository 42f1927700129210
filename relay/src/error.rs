//! Relay errors, each with a fixed code for the phone bridges
//! ([`sealcam_core::ErrorCode`]).

use sealcam_core::ErrorCode;

/// What went wrong in the relay agent. Messages say what is wrong and what
/// to do; they never contain image bytes, record contents, keys, tokens or
/// enrolment codes.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The enrolment payload could not be read.
    #[error("{0}")]
    BadPayload(&'static str),
    /// The store URL is not `https://host[:port]`.
    #[error("the store URL must be https://host[:port], with no path, query or credentials")]
    BadStoreUrl,
    /// A request path that would not reach the store exactly as signed.
    #[error("internal error: a request path is not canonical")]
    BadRequestPath,
    /// The device home already holds an enrolment.
    #[error("this device is already enrolled (its home directory holds device.json); use a new home directory to enrol again")]
    AlreadyEnrolled,
    /// The device home holds no enrolment.
    #[error(
        "this device is not enrolled: enrol it first with the payload from your administrator"
    )]
    NotEnrolled,
    /// The device home's files are damaged or from another version.
    #[error("the device's {0} is damaged; enrol again in a new home directory")]
    DamagedHome(&'static str),
    /// The device is enrolled but the administrator has not approved it yet
    /// (no certificate; after a restart, also a device revoked earlier,
    /// until [`crate::Relay::refresh`] says so again).
    #[error("this device is not approved yet (or was revoked): ask your administrator to approve device {0}")]
    NotApproved(String),
    /// The store says the administrator revoked this device.
    #[error("this device was revoked by your administrator: it cannot send photos; ask your administrator (device {0})")]
    Revoked(String),
    /// The device certificate has expired.
    #[error("this device's certificate has expired: ask your administrator to approve it again (sealcam admin devices approve), then refresh")]
    CertificateExpired,
    /// The device certificate is not valid yet: usually a device clock
    /// that is behind.
    #[error("this device's certificate is not valid yet: check the device's clock and time zone")]
    CertificateNotYetValid,
    /// No valid recipient directory is held.
    #[error("no valid recipient directory: the store has none published, or it is expired; ask your administrator to publish one")]
    NoDirectory,
    /// The store's directory or the device certificate does not verify
    /// against the pinned organisation key.
    #[error("the store served a {0} that is not signed by your organisation's key; refusing to use it (keep the previous one)")]
    Untrusted(&'static str),
    /// The organisation key the store offers is not the one in the payload.
    #[error("the store's organisation key is not the one in the enrolment payload; check you scanned the right code")]
    OrgMismatch,
    /// The store refused the enrolment code.
    #[error("the store refused the enrolment code: it is wrong, already used or expired; ask for a new one")]
    CodeRefused,
    /// The store could not be reached, or the connection failed (TLS pin
    /// mismatch included); the envelope stays in the outbox.
    #[error("could not reach the store: {0}")]
    Network(String),
    /// The store answered with an error.
    #[error("the store refused the request ({status}): {message}")]
    Store {
        /// HTTP status.
        status: u16,
        /// The store's message.
        message: String,
    },
    /// The store's receipt did not verify or did not match the envelope.
    #[error("the store's receipt did not verify; the envelope stays in the outbox")]
    BadReceipt,
    /// The image could not be sanitized (see the sanitizer's message).
    #[error("the image could not be made safe to send: {0}")]
    Sanitize(#[from] sealcam_core::sanitize::SanitizeError),
    /// The clinical record is not valid.
    #[error("the clinical record is not valid: {0}")]
    Record(#[from] sealcam_core::record::RecordError),
    /// Sealing failed.
    #[error("sealing failed: {0}")]
    Seal(#[from] sealcam_core::envelope::SealError),
    /// Reading or writing the device's files failed.
    #[error("could not {what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// A check that cannot fail failed (a bug in sealcam).
    #[error("internal error: {0}; please report this as a bug")]
    Internal(&'static str),
    /// The store's answer is larger than the caller accepts.
    #[error("the store's answer is larger than {limit} bytes; refused (is this the right store?)")]
    AnswerTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

impl From<sealcam_core::capture::CaptureError> for RelayError {
    fn from(e: sealcam_core::capture::CaptureError) -> Self {
        use sealcam_core::capture::CaptureError;
        match e {
            CaptureError::Sanitize(e) => RelayError::Sanitize(e),
            CaptureError::Record(e) => RelayError::Record(e),
            CaptureError::Seal(e) => RelayError::Seal(e),
            CaptureError::BadTime => RelayError::CertificateNotYetValid,
        }
    }
}

impl RelayError {
    /// The fixed code the bridges pass on (docs/BRIDGE.md).
    pub fn code(&self) -> ErrorCode {
        match self {
            RelayError::BadPayload(_) => ErrorCode::BadEnrolmentPayload,
            RelayError::BadStoreUrl => ErrorCode::BadStoreUrl,
            RelayError::BadRequestPath | RelayError::Internal(_) => ErrorCode::Internal,
            RelayError::AlreadyEnrolled => ErrorCode::AlreadyEnrolled,
            RelayError::NotEnrolled => ErrorCode::NotEnrolled,
            RelayError::DamagedHome(_) => ErrorCode::DamagedHome,
            RelayError::NotApproved(_) => ErrorCode::NotApproved,
            RelayError::Revoked(_) => ErrorCode::Revoked,
            RelayError::NoDirectory => ErrorCode::NoDirectory,
            RelayError::CertificateExpired => ErrorCode::CertificateExpired,
            RelayError::CertificateNotYetValid => ErrorCode::CertificateNotYetValid,
            RelayError::Untrusted(_) => ErrorCode::Untrusted,
            RelayError::OrgMismatch => ErrorCode::OrgMismatch,
            RelayError::CodeRefused => ErrorCode::CodeRefused,
            RelayError::Network(_) => ErrorCode::Network,
            RelayError::Store { .. } | RelayError::AnswerTooLarge { .. } => ErrorCode::StoreRefused,
            RelayError::BadReceipt => ErrorCode::BadReceipt,
            RelayError::Sanitize(e) => e.into(),
            RelayError::Record(e) => e.into(),
            RelayError::Seal(e) => e.into(),
            RelayError::Io { .. } => ErrorCode::Io,
        }
    }

    /// Whether retrying later may succeed: network trouble, a store or
    /// proxy that is busy, failing or answering oddly, a signature the
    /// store saw as stale (clock drift; retried with a fresh one).
    pub fn is_transient(&self) -> bool {
        match self {
            RelayError::Network(_) | RelayError::BadReceipt => true,
            RelayError::Store { status, .. } => {
                matches!(status, 401 | 408 | 425 | 429) || *status >= 500
            }
            _ => false,
        }
    }

    pub(crate) fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> RelayError {
        move |source| RelayError::Io { what, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keep_their_numbers() {
        // The relay's codes before `sealcam_core::ErrorCode` existed keep
        // their numbers (23, "request path", is now `internal`).
        let cases = [
            (RelayError::BadPayload("x"), 10),
            (RelayError::AlreadyEnrolled, 11),
            (RelayError::NotEnrolled, 12),
            (RelayError::DamagedHome("x"), 13),
            (RelayError::NotApproved("d".into()), 14),
            (RelayError::NoDirectory, 15),
            (RelayError::Untrusted("x"), 16),
            (RelayError::OrgMismatch, 17),
            (RelayError::CodeRefused, 18),
            (RelayError::BadStoreUrl, 19),
            (RelayError::Network("x".into()), 20),
            (
                RelayError::Store {
                    status: 500,
                    message: "x".into(),
                },
                21,
            ),
            (RelayError::BadReceipt, 22),
            (RelayError::CertificateExpired, 24),
            (RelayError::CertificateNotYetValid, 25),
            (RelayError::Revoked("d".into()), 26),
            (
                RelayError::Sanitize(sealcam_core::sanitize::SanitizeError::Empty),
                33,
            ),
            (
                RelayError::Record(sealcam_core::record::RecordError::NhsNumberFormat),
                41,
            ),
            (
                RelayError::Seal(sealcam_core::envelope::SealError::Recipients("none")),
                50,
            ),
            (
                RelayError::Io {
                    what: "x",
                    source: std::io::Error::other("x"),
                },
                40,
            ),
            (RelayError::BadRequestPath, 3),
            (RelayError::Internal("x"), 3),
        ];
        for (e, n) in cases {
            assert_eq!(e.code().as_u32(), n, "{e:?}");
        }
    }
}
