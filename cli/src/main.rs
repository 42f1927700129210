//! The `sealcam` binary: everything is in the library (`src/lib.rs`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    sealcam_cli::main()
}
