//! Single-thread throughput of the kernels (release build): `cargo bench -p cpu-kernels`.
//! An optional argument filters by name ("stream", "mc", "roofline", "dot").

use cpu_kernels::mc::{self, McParams, McSums, Payoff};
use cpu_kernels::roofline::{roofline, roofline_flops};
use cpu_kernels::stream::{self, Stores};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Best time of `reps` runs of `f`, after one warm-up run.
fn best(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("reps > 0")
}

fn bench_stream() {
    for (n, inner) in [(1usize << 25, 1usize), (1 << 14, 2000)] {
        let mut a = vec![1.0f32; n];
        let b = vec![2.0f32; n];
        let c = vec![0.5f32; n];
        let reps = if n > 1 << 20 { 10 } else { 20 };
        for stores in [Stores::Cached, Stores::Streaming] {
            let t = best(reps, || {
                for _ in 0..inner {
                    stream::triad(black_box(&mut a), &b, &c, 0.4, stores);
                }
            });
            let triad = (3 * 4 * n * inner) as f64 / t.as_secs_f64() / 1e9;
            let t = best(reps, || {
                for _ in 0..inner {
                    stream::copy(black_box(&mut a), &b, stores);
                }
            });
            let copy = (2 * 4 * n * inner) as f64 / t.as_secs_f64() / 1e9;
            println!(
                "stream f32 n=2^{:<2} {stores:<9?}: triad {triad:7.2} GB/s, copy {copy:7.2} GB/s",
                n.ilog2()
            );
        }
    }
}

fn bench_dot() {
    for n in [1usize << 25, 1 << 14] {
        let a = vec![1.0f32; n];
        let b = vec![2.0f32; n];
        let inner = (1 << 25) / n;
        let t = best(5, || {
            for _ in 0..inner {
                black_box(stream::dot(black_box(&a), &b));
            }
        });
        println!(
            "dot f32 n=2^{:<2}: {:7.2} GB/s",
            n.ilog2(),
            (2 * 4 * n * inner) as f64 / t.as_secs_f64() / 1e9
        );
    }
}

fn run_mc(params: &McParams, paths: u64) -> McSums {
    let mut total = McSums::default();
    for block in 0..mc::block_count(paths) {
        total.merge(&mc::simulate_block(params, paths, block));
    }
    total
}

fn bench_mc(wanted: &dyn Fn(&str) -> bool) {
    let base = McParams {
        payoff: Payoff::EuropeanCall,
        s0: 100.0,
        strike: 100.0,
        rate: 0.05,
        sigma: 0.2,
        maturity: 1.0,
        steps: 1,
        seed: 42,
    };
    let cases = [
        ("mc/european", McParams { ..base }, 1u64 << 24),
        (
            "mc/asian-arithmetic",
            McParams {
                payoff: Payoff::AsianArithmeticCall,
                steps: 52,
                ..base
            },
            1 << 20,
        ),
        (
            "mc/asian-geometric",
            McParams {
                payoff: Payoff::AsianGeometricCall,
                steps: 52,
                ..base
            },
            1 << 20,
        ),
    ];
    for (name, p, paths) in cases {
        if !wanted(name) {
            continue;
        }
        let mut sums = McSums::default();
        let t = best(10, || sums = run_mc(black_box(&p), paths));
        let (price, se) = sums.estimate(p.discount());
        println!(
            "mc {:?} steps {:>3}, 2^{} paths: {:8.2} M paths/s ({:8.2} M path-steps/s), price {price:.5} ± {se:.5}",
            p.payoff,
            p.steps,
            paths.ilog2(),
            paths as f64 / t.as_secs_f64() / 1e6,
            paths as f64 * f64::from(p.steps) / t.as_secs_f64() / 1e6,
        );
    }
}

fn bench_roofline() {
    let n = 1 << 14;
    for fmas in [1u32, 64, 1024] {
        let mut x = vec![1.0f32; n];
        let t = best(5, || roofline(black_box(&mut x), fmas, 0.999, 0.001));
        println!(
            "roofline f32 n=2^14 k={fmas:<5}: {:8.2} GFLOP/s",
            roofline_flops(n, fmas) / t.as_secs_f64() / 1e9
        );
        let mut x = vec![1.0f64; n];
        let t = best(5, || roofline(black_box(&mut x), fmas, 0.999, 0.001));
        println!(
            "roofline f64 n=2^14 k={fmas:<5}: {:8.2} GFLOP/s",
            roofline_flops(n, fmas) / t.as_secs_f64() / 1e9
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // A filter selects a group ("mc") or one case ("mc/european").
    let wanted = |name: &str| {
        filter.is_empty()
            || filter
                .iter()
                .any(|f| name.contains(f.as_str()) || f.contains(name))
    };
    if wanted("stream") {
        bench_stream();
    }
    if wanted("dot") {
        bench_dot();
    }
    if wanted("mc") {
        bench_mc(&wanted);
    }
    if wanted("roofline") {
        bench_roofline();
    }
}
