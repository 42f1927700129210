//! `sealcam keygen`, `certify`, `seal`, `open` and `inspect`, driven through
//! the real binary (built on first use; `SEALCAM_BIN` overrides it).
//!
//! A signed setup (organisation key, device key, certificate, two
//! recipients) is made with the CLI itself in a temporary directory. The
//! refusals are tables (CLI tests as data): arguments, expected exit,
//! stderr substrings, strings stderr must NOT contain (patient data), and
//! the promise that no output file is created.

use sealcam_test_support::cli;

use cli::{listing, run, sealcam, text};
use sealcam_core::keys::{decode_identity_file, Recipient};
use sealcam_core::record::ClinicalRecord;
use sealcam_core::sanitize;
use sealcam_test_support::{corpus_dir, find_bytes, scanner};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use zeroize::Zeroizing;

const PHOTO: &str = "mei_Apple_iPhone_4.jpg";
/// The NHS test number 943 476 5919 (valid Modulus 11) and an invented name.
const NHS: &str = "943 476 5919";
const NHS_DIGITS: &str = "9434765919";
const PATIENT: &str = "Alex Example-Testpatient";
const CLINICIAN: &str = "Dr Sam Fictional";

/// The corpus photo, or `None` (skip, loudly) without the corpus.
fn photo() -> Option<PathBuf> {
    let p = corpus_dir()?.join("images").join(PHOTO);
    assert!(p.is_file(), "{PHOTO} missing from the corpus");
    Some(p)
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\nstderr: {}",
        o.status,
        text(&o.stderr)
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Keys and a certificate made with the CLI.
struct Setup {
    dir: tempfile::TempDir,
    /// Recipient key files and their `sealcam1…` strings.
    recipients: Vec<(PathBuf, String)>,
    org_pub: String,
    device_key: PathBuf,
    device_pub: String,
    certificate: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut recipients = Vec::new();
        for name in ["records.key", "dermatology.key"] {
            let path = dir.path().join(name);
            let o = run(sealcam().arg("keygen").arg("-o").arg(&path), None);
            ok(&o, "keygen");
            recipients.push((path, text(&o.stdout).trim().to_string()));
        }
        let org_key = dir.path().join("org.key");
        let o = run(
            sealcam()
                .args(["keygen", "--kind", "org", "-o"])
                .arg(&org_key),
            None,
        );
        ok(&o, "keygen --kind org");
        let org_pub = text(&o.stdout).trim().to_string();
        let device_key = dir.path().join("device.key");
        let o = run(
            sealcam()
                .args(["keygen", "--kind", "device", "-o"])
                .arg(&device_key),
            None,
        );
        ok(&o, "keygen --kind device");
        let device_pub = text(&o.stdout).trim().to_string();
        let certificate = dir.path().join("device.cert");
        let o = run(
            sealcam()
                .arg("certify")
                .arg("--org-key")
                .arg(&org_key)
                .args(["--device", &device_pub, "--name", CLINICIAN])
                .args([
                    "--registration-body",
                    "GMC",
                    "--registration-number",
                    "9999999",
                ])
                .arg("-o")
                .arg(&certificate),
            None,
        );
        ok(&o, "certify");
        Setup {
            dir,
            recipients,
            org_pub,
            device_key,
            device_pub,
            certificate,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `seal` arguments after IN: both recipients, OUT, the record flags,
    /// signed with the device.
    fn seal_args(&self, out: &Path) -> Vec<std::ffi::OsString> {
        let mut a: Vec<std::ffi::OsString> = Vec::new();
        for (_, r) in &self.recipients {
            a.push("-r".into());
            a.push(r.into());
        }
        a.push("-o".into());
        a.push(out.into());
        a.extend(record_flags().iter().map(Into::into));
        a.push("--sign-key".into());
        a.push(self.device_key.clone().into());
        a.push("--certificate".into());
        a.push(self.certificate.clone().into());
        a
    }
}

fn record_flags() -> Vec<&'static str> {
    vec![
        "--nhs",
        NHS,
        "--name",
        PATIENT,
        "--dob",
        "1970-01-31",
        "--site",
        "Left index finger, dorsal surface",
        "--snomed",
        "7569003",
        "--laterality",
        "left",
        "--caption",
        "Pigmented lesion, 6 mm",
        "--consent",
        "care,teaching",
        "--consent-method",
        "verbal",
        "--consent-by",
        "patient",
    ]
}

fn assert_no_patient_data(what: &str, bytes: &[u8]) {
    for s in [NHS, NHS_DIGITS, PATIENT, "Alex Example", "Pigmented lesion"] {
        assert!(
            find_bytes(bytes, s.as_bytes()).is_none(),
            "{what} contains the patient data {s:?}"
        );
    }
}

#[test]
fn keygen_writes_a_private_identity_and_prints_its_recipient() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("me.key");
    let o = run(sealcam().arg("keygen").arg("-o").arg(&key), None);
    ok(&o, "keygen");
    let printed = text(&o.stdout);
    let recipient: Recipient = printed
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("stdout is not a recipient ({e}): {printed}"));
    assert!(printed.starts_with("sealcam1"), "{printed}");
    assert_eq!(mode(&key), 0o600, "key file mode");
    let file = std::fs::read_to_string(&key).expect("read key");
    let identity = decode_identity_file(&file, || panic!("unprotected key asked for a passphrase"))
        .expect("key file decodes");
    assert_eq!(
        identity.recipient(),
        recipient,
        "printed recipient is the file's"
    );
    assert!(
        !text(&o.stderr).contains("SEALCAM-SECRET-KEY"),
        "secret key on stderr"
    );
    assert_eq!(listing(dir.path()), ["me.key"], "stray files");

    // The other kinds print their public key.
    for (kind, prefix) in [
        ("org", "sealcamorg1"),
        ("device", "sealcamdev1"),
        ("staff", "sealcamstaff1"),
    ] {
        let path = dir.path().join(format!("{kind}.key"));
        let o = run(
            sealcam().args(["keygen", "--kind", kind, "-o"]).arg(&path),
            None,
        );
        ok(&o, kind);
        assert!(text(&o.stdout).starts_with(prefix), "{}", text(&o.stdout));
        assert_eq!(mode(&path), 0o600);
        if kind == "staff" {
            let file = std::fs::read_to_string(&path).expect("read key");
            let key: sealcam_core::keys::StaffSigningKey =
                sealcam_core::keys::decode_key_file(&file, || panic!("asked for a passphrase"))
                    .expect("staff key file decodes");
            assert_eq!(key.public().to_string(), text(&o.stdout).trim());
        }
    }

    // `-o -`: the key file on stdout, a warning and the recipient on stderr.
    let o = run(sealcam().args(["keygen", "-o", "-"]), None);
    ok(&o, "keygen -o -");
    let file = text(&o.stdout);
    let identity = decode_identity_file(&file, || panic!("no passphrase expected"))
        .expect("stdout is a key file");
    let stderr = text(&o.stderr);
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(
        stderr.contains(&identity.recipient().to_string()),
        "{stderr}"
    );
}

