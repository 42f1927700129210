//! `sealcam strip`, driven through the real binary.
//!
//! The binary belongs to another package, so Cargo does not hand this crate
//! its path: [`sealcam`] builds it (a no-op when it is up to date) into the
//! target directory this test runs from, with the same profile. Set
//! `SEALCAM_BIN` to test a binary built elsewhere.
//!
//! The failure cases are a table (CLI tests as data): arguments, expected
//! exit, a stderr substring, and the promise that OUT is never created.

use sealcam_core::sanitize;
use sealcam_test_support::manifest::{self, Entry};
use sealcam_test_support::{corpus_dir, scanner};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use cli::{listing, run, sealcam, text};
use sealcam_test_support::cli;

/// A corpus file and its manifest row, or `None` (skip) without the corpus.
fn corpus_image(name: &str) -> Option<(PathBuf, Entry)> {
    let images = corpus_dir()?.join("images");
    let entries = manifest::read(&images).unwrap_or_else(|e| panic!("{e}"));
    let entry = entries
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not in MANIFEST.tsv"));
    Some((images.join(name), entry))
}

fn malformed(name: &str) -> Option<PathBuf> {
    Some(corpus_dir()?.join("malformed").join(name))
}

/// The output must be a clean image that the sanitizer's own verifier and
/// the independent scanner both accept.
fn assert_clean(what: &str, image: &[u8]) {
    if let Err(e) = sanitize::verify(image) {
        panic!("{what}: verify rejects the output: {e}");
    }
    let findings = scanner::scan(image);
    assert!(findings.is_empty(), "{what}: scanner found {findings:?}");
}

#[test]
fn strips_a_jpeg_to_a_private_file() {
    let Some((input, entry)) = corpus_image("et_Apple.jpg") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("clean.jpg");
    let o = run(sealcam().arg("strip").arg(&input).arg("-o").arg(&out), None);
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        text(&o.stderr)
    );
    assert!(
        o.stdout.is_empty(),
        "stdout without --report: {}",
        text(&o.stdout)
    );
    let bytes = std::fs::read(&out).expect("OUT written");
    assert_clean("et_Apple.jpg", &bytes);
    for s in entry.identifying_strings() {
        assert!(
            sealcam_test_support::find_bytes(&bytes, s.as_bytes()).is_none(),
            "{s:?} left in OUT"
        );
    }
    let mode = std::fs::metadata(&out)
        .expect("stat OUT")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "OUT mode {:o}", mode & 0o777);
    assert_eq!(
        listing(dir.path()),
        ["clean.jpg"],
        "stray files next to OUT"
    );
}

#[test]
fn report_is_json_with_categories_and_no_values() {
    let Some((input, entry)) = corpus_image("et_Apple.jpg") else {
        return;
    };
    assert!(
        entry.has_gps,
        "et_Apple.jpg should carry GPS per the manifest"
    );
    let input_len = std::fs::metadata(&input).expect("stat").len();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("clean.jpg");
    let o = run(
        sealcam()
            .args(["strip", "--report"])
            .arg(&input)
            .arg("-o")
            .arg(&out),
        None,
    );
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        text(&o.stderr)
    );
    let report_text = text(&o.stdout);
    let report: serde_json::Value = serde_json::from_str(&report_text)
        .unwrap_or_else(|e| panic!("--report is not JSON ({e}): {report_text}"));
    let out_len = std::fs::metadata(&out).expect("stat OUT").len();
    assert_eq!(report["format"], "jpeg", "{report}");
    assert_eq!(report["input_bytes"], input_len, "{report}");
    assert_eq!(report["output_bytes"], out_len, "{report}");
    let categories: Vec<&str> = report["removed"]
        .as_array()
        .unwrap_or_else(|| panic!("no removed array: {report}"))
        .iter()
        .filter_map(|r| r["category"].as_str())
        .collect();
    assert!(
        categories.contains(&"exif"),
        "GPS file, no exif removal: {report}"
    );
    for s in entry.identifying_strings() {
        assert!(
            !report_text.contains(s),
            "report leaks the metadata value {s:?}"
        );
    }
}

