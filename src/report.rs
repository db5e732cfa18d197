//! Results as people and programs read them: tables, JSON documents and BabelStream CSV (written
//! by [`crate::output`]).

use std::sync::OnceLock;

use anyhow::{Context, Result};
use comfy_table::{Cell, CellAlignment, Table, presets};

use crate::model::{
    AdapterSummary, Agreement, BUSY_LOAD_PER_CORE, BackendKind, Bound, CeilingSource, CompareRow,
    Compared, Document, Launch, Machine, McRow, NOISY_CV, OptionKind, Precision, PriceBound,
    Reduction, RooflineRow, Scope, Shape, Share, StreamKernel, StreamRow, Timing, TransferRow,
    Unit, in_std_errors, store_kind_name,
};
use crate::text::{count, human_bytes, plural};
use cpu_kernels::stream::Stores;

pub fn roofline_table(rows: &[RooflineRow]) -> String {
    let mut grid = Grid::new(vec![
        Column::text("backend"),
        Column::num("thr").shared(),
        Column::num("n").shared(),
        Column::num("FMAs"),
        Column::num("FLOP/byte"),
        Column::num("GFLOP/s"),
        Column::num("GB/s"),
        Column::text("valid").shared(),
    ]);
    for r in rows {
        grid.row(vec![
            r.backend.name().to_string(),
            threads(r.threads),
            count(r.n as u64),
            r.fmas.to_string(),
            format!("{:.2}", r.intensity),
            with_spread(rate(r.gflops), &r.timing, Spread::Percent),
            rate(r.gbs),
            valid(r.valid).to_string(),
        ]);
    }
    grid.note(&spread_note());
    grid.note(THREADS_NOTE);
    grid.render(table_width())
}

/// The roofline rows as CSV, one line per point.
pub fn roofline_csv(rows: &[RooflineRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "backend",
        "threads",
        "n",
        "precision",
        "fmas",
        "flop_per_byte",
        "median_s",
        "min_s",
        "max_s",
        "cv",
        "gflops",
        "gbs",
        "valid",
    ])?;
    for r in rows {
        w.write_record([
            r.backend.name().to_string(),
            r.threads.to_string(),
            r.n.to_string(),
            r.precision.name().to_string(),
            r.fmas.to_string(),
            r.intensity.to_string(),
            r.timing.median_s.to_string(),
            r.timing.min_s.to_string(),
            r.timing.max_s.to_string(),
            cv_field(&r.timing),
            r.gflops.to_string(),
            r.gbs.to_string(),
            r.valid.to_string(),
        ])?;
    }
    w.into_inner().context("writing CSV")
}

/// The transfer sweep: GB/s per size and way, then the launch latencies.
pub fn transfer_table(rows: &[TransferRow]) -> String {
    let mut grid = Grid::new(vec![
        Column::text("transfer"),
        Column::num("size"),
        Column::num("reps").shared(),
        Column::num("GB/s"),
        Column::num("median µs"),
        Column::num("µs/dispatch"),
        Column::text("valid").shared(),
    ]);
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    for r in rows {
        let size = if r.kind.is_launch() {
            let n = r.dispatches.unwrap_or(0);
            let s = if n == 1 { "" } else { "es" };
            format!("{n} dispatch{s}")
        } else {
            // The sweep's sizes are powers of two: the binary unit is exact.
            human_bytes(u128::from(r.bytes))
        };
        grid.row(vec![
            r.kind.name().to_string(),
            size,
            r.reps.to_string(),
            opt(r.gbs, 3),
            with_spread(
                format!("{:.1}", r.timing.median_s * 1e6),
                &r.timing,
                Spread::Percent,
            ),
            opt(r.us_per_dispatch, 2),
            valid(r.valid).to_string(),
        ]);
    }
    grid.note(&spread_note());
    grid.render(table_width())
}

/// The transfer rows as CSV, one line per size and way or launch.
pub fn transfer_csv(rows: &[TransferRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kind",
        "bytes",
        "dispatches",
        "reps",
        "median_s",
        "min_s",
        "max_s",
        "cv",
        "gbs",
        "us_per_dispatch",
        "valid",
    ])?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in rows {
        w.write_record([
            serde_json::to_value(r.kind)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
            r.bytes.to_string(),
            r.dispatches.map_or(String::new(), |d| d.to_string()),
            r.reps.to_string(),
            r.timing.median_s.to_string(),
            r.timing.min_s.to_string(),
            r.timing.max_s.to_string(),
            cv_field(&r.timing),
            opt(r.gbs),
            opt(r.us_per_dispatch),
            r.valid.to_string(),
        ])?;
    }
    w.into_inner().context("writing CSV")
}

