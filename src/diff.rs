//! Two result documents compared row by row (`hexpylot diff`): the rows that measured the same
//! thing in both, each one's rate in A and in B, their ratio, and whether the change is larger
//! than the runs' own noise.
//!
//! Rows match when they measured the same point: a stream row by kernel, backend, precision, size
//! and threads; a Monte Carlo row by option, backend, paths, steps, seed, threads and market; a
//! roofline row by backend, precision, size, FMAs per element and threads. Rows of one document
//! that match none of the other's are listed by name, not compared.
//!
//! Rows that match may still not be comparable: [`Diff::caveats`] finds what differs between the
//! runs besides the code measured (machine, command, repetitions, store kinds, load).

use std::path::Path;

use cpu_kernels::stream::Stores;
use serde::Serialize;

use crate::model::{
    BUSY_LOAD_PER_CORE, Document, McRow, RooflineRow, StreamRow, Timing, stores_name,
};
use crate::text::{count, plural};

/// Loads per allowed core further apart than this make the runs' conditions differ even where
/// both were busy: half a runnable task per core more takes a share of every core's time, which
/// a multi-threaded run feels in full.
pub const LOAD_GAP_PER_CORE: f64 = 0.5;

/// The kind of row, which fixes the rate's unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Stream,
    Mc,
    Roofline,
}

impl Kind {
    pub fn unit(self) -> &'static str {
        match self {
            Kind::Stream => "GB/s",
            Kind::Mc => "M paths/s",
            Kind::Roofline => "GFLOP/s",
        }
    }
}

/// What the change of one row amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mark {
    /// B's rate is higher, by more than the spread.
    Faster,
    /// B's rate is lower, by more than the spread.
    Slower,
    WithinNoise,
    /// The row failed validation (or recorded no positive rate) in that run: its rate measures
    /// nothing worth comparing, so it is never faster or slower.
    InvalidInA,
    InvalidInB,
    InvalidInBoth,
}

impl Mark {
    pub fn name(self) -> &'static str {
        match self {
            Mark::Faster => "faster",
            Mark::Slower => "slower",
            Mark::WithinNoise => "within noise",
            Mark::InvalidInA => "INVALID in A",
            Mark::InvalidInB => "INVALID in B",
            Mark::InvalidInBoth => "INVALID in A and B",
        }
    }

    pub fn is_invalid(self) -> bool {
        matches!(
            self,
            Mark::InvalidInA | Mark::InvalidInB | Mark::InvalidInBoth
        )
    }
}

/// One row measured in both documents.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DiffRow {
    pub kind: Kind,
    /// The point measured, e.g. "triad engine f32 n=2^25 2t".
    pub what: String,
    pub unit: &'static str,
    /// The rate in A and in B, from each run's median time.
    pub a: f64,
    pub b: f64,
    /// B over A: above 1, B is faster.
    pub ratio: f64,
    /// (ratio - 1) in percent.
    pub change_pct: f64,
    /// Each run's relative spread (see [`spread`]).
    pub spread_a: f64,
    pub spread_b: f64,
    pub mark: Mark,
    /// Slower beyond the spread and by more than the threshold.
    pub regressed: bool,
    /// Timed repetitions in A and in B; `null` for roofline rows, which record none.
    pub reps_a: Option<usize>,
    pub reps_b: Option<usize>,
    /// The store kind of a stream row in A and in B; `null` where the row has none (dot, the
    /// GPU, a version-1 document, Monte Carlo and roofline rows).
    #[serde(serialize_with = "stores_name::serialize")]
    pub stores_a: Option<Stores>,
    #[serde(serialize_with = "stores_name::serialize")]
    pub stores_b: Option<Stores>,
}

