//! sealcam-platform: the few things that touch the operating system,
//! written once and shared by the relay agent, the CLI and the store, so
//! that `sealcam-core` stays pure (no file system, no clock, no network).
//!
//! - [`fsio`]: durable, atomic file writes (temp file created private,
//!   fsync, rename, fsync the directory) and crash-debris clean-up;
//! - [`clock`]: the wall clock, read here and passed into the core;
//! - [`tls_pin`]: the store's TLS pin, computed by the store and checked by
//!   its clients with the same code.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod fsio;
pub mod tls_pin;

pub use tls_pin::TlsPin;
