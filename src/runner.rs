//! The one runner: every command's plan runs here, backend by backend ("run, validate, collect,
//! report FAILED"), and every check that holds backends against one another happens here once,
//! over everything a command collected:
//!
//! - CPU backends price Monte Carlo on the same paths in the same block order, so their sums must
//!   be bit-identical whatever the backend and the thread count;
//! - the GPU mirror's prices must agree with the CPU's within [`PRICE_TOLERANCE_SE`], the native
//!   path's within the bound its arithmetic allows ([`gpu_price_bound`]);
//! - stream results are held element by element to the gold replay by the harness on every
//!   backend, so CPU/GPU agreement there is both rows validating;
//! - the `compare` rows (rates side by side, agreement, the bound).

use cpu_kernels::mc;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, RngAgreement};
use crate::bench::{McConfig, RooflineConfig, StreamConfig, run_mc, run_roofline, run_stream};
use crate::cluster;
use crate::model::{
    BackendKind, Ceiling, CompareRow, GpuPath, McRow, Precision, RooflineRow, Scope, StreamRow,
    Unit,
};
use crate::text::plural;

/// The GPU mirror's price may differ from the CPU's by this fraction of one standard error. Both
/// price the very same paths; what differs is the f32 rounding of the GPU's `sqrt` and FMA
/// contraction (a few ulp per path, see `crate::gpu::NORMAL_ULPS`) and its f32 workgroup sums:
/// relative effects near 1e-6, where one standard error of 2^24 paths is about 3e-4 of the price.
pub const PRICE_TOLERANCE_SE: f64 = 0.01;

/// What to run on each backend.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub stream: Option<(Precision, StreamConfig)>,
    pub mc: Vec<McConfig>,
    pub roofline: Option<RooflineConfig>,
    /// Compare the GPU's Philox words and normals for this seed with the CPU's.
    pub rng_seed: Option<u64>,
}

/// Everything a command ran, and what failed.
#[derive(Debug, Default)]
pub struct Collected {
    pub stream: Vec<StreamRow>,
    pub mc: Vec<McRow>,
    pub roofline: Vec<RooflineRow>,
    pub rng: Option<RngAgreement>,
    /// One line per failure, in the order found.
    pub failures: Vec<String>,
}

impl Collected {
    /// Runs the plan on each backend in turn. A backend that fails to run a kernel is recorded
    /// as a failure and the rest of the plan goes on.
    pub fn run(&mut self, backends: &mut [Box<dyn Backend>], plan: &Plan) {
        for backend in backends {
            self.run_on(&mut **backend, plan);
        }
    }

    pub fn run_on(&mut self, backend: &mut dyn Backend, plan: &Plan) {
        let name = backend.kind().name();
        let on = |what: &str, threads: usize| {
            if threads == 0 {
                format!("{what} on {name}")
            } else {
                format!("{what} on {name} ({})", plural(threads, "thread"))
            }
        };
        let threads = backend.threads();
        if let Some((precision, cfg)) = &plan.stream {
            let result = match precision {
                Precision::F32 => run_stream::<f32, _>(backend, cfg),
                Precision::F64 => run_stream::<f64, _>(backend, cfg),
            };
            match result {
                Ok(rows) => self.stream.extend(rows),
                Err(e) => self.broke(format!("{}: {e:#}", on("stream", threads))),
            }
        }
        let paths: Vec<Option<GpuPath>> = match backend.mc_paths() {
            [] => vec![None],
            some => some.iter().copied().map(Some).collect(),
        };
        for cfg in &plan.mc {
            for &path in &paths {
                match run_mc(backend, cfg, path) {
                    Ok(rows) => self.mc.extend(rows),
                    Err(e) => {
                        let what = path.map_or("mc".to_string(), |p| format!("mc ({})", p.name()));
                        self.broke(format!("{}: {e:#}", on(&what, threads)));
                    }
                }
            }
        }
        if let Some(cfg) = &plan.roofline {
            match run_roofline(backend, cfg) {
                Ok(rows) => self.roofline.extend(rows),
                Err(e) => self.broke(format!("{}: {e:#}", on("roofline", threads))),
            }
        }
        if let Some(seed) = plan.rng_seed {
            match backend.rng_agreement(seed) {
                Ok(Some(a)) => {
                    if !a.agrees {
                        self.fail(format!(
                            "random numbers on {name} differ from the CPU's: {}",
                            a.detail
                        ));
                    }
                    self.rng = Some(a);
                }
                Ok(None) => {}
                Err(e) => self.fail(format!("{}: {e:#}", on("random numbers", 0))),
            }
        }
    }

