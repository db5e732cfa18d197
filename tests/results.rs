//! The results model: documents round-trip through their one schema, the previous version is
//! still read, a newer one is refused; the runner's cross-backend checks hold on `compare` and
//! the thread sweep; the interface is the same across commands.

use std::path::Path;

use hexpylot::model::{Document, SCHEMA_VERSION};

mod common;
use common::{hexpylot, refused};

/// Runs `hexpylot ARGS --json FILE` and reads the document back through the schema.
fn run_doc(args: &[&str]) -> (Document, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let out = hexpylot()
        .args(args)
        .args(["--json", path.to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = Document::from_json(&text, &path).unwrap();
    // Written, read back, written again: the same bytes, so nothing was lost or renamed.
    assert_eq!(
        String::from_utf8(doc.to_json().unwrap()).unwrap(),
        text,
        "round trip"
    );
    (doc, stdout, stderr)
}

#[test]
fn a_document_round_trips_through_the_schema() {
    let (doc, _, _) = run_doc(&[
        "stream",
        "--size",
        "2^12",
        "--reps",
        "3",
        "--label",
        "round trip",
        "--csv",
        "-",
    ]);
    assert_eq!(doc.schema_version, SCHEMA_VERSION);
    assert_eq!(doc.label, "round trip");
    let build = doc.build.as_ref().unwrap();
    assert_eq!(build.target_floor, "x86-64-v3");
    assert!(
        ["avx2", "avx512"].contains(&build.simd.as_str()),
        "{build:?}"
    );
    assert!(doc.created_utc.as_ref().unwrap().ends_with('Z'));
    assert_eq!(doc.stream.len(), 2 * 6);
    assert!(doc.stream.iter().all(|r| r.valid && r.timing.cv.is_some()));
    let again = Document::from_json(
        &String::from_utf8(doc.to_json().unwrap()).unwrap(),
        Path::new("again"),
    )
    .unwrap();
    assert_eq!(again, doc);
}

/// Version 1 documents (no `schema_version`) from real runs of other machines still read.
#[test]
fn the_previous_schema_version_is_read() {
    let doc = Document::read(Path::new("tests/fixtures/chart-threads-epyc.json")).unwrap();
    assert_eq!(doc.schema_version, 1);
    assert!(!doc.stream.is_empty() && !doc.mc.is_empty());
    assert!(doc.stream.iter().all(|r| r.timing.cv.is_none()));
    assert!(doc.label.contains("sweep threads"), "{}", doc.label);
    assert!(
        doc.build.is_some(),
        "the version 1 `version` field becomes build.version"
    );
    let roofline = Document::read(Path::new("tests/fixtures/chart-roofline.json")).unwrap();
    let ceilings = &roofline.sweep.unwrap().ceilings;
    assert!(!ceilings.is_empty() && ceilings.iter().all(|c| c.threads.is_none()));
}

#[test]
fn a_newer_or_mismatched_document_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("tests/fixtures/chart-threads-epyc.json").unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, text.replacen('{', "{\"schema_version\": 99,", 1)).unwrap();
    let e = Document::read(&newer).unwrap_err().to_string();
    assert!(e.contains("schema version 99 is newer"), "{e}");
    // A renamed field is a refused file, not a silently dropped row.
    let renamed = dir.path().join("renamed.json");
    std::fs::write(&renamed, text.replace("\"gbs_median\"", "\"gbs\"")).unwrap();
    let e = Document::read(&renamed).unwrap_err().to_string();
    assert!(
        e.contains("renamed.json") && e.contains("gbs_median"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    refused(
        &[
            "compare",
            "--roofline",
            newer.to_str().unwrap(),
            "--size",
            "2^12",
        ],
        "newer",
    );
}

/// Engine and rayon price the same paths: their sums are bit-identical, and the GPU's price
/// agrees, all checked by the runner for `compare` too.
#[test]
fn compare_holds_cpu_backends_to_identical_sums() {
    let (doc, stdout, _) = run_doc(&[
        "compare",
        "--size",
        "2^12",
        "--paths",
        "2^12",
        "--steps",
        "3",
        "--reps",
        "3",
        "--mc-reps",
        "2",
        "--backends",
        "engine,rayon",
    ]);
    for option in ["european-call", "asian-call"] {
        let rows: Vec<_> = doc
            .mc
            .iter()
            .filter(|r| r.option.name() == option)
            .collect();
        assert_eq!(rows.len(), 2, "{option}");
        assert!(rows[0].sums.is_some());
        assert_eq!(rows[0].sums, rows[1].sums, "{option}");
        assert!(rows.iter().all(|r| r.valid));
    }
    assert!(stdout.contains("european-call 1 step "), "{stdout}");
    assert!(stdout.contains("asian-call 3 steps"), "{stdout}");
    // The table fits 100 columns.
    let widest = stdout
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(widest <= 100, "{widest} columns:\n{stdout}");
}

/// The thread sweep's Monte Carlo rows, every CPU backend at every thread count, hold the same
/// sums.
#[test]
fn the_thread_sweep_holds_every_thread_count_to_the_same_sums() {
    let (doc, _, _) = run_doc(&[
        "sweep",
        "threads",
        "--size",
        "2^12",
        "--paths",
        "2^13",
        "--reps",
        "3",
        "--mc-reps",
        "2",
        "--backends",
        "engine,rayon",
    ]);
    let sums: Vec<_> = doc.mc.iter().map(|r| r.sums).collect();
    assert!(sums.len() >= 2);
    assert!(
        sums.iter().all(|s| s.is_some() && *s == sums[0]),
        "{sums:?}"
    );
}

#[test]
fn invalid_values_list_the_valid_ones() {
    refused(
        &["stream", "--kernels", "triad,saxpy"],
        "[possible values: copy, scale, add, triad, dot, nstream]",
    );
    refused(&["mc", "--option", "bermudan"], "european-call");
    refused(&["compare", "--precision", "f16"], "f32, f64");
    refused(
        &["sweep", "sizes", "--backends", "cuda"],
        "engine, rayon, gpu",
    );
    refused(&["stream", "--label", ""], "one non-empty line");
}

/// `--json`, `--csv`, `--label`, `--precision`, `--backends` are accepted by every measuring
/// command (each refuses the same bad value the same way).
#[test]
fn the_same_flags_everywhere() {
    for command in [
        &["stream"][..],
        &["mc"],
        &["compare"],
        &["sweep", "threads"],
        &["sweep", "sizes"],
        &["sweep", "roofline"],
    ] {
        for (flag, bad) in [
            ("--backends", "cuda"),
            ("--precision", "f16"),
            ("--threads", "0"),
        ] {
            if flag == "--precision" && command == ["mc"] {
                continue;
            }
            let args: Vec<&str> = command.iter().copied().chain([flag, bad]).collect();
            let out = hexpylot().args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(flag), "{args:?}: {stderr}");
        }
        let args: Vec<&str> = command
            .iter()
            .copied()
            .chain(["--json", "/nonexistent-dir/x.json"])
            .collect();
        refused(&args, "does not exist");
        let args: Vec<&str> = command
            .iter()
            .copied()
            .chain(["--csv", "/nonexistent-dir/x.csv"])
            .collect();
        refused(&args, "does not exist");
    }
}

/// BabelStream's `--csv` header as its `src/main.cpp` prints it (`fmt_csv_header`, lines 200-209,
/// with the default unit `Unit::Kind::MegaByte`, whose `str()` is "MB" and which scales bytes by
/// 10^-6 in src/Unit.h), copied from github.com/UoB-HPC/BabelStream at commit
/// 57637d572532fc028b6c0964944f1afc27ff5436 (main, 2026-04-10; the header took this form in
/// b858c4cad21ff61153f3e3b79ecb3a5959ab81fc, first tagged v6.0-rc: v5.0 and v4.0 printed
/// `max_mbytes_per_sec`).
const BABELSTREAM_CSV_HEADER: &str =
    "function,num_times,n_elements,sizeof,max_MB_per_sec,min_runtime,max_runtime,avg_runtime";

/// The stream CSV starts with BabelStream's columns, spelt and ordered as BabelStream writes them,
/// in its units: 10^6 bytes per second from the fastest repetition, runtimes in seconds.
#[test]
fn the_stream_csv_leads_with_babelstreams_columns() {
    let doc = Document::read(Path::new("tests/fixtures/diff-a.json")).unwrap();
    let csv = String::from_utf8(hexpylot::report::csv(&doc).unwrap()).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let babelstream: Vec<&str> = BABELSTREAM_CSV_HEADER.split(',').collect();
    let ours: Vec<&str> = header.split(',').collect();
    assert_eq!(ours[..babelstream.len()], babelstream[..], "{header}");
    assert_eq!(ours.last(), Some(&"stores"), "HexPylot's columns follow");
    for (line, row) in lines.zip(&doc.stream) {
        let field = |name: &str| -> f64 {
            let at = ours.iter().position(|c| *c == name).unwrap();
            line.split(',').nth(at).unwrap().parse().unwrap()
        };
        let mb_per_s = row.bytes_per_rep as f64 / row.timing.min_s / 1e6;
        assert!((field("max_MB_per_sec") - mb_per_s).abs() <= 1e-3, "{line}");
        assert!(
            (field("min_runtime") - row.timing.min_s).abs() < 1e-9,
            "{line}"
        );
    }
}