/// One of the two documents, as the diff names it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Side {
    pub file: String,
    pub label: String,
    pub hostname: String,
    pub cpu_model: String,
    /// HexPylot's version and the commit it was built from, when recorded.
    pub version: Option<String>,
    pub git_commit: Option<String>,
    pub created_utc: Option<String>,
    /// The command line, as recorded.
    pub command: String,
    /// The 1-minute load average when the run started, per allowed core.
    pub load_per_core: f64,
    /// The command's words that decide what ran (see [`plan`]).
    #[serde(skip)]
    plan: Vec<String>,
}

impl Side {
    pub fn of(path: &Path, doc: &Document) -> Side {
        let build = doc.build.as_ref();
        Side {
            file: path.display().to_string(),
            label: doc.label.clone(),
            hostname: doc.machine.hostname.clone(),
            cpu_model: doc.machine.cpu_model.clone(),
            version: build.map(|b| b.version.clone()),
            git_commit: build.and_then(|b| b.git_commit.clone()),
            created_utc: doc.created_utc.clone(),
            command: doc.command.clone(),
            load_per_core: doc.load_per_core(),
            plan: plan(&doc.command, &doc.label),
        }
    }

    /// Whether the other run was measured on the same machine (by host name and CPU model, as
    /// `compare --roofline` holds its ceilings to).
    pub fn same_machine(&self, other: &Side) -> bool {
        (&self.hostname, &self.cpu_model) == (&other.hostname, &other.cpu_model)
    }
}

/// The words of a recorded command line that decide what ran: the program's path and the flags
/// that only say where results go and how they print (`--json`, `--csv`, `--label`,
/// `--verbose`) are left out, as when the ranks of an MPI job are held to one plan. The command
/// line is recorded with its words joined by spaces, so a label of several words spans as many:
/// `label` says how many.
fn plan(command: &str, label: &str) -> Vec<String> {
    let mut words = command.split_whitespace().skip(1);
    let mut plan = Vec::new();
    while let Some(word) = words.next() {
        let (flag, inline) = word
            .split_once('=')
            .map_or((word, false), |(f, _)| (f, true));
        let value_words = match flag {
            "--verbose" => 0,
            "--json" | "--csv" => 1,
            "--label" => label.split_whitespace().count().max(1),
            _ => {
                plan.push(word.to_string());
                continue;
            }
        };
        let more = value_words.saturating_sub(usize::from(inline));
        words.by_ref().take(more).for_each(drop);
    }
    plan
}

/// Something besides the code measured that differs between the two runs, and so may explain
/// their ratios.
#[derive(Clone, Debug, PartialEq)]
pub enum Caveat {
    /// Another host name or CPU model.
    Machines,
    /// The commands differ beyond their output flags: each run's [`plan`].
    Commands { a: Vec<String>, b: Vec<String> },
    /// Matched rows that timed different numbers of repetitions.
    Reps(Differing<usize>),
    /// Matched stream rows written with different store kinds.
    Stores(Differing<Stores>),
    /// The load per allowed core when each run started, where one run was busy (above
    /// [`BUSY_LOAD_PER_CORE`]) and the other not, or they are more than [`LOAD_GAP_PER_CORE`]
    /// apart.
    Load { a: f64, b: f64 },
}

/// How many matched rows differ in one respect, and the first of them with its value in A and B.
#[derive(Clone, Debug, PartialEq)]
pub struct Differing<T> {
    pub rows: usize,
    pub first: String,
    pub a: T,
    pub b: T,
}

/// The comparison of B with A, as `diff --json` writes it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Diff {
    pub a: Side,
    pub b: Side,
    pub threshold_pct: f64,
    /// In A's order: stream rows, then Monte Carlo, then roofline.
    pub rows: Vec<DiffRow>,
    /// The rows of A that match no row of B, by [`DiffRow::what`]'s naming; and the other way.
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
}

