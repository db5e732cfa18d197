//! Reading result files into the few facts the charts need. Everything goes through
//! `serde_json::Value` so that documents from older or newer HexPylot versions (fields added or
//! missing) still chart: a row that lacks what a chart needs is left out, never an error.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ChartError;

/// Every file, parsed. `file` fields index the caller's file list.
#[derive(Default)]
pub struct Input {
    pub docs: Vec<Doc>,
    pub peers: Vec<Peer>,
}

/// One HexPylot JSON document.
pub struct Doc {
    pub file: usize,
    pub machine: Machine,
    /// The GPU adapter's name, when the document names one.
    pub gpu: Option<String>,
    pub stream: Vec<StreamRow>,
    pub mc: Vec<McRow>,
    pub roofline: Vec<RooflineRow>,
    pub sweep: Option<Sweep>,
}

#[derive(Clone)]
pub struct Machine {
    pub hostname: String,
    pub cpu_model: String,
    pub logical_cpus: Option<u64>,
    pub caches: Vec<Cache>,
}

#[derive(Clone, PartialEq)]
pub struct Cache {
    pub level: u64,
    pub kind: String,
    pub size_bytes: f64,
}

/// A valid stream row (rows that failed validation are never charted).
pub struct StreamRow {
    pub kernel: String,
    pub backend: String,
    pub threads: f64,
    pub n: f64,
    pub gbs_median: f64,
    /// GPU rows: the same bytes over the host-to-host median time.
    pub end_to_end_gbs: Option<f64>,
}

pub struct McRow {
    pub option: String,
    pub backend: String,
    pub threads: f64,
    pub paths_per_s: f64,
}

pub struct RooflineRow {
    pub backend: String,
    /// FLOP per byte.
    pub intensity: f64,
    pub gflops: f64,
}

pub struct Sweep {
    pub kind: String,
    pub ceilings: Vec<Ceiling>,
    pub break_even_n: Option<f64>,
    pub memory_wall: Option<MemoryWall>,
}

pub struct Ceiling {
    pub backend: String,
    pub bandwidth_gbs: f64,
    pub compute_gflops: f64,
    pub ridge: f64,
}

pub struct MemoryWall {
    pub backend: String,
    pub threads: f64,
    pub gbs: f64,
    pub fraction_of_best: Option<f64>,
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
        let text = std::fs::read_to_string(path).map_err(|source| ChartError::Read {
            path: path.clone(),
            source,
        })?;
        if path.extension().is_some_and(|e| e == "jsonl") {
            for (index, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value = serde_json::from_str::<Value>(line)
                    .map_err(|e| malformed(path, Some(index + 1), &e))?;
                input
                    .peers
                    .extend(value.as_object().and_then(|o| peer(file, o)));
            }
            continue;
        }
        let value = serde_json::from_str::<Value>(&text).map_err(|e| malformed(path, None, &e))?;
        let Some(object) = value.as_object() else {
            continue;
        };
        // A peer's single line saved as .json is still a peer's line, not a document.
        if object.contains_key("peer") {
            input.peers.extend(peer(file, object));
        } else {
            input.docs.push(doc(file, object));
        }
    }
    Ok(input)
}

/// serde_json counts lines within the text it was given; in a JSONL file that is always line 1,
/// so the position is restated against the file's own line.
fn malformed(path: &Path, line: Option<usize>, e: &serde_json::Error) -> ChartError {
    let detail = match line {
        Some(line) => {
            let own = format!(" at line {} column {}", e.line(), e.column());
            let message = e.to_string();
            let message = message.strip_suffix(&own).unwrap_or(&message);
            format!("{message} at line {line} column {}", e.column())
        }
        None => e.to_string(),
    };
    ChartError::Malformed {
        path: path.to_path_buf(),
        detail,
    }
}

fn num(o: &Map<String, Value>, key: &str) -> Option<f64> {
    o.get(key).and_then(Value::as_f64).filter(|v| v.is_finite())
}

fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_string)
}

