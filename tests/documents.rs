//! Reading a document back checks every number against what a run can produce: a real fixture
//! with one number changed is refused, through `diff`, `chart` and `compare --roofline`, with one
//! line naming the field; every document committed under results/ is still read.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use hexpylot::model::Document;
use serde_json::{Value, json};

mod common;
use common::refused;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `fixture` (under tests/fixtures) with the number at JSON `pointer` replaced by `value`,
/// written as `name` in `dir`.
fn edited(dir: &Path, fixture: &str, pointer: &str, value: Value, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo("tests/fixtures").join(fixture)).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    *doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{fixture} has no {pointer}")) = value;
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

/// Reads `path` and returns the one-line refusal.
fn refusal(path: &Path) -> String {
    let e = match Document::read(path) {
        Ok(_) => panic!("{}: read, not refused", path.display()),
        Err(e) => e.to_string(),
    };
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

/// The numbers no run writes, one per document, each refused with its field's JSON path, the
/// value and the rule.
#[test]
fn an_implausible_number_is_refused_naming_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "compare-v3.json",
            "/compare/4/agreement/bound",
            json!(-1e-6),
            "compare[4].agreement.bound = -1e-6",
        ),
        (
            "compare-v3.json",
            "/compare/7/agreement/std_error",
            json!(-0.05),
            "compare[7].agreement.std_error = -0.05",
        ),
        (
            "compare-v3.json",
            "/compare/0/bound/gpu/ceiling_gbs",
            json!(0.0),
            "compare[0].bound.gpu.ceiling_gbs = 0.0",
        ),
        (
            "diff-a.json",
            "/schema_version",
            json!(0),
            "schema_version = 0",
        ),
        (
            "diff-a.json",
            "/stream/3/cv",
            json!(-0.1),
            "stream[3].cv = -0.1",
        ),
        (
            "diff-a.json",
            "/stream/0/gbs_median",
            json!(0.0),
            "stream[0].gbs_median = 0.0",
        ),
        (
            "diff-a.json",
            "/stream/0/gbs_median",
            json!(-1.0),
            "stream[0].gbs_median = -1.0",
        ),
        (
            "diff-a.json",
            "/stream/1/gbs_best",
            json!(5e-324),
            "stream[1].gbs_best = 5e-324",
        ),
        (
            "diff-a.json",
            "/stream/2/median_s",
            json!(-1e-5),
            "stream[2].median_s = -1e-5",
        ),
        (
            "diff-a.json",
            "/stream/2/min_s",
            json!(1.0),
            "stream[2].min_s = 1.0",
        ),
        ("diff-a.json", "/stream/2/n", json!(0), "stream[2].n = 0"),
        (
            "diff-a.json",
            "/stream/2/reps",
            json!(0),
            "stream[2].reps = 0",
        ),
        (
            "diff-a.json",
            "/stream/2/bytes_per_rep",
            json!(0),
            "stream[2].bytes_per_rep = 0",
        ),
        (
            "diff-a.json",
            "/machine/load_average/1",
            json!(-2.0),
            "machine.load_average[1] = -2.0",
        ),
        (
            "chart-threads-epyc.json",
            "/mc/0/paths_per_s",
            json!(0.0),
            "mc[0].paths_per_s = 0.0",
        ),
        (
            "chart-threads-epyc.json",
            "/mc/0/std_error",
            json!(-1.0),
            "mc[0].std_error = -1.0",
        ),
        (
            "chart-threads-epyc.json",
            "/mc/0/paths",
            json!(0),
            "mc[0].paths = 0",
        ),
        (
            "chart-roofline.json",
            "/sweep/ceilings/0/bandwidth_gbs",
            json!(5e-324),
            "sweep.ceilings[0].bandwidth_gbs = 5e-324",
        ),
        (
            "chart-roofline.json",
            "/roofline/0/gflops",
            json!(-3.0),
            "roofline[0].gflops = -3.0",
        ),
    ];
    for (i, (fixture, pointer, value, field)) in cases.iter().enumerate() {
        let path = edited(
            dir.path(),
            fixture,
            pointer,
            value.clone(),
            &format!("{i}.json"),
        );
        let e = refusal(&path);
        assert!(
            e.starts_with(&format!("{}: {field}: ", path.display())),
            "{fixture} {pointer}: {e}"
        );
    }
    // The order of the three times is named as such, on the field out of place.
    let min = edited(
        dir.path(),
        "diff-a.json",
        "/stream/2/min_s",
        json!(1.0),
        "min.json",
    );
    assert!(refusal(&min).contains("min_s <= median_s <= max_s"));
}

