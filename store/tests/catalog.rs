//! The SQLite catalog on disk: replay cache, audit chain tamper detection
//! (through the offline `audit verify` path), enrolment and link rules.

use rusqlite::Connection;
use sealcam_core::keys::{DeviceSigningKey, OrgSigningKey};
use sealcam_store::audit::{Action, AuditEvent};
use sealcam_store::catalog::{Catalog, Creator, Link, SqliteCatalog};
use sealcam_store::ids::LinkId;
use sealcam_store::offline::{verify_audit, OfflineError};
use sealcam_store::server::CATALOG_FILE;

fn catalog() -> (tempfile::TempDir, SqliteCatalog) {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = SqliteCatalog::open(&dir.path().join(CATALOG_FILE)).expect("open");
    (dir, c)
}

fn ev(i: u32) -> AuditEvent {
    AuditEvent::new(Action::EnvelopeFetch, "staff:x", format!("envelope {i}"))
}

#[test]
fn nonces_are_single_use_within_the_ttl() {
    let (_d, c) = catalog();
    let n = [1u8; 16];
    assert!(c.use_nonce("staff:a", &n, 1000, 600).expect("nonce"));
    assert!(
        !c.use_nonce("staff:a", &n, 1001, 600).expect("nonce"),
        "replay refused"
    );
    assert!(
        c.use_nonce("staff:b", &n, 1001, 600).expect("nonce"),
        "per key"
    );
    assert!(c.use_nonce("staff:a", &[2; 16], 1001, 600).expect("nonce"));
    // Outside the window the timestamp check refuses the request anyway;
    // the cache may forget it.
    assert!(c.use_nonce("staff:a", &n, 1000 + 601, 600).expect("nonce"));
}

fn chain(n: u32) -> tempfile::TempDir {
    let (d, c) = catalog();
    for i in 0..n {
        c.append_audit(1_000 + u64::from(i), ev(i)).expect("append");
    }
    drop(c);
    d
}

fn first_bad(d: &tempfile::TempDir) -> Option<u64> {
    match verify_audit(d.path()) {
        Ok(_) => None,
        Err(OfflineError::Broken(b)) => Some(b.seq),
        Err(e) => panic!("unexpected: {e}"),
    }
}

fn sql(d: &tempfile::TempDir, s: &str) {
    let conn = Connection::open(d.path().join(CATALOG_FILE)).expect("open");
    conn.execute_batch(s).expect("sql");
}

#[test]
fn audit_chain_intact() {
    let d = chain(6);
    assert_eq!(verify_audit(d.path()).expect("intact"), 6);
}

#[test]
fn audit_edited_row_is_named() {
    let d = chain(6);
    sql(&d, "UPDATE audit SET subject = 'envelope X' WHERE seq = 4");
    assert_eq!(first_bad(&d), Some(4));
}

#[test]
fn audit_deleted_row_is_named() {
    let d = chain(6);
    sql(&d, "DELETE FROM audit WHERE seq = 3");
    assert_eq!(first_bad(&d), Some(3));
}

#[test]
fn audit_reordered_rows_are_detected() {
    let d = chain(6);
    // Swap the contents of rows 2 and 5, keeping seq order.
    sql(
        &d,
        "UPDATE audit SET seq = -2 WHERE seq = 2;
         UPDATE audit SET seq = 2 WHERE seq = 5;
         UPDATE audit SET seq = 5 WHERE seq = -2;",
    );
    assert_eq!(first_bad(&d), Some(2));
}

