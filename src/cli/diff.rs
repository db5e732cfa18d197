//! `hexpylot diff A.json B.json`: two runs side by side (see [`crate::diff`]).
//!
//! Exit codes: 0 whatever the changes, and when no row matches (a line says so: the files then
//! measured different things, which is no regression); 1 with `--fail-on-regression` when a row
//! regressed; 2 for a file that cannot be read, is not a HexPylot document or is of a newer
//! schema, and for a bad threshold or `--json` location.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use comfy_table::{Cell, ColumnConstraint, ContentArrangement, Table};
use cpu_kernels::stream::Stores;
use serde::Serialize;

use super::{reserve, usage};
use crate::diff::{Caveat, Diff, DiffRow, Kind, Side};
use crate::model::{BUSY_LOAD_PER_CORE, Document, store_kind_name};
use crate::report::{self, new_table, num};
use crate::text::plural;
use crate::{say, tell};

#[derive(Args, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct DiffArgs {
    /// The baseline run.
    a: PathBuf,
    /// The run compared with it.
    b: PathBuf,
    /// A row regressed when B is slower than A by more than this many percent, and by more than
    /// both runs' spread.
    #[arg(long, default_value = "5", value_parser = percent, allow_hyphen_values = true)]
    threshold: f64,
    /// Exit 1 when a row regressed.
    #[arg(long)]
    fail_on_regression: bool,
    /// Write the compared rows as JSON here (atomically; `-` is standard output).
    #[arg(long)]
    #[serde(skip)]
    json: Option<PathBuf>,
}

/// A threshold in percent: finite and not negative.
fn percent(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(v) => Err(format!("must be a finite percentage >= 0, got {v}")),
        Err(_) => Err("expected a percentage such as 5 or 2.5".to_string()),
    }
}

pub(super) fn diff(args: DiffArgs) -> Result<bool> {
    let json = args.json.as_deref().map(reserve).transpose()?;
    if let Some(out) = &json {
        out.refuse_inputs([args.a.as_path(), args.b.as_path()])
            .map_err(|e| usage(e.to_string()))?;
    }
    let read = |path: &Path| Document::read(path).map_err(|e| usage(e.to_string()));
    let (doc_a, doc_b) = (read(&args.a)?, read(&args.b)?);
    let diff = Diff::new(
        Side::of(&args.a, &doc_a),
        &doc_a,
        Side::of(&args.b, &doc_b),
        &doc_b,
        args.threshold,
    );

    say!("A: {}", describe(&diff.a));
    say!("B: {}", describe(&diff.b));
    for caveat in diff.caveats() {
        say!("warning: {}", warning(&diff, &caveat));
    }
    for (name, doc) in [("A", &doc_a), ("B", &doc_b)] {
        for line in report::caveats(doc) {
            say!("note: {name}: {line}");
        }
    }
    if diff.rows.is_empty() {
        say!("no row of A measured the same point as a row of B: nothing to compare");
    } else {
        for kind in [Kind::Stream, Kind::Mc, Kind::Roofline] {
            let rows: Vec<&DiffRow> = diff.rows.iter().filter(|r| r.kind == kind).collect();
            if !rows.is_empty() {
                say!("{}", table(kind, &rows));
            }
        }
        say!("{}", diff.summary());
        say!(
            "change: B's rate over A's (B/A), less 1; above 0, B is faster. faster/slower: |ln(B/A)| exceeds the sum of both runs' spreads (the coefficient of variation of their timed repetitions; half their range over the median where a version-1 document recorded none); otherwise within noise. Rows invalid in either run are never faster or slower. stores: the store kind in A and B, A→B where they differ."
        );
    }
    for (side, rows) in [("A", &diff.only_in_a), ("B", &diff.only_in_b)] {
        if !rows.is_empty() {
            say!(
                "{} only in {side}: {}",
                plural(rows.len(), "row"),
                rows.join(", ")
            );
        }
    }
    if args.fail_on_regression {
        for r in diff.regressions() {
            tell!(
                "FAILED: regression: {}: {} to {} {} ({:+.1}%, past the {}% threshold and the {:.1}% spread)",
                r.what,
                report::rate(r.a),
                report::rate(r.b),
                r.unit,
                r.change_pct,
                diff.threshold_pct,
                100.0 * (r.spread_a + r.spread_b)
            );
        }
    }
    if let Some(out) = json {
        out.commit(&diff.to_json()?)?;
    }
    Ok(!args.fail_on_regression || diff.regressions().next().is_none())
}

