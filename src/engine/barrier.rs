//! A centralized sense-reversing barrier whose waiters spin, then yield, then sleep on a futex.
//!
//! # Protocol
//!
//! `count` holds the arrivals still missing in the current phase and `sense` the phase's parity
//! (0 or 1). Each participant keeps its own copy of the sense and flips it on arrival, so the
//! sense it now holds is the one that will open this phase. An arriver decrements `count`; the
//! last one (it read 1) resets `count` for the next phase and then publishes its sense, which
//! opens the barrier. The others wait until `sense` equals their own: the barrier is reusable
//! at once, since no one can reach the next phase before the sense has flipped, and it cannot
//! flip again before everyone has arrived once more (so there is no ABA between the two values).
//!
//! A waiter spins with exponential backoff, then yields, then sleeps on the futex behind `sense`
//! (budgets in `sync`). Sleepers announce themselves in `sleepers`, so the releaser only makes
//! the wake-up system call when someone may be asleep: back-to-back phases never enter the
//! kernel.
//!
//! # Memory ordering
//!
//! * Arrivals decrement `count` with AcqRel: each arriver's release heads a release sequence that
//!   the later decrements continue, so the last arriver's acquire sees every participant's
//!   writes from before the barrier. It then stores `sense` with Release, and every waiter loads
//!   it with Acquire; by transitivity, everything any participant wrote before arriving is
//!   visible to every participant after the barrier opens.
//! * The reset of `count` is Relaxed because it is sequenced before that Release store: whoever
//!   sees the new sense (and only they can arrive again) sees the reset count.
//! * No wake-up is lost. A would-be sleeper increments `sleepers`, issues a SeqCst fence, then
//!   re-reads `sense`; the releaser stores `sense`, issues a SeqCst fence, then reads `sleepers`.
//!   The two fences are totally ordered: if the releaser's comes first, the sleeper's re-read
//!   sees the new sense and it does not sleep; otherwise the releaser sees `sleepers > 0` and
//!   wakes. A sleeper that re-read the old sense sleeps only if the futex still holds it, and the
//!   kernel checks that and queues the sleeper atomically with respect to the wake-up.
//!   (Fences rather than SeqCst accesses, because loom models SeqCst fences but treats SeqCst
//!   accesses as AcqRel.) Decrementing `sleepers` is Relaxed: a stale non-zero count only costs a
//!   spare wake-up call.
//!
//! This file only depends on `super::sync` and `CachePadded`, so `tests/loom_barrier.rs` can
//! include it as is and check it under loom.

use crossbeam_utils::CachePadded;

use super::sync::{
    AtomicU32, AtomicUsize, Ordering, SPIN_STEPS, YIELD_STEPS, fence, spin_loop, wait, wake_all,
    yield_now,
};

/// The largest backoff step spins `2^SPIN_SHIFT_LIMIT` times, as crossbeam's `Backoff` does, so
/// a waiter re-checks the sense at least every ~64 `pause`s.
const SPIN_SHIFT_LIMIT: u32 = 6;

/// A reusable barrier for a fixed number of participants. Each participant owns a `u32` local
/// sense, starting at 0, that it passes to every crossing.
#[derive(Debug)]
pub(crate) struct Barrier {
    // Each on its own cache line: arrivals write `count`, waiters spin on `sense`, and
    // `sleepers` is read by every releaser but written only by sleepers, so it stays shared.
    count: CachePadded<AtomicUsize>,
    sense: CachePadded<AtomicU32>,
    sleepers: CachePadded<AtomicUsize>,
    participants: usize,
}

impl Barrier {
    /// # Panics
    ///
    /// If `participants` is 0: such a barrier could never open.
    pub(crate) fn new(participants: usize) -> Self {
        assert!(participants > 0, "a barrier needs at least one participant");
        Barrier {
            count: CachePadded::new(AtomicUsize::new(participants)),
            sense: CachePadded::new(AtomicU32::new(0)),
            sleepers: CachePadded::new(AtomicUsize::new(0)),
            participants,
        }
    }

    /// Arrives and waits until every participant has arrived. Returns true for exactly one
    /// participant per crossing: the last to arrive, which opened the barrier.
    pub(crate) fn wait(&self, local_sense: &mut u32) -> bool {
        if self.arrive(local_sense) {
            return true;
        }
        self.wait_until_open(*local_sense);
        false
    }

    /// Arrives without waiting, and returns whether this arrival opened the barrier. For a
    /// participant that leaves, or for arriving on behalf of one that never started.
    pub(crate) fn arrive(&self, local_sense: &mut u32) -> bool {
        *local_sense ^= 1;
        // Memory ordering: AcqRel, see the module documentation.
        if self.count.fetch_sub(1, Ordering::AcqRel) != 1 {
            return false;
        }
        self.count.store(self.participants, Ordering::Relaxed);
        self.sense.store(*local_sense, Ordering::Release);
        // Memory ordering: pairs with the fence in `sleep_until_open`, so that either the sleeper
        // sees the new sense or this load sees the sleeper.
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            wake_all(&self.sense);
        }
        true
    }

    fn is_open(&self, sense: u32) -> bool {
        self.sense.load(Ordering::Acquire) == sense
    }

    #[allow(
        clippy::reversed_empty_ranges,
        reason = "the loom model sets both budgets to zero, to go straight to sleep"
    )]
    fn wait_until_open(&self, sense: u32) {
        for step in 0..SPIN_STEPS {
            if self.is_open(sense) {
                return;
            }
            for _ in 0..1u32 << step.min(SPIN_SHIFT_LIMIT) {
                spin_loop();
            }
        }
        for _ in 0..YIELD_STEPS {
            if self.is_open(sense) {
                return;
            }
            yield_now();
        }
        self.sleep_until_open(sense);
    }

    #[cold]
    fn sleep_until_open(&self, sense: u32) {
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        // Memory ordering: pairs with the releaser's fence in `arrive`.
        fence(Ordering::SeqCst);
        loop {
            let now = self.sense.load(Ordering::Acquire);
            if now == sense {
                break;
            }
            // Returns at once if the sense has flipped since `now` was read.
            wait(&self.sense, now);
        }
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
    }
}
