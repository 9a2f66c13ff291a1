//! Attaching what the sweeps found: the earlier rules met in every cell become each rule's
//! [`RuleCoverage::covered_by`] and [`RuleCoverage::first_covering`].
//!
//! [`RuleCoverage::covered_by`]: super::RuleCoverage::covered_by
//! [`RuleCoverage::first_covering`]: super::RuleCoverage::first_covering

use crate::model::{Chain, IntervalSet, Packet};

use super::cells::Groups;
use super::Coverage;

/// An earlier rule that owns part of a rule's traffic in a cell, from `port` of `slot` on; or,
/// with `column`, the earlier rules of a [`Column`] (`owner` is its index), one in each cell of
/// a batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Covering {
    pub(super) rule: u32,
    pub(super) owner: u32,
    pub(super) column: bool,
    pub(super) cell: u32,
    pub(super) port: u32,
    pub(super) slot: u8,
}

/// Rules with the same traffic and verdict that each cover a rule in a cell of their own (the
/// denies of a block list, each covering every later rule of its address's cell).
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) owners: IntervalSet<u32>,
    /// The first of them, and the cell where it covers.
    pub(super) first: u32,
    pub(super) cell: u32,
}

/// What one thread's sweeps found about coverings, in the order found.
#[derive(Debug, Default)]
pub(super) struct Swept {
    pub(super) coverings: Vec<Covering>,
    pub(super) columns: Vec<Column>,
}

/// Fills [`RuleCoverage::covered_by`] and [`RuleCoverage::first_covering`] from the coverings
/// found, in the order found: each covering rule once, and for the first of each verdict the
/// packet where it was met first. Recording every meeting in a flat list and sorting it once costs
/// far less than a map lookup per meeting on chains where rules overlap a lot, and only a handful
/// of packets per rule are ever built.
///
/// [`RuleCoverage::covered_by`]: super::RuleCoverage::covered_by
/// [`RuleCoverage::first_covering`]: super::RuleCoverage::first_covering
pub(super) fn attach_coverings(
    chain: &Chain,
    result: &mut Coverage,
    coverings: Found,
    packet: impl Fn(&Covering) -> Packet,
) {
    // Each rule's coverings, in the order found.
    let by_rule = Groups::new(result.rules.len(), || {
        (0u32..)
            .zip(coverings.iter())
            .map(|(k, (c, _))| (c.rule as usize, k))
    });
    // `met_by[owner]` is the last rule (plus one) found covered by `owner`: within a rule's
    // group, in the order found, an owner's first meeting is the one that counts.
    let mut met_by = vec![0u32; chain.rules.len()];
    let mut owners: Vec<(u32, u32)> = Vec::new();
    for (rule, found) in result.rules.iter_mut().enumerate() {
        let group = by_rule.get(rule);
        if group.is_empty() {
            continue;
        }
        owners.clear();
        // The first owner of each verdict in rule order, with the covering where it was met
        // first.
        let mut firsts: Vec<(usize, &Covering)> = Vec::new();
        for &k in group {
            let (c, columns) = coverings.get(k as usize);
            let owner = if c.column {
                let column = &columns[c.owner as usize];
                owners.extend_from_slice(column.owners.ranges());
                column.first as usize
            } else {
                let owner = c.owner as usize;
                if met_by[owner] == rule as u32 + 1 {
                    continue;
                }
                met_by[owner] = rule as u32 + 1;
                owners.push((c.owner, c.owner));
                owner
            };
            let verdict = chain.rules[owner].verdict;
            match firsts
                .iter_mut()
                .find(|(i, _)| chain.rules[*i].verdict == verdict)
            {
                Some(first) if first.0 > owner => *first = (owner, c),
                Some(_) => {}
                None => firsts.push((owner, c)),
            }
        }
        firsts.sort_unstable_by_key(|&(i, _)| i);
        let firsts = firsts.into_iter().map(|(i, c)| (i, packet(c))).collect();
        found.add_covering(chain, IntervalSet::from_ranges(owners.drain(..)), firsts);
    }
}

/// The coverings found by one or two threads, in the order found: the second thread's cells
/// follow the first's.
#[derive(Clone, Copy)]
pub(super) struct Found<'a> {
    pub(super) first: &'a Swept,
    pub(super) second: &'a Swept,
}

impl<'a> Found<'a> {
    /// Every covering, with the columns it may refer to.
    fn iter(self) -> impl Iterator<Item = (&'a Covering, &'a [Column])> {
        let part = |s: &'a Swept| s.coverings.iter().map(move |c| (c, s.columns.as_slice()));
        part(self.first).chain(part(self.second))
    }

    fn get(self, k: usize) -> (&'a Covering, &'a [Column]) {
        match k.checked_sub(self.first.coverings.len()) {
            None => (&self.first.coverings[k], &self.first.columns),
            Some(k) => (&self.second.coverings[k], &self.second.columns),
        }
    }
}
