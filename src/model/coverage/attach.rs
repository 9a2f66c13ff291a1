//! Attaching what the sweeps found: the earlier rules met in every cell become each rule's
//! [`RuleCoverage::covered_by`] and [`RuleCoverage::first_covering`].
//!
//! [`RuleCoverage::covered_by`]: super::RuleCoverage::covered_by
//! [`RuleCoverage::first_covering`]: super::RuleCoverage::first_covering

use crate::model::{Chain, Packet};

use super::cells::Groups;
use super::Coverage;

/// An earlier rule that owns part of a rule's traffic in a cell, from `port` of `slot` on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Covering {
    pub(super) rule: u32,
    pub(super) owner: u32,
    pub(super) cell: u32,
    pub(super) port: u32,
    pub(super) slot: u8,
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
            .map(|(k, c)| (c.rule as usize, k))
    });
    // `met_by[owner]` is the last rule (plus one) found covered by `owner`: within a rule's
    // group, in the order found, an owner's first meeting is the one that counts.
    let mut met_by = vec![0u32; chain.rules.len()];
    for (rule, found) in result.rules.iter_mut().enumerate() {
        let group = by_rule.get(rule);
        if group.is_empty() {
            continue;
        }
        let mut owners: Vec<usize> = Vec::new();
        // The first owner of each verdict in rule order, with the covering where it was met
        // first.
        let mut firsts: Vec<(usize, &Covering)> = Vec::new();
        for &k in group {
            let c = coverings.get(k as usize);
            let owner = c.owner as usize;
            if met_by[owner] == rule as u32 + 1 {
                continue;
            }
            met_by[owner] = rule as u32 + 1;
            owners.push(owner);
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
        owners.sort_unstable();
        firsts.sort_unstable_by_key(|&(i, _)| i);
        let firsts = firsts.into_iter().map(|(i, c)| (i, packet(c))).collect();
        found.add_covering(chain, owners, firsts);
    }
}

/// The coverings found by one or two threads, in the order found: the second thread's cells
/// follow the first's.
#[derive(Clone, Copy)]
pub(super) struct Found<'a> {
    pub(super) first: &'a [Covering],
    pub(super) second: &'a [Covering],
}

impl<'a> Found<'a> {
    fn iter(self) -> impl Iterator<Item = &'a Covering> {
        self.first.iter().chain(self.second)
    }

    fn get(self, k: usize) -> &'a Covering {
        match k.checked_sub(self.first.len()) {
            None => &self.first[k],
            Some(k) => &self.second[k],
        }
    }
}
