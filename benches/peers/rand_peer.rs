//! The idiomatic Rust peer: what a Rust user would write without HexPylot, with rayon, rand and
//! rand_distr.
//!
//! * Triad `a = b + 0.4·c` over `Vec<f32>` with rayon's `par_iter_mut().zip(..)`: 20 timed
//!   repetitions after a warm-up, GB/s counting 3 arrays (STREAM's counting), median and best.
//!   The vectors come from `vec![x; n]` as a user gets them (no huge-page advice, first touched
//!   by one thread); every element is checked exactly (Rust never contracts `b + s·c` into an
//!   FMA).
//! * European call Monte Carlo in f64 (S0 = K = 100, r = 0.05, σ = 0.2, T = 1): paths in chunks
//!   of 2^16, each chunk with its own `StdRng` seeded from (seed, chunk index), so the streams
//!   are distinct and the price does not depend on the thread count; normals from
//!   `rand_distr::StandardNormal`; chunk sums added in chunk order. Paths per second are the
//!   median of 5 runs after a warm-up; the price and its standard error are held to
//!   Black–Scholes (|z| ≤ 4).
//!
//! Prints one JSON line, `{"peer": "rust-rand", "threads", "n", "triad_gbs_median",
//! "triad_gbs_best", "mc_paths", "mc_paths_per_s", "mc_price", "mc_se", "mc_reference", "mc_z",
//! "valid"}`, and exits 1 if `valid` is false (a wrong triad element or |z| > 4), 2 on bad
//! arguments.
//!
//! Usage: `cargo run --release --example rand_peer -- [THREADS] [n_elems] [n_paths]`
//! (defaults: `RAYON_NUM_THREADS`, else every core; 2^25 elements; 2^24 paths).

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

const S0: f64 = 100.0;
const STRIKE: f64 = 100.0;
const RATE: f64 = 0.05;
const SIGMA: f64 = 0.2;
const MATURITY: f64 = 1.0;
const SEED: u64 = 7;
const CHUNK_PATHS: u64 = 1 << 16;
const TRIAD_REPS: usize = 20;
const MC_REPS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> Option<u64> {
        args.get(i).map(|s| {
            s.parse().unwrap_or_else(|_| {
                eprintln!("usage: rand_peer [THREADS] [n_elems] [n_paths]: not a number: {s}");
                std::process::exit(2)
            })
        })
    };
    let threads = arg(0)
        .or_else(|| std::env::var("RAYON_NUM_THREADS").ok()?.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64));
    let n = arg(1).unwrap_or(1 << 25);
    let paths = arg(2).unwrap_or(1 << 24);
    if threads == 0 || n == 0 || paths < 2 {
        eprintln!("usage: rand_peer [THREADS > 0] [n_elems > 0] [n_paths > 1]");
        std::process::exit(2);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads as usize)
        .build()
        .expect("rayon thread pool");
    let (triad, mc) = pool.install(|| (triad(n as usize), european_call(paths)));

    let reference = black_scholes_call();
    let z = (mc.price - reference) / mc.se;
    let valid = triad.valid && z.abs() <= 4.0;
    // serde_json sorts an object's keys; the line keeps "peer" first, as the other peers print it.
    let fields: [(&str, serde_json::Value); 12] = [
        ("peer", "rust-rand".into()),
        ("threads", threads.into()),
        ("n", n.into()),
        ("triad_gbs_median", triad.gbs_median.into()),
        ("triad_gbs_best", triad.gbs_best.into()),
        ("mc_paths", paths.into()),
        ("mc_paths_per_s", (paths as f64 / mc.median_s).into()),
        ("mc_price", mc.price.into()),
        ("mc_se", mc.se.into()),
        ("mc_reference", reference.into()),
        ("mc_z", z.into()),
        ("valid", valid.into()),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    let line = format!("{{{}}}", body.join(", "));
    println!("{line}");
    if !valid {
        eprintln!(
            "rand_peer: invalid result (triad valid: {}, z = {z})",
            triad.valid
        );
        std::process::exit(1);
    }
}

struct Triad {
    gbs_median: f64,
    gbs_best: f64,
    valid: bool,
}

fn triad(n: usize) -> Triad {
    let s = 0.4f32;
    let mut a = vec![0.0f32; n];
    let b = vec![0.2f32; n];
    let c = vec![0.1f32; n];
    let mut run = || {
        let start = Instant::now();
        a.par_iter_mut()
            .zip(b.par_iter())
            .zip(c.par_iter())
            .for_each(|((a, b), c)| *a = b + s * c);
        start.elapsed().as_secs_f64()
    };
    run(); // warm-up
    let mut times: Vec<f64> = (0..TRIAD_REPS).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    let expected = 0.2f32 + s * 0.1f32;
    let bytes = 3.0 * 4.0 * n as f64;
    Triad {
        gbs_median: bytes / times[TRIAD_REPS / 2] / 1e9,
        gbs_best: bytes / times[0] / 1e9,
        valid: a.par_iter().all(|&x| x == expected),
    }
}

struct Mc {
    price: f64,
    se: f64,
    median_s: f64,
}

/// Sum and sum of squares of the undiscounted payoffs of paths `lo..hi`, drawn from `rng`.
fn chunk(mut rng: StdRng, lo: u64, hi: u64) -> (f64, f64) {
    let drift = (RATE - 0.5 * SIGMA * SIGMA) * MATURITY;
    let vol = SIGMA * MATURITY.sqrt();
    let (mut sum, mut sum_sq) = (0.0, 0.0);
    for _ in lo..hi {
        let z: f64 = StandardNormal.sample(&mut rng);
        let payoff = (S0 * (drift + vol * z).exp() - STRIKE).max(0.0);
        sum += payoff;
        sum_sq += payoff * payoff;
    }
    (sum, sum_sq)
}

fn european_call(paths: u64) -> Mc {
    let chunks = paths.div_ceil(CHUNK_PATHS);
    let price = || {
        let sums: Vec<(f64, f64)> = (0..chunks)
            .into_par_iter()
            .map(|j| {
                // Distinct seeds for distinct (seed, chunk) pairs: chunk indices stay below 2^32.
                let rng = StdRng::seed_from_u64(SEED << 32 | j);
                chunk(rng, j * CHUNK_PATHS, ((j + 1) * CHUNK_PATHS).min(paths))
            })
            .collect();
        let (sum, sum_sq) = sums
            .iter()
            .fold((0.0, 0.0), |(s, q), &(a, b)| (s + a, q + b));
        let disc = (-RATE * MATURITY).exp();
        let mean = sum / paths as f64;
        let var = (sum_sq / paths as f64 - mean * mean).max(0.0);
        (disc * mean, disc * (var / paths as f64).sqrt())
    };
    let (p, se) = price(); // warm-up
    let mut times: Vec<f64> = (0..MC_REPS)
        .map(|_| {
            let start = Instant::now();
            let again = price();
            let t = start.elapsed().as_secs_f64();
            assert_eq!(again, (p, se), "the same seeds gave a different price");
            t
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Mc {
        price: p,
        se,
        median_s: times[MC_REPS / 2],
    }
}

fn black_scholes_call() -> f64 {
    let cdf = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
    let sd = SIGMA * MATURITY.sqrt();
    let d1 = ((S0 / STRIKE).ln() + (RATE + 0.5 * SIGMA * SIGMA) * MATURITY) / sd;
    S0 * cdf(d1) - STRIKE * (-RATE * MATURITY).exp() * cdf(d1 - sd)
}
