//! The corpus image checks: EXIF through `kamadak-exif`, pixels through
//! `image`, HEIC items through this crate's HEIF reader, and the tallies.

pub mod exif;
pub mod heif_items;
pub mod pixels;
pub mod tally;
