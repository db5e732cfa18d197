//! The Monte Carlo benchmark on one backend.

use std::time::Instant;

use anyhow::Result;
use cpu_kernels::mc::{self, McParams, McSums, Payoff};

use super::{Progress, Timing};
use crate::backend::Backend;
use crate::kernels::OptionKind;
use crate::report::McRow;

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

pub struct McOutcome {
    pub row: McRow,
    /// The raw sums, for comparing backends bit for bit.
    pub sums: McSums,
}

/// Prices the option `reps` times, checks that every repetition gave the very same sums, and
/// validates the price: within `Z_LIMIT` standard errors of the closed form where one exists;
/// arithmetic Asians have none, and are held to the bound AM ≥ GM gives against the geometric
/// Asian's closed form (call ≥ geometric call, put ≤ geometric put).
pub fn run_mc(backend: &mut dyn Backend, cfg: &McConfig) -> Result<McOutcome> {
    let (kind, threads) = (backend.kind(), backend.threads());
    let mut times = vec![0.0; cfg.reps];
    // Host clock around each call: for an offload device, parameters in, kernel, sums out.
    let mut walls = vec![0.0; cfg.reps];
    let mut first: Option<McSums> = None;
    let mut repeatable = true;
    let mut progress = Progress::new(&format!("mc {}", kind.name()), cfg.reps as u64);
    for (time, wall) in times.iter_mut().zip(&mut walls) {
        let start = Instant::now();
        let ran = backend.simulate(&cfg.params, cfg.paths)?;
        *wall = start.elapsed().as_secs_f64();
        *time = ran.kernel_s.unwrap_or(*wall);
        repeatable &= *first.get_or_insert(ran.value) == ran.value;
        progress.step();
    }
    drop(progress);
    let sums = first.expect("at least one repetition");
    let timing = Timing::from_times(&mut times[1..]);
    let offload = backend.is_offload();
    let end_to_end_s = offload.then(|| Timing::from_times(&mut walls[1..]).median_s);
    let (price, std_error) = sums.estimate(cfg.params.discount());
    let reference = mc::closed_form(&cfg.params);
    let z_score = reference.map(|r| (price - r) / std_error);

    let (mut valid, mut check) = match (reference, z_score) {
        (Some(r), Some(z)) => (
            z.abs() <= Z_LIMIT,
            format!("closed form {r:.6}, z = {z:+.2}"),
        ),
        _ => am_gm_check(&cfg.params, price, std_error),
    };
    if sums.count != cfg.paths || !price.is_finite() || !std_error.is_finite() {
        valid = false;
        check = format!(
            "{} paths summed of {}, price {price}, std error {std_error}",
            sums.count, cfg.paths
        );
    }
    if !repeatable {
        valid = false;
        check = "repetitions of the same seed gave different sums".into();
    }
    let row = McRow {
        option: OptionKind(cfg.params.payoff).name(),
        backend: kind.name(),
        threads,
        paths: cfg.paths,
        steps: cfg.params.steps,
        seed: cfg.params.seed,
        reps: times.len() - 1,
        timing,
        paths_per_s: cfg.paths as f64 / timing.median_s,
        price,
        std_error,
        reference,
        z_score,
        check,
        valid,
        kernel_s: offload.then_some(timing.median_s),
        end_to_end_s,
    };
    Ok(McOutcome { row, sums })
}

/// Pathwise the arithmetic average is at least the geometric one, so the arithmetic call is worth
/// at least the geometric call and the arithmetic put at most the geometric put.
fn am_gm_check(params: &McParams, price: f64, std_error: f64) -> (bool, String) {
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
    let slack = Z_LIMIT * std_error;
    if call {
        (
            price >= bound - slack,
            format!("AM-GM: >= geometric {bound:.6}"),
        )
    } else {
        (
            price <= bound + slack,
            format!("AM-GM: <= geometric {bound:.6}"),
        )
    }
}
