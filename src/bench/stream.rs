//! The stream benchmark on one backend and one element type, BabelStream's way.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::time::Instant;

use anyhow::Result;
use cpu_kernels::stream::Stores;

use super::Progress;
use crate::backend::{Backend, Output, Stream};
use crate::gpu::launch::{self, Target};
use crate::model::{
    Element, Family, Gold, INIT_A, INIT_B, INIT_C, Launch, SCALAR, Shape, StorePolicy, StoreProbe,
    StreamKernel, StreamRow, Timing, gold_replay, passes,
};

#[derive(Clone, Debug)]
pub struct StreamConfig {
    pub n: usize,
    /// Repetitions including the dropped warm-up (at least 2).
    pub reps: usize,
    /// Kernels to run, in classic order, each once per repetition of its pass (see
    /// [`crate::model::passes`]).
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
/// and the last dot product against the gold replay (and, on offload backends, what each
/// end-to-end run brought back), and returns one row per kernel. An `Err` means
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
    let launches = choose_launches::<T, B>(backend, cfg.n, pass, init, scalar)?;
    // Allocated before the timed loop: nothing is allocated between two timestamps.
    let mut times = vec![vec![0.0; pass.len()]; cfg.reps];
    let mut dot = f64::NAN;
    let names: Vec<_> = pass.iter().map(|k| k.name()).collect();
    let mut progress = Progress::new(
        &format!("stream {} {} {}", kind.name(), T::NAME, names.join(",")),
        cfg.reps as u64,
    );
    let cluster = crate::cluster::world();
    for rep in &mut times {
        for ((time, &kernel), &kind) in rep.iter_mut().zip(pass).zip(&stores) {
            let value;
            // Under MPI every rank starts each kernel together (a no-op for one process).
            cluster.barrier();
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

    let rows: Vec<StreamRow> = pass
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
            let (valid, check) = with_end_to_end_check(
                max_rel_err.is_some(),
                check,
                end_to_end[k].as_ref().map(|(_, c)| c),
            );
            let max_rel_err = max_rel_err.filter(|_| valid);
            let bound = if kernel == StreamKernel::Dot {
                dot_bound
            } else {
                tolerance
            };
            let bytes = kernel.bytes(cfg.n, size_of::<T>());
            let mut row = StreamRow {
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
                rel_err_bound: max_rel_err.map(|_| bound),
                kernel_s: None,
                end_to_end_s: None,
                end_to_end_below_kernel: None,
                stores: stores[k],
                store_probe: probes[k],
                launch: launches[k].clone(),
                scope: None,
            };
            if backend.is_offload() {
                row.set_device_times(end_to_end[k].as_ref().map(|(t, _)| *t));
            }
            row
        })
        .collect();
    Ok(if cluster.is_mpi() {
        with_job_rows(rows, &times, size_of::<T>())
    } else {
        rows
    })
}

