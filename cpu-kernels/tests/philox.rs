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
