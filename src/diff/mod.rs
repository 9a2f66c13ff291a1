//! What changes between two versions of a policy, in the terms a reviewer asks about: which
//! packets become accepted or refused, from where, and which rule decides them on each side;
//! and which hosts, listeners and port forwards come and go.
//!
//! Hosts are paired by name, chains by kind. A chain that one version lacks is compared as what
//! it is in the ruleset: no hook, so every packet passes. Each pair of chains is compared exactly
//! by [`crate::model::compare`]; this module names what it finds (rules as `file:line`, address
//! sets as the policy's own nets where one fits) and classifies each change.

mod describe;

use std::collections::HashMap;

use serde::Serialize;

use crate::model::compare::{self, ChainChanges, Decider};
use crate::model::{AddrSet, Chain, ChainKind, Family, Host, Policy, RuleOrigin, Verdict};
use crate::source::{Sources, Span};

pub use describe::Names;

/// One version of a policy: its model and its files.
#[derive(Clone, Copy)]
pub struct Version<'a> {
    pub policy: &'a Policy,
    pub sources: &'a Sources,
}

/// Everything that changes, host by host.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyDiff {
    pub hosts: Vec<HostDiff>,
}

impl PolicyDiff {
    /// Whether anything a packet or a listener meets changes.
    pub fn changed(&self) -> bool {
        self.hosts.iter().any(HostDiff::changed)
    }

    /// Renames every file it points at (for versions read from elsewhere, such as git).
    pub fn map_files(&mut self, rename: impl Fn(&str) -> String) {
        let decided = |d: &mut Decided| {
            if let Some(file) = &mut d.file {
                *file = rename(file);
            }
            if let Some(limited) = &mut d.limited {
                if let Some(file) = &mut limited.file {
                    *file = rename(file);
                }
            }
        };
        for host in &mut self.hosts {
            for chain in &mut host.chains {
                for region in &mut chain.regions {
                    decided(&mut region.old);
                    decided(&mut region.new);
                }
                if let Some(d) = &mut chain.default {
                    decided(&mut d.old);
                    decided(&mut d.new);
                }
            }
            for statement in host.binds.iter_mut().chain(&mut host.forwards) {
                for place in [&mut statement.old, &mut statement.new]
                    .into_iter()
                    .flatten()
                {
                    place.file = rename(&place.file);
                }
            }
        }
    }

    /// How many regions of packet space change, over every chain.
    pub fn regions(&self) -> usize {
        self.hosts
            .iter()
            .flat_map(|h| &h.chains)
            .map(|c| c.regions.len())
            .sum()
    }
}

/// A host's changes.
#[derive(Debug, Clone, Serialize)]
pub struct HostDiff {
    /// `null` for a policy's one unnamed host.
    pub host: Option<String>,
    /// `added`, `removed` or `kept`.
    pub status: HostStatus,
    pub chains: Vec<ChainDiff>,
    pub binds: Vec<Statement>,
    pub forwards: Vec<Statement>,
}

impl HostDiff {
    pub fn changed(&self) -> bool {
        self.status != HostStatus::Kept
            || !self.chains.is_empty()
            || !self.binds.is_empty()
            || !self.forwards.is_empty()
    }