impl Diff {
    /// Compares every row of `b` with the row of `a` that measured the same point. A row
    /// regresses when B is slower beyond the spread and by more than `threshold_pct` percent.
    pub fn new(a: Side, doc_a: &Document, b: Side, doc_b: &Document, threshold_pct: f64) -> Diff {
        let mut diff = Diff {
            a,
            b,
            threshold_pct,
            rows: Vec::new(),
            only_in_a: Vec::new(),
            only_in_b: Vec::new(),
        };
        diff.add(&doc_a.stream, &doc_b.stream);
        diff.add(&doc_a.mc, &doc_b.mc);
        diff.add(&doc_a.roofline, &doc_b.roofline);
        diff
    }

    /// Pairs each row of `a` with the first row of `b` of the same point not paired yet, so that a
    /// document holding a point twice pairs its copies in order instead of twice with one.
    fn add<R: Rated>(&mut self, a: &[R], b: &[R]) {
        let mut paired = vec![false; b.len()];
        for ra in a {
            let found = b
                .iter()
                .enumerate()
                .position(|(i, rb)| !paired[i] && ra.same_point(rb));
            match found {
                Some(i) => {
                    paired[i] = true;
                    self.rows.push(self.row(ra, &b[i]));
                }
                None => self.only_in_a.push(ra.what()),
            }
        }
        let unpaired = b.iter().zip(&paired).filter(|(_, p)| !**p);
        self.only_in_b.extend(unpaired.map(|(rb, _)| rb.what()));
    }

    fn row<R: Rated>(&self, ra: &R, rb: &R) -> DiffRow {
        let (a, b) = (ra.rate(), rb.rate());
        let (spread_a, spread_b) = (spread(ra.timing()), spread(rb.timing()));
        let ratio = b / a;
        let usable = |row: &R, rate: f64| row.valid() && rate.is_finite() && rate > 0.0;
        let mark = match (usable(ra, a), usable(rb, b)) {
            (false, false) => Mark::InvalidInBoth,
            (false, true) => Mark::InvalidInA,
            (true, false) => Mark::InvalidInB,
            _ if ratio.ln().abs() <= spread_a + spread_b => Mark::WithinNoise,
            _ if ratio > 1.0 => Mark::Faster,
            _ => Mark::Slower,
        };
        let change_pct = (ratio - 1.0) * 100.0;
        DiffRow {
            kind: R::KIND,
            what: ra.what(),
            unit: R::KIND.unit(),
            a,
            b,
            ratio,
            change_pct,
            spread_a,
            spread_b,
            mark,
            regressed: mark == Mark::Slower && -change_pct > self.threshold_pct,
            reps_a: ra.reps(),
            reps_b: rb.reps(),
            stores_a: ra.stores(),
            stores_b: rb.stores(),
        }
    }

    /// What differs between the runs besides the code measured, in the order `diff` warns of it.
    pub fn caveats(&self) -> Vec<Caveat> {
        let mut caveats = Vec::new();
        if !self.a.same_machine(&self.b) {
            caveats.push(Caveat::Machines);
        }
        // A document without a recorded command (written by hand) differs from no other.
        let (a, b) = (&self.a.plan, &self.b.plan);
        if !a.is_empty() && !b.is_empty() && a != b {
            caveats.push(Caveat::Commands {
                a: a.clone(),
                b: b.clone(),
            });
        }
        caveats.extend(self.differing(|r| (r.reps_a, r.reps_b)).map(Caveat::Reps));
        caveats.extend(
            self.differing(|r| (r.stores_a, r.stores_b))
                .map(Caveat::Stores),
        );
        let (a, b) = (self.a.load_per_core, self.b.load_per_core);
        let busy = |load: f64| load > BUSY_LOAD_PER_CORE;
        if busy(a) != busy(b) || (a - b).abs() > LOAD_GAP_PER_CORE {
            caveats.push(Caveat::Load { a, b });
        }
        caveats
    }