    /// Under MPI: every rank's own rows and failures brought to rank 0, after its own rows (the
    /// job's and rank 0's), each other rank's failures named with the rank. For one process:
    /// nothing.
    pub fn gather_ranks(&mut self) {
        #[derive(Serialize, Deserialize)]
        struct RankRows {
            stream: Vec<StreamRow>,
            mc: Vec<McRow>,
            failures: Vec<String>,
        }
        let world = cluster::world();
        if !world.is_mpi() {
            return;
        }
        let mine = RankRows {
            stream: self
                .stream
                .iter()
                .filter(|r| !r.is_job_row())
                .cloned()
                .collect(),
            mc: self
                .mc
                .iter()
                .filter(|r| !r.is_job_row())
                .cloned()
                .collect(),
            failures: self.failures.clone(),
        };
        let every = world.gather(&mine);
        for (rank, theirs) in every.into_iter().enumerate().skip(1) {
            self.stream.extend(theirs.stream);
            self.mc.extend(theirs.mc);
            let host = &world.hosts()[rank];
            self.failures.extend(
                theirs
                    .failures
                    .into_iter()
                    .map(|f| format!("rank {rank} ({host}): {f}")),
            );
        }
        // Each backend's rows together: the job's, then rank by rank.
        let place = |scope: &Option<Scope>| match scope {
            Some(Scope::Rank { rank, .. }) => rank + 1,
            _ => 0,
        };
        self.stream
            .sort_by_key(|r| (r.backend, r.threads, r.kernel, place(&r.scope)));
        self.mc
            .sort_by_key(|r| (r.backend, r.gpu_path, r.threads, place(&r.scope)));
    }

    /// The job's rows: under MPI each rank's own rows are in the document, not in the findings.
    pub fn job_rows(&self) -> (Vec<StreamRow>, Vec<McRow>) {
        (
            self.stream
                .iter()
                .filter(|r| r.is_job_row())
                .cloned()
                .collect(),
            self.mc.iter().filter(|r| r.is_job_row()).cloned().collect(),
        )
    }

    fn fail(&mut self, line: String) {
        self.failures.push(line);
    }

    /// A run that stopped part way. One process goes on with the rest of the plan; a rank of a
    /// job cannot, since the other ranks wait in the collectives of the run it left, so the job
    /// ends (every rank, exit 1) rather than hang.
    fn broke(&mut self, line: String) {
        let world = cluster::world();
        if world.is_parallel() {
            world.abort(&line);
        }
        self.fail(line);
    }

    /// The checks across backends, once everything has run: marks the rows that fail them
    /// invalid, and records a failure for every invalid row.
    pub fn cross_check(&mut self) {
        self.check_cpu_sums();
        self.check_gpu_prices();
        let mut lines = Vec::new();
        for r in self.stream.iter().filter(|r| !r.valid) {
            lines.push(format!(
                "{} on {} ({}, n = {}{}): {}",
                r.kernel.name(),
                r.backend.name(),
                r.precision.name(),
                r.n,
                threads_suffix(r.threads),
                r.check
            ));
        }
        for r in self.mc.iter().filter(|r| !r.valid) {
            lines.push(format!(
                "{} on {}{} ({} paths{}): {}",
                r.option.name(),
                r.backend.name(),
                r.gpu_path
                    .map_or(String::new(), |p| format!(" {}", p.name())),
                r.paths,
                threads_suffix(r.threads),
                r.check
            ));
        }
        for r in self.roofline.iter().filter(|r| !r.valid) {
            lines.push(format!(
                "roofline on {} at {} FMAs{}: {}",
                r.backend.name(),
                r.fmas,
                threads_suffix(r.threads),
                r.check
            ));
        }
        self.failures.extend(lines);
    }

