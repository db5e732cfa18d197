//! The results model: every row and document HexPylot writes (`--json`) and reads back (`chart`,
//! `diff`, `compare --roofline`). These types are the schema: the writer serialises them and
//! every reader deserialises them, so a renamed field is a compile error or a refused file, never
//! a silently dropped row. `docs/results.md` documents each field.
//!
//! Version 1 (documents with no `schema_version`, HexPylot before the typed model) is read too:
//! every field version 2 added has a default, and [`Document::upgrade`] fills in what can be
//! derived (the label). A document from a newer HexPylot is refused with a one-line reason, and
//! so is one holding a number no run writes (a negative spread, a zero or subnormal rate): each
//! kind of number is held to one rule (`Rule`) as the document is read.

use std::path::Path;

use clap::ValueEnum;
use clap::builder::PossibleValue;
use cpu_kernels::mc::McSums;
use cpu_kernels::stream::Stores;
use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;
use crate::gpu::AdapterSummary;
use crate::kernels::{OptionKind, StreamKernel};
use crate::machine::Machine;

/// A row's place in a job: one rank's own, or the job's aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Scope {
    /// Measured on rank `rank` alone (its arrays, its share of the paths).
    Rank { rank: usize, host: String },
    /// All `ranks` ranks together: each repetition's time the slowest rank's.
    Aggregate { ranks: usize },
}

impl Scope {
    /// The ranks the row's figures are of.
    pub fn ranks(&self) -> usize {
        match self {
            Scope::Rank { .. } => 1,
            Scope::Aggregate { ranks } => *ranks,
        }
    }
}

/// The job a document's rows ran in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub ranks: usize,
    /// The distinct hosts, in the order of their first rank.
    pub hosts: Vec<String>,
    /// Ranks on each of `hosts`.
    pub ranks_per_host: Vec<usize>,
    /// The MPI library's version line.
    pub library: String,
}

/// The version this HexPylot writes. 1: untyped documents (no `schema_version` field).
/// 2: `schema_version`, `label`, `created_utc`, `build`; rows gained `cv`, Monte Carlo rows their
/// market parameters and raw sums, ceilings the memory level, threads and precision they were
/// measured at. `transfer` rows came later within version 2: an additive field with a default,
/// which older version 2 readers ignore and this one reads as empty where absent.
pub const SCHEMA_VERSION: u32 = 2;

/// A row whose timed repetitions vary more than this (coefficient of variation) is flagged
/// `noisy`: its median is then a loose estimate, and comparing it with another row needs care.
pub const NOISY_CV: f64 = 0.05;

/// A load average above this many runnable tasks per allowed core means another program competed
/// for the cores while the run started.
pub const BUSY_LOAD_PER_CORE: f64 = 0.5;

/// The element type of the stream arrays (and of the roofline array).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    F64,
}

impl Precision {
    pub const ALL: [Precision; 2] = [Precision::F32, Precision::F64];

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }

    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F64 => 8,
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ValueEnum for Precision {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

/// Summary of the timed repetitions (the warm-up already dropped).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    /// `null` in the oldest version 1 documents, which did not record it.
    #[serde(default)]
    pub mean_s: Option<f64>,
    /// Coefficient of variation of the timed repetitions (sample standard deviation over the
    /// mean); `null` in version 1 documents, and with a single repetition.
    #[serde(default)]
    pub cv: Option<f64>,
}

impl Timing {
    /// Statistics of `times`. Sorts it. Panics on an empty slice (callers time at least one run).
    pub fn from_times(times: &mut [f64]) -> Timing {
        assert!(!times.is_empty(), "no timed repetitions");
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let median = if n % 2 == 1 {
            times[n / 2]
        } else {
            0.5 * (times[n / 2 - 1] + times[n / 2])
        };
        let mean = times.iter().sum::<f64>() / n as f64;
        let cv = (n > 1 && mean > 0.0).then(|| {
            let var = times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            var.sqrt() / mean
        });
        Timing {
            median_s: median,
            min_s: times[0],
            max_s: times[n - 1],
            mean_s: Some(mean),
            cv,
        }
    }

    /// Whether the repetitions spread more than [`NOISY_CV`].
    pub fn noisy(&self) -> bool {
        self.cv.is_some_and(|cv| cv > NOISY_CV)
    }
}

/// What the `--stores auto` probe measured for one kernel: each kind's best run over the probe's
/// rounds, in GB/s (BabelStream's byte count, like the row's own figures).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoreProbe {
    pub cached_gbs: f64,
    pub streaming_gbs: f64,
    /// Runs of the kernel with each kind.
    pub rounds: usize,
}

/// One stream kernel on one backend.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StreamRow {
    pub kernel: StreamKernel,
    pub backend: BackendKind,
    pub precision: Precision,
    /// CPU worker threads; 0 for the GPU.
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
    /// The largest relative error against the gold value over every element (for dot: the dot
    /// product's), when the row validated; 0 means bit-identical. Version 2.
    #[serde(default)]
    pub max_rel_err: Option<f64>,
    /// Offload devices only: the median kernel time (the same as `median_s`)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_s: Option<f64>,
    /// ...and the median time from host data to host results (upload, kernel, download).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_s: Option<f64>,
    /// ...and whether that median came out below the kernel-only one. No end-to-end run can beat
    /// the kernel it contains, but the two medians come from different runs, one set after the
    /// other: a shared machine's load can change between them by more than the upload and
    /// download add (on lavapipe: a few percent of dot's time). The check says so too; neither
    /// rate is then to be read closer than that change. Version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_below_kernel: Option<bool>,
    /// The store kind the kernel wrote its output with; `null` for dot, which writes nothing,
    /// and for backends whose stores are their driver's (the GPU).
    #[serde(default, with = "stores_name")]
    pub stores: Option<Stores>,
    /// What the `--stores auto` probe measured on these arrays; `null` when the kind was fixed.
    #[serde(default)]
    pub store_probe: Option<StoreProbe>,
    /// GPU rows: the launch shape and the tuner's probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
    /// Under MPI: one rank's own row, or the job's aggregate ([`Scope`]); absent
    /// for one process outside MPI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