#[test]
fn keygen_refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("me.key");
    ok(
        &run(sealcam().arg("keygen").arg("-o").arg(&key), None),
        "keygen",
    );
    let before = std::fs::read(&key).expect("read");
    let o = run(sealcam().arg("keygen").arg("-o").arg(&key), None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("already exists"),
        "{}",
        text(&o.stderr)
    );
    assert!(text(&o.stderr).contains("--force"), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&key).expect("read"), before, "key replaced");
    assert_eq!(listing(dir.path()), ["me.key"], "stray files");
    let o = run(
        sealcam().args(["keygen", "--force"]).arg("-o").arg(&key),
        None,
    );
    ok(&o, "keygen --force");
    assert_ne!(std::fs::read(&key).expect("read"), before, "not replaced");
    assert_eq!(mode(&key), 0o600);
}

#[test]
fn passphrase_protected_identity_round_trip_and_wrong_passphrase() {
    let Some(photo) = photo() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("me.key");
    let pass = "correct horse battery staple";
    let o = run(
        sealcam()
            .args(["keygen", "--passphrase"])
            .arg("-o")
            .arg(&key)
            .env("SEALCAM_PASSPHRASE", pass),
        None,
    );
    ok(&o, "keygen --passphrase");
    let recipient = text(&o.stdout).trim().to_string();
    let file = std::fs::read_to_string(&key).expect("read");
    assert!(file.contains("SEALCAM-ENCRYPTED-KEY-1"), "not protected");
    assert!(!file.contains("SEALCAM-SECRET-KEY-1"), "secret in clear");
    let passphrase = Zeroizing::new(pass.to_string());
    let identity = decode_identity_file(&file, || Ok(passphrase.clone())).expect("decodes");
    assert_eq!(identity.recipient().to_string(), recipient);

    let env = dir.path().join("photo.sealcam");
    let o = run(
        sealcam()
            .arg("seal")
            .arg(&photo)
            .args(["-r", &recipient, "--unsigned"])
            .args(["--clinician-name", CLINICIAN])
            .args([
                "--registration-body",
                "GMC",
                "--registration-number",
                "9999999",
            ])
            .args(record_flags())
            .arg("-o")
            .arg(&env),
        None,
    );
    ok(&o, "seal");

    // Right passphrase, from the environment and from a file.
    let out = dir.path().join("a.jpg");
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&key)
            .arg("-o")
            .arg(&out)
            .env("SEALCAM_PASSPHRASE", pass),
        None,
    );
    ok(&o, "open with SEALCAM_PASSPHRASE");
    assert!(out.is_file());
    let pass_file = dir.path().join("pass.txt");
    std::fs::write(&pass_file, format!("{pass}\n")).expect("write");
    let out2 = dir.path().join("b.jpg");
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&key)
            .arg("-o")
            .arg(&out2)
            .arg("--passphrase-file")
            .arg(&pass_file)
            .env_remove("SEALCAM_PASSPHRASE"),
        None,
    );
    ok(&o, "open with --passphrase-file");
    assert_eq!(
        std::fs::read(&out).expect("read"),
        std::fs::read(&out2).expect("read")
    );

    // Wrong passphrase: a clear error, no output, the passphrase never echoed.
    let out3 = dir.path().join("c.jpg");
    let wrong = "Tr0ub4dor&3-wrong";
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&key)
            .arg("-o")
            .arg(&out3)
            .env("SEALCAM_PASSPHRASE", wrong),
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(
        !stderr.contains(wrong) && !stderr.contains(pass),
        "{stderr}"
    );
    assert!(!out3.exists(), "output written after a wrong passphrase");
    assert!(o.stdout.is_empty());
}

