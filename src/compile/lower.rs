//! Model -> ruleset: the policy's chains as nft chains with the same first-match meaning.
//!
//! Rules are taken in order and grouped into units:
//! - a *block*: consecutive plain rules (no limit, log or counter) with the same addresses and
//!   interface. Only their ports differ, so [`first_match`] turns them into one verdict map over
//!   disjoint port intervals (or one set when they share a verdict). However many rules and ports
//!   a block has, a packet meets one lookup.
//! - a *source run*: consecutive plain rules with the same destination and interface whose
//!   sources are, pairwise, the same or disjoint. A packet's source then picks at most one group
//!   of them (the rules with that source), and first match within the group decides. When every
//!   rule has the same verdict and services the run is one block from the union of its sources
//!   (`ip saddr @input_r3_src_v4 drop`); else one verdict map per family from source to the
//!   group's verdict or to a chain of the group's own holding its block dispatch
//!   (`ip saddr vmap { 10.1.0.0/16 : jump input_r3_s1, 10.9.0.0/16 : drop }`). However many rules,
//!   nets and ports the run has, a packet meets one source lookup and one group's dispatch.
//! - a *port run*: consecutive plain rules over ports only with the same destination and
//!   interface, from sources that overlap, of 16 blocks or more: one verdict map per protocol
//!   from port to a verdict or to a chain of the rules that can decide those ports (see
//!   [`port_runs`]).
//! - a *decorated* rule: one with a limit, log or counter, kept in its place. Consecutive rules
//!   that only log, with the same prefix, verdict, addresses and interface, are merged.
//!
//! A unit whose match needs several nft rules (both address families restricted, or ports plus
//! other protocols) but whose action must run once (a rate limit's single token bucket) jumps to a
//! small chain of its own; when the chain returns, evaluation continues with the next unit, just as
//! [`crate::model::Chain::evaluate`] moves past a rate-limited rule over its rate.

mod port_runs;

use foldhash::{HashMap, HashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::baseline;
use super::names::{self, Namer};
use super::partition::first_match;
use super::ruleset::{
    Action, AddrElem, AddrValue, BaseChain, ByteEntry, ByteKey, Chain, CtState, Direction, Helper,
    Hook, Limit, Match, RejectWith, Rule, Ruleset, SetDef, SourceEntry, Verdict, VmapEntry,
};
use super::CompileError;
use crate::config::CompileConfig;
use crate::model::values;
use crate::model::{
    self, AddrSet, BaselinePart, Family, Forward, Host, IntervalSet, Policy, Protocol, RuleOrigin,
    Traffic,
};
use crate::model::{ChainKind, RateUnit};
use crate::source::Sources;

/// The chain every `reject` that mixes TCP with other protocols goes to.
const REJECT_CHAIN: &str = "reject_packet";
const FTP_HELPER: &str = "ftp-standard";
/// A block that matches both address families is written twice inline up to this many elements;
/// beyond it the block gets its own chain so the map exists once.
const INLINE_ELEMENTS: usize = 64;
/// A run's union of sources is a named set beyond this many elements, written inline up to it.
const INLINE_SOURCES: usize = 16;
/// A run of rules from different sources becomes a verdict map over the sources from this many
/// sources and rules on. A shorter run costs a packet a few rules more as blocks, while its map
/// would cost a chain per source to load: a policy of many short runs between rules `from any`
/// loaded twice as slowly with maps.
const MAP_GROUPS: usize = 3;
const MAP_RULES: usize = 16;
/// Per-source rate state is kept at most this long after a source's last packet.
const MAX_METER_TIMEOUT: u64 = 30 * 24 * 3600;

pub(super) fn compile(
    policy: &Policy,
    host: &Host,
    config: &CompileConfig,
    sources: Option<&Sources>,
) -> Result<Ruleset, CompileError> {
    check_host(host, config)?;
    let mut compiler = Compiler {
        policy,
        host,
        config,
        sources,
        namer: Namer::default(),
        sets: Vec::new(),
        counters: Vec::new(),
        sub_chains: Vec::new(),
        reject_chain: false,
        ftp: false,
    };
    let mut chains = Vec::new();
    for kind in ChainKind::ALL {
        if let Some(chain) = host.chain(kind) {
            chains.push(compiler.filter_chain(chain)?);
        }
    }
    if !host.forwards.is_empty() {
        chains.push(compiler.nat_chain());
    }
    if !host.source_nats.is_empty() {
        chains.push(compiler.source_nat_chain());
    }
    chains.append(&mut compiler.sub_chains);
    if compiler.reject_chain {
        chains.push(Chain {
            name: REJECT_CHAIN.to_string(),
            base: None,
            rules: reject_rules(None),
        });
    }
    let helpers = if compiler.ftp {
        vec![Helper {
            name: FTP_HELPER,
            kind: "ftp",
            protocol: Protocol::Tcp,
        }]
    } else {
        Vec::new()
    };
    Ok(Ruleset {
        table: config.table.to_string(),
        host: host.name.as_deref().map(names::comment),
        helpers,
        counters: compiler.counters,
        sets: compiler.sets,
        chains,
    })
}

/// What a host must be before any of it is written: at most one chain of each kind, the baseline
/// the configuration compiles in each chain, and interface names nft takes in its NAT statements.
fn check_host(host: &Host, config: &CompileConfig) -> Result<(), CompileError> {
    for kind in ChainKind::ALL {
        if host.chains.iter().filter(|c| c.kind == kind).count() > 1 {
            return Err(CompileError::DuplicateChain { chain: kind });
        }
    }
    for chain in &host.chains {
        check_baseline(chain, config)?;
    }
    let nat_interfaces = host
        .forwards
        .iter()
        .filter_map(|f| f.interface.as_ref())
        .map(|i| ("forward-port", i))
        .chain(host.source_nats.iter().map(|n| {
            let statement = if n.to.is_some() { "snat" } else { "masquerade" };
            (statement, &n.interface)
        }));
    for (statement, list) in nat_interfaces {
        if let Some(name) = list
            .names()
            .iter()
            .find(|n| values::check_interface(n).is_err())
        {
            return Err(CompileError::NatInterface {
                statement,
                name: name.clone(),
            });
        }
    }
    Ok(())
}

struct Compiler<'a> {
    policy: &'a Policy,
    host: &'a Host,
    config: &'a CompileConfig,
    sources: Option<&'a Sources>,
    namer: Namer,
    sets: Vec<SetDef>,
    counters: Vec<String>,
    sub_chains: Vec<Chain>,
    reject_chain: bool,
    ftp: bool,
}

/// A rule of the policy with its 1-based position in its chain.
type Numbered<'r> = (usize, &'r model::Rule);

/// Which protocols a match admits, which decides how `reject` can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    TcpOnly,
    NoTcp,
    Mixed,
}

impl Shape {
    fn of(traffic: &Traffic) -> Shape {
        let tcp = !traffic.of(Protocol::Tcp).is_empty();
        let other = traffic.has_portless()
            || Protocol::ALL
                .into_iter()
                .any(|p| p != Protocol::Tcp && !traffic.of(p).is_empty());
        match (tcp, other) {
            (true, false) => Shape::TcpOnly,
            (false, _) => Shape::NoTcp,
            (true, true) => Shape::Mixed,
        }
    }
}

/// One nft rule of a unit, before the unit's address and interface matches: what it matches,
/// and the address family its protocol limits it to (ICMP is IPv4's, ICMPv6 IPv6's).
struct Part<T> {
    matches: Vec<Match>,
    family: Option<Family>,
    with: T,
}

