//! The GPU backend through the same harness as the CPU backends: every stream kernel at ragged
//! sizes in both precisions, arrays past one binding window, and `compare` end to end through the
//! real binary.
//!
//! Without an adapter the tests print a note and pass, unless `HEXPYLOT_REQUIRE_GPU=1` (CI, with
//! lavapipe installed), where a missing adapter fails them.

use cpu_kernels::roofline::roofline_gold;
use hexpylot::backend::{Backend, Setup};
use hexpylot::bench::{StreamConfig, run_stream};
use hexpylot::gpu::{GpuContext, GpuError, RooflineGpu, STAGING_BYTES, StreamGpu};
use hexpylot::model::{
    BackendKind, Element, Family, INIT_A, INIT_B, INIT_C, SCALAR, Shape, StorePolicy, StreamKernel,
    gold_replay,
};

mod common;
use common::{hexpylot, run_json};

fn required() -> bool {
    hexpylot::gpu::required().unwrap()
}

fn gpu() -> Option<Box<dyn Backend>> {
    let setup = Setup {
        cores: &[],
        adapter: None,
        local_rank: 0,
        gpu_tune: hexpylot::gpu::Tuning::Auto,
    };
    match BackendKind::Gpu.create(&setup) {
        Ok(b) => Some(b),
        Err(e) if !required() && matches!(e.downcast_ref(), Some(GpuError::NoAdapter { .. })) => {
            eprintln!("skipped: {e} (set HEXPYLOT_REQUIRE_GPU=1 to fail instead)");
            None
        }
        Err(e) => panic!("{e:#}"),
    }
}

fn assert_valid(b: &mut dyn Backend, cfg: &StreamConfig, f64_: bool) {
    let rows = if f64_ {
        run_stream::<f64, _>(b, cfg)
    } else {
        run_stream::<f32, _>(b, cfg)
    }
    .unwrap_or_else(|e| panic!("n = {}: {e:#}", cfg.n));
    assert_eq!(rows.len(), cfg.kernels.len());
    for r in rows {
        assert!(
            r.valid,
            "{} {} n={}: {}",
            r.kernel, r.precision, r.n, r.check
        );
        assert!(r.kernel_s.is_some() && r.end_to_end_s.is_some(), "{r:?}");
        // What the end-to-end runs brought back was validated too.
        assert!(r.check.contains("; end to end: "), "{}", r.check);
    }
}

#[test]
fn every_stream_kernel_validates_at_ragged_sizes() {
    let Some(mut b) = gpu() else { return };
    let f64_ok = b.adapter().is_some_and(|a| a.shader_f64);
    for n in [1, 255, 257, 4099, 100_003] {
        let cfg = StreamConfig {
            n,
            reps: 3,
            kernels: StreamKernel::ALL.to_vec(),
            stores: StorePolicy::Auto,
        };
        assert_valid(&mut *b, &cfg, false);
        if f64_ok {
            assert_valid(&mut *b, &cfg, true);
        }
    }
}

/// Arrays one element per window past the device's largest storage binding: the kernels run as
/// two dispatches over two windows, and the dot product adds both windows' partials.
#[test]
fn arrays_larger_than_one_binding_window() {
    let Some(mut b) = gpu() else { return };
    let limits = &b.adapter().expect("a GPU backend names its adapter").limits;
    let window = (limits.max_storage_buffer_binding_size / 4) as usize;
    let n = window + 4099;
    if (n * 4) as u64 > limits.max_buffer_size {
        eprintln!("skipped: one buffer cannot exceed one window on this adapter");
        return;
    }
    let cfg = StreamConfig {
        n,
        reps: 2,
        kernels: vec![StreamKernel::Triad, StreamKernel::Dot],
        stores: StorePolicy::Auto,
    };
    assert_valid(&mut *b, &cfg, false);
    // Each width past the window, with the most items per invocation (the grid-stride loop).
    let ctx = GpuContext::new(None, 0).expect("adapter");
    let mut gpu = StreamGpu::new(&ctx).expect("stream kernels");
    for width in [1, 2, 4] {
        let shape = Shape {
            workgroup: 64,
            width,
            per_invocation: 16,
        };
        run_at_shape::<f32>(&ctx, &mut gpu, n, shape);
    }
}

