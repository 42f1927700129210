//! RFC 9180 test vectors (Appendix A) for the envelope's HPKE suite,
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, base mode, run
//! through `envelope::hpke_suite::{seal_base, open_base}`: exactly the
//! functions the envelope stanzas use (docs/FORMAT.md §4.1).
//!
//! The vectors live in the shared corpus,
//! `../shared/corpus/vectors/hpke-x25519-sha256-aesgcm.json`; if that file
//! is missing the test says so loudly and does nothing.

use sealcam_test_support::fixtures as common;

use common::hex;
use rand_core::{Infallible, TryCryptoRng, TryRng};
use sealcam_core::envelope::hpke_suite::{open_base, seal_base};
use sealcam_core::keys::RecipientIdentity;
use serde_json::Value;

/// mode_base, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
const OUR_SUITE: (u64, u64, u64, u64) = (0, 0x0020, 0x0001, 0x0002);

/// An "RNG" that hands out fixed bytes (the vector's `ikmE`) and panics if
/// asked for more than it holds.
struct FixedRng {
    bytes: Vec<u8>,
    at: usize,
}

impl TryRng for FixedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let end = self.at + dst.len();
        assert!(
            end <= self.bytes.len(),
            "seal_base asked for more randomness than ikmE ({} > {} bytes)",
            end,
            self.bytes.len()
        );
        dst.copy_from_slice(&self.bytes[self.at..end]);
        self.at = end;
        Ok(())
    }
}

impl TryCryptoRng for FixedRng {}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name)
        .unwrap_or_else(|| panic!("vector has no field {name:?}"))
}

fn num(v: &Value, name: &str) -> u64 {
    field(v, name)
        .as_u64()
        .unwrap_or_else(|| panic!("{name} is not a number"))
}

fn bytes(v: &Value, name: &str) -> Vec<u8> {
    hex(field(v, name)
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string")))
}

fn array32(b: &[u8], what: &str) -> [u8; 32] {
    b.try_into()
        .unwrap_or_else(|_| panic!("{what} is {} bytes, not 32", b.len()))
}

fn check_our_suite(v: &Value) {
    let info = bytes(v, "info");
    let sk_rm = array32(&bytes(v, "skRm"), "skRm");
    let pk_rm = array32(&bytes(v, "pkRm"), "pkRm");
    let ikm_e = bytes(v, "ikmE");
    let enc_expected = bytes(v, "enc");
    let base_nonce = bytes(v, "base_nonce");

    // pkRm derivation: the recipient identity's public key is X25519(skRm).
    let identity = RecipientIdentity::from_secret_bytes(sk_rm);
    assert_eq!(
        &identity.recipient().as_bytes()[..],
        &pk_rm[..],
        "RecipientIdentity::from_secret_bytes(skRm).recipient() != pkRm"
    );

    // encryptions[0] is sequence number 0, the only one single-shot
    // encryption produces: its nonce is the base nonce itself.
    let encryptions = field(v, "encryptions")
        .as_array()
        .expect("encryptions is an array");
    let first = encryptions.first().expect("at least one encryption");
    assert_eq!(
        bytes(first, "nonce"),
        base_nonce,
        "encryptions[0] is not sequence number 0"
    );
    let (pt, aad, ct) = (bytes(first, "pt"), bytes(first, "aad"), bytes(first, "ct"));

    // SealBase with the ephemeral key DeriveKeyPair(ikmE).
    let mut rng = FixedRng {
        bytes: ikm_e.clone(),
        at: 0,
    };
    let (enc, sealed) = seal_base(&pk_rm, &info, &aad, &pt, &mut rng).expect("seal_base");
    assert_eq!(
        rng.at,
        ikm_e.len(),
        "seal_base must draw exactly the {} bytes of ikmE",
        ikm_e.len()
    );
    assert_eq!(&enc[..], &enc_expected[..], "enc differs from the vector");
    assert_eq!(sealed, ct, "ciphertext differs from the vector's ct");

    // OpenBase with skRm recovers pt.
    let enc = array32(&enc_expected, "enc");
    let opened = open_base(&sk_rm, &enc, &info, &aad, &ct).expect("open_base");
    assert_eq!(&opened[..], &pt[..], "open_base did not recover pt");

    // And refuses any change of ciphertext, aad, info or enc.
    let mut bad_ct = ct.clone();
    bad_ct[0] ^= 1;
    assert!(open_base(&sk_rm, &enc, &info, &aad, &bad_ct).is_err());
    let mut bad_aad = aad.clone();
    bad_aad.push(0);
    assert!(open_base(&sk_rm, &enc, &info, &bad_aad, &ct).is_err());
    let mut bad_info = info.clone();
    bad_info.push(0);
    assert!(open_base(&sk_rm, &enc, &bad_info, &aad, &ct).is_err());
    let mut bad_enc = enc;
    bad_enc[0] ^= 1;
    assert!(open_base(&sk_rm, &bad_enc, &info, &aad, &ct).is_err());
}

#[test]
fn rfc9180_base_mode_vectors_for_the_envelope_suite() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/vectors/hpke-x25519-sha256-aesgcm.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("==================================================================");
        eprintln!("WARNING: RFC 9180 vectors not found at {path}");
        eprintln!("WARNING: the HPKE known-answer test did NOT run");
        eprintln!("==================================================================");
        return;
    };
    let vectors: Vec<Value> = serde_json::from_str(&text).expect("vector file is a JSON array");
    let mut ours = 0;
    let mut skipped_aes128 = 0;
    for v in &vectors {
        let suite = (
            num(v, "mode"),
            num(v, "kem_id"),
            num(v, "kdf_id"),
            num(v, "aead_id"),
        );
        if suite == OUR_SUITE {
            check_our_suite(v);
            ours += 1;
        } else {
            eprintln!(
                "skipped on purpose: mode {} kem {:#06x} kdf {:#06x} aead {:#06x} is not the \
                 envelope suite (AEAD 0x0002, AES-256-GCM)",
                suite.0, suite.1, suite.2, suite.3
            );
            if suite == (0, 0x0020, 0x0001, 0x0001) {
                skipped_aes128 += 1;
            }
        }
    }
    assert_eq!(ours, 1, "expected exactly one vector for our suite");
    assert_eq!(
        skipped_aes128, 1,
        "expected the AES-128-GCM vector to be present and skipped"
    );
}
