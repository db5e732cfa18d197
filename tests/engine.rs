//! The engine's contract: phases, chunking, first-touch allocation, panics, shutdown and idling.
//!
//! Engines of 3 and 5 threads oversubscribe a 2-core machine on purpose; no test asserts on
//! anything that a loaded machine could stretch, beyond generous upper bounds.

use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use hexpylot::engine::{Engine, EngineError, SharedArray, Worker};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const THREAD_COUNTS: [usize; 4] = [1, 2, 3, 5];

fn counters(n: usize) -> Vec<AtomicUsize> {
    (0..n).map(|_| AtomicUsize::new(0)).collect()
}

#[test]
fn every_worker_runs_once_per_phase() {
    let caller = thread::current().id();
    for threads in THREAD_COUNTS {
        let mut engine = Engine::new(threads).unwrap();
        assert_eq!(engine.threads(), threads);
        let calls = counters(threads);
        for _ in 0..100 {
            engine
                .run(|worker| {
                    assert_eq!(worker.count, threads);
                    let me = thread::current();
                    if worker.index == 0 {
                        assert_eq!(me.id(), caller, "worker 0 is the calling thread");
                    } else {
                        let name = format!("hexpylot-worker-{}", worker.index);
                        assert_eq!(me.name(), Some(name.as_str()));
                    }
                    calls[worker.index].fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
        }
        let calls: Vec<usize> = calls.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(calls, vec![100; threads], "{threads} threads");
    }
}

#[test]
fn no_cores_is_an_error() {
    assert!(matches!(Engine::new(0), Err(EngineError::NoCores)));
    assert!(matches!(Engine::with_cores(&[]), Err(EngineError::NoCores)));
}

/// Every element of ragged arrays is visited exactly once, by the worker whose range holds it,
/// and each chunk is the arrays' sub-slice over that range.
#[test]
fn chunks_cover_every_element_once() {
    for threads in THREAD_COUNTS {
        let engine = RefCell::new(Engine::new(threads).unwrap());
        let mut runner = TestRunner::new(Config::with_cases(48));
        runner
            .run(&(0usize..20_000), |n| {
                let mut engine = engine.borrow_mut();
                let input: Vec<u64> = (0..n as u64).collect();
                let mut visits = vec![0u8; n];
                let base = input.as_ptr() as usize;
                engine
                    .for_each_chunk(
                        (&input[..], &mut visits[..]),
                        |worker, range, (input, visits)| {
                            assert_eq!(range, worker.range(n, 8), "u64: 8 to a cache line");
                            assert_eq!(input.as_ptr() as usize, base + 8 * range.start);
                            assert_eq!((input.len(), visits.len()), (range.len(), range.len()));
                            for visit in visits {
                                *visit += 1;
                            }
                        },
                    )
                    .unwrap();
                prop_assert!(visits.iter().all(|&v| v == 1), "n = {n}, {threads} threads");

                let mut sums = vec![u64::MAX; threads];
                engine
                    .map_chunks(&input[..], &mut sums, |_, range, input| {
                        assert_eq!(
                            input.first().copied(),
                            (!range.is_empty()).then_some(range.start as u64)
                        );
                        input.iter().sum::<u64>()
                    })
                    .unwrap();
                prop_assert_eq!(sums.iter().sum::<u64>(), input.iter().sum::<u64>());
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn tuples_of_up_to_four_parts_split_together() {
    let mut engine = Engine::new(3).unwrap();
    let n = 10_001;
    let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let b = vec![2.0f32; n];
    let (mut c, mut d) = (vec![0.0f32; n], vec![0.0f32; n]);
    engine
        .for_each_chunk(
            (&a[..], &b[..], &mut c[..], &mut d[..]),
            |_, _, (a, b, c, d)| {
                for i in 0..a.len() {
                    c[i] = a[i] * b[i];
                    d[i] = a[i] + b[i];
                }
            },
        )
        .unwrap();
    assert!((0..n).all(|i| c[i] == 2.0 * i as f32 && d[i] == i as f32 + 2.0));

    engine
        .for_each_chunk((&mut c[..],), |_, _, (c,)| c.fill(1.0))
        .unwrap();
    assert!(c.iter().all(|&x| x == 1.0));
}

#[test]
fn mismatched_lengths_and_slots_are_errors() {
    let mut engine = Engine::new(2).unwrap();
    let (a, mut b) = (vec![0u32; 10], vec![0u32; 11]);
    let ran = AtomicUsize::new(0);
    let result = engine.for_each_chunk((&a[..], &mut b[..]), |_, _, _| {
        ran.fetch_add(1, Ordering::Relaxed);
    });
    assert!(
        matches!(result, Err(EngineError::LengthMismatch(10, 11))),
        "{result:?}"
    );
    assert_eq!(ran.load(Ordering::Relaxed), 0, "nothing runs");

    let mut out = [0u32; 3];
    let result = engine.map_chunks(&a[..], &mut out, |_, _, _| 1);
    assert!(
        matches!(
            result,
            Err(EngineError::Slots {
                expected: 2,
                got: 3
            })
        ),
        "{result:?}"
    );
}

#[test]
fn alloc_filled_writes_every_element_of_an_aligned_array() {
    let mut engine = Engine::new(3).unwrap();
    for n in [1, 7, 4097, 3 << 20] {
        let array = engine.alloc_filled(n, 1.5f64).unwrap();
        assert_eq!(array.len(), n);
        assert_eq!(array.as_ptr() as usize % (2 << 20), 0, "2 MiB aligned");
        assert!(array.iter().all(|&x| x == 1.5), "n = {n}");
    }
    let array = engine.alloc_filled(1_000_003, 7u8).unwrap();
    assert!(array.iter().all(|&x| x == 7));
}

#[test]
fn shared_arrays_start_zeroed_and_reject_impossible_sizes() {
    let mut array = SharedArray::<u32>::zeroed(5 << 20).unwrap();
    assert!(array.iter().all(|&x| x == 0));
    array[12345] = 9;
    assert_eq!(array.iter().sum::<u32>(), 9);
    assert!(matches!(
        SharedArray::<u64>::zeroed(0),
        Err(EngineError::Alloc { bytes: 0, .. })
    ));
    assert!(matches!(
        SharedArray::<u64>::zeroed(usize::MAX / 4),
        Err(EngineError::Alloc { .. })
    ));
    if std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| !mode.contains("[never]"))
    {
        assert!(array.huge_pages_advised());
    }
}

fn expect_panic(result: Result<(), EngineError>, worker: usize, message: &str) {
    match result {
        Err(EngineError::WorkerPanicked {
            worker: w,
            message: m,
        }) => {
            assert_eq!((w, m.as_str()), (worker, message));
        }
        other => panic!("expected worker {worker} to panic, got {other:?}"),
    }
}

#[test]
fn a_panicking_worker_is_reported_and_the_engine_goes_on() {
    let mut engine = Engine::new(3).unwrap();
    let calls = counters(3);
    let count_phase = |engine: &mut Engine| {
        engine
            .run(|worker| {
                calls[worker.index].fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    };

    expect_panic(
        engine.run(|w| assert!(w.index != 0, "caller {}", w.index)),
        0,
        "caller 0",
    );
    count_phase(&mut engine);
    expect_panic(
        engine.run(|w| {
            if w.index == 2 {
                panic!("a &str payload")
            }
        }),
        2,
        "a &str payload",
    );
    count_phase(&mut engine);
    // Several panics: the lowest index is reported, and none lingers into the next phase.
    expect_panic(
        engine.run(|w| {
            if w.index > 0 {
                panic!("worker {}", w.index)
            }
        }),
        1,
        "worker 1",
    );
    count_phase(&mut engine);
    let result = engine.run(|w| {
        if w.index == 1 {
            std::panic::panic_any(42u32);
        }
    });
    expect_panic(result, 1, "panic payload is neither a string nor a &str");
    count_phase(&mut engine);

    let calls: Vec<usize> = calls.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert_eq!(calls, [4, 4, 4]);
}

/// The calling thread is pinned for the engine's lifetime and gets its own mask back after.
#[test]
fn the_callers_affinity_is_restored_on_drop() {
    fn allowed_cpus() -> usize {
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: a writable cpu_set_t of the size passed, for the calling thread.
        let status = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
        assert_eq!(status, 0);
        // SAFETY: `set` was filled in by the kernel.
        unsafe { libc::CPU_COUNT(&set) as usize }
    }
    let before = allowed_cpus();
    let engine = Engine::new(2).unwrap();
    assert_eq!(allowed_cpus(), 1);
    drop(engine);
    assert_eq!(allowed_cpus(), before);
}

#[test]
fn dropping_an_engine_joins_promptly() {
    // Right after creation, right after a phase (workers spinning), and once parked.
    for pause in [None, Some(Duration::ZERO), Some(Duration::from_millis(100))] {
        let mut engine = Engine::new(3).unwrap();
        if let Some(pause) = pause {
            engine.run(|_| ()).unwrap();
            thread::sleep(pause);
        }
        let start = Instant::now();
        drop(engine);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{pause:?}: {:?}",
            start.elapsed()
        );
    }
}

/// The CPU time a thread has used, through the CPU-time clock that `clock` names.
fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is writable, and `clock` names a thread of this process that is still alive
    // (the engine holding it has not been dropped).
    assert_eq!(unsafe { libc::clock_gettime(clock, &mut now) }, 0);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// An idle engine's workers sleep instead of spinning. (While they are still yielding they burn
/// little CPU either, so a loaded machine that delays parking does not fail this.)
#[test]
fn an_idle_engine_parks_its_workers() {
    let mut engine = Engine::new(2).unwrap();
    let clock = AtomicI64::new(-1);
    engine
        .run(|worker: Worker| {
            if worker.index == 1 {
                let mut id: libc::clockid_t = 0;
                // SAFETY: the calling thread's own handle, and a writable clock id.
                let status = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
                assert_eq!(status, 0);
                clock.store(id.into(), Ordering::Relaxed);
            }
        })
        .unwrap();
    let clock = clock.load(Ordering::Relaxed) as libc::clockid_t;
    thread::sleep(Duration::from_millis(50));
    let parked = cpu_time(clock);
    thread::sleep(Duration::from_millis(200));
    let used = cpu_time(clock) - parked;
    assert!(
        used < Duration::from_millis(20),
        "an idle worker used {used:?} of CPU in 200 ms"
    );
    drop(engine);
}
