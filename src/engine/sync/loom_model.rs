//! loom's model of the primitives in `engine::sync`, futex included.
//!
//! The futex is modelled by one mutex and condition variable for all atomics: [`wait`] checks the
//! value and goes to sleep under the mutex, and [`wake_all`] notifies under it, which is the
//! guarantee a real futex gives (check-and-sleep is atomic with respect to wake). One condvar for
//! every atomic only adds spurious wake-ups, which futex callers must tolerate anyway. If a wake-up
//! can be lost, every thread ends up blocked and loom reports the deadlock.
//!
//! Spin and yield budgets are zero, so every waiter that does not find the barrier already open
//! goes to sleep, and loom explores the sleep path in every execution.

pub(crate) use loom::hint::spin_loop;
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};
pub(crate) use loom::thread::yield_now;

use loom::sync::{Condvar, Mutex};

pub(crate) const SPIN_STEPS: u32 = 0;
pub(crate) const YIELD_STEPS: u32 = 0;

loom::lazy_static! {
    static ref FUTEX: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());
}

/// Sleeps while `atomic` holds `expected`.
pub(crate) fn wait(atomic: &AtomicU32, expected: u32) {
    let (lock, sleepers) = &*FUTEX;
    let guard = lock.lock().unwrap();
    // Memory ordering: Relaxed, as the kernel's own read is; what makes a store before a
    // `wake_all` visible here is the mutex, as the futex hash-bucket lock does in the kernel.
    if atomic.load(Ordering::Relaxed) == expected {
        drop(sleepers.wait(guard).unwrap());
    }
}

/// Wakes every thread sleeping in [`wait`].
pub(crate) fn wake_all(_atomic: &AtomicU32) {
    let (lock, sleepers) = &*FUTEX;
    let _guard = lock.lock().unwrap();
    sleepers.notify_all();
}
