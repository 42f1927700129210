//! The `sealcam-store` binary: everything is in the library (`src/cli.rs`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    sealcam_store::cli::main()
}
