//! The real binary: bad input is one line on stderr and exit code 2; good input prints tables and
//! writes JSON and CSV atomically.

use std::fs;

use predicates::prelude::*;

mod common;
use common::{hexpylot, refused, run_json};

#[test]
fn bad_sizes_are_refused() {
    refused(&["stream", "--size", "0"], "positive");
    refused(&["stream", "--size", "-5"], "positive");
    refused(&["stream", "--size", "lots"], "2^25");
    refused(&["stream", "--size", "2^80"], "too large");
    refused(&["stream", "--size", "2^40"], "memory is available");
    refused(
        &["stream", "--size", "2^36", "--precision", "f64"],
        "memory is available",
    );
}

#[test]
fn bad_threads_reps_and_names_are_refused() {
    refused(&["stream", "--threads", "0"], "positive");
    refused(&["stream", "--threads", "100000"], "exceeds");
    refused(&["mc", "--threads", "-1"], "positive");
    refused(&["stream", "--kernels", "copy,saxpy"], "saxpy");
    refused(&["stream", "--backends", "cuda"], "cuda");
    refused(&["stream", "--precision", "f16"], "f16");
    refused(&["stream", "--reps", "1"], "warm-up");
    // The classic kernels shrink a by 0.96 per repetition: f32's a·b goes subnormal.
    refused(&["stream", "--reps", "5000"], "normal range");
    refused(&["mc", "--option", "bermudan-call"], "bermudan-call");
    refused(&["frobnicate"], "frobnicate");
    refused(&["sweep", "ranks"], "MPI job");
    refused(&["stream", "--bogus"], "--bogus");
}

#[test]
fn bad_option_parameters_are_refused() {
    for (flag, value) in [
        ("--s0", "0"),
        ("--s0", "-100"),
        ("--strike", "0"),
        ("--sigma", "-0.2"),
        ("--sigma", "0"),
        ("--maturity", "0"),
        ("--maturity", "inf"),
        ("--s0", "NaN"),
        ("--rate", "nan"),
        ("--strike", "abc"),
    ] {
        refused(&["mc", flag, value], "invalid value");
    }
    refused(&["mc", "--steps", "0"], "positive");
    refused(&["mc", "--steps", "5000000000"], "counter space");
    refused(&["mc", "--paths", "0"], "positive");
    refused(&["mc", "--paths", "2^64"], "2^64");
}

#[test]
fn unwritable_outputs_are_refused_and_existing_files_kept() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &[
            "stream",
            "--size",
            "1024",
            "--json",
            "/nonexistent-dir/out.json",
        ],
        "cannot write",
    );
    refused(
        &[
            "mc",
            "--paths",
            "1024",
            "--json",
            dir.path().to_str().unwrap(),
        ],
        "directory",
    );
    // /proc refuses new files even to root; the existing file there must stay as it was.
    let before = fs::read_to_string("/proc/version").unwrap();
    refused(&["devices", "--json", "/proc/version"], "cannot write");
    assert_eq!(fs::read_to_string("/proc/version").unwrap(), before);
}

#[test]
fn stream_writes_validated_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    let csv = dir.path().join("s.csv");
    fs::write(&json, "old").unwrap();
    hexpylot()
        .args(["stream", "--size", "2^12", "--reps", "5", "--threads", "2"])
        .args([
            "--json",
            json.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("triad").and(predicate::str::contains("FAILED").not()));
    let doc: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "schema_version",
        "label",
        "build",
        "machine",
        "command",
        "stream",
        "mc",
    ] {
        assert!(doc.get(key).is_some(), "missing {key}");
    }
    let rows = doc["stream"].as_array().unwrap();
    assert_eq!(rows.len(), 12, "6 kernels x 2 backends");
    for row in rows {
        for key in [
            "kernel",
            "backend",
            "precision",
            "threads",
            "n",
            "bytes_per_rep",
            "median_s",
            "min_s",
            "max_s",
            "gbs_median",
            "gbs_best",
            "cv",
            "valid",
        ] {
            assert!(row.get(key).is_some(), "row lacks {key}: {row}");
        }
        assert_eq!(row["valid"], true);
        assert_eq!(row["n"], 4096);
        assert!(row["min_s"].as_f64().unwrap() <= row["median_s"].as_f64().unwrap());
    }
    let text = fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with(
        "function,num_times,n_elements,sizeof,max_MB_per_sec,min_runtime,max_runtime,avg_runtime"
    ));
    assert_eq!(text.lines().count(), 13);
    // BabelStream's names, and its num_times: every repetition, the warm-up included.
    let functions: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        &functions[..6],
        ["Copy", "Mul", "Add", "Triad", "Dot", "Nstream"]
    );
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.split(',').nth(1) == Some("5")),
        "{text}"
    );
    // No temporary files left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn mc_prices_within_the_closed_form() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("mc.json");
    hexpylot()
        .args([
            "mc",
            "--paths",
            "2^16",
            "--reps",
            "2",
            "--json",
            json.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("european-call"));
    let doc: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let rows = doc["mc"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        for key in [
            "option",
            "backend",
            "threads",
            "paths",
            "steps",
            "seed",
            "paths_per_s",
            "price",
            "std_error",
            "reference",
            "z_score",
            "valid",
        ] {
            assert!(row.get(key).is_some(), "row lacks {key}: {row}");
        }
        assert_eq!(row["valid"], true);
        assert!((row["reference"].as_f64().unwrap() - 10.4505835721856).abs() < 1e-9);
    }
    // Engine and rayon draw the same paths and sum them in the same order.
    assert_eq!(rows[0]["price"], rows[1]["price"]);
}

/// The same prices, bit for bit, from 1 and 2 threads on both CPU backends: the block order fixes
/// the sums, whatever the payoff.
#[test]
fn mc_prices_are_bit_identical_across_threads() {
    for option in ["european-call", "digital-call", "digital-put"] {
        let mut rows = Vec::new();
        for threads in ["1", "2"] {
            let (doc, _) = run_json(
                &[
                    "mc",
                    "--option",
                    option,
                    "--paths",
                    "100003",
                    "--reps",
                    "2",
                    "--backends",
                    "engine,rayon",
                    "--threads",
                    threads,
                ],
                false,
            );
            rows.extend(doc["mc"].as_array().unwrap().clone());
        }
        assert_eq!(rows.len(), 4);
        for row in &rows {
            assert_eq!(row["option"], option);
            assert_eq!(row["valid"], true, "{row}");
            assert_eq!(row["method"], "z-score", "{row}");
            for key in ["price", "std_error"] {
                assert_eq!(
                    row[key], rows[0][key],
                    "{option} {key}: {row} vs {}",
                    rows[0]
                );
            }
        }
    }
}

#[test]
fn asian_and_devices_run() {
    hexpylot()
        .args([
            "mc",
            "--option",
            "asian-put",
            "--paths",
            "2^14",
            "--steps",
            "12",
            "--reps",
            "2",
            "--backends",
            "engine",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("asian-put"));
    hexpylot()
        .arg("devices")
        .assert()
        .success()
        .stdout(predicate::str::contains("L1"));
}
