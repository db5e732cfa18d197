//! Every table fits the terminal: 100 columns, or `$COLUMNS` when that is wider. Each table is
//! rendered from typed rows holding the widest content a run can give it.

use cpu_kernels::mc::Payoff;
use cpu_kernels::stream::Stores;
use hexpylot::model::*;
use hexpylot::report;

/// A noisy spread: the widest spread cell.
fn timing() -> Timing {
    Timing {
        median_s: 1.2345,
        min_s: 1.0,
        max_s: 2.5,
        mean_s: Some(1.3),
        cv: Some(0.123),
    }
}

fn stream_row(
    kernel: StreamKernel,
    backend: BackendKind,
    precision: Precision,
    n: usize,
    scope: Option<Scope>,
) -> StreamRow {
    let gpu = backend == BackendKind::Gpu;
    StreamRow {
        kernel,
        backend,
        precision,
        threads: if gpu { 0 } else { 192 },
        n,
        bytes_per_rep: 3 * 8 * n as u64,
        reps: 999,
        timing: timing(),
        gbs_median: if gpu { 4800.0 } else { 987.65 },
        gbs_best: if gpu { 4899.99 } else { 999.99 },
        valid: true,
        check: "every element equals the gold value".into(),
        max_rel_err: Some(0.0),
        rel_err_bound: Some(1e-6),
        kernel_s: None,
        end_to_end_s: None,
        end_to_end_below_kernel: None,
        stores: (!gpu && kernel != StreamKernel::Dot).then_some(Stores::Streaming),
        store_probe: (!gpu).then_some(StoreProbe {
            cached_gbs: 100.0,
            streaming_gbs: 141.0,
            rounds: 32,
        }),
        launch: None,
        scope,
    }
}

fn mc_row(
    option: Payoff,
    backend: BackendKind,
    gpu_path: Option<GpuPath>,
    scope: Option<Scope>,
) -> McRow {
    let option = OptionKind::of(option);
    McRow {
        option,
        backend,
        threads: if backend == BackendKind::Gpu { 0 } else { 192 },
        paths: 1 << 30,
        steps: option.default_steps(),
        seed: 20261124,
        market: None,
        reps: 4,
        timing: timing(),
        paths_per_s: 12345.6e6,
        price: 10.450583572185565,
        std_error: 0.001423,
        reference: Some(10.450583572185565),
        z_score: Some(-1.234),
        method: CheckMethod::ZScore,
        check: "within 4 standard errors of the closed form".into(),
        valid: false,
        sums: None,
        kernel_s: None,
        end_to_end_s: None,
        gpu_path,
        path_error: None,
        launch: None,
        scope,
    }
}

/// Every backend's rows, and under MPI the job's and each rank's.
fn backends() -> Vec<(BackendKind, Option<GpuPath>)> {
    vec![
        (BackendKind::Engine, None),
        (BackendKind::Rayon, None),
        (BackendKind::Gpu, Some(GpuPath::Mirror)),
        (BackendKind::Gpu, Some(GpuPath::Native)),
    ]
}

fn scopes(mpi: bool) -> Vec<Option<Scope>> {
    if mpi {
        vec![
            Some(Scope::Aggregate { ranks: 128 }),
            Some(Scope::Rank {
                rank: 127,
                host: "gpu-node-0127".into(),
            }),
        ]
    } else {
        vec![None]
    }
}

fn stream_rows(precision: Precision, mpi: bool) -> Vec<StreamRow> {
    let mut rows = Vec::new();
    for scope in scopes(mpi) {
        for kernel in StreamKernel::ALL {
            for backend in [BackendKind::Engine, BackendKind::Rayon, BackendKind::Gpu] {
                rows.push(stream_row(
                    kernel,
                    backend,
                    precision,
                    1 << 30,
                    scope.clone(),
                ));
            }
        }
    }
    rows
}

fn mc_rows(options: &[Payoff], mpi: bool) -> Vec<McRow> {
    let mut rows = Vec::new();
    for scope in scopes(mpi) {
        for &option in options {
            for (backend, path) in backends() {
                rows.push(mc_row(option, backend, path, scope.clone()));
            }
        }
    }
    rows
}

