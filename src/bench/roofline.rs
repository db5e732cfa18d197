//! The roofline sweep on one backend, and the fit of its two ceilings.

use std::time::Instant;

use super::Progress;
use crate::backend::Backend;
use crate::gpu::launch::{self, Target};
use crate::model::{Ceiling, Family, Launch, MemoryLevel, Precision, RooflineRow, Shape, Timing};
use anyhow::Result;
use cpu_kernels::roofline::{roofline_bytes, roofline_flops, roofline_gold};

/// The element every run starts from, and the FMA's constants: x ↦ 0.999·x + 0.001 contracts
/// towards 1, so any number of FMAs keeps the values normal and nothing overflows.
const X0: f32 = 1.5;
const ALPHA: f32 = 0.999;
const BETA: f32 = 0.001;

#[derive(Clone, Debug)]
pub struct RooflineConfig {
    pub n: usize,
    /// FMAs per element at each point of the sweep.
    pub fmas: Vec<u32>,
    /// Repetitions per point, including the dropped warm-up (at least 2).
    pub reps: usize,
}

/// Runs every point of the sweep on `backend` and validates the array after each point against
/// the scalar replay of every FMA applied so far (exact on the CPU; within the backend's
/// `fma_tolerance` per FMA elsewhere). On a backend whose launch shape is its own to choose, the
/// tuner picks one per point first; it leaves the array holding the replay's value exactly, so
/// the tolerance counts the FMAs applied since.
pub fn run_roofline(backend: &mut dyn Backend, cfg: &RooflineConfig) -> Result<Vec<RooflineRow>> {
    let (kind, threads) = (backend.kind(), backend.threads());
    backend.roofline_init(cfg.n, X0)?;
    let mut gold = X0;
    let mut applied = 0u64;
    let mut rows = Vec::with_capacity(cfg.fmas.len());
    let mut times = vec![0.0; cfg.reps];
    let mut progress = Progress::new(
        &format!("roofline {}", kind.name()),
        (cfg.fmas.len() * cfg.reps) as u64,
    );
    for &fmas in &cfg.fmas {
        let launch = choose_launch(backend, cfg.n, fmas, gold)?;
        if launch.as_ref().is_some_and(|l| !l.probes.is_empty()) {
            applied = 0;
        }
        for time in &mut times {
            let start = Instant::now();
            let ran = backend.roofline_run(fmas, ALPHA, BETA)?;
            *time = ran
                .kernel_s
                .unwrap_or_else(|| start.elapsed().as_secs_f64());
            gold = roofline_gold(gold, fmas, ALPHA, BETA);
            applied += u64::from(fmas);
            progress.step();
        }
        let tolerance = backend.fma_tolerance() * applied as f64;
        let (valid, check) = check(&backend.roofline_read()?, gold, tolerance);
        let timing = Timing::from_times(&mut times[1..]);
        rows.push(RooflineRow {
            backend: kind,
            threads,
            n: cfg.n,
            precision: Precision::F32,
            fmas,
            intensity: roofline_flops(1, fmas) / roofline_bytes::<f32>(1),
            gflops: roofline_flops(cfg.n, fmas) / timing.median_s / 1e9,
            gbs: roofline_bytes::<f32>(cfg.n) / timing.median_s / 1e9,
            timing,
            valid,
            check,
            launch,
        });
    }
    drop(progress);
    backend.roofline_release();
    Ok(rows)
}

/// The launch of one point, on backends whose launch shape is theirs to choose: chosen by
/// [`launch::choose`] on the real array, which holds `x` everywhere afterwards.
fn choose_launch(backend: &mut dyn Backend, n: usize, fmas: u32, x: f32) -> Result<Option<Launch>> {
    let Some((space, tuning)) = backend.launch_space(Family::Roofline, Precision::F32) else {
        return Ok(None);
    };
    let mut target = RooflineTarget {
        backend: &mut *backend,
        n,
        fmas,
        x,
    };
    let (shape, probes) = launch::choose(&space, tuning, &mut target)?;
    backend.set_shape(Family::Roofline, shape);
    if !probes.is_empty() {
        backend.roofline_refill(n, x)?;
    }
    Ok(backend
        .launch(Family::Roofline, 0)
        .map(|l| Launch { probes, ..l }))
}

/// One roofline point as the launch tuner probes it.
struct RooflineTarget<'a> {
    backend: &'a mut dyn Backend,
    n: usize,
    fmas: u32,
    /// What every element holds before the point.
    x: f32,
}

