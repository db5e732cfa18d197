//! The hardware a run happened on, as documents record it: the host's CPU, caches and memory,
//! and the GPU adapter. Plain data; `crate::machine` and `crate::gpu` fill it in.

use serde::{Deserialize, Serialize};

use super::vocab::MemoryLevel;

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

/// The limits that decide what HexPylot can run on an adapter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsSummary {
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub min_storage_buffer_offset_alignment: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    /// 0 in documents written before the launch tuner.
    pub max_compute_workgroup_size_x: u32,
}

/// One adapter as `devices` and the reports show it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub timestamp_queries: bool,
    pub shader_f64: bool,
    /// 64-bit integers in shaders (the native Philox multiply).
    pub shader_int64: bool,
    /// Subgroup operations (the dot product's subgroup reduction), and the subgroup sizes the
    /// adapter may use.
    pub subgroups: bool,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
    pub limits: LimitsSummary,
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
}
