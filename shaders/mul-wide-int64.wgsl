// Philox's wide multiply as a GPU programmer writes it, through WGSL's 64-bit integers (adapters
// with SHADER_INT64). Integer arithmetic is exact, so the words equal the 16-bit halves' and the
// CPU's (tests/gpu_montecarlo.rs checks both against the reference vectors).

// The 64-bit product a·b as (hi, lo).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let p = u64(a) * u64(b);
    return vec2<u32>(u32(p >> 32u), u32(p));
}
