//! The `hexpylot` command line. Every measuring command is configure → run → render: its
//! arguments become a [`Plan`] and a set of backends (all checked before anything is allocated),
//! [`crate::runner`] runs and cross-checks it, and [`render`] prints and writes the one
//! [`Document`] it produced.
//!
//! Exit codes: 0 when every run validated, 1 when a run failed or gave a wrong result, ran out
//! of memory (`crate::alloc`) or could not write its output (standard output too: one line on
//! stderr; a broken pipe only ends the printing), 2 for bad
//! input, bad output locations included (always a single line on stderr, before anything is
//! allocated or measured), 128 + the signal for SIGHUP, SIGINT and SIGTERM (129, 130, 143).

mod compare;
mod diff;
mod parse;
mod sweep;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use core_affinity::CoreId;
use cpu_kernels::mc::McParams;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::backend::{Backend, Setup, Stream};
use crate::bench::{McConfig, StreamConfig};
use crate::cluster::{Agreed, Ready};
use crate::gpu::GpuError;
use crate::machine::allowed_cores;
use crate::model::{
    BackendKind, Document, Machine, OptionKind, Precision, StorePolicy, StreamKernel,
};
use crate::output::{self, OutputError, OutputFile};
use crate::report;
use crate::runner::{Collected, Plan};
use crate::text::{human_bytes, plural};
use crate::{say, tell};

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
    /// The stream set and Monte Carlo (European and arithmetic Asian) on engine, rayon and GPU, in
    /// one table, with CPU/GPU agreement checked.
    Compare(CompareArgs),
    /// Sweeps over threads, sizes, arithmetic intensity or host–device transfers, with what they
    /// find.
    #[command(subcommand)]
    Sweep(sweep::SweepCommand),
    /// PNG charts from result files (JSON from the sweeps and runs, JSON lines from the peers).
    ///
    /// Each document is one run: its backends are series of their own, named "label — backend".
    /// Prints one line per series drawn, tab-separated: the PNG's path, the series' name (no tabs
    /// in it) and its number of points (1 for a GPU level), e.g.
    /// `charts/memory-wall.png<TAB>node7 sweep threads 2^25 — engine<TAB>5`.
    Chart(ChartArgs),
    /// Two result files side by side: each matching row's rate in both and their ratio.
    Diff(diff::DiffArgs),
    /// The machine: CPU, cores, caches, memory, and the GPU adapters wgpu finds.
    Devices(DevicesArgs),
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ChartArgs {
    /// Result files: HexPylot JSON documents and peer JSON-lines files.
    files: Vec<PathBuf>,
    /// Folder for the PNG files.
    #[arg(long)]
    #[serde(skip)]
    out: PathBuf,
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct CompareArgs {
    /// Backends to run, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "engine,rayon,gpu"
    )]
    backends: Vec<BackendKind>,
    /// Elements per stream array: 33554432, 2^25 or 32Mi.
    #[arg(long, default_value = "2^25", value_parser = parse::size, allow_hyphen_values = true)]
    size: u64,
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// Monte Carlo paths: 16777216, 2^24 or 16Mi.
    #[arg(long, default_value = "2^24", value_parser = parse::size, allow_hyphen_values = true)]
    paths: u64,
    /// Monitoring dates of the arithmetic Asian option (the European option has one).
    #[arg(long, default_value = "52", value_parser = parse::positive, allow_hyphen_values = true)]
    steps: usize,
    /// Repetitions of the stream set; the first is a warm-up and is not timed.
    #[arg(long, default_value = "20", value_parser = parse::positive, allow_hyphen_values = true)]
    reps: usize,
    /// Repetitions of each Monte Carlo run; the first is a warm-up and is not timed.
    #[arg(long, default_value = "5", value_parser = parse::positive, allow_hyphen_values = true)]
    mc_reps: usize,
    /// Philox key: the same seed gives the same paths on every backend and thread count.
    #[arg(long, default_value_t = crate::model::DEFAULT_SEED)]
    seed: u64,
    /// A `sweep roofline --json` file of this machine, precision and thread count: "bound" then
    /// uses its measured bandwidth ceilings.
    #[arg(long)]
    roofline: Option<PathBuf>,
    #[command(flatten)]
    #[serde(flatten)]
    stores: StreamSetArg,
    #[command(flatten)]
    #[serde(flatten)]
    common: Common,
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
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
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = StreamKernel::ALL)]
    kernels: Vec<StreamKernel>,
    /// Elements per array: 33554432, 2^25 or 32Mi.
    #[arg(long, default_value = "2^25", value_parser = parse::size, allow_hyphen_values = true)]
    size: u64,
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// Repetitions of the kernel set; the first is a warm-up and is not timed.
    #[arg(long, default_value = "100", value_parser = parse::positive, allow_hyphen_values = true)]
    reps: usize,
    #[command(flatten)]
    #[serde(flatten)]
    stores: StreamSetArg,
    #[command(flatten)]
    #[serde(flatten)]
    common: Common,
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct McArgs {
    /// Backends to run, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "engine,rayon"
    )]
    backends: Vec<BackendKind>,
    /// The payoff to price.
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
    /// Monitoring dates t_i = i·T/N, i = 1..N (default 1 for European and digital options, whose
    /// paths still take N steps to S_T; 52 for Asians).
    #[arg(long, value_parser = parse::positive, allow_hyphen_values = true)]
    steps: Option<usize>,
    /// Simulated paths: 16777216, 2^24 or 16Mi.
    #[arg(long, default_value = "2^24", value_parser = parse::size, allow_hyphen_values = true)]
    paths: u64,
    /// Philox key: the same seed gives the same paths on every backend and thread count.
    #[arg(long, default_value_t = crate::model::DEFAULT_SEED)]
    seed: u64,
    /// Repetitions; the first is a warm-up and is not timed.
    #[arg(long, default_value = "5", value_parser = parse::positive, allow_hyphen_values = true)]
    reps: usize,
    #[command(flatten)]
    #[serde(flatten)]
    common: Common,
}