/// JSON has no NaN or infinity; a literal too large for an f64 is not a HexPylot document.
#[test]
fn an_overflowing_literal_is_not_a_document() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("tests/fixtures/diff-a.json")).unwrap();
    let path = dir.path().join("inf.json");
    std::fs::write(
        &path,
        text.replacen("\"median_s\": 7", "\"median_s\": 1e309, \"x\": 7", 1),
    )
    .unwrap();
    let e = Document::read(&path).map(|_| ()).unwrap_err().to_string();
    assert!(
        e.contains("not a HexPylot document") && e.contains("out of range"),
        "{e}"
    );
}

/// Through the binary: `diff`, `chart` and `compare --roofline` refuse the file with exit 2 and
/// one line naming the field, before printing anything.
#[test]
fn the_commands_that_read_documents_refuse_an_implausible_one() {
    let dir = tempfile::tempdir().unwrap();
    let a = repo("tests/fixtures/diff-a.json");
    let noisy = edited(
        dir.path(),
        "diff-a.json",
        "/stream/3/cv",
        json!(-0.1),
        "cv.json",
    );
    let a_arg: OsString = a.into();
    refused(
        &[OsString::from("diff"), a_arg.clone(), noisy.clone().into()],
        "cv.json: stream[3].cv = -0.1: ",
    );
    let empty = edited(
        dir.path(),
        "diff-a.json",
        "/stream/0/gbs_median",
        json!(0.0),
        "zero.json",
    );
    refused(
        &[
            OsString::from("chart"),
            empty.into(),
            "--out".into(),
            dir.path().join("charts").into(),
        ],
        "zero.json: stream[0].gbs_median = 0.0: ",
    );
    let ceiling = edited(
        dir.path(),
        "chart-roofline.json",
        "/sweep/ceilings/0/bandwidth_gbs",
        json!(5e-324),
        "ceiling.json",
    );
    refused(
        &[
            OsString::from("compare"),
            "--roofline".into(),
            ceiling.into(),
            "--size".into(),
            "2^12".into(),
        ],
        "ceiling.json: sweep.ceilings[0].bandwidth_gbs = 5e-324: ",
    );
}

/// The rules refuse nothing a real run wrote: every HexPylot document committed under results/
/// (peers' lines, which have a `peer` key, are not documents) is read.
#[test]
fn every_committed_document_is_read() {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo("results"), &mut files);
    files.sort();
    let mut read = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let is_document = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.as_object().map(|o| !o.contains_key("peer")))
            .unwrap_or(false);
        if is_document {
            Document::from_json(&text, path).unwrap_or_else(|e| panic!("{e}"));
            read += 1;
        }
    }
    assert!(read > 0, "no document under results/: {files:?}");
}

/// `compare` documents of every version read back into typed rows: version 3's agreement and
/// bound as numbers; versions 1 and 2, whose were prose, with their kernels parsed back and
/// their verdicts kept. The table renders each.
#[test]
fn compare_documents_of_every_version_read_back() {
    use hexpylot::model::{Agreement, Bound, Compared, GpuPath, OptionKind, StreamKernel};
    use hexpylot::report;
    let european = |gpu_path| Compared::Option {
        option: OptionKind::ALL[0],
        steps: 1,
        gpu_path,
    };
    for (fixture, rows, european_at, path) in [
        ("compare-v1.json", 9, 6, None),
        ("compare-v2.json", 11, 6, Some(GpuPath::Mirror)),
        ("compare-v3.json", 11, 6, Some(GpuPath::Mirror)),
    ] {
        let doc = Document::read(&repo("tests/fixtures").join(fixture)).unwrap();
        assert_eq!(doc.compare.len(), rows, "{fixture}");
        assert_eq!(
            doc.compare[0].of,
            Compared::Stream {
                kernel: StreamKernel::Copy
            },
            "{fixture}"
        );
        assert_eq!(doc.compare[european_at].of, european(path), "{fixture}");
        assert_eq!(doc.compare.last().unwrap().of, Compared::Rng, "{fixture}");
        assert!(doc.compare.iter().all(|r| r.agrees), "{fixture}");
        let table = report::compare_table(&doc);
        assert!(table.contains("european-call 1 step"), "{fixture}: {table}");
        let v3 = doc.schema_version == 3;
        for r in &doc.compare {
            assert_eq!(r.agreement.is_some(), v3, "{fixture}: {:?}", r.of);
        }
        let memory_shares = doc.compare.iter().filter(|r| {
            matches!(r.bound, Some(Bound::Memory { cpu: Some(c), gpu: Some(g) }) if c.fraction > 0.0 && g.fraction > 0.0)
        });
        assert_eq!(memory_shares.count(), if v3 { 6 } else { 0 }, "{fixture}");
    }
    let v3 = Document::read(&repo("tests/fixtures/compare-v3.json")).unwrap();
    let Some(Agreement::PriceGap { gap, bound, .. }) = v3.compare[7].agreement else {
        panic!("row 7 is a price: {:?}", v3.compare[7]);
    };
    assert!(gap <= bound);
}
