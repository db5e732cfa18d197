//! The GPU Monte Carlo kernels against cpu-kernels: raw Philox words (both wide multiplies, both
//! paths), normal draws and prices (mirror and native), at every launch shape the tuner may pick.
//!
//! Without an adapter the tests print a note and pass, unless `HEXPYLOT_REQUIRE_GPU=1` (CI, with
//! lavapipe installed), where a missing adapter fails them.

use std::collections::BTreeMap;
use std::time::Instant;

use cpu_kernels::mc::{self, McParams, McSums, Payoff};
use cpu_kernels::philox::philox4x32_10;
use hexpylot::gpu::{
    GpuContext, GpuError, McGpu, Multiply, NATIVE_DRAW_ERROR, NORMAL_ULPS, native_path_error,
    ulp_distance,
};
use hexpylot::model::{GpuPath, Shape};

fn context() -> Option<GpuContext> {
    let required = hexpylot::gpu::required().unwrap();
    match GpuContext::new(None, 0) {
        Ok(ctx) => Some(ctx),
        Err(e @ GpuError::NoAdapter { .. }) if !required => {
            eprintln!("skipped: {e} (set HEXPYLOT_REQUIRE_GPU=1 to fail instead)");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// The kernels of `path` with each wide multiply the adapter offers (the 16-bit halves always,
/// 64-bit integers with SHADER_INT64). With `HEXPYLOT_REQUIRE_GPU=1` on lavapipe, which has
/// SHADER_INT64, both are required.
fn kernels(ctx: &GpuContext, path: GpuPath) -> Vec<McGpu> {
    let required = hexpylot::gpu::required().unwrap();
    let mut all = vec![McGpu::new(ctx, path, Multiply::Halves).expect("halves")];
    match McGpu::new(ctx, path, Multiply::Int64) {
        Ok(mc) => all.push(mc),
        Err(e) if !ctx.summary().shader_int64 => eprintln!("{path:?}: no int64 multiply: {e}"),
        Err(e) => panic!("{path:?} with 64-bit integers: {e}"),
    }
    if required && ctx.summary().name.contains("llvmpipe") {
        assert_eq!(all.len(), 2, "lavapipe offers SHADER_INT64");
    }
    all
}

/// The kernels each path prices with in the backend: the mirror on the halves, the native path on
/// its adapter's choice.
fn gpu() -> Option<(GpuContext, [McGpu; 2])> {
    let ctx = context()?;
    let mirror = McGpu::new(&ctx, GpuPath::Mirror, Multiply::Halves).expect("mirror");
    let native = McGpu::new(&ctx, GpuPath::Native, Multiply::native(&ctx)).expect("native");
    Some((ctx, [mirror, native]))
}

fn reference(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
    std::fs::read_to_string(format!("{path}{name}"))
        .unwrap_or_else(|e| panic!("reading {path}{name}: {e}"))
}

/// (counter, expected words) cases, grouped by key.
type Cases = BTreeMap<[u32; 2], Vec<([u32; 4], [u32; 4])>>;

/// The `philox4x32 10` lines of a Random123 KAT file.
fn kat(file: &str) -> Cases {
    let mut by_key: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for line in reference(file).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() != Some(&"philox4x32") || f.get(1) != Some(&"10") {
            continue;
        }
        let w: Vec<u32> = f[2..]
            .iter()
            .map(|x| u32::from_str_radix(x, 16).expect("hex word"))
            .collect();
        assert_eq!(w.len(), 10, "malformed line {line:?}");
        by_key
            .entry([w[4], w[5]])
            .or_default()
            .push(([w[0], w[1], w[2], w[3]], [w[6], w[7], w[8], w[9]]));
    }
    by_key
}

/// splitmix64: arbitrary but reproducible test inputs.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Philox is integer-only: both multiplies, in both modules, give the reference words exactly.
#[test]
fn philox_words_match_the_references_and_the_cpu() {
    let Some(ctx) = context() else { return };
    for path in GpuPath::ALL {
        for mut mc in kernels(&ctx, path) {
            println!("{path:?}, {}", mc.multiply().name());
            philox_words(&ctx, &mut mc);
        }
    }
}

fn philox_words(ctx: &GpuContext, mc: &mut McGpu) {
    // The independently generated stream: key (0xDEADBEEF, 0x12345678), counters (i, 0, 0, 0).
    let text = reference("philox_stream.csv");
    let rows: Vec<Vec<u32>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|f| f.trim().parse().expect("decimal word"))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 1024);
    let counters: Vec<[u32; 4]> = rows.iter().map(|r| [r[0], 0, 0, 0]).collect();
    let words = mc
        .philox(ctx, [0xDEAD_BEEF, 0x1234_5678], &counters)
        .unwrap();
    for (r, w) in rows.iter().zip(&words) {
        assert_eq!(*w, [r[1], r[2], r[3], r[4]], "stream row {}", r[0]);
    }

    // Random123's known answers, 10 rounds (3 + 52 vectors).
    let mut checked = 0;
    for file in ["philox_kat.txt", "philox_kat_old.txt"] {
        for (key, cases) in kat(file) {
            let counters: Vec<[u32; 4]> = cases.iter().map(|c| c.0).collect();
            let words = mc.philox(ctx, key, &counters).unwrap();
            for ((ctr, expected), w) in cases.iter().zip(&words) {
                assert_eq!(w, expected, "{file}: counter {ctr:08x?}, key {key:08x?}");
            }
            checked += cases.len();
        }
    }
    assert_eq!(checked, 55);

    // Every bit of every word: arbitrary counters (high words included) against the CPU.
    let key = [0x0123_4567, 0x89AB_CDEF];
    let counters: Vec<[u32; 4]> = (0..8192u64)
        .map(|i| {
            let (a, b) = (mix(2 * i), mix(2 * i + 1));
            [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32]
        })
        .collect();
    let words = mc.philox(ctx, key, &counters).unwrap();
    for (c, w) in counters.iter().zip(&words) {
        assert_eq!(*w, philox4x32_10(*c, key), "counter {c:08x?}");
    }
}

