//! The `sealcam-store` process (docs/STORE-CONTRACT.md, "Process
//! interface"): what it prints, its TLS certificate and pin, bootstrap, its
//! data dir; crash safety (SIGKILL during concurrent uploads loses nothing
//! acknowledged and leaves nothing partial) and graceful shutdown (SIGTERM
//! lets an in-flight upload finish, exit 0).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sealcam_core::envelope::Sealed;
use sealcam_core::keys::OrgSigningKey;
use sealcam_core::protocol::api::{BootstrapRequest, Bootstrapped, CodeInput, Info};
use sealcam_core::protocol::Receipt;
use sealcam_test_support::store::{
    blake3, bootstrap, check_receipt, eventually, jpeg_of_len, sha256, Auth, StoreProcess, World,
};
use std::collections::VecDeque;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------------------
// A minimal DER walk: the certificate's SubjectPublicKeyInfo, for the pin.

/// (tag, header length, content length) of the TLV at `at`.
fn tlv(der: &[u8], at: usize) -> (u8, usize, usize) {
    let tag = der[at];
    let first = der[at + 1];
    if first < 0x80 {
        return (tag, 2, first as usize);
    }
    let n = (first & 0x7f) as usize;
    let len = der[at + 2..at + 2 + n]
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | *b as usize);
    (tag, 2 + n, len)
}

/// The DER of the SubjectPublicKeyInfo of an X.509 certificate.
fn spki_der(cert: &[u8]) -> &[u8] {
    let (t, h, _) = tlv(cert, 0);
    assert_eq!(t, 0x30, "Certificate is a SEQUENCE");
    let tbs = h;
    let (t, h, _) = tlv(cert, tbs);
    assert_eq!(t, 0x30, "tbsCertificate is a SEQUENCE");
    let mut at = tbs + h;
    if cert[at] == 0xa0 {
        let (_, h, l) = tlv(cert, at);
        at += h + l; // version
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        let (_, h, l) = tlv(cert, at);
        at += h + l;
    }
    let (t, h, l) = tlv(cert, at);
    assert_eq!(t, 0x30, "subjectPublicKeyInfo is a SEQUENCE");
    &cert[at..at + h + l]
}

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pem);
    let b64: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD.decode(b64.trim()).expect("cert.pem is base64")
}

