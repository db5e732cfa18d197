//! `hexpylot sweep threads|sizes|roofline`: single runs turned into curves, and what the curves
//! say (the memory wall, the cache plateaus and the offload break-even, the two ceilings).

use anyhow::Result;
use clap::{Args, Subcommand};
use core_affinity::CoreId;
use cpu_kernels::mc::Payoff;

use super::{
    Common, Opened, Precision, StoresArg, check_mc_request, check_reps, human_bytes, json_bytes,
    limit_is_usage, open, reserve_json_csv, setup, stream_config, threads, usage,
};
use crate::backend::{BackendKind, Setup, Stream};
use crate::bench::{McConfig, RooflineConfig, fit_ceiling, run_mc, run_roofline, run_stream};
use crate::kernels::{DEFAULT_SEED, StreamKernel, reference_option};
use crate::machine::Machine;
use crate::output::OutputFile;
use crate::report::{self, Document, McRow, MemoryWall, RooflineRow, StreamRow, Sweep};
use crate::say;

#[derive(Subcommand, Debug)]
pub(super) enum SweepCommand {
    /// Engine and rayon at 1, 2, 4, … threads up to every core: the stream set and European Monte
    /// Carlo, with the GPU as a reference line; finds the memory wall.
    Threads(ThreadsArgs),
    /// Triad and dot from 2^10 elements up to the largest size that fits: engine, rayon, GPU
    /// kernel-only and end to end; finds the offload break-even size.
    Sizes(SizesArgs),
    /// The roofline kernel at 1, 2, 4, … FMAs per element on engine and GPU; fits each device's
    /// bandwidth and compute ceilings.
    Roofline(RooflineArgs),
}

