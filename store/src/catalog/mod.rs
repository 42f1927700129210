//! The catalog: everything the store knows except the envelope bytes.
//!
//! [`Catalog`] is the seam for a future PostgreSQL backend; [`SqliteCatalog`]
//! is the embedded default. Methods are blocking: handlers call them
//! through [`crate::state::AppState::db`], off the async runtime. Every
//! mutating method takes the [`AuditEvent`] describing it and appends it to
//! the audit chain in the same transaction.

mod sqlite;

pub use sqlite::SqliteCatalog;

use sealcam_core::envelope::EnvelopeId;
use sealcam_core::keys::{
    DeviceId, DevicePublicKey, OrgPublicKey, Recipient, RecipientId, StaffId, StaffPublicKey,
};
use sealcam_core::record::Clinician;

use crate::audit::{AuditEntry, AuditEvent};
use crate::config::FiledPolicy;
use crate::error::StoreError;
use crate::ids::{EnrolmentId, LinkId};

/// Result of catalog operations.
pub type CatalogResult<T> = Result<T, StoreError>;

/// Bootstrap outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The organisation key is now registered.
    Done,
    /// An organisation key was already registered.
    AlreadyBootstrapped,
    /// The code is not the current bootstrap code.
    BadCode,
}

/// The published directory.
#[derive(Debug, Clone)]
pub struct StoredDirectory {
    /// Its version.
    pub version: u64,
    /// The signed bytes, served as is.
    pub bytes: Vec<u8>,
    /// Recipient ids it lists.
    pub recipients: Vec<RecipientId>,
}

/// How an envelope arrived: the API's [`InboxSource`](sealcam_core::protocol::api::InboxSource).
pub use sealcam_core::protocol::api::InboxSource as Source;
/// Who created a link: the API's [`LinkCreator`](sealcam_core::protocol::api::LinkCreator)
/// (`device:<id>` or `staff:<id>`).
pub use sealcam_core::protocol::api::LinkCreator as Creator;
/// The API's fixed words, as the catalog stores them (`as_str`):
/// enrolment and device states.
pub use sealcam_core::protocol::api::{DeviceState, EnrolmentState};
use sealcam_core::protocol::api::{EnrolmentSummary, LinkState};

/// An enrolment code's record (the code itself is stored only hashed).
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Public id.
    pub id: EnrolmentId,
    /// The clinician a device enrolled with it will be bound to.
    pub clinician: Clinician,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds; last valid second.
    pub expires_at: u64,
    /// State (expired is computed at read time).
    pub state: EnrolmentState,
}

impl From<Enrolment> for EnrolmentSummary {
    fn from(e: Enrolment) -> Self {
        EnrolmentSummary {
            id: e.id,
            clinician: e.clinician,
            created_at: e.created_at,
            expires_at: e.expires_at,
            state: e.state,
        }
    }
}

/// An enrolled device.
#[derive(Debug, Clone)]
pub struct Device {
    /// Its key id.
    pub device_id: DeviceId,
    /// Its public key.
    pub device_key: DevicePublicKey,
    /// The clinician it is bound to.
    pub clinician: Clinician,
    /// State.
    pub state: DeviceState,
    /// Unix seconds.
    pub enrolled_at: u64,
    /// The org-signed certificate, once approved.
    pub certificate: Option<Vec<u8>>,
    /// The enrolment (code) it registered with.
    pub enrolment_id: crate::ids::EnrolmentId,
    /// The device's enrolment binding (HMAC keyed by the code over its
    /// key; core::protocol::enrolment): the store cannot make one, the
    /// admin checks it before approving.
    pub binding: [u8; 32],
}

/// A records staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Key id of the auth key.
    pub staff_id: StaffId,
    /// Display name.
    pub name: String,
    /// Recipient key: the inbox shows envelopes addressed to it.
    pub recipient: Recipient,
    /// The request-signing key.
    pub auth_key: StaffPublicKey,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, when removed.
    pub removed_at: Option<u64>,
}

