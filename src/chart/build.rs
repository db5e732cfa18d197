//! From parsed files to the chart descriptions. A series is one run's backend (or, for
//! transfers, one run's way), never rows of several runs merged (see the module docs). Each
//! builder also returns the files it drew on, so that a file no chart used can be reported
//! instead of silently ignored.

use std::collections::BTreeSet;

use plotters::style::RGBColor;

use super::draw::{
    Axis, Callout, Fill, Level, Line, Marker, PALETTE, Plot, Scale, Series, Shape, number,
    superscript,
};
use super::input::{Input, Peer, Run};
use crate::model::{
    BackendKind, Machine, OptionKind, Precision, RooflineRow, StreamKernel, StreamRow, SweepKind,
    TransferKind,
};

pub struct Chart {
    pub file_name: &'static str,
    pub plot: Plot,
    pub sources: BTreeSet<usize>,
}

pub fn all(input: &Input) -> Vec<Chart> {
    let names = Names::new(input);
    [memory_wall, sizes, roofline, montecarlo, ranks, transfer]
        .iter()
        .filter_map(|build| build(input, &names))
        .collect()
}

/// How machines are named in the titles: the CPU model, with the host name added only where two
/// machines share a model. The legends name runs instead (by their labels).
struct Names {
    machines: Vec<Machine>,
}

fn same(a: &Machine, b: &Machine) -> bool {
    a.hostname == b.hostname && a.cpu_model == b.cpu_model && a.logical_cpus == b.logical_cpus
}

fn model(m: &Machine) -> String {
    if m.cpu_model.trim().is_empty() {
        "unknown CPU".to_string()
    } else {
        tidy(&m.cpu_model)
    }
}

impl Names {
    fn new(input: &Input) -> Names {
        let mut machines: Vec<Machine> = Vec::new();
        for run in &input.runs {
            if !machines.iter().any(|m| same(m, &run.doc.machine)) {
                machines.push(run.doc.machine.clone());
            }
        }
        Names { machines }
    }

    fn label(&self, m: &Machine) -> String {
        let name = model(m);
        let twins: Vec<&Machine> = self.machines.iter().filter(|k| model(k) == name).collect();
        if twins.len() < 2 {
            return name;
        }
        let hosts_differ = twins.iter().filter(|k| k.hostname == m.hostname).count() == 1;
        if hosts_differ && !m.hostname.is_empty() {
            format!("{name} ({})", m.hostname)
        } else {
            let index = self.machines.iter().position(|k| same(k, m)).unwrap_or(0);
            format!("{name} (machine {})", index + 1)
        }
    }

    fn title(&self, m: &Machine) -> String {
        match m.logical_cpus {
            0 => self.label(m),
            n => format!("{} ({n} CPUs)", self.label(m)),
        }
    }

    /// "AMD EPYC (2 CPUs) vs Intel Xeon (8 CPUs)", "with" the GPUs charted.
    fn heading(&self, runs: &[&Run], gpus: &[String]) -> String {
        let mut machines: Vec<String> = Vec::new();
        for run in runs {
            let t = self.title(&run.doc.machine);
            if !machines.contains(&t) {
                machines.push(t);
            }
        }
        let mut heading = machines.join(" vs ");
        let mut unique: Vec<&str> = Vec::new();
        for gpu in gpus {
            if !unique.contains(&gpu.as_str()) {
                unique.push(gpu);
            }
        }
        if !unique.is_empty() {
            heading = format!("{heading} with {}", unique.join(", "));
        }
        heading
    }
}

/// The adapter a run's GPU rows ran on, when its document names one.
fn gpu_name(run: &Run) -> Option<String> {
    run.doc
        .gpu
        .as_ref()
        .map(|g| g.name.trim().to_string())
        .filter(|n| !n.is_empty())
}

/// A CPU model without the marketing: "Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz" reads as
/// "Intel Xeon Gold 6338N", "AMD EPYC 7763 64-Core Processor" as "AMD EPYC 7763"; titles have
/// room for little more.
fn tidy(model: &str) -> String {
    let mut m = model
        .replace("(R)", "")
        .replace("(TM)", "")
        .replace("(tm)", "");
    if let Some(at) = m.find(" @ ") {
        m.truncate(at);
    }
    if let Some(core) = m.find("-Core Processor") {
        let start = m[..core].rfind(' ').unwrap_or(core);
        m.truncate(start);
    }
    let words: Vec<&str> = m.split_whitespace().collect();
    let words = match words.as_slice() {
        [rest @ .., "CPU" | "Processor"] if !rest.is_empty() => rest,
        all => all,
    };
    if words.is_empty() {
        model.trim().to_string()
    } else {
        words.join(" ")
    }
}

/// Colours handed out in order, so that every series of a chart differs.
struct Palette(usize);

impl Palette {
    fn next(&mut self) -> RGBColor {
        self.0 += 1;
        PALETTE[(self.0 - 1) % PALETTE.len()]
    }
}