#[test]
fn audit_rewritten_hash_is_still_caught_by_the_next_link() {
    let d = chain(6);
    // An attacker edits row 3 and recomputes its hash, but not row 4's link.
    sql(&d, "UPDATE audit SET detail = '{\"x\":1}' WHERE seq = 3");
    let conn = Connection::open(d.path().join(CATALOG_FILE)).expect("open");
    let (seq, at, action, actor, subject, detail, prev): (
        u64,
        u64,
        String,
        String,
        String,
        String,
        Vec<u8>,
    ) = conn
        .query_row(
            "SELECT seq, at, action, actor, subject, detail, prev_hash FROM audit WHERE seq = 3",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .expect("row");
    let prev: [u8; 32] = prev.try_into().expect("32");
    let enc = sealcam_store::audit::encode(seq, at, &action, &actor, &subject, &detail);
    let h = sealcam_store::audit::chain_hash(&prev, &enc);
    conn.execute("UPDATE audit SET hash = ?1 WHERE seq = 3", [&h[..]])
        .expect("update");
    drop(conn);
    assert_eq!(first_bad(&d), Some(4));
}

#[test]
fn enrolment_codes_single_use_and_devices_unique() {
    let (_d, c) = catalog();
    let clinician = sealcam_core::record::Clinician::new(
        "Dr A",
        sealcam_core::record::RegistrationBody::Gmc,
        "1",
    )
    .expect("clinician");
    let e = sealcam_store::catalog::Enrolment {
        id: sealcam_store::ids::EnrolmentId::random(),
        clinician,
        created_at: 100,
        expires_at: 200,
        state: sealcam_store::catalog::EnrolmentState::Open,
    };
    c.create_enrolment(&e, [5; 32], ev(0)).expect("create");
    let k1 = DeviceSigningKey::generate().public();
    let k2 = DeviceSigningKey::generate().public();
    assert!(
        c.enrol_device([5; 32], &k1, [7; 32], 201, ev(1))
            .expect("enrol")
            .is_none(),
        "expired"
    );
    assert!(
        c.enrol_device([6; 32], &k1, [7; 32], 150, ev(1))
            .expect("enrol")
            .is_none(),
        "unknown"
    );
    assert!(c
        .enrol_device([5; 32], &k1, [7; 32], 150, ev(1))
        .expect("enrol")
        .is_some());
    assert!(
        c.enrol_device([5; 32], &k2, [7; 32], 150, ev(1))
            .expect("enrol")
            .is_none(),
        "used"
    );
}

#[test]
fn bootstrap_once() {
    use sealcam_store::catalog::BootstrapOutcome;
    let (_d, c) = catalog();
    let org = OrgSigningKey::generate().public();
    c.set_bootstrap_code([1; 32]).expect("set");
    assert_eq!(
        c.bootstrap([2; 32], &org, 1, ev(0)).expect("b"),
        BootstrapOutcome::BadCode
    );
    assert_eq!(
        c.bootstrap([1; 32], &org, 1, ev(0)).expect("b"),
        BootstrapOutcome::Done
    );
    assert_eq!(
        c.bootstrap([1; 32], &org, 1, ev(0)).expect("b"),
        BootstrapOutcome::AlreadyBootstrapped
    );
    assert_eq!(c.org_key().expect("org"), Some(org));
}

#[test]
fn link_uploads_are_counted_atomically() {
    use sealcam_store::catalog::{EnvelopeRow, InsertOutcome, Source};
    let (_d, c) = catalog();
    let link = Link {
        link_id: LinkId::random(),
        created_by: Creator::Device(DeviceSigningKey::generate().public().id()),
        created_at: 100,
        expires_at: 1_000,
        uploads: 0,
        max_uploads: 2,
        max_bytes: 100,
        revoked_at: None,
        context: None,
        capability: None,
    };
    c.create_link(&link, [9; 32], ev(0)).expect("create");
    let row = |i: u8| EnvelopeRow {
        id: sealcam_core::envelope::EnvelopeId([i; 16]),
        blake3: [i; 32],
        size: 10,
        created_at: 100,
        received_at: 100,
        source: Source::Link,
        sender: None,
        link_id: Some(link.link_id),
        context: None,
        recipients: vec![],
        blob_deleted_at: None,
    };
    assert!(matches!(
        c.insert_envelope(&row(1), 500, vec![]).expect("i"),
        InsertOutcome::Inserted
    ));
    assert!(matches!(
        c.insert_envelope(&row(1), 500, vec![]).expect("i"),
        InsertOutcome::Exists(_)
    ));
    assert!(matches!(
        c.insert_envelope(&row(2), 500, vec![]).expect("i"),
        InsertOutcome::Inserted
    ));
    assert!(matches!(
        c.insert_envelope(&row(3), 500, vec![]).expect("i"),
        InsertOutcome::LinkUnusable
    ));
    assert_eq!(c.link(link.link_id).expect("l").expect("l").uploads, 2);
    assert!(c.envelope(row(3).id).expect("e").is_none(), "rolled back");
}
