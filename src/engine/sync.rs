//! The synchronisation primitives the barrier is written against, so that the same source runs on
//! the real machine and under loom's model checker.
//!
//! Normal builds get std's atomics and a real futex (`atomic-wait`). Under `--cfg loom` the same
//! names come from `sync/loom_model.rs`, which models the futex and sets the spin and yield
//! budgets to zero so that every wait goes down the sleep path. `tests/loom_barrier.rs` includes
//! that model directly (with `#[path]`), so checking the barrier needs no `--cfg loom` rebuild of
//! the dependency tree; the cfg here is for a whole-crate loom build.

// `loom` is not a cfg rustc knows of; declaring it would need `[lints]` in Cargo.toml.

#[cfg(loom)]
mod loom_model;
#[cfg(loom)]
pub(crate) use loom_model::*;

#[cfg(not(loom))]
pub(crate) use real::*;

#[cfg(not(loom))]
mod real {
    pub(crate) use std::hint::spin_loop;
    pub(crate) use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};
    pub(crate) use std::thread::yield_now;

    /// Exponential spin steps before a waiter starts yielding. Step `k` spins `2^min(k, 6)` times
    /// (see `barrier`), so this is ~2,200 `pause`s: ~55 µs where a `pause` takes 25 ns (Zen 1
    /// under KVM, measured), ~100 µs on recent Intel (~40 ns). A barrier that the other side
    /// reaches within that is crossed without a system call.
    pub(crate) const SPIN_STEPS: u32 = 40;

    /// `sched_yield` calls after spinning, before a waiter sleeps on the futex. With nothing else
    /// runnable a yield takes ~0.3 µs (measured; up to ~1 µs on other kernels), so a waiter stays
    /// awake ~1.5–4 ms: gaps of hundreds of microseconds between phases (the caller timing or
    /// validating) never park a worker, while an idle engine is asleep within a few
    /// milliseconds. On a busy core each yield hands the core to a runnable thread: the wait
    /// lasts longer in wall time but costs next to no CPU, and it is what lets an oversubscribed
    /// engine (5 workers on 2 cores) make progress.
    pub(crate) const YIELD_STEPS: u32 = 4096;

    /// Sleeps while `atomic` holds `expected` (returns at once otherwise, and may return
    /// spuriously). The kernel checks the value and queues the sleeper under one lock that
    /// [`wake_all`] also takes, so a wake-up after the value changed is never lost.
    #[inline]
    pub(crate) fn wait(atomic: &AtomicU32, expected: u32) {
        atomic_wait::wait(atomic, expected);
    }

    /// Wakes every thread sleeping in [`wait`] on `atomic`.
    #[inline]
    pub(crate) fn wake_all(atomic: &AtomicU32) {
        atomic_wait::wake_all(atomic);
    }
}
