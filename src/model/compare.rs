//! What changes between two versions of a chain: exactly the packets whose decision differs,
//! as the fewest regions a person has to read.
//!
//! Both versions' rules cut the packet space into cells (classes of sources, of destinations and
//! of interfaces that no rule of either version tells apart), as the coverage analysis does for
//! one chain. Within a cell only protocol and port matter: each version's rules are swept in
//! order over each slot (the ports of a protocol, ICMP types, other protocols), giving who
//! decides every port on each side, and the port ranges where the two disagree are the changes.
//! Cells holding the same rules of both versions change alike and are swept once. Changes that
//! differ only in their cell are then merged back into products of address and interface
//! classes, so a change that touches every port from one net is one region, not one per port or
//! per class.
//!
//! Packets no rule of either version matches are decided by the two chain defaults; when those
//! differ, [`ChainChanges::default`] says so once instead of listing every such region.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;

use super::interval_set::Atoms;
use super::transport::{SLOTS, SLOT_ICMP, SLOT_ICMPV6, SLOT_OTHER};
use super::{AddrSet, Chain, Family, IntervalSet, Limit, Point, Traffic, Verdict};

/// Who decides a packet on one side: a rule (by index in its chain) or the chain default, and
/// the first rate-limited rule that decides it first while under its rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Decider {
    /// `None`: the chain default.
    pub rule: Option<usize>,
    /// A rate-limited rule met before `rule`.
    pub limited: Option<usize>,
}

impl Decider {
    /// The verdict in the steady state of a flood (over every rate limit).
    pub fn verdict(self, chain: &Chain) -> Verdict {
        self.rule.map_or(chain.policy, |i| chain.rules[i].verdict)
    }

    /// What a packet meets: the steady verdict, and the limited verdict with its limit.
    fn outcome(self, chain: &Chain) -> (Verdict, Option<(Verdict, &Limit)>) {
        let limited = self.limited.map(|i| {
            let rule = &chain.rules[i];
            (rule.verdict, rule.limit.as_ref().expect("a limited rule"))
        });
        (self.verdict(chain), limited)
    }
}

/// A region of packet space whose decision changes: every packet of one family from `src` to
/// `dst`, arriving on one of `interfaces`, of `traffic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub family: Family,
    pub src: AddrSet,
    pub dst: AddrSet,
    /// The interface classes: a name (or `None` for every interface no rule names), and whether
    /// a port forward translated the connection. `all_interfaces` when every class is here.
    pub interfaces: Vec<(Option<String>, bool)>,
    pub all_interfaces: bool,
    /// Whether the family's rules tell connections a port forward translated from the others;
    /// when not, each class stands for both and its flag is `false`.
    pub translation_classes: bool,
    pub traffic: Traffic,
    pub old: Decider,
    pub new: Decider,
}

impl Region {
    /// Whether a packet is in the region.
    pub fn contains(&self, packet: &super::Packet, named: &[String]) -> bool {
        let interface = packet
            .interface
            .as_ref()
            .filter(|name| named.contains(name))
            .cloned();
        Family::of(packet.src) == self.family
            && self.src.contains(packet.src)
            && self.dst.contains(packet.dst)
            && self.traffic.contains(packet.transport)
            && (self.all_interfaces
                || self
                    .interfaces
                    .contains(&(interface, packet.translated && self.translation_classes)))
    }
}

/// What changes between two versions of a chain.
#[derive(Debug, Clone, Default)]
pub struct ChainChanges {
    pub regions: Vec<Region>,
    /// The defaults, when they differ: they decide the packets no rule of either version
    /// decides.
    pub default: Option<(Verdict, Verdict)>,
    /// The interfaces some rule names; every other interface is one class.
    pub named_interfaces: Vec<String>,
}

impl ChainChanges {
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty() && self.default.is_none()
    }
}

