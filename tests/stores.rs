//! `--stores`: the store kind of every CPU stream row is stated, fixed kinds are obeyed, and `auto`
//! records the probe that chose it (through the real binary).

use serde_json::Value;

mod common;
use common::{hexpylot, run_json};

/// `stream` at `size` elements, 3 repetitions unless `extra` says otherwise, one thread; the CSV
/// must end in the stores column.
fn stream(size: &str, extra: &[&str]) -> Value {
    let reps: &[&str] = if extra.contains(&"--reps") {
        &[]
    } else {
        &["--reps", "3"]
    };
    let args: Vec<&str> = ["stream", "--size", size, "--threads", "1"]
        .iter()
        .chain(reps)
        .chain(extra)
        .copied()
        .collect();
    let (doc, csv) = run_json(&args, true);
    let csv = csv.unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"stores"), "{csv}");
    doc
}

fn rows(doc: &Value) -> &Vec<Value> {
    doc["stream"].as_array().expect("stream rows")
}

#[test]
fn fixed_store_kinds_are_obeyed_and_recorded() {
    for kind in ["cached", "streaming"] {
        let doc = stream("2^12", &["--stores", kind]);
        assert_eq!(rows(&doc).len(), 12);
        for r in rows(&doc) {
            assert_eq!(r["valid"], true, "{r}");
            assert!(r["store_probe"].is_null(), "{r}");
            let expected = if r["kernel"] == "dot" {
                Value::Null
            } else {
                kind.into()
            };
            assert_eq!(r["stores"], expected, "{r}");
        }
    }
}

#[test]
fn auto_keeps_the_kind_its_probe_found_faster() {
    let doc = stream("2^12", &[]);
    for r in rows(&doc) {
        assert_eq!(r["valid"], true, "{r}");
        if r["kernel"] == "dot" {
            assert!(r["stores"].is_null() && r["store_probe"].is_null(), "{r}");
            continue;
        }
        let probe = &r["store_probe"];
        let cached = probe["cached_gbs"].as_f64().unwrap();
        let streaming = probe["streaming_gbs"].as_f64().unwrap();
        assert!(cached > 0.0 && streaming > 0.0, "{r}");
        assert!(probe["rounds"].as_u64().unwrap() >= 3, "{r}");
        let faster = if streaming > cached {
            "streaming"
        } else {
            "cached"
        };
        assert_eq!(r["stores"], faster, "{r}");
    }
}

#[test]
fn the_probe_leaves_the_arrays_at_their_initial_values() {
    // 1000 classic repetitions are the most that keep f32 in range (a shrinks by 0.96 each, and
    // goes subnormal after 1002): the probe's 64 runs at 2^10 elements must not count, so the
    // arrays are refilled after it and the exact gold check still holds.
    let doc = stream("2^10", &["--reps", "1000"]);
    for r in rows(&doc) {
        assert_eq!(r["valid"], true, "{r}");
        if r["kernel"] != "dot" {
            assert_eq!(r["check"], "exact", "{r}");
        }
    }
}

#[test]
fn unknown_store_kinds_are_refused() {
    let out = hexpylot()
        .args(["stream", "--stores", "uncached"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'uncached'"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}
