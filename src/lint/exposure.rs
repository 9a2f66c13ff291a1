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

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{AddrSet, Chain, IntervalSet, Rule, Traffic};
use crate::model::{ChainKind, Verdict};

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
    admitted_by_index(chain, probes, |_, rule| split(rule))
}

/// [`admitted`], with `split` also given each rule's index in the chain.
pub(crate) fn admitted_by_index(
    chain: &Chain,
    probes: &[Probe],
    split: impl Fn(usize, &Rule) -> bool,
) -> Vec<Admitted> {
    let mut out = Vec::new();
    for group in disjoint_groups(probes) {
        let mut derived = Derived::default();
        // Most rules touch no probe: one test against the group's union rules them out before
        // any set is built.
        let reach = group
            .iter()
            .fold(Traffic::empty(), |t, &k| t.union(&probes[k].traffic));
        for (index, rule) in chain.rules.iter().enumerate() {
            if !rule.resolved || !rule.traffic.intersects(&reach) {
                continue;
            }
            if rule.verdict == Verdict::Accept && split(index, rule) {
                for &k in group.iter().filter(|&&k| probes[k].touches(rule)) {
                    if let Some((traffic, src, dst)) = probes[k].restrict(rule) {
                        derived.piece(chain, k, index, piece(rule, traffic, src, dst));
                    }
                }
            } else if group.iter().any(|&k| probes[k].touches(rule)) {
                derived.whole(chain, index);
            }
        }
        let (mut rules, mut origin) = derived.finish(chain);
        if chain.policy == Verdict::Accept {
            // A last rule that accepts each probe stands for the default: it wins exactly the
            // probe packets that fall through every rule.
            for &k in &group {
                let p = &probes[k];
                let stand_in = Rule::matching(
                    Verdict::Accept,
                    chain.policy_span,
                    p.traffic.clone(),
                    p.src.clone(),
                    p.dst.clone(),
                );
                rules.push(stand_in);
                origin.push((Some(k), None));
            }
        }
        if origin.iter().all(|(probe, _)| probe.is_none()) {
            continue; // nothing could accept a probe packet
        }
        let derived_chain = chain.with_rules(rules);
        let coverage = derived_chain.winners();
        for ((probe, rule), cov) in origin.into_iter().zip(coverage.rules) {
            if let (Some(probe), true) = (probe, cov.wins.is_some()) {
                out.push(Admitted { probe, rule });
            }
        }
    }
    out
}

/// For a table of probes (ports or ranges, one protocol each): the service references of an
/// inbound chain's allow rules that let in packets of each probe, as (rule, service) -> the
/// probes in table order. Only rules for which `candidate` holds count; references that name a
/// whole protocol are left out (`any-port-open` reports them), and so is an `accept` default.
pub(crate) fn admitted_services(
    chain: &Chain,
    probes: &[Probe],
    candidate: impl Fn(&Rule) -> bool,
) -> BTreeMap<(usize, usize), Vec<usize>> {
    let mut found: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    let table = probes
        .iter()
        .fold(Traffic::empty(), |t, p| t.union(&p.traffic));
    let touched = chain
        .rules
        .iter()
        .any(|r| r.resolved && candidate(r) && r.traffic.intersects(&table));
    if !is_inbound(chain.kind) || !touched {
        return found;
    }
    for admitted in admitted(chain, probes, &candidate) {
        let Some(index) = admitted.rule else {
            continue;
        };
        let probe = &probes[admitted.probe].traffic;
        for (u, service) in chain.rules[index].services.iter().enumerate() {
            let names_ports = probe
                .protocols()
                .all(|p| !covers_all_ports(service.traffic.of(p)));
            if service.traffic.intersects(probe) && names_ports {
                found.entry((index, u)).or_default().push(admitted.probe);
            }
        }
    }
    for probes in found.values_mut() {
        probes.sort_unstable();
        probes.dedup();
    }
    found
}

/// The derived chain being built: pieces of allow rules, and the other rules kept whole.
///
/// Consecutive kept-whole rules that differ only in their sources, such as a block list of
/// thousands of `deny from ADDRESS`, become one rule with the union of the sources: a packet
/// any of them matches gets the same verdict either way, and the coverage analysis, whose cost
/// grows with the number of distinct sources times the rules that apply to each, stays cheap.
#[derive(Default)]
struct Derived {
    rules: Vec<Rule>,
    origin: Vec<PieceOf>,
    /// A run of kept-whole rules being merged.
    run: Option<Run>,
}

