//! sealcam-core: the Rust core shared by the CLI, the store, the phone bridges
//! and the web page.
//!
//! Today it holds [`sanitize`], the lossless, fail-closed metadata stripper
//! that every image passes through before it is sealed. See ARCHITECTURE.md
//! for the map of the workspace.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod sanitize;
