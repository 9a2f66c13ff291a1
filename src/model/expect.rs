//! Proving an `expect` statement against its chain, exactly.
//!
//! The traffic an expectation describes is split by who decides it in the chain: the chain is
//! compared ([`compare`]) with itself under a first rule that accepts that traffic, and again
//! under one that drops it. A packet of the traffic that the chain accepts outright differs only
//! from the second, one it drops outright only from the first, anything else from both; so the
//! two comparisons' regions cover the traffic, each with the chain's own decider. The
//! expectation holds where that decider does what it says.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::compare::{self, Decider, Region};
use super::{
    AddrSet, Chain, ExpectKind, Expectation, Interfaces, Packet, Rule, Transport, Verdict,
};

/// Where an expectation does not hold.
#[derive(Debug, Clone)]
pub struct Failure {
    /// A packet of the expectation's traffic for which it does not hold.
    pub packet: Packet,
    /// Who decides that packet in the chain.
    pub decider: Decider,
    /// The region of such packets the example comes from.
    pub region: Region,
    /// Whether some of the traffic does behave as expected (partial exposure).
    pub partial: bool,
}

/// Whether the chain does what `expectation` says for every packet of its traffic; `None` when
/// it does, or when the expectation did not resolve.
pub fn check(chain: &Chain, expectation: &Expectation) -> Option<Failure> {
    if !expectation.resolved {
        return None;
    }
    let regions = regions(chain, expectation);
    let holds = |d: Decider| holds(chain, expectation.kind, d);
    let partial = regions.iter().any(|r| holds(r.old));
    let failing = regions.into_iter().find(|r| !holds(r.old))?;
    Some(Failure {
        packet: example(&failing)?,
        decider: failing.old,
        partial,
        region: failing,
    })
}

/// The expectation's traffic cut by who decides it in the chain: regions that together cover it,
/// each with the chain's decider as `old`. Where the decision changes inside the traffic is where
/// a ruleset could get it wrong, so `portcullis test` probes every region.
pub fn regions(chain: &Chain, expectation: &Expectation) -> Vec<Region> {
    let under = |verdict: Verdict| {
        let mut first = Rule::matching(
            verdict,
            expectation.span,
            expectation.traffic.clone(),
            expectation.src.clone(),
            expectation.dst.clone(),
        );
        first.interface = Some(effective_interfaces(expectation));
        let mut rules = Vec::with_capacity(chain.rules.len() + 1);
        rules.push(first);
        rules.extend(chain.rules.iter().cloned());
        chain.with_rules(rules)
    };
    let mut regions = compare::compare(chain, &under(Verdict::Accept)).regions;
    regions.extend(compare::compare(chain, &under(Verdict::Drop)).regions);
    regions
}

/// The interfaces an expectation is about: those it names, else every one but the loopback,
/// whose traffic the baseline accepts (and which no one reaches from outside).
pub fn effective_interfaces(expectation: &Expectation) -> Interfaces {
    expectation
        .interface
        .clone()
        .unwrap_or_else(|| Interfaces::new(["lo".to_string()], true))
}

/// Whether a packet decided by `d` is what `kind` expects.
fn holds(chain: &Chain, kind: ExpectKind, d: Decider) -> bool {
    let steady = d.verdict(chain).admits();
    let limited = d.limited.map(|i| chain.rules[i].verdict.admits());
    match kind {
        // Accepted also by a flood, and by no rate-limited refusal first.
        ExpectKind::Open => steady && limited != Some(false),
        // Accepted neither over the rate limits nor under them.
        ExpectKind::Closed => !steady && limited != Some(true),
        ExpectKind::Limited => !steady && limited == Some(true),
    }
}

/// A packet of a region, with addresses inside their ranges where they can be (`10.0.0.1`
/// rather than the network's own `10.0.0.0`), so that the example reads as a host.
fn example(region: &Region) -> Option<Packet> {
    let transport: Transport = region.traffic.example()?;
    let interface = if region.all_interfaces {
        None
    } else {
        region.interfaces.iter().find_map(|(name, _)| name.clone())
    };
    let translated = !region.all_interfaces
        && region.translation_classes
        && region.interfaces.iter().all(|(_, t)| *t);
    Some(Packet {
        transport,
        src: inside(&region.src)?,
        dst: inside(&region.dst)?,
        interface,
        translated,
    })
}