impl StreamRow {
    /// Adds an offload device's kernel and end-to-end times, and flags an end-to-end median below
    /// the kernel-only one.
    pub fn set_device_times(&mut self, end_to_end: Option<Timing>) {
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

    /// GB/s of one run over the median time from host data to host results.
    pub fn end_to_end_gbs(&self) -> Option<f64> {
        self.end_to_end_s
            .map(|t| self.bytes_per_rep as f64 / t / 1e9)
    }
}

/// Store kinds by name (`cpu-kernels` stays free of serde).
pub(crate) mod stores_name {
    use cpu_kernels::stream::Stores;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn name(stores: Stores) -> &'static str {
        match stores {
            Stores::Cached => "cached",
            Stores::Streaming => "streaming",
        }
    }

    pub fn serialize<S: Serializer>(stores: &Option<Stores>, s: S) -> Result<S::Ok, S::Error> {
        match stores {
            Some(k) => s.serialize_str(name(*k)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Stores>, D::Error> {
        match Option::<String>::deserialize(d)?.as_deref() {
            None => Ok(None),
            Some("cached") => Ok(Some(Stores::Cached)),
            Some("streaming") => Ok(Some(Stores::Streaming)),
            Some(other) => Err(serde::de::Error::unknown_variant(
                other,
                &["cached", "streaming"],
            )),
        }
    }
}

pub use stores_name::name as store_kind_name;

/// How a Monte Carlo price was held to its reference (version 1 documents, which do not say,
/// predate the zero-variance rule: their prices were all held by z-score).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckMethod {
    #[default]
    /// Within `Z_LIMIT` standard errors of the closed form (or the AM-GM bound).
    ZScore,
    /// Within the f32 rounding bound (`cpu_kernels::mc::rounding_bound`) plus `Z_LIMIT`
    /// standard errors, which it exceeds.
    ZeroVariance,
}

/// The market and contract of a Monte Carlo run, besides the payoff and the monitoring dates.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Market {
    pub s0: f64,
    pub strike: f64,
    pub rate: f64,
    pub sigma: f64,
    pub maturity: f64,
}

/// The undiscounted payoff sums, as the kernel returned them: CPU backends must agree on them
/// bit for bit (JSON keeps every bit of an `f64`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sums {
    pub count: u64,
    pub sum: f64,
    pub sum_sq: f64,
}

/// Whether a row's scope makes it the row of the whole run: one process's, or an MPI job's
/// aggregate (not one rank's own).
fn is_job(scope: &Option<Scope>) -> bool {
    !matches!(scope, Some(Scope::Rank { .. }))
}

impl StreamRow {
    /// The row of the whole run (not one rank's own): what compare, findings and charts use.
    pub fn is_job_row(&self) -> bool {
        is_job(&self.scope)
    }
}

impl McRow {
    /// The row of the whole run (not one rank's own): what compare, findings and charts use.
    pub fn is_job_row(&self) -> bool {
        is_job(&self.scope)
    }
}

impl From<Sums> for McSums {
    fn from(s: Sums) -> Self {
        McSums {
            count: s.count,
            sum: s.sum,
            sum_sq: s.sum_sq,
        }
    }
}

impl From<McSums> for Sums {
    fn from(s: McSums) -> Self {
        Sums {
            count: s.count,
            sum: s.sum,
            sum_sq: s.sum_sq,
        }
    }
}

/// One option priced on one backend.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct McRow {
    pub option: OptionKind,
    pub backend: BackendKind,
    pub threads: usize,
    pub paths: u64,
    pub steps: u32,
    pub seed: u64,
    /// `null` in version 1 documents.
    #[serde(default)]
    pub market: Option<Market>,
    pub reps: usize,
    #[serde(flatten)]
    pub timing: Timing,
    pub paths_per_s: f64,
    pub price: f64,
    pub std_error: f64,
    /// The closed-form price, where one exists.
    pub reference: Option<f64>,
    pub z_score: Option<f64>,
    #[serde(default)]
    pub method: CheckMethod,
    pub check: String,
    pub valid: bool,
    #[serde(default)]
    pub sums: Option<Sums>,
    /// Offload devices only: the median kernel time, and the median host-to-host time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_s: Option<f64>,
    /// GPU rows: which path priced the option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_path: Option<GpuPath>,
    /// Native GPU rows: the largest relative error the path's arithmetic can give the observed
    /// price per path against exact arithmetic on the same draws, derived from WGSL's accuracy
    /// rules (`crate::gpu::native_path_error`); the agreement bound with the CPU is built on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_error: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
    /// Under MPI: one rank's own row, or the job's aggregate ([`Scope`]); absent
    /// for one process outside MPI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