/// An envelope's catalog row.
#[derive(Debug, Clone)]
pub struct EnvelopeRow {
    /// Id.
    pub id: EnvelopeId,
    /// BLAKE3 of the bytes as stored (what the receipt names).
    pub blake3: [u8; 32],
    /// Length in bytes.
    pub size: u64,
    /// Creation time claimed in the header.
    pub created_at: u64,
    /// When the store accepted it.
    pub received_at: u64,
    /// Device or link.
    pub source: Source,
    /// The signing device, when uploaded by one.
    pub sender: Option<DeviceId>,
    /// The link, when uploaded through one.
    pub link_id: Option<LinkId>,
    /// The link's opaque context blob.
    pub context: Option<Vec<u8>>,
    /// Recipient ids in its header.
    pub recipients: Vec<RecipientId>,
    /// When retention deleted the bytes.
    pub blob_deleted_at: Option<u64>,
}

/// Result of inserting an envelope row.
#[derive(Debug, Clone)]
pub enum InsertOutcome {
    /// New row committed.
    Inserted,
    /// A row with this id already exists (compare hashes).
    Exists(EnvelopeRow),
    /// The link can no longer be used (expired, revoked, used up).
    LinkUnusable,
}

/// A patient link (its token is stored only hashed).
#[derive(Debug, Clone)]
pub struct Link {
    /// Public id.
    pub link_id: LinkId,
    /// Creator.
    pub created_by: Creator,
    /// Unix seconds.
    pub created_at: u64,
    /// Last valid second.
    pub expires_at: u64,
    /// Uploads so far.
    pub uploads: u32,
    /// Upload limit.
    pub max_uploads: u32,
    /// Per-upload size limit.
    pub max_bytes: u64,
    /// When revoked.
    pub revoked_at: Option<u64>,
    /// Opaque sealed context attached to each upload's inbox entry.
    pub context: Option<Vec<u8>>,
    /// The creator's signed capability (`keys::LinkCapability` bytes),
    /// checked when the link was made; served to the patient's page, which
    /// seals it into each upload. `None` for a link made without one: its
    /// uploads are quarantined by records pull.
    pub capability: Option<Vec<u8>>,
}

impl Link {
    /// Its state at `now`.
    pub fn state(&self, now: u64) -> LinkState {
        if self.revoked_at.is_some() {
            LinkState::Revoked
        } else if now > self.expires_at {
            LinkState::Expired
        } else if self.uploads >= self.max_uploads {
            LinkState::Used
        } else {
            LinkState::Active
        }
    }

    /// Whether an upload may use it now.
    pub fn usable(&self, now: u64) -> bool {
        self.state(now) == LinkState::Active
    }
}

