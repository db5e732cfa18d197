//! Reading a document back: its version first (a newer one is refused for what it is), then
//! its rows, then every number held to what a run can have written, one rule per kind of
//! number (a negative spread, a zero or subnormal rate is refused with the field that holds it).

use std::path::Path;

use serde::Deserialize;

use super::document::{Build, Document, SCHEMA_VERSION, default_label, version_1};
use super::hardware::Machine;
use super::rows::*;
use super::vocab::*;

/// A result file that cannot be read as a document.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a HexPylot document: {detail}", path.display())]
    Malformed {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error(
        "{}: schema version {found} is newer than this HexPylot reads (at most {SCHEMA_VERSION}): upgrade hexpylot",
        path.display()
    )]
    Newer {
        path: std::path::PathBuf,
        found: u32,
    },
    /// A number no run can have written (a negative spread, a zero rate, ...): read, it would
    /// turn into wrong marks, empty charts or infinite shares.
    #[error("{}: {field} = {value}: {rule}", path.display())]
    Implausible {
        path: std::path::PathBuf,
        /// The number's JSON path, e.g. `stream[3].cv`.
        field: String,
        value: String,
        rule: &'static str,
    },
}

impl Document {
    /// Parses a document of this or the previous schema version; `path` names it in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Document, ReadError> {
        let malformed = |e: serde_json::Error| ReadError::Malformed {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        // The version first, so that a newer document is refused for what it is, not for a
        // field this version does not know.
        #[derive(Deserialize)]
        struct Version {
            #[serde(default = "version_1")]
            schema_version: u32,
        }
        let found = serde_json::from_str::<Version>(text)
            .map_err(malformed)?
            .schema_version;
        if found > SCHEMA_VERSION {
            return Err(ReadError::Newer {
                path: path.to_path_buf(),
                found,
            });
        }
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
        if found < 3 {
            legacy::compare_rows(&mut value).map_err(|detail| ReadError::Malformed {
                path: path.to_path_buf(),
                detail,
            })?;
        }
        let mut doc: Document = serde_json::from_value(value).map_err(malformed)?;
        doc.upgrade();
        doc.plausible("").map_err(|f| ReadError::Implausible {
            path: path.to_path_buf(),
            field: f.field,
            value: f.value,
            rule: f.rule,
        })?;
        Ok(doc)
    }

