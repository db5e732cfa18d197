//! The HexPylot engine: a fixed crew of pinned threads that run phases in lockstep.
//!
//! An [`Engine`] of `n` threads is the calling thread (worker 0) plus `n - 1` persistent workers,
//! each pinned to its core. A phase ([`Engine::run`]) publishes a borrowed closure, crosses a
//! barrier, runs the caller's own share, and crosses the barrier again; every worker calls the
//! closure exactly once in between. Nothing in a phase locks, allocates or copies, and between
//! phases the workers spin briefly, then sleep (see `barrier`), so an idle engine costs no CPU.
//!
//! Work is split statically ([`partition()`]): worker `i` always gets the same cache-line-aligned
//! range of an array, so [`Engine::alloc_filled`] has each worker first-touch the pages it will
//! process later, and no two workers write the same cache line.

mod affinity;
mod array;
mod barrier;
mod chunks;
mod partition;
mod shared;
mod sync;
mod worker;

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::Arc;
use std::thread::JoinHandle;

use core_affinity::CoreId;

pub use array::SharedArray;
pub use chunks::Chunks;
pub use partition::partition;
pub use worker::Worker;

use affinity::SavedAffinity;
use chunks::Split;
use shared::Shared;

/// Why the engine could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no CPU cores to run on")]
    NoCores,
    #[error("could not spawn engine worker {index}: {source}")]
    Spawn {
        index: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("engine worker {worker} panicked: {message}")]
    WorkerPanicked { worker: usize, message: String },
    #[error("could not map {bytes} bytes: {source}")]
    Alloc {
        bytes: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("chunked arrays differ in length ({0} vs {1})")]
    LengthMismatch(usize, usize),
    #[error("output slots: expected {expected}, got {got}")]
    Slots { expected: usize, got: usize },
}

/// A crew of pinned threads, the calling thread among them, that runs phases.
///
/// Not `Send`: the calling thread is worker 0, pinned to the first core until the engine is
/// dropped, when its own affinity mask is restored — on that same thread.
pub struct Engine {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
    /// The calling thread's sense for the barrier (see `barrier`).
    sense: u32,
    caller_affinity: Option<SavedAffinity>,
    _pinned_to_caller: PhantomData<*const ()>,
}

impl Engine {
    /// An engine of `threads` threads on the cores the calling thread may run on, in order, reusing
    /// them round-robin when `threads` exceeds them.
    ///
    /// # Errors
    ///
    /// [`EngineError::NoCores`] if `threads` is 0 or the cores cannot be listed, otherwise as
    /// [`Engine::with_cores`].
    pub fn new(threads: usize) -> Result<Self, EngineError> {
        let available = core_affinity::get_core_ids().unwrap_or_default();
        let cores: Vec<CoreId> = available.iter().copied().cycle().take(threads).collect();
        Self::with_cores(&cores)
    }

    /// An engine with one thread per entry of `cores`, the calling thread being the first. A
    /// core may repeat: oversubscription works, only slowly.
    ///
    /// # Errors
    ///
    /// [`EngineError::NoCores`] if `cores` is empty; [`EngineError::Spawn`] if a worker thread
    /// cannot be started (those already started are shut down and joined first).
    pub fn with_cores(cores: &[CoreId]) -> Result<Self, EngineError> {
        let (&first, others) = cores.split_first().ok_or(EngineError::NoCores)?;
        let threads = cores.len();
        let mut engine = Engine {
            shared: Arc::new(Shared::new(threads)),
            workers: Vec::with_capacity(threads - 1),
            threads,
            sense: 0,
            caller_affinity: SavedAffinity::of_current_thread(),
            _pinned_to_caller: PhantomData,
        };
        for (index, &core) in (1..).zip(others) {
            let worker = Worker {
                index,
                count: threads,
            };
            // On error, dropping `engine` shuts down the workers started so far, arriving at the
            // barrier for the ones that never were.
            let handle = worker::spawn(Arc::clone(&engine.shared), worker, core)
                .map_err(|source| EngineError::Spawn { index, source })?;
            engine.workers.push(handle);
        }
        // Pinned only now: threads inherit their creator's mask, and workers must not all start
        // out on the first core. A refusal leaves the caller unpinned: slower, still correct.
        core_affinity::set_for_current(first);
        Ok(engine)
    }

