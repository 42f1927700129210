//! Uploads checked while they stream in, on a real `sealcam-store`
//! (docs/API.md "Envelopes"; store/src/upload.rs, store/src/staging.rs):
//!
//! - a body that cannot be an envelope (bad magic, malformed header), or
//!   whose header announces more than the limit (`limits.max_envelope_bytes`
//!   or the link's `max_bytes`), is refused while the body is still being
//!   sent: the answer arrives when only the first few pieces have gone;
//! - more bytes than the header announces, or fewer, are refused; every
//!   refusal, and an upload the client abandons midway, leaves no blob, no
//!   staging file and no catalog row;
//! - the stored bytes are exactly the bytes sent at lengths around the
//!   4096-byte block and the 256 KiB upload buffer, with direct I/O (the
//!   default) and without (`[limits] direct_io = false`), and on a tmpfs
//!   data dir (where `O_DIRECT` may be refused and the store falls back);
//!   which of the two the store used is read from the staging file's open
//!   flags (`/proc/PID/fdinfo`) while an upload is in progress;
//! - a catalog of another layout version is refused at start-up.
//!
//! The other suites cover auth, idempotency, the whole-body refusals and
//! crash safety (store_auth.rs, store_envelopes.rs, store_process.rs).
//! Nothing here prints envelope bytes: lengths, ids and statuses only.

use sealcam_core::envelope::{EnvelopeId, Sealed};
use sealcam_core::keys::Recipient;
use sealcam_core::protocol::api::CreateLink;
use sealcam_test_support::store::{
    blake3, check_receipt, eventually, jpeg_of_len, store_bin, tiny_jpeg, Auth, Client, Device,
    Resp, StoreProcess, World,
};
use sealcam_test_support::summary;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// The staging buffer and the direct-I/O block (store/src/staging.rs).
const BLOCK: usize = 4096;
const BUFFER: usize = 256 * 1024;

/// Rate limits out of the way.
const NO_RATE_LIMITS: &str = "
[rate_limit]
ip_per_minute = 100000
ip_burst = 100000
link_per_minute = 100000
link_burst = 100000
";

/// `limits.max_envelope_bytes` for the refusal tests: far above the bodies
/// sent, so only what a header announces can exceed it.
const LIMIT: u64 = 4_000_000;
/// A link's `max_bytes` in the refusal tests.
const LINK_MAX: u64 = 300_000;

fn refusal_config() -> String {
    format!("{NO_RATE_LIMITS}\n[limits]\nmax_envelope_bytes = {LIMIT}\n")
}

// ---------------------------------------------------------------------------
// Envelopes of a chosen length, and edited headers (docs/FORMAT.md §3)

/// Offset of `plaintext_len` (u64 big-endian) in the header.
const PLAINTEXT_LEN_AT: usize = 34;
/// The payload's chunk size and tag length.
const CHUNK: u64 = 65_536;
const TAG: u64 = 16;
/// The device signature at the end of a signed envelope.
const SIGNATURE: u64 = 64;

/// Payload length `C` for a plaintext of `p` bytes.
fn payload_len(p: u64) -> u64 {
    p + TAG * p.div_ceil(CHUNK).max(1)
}

fn plaintext_len(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[PLAINTEXT_LEN_AT..PLAINTEXT_LEN_AT + 8]);
    u64::from_be_bytes(b)
}

/// The header length `h` of a signed envelope.
fn header_len(bytes: &[u8]) -> u64 {
    bytes.len() as u64 - payload_len(plaintext_len(bytes)) - SIGNATURE
}

/// `bytes` (a signed envelope) with `plaintext_len` edited so that the
/// header announces a total length of exactly `total`. The signature and
/// the header MAC no longer match, which does not matter: these are
/// refused on the header alone, or for their length.
fn announcing(bytes: &[u8], total: u64) -> Vec<u8> {
    let h = header_len(bytes);
    let p = (0..=total / CHUNK + 1)
        .filter_map(|n| total.checked_sub(h + SIGNATURE + TAG * n))
        .find(|&p| h + payload_len(p) + SIGNATURE == total)
        .unwrap_or_else(|| panic!("no plaintext length gives an envelope of {total} bytes"));
    let mut b = bytes.to_vec();
    b[PLAINTEXT_LEN_AT..PLAINTEXT_LEN_AT + 8].copy_from_slice(&p.to_be_bytes());
    b
}

/// A real envelope sealed by `d` of exactly `total` bytes (the image
/// length is adjusted until it fits).
fn sealed_of_len(d: &Device, rcpt: &[Recipient], total: usize) -> Sealed {
    let min = tiny_jpeg().len();
    let base = d.seal_image(&jpeg_of_len(min), rcpt).bytes.len();
    assert!(
        total >= base,
        "the smallest envelope is {base} bytes; {total} cannot be made"
    );
    let mut image = min + (total - base);
    for _ in 0..8 {
        let e = d.seal_image(&jpeg_of_len(image), rcpt);
        let got = e.bytes.len();
        if got == total {
            return e;
        }
        image = (image as i64 + total as i64 - got as i64).max(min as i64) as usize;
    }
    panic!("could not seal an envelope of exactly {total} bytes");
}

// ---------------------------------------------------------------------------
// Streaming and what a refusal must leave

