//! The agent handle without a store: opening and enrolling refused with
//! their codes, and a device home written here (as an approved device's
//! would be) for capture, status, events and the uploader. The agent
//! against a real store is covered by tests/tests/relay_outbox.rs.
#![cfg(feature = "agent")]

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use sealcam_bridge::json::{EventJson, StatusJson, SyncReportJson};
use sealcam_bridge::{Agent, BridgeError, ErrorCode};
use sealcam_core::keys::{
    encode_key_file, DeviceCertificate, DeviceSigningKey, OrgSigningKey, RecipientIdentity,
    StoreSigningKey,
};
use sealcam_core::record::{Clinician, RegistrationBody};
use sealcam_relay::{DeviceConfig, TlsPin};
use support::*;

fn code<T: std::fmt::Debug>(r: Result<T, BridgeError>) -> ErrorCode {
    let e = r.expect_err("should fail");
    assert_value_free(&e.message);
    e.code
}

fn now() -> u64 {
    sealcam_platform::clock::unix_now()
}

/// A URL nothing listens on (a port just freed).
fn dead_store_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("https://127.0.0.1:{port}")
}

/// A device home as enrolment (and, with `approved`, a refresh after
/// approval) leaves it, for a store that is not running.
struct Device {
    _dir: tempfile::TempDir,
    home: String,
    recipients: Vec<RecipientIdentity>,
}

fn device(approved: bool) -> Device {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    let org = OrgSigningKey::generate();
    let key = DeviceSigningKey::generate();
    let config = DeviceConfig {
        version: 1,
        store_url: dead_store_url(),
        tls_pin: TlsPin::from_bytes([7; 32]).to_string(),
        org_key: org.public(),
        store_key: StoreSigningKey::generate().public(),
        device_id: key.public().id(),
        enrolled_at: now(),
    };
    let write = |name: &str, bytes: &[u8]| std::fs::write(home.join(name), bytes).expect(name);
    write(
        "device.json",
        &serde_json::to_vec(&config).expect("device.json"),
    );
    write(
        "device.key",
        encode_key_file(&key, None, now()).expect("key").as_bytes(),
    );
    let recipients = vec![RecipientIdentity::generate()];
    if approved {
        let clinician =
            Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999").expect("ok");
        let t = now();
        let cert = DeviceCertificate::issue(&org, &key.public(), &clinician, t - 60, t + 86_400)
            .expect("certificate");
        write("certificate.bin", &cert.to_bytes());
        write(
            "directory.bin",
            &directory_until(&org, &recipients, t + 86_400).to_bytes(),
        );
    }
    Device {
        home: home.to_str().expect("UTF-8 path").to_owned(),
        _dir: dir,
        recipients,
    }
}

#[test]
fn open_refusals() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("never-enrolled");
    assert_eq!(
        code(Agent::open(missing.to_str().expect("UTF-8"))),
        ErrorCode::NotEnrolled
    );
    assert_eq!(
        code(Agent::open(dir.path().to_str().expect("UTF-8"))),
        ErrorCode::NotEnrolled
    );
    assert_eq!(code(Agent::open("")), ErrorCode::InvalidArgument);
    std::fs::write(dir.path().join("device.json"), b"{").expect("write");
    assert_eq!(
        code(Agent::open(dir.path().to_str().expect("UTF-8"))),
        ErrorCode::DamagedHome
    );
}

#[test]
fn enroll_refusals_never_show_the_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let home = home.to_str().expect("UTF-8");
    let code_text = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789";
    let pin = TlsPin::from_bytes([7; 32]).to_string();
    let org = "0123456789abcdef0123456789abcdef";
    let good =
        |url: &str| format!("sealcam-enrol:v1;url={url};pin={pin};org={org};code={code_text}");
    for bad in [
        String::new(),
        code_text.to_owned(),
        good("https://store.example").replace("pin=sha256/", "pin=sha1/"),
        good("http://store.example"),
        good("https://store.example").replace("v1", "v9"),
        format!("{};extra=1", good("https://store.example")),
    ] {
        let e = Agent::enroll(home, &bad).expect_err("refused");
        assert_eq!(e.code, ErrorCode::BadEnrolmentPayload, "{bad:?}: {e}");
        assert!(!e.message.contains(code_text), "{}", e.message);
        assert!(!e.message.contains("ABCD"), "{}", e.message);
    }
    // A well-formed payload for a store that is not there.
    let e = Agent::enroll(home, &good(&dead_store_url())).expect_err("no store");
    assert_eq!(e.code, ErrorCode::Network, "{e}");
    assert!(!e.message.contains("ABCD"), "{}", e.message);
}