/// The catalog: identities, envelopes' metadata, links, nonces, audit.
pub trait Catalog: Send + Sync + 'static {
    // --- bootstrap ---
    /// The registered organisation key.
    fn org_key(&self) -> CatalogResult<Option<OrgPublicKey>>;
    /// Replaces the bootstrap code hash (only while not bootstrapped).
    fn set_bootstrap_code(&self, code_hash: [u8; 32]) -> CatalogResult<()>;
    /// Registers the organisation key if `code_hash` is the bootstrap code.
    fn bootstrap(
        &self,
        code_hash: [u8; 32],
        org: &OrgPublicKey,
        now: u64,
        audit: AuditEvent,
    ) -> CatalogResult<BootstrapOutcome>;

    // --- directory ---
    /// The published directory.
    fn directory(&self) -> CatalogResult<Option<StoredDirectory>>;
    /// Publishes a directory if its version is newer; false if not.
    fn publish_directory(
        &self,
        dir: &StoredDirectory,
        now: u64,
        audit: AuditEvent,
    ) -> CatalogResult<bool>;

    // --- enrolment ---
    /// Stores a new enrolment code (hashed).
    fn create_enrolment(
        &self,
        e: &Enrolment,
        code_hash: [u8; 32],
        audit: AuditEvent,
    ) -> CatalogResult<()>;
    /// All enrolment codes, newest first.
    fn list_enrolments(&self, now: u64) -> CatalogResult<Vec<Enrolment>>;
    /// Revokes an open code; false if unknown.
    fn revoke_enrolment(&self, id: EnrolmentId, now: u64, audit: AuditEvent)
        -> CatalogResult<bool>;
    /// Uses an open, unexpired code to enrol `key` as pending. `None` if
    /// the code is unknown, used, revoked or expired;
    /// `Err(StoreError::Conflict)` if the key is already enrolled.
    fn enrol_device(
        &self,
        code_hash: [u8; 32],
        key: &DevicePublicKey,
        binding: [u8; 32],
        now: u64,
        audit: AuditEvent,
    ) -> CatalogResult<Option<Device>>;

    // --- devices ---
    /// All devices.
    fn list_devices(&self) -> CatalogResult<Vec<Device>>;
    /// One device.
    fn device(&self, id: DeviceId) -> CatalogResult<Option<Device>>;
    /// Stores the certificate and activates a pending (or active) device.
    fn activate_device(&self, id: DeviceId, cert: &[u8], audit: AuditEvent) -> CatalogResult<bool>;
    /// Revokes a device; false if unknown.
    fn revoke_device(&self, id: DeviceId, audit: AuditEvent) -> CatalogResult<bool>;

    // --- staff ---
    /// Registers a staff member (`Conflict` if the auth key exists).
    fn add_staff(&self, s: &Staff, audit: AuditEvent) -> CatalogResult<()>;
    /// All staff, removed ones included.
    fn list_staff(&self) -> CatalogResult<Vec<Staff>>;
    /// One staff member.
    fn staff(&self, id: StaffId) -> CatalogResult<Option<Staff>>;
    /// Removes a staff member; false if unknown or already removed.
    fn remove_staff(&self, id: StaffId, now: u64, audit: AuditEvent) -> CatalogResult<bool>;

    // --- replay cache ---
    /// Records `(key, nonce)`; false if it was already seen within `ttl`.
    fn use_nonce(&self, key: &str, nonce: &[u8; 16], now: u64, ttl: u64) -> CatalogResult<bool>;

    // --- envelopes ---
    /// One envelope row.
    fn envelope(&self, id: EnvelopeId) -> CatalogResult<Option<EnvelopeRow>>;
    /// Inserts a row; through a link, counts one use of it in the same
    /// transaction (refused if the link is no longer usable at `now`).
    fn insert_envelope(
        &self,
        row: &EnvelopeRow,
        now: u64,
        audit: Vec<AuditEvent>,
    ) -> CatalogResult<InsertOutcome>;
    /// Envelopes addressed to `recipient`, not filed by it, bytes present.
    fn inbox(&self, recipient: RecipientId) -> CatalogResult<Vec<EnvelopeRow>>;
    /// Marks filed by `recipient`; false if it is not a recipient.
    fn mark_filed(
        &self,
        id: EnvelopeId,
        recipient: RecipientId,
        now: u64,
        audit: AuditEvent,
    ) -> CatalogResult<bool>;
    /// Envelopes whose bytes retention should delete now.
    fn retention_due(
        &self,
        now: u64,
        max_age: u64,
        policy: FiledPolicy,
    ) -> CatalogResult<Vec<EnvelopeId>>;
    /// Records that the bytes were deleted.
    fn mark_blob_deleted(&self, id: EnvelopeId, now: u64, audit: AuditEvent) -> CatalogResult<()>;
    /// Ids of every envelope whose bytes should exist.
    fn live_envelope_ids(&self) -> CatalogResult<Vec<EnvelopeId>>;

    // --- links ---
    /// Stores a new link (token hashed).
    fn create_link(&self, l: &Link, token_hash: [u8; 32], audit: AuditEvent) -> CatalogResult<()>;
    /// The link with this token hash.
    fn link_by_token(&self, token_hash: [u8; 32]) -> CatalogResult<Option<Link>>;
    /// One link.
    fn link(&self, id: LinkId) -> CatalogResult<Option<Link>>;
    /// Links, all or by creator.
    fn list_links(&self, by: Option<Creator>) -> CatalogResult<Vec<Link>>;
    /// Revokes a link; false if unknown.
    fn revoke_link(&self, id: LinkId, now: u64, audit: AuditEvent) -> CatalogResult<bool>;

    // --- audit ---
    /// Appends an event that has no other write (fetch, auth failure).
    fn append_audit(&self, now: u64, audit: AuditEvent) -> CatalogResult<()>;
    /// Entries with `seq > after`, at most `limit`, in order.
    fn audit_entries(&self, after: u64, limit: u64) -> CatalogResult<Vec<AuditEntry>>;
}