/// The changes from `old` to `new`. Rules that did not resolve are left out, as everywhere.
pub fn compare(old: &Chain, new: &Chain) -> ChainChanges {
    let pair = Pair::new(old, new);
    let mut changes = ChainChanges {
        default: (old.policy != new.policy).then_some((old.policy, new.policy)),
        named_interfaces: pair.interfaces_named(),
        regions: Vec::new(),
    };
    pair.family(
        &mut changes,
        Family::V4,
        |s| &s.v4,
        |set| AddrSet {
            v4: set,
            v6: IntervalSet::empty(),
        },
    );
    pair.family(
        &mut changes,
        Family::V6,
        |s| &s.v6,
        |set| AddrSet {
            v4: IntervalSet::empty(),
            v6: set,
        },
    );
    changes
}

/// A rule of either side: `(side, index)`, side 0 the old chain.
type Tagged = (usize, usize);

struct Pair<'a> {
    sides: [&'a Chain; 2],
}

/// The interface classes of the rules taking part: each named interface, then every other
/// (`None`); each for translated connections and the others, when a rule tells them apart.
struct InterfaceClasses {
    classes: Vec<(Option<String>, bool)>,
}

impl<'a> Pair<'a> {
    fn new(old: &'a Chain, new: &'a Chain) -> Self {
        Pair { sides: [old, new] }
    }

