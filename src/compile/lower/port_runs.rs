//! Port runs: consecutive plain rules over ports only, with the same destination and interface,
//! from sources that overlap (rules from anywhere between rules from nets, a net inside
//! another). Neither a block (one source) nor a source run (disjoint sources) takes them, and
//! written in order a packet would meet every one of them.
//!
//! Instead the ports decide first. Per protocol the run's port ranges cut the ports into
//! pieces; on each piece only the rules covering it can match, in order, and a packet's source
//! picks the first of them whose sources hold it. So one verdict map per protocol sends each
//! piece of its ports to what decides it: a verdict when the first rule covering it is from
//! anywhere, else a chain of the rules covering it (up to the first from anywhere), each
//! matching its sources, which returns to the next rule when none holds the packet's source.
//! Pieces with the same rules share a chain. A packet meets one map lookup and the few rules
//! of its piece, however many rules, nets and ports the run has.
//!
//! Where ranges overlap heavily (long ranges from many nets), the rules covering each piece grow
//! long and many pieces differ; past a budget the run is written as blocks instead.

use std::sync::Arc;

use foldhash::HashMap;
use std::collections::BTreeSet;

use super::{rule, with_sources, Compiler, Numbered, UnitFrame};
use crate::compile::ruleset::{Action, Match, Rule, Verdict, VmapEntry};
use crate::model::{self, AddrSet, Protocol};

/// A run is written as a port map only if the rules listed over all pieces number at most this
/// many times the run's rules, plus [`LISTED_SLACK`]: the chains of listings are what loading
/// the map costs. 10,000 rules over random ports and ranges of up to 200 from 16 nets or from
/// anywhere list about four times as many, in 4,248 chains, and load in 0.48 s where their
/// 9,000 linear rules loaded in 0.24 s.
const LISTED_PER_RULE: usize = 6;
const LISTED_SLACK: usize = 64;

/// Whether a rule can be part of a port run begun by `first`: plain, over ports only, with the
/// first's destination and interface.
pub(super) fn joins_port_run(first: &model::Rule, rule: &model::Rule) -> bool {
    super::is_plain(rule)
        && !rule.traffic.is_empty()
        && !rule.traffic.has_portless()
        && rule.dst == first.dst
        && rule.dst_negated == first.dst_negated
        && rule.interface == first.interface
}

/// The end of the port run from `start` (`start` itself when its rule cannot begin one).
pub(super) fn port_run(rules: &[Numbered], start: usize) -> usize {
    let first = rules[start].1;
    start
        + rules[start..]
            .iter()
            .take_while(|(_, r)| joins_port_run(first, r))
            .count()
}

/// The rules that can decide a piece of ports: the positions (in the run) of the rules covering
/// it, in order, up to the first from anywhere, without those whose sources an earlier one
/// holds.
type Listing = Vec<usize>;

/// A piece of one protocol's ports, first and last, and its listing.
type Piece = (u16, u16, Listing);

/// What a listing's chain holds: each rule's sources (by number, see [`ports_unit`]) and
/// verdict. Listings of different rules with the same sources and verdicts share a chain.
///
/// [`ports_unit`]: Compiler::ports_unit
type Content = Vec<(usize, model::Verdict)>;

/// What a piece of ports goes to.
#[derive(Clone)]
enum Decides {
    Verdict(model::Verdict),
    Chain(String),
}

