//! The stream benchmark on one backend and one element type, BabelStream's way.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::time::Instant;

use anyhow::Result;
use cpu_kernels::stream::Stores;

use super::Progress;
use crate::backend::{Backend, Stream};
use crate::kernels::{
    Element, Gold, INIT_A, INIT_B, INIT_C, SCALAR, StorePolicy, StreamKernel, gold_replay, passes,
};
use crate::results::{StoreProbe, StreamRow, Timing};

#[derive(Clone, Debug)]
pub struct StreamConfig {
    pub n: usize,
    /// Repetitions including the dropped warm-up (at least 2).
    pub reps: usize,
    /// Kernels to run, in classic order, each once per repetition of its pass (see
    /// [`crate::kernels::passes`]).
    pub kernels: Vec<StreamKernel>,
    /// How backends that choose their store kind (the CPU's) choose it.
    pub stores: StorePolicy,
}

impl StreamConfig {
    /// Checks, before anything is allocated, that every pass keeps `T`'s values in range.
    pub fn check<T: Element>(&self) -> Result<(), String> {
        passes(&self.kernels)
            .try_for_each(|pass| gold_replay::<T>(&pass, self.reps, self.n).map(drop))
    }
}

/// Rounds of the store probe (each runs the pass once with each store kind): five for arrays of
/// 2^22 elements or more, where one kernel takes milliseconds and the two kinds differ by tens of
/// percent when they differ at all (the best of five shrugs off a shared machine's slow outliers);
/// more for small arrays, whose microsecond runs are noisier, up to 32 (still well under a
/// millisecond per kernel in all).
fn probe_rounds(n: usize) -> usize {
    ((5usize << 22) / n.max(1)).clamp(5, 32)
}

/// Runs every selected kernel `reps` times on `backend`, pass by pass, validates the final arrays
/// and the last dot product against the gold replay, and returns one row per kernel. An `Err` means
/// the backend failed to run (a worker panicked, memory could not be mapped) or the configuration
/// leaves `T`'s range; a wrong result is a row with `valid: false`.
pub fn run_stream<T: Element, B: Backend + Stream<T> + ?Sized>(
    backend: &mut B,
    cfg: &StreamConfig,
) -> Result<Vec<StreamRow>> {
    let mut rows = Vec::with_capacity(cfg.kernels.len());
    for pass in passes(&cfg.kernels) {
        rows.extend(run_pass::<T, B>(backend, cfg, &pass)?);
    }
    Ok(rows)
}

