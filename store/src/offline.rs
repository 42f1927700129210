//! Offline commands on a data directory: `audit verify`, `audit export`.

use std::io::Write;
use std::path::Path;

use crate::audit::{ChainBreak, ChainVerifier};
use crate::catalog::SqliteCatalog;
use crate::error::StoreError;

/// Why an offline command failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The catalog could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The chain is broken.
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    /// No catalog in the data directory.
    #[error("no catalog at {0}")]
    NoCatalog(String),
}

fn open(data: &Path) -> Result<SqliteCatalog, OfflineError> {
    let path = data.join(crate::server::CATALOG_FILE);
    if !path.exists() {
        return Err(OfflineError::NoCatalog(path.display().to_string()));
    }
    Ok(SqliteCatalog::open_read_only(&path)?)
}

/// Verifies the whole audit chain; returns the number of entries.
pub fn verify_audit(data: &Path) -> Result<u64, OfflineError> {
    let catalog = open(data)?;
    let mut v = ChainVerifier::new();
    let mut broken = None;
    catalog.for_each_audit(|e| {
        if broken.is_none() {
            if let Err(b) = v.push(&e) {
                broken = Some(b);
            }
        }
        Ok(())
    })?;
    match broken {
        Some(b) => Err(b.into()),
        None => Ok(v.head().0),
    }
}

/// Writes every audit entry as a JSON line.
pub fn export_audit(data: &Path, out: &mut dyn Write) -> Result<u64, OfflineError> {
    let catalog = open(data)?;
    let mut n = 0;
    catalog.for_each_audit(|e| {
        let line = serde_json::to_string(&e).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        writeln!(out, "{line}").map_err(|e| StoreError::io("writing the export", e))?;
        n += 1;
        Ok(())
    })?;
    Ok(n)
}
