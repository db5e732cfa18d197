//! What a sweep's rows support, in numbers and in words. Each rule states what it needs before it
//! concludes: a memory wall needs arrays far beyond the last-level cache *and* a curve that
//! saturates within the measured points; arrays that fit a cache are named as such, and a curve
//! of fewer than [`MIN_POINTS`] thread counts concludes nothing.

use crate::model::{
    BackendKind, BackendScaling, Ceiling, Machine, McRow, MemoryLevel, MemoryWall, Scaling,
    StreamKernel, StreamRow, Sweep, SweepKind, TransferKind, TransferRow,
};
use crate::text::plural;

/// Thread counts a curve needs before it can be said to flatten (the first two points only give
/// a slope).
pub const MIN_POINTS: usize = 3;

/// Working sets at least this many times the last-level cache are "far beyond" it: streaming
/// through them, at most a small share of any repetition can hit in the cache.
pub const FAR_BEYOND_LLC: u64 = 4;

/// The curve has saturated from the first thread count that reaches this share of the best rate,
/// when that count is below the last one measured.
const SATURATED: f64 = 0.9;

/// The triad working set: the three arrays of `n` elements.
fn working_set(r: &StreamRow) -> u64 {
    3 * r.n as u64 * r.precision.bytes() as u64
}

/// The verdict for one backend's triad rows of a thread sweep, ordered by threads.
pub fn scaling(triad: &[&StreamRow], machine: &Machine) -> Option<BackendScaling> {
    let first = triad.first()?;
    let top = triad.iter().map(|r| r.threads).max().unwrap_or(1);
    let bytes = working_set(first);
    let level = machine.level_holding(bytes, top);
    let llc = machine.llc_bytes(top);
    // What the working set is comes first: arrays in a cache say nothing about memory however
    // many points the curve has.
    let scaling = if level.is_cache() {
        Scaling::InCache { level }
    } else if llc == 0 || bytes < FAR_BEYOND_LLC * llc {
        Scaling::NearCache
    } else if triad.len() < MIN_POINTS {
        Scaling::NotEnoughPoints {
            points: triad.len(),
        }
    } else {
        let one = triad.iter().find(|r| r.threads == 1).unwrap_or(first);
        let best = triad.iter().map(|r| r.gbs_median).fold(0.0, f64::max);
        let efficiency =
            |r: &StreamRow| r.gbs_median / (one.gbs_median * r.threads as f64 / one.threads as f64);
        let last = triad.iter().max_by_key(|r| r.threads).unwrap_or(first);
        match triad.iter().find(|r| r.gbs_median >= SATURATED * best) {
            Some(wall) if wall.threads < top => Scaling::MemoryWall {
                threads: wall.threads,
                gbs: wall.gbs_median,
                fraction_of_best: wall.gbs_median / best,
            },
            // Near-linear, or bending but still rising at the last point (the best rate is
            // only reached there): no wall within the measured points.
            _ => Scaling::StillScaling {
                threads: top,
                efficiency: efficiency(last),
            },
        }
    };
    Some(BackendScaling {
        backend: first.backend,
        working_set_bytes: bytes,
        scaling,
    })
}

/// The sentence a verdict prints.
pub fn scaling_text(s: &BackendScaling, machine: &Machine) -> String {
    let b = s.backend.name();
    let ws = human(s.working_set_bytes);
    match &s.scaling {
        Scaling::MemoryWall {
            threads,
            gbs,
            fraction_of_best,
        } => format!(
            "{b}: memory wall: triad reaches {:.0}% of its best ({gbs:.1} GB/s) at {} and more cores add little; the arrays ({ws}) are far beyond the last-level cache",
            100.0 * fraction_of_best,
            plural(*threads, "thread")
        ),
        Scaling::StillScaling {
            threads,
            efficiency,
        } => format!(
            "{b}: triad still rises at {} ({:.0}% efficiency): no memory wall within this machine's cores",
            plural(*threads, "thread"),
            100.0 * efficiency
        ),
        Scaling::InCache { level } => format!(
            "{b}: in cache ({}): the arrays ({ws}) fit the {} of the cores used, so the curve measures the cache, not memory; use a larger --size for memory",
            level.name(),
            level.name()
        ),
        Scaling::NearCache => format!(
            "{b}: the arrays ({ws}) are within {FAR_BEYOND_LLC}x the last-level cache ({}): the rates mix cache and memory, no memory wall can be claimed",
            human(machine.llc_bytes(machine.allowed_cpus.len()))
        ),
        Scaling::NotEnoughPoints { points } => format!(
            "{b}: not enough points: {} ({MIN_POINTS} or more are needed to see a curve flatten)",
            plural(*points, "thread count")
        ),
    }
}

