//! `sealcam admin …`: the administrator's side of the store.
//!
//! The administrator holds the organisation key (offline, ideally
//! passphrase-protected) and an admin home directory (`--admin-home`,
//! default `./sealcam-admin`) holding `admin.json` (the store's URL, TLS
//! pin and key, and where the organisation key file is) and
//! `directory.json` (the draft recipient directory). Every request is
//! signed with the organisation key; the store never sees that key.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sealcam_core::keys::{
    DeviceCertificate, DeviceId, DirectoryEntry, OrgSigningKey, Recipient, RecipientDirectory,
    StaffPublicKey, StorePublicKey,
};
use sealcam_core::protocol::api::{
    AddStaff, AuditQuery, BootstrapRequest, Bootstrapped, CodeInput, CreateEnrolment,
    DeviceCertified, DeviceState, DeviceSummary, DirectoryPublished, EnrolmentCreated, EnrolmentId,
    EnrolmentSummary, LinkSummary, Route, StaffAdded, StaffName, StaffSummary,
};
use sealcam_core::protocol::enrolment::OneTimeCode;
use sealcam_core::record::Clinician;
use sealcam_relay::{EnrolmentPayload, StoreClient, TlsPin, MAX_SMALL_ANSWER};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clinician_args::ClinicianArgs;
use crate::keyfile;
use crate::passphrase::PassphraseArgs;
use crate::storeapi::{self, parse_duration};

#[derive(clap::Args)]
pub struct AdminArgs {
    /// The admin home directory (admin.json, directory.json).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "SEALCAM_ADMIN_HOME",
        default_value = "sealcam-admin"
    )]
    admin_home: PathBuf,
    /// List commands print one JSON object per line (for scripts) instead
    /// of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(clap::Subcommand)]
enum AdminCommand {
    /// Register the organisation key with a new store, using the one-time
    /// bootstrap code the store printed when it first started.
    Bootstrap(BootstrapArgs),
    /// The recipient directory: who envelopes are sealed to.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// One-time enrolment codes for devices.
    #[command(subcommand)]
    Enrol(EnrolCommand),
    /// Enrolled devices: list, approve (certify), revoke.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Records staff: who may fetch envelopes for which recipient key.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Patient links: list and revoke.
    #[command(subcommand)]
    Links(LinksCommand),
    /// The store's audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(clap::Args)]
struct BootstrapArgs {
    /// The store's URL, as it printed it (https://…).
    #[arg(long, value_name = "URL")]
    store: String,
    /// The store's TLS pin, as it printed it (sha256/…).
    #[arg(long, value_name = "PIN")]
    pin: String,
    /// The one-time bootstrap code the store printed, or `-` to read it
    /// from standard input (keeps it out of the process list). Also
    /// SEALCAM_BOOTSTRAP_CODE.
    #[arg(
        long,
        value_name = "CODE",
        env = "SEALCAM_BOOTSTRAP_CODE",
        hide_env_values = true
    )]
    code: String,
    /// The organisation's secret key file (`sealcam keygen --kind org`).
    #[arg(long, value_name = "ORGKEY")]
    org_key: PathBuf,
}

#[derive(clap::Subcommand)]
enum DirectoryCommand {
    /// Add (or replace) a recipient in the draft directory.
    Add {
        /// The recipient string (`sealcam1…`) or a file holding it.
        recipient: String,
        /// A name people recognise ("Dermatology records").
        #[arg(long)]
        name: String,
        /// Its role ("records", "consultant", …).
        #[arg(long, default_value = "records")]
        role: String,
    },
    /// Remove a recipient from the draft directory.
    Remove {
        /// The recipient string or its id (32 hex digits).
        recipient: String,
    },
    /// Show the draft directory.
    List,
    /// Sign the draft with the organisation key and publish it to the store.
    Publish {
        /// How long devices may use it before they need a newer one.
        #[arg(long, default_value = "365d", value_name = "DURATION")]
        valid_for: String,
    },
}

#[derive(clap::Subcommand)]
enum EnrolCommand {
    /// Create a one-time enrolment code for a clinician's device; prints the
    /// enrolment payload (and a QR code of it) to give to the device.
    Create {
        #[command(flatten)]
        clinician: ClinicianArgs,
        /// How long the code is valid (at most 7 days).
        #[arg(long, default_value = "24h", value_name = "DURATION")]
        expires_in: String,
        /// Do not print the QR code.
        #[arg(long)]
        no_qr: bool,
    },
    /// List enrolment codes (never the codes themselves).
    List,
    /// Revoke an unused enrolment code.
    Revoke {
        /// The enrolment's id.
        id: String,
    },
}

