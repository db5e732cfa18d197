//! Results as people and programs read them: tables, JSON documents and BabelStream CSV (written
//! by [`crate::output`]).

use anyhow::{Context, Result};
use comfy_table::{Cell, CellAlignment, Table, presets};
use serde::Serialize;

use crate::backend::BackendKind;
use crate::bench::{Ceiling, Timing};
use crate::gpu::AdapterSummary;
use crate::kernels::{StreamKernel, stores_name};
use crate::machine::Machine;
use cpu_kernels::stream::Stores;

#[derive(Clone, Debug, Serialize)]
pub struct StreamRow {
    pub kernel: &'static str,
    pub backend: &'static str,
    pub precision: &'static str,
    pub threads: usize,
    pub n: usize,
    /// BabelStream's byte count for one run of the kernel (decimal GB below).
    pub bytes_per_rep: u64,
    /// Timed repetitions (the warm-up is not counted).
    pub reps: usize,
    #[serde(flatten)]
    pub timing: Timing,
    pub gbs_median: f64,
    pub gbs_best: f64,
    pub valid: bool,
    /// What the validation compared, or why it failed.
    pub check: String,
    /// Offload devices only: the median kernel time (the same as `median_s`)...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_s: Option<f64>,
    /// ...and the median time from host data to host results (upload, kernel, download).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_s: Option<f64>,
    /// ...and whether that median came out below the kernel-only one. No end-to-end run can beat
    /// the kernel it contains, but the two medians come from different runs, one set after the
    /// other: a shared machine's load can change between them by more than the upload and
    /// download add (on lavapipe: a few percent of dot's time). The check says so too; neither
    /// rate is then to be read closer than that change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_below_kernel: Option<bool>,
    /// The store kind the kernel wrote its output with (`"cached"` or `"streaming"`); `null` for
    /// dot, which writes nothing, and for backends whose stores are their driver's (the GPU).
    #[serde(serialize_with = "crate::kernels::serialize_stores")]
    pub stores: Option<Stores>,
    /// What the `--stores auto` probe measured on these arrays; `null` when the kind was fixed.
    pub store_probe: Option<StoreProbe>,
}

/// The `--stores auto` probe's figures for one kernel: each kind's best run over the probe's
/// rounds, in GB/s (BabelStream's byte count, like the row's own figures).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StoreProbe {
    pub cached_gbs: f64,
    pub streaming_gbs: f64,
    /// Runs of the kernel with each kind.
    pub rounds: usize,
}

impl StreamRow {
    #[allow(clippy::too_many_arguments)] // one row's worth of facts, all named at the call site
    pub fn new(
        kernel: StreamKernel,
        backend: BackendKind,
        precision: &'static str,
        threads: usize,
        n: usize,
        bytes: u64,
        timing: Timing,
        reps: usize,
        valid: bool,
        check: String,
    ) -> StreamRow {
        StreamRow {
            kernel: kernel.name(),
            backend: backend.name(),
            precision,
            threads,
            n,
            bytes_per_rep: bytes,
            reps,
            timing,
            gbs_median: bytes as f64 / timing.median_s / 1e9,
            gbs_best: bytes as f64 / timing.min_s / 1e9,
            valid,
            check,
            kernel_s: None,
            end_to_end_s: None,
            end_to_end_below_kernel: None,
            stores: None,
            store_probe: None,
        }
    }

    /// Adds the store kind the kernel ran with and the probe that chose it.
    pub fn with_stores(mut self, stores: Option<Stores>, probe: Option<StoreProbe>) -> Self {
        self.stores = stores;
        self.store_probe = probe;
        self
    }

