//! The resolved policy: names replaced by ports and addresses, every part still pointing at the
//! text it came from.

use std::net::IpAddr;

use super::{AddrSet, Interfaces, PortRange, Protocol, Traffic};
use crate::source::Span;
use crate::syntax::ast::{ChainKind, RateUnit, Verdict};

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
}

impl Host {
    pub fn chain(&self, kind: ChainKind) -> Option<&Chain> {
        self.chains.iter().find(|c| c.kind == kind)
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
    Overlay { file: String, line: usize },
    /// The embedded IANA registry.
    Registry,
}

/// One service reference as written, and what it resolved to.
#[derive(Debug, Clone)]
pub struct ServiceUse {
    /// The reference as written: `ssh`, `domain/udp`, `tcp/8000-8100`.
    pub text: String,
    pub span: Span,
    pub origin: Origin,
    /// The name, for named references (canonical registry name for registry services).
    pub name: Option<String>,
    /// Protocol written explicitly (`tcp/22`, `domain/udp`).
    pub explicit_protocol: bool,
    /// Protocols the name is registered for, when it came from the registry or an overlay.
    pub registered_protocols: Vec<Protocol>,
    pub traffic: Traffic,
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
}

impl Bind {
    /// The addresses the listener accepts connections on: an unspecified address (`0.0.0.0`, `::`)
    /// covers its whole family. `::` is treated as dual-stack, as Linux does by default.
    pub fn listens_on(&self) -> AddrSet {
        match self.address {
            IpAddr::V4(a) if a.is_unspecified() => AddrSet {
                v4: super::IntervalSet::full(),
                v6: super::IntervalSet::empty(),
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
    pub traffic: Traffic,
    pub src: AddrSet,
    pub dst: AddrSet,
    /// Net names used in `from` / `to` (empty for literal prefixes and `any`).
    pub src_names: Vec<String>,
    pub dst_names: Vec<String>,
    /// `from !NETS`: `src` holds every address none of the named nets or prefixes holds.
    pub src_negated: bool,
    /// `to !NETS`, likewise.
    pub dst_negated: bool,
    pub interface: Option<Interfaces>,
    pub limit: Option<Limit>,
    pub log: Option<Option<String>>,
    pub counter: bool,
    /// False when part of the rule did not resolve (already reported). Such rules are left out of
    /// the analysis so one mistake does not cause a cascade of findings.
    pub resolved: bool,
}

impl Rule {
    /// A resolved rule that matches exactly this traffic between these addresses, with no
    /// interface, limit, logging or counting; for analyses that build chains of their own.
    pub fn matching(
        verdict: Verdict,
        span: Span,
        traffic: Traffic,
        src: AddrSet,
        dst: AddrSet,
    ) -> Self {
        Rule {
            verdict,
            span,
            services: Vec::new(),
            traffic,
            src,
            dst,
            src_names: Vec::new(),
            dst_names: Vec::new(),
            src_negated: false,
            dst_negated: false,
            interface: None,
            limit: None,
            log: None,
            counter: false,
            resolved: true,
        }
    }

    /// Whether a match is certain once protocol, port, addresses and interface match: a rate
    /// limit makes packets over the rate fall through to later rules.
    pub fn is_terminal(&self) -> bool {
        self.limit.is_none()
    }
}

/// `forward-port tcp/8443 to 10.0.0.5:443`.
#[derive(Debug, Clone)]
pub struct Forward {
    pub protocol: Protocol,
    pub ports: PortRange,
    pub from: AddrSet,
    pub target: IpAddr,
    pub target_port: Option<u16>,
    pub span: Span,
}
