//! A chart as data ([`Plot`]) and the one routine that draws any of them: a title, the plot on
//! the left, and a legend panel on the right, outside the data, so that no legend ever hides a
//! point. No text sits on a line: callouts are told in the legend (a ring marks their point) and
//! the labels of vertical markers go in a band above the plot. Axes are drawn in transformed space
//! (log2 or log10 of the data) with tick positions chosen here, which keeps tick labels exact
//! ("2¹⁶", "10", "100") rather than plotters' defaults.

use std::error::Error;

use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;
const PANEL: u32 = 340;
const TITLE_HEIGHT: i32 = 64;
/// The band above the plot that holds the vertical markers' labels: rows of 15 px text.
const BAND_ROWS: i32 = 3;
const BAND_ROW: i32 = 23;
const BAND: i32 = BAND_ROWS * BAND_ROW + 6;
/// The radius of a callout's ring, on the plot and in the legend.
const RING: i32 = 9;
const FONT: &str = "sans-serif";

const TEXT: RGBColor = RGBColor(30, 30, 30);
const MUTED: RGBColor = RGBColor(90, 90, 90);

/// Tableau 10: distinct at a glance and readable on white.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

#[derive(Clone, Copy, PartialEq)]
pub enum Scale {
    Linear,
    /// Thread counts: log₂, from 1 whatever the data, ticks at powers of two labelled as plain
    /// numbers (1, 2, 4 …).
    Log2,
    /// Ticks at powers of two, labelled 2ⁿ (array sizes).
    Log2Powers,
    Log10,
}

