//! The Monte Carlo benchmark on one backend.

use std::ops::Range;
use std::time::Instant;

use anyhow::Result;
use cpu_kernels::mc::{self, McParams, McSums, Payoff};

use super::Progress;
use crate::backend::Backend;
use crate::cluster;
use crate::gpu::launch::{self, Target};
use crate::model::{
    CheckMethod, Family, GpuPath, Launch, Market, McRow, OptionKind, Precision, Scope, Shape, Sums,
    Timing,
};

/// A price further than this many standard errors from its reference is wrong, not unlucky
/// (probability ~6e-5 for a correct estimator).
pub const Z_LIMIT: f64 = 4.0;

#[derive(Clone, Debug)]
pub struct McConfig {
    pub params: McParams,
    pub paths: u64,
    /// Repetitions including the dropped warm-up (at least 2).
    pub reps: usize,
}

/// The request a share's sums price: the paths it summed (its blocks' on the CPU; on the GPU,
/// those of its workgroups of the run's grid), the rest as `cfg`.
fn summed(cfg: &McConfig, sums: &McSums) -> McConfig {
    McConfig {
        paths: sums.count,
        ..cfg.clone()
    }
}

/// Prices the option `reps` times (with `path`, on a backend with several), checks that every
/// repetition gave the very same sums, and validates the price ([`Verdict::of`]). On a backend
/// whose launch shape is its own to choose, the tuner picks it first, on the same request.
///
/// Under MPI each rank simulates its share of the run's blocks ([`cluster::share`]), every
/// repetition starting after a barrier; each rank's row prices its share, and rank 0 adds the
/// job's row: every rank's block sums merged in rank and block order, the very bits of one
/// process (CPU backends), each repetition timed by its slowest rank. One process outside MPI
/// gives the one row it always gave.
pub fn run_mc(
    backend: &mut dyn Backend,
    cfg: &McConfig,
    path: Option<GpuPath>,
) -> Result<Vec<McRow>> {
    let cluster = cluster::world();
    let kind = backend.kind();
    if let Some(path) = path {
        backend.select_mc_path(path);
    }
    // This rank's blocks (all of them for one process).
    let share = cluster::share(mc::block_count(cfg.paths), cluster.rank(), cluster.size());
    let launch = choose_launch(backend, cfg, &share)?;
    let mut times = vec![0.0; cfg.reps];
    // Host clock around each call: for an offload device, parameters in, kernel, sums out.
    let mut walls = vec![0.0; cfg.reps];
    let mut pieces = Vec::with_capacity(share.len());
    let mut first: Option<Vec<McSums>> = None;
    let mut repeatable = true;
    // Progress in 2^40 units per repetition (fine enough for a batch of 2^24 path-steps of the
    // largest run to move it), advanced within each repetition as the backend reports batches.
    let unit = (1u64 << 40).min(u64::MAX / cfg.reps.max(1) as u64);
    let mut progress = Progress::percent(
        &match path {
            Some(path) => format!("mc {} {}", kind.name(), path.name()),
            None => format!("mc {}", kind.name()),
        },
        unit.saturating_mul(cfg.reps as u64),
    );
    for (rep, (time, wall)) in times.iter_mut().zip(&mut walls).enumerate() {
        let base = rep as u64 * unit;
        let mut report = |done: f64| {
            progress.set(base + (done.clamp(0.0, 1.0) * unit as f64) as u64);
        };
        pieces.clear();
        cluster.barrier();
        let start = Instant::now();
        let ran = backend.simulate(
            &cfg.params,
            cfg.paths,
            share.clone(),
            &mut pieces,
            &mut report,
        )?;
        *wall = start.elapsed().as_secs_f64();
        *time = ran.kernel_s.unwrap_or(*wall);
        match &first {
            Some(f) => repeatable &= *f == pieces,
            None => first = Some(pieces.clone()),
        }
        progress.set(base + unit);
    }
    drop(progress);
    let pieces = first.expect("at least one repetition");
    let row = |cfg: &McConfig, measured: Measured, scope: Option<Scope>| McRow {
        launch: launch.clone(),
        ..measured.row(backend, cfg, path, scope)
    };
    let mut rows = Vec::new();
    let own = McSums::merged(&pieces);
    // A rank whose share has no path (more ranks than blocks, or than GPU workgroups) prices
    // nothing of its own.
    if own.count > 0 {
        rows.push(row(
            &summed(cfg, &own),
            Measured {
                sums: own,
                times: times.clone(),
                walls: walls.clone(),
                repeatable,
            },
            cluster.rank_scope(),
        ));
    }
    if cluster.is_mpi() {
        let reps = times.len();
        let mut slowest = [times, walls].concat();
        cluster.max(&mut slowest);
        let repeatable = cluster.all(repeatable);
        let mine: Vec<Sums> = pieces.iter().map(|&p| p.into()).collect();
        let every = cluster.gather(&mine);
        if cluster.is_root() {
            let pieces: Vec<McSums> = every.into_iter().flatten().map(McSums::from).collect();
            let sums = McSums::merged(&pieces);
            let mut job = row(
                cfg,
                Measured {
                    sums,
                    walls: slowest.split_off(reps),
                    times: slowest,
                    repeatable,
                },
                Some(Scope::Aggregate {
                    ranks: cluster.size(),
                }),
            );
            // Shares that do not tile the run (GPU ranks whose devices size the grid apart)
            // price some other set of paths.
            if sums.count != cfg.paths {
                job.valid = false;
                job.check = format!(
                    "the ranks' shares summed {} paths of {}: they did not split one run",
                    sums.count, cfg.paths
                );
            }
            rows.push(job);
        }
    }
    Ok(rows)
}