/// An upload streamed piece by piece, and how far it had got when the
/// answer came.
struct Streamed {
    resp: Resp,
    /// Pieces handed to the connection when the answer came.
    sent: usize,
    /// Pieces in the whole body.
    pieces: usize,
}

/// PUTs `body` in `chunk`-byte pieces, one every `pause`, without a
/// `Content-Length` (so the store cannot refuse on the length header).
async fn stream(
    client: &Client,
    auth: &Auth,
    path: &str,
    body: Vec<u8>,
    chunk: usize,
    pause: Duration,
    case: &str,
) -> Streamed {
    let pieces = body.len().div_ceil(chunk).max(1);
    let sent = Arc::new(AtomicUsize::new(0));
    let r = client
        .send_streamed(
            auth,
            "PUT",
            path,
            body,
            chunk,
            pause,
            Arc::clone(&sent),
            false,
        )
        .await;
    let sent = sent.load(Ordering::SeqCst);
    let resp =
        r.unwrap_or_else(|e| panic!("{case}: no answer ({sent} of {pieces} pieces sent): {e}"));
    Streamed { resp, sent, pieces }
}

fn set(v: Vec<PathBuf>) -> BTreeSet<PathBuf> {
    v.into_iter().collect()
}

/// Whether the catalog has a row for `id` (read-only, beside the store).
fn catalog_has(data: &Path, id: &EnvelopeId) -> bool {
    let db = rusqlite::Connection::open_with_flags(
        data.join("catalog.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the catalog read-only");
    db.busy_timeout(Duration::from_secs(10))
        .expect("busy_timeout");
    let n: i64 = db
        .query_row(
            "SELECT count(*) FROM envelopes WHERE envelope_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .expect("query the envelopes table");
    n > 0
}

/// A refused upload left nothing: the same blob files as `before`, an
/// empty `blobs/tmp`, no catalog row, 404 to a recipient.
async fn assert_nothing_left(
    store: &StoreProcess,
    w: &World,
    before: &BTreeSet<PathBuf>,
    id: &EnvelopeId,
    case: &str,
) {
    eventually(&format!("{case}: blobs/tmp empty"), WAIT, || async {
        store.tmp_files().is_empty().then_some(())
    })
    .await;
    let after = set(store.blob_files());
    assert!(
        after == *before,
        "{case}: blob files changed: {} before, {} after",
        before.len(),
        after.len()
    );
    assert!(
        !catalog_has(store.data_dir(), id),
        "{case}: the catalog has a row for {id}"
    );
    let s = w.fetch(0, id).await.status;
    assert_eq!(s, 404, "{case}: fetching {id} gives {s}, not 404");
}

/// What a refusal should look like.
struct Want {
    status: u16,
    code: &'static str,
    /// The answer must come while fewer than half of the pieces have gone.
    early: bool,
}

const EARLY_400: Want = Want {
    status: 400,
    code: "(invalid_envelope)",
    early: true,
};
const EARLY_413: Want = Want {
    status: 413,
    code: "(too_large)",
    early: true,
};
const LATE_400: Want = Want {
    status: 400,
    code: "(invalid_envelope)",
    early: false,
};

/// Streams one refused case and checks the answer, its timing and that
/// nothing was left; a mismatch is pushed to `failures`.
#[allow(clippy::too_many_arguments)]
async fn refused_case(
    store: &StoreProcess,
    w: &World,
    client: &Client,
    auth: &Auth,
    path: &str,
    id: &EnvelopeId,
    body: Vec<u8>,
    chunk: usize,
    pause: Duration,
    want: &Want,
    case: &str,
    failures: &mut Vec<String>,
) {
    let before = set(store.blob_files());
    let len = body.len();
    let t = Instant::now();
    let s = stream(client, auth, path, body, chunk, pause, case).await;
    let took = t.elapsed();
    let note = format!(
        "{case}: {} {} after {}/{} pieces of {chunk} bytes ({len} bytes), {:.2}s, {}",
        s.resp.status,
        s.resp.error_code(),
        s.sent,
        s.pieces,
        took.as_secs_f32(),
        s.resp.version
    );
    summary(&format!("  {note}"));
    if s.resp.status != want.status || s.resp.error_code() != want.code {
        failures.push(format!("{note}: expected {} {}", want.status, want.code));
    } else if want.early && s.sent * 2 >= s.pieces {
        failures.push(format!(
            "{note}: the answer came only after half of the body had been sent"
        ));
    }
    assert_nothing_left(store, w, &before, id, case).await;
}

// ---------------------------------------------------------------------------
// 1, 2: refusals while the body streams in

/// Bad magic and malformed headers are `400 invalid_envelope`, and a header
/// announcing more than the limit (the store's on the device endpoint, the
/// link's on the link endpoint) is `413`, as soon as the header is in: the
/// answer comes while most of the body is unsent. Announcing exactly the
/// limit is not refused on the header (the short body is then `400`).
#[tokio::test(flavor = "multi_thread")]
async fn header_refusals_come_before_the_body_is_sent() {
    let store = StoreProcess::start_with_config(&refusal_config());
    let w = World::new(&store, 1, 1).await;
    let d = &w.devices[0];
    let rcpt = w.recipients();
    let (_, token) = w
        .create_link(
            &w.device_actor(0),
            CreateLink {
                max_bytes: Some(LINK_MAX),
                max_uploads: Some(100),
                ..CreateLink::default()
            },
        )
        .await;
    let device = d.auth();
    let link = Auth::Link(token.clone());
    let h1 =
        Client::with_http1_only(&store.url, &store.cert_pem(), true).for_store(&store.store_key);

    // A real 600 KB envelope: 74 pieces of 8 KiB, 20 ms apart (1.5 s if
    // the store waited for the end).
    let big = d.seal_image(&jpeg_of_len(600_000), &rcpt);
    assert!((big.bytes.len() as u64) < LINK_MAX * 3 && big.bytes.len() as u64 > LINK_MAX);
    // One recipient: the certificate length is at 43 + 96 (below).
    assert_eq!(big.bytes[42], 1, "recipient count");
    let small = d.seal(&rcpt);
    let chunk = 8 * 1024;
    let pause = Duration::from_millis(20);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = big.bytes.clone();
        f(&mut b);
        b
    };
    let headers: Vec<(&str, Vec<u8>)> = vec![
        ("first byte of the magic", edit(&|b| b[0] ^= 0xff)),
        ("last byte of the magic", edit(&|b| b[7] ^= 0x01)),
        ("unsupported version", edit(&|b| b[8] = 2)),
        ("unknown flag bit", edit(&|b| b[9] |= 0x02)),
        ("no recipients", edit(&|b| b[42] = 0)),
        (
            "plaintext_len above the format's maximum",
            edit(&|b| {
                b[PLAINTEXT_LEN_AT..PLAINTEXT_LEN_AT + 8]
                    .copy_from_slice(&269_484_033u64.to_be_bytes())
            }),
        ),
        // One recipient: cert_len is at 43 + 96.
        (
            "cert_len 0 on a signed envelope",
            edit(&|b| b[139..141].copy_from_slice(&[0, 0])),
        ),
        (
            "cert_len above 4096",
            edit(&|b| b[139..141].copy_from_slice(&4097u16.to_be_bytes())),
        ),
    ];

    let mut failures = Vec::new();
    let dev_path = format!("/v1/envelopes/{}", big.id);
    let link_path = format!("/v1/link/envelopes/{}", big.id);
    summary("header_refusals_come_before_the_body_is_sent:");
    for (name, body) in &headers {
        for (who, auth, path) in [("device", &device, &dev_path), ("link", &link, &link_path)] {
            refused_case(
                &store,
                &w,
                &w.client,
                auth,
                path,
                &big.id,
                body.clone(),
                chunk,
                pause,
                &EARLY_400,
                &format!("{who}, {name}"),
                &mut failures,
            )
            .await;
        }
    }

    // Over the store's limit, announced by the header of a body that is
    // itself far below it: only the header can make this a 413 (without
    // the header check the short body would end in 400 truncated).
    let over = announcing(&big.bytes, LIMIT + 1);
    refused_case(
        &store,
        &w,
        &w.client,
        &device,
        &dev_path,
        &big.id,
        over.clone(),
        chunk,
        pause,
        &EARLY_413,
        "device, header announces limits.max_envelope_bytes + 1",
        &mut failures,
    )
    .await;
    refused_case(
        &store,
        &w,
        &w.client,
        &link,
        &link_path,
        &big.id,
        over,
        chunk,
        pause,
        &EARLY_413,
        "link, header announces limits.max_envelope_bytes + 1",
        &mut failures,
    )
    .await;
    // An honest envelope over the link's max_bytes: refused when the
    // header is in, long before the bytes received reach max_bytes.
    let before = set(store.blob_files());
    let s = stream(
        &w.client,
        &link,
        &link_path,
        big.bytes.clone(),
        chunk,
        pause,
        "link, honest envelope over max_bytes",
    )
    .await;
    summary(&format!(
        "  link, honest {}-byte envelope over max_bytes {LINK_MAX}: {} {} after {}/{} pieces",
        big.bytes.len(),
        s.resp.status,
        s.resp.error_code(),
        s.sent,
        s.pieces
    ));
    if s.resp.status != 413 {
        failures.push(format!(
            "link, honest envelope over max_bytes: expected 413, got {} {}",
            s.resp.status,
            s.resp.error_code()
        ));
    } else if (s.sent * chunk) as u64 >= LINK_MAX / 2 {
        failures.push(format!(
            "link, honest envelope over max_bytes: 413 only after {} bytes had been sent (max_bytes {LINK_MAX})",
            s.sent * chunk
        ));
    }
    assert_nothing_left(&store, &w, &before, &big.id, "link, honest over max_bytes").await;

    // Exactly at the limits: not refused on the header; the (short) body
    // is then refused as truncated.
    let small_dev = format!("/v1/envelopes/{}", small.id);
    let small_link = format!("/v1/link/envelopes/{}", small.id);
    for (name, auth, path, total, want) in [
        (
            "device, header announces the limit + 1",
            &device,
            &small_dev,
            LIMIT + 1,
            &EARLY_413,
        ),
        (
            "device, header announces exactly the limit",
            &device,
            &small_dev,
            LIMIT,
            &LATE_400,
        ),
        (
            "link, header announces max_bytes + 1",
            &link,
            &small_link,
            LINK_MAX + 1,
            &EARLY_413,
        ),
        (
            "link, header announces exactly max_bytes",
            &link,
            &small_link,
            LINK_MAX,
            &LATE_400,
        ),
    ] {
        // One piece: "early" cannot be told apart here, only the status.
        let want = Want {
            early: false,
            ..*want
        };
        refused_case(
            &store,
            &w,
            &w.client,
            auth,
            path,
            &small.id,
            announcing(&small.bytes, total),
            chunk,
            pause,
            &want,
            name,
            &mut failures,
        )
        .await;
    }

    // The same early refusals over HTTP/1.1 (chunked body).
    for (name, body, want) in [
        (
            "HTTP/1.1, device, bad magic",
            headers[0].1.clone(),
            &EARLY_400,
        ),
        (
            "HTTP/1.1, device, header announces the limit + 1",
            announcing(&big.bytes, LIMIT + 1),
            &EARLY_413,
        ),
    ] {
        refused_case(
            &store,
            &w,
            &h1,
            &device,
            &dev_path,
            &big.id,
            body,
            chunk,
            pause,
            want,
            name,
            &mut failures,
        )
        .await;
    }

    assert!(
        failures.is_empty(),
        "refusals while streaming:\n  {}",
        failures.join("\n  ")
    );
    // The store still takes good uploads afterwards, on both endpoints.
    let r = w
        .upload(d, &big)
        .await
        .expect(201, "a valid upload afterwards");
    check_receipt(&r, &w.store_key, &big.bytes);
    let r = w
        .link_upload(&token, &small)
        .await
        .expect(201, "a valid link upload afterwards");
    check_receipt(&r, &w.store_key, &small.bytes);
}

// ---------------------------------------------------------------------------
// 3: more or fewer bytes than announced

/// A byte past the announced length is `400` as soon as it arrives (also
/// alone, in its own piece after a complete envelope); a body that ends
/// short (in the header, in the payload, one byte short) is `400` at its
/// end. Nothing is left behind, on either endpoint, over HTTP/2 and 1.1.
#[tokio::test(flavor = "multi_thread")]
async fn more_or_fewer_bytes_than_announced_are_refused() {
    let store = StoreProcess::start_with_config(&refusal_config());
    let w = World::new(&store, 1, 1).await;
    let d = &w.devices[0];
    let rcpt = w.recipients();
    let (_, token) = w
        .create_link(
            &w.device_actor(0),
            CreateLink {
                max_uploads: Some(100),
                ..CreateLink::default()
            },
        )
        .await;
    let device = d.auth();
    let link = Auth::Link(token);
    let h1 =
        Client::with_http1_only(&store.url, &store.cert_pem(), true).for_store(&store.store_key);
    let pause = Duration::from_millis(10);
    let mut failures = Vec::new();
    summary("more_or_fewer_bytes_than_announced_are_refused:");

    let small = d.seal(&rcpt);
    let big = d.seal_image(&jpeg_of_len(300_000), &rcpt);
    let h = header_len(&big.bytes) as usize;
    // The 3-byte tail below shares a 4093-byte piece with the envelope's end.
    assert!(
        (1..=4093 - 3).contains(&(big.bytes.len() % 4093)),
        "pick another piece size for a {}-byte envelope",
        big.bytes.len()
    );
    let with = |bytes: &[u8], tail: &[u8]| {
        let mut b = bytes.to_vec();
        b.extend_from_slice(tail);
        b
    };
    // (name, client, auth, endpoint, envelope, body, chunk, want)
    type Case<'a> = (
        &'static str,
        &'a Client,
        &'a Auth,
        &'static str,
        &'a Sealed,
        Vec<u8>,
        usize,
        &'a Want,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "one byte past the end, alone in the last piece",
            &w.client,
            &device,
            "/v1/envelopes",
            &small,
            with(&small.bytes, &[0]),
            small.bytes.len(),
            &LATE_400,
        ),
        (
            "a 600 KB tail after a complete envelope",
            &w.client,
            &device,
            "/v1/envelopes",
            &small,
            with(&small.bytes, &vec![0u8; 600_000]),
            8 * 1024,
            &EARLY_400,
        ),
        (
            "link: a 600 KB tail after a complete envelope",
            &w.client,
            &link,
            "/v1/link/envelopes",
            &small,
            with(&small.bytes, &vec![0x5a; 600_000]),
            8 * 1024,
            &EARLY_400,
        ),
        (
            "HTTP/1.1: a 600 KB tail after a complete envelope",
            &h1,
            &device,
            "/v1/envelopes",
            &small,
            with(&small.bytes, &vec![0u8; 600_000]),
            8 * 1024,
            &EARLY_400,
        ),
        (
            "a tail after a 300 KB envelope, same piece as its last bytes",
            &w.client,
            &device,
            "/v1/envelopes",
            &big,
            with(&big.bytes, &[1, 2, 3]),
            4093,
            &LATE_400,
        ),
        (
            "one byte short",
            &w.client,
            &device,
            "/v1/envelopes",
            &big,
            big.bytes[..big.bytes.len() - 1].to_vec(),
            4093,
            &LATE_400,
        ),
        (
            "link: one byte short",
            &w.client,
            &link,
            "/v1/link/envelopes",
            &big,
            big.bytes[..big.bytes.len() - 1].to_vec(),
            4093,
            &LATE_400,
        ),
        (
            "HTTP/1.1: one byte short",
            &h1,
            &device,
            "/v1/envelopes",
            &big,
            big.bytes[..big.bytes.len() - 1].to_vec(),
            4093,
            &LATE_400,
        ),
        (
            "signature missing (ends at the payload's end)",
            &w.client,
            &device,
            "/v1/envelopes",
            &big,
            big.bytes[..big.bytes.len() - SIGNATURE as usize].to_vec(),
            4096,
            &LATE_400,
        ),
        (
            "cut in the middle of the payload, at a buffer boundary",
            &w.client,
            &device,
            "/v1/envelopes",
            &big,
            big.bytes[..BUFFER].to_vec(),
            BLOCK,
            &LATE_400,
        ),
        (
            "cut right after the header",
            &w.client,
            &device,
            "/v1/envelopes",
            &big,
            big.bytes[..h].to_vec(),
            BLOCK,
            &LATE_400,
        ),
        (
            "cut inside the header",
            &w.client,
            &device,
            "/v1/envelopes",
            &big,
            big.bytes[..h / 2].to_vec(),
            7,
            &LATE_400,
        ),
    ];
    for (name, client, auth, endpoint, e, body, chunk, want) in cases {
        let path = format!("{endpoint}/{}", e.id);
        refused_case(
            &store,
            &w,
            client,
            auth,
            &path,
            &e.id,
            body,
            chunk,
            pause,
            want,
            name,
            &mut failures,
        )
        .await;
    }
    assert!(
        failures.is_empty(),
        "more or fewer bytes than announced:\n  {}",
        failures.join("\n  ")
    );
    // Both envelopes, whole, are then accepted.
    for e in [&small, &big] {
        let r = w.upload(d, e).await.expect(201, "the whole envelope");
        check_receipt(&r, &w.store_key, &e.bytes);
    }
}

