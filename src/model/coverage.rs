//! Exact first-match coverage of a chain: which packets each rule decides, which earlier rules
//! decide the packets it would also match, and whether removing it would change any verdict.
//!
//! The packet space (family x source x destination x interface x protocol x port) is cut into
//! *cells*: classes of source addresses, destination addresses and interfaces that no rule tells
//! apart. Within a cell only protocol and port matter, and a sweep over the cell's rules in order
//! with an interval map ("which rule owns this port") gives the first-match owner of every port.
//! The cost is about `cells x rules-per-cell x log(ports)`, not `rules^2`: a policy of 100k rules
//! from a handful of sources is analysed in a fraction of a second. A small cell whose rules have
//! the same traffic and verdicts, in the same order, as an earlier cell's finds the same things,
//! and replays them: 100k clients of a dozen services are a dozen sweeps.

use foldhash::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use super::run_map::RunMap;
use super::Verdict;
use super::{
    AddrSet, BaselinePart, Chain, Family, IntervalSet, Packet, Point, RuleOrigin, Traffic,
    Transport,
};

/// How many slots of traffic (ports of each protocol, ICMP types, other protocols) there are.
const SLOTS: usize = Traffic::SLOTS;

/// What the analysis found for one rule.
#[derive(Debug, Clone, Default)]
pub struct RuleCoverage {
    /// The rule matches at least one possible packet (its source and destination share a family).
    pub matches_anything: bool,
    /// A packet this rule decides (while under its rate limit, for a limited rule).
    pub wins: Option<Packet>,
    /// Earlier rules that decide packets this rule also matches, in rule order. When `wins` is
    /// `None` these rules together cover the whole rule.
    pub covered_by: Vec<usize>,
    /// Of the rules in `covered_by`, the first of each verdict, with a packet of this rule it
    /// decides; in rule order.
    pub first_covering: Vec<(usize, Packet)>,
    /// A packet this rule decides differently from what would decide it without the rule. `None`
    /// for a rule that matches something: removing it would change no verdict.
    pub needed: Option<Packet>,
    /// For a rule whose removal changes nothing: the later rule (or `None` for the chain default)
    /// that would decide its packets instead.
    pub fallback: Option<Option<usize>>,
}

impl RuleCoverage {
    /// Rules in `covered_by` whose verdict differs from `verdict`.
    pub fn covering_with_other_verdict<'a>(
        &'a self,
        chain: &'a Chain,
        verdict: Verdict,
    ) -> impl Iterator<Item = usize> + 'a {
        self.covered_by
            .iter()
            .copied()
            .filter(move |&i| chain.rules[i].verdict != verdict)
    }

    /// The first rule in `covered_by` whose verdict differs from `verdict`, with a packet of this
    /// rule it decides.
    pub fn first_covering_with_other_verdict(
        &self,
        chain: &Chain,
        verdict: Verdict,
    ) -> Option<(usize, &Packet)> {
        self.first_covering
            .iter()
            .find(|(i, _)| chain.rules[*i].verdict != verdict)
            .map(|(i, p)| (*i, p))
    }

    /// Adds what one address family's analysis found covering this rule: `owners` in rule order,
    /// and the first of each verdict with its packet. Where both families found the same rule,
    /// the packet found first stays.
    fn add_covering(&mut self, chain: &Chain, owners: Vec<usize>, firsts: Vec<(usize, Packet)>) {
        if self.covered_by.is_empty() {
            self.covered_by = owners;
        } else {
            self.covered_by.extend(owners);
            self.covered_by.sort_unstable();
            self.covered_by.dedup();
        }
        let mut all = std::mem::take(&mut self.first_covering);
        all.extend(firsts);
        // Stable: of two entries for one rule, the one found first stays.
        all.sort_by_key(|(i, _)| *i);
        all.dedup_by_key(|(i, _)| *i);
        let mut seen: Vec<Verdict> = Vec::new();
        for (i, packet) in all {
            let verdict = chain.rules[i].verdict;
            if !seen.contains(&verdict) {
                seen.push(verdict);
                self.first_covering.push((i, packet));
            }
        }
    }
}

