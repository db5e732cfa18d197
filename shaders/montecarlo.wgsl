// Monte Carlo entry points, over philox.wgsl and one of the two math files (prepended by the
// host): with mirror-math.wgsl they draw and price exactly as the CPU does; with native-math.wgsl,
// where opaque() is the identity, the compiler may contract and reassociate as it likes and the
// transcendentals are WGSL's built-ins. Each entry point has its own bindings in group 0: only
// the globals an entry point uses are part of its interface.

// ---- normals: z[path · steps + step], as cpu_kernels::mc::normal_at gives them ----------------

struct NormalParams {
    key: vec2<u32>,
    paths: u32,
    steps: u32,
    // Always 0; see opaque().
    zero: u32,
}

@group(0) @binding(0) var<storage, read_write> normal_out: array<f32>;
@group(0) @binding(1) var<uniform> normal_params: NormalParams;

// One invocation per (quad of paths, step): the host keeps paths · steps below 2^32, so every index
// fits a u32 and the counter's high word is 0.
@compute @workgroup_size(WG)
fn normals(@builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(num_workgroups) groups: vec3<u32>) {
    let p = normal_params;
    zero_bits = p.zero;
    let items = ((p.paths + 3u) / 4u) * p.steps;
    let stride = groups.x * WG;
    for (var i = gid.x; i < items; i += stride) {
        let m = i / p.steps;
        let step = i % p.steps;
        let z = normals4(vec4<u32>(m, 0u, step, 0u), p.key);
        for (var l = 0u; l < 4u; l++) {
            let path = 4u * m + l;
            if path < p.paths {
                normal_out[path * p.steps + step] = z[l];
            }
        }
    }
}

// ---- simulate: per-workgroup payoff sums ---------------------------------------------------------

// Mirrors the f32 constants of cpu_kernels::mc::PathConsts (computed on the host exactly as there).
struct SimParams {
    key: vec2<u32>,
    // Number of quads of paths (4m .. 4m+3 share a Philox counter), and the last one's index,
    // as (lo, hi) words.
    quads: vec2<u32>,
    last: vec2<u32>,
    // This dispatch's workgroups are workgroups group_first.. of the run's grid of groups_total
    // (all of it, or one rank's share): each sums exactly the paths it sums in the whole grid.
    group_first: u32,
    groups_total: u32,
    // Live paths in the last quad, 1 to 4.
    live_last: u32,
    steps: u32,
    drift: f32,
    vol: f32,
    s0: f32,
    strike: f32,
    inv_steps: f32,
    // 0 none (European, digital: S_T), 1 arithmetic Asian, 2 geometric Asian.
    average: u32,
    put: u32,
    // Pays 1 where the vanilla pays anything.
    digital: u32,
    // Always 0; see opaque().
    zero: u32,
}

// A sum (hi + lo, lo carrying the rounding errors of hi) and a path count.
struct Partial {
    sum: vec2<f32>,
    sum_sq: vec2<f32>,
    count: u32,
}

@group(0) @binding(0) var<storage, read_write> partials: array<Partial>;
@group(0) @binding(1) var<uniform> sim: SimParams;

var<workgroup> shared_partials: array<Partial, WG>;

// (hi, lo) + x: Knuth's two-sum moves the exact rounding error of hi + x into lo (opaque() keeps a
// compiler that may reassociate from folding that error term to zero).
fn accumulate(acc: vec2<f32>, x: f32) -> vec2<f32> {
    let s = opaque(acc.x + x);
    let back = opaque(s - acc.x);
    let err = opaque(acc.x - opaque(s - back)) + opaque(x - back);
    return vec2<f32>(s, acc.y + err);
}

fn merge(a: Partial, b: Partial) -> Partial {
    let sum = accumulate(vec2<f32>(a.sum.x, a.sum.y + b.sum.y), b.sum.x);
    let sum_sq = accumulate(vec2<f32>(a.sum_sq.x, a.sum_sq.y + b.sum_sq.y), b.sum_sq.x);
    return Partial(sum, sum_sq, a.count + b.count);
}

// mirrors cpu_kernels::mc::Paths::{step, payoff} for the four paths of quad m: lanes in path
// order, every operation lane-wise; on the mirror the same IEEE operation per path as on the CPU
// (opaque4 as opaque() in mirror-math.wgsl: no fused or reassociated additions)
fn quad_payoffs(m: vec2<u32>) -> vec4<f32> {
    var y = vec4<f32>(0.0f);
    var acc = vec4<f32>(0.0f);
    for (var step = 0u; step < sim.steps; step++) {
        let z = normals4(vec4<u32>(m.x, m.y, step, 0u), sim.key);
        y = opaque4(y + opaque4(opaque4(z * sim.vol) + sim.drift));
        if sim.average == 1u {
            acc = opaque4(acc + opaque4(exp4(y)));
        } else if sim.average == 2u {
            acc = opaque4(acc + y);
        }
    }
    var x: vec4<f32>;
    if sim.average == 0u {
        x = exp4(y) * sim.s0;
    } else if sim.average == 1u {
        x = (acc * sim.inv_steps) * sim.s0;
    } else {
        x = exp4(acc * sim.inv_steps) * sim.s0;
    }
    x = opaque4(x);
    // x against K itself: a GPU may flush a subnormal x - K to 0, which would flip a digital.
    let k = vec4<f32>(sim.strike);
    let put = sim.put != 0u;
    let pays = select(x > k, x < k, put);
    let value = select(select(x - k, k - x, put), vec4<f32>(1.0f), sim.digital != 0u);
    return select(vec4<f32>(0.0f), value, pays);
}

// Each invocation (index i in the run's grid) simulates quads i, i + stride, … (64-bit quad
// indices), accumulating its payoffs in order with two-sum; the workgroup then folds its partials
// in a fixed tree. Deterministic for a given grid: no atomics, every addition in a fixed order,
// whichever workgroups of the grid one dispatch runs.
@compute @workgroup_size(WG)
fn simulate(@builtin(local_invocation_index) lid: u32,
            @builtin(workgroup_id) wid: vec3<u32>) {
    zero_bits = sim.zero;
    let stride = sim.groups_total * WG;
    var mine = Partial(vec2<f32>(0.0f), vec2<f32>(0.0f), 0u);
    var m = vec2<u32>((sim.group_first + wid.x) * WG + lid, 0u);
    while m.y < sim.quads.y || (m.y == sim.quads.y && m.x < sim.quads.x) {
        let pay = quad_payoffs(m);
        let live = select(4u, sim.live_last, all(m == sim.last));
        for (var l = 0u; l < live; l++) {
            mine.sum = accumulate(mine.sum, pay[l]);
            mine.sum_sq = accumulate(mine.sum_sq, opaque(pay[l] * pay[l]));
        }
        mine.count += live;
        let next = m.x + stride;
        m = vec2<u32>(next, m.y + select(0u, 1u, next < m.x));
    }
    shared_partials[lid] = mine;
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        workgroupBarrier();
        if lid < half {
            shared_partials[lid] = merge(shared_partials[lid], shared_partials[lid + half]);
        }
    }
    if lid == 0u {
        partials[wid.x] = shared_partials[0];
    }
}