/// A client that goes away in the middle of an upload (after more than one
/// full buffer has been written to the staging file), over HTTP/2 and
/// HTTP/1.1: the staging file goes, nothing is stored, and the same
/// envelope sent again afterwards is accepted whole.
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_abandoned_midway_leaves_nothing() {
    let store = StoreProcess::start_with_config(&refusal_config());
    let w = World::new(&store, 1, 1).await;
    let d = &w.devices[0];
    let h1 =
        Client::with_http1_only(&store.url, &store.cert_pem(), true).for_store(&store.store_key);
    let chunk = 8 * 1024;
    // More than one 256 KiB buffer before the client goes.
    let abandon_after = BUFFER / chunk + 8;
    for (label, client) in [("HTTP/2", &w.client), ("HTTP/1.1", &h1)] {
        let e = d.seal_image(&jpeg_of_len(600_000), &w.recipients());
        let case = format!("{label}: upload abandoned after {abandon_after} pieces");
        let before = set(store.blob_files());
        let sent = Arc::new(AtomicUsize::new(0));
        let upload = {
            let client = client.clone();
            let auth = d.auth();
            let path = format!("/v1/envelopes/{}", e.id);
            let bytes = e.bytes.clone();
            let sent = Arc::clone(&sent);
            tokio::spawn(async move {
                client
                    .send_streamed(
                        &auth,
                        "PUT",
                        &path,
                        bytes,
                        chunk,
                        Duration::from_millis(5),
                        sent,
                        false,
                    )
                    .await
            })
        };
        eventually(&format!("{case}: under way"), WAIT, || {
            let n = sent.load(Ordering::SeqCst);
            let staging = !store.tmp_files().is_empty();
            async move { (n >= abandon_after && staging).then_some(()) }
        })
        .await;
        upload.abort();
        let _ = upload.await;
        assert!(
            sent.load(Ordering::SeqCst) * chunk < e.bytes.len(),
            "{case}: the whole body had gone before the client was stopped"
        );
        assert_nothing_left(&store, &w, &before, &e.id, &case).await;
        let r = w
            .upload(d, &e)
            .await
            .expect(201, &format!("{case}: sent again"));
        check_receipt(&r, &w.store_key, &e.bytes);
        let got = w.fetch(0, &e.id).await.expect(200, &case);
        assert!(
            got.body == e.bytes,
            "{case}: sent again, fetched different bytes"
        );
    }
}