/// The mirror's draws within `NORMAL_ULPS` (only WGSL's loose sqrt can move a draw; see
/// `hexpylot::gpu`), and counted: on a GPU with a correctly rounded sqrt, lavapipe included,
/// every draw is the CPU's. The native path's within `NATIVE_DRAW_ERROR` absolute, the bound
/// WGSL's accuracy rules give its built-ins, whichever multiply it uses.
#[test]
fn normals_match_normal_at() {
    let Some(ctx) = context() else { return };
    for path in GpuPath::ALL {
        for mut mc in kernels(&ctx, path) {
            let mut histogram = BTreeMap::new();
            let (mut total, mut worst) = (0u64, 0.0f64);
            for (seed, paths, steps) in [
                (1u64, 1u64, 1u32),
                (2, 3, 7),
                (0xDEAD_BEEF_0000_0001, 4, 1),
                (u64::MAX, 1001, 13),
                (42, 4099, 52),
                (7, 65_537, 3),
            ] {
                let z = mc.normals(&ctx, seed, paths, steps).unwrap();
                assert_eq!(z.len() as u64, paths * u64::from(steps));
                for p in 0..paths {
                    for j in 0..steps {
                        let gpu = z[(p * u64::from(steps) + u64::from(j)) as usize];
                        let cpu = mc::normal_at(seed, p, j);
                        let d = ulp_distance(gpu, cpu);
                        let gap = (f64::from(gpu) - f64::from(cpu)).abs();
                        worst = worst.max(gap);
                        let label = format!("{path:?}, seed {seed}, path {p}, step {j}");
                        match path {
                            GpuPath::Mirror => assert!(
                                d <= NORMAL_ULPS,
                                "{label}: GPU {gpu:e}, CPU {cpu:e} ({d} ulp)"
                            ),
                            GpuPath::Native => assert!(
                                gap <= NATIVE_DRAW_ERROR,
                                "{label}: GPU {gpu:e}, CPU {cpu:e} (|gap| {gap:e})"
                            ),
                        }
                        *histogram.entry(d.min(1000)).or_insert(0u64) += 1;
                        total += 1;
                    }
                }
            }
            let identical = histogram.get(&0).copied().unwrap_or(0);
            let within = |ulps: u64| histogram.range(..=ulps).map(|(_, n)| n).sum::<u64>();
            println!(
                "{path:?} normals ({}): {identical} of {total} bit-identical ({:.4}%), {:.2}% within 16 ulp, worst |gap| {worst:.2e} (native bound {NATIVE_DRAW_ERROR:.2e})",
                mc.multiply().name(),
                100.0 * identical as f64 / total as f64,
                100.0 * within(16) as f64 / total as f64,
            );
        }
    }
}

