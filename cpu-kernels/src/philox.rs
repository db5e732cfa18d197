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

/// Philox4x32-10 as a [`rand_core`] generator: [`rand_core::TryRng`] with
/// `Error = Infallible`, so [`rand_core::Rng`] (rand 0.10's core trait, formerly `RngCore`) and
/// everything in `rand` built on it (`RngExt::random`, distributions) work, and
/// [`rand_core::SeedableRng`]. It wraps [`philox4x32_10`]: there is one Philox implementation.
///
/// # The stream
///
/// The state is a key `(k0, k1)`, a 128-bit block counter `c` and a position `i ∈ 0..4` in that
/// block. The counter is the little-endian word array `[c0, c1, c2, c3]`
/// (`c = c0 + c1·2^32 + c2·2^64 + c3·2^96`, [`PhiloxRng::counter`]), the block is
/// `philox4x32_10([c0, c1, c2, c3], [k0, k1])`, and the generator serves its four words in
/// order, word 0 first; after word 3 the counter is incremented (wrapping at 2^128, carries from
/// word 0 up) and the next block begins. So:
///
/// * `next_u32` returns block words in order: `philox4x32_10(c)[0..4]`, then
///   `philox4x32_10(c + 1)[0..4]`, …
/// * `next_u64` takes two consecutive `u32` words `lo` then `hi` and returns
///   `lo | hi << 32` (rand_core's little-endian convention; the two may straddle a block
///   boundary).
/// * `fill_bytes` writes consecutive words as little-endian bytes; a tail of 1–3 bytes takes
///   the first bytes of one more whole word, whose other bytes are discarded.
///
/// Word position `p` of the stream is block `c = p div 4`, word `p mod 4`: [`PhiloxRng::seek`]
/// jumps there in O(1) (this is what makes the generator counter-based).
///
/// # Seeds
///
/// `SeedableRng::Seed` is `[u8; 8]`, the key as two little-endian `u32`s: bytes 0–3 are `k0`,
/// bytes 4–7 are `k1`; the counter starts at 0. `seed_from_u64(s)` uses the key
/// `(s mod 2^32, s div 2^32)` directly, no scrambling: Philox needs none (every key gives an
/// independent stream) and this is the key HexPylot's Monte Carlo kernel uses for `--seed s`, so
/// `PhiloxRng::seed_from_u64(s)` with counter `(m mod 2^32, m div 2^32, j, 0)` yields the very
/// words that price paths `4m…4m+3` at step `j` (see [`crate::mc`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhiloxRng {
    key: [u32; 2],
    counter: [u32; 4],
    /// `philox4x32_10(counter, key)`, always current.
    block: [u32; 4],
    /// The next word of `block` to serve, `0..4`.
    index: usize,
}

impl PhiloxRng {
    /// The generator for `key`, at counter 0, word 0.
    pub fn new(key: [u32; 2]) -> Self {
        Self::with_counter(key, [0; 4])
    }

    /// The generator for `key` whose next word is word 0 of block `counter`.
    pub fn with_counter(key: [u32; 2], counter: [u32; 4]) -> Self {
        Self {
            key,
            counter,
            block: philox4x32_10(counter, key),
            index: 0,
        }
    }

    /// The key.
    pub fn key(&self) -> [u32; 2] {
        self.key
    }

    /// The counter of the block the next word comes from.
    pub fn counter(&self) -> [u32; 4] {
        self.counter
    }

    /// Which word (`0..4`) of [`counter`](Self::counter)'s block comes next.
    pub fn word_index(&self) -> usize {
        self.index
    }

    /// Moves to word 0 of block `counter` (the key is kept).
    pub fn set_counter(&mut self, counter: [u32; 4]) {
        *self = Self::with_counter(self.key, counter);
    }

    /// Moves to word position `word` of the stream: block `word / 4` (as a 128-bit little-endian
    /// counter), word `word % 4`. Reaches blocks below 2^126, i.e. `c3 < 2^30`; use
    /// [`set_counter`](Self::set_counter) beyond.
    pub fn seek(&mut self, word: u128) {
        let block = word >> 2;
        self.set_counter(core::array::from_fn(|i| (block >> (32 * i)) as u32));
        self.index = (word & 3) as usize;
    }

    #[inline]
    fn word(&mut self) -> u32 {
        let w = self.block[self.index];
        self.index += 1;
        if self.index == 4 {
            let mut carry = true;
            for c in &mut self.counter {
                (*c, carry) = c.overflowing_add(u32::from(carry));
            }
            self.block = philox4x32_10(self.counter, self.key);
            self.index = 0;
        }
        w
    }
}

impl rand_core::TryRng for PhiloxRng {
    type Error = core::convert::Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.word())
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let lo = self.word();
        let hi = self.word();
        Ok(u64::from(lo) | u64::from(hi) << 32)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        let mut chunks = dst.chunks_exact_mut(4);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.word().to_le_bytes());
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            let bytes = self.word().to_le_bytes();
            tail.copy_from_slice(&bytes[..tail.len()]);
        }
        Ok(())
    }
}

impl rand_core::SeedableRng for PhiloxRng {
    /// The key, `k0` then `k1`, each little-endian.
    type Seed = [u8; 8];

    fn from_seed(seed: [u8; 8]) -> Self {
        let word = |i: usize| u32::from_le_bytes([seed[i], seed[i + 1], seed[i + 2], seed[i + 3]]);
        Self::new([word(0), word(4)])
    }

    /// The key `(seed mod 2^32, seed div 2^32)`, as HexPylot's Monte Carlo kernel uses it.
    fn seed_from_u64(seed: u64) -> Self {
        Self::new([seed as u32, (seed >> 32) as u32])
    }
}
