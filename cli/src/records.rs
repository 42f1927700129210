//! `sealcam records pull`: the records workstation's side of the store.
//!
//! Lists the staff member's inbox, downloads each envelope, opens it with
//! the recipient identity, checks the sender against the organisation key,
//! and files it: `OUT/<envelope id>/` with the image, the record and a FHIR
//! R4 Media resource, written as a temporary directory and renamed into
//! place once every file is synced. Only then is the envelope marked filed
//! on the store. See docs/CLI.md ("records pull").
//!
//! Nothing printed here names a patient: the progress bar and the lines
//! above it show counts, bytes and envelope ids only.

use crate::fhir;
use crate::keyfile;
use crate::open::MAX_ENVELOPE_BYTES;
use crate::passphrase::PassphraseArgs;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sealcam_core::envelope::{
    self, CertificateStatus, EnvelopeId, OpenError, Opened, Sender, MAX_CLOCK_SKEW_SECS,
};
use sealcam_core::keys::{
    context_commitment, LinkCapability, LinkCreator as KeyLinkCreator, OrgPublicKey, RecipientId,
    RecipientIdentity, StaffPublicKey, StaffSigningKey, StorePublicKey,
};
use sealcam_core::protocol::api::{ErrorBody, InboxEntry, Route};
use sealcam_core::record::{MediaType, Source};
use sealcam_relay::{StoreClient, TlsPin, MAX_SMALL_ANSWER};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable `--pin` may come from.
pub const PIN_ENV: &str = "SEALCAM_STORE_PIN";
/// Subdirectory of OUT for envelopes whose sender could not be trusted.
pub const QUARANTINE: &str = "quarantine";
/// Prefix of the temporary directories an envelope is written in.
use sealcam_platform::fsio::{self, TMP_PREFIX};

#[derive(clap::Args)]
pub struct RecordsArgs {
    #[command(subcommand)]
    command: RecordsCommand,
}

#[derive(clap::Subcommand)]
enum RecordsCommand {
    /// Download, verify, decrypt and file everything in your inbox.
    Pull(PullArgs),
    /// Take quarantined envelopes out of your inbox once someone has
    /// decided about them (their copy in OUT/quarantine/ stays).
    Dismiss(DismissArgs),
}

/// How to reach the store as a records staff member.
#[derive(clap::Args)]
struct StoreArgs {
    /// The store's address, `https://host:port`.
    #[arg(long, value_name = "URL")]
    store: String,
    /// The store's TLS key pin, `sha256/…` (printed by `sealcam-store
    /// serve`); or set SEALCAM_STORE_PIN.
    #[arg(long, value_name = "sha256/…")]
    pin: Option<String>,
    /// Your staff auth key file (`sealcam keygen --kind staff`), registered
    /// with the store by the administrator together with your recipient.
    #[arg(long, value_name = "STAFF.key")]
    auth_key: PathBuf,
}

#[derive(clap::Args)]
pub struct DismissArgs {
    /// The envelope ids (as `records pull` printed them).
    #[arg(required = true, value_name = "ENVELOPE_ID")]
    ids: Vec<String>,
    /// The filing directory given to `records pull`: each envelope must
    /// have its quarantine copy in OUT/quarantine/<id>/ (or give --force).
    #[arg(short, long, value_name = "DIR")]
    out: PathBuf,
    /// Why (recorded in OUT/quarantine/<id>/dismissed.txt).
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Dismiss even without a quarantine copy on this workstation.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// Your recipient identity file (`sealcam keygen`): opens the envelopes.
    #[arg(short, long, value_name = "KEYFILE")]
    identity: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// The organisation's public key (`sealcamorg1…`, or a file holding
    /// it): every device certificate must verify against it.
    #[arg(long, value_name = "ORGPUB", required_unless_present = "org_file")]
    org: Option<String>,
    /// A file holding the organisation's public key (instead of --org).
    #[arg(long, value_name = "FILE", conflicts_with = "org")]
    org_file: Option<PathBuf>,
    /// Where to file the images: one directory per envelope (created, mode
    /// 0700, if missing).
    #[arg(short, long, value_name = "DIR")]
    out: PathBuf,
    /// FHIR identifier system for local patient ids (hospital numbers),
    /// used when a record has no NHS number.
    #[arg(long, value_name = "URI", default_value = fhir::DEFAULT_LOCAL_ID_SYSTEM)]
    local_id_system: String,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long)]
    no_progress: bool,
    /// Refuse envelopes larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = MAX_ENVELOPE_BYTES)]
    max_size: usize,
    /// Another staff member's public key (`sealcamstaff1…`, or a file
    /// holding it) whose patient links you accept: uploads through a link
    /// they made are filed, not quarantined. Your own --auth-key is always
    /// accepted; device-made links are checked with --org. Repeatable.
    #[arg(long, value_name = "STAFFPUB")]
    trust_staff_key: Vec<String>,
    /// Stop after this many envelopes in one run (run again for the rest).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_envelopes: usize,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// How often the inbox is listed again in one run (envelopes that arrive