    /// Adds an offload device's kernel and end-to-end times, and flags an end-to-end median below
    /// the kernel-only one.
    pub fn with_device_times(mut self, offload: bool, end_to_end: Option<Timing>) -> Self {
        if offload {
            let kernel = self.timing.median_s;
            self.kernel_s = Some(kernel);
            self.end_to_end_s = end_to_end.map(|t| t.median_s);
            self.end_to_end_below_kernel = self.end_to_end_s.map(|e| e < kernel);
            if let Some(e) = self.end_to_end_s.filter(|&e| e < kernel) {
                self.check.push_str(&format!(
                    "; end-to-end median {:.3} ms below the kernel-only {:.3} ms: the machine's load changed between the two sets of runs",
                    e * 1e3,
                    kernel * 1e3
                ));
            }
        }
        self
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct McRow {
    pub option: &'static str,
    pub backend: &'static str,
    pub threads: usize,
    pub paths: u64,
    pub steps: u32,
    pub seed: u64,
    pub reps: usize,
    #[serde(flatten)]
    pub timing: Timing,
    pub paths_per_s: f64,
    pub price: f64,
    pub std_error: f64,
    /// The closed-form price, where one exists.
    pub reference: Option<f64>,
    pub z_score: Option<f64>,
    /// How the price was checked: "z-score" (against the closed form or, for arithmetic Asians,
    /// the AM-GM bound) or "zero-variance" (within the f32 rounding bound of the path arithmetic,
    /// where the standard error is zero or below it).
    pub method: &'static str,
    pub check: String,
    pub valid: bool,
    /// Offload devices only: the median kernel time, and the median host-to-host time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_s: Option<f64>,
}

/// One point of the roofline sweep on one backend.
#[derive(Clone, Debug, Serialize)]
pub struct RooflineRow {
    pub backend: &'static str,
    pub threads: usize,
    pub n: usize,
    pub fmas: u32,
    /// Arithmetic intensity, FLOP per byte moved (2·fmas flops per 8 bytes).
    pub intensity: f64,
    #[serde(flatten)]
    pub timing: Timing,
    /// From the median time.
    pub gflops: f64,
    pub gbs: f64,
    pub valid: bool,
    pub check: String,
}

/// Where a thread sweep's CPU curve flattens.
#[derive(Clone, Debug, Serialize)]
pub struct MemoryWall {
    pub backend: &'static str,
    pub threads: usize,
    pub gbs: f64,
    /// `gbs` over the best bandwidth measured at any thread count.
    pub fraction_of_best: f64,
}

/// What a sweep found, in numbers and in words.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sweep {
    /// "threads", "sizes" or "roofline".
    pub kind: &'static str,
    pub findings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ceilings: Vec<Ceiling>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_even_n: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_wall: Option<MemoryWall>,
}

/// One line of `compare`: a kernel on every backend, side by side.
#[derive(Clone, Debug, Serialize)]
pub struct CompareRow {
    pub kernel: String,
    /// "GB/s" or "M paths/s".
    pub unit: &'static str,
    pub engine: Option<f64>,
    pub rayon: Option<f64>,
    pub gpu_kernel: Option<f64>,
    pub gpu_end_to_end: Option<f64>,
    /// GPU kernel-only over engine.
    pub gpu_over_engine: Option<f64>,
    /// Whether the GPU's results agree with the engine's, and within what.
    pub agree: String,
    pub agrees: bool,
    /// Memory- or compute-bound, and the fraction of each device's best measured rate reached.
    pub bound: String,
}

/// Everything one command measured, as `--json` writes it.
#[derive(Serialize)]
pub struct Document<'a> {
    pub machine: &'a Machine,
    pub command: String,
    pub version: &'static str,
    /// The GPU adapter the GPU rows ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<&'a AdapterSummary>,
    /// Why the GPU rows are missing, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_missing: Option<&'a str>,
    /// Every adapter wgpu found (`devices` only).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub adapters: &'a [AdapterSummary],
    pub stream: &'a [StreamRow],
    pub mc: &'a [McRow],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub compare: &'a [CompareRow],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub roofline: &'a [RooflineRow],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<&'a Sweep>,
}