fn compare_rows() -> Vec<CompareRow> {
    // The widest cells each column can hold: 4-digit ulps, a 5-digit SE, shares above 100%.
    let share = |fraction| Share {
        fraction,
        ceiling_gbs: 4800.0,
        source: CeilingSource::BestStreamRate,
    };
    let mut rows: Vec<CompareRow> = StreamKernel::ALL
        .iter()
        .map(|&kernel| CompareRow {
            of: Compared::Stream { kernel },
            unit: Unit::GBs,
            engine: Some(987.65),
            rayon: Some(987.65),
            gpu_kernel: Some(4800.0),
            gpu_end_to_end: Some(52.34),
            gpu_over_engine: Some(4.86),
            agrees: true,
            agreement: Some(Agreement::RelativeError {
                max: 1234.0 * f64::from(f32::EPSILON),
                bound: 2e-3,
                precision: Precision::F32,
            }),
            bound: Some(Bound::Memory {
                cpu: Some(share(1.05)),
                gpu: Some(share(1.12)),
            }),
        })
        .collect();
    for option in [Payoff::AsianGeometricCall, Payoff::DigitalPut] {
        let o = OptionKind::of(option);
        for path in GpuPath::ALL {
            rows.push(CompareRow {
                of: Compared::Option {
                    option: o,
                    steps: o.default_steps(),
                    gpu_path: Some(path),
                },
                unit: Unit::MPathsPerS,
                engine: Some(1234.5),
                rayon: Some(1234.5),
                gpu_kernel: Some(12345.6),
                gpu_end_to_end: Some(12345.6),
                gpu_over_engine: Some(10.0),
                agrees: false,
                agreement: Some(Agreement::PriceGap {
                    gap: 12.345e-3,
                    bound: 1e-5,
                    std_error: 1e-3,
                    bound_from: PriceBound::WgslAccuracy,
                }),
                bound: Some(Bound::Compute),
            });
        }
    }
    rows
}

fn roofline_rows() -> Vec<RooflineRow> {
    [BackendKind::Engine, BackendKind::Gpu]
        .into_iter()
        .flat_map(|backend| {
            [1, 1024].map(|fmas| RooflineRow {
                backend,
                threads: if backend == BackendKind::Gpu { 0 } else { 192 },
                n: 1 << 30,
                precision: Precision::F32,
                fmas,
                intensity: 256.0,
                timing: timing(),
                gflops: 61234.5,
                gbs: 4800.0,
                valid: false,
                check: "every element equals the gold value".into(),
                launch: None,
            })
        })
        .collect()
}

fn transfer_rows() -> Vec<TransferRow> {
    let mut rows: Vec<TransferRow> = TransferKind::TRANSFERS
        .into_iter()
        .map(|kind| TransferRow {
            kind,
            bytes: 1 << 30,
            dispatches: None,
            reps: 1000,
            timing: Timing {
                median_s: 2.6,
                ..timing()
            },
            gbs: Some(52.345),
            us_per_dispatch: None,
            valid: false,
            check: "every word read back".into(),
        })
        .collect();
    for (kind, dispatches) in [
        (TransferKind::LaunchSingle, 1),
        (TransferKind::LaunchBatch, 1000),
    ] {
        rows.push(TransferRow {
            kind,
            bytes: 0,
            dispatches: Some(dispatches),
            reps: 10000,
            timing: timing(),
            gbs: None,
            us_per_dispatch: Some(1234.56),
            valid: false,
            check: "-".into(),
        });
    }
    rows
}

fn machine() -> Machine {
    Machine {
        hostname: "gpu-node-0127.cluster.example.org".into(),
        os: "Linux (Red Hat Enterprise Linux 9.4 (Plow))".into(),
        kernel: "5.14.0-427.13.1.el9_4.x86_64".into(),
        cpu_model: "Intel(R) Xeon(R) Platinum 8480+ @ 2.00GHz".into(),
        logical_cpus: 224,
        allowed_cpus: (0..224).collect(),
        caches: vec![Cache {
            level: 3,
            kind: "Unified".into(),
            size_bytes: 105 << 20,
            shared_cpus: "0-55,112-167".into(),
        }],
        memory_total_bytes: 2 << 40,
        memory_available_bytes: 1 << 40,
        transparent_hugepages: "madvise".into(),
        load_average: [123.45, 123.45, 123.45],
    }
}

