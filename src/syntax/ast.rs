//! The typed syntax tree of a policy file. Every node keeps the span it was written at.
//!
//! The tree is what the user wrote, nothing resolved: names are still names and nets still refer to
//! each other. Values that cannot be valid (port 0, an inverted range, a malformed address) never
//! reach the tree: the parser reports them and leaves an `Error` node in their place, so later stages
//! neither crash on them nor report follow-on mistakes.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::{Family, PortRange, Protocol};
// The policy's vocabulary lives in the model; the tree uses it as written.
pub use crate::model::{ChainKind, ExpectKind, RateUnit, Verdict};
use crate::source::{FileId, Span, Spanned};

pub type Ident = Spanned<String>;

/// One parsed file, text or YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFile {
    pub file: FileId,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Include(Include),
    Service(ServiceDef),
    Net(NetDef),
    Host(HostBlock),
    /// Host-level statements written at top level: the file describes a single, unnamed host.
    HostItem(HostItem),
}

/// `include "common.pcl"`: a path relative to the including file.
#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    pub path: Spanned<String>,
    pub span: Span,
}

/// `service app = tcp/8080, udp/8080`
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDef {
    pub name: Ident,
    pub ports: Vec<ServiceRef>,
    pub span: Span,
}

/// `net office = 10.10.0.0/16, 2001:db8:10::/48, admins`
#[derive(Debug, Clone, PartialEq)]
pub struct NetDef {
    pub name: Ident,
    pub members: Vec<NetRef>,
    pub span: Span,
}

/// `host web-1 { ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct HostBlock {
    pub name: Ident,
    pub items: Vec<HostItem>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HostItem {
    Bind(Bind),
    Chain(ChainBlock),
    ForwardPort(Box<ForwardPort>),
    SourceNat(SourceNat),
}

/// `bind nginx on 0.0.0.0 http, https as root`: what listens where, as which user.
#[derive(Debug, Clone, PartialEq)]
pub struct Bind {
    pub process: Ident,
    pub address: Spanned<IpAddr>,
    /// `v6only` or `dual-stack` after an address.
    pub stack: Option<Spanned<Stack>>,
    pub services: Vec<ServiceRef>,
    pub user: Option<Ident>,
    pub span: Span,
}

/// A reference to ports: a service name or an explicit protocol/port spec.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceRef {
    /// `ssh`, or `domain/udp` to pick one protocol of a name.
    Name {
        name: Ident,
        protocol: Option<Spanned<Protocol>>,
        span: Span,
    },
    /// `tcp/22`, `udp/8000-8100`, or a bare `tcp` for every port of the protocol.
    Spec(PortSpec),
    /// `icmp`, `icmp/echo-request`, `icmpv6 nd-neighbor-solicit`: ICMP (IPv4) or ICMPv6 (IPv6)
    /// messages of one type, or of every type.
    Icmp {
        family: Family,
        icmp_type: Option<Spanned<u8>>,
        span: Span,
    },
    /// `gre`, `esp`, `proto/47`: every packet of an IP protocol, by number.
    IpProtocol { number: u8, span: Span },
    /// Something the parser rejected and already reported.
    Error(Span),
}

