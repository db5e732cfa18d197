//! The harness over both CPU backends: every kernel validated at ragged sizes and odd thread counts,
//! Monte Carlo bit-identical across thread counts and backends, and priced within the reference
//! table's error bars.

use core_affinity::CoreId;
use cpu_kernels::mc::{McParams, Payoff};
use cpu_kernels::stream::Stores;
use hexpylot::backend::{Backend, Setup};
use hexpylot::bench::{McConfig, StreamConfig, run_mc, run_stream};
use hexpylot::engine::Engine;
use hexpylot::machine::allowed_cores;
use hexpylot::model::{BackendKind, StorePolicy, StreamKernel};
use proptest::prelude::*;

/// `threads` cores, wrapping round the machine's (oversubscribed on a 2-core box, which is the point:
/// odd counts must work everywhere).
fn cores(threads: usize) -> Vec<CoreId> {
    let all = allowed_cores();
    (0..threads).map(|i| all[i % all.len()]).collect()
}

fn backend(kind: BackendKind, threads: usize) -> Box<dyn Backend> {
    let cores = cores(threads);
    let setup = Setup {
        cores: &cores,
        adapter: None,
        local_rank: 0,
        gpu_tune: hexpylot::gpu::Tuning::Auto,
    };
    kind.create(&setup).expect("backend starts")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Every kernel on both backends passes the harness's own validation (exact element-wise, dot
    /// within its bound) for sizes with ragged tails and odd thread counts.
    #[test]
    fn stream_validates_on_both_backends(
        n in 1usize..5000,
        threads in 1usize..6,
        f64_ in any::<bool>(),
        policy in prop::sample::select(vec![StorePolicy::Auto, StorePolicy::Cached, StorePolicy::Streaming]),
    ) {
        let cfg = StreamConfig { n, reps: 3, kernels: StreamKernel::ALL.to_vec(), stores: policy };
        for kind in [BackendKind::Engine, BackendKind::Rayon] {
            let mut b = backend(kind, threads);
            let rows = if f64_ { run_stream::<f64, _>(&mut *b, &cfg) } else { run_stream::<f32, _>(&mut *b, &cfg) }.unwrap();
            prop_assert_eq!(rows.len(), 6);
            for r in rows {
                prop_assert!(r.valid, "{} on {} n={} t={} {:?}: {}", r.kernel, r.backend, n, threads, policy, r.check);
                // The probe refills the arrays after its runs (else the exact check above fails);
                // each writing kernel states its store kind, dot none.
                let writes = r.kernel != StreamKernel::Dot;
                prop_assert_eq!(r.stores.is_some(), writes);
                prop_assert_eq!(r.store_probe.is_some(), writes && policy == StorePolicy::Auto);
                if let (Some(fixed), true) = (policy.fixed(), writes) {
                    prop_assert_eq!(r.stores, Some(fixed));
                }
            }
        }
    }

    /// The engine's chunking feeds every kernel the right elements: random data (not the harness's
    /// uniform arrays, which would hide a shifted chunk) against a plain scalar loop, both store modes.
    #[test]
    fn engine_chunks_match_a_scalar_loop(
        data in prop::collection::vec((-1e3f32..1e3, -1e3f32..1e3, -1e3f32..1e3), 1..3000),
        threads in 1usize..6,
        streaming in any::<bool>(),
    ) {
        let stores = if streaming { Stores::Streaming } else { Stores::Cached };
        let mut engine = Engine::with_cores(&cores(threads)).unwrap();
        let s = 0.4f32;
        for kernel in StreamKernel::ALL {
            let (mut a, mut b, mut c): (Vec<f32>, Vec<f32>, Vec<f32>) = (
                data.iter().map(|x| x.0).collect(),
                data.iter().map(|x| x.1).collect(),
                data.iter().map(|x| x.2).collect(),
            );
            let (mut ra, mut rb, mut rc) = (a.clone(), b.clone(), c.clone());
            let mut partials = vec![0.0; threads];
            engine
                .map_chunks((&mut a[..], &mut b[..], &mut c[..]), &mut partials, |_, _, (a, b, c)| kernel.run_cpu(a, b, c, s, stores))
                .unwrap();
            let mut dot = 0.0f64;
            for i in 0..data.len() {
                match kernel {
                    StreamKernel::Copy => rc[i] = ra[i],
                    StreamKernel::Scale => rb[i] = s * rc[i],
                    StreamKernel::Add => rc[i] = ra[i] + rb[i],
                    StreamKernel::Triad => ra[i] = rb[i] + s * rc[i],
                    StreamKernel::Dot => dot += (ra[i] * rb[i]) as f64,
                    StreamKernel::Nstream => ra[i] += rb[i] + s * rc[i],
                }
            }
            prop_assert_eq!((&a, &b, &c), (&ra, &rb, &rc), "{:?}", kernel);
            if kernel == StreamKernel::Dot {
                let abs: f64 = data.iter().map(|x| ((x.0 * x.1) as f64).abs()).sum();
                let bound = cpu_kernels::stream::dot_relative_error_bound::<f32>(data.len()) * abs + 1e-12;
                let sum: f64 = partials.iter().sum();
                prop_assert!((sum - dot).abs() <= 2.0 * bound, "dot {} vs {}", sum, dot);
            }
        }
    }
}