// ---------------------------------------------------------------------------
// 4, 5: exact bytes at awkward lengths

/// Envelope lengths around the block and the buffer, and one of several MB.
fn awkward_lengths() -> Vec<usize> {
    vec![
        2 * BLOCK - 1,
        2 * BLOCK,
        2 * BLOCK + 1,
        3 * BLOCK - 1,
        3 * BLOCK + 1,
        BUFFER - BLOCK - 1,
        BUFFER - 1,
        BUFFER,
        BUFFER + 1,
        BUFFER + BLOCK - 1,
        BUFFER + BLOCK + 1,
        2 * BUFFER,
        2 * BUFFER + BLOCK - 1,
        3 * 1024 * 1024 + 1234,
    ]
}

/// Uploads an envelope of each length twice (two envelopes: one with a
/// `Content-Length` in one request body, one streamed without, in pieces
/// that never line up with a block) and checks the receipt (store
/// signature, BLAKE3, size), the fetched bytes and the blob file.
async fn exact_round_trips(store: &StoreProcess, w: &World, lengths: &[usize], label: &str) {
    let d = &w.devices[0];
    let rcpt = w.recipients();
    let t = Instant::now();
    for &len in lengths {
        for streamed in [false, true] {
            let e = sealed_of_len(d, &rcpt, len);
            let case = format!(
                "{label}: {len} bytes, {}",
                if streamed {
                    "streamed"
                } else {
                    "Content-Length"
                }
            );
            let before = set(store.blob_files());
            let path = format!("/v1/envelopes/{}", e.id);
            let r = if streamed {
                // 4093 is prime: piece boundaries fall everywhere relative
                // to blocks and buffers; bigger pieces for the big one.
                let chunk = if len > 2 * BUFFER { 7919 } else { 4093 };
                stream(
                    &w.client,
                    &d.auth(),
                    &path,
                    e.bytes.clone(),
                    chunk,
                    Duration::ZERO,
                    &case,
                )
                .await
                .resp
            } else {
                w.upload(d, &e).await
            };
            let r = r.expect(201, &case);
            let receipt = check_receipt(&r, &w.store_key, &e.bytes);
            assert!(
                receipt.blake3 == blake3(&e.bytes),
                "{case}: the receipt's blake3 is not BLAKE3 of the bytes sent"
            );
            assert_eq!(receipt.size, len as u64, "{case}: receipt size");
            assert_eq!(receipt.envelope_id, e.id, "{case}: receipt id");

            let after = set(store.blob_files());
            let new: Vec<&PathBuf> = after.difference(&before).collect();
            assert_eq!(new.len(), 1, "{case}: one upload, one new blob file");
            let on_disk = std::fs::metadata(new[0]).expect("stat the blob").len();
            assert_eq!(on_disk, len as u64, "{case}: blob file length");
            let stored = std::fs::read(new[0]).expect("read the blob");
            assert!(
                stored == e.bytes,
                "{case}: the blob file is not the bytes sent (first difference at {:?})",
                stored.iter().zip(&e.bytes).position(|(a, b)| a != b)
            );
            let got = w.fetch(0, &e.id).await.expect(200, &case);
            assert_eq!(got.body.len(), len, "{case}: fetched length");
            assert!(
                got.body == e.bytes,
                "{case}: fetched bytes differ (first difference at {:?})",
                got.body.iter().zip(&e.bytes).position(|(a, b)| a != b)
            );
            assert!(
                store.tmp_files().is_empty(),
                "{case}: a staging file is left in blobs/tmp"
            );
        }
    }
    summary(&format!(
        "{label}: {} envelopes round-tripped exactly in {:.1}s",
        2 * lengths.len(),
        t.elapsed().as_secs_f32()
    ));
}

