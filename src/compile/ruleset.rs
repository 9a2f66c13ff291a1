//! The compiled ruleset: one nftables table, shaped like nft's own objects but typed, so that the
//! script ([`Ruleset::to_nft`]) and the JSON ([`Ruleset::to_json`]) are two renderings of the same
//! value and cannot drift apart.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::RateUnit;
use crate::model::{Family, Protocol};

/// A compiled host: the table `portcullis compile` writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ruleset {
    pub(super) table: String,
    /// Sanitised host name, for the header comment.
    pub(super) host: Option<String>,
    pub(super) helpers: Vec<Helper>,
    pub(super) counters: Vec<String>,
    pub(super) sets: Vec<SetDef>,
    pub(super) chains: Vec<Chain>,
}

/// Sizes of a compiled ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RulesetStats {
    pub chains: usize,
    pub rules: usize,
    /// Named sets (nets); anonymous sets live inside their rules.
    pub named_sets: usize,
    /// Elements of all sets and verdict maps, named and anonymous.
    pub elements: usize,
}

impl Ruleset {
    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn stats(&self) -> RulesetStats {
        let rules = self.chains.iter().flat_map(|c| &c.rules);
        RulesetStats {
            chains: self.chains.len(),
            rules: self.chains.iter().map(|c| c.rules.len()).sum(),
            named_sets: self.sets.len(),
            elements: self.sets.iter().map(|s| s.elements.len()).sum::<usize>()
                + rules.map(Rule::elements).sum::<usize>(),
        }
    }

    #[cfg(test)]
    pub(super) fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    #[cfg(test)]
    pub(super) fn set(&self, name: &str) -> Option<&SetDef> {
        self.sets.iter().find(|s| s.name == name)
    }
}

/// A conntrack helper object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Helper {
    pub name: &'static str,
    pub kind: &'static str,
    pub protocol: Protocol,
}

/// A named address set (one family of a `net`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct SetDef {
    pub name: String,
    pub family: Family,
    pub elements: Vec<AddrElem>,
    pub comment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum AddrElem {
    Prefix(IpNet),
    Range(IpAddr, IpAddr),
}