impl McRow {
    /// The request the row priced, where the row records its market (version 2).
    pub fn params(&self) -> Option<cpu_kernels::mc::McParams> {
        let m = self.market?;
        Some(cpu_kernels::mc::McParams {
            payoff: self.option.payoff,
            s0: m.s0,
            strike: m.strike,
            rate: m.rate,
            sigma: m.sigma,
            maturity: m.maturity,
            steps: self.steps,
            seed: self.seed,
        })
    }
}

/// One point of the roofline sweep on one backend.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RooflineRow {
    pub backend: BackendKind,
    pub threads: usize,
    pub n: usize,
    #[serde(default)]
    pub precision: Precision,
    pub fmas: u32,
    /// Arithmetic intensity, FLOP per byte moved (2·fmas flops per 8 bytes in f32).
    pub intensity: f64,
    #[serde(flatten)]
    pub timing: Timing,
    /// From the median time.
    pub gflops: f64,
    pub gbs: f64,
    pub valid: bool,
    pub check: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
}

/// Which of the GPU's two Monte Carlo paths a row ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuPath {
    /// The shaders that mirror `cpu-kernels` operation for operation: the CPU's draws and paths,
    /// bit for bit where the GPU rounds as IEEE requires.
    Mirror,
    /// What a GPU programmer writes: built-in transcendentals, contraction allowed, Philox's
    /// wide multiply in 64-bit integers where the adapter has them.
    Native,
}

impl GpuPath {
    pub const ALL: [GpuPath; 2] = [GpuPath::Mirror, GpuPath::Native];

    pub fn name(self) -> &'static str {
        match self {
            GpuPath::Mirror => "mirror",
            GpuPath::Native => "native",
        }
    }
}

/// The kernel families whose GPU launch shapes are chosen separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// copy, scale, add, triad, nstream.
    Stream,
    Dot,
    MonteCarlo,
    Roofline,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Stream => "stream",
            Family::Dot => "dot",
            Family::MonteCarlo => "monte-carlo",
            Family::Roofline => "roofline",
        }
    }
}

/// How a GPU kernel is launched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shape {
    /// Invocations per workgroup.
    pub workgroup: u32,
    /// Elements per load and store: 1, or a vec2/vec4 (stream and roofline kernels; 1 for Monte
    /// Carlo, whose invocations take four paths at a time already).
    pub width: u32,
    /// Work items (vectors, or quads of paths) per invocation the grid is sized for: 1 launches
    /// one invocation per item, up to the device's group limit; more launch fewer groups, whose
    /// invocations take several items through the shaders' grid-stride loops.
    pub per_invocation: u32,
}

/// One shape the tuner tried.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    #[serde(flatten)]
    pub shape: Shape,
    /// The best of the probe's timed runs (after one untimed run); `null` where the shape failed
    /// to run.
    pub best_s: Option<f64>,
    /// Whether its output was checked and held: the tuner checks shapes fastest first and keeps
    /// the first that holds, so the rest are `null` (unchecked).
    pub valid: Option<bool>,
}

/// How the dot product's workgroups add their invocations' sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// A binary tree in workgroup memory.
    Tree,
    /// `subgroupAdd`, then the subgroups' sums in order (adapters with SUBGROUP).
    Subgroup,
}

/// The launch a GPU row ran with, and how it was chosen (`gpu.launch` in docs/results.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    pub family: Family,
    /// `false` under `--gpu-tune off`: the default shape, nothing probed.
    pub tuned: bool,
    pub shape: Shape,
    /// Workgroups of the (first) dispatch.
    pub groups: u32,
    /// The kernel the family's probe ran (stream: triad where the pass has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probed_on: Option<StreamKernel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduction: Option<Reduction>,
    /// Every shape tried, in the order tried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<Probe>,
}

/// What one transfer row measured (`sweep transfer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferKind {
    /// Host to device through a new buffer mapped at creation, as the GPU backend uploads.
    UploadMapped,
    /// Host to device through `queue.write_buffer` into a buffer that already exists.
    UploadWriteBuffer,
    /// Device to host through the context's MAP_READ staging buffer.
    Download,
    /// One empty dispatch, submit to completion.
    LaunchSingle,
    /// `dispatches` empty dispatches in one submission.
    LaunchBatch,
}

impl TransferKind {
    pub const TRANSFERS: [TransferKind; 3] = [
        TransferKind::UploadMapped,
        TransferKind::UploadWriteBuffer,
        TransferKind::Download,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TransferKind::UploadMapped => "upload (mapped)",
            TransferKind::UploadWriteBuffer => "upload (write_buffer)",
            TransferKind::Download => "download",
            TransferKind::LaunchSingle => "launch (single)",
            TransferKind::LaunchBatch => "launch (batch)",
        }
    }

    pub fn is_launch(self) -> bool {
        matches!(self, TransferKind::LaunchSingle | TransferKind::LaunchBatch)
    }
}

/// One point of the transfer sweep: a transfer of `bytes` in one direction, or a launch latency.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TransferRow {
    pub kind: TransferKind,
    /// Bytes moved per repetition; 0 for launches.
    pub bytes: u64,
    /// Launches only: dispatches per repetition (1, or `--dispatches`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatches: Option<u32>,
    /// Timed repetitions (the warm-up is not counted).
    pub reps: usize,
    #[serde(flatten)]
    pub timing: Timing,
    /// Transfers that validated: `bytes` over the median time, in 10^9 B/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gbs: Option<f64>,
    /// Launches: the median time over `dispatches`, in µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub us_per_dispatch: Option<f64>,
    pub valid: bool,
    /// What was compared, or why it failed.
    pub check: String,
}

