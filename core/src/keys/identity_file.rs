//! Key files: one secret key as text, optionally protected by a passphrase
//! (Argon2id + AES-256-GCM). Grammar and layout: `docs/FORMAT.md` §8.7.
//!
//! ```text
//! # sealcam recipient identity (X25519 secret key): decrypts envelopes sealed to the recipient below. Keep it private.
//! # created: 2026-05-01T12:00:00Z
//! # recipient: sealcam1…
//! SEALCAM-SECRET-KEY-1…        (or SEALCAM-ENCRYPTED-KEY-1… with a passphrase)
//! ```
//!
//! The comment lines hold public information only and are ignored when
//! reading. Writing the file (atomically, mode 0600) is the caller's job.

use zeroize::Zeroizing;

use super::kind::{SecretKey, SecretKeyKind};
use super::passphrase::{decrypt_secret, encrypt_secret, KdfParams, ENCRYPTED_LEN};
use super::text::{self, StrKind};
use super::{KeyError, RecipientIdentity};

/// Longest key file read (a key line and generous comments).
const MAX_FILE_LEN: usize = 16 * 1024;

/// The `# created:` comment's time (UTC, to the second), from Unix seconds
/// given by the caller: the core reads no clock. "unknown" for a time the
/// format cannot show (after the year 9999).
fn created_text(created_at: u64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    i64::try_from(created_at)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "unknown".to_string())
}

fn encode_file(
    kind: SecretKeyKind,
    secret: &[u8; 32],
    public: &str,
    protection: Option<(&str, KdfParams)>,
    created_at: u64,
) -> Result<Zeroizing<String>, KeyError> {
    // Room for the longest file (about 500 bytes): never reallocated, so
    // no stray copy of the secret is left in freed memory.
    let mut out = Zeroizing::new(String::with_capacity(1024));
    out.push_str("# ");
    out.push_str(kind.headline());
    out.push_str("\n# created: ");
    out.push_str(&created_text(created_at));
    out.push_str("\n# ");
    out.push_str(kind.public_label());
    out.push_str(": ");
    out.push_str(public);
    out.push('\n');
    match protection {
        None => out.push_str(&text::encode_secret(kind.secret_str(), secret)),
        Some((passphrase, params)) => {
            let payload = encrypt_secret(kind, secret, passphrase, params)?;
            out.push_str(&format!(
                "# passphrase-protected: Argon2id (m = {} KiB, t = {}, p = {}) and AES-256-GCM\n",
                params.m_cost_kib, params.t_cost, params.p_cost
            ));
            out.push_str(&text::encode(StrKind::EncryptedKey, &payload));
        }
    }
    out.push('\n');
    Ok(out)
}

/// Finds the one key line of a key file.
fn key_line(text: &str) -> Result<&str, KeyError> {
    if text.len() > MAX_FILE_LEN {
        return Err(KeyError::KeyFile {
            reason: "it is longer than 16 KiB; is this the right file?",
        });
    }
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if found.is_some() {
            return Err(KeyError::KeyFile {
                reason: "it holds more than one key line (a key file holds exactly one key)",
            });
        }
        found = Some(line);
    }
    found.ok_or(KeyError::KeyFile {
        reason: "it holds no key line, only comments or blank lines",
    })
}

fn decode_file(
    kind: SecretKeyKind,
    text: &str,
    passphrase: impl FnOnce() -> Result<Zeroizing<String>, KeyError>,
    minimum: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let line = key_line(text)?;
    if text::kind_of(line) == Some(StrKind::EncryptedKey) {
        let payload = text::decode(line, StrKind::EncryptedKey, ENCRYPTED_LEN)?;
        return decrypt_secret(kind, &payload, passphrase, minimum);
    }
    let bytes = text::decode(line, kind.secret_str(), 32)?;
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&bytes);
    Ok(secret)
}

/// Writes any secret key as key file text; with a passphrase, the key is
/// protected with Argon2id ([`KdfParams::DEFAULT`]) and AES-256-GCM.
/// `created_at` (Unix seconds, the caller's clock) is written in the
/// `# created:` comment.
///
/// An empty passphrase is used as given (the caller should refuse it).
/// The text is wiped when dropped. Fails with [`KeyError::KdfFailed`] when
/// there is not enough memory for Argon2id (64 MiB).
///
/// # Panics
/// If the operating system's random generator fails (a passphrase needs
/// a random salt and nonce).
pub fn encode_key_file<K: SecretKey>(
    key: &K,
    passphrase: Option<&str>,
    created_at: u64,
) -> Result<Zeroizing<String>, KeyError> {
    let protection = passphrase.map(|p| (p, KdfParams::DEFAULT));
    encode_file(
        K::KIND,
        key.secret(),
        &key.public_string(),
        protection,
        created_at,
    )
}

