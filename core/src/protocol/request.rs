//! Signed requests: how devices, staff and the administrator authenticate
//! to the store without passwords or bearer tokens.
//!
//! Every authenticated request carries two headers:
//!
//! ```text
//! Authorization: Sealcam-Signature v=1,role=device,key=<32 hex>,ts=<unix secs>,nonce=<32 hex>,sig=<86 base64url>
//! X-Sealcam-Content-BLAKE3: <64 hex: BLAKE3 of the body, of "" when there is none>
//! ```
//!
//! The signature is Ed25519 (strict verification) by the key named, over
//!
//! ```text
//! "sealcam/v1/request\0" store "\n" role "\n" key "\n" ts "\n" nonce "\n" METHOD "\n" path-and-query "\n" content-blake3-hex
//! ```
//!
//! `store` is the id (32 hex) of the store's receipt key, which every
//! client pins (it is in the enrolment, the admin home, and the answer of
//! `GET /v1/info` over the pinned connection): a request signed for one
//! store is refused by every other, even one trusting the same
//! organisation key.
//!
//! The store accepts a timestamp within [`MAX_CLOCK_SKEW_SECS`] of its
//! clock and each `(role, key, nonce)` once (it remembers nonces for
//! [`NONCE_TTL_SECS`]); that replay cache is the store's job, not this
//! module's.

use super::text::{b64, parse_b64};
use crate::hex::{decode as parse_hex, encode as hex};
use crate::keys::{
    DevicePublicKey, DeviceSigningKey, OrgPublicKey, OrgSigningKey, StaffPublicKey,
    StaffSigningKey, StoreId,
};

/// The `Authorization` scheme of signed requests.
pub const SCHEME: &str = "Sealcam-Signature";
/// The `Authorization` scheme of patient link tokens.
pub const LINK_SCHEME: &str = "Sealcam-Link";
/// The header carrying the BLAKE3 digest of the request body (lower-case hex).
pub const CONTENT_DIGEST_HEADER: &str = "x-sealcam-content-blake3";
/// How far a request's timestamp may be from the store's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;
/// How long the store remembers a nonce: twice the skew window, so a
/// request cannot be replayed while its timestamp is still accepted.
pub const NONCE_TTL_SECS: u64 = 2 * MAX_CLOCK_SKEW_SECS;
/// Domain-separation prefix of the signed message.
pub const REQUEST_CONTEXT: &[u8] = b"sealcam/v1/request\0";

/// Who is calling: decides which table of keys the store looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The administrator, signing with the organisation key.
    Admin,
    /// An enrolled device, signing with its device key.
    Device,
    /// A records staff member, signing with their staff auth key.
    Staff,
}

