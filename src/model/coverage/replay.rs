//! Sweeping a run of a family's cells. A small cell whose rules have the traffic, verdicts and
//! rate limits of an earlier cell's, in the same order, finds what that cell found: the events
//! the earlier sweep reported are kept and replayed instead of sweeping again.

use foldhash::HashMap;
use std::sync::OnceLock;

use crate::model::{BaselinePart, Chain, Packet, Rule, RuleOrigin};

use super::attach::Covering;
use super::cells::{dedup, Cell, Cells};
use super::sweep::{rule_value, Findings, Maps, Pieces, DEFAULT};
use super::{Coverage, Detail};

/// For each rule of a chain, a number shared by exactly the rules with the same traffic pieces,
/// verdict and rate limiting: all that a cell's sweep looks at, so two cells whose rules have the
/// same numbers in the same order find the same things, by position.
pub(super) struct TrafficIds(Vec<usize>);

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
fn names_loopback(rule: &Rule) -> bool {
    rule.interface
        .as_ref()
        .is_some_and(|i| !i.is_negated() && i.names().iter().any(|n| n == "lo"))
}

/// What sweeping a family's cells works from, shared by the threads that sweep them.
pub(super) struct FamilySweep<'a, T, P> {
    chain: &'a Chain,
    cells: &'a Cells<T>,
    pieces: &'a Pieces,
    /// Made the first time a cell small enough to look up needs it.
    traffic: OnceLock<TrafficIds>,
    detail: Detail,
    /// Cells of at most this many rules replay the findings of an earlier cell like them.
    memo_rules: usize,
    /// A packet of a cell, at a port of a slot.
    packet_in: &'a P,
}

impl<'a, T, P: Fn(&Cell, usize, u32) -> Packet> FamilySweep<'a, T, P> {
    pub(super) fn new(
        chain: &'a Chain,
        cells: &'a Cells<T>,
        pieces: &'a Pieces,
        detail: Detail,
        memo_rules: usize,
        packet_in: &'a P,
    ) -> Self {
        FamilySweep {
            chain,
            cells,
            pieces,
            traffic: OnceLock::new(),
            detail,
            memo_rules,
            packet_in,
        }
    }

    /// Sweeps cells `range` into `out`, and returns the coverings found. A small cell whose
    /// rules have the traffic, verdicts and rate limits of an earlier cell's, in the same
    /// order, finds what that cell found: its findings are replayed instead of swept again
    /// (a per-client allow list has one cell per client, and a handful of distinct ones).
    pub(super) fn analyse(
        &self,
        range: std::ops::Range<usize>,
        out: &mut Coverage,
    ) -> Vec<Covering> {
        let (chain, pieces, detail) = (self.chain, self.pieces, self.detail);
        let packet_in = self.packet_in;
        let mut maps = Maps::new(detail);
        let mut coverings = Vec::new();
        let mut memo: HashMap<Vec<usize>, std::ops::Range<usize>> = HashMap::default();
        let mut events: Vec<Event> = Vec::new();
        let mut key: Vec<usize> = Vec::new();
        for (index, cell) in self.cells.list[range.clone()].iter().enumerate() {
            let rules = self.cells.rules(cell);
            let mut apply = Apply {
                chain,
                rules,
                result: &mut *out,
                coverings: &mut coverings,
                cell: (range.start + index) as u32,
                packet: |slot: usize, port: u32| packet_in(cell, slot, port),
            };
            if rules.len() > self.memo_rules {
                chain.sweep_cell(rules, pieces, detail, &mut maps, &mut apply);
                continue;
            }
            key.clear();
            let traffic = self.traffic.get_or_init(|| TrafficIds::of(chain, pieces));
            key.extend(rules.iter().map(|&i| traffic[i]));
            let found = match memo.get(key.as_slice()) {
                Some(found) => found.clone(),
                None => {
                    let start = events.len();
                    chain.sweep_cell(rules, pieces, detail, &mut maps, &mut events);
                    memo.insert(key.clone(), start..events.len());
                    start..events.len()
                }
            };
            apply.replay(&events[found]);
        }
        coverings
    }
}
