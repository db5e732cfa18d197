//! Monte Carlo pricing of European and Asian options under geometric Brownian motion: `f32` path
//! arithmetic, `f64` accumulation, bit-reproducible for any split of the work.
//!
//! # Path → random numbers (fixed; independent of how paths are split into blocks or threads)
//!
//! * key = `(seed mod 2^32, seed div 2^32)`.
//! * Path `p = 4m + l` (`l` in `0..4`), step `j` in `0..steps` (increment `j` takes the path from
//!   `t_j` to `t_{j+1}`, `t_i = i·T/N`, `N = steps`).
//! * `(w0, w1, w2, w3)` = Philox4x32-10(counter `(m mod 2^32, m div 2^32, j, 0)`, key).
//! * `(z_{4m}, z_{4m+1}) = box_muller(uniform(w0), uniform(w1))`,
//!   `(z_{4m+2}, z_{4m+3}) = box_muller(uniform(w2), uniform(w3))` ([`crate::normal`]): one
//!   Philox call feeds 4 paths for one step. [`normal_at`] is the scalar reference.
//!
//! # Path arithmetic (all `f32`, in this order, no FMA)
//!
//! * `Δ = T/N`; `drift = ((r − σ²/2)·Δ)` and `vol = σ·√Δ` are computed in `f64` and rounded to
//!   `f32`, as are `S0`, `K` and `1/N`.
//! * `y_0 = 0`, `y_{j+1} = y_j + (drift + vol·z_j)`; `S_{t_i} = S0·exp(y_i)` ([`crate::math::exp`]).
//! * European: `X = S0·exp(y_N)`. Arithmetic Asian: `A = S0·((Σ_{i=1..N} exp(y_i))·(1/N))`, the
//!   sum taken in order from `i = 1`. Geometric Asian: `G = S0·exp((Σ_{i=1..N} y_i)·(1/N))`, the
//!   sum likewise in order. (Multiplying by the rounded `1/N` rather than dividing keeps the
//!   operation correctly rounded on GPUs, where WGSL division is not.)
//! * Payoff: call `max(X − K, 0)`, put `max(K − X, 0)`, in `f32`.
//!
//! # Blocks and sums
//!
//! A run of `paths` paths is cut into blocks of [`block_paths`]`(paths)` paths (a multiple of 64
//! that depends on `paths` only); block `b` covers paths `[b·B, min((b+1)·B, paths))`.
//! [`simulate_block`] returns the block's undiscounted payoff sums: path `p` of the block,
//! `k = p − b·B`, adds its payoff (widened exactly to `f64`) to partial sum `k mod 64` and its
//! square (exact in `f64`) to partial square sum `k mod 64`, in increasing `p`; the block's `sum`
//! is `((0 + partial_0) + partial_1) + … + partial_63` in `f64`, `sum_sq` likewise. Callers add
//! the blocks' [`McSums`] in block order ([`McSums::merge`]): that is the determinism contract,
//! a bit-identical price for every thread count and SIMD width.

use crate::lanes::{F32s, Lanes};
use crate::math::exp_lanes;
use crate::normal::{box_muller, box_muller_lanes, uniform};
use crate::philox::{philox4x32_10, philox4x32_10_lanes};
use multiversion::multiversion;

/// The option payoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payoff {
    /// `(S_T − K)^+`.
    EuropeanCall,
    /// `(K − S_T)^+`.
    EuropeanPut,
    /// `(A − K)^+`, `A` the arithmetic mean of `S_{t_1}, …, S_{t_N}`.
    AsianArithmeticCall,
    /// `(K − A)^+`.
    AsianArithmeticPut,
    /// `(G − K)^+`, `G` the geometric mean of `S_{t_1}, …, S_{t_N}`.
    AsianGeometricCall,
    /// `(K − G)^+`.
    AsianGeometricPut,
}

impl Payoff {
    fn is_put(self) -> bool {
        matches!(
            self,
            Self::EuropeanPut | Self::AsianArithmeticPut | Self::AsianGeometricPut
        )
    }
}