impl<'a> Document<'a> {
    /// A document for this command line, with no rows yet.
    pub fn new(machine: &'a Machine) -> Self {
        Document {
            machine,
            // Lossy: a path that is not UTF-8 is still recorded (std::env::args would panic).
            command: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            version: env!("CARGO_PKG_VERSION"),
            gpu: None,
            gpu_missing: None,
            adapters: &[],
            stream: &[],
            mc: &[],
            compare: &[],
            roofline: &[],
            sweep: None,
        }
    }
}

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
        "valid",
    ]);
    for r in rows {
        table.add_row(vec![
            Cell::new(r.backend),
            num(threads(r.threads)),
            num(r.n.to_string()),
            num(r.fmas.to_string()),
            num(format!("{:.2}", r.intensity)),
            num(format!("{:.2}", r.gflops)),
            num(format!("{:.2}", r.gbs)),
            num(format!("{:.4}", r.timing.median_s * 1e3)),
            Cell::new(if r.valid { "yes" } else { "FAILED" }),
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
        "fmas",
        "flop_per_byte",
        "median_s",
        "min_s",
        "max_s",
        "gflops",
        "gbs",
        "valid",
    ])?;
    for r in rows {
        w.write_record([
            r.backend.to_string(),
            r.threads.to_string(),
            r.n.to_string(),
            r.fmas.to_string(),
            r.intensity.to_string(),
            r.timing.median_s.to_string(),
            r.timing.min_s.to_string(),
            r.timing.max_s.to_string(),
            r.gflops.to_string(),
            r.gbs.to_string(),
            r.valid.to_string(),
        ])?;
    }
    w.into_inner().context("writing CSV")
}

pub fn compare_table(rows: &[CompareRow]) -> Table {
    let mut table = new_table(&[
        "kernel",
        "unit",
        "engine",
        "rayon",
        "GPU kernel-only",
        "GPU end-to-end",
        "GPU / engine",
        "agree",
        "bound",
    ]);
    let value = |v: Option<f64>| num(v.map_or("-".to_string(), |v| format!("{v:.2}")));
    for r in rows {
        table.add_row(vec![
            Cell::new(&r.kernel),
            Cell::new(r.unit),
            value(r.engine),
            value(r.rayon),
            value(r.gpu_kernel),
            value(r.gpu_end_to_end),
            num(r
                .gpu_over_engine
                .map_or("-".to_string(), |v| format!("{v:.2}x"))),
            Cell::new(&r.agree),
            Cell::new(&r.bound),
        ]);
    }
    table
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
    let mut table = new_table(&[
        "kernel",
        "backend",
        "prec",
        "threads",
        "n",
        "GB/s median",
        "GB/s best",
        "median ms",
        "min ms",
        "max ms",
        "stores",
        "vs rayon",
        "valid",
    ]);
    for r in rows {
        // The engine's lead over rayon on the same kernel, precision and size: the number the
        // engine exists to move.
        let vs_rayon = rows
            .iter()
            .find(|o| {
                o.backend == "rayon"
                    && r.backend != "rayon"
                    && (o.kernel, o.precision, o.n) == (r.kernel, r.precision, r.n)
            })
            .map_or(String::new(), |o| {
                format!("{:.2}x", r.gbs_median / o.gbs_median)
            });
        table.add_row(vec![
            Cell::new(r.kernel),
            Cell::new(r.backend),
            Cell::new(r.precision),
            num(threads(r.threads)),
            num(r.n.to_string()),
            num(format!("{:.2}", r.gbs_median)),
            num(format!("{:.2}", r.gbs_best)),
            num(format!("{:.4}", r.timing.median_s * 1e3)),
            num(format!("{:.4}", r.timing.min_s * 1e3)),
            num(format!("{:.4}", r.timing.max_s * 1e3)),
            Cell::new(stores_cell(r)),
            num(vs_rayon),
            Cell::new(if r.valid { "yes" } else { "FAILED" }),
        ]);
    }
    table
}

/// The store kind, with the probe's margin when it was measured ("streaming 1.31x": streaming
/// was 1.31 times as fast as cached in the probe; "cached 1.02x" the other way round).
fn stores_cell(r: &StreamRow) -> String {
    match (r.stores, r.store_probe) {
        (None, _) => "-".to_string(),
        (Some(k), None) => stores_name(k).to_string(),
        (Some(k), Some(p)) => {
            let ratio = match k {
                Stores::Streaming => p.streaming_gbs / p.cached_gbs,
                Stores::Cached => p.cached_gbs / p.streaming_gbs,
            };
            format!("{} {ratio:.2}x", stores_name(k))
        }
    }
}

