//! The `hexpylot` command line: `stream`, `mc` and `devices`.
//!
//! Exit codes: 0 when every run validated, 1 when a run failed or gave a wrong result, 2 for bad
//! input (always a single line on stderr, before anything is allocated or measured).

mod parse;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use core_affinity::CoreId;
use cpu_kernels::mc::McParams;

use crate::backend::BackendKind;
use crate::bench::{McConfig, StreamConfig, run_mc, run_stream};
use crate::kernels::{OptionKind, StreamKernel};
use crate::machine::{Machine, allowed_cores};
use crate::report::{self, Document, McRow, OutputFile, StreamRow};

#[derive(Parser, Debug)]
#[command(
    name = "hexpylot",
    version,
    about = "The same kernels on the HexPylot engine, on rayon and on the GPU, validated and measured"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The stream set (copy, scale, add, triad, dot, nstream): memory bandwidth, BabelStream's way.
    Stream(StreamArgs),
    /// Monte Carlo option pricing under geometric Brownian motion: paths per second.
    Mc(McArgs),
    /// The machine: CPU, cores, caches, memory.
    Devices(DevicesArgs),
}

#[derive(Args, Debug)]
struct StreamArgs {
    /// Backends to run, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "engine,rayon"
    )]
    backends: Vec<BackendKind>,
    /// Kernels to run, comma separated; they run in BabelStream's order whatever the order given.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "copy,scale,add,triad,dot,nstream"
    )]
    kernels: Vec<StreamKernel>,
    /// Elements per array: 33554432, 2^25 or 32Mi.
    #[arg(long, default_value = "2^25", value_parser = parse::size, allow_hyphen_values = true)]
    size: u64,
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    #[command(flatten)]
    common: Common,
    /// Repetitions of the kernel set; the first is a warm-up and is not timed.
    #[arg(long, default_value = "100", value_parser = parse::positive, allow_hyphen_values = true)]
    reps: usize,
    /// Also write BabelStream's CSV here.
    #[arg(long)]
    csv: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct McArgs {
    #[arg(long, value_enum, default_value = "european-call")]
    option: OptionKind,
    /// Spot price.
    #[arg(long, default_value = "100", value_parser = parse::positive_real, allow_hyphen_values = true)]
    s0: f64,
    #[arg(long, default_value = "100", value_parser = parse::positive_real, allow_hyphen_values = true)]
    strike: f64,
    /// Continuously compounded risk-free rate (0.05 = 5%).
    #[arg(long, default_value = "0.05", value_parser = parse::finite_real, allow_hyphen_values = true)]
    rate: f64,
    /// Annualised volatility (0.2 = 20%).
    #[arg(long, default_value = "0.2", value_parser = parse::positive_real, allow_hyphen_values = true)]
    sigma: f64,
    /// Years to maturity.
    #[arg(long, default_value = "1", value_parser = parse::positive_real, allow_hyphen_values = true)]
    maturity: f64,
    /// Monitoring dates t_i = i·T/N, i = 1..N (default 1 for European options, 52 for Asians).
    #[arg(long, value_parser = parse::positive, allow_hyphen_values = true)]
    steps: Option<usize>,
    /// Simulated paths: 16777216, 2^24 or 16Mi.
    #[arg(long, default_value = "2^24", value_parser = parse::size, allow_hyphen_values = true)]
    paths: u64,
    /// Philox key: the same seed gives the same paths on every backend and thread count.
    #[arg(long, default_value = "20261124")]
    seed: u64,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "engine,rayon"
    )]
    backends: Vec<BackendKind>,
    #[command(flatten)]
    common: Common,
    /// Repetitions; the first is a warm-up and is not timed.
    #[arg(long, default_value = "5", value_parser = parse::positive, allow_hyphen_values = true)]
    reps: usize,
}