impl<T> Part<T> {
    /// Whether the part can match packets of a unit's family part (`None`: both families), and
    /// the matches it needs there: `meta l4proto icmp` says nothing of the family by itself.
    fn within(&self, family: Option<Family>) -> Option<Vec<Match>> {
        match (self.family, family) {
            (Some(own), Some(other)) if own != other => None,
            (Some(own), None) if self.matches.contains(&Match::Icmp(own)) => {
                let mut matches = vec![Match::Nfproto(own)];
                matches.extend(self.matches.iter().cloned());
                Some(matches)
            }
            _ => Some(self.matches.clone()),
        }
    }
}

/// A family part of a unit with the parts (matches, and actions or shape) it writes.
type Emitted<'f, T> = (&'f FamilyPart, Vec<(Vec<Match>, T)>);

/// A run of ports (or types, or protocol numbers) and the verdict of the first rule owning it.
type Owned = (u16, u16, model::Verdict);

/// The address part of a unit for one family (or for both, `family: None`, when unrestricted).
struct FamilyPart {
    family: Option<Family>,
    matches: Vec<Match>,
}

/// What every nft rule of a unit shares: the comment that locates the unit's rules, the
/// interface match, and the name of the chain of its own it jumps to when it needs one.
struct UnitFrame {
    comment: String,
    interface: Vec<Match>,
    chain_name: String,
}

impl UnitFrame {
    /// The interface and address matches a rule of the unit starts with, in one family part.
    fn prefix(&self, family: &FamilyPart) -> Vec<Match> {
        self.interface
            .iter()
            .chain(&family.matches)
            .cloned()
            .collect()
    }

    /// The action that goes to the unit's own chain.
    fn jump(&self) -> Vec<Action> {
        vec![Action::Verdict(Verdict::Jump(self.chain_name.clone()))]
    }
}

/// What a group of a source run decides ([`Compiler::group_decision`]).
#[derive(Debug, Clone, Default)]
struct GroupDecision {
    /// The map's verdict for the group's sources; none when the group matches nothing.
    verdict: Option<Verdict>,
    /// The chain of [`Compiler::sub_chains`] it jumps to, if any.
    chain: Option<usize>,
}

/// A block's traffic cut into runs, each with the verdict of the first rule owning it: per
/// protocol with ports, per ICMP family (IPv4's first), and for the other protocols.
struct OwnedRuns {
    ports: Vec<(Protocol, Vec<Owned>)>,
    icmp: [Vec<Owned>; 2],
    other: Vec<Owned>,
}

impl OwnedRuns {
    fn of(rules: &[Numbered]) -> OwnedRuns {
        OwnedRuns {
            ports: Protocol::ALL
                .into_iter()
                .map(|p| (p, owned_runs(rules, |t| t.of(p).ranges().to_vec())))
                .collect(),
            icmp: [Family::V4, Family::V6]
                .map(|family| owned_runs(rules, |t| byte_ranges(t.icmp_of(family)))),
            other: owned_runs(rules, |t| byte_ranges(&t.other)),
        }
    }
}

