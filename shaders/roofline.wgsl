// The roofline kernel, mirroring cpu_kernels::roofline::roofline: every element is read once, put
// through `fmas` dependent fused multiply-adds x = x·alpha + beta, and written once, so `fmas`
// sets the arithmetic intensity (2·fmas flops per 8 bytes), as in mixbench and the ERT.
// WGSL's fma becomes SPIR-V's Fma, which a driver may split into a multiply and an add (lavapipe
// does): the results are then within fmas·ε of the CPU's single-rounding f32::mul_add
// (tests/gpu.rs), and on hardware that fuses, equal to them.
//
// The host rewrites the width line (src/gpu/roofline.rs): one element or a vec2/vec4 per
// invocation step, whose lanes are independent FMA chains. Buffers hold a whole number of vec4s
// (src/gpu/context.rs, `padded`), so no scalar tail is needed.
alias V = f32;

// Invocations per workgroup: a pipeline constant, chosen per adapter by the launch tuner.
override WG: u32 = 256u;

struct Params {
    // Vectors (of the width above) in this window.
    n: u32,
    fmas: u32,
    alpha: f32,
    beta: f32,
}

@group(0) @binding(0) var<storage, read_write> x: array<V>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn roofline(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WG) {
        var v = x[i];
        for (var k = 0u; k < params.fmas; k++) {
            v = fma(v, V(params.alpha), V(params.beta));
        }
        x[i] = v;
    }
}