    /// Same seed, same paths, same block order: every CPU row of the same request must hold the
    /// very same sums as the first one, on any backend and at any thread count.
    fn check_cpu_sums(&mut self) {
        let cpu = |r: &McRow| !r.backend.is_offload();
        for i in 0..self.mc.len() {
            if !cpu(&self.mc[i]) {
                continue;
            }
            let Some(first) =
                (0..i).find(|&j| cpu(&self.mc[j]) && same_request(&self.mc[j], &self.mc[i]))
            else {
                continue;
            };
            let (reference, row) = (&self.mc[first], &self.mc[i]);
            if reference.sums != row.sums {
                let text = format!(
                    "sums differ from {}'s ({}) for the same seed: {:?} vs {:?}",
                    reference.backend.name(),
                    plural(reference.threads, "thread"),
                    row.sums,
                    reference.sums
                );
                let row = &mut self.mc[i];
                row.valid = false;
                row.check = text;
            }
        }
    }

    /// Each GPU price against the CPU's (the engine's where there is one) for the same request,
    /// on the whole run's rows only: under MPI a rank's GPU share is its part of the grid of
    /// workgroups and its CPU share its range of path blocks, which are other paths (each is
    /// held to the closed form by itself).
    fn check_gpu_prices(&mut self) {
        for i in 0..self.mc.len() {
            if !self.mc[i].backend.is_offload() || !self.mc[i].is_job_row() {
                continue;
            }
            let Some(cpu) = self.cpu_price_for(&self.mc[i]) else {
                continue;
            };
            let agreement = Agreement::of(&self.mc[i], cpu);
            if !agreement.holds() {
                let text = format!(
                    "price {:.6} differs from {}'s {:.6}: {}",
                    self.mc[i].price,
                    cpu.backend.name(),
                    cpu.price,
                    agreement.text()
                );
                let row = &mut self.mc[i];
                row.valid = false;
                row.check = text;
            }
        }
    }

    fn cpu_price_for(&self, gpu: &McRow) -> Option<&McRow> {
        let same = |r: &&McRow| !r.backend.is_offload() && same_request(r, gpu);
        self.mc
            .iter()
            .filter(same)
            .find(|r| r.backend == BackendKind::Engine)
            .or_else(|| self.mc.iter().find(same))
    }

    /// `compare`'s rows: each stream kernel, then each option, then the random numbers, on every
    /// backend side by side. `ceilings` (from a `sweep roofline` file, already checked to match
    /// this run) replace the best stream rate of the run as each device's bandwidth ceiling.
    pub fn compare_rows(
        &self,
        kernels: &[crate::model::StreamKernel],
        options: &[McConfig],
        ceilings: &[Ceiling],
    ) -> Vec<CompareRow> {
        let mut rows: Vec<CompareRow> = kernels
            .iter()
            .map(|&k| self.stream_row(k, ceilings))
            .collect();
        rows.extend(options.iter().flat_map(|o| self.mc_rows(o)));
        if let Some(a) = &self.rng {
            rows.push(CompareRow {
                kernel: "philox + normals".into(),
                unit: Unit::None,
                engine: None,
                rayon: None,
                gpu_kernel: None,
                gpu_end_to_end: None,
                gpu_over_engine: None,
                agree: format!("{}: {}", yes(a.agrees), a.detail),
                agrees: a.agrees,
                agree_short: yes(a.agrees).to_string(),
                bound: "-".into(),
                bound_short: "-".into(),
            });
        }
        rows
    }

