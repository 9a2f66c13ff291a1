//! The resolved policy: names replaced by ports and addresses, every part still pointing at the
//! text it came from.

use std::net::IpAddr;
use std::sync::Arc;

use super::{AddrSet, Interfaces, PortRange, Protocol, Traffic};
use super::{ChainKind, RateUnit, Verdict};
use crate::source::Span;

/// Everything `check`, `explain` and `compile` need to know about a set of policy files.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub hosts: Vec<Host>,
    pub services: Vec<ServiceDefinition>,
    pub nets: Vec<NetDefinition>,
}

impl Policy {
    pub fn host(&self, name: Option<&str>) -> Option<&Host> {
        match name {
            Some(name) => self.hosts.iter().find(|h| h.name.as_deref() == Some(name)),
            None => self.hosts.first(),
        }
    }
}

/// A `service` written in the policy.
#[derive(Debug, Clone)]
pub struct ServiceDefinition {
    pub name: String,
    pub span: Span,
    pub name_span: Span,
    pub traffic: Traffic,
    /// The port specs it was defined with, as resolved.
    pub parts: Vec<ServiceUse>,
    /// Whether any rule, bind, forward or other definition refers to it.
    pub used: bool,
}

/// A `net` written in the policy.
#[derive(Debug, Clone)]
pub struct NetDefinition {
    pub name: String,
    pub span: Span,
    pub name_span: Span,
    pub addresses: AddrSet,
    pub used: bool,
}

/// One host: its listeners and its chains. A file without `host` blocks is one unnamed host.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: Option<String>,
    /// The host's name in its block header, or the first statement of an unnamed host.
    pub span: Span,
    pub binds: Vec<Bind>,
    pub chains: Vec<Chain>,
    pub forwards: Vec<Forward>,
    /// `masquerade` and `snat`: source addresses rewritten on the way out.
    pub source_nats: Vec<SourceNat>,
}

impl Host {
    pub fn chain(&self, kind: ChainKind) -> Option<&Chain> {
        self.chains.iter().find(|c| c.kind == kind)
    }

    /// Puts the rules the generated ruleset applies before the written ones into each chain: the
    /// baseline's `parts`, then (in `forward`) the accepts for the connections the port forwards
    /// translated. The resolver does this once for every host.
    pub fn add_implicit_rules(&mut self, parts: super::baseline::Parts) {
        let forwards = &self.forwards;
        for chain in &mut self.chains {
            let mut rules = super::baseline::rules(chain.kind, parts, chain.span);
            if chain.kind == ChainKind::Forward {
                rules.extend(
                    forwards
                        .iter()
                        .enumerate()
                        .filter_map(|(i, f)| f.accept_rule(i)),
                );
            }
            // In front, in place: a chain of a million rules is not copied into a new vector
            // (which would hold both at once) when the resolver left room for these.
            chain.rules.splice(0..0, rules);
        }
    }

    /// Whether an address is certainly one of this host's own: a loopback address, or one a
    /// bind names. (The policy does not list the host's addresses; others may be its own too.)
    pub fn is_own_address(&self, addr: IpAddr) -> bool {
        addr.is_loopback() || self.binds.iter().any(|b| b.address == addr)
    }

    /// `web-1`, or `(unnamed host)`.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("(unnamed host)")
    }
}

/// Where a service reference was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An explicit port spec such as `tcp/22`.
    Spec,
    /// A `service` definition of the policy, written at this span.
    Policy(Span),
    /// A services(5) overlay file named in the project configuration.
    Overlay { file: Arc<str>, line: usize },
    /// The embedded IANA registry.
    Registry,
}

/// One service reference as written, and what it resolved to.
#[derive(Debug, Clone)]
pub struct ServiceUse {
    /// The reference as written: `ssh`, `domain/udp`, `tcp/8000-8100`; one copy of each text
    /// for all the rules that write it.
    pub text: Arc<str>,
    pub span: Span,
    pub origin: Origin,
    /// The name, for named references (canonical registry name for registry services).
    pub name: Option<Arc<str>>,
    /// Protocol written explicitly (`tcp/22`, `domain/udp`).
    pub explicit_protocol: bool,
    /// Shared: uses of one service, and a rule with one service, hold the same traffic once.
    pub traffic: Arc<Traffic>,
}