pub struct Axis {
    pub desc: String,
    pub scale: Scale,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Line {
    Solid,
    Dashed,
    Dotted,
    None,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Shape {
    Circle,
    /// Smaller than the circle, so that a square drawn over a circle at the same point leaves a
    /// ring of the circle visible.
    Square,
    Triangle,
    Diamond,
    /// Has no inside, so it ignores the fill.
    Cross,
    None,
}

/// How a marker's shape is filled: what tells apart the runs whose lines look alike otherwise. A
/// hollow marker over a filled one at the same point shows both.
#[derive(Clone, Copy, PartialEq)]
pub enum Fill {
    Solid,
    Hollow,
    /// Hollow with a dot in the middle.
    Dot,
}

#[derive(Clone, Copy, PartialEq)]
pub struct Marker {
    pub shape: Shape,
    pub fill: Fill,
}

impl Marker {
    pub const NONE: Marker = Marker {
        shape: Shape::None,
        fill: Fill::Solid,
    };
}

pub struct Series {
    pub label: String,
    pub colour: RGBColor,
    pub line: Line,
    pub marker: Marker,
    pub points: Vec<(f64, f64)>,
}

/// A horizontal reference level (named in the legend) or a vertical marker (labelled in the band
/// above the plot).
pub struct Level {
    pub label: String,
    pub at: f64,
    pub colour: RGBColor,
}

/// A point singled out: ringed on the plot, its sentence in the legend.
pub struct Callout {
    pub at: (f64, f64),
    pub text: String,
    pub colour: RGBColor,
}

pub struct Plot {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub levels: Vec<Level>,
    pub markers: Vec<Level>,
    pub callouts: Vec<Callout>,
    /// Short explanations under the legend.
    pub notes: Vec<String>,
    /// The order the series, levels and callouts were added in: the input files' order, one
    /// run's after the other's. A legend that cannot name them all keeps the first (see
    /// [`fit_legend`]).
    pub built: Vec<Built>,
}

/// Which list of a [`Plot`] an item went into.
#[derive(Clone, Copy, PartialEq)]
pub enum Built {
    Series,
    Level,
    Callout,
}

impl Plot {
    pub fn add_series(&mut self, series: Series) {
        self.series.push(series);
        self.built.push(Built::Series);
    }

    pub fn add_level(&mut self, level: Level) {
        self.levels.push(level);
        self.built.push(Built::Level);
    }

    pub fn add_callout(&mut self, callout: Callout) {
        self.callouts.push(callout);
        self.built.push(Built::Callout);
    }
}

impl Scale {
    fn to_plot(self, v: f64) -> Option<f64> {
        let t = match self {
            Scale::Linear => v,
            Scale::Log2 | Scale::Log2Powers if v > 0.0 => v.log2(),
            Scale::Log10 if v > 0.0 => v.log10(),
            _ => return None,
        };
        t.is_finite().then_some(t)
    }

    fn data_value(self, t: f64) -> f64 {
        match self {
            Scale::Linear => t,
            Scale::Log2 | Scale::Log2Powers => t.exp2(),
            Scale::Log10 => 10f64.powf(t),
        }
    }

    /// The plotted range for data spanning `lo..=hi`, padded so that no point sits on a frame.
    fn range(self, lo: f64, hi: f64) -> (f64, f64) {
        match self {
            Scale::Linear => {
                let top = if hi > 0.0 { hi * 1.08 } else { 1.0 };
                (lo.min(0.0), top)
            }
            _ => {
                // A thread axis that started at the sweep's first count would hide how far that
                // is from one thread.
                let lo = if self == Scale::Log2 { lo.min(1.0) } else { lo };
                let (lo, hi) = (
                    self.to_plot(lo).unwrap_or(0.0),
                    self.to_plot(hi).unwrap_or(1.0),
                );
                let pad = ((hi - lo) * 0.05).max(0.15);
                (lo - pad, hi + pad)
            }
        }
    }

    /// Labelled ticks and unlabelled grid lines, in plot space.
    fn ticks(self, lo: f64, hi: f64, integer: bool) -> (Vec<f64>, Vec<f64>) {
        let within = |v: &f64| *v >= lo - 1e-9 && *v <= hi + 1e-9;
        match self {
            Scale::Linear => {
                let raw = ((hi - lo) / 8.0).max(f64::MIN_POSITIVE);
                let magnitude = 10f64.powf(raw.log10().floor());
                let mut step = [1.0, 2.0, 5.0, 10.0]
                    .iter()
                    .map(|m| m * magnitude)
                    .find(|s| *s >= raw)
                    .unwrap_or(10.0 * magnitude);
                if integer {
                    step = step.max(1.0).round();
                }
                let multiples = |step: f64| -> Vec<f64> {
                    let first = (lo / step).ceil() as i64;
                    let last = (hi / step).floor() as i64;
                    (first..=last).map(|i| i as f64 * step).collect()
                };
                // No grid line at half a thread.
                let light = if integer && step < 2.0 {
                    Vec::new()
                } else {
                    multiples(step / 2.0)
                };
                (multiples(step), light)
            }
            Scale::Log2 | Scale::Log2Powers => {
                let all: Vec<f64> = (lo.ceil() as i64..=hi.floor() as i64)
                    .map(|k| k as f64)
                    .collect();
                let stride = all.len().div_ceil(12).max(1);
                let bold = all.iter().copied().step_by(stride).collect();
                (bold, all)
            }
            Scale::Log10 => {
                let decades = lo.floor() as i64..=hi.ceil() as i64;
                let at = |m: f64| -> Vec<f64> {
                    decades
                        .clone()
                        .map(|k| (m * 10f64.powi(k as i32)).log10())
                        .filter(within)
                        .collect()
                };
                let mut bold = at(1.0);
                // Fewer than four decades shown: label 2 and 5 too, or the axis reads as bare.
                if bold.len() < 4 {
                    bold.extend(at(2.0));
                    bold.extend(at(5.0));
                    bold.sort_by(f64::total_cmp);
                }
                let light = (2..10).flat_map(|m| at(f64::from(m))).collect();
                (bold, light)
            }
        }
    }

    fn label(self, t: f64) -> String {
        match self {
            Scale::Log2Powers => format!("2{}", superscript(t.round() as i64)),
            _ => number(self.data_value(t)),
        }
    }
}

/// A number as a tick label: no trailing zeros, no scientific notation.
pub fn number(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        let digits = (-a.log10().floor()) as usize + 1;
        format!("{v:.digits$}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub fn superscript(k: i64) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digits = k.unsigned_abs().to_string();
    let sign = if k < 0 { "⁻" } else { "" };
    sign.chars()
        .chain(
            digits
                .bytes()
                .map(|b| DIGITS[usize::from(b.saturating_sub(b'0')).min(9)]),
        )
        .collect()
}

type Area<'a> = DrawingArea<BitMapBackend<'a, RGBPixel>, Shift>;

/// A plot drawn: the PNG, and what its legend made of the plot.
pub struct Drawn {
    pub png: Vec<u8>,
    /// The series and levels the legend had no room for, which were not drawn.
    pub left_out: Vec<String>,
    /// The pixel row below the legend's last line.
    pub legend_bottom: u32,
}

/// Draws `plot` into an RGB buffer and encodes it as PNG. The series and levels its legend cannot
/// hold are taken out of `plot` (see [`fit_legend`]), so that it describes what was drawn.
pub fn png(plot: &mut Plot) -> Result<Drawn, Box<dyn Error>> {
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    let (left_out, legend_bottom) = {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (WIDTH, HEIGHT))?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE)?;
        let drawn = draw(plot, &root)?;
        root.present()?;
        drawn
    };
    let mut bytes = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut bytes),
        &rgb,
        WIDTH,
        HEIGHT,
        image::ColorType::Rgb8,
    )?;
    Ok(Drawn {
        png: bytes,
        left_out,
        legend_bottom: u32::try_from(legend_bottom)?,
    })
}