impl Compiler<'_> {
    fn filter_chain(&mut self, chain: &model::Chain) -> Result<Chain, CompileError> {
        let kind = chain.kind;
        // Rules are numbered as written: the baseline and port forwards come first in the
        // model's chain but are not the policy's rules.
        let numbered: Vec<Numbered> = chain
            .rules
            .iter()
            .filter(|r| r.is_written())
            .enumerate()
            .map(|(i, r)| (i + 1, r))
            .collect();
        for &(number, rule) in &numbered {
            validate(kind, number, rule)?;
        }
        let mut rules = Vec::new();
        if numbered.iter().any(|(_, r)| allows_ftp(r)) {
            self.ftp = true;
            rules.push(Rule {
                matches: vec![
                    Match::CtState(CtState::New),
                    Match::Dport(Protocol::Tcp, vec![(21, 21)]),
                ],
                actions: vec![Action::CtHelper(FTP_HELPER)],
                comment: Some("ftp: track the data connections of the control connection".into()),
            });
        }
        rules.extend(baseline::connection_state(kind, &self.config.baseline));
        // The model's rules before the written ones, in its order.
        let mut parts_written = Vec::new();
        for rule in chain.rules.iter().filter(|r| !r.is_written()) {
            match rule.origin {
                RuleOrigin::Baseline(part) if !parts_written.contains(&part) => {
                    parts_written.push(part);
                    rules.extend(baseline::part(kind, part));
                }
                RuleOrigin::PortForward(index) => {
                    rules.extend(self.host.forwards.get(index).and_then(forward_accept));
                }
                _ => {}
            }
        }
        for unit in units(&numbered, true) {
            let lowered = self.unit(kind, unit);
            rules.extend(lowered);
        }
        if chain.policy == model::Verdict::Reject {
            rules.extend(reject_rules(Some("default: reject")));
        }
        Ok(Chain {
            name: kind.as_str().to_string(),
            base: Some(BaseChain {
                nat: false,
                hook: match kind {
                    ChainKind::Input => Hook::Input,
                    ChainKind::Output => Hook::Output,
                    ChainKind::Forward => Hook::Forward,
                },
                accept: chain.policy == model::Verdict::Accept,
            }),
            rules,
        })
    }

    /// Destination NAT for the port forwards: connections to the host's own addresses (or to
    /// `at`), from `from`, on `on`, to the forwarded ports.
    fn nat_chain(&mut self) -> Chain {
        let mut rules = Vec::new();
        for forward in &self.host.forwards {
            let family = Family::of(forward.target);
            let Some(mut matches) = family_only(&forward.from, family) else {
                continue;
            };
            if let Some(list) = &forward.interface {
                matches.insert(0, interface_match(false, list));
            }
            match &forward.at {
                Some(at) => {
                    let (empty, full) = family_extent(at, family);
                    if empty {
                        continue;
                    }
                    if !full {
                        matches.push(Match::Addr {
                            family,
                            direction: Direction::Destination,
                            value: AddrValue::Elements(addr_elements(at, family)),
                            negated: false,
                        });
                    }
                }
                // Only connections to the host itself: those through it keep their way.
                None => matches.push(Match::FibLocal),
            }
            matches.push(Match::Dport(
                forward.protocol,
                vec![(forward.ports.lo, forward.ports.hi)],
            ));
            rules.push(Rule {
                matches,
                actions: vec![Action::Dnat {
                    addr: forward.target,
                    port: forward.target_port,
                }],
                comment: Some(self.locate_span(forward.span, "forward-port")),
            });
        }
        Chain {
            name: "prerouting".to_string(),
            base: Some(BaseChain {
                nat: true,
                hook: Hook::Prerouting,
                accept: true,
            }),
            rules,
        }
    }

    /// Source NAT: `masquerade` and `snat`, on the way out by their interfaces.
    fn source_nat_chain(&mut self) -> Chain {
        let mut rules = Vec::new();
        for nat in &self.host.source_nats {
            let comment = Some(self.locate_span(
                nat.span,
                if nat.to.is_some() {
                    "snat"
                } else {
                    "masquerade"
                },
            ));
            let interface = interface_match(true, &nat.interface);
            let families: Vec<Family> = match nat.to {
                Some(to) => vec![Family::of(to)],
                None => vec![Family::V4, Family::V6],
            };
            let (v4_full, v6_full) = (nat.from.v4.is_full(), nat.from.v6.is_full());
            if nat.to.is_none() && v4_full && v6_full {
                // Every source of both families: one rule.
                rules.push(Rule {
                    matches: vec![interface],
                    actions: vec![Action::Masquerade],
                    comment,
                });
                continue;
            }
            for family in families {
                let Some(mut matches) = family_only(&nat.from, family) else {
                    continue;
                };
                matches.insert(0, interface.clone());
                rules.push(Rule {
                    matches,
                    actions: vec![match nat.to {
                        Some(to) => Action::Snat(to),
                        None => Action::Masquerade,
                    }],
                    comment: comment.clone(),
                });
            }
        }
        Chain {
            name: "postrouting".to_string(),
            base: Some(BaseChain {
                nat: true,
                hook: Hook::Postrouting,
                accept: true,
            }),
            rules,
        }
    }

    fn unit(&mut self, kind: ChainKind, unit: Unit) -> Vec<Rule> {
        let (first_index, first) = unit.rules[0];
        let frame = UnitFrame {
            comment: self.locate(kind, &unit.rules),
            interface: first
                .interface
                .iter()
                .map(|list| interface_match(kind == ChainKind::Output, list))
                .collect(),
            chain_name: format!("{kind}_r{first_index}"),
        };
        if unit.kind == UnitKind::Sources {
            return self.sources_unit(kind, &unit.rules, &frame);
        }
        if unit.kind == UnitKind::Ports {
            if let Some(rules) = self.ports_unit(&unit.rules, &frame) {
                return rules;
            }
            // Over its budget: the run as the other units it is made of.
            return units(&unit.rules, false)
                .into_iter()
                .flat_map(|unit| self.unit(kind, unit))
                .collect();
        }
        let per_source = first.limit.as_ref().is_some_and(|l| l.per_source);
        let families = self.family_parts(first, per_source);
        if families.is_empty() {
            // `from 10.0.0.0/8 to 2001:db8::/32`: no packet has both.
            return Vec::new();
        }
        if unit.kind == UnitKind::Block {
            self.block_unit(&unit.rules, &families, &frame)
        } else {
            self.decorated_unit(kind, &unit.rules, &families, &frame)
        }
    }

    /// A block's nft rules: its dispatch written under each family part when that is cheap, else
    /// written once in a chain of its own that each family part jumps to.
    fn block_unit(
        &mut self,
        rules: &[Numbered],
        families: &[FamilyPart],
        frame: &UnitFrame,
    ) -> Vec<Rule> {
        let dispatch = self.block_dispatch(rules);
        let per_family = per_family(families, &dispatch, |actions| actions);
        let mut out = Vec::new();
        if per_family.is_empty() {
            return out;
        }
        let elements = dispatch_elements(&dispatch);
        let inline = per_family.len() == 1
            || (dispatch.len() == 1 && elements <= INLINE_ELEMENTS)
            || dispatch.iter().any(|d| d.family.is_some());
        if inline {
            for (family, parts) in &per_family {
                for (matches, actions) in parts {
                    let mut m = frame.prefix(family);
                    m.extend(matches.iter().cloned());
                    out.push(rule(m, (*actions).clone(), &frame.comment));
                }
            }
        } else {
            let rules = dispatch
                .iter()
                .map(|d| rule(d.matches.clone(), d.with.clone(), &frame.comment))
                .collect();
            self.add_sub_chain(&frame.chain_name, rules);
            for (family, _) in &per_family {
                out.push(rule(frame.prefix(family), frame.jump(), &frame.comment));
            }
        }
        out
    }

    /// A source run's nft rules. The run's sources fall into groups (rules with the same source),
    /// pairwise disjoint, so a packet's source selects at most one group and first match within
    /// it decides. When every rule has the same verdict and services the groups decide alike and
    /// the run is one block from the union of the sources; else each family gets one verdict map
    /// from source to what the group decides: its verdict when it decides everything it matches
    /// alike, else a jump to a chain holding the group's block dispatch, which returns to the
    /// next rule when none of the group's rules matches.
    fn sources_unit(
        &mut self,
        kind: ChainKind,
        rules: &[Numbered],
        frame: &UnitFrame,
    ) -> Vec<Rule> {
        let first = rules[0].1;
        let mut index: HashMap<&AddrSet, usize> = HashMap::default();
        let mut groups: Vec<(&AddrSet, Vec<Numbered>)> = Vec::new();
        for &(number, rule) in rules {
            let at = *index.entry(&rule.src).or_insert_with(|| {
                groups.push((&rule.src, Vec::new()));
                groups.len() - 1
            });
            groups[at].1.push((number, rule));
        }
        if decide_alike(rules) {
            let union = with_sources(
                first,
                AddrSet::union_all(groups.iter().map(|(src, _)| *src)),
            );
            let mut families = self.family_parts(&union, false);
            for part in &mut families {
                self.name_sources(part, frame);
            }
            return self.block_unit(&rules[..1], &families, frame);
        }
        // The destination and interface the run shares; the source is the map's key.
        let families = self.family_parts(&with_sources(first, AddrSet::any()), true);
        let mut decides = Vec::with_capacity(groups.len());
        let mut chains_by_content: HashMap<u64, Vec<(usize, String)>> = HashMap::default();
        // What a group decides follows from its rules' traffic and verdicts alone: groups alike
        // in those (a million clients each allowed one of a dozen services) are worked out once.
        let mut by_shape: HashMap<Vec<(*const Traffic, model::Verdict)>, GroupDecision> =
            HashMap::default();
        for (k, (_, members)) in groups.iter().enumerate() {
            let shape: Vec<_> = members
                .iter()
                .map(|(_, r)| (Arc::as_ptr(&r.traffic), r.verdict))
                .collect();
            let decision = match by_shape.get(&shape) {
                Some(known) => {
                    if let Some(at) = known.chain {
                        self.share_sub_chain(at, frame);
                    }
                    known.clone()
                }
                None => {
                    let decision =
                        self.group_decision(kind, members, k, frame, &mut chains_by_content);
                    by_shape.insert(shape, decision.clone());
                    decision
                }
            };
            decides.push(decision.verdict);
        }
        let mut out = Vec::new();
        for part in families {
            let Some(family) = part.family else {
                continue;
            };
            let entries: Vec<SourceEntry> = groups
                .iter()
                .zip(&decides)
                .filter_map(|((src, _), verdict)| Some((src, verdict.as_ref()?)))
                .flat_map(|(src, verdict)| {
                    addr_elements(src, family)
                        .into_iter()
                        .map(move |addr| SourceEntry {
                            addr,
                            verdict: verdict.clone(),
                        })
                })
                .collect();
            if entries.is_empty() {
                continue;
            }
            // `ip saddr` in the key implies the family.
            let mut matches = frame.interface.clone();
            matches.extend(
                part.matches
                    .into_iter()
                    .filter(|m| !matches!(m, Match::Nfproto(_))),
            );
            out.push(rule(
                matches,
                vec![Action::SourceVmap(family, entries)],
                &frame.comment,
            ));
        }
        out
    }

    /// What one group of a source run decides: a verdict for everything it matches, a jump to a
    /// chain holding its block's dispatch (which returns when none of its rules matches), or
    /// nothing. Groups whose chains would hold the same rules share one; a shared chain's comment
    /// names the run.
    fn group_decision(
        &mut self,
        kind: ChainKind,
        members: &[Numbered],
        k: usize,
        frame: &UnitFrame,
        chains_by_content: &mut HashMap<u64, Vec<(usize, String)>>,
    ) -> GroupDecision {
        let dispatch = self.block_dispatch(members);
        // Without comments until the group is known to need a chain of its own: most groups
        // of a long run share one or decide a verdict, and their places are never written.
        let mut rules: Vec<Rule> = dispatch
            .iter()
            .filter_map(|d| {
                Some(Rule {
                    matches: d.within(None)?,
                    actions: d.with.clone(),
                    comment: None,
                })
            })
            .collect();
        if rules.is_empty() {
            return GroupDecision::default();
        }
        if let [only] = &rules[..] {
            if let (true, [Action::Verdict(verdict)]) = (only.matches.is_empty(), &only.actions[..])
            {
                return GroupDecision {
                    verdict: Some(verdict.clone()),
                    chain: None,
                };
            }
        }
        let key = content_hash(&rules);
        let same = chains_by_content.get(&key).and_then(|chains| {
            chains.iter().find(|(at, _)| {
                let chain = &self.sub_chains[*at].rules;
                chain.len() == rules.len()
                    && chain
                        .iter()
                        .zip(&rules)
                        .all(|(a, b)| a.matches == b.matches && a.actions == b.actions)
            })
        });
        if let Some((at, name)) = same {
            let (at, name) = (*at, name.clone());
            self.share_sub_chain(at, frame);
            return GroupDecision {
                verdict: Some(Verdict::Jump(name)),
                chain: Some(at),
            };
        }
        let comment = self.locate(kind, members);
        for rule in &mut rules {
            rule.comment = Some(comment.clone());
        }
        let name = format!("{}_s{}", frame.chain_name, k + 1);
        let at = self.sub_chains.len();
        chains_by_content
            .entry(key)
            .or_default()
            .push((at, name.clone()));
        self.add_sub_chain(&name, rules);
        GroupDecision {
            verdict: Some(Verdict::Jump(name)),
            chain: Some(at),
        }
    }

    /// A source run's chain that another group jumps to as well: its comment names the run.
    fn share_sub_chain(&mut self, at: usize, frame: &UnitFrame) {
        for rule in &mut self.sub_chains[at].rules {
            if rule.comment.as_ref() != Some(&frame.comment) {
                rule.comment = Some(frame.comment.clone());
            }
        }
    }

    /// A long list of sources (a run's union) as a named set of the run's own, so the rule stays
    /// readable and the set can be listed with `nft list set`.
    fn name_sources(&mut self, part: &mut FamilyPart, frame: &UnitFrame) {
        for m in &mut part.matches {
            if let Match::Addr {
                family,
                direction: Direction::Source,
                value,
                ..
            } = m
            {
                let AddrValue::Elements(elements) = value else {
                    continue;
                };
                if elements.len() <= INLINE_SOURCES {
                    continue;
                }
                let name = format!("{}_src_{}", frame.chain_name, family_suffix(*family));
                self.sets.push(SetDef {
                    name: name.clone(),
                    family: *family,
                    elements: std::mem::take(elements),
                    comment: format!("sources of {}", frame.comment),
                });
                *value = AddrValue::Set(name);
            }
        }
    }

    /// A decorated unit's nft rules: one per family part and traffic match, each with the
    /// decorations and the verdict; or, when a limit's one bucket would be split over several of
    /// them, the same matches jumping to a chain of its own that holds the decorations once.
    fn decorated_unit(
        &mut self,
        kind: ChainKind,
        rules: &[Numbered],
        families: &[FamilyPart],
        frame: &UnitFrame,
    ) -> Vec<Rule> {
        let (first_index, first) = rules[0];
        let traffic = rules
            .iter()
            .fold(Traffic::empty(), |t, (_, r)| t.union(&r.traffic));
        let parts = port_matches(&traffic);
        // Each family part with the traffic matches it can have.
        let per_family = per_family(families, &parts, |shape| *shape);
        let mut out = Vec::new();
        if per_family.is_empty() {
            return out;
        }
        if needs_chain(first, &per_family) {
            let rules =
                self.decoration_chain(kind, first_index, first, families, &per_family, frame);
            self.add_sub_chain(&frame.chain_name, rules);
            for (family, ports) in &per_family {
                for (matches, _) in ports {
                    let mut m = frame.prefix(family);
                    m.extend(matches.iter().cloned());
                    out.push(rule(m, frame.jump(), &frame.comment));
                }
            }
        } else {
            for (family, ports) in &per_family {
                for (matches, shape) in ports {
                    let mut m = frame.prefix(family);
                    m.extend(matches.iter().cloned());
                    let mut actions = self.decorations(kind, first_index, first, family.family);
                    actions.extend(self.verdict(first.verdict, *shape));
                    out.push(rule(m, actions, &frame.comment));
                }
            }
        }
        out
    }

    /// The rules of a decorated unit's own chain: the decorations and the verdict once, or once
    /// per family part for a per-source limit, whose meter keys on each family's source address.
    fn decoration_chain(
        &mut self,
        kind: ChainKind,
        index: usize,
        first: &model::Rule,
        families: &[FamilyPart],
        per_family: &[Emitted<Shape>],
        frame: &UnitFrame,
    ) -> Vec<Rule> {
        let mut rules = Vec::new();
        if first.limit.as_ref().is_some_and(|l| l.per_source) {
            for (family, _) in per_family {
                let mut matches = Vec::new();
                if families.len() > 1 {
                    matches.extend(family.family.map(Match::Nfproto));
                }
                let mut actions = self.decorations(kind, index, first, family.family);
                // No port match here to tell nft the protocol: `Mixed` rejects
                // through the reject chain rather than lean on an implicit one.
                actions.extend(self.verdict(first.verdict, Shape::Mixed));
                rules.push(rule(matches, actions, &frame.comment));
            }
        } else {
            let mut actions = self.decorations(kind, index, first, None);
            actions.extend(self.verdict(first.verdict, Shape::Mixed));
            rules.push(rule(Vec::new(), actions, &frame.comment));
        }
        rules
    }

    fn add_sub_chain(&mut self, name: &str, rules: Vec<Rule>) {
        self.sub_chains.push(Chain {
            name: name.to_string(),
            base: None,
            rules,
        });
    }

    /// First match within a block: per protocol, the disjoint port intervals with the verdict of
    /// the first rule covering them; then ICMP and ICMPv6 types and other protocols, the same way.
    /// Returns nft rules without the block's address and interface matches.
    fn block_dispatch(&mut self, rules: &[Numbered]) -> Vec<Part<Vec<Action>>> {
        let runs = OwnedRuns::of(rules);
        let verdicts: BTreeSet<model::Verdict> = runs
            .ports
            .iter()
            .flat_map(|(_, e)| e)
            .chain(runs.icmp.iter().flatten())
            .chain(&runs.other)
            .map(|e| e.2)
            .collect();
        let mut out = Vec::new();
        if verdicts.len() == 1 {
            // One verdict: one set per kind of traffic, or no match at all for everything.
            let verdict = *verdicts.first().expect("one verdict");
            let traffic = Traffic {
                icmp: byte_set(&runs.icmp[0]),
                icmpv6: byte_set(&runs.icmp[1]),
                other: byte_set(&runs.other),
                ..port_traffic(&runs.ports)
            };
            self.verdict_parts(verdict, &traffic, &mut out);
            return out;
        }
        self.port_dispatch(&runs.ports, &mut out);
        let byte_parts = [
            (ByteKey::IcmpType(Family::V4), &runs.icmp[0]),
            (ByteKey::IcmpType(Family::V6), &runs.icmp[1]),
            (ByteKey::L4proto, &runs.other),
        ];
        let byte_verdicts: BTreeSet<model::Verdict> = byte_parts
            .iter()
            .flat_map(|(_, e)| e.iter().map(|e| e.2))
            .collect();
        if byte_verdicts.len() == 1 {
            // One verdict for everything without ports: as few rules as the sets allow.
            let verdict = *byte_verdicts.first().expect("one verdict");
            let traffic = Traffic {
                icmp: byte_set(&runs.icmp[0]),
                icmpv6: byte_set(&runs.icmp[1]),
                other: byte_set(&runs.other),
                ..Traffic::empty()
            };
            self.verdict_parts(verdict, &traffic, &mut out);
            return out;
        }
        for (key, entries) in byte_parts {
            self.byte_dispatch(key, entries, &mut out);
        }
        out
    }

    /// The parts that match `traffic` in as few rules as its sets allow, each ending in `verdict`.
    fn verdict_parts(
        &mut self,
        verdict: model::Verdict,
        traffic: &Traffic,
        out: &mut Vec<Part<Vec<Action>>>,
    ) {
        for part in port_matches(traffic) {
            let actions = self.verdict(verdict, part.with);
            out.push(Part {
                matches: part.matches,
                family: part.family,
                with: actions,
            });
        }
    }

    /// A block's ports: sets when all of them have one verdict, else one verdict map over
    /// protocol and port.
    fn port_dispatch(
        &mut self,
        ports: &[(Protocol, Vec<Owned>)],
        out: &mut Vec<Part<Vec<Action>>>,
    ) {
        let port_entries: Vec<(Protocol, u16, u16, model::Verdict)> = ports
            .iter()
            .flat_map(|(p, entries)| entries.iter().map(move |e| (*p, e.0, e.1, e.2)))
            .collect();
        let port_verdicts: BTreeSet<model::Verdict> = port_entries.iter().map(|e| e.3).collect();
        if port_verdicts.len() == 1 {
            let verdict = port_entries[0].3;
            for part in port_matches(&port_traffic(ports)) {
                let actions = self.verdict(verdict, part.with);
                out.push(Part {
                    matches: part.matches,
                    family: None,
                    with: actions,
                });
            }
        } else if !port_entries.is_empty() {
            let entries = port_entries
                .into_iter()
                .map(|(protocol, lo, hi, verdict)| VmapEntry {
                    protocol,
                    lo,
                    hi,
                    verdict: self.map_verdict(verdict),
                })
                .collect();
            out.push(Part {
                matches: Vec::new(),
                family: None,
                with: vec![Action::Vmap(entries)],
            });
        }
    }

    /// A block's ICMP types of one family, or its other protocols: a set when they have one
    /// verdict, a verdict map over the byte when they have several, nothing when there are none.
    fn byte_dispatch(&mut self, key: ByteKey, entries: &[Owned], out: &mut Vec<Part<Vec<Action>>>) {
        let family = match key {
            ByteKey::IcmpType(family) => Some(family),
            ByteKey::L4proto => None,
        };
        let kinds: BTreeSet<model::Verdict> = entries.iter().map(|e| e.2).collect();
        if kinds.len() == 1 {
            let set = byte_set(entries);
            let verdict = entries[0].2;
            out.push(Part {
                matches: vec![byte_match(key, &set)],
                family,
                with: self.verdict(verdict, Shape::NoTcp),
            });
        } else if kinds.len() > 1 {
            let entries = entries
                .iter()
                .map(|&(lo, hi, verdict)| ByteEntry {
                    lo: lo as u8,
                    hi: hi as u8,
                    verdict: self.map_verdict(verdict),
                })
                .collect();
            out.push(Part {
                matches: Vec::new(),
                family,
                with: vec![Action::ByteVmap(key, entries)],
            });
        }
    }

    fn map_verdict(&mut self, verdict: model::Verdict) -> Verdict {
        match verdict {
            model::Verdict::Accept => Verdict::Accept,
            model::Verdict::Drop => Verdict::Drop,
            model::Verdict::Reject => {
                self.reject_chain = true;
                Verdict::Goto(REJECT_CHAIN.to_string())
            }
        }
    }

    /// The final action of a rule; `reject` is written inline when the match tells which reply
    /// fits, else it goes to the reject chain.
    fn verdict(&mut self, verdict: model::Verdict, shape: Shape) -> Vec<Action> {
        vec![match (verdict, shape) {
            (model::Verdict::Reject, Shape::TcpOnly) => Action::Reject(RejectWith::TcpReset),
            (model::Verdict::Reject, Shape::NoTcp) => Action::Reject(RejectWith::PortUnreachable),
            (verdict, _) => Action::Verdict(self.map_verdict(verdict)),
        }]
    }

    /// Limit, counter and log of a decorated rule, in that order: a packet over the rate is not
    /// counted or logged, because the rule does not apply to it.
    fn decorations(
        &mut self,
        kind: ChainKind,
        index: usize,
        rule: &model::Rule,
        family: Option<Family>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(limit) = &rule.limit {
            // nft's own default burst is 5 packets whatever the rate; the language promises no
            // more than the rate at once, so the bucket holds one period's worth unless `burst`
            // says otherwise.
            let nft = Limit {
                rate: limit.rate,
                unit: limit.unit,
                burst: Some(limit.burst.unwrap_or(limit.rate)),
            };
            match family {
                Some(family) if limit.per_source => actions.push(Action::Meter {
                    name: format!("{kind}_r{index}_{}", family_suffix(family)),
                    family,
                    timeout_secs: meter_timeout(&nft),
                    limit: nft,
                }),
                _ => actions.push(Action::Limit(nft)),
            }
        }
        if rule.counter {
            let name = format!("{kind}_r{index}");
            if !self.counters.contains(&name) {
                self.counters.push(name.clone());
            }
            actions.push(Action::Counter(name));
        }
        if let Some(prefix) = &rule.log {
            actions.push(Action::Log(prefix.as_deref().map(String::from)));
        }
        actions
    }

    /// The address matches of a rule, one part per family it can match. `split` keeps the
    /// families apart even when neither is restricted (per-source limits key on `ip saddr` or
    /// `ip6 saddr`).
    fn family_parts(&mut self, rule: &model::Rule, split: bool) -> Vec<FamilyPart> {
        let mut parts = Vec::new();
        for family in [Family::V4, Family::V6] {
            let (src_empty, src_full) = family_extent(&rule.src, family);
            let (dst_empty, dst_full) = family_extent(&rule.dst, family);
            if src_empty || dst_empty {
                continue;
            }
            let mut matches = Vec::new();
            let sides = [
                (
                    Direction::Source,
                    src_full,
                    &rule.src,
                    &rule.src_names,
                    rule.src_negated,
                ),
                (
                    Direction::Destination,
                    dst_full,
                    &rule.dst,
                    &rule.dst_names,
                    rule.dst_negated,
                ),
            ];
            for (direction, full, set, names, negated) in sides {
                if full {
                    continue;
                }
                // A negated list is written as what it leaves out: `ip saddr != @net_office_v4`.
                let value = if negated {
                    self.addr_value(names, &set.complement(), family)
                } else {
                    self.addr_value(names, set, family)
                };
                matches.push(Match::Addr {
                    family,
                    direction,
                    value,
                    negated,
                });
            }
            parts.push(FamilyPart {
                family: Some(family),
                matches,
            });
        }
        if !split && parts.len() == 2 && parts.iter().all(|p| p.matches.is_empty()) {
            return vec![FamilyPart {
                family: None,
                matches: Vec::new(),
            }];
        }
        for part in &mut parts {
            if part.matches.is_empty() {
                part.matches.extend(part.family.map(Match::Nfproto));
            }
        }
        parts
    }

    /// A named set when the addresses are exactly one `net`, else the elements.
    fn addr_value(&mut self, names: &[String], set: &AddrSet, family: Family) -> AddrValue {
        if let [name] = names {
            if let Some(net) = self
                .policy
                .nets
                .iter()
                .find(|n| &n.name == name && n.addresses == *set)
            {
                let base = self.namer.name("net_", &net.name);
                let set_name = format!("{base}_{}", family_suffix(family));
                if !self.sets.iter().any(|s| s.name == set_name) {
                    self.sets.push(SetDef {
                        name: set_name.clone(),
                        family,
                        elements: addr_elements(&net.addresses, family),
                        comment: match self.sources {
                            Some(_) => {
                                format!("net {} ({})", net.name, self.locate_span(net.span, ""))
                            }
                            None => format!("net {}", net.name),
                        },
                    });
                }
                return AddrValue::Set(set_name);
            }
        }
        AddrValue::Elements(addr_elements(set, family))
    }

    /// `web.pcl:12-14,20` for the rules of a unit, or `input rules 3-5` without sources.
    fn locate(&self, kind: ChainKind, rules: &[Numbered]) -> String {
        match self.sources {
            Some(sources) => {
                let places: Vec<(String, usize)> = rules
                    .iter()
                    .map(|(_, r)| {
                        let loc = sources.location(r.span);
                        (loc.file, loc.line)
                    })
                    .collect();
                compress_places(&places)
            }
            None => {
                let indices: Vec<(String, usize)> = rules
                    .iter()
                    .map(|(i, _)| (format!("{kind} rule"), *i))
                    .collect();
                compress_places(&indices).replacen(':', " ", 1)
            }
        }
    }

    fn locate_span(&self, span: crate::source::Span, what: &str) -> String {
        match self.sources {
            Some(sources) => {
                let loc = sources.location(span);
                format!("{}:{}", loc.file, loc.line)
            }
            None => what.to_string(),
        }
    }
}

