//! What a chain really lets in, for the exposure rules (`insecure-service`, `exposed-admin-port`,
//! `any-port-open`, `ssh-lockout`, `icmpv6-blocked`, `ftp-data-channel`, `unreachable-bind`).
//!
//! Those rules ask a narrower question than the coverage analysis answers. Coverage says whether a
//! rule decides *some* packet; they need to know whether it accepts some packet *of this port*
//! (from these sources, to these addresses): `allow tcp/1-1024` after `deny telnet` still decides
//! packets, but lets no telnet in. [`admitted`] answers exactly, by asking the coverage analysis
//! about a derived chain: each allow rule is cut into one piece per *probe* it touches, so that
//! the coverage of a piece is the coverage of the rule restricted to that probe. Other rules that
//! touch a probe are kept whole; rules that touch none cannot decide a probe's packets and are
//! left out. The derived chain is usually a handful of rules, and never more than the allow rules
//! times the probes each touches plus the other rules, so the cost stays that of one coverage
//! analysis.

use crate::model::{AddrSet, Chain, IntervalSet, Packet, Rule, Traffic};
use crate::syntax::ast::{ChainKind, Verdict};

/// Packets a rule asks about: a traffic set, from sources, to destinations.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub traffic: Traffic,
    pub src: AddrSet,
    pub dst: AddrSet,
}

impl Probe {
    /// The traffic from any source to any destination.
    pub fn traffic(traffic: Traffic) -> Self {
        Probe {
            traffic,
            src: AddrSet::any(),
            dst: AddrSet::any(),
        }
    }

    fn overlaps(&self, other: &Probe) -> bool {
        self.traffic.intersects(&other.traffic)
            && self.src.intersects(&other.src)
            && self.dst.intersects(&other.dst)
    }

    /// The part of `rule`'s match inside the probe, if any.
    fn restrict(&self, rule: &Rule) -> Option<(Traffic, AddrSet, AddrSet)> {
        let traffic = rule.traffic.intersection(&self.traffic);
        let src = rule.src.intersection(&self.src);
        let dst = rule.dst.intersection(&self.dst);
        (!traffic.is_empty() && !src.is_empty() && !dst.is_empty()).then_some((traffic, src, dst))
    }

    fn touches(&self, rule: &Rule) -> bool {
        rule.traffic.intersects(&self.traffic)
            && rule.src.intersects(&self.src)
            && rule.dst.intersects(&self.dst)
    }
}

/// A probe packet the chain accepts.
#[derive(Debug, Clone)]
pub(crate) struct Admitted {
    /// Index into the probes.
    pub probe: usize,
    /// The accepting rule, or `None` for the chain's default.
    pub rule: Option<usize>,
    /// One packet of the probe it accepts (while under its rate limit, for a limited rule).
    pub packet: Packet,
}

/// Every (allow rule, probe) pair where the rule accepts some packet of the probe, and every
/// probe whose packets reach an `accept` default. Only allow rules for which `split` holds are
/// reported; the others still take part in the evaluation, so an allow `split` leaves out still
/// shadows later ones. Rules that did not resolve take no part, as in the coverage analysis.
///
/// Overlapping probes are analysed in separate rounds, so that a rule's piece for one probe never
/// hides its piece for another.
pub(crate) fn admitted(
    chain: &Chain,
    probes: &[Probe],
    split: impl Fn(&Rule) -> bool,
) -> Vec<Admitted> {
    let mut out = Vec::new();
    for group in disjoint_groups(probes) {
        let mut rules: Vec<Rule> = Vec::new();
        // For each derived rule: the probe it is a piece of (`None` for a rule kept whole) and the
        // original rule (`None` for the default's stand-in).
        let mut origin: Vec<(Option<usize>, Option<usize>)> = Vec::new();
        // Most rules touch no probe: one test against the group's union rules them out before
        // any set is built.
        let reach = group.iter().fold(Traffic::empty(), |t, &k| t.union(&probes[k].traffic));
        for (index, rule) in chain.rules.iter().enumerate() {
            if !rule.resolved || !rule.traffic.intersects(&reach) {
                continue;
            }
            if rule.verdict == Verdict::Accept && split(rule) {
                for &k in group.iter().filter(|&&k| probes[k].touches(rule)) {
                    if let Some((traffic, src, dst)) = probes[k].restrict(rule) {
                        rules.push(derived(rule, traffic, src, dst));
                        origin.push((Some(k), Some(index)));
                    }
                }
            } else if group.iter().any(|&k| probes[k].touches(rule)) {
                rules.push(derived(
                    rule,
                    rule.traffic.clone(),
                    rule.src.clone(),
                    rule.dst.clone(),
                ));
                origin.push((None, Some(index)));
            }
        }
        if chain.policy == Verdict::Accept {
            // A last rule that accepts each probe stands for the default: it wins exactly the
            // probe packets that fall through every rule.
            for &k in &group {
                let p = &probes[k];
                let stand_in = Rule {
                    verdict: Verdict::Accept,
                    span: chain.policy_span,
                    services: Vec::new(),
                    traffic: p.traffic.clone(),
                    src: p.src.clone(),
                    dst: p.dst.clone(),
                    src_names: Vec::new(),
                    dst_names: Vec::new(),
                    interface: None,
                    limit: None,
                    log: None,
                    counter: false,
                    resolved: true,
                };
                rules.push(stand_in);
                origin.push((Some(k), None));
            }
        }
        if origin.iter().all(|(probe, _)| probe.is_none()) {
            continue; // nothing could accept a probe packet
        }
        let derived_chain = Chain {
            kind: chain.kind,
            policy: chain.policy,
            policy_span: chain.policy_span,
            span: chain.span,
            rules,
        };
        let coverage = derived_chain.coverage();
        for ((probe, rule), cov) in origin.into_iter().zip(coverage.rules) {
            if let (Some(probe), Some(packet)) = (probe, cov.wins) {
                out.push(Admitted {
                    probe,
                    rule,
                    packet,
                });
            }
        }
    }
    out
}