    /// Reads a document file.
    pub fn read(path: &Path) -> Result<Document, ReadError> {
        let text = crate::input::read_text(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Fills in what a version 1 document lacks and can be derived.
    fn upgrade(&mut self) {
        // Version 1 called a memory wall wherever the triad curve reached 90% of its best, arrays
        // in cache and two-point curves included: a claim its data need not support. Only the
        // version 2 verdicts (`Sweep::scaling`) say when a wall was found.
        if self.schema_version < 2
            && let Some(sweep) = &mut self.sweep
        {
            sweep.memory_wall = None;
        }
        if self.label.is_empty() {
            self.label = default_label(&self.machine.hostname, &self.command);
        }
        if self.build.is_none()
            && let Some(version) = self.version.take()
        {
            self.build = Some(Build {
                version,
                git_commit: None,
                target_floor: "unknown".to_string(),
                simd: "unknown".to_string(),
            });
        }
    }
}

/// A number that breaks a [`Rule`]: where it is, what it is, and the rule.
struct Implausible {
    field: String,
    value: String,
    rule: &'static str,
}

type Checked = Result<(), Implausible>;

/// What a number read back must be for a run to have written it, one rule per kind of number.
#[derive(Clone, Copy)]
enum Rule {
    /// Times and rates: a run times a positive duration and divides by it. Zero or a negative
    /// value is no measurement, nor is a subnormal one (5e-324: no clock resolves it, and every
    /// ratio built on it overflows to infinity).
    Measured,
    /// Spreads, standard errors, relative errors, load averages: zero is measured (one value
    /// repeated, a payoff of zero variance, a bit-identical result, an idle machine), a negative
    /// value never is.
    NonNegative,
    /// The market's price, strike, volatility and maturity: `mc` takes no other.
    Positive,
    /// Prices, z-scores, payoff sums, the interest rate: any sign, but a number.
    Finite,
}

impl Rule {
    fn holds(self, v: f64) -> bool {
        match self {
            Rule::Measured => v.is_normal() && v > 0.0,
            Rule::NonNegative => v.is_finite() && v >= 0.0,
            Rule::Positive => v.is_finite() && v > 0.0,
            Rule::Finite => v.is_finite(),
        }
    }

    fn says(self) -> &'static str {
        match self {
            Rule::Measured => "a measured time or rate is finite, > 0 and normal",
            Rule::NonNegative => "a spread, error or load average is finite and >= 0",
            Rule::Positive => "a market parameter is finite and > 0",
            Rule::Finite => "a price, z-score, payoff sum or interest rate is finite",
        }
    }
}

/// The JSON path of `name` in the object at `at` (`""`: the document itself).
fn field(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

fn refuse(at: &str, name: &str, value: impl std::fmt::Debug, rule: &'static str) -> Checked {
    Err(Implausible {
        field: field(at, name),
        value: format!("{value:?}"),
        rule,
    })
}

fn number(at: &str, name: &str, v: f64, rule: Rule) -> Checked {
    if rule.holds(v) {
        Ok(())
    } else {
        refuse(at, name, v, rule.says())
    }
}

fn optional(at: &str, name: &str, v: Option<f64>, rule: Rule) -> Checked {
    v.map_or(Ok(()), |v| number(at, name, v, rule))
}

/// Elements, bytes, repetitions, paths, steps, ranks: whatever a run counts, it counted one at
/// least (GPU rows' `threads` are 0 and launches move 0 bytes: those are not counts here).
fn count(at: &str, name: &str, v: impl Into<u64>) -> Checked {
    let v = v.into();
    if v >= 1 {
        Ok(())
    } else {
        refuse(at, name, v, "a count is at least 1")
    }
}

fn each<T: Plausible>(at: &str, name: &str, items: &[T]) -> Checked {
    let list = field(at, name);
    items
        .iter()
        .enumerate()
        .try_for_each(|(i, item)| item.plausible(&format!("{list}[{i}]")))
}

/// Every number of a part of a document, held to its [`Rule`].
trait Plausible {
    /// `at`: the JSON path of `self`, which names a refused field.
    fn plausible(&self, at: &str) -> Checked;
}

impl<T: Plausible> Plausible for Option<T> {
    fn plausible(&self, at: &str) -> Checked {
        self.as_ref().map_or(Ok(()), |t| t.plausible(at))
    }
}

impl Plausible for Document {
    fn plausible(&self, at: &str) -> Checked {
        // Version 1 is a document without the field; no HexPylot wrote a 0.
        if self.schema_version < 1 {
            return refuse(
                at,
                "schema_version",
                self.schema_version,
                "versions start at 1 (a document without the field)",
            );
        }
        self.machine.plausible(&field(at, "machine"))?;
        each(at, "stream", &self.stream)?;
        each(at, "mc", &self.mc)?;
        each(at, "compare", &self.compare)?;
        each(at, "roofline", &self.roofline)?;
        each(at, "transfer", &self.transfer)?;
        self.sweep.plausible(&field(at, "sweep"))?;
        self.mpi.plausible(&field(at, "mpi"))
    }
}

impl Plausible for Machine {
    fn plausible(&self, at: &str) -> Checked {
        // A machine whose load could not be read records zeros (`Machine::probe`).
        self.load_average
            .iter()
            .enumerate()
            .try_for_each(|(i, &l)| number(at, &format!("load_average[{i}]"), l, Rule::NonNegative))
    }
}

impl Plausible for JobInfo {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "ranks", self.ranks as u64)
    }
}

