//! Driving the real `sealcam` binary from tests ([`crate::binaries`] says
//! which one).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// A `Command` for the `sealcam` binary under test ([`crate::binaries`]).
pub fn sealcam() -> Command {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    Command::new(BIN.get_or_init(crate::binaries::sealcam))
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