/// The flags every measuring command has, with the same meaning.
#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Common {
    /// Worker threads, one per core (default: every core this process may use).
    #[arg(long, value_parser = parse::positive, allow_hyphen_values = true)]
    threads: Option<usize>,
    /// Write the results as JSON here (atomically; `-` is standard output).
    #[arg(long)]
    #[serde(skip)]
    json: Option<PathBuf>,
    /// Also write the rows as CSV here: BabelStream's columns for stream rows, see
    /// docs/results.md for the others.
    #[arg(long)]
    #[serde(skip)]
    csv: Option<PathBuf>,
    /// The name of this run in charts and diffs (default: host, command and size).
    #[arg(long)]
    #[serde(skip)]
    label: Option<String>,
    /// The GPU adapter to use: a substring of its name (see `hexpylot devices`).
    #[arg(long)]
    adapter: Option<String>,
    /// GPU launch shapes: `auto` probes workgroup sizes, widths and grids per kernel family on
    /// the arrays about to be timed (untimed) and keeps the fastest valid one; `off` runs the
    /// default (256-wide groups, one element per invocation).
    #[arg(long, value_enum, default_value = "auto")]
    gpu_tune: crate::gpu::Tuning,
    /// Print every row's table and each check in full.
    #[arg(long)]
    #[serde(skip)]
    verbose: bool,
}

/// How a stream-set run is split across an MPI job's ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// Each rank its own arrays of `--size` elements: the job moves ranks × the bytes.
    Weak,
    /// `--size` elements split across the ranks.
    Strong,
}

/// `--stores` and `--scaling`, on every command that runs the stream set.
#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct StreamSetArg {
    /// Under MPI: `weak` gives every rank arrays of `--size` elements, `strong` splits `--size`
    /// across the ranks (one process runs `--size` either way).
    #[arg(long, value_enum, default_value = "weak")]
    scaling: Scaling,
    /// Store kind of the CPU backends' element-wise kernels: `auto` measures cached and
    /// non-temporal stores per kernel on the arrays about to be timed (untimed probe) and keeps
    /// the faster; `cached` or `streaming` fixes it.
    #[arg(long, value_enum, default_value = "auto")]
    stores: StorePolicy,
}

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct DevicesArgs {
    /// Write the machine description as JSON here (atomically).
    #[arg(long)]
    #[serde(skip)]
    json: Option<PathBuf>,
    /// Mark the GPU adapter whose name contains this instead of the preferred one.
    #[arg(long)]
    adapter: Option<String>,
}

/// Bad input: reported as one line, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

fn usage(msg: impl Into<String>) -> anyhow::Error {
    Usage(msg.into()).into()
}

pub fn main() -> ExitCode {
    // Before any other thread exists: every thread must inherit the blocked signals.
    crate::signals::install();
    // Dropped last, after the exit code is known: under MPI that finalises the job.
    let _session = match crate::cluster::start() {
        Ok(session) => session,
        Err(e) => {
            tell!("error: joining the MPI job: {e}");
            return ExitCode::FAILURE;
        }
    };
    output::report_here(crate::cluster::world().is_root());
    let end = match Cli::try_parse() {
        Ok(cli) => {
            PLAN.get_or_init(|| cli.command.plan());
            match run(cli) {
                Ok(ok) => End::Done(ok),
                Err(e) => End::from(e),
            }
        }
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            if crate::cluster::world().is_root() {
                let _ = e.print();
            }
            End::Done(true)
        }
        Err(e) => {
            let line = one_line(&e.render().to_string());
            End::Usage(line.trim_start_matches("error: ").to_string())
        }
    };
    end.under_mpi().exit()
}

