//! Driving the real `sealcam` binary from tests: [`sealcam`] builds it on
//! first use (a no-op when it is up to date) into the target directory the
//! test runs from, with the same profile; `SEALCAM_BIN` overrides it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// A `Command` for the `sealcam` binary, built on first use.
pub fn sealcam() -> Command {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    Command::new(BIN.get_or_init(build_sealcam))
}

fn build_sealcam() -> PathBuf {
    if let Some(bin) = std::env::var_os("SEALCAM_BIN") {
        return PathBuf::from(bin);
    }
    // .../target/<profile>/deps/<test>-HASH
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target dir");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => "dev",
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/Cargo.toml");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", "sealcam", "--profile", profile])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("cannot run cargo to build the sealcam binary");
    assert!(status.success(), "building the sealcam binary failed");
    let bin = profile_dir.join(format!("sealcam{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "no binary at {}", bin.display());
    bin
}

/// Runs `cmd` to completion with `stdin` (or no standard input at all),
/// capturing stdout and stderr.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start sealcam");
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        // The child may exit early (refusing its input) and close the pipe.
        let _ = pipe.write_all(data);
    }
    child.wait_with_output().expect("sealcam did not finish")
}

/// Lossy UTF-8 text of captured output.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Files in `dir`, by name, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
