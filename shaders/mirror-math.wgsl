// The normal draws of the mirror path: the branch-free ln/exp/sincos and Box–Muller of
// cpu-kernels, ported operation for operation so that a GPU with IEEE-correctly rounded + − ×
// draws the very numbers the CPU draws.
//
// Rules kept from cpu_kernels::math: every expression is evaluated as the Rust one is written
// (same parenthesisation, same constants: `f`-suffixed literals, which naga parses straight to the
// nearest f32 exactly as rustc does). WGSL lets a compiler contract a * b + c into an FMA and
// reassociate sums (lavapipe does both: unguarded, 45% of sin/cos and 35% of exp results moved by
// up to 3 ulp), and it has no `precise`. So every operand of a float addition is a constant, an
// exact product, or a value that went through opaque(): then no addition has a product or another
// sum as an operand, and neither rewrite can apply. What remains is sqrt, which WGSL lets be off by
// a few ulp (correctly rounded on lavapipe, where every draw is the CPU's, bit for bit).

// Always 0: each entry point that does float math sets it from its uniform parameters, so no
// compiler can know it.
var<private> zero_bits: u32;

// x, rounded and hidden: XOR with a value the compiler cannot know stops it from fusing x into
// the addition that consumes it or reassociating across it, for one integer operation.
fn opaque(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ zero_bits);
}

// opaque() lane by lane.
fn opaque4(v: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(v) ^ vec4<u32>(zero_bits));
}

// cpu_kernels::math splits ln 2 as LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so its
// product with an integer below 2^15 is exact.
const LN2_HI: f32 = 0.693359375f;
const LN2_LO: f32 = -2.1219444e-4f;

// mirrors cpu_kernels::math::ln_normal (ln of a positive normal f32, no special cases)
fn ln_normal(x: f32) -> f32 {
    let bits = bitcast<i32>(x);
    let e = (bits >> 23u) - 126;
    let m = bitcast<f32>((bits & 0x007FFFFF) | 0x3F000000);
    let low = m < 0.70710677f;
    // Exact either way, so no rewrite can change them.
    let f = select(m - 1.0f, m + m - 1.0f, low);
    let ef = f32(select(e, e - 1, low));
    let z = f * f;
    let z2 = z * z;
    let q0 = opaque(opaque(f * -0.24999994f) + 0.3333333f);
    let q1 = opaque(f * -0.16668057f) + 0.20000714f;
    let q2 = opaque(opaque(f * -0.12420141f) + 0.14249323f);
    let q3 = opaque(f * -0.1151461f) + 0.116769984f;
    let p = opaque(opaque(q0 + opaque(q1 * z)) + opaque((q2 + opaque(q3 * z)) * z2))
        + opaque((z2 * z2) * 0.070376836f);
    var y = opaque(p * f * z);
    y = opaque(y + opaque(ef * LN2_LO));
    y = opaque(y + z * -0.5f);
    return opaque(f + y) + ef * LN2_HI;
}

// 2^k for k in [-126, 127], from the exponent field: mirrors cpu_kernels::math::pow2
fn pow2(k: i32) -> f32 {
    return bitcast<f32>((k + 127) << 23u);
}

// mirrors cpu_kernels::math::exp
//
// Rust rounds x·log2(e) to the nearest integer (ties to even) by adding and subtracting 1.5·2^23;
// WGSL's round() gives the same value, correctly rounded by specification, where the add/subtract
// pair is a sum a compiler may reassociate away.
fn exp_f32(x_in: f32) -> f32 {
    var x = select(x_in, 89.0f, x_in > 89.0f);
    x = opaque(select(x, -104.0f, x < -104.0f));
    let nf = round(x * 1.442695f);
    let n = i32(nf);
    let r = opaque(opaque(x - nf * LN2_HI) - opaque(nf * LN2_LO));
    let z = r * r;
    let a = opaque(r * 1.9875691e-4f) + 1.3981999e-3f;
    let b = opaque(opaque(r * 8.333452e-3f) + 4.1665796e-2f);
    let c = opaque(opaque(r * 0.16666666f) + 0.5f);
    let t1 = opaque(a * z) + b;
    let t2 = opaque(t1 * z) + c;
    let p = opaque(opaque(t2 * z) + r) + 1.0f;
    let half = n >> 1u;
    return p * pow2(half) * pow2(n - half);
}

// mirrors cpu_kernels::math's sin/cos coefficients (Cephes' sinf/cosf ones times powers of 2π)
const S1_HI: f32 = 6.2831855f;
const S1_LO: f32 = -1.7484555e-7f;
const S3: f32 = -41.34167f;
const S5: f32 = 81.593765f;
const S7: f32 = -75.445656f;
const C2: f32 = -19.739208f;
const C4: f32 = 64.93936f;
const C6: f32 = -85.44714f;
const C8: f32 = 59.3497f;

// mirrors cpu_kernels::math::sincos_2pi_reduced: (sin 2πt, cos 2πt) for t in [-1, 1]; the
// quadrant is rounded with round(), as in exp_f32.
fn sincos_2pi_reduced(t: f32) -> vec2<f32> {
    let qf = round(t * 4.0f);
    let q = i32(qf);
    let f = opaque(t) - qf * 0.25f;
    let z = f * f;
    let s7 = opaque(z * S7) + S5;
    let s5 = opaque(s7 * z) + S3;
    let s = opaque(f * S1_HI) + opaque(opaque(f * S1_LO) + opaque(s5 * z * f));
    let c8 = opaque(z * C8) + C6;
    let c6 = opaque(c8 * z) + C4;
    let c = opaque(opaque(c6 * z * z) + opaque(z * C2)) + 1.0f;
    let odd = (q & 1) != 0;
    let sin_flip = u32(q & 2) << 30u;
    let cos_flip = u32((q + 1) & 2) << 30u;
    return vec2<f32>(
        bitcast<f32>(bitcast<u32>(select(s, c, odd)) ^ sin_flip),
        bitcast<f32>(bitcast<u32>(select(c, s, odd)) ^ cos_flip),
    );
}

// mirrors cpu_kernels::normal::box_muller: (r·cos 2πu2, r·sin 2πu2), r = sqrt(ln(u1)·(−2)), for
// uniform01 outputs
fn box_muller(u1: f32, u2: f32) -> vec2<f32> {
    let r = sqrt(ln_normal(u1) * -2.0f);
    let sc = sincos_2pi_reduced(u2);
    return vec2<f32>(r * sc.y, r * sc.x);
}

// The four normals counter `counter` yields: paths 4m..4m+3 at one step, in path order (mirrors
// the pairing of cpu_kernels::mc::normal_at: (w0, w1) feed paths 4m, 4m+1, (w2, w3) the others).
fn normals4(counter: vec4<u32>, key: vec2<u32>) -> vec4<f32> {
    let w = philox4x32_10(counter, key);
    let a = box_muller(uniform01(w.x), uniform01(w.y));
    let b = box_muller(uniform01(w.z), uniform01(w.w));
    return vec4<f32>(a, b);
}

fn exp4(v: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(exp_f32(v.x), exp_f32(v.y), exp_f32(v.z), exp_f32(v.w));
}