impl AddrElem {
    #[cfg(test)]
    pub fn contains(&self, addr: IpAddr) -> bool {
        match *self {
            AddrElem::Prefix(net) => net.contains(&addr),
            AddrElem::Range(lo, hi) => lo <= addr && addr <= hi,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Chain {
    pub name: String,
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct BaseChain {
    pub nat: bool,
    pub hook: Hook,
    pub accept: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Hook {
    Prerouting,
    Postrouting,
    Input,
    Forward,
    Output,
}

impl Hook {
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Postrouting => "postrouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
        }
    }
}

/// A rule: every match must hold, then the actions run in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Rule {
    pub matches: Vec<Match>,
    pub actions: Vec<Action>,
    pub comment: Option<String>,
}

impl Rule {
    fn elements(&self) -> usize {
        let m: usize = self
            .matches
            .iter()
            .map(|m| match m {
                Match::Addr {
                    value: AddrValue::Elements(e),
                    ..
                } => e.len(),
                Match::Dport(_, r) => r.len(),
                Match::ProtoDport(e) => e.len(),
                Match::IcmpType(_, r) | Match::Protocols(r) => r.len(),
                _ => 0,
            })
            .sum();
        let a: usize = self
            .actions
            .iter()
            .map(|a| match a {
                Action::Vmap(entries) => entries.len(),
                Action::SourceVmap(_, entries) => entries.len(),
                Action::ByteVmap(_, entries) => entries.len(),
                _ => 0,
            })
            .sum();
        m + a
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum CtState {
    EstablishedRelated,
    Invalid,
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Direction {
    Source,
    Destination,
}

impl Direction {
    /// The address field nft matches: `saddr` or `daddr`.
    pub(super) fn field(self) -> &'static str {
        match self {
            Direction::Source => "saddr",
            Direction::Destination => "daddr",
        }
    }
}

/// nft's words for an address family, shared by the text and JSON renderings.
pub(super) mod family {
    use crate::model::Family;

    /// The payload protocol of addresses: `ip` or `ip6`.
    pub(in crate::compile) fn payload(family: Family) -> &'static str {
        match family {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }

    /// `meta nfproto` values: `ipv4` or `ipv6`.
    pub(in crate::compile) fn nfproto(family: Family) -> &'static str {
        match family {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    /// The protocols that have ports or types, as `meta l4proto` names them: everything else is
    /// the policy's "other protocols".
    pub(in crate::compile) fn own_protocols() -> impl Iterator<Item = &'static str> {
        crate::model::Protocol::ALL
            .iter()
            .map(|p| p.as_str())
            .chain(["icmp", "icmpv6"])
    }

    /// The ICMP protocol of the family: `icmp` or `icmpv6`.
    pub(in crate::compile) fn icmp(family: Family) -> &'static str {
        match family {
            Family::V4 => "icmp",
            Family::V6 => "icmpv6",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum AddrValue {
    /// `@net_office_v4`
    Set(String),
    /// One element is written bare, more as an anonymous set.
    Elements(Vec<AddrElem>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Match {
    CtState(CtState),
    CtStatusDnat,
    /// `fib daddr type local`: addressed to one of the host's own addresses.
    FibLocal,
    /// `iif "lo"` (input) or `oif "lo"` (output).
    Loopback {
        output: bool,
    },
    /// `iifname "eth0"`, `oifname { "eth0", "eth1" }`, `iifname != "wan0"`.
    Interface {
        output: bool,
        names: Vec<String>,
        negated: bool,
    },
    Nfproto(Family),
    /// `ip saddr @net_office_v4`, or with `negated`, `ip saddr != @net_office_v4`.
    Addr {
        family: Family,
        direction: Direction,
        value: AddrValue,
        negated: bool,
    },
    HopLimit(u8),
    /// `icmp type { echo-request, 13-15 }`, `icmpv6 type nd-neighbor-solicit`: non-empty ranges
    /// of types. nft adds the family and protocol it implies.
    IcmpType(Family, Vec<(u8, u8)>),
    /// `meta l4proto icmp` or `meta l4proto icmpv6`: every type. The family is matched apart.
    Icmp(Family),
    /// `meta l4proto tcp`, `meta l4proto { tcp, udp }`.
    L4proto(Vec<Protocol>),
    /// `meta l4proto { 47, 50-51 }`: other IP protocols by number, non-empty ranges.
    Protocols(Vec<(u8, u8)>),
    /// `meta l4proto != { tcp, udp, sctp, dccp, icmp, icmpv6 }`: every protocol without ports or
    /// types.
    OtherProtocols,
    /// `meta l4proto != { tcp, udp, sctp, dccp }`: every protocol without ports, ICMP included.
    Unported,
    /// `tcp dport { 22, 80-81 }`: non-empty ranges.
    Dport(Protocol, Vec<(u16, u16)>),
    /// `meta l4proto . th dport { tcp . 22, udp . 53 }`.
    ProtoDport(Vec<(Protocol, u16, u16)>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Verdict {
    Accept,
    Drop,
    Jump(String),
    Goto(String),
}

/// The key of a verdict map: `tcp dport` when every entry has that protocol, else
/// `meta l4proto . th dport`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct VmapEntry {
    pub protocol: Protocol,
    pub lo: u16,
    pub hi: u16,
    pub verdict: Verdict,
}

/// An entry of a verdict map keyed by source address: `10.0.0.0/24 : jump input_r3_s1`. The
/// map's addresses are disjoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct SourceEntry {
    pub addr: AddrElem,
    pub verdict: Verdict,
}

/// The key of a verdict map over one byte: an ICMP type, or the protocol number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ByteKey {
    IcmpType(Family),
    L4proto,
}

/// An entry of a verdict map over one byte: `lo..=hi` maps to the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ByteEntry {
    pub lo: u8,
    pub hi: u8,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Limit {
    pub rate: u32,
    pub unit: RateUnit,
    pub burst: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum RejectWith {
    TcpReset,
    PortUnreachable,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Action {
    Verdict(Verdict),
    Vmap(Vec<VmapEntry>),
    /// `ip saddr vmap { 10.0.0.0/24 : jump input_r3_s1, ... }`: one family's sources.
    SourceVmap(Family, Vec<SourceEntry>),
    /// `icmp type vmap { ... }`, `meta l4proto vmap { ... }`.
    ByteVmap(ByteKey, Vec<ByteEntry>),
    Limit(Limit),
    /// A per-source rate limit: a dynamic set keyed on the source address.
    Meter {
        name: String,
        family: Family,
        timeout_secs: u32,
        limit: Limit,
    },
    Counter(String),
    Log(Option<String>),
    Reject(RejectWith),
    CtHelper(&'static str),
    Dnat {
        addr: IpAddr,
        port: Option<u16>,
    },
    /// `masquerade`: the outgoing interface's address as the source.
    Masquerade,
    /// `snat ip to 203.0.113.7`.
    Snat(IpAddr),
}

impl Action {
    /// Whether every entry of a verdict map uses one protocol, which makes `tcp dport` the key.
    pub fn vmap_protocol(entries: &[VmapEntry]) -> Option<Protocol> {
        let first = entries.first()?.protocol;
        entries.iter().all(|e| e.protocol == first).then_some(first)
    }
}