#[derive(Args, Debug)]
pub(super) struct ThreadsArgs {
    /// Elements per stream array.
    #[arg(long, default_value = "2^25", value_parser = super::parse::size, allow_hyphen_values = true)]
    size: u64,
    /// Monte Carlo paths.
    #[arg(long, default_value = "2^24", value_parser = super::parse::size, allow_hyphen_values = true)]
    paths: u64,
    /// Repetitions of the stream set at each thread count (the first is a warm-up).
    #[arg(long, default_value = "20", value_parser = super::parse::positive, allow_hyphen_values = true)]
    reps: usize,
    /// Leave the GPU reference line out.
    #[arg(long)]
    no_gpu: bool,
    #[command(flatten)]
    stores: StoresArg,
    #[command(flatten)]
    common: Common,
    /// Also write the stream rows as BabelStream's CSV here.
    #[arg(long)]
    csv: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub(super) struct SizesArgs {
    /// The smallest size.
    #[arg(long, default_value = "2^10", value_parser = super::parse::size, allow_hyphen_values = true)]
    min_size: u64,
    /// Stop after this size (default: the largest power of two that fits memory and the GPU).
    #[arg(long, value_parser = super::parse::size, allow_hyphen_values = true)]
    max_size: Option<u64>,
    /// Leave the GPU out.
    #[arg(long)]
    no_gpu: bool,
    #[command(flatten)]
    stores: StoresArg,
    #[command(flatten)]
    common: Common,
    #[arg(long)]
    csv: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub(super) struct RooflineArgs {
    /// Elements in the array.
    #[arg(long, default_value = "2^24", value_parser = super::parse::size, allow_hyphen_values = true)]
    size: u64,
    /// The last point of the sweep, in FMAs per element (1, 2, 4, … up to it).
    #[arg(long, default_value = "1024", value_parser = super::parse::positive, allow_hyphen_values = true)]
    max_fmas: usize,
    /// Repetitions per point (the first is a warm-up).
    #[arg(long, default_value = "5", value_parser = super::parse::positive, allow_hyphen_values = true)]
    reps: usize,
    /// Leave the GPU out.
    #[arg(long)]
    no_gpu: bool,
    #[command(flatten)]
    common: Common,
    #[arg(long)]
    csv: Option<std::path::PathBuf>,
}

pub(super) fn sweep(command: SweepCommand, cores: &[CoreId], machine: &Machine) -> Result<bool> {
    match command {
        SweepCommand::Threads(args) => sweep_threads(args, cores, machine),
        SweepCommand::Sizes(args) => sweep_sizes(args, cores, machine),
        SweepCommand::Roofline(args) => sweep_roofline(args, cores, machine),
    }
}

/// 1, 2, 4, … below `max`, then `max` itself.
fn doubling(max: usize) -> Vec<usize> {
    let mut out: Vec<usize> = std::iter::successors(Some(1usize), |&t| t.checked_mul(2))
        .take_while(|&t| t < max)
        .collect();
    out.push(max);
    out
}

fn european(paths: u64) -> McConfig {
    McConfig {
        params: reference_option(Payoff::EuropeanCall, 1, DEFAULT_SEED),
        paths,
        reps: 5,
    }
}

fn gpu_kinds(no_gpu: bool) -> &'static [BackendKind] {
    if no_gpu { &[] } else { &[BackendKind::Gpu] }
}

fn sweep_threads(args: ThreadsArgs, cores: &[CoreId], machine: &Machine) -> Result<bool> {
    let max = threads(&args.common, cores)?;
    let cfg = stream_config(
        args.size,
        Precision::F32,
        args.reps,
        &StreamKernel::ALL,
        &args.stores,
        machine,
    )?;
    let mc = european(args.paths);
    check_mc_request(&mc.params, mc.paths)?;
    let (json, csv) = reserve_json_csv(args.common.json.as_deref(), args.csv.as_deref())?;
    let mut gpu = open(gpu_kinds(args.no_gpu), &setup(&args.common, cores, max))?;
    check_gpu(&gpu, cfg.n, &mc)?;
    let counts = doubling(max);
    say!(
        "sweep threads: {counts:?} threads on {}; stream n = {} f32, {} repetitions; European Monte Carlo {} paths",
        machine.cpu_model,
        cfg.n,
        cfg.reps,
        mc.paths
    );
    gpu.describe_gpu();

    let mut ok = gpu.gpu_ok();
    let (mut stream_rows, mut mc_rows) = (Vec::<StreamRow>::new(), Vec::<McRow>::new());
    for &t in &counts {
        let setup = Setup {
            cores: &cores[..t],
            adapter: None,
        };
        for kind in [BackendKind::Engine, BackendKind::Rayon] {
            let mut backend = kind.create(&setup)?;
            ok &= collect(
                run_stream::<f32, _>(&mut *backend, &cfg),
                &mut stream_rows,
                kind,
            );
            ok &= collect(
                run_mc(&mut *backend, &mc).map(|o| vec![o.row]),
                &mut mc_rows,
                kind,
            );
        }
    }
    for backend in &mut gpu.backends {
        let kind = backend.kind();
        ok &= collect(
            run_stream::<f32, _>(&mut **backend, &cfg),
            &mut stream_rows,
            kind,
        );
        ok &= collect(
            run_mc(&mut **backend, &mc).map(|o| vec![o.row]),
            &mut mc_rows,
            kind,
        );
    }
    say!("{}", report::stream_table(&stream_rows));
    say!("{}", report::mc_table(&mc_rows));

    let sweep = threads_findings(&stream_rows, &mc_rows);
    for f in &sweep.findings {
        say!("{f}");
    }
    ok &= all_valid(&stream_rows, &mc_rows, &[]);
    finish(
        json,
        csv,
        &gpu,
        machine,
        &stream_rows,
        &mc_rows,
        &[],
        &sweep,
    )?;
    Ok(ok)
}

/// Parallel efficiency per step, the memory wall (the first thread count whose triad reaches 90%
/// of the best measured), and how the GPU compares.
fn threads_findings(stream: &[StreamRow], mc: &[McRow]) -> Sweep {
    let mut sweep = Sweep {
        kind: "threads",
        ..Sweep::default()
    };
    for backend in ["engine", "rayon"] {
        let triad: Vec<&StreamRow> = stream
            .iter()
            .filter(|r| r.kernel == "triad" && r.backend == backend && r.valid)
            .collect();
        let Some(one) = triad.iter().find(|r| r.threads == 1) else {
            continue;
        };
        let best = triad.iter().map(|r| r.gbs_median).fold(0.0, f64::max);
        let steps: Vec<String> = triad
            .iter()
            .map(|r| {
                format!(
                    "{} threads {:.1} GB/s ({:.0}% efficiency)",
                    r.threads,
                    r.gbs_median,
                    100.0 * r.gbs_median / (one.gbs_median * r.threads as f64)
                )
            })
            .collect();
        sweep
            .findings
            .push(format!("{backend} triad: {}", steps.join(", ")));
        let efficiency = |r: &StreamRow| r.gbs_median / (one.gbs_median * r.threads as f64);
        let top = triad.iter().map(|r| r.threads).max().unwrap_or(1);
        match triad.iter().find(|r| r.gbs_median >= 0.9 * best) {
            // Still near-linear at every core: the curve has not flattened on this machine.
            Some(wall) if wall.threads == top && top > 1 && efficiency(wall) >= 0.8 => {
                sweep.findings.push(format!(
                    "{backend}: triad still scales at {top} threads ({:.0}% efficiency, {:.1} GB/s): no memory wall within this machine's cores",
                    100.0 * efficiency(wall),
                    wall.gbs_median
                ));
            }
            Some(wall) => {
                if backend == "engine" {
                    sweep.memory_wall = Some(MemoryWall {
                        backend: "engine",
                        threads: wall.threads,
                        gbs: wall.gbs_median,
                        fraction_of_best: wall.gbs_median / best,
                    });
                }
                sweep.findings.push(format!(
                    "{backend}: the triad curve flattens at {} threads ({:.1} GB/s, {:.0}% of the best measured {best:.1} GB/s): from there on more cores add little, memory is the limit",
                    wall.threads,
                    wall.gbs_median,
                    100.0 * wall.gbs_median / best
                ));
            }
            None => {}
        }
        let paths: Vec<&McRow> = mc
            .iter()
            .filter(|r| r.backend == backend && r.valid)
            .collect();
        if let (Some(first), Some(last)) = (paths.iter().find(|r| r.threads == 1), paths.last()) {
            sweep.findings.push(format!(
                "{backend} Monte Carlo: {:.1} M paths/s on 1 thread, {:.1} on {} ({:.0}% efficiency): compute-bound, it scales with cores",
                first.paths_per_s / 1e6,
                last.paths_per_s / 1e6,
                last.threads,
                100.0 * last.paths_per_s / (first.paths_per_s * last.threads as f64)
            ));
        }
    }
    let best_cpu = stream
        .iter()
        .filter(|r| r.kernel == "triad" && r.backend != "gpu" && r.valid)
        .map(|r| r.gbs_median)
        .fold(0.0, f64::max);
    if let Some(g) = stream
        .iter()
        .find(|r| r.kernel == "triad" && r.backend == "gpu" && r.valid)
    {
        sweep.findings.push(format!(
            "GPU triad {:.1} GB/s kernel-only: {:.2}x the CPU's best {best_cpu:.1} GB/s",
            g.gbs_median,
            g.gbs_median / best_cpu
        ));
    }
    sweep
}

fn sweep_sizes(args: SizesArgs, cores: &[CoreId], machine: &Machine) -> Result<bool> {
    let t = threads(&args.common, cores)?;
    if let Some(m) = args.max_size.filter(|&m| m < args.min_size) {
        return Err(usage(format!(
            "--max-size {m} is below --min-size {}: a sweep with no sizes",
            args.min_size
        )));
    }
    let mut gpu = open(gpu_kinds(args.no_gpu), &setup(&args.common, cores, t))?;
    // The largest power of two whose three f32 arrays fit 90% of the available memory and, with
    // a GPU, one GPU buffer each.
    let host_limit = machine.memory_available_bytes / 10 * 9 / 12;
    let gpu_limit = gpu
        .backends
        .iter()
        .filter_map(|b| b.adapter())
        .map(|a| (a.limits.max_buffer_size / 4, a))
        .min_by_key(|&(limit, _)| limit);
    let fits = host_limit.min(gpu_limit.map_or(u64::MAX, |(limit, _)| limit));
    // Why sizes stop where they do: the limit that binds, named with its numbers.
    let why = |n: u64| match gpu_limit {
        Some((limit, a)) if limit < host_limit => format!(
            "one f32 array of {n} elements ({}) would pass {}'s max_buffer_size of {}",
            human_bytes(u128::from(n) * 4),
            a.name,
            human_bytes(u128::from(a.limits.max_buffer_size))
        ),
        _ => format!(
            "three f32 arrays of {n} elements ({}) would pass 90% of the {} of host memory available",
            human_bytes(u128::from(n) * 12),
            human_bytes(u128::from(machine.memory_available_bytes))
        ),
    };
    if fits < args.min_size || args.min_size == 0 {
        return Err(usage(format!(
            "--min-size {} is past the largest size that fits ({fits}): {}",
            args.min_size,
            why(args.min_size)
        )));
    }
    let last = args.max_size.map_or(fits, |m| m.min(fits));
    let sizes: Vec<u64> = std::iter::successors(Some(args.min_size), |&n| n.checked_mul(2))
        .take_while(|&n| n <= last)
        .collect();
    let (json, csv) = reserve_json_csv(args.common.json.as_deref(), args.csv.as_deref())?;
    let last_run = sizes.last().copied().unwrap_or(last);
    let next = last_run.saturating_mul(2);
    let stop = match args.max_size {
        Some(m) if m <= fits => "stopping at --max-size".to_string(),
        Some(m) => format!(
            "stopping at {last_run}, below --max-size {m}: at {next} {}",
            why(next)
        ),
        None => format!("the largest that fits: at {next} {}", why(next)),
    };
    say!(
        "sweep sizes: triad and dot at {} sizes from {} to {} f32 elements ({} per array at the top; {stop}), {t} CPU threads",
        sizes.len(),
        sizes[0],
        last_run,
        human_bytes(u128::from(last_run) * 4),
    );
    gpu.describe_gpu();

    let setup = Setup {
        cores: &cores[..t],
        adapter: None,
    };
    let mut cpu = Vec::new();
    for kind in [BackendKind::Engine, BackendKind::Rayon] {
        cpu.push(kind.create(&setup)?);
    }
    let mut ok = gpu.gpu_ok();
    let mut rows = Vec::<StreamRow>::new();
    let mut progress = crate::bench::Progress::new("sweep sizes", sizes.len() as u64);
    for &n in &sizes {
        // Enough repetitions for a small array to be timed well above the clock's resolution.
        let reps = ((1u64 << 24) / n).clamp(10, 1000) as usize;
        let cfg = stream_config(
            n,
            Precision::F32,
            reps,
            &[StreamKernel::Triad, StreamKernel::Dot],
            &args.stores,
            machine,
        )?;
        for backend in cpu.iter_mut().chain(gpu.backends.iter_mut()) {
            if let Err(e) = Stream::<f32>::check_size(&**backend, cfg.n) {
                return Err(limit_is_usage(e));
            }
            let kind = backend.kind();
            ok &= collect(run_stream::<f32, _>(&mut **backend, &cfg), &mut rows, kind);
        }
        progress.step();
    }
    drop(progress);
    say!("{}", report::stream_table(&rows));
    let sweep = sizes_findings(&rows);
    for f in &sweep.findings {
        say!("{f}");
    }
    ok &= all_valid(&rows, &[], &[]);
    finish(json, csv, &gpu, machine, &rows, &[], &[], &sweep)?;
    Ok(ok)
}

/// The offload break-even: the smallest n from which the GPU, end to end, beats the engine's
/// triad at every larger size of the sweep.
fn sizes_findings(rows: &[StreamRow]) -> Sweep {
    let time = |backend: &str, n: usize| {
        rows.iter()
            .find(|r| r.kernel == "triad" && r.backend == backend && r.n == n && r.valid)
            .and_then(|r| {
                if backend == "gpu" {
                    r.end_to_end_s
                } else {
                    Some(r.timing.median_s)
                }
            })
    };
    let mut sizes: Vec<usize> = rows.iter().map(|r| r.n).collect();
    sizes.dedup();
    let mut sweep = Sweep {
        kind: "sizes",
        ..Sweep::default()
    };
    let gpu_wins: Vec<(usize, Option<bool>)> = sizes
        .iter()
        .map(|&n| (n, time("gpu", n).zip(time("engine", n)).map(|(g, e)| g < e)))
        .collect();
    if gpu_wins.iter().all(|(_, w)| w.is_none()) {
        sweep
            .findings
            .push("no GPU rows: no offload break-even".to_string());
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

fn sweep_roofline(args: RooflineArgs, cores: &[CoreId], machine: &Machine) -> Result<bool> {
    let t = threads(&args.common, cores)?;
    check_reps(args.reps, "--reps")?;
    let n = usize::try_from(args.size)
        .ok()
        .filter(|&n| (n as u128) * 4 <= u128::from(machine.memory_available_bytes) / 10 * 9)
        .ok_or_else(|| {
            usage(format!(
                "--size {} does not fit the available memory",
                args.size
            ))
        })?;
    let max_fmas = u32::try_from(args.max_fmas)
        .map_err(|_| usage(format!("--max-fmas {} is too large", args.max_fmas)))?;
    // From 1, not 0: with no FMA the kernel is x ← x, which compilers rightly remove, and the
    // "bandwidth" measured would be the cost of an empty phase. At 1 FMA (0.25 FLOP/byte) every
    // device is still far below its ridge.
    let fmas: Vec<u32> = std::iter::successors(Some(1u32), |&k| k.checked_mul(2))
        .take_while(|&k| k <= max_fmas)
        .collect();
    let cfg = RooflineConfig {
        n,
        fmas,
        reps: args.reps,
    };
    let (json, csv) = reserve_json_csv(args.common.json.as_deref(), args.csv.as_deref())?;
    let mut kinds = vec![BackendKind::Engine];
    kinds.extend_from_slice(gpu_kinds(args.no_gpu));
    let mut opened = open(&kinds, &setup(&args.common, cores, t))?;
    say!(
        "sweep roofline: n = {n} f32, FMAs per element {:?}, {} repetitions each, {t} CPU threads",
        cfg.fmas,
        cfg.reps
    );
    opened.describe_gpu();
    let mut ok = opened.gpu_ok();
    let mut rows = Vec::<RooflineRow>::new();
    let mut sweep = Sweep {
        kind: "roofline",
        ..Sweep::default()
    };
    for backend in &mut opened.backends {
        let kind = backend.kind();
        match run_roofline(&mut **backend, &cfg) {
            Ok(r) => {
                if let Some(c) = fit_ceiling(&r) {
                    sweep.findings.push(format!(
                        "{}: bandwidth ceiling {:.1} GB/s, compute ceiling {:.1} GFLOP/s, ridge point {:.2} FLOP/byte",
                        kind.name(),
                        c.bandwidth_gbs,
                        c.compute_gflops,
                        c.ridge
                    ));
                    sweep.ceilings.push(c);
                }
                rows.extend(r);
            }
            Err(e) => {
                ok = false;
                eprintln!("FAILED: roofline on {}: {e:#}", kind.name());
            }
        }
    }
    say!("{}", report::roofline_table(&rows));
    for f in &sweep.findings {
        say!("{f}");
    }
    ok &= all_valid(&[], &[], &rows);
    finish(json, csv, &opened, machine, &[], &[], &rows, &sweep)?;
    Ok(ok)
}

/// Checks, before anything runs, that the GPU can take the stream arrays and the paths.
fn check_gpu(gpu: &Opened, n: usize, mc: &McConfig) -> Result<()> {
    for b in &gpu.backends {
        Stream::<f32>::check_size(&**b, n).map_err(limit_is_usage)?;
        b.check_mc(&mc.params, mc.paths).map_err(limit_is_usage)?;
    }
    Ok(())
}

/// Adds a run's rows, or reports its failure; false on failure.
fn collect<R>(result: Result<Vec<R>>, rows: &mut Vec<R>, kind: BackendKind) -> bool {
    match result {
        Ok(r) => {
            rows.extend(r);
            true
        }
        Err(e) => {
            eprintln!("FAILED: {}: {e:#}", kind.name());
            false
        }
    }
}

fn all_valid(stream: &[StreamRow], mc: &[McRow], roofline: &[RooflineRow]) -> bool {
    let mut ok = true;
    for r in stream.iter().filter(|r| !r.valid) {
        ok = false;
        eprintln!(
            "FAILED: {} on {} (n = {}): {}",
            r.kernel, r.backend, r.n, r.check
        );
    }
    for r in mc.iter().filter(|r| !r.valid) {
        ok = false;
        eprintln!("FAILED: {} on {}: {}", r.option, r.backend, r.check);
    }
    for r in roofline.iter().filter(|r| !r.valid) {
        ok = false;
        eprintln!(
            "FAILED: roofline on {} at {} FMAs: {}",
            r.backend, r.fmas, r.check
        );
    }
    ok
}

/// Writes the JSON document and the CSV (stream rows in BabelStream's format, or the roofline
/// points), each atomically and together.
#[allow(clippy::too_many_arguments)] // the one place every sweep's outputs meet
fn finish(
    json: Option<OutputFile>,
    csv: Option<OutputFile>,
    opened: &Opened,
    machine: &Machine,
    stream: &[StreamRow],
    mc: &[McRow],
    roofline: &[RooflineRow],
    sweep: &Sweep,
) -> Result<()> {
    let mut outputs = Vec::new();
    if let Some(out) = json {
        let doc = Document {
            stream,
            mc,
            roofline,
            sweep: Some(sweep),
            ..opened.document(machine)
        };
        outputs.push((out, json_bytes(&doc)?));
    }
    if let Some(out) = csv {
        let bytes = if roofline.is_empty() {
            report::stream_csv(stream)?
        } else {
            report::roofline_csv(roofline)?
        };
        outputs.push((out, bytes));
    }
    // Both files or, as far as it can be helped, neither.
    Ok(crate::output::commit_all(outputs)?)
}
