//! Identifiers the store makes itself ([`LinkId`], [`EnrolmentId`]) and the
//! secrets it hands out once ([`OneTimeCode`], [`LinkToken`]).
//!
//! Key ids (`DeviceId`, `StaffId`, `RecipientId`, `OrgId`) and
//! `EnvelopeId` come from `sealcam_core`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// 16 random bytes from the operating system.
///
/// # Panics
/// If the operating system's generator fails: no id or secret can be made
/// safely without it.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS generator failing leaves nothing safe to do.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    b
}

/// Why an identifier or secret string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 32 lower-case hex digits.
    #[error("an id is 32 lower-case hexadecimal digits")]
    BadId,
}

fn parse_hex16(s: &str) -> Result<[u8; 16], IdError> {
    if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(IdError::BadId);
    }
    let v = hex::decode(s).map_err(|_| IdError::BadId)?;
    v.try_into().map_err(|_| IdError::BadId)
}

macro_rules! store_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                $name(random_bytes())
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_hex16(s).map($name)
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

store_id!(
    /// A patient link's public id (not its token).
    LinkId
);
store_id!(
    /// An enrolment code's public id (not the code).
    EnrolmentId
);

/// Crockford base32 alphabet.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time code (bootstrap or enrolment): 20 random bytes written as 32
/// Crockford base32 characters in 8 groups of 4 (`XXXX-XXXX-…`). Only its
/// SHA-256 is stored. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(Zeroizing<String>);

impl OneTimeCode {
    /// A fresh random code.
    pub fn generate() -> Self {
        let bytes = Zeroizing::new(random_bytes::<20>());
        let mut chars = Zeroizing::new(String::with_capacity(39));
        let mut acc: u64 = 0;
        let mut bits = 0;
        let mut n = 0;
        for &b in bytes.iter() {
            acc = (acc << 8) | u64::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                let idx = ((acc >> bits) & 31) as usize;
                if n > 0 && n % 4 == 0 {
                    chars.push('-');
                }
                chars.push(char::from(CROCKFORD[idx]));
                n += 1;
            }
        }
        OneTimeCode(chars)
    }

    /// Reads a code as typed: case-insensitive, dashes and spaces ignored,
    /// Crockford's aliases (`O`→`0`, `I`/`L`→`1`) accepted. Returns the
    /// canonical form, or `None` if it cannot be a code.
    pub fn parse(s: &str) -> Option<Self> {
        let mut canon = Zeroizing::new(String::with_capacity(39));
        let mut n = 0;
        for c in s.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c if CROCKFORD.contains(&(c as u8)) && c.is_ascii() => c,
                _ => return None,
            };
            if n > 0 && n % 4 == 0 {
                canon.push('-');
            }
            canon.push(c);
            n += 1;
        }
        (n == 32).then_some(OneTimeCode(canon))
    }

    /// The canonical text (upper case, dashes): what is shown once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the canonical text: what the catalog stores, and what the
    /// device's enrolment proof signs.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeCode(<redacted>)")
    }
}

/// A patient link token: 32 random bytes, base64url without padding (43
/// characters). Only its SHA-256 is stored. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(Zeroizing<String>);

impl LinkToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        let bytes = Zeroizing::new(random_bytes::<32>());
        LinkToken(Zeroizing::new(URL_SAFE_NO_PAD.encode(*bytes)))
    }

    /// Accepts a presented token if it has the right shape.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| LinkToken(Zeroizing::new(s.to_string())))
    }

    /// The token text, shown once to its creator.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token text: what the catalog stores.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

/// Unix time now, in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shape_and_parse() {
        let c = OneTimeCode::generate();
        assert_eq!(c.expose().len(), 39);
        assert_eq!(c.expose().matches('-').count(), 7);
        let typed = c.expose().to_lowercase().replace('-', " ");
        assert_eq!(OneTimeCode::parse(&typed), Some(c.clone()));
        assert_eq!(OneTimeCode::parse(&typed).map(|p| p.hash()), Some(c.hash()));
        assert!(OneTimeCode::parse("ABCD").is_none());
        assert!(
            OneTimeCode::parse(&c.expose().replace('-', "").replacen('0', "U", 1)).is_none()
                || !c.expose().contains('0')
        );
        assert!(!format!("{c:?}").contains(&c.expose()[..4]));
    }

    #[test]
    fn token_shape() {
        let t = LinkToken::generate();
        assert_eq!(t.expose().len(), 43);
        assert!(LinkToken::parse(t.expose()).is_some());
        assert!(LinkToken::parse("short").is_none());
        assert_eq!(format!("{t:?}"), "LinkToken(<redacted>)");
    }

    #[test]
    fn link_id_round_trip() {
        let id = LinkId::random();
        assert_eq!(id.to_string().parse::<LinkId>(), Ok(id));
        assert!("ABCDEF0123456789ABCDEF0123456789"
            .parse::<LinkId>()
            .is_err());
    }
}