impl ServiceUse {
    /// The reference in backticks, followed by `traffic` (its ports, as findings show them)
    /// when that reads differently: `` `https` (tcp/443, udp/443) ``, `` `tcp/8080` ``.
    pub fn quoted_with(&self, traffic: &Traffic) -> String {
        let ports = traffic.to_string();
        if *self.text == *ports {
            format!("`{}`", self.text)
        } else {
            format!("`{}` ({ports})", self.text)
        }
    }
}

/// `bind PROCESS on ADDRESS SERVICES as USER`.
#[derive(Debug, Clone)]
pub struct Bind {
    pub process: String,
    pub address: IpAddr,
    pub address_span: Span,
    pub services: Vec<ServiceUse>,
    pub traffic: Traffic,
    pub user: Option<String>,
    pub user_span: Option<Span>,
    pub span: Span,
    /// For a listener on `::`: whether it takes IPv6 only. Written `v6only` or `dual-stack`;
    /// otherwise IPv6 only when the same process also listens on `0.0.0.0` for one of these
    /// ports (nginx, sshd, postfix and most daemons set `IPV6_V6ONLY` then), else dual-stack,
    /// Linux's default.
    pub v6only: bool,
}

impl Bind {
    /// The addresses the listener accepts connections on: an unspecified address (`0.0.0.0`, `::`)
    /// covers its whole family, and `::` both families unless it is IPv6 only.
    pub fn listens_on(&self) -> AddrSet {
        match self.address {
            IpAddr::V4(a) if a.is_unspecified() => AddrSet {
                v4: super::IntervalSet::full(),
                v6: super::IntervalSet::empty(),
            },
            IpAddr::V6(a) if a.is_unspecified() && self.v6only => AddrSet {
                v4: super::IntervalSet::empty(),
                v6: super::IntervalSet::full(),
            },
            IpAddr::V6(a) if a.is_unspecified() => AddrSet::any(),
            addr => AddrSet::prefix(ipnet::IpNet::from(addr)),
        }
    }

    pub fn is_loopback(&self) -> bool {
        self.address.is_loopback()
    }
}

/// A chain: rules evaluated top to bottom, first match wins, else the default.
#[derive(Debug, Clone)]
pub struct Chain {
    pub kind: ChainKind,
    pub policy: Verdict,
    pub policy_span: Span,
    pub span: Span,
    pub rules: Vec<Rule>,
    /// The `expect` statements written in the chain, in order.
    pub expectations: Vec<Expectation>,
}

impl Chain {
    /// The same chain (kind, default, spans) with other rules and no expectations: for analyses
    /// that ask what the chain would do with rules added or taken out.
    pub fn with_rules(&self, rules: Vec<Rule>) -> Chain {
        Chain {
            kind: self.kind,
            policy: self.policy,
            policy_span: self.policy_span,
            span: self.span,
            rules,
            expectations: Vec::new(),
        }
    }
}

/// `expect open|closed|limited SERVICES [from NETS] [to NETS] [on IFACES]`: an intent written
/// in a chain, which `check` proves against the chain's rules (`failed-expectation`) and
/// `portcullis test` in a kernel.
///
/// The traffic it describes is every packet of `traffic` from `src` to `dst` arriving on
/// `interface` (any interface when `None`). `open`: every such packet is accepted, also by a
/// flood (no rate limit and no rate-limited refusal before the accepting rule). `closed`: none is
/// accepted, not even under a rate limit. `limited`: every one is accepted while under a rate
/// limit, and refused over it.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub kind: ExpectKind,
    /// The whole statement.
    pub span: Span,
    pub services: Vec<ServiceUse>,
    pub traffic: Traffic,
    pub src: AddrSet,
    pub dst: AddrSet,
    pub interface: Option<Interfaces>,
    /// Whether every name in it resolved; one that did not is not checked (the unknown name is
    /// reported already).
    pub resolved: bool,
}