impl Target for RooflineTarget<'_> {
    fn time(&mut self, shape: Shape) -> Result<f64> {
        self.backend.set_shape(Family::Roofline, shape);
        let start = Instant::now();
        let ran = self.backend.roofline_run(self.fmas, ALPHA, BETA)?;
        Ok(ran.kernel_s.unwrap_or(start.elapsed().as_secs_f64()))
    }

    /// One run from `x`, against the replay of its FMAs.
    fn holds(&mut self, shape: Shape) -> Result<bool> {
        self.backend.set_shape(Family::Roofline, shape);
        self.backend.roofline_refill(self.n, self.x)?;
        self.backend.roofline_run(self.fmas, ALPHA, BETA)?;
        let gold = roofline_gold(self.x, self.fmas, ALPHA, BETA);
        let tolerance = self.backend.fma_tolerance() * f64::from(self.fmas);
        Ok(check(&self.backend.roofline_read()?, gold, tolerance).0)
    }
}

fn check(x: &[f32], gold: f32, tolerance: f64) -> (bool, String) {
    let g = f64::from(gold);
    let worst = x
        .iter()
        .map(|&v| (f64::from(v) - g).abs() / g.abs())
        .fold(
            0.0f64,
            |w, e| if e.is_nan() { f64::INFINITY } else { w.max(e) },
        );
    let text = if tolerance == 0.0 {
        format!("max rel err {worst:.1e} (exact required)")
    } else {
        format!("max rel err {worst:.1e} (bound {tolerance:.1e})")
    };
    (worst <= tolerance, text)
}

/// Fits the ceilings to measured points: the bandwidth ceiling is the best bandwidth any point
/// reached (the low-intensity points sit on it), the compute ceiling the best FLOP rate (the
/// high-intensity points sit on it), as the Empirical Roofline Toolkit reports them; `level` is
/// where the array lived. `None` with no valid point.
pub fn fit_ceiling(rows: &[RooflineRow], level: MemoryLevel) -> Option<Ceiling> {
    let valid: Vec<&RooflineRow> = rows.iter().filter(|r| r.valid).collect();
    let first = valid.first()?;
    let bandwidth_gbs = valid.iter().map(|r| r.gbs).fold(0.0, f64::max);
    let compute_gflops = valid.iter().map(|r| r.gflops).fold(0.0, f64::max);
    (bandwidth_gbs > 0.0 && compute_gflops > 0.0).then(|| Ceiling {
        backend: first.backend,
        bandwidth_gbs,
        compute_gflops,
        ridge: compute_gflops / bandwidth_gbs,
        level: Some(level),
        threads: Some(first.threads),
        n: Some(first.n),
        precision: Some(first.precision),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(intensity: f64, gflops: f64) -> RooflineRow {
        let median_s = 1.0;
        RooflineRow {
            backend: crate::model::BackendKind::Engine,
            threads: 2,
            n: 1,
            precision: Precision::F32,
            fmas: (intensity * 4.0) as u32,
            intensity,
            timing: Timing {
                median_s,
                min_s: median_s,
                max_s: median_s,
                mean_s: Some(median_s),
                cv: None,
            },
            gflops,
            gbs: if intensity > 0.0 {
                gflops / intensity
            } else {
                40.0
            },
            valid: true,
            check: String::new(),
            launch: None,
        }
    }

    /// Points drawn from a known roofline (40 GB/s, 150 GFLOP/s) give back both ceilings and
    /// the ridge, 3.75 FLOP/byte; invalid points are ignored.
    #[test]
    fn the_fit_recovers_known_ceilings() {
        let (bw, peak) = (40.0, 150.0);
        let mut rows: Vec<RooflineRow> = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0]
            .iter()
            .map(|&i: &f64| row(i, (bw * i).min(peak)))
            .collect();
        let mut wild = row(1.0, 1e6);
        wild.valid = false;
        rows.push(wild);
        let c = fit_ceiling(&rows, MemoryLevel::Dram).expect("valid points");
        assert!((c.bandwidth_gbs - bw).abs() < 1e-9, "{c:?}");
        assert!((c.compute_gflops - peak).abs() < 1e-9, "{c:?}");
        assert!((c.ridge - 3.75).abs() < 1e-9, "{c:?}");
        assert_eq!(fit_ceiling(&[], MemoryLevel::Dram), None);
        assert_eq!(c.level, Some(MemoryLevel::Dram));
    }
}
