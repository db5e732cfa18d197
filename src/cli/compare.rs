//! `hexpylot compare`: the stream set and Monte Carlo on engine, rayon and GPU, one table, with
//! the GPU's results checked against the engine's.

use anyhow::Result;
use core_affinity::CoreId;
use cpu_kernels::mc::Payoff;

use super::{
    CompareArgs, Precision, check_mc_request, check_reps, limit_is_usage, mc_steps, open, reserve,
    setup, stream_config, threads, usage, write_json,
};
use crate::backend::{BackendKind, Stream};
use crate::bench::{Ceiling, McConfig, run_mc, run_stream};
use crate::kernels::{OptionKind, StreamKernel, reference_option};
use crate::machine::Machine;
use crate::report::{self, CompareRow, Document, McRow, StreamRow};
use crate::say;

/// The GPU's price may differ from the engine's by this fraction of one standard error. Both
/// price the very same paths; what differs is the f32 rounding of the GPU's transcendental
/// functions and FMA contraction (a few ulp per path, see `crate::gpu::NORMAL_ULPS`) and its f32
/// workgroup sums: relative effects near 1e-6, where one standard error of 2^24 paths is about
/// 3e-4 of the price.
const PRICE_TOLERANCE_SE: f64 = 0.01;

pub(super) fn compare(args: CompareArgs, cores: &[CoreId], machine: &Machine) -> Result<bool> {
    let threads = threads(&args.common, cores)?;
    let cfg = stream_config(
        args.size,
        Precision::F32,
        args.reps,
        &StreamKernel::ALL,
        &args.stores,
        machine,
    )?;
    check_reps(args.mc_reps, "--mc-reps")?;
    let ceilings = match &args.roofline {
        Some(path) => read_ceilings(path)?,
        None => Vec::new(),
    };
    let asian_steps = mc_steps(args.steps)?;
    let options = [
        (Payoff::EuropeanCall, 1),
        (Payoff::AsianArithmeticCall, asian_steps),
    ]
    .map(|(payoff, steps)| McConfig {
        params: reference_option(payoff, steps, args.seed),
        paths: args.paths,
        reps: args.mc_reps,
    });
    for o in &options {
        check_mc_request(&o.params, o.paths)?;
    }
    let json = args.common.json.as_deref().map(reserve).transpose()?;
    let kinds = [BackendKind::Engine, BackendKind::Rayon, BackendKind::Gpu];
    let mut opened = open(&kinds, &setup(&args.common, cores, threads))?;
    for b in &opened.backends {
        Stream::<f32>::check_size(&**b, cfg.n).map_err(limit_is_usage)?;
        for o in &options {
            b.check_mc(&o.params, o.paths).map_err(limit_is_usage)?;
        }
    }

    say!(
        "compare: stream n = {} f32, {} repetitions; Monte Carlo {} paths (European, and arithmetic Asian with {asian_steps} dates), {} repetitions; {threads} CPU threads on {}",
        cfg.n,
        cfg.reps,
        args.paths,
        args.mc_reps,
        machine.cpu_model
    );
    opened.describe_gpu();

    let mut ok = opened.gpu_ok();
    let mut stream_rows: Vec<StreamRow> = Vec::new();
    let mut mc_rows: Vec<McRow> = Vec::new();
    let mut rng = None;
    for backend in &mut opened.backends {
        let name = backend.kind().name();
        match run_stream::<f32, _>(&mut **backend, &cfg) {
            Ok(rows) => stream_rows.extend(rows),
            Err(e) => {
                ok = false;
                eprintln!("FAILED: stream on {name}: {e:#}");
            }
        }
        for o in &options {
            match run_mc(&mut **backend, o) {
                Ok(outcome) => mc_rows.push(outcome.row),
                Err(e) => {
                    ok = false;
                    eprintln!("FAILED: mc on {name}: {e:#}");
                }
            }
        }
        match backend.rng_agreement(args.seed) {
            Ok(Some(a)) => rng = Some(a),
            Ok(None) => {}
            Err(e) => {
                ok = false;
                eprintln!("FAILED: random numbers on {name}: {e:#}");
            }
        }
    }

    let mut rows: Vec<CompareRow> = StreamKernel::ALL
        .iter()
        .map(|k| stream_row(k.name(), &stream_rows, &ceilings))
        .collect();
    rows.extend(options.iter().map(|o| mc_row(o, &mc_rows)));
    if let Some(a) = &rng {
        rows.push(CompareRow {
            kernel: "philox + normals".into(),
            unit: "-",
            engine: None,
            rayon: None,
            gpu_kernel: None,
            gpu_end_to_end: None,
            gpu_over_engine: None,
            agree: format!("{}: {}", if a.agrees { "yes" } else { "NO" }, a.detail),
            agrees: a.agrees,
            bound: "-".into(),
        });
    }
    say!("{}", report::compare_table(&rows));
    if let Some(stores) = report::stores_summary(&stream_rows) {
        say!("{stores}");
    }
    say!(
        "GB/s: BabelStream's byte counts over the median time; GPU end-to-end adds the upload of the kernel's inputs and the download of its output. bound: the share of the device's bandwidth ceiling (from --roofline) or of its best stream rate in this run. stores: each CPU kernel's store kind and, under --stores auto, how much faster the probe found it than the other kind."
    );
    for r in stream_rows.iter().filter(|r| !r.valid) {
        ok = false;
        eprintln!("FAILED: {} on {}: {}", r.kernel, r.backend, r.check);
    }
    for r in mc_rows.iter().filter(|r| !r.valid) {
        ok = false;
        eprintln!("FAILED: {} on {}: {}", r.option, r.backend, r.check);
    }
    for r in rows.iter().filter(|r| !r.agrees) {
        ok = false;
        eprintln!("FAILED: CPU and GPU disagree on {}: {}", r.kernel, r.agree);
    }
    if let Some(out) = json {
        write_json(
            out,
            &Document {
                stream: &stream_rows,
                mc: &mc_rows,
                compare: &rows,
                ..opened.document(machine)
            },
        )?;
    }
    Ok(ok)
}

