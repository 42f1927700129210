//! Identifiers the store makes itself ([`LinkId`], [`EnrolmentId`]) and the
//! secrets it hands out once ([`OneTimeCode`], [`LinkToken`]), all defined
//! with the wire types in `sealcam_core::protocol::api`; random bytes and
//! the clock.
//!
//! Key ids (`DeviceId`, `StaffId`, `RecipientId`, `OrgId`) and
//! `EnvelopeId` come from `sealcam_core`.

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

/// A patient link's public id, an enrolment code's public id, and the
/// patient link token (redacted `Debug`, stored hashed): the API's types.
pub use sealcam_core::protocol::api::{EnrolmentId, IdError, LinkId, LinkToken};

/// One-time codes (bootstrap, enrolment): 20 random bytes as 32 Crockford
/// base32 characters in 8 groups of 4; only `SHA-256(canonical text)` is
/// stored. Shared with the devices and the admin tool.
pub use sealcam_core::protocol::enrolment::OneTimeCode;

pub use sealcam_platform::clock::unix_now;

#[cfg(test)]
mod tests {
    use super::*;

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
