//! The roofline sweep kernel (in the style of mixbench and the Empirical Roofline Toolkit): every
//! element is read once, put through `k` dependent fused multiply-adds and written once, so `k`
//! sets the arithmetic intensity (`2k` flops per `2·size_of::<T>()` bytes).

use crate::Real;
use multiversion::multiversion;
use multiversion::target::target_cfg_f;

/// `x[i] ← k` times `x[i] = x[i]·alpha + beta` ([`Real::mul_add`], one rounding each), `k = fmas`.
///
/// Bit-identical, element by element, to [`roofline_gold`].
pub fn roofline<T: Real>(x: &mut [T], fmas: u32, alpha: T, beta: T) {
    roofline_chunks(x, fmas, alpha, beta);
}

/// Scalar replay of one element of [`roofline`].
pub fn roofline_gold<T: Real>(x0: T, fmas: u32, alpha: T, beta: T) -> T {
    (0..fmas).fold(x0, |x, _| x.mul_add(alpha, beta))
}

/// Floating-point operations of [`roofline`] on `n` elements: `2·k·n`.
pub fn roofline_flops(n: usize, fmas: u32) -> f64 {
    2.0 * f64::from(fmas) * n as f64
}

/// Bytes moved by [`roofline`] on `n` elements of `T`: each read once and written once.
pub fn roofline_bytes<T>(n: usize) -> f64 {
    2.0 * size_of::<T>() as f64 * n as f64
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq"))]
fn roofline_chunks<T: Real>(x: &mut [T], fmas: u32, alpha: T, beta: T) {
    // Chains in flight: FMA latency × FMA throughput is 8 registers on both Zen (5 cycles × 1
    // ymm per cycle, rounded up) and AVX-512 Intel cores (4 cycles × 2 zmm), i.e. 256 or 512
    // bytes; more would spill on AVX2's 16 registers.
    let bytes = if target_cfg_f!(target_feature = "avx512f") {
        512
    } else {
        256
    };
    match bytes / size_of::<T>() {
        32 => chains::<T, 32>(x, fmas, alpha, beta),
        64 => chains::<T, 64>(x, fmas, alpha, beta),
        128 => chains::<T, 128>(x, fmas, alpha, beta),
        _ => unreachable!("Real is f32 or f64"),
    }
}

/// `N` independent chains at a time, held in registers for all `fmas` steps.
#[inline(always)]
fn chains<T: Real, const N: usize>(x: &mut [T], fmas: u32, alpha: T, beta: T) {
    let run = |mut r: [T; N]| {
        for _ in 0..fmas {
            for v in &mut r {
                *v = v.mul_add(alpha, beta);
            }
        }
        r
    };
    let (full, tail) = x.as_chunks_mut::<N>();
    for c in full {
        *c = run(*c);
    }
    if !tail.is_empty() {
        // The ragged end runs the full width over padding, which is dropped.
        let mut padded = [T::default(); N];
        padded[..tail.len()].copy_from_slice(tail);
        let len = tail.len();
        tail.copy_from_slice(&run(padded)[..len]);
    }
}
