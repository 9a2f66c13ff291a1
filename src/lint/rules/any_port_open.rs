//! `any-port-open`: every port of a protocol is open to any address.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::lint::describe::{chain_name, rule_text};
use crate::lint::LintContext;
use crate::model::{ChainKind, Verdict};
use crate::model::{Protocol, Rule, Traffic};

use crate::lint::exposure::{
    admitted, covers_all_ports, is_inbound, loopback_only, open_to_world, sources_text, Probe,
};

crate::declare_lint! {
    /// Every port of a protocol is open to any address.
    ///
    /// ## What it does
    /// Reports an `allow` in an `input` or `forward` chain that lets in every port of a protocol
    /// (`allow tcp`, `allow udp/1-65535`, or an `allow` that names no service at all) from
    /// anywhere: without `from`, `from any`, or from sources covering at least half of the IPv4
    /// space or an eighth of the IPv6 space (the size of `2000::/3`, every global address). It
    /// also reports an `input` or `forward` chain whose default is `accept` when some TCP, UDP,
    /// SCTP or DCCP packet falls through its rules to that default: the default is then such an
    /// allow.
    ///
    /// Only protocols the rule really lets in are named: `deny tcp` followed by `allow from any`
    /// is reported for UDP, SCTP and DCCP, and an allow that earlier rules decide entirely is
    /// left to `shadowed-rule`. Rules on the loopback interface (`allow on lo`) are not reported:
    /// loopback traffic never comes from the network. Nor are `forward` rules limited to the
    /// interfaces traffic arrives on (`allow from lan on lan0`, `allow on lan0`): letting an
    /// inside network out to everything is what a router does.
    ///
    /// ## Why it matters
    /// Every service on the host, including the ones started later, by a package, a container
    /// or an attacker, is reachable from the whole network: the firewall no longer decides what
    /// is exposed. Databases and admin interfaces that listen on all addresses by default are the
    /// usual victims.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow ssh from admins
    ///   allow tcp
    /// }
    ///
    /// forward accept {
    ///   deny smtp
    /// }
    /// ```
    ///
    /// ## Fix
    /// Allow only the services the host offers, by name or port (`allow http, https`), or limit
    /// the sources with `from` a net that needs everything (`allow tcp from backup-servers`).
    /// For a chain, make the default `drop` and allow what should come in.
    pub static ANY_PORT_OPEN = {
        name: "any-port-open",
        code: "PC303",
        category: Exposure,
        default_level: Warning,
    }
}

