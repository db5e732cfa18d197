//! Philox4x32 against the Random123 known-answer vectors and an independently generated stream.

use cpu_kernels::philox::{philox4x32, philox4x32_10, philox4x32_10_lanes};

fn reference(name: &str) -> String {
    let path = format!("{}/../tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn hex(s: &str) -> u32 {
    u32::from_str_radix(s, 16).unwrap_or_else(|e| panic!("bad hex word {s:?}: {e}"))
}

/// Checks every `philox4x32` line of a KAT file; returns how many were checked per round count.
fn check_kat(file: &str) -> [usize; 2] {
    let mut checked = [0; 2];
    for line in reference(file).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first() != Some(&"philox4x32") {
            continue;
        }
        assert_eq!(fields.len(), 12, "malformed line {line:?}");
        let rounds: u32 = fields[1].parse().expect("round count");
        let w: Vec<u32> = fields[2..].iter().map(|f| hex(f)).collect();
        let (ctr, key, expected) = (
            [w[0], w[1], w[2], w[3]],
            [w[4], w[5]],
            [w[6], w[7], w[8], w[9]],
        );
        assert_eq!(philox4x32(ctr, key, rounds), expected, "{file}: {line}");
        if rounds == 10 {
            assert_eq!(philox4x32_10(ctr, key), expected, "{file}: {line}");
        }
        match rounds {
            7 => checked[0] += 1,
            10 => checked[1] += 1,
            r => panic!("unexpected round count {r}"),
        }
    }
    checked
}

#[test]
fn known_answers() {
    assert_eq!(check_kat("philox_kat.txt"), [3, 3]);
    assert_eq!(check_kat("philox_kat_old.txt"), [52, 52]);
}

