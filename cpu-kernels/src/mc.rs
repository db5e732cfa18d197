//! Monte Carlo pricing of European, digital (cash-or-nothing) and Asian options under geometric
//! Brownian motion: `f32` path arithmetic, `f64` accumulation, bit-reproducible for any split of
//! the work.
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
//! * European and digital: `X = S0·exp(y_N)`. Arithmetic Asian:
//!   `A = S0·((Σ_{i=1..N} exp(y_i))·(1/N))`, the sum taken in order from `i = 1`. Geometric
//!   Asian: `G = S0·exp((Σ_{i=1..N} y_i)·(1/N))`, the sum likewise in order. (Multiplying by the rounded `1/N` rather than dividing keeps the
//!   operation correctly rounded on GPUs, where WGSL division is not.)
//! * Payoff, in `f32`: call `X − K` where `X > K`, put `K − X` where `X < K`, 0 elsewhere; the
//!   digital call and put pay `1` where the call resp. the put pays anything. The comparison is
//!   of `X` with `K` itself, not of the sign of `X − K` (the same on CPUs, but a GPU may flush a
//!   subnormal difference to zero, which would flip a digital).
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
    /// `1` if `S_T > K`, else `0`.
    DigitalCall,
    /// `1` if `S_T < K`, else `0`.
    DigitalPut,
    /// `(A − K)^+`, `A` the arithmetic mean of `S_{t_1}, …, S_{t_N}`.
    AsianArithmeticCall,
    /// `(K − A)^+`.
    AsianArithmeticPut,
    /// `(G − K)^+`, `G` the geometric mean of `S_{t_1}, …, S_{t_N}`.
    AsianGeometricCall,
    /// `(K − G)^+`.
    AsianGeometricPut,
}

/// What a payoff observes of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Average {
    /// Nothing but the price at maturity: only `y_N` matters.
    None,
    /// The arithmetic mean `A` of the prices at the dates.
    Arithmetic,
    /// The geometric mean `G` of the prices at the dates.
    Geometric,
}

impl Payoff {
    /// Every payoff.
    pub const ALL: [Payoff; 8] = [
        Payoff::EuropeanCall,
        Payoff::EuropeanPut,
        Payoff::DigitalCall,
        Payoff::DigitalPut,
        Payoff::AsianArithmeticCall,
        Payoff::AsianArithmeticPut,
        Payoff::AsianGeometricCall,
        Payoff::AsianGeometricPut,
    ];

    /// `(average, put, digital)`: the one description of each payoff, which the methods below
    /// read.
    const fn shape(self) -> (Average, bool, bool) {
        match self {
            Self::EuropeanCall => (Average::None, false, false),
            Self::EuropeanPut => (Average::None, true, false),
            Self::DigitalCall => (Average::None, false, true),
            Self::DigitalPut => (Average::None, true, true),
            Self::AsianArithmeticCall => (Average::Arithmetic, false, false),
            Self::AsianArithmeticPut => (Average::Arithmetic, true, false),
            Self::AsianGeometricCall => (Average::Geometric, false, false),
            Self::AsianGeometricPut => (Average::Geometric, true, false),
        }
    }

    /// The observed value `X` the payoff compares with the strike.
    pub const fn average(self) -> Average {
        self.shape().0
    }

    /// Pays when `X < K` (else when `X > K`).
    pub const fn is_put(self) -> bool {
        self.shape().1
    }

