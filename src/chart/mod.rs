//! Charts of recorded results: PNG files drawn from HexPylot JSON documents and the peers' JSON
//! lines, with a font embedded in the binary (DejaVu Sans, see `DejaVuSans-LICENSE.txt`), so that
//! they draw the same on a machine with no fonts at all.
//!
//! | file | drawn from | shows |
//! |---|---|---|
//! | `memory-wall.png` | thread sweeps (`sweep.kind` "threads") | triad GB/s vs threads (log₂ from 1) per run and CPU backend, the CPU peers, GPU levels, the memory wall |
//! | `sizes.png` | size sweeps ("sizes") | triad and dot GB/s vs n (log₂), GPU kernel-only and end-to-end, cache sizes, the break-even n |
//! | `roofline.png` | roofline rows | GFLOP/s vs FLOP/byte (log-log), measured points, fitted ceilings, ridge points |
//! | `montecarlo.png` | thread sweeps with Monte Carlo rows | million paths/s (log) vs threads (log₂ from 1), GPU levels, the peers |
//! | `ranks.png` | rank sweeps ("ranks", under MPI) | the job's triad and Monte Carlo rates as speedups over one rank vs ranks (log₂ both), per run, backend and GPU path, perfect scaling dotted |
//! | `transfer.png` | transfer sweeps ("transfer") | GB/s vs bytes (log-log) per run and way (upload mapped, upload write_buffer, download); launch latencies in the footnotes |
//!
//! A series is one run: every document is one run, named by its `label` (documents sharing a
//! label are told apart by their file name), and each of its backends is a series of its own,
//! named "label — backend" in the legend, so that two runs are two lines and never one averaged
//! line. The title names the machine(s), n and the precision. Runs of one backend differ in line
//! pattern and marker fill as well as colour. CPU figures (HexPylot's CPU backends, the CPU peers)
//! are lines with markers over threads; GPU figures (HexPylot's GPU backend, the GPU peers) have
//! no thread count and are dashed horizontal levels.
//!
//! A chart draws only the series its legend can name legibly: when they do not all fit at the
//! legend's smallest text size, the first series in file order that fit are drawn, the rest not at
//! all (neither line nor legend entry), and a note in the legend says how many were left out.
//!
//! [`render`] returns, for every chart written, the series it drew and those it left out;
//! `hexpylot chart` prints them one per line, tab-separated: `<png path>\t<series>\t<points>`
//! for each series drawn, where `<series>` is the legend's name (it never holds a tab or a line
//! break) and `<points>` the number of points drawn (1 for a level), then
//! `<png path>\t<series>\tnot drawn` for each series left out.

mod build;
mod draw;
mod input;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::style::FontStyle;

use crate::model::ReadError;
use crate::output::{self, OutputError, OutputFile};

pub use draw::{HEIGHT, WIDTH};

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("no result files given to chart")]
    NoFiles,
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A peer's JSON line does not parse.
    #[error("{}: malformed JSON: {detail}", path.display())]
    Malformed { path: PathBuf, detail: String },
    /// A HexPylot document this version cannot read: malformed, a required field missing, or a
    /// newer schema version.
    #[error(transparent)]
    Document(#[from] ReadError),
    #[error(
        "{}: nothing to chart (charts need a thread, size or transfer sweep, roofline rows, or peer figures next to a thread sweep)",
        path.display()
    )]
    NothingToChart { path: PathBuf },
    #[error("cannot write charts into {}: {source}", dir.display())]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("drawing {chart} failed: {detail}")]
    Draw { chart: String, detail: String },
    /// A chart file's location is unusable, or writing it failed (then no chart was written).
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// One chart written.
#[derive(Debug, PartialEq)]
pub struct Written {
    pub path: PathBuf,
    /// Every legend entry that is a line, in the legend's order.
    pub series: Vec<SeriesDrawn>,
    /// The names of the series the legend had no room for, in the legend's order: neither drawn
    /// nor in the legend, which says how many were left out.
    pub left_out: Vec<String>,
    /// The pixel row below the legend's last line: within the image (at most [`HEIGHT`]) unless
    /// even its notes alone do not fit.
    pub legend_bottom: u32,
}

#[derive(Debug, PartialEq)]
pub struct SeriesDrawn {
    /// The legend's name: "label — backend" and what it shows.
    pub name: String,
    /// Points drawn; 1 for a level (a figure with no x, drawn across the plot).
    pub points: usize,
}

/// Reads `files` (HexPylot `--json` documents; peers' `.jsonl` output) and writes one PNG per
/// chart their data supports into `out_dir` (created if missing), returning each chart's path and
/// series. Every file must feed at least one chart: a file that feeds none is an error, not a
/// silent skip. All the charts are written or none: each is drawn in memory, then all are written
/// through [`output::commit_all`] (every temporary file first, then every rename).
pub fn render(files: &[PathBuf], out_dir: &Path) -> Result<Vec<Written>, ChartError> {
    if files.is_empty() {
        return Err(ChartError::NoFiles);
    }
    let cannot_write = |source| ChartError::Write {
        dir: out_dir.to_path_buf(),
        source,
    };
    // Before reading or drawing anything; the folder itself is made only once all is drawn.
    output::check_dir(out_dir).map_err(cannot_write)?;
    let input = input::read(files)?;
    let mut charts = build::all(&input);
    if let Some(unused) = (0..files.len()).find(|i| !charts.iter().any(|c| c.sources.contains(i))) {
        return Err(ChartError::NothingToChart {
            path: files[unused].clone(),
        });
    }
    register_font()?;
    // Every chart is drawn before any is written, so that a drawing failure leaves no partial set.
    let drawn = charts
        .iter_mut()
        .map(|c| {
            draw::png(&mut c.plot)
                .map(|drawn| (&*c, drawn))
                .map_err(|e| ChartError::Draw {
                    chart: c.file_name.to_string(),
                    detail: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(out_dir).map_err(cannot_write)?;
    let mut outputs = Vec::new();
    let mut written = Vec::new();
    for (chart, drawn) in drawn {
        let path = out_dir.join(chart.file_name);
        let out = OutputFile::check(&path)?;
        out.refuse_inputs(files.iter().map(PathBuf::as_path))?;
        outputs.push((out, drawn.png));
        let plot = &chart.plot;
        let series = plot
            .series
            .iter()
            .map(|s| (&s.label, s.points.len()))
            .chain(plot.levels.iter().map(|l| (&l.label, 1)))
            .map(|(name, points)| SeriesDrawn {
                name: name.clone(),
                points,
            })
            .collect();
        written.push(Written {
            path,
            series,
            left_out: drawn.left_out,
            legend_bottom: drawn.legend_bottom,
        });
    }
    output::commit_all(outputs)?;
    Ok(written)
}

/// plotters looks fonts up by family name; with no system fonts, "sans-serif" exists only once
/// registered, and drawing text before that fails.
fn register_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("DejaVuSans.ttf"),
        )
        .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ChartError::Draw {
            chart: "any chart".to_string(),
            detail: "the embedded DejaVu Sans font was rejected".to_string(),
        })
    }
}