    /// The rows whose `value` in A and in B both are known and differ. A value known on one side
    /// only (a version-1 document records no store kind) is no difference.
    fn differing<T: Copy + PartialEq>(
        &self,
        value: impl Fn(&DiffRow) -> (Option<T>, Option<T>),
    ) -> Option<Differing<T>> {
        let mut found = self.rows.iter().filter_map(|r| match value(r) {
            (Some(a), Some(b)) if a != b => Some((r, a, b)),
            _ => None,
        });
        let (first, a, b) = found.next()?;
        Some(Differing {
            rows: 1 + found.count(),
            first: first.what.clone(),
            a,
            b,
        })
    }

    pub fn regressions(&self) -> impl Iterator<Item = &DiffRow> {
        self.rows.iter().filter(|r| r.regressed)
    }

    /// "12 rows compared: 1 faster, 1 slower, 9 within noise, 1 invalid; 1 regression (slower
    /// by more than 5%)".
    pub fn summary(&self) -> String {
        let count = |m: fn(Mark) -> bool| self.rows.iter().filter(|r| m(r.mark)).count();
        format!(
            "{} compared: {} faster, {} slower, {} within noise, {} invalid; {} (slower by more than {}% and beyond the spread)",
            plural(self.rows.len(), "row"),
            count(|m| m == Mark::Faster),
            count(|m| m == Mark::Slower),
            count(|m| m == Mark::WithinNoise),
            count(Mark::is_invalid),
            plural(self.regressions().count(), "regression"),
            self.threshold_pct
        )
    }

    /// The diff as `--json` writes it.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// A run's spread on one row, relative to its median: the coefficient of variation of the timed
/// repetitions; where the document recorded none (version 1), half their range over the median,
/// which for a run of many repetitions is wider than the coefficient and so errs toward "within
/// noise". A single timed repetition has no spread (0): any change counts.
///
/// A change is beyond the noise when |ln(B/A)| exceeds spread(A) + spread(B). Why these, and not
/// the alternatives:
/// - The coefficient, not the [min, max] range: one interrupted repetition stretches a range over
///   any real change, and a run of 100 repetitions almost always has one, so non-overlapping
///   ranges would hide regressions; the coefficient weighs every repetition.
/// - One repetition's spread, not the median's standard error (smaller by √reps): two runs on
///   one machine differ by more than one run's repetitions do among themselves (clock speed, page
///   placement, other work), and a 100-repetition run would flag a 0.2% change.
/// - Summed, as the worst case of two independent errors, and ln(B/A), so that halving and
///   doubling are the same distance from "no change".
pub fn spread(t: &Timing) -> f64 {
    t.cv.unwrap_or(if t.median_s > 0.0 {
        (t.max_s - t.min_s) / (2.0 * t.median_s)
    } else {
        0.0
    })
}

/// A row of a document, as the diff sees it.
trait Rated {
    const KIND: Kind;
    /// Whether the two rows measured the same point (everything but the results agrees).
    fn same_point(&self, other: &Self) -> bool;
    fn what(&self) -> String;
    /// The rate in [`Kind::unit`], from the median time.
    fn rate(&self) -> f64;
    fn timing(&self) -> &Timing;
    fn valid(&self) -> bool;
    /// Timed repetitions, where the row records them.
    fn reps(&self) -> Option<usize>;
    /// Only stream rows choose how they store.
    fn stores(&self) -> Option<Stores> {
        None
    }
}

impl Rated for StreamRow {
    const KIND: Kind = Kind::Stream;

    fn same_point(&self, o: &Self) -> bool {
        (
            self.kernel,
            self.backend,
            self.precision,
            self.n,
            self.threads,
        ) == (o.kernel, o.backend, o.precision, o.n, o.threads)
    }

    fn what(&self) -> String {
        format!(
            "{} {} {} n={}{}",
            self.kernel.name(),
            self.backend.name(),
            self.precision.name(),
            count(self.n as u64),
            threads(self.threads)
        )
    }

    fn rate(&self) -> f64 {
        self.gbs_median
    }

    fn timing(&self) -> &Timing {
        &self.timing
    }

    fn valid(&self) -> bool {
        self.valid
    }

