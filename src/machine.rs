//! Facts about the machine a run happened on, recorded next to every result: CPU model, cores,
//! caches (from /sys), memory, transparent huge pages, and the load when the run started.

use std::fs;

use core_affinity::CoreId;
use sysinfo::System;

use crate::model::{Cache, Machine};

impl Machine {
    /// Reads the machine's facts. `allowed` is the process's core list, taken before anything was
    /// pinned (see [`allowed_cores`]).
    pub fn probe(allowed: &[CoreId]) -> Machine {
        // sysinfo can fail where /proc is unreadable; the facts are then recorded as unknown (zero).
        let (total, available) = System::new().map_or((0, 0), |mut sys| {
            sys.refresh_memory();
            (sys.total_memory(), sys.available_memory())
        });
        let load = System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]);
        Machine {
            hostname: hostname(),
            os: System::long_os_version().unwrap_or_default(),
            kernel: System::kernel_version().unwrap_or_default(),
            cpu_model: cpu_model(),
            logical_cpus: std::thread::available_parallelism().map_or(allowed.len(), |n| n.get()),
            allowed_cpus: allowed.iter().map(|c| c.id).collect(),
            caches: caches(),
            memory_total_bytes: total,
            memory_available_bytes: available,
            transparent_hugepages: thp_mode(),
            load_average: load,
        }
    }
}

/// The cores this process may run on. Call it before anything is pinned: `core_affinity` reads the
/// calling thread's own mask, and the engine pins its calling thread.
pub fn allowed_cores() -> Vec<CoreId> {
    core_affinity::get_core_ids().unwrap_or_default()
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn caches() -> Vec<Cache> {
    let mut caches = Vec::new();
    for index in 0.. {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        let read = |f: &str| fs::read_to_string(format!("{dir}/{f}")).map(|s| s.trim().to_string());
        let (Ok(level), Ok(kind), Ok(size)) = (read("level"), read("type"), read("size")) else {
            break;
        };
        caches.push(Cache {
            level: level.parse().unwrap_or(0),
            kind,
            size_bytes: parse_cache_size(&size).unwrap_or(0),
            shared_cpus: read("shared_cpu_list").unwrap_or_default(),
        });
    }
    caches
}

/// /sys writes cache sizes as "32K", "8192K", "1M".
fn parse_cache_size(s: &str) -> Option<u64> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let scale = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    digits.parse::<u64>().ok().map(|d| d * scale)
}

fn thp_mode() -> String {
    fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .ok()
        .and_then(|s| {
            s.split_once('[')
                .and_then(|(_, r)| r.split_once(']'))
                .map(|(mode, _)| mode.to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// This host's name (empty where the system has none).
pub fn hostname() -> String {
    System::host_name().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("32K"), Some(32 << 10));
        assert_eq!(parse_cache_size("8192K"), Some(8 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
        assert_eq!(parse_cache_size("12"), Some(12));
        assert_eq!(parse_cache_size("3X"), None);
    }
}