/// meanwhile are pulled too); a store that keeps listing new ids cannot
/// keep a run going for ever.
const MAX_PASSES: usize = 5;
/// The largest inbox listing read (an entry with its receipt is about
/// 600 bytes: some 50,000 entries).
const MAX_INBOX_BYTES: u64 = 32 * 1024 * 1024;

pub fn run(args: RecordsArgs) -> Result<()> {
    match args.command {
        RecordsCommand::Pull(a) => pull(a),
        RecordsCommand::Dismiss(a) => dismiss(a),
    }
}

/// The store's pin from --pin or the environment.
fn store_pin(args: &StoreArgs) -> Result<TlsPin> {
    let pin_text = match &args.pin {
        Some(p) => p.clone(),
        None => std::env::var(PIN_ENV).map_err(|_| {
            anyhow::anyhow!(
                "give the store's TLS pin with --pin sha256/… or {PIN_ENV} \
                 (sealcam-store prints it as tls-pin when it starts)"
            )
        })?,
    };
    TlsPin::parse(&pin_text).ok_or_else(|| {
        anyhow::anyhow!("the TLS pin is not of the form sha256/<base64 of 32 bytes>")
    })
}

/// A client of the store, and the store's receipt key (asked once, over
/// the pinned connection: the first contact, before anything is written).
fn connect(args: &StoreArgs) -> Result<(StoreClient, StorePublicKey)> {
    let pin = store_pin(args)?;
    if !args.store.starts_with("https://") {
        anyhow::bail!("--store must be an https:// address");
    }
    let client = StoreClient::new(&args.store, pin).context("cannot set up the connection")?;
    let info = client
        .info()
        .with_context(|| format!("cannot reach the store at {}", args.store))?;
    Ok((client.for_store(&info.store_key), info.store_key))
}

fn dismiss(args: DismissArgs) -> Result<()> {
    let ids = args
        .ids
        .iter()
        .map(|s| {
            s.trim()
                .parse::<EnvelopeId>()
                .map_err(|_| anyhow::anyhow!("an envelope id is 32 lower-case hexadecimal digits"))
        })
        .collect::<Result<Vec<_>>>()?;
    if args.reason.trim().is_empty() {
        anyhow::bail!("give the reason with --reason (it is kept with the quarantined copy)");
    }
    let quarantine = args.out.join(QUARANTINE);
    for id in &ids {
        if !args.force && !quarantine.join(id.to_string()).is_dir() {
            anyhow::bail!(
                "envelope {id} has no quarantine copy in {}: dismissing it would leave \
                 nothing on this workstation (give --force to dismiss it anyway)",
                quarantine.display()
            );
        }
    }
    let staff: StaffSigningKey =
        keyfile::load_secret(&args.store.auth_key, &args.passphrase, "staff auth key")?;
    let (client, _) = connect(&args.store)?;
    for id in &ids {
        let dir = quarantine.join(id.to_string());
        if dir.is_dir() {
            let note = format!(
                "dismissed at {}: {}\n",
                crate::rfc3339(crate::now_unix()),
                args.reason.trim()
            );
            fsio::write_atomic(&dir.join("dismissed.txt"), note.as_bytes())
                .with_context(|| format!("cannot write {}", dir.display()))?;
        }
        let route = Route::FileEnvelope(*id);
        let (status, body) = client
            .signed_request(
                &staff,
                &route,
                Vec::new(),
                "application/json",
                MAX_SMALL_ANSWER,
            )
            .with_context(|| route.to_string())?;
        if !(200..300).contains(&status) {
            anyhow::bail!(
                "the store did not take {id} out of the inbox ({status}: {})",
                store_message(&body)
            );
        }
        eprintln!("dismissed {id}: it has left your inbox");
    }
    Ok(())
}

