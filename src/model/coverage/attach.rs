//! Attaching what the sweeps found: the earlier rules met in every cell become each rule's
//! [`RuleCoverage::covered_by`] and [`RuleCoverage::first_covering`].
//!
//! [`RuleCoverage::covered_by`]: super::RuleCoverage::covered_by
//! [`RuleCoverage::first_covering`]: super::RuleCoverage::first_covering

use foldhash::HashMap;

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
    // The columns covering a rule, as (thread, index); many rules are covered by the same
    // columns (every rule after a block list by all of its denies), whose union is made once.
    let mut columns_met: Vec<(u8, u32)> = Vec::new();
    let mut unions: HashMap<Vec<(u8, u32)>, IntervalSet<u32>> = HashMap::default();
    for (rule, found) in result.rules.iter_mut().enumerate() {
        let group = by_rule.get(rule);
        if group.is_empty() {
            continue;
        }
        owners.clear();
        columns_met.clear();
        // The first owner of each verdict in rule order, with the covering where it was met
        // first.
        let mut firsts: Vec<(usize, &Covering)> = Vec::new();
        for &k in group {
            let (c, part, columns) = coverings.get(k as usize);
            let owner = if c.column {
                columns_met.push((part, c.owner));
                columns[c.owner as usize].first as usize
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
        if !columns_met.is_empty() {
            columns_met.sort_unstable();
            columns_met.dedup();
            let union = unions.entry(columns_met.clone()).or_insert_with(|| {
                IntervalSet::union_all(
                    columns_met
                        .iter()
                        .map(|&(part, k)| &coverings.columns(part)[k as usize].owners),
                )
            });
            owners.extend_from_slice(union.ranges());
        }
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

    /// Covering `k`, which thread found it, and that thread's columns.
    fn get(self, k: usize) -> (&'a Covering, u8, &'a [Column]) {
        match k.checked_sub(self.first.coverings.len()) {
            None => (&self.first.coverings[k], 0, &self.first.columns),
            Some(k) => (&self.second.coverings[k], 1, &self.second.columns),
        }
    }

    /// The columns thread `part` found.
    fn columns(self, part: u8) -> &'a [Column] {
        if part == 0 {
            &self.first.columns
        } else {
            &self.second.columns
        }
    }
}