/// Writes a passphrase-protected key file with chosen Argon2id parameters
/// (between [`KdfParams::MINIMUM`] and [`KdfParams::MAXIMUM`], e.g. dearer
/// ones for the organisation key); see [`encode_key_file`].
pub fn encode_key_file_with_params<K: SecretKey>(
    key: &K,
    passphrase: &str,
    params: KdfParams,
    created_at: u64,
) -> Result<Zeroizing<String>, KeyError> {
    params.check(KdfParams::MINIMUM)?;
    encode_file(
        K::KIND,
        key.secret(),
        &key.public_string(),
        Some((passphrase, params)),
        created_at,
    )
}

/// Reads a key file of kind `K`. `passphrase` is called only if the key
/// is passphrase-protected, and only after the file has been parsed and
/// its Argon2id parameters accepted (weaker than [`KdfParams::MINIMUM`]:
/// [`KeyError::WeakKdf`]). A wrong passphrase or an altered file gives
/// [`KeyError::Decrypt`].
pub fn decode_key_file<K: SecretKey>(
    text: &str,
    passphrase: impl FnOnce() -> Result<Zeroizing<String>, KeyError>,
) -> Result<K, KeyError> {
    let secret = decode_file(K::KIND, text, passphrase, KdfParams::MINIMUM)?;
    Ok(K::from_secret(*secret))
}

/// Writes a recipient identity as key file text (see [`encode_key_file`]).
pub fn encode_identity_file(
    identity: &RecipientIdentity,
    passphrase: Option<&str>,
    created_at: u64,
) -> Result<Zeroizing<String>, KeyError> {
    encode_key_file(identity, passphrase, created_at)
}

/// Reads a recipient identity key file (see [`decode_key_file`]).
pub fn decode_identity_file(
    text: &str,
    passphrase: impl FnOnce() -> Result<Zeroizing<String>, KeyError>,
) -> Result<RecipientIdentity, KeyError> {
    decode_key_file(text, passphrase)
}

/// Test-only: cheap Argon2id parameters, far below the minimum, so unit
/// tests in this crate run fast. Files written with them are refused by
/// [`decode_key_file`] (as a downgrade); read them with
/// [`decode_key_file_cheap`].
#[cfg(test)]
pub(crate) const CHEAP_KDF: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

/// Test-only: the creation time written by tests (2026-11-21T11:37:48Z).
#[cfg(test)]
pub(crate) const TEST_CREATED_AT: u64 = 1_795_261_068;

/// Test-only: writes a key file with [`CHEAP_KDF`].
#[cfg(test)]
pub(crate) fn encode_key_file_cheap<K: SecretKey>(key: &K, passphrase: &str) -> Zeroizing<String> {
    encode_file(
        K::KIND,
        key.secret(),
        &key.public_string(),
        Some((passphrase, CHEAP_KDF)),
        TEST_CREATED_AT,
    )
    .expect("cheap parameters are valid")
}

