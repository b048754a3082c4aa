//! Shared helpers of the integration tests: the tiny fixture pack and running the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The four-intent fixture pack (English and Chinese rows, out-of-scope test rows).
pub fn tiny_pack() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny")
}

/// A copy of the tiny pack in a temporary folder, to be changed by a test.
pub fn tiny_pack_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    for entry in std::fs::read_dir(tiny_pack()).expect("fixture folder") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy fixture");
    }
    dir
}

/// Runs the `triage` binary with `args` in `cwd`.
pub fn triage(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the triage binary runs")
}

/// The standard output of a run that must succeed.
pub fn stdout_of_success(output: &Output) -> String {
    assert!(
        output.status.success(),
        "triage failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

/// The standard error of a run that must fail.
pub fn stderr_of_failure(output: &Output) -> String {
    assert!(!output.status.success(), "triage should have failed");
    String::from_utf8(output.stderr.clone()).expect("utf-8 output")
}