/// A thread sweep's findings: per CPU backend the triad curve with its efficiencies and what it
/// supports, Monte Carlo scaling, and how the GPU compares.
pub fn threads(stream: &[StreamRow], mc: &[McRow], machine: &Machine) -> Sweep {
    let mut sweep = Sweep::new(SweepKind::Threads);
    for backend in [BackendKind::Engine, BackendKind::Rayon] {
        let mut triad: Vec<&StreamRow> = stream
            .iter()
            .filter(|r| r.kernel == StreamKernel::Triad && r.backend == backend && r.valid)
            .collect();
        triad.sort_by_key(|r| r.threads);
        let Some(one) = triad.first() else {
            continue;
        };
        let steps: Vec<String> = triad
            .iter()
            .map(|r| {
                format!(
                    "{} {:.1} GB/s ({:.0}% efficiency)",
                    plural(r.threads, "thread"),
                    r.gbs_median,
                    100.0 * r.gbs_median * one.threads as f64 / (one.gbs_median * r.threads as f64)
                )
            })
            .collect();
        sweep
            .findings
            .push(format!("{} triad: {}", backend.name(), steps.join(", ")));
        if let Some(s) = scaling(&triad, machine) {
            sweep.findings.push(scaling_text(&s, machine));
            if let (
                BackendKind::Engine,
                Scaling::MemoryWall {
                    threads,
                    gbs,
                    fraction_of_best,
                },
            ) = (backend, &s.scaling)
            {
                sweep.memory_wall = Some(MemoryWall {
                    backend,
                    threads: *threads,
                    gbs: *gbs,
                    fraction_of_best: *fraction_of_best,
                });
            }
            sweep.scaling.push(s);
        }
        let mut paths: Vec<&McRow> = mc
            .iter()
            .filter(|r| r.backend == backend && r.valid)
            .collect();
        paths.sort_by_key(|r| r.threads);
        if let (Some(first), Some(last)) = (paths.first(), paths.last())
            && last.threads > first.threads
        {
            sweep.findings.push(format!(
                "{} Monte Carlo: {:.1} M paths/s on {}, {:.1} on {} ({:.0}% efficiency)",
                backend.name(),
                first.paths_per_s / 1e6,
                plural(first.threads, "thread"),
                last.paths_per_s / 1e6,
                plural(last.threads, "thread"),
                100.0 * last.paths_per_s * first.threads as f64
                    / (first.paths_per_s * last.threads as f64)
            ));
        }
    }
    let best_cpu = stream
        .iter()
        .filter(|r| r.kernel == StreamKernel::Triad && !r.backend.is_offload() && r.valid)
        .map(|r| r.gbs_median)
        .fold(0.0, f64::max);
    if let Some(g) = stream
        .iter()
        .find(|r| r.kernel == StreamKernel::Triad && r.backend.is_offload() && r.valid)
        && best_cpu > 0.0
    {
        sweep.findings.push(format!(
            "GPU triad {:.1} GB/s kernel-only: {:.2}x the CPU's best {best_cpu:.1} GB/s",
            g.gbs_median,
            g.gbs_median / best_cpu
        ));
    }
    sweep
}