/// How a command ended.
enum End {
    /// It ran; `false` when some run failed validation.
    Done(bool),
    /// Bad input: one line, exit 2.
    Usage(String),
    /// Anything else: exit 1.
    Failed(String),
    /// The checkpoint stopped the job (`crate::cluster`): the code, and rank 0's line.
    Stopped { code: u8, line: Option<String> },
}

impl From<anyhow::Error> for End {
    fn from(e: anyhow::Error) -> End {
        if let Some(stop) = e.downcast_ref::<Stopped>() {
            End::Stopped {
                code: stop.code,
                line: stop.line.clone(),
            }
        } else if e.is::<Usage>() {
            End::Usage(e.to_string())
        } else {
            End::Failed(format!("{e:#}"))
        }
    }
}

impl End {
    /// Under MPI every rank must end alike: a rank that ended before the checkpoint takes part
    /// in it now (so that the ranks waiting there learn why, and all stop with one exit code);
    /// an error past it ends the whole job, since the other ranks wait in collectives this one
    /// will not join. For one process outside MPI: as it is.
    fn under_mpi(self) -> End {
        let world = crate::cluster::world();
        if !world.is_mpi() {
            return self;
        }
        if world.past_checkpoint() {
            return match self {
                End::Usage(why) | End::Failed(why) => world.abort(&why),
                other => other,
            };
        }
        let word = match &self {
            // A rank with nothing to run (rank 1 of `chart`) still says what it was asked to do.
            End::Done(_) => Ready::Ok(Word::mine(Vec::new())),
            End::Usage(why) => Ready::Usage(why.clone()),
            End::Failed(why) => Ready::Failed(why.clone()),
            End::Stopped { .. } => unreachable!("stopped at the checkpoint, so past it"),
        };
        match world.checkpoint(word) {
            Agreed::Ok(words) => match same_plan(&words) {
                Ok(()) => self,
                Err(Stopped { code, line }) => End::Stopped { code, line },
            },
            Agreed::Stop { code, line } => End::Stopped { code, line },
        }
    }

    fn exit(self) -> ExitCode {
        match self {
            // A standard output that failed (not a broken pipe) was reported on stderr already.
            End::Done(true) if output::stdout_ok() => ExitCode::SUCCESS,
            End::Done(_) => ExitCode::FAILURE,
            End::Usage(why) => {
                tell!("error: {why}");
                ExitCode::from(2)
            }
            End::Failed(why) => {
                tell!("error: {why}");
                ExitCode::FAILURE
            }
            End::Stopped { code, line } => {
                if let Some(line) = line {
                    tell!("error: {line}");
                }
                ExitCode::from(code)
            }
        }
    }
}

/// What a rank runs: the command's words and every flag that changes what is run or how it is
/// checked, as parsed (`2^14` and `16384` are one value). The flags that only say where rank 0
/// writes and how it prints (`--json`, `--csv`, `--label`, `--verbose`, `--out`) are left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct RankPlan {
    command: String,
    flags: Map<String, Value>,
}

/// This process's plan, set once the command line is parsed: every rank says it at the
/// checkpoint, from wherever it reaches it (the command, or `main` on the way out).
static PLAN: std::sync::OnceLock<RankPlan> = std::sync::OnceLock::new();

impl Command {
    fn plan(&self) -> RankPlan {
        let (command, args) = match self {
            Command::Stream(a) => ("stream", flags(a)),
            Command::Mc(a) => ("mc", flags(a)),
            Command::Compare(a) => ("compare", flags(a)),
            Command::Sweep(s) => s.plan(),
            Command::Chart(a) => ("chart", flags(a)),
            Command::Diff(a) => ("diff", flags(a)),
            Command::Devices(a) => ("devices", flags(a)),
        };
        RankPlan {
            command: command.to_string(),
            flags: args,
        }
    }
}

impl RankPlan {
    /// The run's default label: the host, the command and the size it runs at, as configured
    /// (a default size included: `node7 stream 2^25`).
    fn label(&self, host: &str) -> String {
        let size = ["size", "paths", "max-size"]
            .into_iter()
            .find_map(|flag| self.flags.get(flag)?.as_u64())
            .map(crate::text::count);
        crate::model::label(host, &self.command, size.as_deref())
    }
}

/// This run's default label (`--label` not given).
fn run_label(host: &str) -> String {
    PLAN.get()
        .map_or_else(|| crate::model::label(host, "", None), |p| p.label(host))
}

/// A command's parsed flags by name (`mc-reps`), for [`RankPlan`].
fn flags(args: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(args) {
        Ok(Value::Object(map)) => map,
        // The argument structs are plain structs of numbers, names and lists: always an object.
        other => unreachable!("arguments serialise to an object, not {other:?}"),
    }
}

/// What each rank says at the checkpoint: its plan, and the backends it opened.
#[derive(Debug, Serialize, Deserialize)]
struct Word {
    plan: Option<RankPlan>,
    backends: Vec<BackendKind>,
}