/// An address of the set: the second of its first range when the range has more than two.
fn inside(set: &AddrSet) -> Option<IpAddr> {
    if let Some(&(lo, hi)) = set.v4.ranges().first() {
        let a = if hi - lo >= 2 { lo + 1 } else { lo };
        return Some(IpAddr::V4(Ipv4Addr::from(a)));
    }
    let &(lo, hi) = set.v6.ranges().first()?;
    let a = if hi - lo >= 2 { lo + 1 } else { lo };
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Protocol, Traffic};
    use crate::source::Span;

    fn chain(text: &str) -> Chain {
        let checked = crate::pipeline::check_text("p.pcl", text);
        checked.policy.hosts[0].chains[0].clone()
    }

    fn expect(kind: ExpectKind, port: u16, from: &str) -> Expectation {
        Expectation {
            kind,
            span: Span::default(),
            services: Vec::new(),
            traffic: Traffic::ports(
                Protocol::Tcp,
                crate::model::PortRange { lo: port, hi: port },
            ),
            src: if from == "any" {
                AddrSet::any()
            } else {
                AddrSet::prefix(from.parse().unwrap())
            },
            dst: AddrSet::any(),
            interface: None::<Interfaces>,
            resolved: true,
        }
    }

    const POLICY: &str = "input drop {\n  allow ssh from 10.0.0.0/8\n  reject tcp/5432\n  \
                          allow tcp/8080 limit 10/second\n  allow tcp/443\n}\n";

    #[test]
    fn what_holds_holds() {
        let c = chain(POLICY);
        assert!(check(&c, &expect(ExpectKind::Open, 22, "10.1.0.0/16")).is_none());
        assert!(check(&c, &expect(ExpectKind::Closed, 5432, "any")).is_none());
        assert!(check(&c, &expect(ExpectKind::Limited, 8080, "any")).is_none());
        assert!(check(&c, &expect(ExpectKind::Open, 443, "any")).is_none());
    }

    /// Every failure's packet, evaluated, contradicts the expectation, and names its decider.
    #[test]
    fn failures_come_with_a_packet_that_contradicts_them() {
        let c = chain(POLICY);
        let cases = [
            (ExpectKind::Open, 22, "any", true),
            (ExpectKind::Closed, 22, "any", true),
            (ExpectKind::Closed, 443, "any", false),
            (ExpectKind::Open, 8080, "any", false),
            (ExpectKind::Closed, 8080, "any", false),
            (ExpectKind::Limited, 22, "10.0.0.0/8", false),
            (ExpectKind::Open, 5432, "10.0.0.0/8", false),
        ];
        for (kind, port, from, partial) in cases {
            let e = expect(kind, port, from);
            let failure = check(&c, &e).unwrap_or_else(|| panic!("{kind:?} {port} {from}"));
            assert_eq!(failure.partial, partial, "{kind:?} {port} {from}");
            let p = &failure.packet;
            assert!(e.traffic.contains(p.transport) && e.src.contains(p.src));
            let steady = c.evaluate(p);
            let under = c.evaluate_under_limits(p);
            assert_eq!(steady.rule, failure.decider.rule, "{kind:?} {port} {from}");
            let contradicts = match kind {
                ExpectKind::Open => !(steady.verdict.admits() && under.verdict.admits()),
                ExpectKind::Closed => steady.verdict.admits() || under.verdict.admits(),
                ExpectKind::Limited => steady.verdict.admits() || !under.verdict.admits(),
            };
            assert!(contradicts, "{kind:?} {port} {from}: {p}");
        }
    }

    #[test]
    fn an_unresolved_expectation_is_not_judged() {
        let c = chain(POLICY);
        let mut e = expect(ExpectKind::Open, 9999, "any");
        assert!(check(&c, &e).is_some());
        e.resolved = false;
        assert!(check(&c, &e).is_none());
    }
}
