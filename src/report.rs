//! Results as people and programs read them: tables, JSON documents and BabelStream CSV (written
//! by [`crate::output`]).

use anyhow::{Context, Result};
use comfy_table::{Cell, CellAlignment, Table, presets};

use crate::backend::BackendKind;
use crate::gpu::AdapterSummary;
use crate::machine::Machine;
use crate::results::{
    BUSY_LOAD_PER_CORE, CompareRow, Document, Launch, McRow, NOISY_CV, Reduction, RooflineRow,
    Scope, StreamRow, Timing, TransferRow, store_kind_name,
};
use cpu_kernels::stream::Stores;

pub fn roofline_table(rows: &[RooflineRow]) -> Table {
    let mut table = new_table(&[
        "backend",
        "threads",
        "n",
        "FMAs",
        "FLOP/byte",
        "GFLOP/s",
        "GB/s",
        "median ms",
        "spread",
        "valid",
    ]);
    for r in rows {
        table.add_row(vec![
            Cell::new(r.backend.name()),
            num(threads(r.threads)),
            num(r.n.to_string()),
            num(r.fmas.to_string()),
            num(format!("{:.2}", r.intensity)),
            num(format!("{:.2}", r.gflops)),
            num(format!("{:.2}", r.gbs)),
            num(format!("{:.4}", r.timing.median_s * 1e3)),
            num(spread(&r.timing)),
            Cell::new(valid(r.valid)),
        ]);
    }
    table
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
pub fn transfer_table(rows: &[TransferRow]) -> Table {
    let mut table = new_table(&[
        "transfer",
        "bytes",
        "size",
        "reps",
        "GB/s",
        "median µs",
        "spread",
        "µs/dispatch",
        "valid",
    ]);
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    for r in rows {
        let (bytes, size) = if r.kind.is_launch() {
            let n = r.dispatches.unwrap_or(0);
            let s = if n == 1 { "" } else { "es" };
            ("-".to_string(), format!("{n} dispatch{s}"))
        } else {
            (r.bytes.to_string(), human_bytes(u128::from(r.bytes)))
        };
        table.add_row(vec![
            Cell::new(r.kind.name()),
            num(bytes),
            num(size),
            num(r.reps.to_string()),
            num(opt(r.gbs, 3)),
            num(format!("{:.1}", r.timing.median_s * 1e6)),
            num(spread(&r.timing)),
            num(opt(r.us_per_dispatch, 2)),
            Cell::new(valid(r.valid)),
        ]);
    }
    table
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

/// The compare table, 100 columns at most with the short agreement and bound cells (`verbose`:
/// the full ones). Rates are GB/s for stream kernels and million paths/s for options, as the
/// note under the table says: a unit column would not fit.
pub fn compare_table(rows: &[CompareRow], verbose: bool) -> Table {
    let mut table = new_table(&[
        "kernel", "engine", "rayon", "GPU", "GPU e2e", "GPU/eng", "agree", "bound",
    ]);
    let value = |v: Option<f64>| num(v.map_or("-".to_string(), rate));
    for r in rows {
        let (agree, bound) = if verbose || r.agree_short.is_empty() {
            (&r.agree, &r.bound)
        } else {
            (&r.agree_short, &r.bound_short)
        };
        table.add_row(vec![
            Cell::new(&r.kernel),
            value(r.engine),
            value(r.rayon),
            value(r.gpu_kernel),
            value(r.gpu_end_to_end),
            num(r
                .gpu_over_engine
                .map_or("-".to_string(), |v| format!("{}x", rate(v)))),
            Cell::new(agree),
            Cell::new(bound),
        ]);
    }
    table
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
            r.kernel.clone(),
            r.unit.name().to_string(),
            value(r.engine),
            value(r.rayon),
            value(r.gpu_kernel),
            value(r.gpu_end_to_end),
            value(r.gpu_over_engine),
            r.agrees.to_string(),
            r.agree.clone(),
            r.bound.clone(),
        ])?;
    }
    w.into_inner().context("writing CSV")
}