#[test]
fn signed_seal_to_two_recipients_opens_for_each_and_is_clean() {
    let Some(photo) = photo() else { return };
    let s = Setup::new();
    let env = s.path("photo.sealcam");
    let o = run(
        sealcam().arg("seal").arg(&photo).args(s.seal_args(&env)),
        None,
    );
    ok(&o, "seal");
    assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("sealed envelope"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(mode(&env), 0o600, "envelope mode");
    let envelope = std::fs::read(&env).expect("read envelope");
    assert_no_patient_data("the envelope", &envelope);
    assert_no_patient_data("seal's stderr", &o.stderr);

    // What `sealcam strip` makes of the same photo.
    let stripped = s.path("stripped.jpg");
    ok(
        &run(
            sealcam().arg("strip").arg(&photo).arg("-o").arg(&stripped),
            None,
        ),
        "strip",
    );
    let stripped = std::fs::read(&stripped).expect("read stripped");

    for (i, (key, _)) in s.recipients.iter().enumerate() {
        let out = s.path(&format!("opened-{i}.jpg"));
        let rec = s.path(&format!("record-{i}.json"));
        let o = run(
            sealcam()
                .arg("open")
                .arg(&env)
                .arg("-i")
                .arg(key)
                .arg("-o")
                .arg(&out)
                .arg("--record-out")
                .arg(&rec)
                .args(["--org", &s.org_pub]),
            None,
        );
        ok(&o, "open");
        let stderr = text(&o.stderr);
        assert!(
            stderr.contains(&format!("signed by {CLINICIAN} (GMC 9999999)")),
            "{stderr}"
        );
        assert!(stderr.contains("certificate verified"), "{stderr}");
        assert_no_patient_data("open's stderr", &o.stderr);
        assert_eq!(mode(&out), 0o600, "image mode");
        assert_eq!(mode(&rec), 0o600, "record mode");
        let image = std::fs::read(&out).expect("read image");
        assert_eq!(image, stripped, "opened image differs from `sealcam strip`");
        sanitize::verify(&image).expect("opened image passes the sanitizer's verifier");
        let findings = scanner::scan(&image);
        assert!(findings.is_empty(), "scanner found {findings:?}");
        let json = std::fs::read(&rec).expect("read record");
        let record = ClinicalRecord::from_json(&json).expect("--record-out parses");
        let nhs = record.patient().nhs_number().expect("NHS number");
        assert_eq!(nhs.canonical(), NHS_DIGITS);
        assert_eq!(record.patient().name().map(|n| n.as_str()), Some(PATIENT));
        assert_eq!(
            record.clinician().name,
            CLINICIAN,
            "clinician from the certificate"
        );
        record.image().verify(&image).expect("record hash matches");
        let device_id = s
            .device_pub
            .parse::<sealcam_core::keys::DevicePublicKey>()
            .expect("device pub")
            .id()
            .to_string();
        assert_eq!(record.device_id().map(ToString::to_string), Some(device_id));
    }

    // Without --org the certificate is reported as not checked.
    let out = s.path("unchecked.jpg");
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&s.recipients[0].0)
            .arg("-o")
            .arg(&out),
        None,
    );
    ok(&o, "open without --org");
    assert!(
        text(&o.stderr).contains("not checked (give --org)"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn inspect_shows_routing_only() {
    let Some(photo) = photo() else { return };
    let s = Setup::new();
    let env = s.path("photo.sealcam");
    ok(
        &run(
            sealcam().arg("seal").arg(&photo).args(s.seal_args(&env)),
            None,
        ),
        "seal",
    );
    let ids: Vec<String> = s
        .recipients
        .iter()
        .map(|(_, r)| r.parse::<Recipient>().expect("recipient").id().to_string())
        .collect();
    let device_id = s
        .device_pub
        .parse::<sealcam_core::keys::DevicePublicKey>()
        .expect("device pub")
        .id()
        .to_string();
    let size = std::fs::metadata(&env).expect("stat").len();

    let o = run(sealcam().arg("inspect").arg(&env), None);
    ok(&o, "inspect");
    let out = text(&o.stdout);
    for id in &ids {
        assert!(out.contains(id.as_str()), "recipient {id} missing: {out}");
    }
    assert!(out.contains(&device_id), "{out}");
    assert!(out.contains(&format!("{size} bytes")), "{out}");
    assert_no_patient_data("inspect", &o.stdout);
    assert!(
        !out.contains(CLINICIAN),
        "inspect shows the clinician: {out}"
    );

    // A reader that has gone away (`sealcam inspect … | head -0`) is not a
    // crash: the pipe's read end is closed before inspect writes.
    for json in [false, true] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let mut cmd = sealcam();
        cmd.arg("inspect");
        if json {
            cmd.arg("--json");
        }
        let o = cmd
            .arg(&env)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run inspect");
        assert!(
            o.status.success(),
            "inspect into a closed pipe: {} {}",
            o.status,
            text(&o.stderr)
        );
        assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
    }

    let o = run(sealcam().args(["inspect", "--json"]).arg(&env), None);
    ok(&o, "inspect --json");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["envelope_bytes"], size);
    assert_eq!(v["sender_device"], device_id.as_str());
    let listed: Vec<&str> = v["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert_eq!(listed, ids);
    assert!(
        v["created_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );
    assert_no_patient_data("inspect --json", &o.stdout);

    // From stdin too.
    let bytes = std::fs::read(&env).expect("read");
    let o = run(sealcam().args(["inspect", "-"]), Some(&bytes));
    ok(&o, "inspect -");
    assert!(text(&o.stdout).contains(&ids[0]));
}

#[test]
fn unsigned_seal_opens_as_unsigned() {
    let Some(photo) = photo() else { return };
    let s = Setup::new();
    let env = s.path("unsigned.sealcam");
    let o = run(
        sealcam()
            .arg("seal")
            .arg(&photo)
            .args(["-r", &s.recipients[0].1, "--unsigned"])
            .args(["--clinician-name", CLINICIAN])
            .args([
                "--registration-body",
                "GMC",
                "--registration-number",
                "9999999",
            ])
            .args(record_flags())
            .arg("-o")
            .arg(&env),
        None,
    );
    ok(&o, "seal --unsigned");
    let o = run(sealcam().arg("inspect").arg(&env), None);
    ok(&o, "inspect");
    assert!(text(&o.stdout).contains("unsigned"), "{}", text(&o.stdout));
    let out = s.path("a.jpg");
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&s.recipients[0].0)
            .arg("-o")
            .arg(&out),
        None,
    );
    ok(&o, "open");
    assert!(
        text(&o.stderr).contains("UNSIGNED: the sender is not authenticated"),
        "{}",
        text(&o.stderr)
    );
    assert!(out.is_file());

    // With --org, an unsigned envelope cannot be checked: refused, unless
    // --allow-unverified.
    let out2 = s.path("b.jpg");
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&s.recipients[0].0)
            .arg("-o")
            .arg(&out2)
            .args(["--org", &s.org_pub]),
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("UNSIGNED"), "{}", text(&o.stderr));
    assert!(!out2.exists(), "unsigned image written despite --org");
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&s.recipients[0].0)
            .arg("-o")
            .arg(&out2)
            .args(["--org", &s.org_pub, "--allow-unverified"]),
        None,
    );
    ok(&o, "open unsigned --org --allow-unverified");
    assert!(out2.is_file());
}