#[derive(Args, Debug)]
struct Common {
    /// Worker threads, one per core (default: every core this process may use).
    #[arg(long, value_parser = parse::positive, allow_hyphen_values = true)]
    threads: Option<usize>,
    /// Write the results as JSON here (atomically).
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct DevicesArgs {
    /// Write the machine description as JSON here (atomically).
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Precision {
    F32,
    F64,
}

/// Bad input: reported as one line, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

fn usage(msg: impl Into<String>) -> anyhow::Error {
    Usage(msg.into()).into()
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.render().to_string();
            eprintln!(
                "{}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) if e.is::<Usage>() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command; `Ok(false)` when some run failed validation.
fn run(cli: Cli) -> Result<bool> {
    // Before anything is pinned: the engine pins the thread that drives it.
    let cores = allowed_cores();
    if cores.is_empty() {
        return Err(usage(
            "this process may run on no CPU core (empty affinity mask)",
        ));
    }
    let machine = Machine::probe(&cores);
    match cli.command {
        Command::Stream(args) => stream(args, &cores, &machine),
        Command::Mc(args) => mc(args, &cores, &machine),
        Command::Devices(args) => {
            let json = args.json.as_deref().map(reserve).transpose()?;
            println!("{}", report::machine_table(&machine));
            if let Some(out) = json {
                write_json(out, &machine, &[], &[])?;
            }
            Ok(true)
        }
    }
}

fn stream(args: StreamArgs, cores: &[CoreId], machine: &Machine) -> Result<bool> {
    let threads = threads(&args.common, cores)?;
    let elem = match args.precision {
        Precision::F32 => 4u128,
        Precision::F64 => 8,
    };
    let n = usize::try_from(args.size).map_err(|_| {
        usage(format!(
            "--size {} does not fit this machine's address space",
            args.size
        ))
    })?;
    let need = 3 * elem * n as u128;
    let available = machine.memory_available_bytes as u128;
    if need > available * 9 / 10 {
        return Err(usage(format!(
            "--size {n} needs {} for three {} arrays, but only {} of memory is available",
            human_bytes(need),
            precision_name(args.precision),
            human_bytes(available)
        )));
    }
    if args.reps < 2 {
        return Err(usage(
            "--reps must be at least 2 (the first repetition is a warm-up)",
        ));
    }
    let mut kernels = args.kernels.clone();
    kernels.sort();
    kernels.dedup();
    let backends = dedup(&args.backends);
    let cfg = StreamConfig {
        n,
        reps: args.reps,
        kernels,
    };
    match args.precision {
        Precision::F32 => cfg.check::<f32>(),
        Precision::F64 => cfg.check::<f64>(),
    }
    .map_err(usage)?;
    let json = args.common.json.as_deref().map(reserve).transpose()?;
    let csv = args.csv.as_deref().map(reserve).transpose()?;

    println!(
        "stream: n = {n} {} elements ({} per array), {} repetitions (first dropped), {threads} threads on {}",
        precision_name(args.precision),
        human_bytes(elem * n as u128),
        args.reps,
        machine.cpu_model
    );
    let mut rows: Vec<StreamRow> = Vec::new();
    let mut ok = true;
    for kind in backends {
        let result = kind
            .create(&cores[..threads], machine.llc_bytes())
            .and_then(|mut backend| match args.precision {
                Precision::F32 => run_stream::<f32, _>(&mut *backend, &cfg),
                Precision::F64 => run_stream::<f64, _>(&mut *backend, &cfg),
            });
        match result {
            Ok(r) => rows.extend(r),
            Err(e) => {
                ok = false;
                eprintln!("FAILED: stream on {}: {e:#}", kind.name());
            }
        }
    }
    println!("{}", report::stream_table(&rows));
    for r in rows.iter().filter(|r| !r.valid) {
        ok = false;
        eprintln!(
            "FAILED: {} on {} ({}): {}",
            r.kernel, r.backend, r.precision, r.check
        );
    }
    if let Some(out) = json {
        write_json(out, machine, &rows, &[])?;
    }
    if let Some(out) = csv {
        out.commit(&report::stream_csv(&rows)?)?;
    }
    Ok(ok)
}

fn mc(args: McArgs, cores: &[CoreId], machine: &Machine) -> Result<bool> {
    let threads = threads(&args.common, cores)?;
    let steps = args.steps.unwrap_or(args.option.default_steps() as usize);
    let steps = u32::try_from(steps).map_err(|_| {
        usage(format!(
            "--steps {steps} is beyond the counter space (at most 2^32 - 1)"
        ))
    })?;
    if args.reps < 2 {
        return Err(usage(
            "--reps must be at least 2 (the first repetition is a warm-up)",
        ));
    }
    let params = McParams {
        payoff: args.option.0,
        s0: args.s0,
        strike: args.strike,
        rate: args.rate,
        sigma: args.sigma,
        maturity: args.maturity,
        steps,
        seed: args.seed,
    };
    let cfg = McConfig {
        params,
        paths: args.paths,
        reps: args.reps,
    };
    let json = args.common.json.as_deref().map(reserve).transpose()?;

    println!(
        "mc: {} S0={} K={} r={} sigma={} T={} steps={steps}, {} paths, seed {}, {} repetitions (first dropped), {threads} threads",
        args.option.name(),
        args.s0,
        args.strike,
        args.rate,
        args.sigma,
        args.maturity,
        args.paths,
        args.seed,
        args.reps
    );
    let mut rows: Vec<McRow> = Vec::new();
    let mut ok = true;
    let mut first_sums = None;
    for kind in dedup(&args.backends) {
        match kind
            .create(&cores[..threads], machine.llc_bytes())
            .and_then(|mut b| run_mc(&mut *b, &cfg))
        {
            Ok(mut outcome) => {
                // Same seed, same paths, same block order: CPU backends must agree bit for bit.
                let (reference_backend, sums) = *first_sums.get_or_insert((kind, outcome.sums));
                if sums != outcome.sums {
                    outcome.row.valid = false;
                    outcome.row.check = format!(
                        "sums differ from {}'s for the same seed",
                        reference_backend.name()
                    );
                }
                rows.push(outcome.row);
            }
            Err(e) => {
                ok = false;
                eprintln!("FAILED: mc on {}: {e:#}", kind.name());
            }
        }
    }
    println!("{}", report::mc_table(&rows));
    for r in rows.iter().filter(|r| !r.valid) {
        ok = false;
        eprintln!("FAILED: {} on {}: {}", r.option, r.backend, r.check);
    }
    if let Some(out) = json {
        write_json(out, machine, &[], &rows)?;
    }
    Ok(ok)
}

fn threads(common: &Common, cores: &[CoreId]) -> Result<usize> {
    match common.threads {
        None => Ok(cores.len()),
        Some(t) if t <= cores.len() => Ok(t),
        Some(t) => Err(usage(format!(
            "--threads {t} exceeds the {} cores this process may use",
            cores.len()
        ))),
    }
}

fn reserve(path: &std::path::Path) -> Result<OutputFile> {
    OutputFile::reserve(path).map_err(|e| usage(format!("cannot write {}: {e:#}", path.display())))
}

fn write_json(
    out: OutputFile,
    machine: &Machine,
    stream: &[StreamRow],
    mc: &[McRow],
) -> Result<()> {
    let doc = Document {
        machine,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        version: env!("CARGO_PKG_VERSION"),
        stream,
        mc,
    };
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.write_all(b"\n")?;
    out.commit(&bytes)
}

/// The backends in the order given, each once.
fn dedup(backends: &[BackendKind]) -> Vec<BackendKind> {
    let mut seen = Vec::new();
    for &b in backends {
        if !seen.contains(&b) {
            seen.push(b);
        }
    }
    seen
}

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}

fn human_bytes(bytes: u128) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}
