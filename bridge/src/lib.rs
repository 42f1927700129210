//! sealcam-bridge: the one surface the front ends call, defined once in
//! Rust and exported three ways: JNI (`android/jni`), a C ABI (`ios/ffi`)
//! and WebAssembly (`web/`). The reference is docs/BRIDGE.md.
//!
//! What crosses it is bytes (`Vec<u8>`, `&[u8]`) and strings (JSON, or
//! plain text such as a path or an NHS number), plus one opaque handle,
//! `Agent`. No generics, lifetimes or callbacks: events are polled
//! (`Agent::next_event`). Every failure is a [`BridgeError`]: a fixed
//! [`ErrorCode`] and a message that never carries patient data, keys,
//! tokens or image bytes.
//!
//! - Pure functions (no clock, no files, no network; the time is a
//!   parameter): [`version`], [`validate_nhs_number`], [`check_draft`],
//!   [`sanitize`], [`seal_to_recipients`], [`seal_to_directory`],
//!   [`seal_for_link`],
//!   [`verify_directory`], [`inspect`]. With `default-features = false`
//!   this is all there is, and the crate builds for
//!   `wasm32-unknown-unknown` (the patient page).
//! - `Agent` (feature `agent`, on by default): the capture device over
//!   `sealcam_relay::Relay`.
//!
//! Calls block; run them off the UI thread. Panics are caught by each
//! bridge crate at its entry points (`std::panic::catch_unwind`, returning
//! [`BridgeError::panicked`]), not here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "agent")]
mod agent;
mod error;
mod image;
pub mod json;
mod record;
mod seal;

#[cfg(feature = "agent")]
pub use agent::Agent;
pub use error::BridgeError;
pub use image::{sanitize, SanitizeResult};
pub use record::{check_draft, validate_nhs_number};
pub use seal::{
    inspect, seal_for_link, seal_to_directory, seal_to_recipients, verify_directory,
    DirectoryEntryJson, DirectoryJson, SealResult,
};
pub use sealcam_core::ErrorCode;

/// This library's version (`0.1.0`): for an app's "about" screen and bug
/// reports.
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
