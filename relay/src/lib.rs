//! The relay agent: takes a captured image to the store reliably, through
//! Wi-Fi dead zones and app kills (feature `relay`).
//!
//! ```text
//! enroll(payload) ─▶ device key, pinned store + org key ─▶ (admin approves) ─▶ refresh(): certificate + directory
//! capture(image, record) ─▶ sanitize ─▶ seal to the directory ─▶ outbox (ciphertext, atomic)   ← no network
//! sync() / uploader thread ─▶ PUT to the store ─▶ verify the signed receipt ─▶ delete from the outbox
//! ```
//!
//! The facade ([`Relay`]) is shaped for the phone bridges: an opaque
//! handle, byte buffers and strings in and out, errors with fixed codes
//! ([`RelayError::code`], a [`sealcam_core::ErrorCode`]), no generics or
//! lifetimes. `sealcam-bridge` wraps it for the front ends. Calls block;
//! the bridges run them off the UI thread. Network calls use reqwest's
//! blocking client (tokio underneath) with rustls pinned to the store's
//! key ([`pin`]); no OpenSSL.
//!
//! Crash safety: an envelope is in the outbox (complete) before
//! [`Relay::capture`] returns, and leaves it only after the store's
//! receipt for exactly its bytes has verified against the store key pinned
//! at enrolment. Uploads are idempotent by envelope id, so a kill between
//! the store's commit and the outbox delete only causes a harmless resend.

mod client;
mod enrolment;
mod error;
mod home;
mod outbox;
mod uploader;

pub use client::{StoreClient, Upload, MAX_SMALL_ANSWER};
pub use enrolment::EnrolmentPayload;
pub use error::RelayError;
pub use home::DeviceConfig;
pub use outbox::{Outbox, OutboxEntry, StagedFile};
/// A device's state on the store (the API's word).
pub use sealcam_core::protocol::api::DeviceState;
pub use sealcam_platform::TlsPin;
pub use uploader::{Backoff, UploaderHandle};

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex, MutexGuard};

use zeroize::Zeroizing;

use home::Home;
use sealcam_core::capture::{self, RecordDraft};
use sealcam_core::envelope::{self, EnvelopeId, Signer};
use sealcam_core::keys::{
    context_commitment, decode_key_file, encode_key_file, CertificateError, DeviceCertificate,
    DeviceSigningKey, KeyError, LinkCapability, LinkSigner, LinkTerms, Recipient, SignedDirectory,
};
use sealcam_core::protocol::api::{CreateLink, LinkCreated, Route};
use sealcam_core::sanitize;
use sealcam_core::ErrorCode;
use sealcam_platform::clock::unix_now;

/// Something a UI may want to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An envelope was sealed and queued.
    Queued {
        /// Its id.
        id: EnvelopeId,
        /// Its size in bytes.
        size: u64,
    },
    /// An envelope is being sent.
    Uploading {
        /// Its id.
        id: EnvelopeId,
    },
    /// The store confirmed it; it left the outbox.
    Uploaded {
        /// Its id.
        id: EnvelopeId,
    },
    /// The store refused it for good; moved to `outbox/rejected/`.
    Rejected {
        /// Its id.
        id: EnvelopeId,
        /// The HTTP status.
        status: u16,
    },
    /// Sending failed; it stays queued and will be retried.
    Retrying {
        /// The error code ([`RelayError::code`]).
        code: ErrorCode,
        /// Milliseconds until the next attempt (0 when not known).
        delay_ms: u64,
    },
}

/// What one [`Relay::sync`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Envelopes the store confirmed.
    pub uploaded: usize,
    /// Envelopes the store refused for good.
    pub rejected: usize,
    /// Envelopes still queued.
    pub remaining: usize,
}

/// The outbox at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The device's id.
    pub device_id: String,
    /// Whether it holds a certificate (approved).
    pub approved: bool,
    /// Whether the last [`Relay::refresh`] found the device revoked (not
    /// remembered across [`Relay::open`]).
    pub revoked: bool,
    /// The recipient directory's version, if one is held.
    pub directory_version: Option<u64>,
    /// Whether the held certificate is valid now.
    pub certificate_valid: bool,
    /// Envelopes queued.
    pub queued: Vec<OutboxEntry>,
    /// Envelopes the store refused.
    pub rejected: Vec<OutboxEntry>,
    /// The last error of a sync, if the last sync failed.
    pub last_error: Option<(ErrorCode, String)>,
}