    fn rule(&self, (side, i): Tagged) -> &'a super::Rule {
        &self.sides[side].rules[i]
    }

    fn interfaces_named(&self) -> Vec<String> {
        let names: BTreeSet<String> = self
            .sides
            .iter()
            .flat_map(|c| c.rules.iter())
            .filter(|r| r.resolved)
            .filter_map(|r| r.interface.as_ref())
            .flat_map(|list| list.names().iter().cloned())
            .collect();
        names.into_iter().collect()
    }

    fn interface_classes(&self, active: &[Tagged]) -> InterfaceClasses {
        let mut names: Vec<Option<String>> =
            self.interfaces_named().into_iter().map(Some).collect();
        names.push(None);
        let translations: &[bool] = if active.iter().any(|&t| self.rule(t).translated) {
            &[false, true]
        } else {
            &[false]
        };
        InterfaceClasses {
            classes: names
                .into_iter()
                .flat_map(|name| translations.iter().map(move |&t| (name.clone(), t)))
                .collect(),
        }
    }

    /// The changes of one address family, added to `changes`.
    fn family<T: Point + std::hash::Hash>(
        &self,
        changes: &mut ChainChanges,
        family: Family,
        part: fn(&AddrSet) -> &IntervalSet<T>,
        wrap: fn(IntervalSet<T>) -> AddrSet,
    ) {
        let active: Vec<Tagged> = (0..2)
            .flat_map(|side| (0..self.sides[side].rules.len()).map(move |i| (side, i)))
            .filter(|&t| {
                let rule = self.rule(t);
                rule.resolved
                    && rule.traffic.matches_family(family)
                    && !part(&rule.src).is_empty()
                    && !part(&rule.dst).is_empty()
            })
            .collect();
        if active.is_empty() {
            return;
        }
        let src = Classes::of(active.iter().map(|&t| part(&self.rule(t).src)));
        let dst = Classes::of(active.iter().map(|&t| part(&self.rule(t).dst)));
        let faces = self.interface_classes(&active);
        let face_count = faces.classes.len();
        let dsts = dst.extents.len();

        // The rules of each cell (source, destination, interface class), in order, old first.
        let mut cells: BTreeMap<usize, Vec<Tagged>> = BTreeMap::new();
        for (k, &t) in active.iter().enumerate() {
            let rule = self.rule(t);
            let rule_faces: Vec<usize> = (0..face_count)
                .filter(|&f| {
                    let (name, translated) = &faces.classes[f];
                    rule.interface
                        .as_ref()
                        .is_none_or(|l| l.matches(name.as_deref()))
                        && (!rule.translated || *translated)
                })
                .collect();
            for &s in &src.members[k] {
                for &d in &dst.members[k] {
                    for &f in &rule_faces {
                        let cell = (s as usize * dsts + d as usize) * face_count + f;
                        cells.entry(cell).or_default().push(t);
                    }
                }
            }
        }

        // Each distinct list of rules is swept once; its changes hold for all its cells.
        let mut swept: HashMap<&[Tagged], Vec<(Decider, Decider, Traffic)>> = HashMap::default();
        // (old, new, traffic) -> the cells where exactly that changes.
        let mut where_: HashMap<(Decider, Decider, Traffic), Vec<usize>> = HashMap::default();
        for (&cell, rules) in &cells {
            let found = swept
                .entry(rules.as_slice())
                .or_insert_with(|| self.sweep(rules, family));
            for change in found.iter() {
                where_.entry(change.clone()).or_default().push(cell);
            }
        }
        let mut regions: Vec<Region> = Vec::new();
        for ((old, new, traffic), cells) in where_ {
            let triples = cells.into_iter().map(|cell| {
                let f = cell % face_count;
                let d = (cell / face_count) % dsts;
                let s = cell / face_count / dsts;
                (s, d, f)
            });
            for (s_set, d_set, f_set) in products(triples) {
                let union = |classes: &Classes<T>, set: &BTreeSet<usize>| {
                    IntervalSet::union_all(set.iter().map(|&c| &classes.extents[c]))
                };
                regions.push(Region {
                    family,
                    src: wrap(union(&src, &s_set)),
                    dst: wrap(union(&dst, &d_set)),
                    all_interfaces: f_set.len() == face_count,
                    translation_classes: faces.classes.iter().any(|(_, t)| *t),
                    interfaces: f_set.iter().map(|&f| faces.classes[f].clone()).collect(),
                    traffic: traffic.clone(),
                    old,
                    new,
                });
            }
        }
        regions.sort_by(|a, b| {
            (
                a.old,
                a.new,
                a.traffic.example(),
                a.src.example(),
                a.dst.example(),
            )
                .cmp(&(
                    b.old,
                    b.new,
                    b.traffic.example(),
                    b.src.example(),
                    b.dst.example(),
                ))
        });
        changes.regions.extend(regions);
    }

    /// Who decides each port of each slot on both sides of one cell, and where they disagree:
    /// `(old, new, traffic)`, the traffic of one pair of deciders merged over every slot.
    fn sweep(&self, rules: &[Tagged], family: Family) -> Vec<(Decider, Decider, Traffic)> {
        let domain = Traffic::all().for_family(family);
        let mut found: BTreeMap<(Decider, Decider), Traffic> = BTreeMap::new();
        let mine: [Vec<usize>; 2] =
            std::array::from_fn(|side| rules.iter().filter(|t| t.0 == side).map(|t| t.1).collect());
        for slot in 0..SLOTS {
            let all = IntervalSet::<u32>::from_ranges(domain.slot_ranges(slot));
            if all.is_empty() {
                continue;
            }
            let sides: [Vec<(u32, u32, Decider)>; 2] =
                std::array::from_fn(|side| deciders(self.sides[side], &mine[side], slot, &all));
            let (old_chain, new_chain) = (self.sides[0], self.sides[1]);
            for (lo, hi, old, new) in overlay(&sides[0], &sides[1]) {
                let both_default = old.rule.is_none()
                    && new.rule.is_none()
                    && old.limited.is_none()
                    && new.limited.is_none();
                if both_default || old.outcome(old_chain) == new.outcome(new_chain) {
                    continue;
                }
                let traffic = found.entry((old, new)).or_default();
                add_range(traffic, slot, lo, hi);
            }
        }
        found.into_iter().map(|((o, n), t)| (o, n, t)).collect()
    }
}