#[test]
fn stdin_to_stdout_with_report_on_stderr() {
    let Some((input, _)) = corpus_image("mei_Issue_473_Java.webp") else {
        return;
    };
    let data = std::fs::read(&input).expect("read input");
    let o = run(
        sealcam().args(["strip", "-", "-o", "-", "--report"]),
        Some(&data),
    );
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        text(&o.stderr)
    );
    assert_clean("stdout", &o.stdout);
    let report: serde_json::Value = serde_json::from_slice(&o.stderr)
        .unwrap_or_else(|e| panic!("stderr is not the JSON report ({e}): {}", text(&o.stderr)));
    assert_eq!(report["format"], "webp");
    assert_eq!(report["output_bytes"], o.stdout.len() as u64);
    // The library and the CLI agree byte for byte.
    let lib = sanitize::sanitize(&data).expect("library sanitizes it");
    assert_eq!(lib.bytes, o.stdout, "CLI output differs from the library's");
}

/// What to run and what must happen: a failing `sealcam strip` prints a
/// clear message, exits non-zero and never creates OUT.
struct FailCase {
    name: &'static str,
    /// Arguments after `strip`; `{IN}` and `{OUT}` are replaced.
    args: &'static [&'static str],
    input: Input,
    /// Expected exit code.
    exit: i32,
    /// Substrings stderr must contain (case-insensitive).
    stderr: &'static [&'static str],
}

