//! Envelopes, links, audit and retention on a real `sealcam-store`
//! (docs/STORE-CONTRACT.md): idempotent uploads and signed receipts;
//! refused uploads (tampered, unsigned, oversized, garbage, wrong id,
//! another device's, unknown recipient) leave nothing behind; patient links
//! expire, run out, are revoked and are rate limited; the audit chain
//! verifies offline and names the row edited behind its back; filed and
//! aged ciphertext is deleted.

use sealcam_core::envelope::{EnvelopeId, Sealed};
use sealcam_core::keys::{
    DeviceCertificate, DeviceSigningKey, OrgSigningKey, RecipientIdentity, SignedDirectory,
};
use sealcam_core::protocol::api::{
    CreateLink, InboxEntry, InboxSource, LinkCreated, LinkInfo, LinkState, LinkSummary,
};
use sealcam_core::protocol::audit::AuditEntry;
use sealcam_test_support::store::{
    audit_command, b64, blake3, check_receipt, eventually, jpeg_of_len, now, seal_unsigned, twins,
    Device, Resp, StoreProcess, World,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Rate limits out of the way (tests other than the rate-limit one).
const NO_RATE_LIMITS: &str = "
[rate_limit]
ip_per_minute = 100000
ip_burst = 100000
link_per_minute = 100000
link_burst = 100000
";

fn set(v: Vec<PathBuf>) -> BTreeSet<PathBuf> {
    v.into_iter().collect()
}

/// Asserts a refused upload left nothing: no new final blob, `blobs/tmp`
/// empty (polled: the store may remove its temp file just after
/// answering), no inbox entry for any staff member, and 404 on fetch.
async fn assert_nothing_stored(
    store: &StoreProcess,
    w: &World,
    before: &BTreeSet<PathBuf>,
    id: &EnvelopeId,
    case: &str,
) {
    let after = set(store.blob_files());
    let new: Vec<_> = after.difference(before).collect();
    assert!(new.is_empty(), "{case}: a blob was stored: {new:?}");
    eventually(&format!("{case}: blobs/tmp empty"), WAIT, || async {
        store.tmp_files().is_empty().then_some(())
    })
    .await;
    for i in 0..w.staff.len() {
        let inbox = w.inbox(i).await;
        assert!(
            !inbox.contains(&id.to_string()),
            "{case}: the envelope is in staff {i}'s inbox"
        );
        let s = w.fetch(i, id).await.status;
        assert_eq!(
            s, 404,
            "{case}: fetching it as staff {i} gives {s}, not 404"
        );
    }
}

// ---------------------------------------------------------------------------
// Idempotency and receipts

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_idempotent_and_receipts_verify() {
    let store = StoreProcess::start();
    let w = World::new(&store, 2, 1).await;
    let d = &w.devices[0];
    let (e, twin) = twins(d, &w.recipients());

    let before = set(store.blob_files());
    let first = w.upload(d, &e).await.expect(201, "first upload");
    let receipt = check_receipt(&first, &w.store_key, &e.bytes);
    assert_eq!(receipt.blake3, blake3(&e.bytes));
    assert_eq!(receipt.size, e.bytes.len() as u64);
    let t = now();
    assert!(
        receipt.received_at.abs_diff(t) <= 60,
        "received_at is not about now"
    );
    assert_eq!(
        set(store.blob_files()).difference(&before).count(),
        1,
        "one upload, one blob file"
    );

    let again = w.upload(d, &e).await.expect(200, "same envelope again");
    assert!(
        again.body == first.body,
        "the second receipt is not byte-identical to the first"
    );
    check_receipt(&again, &w.store_key, &e.bytes);
    assert_eq!(
        set(store.blob_files()).difference(&before).count(),
        1,
        "the same envelope twice is still one blob"
    );

    let conflict = w.upload(d, &twin).await.expect(409, "other bytes, same id");
    assert!(conflict.error_code().len() > 2, "409 carries an error code");

    // The stored bytes are the first upload's, for both recipients.
    for i in 0..2 {
        let got = w.fetch(i, &e.id).await.expect(200, "fetch as a recipient");
        assert!(
            got.body == e.bytes,
            "staff {i} got other bytes than were sent"
        );
        assert_eq!(blake3(&got.body), receipt.blake3);
        let inbox = w.inbox(i).await;
        assert_eq!(
            inbox.iter().filter(|x| **x == e.id.to_string()).count(),
            1,
            "staff {i}'s inbox lists the envelope once"
        );
    }
    // The inbox entry describes it.
    let r = w.staff_actor(0).get("/v1/inbox").await.expect(200, "inbox");
    let inbox: Vec<InboxEntry> = r.parse();
    let entry = inbox
        .iter()
        .find(|x| x.envelope_id == e.id)
        .expect("inbox entry");
    assert_eq!(entry.size, e.bytes.len() as u64);
    assert_eq!(entry.source, InboxSource::Device);

    // The receipt does not verify under another store key.
    let other = sealcam_core::keys::StoreSigningKey::generate().public();
    assert!(receipt.verify(&other).is_err());

    // Receipts survive a restart: same bytes again → the same receipt.
    let mut store = store;
    store.restart();
    let w2 = World {
        client: store.client(),
        ..w
    };
    let after_restart = w2
        .upload(&w2.devices[0], &e)
        .await
        .expect(200, "same envelope after a restart");
    assert!(
        after_restart.body == first.body,
        "the receipt after a restart is not byte-identical"
    );
}

// ---------------------------------------------------------------------------
// Refused uploads

/// `limits.max_envelope_bytes` small enough to exceed with a real envelope.
const MAX_ENVELOPE: u64 = 200_000;

fn small_limit_config() -> String {
    format!(
        "{NO_RATE_LIMITS}
[limits]
max_envelope_bytes = {MAX_ENVELOPE}
[links]
default_max_bytes = {MAX_ENVELOPE}
"
    )
}

/// A device enrolled with another organisation's certificate (the store
/// does not know that org).
fn foreign_device() -> Device {
    let other = OrgSigningKey::generate();
    let key = DeviceSigningKey::generate();
    let t = now();
    let cert = DeviceCertificate::issue(
        &other,
        &key.public(),
        &sealcam_test_support::store::clinician(),
        t - 60,
        t + 86_400,
    )
    .expect("issue");
    Device {
        id: key.public().id().to_string(),
        key: Arc::new(key),
        certificate: Some(cert),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_uploads_store_nothing() {
    let store = StoreProcess::start_with_config(&small_limit_config());
    let w = World::new(&store, 2, 2).await;
    let d0 = &w.devices[0];
    let d1 = &w.devices[1];
    let rcpt = w.recipients();

    let flip = |e: &Sealed, at: usize| {
        let mut b = e.bytes.clone();
        let i = at.min(b.len() - 1);
        b[i] ^= 0x01;
        b
    };
    let outsider = RecipientIdentity::generate().recipient();
    let foreign = foreign_device();

    struct Case {
        name: &'static str,
        path_id: EnvelopeId,
        inner_id: EnvelopeId,
        bytes: Vec<u8>,
        want: u16,
    }
    let mut cases = Vec::new();
    let mut case = |name, e: &Sealed, bytes: Vec<u8>, want| {
        cases.push(Case {
            name,
            path_id: e.id,
            inner_id: e.id,
            bytes,
            want,
        })
    };
    let e = d0.seal(&rcpt);
    case(
        "ciphertext byte flipped",
        &e,
        flip(&e, e.bytes.len() / 2),
        400,
    );
    let e = d0.seal(&rcpt);
    case(
        "last byte (signature) flipped",
        &e,
        flip(&e, usize::MAX),
        400,
    );
    let e = d0.seal(&rcpt);
    case("header byte flipped (created_at)", &e, flip(&e, 30), 400);
    let e = d0.seal(&rcpt);
    case(
        "truncated by one byte",
        &e,
        e.bytes[..e.bytes.len() - 1].to_vec(),
        400,
    );
    let e = d0.seal(&rcpt);
    let mut longer = e.bytes.clone();
    longer.push(0);
    case("one byte appended", &e, longer, 400);
    let e = seal_unsigned(&rcpt);
    case(
        "unsigned, through the device endpoint",
        &e,
        e.bytes.clone(),
        400,
    );
    let e = d0.seal_image(&jpeg_of_len(MAX_ENVELOPE as usize + 10_000), &rcpt);
    assert!(e.bytes.len() as u64 > MAX_ENVELOPE);
    case("over limits.max_envelope_bytes", &e, e.bytes.clone(), 413);
    let e = d0.seal(&rcpt);
    let mut garbage = vec![0u8; 4096];
    garbage
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = (i * 7 + 3) as u8);
    case("garbage", &e, garbage, 400);
    let e = d0.seal(&rcpt);
    case("empty body", &e, Vec::new(), 400);
    let e = d1.seal(&rcpt);
    case(
        "sealed by another device than the caller",
        &e,
        e.bytes.clone(),
        400,
    );
    let e = d0.seal(&[outsider]);
    case("recipient not in the directory", &e, e.bytes.clone(), 400);
    let e = d0.seal(&[rcpt[0], outsider]);
    case(
        "one recipient not in the directory",
        &e,
        e.bytes.clone(),
        400,
    );
    let e = foreign.seal(&rcpt);
    case(
        "certificate from another organisation",
        &e,
        e.bytes.clone(),
        400,
    );
    let e = d0.seal(&rcpt);
    let other_id = d0.seal(&rcpt).id;
    cases.push(Case {
        name: "id in the path is not the id inside",
        path_id: other_id,
        inner_id: e.id,
        bytes: e.bytes.clone(),
        want: 400,
    });

    let mut failures = Vec::new();
    for c in &cases {
        let before = set(store.blob_files());
        let r: Resp = w
            .device_actor(0)
            .put_bytes(&format!("/v1/envelopes/{}", c.path_id), c.bytes.clone())
            .await;
        if r.status != c.want {
            failures.push(format!(
                "{}: expected {}, got {} {}",
                c.name,
                c.want,
                r.status,
                r.error_code()
            ));
        }
        assert_nothing_stored(&store, &w, &before, &c.path_id, c.name).await;
        if c.inner_id != c.path_id {
            assert_nothing_stored(&store, &w, &before, &c.inner_id, c.name).await;
        }
    }
    // Oversized and streamed without Content-Length: the limit holds
    // while streaming, and the partial staging file goes.
    let e = d0.seal_image(&jpeg_of_len(MAX_ENVELOPE as usize + 10_000), &rcpt);
    let before = set(store.blob_files());
    let r = w
        .client
        .send_streamed(
            &d0.auth(),
            "PUT",
            &format!("/v1/envelopes/{}", e.id),
            e.bytes.clone(),
            16 * 1024,
            Duration::from_millis(1),
            Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            false,
        )
        .await;
    match r {
        Ok(r) if r.status == 413 => {}
        Ok(r) => failures.push(format!(
            "oversized, streamed without Content-Length: expected 413, got {} {}",
            r.status,
            r.error_code()
        )),
        // The store may answer 413 and close before the body is all sent;
        // the client then sees a broken pipe instead of the answer.
        Err(err) => sealcam_test_support::summary(&format!(
            "note: oversized chunked upload: connection closed before the answer was read ({err})"
        )),
    }
    assert_nothing_stored(&store, &w, &before, &e.id, "oversized, chunked").await;
    assert!(
        failures.is_empty(),
        "refused uploads:\n  {}",
        failures.join("\n  ")
    );
    // And a good one still goes through afterwards.
    let e = d0.seal(&rcpt);
    let r = w.upload(d0, &e).await.expect(201, "a valid upload");
    check_receipt(&r, &w.store_key, &e.bytes);
}

// ---------------------------------------------------------------------------
// Links

#[tokio::test(flavor = "multi_thread")]
async fn links_limits_expiry_revocation_replay() {
    let store = StoreProcess::start_with_config(&small_limit_config());
    let w = World::new(&store, 2, 1).await;
    let d0 = w.device_actor(0);
    let rcpt = w.recipients();

    // Creation, what the token sees, the directory through the token.
    let context = b"{\"appointment\":\"derm-clinic\"}".to_vec();
    let r = d0
        .post_json(
            "/v1/links",
            &CreateLink {
                capability: None,
                context: Some(context.clone()),
                expires_in_secs: Some(3600),
                max_bytes: None,
                max_uploads: Some(2),
            },
        )
        .await
        .expect(201, "POST /v1/links");
    let created: LinkCreated = r.parse();
    let link_id = created.link_id;
    let token = created.token.expose().to_string();
    assert_eq!(token.len(), 43, "a token is 32 bytes base64url (43 chars)");
    assert_eq!(created.max_uploads, 2);
    assert!(created.expires_at.abs_diff(now() + 3600) <= 60);
    let listing = d0.get("/v1/links").await.expect(200, "GET /v1/links");
    assert!(
        !listing.text().contains(&token),
        "the token shows in GET /v1/links"
    );
    let info = w
        .link(&token)
        .get("/v1/link")
        .await
        .expect(200, "GET /v1/link");
    let info: LinkInfo = info.parse();
    assert_eq!(info.link_id, link_id);
    assert_eq!(info.uploads_left, 2);
    let dir = w
        .link(&token)
        .get("/v1/directory")
        .await
        .expect(200, "GET /v1/directory with a link token");
    let dir = SignedDirectory::from_bytes(&dir.body).expect("a signed directory");
    dir.verify(&w.org.public(), now())
        .expect("the directory verifies with the org key");

    // Two uploads, then 410; the third stores nothing.
    let e1 = seal_unsigned(&rcpt);
    let r = w
        .link_upload(&token, &e1)
        .await
        .expect(201, "link upload 1");
    check_receipt(&r, &w.store_key, &e1.bytes);
    // Same bytes again: the same receipt, and it does not count.
    let again = w
        .link_upload(&token, &e1)
        .await
        .expect(200, "link upload 1 again");
    assert!(again.body == r.body, "link re-upload receipt differs");
    let signed = w.devices[0].seal(&rcpt);
    w.link_upload(&token, &signed)
        .await
        .expect(201, "link upload 2 (a signed envelope is accepted too)");
    let e3 = seal_unsigned(&rcpt);
    let before = set(store.blob_files());
    w.link_upload(&token, &e3)
        .await
        .expect(410, "third upload on a 2-upload link");
    assert_nothing_stored(&store, &w, &before, &e3.id, "used-up link").await;
    let s = w.link(&token).get("/v1/link").await.status;
    assert_eq!(s, 410, "GET /v1/link on a used-up link");
    // A retry of an upload made through this link, same bytes: its receipt
    // (a lost answer must not lose the patient's photo), even used up.
    let retry = w
        .link_upload(&token, &e1)
        .await
        .expect(200, "retry of link upload 1 on the used-up link");
    assert!(retry.body == r.body, "retry receipt differs");

    // The inbox says where link uploads came from.
    let inbox: Vec<InboxEntry> = w
        .staff_actor(0)
        .get("/v1/inbox")
        .await
        .expect(200, "inbox")
        .parse();
    let entry = inbox
        .iter()
        .find(|x| x.envelope_id == e1.id)
        .expect("the link upload is in the inbox");
    assert_eq!(entry.source, InboxSource::Link);
    assert_eq!(entry.link_id, Some(link_id));
    assert_eq!(entry.context, Some(context));

    // Refusals through a link store nothing either.
    let (_, t2) = w
        .create_link(
            &d0,
            CreateLink {
                capability: None,
                max_bytes: Some(2000),
                max_uploads: Some(5),
                ..CreateLink::default()
            },
        )
        .await;
    let outsider = RecipientIdentity::generate().recipient();
    let cases: Vec<(&str, Sealed, Vec<u8>, u16)> = {
        let a = seal_unsigned(&[outsider]);
        let ab = a.bytes.clone();
        // The store cannot check an unsigned envelope's ciphertext (no
        // key, no signature), only its structure and lengths; a signed
        // one's signature: see link_upload_checks_a_signed_envelopes_signature.
        let t = seal_unsigned(&rcpt);
        let tb = t.bytes[..t.bytes.len() - 1].to_vec();
        let c = sealcam_core::envelope::seal(
            &jpeg_of_len(3000),
            &sealcam_test_support::store::record_for(&jpeg_of_len(3000)),
            &rcpt,
            sealcam_core::envelope::Signer::Unsigned,
            sealcam_platform::clock::unix_now(),
        )
        .expect("seal");
        let cb = c.bytes.clone();
        vec![
            ("link: recipient not in the directory", a, ab, 400),
            ("link: unsigned envelope truncated", t, tb, 400),
            ("link: over the link's max_bytes", c, cb, 413),
        ]
    };
    for (name, e, bytes, want) in cases {
        let before = set(store.blob_files());
        let r = w
            .link(&t2)
            .put_bytes(&format!("/v1/link/envelopes/{}", e.id), bytes)
            .await;
        assert_eq!(
            r.status,
            want,
            "{name}: got {} {}",
            r.status,
            r.error_code()
        );
        assert_nothing_stored(&store, &w, &before, &e.id, name).await;
    }
    let info: LinkInfo = w
        .link(&t2)
        .get("/v1/link")
        .await
        .expect(200, "GET /v1/link")
        .parse();
    assert_eq!(info.uploads_left, 5, "refused uploads do not count");

    // Expiry.
    let (_, t3) = w
        .create_link(
            &d0,
            CreateLink {
                capability: None,
                expires_in_secs: Some(1),
                ..CreateLink::default()
            },
        )
        .await;
    let l3 = w.link(&t3);
    eventually("a 1 s link to expire", WAIT, || {
        let l3 = l3.clone();
        async move { (l3.get("/v1/link").await.status == 410).then_some(()) }
    })
    .await;
    let e = seal_unsigned(&rcpt);
    let before = set(store.blob_files());
    w.link_upload(&t3, &e)
        .await
        .expect(410, "upload on an expired link");
    assert_nothing_stored(&store, &w, &before, &e.id, "expired link").await;

    // Revocation by its creator; a staff member who did not create it may not.
    let (l4, t4) = w.create_link(&d0, CreateLink::default()).await;
    w.staff_actor(0)
        .delete(&format!("/v1/links/{l4}"))
        .await
        .expect(403, "staff revoking a device's link");
    w.link(&t4)
        .get("/v1/link")
        .await
        .expect(200, "link still usable");
    d0.delete(&format!("/v1/links/{l4}"))
        .await
        .expect(204, "creator revokes the link");
    w.admin()
        .delete(&format!(
            "/v1/links/{}",
            sealcam_test_support::store::hex(&[0x5a; 16])
        ))
        .await
        .expect(404, "DELETE an unknown link");
    let e = seal_unsigned(&rcpt);
    let before = set(store.blob_files());
    w.link_upload(&t4, &e)
        .await
        .expect(410, "upload on a revoked link");
    assert_nothing_stored(&store, &w, &before, &e.id, "revoked link").await;
    let listed: Vec<LinkSummary> = d0
        .get("/v1/links")
        .await
        .expect(200, "GET /v1/links")
        .parse();
    let state = listed
        .iter()
        .find(|l| l.link_id.to_string() == l4)
        .map(|l| l.state);
    assert_ne!(
        state,
        Some(LinkState::Active),
        "revoked link listed as active"
    );

    // Replaying the signed creation request creates no second link.
    let count = |r: Resp| r.parse::<Vec<LinkSummary>>().len();
    let n_before = count(d0.get("/v1/links").await.expect(200, "links"));
    let body = serde_json::to_vec(&CreateLink {
        max_uploads: Some(1),
        ..CreateLink::default()
    })
    .expect("json");
    let h = sealcam_test_support::store::auth_headers(
        &d0.auth,
        &w.client.store,
        "POST",
        "/v1/links",
        &body,
        &Default::default(),
    );
    let ct = [("content-type", "application/json")];
    let r1 = w
        .client
        .send_raw("POST", "/v1/links", body.clone(), &h, &ct)
        .await;
    assert_eq!(r1.status, 201, "link creation: {}", r1.status);
    let r2 = w.client.send_raw("POST", "/v1/links", body, &h, &ct).await;
    assert_eq!(r2.status, 401, "replayed link creation: {}", r2.status);
    let n_after = count(d0.get("/v1/links").await.expect(200, "links"));
    assert_eq!(n_after, n_before + 1, "a replay created a link");

    // A bogus token is no credential.
    let bogus = b64(&[0x11; 32]);
    let s = w.link(&bogus).get("/v1/link").await.status;
    assert!(
        s == 401 || s == 410,
        "an unknown token on GET /v1/link gives {s} (expected 401, or the link endpoints' single 410)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn links_are_rate_limited_per_link() {
    let store = StoreProcess::start_with_config(
        "
[rate_limit]
ip_per_minute = 100000
ip_burst = 100000
link_per_minute = 1
link_burst = 3
",
    );
    let w = World::new(&store, 1, 1).await;
    let d0 = w.device_actor(0);
    let ten = || CreateLink {
        max_uploads: Some(10),
        ..CreateLink::default()
    };
    let (_, t1) = w.create_link(&d0, ten()).await;
    let (_, t2) = w.create_link(&d0, ten()).await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..10 {
        let r = w.link(&t1).get("/v1/link").await;
        statuses.push(r.status);
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.unwrap_or_else(|| {
        panic!("10 requests on a link with burst 3, 1/min: never 429 (statuses {statuses:?})")
    });
    assert!(
        statuses.len() >= 4,
        "429 before the burst of 3 was used: {statuses:?}"
    );
    let retry = r.header("retry-after").expect("429 carries retry-after");
    assert!(
        retry.trim().parse::<u64>().is_ok_and(|s| s >= 1),
        "retry-after is not a number of seconds: {retry}"
    );
    // An upload on the limited link is limited too, and stores nothing.
    let e = seal_unsigned(&w.recipients());
    let before = set(store.blob_files());
    w.link_upload(&t1, &e)
        .await
        .expect(429, "upload on a rate-limited link");
    assert_nothing_stored(&store, &w, &before, &e.id, "rate-limited link").await;
    // Per link: the other link is unaffected.
    w.link(&t2)
        .get("/v1/link")
        .await
        .expect(200, "another link from the same IP");
}

// ---------------------------------------------------------------------------
// Audit

#[tokio::test(flavor = "multi_thread")]
async fn audit_chain_verifies_and_names_an_edited_row() {
    let mut store = StoreProcess::start_with_config(NO_RATE_LIMITS);
    let w = World::new(&store, 2, 2).await;
    // A scripted session.
    let e = w.devices[0].seal(&w.recipients());
    w.upload(&w.devices[0], &e).await.expect(201, "upload");
    w.fetch(0, &e.id).await.expect(200, "fetch");
    w.filed(0, &e.id).await.expect(204, "filed");
    let (link_id, token) = w
        .create_link(&w.staff_actor(1), CreateLink::default())
        .await;
    let le = seal_unsigned(&w.recipients());
    w.link_upload(&token, &le).await.expect(201, "link upload");
    w.admin()
        .delete(&format!("/v1/links/{link_id}"))
        .await
        .expect(204, "revoke link");
    w.admin()
        .delete(&format!("/v1/devices/{}", w.devices[1].id))
        .await
        .expect(204, "revoke device");
    // One failed authentication.
    let stranger = Device {
        id: String::new(),
        key: Arc::new(DeviceSigningKey::generate()),
        certificate: None,
    };
    w.as_(stranger.auth())
        .get("/v1/devices/me")
        .await
        .expect(401, "unknown device");

    let r = w
        .admin()
        .get("/v1/audit?after=0&limit=1000")
        .await
        .expect(200, "GET /v1/audit");
    let entries: Vec<AuditEntry> = r
        .text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("audit line is an audit entry"))
        .collect();
    let n = entries.len();
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>(), "seq is 1..=N");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    // The store's action names (store/src/audit.rs; the contract names none).
    for a in [
        "bootstrap",
        "staff.add",
        "directory.publish",
        "enrolment.create",
        "device.enrol",
        "device.approve",
        "envelope.upload",
        "envelope.fetch",
        "envelope.filed",
        "link.create",
        "link.use",
        "link.revoke",
        "device.revoke",
        "auth.failure",
    ] {
        assert!(
            actions.contains(&a),
            "no `{a}` entry in the audit log: {actions:?}"
        );
    }
    // Paging: after=k gives the entries after k.
    let page = w
        .admin()
        .get("/v1/audit?after=3&limit=2")
        .await
        .expect(200, "GET /v1/audit page");
    let page: Vec<u64> = page
        .text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| Some(serde_json::from_str::<AuditEntry>(l).ok()?.seq))
        .collect();
    assert_eq!(page, vec![4, 5], "after=3&limit=2");
    // No secret in the log: no token, no bootstrap code.
    let text = r.text();
    assert!(!text.contains(&token), "a link token is in the audit log");

    // Stop the store, then verify offline.
    store.terminate();
    let status = store.wait_exit(Duration::from_secs(40));
    assert!(
        status.is_some_and(|s| s.success()),
        "store did not exit 0 on SIGTERM: {status:?}"
    );
    let data = store.data_dir().to_path_buf();
    let out = audit_command("verify", &data);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "audit verify on an untouched log: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // The log may have grown after the GET (e.g. the GET itself): at least N.
    let counted = stdout
        .split("audit chain intact: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no `audit chain intact: N entries` line: {stdout}"));
    assert!(
        counted >= n,
        "verify counts {counted} entries, GET gave {n}"
    );
    let export = audit_command("export", &data);
    assert!(export.status.success(), "audit export failed");
    let exported = String::from_utf8_lossy(&export.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(exported, counted, "export and verify disagree on the count");

    // Edit one row behind the store's back.
    let victim = (n as u64 / 2).max(2);
    {
        let db = rusqlite::Connection::open(data.join("catalog.sqlite")).expect("open catalog");
        let table: String = db
            .query_row(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%audit%' ORDER BY length(name) LIMIT 1",
                [],
                |r| r.get(0),
            )
            .expect("an audit table in catalog.sqlite");
        let changed = db
            .execute(
                &format!("UPDATE {table} SET detail = '{{\"edited\":true}}' WHERE seq = ?1"),
                [victim],
            )
            .expect("UPDATE the audit row");
        assert_eq!(changed, 1, "no audit row with seq {victim}");
    }
    let out = audit_command("verify", &data);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "verify after an edit: {all}");
    assert!(
        all.contains(&victim.to_string()),
        "verify does not name seq {victim}: {all}"
    );
}

