//! Sets of integers kept as sorted, disjoint, non-adjacent closed intervals.
//!
//! One type serves ports (`u16`), IPv4 addresses (`u32`) and IPv6 addresses (`u128`). Keeping the
//! intervals merged makes equality structural and gives the compiler the fewest set elements.

use std::fmt;

/// An integer type an [`IntervalSet`] can hold.
pub trait Point: Copy + Ord + fmt::Debug {
    const MIN: Self;
    const MAX: Self;
    fn succ(self) -> Self;
    fn pred(self) -> Self;
    /// Number of points in `lo..=hi`, saturating (IPv6 ranges can exceed `u128`).
    fn span_len(lo: Self, hi: Self) -> u128;
}

macro_rules! impl_point {
    ($($t:ty),*) => {$(
        impl Point for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn succ(self) -> Self { self + 1 }
            fn pred(self) -> Self { self - 1 }
            fn span_len(lo: Self, hi: Self) -> u128 {
                (hi as u128 - lo as u128).saturating_add(1)
            }
        }
    )*};
}
impl_point!(u8, u16, u32, u128);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct IntervalSet<T: Point> {
    /// A boxed slice, not a vector: a set is built once and never grown, and each of a million
    /// rules holds eleven of them (seven in its traffic, two in each of its addresses), in the
    /// rule and again in each service it names; a slice is 16 bytes to a vector's 24 and keeps
    /// no spare room.
    ranges: Box<[(T, T)]>,
}

impl<T: Point> fmt::Debug for IntervalSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.ranges.iter().map(|(lo, hi)| lo..=hi))
            .finish()
    }
}

impl<T: Point> IntervalSet<T> {
    pub fn empty() -> Self {
        IntervalSet {
            ranges: Box::new([]),
        }
    }

    pub fn full() -> Self {
        IntervalSet {
            ranges: Box::new([(T::MIN, T::MAX)]),
        }
    }

    pub fn range(lo: T, hi: T) -> Self {
        assert!(lo <= hi, "inverted interval");
        IntervalSet {
            ranges: Box::new([(lo, hi)]),
        }
    }

    /// Builds a set from intervals in any order, overlapping or not.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (T, T)>) -> Self {
        let mut ranges: Vec<(T, T)> = ranges.into_iter().filter(|(lo, hi)| lo <= hi).collect();
        ranges.sort_unstable();
        // Merged in place: `kept` intervals are done, the next one may still grow.
        let mut kept: usize = 0;
        for k in 0..ranges.len() {
            let (lo, hi) = ranges[k];
            match kept.checked_sub(1).map(|last| &mut ranges[last]) {
                Some(last) if last.1 == T::MAX || lo <= last.1.succ() => {
                    if hi > last.1 {
                        last.1 = hi;
                    }
                }
                _ => {
                    ranges[kept] = (lo, hi);
                    kept += 1;
                }
            }
        }
        ranges.truncate(kept);
        // A boxed slice keeps no room to spare: many intervals that merge into few (the rules
        // covering a rule, a net of adjacent prefixes) give back the room of the many.
        IntervalSet {
            ranges: ranges.into_boxed_slice(),
        }
    }

    pub fn ranges(&self) -> &[(T, T)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.ranges.len() == 1 && self.ranges[0] == (T::MIN, T::MAX)
    }

    pub fn contains(&self, point: T) -> bool {
        match self.ranges.binary_search_by(|&(lo, _)| lo.cmp(&point)) {
            Ok(_) => true,
            Err(0) => false,
            Err(i) => self.ranges[i - 1].1 >= point,
        }
    }

    /// The smallest element.
    pub fn first(&self) -> Option<T> {
        self.ranges.first().map(|&(lo, _)| lo)
    }

    /// Number of points, saturating.
    pub fn count(&self) -> u128 {
        self.ranges.iter().fold(0u128, |acc, &(lo, hi)| {
            acc.saturating_add(T::span_len(lo, hi))
        })
    }

    pub fn union(&self, other: &Self) -> Self {
        Self::from_ranges(self.ranges.iter().chain(other.ranges.iter()).copied())
    }

    /// The union of many sets, sorted and merged once (a union at a time would re-sort what
    /// was merged so far at every step).
    pub fn union_all<'a>(sets: impl IntoIterator<Item = &'a Self>) -> Self
    where
        T: 'a,
    {
        Self::from_ranges(sets.into_iter().flat_map(|s| s.ranges.iter().copied()))
    }

    pub fn complement(&self) -> Self {
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        let mut next = Some(T::MIN);
        for &(lo, hi) in &self.ranges {
            if let Some(start) = next {
                if lo > start {
                    out.push((start, lo.pred()));
                }
            }
            next = (hi < T::MAX).then(|| hi.succ());
        }
        if let Some(start) = next {
            out.push((start, T::MAX));
        }
        IntervalSet {
            ranges: out.into_boxed_slice(),
        }
    }

    pub fn intersection(&self, other: &Self) -> Self {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a_lo, a_hi) = self.ranges[i];
            let (b_lo, b_hi) = other.ranges[j];
            let lo = a_lo.max(b_lo);
            let hi = a_hi.min(b_hi);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a_hi < b_hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        IntervalSet {
            ranges: out.into_boxed_slice(),
        }
    }

    pub fn difference(&self, other: &Self) -> Self {
        self.intersection(&other.complement())
    }

    pub fn intersects(&self, other: &Self) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a_lo, a_hi) = self.ranges[i];
            let (b_lo, b_hi) = other.ranges[j];
            if a_lo.max(b_lo) <= a_hi.min(b_hi) {
                return true;
            }
            if a_hi < b_hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }

    pub fn is_subset(&self, other: &Self) -> bool {
        self.difference(other).is_empty()
    }
}