/// `iifname { "eth0", "eth1" }`, or `oifname` for the outgoing interface.
fn interface_match(output: bool, list: &model::Interfaces) -> Match {
    Match::Interface {
        output,
        names: list.names().to_vec(),
        negated: list.is_negated(),
    }
}

/// A hash of what rules match and do, without their comments: chains whose rules hash alike are
/// compared in full.
fn content_hash(rules: &[Rule]) -> u64 {
    use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
    let mut hasher = foldhash::fast::FixedState::default().build_hasher();
    for rule in rules {
        rule.matches.hash(&mut hasher);
        rule.actions.hash(&mut hasher);
    }
    hasher.finish()
}

/// Whether the rules all have the first's verdict and traffic: a run of them from several
/// sources decides alike whichever source a packet has.
fn decide_alike(rules: &[Numbered]) -> bool {
    let first = rules[0].1;
    rules
        .iter()
        .all(|(_, r)| r.verdict == first.verdict && r.traffic == first.traffic)
}

/// `rule` with `src` for its sources, written as addresses rather than as nets.
fn with_sources(rule: &model::Rule, src: AddrSet) -> model::Rule {
    let src = Arc::new(src);
    model::Rule {
        src,
        src_names: Arc::from([]),
        src_negated: false,
        ..rule.clone()
    }
}

