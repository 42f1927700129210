//! `sealcam send IMAGE... --home DIR [record flags]`: strip, seal to the
//! recipient directory and queue each image in the device's outbox, then
//! upload the outbox. Nothing is sent in plaintext and nothing is lost:
//! an image is in the outbox (sealed) before the next one is read, and an
//! envelope leaves the outbox only on the store's verified receipt.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sealcam_core::record::DeviceIdHex;
use sealcam_core::sanitize;
use sealcam_relay::{Backoff, DeviceState, Event, Relay, Staged};

use crate::io;
use crate::record_args::{PreparedRecord, RecordArgs};

/// Exit status when everything is sealed and queued but not yet sent
/// (EX_TEMPFAIL): run `sealcam outbox --sync` later.
pub const QUEUED_NOT_SENT: u8 = 75;

#[derive(clap::Args)]
pub struct SendArgs {
    /// The images to send (JPEG, PNG, WebP, HEIC/HEIF/AVIF).
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
    /// The device home directory (`sealcam device enroll`).
    #[arg(long, value_name = "DIR")]
    home: PathBuf,
    /// Seal and queue only; upload later with `sealcam outbox --sync`.
    #[arg(long)]
    no_upload: bool,
    /// How many times to retry the upload when the store cannot be reached.
    #[arg(long, default_value_t = 4, value_name = "N")]
    retries: u32,
    /// Largest image accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = sanitize::DEFAULT_MAX_INPUT_BYTES)]
    max_size: usize,
    #[command(flatten)]
    record: RecordArgs,
}

fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The record flags whose values are free text, where spaces are natural:
/// `--name Test Patient` without quotes leaves `Patient` as an image.
const TEXT_FLAGS: &[&str] = &[
    "name",
    "local_id",
    "site",
    "caption",
    "consent_notes",
    "clinician_name",
    "registration_number",
];

/// True when an image argument comes right after the value of a free-text
/// record flag: the likely remains of an unquoted value, refused before
/// anything is read (a file of that name would otherwise be sealed).
pub fn stray_word_after_value(matches: &clap::ArgMatches) -> bool {
    let Some(images) = matches.indices_of("images") else {
        return false;
    };
    let images: Vec<usize> = images.collect();
    TEXT_FLAGS.iter().any(|flag| {
        matches
            .indices_of(flag)
            .into_iter()
            .flatten()
            .any(|value| images.contains(&(value + 1)))
    })
}

/// Reads one image with room for its envelope and seals it through the
/// pipeline into a staged outbox entry.
fn stage(
    relay: &Relay,
    args: &SendArgs,
    prepared: &PreparedRecord,
    path: &std::path::Path,
) -> Result<Staged> {
    // The photo's buffer is stripped in place and becomes the envelope
    // (the pipeline wipes it).
    let input = io::read_input_with_capacity(path, args.max_size, |len| {
        sealcam_core::envelope::owned_capacity(len, sealcam_core::envelope::MAX_RECIPIENTS)
    })?;
    let input_hash = prepared.input_hash(&input);
    let staged = relay
        .stage_owned(input, &prepared.draft)
        .with_context(|| format!("{} cannot be made safe to send", path.display()))?;
    if let Err(e) = prepared.check_claim(input_hash, &staged.image_sha256) {
        relay.discard(vec![staged]);
        return Err(e.context(format!("the record for {}", path.display())));
    }
    Ok(staged)
}

