//! The sanitizer's report: which categories of metadata were removed and how
//! many bytes each took. Never the values (they may be patient data).

use super::ImageFormat;

/// A category of removed content.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// EXIF blocks (camera make/model/serials, capture time, GPS, MakerNotes,
    /// IFD1 thumbnails). A minimal Orientation-only EXIF may be written back.
    Exif,
    /// XMP packets, including extended XMP and XMP containers (gain-map and
    /// motion-photo directories).
    Xmp,
    /// IPTC / Photoshop image resources (JPEG APP13, PNG raw IPTC profiles).
    Iptc,
    /// JPEG COM comments.
    Comment,
    /// JPEG APP2 MPF (multi-picture) index.
    Mpf,
    /// Embedded thumbnails outside EXIF (JFIF/JFXX thumbnails, HEIF `thmb` items).
    Thumbnail,
    /// Other JPEG APPn segments (vendor data such as Samsung, Motorola, Ducky, FlashPix).
    ApplicationSegment,
    /// PNG text chunks (tEXt, zTXt, iTXt).
    Text,
    /// PNG last-modification time (tIME).
    Timestamp,
    /// Unknown ancillary chunks or boxes, and padding boxes.
    Unknown,
    /// Secondary images: MPF images, depth maps, gain maps, HEIF auxiliary or
    /// alternative items not needed to show the primary image.
    SecondaryImage,
    /// Motion-photo video (HEIF `mpvd` box).
    MotionPhoto,
    /// Everything after the end of the primary image: motion-photo MP4s,
    /// vendor trailers (Samsung SEF, AFCP, FotoStation), MPF images, padding.
    Trailer,
}

impl Category {
    /// The category's stable snake_case name, as used in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Category::Exif => "exif",
            Category::Xmp => "xmp",
            Category::Iptc => "iptc",
            Category::Comment => "comment",
            Category::Mpf => "mpf",
            Category::Thumbnail => "thumbnail",
            Category::ApplicationSegment => "application_segment",
            Category::Text => "text",
            Category::Timestamp => "timestamp",
            Category::Unknown => "unknown",
            Category::SecondaryImage => "secondary_image",
            Category::MotionPhoto => "motion_photo",
            Category::Trailer => "trailer",
        }
    }
}

/// One line of the report: a category, how many items of it, how many bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Removal {
    /// What was removed.
    pub category: Category,
    /// How many segments, chunks, boxes or items.
    pub count: u32,
    /// How many bytes of the input they took (container overhead included).
    pub bytes: u64,
}

/// What [`super::sanitize`] did to one image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Detected input format (the output has the same format).
    pub format: ImageFormat,
    /// Input size in bytes.
    pub input_bytes: u64,
    /// Output size in bytes.
    pub output_bytes: u64,
    /// EXIF orientation written back (2..=8), or `None` when the image needs
    /// no rotation or its orientation is carried otherwise (HEIF `irot`/`imir`).
    pub orientation: Option<u16>,
    /// Removed content by category, in category order.
    pub removed: Vec<Removal>,
}

impl Report {
    pub(crate) fn new(format: ImageFormat, input_bytes: u64) -> Self {
        Report {
            format,
            input_bytes,
            output_bytes: 0,
            orientation: None,
            removed: Vec::new(),
        }
    }

    /// Records that one item of `category`, `bytes` long, was removed.
    pub(crate) fn remove(&mut self, category: Category, bytes: usize) {
        match self.removed.binary_search_by_key(&category, |r| r.category) {
            Ok(i) => {
                self.removed[i].count += 1;
                self.removed[i].bytes += bytes as u64;
            }
            Err(i) => self.removed.insert(
                i,
                Removal {
                    category,
                    count: 1,
                    bytes: bytes as u64,
                },
            ),
        }
    }

    /// Total bytes removed over all categories.
    pub fn removed_bytes(&self) -> u64 {
        self.removed.iter().map(|r| r.bytes).sum()
    }

    /// The removal line for `category`, if anything of it was removed.
    pub fn removed(&self, category: Category) -> Option<&Removal> {
        self.removed.iter().find(|r| r.category == category)
    }
}
