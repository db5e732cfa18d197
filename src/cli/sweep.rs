//! `hexpylot sweep threads|ranks|sizes|roofline|transfer`: single runs turned into curves, and what the curves
//! support (see [`crate::findings`]).

use anyhow::Result;
use clap::{Args, Subcommand};
use core_affinity::CoreId;
use cpu_kernels::mc::Payoff;
use serde::Serialize;

use super::{
    Common, Outputs, Scaling, StreamSetArg, check_mc_request, check_reps, human_bytes, mc_steps,
    open, render, run_all, stream_config, threads, usage,
};
use crate::backend::Setup;
use crate::bench::{McConfig, RooflineConfig, fit_ceiling};
use crate::cluster;
use crate::findings;
use crate::gpu::{GpuContext, TransferGpu};
use crate::model::{
    BackendKind, Document, Machine, MemoryLevel, Precision, StreamKernel, Sweep, SweepKind,
    reference_option,
};
use crate::runner::{Collected, Plan};
use crate::say;
use crate::text::plural;

#[derive(Subcommand, Debug)]
pub(super) enum SweepCommand {
    /// The CPU backends at 1, 2, 4, … threads up to every core: the stream set and European
    /// Monte Carlo, with the GPU as a reference line; says whether the triad curve shows a memory
    /// wall, and only when the data supports it.
    Threads(ThreadsArgs),
    /// Under MPI: every backend on the job's first 1, 2, 4, … ranks up to all of them (the flags
    /// of `sweep threads`, threads per rank), the stream set (`--scaling weak`: each rank its own
    /// arrays of --size; `strong`: --size split across each count) and European Monte Carlo (its
    /// paths sharded across the ranks), the job's rates at each count against one rank's, per host
    /// and across hosts.
    Ranks(ThreadsArgs),
    /// Triad and dot from 2^10 elements up to the largest size that fits: CPU backends, GPU
    /// kernel-only and end to end; the rate per memory level and the offload break-even size.
    Sizes(SizesArgs),
    /// The roofline kernel at 1, 2, 4, … FMAs per element; fits each device's bandwidth and
    /// compute ceilings and names the memory level the bandwidth was measured in.
    Roofline(RooflineArgs),
    /// Host-to-device and device-to-host bandwidth from 4 KiB up to the largest buffer (upload
    /// through a buffer mapped at creation and through `write_buffer`, download through the
    /// staging buffer), every transfer checked word for word; and the launch latency of an empty
    /// dispatch, alone and batched.
    Transfer(TransferArgs),
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct ThreadsArgs {
    /// Backends, comma separated: the CPU ones are swept, the GPU runs once as a reference.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "engine,rayon,gpu"
    )]
    backends: Vec<BackendKind>,
    /// Elements per stream array.
    #[arg(long, default_value = "2^25", value_parser = super::parse::size, allow_hyphen_values = true)]
    size: u64,
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// Monte Carlo paths.
    #[arg(long, default_value = "2^24", value_parser = super::parse::size, allow_hyphen_values = true)]
    paths: u64,
    /// Monitoring dates of the European option's path.
    #[arg(long, default_value = "1", value_parser = super::parse::positive, allow_hyphen_values = true)]
    steps: usize,
    /// Philox key: the same seed gives the same paths on every backend and thread count.
    #[arg(long, default_value_t = crate::model::DEFAULT_SEED)]
    seed: u64,
    /// Repetitions of the stream set at each thread count (the first is a warm-up).
    #[arg(long, default_value = "20", value_parser = super::parse::positive, allow_hyphen_values = true)]
    reps: usize,
    /// Repetitions of each Monte Carlo run (the first is a warm-up).
    #[arg(long, default_value = "5", value_parser = super::parse::positive, allow_hyphen_values = true)]
    mc_reps: usize,
    #[command(flatten)]
    #[serde(flatten)]
    stores: StreamSetArg,
    #[command(flatten)]
    #[serde(flatten)]
    common: Common,
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct SizesArgs {
    /// Backends, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "engine,rayon,gpu"
    )]
    backends: Vec<BackendKind>,
    /// The smallest size.
    #[arg(long, default_value = "2^10", value_parser = super::parse::size, allow_hyphen_values = true)]
    min_size: u64,
    /// Stop after this size (default: the largest power of two that fits memory and the GPU).
    #[arg(long, value_parser = super::parse::size, allow_hyphen_values = true)]
    max_size: Option<u64>,
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// Repetitions at every size (the first is a warm-up). Default: 2^24 / n, between 10 and
    /// 1000, so that small arrays are timed well above the clock's resolution.
    #[arg(long, value_parser = super::parse::positive, allow_hyphen_values = true)]
    reps: Option<usize>,
    #[command(flatten)]
    #[serde(flatten)]
    stores: StreamSetArg,
    #[command(flatten)]
    #[serde(flatten)]
    common: Common,
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct RooflineArgs {
    /// Backends, comma separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "engine,gpu")]
    backends: Vec<BackendKind>,
    /// Elements in the array.
    #[arg(long, default_value = "2^24", value_parser = super::parse::size, allow_hyphen_values = true)]
    size: u64,
    /// The roofline kernel runs in f32 only (an f64 variant is not built yet).
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// The last point of the sweep, in FMAs per element: a power of two (1, 2, 4, … up to it).
    #[arg(long, default_value = "1024", value_parser = super::parse::positive, allow_hyphen_values = true)]
    max_fmas: usize,
    /// Repetitions per point (the first is a warm-up).
    #[arg(long, default_value = "5", value_parser = super::parse::positive, allow_hyphen_values = true)]
    reps: usize,
    #[command(flatten)]
    #[serde(flatten)]
    common: Common,
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct TransferArgs {
    /// The smallest transfer, in bytes: a power of two, at least 4 (whole 32-bit words).
    #[arg(long, default_value = "4Ki", value_parser = super::parse::size, allow_hyphen_values = true)]
    min_size: u64,
    /// The largest transfer, in bytes; sizes double from --min-size up to it (default: the
    /// smaller of 1 GiB, the adapter's max_buffer_size and a quarter of the available host
    /// memory; never past the last two).
    #[arg(long, value_parser = super::parse::size, allow_hyphen_values = true)]
    max_size: Option<u64>,
    /// Repetitions of each transfer at every size (the first is a warm-up); the launch latencies
    /// take ten times as many.
    #[arg(long, default_value = "10", value_parser = super::parse::positive, allow_hyphen_values = true)]
    reps: usize,
    /// Empty dispatches in the one submission of the batched launch.
    #[arg(long, default_value = "1000", value_parser = super::parse::positive, allow_hyphen_values = true)]
    dispatches: usize,
    #[command(flatten)]
    #[serde(flatten)]
    common: Common,
}

impl SweepCommand {
    /// The sweep's words and flags, for the job's plan check (`super::RankPlan`).
    pub(super) fn plan(&self) -> (&'static str, serde_json::Map<String, serde_json::Value>) {
        match self {
            SweepCommand::Threads(a) => ("sweep threads", super::flags(a)),
            SweepCommand::Ranks(a) => ("sweep ranks", super::flags(a)),
            SweepCommand::Sizes(a) => ("sweep sizes", super::flags(a)),
            SweepCommand::Roofline(a) => ("sweep roofline", super::flags(a)),
            SweepCommand::Transfer(a) => ("sweep transfer", super::flags(a)),
        }
    }

    /// The sweeps that run on one process only (their name), not across an MPI job's ranks.
    pub(super) fn single_process(&self) -> Option<&'static str> {
        match self {
            SweepCommand::Threads(_) | SweepCommand::Ranks(_) => None,
            SweepCommand::Sizes(_) => Some("sizes"),
            SweepCommand::Roofline(_) => Some("roofline"),
            SweepCommand::Transfer(_) => Some("transfer"),
        }
    }
}

