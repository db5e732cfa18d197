// The stream set, BabelStream's definitions, mirroring cpu_kernels::stream (copy, scale, add,
// triad, dot, nstream). WGSL has no generics, so the host rewrites the three marked lines
// (src/gpu/stream.rs): the precision (`alias T = f64;` on adapters with SHADER_F64) and the
// width, one element or a vec2/vec4 of them per load and store (the launch tuner's choice).
alias T = f32;
alias V = T;
fn lanes(v: V) -> T { return v; }

// Invocations per workgroup: a pipeline constant, chosen per adapter by the launch tuner.
override WG: u32 = 256u;

// One binding window of the three arrays: arrays larger than max_storage_buffer_binding_size run
// as several dispatches, each over its own window. Buffers hold a whole number of vec4s, the
// elements past n zero (src/gpu/context.rs, `padded`), so vector loads need no scalar tail:
// the padding adds zeros to dot and stays zero under every kernel.
struct Params {
    // Vectors (of the width above) in this window.
    n: u32,
    // Where this window's dot partials start in `partials`.
    partial_base: u32,
    scalar: T,
}

@group(0) @binding(0) var<storage, read_write> a: array<V>;
@group(0) @binding(1) var<storage, read_write> b: array<V>;
@group(0) @binding(2) var<storage, read_write> c: array<V>;
@group(0) @binding(3) var<storage, read_write> partials: array<T>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> scratch: array<T, WG>;

// Every kernel walks its window with a grid-stride loop: the host launches at most the device's
// per-dimension group limit (and fewer where the tuner gives each invocation several vectors),
// and never an empty group (src/gpu/launch.rs, `groups`).

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WG) {
        c[i] = a[i];
    }
}

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WG) {
        b[i] = params.scalar * c[i];
    }
}

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WG) {
        c[i] = a[i] + b[i];
    }
}

@compute @workgroup_size(WG)
fn triad(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WG) {
        a[i] = b[i] + params.scalar * c[i];
    }
}

@compute @workgroup_size(WG)
fn nstream(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WG) {
        a[i] += b[i] + params.scalar * c[i];
    }
}

// One invocation's share of the dot product: its grid-stride vectors' products summed lane by
// lane, then the lanes added.
fn dot_invocation(first: u32, stride: u32) -> T {
    var sum = V(0.0);
    for (var i = first; i < params.n; i += stride) {
        sum += a[i] * b[i];
    }
    return lanes(sum);
}

// The workgroup reduces its invocations' sums as a binary tree (WG is a power of two), and the
// host adds the per-workgroup partials in f64.
@compute @workgroup_size(WG)
fn dot(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    scratch[lane] = dot_invocation(id.x, groups.x * WG);
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        workgroupBarrier();
        if lane < half {
            scratch[lane] += scratch[lane + half];
        }
    }
    if lane == 0u {
        partials[params.partial_base + group.x] = scratch[0];
    }
}