#[test]
fn stdin_and_stdout() {
    let Some(photo) = photo() else { return };
    let s = Setup::new();
    let data = std::fs::read(&photo).expect("read photo");
    let mut args = s.seal_args(Path::new("-"));
    args.insert(0, "-".into());
    let o = run(sealcam().arg("seal").args(&args), Some(&data));
    ok(&o, "seal - -o -");
    let envelope = o.stdout;
    assert!(
        envelope.starts_with(&sealcam_core::envelope::MAGIC),
        "stdout is not an envelope"
    );
    assert_no_patient_data("the envelope on stdout", &envelope);
    let o = run(
        sealcam()
            .args(["open", "-", "-o", "-", "-i"])
            .arg(&s.recipients[1].0),
        Some(&envelope),
    );
    ok(&o, "open - -o -");
    let lib = sanitize::sanitize(&data).expect("sanitizes");
    assert_eq!(o.stdout, lib.bytes, "stdout is not the sanitized image");

    // --print-id puts the id on stdout.
    let env = s.path("x.sealcam");
    let mut args = s.seal_args(&env);
    args.insert(0, photo.clone().into_os_string());
    args.push("--print-id".into());
    let o = run(sealcam().arg("seal").args(&args), None);
    ok(&o, "seal --print-id");
    let id = text(&o.stdout).trim().to_string();
    let o = run(sealcam().args(["inspect", "--json"]).arg(&env), None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["id"], id.as_str());
}