    /// Pays `1` rather than `|X − K|`.
    pub const fn is_digital(self) -> bool {
        self.shape().2
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

    /// `pieces` merged in order: the sums of the range they cover.
    pub fn merged(pieces: &[McSums]) -> McSums {
        let mut total = McSums::default();
        for p in pieces {
            total.merge(p);
        }
        total
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

/// The paths (counters) of `blocks` of a run of `paths` paths: what a shard of the run
/// simulates. Blocks start at multiples of [`BLOCK_PATHS`], so every shard starts on a whole
/// Philox counter (four paths).
pub fn block_span(paths: u64, blocks: &core::ops::Range<usize>) -> core::ops::Range<u64> {
    let b = block_paths(paths);
    let at = |block: usize| (block as u64).saturating_mul(b).min(paths);
    at(blocks.start)..at(blocks.end)
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
    let mut run = BlockRun::new(paths, block);
    run.advance(p, u64::MAX);
    run.finish()
}

/// One block simulated in pieces: the block's partial sums carried from one piece to the next,
/// so that [`BlockRun::finish`] gives the very bits [`simulate_block`] gives however the block
/// was cut (each path still adds into partial `k mod 64` in increasing order). Lets a caller
/// report progress, or stop, within a block of a huge run.
#[derive(Clone)]
pub struct BlockRun {
    start: u64,
    next: u64,
    end: u64,
    acc: Partials,
    /// The group at `next` part-way through its steps (see [`BlockRun::advance_work`]).
    mid: Option<Mid>,
}

/// A group of `GROUP` paths after `step` of its steps.
#[derive(Clone, Copy)]
struct Mid {
    step: u32,
    paths: [Paths; 2],
}

impl BlockRun {
    /// Block `block` of a run of `paths` paths, nothing simulated yet.
    ///
    /// # Panics
    /// If `block ≥ block_count(paths)`.
    pub fn new(paths: u64, block: usize) -> Self {
        assert!(
            block < block_count(paths),
            "block {block} out of range for {paths} paths"
        );
        let b = block_paths(paths);
        let start = block as u64 * b;
        BlockRun {
            start,
            next: start,
            end: paths.min(start.saturating_add(b)),
            acc: Partials::default(),
            mid: None,
        }
    }

    /// Path-steps simulated so far (a group part-way through its steps counts the steps done),
    /// in `f64`: a block of 2^47 paths of 2^31 steps holds more than 2^64.
    pub fn work_done(&self, steps: u32) -> f64 {
        let mid = self.mid.map_or(0.0, |m| {
            f64::from(m.step) * (self.end - self.next).min(GROUP as u64) as f64
        });
        (self.next - self.start) as f64 * f64::from(steps) + mid
    }

    /// Simulates about `budget` path-steps more: whole groups of 64 paths where a group's
    /// `64·steps` fit the budget, else some steps of the current group (at least one), its
    /// state carried to the next call, so that runs with billions of steps advance in pieces
    /// too. Same operations in the same order: the bits of [`simulate_block`].
    ///
    /// # Panics
    /// If `p.steps == 0`.
    pub fn advance_work(&mut self, p: &McParams, budget: u64) {
        let steps = u64::from(p.steps);
        if self.next == self.end {
            return;
        }
        if self.mid.is_none() && budget >= GROUP as u64 * steps {
            self.advance(p, budget / steps);
            return;
        }
        let c = PathConsts::new(p);
        let zero = Paths {
            y: Lanes::splat(0.0),
            acc: Lanes::splat(0.0),
        };
        let mut mid = self.mid.take().unwrap_or(Mid {
            step: 0,
            paths: [zero; 2],
        });
        let n = (budget / GROUP as u64).clamp(1, u64::from(p.steps - mid.step)) as u32;
        for step in mid.step..mid.step + n {
            let (cos, sin) = normals(c.key, self.next / 4, step);
            mid.paths[0].step(&c, c.average, cos);
            mid.paths[1].step(&c, c.average, sin);
        }
        mid.step += n;
        if mid.step < p.steps {
            self.mid = Some(mid);
            return;
        }
        let (mut sums, mut squares) = (self.acc.sums, self.acc.squares);
        add_group(
            &c,
            c.average,
            &mid.paths,
            self.end - self.next,
            &mut sums,
            &mut squares,
        );
        self.acc = Partials { sums, squares };
        self.next = (self.next + GROUP as u64).min(self.end);
    }

    /// Paths of the block simulated so far.
    pub fn simulated(&self) -> u64 {
        self.next - self.start
    }

    /// Paths of the block not simulated yet.
    pub fn remaining(&self) -> u64 {
        self.end - self.next
    }

    /// Simulates the next `max` paths of the block (rounded up to whole groups of 64, and at
    /// most the rest of the block); returns how many it simulated.
    ///
    /// # Panics
    /// If `p.steps == 0`.
    pub fn advance(&mut self, p: &McParams, max: u64) -> u64 {
        assert!(self.mid.is_none(), "a group is part-way through its steps");
        let to = self
            .next
            .saturating_add(
                max.max(1)
                    .div_ceil(GROUP as u64)
                    .saturating_mul(GROUP as u64),
            )
            .min(self.end);
        if to == self.next {
            return 0;
        }
        simulate_paths(&PathConsts::new(p), self.next, to, self.end, &mut self.acc);
        let done = to - self.next;
        self.next = to;
        done
    }

    /// The block's sums.
    ///
    /// # Panics
    /// If paths of the block remain to be simulated.
    pub fn finish(&self) -> McSums {
        assert!(
            self.next == self.end && self.mid.is_none(),
            "block finished before all its paths ran"
        );
        // Partial sums are stored by lane; fold them in path-offset order.
        let fold = |v: &[[f64; HALF]; 2]| {
            (0..GROUP).fold(0.0, |s, o| s + v[o % 2][(o / 2) % 2 * LANES + o / 4])
        };
        McSums {
            sum: fold(&self.acc.sums),
            sum_sq: fold(&self.acc.squares),
            count: self.end - self.start,
        }
    }
}

/// A block's 64 partial sums and sums of squares, by lane.
#[derive(Clone, Copy, Debug, Default)]
struct Partials {
    sums: [[f64; HALF]; 2],
    squares: [[f64; HALF]; 2],
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
    digital: bool,
    average: Average,
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
            digital: p.payoff.is_digital(),
            average: p.payoff.average(),
        }
    }
}

/// The state of `HALF` paths.
#[derive(Clone, Copy)]
struct Paths {
    /// Log-price `y_j`.
    y: F32s<HALF>,
    /// Running sum of the observations (`exp(y_i)` or `y_i`; unused for `Average::None`).
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
        let (pays, value) = if c.put {
            (x.lt(c.strike), Lanes::splat(c.strike) - x)
        } else {
            (x.gt(c.strike), x - c.strike)
        };
        let value = if c.digital { Lanes::splat(1.0) } else { value };
        pays.select(value, Lanes::splat(0.0))
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
fn simulate_paths(c: &PathConsts, start: u64, to: u64, end: u64, acc: &mut Partials) {
    // A constant `average` in each arm: once inlined, three loops specialised to their payoff
    // kind, so European and digital paths pay for no observation work.
    match c.average {
        Average::None => simulate(c, start, to, end, acc, Average::None),
        Average::Arithmetic => simulate(c, start, to, end, acc, Average::Arithmetic),
        Average::Geometric => simulate(c, start, to, end, acc, Average::Geometric),
    }
}

/// Adds the payoffs of the groups from `start` up to `to` into `acc`; paths from `end` on (the
/// block's end, inside the last group) count as zero.
#[inline(always)]
fn simulate(c: &PathConsts, start: u64, to: u64, end: u64, acc: &mut Partials, average: Average) {
    debug_assert!(start.is_multiple_of(GROUP as u64));
    // Locals for the loop (kept in registers or on the stack), stored back at the end.
    let (mut sums, mut squares) = (acc.sums, acc.squares);
    let mut group = start;
    while group < to {
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
        add_group(c, average, &paths, end - group, &mut sums, &mut squares);
        group += GROUP as u64;
    }
    *acc = Partials { sums, squares };
}

/// Adds a finished group's payoffs (paths from offset `live` on count as zero) to the partials.
#[inline(always)]
fn add_group(
    c: &PathConsts,
    average: Average,
    paths: &[Paths; 2],
    live: u64,
    sums: &mut [[f64; HALF]; 2],
    squares: &mut [[f64; HALF]; 2],
) {
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

/// Standard normal CDF, `Φ(x) = erfc(−x/√2)/2`: accurate in both tails (no `1 − Φ`).
fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2)
}

/// Standard normal density `φ(x)`.
fn norm_pdf(x: f64) -> f64 {
    const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

/// The lognormal law of the observed value `X` (`S_T`, or the geometric mean `G`): `ln X ~
/// N(ln F − v/2, v)` with forward `F = E[X]`; `None` for arithmetic Asians.
struct Lognormal {
    /// `ln F`, computed without the `σ²` terms cancelling (they do analytically).
    ln_forward: f64,
    /// `√v`.
    sd: f64,
}

impl Lognormal {
    /// Geometric over `N` dates: `μ = ln S0 + (r − σ²/2)·T·(N+1)/(2N)`, `v = σ²·T·(N+1)(2N+1)/
    /// (6N²)`, `ln F = μ + v/2 = ln S0 + r·T·(N+1)/(2N) − σ²·T·(N²−1)/(12N²)`: the last form,
    /// because at large σ the σ² terms of `μ` and `v/2` are huge and cancel, taking `ln S0`
    /// with them (σ = 1e10 used to price a call at 0.95 instead of S0). With `N = 1` it is
    /// Black–Scholes (`ln F = ln S0 + r·T`), which is how payoffs of `S_T` (European, digital)
    /// are priced whatever `steps`.
    fn of(p: &McParams) -> Option<Self> {
        let n = match p.payoff.average() {
            Average::None => 1.0,
            Average::Geometric => f64::from(p.steps),
            Average::Arithmetic => return None,
        };
        let (s, r, sigma, t) = (p.s0, p.rate, p.sigma, p.maturity);
        let var_t = sigma * sigma * t;
        let ln_forward = s.ln() + r * t * (n + 1.0) / (2.0 * n)
            - var_t * ((n - 1.0) * (n + 1.0)) / (12.0 * n * n);
        let v = var_t * (n + 1.0) * (2.0 * n + 1.0) / (6.0 * n * n);
        Some(Lognormal {
            ln_forward,
            sd: v.sqrt(),
        })
    }

    /// `(d1, d2) = (m/√v + √v/2, m/√v − √v/2)`, `m = ln(F/K)`: no `d1 − √v` cancellation.
    fn d(&self, strike: f64) -> (f64, f64) {
        let m = self.ln_forward - strike.ln();
        let base = m / self.sd;
        (base + 0.5 * self.sd, base - 0.5 * self.sd)
    }
}

/// The exact price (in `f64`) where one exists: Black–Scholes for European and digital payoffs
/// (whatever `steps`), the discrete geometric-average closed form for geometric Asians; `None`
/// for arithmetic Asians.
///
/// With `F` and `√v` as in the (private) `Lognormal::of`, `d1,2 = ln(F/K)/√v ± √v/2`; call
/// `e^{−rT}·(F·Φ(d1) − K·Φ(d2))`, put `e^{−rT}·(K·Φ(−d2) − F·Φ(−d1))`, `Φ` through `erfc` so
/// that each tail keeps its digits. Deep in the money (both `Φ` ≈ 1) the price is `F − K`
/// discounted, as it must be; far out of the money both terms are tiny and their difference
/// loses about `log10(|d1|/√v)` digits, a handful where `Φ` is still above `f64`'s range.
/// Stays accurate for σ → 0 (`d → ±∞`: the intrinsic value of the forward) and huge σ (`d1 →
/// +∞`, `d2 → −∞`: the call is worth `S0`-ish, the put `K·e^{−rT}`).
///
/// A digital pays 1 exactly where its vanilla twin pays anything: `e^{−rT}·Φ(d2)` for the call,
/// `e^{−rT}·Φ(−d2)` for the put, the [`exercise_probability`] discounted.
pub fn closed_form(p: &McParams) -> Option<f64> {
    if p.payoff.is_digital() {
        return exercise_probability(p).map(|q| p.discount() * q);
    }
    let law = Lognormal::of(p)?;
    let k = p.strike;
    let (d1, d2) = law.d(k);
    let forward = law.ln_forward.exp();
    let undiscounted = if p.payoff.is_put() {
        k * norm_cdf(-d2) - forward * norm_cdf(-d1)
    } else {
        forward * norm_cdf(d1) - k * norm_cdf(d2)
    };
    // Rounding can leave a tiny negative difference far out of the money.
    Some(p.discount() * undiscounted.max(0.0))
}

/// Where a closed form exists: the probability that a path pays anything, `Φ(d2)` for calls,
/// `Φ(−d2)` for puts. A run whose every payoff is zero is plausible only when this is small
/// next to `1/paths`.
pub fn exercise_probability(p: &McParams) -> Option<f64> {
    let law = Lognormal::of(p)?;
    let (_, d2) = law.d(p.strike);
    Some(if p.payoff.is_put() {
        norm_cdf(-d2)
    } else {
        norm_cdf(d2)
    })
}

/// The largest `|z|` a draw can take: Box–Muller's `r = sqrt(−2 ln u1)` with `u1 ≥ 2^-24`
/// ([`crate::normal`]) is at most `sqrt(48 ln 2) = 5.7681`; 5.77 leaves room for the `f32`
/// rounding of `ln`, `sqrt` and the product with cos/sin.
pub const Z_MAX: f64 = 5.77;

/// How far, in standard deviations `σ√T`, the random part of a log-price path is assumed to
/// wander: for a Brownian motion `P(max_{t≤T} |W_t| ≥ a√T) ≤ 4·(1 − Φ(a))` (reflection), and a
/// walk's partial sums seen at the dates are points of such a path; at `a = 12` that is
/// `7·10^-33` per path, under `10^-13` for 2^64 paths. (The hard bound `Z_MAX·√N` of every draw
/// at its extreme is used when smaller: always for a handful of dates.)
pub const PATH_SD_MAX: f64 = 12.0;

/// Margin, in natural-log units, kept from the ends of `f32`'s normal range for the rounding of
/// `y` and of `exp`.
const LN_MARGIN: f64 = 0.25;

/// What [`check_path_range`] found: the bounds that the rounding analysis of the path
/// arithmetic ([`rounding_bound`]) starts from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathRange {
    /// The extreme log-price `E`: every `|y_i| ≤ E` (module docs), with
    /// `E = |r − σ²/2|·T + σ·√T·min(Z_MAX·√N, PATH_SD_MAX)`.
    pub extreme: f64,
    /// The largest step `|drift| + vol·Z_MAX`.
    pub step: f64,
}

/// The one rule for which parameters the `f32` path arithmetic can take (the CLI checks it before
/// any backend starts; every backend's `check_mc` checks it too): `S0` and `K` in `f32`'s
/// normal range; `drift = (r − σ²/2)·T/N` and `vol = σ·√(T/N)` finite in `f32` and either zero
/// (drift only) or normal; every `S = S0·exp(y)` normal, with `|y| ≤ E` ([`PathRange`]):
/// `E ≤ ln(f32::MIN_POSITIVE⁻¹)` so `exp(±E)` is normal, `ln S0 + E (+ ln N for the arithmetic
/// average's sum) ≤ ln f32::MAX` and `ln S0 − E ≥ ln f32::MIN_POSITIVE`, each with a margin of
/// 0.25 for rounding. Outside it paths overflow to ∞ (a NaN price) or sink into subnormals (slow
/// on some CPUs, flushed on some GPUs): refused rather than reported.
pub fn check_path_range(p: &McParams) -> Result<PathRange, String> {
    let (lo, hi) = (f64::from(f32::MIN_POSITIVE), f64::from(f32::MAX));
    let (ln_lo, ln_hi) = (lo.ln() + LN_MARGIN, hi.ln() - LN_MARGIN);
    if p.steps == 0 {
        return Err("Monte Carlo needs at least one step".to_string());
    }
    for (name, v) in [("S0", p.s0), ("K", p.strike)] {
        if !(lo..=hi).contains(&v) {
            return Err(format!(
                "{name} = {v:e} is outside f32's normal range [{lo:.2e}, {hi:.2e}], where the paths are computed"
            ));
        }
    }
    let n = f64::from(p.steps);
    let dt = p.maturity / n;
    let drift = (p.rate - 0.5 * p.sigma * p.sigma) * dt;
    let vol = p.sigma * dt.sqrt();
    let normal = |v: f64| v.is_finite() && (lo..=hi).contains(&v.abs());
    if !(drift == 0.0 || normal(drift)) {
        return Err(format!(
            "the drift per step (r - sigma^2/2)·T/N = {drift:e} is outside f32's normal range [{lo:.2e}, {hi:.2e}]"
        ));
    }
    if !normal(vol) {
        return Err(format!(
            "the volatility per step sigma·sqrt(T/N) = {vol:e} is outside f32's normal range [{lo:.2e}, {hi:.2e}]"
        ));
    }
    let sd = p.sigma * p.maturity.sqrt();
    let extreme = ((p.rate - 0.5 * p.sigma * p.sigma) * p.maturity).abs()
        + sd * (Z_MAX * n.sqrt()).min(PATH_SD_MAX);
    let range = PathRange {
        extreme,
        step: drift.abs() + vol * Z_MAX,
    };
    let why = |what: String| {
        Err(format!(
            "log-prices y reach ±{extreme:.4e} (|r - sigma^2/2|·T + sigma·sqrt(T)·min({Z_MAX}·sqrt(N), {PATH_SD_MAX})): {what}"
        ))
    };
    if !extreme.is_finite() || extreme > -ln_lo {
        return why(format!(
            "exp(y) leaves f32's normal range past |y| = {:.2}",
            -ln_lo
        ));
    }
    let sum = if p.payoff.average() == Average::Arithmetic {
        n.ln()
    } else {
        0.0
    };
    let ln_s0 = p.s0.ln();
    if ln_s0 + extreme + sum > ln_hi {
        return why(format!(
            "S0·exp(y) overflows f32 (ln S0 + E{} = {:.2} > {ln_hi:.2})",
            if sum > 0.0 { " + ln N" } else { "" },
            ln_s0 + extreme + sum
        ));
    }
    if ln_s0 - extreme < ln_lo {
        return why(format!(
            "S0·exp(y) underflows f32's normal range (ln S0 - E = {:.2} < {ln_lo:.2})",
            ln_s0 - extreme
        ));
    }
    Ok(range)
}

/// A bound on how far the `f32` path arithmetic can move the Monte Carlo price from the same
/// estimator computed exactly (same draws), for parameters [`check_path_range`] accepts
/// (`None` otherwise). For the continuous payoffs it holds for every run; for digitals, whose
/// payoff jumps at the strike, it holds except with probability below `e^-20 = 2·10^-9` per run
/// (last paragraph).
///
/// Derivation (u = 2^-24, `f32`'s unit roundoff; `N` dates, `E` and step `a` from
/// [`PathRange`]): rounding `drift` and `vol` and each step's `vol·z`, `+ drift` and `y + …`
/// adds at most `u·(2N·a + (N+1)·E)` to `|y_i|`'s error; `exp` is within 1.004 ulp (2.01u);
/// the arithmetic sum of `N` terms adds `(N−1)·u`, the geometric sum of `y` an absolute
/// `N·u·E` (so that and `2E·u` after `×(1/N)` in the exponent); `×(1/N)` and `×S0` with the
/// rounding of `1/N` and `S0` add `4u`. So the observed value `X ≤ X_max = S0·e^E` has
/// relative error `ρ ≤ u·(2N·a + (2N+3)·E + N + 8)` — of order `N·ε_f32` of `S`, as expected
/// for `N` dependent `f32` steps. The payoff `(±(X − K))^+` then errs by at most
/// `ρ·X_max + u·K` (rounding `K`) `+ u·|X − K|` (the subtraction) `≤ (ρ + u)·X_max + 2u·K`,
/// and a zero payoff can only appear or vanish within that distance of the strike. The `f64`
/// sums of nonnegative payoffs add a relative `(B/64 + 64 + blocks + 2)·2^-53` (`B` paths per
/// block) of the largest payoff, negligible. The bound is that per-path error, plus the sums',
/// times `e^{−rT}`.
///
/// Digitals pay exactly 0 or 1, so rounding changes a path's payoff only by flipping it, by 1,
/// where the `f32` comparison of `X̂` (the computed `X`) with `K̂` (`K` rounded) disagrees with
/// the exact one. With `|X̂ − X| ≤ ρ·X` and `|K̂ − K| ≤ u·K` that needs `X` in
/// `[K·(1−u)/(1+ρ), K·(1+u)/(1−ρ)]`, so `|ln X − ln K| ≤ h = ln((1+u)/(1−ρ))` (the wider side).
/// No per-path error bounds a run: one flipped path moves the price by `1/n` however rare flips
/// are, and as σ → 0 every path can sit in that window at once. So the bound counts flips.
/// `ln S_T ~ N(ln K + d2·s, s²)`, `s = σ√T` (taking the draws as the normals they approximate,
/// as the z-score does), so the window holds a mass `q ≤ (2h/s)·φ(max(|d2| − h/s, 0))`: its
/// width times the largest density on it, at most 1, which needs no difference of `Φ`s that
/// could cancel. Paths are independent, so by Bernstein's inequality (independent indicators,
/// variance at most their mean `μ = n·q`) more than `μ + L/3 + √(L²/9 + 2L·μ)` of `n` paths flip
/// with probability at most `e^{−L}`, `L = 20`. The bound is that count over `n` (at most 1),
/// plus the sums' error with largest payoff 1 (they are exact below 2^53 paying paths), times
/// `e^{−rT}`. At S0 = K = 100, r = 0.05, σ = 0.2, T = 1 and 2^22 paths: `q = 4.3·10^-6`, 18
/// flips expected, at most 52 allowed, `1.2·10^-5` against a standard error of `2.3·10^-4`; at
/// a few thousand paths the `2L/3 ≈ 13` flips the tail bound allows whatever `q` dominate.
pub fn rounding_bound(p: &McParams, paths: u64) -> Option<f64> {
    error_bound(p, paths, path_rounding(p)?)
}

/// `ρ` of [`rounding_bound`]: the largest relative error the `f32` path arithmetic of
/// `cpu-kernels` gives the observed value `X` (`None` outside [`check_path_range`]).
pub fn path_rounding(p: &McParams) -> Option<f64> {
    let range = check_path_range(p).ok()?;
    let u = f64::from(f32::EPSILON) / 2.0;
    let n = f64::from(p.steps);
    let (e, a) = (range.extreme, range.step);
    Some(u * (2.0 * n * a + (2.0 * n + 3.0) * e + n + 8.0))
}

/// [`rounding_bound`] for path arithmetic whose observed value `X` has relative error at most
/// `rho` (the derivation there, from `ρ` on): what a GPU path with looser arithmetic is held to.
pub fn error_bound(p: &McParams, paths: u64, rho: f64) -> Option<f64> {
    let range = check_path_range(p).ok()?;
    let u = f64::from(f32::EPSILON) / 2.0;
    let x_max = p.s0 * range.extreme.exp();
    let (per_path, largest) = if p.payoff.is_digital() {
        (flipped_fraction(p, rho, u, paths), 1.0)
    } else {
        ((rho + u) * x_max + 2.0 * u * p.strike, x_max + p.strike)
    };
    let sums = (block_paths(paths) as f64 / 64.0 + 64.0 + block_count(paths) as f64 + 2.0)
        * (f64::EPSILON / 2.0)
        * largest;
    Some(p.discount() * (per_path + sums))
}

/// A bound on the gap between two prices of the same `paths` draws computed with different
/// arithmetic, whose observed values `X` carry relative errors adding up to at most `rho`
/// against exact arithmetic, given `mean`, one of them's undiscounted mean payoff (`None`
/// outside [`check_path_range`]). Sharper than two [`error_bound`]s for the continuous payoffs,
/// which it bounds by the paths that pay rather than by the largest `X`:
///
/// A path where neither pays adds nothing; elsewhere the payoffs differ by at most
/// `|X̂_a − X̂_b| + 2u·|X̂ − K̂|` (the subtractions' rounding) `≤ ρ·X + 2u·X`. For a call on `X`
/// a paying side has `X̂_a = payoff_a + K̂`, a side that does not pay `X̂_a ≤ K̂`, so
/// `X ≤ (payoff_a + K(1+u))/(1−ρ)` either way, and the mean gap is at most
/// `(ρ + 2u)/(1 − ρ)·(mean + K(1+u))`; for a put some side pays only where `X ≤ K(1+u)/(1−ρ)`,
/// a mean gap of at most `(ρ + 2u)/(1 − ρ)·K(1+u)`. A digital's payoffs differ only where a
/// path flips, counted as in [`rounding_bound`] (but for probability `e^-20`). The `f64` sums
/// add the same negligible term as there. Times `e^{−rT}`.
pub fn agreement_bound(p: &McParams, paths: u64, mean: f64, rho: f64) -> Option<f64> {
    check_path_range(p).ok()?;
    if rho >= 1.0 {
        return Some(f64::INFINITY);
    }
    let u = f64::from(f32::EPSILON) / 2.0;
    let k = p.strike * (1.0 + u);
    let spread = (rho + 2.0 * u) / (1.0 - rho);
    let (gap, largest) = if p.payoff.is_digital() {
        (flipped_fraction(p, rho, u, paths), 1.0)
    } else if p.payoff.is_put() {
        (spread * k, k)
    } else {
        (spread * (mean + k), mean + k)
    };
    let sums = (block_paths(paths) as f64 / 64.0 + 64.0 + block_count(paths) as f64 + 2.0)
        * f64::EPSILON
        * largest;
    Some(p.discount() * (gap + sums))
}

/// `ln(1/α)` for the probability `α` that more digitals flip than [`rounding_bound`] allows.
const FLIP_TAIL_LN: f64 = 20.0;

/// The fraction of `paths` digital payoffs that the relative error `rho` of `X` and the rounding
/// `u` of `K` can flip, but for probability `e^-FLIP_TAIL_LN` ([`rounding_bound`]).
fn flipped_fraction(p: &McParams, rho: f64, u: f64, paths: u64) -> f64 {
    let law = Lognormal::of(p).expect("a digital observes S_T, which is lognormal");
    let (_, d2) = law.d(p.strike);
    // Half the window in standard deviations; past ρ = 1 the window is unbounded.
    let half = if rho < 1.0 {
        (u.ln_1p() - (-rho).ln_1p()) / law.sd
    } else {
        f64::INFINITY
    };
    let q = (2.0 * half * norm_pdf((d2.abs() - half).max(0.0))).min(1.0);
    let mean = paths as f64 * q;
    let l = FLIP_TAIL_LN;
    let flips = mean + l / 3.0 + (l * l / 9.0 + 2.0 * l * mean).sqrt();
    (flips / paths as f64).min(1.0)
}
