//! What the policy says must happen to a probe: the model's first-match evaluation
//! ([`portcullis::model::Chain::evaluate`]), never a second opinion.

use std::fmt;
use std::net::IpAddr;

use portcullis::model::{Family, Forward, Host, Packet, Rule, Transport};
use portcullis::source::Sources;
use portcullis::syntax::ast::{ChainKind, Verdict};

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
        let shown: Vec<String> = self
            .verdicts
            .iter()
            .map(|v| format!("{} ({})", v.past_tense(), expected_outcome(*v, probe)))
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

fn expected_outcome(verdict: Verdict, probe: &Probe) -> &'static str {
    match (verdict, probe.protocol) {
        (Verdict::Accept, portcullis::model::Protocol::Tcp) => "must connect",
        (Verdict::Accept, _) => "must echo",
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

    /// The expectation for a probe crossing `path`, arriving on (or leaving by) `interface`.
    pub fn expect(&self, path: Path, probe: &Probe, interface: &str) -> Expectation {
        let packet = Packet {
            transport: Transport::Port(probe.protocol, probe.port),
            src: probe.src,
            dst: probe.dst,
            interface: Some(interface.to_string()),
        };
        if path == Path::Input {
            if let Some(forward) = self.translation(&packet) {
                let port = forward.target_port.unwrap_or(probe.port);
                return Expectation {
                    verdicts: vec![Verdict::Accept],
                    why: format!(
                        "`forward-port` to {} port {port} (the forward accept comes with it)",
                        forward.target
                    ),
                    dnat: Some((forward.target, port)),
                };
            }
        }
        let Some(chain) = self.host.chain(path.chain()) else {
            return Expectation {
                verdicts: vec![Verdict::Accept],
                why: format!("the absence of a `{path}` chain"),
                dnat: None,
            };
        };
        let over = chain.evaluate(&packet);
        let under = chain.evaluate_under_limits(&packet);
        let describe = |rule: Option<usize>| match rule {
            Some(i) => self.rule_text(path, i, &chain.rules[i]),
            None => format!(
                "the `{path}` chain's default `{}`",
                chain.policy.policy_word()
            ),
        };
        if over.limited.is_empty() {
            Expectation {
                verdicts: vec![over.verdict],
                why: describe(over.rule),
                dnat: None,
            }
        } else {
            let mut verdicts = vec![under.verdict];
            if over.verdict != under.verdict {
                verdicts.push(over.verdict);
            }
            Expectation {
                verdicts,
                why: format!(
                    "{} under its rate, {} over it",
                    describe(under.rule),
                    describe(over.rule)
                ),
                dnat: None,
            }
        }
    }

    /// The `forward-port` that translates a packet arriving at the server, if any: the first one
    /// whose protocol, ports, family and sources match, as nat prerouting sees it.
    pub fn translation(&self, packet: &Packet) -> Option<&'a Forward> {
        self.host.forwards.iter().find(|f| {
            matches!(packet.transport, Transport::Port(p, port)
                if p == f.protocol && (f.ports.lo..=f.ports.hi).contains(&port))
                && Family::of(packet.src) == Family::of(f.target)
                && f.from.contains(packet.src)
        })
    }

    fn rule_text(&self, path: Path, index: usize, rule: &Rule) -> String {
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