#[test]
fn a_pending_device() {
    let d = device(false);
    let agent = Agent::open(&d.home).expect("open");
    let status: StatusJson = serde_json::from_str(&agent.status().expect("status")).expect("JSON");
    assert!(!status.approved && !status.revoked && !status.certificate_valid);
    assert_eq!(status.directory_version, None);
    assert_eq!(status.clinician, None);
    assert!(status.queued.is_empty() && status.rejected.is_empty());
    assert_eq!(status.device_id.len(), 32);

    let t = Instant::now();
    assert_eq!(agent.next_event(0), None);
    assert_eq!(agent.next_event(50), None);
    assert!(t.elapsed() >= Duration::from_millis(50));

    // Not approved comes first; the image is consumed all the same.
    assert_eq!(
        code(agent.capture(b"not even a photo".to_vec(), &draft().to_string())),
        ErrorCode::NotApproved
    );
    // Without a certificate there is no default clinician.
    assert_eq!(
        code(agent.check_draft(&draft().to_string())),
        ErrorCode::ClinicianInvalid
    );
    agent
        .check_draft(&draft_with_clinician().to_string())
        .expect("a draft naming its clinician");
    // Nothing queued: a sync needs no store.
    let report: SyncReportJson = serde_json::from_str(&agent.sync().expect("sync")).expect("JSON");
    assert_eq!(
        report,
        SyncReportJson {
            uploaded: 0,
            rejected: 0,
            remaining: 0
        }
    );
    assert_eq!(agent.requeue_rejected().expect("requeue"), 0);
    assert_eq!(code(agent.refresh()), ErrorCode::Network);
    // A link is vouched for by the device's certificate: none yet.
    assert_eq!(code(agent.create_link("{}")), ErrorCode::NotApproved);
    assert_eq!(
        code(agent.create_link(r#"{"expires_in_days": 3}"#)),
        ErrorCode::InvalidJson
    );
    assert_eq!(
        code(agent.create_link(r#"{"context": "not base64!"}"#)),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn an_approved_device_captures_offline() {
    let d = device(true);
    let agent = Agent::open(&d.home).expect("open");
    let status: StatusJson = serde_json::from_str(&agent.status().expect("status")).expect("JSON");
    assert!(status.approved && status.certificate_valid);
    assert_eq!(status.directory_version, Some(3));
    assert_eq!(
        status.clinician.as_ref().map(|c| c.name.as_str()),
        Some("Dr Sam Fictional")
    );
    agent
        .check_draft(&draft().to_string())
        .expect("the certificate's clinician is the default");

    // Refusals of the draft and the image, with their codes.
    let mut bad = draft();
    bad["patient"]["nhs_number"] = BAD_NHS.into();
    let photo = photo();
    let image = photo.clone().unwrap_or_default();
    assert_eq!(
        code(agent.capture(image.clone(), &bad.to_string())),
        ErrorCode::NhsNumberInvalid
    );
    assert_eq!(
        code(agent.capture(PATIENT_NAME.as_bytes().to_vec(), &draft().to_string())),
        ErrorCode::NotAnImage
    );
    let Some(photo) = photo else { return };

    let id = agent
        .capture(photo, &draft().to_string())
        .expect("captured to the outbox");
    let event: EventJson =
        serde_json::from_str(&agent.next_event(1000).expect("an event")).expect("JSON");
    let EventJson::Queued { id: queued, size } = event else {
        panic!("expected queued, got {event:?}")
    };
    assert_eq!(queued, id);
    let status: StatusJson = serde_json::from_str(&agent.status().expect("status")).expect("JSON");
    assert_eq!(status.queued.len(), 1);
    assert_eq!(status.queued[0].id, id);
    assert_eq!(status.queued[0].size, size);

    // The envelope in the outbox opens for the directory's recipient.
    let path = std::path::Path::new(&d.home)
        .join("outbox")
        .join(format!("{id}.sealcam"));
    let envelope = std::fs::read(path).expect("queued envelope");
    let opened = sealcam_core::envelope::open(&envelope, &d.recipients[0], None).expect("open");
    assert_eq!(opened.record.clinician().name, "Dr Sam Fictional");

    // The store is not there: a sync fails with `network`, the envelope
    // stays queued, and the status says why.
    assert_eq!(code(agent.sync()), ErrorCode::Network);
    let status: StatusJson = serde_json::from_str(&agent.status().expect("status")).expect("JSON");
    assert_eq!(status.queued.len(), 1);
    let last = status.last_error.expect("last error");
    assert_eq!((last.code, last.name.as_str()), (20, "network"));

    // The uploader retries, and says so.
    agent.start_uploader();
    agent.start_uploader();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut retrying = None;
    while retrying.is_none() && Instant::now() < deadline {
        if let Some(e) = agent.next_event(500) {
            if let EventJson::Retrying { code, name, .. } = serde_json::from_str(&e).expect("JSON")
            {
                retrying = Some((code, name));
            }
        }
    }
    agent.stop_uploader();
    agent.stop_uploader();
    assert_eq!(retrying, Some((20, "network".to_owned())));
}
