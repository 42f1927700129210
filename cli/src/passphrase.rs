//! Passphrases for key files: from `--passphrase-file`, the
//! `SEALCAM_PASSPHRASE` environment variable, or a prompt on the terminal,
//! in that order. Passphrases are held in `Zeroizing` and never printed.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable a passphrase may come from.
pub const ENV: &str = "SEALCAM_PASSPHRASE";

/// `--passphrase-file`, shared by every subcommand that reads or writes a
/// passphrase-protected key file.
#[derive(clap::Args, Clone, Default)]
pub struct PassphraseArgs {
    /// Read the key file passphrase from the first line of this file
    /// (instead of SEALCAM_PASSPHRASE or a terminal prompt).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    /// A passphrase from the file or the environment, if either is set.
    fn non_interactive(&self) -> Result<Option<Zeroizing<String>>> {
        if let Some(path) = &self.passphrase_file {
            return read_file(path).map(Some);
        }
        match std::env::var(ENV) {
            Ok(p) => Ok(Some(Zeroizing::new(p))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                anyhow::bail!("{ENV} is not valid UTF-8; set it to the passphrase as text")
            }
        }
    }

    /// The passphrase of an existing key file `what`.
    pub fn existing(&self, what: &str) -> Result<Zeroizing<String>> {
        if let Some(p) = self.non_interactive()? {
            return Ok(p);
        }
        let p = prompt(&format!("Passphrase for {what}: "))?;
        Ok(p)
    }

    /// A new passphrase for a key file: from the file or environment, or
    /// typed twice at the terminal. Empty passphrases are refused.
    pub fn new_passphrase(&self) -> Result<Zeroizing<String>> {
        let p = match self.non_interactive()? {
            Some(p) => p,
            None => {
                let first = prompt("New passphrase: ")?;
                let second = prompt("Repeat the passphrase: ")?;
                if first != second {
                    anyhow::bail!("the two passphrases differ; run the command again");
                }
                first
            }
        };
        if p.is_empty() {
            anyhow::bail!(
                "the passphrase is empty; choose a passphrase, or leave out --passphrase"
            );
        }
        if !p.is_ascii() {
            eprintln!(
                "sealcam: warning: the passphrase has non-ASCII characters, which may be typed \
                 differently on another computer or keyboard"
            );
        }
        Ok(p)
    }
}

fn read_file(path: &Path) -> Result<Zeroizing<String>> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("cannot read the passphrase file {}", path.display()))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("the passphrase file {} is not UTF-8 text", path.display()))?;
    let line = text.split('\n').next().unwrap_or_default();
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(Zeroizing::new(line.to_string()))
}

fn prompt(text: &str) -> Result<Zeroizing<String>> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|_| {
            anyhow::anyhow!(
                "cannot ask for the passphrase: no terminal; set {ENV} or give --passphrase-file"
            )
        })
}
