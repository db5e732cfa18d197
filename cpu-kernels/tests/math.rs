//! Accuracy of the `f32` elementary functions and of the normal transform, against `f64` libm.
//!
//! The regular tests sweep the domains the kernels use exhaustively (the 2^23 values `uniform`
//! can produce) and everything else on a dense stride; `exhaustive_error_table` (ignored) visits
//! every `f32` of each documented domain and prints the figures quoted in the `math` module
//! documentation.

use cpu_kernels::math::{exp, ln, sincos_2pi};
use cpu_kernels::normal::{box_muller, uniform};

/// The documented maximum errors (the `math` module table, the `normal` module docs), in ulps,
/// rounded up from the measured figures.
const LN_MAX_ULP: f64 = 0.86;
const EXP_MAX_ULP: f64 = 1.01;
const SINCOS_MAX_ULP: f64 = 1.65;
const BOX_MULLER_MAX_ULP: f64 = 3.2;

/// `|got − exact|` in units of the last place of `exact` rounded to `f32` (subnormal spacing
/// below `f32::MIN_POSITIVE`).
fn ulp_error(got: f32, exact: f64) -> f64 {
    let a = exact.abs();
    let exponent = ((a.to_bits() >> 52) & 0x7FF) as i32 - 1023;
    let ulp = 2f64.powi(exponent.max(-126) - 23);
    (f64::from(got) - exact).abs() / ulp
}

/// Every value `uniform` can return, in increasing order: `(k + 0.5) · 2^-23`.
fn uniform_values() -> impl Iterator<Item = f32> {
    (0u32..1 << 23).map(|k| uniform(k << 9))
}

/// Bit patterns from `lo` to `hi` (inclusive, same sign) with the given stride, plus `hi`.
fn floats(lo: f32, hi: f32, stride: u32) -> impl Iterator<Item = f32> {
    let (a, b) = (
        lo.to_bits().min(hi.to_bits()),
        lo.to_bits().max(hi.to_bits()),
    );
    (a..=b)
        .step_by(stride as usize)
        .chain([b])
        .map(f32::from_bits)
}

fn max_error(
    xs: impl Iterator<Item = f32>,
    f: impl Fn(f32) -> f32,
    exact: impl Fn(f64) -> f64,
) -> (f64, f32) {
    xs.map(|x| (ulp_error(f(x), exact(f64::from(x))), x))
        .fold((0.0, 0.0), |m, e| if e.0 > m.0 { e } else { m })
}

