//! A map from every port (`0..=65535`) to a value, stored as runs of equal values.
//!
//! The coverage sweep asks "who owns each part of `lo..=hi`" and "give `lo..=hi` to this rule"
//! once per rule and cell, hundreds of thousands of times on large policies. Runs are kept as a
//! bitset of run starts (with a summary bitset of non-empty words, so finding the next or previous
//! start is a few word operations) and the value of each run at its start. Every operation costs
//! a constant number of word scans plus one step per run visited; nothing allocates after
//! [`RunMap::new`], and [`RunMap::reset`] makes a map reusable for the next cell.

const PORTS: usize = 1 << 16;
const WORDS: usize = PORTS / 64;
const SUMMARY: usize = WORDS / 64;
const LAST: u32 = (PORTS - 1) as u32;

pub(super) struct RunMap {
    /// Bit `p` is set when a run starts at port `p`; bit 0 is always set.
    starts: Box<[u64; WORDS]>,
    /// Bit `w` is set when `starts[w]` is not zero.
    summary: [u64; SUMMARY],
    /// The value of the run starting at `p`, meaningful where bit `p` of `starts` is set.
    values: Box<[u32]>,
}

impl RunMap {
    /// A map giving every port `value`.
    pub(super) fn new(value: u32) -> Self {
        let mut map = RunMap {
            starts: Box::new([0; WORDS]),
            summary: [0; SUMMARY],
            values: vec![0; PORTS].into_boxed_slice(),
        };
        map.reset(value);
        map
    }

    /// Gives every port `value` again.
    pub(super) fn reset(&mut self, value: u32) {
        let one_run = self.starts[0] == 1
            && self.summary[0] == 1
            && self.summary[1..].iter().all(|&w| w == 0);
        if one_run && self.values[0] == value {
            return; // one run already, with that value: nothing to clear
        }
        self.clear_range(0, LAST);
        self.set(0, value);
    }

    /// Calls `f(lo, hi, value)` for each run of `lo..=hi` (clipped to it), in port order.
    pub(super) fn visit(&self, lo: u32, hi: u32, mut f: impl FnMut(u32, u32, u32)) {
        let mut start = self.start_at_or_before(lo);
        loop {
            let end = self.next_start(start + 1).map_or(LAST, |next| next - 1);
            f(start.max(lo), end.min(hi), self.values[start as usize]);
            if end >= hi {
                return;
            }
            start = end + 1;
        }
    }

    /// Gives `lo..=hi` the value `value`, merging it with equal neighbours.
    pub(super) fn assign(&mut self, lo: u32, hi: u32, value: u32) {
        debug_assert!(lo <= hi && hi <= LAST);
        // The run after the range keeps its value from where the range ends.
        let after = (hi < LAST).then(|| {
            let value_after = self.values[self.start_at_or_before(hi + 1) as usize];
            (hi + 1, value_after)
        });
        self.clear_range(lo, hi);
        match after {
            Some((next, v)) if v == value => self.clear(next),
            Some((next, v)) => self.set(next, v),
            None => {}
        }
        if lo > 0 && self.values[self.start_at_or_before(lo - 1) as usize] == value {
            self.clear(lo);
        } else {
            self.set(lo, value);
        }
    }

    /// The runs with their values, in port order.
    pub(super) fn runs(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        let mut next = Some(0);
        std::iter::from_fn(move || {
            let start = next?;
            next = self.next_start(start + 1);
            let end = next.map_or(LAST, |n| n - 1);
            Some((start, end, self.values[start as usize]))
        })
    }

    fn set(&mut self, port: u32, value: u32) {
        let w = port as usize / 64;
        self.starts[w] |= 1 << (port % 64);
        self.summary[w / 64] |= 1 << (w % 64);
        self.values[port as usize] = value;
    }

