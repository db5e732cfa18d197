//! Saving and restoring the calling thread's CPU affinity, which the engine borrows: the caller
//! is worker 0 and is pinned to the first core for the engine's lifetime.

use std::mem::MaybeUninit;

/// A thread's CPU affinity mask, as `sched_getaffinity` reported it.
pub(super) struct SavedAffinity(libc::cpu_set_t);

impl SavedAffinity {
    /// The calling thread's mask, or `None` if the kernel would not say (the caller then stays
    /// pinned after the engine is gone, which costs only flexibility).
    pub(super) fn of_current_thread() -> Option<Self> {
        let mut set = MaybeUninit::<libc::cpu_set_t>::zeroed();
        // SAFETY: `set` is a writable `cpu_set_t` of the size passed; pid 0 is the calling thread.
        let status =
            unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), set.as_mut_ptr()) };
        // SAFETY: all-zero is a valid (empty) `cpu_set_t`, and on success the kernel filled it in.
        (status == 0).then(|| SavedAffinity(unsafe { set.assume_init() }))
    }

    /// Gives the calling thread this mask back. Best effort: if a core was taken away meanwhile
    /// (cpuset change), the thread keeps the mask it has.
    pub(super) fn restore(&self) {
        // SAFETY: `self.0` is a valid `cpu_set_t` of the size passed; pid 0 is the calling thread.
        unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &self.0) };
    }
}