    fn reps(&self) -> Option<usize> {
        Some(self.reps)
    }

    fn stores(&self) -> Option<Stores> {
        self.stores
    }
}

impl Rated for McRow {
    const KIND: Kind = Kind::Mc;

    fn same_point(&self, o: &Self) -> bool {
        (
            self.option,
            self.backend,
            self.paths,
            self.steps,
            self.seed,
            self.threads,
            self.gpu_path,
        ) == (
            o.option, o.backend, o.paths, o.steps, o.seed, o.threads, o.gpu_path,
        ) && self.market == o.market
    }

    fn what(&self) -> String {
        format!(
            "{} {}{} {} paths {}{}",
            self.option.name(),
            self.backend.name(),
            self.gpu_path
                .map_or(String::new(), |p| format!(" {}", p.name())),
            count(self.paths),
            plural(self.steps as usize, "step"),
            threads(self.threads)
        )
    }

    fn rate(&self) -> f64 {
        self.paths_per_s / 1e6
    }

    fn timing(&self) -> &Timing {
        &self.timing
    }

    fn valid(&self) -> bool {
        self.valid
    }

    fn reps(&self) -> Option<usize> {
        Some(self.reps)
    }
}

impl Rated for RooflineRow {
    const KIND: Kind = Kind::Roofline;

    // The precision too: an f64 point at the same size and FMAs is a different measurement.
    fn same_point(&self, o: &Self) -> bool {
        (
            self.backend,
            self.precision,
            self.n,
            self.fmas,
            self.threads,
        ) == (o.backend, o.precision, o.n, o.fmas, o.threads)
    }

    fn what(&self) -> String {
        format!(
            "roofline {} {} n={} {}{}",
            self.backend.name(),
            self.precision.name(),
            count(self.n as u64),
            plural(self.fmas as usize, "FMA"),
            threads(self.threads)
        )
    }

    fn rate(&self) -> f64 {
        self.gflops
    }

    fn timing(&self) -> &Timing {
        &self.timing
    }

    fn valid(&self) -> bool {
        self.valid
    }

    fn reps(&self) -> Option<usize> {
        None
    }
}

/// " 2t", or nothing for the GPU (threads 0).
fn threads(t: usize) -> String {
    if t == 0 {
        String::new()
    } else {
        format!(" {t}t")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(cv: Option<f64>) -> Timing {
        Timing {
            median_s: 1.0,
            min_s: 0.9,
            max_s: 1.3,
            mean_s: Some(1.05),
            cv,
        }
    }

    #[test]
    fn spread_is_the_cv_or_half_the_range() {
        assert_eq!(spread(&timing(Some(0.03))), 0.03);
        assert!((spread(&timing(None)) - 0.2).abs() < 1e-12);
        let once = Timing {
            min_s: 1.0,
            max_s: 1.0,
            ..timing(None)
        };
        assert_eq!(spread(&once), 0.0);
    }

    #[test]
    fn a_plan_leaves_out_the_program_and_the_output_flags() {
        let plan = |command, label| plan(command, label).join(" ");
        let bare = "stream --size 2^16 --reps 5";
        assert_eq!(plan("./hexpylot stream --size 2^16 --reps 5", ""), bare);
        assert_eq!(
            plan(
                "/opt/hexpylot stream --json a.json --size 2^16 --verbose --csv=a.csv --reps 5 --label one two",
                "one two"
            ),
            bare
        );
        assert_eq!(
            plan(
                "hexpylot stream --label=one two --size 2^16 --reps 5",
                "one two"
            ),
            bare
        );
        assert_eq!(plan("", ""), "");
    }

    #[test]
    fn sizes_read_as_given() {
        assert_eq!(count(1 << 25), "2^25");
        assert_eq!(count(1000), "1000");
        assert_eq!(count(512), "512");
        assert_eq!(threads(0), "");
        assert_eq!(threads(8), " 8t");
    }
}
