//! Errors of the keys module. Messages name what is wrong and what to do;
//! they never contain a secret key, a passphrase or a character of either.

/// Why a key, key string, key file, certificate or directory was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The string is not well-formed bech32 (a character outside the
    /// bech32 alphabet, mixed case, no `1` separator, too long).
    #[error(
        "not a valid {expected}: {reason}; copy the whole string again, exactly as it was given"
    )]
    Malformed {
        /// What was expected, e.g. "recipient (sealcam1…)".
        expected: &'static str,
        /// What is wrong, e.g. "mixed upper and lower case".
        reason: &'static str,
    },
    /// The bech32m checksum does not match: a character was mistyped, lost
    /// or added.
    #[error("{expected} has a bad checksum: a character was mistyped, lost or added while copying; copy it again")]
    Checksum {
        /// What was expected.
        expected: &'static str,
    },
    /// The string is well formed but is another kind of key, e.g. a device
    /// key given where a recipient is expected.
    #[error("expected {expected}, but this is {found}")]
    WrongKind {
        /// What was expected.
        expected: &'static str,
        /// What was found (a description, never the value).
        found: &'static str,
    },
    /// The string is of the right kind but carries the wrong number of bytes.
    #[error("{expected} holds {found} bytes of key data, expected {expected_len}: it was probably cut short or joined with other text")]
    Length {
        /// What was expected.
        expected: &'static str,
        /// The payload length the kind requires.
        expected_len: usize,
        /// The payload length found.
        found: usize,
    },
    /// The string decodes, but is not the canonical encoding of its bytes
    /// (non-zero padding bits): only one spelling of each key is accepted.
    #[error("{expected} is not canonically encoded (non-zero padding bits); export it again from the tool that made it")]
    NonCanonical {
        /// What was expected.
        expected: &'static str,
    },
    /// The bytes are not a usable public key (a low-order or non-canonical
    /// X25519 point, or an invalid, non-canonical or small-order Ed25519 point).
    #[error("{what} is not a usable public key: {reason}; ask its owner for their key again")]
    InvalidPublicKey {
        /// Which kind of key.
        what: &'static str,
        /// Why it is unusable.
        reason: &'static str,
    },
    /// An Ed25519 signature does not verify (strict verification).
    #[error("the signature does not verify with this public key: the data was altered or signed by another key")]
    BadSignature,
    /// A key id is not 32 lower-case hexadecimal characters.
    #[error("{what} must be exactly 32 lower-case hexadecimal characters")]
    InvalidId {
        /// Which kind of id.
        what: &'static str,
    },
    /// A binary structure (certificate, directory, encrypted key) is
    /// malformed: truncated, trailing bytes, unknown version, bad length or
    /// field.
    #[error("{what} is malformed at byte {offset}: {reason}")]
    Format {
        /// Which structure.
        what: &'static str,
        /// Byte offset at which the problem was found.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Values given to build a certificate or directory break its rules
    /// (field lengths, entry count, duplicates, validity period).
    #[error("{what} cannot be built: {reason}")]
    Invalid {
        /// Which structure.
        what: &'static str,
        /// Which rule is broken.
        reason: &'static str,
    },
    /// A key file's text does not follow the key file grammar.
    #[error("not a usable sealcam key file: {reason}")]
    KeyFile {
        /// What is wrong.
        reason: &'static str,
    },
    /// A passphrase-protected key names Argon2id parameters below the
    /// minimum (m = 19456 KiB, t = 2): refused to stop a downgrade.
    #[error("the encrypted key uses Argon2id parameters weaker than allowed (m = {m_cost_kib} KiB, t = {t_cost}; minimum m = 19456 KiB, t = 2): the file may have been tampered with; restore it from a backup")]
    WeakKdf {
        /// Memory cost found, KiB.
        m_cost_kib: u32,
        /// Time cost found.
        t_cost: u32,
    },
    /// A passphrase-protected key names Argon2id parameters above the
    /// maximum (m = 4 GiB, t = 16, p = 16): refused to stop a denial of service.
    #[error("the encrypted key asks for Argon2id parameters beyond the allowed maximum (m = {m_cost_kib} KiB, t = {t_cost}, p = {p_cost}; maximum m = 4194304 KiB, t = 16, p = 16): the file is damaged")]
    KdfTooExpensive {
        /// Memory cost found, KiB.
        m_cost_kib: u32,
        /// Time cost found.
        t_cost: u32,
        /// Parallelism found.
        p_cost: u32,
    },
    /// Argon2id could not run (not enough memory for the parameters the
    /// key file names).
    #[error("could not derive the key from the passphrase: Argon2id needs {m_cost_kib} KiB of memory; close other programs and try again")]
    KdfFailed {
        /// Memory cost, KiB.
        m_cost_kib: u32,
    },
    /// The key is passphrase-protected and no passphrase could be obtained
    /// (returned by the caller's passphrase callback).
    #[error("this key file is passphrase-protected but no passphrase could be read: {0}")]
    PassphraseUnavailable(String),
    /// Decryption of a passphrase-protected key failed. Deliberately coarse:
    /// a wrong passphrase and a damaged file look the same.
    #[error("wrong passphrase or damaged key file")]
    Decrypt,
}

/// Why a device certificate or a signed recipient directory was not
/// accepted by `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Signed by an organisation other than the pinned one.
    #[error("signed by a different organisation than the pinned one: enrol with this organisation, or check the pinned organisation key")]
    WrongOrganisation,
    /// The organisation's signature does not verify.
    #[error("the organisation's signature does not verify: the certificate or directory was altered or forged; do not trust it")]
    BadSignature,
    /// The current time is before the certificate's `not_before`.
    #[error(
        "not valid yet: check this computer's clock, or wait until the validity period starts"
    )]
    NotYetValid,
    /// The current time is after `not_after` (certificate) or
    /// `expires_at` (directory).
    #[error("expired: ask the organisation's administrator for a new one (and check this computer's clock)")]
    Expired,
}