impl Word {
    fn mine(backends: Vec<BackendKind>) -> Word {
        Word {
            plan: PLAN.get().cloned(),
            backends,
        }
    }
}

/// Every rank must run rank 0's plan: ranks that run other commands or flags would meet in
/// collectives that do not match, and hang there. A difference is bad input on every rank (each
/// finds it alike, from the same words), named by rank 0 in one line: the first rank that
/// differs, and its first differing flag.
fn same_plan(words: &[Word]) -> Result<(), Stopped> {
    let world = crate::cluster::world();
    let Some(ours) = words.first().map(|w| &w.plan) else {
        return Ok(());
    };
    for (rank, word) in words.iter().enumerate().skip(1) {
        if word.plan == *ours {
            continue;
        }
        let (Some(theirs), Some(ours)) = (&word.plan, ours) else {
            continue;
        };
        let host = &world.hosts()[rank];
        let what = if theirs.command != ours.command {
            format!(
                "rank {rank} ({host}) runs `{}`, rank 0 `{}`",
                theirs.command, ours.command
            )
        } else {
            let keys: std::collections::BTreeSet<&String> =
                theirs.flags.keys().chain(ours.flags.keys()).collect();
            let Some(key) = keys
                .into_iter()
                .find(|k| theirs.flags.get(*k) != ours.flags.get(*k))
            else {
                continue;
            };
            let shown = |v: Option<&Value>| match v {
                None | Some(Value::Null) => "its default".to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                Some(v) => v.to_string(),
            };
            format!(
                "rank {rank} ({host}) runs `{}` with --{key} {}, rank 0 with --{key} {}",
                ours.command,
                shown(theirs.flags.get(key)),
                shown(ours.flags.get(key))
            )
        };
        return Err(Stopped {
            code: 2,
            line: world.is_root().then(|| {
                format!("{what}: every rank of a job must run the same command with the same flags")
            }),
        });
    }
    Ok(())
}

/// The checkpoint stopped the job: the exit code, and at rank 0 the line to print.
#[derive(Debug, thiserror::Error)]
#[error("stopped at the checkpoint (exit {code})")]
struct Stopped {
    code: u8,
    line: Option<String>,
}

/// clap's error as one line: its first line, with the valid values it lists on a later line
/// ("[possible values: …]") appended.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim);
    let first = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .to_string();
    match lines.find(|l| l.starts_with("[possible values:")) {
        Some(values) => format!("{first} {values}"),
        None => first,
    }
}

/// Runs the command; `Ok(false)` when some run failed validation.
fn run(cli: Cli) -> Result<bool> {
    crate::gpu::required().map_err(usage)?;
    // Before anything is pinned: the engine pins the thread that drives it.
    let cores = allowed_cores();
    if cores.is_empty() {
        return Err(usage(
            "this process may run on no CPU core (empty affinity mask)",
        ));
    }
    let world = crate::cluster::world();
    if !world.is_root()
        && matches!(
            cli.command,
            Command::Chart(_) | Command::Diff(_) | Command::Devices(_)
        )
    {
        // Rank 0 reads, draws and writes for the job.
        return Ok(true);
    }
    if world.is_parallel()
        && let Command::Sweep(command) = &cli.command
        && let Some(name) = command.single_process()
    {
        return Err(usage(format!(
            "sweep {name} runs on one process; under MPI run stream, mc, compare, sweep threads or sweep ranks (launched on {} ranks)",
            world.size()
        )));
    }
    let machine = Machine::probe(&cores);
    match cli.command {
        Command::Stream(args) => stream(args, &cores, machine),
        Command::Mc(args) => mc(args, &cores, machine),
        Command::Compare(args) => compare::compare(args, &cores, machine),
        Command::Sweep(command) => sweep::sweep(command, &cores, machine),
        Command::Diff(args) => diff::diff(args),
        Command::Chart(args) => {
            let written = crate::chart::render(&args.files, &args.out).map_err(chart_error)?;
            for chart in written {
                for series in chart.series {
                    say!(
                        "{}\t{}\t{}",
                        chart.path.display(),
                        series.name,
                        series.points
                    );
                }
                for name in chart.left_out {
                    say!("{}\t{name}\tnot drawn", chart.path.display());
                }
            }
            Ok(true)
        }
        Command::Devices(args) => devices(args, machine),
    }
}

/// A chart that could not be drawn or written is a failure (exit 1); anything else wrong with
/// the files or the folder given is bad input.
fn chart_error(e: crate::chart::ChartError) -> anyhow::Error {
    use crate::chart::ChartError;
    match e {
        ChartError::Write { .. }
        | ChartError::Draw { .. }
        | ChartError::Output(OutputError::Write { .. }) => e.into(),
        _ => usage(e.to_string()),
    }
}