fn rule(matches: Vec<Match>, actions: Vec<Action>, comment: &str) -> Rule {
    Rule {
        matches,
        actions,
        comment: Some(comment.to_string()),
    }
}

/// Port and map elements of a block's rules, to decide whether writing them twice is cheap.
fn dispatch_elements(dispatch: &[Part<Vec<Action>>]) -> usize {
    dispatch
        .iter()
        .map(|part| {
            let m: usize = part
                .matches
                .iter()
                .map(|m| match m {
                    Match::Dport(_, r) => r.len(),
                    Match::ProtoDport(e) => e.len(),
                    Match::IcmpType(_, r) | Match::Protocols(r) => r.len(),
                    _ => 1,
                })
                .sum();
            let a: usize = part
                .with
                .iter()
                .map(|a| match a {
                    Action::Vmap(e) => e.len(),
                    Action::ByteVmap(_, e) => e.len(),
                    _ => 0,
                })
                .sum();
            m + a
        })
        .sum()
}

/// The family parts of a unit that some of `parts` can match, each with the matches those parts
/// need there and what `with` takes from each.
fn per_family<'f, 'p, T, W>(
    families: &'f [FamilyPart],
    parts: &'p [Part<T>],
    with: impl Fn(&'p T) -> W,
) -> Vec<Emitted<'f, W>> {
    families
        .iter()
        .map(|family| {
            let emitted = parts
                .iter()
                .filter_map(|p| Some((p.within(family.family)?, with(&p.with))))
                .collect();
            (family, emitted)
        })
        .filter(|(_, emitted): &(_, Vec<_>)| !emitted.is_empty())
        .collect()
}