/// Every kernel once, in classic order, at `shape`, from BabelStream's initial values: every
/// element against the gold replay within the backend's FMA tolerance for one repetition (2ε), and
/// dot within its bound at that shape.
fn run_at_shape<T: Element>(ctx: &GpuContext, gpu: &mut StreamGpu, n: usize, shape: Shape) {
    let init = [INIT_A, INIT_B, INIT_C].map(T::from_f64);
    let mut arrays = gpu.alloc_filled::<T>(ctx, n, init).expect("alloc");
    let scalar = T::from_f64(SCALAR);
    let mut dot = 0.0;
    for kernel in StreamKernel::ALL {
        let (value, _) = gpu
            .run(ctx, &mut arrays, kernel, scalar, shape)
            .unwrap_or_else(|e| panic!("{kernel} at {shape:?}: {e}"));
        if kernel == StreamKernel::Dot {
            dot = value;
        }
    }
    let (gold, gold_dot) = gold_replay::<T>(&StreamKernel::ALL, 1, n).unwrap();
    let tolerance = 2.0 * T::EPSILON;
    let read = gpu.read::<T>(ctx, &arrays).expect("read");
    for (name, array, expected) in [
        ("a", &read[0], gold.a),
        ("b", &read[1], gold.b),
        ("c", &read[2], gold.c),
    ] {
        let g = expected.to_f64();
        for (i, x) in array.iter().enumerate() {
            let err = ((x.to_f64() - g) / g).abs();
            assert!(
                err <= tolerance,
                "{} {shape:?} n = {n}: {name}[{i}] = {x:?}, gold {g}",
                T::NAME
            );
        }
    }
    let (gold_dot, bound) = (gold_dot.unwrap(), gpu.dot_bound::<T>(ctx, n, shape));
    let err = ((dot - gold_dot) / gold_dot).abs();
    assert!(
        err <= bound,
        "{} {shape:?} n = {n}: dot {dot} vs {gold_dot}: {err:e} > {bound:e}",
        T::NAME
    );
}

/// Every launch shape the tuner may pick for the stream kernels and dot, in both precisions, at
/// sizes with ragged vectors (n mod 4 = 1, 2, 3) and partial workgroups.
#[test]
fn every_launch_shape_validates() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let ctx = GpuContext::new(None, 0).expect("adapter");
    let mut gpu = StreamGpu::new(&ctx).expect("stream kernels");
    let mut shapes = gpu.space::<f64>(&ctx, Family::Dot).shapes();
    shapes.extend(gpu.space::<f64>(&ctx, Family::Stream).shapes());
    shapes.sort();
    shapes.dedup();
    for shape in shapes {
        for n in [1usize, 6, 1027, 70_003] {
            run_at_shape::<f32>(&ctx, &mut gpu, n, shape);
            if ctx.has_f64() {
                run_at_shape::<f64>(&ctx, &mut gpu, n, shape);
            }
        }
    }
}

#[test]
fn sizes_past_the_buffer_limit_are_refused() {
    let Some(b) = gpu() else { return };
    let max = b.adapter().expect("adapter").limits.max_buffer_size;
    let too_big = (max / 4 + 1) as usize;
    let err = hexpylot::backend::Stream::<f32>::check_size(&*b, too_big).unwrap_err();
    assert!(
        matches!(err.downcast_ref(), Some(GpuError::Limit(m)) if m.contains("max_buffer_size")),
        "{err:#}"
    );
}

