//! Sweeping a run of a family's cells. Cells of one neighbourhood share most of their rules (a
//! block list's addresses each have a cell of their own, with the deny of the address and every
//! rule of the net around it); cells whose rules have the same traffic, verdicts and rate limits
//! in the same order, and the same shared list, are *alike*: they find the same things by
//! position. Such a batch is swept once; what the sweep finds about the shared rules is applied
//! once, what it finds about each cell's own rules is replayed for every cell, and the own rules
//! that cover a shared rule in each cell are attached to it as one column.

use foldhash::HashMap;

use crate::model::{BaselinePart, Chain, IntervalSet, Packet, Rule, RuleOrigin, Verdict};

use super::attach::{Column, Covering, Swept};
use super::cells::{dedup, Cell, Cells, Groups};
use super::sweep::{rule_value, Findings, Maps, Pieces, DEFAULT};
use super::{Coverage, Detail};

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
    },
}

impl Event {
    fn pos(self) -> u32 {
        match self {
            Event::Won { pos, .. } | Event::Met { pos, .. } | Event::Succeeded { pos, .. } => pos,
        }
    }
}

/// Records a batch's sweep, keeping of each rule's findings only those a [`Apply`] can use: its
/// first win, and its first successor with its own verdict and with another.
struct Record<'a> {
    events: &'a mut Vec<Event>,
    chain: &'a Chain,
    /// The swept rules: position to index in the chain.
    rules: &'a [usize],
    /// Per position: bit 0, a win was kept; bit 1, a successor with the rule's verdict; bit 2,
    /// one with another verdict.
    kept: Vec<u8>,
}

impl Record<'_> {
    /// The bit of `kept` for a successor `next` of the rule at `pos`.
    fn successor_bit(&self, pos: u32, next: u32) -> u8 {
        let verdict = |p: u32| self.chain.rules[self.rules[p as usize]].verdict;
        let next_verdict = if next == DEFAULT {
            self.chain.policy
        } else {
            verdict(next)
        };
        if next_verdict == verdict(pos) {
            2
        } else {
            4
        }
    }
}

impl Findings for Record<'_> {
    fn won(&mut self, pos: u32, slot: usize, port: u32) {
        if self.kept[pos as usize] & 1 == 0 {
            self.kept[pos as usize] |= 1;
            let slot = slot as u8;
            self.events.push(Event::Won { pos, slot, port });
        }
    }

    fn met(&mut self, pos: u32, owner: u32, slot: usize, port: u32) {
        let slot = slot as u8;
        self.events.push(Event::Met {
            pos,
            owner,
            slot,
            port,
        });
    }

    fn succeeded(&mut self, pos: u32, next: u32) {
        let bit = self.successor_bit(pos, next);
        if self.kept[pos as usize] & bit == 0 {
            self.kept[pos as usize] |= bit;
            self.events.push(Event::Succeeded { pos, next });
        }
    }

    fn wants_successors(&self, pos: u32) -> bool {
        self.kept[pos as usize] & 6 != 6
    }
}

/// Which rule of the chain each position of a swept list is, in one cell of a batch: the swept
/// list's own, except at the positions of the cell's own rules.
#[derive(Clone, Copy)]
struct Positions<'a> {
    /// The rules the batch was swept with (its first cell's).
    swept: &'a [usize],
    /// For each position, the index of the own rule there, or `u32::MAX` for a shared rule;
    /// empty when the list is the cell's own.
    own_index: &'a [u32],
    /// The cell's own rules.
    own: &'a [usize],
}

impl Positions<'_> {
    fn rule(&self, pos: u32) -> usize {
        match self.own_index.get(pos as usize) {
            Some(&j) if j != u32::MAX => self.own[j as usize],
            _ => self.swept[pos as usize],
        }
    }
}

