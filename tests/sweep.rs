//! The sweeps through the real binary at tiny sizes (CPU only here; tests/gpu.rs adds the GPU).

use std::fs;

mod common;
use common::{hexpylot, run_json};

/// Runs a sweep on `backends` with `--json` and `--csv` and returns the document and the CSV text.
fn sweep(args: &[&str], backends: &str) -> (serde_json::Value, String) {
    let args: Vec<&str> = ["sweep"]
        .iter()
        .chain(args)
        .chain(&["--backends", backends])
        .copied()
        .collect();
    let (doc, csv) = run_json(&args, true);
    (doc, csv.unwrap())
}

#[test]
fn a_thread_sweep_in_cache_claims_no_memory_wall() {
    let (doc, csv) = sweep(
        &[
            "threads", "--size", "2^12", "--paths", "2^12", "--reps", "3",
        ],
        "engine,rayon",
    );
    assert_eq!(doc["sweep"]["kind"], "threads");
    let cores = doc["machine"]["allowed_cpus"].as_array().unwrap().len();
    let counts: usize = std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|&t| t < cores)
        .count()
        + 1;
    assert_eq!(doc["stream"].as_array().unwrap().len(), counts * 2 * 6);
    assert_eq!(doc["mc"].as_array().unwrap().len(), counts * 2);
    // 48 KiB of arrays: wherever they live, the sweep never claims a memory wall for them (the
    // rules themselves are unit-tested in src/findings.rs on synthetic rows).
    let findings = doc["sweep"]["findings"].to_string();
    let verdicts: Vec<&str> = doc["sweep"]["scaling"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    for v in verdicts {
        assert!(["in-cache", "near-cache"].contains(&v), "{v}: {findings}");
    }
    assert!(doc["sweep"]["memory_wall"].is_null(), "{findings}");
    assert!(!findings.contains("1 threads"), "{findings}");
    assert_eq!(csv.lines().count(), 1 + counts * 2 * 6);
}

#[test]
fn size_sweep_covers_every_power_of_two() {
    let (doc, csv) = sweep(
        &[
            "sizes",
            "--min-size",
            "2^10",
            "--max-size",
            "2^12",
            "--reps",
            "4",
        ],
        "engine,rayon",
    );
    assert!(
        doc["stream"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["reps"] == 3)
    );
    assert_eq!(doc["sweep"]["kind"], "sizes");
    let rows = doc["stream"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        3 * 2 * 2,
        "3 sizes x triad, dot x engine, rayon"
    );
    for n in [1024, 2048, 4096] {
        assert!(rows.iter().any(|r| r["n"] == n && r["kernel"] == "dot"));
    }
    assert!(rows.iter().all(|r| r["valid"] == true));
    assert_eq!(csv.lines().count(), 13);
}

#[test]
fn roofline_sweep_fits_ceilings() {
    let (doc, csv) = sweep(
        &[
            "roofline",
            "--size",
            "2^12",
            "--max-fmas",
            "8",
            "--reps",
            "2",
        ],
        "engine",
    );
    let rows = doc["roofline"].as_array().unwrap();
    let fmas: Vec<u64> = rows.iter().map(|r| r["fmas"].as_u64().unwrap()).collect();
    assert_eq!(fmas, [1, 2, 4, 8]);
    assert!(rows.iter().all(|r| r["valid"] == true));
    let ceiling = &doc["sweep"]["ceilings"][0];
    assert_eq!(ceiling["backend"], "engine");
    assert!(ceiling["compute_gflops"].as_f64().unwrap() > 0.0);
    assert!(csv.starts_with("backend,threads,n,precision,fmas"));
}

#[test]
fn bad_sweeps_are_refused() {
    for (args, needle) in [
        (
            &["sweep", "sizes", "--min-size", "2^12", "--max-size", "2^10"][..],
            "no sizes",
        ),
        (&["sweep", "roofline", "--max-fmas", "0"][..], "positive"),
        (
            &["sweep", "roofline", "--max-fmas", "3"][..],
            "power of two",
        ),
        (&["sweep", "roofline", "--precision", "f64"][..], "f32 only"),
        (&["sweep", "threads", "--threads", "100000"][..], "exceeds"),
        (&["sweep", "sideways"][..], "sideways"),
    ] {
        let out = hexpylot().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// `compare --roofline` takes its bandwidth ceilings from a roofline sweep's file; a file without
/// them is bad input.
#[test]
fn compare_reads_roofline_ceilings() {
    let dir = tempfile::tempdir().unwrap();
    let roofline = dir.path().join("roofline.json");
    hexpylot()
        .args([
            "sweep",
            "roofline",
            "--size",
            "2^12",
            "--max-fmas",
            "2",
            "--reps",
            "2",
        ])
        .args(["--backends", "engine", "--json", roofline.to_str().unwrap()])
        .assert()
        .success();
    let out = hexpylot()
        .args([
            "compare", "--size", "2^12", "--paths", "2^12", "--steps", "2",
        ])
        .args(["--reps", "3", "--mc-reps", "2"])
        .args(["--roofline", roofline.to_str().unwrap(), "--verbose"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("of roofline ceiling"), "{stdout}");
    // Ceilings of another thread count are refused: a share of them would mean nothing.
    let cores = std::thread::available_parallelism().unwrap().get();
    if cores > 1 {
        common::refused(
            &[
                "compare",
                "--threads",
                "1",
                "--size",
                "2^12",
                "--roofline",
                roofline.to_str().unwrap(),
            ],
            "this run uses 1 thread",
        );
    }

    let not_roofline = dir.path().join("devices.json");
    hexpylot()
        .args(["devices", "--json", not_roofline.to_str().unwrap()])
        .assert()
        .success();
    let out = hexpylot()
        .args(["compare", "--roofline", not_roofline.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no roofline ceilings"));
}

/// `chart` through the binary: charts from a real sweep's file; no files, or a malformed one, is
/// bad input (one line, exit 2).
#[test]
fn chart_draws_from_a_sweep_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("roofline.json");
    hexpylot()
        .args([
            "sweep",
            "roofline",
            "--size",
            "2^12",
            "--max-fmas",
            "4",
            "--reps",
            "2",
        ])
        .args(["--backends", "engine", "--json", json.to_str().unwrap()])
        .assert()
        .success();
    let out_dir = dir.path().join("charts");
    hexpylot()
        .args([
            "chart",
            json.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert!(out_dir.join("roofline.png").is_file());

    let malformed = dir.path().join("bad.json");
    fs::write(&malformed, "{ not json").unwrap();
    for args in [
        vec!["chart", "--out", out_dir.to_str().unwrap()],
        vec![
            "chart",
            malformed.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    ] {
        let out = hexpylot().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}
