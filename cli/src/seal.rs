//! `sealcam seal IN -r RECIPIENT... -o OUT [record flags | --record FILE.json]
//! (--sign-key DEVICEKEY --certificate CERT | --unsigned)`.
//!
//! Reads IN into a buffer with room for the envelope and hands it to the
//! capture pipeline (`sealcam_core::capture`): stripped once in that
//! buffer, the record completed from the stripped image, sealed to the
//! recipients in the same buffer.

use crate::io;
use crate::keyfile;
use crate::passphrase::PassphraseArgs;
use crate::record_args::RecordArgs;
use anyhow::{Context, Result};
use sealcam_core::capture::{self, CaptureError};
use sealcam_core::envelope::{self, Signer};
use sealcam_core::keys::{DeviceSigningKey, Recipient};
use sealcam_core::record::DeviceIdHex;
use sealcam_core::sanitize::{self, Options};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct SealArgs {
    /// Image to seal (JPEG, PNG, WebP or HEIC/HEIF), or `-` for stdin.
    /// It is stripped of identifying metadata first, as `sealcam strip` does.
    input: PathBuf,
    /// A recipient (`sealcam1…`). Repeat for several recipients.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    recipients: Vec<String>,
    /// A file of recipients, one per line (`#` comments and empty lines
    /// ignored). May be repeated and combined with -r.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    recipients_files: Vec<PathBuf>,
    /// Where to write the envelope (mode 0600, atomically), or `-` for stdout.
    #[arg(short, long)]
    output: PathBuf,
    /// The device's secret key file (`sealcam keygen --kind device`): signs
    /// the envelope. Needs --certificate.
    #[arg(long, value_name = "DEVICEKEY", requires = "certificate")]
    sign_key: Option<PathBuf>,
    /// The device certificate (`sealcam certify`) for --sign-key.
    #[arg(long, value_name = "CERTFILE", requires = "sign_key")]
    certificate: Option<PathBuf>,
    /// Seal without a signature: confidential, but the recipients cannot
    /// tell who sent it, and the store refuses it.
    #[arg(long, conflicts_with_all = ["sign_key", "certificate"])]
    unsigned: bool,
    /// Print the envelope id on stdout (default: stderr).
    #[arg(long)]
    print_id: bool,
    /// Refuse images larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = sanitize::DEFAULT_MAX_INPUT_BYTES)]
    max_size: usize,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    #[command(flatten)]
    record: RecordArgs,
}

const SIGNING_HELP: &str = "choose how to sign the envelope: \
    --sign-key DEVICEKEY --certificate CERTFILE signs it with an enrolled device, so recipients \
    can check who sent it (the store accepts only signed envelopes); \
    --unsigned seals it without a signature: still confidential and tamper-evident, \
    but anyone could have made it";

pub fn run(args: SealArgs) -> Result<()> {
    if args.sign_key.is_none() && !args.unsigned {
        anyhow::bail!("{SIGNING_HELP}");
    }
    if args.print_id && args.output == Path::new("-") {
        anyhow::bail!("--print-id cannot share standard output with the envelope (-o -); leave it out and read the id on stderr");
    }
    let recipients = read_recipients(&args.recipients, &args.recipients_files)?;
    let signing = match (&args.sign_key, &args.certificate) {
        (Some(key), Some(cert)) => {
            let key: DeviceSigningKey = keyfile::load_secret(key, &args.passphrase, "device key")?;
            let cert = keyfile::load_certificate(cert)?;
            if cert.device_key() != &key.public() {
                anyhow::bail!(
                    "the certificate is for another device (device {}), not for this key \
                     (device {}); give the certificate issued for this device key",
                    cert.device_key().id(),
                    key.public().id()
                );
            }
            Some((key, cert))
        }
        _ => None,
    };

    let signer = match &signing {
        Some((key, certificate)) => Signer::Device { key, certificate },
        None => Signer::Unsigned,
    };
    let prepared = args.record.prepare(signing.as_ref().map(|(key, cert)| {
        (
            cert.clinician(),
            DeviceIdHex::from_bytes(*key.public().id().as_bytes()),
        )
    }))?;
    let options = Options {
        max_input_bytes: args.max_size,
    };
    // The photo is read into a buffer with room for the envelope; the
    // pipeline strips it inside that buffer and turns it into the envelope
    // (its plaintext overwritten by ciphertext), zeroing whatever it does
    // not return.
    let n = recipients.len();
    let input = io::read_input_with_capacity(&args.input, args.max_size, |len| {
        envelope::owned_capacity(len, n)
    })?;
    let input_hash = prepared.input_hash(&input);
    let sealed = capture::capture(
        input,
        &prepared.draft,
        &recipients,
        signer,
        sealcam_platform::clock::unix_now(),
        &options,
    )
    .map_err(|e| match e {
        CaptureError::Sanitize(e) => {
            anyhow::Error::new(e).context(format!("cannot strip {}", args.input.display()))
        }
        CaptureError::Record(e) => {
            anyhow::Error::new(e).context("the clinical record is not valid")
        }
        e => anyhow::Error::new(e).context("cannot seal"),
    })?;
    prepared.check_claim(input_hash, sealed.record.image().sha256())?;
    io::write_output(&args.output, &sealed.envelope)?;
    if args.print_id {
        println!("{}", sealed.id);
    } else {
        eprintln!(
            "sealed envelope {} to {} recipient(s)",
            sealed.id,
            recipients.len()
        );
    }
    Ok(())
}

/// The recipients from -r and -R, in order. Errors name where the bad one
/// was given, never its text.
fn read_recipients(strings: &[String], files: &[PathBuf]) -> Result<Vec<Recipient>> {
    let mut out = Vec::new();
    for (i, s) in strings.iter().enumerate() {
        let r = s
            .trim()
            .parse::<Recipient>()
            .with_context(|| format!("recipient {} given with -r", i + 1))?;
        out.push(r);
    }
    for path in files {
        let text = io::read_text(path, 1024 * 1024, "recipients file")?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let r = line
                .parse::<Recipient>()
                .with_context(|| format!("{} line {}", path.display(), n + 1))?;
            out.push(r);
        }
    }
    if out.is_empty() {
        anyhow::bail!(
            "no recipients: give at least one with -r sealcam1… or -R FILE \
             (make one with `sealcam keygen`)"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for r in &out {
        if !seen.insert(r.id()) {
            anyhow::bail!(
                "recipient {} is given twice; give each recipient once",
                r.id()
            );
        }
    }
    Ok(out)
}
