//! Fuzz target: request authentication as the store reads it
//! (store/src/auth.rs): the `Authorization` header, either
//! `Sealcam-Signature …` (`RequestAuth::parse`, then `verify` against the
//! fixture organisation, device and staff keys for a fixed store and
//! request) or `Sealcam-Link <token>` (`LinkToken::parse`), and the
//! `X-Sealcam-Content-BLAKE3` header (`parse_content_digest`).
//!
//! Input: UTF-8 text; the first line is the Authorization value, the
//! second (if any) the content digest header.
//!
//! Properties: a parsed signature header is in canonical form (rebuilding
//! it from its fields gives the input up to the signature, and the
//! signature is 86 characters); a header that verifies is exactly the one
//! `authorization` writes for that key, time and nonce (Ed25519 signatures
//! are deterministic); a parsed digest or link token prints back as given.
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::hex;
use sealcam_core::keys::{DeviceSigningKey, OrgSigningKey, StaffSigningKey, StoreId};
use sealcam_core::protocol::api::LinkToken;
use sealcam_core::protocol::request::{
    authorization, content_digest, content_digest_header, parse_content_digest, RequestAuth,
    RequestSigner, RequestVerifier, Role, LINK_SCHEME, SCHEME,
};

struct Keys {
    org: OrgSigningKey,
    device: DeviceSigningKey,
    staff: StaffSigningKey,
    store: StoreId,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| Keys {
    org: fixtures::org(),
    device: fixtures::device(),
    staff: fixtures::staff(),
    store: fixtures::store_id(),
});

fn check<S: RequestSigner, V: RequestVerifier>(
    auth: &RequestAuth,
    header: &str,
    signer: &S,
    public: &V,
    store: &StoreId,
    digest: &[u8; 32],
) {
    let target = fixtures::target(store, digest);
    if auth.verify(public, &target, fixtures::NOW).is_ok() {
        let again = authorization(signer, &target, auth.timestamp, auth.nonce);
        assert_eq!(
            again, header,
            "a header that verifies is not the one the key writes"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(2, '\n');
    let header = lines.next().unwrap_or("");
    let digest_line = lines.next();

    let digest = match digest_line.map(parse_content_digest) {
        Some(Ok(d)) => {
            assert_eq!(
                Some(content_digest_header(&d).as_str()),
                digest_line,
                "a parsed content digest does not print back as given"
            );
            d
        }
        _ => content_digest(b""),
    };

    if let Some(token) = header
        .strip_prefix(LINK_SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .map(str::trim)
    {
        if let Some(t) = LinkToken::parse(token) {
            assert_eq!(t.expose(), token, "a link token changed when parsed");
        }
    }

    let Ok(auth) = RequestAuth::parse(header) else {
        return;
    };
    let canonical = format!(
        "{SCHEME} v=1,role={},key={},ts={},nonce={},sig=",
        auth.role,
        hex::encode(&auth.key_id),
        auth.timestamp,
        hex::encode(&auth.nonce)
    );
    let Some(sig) = header.strip_prefix(&canonical) else {
        panic!("a parsed header is not in canonical form");
    };
    assert_eq!(sig.len(), 86, "a parsed signature is not 86 characters");

    let k = &*KEYS;
    match auth.role {
        Role::Admin => check(&auth, header, &k.org, &k.org.public(), &k.store, &digest),
        Role::Device => check(
            &auth,
            header,
            &k.device,
            &k.device.public(),
            &k.store,
            &digest,
        ),
        Role::Staff => check(
            &auth,
            header,
            &k.staff,
            &k.staff.public(),
            &k.store,
            &digest,
        ),
    }
});