/// The compare table, with the short agreement cells ([`compare_details`] has them in full) and
/// the bounds in a note under it. Rates are GB/s for stream kernels and million paths/s for
/// options, as the note under the table says: a unit column would not fit. Each rate carries a
/// mark when its repetitions were noisy, from the stream or Monte Carlo row it comes from: a
/// percentage per rate would not fit either (they are in the `--verbose` tables).
pub fn compare_table(doc: &Document) -> String {
    let mut grid = Grid::new(vec![
        Column::text("kernel").free(),
        Column::num("engine"),
        Column::num("rayon"),
        Column::num("GPU"),
        Column::num("GPU e2e"),
        Column::num("GPU/eng"),
        Column::text("agree"),
    ]);
    let value = |v: Option<f64>, t: Option<&Timing>| match (v, t) {
        (None, _) => "-".to_string(),
        (Some(v), None) => rate(v),
        (Some(v), Some(t)) => with_spread(rate(v), t, Spread::Mark),
    };
    let mut bounds: Vec<String> = Vec::new();
    for r in &doc.compare {
        let [engine, rayon, gpu] = compare_timings(doc, r);
        grid.row(vec![
            compared_label(&r.of),
            value(r.engine, engine),
            value(r.rayon, rayon),
            value(r.gpu_kernel, gpu),
            value(r.gpu_end_to_end, None),
            r.gpu_over_engine
                .map_or("-".to_string(), |v| format!("{}x", rate(v))),
            agree_short(r),
        ]);
        let bound = match r.unit {
            Unit::GBs => format!("{} {}", compared_label(&r.of), bound_short(&r.bound)),
            Unit::MPathsPerS => format!("Monte Carlo {}", bound_short(&r.bound)),
            Unit::None => continue,
        };
        if !bounds.contains(&bound) {
            bounds.push(bound);
        }
    }
    grid.note(&format!(
        "{NOISY_MARK}: a noisy rate, its repetitions vary by more than {:.0}% (every spread: --verbose)",
        100.0 * NOISY_CV
    ));
    // A bound column would not fit; the stream kernels' bounds differ, Monte Carlo's is one.
    grid.note(&format!("bound, CPU/GPU: {}", bounds.join(", ")));
    grid.render(table_width())
}

/// The compare rows' agreement and bound in full, one line each (`--verbose`), as the checks are.
pub fn compare_details(rows: &[CompareRow]) -> Vec<String> {
    rows.iter()
        .flat_map(|r| {
            [
                format!("agree, {}: {}", compared_label(&r.of), agree_long(r)),
                format!("bound, {}: {}", compared_label(&r.of), bound_long(r)),
            ]
        })
        .collect()
}

/// The timings behind a compare row's engine, rayon and GPU rates: the job rows of its kernel,
/// or of its option and dates (and GPU path).
fn compare_timings<'a>(doc: &'a Document, row: &CompareRow) -> [Option<&'a Timing>; 3] {
    [BackendKind::Engine, BackendKind::Rayon, BackendKind::Gpu].map(|b| match row.of {
        Compared::Stream { kernel } => doc
            .stream
            .iter()
            .find(|r| r.is_job_row() && r.backend == b && r.kernel == kernel)
            .map(|r| &r.timing),
        Compared::Option { .. } => doc
            .mc
            .iter()
            .find(|r| r.is_job_row() && r.backend == b && row.of.is_of(r))
            .map(|r| &r.timing),
        Compared::Rng => None,
    })
}

/// A compare row's name: the stream kernel, the option and its dates with the GPU path where
/// one ran ("asian-call 52 steps, native"), or the random numbers.
pub fn compared_label(of: &Compared) -> String {
    match *of {
        Compared::Stream { kernel } => kernel.name().to_string(),
        Compared::Option {
            option,
            steps,
            gpu_path,
        } => {
            let label = option_label(option, steps);
            match gpu_path {
                Some(p) => format!("{label}, {}", p.name()),
                None => label,
            }
        }
        Compared::Rng => "philox + normals".to_string(),
    }
}

/// "asian-call 52 steps".
fn option_label(option: OptionKind, steps: u32) -> String {
    format!("{} {}", option.name(), plural(steps as usize, "step"))
}

fn yes(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}

/// A relative error in units of the precision's machine epsilon, rounded up.
fn ulps(rel_err: f64, precision: Precision) -> f64 {
    let eps = match precision {
        Precision::F32 => f64::from(f32::EPSILON),
        Precision::F64 => f64::EPSILON,
    };
    (rel_err / eps).ceil()
}

/// A compare row's agreement as the table shows it: "yes, 0 ulp", "yes, 2e-7" (dot),
/// "yes, 0.003 SE"; "-" where no GPU and CPU pair ran.
pub fn agree_short(r: &CompareRow) -> String {
    let verdict = yes(r.agrees);
    match r.agreement {
        Some(Agreement::RelativeError { max, precision, .. }) => match r.of {
            Compared::Stream {
                kernel: StreamKernel::Dot,
            } => format!("{verdict}, {max:.0e}"),
            _ => format!("{verdict}, {} ulp", ulps(max, precision)),
        },
        Some(Agreement::PriceGap { gap, std_error, .. }) => {
            format!("{verdict}, {:.3} SE", in_std_errors(gap, std_error))
        }
        Some(Agreement::Draws { .. }) => verdict.to_string(),
        // Documents before version 3 kept their agreement as prose: the verdict carries over.
        None if r.engine.is_some() && r.gpu_kernel.is_some() => verdict.to_string(),
        None => "-".to_string(),
    }
}

