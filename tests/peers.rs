//! benches/peers/run-cpu-peers.sh at tiny sizes: it exits 0 and prints one valid JSON line per
//! peer, each with its figures or `"skipped"`, whatever toolchains the machine has, including
//! none (PATH hiding gcc, python3 and cargo) and prebuilt binaries passed through the environment.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

const PEERS: [&str; 3] = ["openmp-c", "numba", "rust-rand"];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/run-cpu-peers.sh")
}

/// The rand_peer example of this build profile, when cargo built it (`cargo test` builds the
/// examples; `cargo test --test peers` alone does not). Running cargo from inside a test would
/// wait on the lock of the build in progress, so the test never builds it itself.
fn rand_peer_example() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/peers-<hash> → target/<profile>/examples/rand_peer
    let path = exe.parent()?.parent()?.join("examples/rand_peer");
    path.is_file().then_some(path)
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    })
}

/// A PATH holding only what the script itself needs: no compilers, no Python, no cargo.
fn bare_path(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["dirname", "mktemp", "rm", "tr", "grep", "tail", "cut"] {
        let real = which(tool).unwrap_or_else(|| panic!("{tool} not on PATH"));
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    bin
}

/// Runs the script with 1 thread, 2^16 elements and 2^16 paths; `env` adds or (None) removes
/// variables. Returns the parsed lines, checked for the shape every caller relies on.
fn run(path: Option<&Path>, env: &[(&str, Option<&str>)]) -> Vec<Map<String, Value>> {
    let mut cmd = Command::new(which("bash").expect("bash"));
    cmd.arg(script()).args(["1", "65536", "65536"]);
    for var in [
        "OMP_TRIAD_BIN",
        "RAND_PEER_BIN",
        "CC",
        "PYTHON",
        "OMP_TRIAD_CFLAGS",
    ] {
        cmd.env_remove(var);
    }
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("running run-cpu-peers.sh");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let lines: Vec<Map<String, Value>> = stdout
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(o)) => o,
            other => panic!("not a JSON object: {line:?} ({other:?})"),
        })
        .collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|o| o["peer"].as_str().expect("a \"peer\" string"))
        .collect();
    assert_eq!(names, PEERS, "one line per peer, in order:\n{stdout}");
    for o in &lines {
        if let Some(reason) = o.get("skipped") {
            assert!(
                reason.as_str().is_some_and(|r| !r.is_empty()),
                "a skip says why: {o:?}"
            );
            continue;
        }
        // Figures: the thread count asked for, a positive triad rate, and a valid result.
        assert_eq!(o["threads"].as_f64(), Some(1.0), "{o:?}");
        assert_eq!(o["n"].as_f64(), Some(65536.0), "{o:?}");
        assert!(o["triad_gbs_median"].as_f64().unwrap() > 0.0, "{o:?}");
        assert!(o["triad_gbs_best"].as_f64().unwrap() > 0.0, "{o:?}");
        assert_eq!(o["valid"], Value::Bool(true), "{o:?}");
        if o["peer"] != "openmp-c" {
            assert_eq!(o["mc_paths"].as_f64(), Some(65536.0), "{o:?}");
            assert!(o["mc_paths_per_s"].as_f64().unwrap() > 0.0, "{o:?}");
            let (price, se) = (
                o["mc_price"].as_f64().unwrap(),
                o["mc_se"].as_f64().unwrap(),
            );
            // Black–Scholes for the reference option is 10.4506; 2^16 paths give se ≈ 0.057.
            assert!(
                se > 0.0 && ((price - 10.450_583_572_185_565) / se).abs() <= 4.0,
                "{o:?}"
            );
        }
    }
    lines
}

fn skipped(lines: &[Map<String, Value>]) -> BTreeSet<&str> {
    lines
        .iter()
        .filter(|o| o.contains_key("skipped"))
        .map(|o| o["peer"].as_str().unwrap())
        .collect()
}

#[test]
fn every_peer_prints_a_line() {
    // Whatever this machine has; cargo is hidden behind RAND_PEER_BIN (see rand_peer_example).
    let example = rand_peer_example();
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-rand-peer");
    let bin = example.as_deref().unwrap_or(&missing);
    let lines = run(None, &[("RAND_PEER_BIN", Some(bin.to_str().unwrap()))]);
    if which("gcc").is_some() {
        assert!(
            !skipped(&lines).contains("openmp-c"),
            "gcc is present: {lines:?}"
        );
    }
    if example.is_none() {
        let reason = lines[2]["skipped"].as_str().unwrap();
        assert!(reason.contains("RAND_PEER_BIN"), "{reason}");
    } else {
        assert!(!skipped(&lines).contains("rust-rand"), "{lines:?}");
    }
}

#[test]
fn without_toolchains_every_peer_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = bare_path(dir.path());
    let lines = run(Some(&path), &[]);
    assert_eq!(skipped(&lines), BTreeSet::from(PEERS), "{lines:?}");
    let reasons: Vec<&str> = lines
        .iter()
        .map(|o| o["skipped"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("gcc"), "{reasons:?}");
    assert!(reasons[1].contains("python3"), "{reasons:?}");
    assert!(reasons[2].contains("cargo"), "{reasons:?}");
}

/// A machine without compilers runs binaries built elsewhere (benches/device-run.sh carries them).
#[test]
fn prebuilt_binaries_run_without_toolchains() {
    let dir = tempfile::tempdir().unwrap();
    let path = bare_path(dir.path());
    let not_executable = dir.path().join("omp_triad");
    std::fs::write(&not_executable, "not a program").unwrap();
    let mut env = vec![("OMP_TRIAD_BIN", not_executable.to_str())];
    let example = rand_peer_example();
    if let Some(bin) = &example {
        env.push(("RAND_PEER_BIN", bin.to_str()));
    }
    let lines = run(Some(&path), &env);
    let reason = lines[0]["skipped"].as_str().unwrap();
    assert!(
        reason.contains("OMP_TRIAD_BIN") && reason.contains("not an executable"),
        "{reason}"
    );
    if example.is_some() {
        assert!(lines[2].get("skipped").is_none(), "{lines:?}");
    }
    // A C peer built here runs from OMP_TRIAD_BIN with no compiler on PATH.
    if let Some(gcc) = which("gcc") {
        let bin = dir.path().join("omp_triad_built");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/omp_triad.c");
        let built = Command::new(gcc)
            .args(["-O2", "-fopenmp"])
            .arg(&src)
            .arg("-o")
            .arg(&bin)
            .arg("-lm")
            .status()
            .is_ok_and(|s| s.success());
        if built {
            let lines = run(Some(&path), &[("OMP_TRIAD_BIN", bin.to_str())]);
            assert!(lines[0].get("skipped").is_none(), "{lines:?}");
        }
    }
}