/// What happened to one envelope.
enum Outcome {
    /// Written and marked filed.
    Filed,
    /// Already on disk from an earlier run; marked filed now.
    Remarked,
    /// Sender not trusted: written to OUT/quarantine/, not marked filed.
    Quarantined(String),
    /// Already in quarantine from an earlier run: left alone.
    StillQuarantined,
}

#[derive(Default)]
struct Tally {
    filed: usize,
    remarked: usize,
    quarantined: usize,
    failed: usize,
}

fn pull(args: PullArgs) -> Result<()> {
    if !args.local_id_system.contains(':') || args.local_id_system.contains(char::is_whitespace) {
        anyhow::bail!(
            "--local-id-system must be an absolute URI without spaces (https://… or urn:…)"
        );
    }
    let org: OrgPublicKey = match (&args.org, &args.org_file) {
        (Some(o), _) => keyfile::parse_public(o, "organisation public key (--org)")?,
        (None, Some(f)) => {
            keyfile::parse_public(&f.to_string_lossy(), "organisation public key (--org-file)")?
        }
        (None, None) => anyhow::bail!("give the organisation public key with --org or --org-file"),
    };
    store_pin(&args.store)?;
    let identity: RecipientIdentity =
        keyfile::load_secret(&args.identity, &args.passphrase, "identity")?;
    let staff: StaffSigningKey =
        keyfile::load_secret(&args.store.auth_key, &args.passphrase, "staff auth key")?;

    let mut trusted_staff = vec![staff.public()];
    for k in &args.trust_staff_key {
        trusted_staff.push(keyfile::parse_public(
            k,
            "staff public key (--trust-staff-key)",
        )?);
    }
    // The store first: nothing is created on this workstation for a store
    // that cannot be reached or does not match its pin.
    let (client, store_key) = connect(&args.store)?;
    let out = &args.out;
    prepare_dir(out)?;
    let quarantine = out.join(QUARANTINE);
    remove_leftovers(out)?;
    if quarantine.is_dir() {
        remove_leftovers(&quarantine)?;
    }

    let puller = Puller {
        client: &client,
        staff: &staff,
        identity: &identity,
        org: &org,
        store_key: &store_key,
        trusted_staff: &trusted_staff,
        out,
        quarantine: &quarantine,
        local_id_system: &args.local_id_system,
        max_size: args.max_size,
    };

    let bar = ProgressBar::with_draw_target(
        Some(0),
        if args.no_progress {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} envelopes {msg}",
        )
        .context("progress bar template")?,
    );
    let say = |line: String| bar.suspend(|| eprintln!("{line}"));

    let mut tally = Tally::default();
    let mut seen: HashSet<EnvelopeId> = HashSet::new();
    let mut bytes_total: u64 = 0;
    let mut stopped_early = false;
    // The inbox is listed again after each pass, so envelopes that arrive
    // meanwhile, or an inbox the store answers in pages, are pulled too;
    // an envelope is tried at most once per run, and a run does at most
    // MAX_PASSES listings and --max-envelopes envelopes.
    'passes: for _ in 0..MAX_PASSES {
        let inbox = puller.inbox()?;
        let fresh: Vec<InboxEntry> = inbox
            .into_iter()
            .filter(|e| !seen.contains(&e.envelope_id))
            .collect();
        if fresh.is_empty() {
            break;
        }
        bar.inc_length(fresh.len() as u64);
        for entry in fresh {
            if seen.len() >= args.max_envelopes {
                stopped_early = true;
                break 'passes;
            }
            let (id, size) = (entry.envelope_id, entry.size);
            seen.insert(id);
            bar.set_message(format!("{} bytes, now {id}", bytes_total));
            match puller.one(&entry) {
                Ok(Outcome::Filed) => {
                    tally.filed += 1;
                    say(format!("filed {id}"));
                }
                Ok(Outcome::Remarked) => {
                    tally.remarked += 1;
                    say(format!(
                        "filed {id} (already on disk from an earlier run; marked filed now)"
                    ));
                }
                Ok(Outcome::Quarantined(why)) => {
                    tally.quarantined += 1;
                    say(format!(
                        "QUARANTINED {id}: {why}; written to {}, NOT marked filed",
                        quarantine.join(id.to_string()).display()
                    ));
                }
                Ok(Outcome::StillQuarantined) => {
                    tally.quarantined += 1;
                    say(format!(
                        "QUARANTINED {id}: already in {} from an earlier run; NOT marked filed",
                        quarantine.display()
                    ));
                }
                Err(e) if is_wrong_identity(&e) => {
                    bar.abandon();
                    return Err(e.context(format!(
                        "envelope {id}: --identity is not the recipient the store has \
                         registered for this --auth-key; nothing more was pulled"
                    )));
                }
                Err(e) => {
                    tally.failed += 1;
                    say(format!("FAILED {id}: {e:#}; not marked filed"));
                }
            }
            bytes_total += size;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    let mut summary = format!(
        "records pull: {} filed ({} of them already on disk), {} quarantined, {} failed, into {}",
        tally.filed + tally.remarked,
        tally.remarked,
        tally.quarantined,
        tally.failed,
        out.display()
    );
    if stopped_early {
        summary.push_str(&format!(
            "; stopped after {} envelopes (--max-envelopes): run it again for the rest",
            args.max_envelopes
        ));
    }
    if tally.quarantined + tally.failed > 0 {
        anyhow::bail!(
            "{summary}. Envelopes not filed stay in the inbox: see the lines above \
             (quarantined ones need someone to decide, then `sealcam records dismiss ID \
             --reason …` takes them out of the inbox; failed ones are tried again next time)"
        );
    }
    eprintln!("{summary}");
    Ok(())
}

