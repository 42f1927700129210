//! The wire protocol between devices, staff, patients' browsers and the
//! store, beyond the envelope itself: the HTTP API's bodies and routes
//! ([`api`]), how requests are signed ([`request`]), the store's signed
//! upload receipts ([`receipt`]), and its hash-chained audit log
//! ([`audit`]).
//!
//! Nothing here does I/O; the store, the relay agent, the CLI and the tests
//! all build and check requests and receipts with these functions, so the
//! bytes signed are defined in one place. Reference: `docs/API.md`.

pub mod api;
pub mod audit;
pub mod enrolment;
pub mod receipt;
pub mod request;
pub mod text;

pub use receipt::{Receipt, ReceiptError};
pub use request::{RequestAuth, RequestAuthError, RequestSigner, RequestVerifier, Role};