/// Who decides each part of `all` (one slot's values) in `chain`, given the cell's rules of the
/// chain in order: runs `(lo, hi, decider)` covering `all`, in order.
fn deciders(
    chain: &Chain,
    rules: &[usize],
    slot: usize,
    all: &IntervalSet<u32>,
) -> Vec<(u32, u32, Decider)> {
    let mut undecided = Open::of(all);
    let mut unlimited = all.clone();
    let mut decided: Vec<(u32, u32, usize)> = Vec::new();
    let mut limited: Vec<(u32, u32, usize)> = Vec::new();
    let mut got: Vec<(u32, u32)> = Vec::new();
    for &i in rules {
        if undecided.is_empty() {
            break;
        }
        let rule = &chain.rules[i];
        let ranges = rule.traffic.slot_ranges(slot);
        if rule.is_terminal() {
            got.clear();
            for (lo, hi) in ranges {
                undecided.claim(lo, hi, &mut got);
            }
            decided.extend(got.iter().map(|&(lo, hi)| (lo, hi, i)));
        } else {
            let got = IntervalSet::from_ranges(ranges)
                .intersection(&undecided.to_set())
                .intersection(&unlimited);
            limited.extend(got.ranges().iter().map(|&(lo, hi)| (lo, hi, i)));
            unlimited = unlimited.difference(&got);
        }
    }
    decided.extend(undecided.0.iter().map(|(&lo, &hi)| (lo, hi, usize::MAX)));
    decided.sort_unstable();
    limited.sort_unstable();
    // Where no limited rule is met, `limited` has no run: fill with "none".
    let unlimited_runs: Vec<(u32, u32, usize)> = unlimited
        .ranges()
        .iter()
        .map(|&(lo, hi)| (lo, hi, usize::MAX))
        .collect();
    let mut limits = limited;
    limits.extend(unlimited_runs);
    limits.sort_unstable();
    let some = |i: usize| (i != usize::MAX).then_some(i);
    let as_runs = |runs: &[(u32, u32, usize)]| -> Vec<(u32, u32, Option<usize>)> {
        runs.iter().map(|&(lo, hi, i)| (lo, hi, some(i))).collect()
    };
    overlay(&as_runs(&decided), &as_runs(&limits))
        .into_iter()
        .map(|(lo, hi, rule, limited)| (lo, hi, Decider { rule, limited }))
        .collect()
}

/// Disjoint ranges of a slot not decided yet, by their first value: a rule claims what is left
/// of its ranges in `log n` plus one step per piece it takes, however fragmented the rest is.
struct Open(BTreeMap<u32, u32>);

impl Open {
    fn of(set: &IntervalSet<u32>) -> Self {
        Open(set.ranges().iter().copied().collect())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes the open parts of `lo..=hi` out, adding them to `got` in order.
    fn claim(&mut self, lo: u32, hi: u32, got: &mut Vec<(u32, u32)>) {
        let before = self
            .0
            .range(..lo)
            .next_back()
            .filter(|(_, &end)| end >= lo)
            .map(|(&start, _)| start);
        let inside: Vec<u32> = self.0.range(lo..=hi).map(|(&start, _)| start).collect();
        for start in before.into_iter().chain(inside) {
            let end = self.0.remove(&start).expect("a range just found");
            let (a, b) = (start.max(lo), end.min(hi));
            got.push((a, b));
            if start < a {
                self.0.insert(start, a - 1);
            }
            if end > b {
                self.0.insert(b + 1, end);
            }
        }
    }

    fn to_set(&self) -> IntervalSet<u32> {
        IntervalSet::from_ranges(self.0.iter().map(|(&lo, &hi)| (lo, hi)))
    }
}

/// Two run lists over the same values, cut at both's boundaries: `(lo, hi, a, b)`.
fn overlay<A: Copy, B: Copy>(a: &[(u32, u32, A)], b: &[(u32, u32, B)]) -> Vec<(u32, u32, A, B)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (alo, ahi, av) = a[i];
        let (blo, bhi, bv) = b[j];
        let lo = alo.max(blo);
        let hi = ahi.min(bhi);
        if lo <= hi {
            out.push((lo, hi, av, bv));
        }
        if ahi <= bhi {
            i += 1;
        }
        if bhi <= ahi {
            j += 1;
        }
    }
    out
}