/// One line per CPU backend naming the store kind each kernel ran with, for tables that have no
/// stores column (`compare`); `None` when no row has a store kind.
pub fn stores_summary(rows: &[StreamRow]) -> Option<String> {
    let mut backends: Vec<&str> = rows
        .iter()
        .filter(|r| r.stores.is_some())
        .map(|r| r.backend)
        .collect();
    backends.dedup();
    let lines: Vec<String> = backends
        .iter()
        .map(|b| {
            let kinds: Vec<String> = rows
                .iter()
                .filter(|r| r.backend == *b && r.stores.is_some())
                .map(|r| format!("{} {}", r.kernel, stores_cell(r)))
                .collect();
            format!("stores on {b}: {}", kinds.join(", "))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

pub fn mc_table(rows: &[McRow]) -> Table {
    let mut table = new_table(&[
        "option",
        "backend",
        "threads",
        "paths",
        "steps",
        "M paths/s",
        "price",
        "std error",
        "reference",
        "z",
        "valid",
    ]);
    for r in rows {
        table.add_row(vec![
            Cell::new(r.option),
            Cell::new(r.backend),
            num(threads(r.threads)),
            num(r.paths.to_string()),
            num(r.steps.to_string()),
            num(format!("{:.1}", r.paths_per_s / 1e6)),
            num(format!("{:.6}", r.price)),
            num(format!("{:.6}", r.std_error)),
            num(r
                .reference
                .map_or_else(|| "-".into(), |v| format!("{v:.6}"))),
            num(r.z_score.map_or_else(|| "-".into(), |z| format!("{z:+.2}"))),
            Cell::new(if r.valid { "yes" } else { "FAILED" }),
        ]);
    }
    table
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

fn new_table(header: &[&str]) -> Table {
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

fn num(text: String) -> Cell {
    Cell::new(text).set_alignment(CellAlignment::Right)
}

/// BabelStream's CSV columns, then HexPylot's own: which backend and precision, the median, and
/// whether the run validated.
pub fn stream_csv(rows: &[StreamRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "function",
        "num_times",
        "n_elements",
        "sizeof",
        "max_mbytes_per_sec",
        "min_runtime",
        "max_runtime",
        "avg_runtime",
        "backend",
        "precision",
        "threads",
        "median_runtime",
        "valid",
        "stores",
    ])?;
    for r in rows {
        let sizeof = if r.precision == "f64" { 8 } else { 4 };
        w.write_record([
            r.kernel.to_string(),
            r.reps.to_string(),
            r.n.to_string(),
            sizeof.to_string(),
            format!("{:.3}", r.gbs_best * 1e3),
            format!("{:.9}", r.timing.min_s),
            format!("{:.9}", r.timing.max_s),
            format!("{:.9}", r.timing.mean_s),
            r.backend.to_string(),
            r.precision.to_string(),
            r.threads.to_string(),
            format!("{:.9}", r.timing.median_s),
            r.valid.to_string(),
            r.stores.map_or("", stores_name).to_string(),
        ])?;
    }
    w.into_inner().context("finishing the CSV")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kernel_s: f64) -> StreamRow {
        let timing = Timing::from_times(&mut [kernel_s]);
        StreamRow::new(
            StreamKernel::Copy,
            BackendKind::Gpu,
            "f32",
            0,
            1 << 22,
            1 << 25,
            timing,
            1,
            true,
            "exact".to_string(),
        )
    }

    /// An end-to-end median below the kernel-only one is flagged in the data and in the check, and
    /// nothing else changes: the row stays valid, both times are reported as measured.
    #[test]
    fn an_end_to_end_median_below_the_kernel_is_flagged() {
        let e2e = |s: f64| Some(Timing::from_times(&mut [s]));
        let below = row(0.060).with_device_times(true, e2e(0.056));
        assert_eq!(below.end_to_end_below_kernel, Some(true));
        assert!(below.valid);
        assert_eq!(
            (below.kernel_s, below.end_to_end_s),
            (Some(0.060), Some(0.056))
        );
        assert!(
            below
                .check
                .starts_with("exact; end-to-end median 56.000 ms below the kernel-only 60.000 ms"),
            "{}",
            below.check
        );

        let above = row(0.060).with_device_times(true, e2e(0.090));
        assert_eq!(above.end_to_end_below_kernel, Some(false));
        assert_eq!(above.check, "exact");

        let host = row(0.060).with_device_times(false, None);
        assert_eq!(host.end_to_end_below_kernel, None);
        let json = serde_json::to_value(&host).unwrap();
        assert!(json.get("end_to_end_below_kernel").is_none(), "{json}");
    }
}
