//! `chart` on result files (tests/fixtures/chart-*: version 1 documents trimmed from real runs,
//! two small version 2 thread sweeps written by `sweep threads`, the peers' JSON lines): every
//! chart kind is drawn, decodes as a PNG of the promised size and has real content; each run is
//! series of its own, as the printed series lines say; every kind of bad input gives its own error.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use common::{hexpylot, refused};
use hexpylot::chart::{ChartError, HEIGHT, WIDTH, Written, render};
use hexpylot::model::ReadError;

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

fn names(written: &[Written]) -> Vec<String> {
    written
        .iter()
        .map(|w| w.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Runs `chart FILES --out OUT`, which must succeed, and returns the series lines it printed:
/// (PNG file name, series, points).
fn chart(files: &[PathBuf], out: &Path) -> Vec<(String, String, usize)> {
    let output = hexpylot()
        .arg("chart")
        .args(files)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let [path, series, points] = fields[..] else {
                panic!("not path, series, points: {line:?}");
            };
            let path = Path::new(path);
            assert_eq!(path.parent(), Some(out), "{line}");
            assert_drawn(path);
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                series.to_string(),
                points.parse().unwrap_or_else(|e| panic!("{line:?}: {e}")),
            )
        })
        .collect()
}

/// The series of `png` whose names end with `suffix`, with their point counts.
fn series<'a>(
    lines: &'a [(String, String, usize)],
    png: &str,
    suffix: &str,
) -> Vec<(&'a str, usize)> {
    lines
        .iter()
        .filter(|(file, name, _)| file == png && name.ends_with(suffix))
        .map(|(_, name, points)| (name.as_str(), *points))
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
    for chart in &written {
        assert_eq!(chart.path.parent(), Some(out.as_path()));
        assert_drawn(&chart.path);
        assert!(!chart.series.is_empty(), "{}", chart.path.display());
    }
    // Only the charts are left behind: no temporary files.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), written.len());
}

#[test]
fn only_the_charts_the_data_supports_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let written = render(&[fixture("chart-sizes.json")], dir.path()).unwrap();
    assert_eq!(names(&written), ["sizes.png"]);
    assert_drawn(&written[0].path);
    let written = render(&[fixture("chart-threads-xeon.json")], dir.path()).unwrap();
    assert_eq!(names(&written), ["memory-wall.png", "montecarlo.png"]);
}

#[test]
fn rendering_again_replaces_the_charts() {
    let dir = tempfile::tempdir().unwrap();
    let files = [fixture("chart-roofline.json")];
    let first = render(&files, dir.path()).unwrap();
    let bytes = std::fs::read(&first[0].path).unwrap();
    let second = render(&files, dir.path()).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        std::fs::read(&second[0].path).unwrap(),
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
    assert!(
        matches!(err, ChartError::Document(ReadError::Malformed { .. })),
        "{err}"
    );
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

/// Two thread sweeps of one machine at two sizes are two runs: each backend is drawn once per run
/// (never one line of medians over both), as the printed series lines say.
#[test]
fn chart_series_separation() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        fixture("chart-threads-2p16.json"),
        fixture("chart-threads-2p18.json"),
    ];
    let lines = chart(&files, dir.path());
    for png in ["memory-wall.png", "montecarlo.png"] {
        assert_eq!(
            series(&lines, png, " — engine"),
            [
                ("vm sweep threads 2^16 — engine", 2),
                ("vm sweep threads 2^18 — engine", 2)
            ],
            "{png}: {lines:?}"
        );
        assert_eq!(series(&lines, png, " — rayon").len(), 2, "{png}: {lines:?}");
    }
    // One document twice: the same label, told apart by the file name.
    let copy = dir.path().join("copy.json");
    std::fs::copy(&files[0], &copy).unwrap();
    let out = dir.path().join("twice");
    let lines = chart(&[files[0].clone(), copy], &out);
    assert_eq!(
        series(&lines, "memory-wall.png", " — engine"),
        [
            (
                "vm sweep threads 2^16 (chart-threads-2p16.json) — engine",
                2
            ),
            ("vm sweep threads 2^16 (copy.json) — engine", 2)
        ],
        "{lines:?}"
    );
}

/// Version 1 documents (no `schema_version`, no label: it is made of host, command and size)
/// still chart: the trimmed fixtures, and a sweep recorded before Monte Carlo rows named their
/// check method.
#[test]
fn version_1_documents_still_chart() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        "chart-threads-epyc.json",
        "chart-threads-xeon.json",
        "chart-sizes.json",
        "chart-roofline.json",
    ]
    .map(fixture);
    let lines = chart(&files, dir.path());
    assert_eq!(
        series(&lines, "memory-wall.png", " — engine"),
        [
            ("epyc-1 sweep threads — engine", 5),
            ("xeon-2 sweep threads — engine", 4)
        ],
        "{lines:?}"
    );
    assert_eq!(
        series(&lines, "sizes.png", " — engine, triad"),
        [("vm sweep sizes — engine, triad", 9)]
    );
    assert_eq!(
        series(&lines, "roofline.png", " — gpu, measured"),
        [("vm sweep roofline — gpu, measured", 9)]
    );
    let recorded =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("results/dev-2core-sweeps/sweep-threads.json");
    let lines = chart(&[recorded], &dir.path().join("recorded"));
    assert!(
        lines.iter().any(|(png, _, _)| png == "montecarlo.png"),
        "{lines:?}"
    );
}

