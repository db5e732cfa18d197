//! The BabelStream kernels (McCalpin's STREAM plus nstream and dot), outputs first.
//!
//! Every element-wise kernel computes exactly the IEEE result of its scalar expression with a
//! separate multiply and add (Rust never contracts them into an FMA), so a scalar replay
//! reproduces it bit for bit, whatever SIMD width or store kind was used. Slices must have equal
//! lengths (checked); any length and any alignment are accepted.
//!
//! [`Stores`] picks how results reach memory: [`Stores::Cached`] is ordinary stores (the
//! compiler's vectorized loop, AVX-512 when the CPU has it), [`Stores::Streaming`] uses
//! non-temporal stores that bypass the caches, which avoids the read-for-ownership of the
//! destination and so saves a third of the traffic of copy and a quarter of triad's when the
//! arrays are far larger than the last-level cache (and costs a lot when they fit in it).

use crate::Real;
use multiversion::multiversion;

/// How an element-wise kernel writes its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stores {
    /// Ordinary (write-allocate) stores.
    Cached,
    /// Non-temporal stores (`vmovntdq`) from the first 32-byte (AVX2) or 64-byte (AVX-512)
    /// aligned element on, scalar stores for the unaligned head and the tail, then an `sfence`.
    /// On targets without AVX this falls back to [`Stores::Cached`].
    Streaming,
}

/// `c = a`.
pub fn copy<T: Real>(c: &mut [T], a: &[T], stores: Stores) {
    assert_eq!(c.len(), a.len(), "copy: slice lengths differ");
    apply(c, stores, |i, _| a[i]);
}

/// `b = s * c`.
pub fn scale<T: Real>(b: &mut [T], c: &[T], s: T, stores: Stores) {
    assert_eq!(b.len(), c.len(), "scale: slice lengths differ");
    apply(b, stores, |i, _| s * c[i]);
}

/// `c = a + b`.
pub fn add<T: Real>(c: &mut [T], a: &[T], b: &[T], stores: Stores) {
    assert!(
        c.len() == a.len() && c.len() == b.len(),
        "add: slice lengths differ"
    );
    apply(c, stores, |i, _| a[i] + b[i]);
}

/// `a = b + s * c`.
pub fn triad<T: Real>(a: &mut [T], b: &[T], c: &[T], s: T, stores: Stores) {
    assert!(
        a.len() == b.len() && a.len() == c.len(),
        "triad: slice lengths differ"
    );
    apply(a, stores, |i, _| b[i] + s * c[i]);
}

/// `a += b + s * c`, i.e. `a = a + (b + s * c)`.
pub fn nstream<T: Real>(a: &mut [T], b: &[T], c: &[T], s: T, stores: Stores) {
    assert!(
        a.len() == b.len() && a.len() == c.len(),
        "nstream: slice lengths differ"
    );
    apply(a, stores, |i, old| old + (b[i] + s * c[i]));
}

/// `x = v` (ordinary stores: its job is usually first-touch initialisation).
pub fn fill<T: Real>(x: &mut [T], v: T) {
    x.fill(v);
}

/// Elements per block of [`dot`]: each block's partial sum is widened to `f64`.
const DOT_BLOCK: usize = 4096;
/// Independent accumulators of [`dot`] (element `i` of a block goes to accumulator `i % 32`):
/// enough to hide the add latency, and fixed so that the result does not depend on SIMD width.
const DOT_ACCUMULATORS: usize = 32;

/// `Σ a_i b_i`, deterministic for given slices.
///
/// The slices are cut into blocks of 4096 elements. Within a block, element `i` is multiplied
/// in `T` and added in `T` to accumulator `i mod 32` (32 independent accumulators, each starting
/// at 0 and summing in element order). The block's sum is `((0 + acc_0) + acc_1) + … + acc_31`
/// in `f64` (each accumulator widened exactly), and the result is the sum of the block sums in
/// `f64`, in block order. See [`dot_relative_error_bound`] for the resulting error.
pub fn dot<T: Real>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot: slice lengths differ");
    dot_blocks(a, b)
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq"))]
fn dot_blocks<T: Real>(a: &[T], b: &[T]) -> f64 {
    let mut total = 0.0;
    for (block_a, block_b) in a.chunks(DOT_BLOCK).zip(b.chunks(DOT_BLOCK)) {
        let mut acc = [T::default(); DOT_ACCUMULATORS];
        let (rows_a, rest_a) = block_a.as_chunks::<DOT_ACCUMULATORS>();
        let (rows_b, rest_b) = block_b.as_chunks::<DOT_ACCUMULATORS>();
        for (ra, rb) in rows_a.iter().zip(rows_b) {
            for k in 0..DOT_ACCUMULATORS {
                acc[k] += ra[k] * rb[k];
            }
        }
        for ((acc, &x), &y) in acc.iter_mut().zip(rest_a).zip(rest_b) {
            *acc += x * y;
        }
        total += acc.iter().fold(0.0, |s, v| s + v.to_f64());
    }
    total
}

/// `γ_k = k·u / (1 − k·u)` (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1).
fn gamma(k: usize, unit_roundoff: f64) -> f64 {
    let ku = k as f64 * unit_roundoff;
    ku / (1.0 - ku)
}