/// Under MPI: this rank's rows, marked as its own, and at rank 0 the job's row of each kernel
/// after them: all ranks' elements and bytes, each repetition timed by its slowest rank (so the
/// rate is all bytes moved over the time the last rank took), valid only where every rank's
/// arrays are. `times` are this rank's, per repetition and kernel, the warm-up first.
fn with_job_rows(mut rows: Vec<StreamRow>, times: &[Vec<f64>], elem: usize) -> Vec<StreamRow> {
    let cluster = crate::cluster::world();
    let mut slowest: Vec<f64> = times.iter().flatten().copied().collect();
    cluster.max(&mut slowest);
    let mut n = [rows.first().map_or(0.0, |r| r.n as f64)];
    cluster.sum(&mut n);
    let mut errors: Vec<f64> = rows.iter().map(|r| r.max_rel_err.unwrap_or(0.0)).collect();
    cluster.max(&mut errors);
    let mut bounds: Vec<f64> = rows
        .iter()
        .map(|r| r.rel_err_bound.unwrap_or(0.0))
        .collect();
    cluster.max(&mut bounds);
    let valid: Vec<bool> = rows.iter().map(|r| cluster.all(r.valid)).collect();
    let scope = cluster.rank_scope();
    let mut job = Vec::new();
    for (k, row) in rows.iter_mut().enumerate() {
        row.scope = scope.clone();
        if !cluster.is_root() {
            continue;
        }
        let per_rep = slowest.len() / times.len().max(1);
        let mut column: Vec<f64> = slowest.chunks(per_rep).skip(1).map(|rep| rep[k]).collect();
        let timing = Timing::from_times(&mut column);
        let total = n[0] as usize;
        let bytes = row.kernel.bytes(total, elem);
        job.push(StreamRow {
            n: total,
            bytes_per_rep: bytes,
            timing,
            gbs_median: bytes as f64 / timing.median_s / 1e9,
            gbs_best: bytes as f64 / timing.min_s / 1e9,
            valid: valid[k],
            check: if valid[k] {
                format!("every rank's arrays validated ({})", row.check)
            } else {
                "some rank's arrays failed validation: see the rank rows".to_string()
            },
            max_rel_err: valid[k].then_some(errors[k]),
            rel_err_bound: valid[k].then_some(bounds[k]),
            kernel_s: row.kernel_s.map(|_| timing.median_s),
            end_to_end_s: None,
            end_to_end_below_kernel: None,
            scope: Some(crate::model::Scope::Aggregate {
                ranks: cluster.size(),
            }),
            ..row.clone()
        });
    }
    rows.extend(job);
    rows
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

/// The launch each kernel of the pass runs with, on backends whose launch shape is theirs to
/// choose (the GPU; `None` elsewhere). The element-wise kernels share one shape, probed with
/// triad where the pass has it (else with its first element-wise kernel), and dot has its own;
/// both are chosen by [`launch::choose`] on the very arrays the timed repetitions use, which are
/// refilled with their initial values afterwards.
fn choose_launches<T: Element, B: Backend + Stream<T> + ?Sized>(
    backend: &mut B,
    n: usize,
    pass: &[StreamKernel],
    init: [T; 3],
    scalar: T,
) -> Result<Vec<Option<Launch>>> {
    let family = |k: StreamKernel| {
        if k == StreamKernel::Dot {
            Family::Dot
        } else {
            Family::Stream
        }
    };
    let probed_with = |f: Family| {
        let mut of_family = pass.iter().copied().filter(|&k| family(k) == f);
        let first = of_family.next();
        pass.iter()
            .copied()
            .find(|&k| k == StreamKernel::Triad)
            .filter(|_| f == Family::Stream)
            .or(first)
    };
    let mut launches = vec![None; pass.len()];
    let mut probed = false;
    for f in [Family::Stream, Family::Dot] {
        let Some(kernel) = probed_with(f) else {
            continue;
        };
        let Some((space, tuning)) = backend.launch_space(f, T::PRECISION) else {
            continue;
        };
        let mut target = StreamTarget {
            backend: &mut *backend,
            family: f,
            kernel,
            scalar,
            init,
            n,
        };
        let (shape, probes) = launch::choose(&space, tuning, &mut target)?;
        backend.set_shape(f, shape);
        probed |= !probes.is_empty();
        let Some(mut chosen) = backend.launch(f, 0) else {
            continue;
        };
        chosen.probed_on = Some(kernel);
        chosen.probes = probes;
        for (slot, &k) in launches.iter_mut().zip(pass) {
            if family(k) == f {
                *slot = Some(chosen.clone());
            }
        }
    }
    if probed {
        // The timed repetitions start from BabelStream's initial values, as if no probe had run.
        Stream::<T>::refill(backend, n, init)?;
    }
    Ok(launches)
}

/// One stream kernel as the launch tuner probes it.
struct StreamTarget<'a, T, B: ?Sized> {
    backend: &'a mut B,
    family: Family,
    kernel: StreamKernel,
    scalar: T,
    init: [T; 3],
    n: usize,
}

impl<T: Element, B: Backend + Stream<T> + ?Sized> Target for StreamTarget<'_, T, B> {
    fn time(&mut self, shape: Shape) -> Result<f64> {
        self.backend.set_shape(self.family, shape);
        Ok(timed_run(&mut *self.backend, self.kernel, self.scalar, Stores::Cached)?.1)
    }

    /// One run from the initial values, checked as an end-to-end run's output is
    /// ([`check_output`]).
    fn holds(&mut self, shape: Shape) -> Result<bool> {
        self.backend.set_shape(self.family, shape);
        Stream::<T>::refill(&mut *self.backend, self.n, self.init)?;
        let (value, _) = timed_run(&mut *self.backend, self.kernel, self.scalar, Stores::Cached)?;
        let output = match self.kernel.writes() {
            Some(i) => Output::Array(Stream::<T>::read_arrays(&mut *self.backend)?[i].to_vec()),
            None => Output::Dot(value),
        };
        let tolerance = Stream::<T>::element_tolerance(&*self.backend, 1);
        let dot_bound = Stream::<T>::dot_bound(&*self.backend, self.n);
        Ok(check_output(
            &output,
            self.kernel,
            self.scalar,
            self.n,
            tolerance,
            dot_bound,
        )
        .is_ok())
    }
}

/// Repetitions of the end-to-end measurement (upload, kernel, download), after one warm-up: each
/// moves the arrays across the bus, so fewer than the kernel's own repetitions.
const END_TO_END_REPS: usize = 5;

