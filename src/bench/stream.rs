//! The stream benchmark on one backend and one element type, BabelStream's way.

use std::borrow::Cow;
use std::time::Instant;

use anyhow::Result;
use cpu_kernels::stream::dot_relative_error_bound;

use super::{Progress, Timing};
use crate::backend::{Backend, Stream};
use crate::kernels::{
    Element, Gold, INIT_A, INIT_B, INIT_C, SCALAR, StreamKernel, gold_replay, passes,
};
use crate::report::StreamRow;

#[derive(Clone, Debug)]
pub struct StreamConfig {
    pub n: usize,
    /// Repetitions including the dropped warm-up (at least 2).
    pub reps: usize,
    /// Kernels to run, in classic order, each once per repetition of its pass (see
    /// [`crate::kernels::passes`]).
    pub kernels: Vec<StreamKernel>,
}

impl StreamConfig {
    /// Checks, before anything is allocated, that every pass keeps `T`'s values in range.
    pub fn check<T: Element>(&self) -> Result<(), String> {
        passes(&self.kernels)
            .try_for_each(|pass| gold_replay::<T>(&pass, self.reps, self.n).map(drop))
    }
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
    // Allocated before the timed loop: nothing is allocated between two timestamps.
    let mut times = vec![vec![0.0; pass.len()]; cfg.reps];
    let mut dot = f64::NAN;
    let names: Vec<_> = pass.iter().map(|k| k.name()).collect();
    let mut progress = Progress::new(
        &format!("stream {} {} {}", kind.name(), T::NAME, names.join(",")),
        cfg.reps as u64,
    );
    for rep in &mut times {
        for (time, &kernel) in rep.iter_mut().zip(pass) {
            let start = Instant::now();
            let result = Stream::<T>::run(backend, kernel, scalar)?;
            *time = start.elapsed().as_secs_f64();
            if kernel == StreamKernel::Dot {
                dot = result;
            }
        }
        progress.step();
    }
    drop(progress);

    let arrays = check_arrays(&Stream::<T>::read_arrays(backend)?, &gold);
    Stream::<T>::release_arrays(backend);
    let dot_check = gold_dot.map(|g| check_dot::<T>(dot, g, cfg.n));

    Ok(pass
        .iter()
        .enumerate()
        .map(|(k, &kernel)| {
            // The first repetition is the warm-up.
            let timing =
                Timing::from_times(&mut times[1..].iter().map(|rep| rep[k]).collect::<Vec<_>>());
            let (valid, check) = match (&arrays, kernel, &dot_check) {
                (Err(e), ..) => (false, e.clone()),
                (Ok(()), StreamKernel::Dot, Some(Err(e))) => (false, e.clone()),
                (Ok(()), StreamKernel::Dot, Some(Ok(ok))) => (true, ok.clone()),
                (Ok(()), ..) => (true, "exact".to_string()),
            };
            StreamRow::new(
                kernel,
                kind,
                T::NAME,
                threads,
                cfg.n,
                kernel.bytes(cfg.n, size_of::<T>()),
                timing,
                cfg.reps - 1,
                valid,
                check,
            )
        })
        .collect())
}

/// Element-wise kernels must reproduce the gold replay exactly: every element undergoes the same
/// IEEE-754 operations in the same order as the replay (separate multiply and add; Rust never
/// contracts to FMA), so any difference at all is a bug, not rounding.
fn check_arrays<T: Element>(arrays: &[Cow<'_, [T]>; 3], gold: &Gold<T>) -> Result<(), String> {
    for (name, array, expected) in [
        ("a", &arrays[0], gold.a),
        ("b", &arrays[1], gold.b),
        ("c", &arrays[2], gold.c),
    ] {
        // `!=` also catches NaN.
        if let Some(first) = array.iter().position(|&x| x != expected) {
            let wrong = array.iter().filter(|&&x| x != expected).count();
            return Err(format!(
                "{name}[{first}] = {}, expected {expected} exactly ({wrong} of {} elements differ)",
                array[first],
                array.len()
            ));
        }
    }
    Ok(())
}

/// The dot product may differ from n·a·b by the summation error only; its bound comes from the
/// kernel's blocking (see `cpu_kernels::stream::dot_relative_error_bound`).
fn check_dot<T: Element>(dot: f64, gold: f64, n: usize) -> Result<String, String> {
    let tolerance = dot_relative_error_bound::<T>(n);
    let error = ((dot - gold) / gold).abs();
    let text = format!("dot {dot:.9e} vs {gold:.9e}: rel err {error:.1e} (bound {tolerance:.1e})");
    if error <= tolerance {
        Ok(text)
    } else {
        Err(text)
    }
}
