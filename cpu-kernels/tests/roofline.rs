//! The roofline kernel equals its scalar replay element by element, for every chunking path.

use cpu_kernels::Real;
use cpu_kernels::roofline::{roofline, roofline_bytes, roofline_flops, roofline_gold};

fn check<T: Real>() {
    let (alpha, beta) = (T::from_f64(0.999_9), T::from_f64(1e-3));
    // Lengths around the chunk sizes (32..128 elements) and offsets that misalign the slice.
    for n in [
        0usize, 1, 7, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 4099,
    ] {
        for offset in [0usize, 1, 3] {
            for fmas in [0u32, 1, 2, 17, 256] {
                let x0: Vec<T> = (0..n + offset)
                    .map(|i| T::from_f64(1.0 + i as f64 * 1e-3))
                    .collect();
                let mut x = x0.clone();
                roofline(&mut x[offset..], fmas, alpha, beta);
                for (i, (&got, &start)) in x[offset..].iter().zip(&x0[offset..]).enumerate() {
                    let want = roofline_gold(start, fmas, alpha, beta);
                    assert_eq!(
                        got.to_f64().to_bits(),
                        want.to_f64().to_bits(),
                        "{} n={n} offset={offset} k={fmas} i={i}",
                        T::NAME
                    );
                }
                assert_eq!(
                    x[..offset],
                    x0[..offset],
                    "elements before the slice untouched"
                );
            }
        }
    }
}

#[test]
fn roofline_matches_gold_f32() {
    check::<f32>();
}

#[test]
fn roofline_matches_gold_f64() {
    check::<f64>();
}

#[test]
fn gold_is_fused() {
    // One FMA rounds once: (1 + 2^-30)·(1 − 2^-30) − 1 = −2^-60 exactly, which separate
    // rounding would lose.
    let e = 2f64.powi(-30);
    assert_eq!(roofline_gold(1.0 + e, 1, 1.0 - e, -1.0), -(e * e));
}

#[test]
fn counts() {
    assert_eq!(roofline_flops(1000, 8), 16_000.0);
    assert_eq!(roofline_bytes::<f32>(1000), 8000.0);
    assert_eq!(roofline_bytes::<f64>(1000), 16_000.0);
}