/// Whether the store said it fell back from `O_DIRECT` (staging.rs logs it).
fn fell_back(store: &StoreProcess) -> bool {
    store.stderr_text().contains("refuses O_DIRECT")
}

/// `O_DIRECT` as `/proc/PID/fdinfo` shows open flags (octal; per arch).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const O_DIRECT: Option<u32> = Some(0o40000);
#[cfg(all(target_os = "linux", any(target_arch = "aarch64", target_arch = "arm")))]
const O_DIRECT: Option<u32> = Some(0o200000);
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm")
)))]
const O_DIRECT: Option<u32> = None;

/// The open flags of a staging file the store holds open in `blobs/tmp`.
fn staging_file_flags(store: &StoreProcess) -> Option<u32> {
    let pid = store.pid();
    let tmp = std::fs::canonicalize(store.data_dir().join("blobs/tmp")).ok()?;
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        if !target.starts_with(&tmp) {
            continue;
        }
        let name = fd.file_name();
        let info =
            std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", name.to_string_lossy()))
                .ok()?;
        let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
        return u32::from_str_radix(flags.trim(), 8).ok();
    }
    None
}

/// Streams a 600 KB upload slowly and looks at the staging file's open
/// flags while it is in progress (`/proc/PID/fdinfo`): whether the store
/// writes it with `O_DIRECT`. `None` where that cannot be seen. The upload
/// must then succeed and round-trip.
async fn staging_is_direct(store: &StoreProcess, w: &World, label: &str) -> Option<bool> {
    let Some(o_direct) = O_DIRECT.filter(|_| Path::new("/proc/self/fdinfo").is_dir()) else {
        summary(&format!(
            "note: {label}: cannot see open flags here (/proc/PID/fdinfo); O_DIRECT not checked"
        ));
        return None;
    };
    let d = &w.devices[0];
    let e = d.seal_image(&jpeg_of_len(600_000), &w.recipients());
    let upload = {
        let client = w.client.clone();
        let auth = d.auth();
        let path = format!("/v1/envelopes/{}", e.id);
        let bytes = e.bytes.clone();
        tokio::spawn(async move {
            // 74 pieces, 15 ms apart: about a second with the file open.
            client
                .send_streamed(
                    &auth,
                    "PUT",
                    &path,
                    bytes,
                    8 * 1024,
                    Duration::from_millis(15),
                    Arc::new(AtomicUsize::new(0)),
                    false,
                )
                .await
        })
    };
    let flags = eventually(
        &format!("{label}: a staging file open in blobs/tmp"),
        WAIT,
        || async { staging_file_flags(store) },
    )
    .await;
    let r = upload
        .await
        .expect("upload task")
        .unwrap_or_else(|err| panic!("{label}: the slow upload got no answer: {err}"));
    let r = r.expect(201, &format!("{label}: the slow upload"));
    check_receipt(&r, &w.store_key, &e.bytes);
    let got = w.fetch(0, &e.id).await.expect(200, label);
    assert!(
        got.body == e.bytes,
        "{label}: the slow upload came back different"
    );
    Some(flags & o_direct != 0)
}

