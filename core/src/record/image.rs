//! [`ImageInfo`]: what the record says about the (sanitized) image it is
//! sealed with: media type, dimensions and SHA-256.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::wire::{self, word_enum};
use super::RecordError;
use crate::sanitize::ImageFormat;

word_enum! {
    /// The IANA media type of the image.
    pub enum MediaType (RecordError::MediaType) {
        /// JPEG.
        Jpeg = "image/jpeg",
        /// PNG.
        Png = "image/png",
        /// WebP.
        Webp = "image/webp",
        /// HEIF family (HEIC, HEIF, AVIF), as the sanitizer reports it.
        Heif = "image/heif",
    }
}

impl From<ImageFormat> for MediaType {
    fn from(format: ImageFormat) -> Self {
        match format {
            ImageFormat::Jpeg => MediaType::Jpeg,
            ImageFormat::Png => MediaType::Png,
            ImageFormat::WebP => MediaType::Webp,
            ImageFormat::Heif => MediaType::Heif,
        }
    }
}

/// The image a record describes: the bytes *after* sanitizing, exactly as
/// sealed.
///
/// Width and height are in pixels as stored (before any EXIF orientation is
/// applied); both are given, each at least 1, or both are `None` when the
/// capturing side does not know them. `sha256` is the SHA-256 of the image
/// bytes: [`ImageInfo::verify`] checks an opened image against it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ImageInfo {
    media_type: MediaType,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(serialize_with = "serialize_sha256")]
    sha256: [u8; 32],
}

impl ImageInfo {
    /// Describes an image whose SHA-256 is already known.
    pub fn new(
        media_type: MediaType,
        sha256: [u8; 32],
        width: Option<u32>,
        height: Option<u32>,
    ) -> Result<Self, RecordError> {
        match (width, height) {
            (Some(w), Some(h)) if w >= 1 && h >= 1 => {}
            (None, None) => {}
            _ => return Err(RecordError::ImageDimensions),
        }
        Ok(ImageInfo {
            media_type,
            width,
            height,
            sha256,
        })
    }

    /// Describes `bytes` (the sanitized image), computing their SHA-256.
    pub fn for_image(
        media_type: MediaType,
        bytes: &[u8],
        width: Option<u32>,
        height: Option<u32>,
    ) -> Result<Self, RecordError> {
        ImageInfo::new(media_type, Sha256::digest(bytes).into(), width, height)
    }

    /// Checks that `bytes` are the image this record describes (their
    /// SHA-256 matches). Fails with [`RecordError::ImageHashMismatch`].
    pub fn verify(&self, bytes: &[u8]) -> Result<(), RecordError> {
        let actual: [u8; 32] = Sha256::digest(bytes).into();
        // Not secret: a plain comparison is fine.
        if actual == self.sha256 {
            Ok(())
        } else {
            Err(RecordError::ImageHashMismatch)
        }
    }

    /// The media type.
    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    /// Width in pixels, if known.
    pub fn width(&self) -> Option<u32> {
        self.width
    }

    /// Height in pixels, if known.
    pub fn height(&self) -> Option<u32> {
        self.height
    }

    /// SHA-256 of the image bytes.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// SHA-256 of the image bytes in lowercase hexadecimal (the JSON form).
    pub fn sha256_hex(&self) -> String {
        wire::hex_lower(&self.sha256)
    }
}

impl fmt::Debug for ImageInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageInfo")
            .field("media_type", &self.media_type)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("sha256", &self.sha256_hex())
            .finish()
    }
}

fn serialize_sha256<S: Serializer>(hash: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&wire::hex_lower(hash))
}

impl<'de> Deserialize<'de> for ImageInfo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_via_raw::<D, RawImageInfo, ImageInfo>(deserializer)
    }
}

/// The JSON shape of [`ImageInfo`], before any field is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawImageInfo {
    media_type: String,
    width: Option<u32>,
    height: Option<u32>,
    sha256: String,
}