impl Plausible for Scope {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "ranks", self.ranks() as u64)
    }
}

impl Plausible for Timing {
    fn plausible(&self, at: &str) -> Checked {
        let (median, min, max) = (self.median_s, self.min_s, self.max_s);
        number(at, "median_s", median, Rule::Measured)?;
        number(at, "min_s", min, Rule::Measured)?;
        number(at, "max_s", max, Rule::Measured)?;
        optional(at, "mean_s", self.mean_s, Rule::Measured)?;
        optional(at, "cv", self.cv, Rule::NonNegative)?;
        const ORDER: &str = "the timed repetitions give min_s <= median_s <= max_s";
        if min > median {
            return refuse(at, "min_s", min, ORDER);
        }
        if median > max {
            return refuse(at, "max_s", max, ORDER);
        }
        Ok(())
    }
}

impl Plausible for Launch {
    fn plausible(&self, at: &str) -> Checked {
        // A probe's time is a difference of GPU timestamps, saturated at 0 where the driver's
        // ticks did not advance (`GpuContext`): no rate is built on it.
        self.probes.iter().enumerate().try_for_each(|(i, p)| {
            optional(
                at,
                &format!("probes[{i}].best_s"),
                p.best_s,
                Rule::NonNegative,
            )
        })
    }
}

impl Plausible for StreamRow {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "n", self.n as u64)?;
        count(at, "bytes_per_rep", self.bytes_per_rep)?;
        count(at, "reps", self.reps as u64)?;
        self.timing.plausible(at)?;
        number(at, "gbs_median", self.gbs_median, Rule::Measured)?;
        number(at, "gbs_best", self.gbs_best, Rule::Measured)?;
        optional(at, "max_rel_err", self.max_rel_err, Rule::NonNegative)?;
        optional(at, "rel_err_bound", self.rel_err_bound, Rule::NonNegative)?;
        optional(at, "kernel_s", self.kernel_s, Rule::Measured)?;
        optional(at, "end_to_end_s", self.end_to_end_s, Rule::Measured)?;
        if let Some(p) = &self.store_probe {
            let at = field(at, "store_probe");
            number(&at, "cached_gbs", p.cached_gbs, Rule::Measured)?;
            number(&at, "streaming_gbs", p.streaming_gbs, Rule::Measured)?;
            count(&at, "rounds", p.rounds as u64)?;
        }
        self.launch.plausible(&field(at, "launch"))?;
        self.scope.plausible(&field(at, "scope"))
    }
}

impl Plausible for McRow {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "paths", self.paths)?;
        count(at, "steps", self.steps)?;
        count(at, "reps", self.reps as u64)?;
        if let Some(m) = &self.market {
            let at = field(at, "market");
            for (name, v) in [
                ("s0", m.s0),
                ("strike", m.strike),
                ("sigma", m.sigma),
                ("maturity", m.maturity),
            ] {
                number(&at, name, v, Rule::Positive)?;
            }
            number(&at, "rate", m.rate, Rule::Finite)?;
        }
        self.timing.plausible(at)?;
        number(at, "paths_per_s", self.paths_per_s, Rule::Measured)?;
        number(at, "price", self.price, Rule::Finite)?;
        number(at, "std_error", self.std_error, Rule::NonNegative)?;
        optional(at, "reference", self.reference, Rule::Finite)?;
        optional(at, "z_score", self.z_score, Rule::Finite)?;
        if let Some(s) = &self.sums {
            let at = field(at, "sums");
            count(&at, "count", s.count)?;
            number(&at, "sum", s.sum, Rule::Finite)?;
            number(&at, "sum_sq", s.sum_sq, Rule::Finite)?;
        }
        optional(at, "kernel_s", self.kernel_s, Rule::Measured)?;
        optional(at, "end_to_end_s", self.end_to_end_s, Rule::Measured)?;
        optional(at, "path_error", self.path_error, Rule::NonNegative)?;
        self.launch.plausible(&field(at, "launch"))?;
        self.scope.plausible(&field(at, "scope"))
    }
}

