//! The stream kernels against naive scalar loops: exact for the element-wise kernels (any length,
//! any alignment, both store kinds, `f32` and `f64`), within the documented bound for `dot`.

use cpu_kernels::Real;
use cpu_kernels::stream::{self, Stores};
use proptest::prelude::*;

/// Deterministic pseudo-random values of both signs and a wide range of magnitudes.
fn values<T: Real>(n: usize, seed: u64) -> Vec<T> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            T::from_f64(unit * 2f64.powi((state % 24) as i32 - 12))
        })
        .collect()
}

fn bits<T: Real>(x: &[T]) -> Vec<u64> {
    x.iter().map(|v| v.to_f64().to_bits()).collect()
}

/// Every element-wise kernel on subslices starting `offset` elements into their buffers.
fn check_elementwise<T: Real>(n: usize, offsets: [usize; 3], seed: u64, s: f64, stores: Stores) {
    let s = T::from_f64(s);
    let buffers: Vec<Vec<T>> = (0..3)
        .map(|k| values::<T>(n + offsets[k], seed + k as u64))
        .collect();
    let [a0, b0, c0] = [0, 1, 2].map(|k| buffers[k][offsets[k]..].to_vec());
    let mut bufs = buffers.clone();
    let [ba, bb, bc] = &mut bufs[..] else {
        unreachable!()
    };
    let (a, b, c) = (
        &mut ba[offsets[0]..],
        &mut bb[offsets[1]..],
        &mut bc[offsets[2]..],
    );

    stream::copy(c, &a0, stores);
    assert_eq!(bits(c), bits(&a0), "copy n={n} {offsets:?} {stores:?}");

    stream::scale(b, &c0, s, stores);
    let want: Vec<T> = c0.iter().map(|&x| s * x).collect();
    assert_eq!(bits(b), bits(&want), "scale n={n} {offsets:?} {stores:?}");

    stream::add(c, &a0, &b0, stores);
    let want: Vec<T> = a0.iter().zip(&b0).map(|(&x, &y)| x + y).collect();
    assert_eq!(bits(c), bits(&want), "add n={n} {offsets:?} {stores:?}");

    stream::triad(a, &b0, &c0, s, stores);
    let want: Vec<T> = b0.iter().zip(&c0).map(|(&y, &z)| y + s * z).collect();
    assert_eq!(bits(a), bits(&want), "triad n={n} {offsets:?} {stores:?}");

    let before = a.to_vec();
    stream::nstream(a, &b0, &c0, s, stores);
    let want: Vec<T> = before
        .iter()
        .zip(&b0)
        .zip(&c0)
        .map(|((&x, &y), &z)| x + (y + s * z))
        .collect();
    assert_eq!(bits(a), bits(&want), "nstream n={n} {offsets:?} {stores:?}");

    stream::fill(a, s);
    assert!(
        a.iter()
            .all(|&x| x.to_f64().to_bits() == s.to_f64().to_bits())
    );
}

/// `Σ a_i b_i` and `Σ |a_i b_i|` to far better than `dot`'s bound: each product split exactly
/// into two `f64` (an FMA recovers the rounding error), then Neumaier-compensated sums.
fn exact_dot<T: Real>(a: &[T], b: &[T]) -> (f64, f64) {
    let (mut sum, mut comp, mut abs) = (0.0f64, 0.0f64, 0.0f64);
    let mut add = |x: f64| {
        let t = sum + x;
        comp += if sum.abs() >= x.abs() {
            (sum - t) + x
        } else {
            (x - t) + sum
        };
        sum = t;
    };
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.to_f64(), y.to_f64());
        let p = x * y;
        add(p);
        add(x.mul_add(y, -p));
        abs += p.abs();
    }
    (sum + comp, abs)
}

/// `dot` as its documentation describes it, one element at a time.
fn replay_dot<T: Real>(a: &[T], b: &[T]) -> f64 {
    a.chunks(4096)
        .zip(b.chunks(4096))
        .fold(0.0, |total, (ba, bb)| {
            let mut acc = [T::default(); 32];
            for (i, (&x, &y)) in ba.iter().zip(bb).enumerate() {
                acc[i % 32] += x * y;
            }
            total + acc.iter().fold(0.0, |s, v| s + v.to_f64())
        })
}

fn check_dot<T: Real>(n: usize, offset: usize, seed: u64) {
    let a = values::<T>(n, seed);
    let b = values::<T>(n, seed ^ 0xABCD);
    let got = stream::dot(&a, &b);
    assert_eq!(
        got.to_bits(),
        replay_dot(&a, &b).to_bits(),
        "{} n={n}: documented order",
        T::NAME
    );
    let (exact, abs) = exact_dot(&a, &b);
    // The reference itself is good to a few f64 ulps of the sum of magnitudes.
    let bound = (stream::dot_relative_error_bound::<T>(n) + 4.0 * f64::EPSILON) * abs;
    assert!(
        (got - exact).abs() <= bound,
        "{} n={n}: {got} vs {exact}, bound {bound}",
        T::NAME
    );
    // Deterministic, whatever the address.
    let mut shifted = vec![T::default(); offset];
    shifted.extend_from_slice(&a);
    assert_eq!(stream::dot(&shifted[offset..], &b).to_bits(), got.to_bits());
}

proptest! {
    #[test]
    fn elementwise_kernels_are_exact(
        n in 0usize..5000,
        offsets in proptest::array::uniform3(0usize..17),
        seed in any::<u64>(),
        s in -4.0f64..4.0,
        streaming in any::<bool>(),
    ) {
        let stores = if streaming { Stores::Streaming } else { Stores::Cached };
        check_elementwise::<f32>(n, offsets, seed, s, stores);
        check_elementwise::<f64>(n, offsets, seed, s, stores);
    }

    #[test]
    fn dot_is_within_its_bound(n in 0usize..20_000, offset in 0usize..17, seed in any::<u64>()) {
        check_dot::<f32>(n, offset, seed);
        check_dot::<f64>(n, offset, seed);
    }
}

#[test]
fn dot_bound_values() {
    assert_eq!(stream::dot_relative_error_bound::<f32>(0), 0.0);
    // A single product: one rounding in f32, then 31 f64 additions inside the block.
    let one = stream::dot_relative_error_bound::<f32>(1);
    assert!(one > 5.9e-8 && one < 6.0e-8 + 31.0 * 1.2e-16, "{one}");
    let full = stream::dot_relative_error_bound::<f32>(1 << 20);
    assert!(full > 7.6e-6 && full < 7.7e-6, "{full}");
    let f64_full = stream::dot_relative_error_bound::<f64>(1 << 20);
    // γ_128 + γ_286 (31 block additions and 255 more for 256 blocks) with u = 2^-53.
    assert!(f64_full > 4.5e-14 && f64_full < 4.7e-14, "{f64_full}");
}

#[test]
#[should_panic(expected = "lengths differ")]
fn mismatched_lengths_panic() {
    let mut a = vec![0.0f32; 4];
    stream::triad(&mut a, &[1.0; 4], &[1.0; 3], 1.0, Stores::Cached);
}