pub(super) fn sweep(command: SweepCommand, cores: &[CoreId], machine: Machine) -> Result<bool> {
    match command {
        SweepCommand::Threads(args) => sweep_threads(args, cores, machine),
        SweepCommand::Ranks(args) => sweep_ranks(args, cores, machine),
        SweepCommand::Sizes(args) => sweep_sizes(args, cores, machine),
        SweepCommand::Roofline(args) => sweep_roofline(args, cores, machine),
        SweepCommand::Transfer(args) => sweep_transfer(args, cores, machine),
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

/// The CPU backends of a list, and whether it has the GPU.
fn split(backends: &[BackendKind]) -> (Vec<BackendKind>, Vec<BackendKind>) {
    backends.iter().partition(|&&b| !b.is_offload())
}

/// What the thread and rank sweeps run at a step of `ranks` ranks: the stream set and European
/// Monte Carlo.
fn scaling_plan(args: &ThreadsArgs, machine: &Machine, ranks: usize) -> Result<Plan> {
    let cfg = stream_config(
        args.size,
        args.precision,
        args.reps,
        &StreamKernel::ALL,
        &args.stores,
        machine,
        ranks,
    )?;
    check_reps(args.mc_reps, "--mc-reps")?;
    let mc = McConfig {
        params: reference_option(Payoff::EuropeanCall, mc_steps(args.steps)?, args.seed),
        paths: args.paths,
        reps: args.mc_reps,
    };
    check_mc_request(&mc.params, mc.paths)?;
    Ok(Plan {
        stream: Some((args.precision, cfg)),
        mc: vec![mc],
        ..Plan::default()
    })
}

fn sweep_threads(args: ThreadsArgs, cores: &[CoreId], machine: Machine) -> Result<bool> {
    let max = threads(&args.common, cores)?;
    let plan = scaling_plan(&args, &machine, cluster::world().size())?;
    let outputs = Outputs::reserve(&args.common)?;
    let (cpu, gpu) = split(&args.backends);
    let mut gpu = open(&gpu, &args.common, cores, max, &plan)?;
    let counts = doubling(max);
    say!(
        "sweep threads: {counts:?} threads on {}; stream n = {} {}, {} repetitions; European Monte Carlo {} paths, {}{}",
        machine.cpu_model,
        args.size,
        args.precision.name(),
        args.reps,
        args.paths,
        plural(args.steps, "step"),
        crate::cluster::world().phrase()
    );
    super::ready(&mut gpu)?;
    gpu.describe_gpu();

    let mut collected = Collected::default();
    for &t in &counts {
        let setup = Setup {
            cores: &cores[..t],
            adapter: None,
            local_rank: 0,
            // CPU backends only (the GPU runs once, below): nothing to tune.
            gpu_tune: crate::gpu::Tuning::Off,
        };
        for &kind in &cpu {
            let mut backend = kind.create(&setup)?;
            collected.run_on(&mut *backend, &plan);
        }
    }
    collected.run(&mut gpu.backends, &plan);
    collected.cross_check();
    let (stream, mc) = collected.job_rows();
    let sweep = findings::threads(&stream, &mc, &machine);
    finish(outputs, machine, &gpu, collected, sweep, &[])
}

fn sweep_ranks(args: ThreadsArgs, cores: &[CoreId], machine: Machine) -> Result<bool> {
    if !cluster::world().is_mpi() {
        return Err(usage(format!(
            "sweep ranks sweeps the ranks of an MPI job: start a build with --features mpi under mpirun or srun{}",
            if cfg!(feature = "mpi") {
                ""
            } else {
                " (this build has no MPI)"
            }
        )));
    }
    let threads = threads(&args.common, cores)?;
    let world = cluster::world();
    let counts = doubling(world.size());
    // Every step's plan checked before any runs (strong scaling splits --size over each count).
    let plans = counts
        .iter()
        .map(|&ranks| scaling_plan(&args, &machine, ranks))
        .collect::<Result<Vec<Plan>>>()?;
    let outputs = Outputs::reserve(&args.common)?;
    let mut opened = open(&args.backends, &args.common, cores, threads, &plans[0])?;
    say!(
        "sweep ranks: {counts:?} ranks of {} on {}; stream n = {} {} {}, {} repetitions; European Monte Carlo {} paths across the ranks, {}{}",
        plural(threads, "thread"),
        machine.cpu_model,
        args.size,
        args.precision.name(),
        match args.stores.scaling {
            Scaling::Weak => "per rank",
            Scaling::Strong => "across the ranks",
        },
        args.reps,
        args.paths,
        plural(args.steps, "step"),
        world.phrase()
    );
    super::ready(&mut opened)?;
    opened.describe_gpu();
    let mut collected = Collected::default();
    for (&ranks, plan) in counts.iter().zip(&plans) {
        cluster::on_first(ranks, || collected.run(&mut opened.backends, plan));
        // The job's rows of each step: a rank's own rows would not say which step they were of.
        collected.stream.retain(|r| r.is_job_row());
        collected.mc.retain(|r| r.is_job_row());
    }
    collected.cross_check();
    let sweep = findings::ranks(&collected.stream, &collected.mc, world.hosts());
    finish(outputs, machine, &opened, collected, sweep, &[])
}

/// The document with its sweep, rendered.
fn finish(
    outputs: Outputs,
    machine: Machine,
    opened: &super::Opened,
    mut collected: Collected,
    sweep: Sweep,
    notes: &[String],
) -> Result<bool> {
    let doc = Document {
        sweep: Some(sweep),
        ..outputs.document(machine, opened, &mut collected)
    };
    render(doc, &collected.failures, opened, outputs, notes)
}

/// Repetitions at size `n` when none are given.
fn auto_reps(n: u64) -> usize {
    ((1u64 << 24) / n).clamp(10, 1000) as usize
}

fn sweep_sizes(args: SizesArgs, cores: &[CoreId], machine: Machine) -> Result<bool> {
    let t = threads(&args.common, cores)?;
    if let Some(m) = args.max_size.filter(|&m| m < args.min_size) {
        return Err(usage(format!(
            "--max-size {m} is below --min-size {}: a sweep with no sizes",
            args.min_size
        )));
    }
    if let Some(r) = args.reps {
        check_reps(r, "--reps")?;
    }
    let elem = args.precision.bytes() as u64;
    let probe = Plan::default();
    let mut opened = open(&args.backends, &args.common, cores, t, &probe)?;
    // The largest power of two whose three arrays fit 90% of the available memory and, with a
    // GPU, one GPU buffer each.
    let host_limit = machine.memory_available_bytes / 10 * 9 / (3 * elem);
    let gpu_limit = opened
        .backends
        .iter()
        .filter_map(|b| b.adapter())
        .map(|a| (a.limits.max_buffer_size / elem, a))
        .min_by_key(|&(limit, _)| limit);
    let fits = host_limit.min(gpu_limit.map_or(u64::MAX, |(limit, _)| limit));
    let p = args.precision.name();
    // Why sizes stop where they do: the limit that binds, named with its numbers.
    let why = |n: u64| match gpu_limit {
        Some((limit, a)) if limit < host_limit => format!(
            "one {p} array of {n} elements ({}) would pass {}'s max_buffer_size of {}",
            human_bytes(u128::from(n * elem)),
            a.name,
            human_bytes(u128::from(a.limits.max_buffer_size))
        ),
        _ => format!(
            "three {p} arrays of {n} elements ({}) would pass 90% of the {} of host memory available",
            human_bytes(u128::from(n) * 3 * u128::from(elem)),
            human_bytes(u128::from(machine.memory_available_bytes))
        ),
    };
    if fits < args.min_size {
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
    // Every size's plan, checked before the first runs.
    let plans = sizes
        .iter()
        .map(|&n| {
            let reps = args.reps.unwrap_or_else(|| auto_reps(n));
            let cfg = stream_config(
                n,
                args.precision,
                reps,
                &[StreamKernel::Triad, StreamKernel::Dot],
                &args.stores,
                &machine,
                1,
            )?;
            Ok(Plan {
                stream: Some((args.precision, cfg)),
                ..Plan::default()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for b in &opened.backends {
        for plan in &plans {
            super::check_backend(&**b, plan).map_err(super::limit_is_usage)?;
        }
    }
    let outputs = Outputs::reserve(&args.common)?;
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
    let reps: Vec<String> = plans
        .iter()
        .filter_map(|p| p.stream.as_ref())
        .map(|(_, c)| c.reps.to_string())
        .collect();
    say!(
        "sweep sizes: triad and dot at {} from {} to {} {p} elements ({} per array at the top; {stop}), {}; repetitions per size (first dropped): {}",
        plural(sizes.len(), "size"),
        sizes[0],
        last_run,
        human_bytes(u128::from(last_run * elem)),
        plural(t, "CPU thread"),
        reps.join(", ")
    );
    opened.describe_gpu();

    let mut collected = Collected::default();
    let mut progress = crate::bench::Progress::new("sweep sizes", sizes.len() as u64);
    for plan in &plans {
        collected.run(&mut opened.backends, plan);
        progress.step();
    }
    drop(progress);
    collected.cross_check();
    let sweep = findings::sizes(&collected.stream, &machine);
    finish(outputs, machine, &opened, collected, sweep, &[])
}

fn sweep_roofline(args: RooflineArgs, cores: &[CoreId], machine: Machine) -> Result<bool> {
    let t = threads(&args.common, cores)?;
    check_reps(args.reps, "--reps")?;
    if args.precision != Precision::F32 {
        return Err(usage(format!(
            "--precision {}: the roofline kernel runs in f32 only",
            args.precision.name()
        )));
    }
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
        .ok()
        .filter(|m| m.is_power_of_two())
        .ok_or_else(|| {
            usage(format!(
                "--max-fmas {}: must be a power of two up to 2^31 (the sweep runs 1, 2, 4, … up to it)",
                args.max_fmas
            ))
        })?;
    // From 1, not 0: with no FMA the kernel is x ← x, which compilers rightly remove, and the
    // "bandwidth" measured would be the cost of an empty phase. At 1 FMA (0.25 FLOP/byte) every
    // device is still far below its ridge.
    let fmas: Vec<u32> = std::iter::successors(Some(1u32), |&k| k.checked_mul(2))
        .take_while(|&k| k <= max_fmas)
        .collect();
    let outputs = Outputs::reserve(&args.common)?;
    let plan = Plan {
        roofline: Some(RooflineConfig {
            n,
            fmas,
            reps: args.reps,
        }),
        ..Plan::default()
    };
    let mut opened = open(&args.backends, &args.common, cores, t, &plan)?;
    let cfg = plan.roofline.as_ref().expect("a roofline plan");
    say!(
        "sweep roofline: n = {n} f32 ({}), FMAs per element {:?}, {} repetitions each, {}",
        human_bytes(n as u128 * 4),
        cfg.fmas,
        cfg.reps,
        plural(t, "CPU thread")
    );
    let collected = run_all(&mut opened, &plan)?;
    let mut sweep = Sweep::new(SweepKind::Roofline);
    for b in &opened.backends {
        let kind = b.kind();
        let rows: Vec<_> = collected
            .roofline
            .iter()
            .filter(|r| r.backend == kind)
            .cloned()
            .collect();
        let level = if b.is_offload() {
            MemoryLevel::Device
        } else {
            machine.level_holding(n as u64 * 4, t)
        };
        if let Some(c) = fit_ceiling(&rows, level) {
            sweep.findings.push(findings::ceiling_text(&c));
            sweep.ceilings.push(c);
        }
    }
    finish(outputs, machine, &opened, collected, sweep, &[])
}

fn sweep_transfer(args: TransferArgs, cores: &[CoreId], machine: Machine) -> Result<bool> {
    // Checked like every command's, though no CPU thread measures anything here.
    threads(&args.common, cores)?;
    check_reps(args.reps, "--reps")?;
    if !args.min_size.is_power_of_two() || args.min_size < 4 {
        return Err(usage(format!(
            "--min-size {}: must be a power of two of at least 4 bytes (transfers move whole 32-bit words)",
            args.min_size
        )));
    }
    if let Some(m) = args.max_size.filter(|&m| m < args.min_size) {
        return Err(usage(format!(
            "--max-size {m} is below --min-size {}: a sweep with no sizes",
            args.min_size
        )));
    }
    let dispatches = u32::try_from(args.dispatches).map_err(|_| {
        usage(format!(
            "--dispatches {}: at most 2^32 - 1 in one submission",
            args.dispatches
        ))
    })?;
    // A transfer holds its data on the host up to three times over: the data sent, the copy
    // that came back, and the device buffer or the driver's staging copy (host memory itself on
    // lavapipe and integrated GPUs).
    let host = machine.memory_available_bytes / 4;
    let host_why = format!(
        "a quarter of the {} of host memory available",
        human_bytes(u128::from(machine.memory_available_bytes))
    );
    if args.min_size > host {
        return Err(usage(format!(
            "--min-size {} is past {host_why} ({host} bytes)",
            args.min_size
        )));
    }
    let outputs = Outputs::reserve(&args.common)?;
    let mut opened = super::Opened::none();
    let ctx = match GpuContext::new(
        args.common.adapter.as_deref(),
        cluster::world().local_rank(),
    ) {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            opened.gpu_unavailable(e.into())?;
            None
        }
    };
    let Some(ctx) = ctx else {
        say!("sweep transfer: no GPU to measure");
        opened.describe_gpu();
        let doc = Document {
            sweep: Some(Sweep::new(SweepKind::Transfer)),
            ..outputs.document(machine, &opened, &mut Collected::default())
        };
        return render(doc, &[], &opened, outputs, &[]);
    };
    let adapter = ctx.summary().clone();
    let buffer_max = adapter.limits.max_buffer_size;
    let buffer_why = format!(
        "{}'s max_buffer_size of {}",
        adapter.name,
        human_bytes(u128::from(buffer_max))
    );
    if args.min_size > buffer_max {
        return Err(usage(format!(
            "--min-size {} is past {buffer_why}",
            args.min_size
        )));
    }
    // The first of the smallest bounds names where the sizes stop (--max-size on a tie).
    let mut bounds = match args.max_size {
        Some(m) => vec![(m, "--max-size".to_string())],
        None => vec![(1 << 30, "1 GiB, the default top".to_string())],
    };
    bounds.extend([(host, host_why), (buffer_max, buffer_why)]);
    let (top, why) = bounds
        .into_iter()
        .min_by_key(|b| b.0)
        .expect("three bounds");
    let sizes: Vec<u64> = std::iter::successors(Some(args.min_size), |&n| n.checked_mul(2))
        .take_while(|&n| n <= top)
        .collect();
    let last = *sizes.last().expect("--min-size is within every bound");
    let launch_reps = args.reps.saturating_mul(10);
    say!(
        "sweep transfer: {} from {} to {last} bytes ({}; stopping at {why}), {} repetitions each (first dropped); launch latency: 1 and {dispatches} empty dispatches per submission, {launch_reps} repetitions",
        plural(sizes.len(), "size"),
        args.min_size,
        human_bytes(u128::from(last)),
        args.reps
    );
    say!(
        "gpu: {} ({}, {}, driver {}); times from the host clock, start to completion",
        adapter.name,
        adapter.backend,
        adapter.device_type,
        adapter.driver
    );

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    match TransferGpu::new(&ctx) {
        Ok(gpu) => {
            let mut progress =
                crate::bench::Progress::new("sweep transfer", sizes.len() as u64 + 1);
            for &bytes in &sizes {
                match gpu.transfers(&ctx, bytes, args.reps) {
                    Ok(r) => rows.extend(r),
                    Err(e) => failures.push(format!("transfers of {bytes} bytes: {e}")),
                }
                progress.step();
            }
            match gpu.launches(&ctx, launch_reps, dispatches) {
                Ok(r) => rows.extend(r),
                Err(e) => failures.push(format!("launch latency: {e}")),
            }
            progress.step();
        }
        Err(e) => failures.push(format!("building the empty kernel: {e}")),
    }
    failures.extend(
        rows.iter()
            .filter(|r| !r.valid)
            .map(|r| format!("{} of {} bytes: {}", r.kind.name(), r.bytes, r.check)),
    );
    let sweep = findings::transfer(&rows);
    let doc = Document {
        gpu: Some(adapter),
        transfer: rows,
        sweep: Some(sweep),
        ..outputs.document(machine, &opened, &mut Collected::default())
    };
    render(doc, &failures, &opened, outputs, &[])
}