/// The bandwidth ceilings a `sweep roofline --json` file holds.
fn read_ceilings(path: &std::path::Path) -> Result<Vec<Ceiling>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{} is not JSON: {e}", path.display())))?;
    let ceilings = doc["sweep"]["ceilings"]
        .as_array()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            usage(format!(
                "{} holds no roofline ceilings (write one with `hexpylot sweep roofline --json`)",
                path.display()
            ))
        })?;
    ceilings
        .iter()
        .map(|c| {
            let field = |name: &str| {
                c[name]
                    .as_f64()
                    .ok_or_else(|| usage(format!("{}: a ceiling lacks {name}", path.display())))
            };
            Ok(Ceiling {
                backend: c["backend"].as_str().unwrap_or_default().to_string(),
                bandwidth_gbs: field("bandwidth_gbs")?,
                compute_gflops: field("compute_gflops")?,
                ridge: field("ridge")?,
            })
        })
        .collect()
}

/// The stream kernel on each backend. The engine's arrays equal the gold values exactly (or the
/// row is invalid), so the GPU's element-by-element check against gold, within its stated
/// tolerance, is the check against the engine's elements.
fn stream_row(kernel: &str, rows: &[StreamRow], ceilings: &[Ceiling]) -> CompareRow {
    let find = |backend: &str| {
        rows.iter()
            .find(|r| r.kernel == kernel && r.backend == backend)
    };
    let (engine, rayon, gpu) = (find("engine"), find("rayon"), find("gpu"));
    let best = |backends: &[&str]| {
        rows.iter()
            .filter(|r| backends.contains(&r.backend) && r.valid)
            .map(|r| r.gbs_median)
            .fold(0.0, f64::max)
    };
    // The roofline sweep's bandwidth ceilings where given, else the best stream rate of this run.
    let ceiling = |backend: &str| {
        ceilings
            .iter()
            .find(|c| c.backend == backend)
            .map(|c| (c.bandwidth_gbs, "roofline ceiling"))
    };
    let (cpu_peak, cpu_what) =
        ceiling("engine").unwrap_or((best(&["engine", "rayon"]), "best here"));
    let (gpu_peak, gpu_what) = ceiling("gpu").unwrap_or((best(&["gpu"]), "best here"));
    let (agree, agrees) = match (engine, gpu) {
        (Some(e), Some(g)) => {
            let agrees = e.valid && g.valid;
            (
                format!("{}: {}", if agrees { "yes" } else { "NO" }, g.check),
                agrees,
            )
        }
        _ => ("-".to_string(), true),
    };
    let mut bound = vec!["memory".to_string()];
    if let Some(e) = engine.filter(|_| cpu_peak > 0.0) {
        bound.push(format!(
            "CPU {:.0}% of {cpu_what}",
            100.0 * e.gbs_median / cpu_peak
        ));
    }
    if let Some(g) = gpu.filter(|_| gpu_peak > 0.0) {
        bound.push(format!(
            "GPU {:.0}% of {gpu_what}",
            100.0 * g.gbs_median / gpu_peak
        ));
    }
    CompareRow {
        kernel: kernel.to_string(),
        unit: "GB/s",
        engine: engine.map(|r| r.gbs_median),
        rayon: rayon.map(|r| r.gbs_median),
        gpu_kernel: gpu.map(|r| r.gbs_median),
        gpu_end_to_end: gpu.and_then(|r| r.end_to_end_s.map(|t| r.bytes_per_rep as f64 / t / 1e9)),
        gpu_over_engine: engine.zip(gpu).map(|(e, g)| g.gbs_median / e.gbs_median),
        agree,
        agrees,
        bound: bound.join(", "),
    }
}

/// One option on each backend; the GPU's price must be within `PRICE_TOLERANCE_SE` standard
/// errors of the engine's (both are also held to the closed form or AM-GM bound by the harness).
fn mc_row(cfg: &McConfig, rows: &[McRow]) -> CompareRow {
    let option = OptionKind::of(cfg.params.payoff).name();
    let find = |backend: &str| {
        rows.iter()
            .find(|r| r.option == option && r.backend == backend)
    };
    let (engine, rayon, gpu) = (find("engine"), find("rayon"), find("gpu"));
    let mps = |r: &McRow| r.paths_per_s / 1e6;
    let (agree, agrees) = match (engine, gpu) {
        (Some(e), Some(g)) => {
            let gap = (g.price - e.price).abs() / e.std_error;
            let agrees = e.valid && g.valid && gap <= PRICE_TOLERANCE_SE;
            (
                format!(
                    "{}: |gpu - engine| = {:.2e} = {:.4} SE (bound {PRICE_TOLERANCE_SE} SE)",
                    if agrees { "yes" } else { "NO" },
                    (g.price - e.price).abs(),
                    gap
                ),
                agrees,
            )
        }
        _ => ("-".to_string(), true),
    };
    CompareRow {
        kernel: format!("{option} ({} steps)", cfg.params.steps),
        unit: "M paths/s",
        engine: engine.map(mps),
        rayon: rayon.map(mps),
        gpu_kernel: gpu.map(mps),
        gpu_end_to_end: gpu.and_then(|r| r.end_to_end_s.map(|t| r.paths as f64 / t / 1e6)),
        gpu_over_engine: engine.zip(gpu).map(|(e, g)| g.paths_per_s / e.paths_per_s),
        agree,
        agrees,
        bound: "compute (no array traffic)".to_string(),
    }
}
