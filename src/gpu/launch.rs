//! Launch shapes: the candidates for each kernel family within an adapter's limits, the grid a
//! shape launches, and the tuner that picks a shape per adapter by measuring it on the real
//! buffers (untimed, before the timed repetitions).
//!
//! A shape is a workgroup size, a width (elements per load and store) and the work items each
//! invocation is sized for (the grid). The tuner searches one coordinate at a time, from the
//! default: the workgroup size at width 1 and one item per invocation, then the width at the
//! best size, then the items per invocation, 9 probes at most instead of the 45 of the full
//! grid. Each probe is one untimed run and the best of up to three timed ones. It then checks
//! the shapes fastest first and keeps the first whose output holds, so a slower shape is never
//! the one reported, and a shape that computes wrongly is never chosen.

use std::time::Instant;

use anyhow::Result;
use clap::ValueEnum;

use super::GpuError;
use crate::model::{Family, LimitsSummary, Probe, Shape};

const WORKGROUPS: [u32; 5] = [64, 128, 256, 512, 1024];
const WIDTHS: [u32; 3] = [1, 2, 4];
const PER_INVOCATION: [u32; 3] = [1, 4, 16];

/// A probe stops taking timed runs once they add up to this: on a software adapter one run of a
/// large array takes a second, and one run is then enough to rank shapes that differ by tens of
/// percent; on a real GPU runs take microseconds to milliseconds and every probe gets all three.
const PROBE_BUDGET_S: f64 = 0.25;

/// `--gpu-tune`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tuning {
    /// Probe shapes on the real buffers before the timed runs; keep the fastest valid one.
    #[default]
    Auto,
    /// The default shape (256-wide groups, one element per invocation), nothing probed.
    Off,
}

/// The shapes one family may launch with on one adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    pub family: Family,
    pub workgroups: Vec<u32>,
    pub widths: Vec<u32>,
    pub per_invocation: Vec<u32>,
}

impl Space {
    /// The candidates within the adapter's limits: workgroup sizes it can run (invocations, x
    /// size, and `shared_bytes` of workgroup memory per invocation, which the reductions need),
    /// widths for the families that load arrays.
    pub fn new(family: Family, limits: &LimitsSummary, shared_bytes: u32) -> Space {
        let x_max = match limits.max_compute_workgroup_size_x {
            0 => limits.max_compute_invocations_per_workgroup,
            x => x,
        };
        let mut workgroups: Vec<u32> = WORKGROUPS
            .into_iter()
            .filter(|&wg| {
                wg <= limits.max_compute_invocations_per_workgroup
                    && wg <= x_max
                    && u64::from(wg) * u64::from(shared_bytes)
                        <= u64::from(limits.max_compute_workgroup_storage_size)
            })
            .collect();
        if workgroups.is_empty() {
            workgroups.push(WORKGROUPS[0]);
        }
        let widths = match family {
            Family::MonteCarlo => vec![1],
            _ => WIDTHS.to_vec(),
        };
        Space {
            family,
            workgroups,
            widths,
            per_invocation: PER_INVOCATION.to_vec(),
        }
    }

    /// The default shape, or the largest workgroup below it where the adapter cannot run 256.
    pub fn default_shape(&self) -> Shape {
        let workgroup = self
            .workgroups
            .iter()
            .copied()
            .filter(|&wg| wg <= Shape::DEFAULT.workgroup)
            .max()
            .unwrap_or(self.workgroups[0]);
        Shape {
            workgroup,
            ..Shape::DEFAULT
        }
    }

    /// The shape launching the most groups: the smallest workgroup, one scalar item per
    /// invocation (what buffers of per-group partials are sized for).
    pub fn smallest(&self) -> Shape {
        Shape {
            workgroup: self.workgroups[0],
            width: 1,
            per_invocation: 1,
        }
    }