/// One pricing problem. `rate` and `sigma` are annualised decimals, `maturity` in years, `steps`
/// the number of monitoring dates `N` (equally spaced, `t_N = T`), `seed` selects the Philox key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct McParams {
    pub payoff: Payoff,
    pub s0: f64,
    pub strike: f64,
    pub rate: f64,
    pub sigma: f64,
    pub maturity: f64,
    pub steps: u32,
    pub seed: u64,
}

impl McParams {
    /// `exp(−r·T)`.
    pub fn discount(&self) -> f64 {
        (-self.rate * self.maturity).exp()
    }
}

/// Undiscounted payoff sums over some set of paths.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct McSums {
    /// `Σ payoff`.
    pub sum: f64,
    /// `Σ payoff²`.
    pub sum_sq: f64,
    /// Number of paths.
    pub count: u64,
}

impl McSums {
    /// Adds `other` into `self`. Not associative in floating point: merge blocks in block order.
    pub fn merge(&mut self, other: &McSums) {
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.count += other.count;
    }

    /// `(price, std_error)`: the mean payoff and `sqrt(sample variance / count)`, both times
    /// `discount`. The sample variance uses `count − 1`; with fewer than two paths the standard
    /// error is NaN (and with none the price too).
    pub fn estimate(&self, discount: f64) -> (f64, f64) {
        let n = self.count as f64;
        let mean = self.sum / n;
        // Rounding can push a (near-)zero variance slightly negative.
        let var = ((self.sum_sq - self.sum * mean) / (n - 1.0)).max(0.0);
        let std_error = if self.count < 2 {
            f64::NAN
        } else {
            (var / n).sqrt()
        };
        (mean * discount, std_error * discount)
    }
}

/// The smallest block, in paths.
pub const BLOCK_PATHS: u64 = 4096;
/// Blocks are doubled in size until a run has at most this many.
const MAX_BLOCKS: u64 = 65536;

/// Paths per block for a run of `paths` paths: [`BLOCK_PATHS`] times the smallest power of two
/// that keeps [`block_count`] at or below 65536.
pub fn block_paths(paths: u64) -> u64 {
    let mut b = BLOCK_PATHS;
    while paths.div_ceil(b) > MAX_BLOCKS {
        b *= 2;
    }
    b
}

/// Number of blocks of a run of `paths` paths.
pub fn block_count(paths: u64) -> usize {
    paths.div_ceil(block_paths(paths)) as usize
}

/// Philox counters per group: the SIMD loop handles `4·LANES` paths at a time. Fixed (not chosen
/// per SIMD width) because it sets the partial sums, hence the result bits.
const LANES: usize = 16;
/// Paths fed by the cosines (or by the sines) of one group's Box–Muller pairs.
const HALF: usize = 2 * LANES;
/// Paths per group, and the number of partial sums.
const GROUP: usize = 2 * HALF;

/// The undiscounted payoff sums of block `block` of a run of `paths` paths (module docs).
///
/// # Panics
/// If `block ≥ block_count(paths)` or `p.steps == 0`.
pub fn simulate_block(p: &McParams, paths: u64, block: usize) -> McSums {
    assert!(
        block < block_count(paths),
        "block {block} out of range for {paths} paths"
    );
    let b = block_paths(paths);
    let start = block as u64 * b;
    let end = paths.min(start + b);
    simulate_paths(&PathConsts::new(p), start, end)
}

/// The `f32` constants of the path arithmetic.
struct PathConsts {
    key: [u32; 2],
    steps: u32,
    drift: f32,
    vol: f32,
    s0: f32,
    strike: f32,
    inv_steps: f32,
    put: bool,
    average: Average,
}

#[derive(Clone, Copy)]
enum Average {
    /// European: only `y_N` matters.
    None,
    Arithmetic,
    Geometric,
}