/// The adapters wgpu found; `chosen` is the one the GPU backend would use.
pub fn adapters_table(adapters: &[AdapterSummary], chosen: Option<usize>) -> Table {
    let mut table = new_table(&[
        "",
        "adapter",
        "backend",
        "type",
        "driver",
        "timestamps",
        "f64",
        "max buffer",
        "max binding",
        "groups/dim",
    ]);
    let mib = |b: u64| format!("{} MiB", b >> 20);
    for (i, a) in adapters.iter().enumerate() {
        table.add_row(vec![
            Cell::new(if Some(i) == chosen { "*" } else { "" }),
            Cell::new(&a.name),
            Cell::new(&a.backend),
            Cell::new(&a.device_type),
            Cell::new(format!("{} {}", a.driver, a.driver_info)),
            Cell::new(if a.timestamp_queries { "yes" } else { "no" }),
            Cell::new(if a.shader_f64 { "yes" } else { "no" }),
            num(mib(a.limits.max_buffer_size)),
            num(mib(a.limits.max_storage_buffer_binding_size)),
            num(a.limits.max_compute_workgroups_per_dimension.to_string()),
        ]);
    }
    table
}

pub fn stream_table(rows: &[StreamRow]) -> Table {
    let ranked = rows.iter().any(|r| r.scope.is_some());
    let mut table = new_table(&scoped_header(
        ranked,
        &[
            "kernel",
            "backend",
            "prec",
            "threads",
            "n",
            "GB/s median",
            "GB/s best",
            "median ms",
            "spread",
            "stores",
            "vs rayon",
            "valid",
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
        table.add_row(with_scope(
            &r.scope,
            ranked,
            vec![
                Cell::new(r.kernel.name()),
                Cell::new(r.backend.name()),
                Cell::new(r.precision.name()),
                num(threads(r.threads)),
                num(r.n.to_string()),
                num(format!("{:.2}", r.gbs_median)),
                num(format!("{:.2}", r.gbs_best)),
                num(format!("{:.4}", r.timing.median_s * 1e3)),
                num(spread(&r.timing)),
                Cell::new(stores_cell(r)),
                num(vs_rayon),
                Cell::new(valid(r.valid)),
            ],
        ));
    }
    table
}

/// Under MPI, the rank column after the first two: "job of N" for the job's row, "rank R
/// (host)" for a rank's own.
fn with_scope(scope: &Option<Scope>, ranked: bool, mut cells: Vec<Cell>) -> Vec<Cell> {
    if ranked {
        cells.insert(
            2,
            Cell::new(match scope {
                Some(Scope::Aggregate { ranks }) => format!("job of {ranks}"),
                Some(Scope::Rank { rank, host }) => format!("rank {rank} ({host})"),
                None => "-".to_string(),
            }),
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

/// The header, with the rank column where [`with_scope`] puts it.
fn scoped_header<'a>(ranked: bool, names: &[&'a str]) -> Vec<&'a str> {
    let mut names = names.to_vec();
    if ranked {
        names.insert(2, "ranks");
    }
    names
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

pub fn mc_table(rows: &[McRow]) -> Table {
    let ranked = rows.iter().any(|r| r.scope.is_some());
    let mut table = new_table(&scoped_header(
        ranked,
        &[
            "option",
            "backend",
            "threads",
            "paths",
            "steps",
            "M paths/s",
            "spread",
            "price",
            "std error",
            "reference",
            "z",
            "valid",
        ],
    ));
    for r in rows {
        table.add_row(with_scope(
            &r.scope,
            ranked,
            vec![
                Cell::new(r.option.name()),
                Cell::new(match r.gpu_path {
                    Some(p) => format!("{} {}", r.backend.name(), p.name()),
                    None => r.backend.name().to_string(),
                }),
                num(threads(r.threads)),
                num(r.paths.to_string()),
                num(r.steps.to_string()),
                num(format!("{:.1}", r.paths_per_s / 1e6)),
                num(spread(&r.timing)),
                num(format!("{:.6}", r.price)),
                num(format!("{:.6}", r.std_error)),
                num(r
                    .reference
                    .map_or_else(|| "-".into(), |v| format!("{v:.6}"))),
                num(r.z_score.map_or_else(|| "-".into(), |z| format!("{z:+.2}"))),
                Cell::new(valid(r.valid)),
            ],
        ));
    }
    table
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

/// The GPU rows' launches, one line per family (per option and path for Monte Carlo, per point
/// for the roofline): the shape, the grid, and what the tuner's probes gained over the default.
pub fn launches(doc: &Document) -> Vec<String> {
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
    let mut lines: Vec<String> = stream
        .iter()
        .map(|(l, precision, kernels)| {
            format!(
                "gpu launch, {} ({precision}): {}",
                kernels.join(", "),
                describe_launch(l)
            )
        })
        .collect();
    for r in doc.mc.iter().filter(|r| r.is_job_row()) {
        if let Some(l) = &r.launch {
            let path = r
                .gpu_path
                .map_or(String::new(), |p| format!(" {}", p.name()));
            lines.push(format!(
                "gpu launch, {}{path}: {}",
                r.option.name(),
                describe_launch(l)
            ));
        }
    }
    for r in &doc.roofline {
        if let Some(l) = &r.launch {
            lines.push(format!(
                "gpu launch, roofline {} FMAs: {}",
                r.fmas,
                describe_launch(l)
            ));
        }
    }
    lines
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
    let time = |shape| {
        l.probes
            .iter()
            .find(|p| p.shape == shape)
            .and_then(|p| p.best_s)
    };
    let default = crate::gpu::launch::DEFAULT_SHAPE;
    match (time(s), time(default)) {
        (Some(best), Some(d)) if best > 0.0 => text.push_str(&format!(
            " ({} shapes probed; {:.2}x the default's speed in the probe)",
            l.probes.len(),
            d / best
        )),
        _ => text.push_str(&format!(" ({} shapes probed)", l.probes.len())),
    }
    text
}

pub fn machine_table(m: &Machine) -> Table {
    let mut table = new_table(&["", ""]);
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
    table.add_row(vec!["CPU".to_string(), m.cpu_model.clone()]);
    table.add_row(vec!["logical CPUs".to_string(), m.logical_cpus.to_string()]);
    table.add_row(vec![
        "allowed CPUs".to_string(),
        format!("{:?}", m.allowed_cpus),
    ]);
    for c in &m.caches {
        let size = if c.size_bytes >= 1 << 20 {
            format!("{} MiB", c.size_bytes >> 20)
        } else {
            format!("{} KiB", c.size_bytes >> 10)
        };
        table.add_row(vec![
            format!("L{} {}", c.level, c.kind.to_lowercase()),
            format!("{size} (shared by CPUs {})", c.shared_cpus),
        ]);
    }
    table.add_row(vec![
        "memory".to_string(),
        format!(
            "{} total, {} available",
            gib(m.memory_total_bytes),
            gib(m.memory_available_bytes)
        ),
    ]);
    table.add_row(vec![
        "transparent huge pages".to_string(),
        m.transparent_hugepages.clone(),
    ]);
    table.add_row(vec![
        "load average".to_string(),
        format!(
            "{:.2} {:.2} {:.2}",
            m.load_average[0], m.load_average[1], m.load_average[2]
        ),
    ]);
    table.add_row(vec![
        "host".to_string(),
        format!("{} ({}, kernel {})", m.hostname, m.os, m.kernel),
    ]);
    table
}

/// The coefficient of variation of the timed repetitions, flagged past [`NOISY_CV`].
fn spread(t: &Timing) -> String {
    match t.cv {
        None => "-".to_string(),
        Some(cv) if t.noisy() => format!("{:.1}% noisy", 100.0 * cv),
        Some(cv) => format!("{:.1}%", 100.0 * cv),
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

/// Bytes in binary units, one decimal: "4.0 KiB", "1.0 GiB".
pub(crate) fn human_bytes(bytes: u128) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
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