impl Role {
    /// The role's name in the header.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Device => "device",
            Role::Staff => "staff",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "device" => Some(Role::Device),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request's authentication was refused. Deliberately coarse towards
/// the caller: the store answers 401 for all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestAuthError {
    /// The header is not a well-formed `Sealcam-Signature` header.
    #[error("the Authorization header is malformed: {0}")]
    Malformed(&'static str),
    /// The header names a protocol version this code does not speak.
    #[error("unsupported request signature version; update the client")]
    UnsupportedVersion,
    /// The timestamp is outside the accepted window.
    #[error("the request's timestamp is more than 5 minutes from the store's clock; check the device clock")]
    StaleTimestamp,
    /// The key presented is not the key the header names, or not of its role.
    #[error("the request was signed by a different key than it names")]
    WrongKey,
    /// The signature does not verify.
    #[error("the request signature does not verify")]
    BadSignature,
}

/// A key that can sign requests: the organisation, device and staff keys.
pub trait RequestSigner {
    /// The role this key acts in.
    const ROLE: Role;
    /// The 16-byte id of the public key.
    fn request_key_id(&self) -> [u8; 16];
    /// Ed25519 signature over `message`.
    fn sign_request(&self, message: &[u8]) -> [u8; 64];
}

/// A public key that can check request signatures.
pub trait RequestVerifier {
    /// The role this key acts in.
    const ROLE: Role;
    /// The 16-byte id of the key.
    fn request_key_id(&self) -> [u8; 16];
    /// Strict Ed25519 verification.
    fn verify_request(&self, message: &[u8], signature: &[u8; 64]) -> bool;
}

macro_rules! request_keys {
    ($secret:ty, $public:ty, $role:expr) => {
        impl RequestSigner for $secret {
            const ROLE: Role = $role;
            fn request_key_id(&self) -> [u8; 16] {
                self.public().id().0
            }
            fn sign_request(&self, message: &[u8]) -> [u8; 64] {
                self.sign(message)
            }
        }
        impl RequestVerifier for $public {
            const ROLE: Role = $role;
            fn request_key_id(&self) -> [u8; 16] {
                self.id().0
            }
            fn verify_request(&self, message: &[u8], signature: &[u8; 64]) -> bool {
                self.verify(message, signature).is_ok()
            }
        }
    };
}

request_keys!(OrgSigningKey, OrgPublicKey, Role::Admin);
request_keys!(DeviceSigningKey, DevicePublicKey, Role::Device);
request_keys!(StaffSigningKey, StaffPublicKey, Role::Staff);

/// BLAKE3 of a request body, as the content header carries it.
///
/// BLAKE3, not SHA-256: for an envelope upload this is also the digest
/// the store's receipt names, and the store gets it from the same pass
/// that checks the envelope's own (BLAKE3-based) device signature
/// (docs/FORMAT.md §6), so no byte of an upload is hashed twice. Large
/// bodies are hashed on all cores (the same digest; BLAKE3 is a tree).
pub fn content_digest(body: &[u8]) -> [u8; 32] {
    *crate::envelope::blake3_digest(body).as_bytes()
}

/// The content header's value for a body digest.
pub fn content_digest_header(digest: &[u8; 32]) -> String {
    hex(digest)
}

/// Parses the content header's value (exactly 64 lower-case hex digits).
pub fn parse_content_digest(value: &str) -> Result<[u8; 32], RequestAuthError> {
    parse_hex::<32>(value).ok_or(RequestAuthError::Malformed(
        "the content digest must be 64 lower-case hex digits",
    ))
}

/// A parsed `Sealcam-Signature` header: who claims to sign, when, and the
/// signature. Not yet checked: call [`RequestAuth::verify`] with the key the
/// store holds for `(role, key_id)`.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestAuth {
    /// The role claimed.
    pub role: Role,
    /// The id of the key claimed.
    pub key_id: [u8; 16],
    /// Unix seconds when the request was signed.
    pub timestamp: u64,
    /// 16 random bytes, unique per request.
    pub nonce: [u8; 16],
    signature: [u8; 64],
}

impl std::fmt::Debug for RequestAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestAuth")
            .field("role", &self.role)
            .field("key_id", &hex(&self.key_id))
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// What a request signature covers besides the header's own fields.
#[derive(Debug, Clone, Copy)]
pub struct RequestTarget<'a> {
    /// The store the request is for (the id of its receipt key): a request
    /// signed for one store is refused by every other, even one that
    /// trusts the same organisation key.
    pub store: &'a StoreId,
    /// The HTTP method, upper case (`GET`, `PUT`, …).
    pub method: &'a str,
    /// The path and query exactly as sent (`/v1/inbox?after=3`).
    pub path_and_query: &'a str,
    /// BLAKE3 of the body ([`content_digest`]).
    pub content_digest: &'a [u8; 32],
}

fn message(
    role: Role,
    key_id: &[u8; 16],
    timestamp: u64,
    nonce: &[u8; 16],
    target: &RequestTarget<'_>,
) -> Vec<u8> {
    let mut m = REQUEST_CONTEXT.to_vec();
    let fields = [
        hex(&target.store.0),
        role.as_str().to_owned(),
        hex(key_id),
        timestamp.to_string(),
        hex(nonce),
        target.method.to_owned(),
        target.path_and_query.to_owned(),
    ];
    for field in &fields {
        m.extend_from_slice(field.as_bytes());
        m.push(b'\n');
    }
    m.extend_from_slice(hex(target.content_digest).as_bytes());
    m
}

/// Signs a request: returns the `Authorization` header's value.
pub fn authorization<K: RequestSigner>(
    key: &K,
    target: &RequestTarget<'_>,
    timestamp: u64,
    nonce: [u8; 16],
) -> String {
    let key_id = key.request_key_id();
    let sig = key.sign_request(&message(K::ROLE, &key_id, timestamp, &nonce, target));
    format!(
        "{SCHEME} v=1,role={},key={},ts={timestamp},nonce={},sig={}",
        K::ROLE,
        hex(&key_id),
        hex(&nonce),
        b64(&sig)
    )
}

/// [`authorization`] at `now` (Unix seconds, from the caller's clock) with
/// a fresh random nonce: the header value for a request about to be sent.
///
/// # Panics
/// If the operating system's random generator fails.
pub fn authorize<K: RequestSigner>(key: &K, target: &RequestTarget<'_>, now: u64) -> String {
    let mut nonce = [0u8; 16];
    crate::keys::random_fill(&mut nonce);
    authorization(key, target, now, nonce)
}