impl PathConsts {
    fn new(p: &McParams) -> Self {
        assert!(p.steps > 0, "steps must be positive");
        let dt = p.maturity / f64::from(p.steps);
        Self {
            key: [p.seed as u32, (p.seed >> 32) as u32],
            steps: p.steps,
            drift: ((p.rate - 0.5 * p.sigma * p.sigma) * dt) as f32,
            vol: (p.sigma * dt.sqrt()) as f32,
            s0: p.s0 as f32,
            strike: p.strike as f32,
            inv_steps: (1.0 / f64::from(p.steps)) as f32,
            put: p.payoff.is_put(),
            average: match p.payoff {
                Payoff::EuropeanCall | Payoff::EuropeanPut => Average::None,
                Payoff::AsianArithmeticCall | Payoff::AsianArithmeticPut => Average::Arithmetic,
                Payoff::AsianGeometricCall | Payoff::AsianGeometricPut => Average::Geometric,
            },
        }
    }
}

/// The state of `HALF` paths.
#[derive(Clone, Copy)]
struct Paths {
    /// Log-price `y_j`.
    y: F32s<HALF>,
    /// Running sum of the observations (`exp(y_i)` or `y_i`; unused for European).
    acc: F32s<HALF>,
}

impl Paths {
    /// Advances by one step with normals `z`, then observes the new log-price.
    #[inline(always)]
    fn step(&mut self, c: &PathConsts, average: Average, z: F32s<HALF>) {
        // `drift + vol·z`, the operands of both operations swapped (IEEE + and × commute).
        self.y = self.y + (z * c.vol + c.drift);
        self.acc = match average {
            Average::None => self.acc,
            Average::Arithmetic => self.acc + exp_lanes(self.y),
            Average::Geometric => self.acc + self.y,
        };
    }

    /// The payoffs.
    #[inline(always)]
    fn payoff(&self, c: &PathConsts, average: Average) -> F32s<HALF> {
        let x = match average {
            Average::None => exp_lanes(self.y) * c.s0,
            Average::Arithmetic => (self.acc * c.inv_steps) * c.s0,
            Average::Geometric => exp_lanes(self.acc * c.inv_steps) * c.s0,
        };
        let d = if c.put {
            Lanes::splat(c.strike) - x
        } else {
            x - c.strike
        };
        d.gt(0.0).select(d, Lanes::splat(0.0))
    }
}

/// Lane `i` of half `h` (0: paths fed by cosines, 1: by sines) of a group holds the path at
/// offset `4·(i mod LANES) + 2·(i div LANES) + h` from the group's first path (see [`normals`]).
#[inline(always)]
fn path_offset(h: usize, i: usize) -> usize {
    4 * (i % LANES) + 2 * (i / LANES) + h
}

