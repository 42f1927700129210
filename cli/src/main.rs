//! `sealcam`: the command-line tool. See `sealcam --help` and docs/CLI.md.
#![forbid(unsafe_code)]

mod certify;
mod inspect;
mod io;
mod keyfile;
mod keygen;
mod open;
mod passphrase;
mod record_args;
mod seal;
mod strip;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sealcam",
    version,
    about = "Secure clinical photography: strip, seal and open clinical images"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Remove identifying metadata from an image, losslessly.
    Strip(strip::StripArgs),
    /// Make a recipient identity (or an organisation or device signing key).
    Keygen(keygen::KeygenArgs),
    /// Certify a device key for a clinician with the organisation key.
    Certify(certify::CertifyArgs),
    /// Strip an image and seal it, with its clinical record, to recipients.
    Seal(Box<seal::SealArgs>),
    /// Open an envelope addressed to you: write the image (and record).
    Open(open::OpenArgs),
    /// Show an envelope's plaintext routing header (no key needed).
    Inspect(inspect::InspectArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Strip(args) => strip::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Certify(args) => certify::run(args),
        Command::Seal(args) => seal::run(*args),
        Command::Open(args) => open::run(args),
        Command::Inspect(args) => inspect::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealcam: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Unix seconds as RFC 3339 (UTC), or the number if out of range.
pub(crate) fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} (Unix time)"))
}
