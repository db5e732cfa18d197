//! From parsed files to the four chart descriptions. Each builder also returns the files it drew
//! on, so that a file no chart used can be reported instead of silently ignored.

use std::collections::BTreeSet;

use plotters::style::RGBColor;

use super::draw::{
    Axis, Callout, Level, Line, Marker, PALETTE, Plot, Scale, Series, number, superscript,
};
use super::input::{Doc, Input, Machine, Peer};

pub struct Chart {
    pub file_name: &'static str,
    pub plot: Plot,
    pub sources: BTreeSet<usize>,
}

pub fn all(input: &Input) -> Vec<Chart> {
    let names = Names::new(input);
    [memory_wall, sizes, roofline, montecarlo]
        .iter()
        .filter_map(|build| build(input, &names))
        .collect()
}

/// How machines and GPUs are named across every chart of one run: the CPU model, with the host
/// name added only where two machines share a model.
struct Names {
    machines: Vec<Machine>,
}

fn same(a: &Machine, b: &Machine) -> bool {
    a.hostname == b.hostname && a.cpu_model == b.cpu_model && a.logical_cpus == b.logical_cpus
}

impl Names {
    fn new(input: &Input) -> Names {
        let mut machines: Vec<Machine> = Vec::new();
        for doc in &input.docs {
            if !machines.iter().any(|m| same(m, &doc.machine)) {
                machines.push(doc.machine.clone());
            }
        }
        Names { machines }
    }

    fn index(&self, m: &Machine) -> usize {
        self.machines.iter().position(|k| same(k, m)).unwrap_or(0)
    }

    fn label(&self, m: &Machine) -> String {
        let model = tidy(&m.cpu_model);
        let twins: Vec<&Machine> = self
            .machines
            .iter()
            .filter(|k| tidy(&k.cpu_model) == model)
            .collect();
        if twins.len() < 2 {
            return model;
        }
        let hosts_differ = twins.iter().filter(|k| k.hostname == m.hostname).count() == 1;
        if hosts_differ && !m.hostname.is_empty() {
            format!("{model} ({})", m.hostname)
        } else {
            format!("{model} (machine {})", self.index(m) + 1)
        }
    }

    fn title(&self, m: &Machine) -> String {
        match m.logical_cpus {
            Some(n) => format!("{} ({n} CPUs)", self.label(m)),
            None => self.label(m),
        }
    }

    /// The GPU of `doc`'s machine, told apart from another machine's GPU of the same name.
    fn gpu(&self, doc: &Doc, docs: &[&Doc]) -> String {
        let Some(name) = &doc.gpu else {
            return format!("GPU of {}", self.label(&doc.machine));
        };
        let twin = docs
            .iter()
            .any(|d| d.gpu.as_ref() == Some(name) && !same(&d.machine, &doc.machine));
        if twin {
            format!("{name} on {}", self.label(&doc.machine))
        } else {
            name.clone()
        }
    }

    /// "AMD EPYC (2 CPUs) vs Intel Xeon (8 CPUs)", optionally "with" the GPUs charted.
    fn heading(&self, docs: &[&Doc], gpus: &[String]) -> String {
        let mut machines: Vec<String> = Vec::new();
        for doc in docs {
            let t = self.title(&doc.machine);
            if !machines.contains(&t) {
                machines.push(t);
            }
        }
        let mut heading = machines.join(" vs ");
        let mut unique: Vec<&String> = Vec::new();
        for gpu in gpus {
            if !unique.contains(&gpu) {
                unique.push(gpu);
            }
        }
        if !unique.is_empty() {
            let unique: Vec<&str> = unique.into_iter().map(String::as_str).collect();
            heading = format!("{heading} with {}", unique.join(", "));
        }
        heading
    }
}

/// A CPU model without the marketing: "Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz" reads as
/// "Intel Xeon Gold 6338N", "AMD EPYC 7763 64-Core Processor" as "AMD EPYC 7763"; legends and
/// titles have room for little more.
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

/// Points sorted by x, repeated x values (several runs) reduced to their median.
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

/// Docs grouped by machine, in the order the machines first appear.
fn per_machine<'a>(docs: &[&'a Doc], names: &Names) -> Vec<Vec<&'a Doc>> {
    let mut groups: Vec<Vec<&Doc>> = Vec::new();
    for doc in docs {
        let i = names.index(&doc.machine);
        match groups.iter_mut().find(|g| names.index(&g[0].machine) == i) {
            Some(g) => g.push(doc),
            None => groups.push(vec![doc]),
        }
    }
    groups
}