#[test]
fn reference_stream() {
    let text = reference("philox_stream.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("i,out0,out1,out2,out3"));
    let key = [0xDEAD_BEEF, 0x1234_5678];
    let mut rows = 0;
    for line in lines {
        let v: Vec<u32> = line
            .split(',')
            .map(|f| f.trim().parse().expect("decimal word"))
            .collect();
        assert_eq!(v.len(), 5, "malformed row {line:?}");
        assert_eq!(
            philox4x32_10([v[0], 0, 0, 0], key),
            [v[1], v[2], v[3], v[4]],
            "row {}",
            v[0]
        );
        rows += 1;
    }
    assert_eq!(rows, 1024);
}

/// The lane version on arbitrary counters equals the scalar version lane by lane, for a width
/// that takes the SIMD path (16) and widths that do not (1, 3).
#[test]
fn lanes_match_scalar() {
    fn check<const L: usize>(seed: u32) {
        let word = |w: u32, l: usize| {
            seed.wrapping_mul(0x9E37_79B9).rotate_left(w * 7 + l as u32) ^ (l as u32 * 0x0101_0101)
        };
        let ctr: [[u32; L]; 4] =
            core::array::from_fn(|w| core::array::from_fn(|l| word(w as u32, l)));
        let key = [seed, !seed.rotate_left(13)];
        let out = philox4x32_10_lanes(&ctr, key);
        for l in 0..L {
            let scalar = philox4x32_10([ctr[0][l], ctr[1][l], ctr[2][l], ctr[3][l]], key);
            assert_eq!(
                [out[0][l], out[1][l], out[2][l], out[3][l]],
                scalar,
                "lane {l} of {L}, seed {seed}"
            );
        }
    }
    for seed in [0, 1, 0xFFFF_FFFF, 0x1234_5678, 0xDEAD_BEEF] {
        check::<16>(seed);
        check::<8>(seed);
        check::<3>(seed);
        check::<1>(seed);
    }
}

// ---- PhiloxRng: the same generator behind rand_core's traits ------------------------------------

mod rng {
    use super::{hex, reference};
    use cpu_kernels::philox::{PhiloxRng, philox4x32_10};
    use rand_core::{Rng, SeedableRng};

    const STREAM_KEY: [u32; 2] = [0xDEAD_BEEF, 0x1234_5678];

    /// The rows of philox_stream.csv, words in order: row i is the block at counter (i, 0, 0, 0).
    fn stream_words() -> Vec<u32> {
        let text = reference("philox_stream.csv");
        let words: Vec<u32> = text
            .lines()
            .skip(1)
            .flat_map(|line| {
                line.split(',')
                    .skip(1)
                    .map(|f| f.trim().parse::<u32>().expect("decimal word"))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(words.len(), 4 * 1024);
        words
    }

    /// The philox4x32 10-round KAT lines: (counter, key, expected block).
    fn kat_lines() -> Vec<([u32; 4], [u32; 2], [u32; 4])> {
        let mut out = Vec::new();
        for file in ["philox_kat.txt", "philox_kat_old.txt"] {
            for line in reference(file).lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.first() != Some(&"philox4x32") || f[1] != "10" {
                    continue;
                }
                let w: Vec<u32> = f[2..].iter().map(|s| hex(s)).collect();
                out.push((
                    [w[0], w[1], w[2], w[3]],
                    [w[4], w[5]],
                    [w[6], w[7], w[8], w[9]],
                ));
            }
        }
        assert_eq!(out.len(), 3 + 52);
        out
    }

    #[test]
    fn next_u32_serves_the_block_words_in_order() {
        let mut rng = PhiloxRng::new(STREAM_KEY);
        for (p, &w) in stream_words().iter().enumerate() {
            assert_eq!(rng.counter(), [(p / 4) as u32, 0, 0, 0], "word {p}");
            assert_eq!(rng.word_index(), p % 4, "word {p}");
            assert_eq!(rng.next_u32(), w, "word {p}");
        }
    }

    #[test]
    fn known_answers_through_the_rng() {
        for (ctr, key, expected) in kat_lines() {
            let mut rng = PhiloxRng::with_counter(key, ctr);
            let got: [u32; 4] = core::array::from_fn(|_| rng.next_u32());
            assert_eq!(got, expected, "counter {ctr:08x?} key {key:08x?}");
        }
    }

    /// The counter is one 128-bit little-endian integer: the carry runs from word 0 up and the
    /// all-ones counter wraps to zero.
    #[test]
    fn counter_increments_with_carry() {
        let key = [1, 2];
        for (from, to) in [
            ([u32::MAX, 0, 0, 0], [0, 1, 0, 0]),
            ([u32::MAX, u32::MAX, 7, 0], [0, 0, 8, 0]),
            ([u32::MAX; 4], [0; 4]),
        ] {
            let mut rng = PhiloxRng::with_counter(key, from);
            for _ in 0..4 {
                rng.next_u32();
            }
            assert_eq!(rng.counter(), to);
            assert_eq!(rng.next_u32(), philox4x32_10(to, key)[0]);
        }
    }

    #[test]
    fn next_u64_is_two_words_low_first() {
        let words = stream_words();
        let mut rng = PhiloxRng::new(STREAM_KEY);
        // Start at word 1, so that every other u64 straddles a block boundary.
        rng.next_u32();
        for p in (1..words.len() - 1).step_by(2) {
            let expected = u64::from(words[p]) | u64::from(words[p + 1]) << 32;
            assert_eq!(rng.next_u64(), expected, "words {p}, {}", p + 1);
        }
    }

    #[test]
    fn fill_bytes_writes_little_endian_words() {
        let words = stream_words();
        let le: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut rng = PhiloxRng::new(STREAM_KEY);
        let mut buf = vec![0u8; 1000];
        rng.fill_bytes(&mut buf);
        assert_eq!(buf, le[..1000]);
        // A 7-byte tail consumes two whole words: the next u32 is word 250 + 2.
        let mut tail = [0u8; 7];
        rng.fill_bytes(&mut tail);
        assert_eq!(tail, le[1000..1007]);
        assert_eq!(rng.next_u32(), words[252]);
        let mut empty = [0u8; 0];
        rng.fill_bytes(&mut empty);
        assert_eq!(rng.next_u32(), words[253], "an empty fill consumes nothing");
    }

    #[test]
    fn seeking_reproduces_the_stream() {
        let words = stream_words();
        let mut rng = PhiloxRng::new(STREAM_KEY);
        for p in [0usize, 1, 3, 4, 5, 1000, 2047, 4093] {
            rng.seek(p as u128);
            assert_eq!(
                (rng.counter()[0] as usize, rng.word_index()),
                (p / 4, p % 4)
            );
            let got: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
            assert_eq!(got, words[p..p + 3], "seek({p})");
        }
        // set_counter restarts a block at word 0; seeking far sets the high counter words.
        rng.set_counter([17, 0, 0, 0]);
        assert_eq!(rng.next_u32(), words[68]);
        rng.seek((3u128 << 64 | 5u128 << 32 | 9) * 4 + 2);
        assert_eq!((rng.counter(), rng.word_index()), ([9, 5, 3, 0], 2));
        assert_eq!(rng.next_u32(), philox4x32_10([9, 5, 3, 0], STREAM_KEY)[2]);
        // A clone continues identically.
        let mut copy = rng.clone();
        assert_eq!(copy.next_u64(), rng.next_u64());
    }

    #[test]
    fn seeds_are_the_key() {
        let words = stream_words();
        // from_seed: k0 = bytes 0..4, k1 = bytes 4..8, little-endian; counter 0.
        let seed = [0xEF, 0xBE, 0xAD, 0xDE, 0x78, 0x56, 0x34, 0x12];
        let mut rng = PhiloxRng::from_seed(seed);
        assert_eq!((rng.key(), rng.counter()), (STREAM_KEY, [0; 4]));
        assert_eq!(rng.next_u32(), words[0]);
        // seed_from_u64(s): key (s mod 2^32, s div 2^32), as the Monte Carlo kernel's --seed.
        let mut rng = PhiloxRng::seed_from_u64(0x1234_5678_DEAD_BEEF);
        assert_eq!(rng.key(), STREAM_KEY);
        let got: Vec<u32> = (0..8).map(|_| rng.next_u32()).collect();
        assert_eq!(got, words[..8]);
    }

    /// rand's extension trait runs on it (the point of implementing rand_core's traits), and two
    /// runs from one seed agree.
    #[test]
    fn rand_uses_it() {
        use rand::RngExt;
        let draw = || {
            let mut rng = PhiloxRng::seed_from_u64(42);
            let x: Vec<f64> = (0..1000).map(|_| rng.random::<f64>()).collect();
            let k: Vec<u32> = (0..100).map(|_| rng.random_range(10..20)).collect();
            (x, k)
        };
        let (x, k) = draw();
        assert!(x.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
        assert!(k.iter().all(|v| (10..20).contains(v)));
        assert_eq!((x, k), draw());
    }
}

/// `PhiloxRng::seed_from_u64(seed)` at counter (m mod 2^32, m div 2^32, step, 0) draws the words
/// the Monte Carlo kernel turns into the normals of paths 4m…4m+3 at that step.
#[test]
fn rng_matches_the_monte_carlo_draws() {
    use cpu_kernels::mc::normal_at;
    use cpu_kernels::normal::{box_muller, uniform};
    use cpu_kernels::philox::PhiloxRng;
    use rand_core::{Rng, SeedableRng};
    let seed = 0x0123_4567_89AB_CDEF_u64;
    let mut rng = PhiloxRng::seed_from_u64(seed);
    for (m, step) in [(0u64, 0u32), (5, 3), (1 << 33 | 7, 51)] {
        rng.set_counter([m as u32, (m >> 32) as u32, step, 0]);
        let w: [u32; 4] = core::array::from_fn(|_| rng.next_u32());
        let (z0, z1) = box_muller(uniform(w[0]), uniform(w[1]));
        let (z2, z3) = box_muller(uniform(w[2]), uniform(w[3]));
        for (l, z) in [z0, z1, z2, z3].into_iter().enumerate() {
            assert_eq!(
                z.to_bits(),
                normal_at(seed, 4 * m + l as u64, step).to_bits(),
                "m {m} step {step} lane {l}"
            );
        }
    }
}
