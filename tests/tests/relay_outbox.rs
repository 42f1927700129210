//! The relay agent's outbox under faults, end to end: a real store process
//! behind a proxy that goes down, cuts and stalls connections; the real
//! `sealcam` binary and, for the 500-capture run, `core::relay` in process.
//!
//! What must hold every time: an envelope is either in the outbox or
//! confirmed by the store (never lost), and the store ends up with exactly
//! the envelopes captured (never duplicated).

use sealcam_test_support::cli;
use sealcam_test_support::deployment;
use sealcam_test_support::proxy;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cli::{run, sealcam, text};
use deployment::{ok, Deployment, RECORD_FLAGS};
use proxy::{addr_of, Mode};
use sealcam_test_support::corpus_dir;
use sealcam_test_support::store::StoreProcess;

/// `sealcam send` exits with this when everything is queued but not sent.
const QUEUED_NOT_SENT: i32 = 75;

/// The ids (file stems) in a device's outbox.
fn outbox_ids(home: &Path) -> BTreeSet<String> {
    std::fs::read_dir(home.join("outbox"))
        .expect("outbox")
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".sealcam"))
                .map(str::to_owned)
        })
        .collect()
}

fn stored(dep: &Deployment) -> BTreeSet<String> {
    dep.stored_ids().into_iter().collect()
}

/// How many envelopes the store logged as accepted.
fn upload_entries(dep: &Deployment) -> u64 {
    let db = rusqlite::Connection::open_with_flags(
        dep.store.data_dir().join("catalog.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the catalog");
    db.query_row(
        "SELECT COUNT(*) FROM audit WHERE action = 'envelope.upload'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| u64::try_from(n).unwrap_or(0))
    .expect("count")
}

/// Every queued envelope is either still queued or in the store.
fn none_lost(queued: &BTreeSet<String>, left: &BTreeSet<String>, stored: &BTreeSet<String>) {
    let lost: Vec<_> = queued
        .iter()
        .filter(|id| !left.contains(*id) && !stored.contains(*id))
        .collect();
    assert!(lost.is_empty(), "envelopes lost: {lost:?}");
    assert!(
        left.is_subset(queued),
        "unknown envelopes appeared in the outbox"
    );
}

/// Up to `n` corpus JPEGs, largest first (slow uploads make "mid-upload"
/// reachable).
fn corpus_jpegs(n: usize) -> Option<Vec<PathBuf>> {
    let dir = corpus_dir()?.join("images");
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .expect("corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"))
        })
        .map(|p| (std::fs::metadata(&p).map_or(0, |m| m.len()), p))
        .collect();
    files.sort();
    files.reverse();
    Some(files.into_iter().take(n).map(|(_, p)| p).collect())
}

fn send(home: &Path, images: &[PathBuf], extra: &[&str]) -> std::process::Output {
    run(
        sealcam()
            .arg("send")
            .args(images)
            .arg("--home")
            .arg(home)
            .args(["--retries", "0"])
            .args(extra)
            .args(RECORD_FLAGS),
        None,
    )
}

fn sync(home: &Path) -> std::process::Output {
    run(
        sealcam().args(["outbox", "--sync", "--home"]).arg(home),
        None,
    )
}