#[derive(clap::Subcommand)]
enum DevicesCommand {
    /// List devices and their state.
    List,
    /// Approve pending devices: sign a certificate binding each device key
    /// to the clinician named when its enrolment code was made.
    Approve {
        /// Device ids to approve (default with --all: every pending device).
        ids: Vec<String>,
        /// Approve every pending device.
        #[arg(long)]
        all: bool,
        /// How long the certificates are valid.
        #[arg(long, default_value = "365d", value_name = "DURATION")]
        valid_for: String,
    },
    /// Revoke a device: its requests are refused from then on.
    Revoke {
        /// The device's id.
        id: String,
    },
}

#[derive(clap::Subcommand)]
enum StaffCommand {
    /// Register a records staff member.
    Add {
        /// Their name.
        #[arg(long)]
        name: String,
        /// The recipient they decrypt for (`sealcam1…`, or a file).
        #[arg(long)]
        recipient: String,
        /// Their auth key (`sealcamstaff1…`, or a file; `sealcam keygen --kind staff`).
        #[arg(long)]
        auth_key: String,
    },
    /// List staff.
    List,
    /// Remove a staff member.
    Remove {
        /// Their staff id.
        id: String,
    },
}

#[derive(clap::Subcommand)]
enum LinksCommand {
    /// List patient links.
    List,
    /// Revoke a patient link.
    Revoke {
        /// The link's id.
        id: String,
    },
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Print audit entries as JSON lines.
    Export {
        /// Only entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
    },
    /// Fetch the whole log and check its hash chain; check it still
    /// contains the head verified last time (kept in the admin home as
    /// audit-anchor.json), then move the anchor to the new head.
    Verify,
}

/// `audit-anchor.json`: the last audit entry this administrator verified.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditAnchor {
    seq: u64,
    hash: String,
}

/// `admin.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminConfig {
    version: u32,
    store_url: String,
    tls_pin: String,
    store_key: StorePublicKey,
    org_key_file: PathBuf,
}

/// `enrolments.json`: the enrolment codes this admin home made, by
/// enrolment id, kept (mode 0600, like the rest of the admin home) until
/// the device is approved: the code is what proves a pending device key
/// was registered by whoever received the payload (the enrolment binding),
/// and the clinician is taken from here, not from the store.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Enrolments {
    open: std::collections::BTreeMap<EnrolmentId, LocalEnrolment>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalEnrolment {
    code: OneTimeCode,
    clinician: Clinician,
    expires_at: u64,
}

/// `directory.json`: the draft directory.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Draft {
    last_published_version: u64,
    entries: Vec<DraftEntry>,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct DraftEntry {
    recipient: Recipient,
    name: String,
    role: String,
}

struct Admin {
    home: PathBuf,
    config: AdminConfig,
    client: StoreClient,
    passphrase: PassphraseArgs,
    /// `--json`: lists as JSON lines.
    json: bool,
}

