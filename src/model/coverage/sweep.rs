//! The first-match sweep over one cell's rules: who owns each port, which earlier rules each
//! rule meets, and what would decide its packets without it.

use crate::model::run_map::RunMap;
use crate::model::{Chain, Family};

use super::{Detail, SLOTS};

/// In a [`RunMap`]: no owner yet.
const GAP: u32 = u32::MAX;
/// In a [`RunMap`]: the chain's default decides.
pub(super) const DEFAULT: u32 = u32::MAX - 1;

/// Rule `i` as a [`RunMap`] value.
pub(super) fn rule_value(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 - 2 rules")
}

/// What one thread's sweep works with: the ownership maps, one per protocol slot, reused from
/// cell to cell. Their values are positions in the cell's list of rules.
pub(super) struct Maps {
    owners: [RunMap; SLOTS],
    /// Owned pieces whose successor is not known yet (forward sweep), or what decides each port
    /// among the later rules (backward sweep).
    other: [RunMap; SLOTS],
    /// Whether [`Maps::claim`] reports coverings (not for an analysis of winners only).
    record: bool,
    /// The last covering reported in this cell, as (rule, owner): meeting the owner just met
    /// again, in a later piece of the rule, adds nothing.
    last_met: (u32, u32),
}

impl Maps {
    /// A fresh set of maps; the sweep resets the maps it uses at each cell.
    pub(super) fn new(detail: Detail) -> Self {
        Maps {
            owners: std::array::from_fn(|_| RunMap::new(GAP)),
            other: std::array::from_fn(|_| RunMap::new(GAP)),
            record: detail == Detail::Full,
            last_met: (u32::MAX, u32::MAX),
        }
    }

    /// Visits `lo..=hi` of one slot of the cell's ownership map for the rule at `pos`: earlier
    /// owners cover it there, and the gaps, which it wins, go to `gaps`.
    fn claim(
        &mut self,
        pos: u32,
        slot: usize,
        (lo, hi): (u32, u32),
        gaps: &mut Vec<(u32, u32)>,
        found: &mut impl Findings,
    ) {
        gaps.clear();
        let (record, last_met) = (self.record, &mut self.last_met);
        self.owners[slot].visit(lo, hi, |plo, phi, owner| {
            if owner == GAP {
                gaps.push((plo, phi));
            } else if record && *last_met != (pos, owner) {
                *last_met = (pos, owner);
                found.met(pos, owner, slot, example(slot, plo, phi));
            }
        });
        if let Some(&(glo, ghi)) = gaps.first() {
            found.won(pos, slot, example(slot, glo, ghi));
        }
    }
}

/// The value of `lo..=hi` of `slot` to show in an example packet: its first, but port 1 rather
/// than port 0, which no connection uses.
fn example(slot: usize, lo: u32, hi: u32) -> u32 {
    if slot < 4 && lo == 0 && hi >= 1 {
        1
    } else {
        lo
    }
}

/// Where a cell's sweep reports what it finds. Rules are named by their position in the cell's
/// list, so that what one cell found can be replayed for another cell whose rules have the same
/// traffic and verdicts in the same order.
pub(super) trait Findings {
    /// The rule at `pos` decides the packet at `port` of `slot` (found for each piece it wins).
    fn won(&mut self, pos: u32, slot: usize, port: u32);
    /// The earlier rule at `owner` decides packets the rule at `pos` also matches, from `port`
    /// of `slot` on.
    fn met(&mut self, pos: u32, owner: u32, slot: usize, port: u32);
    /// Without the rule at `pos`, some of its packets would be decided by the rule at `next`, or
    /// by the chain's default when `next` is [`DEFAULT`].
    fn succeeded(&mut self, pos: u32, next: u32);
    /// Whether what would decide the packets of the rule at `pos` without it still matters.
    fn wants_successors(&self, pos: u32) -> bool;
}

/// Every rule's traffic as `(slot, lo, hi)` ranges (see [`Transport::slot`]), as packets of one
/// address family can be: without the other family's ICMP. Built once per analysis of a family.
///
/// [`Transport::slot`]: crate::model::Transport::slot
pub(super) struct Pieces {
    all: Vec<(usize, u32, u32)>,
    /// Rule `i`'s pieces are `all[start[i]..start[i + 1]]`.
    start: Vec<usize>,
}

impl Pieces {
    pub(super) fn of(chain: &Chain, family: Family) -> Self {
        let mut all = Vec::new();
        let mut start = Vec::with_capacity(chain.rules.len() + 1);
        let skipped = match family {
            Family::V4 => crate::model::transport::SLOT_ICMPV6,
            Family::V6 => crate::model::transport::SLOT_ICMP,
        };
        for rule in &chain.rules {
            start.push(all.len());
            for slot in (0..SLOTS).filter(|&slot| slot != skipped) {
                all.extend(
                    rule.traffic
                        .slot_ranges(slot)
                        .into_iter()
                        .map(|(lo, hi)| (slot, lo, hi)),
                );
            }
        }
        start.push(all.len());
        Pieces { all, start }
    }
}

impl std::ops::Index<usize> for Pieces {
    type Output = [(usize, u32, u32)];

    fn index(&self, rule: usize) -> &Self::Output {
        &self.all[self.start[rule]..self.start[rule + 1]]
    }
}