/// Where in the memory hierarchy a working set lives: the smallest cache that holds it, or
/// memory past the last level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MemoryLevel {
    L1,
    L2,
    L3,
    /// Beyond the last-level cache: main memory.
    #[serde(rename = "DRAM")]
    Dram,
    /// An offload device's own memory (its caches are not modelled).
    #[serde(rename = "device memory")]
    Device,
}

impl MemoryLevel {
    pub fn name(self) -> &'static str {
        match self {
            MemoryLevel::L1 => "L1",
            MemoryLevel::L2 => "L2",
            MemoryLevel::L3 => "L3",
            MemoryLevel::Dram => "DRAM",
            MemoryLevel::Device => "device memory",
        }
    }

    pub fn is_cache(self) -> bool {
        matches!(self, MemoryLevel::L1 | MemoryLevel::L2 | MemoryLevel::L3)
    }
}

/// One device's two ceilings, as the roofline model draws them: attainable GFLOP/s =
/// min(bandwidth · intensity, compute).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Ceiling {
    pub backend: BackendKind,
    pub bandwidth_gbs: f64,
    pub compute_gflops: f64,
    /// FLOP/byte where the two meet.
    pub ridge: f64,
    /// Where the sweep's array lived: a bandwidth ceiling measured in a cache is that cache's
    /// bandwidth, not memory's. `null` in version 1 documents, as the three fields below.
    #[serde(default)]
    pub level: Option<MemoryLevel>,
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default)]
    pub n: Option<usize>,
    #[serde(default)]
    pub precision: Option<Precision>,
}

/// Where a thread sweep's CPU curve flattens.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemoryWall {
    pub backend: BackendKind,
    pub threads: usize,
    pub gbs: f64,
    /// `gbs` over the best bandwidth measured at any thread count.
    pub fraction_of_best: f64,
}

/// What a thread sweep's triad curve supports, per CPU backend.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Scaling {
    /// The working set is far beyond the last-level cache and the curve saturates: more cores
    /// add little from `threads` on.
    MemoryWall {
        threads: usize,
        gbs: f64,
        fraction_of_best: f64,
    },
    /// Far beyond the last-level cache, and still near-linear at the last point.
    StillScaling { threads: usize, efficiency: f64 },
    /// The arrays fit a cache: the curve says nothing about memory.
    InCache { level: MemoryLevel },
    /// Neither in a cache nor far beyond the last level: bandwidth mixes both.
    NearCache,
    /// Fewer thread counts than a curve needs.
    NotEnoughPoints { points: usize },
}

/// A thread sweep's verdict for one backend.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BackendScaling {
    pub backend: BackendKind,
    pub working_set_bytes: u64,
    #[serde(flatten)]
    pub scaling: Scaling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepKind {
    Threads,
    /// An MPI job's first 1, 2, 4, … ranks (`sweep ranks`): job rows only.
    Ranks,
    Sizes,
    Roofline,
    Transfer,
}

/// What a sweep found, in numbers and in words.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sweep {
    pub kind: SweepKind,
    pub findings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ceilings: Vec<Ceiling>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_even_n: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_wall: Option<MemoryWall>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scaling: Vec<BackendScaling>,
}

impl Sweep {
    pub fn new(kind: SweepKind) -> Self {
        Sweep {
            kind,
            findings: Vec::new(),
            ceilings: Vec::new(),
            break_even_n: None,
            memory_wall: None,
            scaling: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    #[serde(rename = "GB/s")]
    GBs,
    #[serde(rename = "M paths/s")]
    MPathsPerS,
    /// Agreement rows, which measure nothing.
    #[serde(rename = "-")]
    None,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::GBs => "GB/s",
            Unit::MPathsPerS => "M paths/s",
            Unit::None => "-",
        }
    }
}

/// One line of `compare`: a kernel on every backend, side by side.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CompareRow {
    /// The stream kernel, "<option>, <n> step(s)", or "philox + normals".
    pub kernel: String,
    pub unit: Unit,
    pub engine: Option<f64>,
    pub rayon: Option<f64>,
    pub gpu_kernel: Option<f64>,
    pub gpu_end_to_end: Option<f64>,
    /// GPU kernel-only over engine.
    pub gpu_over_engine: Option<f64>,
    /// Whether the GPU's results agree with the engine's, and within what.
    pub agree: String,
    pub agrees: bool,
    /// The short form of `agree` the table shows ("yes, 0 ulp"); version 2.
    #[serde(default)]
    pub agree_short: String,
    /// Memory- or compute-bound, and the fraction of each device's ceiling reached.
    pub bound: String,
    /// The short form of `bound`; version 2.
    #[serde(default)]
    pub bound_short: String,
}

/// The program that wrote a document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Build {
    pub version: String,
    /// `git describe --always --dirty` of the checkout it was built from, when it was.
    pub git_commit: Option<String>,
    /// The instruction set the binary assumes (`x86-64-v3`: AVX2, FMA, BMI2).
    pub target_floor: String,
    /// The SIMD path the kernels chose at run time on this CPU.
    pub simd: String,
}

impl Build {
    pub fn this() -> Build {
        Build {
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("HEXPYLOT_GIT_COMMIT")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            target_floor: target_floor().to_string(),
            simd: cpu_kernels::simd_path().to_string(),
        }
    }
}

