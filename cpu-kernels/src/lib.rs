//! HexPylot's CPU kernels: pure functions over slices, no threads, no I/O.
//!
//! * [`stream`]: the BabelStream set (copy, scale, add, triad, nstream, dot) with cached or
//!   non-temporal stores.
//! * [`philox`]: the Random123 Philox4x32 counter-based generator, scalar and lane-parallel, and
//!   [`philox::PhiloxRng`], the same generator behind rand's `Rng`/`SeedableRng` traits.
//! * [`normal`]: the exact `u32 → (0,1) → N(0,1)` mapping (uniform + Box–Muller) shared with the
//!   GPU shader.
//! * [`math`]: the branch-free `f32` `ln`, `exp` and `sin/cos(2πu)` behind [`normal`] and [`mc`].
//! * [`mc`]: Monte Carlo option pricing under geometric Brownian motion.
//! * [`roofline`]: the arithmetic-intensity sweep kernel.
//!
//! Every kernel is deterministic: for the same inputs it returns the same bits whichever SIMD
//! width the run-time dispatch picks. The build's floor is AVX2 + FMA (`x86-64-v3`, set in the
//! workspace's `.cargo/config.toml`); the hot functions are also compiled for AVX-512 with the
//! `multiversion` crate and chosen at run time (its AVX-512 targets require the Ice Lake feature
//! set, so older AVX-512 parts keep the AVX2 code). Reductions fix their association order
//! independently of the vector width, nothing relies on fast-math, and nothing is contracted into
//! an FMA (Rust never contracts `a * b + c`); the only fused operation is [`Real::mul_add`], used
//! by [`roofline`] on purpose.

mod lanes;
pub mod math;
pub mod mc;
pub mod normal;
pub mod philox;
pub mod roofline;
pub mod stream;

/// The SIMD path the run-time dispatch takes on this CPU: the AVX-512 clones (the `multiversion`
/// target `x86_64+avx512f+avx512bw+avx512vl+avx512dq`) when the CPU has all four, else the
/// build's AVX2 + FMA floor. Recorded with every result: the same binary runs different code on
/// different machines.
pub fn simd_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512dq")
        {
            return "avx512";
        }
    }
    "avx2"
}

/// The floating-point element types the kernels are generic over (`f32` and `f64`).
pub trait Real:
    Copy
    + Default
    + Send
    + Sync
    + PartialOrd
    + core::fmt::Debug
    + core::fmt::Display
    + core::ops::Add<Output = Self>
    + core::ops::Mul<Output = Self>
    + core::ops::Sub<Output = Self>
    + core::ops::AddAssign
    + 'static
{
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// Machine epsilon of `Self` (the gap between 1 and the next value, i.e. twice the unit
    /// roundoff), as `f64`.
    const EPSILON: f64;
    /// The smallest positive normal value of `Self`, as `f64`.
    const MIN_POSITIVE: f64;
    /// The largest finite value of `Self`, as `f64`.
    const MAX: f64;
    /// Rounds to nearest.
    fn from_f64(x: f64) -> Self;
    /// Exact.
    fn to_f64(self) -> f64;
    /// `self * a + b` with a single rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    const EPSILON: f64 = f32::EPSILON as f64;
    const MIN_POSITIVE: f64 = f32::MIN_POSITIVE as f64;
    const MAX: f64 = f32::MAX as f64;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f32::mul_add(self, a, b)
    }
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    const EPSILON: f64 = f64::EPSILON;
    const MIN_POSITIVE: f64 = f64::MIN_POSITIVE;
    const MAX: f64 = f64::MAX;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
}
