//! The workers: what each one is told about itself, and the loop a persistent worker runs.

use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use core_affinity::CoreId;

use super::partition::partition;
use super::shared::Shared;

/// Which participant of a phase is running: `index` in `0..count`, 0 being the calling thread.
#[derive(Clone, Copy, Debug)]
pub struct Worker {
    pub index: usize,
    pub count: usize,
}

impl Worker {
    /// This worker's share of `0..n`, with inner boundaries on multiples of `align` elements:
    /// [`partition`]`(n, count, index, align)`. The chunked phases use `align` = elements per cache
    /// line of the (first) array.
    pub fn range(&self, n: usize, align: usize) -> Range<usize> {
        partition(n, self.count, self.index, align)
    }
}

/// Starts persistent worker `worker.index` on `core`. It takes part in every phase until the
/// caller publishes the shutdown job.
pub(super) fn spawn(
    shared: Arc<Shared>,
    worker: Worker,
    core: CoreId,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("hexpylot-worker-{}", worker.index))
        .spawn(move || {
            // Pinned before anything else, so that every page it first-touches is local to its
            // core. A refusal (the core left our cpuset meanwhile) only costs locality, so the
            // worker runs unpinned rather than failing the engine.
            core_affinity::set_for_current(core);
            let mut sense = 0;
            loop {
                shared.barrier.wait(&mut sense);
                // SAFETY: this is worker `worker.index`'s thread, past the start barrier and
                // before the end barrier.
                if !unsafe { shared.execute_published(worker) } {
                    return;
                }
                shared.barrier.wait(&mut sense);
            }
        })
}