    fn clear(&mut self, port: u32) {
        let w = port as usize / 64;
        self.starts[w] &= !(1 << (port % 64));
        if self.starts[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
    }

    /// Clears the start bits of `lo..=hi`, visiting only the words that hold some.
    fn clear_range(&mut self, lo: u32, hi: u32) {
        let (lw, hw) = (lo as usize / 64, hi as usize / 64);
        let mut from = lw;
        while let Some(w) = self.next_word(from) {
            if w > hw {
                return;
            }
            let mut mask = u64::MAX;
            if w == lw {
                mask &= u64::MAX << (lo % 64);
            }
            if w == hw {
                mask &= u64::MAX >> (63 - hi % 64);
            }
            self.starts[w] &= !mask;
            if self.starts[w] == 0 {
                self.summary[w / 64] &= !(1 << (w % 64));
            }
            from = w + 1;
        }
    }

    /// The first word at or after `from` that holds a run start.
    fn next_word(&self, from: usize) -> Option<usize> {
        if from >= WORDS {
            return None;
        }
        let mut s = from / 64;
        let mut summary = self.summary[s] & (u64::MAX << (from % 64));
        loop {
            if summary != 0 {
                return Some(s * 64 + summary.trailing_zeros() as usize);
            }
            s += 1;
            if s == SUMMARY {
                return None;
            }
            summary = self.summary[s];
        }
    }

    /// The first run start at or after `port`.
    fn next_start(&self, port: u32) -> Option<u32> {
        if port > LAST {
            return None;
        }
        let w = port as usize / 64;
        let bits = self.starts[w] & (u64::MAX << (port % 64));
        if bits != 0 {
            return Some((w * 64) as u32 + bits.trailing_zeros());
        }
        let word = self.next_word(w + 1)?;
        Some((word * 64) as u32 + self.starts[word].trailing_zeros())
    }

    /// The start of the run holding `port` (bit 0 is always set, so there is one).
    fn start_at_or_before(&self, port: u32) -> u32 {
        let w = port as usize / 64;
        let bits = self.starts[w] & (u64::MAX >> (63 - port % 64));
        if bits != 0 {
            return (w * 64) as u32 + 63 - bits.leading_zeros();
        }
        let mut s = w / 64;
        // Words of this summary word strictly before `w`.
        let mut summary = self.summary[s] & ((1u64 << (w % 64)) - 1);
        loop {
            if summary != 0 {
                let word = s * 64 + 63 - summary.leading_zeros() as usize;
                return (word * 64) as u32 + 63 - self.starts[word].leading_zeros();
            }
            debug_assert!(s > 0, "bit 0 is always set");
            s -= 1;
            summary = self.summary[s];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GAP: u32 = u32::MAX;

    fn runs(map: &RunMap) -> Vec<(u32, u32, u32)> {
        map.runs().collect()
    }

    #[test]
    fn assigns_split_and_merge_runs() {
        let mut m = RunMap::new(GAP);
        m.assign(10, 20, 1);
        m.assign(30, 40, 2);
        m.assign(15, 35, 3);
        let mut seen = Vec::new();
        m.visit(0, 50, |lo, hi, v| seen.push((lo, hi, v)));
        assert_eq!(
            seen,
            vec![
                (0, 9, GAP),
                (10, 14, 1),
                (15, 35, 3),
                (36, 40, 2),
                (41, 50, GAP)
            ]
        );
        m.assign(36, 40, 3);
        m.assign(0, 9, 1);
        assert_eq!(runs(&m), vec![(0, 14, 1), (15, 40, 3), (41, LAST, GAP)]);
        m.assign(0, LAST, 7);
        assert_eq!(runs(&m), vec![(0, LAST, 7)]);
        m.reset(GAP);
        assert_eq!(runs(&m), vec![(0, LAST, GAP)]);
        // A map whose only other run is far up is not mistaken for a map of one run.
        m.assign(50_000, 50_010, 5);
        m.reset(GAP);
        assert_eq!(runs(&m), vec![(0, LAST, GAP)]);
        m.assign(LAST, LAST, 4);
        m.assign(0, 0, 4);
        assert_eq!(
            runs(&m),
            vec![(0, 0, 4), (1, LAST - 1, GAP), (LAST, LAST, 4)]
        );
    }

    proptest! {
        /// Agrees with a plain array of 65536 values after any sequence of assignments, and keeps
        /// runs maximal.
        #[test]
        fn matches_an_array(ops in proptest::collection::vec(
            (0u32..=LAST, 0u32..3000, 0u32..4, any::<bool>()), 1..60)
        ) {
            let mut map = RunMap::new(GAP);
            let mut array = vec![GAP; PORTS];
            for (lo, len, value, wide) in ops {
                // Mostly short ranges, sometimes long ones crossing many words.
                let hi = (lo + if wide { len * 20 } else { len % 70 }).min(LAST);
                map.assign(lo, hi, value);
                array[lo as usize..=hi as usize].fill(value);
                let mut port = 0usize;
                let mut previous = None;
                for (rlo, rhi, v) in map.runs() {
                    prop_assert_eq!(rlo as usize, port);
                    prop_assert!(previous != Some(v), "runs are maximal");
                    prop_assert!(array[rlo as usize..=rhi as usize].iter().all(|&a| a == v));
                    previous = Some(v);
                    port = rhi as usize + 1;
                }
                prop_assert_eq!(port, PORTS);
                let (vlo, vhi) = (lo.saturating_sub(100), (hi + 100).min(LAST));
                let mut next = vlo;
                map.visit(vlo, vhi, |a, b, v| {
                    assert_eq!(a, next);
                    assert!(array[a as usize..=b as usize].iter().all(|&x| x == v));
                    next = b + 1;
                });
                prop_assert_eq!(next, vhi + 1);
            }
        }
    }
}