/// What an `expect` statement says about its traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectKind {
    Open,
    Closed,
    Limited,
}

impl ExpectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectKind::Open => "open",
            ExpectKind::Closed => "closed",
            ExpectKind::Limited => "limited",
        }
    }
}

/// A rule rate limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Limit {
    pub rate: u32,
    pub unit: RateUnit,
    pub burst: Option<u32>,
    pub per_source: bool,
}

/// One resolved rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub verdict: Verdict,
    pub span: Span,
    pub services: Vec<ServiceUse>,
    /// What the rule matches: the union of its services, or everything when it names none.
    /// Shared with its service when it names one (see [`ServiceUse::traffic`]).
    pub traffic: Arc<Traffic>,
    /// Shared by the rules with the same `from` (a net, anywhere), as `dst` by those with the
    /// same `to`: a large policy's rules mostly name a few nets.
    pub src: Arc<AddrSet>,
    pub dst: Arc<AddrSet>,
    /// Net names used in `from` / `to` (empty for literal prefixes and `any`), shared likewise.
    pub src_names: Arc<[String]>,
    pub dst_names: Arc<[String]>,
    /// `from !NETS`: `src` holds every address none of the named nets or prefixes holds.
    pub src_negated: bool,
    /// `to !NETS`, likewise.
    pub dst_negated: bool,
    pub interface: Option<Interfaces>,
    /// Matches only connections whose destination a `forward-port` translated (`ct status
    /// dnat`): the forward chain's accept for port forwards.
    pub translated: bool,
    pub limit: Option<Limit>,
    pub log: Option<Option<Box<str>>>,
    pub counter: bool,
    /// False when part of the rule did not resolve (already reported). Such rules are left out of
    /// the analysis so one mistake does not cause a cascade of findings.
    pub resolved: bool,
    pub origin: RuleOrigin,
}

/// Where a rule of a chain comes from. Every rule the generated ruleset applies to a new
/// connection is in its chain, in the kernel's order: the baseline, then the port forwards'
/// accepts, then the rules the policy writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleOrigin {
    /// Written in the policy, at the rule's span.
    Written,
    /// A part of the baseline; its span is the chain's header.
    Baseline(BaselinePart),
    /// The forward chain's accept for the connections the `forward-port` with this index in
    /// [`Host::forwards`] translated; its span is the `forward-port` statement.
    PortForward(usize),
}

/// The parts of the baseline that decide new connections (the others, replies and invalid
/// packets, concern packets of known or broken connections only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BaselinePart {
    /// Everything on the loopback interface.
    Loopback,
    /// Essential ICMP and ICMPv6: errors, neighbour and multicast listener discovery.
    Icmp,
    /// Echo requests, and ICMPv6 echo replies.
    Ping,
}

impl BaselinePart {
    /// The key of `portcullis.yaml` that switches the part.
    pub fn config_key(self) -> &'static str {
        match self {
            BaselinePart::Loopback => "compile.baseline.loopback",
            BaselinePart::Icmp => "compile.baseline.icmp",
            BaselinePart::Ping => "compile.baseline.ping",
        }
    }

    /// `the baseline's loopback part`, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            BaselinePart::Loopback => "the baseline's loopback part",
            BaselinePart::Icmp => "the baseline's ICMP part",
            BaselinePart::Ping => "the baseline's ping part",
        }
    }
}

impl Rule {
    /// A resolved rule that matches exactly this traffic between these addresses, with no
    /// interface, limit, logging or counting; for analyses that build chains of their own.
    pub fn matching(
        verdict: Verdict,
        span: Span,
        traffic: impl Into<Arc<Traffic>>,
        src: impl Into<Arc<AddrSet>>,
        dst: impl Into<Arc<AddrSet>>,
    ) -> Self {
        Rule {
            verdict,
            span,
            services: Vec::new(),
            traffic: traffic.into(),
            src: src.into(),
            dst: dst.into(),
            src_names: Arc::from([]),
            dst_names: Arc::from([]),
            src_negated: false,
            dst_negated: false,
            interface: None,
            translated: false,
            limit: None,
            log: None,
            counter: false,
            resolved: true,
            origin: RuleOrigin::Written,
        }
    }

