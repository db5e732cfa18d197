// Philox's wide multiply for the mirror, and for the native path where the adapter has no
// SHADER_INT64. The host prepends one mul-wide file to philox.wgsl.

// The 64-bit product a·b as (hi, lo). WGSL has no mulhi: the high word is assembled from the four
// 16×16-bit partial products, none of which overflows 32 bits (nor does `mid`, below 3·2^16).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xFFFFu;
    let a1 = a >> 16u;
    let b0 = b & 0xFFFFu;
    let b1 = b >> 16u;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let mid = ((a0 * b0) >> 16u) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
    let hi = a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}