/// What the repetitions of one request measured, before it is a row.
struct Measured {
    sums: McSums,
    /// Per repetition, the warm-up first: the kernel's time, and the host clock around it.
    times: Vec<f64>,
    walls: Vec<f64>,
    repeatable: bool,
}

impl Measured {
    /// The row of `cfg` (the whole run, or one rank's share of it), validated.
    fn row(
        mut self,
        backend: &dyn Backend,
        cfg: &McConfig,
        path: Option<GpuPath>,
        scope: Option<Scope>,
    ) -> McRow {
        let timing = Timing::from_times(&mut self.times[1..]);
        let offload = backend.is_offload();
        let end_to_end_s = offload.then(|| Timing::from_times(&mut self.walls[1..]).median_s);
        let path_error = backend.path_error(&cfg.params, cfg.paths);
        let Verdict {
            price,
            std_error,
            reference,
            z_score,
            method,
            mut valid,
            mut check,
        } = Verdict::of(cfg, self.sums, path_error);
        if !self.repeatable {
            valid = false;
            check = "repetitions of the same seed gave different sums".into();
        }
        let p = &cfg.params;
        McRow {
            option: OptionKind::of(p.payoff),
            backend: backend.kind(),
            threads: backend.threads(),
            paths: cfg.paths,
            steps: p.steps,
            seed: p.seed,
            market: Some(Market {
                s0: p.s0,
                strike: p.strike,
                rate: p.rate,
                sigma: p.sigma,
                maturity: p.maturity,
            }),
            reps: self.times.len() - 1,
            timing,
            paths_per_s: cfg.paths as f64 / timing.median_s,
            price,
            std_error,
            reference,
            z_score,
            method,
            check,
            valid,
            sums: Some(self.sums.into()),
            kernel_s: offload.then_some(timing.median_s),
            end_to_end_s,
            gpu_path: path,
            path_error,
            launch: None,
            scope,
        }
    }
}

/// The Monte Carlo launch, on backends whose launch shape is theirs to choose (the GPU): chosen
/// by [`launch::choose`] on this very request (this rank's share of it), each probe's sums
/// validated as a row's are.
fn choose_launch(
    backend: &mut dyn Backend,
    cfg: &McConfig,
    share: &Range<usize>,
) -> Result<Option<Launch>> {
    let Some((space, tuning)) = backend.launch_space(Family::MonteCarlo, Precision::F32) else {
        return Ok(None);
    };
    let mut target = McTarget {
        backend,
        cfg,
        share,
    };
    let (shape, probes) = launch::choose(&space, tuning, &mut target)?;
    // Every rank sums its workgroups of one grid, the same as one GPU's at that shape: the
    // ranks must launch alike, at the shape rank 0 chose (its probes are in its row).
    let shape = cluster::world().from_root(&shape);
    backend.set_shape(Family::MonteCarlo, shape);
    Ok(backend
        .launch(Family::MonteCarlo, cfg.paths)
        .map(|l| Launch { probes, ..l }))
}

/// One rank's share of a Monte Carlo request as the launch tuner probes it.
struct McTarget<'a> {
    backend: &'a mut dyn Backend,
    cfg: &'a McConfig,
    /// This rank's blocks.
    share: &'a Range<usize>,
}

