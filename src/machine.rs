//! Facts about the machine a run happened on, recorded next to every result: CPU model, cores,
//! caches (from /sys), memory, transparent huge pages, and the load when the run started.

use std::fs;

use core_affinity::CoreId;
use serde::{Deserialize, Serialize};
use sysinfo::System;

use crate::results::MemoryLevel;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cache {
    pub level: u32,
    /// "Data", "Instruction" or "Unified".
    pub kind: String,
    pub size_bytes: u64,
    /// CPUs sharing this cache, as /sys writes it ("0-1").
    pub shared_cpus: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Machine {
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub cpu_model: String,
    pub logical_cpus: usize,
    /// CPUs this process may run on (its affinity mask when it started).
    pub allowed_cpus: Vec<usize>,
    /// CPU 0's caches.
    pub caches: Vec<Cache>,
    pub memory_total_bytes: u64,
    pub memory_available_bytes: u64,
    /// /sys/kernel/mm/transparent_hugepage/enabled, the bracketed mode ("madvise", "always", "never").
    pub transparent_hugepages: String,
    /// 1, 5 and 15 minute load averages when the run started: a loaded machine gives low numbers.
    pub load_average: [f64; 3],
}

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

impl Machine {
    /// The data (or unified) caches of each level that `cores` cores use together: per level, its
    /// size times the instances those cores span (a cache shared by 8 CPUs counts once per 8
    /// cores), smallest level first. CPU 0's caches stand for every core's.
    fn cache_capacity(&self, cores: usize) -> Vec<(u32, u64)> {
        let mut levels: Vec<(u32, u64)> = self
            .caches
            .iter()
            .filter(|c| c.kind != "Instruction" && c.size_bytes > 0)
            .map(|c| {
                let sharing = cpu_count(&c.shared_cpus).max(1);
                (
                    c.level,
                    c.size_bytes * cores.max(1).div_ceil(sharing) as u64,
                )
            })
            .collect();
        levels.sort();
        levels
    }

    /// The smallest cache level whose capacity over `cores` cores holds `bytes`, or DRAM.
    pub fn level_holding(&self, bytes: u64, cores: usize) -> MemoryLevel {
        self.cache_capacity(cores)
            .into_iter()
            .find(|&(_, capacity)| bytes <= capacity)
            .map_or(MemoryLevel::Dram, |(level, _)| match level {
                1 => MemoryLevel::L1,
                2 => MemoryLevel::L2,
                _ => MemoryLevel::L3,
            })
    }

    /// The last-level cache `cores` cores share among them, in bytes (0 when unknown).
    pub fn llc_bytes(&self, cores: usize) -> u64 {
        self.cache_capacity(cores)
            .last()
            .map_or(0, |&(_, capacity)| capacity)
    }
}

/// CPUs in a /sys CPU list ("0-3,8-11" is 8).
fn cpu_count(list: &str) -> usize {
    list.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| match part.trim().split_once('-') {
            Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 1,
            },
            None => 1,
        })
        .sum()
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
    fn levels_count_shared_caches_once_per_group() {
        let cache = |level, size_bytes, shared: &str| Cache {
            level,
            kind: "Data".into(),
            size_bytes,
            shared_cpus: shared.into(),
        };
        let m = Machine {
            caches: vec![
                cache(1, 32 << 10, "0"),
                cache(2, 1 << 20, "0"),
                cache(3, 32 << 20, "0-7"),
            ],
            ..Machine::default()
        };
        assert_eq!(cpu_count("0-7"), 8);
        assert_eq!(cpu_count("0,2,4-5"), 4);
        assert_eq!(m.level_holding(16 << 10, 1), MemoryLevel::L1);
        assert_eq!(m.level_holding(2 << 20, 1), MemoryLevel::L3);
        // Two cores have two private L2s.
        assert_eq!(m.level_holding(2 << 20, 2), MemoryLevel::L2);
        assert_eq!(m.level_holding(48 << 20, 8), MemoryLevel::Dram);
        // 16 cores span two L3 groups.
        assert_eq!(m.llc_bytes(16), 64 << 20);
        assert_eq!(m.level_holding(48 << 20, 16), MemoryLevel::L3);
    }

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("32K"), Some(32 << 10));
        assert_eq!(parse_cache_size("8192K"), Some(8 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
        assert_eq!(parse_cache_size("12"), Some(12));
        assert_eq!(parse_cache_size("3X"), None);
    }
}