#[test]
fn seal_from_a_record_file() {
    let Some(photo) = photo() else { return };
    let s = Setup::new();
    // docs/RECORD.md's smallest record, with a placeholder hash.
    let json = format!(
        r#"{{"version":1,"patient":{{"nhs_number":"{NHS_DIGITS}","name":"{PATIENT}"}},"body_site":{{"text":"back"}},"captured_at":"2026-11-21T10:15:30Z","clinician":{{"name":"{CLINICIAN}","registration_body":"GMC","registration_number":"9999999"}},"consent":{{"scopes":["care"],"method":"verbal","given_by":"patient","obtained_by":{{"name":"{CLINICIAN}","registration_body":"GMC","registration_number":"9999999"}},"obtained_at":"2026-11-21T10:12:00Z"}},"source":"desktop_import","image":{{"media_type":"image/png","sha256":"{}"}}}}"#,
        "0".repeat(64)
    );
    let rec_in = s.path("in.json");
    std::fs::write(&rec_in, &json).expect("write");
    let env = s.path("r.sealcam");
    let o = run(
        sealcam()
            .arg("seal")
            .arg(&photo)
            .args(["-r", &s.recipients[0].1])
            .arg("--record")
            .arg(&rec_in)
            .arg("--sign-key")
            .arg(&s.device_key)
            .arg("--certificate")
            .arg(&s.certificate)
            .arg("-o")
            .arg(&env),
        None,
    );
    ok(&o, "seal --record");
    let out = s.path("a.jpg");
    let rec_out = s.path("out.json");
    ok(
        &run(
            sealcam()
                .arg("open")
                .arg(&env)
                .arg("-i")
                .arg(&s.recipients[0].0)
                .arg("-o")
                .arg(&out)
                .arg("--record-out")
                .arg(&rec_out),
            None,
        ),
        "open",
    );
    let record =
        ClinicalRecord::from_json(&std::fs::read(&rec_out).expect("read")).expect("parses");
    let image = std::fs::read(&out).expect("read");
    record.image().verify(&image).expect("hash filled in");
    assert_eq!(record.image().media_type().as_str(), "image/jpeg");
    assert!(record.device_id().is_some(), "device id filled in");

    // A hash of some other image is refused.
    let wrong = json.replace(&"0".repeat(64), &"ab".repeat(32));
    std::fs::write(&rec_in, wrong).expect("write");
    let env2 = s.path("r2.sealcam");
    let o = run(
        sealcam()
            .arg("seal")
            .arg(&photo)
            .args(["-r", &s.recipients[0].1, "--unsigned"])
            .arg("--record")
            .arg(&rec_in)
            .arg("-o")
            .arg(&env2),
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("another image"),
        "{}",
        text(&o.stderr)
    );
    assert!(!env2.exists());
}

/// (name, envelope, identity, extra arguments, stderr must contain).
type OpenCase = (
    &'static str,
    PathBuf,
    PathBuf,
    Vec<String>,
    &'static [&'static str],
);