/// The line pattern and marker fill of a chart's `index`th run: runs of one backend differ in
/// both, not in colour alone, so that two runs' coinciding lines (a solid line under a dotted one,
/// a filled marker under a hollow one) both stay visible. Unique for the first nine runs; the
/// size chart, whose line pattern is the kernel's, tells three apart by the fill.
fn run_look(index: usize) -> (Line, Fill) {
    // Dotted before dashed: dashed horizontal lines are the GPU levels.
    const LINES: [Line; 3] = [Line::Solid, Line::Dotted, Line::Dashed];
    const FILLS: [Fill; 3] = [Fill::Solid, Fill::Hollow, Fill::Dot];
    (LINES[(index + index / 3) % 3], FILLS[index % 3])
}

/// Each backend's marker shape, the same in every chart. The engine's circle is larger than
/// rayon's square: where the two coincide, a ring of the circle shows around the square.
fn shape(backend: BackendKind) -> Shape {
    match backend {
        BackendKind::Engine => Shape::Circle,
        BackendKind::Rayon => Shape::Square,
        BackendKind::Gpu => Shape::Triangle,
    }
}

/// Points sorted by x, repeated x values reduced to their median: a peer's lines from several
/// files (one per thread count), or a run that measured a point twice.
fn by_x(mut points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let j = i + points[i..]
            .iter()
            .take_while(|p| p.0 == points[i].0)
            .count();
        out.push((points[i].0, median(points[i..j].iter().map(|p| p.1))));
        i = j;
    }
    out
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn sweeps(input: &Input, kind: SweepKind) -> Vec<&Run> {
    input
        .runs
        .iter()
        .filter(|r| r.doc.sweep.as_ref().is_some_and(|s| s.kind == kind))
        .collect()
}

/// Thread counts on log₂ from 1 (see [`Scale::Log2`]), where the low counts (and the memory wall
/// among them) are not squeezed into a corner.
fn thread_axis() -> Axis {
    Axis {
        desc: "CPU threads (log₂ scale)".to_string(),
        scale: Scale::Log2,
    }
}

/// Log scale once values span more than 25×, where a linear axis would flatten the small ones
/// (a GPU level hundreds of times above the CPU curves).
fn value_scale(plot: &Plot) -> Scale {
    let values = plot
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(plot.levels.iter().map(|l| l.at));
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > 0.0 && hi / lo > 25.0 {
        Scale::Log10
    } else {
        Scale::Linear
    }
}