/// The CPU backends' sums: every block, merged in block order.
fn cpu_sums(p: &McParams, paths: u64) -> McSums {
    let mut sums = McSums::default();
    for block in 0..mc::block_count(paths) {
        sums.merge(&mc::simulate_block(p, paths, block));
    }
    sums
}

/// The GPU's price within 1% of a standard error of the CPU's for the same paths; returns the
/// GPU's `(price, std_error)`.
///
/// Why 1% holds with room to spare: both price the very same payoffs (bit-identical where the
/// normals are, else a few ulp apart per path, with errors of both signs; a digital flips only
/// if such a path ends within those ulp of the strike, about 10^-6 of the few paths concerned),
/// and the GPU's compensated sums are within 10^-8 relative of the CPU's f64 sums of the same
/// payoffs (module docs of hexpylot::gpu::montecarlo), against 1% of an SE ≈ 10^-2·cv/√n ≥
/// 10^-5 relative here.
///
/// The native path is held to `cpu_kernels::mc::agreement_bound` instead, with its own path error
/// (`native_path_error` at `shape`) and the CPU's added, as `compare` holds it.
fn agree(
    label: &str,
    (gpu, path, shape): (&McSums, GpuPath, Shape),
    cpu: &McSums,
    p: &McParams,
) -> (f64, f64) {
    assert_eq!(gpu.count, cpu.count, "{label}: path counts");
    let (g, se) = gpu.estimate(p.discount());
    let (c, _) = cpu.estimate(p.discount());
    let bound = match path {
        GpuPath::Mirror => 0.01 * se,
        GpuPath::Native => {
            let rho = native_path_error(p, gpu.count, shape, 65535).unwrap()
                + mc::path_rounding(p).unwrap();
            mc::agreement_bound(p, gpu.count, cpu.sum / cpu.count as f64, rho).unwrap()
        }
    };
    println!(
        "{label}: GPU {g:.12} CPU {c:.12} SE {se:.2e}, |Δ|/SE = {:.2e} (bound {:.2e} SE), relative sum difference {:.2e}",
        (g - c).abs() / se,
        bound / se,
        (gpu.sum - cpu.sum).abs() / cpu.sum
    );
    assert!(
        (g - c).abs() <= bound,
        "{label}: GPU {g} vs CPU {c}, SE {se}, bound {bound}"
    );
    (g, se)
}

fn params(payoff: Payoff, strike: f64, steps: u32, seed: u64) -> McParams {
    McParams {
        payoff,
        s0: 100.0,
        strike,
        rate: 0.05,
        sigma: 0.2,
        maturity: 1.0,
        steps,
        seed,
    }
}

/// The row of option_prices.csv for `kind` at S0 = K = 100, r = 0.05, σ = 0.2, T = 1, `steps`:
/// (price, its standard error).
fn reference_price(kind: &str, steps: u32) -> (f64, f64) {
    let text = reference("option_prices.csv");
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    for row in rows.records() {
        let row = row.expect("csv row");
        let num = |i: usize| row[i].parse::<f64>().expect("number");
        if &row[0] == kind
            && [num(1), num(2), num(3), num(4), num(5)] == [100.0, 100.0, 0.05, 0.2, 1.0]
            && num(6) == f64::from(steps)
        {
            return (num(7), num(8));
        }
    }
    panic!("no reference row for {kind} with {steps} steps");
}