fn sweeps<'a>(input: &'a Input, kind: &str) -> Vec<&'a Doc> {
    input
        .docs
        .iter()
        .filter(|d| d.sweep.as_ref().is_some_and(|s| s.kind == kind))
        .collect()
}

/// Thread counts that double (1, 2, 4 … 64) read best on a log₂ axis, where the low counts
/// (and the memory wall among them) are not squeezed into a corner; other sweeps, linearly.
fn thread_axis(threads: impl Iterator<Item = f64>) -> Axis {
    let threads: Vec<f64> = threads.filter(|t| *t > 0.0).collect();
    let (lo, hi) = threads.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), t| {
        (lo.min(*t), hi.max(*t))
    });
    let doubling = threads.iter().all(|t| t.log2().fract() == 0.0);
    Axis {
        desc: "CPU threads".to_string(),
        scale: if doubling && hi / lo >= 8.0 {
            Scale::Log2
        } else {
            Scale::Linear
        },
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

fn option_name(option: &str) -> String {
    let spaced = option.replace('-', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map_or(String::new(), |c| c.to_uppercase().chain(chars).collect())
}

fn backends<'a>(rows: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for b in rows {
        if !found.iter().any(|f| f == b) {
            found.push(b.to_string());
        }
    }
    // Engine first, then rayon, then whatever else: the same order in every chart.
    found.sort_by_key(|b| match b.as_str() {
        "engine" => 0,
        "rayon" => 1,
        "gpu" => 3,
        _ => 2,
    });
    found
}

fn cpu_marker(backend: &str) -> Marker {
    if backend == "engine" {
        Marker::Circle
    } else {
        Marker::Square
    }
}

fn memory_wall(input: &Input, names: &Names) -> Option<Chart> {
    let docs = sweeps(input, "threads");
    let mut plot = empty_plot();
    let mut sources = BTreeSet::new();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    let several = per_machine(&docs, names).len() > 1;
    for group in per_machine(&docs, names) {
        let machine = names.label(&group[0].machine);
        let triad = || {
            group
                .iter()
                .flat_map(|d| d.stream.iter().map(move |r| (d, r)))
                .filter(|(_, r)| r.kernel == "triad")
        };
        let mut colours = Vec::new();
        for backend in backends(triad().map(|(_, r)| r.backend.as_str())) {
            if backend == "gpu" {
                continue;
            }
            let points = by_x(
                triad()
                    .filter(|(_, r)| r.backend == backend)
                    .map(|(_, r)| (r.threads, r.gbs_median))
                    .collect(),
            );
            let colour = palette.next();
            colours.push((backend.clone(), colour));
            sources.extend(
                triad()
                    .filter(|(_, r)| r.backend == backend)
                    .map(|(d, _)| d.file),
            );
            plot.series.push(Series {
                label: format!("{machine} — {backend}"),
                colour,
                line: Line::Solid,
                marker: cpu_marker(&backend),
                points,
            });
        }
        // One level per machine: several files from one machine share its GPU.
        let gpu: Vec<(&Doc, f64)> = group
            .iter()
            .flat_map(|d| d.stream.iter().map(move |r| (*d, r)))
            .filter(|(_, r)| r.kernel == "triad" && r.backend == "gpu")
            .map(|(d, r)| (d, r.gbs_median))
            .collect();
        if let Some((doc, _)) = gpu.first() {
            let name = names.gpu(doc, &docs);
            plot.levels.push(Level {
                label: format!("{name} — triad, kernel only"),
                at: median(gpu.iter().map(|g| g.1)),
                colour: palette.next(),
            });
            gpus.push(name);
            sources.extend(gpu.iter().map(|g| g.0.file));
        }
        let wall = group
            .iter()
            .find_map(|d| d.sweep.as_ref().and_then(|s| s.memory_wall.as_ref()));
        if let Some(wall) = wall {
            let of_best = wall
                .fraction_of_best
                .map_or(String::new(), |f| format!(" ({:.0}% of best)", f * 100.0));
            let whose = if several {
                format!(" — {machine}")
            } else {
                String::new()
            };
            let colour = colours
                .iter()
                .find(|(b, _)| *b == wall.backend)
                .map_or(PALETTE[0], |(_, c)| *c);
            plot.callouts.push(Callout {
                at: (wall.threads, wall.gbs),
                text: format!(
                    "memory wall: {} threads, {} GB/s{of_best}{whose}",
                    number(wall.threads),
                    number(wall.gbs)
                ),
                colour,
            });
        }
    }
    if sources.is_empty() {
        return None;
    }
    add_peers(
        &mut plot,
        &input.peers,
        PeerMetric::Triad,
        &mut palette,
        &mut sources,
    );
    plot.title = format!(
        "Triad bandwidth vs threads — {}",
        names.heading(&docs, &gpus)
    );
    plot.x = thread_axis(
        plot.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0)),
    );
    let scale = value_scale(&plot);
    plot.y = Axis {
        desc: log_desc("Triad bandwidth, GB/s (median)", scale),
        scale,
    };
    plot.notes = vec![
        "Medians of the timed repetitions; runs that failed validation are left out.".to_string(),
        "Dashed levels: GPU figures, which have no thread count.".to_string(),
    ];
    Some(Chart {
        file_name: "memory-wall.png",
        plot,
        sources,
    })
}

