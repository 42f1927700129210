//! `sealcam`: the command-line tool. See `sealcam --help` and docs/CLI.md.
//!
//! A library only so that one entry point, [`main`], serves the `sealcam`
//! binary (`src/main.rs`) and the copy the end-to-end tests run
//! (`tests/src/bin/e2e-sealcam.rs`); nothing else is public.
#![forbid(unsafe_code)]

mod admin;
mod certify;
mod clinician_args;
mod device;
mod fhir;
mod inspect;
mod io;
mod keyfile;
mod keygen;
mod open;
mod passphrase;
mod record_args;
mod records;
mod seal;
mod send;
mod storeapi;
mod strip;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Records staff: pull your inbox from the store and file it (image,
    /// record, FHIR R4 Media).
    Records(records::RecordsArgs),
    /// This computer as an enrolled capture device: enroll, status.
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Strip, seal and send images to the store through the device's outbox.
    Send(Box<send::SendArgs>),
    /// Show (and optionally send) the device's outbox.
    Outbox(device::OutboxArgs),
    /// Patient upload links.
    #[command(subcommand)]
    Link(device::LinkCommand),
    /// Administer a store: bootstrap, recipient directory, enrolment,
    /// devices, staff, links, audit.
    Admin(admin::AdminArgs),
}

/// Runs the `sealcam` command line on this process's arguments and returns
/// its exit code.
pub fn main() -> std::process::ExitCode {
    let parsed = Cli::command().try_get_matches().and_then(|m| {
        if let Some(("send", send)) = m.subcommand() {
            if send::stray_word_after_value(send) {
                eprintln!(
                    "sealcam: error: an image argument follows a record value directly, as if \
                     an unquoted value had been split (not shown: it may be patient data). \
                     Put values that contain spaces in quotes, or give the images before the \
                     record flags; nothing was sealed"
                );
                std::process::exit(2);
            }
        }
        Cli::from_arg_matches(&m)
    });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if may_hold_patient_data(&e) => {
            let arg = e
                .get(clap::error::ContextKind::InvalidArg)
                .map(ToString::to_string);
            match arg {
                // An unknown flag (`--nsh`) is safe to show; a stray value is not.
                Some(a) if e.kind() == clap::error::ErrorKind::UnknownArgument && is_flag(&a) => {
                    eprintln!("sealcam: error: unknown flag {a}; see `sealcam seal --help`")
                }
                Some(a) if e.kind() != clap::error::ErrorKind::UnknownArgument => eprintln!(
                    "sealcam: error: the value for {a} is not accepted (not shown: it may be \
                     patient data); see `sealcam seal --help`"
                ),
                _ => eprintln!(
                    "sealcam: error: unexpected argument (not shown: it may be patient data). \
                     Put values that contain spaces in quotes; see `sealcam seal --help`"
                ),
            }
            return std::process::ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Strip(args) => strip::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Certify(args) => certify::run(args),
        Command::Seal(args) => seal::run(*args),
        Command::Open(args) => open::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Records(args) => records::run(args),
        Command::Device(c) => device::run(c),
        Command::Send(args) => match send::run(*args) {
            Ok(0) => Ok(()),
            Ok(code) => return std::process::ExitCode::from(code),
            Err(e) => Err(e),
        },
        Command::Outbox(args) => device::outbox(args),
        Command::Link(c) => device::link(c),
        Command::Admin(args) => admin::run(args),
    };
    // Debug builds (the tests') can report how many images were stripped,
    // to show each is stripped once; a count, nothing about the images.
    if cfg!(debug_assertions) && std::env::var_os("SEALCAM_DEBUG_SANITIZE_PASSES").is_some() {
        eprintln!(
            "sealcam: debug: sanitizer passes: {}",
            sealcam_core::sanitize::passes()
        );
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealcam: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// True for a usage error of `sealcam seal` that would quote a value from
/// the command line: the record flags carry patient data, and a value
/// split by missing quotes shows up as an unexpected argument.
fn may_hold_patient_data(e: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    let seal = std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "seal" || a == "send");
    seal && matches!(
        e.kind(),
        ErrorKind::UnknownArgument
            | ErrorKind::InvalidValue
            | ErrorKind::ValueValidation
            | ErrorKind::InvalidUtf8
            | ErrorKind::NoEquals
            | ErrorKind::TooManyValues
            | ErrorKind::WrongNumberOfValues
            | ErrorKind::InvalidSubcommand
    )
}

/// `--word-word`: a flag name, not a value.
fn is_flag(a: &str) -> bool {
    a.strip_prefix("--").is_some_and(|f| {
        !f.is_empty() && f.len() <= 32 && f.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    })
}

/// Seconds since the Unix epoch.
pub(crate) use sealcam_platform::clock::unix_now as now_unix;

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