/// Test-only: reads a key file accepting [`CHEAP_KDF`].
#[cfg(test)]
pub(crate) fn decode_key_file_cheap<K: SecretKey>(
    text: &str,
    passphrase: impl FnOnce() -> Result<Zeroizing<String>, KeyError>,
) -> Result<K, KeyError> {
    let secret = decode_file(K::KIND, text, passphrase, CHEAP_KDF)?;
    Ok(K::from_secret(*secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{DeviceSigningKey, OrgSigningKey};

    fn pass(p: &str) -> impl FnOnce() -> Result<Zeroizing<String>, KeyError> + '_ {
        move || Ok(Zeroizing::new(p.to_string()))
    }

    fn no_pass() -> Result<Zeroizing<String>, KeyError> {
        panic!("the passphrase must not be asked for")
    }

    #[test]
    fn plain_round_trip() {
        let id = RecipientIdentity::generate();
        let text = encode_identity_file(&id, None, TEST_CREATED_AT).expect("encode");
        assert_eq!(text.capacity(), 1024, "the buffer was never reallocated");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{}", text.as_str());
        assert!(lines[0].starts_with("# sealcam recipient identity"));
        assert_eq!(lines[1], "# created: 2026-11-21T11:37:48Z");
        assert_eq!(lines[2], format!("# recipient: {}", id.recipient()));
        assert_eq!(lines[3], id.to_secret_string().as_str());
        let back = decode_identity_file(&text, no_pass).expect("decode");
        assert_eq!(back.recipient(), id.recipient());
        // CR LF line ends and extra blank lines and comments are fine.
        let crlf = text.replace('\n', "\r\n\r\n# note\r\n");
        assert_eq!(
            decode_identity_file(&crlf, no_pass)
                .expect("crlf")
                .recipient(),
            id.recipient()
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let org = OrgSigningKey::generate();
        let text = encode_key_file(&org, None, TEST_CREATED_AT).expect("encode");
        assert!(text.contains(&format!("# public key: {}", org.public())));
        let back: OrgSigningKey = decode_key_file(&text, no_pass).expect("org");
        assert_eq!(back.public(), org.public());
        let dev = DeviceSigningKey::generate();
        let text = encode_key_file_cheap(&dev, "pw");
        let back: DeviceSigningKey = decode_key_file_cheap(&text, pass("pw")).expect("device");
        assert_eq!(back.public(), dev.public());
        // A device key file is not a recipient identity, nor an org key.
        assert!(matches!(
            decode_key_file_cheap::<OrgSigningKey>(&text, no_pass),
            Err(KeyError::WrongKind { .. })
        ));
        let plain = encode_key_file(&dev, None, TEST_CREATED_AT).expect("encode");
        let err = decode_identity_file(&plain, no_pass).expect_err("wrong kind");
        assert!(matches!(err, KeyError::WrongKind { .. }), "{err}");
    }

    #[test]
    fn passphrase_round_trip_and_wrong_passphrase() {
        let id = RecipientIdentity::generate();
        let text = encode_key_file_cheap(&id, "correct horse battery staple");
        assert!(text.contains("SEALCAM-ENCRYPTED-KEY-1"));
        assert!(!text.contains("SEALCAM-SECRET-KEY-1"));
        assert!(text.contains(&id.recipient().to_string()));
        let back: RecipientIdentity =
            decode_key_file_cheap(&text, pass("correct horse battery staple")).expect("decrypt");
        assert_eq!(back.recipient(), id.recipient());
        assert_eq!(
            decode_key_file_cheap::<RecipientIdentity>(&text, pass("wrong")).map(|_| ()),
            Err(KeyError::Decrypt)
        );
        assert_eq!(
            KeyError::Decrypt.to_string(),
            "wrong passphrase or damaged key file"
        );
        // The passphrase callback's own error is passed through.
        let unavailable = || Err(KeyError::PassphraseUnavailable("no terminal".into()));
        assert!(matches!(
            decode_key_file_cheap::<RecipientIdentity>(&text, unavailable),
            Err(KeyError::PassphraseUnavailable(_))
        ));
    }

    /// Re-encodes an encrypted key line after changing its payload.
    fn with_payload(text: &str, change: impl FnOnce(&mut Vec<u8>)) -> String {
        let line = key_line(text).expect("line");
        let mut payload = text::decode(line, StrKind::EncryptedKey, ENCRYPTED_LEN)
            .expect("payload")
            .to_vec();
        change(&mut payload);
        text.replace(line, &text::encode(StrKind::EncryptedKey, &payload))
    }

    #[test]
    fn tampering_is_detected() {
        let id = RecipientIdentity::generate();
        let text = encode_key_file_cheap(&id, "pw");
        // Any change in salt, nonce, ciphertext or tag: Decrypt.
        for i in 14..ENCRYPTED_LEN {
            let t = with_payload(&text, |p| p[i] ^= 1);
            assert_eq!(
                decode_key_file_cheap::<RecipientIdentity>(&t, pass("pw")).map(|_| ()),
                Err(KeyError::Decrypt),
                "byte {i}"
            );
        }
        // A changed cost parameter derives another key: Decrypt.
        let t = with_payload(&text, |p| p[5] ^= 1);
        assert_eq!(
            decode_key_file_cheap::<RecipientIdentity>(&t, pass("pw")).map(|_| ()),
            Err(KeyError::Decrypt)
        );
        // The kind byte relabelled (and the caller asking for that kind):
        // the associated data no longer matches.
        let t = with_payload(&text, |p| p[1] = SecretKeyKind::Device.code());
        assert_eq!(
            decode_key_file_cheap::<DeviceSigningKey>(&t, pass("pw")).map(|_| ()),
            Err(KeyError::Decrypt)
        );
        // Unknown version and kind.
        let t = with_payload(&text, |p| p[0] = 2);
        assert!(matches!(
            decode_key_file_cheap::<RecipientIdentity>(&t, no_pass),
            Err(KeyError::Format { .. })
        ));
        let t = with_payload(&text, |p| p[1] = 9);
        assert!(matches!(
            decode_key_file_cheap::<RecipientIdentity>(&t, no_pass),
            Err(KeyError::Format { .. })
        ));
        // A character changed in the text: checksum.
        let line = key_line(&text).expect("line").to_string();
        let i = line.len() - 20;
        let c = if &line[i..=i] == "Q" { "P" } else { "Q" };
        let mut bad = line.clone();
        bad.replace_range(i..=i, c);
        let t = text.replace(&line, &bad);
        assert!(matches!(
            decode_key_file_cheap::<RecipientIdentity>(&t, no_pass),
            Err(KeyError::Checksum { .. })
        ));
        // A plain secret line with a changed character.
        let plain = encode_identity_file(&id, None, TEST_CREATED_AT).expect("encode");
        let line = key_line(&plain).expect("line").to_string();
        let mut bad = line.clone();
        let c = if &line[30..=30] == "Q" { "P" } else { "Q" };
        bad.replace_range(30..=30, c);
        assert!(decode_identity_file(&plain.replace(&line, &bad), no_pass).is_err());
    }

    #[test]
    fn downgrade_refused_before_asking_for_the_passphrase() {
        let id = RecipientIdentity::generate();
        let cheap = encode_key_file_cheap(&id, "pw");
        assert_eq!(
            decode_identity_file(&cheap, no_pass).map(|_| ()),
            Err(KeyError::WeakKdf {
                m_cost_kib: 64,
                t_cost: 1
            })
        );
        // Just under the minimum on either axis.
        for (m, t) in [(19 * 1024 - 1, 2), (19 * 1024, 1)] {
            let text = with_payload(&cheap, |p| {
                p[2..6].copy_from_slice(&u32::to_be_bytes(m));
                p[6..10].copy_from_slice(&u32::to_be_bytes(t));
            });
            assert!(matches!(
                decode_identity_file(&text, no_pass),
                Err(KeyError::WeakKdf { .. })
            ));
        }
        // Absurd costs are refused too, before any work.
        let text = with_payload(&cheap, |p| p[2..6].copy_from_slice(&u32::MAX.to_be_bytes()));
        assert!(matches!(
            decode_identity_file(&text, no_pass),
            Err(KeyError::KdfTooExpensive { .. })
        ));
        let text = with_payload(&cheap, |p| p[10..14].copy_from_slice(&0u32.to_be_bytes()));
        assert!(decode_key_file_cheap::<RecipientIdentity>(&text, no_pass).is_err());
        // The writer refuses weak parameters too.
        assert!(matches!(
            encode_key_file_with_params(&id, "pw", CHEAP_KDF, TEST_CREATED_AT),
            Err(KeyError::WeakKdf { .. })
        ));
    }

    #[test]
    fn file_grammar_errors() {
        let id = RecipientIdentity::generate();
        let secret = id.to_secret_string();
        assert!(matches!(
            decode_identity_file("# only a comment\n\n", no_pass),
            Err(KeyError::KeyFile { .. })
        ));
        let two = format!("{}\n{}\n", secret.as_str(), secret.as_str());
        assert!(matches!(
            decode_identity_file(&two, no_pass),
            Err(KeyError::KeyFile { .. })
        ));
        let huge = format!("{}\n{}", "#".repeat(MAX_FILE_LEN), secret.as_str());
        assert!(matches!(
            decode_identity_file(&huge, no_pass),
            Err(KeyError::KeyFile { .. })
        ));
        // A bare secret string is a valid key file.
        assert_eq!(
            decode_identity_file(&secret, no_pass)
                .expect("bare")
                .recipient(),
            id.recipient()
        );
        // A public recipient is not an identity.
        let err = decode_identity_file(&id.recipient().to_string(), no_pass).expect_err("public");
        assert!(matches!(err, KeyError::WrongKind { .. }), "{err}");
        let err = decode_identity_file("AGE-SECRET-KEY-1QQQQ", no_pass).expect_err("age");
        assert!(matches!(err, KeyError::WrongKind { .. }), "{err}");
    }

    #[test]
    fn default_parameters_round_trip() {
        // Runs Argon2id with 64 MiB twice (about 4 s in a debug build).
        let id = RecipientIdentity::generate();
        let text = encode_identity_file(&id, Some("pw"), TEST_CREATED_AT).expect("encode");
        assert!(text.contains("m = 65536 KiB, t = 3, p = 1"));
        assert_eq!(text.capacity(), 1024, "the buffer was never reallocated");
        let back = decode_identity_file(&text, pass("pw")).expect("decrypt");
        assert_eq!(back.recipient(), id.recipient());
    }

    #[test]
    fn minimum_parameters_round_trip() {
        // The cheapest file a reader accepts, through the public API.
        let id = RecipientIdentity::generate();
        let text = encode_key_file_with_params(&id, "pw", KdfParams::MINIMUM, TEST_CREATED_AT)
            .expect("encode");
        let back = decode_identity_file(&text, pass("pw")).expect("decrypt");
        assert_eq!(back.recipient(), id.recipient());
        assert_eq!(
            decode_identity_file(&text, pass("pW")).map(|_| ()),
            Err(KeyError::Decrypt)
        );
    }
}
