// The normal draws of the native path, as a GPU programmer writes them: WGSL's built-in log,
// sqrt, cos, sin and exp, and no guard against contraction or reassociation (opaque() and
// opaque4() are the identity here). The draws pair Philox words exactly as the mirror's
// Box–Muller does, so the native path prices the CPU's paths with different rounding; the host
// bounds the difference from WGSL's accuracy rules (src/gpu/montecarlo.rs, native_path_error).

// Set by the entry points (the mirror needs it); nothing reads it here.
var<private> zero_bits: u32;

fn opaque(x: f32) -> f32 {
    return x;
}

fn opaque4(v: vec4<f32>) -> vec4<f32> {
    return v;
}

fn exp4(v: vec4<f32>) -> vec4<f32> {
    return exp(v);
}

const PI: f32 = 3.1415927f;

// The four normals counter `counter` yields: (r·cos 2πu2, r·sin 2πu2) for the word pairs
// (w0, w1) and (w2, w3), in path order. WGSL bounds cos and sin on [-π, π] only, so the angle is
// taken as π(2u2 - 1) = 2πu2 - π, whose cosine and sine are those of 2πu2 negated.
fn normals4(counter: vec4<u32>, key: vec2<u32>) -> vec4<f32> {
    let w = philox4x32_10(counter, key);
    let u1 = vec2<f32>(uniform01(w.x), uniform01(w.z));
    let u2 = vec2<f32>(uniform01(w.y), uniform01(w.w));
    let r = sqrt(log(u1) * -2.0f);
    let t = PI * (u2 * 2.0f - 1.0f);
    let c = -cos(t);
    let s = -sin(t);
    return vec4<f32>(r.x * c.x, r.x * s.x, r.y * c.y, r.y * s.y);
}