fn derived(rule: &Rule, traffic: Traffic, src: AddrSet, dst: AddrSet) -> Rule {
    Rule {
        verdict: rule.verdict,
        span: rule.span,
        services: Vec::new(),
        traffic,
        src,
        dst,
        src_names: Vec::new(),
        dst_names: Vec::new(),
        interface: rule.interface.clone(),
        limit: rule.limit.clone(),
        log: None,
        counter: false,
        resolved: true,
    }
}

/// Probes split into rounds of pairwise disjoint ones, greedily. Rules' tables of ports are
/// disjoint, so that is one round; overlapping binds of a host make a few.
fn disjoint_groups(probes: &[Probe]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (k, probe) in probes.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|g| g.iter().all(|&j| !probes[j].overlaps(probe)))
        {
            Some(group) => group.push(k),
            None => groups.push(vec![k]),
        }
    }
    groups
}

/// Chains that filter traffic coming in: to the host (`input`) or through it (`forward`).
pub(crate) fn is_inbound(kind: ChainKind) -> bool {
    matches!(kind, ChainKind::Input | ChainKind::Forward)
}

/// Whether a rule only matches traffic on the loopback interface, which never comes from the
/// network.
pub(crate) fn loopback_only(rule: &Rule) -> bool {
    rule.interface.as_deref() == Some("lo")
}

/// Whether a source set stands for "anywhere": at least half of the IPv4 space (`0.0.0.0/0`,
/// `0.0.0.0/1`, or everything but a few private ranges), or at least an eighth of the IPv6 space,
/// the size of `2000::/3`, which holds every global unicast address. `any` is both.
pub(crate) fn open_to_world(src: &AddrSet) -> bool {
    src.v4.count() >= 1 << 31 || src.v6.count() >= 1 << 125
}

/// `any address`, `every IPv4 address`, or the set itself, for messages.
pub(crate) fn sources_text(src: &AddrSet) -> String {
    if src.is_any() {
        "any address".to_string()
    } else if src.v4.is_full() && src.v6.is_empty() {
        "every IPv4 address".to_string()
    } else if src.v6.is_full() && src.v4.is_empty() {
        "every IPv6 address".to_string()
    } else {
        format!("`{src}`")
    }
}

/// Whether a port set holds every usable port, `1-65535` (port 0 is never a destination).
pub(crate) fn covers_all_ports(ports: &IntervalSet<u16>) -> bool {
    IntervalSet::range(1, u16::MAX).is_subset(ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PortRange, Protocol};
    use crate::pipeline::check_text;

    fn tcp(port: u16) -> Probe {
        Probe::traffic(Traffic::ports(Protocol::Tcp, PortRange::single(port)))
    }

    fn input(text: &str) -> Chain {
        let checked = check_text("t.pcl", text);
        checked.policy.hosts[0].chains[0].clone()
    }

    #[test]
    fn a_range_after_a_deny_admits_only_what_is_left() {
        let chain = input("input drop {\n  deny telnet\n  allow tcp/1-1024\n}\n");
        let found = admitted(&chain, &[tcp(23), tcp(21)], |_| true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].probe, 1);
        assert_eq!(found[0].rule, Some(1));
    }

    #[test]
    fn the_default_admits_what_falls_through() {
        let chain = input("input accept {\n  deny tcp/22 from 10.0.0.0/8\n}\n");
        let found = admitted(&chain, &[tcp(22)], |_| true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, None);
        assert!(!AddrSet::prefix("10.0.0.0/8".parse().unwrap()).contains(found[0].packet.src));
        let chain = input("input accept {\n  deny tcp/22\n}\n");
        assert!(admitted(&chain, &[tcp(22)], |_| true).is_empty());
    }

    #[test]
    fn overlapping_probes_do_not_hide_each_other() {
        let chain = input("input drop {\n  allow tcp/20-30\n}\n");
        let wide = Probe::traffic(Traffic::ports(Protocol::Tcp, PortRange { lo: 20, hi: 25 }));
        let found = admitted(&chain, &[wide, tcp(22)], |_| true);
        let mut probes: Vec<usize> = found.iter().map(|a| a.probe).collect();
        probes.sort_unstable();
        assert_eq!(probes, vec![0, 1]);
    }

    #[test]
    fn rules_left_unsplit_still_decide() {
        let chain = input("input drop {\n  allow from 10.0.0.0/8\n  allow ssh\n}\n");
        let found = admitted(&chain, &[tcp(22)], |r| !r.services.is_empty());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, Some(1));
        assert!(!AddrSet::prefix("10.0.0.0/8".parse().unwrap()).contains(found[0].packet.src));
    }

    #[test]
    fn the_world_is_half_of_ipv4_or_the_ipv6_internet() {
        assert!(open_to_world(&AddrSet::any()));
        assert!(open_to_world(&AddrSet::prefix(
            "0.0.0.0/0".parse().unwrap()
        )));
        assert!(open_to_world(&AddrSet::prefix("2000::/3".parse().unwrap())));
        assert!(!open_to_world(&AddrSet::prefix(
            "10.0.0.0/8".parse().unwrap()
        )));
        assert!(!open_to_world(&AddrSet::prefix(
            "2001:db8::/32".parse().unwrap()
        )));
    }
}