impl RuleCoverage {
    /// Records what would decide a packet this rule decides if the rule were removed: `next`
    /// (a later rule, or `None` for the chain's default) with its verdict.
    fn succeeded_by(
        &mut self,
        own: Verdict,
        next: Owner,
        next_verdict: Verdict,
        example: impl FnOnce() -> Packet,
    ) {
        if next_verdict != own {
            if self.needed.is_none() {
                self.needed = Some(example());
            }
        } else if self.fallback.is_none() {
            self.fallback = Some(next);
        }
    }
}

/// The coverage of every rule of a chain, indexed like `chain.rules`.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub rules: Vec<RuleCoverage>,
}

/// Below this many rule visits (rules summed over cells) a family's cells are swept on one
/// thread: the second would cost more than it saves.
const PARALLEL_WORK: usize = 50_000;

/// Cells of at most this many rules are looked up among the cells already swept (see
/// [`TrafficIds`]). Larger cells are swept directly: they seldom repeat, and keeping their
/// findings would cost memory.
const MEMO_RULES: usize = 32;

impl Coverage {
    /// Adds what was found in later cells: where both found something, the earlier finding
    /// stays.
    fn append(&mut self, chain: &Chain, later: Coverage) {
        for (rule, found) in self.rules.iter_mut().zip(later.rules) {
            rule.matches_anything |= found.matches_anything;
            if !found.covered_by.is_empty() {
                rule.add_covering(chain, found.covered_by, found.first_covering);
            }
            if rule.wins.is_none() {
                rule.wins = found.wins;
            }
            if rule.needed.is_none() {
                rule.needed = found.needed;
            }
            if rule.fallback.is_none() {
                rule.fallback = found.fallback;
            }
        }
    }
}

/// How much an analysis finds out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Everything in [`RuleCoverage`].
    Full,
    /// Only `matches_anything` and `wins`.
    Wins,
}

/// Who decides a port range: a rule, or the chain default.
type Owner = Option<usize>;

/// In a [`RunMap`]: no owner yet.
const GAP: u32 = u32::MAX;
/// In a [`RunMap`]: the chain's default decides.
const DEFAULT: u32 = u32::MAX - 1;

/// Rule `i` as a [`RunMap`] value.
fn rule_value(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 - 2 rules")
}

/// What one thread's sweep works with: the ownership maps, one per protocol slot, reused from
/// cell to cell. Their values are positions in the cell's list of rules.
struct Maps {
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
    fn new(detail: Detail) -> Self {
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
trait Findings {
    /// The rule at `pos` decides the packet at `port` of `slot` (found for each piece it wins).
    fn won(&mut self, pos: u32, slot: usize, port: u32);
    /// The earlier rule at `owner` decides packets the rule at `pos` also matches, from `port`
    /// of `slot` on.
    fn met(&mut self, pos: u32, owner: u32, slot: usize, port: u32);
    /// Without the rule at `pos`, the packet at `port` of `slot` would be decided by the rule at
    /// `next`, or by the chain's default when `next` is [`DEFAULT`].
    fn succeeded(&mut self, pos: u32, next: u32, slot: usize, port: u32);
    /// Whether what would decide the packets of the rule at `pos` without it still matters.
    fn wants_successors(&self, pos: u32) -> bool;
}

/// A cell's findings, kept to be replayed.
#[derive(Debug, Clone, Copy)]
enum Event {
    Won {
        pos: u32,
        slot: u8,
        port: u32,
    },
    Met {
        pos: u32,
        owner: u32,
        slot: u8,
        port: u32,
    },
    Succeeded {
        pos: u32,
        next: u32,
        slot: u8,
        port: u32,
    },
}

impl Findings for Vec<Event> {
    fn won(&mut self, pos: u32, slot: usize, port: u32) {
        let slot = slot as u8;
        self.push(Event::Won { pos, slot, port });
    }

    fn met(&mut self, pos: u32, owner: u32, slot: usize, port: u32) {
        let slot = slot as u8;
        self.push(Event::Met {
            pos,
            owner,
            slot,
            port,
        });
    }

    fn succeeded(&mut self, pos: u32, next: u32, slot: usize, port: u32) {
        let slot = slot as u8;
        self.push(Event::Succeeded {
            pos,
            next,
            slot,
            port,
        });
    }

    /// A replayed list must be complete, whatever the rules it is replayed for already have.
    fn wants_successors(&self, _pos: u32) -> bool {
        true
    }
}

/// Findings of one cell applied to the chain's rules as they are found (or replayed).
struct Apply<'a, P> {
    chain: &'a Chain,
    /// The cell's rules: position to index in the chain.
    rules: &'a [usize],
    result: &'a mut Coverage,
    coverings: &'a mut Vec<Covering>,
    cell: u32,
    /// A packet of the cell: slot and port.
    packet: P,
}

impl<P: Fn(usize, u32) -> Packet> Apply<'_, P> {
    fn replay(&mut self, events: &[Event]) {
        for &event in events {
            match event {
                Event::Won { pos, slot, port } => self.won(pos, slot.into(), port),
                Event::Met {
                    pos,
                    owner,
                    slot,
                    port,
                } => self.met(pos, owner, slot.into(), port),
                Event::Succeeded {
                    pos,
                    next,
                    slot,
                    port,
                } => self.succeeded(pos, next, slot.into(), port),
            }
        }
    }
}

