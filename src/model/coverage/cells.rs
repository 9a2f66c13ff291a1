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
        &self.values[self.range(key)]
    }

    /// Where key `key`'s values are in [`Groups::into_values`].
    pub(super) fn range(&self, key: usize) -> std::ops::Range<usize> {
        self.start[key]..self.start[key + 1]
    }

    /// Every group's values, one after the other in order of key.
    pub(super) fn into_values(self) -> Vec<V> {
        self.values
    }
}

/// Classes of points that no set in a list tells apart.
struct Classes<T> {
    /// One member of each class, for example packets.
    representative: Vec<T>,
    /// For each input set, the classes it contains (sorted).
    members: Groups<u32>,
    /// For each class, its *neighbourhood*: classes held by the same sets once the sets of a
    /// single class are left out share one. A block list's addresses inside one net are each a
    /// class of their own, and all one neighbourhood with the rest of the net. Empty unless
    /// asked for.
    neighbourhood: Vec<u32>,
}

impl<T> Classes<T> {
    /// Whether input set `k` holds a single class.
    fn single(&self, k: usize) -> bool {
        self.members.get(k).len() == 1
    }
}

/// The classes of `sets`, with their neighbourhoods when `neighbourhoods`.
fn classes<T: Point + std::hash::Hash>(
    sets: &[&IntervalSet<T>],
    neighbourhoods: bool,
) -> Classes<T> {
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
    // Left to grow: there are as many classes as atoms at most, and often half as many (an
    // address is two atoms, itself and the gap after it); room for every atom was 96 MB at a
    // million clients.
    let mut class_of_signature: HashMap<&[u32], u32> = HashMap::default();
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
    // Neighbourhoods: classes whose sets, without the sets of a single class, are the same.
    let mut neighbourhood_of: HashMap<Vec<u32>, u32> = HashMap::default();
    let mut wide: Vec<u32> = Vec::new();
    let mut neighbourhood_of_atom = |atom: usize| {
        wide.clear();
        wide.extend(
            holders
                .get(atom)
                .iter()
                .filter(|&&k| members.get(k as usize).len() > 1),
        );
        let next = neighbourhood_of.len() as u32;
        match neighbourhood_of.get(wide.as_slice()) {
            Some(&n) => n,
            None => {
                neighbourhood_of.insert(wide.clone(), next);
                next
            }
        }
    };
    let neighbourhood = match neighbourhoods {
        true => first_atom
            .iter()
            .map(|&atom| neighbourhood_of_atom(atom))
            .collect(),
        false => Vec::new(),
    };
    Classes {
        representative,
        members,
        neighbourhood,
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
/// Its rules are a shared list (the rules whose sources span many classes, the same for every
/// cell of its neighbourhood) and its own (the rules whose sources are its class alone), merged
/// in chain order.
pub(super) struct Cell {
    src: u32,
    dst: u32,
    interface: u32,
    /// Its shared list of rules: an index of [`Cells::shared`].
    pub(super) shared: u32,
    /// Its own rules: a range of [`Cells::own_rules`].
    own: std::ops::Range<usize>,
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
    /// The cells that hold a distinct list of rules, ordered by source, destination and
    /// interface class.
    pub(super) list: Vec<Cell>,
    /// The distinct shared lists, each a range of `shared_rules`.
    shared: Vec<std::ops::Range<usize>>,
    shared_rules: Vec<usize>,
    /// Every cell's own rules, flat, each cell's in chain order.
    own_rules: Vec<usize>,
    /// One address of each class of sources.
    src: Vec<T>,
    /// One address of each class of destinations.
    dst: Vec<T>,
    /// The interface classes: name, and whether a port forward translated the connection.
    interfaces: Vec<(Option<String>, bool)>,
}

impl<T: Point + std::hash::Hash> Cells<T> {
    /// The cells of the `active` rules (see [`active_rules`]), whose addresses in the family are
    /// `part` of theirs. With `share`, a rule whose sources are a single class is that class's
    /// own and the others are shared by neighbourhood (see [`Classes::neighbourhood`]); without
    /// it every rule is shared and each class is its own neighbourhood, which lists every cell's
    /// rules in full.
    pub(super) fn of(
        chain: &Chain,
        active: &[usize],
        part: fn(&AddrSet) -> &IntervalSet<T>,
        share: bool,
    ) -> Self {
        let (src_sets, src_id) = dedup(active.iter().map(|&i| part(&chain.rules[i].src)));
        let (dst_sets, dst_id) = dedup(active.iter().map(|&i| part(&chain.rules[i].dst)));
        let src = classes(&src_sets, share);
        let dst = classes(&dst_sets, false);
        let interfaces = InterfaceClasses::of(chain, active);
        let (dsts, faces) = (dst.representative.len(), interfaces.classes.len());
        let classes_of_src = src.representative.len();

        let own_set = |k: usize| share && src.single(k);
        let neighbourhood = |class: u32| {
            if share {
                src.neighbourhood[class as usize] as usize
            } else {
                class as usize
            }
        };
        let neighbourhoods = if share {
            src.neighbourhood
                .iter()
                .max()
                .map_or(0, |&n| n as usize + 1)
        } else {
            classes_of_src
        };
        // The neighbourhoods each shared source set spans.
        let spans: Vec<Vec<usize>> = (0..src_sets.len())
            .map(|k| {
                if own_set(k) {
                    return Vec::new();
                }
                let mut spanned: Vec<usize> = src
                    .members
                    .get(k)
                    .iter()
                    .map(|&c| neighbourhood(c))
                    .collect();
                spanned.sort_unstable();
                spanned.dedup();
                spanned
            })
            .collect();
        let key = |place: usize, d: u32, f: usize| (place * dsts + d as usize) * faces + f;

        // Shared lists, by (neighbourhood, destination, interface), each in chain order.
        let shared_at = Groups::new(neighbourhoods * dsts * faces, || {
            active.iter().enumerate().flat_map(|(k, &i)| {
                let faces_of_rule = &interfaces.of_list[interfaces.list_id[k]];
                let dsts_of_rule = dst.members.get(dst_id[k]);
                spans[src_id[k]].iter().flat_map(move |&n| {
                    dsts_of_rule
                        .iter()
                        .flat_map(move |&d| faces_of_rule.iter().map(move |&f| (key(n, d, f), i)))
                })
            })
        });
        // Own rules, by (class, destination, interface), each in chain order.
        let mut own_pairs: Vec<(usize, usize)> = Vec::new();
        for (k, &i) in active.iter().enumerate() {
            if !own_set(src_id[k]) {
                continue;
            }
            let class = src.members.get(src_id[k])[0] as usize;
            let faces_of_rule = &interfaces.of_list[interfaces.list_id[k]];
            for &d in dst.members.get(dst_id[k]) {
                for &f in faces_of_rule {
                    own_pairs.push((key(class, d, f), i));
                }
            }
        }
        own_pairs.sort_by_key(|&(cell, _)| cell);
        let own_rules: Vec<usize> = own_pairs.iter().map(|&(_, i)| i).collect();

        // Distinct shared lists, numbered as first met.
        let mut shared: Vec<std::ops::Range<usize>> = Vec::new();
        let mut shared_of_list: HashMap<&[usize], u32> = HashMap::default();
        let mut shared_id = |at: usize| -> u32 {
            let list = shared_at.get(at);
            let next = shared.len() as u32;
            *shared_of_list.entry(list).or_insert_with(|| {
                shared.push(shared_at.range(at));
                next
            })
        };
        let place = |cell: usize| (cell / faces / dsts, (cell / faces) % dsts, cell % faces);

        let mut cells: Vec<(usize, Cell)> = Vec::new();
        // The cells with own rules, and how many there are in each shared place.
        let mut own_cells_at: HashMap<usize, usize> = HashMap::default();
        let mut own_keys: Vec<usize> = Vec::new();
        let mut at = 0;
        while at < own_pairs.len() {
            let cell = own_pairs[at].0;
            let end = at + own_pairs[at..].partition_point(|&(c, _)| c == cell);
            let (class, d, f) = place(cell);
            let shared_key = key(neighbourhood(class as u32), d as u32, f);
            *own_cells_at.entry(shared_key).or_default() += 1;
            own_keys.push(cell);
            cells.push((
                cell,
                Cell {
                    src: class as u32,
                    dst: d as u32,
                    interface: f as u32,
                    shared: shared_id(shared_key),
                    own: at..end,
                },
            ));
            at = end;
        }
        // For each shared list, a cell of a class in its neighbourhood without own rules there,
        // if there is one.
        let classes_in = Groups::new(neighbourhoods, || {
            (0..classes_of_src as u32).map(|c| (neighbourhood(c), c))
        });
        for shared_key in 0..neighbourhoods * dsts * faces {
            if shared_at.get(shared_key).is_empty() {
                continue;
            }
            let (n, d, f) = place(shared_key);
            let members = classes_in.get(n);
            if own_cells_at.get(&shared_key).copied().unwrap_or(0) >= members.len() {
                continue;
            }
            let Some(&class) = members.iter().find(|&&c| {
                own_keys
                    .binary_search(&key(c as usize, d as u32, f))
                    .is_err()
            }) else {
                continue;
            };
            let cell = key(class as usize, d as u32, f);
            cells.push((
                cell,
                Cell {
                    src: class,
                    dst: d as u32,
                    interface: f as u32,
                    shared: shared_id(shared_key),
                    own: 0..0,
                },
            ));
        }
        cells.sort_unstable_by_key(|&(cell, _)| cell);
        // Cells that hold the same rules behave the same; analyse each list once.
        let mut seen: HashSet<(u32, &[usize])> =
            HashSet::with_capacity_and_hasher(cells.len(), Default::default());
        let list: Vec<Cell> = cells
            .into_iter()
            .map(|(_, cell)| cell)
            .filter(|c| seen.insert((c.shared, &own_rules[c.own.clone()])))
            .collect();
        drop(seen);
        let shared_rules = shared_at.into_values();
        Cells {
            list,
            shared,
            shared_rules,
            own_rules,
            src: src.representative,
            dst: dst.representative,
            interfaces: interfaces.classes,
        }
    }
}

impl<T> Cells<T> {
    /// The rules `cell` shares with the cells of its neighbourhood, in chain order.
    pub(super) fn shared(&self, cell: &Cell) -> &[usize] {
        &self.shared_rules[self.shared[cell.shared as usize].clone()]
    }

    /// The rules of `cell`'s source class alone, in chain order.
    pub(super) fn own(&self, cell: &Cell) -> &[usize] {
        &self.own_rules[cell.own.clone()]
    }

    /// The rules of `cell` in chain order, into `rules`; the positions its own rules take among
    /// them into `own_at`.
    pub(super) fn merge(&self, cell: &Cell, rules: &mut Vec<usize>, own_at: &mut Vec<u32>) {
        rules.clear();
        own_at.clear();
        let (shared, own) = (self.shared(cell), self.own(cell));
        let mut s = 0;
        for &i in own {
            let before = shared[s..].partition_point(|&r| r < i);
            rules.extend_from_slice(&shared[s..s + before]);
            s += before;
            own_at.push(rules.len() as u32);
            rules.push(i);
        }
        rules.extend_from_slice(&shared[s..]);
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
            interface: self.interfaces[cell.interface as usize].0.clone(),
            translated: self.interfaces[cell.interface as usize].1,
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
        let c = classes(&sets.iter().collect::<Vec<_>>(), false);
        // [0,49], [50,99], [100,149], [150,MAX], each by a point inside it.
        assert_eq!(c.representative, vec![1, 51, 101, 151]);
        assert_eq!(c.members.get(0), [0, 1]);
        assert_eq!(c.members.get(1), [1, 2]);
        assert_eq!(c.members.get(2), [0, 1, 2, 3]);
    }
}
