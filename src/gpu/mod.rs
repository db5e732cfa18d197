//! The GPU side: one wgpu context built once, and the kernels as WGSL compute shaders over it.

mod context;
mod montecarlo;
mod roofline;
mod stream;
mod transfer;

pub use context::{
    AdapterSummary, GpuContext, GpuError, LimitsSummary, PassTime, STAGING_BYTES, adapters,
};
pub use montecarlo::McGpu;
pub use roofline::{RooflineArray, RooflineGpu};
pub use stream::{GpuArrays, StreamGpu};
pub use transfer::TransferGpu;

/// The largest ulp distance tolerated between a GPU and a CPU normal draw.
///
/// Every operation of the WGSL port is exact or correctly rounded, and the shader keeps the
/// compiler from fusing or reassociating additions (`opaque` in `shaders/philox.wgsl`), except
/// `sqrt`: WGSL defines it as `1/inverseSqrt` (2 + 2.5 ulp), so r is off by at most 4.5·2^-23
/// relative. That is at most 9 ulp of z = r·cos, 10 with the product's own rounding; 16 leaves
/// room for a driver that contracts one product anyway. On lavapipe every draw is bit-identical.
pub const NORMAL_ULPS: u64 = 16;

/// Distance in units in the last place: the number of f32 values between `a` and `b` (NaN is
/// far from everything).
pub fn ulp_distance(a: f32, b: f32) -> u64 {
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    let ordered = |x: f32| {
        let i = i64::from(x.to_bits() as i32);
        if i < 0 { i64::from(i32::MIN) - i } else { i }
    };
    ordered(a).abs_diff(ordered(b))
}

/// Invocations per workgroup in every shader (each `.wgsl` declares the same number).
pub const WORKGROUP: u32 = 256;

/// Workgroups for `items` work items of one invocation each, at most `max_groups` (the device's
/// per-dimension limit): a one-dimensional grid that never launches an empty group. When the cap
/// binds, shaders cover the rest with a grid-stride loop.
pub fn groups(items: u64, max_groups: u32) -> u32 {
    items
        .div_ceil(u64::from(WORKGROUP))
        .clamp(1, u64::from(max_groups)) as u32
}

/// One dispatch's share of an array: elements `start..start + len`, bound as one window.
pub(crate) struct Span {
    pub start: u64,
    pub len: u64,
    pub groups: u32,
}

/// Splits `n` elements of `elem` bytes into windows no larger than the device's storage-binding
/// limit, each starting at an offset the device accepts.
pub(crate) fn spans_of(ctx: &GpuContext, n: usize, elem: usize) -> Vec<Span> {
    let limits = ctx.limits();
    let elem = elem as u64;
    let align = u64::from(limits.min_storage_buffer_offset_alignment).max(elem) / elem;
    let window = (limits.max_storage_buffer_binding_size / elem / align * align).max(align);
    let mut spans = Vec::new();
    let mut start = 0u64;
    while start < n as u64 {
        let len = (n as u64 - start).min(window);
        let groups = groups(len, limits.max_compute_workgroups_per_dimension);
        spans.push(Span { start, len, groups });
        start += len;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_never_exceed_the_limit_nor_launch_empty_groups() {
        assert_eq!(groups(1, 65535), 1);
        assert_eq!(groups(256, 65535), 1);
        assert_eq!(groups(257, 65535), 2);
        assert_eq!(groups(1 << 24, 65535), 65535);
        assert_eq!(groups(1 << 40, 65535), 65535);
        for items in [1u64, 255, 256, 257, 65535 * 256, 65535 * 256 + 1] {
            let g = u64::from(groups(items, 65535));
            // Every group has at least one item to process.
            assert!((g - 1) * u64::from(WORKGROUP) < items);
        }
    }
}