/// Whether a decorated unit's limit needs a chain of its own: its one bucket would otherwise be
/// written into several rules (for a per-source limit, into several of one family part).
fn needs_chain(first: &model::Rule, per_family: &[Emitted<Shape>]) -> bool {
    let written: usize = per_family.iter().map(|(_, ports)| ports.len()).sum();
    let most_per_family = per_family
        .iter()
        .map(|(_, ports)| ports.len())
        .max()
        .unwrap_or(0);
    match &first.limit {
        Some(limit) if !limit.per_source => written > 1,
        Some(_) => most_per_family > 1,
        None => false,
    }
}

/// First match over what `ranges` takes from each of a block's rules: the disjoint runs with the
/// verdict of the first rule covering each, neighbours with the same verdict merged.
fn owned_runs(rules: &[Numbered], ranges: impl Fn(&Traffic) -> Vec<(u16, u16)>) -> Vec<Owned> {
    let intervals: Vec<(u16, u16, usize)> = rules
        .iter()
        .enumerate()
        .flat_map(|(rank, (_, r))| {
            ranges(&r.traffic)
                .into_iter()
                .map(move |(lo, hi)| (lo, hi, rank))
        })
        .collect();
    let mut entries: Vec<Owned> = Vec::new();
    for (lo, hi, rank) in first_match(&intervals) {
        let verdict = rules[rank].1.verdict;
        match entries.last_mut() {
            Some(last) if last.2 == verdict && u32::from(last.1) + 1 == u32::from(lo) => {
                last.1 = hi
            }
            _ => entries.push((lo, hi, verdict)),
        }
    }
    entries
}

/// The ranges of a set of ICMP types or protocol numbers, widened to be cut like ports.
fn byte_ranges(set: &IntervalSet<u8>) -> Vec<(u16, u16)> {
    set.ranges()
        .iter()
        .map(|&(lo, hi)| (lo.into(), hi.into()))
        .collect()
}

/// The ICMP types or protocol numbers of some runs, narrowed back to bytes.
fn byte_set(runs: &[Owned]) -> IntervalSet<u8> {
    IntervalSet::from_ranges(runs.iter().map(|e| (e.0 as u8, e.1 as u8)))
}

/// The ports of some runs per protocol, whatever their verdicts.
fn port_traffic(ports: &[(Protocol, Vec<Owned>)]) -> Traffic {
    let mut traffic = Traffic::empty();
    for (protocol, entries) in ports {
        traffic.ports[protocol.index()] =
            IntervalSet::from_ranges(entries.iter().map(|e| (e.0, e.1)));
    }
    traffic
}