fn run_pass<T: Element, B: Backend + Stream<T> + ?Sized>(
    backend: &mut B,
    cfg: &StreamConfig,
    pass: &[StreamKernel],
) -> Result<Vec<StreamRow>> {
    let (gold, gold_dot) = gold_replay::<T>(pass, cfg.reps, cfg.n).map_err(anyhow::Error::msg)?;
    let (kind, threads) = (backend.kind(), backend.threads());
    let init = [INIT_A, INIT_B, INIT_C].map(T::from_f64);
    Stream::<T>::init_arrays(backend, cfg.n, init)?;

    let scalar = T::from_f64(SCALAR);
    let (stores, probes) = choose_stores::<T, B>(backend, cfg, pass, init, scalar)?;
    // Allocated before the timed loop: nothing is allocated between two timestamps.
    let mut times = vec![vec![0.0; pass.len()]; cfg.reps];
    let mut dot = f64::NAN;
    let names: Vec<_> = pass.iter().map(|k| k.name()).collect();
    let mut progress = Progress::new(
        &format!("stream {} {} {}", kind.name(), T::NAME, names.join(",")),
        cfg.reps as u64,
    );
    for rep in &mut times {
        for ((time, &kernel), &kind) in rep.iter_mut().zip(pass).zip(&stores) {
            let value;
            (value, *time) = timed_run(backend, kernel, scalar, kind.unwrap_or(Stores::Cached))?;
            if kernel == StreamKernel::Dot {
                dot = value;
            }
        }
        progress.step();
    }
    drop(progress);

    let tolerance = Stream::<T>::element_tolerance(backend, cfg.reps);
    let arrays = check_arrays(&Stream::<T>::read_arrays(backend)?, &gold, tolerance);
    Stream::<T>::release_arrays(backend);
    let dot_bound = Stream::<T>::dot_bound(backend, cfg.n) + 2.0 * tolerance;
    let dot_check = gold_dot.map(|g| check_dot(dot, g, dot_bound));
    let end_to_end = if backend.is_offload() {
        let host = init.map(|v| vec![v; cfg.n]);
        pass.iter()
            .map(|&k| end_to_end_timing::<T, B>(backend, k, scalar, &host))
            .collect::<Result<Vec<_>>>()?
    } else {
        vec![None; pass.len()]
    };

    Ok(pass
        .iter()
        .enumerate()
        .map(|(k, &kernel)| {
            // The first repetition is the warm-up.
            let timing =
                Timing::from_times(&mut times[1..].iter().map(|rep| rep[k]).collect::<Vec<_>>());
            let (max_rel_err, check) = match (&arrays, kernel, &dot_check) {
                (Err(e), ..) | (Ok(_), StreamKernel::Dot, Some(Err(e))) => (None, e.clone()),
                (Ok(_), StreamKernel::Dot, Some(Ok((err, ok)))) | (Ok((err, ok)), ..) => {
                    (Some(*err), ok.clone())
                }
            };
            let valid = max_rel_err.is_some();
            let bytes = kernel.bytes(cfg.n, size_of::<T>());
            let offload = backend.is_offload();
            StreamRow {
                kernel,
                backend: kind,
                precision: T::PRECISION,
                threads,
                n: cfg.n,
                bytes_per_rep: bytes,
                reps: cfg.reps - 1,
                timing,
                gbs_median: bytes as f64 / timing.median_s / 1e9,
                gbs_best: bytes as f64 / timing.min_s / 1e9,
                valid,
                check,
                max_rel_err,
                kernel_s: offload.then_some(timing.median_s),
                end_to_end_s: end_to_end[k].filter(|_| offload).map(|t| t.median_s),
                stores: stores[k],
                store_probe: probes[k],
            }
        })
        .collect())
}

/// One run of `kernel`: its value (the dot product, or 0) and its time, the device's own where
/// it has one, else the host clock around the call.
fn timed_run<T: Element, B: Backend + Stream<T> + ?Sized>(
    backend: &mut B,
    kernel: StreamKernel,
    scalar: T,
    stores: Stores,
) -> Result<(f64, f64)> {
    let start = Instant::now();
    let ran = Stream::<T>::run(backend, kernel, scalar, stores)?;
    let host = start.elapsed().as_secs_f64();
    Ok((ran.value, ran.kernel_s.unwrap_or(host)))
}

/// Per kernel of a pass: its store kind and what the probe measured.
type StoreChoice = (Vec<Option<Stores>>, Vec<Option<StoreProbe>>);

/// The store kind each kernel of the pass runs with (`None` where there is no choice: a backend
/// whose stores are its driver's, or dot, which writes nothing), and what the probe measured.
///
/// Under `--stores auto` the probe runs the whole pass alternately with each kind (cached first in
/// even rounds, streaming first in odd ones, so that a drifting clock or a warming machine
/// favours neither) and keeps per kernel the kind with the faster best run. It runs on the very
/// arrays the timed repetitions use, after their first touch, so it measures what they will see;
/// none of its runs is reported, and it refills the arrays with their initial values afterwards.
fn choose_stores<T: Element, B: Backend + Stream<T> + ?Sized>(
    backend: &mut B,
    cfg: &StreamConfig,
    pass: &[StreamKernel],
    init: [T; 3],
    scalar: T,
) -> Result<StoreChoice> {
    let chooses = backend.chooses_stores();
    let writes = |k: &StreamKernel| chooses && k.writes().is_some();
    let no_probe = vec![None; pass.len()];
    if let Some(fixed) = cfg.stores.fixed() {
        let stores = pass.iter().map(|k| writes(k).then_some(fixed)).collect();
        return Ok((stores, no_probe));
    }
    if !chooses {
        return Ok((vec![None; pass.len()], no_probe));
    }
    let rounds = probe_rounds(cfg.n);
    // Best time per kernel with [cached, streaming].
    let mut best = vec![[f64::INFINITY; 2]; pass.len()];
    for round in 0..rounds {
        for slot in [round % 2, 1 - round % 2] {
            let kind = [Stores::Cached, Stores::Streaming][slot];
            for (k, &kernel) in pass.iter().enumerate() {
                let (_, t) = timed_run(backend, kernel, scalar, kind)?;
                best[k][slot] = best[k][slot].min(t);
            }
        }
    }
    // The timed repetitions start from BabelStream's initial values, as if no probe had run.
    Stream::<T>::refill(backend, cfg.n, init)?;
    let bytes = |k: StreamKernel| k.bytes(cfg.n, size_of::<T>()) as f64;
    Ok(pass
        .iter()
        .zip(&best)
        .map(|(&kernel, &[cached, streaming])| {
            if !writes(&kernel) {
                return (None, None);
            }
            let kind = if streaming < cached {
                Stores::Streaming
            } else {
                Stores::Cached
            };
            let probe = StoreProbe {
                cached_gbs: bytes(kernel) / cached / 1e9,
                streaming_gbs: bytes(kernel) / streaming / 1e9,
                rounds,
            };
            (Some(kind), Some(probe))
        })
        .unzip())
}