/// The instruction-set level the compiler was allowed to assume.
fn target_floor() -> &'static str {
    if cfg!(all(
        target_feature = "avx2",
        target_feature = "fma",
        target_feature = "bmi2"
    )) {
        "x86-64-v3"
    } else {
        "baseline"
    }
}

/// Everything one command measured, as `--json` writes it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Document {
    /// [`SCHEMA_VERSION`] when written by this HexPylot; 1 where absent.
    #[serde(default = "version_1")]
    pub schema_version: u32,
    /// What identifies this run in charts and diffs (`--label`).
    #[serde(default)]
    pub label: String,
    /// When the run started, RFC 3339 in UTC.
    #[serde(default)]
    pub created_utc: Option<String>,
    #[serde(default)]
    pub build: Option<Build>,
    /// The command line.
    #[serde(default)]
    pub command: String,
    /// Version 1 only (version 2 has `build.version`).
    #[serde(default, skip_serializing)]
    pub version: Option<String>,
    pub machine: Machine,
    /// The GPU adapter the GPU rows ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<AdapterSummary>,
    /// Why the GPU rows are missing, when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_missing: Option<String>,
    /// Every adapter wgpu found (`devices` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adapters: Vec<AdapterSummary>,
    #[serde(default)]
    pub stream: Vec<StreamRow>,
    #[serde(default)]
    pub mc: Vec<McRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<CompareRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roofline: Vec<RooflineRow>,
    /// `sweep transfer` only; version 2 documents written before it have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer: Vec<TransferRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// The MPI job the rows ran in; absent for one process outside MPI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpi: Option<JobInfo>,
}

fn version_1() -> u32 {
    1
}

/// A result file that cannot be read as a document.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a HexPylot document: {detail}", path.display())]
    Malformed {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error(
        "{}: schema version {found} is newer than this HexPylot reads (at most {SCHEMA_VERSION}): upgrade hexpylot",
        path.display()
    )]
    Newer {
        path: std::path::PathBuf,
        found: u32,
    },
    /// A number no run can have written (a negative spread, a zero rate, ...): read, it would
    /// turn into wrong marks, empty charts or infinite shares.
    #[error("{}: {field} = {value}: {rule}", path.display())]
    Implausible {
        path: std::path::PathBuf,
        /// The number's JSON path, e.g. `stream[3].cv`.
        field: String,
        value: String,
        rule: &'static str,
    },
}

impl Document {
    /// A document for this command line and machine, with no rows yet; `mpi`: the job it ran
    /// in, if any (`crate::cluster::Cluster::info`).
    pub fn new(machine: Machine, label: String, mpi: Option<JobInfo>) -> Self {
        Document {
            schema_version: SCHEMA_VERSION,
            label,
            created_utc: Some(
                humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            ),
            build: Some(Build::this()),
            command: command_line(),
            version: None,
            machine,
            gpu: None,
            gpu_missing: None,
            adapters: Vec::new(),
            stream: Vec::new(),
            mc: Vec::new(),
            compare: Vec::new(),
            roofline: Vec::new(),
            transfer: Vec::new(),
            sweep: None,
            mpi,
        }
    }

    /// The document as `--json` writes it.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parses a document of this or the previous schema version; `path` names it in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Document, ReadError> {
        let malformed = |e: serde_json::Error| ReadError::Malformed {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        // The version first, so that a newer document is refused for what it is, not for a
        // field this version does not know.
        #[derive(Deserialize)]
        struct Version {
            #[serde(default = "version_1")]
            schema_version: u32,
        }
        let found = serde_json::from_str::<Version>(text)
            .map_err(malformed)?
            .schema_version;
        if found > SCHEMA_VERSION {
            return Err(ReadError::Newer {
                path: path.to_path_buf(),
                found,
            });
        }
        let mut doc: Document = serde_json::from_str(text).map_err(malformed)?;
        doc.upgrade();
        doc.plausible("").map_err(|f| ReadError::Implausible {
            path: path.to_path_buf(),
            field: f.field,
            value: f.value,
            rule: f.rule,
        })?;
        Ok(doc)
    }

