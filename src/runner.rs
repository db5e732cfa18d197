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

use crate::backend::Backend;
use crate::bench::{McConfig, RooflineConfig, StreamConfig, run_mc, run_roofline, run_stream};
use crate::cluster;
use crate::model::{
    Agreement, BackendKind, Bound, Ceiling, CeilingSource, CompareRow, Compared, GpuPath, McRow,
    OptionKind, Precision, PriceBound, RooflineRow, Scope, Share, StreamKernel, StreamRow, Unit,
    in_std_errors,
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
    /// The GPU's random numbers against the CPU's ([`Agreement::Draws`]).
    pub rng: Option<Agreement>,
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
                    if !a.holds() {
                        self.fail(format!(
                            "random numbers on {name} differ from the CPU's: {a:?}"
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
            let agreement = price_agreement(&self.mc[i], cpu);
            if let Agreement::PriceGap {
                gap,
                bound,
                std_error,
                ..
            } = agreement
                && !agreement.holds()
            {
                let text = format!(
                    "price {:.6} differs from {}'s {:.6} by {:.4} SE (bound {:.4} SE)",
                    self.mc[i].price,
                    cpu.backend.name(),
                    cpu.price,
                    in_std_errors(gap, std_error),
                    in_std_errors(bound, std_error)
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
        kernels: &[StreamKernel],
        options: &[McConfig],
        ceilings: &[Ceiling],
    ) -> Vec<CompareRow> {
        let mut rows: Vec<CompareRow> = kernels
            .iter()
            .map(|&k| self.stream_row(k, ceilings))
            .collect();
        rows.extend(options.iter().flat_map(|o| self.mc_rows(o)));
        if let Some(a) = self.rng {
            rows.push(CompareRow {
                of: Compared::Rng,
                unit: Unit::None,
                engine: None,
                rayon: None,
                gpu_kernel: None,
                gpu_end_to_end: None,
                gpu_over_engine: None,
                agrees: a.holds(),
                agreement: Some(a),
                bound: None,
            });
        }
        rows
    }

    fn stream_row(&self, kernel: StreamKernel, ceilings: &[Ceiling]) -> CompareRow {
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
        let best = |offload: bool| {
            self.stream
                .iter()
                .filter(|r| r.backend.is_offload() == offload && r.valid && r.is_job_row())
                .map(|r| r.gbs_median)
                .fold(0.0, f64::max)
        };
        let ceiling = |offload: bool| {
            ceilings
                .iter()
                .find(|c| c.backend.is_offload() == offload)
                .map_or((best(offload), CeilingSource::BestStreamRate), |c| {
                    (c.bandwidth_gbs, CeilingSource::Roofline)
                })
        };
        let share = |row: Option<&StreamRow>, offload: bool| {
            let (ceiling_gbs, source) = ceiling(offload);
            row.filter(|_| ceiling_gbs > 0.0).map(|r| Share {
                fraction: r.gbs_median / ceiling_gbs,
                ceiling_gbs,
                source,
            })
        };
        let (agrees, agreement) = match (engine, gpu) {
            (Some(e), Some(g)) => (
                e.valid && g.valid,
                g.max_rel_err
                    .zip(g.rel_err_bound)
                    .map(|(max, bound)| Agreement::RelativeError {
                        max,
                        bound,
                        precision: g.precision,
                    }),
            ),
            _ => (true, None),
        };
        CompareRow {
            of: Compared::Stream { kernel },
            unit: Unit::GBs,
            engine: engine.map(|r| r.gbs_median),
            rayon: rayon.map(|r| r.gbs_median),
            gpu_kernel: gpu.map(|r| r.gbs_median),
            gpu_end_to_end: gpu.and_then(StreamRow::end_to_end_gbs),
            gpu_over_engine: engine.zip(gpu).map(|(e, g)| g.gbs_median / e.gbs_median),
            agrees,
            agreement,
            bound: Some(Bound::Memory {
                cpu: share(engine, false),
                gpu: share(gpu, true),
            }),
        }
    }

    /// One row per GPU path (one row where no GPU ran).
    fn mc_rows(&self, cfg: &McConfig) -> Vec<CompareRow> {
        let option = OptionKind::of(cfg.params.payoff);
        let steps = cfg.params.steps;
        let this = |r: &&McRow| {
            r.option == option && r.steps == steps && r.paths == cfg.paths && r.is_job_row()
        };
        let find = |b: BackendKind| self.mc.iter().filter(this).find(|r| r.backend == b);
        let (engine, rayon) = (find(BackendKind::Engine), find(BackendKind::Rayon));
        let gpus: Vec<&McRow> = self
            .mc
            .iter()
            .filter(this)
            .filter(|r| r.backend.is_offload())
            .collect();
        let of = |gpu: Option<&McRow>| Compared::Option {
            option,
            steps,
            gpu_path: gpu.and_then(|g| g.gpu_path),
        };
        if gpus.is_empty() {
            return vec![mc_compare_row(of(None), engine, rayon, None)];
        }
        gpus.into_iter()
            .map(|g| mc_compare_row(of(Some(g)), engine, rayon, Some(g)))
            .collect()
    }
}

/// One option's compare row: the CPU rates, one GPU row's, and their agreement.
fn mc_compare_row(
    of: Compared,
    engine: Option<&McRow>,
    rayon: Option<&McRow>,
    gpu: Option<&McRow>,
) -> CompareRow {
    let mps = |r: &McRow| r.paths_per_s / 1e6;
    let (agrees, agreement) = match (engine, gpu) {
        (Some(e), Some(g)) => (e.valid && g.valid, Some(price_agreement(g, e))),
        _ => (true, None),
    };
    CompareRow {
        of,
        unit: Unit::MPathsPerS,
        engine: engine.map(mps),
        rayon: rayon.map(mps),
        gpu_kernel: gpu.map(mps),
        gpu_end_to_end: gpu.and_then(|r| r.end_to_end_s.map(|t| r.paths as f64 / t / 1e6)),
        gpu_over_engine: engine.zip(gpu).map(|(e, g)| g.paths_per_s / e.paths_per_s),
        agrees,
        agreement,
        bound: Some(Bound::Compute),
    }
}

/// A GPU price against the CPU's for the same paths: the mirror is held to
/// [`PRICE_TOLERANCE_SE`]; the native path to `cpu_kernels::mc::agreement_bound` with its own
/// and the CPU's path errors added (both price the same draws).
fn price_agreement(gpu: &McRow, cpu: &McRow) -> Agreement {
    let gap = (gpu.price - cpu.price).abs();
    let derived = gpu.path_error.zip(cpu.params()).and_then(|(rho, p)| {
        let mean = cpu.sums.map(|s| s.sum / s.count.max(1) as f64)?;
        mc::agreement_bound(&p, cpu.paths, mean, rho + mc::path_rounding(&p)?)
    });
    let (bound, bound_from) = match derived {
        Some(bound) => (bound, PriceBound::WgslAccuracy),
        None => (
            PRICE_TOLERANCE_SE * cpu.std_error,
            PriceBound::StandardErrors,
        ),
    };
    Agreement::PriceGap {
        gap,
        bound,
        std_error: cpu.std_error,
        bound_from,
    }
}

/// Two Monte Carlo rows price the same paths: same option, market, dates, paths and seed.
fn same_request(a: &McRow, b: &McRow) -> bool {
    (a.option, a.steps, a.paths, a.seed) == (b.option, b.steps, b.paths, b.seed)
        && a.market == b.market
        && a.scope == b.scope
}

fn threads_suffix(threads: usize) -> String {
    if threads == 0 {
        String::new()
    } else {
        format!(", {}", plural(threads, "thread"))
    }
}