/// True when the error is "this envelope is not addressed to this key":
/// the store lists only envelopes addressed to the staff member's
/// recipient, so the identity given is not that recipient.
fn is_wrong_identity(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<OpenError>(),
            Some(OpenError::NotARecipient)
        )
    })
}

struct Puller<'a> {
    client: &'a StoreClient,
    staff: &'a StaffSigningKey,
    identity: &'a RecipientIdentity,
    org: &'a OrgPublicKey,
    store_key: &'a StorePublicKey,
    trusted_staff: &'a [StaffPublicKey],
    out: &'a Path,
    quarantine: &'a Path,
    local_id_system: &'a str,
    max_size: usize,
}

impl Puller<'_> {
    /// A signed request without a body; its answer read up to `limit`.
    fn request(&self, route: &Route, limit: u64) -> Result<(u16, Vec<u8>)> {
        self.client
            .signed_request(self.staff, route, Vec::new(), "application/json", limit)
            .with_context(|| route.to_string())
    }

    /// `GET /v1/inbox`: the entries, with their receipts.
    fn inbox(&self) -> Result<Vec<InboxEntry>> {
        let (status, body) = self.request(&Route::Inbox, MAX_INBOX_BYTES)?;
        if status != 200 {
            anyhow::bail!(
                "the store refused to list the inbox ({status}: {}); check --auth-key is \
                 registered with this store",
                store_message(&body)
            );
        }
        // Parsed, not used as given: the id names a directory.
        serde_json::from_slice(&body)
            .map_err(|_| anyhow::anyhow!("the store's inbox answer is not the expected JSON"))
    }

    /// `POST /v1/envelopes/{id}/filed`.
    fn mark_filed(&self, id: &EnvelopeId) -> Result<()> {
        let (status, body) = self.request(&Route::FileEnvelope(*id), MAX_SMALL_ANSWER)?;
        match status {
            200..=299 => Ok(()),
            _ => anyhow::bail!(
                "it is on disk, but the store did not record it as filed ({status}: {})",
                store_message(&body)
            ),
        }
    }

    fn one(&self, entry: &InboxEntry) -> Result<Outcome> {
        let id = &entry.envelope_id;
        let name = id.to_string();
        let done = self.out.join(&name);
        if std::fs::symlink_metadata(&done).is_ok() {
            if !done.is_dir() {
                anyhow::bail!(
                    "{} exists and is not a directory; move it away",
                    done.display()
                );
            }
            // Written by an earlier run that stopped before the store
            // heard of it: mark it filed, leave the files as they are.
            self.mark_filed(id)?;
            return Ok(Outcome::Remarked);
        }
        if self.quarantine.join(&name).is_dir() {
            return Ok(Outcome::StillQuarantined);
        }

        if entry.size > self.max_size as u64 {
            return self.set_aside(
                id,
                None,
                format!(
                    "it is {} bytes, larger than --max-size ({} bytes); pull it with a \
                     larger --max-size if it should be filed",
                    entry.size, self.max_size
                ),
            );
        }
        let bytes = match self.fetch(id) {
            Ok(bytes) => bytes,
            Err(e)
                if e.chain().any(|c| {
                    matches!(
                        c.downcast_ref::<sealcam_relay::RelayError>(),
                        Some(sealcam_relay::RelayError::AnswerTooLarge { .. })
                    )
                }) =>
            {
                return self.set_aside(
                    id,
                    None,
                    format!(
                        "the store sent more than --max-size ({} bytes) for it",
                        self.max_size
                    ),
                );
            }
            Err(e) => return Err(e),
        };
        // The store's signed statement of when it received these bytes:
        // the time the sender's certificate is judged at.
        if let Err(e) = entry.receipt.confirms(self.store_key, &bytes) {
            return self.set_aside(
                id,
                Some(&bytes),
                format!("the store's receipt for it does not hold ({e})"),
            );
        }
        let received_at = entry.receipt.received_at;
        // The recipients in its header (checked against a link's terms).
        let recipients = match envelope::inspect(&bytes) {
            Ok(h) => h.recipients,
            Err(e) => return self.set_aside(id, Some(&bytes), format!("it cannot be opened: {e}")),
        };
        // Decrypted in the download's own buffer: no second copy. A
        // failure other than "not for this key" is permanent: the
        // envelope is set aside with its ciphertext, fetched again.
        let opened = match envelope::open_owned(bytes, self.identity, Some(self.org)) {
            Ok(opened) => opened,
            Err(OpenError::NotARecipient) => {
                return Err(anyhow::Error::new(OpenError::NotARecipient).context("cannot open it"))
            }
            Err(e) => {
                let ciphertext = self.fetch(id).ok();
                return self.set_aside(
                    id,
                    ciphertext.as_deref(),
                    format!("it cannot be opened: {e}"),
                );
            }
        };
        if opened.id != *id {
            anyhow::bail!("the store sent a different envelope than the one asked for");
        }
        opened.record.image().verify(&opened.image).context(
            "the image does not match its record: not filed; ask the sender to send it again",
        )?;

        let (kind, ext) = image_kind(opened.record.image().media_type(), &opened.image);
        let file_name = format!("image.{ext}");
        let record_json = Zeroizing::new(opened.record.to_json());

        let link = LinkCheck {
            org: self.org,
            trusted_staff: self.trusted_staff,
            received_at,
            recipients: &recipients,
            entry,
        };
        let (sender, quarantine_reason) = classify(&opened, self.org, received_at, &link);
        if let Some(why) = quarantine_reason {
            prepare_dir(self.quarantine)?;
            let reason = format!(
                "envelope {id} was not filed: {why}.\nIt is addressed to you and decrypted \
                 correctly, but its sender cannot be trusted. Check with the sender's \
                 administrator before filing it by hand.\n"
            );
            write_dir(
                self.quarantine,
                &name,
                &[
                    (&file_name, &opened.image),
                    ("record.json", &record_json),
                    ("reason.txt", reason.as_bytes()),
                ],
            )?;
            return Ok(Outcome::Quarantined(why));
        }
        let sender = sender.context("internal: no sender for a trusted envelope")?;
        let media = fhir::media(&fhir::MediaInput {
            envelope_id: &name,
            record: &opened.record,
            image: &opened.image,
            content_type: kind,
            file_name: &file_name,
            sender,
            local_id_system: self.local_id_system,
        });
        let fhir_json = Zeroizing::new(
            fhir::to_pretty_json(&media).context("cannot format the FHIR resource")?,
        );
        write_dir(
            self.out,
            &name,
            &[
                (&file_name, &opened.image),
                ("record.json", &record_json),
                ("media.fhir.json", fhir_json.as_bytes()),
            ],
        )?;
        self.mark_filed(id)?;
        Ok(Outcome::Filed)
    }

    /// `GET /v1/envelopes/{id}`, at most --max-size bytes.
    fn fetch(&self, id: &EnvelopeId) -> Result<Vec<u8>> {
        let (status, bytes) = self.request(&Route::FetchEnvelope(*id), self.max_size as u64)?;
        match status {
            200 => Ok(bytes),
            404 => anyhow::bail!("the store no longer has it (404)"),
            _ => anyhow::bail!(
                "the store refused to send it ({status}: {})",
                store_message(&bytes)
            ),
        }
    }

    /// Quarantines an envelope that can never be filed as it is: the
    /// ciphertext when there is one (`envelope.sealcam`) and the reason.
    /// It stays in the inbox until `sealcam records dismiss` takes it out.
    fn set_aside(
        &self,
        id: &EnvelopeId,
        ciphertext: Option<&[u8]>,
        why: String,
    ) -> Result<Outcome> {
        prepare_dir(self.quarantine)?;
        let reason = format!(
            "envelope {id} was not filed: {why}.\nIt is kept here as it arrived (encrypted). \
             Decide what to do with it, then take it out of the inbox with \
             `sealcam records dismiss {id} --reason …`.\n"
        );
        let mut files: Vec<(&str, &[u8])> = vec![("reason.txt", reason.as_bytes())];
        if let Some(c) = ciphertext {
            files.push(("envelope.sealcam", c));
        }
        write_dir(self.quarantine, &id.to_string(), &files)?;
        Ok(Outcome::Quarantined(why))
    }
}