/// Findings of one cell applied to the chain's rules as they are found (or replayed).
struct Apply<'a, P> {
    chain: &'a Chain,
    rules: Positions<'a>,
    result: &'a mut Coverage,
    coverings: &'a mut Vec<Covering>,
    cell: u32,
    /// A packet of the cell: slot and port.
    packet: P,
}

impl<P: Fn(usize, u32) -> Packet> Apply<'_, P> {
    fn replay<'e>(&mut self, events: impl IntoIterator<Item = &'e Event>) {
        for &event in events {
            match event {
                Event::Won { pos, slot, port } => self.won(pos, slot.into(), port),
                Event::Met {
                    pos,
                    owner,
                    slot,
                    port,
                } => self.met(pos, owner, slot.into(), port),
                Event::Succeeded { pos, next } => self.succeeded(pos, next),
            }
        }
    }
}

impl<P: Fn(usize, u32) -> Packet> Findings for Apply<'_, P> {
    /// Keeps the first packet the rule wins.
    fn won(&mut self, pos: u32, slot: usize, port: u32) {
        let found = &mut self.result.rules[self.rules.rule(pos)];
        if found.wins.is_none() {
            found.wins = Some(Box::new((self.packet)(slot, port)));
        }
    }

    fn met(&mut self, pos: u32, owner: u32, slot: usize, port: u32) {
        let (rule, owner) = (self.rules.rule(pos), self.rules.rule(owner));
        if quiet_covering(self.chain, rule, owner) {
            return;
        }
        self.coverings.push(Covering {
            rule: rule_value(rule),
            owner: rule_value(owner),
            column: false,
            cell: self.cell,
            port,
            slot: slot as u8,
        });
    }

    fn succeeded(&mut self, pos: u32, next: u32) {
        let rule = self.rules.rule(pos);
        let next = (next != DEFAULT).then(|| self.rules.rule(next));
        let chain = self.chain;
        let next_verdict = next.map_or(chain.policy, |n| chain.rules[n].verdict);
        self.result.rules[rule].succeeded_by(chain.rules[rule].verdict, next, next_verdict);
    }

    fn wants_successors(&self, pos: u32) -> bool {
        !self.result.rules[self.rules.rule(pos)].needed
    }
}

/// Every rule without `on` matches loopback traffic, which the baseline accepts first; that is a
/// covering only of rules that name `lo` themselves.
fn quiet_covering(chain: &Chain, rule: usize, owner: usize) -> bool {
    chain.rules[owner].origin == RuleOrigin::Baseline(BaselinePart::Loopback)
        && !names_loopback(&chain.rules[rule])
}

/// Whether a rule's `on` names the loopback interface.
fn names_loopback(rule: &Rule) -> bool {
    rule.interface
        .as_ref()
        .is_some_and(|i| !i.is_negated() && i.names().iter().any(|n| n == "lo"))
}

/// Cells swept as one (see the module's documentation): `members` are indices of
/// [`Cells::list`], the first first.
struct Batches {
    members: Groups<u32>,
    /// How many rule visits each batch costs.
    work: Vec<usize>,
}

