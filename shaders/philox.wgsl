// Philox4x32-10 and the uniform transform of cpu-kernels: integer operations and one exact
// subtraction, so every GPU computes the CPU's very words and uniforms. The host assembles each
// Monte Carlo module as mul-wide-{halves,int64}.wgsl + this file + {mirror,native}-math.wgsl +
// montecarlo.wgsl (WGSL has no includes).

// Invocations per workgroup: a pipeline-overridable constant, so that the launch tuner can pick
// it per adapter (src/gpu/launch.rs). Every grid is one-dimensional and at most the device's
// per-dimension limit; invocations cover the rest with a grid-stride loop.
override WG: u32 = 256u;

// mirrors cpu_kernels::philox::{PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1}
const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// mirrors cpu_kernels::philox::philox4x32_10 (the portable lane loop, one lane)
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if round > 0u {
            k += vec2<u32>(PHILOX_W0, PHILOX_W1);
        }
        let p0 = mul_wide(PHILOX_M0, c.x);
        let p1 = mul_wide(PHILOX_M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// mirrors cpu_kernels::normal::uniform
fn uniform01(x: u32) -> f32 {
    return bitcast<f32>(0x3F800000u | (x >> 9u)) - 0.99999994f;
}

// ---- philox_words: raw Philox4x32-10 words for given counters ----------------------------------

struct PhiloxParams {
    key: vec2<u32>,
    count: u32,
}

@group(0) @binding(0) var<storage, read> philox_in: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> philox_out: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> philox_params: PhiloxParams;

@compute @workgroup_size(WG)
fn philox_words(@builtin(global_invocation_id) gid: vec3<u32>,
                @builtin(num_workgroups) groups: vec3<u32>) {
    let stride = groups.x * WG;
    for (var i = gid.x; i < philox_params.count; i += stride) {
        philox_out[i] = philox4x32_10(philox_in[i], philox_params.key);
    }
}