#[tokio::test(flavor = "multi_thread")]
async fn exact_bytes_at_block_and_buffer_boundaries_with_direct_io() {
    let store = StoreProcess::start();
    let w = World::new(&store, 1, 1).await;
    let label = "direct I/O (default)";
    exact_round_trips(&store, &w, &awkward_lengths(), label).await;
    let direct = staging_is_direct(&store, &w, label).await;
    let refused = fell_back(&store);
    summary(&format!(
        "{label}: staging file opened with O_DIRECT: {direct:?}; the store logged a fallback: {refused}"
    ));
    if let Some(direct) = direct {
        // O_DIRECT unless the filesystem refused it, and then it says so.
        assert_eq!(
            direct,
            !refused,
            "{label}: O_DIRECT on the staging file is {direct}, but the store \
             {} that the filesystem refused it",
            if refused { "logged" } else { "did not log" }
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exact_bytes_at_block_and_buffer_boundaries_without_direct_io() {
    let store = StoreProcess::start_with_config("[limits]\ndirect_io = false\n");
    let w = World::new(&store, 1, 1).await;
    let label = "direct_io = false";
    exact_round_trips(&store, &w, &awkward_lengths(), label).await;
    let direct = staging_is_direct(&store, &w, label).await;
    summary(&format!(
        "{label}: staging file opened with O_DIRECT: {direct:?}"
    ));
    assert_ne!(
        direct,
        Some(true),
        "{label}: the staging file was opened with O_DIRECT"
    );
}

/// A data dir on tmpfs (`/dev/shm`), default configuration: uploads are
/// accepted and served exactly, whether the filesystem takes `O_DIRECT`
/// or the store falls back.
#[tokio::test(flavor = "multi_thread")]
async fn a_tmpfs_data_dir_accepts_and_serves_uploads() {
    let shm = Path::new("/dev/shm");
    let is_tmpfs = std::fs::read_to_string("/proc/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&"/dev/shm") && f.get(2) == Some(&"tmpfs")
        })
    });
    if !shm.is_dir() || !is_tmpfs {
        summary(&format!(
            "\n!!! SKIPPED: a_tmpfs_data_dir_accepts_and_serves_uploads: /dev/shm {} !!!\n",
            if shm.is_dir() {
                "is not a tmpfs mount"
            } else {
                "does not exist"
            }
        ));
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("sealcam-streaming-")
        .tempdir_in(shm)
        .expect("a temporary directory in /dev/shm");
    let data = tmp.path().join("data");
    let store = StoreProcess::start_in(&data, None);
    let w = World::new(&store, 1, 1).await;
    let label = "tmpfs data dir";
    exact_round_trips(&store, &w, &[2 * BLOCK + 1, BUFFER + 1, 1_500_001], label).await;
    let direct = staging_is_direct(&store, &w, label).await;
    let refused = fell_back(&store);
    summary(&format!(
        "{label}: staging file opened with O_DIRECT: {direct:?}; {}",
        if refused {
            "tmpfs refused O_DIRECT and the store fell back to the page cache"
        } else {
            "tmpfs accepted O_DIRECT (the fallback was not exercised)"
        }
    ));
    if let Some(direct) = direct {
        assert_eq!(
            direct,
            !refused,
            "{label}: O_DIRECT on the staging file is {direct}, but the store \
             {} that the filesystem refused it",
            if refused { "logged" } else { "did not log" }
        );
    }
    drop(store);
    drop(tmp);
}

// ---------------------------------------------------------------------------
// 6: the catalog's layout version

/// Runs `sealcam-store serve` on `data` and waits (at most `timeout`) for
/// it to exit: (exit status, stdout, stderr); `None` if it kept running
/// (it is then killed).
fn serve_until_exit(
    data: &Path,
    logs: &Path,
    timeout: Duration,
) -> Option<(std::process::ExitStatus, String, String)> {
    let out = logs.join("stdout");
    let err = logs.join("stderr");
    let mut child = Command::new(store_bin())
        .arg("serve")
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("create stdout file"))
        .stderr(std::fs::File::create(&err).expect("create stderr file"))
        .spawn()
        .expect("start sealcam-store");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    status.map(|s| (s, read(&out), read(&err)))
}