/// Returns the series and levels left out and the legend's bottom row.
fn draw(plot: &mut Plot, root: &Area) -> Result<(Vec<String>, i32), Box<dyn Error>> {
    title(root, &plot.title)?;
    let (main, panel) = root.split_horizontally(WIDTH - PANEL);
    // Before the axes, which span only what is drawn.
    let left_out = fit_legend(plot, &panel)?;
    let plot = &*plot;

    let plotted = |points: &mut dyn Iterator<Item = (f64, f64)>| -> Vec<(f64, f64)> {
        points
            .filter_map(|(x, y)| Some((plot.x.scale.to_plot(x)?, plot.y.scale.to_plot(y)?)))
            .collect()
    };
    let xs: Vec<f64> = plot
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(plot.markers.iter().map(|m| m.at))
        .chain(plot.callouts.iter().map(|c| c.at.0))
        .collect();
    let ys: Vec<f64> = plot
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(plot.levels.iter().map(|l| l.at))
        .chain(plot.callouts.iter().map(|c| c.at.1))
        .collect();
    let (x0, x1) = plot.x.scale.range(min(&xs, plot.x.scale), max(&xs));
    let (y0, y1) = plot.y.scale.range(min(&ys, plot.y.scale), max(&ys));
    let (xb, xl) = plot.x.scale.ticks(x0, x1, true);
    let (yb, yl) = plot.y.scale.ticks(y0, y1, false);

    let band = if plot.markers.is_empty() { 0 } else { BAND };
    let mut chart = ChartBuilder::on(&main)
        .margin_top(TITLE_HEIGHT + 12 + band)
        .margin_left(16)
        .margin_right(24)
        .margin_bottom(12)
        .x_label_area_size(64)
        .y_label_area_size(96)
        .build_cartesian_2d(Ticked::new(x0..x1, xb, xl), Ticked::new(y0..y1, yb, yl))?;
    let x_label = |t: &f64| plot.x.scale.label(*t);
    let y_label = |t: &f64| plot.y.scale.label(*t);
    chart
        .configure_mesh()
        .x_desc(plot.x.desc.as_str())
        .y_desc(plot.y.desc.as_str())
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style((FONT, 17).into_font().color(&TEXT))
        .axis_desc_style((FONT, 20).into_font().color(&TEXT))
        .bold_line_style(RGBColor(212, 212, 212))
        .light_line_style(RGBColor(240, 240, 240))
        .axis_style(MUTED)
        .draw()?;

    for level in &plot.levels {
        if let Some(y) = plot.y.scale.to_plot(level.at) {
            chart.draw_series(DashedLineSeries::new(
                [(x0, y), (x1, y)],
                10,
                6,
                level.colour.stroke_width(2),
            ))?;
        }
    }
    let (px, py) = chart.plotting_area().get_pixel_range();
    let mut marker_x = Vec::new();
    for marker in &plot.markers {
        let Some(x) = plot.x.scale.to_plot(marker.at) else {
            continue;
        };
        chart.draw_series(DashedLineSeries::new(
            [(x, y0), (x, y1)],
            4,
            4,
            marker.colour.stroke_width(2),
        ))?;
        marker_x.push((marker, chart.backend_coord(&(x, y1)).0));
    }
    for series in &plot.series {
        let points = plotted(&mut series.points.iter().copied());
        let style = series.colour.stroke_width(3);
        match series.line {
            Line::Solid => {
                chart.draw_series(LineSeries::new(points.iter().copied(), style))?;
            }
            Line::Dashed => {
                chart.draw_series(DashedLineSeries::new(points.iter().copied(), 12, 6, style))?;
            }
            Line::Dotted => {
                chart.draw_series(DashedLineSeries::new(points.iter().copied(), 3, 5, style))?;
            }
            Line::None => {}
        }
    }
    // Every marker over every line, so that no line crosses out a point.
    for series in &plot.series {
        for p in plotted(&mut series.points.iter().copied()) {
            marker_at(chart.plotting_area(), p, series.marker, series.colour)?;
        }
    }
    for callout in &plot.callouts {
        if let Some(p) = plotted(&mut std::iter::once(callout.at)).pop() {
            root.draw(&Circle::new(
                chart.backend_coord(&p),
                RING,
                callout.colour.stroke_width(3),
            ))?;
        }
    }
    // The markers' labels, in the band above the plot (no data there), each just right or left
    // of its line in the first row where it covers no other label; one that finds no such place
    // is named in the legend instead (with its n, which says which line it is).
    let mut labels = Labels {
        taken: Vec::new(),
        x: px.start..px.end,
        y: py.start - BAND..py.start - 2,
    };
    let mut unplaced = Vec::new();
    for (marker, mx) in marker_x {
        let style = (FONT, 15).into_font().color(&marker.colour);
        let (w, h) = root.estimate_text_size(&marker.label, &style)?;
        let (w, h) = (w as i32, h as i32);
        let candidates: Vec<(i32, i32)> = (0..BAND_ROWS)
            .flat_map(|row| {
                let y = py.start - BAND + 4 + row * BAND_ROW;
                [(mx + 6, y), (mx - 6 - w, y)]
            })
            .collect();
        match labels.place(w, h, &candidates) {
            Some(at) => root.draw(&Text::new(marker.label.as_str(), at, style))?,
            None => unplaced.push(marker),
        }
    }
    Ok((left_out, legend(plot, &unplaced, &panel)?))
}

