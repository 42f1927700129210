//! [`BridgeError`]: a fixed [`ErrorCode`] and a message that carries no
//! patient data, key, token or image byte.

use std::fmt::Display;

use sealcam_core::ErrorCode;

/// Why a bridge call failed: the code the user interface acts on, and a
/// message for logs and support (English, value-free: it names fields and
/// rules, never what was typed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BridgeError {
    /// The fixed code (docs/BRIDGE.md).
    pub code: ErrorCode,
    /// What went wrong and what to do.
    pub message: String,
}

/// The message of [`BridgeError::panicked`].
const PANIC_MESSAGE: &str =
    "internal error: sealcam stopped unexpectedly; nothing was kept; please report this as a bug";

impl BridgeError {
    /// An error with this code and message. The message must not carry
    /// patient data, keys, tokens or image bytes.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        BridgeError {
            code,
            message: message.into(),
        }
    }

    /// What the bridge crates (android/jni, ios/ffi, web) return when they
    /// catch a panic: [`ErrorCode::Internal`] with a fixed message (the
    /// panic's own message is not passed on: it could quote a value).
    pub fn panicked() -> Self {
        BridgeError::new(ErrorCode::Internal, PANIC_MESSAGE)
    }

    /// The code's number.
    pub fn code_number(&self) -> u32 {
        self.code.as_u32()
    }

    /// The error as JSON: `{"code": 41, "name": "nhs_number_invalid",
    /// "message": "…"}` (docs/BRIDGE.md, "Errors").
    pub fn to_json(&self) -> String {
        crate::json::to_string(&crate::json::ErrorJson {
            code: self.code.as_u32(),
            name: self.code.name().to_owned(),
            message: self.message.clone(),
        })
        .unwrap_or_else(|_| {
            String::from(r#"{"code":3,"name":"internal","message":"internal error"}"#)
        })
    }

    /// An argument that is not usable.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        BridgeError::new(ErrorCode::InvalidArgument, message)
    }

    /// A JSON argument that is not of the documented shape. serde's own
    /// message is not used: it can quote the input.
    pub(crate) fn json(what: &str, e: &serde_json::Error) -> Self {
        BridgeError::new(
            ErrorCode::InvalidJson,
            format!(
                "{what} is not valid JSON of the documented shape (line {}, column {}); docs/BRIDGE.md gives it",
                e.line(),
                e.column()
            ),
        )
    }

    /// A core error: its code and its own message, which the core keeps
    /// value-free.
    pub(crate) fn core<E>(e: &E) -> Self
    where
        E: Display,
        for<'a> ErrorCode: From<&'a E>,
    {
        BridgeError::new(ErrorCode::from(e), e.to_string())
    }
}

impl From<sealcam_core::sanitize::SanitizeError> for BridgeError {
    fn from(e: sealcam_core::sanitize::SanitizeError) -> Self {
        BridgeError::core(&e)
    }
}

impl From<sealcam_core::record::RecordError> for BridgeError {
    fn from(e: sealcam_core::record::RecordError) -> Self {
        BridgeError::core(&e)
    }
}

impl From<sealcam_core::envelope::SealError> for BridgeError {
    fn from(e: sealcam_core::envelope::SealError) -> Self {
        BridgeError::core(&e)
    }
}

impl From<sealcam_core::envelope::FormatError> for BridgeError {
    fn from(e: sealcam_core::envelope::FormatError) -> Self {
        BridgeError::core(&e)
    }
}

impl From<sealcam_core::capture::CaptureError> for BridgeError {
    fn from(e: sealcam_core::capture::CaptureError) -> Self {
        BridgeError::core(&e)
    }
}

#[cfg(feature = "agent")]
impl From<sealcam_relay::RelayError> for BridgeError {
    fn from(e: sealcam_relay::RelayError) -> Self {
        BridgeError::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form() {
        let e = BridgeError::new(ErrorCode::NotEnrolled, "enrol first");
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).expect("JSON");
        assert_eq!(
            v,
            serde_json::json!({"code": 12, "name": "not_enrolled", "message": "enrol first"})
        );
        assert_eq!(e.code_number(), 12);
        assert_eq!(e.to_string(), "enrol first");
        assert_eq!(BridgeError::panicked().code, ErrorCode::Internal);
    }

    #[test]
    fn serde_messages_are_not_passed_on() {
        let e = serde_json::from_str::<Vec<u32>>(r#"["Alex Secret"]"#).expect_err("not numbers");
        let b = BridgeError::json("the recipients", &e);
        assert_eq!(b.code, ErrorCode::InvalidJson);
        assert!(!b.message.contains("Secret"), "{}", b.message);
    }
}