    fn stream_row(&self, kernel: crate::model::StreamKernel, ceilings: &[Ceiling]) -> CompareRow {
        let find = |b: BackendKind| {
            self.stream
                .iter()
                .find(|r| r.kernel == kernel && r.backend == b && r.is_job_row())
        };
        let (engine, rayon, gpu) = (
            find(BackendKind::Engine),
            find(BackendKind::Rayon),
            find(BackendKind::Gpu),
        );
        let best = |backends: &[BackendKind]| {
            self.stream
                .iter()
                .filter(|r| backends.contains(&r.backend) && r.valid && r.is_job_row())
                .map(|r| r.gbs_median)
                .fold(0.0, f64::max)
        };
        let ceiling = |b: BackendKind| {
            ceilings
                .iter()
                .find(|c| c.backend == b)
                .map(|c| (c.bandwidth_gbs, "roofline ceiling"))
        };
        let cpu_peak = ceiling(BackendKind::Engine).unwrap_or((
            best(&[BackendKind::Engine, BackendKind::Rayon]),
            "best stream rate here",
        ));
        let gpu_peak = ceiling(BackendKind::Gpu)
            .unwrap_or((best(&[BackendKind::Gpu]), "best stream rate here"));
        let (agree, agree_short, agrees) = match (engine, gpu) {
            (Some(e), Some(g)) => {
                let agrees = e.valid && g.valid;
                let short = match g.max_rel_err {
                    Some(err) if kernel == crate::model::StreamKernel::Dot => {
                        format!("{}, {err:.0e}", yes(agrees))
                    }
                    Some(err) => format!("{}, {} ulp", yes(agrees), ulps(err, g.precision)),
                    None => yes(agrees).to_string(),
                };
                (format!("{}: {}", yes(agrees), g.check), short, agrees)
            }
            _ => ("-".to_string(), "-".to_string(), true),
        };
        let mut long = vec!["memory".to_string()];
        let mut short = Vec::new();
        let mut above = false;
        for (row, (peak, what), device) in [(engine, cpu_peak, "CPU"), (gpu, gpu_peak, "GPU")] {
            if let Some(r) = row.filter(|_| peak > 0.0) {
                let share = 100.0 * r.gbs_median / peak;
                let why = if share > 100.5 {
                    above = true;
                    format!(
                        " (above it: the ceiling is the roofline kernel's rate, and {} moves its data differently)",
                        kernel.name()
                    )
                } else {
                    String::new()
                };
                long.push(format!("{device} {share:.0}% of {what}{why}"));
                short.push(format!("{share:.0}%"));
            }
        }
        let bound_short = if short.is_empty() {
            "memory".to_string()
        } else {
            format!("mem {}{}", short.join("/"), if above { "!" } else { "" })
        };
        CompareRow {
            kernel: kernel.name().to_string(),
            unit: Unit::GBs,
            engine: engine.map(|r| r.gbs_median),
            rayon: rayon.map(|r| r.gbs_median),
            gpu_kernel: gpu.map(|r| r.gbs_median),
            gpu_end_to_end: gpu.and_then(StreamRow::end_to_end_gbs),
            gpu_over_engine: engine.zip(gpu).map(|(e, g)| g.gbs_median / e.gbs_median),
            agree,
            agrees,
            agree_short,
            bound: long.join(", "),
            bound_short,
        }
    }

    /// One row per GPU path (one row where no GPU ran).
    fn mc_rows(&self, cfg: &McConfig) -> Vec<CompareRow> {
        let option = crate::model::OptionKind::of(cfg.params.payoff);
        let this = |r: &&McRow| {
            r.option == option
                && r.steps == cfg.params.steps
                && r.paths == cfg.paths
                && r.is_job_row()
        };
        let find = |b: BackendKind| self.mc.iter().filter(this).find(|r| r.backend == b);
        let (engine, rayon) = (find(BackendKind::Engine), find(BackendKind::Rayon));
        let gpus: Vec<&McRow> = self
            .mc
            .iter()
            .filter(this)
            .filter(|r| r.backend.is_offload())
            .collect();
        if gpus.is_empty() {
            let label = crate::model::mc_label(option, cfg.params.steps, None);
            return vec![mc_compare_row(label, engine, rayon, None)];
        }
        gpus.into_iter()
            .map(|g| {
                let label = crate::model::mc_label(option, cfg.params.steps, g.gpu_path);
                mc_compare_row(label, engine, rayon, Some(g))
            })
            .collect()
    }
}