impl Admin {
    fn open(home: &Path, passphrase: PassphraseArgs) -> Result<Admin> {
        let path = home.join("admin.json");
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "no admin configuration at {}; run `sealcam admin bootstrap` first (or give --admin-home)",
                path.display()
            )
        })?;
        let config: AdminConfig = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is damaged", path.display()))?;
        let pin = TlsPin::parse(&config.tls_pin).context("admin.json: the TLS pin is damaged")?;
        let client = StoreClient::new(&config.store_url, pin)?.for_store(&config.store_key);
        Ok(Admin {
            home: home.to_owned(),
            config,
            client,
            passphrase,
            json: false,
        })
    }

    fn org_key(&self) -> Result<OrgSigningKey> {
        keyfile::load_secret(
            &self.config.org_key_file,
            &self.passphrase,
            "organisation key",
        )
    }

    /// A signed request without a body; the answer as `T`.
    fn get<T: DeserializeOwned>(&self, org: &OrgSigningKey, route: &Route) -> Result<T> {
        let (status, bytes) = self.client.signed_request(
            org,
            route,
            Vec::new(),
            "application/json",
            MAX_SMALL_ANSWER,
        )?;
        storeapi::answer(status, &bytes)
    }

    /// A signed request with `body` (JSON or binary, as `content_type`
    /// says); the answer as `T`.
    fn send<T: DeserializeOwned>(
        &self,
        org: &OrgSigningKey,
        route: &Route,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<T> {
        let (status, bytes) =
            self.client
                .signed_request(org, route, body, content_type, MAX_SMALL_ANSWER)?;
        storeapi::answer(status, &bytes)
    }

    /// A signed request with `body` as JSON; the answer as `T`.
    fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        org: &OrgSigningKey,
        route: &Route,
        body: &B,
    ) -> Result<T> {
        self.send(org, route, serde_json::to_vec(body)?, "application/json")
    }

    /// A signed `DELETE` (204).
    fn delete(&self, org: &OrgSigningKey, route: &Route) -> Result<()> {
        let (status, bytes) = self.client.signed_request(
            org,
            route,
            Vec::new(),
            "application/json",
            MAX_SMALL_ANSWER,
        )?;
        storeapi::accepted(status, &bytes)
    }

    fn enrolments_path(&self) -> PathBuf {
        self.home.join("enrolments.json")
    }

    fn load_enrolments(&self) -> Result<Enrolments> {
        match std::fs::read(self.enrolments_path()) {
            Ok(b) => serde_json::from_slice(&b).context("enrolments.json is damaged"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Enrolments::default()),
            Err(e) => Err(e).context("cannot read enrolments.json"),
        }
    }

    fn save_enrolments(&self, e: &Enrolments) -> Result<()> {
        let json = zeroize::Zeroizing::new(serde_json::to_vec_pretty(e)?);
        crate::io::write_output(&self.enrolments_path(), &json)
    }

    fn draft_path(&self) -> PathBuf {
        self.home.join("directory.json")
    }

    fn load_draft(&self) -> Result<Draft> {
        match std::fs::read(self.draft_path()) {
            Ok(b) => serde_json::from_slice(&b).context("directory.json is damaged"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Draft::default()),
            Err(e) => Err(e).context("cannot read directory.json"),
        }
    }

    fn save_draft(&self, draft: &Draft) -> Result<()> {
        let json = serde_json::to_vec_pretty(draft)?;
        crate::io::write_output(&self.draft_path(), &json)
    }
}

pub fn run(args: AdminArgs) -> Result<()> {
    let home = args.admin_home;
    if let AdminCommand::Bootstrap(b) = &args.command {
        return bootstrap(&home, b, &args.passphrase);
    }
    let mut admin = Admin::open(&home, args.passphrase)?;
    admin.json = args.json;
    match args.command {
        AdminCommand::Bootstrap(_) => unreachable!("handled above"),
        AdminCommand::Directory(c) => directory(&admin, c),
        AdminCommand::Enrol(c) => enrol(&admin, c),
        AdminCommand::Devices(c) => devices(&admin, c),
        AdminCommand::Staff(c) => staff(&admin, c),
        AdminCommand::Links(c) => links(&admin, c),
        AdminCommand::Audit(c) => audit(&admin, c),
    }
}

fn bootstrap(home: &Path, b: &BootstrapArgs, passphrase: &PassphraseArgs) -> Result<()> {
    if home.join("admin.json").exists() {
        bail!(
            "{} already holds an admin configuration; use another --admin-home",
            home.display()
        );
    }
    let pin = TlsPin::parse(&b.pin).context(
        "--pin must be sha256/ followed by 44 base64 characters, as the store printed it",
    )?;
    let org: OrgSigningKey = keyfile::load_secret(&b.org_key, passphrase, "organisation key")?;
    let client = StoreClient::new(&b.store, pin)?;
    // The store's identity, over the pinned connection: the bootstrap
    // request is signed for this store alone.
    let store_key = client.info()?.store_key;
    let client = client.for_store(&store_key);
    let code = if b.code == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(std::io::stdin(), 256), &mut s)
            .context("cannot read the bootstrap code from standard input")?;
        s
    } else {
        b.code.clone()
    };
    let body = BootstrapRequest {
        code: CodeInput::new(&code),
        org_key: org.public(),
    };
    let (status, bytes) = client.signed_request(
        &org,
        &Route::Bootstrap,
        serde_json::to_vec(&body)?,
        "application/json",
        MAX_SMALL_ANSWER,
    )?;
    let _: Bootstrapped =
        storeapi::answer(status, &bytes).context("the store refused the bootstrap")?;
    let info = client.info()?;
    if info.org_key.as_ref() != Some(&org.public()) {
        bail!("the store does not report the organisation key just registered; check the store");
    }
    std::fs::create_dir_all(home).with_context(|| format!("cannot create {}", home.display()))?;
    let org_key_file = std::fs::canonicalize(&b.org_key).unwrap_or_else(|_| b.org_key.clone());
    let config = AdminConfig {
        version: 1,
        store_url: b.store.trim_end_matches('/').to_owned(),
        tls_pin: b.pin.clone(),
        store_key: info.store_key,
        org_key_file,
    };
    crate::io::write_output(
        &home.join("admin.json"),
        &serde_json::to_vec_pretty(&config)?,
    )?;
    println!(
        "bootstrapped: organisation {} registered with {}",
        org.public(),
        config.store_url
    );
    println!("admin home: {}", home.display());
    Ok(())
}