fn devices(args: DevicesArgs, machine: Machine) -> Result<bool> {
    let json = args.json.as_deref().map(reserve).transpose()?;
    say!("{}", report::machine_table(&machine));
    let (adapters, chosen) = crate::gpu::adapters(
        args.adapter.as_deref(),
        crate::cluster::world().local_rank(),
    );
    if adapters.is_empty() {
        say!("GPU adapters: none found ({})", GpuError::no_adapter());
    } else {
        say!("{}", report::adapters_table(&adapters, chosen));
        match (&args.adapter, chosen) {
            (Some(wanted), None) => {
                return Err(usage(format!("no GPU adapter matches {wanted:?}")));
            }
            _ => say!("* the adapter the GPU backend uses"),
        }
    }
    if let Some(out) = json {
        let label = run_label(&machine.hostname);
        let doc = Document {
            adapters,
            ..Document::new(machine, label, crate::cluster::world().info())
        };
        out.commit(&doc.to_json()?)?;
    }
    Ok(true)
}

/// The stream request, checked before anything is allocated: the size fits host memory and the
/// address space, and the repetitions keep every value in the normal range. Under
/// `--scaling strong` this rank's share of `--size` across the first `ranks` ranks (the job's,
/// or one step of `sweep ranks`).
fn stream_config(
    size: u64,
    precision: Precision,
    reps: usize,
    kernels: &[StreamKernel],
    stores: &StreamSetArg,
    machine: &Machine,
    ranks: usize,
) -> Result<StreamConfig> {
    let elem = precision.bytes() as u128;
    let n = usize::try_from(size).map_err(|_| {
        usage(format!(
            "--size {size} does not fit this machine's address space"
        ))
    })?;
    let world = crate::cluster::world();
    let n = match stores.scaling {
        Scaling::Weak => n,
        Scaling::Strong if n < ranks => {
            return Err(usage(format!(
                "--size {n} --scaling strong: fewer elements than the {ranks} ranks it is split across"
            )));
        }
        // This rank's share, as evenly as it goes (a rank past `ranks` sizes for the last's).
        Scaling::Strong => crate::cluster::share(n, world.rank().min(ranks - 1), ranks).len(),
    };
    let need = 3 * elem * n as u128;
    // The ranks on this host share its memory.
    let available = machine.memory_available_bytes as u128 / world.ranks_here() as u128;
    if need > available * 9 / 10 {
        return Err(usage(format!(
            "--size {n} needs {} for three {} arrays, but only {} of memory is available{}",
            human_bytes(need),
            precision.name(),
            human_bytes(available),
            match world.ranks_here() {
                1 => String::new(),
                r => format!(" to each of this host's {r} ranks"),
            }
        )));
    }
    check_reps(reps, "--reps")?;
    let mut kernels = kernels.to_vec();
    kernels.sort();
    kernels.dedup();
    let cfg = StreamConfig {
        n,
        reps,
        kernels,
        stores: stores.stores,
    };
    match precision {
        Precision::F32 => cfg.check::<f32>(),
        Precision::F64 => cfg.check::<f64>(),
    }
    .map_err(usage)?;
    Ok(cfg)
}

fn check_reps(reps: usize, flag: &str) -> Result<()> {
    if reps < 2 {
        return Err(usage(format!(
            "{flag} must be at least 2 (the first repetition is a warm-up)"
        )));
    }
    Ok(())
}

fn stream(args: StreamArgs, cores: &[CoreId], machine: Machine) -> Result<bool> {
    let threads = threads(&args.common, cores)?;
    let cfg = stream_config(
        args.size,
        args.precision,
        args.reps,
        &args.kernels,
        &args.stores,
        &machine,
        crate::cluster::world().size(),
    )?;
    let outputs = Outputs::reserve(&args.common)?;
    let plan = Plan {
        stream: Some((args.precision, cfg)),
        ..Plan::default()
    };
    let mut opened = open(&args.backends, &args.common, cores, threads, &plan)?;
    let n = plan.stream.as_ref().map_or(0, |(_, c)| c.n);
    say!(
        "stream: n = {n} {} elements{} ({} per array), {} repetitions (first dropped), {} on {}{}",
        args.precision.name(),
        crate::cluster::world().own(),
        human_bytes(args.precision.bytes() as u128 * n as u128),
        args.reps,
        plural(threads, "thread"),
        machine.cpu_model,
        crate::cluster::world().phrase()
    );
    let mut collected = run_all(&mut opened, &plan)?;
    let doc = outputs.document(machine, &opened, &mut collected);
    render(doc, &collected.failures, &opened, outputs, &[])
}