/// A compare row's agreement in full, with its bound and where the bound comes from.
pub fn agree_long(r: &CompareRow) -> String {
    let verdict = yes(r.agrees);
    match r.agreement {
        Some(Agreement::RelativeError {
            max,
            bound,
            precision,
        }) => format!(
            "{verdict}: largest relative error {max:.1e} ({} ulp of {}), bound {bound:.1e}",
            ulps(max, precision),
            precision.name()
        ),
        Some(Agreement::PriceGap {
            gap,
            bound,
            std_error,
            bound_from,
        }) => {
            let gap_se = in_std_errors(gap, std_error);
            let from = match bound_from {
                PriceBound::StandardErrors => "a fixed share of the CPU's standard error",
                PriceBound::WgslAccuracy => "from WGSL's accuracy rules",
            };
            format!(
                "{verdict}: |gpu - engine| = {gap:.2e} = {gap_se:.4} SE, bound {bound:.2e} = {:.2} SE ({from})",
                in_std_errors(bound, std_error)
            )
        }
        Some(Agreement::Draws {
            words_equal,
            words,
            normals_identical,
            normals,
            worst_ulp,
            bound_ulp,
        }) => format!(
            "{verdict}: {words_equal}/{words} Philox words equal; normals: {normals_identical}/{normals} bit-identical, worst {worst_ulp} ulp (bound {bound_ulp})"
        ),
        None => agree_short(r),
    }
}

/// A share of a ceiling, "65%", marked "!" above it.
fn share_short(s: &Share) -> String {
    let mark = if s.fraction > 1.005 { "!" } else { "" };
    format!("{:.0}%{mark}", 100.0 * s.fraction)
}

/// A compare row's bound as the table's note gives it: "mem 65%/91%" (CPU/GPU), "compute".
pub fn bound_short(bound: &Option<Bound>) -> String {
    match bound {
        Some(Bound::Memory { cpu, gpu }) => {
            let shares: Vec<String> = [cpu, gpu].into_iter().flatten().map(share_short).collect();
            if shares.is_empty() {
                "memory".to_string()
            } else {
                format!("mem {}", shares.join("/"))
            }
        }
        Some(Bound::Compute) => "compute".to_string(),
        None => "-".to_string(),
    }
}

/// A compare row's bound in full: each device's share and of which ceiling.
pub fn bound_long(r: &CompareRow) -> String {
    match &r.bound {
        Some(Bound::Memory { cpu, gpu }) => {
            let mut parts = vec!["memory".to_string()];
            for (device, share) in [("CPU", cpu), ("GPU", gpu)] {
                let Some(s) = share else { continue };
                let of = match s.source {
                    CeilingSource::Roofline => "roofline ceiling",
                    CeilingSource::BestStreamRate => "best stream rate here",
                };
                let above = if s.fraction > 1.005 {
                    format!(
                        " (above it: the ceiling is the roofline kernel's rate, and {} moves its data differently)",
                        compared_label(&r.of)
                    )
                } else {
                    String::new()
                };
                parts.push(format!(
                    "{device} {:.0}% of {of} {}{above}",
                    100.0 * s.fraction,
                    rate(s.ceiling_gbs)
                ));
            }
            parts.join(", ")
        }
        Some(Bound::Compute) => "compute (no array traffic)".to_string(),
        None => "-".to_string(),
    }
}

/// Three or four significant figures, never more than 7 characters below 10^7.
pub(crate) fn rate(v: f64) -> String {
    if v.abs() < 100.0 {
        format!("{v:.2}")
    } else if v.abs() < 10_000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// The compare rows as CSV: the table's columns with the full agreement and bound texts.
pub fn compare_csv(rows: &[CompareRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kernel",
        "unit",
        "engine",
        "rayon",
        "gpu_kernel",
        "gpu_end_to_end",
        "gpu_over_engine",
        "agrees",
        "agree",
        "bound",
    ])?;
    let value = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in rows {
        w.write_record([
            compared_label(&r.of),
            r.unit.name().to_string(),
            value(r.engine),
            value(r.rayon),
            value(r.gpu_kernel),
            value(r.gpu_end_to_end),
            value(r.gpu_over_engine),
            r.agrees.to_string(),
            agree_long(r),
            bound_long(r),
        ])?;
    }
    w.into_inner().context("writing CSV")
}

/// The adapters wgpu found; `chosen` is the one the GPU backend would use. The name and the
/// driver share a cell, and the limits another, one per line: side by side they would not fit.
pub fn adapters_table(adapters: &[AdapterSummary], chosen: Option<usize>) -> String {
    let mut grid = Grid::new(vec![
        Column::text(""),
        Column::text("adapter, driver").free(),
        Column::text("backend").shared(),
        Column::text("type"),
        Column::text("ts"),
        Column::text("f64"),
        Column::num("limits"),
    ]);
    let mib = |b: u64| format!("{} MiB", b >> 20);
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    for (i, a) in adapters.iter().enumerate() {
        grid.row(vec![
            if Some(i) == chosen { "*" } else { "" }.to_string(),
            format!("{}\n{} {}", a.name, a.driver, a.driver_info),
            a.backend.clone(),
            a.device_type.clone(),
            yes(a.timestamp_queries),
            yes(a.shader_f64),
            format!(
                "buffer {}\nbinding {}\n{} groups/dim",
                mib(a.limits.max_buffer_size),
                mib(a.limits.max_storage_buffer_binding_size),
                a.limits.max_compute_workgroups_per_dimension
            ),
        ]);
    }
    grid.note(
        "ts: timestamp queries. limits: the largest buffer, storage binding and workgroup grid",
    );
    grid.render(table_width())
}