impl Compiler<'_> {
    /// A port run's nft rules, or `None` when it is over the budget (see the module's
    /// documentation) and should be written as blocks.
    pub(super) fn ports_unit(
        &mut self,
        rules: &[Numbered],
        frame: &UnitFrame,
    ) -> Option<Vec<Rule>> {
        let budget = LISTED_PER_RULE * rules.len() + LISTED_SLACK;
        let from_anywhere: Vec<bool> = rules.iter().map(|(_, r)| r.src.is_any()).collect();
        // Each rule's sources, numbered: rules with the same sources, written the same way,
        // match them with the same nft rule.
        let mut numbering: HashMap<(&AddrSet, bool, &[String]), usize> = HashMap::default();
        let sources: Vec<usize> = rules
            .iter()
            .map(|(_, r)| {
                let next = numbering.len();
                *numbering
                    .entry((&r.src, r.src_negated, &r.src_names[..]))
                    .or_insert(next)
            })
            .collect();
        // Per protocol, the pieces of ports and the rules that can decide each; all of them
        // before any chain is made, since a run over its budget makes none.
        let mut pieces: Vec<(Protocol, Vec<Piece>)> = Vec::new();
        let mut listed = 0usize;
        for protocol in Protocol::ALL {
            let mut bounds: Vec<(u32, bool, usize)> = Vec::new();
            for (at, (_, r)) in rules.iter().enumerate() {
                for &(lo, hi) in r.traffic.of(protocol).ranges() {
                    bounds.push((u32::from(lo), true, at));
                    bounds.push((u32::from(hi) + 1, false, at));
                }
            }
            // Ends before starts at one position: a rule's ranges never touch each other.
            bounds.sort_unstable();
            let mut covering: BTreeSet<usize> = BTreeSet::new();
            let mut of_protocol = Vec::new();
            let mut k = 0;
            while k < bounds.len() {
                let here = bounds[k].0;
                while k < bounds.len() && bounds[k].0 == here {
                    let (_, starts, at) = bounds[k];
                    if starts {
                        covering.insert(at);
                    } else {
                        covering.remove(&at);
                    }
                    k += 1;
                }
                let Some(&(next, _, _)) = bounds.get(k) else {
                    break;
                };
                if covering.is_empty() {
                    continue;
                }
                let mut listing: Listing = Vec::new();
                for &at in &covering {
                    // A rule whose sources an earlier one of the piece holds never decides it.
                    let src = &rules[at].1.src;
                    if listing.iter().any(|&e| src.is_subset(&rules[e].1.src)) {
                        continue;
                    }
                    listing.push(at);
                    if from_anywhere[at] {
                        break;
                    }
                }
                listed += listing.len();
                if listed > budget {
                    return None;
                }
                of_protocol.push((here as u16, (next - 1) as u16, listing));
            }
            if !of_protocol.is_empty() {
                pieces.push((protocol, of_protocol));
            }
        }
        // What each listing decides: a verdict, or a chain of its rules. One map per protocol
        // (`tcp dport vmap`): the kernel looks a single interval field up in a tree, where a
        // concatenation of protocol and port takes a pass over a bitmap as wide as the map.
        let mut decides: HashMap<Content, Decides> = HashMap::default();
        let mut src_matches: Vec<Option<Vec<Vec<Match>>>> = vec![None; numbering.len()];
        let mut maps: Vec<Rule> = Vec::with_capacity(pieces.len());
        for (protocol, of_protocol) in pieces {
            let mut entries: Vec<VmapEntry> = Vec::new();
            for (lo, hi, listing) in of_protocol {
                let content: Content = listing
                    .iter()
                    .map(|&at| (sources[at], rules[at].1.verdict))
                    .collect();
                let decided = match decides.get(&content) {
                    Some(decided) => decided.clone(),
                    None => {
                        let decided = match listing[..] {
                            [only] if from_anywhere[only] => {
                                Decides::Verdict(rules[only].1.verdict)
                            }
                            _ => {
                                let number = decides.len() + 1;
                                let name = format!("{}_p{number}", frame.chain_name);
                                let chain = self.listing_chain(
                                    rules,
                                    &listing,
                                    &sources,
                                    &mut src_matches,
                                    frame,
                                );
                                self.add_sub_chain(&name, chain);
                                Decides::Chain(name)
                            }
                        };
                        decides.insert(content, decided.clone());
                        decided
                    }
                };
                let verdict = match decided {
                    Decides::Verdict(v) => self.map_verdict(v),
                    Decides::Chain(name) => Verdict::Jump(name),
                };
                match entries.last_mut() {
                    Some(last)
                        if last.verdict == verdict && u32::from(last.hi) + 1 == u32::from(lo) =>
                    {
                        last.hi = hi
                    }
                    _ => entries.push(VmapEntry {
                        protocol,
                        lo,
                        hi,
                        verdict,
                    }),
                }
            }
            maps.push(rule(
                Vec::new(),
                vec![Action::Vmap(entries)],
                &frame.comment,
            ));
        }
        let mut out = Vec::new();
        if maps.is_empty() {
            return Some(out);
        }
        // The destination and interface the run shares; the ports are the map's key.
        let families = self.family_parts(&with_sources(rules[0].1, AddrSet::any()), false);
        match &families[..] {
            [] => {}
            [only] => out.extend(maps.into_iter().map(|mut map| {
                let mut matches = frame.prefix(only);
                matches.append(&mut map.matches);
                map.matches = matches;
                map
            })),
            _ => {
                // The maps once, in a chain of their own each family part jumps to.
                self.add_sub_chain(&frame.chain_name, maps);
                for part in &families {
                    out.push(rule(frame.prefix(part), frame.jump(), &frame.comment));
                }
            }
        }
        Some(out)
    }

    /// The rules of a listing's chain: each of its rules matching its sources, with its verdict.
    /// `src_matches` keeps the matches of each numbered source once made.
    fn listing_chain(
        &mut self,
        rules: &[Numbered],
        listing: &[usize],
        sources: &[usize],
        src_matches: &mut [Option<Vec<Vec<Match>>>],
        frame: &UnitFrame,
    ) -> Vec<Rule> {
        let mut chain = Vec::new();
        for &at in listing {
            let r = rules[at].1;
            let source = sources[at];
            if src_matches[source].is_none() {
                let mut only_sources = r.clone();
                only_sources.dst = Arc::new(AddrSet::any());
                only_sources.dst_names = Arc::from([]);
                only_sources.dst_negated = false;
                only_sources.interface = None;
                src_matches[source] = Some(
                    self.family_parts(&only_sources, false)
                        .into_iter()
                        .map(|part| part.matches)
                        .collect(),
                );
            }
            let verdict = self.map_verdict(r.verdict);
            for matches in src_matches[source].iter().flatten() {
                chain.push(rule(
                    matches.clone(),
                    vec![Action::Verdict(verdict.clone())],
                    &frame.comment,
                ));
            }
        }
        chain
    }
}