/// A patient link, as created. The token is the capability: `Debug`
/// hides it, and it is shown once.
#[derive(Clone)]
pub struct PatientLink {
    /// The link's id (for listing and revoking).
    pub link_id: String,
    /// The page URL to send the patient: `<store>/p#<token>` (the token is
    /// in the fragment, which browsers do not send to servers or log).
    pub url: String,
    /// When it stops working (Unix seconds).
    pub expires_at: u64,
    /// How many uploads it allows.
    pub max_uploads: u64,
    /// The largest upload it accepts, in bytes.
    pub max_bytes: u64,
}

impl std::fmt::Debug for PatientLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientLink")
            .field("link_id", &self.link_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A sealed envelope written to the outbox but not yet queued
/// ([`Relay::stage_owned`]).
#[derive(Debug)]
pub struct Staged {
    /// The envelope's id.
    pub id: EnvelopeId,
    /// The SHA-256 of the sanitized image sealed in it (as its record says).
    pub image_sha256: [u8; 32],
    file: StagedFile,
}

/// How sending one envelope failed.
enum SendOne {
    /// The store refused it for good.
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// It could not be sent now.
    Failed(RelayError),
}

/// Reads a device key file (never passphrase-protected on the device: the
/// home directory is app-private; the text is wiped after parsing).
fn decode_device_key(text: Vec<u8>) -> Result<DeviceSigningKey, RelayError> {
    let text =
        Zeroizing::new(String::from_utf8(text).map_err(|_| RelayError::DamagedHome("device.key"))?);
    decode_key_file(&text, || {
        Err(KeyError::Malformed {
            expected: "an unprotected device key",
            reason: "the device key is passphrase-protected",
        })
    })
    .map_err(|_| RelayError::DamagedHome("device.key"))
}

struct Held {
    certificate: Option<DeviceCertificate>,
    directory: Option<SignedDirectory>,
    /// The store said "revoked" at the last refresh.
    revoked: bool,
    last_error: Option<(ErrorCode, String)>,
}

/// An enrolled device: the handle the CLI and the phone bridges hold.
pub struct Relay {
    home: Home,
    config: DeviceConfig,
    key: DeviceSigningKey,
    client: StoreClient,
    outbox: Outbox,
    held: Mutex<Held>,
    sync_lock: Mutex<()>,
    events: Mutex<Vec<Sender<Event>>>,
    wake: (Mutex<u64>, Condvar),
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("device_id", &self.config.device_id)
            .field("store", &self.config.store_url)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind
    // (no invariant spans the lock), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Relay {
    /// Enrols this device with the store named in `payload`, in the home
    /// directory `home`: checks the store's organisation key against the
    /// payload, generates the device key (or reuses the one a previous,
    /// interrupted attempt left), registers it with the one-time code, and
    /// saves the enrolment. The device is then pending until the
    /// administrator approves it; see [`Relay::refresh`].
    pub fn enroll(home: &Path, payload: &EnrolmentPayload) -> Result<Relay, RelayError> {
        let h = Home::new(home);
        if h.is_enrolled() {
            return Err(RelayError::AlreadyEnrolled);
        }
        h.create()?;
        let client = StoreClient::new(&payload.url, payload.pin)?;
        let info = client.info()?;
        // From here on, signed requests name this store (its receipt key,
        // read over the pinned connection and kept in device.json).
        let client = client.for_store(&info.store_key);
        let org = info.org_key.ok_or(RelayError::Store {
            status: 503,
            message: "the store has no organisation key yet (not bootstrapped)".to_owned(),
        })?;
        if org.id() != payload.org {
            return Err(RelayError::OrgMismatch);
        }
        // A key left by an attempt whose answer was lost is reused: the
        // store may already hold it, and the code is then spent.
        let key = match h.read_optional(&h.key(), "read device.key")? {
            Some(text) => decode_device_key(text)?,
            None => {
                let key = DeviceSigningKey::generate();
                // Without a passphrase there is no Argon2id: encoding
                // cannot fail, but is not assumed not to.
                let text = encode_key_file(&key, None, unix_now())
                    .map_err(|_| RelayError::Internal("the device key could not be encoded"))?;
                h.write(&h.key(), text.as_bytes(), "write device.key")?;
                key
            }
        };
        let device_id = match client.enrol(&payload.code, &key) {
            Ok(me) => me.device_id,
            // The code is spent or the key already known: if the store
            // knows this key, the earlier attempt went through.
            Err(e @ (RelayError::CodeRefused | RelayError::Store { status: 409, .. })) => {
                match client.me(&key) {
                    Ok(me) => me.device_id,
                    Err(_) => return Err(e),
                }
            }
            Err(e) => {
                // Nothing was registered for certain only when the store
                // refused the request itself; keep the key otherwise.
                if !e.is_transient() {
                    let _ = h.remove(&h.key(), "remove device.key");
                }
                return Err(e);
            }
        };
        if device_id != key.public().id() {
            return Err(RelayError::DamagedHome(
                "device.key (the store names another device)",
            ));
        }
        h.save_config(&DeviceConfig {
            version: 1,
            store_url: payload.url.clone(),
            tls_pin: payload.pin.to_string(),
            org_key: org,
            store_key: info.store_key,
            device_id,
            enrolled_at: unix_now(),
        })?;
        Relay::open(home)
    }

    /// Opens an enrolled device home (no network). A held certificate or
    /// directory that has expired, or does not verify, is set aside (not
    /// used to seal) rather than failing: the outbox must stay sendable,
    /// and [`Relay::refresh`] fetches new ones.
    pub fn open(home: &Path) -> Result<Relay, RelayError> {
        let h = Home::new(home);
        let config = h.load_config()?;
        let key_text = h
            .read_optional(&h.key(), "read device.key")?
            .ok_or(RelayError::DamagedHome("device.key (missing)"))?;
        let key = decode_device_key(key_text)?;
        if key.public().id() != config.device_id {
            return Err(RelayError::DamagedHome(
                "device.key (not this device's key)",
            ));
        }
        let pin = TlsPin::parse(&config.tls_pin).ok_or(RelayError::DamagedHome("device.json"))?;
        let client = StoreClient::new(&config.store_url, pin)?.for_store(&config.store_key);
        let outbox = Outbox::open(&h.outbox()).map_err(RelayError::io("open the outbox"))?;
        let relay = Relay {
            client,
            outbox,
            key,
            held: Mutex::new(Held {
                certificate: None,
                directory: None,
                revoked: false,
                last_error: None,
            }),
            sync_lock: Mutex::new(()),
            events: Mutex::new(Vec::new()),
            wake: (Mutex::new(0), Condvar::new()),
            config,
            home: h,
        };
        relay.load_held()?;
        Ok(relay)
    }

    /// Loads the certificate and directory kept in the home. Only their
    /// signatures (and the directory's version floor) are checked here;
    /// whether they are valid *now* is checked when sealing.
    fn load_held(&self) -> Result<(), RelayError> {
        let mut problems = Vec::new();
        let certificate = self
            .home
            .read_optional(&self.home.certificate(), "read certificate.bin")?
            .and_then(|b| match self.signed_certificate(&b) {
                Ok(c) => Some(c),
                Err(e) => {
                    problems.push(e);
                    None
                }
            });
        let floor = self.home.directory_floor()?;
        let directory = self
            .home
            .read_optional(&self.home.directory(), "read directory.bin")?
            .and_then(|b| match self.signed_directory(&b) {
                Ok((d, version)) if version >= floor => Some(d),
                Ok(_) => {
                    problems.push(RelayError::Untrusted(
                        "recipient directory (older than one already seen)",
                    ));
                    None
                }
                Err(e) => {
                    problems.push(e);
                    None
                }
            });
        let mut held = lock(&self.held);
        held.certificate = certificate;
        held.directory = directory;
        held.last_error = problems.first().map(|e| (e.code(), e.to_string()));
        Ok(())
    }

    /// A certificate signed by the pinned organisation for this device's
    /// key (validity period not checked).
    fn signed_certificate(&self, bytes: &[u8]) -> Result<DeviceCertificate, RelayError> {
        let cert = DeviceCertificate::from_bytes(bytes)
            .map_err(|_| RelayError::Untrusted("device certificate"))?;
        // Checked as of its own start: signature and issuer only.
        cert.verify(&self.config.org_key, cert.not_before())
            .map_err(|_| RelayError::Untrusted("device certificate"))?;
        if cert.device_key() != &self.key.public() {
            return Err(RelayError::Untrusted("device certificate"));
        }
        Ok(cert)
    }

    /// A directory signed by the pinned organisation, and its version
    /// (expiry not checked).
    fn signed_directory(&self, bytes: &[u8]) -> Result<(SignedDirectory, u64), RelayError> {
        let signed = SignedDirectory::from_bytes(bytes)
            .map_err(|_| RelayError::Untrusted("recipient directory"))?;
        // `now` = 0 is before any expiry: signature and issuer only.
        let version = signed
            .verify(&self.config.org_key, 0)
            .map_err(|_| RelayError::Untrusted("recipient directory"))?
            .version;
        Ok((signed, version))
    }

    /// The enrolment.
    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// Asks the store for this device's certificate (once the administrator
    /// has approved it) and the current recipient directory; verifies both
    /// against the pinned organisation key and keeps them. A directory that
    /// fails verification, has expired, or is older than any version this
    /// device has accepted before (kept as a floor that survives expiry),
    /// is refused and the held one kept.
    pub fn refresh(&self) -> Result<DeviceState, RelayError> {
        let now = unix_now();
        let me = self.client.me(&self.key)?;
        match me.state {
            DeviceState::Active => {
                let bytes = me
                    .certificate
                    .ok_or(RelayError::Untrusted("device certificate"))?;
                let cert = self.signed_certificate(&bytes)?;
                self.home
                    .write(&self.home.certificate(), &bytes, "write certificate.bin")?;
                let mut held = lock(&self.held);
                held.certificate = Some(cert);
                held.revoked = false;
            }
            DeviceState::Pending => return Ok(DeviceState::Pending),
            DeviceState::Revoked => {
                self.home
                    .remove(&self.home.certificate(), "remove certificate.bin")?;
                let mut held = lock(&self.held);
                held.certificate = None;
                held.revoked = true;
                return Ok(DeviceState::Revoked);
            }
        }
        let bytes = self.client.directory(&self.key)?;
        let (signed, version) = self.signed_directory(&bytes)?;
        match signed.verify(&self.config.org_key, now) {
            Ok(dir) if !dir.entries.is_empty() => {}
            Ok(_) => return Err(RelayError::NoDirectory),
            Err(_) => return Err(RelayError::NoDirectory),
        }
        if version < self.home.directory_floor()? {
            return Err(RelayError::Untrusted(
                "recipient directory (older than one already seen)",
            ));
        }
        // The floor first: a crash between the two writes leaves a floor
        // the held copy still meets or the new copy sets.
        self.home.set_directory_floor(version)?;
        self.home
            .write(&self.home.directory(), &bytes, "write directory.bin")?;
        lock(&self.held).directory = Some(signed);
        Ok(DeviceState::Active)
    }

    /// Captures a photo: [`sealcam_core::capture::capture`] with this
    /// device's certificate, key and recipient directory, at the time of
    /// the call; the envelope is durably queued before this returns. No
    /// network. See [`Relay::capture_owned`] to hand over the camera's
    /// buffer instead of copying it.
    pub fn capture(&self, image: &[u8], draft: &RecordDraft) -> Result<EnvelopeId, RelayError> {
        let recipients = self.recipient_count().unwrap_or(1);
        let mut owned = Vec::with_capacity(envelope::owned_capacity(image.len(), recipients));
        owned.extend_from_slice(image);
        self.capture_owned(owned, draft)
    }

    /// How many recipients the held directory names, if one is held.
    fn recipient_count(&self) -> Option<usize> {
        let held = lock(&self.held);
        held.directory
            .as_ref()
            .and_then(|d| d.verify(&self.config.org_key, 0).ok())
            .map(|d| d.entries.len())
    }

    /// [`Relay::capture`] taking ownership of the image's buffer (the
    /// camera's): it is stripped in place and becomes the envelope, so no
    /// second copy of the photo exists in memory. Reserve
    /// [`envelope::owned_capacity`] in it to avoid a reallocation. The
    /// buffer is wiped whatever happens.
    pub fn capture_owned(
        &self,
        image: Vec<u8>,
        draft: &RecordDraft,
    ) -> Result<EnvelopeId, RelayError> {
        let staged = self.stage_owned(image, draft)?;
        let id = staged.id;
        self.commit(vec![staged])?;
        Ok(id)
    }

    /// Seals a photo as [`Relay::capture_owned`] does and writes the
    /// envelope to the outbox durably, but does not queue it yet: a batch
    /// of staged envelopes is queued together by [`Relay::commit`] (or
    /// dropped by [`Relay::discard`]), so that a batch with one image that
    /// cannot be sent queues none. `sealcam send` works this way.
    pub fn stage_owned(&self, image: Vec<u8>, draft: &RecordDraft) -> Result<Staged, RelayError> {
        let image = Zeroizing::new(image);
        let now = unix_now();
        let (certificate, recipients) = self.sealing_material(now)?;
        let mut image = image;
        let captured = capture::capture(
            std::mem::take(&mut *image),
            draft,
            &recipients,
            Signer::Device {
                key: &self.key,
                certificate: &certificate,
            },
            now,
            &sanitize::Options::default(),
        )?;
        let file = self
            .outbox
            .stage(&captured.id, &captured.envelope)
            .map_err(RelayError::io("write the envelope to the outbox"))?;
        Ok(Staged {
            id: captured.id,
            image_sha256: *captured.record.image().sha256(),
            file,
        })
    }

    /// Queues staged envelopes (one directory sync for the batch) and
    /// wakes the uploader.
    pub fn commit(&self, staged: Vec<Staged>) -> Result<(), RelayError> {
        let staged: Vec<StagedFile> = staged.into_iter().map(|s| s.file).collect();
        let result = self
            .outbox
            .commit(&staged)
            .map_err(RelayError::io("queue envelopes in the outbox"));
        if result.is_err() {
            self.outbox.discard(&staged);
        }
        result?;
        for s in &staged {
            self.emit(Event::Queued {
                id: s.id,
                size: s.size,
            });
        }
        self.wake_uploader();
        Ok(())
    }

    /// Drops staged envelopes that will not be queued.
    pub fn discard(&self, staged: Vec<Staged>) {
        let staged: Vec<StagedFile> = staged.into_iter().map(|s| s.file).collect();
        self.outbox.discard(&staged);
    }

    /// Whether [`Relay::capture`] could seal now (no network): approved,
    /// not revoked, the certificate valid, a valid directory held. The
    /// error is the one a capture would give.
    pub fn check_ready(&self) -> Result<(), RelayError> {
        self.sealing_material(unix_now()).map(|_| ())
    }

    /// The certificate (valid at `now`) and the recipients (from the
    /// directory, valid at `now`) to seal with.
    fn sealing_material(
        &self,
        now: u64,
    ) -> Result<(DeviceCertificate, Vec<Recipient>), RelayError> {
        let held = lock(&self.held);
        let device = || self.config.device_id.to_string();
        let certificate = match (&held.certificate, held.revoked) {
            (Some(c), _) => c.clone(),
            (None, true) => return Err(RelayError::Revoked(device())),
            (None, false) => return Err(RelayError::NotApproved(device())),
        };
        match certificate.verify(&self.config.org_key, now) {
            Ok(()) => {}
            Err(CertificateError::Expired) => return Err(RelayError::CertificateExpired),
            Err(CertificateError::NotYetValid) => return Err(RelayError::CertificateNotYetValid),
            Err(_) => return Err(RelayError::Untrusted("device certificate")),
        }
        let dir = held
            .directory
            .as_ref()
            .ok_or(RelayError::NoDirectory)?
            .verify(&self.config.org_key, now)
            .map_err(|_| RelayError::NoDirectory)?;
        let recipients: Vec<Recipient> = dir.entries.iter().map(|e| e.recipient).collect();
        Ok((certificate, recipients))
    }

    /// One pass over the outbox, oldest first: sends each envelope and
    /// removes it once the store's receipt verifies. See [`Relay::sync_until`].
    pub fn sync(&self) -> Result<SyncReport, RelayError> {
        self.sync_until(&AtomicBool::new(false))
    }

    /// [`Relay::sync`], stopping between envelopes once `stop` is set.
    ///
    /// A network failure ends the pass (the rest would fail the same way);
    /// a failure of one envelope (the store erring on it, a bad receipt, an
    /// unreadable file) is recorded and the pass goes on with the next, so
    /// one bad envelope cannot hold up the queue. Either way the pass
    /// returns the first error, and every envelope not confirmed stays
    /// queued. An envelope the store refuses for good (its own error code)
    /// is moved to `outbox/rejected/` with the reason beside it.
    pub fn sync_until(&self, stop: &AtomicBool) -> Result<SyncReport, RelayError> {
        let _one_at_a_time = lock(&self.sync_lock);
        let mut report = SyncReport::default();
        let mut first_error = None;
        let entries = self
            .outbox
            .list()
            .map_err(RelayError::io("list the outbox"))?;
        for entry in &entries {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            self.emit(Event::Uploading { id: entry.id });
            match self.send_one(&entry.id) {
                Ok(Some(())) => {
                    report.uploaded += 1;
                    self.emit(Event::Uploaded { id: entry.id });
                }
                // Gone meanwhile (another process sent it): fine.
                Ok(None) => {}
                Err(SendOne::Refused {
                    status,
                    code,
                    message,
                }) => {
                    self.outbox
                        .reject(&entry.id, &format!("{status} {code}: {message}"))
                        .map_err(RelayError::io("move a refused envelope aside"))?;
                    report.rejected += 1;
                    self.emit(Event::Rejected {
                        id: entry.id,
                        status,
                    });
                }
                Err(SendOne::Failed(e)) => {
                    let network = matches!(e, RelayError::Network(_));
                    first_error.get_or_insert(e);
                    if network {
                        break;
                    }
                }
            }
        }
        report.remaining = self
            .outbox
            .list()
            .map_err(RelayError::io("list the outbox"))?
            .len();
        match first_error {
            Some(e) => Err(self.failed(e)),
            None => {
                lock(&self.held).last_error = None;
                Ok(report)
            }
        }
    }

    /// Sends one queued envelope, streaming it from its file; removes it on
    /// a receipt that verifies and names exactly its bytes. `Ok(None)` when
    /// it is no longer queued.
    fn send_one(&self, id: &EnvelopeId) -> Result<Option<()>, SendOne> {
        let io = |what| move |e| SendOne::Failed(RelayError::Io { what, source: e });
        let Some((digest, size)) = self.outbox.digest(id).map_err(io("read the outbox"))? else {
            return Ok(None);
        };
        let Some(file) = self.outbox.open_file(id).map_err(io("read the outbox"))? else {
            return Ok(None);
        };
        match self.client.upload(&self.key, id, file, size, &digest) {
            Ok(Upload::Stored(receipt)) => {
                receipt
                    .confirms_digest(&self.config.store_key, id, &digest, size)
                    .map_err(|_| SendOne::Failed(RelayError::BadReceipt))?;
                self.outbox
                    .remove(id)
                    .map_err(io("remove a sent envelope from the outbox"))?;
                Ok(Some(()))
            }
            Ok(Upload::Refused {
                status,
                code,
                message,
            }) => Err(SendOne::Refused {
                status,
                code,
                message,
            }),
            Err(e) => Err(SendOne::Failed(e)),
        }
    }

    /// The store's reason for refusing an envelope, if recorded.
    pub fn rejection_reason(&self, id: &EnvelopeId) -> Option<String> {
        self.outbox.rejection_reason(id)
    }

    /// Puts every envelope the store refused back in the queue (after the
    /// cause, e.g. a store misconfiguration, has been fixed). Returns how
    /// many.
    pub fn requeue_rejected(&self) -> Result<usize, RelayError> {
        self.outbox
            .requeue_rejected()
            .map_err(RelayError::io("requeue refused envelopes"))
    }

    fn failed(&self, e: RelayError) -> RelayError {
        lock(&self.held).last_error = Some((e.code(), e.to_string()));
        e
    }

    /// Creates a patient link on the store, this device as its creator,
    /// vouched for by a capability this device signs
    /// ([`sealcam_core::keys::LinkCapability`]): the link sends to the
    /// recipients of the directory held now, and records staff can check
    /// who made it. `None` takes the store's defaults (as `GET /v1/info`
    /// gives them). `context` is an opaque blob, sealed by the caller to
    /// the recipients, that the store attaches to every upload through the
    /// link; the capability commits to it.
    pub fn create_link(
        &self,
        expires_in_secs: Option<u64>,
        max_uploads: Option<u64>,
        max_bytes: Option<u64>,
        context: Option<&[u8]>,
    ) -> Result<PatientLink, RelayError> {
        let now = unix_now();
        let (certificate, recipients) = self.sealing_material(now)?;
        let defaults = self.client.info()?.limits;
        let max_uploads = match max_uploads {
            Some(n) => u32::try_from(n).map_err(|_| RelayError::Store {
                status: 400,
                message: "a link allows at most 4294967295 uploads".to_owned(),
            })?,
            None => defaults.link_default_max_uploads,
        };
        let lifetime = expires_in_secs.unwrap_or(defaults.link_default_expires_in_secs);
        let mut link_id = [0u8; 16];
        getrandom::fill(&mut link_id)
            .map_err(|_| RelayError::Internal("the random number generator failed"))?;
        let terms = LinkTerms {
            org_id: self.config.org_key.id(),
            link_id,
            created_at: now,
            expires_at: now.saturating_add(lifetime),
            max_uploads,
            max_bytes: max_bytes.unwrap_or(defaults.link_default_max_bytes),
            context_blake3: context_commitment(context),
            recipients: recipients.iter().map(Recipient::id).collect(),
        };
        let capability = LinkCapability::sign(
            terms,
            LinkSigner::Device {
                key: &self.key,
                certificate: &certificate,
            },
        )
        .map_err(|_| RelayError::Store {
            status: 400,
            message: "max_uploads and max_bytes must be at least 1".to_owned(),
        })?;
        let body = CreateLink {
            capability: Some(capability.to_bytes()),
            context: context.map(<[u8]>::to_vec),
            expires_in_secs: None,
            max_bytes: None,
            max_uploads: None,
        };
        let created: LinkCreated = self
            .client
            .signed_json(&self.key, &Route::CreateLink, &body)?;
        Ok(PatientLink {
            link_id: created.link_id.to_string(),
            url: format!("{}/p#{}", self.config.store_url, created.token.expose()),
            expires_at: created.expires_at,
            max_uploads: u64::from(created.max_uploads),
            max_bytes: created.max_bytes,
        })
    }

    /// This device's certificate, once approved.
    pub fn certificate(&self) -> Option<DeviceCertificate> {
        lock(&self.held).certificate.clone()
    }

    /// The outbox and enrolment at a glance (no network).
    pub fn status(&self) -> Result<Status, RelayError> {
        let held = lock(&self.held);
        let now = unix_now();
        Ok(Status {
            device_id: self.config.device_id.to_string(),
            approved: held.certificate.is_some(),
            revoked: held.revoked,
            certificate_valid: held
                .certificate
                .as_ref()
                .is_some_and(|c| c.verify(&self.config.org_key, now).is_ok()),
            directory_version: held
                .directory
                .as_ref()
                .and_then(|d| d.verify(&self.config.org_key, now).ok())
                .map(|d| d.version),
            queued: self
                .outbox
                .list()
                .map_err(RelayError::io("list the outbox"))?,
            rejected: self
                .outbox
                .rejected()
                .map_err(RelayError::io("list the outbox"))?,
            last_error: held.last_error.clone(),
        })
    }

    /// Subscribes to events. Dropped receivers are forgotten.
    pub fn subscribe(&self, sender: Sender<Event>) {
        lock(&self.events).push(sender);
    }

    fn emit(&self, event: Event) {
        lock(&self.events).retain(|s| s.send(event.clone()).is_ok());
    }

    fn wake_uploader(&self) {
        let (m, cv) = &self.wake;
        *lock(m) += 1;
        cv.notify_all();
    }
}
