//! `benches/device-run.sh` at tiny sizes (HEXPYLOT_DEVICE_QUICK=1): every step runs, on whatever
//! adapter wgpu finds (lavapipe in CI), and what comes back fits a device machine's 8 files.

use std::path::Path;
use std::process::Command;

#[test]
fn device_run_quick_packs_every_step_into_eight_files() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = tempfile::tempdir().unwrap();
    let run = Command::new("bash")
        .arg(Path::new(root).join("benches/device-run.sh"))
        .arg(out.path())
        .env("HEXPYLOT_DEVICE_QUICK", "1")
        .env("HEXPYLOT_BIN", env!("CARGO_BIN_EXE_hexpylot"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "device-run.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let mut files: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(files.len() <= 8, "{files:?}");
    for f in [
        "hexpylot-device.tar.gz",
        "compare.json",
        "compare-2p28.json",
        "summary.txt",
        "memory-wall.png",
        "sizes.png",
        "roofline.png",
        "montecarlo.png",
    ] {
        assert!(files.iter().any(|x| x == f), "{f} missing from {files:?}");
    }

    // Every step is in the summary, with exit 0.
    let summary = std::fs::read_to_string(out.path().join("summary.txt")).unwrap();
    for step in [
        "devices",
        "compare ",
        "compare-untuned",
        "compare-2p28",
        "sweep-threads",
        "sweep-sizes",
        "sweep-roofline",
        "sweep-transfer",
        "cpu-peers",
        "gpu-peer",
        "chart",
    ] {
        let line = summary
            .lines()
            .find(|l| l.starts_with(step))
            .unwrap_or_else(|| panic!("{step} missing from the summary:\n{summary}"));
        assert!(line.contains("exit   0"), "{line}");
    }

    // The compare document is a validated run; the charts decode.
    let compare: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("compare.json")).unwrap()).unwrap();
    let stream = compare["stream"].as_array().unwrap();
    assert!(!stream.is_empty());
    assert!(stream.iter().all(|r| r["valid"] == true));
    // Where a GPU ran: both Monte Carlo paths, each GPU row with the tuner's launch.
    if compare.get("gpu").is_some() {
        let gpu_mc: Vec<&serde_json::Value> = compare["mc"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["backend"] == "gpu")
            .collect();
        for path in ["mirror", "native"] {
            assert!(gpu_mc.iter().any(|r| r["gpu_path"] == path), "{compare}");
        }
        let gpu_rows = stream.iter().filter(|r| r["backend"] == "gpu");
        for r in gpu_rows.chain(gpu_mc.iter().copied()) {
            assert_eq!(r["valid"], true, "{r}");
            assert_eq!(r["launch"]["tuned"], true, "{r}");
        }
    }
    for png in [
        "memory-wall.png",
        "sizes.png",
        "roofline.png",
        "montecarlo.png",
    ] {
        let img = image::open(out.path().join(png)).unwrap();
        assert!(img.width() >= 640 && img.height() >= 400, "{png}");
    }

    // The tarball holds the raw files of every step.
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(out.path().join("hexpylot-device.tar.gz"))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for f in [
        "devices.json",
        "sweep-threads.json",
        "sweep-sizes.csv",
        "sweep-roofline.json",
        "sweep-transfer.json",
        "compare-untuned.json",
        "charts/transfer.png",
        "gpu-peer.jsonl",
        "charts/roofline.png",
    ] {
        assert!(
            list.lines().any(|l| l.ends_with(f)),
            "{f} not in the tarball:\n{list}"
        );
    }
    assert!(list.lines().any(|l| l.contains("peers-t")), "{list}");
}