impl<P: Fn(usize, u32) -> Packet> Findings for Apply<'_, P> {
    /// Keeps the first packet the rule wins.
    fn won(&mut self, pos: u32, slot: usize, port: u32) {
        let found = &mut self.result.rules[self.rules[pos as usize]];
        if found.wins.is_none() {
            found.wins = Some((self.packet)(slot, port));
        }
    }

    fn met(&mut self, pos: u32, owner: u32, slot: usize, port: u32) {
        let (rule, owner) = (self.rules[pos as usize], self.rules[owner as usize]);
        if self.chain.rules[owner].origin == RuleOrigin::Baseline(BaselinePart::Loopback)
            && !names_loopback(&self.chain.rules[rule])
        {
            // Every rule without `on` matches loopback traffic, which the baseline accepts first;
            // that is a covering only of rules that name `lo` themselves.
            return;
        }
        self.coverings.push(Covering {
            rule: rule_value(rule),
            owner: rule_value(owner),
            cell: self.cell,
            port,
            slot: slot as u8,
        });
    }

    fn succeeded(&mut self, pos: u32, next: u32, slot: usize, port: u32) {
        let rule = self.rules[pos as usize];
        let next = (next != DEFAULT).then(|| self.rules[next as usize]);
        let chain = self.chain;
        let next_verdict = next.map_or(chain.policy, |n| chain.rules[n].verdict);
        let packet = &self.packet;
        self.result.rules[rule].succeeded_by(chain.rules[rule].verdict, next, next_verdict, || {
            packet(slot, port)
        });
    }

    fn wants_successors(&self, pos: u32) -> bool {
        self.result.rules[self.rules[pos as usize]].needed.is_none()
    }
}

/// Whether a rule's `on` names the loopback interface.
fn names_loopback(rule: &super::Rule) -> bool {
    rule.interface
        .as_ref()
        .is_some_and(|i| !i.is_negated() && i.names().iter().any(|n| n == "lo"))
}

/// An earlier rule that owns part of a rule's traffic in a cell, from `port` of `slot` on.
#[derive(Debug, Clone, Copy)]
struct Covering {
    rule: u32,
    owner: u32,
    cell: u32,
    port: u32,
    slot: u8,
}

