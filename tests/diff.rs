//! `hexpylot diff` through the binary, on tests/fixtures/diff-a.json (a real 2-thread stream run
//! at 2^16) and diff-b.json, its copy edited by hand: triad on the engine halved (cv 2%), add on
//! the engine 1.5 times as fast (cv 2%), scale on the engine 2% faster with a 5% cv, nstream on
//! the engine 3% slower with a 0.5% cv (beyond the noise, under the threshold), copy on rayon
//! failing validation, dot on rayon removed; every other row unchanged. diff-v1.json is a
//! version-1 stream run from results/.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::{hexpylot, refused};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn diff(args: &[&str]) -> Run {
    let out = hexpylot().arg("diff").args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The table's rows: what → (B/A, mark).
fn table(stdout: &str) -> HashMap<String, (String, String)> {
    stdout
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|--") && !l.starts_with("| row "))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 8, "{l}");
            (
                cells[0].to_string(),
                (cells[4].to_string(), cells[7].to_string()),
            )
        })
        .collect()
}

fn marks_of(run: &Run) -> HashMap<String, String> {
    table(&run.stdout)
        .into_iter()
        .map(|(what, (_, mark))| (what, mark))
        .collect()
}

#[test]
fn rows_are_marked_and_only_a_regression_fails() {
    let (a, b) = (fixture("diff-a.json"), fixture("diff-b.json"));
    let run = diff(&[&a, &b]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let marks = marks_of(&run);
    assert_eq!(marks.len(), 11, "{}", run.stdout);
    for (what, mark) in [
        ("triad engine f32 n=2^16 2t", "slower (regression)"),
        ("add engine f32 n=2^16 2t", "faster"),
        ("scale engine f32 n=2^16 2t", "within noise"),
        ("nstream engine f32 n=2^16 2t", "slower"),
        ("copy rayon f32 n=2^16 2t", "INVALID in B"),
        ("copy engine f32 n=2^16 2t", "within noise"),
    ] {
        assert_eq!(marks[what], mark, "{what}: {}", run.stdout);
    }
    let rows = table(&run.stdout);
    assert_eq!(rows["triad engine f32 n=2^16 2t"].0, "0.50");
    assert_eq!(rows["add engine f32 n=2^16 2t"].0, "1.50");
    for needle in [
        "A: \"before\"",
        "B: \"after\"",
        "(0123abc)",
        "1 row only in A: dot rayon f32 n=2^16 2t",
        "11 rows compared: 1 faster, 2 slower, 7 within noise, 1 invalid; 1 regression",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("different machines"), "{}", run.stdout);

    let gated = diff(&[&a, &b, "--fail-on-regression"]);
    assert_eq!(gated.code, Some(1), "{}{}", gated.stdout, gated.stderr);
    let failed: Vec<&str> = gated.stderr.lines().collect();
    assert_eq!(failed.len(), 1, "{}", gated.stderr);
    assert!(
        failed[0].starts_with("FAILED: regression: triad engine f32 n=2^16 2t: ")
            && failed[0].contains("-50.0%"),
        "{}",
        gated.stderr
    );

    // 50% slower is within a 60% threshold: still slower, no longer a regression.
    let lenient = diff(&[&a, &b, "--threshold", "60", "--fail-on-regression"]);
    assert_eq!(
        lenient.code,
        Some(0),
        "{}{}",
        lenient.stdout,
        lenient.stderr
    );
    assert!(lenient.stderr.is_empty(), "{}", lenient.stderr);
    assert_eq!(marks_of(&lenient)["triad engine f32 n=2^16 2t"], "slower");

    // The other way round, the removed row is B's only.
    let reversed = diff(&[&b, &a]);
    assert_eq!(reversed.code, Some(0));
    assert_eq!(
        marks_of(&reversed)["add engine f32 n=2^16 2t"],
        "slower (regression)"
    );
    assert_eq!(
        marks_of(&reversed)["copy rayon f32 n=2^16 2t"],
        "INVALID in A"
    );
    assert!(
        reversed
            .stdout
            .contains("1 row only in B: dot rayon f32 n=2^16 2t"),
        "{}",
        reversed.stdout
    );
}

#[test]
fn a_version_1_document_against_itself_changes_nothing() {
    let v1 = fixture("diff-v1.json");
    let run = diff(&[&v1, &v1, "--fail-on-regression"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let rows = table(&run.stdout);
    assert_eq!(rows.len(), 12, "{}", run.stdout);
    for (what, (ratio, mark)) in &rows {
        assert_eq!(
            (ratio.as_str(), mark.as_str()),
            ("1.00", "within noise"),
            "{what}"
        );
    }
    assert!(!run.stdout.contains("only in"), "{}", run.stdout);
}

#[test]
fn json_holds_the_typed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("diff.json");
    let (a, b) = (fixture("diff-a.json"), fixture("diff-b.json"));
    let run = diff(&[&a, &b, "--json", out.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["threshold_pct"], 5.0);
    assert_eq!(doc["a"]["label"], "before");
    assert_eq!(doc["b"]["git_commit"], "0123abc");
    assert_eq!(doc["only_in_a"][0], "dot rayon f32 n=2^16 2t");
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 11);
    let triad = rows
        .iter()
        .find(|r| r["what"] == "triad engine f32 n=2^16 2t")
        .unwrap();
    assert_eq!(
        (
            &triad["kind"],
            &triad["unit"],
            &triad["mark"],
            &triad["regressed"]
        ),
        (
            &Value::from("stream"),
            &Value::from("GB/s"),
            &Value::from("slower"),
            &Value::from(true)
        )
    );
    assert!(
        (triad["ratio"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{triad}"
    );
    let regressed = rows.iter().filter(|r| r["regressed"] == true).count();
    assert_eq!(regressed, 1);

    // Written over an input, the diff would destroy the baseline it was made from.
    refused(&["diff", &a, &b, "--json", &b], "an input of this run");
}

/// A copy of diff-a.json, edited by `edit`, in `dir`.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("diff-a.json")).unwrap()).unwrap();
    edit(&mut doc);
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path
}

#[test]
fn different_machines_and_no_matching_row_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let other = edited(dir.path(), "other.json", |doc| {
        doc["machine"]["hostname"] = "elsewhere".into();
        for row in doc["stream"].as_array_mut().unwrap() {
            row["threads"] = 1.into();
        }
    });
    let a = fixture("diff-a.json");
    let run = diff(&[&a, other.to_str().unwrap(), "--fail-on-regression"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    for needle in [
        "warning: different machines: A ran on vm",
        ", B on elsewhere",
        "nothing to compare",
        "12 rows only in A: ",
        "12 rows only in B: copy engine f32 n=2^16 1t",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
    assert!(table(&run.stdout).is_empty(), "{}", run.stdout);
}

#[test]
fn bad_input_is_refused() {
    let (a, b) = (fixture("diff-a.json"), fixture("diff-b.json"));
    refused(&["diff", &a, &b, "--threshold", "-5"], "--threshold");
    refused(&["diff", &a, &b, "--threshold", "NaN"], "finite percentage");
    refused(&["diff", &a, &b, "--threshold", "five"], "percentage");
    refused(&["diff", &a, "/nonexistent/b.json"], "/nonexistent/b.json");
    let malformed = fixture("chart-malformed.json");
    refused(
        &["diff", &malformed, &b],
        "chart-malformed.json: not a HexPylot document",
    );
    let dir = tempfile::tempdir().unwrap();
    let newer = edited(dir.path(), "newer.json", |doc| {
        doc["schema_version"] = 99.into();
    });
    let newer = newer.to_str().unwrap();
    refused(
        &["diff", &a, newer],
        "newer.json: schema version 99 is newer",
    );
}
