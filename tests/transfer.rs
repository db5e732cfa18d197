//! `sweep transfer` through the real binary: every size and way measured and validated, the
//! launch latencies, the document read back through the results model and charted, bad input
//! refused, and a missing GPU reported like every other command reports it.
//!
//! Without an adapter the measuring test prints a note and passes, unless
//! `HEXPYLOT_REQUIRE_GPU=1`, where the binary itself exits 1 for the missing GPU.

use hexpylot::model::Document;

mod common;
use common::{hexpylot, refused};

fn required() -> bool {
    hexpylot::gpu::required().unwrap()
}

/// 4 KiB to 1 MiB: nine sizes, three ways each, then the two launches; all valid, with a rate
/// (or a time per dispatch) above zero, in the JSON and the CSV, and charted as transfer.png.
#[test]
fn every_size_and_way_is_measured_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let (json, csv) = (dir.path().join("t.json"), dir.path().join("t.csv"));
    let out = hexpylot()
        .args([
            "sweep",
            "transfer",
            "--min-size",
            "4Ki",
            "--max-size",
            "1Mi",
            "--reps",
            "3",
            "--dispatches",
            "50",
            "--json",
            json.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json).unwrap();
    let doc = Document::from_json(&text, &json).expect("reads back");
    if doc.gpu.is_none() && !required() {
        eprintln!("skipped: no GPU adapter ({stdout})");
        return;
    }
    assert!(stdout.contains("upload (mapped) peaks at"), "{stdout}");
    assert!(stdout.contains("one empty dispatch takes"), "{stdout}");
    let sizes: Vec<u64> = (12..=20).map(|k| 1u64 << k).collect();
    let transfers: Vec<_> = doc
        .transfer
        .iter()
        .filter(|r| !r.kind.is_launch())
        .collect();
    assert_eq!(transfers.len(), sizes.len() * 3);
    for bytes in &sizes {
        for kind in hexpylot::model::TransferKind::TRANSFERS {
            let row = transfers
                .iter()
                .find(|r| r.kind == kind && r.bytes == *bytes)
                .unwrap_or_else(|| panic!("no {} row at {bytes} bytes", kind.name()));
            assert!(row.valid, "{row:?}");
            assert_eq!(row.reps, 2);
            assert!(row.gbs.is_some_and(|g| g > 0.0), "{row:?}");
        }
    }
    let launches: Vec<_> = doc.transfer.iter().filter(|r| r.kind.is_launch()).collect();
    assert_eq!(launches.len(), 2);
    for row in &launches {
        assert!(row.valid && row.gbs.is_none(), "{row:?}");
        assert!(row.us_per_dispatch.is_some_and(|u| u > 0.0), "{row:?}");
        assert_eq!(row.reps, 29);
    }
    assert_eq!(launches[1].dispatches, Some(50));
    assert_eq!(doc.sweep.as_ref().map(|s| s.findings.len()), Some(2));

    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.starts_with("kind,bytes,dispatches,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + doc.transfer.len());

    let charts = dir.path().join("charts");
    let out = hexpylot()
        .args(["chart", json.to_str().unwrap(), "--out"])
        .arg(&charts)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}");
    assert!(charts.join("transfer.png").is_file());
    let series: Vec<&str> = printed.lines().collect();
    assert_eq!(series.len(), 3, "{printed}");
    assert!(
        series
            .iter()
            .all(|l| l.contains("transfer.png\t") && l.ends_with("\t9")),
        "{printed}"
    );
}

#[test]
fn bad_sizes_are_refused() {
    refused(&["sweep", "transfer", "--min-size", "2^40"], "--min-size");
    refused(
        &[
            "sweep",
            "transfer",
            "--min-size",
            "8Ki",
            "--max-size",
            "4Ki",
        ],
        "below --min-size",
    );
    refused(&["sweep", "transfer", "--min-size", "3000"], "power of two");
    refused(&["sweep", "transfer", "--reps", "1"], "--reps");
}

/// No Vulkan driver: "gpu: not run", exit 0; with HEXPYLOT_REQUIRE_GPU=1, exit 1.
#[test]
fn a_missing_gpu_is_reported_not_measured() {
    let run = |require: &str| {
        hexpylot()
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .env("HEXPYLOT_REQUIRE_GPU", require)
            .args(["sweep", "transfer", "--max-size", "8Ki", "--reps", "2"])
            .output()
            .unwrap()
    };
    let out = run("0");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("gpu: not run: no GPU adapter found"),
        "{stdout}"
    );
    let out = run("1");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HEXPYLOT_REQUIRE_GPU is set"));
}