impl Batches {
    /// The batches of `cells`, in order of their first cells. With `alike` false, each cell is a
    /// batch of its own.
    fn of<T>(chain: &Chain, cells: &Cells<T>, pieces: &Pieces, alike: bool) -> Self {
        let shared_lists = cells.list.iter().map(|c| c.shared as usize + 1).max();
        // How many cells with own rules each shared list has: only where there are two can
        // cells be alike.
        let mut with_own = vec![0u32; shared_lists.unwrap_or(0)];
        for cell in &cells.list {
            if !cells.own(cell).is_empty() {
                with_own[cell.shared as usize] += 1;
            }
        }
        let traffic =
            (alike && with_own.iter().any(|&n| n > 1)).then(|| TrafficIds::of(chain, pieces));
        let mut batch_of_key: HashMap<(u32, Vec<(u32, u32)>), u32> = HashMap::default();
        let mut work: Vec<usize> = Vec::new();
        let mut key: Vec<(u32, u32)> = Vec::new();
        let batch: Vec<u32> = cells
            .list
            .iter()
            .map(|cell| {
                let (shared, own) = (cells.shared(cell), cells.own(cell));
                let rules = shared.len() + own.len();
                let Some(traffic) = traffic
                    .as_ref()
                    .filter(|_| with_own[cell.shared as usize] > 1)
                else {
                    work.push(rules);
                    return (work.len() - 1) as u32;
                };
                // The cell's own rules by where they fall among the shared ones, and their
                // traffic.
                key.clear();
                key.extend(own.iter().map(|&i| {
                    let at = shared.partition_point(|&r| r < i) as u32;
                    (at, traffic.0[i] as u32)
                }));
                let next = work.len() as u32;
                let lookup = (cell.shared, std::mem::take(&mut key));
                let id = match batch_of_key.get(&lookup) {
                    Some(&id) => {
                        key = lookup.1;
                        id
                    }
                    None => {
                        key = lookup.1.clone();
                        batch_of_key.insert(lookup, next);
                        work.push(rules);
                        next
                    }
                };
                if id != next {
                    work[id as usize] += own.len();
                }
                id
            })
            .collect();
        let members = Groups::new(work.len(), || {
            (0u32..).zip(&batch).map(|(cell, &b)| (b as usize, cell))
        });
        Batches { members, work }
    }
}

/// What sweeping a family's cells works from, shared by the threads that sweep them.
pub(super) struct FamilySweep<'a, T, P> {
    chain: &'a Chain,
    cells: &'a Cells<T>,
    pieces: &'a Pieces,
    batches: Batches,
    detail: Detail,
    /// A packet of a cell, at a port of a slot.
    packet_in: &'a P,
}

impl<'a, T, P: Fn(&Cell, usize, u32) -> Packet> FamilySweep<'a, T, P> {
    /// With `alike` false, every cell is swept on its own (what the batches must agree with).
    pub(super) fn new(
        chain: &'a Chain,
        cells: &'a Cells<T>,
        pieces: &'a Pieces,
        detail: Detail,
        alike: bool,
        packet_in: &'a P,
    ) -> Self {
        FamilySweep {
            chain,
            cells,
            pieces,
            batches: Batches::of(chain, cells, pieces, alike),
            detail,
            packet_in,
        }
    }

    /// How many batches there are, and the rule visits of each.
    pub(super) fn work(&self) -> &[usize] {
        &self.batches.work
    }

    /// Sweeps batches `range` into `out`, and returns the coverings found.
    pub(super) fn analyse(&self, range: std::ops::Range<usize>, out: &mut Coverage) -> Swept {
        let (chain, pieces, detail, cells) = (self.chain, self.pieces, self.detail, self.cells);
        let mut maps = Maps::new(detail);
        let mut swept = Swept::default();
        let mut events: Vec<Event> = Vec::new();
        let (mut rules, mut own_at) = (Vec::new(), Vec::new());
        for batch in range {
            let members = self.batches.members.get(batch);
            let first = &cells.list[members[0] as usize];
            cells.merge(first, &mut rules, &mut own_at);
            if members.len() == 1 {
                let mut apply = self.apply_in(members[0], &rules, &[], out, &mut swept.coverings);
                chain.sweep_cell(&rules, pieces, detail, &mut maps, &mut apply);
                continue;
            }
            events.clear();
            let mut record = Record {
                events: &mut events,
                chain,
                rules: &rules,
                kept: vec![0; rules.len()],
            };
            chain.sweep_cell(&rules, pieces, detail, &mut maps, &mut record);
            self.apply_batch(members, &rules, &own_at, &events, out, &mut swept);
        }
        swept
    }