/// The baseline parts in the model's chain must be those the configuration compiles: the model
/// is what `explain` and the lints answer from, and the ruleset must do what they say.
fn check_baseline(chain: &model::Chain, config: &CompileConfig) -> Result<(), CompileError> {
    let expected = model::baseline::rules(chain.kind, config.baseline.parts(), chain.span);
    for part in [
        BaselinePart::Loopback,
        BaselinePart::Ping,
        BaselinePart::Icmp,
    ] {
        let has =
            |rules: &[model::Rule]| rules.iter().any(|r| r.origin == RuleOrigin::Baseline(part));
        let resolved_with = has(&chain.rules);
        if resolved_with != has(&expected) {
            return Err(CompileError::BaselineMismatch {
                chain: chain.kind,
                part,
                resolved_with,
            });
        }
    }
    Ok(())
}

fn validate(kind: ChainKind, rule_no: usize, rule: &model::Rule) -> Result<(), CompileError> {
    if !rule.resolved {
        return Err(CompileError::Unresolved {
            chain: kind,
            rule: rule_no,
        });
    }
    if let Some(list) = &rule.interface {
        if let Some(name) = list
            .names()
            .iter()
            .find(|n| values::check_interface(n).is_err())
        {
            return Err(CompileError::Interface {
                chain: kind,
                rule: rule_no,
                name: name.clone(),
            });
        }
    }
    if let Some(Some(prefix)) = &rule.log {
        if let Err(problem) = values::check_log_prefix(prefix) {
            return Err(CompileError::LogPrefix {
                chain: kind,
                rule: rule_no,
                prefix: prefix.to_string(),
                reason: problem.message,
            });
        }
    }
    if let Some(limit) = &rule.limit {
        let what = if limit.rate == 0 {
            Some("a rate of")
        } else if limit.burst == Some(0) {
            Some("a burst of")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(CompileError::ZeroLimit {
                chain: kind,
                rule: rule_no,
                what,
            });
        }
    }
    Ok(())
}

/// Whether a rule admits FTP control connections by naming a service that includes tcp/21 (not
/// merely every TCP port, which would turn on the helper for any `allow tcp`).
fn allows_ftp(rule: &model::Rule) -> bool {
    rule.verdict == model::Verdict::Accept
        && rule.services.iter().any(|s| {
            let tcp = s.traffic.of(Protocol::Tcp);
            tcp.contains(21) && !tcp.is_full()
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    Block,
    Sources,
    Ports,
    Decorated,
}

struct Unit<'r> {
    kind: UnitKind,
    rules: Vec<Numbered<'r>>,
}

fn same_match(a: &model::Rule, b: &model::Rule) -> bool {
    a.src == b.src && a.dst == b.dst && a.interface == b.interface
}

fn is_plain(rule: &model::Rule) -> bool {
    rule.limit.is_none() && rule.log.is_none() && !rule.counter
}

/// The units of a chain's rules (see the module's documentation); with `port_runs` false, no
/// port runs (what a port run over its budget is written as).
fn units<'r>(rules: &[Numbered<'r>], port_runs: bool) -> Vec<Unit<'r>> {
    let mut units = Vec::new();
    let mut i = 0;
    while i < rules.len() {
        let first = rules[i].1;
        if is_plain(first) {
            let end = source_run(rules, i);
            let run = &rules[i..end];
            let groups = run
                .iter()
                .map(|(_, r)| &r.src)
                .collect::<HashSet<_>>()
                .len();
            let mapped = groups >= MAP_GROUPS && run.len() >= MAP_RULES;
            if (groups >= 2 && decide_alike(run)) || mapped {
                units.push(Unit {
                    kind: UnitKind::Sources,
                    rules: rules[i..end].to_vec(),
                });
                i = end;
                continue;
            }
            let end = if port_runs {
                port_runs::port_run(rules, i)
            } else {
                i
            };
            let breaks = rules[i..end]
                .windows(2)
                .filter(|w| !same_match(w[0].1, w[1].1))
                .count();
            if breaks + 1 >= MAP_RULES {
                units.push(Unit {
                    kind: UnitKind::Ports,
                    rules: rules[i..end].to_vec(),
                });
                i = end;
                continue;
            }
        }
        let joins: Box<dyn Fn(&model::Rule) -> bool> = if is_plain(first) {
            Box::new(|r: &model::Rule| is_plain(r) && same_match(first, r))
        } else if first.limit.is_none() && !first.counter {
            // Log-only rules merge when nothing observable changes: same prefix and verdict.
            // Counters and limits never merge: each written rule keeps its own count and bucket.
            Box::new(|r: &model::Rule| {
                r.limit.is_none()
                    && !r.counter
                    && r.log == first.log
                    && r.verdict == first.verdict
                    && same_match(first, r)
            })
        } else {
            Box::new(|_: &model::Rule| false)
        };
        let mut j = i + 1;
        while j < rules.len() && joins(rules[j].1) {
            j += 1;
        }
        units.push(Unit {
            kind: if is_plain(first) {
                UnitKind::Block
            } else {
                UnitKind::Decorated
            },
            rules: rules[i..j].to_vec(),
        });
        i = j;
    }
    units
}

/// The end of the longest run of rules from `start` that one lookup of the source per family can
/// dispatch: plain rules with the first one's destination and interface, whose sources are
/// pairwise the same or disjoint.
fn source_run(rules: &[Numbered], start: usize) -> usize {
    let first = rules[start].1;
    let mut sources: HashSet<&Arc<AddrSet>> = HashSet::default();
    let mut taken = Occupied::default();
    let mut end = start;
    for &(_, rule) in &rules[start..] {
        if !is_plain(rule) || rule.dst != first.dst || rule.interface != first.interface {
            break;
        }
        if !sources.contains(&rule.src) {
            if taken.overlaps(&rule.src) {
                break;
            }
            taken.insert(&rule.src);
            sources.insert(&rule.src);
        }
        end += 1;
    }
    end
}

/// The addresses a run's sources hold so far, per family, as disjoint intervals keyed by their
/// start: whether a new source overlaps them costs a logarithmic look-up per interval.
#[derive(Default)]
struct Occupied {
    v4: BTreeMap<u32, u32>,
    v6: BTreeMap<u128, u128>,
}

impl Occupied {
    fn overlaps(&self, set: &AddrSet) -> bool {
        fn any<T: Ord + Copy>(taken: &BTreeMap<T, T>, ranges: &[(T, T)]) -> bool {
            ranges.iter().any(|&(lo, hi)| {
                taken
                    .range(..=hi)
                    .next_back()
                    .is_some_and(|(_, &end)| end >= lo)
            })
        }
        any(&self.v4, set.v4.ranges()) || any(&self.v6, set.v6.ranges())
    }

    fn insert(&mut self, set: &AddrSet) {
        self.v4.extend(set.v4.ranges().iter().copied());
        self.v6.extend(set.v6.ranges().iter().copied());
    }
}

