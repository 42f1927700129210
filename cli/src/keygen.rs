//! `sealcam keygen -o KEYFILE [--passphrase] [--kind recipient|org|device|staff]`.

use crate::io;
use crate::passphrase::PassphraseArgs;
use anyhow::Result;
use sealcam_core::keys::{
    encode_identity_file, encode_key_file, DeviceSigningKey, KeyError, OrgSigningKey,
    RecipientIdentity, SecretKey, StaffSigningKey,
};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Which kind of key to make.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// A recipient identity (X25519): decrypts envelopes sealed to its
    /// recipient string `sealcam1…`.
    #[default]
    Recipient,
    /// The organisation signing key (Ed25519): certifies devices.
    Org,
    /// A device signing key (Ed25519): signs the envelopes it seals.
    Device,
    /// A records staff auth key (Ed25519): signs a staff member's requests
    /// to the store (`sealcamstaff1…`, registered by the administrator).
    Staff,
}

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write the new secret key file (mode 0600), or `-` for stdout.
    #[arg(short, long)]
    output: PathBuf,
    /// Protect the key file with a passphrase (Argon2id + AES-256-GCM),
    /// read from --passphrase-file, SEALCAM_PASSPHRASE or the terminal.
    #[arg(long)]
    passphrase: bool,
    #[command(flatten)]
    passphrase_source: PassphraseArgs,
    /// Replace KEYFILE if it exists (the old key is lost).
    #[arg(long)]
    force: bool,
    /// The kind of key to make.
    #[arg(long, value_enum, default_value_t = Kind::Recipient)]
    kind: Kind,
}

pub fn run(args: KeygenArgs) -> Result<()> {
    if args.passphrase_source.passphrase_file.is_some() && !args.passphrase {
        anyhow::bail!(
            "--passphrase-file is given without --passphrase; add --passphrase to protect the key"
        );
    }
    let passphrase: Option<Zeroizing<String>> = if args.passphrase {
        Some(args.passphrase_source.new_passphrase()?)
    } else {
        None
    };
    let pass = passphrase.as_ref().map(|p| p.as_str());
    let (file, public) = match args.kind {
        Kind::Recipient => {
            let id = RecipientIdentity::generate();
            (
                encode_identity_file(&id, pass, crate::now_unix())?,
                id.public_string(),
            )
        }
        Kind::Org => make::<OrgSigningKey>(OrgSigningKey::generate(), pass)?,
        Kind::Device => make::<DeviceSigningKey>(DeviceSigningKey::generate(), pass)?,
        Kind::Staff => make::<StaffSigningKey>(StaffSigningKey::generate(), pass)?,
    };
    let to_stdout = args.output == Path::new("-");
    if to_stdout {
        eprintln!("sealcam: warning: writing a secret key to standard output; keep it private");
    }
    io::write_new_output(&args.output, file.as_bytes(), args.force)?;
    if to_stdout {
        eprintln!("{public}");
    } else {
        println!("{public}");
    }
    Ok(())
}

fn make<K: SecretKey>(key: K, pass: Option<&str>) -> Result<(Zeroizing<String>, String), KeyError> {
    Ok((
        encode_key_file(&key, pass, crate::now_unix())?,
        key.public_string(),
    ))
}
