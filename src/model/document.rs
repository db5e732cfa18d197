//! The document: the rows of one run with the facts of the machine, the job and the build that
//! produced them, and its reading back (`chart`, `diff`, `compare --roofline`). The writer
//! serialises these types and every reader deserialises them, so a renamed field is a compile
//! error or a refused file, never a silently dropped row.
//!
//! Version 1 (documents with no `schema_version`, HexPylot before the typed model) is read too:
//! every field version 2 added has a default, and [`Document::upgrade`] fills in what can be
//! derived (the label). A document from a newer HexPylot is refused with a one-line reason, and
//! so is one holding a number no run writes (a negative spread, a zero or subnormal rate): each
//! kind of number is held to one rule (`super::plausible`) as the document is read.

use serde::{Deserialize, Serialize};

use super::hardware::{AdapterSummary, Machine};
use super::rows::*;
use super::vocab::*;

/// The version this HexPylot writes. 1: untyped documents (no `schema_version` field).
/// 2: `schema_version`, `label`, `created_utc`, `build`; rows gained `cv`, Monte Carlo rows their
/// market parameters and raw sums, ceilings the memory level, threads and precision they were
/// measured at. `transfer` rows came later within version 2: an additive field with a default,
/// which older version 2 readers ignore and this one reads as empty where absent.
/// 3: `compare` rows carry what they are of as an enum ([`Compared`]), their agreement as numbers
/// ([`Agreement`]) and their bound as shares of each device's ceiling ([`Bound`]); stream rows
/// the bound their relative error is held to.
pub const SCHEMA_VERSION: u32 = 3;

/// A load average above this many runnable tasks per allowed core means another program competed
/// for the cores while the run started.
pub const BUSY_LOAD_PER_CORE: f64 = 0.5;

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

/// Documents with no `schema_version` are version 1.
pub(super) fn version_1() -> u32 {
    1
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
    use crate::model::*;

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
            rel_err_bound: Some(1e-6),
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
