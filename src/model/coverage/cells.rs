//! Cutting a family's packet space into cells: the rules that take part, the classes of
//! sources, destinations and interfaces no rule tells apart, and the distinct cells with the
//! rules of each.

use foldhash::{HashMap, HashSet};
use std::net::IpAddr;

use crate::model::interval_set::Atoms;
use crate::model::{AddrSet, Chain, Family, IntervalSet, Packet, Point, Transport};

/// Values grouped by key, each group in the order given: key `k`'s values are
/// `values[start[k]..start[k + 1]]`. A counting sort: two passes over the items, no comparisons,
/// no allocation per group.
pub(super) struct Groups<V> {
    start: Vec<usize>,
    values: Vec<V>,
}

impl<V: Copy + Default> Groups<V> {
    /// Groups the `(key, value)` pairs `items()` yields (the same ones each time), keys below
    /// `keys`.
    pub(super) fn new<I: Iterator<Item = (usize, V)>>(keys: usize, items: impl Fn() -> I) -> Self {
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

    pub(super) fn get(&self, key: usize) -> &[V] {
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
    let atoms = Atoms::of(sets);
    let bounds = &atoms.starts;
    let ranges: usize = sets.iter().map(|set| set.ranges().len()).sum();
    let atom_of = |point: T| atoms.of_point(point);
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
pub(super) fn dedup<T: Clone + Eq + std::hash::Hash>(
    items: impl Iterator<Item = T>,
) -> (Vec<T>, Vec<usize>) {
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

/// The rules that take part in the analysis of `family`, in chain order: resolved, with traffic
/// of the family, and with sources and destinations in it.
pub(super) fn active_rules<T: Point>(
    chain: &Chain,
    family: Family,
    part: fn(&AddrSet) -> &IntervalSet<T>,
) -> Vec<usize> {
    (0..chain.rules.len())
        .filter(|&i| {
            let rule = &chain.rules[i];
            rule.resolved
                && rule.traffic.matches_family(family)
                && !part(&rule.src).is_empty()
                && !part(&rule.dst).is_empty()
        })
        .collect()
}

/// A class of sources, a class of destinations and an interface: packets no rule tells apart.
pub(super) struct Cell {
    id: usize,
    src: u32,
    dst: u32,
    interface: usize,
    /// The cell's rules, as a range of the flat list of every cell's rules.
    pub(super) rules: std::ops::Range<usize>,
}

/// The interface classes of a family's rules, and those each rule's condition on interfaces
/// matches.
struct InterfaceClasses {
    /// Each named interface, then "any other" (no name); each twice, for connections a port
    /// forward translated and for the others, when a rule tells them apart.
    classes: Vec<(Option<String>, bool)>,
    /// The classes each distinct (interfaces, translated) condition matches.
    of_list: Vec<Vec<usize>>,
    /// For each active rule, its condition in `of_list`.
    list_id: Vec<usize>,
}

impl InterfaceClasses {
    fn of(chain: &Chain, active: &[usize]) -> Self {
        let mut names: Vec<Option<String>> = active
            .iter()
            .filter_map(|&i| chain.rules[i].interface.as_ref())
            .flat_map(|list| list.names().iter().cloned().map(Some))
            .collect();
        names.sort();
        names.dedup();
        names.push(None);
        let translations: &[bool] = if active.iter().any(|&i| chain.rules[i].translated) {
            &[false, true]
        } else {
            &[false]
        };
        let interfaces: Vec<(Option<String>, bool)> = names
            .into_iter()
            .flat_map(|name| translations.iter().map(move |&t| (name.clone(), t)))
            .collect();
        let (lists, list_id) = dedup(active.iter().map(|&i| {
            let rule = &chain.rules[i];
            (rule.interface.as_ref(), rule.translated)
        }));
        let of_list: Vec<Vec<usize>> = lists
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
        InterfaceClasses {
            classes: interfaces,
            of_list,
            list_id,
        }
    }
}

/// A family's cells, and what makes a packet of each.
pub(super) struct Cells<T> {
    /// The cells that hold a distinct list of rules, in order of id.
    pub(super) list: Vec<Cell>,
    /// Every cell's rules, flat, each cell's in chain order (see [`Cell::rules`]).
    rules: Vec<usize>,
    /// One address of each class of sources.
    src: Vec<T>,
    /// One address of each class of destinations.
    dst: Vec<T>,
    /// The interface classes: name, and whether a port forward translated the connection.
    interfaces: Vec<(Option<String>, bool)>,
}

impl<T: Point + std::hash::Hash> Cells<T> {
    /// The cells of the `active` rules (see [`active_rules`]), whose addresses in the family are
    /// `part` of theirs.
    pub(super) fn of(
        chain: &Chain,
        active: &[usize],
        part: fn(&AddrSet) -> &IntervalSet<T>,
    ) -> Self {
        let (src_sets, src_id) = dedup(active.iter().map(|&i| part(&chain.rules[i].src)));
        let (dst_sets, dst_id) = dedup(active.iter().map(|&i| part(&chain.rules[i].dst)));
        let src = classes(&src_sets);
        let dst = classes(&dst_sets);
        let interfaces = InterfaceClasses::of(chain, active);

        // Rules of each cell, in chain order: (cell, rule) pairs, sorted by cell stably so that
        // each cell's rules stay in chain order.
        let (dsts, faces) = (dst.representative.len(), interfaces.classes.len());
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for (k, &i) in active.iter().enumerate() {
            let faces_of_rule = &interfaces.of_list[interfaces.list_id[k]];
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

        Cells {
            list: cells,
            rules: cell_rules,
            src: src.representative,
            dst: dst.representative,
            interfaces: interfaces.classes,
        }
    }
}

impl<T> Cells<T> {
    /// The rules of `cell`, in chain order.
    pub(super) fn rules(&self, cell: &Cell) -> &[usize] {
        &self.rules[cell.rules.clone()]
    }
}

impl<T: Copy> Cells<T> {
    /// The packet of `cell` at `port` of `slot`, with `addr` making its addresses.
    pub(super) fn packet(
        &self,
        cell: &Cell,
        slot: usize,
        port: u32,
        addr: &impl Fn(T) -> IpAddr,
    ) -> Packet {
        Packet {
            transport: Transport::from_slot(slot, port),
            src: addr(self.src[cell.src as usize]),
            dst: addr(self.dst[cell.dst as usize]),
            interface: self.interfaces[cell.interface].0.clone(),
            translated: self.interfaces[cell.interface].1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
