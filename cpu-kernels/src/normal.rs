//! The fixed mapping from Philox output words to standard normal `f32` draws, shared bit for bit
//! with the GPU shader.
//!
//! 1. [`uniform`]: `u = ((x >> 9) + 0.5) · 2^-23`, the top 23 bits of the word centred in their
//!    cell. Exact in `f32`; `u` takes the 2^23 values `(2k + 1) · 2^-24`, so it lies in
//!    `[2^-24, 1 − 2^-24]` and is never 0 or 1.
//! 2. [`box_muller`]: `r = sqrt(−2 · ln u1)`, `(z0, z1) = (r · cos 2πu2, r · sin 2πu2)`, with the
//!    branch-free [`crate::math`] functions.
//!
//! Everything is plain IEEE `f32` arithmetic (see [`crate::math`] for the rules a port keeps:
//! evaluation order, no FMA). The one operation a WGSL port cannot reproduce exactly is `sqrt`
//! (WGSL allows it an error of a few ulp); on hardware with a correctly rounded `sqrt` the
//! results are identical.
//!
//! Accuracy: each of `z0`, `z1` is within 3.2 ulp of `sqrt(−2 ln u1)·cos/sin(2πu2)` evaluated
//! exactly from the same `u1`, `u2` (measured on a lattice of 4.2 million pairs of
//! [`uniform`] outputs, `tests/math.rs`).
//!
//! Truncation: since `u1 ≥ 2^-24`, `r ≤ sqrt(−2 ln 2^-24) = sqrt(48 ln 2) ≈ 5.768`, so every
//! draw has `|z| ≤ 5.77`. A true standard normal exceeds that with probability about
//! `8·10^-9`; for option prices the effect is far below Monte Carlo noise. Likewise `u` takes
//! 2^23 values, so `r` and the angle are quantised on a grid far finer than any statistic a
//! Monte Carlo run resolves.

use crate::lanes::{F32s, Lanes};
pub use crate::math::{exp, ln};
use crate::math::{ln_normal, sincos_2pi_reduced};

/// `((x >> 9) as f32 + 0.5) · 2^-23`: exact, in `[2^-24, 1 − 2^-24]`, never 0 or 1.
///
/// Computed as `f32::from_bits(0x3F80_0000 | (x >> 9)) − (1 − 2^-24)`: the first term is
/// `1 + (x >> 9)·2^-23` and the difference `((x >> 9) + 0.5)·2^-23` is representable, so the
/// subtraction is exact and both forms give the same bits (a port may use either).
#[inline(always)]
pub fn uniform(x: u32) -> f32 {
    // Three integer/float operations and no int→float conversion.
    f32::from_bits(0x3F80_0000 | (x >> 9)) - (1.0 - 1.0 / 16_777_216.0)
}

/// Box–Muller: `r = sqrt(ln(u1)·(−2))`, returns `(r·c, r·s)` with `(s, c) = sincos_2pi(u2)`
/// ([`crate::math::ln`], [`crate::math::sincos_2pi`]), bit for bit.
///
/// `u1` must be a positive normal `f32` no greater than 1 and `u2` in `[0, 1]`, as every
/// [`uniform`] output is: the special-case selects of `ln` and the reduction of `sincos_2pi`
/// to `[−1, 1]` have nothing to do there and are skipped.
#[inline]
pub fn box_muller(u1: f32, u2: f32) -> (f32, f32) {
    let (z0, z1) = box_muller_lanes(Lanes([u1]), Lanes([u2]));
    (z0.0[0], z1.0[0])
}

#[inline(always)]
pub(crate) fn box_muller_lanes<const N: usize>(u1: F32s<N>, u2: F32s<N>) -> (F32s<N>, F32s<N>) {
    let r = (ln_normal(u1) * -2.0).sqrt();
    // u2 lies in (0, 1): the reduction to [-1, 1] has nothing to do.
    let (s, c) = sincos_2pi_reduced(u2);
    (r * c, r * s)
}