/// Every payoff against the CPU, and against its reference: the row of option_prices.csv where
/// the table has one, else (digitals) the closed form. Digitals from several steps too: the path
/// still takes them to S_T.
#[test]
fn every_payoff_prices_like_the_cpu_and_its_reference() {
    let Some((ctx, mut kernels)) = gpu() else {
        return;
    };
    for mc in &mut kernels {
        prices_like_the_cpu(&ctx, mc);
    }
}

fn prices_like_the_cpu(ctx: &GpuContext, mc: &mut McGpu) {
    let path = mc.path();
    for (payoff, csv_kind, steps, paths) in [
        (Payoff::EuropeanCall, Some("european_call"), 1, 1 << 18),
        (Payoff::EuropeanPut, Some("european_put"), 1, 1 << 18),
        (Payoff::DigitalCall, None, 1, 1 << 18),
        (Payoff::DigitalPut, None, 1, 1 << 18),
        (Payoff::DigitalCall, None, 12, 1 << 16),
        (Payoff::DigitalPut, None, 12, 1 << 16),
        (
            Payoff::AsianArithmeticCall,
            Some("asian_arithmetic_call"),
            12,
            1 << 16,
        ),
        (
            Payoff::AsianArithmeticPut,
            Some("asian_arithmetic_put"),
            12,
            1 << 16,
        ),
        (
            Payoff::AsianGeometricCall,
            Some("asian_geometric_call"),
            12,
            1 << 16,
        ),
        (
            Payoff::AsianGeometricPut,
            Some("asian_geometric_put"),
            12,
            1 << 16,
        ),
    ] {
        let label = format!("{path:?} {payoff:?}, {steps} steps");
        let p = params(payoff, 100.0, steps, 2024);
        let (gpu, _) = mc.simulate(ctx, &p, paths, Shape::DEFAULT).unwrap();
        let on = (&gpu, path, Shape::DEFAULT);
        let (price, se) = agree(&label, on, &cpu_sums(&p, paths), &p);
        let exact = mc::closed_form(&p);
        let (reference, reference_se) = match csv_kind {
            Some(kind) => {
                let (reference, reference_se) = reference_price(kind, steps);
                if let Some(exact) = exact {
                    assert!(
                        (exact - reference).abs() < 1e-9,
                        "{label}: closed form {exact} vs csv {reference}"
                    );
                }
                (reference, reference_se)
            }
            None => (
                exact.expect("a closed form where the table has no row"),
                0.0,
            ),
        };
        // The reference's own error (arithmetic Asians carry one) adds in quadrature.
        let z = (price - reference) / se.hypot(reference_se);
        println!("{label}: reference {reference:.6}, z = {z:+.2}");
        assert!(
            z.abs() <= 4.0,
            "{label}: price {price} vs reference {reference}, z = {z}"
        );
    }
}