/// The FHIR sender, or why the envelope goes to quarantine. A device's
/// certificate must verify against `org` at the envelope's creation time
/// (checked by `open`) and at `received_at`, when the store (by its signed
/// receipt) received it; and the record must name the clinician the
/// certificate names.
fn classify<'a>(
    opened: &'a Opened,
    org: &OrgPublicKey,
    received_at: u64,
    link: &LinkCheck<'_>,
) -> (Option<fhir::Sender<'a>>, Option<String>) {
    match &opened.sender {
        Sender::Device {
            certificate,
            status,
        } => match status {
            CertificateStatus::Verified => {
                if let Err(e) = certificate.verify(org, received_at) {
                    return (
                        None,
                        Some(format!(
                            "the sender's device certificate was NOT VALID when the store \
                             received it ({}): {e}",
                            crate::rfc3339(received_at)
                        )),
                    );
                }
                if opened.created_at > received_at.saturating_add(MAX_CLOCK_SKEW_SECS) {
                    return (
                        None,
                        Some("it claims to have been made after the store received it".into()),
                    );
                }
                if opened.record.clinician() != certificate.clinician() {
                    return (
                        None,
                        Some(
                            "its record names a different clinician than the sending device's \
                             certificate (the device cannot vouch for them)"
                                .into(),
                        ),
                    );
                }
                (
                    Some(fhir::Sender::VerifiedDevice {
                        device_id: certificate.device_key().id().to_string(),
                        certified: certificate.clinician(),
                    }),
                    None,
                )
            }
            CertificateStatus::Rejected(e) => (
                None,
                Some(format!(
                    "the sender's device certificate is NOT VERIFIED against the organisation \
                     key: {e}"
                )),
            ),
            // open() was given the org key, so it always checks.
            CertificateStatus::NotChecked => (
                None,
                Some("the sender's device certificate was not checked".to_string()),
            ),
        },
        // Patients' uploads carry no device certificate: filed as
        // patient-submitted only when the record says so and the link's
        // capability, sealed inside, shows an enrolled key made the link
        // (a store cannot mint one) and allowed this upload.
        Sender::Unsigned if opened.record.source() == Source::PatientLink => {
            match check_link(opened, link) {
                Ok(vouched_by) => (Some(fhir::Sender::PatientLink { vouched_by }), None),
                Err(why) => (None, Some(why)),
            }
        }
        Sender::Unsigned => (
            None,
            Some(format!(
                "it is UNSIGNED, but its record says it came from {} (only patient-link uploads \
                 may be unsigned)",
                opened.record.source().as_str().replace('_', " ")
            )),
        ),
    }
}

