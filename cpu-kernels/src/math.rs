//! Branch-free `f32` elementary functions shared, formula for formula and constant for constant,
//! with the WGSL shader.
//!
//! Why not `f32::ln`/`exp`/`sin_cos`: those call the platform libm, which neither vectorizes nor
//! exists on the GPU. These functions use only `+ - * /`, comparisons turned into selects, bit
//! reinterpretation and integer arithmetic, so the compiler vectorizes them inside lane loops and
//! a shader can reproduce them bit for bit wherever its arithmetic is IEEE-correctly rounded.
//!
//! Rules a port must keep:
//! * Evaluate every expression exactly as written (the doc comments spell each one out, with
//!   the parenthesisation that matters), each operation rounded to nearest-even in `f32`.
//!   **No FMA**: a GPU compiler may fuse `a * b + c` (WGSL permits it); a port that wants
//!   bit-identical results must stop it from doing so, and otherwise accepts differences of
//!   about one ulp. Swapping the operands of a single `+` or `×` is harmless (IEEE operations
//!   commute); re-associating is not.
//! * Constants are the exact `f32` values of the decimal literals given (they round-trip).
//! * Subnormal inputs and results matter only at the extremes of [`ln`] and [`exp`]; a GPU that
//!   flushes them to zero differs there and nowhere else.
//!
//! The polynomials are Cephes' minimax fits (`logf`, `expf`, `sinf`/`cosf`), evaluated with
//! Estrin-like trees where that shortens the dependency chain: in SIMD loops on an
//! out-of-order core, chain latency rather than operation count sets the throughput.
//!
//! Accuracy: error of the returned `f32` against the exact value, in units of the last place of
//! the exact value, measured against `f64` libm over every `f32` of the domain
//! (`exhaustive_error_table` in `tests/math.rs`; the regular tests assert the bounds on the
//! domains the kernels use exhaustively and elsewhere on a dense stride):
//!
//! | function              | domain                                  | max error measured |
//! |-----------------------|-----------------------------------------|--------------------|
//! | [`ln`]                | every positive finite `f32`             | 0.852 ulp          |
//! | [`exp`]               | every `f32` in `[-87.33, 88.72]`        | 1.004 ulp          |
//! | [`sincos_2pi`], sine  | every `f32` in `(0, 1]`                 | 1.641 ulp          |
//! | [`sincos_2pi`], cosine| every `f32` in `(0, 1]`                 | 1.626 ulp          |

use crate::lanes::{F32s, I32s, Lanes};

/// `1.5 · 2^23`: adding it to an `f32` of magnitude below `2^22` rounds that value to the
/// nearest integer (ties to even) and leaves the integer in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// Round to nearest integer (ties to even) without a float→int conversion instruction, returning
/// both the rounded value and the integer. Valid for `|x| < 2^22`.
#[inline(always)]
fn round_to_int<const N: usize>(x: F32s<N>) -> (F32s<N>, I32s<N>) {
    let t = x + ROUND_MAGIC;
    // `t` lies in [2^23, 2^24), where one ulp is 1, so its mantissa field is `0x40_0000 + n`.
    (t - ROUND_MAGIC, t.to_bits() - ROUND_MAGIC.to_bits() as i32)
}

/// `ln 2 = LN2_HI + LN2_LO` (to 2^-37 relative); `LN2_HI = 355/512` has 9 significant bits, so
/// its product with any integer below 2^15 is exact.
const LN2_HI: f32 = 355.0 / 512.0;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `2^k` for `k` in `[-126, 127]`, built from the exponent field.
#[inline(always)]
fn pow2<const N: usize>(k: I32s<N>) -> F32s<N> {
    ((k + 127) << 23).bitcast_f32()
}

/// [`ln`] for positive normal finite `x`, without its special cases.
#[inline(always)]
pub(crate) fn ln_normal<const N: usize>(x: F32s<N>) -> F32s<N> {
    let bits = x.to_bits();
    let e = (bits >> 23) - 126;
    // Mantissa with the exponent of 0.5: m in [0.5, 1).
    let m = ((bits & 0x007F_FFFF) | 0x3F00_0000).bitcast_f32();
    let low = m.lt(core::f32::consts::FRAC_1_SQRT_2);
    // Both forms are exact: 2m and m lie within a factor 2 of 1.
    let f = low.select(m + m - 1.0, m - 1.0);
    let e = low.select(e - 1, e).to_f32();
    let z = f * f;
    // Cephes' degree-8 polynomial, as a shallow tree rather than Horner's chain.
    let z2 = z * z;
    let q0 = f * -0.249_999_94 + 0.333_333_3;
    let q1 = f * -0.166_680_57 + 0.200_007_14;
    let q2 = f * -0.124_201_41 + 0.142_493_23;
    let q3 = f * -0.115_146_1 + 0.116_769_984;
    let p = ((q0 + q1 * z) + (q2 + q3 * z) * z2) + (z2 * z2) * 0.070_376_836;
    let y = p * f * z;
    let y = y + e * LN2_LO;
    let y = y + z * -0.5;
    (f + y) + e * LN2_HI
}