fn user_version(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .expect("open the catalog")
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("read user_version")
}

fn set_user_version(db: &Path, v: i64) {
    rusqlite::Connection::open(db)
        .expect("open the catalog")
        .pragma_update(None, "user_version", v)
        .expect("set user_version");
}

/// A store writes layout version 3; a data dir whose catalog has another
/// version (0: the pre-release layout, 4: a newer one) is refused at
/// start-up, non-zero exit, naming the version and telling the operator to
/// use a new --data directory, and the catalog is left as it was. Set back
/// to 3, the same data dir starts again.
#[test]
fn a_catalog_of_another_layout_version_is_refused_at_start_up() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let db = data.join("catalog.sqlite");
    let mut store = StoreProcess::start_in(&data, None);
    store.terminate();
    let status = store.wait_exit(Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "the store did not exit 0 on SIGTERM: {status:?}"
    );
    drop(store);
    assert_eq!(user_version(&db), 3, "the catalog's layout version");
    let tables: i64 = rusqlite::Connection::open(&db)
        .expect("open the catalog")
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .expect("count tables");
    assert!(tables > 0, "the store created no tables");

    for version in [0i64, 4] {
        set_user_version(&db, version);
        let Some((status, stdout, stderr)) =
            serve_until_exit(&data, tmp.path(), Duration::from_secs(30))
        else {
            panic!("the store kept running on a catalog of layout version {version}");
        };
        let ctx = format!("layout version {version}: exit {status:?}, stderr:\n{stderr}");
        assert!(!status.success(), "{ctx}");
        assert!(
            !stdout.lines().any(|l| l.trim() == "ready"),
            "the store printed `ready` on a catalog of {ctx}"
        );
        assert!(
            stderr.contains(&format!("layout version {version}")),
            "the error does not name the catalog's layout version: {ctx}"
        );
        assert!(
            stderr.contains("version 3"),
            "the error does not name the version the store reads: {ctx}"
        );
        assert!(
            stderr.contains("new --data directory"),
            "the error does not tell the operator to use a new --data directory: {ctx}"
        );
        assert_eq!(
            user_version(&db),
            version,
            "the refused start changed the catalog's layout version"
        );
    }

    set_user_version(&db, 3);
    let mut store = StoreProcess::start_in(&data, None);
    store.terminate();
    let status = store.wait_exit(Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "layout version 3 again: the store did not run and exit 0: {status:?}"
    );
}

