//! Fuzz target: key files (`decode_key_file`, docs/FORMAT.md §8.7) for
//! every secret key kind: recipient identity, organisation, device, staff
//! and store keys; and each kind's one-line secret string
//! (`from_secret_string`).
//!
//! Argon2id is never run: it costs 64 MiB and about a second per call.
//! For a passphrase-protected file the passphrase callback refuses, so
//! everything up to it runs (key line, bech32m, the encrypted payload's
//! version, kind, Argon2id parameters against the minimum, salt, nonce,
//! ciphertext, tag, exact length) and the AES-GCM decryption after the
//! key derivation does not. Not fuzzed here: the decryption of a key
//! whose passphrase is known.
//!
//! Properties: a plain key file that decodes writes back (`encode_key_file`
//! without a passphrase) to a file that decodes to the same key, and the
//! key's secret string round-trips; the callback is only ever asked for a
//! passphrase by a file that does not decode as a plain key.
#![no_main]

use std::cell::Cell;

use libfuzzer_sys::fuzz_target;
use sealcam_core::keys::{
    decode_key_file, encode_key_file, DeviceSigningKey, KeyError, OrgSigningKey, RecipientIdentity,
    SecretKey, StaffSigningKey, StoreSigningKey,
};
use zeroize::Zeroizing;

const NOW: u64 = 1_795_256_130;

fn one<K: SecretKey>(
    text: &str,
    to_string: fn(&K) -> Zeroizing<String>,
    from_string: fn(&str) -> Result<K, KeyError>,
) {
    let asked = Cell::new(false);
    let decoded = decode_key_file::<K>(text, || {
        asked.set(true);
        Err(KeyError::Decrypt)
    });
    match decoded {
        Ok(key) => {
            assert!(!asked.get(), "a plain key asked for a passphrase");
            let file = match encode_key_file(&key, None, NOW) {
                Ok(f) => f,
                Err(e) => panic!("a decoded key cannot be written: {e}"),
            };
            match decode_key_file::<K>(&file, || panic!("asked for a passphrase")) {
                Ok(again) => assert_eq!(
                    again.public_string(),
                    key.public_string(),
                    "key changed through its file"
                ),
                Err(e) => panic!("a written key file is refused: {e}"),
            }
            let line = to_string(&key);
            match from_string(&line) {
                Ok(again) => assert_eq!(
                    again.public_string(),
                    key.public_string(),
                    "key changed through its string"
                ),
                Err(e) => panic!("a key's own secret string is refused: {e}"),
            }
        }
        Err(KeyError::Decrypt) => assert!(asked.get(), "Decrypt without a passphrase"),
        Err(_) => {}
    }
    // The secret string parser on the raw text too (one line or not).
    if let Ok(key) = from_string(text) {
        assert_eq!(
            to_string(&key).as_str(),
            text.to_ascii_uppercase(),
            "a secret string is not canonical"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    one::<RecipientIdentity>(
        text,
        |k| k.to_secret_string(),
        RecipientIdentity::from_secret_string,
    );
    one::<OrgSigningKey>(
        text,
        |k| k.to_secret_string(),
        OrgSigningKey::from_secret_string,
    );
    one::<DeviceSigningKey>(
        text,
        |k| k.to_secret_string(),
        DeviceSigningKey::from_secret_string,
    );
    one::<StaffSigningKey>(
        text,
        |k| k.to_secret_string(),
        StaffSigningKey::from_secret_string,
    );
    one::<StoreSigningKey>(
        text,
        |k| k.to_secret_string(),
        StoreSigningKey::from_secret_string,
    );
});