fn directory(admin: &Admin, c: DirectoryCommand) -> Result<()> {
    let mut draft = admin.load_draft()?;
    match c {
        DirectoryCommand::Add {
            recipient,
            name,
            role,
        } => {
            let recipient: Recipient = keyfile::parse_public(&recipient, "recipient")?;
            draft.entries.retain(|e| e.recipient != recipient);
            draft.entries.push(DraftEntry {
                recipient,
                name,
                role,
            });
            admin.save_draft(&draft)?;
            println!(
                "draft: {} recipient(s); publish with `sealcam admin directory publish`",
                draft.entries.len()
            );
        }
        DirectoryCommand::Remove { recipient } => {
            let before = draft.entries.len();
            draft.entries.retain(|e| {
                e.recipient.to_string() != recipient.trim()
                    && e.recipient.id().to_string() != recipient.trim()
            });
            if draft.entries.len() == before {
                bail!("no such recipient in the draft directory");
            }
            admin.save_draft(&draft)?;
            println!(
                "draft: {} recipient(s); publish with `sealcam admin directory publish`",
                draft.entries.len()
            );
        }
        DirectoryCommand::List => {
            println!(
                "draft directory (last published version {}):",
                draft.last_published_version
            );
            for e in &draft.entries {
                println!(
                    "  {}  {}  [{}]  {}",
                    e.recipient.id(),
                    e.name,
                    e.role,
                    e.recipient
                );
            }
        }
        DirectoryCommand::Publish { valid_for } => {
            if draft.entries.is_empty() {
                bail!("the draft directory is empty; add a recipient with `sealcam admin directory add`");
            }
            let valid = parse_duration(&valid_for)?;
            let org = admin.org_key()?;
            let now = crate::now_unix();
            let dir = RecipientDirectory {
                version: draft.last_published_version + 1,
                issued_at: now,
                expires_at: now.saturating_add(valid),
                entries: draft
                    .entries
                    .iter()
                    .map(|e| DirectoryEntry {
                        recipient: e.recipient,
                        name: e.name.clone(),
                        role: e.role.clone(),
                    })
                    .collect(),
            };
            let signed = dir.sign(&org).context("the directory is not valid")?;
            let _: DirectoryPublished = admin
                .send(
                    &org,
                    &Route::PublishDirectory,
                    signed.to_bytes(),
                    "application/octet-stream",
                )
                .context("the store refused the directory")?;
            draft.last_published_version = dir.version;
            admin.save_draft(&draft)?;
            println!(
                "published directory version {} with {} recipient(s)",
                dir.version,
                dir.entries.len()
            );
        }
    }
    Ok(())
}

fn enrol(admin: &Admin, c: EnrolCommand) -> Result<()> {
    let org = admin.org_key()?;
    match c {
        EnrolCommand::Create {
            clinician,
            expires_in,
            no_qr,
        } => {
            let clinician = clinician.clinician()?;
            let created: EnrolmentCreated = admin.send_json(
                &org,
                &Route::CreateEnrolment,
                &CreateEnrolment {
                    clinician: clinician.clone(),
                    expires_in_secs: Some(parse_duration(&expires_in)?),
                },
            )?;
            let mut local = admin.load_enrolments()?;
            let now = crate::now_unix();
            local.open.retain(|_, e| e.expires_at > now);
            local.open.insert(
                created.id,
                LocalEnrolment {
                    code: created.code.clone(),
                    clinician,
                    expires_at: created.expires_at,
                },
            );
            admin.save_enrolments(&local)?;
            let payload = EnrolmentPayload::new(
                &admin.config.store_url,
                TlsPin::parse(&admin.config.tls_pin)
                    .context("admin.json: the TLS pin is damaged")?,
                org.public().id(),
                created.code.expose(),
            )?;
            let text = payload.to_string();
            println!("enrolment payload (one use, secret: give it only to the device):");
            println!("{text}");
            if !no_qr {
                println!("{}", storeapi::qr(&text)?);
            }
            eprintln!(
                "enrolment {} expires at {}; after the device enrols, approve it with `sealcam admin devices approve`",
                created.id,
                crate::rfc3339(created.expires_at)
            );
        }
        EnrolCommand::List => {
            let list: Vec<EnrolmentSummary> = admin.get(&org, &Route::ListEnrolments)?;
            storeapi::print_list(&list, admin.json)?;
        }
        EnrolCommand::Revoke { id } => {
            let id: EnrolmentId = storeapi::parse_id(&id)?;
            admin.delete(&org, &Route::RevokeEnrolment(id))?;
            println!("revoked enrolment {id}");
        }
    }
    Ok(())
}