    /// Whether the policy writes this rule (rather than the baseline or a port forward).
    pub fn is_written(&self) -> bool {
        self.origin == RuleOrigin::Written
    }

    /// Whether a match is certain once protocol, port, addresses and interface match: a rate
    /// limit makes packets over the rate fall through to later rules.
    pub fn is_terminal(&self) -> bool {
        self.limit.is_none()
    }
}

/// `forward-port tcp/8443 [from NETS] [on IFACE] [at NETS] to 10.0.0.5:443`.
#[derive(Debug, Clone)]
pub struct Forward {
    pub protocol: Protocol,
    pub ports: PortRange,
    pub from: AddrSet,
    /// The interfaces connections must arrive on; `None`: any.
    pub interface: Option<Interfaces>,
    /// The destination addresses to translate; `None`: the host's own addresses only, so that
    /// connections passing through the host to elsewhere are never taken.
    pub at: Option<AddrSet>,
    pub target: IpAddr,
    pub target_port: Option<u16>,
    pub span: Span,
}

impl Forward {
    /// Whether a packet arriving at the host is translated by this forward: `local` tells
    /// whether its destination is one of the host's own addresses.
    pub fn translates(&self, packet: &super::Packet, local: bool) -> bool {
        matches!(packet.transport, super::Transport::Port(p, port)
            if p == self.protocol && self.ports.contains(port))
            && super::Family::of(packet.src) == super::Family::of(self.target)
            && self.from.contains(packet.src)
            && self
                .interface
                .as_ref()
                .is_none_or(|i| i.matches(packet.interface.as_deref()))
            && match &self.at {
                Some(at) => at.contains(packet.dst),
                None => local,
            }
    }

    /// The forward chain's accept for the connections this forward (at `index` of its host's
    /// forwards) translated: to its target address and port, whatever their source (`ct status
    /// dnat` and the new destination are all the generated rule matches). `None` when the
    /// forward can translate nothing.
    pub fn accept_rule(&self, index: usize) -> Option<Rule> {
        let family = super::Family::of(self.target);
        let from_family = match family {
            super::Family::V4 => !self.from.v4.is_empty(),
            super::Family::V6 => !self.from.v6.is_empty(),
        };
        if !from_family {
            return None;
        }
        let ports = match self.target_port {
            Some(port) => PortRange::single(port),
            None => self.ports,
        };
        Some(Rule {
            translated: true,
            origin: RuleOrigin::PortForward(index),
            ..Rule::matching(
                Verdict::Accept,
                self.span,
                Traffic::ports(self.protocol, ports),
                AddrSet::any(),
                AddrSet::prefix(ipnet::IpNet::from(self.target)),
            )
        })
    }

    /// The translated destination port for an arriving port.
    pub fn target_port_for(&self, port: u16) -> u16 {
        self.target_port.unwrap_or(port)
    }
}

/// `masquerade on wan0 [from NETS]` or `snat on wan0 [from NETS] to 203.0.113.7`: connections
/// leaving by the interfaces get the host's address on it (or `to`) as their source.
#[derive(Debug, Clone)]
pub struct SourceNat {
    pub interface: Interfaces,
    pub from: AddrSet,
    /// `None` for masquerade: the address of the outgoing interface.
    pub to: Option<IpAddr>,
    pub span: Span,
}

impl SourceNat {
    /// Whether connections from `src` are translated when they leave by one of the interfaces.
    pub fn takes(&self, src: IpAddr) -> bool {
        self.from.contains(src)
            && self
                .to
                .is_none_or(|to| super::Family::of(to) == super::Family::of(src))
    }
}