fn option_name(option: OptionKind) -> String {
    let spaced = option.name().replace('-', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map_or(String::new(), |c| c.to_uppercase().chain(chars).collect())
}

/// The backends in `rows`, each once: engine, rayon, GPU (the same order in every chart).
fn backends(rows: impl Iterator<Item = BackendKind>) -> Vec<BackendKind> {
    rows.collect::<BTreeSet<_>>().into_iter().collect()
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The distinct precisions of the rows charted: "f32", "f32 and f64".
fn precisions(rows: impl Iterator<Item = Precision>) -> String {
    let all: BTreeSet<Precision> = rows.collect();
    and_list(
        &all.into_iter()
            .map(|p| p.name().to_string())
            .collect::<Vec<_>>(),
    )
}

/// What the title says of the rows charted: "n = 2²⁵, f32", each distinct size and precision once.
fn size_and_precision(rows: impl Iterator<Item = (usize, Precision)> + Clone) -> String {
    let sizes: BTreeSet<usize> = rows.clone().map(|r| r.0).collect();
    let sizes: Vec<String> = sizes.into_iter().map(|n| elements(n as f64)).collect();
    format!(
        "n = {}, {}",
        and_list(&sizes),
        precisions(rows.map(|r| r.1))
    )
}

/// What the thread charts' footnotes say of the styles drawn: `cpu_peers` when a CPU peer is a
/// series.
fn thread_notes(plot: &Plot, runs: usize, cpu_peers: bool) -> Vec<String> {
    let mut notes = vec![
        "Medians of the timed repetitions; runs that failed validation are left out.".to_string(),
    ];
    let peers = if cpu_peers {
        " and the CPU peers (crosses)"
    } else {
        ""
    };
    notes.push(format!(
        "Lines with markers: CPU figures over threads, HexPylot's CPU backends (circles: engine, \
         squares: rayon){peers}."
    ));
    if !plot.levels.is_empty() {
        notes.push(
            "Dashed horizontal lines: GPU figures (HexPylot's GPU backend, the GPU peers), which \
             have no thread count."
                .to_string(),
        );
    }
    if runs > 1 {
        notes.push(
            "Each run is a line of its own; runs differ in line pattern and marker fill."
                .to_string(),
        );
    }
    notes
}

fn memory_wall(input: &Input, names: &Names) -> Option<Chart> {
    let runs = sweeps(input, SweepKind::Threads);
    let mut plot = empty_plot();
    let mut sources = BTreeSet::new();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let (line, fill) = run_look(index);
        let triad = || {
            run.doc
                .stream
                .iter()
                .filter(|r| r.kernel == StreamKernel::Triad && r.is_job_row())
        };
        let mut colours = Vec::new();
        for backend in backends(triad().map(|r| r.backend)) {
            let rows = || triad().filter(move |r| r.backend == backend);
            let colour = palette.next();
            sources.insert(run.file);
            if backend.is_offload() {
                plot.add_level(Level {
                    label: format!("{} — gpu, kernel only", run.name),
                    at: median(rows().map(|r| r.gbs_median)),
                    colour,
                });
                gpus.extend(gpu_name(run));
                continue;
            }
            colours.push((backend, colour));
            plot.add_series(Series {
                label: format!("{} — {backend}", run.name),
                colour,
                line,
                marker: Marker {
                    shape: shape(backend),
                    fill,
                },
                points: by_x(rows().map(|r| (r.threads as f64, r.gbs_median)).collect()),
            });
        }
        if let Some(wall) = run.doc.sweep.as_ref().and_then(|s| s.memory_wall.as_ref()) {
            let colour = colours
                .iter()
                .find(|(b, _)| *b == wall.backend)
                .map_or(PALETTE[0], |(_, c)| *c);
            plot.add_callout(Callout {
                at: (wall.threads as f64, wall.gbs),
                text: format!(
                    "{} — {}: memory wall at {} threads, {} GB/s ({:.0}% of best)",
                    run.name,
                    wall.backend,
                    wall.threads,
                    number(wall.gbs),
                    wall.fraction_of_best * 100.0
                ),
                colour,
            });
        }
    }
    if sources.is_empty() {
        return None;
    }
    let cpu_peers = add_peers(
        &mut plot,
        &input.peers,
        PeerMetric::Triad,
        &mut palette,
        &mut sources,
    );
    let rows = runs.iter().flat_map(|r| {
        r.doc
            .stream
            .iter()
            .filter(|r| r.kernel == StreamKernel::Triad)
            .map(|r| (r.n, r.precision))
    });
    let what = format!("Triad bandwidth vs threads, {}", size_and_precision(rows));
    let x = thread_axis();
    let scale = value_scale(&plot);
    let y = Axis {
        desc: log_desc("Triad bandwidth, GB/s (median)", scale),
        scale,
    };
    let notes = thread_notes(&plot, runs.len(), cpu_peers);
    framed(
        plot,
        Frame {
            file_name: "memory-wall.png",
            what,
            heading: names.heading(&runs, &gpus),
            x,
            y,
            notes,
        },
        sources,
    )
}

fn sizes(input: &Input, names: &Names) -> Option<Chart> {
    let runs = sweeps(input, SweepKind::Sizes);
    let mut plot = empty_plot();
    let mut sources = BTreeSet::new();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    const KERNELS: [(StreamKernel, Line); 2] = [
        (StreamKernel::Triad, Line::Solid),
        (StreamKernel::Dot, Line::Dashed),
    ];
    fn charted(run: &Run) -> Vec<&StreamRow> {
        run.doc
            .stream
            .iter()
            .filter(|r| r.n > 0 && KERNELS.iter().any(|k| k.0 == r.kernel))
            .collect()
    }
    for (index, run) in runs.iter().enumerate() {
        let fill = run_look(index).1;
        let rows = charted(run);
        for backend in backends(rows.iter().map(|r| r.backend)) {
            // The GPU twice: its kernel time, and host memory to host memory.
            let variants = if backend.is_offload() {
                gpus.extend(gpu_name(run));
                vec![
                    (false, "gpu kernel only".to_string(), Shape::Triangle),
                    (true, "gpu end to end".to_string(), Shape::Diamond),
                ]
            } else {
                vec![(false, backend.to_string(), shape(backend))]
            };
            for (end_to_end, what, shape) in variants {
                let mut colour = None;
                for (kernel, line) in KERNELS {
                    let points: Vec<(f64, f64)> = rows
                        .iter()
                        .filter(|r| r.backend == backend && r.kernel == kernel)
                        .filter_map(|r| {
                            let gbs = if end_to_end {
                                r.end_to_end_gbs()?
                            } else {
                                r.gbs_median
                            };
                            Some((r.n as f64, gbs))
                        })
                        .collect();
                    if points.is_empty() {
                        continue;
                    }
                    sources.insert(run.file);
                    plot.add_series(Series {
                        label: format!("{} — {what}, {kernel}", run.name),
                        colour: *colour.get_or_insert_with(|| palette.next()),
                        line,
                        marker: Marker { shape, fill },
                        points: by_x(points),
                    });
                }
            }
        }
    }
    if sources.is_empty() {
        return None;
    }
    let precision_set: BTreeSet<Precision> = runs
        .iter()
        .flat_map(|r| charted(r).into_iter().map(|r| r.precision))
        .collect();
    let mut machines: Vec<&Machine> = Vec::new();
    for run in &runs {
        if !machines.iter().any(|m| same(m, &run.doc.machine)) {
            machines.push(&run.doc.machine);
        }
    }
    let distinct_caches = {
        let mut sets: Vec<_> = machines.iter().map(|m| &m.caches).collect();
        sets.dedup();
        sets.len() > 1
    };
    for machine in &machines {
        let levels = [
            ("L1d", 1, "Data"),
            ("L2", 2, "Instruction"),
            ("L3", 3, "Instruction"),
        ];
        for (name, level, kind) in levels {
            // L1 is split, so the data half is the one wanted; L2 and L3 are anything but the
            // instruction cache.
            let cache = machine.caches.iter().find(|c| {
                c.level == level
                    && c.size_bytes > 0
                    && if level == 1 {
                        c.kind == kind
                    } else {
                        c.kind != kind
                    }
            });
            let Some(cache) = cache else { continue };
            for precision in &precision_set {
                let whose = if distinct_caches {
                    format!(" ({})", names.label(machine))
                } else {
                    String::new()
                };
                let of = if precision_set.len() > 1 {
                    format!(", {precision}")
                } else {
                    String::new()
                };
                let label = format!("{name} {}{whose}{of}", bytes(cache.size_bytes as f64));
                if !plot.markers.iter().any(|m| m.label == label) {
                    plot.markers.push(Level {
                        label,
                        at: cache.size_bytes as f64 / (3 * precision.bytes()) as f64,
                        colour: RGBColor(110, 110, 110),
                    });
                }
            }
        }
    }
    for run in &runs {
        let break_even = run.doc.sweep.as_ref().and_then(|s| s.break_even_n);
        if let Some(n) = break_even.filter(|n| *n > 0) {
            let whose = if runs.len() > 1 {
                format!(" ({})", run.name)
            } else {
                String::new()
            };
            plot.markers.push(Level {
                label: format!("GPU break-even: n = {}{whose}", elements(n as f64)),
                at: n as f64,
                colour: RGBColor(20, 20, 20),
            });
        }
    }
    let precision = precisions(precision_set.iter().copied());
    let what = format!("Triad and dot bandwidth vs array size, {precision}");
    let x = Axis {
        desc: "Elements per array, n (log scale)".to_string(),
        scale: Scale::Log2Powers,
    };
    let y = Axis {
        desc: "Bandwidth, GB/s (median, log scale)".to_string(),
        scale: Scale::Log10,
    };
    let array_bytes = precision_set
        .iter()
        .map(|p| format!("{} bytes for {p}", 3 * p.bytes()))
        .collect::<Vec<_>>();
    let mut notes = vec![
        "Solid lines: triad. Dashed lines: dot. Markers: circles engine, squares rayon, triangles \
         GPU kernel only, diamonds GPU end to end."
            .to_string(),
        format!(
            "Grey dotted lines: the n at which triad's three arrays fill each cache (size / {}).",
            and_list(&array_bytes)
        ),
        "End to end: upload, kernel and download, host memory to host memory.".to_string(),
    ];
    if runs.len() > 1 {
        notes.push(
            "Each run is a line of its own; runs differ in marker fill (filled, hollow, dotted)."
                .to_string(),
        );
    }
    framed(
        plot,
        Frame {
            file_name: "sizes.png",
            what,
            heading: names.heading(&runs, &gpus),
            x,
            y,
            notes,
        },
        sources,
    )
}

fn roofline(input: &Input, names: &Names) -> Option<Chart> {
    let measured = |r: &&RooflineRow| r.intensity > 0.0 && r.gflops > 0.0;
    let runs: Vec<&Run> = input
        .runs
        .iter()
        .filter(|r| r.doc.roofline.iter().any(|row| measured(&row)))
        .collect();
    if runs.is_empty() {
        return None;
    }
    let mut plot = empty_plot();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    let sources = runs.iter().map(|r| r.file).collect();
    // The ceilings span the whole x range, which is known only once every point and ridge is.
    let spans: Vec<f64> = runs
        .iter()
        .flat_map(|r| {
            r.doc.roofline.iter().map(|r| r.intensity).chain(
                r.doc
                    .sweep
                    .iter()
                    .flat_map(|s| s.ceilings.iter().map(|c| c.ridge)),
            )
        })
        .filter(|v| *v > 0.0)
        .collect();
    let lo = spans.iter().copied().fold(f64::INFINITY, f64::min) / 2.0;
    let hi = spans.iter().copied().fold(0.0, f64::max) * 2.0;
    for (index, run) in runs.iter().enumerate() {
        let (line, fill) = run_look(index);
        for backend in backends(run.doc.roofline.iter().map(|r| r.backend)) {
            if backend.is_offload() {
                gpus.extend(gpu_name(run));
            }
            let who = format!("{} — {backend}", run.name);
            let colour = palette.next();
            let marker = Marker {
                shape: shape(backend),
                fill,
            };
            let points = run
                .doc
                .roofline
                .iter()
                .filter(|r| r.backend == backend)
                .filter(measured)
                .map(|r| (r.intensity, r.gflops))
                .collect();
            plot.add_series(Series {
                label: format!("{who}, measured"),
                colour,
                line: Line::None,
                marker,
                points: by_x(points),
            });
            let ceiling = run
                .doc
                .sweep
                .iter()
                .flat_map(|s| s.ceilings.iter())
                .find(|c| c.backend == backend && c.bandwidth_gbs > 0.0 && c.compute_gflops > 0.0);
            let Some(c) = ceiling else { continue };
            let roof = |i: f64| (i, (c.bandwidth_gbs * i).min(c.compute_gflops));
            let mut points = vec![roof(lo)];
            if c.ridge > lo && c.ridge < hi {
                points.push((c.ridge, c.compute_gflops));
            }
            points.push(roof(hi));
            // The backend's marker on the ceiling too, so that two backends' coinciding ceilings
            // still show both.
            plot.add_series(Series {
                label: format!(
                    "{who}, ceiling: {} GB/s, {} GFLOP/s",
                    number(c.bandwidth_gbs),
                    number(c.compute_gflops)
                ),
                colour,
                line,
                marker,
                points,
            });
            plot.add_callout(Callout {
                at: (c.ridge, c.compute_gflops),
                text: format!("{who}: ridge at {} FLOP/byte", number(c.ridge)),
                colour,
            });
        }
    }
    let rows = runs
        .iter()
        .flat_map(|r| r.doc.roofline.iter().map(|r| (r.n, r.precision)));
    let what = format!("Roofline, {}", size_and_precision(rows));
    let x = Axis {
        desc: "Arithmetic intensity, FLOP/byte (log scale)".to_string(),
        scale: Scale::Log10,
    };
    let y = Axis {
        desc: "Performance, GFLOP/s (median, log scale)".to_string(),
        scale: Scale::Log10,
    };
    let mut notes = vec![
        "Ceiling: min(bandwidth × intensity, peak), fitted to the measured points.".to_string(),
    ];
    if runs.len() > 1 {
        notes.push(
            "Each run is drawn on its own; runs differ in ceiling line pattern and marker fill."
                .to_string(),
        );
    }
    framed(
        plot,
        Frame {
            file_name: "roofline.png",
            what,
            heading: names.heading(&runs, &gpus),
            x,
            y,
            notes,
        },
        sources,
    )
}

fn montecarlo(input: &Input, names: &Names) -> Option<Chart> {
    let runs: Vec<&Run> = sweeps(input, SweepKind::Threads)
        .into_iter()
        .filter(|r| !r.doc.mc.is_empty())
        .collect();
    if runs.is_empty() {
        return None;
    }
    let mut options: Vec<OptionKind> = Vec::new();
    for r in runs.iter().flat_map(|r| r.doc.mc.iter()) {
        if !options.contains(&r.option) {
            options.push(r.option);
        }
    }
    // Different options cost very different amounts per path: one series per option.
    let with_option = |label: String, option: OptionKind| {
        if options.len() > 1 {
            format!("{label}, {}", option_name(option))
        } else {
            label
        }
    };
    let mut plot = empty_plot();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    let mut sources = runs.iter().map(|r| r.file).collect::<BTreeSet<_>>();
    for (index, run) in runs.iter().enumerate() {
        let (line, fill) = run_look(index);
        for backend in backends(run.doc.mc.iter().map(|r| r.backend)) {
            for option in &options {
                let rows: Vec<_> = run
                    .doc
                    .mc
                    .iter()
                    .filter(|r| r.backend == backend && r.option == *option && r.is_job_row())
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                let name = with_option(format!("{} — {backend}", run.name), *option);
                if backend.is_offload() {
                    // One level per GPU path (mirror, native; none in older documents).
                    let mut paths: Vec<_> = rows.iter().map(|r| r.gpu_path).collect();
                    paths.dedup();
                    for path in paths {
                        let of_path = rows.iter().filter(|r| r.gpu_path == path);
                        let path = path.map_or(String::new(), |p| format!(" {}", p.name()));
                        plot.add_level(Level {
                            label: format!("{name}{path}, kernel only"),
                            at: median(of_path.map(|r| r.paths_per_s / 1e6)),
                            colour: palette.next(),
                        });
                    }
                    gpus.extend(gpu_name(run));
                    continue;
                }
                let colour = palette.next();
                plot.add_series(Series {
                    label: name,
                    colour,
                    line,
                    marker: Marker {
                        shape: shape(backend),
                        fill,
                    },
                    points: by_x(
                        rows.iter()
                            .map(|r| (r.threads as f64, r.paths_per_s / 1e6))
                            .collect(),
                    ),
                });
            }
        }
    }
    let cpu_peers = add_peers(
        &mut plot,
        &input.peers,
        PeerMetric::MonteCarlo,
        &mut palette,
        &mut sources,
    );
    let what = match options.as_slice() {
        [one] => format!("Monte Carlo ({}) vs threads", option_name(*one)),
        _ => "Monte Carlo vs threads".to_string(),
    };
    let paths: BTreeSet<u64> = runs
        .iter()
        .flat_map(|r| r.doc.mc.iter().map(|r| r.paths))
        .collect();
    let paths: Vec<String> = paths.into_iter().map(|p| elements(p as f64)).collect();
    // The path arithmetic is f32 on every backend (cpu_kernels::mc).
    let what = format!("{what}, {} paths, f32", and_list(&paths));
    let x = thread_axis();
    // Always logarithmic: the GPU and the CPU curves differ by orders of magnitude, and the same
    // axis from one run to the next keeps charts comparable.
    let y = Axis {
        desc: log_desc("Million paths/s (median)", Scale::Log10),
        scale: Scale::Log10,
    };
    let notes = thread_notes(&plot, runs.len(), cpu_peers);
    framed(
        plot,
        Frame {
            file_name: "montecarlo.png",
            what,
            heading: names.heading(&runs, &gpus),
            x,
            y,
            notes,
        },
        sources,
    )
}

/// Rank sweeps: the job's triad and Monte Carlo rates over 1, 2, 4, … ranks as speedups over one
/// rank, so that bandwidth (which a host's memory caps) and paths (which only cores cap) share an
/// axis, with the line of perfect scaling.
fn ranks(input: &Input, names: &Names) -> Option<Chart> {
    let runs = sweeps(input, SweepKind::Ranks);
    let mut plot = empty_plot();
    let mut sources = BTreeSet::new();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    let mut most = 1.0f64;
    for (index, run) in runs.iter().enumerate() {
        let fill = run_look(index).1;
        let triad = run
            .doc
            .stream
            .iter()
            .filter(|r| r.kernel == StreamKernel::Triad);
        let curves = backends(run.doc.stream.iter().map(|r| r.backend))
            .into_iter()
            .flat_map(|b| {
                let triad: Vec<(f64, f64)> = triad
                    .clone()
                    .filter(|r| r.backend == b && r.valid)
                    .filter_map(|r| Some((r.scope.as_ref()?.ranks() as f64, r.gbs_median)))
                    .collect();
                let kinds: std::collections::BTreeSet<_> = run
                    .doc
                    .mc
                    .iter()
                    .filter(|r| r.backend == b)
                    .map(|r| r.gpu_path)
                    .collect();
                // The GPU's two Monte Carlo paths (mirror, native) are curves of their own.
                let paths = kinds.into_iter().map(move |kind| {
                    let points: Vec<(f64, f64)> = run
                        .doc
                        .mc
                        .iter()
                        .filter(|r| r.backend == b && r.gpu_path == kind && r.valid)
                        .filter_map(|r| Some((r.scope.as_ref()?.ranks() as f64, r.paths_per_s)))
                        .collect();
                    let what = kind.map_or("Monte Carlo".to_string(), |k| {
                        format!("Monte Carlo {}", k.name())
                    });
                    (b, what, Line::Dashed, points)
                });
                std::iter::once((b, "triad".to_string(), Line::Solid, triad)).chain(paths)
            });
        for (backend, what, line, points) in curves {
            let points = by_x(points);
            // Speedups need the one-rank point.
            let Some(&(1.0, one)) = points.first() else {
                continue;
            };
            if backend.is_offload() {
                gpus.extend(gpu_name(run));
            }
            sources.insert(run.file);
            let points: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x, y / one)).collect();
            most = points.iter().fold(most, |m, p| m.max(p.0));
            plot.add_series(Series {
                label: format!("{} — {backend}, {what}", run.name),
                colour: palette.next(),
                line,
                marker: Marker {
                    shape: shape(backend),
                    fill,
                },
                points,
            });
        }
    }
    if sources.is_empty() {
        return None;
    }
    let mut ideal = vec![1.0];
    while ideal.last().is_some_and(|&x| x < most) {
        ideal.push(ideal.last().unwrap() * 2.0);
    }
    plot.add_series(Series {
        label: "perfect scaling (speedup = ranks)".to_string(),
        colour: RGBColor(140, 140, 140),
        line: Line::Dotted,
        marker: Marker::NONE,
        points: ideal.into_iter().map(|x| (x, x)).collect(),
    });
    let rows = runs.iter().flat_map(|r| {
        r.doc
            .stream
            .iter()
            .filter(|r| r.kernel == StreamKernel::Triad)
            .map(|r| (r.n, r.precision))
    });
    let what = format!(
        "Speedup over one rank: triad ({}) and Monte Carlo",
        size_and_precision(rows),
    );
    let x = Axis {
        desc: "MPI ranks (log₂ scale)".to_string(),
        scale: Scale::Log2,
    };
    let y = Axis {
        desc: "Speedup over one rank (job rate / one rank's)".to_string(),
        scale: Scale::Log2,
    };
    let notes = vec![
        "Medians of the timed repetitions; each repetition's time is the slowest rank's; runs that failed validation are left out.".to_string(),
        "Solid: triad, every rank's bytes over the slowest rank's time (n in the title: the job's); dashed: Monte Carlo, the paths sharded across the ranks; dotted grey: perfect scaling.".to_string(),
        "On one host, a triad line below perfect scaling where Monte Carlo keeps to it points at the memory bandwidth its ranks share; the findings name the hosts each count spans.".to_string(),
    ];
    framed(
        plot,
        Frame {
            file_name: "ranks.png",
            what,
            heading: names.heading(&runs, &gpus),
            x,
            y,
            notes,
        },
        sources,
    )
}