pub fn stream_table(rows: &[StreamRow]) -> String {
    let ranked = rows.iter().any(|r| r.scope.is_some());
    let mut grid = Grid::new(scoped(
        ranked,
        vec![
            Column::text("kernel"),
            Column::text("backend"),
            Column::text("prec").shared(),
            Column::num("thr").shared(),
            Column::num("n").shared(),
            Column::num("GB/s"),
            Column::num("best"),
            Column::text("stores"),
            Column::num("×rayon"),
            Column::text("valid").shared(),
        ],
    ));
    for r in rows {
        // The engine's lead over rayon on the same kernel, precision, size and thread count: the
        // number the engine exists to move.
        let vs_rayon = rows
            .iter()
            .find(|o| {
                o.backend == BackendKind::Rayon
                    && r.backend != BackendKind::Rayon
                    && (o.kernel, o.precision, o.n) == (r.kernel, r.precision, r.n)
                    && o.scope == r.scope
                    && (r.backend.is_offload() || o.threads == r.threads)
            })
            .map_or(String::new(), |o| {
                format!("{:.2}x", r.gbs_median / o.gbs_median)
            });
        grid.row(with_scope(
            &r.scope,
            ranked,
            vec![
                r.kernel.name().to_string(),
                r.backend.name().to_string(),
                r.precision.name().to_string(),
                threads(r.threads),
                count(r.n as u64),
                with_spread(rate(r.gbs_median), &r.timing, Spread::Percent),
                rate(r.gbs_best),
                stores_cell(r),
                vs_rayon,
                valid(r.valid).to_string(),
            ],
        ));
    }
    grid.note("GB/s: over the median time; best: over the fastest repetition. ×rayon: median over rayon's");
    grid.note(&spread_note());
    grid.note(THREADS_NOTE);
    grid.render(table_width())
}

/// Under MPI, the rank column after the first two: "job of N" for the job's row, "R (host)"
/// for a rank's own.
fn with_scope(scope: &Option<Scope>, ranked: bool, mut cells: Vec<String>) -> Vec<String> {
    if ranked {
        cells.insert(
            2,
            match scope {
                Some(Scope::Aggregate { ranks }) => format!("job of {ranks}"),
                Some(Scope::Rank { rank, host }) => format!("{rank} ({host})"),
                None => "-".to_string(),
            },
        );
    }
    cells
}

/// The CSV columns of a row's place in an MPI job, after the others (documents of one process
/// have none): `scope` (`aggregate` or `rank`), `rank`, `host` (rank rows), `ranks` (the job's).
const SCOPE_COLUMNS: [&str; 4] = ["scope", "rank", "host", "ranks"];

fn scope_fields(scope: &Option<Scope>) -> [String; 4] {
    match scope {
        None => Default::default(),
        Some(Scope::Rank { rank, host }) => {
            ["rank".into(), rank.to_string(), host.clone(), String::new()]
        }
        Some(Scope::Aggregate { ranks }) => [
            "aggregate".into(),
            String::new(),
            String::new(),
            ranks.to_string(),
        ],
    }
}

/// The columns, with the rank column where [`with_scope`] puts it: a host name may be cut to fit
/// (the JSON and CSV hold it whole).
fn scoped(ranked: bool, mut columns: Vec<Column>) -> Vec<Column> {
    if ranked {
        columns.insert(2, Column::text("rank").free());
    }
    columns
}

/// The store kind, with the probe's margin when it was measured ("streaming 1.31x": streaming
/// was 1.31 times as fast as cached in the probe; "cached 1.02x" the other way round).
fn stores_cell(r: &StreamRow) -> String {
    match (r.stores, r.store_probe) {
        (None, _) => "-".to_string(),
        (Some(k), None) => store_kind_name(k).to_string(),
        (Some(k), Some(p)) => {
            let ratio = match k {
                Stores::Streaming => p.streaming_gbs / p.cached_gbs,
                Stores::Cached => p.cached_gbs / p.streaming_gbs,
            };
            format!("{} {ratio:.2}x", store_kind_name(k))
        }
    }
}