    /// `web-1`, or `(unnamed host)`.
    pub fn display_name(&self) -> &str {
        self.host.as_deref().unwrap_or("(unnamed host)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Added,
    Removed,
    Kept,
}

/// A chain whose decisions change.
#[derive(Debug, Clone, Serialize)]
pub struct ChainDiff {
    pub chain: ChainKind,
    /// The defaults when they differ: they decide every packet no rule of either version decides.
    pub default: Option<DefaultChange>,
    pub regions: Vec<RegionDiff>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DefaultChange {
    pub old: Decided,
    pub new: Decided,
}

/// What changes for a region of packet space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Refused before, accepted now (perhaps under a rate limit).
    Opened,
    /// Accepted before (perhaps under a rate limit), refused now.
    Closed,
    /// Accepted on both sides, now only under a rate limit.
    LimitAdded,
    /// Accepted on both sides, before only under a rate limit.
    LimitRemoved,
    /// Accepted under a rate limit on both sides, another one now.
    LimitChanged,
    /// Refused on both sides: dropped before, rejected now.
    DropToReject,
    /// Refused on both sides: rejected before, dropped now.
    RejectToDrop,
    /// Refused on both sides, with another rate-limited refusal before it.
    RefusalChanged,
}

impl Change {
    pub fn describe(self) -> &'static str {
        match self {
            Change::Opened => "newly accepted",
            Change::Closed => "no longer accepted",
            Change::LimitAdded => "now rate-limited",
            Change::LimitRemoved => "no longer rate-limited",
            Change::LimitChanged => "another rate limit",
            Change::DropToReject => "dropped before, rejected now",
            Change::RejectToDrop => "rejected before, dropped now",
            Change::RefusalChanged => "refused differently",
        }
    }
}

/// A region of packet space whose decision changes.
#[derive(Debug, Clone, Serialize)]
pub struct RegionDiff {
    pub change: Change,
    /// `tcp/5432`, `udp/53 icmp/echo-request`, `all traffic`.
    pub traffic: String,
    pub from: Addresses,
    pub to: Addresses,
    /// The interfaces (`on`), or `null` for every interface.
    pub on: Option<Vec<String>>,
    pub old: Decided,
    pub new: Decided,
}

/// A set of addresses as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Addresses {
    /// `any`, a net of the policy (`office`), or the prefixes joined.
    pub text: String,
    /// The set as prefixes (empty for `any`).
    pub prefixes: Vec<String>,
}

/// Who decides a region on one side: a rule or the chain default (or no chain at all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decided {
    /// `rule`, `baseline`, `port-forward`, `default` or `no-chain`.
    pub by: &'static str,
    pub verdict: Verdict,
    /// Where the rule or the default is written.
    pub file: Option<String>,
    pub line: Option<usize>,
    /// The rule as written, or what an implicit rule is.
    pub text: String,
    /// A rate-limited rule met first, which decides while under its rate.
    pub limited: Option<Box<Decided>>,
}

/// A bind or port forward that was added, removed or changed.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    /// `added`, `removed` or `changed`.
    pub status: &'static str,
    pub old: Option<Place>,
    pub new: Option<Place>,
}

/// A statement of one version: where it is and how it reads.
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub file: String,
    pub line: usize,
    pub text: String,
}