/// For a derived rule: the probe it is a piece of (`None` for a rule kept whole) and the original
/// rule (`None` for the default's stand-in).
type PieceOf = (Option<usize>, Option<usize>);

/// A run of kept-whole rules: the first rule's index and every source range of the run.
type Run = (usize, Vec<(u32, u32)>, Vec<(u128, u128)>);

impl Derived {
    fn piece(&mut self, chain: &Chain, probe: usize, index: usize, rule: Rule) {
        self.flush(chain);
        self.rules.push(rule);
        self.origin.push((Some(probe), Some(index)));
    }

    fn whole(&mut self, chain: &Chain, index: usize) {
        let rule = &chain.rules[index];
        if let Some((first, v4, v6)) = &mut self.run {
            if mergeable(&chain.rules[*first], rule) {
                v4.extend_from_slice(rule.src.v4.ranges());
                v6.extend_from_slice(rule.src.v6.ranges());
                return;
            }
        }
        self.flush(chain);
        self.run = Some((
            index,
            rule.src.v4.ranges().to_vec(),
            rule.src.v6.ranges().to_vec(),
        ));
    }

    fn flush(&mut self, chain: &Chain) {
        if let Some((first, v4, v6)) = self.run.take() {
            let rule = &chain.rules[first];
            let src = AddrSet {
                v4: IntervalSet::from_ranges(v4),
                v6: IntervalSet::from_ranges(v6),
            };
            self.rules.push(piece(
                rule,
                Arc::clone(&rule.traffic),
                src,
                rule.dst.clone(),
            ));
            self.origin.push((None, Some(first)));
        }
    }

    fn finish(mut self, chain: &Chain) -> (Vec<Rule>, Vec<PieceOf>) {
        self.flush(chain);
        (self.rules, self.origin)
    }
}

/// Whether two rules match the same packets apart from their sources, and decide them the same.
fn mergeable(a: &Rule, b: &Rule) -> bool {
    a.verdict == b.verdict
        && a.limit.is_none()
        && b.limit.is_none()
        && a.interface == b.interface
        && a.traffic == b.traffic
        && a.dst == b.dst
}

fn piece(
    rule: &Rule,
    traffic: impl Into<Arc<Traffic>>,
    src: impl Into<Arc<AddrSet>>,
    dst: impl Into<Arc<AddrSet>>,
) -> Rule {
    Rule {
        interface: rule.interface.clone(),
        limit: rule.limit.clone(),
        ..Rule::matching(rule.verdict, rule.span, traffic, src, dst)
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
    rule.interface.as_ref().is_some_and(|i| i.is_only("lo"))
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

    fn from(probe: Probe, net: &str) -> Probe {
        Probe {
            src: AddrSet::prefix(net.parse().unwrap()),
            ..probe
        }
    }

    /// The written rules of the policy's first chain, without the baseline, so that indices
    /// are those of the text.
    fn input(text: &str) -> Chain {
        let checked = check_text("t.pcl", text);
        let mut chain = checked.policy.hosts[0].chains[0].clone();
        chain.rules.retain(|r| r.is_written());
        chain
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
        assert!(admitted(&chain, &[from(tcp(22), "10.1.0.0/16")], |_| true).is_empty());
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
        let inside = admitted(&chain, &[from(tcp(22), "10.0.0.0/8")], |r| {
            !r.services.is_empty()
        });
        assert!(inside.is_empty());
    }

    #[test]
    fn a_block_list_is_merged_without_changing_the_answer() {
        let chain = input(
            "input drop {\n  deny from 10.0.0.0/9\n  deny from 10.128.0.0/9\n  allow ssh from 10.0.0.0/8\n}\n",
        );
        assert!(admitted(&chain, &[tcp(22)], |_| true).is_empty());
        let chain = input(
            "input drop {\n  deny from 10.0.0.1\n  deny from 10.0.0.2\n  reject from 10.0.0.3\n  allow ssh from 10.0.0.0/30\n}\n",
        );
        assert_eq!(admitted(&chain, &[tcp(22)], |_| true).len(), 1);
        assert_eq!(
            admitted(&chain, &[from(tcp(22), "10.0.0.0/32")], |_| true).len(),
            1
        );
        assert!(admitted(&chain, &[from(tcp(22), "10.0.0.1/32")], |_| true).is_empty());
        assert!(admitted(&chain, &[from(tcp(22), "10.0.0.3/32")], |_| true).is_empty());
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