#[tokio::test(flavor = "multi_thread")]
async fn startup_lines_tls_pin_bootstrap_and_data_dir() {
    let mut store = StoreProcess::start();
    let lines = store.stdout_lines();
    let ready = lines.iter().position(|l| l == "ready").expect("ready line");
    let head: Vec<&str> = lines[..=ready].iter().map(String::as_str).collect();
    assert_eq!(
        head.len(),
        6,
        "six lines up to ready: {:?}",
        redacted(&head)
    );
    assert!(
        head[0].starts_with("sealcam-store ") && head[0].ends_with(" listening"),
        "first line: {}",
        head[0]
    );
    for (i, prefix) in ["url: ", "tls-pin: ", "store-key: ", "bootstrap-code: "]
        .iter()
        .enumerate()
    {
        assert!(
            head[i + 1].starts_with(prefix),
            "line {} should start with {prefix:?}",
            i + 2
        );
    }
    let code = store.bootstrap_code.clone().expect("bootstrap code");
    let groups: Vec<&str> = code.split('-').collect();
    assert!(
        groups.len() == 8 && groups.iter().all(|g| g.len() == 4),
        "bootstrap code is not XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX"
    );

    // The pin is the SHA-256 of the certificate's SPKI.
    let der = pem_to_der(&store.cert_pem());
    let pin = format!("sha256/{}", STANDARD.encode(sha256(spki_der(&der))));
    assert_eq!(
        store.tls_pin, pin,
        "tls-pin is not the certificate's SPKI pin"
    );

    // Files and modes.
    let data = store.data_dir().to_path_buf();
    for (f, mode) in [("tls/key.pem", 0o600), ("store.key", 0o600)] {
        let m = std::fs::metadata(data.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(m, mode, "{f} has mode {m:o}");
    }
    assert!(data.join("catalog.sqlite").is_file(), "no catalog.sqlite");
    assert!(data.join("blobs/tmp").is_dir(), "no blobs/tmp");
    {
        let db = rusqlite::Connection::open(data.join("catalog.sqlite")).expect("open");
        let mode: String = db
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal_mode");
        assert_eq!(mode.to_lowercase(), "wal", "catalog journal mode");
    }

    // A client with no roots cannot talk to it: it is really TLS with that
    // certificate.
    let stranger = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .build()
        .expect("client");
    assert!(
        stranger
            .get(format!("{}/healthz", store.url))
            .send()
            .await
            .is_err(),
        "a client that does not trust the certificate got an answer"
    );

    let client = store.client();
    let anon = client.anonymous();
    let r = anon.get("/healthz").await.expect(200, "GET /healthz");
    assert_eq!(r.text().trim(), "ok");
    anon.get("/metrics").await.expect(200, "GET /metrics");
    // Parsed as the API's Info: every field there, with its type.
    let info: Info = anon
        .get("/v1/info")
        .await
        .expect(200, "GET /v1/info")
        .parse();
    assert_eq!(info.store_key, store.store_key);
    assert_eq!(info.tls_pin, store.tls_pin);
    assert_eq!(info.org_key, None, "org_key before bootstrap");
    assert!(!info.version.is_empty(), "info.version");

    // Bootstrap: unsigned 401, wrong code 403, signed by another key than
    // the one named 401, right code 200, again 409.
    let org = Arc::new(OrgSigningKey::generate());
    let body = BootstrapRequest {
        code: CodeInput::new(&code),
        org_key: org.public(),
    };
    anon.post_json("/v1/bootstrap", &body)
        .await
        .expect(401, "unsigned bootstrap");
    let wrong = "0000-0000-0000-0000-0000-0000-0000-0000";
    bootstrap(&client, &org, wrong)
        .await
        .expect(403, "bootstrap with a wrong code");
    let impostor = Arc::new(OrgSigningKey::generate());
    client
        .as_(Auth::Admin(Arc::clone(&impostor)))
        .post_json("/v1/bootstrap", &body)
        .await
        .expect(401, "bootstrap naming one org key, signed by another");
    let r = bootstrap(&client, &org, &code)
        .await
        .expect(200, "bootstrap");
    assert_eq!(r.parse::<Bootstrapped>().org_key, org.public());
    bootstrap(&client, &org, &code)
        .await
        .expect(409, "bootstrap again");
    let info: Info = anon.get("/v1/info").await.expect(200, "info").parse();
    assert_eq!(info.org_key, Some(org.public()));

    // Restart: same store key and certificate, no bootstrap code.
    let key_before = store.store_key;
    let pin_before = store.tls_pin.clone();
    store.restart();
    assert_eq!(
        store.store_key, key_before,
        "the store key changed on restart"
    );
    assert_eq!(
        store.tls_pin, pin_before,
        "the certificate changed on restart"
    );
    assert!(
        store.bootstrap_code.is_none(),
        "a bootstrapped store still prints a bootstrap code"
    );
    let info = store
        .client()
        .anonymous()
        .get("/v1/info")
        .await
        .expect(200, "info after restart")
        .parse::<Info>();
    assert_eq!(info.org_key, Some(org.public()));
}

/// The startup lines with the code blanked (for assertion messages).
fn redacted(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            if l.starts_with("bootstrap-code:") {
                "bootstrap-code: <redacted>".to_string()
            } else {
                l.to_string()
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Crash safety

const CRASH_ENVELOPES: usize = 100;
const CRASH_TASKS: usize = 16;

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_uploads_keeps_every_receipted_envelope_whole() {
    let mut store = StoreProcess::start();
    let w = World::new(&store, 1, 2).await;
    let rcpt = w.recipients();
    // Small but real: 20 KB to 1 MB images, sealed and signed.
    let envelopes: Vec<Arc<(usize, Sealed)>> = (0..CRASH_ENVELOPES)
        .map(|i| {
            let len = 20_000 + (i * 9_973) % 1_000_000;
            Arc::new((i % 2, w.devices[i % 2].seal_image(&jpeg_of_len(len), &rcpt)))
        })
        .collect();
    let queue = Arc::new(Mutex::new(
        envelopes.iter().cloned().collect::<VecDeque<_>>(),
    ));
    let receipts: Arc<Mutex<Vec<Option<Vec<u8>>>>> =
        Arc::new(Mutex::new(vec![None; CRASH_ENVELOPES]));
    let index: std::collections::HashMap<_, _> = envelopes
        .iter()
        .enumerate()
        .map(|(i, e)| (e.1.id, i))
        .collect();
    let index = Arc::new(index);
    let acked = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));

    let mut tasks = Vec::new();
    for _ in 0..CRASH_TASKS {
        let queue = Arc::clone(&queue);
        let receipts = Arc::clone(&receipts);
        let index = Arc::clone(&index);
        let acked = Arc::clone(&acked);
        let errors = Arc::clone(&errors);
        let client = w.client.clone();
        let auths = [w.devices[0].auth(), w.devices[1].auth()];
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().expect("queue").pop_front();
                let Some(item) = next else { break };
                let (dev, e) = (&item.0, &item.1);
                let path = format!("/v1/envelopes/{}", e.id);
                match client
                    .try_send(
                        &auths[*dev],
                        "PUT",
                        &path,
                        e.bytes.clone(),
                        &[("content-type", "application/octet-stream")],
                    )
                    .await
                {
                    Ok(r) if r.status == 201 => {
                        receipts.lock().expect("receipts")[index[&e.id]] = Some(r.body);
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => errors.lock().expect("errors").push(format!(
                        "{}: {} {}",
                        e.id,
                        r.status,
                        r.error_code()
                    )),
                    Err(_) => {} // the store died under it: not acknowledged
                }
            }
        }));
    }
    // Kill it once a third have been acknowledged.
    eventually(
        "a third of the uploads acknowledged",
        Duration::from_secs(120),
        || {
            let n = acked.load(Ordering::SeqCst);
            async move { (n >= CRASH_ENVELOPES / 3).then_some(()) }
        },
    )
    .await;
    store.kill();
    for t in tasks {
        t.await.expect("upload task");
    }
    let errors = errors.lock().expect("errors").clone();
    assert!(
        errors.is_empty(),
        "uploads refused before the crash:\n  {}",
        errors.join("\n  ")
    );
    let receipts = receipts.lock().expect("receipts").clone();
    let n_acked = receipts.iter().filter(|r| r.is_some()).count();
    assert!(
        n_acked < CRASH_ENVELOPES,
        "every upload finished before the kill: the test proved nothing"
    );

    store.restart();
    assert!(
        store.tmp_files().is_empty(),
        "blobs/tmp is not empty after a restart: {} files",
        store.tmp_files().len()
    );
    let w = World {
        client: store.client(),
        ..w
    };
    let mut intact = 0;
    let mut absent = Vec::new();
    for (i, item) in envelopes.iter().enumerate() {
        let e = &item.1;
        let r = w.fetch(0, &e.id).await;
        match (&receipts[i], r.status) {
            (Some(rec), 200) => {
                assert!(r.body == e.bytes, "envelope {i} (receipted) is not whole");
                let receipt =
                    Receipt::from_json(std::str::from_utf8(rec).expect("utf8")).expect("receipt");
                assert_eq!(blake3(&r.body), receipt.blake3, "envelope {i}: digest");
                intact += 1;
            }
            (Some(_), s) => panic!("envelope {i} had a receipt, after the crash it gives {s}"),
            (None, 200) => {
                assert!(r.body == e.bytes, "envelope {i} (no receipt) is partial");
                intact += 1;
            }
            (None, 404) => absent.push(i),
            (None, s) => panic!("envelope {i} (no receipt): {s}, expected 200 or 404"),
        }
    }
    assert_eq!(
        store.blob_files().len(),
        intact,
        "blob files on disk ≠ envelopes the store serves (orphans or sharing)"
    );
    sealcam_test_support::summary(&format!(
        "crash: {n_acked} receipted, {intact} intact after restart, {} absent (re-uploaded)",
        absent.len()
    ));
    for i in absent {
        let (dev, e) = (&envelopes[i].0, &envelopes[i].1);
        let r = w
            .upload(&w.devices[*dev], e)
            .await
            .expect(201, "re-upload after the crash");
        check_receipt(&r, &w.store_key, &e.bytes);
    }
}