/// The elementary intervals ("atoms") that the boundaries of all `sets` cut the points into: the
/// first point of each, sorted, starting with `T::MIN`; and a function from a point to its atom.
pub(super) struct Atoms<T> {
    pub(super) starts: Vec<T>,
}

impl<T: Point> Atoms<T> {
    pub(super) fn of<'a>(sets: &[&'a IntervalSet<T>]) -> Self
    where
        T: 'a,
    {
        let ranges: usize = sets.iter().map(|set| set.ranges().len()).sum();
        let mut starts: Vec<T> = Vec::with_capacity(1 + 2 * ranges);
        starts.push(T::MIN);
        for set in sets {
            for &(lo, hi) in set.ranges() {
                starts.push(lo);
                if hi < T::MAX {
                    starts.push(hi.succ());
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        Atoms { starts }
    }

    /// The atom holding `point`.
    pub(super) fn of_point(&self, point: T) -> usize {
        match self.starts.binary_search(&point) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// The last point of atom `i`.
    pub(super) fn last(&self, i: usize) -> T {
        self.starts.get(i + 1).map_or(T::MAX, |b| b.pred())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(r: &[(u16, u16)]) -> IntervalSet<u16> {
        IntervalSet::from_ranges(r.iter().copied())
    }

    #[test]
    fn merges_overlapping_and_adjacent() {
        assert_eq!(
            set(&[(5, 9), (1, 3), (4, 4), (20, 30), (25, 26)]).ranges(),
            &[(1, 9), (20, 30)]
        );
        assert_eq!(set(&[(0, 65535), (3, 4)]).ranges(), &[(0, 65535)]);
    }

    #[test]
    fn complement_at_the_edges() {
        assert_eq!(set(&[(0, 10)]).complement().ranges(), &[(11, 65535)]);
        assert_eq!(set(&[(65535, 65535)]).complement().ranges(), &[(0, 65534)]);
        assert!(IntervalSet::<u16>::full().complement().is_empty());
        assert!(IntervalSet::<u128>::empty().complement().is_full());
    }

    fn arb_set() -> impl Strategy<Value = IntervalSet<u16>> {
        prop::collection::vec((0u16..200, 0u16..20), 0..6)
            .prop_map(|v| IntervalSet::from_ranges(v.into_iter().map(|(lo, len)| (lo, lo + len))))
    }

    proptest! {
        #[test]
        fn operations_agree_with_membership(a in arb_set(), b in arb_set(), p in 0u16..230) {
            prop_assert_eq!(a.union(&b).contains(p), a.contains(p) || b.contains(p));
            prop_assert_eq!(a.intersection(&b).contains(p), a.contains(p) && b.contains(p));
            prop_assert_eq!(a.difference(&b).contains(p), a.contains(p) && !b.contains(p));
            prop_assert_eq!(a.complement().contains(p), !a.contains(p));
            prop_assert_eq!(a.intersects(&b), !a.intersection(&b).is_empty());
        }
    }
}
