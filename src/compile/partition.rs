//! First match over port intervals: which rule of a block decides each port.
//!
//! A block of rules that differ only in their ports becomes one verdict map, and a map needs
//! disjoint keys. Sweeping the interval endpoints once gives every maximal run of ports with the
//! same first matching rule in O(n log n), however the rules overlap, so twenty thousand rules
//! cost milliseconds rather than the quadratic time of subtracting each rule from the rest.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Given `(lo, hi, rank)` intervals (a rank may own several disjoint intervals), the disjoint
/// intervals covered by any of them, each with the lowest rank covering it, in port order.
/// Adjacent intervals with the same rank are joined.
pub(super) fn first_match(intervals: &[(u16, u16, usize)]) -> Vec<(u16, u16, usize)> {
    // (position, is_end, rank); ends sort before starts at the same position so a rank ending
    // at p-1 and another starting at p do not overlap.
    let mut events: Vec<(u32, bool, usize)> = Vec::with_capacity(intervals.len() * 2);
    let mut max_rank = 0;
    for &(lo, hi, rank) in intervals {
        debug_assert!(lo <= hi);
        events.push((u32::from(lo), false, rank));
        events.push((u32::from(hi) + 1, true, rank));
        max_rank = max_rank.max(rank);
    }
    events.sort_unstable_by_key(|&(pos, is_end, rank)| (pos, !is_end, rank));

    let mut active = vec![0u32; max_rank + 1];
    let mut heap: BinaryHeap<Reverse<usize>> = BinaryHeap::new();
    let mut out: Vec<(u16, u16, usize)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let pos = events[i].0;
        while i < events.len() && events[i].0 == pos {
            let (_, is_end, rank) = events[i];
            if is_end {
                active[rank] -= 1;
            } else {
                active[rank] += 1;
                heap.push(Reverse(rank));
            }
            i += 1;
        }
        while let Some(&Reverse(top)) = heap.peek() {
            if active[top] > 0 {
                break;
            }
            heap.pop();
        }
        let (Some(&Reverse(winner)), Some(&(next, _, _))) = (heap.peek(), events.get(i)) else {
            continue;
        };
        // `pos` < 65536 here: an interval is active, so some end lies beyond it.
        let lo = pos as u16;
        let hi = (next - 1) as u16;
        match out.last_mut() {
            Some(last) if last.2 == winner && u32::from(last.1) + 1 == pos => last.1 = hi,
            _ => out.push((lo, hi, winner)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn earlier_rank_wins_overlaps() {
        let got = first_match(&[(20, 30, 1), (10, 25, 2), (0, 65535, 3)]);
        assert_eq!(
            got,
            vec![(0, 9, 3), (10, 19, 2), (20, 30, 1), (31, 65535, 3)]
        );
    }

    #[test]
    fn edges_and_adjacency() {
        assert_eq!(first_match(&[(65535, 65535, 0)]), vec![(65535, 65535, 0)]);
        assert_eq!(first_match(&[(0, 4, 0), (5, 9, 0)]), vec![(0, 9, 0)]);
        assert_eq!(
            first_match(&[(0, 4, 0), (6, 9, 0)]),
            vec![(0, 4, 0), (6, 9, 0)]
        );
        assert!(first_match(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn agrees_with_a_scan(
            raw in prop::collection::vec((0u16..60, 0u16..10, 0usize..6), 0..12),
            port in 0u16..75,
        ) {
            let intervals: Vec<_> = raw.iter().map(|&(lo, len, r)| (lo, lo + len, r)).collect();
            let expected = intervals
                .iter()
                .filter(|&&(lo, hi, _)| lo <= port && port <= hi)
                .map(|&(_, _, r)| r)
                .min();
            let parts = first_match(&intervals);
            let got = parts
                .iter()
                .find(|&&(lo, hi, _)| lo <= port && port <= hi)
                .map(|&(_, _, r)| r);
            prop_assert_eq!(got, expected);
            for w in parts.windows(2) {
                prop_assert!(w[0].1 < w[1].0);
            }
        }
    }
}