/// Each way's line pattern and marker shape, the same for every run (runs differ in colour and
/// marker fill).
fn transfer_look(kind: TransferKind) -> (Line, Shape) {
    match kind {
        TransferKind::UploadMapped => (Line::Solid, Shape::Circle),
        TransferKind::UploadWriteBuffer => (Line::Dotted, Shape::Square),
        _ => (Line::Dashed, Shape::Triangle),
    }
}

/// GB/s against bytes, log-log: one series per run and way; the launch latencies, which have no
/// size, in the footnotes.
fn transfer(input: &Input, names: &Names) -> Option<Chart> {
    let runs = sweeps(input, SweepKind::Transfer);
    let mut plot = empty_plot();
    let mut sources = BTreeSet::new();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    let mut latencies = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let fill = run_look(index).1;
        for kind in TransferKind::TRANSFERS {
            let points: Vec<(f64, f64)> = run
                .doc
                .transfer
                .iter()
                .filter(|r| r.kind == kind && r.bytes > 0)
                .filter_map(|r| Some((r.bytes as f64, r.gbs.filter(|g| *g > 0.0)?)))
                .collect();
            if points.is_empty() {
                continue;
            }
            sources.insert(run.file);
            let (line, shape) = transfer_look(kind);
            plot.add_series(Series {
                label: format!("{} — {}", run.name, kind.name()),
                colour: palette.next(),
                line,
                marker: Marker { shape, fill },
                points: by_x(points),
            });
        }
        let launch = |kind: TransferKind| {
            run.doc
                .transfer
                .iter()
                .find(|r| r.kind == kind)
                .and_then(|r| Some((r.us_per_dispatch?, r.dispatches?)))
        };
        if let (Some((single, _)), Some((batched, n))) = (
            launch(TransferKind::LaunchSingle),
            launch(TransferKind::LaunchBatch),
        ) {
            sources.insert(run.file);
            latencies.push(format!(
                "Launch latency, {}: one empty dispatch {} µs submit to completion; {} µs per \
                 dispatch batched {n} to a submission.",
                run.name,
                number(single),
                number(batched)
            ));
        }
        if sources.contains(&run.file) {
            gpus.extend(gpu_name(run));
        }
    }
    if sources.is_empty() {
        return None;
    }
    let what = "Host–device transfer bandwidth vs size".to_string();
    let x = Axis {
        desc: "Bytes per transfer (log scale)".to_string(),
        scale: Scale::Log2Powers,
    };
    let y = Axis {
        desc: "Bandwidth, GB/s (median, log scale)".to_string(),
        scale: Scale::Log10,
    };
    let mut notes = vec![
        "Solid, circles: upload through a buffer mapped at creation. Dotted, squares: upload \
         through write_buffer. Dashed, triangles: download through a MAP_READ staging buffer."
            .to_string(),
        "Host clock, start to completion; every transfer checked word for word.".to_string(),
    ];
    notes.extend(latencies);
    if runs.len() > 1 {
        notes.push(
            "Each run is a line of its own; runs differ in colour and marker fill.".to_string(),
        );
    }
    framed(
        plot,
        Frame {
            file_name: "transfer.png",
            what,
            heading: names.heading(&runs, &gpus),
            x,
            y,
            notes,
        },
        sources,
    )
}