fn sizes(input: &Input, names: &Names) -> Option<Chart> {
    let docs = sweeps(input, "sizes");
    let mut plot = empty_plot();
    let mut sources = BTreeSet::new();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    const KERNELS: [(&str, Line, Marker); 2] = [
        ("triad", Line::Solid, Marker::Circle),
        ("dot", Line::Dashed, Marker::Triangle),
    ];
    let groups = per_machine(&docs, names);
    for group in &groups {
        let machine = names.label(&group[0].machine);
        let rows = || {
            group
                .iter()
                .flat_map(|d| d.stream.iter().map(move |r| (*d, r)))
                .filter(|(_, r)| r.n > 0.0 && KERNELS.iter().any(|k| k.0 == r.kernel))
        };
        let mut variants: Vec<(String, bool, String)> = Vec::new();
        for backend in backends(rows().map(|(_, r)| r.backend.as_str())) {
            if backend == "gpu" {
                let Some((doc, _)) = rows().find(|(_, r)| r.backend == "gpu") else {
                    continue;
                };
                let gpu = names.gpu(doc, &docs);
                variants.push((backend.clone(), false, format!("{gpu} — kernel only")));
                variants.push((backend, true, format!("{gpu} — end to end")));
                gpus.push(gpu);
            } else {
                variants.push((backend.clone(), false, format!("{machine} — {backend}")));
            }
        }
        for (backend, end_to_end, label) in variants {
            let colour = palette.next();
            for (kernel, line, marker) in KERNELS {
                let chosen = || rows().filter(|(_, r)| r.backend == backend && r.kernel == kernel);
                let points: Vec<(f64, f64)> = chosen()
                    .filter_map(|(_, r)| {
                        let gbs = if end_to_end {
                            r.end_to_end_gbs?
                        } else {
                            r.gbs_median
                        };
                        Some((r.n, gbs))
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                sources.extend(chosen().map(|(d, _)| d.file));
                plot.series.push(Series {
                    label: format!("{label}, {kernel}"),
                    colour,
                    line,
                    marker,
                    points: by_x(points),
                });
            }
        }
    }
    if sources.is_empty() {
        return None;
    }
    let distinct_caches = {
        let mut sets: Vec<_> = groups.iter().map(|g| &g[0].machine.caches).collect();
        sets.dedup();
        sets.len() > 1
    };
    for group in &groups {
        let machine = &group[0].machine;
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
                    && if level == 1 {
                        c.kind == kind
                    } else {
                        c.kind != kind
                    }
            });
            if let Some(cache) = cache {
                let whose = if distinct_caches {
                    format!(" ({})", names.label(machine))
                } else {
                    String::new()
                };
                let label = format!("{name} {}{whose}", bytes(cache.size_bytes));
                if !plot.markers.iter().any(|m| m.label == label) {
                    plot.markers.push(Level {
                        label,
                        at: cache.size_bytes / 12.0,
                        colour: RGBColor(110, 110, 110),
                    });
                }
            }
        }
        let break_even = group
            .iter()
            .find_map(|d| d.sweep.as_ref().and_then(|s| s.break_even_n));
        if let Some(n) = break_even.filter(|n| *n > 0.0) {
            let whose = if groups.len() > 1 {
                format!(" ({})", names.label(machine))
            } else {
                String::new()
            };
            plot.markers.push(Level {
                label: format!("GPU break-even: n = {}{whose}", elements(n)),
                at: n,
                colour: RGBColor(20, 20, 20),
            });
        }
    }
    plot.title = format!(
        "Triad and dot bandwidth vs array size — {}",
        names.heading(&docs, &gpus)
    );
    plot.x = Axis {
        desc: "Elements per array, n (f32, log scale)".to_string(),
        scale: Scale::Log2Powers,
    };
    plot.y = Axis {
        desc: "Bandwidth, GB/s (median, log scale)".to_string(),
        scale: Scale::Log10,
    };
    plot.notes = vec![
        "Solid lines, circles: triad. Dashed lines, triangles: dot.".to_string(),
        "Grey dotted lines: the n at which triad's three f32 arrays fill each cache (size / 12 bytes)."
            .to_string(),
        "End to end: upload, kernel and download, host memory to host memory.".to_string(),
    ];
    Some(Chart {
        file_name: "sizes.png",
        plot,
        sources,
    })
}