impl ServiceRef {
    pub fn span(&self) -> Span {
        match self {
            ServiceRef::Name { span, .. } => *span,
            ServiceRef::Spec(spec) => spec.span,
            ServiceRef::Icmp { span, .. } | ServiceRef::IpProtocol { span, .. } => *span,
            ServiceRef::Error(span) => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortSpec {
    pub protocol: Spanned<Protocol>,
    /// `None` for every port of the protocol.
    pub ports: Option<Spanned<PortRange>>,
    pub span: Span,
}

/// A source or destination: a named net, a literal address or prefix, or `any`.
#[derive(Debug, Clone, PartialEq)]
pub enum NetRef {
    Any(Span),
    /// A prefix exactly as written (host bits may be set; the resolver reports that). A bare address
    /// is a full-length prefix.
    Prefix(Spanned<IpNet>),
    Name(Ident),
    /// `!office`: every address the member does not hold. A list is all negated or all plain
    /// (the parser checks), and a negated list holds the addresses none of its members holds.
    Not(Box<NetRef>, Span),
    /// Something the parser rejected and already reported.
    Error(Span),
}

impl NetRef {
    pub fn span(&self) -> Span {
        match self {
            NetRef::Any(span) | NetRef::Error(span) | NetRef::Not(_, span) => *span,
            NetRef::Prefix(p) => p.span,
            NetRef::Name(n) => n.span,
        }
    }
}

/// `eth0`, `eth0, eth1`, `!wan0, !wan1`: the interfaces of `on`.
#[derive(Debug, Clone, PartialEq)]
pub struct Interfaces {
    pub names: Vec<Ident>,
    /// Written with `!`: every interface but these.
    pub negated: bool,
    pub span: Span,
}

/// `input drop { ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct ChainBlock {
    pub kind: Spanned<ChainKind>,
    pub policy: Spanned<Verdict>,
    pub rules: Vec<Rule>,
    /// The `expect` statements, in the order written. Where they stand among the rules means
    /// nothing: an expectation is about the whole chain.
    pub expectations: Vec<Expect>,
    pub span: Span,
}

/// `allow ssh from admins on eth0 limit 10/minute log "ssh " counter`
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub verdict: Spanned<Verdict>,
    /// `None` when the rule names no service: it matches every protocol and port.
    pub services: Option<Vec<ServiceRef>>,
    pub from: Option<Vec<NetRef>>,
    pub to: Option<Vec<NetRef>>,
    /// `on eth0`: the incoming interfaces (outgoing in an output chain).
    pub interface: Option<Interfaces>,
    pub limit: Option<Limit>,
    pub log: Option<Log>,
    pub counter: Option<Span>,
    /// An option's value was invalid (and reported): the rule keeps its place, so that findings
    /// about the chain stay right, but it does not resolve and is never compiled.
    pub broken: bool,
    pub span: Span,
}

/// `expect open ssh from admins on eth0`: what the chain must do with some traffic. Not a rule: it
/// matches nothing and never reaches the ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub kind: Spanned<ExpectKind>,
    /// Never empty in a statement that parsed: an expectation names its traffic.
    pub services: Vec<ServiceRef>,
    pub from: Option<Vec<NetRef>>,
    pub to: Option<Vec<NetRef>>,
    /// `on eth0`: the interfaces the traffic arrives on (leaves by, in an output chain).
    pub interface: Option<Interfaces>,
    /// An option was invalid or does not belong in an `expect` (reported): the statement is kept
    /// but does not resolve, so it is never checked against a traffic it does not describe.
    pub broken: bool,
    pub span: Span,
}

/// `limit 10/minute [burst 5] [per source]`
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub rate: u32,
    pub unit: RateUnit,
    pub burst: Option<u32>,
    /// Each source address gets its own budget.
    pub per_source: bool,
    pub span: Span,
}

/// `log` or `log "prefix "`
#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    pub prefix: Option<Spanned<String>>,
    pub span: Span,
}

/// `forward-port tcp/8443 to 10.0.0.5:443`: DNAT to another address, and the forward accept for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardPort {
    pub spec: PortSpec,
    pub from: Option<Vec<NetRef>>,
    /// `on wan0`: the interfaces connections arrive on.
    pub interface: Option<Interfaces>,
    /// `at 203.0.113.7`: the destinations to translate instead of the host's own addresses.
    pub at: Option<Vec<NetRef>>,
    pub target: Spanned<IpAddr>,
    /// `None`: the same port as the incoming one.
    pub target_port: Option<Spanned<u16>>,
    pub span: Span,
}

/// `masquerade on wan0 [from NETS]`, `snat on wan0 [from NETS] to 203.0.113.7`: source NAT for
/// connections leaving by the interfaces.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceNat {
    pub interface: Interfaces,
    pub from: Option<Vec<NetRef>>,
    /// The address to translate to; `None` for masquerade (the interface's own).
    pub to: Option<Spanned<IpAddr>>,
    pub span: Span,
}

/// Whether a listener on `::` also takes IPv4 connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stack {
    /// IPv6 only (`IPV6_V6ONLY`), as nginx, sshd and postfix set it when they also listen on
    /// `0.0.0.0`.
    V6Only,
    /// IPv6 and IPv4 (as v4-mapped addresses), Linux's default for `::`.
    DualStack,
}
