//! The corpus `images/MANIFEST.tsv` and `images/DETAILS.tsv`: what each
//! corpus file is known (by exiftool, not by us) to contain.

use std::collections::BTreeMap;
use std::path::Path;

/// One row of `MANIFEST.tsv`.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// File name inside `images/`.
    pub file: String,
    /// exiftool FileType: JPEG, MPO, PNG, WEBP, HEIC.
    pub format: String,
    /// EXIF Make, empty if absent.
    pub make: String,
    /// EXIF Model, empty if absent.
    pub model: String,
    /// EXIF IFD0 Orientation, `None` if absent (may be 0, out of range).
    pub orientation: Option<u16>,
    pub has_gps: bool,
    pub has_thumbnail: bool,
    pub has_xmp: bool,
    pub has_iptc: bool,
    pub has_mpf: bool,
    pub has_trailer: bool,
    /// Every column of the matching `DETAILS.tsv` row, by column name.
    pub details: BTreeMap<String, String>,
}

impl Entry {
    /// The orientation a sanitized copy must carry: 2..=8 kept, else none.
    pub fn expected_orientation(&self) -> Option<u16> {
        self.orientation.filter(|o| (2..=8).contains(o))
    }

    /// Make and model strings long enough to search for without false hits.
    pub fn identifying_strings(&self) -> Vec<&str> {
        [self.make.trim(), self.model.trim()]
            .into_iter()
            .filter(|s| s.len() >= 4)
            .collect()
    }
}

/// Reads `MANIFEST.tsv` (and `DETAILS.tsv` when present) in `images_dir`,
/// keyed by file name.
pub fn read(images_dir: &Path) -> Result<BTreeMap<String, Entry>, String> {
    let manifest = read_tsv(&images_dir.join("MANIFEST.tsv"))?;
    let details = read_tsv(&images_dir.join("DETAILS.tsv")).unwrap_or_default();
    let mut details_by_file: BTreeMap<String, BTreeMap<String, String>> = details
        .into_iter()
        .filter_map(|row| Some((row.get("file")?.clone(), row)))
        .collect();
    let mut entries = BTreeMap::new();
    for row in manifest {
        let col = |name: &str| row.get(name).cloned().unwrap_or_default();
        let yes = |name: &str| col(name) == "yes";
        let file = col("file");
        let entry = Entry {
            details: details_by_file.remove(&file).unwrap_or_default(),
            format: col("format"),
            make: col("make"),
            model: col("model"),
            orientation: col("orientation").trim().parse().ok(),
            has_gps: yes("has_gps"),
            has_thumbnail: yes("has_thumbnail"),
            has_xmp: yes("has_xmp"),
            has_iptc: yes("has_iptc"),
            has_mpf: yes("has_mpf"),
            has_trailer: yes("has_trailer"),
            file: file.clone(),
        };
        entries.insert(file, entry);
    }
    Ok(entries)
}

/// A tab-separated file with a header line, as one map per row.
fn read_tsv(path: &Path) -> Result<Vec<BTreeMap<String, String>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| format!("{} is empty", path.display()))?
        .split('\t')
        .collect();
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            header
                .iter()
                .zip(line.split('\t'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect())
}
