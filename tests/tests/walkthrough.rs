//! The README walkthrough, scripted: start the store, bootstrap, add
//! records recipients, enrol a desktop device, send a corpus photo, pull it
//! as records staff, look at the FHIR file, and check the delivered image
//! has no GPS (our scanner, and exiftool when installed). Real store
//! process, real CLI binary, TLS pinned end to end.

use sealcam_test_support::cli;
use sealcam_test_support::deployment;

use cli::{run, sealcam, text};
use deployment::{ok, Deployment, RECORD_FLAGS};
use sealcam_test_support::{corpus_dir, scanner};

const PHOTO: &str = "mpr_PXL_20200710_061629144.MP.jpg";

#[test]
fn walkthrough_capture_to_filed_record() {
    let Some(corpus) = corpus_dir() else { return };
    let photo = corpus.join("images").join(PHOTO);
    assert!(photo.is_file(), "{PHOTO} missing from the corpus");
    let original = std::fs::read(&photo).expect("read photo");
    assert!(
        !scanner::scan(&original).is_empty(),
        "the corpus photo should carry GPS and camera metadata to begin with"
    );

    // Two records teams in the directory; one enrolled desktop device.
    let dep = Deployment::new(2);
    let home = dep.enrol_device("desktop");

    let o = run(
        sealcam()
            .arg("send")
            .arg(&photo)
            .arg("--home")
            .arg(&home)
            .args(RECORD_FLAGS),
        None,
    );
    ok(&o, "send");
    assert!(
        text(&o.stdout).contains("sent 1 envelope"),
        "{}",
        text(&o.stdout)
    );
    let ids = dep.stored_ids();
    assert_eq!(ids.len(), 1, "exactly one envelope in the store");
    let id = &ids[0];
    // The device keeps nothing once the store confirmed it.
    let outbox: Vec<_> = std::fs::read_dir(home.join("outbox"))
        .expect("outbox")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .collect();
    assert!(outbox.is_empty(), "the outbox still holds files");

    // Both teams pull and decrypt it.
    for team in 0..2 {
        let out = dep.dir.path().join(format!("filed{team}"));
        let o = dep.pull(team, &out);
        ok(&o, "records pull");
        let env_dir = out.join(id);
        let image = std::fs::read(env_dir.join("image.jpg")).expect("the image was filed");
        let clean = sealcam_core::sanitize::sanitize(&original).expect("sanitize");
        assert_eq!(image, clean.bytes, "the filed image is the sanitized photo");
        let findings = scanner::scan(&image);
        assert!(
            findings.is_empty(),
            "the filed image still has metadata: {findings:?}"
        );
        let fhir: serde_json::Value = serde_json::from_slice(
            &std::fs::read(env_dir.join("media.fhir.json")).expect("FHIR file"),
        )
        .expect("FHIR JSON");
        assert_eq!(fhir["resourceType"], "Media");
        assert_eq!(
            fhir["subject"]["identifier"]["system"],
            "https://fhir.nhs.uk/Id/nhs-number"
        );
        assert_eq!(fhir["subject"]["identifier"]["value"], "9434765919");
        assert_eq!(fhir["content"]["contentType"], "image/jpeg");
        assert_eq!(fhir["content"]["size"], image.len());
        exiftool_finds_no_gps(&env_dir.join("image.jpg"));
        // Pulling again files nothing new: the inbox is empty.
        let again = dep.pull(team, &out);
        ok(&again, "second records pull");
        let listing: Vec<_> = std::fs::read_dir(&out)
            .expect("out")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(listing.len(), 1, "one directory per envelope: {listing:?}");
    }

    // A key outside the directory cannot open what the store holds.
    let outsider = dep.dir.path().join("outsider.key");
    ok(
        &run(sealcam().arg("keygen").arg("-o").arg(&outsider), None),
        "keygen",
    );
    let blob = find_blob(dep.store.data_dir(), id);
    let o = run(
        sealcam()
            .arg("open")
            .arg(&blob)
            .arg("-i")
            .arg(&outsider)
            .arg("-o")
            .arg(dep.dir.path().join("stolen.jpg")),
        None,
    );
    assert!(!o.status.success(), "an outsider opened the envelope");
    assert!(!dep.dir.path().join("stolen.jpg").exists());

    // The audit chain verifies and recorded the journey.
    let o = sealcam_test_support::store::audit_command("verify", dep.store.data_dir());
    ok(&o, "audit verify");
    let o = dep.admin(&["audit", "export"]);
    ok(&o, "admin audit export");
    let log = text(&o.stdout);
    for action in ["bootstrap", "enrol", "upload", "fetch", "filed"] {
        assert!(log.contains(action), "no {action} entry in the audit log");
    }
    // The administrator verifies the chain from their side, twice (the
    // second run checks the anchor the first one kept) ...
    for _ in 0..2 {
        let o = dep.admin(&["audit", "verify"]);
        ok(&o, "admin audit verify");
        assert!(
            text(&o.stdout).contains("audit chain intact"),
            "{}",
            text(&o.stdout)
        );
    }
    // ... and an edited row in the store's catalog is caught and named.
    let db = rusqlite::Connection::open(dep.store.data_dir().join("catalog.sqlite"))
        .expect("open the catalog");
    db.execute("UPDATE audit SET actor = 'anonymous' WHERE seq = 3", [])
        .expect("tamper");
    drop(db);
    let o = dep.admin(&["audit", "verify"]);
    assert!(!o.status.success(), "an edited audit row went unnoticed");
    assert!(text(&o.stderr).contains("seq 3"), "{}", text(&o.stderr));
}

