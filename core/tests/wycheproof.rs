//! Wycheproof vectors for the primitives under `sealcam_core::keys` and the
//! envelope: X25519 (exactly as HPKE DHKEM(X25519, HKDF-SHA256) uses it)
//! and AES-256-GCM with 96-bit nonces and 128-bit tags.
//!
//! The vectors live in the shared corpus
//! (`../shared/corpus/vectors/`, next to the workspace). When they are
//! missing the tests print a loud SKIPPED line and pass, so a checkout
//! without the corpus still builds and tests.

use std::path::PathBuf;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use hkdf::Hkdf;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, Serializable};
use sealcam_core::keys::{Recipient, RecipientIdentity};
use serde_json::Value;
use sha2::Sha256;

type PrivateKey = <X25519HkdfSha256 as Kem>::PrivateKey;
type EncappedKey = <X25519HkdfSha256 as Kem>::EncappedKey;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/vectors")
}

/// Loads a vector file, or says loudly that the test is skipped.
fn load(name: &str) -> Option<Value> {
    let path = vectors_dir().join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("vector file is valid JSON")),
        Err(e) => {
            eprintln!(
                "!!!!!!!! SKIPPED: {} not readable ({e}); Wycheproof vectors NOT run !!!!!!!!",
                path.display()
            );
            None
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex32(s: &str) -> [u8; 32] {
    hex(s).try_into().expect("32 bytes")
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("missing field {name}"))
}

/// X25519 through curve25519-dalek's `MontgomeryPoint::mul_clamped`, the
/// function x25519-dalek's `diffie_hellman` (and so HPKE) calls. The
/// workspace has one curve25519-dalek (5.0.0), reached here through
/// ed25519-dalek because x25519-dalek is not a direct dependency.
fn raw_x25519(secret: [u8; 32], public: [u8; 32]) -> [u8; 32] {
    let mut point = ed25519_dalek::VerifyingKey::default().to_montgomery();
    point.0 = public;
    point.mul_clamped(secret).to_bytes()
}

/// RFC 9180 §4.1 ExtractAndExpand for DHKEM(X25519, HKDF-SHA256):
/// the KEM shared secret HPKE must derive from a DH output.
fn dhkem_shared_secret(dh: &[u8; 32], enc: &[u8; 32], pk_r: &[u8]) -> [u8; 32] {
    let suite_id = b"KEM\x00\x20";
    let mut ikm = b"HPKE-v1".to_vec();
    ikm.extend_from_slice(suite_id);
    ikm.extend_from_slice(b"eae_prk");
    ikm.extend_from_slice(dh);
    let (_, hk) = Hkdf::<Sha256>::extract(Some(b""), &ikm);
    let mut info = 32u16.to_be_bytes().to_vec();
    info.extend_from_slice(b"HPKE-v1");
    info.extend_from_slice(suite_id);
    info.extend_from_slice(b"shared_secret");
    info.extend_from_slice(enc);
    info.extend_from_slice(pk_r);
    let mut out = [0u8; 32];
    hk.expand(&info, &mut out).expect("32 bytes");
    out
}

/// u < 2^255 - 19 with bit 255 clear.
fn canonical_u(u: &[u8; 32]) -> bool {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    // Compare as little-endian integers, most significant byte first.
    u.iter().rev().cmp(p.iter().rev()) == std::cmp::Ordering::Less
}

#[test]
fn wycheproof_x25519() {
    let Some(doc) = load("x25519_test.json") else {
        return;
    };
    let (mut run, mut skipped, mut zero_shared, mut refused_recipients) = (0, 0, 0, 0);
    for group in doc["testGroups"].as_array().expect("testGroups") {
        let curve = group["curve"].as_str().unwrap_or("");
        for t in group["tests"].as_array().expect("tests") {
            let id = &t["tcId"];
            if curve != "curve25519" {
                skipped += 1;
                continue;
            }
            let result = field(t, "result");
            let (Ok(private), Ok(public), Ok(shared)) = (
                <[u8; 32]>::try_from(hex(field(t, "private"))),
                <[u8; 32]>::try_from(hex(field(t, "public"))),
                <[u8; 32]>::try_from(hex(field(t, "shared"))),
            ) else {
                // Not 32-byte values: HPKE refuses these by length alone.
                assert_eq!(result, "invalid", "tc {id}: odd lengths must be invalid");
                skipped += 1;
                continue;
            };
            run += 1;

            // 1. Raw X25519 in the curve25519-dalek HPKE uses.
            let dh = raw_x25519(private, public);
            match result {
                "valid" | "acceptable" => assert_eq!(dh, shared, "tc {id}: X25519 output"),
                _ => assert_ne!(dh, shared, "tc {id}: invalid vector accepted"),
            }

            // 2. Through HPKE's own DHKEM decapsulation: the public key as
            //    the sender's encapsulated key, the private key as ours.
            let sk = PrivateKey::from_bytes(&private).expect("32-byte private key");
            let enc = EncappedKey::from_bytes(&public).expect("32-byte public key");
            let decap = X25519HkdfSha256::decap(&sk, None, &enc);
            if shared == [0u8; 32] {
                // RFC 9180 §7.1.4: an all-zero DH output must be refused.
                zero_shared += 1;
                assert!(
                    decap.is_err(),
                    "tc {id}: HPKE accepted an all-zero shared secret"
                );
            } else {
                let pk_r = X25519HkdfSha256::sk_to_pk(&sk).to_bytes();
                let expected = dhkem_shared_secret(&shared, &public, &pk_r);
                let got = decap.unwrap_or_else(|e| panic!("tc {id}: HPKE decap failed: {e}"));
                assert_eq!(
                    got.0.as_slice(),
                    &expected[..],
                    "tc {id}: DHKEM shared secret"
                );
            }

            // 3. Recipient::from_bytes refuses exactly the public keys that
            //    are non-canonical or give the all-zero shared secret.
            let usable = canonical_u(&public) && shared != [0u8; 32];
            let accepted = Recipient::from_bytes(public).is_ok();
            assert_eq!(accepted, usable, "tc {id}: Recipient::from_bytes");
            if !accepted {
                refused_recipients += 1;
            }
        }
    }
    eprintln!(
        "Wycheproof X25519: {run} vectors run ({zero_shared} with all-zero shared secret, \
         {refused_recipients} public keys refused as recipients), {skipped} skipped"
    );
    assert!(run > 0, "no X25519 vectors were run");
}

