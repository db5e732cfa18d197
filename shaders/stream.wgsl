// The stream set, BabelStream's definitions, mirroring cpu_kernels::stream (copy, scale, add,
// triad, dot, nstream). The host replaces the first line with `alias T = f64;` for f64 runs
// (on adapters with SHADER_F64); WGSL has no generics.
alias T = f32;

// One binding window of the three arrays: arrays larger than max_storage_buffer_binding_size run
// as several dispatches, each over its own window (src/gpu/stream.rs).
struct Params {
    // Elements in this window.
    n: u32,
    // Where this window's dot partials start in `partials`.
    partial_base: u32,
    scalar: T,
}

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> a: array<T>;
@group(0) @binding(1) var<storage, read_write> b: array<T>;
@group(0) @binding(2) var<storage, read_write> c: array<T>;
@group(0) @binding(3) var<storage, read_write> partials: array<T>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> scratch: array<T, WORKGROUP>;

// Every kernel walks its window with a grid-stride loop: the host launches at most the device's
// per-dimension group limit, and never an empty group (src/gpu/mod.rs, `groups`).

@compute @workgroup_size(WORKGROUP)
fn copy(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WORKGROUP) {
        c[i] = a[i];
    }
}

@compute @workgroup_size(WORKGROUP)
fn scale(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WORKGROUP) {
        b[i] = params.scalar * c[i];
    }
}

@compute @workgroup_size(WORKGROUP)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WORKGROUP) {
        c[i] = a[i] + b[i];
    }
}

@compute @workgroup_size(WORKGROUP)
fn triad(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WORKGROUP) {
        a[i] = b[i] + params.scalar * c[i];
    }
}

@compute @workgroup_size(WORKGROUP)
fn nstream(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < params.n; i += groups.x * WORKGROUP) {
        a[i] += b[i] + params.scalar * c[i];
    }
}

// Each invocation sums its grid-stride elements, the workgroup reduces them as a binary tree, and
// the host adds the per-workgroup partials in f64.
@compute @workgroup_size(WORKGROUP)
fn dot(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    var sum = T(0.0);
    for (var i = id.x; i < params.n; i += groups.x * WORKGROUP) {
        sum += a[i] * b[i];
    }
    scratch[lane] = sum;
    for (var half = WORKGROUP / 2u; half > 0u; half /= 2u) {
        workgroupBarrier();
        if lane < half {
            scratch[lane] += scratch[lane + half];
        }
    }
    if lane == 0u {
        partials[params.partial_base + group.x] = scratch[0];
    }
}
