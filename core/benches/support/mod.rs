//! Fixtures shared by the envelope benchmarks: fixed keys, a fictional
//! patient's record, the tiny JPEG, where the inputs live, and the loud
//! message printed when one is missing. (Not a bench target: cargo only
//! picks up `benches/*.rs` and `benches/*/main.rs`.)
#![allow(dead_code)] // each bench uses a different subset

use sealcam_core::envelope::Signer;
use sealcam_core::keys::{
    DeviceCertificate, DeviceSigningKey, OrgSigningKey, Recipient, RecipientIdentity,
};
use std::path::{Path, PathBuf};

// The test fixtures (fixed keys, the fictional record, the tiny JPEG),
// shared rather than copied.
#[allow(unused_imports)] // each bench uses a different subset
pub use sealcam_test_support::fixtures::{clinician, device, identity, org, record_for, tiny_jpeg};

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Everything a signed seal and a checked open need.
pub struct Keys {
    pub org: OrgSigningKey,
    pub device: DeviceSigningKey,
    pub certificate: DeviceCertificate,
    pub identities: Vec<RecipientIdentity>,
    pub recipients: Vec<Recipient>,
}

impl Keys {
    /// Keys for a signed seal to `recipients` fixed recipients.
    pub fn new(recipients: usize) -> Self {
        let (org, device) = (org(), device());
        let t = now();
        let certificate = DeviceCertificate::issue(
            &org,
            &device.public(),
            &clinician(),
            t - 180 * 86_400,
            t + 180 * 86_400,
        )
        .expect("issue");
        let identities: Vec<_> = (0..recipients as u32).map(identity).collect();
        let recipients = identities
            .iter()
            .map(RecipientIdentity::recipient)
            .collect();
        Keys {
            org,
            device,
            certificate,
            identities,
            recipients,
        }
    }

    pub fn signer(&self) -> Signer<'_> {
        Signer::Device {
            key: &self.device,
            certificate: &self.certificate,
        }
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

pub fn bench_inputs_dir() -> PathBuf {
    std::env::var_os("SEALCAM_BENCH_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("bench-inputs"))
}

pub fn corpus_dir() -> PathBuf {
    std::env::var_os("SEALCAM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/corpus"))
}

pub fn loud(lines: &[String]) {
    let bar = "!".repeat(78);
    eprintln!("\n{bar}");
    for l in lines {
        eprintln!("!! {l}");
    }
    eprintln!("{bar}\n");
}

/// How to get the generated bench inputs.
pub const GEN_HINT: &str = "run scripts/gen-bench-inputs.sh to generate the 12 MP and 48 MP inputs";
/// Where the shared corpus is expected.
pub const CORPUS_HINT: &str =
    "the shared corpus is expected at ../shared/corpus beside the repository (or set SEALCAM_CORPUS)";

/// A real phone photo from the shared corpus (4 MB, Samsung SEF trailer).
pub fn corpus_phone_photo() -> PathBuf {
    corpus_dir().join("images/mei_Samsung_SM-G935L_Galaxy_S7_Edge.jpg")
}

/// The files named on the command line (`cargo bench` passes flags such as
/// `--bench`; anything else is a file), or else `defaults`; and whether
/// they were named explicitly.
pub fn inputs_or_args(
    defaults: Vec<(PathBuf, &'static str)>,
) -> (Vec<(PathBuf, &'static str)>, bool) {
    let named: Vec<(PathBuf, &'static str)> = std::env::args_os()
        .skip(1)
        .filter(|a| !a.to_string_lossy().starts_with('-'))
        .map(|p| (PathBuf::from(p), ""))
        .collect();
    if named.is_empty() {
        (defaults, false)
    } else {
        (named, true)
    }
}