/// A rigorous bound on `|dot(a, b) − Σ a_i b_i| / Σ |a_i b_i|` for slices of length `n`, in the
/// absence of overflow and underflow.
///
/// Derivation (Higham §3.1, `u_T` = unit roundoff of `T` = `T::EPSILON / 2`,
/// `γ_k(u) = k·u / (1 − k·u)`):
///
/// * Each accumulator sums `m ≤ ⌈min(n, 4096) / 32⌉` products of one block by recursive
///   summation from 0, so every product suffers at most `m` roundings in `T` (its multiply and
///   `m − 1` adds; the first add to 0 is exact): `|acc_k − exact_k| ≤ γ_m(u_T) · Σ_k |a_i b_i|`,
///   hence also `|acc_k| ≤ (1 + γ_m(u_T)) · Σ_k |a_i b_i|`.
/// * Widening to `f64` is exact. Each accumulator then passes through at most 31 `f64` additions
///   inside its block sum and at most `nb − 1` more in the sum of the `nb = ⌈n / 4096⌉` block
///   sums, so with `d = 31 + nb − 1` the `f64` stage adds at most
///   `γ_d(2^-53) · Σ |acc_k| ≤ γ_d(2^-53) · (1 + γ_m(u_T)) · Σ |a_i b_i|`.
///
/// Total: `γ_m(u_T) + γ_d(2^-53) · (1 + γ_m(u_T))`. For `f32` and `n ≥ 4096` that is about
/// `7.6e-6` (dominated by `m = 128`), for `f64` about `1.4e-14 + nb · 1.1e-16`. The bound is
/// evaluated in `f64`; its own rounding is a relative `1e-15` or so of its value.
pub fn dot_relative_error_bound<T: Real>(n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let m = n.min(DOT_BLOCK).div_ceil(DOT_ACCUMULATORS);
    let d = DOT_ACCUMULATORS - 1 + n.div_ceil(DOT_BLOCK) - 1;
    let g_t = gamma(m, T::EPSILON / 2.0);
    g_t + gamma(d, f64::EPSILON / 2.0) * (1.0 + g_t)
}

/// Writes `f(i, dst[i])` to every `dst[i]`, with the requested kind of stores.
#[inline(always)]
fn apply<T: Real, F: Fn(usize, T) -> T>(dst: &mut [T], stores: Stores, f: F) {
    match stores {
        Stores::Cached => apply_cached(dst, &f),
        Stores::Streaming => apply_streaming(dst, &f),
    }
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq"))]
fn apply_cached<T: Real, F: Fn(usize, T) -> T>(dst: &mut [T], f: &F) {
    for (i, d) in dst.iter_mut().enumerate() {
        *d = f(i, *d);
    }
}

fn apply_streaming<T: Real, F: Fn(usize, T) -> T>(dst: &mut [T], f: &F) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected at run time.
            unsafe { nt::apply_avx512(dst, f) };
            return;
        }
        if std::is_x86_feature_detected!("avx") {
            // SAFETY: AVX was detected at run time.
            unsafe { nt::apply_avx(dst, f) };
            return;
        }
    }
    apply_cached(dst, f);
}

#[cfg(target_arch = "x86_64")]
mod nt {
    use crate::Real;
    use core::arch::x86_64::{
        __m256i, __m512i, _mm_sfence, _mm256_loadu_si256, _mm256_stream_si256, _mm512_loadu_si512,
        _mm512_stream_si512,
    };

    /// Non-temporal stores of 64 bytes each.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn apply_avx512<T: Real, F: Fn(usize, T) -> T>(dst: &mut [T], f: &F) {
        // SAFETY: `apply_nt` hands `store` a 64-byte aligned destination inside `dst` and a
        // 64-byte source buffer; AVX-512F is enabled on this function.
        apply_nt::<T, F, 64>(dst, f, |to, from| unsafe {
            _mm512_stream_si512(to.cast::<__m512i>(), _mm512_loadu_si512(from.cast()));
        });
    }

    /// Non-temporal stores of 32 bytes each.
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn apply_avx<T: Real, F: Fn(usize, T) -> T>(dst: &mut [T], f: &F) {
        // SAFETY: as above, with 32 bytes; AVX is enabled on this function.
        apply_nt::<T, F, 32>(dst, f, |to, from| unsafe {
            _mm256_stream_si256(to.cast::<__m256i>(), _mm256_loadu_si256(from.cast()));
        });
    }

    /// Scalar head up to the first `BYTES`-aligned element, then `BYTES` at a time through a
    /// register-sized buffer (which the compiler keeps in a register) and `store`, scalar tail,
    /// `sfence` so the weakly ordered stores are globally visible before the caller goes on.
    #[inline(always)]
    fn apply_nt<T: Real, F: Fn(usize, T) -> T, const BYTES: usize>(
        dst: &mut [T],
        f: &F,
        store: impl Fn(*mut u8, *const u8),
    ) {
        // One buffer size fits both element types: BYTES is at most 64 = 16 × f32.
        const MAX_LANES: usize = 16;
        let lanes = BYTES / size_of::<T>();
        debug_assert!(lanes <= MAX_LANES && BYTES.is_multiple_of(size_of::<T>()));
        let n = dst.len();
        let head = dst.as_ptr().align_offset(BYTES).min(n);
        for (i, d) in dst[..head].iter_mut().enumerate() {
            *d = f(i, *d);
        }
        let mut i = head;
        while i + lanes <= n {
            let mut buf = [T::default(); MAX_LANES];
            for (k, b) in buf[..lanes].iter_mut().enumerate() {
                *b = f(i + k, dst[i + k]);
            }
            store(dst[i..i + lanes].as_mut_ptr().cast(), buf.as_ptr().cast());
            i += lanes;
        }
        for (j, d) in dst.iter_mut().enumerate().skip(i) {
            *d = f(j, *d);
        }
        // SAFETY: SSE is part of the x86_64 baseline.
        unsafe { _mm_sfence() };
    }
}