fn devices(admin: &Admin, c: DevicesCommand) -> Result<()> {
    let org = admin.org_key()?;
    match c {
        DevicesCommand::List => {
            let list: Vec<DeviceSummary> = admin.get(&org, &Route::ListDevices)?;
            storeapi::print_list(&list, admin.json)?;
        }
        DevicesCommand::Approve {
            ids,
            all,
            valid_for,
        } => {
            if ids.is_empty() && !all {
                bail!("name the devices to approve, or give --all for every pending device");
            }
            let valid = parse_duration(&valid_for)?;
            let ids = ids
                .iter()
                .map(|i| storeapi::parse_id(i))
                .collect::<Result<Vec<DeviceId>>>()?;
            let list: Vec<DeviceSummary> = admin.get(&org, &Route::ListDevices)?;
            let mut enrolments = admin.load_enrolments()?;
            let mut refused = Vec::new();
            let mut approved = 0;
            for d in &list {
                let id = d.device_id;
                if d.state != DeviceState::Pending || !(all || ids.contains(&id)) {
                    continue;
                }
                let key = d.device_key;
                if key.id() != id {
                    bail!("the store sent a device key that does not match its id {id}");
                }
                // Trust nothing the store says about who this is: the key
                // must carry a binding made with a code this admin home
                // created, and the clinician is the one recorded here.
                let Some(local) = enrolments.open.get(&d.enrolment_id) else {
                    refused.push(format!(
                        "device {id}: its enrolment code was not made from this admin home \
                         (or it was already used); approve it where the code was made, or revoke it"
                    ));
                    continue;
                };
                if !local.code.verify_binding(&key, &d.binding) {
                    refused.push(format!(
                        "device {id}: its key was NOT registered with the enrolment code \
                         (binding check failed) — the store may be compromised; revoke it with \
                         `sealcam admin devices revoke {id}` and investigate"
                    ));
                    continue;
                }
                let clinician = local.clinician.clone();
                // Valid from ten minutes ago: a device whose clock is a
                // little behind can use it at once.
                let now = crate::now_unix();
                let cert = DeviceCertificate::issue(
                    &org,
                    &key,
                    &clinician,
                    now.saturating_sub(600),
                    now.saturating_add(valid),
                )
                .context("cannot issue the certificate")?;
                let _: DeviceCertified = admin
                    .send(
                        &org,
                        &Route::CertifyDevice(id),
                        cert.to_bytes(),
                        "application/octet-stream",
                    )
                    .with_context(|| {
                        format!("the store refused the certificate for device {id}")
                    })?;
                println!(
                    "approved device {id} for {} ({} {})",
                    clinician.name, clinician.registration_body, clinician.registration_number
                );
                approved += 1;
                enrolments.open.remove(&d.enrolment_id);
                admin.save_enrolments(&enrolments)?;
            }
            for id in &ids {
                if !list.iter().any(|d| d.device_id == *id) {
                    bail!("no device {id} on the store");
                }
            }
            if approved == 0 && refused.is_empty() {
                println!("no pending devices to approve");
            }
            if !refused.is_empty() {
                bail!("not approved:\n  {}", refused.join("\n  "));
            }
        }
        DevicesCommand::Revoke { id } => {
            let id: DeviceId = storeapi::parse_id(&id)?;
            admin.delete(&org, &Route::RevokeDevice(id))?;
            println!("revoked device {id}");
        }
    }
    Ok(())
}

