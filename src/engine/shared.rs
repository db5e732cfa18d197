//! The state the calling thread and the workers share: the barrier, the published job, and one
//! panic slot per worker.
//!
//! # Memory ordering
//!
//! The job slot and the panic slots are plain (`UnsafeCell`) memory; the barrier orders them. The
//! caller writes the job only between phases, before crossing the start barrier, and every
//! participant reads it only after crossing it. Worker `i` writes panic slot `i` only between the
//! start and end barriers, and the caller reads and clears the slots only after the end barrier.
//! The barrier's crossings are happens-before edges (see `barrier`), so no access races.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crossbeam_utils::CachePadded;

use super::Worker;
use super::barrier::Barrier;

/// A phase's work, with the borrow it came from erased: see [`Shared::publish`].
type Job = dyn Fn(Worker) + Sync;

pub(super) struct Shared {
    pub(super) barrier: Barrier,
    /// `None` tells the workers to exit.
    job: UnsafeCell<Option<*const Job>>,
    /// Padded: a worker's slot must not share a line with another's or with the job.
    panics: Box<[CachePadded<UnsafeCell<Option<String>>>]>,
}

// SAFETY: the job and panic slots are only accessed under the barrier discipline described at the
// top of this module, which rules out data races; the job pointer refers to an `Fn + Sync`, which
// any thread may call through a shared reference.
unsafe impl Sync for Shared {}
// SAFETY: as for `Sync`; nothing in `Shared` is tied to the thread that created it.
unsafe impl Send for Shared {}

impl Shared {
    pub(super) fn new(threads: usize) -> Self {
        Shared {
            barrier: Barrier::new(threads),
            job: UnsafeCell::new(None),
            panics: (0..threads)
                .map(|_| CachePadded::new(UnsafeCell::new(None)))
                .collect(),
        }
    }

    /// Publishes the next phase's job, or `None` for shutting down.
    ///
    /// # Safety
    ///
    /// Only the calling thread, and only between phases (before it crosses the start barrier).
    /// `job` must stay alive until the caller has crossed the end barrier of the phase that
    /// runs it: the workers call it through a pointer with its lifetime erased.
    pub(super) unsafe fn publish(&self, job: Option<&(dyn Fn(Worker) + Sync + '_)>) {
        // SAFETY: only the lifetime changes (same fat-pointer layout); the caller keeps the job
        // alive for as long as anyone can call it.
        let job = job.map(|job| unsafe {
            std::mem::transmute::<*const (dyn Fn(Worker) + Sync + '_), *const Job>(job)
        });
        // SAFETY: between phases no worker reads the slot (the caller's promise).
        let slot = unsafe { &mut *self.job.get() };
        // Phases run from one call site usually publish the same closure address: rewriting it
        // would pull the line out of every worker's cache each phase (measured: back-to-back
        // empty phases on 2 threads take ~0.55 µs instead of ~0.95 µs). The closure itself is
        // new, but the barrier publishes its contents, not this pointer.
        let unchanged = match (*slot, job) {
            (Some(old), Some(new)) => std::ptr::eq(old, new),
            (old, new) => old.is_none() && new.is_none(),
        };
        if !unchanged {
            *slot = job;
        }
    }

    /// Runs the published job as `worker`; returns false when the engine is shutting down.
    ///
    /// # Safety
    ///
    /// Only worker `worker.index`'s thread, between the start and the end barrier.
    pub(super) unsafe fn execute_published(&self, worker: Worker) -> bool {
        // SAFETY: the start barrier ordered the caller's `publish` before this read, and the job
        // stays alive until the end barrier, which this thread has not crossed yet.
        let Some(job) = (unsafe { *self.job.get() }) else {
            return false;
        };
        // SAFETY: as above for the job's lifetime; the slot conditions are the caller's.
        unsafe { self.execute(&*job, worker) };
        true
    }

    /// Runs `job` as `worker`, keeping a panic's message in the worker's slot instead of
    /// unwinding: a participant that unwound would never reach the end barrier.
    ///
    /// # Safety
    ///
    /// Only worker `worker.index`'s thread, between the start and the end barrier.
    pub(super) unsafe fn execute(&self, job: &(dyn Fn(Worker) + Sync + '_), worker: Worker) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| job(worker))) {
            let message = panic_message(payload);
            // SAFETY: slot `worker.index` is written only by this thread during the phase, and
            // read by the caller only after the end barrier.
            unsafe { *self.panics[worker.index].get() = Some(message) };
        }
    }

    /// Clears every panic slot and returns the lowest-indexed panic of the phase just ended.
    ///
    /// # Safety
    ///
    /// Only the calling thread, after the end barrier.
    pub(super) unsafe fn take_panic(&self) -> Option<(usize, String)> {
        let mut first = None;
        for (worker, slot) in self.panics.iter().enumerate() {
            // SAFETY: after the end barrier no worker writes its slot until the next phase starts.
            let slot = unsafe { &mut *slot.get() };
            // Checked before taking, so that a phase without panics leaves the lines unwritten.
            if slot.is_some() {
                first = first.or(slot.take().map(|message| (worker, message)));
            }
        }
        first
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => {
            let message = match payload.downcast_ref::<&str>() {
                Some(message) => (*message).to_owned(),
                None => "panic payload is neither a string nor a &str".to_owned(),
            };
            // A payload whose destructor panics would unwind past the end barrier and hang
            // everyone else: leak the second payload instead.
            if let Err(second) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
                std::mem::forget(second);
            }
            message
        }
    }
}