    /// Every shape of the space: what the tests run, so that whatever the tuner picks is tested.
    pub fn shapes(&self) -> Vec<Shape> {
        let mut all = Vec::new();
        for &workgroup in &self.workgroups {
            for &width in &self.widths {
                for &per_invocation in &self.per_invocation {
                    all.push(Shape {
                        workgroup,
                        width,
                        per_invocation,
                    });
                }
            }
        }
        all
    }
}

/// Workgroups for `items` work items at `shape`: a one-dimensional grid of at most `max_groups`
/// (the device's per-dimension limit) that never launches an empty group. Where the grid is
/// capped, or sized for several items per invocation, the shaders' grid-stride loops cover the
/// rest.
pub fn groups(shape: Shape, items: u64, max_groups: u32) -> u32 {
    let per_group = u64::from(shape.workgroup) * u64::from(shape.per_invocation.max(1));
    items.div_ceil(per_group).clamp(1, u64::from(max_groups)) as u32
}

/// What the tuner probes: one family's kernel on the real buffers.
pub trait Target {
    /// Runs the kernel once at `shape` and returns its time.
    fn time(&mut self, shape: Shape) -> Result<f64>;
    /// Runs the kernel at `shape` from a known state and says whether its output holds.
    fn holds(&mut self, shape: Shape) -> Result<bool>;
}

/// The time one shape takes: one untimed run (first dispatches compile and page in), then the
/// best of up to three timed runs within [`PROBE_BUDGET_S`] (at least one).
fn probe_time(target: &mut dyn Target, shape: Shape) -> Result<f64> {
    let warm = Instant::now();
    target.time(shape)?;
    let mut spent = warm.elapsed().as_secs_f64();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        best = best.min(target.time(shape)?);
        spent += start.elapsed().as_secs_f64();
        if spent > PROBE_BUDGET_S {
            break;
        }
    }
    Ok(best)
}

/// Picks the shape for one family: under `Tuning::Off` the default, unprobed; otherwise the
/// coordinate search of the module docs. A shape the device rejects ([`GpuError::Failed`]) is
/// recorded without a time and never chosen. If no shape holds, the default is kept, and the
/// timed runs' own validation reports what is wrong.
pub fn choose(
    space: &Space,
    tuning: Tuning,
    target: &mut dyn Target,
) -> Result<(Shape, Vec<Probe>)> {
    let default = space.default_shape();
    if tuning == Tuning::Off {
        return Ok((default, Vec::new()));
    }
    let mut probes: Vec<Probe> = Vec::new();
    let mut best = default;
    let axes: [&dyn Fn(Shape, u32) -> Shape; 3] = [
        &|s, v| Shape { workgroup: v, ..s },
        &|s, v| Shape { width: v, ..s },
        &|s, v| Shape {
            per_invocation: v,
            ..s
        },
    ];
    let values = [&space.workgroups, &space.widths, &space.per_invocation];
    for (axis, values) in axes.iter().zip(values) {
        for &v in values {
            let shape = axis(best, v);
            if probes.iter().any(|p| p.shape == shape) {
                continue;
            }
            let best_s = match probe_time(target, shape) {
                Ok(t) => Some(t),
                // A shape this adapter cannot run (a limit it reports wrongly, a driver that
                // refuses it) is no candidate; what it said is not kept.
                Err(e) if matches!(e.downcast_ref(), Some(GpuError::Failed { .. })) => None,
                Err(e) => return Err(e),
            };
            probes.push(Probe {
                shape,
                best_s,
                valid: None,
            });
        }
        best = fastest(&probes).unwrap_or(best);
    }
    let mut order: Vec<usize> = (0..probes.len())
        .filter(|&i| probes[i].best_s.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        probes[a]
            .best_s
            .partial_cmp(&probes[b].best_s)
            .expect("finite times")
    });
    for i in order {
        let holds = target.holds(probes[i].shape)?;
        probes[i].valid = Some(holds);
        if holds {
            return Ok((probes[i].shape, probes));
        }
    }
    Ok((default, probes))
}

