//! The static split of an index space among workers.

use std::ops::Range;

/// The `index`-th of `parts` contiguous ranges that together cover `0..n` in order.
///
/// Inner boundaries fall on multiples of `align` elements, so with `align` = elements per cache
/// line and a cache-line-aligned array no two parts share a line (no false sharing between
/// workers, and each worker's first touch places whole lines). The `align`-sized units are dealt
/// out as evenly as possible, extra units going to the last parts, which are the ones that may
/// hold the short final unit: part sizes therefore differ by at most `align` elements. When
/// there are fewer units than parts, the first parts are empty.
///
/// The same arguments always give the same range, which is what lets one phase first-touch the
/// memory that a later phase's worker will process.
///
/// # Panics
///
/// If `index >= parts` or `align == 0`.
pub fn partition(n: usize, parts: usize, index: usize, align: usize) -> Range<usize> {
    assert!(index < parts, "part {index} of {parts}");
    assert!(align > 0, "alignment of 0 elements");
    let units = n.div_ceil(align);
    let (base, extra) = (units / parts, units % parts);
    // The last `extra` parts get one unit more than `base`.
    let first_unit = |part: usize| part * base + part.saturating_sub(parts - extra);
    let boundary = |part: usize| first_unit(part).saturating_mul(align).min(n);
    boundary(index)..boundary(index + 1)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::partition;

    proptest! {
        #[test]
        fn parts_tile_the_range(n in 0usize..100_000, parts in 1usize..70, align in 1usize..20) {
            let ranges: Vec<_> = (0..parts).map(|i| partition(n, parts, i, align)).collect();
            prop_assert_eq!(ranges[0].start, 0);
            prop_assert_eq!(ranges[parts - 1].end, n);
            for pair in ranges.windows(2) {
                // Contiguous and ordered: together with the ends, that is cover and disjointness.
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            for range in &ranges {
                prop_assert!(range.start <= range.end);
                prop_assert!(range.start % align == 0 || range.start == n);
            }
            let sizes = ranges.iter().map(|r| r.len());
            let (min, max) = (sizes.clone().min().unwrap(), sizes.max().unwrap());
            prop_assert!(max - min <= align, "sizes {min}..={max} with align {align}");
        }

        #[test]
        fn huge_ranges_do_not_overflow(parts in 1usize..64, align in 1usize..17) {
            let n = usize::MAX - 3;
            let last = partition(n, parts, parts - 1, align);
            prop_assert_eq!(last.end, n);
            prop_assert_eq!(partition(n, parts, 0, align).start, 0);
        }
    }

    #[test]
    fn tiny_arrays_leave_leading_parts_empty() {
        let ranges: Vec<_> = (0..4).map(|i| partition(20, 4, i, 16)).collect();
        assert_eq!(ranges, [0..0, 0..0, 0..16, 16..20]);
    }
}
