//! What the tests that run the real binary share: the command, the bad-input check, and a run
//! whose JSON (and CSV) comes back.
// Each test crate includes this module and uses its own part of it.
#![allow(dead_code)]

use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// The release-or-debug `hexpylot` cargo built for these tests. No test may hang: the slowest
/// finishes in seconds. Mesa's drivers complain on stderr without a runtime folder.
pub fn hexpylot() -> Command {
    let mut cmd = Command::cargo_bin("hexpylot").expect("binary built");
    cmd.timeout(Duration::from_secs(120));
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    cmd
}

/// Runs the binary and checks it refused the input before starting anything: exit 2, exactly one
/// line on stderr containing `needle`, no panic, nothing on stdout.
pub fn refused<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S], needle: &str) {
    let out = hexpylot().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "{args:?}: {stderr:?} lacks {needle:?}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: started: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `hexpylot ARGS --json FILE` (and `--csv FILE` when `csv`) in a temporary folder; the run
/// must succeed. Returns the document and the CSV text.
pub fn run_json(args: &[&str], csv: bool) -> (Value, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let (json_path, csv_path) = (dir.path().join("out.json"), dir.path().join("out.csv"));
    let mut cmd = hexpylot();
    cmd.args(args).args(["--json", json_path.to_str().unwrap()]);
    if csv {
        cmd.args(["--csv", csv_path.to_str().unwrap()]);
    }
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    (
        doc,
        csv.then(|| std::fs::read_to_string(&csv_path).unwrap()),
    )
}

/// Makes a FIFO at `path`.
pub fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}