/// The fastest shape probed so far that ran.
fn fastest(probes: &[Probe]) -> Option<Shape> {
    probes
        .iter()
        .filter_map(|p| p.best_s.map(|t| (t, p.shape)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitsSummary {
        LimitsSummary {
            max_compute_invocations_per_workgroup: 1024,
            max_compute_workgroup_size_x: 1024,
            max_compute_workgroup_storage_size: 16384,
            max_compute_workgroups_per_dimension: 65535,
            ..LimitsSummary::default()
        }
    }

    #[test]
    fn grids_never_exceed_the_limit_nor_launch_empty_groups() {
        let s = Shape::DEFAULT;
        assert_eq!(groups(s, 1, 65535), 1);
        assert_eq!(groups(s, 256, 65535), 1);
        assert_eq!(groups(s, 257, 65535), 2);
        assert_eq!(groups(s, 1 << 24, 65535), 65535);
        assert_eq!(groups(s, 1 << 40, 65535), 65535);
        let four = Shape {
            per_invocation: 4,
            workgroup: 64,
            ..s
        };
        assert_eq!(groups(four, 257, 65535), 2);
        for shape in Space::new(Family::Stream, &limits(), 4).shapes() {
            for items in [1u64, 255, 256, 257, 65535 * 256, 65535 * 256 + 1] {
                let g = u64::from(groups(shape, items, 65535));
                let per_group = u64::from(shape.workgroup * shape.per_invocation);
                // Every group has at least one item to process.
                assert!((g - 1) * per_group < items, "{shape:?} {items}");
            }
        }
    }

    /// Workgroup memory rules sizes out: 24-byte Monte Carlo partials fit 512 per group in 16 KiB.
    #[test]
    fn spaces_respect_the_limits() {
        let mc = Space::new(Family::MonteCarlo, &limits(), 24);
        assert_eq!(mc.workgroups, [64, 128, 256, 512]);
        assert_eq!(mc.widths, [1]);
        let small = LimitsSummary {
            max_compute_invocations_per_workgroup: 128,
            ..limits()
        };
        let s = Space::new(Family::Dot, &small, 8);
        assert_eq!(s.workgroups, [64, 128]);
        assert_eq!(s.default_shape().workgroup, 128);
        assert_eq!(s.shapes().len(), 2 * 3 * 3);
    }

    /// The search keeps the fastest shape that holds, skips shapes that fail to run, and under
    /// `Off` probes nothing.
    #[test]
    fn the_fastest_valid_shape_wins() {
        let space = Space::new(Family::Stream, &limits(), 4);
        // Fastest at 512 × vec4 × 4 per invocation, but that shape computes wrongly; 1024 fails.
        struct Model;
        const BAD: Shape = Shape {
            workgroup: 512,
            width: 4,
            per_invocation: 16,
        };
        impl Target for Model {
            fn time(&mut self, s: Shape) -> Result<f64> {
                if s.workgroup == 1024 {
                    return Err(GpuError::Failed {
                        what: "probe".into(),
                        message: "refused".into(),
                    }
                    .into());
                }
                let speed = s.workgroup.min(512) * s.width * s.per_invocation;
                Ok(1.0 / f64::from(speed))
            }
            fn holds(&mut self, s: Shape) -> Result<bool> {
                Ok(s != BAD)
            }
        }
        let (shape, probes) = choose(&space, Tuning::Auto, &mut Model).unwrap();
        assert_eq!(
            shape,
            Shape {
                workgroup: 512,
                width: 4,
                per_invocation: 4
            }
        );
        assert!(probes.len() <= 9, "{probes:?}");
        assert!(probes.iter().any(|p| p.best_s.is_none()));
        assert_eq!(probes.iter().filter(|p| p.valid == Some(false)).count(), 1);
        let (off, none) = choose(&space, Tuning::Off, &mut Model).unwrap();
        assert_eq!((off, none.len()), (Shape::DEFAULT, 0));
    }
}
