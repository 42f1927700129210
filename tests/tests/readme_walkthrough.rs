//! The README's five-minute walkthrough, executed as written: the block
//! between `<!-- walkthrough:start -->` and `<!-- walkthrough:end -->` runs
//! in bash against a real store, with the CLI on `PATH` and `URL`, `PIN`,
//! `CODE` and `CORPUS` set as the README tells the reader to set them. If
//! the README drifts from the CLI, this fails.

use sealcam_test_support::cli;

use std::path::Path;
use std::process::Command;

use cli::{run, sealcam, text};
use sealcam_test_support::store::StoreProcess;
use sealcam_test_support::{binaries, corpus_dir};

fn walkthrough_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("read README.md");
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("README has the walkthrough start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("README has the walkthrough end marker");
    let block = &readme[start..end];
    let body_start = block.find("```sh\n").expect("a sh code block") + "```sh\n".len();
    let body_end = block.rfind("```").expect("the code block ends");
    block[body_start..body_end].to_owned()
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let Some(corpus) = corpus_dir() else { return };
    let script = walkthrough_block();
    assert!(
        script.contains("sealcam send"),
        "the walkthrough block is not the expected one"
    );
    // The CLI on PATH as `sealcam`: the binary the other tests use.
    let o = run(sealcam().arg("--version"), None);
    assert!(o.status.success());
    let bin_dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(binaries::sealcam(), bin_dir.path().join("sealcam"))
        .expect("link sealcam onto PATH");
    let store = StoreProcess::start();
    let work = tempfile::tempdir().expect("tempdir");
    let path = format!(
        "{}:{}",
        bin_dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env("PATH", path)
        .env("URL", &store.url)
        .env("PIN", &store.tls_pin)
        .env(
            "CODE",
            store.bootstrap_code.as_deref().expect("bootstrap code"),
        )
        .env("CORPUS", &corpus)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "the README walkthrough failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\"resourceType\": \"Media\""),
        "no FHIR resource printed:\n{stdout}"
    );
    // Step 6 prints exiftool's GPS tags: there must be none. (When exiftool
    // is not installed bash fails on it, which fails this test: CI installs it.)
    assert!(
        !stdout.contains("GPS"),
        "GPS tags in the delivered image:\n{stdout}"
    );
}