impl McTarget<'_> {
    fn run(&mut self, shape: Shape) -> Result<(McSums, f64)> {
        self.backend.set_shape(Family::MonteCarlo, shape);
        let mut pieces = Vec::new();
        let start = Instant::now();
        let ran = self.backend.simulate(
            &self.cfg.params,
            self.cfg.paths,
            self.share.clone(),
            &mut pieces,
            &mut |_| {},
        )?;
        Ok((
            McSums::merged(&pieces),
            ran.kernel_s.unwrap_or(start.elapsed().as_secs_f64()),
        ))
    }
}

impl Target for McTarget<'_> {
    fn time(&mut self, shape: Shape) -> Result<f64> {
        Ok(self.run(shape)?.1)
    }

    fn holds(&mut self, shape: Shape) -> Result<bool> {
        let (sums, _) = self.run(shape)?;
        // A rank whose share of the grid has no workgroup at this shape has nothing to check.
        if sums.count == 0 {
            return Ok(true);
        }
        let share = summed(self.cfg, &sums);
        let path_error = self.backend.path_error(&share.params, share.paths);
        Ok(Verdict::of(&share, sums, path_error).valid)
    }
}

/// A price and how it was validated.
struct Verdict {
    price: f64,
    std_error: f64,
    reference: Option<f64>,
    z_score: Option<f64>,
    method: CheckMethod,
    valid: bool,
    check: String,
}

impl Verdict {
    /// Validates the price of `sums`: within `Z_LIMIT` standard errors of the closed form where
    /// one exists; arithmetic Asians have none, and are held to the bound AM ≥ GM gives against
    /// the geometric Asian's closed form (call ≥ geometric call, put ≤ geometric put).
    /// `path_error` is the backend's own arithmetic's, where it is not `cpu-kernels`'.
    fn of(cfg: &McConfig, sums: McSums, path_error: Option<f64>) -> Verdict {
        let (price, std_error) = sums.estimate(cfg.params.discount());
        let reference = mc::closed_form(&cfg.params);
        let cpu_rounding = mc::rounding_bound(&cfg.params, cfg.paths).unwrap_or(f64::INFINITY);
        // Zero variance (every payoff 0, or σ so small that every path is the same) is
        // legitimate: then, and whenever Z_LIMIT standard errors are below what the f32 path
        // arithmetic of cpu-kernels can move the price, a z-score measures rounding, not luck.
        // The check is then agreement within the rounding bound of the backend's arithmetic
        // (plus the Z_LIMIT standard errors). Whether a z-score applies depends on the request,
        // not on the backend, so every backend is held to the same kind of check.
        let method = if Z_LIMIT * std_error > cpu_rounding {
            CheckMethod::ZScore
        } else {
            CheckMethod::ZeroVariance
        };
        let rounding = match path_error {
            Some(rho) => mc::error_bound(&cfg.params, cfg.paths, rho),
            None => mc::rounding_bound(&cfg.params, cfg.paths),
        }
        .unwrap_or(f64::INFINITY);
        let z_score = reference
            .filter(|_| method == CheckMethod::ZScore)
            .map(|r| (price - r) / std_error);

        let (mut valid, mut check) = match reference {
            Some(r) if method == CheckMethod::ZScore => {
                let z = (price - r) / std_error;
                (
                    z.abs() <= Z_LIMIT,
                    format!("z-score: closed form {r:.6}, z = {z:+.2}"),
                )
            }
            Some(r) => zero_variance_check(&cfg.params, cfg.paths, sums, price, r, rounding),
            None => am_gm_check(
                &cfg.params,
                cfg.paths,
                sums,
                price,
                std_error,
                rounding,
                method,
            ),
        };
        if sums.count != cfg.paths || !price.is_finite() || !std_error.is_finite() {
            valid = false;
            check = format!(
                "{} paths summed of {}, price {price}, std error {std_error}",
                sums.count, cfg.paths
            );
        }
        Verdict {
            price,
            std_error,
            reference,
            z_score,
            method,
            valid,
            check,
        }
    }
}

/// Probability below which a run whose every payoff is zero counts as implausible: the two-sided
/// tail of `Z_LIMIT` standard errors (6.3e-5), as for the z-score.
const ALL_ZERO_PROBABILITY: f64 = 6.3e-5;