fn roofline(input: &Input, names: &Names) -> Option<Chart> {
    let docs: Vec<&Doc> = input
        .docs
        .iter()
        .filter(|d| {
            d.roofline
                .iter()
                .any(|r| r.intensity > 0.0 && r.gflops > 0.0)
        })
        .collect();
    if docs.is_empty() {
        return None;
    }
    let mut plot = empty_plot();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    let sources = docs.iter().map(|d| d.file).collect();
    // The ceilings span the whole x range, which is known only once every point and ridge is.
    let spans: Vec<f64> = docs
        .iter()
        .flat_map(|d| {
            d.roofline.iter().map(|r| r.intensity).chain(
                d.sweep
                    .iter()
                    .flat_map(|s| s.ceilings.iter().map(|c| c.ridge)),
            )
        })
        .filter(|v| *v > 0.0)
        .collect();
    let lo = spans.iter().copied().fold(f64::INFINITY, f64::min) / 2.0;
    let hi = spans.iter().copied().fold(0.0, f64::max) * 2.0;
    let several = per_machine(&docs, names).len() > 1;
    for group in per_machine(&docs, names) {
        let machine = names.label(&group[0].machine);
        for doc in group {
            for backend in backends(doc.roofline.iter().map(|r| r.backend.as_str())) {
                let who = if backend == "gpu" {
                    let gpu = names.gpu(doc, &docs);
                    gpus.push(gpu.clone());
                    gpu
                } else {
                    format!("{machine} — {backend}")
                };
                let colour = palette.next();
                let points = doc
                    .roofline
                    .iter()
                    .filter(|r| r.backend == backend && r.intensity > 0.0 && r.gflops > 0.0)
                    .map(|r| (r.intensity, r.gflops))
                    .collect();
                plot.series.push(Series {
                    label: format!("{who}, measured"),
                    colour,
                    line: Line::None,
                    marker: if backend == "gpu" {
                        Marker::Triangle
                    } else {
                        cpu_marker(&backend)
                    },
                    points: by_x(points),
                });
                let ceiling = doc.sweep.iter().flat_map(|s| s.ceilings.iter()).find(|c| {
                    c.backend == backend && c.bandwidth_gbs > 0.0 && c.compute_gflops > 0.0
                });
                if let Some(c) = ceiling {
                    let roof = |i: f64| (i, (c.bandwidth_gbs * i).min(c.compute_gflops));
                    let mut points = vec![roof(lo)];
                    if c.ridge > lo && c.ridge < hi {
                        points.push((c.ridge, c.compute_gflops));
                    }
                    points.push(roof(hi));
                    plot.series.push(Series {
                        label: format!(
                            "{who}, ceiling: {} GB/s, {} GFLOP/s",
                            number(c.bandwidth_gbs),
                            number(c.compute_gflops)
                        ),
                        colour,
                        line: Line::Solid,
                        marker: Marker::None,
                        points,
                    });
                    let whose = if several
                        || backends(doc.roofline.iter().map(|r| r.backend.as_str())).len() > 1
                    {
                        format!(" ({who})")
                    } else {
                        String::new()
                    };
                    plot.callouts.push(Callout {
                        at: (c.ridge, c.compute_gflops),
                        text: format!("ridge: {} FLOP/byte{whose}", number(c.ridge)),
                        colour,
                    });
                }
            }
        }
    }
    plot.title = format!("Roofline — {}", names.heading(&docs, &gpus));
    plot.x = Axis {
        desc: "Arithmetic intensity, FLOP/byte (log scale)".to_string(),
        scale: Scale::Log10,
    };
    plot.y = Axis {
        desc: "Performance, GFLOP/s (median, log scale)".to_string(),
        scale: Scale::Log10,
    };
    plot.notes = vec![
        "Ceiling: min(bandwidth × intensity, peak), fitted to the measured points.".to_string(),
    ];
    Some(Chart {
        file_name: "roofline.png",
        plot,
        sources,
    })
}

