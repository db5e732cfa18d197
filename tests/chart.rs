//! `chart::render` on hand-made result files (tests/fixtures/chart-*): every chart kind is drawn,
//! decodes as a PNG of the promised size and has real content; every kind of bad input gives its
//! own error.

use std::path::{Path, PathBuf};

use hexpylot::chart::{ChartError, HEIGHT, WIDTH, render};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A chart, not a blank canvas: enough ink, in several colours.
fn assert_drawn(path: &Path) {
    let image = image::open(path)
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()))
        .to_rgb8();
    assert_eq!(image.dimensions(), (WIDTH, HEIGHT), "{}", path.display());
    let background = *image.get_pixel(0, 0);
    let ink = image.pixels().filter(|p| **p != background).count();
    let share = ink as f64 / f64::from(WIDTH * HEIGHT);
    assert!(
        share > 0.03 && share < 0.6,
        "{}: {:.1}% of the pixels are drawn",
        path.display(),
        share * 100.0
    );
    let mut colours: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 20,
        "{}: only {} colours",
        path.display(),
        colours.len()
    );
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_chart_kind_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist yet is created.
    let out = dir.path().join("charts");
    let files = [
        "chart-threads-epyc.json",
        "chart-threads-xeon.json",
        "chart-sizes.json",
        "chart-roofline.json",
        "chart-peers.jsonl",
        "chart-gpu-peer.jsonl",
    ]
    .map(fixture);
    let written = render(&files, &out).unwrap();
    assert_eq!(
        names(&written),
        [
            "memory-wall.png",
            "sizes.png",
            "roofline.png",
            "montecarlo.png"
        ]
    );
    for path in &written {
        assert_eq!(path.parent(), Some(out.as_path()));
        assert_drawn(path);
    }
    // Only the charts are left behind: no temporary files.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), written.len());
}

#[test]
fn only_the_charts_the_data_supports_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let written = render(&[fixture("chart-sizes.json")], dir.path()).unwrap();
    assert_eq!(names(&written), ["sizes.png"]);
    assert_drawn(&written[0]);
    let written = render(&[fixture("chart-threads-xeon.json")], dir.path()).unwrap();
    assert_eq!(names(&written), ["memory-wall.png", "montecarlo.png"]);
}

#[test]
fn rendering_again_replaces_the_charts() {
    let dir = tempfile::tempdir().unwrap();
    let files = [fixture("chart-roofline.json")];
    let first = render(&files, dir.path()).unwrap();
    let bytes = std::fs::read(&first[0]).unwrap();
    let second = render(&files, dir.path()).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        std::fs::read(&second[0]).unwrap(),
        bytes,
        "drawing is deterministic"
    );
}

#[test]
fn no_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = render(&[], dir.path()).unwrap_err();
    assert!(matches!(err, ChartError::NoFiles), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = fixture("chart-no-such-file.json");
    let err = render(&[fixture("chart-sizes.json"), missing.clone()], dir.path()).unwrap_err();
    assert!(
        matches!(&err, ChartError::Read { path, .. } if *path == missing),
        "{err}"
    );
    assert!(err.to_string().contains("chart-no-such-file.json"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn malformed_json_names_the_file_and_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let err = render(&[fixture("chart-malformed.json")], dir.path()).unwrap_err();
    assert!(matches!(err, ChartError::Malformed { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("chart-malformed.json"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn malformed_json_lines_give_the_file_line() {
    let dir = tempfile::tempdir().unwrap();
    let peers = dir.path().join("peers.jsonl");
    std::fs::write(
        &peers,
        "{\"peer\": \"openmp-c\", \"threads\": 1, \"triad_gbs_median\": 15.0}\n{\"peer\": oops}\n",
    )
    .unwrap();
    let err = render(&[peers], dir.path()).unwrap_err();
    assert!(matches!(err, ChartError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("at line 2 column"), "{err}");
}

#[test]
fn a_file_with_nothing_to_chart_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let devices = fixture("chart-devices.json");
    let err = render(&[fixture("chart-sizes.json"), devices.clone()], dir.path()).unwrap_err();
    assert!(
        matches!(&err, ChartError::NothingToChart { path } if *path == devices),
        "{err}"
    );
    // Peers chart only next to a thread sweep.
    let peers = fixture("chart-peers.jsonl");
    let err = render(std::slice::from_ref(&peers), dir.path()).unwrap_err();
    assert!(
        matches!(&err, ChartError::NothingToChart { path } if *path == peers),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The peers' own lines as `benches/peers/run-cpu-peers.sh` prints them: a skipped peer and one
/// whose result failed its check (`"valid": false`) are not charted; valid ones are.
#[test]
fn skipped_and_invalid_peer_lines_are_not_charted() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-peers.jsonl");
    std::fs::write(
        &bad,
        concat!(
            "{\"peer\": \"openmp-c\", \"skipped\": \"no C compiler (gcc) on PATH\"}\n",
            "{\"peer\": \"rust-rand\", \"threads\": 1, \"n\": 65536, \"triad_gbs_median\": 9.0, ",
            "\"mc_paths_per_s\": 4e7, \"mc_price\": 11.5, \"mc_se\": 0.05, \"mc_z\": 21.0, \"valid\": false}\n",
        ),
    )
    .unwrap();
    let sweep = fixture("chart-threads-epyc.json");
    let err = render(&[sweep.clone(), bad.clone()], dir.path()).unwrap_err();
    assert!(
        matches!(&err, ChartError::NothingToChart { path } if *path == bad),
        "{err}"
    );
    let good = dir.path().join("good-peers.jsonl");
    std::fs::write(
        &good,
        concat!(
            "{\"peer\": \"rust-rand\", \"threads\": 1, \"n\": 65536, \"triad_gbs_median\": 9.0, ",
            "\"triad_gbs_best\": 9.5, \"mc_paths\": 65536, \"mc_paths_per_s\": 4e7, \"mc_price\": 10.42, ",
            "\"mc_se\": 0.057, \"mc_reference\": 10.45, \"mc_z\": -0.52, \"valid\": true}\n",
        ),
    )
    .unwrap();
    let out = dir.path().join("charts");
    render(&[sweep, good], &out).unwrap();
    assert_drawn(&out.join("memory-wall.png"));
}

#[test]
fn an_unwritable_out_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Below a regular file: no directory can be made there, whoever runs the test (even root).
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"").unwrap();
    let out = blocker.join("charts");
    let err = render(&[fixture("chart-sizes.json")], &out).unwrap_err();
    assert!(
        matches!(&err, ChartError::Write { dir, .. } if *dir == out),
        "{err}"
    );
}
