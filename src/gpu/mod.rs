//! The GPU side: one wgpu context built once, and the kernels as WGSL compute shaders over it.

mod context;
pub mod launch;
mod montecarlo;
mod roofline;
mod stream;
mod transfer;

pub use context::{GpuContext, GpuError, PassTime, STAGING_BYTES, adapters, padded};
pub use launch::{Space, Tuning};
pub use montecarlo::{McGpu, Multiply, NATIVE_DRAW_ERROR, native_path_error};
pub use roofline::{RooflineArray, RooflineGpu};
pub use stream::{GpuArrays, StreamGpu};
pub use transfer::TransferGpu;

/// `HEXPYLOT_REQUIRE_GPU`: whether a GPU that does not run is a failure rather than a skip, for
/// the binary and the tests alike. Unset or empty is false; the usual spellings of true and false
/// are taken (1/0, true/false, yes/no, on/off, in any case); anything else is an error, so that a
/// misspelt requirement never silently turns into none.
pub fn required() -> Result<bool, String> {
    let Some(value) = std::env::var_os("HEXPYLOT_REQUIRE_GPU") else {
        return Ok(false);
    };
    let text = value.to_string_lossy().trim().to_ascii_lowercase();
    match text.as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "HEXPYLOT_REQUIRE_GPU={:?}: expected 1 or 0 (also true/false, yes/no, on/off)",
            value.to_string_lossy()
        )),
    }
}

/// `source` with its one line `marked` replaced by `with`: how the host makes a shader variant
/// (a precision, a vector width). The marked line must be there exactly once: a shader edited
/// under the host would otherwise build an unchanged variant without a word, so every test that
/// builds a module fails on it instead.
pub(crate) fn rewrite(source: &str, marked: &str, with: &str) -> String {
    assert_eq!(
        source.matches(marked).count(),
        1,
        "the shader must hold {marked:?} exactly once for the host to rewrite it"
    );
    source.replacen(marked, with, 1)
}

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

/// One dispatch's share of an array: elements `start..start + len`, bound as one window.
pub(crate) struct Span {
    pub start: u64,
    pub len: u64,
}

/// Elements of `elem` bytes in one full binding window: the largest storage binding, rounded
/// down to an offset the device accepts and a whole number of vec4s.
fn window_elements(ctx: &GpuContext, elem: usize) -> u64 {
    let limits = ctx.limits();
    let elem = elem as u64;
    let align = u64::from(limits.min_storage_buffer_offset_alignment)
        .max(4 * elem)
        .next_multiple_of(4 * elem)
        / elem;
    (limits.max_storage_buffer_binding_size / elem / align * align).max(align)
}

/// Splits `n` elements of `elem` bytes into windows no larger than the device's storage-binding
/// limit, each starting at an offset the device accepts and holding a whole number of vec4s
/// (the last one reaches into the buffer's padding, see [`padded`]).
pub(crate) fn spans_of(ctx: &GpuContext, n: usize, elem: usize) -> Vec<Span> {
    let window = window_elements(ctx, elem);
    let mut spans = Vec::new();
    let mut start = 0u64;
    while start < n as u64 {
        let len = (n as u64 - start).min(window);
        spans.push(Span { start, len });
        start += len;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn a_marked_line_is_rewritten_once() {
        assert_eq!(
            rewrite(
                "alias T = f32;\nfn f() {}",
                "alias T = f32;",
                "alias T = f64;"
            ),
            "alias T = f64;\nfn f() {}"
        );
    }

    #[test]
    #[should_panic(expected = "exactly once")]
    fn a_missing_mark_is_a_bug_not_an_unchanged_variant() {
        rewrite("alias T = f64;", "alias T = f32;", "alias T = f64;");
    }
}