/// What every chart sets the same way: its file, what it draws (the title's first part), the
/// runs and GPUs it draws them for (its second), its axes and its notes.
struct Frame {
    file_name: &'static str,
    what: String,
    heading: String,
    x: Axis,
    y: Axis,
    notes: Vec<String>,
}

/// The chart of `plot`, framed.
fn framed(mut plot: Plot, frame: Frame, sources: BTreeSet<usize>) -> Option<Chart> {
    plot.title = format!("{} — {}", frame.what, frame.heading);
    plot.x = frame.x;
    plot.y = frame.y;
    plot.notes = frame.notes;
    Some(Chart {
        file_name: frame.file_name,
        plot,
        sources,
    })
}

fn empty_plot() -> Plot {
    Plot {
        title: String::new(),
        x: Axis {
            desc: String::new(),
            scale: Scale::Linear,
        },
        y: Axis {
            desc: String::new(),
            scale: Scale::Linear,
        },
        series: Vec::new(),
        levels: Vec::new(),
        markers: Vec::new(),
        callouts: Vec::new(),
        notes: Vec::new(),
        built: Vec::new(),
    }
}

fn log_desc(desc: &str, scale: Scale) -> String {
    if scale == Scale::Log10 {
        format!("{desc}, log scale")
    } else {
        desc.to_string()
    }
}