/// Starts `sealcam outbox --sync` in the background and waits until the
/// store holds its first envelope: the moment to kill something.
fn sync_until_first_upload(dep: &Deployment, home: &Path) -> std::process::Child {
    let agent = sealcam()
        .args(["outbox", "--sync", "--home"])
        .arg(home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sync");
    wait_for("the first upload", Duration::from_secs(60), || {
        !stored(dep).is_empty()
    });
    agent
}

/// After a kill mid-upload: it really was mid-upload, and nothing is lost.
fn check_mid_upload(queued: &BTreeSet<String>, home: &Path, at_kill: &BTreeSet<String>, who: &str) {
    assert!(
        at_kill.len() < queued.len(),
        "the {who} was killed after every upload; the test did not reach mid-upload"
    );
    none_lost(queued, &outbox_ids(home), at_kill);
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn store_down_during_capture_then_delivered_once() {
    let Some(images) = corpus_jpegs(2) else {
        return;
    };
    let dep = Deployment::new(1);
    let home = dep.enrol_device("phone");
    dep.proxy.set_mode(Mode::Down);
    let o = send(&home, &images, &[]);
    assert_eq!(
        o.status.code(),
        Some(QUEUED_NOT_SENT),
        "send with the store down: {}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stderr).contains("safely queued"),
        "{}",
        text(&o.stderr)
    );
    let queued = outbox_ids(&home);
    assert_eq!(queued.len(), 2, "both images sealed and queued");
    assert!(stored(&dep).is_empty());
    let o = run(sealcam().args(["outbox", "--home"]).arg(&home), None);
    ok(&o, "outbox");
    assert!(
        text(&o.stdout).contains("outbox: 2 envelope(s)"),
        "{}",
        text(&o.stdout)
    );

    dep.proxy.set_mode(Mode::Pass);
    ok(&sync(&home), "outbox --sync");
    assert!(
        outbox_ids(&home).is_empty(),
        "delivered envelopes left the outbox"
    );
    assert_eq!(
        stored(&dep),
        queued,
        "the store holds exactly what was queued"
    );
    // Syncing again sends nothing and changes nothing.
    ok(&sync(&home), "outbox --sync again");
    assert_eq!(stored(&dep), queued);
}

#[test]
fn store_killed_mid_upload_then_everything_delivered_once() {
    let Some(images) = corpus_jpegs(24) else {
        return;
    };
    let mut dep = Deployment::new(1);
    let home = dep.enrol_device("phone");
    ok(&send(&home, &images, &["--no-upload"]), "send --no-upload");
    let queued = outbox_ids(&home);
    assert_eq!(queued.len(), images.len());

    let mut agent = sync_until_first_upload(&dep, &home);
    dep.store.kill();
    let at_kill = stored(&dep);
    let _ = agent.wait();
    // Nothing the store did not confirm left the outbox.
    check_mid_upload(&queued, &home, &at_kill, "store");

    dep.restart_store();
    assert!(
        dep.store.tmp_files().is_empty(),
        "partial uploads left in blobs/tmp"
    );
    ok(&sync(&home), "outbox --sync after the restart");
    assert!(outbox_ids(&home).is_empty());
    assert_eq!(
        stored(&dep),
        queued,
        "exactly the queued envelopes, each once"
    );
}

#[test]
fn agent_killed_mid_upload_then_everything_delivered_once() {
    let Some(images) = corpus_jpegs(24) else {
        return;
    };
    let dep = Deployment::new(1);
    let home = dep.enrol_device("phone");
    ok(&send(&home, &images, &["--no-upload"]), "send --no-upload");
    let queued = outbox_ids(&home);

    let mut agent = sync_until_first_upload(&dep, &home);
    agent.kill().expect("kill the agent"); // SIGKILL
    let _ = agent.wait();
    let at_kill = stored(&dep);
    check_mid_upload(&queued, &home, &at_kill, "agent");
    // No temporary files: a killed write is removed when the outbox opens.
    ok(&sync(&home), "outbox --sync after the kill");
    assert!(outbox_ids(&home).is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(home.join("outbox"))
        .expect("outbox")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left in the outbox");
    assert_eq!(
        stored(&dep),
        queued,
        "exactly the queued envelopes, each once"
    );
}

#[test]
fn tls_pin_mismatch_refused_and_envelope_kept() {
    let Some(images) = corpus_jpegs(1) else {
        return;
    };
    let dep = Deployment::new(1);
    let home = dep.enrol_device("phone");
    // Another store (another TLS key) answers at the same address.
    let impostor = StoreProcess::start();
    dep.proxy.set_upstream(addr_of(&impostor.url));
    let o = send(&home, &images, &[]);
    assert_eq!(
        o.status.code(),
        Some(QUEUED_NOT_SENT),
        "{}",
        text(&o.stderr)
    );
    let err = text(&o.stderr).to_lowercase();
    assert!(
        err.contains("certificate"),
        "the pin mismatch is not named: {err}"
    );
    assert_eq!(outbox_ids(&home).len(), 1, "the envelope stays queued");
    assert!(
        impostor.blob_files().is_empty(),
        "the impostor received the envelope"
    );

    dep.proxy.set_upstream(addr_of(&dep.store.url));
    ok(&sync(&home), "outbox --sync to the real store");
    assert_eq!(stored(&dep).len(), 1);
    assert!(outbox_ids(&home).is_empty());
}

#[test]
fn directory_with_a_bad_signature_is_refused_and_nothing_sealed() {
    let Some(images) = corpus_jpegs(1) else {
        return;
    };
    let dep = Deployment::new(1);
    let home = dep.enrol_device("phone");
    // A compromised store serves a directory the organisation did not sign
    // (here: the published one with its signature's last byte flipped).
    let db = rusqlite::Connection::open(dep.store.data_dir().join("catalog.sqlite"))
        .expect("open the catalog");
    let mut bytes: Vec<u8> = db
        .query_row("SELECT bytes FROM directory WHERE id = 1", [], |r| r.get(0))
        .expect("the published directory");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    db.execute("UPDATE directory SET bytes = ?1 WHERE id = 1", [&bytes])
        .expect("tamper");
    drop(db);
    let o = send(&home, &images, &[]);
    assert!(
        !o.status.success(),
        "send went ahead with a forged directory"
    );
    assert_ne!(o.status.code(), Some(QUEUED_NOT_SENT));
    assert!(
        text(&o.stderr).contains("not signed by your organisation"),
        "{}",
        text(&o.stderr)
    );
    assert!(outbox_ids(&home).is_empty(), "something was sealed");
    assert!(stored(&dep).is_empty());
}

#[test]
fn five_hundred_captures_through_a_flaky_link_arrive_exactly_once() {
    let Some(corpus) = corpus_dir() else { return };
    // The smallest corpus JPEG: the run is about the link, not the bytes.
    let image = corpus_jpegs(usize::MAX)
        .and_then(|v| v.last().cloned())
        .unwrap_or_else(|| corpus.join("images").join("missing.jpg"));
    let photo = std::fs::read(&image).expect("read the photo");
    let dep = Deployment::new(1);
    let home = dep.enrol_device("phone");

    let relay = Arc::new(sealcam_relay::Relay::open(&home).expect("open the device"));
    assert_eq!(
        relay.refresh().expect("refresh"),
        sealcam_relay::DeviceState::Active
    );
    let record = record_for(&relay, &photo);
    // A UI listens to the relay's events.
    let (events_tx, events) = std::sync::mpsc::channel();
    relay.subscribe(events_tx);
    dep.proxy.set_mode(Mode::Flaky {
        drop_per_mille: 20,
        stall_per_mille: 10,
        stall: Duration::from_millis(200),
    });
    let uploader = relay.spawn_uploader(
        sealcam_relay::Backoff::new(Duration::from_millis(20), Duration::from_millis(500)),
        Duration::from_millis(200),
    );
    let mut captured = BTreeSet::new();
    for _ in 0..500 {
        let id = relay
            .capture(
                &photo,
                &sealcam_core::capture::RecordDraft::from_record(&record),
            )
            .expect("capture never waits on the network");
        captured.insert(id.to_string());
    }
    assert_eq!(captured.len(), 500);
    wait_for("the outbox to drain", Duration::from_secs(600), || {
        relay.status().map(|s| s.queued.is_empty()).unwrap_or(false)
    });
    uploader.stop();
    let s = dep.proxy.stats();
    let dropped = s.dropped.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        dropped > 0,
        "the link never dropped a connection; the test proved nothing"
    );
    assert!(
        relay.status().expect("status").rejected.is_empty(),
        "the store refused some"
    );
    assert_eq!(
        stored(&dep),
        captured,
        "exactly the 500 captured envelopes, each once"
    );
    // Each accepted exactly once: the store logs one upload per new
    // envelope (a resend of the same bytes answers with the same receipt
    // and logs nothing new).
    assert_eq!(upload_entries(&dep), 500, "envelope.upload audit entries");
    let (mut queued, mut uploaded, mut retries) = (BTreeSet::new(), BTreeSet::new(), 0);
    for e in events.try_iter() {
        match e {
            sealcam_relay::Event::Queued { id, .. } => {
                queued.insert(id.to_string());
            }
            sealcam_relay::Event::Uploaded { id } => {
                assert!(
                    uploaded.insert(id.to_string()),
                    "{id} reported uploaded twice"
                );
            }
            sealcam_relay::Event::Retrying { .. } => retries += 1,
            _ => {}
        }
    }
    assert_eq!(queued, captured, "one Queued event per capture");
    assert_eq!(uploaded, captured, "one Uploaded event per envelope");
    assert!(
        retries > 0,
        "the cut connections produced no Retrying event"
    );
    sealcam_test_support::summary(&format!(
        "relay: 500 captures through the flaky link: {} connections, {} cut, {} stalled; 500 stored, 0 duplicates",
        s.connections.load(std::sync::atomic::Ordering::Relaxed),
        dropped,
        s.stalled.load(std::sync::atomic::Ordering::Relaxed),
    ));
}

/// A valid record for `photo`, as the device would build it.
fn record_for(relay: &sealcam_relay::Relay, photo: &[u8]) -> sealcam_core::record::ClinicalRecord {
    use sealcam_core::record::*;
    let cert = relay.certificate().expect("approved");
    let clean = sealcam_core::sanitize::sanitize(photo).expect("sanitize");
    let now = time::OffsetDateTime::now_utc();
    let clinician = cert.clinician().clone();
    ClinicalRecord::new(
        Patient::new(
            Some(NhsNumber::parse("9434765919").expect("nhs")),
            None,
            None,
            None,
        )
        .expect("patient"),
        BodySite::new("left forearm", None, None, None).expect("site"),
        Capture {
            captured_at: now,
            clinician: clinician.clone(),
            device_id: None,
        },
        Consent::new(
            ConsentScopes::parse("care").expect("scopes"),
            ConsentMethod::parse("verbal").expect("method"),
            ConsentGiver::parse("patient").expect("giver"),
            clinician,
            now,
            None,
            None,
        )
        .expect("consent"),
        Source::DeviceCapture,
        ImageInfo::for_image(
            MediaType::from(clean.report.format),
            &clean.bytes,
            None,
            None,
        )
        .expect("image"),
    )
    .expect("record")
}
