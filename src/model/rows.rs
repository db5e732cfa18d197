//! The rows a run produces, one type per kind of measurement: what `--json` writes and every
//! reader deserialises (`docs/results.md` documents each field).

use cpu_kernels::mc::McSums;
use cpu_kernels::stream::Stores;
use serde::{Deserialize, Serialize};

use super::kernels::{OptionKind, StreamKernel};
use super::vocab::*;

/// A row whose timed repetitions vary more than this (coefficient of variation) is flagged
/// `noisy`: its median is then a loose estimate, and comparing it with another row needs care.
pub const NOISY_CV: f64 = 0.05;

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
    /// The largest relative error the row was allowed (the element tolerance, for dot the dot
    /// product's bound), when it validated. Version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_err_bound: Option<f64>,
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

/// What a compare row is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Compared {
    /// A stream kernel.
    Stream {
        /// The kernel.
        kernel: StreamKernel,
    },
    /// A Monte Carlo option; with a GPU, one row per GPU path.
    Option {
        /// The option priced.
        option: OptionKind,
        /// Its monitoring dates.
        steps: u32,
        /// The GPU path of the row's GPU figures; `null` where no GPU ran.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gpu_path: Option<GpuPath>,
    },
    /// The GPU's Philox words and normal draws against the CPU's.
    Rng,
}

impl Compared {
    /// Whether a Monte Carlo row's figures are this row's: the same option and dates, and for
    /// an offload row the same GPU path.
    pub fn is_of(&self, row: &McRow) -> bool {
        match *self {
            Compared::Option {
                option,
                steps,
                gpu_path,
            } => {
                row.option == option
                    && row.steps == steps
                    && (!row.backend.is_offload() || row.gpu_path == gpu_path)
            }
            Compared::Stream { .. } | Compared::Rng => false,
        }
    }
}

/// Where a price agreement's bound comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriceBound {
    /// A fixed share of the CPU's standard error: the mirror path computes the CPU's paths
    /// operation for operation, so it differs by the summation's rounding only.
    StandardErrors,
    /// Derived from WGSL's accuracy rules for the native path's functions
    /// (`cpu_kernels::mc::agreement_bound`), both paths' rounding added.
    WgslAccuracy,
}

/// How a compare row's GPU results were held to the CPU's, in numbers (version 3).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "measure", rename_all = "kebab-case")]
pub enum Agreement {
    /// Stream: the GPU's largest relative error over every element (dot: of the dot product)
    /// against the gold values, and the bound it is held to; 0 means bit-identical.
    RelativeError {
        /// The largest relative error found.
        max: f64,
        /// The largest allowed.
        bound: f64,
        /// The precision both are relative to (in ulps: over its epsilon).
        precision: Precision,
    },
    /// Monte Carlo: |GPU price − CPU price| against its bound, both in price units, and the
    /// CPU's standard error they are also read in.
    PriceGap {
        /// |GPU price − CPU price|.
        gap: f64,
        /// The largest gap allowed.
        bound: f64,
        /// The CPU price's standard error.
        std_error: f64,
        /// Where `bound` comes from.
        bound_from: PriceBound,
    },
    /// The random numbers: Philox words equal bit for bit, normals within `bound_ulp`.
    Draws {
        /// Philox words equal to the CPU's.
        words_equal: u64,
        /// Philox words compared.
        words: u64,
        /// Normal draws bit-identical to the CPU's.
        normals_identical: u64,
        /// Normal draws compared.
        normals: u64,
        /// The largest distance of a normal draw from the CPU's, in ulps.
        worst_ulp: u64,
        /// The largest distance allowed.
        bound_ulp: u64,
    },
}

impl Agreement {
    /// Whether the numbers are within their bound.
    pub fn holds(&self) -> bool {
        match *self {
            Agreement::RelativeError { max, bound, .. } => max <= bound,
            Agreement::PriceGap { gap, bound, .. } => gap <= bound,
            Agreement::Draws {
                words_equal,
                words,
                worst_ulp,
                bound_ulp,
                ..
            } => words_equal == words && worst_ulp <= bound_ulp,
        }
    }
}

/// A price gap in standard errors (0 when the prices are equal, whatever the error).
pub fn in_std_errors(gap: f64, std_error: f64) -> f64 {
    if gap == 0.0 { 0.0 } else { gap / std_error }
}

/// Which ceiling a share is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CeilingSource {
    /// The bandwidth ceiling of a `sweep roofline` file (`compare --roofline`).
    Roofline,
    /// The device's best stream rate in this run.
    BestStreamRate,
}

/// A kernel's rate as a share of its device's ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// The rate over the ceiling (above 1 where a kernel outran a roofline ceiling).
    pub fraction: f64,
    /// The ceiling, in GB/s.
    pub ceiling_gbs: f64,
    /// Where the ceiling comes from.
    pub source: CeilingSource,
}

/// What bounds a compare row's kernel (version 3).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Bound {
    /// Memory: each device's share of its bandwidth ceiling, where it ran.
    Memory {
        /// The engine's share of the CPU's ceiling.
        cpu: Option<Share>,
        /// The GPU's share of the GPU's ceiling.
        gpu: Option<Share>,
    },
    /// Compute: no array traffic (Monte Carlo).
    Compute,
}

/// One line of `compare`: a kernel on every backend side by side, its agreement and its bound
/// as numbers; the table and the CSV make the words.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CompareRow {
    /// What the row is of.
    pub of: Compared,
    /// The unit of the rates.
    pub unit: Unit,
    /// The engine's rate.
    pub engine: Option<f64>,
    /// Rayon's rate.
    pub rayon: Option<f64>,
    /// The GPU's rate, kernel only.
    pub gpu_kernel: Option<f64>,
    /// The GPU's rate from host data to host results.
    pub gpu_end_to_end: Option<f64>,
    /// GPU kernel-only over engine.
    pub gpu_over_engine: Option<f64>,
    /// Whether the GPU's results agree with the CPU's, every row involved valid.
    pub agrees: bool,
    /// The numbers the verdict rests on; `null` where no GPU and CPU pair ran, and in
    /// documents before version 3, whose agreement was prose.
    #[serde(default)]
    pub agreement: Option<Agreement>,
    /// What bounds the kernel; `null` for the random numbers.
    #[serde(default)]
    pub bound: Option<Bound>,
}
