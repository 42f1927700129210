//! The clinician's device side (a desktop or medical-photography PC):
//! `sealcam device enroll|status`, `sealcam outbox`, `sealcam link create`.
//! `sealcam send` is in send.rs. All of them work on a device home
//! directory (`--home DIR`, see core::relay).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use sealcam_relay::{DeviceState, EnrolmentPayload, Relay};

use crate::storeapi;

#[derive(clap::Subcommand)]
pub enum DeviceCommand {
    /// Enrol this computer as a device, with the enrolment payload from the
    /// administrator (`sealcam admin enrol create`).
    Enroll {
        /// The enrolment payload (sealcam-enrol:v1;…), or `-` to read it from
        /// standard input (keeps the one-time code out of the process list).
        payload: String,
        /// The device home directory to create.
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
    },
    /// Show the device's enrolment and approval, fetching its certificate
    /// and the recipient directory from the store.
    Status {
        /// The device home directory.
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
        /// Do not contact the store.
        #[arg(long)]
        offline: bool,
    },
}

pub fn run(c: DeviceCommand) -> Result<()> {
    match c {
        DeviceCommand::Enroll { payload, home } => {
            let text = if payload == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .take(4096)
                    .read_to_string(&mut s)
                    .context("cannot read the enrolment payload from standard input")?;
                s
            } else {
                eprintln!(
                    "sealcam: warning: the enrolment payload on the command line is visible to \
                     other users of this computer (process list, shell history); prefer `-` and \
                     standard input"
                );
                payload
            };
            let payload = EnrolmentPayload::parse(&text)?;
            let relay = Relay::enroll(&home, &payload)?;
            println!("enrolled device {}", relay.config().device_id);
            match relay.refresh() {
                Ok(DeviceState::Active) => println!("approved: ready to send"),
                Ok(_) => println!(
                    "waiting for approval: ask your administrator to run `sealcam admin devices approve {}`",
                    relay.config().device_id
                ),
                Err(e) => eprintln!("sealcam: warning: could not check approval yet: {e}"),
            }
            Ok(())
        }
        DeviceCommand::Status { home, offline } => {
            let relay = Relay::open(&home)?;
            if !offline {
                match relay.refresh() {
                    Ok(state) => println!("store: reachable, device {}", state_name(state)),
                    Err(e) => println!("store: {e}"),
                }
            }
            print_status(&relay)
        }
    }
}

fn state_name(s: DeviceState) -> &'static str {
    match s {
        DeviceState::Pending => "pending approval",
        DeviceState::Active => "approved",
        DeviceState::Revoked => "REVOKED",
    }
}

pub fn print_status(relay: &Relay) -> Result<()> {
    let s = relay.status()?;
    let c = relay.config();
    println!("device: {}", s.device_id);
    println!("store: {} (pin {})", c.store_url, c.tls_pin);
    println!(
        "approved: {}",
        match (s.approved, s.certificate_valid) {
            (true, true) => "yes",
            (true, false) =>
                "yes, but the certificate is not valid now (expired, or the clock is wrong)",
            (false, _) => "no",
        }
    );
    match s.directory_version {
        Some(v) => println!("recipient directory: version {v}"),
        None => println!("recipient directory: none"),
    }
    let bytes: u64 = s.queued.iter().map(|e| e.size).sum();
    println!("outbox: {} envelope(s), {} bytes", s.queued.len(), bytes);
    for e in &s.queued {
        println!(
            "  queued   {}  {} bytes  since {}",
            e.id,
            e.size,
            crate::rfc3339(e.queued_at)
        );
    }
    for e in &s.rejected {
        println!(
            "  REFUSED  {}  {} bytes (kept in outbox/rejected/)",
            e.id, e.size
        );
    }
    if let Some((code, message)) = &s.last_error {
        println!("last error ({}): {message}", code.as_u32());
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct OutboxArgs {
    /// The device home directory.
    #[arg(long, value_name = "DIR")]
    home: PathBuf,
    /// Send what is queued now.
    #[arg(long)]
    sync: bool,
    /// Put the envelopes the store refused back in the queue first (after
    /// fixing the cause, e.g. a misconfigured store).
    #[arg(long)]
    requeue_rejected: bool,
}

pub fn outbox(args: OutboxArgs) -> Result<()> {
    let relay = Relay::open(&args.home)?;
    if args.requeue_rejected {
        println!("requeued {} refused envelope(s)", relay.requeue_rejected()?);
    }
    if args.sync {
        match relay.sync() {
            Ok(r) => println!(
                "sent {}, refused {}, still queued {}",
                r.uploaded, r.rejected, r.remaining
            ),
            Err(e) => eprintln!("sealcam: warning: {e}; the envelopes stay queued"),
        }
    }
    print_status(&relay)
}

#[derive(clap::Subcommand)]
pub enum LinkCommand {
    /// Create a patient upload link; prints its URL and a QR code.
    Create {
        /// The device home directory.
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
        /// How long the link works (default: the store's, 7 days).
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// How many images the patient may send (default: the store's, 5).
        #[arg(long, value_name = "N")]
        max_uploads: Option<u64>,
        /// The largest upload accepted, in bytes (default: the store's).
        #[arg(long, value_name = "BYTES")]
        max_bytes: Option<u64>,
        /// Do not print the QR code.
        #[arg(long)]
        no_qr: bool,
    },
}

pub fn link(c: LinkCommand) -> Result<()> {
    match c {
        LinkCommand::Create {
            home,
            expires_in,
            max_uploads,
            max_bytes,
            no_qr,
        } => {
            let relay = Relay::open(&home)?;
            let expires = expires_in
                .as_deref()
                .map(storeapi::parse_duration)
                .transpose()?;
            if max_uploads == Some(0) || max_bytes == Some(0) {
                bail!("--max-uploads and --max-bytes must be at least 1");
            }
            let link = relay.create_link(expires, max_uploads, max_bytes, None)?;
            println!(
                "patient link (send it to the patient only; it works {} time(s), until {}):",
                link.max_uploads,
                crate::rfc3339(link.expires_at)
            );
            println!("{}", link.url);
            if !no_qr {
                println!("{}", storeapi::qr(&link.url)?);
            }
            eprintln!(
                "link id {} (revoke with `sealcam admin links revoke {}`)",
                link.link_id, link.link_id
            );
            Ok(())
        }
    }
}