// ---------------------------------------------------------------------------
// Graceful shutdown

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_an_inflight_upload_finish_and_exits_0() {
    let mut store = StoreProcess::start();
    let w = World::new(&store, 1, 1).await;
    let e = w.devices[0].seal_image(&jpeg_of_len(2_000_000), &w.recipients());
    let sent = Arc::new(AtomicUsize::new(0));
    let upload = {
        let client = w.client.clone();
        let auth = w.devices[0].auth();
        let path = format!("/v1/envelopes/{}", e.id);
        let bytes = e.bytes.clone();
        let sent = Arc::clone(&sent);
        tokio::spawn(async move {
            // 2 MB in 64 KiB pieces, 60 ms apart: about 2 s on the wire.
            client
                .send_streamed(
                    &auth,
                    "PUT",
                    &path,
                    bytes,
                    64 * 1024,
                    Duration::from_millis(60),
                    sent,
                    true,
                )
                .await
        })
    };
    eventually(
        "the upload to be under way",
        Duration::from_secs(30),
        || {
            let n = sent.load(Ordering::SeqCst);
            async move { (n >= 4).then_some(()) }
        },
    )
    .await;
    store.terminate();
    let r = upload
        .await
        .expect("upload task")
        .unwrap_or_else(|err| panic!("the in-flight upload was cut off by SIGTERM: {err}"));
    assert_eq!(
        r.status,
        201,
        "in-flight upload after SIGTERM: {} {}",
        r.status,
        r.error_code()
    );
    check_receipt(&r, &w.store_key, &e.bytes);
    assert!(
        sent.load(Ordering::SeqCst) * 64 * 1024 >= e.bytes.len(),
        "the upload finished before all of it was sent"
    );
    let status = store.wait_exit(Duration::from_secs(35));
    assert!(
        status.is_some_and(|s| s.code() == Some(0)),
        "after SIGTERM the store should exit 0 (got {status:?})\nstderr:\n{}",
        store.stderr_text()
    );
    // The upload is durable.
    store.restart();
    let w = World {
        client: store.client(),
        ..w
    };
    let got = w.fetch(0, &e.id).await.expect(200, "fetch after restart");
    assert!(
        got.body == e.bytes,
        "the envelope is not whole after restart"
    );
}

#[test]
fn sigterm_when_idle_exits_0_promptly() {
    let mut store = StoreProcess::start();
    store.terminate();
    let status = store.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.code() == Some(0)),
        "idle store on SIGTERM: {status:?}"
    );
}