fn mc(args: McArgs, cores: &[CoreId], machine: Machine) -> Result<bool> {
    let threads = threads(&args.common, cores)?;
    let steps = mc_steps(args.steps.unwrap_or(args.option.default_steps() as usize))?;
    check_reps(args.reps, "--reps")?;
    let params = McParams {
        payoff: args.option.payoff,
        s0: args.s0,
        strike: args.strike,
        rate: args.rate,
        sigma: args.sigma,
        maturity: args.maturity,
        steps,
        seed: args.seed,
    };
    check_mc_request(&params, args.paths)?;
    let outputs = Outputs::reserve(&args.common)?;
    let plan = Plan {
        mc: vec![McConfig {
            params,
            paths: args.paths,
            reps: args.reps,
        }],
        ..Plan::default()
    };
    let mut opened = open(&args.backends, &args.common, cores, threads, &plan)?;
    say!(
        "mc: {} S0={} K={} r={} sigma={} T={}, {}, {} paths, seed {}, {} repetitions (first dropped), {}{}",
        args.option.name(),
        args.s0,
        args.strike,
        args.rate,
        args.sigma,
        args.maturity,
        plural(steps as usize, "step"),
        args.paths,
        args.seed,
        args.reps,
        plural(threads, "thread"),
        crate::cluster::world().phrase()
    );
    let mut collected = run_all(&mut opened, &plan)?;
    let doc = outputs.document(machine, &opened, &mut collected);
    render(doc, &collected.failures, &opened, outputs, &[])
}

/// A Monte Carlo request, checked before any backend starts: at least 2 paths (a standard error
/// needs two), and parameters the f32 path arithmetic can take
/// (`cpu_kernels::mc::check_path_range`, the one rule every backend's `check_mc` applies too).
fn check_mc_request(params: &McParams, paths: u64) -> Result<()> {
    if paths < 2 {
        return Err(usage(format!(
            "--paths {paths}: at least 2 paths are needed (the standard error divides by paths - 1)"
        )));
    }
    cpu_kernels::mc::check_path_range(params)
        .map(|_| ())
        .map_err(|e| {
            usage(format!(
                "{} S0={:?} K={:?} r={:?} sigma={:?} T={:?} steps={}: {e}",
                OptionKind::of(params.payoff).name(),
                params.s0,
                params.strike,
                params.rate,
                params.sigma,
                params.maturity,
                params.steps
            ))
        })
}

fn mc_steps(steps: usize) -> Result<u32> {
    u32::try_from(steps).map_err(|_| {
        usage(format!(
            "--steps {steps} is beyond the counter space (at most 2^32 - 1)"
        ))
    })
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

/// Checks an output location before anything runs; a bad one is bad input.
fn reserve(path: &Path) -> Result<OutputFile> {
    OutputFile::check(path).map_err(|e| match e {
        OutputError::Location { .. } => usage(e.to_string()),
        OutputError::Write { .. } => e.into(),
    })
}

/// A command's outputs, checked before anything runs: the JSON and CSV files (not the same file,
/// nor both standard output), the label, whether to print in full.
struct Outputs {
    json: Option<OutputFile>,
    csv: Option<OutputFile>,
    label: Option<String>,
    verbose: bool,
}

impl Outputs {
    fn reserve(common: &Common) -> Result<Outputs> {
        if let Some(label) = &common.label
            && (label.trim().is_empty() || label.contains(['\n', '\r']))
        {
            return Err(usage(format!(
                "--label {label:?}: a label is one non-empty line"
            )));
        }
        // Under MPI rank 0 writes the job's files; the other ranks' hosts need not even see
        // their place.
        let writes = crate::cluster::world().is_root();
        let place = |p: &Option<PathBuf>| p.as_deref().filter(|_| writes).map(reserve).transpose();
        let (json, csv) = (place(&common.json)?, place(&common.csv)?);
        if let (Some(j), Some(c)) = (&json, &csv)
            && j.same_place(c)
        {
            return Err(usage(format!(
                "--json {} and --csv {} name the same output",
                j.shown(),
                c.shown()
            )));
        }
        Ok(Outputs {
            json,
            csv,
            label: common.label.clone(),
            verbose: common.verbose,
        })
    }

    /// Refuses a JSON or CSV output that is one of the run's input files.
    fn refuse_inputs<'a>(&self, inputs: impl IntoIterator<Item = &'a Path> + Copy) -> Result<()> {
        for out in self.json.iter().chain(&self.csv) {
            out.refuse_inputs(inputs)
                .map_err(|e| usage(e.to_string()))?;
        }
        Ok(())
    }

    /// The document of this run: its rows (under MPI, every rank's, gathered at rank 0), the
    /// machine, the GPU (or why there is none).
    fn document(&self, machine: Machine, opened: &Opened, collected: &mut Collected) -> Document {
        collected.gather_ranks();
        let label = self
            .label
            .clone()
            .unwrap_or_else(|| run_label(&machine.hostname));
        Document {
            gpu: opened.backends.iter().find_map(|b| b.adapter()).cloned(),
            gpu_missing: opened.gpu_missing.clone(),
            stream: std::mem::take(&mut collected.stream),
            mc: std::mem::take(&mut collected.mc),
            roofline: std::mem::take(&mut collected.roofline),
            ..Document::new(machine, label, crate::cluster::world().info())
        }
    }
}