/// Fills [`RuleCoverage::covered_by`] and [`RuleCoverage::first_covering`] from the coverings
/// found, in the order found: each covering rule once, and for the first of each verdict the
/// packet where it was met first. Recording every meeting in a flat list and sorting it once costs
/// far less than a map lookup per meeting on chains where rules overlap a lot, and only a handful
/// of packets per rule are ever built.
fn attach_coverings(
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
struct Found<'a> {
    first: &'a [Covering],
    second: &'a [Covering],
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

/// Every rule's traffic as `(slot, lo, hi)` ranges (see [`Transport::slot`]), as packets of one
/// address family can be: without the other family's ICMP. Built once per analysis of a family.
struct Pieces {
    all: Vec<(usize, u32, u32)>,
    /// Rule `i`'s pieces are `all[start[i]..start[i + 1]]`.
    start: Vec<usize>,
}

impl Pieces {
    fn of(chain: &Chain, family: Family) -> Self {
        let mut all = Vec::new();
        let mut start = Vec::with_capacity(chain.rules.len() + 1);
        let skipped = match family {
            Family::V4 => super::transport::SLOT_ICMPV6,
            Family::V6 => super::transport::SLOT_ICMP,
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

/// For each rule of a chain, a number shared by exactly the rules with the same traffic pieces,
/// verdict and rate limiting: all that a cell's sweep looks at, so two cells whose rules have the
/// same numbers in the same order find the same things, by position.
struct TrafficIds(Vec<usize>);

impl TrafficIds {
    fn of(chain: &Chain, pieces: &Pieces) -> Self {
        let (_, ids) = dedup(
            chain
                .rules
                .iter()
                .enumerate()
                .map(|(i, rule)| (&pieces[i], rule.verdict, rule.is_terminal())),
        );
        TrafficIds(ids)
    }
}

impl std::ops::Index<usize> for TrafficIds {
    type Output = usize;

    fn index(&self, rule: usize) -> &usize {
        &self.0[rule]
    }
}

/// A class of sources, a class of destinations and an interface: packets no rule tells apart.
struct Cell {
    id: usize,
    src: u32,
    dst: u32,
    interface: usize,
    /// The cell's rules, as a range of the flat list of every cell's rules.
    rules: std::ops::Range<usize>,
}

/// What one analysis shares between the address families.
#[derive(Clone, Copy)]
struct Job {
    parallel_work: usize,
    /// Cells of at most this many rules replay the findings of an earlier cell like them.
    memo_rules: usize,
    detail: Detail,
}

/// Values grouped by key, each group in the order given: key `k`'s values are
/// `values[start[k]..start[k + 1]]`. A counting sort: two passes over the items, no comparisons,
/// no allocation per group.
struct Groups<V> {
    start: Vec<usize>,
    values: Vec<V>,
}

impl<V: Copy + Default> Groups<V> {
    /// Groups the `(key, value)` pairs `items()` yields (the same ones each time), keys below
    /// `keys`.
    fn new<I: Iterator<Item = (usize, V)>>(keys: usize, items: impl Fn() -> I) -> Self {
        let mut start = vec![0usize; keys + 1];
        for (k, _) in items() {
            start[k + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let mut values = vec![V::default(); start[keys]];
        let mut next = start.clone();
        for (k, v) in items() {
            values[next[k]] = v;
            next[k] += 1;
        }
        Groups { start, values }
    }

    fn get(&self, key: usize) -> &[V] {
        &self.values[self.start[key]..self.start[key + 1]]
    }
}

/// Classes of points that no set in a list tells apart.
struct Classes<T> {
    /// One member of each class, for example packets.
    representative: Vec<T>,
    /// For each input set, the classes it contains (sorted).
    members: Groups<u32>,
}

fn classes<T: Point + std::hash::Hash>(sets: &[&IntervalSet<T>]) -> Classes<T> {
    // Elementary intervals ("atoms") between all boundaries.
    let ranges: usize = sets.iter().map(|set| set.ranges().len()).sum();
    let mut bounds: Vec<T> = Vec::with_capacity(1 + 2 * ranges);
    bounds.push(T::MIN);
    for set in sets {
        for &(lo, hi) in set.ranges() {
            bounds.push(lo);
            if hi < T::MAX {
                bounds.push(hi.succ());
            }
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    let atom_of = |point: T| match bounds.binary_search(&point) {
        Ok(i) => i,
        Err(i) => i - 1,
    };
    // Each range as the atoms it spans, with its set.
    let mut spans: Vec<(u32, usize, usize)> = Vec::with_capacity(ranges);
    for (k, set) in (0u32..).zip(sets) {
        spans.extend(
            set.ranges()
                .iter()
                .map(|&(lo, hi)| (k, atom_of(lo), atom_of(hi))),
        );
    }
    // The sets holding each atom, in set order.
    let holders = Groups::new(bounds.len(), || {
        spans
            .iter()
            .flat_map(|&(k, first, last)| (first..=last).map(move |atom| (atom, k)))
    });
    let mut class_of_signature: HashMap<&[u32], u32> =
        HashMap::with_capacity_and_hasher(bounds.len(), Default::default());
    let mut representative = Vec::new();
    // The atom each class was first found at.
    let mut first_atom: Vec<usize> = Vec::new();
    for (atom, &bound) in bounds.iter().enumerate() {
        let signature = holders.get(atom);
        if signature.is_empty() {
            continue; // points no set contains never matter
        }
        let next = representative.len() as u32;
        class_of_signature.entry(signature).or_insert_with(|| {
            // An address inside the atom rather than its first, which is a network's own address
            // (`10.10.1.1`, not `10.10.1.0`): examples in messages read as hosts.
            let hi = bounds.get(atom + 1).map_or(T::MAX, |b| b.pred());
            let inside = bound < hi && bound.succ() < hi;
            representative.push(if inside { bound.succ() } else { bound });
            first_atom.push(atom);
            next
        });
    }
    let members = Groups::new(sets.len(), || {
        (0u32..)
            .zip(&first_atom)
            .flat_map(|(class, &atom)| holders.get(atom).iter().map(move |&k| (k as usize, class)))
    });
    Classes {
        representative,
        members,
    }
}

/// Distinct values of a list, and for each element the index of its value.
fn dedup<T: Clone + Eq + std::hash::Hash>(items: impl Iterator<Item = T>) -> (Vec<T>, Vec<usize>) {
    let mut index: HashMap<T, usize> =
        HashMap::with_capacity_and_hasher(items.size_hint().0, Default::default());
    let mut values = Vec::new();
    let ids = items
        .map(|item| {
            *index.entry(item.clone()).or_insert_with(|| {
                values.push(item);
                values.len() - 1
            })
        })
        .collect();
    (values, ids)
}

impl Chain {
    /// Analyses the chain. Rules that did not resolve are left out (they match nothing here).
    pub fn coverage(&self) -> Coverage {
        self.coverage_with(PARALLEL_WORK, MEMO_RULES, Detail::Full)
    }

    /// Only which rules match anything and which win a packet ([`RuleCoverage::matches_anything`]
    /// and [`RuleCoverage::wins`]; the other fields stay empty), for analyses that ask nothing
    /// else. Much cheaper than [`Chain::coverage`] on chains where rules overlap a lot.
    pub fn winners(&self) -> Coverage {
        self.coverage_with(PARALLEL_WORK, MEMO_RULES, Detail::Wins)
    }

    /// The analysis, on two threads when the chain needs at least `parallel_work` rule visits,
    /// replaying the findings of cells of up to `memo_rules` rules for cells like them.
    fn coverage_with(&self, parallel_work: usize, memo_rules: usize, detail: Detail) -> Coverage {
        let mut result = Coverage {
            rules: vec![RuleCoverage::default(); self.rules.len()],
        };
        let job = Job {
            parallel_work,
            memo_rules,
            detail,
        };
        let v4 = |result: &mut Coverage| {
            self.coverage_family(
                result,
                &job,
                Family::V4,
                |set| &set.v4,
                |a: u32| IpAddr::V4(Ipv4Addr::from(a)),
            );
        };
        let v6 = |result: &mut Coverage| {
            self.coverage_family(
                result,
                &job,
                Family::V6,
                |set| &set.v6,
                |a: u128| IpAddr::V6(Ipv6Addr::from(a)),
            );
        };
        v4(&mut result);
        v6(&mut result);
        result
    }

    fn coverage_family<T: Point + std::hash::Hash + Sync>(
        &self,
        result: &mut Coverage,
        job: &Job,
        family: Family,
        part: fn(&AddrSet) -> &IntervalSet<T>,
        addr: impl Fn(T) -> IpAddr + Sync,
    ) {
        let Job {
            parallel_work,
            memo_rules,
            detail,
        } = *job;
        let pieces = &Pieces::of(self, family);
        // Made the first time a cell small enough to look up needs it.
        let traffic = &OnceLock::new();
        let active: Vec<usize> = (0..self.rules.len())
            .filter(|&i| {
                let rule = &self.rules[i];
                rule.resolved
                    && rule.traffic.matches_family(family)
                    && !part(&rule.src).is_empty()
                    && !part(&rule.dst).is_empty()
            })
            .collect();
        if active.is_empty() {
            return;
        }
        for &i in &active {
            result.rules[i].matches_anything = true;
        }
        let (src_sets, src_id) = dedup(active.iter().map(|&i| part(&self.rules[i].src)));
        let (dst_sets, dst_id) = dedup(active.iter().map(|&i| part(&self.rules[i].dst)));
        let src = classes(&src_sets);
        let dst = classes(&dst_sets);
        // Interface classes: each named interface, then "any other" (no name); each twice, for
        // connections a port forward translated and for the others, when a rule tells them apart.
        let mut names: Vec<Option<String>> = active
            .iter()
            .filter_map(|&i| self.rules[i].interface.as_ref())
            .flat_map(|list| list.names().iter().cloned().map(Some))
            .collect();
        names.sort();
        names.dedup();
        names.push(None);
        let translations: &[bool] = if active.iter().any(|&i| self.rules[i].translated) {
            &[false, true]
        } else {
            &[false]
        };
        let interfaces: Vec<(Option<String>, bool)> = names
            .into_iter()
            .flat_map(|name| translations.iter().map(move |&t| (name.clone(), t)))
            .collect();
        // The classes each distinct (interfaces, translated) condition matches.
        let (lists, list_id) = dedup(active.iter().map(|&i| {
            let rule = &self.rules[i];
            (rule.interface.as_ref(), rule.translated)
        }));
        let faces_of_list: Vec<Vec<usize>> = lists
            .iter()
            .map(|(list, translated)| {
                (0..interfaces.len())
                    .filter(|&f| {
                        let (name, t) = &interfaces[f];
                        list.is_none_or(|l| l.matches(name.as_deref())) && (!translated || *t)
                    })
                    .collect()
            })
            .collect();

        // Rules of each cell, in chain order: (cell, rule) pairs, sorted by cell stably so that
        // each cell's rules stay in chain order.
        let (dsts, faces) = (dst.representative.len(), interfaces.len());
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for (k, &i) in active.iter().enumerate() {
            let faces_of_rule = &faces_of_list[list_id[k]];
            for &s in src.members.get(src_id[k]) {
                for &d in dst.members.get(dst_id[k]) {
                    for &f in faces_of_rule {
                        pairs.push(((s as usize * dsts + d as usize) * faces + f, i));
                    }
                }
            }
        }
        pairs.sort_by_key(|&(cell, _)| cell);
        let cell_rules: Vec<usize> = pairs.iter().map(|&(_, i)| i).collect();
        let mut cells: Vec<Cell> = Vec::new();
        for (at, &(id, _)) in pairs.iter().enumerate() {
            match cells.last_mut() {
                Some(cell) if cell.id == id => cell.rules.end = at + 1,
                _ => cells.push(Cell {
                    id,
                    src: (id / faces / dsts) as u32,
                    dst: ((id / faces) % dsts) as u32,
                    interface: id % faces,
                    rules: at..at + 1,
                }),
            }
        }
        // Cells that hold the same rules behave the same; analyse each list once.
        let mut seen: HashSet<&[usize]> =
            HashSet::with_capacity_and_hasher(cells.len(), Default::default());
        cells.retain(|c| seen.insert(&cell_rules[c.rules.clone()]));

        let packet_in = |cell: &Cell, slot: usize, port: u32| Packet {
            transport: Transport::from_slot(slot, port),
            src: addr(src.representative[cell.src as usize]),
            dst: addr(dst.representative[cell.dst as usize]),
            interface: interfaces[cell.interface].0.clone(),
            translated: interfaces[cell.interface].1,
        };
        // Sweeps cells `range` into `out`, and returns the coverings found. A small cell whose
        // rules have the traffic, verdicts and rate limits of an earlier cell's, in the same
        // order, finds what that cell found: its findings are replayed instead of swept again
        // (a per-client allow list has one cell per client, and a handful of distinct ones).
        let analyse = |range: std::ops::Range<usize>, out: &mut Coverage| {
            let mut maps = Maps::new(detail);
            let mut coverings = Vec::new();
            let mut memo: HashMap<Vec<usize>, std::ops::Range<usize>> = HashMap::default();
            let mut events: Vec<Event> = Vec::new();
            let mut key: Vec<usize> = Vec::new();
            for (index, cell) in cells[range.clone()].iter().enumerate() {
                let rules = &cell_rules[cell.rules.clone()];
                let mut apply = Apply {
                    chain: self,
                    rules,
                    result: &mut *out,
                    coverings: &mut coverings,
                    cell: (range.start + index) as u32,
                    packet: |slot: usize, port: u32| packet_in(cell, slot, port),
                };
                if rules.len() > memo_rules {
                    self.sweep_cell(rules, pieces, detail, &mut maps, &mut apply);
                    continue;
                }
                key.clear();
                let traffic = traffic.get_or_init(|| TrafficIds::of(self, pieces));
                key.extend(rules.iter().map(|&i| traffic[i]));
                let found = match memo.get(key.as_slice()) {
                    Some(found) => found.clone(),
                    None => {
                        let start = events.len();
                        self.sweep_cell(rules, pieces, detail, &mut maps, &mut events);
                        memo.insert(key.clone(), start..events.len());
                        start..events.len()
                    }
                };
                apply.replay(&events[found]);
            }
            coverings
        };
        let attach = |result: &mut Coverage, coverings: Found| {
            attach_coverings(self, result, coverings, |c| {
                packet_in(&cells[c.cell as usize], usize::from(c.slot), c.port)
            });
        };
        // Cells are independent. On large chains they are analysed on two threads, each over a
        // contiguous run of cells, and the results merged in cell order: exactly what one thread
        // would find.
        let work: usize = cells.iter().map(|c| c.rules.len()).sum();
        if work < parallel_work || cells.len() < 2 {
            let coverings = analyse(0..cells.len(), result);
            let second = &[];
            attach(
                result,
                Found {
                    first: &coverings,
                    second,
                },
            );
            return;
        }
        let mut done = 0;
        let split = cells
            .iter()
            .position(|c| {
                done += c.rules.len();
                done * 2 >= work
            })
            .map_or(1, |i| i + 1)
            .clamp(1, cells.len() - 1);
        let mut later = Coverage {
            rules: vec![RuleCoverage::default(); self.rules.len()],
        };
        let (coverings, later_coverings) = crate::parallel::join(
            || analyse(0..split, result),
            || analyse(split..cells.len(), &mut later),
        );
        result.append(self, later);
        let found = Found {
            first: &coverings,
            second: &later_coverings,
        };
        attach(result, found);
    }

    /// First-match sweep over the rules of one cell, forward for ownership, then backward for
    /// whether each rule changes anything. `pieces[i]` is rule `i`'s traffic as
    /// `(slot, lo, hi)` ranges, computed once per chain. What it finds goes to `found`, by
    /// position in `rules`; nothing it finds depends on anything but the traffic, verdict and
    /// rate limit of each rule in order (see [`TrafficIds`]).
    fn sweep_cell(
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
                    found.succeeded(owner, pos, slot, plo);
                    pending[slot].assign(plo, phi, GAP);
                }
                for &(glo, ghi) in &gaps {
                    owners[slot].assign(glo, ghi, pos);
                    pending[slot].assign(glo, ghi, pos);
                }
            }
        }
        // What no later rule covers falls to the chain's default.
        for (slot, map) in maps.other.iter().enumerate() {
            for (lo, _, owner) in map.runs() {
                if owner != GAP {
                    found.succeeded(owner, DEFAULT, slot, lo);
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
                    after[slot].visit(lo, hi, |plo, _, next| found.succeeded(pos, next, slot, plo));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two analyses of one chain found the same for every rule.
    fn assert_same(a: &Coverage, b: &Coverage) {
        assert_eq!(a.rules.len(), b.rules.len());
        for (a, b) in a.rules.iter().zip(&b.rules) {
            assert_eq!(a.wins, b.wins);
            assert_eq!(a.covered_by, b.covered_by);
            assert_eq!(a.first_covering, b.first_covering);
            assert_eq!(a.needed, b.needed);
            assert_eq!(a.fallback, b.fallback);
        }
    }

    #[test]
    fn two_threads_find_what_one_finds() {
        let mut text = String::from(
            "net a = 10.1.0.0/16, 2001:db8:1::/48\nnet b = 10.2.0.0/16\ninput drop {\n",
        );
        for i in 0..400u32 {
            let verdict = ["allow", "deny", "reject"][(i % 3) as usize];
            let from = ["", " from a", " from b", " from 10.1.5.0/24"][(i % 4) as usize];
            let lo = 1000 + (i * 37) % 900;
            text.push_str(&format!("  {verdict} tcp/{lo}-{}{from}\n", lo + i % 50));
        }
        text.push_str("}\n");
        let checked = crate::pipeline::check_text("big.pcl", &text);
        let chain = &checked.policy.hosts[0].chains[0];
        let one = chain.coverage_with(usize::MAX, MEMO_RULES, Detail::Full);
        let two = chain.coverage_with(0, MEMO_RULES, Detail::Full);
        assert_same(&one, &two);
    }

    /// A per-client allow list: one small cell per client, and few distinct ones among them.
    #[test]
    fn replayed_cells_find_what_swept_cells_find() {
        let mut text = String::from("input drop {\n");
        for i in 0..300u32 {
            let service =
                ["ssh", "tcp/8000-8100, udp/53", "https", "tcp/22, tcp/80"][(i % 4) as usize];
            let verdict = ["allow", "allow", "deny", "reject"][(i % 7 % 4) as usize];
            let limit = if i % 5 == 0 { " limit 10/second" } else { "" };
            let from = if i % 2 == 0 {
                format!("10.0.{}.{}", i / 250, i % 250)
            } else {
                format!("2001:db8::{i:x}")
            };
            text.push_str(&format!("  {verdict} {service} from {from}{limit}\n"));
        }
        text.push_str(
            "  allow tcp/80, tcp/443\n  deny tcp/20-30 limit 5/minute\n  reject tcp\n}\n",
        );
        let checked = crate::pipeline::check_text("clients.pcl", &text);
        let chain = &checked.policy.hosts[0].chains[0];
        for detail in [Detail::Full, Detail::Wins] {
            let swept = chain.coverage_with(usize::MAX, 0, detail);
            let replayed = chain.coverage_with(usize::MAX, MEMO_RULES, detail);
            assert_same(&swept, &replayed);
        }
    }

    #[test]
    fn classes_group_points_no_set_separates() {
        let sets = [
            IntervalSet::<u32>::range(0, 99),
            IntervalSet::<u32>::range(50, 149),
            IntervalSet::<u32>::full(),
        ];
        let c = classes(&sets.iter().collect::<Vec<_>>());
        // [0,49], [50,99], [100,149], [150,MAX], each by a point inside it.
        assert_eq!(c.representative, vec![1, 51, 101, 151]);
        assert_eq!(c.members.get(0), [0, 1]);
        assert_eq!(c.members.get(1), [1, 2]);
        assert_eq!(c.members.get(2), [0, 1, 2, 3]);
    }
}
