//! What the policy says must happen to a probe: the model's first-match evaluation
//! ([`crate::model::Chain::evaluate`]), never a second opinion.

use std::fmt;
use std::net::IpAddr;

use crate::model::{ChainKind, Verdict};
use crate::model::{Host, Packet, Rule, RuleOrigin, Transport};
use crate::source::Sources;

use super::probe::{Outcome, Probe};

/// Which way a probe crosses the server, and so which chain decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Path {
    /// Client to server: the input chain (or a `forward-port` translation).
    Input,
    /// Client through the server to the target: the forward chain.
    Forward,
    /// Server to client: the output chain.
    Output,
}

impl Path {
    pub fn chain(self) -> ChainKind {
        match self {
            Path::Input => ChainKind::Input,
            Path::Forward => ChainKind::Forward,
            Path::Output => ChainKind::Output,
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chain().as_str())
    }
}

/// A probe and the path it takes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Routed {
    pub path: Path,
    pub probe: Probe,
}

/// The verdict a probe must meet.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// One verdict, or two when a rate-limited rule decides: its own while under the rate, the
    /// fall-through one over it.
    pub verdicts: Vec<Verdict>,
    /// The deciding rule or default, for messages.
    pub why: String,
    /// For a probe a `forward-port` translates: the target address and port that must receive it.
    pub dnat: Option<(IpAddr, u16)>,
}

impl Expectation {
    pub fn is_limited(&self) -> bool {
        self.verdicts.len() > 1
    }

    pub fn admits(&self, outcome: Outcome) -> bool {
        self.verdicts.iter().any(|v| verdict_admits(*v, outcome))
    }

    pub fn describe(&self, probe: &Probe) -> String {
        let connects = probe.protocol == crate::model::Protocol::Tcp;
        self.describe_as(connects)
    }

    /// The expectation in words; `connects`: whether an accepted probe connects (TCP) rather
    /// than is answered.
    pub fn describe_as(&self, connects: bool) -> String {
        let shown: Vec<String> = self
            .verdicts
            .iter()
            .map(|v| format!("{} ({})", v.past_tense(), expected_outcome(*v, connects)))
            .collect();
        format!("{} by {}", shown.join(" or "), self.why)
    }
}

/// What a verdict looks like from the probing side.
pub fn verdict_admits(verdict: Verdict, outcome: Outcome) -> bool {
    match verdict {
        Verdict::Accept => outcome == Outcome::Answered,
        Verdict::Drop => matches!(outcome, Outcome::TimedOut | Outcome::Blocked(_)),
        Verdict::Reject => matches!(outcome, Outcome::Refused(_)),
    }
}

fn expected_outcome(verdict: Verdict, connects: bool) -> &'static str {
    match (verdict, connects) {
        (Verdict::Accept, true) => "must connect",
        (Verdict::Accept, false) => "must be answered",
        (Verdict::Drop, _) => "must time out",
        (Verdict::Reject, _) => "must be refused",
    }
}

/// The oracle for one host.
pub struct Oracle<'a> {
    pub host: &'a Host,
    /// For quoting rules in messages.
    pub sources: Option<&'a Sources>,
}

impl<'a> Oracle<'a> {
    pub fn new(host: &'a Host, sources: Option<&'a Sources>) -> Self {
        Oracle { host, sources }
    }

    /// The expectation for a probe crossing `path`, arriving on (or leaving by) `interface`:
    /// what [`Host::traverse`], which `explain` prints, says of its first packet.
    pub fn expect(&self, path: Path, probe: &Probe, interface: &str) -> Expectation {
        let packet = Packet {
            transport: Transport::Port(probe.protocol, probe.port),
            src: probe.src,
            dst: probe.dst,
            interface: Some(interface.to_string()),
            translated: false,
        };
        self.expect_packet(path, &packet)
    }

    /// The expectation for any packet crossing `path`.
    pub fn expect_packet(&self, path: Path, packet: &Packet) -> Expectation {
        let way = self.host.traverse(path.chain(), packet);
        let dnat = way.forward.map(|_| {
            let port = match way.packet.transport {
                Transport::Port(_, port) => port,
                _ => unreachable!("a port forward translates ports"),
            };
            (way.packet.dst, port)
        });
        let seen = match way.forward {
            Some(i) => format!(
                "`forward-port` {} to {} port {}, then ",
                self.place(self.host.forwards[i].span),
                way.packet.dst,
                dnat.map_or(0, |d| d.1)
            ),
            None => String::new(),
        };
        let kind = way.chain;
        let (Some(chain), Some(over)) = (self.host.chain(kind), &way.decision) else {
            return Expectation {
                verdicts: vec![Verdict::Accept],
                why: format!("{seen}the absence of a `{kind}` chain"),
                dnat,
            };
        };
        let describe = |rule: Option<usize>| match rule {
            Some(i) => self.rule_text(kind, i, &chain.rules[i]),
            None => format!(
                "the `{kind}` chain's default `{}`",
                chain.policy.policy_word()
            ),
        };
        if over.limited.is_empty() {
            return Expectation {
                verdicts: vec![over.verdict],
                why: format!("{seen}{}", describe(over.rule)),
                dnat,
            };
        }
        let under = chain.evaluate_under_limits(&way.packet);
        let mut verdicts = vec![under.verdict];
        if over.verdict != under.verdict {
            verdicts.push(over.verdict);
        }
        Expectation {
            verdicts,
            why: format!(
                "{seen}{} under its rate, {} over it",
                describe(under.rule),
                describe(over.rule)
            ),
            dnat,
        }
    }

    /// `file:line`, or nothing without sources.
    fn place(&self, span: crate::source::Span) -> String {
        self.sources
            .map(|s| format!("at {}", s.location(span)))
            .unwrap_or_default()
    }

    fn rule_text(&self, path: ChainKind, index: usize, rule: &Rule) -> String {
        if let RuleOrigin::Baseline(part) = rule.origin {
            return format!("{} (`{}`)", part.describe(), part.config_key());
        }
        if let RuleOrigin::PortForward(_) = rule.origin {
            return format!("the accept of the `forward-port` {}", self.place(rule.span));
        }
        match self.sources {
            Some(sources) => {
                let text = sources.text(rule.span);
                let text: Vec<&str> = text.split_whitespace().collect();
                format!(
                    "{path} rule {} `{}` ({})",
                    index + 1,
                    text.join(" "),
                    sources.location(rule.span)
                )
            }
            None => format!("{path} rule {}", index + 1),
        }
    }
}
