//! sealcam-store: the clinical store. It holds sealed envelopes
//! (ciphertext only), enrols devices, registers staff, serves the
//! organisation-signed recipient directory, issues patient links, and keeps
//! a hash-chained audit log. See docs/API.md and ARCHITECTURE.md.
//!
//! | module | does |
//! |---|---|
//! | [`server`] | start-up, banner, serving, graceful shutdown |
//! | [`accept`] | accept loop; per connection: TLS handshake timeout, hyper (header timeout, HTTP/2 keep-alive), idle close, drain |
//! | [`config`] | defaults, TOML file |
//! | [`tls`] | generated or operator certificate, SPKI pin, rustls (ring) |
//! | [`routes`] | one module per resource |
//! | [`auth`] | signed requests and link tokens as extractors |
//! | [`upload`] | stream to disk while checking the envelope, durable commit, receipt |
//! | [`staging`] | bounded upload buffers; direct-I/O staging files |
//! | [`catalog`] | the catalog trait and its SQLite implementation |
//! | [`blobs`] | the blob-store trait and its filesystem implementation |
//! | [`audit`] | hash chain: encoding, verification |
//! | [`retention`] | background deletion of filed or old ciphertext |
//! | [`rate_limit`], [`metrics`] | token buckets; Prometheus text |
//! | [`conn_limit`] | connection admission: per-address share, bounded slots and wait, longest-idle connection closed for a newcomer |
//! | [`h2_frames`] | closes HTTP/2 connections that send PING/SETTINGS frames beyond a rate |
//! | [`pace`] | minimum rate for request bodies |
//! | [`auth_audit`] | failed authentications audited within bounds (aggregated, capped) |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accept;
pub mod audit;
pub mod auth;
pub mod auth_audit;
pub mod blobs;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod conn_limit;
pub mod data_dir;
pub mod error;
pub mod h2_frames;
pub mod ids;
pub mod metrics;
pub mod offline;
pub mod pace;
pub mod rate_limit;
pub mod retention;
pub mod routes;
pub mod server;
pub mod staging;
pub mod state;
pub mod tls;
pub mod upload;
