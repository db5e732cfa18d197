//! The few words and numbers every layer writes the same way: counts of things, sizes as the
//! command line takes them, and bytes in binary units.

/// "1 thread", "2 threads".
pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A size as the command line takes it: "2^25" for a power of two from 2^10 on (below, the
/// number reads as easily), else the number in full.
pub fn count(n: u64) -> String {
    if n.is_power_of_two() && n >= 1 << 10 {
        format!("2^{}", n.trailing_zeros())
    } else {
        n.to_string()
    }
}

/// Bytes in binary units, one decimal: "4.0 KiB", "1.0 GiB".
pub fn human_bytes(bytes: u128) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}
