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

/// Every table's rows by name, each cell by its column's header ("row" for the first column,
/// whose header names the kind). A name wrapped onto more lines (its other cells empty) is
/// joined back.
fn cells(stdout: &str) -> HashMap<String, HashMap<String, String>> {
    let lines: Vec<&str> = stdout.lines().collect();
    let mut header: Vec<String> = Vec::new();
    let mut rows: Vec<HashMap<String, String>> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with('|') || line.starts_with("|-") {
            continue;
        }
        let row: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if lines.get(i + 1).is_some_and(|next| next.starts_with("|-")) {
            header = row;
            header[0] = "row".to_string();
        } else if row[1..].iter().all(String::is_empty) {
            let wrapped = rows.last_mut().expect("a continuation follows a row");
            let name = wrapped.get_mut("row").unwrap();
            *name = format!("{name} {}", row[0]);
        } else {
            assert_eq!(row.len(), header.len(), "{line}");
            rows.push(header.iter().cloned().zip(row).collect());
        }
    }
    rows.into_iter()
        .map(|row| (row["row"].clone(), row))
        .collect()
}

fn marks_of(run: &Run) -> HashMap<String, String> {
    cells(&run.stdout)
        .into_iter()
        .map(|(what, mut row)| (what, row.remove("mark").unwrap()))
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
        ("triad engine f32 n=2^16 2t", "regression"),
        ("add engine f32 n=2^16 2t", "faster"),
        ("scale engine f32 n=2^16 2t", "within noise"),
        ("nstream engine f32 n=2^16 2t", "slower"),
        ("copy rayon f32 n=2^16 2t", "INVALID in B"),
        ("copy engine f32 n=2^16 2t", "within noise"),
    ] {
        assert_eq!(marks[what], mark, "{what}: {}", run.stdout);
    }
    let rows = cells(&run.stdout);
    assert_eq!(rows["triad engine f32 n=2^16 2t"]["change"], "-50.0%");
    assert_eq!(rows["add engine f32 n=2^16 2t"]["change"], "+50.0%");
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
        "regression"
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
    let rows = cells(&run.stdout);
    assert_eq!(rows.len(), 12, "{}", run.stdout);
    for (what, row) in &rows {
        assert_eq!(
            (row["change"].as_str(), row["mark"].as_str()),
            ("+0.0%", "within noise"),
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
    assert!(cells(&run.stdout).is_empty(), "{}", run.stdout);
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

fn warnings(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect()
}

/// diff-a.json run again under another program path, other output flags, a two-word label and
/// `--verbose`: the same plan.
fn rerun(doc: &mut Value) {
    doc["label"] = "second try".into();
    doc["command"] = "/usr/local/bin/hexpylot stream --size 2^16 --verbose --reps 5 \
         --backends engine,rayon --threads 2 --label second try --json=b.json --csv b.csv"
        .into();
}

#[test]
fn comparable_runs_warn_of_nothing_and_show_their_store_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture("diff-a.json");
    let again = edited(dir.path(), "again.json", rerun);
    for b in [
        a.clone(),
        fixture("diff-b.json"),
        again.display().to_string(),
    ] {
        let run = diff(&[&a, &b]);
        assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
        assert_eq!(
            warnings(&run.stdout),
            Vec::<&str>::new(),
            "{b}: {}",
            run.stdout
        );
        let rows = cells(&run.stdout);
        for (what, stores) in [
            ("copy engine f32 n=2^16 2t", "streaming"),
            ("scale engine f32 n=2^16 2t", "cached"),
            ("dot engine f32 n=2^16 2t", "-"),
        ] {
            let row = rows
                .get(what)
                .unwrap_or_else(|| panic!("{what}: {}", run.stdout));
            assert_eq!(
                row.get("stores").map(String::as_str),
                Some(stores),
                "{what}: {}",
                run.stdout
            );
        }
    }
}

#[test]
fn incomparable_runs_are_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let b = edited(dir.path(), "b.json", |doc| {
        rerun(doc);
        doc["command"] = doc["command"]
            .as_str()
            .unwrap()
            .replace("--reps 5", "--reps 9 --stores auto")
            .into();
        for row in doc["stream"].as_array_mut().unwrap() {
            row["reps"] = 8.into();
        }
        doc["stream"][0]["stores"] = "cached".into();
        doc["stream"][9]["stores"] = "streaming".into();
        // 1.5 per allowed core (2 of them) against A's 0.2.
        doc["machine"]["load_average"][0] = 3.0.into();
    });
    let (a, b) = (fixture("diff-a.json"), b.display().to_string());
    let run = diff(&[&a, &b, "--json", "-"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    // With the JSON on standard output, the report goes to standard error.
    let header: String = run
        .stderr
        .lines()
        .take_while(|l| !l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "warning: different commands: A ran `stream --size 2^16 --reps 5 --backends engine,rayon --threads 2`, B `stream --size 2^16 --reps 9 --stores auto --backends engine,rayon --threads 2`",
        "warning: different repetitions on 12 rows (e.g. copy engine f32 n=2^16 2t: 4 in A, 8 in B)",
        "warning: different store kinds on 2 rows (e.g. copy engine f32 n=2^16 2t: streaming in A, cached in B)",
        "warning: different load when the runs started: 0.20 per allowed core in A, 1.50 in B",
    ] {
        assert!(header.contains(needle), "{needle}:\n{}", run.stderr);
    }
    assert_eq!(warnings(&run.stderr).len(), 4, "{}", run.stderr);
    let rows = cells(&run.stderr);
    for (what, stores) in [
        ("copy engine f32 n=2^16 2t", "streaming→cached"),
        ("triad rayon f32 n=2^16 2t", "cached→streaming"),
        ("scale engine f32 n=2^16 2t", "cached"),
        ("dot rayon f32 n=2^16 2t", "-"),
    ] {
        assert_eq!(rows[what]["stores"], stores, "{what}: {}", run.stderr);
    }

    // The JSON carries each side's store kind and repetitions, typed; `null` where a row has none.
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    let row = |what: &str| {
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["what"] == what)
            .unwrap()
            .clone()
    };
    let copy = row("copy engine f32 n=2^16 2t");
    assert_eq!(
        (
            &copy["stores_a"],
            &copy["stores_b"],
            &copy["reps_a"],
            &copy["reps_b"]
        ),
        (&"streaming".into(), &"cached".into(), &4.into(), &8.into()),
        "{copy}"
    );
    let dot = row("dot engine f32 n=2^16 2t");
    assert_eq!(
        (&dot["stores_a"], &dot["stores_b"]),
        (&Value::Null, &Value::Null),
        "{dot}"
    );
    assert_eq!(json["a"]["load_per_core"], 0.2);
}

/// The widest row names a run gives (the longest option on many threads, a size no power of two
/// shortens) with every column at its widest still fit 100 columns.
#[test]
fn the_table_fits_100_columns() {
    let dir = tempfile::tempdir().unwrap();
    let epyc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("chart-threads-epyc.json")).unwrap())
            .unwrap();
    let widest = |doc: &mut Value, slower: f64| {
        let stream = &mut doc["stream"][5];
        stream["kernel"] = "nstream".into();
        stream["precision"] = "f64".into();
        stream["n"] = 100_000_000.into();
        stream["threads"] = 128.into();
        let mut mc = epyc["mc"][0].clone();
        mc["option"] = "asian-geometric-call".into();
        mc["paths"] = 10_000_000.into();
        mc["steps"] = 252.into();
        mc["threads"] = 128.into();
        let rate = mc["paths_per_s"].as_f64().unwrap();
        mc["paths_per_s"] = (rate * 1000.0 / slower).into();
        doc["mc"] = vec![mc].into();
    };
    let a = edited(dir.path(), "a.json", |doc| widest(doc, 1.0));
    let b = edited(dir.path(), "b.json", |doc| {
        widest(doc, 3.0);
        doc["stream"][5]["stores"] = "streaming".into();
        doc["stream"][5]["gbs_median"] = 25.0.into();
        doc["stream"][0]["valid"] = false.into();
    });
    let run = diff(&[a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let rows = cells(&run.stdout);
    for (what, mark) in [
        ("nstream engine f64 n=100000000 128t", "faster"),
        (
            "asian-geometric-call engine 10000000 paths 252 steps 128t",
            "regression",
        ),
        ("copy engine f32 n=2^16 2t", "INVALID in B"),
    ] {
        let row = rows
            .get(what)
            .unwrap_or_else(|| panic!("{what}: {}", run.stdout));
        assert_eq!(row["mark"], mark, "{what}: {}", run.stdout);
    }
    assert_eq!(
        rows["nstream engine f64 n=100000000 128t"]["stores"],
        "cached→streaming"
    );
    let table: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('|')).collect();
    let widest = table.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "{widest} columns:\n{}", table.join("\n"));
}
