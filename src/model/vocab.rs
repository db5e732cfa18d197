//! The vocabulary every layer shares: what ran (backend, precision, launch family and shape, GPU
//! path, transfer kind), where (memory level, a rank's scope in a job) and how a result is held
//! to its reference. Plain data: each type is named and serialised here once.

use clap::ValueEnum;
use clap::builder::PossibleValue;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The HexPylot engine: persistent pinned workers, barrier-separated phases.
    Engine,
    /// A rayon thread pool of the same size, pinned.
    Rayon,
    /// WGSL compute shaders through wgpu.
    Gpu,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl BackendKind {
    /// Whether the backend computes on an offload device, in memory of its own, rather than on
    /// the CPU's cores: what every cross-check, finding, table and chart asks of a row, answered
    /// here once, so that a second offload backend is never taken for a CPU.
    pub fn is_offload(self) -> bool {
        match self {
            BackendKind::Engine | BackendKind::Rayon => false,
            BackendKind::Gpu => true,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Engine => "engine",
            BackendKind::Rayon => "rayon",
            BackendKind::Gpu => "gpu",
        }
    }
}

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

impl Shape {
    /// Today's launch, and what `--gpu-tune off` runs: 256-wide groups, one element per load, one
    /// item per invocation.
    pub const DEFAULT: Shape = Shape {
        workgroup: 256,
        width: 1,
        per_invocation: 1,
    };
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

/// The value of a [`ValueEnum`] named `name`, or an error listing the valid names.
pub fn by_name<T: ValueEnum + Copy>(name: &str) -> Result<T, String> {
    let all = T::value_variants();
    all.iter()
        .copied()
        .find(|v| v.to_possible_value().is_some_and(|p| p.get_name() == name))
        .ok_or_else(|| {
            let names: Vec<String> = all
                .iter()
                .filter_map(|v| v.to_possible_value())
                .map(|p| p.get_name().to_string())
                .collect();
            format!(
                "unknown value {name:?}, expected one of: {}",
                names.join(", ")
            )
        })
}
