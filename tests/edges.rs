//! Numbers at the edges, through the real binary: zero variance, too few paths, path values
//! outside f32, runs too long to finish, sizes past the machine.

use std::fs;
use std::process::Stdio;
use std::time::Duration;

mod common;
use common::{hexpylot, refused, run_json};

/// The tiny Monte Carlo run every case here starts from.
const TINY: [&str; 8] = [
    "--paths",
    "2^12",
    "--reps",
    "2",
    "--threads",
    "1",
    "--backends",
    "engine",
];

/// Runs `mc` (TINY plus `args`) with `--json` and returns its one row; the run must succeed.
fn mc_row(args: &[&str]) -> serde_json::Value {
    let args: Vec<&str> = ["mc"].iter().chain(&TINY).chain(args).copied().collect();
    let (doc, _) = run_json(&args, false);
    let rows = doc["mc"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    rows[0].clone()
}

/// Every payoff zero far out of the money, and every digital paying 1 far in the money.
#[test]
fn every_payoff_alike_is_valid_zero_variance() {
    let paid = (-0.05f64).exp();
    for (option, strike, price) in [
        ("european-call", "1e6", 0.0),
        ("asian-geometric-call", "1e6", 0.0),
        ("asian-call", "1e6", 0.0),
        ("digital-call", "1e6", 0.0),
        ("digital-put", "1e-6", 0.0),
        ("digital-call", "1e-6", paid),
        ("digital-put", "1e6", paid),
    ] {
        let row = mc_row(&["--option", option, "--strike", strike]);
        assert_eq!(row["valid"], true, "{row}");
        assert!(
            (row["price"].as_f64().unwrap() - price).abs() < 1e-15,
            "{row}"
        );
        assert_eq!(row["std_error"], 0.0, "{row}");
        assert_eq!(row["method"], "zero-variance", "{row}");
        assert!(row["check"].as_str().unwrap().contains("zero-variance"));
        assert!(row["z_score"].is_null(), "{row}");
    }
}

#[test]
fn vanishing_volatility_is_valid_zero_variance() {
    for option in [
        "european-call",
        "european-put",
        "asian-geometric-call",
        "asian-geometric-put",
        "asian-call",
        "asian-put",
        "digital-call",
        "digital-put",
    ] {
        for strike in ["90", "100", "110"] {
            let row = mc_row(&["--option", option, "--sigma", "1e-12", "--strike", strike]);
            assert_eq!(row["valid"], true, "{option} K={strike}: {row}");
            assert_eq!(row["method"], "zero-variance", "{option} K={strike}: {row}");
            let check = row["check"].as_str().unwrap();
            assert!(check.contains("rounding"), "{check}");
            if !option.starts_with("asian-c") && !option.starts_with("asian-p") {
                // The closed form is the discounted intrinsic value of the forward (a digital's:
                // e^{−rT} where the forward is in the money).
                let reference = row["reference"].as_f64().unwrap();
                let price = row["price"].as_f64().unwrap();
                assert!((price - reference).abs() < 1e-3, "{row}");
            }
        }
    }
}

#[test]
fn ordinary_runs_keep_the_z_score() {
    for option in ["european-call", "digital-call", "digital-put"] {
        let row = mc_row(&["--option", option]);
        assert_eq!(row["method"], "z-score", "{row}");
        assert!(row["z_score"].is_f64());
        assert_eq!(row["valid"], true);
    }
    let row = mc_row(&["--option", "asian-call"]);
    assert_eq!(row["method"], "z-score", "{row}");
    assert!(row["check"].as_str().unwrap().starts_with("AM-GM"));
}

#[test]
fn fewer_than_two_paths_are_refused() {
    refused(&["mc", "--paths", "1"], "at least 2 paths");
    refused(
        &["compare", "--paths", "1", "--size", "2^12"],
        "at least 2 paths",
    );
    refused(
        &[
            "sweep",
            "threads",
            "--paths",
            "1",
            "--size",
            "2^12",
            "--backends",
            "engine",
        ],
        "at least 2 paths",
    );
    // Two paths are enough for a standard error.
    let out = hexpylot()
        .args(["mc", "--paths", "2", "--reps", "2", "--threads", "1"])
        .args(["--backends", "engine"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(2));
}

#[test]
fn path_values_outside_f32_are_refused_up_front() {
    for (args, needle) in [
        (&["--rate", "100"][..], "exp(y) leaves"),
        (&["--s0", "1e300"][..], "S0 = 1e300"),
        (&["--s0", "1e-40"][..], "S0 = 1e-40"),
        (&["--strike", "1e39"][..], "K = 1e39"),
        (&["--sigma", "1e10"][..], "log-prices"),
        (&["--maturity", "1e300"][..], "f32's normal range"),
        (&["--maturity", "1e6"][..], "log-prices"),
        (&["--rate", "-100"][..], "exp(y) leaves"),
        (&["--s0", "1e30", "--sigma", "3"][..], "overflows f32"),
        (&["--s0", "1e-30", "--sigma", "3"][..], "underflows"),
        (
            &["--rate", "1e-300", "--sigma", "1e-30"][..],
            "drift per step",
        ),
        (&["--sigma", "1e-40"][..], "volatility per step"),
        (
            &["--option", "asian-call", "--s0", "1e36", "--sigma", "0.3"][..],
            "ln N",
        ),
    ] {
        let mut all = vec!["mc"];
        all.extend_from_slice(&TINY);
        all.extend_from_slice(args);
        refused(&all, needle);
        // The same rule for every backend, checked before any of them starts.
        let mut gpu = vec!["mc", "--paths", "2^12", "--backends", "gpu"];
        gpu.extend_from_slice(args);
        refused(&gpu, needle);
    }
    // The edges of the accepted range run and validate.
    for args in [
        &["--rate", "40"][..],
        &["--s0", "1e30"][..],
        &["--sigma", "1.5"][..],
        &["--s0", "1e-30", "--strike", "1e-30"][..],
    ] {
        let row = mc_row(args);
        assert_eq!(row["valid"], true, "{args:?}: {row}");
    }
}

/// Spawns `mc` with `args`, lets it run for a second, checks that it is still running (it
/// started: no exit 2) on little memory, then kills it with SIGKILL.
fn runs_promptly_on_little_memory(args: &[&str]) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hexpylot"))
        .arg("mc")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let status = child.try_wait().unwrap();
    let rss_kib = fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        });
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        status.is_none(),
        "{args:?} ended within a second: {status:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss_kib = rss_kib.expect("VmRSS of a running process");
    assert!(rss_kib < 256 * 1024, "{args:?}: {rss_kib} KiB resident");
}

#[test]
fn huge_runs_start_promptly_without_memory_proportional_to_paths() {
    runs_promptly_on_little_memory(&["--paths", "2^63", "--threads", "1", "--backends", "engine"]);
    runs_promptly_on_little_memory(&["--paths", "2^63", "--threads", "1", "--backends", "rayon"]);
    runs_promptly_on_little_memory(&[
        "--steps",
        "2147483648",
        "--paths",
        "2^12",
        "--threads",
        "1",
        "--backends",
        "engine",
    ]);
}

#[test]
fn sizes_past_the_machine_say_why() {
    refused(
        &[
            "sweep",
            "sizes",
            "--min-size",
            "2^40",
            "--backends",
            "engine",
        ],
        "host memory",
    );
    refused(
        &[
            "sweep",
            "sizes",
            "--min-size",
            "2^40",
            "--backends",
            "engine",
        ],
        "three f32 arrays of 1099511627776 elements",
    );
}