/// What a patient-link upload is checked against.
struct LinkCheck<'a> {
    org: &'a OrgPublicKey,
    /// Staff keys whose links this workstation accepts (its own, and
    /// --trust-staff-key).
    trusted_staff: &'a [StaffPublicKey],
    /// When the store received it (its signed receipt).
    received_at: u64,
    /// The recipients in the envelope's header.
    recipients: &'a [RecipientId],
    /// The inbox entry: the link and context the store attached.
    entry: &'a InboxEntry,
}

/// Checks the capability sealed in a patient-link upload's record; the
/// creator in words, or why it is not vouched for.
fn check_link(opened: &Opened, c: &LinkCheck<'_>) -> Result<String, String> {
    let Some(bytes) = opened.record.link_capability() else {
        return Err(
            "it is an unsigned patient upload without a link capability: no enrolled key \
             vouches for the link it came through (anyone able to write to the store could \
             have made it)"
                .into(),
        );
    };
    let cap = LinkCapability::from_bytes(bytes)
        .map_err(|_| "its link capability is malformed".to_string())?;
    cap.vouches_for(c.org, c.trusted_staff, c.received_at, c.recipients)
        .map_err(|e| format!("its link capability does not vouch for it: {e}"))?;
    let terms = cap.terms();
    if c.entry.link_id.map(|l| l.0) != Some(terms.link_id) {
        return Err("the store says it came through another link than its capability names".into());
    }
    if context_commitment(c.entry.context.as_deref()) != terms.context_blake3 {
        return Err("the context the store attached is not the one its link was made with".into());
    }
    Ok(match cap.creator() {
        KeyLinkCreator::Device(cert) => format!(
            "device {} certified for {}",
            cert.device_key().id(),
            fhir::clinician_text(cert.clinician())
        ),
        KeyLinkCreator::Staff(key) => format!("staff key {}", key.id()),
    })
}