fn staff(admin: &Admin, c: StaffCommand) -> Result<()> {
    let org = admin.org_key()?;
    match c {
        StaffCommand::Add {
            name,
            recipient,
            auth_key,
        } => {
            let recipient: Recipient = keyfile::parse_public(&recipient, "recipient")?;
            let auth_key: StaffPublicKey = keyfile::parse_public(&auth_key, "staff auth key")?;
            let name = StaffName::new(&name).with_context(|| {
                format!(
                    "--name must be 1 to {} characters without control characters",
                    StaffName::MAX_CHARS
                )
            })?;
            let added: StaffAdded = admin.send_json(
                &org,
                &Route::AddStaff,
                &AddStaff {
                    auth_key,
                    name,
                    recipient,
                },
            )?;
            println!("added staff {}", added.staff_id);
        }
        StaffCommand::List => {
            let list: Vec<StaffSummary> = admin.get(&org, &Route::ListStaff)?;
            storeapi::print_list(&list, admin.json)?;
        }
        StaffCommand::Remove { id } => {
            let id = storeapi::parse_id(&id)?;
            admin.delete(&org, &Route::RemoveStaff(id))?;
            println!("removed staff {id}");
        }
    }
    Ok(())
}

fn links(admin: &Admin, c: LinksCommand) -> Result<()> {
    let org = admin.org_key()?;
    match c {
        LinksCommand::List => {
            let list: Vec<LinkSummary> = admin.get(&org, &Route::ListLinks)?;
            storeapi::print_list(&list, admin.json)?;
        }
        LinksCommand::Revoke { id } => {
            let id = storeapi::parse_id(&id)?;
            admin.delete(&org, &Route::RevokeLink(id))?;
            println!("revoked link {id}");
        }
    }
    Ok(())
}

/// Every audit entry after `after`, as the JSON lines the store sent.
fn audit_lines(admin: &Admin, org: &OrgSigningKey, mut after: u64) -> Result<Vec<String>> {
    use sealcam_core::protocol::audit::AuditEntry;
    const PAGE: usize = 1000;
    let mut lines = Vec::new();
    loop {
        let route = Route::Audit(AuditQuery {
            after: Some(after),
            limit: Some(PAGE as u64),
        });
        let (status, bytes) = admin.client.signed_request(
            org,
            &route,
            Vec::new(),
            "application/json",
            MAX_SMALL_ANSWER,
        )?;
        if status != 200 {
            return Err(storeapi::refusal(status, &bytes));
        }
        let text = String::from_utf8(bytes).context("the audit export is not UTF-8")?;
        let page: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        let n = page.len();
        if let Some(last) = page.last() {
            let seq = serde_json::from_str::<AuditEntry>(last)
                .context("an audit line is not an audit entry")?
                .seq;
            if seq <= after {
                bail!("the store sent audit entries out of order (seq {seq} after {after})");
            }
            after = seq;
        }
        lines.extend(page);
        if n < PAGE {
            return Ok(lines);
        }
    }
}

fn audit(admin: &Admin, c: AuditCommand) -> Result<()> {
    use sealcam_core::protocol::audit::{AuditEntry, ChainVerifier};
    let org = admin.org_key()?;
    match c {
        AuditCommand::Export { after } => {
            for line in audit_lines(admin, &org, after)? {
                println!("{line}");
            }
        }
        AuditCommand::Verify => {
            let anchor_path = admin.home.join("audit-anchor.json");
            let anchor: Option<AuditAnchor> = match std::fs::read(&anchor_path) {
                Ok(b) => Some(serde_json::from_slice(&b).context("audit-anchor.json is damaged")?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).context("cannot read audit-anchor.json"),
            };
            let mut chain = ChainVerifier::new();
            let mut anchor_seen = anchor.is_none();
            for line in audit_lines(admin, &org, 0)? {
                let entry: AuditEntry =
                    serde_json::from_str(&line).context("an audit line is not an audit entry")?;
                chain.push(&entry)?;
                if let Some(a) = &anchor {
                    if entry.seq == a.seq {
                        let (_, hash) = chain.head();
                        if sealcam_core::hex::encode(&hash) != a.hash {
                            bail!(
                                "the audit log was rewritten: entry {} is not the one verified last time",
                                a.seq
                            );
                        }
                        anchor_seen = true;
                    }
                }
            }
            if !anchor_seen {
                bail!(
                    "the audit log is shorter than when it was last verified (it had entry {}): entries were removed",
                    anchor.map_or(0, |a| a.seq)
                );
            }
            let (seq, hash) = chain.head();
            let json = serde_json::to_vec_pretty(&AuditAnchor {
                seq,
                hash: sealcam_core::hex::encode(&hash),
            })?;
            crate::io::write_output(&anchor_path, &json)?;
            println!("audit chain intact: {seq} entries; anchor moved to entry {seq}");
        }
    }
    Ok(())
}