fn place(sources: &Sources, span: Span) -> Place {
    let location = sources.location(span);
    Place {
        file: location.file,
        line: location.line,
        text: sources
            .text(span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The changes from `old` to `new`.
pub fn diff(old: Version, new: Version) -> PolicyDiff {
    let names = Names::of(&[old.policy, new.policy]);
    let mut hosts = Vec::new();
    for host in &new.policy.hosts {
        match old.policy.hosts.iter().find(|h| h.name == host.name) {
            Some(was) => hosts.push(host_diff(old, was, new, host, &names)),
            None => hosts.push(HostDiff {
                host: host.name.clone(),
                status: HostStatus::Added,
                chains: Vec::new(),
                binds: Vec::new(),
                forwards: Vec::new(),
            }),
        }
    }
    for was in &old.policy.hosts {
        if !new.policy.hosts.iter().any(|h| h.name == was.name) {
            hosts.push(HostDiff {
                host: was.name.clone(),
                status: HostStatus::Removed,
                chains: Vec::new(),
                binds: Vec::new(),
                forwards: Vec::new(),
            });
        }
    }
    PolicyDiff { hosts }
}

fn host_diff(old: Version, was: &Host, new: Version, host: &Host, names: &Names) -> HostDiff {
    let mut chains = Vec::new();
    for kind in ChainKind::ALL {
        let (a, b) = (was.chain(kind), host.chain(kind));
        if a.is_none() && b.is_none() {
            continue;
        }
        let open = Chain {
            kind,
            policy: Verdict::Accept,
            policy_span: Span::default(),
            span: Span::default(),
            rules: Vec::new(),
            expectations: Vec::new(),
        };
        let sides = [
            (a.unwrap_or(&open), a.is_some()),
            (b.unwrap_or(&open), b.is_some()),
        ];
        let changes = compare::compare(sides[0].0, sides[1].0);
        if changes.is_empty() {
            continue;
        }
        chains.push(chain_diff(kind, [old, new], sides, &changes, names));
    }
    HostDiff {
        host: host.name.clone(),
        status: HostStatus::Kept,
        chains,
        binds: statements(
            old.sources,
            &was.binds,
            new.sources,
            &host.binds,
            |b| (b.process.clone(), b.address),
            |b| b.span,
        ),
        forwards: statements(
            old.sources,
            &was.forwards,
            new.sources,
            &host.forwards,
            |f| (f.protocol, f.ports.lo, f.ports.hi, format!("{:?}", f.at)),
            |f| f.span,
        ),
    }
}

fn chain_diff(
    kind: ChainKind,
    versions: [Version; 2],
    sides: [(&Chain, bool); 2],
    changes: &ChainChanges,
    names: &Names,
) -> ChainDiff {
    let decided = |side: usize, d: Decider| decided(versions[side].sources, sides[side], d);
    let mut regions: Vec<RegionDiff> = merge_families(&changes.regions, changes)
        .into_iter()
        .map(|region| {
            let (old, new) = (decided(0, region.old), decided(1, region.new));
            // A destination of every address of the source's families is no restriction, and
            // the other way round.
            let (from, to) = (
                names.describe_against(&region.src, &region.dst),
                names.describe_against(&region.dst, &region.src),
            );
            RegionDiff {
                change: classify(&old, &new),
                traffic: region.traffic.to_string(),
                from,
                to,
                on: region.on,
                old,
                new,
            }
        })
        .collect();
    regions.sort_by(|a, b| {
        (a.change, &a.traffic, &a.from.text, &a.to.text).cmp(&(
            b.change,
            &b.traffic,
            &b.from.text,
            &b.to.text,
        ))
    });
    ChainDiff {
        chain: kind,
        default: changes.default.map(|_| DefaultChange {
            old: decided(0, Decider::default()),
            new: decided(1, Decider::default()),
        }),
        regions,
    }
}

/// A changed region of either family, or of both: an IPv4 and an IPv6 region with the same
/// deciders, ports and interfaces are one (exactly: a packet's source and destination share a
/// family, so their union holds no packet of neither).
struct Merged {
    old: Decider,
    new: Decider,
    traffic: crate::model::Traffic,
    src: AddrSet,
    dst: AddrSet,
    /// The interfaces as a person reads them; `None` for every interface.
    on: Option<Vec<String>>,
}

fn merge_families(regions: &[compare::Region], changes: &ChainChanges) -> Vec<Merged> {
    let on: Vec<Option<Vec<String>>> = regions
        .iter()
        .map(|r| (!r.all_interfaces).then(|| interfaces(r, changes)))
        .collect();
    // What an IPv4 region and its IPv6 twin share; ICMP differs by family and does not count.
    let key = |i: usize| {
        let r = &regions[i];
        (r.old, r.new, &r.traffic.ports, &r.traffic.other, &on[i])
    };
    // The IPv6 regions by key, each list in order and taken from the front.
    let mut twins: HashMap<_, std::collections::VecDeque<usize>> = HashMap::new();
    for (j, r) in regions.iter().enumerate() {
        if r.family == Family::V6 {
            twins.entry(key(j)).or_default().push_back(j);
        }
    }
    let mut used = vec![false; regions.len()];
    let mut out: Vec<Merged> = Vec::new();
    for (i, r) in regions.iter().enumerate() {
        if used[i] {
            continue;
        }
        let mut merged = Merged {
            old: r.old,
            new: r.new,
            traffic: r.traffic.clone(),
            src: r.src.clone(),
            dst: r.dst.clone(),
            on: on[i].clone(),
        };
        let twin = match r.family {
            Family::V4 => twins.get_mut(&key(i)).and_then(|list| list.pop_front()),
            Family::V6 => None,
        };
        if let Some(j) = twin {
            used[j] = true;
            let s = &regions[j];
            merged.traffic = merged.traffic.union(&s.traffic);
            merged.src = merged.src.union(&s.src);
            merged.dst = merged.dst.union(&s.dst);
        }
        out.push(merged);
    }
    out
}

/// The interfaces of a region as a person reads them: `eth0`, or `not lo` when it holds every
/// interface but some named ones; `(forwarded)` or `(not forwarded)` where it holds only the
/// connections a port forward translated, or only the others.
fn interfaces(region: &compare::Region, changes: &ChainChanges) -> Vec<String> {
    let mut names: Vec<(Option<&str>, [bool; 2])> = Vec::new();
    for (name, translated) in &region.interfaces {
        let at = match names.iter().position(|(n, _)| *n == name.as_deref()) {
            Some(at) => at,
            None => {
                names.push((name.as_deref(), [false; 2]));
                names.len() - 1
            }
        };
        names[at].1[usize::from(*translated)] = true;
    }
    let which = |flags: [bool; 2]| match flags {
        _ if !region.translation_classes => "",
        [true, true] => "",
        [false, true] => " (forwarded)",
        _ => " (not forwarded)",
    };
    let mut out = Vec::new();
    for (name, flags) in &names {
        match name {
            Some(name) => out.push(format!("{name}{}", which(*flags))),
            None => {
                let missing: Vec<&str> = changes
                    .named_interfaces
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !names.iter().any(|(h, _)| *h == Some(*n)))
                    .collect();
                out.push(match missing.as_slice() {
                    [] => format!("any interface{}", which(*flags)),
                    _ => format!("not {}{}", missing.join(", not "), which(*flags)),
                });
            }
        }
    }
    out
}

/// Who decides on one side, named.
fn decided(sources: &Sources, (chain, exists): (&Chain, bool), d: Decider) -> Decided {
    let limited = d.limited.map(|i| Box::new(rule_decided(sources, chain, i)));
    match d.rule {
        Some(i) => Decided {
            limited,
            ..rule_decided(sources, chain, i)
        },
        None if !exists => Decided {
            by: "no-chain",
            verdict: Verdict::Accept,
            file: None,
            line: None,
            text: format!("no {} chain: every packet passes", chain.kind),
            limited,
        },
        None => {
            let at = place(sources, chain.policy_span);
            Decided {
                by: "default",
                verdict: chain.policy,
                file: Some(at.file),
                line: Some(at.line),
                text: format!(
                    "the {} chain's default {}",
                    chain.kind,
                    chain.policy.policy_word()
                ),
                limited,
            }
        }
    }
}

fn rule_decided(sources: &Sources, chain: &Chain, i: usize) -> Decided {
    let rule = &chain.rules[i];
    let at = place(sources, rule.span);
    let (by, text) = match rule.origin {
        RuleOrigin::Written => ("rule", at.text),
        RuleOrigin::Baseline(part) => ("baseline", part.describe().to_string()),
        RuleOrigin::PortForward(_) => (
            "port-forward",
            "the accept for the connections a forward-port translated".to_string(),
        ),
    };
    Decided {
        by,
        verdict: rule.verdict,
        file: Some(at.file),
        line: Some(at.line),
        text,
        limited: None,
    }
}

/// What kind of change a region's two deciders make.
fn classify(old: &Decided, new: &Decided) -> Change {
    // Accepted fully, accepted under a limit only, or refused.
    let admits = |d: &Decided| match (d.verdict, &d.limited) {
        (Verdict::Accept, _) => 2,
        (_, Some(l)) if l.verdict == Verdict::Accept => 1,
        _ => 0,
    };
    match (admits(old), admits(new)) {
        (0, 1 | 2) => Change::Opened,
        (1 | 2, 0) => Change::Closed,
        (2, 1) => Change::LimitAdded,
        (1, 2) => Change::LimitRemoved,
        (1, 1) | (2, 2) => Change::LimitChanged,
        _ => match (old.verdict, new.verdict) {
            (Verdict::Drop, Verdict::Reject) => Change::DropToReject,
            (Verdict::Reject, Verdict::Drop) => Change::RejectToDrop,
            _ => Change::RefusalChanged,
        },
    }
}

/// Statements of the two versions paired by `key`: those only in `new` are added, only in `old`
/// removed, and those whose text differs changed.
fn statements<T, K: PartialEq>(
    old_sources: &Sources,
    old: &[T],
    new_sources: &Sources,
    new: &[T],
    key: impl Fn(&T) -> K,
    span: impl Fn(&T) -> Span,
) -> Vec<Statement> {
    let mut out = Vec::new();
    for item in new {
        let now = place(new_sources, span(item));
        match old.iter().find(|o| key(o) == key(item)) {
            None => out.push(Statement {
                status: "added",
                old: None,
                new: Some(now),
            }),
            Some(was) => {
                let before = place(old_sources, span(was));
                if before.text != now.text {
                    out.push(Statement {
                        status: "changed",
                        old: Some(before),
                        new: Some(now),
                    });
                }
            }
        }
    }
    for was in old {
        if !new.iter().any(|n| key(n) == key(was)) {
            out.push(Statement {
                status: "removed",
                old: Some(place(old_sources, span(was))),
                new: None,
            });
        }
    }
    out
}