/// The FHIR content type and file extension of an image.
fn image_kind(media_type: MediaType, image: &[u8]) -> (&'static str, &'static str) {
    match media_type {
        MediaType::Jpeg => ("image/jpeg", "jpg"),
        MediaType::Png => ("image/png", "png"),
        MediaType::Webp => ("image/webp", "webp"),
        MediaType::Heif => heif_kind(image),
    }
}

/// HEIC, AVIF or other HEIF, from the `ftyp` box's brands.
fn heif_kind(image: &[u8]) -> (&'static str, &'static str) {
    const HEIC: [&[u8; 4]; 6] = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
    const AVIF: [&[u8; 4]; 2] = [b"avif", b"avis"];
    let brands = ftyp_brands(image);
    let is = |set: &[&[u8; 4]], b: &[u8; 4]| set.contains(&b);
    // The major brand decides; else the first compatible brand that does.
    for b in &brands {
        if is(&AVIF, b) {
            return ("image/avif", "avif");
        }
        if is(&HEIC, b) {
            return ("image/heic", "heic");
        }
    }
    ("image/heif", "heif")
}

/// Major brand, then compatible brands, of a leading `ftyp` box.
fn ftyp_brands(b: &[u8]) -> Vec<[u8; 4]> {
    let mut out = Vec::new();
    if b.len() < 16 || &b[4..8] != b"ftyp" {
        return out;
    }
    let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let end = size.clamp(16, b.len());
    let mut at = 8;
    while at + 4 <= end {
        if at != 12 {
            // 12..16 is the minor version.
            out.push([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        }
        at += 4;
    }
    out
}

/// The store's error message, or "no details".
fn store_message(body: &[u8]) -> String {
    ErrorBody::from_json(body).map_or_else(|| "no details".to_string(), |e| e.message)
}

/// Creates `dir` (mode 0700) if missing; refuses a file.
fn prepare_dir(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => anyhow::bail!("{} exists and is not a directory", dir.display()),
        Err(_) => {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir)
                .with_context(|| format!("cannot create {}", dir.display()))
        }
    }
}