impl Plausible for RooflineRow {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "n", self.n as u64)?;
        count(at, "fmas", self.fmas)?;
        number(at, "intensity", self.intensity, Rule::Measured)?;
        self.timing.plausible(at)?;
        number(at, "gflops", self.gflops, Rule::Measured)?;
        number(at, "gbs", self.gbs, Rule::Measured)?;
        self.launch.plausible(&field(at, "launch"))
    }
}

impl Plausible for TransferRow {
    fn plausible(&self, at: &str) -> Checked {
        if !self.kind.is_launch() {
            count(at, "bytes", self.bytes)?;
        }
        if let Some(d) = self.dispatches {
            count(at, "dispatches", d)?;
        }
        count(at, "reps", self.reps as u64)?;
        self.timing.plausible(at)?;
        optional(at, "gbs", self.gbs, Rule::Measured)?;
        optional(at, "us_per_dispatch", self.us_per_dispatch, Rule::Measured)
    }
}

impl Plausible for CompareRow {
    fn plausible(&self, at: &str) -> Checked {
        for (name, v) in [
            ("engine", self.engine),
            ("rayon", self.rayon),
            ("gpu_kernel", self.gpu_kernel),
            ("gpu_end_to_end", self.gpu_end_to_end),
            ("gpu_over_engine", self.gpu_over_engine),
        ] {
            optional(at, name, v, Rule::Measured)?;
        }
        let agreement = field(at, "agreement");
        match self.agreement {
            Some(Agreement::RelativeError { max, bound, .. }) => {
                number(&agreement, "max", max, Rule::NonNegative)?;
                number(&agreement, "bound", bound, Rule::NonNegative)?;
            }
            Some(Agreement::PriceGap {
                gap,
                bound,
                std_error,
                ..
            }) => {
                number(&agreement, "gap", gap, Rule::NonNegative)?;
                number(&agreement, "bound", bound, Rule::NonNegative)?;
                number(&agreement, "std_error", std_error, Rule::NonNegative)?;
            }
            Some(Agreement::Draws { .. }) | None => {}
        }
        if let Some(Bound::Memory { cpu, gpu }) = &self.bound {
            let bound = field(at, "bound");
            for (name, share) in [("cpu", cpu), ("gpu", gpu)] {
                if let Some(s) = share {
                    let at = field(&bound, name);
                    number(&at, "fraction", s.fraction, Rule::Measured)?;
                    number(&at, "ceiling_gbs", s.ceiling_gbs, Rule::Measured)?;
                }
            }
        }
        Ok(())
    }
}

impl Plausible for Sweep {
    fn plausible(&self, at: &str) -> Checked {
        each(at, "ceilings", &self.ceilings)?;
        if let Some(n) = self.break_even_n {
            count(at, "break_even_n", n as u64)?;
        }
        self.memory_wall.plausible(&field(at, "memory_wall"))?;
        each(at, "scaling", &self.scaling)
    }
}

impl Plausible for Ceiling {
    fn plausible(&self, at: &str) -> Checked {
        number(at, "bandwidth_gbs", self.bandwidth_gbs, Rule::Measured)?;
        number(at, "compute_gflops", self.compute_gflops, Rule::Measured)?;
        number(at, "ridge", self.ridge, Rule::Measured)?;
        if let Some(n) = self.n {
            count(at, "n", n as u64)?;
        }
        Ok(())
    }
}

impl Plausible for MemoryWall {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "threads", self.threads as u64)?;
        number(at, "gbs", self.gbs, Rule::Measured)?;
        number(
            at,
            "fraction_of_best",
            self.fraction_of_best,
            Rule::Measured,
        )
    }
}

