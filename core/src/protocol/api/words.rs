//! The API's fixed words: states, sources and link creators, each one
//! enum, written in lower case on the wire.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::keys::{DeviceId, StaffId};

macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(
                $(#[$vdoc])*
                #[serde(rename = $word)]
                $variant,
            )+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word, as on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = WordError;
            fn from_str(s: &str) -> Result<Self, WordError> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(WordError::Unknown(stringify!($name))),
                }
            }
        }
    };
}

/// Why a word was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WordError {
    /// Not one of the words of the set named (`DeviceState`, …).
    #[error("not a {0} word")]
    Unknown(&'static str),
}

words!(
    /// A device's state on the store.
    DeviceState {
        /// Enrolled, waiting for the administrator's certificate.
        Pending = "pending",
        /// Certified: may upload and create links.
        Active = "active",
        /// Revoked by the administrator: its requests fail.
        Revoked = "revoked",
    }
);

words!(
    /// An enrolment code's state (expired is worked out when listed).
    EnrolmentState {
        /// Usable until it expires.
        Open = "open",
        /// A device enrolled with it.
        Used = "used",
        /// Past its expiry, unused.
        Expired = "expired",
        /// Revoked by the administrator.
        Revoked = "revoked",
    }
);

words!(
    /// A patient link's state, worked out when asked.
    LinkState {
        /// Usable.
        Active = "active",
        /// Past its expiry.
        Expired = "expired",
        /// Revoked by its creator or the administrator.
        Revoked = "revoked",
        /// Every upload it allows has been made.
        Used = "used",
    }
);

words!(
    /// A staff member's state.
    StaffState {
        /// Registered: may list the inbox and fetch envelopes.
        Active = "active",
        /// Removed by the administrator: its requests fail.
        Removed = "removed",
    }
);

words!(
    /// How an envelope reached the store.
    InboxSource {
        /// Uploaded by an enrolled device.
        Device = "device",
        /// Uploaded through a patient link.
        Link = "link",
    }
);

/// Who created a patient link: `device:<DeviceId>` or `staff:<StaffId>`
/// on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkCreator {
    /// An active device.
    Device(DeviceId),
    /// A staff member.
    Staff(StaffId),
}

impl std::fmt::Display for LinkCreator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkCreator::Device(d) => write!(f, "device:{d}"),
            LinkCreator::Staff(s) => write!(f, "staff:{s}"),
        }
    }
}

impl std::str::FromStr for LinkCreator {
    type Err = WordError;
    fn from_str(s: &str) -> Result<Self, WordError> {
        let bad = WordError::Unknown("LinkCreator");
        match s.split_once(':') {
            Some(("device", id)) => id.parse().map(LinkCreator::Device).map_err(|_| bad),
            Some(("staff", id)) => id.parse().map(LinkCreator::Staff).map_err(|_| bad),
            _ => Err(bad),
        }
    }
}

impl Serialize for LinkCreator {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LinkCreator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