enum Input {
    Corpus(&'static str),
    Malformed(&'static str),
    Text(&'static str),
    Missing,
}

const FAIL_CASES: &[FailCase] = &[
    FailCase {
        name: "truncated JPEG from the malformed corpus",
        args: &["{IN}", "-o", "{OUT}"],
        input: Input::Malformed("vips_truncated.jpg"),
        exit: 1,
        stderr: &["error", "truncated JPEG"],
    },
    FailCase {
        name: "JPEG with no frame header",
        args: &["{IN}", "-o", "{OUT}", "--report"],
        input: Input::Malformed("jd_missing-sos.jpg"),
        exit: 1,
        stderr: &["error", "JPEG"],
    },
    FailCase {
        name: "empty file",
        args: &["{IN}", "-o", "{OUT}"],
        input: Input::Malformed("jd_empty.jpg"),
        exit: 1,
        stderr: &["empty"],
    },
    FailCase {
        name: "input does not exist",
        args: &["{IN}", "-o", "{OUT}"],
        input: Input::Missing,
        exit: 1,
        stderr: &["cannot open", "does-not-exist.jpg"],
    },
    FailCase {
        name: "input over --max-size",
        args: &["{IN}", "-o", "{OUT}", "--max-size", "1000"],
        input: Input::Corpus("et_Apple.jpg"),
        exit: 1,
        stderr: &["limit of 1000 bytes"],
    },
    FailCase {
        name: "a text file",
        args: &["{IN}", "-o", "{OUT}"],
        input: Input::Text("patient notes, not a picture\n"),
        exit: 1,
        stderr: &["unsupported image format"],
    },
    FailCase {
        name: "no -o",
        args: &["{IN}"],
        input: Input::Corpus("et_Apple.jpg"),
        exit: 2,
        stderr: &["--output"],
    },
];

#[test]
fn failures_are_clear_and_leave_no_output() {
    let Some(corpus) = corpus_dir() else { return };
    let mut problems = Vec::new();
    for case in FAIL_CASES {
        let in_dir = tempfile::tempdir().expect("tempdir");
        let out_dir = tempfile::tempdir().expect("tempdir");
        let input = match case.input {
            Input::Corpus(name) => corpus.join("images").join(name),
            Input::Malformed(name) => corpus.join("malformed").join(name),
            Input::Text(body) => {
                let p = in_dir.path().join("notes.jpg");
                std::fs::write(&p, body).expect("write text input");
                p
            }
            Input::Missing => in_dir.path().join("does-not-exist.jpg"),
        };
        let out = out_dir.path().join("out.jpg");
        let args: Vec<std::ffi::OsString> = case
            .args
            .iter()
            .map(|a| match *a {
                "{IN}" => input.clone().into_os_string(),
                "{OUT}" => out.clone().into_os_string(),
                other => other.into(),
            })
            .collect();
        let o = run(sealcam().arg("strip").args(&args), None);
        let stderr = text(&o.stderr);
        let mut fail = |what: String| problems.push(format!("{}: {what}", case.name));
        if o.status.code() != Some(case.exit) {
            fail(format!(
                "exit {:?}, expected {}",
                o.status.code(),
                case.exit
            ));
        }
        for s in case.stderr {
            if !stderr.to_lowercase().contains(&s.to_lowercase()) {
                fail(format!("stderr lacks {s:?}: {stderr}"));
            }
        }
        if !o.stdout.is_empty() {
            fail(format!("printed to stdout: {}", text(&o.stdout)));
        }
        let left = listing(out_dir.path());
        if !left.is_empty() {
            fail(format!("left files behind: {left:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn malformed_input_on_stdin_writes_nothing_to_stdout() {
    let Some(path) = malformed("vips_truncated.jpg") else {
        return;
    };
    let data = std::fs::read(path).expect("read");
    let o = run(sealcam().args(["strip", "-", "-o", "-"]), Some(&data));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "{} bytes on stdout", o.stdout.len());
    assert!(
        text(&o.stderr).contains("truncated JPEG"),
        "{}",
        text(&o.stderr)
    );
}

/// `-o` naming a device (as `/dev/null` or `/dev/stdout` would) writes into
/// it; an atomic rename would replace the device node with a regular file.
/// A private null device made with mknod in a temp dir stands in for the
/// real one, so a regression cannot clobber a system device. Skips (loudly)
/// where mknod is not permitted.
#[test]
fn output_to_a_device_writes_through_and_keeps_the_node() {
    use std::os::unix::fs::FileTypeExt;
    let Some((input, _)) = corpus_image("et_Apple.jpg") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let null = dir.path().join("null");
    let made = Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("\n!!! SKIPPING device-output test: mknod not permitted here !!!\n");
        return;
    }
    let o = run(
        sealcam().arg("strip").arg(&input).arg("-o").arg(&null),
        None,
    );
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        text(&o.stderr)
    );
    let kind = std::fs::symlink_metadata(&null)
        .expect("stat device")
        .file_type();
    assert!(
        kind.is_char_device(),
        "the device node was replaced: {kind:?}"
    );
    assert_eq!(
        listing(dir.path()),
        ["null"],
        "stray files next to the device"
    );
}

/// `-o` naming a symlink replaces the file it points to; the link stays.
#[test]
fn output_through_a_symlink_replaces_the_target_file() {
    let Some((input, _)) = corpus_image("et_Apple.jpg") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let real = dir.path().join("real.jpg");
    std::fs::write(&real, b"old contents").expect("write target");
    let link = dir.path().join("link.jpg");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let o = run(
        sealcam().arg("strip").arg(&input).arg("-o").arg(&link),
        None,
    );
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        text(&o.stderr)
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("stat link")
            .file_type()
            .is_symlink(),
        "the symlink was replaced by a file"
    );
    assert_clean(
        "through a symlink",
        &std::fs::read(&real).expect("read target"),
    );
}

/// `-o` naming a directory is refused with a clear message; nothing is written.
#[test]
fn output_to_a_directory_is_refused() {
    let Some((input, _)) = corpus_image("et_Apple.jpg") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run(
        sealcam().arg("strip").arg(&input).arg("-o").arg(dir.path()),
        None,
    );
    assert!(!o.status.success(), "writing to a directory succeeded");
    assert!(
        text(&o.stderr).contains("is a directory"),
        "stderr: {}",
        text(&o.stderr)
    );
    assert!(
        listing(dir.path()).is_empty(),
        "files left: {:?}",
        listing(dir.path())
    );
}
