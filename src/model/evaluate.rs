//! First-match evaluation of one packet: the reference semantics of a chain.
//!
//! Everything else that reasons about what a policy does (the coverage analysis, `explain`, the
//! kernel tests' oracle) must agree with [`Chain::evaluate`].

use std::fmt;
use std::net::IpAddr;

use super::Verdict;
use super::{Chain, Family, Rule, Transport};

/// A packet as a chain sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    /// Protocol and port, ICMP type, or another protocol's number.
    pub transport: Transport,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The incoming interface (outgoing in an output chain), when known.
    pub interface: Option<String>,
    /// Whether a `forward-port` translated the destination before the filter saw the packet.
    pub translated: bool,
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from {} to {}", self.transport, self.src, self.dst)?;
        if let Some(iface) = &self.interface {
            write!(f, " on {iface}")?;
        }
        Ok(())
    }
}

impl Rule {
    /// Whether the rule's match expression holds for the packet (ignoring its rate limit).
    pub fn matches(&self, packet: &Packet) -> bool {
        let same_family = packet.src.is_ipv4() == packet.dst.is_ipv4();
        same_family
            && packet
                .transport
                .family()
                .is_none_or(|f| f == Family::of(packet.src))
            && self.traffic.contains(packet.transport)
            && self.src.contains(packet.src)
            && self.dst.contains(packet.dst)
            && self
                .interface
                .as_ref()
                .is_none_or(|i| i.matches(packet.interface.as_deref()))
            && (!self.translated || packet.translated)
    }
}

/// The outcome of evaluating a packet against a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Index of the deciding rule; `None` when the chain's default decides.
    pub rule: Option<usize>,
    pub verdict: Verdict,
    /// Rate-limited rules that match before the deciding one: while under their rate they decide
    /// instead, in this order.
    pub limited: Vec<usize>,
}

impl Chain {
    /// The decision for a packet that exceeds every rate limit it meets: the steady state of a
    /// flood. [`Decision::limited`] lists the rules that decide first while under their rates.
    pub fn evaluate(&self, packet: &Packet) -> Decision {
        let mut limited = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.matches(packet) {
                continue;
            }
            if rule.is_terminal() {
                return Decision {
                    rule: Some(index),
                    verdict: rule.verdict,
                    limited,
                };
            }
            limited.push(index);
        }
        Decision {
            rule: None,
            verdict: self.policy,
            limited,
        }
    }

    /// The verdict for a packet that is under every rate limit it meets.
    pub fn evaluate_under_limits(&self, packet: &Packet) -> Decision {
        let decision = self.evaluate(packet);
        match decision.limited.first() {
            Some(&first) => Decision {
                rule: Some(first),
                verdict: self.rules[first].verdict,
                limited: Vec::new(),
            },
            None => decision,
        }
    }
}