impl Chain {
    /// First-match sweep over the rules of one cell, forward for ownership, then backward for
    /// whether each rule changes anything. `pieces[i]` is rule `i`'s traffic as
    /// `(slot, lo, hi)` ranges, computed once per chain. What it finds goes to `found`, by
    /// position in `rules`; nothing it finds depends on anything but the traffic, verdict and
    /// rate limit of each rule in order (see [`TrafficIds`]).
    ///
    /// [`TrafficIds`]: super::replay::TrafficIds
    pub(super) fn sweep_cell(
        &self,
        rules: &[usize],
        pieces: &Pieces,
        detail: Detail,
        maps: &mut Maps,
        found: &mut impl Findings,
    ) {
        for map in maps.owners.iter_mut().chain(&mut maps.other) {
            map.reset(GAP);
        }
        maps.last_met = (u32::MAX, u32::MAX);
        if detail == Detail::Wins {
            self.sweep_cell_wins(rules, pieces, maps, found);
        } else if rules.iter().all(|&i| self.rules[i].is_terminal()) {
            self.sweep_terminal_cell(rules, pieces, maps, found);
        } else {
            self.sweep_cell_both_ways(rules, pieces, maps, found);
        }
    }

    /// The forward sweep alone: which rules win a packet of the cell.
    fn sweep_cell_wins(
        &self,
        rules: &[usize],
        pieces: &Pieces,
        maps: &mut Maps,
        found: &mut impl Findings,
    ) {
        let mut gaps: Vec<(u32, u32)> = Vec::new();
        for (pos, &i) in (0u32..).zip(rules) {
            let terminal = self.rules[i].is_terminal();
            for &(slot, lo, hi) in &pieces[i] {
                maps.claim(pos, slot, (lo, hi), &mut gaps, found);
                if terminal {
                    for &(glo, ghi) in &gaps {
                        maps.owners[slot].assign(glo, ghi, pos);
                    }
                }
            }
        }
    }

    /// The sweep for a cell whose rules all decide for certain (no rate limits), in one pass.
    /// A rule's *successor* on a port it owns, the rule that would decide the port without it,
    /// is the first later rule that covers the port; `pending` holds the owned pieces whose
    /// successor is not known yet, and each port leaves it once.
    fn sweep_terminal_cell(
        &self,
        rules: &[usize],
        pieces: &Pieces,
        maps: &mut Maps,
        found: &mut impl Findings,
    ) {
        let mut gaps: Vec<(u32, u32)> = Vec::new();
        let mut succeeded: Vec<(u32, u32, u32)> = Vec::new();
        for (pos, &i) in (0u32..).zip(rules) {
            for &(slot, lo, hi) in &pieces[i] {
                maps.claim(pos, slot, (lo, hi), &mut gaps, found);
                let Maps {
                    owners,
                    other: pending,
                    ..
                } = &mut *maps;
                // This rule succeeds the owners of the pending pieces it covers.
                succeeded.clear();
                pending[slot].visit(lo, hi, |plo, phi, owner| {
                    if owner != GAP {
                        succeeded.push((plo, phi, owner));
                    }
                });
                for &(plo, phi, owner) in &succeeded {
                    found.succeeded(owner, pos);
                    pending[slot].assign(plo, phi, GAP);
                }
                for &(glo, ghi) in &gaps {
                    owners[slot].assign(glo, ghi, pos);
                    pending[slot].assign(glo, ghi, pos);
                }
            }
        }
        // What no later rule covers falls to the chain's default.
        for map in &maps.other {
            for (_, _, owner) in map.runs() {
                if owner != GAP {
                    found.succeeded(owner, DEFAULT);
                }
            }
        }
    }

    /// The sweep for a cell with rate-limited rules, which win packets without owning them:
    /// forward for ownership, then backward for what decides each rule's packets without it.
    fn sweep_cell_both_ways(
        &self,
        rules: &[usize],
        pieces: &Pieces,
        maps: &mut Maps,
        found: &mut impl Findings,
    ) {
        // Pieces each rule wins in this cell, flat: rule position p owns won[won_at[p]..won_at[p+1]].
        let mut won: Vec<(usize, u32, u32)> = Vec::new();
        let mut won_at: Vec<usize> = Vec::with_capacity(rules.len() + 1);
        let mut gaps: Vec<(u32, u32)> = Vec::new();
        for (pos, &i) in (0u32..).zip(rules) {
            won_at.push(won.len());
            let terminal = self.rules[i].is_terminal();
            for &(slot, lo, hi) in &pieces[i] {
                maps.claim(pos, slot, (lo, hi), &mut gaps, found);
                for &(glo, ghi) in &gaps {
                    if terminal {
                        maps.owners[slot].assign(glo, ghi, pos);
                    }
                    won.push((slot, glo, ghi));
                }
            }
        }
        won_at.push(won.len());

        // Backward: `after` maps each port to what decides it among the later rules.
        let after = &mut maps.other;
        for map in after.iter_mut() {
            map.reset(DEFAULT);
        }
        for (at, &i) in rules.iter().enumerate().rev() {
            let pos = at as u32;
            if found.wants_successors(pos) {
                for &(slot, lo, hi) in &won[won_at[at]..won_at[at + 1]] {
                    after[slot].visit(lo, hi, |_, _, next| found.succeeded(pos, next));
                }
            }
            if self.rules[i].is_terminal() {
                for &(slot, lo, hi) in &pieces[i] {
                    after[slot].assign(lo, hi, pos);
                }
            }
        }
    }
}
