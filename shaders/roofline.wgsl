// The roofline kernel, mirroring cpu_kernels::roofline::roofline: every element is read once, put
// through `fmas` dependent fused multiply-adds x = x·alpha + beta, and written once, so `fmas`
// sets the arithmetic intensity (2·fmas flops per 8 bytes), as in mixbench and the ERT.
// WGSL's fma becomes SPIR-V's Fma, which a driver may split into a multiply and an add (lavapipe
// does): the results are then within fmas·ε of the CPU's single-rounding f32::mul_add
// (tests/gpu.rs), and on hardware that fuses, equal to them.

struct Params {
    // Elements in this window.
    n: u32,
    fmas: u32,
    alpha: f32,
    beta: f32,
}

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP)
fn roofline(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WORKGROUP) {
        var v = x[i];
        for (var k = 0u; k < params.fmas; k++) {
            v = fma(v, params.alpha, params.beta);
        }
        x[i] = v;
    }
}
