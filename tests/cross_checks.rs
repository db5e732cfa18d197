//! The runner's checks across backends, made to fire: rows of a real thread sweep
//! (tests/fixtures/chart-threads-2p16.json, engine and rayon at 1 and 2 threads, bit-identical
//! sums) go through `Collected::cross_check` as they are, and then with one number changed. A
//! check that no longer fires turns one of these red.

use std::path::Path;

use hexpylot::model::{BackendKind, Document, GpuPath, McRow, Scope};
use hexpylot::runner::{Collected, PRICE_TOLERANCE_SE};

fn rows() -> Vec<McRow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chart-threads-2p16.json");
    let doc = Document::read(&path).unwrap();
    assert_eq!(doc.mc.len(), 4);
    doc.mc
}

fn checked(mc: Vec<McRow>) -> Collected {
    let mut collected = Collected {
        mc,
        ..Collected::default()
    };
    collected.cross_check();
    collected
}

/// The engine's row, as the GPU's mirror would report the same paths at `price`.
fn gpu_at(engine: &McRow, price: f64) -> McRow {
    McRow {
        backend: BackendKind::Gpu,
        threads: 0,
        gpu_path: Some(GpuPath::Mirror),
        price,
        ..engine.clone()
    }
}

#[test]
fn agreeing_rows_pass() {
    let collected = checked(rows());
    assert!(collected.failures.is_empty(), "{:?}", collected.failures);
    assert!(collected.mc.iter().all(|r| r.valid));
}

#[test]
fn cpu_sums_that_differ_in_one_bit_fail() {
    for i in 1..4 {
        let mut mc = rows();
        let sums = mc[i].sums.as_mut().unwrap();
        sums.sum = f64::from_bits(sums.sum.to_bits() + 1);
        let collected = checked(mc);
        assert!(!collected.mc[i].valid, "row {i}");
        assert_eq!(collected.failures.len(), 1, "{:?}", collected.failures);
        assert!(
            collected.failures[0].contains("sums differ"),
            "{:?}",
            collected.failures
        );
    }
}

#[test]
fn a_gpu_price_past_its_bound_fails_and_within_it_passes() {
    let mc = rows();
    let engine = mc[0].clone();
    let se = engine.std_error;
    let within = checked(vec![
        engine.clone(),
        gpu_at(&engine, engine.price + 0.5 * PRICE_TOLERANCE_SE * se),
    ]);
    assert!(within.failures.is_empty(), "{:?}", within.failures);
    let past = checked(vec![
        engine.clone(),
        gpu_at(&engine, engine.price + 2.0 * PRICE_TOLERANCE_SE * se),
    ]);
    assert!(!past.mc[1].valid);
    assert_eq!(past.failures.len(), 1, "{:?}", past.failures);
    assert!(
        past.failures[0].contains("differs from engine's"),
        "{:?}",
        past.failures
    );
}

/// Under MPI a rank's GPU share and its CPU share are other paths: their prices are not held
/// against each other (the job's rows are).
#[test]
fn a_ranks_gpu_share_is_not_held_to_its_cpu_share() {
    let rank = Some(Scope::Rank {
        rank: 1,
        host: "h".into(),
    });
    let engine = McRow {
        scope: rank.clone(),
        ..rows()[0].clone()
    };
    let gpu = gpu_at(&engine, engine.price + 100.0 * engine.std_error);
    let collected = checked(vec![engine, gpu]);
    assert!(collected.failures.is_empty(), "{:?}", collected.failures);
}