/// Cache sizes as /sys would say them: 32 KiB, 8 MiB.
fn bytes(size: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = size;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{} {}", number(v), UNITS[unit])
}

/// An element count as 2ⁿ when it is one, else with thousands separators.
fn elements(n: f64) -> String {
    let k = n.log2().round();
    if (k.exp2() - n).abs() < 0.5 {
        return format!("2{}", superscript(k as i64));
    }
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Which of the peers' figures a chart shows.
#[derive(Clone, Copy)]
enum PeerMetric {
    Triad,
    MonteCarlo,
}

/// The peers' figures for `metric`, each in its device's style: a CPU peer as a line over threads
/// like HexPylot's CPU backends (solid, a cross for a marker), a GPU peer (which has no thread
/// count) as a dashed level like HexPylot's GPU backend. The files that contributed are added to
/// `sources`. Peers have no run label: one series per peer name, whichever files its lines are in.
/// Returns whether a CPU peer was drawn.
fn add_peers(
    plot: &mut Plot,
    peers: &[Peer],
    metric: PeerMetric,
    palette: &mut Palette,
    sources: &mut BTreeSet<usize>,
) -> bool {
    // Bandwidth in GB/s as given; Monte Carlo in millions of paths per second.
    let (scale, suffix) = match metric {
        PeerMetric::Triad => (1.0, ""),
        PeerMetric::MonteCarlo => (1e-6, ", European call"),
    };
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for peer in peers {
        match peer {
            Peer::Cpu {
                file,
                name,
                threads,
                triad_gbs,
                mc_paths_per_s,
            } => {
                let figure = match metric {
                    PeerMetric::Triad => *triad_gbs,
                    PeerMetric::MonteCarlo => *mc_paths_per_s,
                };
                let Some(value) = figure else { continue };
                let point = (*threads, value * scale);
                match series.iter_mut().find(|(n, _)| n == name) {
                    Some((_, points)) => points.push(point),
                    None => series.push((name.clone(), vec![point])),
                }
                sources.insert(*file);
            }
            Peer::Gpu {
                file,
                triad_gbs,
                mc_paths_per_s,
            } => {
                let levels = match metric {
                    PeerMetric::Triad => triad_gbs,
                    PeerMetric::MonteCarlo => mc_paths_per_s,
                };
                for (label, value) in levels {
                    plot.add_level(Level {
                        label: format!("{label} (GPU peer{suffix})"),
                        at: value * scale,
                        colour: palette.next(),
                    });
                    sources.insert(*file);
                }
            }
        }
    }
    let drawn = !series.is_empty();
    for (name, points) in series {
        plot.add_series(Series {
            label: format!("{name} (CPU peer{suffix})"),
            colour: palette.next(),
            line: Line::Solid,
            marker: Marker {
                shape: Shape::Cross,
                fill: Fill::Solid,
            },
            points: by_x(points),
        });
    }
    drawn
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::chart::input;

    fn charts(names: &[&str]) -> Vec<Chart> {
        let files: Vec<PathBuf> = names
            .iter()
            .map(|n| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures")
                    .join(n)
            })
            .collect();
        all(&input::read(&files).expect("fixtures read"))
    }

    /// Two thread sweeps of one machine at two sizes are two runs: each backend a series per run,
    /// the runs in different line patterns and marker fills, the title giving both sizes and the
    /// precision; thread axes are log₂ (from 1), Monte Carlo's value axis always log.
    #[test]
    fn two_runs_are_two_series_each() {
        let charts = charts(&["chart-threads-2p16.json", "chart-threads-2p18.json"]);
        let wall = charts
            .iter()
            .find(|c| c.file_name == "memory-wall.png")
            .unwrap();
        let engine: Vec<&Series> = wall
            .plot
            .series
            .iter()
            .filter(|s| s.label.ends_with(" — engine"))
            .collect();
        let labels: Vec<&str> = engine.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "vm sweep threads 2^16 — engine",
                "vm sweep threads 2^18 — engine"
            ]
        );
        assert!(engine[0].line != engine[1].line);
        assert!(engine[0].marker != engine[1].marker);
        let title = &wall.plot.title;
        assert!(title.contains("n = 2¹⁶ and 2¹⁸, f32"), "{title}");
        assert!(title.contains("AMD EPYC (2 CPUs)"), "{title}");
        let mc = charts
            .iter()
            .find(|c| c.file_name == "montecarlo.png")
            .unwrap();
        assert!(mc.plot.y.scale == Scale::Log10);
        assert!(
            mc.plot.title.contains("2¹² paths, f32"),
            "{}",
            mc.plot.title
        );
        for chart in [wall, mc] {
            assert!(chart.plot.x.scale == Scale::Log2);
        }
    }

    /// Over every fixture at once: each legend name appears once, and every series has a marker.
    #[test]
    fn legend_names_each_series_once_with_a_marker() {
        let charts = charts(&[
            "chart-threads-epyc.json",
            "chart-threads-xeon.json",
            "chart-threads-2p16.json",
            "chart-threads-2p18.json",
            "chart-sizes.json",
            "chart-roofline.json",
            "chart-peers.jsonl",
            "chart-gpu-peer.jsonl",
        ]);
        assert_eq!(charts.len(), 4);
        for chart in &charts {
            let plot = &chart.plot;
            let mut names: Vec<&str> = plot
                .series
                .iter()
                .map(|s| s.label.as_str())
                .chain(plot.levels.iter().map(|l| l.label.as_str()))
                .chain(plot.callouts.iter().map(|c| c.text.as_str()))
                .collect();
            let all = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), all, "{}: a legend name twice", chart.file_name);
            for s in &plot.series {
                assert!(
                    s.marker.shape != Shape::None,
                    "{}: {}",
                    chart.file_name,
                    s.label
                );
            }
        }
    }
}