fn params(payoff: Payoff, steps: u32) -> McParams {
    McParams {
        payoff,
        s0: 100.0,
        strike: 100.0,
        rate: 0.05,
        sigma: 0.2,
        maturity: 1.0,
        steps,
        seed: 7,
    }
}

/// Same seed → the very same sums, whatever the thread count and whichever CPU backend, including
/// path counts that leave a ragged last block and a ragged last group of four paths.
#[test]
fn monte_carlo_is_bit_identical_across_threads_and_backends() {
    for (payoff, steps, paths) in [
        (Payoff::EuropeanCall, 1, 100_003),
        (Payoff::AsianArithmeticPut, 12, 20_001),
        (Payoff::AsianGeometricCall, 5, 9_999),
        (Payoff::DigitalCall, 1, 100_003),
        (Payoff::DigitalPut, 3, 20_001),
    ] {
        let cfg = McConfig {
            params: params(payoff, steps),
            paths,
            reps: 2,
        };
        let mut seen = Vec::new();
        for kind in [BackendKind::Engine, BackendKind::Rayon] {
            for threads in [1, 2, 3, 5] {
                let [outcome] =
                    <[_; 1]>::try_from(run_mc(&mut *backend(kind, threads), &cfg, None).unwrap())
                        .unwrap();
                assert!(
                    outcome.valid,
                    "{payoff:?} {kind:?} t={threads}: {}",
                    outcome.check
                );
                seen.push((kind, threads, outcome.sums));
            }
        }
        for (kind, threads, sums) in &seen {
            assert_eq!(
                *sums, seen[0].2,
                "{payoff:?}: {kind:?} with {threads} threads differs from 1-thread engine"
            );
        }
    }
}

/// All 60 rows of tests/data/option_prices.csv through the harness on the engine:
/// |price − reference| ≤ 4·sqrt(se_ref² + se_mc²).
#[test]
fn reference_prices_through_the_harness() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/option_prices.csv");
    let mut reader = csv::Reader::from_path(path).expect("reference table (tests/data)");
    let mut engine = backend(BackendKind::Engine, 2);
    let mut rows = 0;
    for record in reader.records() {
        let r = record.unwrap();
        let num = |i: usize| r[i].parse::<f64>().unwrap();
        let payoff = match &r[0] {
            "european_call" => Payoff::EuropeanCall,
            "european_put" => Payoff::EuropeanPut,
            "asian_geometric_call" => Payoff::AsianGeometricCall,
            "asian_geometric_put" => Payoff::AsianGeometricPut,
            "asian_arithmetic_call" => Payoff::AsianArithmeticCall,
            "asian_arithmetic_put" => Payoff::AsianArithmeticPut,
            other => panic!("unknown kind {other}"),
        };
        let steps = num(6) as u32;
        let params = McParams {
            payoff,
            s0: num(1),
            strike: num(2),
            rate: num(3),
            sigma: num(4),
            maturity: num(5),
            steps,
            seed: 11,
        };
        // Fewer paths for long paths: the suite stays fast, and 4 combined errors is a fair test at any count.
        let paths = if steps > 100 { 1 << 15 } else { 1 << 17 };
        let outcome = run_mc(
            &mut *engine,
            &McConfig {
                params,
                paths,
                reps: 2,
            },
            None,
        )
        .unwrap()
        .remove(0);
        let (price, se, reference, se_ref) = (outcome.price, outcome.std_error, num(7), num(8));
        let tolerance = 4.0 * (se * se + se_ref * se_ref).sqrt();
        assert!(
            (price - reference).abs() <= tolerance,
            "{} K={} N={}: {price} vs {reference} (tolerance {tolerance})",
            &r[0],
            &r[2],
            steps
        );
        assert!(outcome.valid, "{}: {}", &r[0], outcome.check);
        rows += 1;
    }
    assert_eq!(rows, 60);
}