/// How to match a traffic set: at most one rule for the ports, one for each ICMP and one for
/// other protocols.
fn port_matches(traffic: &Traffic) -> Vec<Part<Shape>> {
    if traffic.is_all() {
        return vec![Part {
            matches: Vec::new(),
            family: None,
            with: Shape::Mixed,
        }];
    }
    let mut out = Vec::new();
    let protocols: Vec<Protocol> = traffic.protocols().collect();
    if !protocols.is_empty() {
        let ports_only = traffic.only(&protocols);
        let shape = Shape::of(&ports_only);
        let m = if protocols.iter().all(|&p| traffic.of(p).is_full()) {
            Match::L4proto(protocols)
        } else if let [protocol] = protocols[..] {
            Match::Dport(protocol, traffic.of(protocol).ranges().to_vec())
        } else {
            Match::ProtoDport(
                protocols
                    .iter()
                    .flat_map(|&p| {
                        traffic
                            .of(p)
                            .ranges()
                            .iter()
                            .map(move |&(lo, hi)| (p, lo, hi))
                    })
                    .collect(),
            )
        };
        out.push(Part {
            matches: vec![m],
            family: None,
            with: shape,
        });
    }
    if traffic.portless() == Traffic::all().portless() {
        out.push(Part {
            matches: vec![Match::Unported],
            family: None,
            with: Shape::NoTcp,
        });
        return out;
    }
    for family in [Family::V4, Family::V6] {
        let types = traffic.icmp_of(family);
        if !types.is_empty() {
            out.push(Part {
                matches: vec![byte_match(ByteKey::IcmpType(family), types)],
                family: Some(family),
                with: Shape::NoTcp,
            });
        }
    }
    if !traffic.other.is_empty() {
        out.push(Part {
            matches: vec![byte_match(ByteKey::L4proto, &traffic.other)],
            family: None,
            with: Shape::NoTcp,
        });
    }
    out
}

/// The match for a non-empty set of ICMP types or other protocols.
fn byte_match(key: ByteKey, set: &IntervalSet<u8>) -> Match {
    match key {
        ByteKey::IcmpType(family) if set.is_full() => Match::Icmp(family),
        ByteKey::IcmpType(family) => Match::IcmpType(family, set.ranges().to_vec()),
        ByteKey::L4proto if *set == Traffic::other_protocols().other => Match::OtherProtocols,
        ByteKey::L4proto => Match::Protocols(set.ranges().to_vec()),
    }
}

/// Whether a family part of an address set is empty, and whether it is everything.
fn family_extent(set: &AddrSet, family: Family) -> (bool, bool) {
    match family {
        Family::V4 => (set.v4.is_empty(), set.v4.is_full()),
        Family::V6 => (set.v6.is_empty(), set.v6.is_full()),
    }
}

/// The match that restricts to `family` and `from`, or `None` when `from` has none of it.
fn family_only(from: &AddrSet, family: Family) -> Option<Vec<Match>> {
    let (empty, full) = family_extent(from, family);
    if empty {
        None
    } else if full {
        Some(vec![Match::Nfproto(family)])
    } else {
        Some(vec![Match::Addr {
            family,
            direction: Direction::Source,
            value: AddrValue::Elements(addr_elements(from, family)),
            negated: false,
        }])
    }
}

/// `ct status dnat ip daddr 10.0.0.5 tcp dport 443 accept`: the translated connections of a
/// `forward-port`, which the forward chain must let through.
fn forward_accept(forward: &Forward) -> Option<Rule> {
    let family = Family::of(forward.target);
    family_only(&forward.from, family)?;
    let target = AddrSet::prefix(ipnet::IpNet::from(forward.target));
    let ports = match forward.target_port {
        Some(port) => (port, port),
        None => (forward.ports.lo, forward.ports.hi),
    };
    Some(Rule {
        matches: vec![
            Match::CtStatusDnat,
            Match::Addr {
                family,
                direction: Direction::Destination,
                value: AddrValue::Elements(addr_elements(&target, family)),
                negated: false,
            },
            Match::Dport(forward.protocol, vec![ports]),
        ],
        actions: vec![Action::Verdict(Verdict::Accept)],
        comment: Some("forward-port: translated connections".to_string()),
    })
}

fn reject_rules(comment: Option<&str>) -> Vec<Rule> {
    vec![
        Rule {
            matches: vec![Match::L4proto(vec![Protocol::Tcp])],
            actions: vec![Action::Reject(RejectWith::TcpReset)],
            comment: comment.map(str::to_string),
        },
        Rule {
            matches: Vec::new(),
            actions: vec![Action::Reject(RejectWith::PortUnreachable)],
            comment: comment.map(str::to_string),
        },
    ]
}

fn family_suffix(family: Family) -> &'static str {
    match family {
        Family::V4 => "v4",
        Family::V6 => "v6",
    }
}

/// The elements of one family of an address set: each interval as a prefix when it is one, else as
/// a range.
pub(super) fn addr_elements(set: &AddrSet, family: Family) -> Vec<AddrElem> {
    match family {
        Family::V4 => set
            .v4_ranges()
            .map(|(lo, hi)| {
                let mut subnets = ipnet::Ipv4Subnets::new(lo, hi, 0);
                match (subnets.next(), subnets.next()) {
                    (Some(net), None) => AddrElem::Prefix(net.into()),
                    _ => AddrElem::Range(lo.into(), hi.into()),
                }
            })
            .collect(),
        Family::V6 => set
            .v6_ranges()
            .map(|(lo, hi)| {
                let mut subnets = ipnet::Ipv6Subnets::new(lo, hi, 0);
                match (subnets.next(), subnets.next()) {
                    (Some(net), None) => AddrElem::Prefix(net.into()),
                    _ => AddrElem::Range(lo.into(), hi.into()),
                }
            })
            .collect(),
    }
}

/// How long a source's rate state must outlive its last packet: until its bucket would have
/// refilled, so expiry never grants more than the rate.
fn meter_timeout(limit: &Limit) -> u32 {
    let unit: u64 = match limit.unit {
        RateUnit::Second => 1,
        RateUnit::Minute => 60,
        RateUnit::Hour => 3600,
    };
    let burst = u64::from(limit.burst.unwrap_or(limit.rate));
    let rate = u64::from(limit.rate.max(1));
    let units = burst.div_ceil(rate).max(1);
    (units * unit).min(MAX_METER_TIMEOUT) as u32
}

/// `a.pcl:3-5,9 b.pcl:2`: places in order, consecutive lines of one file joined.
fn compress_places(places: &[(String, usize)]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < places.len() {
        let file = &places[i].0;
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(file);
        out.push(':');
        let mut first_run = true;
        while i < places.len() && &places[i].0 == file {
            let start = places[i].1;
            let mut end = start;
            i += 1;
            while i < places.len() && &places[i].0 == file && places[i].1 <= end + 1 {
                end = end.max(places[i].1);
                i += 1;
            }
            if !first_run {
                out.push(',');
            }
            first_run = false;
            if start == end {
                out.push_str(&start.to_string());
            } else {
                out.push_str(&format!("{start}-{end}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_compressed() {
        let p = |f: &str, l| (f.to_string(), l);
        assert_eq!(
            compress_places(&[p("a", 3), p("a", 4), p("a", 5), p("a", 9), p("b", 2)]),
            "a:3-5,9 b:2"
        );
        assert_eq!(compress_places(&[p("a", 3), p("a", 3)]), "a:3");
    }

    #[test]
    fn meter_timeouts_cover_the_refill() {
        let l = |rate, unit, burst| Limit { rate, unit, burst };
        assert_eq!(meter_timeout(&l(10, RateUnit::Second, None)), 1);
        assert_eq!(meter_timeout(&l(3, RateUnit::Minute, None)), 60);
        assert_eq!(meter_timeout(&l(1, RateUnit::Hour, Some(10))), 36000);
        assert_eq!(
            meter_timeout(&l(1, RateUnit::Hour, Some(u32::MAX))),
            MAX_METER_TIMEOUT as u32
        );
    }
}