/// The envelope's blob file in the store's data dir (ciphertext).
fn find_blob(data: &std::path::Path, id: &str) -> std::path::PathBuf {
    fn walk(dir: &std::path::Path, id: &str) -> Option<std::path::PathBuf> {
        for e in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                if let Some(f) = walk(&p, id) {
                    return Some(f);
                }
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(id))
            {
                return Some(p);
            }
        }
        None
    }
    walk(&data.join("blobs"), id).expect("the envelope's blob is in the store")
}

fn exiftool_finds_no_gps(image: &std::path::Path) {
    match std::process::Command::new("exiftool")
        .args(["-s", "-gps:all", "-a"])
        .arg(image)
        .output()
    {
        Ok(o) => {
            assert!(o.status.success(), "exiftool failed");
            let out = text(&o.stdout);
            assert!(
                out.trim().is_empty(),
                "exiftool still finds GPS tags: {out}"
            );
        }
        Err(_) => sealcam_test_support::summary(
            "\n!!! exiftool not installed: the walkthrough's exiftool check was skipped !!!\n",
        ),
    }
}

/// A compromised store inserts a pending device of its own (its key, a
/// real enrolment id, a made-up binding, and one with an enrolment the
/// admin never made): the administrator's approval refuses both and signs
/// nothing.
#[test]
fn a_compromised_store_cannot_get_its_own_device_certified() {
    use sealcam_core::keys::DeviceSigningKey;
    let dep = Deployment::new(1);
    dep.enrolment_payload();
    let local: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dep.dir.path().join("admin/enrolments.json")).expect("enrolments.json"),
    )
    .expect("json");
    let enrolment_id = local["open"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .expect("the admin home recorded the enrolment");
    let db = rusqlite::Connection::open(dep.store.data_dir().join("catalog.sqlite"))
        .expect("open the catalog");
    let clinician =
        r#"{"name":"Dr Jane Doe","registration_body":"GMC","registration_number":"7654321"}"#;
    let forged = [
        (DeviceSigningKey::generate(), enrolment_id.clone()),
        (
            DeviceSigningKey::generate(),
            "00112233445566778899aabbccddeeff".to_owned(),
        ),
    ];
    for (key, enrolment) in &forged {
        db.execute(
            "INSERT INTO devices (device_id, device_key, clinician, state, enrolled_at, certificate, enrolment_id, binding)
             VALUES (?1, ?2, ?3, 'pending', 1, NULL, ?4, ?5)",
            rusqlite::params![
                key.public().id().to_string(),
                key.public().to_string(),
                clinician,
                enrolment,
                &[0x42u8; 32][..]
            ],
        )
        .expect("insert a forged pending device");
    }
    drop(db);
    let o = dep.admin(&["devices", "approve", "--all"]);
    assert!(!o.status.success(), "the forged devices were approved");
    let err = text(&o.stderr);
    assert!(err.contains("binding check failed"), "{err}");
    assert!(err.contains("not made from this admin home"), "{err}");
    let o = dep.admin(&["devices", "list", "--json"]);
    ok(&o, "devices list");
    assert!(
        !text(&o.stdout).contains("\"active\""),
        "{}",
        text(&o.stdout)
    );
}

/// `sealcam send` strips each image once: the capture pipeline sanitizes
/// it in its own buffer and seals the result (issue 10). Counted by the
/// sanitizer itself (debug builds report the count on request).
#[test]
fn send_strips_each_image_once() {
    let Some(corpus) = corpus_dir() else { return };
    let photos: Vec<_> = [
        "mpr_PXL_20200710_061629144.MP.jpg",
        "et_PNG.png",
        "immich_denali.webp",
    ]
    .iter()
    .map(|n| corpus.join("images").join(n))
    .collect();
    let dep = Deployment::new(1);
    let home = dep.enrol_device("desktop");
    let o = run(
        sealcam()
            .arg("send")
            .args(&photos)
            .arg("--home")
            .arg(&home)
            .args(RECORD_FLAGS)
            .env("SEALCAM_DEBUG_SANITIZE_PASSES", "1"),
        None,
    );
    ok(&o, "send");
    let err = text(&o.stderr);
    assert!(err.contains("sanitizer passes: 3\n"), "{err}");
    assert_eq!(dep.stored_ids().len(), 3);
}

/// An unquoted value split in two (`--name Test Patient`) leaves a stray
/// word where an image goes: refused without echoing it, and nothing is
/// sealed even when a file of that name exists (issue 11 #15).
#[test]
fn a_stray_word_is_refused_not_sealed_and_not_echoed() {
    let Some(corpus) = corpus_dir() else { return };
    let photo = corpus.join("images").join(PHOTO);
    let dep = Deployment::new(1);
    let home = dep.enrol_device("desktop");
    let cwd = tempfile::tempdir().expect("cwd");
    std::fs::copy(&photo, cwd.path().join("Patient")).expect("a file named like the word");
    let mut flags: Vec<&str> = RECORD_FLAGS.to_vec();
    let at = flags
        .iter()
        .position(|f| *f == "Test Patient")
        .expect("name flag");
    flags.splice(at..=at, ["Test", "Patient"]);
    let o = run(
        sealcam()
            .current_dir(cwd.path())
            .arg("send")
            .arg(&photo)
            .arg("--home")
            .arg(&home)
            .args(&flags),
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!all.contains("Patient"), "the stray word was echoed: {all}");
    assert!(all.contains("quotes"), "{all}");
    assert!(dep.stored_ids().is_empty());
    let queued = std::fs::read_dir(home.join("outbox"))
        .expect("outbox")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .count();
    assert_eq!(queued, 0, "something was queued");
}