/// `(sin 2πu, cos 2πu)` in `f64`, reduced exactly to an eighth of a turn first so that results
/// near the zeros keep their full relative accuracy.
fn sincos_2pi_f64(u: f64) -> (f64, f64) {
    let t = u.fract();
    let q = (4.0 * t).round();
    let (s, c) = (core::f64::consts::TAU * (t - q / 4.0)).sin_cos();
    match (q as i64).rem_euclid(4) {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

fn sin_2pi(u: f64) -> f64 {
    sincos_2pi_f64(u).0
}

fn cos_2pi(u: f64) -> f64 {
    sincos_2pi_f64(u).1
}

#[test]
fn uniform_is_the_documented_formula() {
    for k in 0u32..1 << 23 {
        let x = (k << 9) | (k.wrapping_mul(0x9E37_79B9) >> 23);
        let spec = ((x >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0);
        assert_eq!(uniform(x).to_bits(), spec.to_bits(), "x = {x:#x}");
    }
    assert_eq!(uniform(0), 2f32.powi(-24));
    assert_eq!(uniform(u32::MAX), 1.0 - 2f32.powi(-24));
}

#[test]
fn ln_accuracy() {
    let (e, x) = max_error(uniform_values(), ln, f64::ln);
    assert!(e <= LN_MAX_ULP, "ln on uniform outputs: {e} ulp at {x:e}");
    let (e, x) = max_error(floats(f32::from_bits(1), f32::MAX, 97), ln, f64::ln);
    assert!(e <= LN_MAX_ULP, "ln: {e} ulp at {x:e}");
}

#[test]
fn ln_special_values() {
    assert_eq!(ln(0.0), f32::NEG_INFINITY);
    assert_eq!(ln(-0.0), f32::NEG_INFINITY);
    assert_eq!(ln(f32::INFINITY), f32::INFINITY);
    assert!(ln(-1.0).is_nan());
    assert!(ln(f32::NEG_INFINITY).is_nan());
    assert!(ln(f32::NAN).is_nan());
    assert_eq!(ln(1.0), 0.0);
}

#[test]
fn exp_accuracy() {
    for (lo, hi) in [(-87.33f32, -0.0f32), (0.0, 88.72)] {
        let (e, x) = max_error(floats(lo, hi, 67), exp, f64::exp);
        assert!(e <= EXP_MAX_ULP, "exp: {e} ulp at {x:e}");
    }
}

#[test]
fn exp_extremes() {
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(89.0), f32::INFINITY);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp(-104.0), 0.0);
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert!(exp(f32::NAN).is_nan());
    // Just below f32::MAX, and gradual underflow: within an ulp of the subnormal spacing.
    assert!(ulp_error(exp(88.72), f64::from(88.72f32).exp()) <= EXP_MAX_ULP);
    for x in [-87.5f32, -90.0, -95.0, -100.0, -103.0] {
        assert!(ulp_error(exp(x), f64::from(x).exp()) <= 1.0, "exp({x})");
    }
}

#[test]
fn sincos_accuracy() {
    let sin = |u| sincos_2pi(u).0;
    let cos = |u| sincos_2pi(u).1;
    for (name, f, exact) in [
        (
            "sin",
            &sin as &dyn Fn(f32) -> f32,
            sin_2pi as fn(f64) -> f64,
        ),
        ("cos", &cos, cos_2pi),
    ] {
        let (e, x) = max_error(uniform_values(), f, exact);
        assert!(
            e <= SINCOS_MAX_ULP,
            "{name} on uniform outputs: {e} ulp at {x:e}"
        );
        let (e, x) = max_error(floats(1e-30, 1.0, 61), f, exact);
        assert!(e <= SINCOS_MAX_ULP, "{name}: {e} ulp at {x:e}");
    }
}

#[test]
fn sincos_outside_unit_interval() {
    // Exact values at multiples of 1/4 turn, symmetry, and a few reductions of large arguments.
    assert_eq!(sincos_2pi(0.0), (0.0, 1.0));
    assert_eq!(sincos_2pi(0.25), (1.0, 0.0));
    assert_eq!(sincos_2pi(-0.25), (-1.0, 0.0));
    assert_eq!(sincos_2pi(0.5).1, -1.0);
    assert_eq!(sincos_2pi(3.0), (0.0, 1.0));
    for u in [
        1.3f32,
        -2.7,
        12345.678,
        -98765.43,
        3.0e6 + 0.25,
        1.0e9,
        -7.5e12,
    ] {
        let (s, c) = sincos_2pi(u);
        let (es, ec) = (sin_2pi(f64::from(u)), cos_2pi(f64::from(u)));
        // Large arguments reduce exactly; near zeros of sin/cos only the absolute error is small.
        assert!((f64::from(s) - es).abs() <= 2e-7, "sin 2π·{u}: {s} vs {es}");
        assert!((f64::from(c) - ec).abs() <= 2e-7, "cos 2π·{u}: {c} vs {ec}");
    }
    assert!(sincos_2pi(f32::INFINITY).0.is_nan());
    assert!(sincos_2pi(f32::NAN).1.is_nan());
}

/// `box_muller` skips work that cannot matter on its domain; it must still be exactly the
/// documented composition of the public functions.
#[test]
fn box_muller_is_the_documented_composition() {
    let u1s = [uniform(0), uniform(1 << 9), 0.3, 0.5, uniform(u32::MAX)];
    for (i, u2) in uniform_values().enumerate() {
        let u1 = u1s[i % u1s.len()];
        let r = (ln(u1) * -2.0).sqrt();
        let (s, c) = sincos_2pi(u2);
        let (z0, z1) = box_muller(u1, u2);
        assert_eq!(
            (z0.to_bits(), z1.to_bits()),
            ((r * c).to_bits(), (r * s).to_bits()),
            "u1 {u1}, u2 {u2}"
        );
    }
}

#[test]
fn box_muller_accuracy() {
    // A dense lattice of (u1, u2) from the uniform grid: ~4 million pairs.
    let mut worst: f64 = 0.0;
    for i in (0u32..1 << 23).step_by(4099) {
        let u1 = uniform(i << 9);
        for j in (0u32..1 << 23).step_by(4093) {
            let u2 = uniform(j << 9);
            let (z0, z1) = box_muller(u1, u2);
            let r = (-2.0 * f64::from(u1).ln()).sqrt();
            let (e0, e1) = (r * cos_2pi(f64::from(u2)), r * sin_2pi(f64::from(u2)));
            worst = worst.max(ulp_error(z0, e0)).max(ulp_error(z1, e1));
        }
    }
    assert!(worst <= BOX_MULLER_MAX_ULP, "box_muller: {worst} ulp");
    // The truncation documented in `normal`: |z| ≤ sqrt(-2 ln 2^-24).
    let (z, _) = box_muller(uniform(0), 0.0);
    assert!((f64::from(z) - (48.0 * core::f64::consts::LN_2).sqrt()).abs() < 1e-6);
}

/// Every `f32` of each documented domain; prints the table of the `math` module docs.
#[test]
#[ignore = "exhaustive: about two minutes on two cores in release; run with --release --ignored --nocapture"]
fn exhaustive_error_table() {
    type Case = (&'static str, f32, f32, fn(f32) -> f32, fn(f64) -> f64);
    let cases: [Case; 6] = [
        ("ln", f32::from_bits(1), f32::MAX, ln, f64::ln),
        ("exp (negative)", -87.33, -0.0, exp, f64::exp),
        ("exp (positive)", 0.0, 88.72, exp, f64::exp),
        (
            "sin 2πu",
            f32::from_bits(1),
            1.0,
            |u| sincos_2pi(u).0,
            sin_2pi,
        ),
        (
            "cos 2πu",
            f32::from_bits(1),
            1.0,
            |u| sincos_2pi(u).1,
            cos_2pi,
        ),
        ("ln (uniform outputs)", 0.0, 0.0, ln, f64::ln),
    ];

    for (name, lo, hi, f, exact) in cases {
        let (e, x) = if lo == hi {
            max_error(uniform_values(), f, exact)
        } else {
            let (a, b) = (
                lo.to_bits().min(hi.to_bits()),
                lo.to_bits().max(hi.to_bits()),
            );
            let mid = a + (b - a) / 2;
            let halves = [(a, mid), (mid + 1, b)];
            std::thread::scope(|s| {
                let handles = halves.map(|(p, q)| {
                    s.spawn(move || max_error((p..=q).map(f32::from_bits), f, exact))
                });
                handles
                    .map(|h| h.join().expect("worker"))
                    .into_iter()
                    .fold((0.0, 0.0), |m, e| if e.0 > m.0 { e } else { m })
            })
        };
        println!("{name:22} [{lo:e}, {hi:e}]: max {e:.3} ulp at {x:e}");
    }
}