#[test]
fn compare_runs_end_to_end_and_the_gpu_agrees() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("compare.json");
    let out = hexpylot()
        .args([
            "compare", "--size", "70001", "--paths", "20001", "--steps", "6",
        ])
        .args(["--reps", "3", "--mc-reps", "2", "--threads", "2"])
        .args(["--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("GPU e2e") && stdout.contains("philox + normals"),
        "{stdout}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "name",
        "backend",
        "driver",
        "device_type",
        "timestamp_queries",
        "limits",
    ] {
        assert!(
            doc["gpu"].get(key).is_some(),
            "gpu lacks {key}: {}",
            doc["gpu"]
        );
    }
    let gpu_rows: Vec<_> = doc["stream"]
        .as_array()
        .unwrap()
        .iter()
        .chain(doc["mc"].as_array().unwrap())
        .filter(|r| r["backend"] == "gpu")
        .collect();
    // Six stream kernels; two options, each on the mirror and the native path.
    assert_eq!(gpu_rows.len(), 6 + 2 * 2);
    for r in gpu_rows {
        assert_eq!(r["valid"], true, "{r}");
        // The launch the row ran with, tuned, and the shapes the tuner tried.
        let launch = &r["launch"];
        assert_eq!(launch["tuned"], true, "{r}");
        assert!(launch["shape"]["workgroup"].as_u64().unwrap() >= 64, "{r}");
        assert!(launch["groups"].as_u64().unwrap() >= 1, "{r}");
        assert!(launch["probes"].as_array().unwrap().len() >= 3, "{r}");
        assert!(
            launch["probes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["valid"] == true && p["workgroup"] == launch["shape"]["workgroup"]),
            "{r}"
        );
        assert!(r["kernel_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["end_to_end_s"].as_f64().unwrap() > 0.0, "{r}");
        // Stream rows say whether the two medians came out in the impossible order (Monte Carlo's
        // end-to-end times are the host clock around the very runs the kernel times come from).
        if r.get("kernel").is_some() {
            assert!(r["end_to_end_below_kernel"].is_boolean(), "{r}");
        }
    }
    let compare = doc["compare"].as_array().unwrap();
    assert_eq!(compare.len(), 6 + 2 * 2 + 1);
    for r in compare {
        assert_eq!(r["agrees"], true, "{r}");
    }
    // Numbers, not prose: each GPU pair's agreement within its bound, each path a row of its own.
    for r in &compare[..compare.len() - 1] {
        let a = &r["agreement"];
        let (gap, bound) = match a["measure"].as_str().unwrap() {
            "relative-error" => (a["max"].as_f64(), a["bound"].as_f64()),
            "price-gap" => (a["gap"].as_f64(), a["bound"].as_f64()),
            other => panic!("{other}: {r}"),
        };
        assert!(gap.unwrap() <= bound.unwrap(), "{r}");
    }
    for path in ["mirror", "native"] {
        assert!(
            compare.iter().any(|r| r["of"]
                == serde_json::json!({"kind": "option", "option": "european-call", "steps": 1, "gpu_path": path})),
            "{path}: {compare:?}"
        );
    }
    assert_eq!(compare.last().unwrap()["agreement"]["measure"], "draws");
    // One summary line for every launch; each launch's own line only under --verbose.
    let launch_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("gpu launch"))
        .collect();
    assert_eq!(launch_lines.len(), 1, "{stdout}");
    assert!(
        launch_lines[0].starts_with("gpu launch: 7 launches tuned, "),
        "{stdout}"
    );
}

/// `--gpu-tune off`: every GPU row runs the default shape, unprobed.
#[test]
fn gpu_tune_off_runs_the_default_shape() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let (doc, _) = run_json(
        &[
            "compare",
            "--size",
            "4099",
            "--paths",
            "4099",
            "--steps",
            "3",
            "--reps",
            "2",
            "--mc-reps",
            "2",
            "--backends",
            "engine,gpu",
            "--gpu-tune",
            "off",
        ],
        false,
    );
    for r in doc["stream"]
        .as_array()
        .unwrap()
        .iter()
        .chain(doc["mc"].as_array().unwrap())
        .filter(|r| r["backend"] == "gpu")
    {
        assert_eq!(r["valid"], true, "{r}");
        let launch = &r["launch"];
        assert_eq!(launch["tuned"], false, "{r}");
        assert_eq!(launch["shape"]["workgroup"], 256, "{r}");
        assert_eq!(launch["shape"]["width"], 1, "{r}");
        assert_eq!(launch["shape"]["per_invocation"], 1, "{r}");
        assert!(launch.get("probes").is_none(), "{r}");
    }
}

/// `mc` on the GPU through the binary, for the payoffs of `S_T`: both paths valid, the mirror
/// within 1% of a standard error of the engine's price for the same paths (see
/// tests/gpu_montecarlo.rs for why 1% holds), the native path with its path error recorded.
#[test]
fn mc_on_the_gpu_agrees_with_the_engine() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    for option in ["european-call", "digital-call", "digital-put"] {
        let (doc, _) = run_json(
            &[
                "mc",
                "--option",
                option,
                "--paths",
                "65537",
                "--steps",
                "3",
                "--reps",
                "2",
                "--threads",
                "1",
                "--backends",
                "engine,gpu",
            ],
            false,
        );
        let rows = doc["mc"].as_array().unwrap();
        assert_eq!(rows.len(), 3, "{doc}");
        assert_eq!(rows[0]["backend"], "engine");
        assert_eq!(rows[1]["backend"], "gpu");
        assert_eq!(rows[1]["gpu_path"], "mirror");
        assert_eq!(rows[2]["gpu_path"], "native");
        assert!(rows[1].get("path_error").is_none(), "{}", rows[1]);
        assert!(rows[2]["path_error"].as_f64().unwrap() > 0.0, "{}", rows[2]);
        for row in rows {
            assert_eq!(row["valid"], true, "{row}");
        }
        let num = |i: usize, key: &str| rows[i][key].as_f64().unwrap();
        let (engine, gpu, se) = (num(0, "price"), num(1, "price"), num(0, "std_error"));
        assert!(
            (gpu - engine).abs() <= 0.01 * se,
            "{option}: GPU {gpu} vs engine {engine}, SE {se}"
        );
    }
}