/// Times the end-to-end runs of `kernel` from `host`, which holds BabelStream's initial values,
/// and checks what each run brought back, the warm-up's included: [`check_output`], after one
/// application of the kernel. The check is the first wrong output, else the last right one's.
/// `None` where the backend's data never leave host memory.
fn end_to_end_timing<T: Element, B: Stream<T> + ?Sized>(
    backend: &mut B,
    kernel: StreamKernel,
    scalar: T,
    host: &[Vec<T>; 3],
) -> Result<Option<(Timing, Result<String, String>)>> {
    let n = host[0].len();
    let (tolerance, dot_bound) = (backend.element_tolerance(1), backend.dot_bound(n));
    let mut times = Vec::with_capacity(END_TO_END_REPS + 1);
    let mut check = Ok(String::new());
    for _ in 0..=END_TO_END_REPS {
        let Some(run) = Stream::<T>::end_to_end(backend, kernel, scalar, host)? else {
            return Ok(None);
        };
        times.push(run.seconds);
        if check.is_ok() {
            check = check_output(&run.output, kernel, scalar, n, tolerance, dot_bound);
        }
    }
    Ok(Some((Timing::from_times(&mut times[1..]), check)))
}

/// The row's validity and check once the end-to-end check is in: a wrong end-to-end output fails
/// the row (its end-to-end rate would be that of wrong work); a row already failed keeps the
/// reason it failed first.
fn with_end_to_end_check(
    valid: bool,
    check: String,
    end_to_end: Option<&Result<String, String>>,
) -> (bool, String) {
    match end_to_end {
        Some(Err(e)) if valid => (false, format!("{check}; end to end: {e}")),
        Some(Ok(ok)) if valid => (true, format!("{check}; end to end: {ok}")),
        _ => (valid, check),
    }
}

/// What one end-to-end run of `kernel` over `n` elements brought back, against one application
/// of the kernel to BabelStream's initial values ([`StreamKernel::gold_step`]): every element of
/// the array it writes within `tolerance` (relative), or the dot product within `dot_bound`.
fn check_output<T: Element>(
    output: &Output<T>,
    kernel: StreamKernel,
    scalar: T,
    n: usize,
    tolerance: f64,
    dot_bound: f64,
) -> Result<String, String> {
    let mut gold = Gold::<T>::initial();
    let gold_dot = kernel.gold_step(&mut gold, scalar, n);
    match (output, kernel.writes(), gold_dot) {
        (Output::Array(array), Some(i), _) => {
            if array.len() != n {
                return Err(format!("{} elements came back, not {n}", array.len()));
            }
            let (name, expected) = [("a", gold.a), ("b", gold.b), ("c", gold.c)][i];
            let worst = check_array(name, array, expected, tolerance)?;
            Ok(describe_error(worst, tolerance))
        }
        (Output::Dot(dot), None, Some(gold_dot)) => {
            check_dot(*dot, gold_dot, dot_bound).map(|(_, text)| text)
        }
        (Output::Array(array), None, _) => Err(format!(
            "{} brought back an array of {} elements, not its dot product",
            kernel.name(),
            array.len()
        )),
        (Output::Dot(_), ..) => Err(format!(
            "{} brought back a dot product, not the array it writes",
            kernel.name()
        )),
    }
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
        worst = worst.max(check_array(name, array, expected, tolerance)?);
    }
    Ok((worst, describe_error(worst, tolerance)))
}

/// The largest relative error of `array`'s elements from `expected`, or which element is further
/// off than `tolerance`.
fn check_array<T: Element>(
    name: &str,
    array: &[T],
    expected: T,
    tolerance: f64,
) -> Result<f64, String> {
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
    Ok(array.iter().fold(0.0, |w, &x| w.max(error(x))))
}

