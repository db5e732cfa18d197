//! The Monte Carlo kernel against its documented scalar definition, the closed forms and the
//! reference prices.

use cpu_kernels::math::exp;
use cpu_kernels::mc::{
    self, McParams, McSums, Payoff, block_count, block_paths, closed_form, normal_at,
    simulate_block,
};

const ALL_PAYOFFS: [Payoff; 6] = [
    Payoff::EuropeanCall,
    Payoff::EuropeanPut,
    Payoff::AsianArithmeticCall,
    Payoff::AsianArithmeticPut,
    Payoff::AsianGeometricCall,
    Payoff::AsianGeometricPut,
];

fn params(payoff: Payoff, steps: u32, seed: u64) -> McParams {
    McParams {
        payoff,
        s0: 100.0,
        strike: 105.0,
        rate: 0.03,
        sigma: 0.3,
        maturity: 1.5,
        steps,
        seed,
    }
}

/// Block `block` of a run of `paths` paths, written straight from the `mc` module documentation:
/// one path at a time, normals from `normal_at`.
fn replay_block(p: &McParams, paths: u64, block: usize) -> McSums {
    let b = block_paths(paths);
    let start = block as u64 * b;
    let end = paths.min(start + b);
    let dt = p.maturity / f64::from(p.steps);
    let drift = ((p.rate - 0.5 * p.sigma * p.sigma) * dt) as f32;
    let vol = (p.sigma * dt.sqrt()) as f32;
    let (s0, strike, inv_n) = (
        p.s0 as f32,
        p.strike as f32,
        (1.0 / f64::from(p.steps)) as f32,
    );
    let (mut sums, mut squares) = ([0.0f64; 64], [0.0f64; 64]);
    for path in start..end {
        let (mut y, mut arithmetic, mut geometric) = (0.0f32, 0.0f32, 0.0f32);
        for step in 0..p.steps {
            y += drift + vol * normal_at(p.seed, path, step);
            arithmetic += exp(y);
            geometric += y;
        }
        let x = match p.payoff {
            Payoff::EuropeanCall | Payoff::EuropeanPut => s0 * exp(y),
            Payoff::AsianArithmeticCall | Payoff::AsianArithmeticPut => s0 * (arithmetic * inv_n),
            Payoff::AsianGeometricCall | Payoff::AsianGeometricPut => s0 * exp(geometric * inv_n),
        };
        let put = matches!(
            p.payoff,
            Payoff::EuropeanPut | Payoff::AsianArithmeticPut | Payoff::AsianGeometricPut
        );
        let pay = f64::from((if put { strike - x } else { x - strike }).max(0.0));
        let k = ((path - start) % 64) as usize;
        sums[k] += pay;
        squares[k] += pay * pay;
    }
    let fold = |v: [f64; 64]| v.iter().fold(0.0, |s, x| s + x);
    McSums {
        sum: fold(sums),
        sum_sq: fold(squares),
        count: end - start,
    }
}

#[test]
fn blocks_match_the_scalar_definition() {
    // Ragged runs (4099 = one full block and three paths; 130 = two full groups and two paths),
    // several step counts, and blocks of a run large enough to use bigger blocks.
    let runs: [(u64, &[usize]); 4] = [
        (4099, &[0, 1]),
        (130, &[0]),
        (5, &[0]),
        (1 << 30, &[17, 16383]),
    ];
    for payoff in ALL_PAYOFFS {
        for steps in [1, 3, 12] {
            for (paths, blocks) in runs {
                if paths > 1 << 20 && steps > 1 {
                    continue;
                }
                for &block in blocks {
                    let p = params(payoff, steps, 0x0123_4567_89AB_CDEF);
                    let got = simulate_block(&p, paths, block);
                    let want = replay_block(&p, paths, block);
                    assert_eq!(got.count, want.count);
                    assert_eq!(
                        got.sum.to_bits(),
                        want.sum.to_bits(),
                        "{payoff:?} steps {steps} paths {paths} block {block}: {got:?} vs {want:?}"
                    );
                    assert_eq!(
                        got.sum_sq.to_bits(),
                        want.sum_sq.to_bits(),
                        "{payoff:?} steps {steps} paths {paths} block {block}"
                    );
                }
            }
        }
    }
}

#[test]
fn block_layout() {
    assert_eq!(block_paths(1), mc::BLOCK_PATHS);
    assert_eq!(block_count(0), 0);
    assert_eq!(block_count(4096), 1);
    assert_eq!(block_count(4097), 2);
    for paths in [1u64, 4095, 1 << 28, (1 << 28) + 1, 1 << 40, u64::MAX / 2] {
        let b = block_paths(paths);
        assert_eq!(b % 64, 0);
        assert!(block_count(paths) <= 65536);
        assert!(
            b == mc::BLOCK_PATHS || paths.div_ceil(b / 2) > 65536,
            "{paths}: blocks no larger than needed"
        );
    }
}