fn adapters() -> Vec<AdapterSummary> {
    let limits = LimitsSummary {
        max_buffer_size: 143_360 << 20,
        max_storage_buffer_binding_size: 143_360 << 20,
        max_compute_workgroups_per_dimension: 65535,
        ..Default::default()
    };
    vec![
        AdapterSummary {
            name: "NVIDIA H200".into(),
            backend: "Vulkan".into(),
            device_type: "DiscreteGpu".into(),
            driver: "NVIDIA".into(),
            driver_info: "570.124.06".into(),
            timestamp_queries: true,
            shader_f64: true,
            limits: limits.clone(),
            ..Default::default()
        },
        AdapterSummary {
            name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
            backend: "Vulkan".into(),
            device_type: "IntegratedGpu".into(),
            driver: "llvmpipe".into(),
            driver_info: "Mesa 22.3.6 (LLVM 15.0.6)".into(),
            limits,
            ..Default::default()
        },
    ]
}

/// A compare document: the rows, and the stream and Monte Carlo rows their rates come from.
fn compare_doc() -> Document {
    let mut doc = Document::new(machine(), "compare".into(), None);
    doc.compare = compare_rows();
    doc.stream = stream_rows(Precision::F64, false);
    doc.mc = mc_rows(&[Payoff::AsianGeometricCall, Payoff::DigitalPut], false);
    doc
}

/// Every line of every table, with its notes, and the widest found.
fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn every_table_fits_the_width() {
    let width = report::table_width();
    assert!(width >= 100);
    let mut tables = Vec::new();
    for precision in Precision::ALL {
        for mpi in [false, true] {
            let rows = stream_rows(precision, mpi);
            tables.push((
                format!("stream {} mpi={mpi}", precision.name()),
                report::stream_table(&rows),
            ));
        }
    }
    // The thread and size sweeps: the rows differ in threads, or in n.
    let mut sweep = stream_rows(Precision::F64, false);
    for (i, r) in sweep.iter_mut().enumerate() {
        r.threads = if r.threads == 0 { 0 } else { 1 + i % 192 };
    }
    tables.push(("sweep threads".into(), report::stream_table(&sweep)));
    let mut sweep = stream_rows(Precision::F64, false);
    for (i, r) in sweep.iter_mut().enumerate() {
        r.n = 1 << (10 + i % 21);
    }
    tables.push(("sweep sizes".into(), report::stream_table(&sweep)));
    let options = [Payoff::AsianGeometricCall, Payoff::DigitalPut];
    tables.push((
        "mc, two options".into(),
        report::mc_table(&mc_rows(&options, false)),
    ));
    for mpi in [false, true] {
        let rows = mc_rows(&[Payoff::AsianGeometricCall], mpi);
        tables.push((format!("mc mpi={mpi}"), report::mc_table(&rows)));
    }
    let mut euro_asian = mc_rows(&[Payoff::EuropeanCall, Payoff::AsianArithmeticCall], true);
    for r in euro_asian.iter_mut() {
        if let Some(Scope::Rank { host, .. }) = &mut r.scope {
            *host = "node7".into();
        }
    }
    tables.push((
        "compare --verbose mc, mpi".into(),
        report::mc_table(&euro_asian),
    ));
    tables.push(("compare".into(), report::compare_table(&compare_doc())));
    tables.push(("roofline".into(), report::roofline_table(&roofline_rows())));
    tables.push(("transfer".into(), report::transfer_table(&transfer_rows())));
    tables.push(("machine".into(), report::machine_table(&machine())));
    tables.push((
        "adapters".into(),
        report::adapters_table(&adapters(), Some(0)),
    ));
    let mut over = Vec::new();
    for (what, text) in &tables {
        let w = widest(text);
        eprintln!("{what}: widest line {w}\n{text}\n");
        if w > width {
            over.push(format!("{what}: {w} columns"));
        }
    }
    assert!(over.is_empty(), "wider than {width}: {over:?}");
}

/// Spreads reach the compare table: every rate of a noisy row is marked.
#[test]
fn the_compare_table_marks_noisy_rates() {
    let text = report::compare_table(&compare_doc());
    let row = text.lines().find(|l| l.starts_with("| triad")).unwrap();
    assert_eq!(row.matches('*').count(), 3, "{row}");
    let row = text
        .lines()
        .find(|l| l.contains("digital-put 1 step, native"))
        .unwrap();
    assert_eq!(row.matches('*').count(), 3, "{row}");
}

/// 100 columns, or `$COLUMNS` when it is wider and a number.
#[test]
fn the_width_is_100_or_a_wider_terminal() {
    assert_eq!(report::width_for(None), 100);
    assert_eq!(report::width_for(Some("140")), 140);
    assert_eq!(report::width_for(Some("80")), 100);
    assert_eq!(report::width_for(Some("wide")), 100);
    assert_eq!(report::width_for(Some("")), 100);
}