fn objects<'a>(
    o: &'a Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a Map<String, Value>> {
    o.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// Rows say whether they passed validation; one that says it failed is dropped. A row without the
/// field (hand-made files) is taken as it is.
fn valid(o: &Map<String, Value>) -> bool {
    o.get("valid").and_then(Value::as_bool) != Some(false)
}

fn doc(file: usize, o: &Map<String, Value>) -> Doc {
    let m = o.get("machine").and_then(Value::as_object);
    let machine = Machine {
        hostname: m.and_then(|m| text(m, "hostname")).unwrap_or_default(),
        cpu_model: m
            .and_then(|m| text(m, "cpu_model"))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "unknown CPU".to_string()),
        logical_cpus: m
            .and_then(|m| m.get("logical_cpus"))
            .and_then(Value::as_u64),
        caches: m
            .map(|m| {
                objects(m, "caches")
                    .filter_map(|c| {
                        Some(Cache {
                            level: c.get("level").and_then(Value::as_u64)?,
                            kind: text(c, "kind").unwrap_or_default(),
                            size_bytes: num(c, "size_bytes").filter(|s| *s > 0.0)?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let stream = objects(o, "stream")
        .filter(|r| valid(r))
        .filter_map(|r| {
            let end_to_end_gbs = match (num(r, "bytes_per_rep"), num(r, "end_to_end_s")) {
                (Some(bytes), Some(s)) if s > 0.0 => Some(bytes / s / 1e9),
                _ => None,
            };
            Some(StreamRow {
                kernel: text(r, "kernel")?,
                backend: text(r, "backend")?,
                threads: num(r, "threads").unwrap_or(0.0),
                n: num(r, "n").unwrap_or(0.0),
                gbs_median: num(r, "gbs_median")?,
                end_to_end_gbs,
            })
        })
        .collect();
    let mc = objects(o, "mc")
        .filter(|r| valid(r))
        .filter_map(|r| {
            Some(McRow {
                option: text(r, "option").unwrap_or_else(|| "option".to_string()),
                backend: text(r, "backend")?,
                threads: num(r, "threads").unwrap_or(0.0),
                paths_per_s: num(r, "paths_per_s")?,
            })
        })
        .collect();
    let roofline = objects(o, "roofline")
        .filter(|r| valid(r))
        .filter_map(|r| {
            Some(RooflineRow {
                backend: text(r, "backend")?,
                intensity: num(r, "intensity")?,
                gflops: num(r, "gflops")?,
            })
        })
        .collect();
    let sweep = o.get("sweep").and_then(Value::as_object).map(|s| Sweep {
        kind: text(s, "kind").unwrap_or_default(),
        ceilings: objects(s, "ceilings")
            .filter_map(|c| {
                Some(Ceiling {
                    backend: text(c, "backend")?,
                    bandwidth_gbs: num(c, "bandwidth_gbs")?,
                    compute_gflops: num(c, "compute_gflops")?,
                    ridge: num(c, "ridge")?,
                })
            })
            .collect(),
        break_even_n: num(s, "break_even_n"),
        memory_wall: s
            .get("memory_wall")
            .and_then(Value::as_object)
            .and_then(|w| {
                Some(MemoryWall {
                    backend: text(w, "backend").unwrap_or_default(),
                    threads: num(w, "threads")?,
                    gbs: num(w, "gbs")?,
                    fraction_of_best: num(w, "fraction_of_best"),
                })
            }),
    });
    Doc {
        file,
        machine,
        gpu: o
            .get("gpu")
            .and_then(Value::as_object)
            .and_then(|g| text(g, "name")),
        stream,
        mc,
        roofline,
        sweep,
    }
}

/// A peer's line: `None` for a peer that was skipped (`"skipped": reason`) or whose result failed
/// its own check (`"valid": false`, e.g. a Monte Carlo price more than 4 standard errors from
/// Black–Scholes), which is never charted.
fn peer(file: usize, o: &Map<String, Value>) -> Option<Peer> {
    if o.contains_key("skipped") || !valid(o) {
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