    /// Reads a document file.
    pub fn read(path: &Path) -> Result<Document, ReadError> {
        let text = crate::input::read_text(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Fills in what a version 1 document lacks and can be derived.
    fn upgrade(&mut self) {
        // Version 1 called a memory wall wherever the triad curve reached 90% of its best, arrays
        // in cache and two-point curves included: a claim its data need not support. Only the
        // version 2 verdicts (`Sweep::scaling`) say when a wall was found.
        if self.schema_version < 2
            && let Some(sweep) = &mut self.sweep
        {
            sweep.memory_wall = None;
        }
        if self.label.is_empty() {
            self.label = default_label(&self.machine.hostname, &self.command);
        }
        if self.build.is_none()
            && let Some(version) = self.version.take()
        {
            self.build = Some(Build {
                version,
                git_commit: None,
                target_floor: "unknown".to_string(),
                simd: "unknown".to_string(),
            });
        }
    }

    /// The 1-minute load average when the run started, per allowed core.
    pub fn load_per_core(&self) -> f64 {
        let cores = self.machine.allowed_cpus.len().max(1) as f64;
        self.machine.load_average[0] / cores
    }

    /// Whether the load average when the run started says the cores were busy: the
    /// [`load_per_core`](Self::load_per_core), when above [`BUSY_LOAD_PER_CORE`].
    pub fn busy_load(&self) -> Option<f64> {
        let per_core = self.load_per_core();
        (per_core > BUSY_LOAD_PER_CORE).then_some(per_core)
    }
}

/// A number that breaks a [`Rule`]: where it is, what it is, and the rule.
struct Implausible {
    field: String,
    value: String,
    rule: &'static str,
}

type Checked = Result<(), Implausible>;

/// What a number read back must be for a run to have written it, one rule per kind of number.
#[derive(Clone, Copy)]
enum Rule {
    /// Times and rates: a run times a positive duration and divides by it. Zero or a negative
    /// value is no measurement, nor is a subnormal one (5e-324: no clock resolves it, and every
    /// ratio built on it overflows to infinity).
    Measured,
    /// Spreads, standard errors, relative errors, load averages: zero is measured (one value
    /// repeated, a payoff of zero variance, a bit-identical result, an idle machine), a negative
    /// value never is.
    NonNegative,
    /// The market's price, strike, volatility and maturity: `mc` takes no other.
    Positive,
    /// Prices, z-scores, payoff sums, the interest rate: any sign, but a number.
    Finite,
}

impl Rule {
    fn holds(self, v: f64) -> bool {
        match self {
            Rule::Measured => v.is_normal() && v > 0.0,
            Rule::NonNegative => v.is_finite() && v >= 0.0,
            Rule::Positive => v.is_finite() && v > 0.0,
            Rule::Finite => v.is_finite(),
        }
    }

    fn says(self) -> &'static str {
        match self {
            Rule::Measured => "a measured time or rate is finite, > 0 and normal",
            Rule::NonNegative => "a spread, error or load average is finite and >= 0",
            Rule::Positive => "a market parameter is finite and > 0",
            Rule::Finite => "a price, z-score, payoff sum or interest rate is finite",
        }
    }
}

/// The JSON path of `name` in the object at `at` (`""`: the document itself).
fn field(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

fn refuse(at: &str, name: &str, value: impl std::fmt::Debug, rule: &'static str) -> Checked {
    Err(Implausible {
        field: field(at, name),
        value: format!("{value:?}"),
        rule,
    })
}

fn number(at: &str, name: &str, v: f64, rule: Rule) -> Checked {
    if rule.holds(v) {
        Ok(())
    } else {
        refuse(at, name, v, rule.says())
    }
}

fn optional(at: &str, name: &str, v: Option<f64>, rule: Rule) -> Checked {
    v.map_or(Ok(()), |v| number(at, name, v, rule))
}

/// Elements, bytes, repetitions, paths, steps, ranks: whatever a run counts, it counted one at
/// least (GPU rows' `threads` are 0 and launches move 0 bytes: those are not counts here).
fn count(at: &str, name: &str, v: impl Into<u64>) -> Checked {
    let v = v.into();
    if v >= 1 {
        Ok(())
    } else {
        refuse(at, name, v, "a count is at least 1")
    }
}

fn each<T: Plausible>(at: &str, name: &str, items: &[T]) -> Checked {
    let list = field(at, name);
    items
        .iter()
        .enumerate()
        .try_for_each(|(i, item)| item.plausible(&format!("{list}[{i}]")))
}

/// Every number of a part of a document, held to its [`Rule`].
trait Plausible {
    /// `at`: the JSON path of `self`, which names a refused field.
    fn plausible(&self, at: &str) -> Checked;
}

impl<T: Plausible> Plausible for Option<T> {
    fn plausible(&self, at: &str) -> Checked {
        self.as_ref().map_or(Ok(()), |t| t.plausible(at))
    }
}

impl Plausible for Document {
    fn plausible(&self, at: &str) -> Checked {
        // Version 1 is a document without the field; no HexPylot wrote a 0.
        if self.schema_version < 1 {
            return refuse(
                at,
                "schema_version",
                self.schema_version,
                "versions start at 1 (a document without the field)",
            );
        }
        self.machine.plausible(&field(at, "machine"))?;
        each(at, "stream", &self.stream)?;
        each(at, "mc", &self.mc)?;
        each(at, "compare", &self.compare)?;
        each(at, "roofline", &self.roofline)?;
        each(at, "transfer", &self.transfer)?;
        self.sweep.plausible(&field(at, "sweep"))?;
        self.mpi.plausible(&field(at, "mpi"))
    }
}

impl Plausible for Machine {
    fn plausible(&self, at: &str) -> Checked {
        // A machine whose load could not be read records zeros (`Machine::probe`).
        self.load_average
            .iter()
            .enumerate()
            .try_for_each(|(i, &l)| number(at, &format!("load_average[{i}]"), l, Rule::NonNegative))
    }
}

impl Plausible for JobInfo {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "ranks", self.ranks as u64)
    }
}

impl Plausible for Scope {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "ranks", self.ranks() as u64)
    }
}

impl Plausible for Timing {
    fn plausible(&self, at: &str) -> Checked {
        let (median, min, max) = (self.median_s, self.min_s, self.max_s);
        number(at, "median_s", median, Rule::Measured)?;
        number(at, "min_s", min, Rule::Measured)?;
        number(at, "max_s", max, Rule::Measured)?;
        optional(at, "mean_s", self.mean_s, Rule::Measured)?;
        optional(at, "cv", self.cv, Rule::NonNegative)?;
        const ORDER: &str = "the timed repetitions give min_s <= median_s <= max_s";
        if min > median {
            return refuse(at, "min_s", min, ORDER);
        }
        if median > max {
            return refuse(at, "max_s", max, ORDER);
        }
        Ok(())
    }
}