/// Every shape the tuner may pick, on both paths: ragged counts (1, 2, 3 paths in the last quad),
/// capped grids taking the grid-stride loop, repeatable sums, the CPU's price within each path's
/// bound.
#[test]
fn every_shape_ragged_counts_grid_stride_and_determinism() {
    let Some((ctx, kernels)) = gpu() else { return };
    let p = params(Payoff::AsianArithmeticCall, 95.0, 5, 99);
    for mut full in kernels {
        let path = full.path();
        let mut capped = McGpu::new(&ctx, path, full.multiply())
            .unwrap()
            .with_max_groups(2);
        for shape in full.space(&ctx).shapes() {
            // With two groups of 64 invocations or more, 10_003 paths are 2501 quads: several
            // trips through the grid-stride loop.
            for paths in [1u64, 2, 3, 5, 1001, 10_003] {
                let cpu = cpu_sums(&p, paths);
                let (first, _) = capped.simulate(&ctx, &p, paths, shape).unwrap();
                let (second, _) = capped.simulate(&ctx, &p, paths, shape).unwrap();
                let label = format!("{path:?} {shape:?}, {paths} paths, 2 groups");
                assert_eq!(first, second, "{label}: two runs gave different sums");
                assert_eq!(first.count, paths);
                if paths >= 2 {
                    agree(&label, (&first, path, shape), &cpu, &p);
                } else {
                    // One path: no standard error to compare against, but the payoff itself.
                    assert!(
                        (first.sum - cpu.sum).abs() <= 1e-2 * cpu.sum.abs(),
                        "{label}: {first:?} vs {cpu:?}"
                    );
                }
            }
            // The full grid prices the same paths.
            let cpu = cpu_sums(&p, 10_003);
            let (sums, _) = full.simulate(&ctx, &p, 10_003, shape).unwrap();
            let label = format!("{path:?} {shape:?}, 10003 paths, full grid");
            agree(&label, (&sums, path, shape), &cpu, &p);
        }
        // Zero paths: nothing summed, nothing failed.
        let zero = full.simulate(&ctx, &p, 0, Shape::DEFAULT).unwrap().0;
        assert_eq!(zero, McSums::default());
        let none = McParams { steps: 0, ..p };
        assert!(matches!(
            full.simulate(&ctx, &none, 16, Shape::DEFAULT),
            Err(GpuError::Limit(_))
        ));
    }
}

/// European call at 2^22 paths: agreement at a larger count, and the throughput (meaningful in a
/// release build only: debug builds run wgpu's validation).
#[test]
fn european_call_throughput() {
    let Some((ctx, kernels)) = gpu() else { return };
    let p = params(Payoff::EuropeanCall, 100.0, 1, 7);
    let paths = 1u64 << 22;
    let cpu = cpu_sums(&p, paths);
    for mut mc in kernels {
        let path = mc.path();
        let (warm, _) = mc.simulate(&ctx, &p, paths, Shape::DEFAULT).unwrap();
        let start = Instant::now();
        let (sums, time) = mc.simulate(&ctx, &p, paths, Shape::DEFAULT).unwrap();
        let host_s = start.elapsed().as_secs_f64();
        assert_eq!(warm, sums);
        let label = format!("{path:?} european call, 2^22 paths");
        agree(&label, (&sums, path, Shape::DEFAULT), &cpu, &p);
        println!(
            "{label} on {}: kernel {:.1} M paths/s, end to end {:.1} M paths/s",
            ctx.summary().name,
            paths as f64 / time.best_estimate() / 1e6,
            paths as f64 / host_s / 1e6
        );
    }
}

/// A rank's share of the grid: any split of the run's workgroups, each part launched alone, gives
/// pieces whose in-order merge is the whole grid's sums bit for bit (what makes GPU ranks under
/// MPI price as one GPU does), and the counts of every part add up to the paths.
#[test]
fn workgroup_shares_merge_to_the_whole_grid() {
    let Some((ctx, kernels)) = gpu() else { return };
    let p = params(Payoff::EuropeanCall, 100.0, 1, 7);
    for mut mc in kernels {
        for paths in [2u64, 4097, 1_000_003] {
            let (whole, _) = mc.simulate(&ctx, &p, paths, Shape::DEFAULT).unwrap();
            let grid = mc.grid(paths, Shape::DEFAULT);
            for parts in [2u32, 3, 7] {
                let mut pieces = Vec::new();
                for k in 0..parts {
                    let range = grid * k / parts..grid * (k + 1) / parts;
                    let (mine, _) = mc
                        .simulate_groups(&ctx, &p, paths, range.clone(), Shape::DEFAULT)
                        .unwrap();
                    assert_eq!(mine.len(), range.len(), "one piece per workgroup");
                    pieces.extend(mine);
                }
                let merged = cpu_kernels::mc::McSums::merged(&pieces);
                assert_eq!(
                    merged,
                    whole,
                    "{:?}, {paths} paths in {parts} parts of {grid} workgroups",
                    mc.path()
                );
            }
        }
    }
}