/// Removes `.tmp-*` directories left in `dir` by a run that was stopped
/// while writing.
fn remove_leftovers(dir: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let leftover = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TMP_PREFIX));
        if leftover && entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(entry.path()).with_context(|| {
                format!("cannot remove the unfinished {}", entry.path().display())
            })?;
        }
    }
    Ok(())
}

/// Writes `files` into `parent/name/` atomically
/// (`sealcam_platform::fsio::write_dir_atomic`): all or nothing.
fn write_dir(parent: &Path, name: &str, files: &[(&str, &[u8])]) -> Result<()> {
    let target = parent.join(name);
    fsio::write_dir_atomic(parent, name, files).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} appeared while it was being written (is another pull running into the same \
                 directory?)",
                target.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot write {}", target.display()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heif_brands_pick_the_extension() {
        let ftyp = |major: &[u8; 4], compat: &[&[u8; 4]]| {
            let mut b = Vec::new();
            b.extend_from_slice(&((16 + 4 * compat.len()) as u32).to_be_bytes());
            b.extend_from_slice(b"ftyp");
            b.extend_from_slice(major);
            b.extend_from_slice(&[0, 0, 0, 0]);
            for c in compat {
                b.extend_from_slice(*c);
            }
            b.extend_from_slice(b"\0\0\0\x08meta");
            b
        };
        assert_eq!(
            heif_kind(&ftyp(b"heic", &[b"mif1"])),
            ("image/heic", "heic")
        );
        assert_eq!(
            heif_kind(&ftyp(b"avif", &[b"mif1"])),
            ("image/avif", "avif")
        );
        assert_eq!(
            heif_kind(&ftyp(b"mif1", &[b"mif1", b"avif"])),
            ("image/avif", "avif")
        );
        assert_eq!(
            heif_kind(&ftyp(b"mif1", &[b"heic", b"mif1"])),
            ("image/heic", "heic")
        );
        assert_eq!(
            heif_kind(&ftyp(b"mif1", &[b"mif1"])),
            ("image/heif", "heif")
        );
        assert_eq!(heif_kind(b"short"), ("image/heif", "heif"));
        // The minor version is not a brand.
        let mut b = ftyp(b"mif1", &[]);
        b[12..16].copy_from_slice(b"avif");
        assert_eq!(heif_kind(&b), ("image/heif", "heif"));
    }

    #[test]
    fn leftovers_are_removed_and_nothing_else() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(d.path().join(".tmp-abc-123")).expect("mk");
        std::fs::write(d.path().join(".tmp-abc-123/x"), b"x").expect("w");
        std::fs::create_dir(d.path().join("abc")).expect("mk");
        std::fs::write(d.path().join(".tmp-file"), b"x").expect("w");
        remove_leftovers(d.path()).expect("clean");
        let mut names: Vec<String> = std::fs::read_dir(d.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".tmp-file", "abc"]);
    }
}