impl Plausible for Launch {
    fn plausible(&self, at: &str) -> Checked {
        // A probe's time is a difference of GPU timestamps, saturated at 0 where the driver's
        // ticks did not advance (`GpuContext`): no rate is built on it.
        self.probes.iter().enumerate().try_for_each(|(i, p)| {
            optional(
                at,
                &format!("probes[{i}].best_s"),
                p.best_s,
                Rule::NonNegative,
            )
        })
    }
}

impl Plausible for StreamRow {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "n", self.n as u64)?;
        count(at, "bytes_per_rep", self.bytes_per_rep)?;
        count(at, "reps", self.reps as u64)?;
        self.timing.plausible(at)?;
        number(at, "gbs_median", self.gbs_median, Rule::Measured)?;
        number(at, "gbs_best", self.gbs_best, Rule::Measured)?;
        optional(at, "max_rel_err", self.max_rel_err, Rule::NonNegative)?;
        optional(at, "kernel_s", self.kernel_s, Rule::Measured)?;
        optional(at, "end_to_end_s", self.end_to_end_s, Rule::Measured)?;
        if let Some(p) = &self.store_probe {
            let at = field(at, "store_probe");
            number(&at, "cached_gbs", p.cached_gbs, Rule::Measured)?;
            number(&at, "streaming_gbs", p.streaming_gbs, Rule::Measured)?;
            count(&at, "rounds", p.rounds as u64)?;
        }
        self.launch.plausible(&field(at, "launch"))?;
        self.scope.plausible(&field(at, "scope"))
    }
}

impl Plausible for McRow {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "paths", self.paths)?;
        count(at, "steps", self.steps)?;
        count(at, "reps", self.reps as u64)?;
        if let Some(m) = &self.market {
            let at = field(at, "market");
            for (name, v) in [
                ("s0", m.s0),
                ("strike", m.strike),
                ("sigma", m.sigma),
                ("maturity", m.maturity),
            ] {
                number(&at, name, v, Rule::Positive)?;
            }
            number(&at, "rate", m.rate, Rule::Finite)?;
        }
        self.timing.plausible(at)?;
        number(at, "paths_per_s", self.paths_per_s, Rule::Measured)?;
        number(at, "price", self.price, Rule::Finite)?;
        number(at, "std_error", self.std_error, Rule::NonNegative)?;
        optional(at, "reference", self.reference, Rule::Finite)?;
        optional(at, "z_score", self.z_score, Rule::Finite)?;
        if let Some(s) = &self.sums {
            let at = field(at, "sums");
            count(&at, "count", s.count)?;
            number(&at, "sum", s.sum, Rule::Finite)?;
            number(&at, "sum_sq", s.sum_sq, Rule::Finite)?;
        }
        optional(at, "kernel_s", self.kernel_s, Rule::Measured)?;
        optional(at, "end_to_end_s", self.end_to_end_s, Rule::Measured)?;
        optional(at, "path_error", self.path_error, Rule::NonNegative)?;
        self.launch.plausible(&field(at, "launch"))?;
        self.scope.plausible(&field(at, "scope"))
    }
}

impl Plausible for RooflineRow {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "n", self.n as u64)?;
        count(at, "fmas", self.fmas)?;
        number(at, "intensity", self.intensity, Rule::Measured)?;
        self.timing.plausible(at)?;
        number(at, "gflops", self.gflops, Rule::Measured)?;
        number(at, "gbs", self.gbs, Rule::Measured)?;
        self.launch.plausible(&field(at, "launch"))
    }
}

impl Plausible for TransferRow {
    fn plausible(&self, at: &str) -> Checked {
        if !self.kind.is_launch() {
            count(at, "bytes", self.bytes)?;
        }
        if let Some(d) = self.dispatches {
            count(at, "dispatches", d)?;
        }
        count(at, "reps", self.reps as u64)?;
        self.timing.plausible(at)?;
        optional(at, "gbs", self.gbs, Rule::Measured)?;
        optional(at, "us_per_dispatch", self.us_per_dispatch, Rule::Measured)
    }
}

impl Plausible for CompareRow {
    fn plausible(&self, at: &str) -> Checked {
        for (name, v) in [
            ("engine", self.engine),
            ("rayon", self.rayon),
            ("gpu_kernel", self.gpu_kernel),
            ("gpu_end_to_end", self.gpu_end_to_end),
            ("gpu_over_engine", self.gpu_over_engine),
        ] {
            optional(at, name, v, Rule::Measured)?;
        }
        Ok(())
    }
}

impl Plausible for Sweep {
    fn plausible(&self, at: &str) -> Checked {
        each(at, "ceilings", &self.ceilings)?;
        if let Some(n) = self.break_even_n {
            count(at, "break_even_n", n as u64)?;
        }
        self.memory_wall.plausible(&field(at, "memory_wall"))?;
        each(at, "scaling", &self.scaling)
    }
}

impl Plausible for Ceiling {
    fn plausible(&self, at: &str) -> Checked {
        number(at, "bandwidth_gbs", self.bandwidth_gbs, Rule::Measured)?;
        number(at, "compute_gflops", self.compute_gflops, Rule::Measured)?;
        number(at, "ridge", self.ridge, Rule::Measured)?;
        if let Some(n) = self.n {
            count(at, "n", n as u64)?;
        }
        Ok(())
    }
}