impl Plausible for BackendScaling {
    fn plausible(&self, at: &str) -> Checked {
        count(at, "working_set_bytes", self.working_set_bytes)?;
        match self.scaling {
            Scaling::MemoryWall {
                threads,
                gbs,
                fraction_of_best,
            } => {
                count(at, "threads", threads as u64)?;
                number(at, "gbs", gbs, Rule::Measured)?;
                number(at, "fraction_of_best", fraction_of_best, Rule::Measured)
            }
            Scaling::StillScaling {
                threads,
                efficiency,
            } => {
                count(at, "threads", threads as u64)?;
                number(at, "efficiency", efficiency, Rule::Measured)
            }
            Scaling::InCache { .. } | Scaling::NearCache | Scaling::NotEnoughPoints { .. } => {
                Ok(())
            }
        }
    }
}

/// `compare` rows before version 3, which named their kernel in words and kept their agreement
/// and bound as prose: the kernel is parsed back into a [`Compared`], the rates and the verdict
/// carry over, the prose does not (no number can be read out of it faithfully).
mod legacy {
    use serde::Deserialize;
    use serde_json::Value;

    use crate::model::{Bound, CompareRow, Compared, GpuPath, OptionKind, StreamKernel, Unit};

    #[derive(Deserialize)]
    struct Row {
        kernel: String,
        unit: Unit,
        engine: Option<f64>,
        rayon: Option<f64>,
        gpu_kernel: Option<f64>,
        gpu_end_to_end: Option<f64>,
        gpu_over_engine: Option<f64>,
        agrees: bool,
        bound: String,
    }

    /// Rewrites the document's `compare` rows, if any, in place.
    pub(super) fn compare_rows(doc: &mut Value) -> Result<(), String> {
        let Some(rows) = doc.get_mut("compare").and_then(Value::as_array_mut) else {
            return Ok(());
        };
        for (i, v) in rows.iter_mut().enumerate() {
            let old = Row::deserialize(&*v).map_err(|e| format!("compare[{i}]: {e}"))?;
            let of = compared(&old.kernel)
                .ok_or_else(|| format!("compare[{i}].kernel = {:?}: no such row", old.kernel))?;
            let bound = if old.bound.starts_with("memory") {
                Some(Bound::Memory {
                    cpu: None,
                    gpu: None,
                })
            } else if old.bound.starts_with("compute") {
                Some(Bound::Compute)
            } else {
                None
            };
            let row = CompareRow {
                of,
                unit: old.unit,
                engine: old.engine,
                rayon: old.rayon,
                gpu_kernel: old.gpu_kernel,
                gpu_end_to_end: old.gpu_end_to_end,
                gpu_over_engine: old.gpu_over_engine,
                agrees: old.agrees,
                agreement: None,
                bound,
            };
            *v = serde_json::to_value(row).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// "triad", "philox + normals", "asian-call 52 steps", "european-call 1 step, native" or
    /// (version 1) "european-call (1 steps)".
    fn compared(kernel: &str) -> Option<Compared> {
        if kernel == "philox + normals" {
            return Some(Compared::Rng);
        }
        if let Some(&k) = StreamKernel::ALL.iter().find(|k| k.name() == kernel) {
            return Some(Compared::Stream { kernel: k });
        }
        let (option_steps, path) = match kernel.split_once(", ") {
            Some((os, p)) => (os, Some(p)),
            None => (kernel, None),
        };
        let (option, steps) = option_steps.split_once(' ')?;
        // Version 1 wrote "european-call (1 steps)".
        let steps = steps.trim_start_matches('(').trim_end_matches(')');
        let steps = steps
            .strip_suffix(" steps")
            .or_else(|| steps.strip_suffix(" step"))?
            .parse()
            .ok()?;
        let gpu_path = match path {
            None => None,
            Some(p) => Some(
                [GpuPath::Mirror, GpuPath::Native]
                    .into_iter()
                    .find(|g| g.name() == p)?,
            ),
        };
        Some(Compared::Option {
            option: OptionKind::ALL.into_iter().find(|o| o.name() == option)?,
            steps,
            gpu_path,
        })
    }
}