// ---------------------------------------------------------------------------
// Stalled uploads do not hold the buffer pool

/// With a pool of 4 buffers (`upload_buffer_mib = 1`) and a 2 s idle
/// timeout: 4 uploads that send their first piece and then stall are each
/// cut with `408 upload_stalled` (not held for the 300 s request timeout),
/// leave nothing behind, and give their buffers back: uploads started
/// while they stall, and after, are accepted.
#[tokio::test(flavor = "multi_thread")]
async fn stalled_uploads_are_cut_and_free_their_buffers() {
    let store = StoreProcess::start_with_config(&format!(
        "{NO_RATE_LIMITS}\n[limits]\nupload_buffer_mib = 1\nupload_idle_timeout_secs = 2\n"
    ));
    let w = World::new(&store, 1, 1).await;
    let d = &w.devices[0];
    let rcpt = w.recipients();
    let before = set(store.blob_files());
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let e = d.seal_image(&jpeg_of_len(600_000), &rcpt);
        let client = w.client.clone();
        let auth = d.auth();
        let path = format!("/v1/envelopes/{}", e.id);
        let sent = Arc::new(AtomicUsize::new(0));
        // 64 KiB pieces, 20 s apart: the store hears nothing after the
        // first one for far longer than its idle timeout.
        stalled.push(tokio::spawn(async move {
            client
                .send_streamed(
                    &auth,
                    "PUT",
                    &path,
                    e.bytes,
                    64 * 1024,
                    Duration::from_secs(20),
                    sent,
                    false,
                )
                .await
        }));
    }
    // While they stall (and hold all 4 buffers), a normal upload waits for
    // a buffer at most the idle timeout: it gets one when the stalled ones
    // are cut, or `503 busy` — never an indefinite wait.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let e = d.seal_image(&tiny_jpeg(), &rcpt);
    let r = w.upload(d, &e).await;
    assert!(
        r.status == 201 || (r.status == 503 && r.error_code() == "(busy)"),
        "an upload during the stall: {r:?}"
    );
    for t in stalled {
        // The store may answer and reset the stream while the client still
        // has pieces to send (a transport error); either way it did not
        // wait for them (the elapsed-time check below).
        if let Ok(r) = t.await.expect("task") {
            assert_eq!(
                (r.status, r.error_code()),
                (408, "(upload_stalled)".to_string()),
                "a stalled upload"
            );
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stalled uploads were cut after the idle timeout, not the piece pause ({:?})",
        started.elapsed()
    );
    // Their buffers came back: four uploads at once all go through.
    let mut next = Vec::new();
    for _ in 0..4 {
        let e = d.seal_image(&jpeg_of_len(600_000), &rcpt);
        next.push((w.upload(d, &e).await, e));
    }
    for (r, e) in next {
        let r = r.expect(201, "an upload after the stalled ones were cut");
        check_receipt(&r, &w.store_key, &e.bytes);
    }
    let stored = set(store.blob_files());
    assert_eq!(
        stored.difference(&before).count(),
        4 + usize::from(r.status == 201),
        "only the complete uploads are stored"
    );
    eventually("blobs/tmp empty", Duration::from_secs(5), || async {
        store.tmp_files().is_empty().then_some(())
    })
    .await;
}