/// Goes through the checkpoint, says which GPU runs, runs `plan` on every opened backend and
/// holds the backends' rows against one another.
fn run_all(opened: &mut Opened, plan: &Plan) -> Result<Collected> {
    ready(opened)?;
    opened.describe_gpu();
    let mut collected = Collected::default();
    collected.run(&mut opened.backends, plan);
    collected.cross_check();
    Ok(collected)
}

/// The checkpoint (`crate::cluster`), once the run is configured and its backends open: under
/// MPI, if any rank failed to get here every rank stops with its exit code; otherwise only the
/// backends open on every rank run (each backend's collectives must be matched on every rank),
/// the others are left out, and why. For one process: nothing.
fn ready(opened: &mut Opened) -> Result<()> {
    let world = crate::cluster::world();
    if !world.is_mpi() {
        return Ok(());
    }
    let mine = Word::mine(opened.backends.iter().map(|b| b.kind()).collect());
    let words = match world.checkpoint(Ready::Ok(mine)) {
        Agreed::Ok(words) => words,
        Agreed::Stop { code, line } => return Err(Stopped { code, line }.into()),
    };
    same_plan(&words)?;
    let lacking = |kind: BackendKind| words.iter().position(|w| !w.backends.contains(&kind));
    let mut left_out = Vec::new();
    opened.backends.retain(|b| match lacking(b.kind()) {
        Some(rank) => {
            left_out.push((b.kind(), rank));
            false
        }
        None => true,
    });
    for (kind, rank) in left_out {
        if kind == BackendKind::Gpu {
            opened.gpu_missing = Some(format!(
                "the GPU did not open on every rank (not on rank {rank}), and every rank must run it"
            ));
        }
    }
    Ok(())
}

/// Prints the document (the compare table, or a table per kind of row; the sweep's findings;
/// `notes`; what qualifies the numbers), reports every failure on stderr, and writes the JSON
/// and CSV files, both or, as far as it can be helped, neither. `Ok(false)` when something
/// failed.
fn render(
    doc: Document,
    failures: &[String],
    opened: &Opened,
    outputs: Outputs,
    notes: &[String],
) -> Result<bool> {
    let full = outputs.verbose || doc.compare.is_empty();
    if !doc.compare.is_empty() {
        say!("{}", report::compare_table(&doc));
    }
    if full && !doc.stream.is_empty() {
        say!("{}", report::stream_table(&doc.stream));
    }
    if full && !doc.mc.is_empty() {
        say!("{}", report::mc_table(&doc.mc));
    }
    if !doc.roofline.is_empty() {
        say!("{}", report::roofline_table(&doc.roofline));
    }
    if !doc.transfer.is_empty() {
        say!("{}", report::transfer_table(&doc.transfer));
    }
    if outputs.verbose {
        for line in report::compare_details(&doc.compare)
            .into_iter()
            .chain(report::checks(&doc))
            .chain(report::launches(&doc))
        {
            say!("{line}");
        }
    } else if let Some(line) = report::launch_summary(&doc) {
        say!("{line}");
    }
    for line in doc.sweep.iter().flat_map(|s| &s.findings).chain(notes) {
        say!("{line}");
    }
    for line in report::caveats(&doc) {
        say!("note: {line}");
    }
    // Rank 0 reports every rank's failures (gathered with their rows).
    for line in failures
        .iter()
        .filter(|_| crate::cluster::world().is_root())
    {
        tell!("FAILED: {line}");
    }
    let mut files = Vec::new();
    if let Some(out) = outputs.json {
        files.push((out, doc.to_json()?));
    }
    if let Some(out) = outputs.csv {
        files.push((out, report::csv(&doc)?));
    }
    output::commit_all(files)?;
    Ok(failures.is_empty() && opened.gpu_ok())
}

/// The backends of one command, built before anything is allocated.
struct Opened {
    backends: Vec<Box<dyn Backend>>,
    /// Why the GPU asked for is not among them.
    gpu_missing: Option<String>,
    /// Whether that was a failure rather than the absence of any adapter.
    gpu_failed: bool,
}

impl Opened {
    /// No backends yet, and nothing missing.
    fn none() -> Opened {
        Opened {
            backends: Vec::new(),
            gpu_missing: None,
            gpu_failed: false,
        }
    }

    /// Records why the GPU could not be opened: an absence when there is no adapter, a failure
    /// when one fails to start or to build the kernels; naming an adapter nothing matches is bad
    /// input.
    fn gpu_unavailable(&mut self, e: anyhow::Error) -> Result<()> {
        match e.downcast_ref::<GpuError>() {
            Some(GpuError::NoMatch { .. }) => return Err(usage(e.to_string())),
            Some(GpuError::NoAdapter { .. }) => self.gpu_missing = Some(e.to_string()),
            _ => {
                tell!("FAILED: starting the GPU: {e:#}");
                self.gpu_failed = true;
                self.gpu_missing = Some(format!("{e:#}"));
            }
        }
        Ok(())
    }