/// One option's compare row: the CPU rates, one GPU row's, and their agreement.
fn mc_compare_row(
    kernel: String,
    engine: Option<&McRow>,
    rayon: Option<&McRow>,
    gpu: Option<&McRow>,
) -> CompareRow {
    let mps = |r: &McRow| r.paths_per_s / 1e6;
    let (agree, agree_short, agrees) = match (engine, gpu) {
        (Some(e), Some(g)) => {
            let a = Agreement::of(g, e);
            let agrees = e.valid && g.valid;
            (
                format!(
                    "{}: |gpu - engine| = {:.2e}: {}",
                    yes(agrees),
                    a.gap,
                    a.text()
                ),
                format!("{}, {:.3} SE", yes(agrees), a.gap_se()),
                agrees,
            )
        }
        _ => ("-".to_string(), "-".to_string(), true),
    };
    CompareRow {
        kernel,
        unit: Unit::MPathsPerS,
        engine: engine.map(mps),
        rayon: rayon.map(mps),
        gpu_kernel: gpu.map(mps),
        gpu_end_to_end: gpu.and_then(|r| r.end_to_end_s.map(|t| r.paths as f64 / t / 1e6)),
        gpu_over_engine: engine.zip(gpu).map(|(e, g)| g.paths_per_s / e.paths_per_s),
        agree,
        agrees,
        agree_short,
        bound: "compute (no array traffic)".to_string(),
        bound_short: "compute".to_string(),
    }
}

/// A GPU price against the CPU's for the same paths.
struct Agreement {
    /// |GPU price − CPU price|.
    gap: f64,
    /// The CPU row's standard error.
    se: f64,
    /// The largest gap allowed, in price units, and where it comes from.
    bound: f64,
    derived: bool,
}

impl Agreement {
    /// The mirror is held to [`PRICE_TOLERANCE_SE`]; the native path to
    /// `cpu_kernels::mc::agreement_bound` with its own and the CPU's path errors added (both
    /// price the same draws).
    fn of(gpu: &McRow, cpu: &McRow) -> Agreement {
        let gap = (gpu.price - cpu.price).abs();
        let derived = gpu.path_error.zip(cpu.params()).and_then(|(rho, p)| {
            let mean = cpu.sums.map(|s| s.sum / s.count.max(1) as f64)?;
            mc::agreement_bound(&p, cpu.paths, mean, rho + mc::path_rounding(&p)?)
        });
        match derived {
            Some(bound) => Agreement {
                gap,
                se: cpu.std_error,
                bound,
                derived: true,
            },
            None => Agreement {
                gap,
                se: cpu.std_error,
                bound: PRICE_TOLERANCE_SE * cpu.std_error,
                derived: false,
            },
        }
    }

    fn gap_se(&self) -> f64 {
        if self.gap == 0.0 {
            0.0
        } else {
            self.gap / self.se
        }
    }

    fn holds(&self) -> bool {
        self.gap <= self.bound
    }

    fn text(&self) -> String {
        if self.derived {
            format!(
                "{:.4} SE (bound {:.2e} = {:.2} SE, from WGSL's accuracy rules)",
                self.gap_se(),
                self.bound,
                self.bound / self.se
            )
        } else {
            format!("{:.4} SE (bound {PRICE_TOLERANCE_SE} SE)", self.gap_se())
        }
    }
}

/// Two Monte Carlo rows price the same paths: same option, market, dates, paths and seed.
fn same_request(a: &McRow, b: &McRow) -> bool {
    (a.option, a.steps, a.paths, a.seed) == (b.option, b.steps, b.paths, b.seed)
        && a.market == b.market
        && a.scope == b.scope
}

fn yes(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}

/// A relative error in units of the precision's machine epsilon, rounded up.
fn ulps(rel_err: f64, precision: Precision) -> String {
    let eps = match precision {
        Precision::F32 => f64::from(f32::EPSILON),
        Precision::F64 => f64::EPSILON,
    };
    format!("{}", (rel_err / eps).ceil())
}

fn threads_suffix(threads: usize) -> String {
    if threads == 0 {
        String::new()
    } else {
        format!(", {}", plural(threads, "thread"))
    }
}