/// Whether a rule opens some protocol entirely to the world.
fn candidate(rule: &Rule) -> bool {
    !loopback_only(rule)
        && open_to_world(&rule.src)
        && Protocol::ALL
            .iter()
            .any(|&p| covers_all_ports(rule.traffic.of(p)))
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let probes: Vec<Probe> = Protocol::ALL
        .iter()
        .map(|&p| Probe::traffic(Traffic::protocol(p)))
        .collect();
    for (host, chain) in ctx.chains() {
        if !is_inbound(chain.kind) {
            continue;
        }
        let forward = chain.kind == ChainKind::Forward;
        let candidate = |rule: &Rule| candidate(rule) && !(forward && rule.interface.is_some());
        let has_candidate = chain
            .rules
            .iter()
            .any(|r| r.resolved && r.verdict == Verdict::Accept && candidate(r));
        // An unresolved rule might have decided what falls through: no guess about the default.
        let default_counts =
            chain.policy == Verdict::Accept && chain.rules.iter().all(|r| r.resolved);
        if !has_candidate && !default_counts {
            continue;
        }
        // Rule (or `None`: the default) -> protocols it opens.
        let mut found: BTreeMap<Option<usize>, Vec<Protocol>> = BTreeMap::new();
        for admitted in admitted(chain, &probes, candidate) {
            let protocol = Protocol::ALL[admitted.probe];
            match admitted.rule {
                Some(index) if covers_all_ports(chain.rules[index].traffic.of(protocol)) => {}
                None if default_counts => {}
                _ => continue,
            }
            found.entry(admitted.rule).or_default().push(protocol);
        }
        for (rule, mut protocols) in found {
            protocols.sort_unstable();
            protocols.dedup();
            let what = ports_text(&protocols);
            let d = match rule {
                Some(index) => {
                    let rule = &chain.rules[index];
                    let every = rule.traffic.is_all() && protocols.len() == Protocol::ALL.len();
                    let what = if every {
                        "every port of every protocol".to_string()
                    } else {
                        what
                    };
                    Diagnostic::new(
                        &ANY_PORT_OPEN,
                        rule.span,
                        format!(
                            "`{}` opens {what} to {}",
                            rule_text(ctx.sources, rule),
                            sources_text(&rule.src)
                        ),
                    )
                    .label(format!("{what} from {}", sources_text(&rule.src)))
                    .help("allow only the services the host offers, by name or port (`allow http, https`), or limit the sources with `from`")
                }
                None => Diagnostic::new(
                    &ANY_PORT_OPEN,
                    chain.policy_span,
                    format!("the {} accepts {what} by default", chain_name(host, chain)),
                )
                .label("accepts every packet no rule decides")
                .help(format!(
                    "make the default `drop` (`{} drop {{`) and allow only the services {}",
                    chain.kind,
                    if chain.kind == ChainKind::Forward {
                        "the hosts behind it offer"
                    } else {
                        "the host offers"
                    }
                )),
            };
            out.push(d);
        }
    }
}

/// `every tcp port`, `every tcp and udp port`, `every port of tcp, udp and sctp`.
fn ports_text(protocols: &[Protocol]) -> String {
    let names: Vec<&str> = protocols.iter().map(|p| p.as_str()).collect();
    match names.as_slice() {
        [one] => format!("every {one} port"),
        [a, b] => format!("every {a} and {b} port"),
        [rest @ .., last] => format!("every port of {} and {last}", rest.join(", ")),
        [] => "nothing".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, ANY_PORT_OPEN.name)
    }

    #[test]
    fn whole_protocols_and_full_ranges_from_anywhere() {
        let found = findings("input drop {\n  allow tcp\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("every tcp port"),
            "{}",
            found[0].message
        );
        assert_eq!(
            findings("input drop {\n  allow udp/1-65535 from 0.0.0.0/0\n}\n").len(),
            1
        );
        let found = findings("forward drop {\n  allow to 10.0.0.5\n}\n");
        assert!(
            found[0].message.contains("every port of every protocol"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn only_protocols_really_let_in_are_named() {
        let found = findings("input drop {\n  deny tcp\n  allow from any\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("udp, sctp and dccp"),
            "{}",
            found[0].message
        );
        assert!(!found[0].message.contains("tcp"), "{}", found[0].message);
    }

    #[test]
    fn restricted_sources_ranges_and_loopback_are_fine() {
        assert!(findings("input drop {\n  allow tcp from 10.0.0.0/8\n}\n").is_empty());
        assert!(findings("input drop {\n  allow tcp/1024-65535\n}\n").is_empty());
        assert!(findings("input drop {\n  allow on lo\n}\n").is_empty());
        assert!(findings("output drop {\n  allow tcp\n}\n").is_empty());
        assert!(findings("input drop {\n  deny tcp\n  allow tcp\n}\n").is_empty());
    }

    #[test]
    fn an_accept_default_counts_when_something_reaches_it() {
        let found = findings("input accept {\n  deny telnet\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("by default"),
            "{}",
            found[0].message
        );
        assert!(findings("input accept {\n  allow ssh\n  deny from any\n}\n").is_empty());
        assert!(findings("output accept {\n}\n").is_empty());
    }

    #[test]
    fn a_rate_limited_allow_still_opens_everything() {
        assert_eq!(
            findings("input drop {\n  allow tcp limit 10/second\n}\n").len(),
            1
        );
    }
}