/// What an element-wise check found: "exact" where nothing may differ.
fn describe_error(worst: f64, tolerance: f64) -> String {
    if tolerance == 0.0 {
        "exact".to_string()
    } else {
        format!("max rel err {worst:.1e} (bound {tolerance:.1e})")
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{EndToEnd, Ran};

    /// End-to-end runs on the host: the kernel by `run_cpu` on copies of the host arrays, and,
    /// where `spoil` says so, one element (or the dot product) of one run's output made wrong.
    struct HostOffload {
        runs: usize,
        /// (run, element) to spoil.
        spoil: Option<(usize, usize)>,
    }

    impl Stream<f32> for HostOffload {
        fn init_arrays(&mut self, _: usize, _: [f32; 3]) -> Result<()> {
            unreachable!("only end-to-end runs here")
        }
        fn run(&mut self, _: StreamKernel, _: f32, _: Stores) -> Result<Ran<f64>> {
            unreachable!("only end-to-end runs here")
        }
        fn read_arrays(&mut self) -> Result<[Cow<'_, [f32]>; 3]> {
            unreachable!("only end-to-end runs here")
        }
        fn release_arrays(&mut self) {
            unreachable!("only end-to-end runs here")
        }
        fn end_to_end(
            &mut self,
            kernel: StreamKernel,
            scalar: f32,
            host: &[Vec<f32>; 3],
        ) -> Result<Option<EndToEnd<f32>>> {
            let mut abc = host.clone();
            let [a, b, c] = &mut abc;
            let mut dot = kernel.run_cpu(a, b, c, scalar, Stores::Cached);
            let spoil = self.spoil.filter(|&(run, _)| run == self.runs);
            self.runs += 1;
            let output = match kernel.writes() {
                Some(i) => {
                    let mut array = abc[i].clone();
                    if let Some((_, element)) = spoil {
                        array[element] = 1.0 + array[element] * 2.0;
                    }
                    Output::Array(array)
                }
                None => {
                    if spoil.is_some() {
                        dot *= 1.001;
                    }
                    Output::Dot(dot)
                }
            };
            Ok(Some(EndToEnd {
                seconds: 1e-3,
                output,
            }))
        }
    }

    /// Every end-to-end run's output is checked, the warm-up's too: one wrong element (or dot
    /// product) in any run makes the check fail, and fails the row.
    #[test]
    fn every_end_to_end_output_is_validated() {
        let n = 1001;
        let host = [INIT_A, INIT_B, INIT_C].map(|v| vec![v as f32; n]);
        let scalar = SCALAR as f32;
        for kernel in StreamKernel::ALL {
            let mut right = HostOffload {
                runs: 0,
                spoil: None,
            };
            let (timing, check) = end_to_end_timing(&mut right, kernel, scalar, &host)
                .unwrap()
                .expect("an offload backend times end to end");
            assert_eq!(right.runs, END_TO_END_REPS + 1);
            assert_eq!(timing.median_s, 1e-3);
            let ok = check.unwrap_or_else(|e| panic!("{kernel:?}: {e}"));
            assert_eq!(
                with_end_to_end_check(true, "kernel fine".into(), Some(&Ok(ok.clone()))),
                (true, format!("kernel fine; end to end: {ok}"))
            );
            for run in [0, END_TO_END_REPS] {
                let mut wrong = HostOffload {
                    runs: 0,
                    spoil: Some((run, 700)),
                };
                let (_, check) = end_to_end_timing(&mut wrong, kernel, scalar, &host)
                    .unwrap()
                    .unwrap();
                let e = check.expect_err("a wrong output passed");
                let name = ["a", "b", "c"];
                match kernel.writes() {
                    Some(i) => assert!(e.starts_with(&format!("{}[700] = ", name[i])), "{e}"),
                    None => assert!(e.starts_with("dot "), "{e}"),
                }
                let (valid, row_check) =
                    with_end_to_end_check(true, "kernel fine".into(), Some(&Err(e.clone())));
                assert!(!valid);
                assert_eq!(row_check, format!("kernel fine; end to end: {e}"));
            }
        }
        // A row that failed already keeps its first reason; one without end-to-end runs is as it was.
        let failed = Some(&Err("wrong".to_string()));
        assert_eq!(
            with_end_to_end_check(false, "c[0] off".into(), failed),
            (false, "c[0] off".to_string())
        );
        assert_eq!(
            with_end_to_end_check(true, "exact".into(), None),
            (true, "exact".to_string())
        );
    }

    /// An output of the wrong length or kind is wrong, whatever its values.
    #[test]
    fn end_to_end_outputs_of_the_wrong_shape_are_wrong() {
        let s = SCALAR as f32;
        let a = vec![INIT_A as f32; 5];
        let check = |output: &Output<f32>, kernel| check_output(output, kernel, s, 5, 0.0, 1e-6);
        assert_eq!(
            check(&Output::Array(a.clone()), StreamKernel::Copy),
            Ok("exact".to_string())
        );
        let short = check(&Output::Array(a[..4].to_vec()), StreamKernel::Copy);
        assert_eq!(short, Err("4 elements came back, not 5".to_string()));
        assert!(check(&Output::Dot(0.5), StreamKernel::Copy).is_err());
        assert!(check(&Output::Array(a), StreamKernel::Dot).is_err());
        let nan = check(&Output::Array(vec![f32::NAN; 5]), StreamKernel::Copy);
        assert!(nan.is_err_and(|e| e.contains("5 of 5 elements off")));
    }
}