impl RequestAuth {
    /// Parses an `Authorization` header value. Fields in this order:
    /// `v`, `role`, `key`, `ts`, `nonce`, `sig`; nothing else.
    pub fn parse(header: &str) -> Result<Self, RequestAuthError> {
        let rest = header
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(RequestAuthError::Malformed(
                "expected the Sealcam-Signature scheme",
            ))?;
        if header.len() > 512 {
            return Err(RequestAuthError::Malformed("the header is too long"));
        }
        let mut fields = rest.split(',');
        let mut next = |name: &'static str| -> Result<&str, RequestAuthError> {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|f| f.strip_prefix('='))
                .ok_or(RequestAuthError::Malformed(
                    "expected the fields v, role, key, ts, nonce, sig in that order",
                ))
        };
        if next("v")? != "1" {
            return Err(RequestAuthError::UnsupportedVersion);
        }
        let role = Role::parse(next("role")?).ok_or(RequestAuthError::Malformed(
            "role must be admin, device or staff",
        ))?;
        let key_id = parse_hex::<16>(next("key")?).ok_or(RequestAuthError::Malformed(
            "key must be 32 lower-case hex digits",
        ))?;
        let ts = next("ts")?;
        if ts.is_empty()
            || ts.len() > 20
            || !ts.bytes().all(|b| b.is_ascii_digit())
            || (ts.len() > 1 && ts.starts_with('0'))
        {
            return Err(RequestAuthError::Malformed("ts must be unix seconds"));
        }
        let timestamp = ts
            .parse::<u64>()
            .map_err(|_| RequestAuthError::Malformed("ts must be unix seconds"))?;
        let nonce = parse_hex::<16>(next("nonce")?).ok_or(RequestAuthError::Malformed(
            "nonce must be 32 lower-case hex digits",
        ))?;
        let signature = parse_b64::<64>(next("sig")?).ok_or(RequestAuthError::Malformed(
            "sig must be 86 base64url characters",
        ))?;
        if fields.next().is_some() {
            return Err(RequestAuthError::Malformed("unexpected fields after sig"));
        }
        Ok(RequestAuth {
            role,
            key_id,
            timestamp,
            nonce,
            signature,
        })
    }

    /// Checks the request: `key` is the key named (role and id), the
    /// timestamp is within the window around `now`, and the signature over
    /// `target` verifies. The caller must still check the nonce is new.
    pub fn verify<K: RequestVerifier>(
        &self,
        key: &K,
        target: &RequestTarget<'_>,
        now: u64,
    ) -> Result<(), RequestAuthError> {
        if K::ROLE != self.role || key.request_key_id() != self.key_id {
            return Err(RequestAuthError::WrongKey);
        }
        if self.timestamp.abs_diff(now) > MAX_CLOCK_SKEW_SECS {
            return Err(RequestAuthError::StaleTimestamp);
        }
        let m = message(self.role, &self.key_id, self.timestamp, &self.nonce, target);
        if key.verify_request(&m, &self.signature) {
            Ok(())
        } else {
            Err(RequestAuthError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_256_130;
    const STORE: StoreId = StoreId([0x5e; 16]);
    const OTHER_STORE: StoreId = StoreId([0x5f; 16]);

    fn target<'a>(body: &'a [u8; 32]) -> RequestTarget<'a> {
        RequestTarget {
            store: &STORE,
            method: "PUT",
            path_and_query: "/v1/envelopes/00112233445566778899aabbccddeeff",
            content_digest: body,
        }
    }

    #[test]
    fn sign_parse_verify() {
        let key = DeviceSigningKey::from_secret_bytes([7; 32]);
        let digest = content_digest(b"envelope bytes");
        let header = authorization(&key, &target(&digest), NOW, [9; 16]);
        assert!(
            header.starts_with("Sealcam-Signature v=1,role=device,key="),
            "{header}"
        );
        let auth = RequestAuth::parse(&header).expect("parses");
        assert_eq!(auth.role, Role::Device);
        assert_eq!(auth.key_id, key.public().id().0);
        assert_eq!(auth.timestamp, NOW);
        auth.verify(&key.public(), &target(&digest), NOW + 299)
            .expect("verifies");
        auth.verify(&key.public(), &target(&digest), NOW - 300)
            .expect("verifies at the edge");
    }

    #[test]
    fn every_part_is_covered() {
        let key = StaffSigningKey::from_secret_bytes([3; 32]);
        let digest = content_digest(b"");
        let auth =
            RequestAuth::parse(&authorization(&key, &target(&digest), NOW, [1; 16])).expect("ok");
        let public = key.public();
        let other_digest = content_digest(b"x");
        let cases: [RequestTarget<'_>; 4] = [
            RequestTarget {
                store: &OTHER_STORE,
                ..target(&digest)
            },
            RequestTarget {
                method: "GET",
                ..target(&digest)
            },
            RequestTarget {
                path_and_query: "/v1/envelopes/00112233445566778899aabbccddeefe",
                ..target(&digest)
            },
            target(&other_digest),
        ];
        for t in cases {
            assert_eq!(
                auth.verify(&public, &t, NOW),
                Err(RequestAuthError::BadSignature)
            );
        }
        let mut later = auth.clone();
        later.timestamp += 1;
        assert_eq!(
            later.verify(&public, &target(&digest), NOW),
            Err(RequestAuthError::BadSignature)
        );
        let mut other_nonce = auth.clone();
        other_nonce.nonce[0] ^= 1;
        assert_eq!(
            other_nonce.verify(&public, &target(&digest), NOW),
            Err(RequestAuthError::BadSignature)
        );
        assert_eq!(
            auth.verify(&public, &target(&digest), NOW + 301),
            Err(RequestAuthError::StaleTimestamp)
        );
        assert_eq!(
            auth.verify(&public, &target(&digest), NOW - 301),
            Err(RequestAuthError::StaleTimestamp)
        );
    }

    #[test]
    fn role_and_key_must_match() {
        let device = DeviceSigningKey::from_secret_bytes([5; 32]);
        let digest = content_digest(b"");
        let auth = RequestAuth::parse(&authorization(&device, &target(&digest), NOW, [1; 16]))
            .expect("ok");
        // The same secret bytes as a staff key: a different role and id.
        let staff = StaffSigningKey::from_secret_bytes([5; 32]).public();
        assert_eq!(
            auth.verify(&staff, &target(&digest), NOW),
            Err(RequestAuthError::WrongKey)
        );
        let other = DeviceSigningKey::from_secret_bytes([6; 32]).public();
        assert_eq!(
            auth.verify(&other, &target(&digest), NOW),
            Err(RequestAuthError::WrongKey)
        );
        // Claiming another role in the header breaks the signature too.
        let header = authorization(&device, &target(&digest), NOW, [1; 16])
            .replace("role=device", "role=staff");
        let forged = RequestAuth::parse(&header).expect("parses");
        assert_eq!(
            forged.verify(&staff, &target(&digest), NOW),
            Err(RequestAuthError::WrongKey)
        );
    }

    #[test]
    fn malformed_headers_refused() {
        let key = OrgSigningKey::from_secret_bytes([1; 32]);
        let digest = content_digest(b"");
        let good = authorization(&key, &target(&digest), NOW, [2; 16]);
        assert!(RequestAuth::parse(&good).is_ok());
        let bad = [
            String::new(),
            good.replacen("Sealcam-Signature", "Bearer", 1),
            good.replacen("v=1", "v=2", 1),
            good.replacen("role=admin", "role=root", 1),
            good.replacen(",ts=", ",ts=0", 1),
            good.replacen(",ts=", ",ts=-", 1),
            format!("{good},extra=1"),
            good.replacen("v=1,", "", 1),
            good[..good.len() - 1].to_owned(),
            good.to_uppercase(),
            good.replacen(' ', "  ", 1),
        ];
        for (i, h) in bad.iter().enumerate() {
            assert!(RequestAuth::parse(h).is_err(), "case {i} parsed");
        }
        assert_eq!(
            RequestAuth::parse(&good.replacen("v=1", "v=2", 1)),
            Err(RequestAuthError::UnsupportedVersion)
        );
        let dbg = format!("{:?}", RequestAuth::parse(&good).expect("ok"));
        assert!(!dbg.contains("sig") && !dbg.contains("nonce"), "{dbg}");
    }

    #[test]
    fn signed_message_layout() {
        // The message of docs/API.md, spelled out byte for byte.
        let digest = [0xaa; 32];
        let t = RequestTarget {
            store: &STORE,
            method: "GET",
            path_and_query: "/v1/inbox",
            content_digest: &digest,
        };
        let m = message(Role::Staff, &[0x11; 16], 42, &[0x22; 16], &t);
        let expected = format!(
            "sealcam/v1/request\0{}\nstaff\n{}\n42\n{}\nGET\n/v1/inbox\n{}",
            "5e".repeat(16),
            "11".repeat(16),
            "22".repeat(16),
            "aa".repeat(32)
        );
        assert_eq!(m, expected.as_bytes());
        assert_eq!(parse_content_digest(&"ab".repeat(32)), Ok([0xab; 32]));
        assert!(parse_content_digest(&"AB".repeat(32)).is_err());
    }
}