/// "label" (file), machine, build and date.
fn describe(side: &Side) -> String {
    let build = match (&side.version, &side.git_commit) {
        (Some(v), Some(c)) => format!("hexpylot {v} ({c})"),
        (Some(v), None) => format!("hexpylot {v}"),
        _ => "hexpylot of unknown version".to_string(),
    };
    let when = side
        .created_utc
        .as_deref()
        .map_or(String::new(), |t| format!(", {t}"));
    format!(
        "{:?} ({}): {} ({}), {build}{when}",
        side.label, side.file, side.hostname, side.cpu_model
    )
}

/// The line after "warning: ".
fn warning(diff: &Diff, caveat: &Caveat) -> String {
    match caveat {
        Caveat::Machines => format!(
            "different machines: A ran on {} ({}), B on {} ({}): the ratios compare the machines as much as the runs",
            diff.a.hostname, diff.a.cpu_model, diff.b.hostname, diff.b.cpu_model
        ),
        Caveat::Commands { a, b } => format!(
            "different commands: A ran `{}`, B `{}`: the rows that match may still have been measured differently",
            a.join(" "),
            b.join(" ")
        ),
        Caveat::Reps(d) => format!(
            "different repetitions on {} (e.g. {}: {} in A, {} in B): their medians and spreads rest on different numbers of runs",
            plural(d.rows, "row"),
            d.first,
            d.a,
            d.b
        ),
        Caveat::Stores(d) => format!(
            "different store kinds on {} (e.g. {}: {} in A, {} in B): their ratios compare the store kinds as much as the runs",
            plural(d.rows, "row"),
            d.first,
            store_kind_name(d.a),
            store_kind_name(d.b)
        ),
        Caveat::Load { a, b } => format!(
            "different load when the runs started: {a:.2} per allowed core in A, {b:.2} in B (busy above {BUSY_LOAD_PER_CORE}): the busier run shared its cores with more other work"
        ),
    }
}

/// At most this many columns: a row name too long for the rest wraps within its cell.
const WIDTH: u16 = 100;

/// The rows of one kind, whose unit the first header names. No column for B/A, which the change
/// already gives, nor for store kinds where no row has one: a row name of 50 characters and
/// more (Monte Carlo's) leaves room for little else in 100 columns.
fn table(kind: Kind, rows: &[&DiffRow]) -> Table {
    let stores = rows
        .iter()
        .any(|r| r.stores_a.is_some() || r.stores_b.is_some());
    let title = match kind {
        Kind::Stream => "stream",
        Kind::Mc => "Monte Carlo",
        Kind::Roofline => "roofline",
    };
    let title = format!("{title} ({})", kind.unit());
    let mut header = vec![title.as_str(), "A", "B", "change", "spread"];
    if stores {
        header.push("stores");
    }
    header.push("mark");
    let mut table = new_table(&header);
    for r in rows {
        // A regression is slower by definition: the shorter word leaves the name its room.
        let mark = if r.regressed {
            "regression"
        } else {
            r.mark.name()
        };
        let mut cells = vec![
            Cell::new(&r.what),
            num(report::rate(r.a)),
            num(report::rate(r.b)),
            num(format!("{:+.1}%", r.change_pct)),
            num(format!("{:.1}%", 100.0 * (r.spread_a + r.spread_b))),
        ];
        if stores {
            cells.push(Cell::new(stores_cell(r.stores_a, r.stores_b)));
        }
        cells.push(Cell::new(mark));
        table.add_row(cells);
    }
    table
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH);
    // Numbers and marks never wrap: only the row's name gives way.
    for column in table.column_iter_mut().skip(1) {
        column.set_constraint(ColumnConstraint::ContentWidth);
    }
    table
}

/// "cached", "cached→streaming" where the kinds differ, "-" for a row that has none.
fn stores_cell(a: Option<Stores>, b: Option<Stores>) -> String {
    let name = |s: Option<Stores>| s.map_or("-", store_kind_name);
    if a == b {
        name(a).to_string()
    } else {
        format!("{}→{}", name(a), name(b))
    }
}
