//! The `sealcam` binary under test: the same entry point as `cli/src/main.rs`
//! under another file name, so that cargo builds it for this package's
//! suites (test-support/src/binaries.rs).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    sealcam_cli::main()
}
