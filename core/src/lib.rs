//! sealcam-core: the Rust core shared by the CLI, the store, the phone bridges
//! and the web page.
//!
//! - [`sanitize`]: the lossless, fail-closed metadata stripper every image
//!   passes through before it is sealed;
//! - [`keys`]: recipient identities, signing keys, device certificates and
//!   the signed recipient directory;
//! - [`record`]: the clinical record (patient, body site, consent) sealed
//!   with the image;
//! - [`envelope`]: seal, open and verify (normative spec: docs/FORMAT.md);
//! - [`capture`]: the one pipeline from camera bytes and a record draft
//!   to a sealed envelope (sanitize once, complete the record, seal);
//! - [`protocol`]: signed requests and upload receipts, the store's wire
//!   protocol beyond the envelope (docs/API.md);
//! - [`ErrorCode`]: the fixed numbers every failure has across the phone
//!   and web bridges (docs/BRIDGE.md).
//!
//! See ARCHITECTURE.md for the map of the workspace.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capture;
pub mod display_text;
pub mod envelope;
mod error_code;
pub mod hex;
pub mod keys;
pub mod protocol;
pub mod record;
pub mod sanitize;

pub use error_code::ErrorCode;