/// A rank sweep's findings, from its job rows (scope `aggregate`, one per rank count): for each
/// backend, triad and Monte Carlo at every rank count with the efficiency against one rank
/// (rate / (ranks × one rank's rate)), and the hosts each count spans (`hosts`: every rank's, in
/// rank order). Numbers only: whether a host's curve flattens at its memory, or across hosts, is
/// for the reader of a curve this short to judge.
pub fn ranks(stream: &[StreamRow], mc: &[McRow], hosts: &[String]) -> Sweep {
    let mut sweep = Sweep::new(SweepKind::Ranks);
    let spanned = |ranks: usize| {
        let mut seen: Vec<&String> = Vec::new();
        for h in &hosts[..ranks.min(hosts.len())] {
            if !seen.contains(&h) {
                seen.push(h);
            }
        }
        seen.len()
    };
    // Each curve: its rows' (ranks, rate) sorted by ranks, one rank first.
    let steps = |points: Vec<(usize, f64)>, unit: &str| -> Option<String> {
        let &(one_ranks, one) = points.first()?;
        (points.len() > 1 && one_ranks == 1).then(|| {
            points
                .iter()
                .map(|&(ranks, rate)| {
                    format!(
                        "{} ({}) {rate:.1} {unit} ({:.0}% efficiency)",
                        plural(ranks, "rank"),
                        plural(spanned(ranks), "host"),
                        100.0 * rate / (one * ranks as f64)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    for backend in [BackendKind::Engine, BackendKind::Rayon, BackendKind::Gpu] {
        let mut triad: Vec<(usize, f64)> = stream
            .iter()
            .filter(|r| r.kernel == StreamKernel::Triad && r.backend == backend && r.valid)
            .filter_map(|r| Some((r.scope.as_ref()?.ranks(), r.gbs_median)))
            .collect();
        triad.sort_by_key(|p| p.0);
        if let Some(line) = steps(triad, "GB/s") {
            sweep
                .findings
                .push(format!("{} triad, the job's: {line}", backend.name()));
        }
        // The GPU's two paths (mirror, native) are curves of their own.
        let kinds: std::collections::BTreeSet<_> = mc
            .iter()
            .filter(|r| r.backend == backend)
            .map(|r| r.gpu_path)
            .collect();
        for kind in kinds {
            let mut paths: Vec<(usize, f64)> = mc
                .iter()
                .filter(|r| r.backend == backend && r.gpu_path == kind && r.valid)
                .filter_map(|r| Some((r.scope.as_ref()?.ranks(), r.paths_per_s / 1e6)))
                .collect();
            paths.sort_by_key(|p| p.0);
            if let Some(line) = steps(paths, "M paths/s") {
                sweep.findings.push(format!(
                    "{}{} Monte Carlo, the job's: {line}",
                    backend.name(),
                    kind.map_or(String::new(), |k| format!(" {}", k.name()))
                ));
            }
        }
    }
    sweep
}

/// A size sweep's findings: where the engine's triad lives at each size (its median rate per
/// memory level), and the offload break-even: the smallest n from which the GPU, end to end,
/// beats the engine's triad at every larger size of the sweep.
pub fn sizes(rows: &[StreamRow], machine: &Machine) -> Sweep {
    let mut sweep = Sweep::new(SweepKind::Sizes);
    let triad = |backend: BackendKind, n: usize| {
        rows.iter().find(|r| {
            r.kernel == StreamKernel::Triad && r.backend == backend && r.n == n && r.valid
        })
    };
    let mut sizes: Vec<usize> = rows.iter().map(|r| r.n).collect();
    sizes.sort();
    sizes.dedup();
    let mut plateaus: Vec<(MemoryLevel, Vec<f64>)> = Vec::new();
    for &n in &sizes {
        if let Some(r) = triad(BackendKind::Engine, n) {
            let level = machine.level_holding(working_set(r), r.threads);
            match plateaus.last_mut() {
                Some((l, rates)) if *l == level => rates.push(r.gbs_median),
                _ => plateaus.push((level, vec![r.gbs_median])),
            }
        }
    }
    if !plateaus.is_empty() {
        let parts: Vec<String> = plateaus
            .iter()
            .map(|(level, rates)| {
                format!(
                    "{} {:.1} GB/s ({})",
                    level.name(),
                    median(rates),
                    plural(rates.len(), "size")
                )
            })
            .collect();
        sweep.findings.push(format!(
            "engine triad, median rate where the arrays live: {}",
            parts.join(", ")
        ));
    }
    let gpu_wins: Vec<(usize, Option<bool>)> = sizes
        .iter()
        .map(|&n| {
            let gpu = triad(BackendKind::Gpu, n).and_then(|r| r.end_to_end_s);
            let engine = triad(BackendKind::Engine, n).map(|r| r.timing.median_s);
            (n, gpu.zip(engine).map(|(g, e)| g < e))
        })
        .collect();
    if gpu_wins.iter().all(|(_, w)| w.is_none()) {
        sweep
            .findings
            .push("no GPU and engine triad at the same sizes: no offload break-even".to_string());
        return sweep;
    }
    let first_of_last_run = gpu_wins
        .iter()
        .rposition(|(_, w)| *w != Some(true))
        .map_or(0, |i| i + 1);
    sweep.break_even_n = gpu_wins.get(first_of_last_run).map(|&(n, _)| n);
    sweep.findings.push(match sweep.break_even_n {
        Some(n) => format!(
            "offload break-even: from n = {n} on, the GPU end to end (upload, triad, download) beats the engine's triad"
        ),
        None => format!(
            "the GPU end to end (upload, triad, download) never beats the engine's triad up to n = {}",
            sizes.last().copied().unwrap_or(0)
        ),
    });
    sweep
}

/// A transfer sweep's findings: each way's peak rate and the size it peaked at, and the launch
/// latencies, one dispatch alone and batched.
pub fn transfer(rows: &[TransferRow]) -> Sweep {
    let mut sweep = Sweep::new(SweepKind::Transfer);
    let peaks: Vec<String> = TransferKind::TRANSFERS
        .iter()
        .filter_map(|&kind| {
            let (gbs, bytes) = rows
                .iter()
                .filter(|r| r.kind == kind)
                .filter_map(|r| Some((r.gbs?, r.bytes)))
                .max_by(|a, b| a.0.total_cmp(&b.0))?;
            Some(format!(
                "{} peaks at {gbs:.2} GB/s at {bytes} bytes ({})",
                kind.name(),
                human(bytes)
            ))
        })
        .collect();
    if !peaks.is_empty() {
        sweep.findings.push(peaks.join("; "));
    }
    let launch = |kind: TransferKind| {
        rows.iter()
            .find(|r| r.kind == kind && r.valid)
            .and_then(|r| Some((r.us_per_dispatch?, r.dispatches?)))
    };
    if let (Some((single, _)), Some((batched, n))) = (
        launch(TransferKind::LaunchSingle),
        launch(TransferKind::LaunchBatch),
    ) {
        sweep.findings.push(format!(
            "one empty dispatch takes {single:.1} µs submit to completion; batched, {n} to a submission, {batched:.2} µs per dispatch"
        ));
    }
    sweep
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The sentence a roofline ceiling prints, naming where its bandwidth was measured.
pub fn ceiling_text(c: &Ceiling) -> String {
    let level = c.level.map_or(String::new(), |l| {
        if l.is_cache() {
            format!(
                " (measured in {}: the cache's bandwidth, not memory's; a larger --size measures memory)",
                l.name()
            )
        } else {
            format!(" (measured in {})", l.name())
        }
    });
    format!(
        "{}: bandwidth ceiling {:.1} GB/s{level}, compute ceiling {:.1} GFLOP/s, ridge point {:.2} FLOP/byte",
        c.backend.name(),
        c.bandwidth_gbs,
        c.compute_gflops,
        c.ridge
    )
}

fn human(bytes: u64) -> String {
    let mib = bytes as f64 / f64::from(1u32 << 20);
    if mib >= 1.0 {
        format!("{mib:.0} MiB")
    } else {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cache;
    use crate::model::{Precision, Timing};

    /// A machine with 1 MiB of L2 per core and a 32 MiB L3 shared by 16 cores.
    fn machine() -> Machine {
        let cache = |level, size_bytes, shared: &str| Cache {
            level,
            kind: "Unified".into(),
            size_bytes,
            shared_cpus: shared.into(),
        };
        Machine {
            caches: vec![cache(2, 1 << 20, "0"), cache(3, 32 << 20, "0-15")],
            allowed_cpus: (0..16).collect(),
            ..Machine::default()
        }
    }

    fn triad(backend: BackendKind, threads: usize, n: usize, gbs: f64) -> StreamRow {
        let t = 1.0;
        StreamRow {
            kernel: StreamKernel::Triad,
            backend,
            precision: Precision::F32,
            threads,
            n,
            bytes_per_rep: 12 * n as u64,
            reps: 10,
            timing: Timing {
                median_s: t,
                min_s: t,
                max_s: t,
                mean_s: Some(t),
                cv: Some(0.0),
            },
            gbs_median: gbs,
            gbs_best: gbs,
            valid: true,
            check: String::new(),
            max_rel_err: Some(0.0),
            rel_err_bound: Some(1e-6),
            kernel_s: None,
            end_to_end_s: None,
            end_to_end_below_kernel: None,
            stores: None,
            store_probe: None,
            launch: None,
            scope: None,
        }
    }

    fn verdict(points: &[(usize, f64)], n: usize) -> Scaling {
        let rows: Vec<StreamRow> = points
            .iter()
            .map(|&(t, g)| triad(BackendKind::Engine, t, n, g))
            .collect();
        let refs: Vec<&StreamRow> = rows.iter().collect();
        scaling(&refs, &machine()).unwrap().scaling
    }

    const DRAM_N: usize = 1 << 25; // 384 MiB of f32 arrays: 12x the L3

    #[test]
    fn a_saturating_curve_far_beyond_the_cache_is_a_memory_wall() {
        let v = verdict(
            &[(1, 20.0), (2, 38.0), (4, 60.0), (8, 64.0), (16, 65.0)],
            DRAM_N,
        );
        assert!(matches!(v, Scaling::MemoryWall { threads: 4, .. }), "{v:?}");
    }

    #[test]
    fn a_linear_curve_is_no_wall() {
        let v = verdict(&[(1, 10.0), (2, 20.0), (4, 40.0)], DRAM_N);
        assert!(
            matches!(v, Scaling::StillScaling { threads: 4, .. }),
            "{v:?}"
        );
    }

    /// 2^20 f32 elements (12 MiB) fit the L3: 175% efficiency says nothing about memory.
    #[test]
    fn arrays_in_cache_are_named_as_such() {
        let v = verdict(&[(1, 20.0), (2, 70.0), (4, 80.0), (8, 81.0)], 1 << 20);
        assert_eq!(
            v,
            Scaling::InCache {
                level: MemoryLevel::L3
            }
        );
        // 2^16 elements (768 KiB) fit one core's L2.
        let v = verdict(&[(1, 20.0), (2, 40.0), (4, 80.0)], 1 << 16);
        assert_eq!(
            v,
            Scaling::InCache {
                level: MemoryLevel::L2
            }
        );
        // 2^22 elements (48 MiB): past the L3 but within 4x of it.
        assert_eq!(
            verdict(&[(1, 20.0), (2, 30.0), (4, 31.0)], 1 << 22),
            Scaling::NearCache
        );
    }

    #[test]
    fn too_few_points_conclude_nothing() {
        assert_eq!(
            verdict(&[(1, 20.0)], DRAM_N),
            Scaling::NotEnoughPoints { points: 1 }
        );
        assert_eq!(
            verdict(&[(1, 20.0), (2, 21.0)], DRAM_N),
            Scaling::NotEnoughPoints { points: 2 }
        );
        let m = machine();
        let rows = [triad(BackendKind::Engine, 1, DRAM_N, 20.0)];
        let sweep = threads(&rows, &[], &m);
        assert!(sweep.memory_wall.is_none());
        let text = sweep.findings.join("\n");
        assert!(text.contains("not enough points: 1 thread count"), "{text}");
        assert!(!text.contains("1 threads"), "{text}");
    }

    #[test]
    fn only_the_engine_wall_is_recorded_as_the_memory_wall() {
        let m = machine();
        let rows: Vec<StreamRow> = [(1, 20.0), (2, 38.0), (4, 60.0), (8, 64.0)]
            .iter()
            .flat_map(|&(t, g)| {
                [
                    triad(BackendKind::Engine, t, DRAM_N, g),
                    triad(BackendKind::Rayon, t, DRAM_N, g * 0.9),
                ]
            })
            .collect();
        let sweep = threads(&rows, &[], &m);
        let wall = sweep.memory_wall.expect("a wall");
        assert_eq!((wall.backend, wall.threads), (BackendKind::Engine, 4));
        assert_eq!(sweep.scaling.len(), 2);
    }

    #[test]
    fn ceilings_name_their_level() {
        let c = Ceiling {
            backend: BackendKind::Engine,
            bandwidth_gbs: 206.0,
            compute_gflops: 500.0,
            ridge: 2.4,
            level: Some(MemoryLevel::L3),
            threads: Some(16),
            n: Some(1 << 20),
            precision: Some(Precision::F32),
        };
        assert!(
            ceiling_text(&c).contains("measured in L3: the cache's bandwidth"),
            "{}",
            ceiling_text(&c)
        );
    }

    #[test]
    fn size_plateaus_follow_the_levels() {
        let m = machine();
        let rows: Vec<StreamRow> = [
            (1 << 14, 100.0),
            (1 << 20, 60.0),
            (1 << 25, 20.0),
            (1 << 26, 21.0),
        ]
        .iter()
        .map(|&(n, g)| triad(BackendKind::Engine, 1, n, g))
        .collect();
        let sweep = sizes(&rows, &m);
        let text = &sweep.findings[0];
        assert!(text.contains("L2 100.0 GB/s (1 size)"), "{text}");
        assert!(text.contains("L3 60.0 GB/s"), "{text}");
        assert!(text.contains("DRAM 20.5 GB/s (2 sizes)"), "{text}");
    }

    /// Peaks come from valid rows only (an invalid row has no rate), and both launch latencies
    /// are named.
    #[test]
    fn transfer_findings_name_each_peak_and_the_launch_latency() {
        let row = |kind, bytes, gbs: Option<f64>, us: Option<f64>, dispatches| TransferRow {
            kind,
            bytes,
            dispatches,
            reps: 2,
            timing: Timing::from_times(&mut [1e-3, 1e-3]),
            gbs,
            us_per_dispatch: us,
            valid: gbs.is_some() || us.is_some(),
            check: String::new(),
        };
        let rows = [
            row(TransferKind::UploadMapped, 4096, Some(1.0), None, None),
            row(TransferKind::UploadMapped, 8192, Some(3.0), None, None),
            row(TransferKind::Download, 4096, Some(2.0), None, None),
            row(TransferKind::Download, 8192, None, None, None),
            row(TransferKind::LaunchSingle, 0, None, Some(150.0), Some(1)),
            row(TransferKind::LaunchBatch, 0, None, Some(20.0), Some(50)),
        ];
        let sweep = transfer(&rows);
        assert_eq!(sweep.kind, SweepKind::Transfer);
        assert_eq!(
            sweep.findings,
            [
                "upload (mapped) peaks at 3.00 GB/s at 8192 bytes (8 KiB); download peaks at 2.00 GB/s at 4096 bytes (4 KiB)",
                "one empty dispatch takes 150.0 µs submit to completion; batched, 50 to a submission, 20.00 µs per dispatch",
            ]
        );
    }
}