/// Repetitions of the end-to-end measurement (upload, kernel, download), after one warm-up: each
/// moves the arrays across the bus, so fewer than the kernel's own repetitions.
const END_TO_END_REPS: usize = 5;

fn end_to_end_timing<T: Element, B: Backend + Stream<T> + ?Sized>(
    backend: &mut B,
    kernel: StreamKernel,
    scalar: T,
    host: &[Vec<T>; 3],
) -> Result<Option<Timing>> {
    let mut times = Vec::with_capacity(END_TO_END_REPS + 1);
    for _ in 0..=END_TO_END_REPS {
        match Stream::<T>::end_to_end(backend, kernel, scalar, host)? {
            Some(t) => times.push(t),
            None => return Ok(None),
        }
    }
    Ok(Some(Timing::from_times(&mut times[1..])))
}

/// Element-wise kernels must reproduce the gold replay to within `tolerance` (relative). On the
/// CPU it is 0: every element undergoes the same IEEE-754 operations in the same order as the
/// replay (separate multiply and add; Rust never contracts to FMA), so any difference at all is a
/// bug, not rounding. Backends whose compilers may contract a multiply and an add state their own.
fn check_arrays<T: Element>(
    arrays: &[Cow<'_, [T]>; 3],
    gold: &Gold<T>,
    tolerance: f64,
) -> Result<(f64, String), String> {
    let mut worst = 0.0f64;
    for (name, array, expected) in [
        ("a", &arrays[0], gold.a),
        ("b", &arrays[1], gold.b),
        ("c", &arrays[2], gold.c),
    ] {
        let g = expected.to_f64();
        let error = |x: T| {
            let d = (x.to_f64() - g).abs();
            if d == 0.0 { 0.0 } else { d / g.abs() }
        };
        // NaN compares as neither less nor equal, so it is bad too.
        let bad = |x: &T| {
            !matches!(
                error(*x).partial_cmp(&tolerance),
                Some(Ordering::Less | Ordering::Equal)
            )
        };
        if let Some(first) = array.iter().position(bad) {
            let wrong = array.iter().filter(|x| bad(x)).count();
            return Err(format!(
                "{name}[{first}] = {}, expected {expected} (relative tolerance {tolerance:.1e}; {wrong} of {} elements off)",
                array[first],
                array.len()
            ));
        }
        worst = array.iter().fold(worst, |w, &x| w.max(error(x)));
    }
    let text = if tolerance == 0.0 {
        "exact".to_string()
    } else {
        format!("max rel err {worst:.1e} (bound {tolerance:.1e})")
    };
    Ok((worst, text))
}

/// The dot product may differ from n·a·b by the summation error only (and by the elements'
/// own tolerance); the backend derives the bound from its reduction.
fn check_dot(dot: f64, gold: f64, bound: f64) -> Result<(f64, String), String> {
    let error = ((dot - gold) / gold).abs();
    let text = format!("dot {dot:.9e} vs {gold:.9e}: rel err {error:.1e} (bound {bound:.1e})");
    if error <= bound {
        Ok((error, text))
    } else {
        Err(text)
    }
}