/// A document from a newer HexPylot is refused for what it is: exit 2, one line naming the file.
#[test]
fn a_newer_document_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("chart-threads-2p16.json")).unwrap();
    assert!(text.contains("\"schema_version\": 2,"));
    let newer = dir.path().join("newer.json");
    std::fs::write(
        &newer,
        text.replace("\"schema_version\": 2,", "\"schema_version\": 99,"),
    )
    .unwrap();
    let out = dir.path().join("charts");
    let args: [OsString; 4] = [
        "chart".into(),
        newer.into(),
        "--out".into(),
        out.clone().into(),
    ];
    refused(&args, "newer.json: schema version 99 is newer");
    assert!(!out.exists());
}

/// A required field renamed (`gbs_median` to `gbs`) makes the document unreadable, which is said
/// in one line naming the file and the field, never rows silently left out.
#[test]
fn a_renamed_field_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("chart-threads-xeon.json")).unwrap();
    let renamed = dir.path().join("renamed.json");
    std::fs::write(&renamed, text.replace("\"gbs_median\"", "\"gbs\"")).unwrap();
    let out = dir.path().join("charts");
    let args: [OsString; 4] = ["chart".into(), renamed.into(), "--out".into(), out.into()];
    refused(&args, "renamed.json: not a HexPylot document");
    let stderr = hexpylot().args(&args).output().unwrap().stderr;
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(stderr.contains("missing field `gbs_median`"), "{stderr}");
}

/// More runs than a legend can name (300 copies of one thread sweep, told apart by their labels):
/// each chart draws the first series, in file order, that its legend holds, draws nothing of the
/// rest, and says so: a `not drawn` line per series left out, and a legend that ends within the
/// image.
#[test]
fn series_the_legend_cannot_hold_are_left_out_and_named() {
    const RUNS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("chart-threads-2p16.json")).unwrap();
    let label = "\"label\": \"vm sweep threads 2^16\"";
    assert!(text.contains(label));
    let files: Vec<PathBuf> = (0..RUNS)
        .map(|i| {
            let path = dir.path().join(format!("run-{i:03}.json"));
            std::fs::write(
                &path,
                text.replace(label, &format!("\"label\": \"run {i}\"")),
            )
            .unwrap();
            path
        })
        .collect();
    // One run alone: the series each run adds to each chart.
    let one = render(&files[..1], &dir.path().join("one")).unwrap();
    let out = dir.path().join("charts");
    let output = hexpylot()
        .arg("chart")
        .args(&files)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<[&str; 3]> = stdout
        .lines()
        .map(|line| {
            line.split('\t')
                .collect::<Vec<_>>()
                .try_into()
                .unwrap_or_else(|_| panic!("not path, series, points: {line:?}"))
        })
        .collect();
    for png in ["memory-wall.png", "montecarlo.png"] {
        let path = out.join(png);
        assert_drawn(&path);
        let path = path.to_str().unwrap();
        let of_png: Vec<&[&str; 3]> = lines.iter().filter(|l| l[0] == path).collect();
        let (left_out, drawn): (Vec<&[&str; 3]>, Vec<&[&str; 3]>) =
            of_png.into_iter().partition(|l| l[2] == "not drawn");
        let per_run: Vec<&str> = one
            .iter()
            .filter(|w| w.path.ends_with(png))
            .flat_map(|w| &w.series)
            .map(|s| s.name.strip_prefix("run 0").unwrap())
            .collect();
        let total = RUNS * per_run.len();
        assert_eq!(drawn.len() + left_out.len(), total, "{png}");
        assert!(
            drawn.len() < total,
            "{png}: all {total} series drawn, more than a legend holds"
        );
        // The first series in file order are the ones drawn, the rest listed after them.
        let in_order: Vec<String> = (0..RUNS)
            .flat_map(|i| {
                per_run
                    .iter()
                    .map(move |backend| format!("run {i}{backend}"))
            })
            .collect();
        let listed: Vec<&str> = drawn.iter().chain(&left_out).map(|l| l[1]).collect();
        assert_eq!(listed, in_order, "{png}");
        for line in &drawn {
            line[2]
                .parse::<usize>()
                .unwrap_or_else(|e| panic!("{line:?}: {e}"));
        }
    }
    // The legend's own measure: it ends within the image, the last entry and note included.
    let written = render(&files, &dir.path().join("again")).unwrap();
    for chart in &written {
        let png = chart.path.file_name().unwrap().to_str().unwrap();
        assert!(
            chart.legend_bottom <= HEIGHT,
            "{png}: the legend ends at row {}, past the image's {HEIGHT}",
            chart.legend_bottom
        );
        let listed: Vec<&str> = lines
            .iter()
            .filter(|l| l[0].ends_with(png) && l[2] == "not drawn")
            .map(|l| l[1])
            .collect();
        assert_eq!(chart.left_out, listed, "{png}");
    }
}