/// Adds `lo..=hi` of `slot` to `traffic`.
fn add_range(traffic: &mut Traffic, slot: usize, lo: u32, hi: u32) {
    match slot {
        SLOT_ICMP => traffic.icmp = traffic.icmp.union(&IntervalSet::range(lo as u8, hi as u8)),
        SLOT_ICMPV6 => {
            traffic.icmpv6 = traffic
                .icmpv6
                .union(&IntervalSet::range(lo as u8, hi as u8))
        }
        SLOT_OTHER => traffic.other = traffic.other.union(&IntervalSet::range(lo as u8, hi as u8)),
        _ => {
            traffic.ports[slot] =
                traffic.ports[slot].union(&IntervalSet::range(lo as u16, hi as u16))
        }
    }
}

/// Classes of addresses no set of a list tells apart, with all their addresses, and for each
/// set the classes it holds.
struct Classes<T: Point> {
    extents: Vec<IntervalSet<T>>,
    members: Vec<Vec<u32>>,
}

impl<T: Point + std::hash::Hash> Classes<T> {
    fn of<'s>(sets: impl Iterator<Item = &'s IntervalSet<T>>) -> Self
    where
        T: 's,
    {
        let sets: Vec<&IntervalSet<T>> = sets.collect();
        let atoms = Atoms::of(&sets);
        let atom_of = |point: T| atoms.of_point(point);
        // For each atom, the sets holding it (a difference array per set would cost more).
        let mut holders: Vec<Vec<u32>> = vec![Vec::new(); atoms.starts.len()];
        for (k, set) in (0u32..).zip(&sets) {
            for &(lo, hi) in set.ranges() {
                for atom in holders.iter_mut().take(atom_of(hi) + 1).skip(atom_of(lo)) {
                    atom.push(k);
                }
            }
        }
        let mut class_of: HashMap<&[u32], u32> = HashMap::default();
        let mut ranges: Vec<Vec<(T, T)>> = Vec::new();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); sets.len()];
        for (atom, holding) in holders.iter().enumerate() {
            if holding.is_empty() {
                continue;
            }
            let (lo, hi) = (atoms.starts[atom], atoms.last(atom));
            let next = ranges.len() as u32;
            let class = *class_of.entry(holding.as_slice()).or_insert_with(|| {
                ranges.push(Vec::new());
                for &k in holding {
                    members[k as usize].push(next);
                }
                next
            });
            ranges[class as usize].push((lo, hi));
        }
        Classes {
            extents: ranges.into_iter().map(IntervalSet::from_ranges).collect(),
            members,
        }
    }
}

/// A set of `(s, d, f)` triples as the fewest products `S x D x F` this finds: triples with the
/// same `(s, d)` share their `F`; then those with the same `(s, F)` share their `D`; then those
/// with the same `(D, F)` share their `S`. Exact: the products hold the triples and no others.
fn products(
    triples: impl Iterator<Item = (usize, usize, usize)>,
) -> Vec<(BTreeSet<usize>, BTreeSet<usize>, BTreeSet<usize>)> {
    let mut faces: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new();
    for (s, d, f) in triples {
        faces.entry((s, d)).or_default().insert(f);
    }
    let mut dsts: BTreeMap<(usize, BTreeSet<usize>), BTreeSet<usize>> = BTreeMap::new();
    for ((s, d), f) in faces {
        dsts.entry((s, f)).or_default().insert(d);
    }
    let mut srcs: BTreeMap<(BTreeSet<usize>, BTreeSet<usize>), BTreeSet<usize>> = BTreeMap::new();
    for ((s, f), d) in dsts {
        srcs.entry((d, f)).or_default().insert(s);
    }
    srcs.into_iter().map(|((d, f), s)| (s, d, f)).collect()
}
