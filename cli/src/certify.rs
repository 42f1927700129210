//! `sealcam certify --org-key ORGKEY --device DEVICEPUB --name NAME
//! --registration-body BODY --registration-number N [--valid-days 365] -o CERTFILE`:
//! the organisation certifies a device key for a clinician.

use crate::clinician_args::ClinicianArgs;
use crate::io;
use crate::keyfile;
use crate::passphrase::PassphraseArgs;
use anyhow::{Context, Result};
use sealcam_core::keys::{DeviceCertificate, DevicePublicKey, OrgSigningKey};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CertifyArgs {
    /// The organisation's secret key file (`sealcam keygen --kind org`).
    #[arg(long, value_name = "ORGKEY")]
    org_key: PathBuf,
    /// The device's public key (`sealcamdev1…`), or a file holding it.
    #[arg(long, value_name = "DEVICEPUB")]
    device: String,
    #[command(flatten)]
    clinician: ClinicianArgs,
    /// How many days the certificate is valid, from now.
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    valid_days: u32,
    /// Where to write the certificate (binary, mode 0600), or `-` for stdout.
    #[arg(short, long)]
    output: PathBuf,
    /// Replace CERTFILE if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

pub fn run(args: CertifyArgs) -> Result<()> {
    if args.valid_days == 0 {
        anyhow::bail!("--valid-days must be at least 1");
    }
    let device: DevicePublicKey = keyfile::parse_public(&args.device, "device public key")?;
    let clinician = args.clinician.clinician()?;
    let org: OrgSigningKey =
        keyfile::load_secret(&args.org_key, &args.passphrase, "organisation key")?;
    let now = crate::now_unix();
    let not_after = now.saturating_add(u64::from(args.valid_days) * 86_400 - 1);
    let cert = DeviceCertificate::issue(&org, &device, &clinician, now, not_after)
        .context("cannot issue the certificate")?;
    io::write_new_output(&args.output, &cert.to_bytes(), args.force)?;
    eprintln!(
        "certified device {} for {} ({} {}), valid until {}",
        device.id(),
        clinician.name,
        clinician.registration_body,
        clinician.registration_number,
        crate::rfc3339(not_after)
    );
    Ok(())
}
