//! `hexpylot compare`: the stream set and Monte Carlo on engine, rayon and GPU, one table, with
//! the GPU's results checked against the CPU's.

use std::path::Path;

use anyhow::Result;
use core_affinity::CoreId;
use cpu_kernels::mc::Payoff;

use super::{
    CompareArgs, Outputs, check_mc_request, check_reps, mc_steps, open, render, run_all,
    stream_config, threads, usage,
};
use crate::bench::McConfig;
use crate::model::{Ceiling, Document, Machine, Precision, StreamKernel, reference_option};
use crate::report;
use crate::runner::Plan;
use crate::say;
use crate::text::plural;

pub(super) fn compare(args: CompareArgs, cores: &[CoreId], machine: Machine) -> Result<bool> {
    let threads = threads(&args.common, cores)?;
    let cfg = stream_config(
        args.size,
        args.precision,
        args.reps,
        &StreamKernel::ALL,
        &args.stores,
        &machine,
        crate::cluster::world().size(),
    )?;
    check_reps(args.mc_reps, "--mc-reps")?;
    let ceilings = match &args.roofline {
        Some(path) => read_ceilings(path, &machine, args.precision, threads)?,
        None => Vec::new(),
    };
    let asian_steps = mc_steps(args.steps)?;
    let options: Vec<McConfig> = [
        (Payoff::EuropeanCall, 1),
        (Payoff::AsianArithmeticCall, asian_steps),
    ]
    .into_iter()
    .map(|(payoff, steps)| McConfig {
        params: reference_option(payoff, steps, args.seed),
        paths: args.paths,
        reps: args.mc_reps,
    })
    .collect();
    for o in &options {
        check_mc_request(&o.params, o.paths)?;
    }
    let outputs = Outputs::reserve(&args.common)?;
    outputs.refuse_inputs(args.roofline.as_deref())?;
    let plan = Plan {
        stream: Some((args.precision, cfg)),
        mc: options,
        roofline: None,
        rng_seed: Some(args.seed),
    };
    let mut opened = open(&args.backends, &args.common, cores, threads, &plan)?;
    let n = plan.stream.as_ref().map_or(0, |(_, c)| c.n);
    say!(
        "compare: stream n = {n} {}{}, {} repetitions; Monte Carlo {} paths (European, and arithmetic Asian with {}), {} repetitions; {} on {}{}",
        args.precision.name(),
        crate::cluster::world().own(),
        args.reps,
        args.paths,
        plural(asian_steps as usize, "date"),
        args.mc_reps,
        plural(threads, "CPU thread"),
        machine.cpu_model,
        crate::cluster::world().phrase()
    );

    let mut collected = run_all(&mut opened, &plan)?;
    let rows = collected.compare_rows(&StreamKernel::ALL, &plan.mc, &ceilings);
    for r in rows.iter().filter(|r| !r.agrees) {
        collected.failures.push(format!(
            "CPU and GPU disagree on {}: {}",
            report::compared_label(&r.of),
            report::agree_long(r)
        ));
    }
    let doc = Document {
        compare: rows,
        ..outputs.document(machine, &opened, &mut collected)
    };
    let mut notes = Vec::new();
    notes.extend(report::stores_summary(&doc.stream));
    notes.push(
        "Rates: GB/s (BabelStream's byte counts over the median time) for the stream kernels, million paths/s for Monte Carlo. GPU: kernel-only; GPU e2e adds the upload of the kernel's inputs and the download of its output. agree: the GPU's results against the CPU's (ulp: relative error in units of the precision's epsilon). bound: the share of each device's bandwidth ceiling (from --roofline) or of its best stream rate in this run, CPU/GPU. --verbose prints every detail."
            .to_string(),
    );
    render(doc, &collected.failures, &opened, outputs, &notes)
}

/// The ceilings of a `sweep roofline --json` file, refused unless they were measured on this
/// machine, in this precision and (for the CPU) at this thread count: a ceiling from other
/// conditions would make "the share of the ceiling" meaningless (a 651% share, once).
fn read_ceilings(
    path: &Path,
    machine: &Machine,
    precision: Precision,
    threads: usize,
) -> Result<Vec<Ceiling>> {
    let doc = Document::read(path).map_err(|e| usage(e.to_string()))?;
    let shown = path.display();
    let ceilings = doc
        .sweep
        .map(|s| s.ceilings)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            usage(format!(
                "{shown} holds no roofline ceilings (write one with `hexpylot sweep roofline --json`)"
            ))
        })?;
    if (
        doc.machine.hostname.as_str(),
        doc.machine.cpu_model.as_str(),
    ) != (machine.hostname.as_str(), machine.cpu_model.as_str())
    {
        return Err(usage(format!(
            "{shown} was measured on {} ({}), not on this machine ({}, {})",
            doc.machine.hostname, doc.machine.cpu_model, machine.hostname, machine.cpu_model
        )));
    }
    for c in &ceilings {
        let (Some(p), Some(t)) = (c.precision, c.threads) else {
            return Err(usage(format!(
                "{shown}: its ceilings do not record their precision and thread count (schema version {}): measure them again with `hexpylot sweep roofline --json`",
                doc.schema_version
            )));
        };
        if p != precision {
            return Err(usage(format!(
                "{shown}: the {} ceiling was measured in {}, this run is {}",
                c.backend.name(),
                p.name(),
                precision.name()
            )));
        }
        if !c.backend.is_offload() && t != threads {
            return Err(usage(format!(
                "{shown}: the {} ceiling was measured on {}, this run uses {}",
                c.backend.name(),
                plural(t, "thread"),
                plural(threads, "thread")
            )));
        }
    }
    Ok(ceilings)
}
