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
//! - [`protocol`]: signed requests and upload receipts, the store's wire
//!   protocol beyond the envelope (docs/API.md);
//! - `relay` (feature `relay`): the device's upload agent with its
//!   crash-proof outbox.
//!
//! See ARCHITECTURE.md for the map of the workspace.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod envelope;
pub mod keys;
pub mod protocol;
pub mod record;
#[cfg(feature = "relay")]
pub mod relay;
pub mod sanitize;
