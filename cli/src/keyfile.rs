//! Reading key files, certificates and public key strings given on the
//! command line.

use crate::io;
use crate::passphrase::PassphraseArgs;
use anyhow::{Context, Result};
use sealcam_core::keys::{self, DeviceCertificate, KeyError, SecretKey};
use std::path::Path;
use std::str::FromStr;
use zeroize::Zeroizing;

/// Key files are at most this long (docs/FORMAT.md §8.7.1).
const MAX_KEY_FILE: usize = 16 * 1024;
/// A device certificate is at most this long (docs/FORMAT.md §8.5).
const MAX_CERTIFICATE: usize = 1094;

/// Reads a secret key of kind `K` from the key file at `path`, asking for
/// its passphrase (see [`PassphraseArgs`]) only if it is protected.
pub fn load_secret<K: SecretKey>(
    path: &Path,
    passphrase: &PassphraseArgs,
    what: &str,
) -> Result<K> {
    let text = Zeroizing::new(io::read_text(path, MAX_KEY_FILE, what)?);
    let describe = format!("{what} {}", path.display());
    keys::decode_key_file::<K>(&text, || {
        passphrase
            .existing(&describe)
            .map_err(|e| KeyError::PassphraseUnavailable(format!("{e:#}")))
    })
    .with_context(|| format!("cannot use {describe}"))
}

/// Reads a device certificate file (binary, as `sealcam certify` writes it).
pub fn load_certificate(path: &Path) -> Result<DeviceCertificate> {
    let bytes = io::read_small(path, MAX_CERTIFICATE, "device certificate")?;
    DeviceCertificate::from_bytes(&bytes).with_context(|| {
        format!(
            "{} is not a sealcam device certificate; make one with `sealcam certify`",
            path.display()
        )
    })
}

/// Parses a public key given either as its string (`sealcamorg1…`,
/// `sealcamdev1…`) or as the name of a file holding it: the first line
/// that is neither empty nor a `#` comment. A secret key file is refused
/// (its key line is a secret key, not the public key asked for).
pub fn parse_public<T>(arg: &str, what: &str) -> Result<T>
where
    T: FromStr<Err = KeyError>,
{
    let direct = T::from_str(arg.trim());
    if let Ok(k) = direct {
        return Ok(k);
    }
    let path = Path::new(arg);
    if path.is_file() {
        let text = io::read_text(path, MAX_KEY_FILE, what)?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| anyhow::anyhow!("{} holds no {what}", path.display()))?;
        return T::from_str(line).with_context(|| format!("{what} in {}", path.display()));
    }
    direct.with_context(|| format!("{what} (give the key string or a file holding it)"))
}