impl Plausible for MemoryWall {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "threads", self.threads as u64)?;
        number(at, "gbs", self.gbs, Rule::Measured)?;
        number(
            at,
            "fraction_of_best",
            self.fraction_of_best,
            Rule::Measured,
        )
    }
}

impl Plausible for BackendScaling {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "working_set_bytes", self.working_set_bytes)?;
        match self.scaling {
            Scaling::MemoryWall {
                threads,
                gbs,
                fraction_of_best,
            } => {
                count(at, "threads", threads as u64)?;
                number(at, "gbs", gbs, Rule::Measured)?;
                number(at, "fraction_of_best", fraction_of_best, Rule::Measured)
            }
            Scaling::StillScaling {
                threads,
                efficiency,
            } => {
                count(at, "threads", threads as u64)?;
                number(at, "efficiency", efficiency, Rule::Measured)
            }
            Scaling::InCache { .. } | Scaling::NearCache | Scaling::NotEnoughPoints { .. } => {
                Ok(())
            }
        }
    }
}

/// The whole command line, as documents record it.
pub fn command_line() -> String {
    // Lossy: a path that is not UTF-8 is still recorded (std::env::args would panic).
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The label of a run given none: the host, the command's words and the size it ran at, e.g.
/// "node7 stream 2^25" (the one format; `crate::cli` gives the size a run was configured with,
/// defaults included).
pub fn label(hostname: &str, command: &str, size: Option<&str>) -> String {
    let host = if hostname.is_empty() {
        "host"
    } else {
        hostname
    };
    let mut label = format!("{host} {command}");
    if let Some(s) = size {
        label.push(' ');
        label.push_str(s);
    }
    label.trim().to_string()
}

/// The label of a document that has none (version 1), from the command line it recorded: its
/// words and the size flag given there (a default size is not recorded).
pub fn default_label(hostname: &str, command: &str) -> String {
    // The flags that take no value; every other flag's next word is its value, not a command.
    const SWITCHES: [&str; 3] = ["--verbose", "--fail-on-regression", "--help"];
    let mut words = command.split_whitespace().skip(1);
    let mut what: Vec<&str> = Vec::new();
    let mut size = None;
    while let Some(w) = words.next() {
        if let Some((flag, value)) = w.split_once('=') {
            if ["--size", "--paths", "--min-size", "--max-size"].contains(&flag) {
                size = size.or(Some(value));
            }
        } else if w.starts_with("--") {
            if SWITCHES.contains(&w) {
                continue;
            }
            let value = words.next();
            if ["--size", "--paths", "--min-size", "--max-size"].contains(&w) {
                size = size.or(value);
            }
        } else if what.len() < 2 && size.is_none() {
            what.push(w);
        }
    }
    label(hostname, &what.join(" "), size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_statistics() {
        let t = Timing::from_times(&mut [3.0, 1.0, 2.0]);
        assert_eq!(
            (t.median_s, t.min_s, t.max_s, t.mean_s),
            (2.0, 1.0, 3.0, Some(2.0))
        );
        assert!((t.cv.unwrap() - 0.5).abs() < 1e-12, "{t:?}");
        assert!(t.noisy());
        assert_eq!(Timing::from_times(&mut [4.0, 1.0, 2.0, 3.0]).median_s, 2.5);
        let steady = Timing::from_times(&mut [1.0, 1.01, 0.99]);
        assert!(!steady.noisy(), "{steady:?}");
        assert_eq!(Timing::from_times(&mut [1.0]).cv, None);
    }

    /// An end-to-end median below the kernel-only one is flagged in the data and in the check, and
    /// nothing else changes: the row stays valid, both times are reported as measured.
    #[test]
    fn an_end_to_end_median_below_the_kernel_is_flagged() {
        let row = |kernel_s: f64| StreamRow {
            kernel: StreamKernel::Copy,
            backend: BackendKind::Gpu,
            precision: Precision::F32,
            threads: 0,
            n: 1 << 22,
            bytes_per_rep: 1 << 25,
            reps: 1,
            timing: Timing::from_times(&mut [kernel_s]),
            gbs_median: 1.0,
            gbs_best: 1.0,
            valid: true,
            check: "exact".to_string(),
            max_rel_err: Some(0.0),
            kernel_s: None,
            end_to_end_s: None,
            end_to_end_below_kernel: None,
            stores: None,
            store_probe: None,
            launch: None,
            scope: None,
        };
        let e2e = |s: f64| Some(Timing::from_times(&mut [s]));
        let mut below = row(0.060);
        below.set_device_times(e2e(0.056));
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
        let mut above = row(0.060);
        above.set_device_times(e2e(0.090));
        assert_eq!(above.end_to_end_below_kernel, Some(false));
        assert_eq!(above.check, "exact");
        let host = row(0.060);
        let json = serde_json::to_value(&host).unwrap();
        assert!(json.get("end_to_end_below_kernel").is_none(), "{json}");
    }

    #[test]
    fn labels() {
        assert_eq!(
            default_label("node7", "hexpylot stream --size 2^22 --reps 5"),
            "node7 stream 2^22"
        );
        assert_eq!(
            default_label("node7", "/x/hexpylot sweep threads --json a.json"),
            "node7 sweep threads"
        );
        assert_eq!(default_label("", "hexpylot compare"), "host compare");
        assert_eq!(
            default_label("vm", "hexpylot stream --threads 1 --verbose --size=2^20"),
            "vm stream 2^20"
        );
    }
}