/// Natural logarithm of `x` in `f32` (Cephes `logf`, branch-free).
///
/// For positive normal `x`, with `bits` its bit pattern as `i32`:
/// * `e = (bits >> 23) − 126`, `m = from_bits((bits & 0x7FFFFF) | 0x3F000000)` (`m` in
///   `[0.5, 1)`, `x = m·2^e`);
/// * if `m < 0.70710677` (`FRAC_1_SQRT_2`): `f = (m + m) − 1`, `e = e − 1`; else `f = m − 1`
///   (both exact); then `E = e` converted to `f32`;
/// * `z = f·f`, `z2 = z·z`, `q0 = f·(−0.24999994) + 0.3333333`,
///   `q1 = f·(−0.16668057) + 0.20000714`, `q2 = f·(−0.12420141) + 0.14249323`,
///   `q3 = f·(−0.1151461) + 0.116769984`,
///   `p = ((q0 + q1·z) + (q2 + q3·z)·z2) + (z2·z2)·0.070376836`;
/// * `y = (p·f)·z`, `y = y + E·(−2.1219444e-4)`, `y = y + z·(−0.5)`,
///   result `(f + y) + E·0.693359375` (`ln 2` split so that `E·0.693359375` is exact).
///
/// Elsewhere, by selects: subnormal `x` is first scaled by `2^23` (exact) and the result
/// corrected to `(r − 23·(−2.1219444e-4)) − 23·0.693359375`; `ln(±0) = −∞`, `ln(+∞) = +∞`,
/// `ln(x < 0) = ln(NaN) = NaN`.
///
/// Max error 0.852 ulp over every positive finite `f32`.
#[inline]
pub fn ln(x: f32) -> f32 {
    ln_lanes(Lanes([x])).0[0]
}

#[inline(always)]
pub(crate) fn ln_lanes<const N: usize>(x: F32s<N>) -> F32s<N> {
    let tiny = x.lt(f32::MIN_POSITIVE);
    let r = ln_normal(tiny.select(x * 8_388_608.0, x));
    // 23 ln 2, split like ln 2 so that the correction costs no accuracy.
    let r = tiny.select((r - 23.0 * LN2_LO) - 23.0 * LN2_HI, r);
    let special = x
        .eq(0.0)
        .select(Lanes::splat(f32::NEG_INFINITY), Lanes::splat(f32::NAN));
    let r = x.gt(0.0).select(r, special);
    x.eq(f32::INFINITY).select(x, r)
}

/// `e^x` in `f32` (Cephes `expf`, branch-free).
///
/// * `x` is clamped to `[−104, 89]` by selects (beyond, the result is `0` or `+∞` anyway;
///   NaN passes through);
/// * `t = x·1.442695 + 12582912` (`LOG2_E`; adding `1.5·2^23` rounds to an integer, ties to
///   even), `nf = t − 12582912`, `n = bits(t) − bits(12582912.0)` (the same integer, as `i32`);
/// * `r = (x − nf·0.693359375) − nf·(−2.1219444e-4)` (the first product is exact);
/// * `z = r·r`, `a = r·1.9875691e-4 + 1.3981999e-3`, `b = r·8.333452e-3 + 0.041665796`,
///   `c = r·0.16666666 + 0.5`, `p = ((((a·z + b)·z + c)·z) + r) + 1`;
/// * result `(p·2^h)·2^(n−h)` with `h = n >> 1` (arithmetic shift) and `2^k` built as
///   `from_bits((k + 127) << 23)`: two factors so that `n = 128` (results just below
///   `f32::MAX`) and `n` down to `−150` (subnormal results, rounded once) need no branch.
///
/// Max error 1.004 ulp over `[−87.33, 88.72]`.
#[inline]
pub fn exp(x: f32) -> f32 {
    exp_lanes(Lanes([x])).0[0]
}

#[inline(always)]
pub(crate) fn exp_lanes<const N: usize>(x: F32s<N>) -> F32s<N> {
    // Selects rather than `clamp`/`min`/`max`, so that NaN passes through.
    let x = x.gt(89.0).select(Lanes::splat(89.0), x);
    let x = x.lt(-104.0).select(Lanes::splat(-104.0), x);
    let (nf, n) = round_to_int(x * core::f32::consts::LOG2_E);
    let r = x - nf * LN2_HI;
    let r = r - nf * LN2_LO;
    let z = r * r;
    let a = r * 1.987_569_1e-4 + 1.398_199_9e-3;
    let b = r * 8.333_452e-3 + 4.166_579_6e-2;
    let c = r * 0.166_666_66 + 0.5;
    let p = (((a * z + b) * z + c) * z + r) + 1.0;
    let half = n >> 1;
    p * pow2(half) * pow2(n - half)
}

// `sincos_2pi` coefficients: Cephes `sinf`/`cosf` coefficients times (2π)^k, rounded once to
// f32 (the unit test below re-derives them). 2π itself is split as S1_HI + S1_LO.
const S1_HI: f32 = 6.283_185_5;
const S1_LO: f32 = -1.748_455_5e-7;
const S3: f32 = -41.341_67;
const S5: f32 = 81.593_765;
const S7: f32 = -75.445_656;
const C2: f32 = -19.739_208;
const C4: f32 = 64.939_36;
const C6: f32 = -85.447_14;
const C8: f32 = 59.349_7;

