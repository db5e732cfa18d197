//! The Monte Carlo kernel against its documented scalar definition, the closed forms and the
//! reference prices.

use cpu_kernels::math::exp;
use cpu_kernels::mc::{
    self, Average, BlockRun, McParams, McSums, Payoff, block_count, block_paths, check_path_range,
    closed_form, normal_at, simulate_block,
};

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
        let x = match p.payoff.average() {
            Average::None => s0 * exp(y),
            Average::Arithmetic => s0 * (arithmetic * inv_n),
            Average::Geometric => s0 * exp(geometric * inv_n),
        };
        let pays = if p.payoff.is_put() {
            x < strike
        } else {
            x > strike
        };
        let pay = match (pays, p.payoff.is_digital(), p.payoff.is_put()) {
            (false, _, _) => 0.0,
            (true, true, _) => 1.0,
            (true, false, true) => f64::from(strike - x),
            (true, false, false) => f64::from(x - strike),
        };
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
    for payoff in Payoff::ALL {
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

/// Each payoff is what its name says, stated here independently of the table in `mc.rs` that
/// both the kernel and the scalar replay above read: a flag flipped there (a digital put paying
/// as a call) would pass the replay, not this.
#[test]
fn payoffs_are_what_their_names_say() {
    for payoff in Payoff::ALL {
        let name = format!("{payoff:?}");
        assert_eq!(payoff.is_put(), name.ends_with("Put"), "{name}");
        assert_eq!(payoff.is_digital(), name.starts_with("Digital"), "{name}");
        let average = if name.starts_with("AsianArithmetic") {
            Average::Arithmetic
        } else if name.starts_with("AsianGeometric") {
            Average::Geometric
        } else {
            Average::None
        };
        assert_eq!(payoff.average(), average, "{name}");
    }
    assert_eq!(Payoff::ALL.len(), 8, "every payoff is named above");
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

#[test]
fn a_block_run_in_pieces_gives_the_block_bits() {
    for payoff in Payoff::ALL {
        let p = params(payoff, 3, 7);
        for (paths, block) in [(4099u64, 0usize), (4099, 1), (1 << 30, 5)] {
            let whole = simulate_block(&p, paths, block);
            for piece in [1u64, 64, 100, 1000] {
                let mut run = BlockRun::new(paths, block);
                if paths > 1 << 20 && piece < 1000 {
                    continue;
                }
                let mut pieces = 0;
                while run.remaining() > 0 {
                    let before = run.simulated();
                    let did = run.advance(&p, piece);
                    assert_eq!(run.simulated(), before + did);
                    assert!(did >= piece.min(run.remaining() + did));
                    pieces += 1;
                }
                assert!(pieces >= 1);
                let got = run.finish();
                assert_eq!(got.count, whole.count);
                assert_eq!(
                    got.sum.to_bits(),
                    whole.sum.to_bits(),
                    "{payoff:?} {paths} {piece}"
                );
                assert_eq!(got.sum_sq.to_bits(), whole.sum_sq.to_bits());
            }
        }
    }
}

fn option(payoff: Payoff, s0: f64, strike: f64, rate: f64, sigma: f64, steps: u32) -> McParams {
    McParams {
        payoff,
        s0,
        strike,
        rate,
        sigma,
        maturity: 1.0,
        steps,
        seed: 1,
    }
}

#[test]
fn closed_forms_at_extreme_volatility() {
    // Huge σ: the call is worth S0 (d1 → +∞, d2 → −∞), the put K·e^{−rT}. The geometric
    // forward is S0·e^{rT(N+1)/2N − σ²T(N²−1)/12N²}, so its call goes to 0 for N > 1.
    let call = closed_form(&option(Payoff::EuropeanCall, 100.0, 100.0, 0.05, 1e10, 1)).unwrap();
    assert!((call - 100.0).abs() < 1e-9, "{call}");
    let put = closed_form(&option(Payoff::EuropeanPut, 100.0, 100.0, 0.05, 1e10, 1)).unwrap();
    assert!((put - 100.0 * (-0.05f64).exp()).abs() < 1e-9, "{put}");
    for sigma in [3.0, 10.0, 100.0] {
        let c = closed_form(&option(Payoff::EuropeanCall, 100.0, 100.0, 0.05, sigma, 1)).unwrap();
        assert!(c > 0.0 && c <= 100.0 + 1e-9, "σ {sigma}: {c}");
    }
    let g = closed_form(&option(
        Payoff::AsianGeometricCall,
        100.0,
        100.0,
        0.05,
        1e10,
        12,
    ));
    assert!(g.unwrap().abs() < 1e-12);
}

#[test]
fn closed_forms_at_vanishing_volatility() {
    // σ → 0: the discounted intrinsic value of the forward, for every strike side.
    for (s0, k) in [
        (100.0, 90.0),
        (100.0, 100.0),
        (100.0, 110.0),
        (100.0, 104.0),
    ] {
        let disc = (-0.05f64).exp();
        let f = s0 * 0.05f64.exp();
        let call = closed_form(&option(Payoff::EuropeanCall, s0, k, 0.05, 1e-12, 1)).unwrap();
        let put = closed_form(&option(Payoff::EuropeanPut, s0, k, 0.05, 1e-12, 1)).unwrap();
        assert!(
            (call - disc * (f - k).max(0.0)).abs() < 1e-9,
            "K {k}: {call}"
        );
        assert!((put - disc * (k - f).max(0.0)).abs() < 1e-9, "K {k}: {put}");
        // Geometric over 12 dates: forward S0·e^{r·T·13/24}.
        let fg = s0 * (0.05 * 13.0 / 24.0f64).exp();
        let gc = closed_form(&option(Payoff::AsianGeometricCall, s0, k, 0.05, 1e-12, 12)).unwrap();
        assert!((gc - disc * (fg - k).max(0.0)).abs() < 1e-9, "K {k}: {gc}");
    }
}

#[test]
fn closed_forms_deep_in_and_out_of_the_money_and_parity() {
    let disc = (-0.05f64).exp();
    // Deep in the money: the forward minus the strike, discounted.
    let itm = closed_form(&option(Payoff::EuropeanCall, 100.0, 1e-6, 0.05, 0.2, 1)).unwrap();
    assert!((itm - (100.0 - 1e-6 * disc)).abs() < 1e-9, "{itm}");
    // Deep out of the money: tiny, nonnegative, and decreasing in the strike.
    let mut last = f64::INFINITY;
    for k in [200.0, 300.0, 500.0, 1e3, 1e4, 1e6] {
        let otm = closed_form(&option(Payoff::EuropeanCall, 100.0, k, 0.05, 0.2, 1)).unwrap();
        assert!((0.0..last).contains(&otm) || otm == 0.0, "K {k}: {otm}");
        last = otm;
    }
    // Put–call parity, European and geometric: C − P = e^{−rT}·(F − K).
    for sigma in [1e-12, 1e-3, 0.2, 1.0, 5.0, 30.0] {
        for k in [1.0, 80.0, 100.0, 125.0, 1e4] {
            for (steps, call, put) in [
                (1, Payoff::EuropeanCall, Payoff::EuropeanPut),
                (12, Payoff::AsianGeometricCall, Payoff::AsianGeometricPut),
            ] {
                let c = closed_form(&option(call, 100.0, k, 0.05, sigma, steps)).unwrap();
                let p = closed_form(&option(put, 100.0, k, 0.05, sigma, steps)).unwrap();
                let n = f64::from(steps);
                let ln_f = 100f64.ln() + 0.05 * (n + 1.0) / (2.0 * n)
                    - sigma * sigma * (n * n - 1.0) / (12.0 * n * n);
                let want = disc * (ln_f.exp() - k);
                let scale = 100.0f64.max(k);
                assert!(
                    (c - p - want).abs() <= 1e-12 * scale,
                    "σ {sigma} K {k} N {steps}: C {c} P {p} parity {want}"
                );
            }
        }
    }
}

#[test]
fn the_path_range_rule() {
    let ok = |p: McParams| check_path_range(&p).is_ok();
    let base = option(Payoff::EuropeanCall, 100.0, 100.0, 0.05, 0.2, 1);
    assert!(ok(base));
    assert!(ok(McParams {
        steps: u32::MAX,
        ..base
    }));
    assert!(ok(McParams {
        sigma: 1e-12,
        ..base
    }));
    assert!(ok(McParams { rate: 40.0, ..base }));
    assert!(!ok(McParams {
        rate: 100.0,
        ..base
    }));
    assert!(!ok(McParams { s0: 1e300, ..base }));
    assert!(!ok(McParams { s0: 1e-40, ..base }));
    assert!(!ok(McParams {
        strike: 1e39,
        ..base
    }));
    assert!(!ok(McParams {
        sigma: 1e10,
        ..base
    }));
    assert!(!ok(McParams {
        maturity: 1e300,
        ..base
    }));
    assert!(!ok(McParams {
        sigma: 1e-40,
        ..base
    }));
    assert!(!ok(McParams { steps: 0, ..base }));
    // The arithmetic average's sum of N exponentials must fit too.
    let asian = McParams {
        payoff: Payoff::AsianArithmeticCall,
        s0: 1e36,
        sigma: 0.3,
        steps: 52,
        ..base
    };
    assert!(!ok(asian));
    assert!(ok(McParams {
        payoff: Payoff::AsianGeometricCall,
        ..asian
    }));
    // E: |r − σ²/2|·T + σ√T·min(Z_MAX·√N, 12).
    let r = check_path_range(&base).unwrap();
    assert!((r.extreme - (0.03 + 0.2 * mc::Z_MAX)).abs() < 1e-12);
    let many = check_path_range(&McParams {
        steps: 1 << 20,
        ..base
    })
    .unwrap();
    assert!((many.extreme - (0.03 + 0.2 * mc::PATH_SD_MAX)).abs() < 1e-12);
}

/// The f32 price against the same estimator in exact-enough f64 arithmetic over the very same
/// draws: within `rounding_bound`, for ordinary and extreme (accepted) parameters.
#[test]
fn the_rounding_bound_holds() {
    let paths = 4096u64;
    for payoff in Payoff::ALL {
        for (s0, k, r, sigma, steps) in [
            (100.0, 100.0, 0.05, 0.2, 1),
            (100.0, 100.0, 0.05, 0.2, 12),
            (100.0, 100.0, 0.05, 1e-12, 12),
            (100.0, 95.0, 0.05, 1e-6, 3),
            (1e30, 1e30, 0.05, 0.5, 4),
            (100.0, 100.0, 40.0, 0.2, 2),
            // K at the forward and σ → 0: every path a hair from the strike, where f32 flips
            // every digital (the f32 paths all land on one side, the exact ones on both).
            (100.0, 100.0 * 0.05f64.exp(), 0.05, 1e-12, 1),
        ] {
            let p = McParams {
                payoff,
                ..option(payoff, s0, k, r, sigma, steps)
            };
            let f32_price = simulate_block(&p, paths, 0).sum / paths as f64 * p.discount();
            let dt = p.maturity / f64::from(steps);
            let (drift, vol) = ((r - 0.5 * sigma * sigma) * dt, sigma * dt.sqrt());
            let mut exact = 0.0;
            for path in 0..paths {
                let (mut y, mut arith, mut geo) = (0.0f64, 0.0f64, 0.0f64);
                for step in 0..steps {
                    y += drift + vol * f64::from(normal_at(p.seed, path, step));
                    arith += y.exp();
                    geo += y;
                }
                let n = f64::from(steps);
                let x = match payoff.average() {
                    Average::None => s0 * y.exp(),
                    Average::Arithmetic => s0 * arith / n,
                    Average::Geometric => s0 * (geo / n).exp(),
                };
                let d = if payoff.is_put() { k - x } else { x - k };
                exact += match (d > 0.0, payoff.is_digital()) {
                    (false, _) => 0.0,
                    (true, true) => 1.0,
                    (true, false) => d,
                };
            }
            let exact = exact / paths as f64 * p.discount();
            let bound = mc::rounding_bound(&p, paths).unwrap();
            assert!(
                (f32_price - exact).abs() <= bound,
                "{p:?}: f32 {f32_price} vs f64 {exact}, bound {bound:e}"
            );
            // And the bound is not vacuous: well below the price's scale, but where σ → 0 puts
            // every path next to the strike, and a digital's price is anything from 0 to e^{−rT}.
            let scale = if payoff.is_digital() { 1.0 } else { s0 + k };
            let at_forward = (k / (s0 * r.exp()) - 1.0).abs() < 1e-9;
            if payoff.is_digital() && at_forward {
                assert!(bound >= p.discount(), "{p:?}: bound {bound:e}");
            } else {
                assert!(bound < 1e-2 * scale, "{p:?}: bound {bound:e}");
            }
        }
    }
}

#[test]
fn exercise_probabilities() {
    let q = |k: f64, sigma: f64| {
        mc::exercise_probability(&option(Payoff::EuropeanCall, 100.0, k, 0.05, sigma, 1)).unwrap()
    };
    assert!(q(1e6, 0.2) < 1e-300);
    assert!((q(100.0, 1e-12) - 1.0).abs() < 1e-12);
    assert!((q(100.0, 0.2) - 0.5596176923702425).abs() < 1e-9);
    // A digital is exercised exactly where its vanilla twin is.
    for (digital, vanilla) in [
        (Payoff::DigitalCall, Payoff::EuropeanCall),
        (Payoff::DigitalPut, Payoff::EuropeanPut),
    ] {
        for k in [50.0, 100.0, 150.0] {
            let q =
                |payoff| mc::exercise_probability(&option(payoff, 100.0, k, 0.05, 0.2, 4)).unwrap();
            assert_eq!(q(digital), q(vanilla));
        }
    }
    assert_eq!(
        mc::exercise_probability(&option(
            Payoff::AsianArithmeticCall,
            100.0,
            100.0,
            0.05,
            0.2,
            12
        )),
        None
    );
}

#[test]
fn digital_closed_forms() {
    let disc = (-0.05f64).exp();
    let price = |payoff, k, sigma, steps| {
        closed_form(&option(payoff, 100.0, k, 0.05, sigma, steps)).unwrap()
    };
    // Black–Scholes by hand: d2 = (ln(S0/K) + (r − σ²/2)·T)/(σ√T), 0.15 at K = 100 and
    // −0.32655089902162443 at K = 110; Φ of each from an independent erfc (Python's math.erfc).
    let (at_100, at_110) = (0.5596176923702425, 0.37200379301884035);
    for (payoff, k, want) in [
        (Payoff::DigitalCall, 100.0, at_100),
        (Payoff::DigitalPut, 100.0, 1.0 - at_100),
        (Payoff::DigitalCall, 110.0, at_110),
        (Payoff::DigitalPut, 110.0, 1.0 - at_110),
    ] {
        let got = price(payoff, k, 0.2, 1);
        assert!((got - disc * want).abs() < 1e-14, "{payoff:?} K {k}: {got}");
    }
    // Call + put pays 1 on every path (but the measure-zero S_T = K), whatever σ, K and steps
    // (only S_T matters).
    for sigma in [1e-12, 1e-3, 0.2, 1.0, 5.0, 1e10] {
        for k in [1.0, 80.0, 100.0, 125.0, 1e4] {
            let (c, p) = (
                price(Payoff::DigitalCall, k, sigma, 1),
                price(Payoff::DigitalPut, k, sigma, 1),
            );
            assert!((0.0..=disc).contains(&c) && (0.0..=disc).contains(&p));
            assert!((c + p - disc).abs() < 1e-15, "σ {sigma} K {k}: {c} + {p}");
            assert_eq!(c, price(Payoff::DigitalCall, k, sigma, 12));
            assert_eq!(p, price(Payoff::DigitalPut, k, sigma, 52));
        }
    }
    // The digital call is −∂C/∂K of the vanilla call (whose closed form the reference table
    // checks): a central difference, its error O(h²) + ε·C/h, far below the tolerance.
    for k in [80.0, 100.0, 110.0, 130.0] {
        let h = 1e-5 * k;
        let slope = (price(Payoff::EuropeanCall, k - h, 0.2, 1)
            - price(Payoff::EuropeanCall, k + h, 0.2, 1))
            / (2.0 * h);
        let digital = price(Payoff::DigitalCall, k, 0.2, 1);
        assert!(
            (slope - digital).abs() < 1e-8,
            "K {k}: {slope} vs {digital}"
        );
    }
}

/// Simulated digitals in and out of the money, from one and from several steps, within 4
/// standard errors of the closed form, with the rounding bound small next to the standard error
/// (so that the z-score is the check that applies).
#[test]
fn digital_prices_within_four_standard_errors() {
    let paths = 1u64 << 18;
    for payoff in [Payoff::DigitalCall, Payoff::DigitalPut] {
        for k in [80.0, 100.0, 125.0] {
            for steps in [1, 4] {
                let p = McParams {
                    seed: 3,
                    ..option(payoff, 100.0, k, 0.05, 0.2, steps)
                };
                let mut sums = McSums::default();
                for block in 0..block_count(paths) {
                    sums.merge(&simulate_block(&p, paths, block));
                }
                let (price, se) = sums.estimate(p.discount());
                let exact = closed_form(&p).unwrap();
                let z = (price - exact) / se;
                assert!(z.abs() <= 4.0, "{p:?}: {price} ± {se} vs {exact}, z = {z}");
                let bound = mc::rounding_bound(&p, paths).unwrap();
                assert!(bound < se, "{p:?}: rounding {bound:e} vs SE {se:e}");
            }
        }
    }
}

#[test]
fn a_block_run_step_by_step_gives_the_block_bits() {
    for payoff in Payoff::ALL {
        let p = params(payoff, 7, 11);
        for (paths, block) in [(4099u64, 1usize), (130, 0)] {
            let whole = simulate_block(&p, paths, block);
            for budget in [1u64, 64, 64 * 3, 64 * 7, 64 * 7 * 2 + 5] {
                let mut run = BlockRun::new(paths, block);
                let mut last = 0.0;
                while run.remaining() > 0 {
                    run.advance_work(&p, budget);
                    let done = run.work_done(p.steps);
                    assert!(done > last, "no progress at budget {budget}");
                    last = done;
                }
                let got = run.finish();
                assert_eq!(
                    got.sum.to_bits(),
                    whole.sum.to_bits(),
                    "{payoff:?} {budget}"
                );
                assert_eq!(got.sum_sq.to_bits(), whole.sum_sq.to_bits());
                assert_eq!(got.count, whole.count);
            }
        }
    }
}

#[test]
fn the_last_block_of_the_largest_run() {
    let paths = u64::MAX;
    let last = block_count(paths) - 1;
    let run = BlockRun::new(paths, last);
    assert_eq!(run.remaining(), paths - last as u64 * block_paths(paths));
    assert_eq!(run.work_done(1 << 31), 0.0);
}