/// Runs `send`; returns the process exit status.
pub fn run(args: SendArgs) -> Result<u8> {
    // Every image must be a readable file before anything else happens. The
    // path is not shown: a stray word of an unquoted value (`--site left
    // arm`) is patient data.
    for (i, path) in args.images.iter().enumerate() {
        if let Err(e) = std::fs::File::open(path) {
            bail!(
                "image {} of {} cannot be read ({}; the path is not shown: it may be a word \
                 of an unquoted value); nothing was sealed",
                i + 1,
                args.images.len(),
                e.kind()
            );
        }
    }
    let relay = Relay::open(&args.home)?;
    match relay.refresh() {
        Ok(DeviceState::Active) => {}
        Ok(DeviceState::Pending) => bail!(
            "this device is not approved yet: ask your administrator to run `sealcam admin devices approve {}`",
            relay.config().device_id
        ),
        Ok(DeviceState::Revoked) => bail!("this device was revoked by the administrator; nothing was sealed"),
        Err(e) if e.is_transient() => eprintln!(
            "sealcam: warning: the store cannot be reached ({e}); sealing with the certificate and directory held"
        ),
        Err(e) => return Err(e.into()),
    }
    let certificate = relay
        .certificate()
        .context("this device holds no certificate yet; connect to the store and try again")?;
    let prepared = args.record.prepare(Some((
        certificate.clinician(),
        DeviceIdHex::from_bytes(relay.config().device_id.0),
    )))?;

    // Each image goes through the pipeline once (strip, complete the
    // record, seal) and its envelope is staged in the outbox; only when
    // every image has been sealed are they queued together. An image that
    // cannot be sent stops the command with nothing queued, so re-running
    // it after a fix cannot queue the others twice. One photo is in memory
    // at a time.
    let sealing = bar(
        args.images.len() as u64,
        "sealing   [{bar:30}] {pos}/{len} {msg}",
    );
    let mut staged = Vec::with_capacity(args.images.len());
    for path in &args.images {
        match stage(&relay, &args, &prepared, path) {
            Ok(s) => {
                sealing.set_message(s.id.to_string());
                sealing.inc(1);
                staged.push(s);
            }
            Err(e) => {
                sealing.finish_and_clear();
                relay.discard(staged);
                return Err(e.context(format!(
                    "nothing was queued; fix or leave out {} and send again",
                    path.display()
                )));
            }
        }
    }
    let queued: Vec<_> = args
        .images
        .iter()
        .zip(staged.iter().map(|s| s.id))
        .collect();
    relay.commit(staged)?;
    sealing.finish_with_message("sealed and queued");
    for (path, id) in &queued {
        eprintln!("queued {} as envelope {id}", path.display());
    }
    if args.no_upload {
        println!(
            "{} envelope(s) queued; send them with `sealcam outbox --home {} --sync`",
            queued.len(),
            args.home.display()
        );
        return Ok(0);
    }

    let total: u64 = relay.status()?.queued.iter().map(|e| e.size).sum();
    let uploading = bar(total, "uploading [{bar:30}] {bytes}/{total_bytes} {msg}");
    let (tx, rx) = mpsc::channel();
    relay.subscribe(tx);
    let sizes: std::collections::HashMap<_, _> = relay
        .status()?
        .queued
        .iter()
        .map(|e| (e.id, e.size))
        .collect();
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    let mut attempt = 0;
    let outcome = loop {
        let result = relay.sync();
        for event in rx.try_iter() {
            if let Event::Uploaded { id } = event {
                uploading.inc(sizes.get(&id).copied().unwrap_or(0));
            }
        }
        match result {
            Ok(report) => break Ok(report),
            Err(e) if e.is_transient() && attempt < args.retries => {
                attempt += 1;
                let wait = backoff.next_delay();
                uploading.set_message(format!(
                    "store unreachable, retry {attempt} in {:.0?}",
                    wait
                ));
                std::thread::sleep(wait);
            }
            Err(e) => break Err(e),
        }
    };
    uploading.finish_and_clear();
    let status = relay.status()?;
    match outcome {
        Ok(r) if r.remaining == 0 && r.rejected == 0 => {
            println!("sent {} envelope(s); the outbox is empty", queued.len());
            Ok(0)
        }
        Ok(r) if r.rejected > 0 => {
            eprintln!("sealcam: error: the store refused {} envelope(s); they are kept in {}/outbox/rejected/", r.rejected, args.home.display());
            Ok(1)
        }
        other => {
            if let Err(e) = other {
                eprintln!("sealcam: warning: {e}");
            }
            eprintln!(
                "sealcam: {} envelope(s) are sealed and safely queued but not yet sent; \
                 run `sealcam outbox --home {} --sync` when the store is reachable",
                status.queued.len(),
                args.home.display()
            );
            Ok(QUEUED_NOT_SENT)
        }
    }
}