/// One line per CPU backend naming the store kind each kernel ran with, for tables that have no
/// stores column (`compare`; under MPI the job rows, which carry rank 0's choice); `None` when no
/// row has a store kind.
pub fn stores_summary(rows: &[StreamRow]) -> Option<String> {
    let mut backends: Vec<&str> = rows
        .iter()
        .filter(|r| r.stores.is_some() && r.is_job_row())
        .map(|r| r.backend.name())
        .collect();
    backends.dedup();
    let lines: Vec<String> = backends
        .iter()
        .map(|b| {
            let kinds: Vec<String> = rows
                .iter()
                .filter(|r| r.backend.name() == *b && r.stores.is_some() && r.is_job_row())
                .map(|r| format!("{} {}", r.kernel, stores_cell(r)))
                .collect();
            format!("stores on {b}: {}", kinds.join(", "))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The closed form each price is held to is in the `--verbose` checks and the JSON; its
/// z-score here.
pub fn mc_table(rows: &[McRow]) -> String {
    let ranked = rows.iter().any(|r| r.scope.is_some());
    let mut grid = Grid::new(scoped(
        ranked,
        vec![
            Column::text("option").shared(),
            Column::text("backend"),
            Column::num("thr").shared(),
            Column::num("paths").shared(),
            Column::num("M paths/s"),
            Column::num("price"),
            Column::num("SE"),
            Column::num("z"),
            Column::text("valid").shared(),
        ],
    ));
    for r in rows {
        grid.row(with_scope(
            &r.scope,
            ranked,
            vec![
                option_label(r.option, r.steps),
                match r.gpu_path {
                    Some(p) => format!("{} {}", r.backend.name(), p.name()),
                    None => r.backend.name().to_string(),
                },
                threads(r.threads),
                count(r.paths),
                with_spread(rate(r.paths_per_s / 1e6), &r.timing, Spread::Percent),
                format!("{:.6}", r.price),
                format!("{:.6}", r.std_error),
                r.z_score.map_or_else(|| "-".into(), |z| format!("{z:+.2}")),
                valid(r.valid).to_string(),
            ],
        ));
    }
    grid.note("SE: the price's standard error; z: its distance to the closed form, in SE");
    grid.note(&spread_note());
    grid.note(THREADS_NOTE);
    grid.render(table_width())
}

/// Monte Carlo rows as CSV, one line per option and backend.
pub fn mc_csv(rows: &[McRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let ranked = rows.iter().any(|r| r.scope.is_some());
    let mut header = vec![
        "option",
        "backend",
        "threads",
        "paths",
        "steps",
        "seed",
        "num_times",
        "median_s",
        "min_s",
        "max_s",
        "cv",
        "paths_per_s",
        "price",
        "std_error",
        "reference",
        "z_score",
        "valid",
        "gpu_path",
    ];
    if ranked {
        header.extend(SCOPE_COLUMNS);
    }
    w.write_record(header)?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in rows {
        let mut record = vec![
            r.option.name().to_string(),
            r.backend.name().to_string(),
            r.threads.to_string(),
            r.paths.to_string(),
            r.steps.to_string(),
            r.seed.to_string(),
            (r.reps + 1).to_string(),
            r.timing.median_s.to_string(),
            r.timing.min_s.to_string(),
            r.timing.max_s.to_string(),
            cv_field(&r.timing),
            r.paths_per_s.to_string(),
            r.price.to_string(),
            r.std_error.to_string(),
            opt(r.reference),
            opt(r.z_score),
            r.valid.to_string(),
            r.gpu_path.map_or(String::new(), |p| p.name().to_string()),
        ];
        if ranked {
            record.extend(scope_fields(&r.scope));
        }
        w.write_record(record)?;
    }
    w.into_inner().context("writing CSV")
}

/// The GPU rows' launches in one line: how many, and what the tuner's probes gained over the
/// default shape (the range). Each launch's own line is under `--verbose` ([`launches`]), and in
/// the JSON (`launch`); a sweep has dozens.
pub fn launch_summary(doc: &Document) -> Option<String> {
    let all = launched(doc);
    let (first, _) = all.first()?;
    let count = match all.len() {
        1 => "1 launch".to_string(),
        n => format!("{n} launches"),
    };
    if !first.tuned {
        return Some(format!(
            "gpu launch: the default shape for all {count} (--gpu-tune off; each: --verbose)"
        ));
    }
    let gains: Vec<f64> = all.iter().filter_map(|(l, _)| gain(l)).collect();
    let lo = gains.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = gains.iter().copied().fold(0.0, f64::max);
    let range = match gains.len() {
        0 => String::new(),
        _ if (hi - lo).abs() < 0.005 => format!(", {lo:.2}x the default's speed in the probes"),
        _ => format!(", {lo:.2}x to {hi:.2}x the default's speed in the probes"),
    };
    Some(format!(
        "gpu launch: {count} tuned{range} (each shape: --verbose, and `launch` in the JSON)"
    ))
}

/// The GPU rows' launches, one line per family (per option and path for Monte Carlo, per point
/// for the roofline): the shape, the grid, and what the tuner's probes gained over the default.
pub fn launches(doc: &Document) -> Vec<String> {
    launched(doc)
        .into_iter()
        .map(|(l, what)| format!("gpu launch, {what}: {}", describe_launch(l)))
        .collect()
}

/// Every launch of the document's GPU rows once, with what it ran.
fn launched(doc: &Document) -> Vec<(&Launch, String)> {
    // Stream kernels sharing one launch (one pass, one family) are named together.
    let mut stream: Vec<(&Launch, String, Vec<&str>)> = Vec::new();
    // Under MPI each rank tunes its own GPU; the job rows carry rank 0's launches.
    for r in doc.stream.iter().filter(|r| r.is_job_row()) {
        let Some(l) = &r.launch else { continue };
        let precision = r.precision.name().to_string();
        match stream
            .iter_mut()
            .find(|(o, p, _)| *o == l && *p == precision)
        {
            Some((_, _, kernels)) => kernels.push(r.kernel.name()),
            None => stream.push((l, precision, vec![r.kernel.name()])),
        }
    }
    let mut all: Vec<(&Launch, String)> = stream
        .into_iter()
        .map(|(l, precision, kernels)| (l, format!("{} ({precision})", kernels.join(", "))))
        .collect();
    for r in doc.mc.iter().filter(|r| r.is_job_row()) {
        if let Some(l) = &r.launch {
            let path = r
                .gpu_path
                .map_or(String::new(), |p| format!(" {}", p.name()));
            all.push((l, format!("{}{path}", r.option.name())));
        }
    }
    for r in &doc.roofline {
        if let Some(l) = &r.launch {
            all.push((l, format!("roofline {} FMAs", r.fmas)));
        }
    }
    all
}

/// The chosen shape's speed over the default's, both as the tuner's probes measured them.
fn gain(l: &Launch) -> Option<f64> {
    let time = |shape| {
        l.probes
            .iter()
            .find(|p| p.shape == shape)
            .and_then(|p| p.best_s)
    };
    match (time(l.shape), time(Shape::DEFAULT)) {
        (Some(best), Some(default)) if best > 0.0 => Some(default / best),
        _ => None,
    }
}

fn describe_launch(l: &Launch) -> String {
    let s = l.shape;
    let width = match s.width {
        1 => String::new(),
        w => format!(" x vec{w}"),
    };
    let reduction = match l.reduction {
        Some(Reduction::Subgroup) => ", subgroup reduction",
        Some(Reduction::Tree) => ", tree reduction",
        None => "",
    };
    let mut text = format!(
        "workgroups of {}{width}, sized for {} per invocation, {} groups{reduction}",
        s.workgroup, s.per_invocation, l.groups
    );
    if !l.tuned {
        text.push_str(" (default, --gpu-tune off)");
        return text;
    }
    match gain(l) {
        Some(g) => text.push_str(&format!(
            " ({} shapes probed; {g:.2}x the default's speed in the probe)",
            l.probes.len()
        )),
        None => text.push_str(&format!(" ({} shapes probed)", l.probes.len())),
    }
    text
}

/// The machine, one fact per line; the CPU lists as ranges ("0-55,112-167"), as /sys writes them.
pub fn machine_table(m: &Machine) -> String {
    let mut grid = Grid::new(vec![Column::text(""), Column::text("").free()]);
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
    grid.row(vec!["CPU".to_string(), m.cpu_model.clone()]);
    grid.row(vec!["logical CPUs".to_string(), m.logical_cpus.to_string()]);
    grid.row(vec![
        "allowed CPUs".to_string(),
        cpu_ranges(&m.allowed_cpus),
    ]);
    for c in &m.caches {
        let size = if c.size_bytes >= 1 << 20 {
            format!("{} MiB", c.size_bytes >> 20)
        } else {
            format!("{} KiB", c.size_bytes >> 10)
        };
        grid.row(vec![
            format!("L{} {}", c.level, c.kind.to_lowercase()),
            format!("{size} (shared by CPUs {})", c.shared_cpus),
        ]);
    }
    grid.row(vec![
        "memory".to_string(),
        format!(
            "{} total, {} available",
            gib(m.memory_total_bytes),
            gib(m.memory_available_bytes)
        ),
    ]);
    grid.row(vec![
        "huge pages".to_string(),
        m.transparent_hugepages.clone(),
    ]);
    grid.row(vec![
        "load average".to_string(),
        format!(
            "{:.2} {:.2} {:.2}",
            m.load_average[0], m.load_average[1], m.load_average[2]
        ),
    ]);
    grid.row(vec!["host".to_string(), m.hostname.clone()]);
    grid.row(vec![
        "system".to_string(),
        format!("{}, kernel {}", m.os, m.kernel),
    ]);
    grid.render(table_width())
}

/// CPU numbers as ranges: "0-3,8".
fn cpu_ranges(cpus: &[usize]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &c in cpus {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    let text: Vec<String> = ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    text.join(",")
}

/// How a rate shows the spread of the repetitions its median comes from.
#[derive(Clone, Copy)]
enum Spread {
    /// "±3.2%": the coefficient of variation; a noisy one marked.
    Percent,
    /// Only the mark, where a percentage would not fit.
    Mark,
}

/// What marks a rate whose repetitions vary by more than [`NOISY_CV`].
const NOISY_MARK: &str = "*";

fn spread_note() -> String {
    format!(
        "±: the repetitions' coefficient of variation; {NOISY_MARK}: above {:.0}%, noisy (the median is loose)",
        100.0 * NOISY_CV
    )
}

const THREADS_NOTE: &str = "thr: CPU threads (- for the GPU)";

fn with_spread(rate: String, t: &Timing, how: Spread) -> String {
    let mark = if t.noisy() { NOISY_MARK } else { "" };
    match (how, t.cv) {
        (Spread::Percent, Some(cv)) => {
            let p = 100.0 * cv;
            // Two significant figures: a spread is not known closer.
            let digits = usize::from(p < 9.95);
            format!("{rate} ±{p:.digits$}%{mark}")
        }
        _ => format!("{rate}{mark}"),
    }
}

fn cv_field(t: &Timing) -> String {
    t.cv.map_or(String::new(), |cv| format!("{cv:.6}"))
}

fn valid(v: bool) -> &'static str {
    if v { "yes" } else { "FAILED" }
}

/// Lines that qualify every table of a document: a busy machine, noisy rows.
pub fn caveats(doc: &Document) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(per_core) = doc.busy_load() {
        let [one, five, fifteen] = doc.machine.load_average;
        lines.push(format!(
            "load average {one:.2} {five:.2} {fifteen:.2} when the run started: {per_core:.2} per allowed core, above {BUSY_LOAD_PER_CORE}: other work competed for the cores"
        ));
    }
    let timings = doc
        .stream
        .iter()
        .map(|r| &r.timing)
        .chain(doc.mc.iter().map(|r| &r.timing))
        .chain(doc.roofline.iter().map(|r| &r.timing))
        .chain(doc.transfer.iter().map(|r| &r.timing));
    let (noisy, all) = timings.fold((0, 0), |(n, a), t| (n + usize::from(t.noisy()), a + 1));
    if noisy > 0 {
        lines.push(format!(
            "{noisy} of {all} rows noisy: their repetitions vary by more than {:.0}% (coefficient of variation); their medians are loose",
            100.0 * NOISY_CV
        ));
    }
    lines
}

/// The widest a table may be: 100 columns, or the terminal's `$COLUMNS` when wider (read once).
pub fn table_width() -> usize {
    static WIDTH: OnceLock<usize> = OnceLock::new();
    *WIDTH.get_or_init(|| width_for(std::env::var("COLUMNS").ok().as_deref()))
}

/// The width for a `$COLUMNS` value: narrower or unreadable values give [`MIN_WIDTH`], so that a
/// table never depends on a narrow terminal to be read.
pub fn width_for(columns: Option<&str>) -> usize {
    columns
        .and_then(|c| c.trim().parse().ok())
        .filter(|&w| w > MIN_WIDTH)
        .unwrap_or(MIN_WIDTH)
}

/// Every table fits this many columns by design.
pub const MIN_WIDTH: usize = 100;

/// One column of a [`Grid`].
struct Column {
    header: &'static str,
    right: bool,
    /// Left out when every row holds the same value, which a note line names instead.
    shared: bool,
    /// Free text (a label, a host, a name), cut with an ellipsis where the table would not fit:
    /// the JSON holds it whole. Numbers never are.
    free: bool,
}

impl Column {
    fn text(header: &'static str) -> Self {
        Column {
            header,
            right: false,
            shared: false,
            free: false,
        }
    }

    fn num(header: &'static str) -> Self {
        Column {
            right: true,
            ..Column::text(header)
        }
    }

    /// A column left out, into the note, when every row holds the same value.
    fn shared(self) -> Self {
        Column {
            shared: true,
            ..self
        }
    }

    /// Free text, cut to fit.
    fn free(self) -> Self {
        Column { free: true, ..self }
    }
}

/// A table's cells before layout, and the note lines under it.
struct Grid {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Grid {
    fn new(columns: Vec<Column>) -> Self {
        Grid {
            columns,
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    fn note(&mut self, line: &str) {
        self.notes.push(line.to_string());
    }

    /// The table in `width` columns: shared columns moved to a note, free text cut if it must
    /// be, then the notes, wrapped.
    fn render(mut self, width: usize) -> String {
        let mut same = Vec::new();
        for c in (0..self.columns.len()).rev() {
            // "-" (the GPU's threads) does not count against a value every other row shares.
            let mut values = self.rows.iter().map(|r| &r[c]).filter(|v| *v != "-");
            let first = values.next().cloned();
            if let Some(value) = first.filter(|v| self.columns[c].shared && values.all(|o| o == v))
            {
                let or_none = if self.rows.iter().any(|r| r[c] == "-") {
                    " (or -)"
                } else {
                    ""
                };
                same.push(format!("{} {value}{or_none}", self.columns[c].header));
                self.columns.remove(c);
                self.rows.iter_mut().for_each(|r| drop(r.remove(c)));
            }
        }
        if !same.is_empty() {
            same.reverse();
            self.notes
                .insert(0, format!("in every row: {}", same.join("; ")));
        }
        self.cut_free_text(width);
        let headers: Vec<&str> = self.columns.iter().map(|c| c.header).collect();
        let mut table = new_table(&headers);
        for cells in self.rows {
            table.add_row(cells.into_iter().zip(&self.columns).map(|(text, c)| {
                let cell = Cell::new(text);
                if c.right {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        let mut text = table.to_string();
        for note in &self.notes {
            for line in wrap(note, width) {
                text.push('\n');
                text.push_str(&line);
            }
        }
        text
    }

    /// Narrows the widest free column, one character at a time, until the table fits.
    fn cut_free_text(&mut self, width: usize) {
        let chars = |s: &str| s.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.rows
                    .iter()
                    .map(|r| chars(&r[i]))
                    .fold(c.header.chars().count(), usize::max)
            })
            .collect();
        // Each column takes "| " before it and a space after it; the last "|" one more.
        let total = |widths: &[usize]| widths.iter().sum::<usize>() + 3 * widths.len() + 1;
        let free = |c: &Column| c.free;
        while total(&widths) > width {
            let Some(i) = (0..widths.len())
                .filter(|&i| free(&self.columns[i]) && widths[i] > MIN_FREE)
                .max_by_key(|&i| widths[i])
            else {
                break;
            };
            widths[i] -= 1;
        }
        for (i, &w) in widths.iter().enumerate() {
            if self.columns[i].free {
                for r in &mut self.rows {
                    let lines: Vec<String> = r[i].lines().map(|l| ellipsis(l, w)).collect();
                    r[i] = lines.join("\n");
                }
            }
        }
    }
}

/// The narrowest a free column is cut to: past that, the table is let run wider.
const MIN_FREE: usize = 8;

/// `text` in at most `width` characters, its middle replaced by "…" (the ends of a label or a
/// host name tell it apart: "asian-geo…, native").
fn ellipsis(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let chars: Vec<char> = text.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[n - tail..]);
    out
}

/// `text` broken at spaces into lines of at most `width` characters (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        if line.is_empty() {
            line.push_str(word);
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(format!("  {word}"));
        }
    }
    lines
}

pub(crate) fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::ASCII_MARKDOWN);
    if header.iter().any(|h| !h.is_empty()) {
        table.set_header(header.to_vec());
    }
    table
}

/// CPU threads, or "-" for the GPU.
fn threads(t: usize) -> String {
    if t == 0 {
        "-".to_string()
    } else {
        t.to_string()
    }
}

pub(crate) fn num(text: String) -> Cell {
    Cell::new(text).set_alignment(CellAlignment::Right)
}

/// BabelStream's CSV columns as its current `--csv` writes them by default (its `function` names,
/// `num_times` counting the warm-up as it does, 10^6 bytes per second), so that its scripts read
/// ours; then HexPylot's own: backend, precision, threads, the median, the coefficient of variation,
/// whether the run validated, and the store kind.
pub fn stream_csv(rows: &[StreamRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let ranked = rows.iter().any(|r| r.scope.is_some());
    let mut header = vec![
        "function",
        "num_times",
        "n_elements",
        "sizeof",
        "max_MB_per_sec",
        "min_runtime",
        "max_runtime",
        "avg_runtime",
        "backend",
        "precision",
        "threads",
        "median_runtime",
        "cv",
        "valid",
        "stores",
    ];
    if ranked {
        header.extend(SCOPE_COLUMNS);
    }
    w.write_record(header)?;
    for r in rows {
        let mut record = vec![
            r.kernel.spec().babelstream.to_string(),
            (r.reps + 1).to_string(),
            r.n.to_string(),
            r.precision.bytes().to_string(),
            format!("{:.3}", r.gbs_best * 1e3),
            format!("{:.9}", r.timing.min_s),
            format!("{:.9}", r.timing.max_s),
            r.timing.mean_s.map_or(String::new(), |m| format!("{m:.9}")),
            r.backend.name().to_string(),
            r.precision.name().to_string(),
            r.threads.to_string(),
            format!("{:.9}", r.timing.median_s),
            cv_field(&r.timing),
            r.valid.to_string(),
            r.stores.map_or("", store_kind_name).to_string(),
        ];
        if ranked {
            record.extend(scope_fields(&r.scope));
        }
        w.write_record(record)?;
    }
    w.into_inner().context("finishing the CSV")
}

/// The CSV of a document: the compare rows where it has them, else the transfer rows, else the
/// roofline points, else the stream rows in BabelStream's format, else the Monte Carlo rows.
pub fn csv(doc: &Document) -> Result<Vec<u8>> {
    if !doc.compare.is_empty() {
        compare_csv(&doc.compare)
    } else if !doc.transfer.is_empty() {
        transfer_csv(&doc.transfer)
    } else if !doc.roofline.is_empty() {
        roofline_csv(&doc.roofline)
    } else if !doc.stream.is_empty() {
        stream_csv(&doc.stream)
    } else {
        mc_csv(&doc.mc)
    }
}

/// Every row's validation in full, one line each (`--verbose`).
pub fn checks(doc: &Document) -> Vec<String> {
    let stream = doc.stream.iter().map(|r| {
        format!(
            "check: {} on {} ({}, n = {}): {}",
            r.kernel.name(),
            r.backend.name(),
            r.precision.name(),
            r.n,
            r.check
        )
    });
    let mc = doc.mc.iter().map(|r| {
        format!(
            "check: {} on {} ({} paths): {}",
            r.option.name(),
            r.backend.name(),
            r.paths,
            r.check
        )
    });
    let roofline = doc.roofline.iter().map(|r| {
        format!(
            "check: roofline on {} at {} FMAs: {}",
            r.backend.name(),
            r.fmas,
            r.check
        )
    });
    let transfer = doc
        .transfer
        .iter()
        .map(|r| format!("check: {} of {} bytes: {}", r.kind.name(), r.bytes, r.check));
    stream.chain(mc).chain(roofline).chain(transfer).collect()
}
