//! The device's home directory (app-private, mode 0700):
//!
//! | file | what |
//! |---|---|
//! | `device.json` | the enrolment: store URL, TLS pin, organisation and store keys, device id |
//! | `device.key` | the device's Ed25519 secret key (key file, mode 0600) |
//! | `certificate.bin` | the organisation-signed device certificate, once approved |
//! | `directory.bin` | the last verified signed recipient directory |
//! | `directory.floor` | the highest directory version ever accepted (no rollback, even after expiry) |
//! | `outbox/` | sealed envelopes waiting for the store ([`super::Outbox`]) |
//!
//! Every file is written atomically (temp file, fsync, rename, fsync dir).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RelayError;
use sealcam_core::keys::{DeviceId, OrgPublicKey, StorePublicKey};
use sealcam_platform::fsio;

/// The enrolment, as kept in `device.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Format version of this file.
    pub version: u32,
    /// The store's base URL.
    pub store_url: String,
    /// The store's TLS pin, `sha256/<base64>`.
    pub tls_pin: String,
    /// The pinned organisation key.
    pub org_key: OrgPublicKey,
    /// The store's receipt key.
    pub store_key: StorePublicKey,
    /// This device's id.
    pub device_id: DeviceId,
    /// When it enrolled (Unix seconds).
    pub enrolled_at: u64,
}

/// Paths inside a device home.
#[derive(Debug, Clone)]
pub(crate) struct Home {
    root: PathBuf,
}

impl Home {
    pub(crate) fn new(root: &Path) -> Self {
        Home {
            root: root.to_owned(),
        }
    }
    pub(crate) fn config(&self) -> PathBuf {
        self.root.join("device.json")
    }
    pub(crate) fn key(&self) -> PathBuf {
        self.root.join("device.key")
    }
    pub(crate) fn certificate(&self) -> PathBuf {
        self.root.join("certificate.bin")
    }
    pub(crate) fn directory(&self) -> PathBuf {
        self.root.join("directory.bin")
    }
    /// The highest directory version ever accepted (a rollback floor that
    /// outlives the directory's expiry).
    pub(crate) fn directory_floor_file(&self) -> PathBuf {
        self.root.join("directory.floor")
    }
    pub(crate) fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }

    pub(crate) fn create(&self) -> Result<(), RelayError> {
        fsio::ensure_private_dir(&self.root).map_err(RelayError::io("create the device home"))
    }

    pub(crate) fn is_enrolled(&self) -> bool {
        self.config().exists()
    }

    pub(crate) fn write(
        &self,
        path: &Path,
        bytes: &[u8],
        what: &'static str,
    ) -> Result<(), RelayError> {
        fsio::write_atomic(path, bytes).map_err(RelayError::io(what))
    }

    /// Reads an optional file: `Ok(None)` when it does not exist.
    pub(crate) fn read_optional(
        &self,
        path: &Path,
        what: &'static str,
    ) -> Result<Option<Vec<u8>>, RelayError> {
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RelayError::Io { what, source: e }),
        }
    }

    pub(crate) fn remove(&self, path: &Path, what: &'static str) -> Result<(), RelayError> {
        fsio::remove_durably(path).map_err(RelayError::io(what))
    }

    pub(crate) fn directory_floor(&self) -> Result<u64, RelayError> {
        match self.read_optional(&self.directory_floor_file(), "read directory.floor")? {
            None => Ok(0),
            Some(b) => std::str::from_utf8(&b)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or(RelayError::DamagedHome("directory.floor")),
        }
    }

    pub(crate) fn set_directory_floor(&self, version: u64) -> Result<(), RelayError> {
        if version > self.directory_floor()? {
            self.write(
                &self.directory_floor_file(),
                version.to_string().as_bytes(),
                "write directory.floor",
            )?;
        }
        Ok(())
    }

    pub(crate) fn load_config(&self) -> Result<DeviceConfig, RelayError> {
        let bytes = self
            .read_optional(&self.config(), "read device.json")?
            .ok_or(RelayError::NotEnrolled)?;
        let config: DeviceConfig =
            serde_json::from_slice(&bytes).map_err(|_| RelayError::DamagedHome("device.json"))?;
        if config.version != 1 {
            return Err(RelayError::DamagedHome("device.json (unknown version)"));
        }
        Ok(config)
    }

    pub(crate) fn save_config(&self, config: &DeviceConfig) -> Result<(), RelayError> {
        let json = serde_json::to_vec_pretty(config)
            .map_err(|_| RelayError::DamagedHome("device.json"))?;
        self.write(&self.config(), &json, "write device.json")
    }
}