/// A damaged or misaddressed envelope, or a rejected sender, leaves no output.
#[test]
fn open_refusals_leave_no_output() {
    let Some(photo) = photo() else { return };
    let s = Setup::new();
    let env = s.path("photo.sealcam");
    ok(
        &run(
            sealcam().arg("seal").arg(&photo).args(s.seal_args(&env)),
            None,
        ),
        "seal",
    );
    let envelope = std::fs::read(&env).expect("read");
    // A stranger's key, and another organisation.
    let stranger = s.path("stranger.key");
    ok(
        &run(sealcam().arg("keygen").arg("-o").arg(&stranger), None),
        "keygen",
    );
    let other_org = s.path("other-org.key");
    let o = run(
        sealcam()
            .args(["keygen", "--kind", "org", "-o"])
            .arg(&other_org),
        None,
    );
    ok(&o, "keygen org");
    let other_org_pub = text(&o.stdout).trim().to_string();
    // Tampered copies: one byte flipped in the payload, and cut short.
    let mut flipped = envelope.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    let flipped_path = s.path("flipped.sealcam");
    std::fs::write(&flipped_path, &flipped).expect("write");
    let cut_path = s.path("cut.sealcam");
    std::fs::write(&cut_path, &envelope[..envelope.len() - 100]).expect("write");

    let me = s.recipients[0].0.clone();
    let cases: Vec<OpenCase> = vec![
        (
            "not a recipient",
            env.clone(),
            stranger,
            vec![],
            &["not addressed to this key"],
        ),
        (
            "payload byte flipped",
            flipped_path,
            me.clone(),
            vec![],
            &["cannot open", "altered"],
        ),
        ("truncated", cut_path, me.clone(), vec![], &["truncated"]),
        (
            "another organisation",
            env.clone(),
            me.clone(),
            vec!["--org".into(), other_org_pub],
            &[
                "NOT VERIFIED",
                "different organisation",
                "--allow-unverified",
            ],
        ),
        (
            "org given as a device key",
            env.clone(),
            me.clone(),
            vec!["--org".into(), s.device_pub.clone()],
            &["expected an organisation public key"],
        ),
        (
            "a recipient key as the envelope",
            me.clone(),
            me.clone(),
            vec![],
            &["not a sealcam envelope"],
        ),
    ];
    let mut problems = Vec::new();
    for (name, input, key, extra, want) in cases {
        let out_dir = tempfile::tempdir().expect("tempdir");
        let out = out_dir.path().join("image.jpg");
        let rec = out_dir.path().join("record.json");
        let o = run(
            sealcam()
                .arg("open")
                .arg(&input)
                .arg("-i")
                .arg(&key)
                .arg("-o")
                .arg(&out)
                .arg("--record-out")
                .arg(&rec)
                .args(&extra),
            None,
        );
        let stderr = text(&o.stderr);
        if o.status.code() != Some(1) {
            problems.push(format!("{name}: exit {:?}", o.status.code()));
        }
        for w in want {
            if !stderr.contains(w) {
                problems.push(format!("{name}: stderr lacks {w:?}: {stderr}"));
            }
        }
        if !o.stdout.is_empty() {
            problems.push(format!("{name}: wrote to stdout"));
        }
        let left = listing(out_dir.path());
        if !left.is_empty() {
            problems.push(format!("{name}: left {left:?}"));
        }
        if find_bytes(&o.stderr, NHS_DIGITS.as_bytes()).is_some()
            || find_bytes(&o.stderr, PATIENT.as_bytes()).is_some()
        {
            problems.push(format!("{name}: patient data on stderr"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // --allow-unverified writes the image, and still says NOT VERIFIED.
    let out = s.path("anyway.jpg");
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&s.recipients[0].0)
            .arg("-o")
            .arg(&out)
            .args(["--org", &s.device_pub])
            .arg("--allow-unverified"),
        None,
    );
    // A device key is not an organisation key: still refused outright.
    assert_eq!(o.status.code(), Some(1));
    let other = s.path("o2.key");
    let o = run(
        sealcam()
            .args(["keygen", "--kind", "org", "-o"])
            .arg(&other),
        None,
    );
    let other_pub = text(&o.stdout).trim().to_string();
    let o = run(
        sealcam()
            .arg("open")
            .arg(&env)
            .arg("-i")
            .arg(&s.recipients[0].0)
            .arg("-o")
            .arg(&out)
            .args(["--org", &other_pub])
            .arg("--allow-unverified"),
        None,
    );
    ok(&o, "open --allow-unverified");
    assert!(
        text(&o.stderr).contains("NOT VERIFIED"),
        "{}",
        text(&o.stderr)
    );
    assert!(out.is_file());
}

/// `seal` refusals: (name, arguments after `seal IN`, stderr must contain).
/// `{R}` is a recipient, `{OUT}` the output. Every case: exit 1 (2 for
/// clap usage errors), no OUT, and no patient value echoed on stderr.
#[allow(clippy::type_complexity)]
const SEAL_FAILS: &[(&str, &[&str], i32, &[&str])] = &[
    (
        "neither --sign-key nor --unsigned",
        &["-r", "{R}", "-o", "{OUT}", "{RECORD}"],
        1,
        &[
            "--sign-key",
            "--certificate",
            "--unsigned",
            "store accepts only signed",
        ],
    ),
    (
        "no recipient",
        &["-o", "{OUT}", "--unsigned", "{CLINICIAN}", "{RECORD}"],
        1,
        &["no recipients", "-r"],
    ),
    (
        "a damaged recipient",
        &[
            "-r",
            "{BADR}",
            "-o",
            "{OUT}",
            "--unsigned",
            "{CLINICIAN}",
            "{RECORD}",
        ],
        1,
        &["recipient 1", "checksum"],
    ),
    (
        "the same recipient twice",
        &[
            "-r",
            "{R}",
            "-r",
            "{R}",
            "-o",
            "{OUT}",
            "--unsigned",
            "{CLINICIAN}",
            "{RECORD}",
        ],
        1,
        &["twice"],
    ),
    (
        "bad NHS check digit",
        &[
            "-r",
            "{R}",
            "-o",
            "{OUT}",
            "--unsigned",
            "{CLINICIAN}",
            "--nhs",
            "9434765918",
            "--site",
            "back",
            "--consent",
            "care",
            "--consent-method",
            "verbal",
            "--consent-by",
            "patient",
        ],
        1,
        &["--nhs", "check digit"],
    ),
    (
        "no body site",
        &[
            "-r",
            "{R}",
            "-o",
            "{OUT}",
            "--unsigned",
            "{CLINICIAN}",
            "--nhs",
            "9434765919",
            "--consent",
            "care",
            "--consent-method",
            "verbal",
            "--consent-by",
            "patient",
        ],
        1,
        &["--site"],
    ),
    (
        "unsigned without a clinician",
        &["-r", "{R}", "-o", "{OUT}", "--unsigned", "{RECORD}"],
        1,
        &["--clinician-name"],
    ),
    (
        "best interests without notes",
        &[
            "-r",
            "{R}",
            "-o",
            "{OUT}",
            "--unsigned",
            "{CLINICIAN}",
            "--nhs",
            "9434765919",
            "--site",
            "back",
            "--consent",
            "care",
            "--consent-method",
            "verbal",
            "--consent-by",
            "best-interests",
        ],
        1,
        &["notes"],
    ),
    (
        "a name split by missing quotes is not echoed",
        &[
            "-r",
            "{R}",
            "-o",
            "{OUT}",
            "--unsigned",
            "{CLINICIAN}",
            "{RECORD}",
            "Alex Example-Testpatient",
        ],
        2,
        &["not shown", "quotes"],
    ),
    (
        "--sign-key without --certificate",
        &[
            "-r",
            "{R}",
            "-o",
            "{OUT}",
            "--sign-key",
            "x.key",
            "{RECORD}",
        ],
        2,
        &["--certificate"],
    ),
];

#[test]
fn seal_refusals_are_clear_and_leave_no_output() {
    let Some(photo) = photo() else { return };
    let s = Setup::new();
    let r = s.recipients[0].1.clone();
    // One character changed: the checksum fails.
    let mut bad = r.clone().into_bytes();
    let last = bad.len() - 1;
    bad[last] = if bad[last] == b'q' { b'p' } else { b'q' };
    let bad = String::from_utf8(bad).expect("ascii");
    let mut problems = Vec::new();
    for (name, args, exit, want) in SEAL_FAILS {
        let out_dir = tempfile::tempdir().expect("tempdir");
        let out = out_dir.path().join("out.sealcam");
        let mut argv: Vec<std::ffi::OsString> = vec!["seal".into(), photo.clone().into()];
        for a in *args {
            match *a {
                "{R}" => argv.push(r.clone().into()),
                "{BADR}" => argv.push(bad.clone().into()),
                "{OUT}" => argv.push(out.clone().into()),
                "{CLINICIAN}" => argv.extend(
                    ["--clinician-name", CLINICIAN, "--registration-body", "GMC"]
                        .into_iter()
                        .chain(["--registration-number", "9999999"])
                        .map(Into::into),
                ),
                "{RECORD}" => argv.extend(record_flags().into_iter().map(Into::into)),
                other => argv.push(other.into()),
            }
        }
        let o = run(sealcam().args(&argv), None);
        let stderr = text(&o.stderr);
        if o.status.code() != Some(*exit) {
            problems.push(format!("{name}: exit {:?}: {stderr}", o.status.code()));
        }
        for w in *want {
            if !stderr.contains(w) {
                problems.push(format!("{name}: stderr lacks {w:?}: {stderr}"));
            }
        }
        for secret in ["9434765918", NHS, PATIENT, &bad] {
            if stderr.contains(secret) {
                problems.push(format!("{name}: stderr echoes a value: {stderr}"));
            }
        }
        if !listing(out_dir.path()).is_empty() {
            problems.push(format!("{name}: left output behind"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `-R FILE` (comments and blank lines ignored), signing keys behind a
/// passphrase (`--passphrase-file`), and a certificate for another device.
#[test]
fn recipients_file_and_protected_signing_keys() {
    let Some(photo) = photo() else { return };
    let s = Setup::new();
    let pass_file = s.path("pass.txt");
    std::fs::write(&pass_file, "admin passphrase\n").expect("write");
    let mut keys = Vec::new();
    for kind in ["org", "device"] {
        let key = s.path(&format!("protected-{kind}.key"));
        let o = run(
            sealcam()
                .args(["keygen", "--passphrase", "--kind", kind, "-o"])
                .arg(&key)
                .arg("--passphrase-file")
                .arg(&pass_file)
                .env_remove("SEALCAM_PASSPHRASE"),
            None,
        );
        ok(&o, "keygen --passphrase");
        keys.push((key, text(&o.stdout).trim().to_string()));
    }
    let [(org_key, org_pub), (device_key, device_pub)] = &keys[..] else {
        unreachable!()
    };
    let pub_file = s.path("device.pub");
    std::fs::write(&pub_file, format!("# the PC in clinic 3\n{device_pub}\n")).expect("write");
    let cert = s.path("protected.cert");
    let o = run(
        sealcam()
            .arg("certify")
            .arg("--org-key")
            .arg(org_key)
            .arg("--device")
            .arg(&pub_file)
            .args(["--name", CLINICIAN, "--registration-body", "hcpc"])
            .args(["--registration-number", "PH12345", "--valid-days", "1"])
            .arg("-o")
            .arg(&cert)
            .env("SEALCAM_PASSPHRASE", "admin passphrase"),
        None,
    );
    ok(&o, "certify with a protected org key");

    let list = s.path("recipients.txt");
    std::fs::write(
        &list,
        format!(
            "# records team\n{}\n\n  # dermatology\n{}\n",
            s.recipients[0].1, s.recipients[1].1
        ),
    )
    .expect("write");
    let env = s.path("r.sealcam");
    let o = run(
        sealcam()
            .arg("seal")
            .arg(&photo)
            .arg("-R")
            .arg(&list)
            .args(record_flags())
            .arg("--sign-key")
            .arg(device_key)
            .arg("--certificate")
            .arg(&cert)
            .arg("--passphrase-file")
            .arg(&pass_file)
            .arg("-o")
            .arg(&env),
        None,
    );
    ok(&o, "seal -R with a protected device key");
    for (key, _) in &s.recipients {
        let out = s.path("x.jpg");
        let o = run(
            sealcam()
                .arg("open")
                .arg(&env)
                .arg("-i")
                .arg(key)
                .arg("-o")
                .arg(&out)
                .args(["--org", org_pub]),
            None,
        );
        ok(&o, "open");
        assert!(
            text(&o.stderr).contains(&format!("signed by {CLINICIAN} (HCPC PH12345), device")),
            "{}",
            text(&o.stderr)
        );
        assert!(text(&o.stderr).contains("certificate verified"));
    }

    // The certificate of one device with the key of another: refused.
    let out = s.path("mismatch.sealcam");
    let o = run(
        sealcam()
            .arg("seal")
            .arg(&photo)
            .args(["-r", &s.recipients[0].1])
            .args(record_flags())
            .arg("--sign-key")
            .arg(&s.device_key)
            .arg("--certificate")
            .arg(&cert)
            .arg("-o")
            .arg(&out),
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("certificate is for another device"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.exists());
}
