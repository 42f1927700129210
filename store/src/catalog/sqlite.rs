//! The embedded catalog: one SQLite file (WAL, `synchronous=FULL`), one
//! connection behind a mutex. Callers run these methods off the async
//! runtime (`spawn_blocking`).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use sealcam_core::envelope::EnvelopeId;
use sealcam_core::keys::{
    DeviceId, DevicePublicKey, OrgPublicKey, Recipient, RecipientId, StaffId, StaffPublicKey,
};
use sealcam_core::record::Clinician;

use super::{
    BootstrapOutcome, Catalog, CatalogResult, Creator, Device, DeviceState, Enrolment,
    EnrolmentState, EnvelopeRow, InsertOutcome, Link, Source, Staff, StoredDirectory,
};
use crate::audit::{AuditEntry, AuditEvent};
use crate::config::FiledPolicy;
use crate::error::StoreError;
use crate::ids::{unix_now, EnrolmentId, LinkId};

/// The catalog layout version (`PRAGMA user_version`). A data directory
/// written with another layout is refused rather than misread.
const SCHEMA_VERSION: i64 = 3;

/// Refuses a catalog of another layout: version 0 with tables is the
/// pre-release layout of 2026-11 (SHA-256 envelope digests).
fn check_schema_version(conn: &Connection) -> CatalogResult<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    if version == SCHEMA_VERSION || (version == 0 && tables == 0) {
        return Ok(());
    }
    Err(StoreError::Corrupt(format!(
        "the catalog has layout version {version}, this store reads version {SCHEMA_VERSION}; \
         start it on a new --data directory (this is a pre-release: no migration exists)"
    )))
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS directory (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    recipients TEXT NOT NULL,
    published_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS enrolments (
    id TEXT PRIMARY KEY,
    code_hash BLOB NOT NULL UNIQUE,
    clinician TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    device_id TEXT
);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    device_key TEXT NOT NULL,
    clinician TEXT NOT NULL,
    state TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    certificate BLOB,
    enrolment_id TEXT NOT NULL,
    binding BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS staff (
    staff_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    recipient TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    auth_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER
);
CREATE TABLE IF NOT EXISTS envelopes (
    envelope_id TEXT PRIMARY KEY,
    blake3 BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    sender TEXT,
    link_id TEXT,
    context BLOB,
    blob_deleted_at INTEGER
);
CREATE TABLE IF NOT EXISTS envelope_recipients (
    envelope_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    filed_at INTEGER,
    PRIMARY KEY (envelope_id, recipient_id)
);
CREATE INDEX IF NOT EXISTS envelope_recipients_by_recipient
    ON envelope_recipients (recipient_id, filed_at);
CREATE TABLE IF NOT EXISTS links (
    link_id TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    uploads INTEGER NOT NULL,
    max_uploads INTEGER NOT NULL,
    max_bytes INTEGER NOT NULL,
    revoked_at INTEGER,
    context BLOB,
    capability BLOB
);
CREATE TABLE IF NOT EXISTS nonces (
    key TEXT NOT NULL,
    nonce BLOB NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (key, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_by_time ON nonces (seen_at);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
"#;

/// The SQLite catalog.
pub struct SqliteCatalog {
    conn: Mutex<Connection>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn parse<T: std::str::FromStr>(s: &str, what: &str) -> CatalogResult<T> {
    s.parse().map_err(|_| corrupt(what))
}

fn u64_col(row: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(i)?;
    Ok(u64::try_from(v).unwrap_or(0))
}

fn opt_u64_col(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<u64>> {
    let v: Option<i64> = row.get(i)?;
    Ok(v.map(|v| u64::try_from(v).unwrap_or(0)))
}

/// Clamps to SQLite's signed 64-bit integers.
fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn hash32(v: Vec<u8>, what: &str) -> CatalogResult<[u8; 32]> {
    v.try_into().map_err(|_| corrupt(what))
}

/// Revokes every unrevoked link `creator` made (when a device is revoked or
/// a staff member removed: a link is only as good as its creator).
fn revoke_links_by(tx: &Transaction<'_>, creator: &Creator, now: u64) -> CatalogResult<usize> {
    Ok(tx.execute(
        "UPDATE links SET revoked_at = ?2 WHERE created_by = ?1 AND revoked_at IS NULL",
        params![creator.to_string(), i(now)],
    )?)
}

fn append(tx: &Transaction<'_>, now: u64, ev: &AuditEvent) -> CatalogResult<()> {
    let prev: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let prev = match prev {
        Some((seq, hash)) => (
            u64::try_from(seq).map_err(|_| corrupt("audit seq"))?,
            hash32(hash, "audit hash")?,
        ),
        None => (0, [0u8; 32]),
    };
    let e = crate::audit::entry_for(prev, now, ev);
    tx.execute(
        "INSERT INTO audit (seq, at, action, actor, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            i(e.seq),
            i(e.at),
            e.action,
            e.actor,
            e.subject,
            e.detail,
            &e.prev_hash[..],
            &e.hash[..]
        ],
    )?;
    Ok(())
}

struct RawDevice {
    device_id: String,
    device_key: String,
    clinician: String,
    state: String,
    enrolled_at: u64,
    certificate: Option<Vec<u8>>,
    enrolment_id: String,
    binding: Vec<u8>,
}

const DEVICE_COLS: &str =
    "device_id, device_key, clinician, state, enrolled_at, certificate, enrolment_id, binding";

fn raw_device(r: &Row<'_>) -> rusqlite::Result<RawDevice> {
    Ok(RawDevice {
        device_id: r.get(0)?,
        device_key: r.get(1)?,
        clinician: r.get(2)?,
        state: r.get(3)?,
        enrolled_at: u64_col(r, 4)?,
        certificate: r.get(5)?,
        enrolment_id: r.get(6)?,
        binding: r.get(7)?,
    })
}

fn device_from(raw: RawDevice) -> CatalogResult<Device> {
    let state = match raw.state.as_str() {
        "pending" => DeviceState::Pending,
        "active" => DeviceState::Active,
        "revoked" => DeviceState::Revoked,
        _ => return Err(corrupt("device state")),
    };
    Ok(Device {
        device_id: parse(&raw.device_id, "device id")?,
        device_key: parse::<DevicePublicKey>(&raw.device_key, "device key")?,
        clinician: clinician_from(&raw.clinician)?,
        state,
        enrolled_at: raw.enrolled_at,
        certificate: raw.certificate,
        enrolment_id: parse(&raw.enrolment_id, "enrolment id")?,
        binding: raw
            .binding
            .try_into()
            .map_err(|_| corrupt("enrolment binding"))?,
    })
}

fn clinician_from(json: &str) -> CatalogResult<Clinician> {
    serde_json::from_str(json).map_err(|_| corrupt("clinician"))
}

fn clinician_json(c: &Clinician) -> CatalogResult<String> {
    serde_json::to_string(c).map_err(|_| corrupt("clinician"))
}

struct RawStaff {
    staff_id: String,
    name: String,
    recipient: String,
    auth_key: String,
    created_at: u64,
    removed_at: Option<u64>,
}

const STAFF_COLS: &str = "staff_id, name, recipient, auth_key, created_at, removed_at";

fn raw_staff(r: &Row<'_>) -> rusqlite::Result<RawStaff> {
    Ok(RawStaff {
        staff_id: r.get(0)?,
        name: r.get(1)?,
        recipient: r.get(2)?,
        auth_key: r.get(3)?,
        created_at: u64_col(r, 4)?,
        removed_at: opt_u64_col(r, 5)?,
    })
}

fn staff_from(raw: RawStaff) -> CatalogResult<Staff> {
    Ok(Staff {
        staff_id: parse(&raw.staff_id, "staff id")?,
        name: raw.name,
        recipient: parse::<Recipient>(&raw.recipient, "staff recipient")?,
        auth_key: parse::<StaffPublicKey>(&raw.auth_key, "staff auth key")?,
        created_at: raw.created_at,
        removed_at: raw.removed_at,
    })
}

struct RawEnvelope {
    id: String,
    blake3: Vec<u8>,
    size: u64,
    created_at: u64,
    received_at: u64,
    source: String,
    sender: Option<String>,
    link_id: Option<String>,
    context: Option<Vec<u8>>,
    blob_deleted_at: Option<u64>,
}

const ENVELOPE_COLS: &str = "e.envelope_id, e.blake3, e.size, e.created_at, e.received_at, \
     e.source, e.sender, e.link_id, e.context, e.blob_deleted_at";

fn raw_envelope(r: &Row<'_>) -> rusqlite::Result<RawEnvelope> {
    Ok(RawEnvelope {
        id: r.get(0)?,
        blake3: r.get(1)?,
        size: u64_col(r, 2)?,
        created_at: u64_col(r, 3)?,
        received_at: u64_col(r, 4)?,
        source: r.get(5)?,
        sender: r.get(6)?,
        link_id: r.get(7)?,
        context: r.get(8)?,
        blob_deleted_at: opt_u64_col(r, 9)?,
    })
}

fn envelope_from(conn: &Connection, raw: RawEnvelope) -> CatalogResult<EnvelopeRow> {
    let mut stmt = conn.prepare_cached(
        "SELECT recipient_id FROM envelope_recipients WHERE envelope_id = ?1 ORDER BY rowid",
    )?;
    let recipients = stmt
        .query_map([&raw.id], |r| r.get::<_, String>(0))?
        .map(|s| parse::<RecipientId>(&s?, "recipient id"))
        .collect::<CatalogResult<Vec<_>>>()?;
    Ok(EnvelopeRow {
        id: parse::<EnvelopeId>(&raw.id, "envelope id")?,
        blake3: hash32(raw.blake3, "envelope blake3")?,
        size: raw.size,
        created_at: raw.created_at,
        received_at: raw.received_at,
        source: match raw.source.as_str() {
            "device" => Source::Device,
            "link" => Source::Link,
            _ => return Err(corrupt("envelope source")),
        },
        sender: raw
            .sender
            .map(|s| parse::<DeviceId>(&s, "sender"))
            .transpose()?,
        link_id: raw
            .link_id
            .map(|s| parse::<LinkId>(&s, "link id"))
            .transpose()?,
        context: raw.context,
        recipients,
        blob_deleted_at: raw.blob_deleted_at,
    })
}

struct RawLink {
    link_id: String,
    created_by: String,
    created_at: u64,
    expires_at: u64,
    uploads: u64,
    max_uploads: u64,
    max_bytes: u64,
    revoked_at: Option<u64>,
    context: Option<Vec<u8>>,
    capability: Option<Vec<u8>>,
}

const LINK_COLS: &str =
    "link_id, created_by, created_at, expires_at, uploads, max_uploads, max_bytes, revoked_at, context, capability";

fn raw_link(r: &Row<'_>) -> rusqlite::Result<RawLink> {
    Ok(RawLink {
        link_id: r.get(0)?,
        created_by: r.get(1)?,
        created_at: u64_col(r, 2)?,
        expires_at: u64_col(r, 3)?,
        uploads: u64_col(r, 4)?,
        max_uploads: u64_col(r, 5)?,
        max_bytes: u64_col(r, 6)?,
        revoked_at: opt_u64_col(r, 7)?,
        context: r.get(8)?,
        capability: r.get(9)?,
    })
}

fn creator_from(s: &str) -> CatalogResult<Creator> {
    match s.split_once(':') {
        Some(("device", id)) => Ok(Creator::Device(parse(id, "link creator")?)),
        Some(("staff", id)) => Ok(Creator::Staff(parse(id, "link creator")?)),
        _ => Err(corrupt("link creator")),
    }
}

fn link_from(raw: RawLink) -> CatalogResult<Link> {
    Ok(Link {
        link_id: parse(&raw.link_id, "link id")?,
        created_by: creator_from(&raw.created_by)?,
        created_at: raw.created_at,
        expires_at: raw.expires_at,
        uploads: u32::try_from(raw.uploads).map_err(|_| corrupt("link uploads"))?,
        max_uploads: u32::try_from(raw.max_uploads).map_err(|_| corrupt("link max uploads"))?,
        max_bytes: raw.max_bytes,
        revoked_at: raw.revoked_at,
        context: raw.context,
        capability: raw.capability,
    })
}

impl SqliteCatalog {
    /// Opens (creating if needed) the catalog at `path`.
    pub fn open(path: &Path) -> CatalogResult<Self> {
        let conn = Connection::open(path)?;
        Self::setup(conn)
    }

    /// Opens an existing catalog read-only (for `audit verify/export`).
    pub fn open_read_only(path: &Path) -> CatalogResult<Self> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(SqliteCatalog {
            conn: Mutex::new(conn),
        })
    }

    fn setup(conn: Connection) -> CatalogResult<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // One transaction: a crash between creating the tables and
        // stamping the version must not leave a catalog that every later
        // start refuses as another layout.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        check_schema_version(&conn)?;
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        conn.execute_batch("COMMIT")?;
        Ok(SqliteCatalog {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction
        // behind (it is rolled back on drop), so the connection is usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `f` with every audit entry in seq order (for offline checks).
    pub fn for_each_audit(
        &self,
        mut f: impl FnMut(AuditEntry) -> Result<(), StoreError>,
    ) -> CatalogResult<()> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, at, action, actor, subject, detail, prev_hash, hash FROM audit ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            f(audit_from(r)?)?;
        }
        Ok(())
    }

    fn use_nonce_tx(
        conn: &mut Connection,
        key: &str,
        nonce: &[u8; 16],
        now: u64,
        ttl: u64,
    ) -> CatalogResult<bool> {
        let tx = conn.transaction()?;
        let cutoff = i(now.saturating_sub(ttl));
        // Prune now and then: cheap with the index, and keeps the table small.
        if now.is_multiple_of(16) {
            tx.execute("DELETE FROM nonces WHERE seen_at < ?1", [cutoff])?;
        }
        let seen: Option<i64> = tx
            .query_row(
                "SELECT seen_at FROM nonces WHERE key = ?1 AND nonce = ?2",
                params![key, &nonce[..]],
                |r| r.get(0),
            )
            .optional()?;
        if seen.is_some_and(|t| t >= cutoff) {
            return Ok(false);
        }
        tx.execute(
            "INSERT OR REPLACE INTO nonces (key, nonce, seen_at) VALUES (?1, ?2, ?3)",
            params![key, &nonce[..], i(now)],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn get_meta(conn: &Connection, k: &str) -> CatalogResult<Option<String>> {
        Ok(conn
            .query_row("SELECT v FROM meta WHERE k = ?1", [k], |r| r.get(0))
            .optional()?)
    }
}

fn audit_from(r: &Row<'_>) -> CatalogResult<AuditEntry> {
    Ok(AuditEntry {
        seq: u64_col(r, 0)?,
        at: u64_col(r, 1)?,
        action: r.get(2)?,
        actor: r.get(3)?,
        subject: r.get(4)?,
        detail: r.get(5)?,
        prev_hash: hash32(r.get(6)?, "audit prev_hash")?,
        hash: hash32(r.get(7)?, "audit hash")?,
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

impl Catalog for SqliteCatalog {
    fn org_key(&self) -> CatalogResult<Option<OrgPublicKey>> {
        let conn = self.conn();
        Self::get_meta(&conn, "org_key")?
            .map(|s| parse::<OrgPublicKey>(&s, "org key"))
            .transpose()
    }

    fn set_bootstrap_code(&self, code_hash: [u8; 32]) -> CatalogResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if Self::get_meta(&tx, "org_key")?.is_none() {
            tx.execute(
                "INSERT OR REPLACE INTO meta (k, v) VALUES ('bootstrap_code', ?1)",
                [sealcam_core::hex::encode(&code_hash)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn bootstrap(
        &self,
        code_hash: [u8; 32],
        org: &OrgPublicKey,
        now: u64,
        audit: AuditEvent,
    ) -> CatalogResult<BootstrapOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if Self::get_meta(&tx, "org_key")?.is_some() {
            return Ok(BootstrapOutcome::AlreadyBootstrapped);
        }
        let stored = Self::get_meta(&tx, "bootstrap_code")?;
        let given = sealcam_core::hex::encode(&code_hash);
        // Both sides are hashes of 160-bit codes: comparing them leaks nothing useful.
        if stored.as_deref() != Some(given.as_str()) {
            return Ok(BootstrapOutcome::BadCode);
        }
        tx.execute(
            "INSERT INTO meta (k, v) VALUES ('org_key', ?1)",
            [org.to_string()],
        )?;
        tx.execute("DELETE FROM meta WHERE k = 'bootstrap_code'", [])?;
        append(&tx, now, &audit)?;
        tx.commit()?;
        Ok(BootstrapOutcome::Done)
    }

    fn directory(&self) -> CatalogResult<Option<StoredDirectory>> {
        let conn = self.conn();
        let row: Option<(i64, Vec<u8>, String)> = conn
            .query_row(
                "SELECT version, bytes, recipients FROM directory WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(version, bytes, recipients)| {
            let recipients = recipients
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| parse::<RecipientId>(s, "directory recipient"))
                .collect::<CatalogResult<Vec<_>>>()?;
            Ok(StoredDirectory {
                version: u64::try_from(version).map_err(|_| corrupt("directory version"))?,
                bytes,
                recipients,
            })
        })
        .transpose()
    }

    fn publish_directory(
        &self,
        dir: &StoredDirectory,
        now: u64,
        audit: AuditEvent,
    ) -> CatalogResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let current: Option<i64> = tx
            .query_row("SELECT version FROM directory WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        if current.is_some_and(|v| v >= i(dir.version)) {
            return Ok(false);
        }
        let recipients = dir
            .recipients
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(",");
        tx.execute(
            "INSERT OR REPLACE INTO directory (id, version, bytes, recipients, published_at)
             VALUES (1, ?1, ?2, ?3, ?4)",
            params![i(dir.version), dir.bytes, recipients, i(now)],
        )?;
        append(&tx, now, &audit)?;
        tx.commit()?;
        Ok(true)
    }

    fn create_enrolment(
        &self,
        e: &Enrolment,
        code_hash: [u8; 32],
        audit: AuditEvent,
    ) -> CatalogResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO enrolments (id, code_hash, clinician, created_at, expires_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, 'open')",
            params![
                e.id.to_string(),
                &code_hash[..],
                clinician_json(&e.clinician)?,
                i(e.created_at),
                i(e.expires_at)
            ],
        )?;
        append(&tx, e.created_at, &audit)?;
        tx.commit()?;
        Ok(())
    }

    fn list_enrolments(&self, now: u64) -> CatalogResult<Vec<Enrolment>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, clinician, created_at, expires_at, state FROM enrolments
             ORDER BY created_at DESC, id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    u64_col(r, 2)?,
                    u64_col(r, 3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, clinician, created_at, expires_at, state)| {
                let state = match state.as_str() {
                    "open" if now > expires_at => EnrolmentState::Expired,
                    "open" => EnrolmentState::Open,
                    "used" => EnrolmentState::Used,
                    "revoked" => EnrolmentState::Revoked,
                    _ => return Err(corrupt("enrolment state")),
                };
                Ok(Enrolment {
                    id: parse(&id, "enrolment id")?,
                    clinician: clinician_from(&clinician)?,
                    created_at,
                    expires_at,
                    state,
                })
            })
            .collect()
    }

    fn revoke_enrolment(
        &self,
        id: EnrolmentId,
        now: u64,
        audit: AuditEvent,
    ) -> CatalogResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists: Option<String> = tx
            .query_row(
                "SELECT state FROM enrolments WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(state) = exists else {
            return Ok(false);
        };
        if state == "open" {
            tx.execute(
                "UPDATE enrolments SET state = 'revoked' WHERE id = ?1",
                [id.to_string()],
            )?;
            append(&tx, now, &audit)?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn enrol_device(
        &self,
        code_hash: [u8; 32],
        key: &DevicePublicKey,
        binding: [u8; 32],
        now: u64,
        mut audit: AuditEvent,
    ) -> CatalogResult<Option<Device>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let row: Option<(String, String, u64, String)> = tx
            .query_row(
                "SELECT id, clinician, expires_at, state FROM enrolments WHERE code_hash = ?1",
                [&code_hash[..]],
                |r| Ok((r.get(0)?, r.get(1)?, u64_col(r, 2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((enrolment_id, clinician, expires_at, state)) = row else {
            return Ok(None);
        };
        if state != "open" || now > expires_at {
            return Ok(None);
        }
        let device_id = key.id();
        let exists: Option<String> = tx
            .query_row(
                "SELECT state FROM devices WHERE device_id = ?1",
                [device_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::Conflict);
        }
        tx.execute(
            "UPDATE enrolments SET state = 'used', device_id = ?2 WHERE id = ?1",
            params![enrolment_id, device_id.to_string()],
        )?;
        tx.execute(
            "INSERT INTO devices (device_id, device_key, clinician, state, enrolled_at, enrolment_id, binding)
             VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6)",
            params![
                device_id.to_string(),
                key.to_string(),
                clinician,
                i(now),
                enrolment_id,
                &binding[..]
            ],
        )?;
        audit = audit.with_detail(serde_json::json!({"enrolment_id": enrolment_id}));
        append(&tx, now, &audit)?;
        tx.commit()?;
        Ok(Some(Device {
            device_id,
            device_key: *key,
            clinician: clinician_from(&clinician)?,
            state: DeviceState::Pending,
            enrolled_at: now,
            certificate: None,
            enrolment_id: parse(&enrolment_id, "enrolment id")?,
            binding,
        }))
    }

    fn list_devices(&self) -> CatalogResult<Vec<Device>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DEVICE_COLS} FROM devices ORDER BY enrolled_at, device_id"
        ))?;
        let raws = stmt
            .query_map([], raw_device)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(device_from).collect()
    }

    fn device(&self, id: DeviceId) -> CatalogResult<Option<Device>> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE device_id = ?1"),
            [id.to_string()],
            raw_device,
        )
        .optional()?
        .map(device_from)
        .transpose()
    }

    fn activate_device(&self, id: DeviceId, cert: &[u8], audit: AuditEvent) -> CatalogResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE devices SET state = 'active', certificate = ?2
             WHERE device_id = ?1 AND state IN ('pending', 'active')",
            params![id.to_string(), cert],
        )?;
        if n == 0 {
            return Ok(false);
        }
        append(&tx, unix_now(), &audit)?;
        tx.commit()?;
        Ok(true)
    }

    fn revoke_device(&self, id: DeviceId, audit: AuditEvent) -> CatalogResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let state: Option<String> = tx
            .query_row(
                "SELECT state FROM devices WHERE device_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(state) = state else {
            return Ok(false);
        };
        if state != DeviceState::Revoked.as_str() {
            let now = unix_now();
            tx.execute(
                "UPDATE devices SET state = 'revoked' WHERE device_id = ?1",
                [id.to_string()],
            )?;
            // Its patient links stop working with it.
            revoke_links_by(&tx, &Creator::Device(id), now)?;
            append(&tx, now, &audit)?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn add_staff(&self, s: &Staff, audit: AuditEvent) -> CatalogResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let r = tx.execute(
            "INSERT INTO staff (staff_id, name, recipient, recipient_id, auth_key, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.staff_id.to_string(),
                s.name,
                s.recipient.to_string(),
                s.recipient.id().to_string(),
                s.auth_key.to_string(),
                i(s.created_at)
            ],
        );
        match r {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict),
            r => {
                r?;
            }
        }
        append(&tx, s.created_at, &audit)?;
        tx.commit()?;
        Ok(())
    }

    fn list_staff(&self) -> CatalogResult<Vec<Staff>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {STAFF_COLS} FROM staff ORDER BY created_at, staff_id"
        ))?;
        let raws = stmt
            .query_map([], raw_staff)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(staff_from).collect()
    }

    fn staff(&self, id: StaffId) -> CatalogResult<Option<Staff>> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {STAFF_COLS} FROM staff WHERE staff_id = ?1"),
            [id.to_string()],
            raw_staff,
        )
        .optional()?
        .map(staff_from)
        .transpose()
    }

    fn remove_staff(&self, id: StaffId, now: u64, audit: AuditEvent) -> CatalogResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE staff SET removed_at = ?2 WHERE staff_id = ?1 AND removed_at IS NULL",
            params![id.to_string(), i(now)],
        )?;
        if n == 0 {
            return Ok(false);
        }
        // Their patient links stop working with them.
        revoke_links_by(&tx, &Creator::Staff(id), now)?;
        append(&tx, now, &audit)?;
        tx.commit()?;
        Ok(true)
    }

    fn use_nonce(&self, key: &str, nonce: &[u8; 16], now: u64, ttl: u64) -> CatalogResult<bool> {
        let mut conn = self.conn();
        // Nonce inserts skip the WAL fsync (synchronous=NORMAL for this
        // transaction only): they become durable with the next FULL commit,
        // and every request that changes anything commits FULL after its
        // nonce. A crash can forget only the nonces of read-only requests
        // made since the last commit, which a replay could at most re-read
        // (its answer goes to the replayer's own TLS session, as the
        // original did). This removes one fsync per request.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let r = Self::use_nonce_tx(&mut conn, key, nonce, now, ttl);
        conn.pragma_update(None, "synchronous", "FULL")?;
        r
    }

    fn envelope(&self, id: EnvelopeId) -> CatalogResult<Option<EnvelopeRow>> {
        let conn = self.conn();
        let raw = conn
            .query_row(
                &format!("SELECT {ENVELOPE_COLS} FROM envelopes e WHERE e.envelope_id = ?1"),
                [id.to_string()],
                raw_envelope,
            )
            .optional()?;
        raw.map(|raw| envelope_from(&conn, raw)).transpose()
    }

    fn insert_envelope(
        &self,
        row: &EnvelopeRow,
        now: u64,
        audit: Vec<AuditEvent>,
    ) -> CatalogResult<InsertOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existing = tx
            .query_row(
                &format!("SELECT {ENVELOPE_COLS} FROM envelopes e WHERE e.envelope_id = ?1"),
                [row.id.to_string()],
                raw_envelope,
            )
            .optional()?;
        if let Some(raw) = existing {
            return Ok(InsertOutcome::Exists(envelope_from(&tx, raw)?));
        }
        if let Some(link) = row.link_id {
            let n = tx.execute(
                "UPDATE links SET uploads = uploads + 1
                 WHERE link_id = ?1 AND revoked_at IS NULL AND expires_at >= ?2
                   AND uploads < max_uploads",
                params![link.to_string(), i(now)],
            )?;
            if n == 0 {
                return Ok(InsertOutcome::LinkUnusable);
            }
        }
        tx.execute(
            "INSERT INTO envelopes (envelope_id, blake3, size, created_at, received_at, source,
                                    sender, link_id, context)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                row.id.to_string(),
                &row.blake3[..],
                i(row.size),
                i(row.created_at),
                i(row.received_at),
                match row.source {
                    Source::Device => "device",
                    Source::Link => "link",
                },
                row.sender.map(|d| d.to_string()),
                row.link_id.map(|l| l.to_string()),
                row.context
            ],
        )?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO envelope_recipients (envelope_id, recipient_id) VALUES (?1, ?2)",
            )?;
            for r in &row.recipients {
                stmt.execute(params![row.id.to_string(), r.to_string()])?;
            }
        }
        for ev in &audit {
            append(&tx, now, ev)?;
        }
        tx.commit()?;
        Ok(InsertOutcome::Inserted)
    }

    fn inbox(&self, recipient: RecipientId) -> CatalogResult<Vec<EnvelopeRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ENVELOPE_COLS} FROM envelopes e
             JOIN envelope_recipients r ON r.envelope_id = e.envelope_id
             WHERE r.recipient_id = ?1 AND r.filed_at IS NULL AND e.blob_deleted_at IS NULL
             ORDER BY e.received_at, e.envelope_id"
        ))?;
        let raws = stmt
            .query_map([recipient.to_string()], raw_envelope)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(|r| envelope_from(&conn, r)).collect()
    }

    fn mark_filed(
        &self,
        id: EnvelopeId,
        recipient: RecipientId,
        now: u64,
        audit: AuditEvent,
    ) -> CatalogResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let filed: Option<Option<i64>> = tx
            .query_row(
                "SELECT filed_at FROM envelope_recipients WHERE envelope_id = ?1 AND recipient_id = ?2",
                params![id.to_string(), recipient.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match filed {
            None => Ok(false),
            Some(Some(_)) => Ok(true),
            Some(None) => {
                tx.execute(
                    "UPDATE envelope_recipients SET filed_at = ?3
                     WHERE envelope_id = ?1 AND recipient_id = ?2",
                    params![id.to_string(), recipient.to_string(), i(now)],
                )?;
                append(&tx, now, &audit)?;
                tx.commit()?;
                Ok(true)
            }
        }
    }

    fn retention_due(
        &self,
        now: u64,
        max_age: u64,
        policy: FiledPolicy,
    ) -> CatalogResult<Vec<EnvelopeId>> {
        let conn = self.conn();
        let filed = match policy {
            FiledPolicy::Any => {
                "EXISTS (SELECT 1 FROM envelope_recipients r
                         WHERE r.envelope_id = e.envelope_id AND r.filed_at IS NOT NULL)"
            }
            FiledPolicy::All => {
                "NOT EXISTS (SELECT 1 FROM envelope_recipients r
                             WHERE r.envelope_id = e.envelope_id AND r.filed_at IS NULL)"
            }
        };
        let mut stmt = conn.prepare(&format!(
            "SELECT e.envelope_id FROM envelopes e
             WHERE e.blob_deleted_at IS NULL AND (e.received_at <= ?1 OR {filed})
             LIMIT 1000"
        ))?;
        let cutoff = i(now.saturating_sub(max_age));
        let ids = stmt
            .query_map([cutoff], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter().map(|s| parse(s, "envelope id")).collect()
    }

    fn mark_blob_deleted(&self, id: EnvelopeId, now: u64, audit: AuditEvent) -> CatalogResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE envelopes SET blob_deleted_at = ?2, context = NULL
             WHERE envelope_id = ?1 AND blob_deleted_at IS NULL",
            params![id.to_string(), i(now)],
        )?;
        if n > 0 {
            append(&tx, now, &audit)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn live_envelope_ids(&self) -> CatalogResult<Vec<EnvelopeId>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT envelope_id FROM envelopes WHERE blob_deleted_at IS NULL")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter().map(|s| parse(s, "envelope id")).collect()
    }

    fn create_link(&self, l: &Link, token_hash: [u8; 32], audit: AuditEvent) -> CatalogResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let r = tx.execute(
            "INSERT INTO links (link_id, token_hash, created_by, created_at, expires_at, uploads,
                                max_uploads, max_bytes, context, capability)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9)",
            params![
                l.link_id.to_string(),
                &token_hash[..],
                l.created_by.to_string(),
                i(l.created_at),
                i(l.expires_at),
                l.max_uploads,
                i(l.max_bytes),
                l.context,
                l.capability
            ],
        );
        match r {
            // A link id the creator chose twice (in its capability).
            Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict),
            r => {
                r?;
            }
        }
        append(&tx, l.created_at, &audit)?;
        tx.commit()?;
        Ok(())
    }

    fn link_by_token(&self, token_hash: [u8; 32]) -> CatalogResult<Option<Link>> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {LINK_COLS} FROM links WHERE token_hash = ?1"),
            [&token_hash[..]],
            raw_link,
        )
        .optional()?
        .map(link_from)
        .transpose()
    }

    fn link(&self, id: LinkId) -> CatalogResult<Option<Link>> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {LINK_COLS} FROM links WHERE link_id = ?1"),
            [id.to_string()],
            raw_link,
        )
        .optional()?
        .map(link_from)
        .transpose()
    }

    fn list_links(&self, by: Option<Creator>) -> CatalogResult<Vec<Link>> {
        let conn = self.conn();
        let raws = match by {
            Some(c) => conn
                .prepare(&format!(
                    "SELECT {LINK_COLS} FROM links WHERE created_by = ?1 ORDER BY created_at, link_id"
                ))?
                .query_map([c.to_string()], raw_link)?
                .collect::<Result<Vec<_>, _>>()?,
            None => conn
                .prepare(&format!(
                    "SELECT {LINK_COLS} FROM links ORDER BY created_at, link_id"
                ))?
                .query_map([], raw_link)?
                .collect::<Result<Vec<_>, _>>()?,
        };
        raws.into_iter().map(link_from).collect()
    }

    fn revoke_link(&self, id: LinkId, now: u64, audit: AuditEvent) -> CatalogResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let revoked: Option<Option<i64>> = tx
            .query_row(
                "SELECT revoked_at FROM links WHERE link_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match revoked {
            None => Ok(false),
            Some(Some(_)) => Ok(true),
            Some(None) => {
                tx.execute(
                    "UPDATE links SET revoked_at = ?2 WHERE link_id = ?1",
                    params![id.to_string(), i(now)],
                )?;
                append(&tx, now, &audit)?;
                tx.commit()?;
                Ok(true)
            }
        }
    }

    fn append_audit(&self, now: u64, audit: AuditEvent) -> CatalogResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        append(&tx, now, &audit)?;
        tx.commit()?;
        Ok(())
    }

    fn audit_entries(&self, after: u64, limit: u64) -> CatalogResult<Vec<AuditEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, at, action, actor, subject, detail, prev_hash, hash FROM audit
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![i(after), i(limit)])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(audit_from(r)?);
        }
        Ok(out)
    }
}