    /// The number of threads, the calling one included.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs one phase: every worker calls `f` exactly once, the calling thread as worker 0, and
    /// `run` returns when all calls have.
    ///
    /// # Errors
    ///
    /// [`EngineError::WorkerPanicked`] (the lowest-indexed one) if any call panicked. The other
    /// calls still ran to completion, and the engine is ready for the next phase.
    pub fn run<F: Fn(Worker) + Sync>(&mut self, f: F) -> Result<(), EngineError> {
        let job: &(dyn Fn(Worker) + Sync) = &f;
        let me = Worker {
            index: 0,
            count: self.threads,
        };
        // SAFETY: between phases, on the calling thread (`&mut self`, `!Send`). `f` outlives the
        // phase: nothing between here and the end barrier can unwind (`execute` catches panics),
        // so this function cannot return before everyone is done with it.
        unsafe { self.shared.publish(Some(job)) };
        self.shared.barrier.wait(&mut self.sense);
        // SAFETY: worker 0 is this thread, between the barriers.
        unsafe { self.shared.execute(job, me) };
        self.shared.barrier.wait(&mut self.sense);
        // SAFETY: on the calling thread, after the end barrier.
        match unsafe { self.shared.take_panic() } {
            Some((worker, message)) => Err(EngineError::WorkerPanicked { worker, message }),
            None => Ok(()),
        }
    }

    /// Runs one phase over `parts`: worker `w` gets `w.range(len, align)` (`align` = elements per
    /// cache line of the first part) and the parts' chunks over that range. `f` is called for every
    /// worker, with an empty range when there are fewer cache lines than workers.
    ///
    /// # Errors
    ///
    /// [`EngineError::LengthMismatch`] if the parts differ in length (nothing runs), otherwise as
    /// [`Engine::run`].
    pub fn for_each_chunk<P, F>(&mut self, parts: P, f: F) -> Result<(), EngineError>
    where
        P: Chunks,
        F: Fn(Worker, Range<usize>, P::Chunk) + Sync,
    {
        let split = Split::new(parts)?;
        self.run(|worker| {
            let range = worker.range(split.len(), split.line_elements());
            // SAFETY: `partition` gives the workers disjoint ranges within `0..len`, and each
            // worker makes its chunk once, in the only phase that `split` serves.
            let chunk = unsafe { split.chunk(range.clone()) };
            f(worker, range, chunk);
        })
    }

    /// Like [`Engine::for_each_chunk`], and worker `i`'s result goes to `out[i]`. A panicking
    /// worker leaves its slot as it was.
    ///
    /// # Errors
    ///
    /// [`EngineError::Slots`] unless `out.len() == self.threads()`, otherwise as
    /// [`Engine::for_each_chunk`].
    pub fn map_chunks<P, R, F>(&mut self, parts: P, out: &mut [R], f: F) -> Result<(), EngineError>
    where
        P: Chunks,
        R: Send,
        F: Fn(Worker, Range<usize>, P::Chunk) -> R + Sync,
    {
        if out.len() != self.threads {
            return Err(EngineError::Slots {
                expected: self.threads,
                got: out.len(),
            });
        }
        let slots = Split::new(out)?;
        self.for_each_chunk(parts, |worker, range, chunk| {
            let result = f(worker, range, chunk);
            // SAFETY: `worker.index < threads == out.len()`, and each worker takes its own slot,
            // once.
            let slot = unsafe { slots.chunk(worker.index..worker.index + 1) };
            slot[0] = result;
        })
    }

    /// An array of `n` copies of `value`, each worker writing (and so first-touching) exactly the
    /// part that [`Engine::for_each_chunk`] will give it over this array.
    ///
    /// # Errors
    ///
    /// [`EngineError::Alloc`] as [`SharedArray::zeroed`], or [`EngineError::WorkerPanicked`].
    pub fn alloc_filled<T>(&mut self, n: usize, value: T) -> Result<SharedArray<T>, EngineError>
    where
        T: bytemuck::Zeroable + Copy + Send + Sync,
    {
        let mut array = SharedArray::zeroed(n)?;
        self.for_each_chunk(&mut array[..], |_, _, chunk: &mut [T]| chunk.fill(value))?;
        Ok(array)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: between phases, on the calling thread (`!Send`).
        unsafe { self.shared.publish(None) };
        // Workers that were never started (spawn failure) cannot arrive, so arrive for them;
        // everyone sits at the same crossing, so they share the caller's sense.
        for _ in self.workers.len() + 1..self.threads {
            self.shared.barrier.arrive(&mut self.sense.clone());
        }
        // Arrive without waiting: joining is the wait.
        self.shared.barrier.arrive(&mut self.sense);
        for handle in self.workers.drain(..) {
            // A worker cannot panic (jobs' panics are caught), so there is nothing to report.
            let _ = handle.join();
        }
        if let Some(affinity) = &self.caller_affinity {
            affinity.restore();
        }
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}