/// `(sin 2πu, cos 2πu)` in `f32`, reduced in turns (branch-free).
///
/// Reduction, every step exact: `a = |u|` (clear the sign bit); `k = (a + 2^23) − 2^23` is an
/// integer within 1 of `a` (periodicity makes its rounding direction irrelevant), `t = a − k`
/// in `[−1, 1]`. Then, for `t`:
/// * `t4 = t·4 + 12582912`, `qf = t4 − 12582912`, `q = bits(t4) − bits(12582912.0)` (the
///   quadrant, `round(4t)`); `f = t − qf·0.25` in `[−1/8, 1/8]`;
/// * `z = f·f`, `s = f·S1_HI + (f·S1_LO + ((((z·S7 + S5)·z + S3)·z)·f))`,
///   `c = ((((z·C8 + C6)·z + C4)·z)·z + z·C2) + 1`: Cephes' `sinf`/`cosf` polynomials in
///   `θ = 2πf`, with `2π` folded into the coefficients (each Cephes coefficient times
///   `(2π)^k`, rounded once; `θ` itself is never rounded) and the leading `2π` split in two:
///   `S1_HI = 6.2831855`, `S1_LO = −1.7484555e-7`, `S3 = −41.34167`, `S5 = 81.593765`,
///   `S7 = −75.445656`, `C2 = −19.739208`, `C4 = 64.93936`, `C6 = −85.44714`, `C8 = 59.3497`;
/// * `q` odd swaps `s` and `c`; then sin's sign bit is flipped when `q & 2`, cos's when
///   `(q + 1) & 2`, and sin's once more when `u` is negative.
///
/// Max error 1.641 ulp (sine), 1.626 ulp (cosine) over every `f32` in `(0, 1]`. `±∞` and NaN
/// give NaN.
#[inline]
pub fn sincos_2pi(u: f32) -> (f32, f32) {
    let (s, c) = sincos_2pi_lanes(Lanes([u]));
    (s.0[0], c.0[0])
}

#[inline(always)]
fn sincos_2pi_lanes<const N: usize>(u: F32s<N>) -> (F32s<N>, F32s<N>) {
    const TWO_POW_23: f32 = 8_388_608.0;
    let a = (u.to_bits() & i32::MAX).bitcast_f32();
    let k = (a + TWO_POW_23) - TWO_POW_23;
    let (s, c) = sincos_2pi_reduced(a - k);
    ((s.to_bits() ^ (u.to_bits() & i32::MIN)).bitcast_f32(), c)
}

/// `(sin 2πt, cos 2πt)` for `t` in `[-1, 1]`: [`sincos_2pi`] from the quadrant on.
#[inline(always)]
pub(crate) fn sincos_2pi_reduced<const N: usize>(t: F32s<N>) -> (F32s<N>, F32s<N>) {
    let (qf, q) = round_to_int(t * 4.0);
    let f = t - qf * 0.25;
    let z = f * f;
    let s = f * S1_HI + (f * S1_LO + ((z * S7 + S5) * z + S3) * z * f);
    let c = ((z * C8 + C6) * z + C4) * z * z + z * C2 + 1.0;
    let odd = (q & 1).nonzero();
    let (s, c) = (odd.select(c, s), odd.select(s, c));
    let sin_flip = (q & 2) << 30;
    let cos_flip = ((q + 1) & 2) << 30;
    (
        (s.to_bits() ^ sin_flip).bitcast_f32(),
        (c.to_bits() ^ cos_flip).bitcast_f32(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folded sin/cos coefficients are what the doc comment says they are.
    #[test]
    fn folded_coefficients_derive_from_cephes() {
        let tp = core::f64::consts::TAU;
        let derived = [
            tp as f32,
            (tp - f64::from(tp as f32)) as f32,
            (-1.666_665_461_1e-1 * tp.powi(3)) as f32,
            (8.332_160_873_6e-3 * tp.powi(5)) as f32,
            (-1.951_529_589_1e-4 * tp.powi(7)) as f32,
            (-0.5 * tp.powi(2)) as f32,
            (4.166_664_568_298_827e-2 * tp.powi(4)) as f32,
            (-1.388_731_625_493_765e-3 * tp.powi(6)) as f32,
            (2.443_315_711_809_948e-5 * tp.powi(8)) as f32,
        ];
        let used = [S1_HI, S1_LO, S3, S5, S7, C2, C4, C6, C8];
        for (d, u) in derived.iter().zip(used) {
            assert_eq!(d.to_bits(), u.to_bits(), "{d} vs {u}");
        }
    }

    #[test]
    fn rounding_trick_rounds_to_nearest_even() {
        for (x, n) in [
            (0.5, 0),
            (1.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (2.49, 2),
            (-3.7, -4),
        ] {
            assert_eq!(round_to_int(Lanes([x])), (Lanes([n as f32]), Lanes([n])));
        }
    }
}