// ---------------------------------------------------------------------------
// Retention

fn retention_config(policy: &str, max_age: u64) -> String {
    format!(
        "{NO_RATE_LIMITS}
[retention]
filed_policy = \"{policy}\"
max_age_secs = {max_age}
sweep_interval_secs = 1
"
    )
}

/// Uploads `e` as device 0 and returns the blob file it added.
async fn upload_blob(store: &StoreProcess, w: &World, e: &Sealed) -> PathBuf {
    let before = set(store.blob_files());
    w.upload(&w.devices[0], e).await.expect(201, "upload");
    let after = set(store.blob_files());
    let new: Vec<_> = after.difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "one upload adds one blob file");
    new[0].clone()
}

async fn gone(w: &World, blob: &Path, staff: usize, id: &EnvelopeId) {
    eventually("the blob file to be deleted", WAIT, || async {
        (!blob.exists()).then_some(())
    })
    .await;
    let s = w.fetch(staff, id).await.status;
    assert_eq!(s, 404, "fetching a deleted envelope gives {s}");
    assert!(
        !w.inbox(staff).await.contains(&id.to_string()),
        "a deleted envelope is still in the inbox"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_filed_any_deletes_on_first_filing() {
    let store = StoreProcess::start_with_config(&retention_config("any", 86_400));
    let w = World::new(&store, 2, 1).await;
    let e = w.devices[0].seal(&w.recipients());
    let blob = upload_blob(&store, &w, &e).await;
    w.filed(0, &e.id).await.expect(204, "filed");
    w.filed(0, &e.id)
        .await
        .expect(204, "filed again (idempotent)");
    gone(&w, &blob, 1, &e.id).await;
    // The device retrying after the deletion gets its receipt back (200),
    // and nothing is stored again.
    let before = set(store.blob_files());
    let r = w
        .upload(&w.devices[0], &e)
        .await
        .expect(200, "re-upload after retention deleted it");
    check_receipt(&r, &w.store_key, &e.bytes);
    assert!(
        set(store.blob_files()) == before,
        "a re-upload after deletion stored the bytes again"
    );
    assert_eq!(w.fetch(1, &e.id).await.status, 404, "fetch after re-upload");
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_filed_all_waits_for_every_recipient() {
    let store = StoreProcess::start_with_config(&retention_config("all", 86_400));
    let w = World::new(&store, 2, 1).await;
    let both = w.devices[0].seal(&w.recipients());
    let both_blob = upload_blob(&store, &w, &both).await;
    w.filed(0, &both.id).await.expect(204, "staff 0 files");
    // A sentinel addressed to staff 0 alone, filed after: once the sweeper
    // has deleted it, it has also seen the first filing.
    let only0 = w.devices[0].seal(&w.recipients()[..1]);
    let only0_blob = upload_blob(&store, &w, &only0).await;
    w.filed(0, &only0.id)
        .await
        .expect(204, "staff 0 files the sentinel");
    gone(&w, &only0_blob, 0, &only0.id).await;
    assert!(
        both_blob.exists(),
        "policy all: deleted after one of two recipients filed"
    );
    let got = w
        .fetch(1, &both.id)
        .await
        .expect(200, "staff 1 can still fetch");
    assert!(got.body == both.bytes);
    assert!(
        !w.inbox(0).await.contains(&both.id.to_string()),
        "filed, but still in staff 0's inbox"
    );
    w.filed(1, &both.id).await.expect(204, "staff 1 files");
    gone(&w, &both_blob, 1, &both.id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_max_age_deletes_unfiled_envelopes() {
    let store = StoreProcess::start_with_config(&retention_config("all", 3));
    let w = World::new(&store, 1, 1).await;
    let e = w.devices[0].seal(&w.recipients());
    let blob = upload_blob(&store, &w, &e).await;
    gone(&w, &blob, 0, &e.id).await;
    // The audit log says the store deleted it.
    let log = w
        .admin()
        .get("/v1/audit?after=0&limit=1000")
        .await
        .expect(200, "audit")
        .text();
    assert!(
        log.lines()
            .any(|l| l.contains("envelope.delete") && l.contains(&e.id.to_string())),
        "no envelope.delete audit entry for the aged envelope"
    );
}

/// Through a link, "unsigned (or signed)" envelopes are accepted; a signed
/// one whose signature does not verify is not a valid envelope and must be
/// refused like on the device endpoint (and store nothing).
#[tokio::test(flavor = "multi_thread")]
async fn link_upload_checks_a_signed_envelopes_signature() {
    let store = StoreProcess::start_with_config(NO_RATE_LIMITS);
    let w = World::new(&store, 1, 1).await;
    let (_, token) = w
        .create_link(
            &w.device_actor(0),
            CreateLink {
                capability: None,
                max_uploads: Some(5),
                ..CreateLink::default()
            },
        )
        .await;
    let e = w.devices[0].seal(&w.recipients());
    let mut bytes = e.bytes.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let before = set(store.blob_files());
    let r = w
        .link(&token)
        .put_bytes(&format!("/v1/link/envelopes/{}", e.id), bytes)
        .await;
    assert_eq!(
        r.status,
        400,
        "signed envelope with a flipped byte through a link: {} {}",
        r.status,
        r.error_code()
    );
    assert_nothing_stored(&store, &w, &before, &e.id, "link, bad signature").await;
}

// ---------------------------------------------------------------------------
// A real photo, end to end

/// A corpus photo (skipped loudly without the corpus): sanitized, sealed
/// by an enrolled device to two recipients, uploaded, fetched by each
/// recipient and opened: the image and record come back as sealed, the
/// sender verifies under the org key, and the store's copy never held the
/// photo's bytes or the patient's name in clear.
#[tokio::test(flavor = "multi_thread")]
async fn corpus_photo_round_trip_through_the_store() {
    let Some(corpus) = sealcam_test_support::corpus_dir() else {
        return;
    };
    let photo = corpus.join("images/mei_Apple_iPhone_4.jpg");
    assert!(
        photo.is_file(),
        "{} missing from the corpus",
        photo.display()
    );
    let original = std::fs::read(&photo).expect("read photo");
    let clean = sealcam_core::sanitize::sanitize(&original)
        .expect("sanitize")
        .bytes;
    let store = StoreProcess::start();
    let w = World::new(&store, 2, 1).await;
    let e = w.devices[0].seal_image(&clean, &w.recipients());
    let r = w.upload(&w.devices[0], &e).await.expect(201, "upload");
    check_receipt(&r, &w.store_key, &e.bytes);
    for (i, staff) in w.staff.iter().enumerate() {
        let got = w.fetch(i, &e.id).await.expect(200, "fetch");
        let opened =
            sealcam_core::envelope::open(&got.body, &staff.identity, Some(&w.org.public()))
                .unwrap_or_else(|err| panic!("staff {i} cannot open the fetched envelope: {err}"));
        assert!(*opened.image == clean, "staff {i}: image differs");
        assert_eq!(
            opened.record.to_json(),
            sealcam_test_support::store::record_for(&clean).to_json(),
            "staff {i}: record differs"
        );
        assert!(
            matches!(
                opened.sender,
                sealcam_core::envelope::Sender::Device {
                    status: sealcam_core::envelope::CertificateStatus::Verified,
                    ..
                }
            ),
            "staff {i}: the sender does not verify under the org key"
        );
    }
    // What the store holds is ciphertext.
    let blobs = store.blob_files();
    assert_eq!(blobs.len(), 1);
    let stored = std::fs::read(&blobs[0]).expect("read blob");
    assert!(stored == e.bytes, "the blob is not the envelope as sent");
    assert!(
        sealcam_test_support::find_bytes(&stored, &clean[clean.len() / 2..clean.len() / 2 + 64])
            .is_none(),
        "image bytes in clear in the blob"
    );
    assert!(
        sealcam_test_support::find_bytes(&stored, b"Example-Testpatient").is_none(),
        "the patient's name in clear in the blob"
    );
}