impl TryFrom<RawImageInfo> for ImageInfo {
    type Error = RecordError;

    fn try_from(raw: RawImageInfo) -> Result<Self, RecordError> {
        let media_type = MediaType::from_canonical(&raw.media_type)?;
        let sha256 = wire::parse_hex_lower::<32>(&raw.sha256).ok_or(RecordError::ImageSha256)?;
        ImageInfo::new(media_type, sha256, raw.width, raw.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of the empty string (FIPS 180-2 test vector).
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashes_and_verifies() {
        let info = ImageInfo::for_image(MediaType::Jpeg, b"", Some(1), Some(1)).expect("valid");
        assert_eq!(info.sha256_hex(), EMPTY_SHA256);
        assert_eq!(info.verify(b""), Ok(()));
        assert_eq!(info.verify(b"x"), Err(RecordError::ImageHashMismatch));
    }

    #[test]
    fn dimensions_both_or_neither() {
        let h = [0u8; 32];
        assert!(ImageInfo::new(MediaType::Png, h, None, None).is_ok());
        assert!(ImageInfo::new(MediaType::Png, h, Some(4032), Some(3024)).is_ok());
        for (w, ht) in [
            (Some(0), Some(1)),
            (Some(1), Some(0)),
            (Some(1), None),
            (None, Some(1)),
        ] {
            assert_eq!(
                ImageInfo::new(MediaType::Png, h, w, ht),
                Err(RecordError::ImageDimensions),
                "{w:?} {ht:?}"
            );
        }
    }

    #[test]
    fn media_types() {
        assert_eq!(MediaType::from(ImageFormat::WebP), MediaType::Webp);
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::WebP,
            ImageFormat::Heif,
        ] {
            assert_eq!(MediaType::from(format).as_str(), format.media_type());
        }
        assert_eq!("IMAGE/JPEG".parse::<MediaType>(), Ok(MediaType::Jpeg));
        assert_eq!(
            MediaType::from_canonical("image/gif"),
            Err(RecordError::MediaType)
        );
    }

    #[test]
    fn json_round_trip_and_strictness() {
        let info = ImageInfo::for_image(MediaType::Heif, b"", Some(4032), Some(3024)).expect("ok");
        let json = serde_json::to_string(&info).expect("ser");
        assert_eq!(
            json,
            format!(
                r#"{{"media_type":"image/heif","width":4032,"height":3024,"sha256":"{EMPTY_SHA256}"}}"#
            )
        );
        assert_eq!(serde_json::from_str::<ImageInfo>(&json).expect("de"), info);
        let unknown_dims = format!(r#"{{"media_type":"image/png","sha256":"{EMPTY_SHA256}"}}"#);
        let back: ImageInfo = serde_json::from_str(&unknown_dims).expect("de");
        assert_eq!(back.width(), None);
        for bad in [
            format!(
                r#"{{"media_type":"image/png","sha256":"{}"}}"#,
                EMPTY_SHA256.to_uppercase()
            ),
            format!(
                r#"{{"media_type":"image/png","sha256":"{}"}}"#,
                &EMPTY_SHA256[1..]
            ),
            format!(
                r#"{{"media_type":"image/png","width":-1,"height":1,"sha256":"{EMPTY_SHA256}"}}"#
            ),
            format!(
                r#"{{"media_type":"image/png","width":1.5,"height":1,"sha256":"{EMPTY_SHA256}"}}"#
            ),
            format!(
                r#"{{"media_type":"image/png","width":0,"height":0,"sha256":"{EMPTY_SHA256}"}}"#
            ),
            format!(r#"{{"media_type":"image/png","sha256":"{EMPTY_SHA256}","exif":{{}}}}"#),
        ] {
            assert!(serde_json::from_str::<ImageInfo>(&bad).is_err(), "{bad}");
        }
    }
}