    /// False when the GPU was asked for and failed to start, or is absent while
    /// `HEXPYLOT_REQUIRE_GPU` is set true.
    fn gpu_ok(&self) -> bool {
        !self.gpu_failed && (self.gpu_missing.is_none() || !gpu_required())
    }

    /// Says which GPU runs and how its kernels are timed, or why none runs.
    fn describe_gpu(&self) {
        if let Some(why) = &self.gpu_missing {
            let why = why.lines().next().unwrap_or_default();
            say!("gpu: not run: {why}");
            // The run fails for it (see gpu_ok), so the reason belongs with the failures, on
            // stderr, and not only in the report; a GPU that failed to start said so already.
            if !self.gpu_failed && gpu_required() {
                tell!("FAILED: HEXPYLOT_REQUIRE_GPU is set but the GPU did not run: {why}");
            }
        }
        for a in self.backends.iter().filter_map(|b| b.adapter()) {
            say!(
                "gpu: {} ({}, {}, driver {}); kernel times from {}",
                a.name,
                a.backend,
                a.device_type,
                a.driver,
                if a.timestamp_queries {
                    "GPU timestamp queries"
                } else {
                    "submit to completion (this adapter has no timestamp queries)"
                }
            );
        }
    }
}

/// Whether the GPU must run (`HEXPYLOT_REQUIRE_GPU`, checked by [`run`] before anything else).
fn gpu_required() -> bool {
    crate::gpu::required().unwrap_or(true)
}

/// Builds each backend once, in the order given, on the first `threads` cores, and checks that
/// each can take the plan (sizes, paths, precision) before anything is allocated. A GPU that
/// cannot be opened is left out with its reason, so that the CPU rows still run; naming an
/// adapter that does not exist, or a request past a device's limits, is bad input.
fn open(
    kinds: &[BackendKind],
    common: &Common,
    cores: &[CoreId],
    threads: usize,
    plan: &Plan,
) -> Result<Opened> {
    let setup = Setup {
        cores: &cores[..threads],
        adapter: common.adapter.as_deref(),
        local_rank: crate::cluster::world().local_rank(),
        gpu_tune: common.gpu_tune,
    };
    let mut opened = Opened::none();
    for kind in dedup(kinds) {
        match kind.create(&setup) {
            Ok(b) => opened.backends.push(b),
            Err(e) if kind == BackendKind::Gpu => opened.gpu_unavailable(e)?,
            Err(e) => return Err(e.context(format!("starting {}", kind.name()))),
        }
    }
    // f64 runs on the GPU only where the adapter has f64 shaders; elsewhere the GPU sits out.
    if let Some((Precision::F64, _)) = &plan.stream
        && let Some(i) = opened
            .backends
            .iter()
            .position(|b| b.adapter().is_some_and(|a| !a.shader_f64))
    {
        let gpu = opened.backends.remove(i);
        let name = gpu.adapter().map_or("the GPU", |a| a.name.as_str());
        opened.gpu_missing = Some(format!("{name} has no f64 shaders (SHADER_F64)"));
    }
    for b in &opened.backends {
        check_backend(&**b, plan).map_err(limit_is_usage)?;
    }
    Ok(opened)
}

/// Whether `backend` can take everything the plan asks of it.
fn check_backend(backend: &dyn Backend, plan: &Plan) -> Result<()> {
    if let Some((precision, cfg)) = &plan.stream {
        match precision {
            Precision::F32 => Stream::<f32>::check_size(backend, cfg.n),
            Precision::F64 => Stream::<f64>::check_size(backend, cfg.n),
        }?;
    }
    for cfg in &plan.mc {
        backend.check_mc(&cfg.params, cfg.paths)?;
    }
    Ok(())
}

/// A request past a device's limits is bad input (exit 2); anything else stays a failure.
fn limit_is_usage(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<GpuError>() {
        Some(GpuError::Limit(msg)) => usage(msg.clone()),
        _ => e,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The default label is the host, the command and the size it runs at, defaults included,
    /// as README says ("node7 stream 2^25").
    #[test]
    fn default_labels_name_the_size_run() {
        let label = |args: &[&str]| {
            let cli = Cli::try_parse_from(std::iter::once("hexpylot").chain(args.iter().copied()))
                .unwrap();
            cli.command.plan().label("node7")
        };
        assert_eq!(label(&["stream"]), "node7 stream 2^25");
        assert_eq!(label(&["stream", "--size", "1000"]), "node7 stream 1000");
        assert_eq!(label(&["mc", "--paths", "16Mi"]), "node7 mc 2^24");
        assert_eq!(
            label(&["compare", "--json", "x.json"]),
            "node7 compare 2^25"
        );
        assert_eq!(label(&["sweep", "threads"]), "node7 sweep threads 2^25");
        assert_eq!(label(&["sweep", "sizes"]), "node7 sweep sizes");
        assert_eq!(label(&["devices"]), "node7 devices");
    }
}
