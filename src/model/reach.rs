//! Who can reach a listener from the network: the sources from which a chain accepts some
//! connection to the listener's ports and addresses, arriving on an interface other than the
//! loopback. `audit` asks this for every socket it finds listening.
//!
//! The answer is exact, and it is the model's own first-match semantics: [`compare`] cuts the
//! chain (restricted to the listener's traffic and addresses) into regions against a chain that
//! drops all of it, and the regions where the chain accepts, by a rule or by its default, at full
//! rate or under a rate limit, are the ones a connection gets through.

use super::compare::{compare, Decider};
use super::{AddrSet, Chain, Rule, Traffic, Verdict};

/// The interface no connection from the network arrives on.
const LOOPBACK: &str = "lo";

/// The connections a chain lets in from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Every source address some of the connections can come from.
    pub sources: AddrSet,
    /// What accepts them: rules by index in the chain, `None` for the chain's default; in
    /// order, the default last.
    pub accepted_by: Vec<Option<usize>>,
}

impl Reach {
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

impl Chain {
    /// The sources from which this chain accepts some connection of `traffic` to one of `dst`,
    /// arriving on any interface but `lo`, and the rules (or the default) that accept them.
    /// Connections a port forward translated are not asked about: a listener is reached by
    /// connections to its own address and port. Rules that did not resolve are left out.
    pub fn reach(&self, traffic: &Traffic, dst: &AddrSet) -> Reach {
        let mut reach = Reach {
            sources: AddrSet::empty(),
            accepted_by: Vec::new(),
        };
        if traffic.is_empty() || dst.is_empty() {
            return reach;
        }
        let probe = |verdict| {
            Rule::matching(
                verdict,
                self.policy_span,
                traffic.clone(),
                AddrSet::any(),
                dst.clone(),
            )
        };
        // The chain's rules cut down to the probe, each with the index it has in the chain, and
        // a last rule that stands for the default: every probe packet is decided by a rule.
        let mut rules = Vec::new();
        let mut origin = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let cut = rule.traffic.intersection(traffic);
            let to = rule.dst.intersection(dst);
            if !rule.resolved || cut.is_empty() || to.is_empty() || rule.src.is_empty() {
                continue;
            }
            rules.push(Rule {
                interface: rule.interface.clone(),
                limit: rule.limit.clone(),
                translated: rule.translated,
                ..Rule::matching(rule.verdict, rule.span, cut, rule.src.clone(), to)
            });
            origin.push(Some(index));
        }
        rules.push(probe(self.policy));
        origin.push(None);
        let chain = self.with_rules(rules);
        let nothing = self.with_rules(vec![probe(Verdict::Drop)]);
        // The rules of the derived chain that accept a region's packets: the deciding one, and
        // the rate-limited one that decides first while under its rate.
        let accepting = |decider: Decider| {
            [decider.rule, decider.limited]
                .into_iter()
                .flatten()
                .filter(|&i| chain.rules[i].verdict == Verdict::Accept)
        };
        let mut by = Vec::new();
        for region in compare(&nothing, &chain).regions {
            let from_network = region.all_interfaces
                || region
                    .interfaces
                    .iter()
                    .any(|(name, translated)| !translated && name.as_deref() != Some(LOOPBACK));
            let before = by.len();
            by.extend(accepting(region.new).map(|i| origin[i]));
            if !from_network {
                by.truncate(before);
            } else if by.len() > before {
                reach.sources = reach.sources.union(&region.src);
            }
        }
        // `None` (the default) sorts first; it goes last.
        by.sort_unstable();
        by.dedup();
        if by.first() == Some(&None) {
            by.rotate_left(1);
        }
        reach.accepted_by = by;
        reach
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{AddrSet, ChainKind, PortRange, Protocol, Traffic};
    use crate::pipeline::check_text;

    fn tcp(port: u16) -> Traffic {
        Traffic::ports(Protocol::Tcp, PortRange::single(port))
    }

    fn net(text: &str) -> AddrSet {
        AddrSet::prefix(text.parse().unwrap())
    }

    /// The sources that reach `tcp/PORT` at `dst` through the input chain of `policy`, and the
    /// lines of the rules that accept them (0 for the default).
    fn reach(policy: &str, port: u16, dst: &AddrSet) -> (String, Vec<usize>) {
        let checked = check_text("t.pcl", policy);
        let host = &checked.policy.hosts[0];
        let chain = host.chain(ChainKind::Input).unwrap();
        let reach = chain.reach(&tcp(port), dst);
        let file = checked.loaded.sources.get(chain.span.file);
        let lines = reach
            .accepted_by
            .iter()
            .map(|r| r.map_or(0, |i| file.line_col(chain.rules[i].span.start).0))
            .collect();
        (reach.sources.to_string(), lines)
    }

    #[test]
    fn the_sources_of_the_allows_that_decide() {
        let policy = "input drop {\n  deny tcp/8080 from 10.1.0.0/16\n  allow tcp/8080 from 10.0.0.0/8\n  allow tcp/8080 from 2001:db8::/32\n}\n";
        let (sources, lines) = reach(policy, 8080, &AddrSet::any());
        assert_eq!(
            sources,
            "10.0.0.0/16, 10.2.0.0/15, 10.4.0.0/14, 10.8.0.0/13, and 5 more"
        );
        assert_eq!(lines, vec![3, 4]);
        // Over IPv4 only.
        let v4 = AddrSet {
            v6: crate::model::IntervalSet::empty(),
            ..AddrSet::any()
        };
        let (_, lines) = reach(policy, 8080, &v4);
        assert_eq!(lines, vec![3]);
        assert_eq!(reach(policy, 8081, &AddrSet::any()).0, "no address");
    }

    #[test]
    fn the_default_lets_in_what_no_rule_decides() {
        let policy = "input accept {\n  deny tcp/22 from 10.0.0.0/8\n}\n";
        let (sources, lines) = reach(policy, 22, &net("192.0.2.1/32"));
        assert_eq!(
            sources,
            "0.0.0.0/5, 8.0.0.0/7, 11.0.0.0/8, 12.0.0.0/6, and 4 more"
        );
        assert_eq!(lines, vec![0]);
    }

    #[test]
    fn the_destination_matters() {
        let policy = "input drop {\n  allow tcp/8080 to 10.0.0.5\n}\n";
        assert_eq!(reach(policy, 8080, &net("10.0.0.6/32")).0, "no address");
        assert_eq!(reach(policy, 8080, &net("10.0.0.0/24")).0, "0.0.0.0/0");
    }

    #[test]
    fn the_loopback_interface_is_not_the_network() {
        // The baseline accepts everything on `lo`; so does this rule.
        let policy = "input drop {\n  allow tcp/8080 on lo\n}\n";
        assert_eq!(reach(policy, 8080, &AddrSet::any()).0, "no address");
        let policy = "input drop {\n  allow tcp/8080 on eth0\n}\n";
        assert_eq!(reach(policy, 8080, &AddrSet::any()).0, "any");
    }

    #[test]
    fn a_rate_limited_allow_still_lets_connections_in() {
        let policy = "input drop {\n  allow ssh from 192.0.2.0/24 limit 10/minute\n}\n";
        let (sources, lines) = reach(policy, 22, &AddrSet::any());
        assert_eq!(sources, "192.0.2.0/24");
        assert_eq!(lines, vec![2]);
    }

    #[test]
    fn rejects_and_drops_let_nothing_in() {
        let policy = "input accept {\n  reject tcp/8080\n}\n";
        assert_eq!(reach(policy, 8080, &AddrSet::any()).0, "no address");
    }
}