/// Zero (or rounding-dominated) variance against a closed form `r`: `|price − r| ≤ rounding +
/// Z_LIMIT·SE`. One more case is legitimate: every payoff zero (`price = 0`) while the closed
/// form is positive past the bound, which is plausible only when paying paths are rare:
/// `P(no path pays) = (1 − q)^n ≥ ALL_ZERO_PROBABILITY`, `q` the exercise probability.
///
/// Digitals need no rule of their own: every payoff 0 is plausible only for
/// `q ≤ −ln(ALL_ZERO_PROBABILITY)/n = 9.7/n`, every payoff 1 only for `1 − q` that small, and
/// either way the gap to the closed form, `e^{−rT}` times that probability, is inside the
/// rounding bound, which allows at least `2L/3 = 13.3` of the `n` paths to flip
/// (`cpu_kernels::mc::rounding_bound`).
fn zero_variance_check(
    params: &McParams,
    paths: u64,
    sums: McSums,
    price: f64,
    r: f64,
    rounding: f64,
) -> (bool, String) {
    let (_, se) = sums.estimate(params.discount());
    let bound = rounding + Z_LIMIT * se;
    let gap = (price - r).abs();
    let mut valid = gap <= bound;
    let mut check = format!(
        "zero-variance: |price - closed form {r:.6}| = {gap:.3e} <= bound {bound:.3e} (f32 path rounding {rounding:.3e} + {Z_LIMIT} SE)"
    );
    if !valid && sums.sum == 0.0 {
        (valid, check) = all_zero(params, paths, "closed form", r);
    }
    (valid, check)
}

/// Every payoff zero where the reference (closed form, or the geometric bound an arithmetic
/// call must exceed) is `r > 0`: plausible when `(1 − q)^n ≥ ALL_ZERO_PROBABILITY`, with `q`
/// the exercise probability of the option with the closed form (for an arithmetic call the
/// geometric call's, which is smaller: A ≥ G pathwise, so this is the lenient side).
fn all_zero(params: &McParams, paths: u64, what: &str, r: f64) -> (bool, String) {
    let q = match params.payoff {
        Payoff::AsianArithmeticCall => mc::exercise_probability(&McParams {
            payoff: Payoff::AsianGeometricCall,
            ..*params
        }),
        _ => mc::exercise_probability(params),
    }
    .unwrap_or(1.0);
    // ln((1 − q)^n), accurate for tiny q.
    let ln_p = paths as f64 * (-q).ln_1p();
    let p = ln_p.exp();
    (
        p >= ALL_ZERO_PROBABILITY,
        format!(
            "zero-variance: every payoff 0 against {what} {r:.6}: P(no paying path) = (1 - {q:.3e})^{paths} = {p:.3e} (at least {ALL_ZERO_PROBABILITY:e} required)"
        ),
    )
}

/// Pathwise the arithmetic average is at least the geometric one, so the arithmetic call is worth
/// at least the geometric call and the arithmetic put at most the geometric put. The slack is
/// `Z_LIMIT` standard errors, plus the f32 rounding bound when the variance is zero or dominated
/// by rounding.
fn am_gm_check(
    params: &McParams,
    paths: u64,
    sums: McSums,
    price: f64,
    std_error: f64,
    rounding: f64,
    method: CheckMethod,
) -> (bool, String) {
    let (geometric, call) = match params.payoff {
        Payoff::AsianArithmeticCall => (Payoff::AsianGeometricCall, true),
        Payoff::AsianArithmeticPut => (Payoff::AsianGeometricPut, false),
        other => return (false, format!("no reference for {other:?}")),
    };
    let Some(bound) = mc::closed_form(&McParams {
        payoff: geometric,
        ..*params
    }) else {
        return (false, "no geometric closed form".into());
    };
    let (slack, how) = match method {
        CheckMethod::ZScore => (Z_LIMIT * std_error, format!("{Z_LIMIT} SE")),
        CheckMethod::ZeroVariance => (
            Z_LIMIT * std_error + rounding,
            format!("zero-variance: f32 path rounding {rounding:.3e} + {Z_LIMIT} SE"),
        ),
    };
    if call {
        let valid = price >= bound - slack;
        if !valid && sums.sum == 0.0 {
            let (v, c) = all_zero(params, paths, "AM-GM bound geometric", bound);
            return (v, format!("AM-GM, {c}"));
        }
        (
            valid,
            format!("AM-GM: >= geometric {bound:.6} - {slack:.3e} ({how})"),
        )
    } else {
        (
            price <= bound + slack,
            format!("AM-GM: <= geometric {bound:.6} + {slack:.3e} ({how})"),
        )
    }
}