fn montecarlo(input: &Input, names: &Names) -> Option<Chart> {
    let docs: Vec<&Doc> = sweeps(input, "threads")
        .into_iter()
        .filter(|d| !d.mc.is_empty())
        .collect();
    if docs.is_empty() {
        return None;
    }
    let mut options: Vec<&str> = Vec::new();
    for r in docs.iter().flat_map(|d| d.mc.iter()) {
        if !options.contains(&r.option.as_str()) {
            options.push(&r.option);
        }
    }
    // Different options cost very different amounts per path: one series per option, told
    // apart by line and marker, the colour staying with the machine and backend.
    let looks = [
        (Line::Solid, None),
        (Line::Dashed, Some(Marker::Triangle)),
        (Line::Solid, Some(Marker::Cross)),
    ];
    let several_options = options.len() > 1;
    let with_option = |label: String, option: &str| {
        if several_options {
            format!("{label}, {}", option_name(option))
        } else {
            label
        }
    };
    let mut plot = empty_plot();
    let mut palette = Palette(0);
    let mut gpus = Vec::new();
    let mut sources = docs.iter().map(|d| d.file).collect::<BTreeSet<_>>();
    for group in per_machine(&docs, names) {
        let machine = names.label(&group[0].machine);
        let rows = || group.iter().flat_map(|d| d.mc.iter());
        for backend in backends(rows().map(|r| r.backend.as_str())) {
            if backend == "gpu" {
                continue;
            }
            let colour = palette.next();
            for (option, (line, marker)) in options.iter().zip(looks.iter().cycle()) {
                let points: Vec<(f64, f64)> = rows()
                    .filter(|r| r.backend == backend && r.option == *option)
                    .map(|r| (r.threads, r.paths_per_s / 1e6))
                    .collect();
                if !points.is_empty() {
                    plot.series.push(Series {
                        label: with_option(format!("{machine} — {backend}"), option),
                        colour,
                        line: *line,
                        marker: marker.unwrap_or(cpu_marker(&backend)),
                        points: by_x(points),
                    });
                }
            }
        }
        for option in &options {
            let gpu: Vec<(&Doc, f64)> = group
                .iter()
                .flat_map(|d| d.mc.iter().map(move |r| (*d, r)))
                .filter(|(_, r)| r.backend == "gpu" && r.option == *option)
                .map(|(d, r)| (d, r.paths_per_s / 1e6))
                .collect();
            if let Some((doc, _)) = gpu.first() {
                let name = names.gpu(doc, &docs);
                plot.levels.push(Level {
                    label: with_option(format!("{name} — kernel only"), option),
                    at: median(gpu.iter().map(|g| g.1)),
                    colour: palette.next(),
                });
                gpus.push(name);
            }
        }
    }
    add_peers(
        &mut plot,
        &input.peers,
        PeerMetric::MonteCarlo,
        &mut palette,
        &mut sources,
    );
    let what = match options.as_slice() {
        [one] => format!("Monte Carlo ({}) vs threads", option_name(one)),
        _ => "Monte Carlo vs threads".to_string(),
    };
    plot.title = format!("{what} — {}", names.heading(&docs, &gpus));
    plot.x = thread_axis(
        plot.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0)),
    );
    let scale = value_scale(&plot);
    plot.y = Axis {
        desc: log_desc("Million paths/s (median)", scale),
        scale,
    };
    plot.notes = vec![
        "Medians of the timed repetitions; runs that failed validation are left out.".to_string(),
        "Dashed levels: GPU figures, which have no thread count.".to_string(),
    ];
    Some(Chart {
        file_name: "montecarlo.png",
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

/// The peers' figures for `metric`: each CPU peer as a series over threads, each GPU peer (which
/// has no thread count) as a level; the files that contributed are added to `sources`.
fn add_peers(
    plot: &mut Plot,
    peers: &[Peer],
    metric: PeerMetric,
    palette: &mut Palette,
    sources: &mut BTreeSet<usize>,
) {
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
                    plot.levels.push(Level {
                        label: format!("{label} (GPU peer{suffix})"),
                        at: value * scale,
                        colour: palette.next(),
                    });
                    sources.insert(*file);
                }
            }
        }
    }
    for (name, points) in series {
        plot.series.push(Series {
            label: format!("{name} (CPU peer{suffix})"),
            colour: palette.next(),
            line: Line::Dashed,
            marker: Marker::Cross,
            points: by_x(points),
        });
    }
}