    /// Applies what the sweep of a batch found: about its shared rules once, in its first cell;
    /// about each cell's own rules in that cell; and the own rules that cover a shared rule as
    /// one column of owners.
    fn apply_batch(
        &self,
        members: &[u32],
        rules: &[usize],
        own_at: &[u32],
        events: &[Event],
        out: &mut Coverage,
        swept: &mut Swept,
    ) {
        let (chain, cells) = (self.chain, self.cells);
        let mut own_index = vec![u32::MAX; rules.len()];
        for (j, &pos) in (0u32..).zip(own_at) {
            own_index[pos as usize] = j;
        }
        let is_own = |pos: u32| own_index[pos as usize] != u32::MAX;
        let mut per_cell: Vec<Event> = Vec::new();
        // Own rules met by shared rules, by index among the own rules: the column made of them.
        let mut columns: HashMap<u32, Option<u32>> = HashMap::default();
        {
            let mut apply = self.apply_in(members[0], rules, &own_index, out, &mut swept.coverings);
            for &event in events {
                match event {
                    _ if is_own(event.pos()) => per_cell.push(event),
                    Event::Met {
                        pos,
                        owner,
                        slot,
                        port,
                    } if is_own(owner) => {
                        let j = own_index[owner as usize];
                        let column = *columns.entry(j).or_insert_with(|| {
                            column(chain, cells, members, j).map(|column| {
                                swept.columns.push(column);
                                (swept.columns.len() - 1) as u32
                            })
                        });
                        match column {
                            Some(k) => apply.coverings.push(Covering {
                                rule: rule_value(rules[pos as usize]),
                                owner: k,
                                column: true,
                                cell: swept.columns[k as usize].cell,
                                port,
                                slot,
                            }),
                            None => per_cell.push(event),
                        }
                    }
                    _ => apply.replay([&event]),
                }
            }
        }
        if per_cell.is_empty() {
            return;
        }
        for &m in members {
            self.apply_in(m, rules, &own_index, out, &mut swept.coverings)
                .replay(&per_cell);
        }
    }

    /// What applies findings in cell `m` (an index of [`Cells::list`]) of a batch swept with
    /// `swept`, whose own rules sit at `own_index` (empty for a batch of one cell).
    fn apply_in<'x>(
        &'x self,
        m: u32,
        swept: &'x [usize],
        own_index: &'x [u32],
        out: &'x mut Coverage,
        coverings: &'x mut Vec<Covering>,
    ) -> Apply<'x, impl Fn(usize, u32) -> Packet + 'x> {
        let cell = &self.cells.list[m as usize];
        let packet_in = self.packet_in;
        Apply {
            chain: self.chain,
            rules: Positions {
                swept,
                own_index,
                own: self.cells.own(cell),
            },
            result: out,
            coverings,
            cell: m,
            packet: move |slot: usize, port: u32| packet_in(cell, slot, port),
        }
    }
}

/// The own rules at index `j` of the cells `members` of a batch, as one column of owners, or
/// `None` when one of them is the baseline's loopback part (whose coverings depend on the rule
/// covered, see [`quiet_covering`]).
fn column<T>(chain: &Chain, cells: &Cells<T>, members: &[u32], j: u32) -> Option<Column> {
    let mut owners: Vec<(usize, u32)> = members
        .iter()
        .map(|&m| (cells.own(&cells.list[m as usize])[j as usize], m))
        .collect();
    if owners
        .iter()
        .any(|&(i, _)| chain.rules[i].origin == RuleOrigin::Baseline(BaselinePart::Loopback))
    {
        return None;
    }
    owners.sort_unstable();
    let (first, cell) = owners[0];
    let verdict: Verdict = chain.rules[first].verdict;
    debug_assert!(owners
        .iter()
        .all(|&(i, _)| chain.rules[i].verdict == verdict));
    Some(Column {
        owners: IntervalSet::from_ranges(owners.iter().map(|&(i, _)| (i as u32, i as u32))),
        first: rule_value(first),
        cell,
    })
}
