//! Philox4x32 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), bit-exact
//! with the Random123 reference implementation.
//!
//! One round maps counter `(c0, c1, c2, c3)` and key `(k0, k1)` to
//! `(hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0))`, where `hi`/`lo` are the
//! upper/lower 32 bits of the 64-bit product. Between rounds the key is bumped by
//! `(W0, W1)` (wrapping). The first round uses the key as given.

/// Round multiplier applied to counter word 0.
pub const PHILOX_M0: u32 = 0xD2511F53;
/// Round multiplier applied to counter word 2.
pub const PHILOX_M1: u32 = 0xCD9E8D57;
/// Key increment (Weyl sequence) for key word 0: the golden ratio.
pub const PHILOX_W0: u32 = 0x9E3779B9;
/// Key increment for key word 1: `sqrt(3) - 1`.
pub const PHILOX_W1: u32 = 0xBB67AE85;

/// Philox4x32 with `rounds` rounds (Random123 uses 7 and 10 in its known-answer tests).
#[inline]
pub fn philox4x32(ctr: [u32; 4], key: [u32; 2], rounds: u32) -> [u32; 4] {
    let out = philox_lanes(&ctr.map(|c| [c]), key, rounds);
    out.map(|[w]| w)
}

/// Philox4x32-10, the variant every HexPylot kernel uses.
#[inline]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    philox4x32(ctr, key, 10)
}

/// Philox4x32-10 on `L` independent counters at once, structure-of-arrays: `ctr[w][l]` is word
/// `w` of lane `l`'s counter, and likewise for the result. All lanes share `key`.
///
/// Lane `l` of the result equals `philox4x32_10([ctr[0][l], .., ctr[3][l]], key)`; the layout
/// exists for SIMD: with AVX2 and `L` a multiple of 8, eight lanes go through each
/// instruction (hand-scheduled, see the source), otherwise the compiler vectorizes the lane
/// loops.
#[inline(always)]
pub fn philox4x32_10_lanes<const L: usize>(ctr: &[[u32; L]; 4], key: [u32; 2]) -> [[u32; L]; 4] {
    philox_lanes(ctr, key, 10)
}

#[inline(always)]
fn philox_lanes<const L: usize>(ctr: &[[u32; L]; 4], key: [u32; 2], rounds: u32) -> [[u32; L]; 4] {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    if L.is_multiple_of(8) {
        return avx2::philox_lanes(ctr, key, rounds);
    }
    let [mut c0, mut c1, mut c2, mut c3] = *ctr;
    let [mut k0, mut k1] = key;
    for round in 0..rounds {
        if round > 0 {
            k0 = k0.wrapping_add(PHILOX_W0);
            k1 = k1.wrapping_add(PHILOX_W1);
        }
        for l in 0..L {
            let p0 = u64::from(PHILOX_M0) * u64::from(c0[l]);
            let p1 = u64::from(PHILOX_M1) * u64::from(c2[l]);
            let next = [
                (p1 >> 32) as u32 ^ c1[l] ^ k0,
                p1 as u32,
                (p0 >> 32) as u32 ^ c3[l] ^ k1,
                p0 as u32,
            ];
            [c0[l], c1[l], c2[l], c3[l]] = next;
        }
    }
    [c0, c1, c2, c3]
}

/// Why hand-written: compiled from the portable form, the compiler derives the high halves of
/// the products from one pair of `vpmuludq` and recomputes the products for the low halves, then
/// re-packs both into 32-bit lanes every round; the multiplies and shuffles, not the math that
/// consumes the numbers, then dominate the Monte Carlo kernel.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod avx2 {
    use super::{PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1};
    use core::arch::x86_64::{
        __m256i, _mm256_blend_epi32, _mm256_loadu_si256, _mm256_mul_epu32, _mm256_set1_epi32,
        _mm256_slli_epi64, _mm256_srli_epi64, _mm256_storeu_si256, _mm256_xor_si256,
    };

    /// [`super::philox_lanes`] for `L` a multiple of 8, eight lanes at a time.
    ///
    /// Each word of eight lanes is kept as two vectors of four 64-bit slots, the even lanes and
    /// the odd lanes, each value in the low half of its slot. `vpmuludq` reads only low halves
    /// and yields the full 64-bit product, whose low half is the next round's low word as is
    /// and whose high half one shift moves down, so a round needs no shuffles; the junk that
    /// accumulates in the high halves never reaches a low half and is dropped at the end.
    #[inline(always)]
    pub(super) fn philox_lanes<const L: usize>(
        ctr: &[[u32; L]; 4],
        key: [u32; 2],
        rounds: u32,
    ) -> [[u32; L]; 4] {
        let mut out = [[0; L]; 4];
        for chunk in 0..L / 8 {
            let lanes = chunk * 8..chunk * 8 + 8;
            // SAFETY: AVX2 is enabled for the whole build (the cfg on this module), which is
            // all the intrinsics require; each load and store addresses 8 consecutive `u32`
            // (32 bytes) inside an `[u32; L]`, and the unaligned forms accept any alignment.
            unsafe {
                let load = |w: &[u32; L]| {
                    let v = _mm256_loadu_si256(w[lanes.clone()].as_ptr().cast());
                    (v, _mm256_srli_epi64::<32>(v))
                };
                let [mut c0, mut c1, mut c2, mut c3] = [0, 1, 2, 3].map(|w| load(&ctr[w]));
                let (m0, m1) = (
                    _mm256_set1_epi32(PHILOX_M0 as i32),
                    _mm256_set1_epi32(PHILOX_M1 as i32),
                );
                let [mut k0, mut k1] = key;
                for round in 0..rounds {
                    if round > 0 {
                        k0 = k0.wrapping_add(PHILOX_W0);
                        k1 = k1.wrapping_add(PHILOX_W1);
                    }
                    let (kv0, kv1) = (_mm256_set1_epi32(k0 as i32), _mm256_set1_epi32(k1 as i32));
                    // (even, odd) halves: the products, then the next words.
                    let p0 = (_mm256_mul_epu32(c0.0, m0), _mm256_mul_epu32(c0.1, m0));
                    let p1 = (_mm256_mul_epu32(c2.0, m1), _mm256_mul_epu32(c2.1, m1));
                    let mix = |p: __m256i, c: __m256i, k: __m256i| {
                        _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64::<32>(p), c), k)
                    };
                    let n0 = (mix(p1.0, c1.0, kv0), mix(p1.1, c1.1, kv0));
                    let n2 = (mix(p0.0, c3.0, kv1), mix(p0.1, c3.1, kv1));
                    (c0, c1, c2, c3) = (n0, p1, n2, p0);
                }
                for (w, (even, odd)) in [c0, c1, c2, c3].into_iter().enumerate() {
                    let packed =
                        _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
                    _mm256_storeu_si256(out[w][lanes.clone()].as_mut_ptr().cast(), packed);
                }
            }
        }
        out
    }
}
