//! Reading result files. HexPylot documents go through the typed results model
//! ([`Document::from_json`], which also reads the previous schema version), so that a document
//! this HexPylot cannot read (malformed, a required field renamed, a newer schema) is an error
//! naming the file rather than rows silently left out. The peers' JSON lines are other programs'
//! output, not this schema: they are read field by field through `serde_json::Value`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ChartError;
use crate::model::Document;

/// Every file, parsed. `file` fields index the caller's file list.
#[derive(Default)]
pub struct Input {
    pub runs: Vec<Run>,
    pub peers: Vec<Peer>,
}

/// One HexPylot document: one run, which every chart draws as series of its own.
pub struct Run {
    pub file: usize,
    /// The document's label, unique among the files charted (see [`unique_names`]) and free of
    /// tabs and line breaks: the series are named after it, in the legends and in the lines
    /// `chart` prints.
    pub name: String,
    /// The document with the rows that failed validation removed: those are never charted.
    pub doc: Document,
}

/// One line of a peer program's output.
pub enum Peer {
    /// A CPU peer at one thread count (`benches/peers/run-cpu-peers.sh`).
    Cpu {
        file: usize,
        name: String,
        threads: f64,
        triad_gbs: Option<f64>,
        mc_paths_per_s: Option<f64>,
    },
    /// A GPU peer (`benches/peers/gpu_peer.py`): no thread count, so its figures become reference levels,
    /// each named after the field's prefix ("cupy", "numba") and the device.
    Gpu {
        file: usize,
        triad_gbs: Vec<(String, f64)>,
        mc_paths_per_s: Vec<(String, f64)>,
    },
}

pub fn read(files: &[PathBuf]) -> Result<Input, ChartError> {
    let mut input = Input::default();
    for (file, path) in files.iter().enumerate() {
        let text = crate::input::read_text(path).map_err(|source| ChartError::Read {
            path: path.clone(),
            source,
        })?;
        if path.extension().is_some_and(|e| e == "jsonl") {
            for (index, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value = serde_json::from_str::<Value>(line)
                    .map_err(|e| malformed(path, index + 1, &e))?;
                input
                    .peers
                    .extend(value.as_object().and_then(|o| peer(file, o)));
            }
            continue;
        }
        // A peer's single line saved as .json is still a peer's line, not a document; anything
        // else is a document, and the results model says what is wrong with it if it is not one.
        let sniffed = serde_json::from_str::<Value>(&text).ok();
        if let Some(object) = sniffed.as_ref().and_then(Value::as_object)
            && object.contains_key("peer")
        {
            input.peers.extend(peer(file, object));
            continue;
        }
        let mut doc = Document::from_json(&text, path)?;
        doc.stream.retain(|r| r.valid);
        doc.mc.retain(|r| r.valid);
        doc.roofline.retain(|r| r.valid);
        doc.transfer.retain(|r| r.valid);
        input.runs.push(Run {
            file,
            name: doc.label.clone(),
            doc,
        });
    }
    unique_names(&mut input.runs, files);
    Ok(input)
}

/// Text fit for a legend and for a field of `chart`'s tab-separated lines: control characters
/// (tabs, line breaks) become spaces, runs of spaces one.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run names on one line, and unique: runs sharing a label (a v1 document's default label is only
/// host, command and size) are told apart by their file name, or by their place among them where
/// even that is shared.
fn unique_names(runs: &mut [Run], files: &[PathBuf]) {
    for run in runs.iter_mut() {
        run.name = one_line(&run.name);
    }
    let labels: Vec<String> = runs.iter().map(|r| r.name.clone()).collect();
    let shared = |name: &str| labels.iter().filter(|l| *l == name).count() > 1;
    let with_file: Vec<String> = runs
        .iter()
        .map(|r| {
            if !shared(&r.name) {
                return r.name.clone();
            }
            let file = files[r.file]
                .file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned());
            format!("{} ({})", r.name, one_line(&file))
        })
        .collect();
    for (i, run) in runs.iter_mut().enumerate() {
        let twins = with_file.iter().filter(|n| **n == with_file[i]).count();
        run.name = if twins > 1 {
            let nth = with_file[..=i]
                .iter()
                .filter(|n| **n == with_file[i])
                .count();
            format!("{} ({nth})", labels[i])
        } else {
            with_file[i].clone()
        };
    }
}

/// serde_json counts lines within the text it was given; in a JSONL file that is always line 1,
/// so the position is restated against the file's own line.
fn malformed(path: &Path, line: usize, e: &serde_json::Error) -> ChartError {
    let own = format!(" at line {} column {}", e.line(), e.column());
    let message = e.to_string();
    let message = message.strip_suffix(&own).unwrap_or(&message);
    ChartError::Malformed {
        path: path.to_path_buf(),
        detail: format!("{message} at line {line} column {}", e.column()),
    }
}

fn num(o: &Map<String, Value>, key: &str) -> Option<f64> {
    o.get(key).and_then(Value::as_f64).filter(|v| v.is_finite())
}

fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(one_line)
}

/// A peer's line: `None` for a peer that was skipped (`"skipped": reason`) or whose result failed
/// its own check (`"valid": false`, e.g. a Monte Carlo price more than 4 standard errors from
/// Black–Scholes), which is never charted. A line without `valid` is taken as it is.
fn peer(file: usize, o: &Map<String, Value>) -> Option<Peer> {
    if o.contains_key("skipped") || o.get("valid").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let name = text(o, "peer");
    if let Some(threads) = num(o, "threads") {
        return Some(Peer::Cpu {
            file,
            name: name.unwrap_or_else(|| "peer".to_string()),
            threads,
            triad_gbs: num(o, "triad_gbs_median").or_else(|| num(o, "triad_gbs")),
            mc_paths_per_s: num(o, "mc_paths_per_s"),
        });
    }
    let device = text(o, "device").or(name);
    // Medians only, as everywhere else in the charts: "…_best" fields are left out.
    let levels = |what: &str, label: &str| -> Vec<(String, f64)> {
        o.iter()
            .filter_map(|(key, value)| {
                let at = key.find(what)?;
                let rest = &key[at + what.len()..];
                if !(rest.is_empty() || rest == "_median") {
                    return None;
                }
                let prefix = key[..at].trim_end_matches('_');
                let who = if prefix.is_empty() {
                    "GPU peer"
                } else {
                    prefix
                };
                let on = device
                    .as_deref()
                    .map_or(String::new(), |d| format!(" on {d}"));
                Some((format!("{who} {label}{on}"), value.as_f64()?))
            })
            .collect()
    };
    Some(Peer::Gpu {
        file,
        triad_gbs: levels("triad_gbs", "triad"),
        mc_paths_per_s: levels("mc_paths_per_s", "Monte Carlo"),
    })
}