#[test]
fn normal_at_moments() {
    let n = 1u64 << 20;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for i in 0..n {
        // Walk paths and steps so that every Philox output word and both Box–Muller outputs count.
        let z = f64::from(normal_at(99, i / 8, (i % 8) as u32));
        s1 += z;
        s2 += z * z;
    }
    let mean = s1 / n as f64;
    let var = s2 / n as f64 - mean * mean;
    // 5 standard errors: sd(mean) = 1/sqrt(n), sd(var) ≈ sqrt(2/n).
    assert!(mean.abs() < 5.0 / (n as f64).sqrt(), "mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
        "variance {var}"
    );
}

#[test]
fn sums_merge_and_estimate() {
    let mut a = McSums {
        sum: 3.0,
        sum_sq: 5.0,
        count: 2,
    };
    a.merge(&McSums {
        sum: 3.0,
        sum_sq: 13.0,
        count: 2,
    });
    assert_eq!(
        a,
        McSums {
            sum: 6.0,
            sum_sq: 18.0,
            count: 4
        }
    );
    // Mean 1.5, sample variance (18 − 4·1.5²)/3 = 3.
    let (price, se) = a.estimate(0.5);
    assert_eq!(price, 0.75);
    assert!((se - 0.5 * (3.0f64 / 4.0).sqrt()).abs() < 1e-15);
    let one = McSums {
        sum: 2.0,
        sum_sq: 4.0,
        count: 1,
    };
    assert!(one.estimate(1.0).1.is_nan());
}

struct Row {
    params: McParams,
    price: f64,
    std_error: f64,
    method: String,
}

fn reference_rows() -> Vec<Row> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/option_prices.csv"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("kind,S0,K,r,sigma,T,steps,price,std_error,method")
    );
    lines
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 10, "malformed row {line:?}");
            let num = |k: usize| {
                f[k].parse::<f64>()
                    .unwrap_or_else(|e| panic!("{line:?} field {k}: {e}"))
            };
            let payoff = match f[0] {
                "european_call" => Payoff::EuropeanCall,
                "european_put" => Payoff::EuropeanPut,
                "asian_arithmetic_call" => Payoff::AsianArithmeticCall,
                "asian_arithmetic_put" => Payoff::AsianArithmeticPut,
                "asian_geometric_call" => Payoff::AsianGeometricCall,
                "asian_geometric_put" => Payoff::AsianGeometricPut,
                kind => panic!("unknown kind {kind}"),
            };
            let params = McParams {
                payoff,
                s0: num(1),
                strike: num(2),
                rate: num(3),
                sigma: num(4),
                maturity: num(5),
                steps: f[6].parse().expect("steps"),
                seed: 1000 + i as u64,
            };
            Row {
                params,
                price: num(7),
                std_error: num(8),
                method: f[9].to_string(),
            }
        })
        .collect()
}

#[test]
fn closed_forms_reproduce_the_reference() {
    let rows = reference_rows();
    assert_eq!(rows.len(), 60);
    let mut checked = 0;
    for row in &rows {
        match row.method.as_str() {
            "black_scholes" | "geometric_closed_form" => {
                let got = closed_form(&row.params).expect("closed form exists");
                let rel = (got - row.price).abs() / row.price;
                assert!(
                    rel < 1e-9,
                    "{:?}: {got} vs {} (rel {rel:e})",
                    row.params,
                    row.price
                );
                checked += 1;
            }
            "mc_control_variate" => assert_eq!(closed_form(&row.params), None),
            m => panic!("unknown method {m}"),
        }
    }
    assert_eq!(checked, 42);
}

#[test]
fn monte_carlo_prices_every_reference_row() {
    for row in reference_rows() {
        let p = row.params;
        // About 2^19 path-steps' worth of accuracy per row, at least 2^15 paths.
        let paths = match p.steps {
            1 => 1 << 19,
            s if s <= 12 => 1 << 17,
            s if s <= 52 => 1 << 16,
            _ => 1 << 15,
        };
        let mut sums = McSums::default();
        for block in 0..block_count(paths) {
            sums.merge(&simulate_block(&p, paths, block));
        }
        let (price, se) = sums.estimate(p.discount());
        let tolerance = 4.0 * (row.std_error.powi(2) + se * se).sqrt();
        assert!(
            (price - row.price).abs() <= tolerance,
            "{:?}: MC {price} ± {se} vs reference {} ± {}",
            p,
            row.price,
            row.std_error
        );
    }
}