#[test]
fn wycheproof_aes_256_gcm() {
    let Some(doc) = load("aes_gcm_test.json") else {
        return;
    };
    let (mut valid, mut invalid, mut skipped) = (0, 0, 0);
    for group in doc["testGroups"].as_array().expect("testGroups") {
        let sizes = (
            group["keySize"].as_u64(),
            group["ivSize"].as_u64(),
            group["tagSize"].as_u64(),
        );
        let tests = group["tests"].as_array().expect("tests");
        if sizes != (Some(256), Some(96), Some(128)) {
            skipped += tests.len();
            continue;
        }
        for t in tests {
            let id = &t["tcId"];
            let key = hex(field(t, "key"));
            let iv: [u8; 12] = hex(field(t, "iv")).try_into().expect("96-bit iv");
            let aad = hex(field(t, "aad"));
            let msg = hex(field(t, "msg"));
            let mut ct_tag = hex(field(t, "ct"));
            ct_tag.extend_from_slice(&hex(field(t, "tag")));
            let cipher = Aes256Gcm::new_from_slice(&key).expect("256-bit key");
            let nonce = iv.into();
            let opened = cipher.decrypt(
                &nonce,
                Payload {
                    msg: &ct_tag,
                    aad: &aad,
                },
            );
            let sealed = cipher
                .encrypt(
                    &nonce,
                    Payload {
                        msg: &msg,
                        aad: &aad,
                    },
                )
                .expect("encrypt");
            match field(t, "result") {
                "valid" => {
                    valid += 1;
                    assert_eq!(sealed, ct_tag, "tc {id}: ciphertext and tag");
                    assert_eq!(
                        opened.expect("tc {id}: decrypts"),
                        msg,
                        "tc {id}: plaintext"
                    );
                }
                "invalid" => {
                    invalid += 1;
                    assert!(opened.is_err(), "tc {id}: invalid ciphertext accepted");
                }
                other => panic!("tc {id}: unexpected result {other}"),
            }
        }
    }
    eprintln!(
        "Wycheproof AES-256-GCM (96-bit nonce, 128-bit tag): {} vectors run \
         ({valid} valid, {invalid} invalid), {skipped} of other sizes skipped",
        valid + invalid
    );
    assert!(valid > 0 && invalid > 0, "AES-GCM vectors missing");
}

/// The RFC 9180 test vectors' recipient key pairs for
/// DHKEM(X25519, HKDF-SHA256): `RecipientIdentity` derives the same public
/// key from `skRm` as HPKE does, and accepts it as a `Recipient`.
#[test]
fn rfc9180_recipient_key_pairs() {
    let Some(doc) = load("hpke-x25519-sha256-aesgcm.json") else {
        return;
    };
    let mut run = 0;
    for v in doc.as_array().expect("array of vectors") {
        if v["kem_id"].as_u64() != Some(0x20) {
            continue;
        }
        let identity = RecipientIdentity::from_secret_bytes(hex32(field(v, "skRm")));
        let pk = hex32(field(v, "pkRm"));
        assert_eq!(identity.recipient().as_bytes(), &pk);
        assert_eq!(
            Recipient::from_bytes(pk).expect("usable"),
            identity.recipient()
        );
        run += 1;
    }
    eprintln!("RFC 9180 DHKEM(X25519) recipient key pairs: {run} checked");
    assert!(run > 0);
}
