//! Where the binaries under test are. The end-to-end suites in `tests/`
//! belong to the `sealcam-tests` package, whose own bin targets
//! `e2e-sealcam` and `e2e-sealcam-store` are the `sealcam` and
//! `sealcam-store` entry points (`sealcam_cli::main`,
//! `sealcam_store::cli::main`) under another file name. Cargo builds a
//! package's bin targets before its integration tests and names them in
//! `CARGO_BIN_EXE_<name>`, at compile time and in the environment of the
//! test run: no test ever runs `cargo build`.
//!
//! `SEALCAM_BIN` / `SEALCAM_STORE_BIN` name binaries built elsewhere (the
//! release ones the benchmark scripts use).

use std::path::PathBuf;

/// The `sealcam` command-line tool under test.
pub fn sealcam() -> PathBuf {
    find("SEALCAM_BIN", "CARGO_BIN_EXE_e2e-sealcam", "sealcam")
}

/// The `sealcam-store` server under test.
pub fn store() -> PathBuf {
    find(
        "SEALCAM_STORE_BIN",
        "CARGO_BIN_EXE_e2e-sealcam-store",
        "sealcam-store",
    )
}

fn find(override_var: &str, cargo_var: &str, what: &str) -> PathBuf {
    let bin = std::env::var_os(override_var)
        .or_else(|| std::env::var_os(cargo_var))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "no {what} binary to test: run the suites with `cargo test` from the \
                 sealcam-tests package (cargo then sets {cargo_var}), or set {override_var}"
            )
        });
    assert!(
        bin.is_file(),
        "the {what} binary under test is missing at {} ({override_var} / {cargo_var})",
        bin.display()
    );
    bin
}