/// No Vulkan driver at all: the CPU rows still run and the output says why the GPU did not, exit
/// 0; with HEXPYLOT_REQUIRE_GPU=1 the same run exits 1. Naming an adapter that does not exist is
/// bad input.
#[test]
fn a_missing_gpu_leaves_the_cpu_side_running() {
    let run = |require: &str| {
        hexpylot()
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .env("HEXPYLOT_REQUIRE_GPU", require)
            .args([
                "stream",
                "--backends",
                "engine,gpu",
                "--size",
                "4096",
                "--reps",
                "3",
            ])
            .output()
            .unwrap()
    };
    let out = run("0");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("gpu: not run: no GPU adapter found"),
        "{stdout}"
    );
    assert!(stdout.contains("| triad   | engine"), "{stdout}");
    assert_eq!(run("1").status.code(), Some(1));

    let out = hexpylot()
        .args([
            "stream",
            "--backends",
            "gpu",
            "--adapter",
            "no-such-gpu-anywhere",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn devices_lists_the_adapters_and_marks_the_one_used() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("devices.json");
    let out = hexpylot()
        .args(["devices", "--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("| * |"), "{stdout}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let adapters = doc["adapters"].as_array().unwrap();
    assert!(!adapters.is_empty());
    assert!(
        adapters[0]["limits"]["max_storage_buffer_binding_size"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// The roofline kernel against `roofline_gold`, over ragged sizes, several FMA counts and
/// repeated runs. WGSL's `fma` lowers to SPIR-V's `Fma`, which a driver may split into a multiply
/// and an add (lavapipe does): each step may then round twice, off from the fused result by at
/// most ε·|x|, and since |alpha| < 1 earlier differences shrink rather than grow, so after K
/// steps the elements are within K·ε relative. Every element must also equal every other: they
/// all undergo the same operations.
#[test]
fn roofline_matches_the_cpu_within_fma_splitting() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let ctx = GpuContext::new(None, 0).expect("adapter");
    let mut gpu = RooflineGpu::new(&ctx).expect("pipeline");
    let (alpha, beta) = (0.999_f32, 1e-3_f32);
    // Every shape the tuner may pick, at sizes that leave ragged vectors and partial groups.
    for shape in gpu.space(&ctx).shapes() {
        for n in [1usize, 257, 70_001] {
            let x0 = 1.5f32;
            let mut array = gpu.alloc(&ctx, n, x0).expect("alloc");
            let (mut expected, mut steps) = (x0, 0u32);
            for fmas in [0u32, 1, 7, 64] {
                let time = gpu
                    .run(&ctx, &mut array, fmas, (alpha, beta), shape)
                    .expect("run");
                assert!(time.wall_s > 0.0);
                expected = roofline_gold(expected, fmas, alpha, beta);
                steps += fmas;
            }
            let x = gpu.read(&ctx, &array).expect("read");
            let bound = f64::from(steps) * f64::from(f32::EPSILON);
            let error = (f64::from(x[0]) - f64::from(expected)).abs() / f64::from(expected);
            assert!(
                error <= bound,
                "{shape:?}, n = {n}: {} vs {expected}: {error:e} > {bound:e}",
                x[0]
            );
            assert!(
                x.iter().all(|v| v.to_bits() == x[0].to_bits()),
                "{shape:?}, n = {n}: elements differ"
            );
        }
    }
}

/// Every download goes through the one staging buffer the context keeps: downloads of different
/// sizes, offsets and element types in a row each bring back exactly their elements, including
/// ones past the buffer's size (two chunks and a ragged third), a small one after those, and an
/// empty one.
#[test]
fn downloads_of_any_size_reuse_one_staging_buffer() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let ctx = GpuContext::new(None, 0).expect("adapter");
    let n = (2 * STAGING_BYTES / 4) as usize + 5;
    let data: Vec<u32> = (0..n as u32)
        .map(|i| i.wrapping_mul(0x9E37_79B9) ^ 0x5555_5555)
        .collect();
    let source = ctx.upload("staging test", &data).expect("upload");
    for (offset, count) in [
        (7, 3),
        (0, 100_003),
        (0, n),
        (3, 1),
        (1, n - 1),
        (n - 2, 2),
        (5, 0),
    ] {
        let got: Vec<u32> = ctx
            .download("staging test", &source, offset, count)
            .expect("download");
        let want = &data[offset..offset + count];
        assert_eq!(got.len(), count);
        let wrong = got.iter().zip(want).position(|(g, w)| g != w);
        assert_eq!(
            wrong, None,
            "offset {offset}, count {count}: first wrong element"
        );
    }
    // Wider elements through the same buffer, across a chunk boundary.
    let wide: Vec<[u32; 4]> = ctx
        .download("staging test", &source, 0, n / 4)
        .expect("download");
    assert!(wide.iter().flatten().eq(&data[..n / 4 * 4]));
}

/// Runs `hexpylot sweep ARGS --json` and returns the document it wrote.
fn sweep_json(args: &[&str]) -> serde_json::Value {
    let args: Vec<&str> = ["sweep"].iter().chain(args).copied().collect();
    run_json(&args, false).0
}

/// The size and roofline sweeps with the GPU: kernel-only and end-to-end rows at every size, a
/// break-even finding, and a ceiling fitted per device.
#[test]
fn sweeps_include_the_gpu() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let doc = sweep_json(&["sizes", "--min-size", "2^10", "--max-size", "2^11"]);
    let gpu_rows: Vec<_> = doc["stream"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["backend"] == "gpu")
        .collect();
    assert_eq!(gpu_rows.len(), 2 * 2);
    assert!(
        gpu_rows
            .iter()
            .all(|r| r["end_to_end_s"].as_f64().is_some())
    );
    let findings = doc["sweep"]["findings"].to_string();
    assert!(findings.contains("GPU end to end"), "{findings}");

    let doc = sweep_json(&[
        "roofline",
        "--size",
        "2^12",
        "--max-fmas",
        "4",
        "--reps",
        "2",
    ]);
    let backends: Vec<_> = doc["sweep"]["ceilings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["backend"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(backends, ["engine", "gpu"]);
}

/// `compare --precision f64` runs the stream set in f64 on every backend, the GPU included where
/// its adapter has f64 shaders (else the GPU sits out and says why), and holds the GPU to the
/// CPU as in f32.
#[test]
fn compare_in_f64_runs_the_gpu_where_it_can() {
    if GpuContext::new(None, 0).is_err() && !required() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let (doc, _) = run_json(
        &[
            "compare",
            "--precision",
            "f64",
            "--size",
            "4099",
            "--paths",
            "2^12",
            "--steps",
            "2",
            "--reps",
            "3",
            "--mc-reps",
            "2",
        ],
        false,
    );
    let rows = doc["stream"].as_array().unwrap();
    assert!(
        rows.iter()
            .all(|r| r["precision"] == "f64" && r["valid"] == true)
    );
    let gpu = rows.iter().filter(|r| r["backend"] == "gpu").count();
    if doc["gpu"]["shader_f64"] == true {
        assert_eq!(gpu, 6);
        for r in doc["compare"].as_array().unwrap() {
            assert_eq!(r["agrees"], true, "{r}");
        }
    } else {
        assert_eq!(gpu, 0);
        assert!(doc["gpu_missing"].as_str().unwrap().contains("SHADER_F64"));
    }
}