/// The normals of one step for the `GROUP` paths from `4·m0`: `(cosines, sines)`, lane `i`
/// of each from Box–Muller pair `i`, which is `(w0, w1)` of counter `m0 + i` for `i < LANES`
/// (paths `4m`, `4m + 1`) and `(w2, w3)` of counter `m0 + i − LANES` otherwise (paths `4m + 2`,
/// `4m + 3`).
#[inline(always)]
fn normals(key: [u32; 2], m0: u64, step: u32) -> (F32s<HALF>, F32s<HALF>) {
    let m: [u64; LANES] = core::array::from_fn(|i| m0 + i as u64);
    let ctr = [
        m.map(|m| m as u32),
        m.map(|m| (m >> 32) as u32),
        [step; LANES],
        [0; LANES],
    ];
    let [w0, w1, w2, w3] = philox4x32_10_lanes(&ctr, key);
    let uniforms = |a: [u32; LANES], b: [u32; LANES]| {
        Lanes(core::array::from_fn(|i| {
            uniform(if i < LANES { a[i] } else { b[i - LANES] })
        }))
    };
    box_muller_lanes(uniforms(w0, w2), uniforms(w1, w3))
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq"))]
fn simulate_paths(c: &PathConsts, start: u64, end: u64) -> McSums {
    // A constant `average` in each arm: once inlined, three loops specialised to their payoff
    // kind, so European paths pay for no observation work.
    match c.average {
        Average::None => simulate(c, start, end, Average::None),
        Average::Arithmetic => simulate(c, start, end, Average::Arithmetic),
        Average::Geometric => simulate(c, start, end, Average::Geometric),
    }
}

#[inline(always)]
fn simulate(c: &PathConsts, start: u64, end: u64, average: Average) -> McSums {
    debug_assert!(start.is_multiple_of(GROUP as u64));
    let mut sums = [[0.0f64; HALF]; 2];
    let mut squares = [[0.0f64; HALF]; 2];
    let mut group = start;
    while group < end {
        let zero = Paths {
            y: Lanes::splat(0.0),
            acc: Lanes::splat(0.0),
        };
        let mut paths = [zero; 2];
        for step in 0..c.steps {
            let (cos, sin) = normals(c.key, group / 4, step);
            paths[0].step(c, average, cos);
            paths[1].step(c, average, sin);
        }
        let live = end - group;
        for h in 0..2 {
            let mut pay = paths[h].payoff(c, average).0;
            if live < GROUP as u64 {
                for (i, p) in pay.iter_mut().enumerate() {
                    if path_offset(h, i) as u64 >= live {
                        *p = 0.0;
                    }
                }
            }
            for i in 0..HALF {
                let x = f64::from(pay[i]);
                sums[h][i] += x;
                squares[h][i] += x * x;
            }
        }
        group += GROUP as u64;
    }
    // Partial sums are stored by lane; fold them in path-offset order.
    let fold = |v: &[[f64; HALF]; 2]| {
        (0..GROUP).fold(0.0, |s, o| s + v[o % 2][(o / 2) % 2 * LANES + o / 4])
    };
    McSums {
        sum: fold(&sums),
        sum_sq: fold(&squares),
        count: end - start,
    }
}

/// The normal draw `z` that path `path` uses at step `step` (module docs): the scalar reference
/// of the vectorized kernel.
pub fn normal_at(seed: u64, path: u64, step: u32) -> f32 {
    let m = path / 4;
    let key = [seed as u32, (seed >> 32) as u32];
    let w = philox4x32_10([m as u32, (m >> 32) as u32, step, 0], key);
    let l = (path % 4) as usize;
    let pair = 2 * (l / 2);
    let (c, s) = box_muller(uniform(w[pair]), uniform(w[pair + 1]));
    if l.is_multiple_of(2) { c } else { s }
}

/// Standard normal CDF.
fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2)
}

/// The exact price (in `f64`) where one exists: Black–Scholes for European payoffs (whatever
/// `steps`), the discrete geometric-average closed form for geometric Asians; `None` for
/// arithmetic Asians.
///
/// Geometric: `ln G ~ N(μ, v)` with `μ = ln S0 + (r − σ²/2)·T·(N+1)/(2N)`,
/// `v = σ²·T·(N+1)(2N+1)/(6N²)`, `E[G] = exp(μ + v/2)`, `d1 = (μ − ln K + v)/√v`,
/// `d2 = d1 − √v`; call `e^{−rT}·(E[G]·Φ(d1) − K·Φ(d2))`, put
/// `e^{−rT}·(K·Φ(−d2) − E[G]·Φ(−d1))`. With `N = 1` it is Black–Scholes (`E[G] = S0·e^{rT}`),
/// which is how European payoffs are priced.
pub fn closed_form(p: &McParams) -> Option<f64> {
    let n = match p.payoff {
        Payoff::EuropeanCall | Payoff::EuropeanPut => 1.0,
        Payoff::AsianGeometricCall | Payoff::AsianGeometricPut => f64::from(p.steps),
        Payoff::AsianArithmeticCall | Payoff::AsianArithmeticPut => return None,
    };
    let (s, k, r, sigma, t) = (p.s0, p.strike, p.rate, p.sigma, p.maturity);
    let mu = s.ln() + (r - 0.5 * sigma * sigma) * t * (n + 1.0) / (2.0 * n);
    let v = sigma * sigma * t * (n + 1.0) * (2.0 * n + 1.0) / (6.0 * n * n);
    let sd = v.sqrt();
    let forward = (mu + 0.5 * v).exp();
    let d1 = (mu - k.ln() + v) / sd;
    let d2 = d1 - sd;
    let undiscounted = if p.payoff.is_put() {
        k * norm_cdf(-d2) - forward * norm_cdf(-d1)
    } else {
        forward * norm_cdf(d1) - k * norm_cdf(d2)
    };
    Some(p.discount() * undiscounted)
}