/// Boxes already taken by labels, and the bounds labels must keep within.
struct Labels {
    taken: Vec<[i32; 4]>,
    x: std::ops::Range<i32>,
    y: std::ops::Range<i32>,
}

impl Labels {
    /// The first candidate position whose box lies within the bounds and covers no other label,
    /// taken; `None` if there is none.
    fn place(&mut self, w: i32, h: i32, candidates: &[(i32, i32)]) -> Option<(i32, i32)> {
        let boxed = |(x, y): (i32, i32)| [x - 4, y - 3, x + w + 4, y + h + 3];
        let fits = |b: [i32; 4]| {
            b[0] >= self.x.start && b[2] <= self.x.end && b[1] >= self.y.start && b[3] <= self.y.end
        };
        let free = |b: [i32; 4]| {
            !self
                .taken
                .iter()
                .any(|t| b[0] < t[2] && t[0] < b[2] && b[1] < t[3] && t[1] < b[3])
        };
        let at = candidates
            .iter()
            .copied()
            .find(|c| fits(boxed(*c)) && free(boxed(*c)))?;
        self.taken.push(boxed(at));
        Some(at)
    }
}

/// A linear axis (in plot space) with the ticks chosen by [`Scale::ticks`]. plotters' own
/// key-point combinator drops the formatter hook the mesh labels need, hence this one.
struct Ticked {
    inner: RangedCoordf64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ticked {
    fn new(range: std::ops::Range<f64>, bold: Vec<f64>, light: Vec<f64>) -> Ticked {
        Ticked {
            inner: range.into(),
            bold,
            light,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

fn min(values: &[f64], scale: Scale) -> f64 {
    values
        .iter()
        .copied()
        .filter(|v| scale.to_plot(*v).is_some())
        .fold(f64::INFINITY, f64::min)
        .min(f64::MAX)
}

fn max(values: &[f64]) -> f64 {
    values
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .max(f64::MIN)
}

/// The title: one line, shrunk down to a floor to fit the width, else wrapped onto two lines
/// (the second cut with an ellipsis if even that is not enough).
fn title(root: &Area, title: &str) -> Result<(), Box<dyn Error>> {
    let (lines, size) = title_lines(root, title)?;
    let style = centre(size);
    let single = lines.len() == 1 && size > 21.0;
    for (i, line) in lines.iter().enumerate() {
        let y = if single {
            TITLE_HEIGHT / 2 + 6
        } else {
            TITLE_HEIGHT / 2 - 6 + i as i32 * 26
        };
        root.draw(&Text::new(
            line.as_str(),
            (WIDTH as i32 / 2, y),
            style.clone(),
        ))?;
    }
    Ok(())
}

/// Width available to the title.
const TITLE_ROOM: u32 = WIDTH - 48;

fn centre(size: f64) -> TextStyle<'static> {
    (FONT, size)
        .into_font()
        .color(&TEXT)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// The title's lines and font size: one line at the largest size from 28 down to 22 that fits,
/// else at most two lines at 21, each cut to fit with an ellipsis where it does not. Measures
/// O(log n) candidates per cut (see [`fit`]), so a title of any length costs about linear time.
fn title_lines(root: &Area, title: &str) -> Result<(Vec<String>, f64), Box<dyn Error>> {
    for size in (22..=28).rev().map(f64::from) {
        if root.estimate_text_size(title, &centre(size))?.0 <= TITLE_ROOM {
            return Ok((vec![title.to_string()], size));
        }
    }
    let style = centre(21.0);
    let mut lines = wrap(root, title, &style, TITLE_ROOM)?;
    if lines.len() > 2 {
        let rest = lines[1..].join(" ");
        lines.truncate(1);
        lines.push(rest);
    }
    // A single word wider than the room stays on its line in `wrap`: cut it too.
    let lines = lines
        .into_iter()
        .map(|line| fit(root, &line, &style, TITLE_ROOM))
        .collect::<Result<_, _>>()?;
    Ok((lines, 21.0))
}

/// `text` if it fits `width`, else its longest prefix (in characters) that fits with `…`
/// appended: a binary search on the cut (widths grow with the prefix), so O(log n)
/// measurements of at most n characters rather than one per character dropped.
fn fit(area: &Area, text: &str, style: &TextStyle, width: u32) -> Result<String, Box<dyn Error>> {
    if area.estimate_text_size(text, style)?.0 <= width {
        return Ok(text.to_string());
    }
    let ends: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let cut = |k: usize| format!("{}…", &text[..ends.get(k).copied().unwrap_or(text.len())]);
    // Invariant: a prefix of `lo` characters fits (0 always counts as fitting), `hi` does not.
    let (mut lo, mut hi) = (0usize, ends.len());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if area.estimate_text_size(&cut(mid), style)?.0 <= width {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(cut(lo.max(1)))
}

fn marker_at<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    marker: Marker,
    colour: RGBColor,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
    CT::From: Clone,
{
    let at = || EmptyElement::at(at.clone());
    // A polygon's corners, relative to the point; the circle is drawn as a circle.
    let corners: &[(i32, i32)] = match marker.shape {
        Shape::None => return Ok(()),
        Shape::Cross => {
            // Thin arms, which leave a marker under the cross visible between them.
            area.draw(&(at() + Cross::new((0, 0), 6, colour.stroke_width(2))))?;
            return Ok(());
        }
        Shape::Circle => &[],
        Shape::Square => &[(-4, -4), (4, -4), (4, 4), (-4, 4)],
        Shape::Triangle => &[(0, -7), (6, 4), (-6, 4)],
        Shape::Diamond => &[(0, -7), (6, 0), (0, 7), (-6, 0)],
    };
    let closed: Vec<(i32, i32)> = corners.iter().chain(corners.first()).copied().collect();
    // Filled shapes get a white rim, which keeps them apart from a line of the same colour.
    let rim = WHITE.stroke_width(1);
    let stroke = colour.stroke_width(2);
    match (marker.fill, corners.is_empty()) {
        (Fill::Solid, true) => area.draw(
            &(at() + Circle::new((0, 0), 6, colour.filled()) + Circle::new((0, 0), 6, rim)),
        )?,
        (Fill::Solid, false) => area.draw(
            &(at() + Polygon::new(corners, colour.filled()) + PathElement::new(closed, rim)),
        )?,
        (_, true) => area.draw(&(at() + Circle::new((0, 0), 6, stroke)))?,
        (_, false) => area.draw(&(at() + PathElement::new(closed, stroke)))?,
    }
    if marker.fill == Fill::Dot {
        area.draw(&(at() + Circle::new((0, 0), 2, colour.filled())))?;
    }
    Ok(())
}

/// What a legend entry's glyph shows.
enum Glyph {
    Series(Line, Marker),
    /// A vertical marker whose label found no room above the plot.
    Vertical,
    /// A callout's ring.
    Ring,
}

struct Entry<'a> {
    label: &'a str,
    colour: RGBColor,
    glyph: Glyph,
}

/// Legend text sizes, largest first: the first whose entries and notes fit the panel's height is
/// used (many series, long labels). The last is the smallest still legible: a legend that does not
/// fit even at that size holds only what fits (see [`fit_legend`]).
const LEGEND_SIZES: [LegendSize; 3] = [
    LegendSize {
        text: 16,
        line: 20,
        gap: 8,
        note: 14,
        note_line: 18,
    },
    LegendSize {
        text: 14,
        line: 17,
        gap: 5,
        note: 13,
        note_line: 16,
    },
    LegendSize {
        text: 12,
        line: 14,
        gap: 3,
        note: 12,
        note_line: 14,
    },
];

struct LegendSize {
    text: u32,
    line: i32,
    gap: i32,
    note: u32,
    note_line: i32,
}

impl LegendSize {
    fn entry_height(&self, lines: usize) -> i32 {
        lines as i32 * self.line + self.gap
    }

    fn note_height(&self, lines: usize) -> i32 {
        lines as i32 * self.note_line + self.gap
    }
}

/// A legend entry's glyph is this wide; its text starts at `TEXT_X`.
const GLYPH: i32 = 40;
const TEXT_X: i32 = GLYPH + 12;
/// The first entry's top, and the space between the entries and the notes.
const LEGEND_TOP: i32 = TITLE_HEIGHT + 20;
const NOTES_GAP: i32 = 10;

/// The legend's entries, in its order: series, levels, the vertical `markers` given, callouts.
fn entries<'a>(plot: &'a Plot, markers: &[&'a Level]) -> Vec<Entry<'a>> {
    plot.series
        .iter()
        .map(|s| Entry {
            label: &s.label,
            colour: s.colour,
            glyph: Glyph::Series(s.line, s.marker),
        })
        .chain(plot.levels.iter().map(|l| Entry {
            label: &l.label,
            colour: l.colour,
            glyph: Glyph::Series(Line::Dashed, Marker::NONE),
        }))
        .chain(markers.iter().map(|m| Entry {
            label: &m.label,
            colour: m.colour,
            glyph: Glyph::Vertical,
        }))
        .chain(plot.callouts.iter().map(|c| Entry {
            label: &c.text,
            colour: c.colour,
            glyph: Glyph::Ring,
        }))
        .collect()
}

/// The legend's text at one size: each entry's and each note's lines, wrapped to the panel.
struct Layout<'a> {
    size: &'a LegendSize,
    style: TextStyle<'static>,
    note_style: TextStyle<'static>,
    note_width: u32,
    entries: Vec<Vec<String>>,
    notes: Vec<Vec<String>>,
}

impl<'a> Layout<'a> {
    fn new(
        panel: &Area,
        size: &'a LegendSize,
        entries: &[Entry],
        notes: &[String],
    ) -> Result<Layout<'a>, Box<dyn Error>> {
        let style = (FONT, size.text).into_font().color(&TEXT);
        let note_style = (FONT, size.note).into_font().color(&MUTED);
        let w = panel.dim_in_pixel().0 as i32;
        let width = (w - 16 - TEXT_X).max(60) as u32;
        let note_width = (w - 16) as u32;
        let entries = entries
            .iter()
            .map(|e| wrap(panel, e.label, &style, width))
            .collect::<Result<_, _>>()?;
        let notes = notes
            .iter()
            .map(|n| wrap(panel, n, &note_style, note_width))
            .collect::<Result<_, _>>()?;
        Ok(Layout {
            size,
            style,
            note_style,
            note_width,
            entries,
            notes,
        })
    }

    /// The pixel row below the last note.
    fn bottom(&self) -> i32 {
        let size = self.size;
        LEGEND_TOP
            + self
                .entries
                .iter()
                .map(|l| size.entry_height(l.len()))
                .sum::<i32>()
            + NOTES_GAP
            + self
                .notes
                .iter()
                .map(|l| size.note_height(l.len()))
                .sum::<i32>()
    }

    /// The height `note` would add to the notes.
    fn note_height(&self, panel: &Area, note: &str) -> Result<i32, Box<dyn Error>> {
        let lines = wrap(panel, note, &self.note_style, self.note_width)?;
        Ok(self.size.note_height(lines.len()))
    }
}

/// Fits `plot` to a legend that cannot name all of it at the smallest legible size: keeps the
/// series, levels and callouts added first (in [`Plot::built`]'s order) that fit together with
/// the notes and a note of its own saying what is left out, and takes the rest out of `plot`, so
/// that they are neither drawn nor named: a line the legend does not name cannot be read. Returns
/// the names of the series and levels left out, in the legend's order; none when all fit. Room is
/// kept for every vertical marker, since which labels find a place above the plot is known only
/// once the axes are, which span what is kept.
fn fit_legend(plot: &mut Plot, panel: &Area) -> Result<Vec<String>, Box<dyn Error>> {
    let room = panel.dim_in_pixel().1 as i32;
    let size = LEGEND_SIZES.last().expect("a legend size");
    let all_markers: Vec<&Level> = plot.markers.iter().collect();
    let layout = Layout::new(panel, size, &entries(plot, &all_markers), &plot.notes)?;
    if layout.bottom() <= room {
        return Ok(Vec::new());
    }
    let (series, levels) = (plot.series.len(), plot.levels.len());
    let lines = series + levels;
    // The entries list series, levels, markers, callouts, whatever order they were built in:
    // `next` is where each list's next item is among them, indexed by `Built` (declared in the
    // entries' order).
    let mut next = [0, series, lines + all_markers.len()];
    let items: Vec<(bool, i32)> = plot
        .built
        .iter()
        .map(|built| {
            let list = *built as usize;
            next[list] += 1;
            let height = size.entry_height(layout.entries[next[list] - 1].len());
            (*built != Built::Callout, height)
        })
        .collect();
    // What stays whatever is left out: the markers' entries and the notes.
    let mut used = layout.bottom() - items.iter().map(|(_, h)| h).sum::<i32>();
    let (mut kept, mut held) = (0, 0);
    let mut note = left_out_note(lines, 0);
    // A callout goes with the line built before it (a run's memory wall, a ceiling's ridge):
    // kept or left out with it, never naming a point on a line not drawn.
    while kept < items.len() {
        let end = kept + 1 + items[kept + 1..].iter().take_while(|(l, _)| !l).count();
        let height: i32 = items[kept..end].iter().map(|(_, h)| h).sum();
        let more = held + usize::from(items[kept].0);
        let candidate = left_out_note(lines - more, more);
        if used + height + layout.note_height(panel, &candidate)? > room {
            break;
        }
        (used, kept, held, note) = (used + height, end, more, candidate);
    }
    let count = |kind: Built| plot.built[..kept].iter().filter(|b| **b == kind).count();
    let (series, levels, callouts) = (
        count(Built::Series),
        count(Built::Level),
        count(Built::Callout),
    );
    plot.built.truncate(kept);
    plot.callouts.truncate(callouts);
    let left_out = plot
        .series
        .drain(series..)
        .map(|s| s.label)
        .chain(plot.levels.drain(levels..).map(|l| l.label))
        .collect();
    plot.notes.insert(0, note);
    Ok(left_out)
}

fn left_out_note(left_out: usize, held: usize) -> String {
    format!(
        "{left_out} more series not drawn (the legend holds {held}): chart fewer files at once."
    )
}

/// Draws the legend; returns the pixel row below its last line.
fn legend(plot: &Plot, markers: &[&Level], panel: &Area) -> Result<i32, Box<dyn Error>> {
    let room = panel.dim_in_pixel().1 as i32;
    let entries = entries(plot, markers);
    let mut layouts = Vec::new();
    for size in &LEGEND_SIZES {
        let layout = Layout::new(panel, size, &entries, &plot.notes)?;
        let fits = layout.bottom() <= room;
        layouts.push(layout);
        if fits {
            break;
        }
    }
    let Layout {
        size,
        style,
        note_style,
        entries: lines,
        notes,
        ..
    } = layouts.pop().expect("a legend size");
    // A split-off area draws in its own coordinates: (0, 0) is its top left corner.
    let mut y = LEGEND_TOP;
    for (entry, text) in entries.iter().zip(lines) {
        let mid = y + size.line / 2 - 1;
        let stroke = entry.colour.stroke_width(3);
        match entry.glyph {
            Glyph::Series(line, marker) => {
                let dashes: &[(i32, i32)] = match line {
                    Line::Solid => &[(0, GLYPH)],
                    Line::Dashed => &[(0, 11), (16, 27), (32, 40)],
                    Line::Dotted => &[(0, 3), (8, 11), (16, 19), (24, 27), (32, 35)],
                    Line::None => &[],
                };
                for (a, b) in dashes {
                    panel.draw(&PathElement::new([(*a, mid), (*b, mid)], stroke))?;
                }
                marker_at(panel, (GLYPH / 2, mid), marker, entry.colour)?;
            }
            Glyph::Vertical => {
                for (a, b) in [(-9, -5), (-1, 3), (7, 11)] {
                    let x = GLYPH / 2;
                    panel.draw(&PathElement::new(
                        [(x, mid + a), (x, mid + b)],
                        entry.colour.stroke_width(2),
                    ))?;
                }
            }
            Glyph::Ring => panel.draw(&Circle::new((GLYPH / 2, mid), RING, stroke))?,
        }
        for line in text {
            panel.draw(&Text::new(line, (TEXT_X, y), style.clone()))?;
            y += size.line;
        }
        y += size.gap;
    }
    y += NOTES_GAP;
    for note in notes {
        for line in note {
            panel.draw(&Text::new(line, (0, y), note_style.clone()))?;
            y += size.note_line;
        }
        y += size.gap;
    }
    Ok(y)
}

/// Greedy word wrap to `width` pixels as the embedded font measures it.
fn wrap(
    area: &Area,
    text: &str,
    style: &TextStyle,
    width: u32,
) -> Result<Vec<String>, Box<dyn Error>> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && area.estimate_text_size(&candidate, style)?.0 > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20 000-character title (the size of a CPU name that once took 21 s to shorten, one
    /// character per measurement) is shortened to lines that fit, ending in an ellipsis.
    #[test]
    fn long_titles_are_cut_to_fit() {
        crate::chart::register_font().expect("the embedded font");
        let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (WIDTH, HEIGHT))
            .expect("buffer");
        let root = backend.into_drawing_area();
        for long in [
            "Intel(R) Xeon(R) CPU ".repeat(1000),
            "X".repeat(20_000),
            "é ".repeat(10_000),
        ] {
            let (lines, size) = title_lines(&root, &long).expect("measured");
            assert_eq!(size, 21.0);
            assert!((1..=2).contains(&lines.len()), "{} lines", lines.len());
            let style = centre(size);
            for line in &lines {
                let w = root.estimate_text_size(line, &style).expect("measured").0;
                assert!(w <= TITLE_ROOM, "{w} px > {TITLE_ROOM}");
                assert!(line.chars().count() < 200);
            }
            let last = lines.last().expect("a line");
            assert!(last.ends_with('…'), "{last:?}");
            assert!(last.chars().count() > 10, "cut too short: {last:?}");
        }
        let short = "HexPylot on a small machine";
        assert_eq!(title_lines(&root, short).expect("measured").0, [short]);
    }
}
