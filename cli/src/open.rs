//! `sealcam open IN -i KEYFILE -o IMAGE [--record-out FILE.json] [--org ORGPUB]`.
//!
//! `envelope::open_owned` authenticates everything (header MAC, sender signature,
//! every payload chunk) before it returns; only then is anything written.

use crate::io;
use crate::keyfile;
use crate::passphrase::PassphraseArgs;
use anyhow::{Context, Result};
use sealcam_core::envelope::{self, CertificateStatus, Sender};
use sealcam_core::keys::{OrgPublicKey, RecipientIdentity};
use std::path::{Path, PathBuf};

/// Largest envelope read: the largest image plus room for the record,
/// recipients and certificate.
pub const MAX_ENVELOPE_BYTES: usize = sealcam_core::sanitize::DEFAULT_MAX_INPUT_BYTES + (1 << 20);

#[derive(clap::Args)]
pub struct OpenArgs {
    /// The envelope, or `-` for stdin.
    input: PathBuf,
    /// Your recipient identity file (`sealcam keygen`).
    #[arg(short, long, value_name = "KEYFILE")]
    identity: PathBuf,
    /// Where to write the image (mode 0600, atomically), or `-` for stdout.
    #[arg(short, long, value_name = "IMAGE")]
    output: PathBuf,
    /// Also write the clinical record, as indented JSON (mode 0600). It is
    /// patient data in plaintext: write it only where it may be kept.
    #[arg(long, value_name = "FILE.json")]
    record_out: Option<PathBuf>,
    /// The organisation's public key (`sealcamorg1…`, or a file holding it):
    /// check the sender's device certificate against it. A certificate it
    /// rejects, or an unsigned envelope, makes `open` fail unless
    /// --allow-unverified.
    #[arg(long, value_name = "ORGPUB")]
    org: Option<String>,
    /// With --org: write the image even if the sender's certificate is
    /// rejected or the envelope is unsigned.
    #[arg(long, requires = "org")]
    allow_unverified: bool,
    /// Refuse envelopes larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = MAX_ENVELOPE_BYTES)]
    max_size: usize,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

pub fn run(args: OpenArgs) -> Result<()> {
    if args.record_out.as_deref() == Some(Path::new("-")) && args.output == Path::new("-") {
        anyhow::bail!("the image and the record cannot both go to standard output; give --record-out a file name");
    }
    let org: Option<OrgPublicKey> = args
        .org
        .as_deref()
        .map(|o| keyfile::parse_public(o, "organisation public key (--org)"))
        .transpose()?;
    let envelope = io::read_input(&args.input, args.max_size)?;
    let identity: RecipientIdentity =
        keyfile::load_secret(&args.identity, &args.passphrase, "identity")?;
    // Decrypted inside the envelope's buffer: one buffer of the image's size.
    let opened = envelope::open_owned(envelope, &identity, org.as_ref())
        .with_context(|| format!("cannot open {}", args.input.display()))?;
    opened.record.image().verify(&opened.image).context(
        "the image does not match its record: do not file it; ask the sender to send it again",
    )?;

    let (line, rejected) = describe(&opened.sender);
    // With --org the user asked for the sender to be checked: an unsigned
    // envelope cannot be, so it is refused like a rejected certificate.
    let refused = rejected || (org.is_some() && matches!(opened.sender, Sender::Unsigned));
    if refused && !args.allow_unverified {
        anyhow::bail!(
            "{line}; the image was not written. The sender cannot be trusted: ask the sender's \
             administrator, or give --allow-unverified to write it anyway"
        );
    }
    eprintln!("envelope {}: {line}", opened.id);
    io::write_output(&args.output, &opened.image)?;
    if let Some(path) = &args.record_out {
        let mut json = zeroize::Zeroizing::new(
            serde_json::to_string_pretty(&opened.record).context("cannot format the record")?,
        );
        json.push('\n');
        io::write_output(path, json.as_bytes())?;
    }
    Ok(())
}

/// The sender line, and whether the sender was checked and rejected.
fn describe(sender: &Sender) -> (String, bool) {
    match sender {
        Sender::Unsigned => (
            "UNSIGNED: the sender is not authenticated".to_string(),
            false,
        ),
        Sender::Device {
            certificate,
            status,
        } => {
            let c = certificate.clinician();
            let who = format!(
                "signed by {} ({} {}), device {}",
                c.name,
                c.registration_body,
                c.registration_number,
                certificate.device_key().id()
            );
            match status {
                CertificateStatus::Verified => (format!("{who}: certificate verified"), false),
                CertificateStatus::NotChecked => (
                    format!("{who}: certificate not checked (give --org)"),
                    false,
                ),
                CertificateStatus::Rejected(e) => {
                    (format!("{who}: certificate NOT VERIFIED: {e}"), true)
                }
            }
        }
    }
}
