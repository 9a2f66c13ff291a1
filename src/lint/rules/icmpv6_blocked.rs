//! `icmpv6-blocked`: a chain lets IPv6 through but drops the ICMPv6 it depends on.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::chain_name;
use crate::lint::LintContext;
use crate::model::{AddrSet, Chain, Family, Host, IntervalSet, Protocol, Traffic};
use crate::model::{ChainKind, Verdict};

use crate::lint::exposure::{admitted, loopback_only, Probe};

crate::declare_lint! {
    /// A chain lets IPv6 through but drops the ICMPv6 that IPv6 cannot work without.
    ///
    /// ## What it does
    /// Evaluates each chain, baseline included, for the ICMPv6 messages IPv6 needs, and reports a
    /// chain that accepts some IPv6 traffic (so IPv6 is meant to work) but not these:
    ///
    /// - in `input`, neighbour solicitations and advertisements from link-local sources
    ///   (`fe80::/10`), and in `output`, the same to link-local and link-scope multicast addresses
    ///   (`ff02::/16`): neighbour discovery, with which IPv6 resolves addresses, finds routers and
    ///   detects duplicate addresses;
    /// - in `input` and `forward`, packet-too-big from other sources: the messages of routers on
    ///   the path, which path MTU discovery depends on.
    ///
    /// With the compiler's ICMP baseline on (the default) these are accepted before any rule and
    /// there is nothing to report. It matters when the baseline is off (`compile: baseline:
    /// {icmp: false}` in `portcullis.yaml`) and the rules must accept them.
    ///
    /// A chain that accepts no IPv6 at all is not reported: IPv6 is off there on purpose.
    ///
    /// ## Why it matters
    /// IPv6 has no ARP and routers do not fragment: without neighbour discovery the host cannot
    /// reach its neighbours or its gateway, and without packet-too-big, connections whose
    /// packets are larger than some link on the path hang after the handshake (the classic
    /// "ssh logs in, then freezes"). Both fail silently.
    ///
    /// ## Example
    /// ```text
    /// # portcullis.yaml: compile: {baseline: {icmp: false}}
    /// input drop {
    ///   allow ssh from admins
    ///   allow https
    /// }
    /// ```
    ///
    /// ## Fix
    /// Turn the baseline back on: remove `icmp: false` from `compile.baseline`. It accepts the
    /// ICMPv6 types RFC 4890 says must not be dropped, and neighbour discovery only from the link
    /// (hop limit 255). Or allow them yourself, above any rule that refuses them:
    /// `allow icmpv6/nd-neighbor-solicit, icmpv6/nd-neighbor-advert, icmpv6/packet-too-big`.
    pub static ICMPV6_BLOCKED = {
        name: "icmpv6-blocked",
        code: "PC305",
        category: Exposure,
        default_level: Warning,
    }
}

/// `fe80::/10`, where neighbour discovery comes from.
fn link_local() -> AddrSet {
    AddrSet::prefix("fe80::/10".parse().expect("a valid prefix"))
}

/// The probes of an incoming and of an outgoing chain. The last probe of each list tells whether
/// the chain takes IPv6 at all; the others are what IPv6 needs it to accept, at [`NEIGHBOUR`]
/// and (incoming only) [`TOO_BIG`].
fn probes() -> ([Probe; 3], [Probe; 2]) {
    let ipv6 = AddrSet {
        v4: IntervalSet::empty(),
        v6: IntervalSet::full(),
    };
    let link_local = link_local();
    // Neighbour solicitations and advertisements: without them no address resolves.
    let neighbour = Traffic::icmp_types(Family::V6, IntervalSet::range(135, 136));
    let too_big = Traffic::icmp_types(Family::V6, IntervalSet::range(2, 2));
    let ports = Protocol::ALL
        .iter()
        .fold(Traffic::empty(), |t, &p| t.union(&Traffic::protocol(p)));
    let probe = |traffic: &Traffic, src: AddrSet| Probe {
        traffic: traffic.clone(),
        src,
        dst: ipv6.clone(),
    };
    let incoming = [
        probe(&neighbour, link_local.clone()),
        probe(
            &too_big,
            AddrSet {
                v4: IntervalSet::empty(),
                v6: ipv6.v6.difference(&link_local.v6),
            },
        ),
        probe(&ports, ipv6.clone()),
    ];
    // Going out, neighbour discovery is addressed to link-local and link-scope multicast
    // addresses (solicitations go to `ff02::1:ffXX:XXXX`, `ff02::2`).
    let neighbours = link_local.union(&AddrSet::prefix(
        "ff02::/16".parse().expect("a valid prefix"),
    ));
    let outgoing = [
        Probe {
            traffic: neighbour.clone(),
            src: ipv6.clone(),
            dst: neighbours,
        },
        probe(&ports, ipv6.clone()),
    ];
    (incoming, outgoing)
}

/// The probe of neighbour discovery, in both lists.
const NEIGHBOUR: usize = 0;
/// The probe of path MTU discovery, in the incoming list.
const TOO_BIG: usize = 1;

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    let (incoming, outgoing) = probes();
    for (host, chain) in ctx.chains() {
        if chain.rules.iter().any(|r| !r.resolved) {
            continue;
        }
        let probes: &[Probe] = if chain.kind == ChainKind::Output {
            &outgoing
        } else {
            &incoming
        };
        let mut accepted = [false; 3];
        for a in admitted(chain, probes, |r| !loopback_only(r)) {
            if a.rule.is_none_or(|i| !loopback_only(&chain.rules[i])) {
                accepted[a.probe] = true;
            }
        }
        let broken = what_fails(chain.kind, &accepted);
        let uses_ipv6 = accepted.iter().any(|&a| a);
        if !uses_ipv6 || broken.is_empty() {
            continue; // no IPv6 at all, nothing depends on ICMPv6; or nothing missing
        }
        out.push(report(host, chain, &broken));
    }
}

/// What will fail in a chain of `kind`, by which of its probes it accepts.
fn what_fails(kind: ChainKind, accepted: &[bool; 3]) -> Vec<&'static str> {
    match kind {
        ChainKind::Input => [
            (NEIGHBOUR, "neighbour discovery"),
            (TOO_BIG, "path MTU discovery"),
        ]
        .into_iter()
        .filter(|&(k, _)| !accepted[k])
        .map(|(_, what)| what)
        .collect(),
        // Neighbour discovery never crosses a router.
        ChainKind::Forward => (!accepted[TOO_BIG])
            .then_some("path MTU discovery")
            .into_iter()
            .collect(),
        ChainKind::Output => (!accepted[NEIGHBOUR])
            .then_some("neighbour discovery")
            .into_iter()
            .collect(),
    }
}

fn report(host: &Host, chain: &Chain, broken: &[&str]) -> Diagnostic {
    let direction = if chain.kind == ChainKind::Output {
        "out"
    } else {
        "in"
    };
    let mut d = Diagnostic::new(
        &ICMPV6_BLOCKED,
        chain.span,
        format!(
            "the {} lets IPv6 {direction} but drops the ICMPv6 it needs: {} will fail",
            chain_name(host, chain),
            broken.join(" and ")
        ),
    )
    .label("accepts IPv6, but no ICMPv6");
    if chain.policy != Verdict::Accept {
        d = d.secondary(
            chain.policy_span,
            format!(
                "ICMPv6 falls through to this `{}`",
                chain.policy.policy_word()
            ),
        );
    }
    d.help(
        "turn the compiler's ICMP baseline back on (remove `icmp: false` under `compile.baseline` in portcullis.yaml): it accepts exactly the ICMPv6 types RFC 4890 says IPv6 needs; or allow them above the rules that refuse them: `allow icmpv6/nd-neighbor-solicit, icmpv6/nd-neighbor-advert, icmpv6/packet-too-big`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::lint::Levels;
    use crate::pipeline;

    fn findings_with(icmp: bool, text: &str) -> Vec<Diagnostic> {
        let mut settings = Settings::default();
        settings.config.compile.baseline.icmp = icmp;
        let levels = Levels::from_config(&settings.config.lint);
        pipeline::check(crate::load::load_text("t.pcl", text), &settings, &levels)
            .diagnostics
            .into_iter()
            .filter(|d| d.rule == ICMPV6_BLOCKED.name)
            .collect()
    }

    fn findings(text: &str) -> Vec<Diagnostic> {
        findings_with(false, text)
    }

    #[test]
    fn only_when_the_baseline_is_off() {
        let policy = "input drop {\n  allow ssh\n}\n";
        assert!(findings_with(true, policy).is_empty());
        let found = findings(policy);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("neighbour discovery and path MTU"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn an_ipv4_only_chain_is_fine() {
        assert!(
            findings("input drop {\n  allow ssh from 10.0.0.0/8, 192.0.2.0/24\n}\n").is_empty()
        );
    }

    #[test]
    fn rules_without_services_let_icmpv6_in() {
        assert!(findings(
            "input drop {\n  allow ssh\n  allow from fe80::/10\n  allow from 2000::/3\n}\n"
        )
        .is_empty());
        let found = findings("input drop {\n  allow ssh\n  allow from fe80::/10\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            !found[0].message.contains("neighbour"),
            "{}",
            found[0].message
        );
        assert!(findings("input accept {\n  deny tcp/23\n}\n").is_empty());
    }

    #[test]
    fn forward_chains_need_only_packet_too_big() {
        assert!(findings("forward drop {\n  allow https\n  allow from 2000::/3\n}\n").is_empty());
        assert_eq!(findings("forward drop {\n  allow https\n}\n").len(), 1);
    }

    #[test]
    fn output_chains_need_neighbour_discovery() {
        let found = findings("output drop {\n  allow https\n}\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("IPv6 out"),
            "{}",
            found[0].message
        );
        assert!(
            findings("output drop {\n  allow https\n  allow to fe80::/10, ff02::/16\n}\n")
                .is_empty()
        );
        assert!(findings("output drop {\n  allow https to 10.0.0.0/8\n}\n").is_empty());
        assert!(findings("output accept {\n  deny smtp\n}\n").is_empty());
    }

    #[test]
    fn loopback_rules_do_not_count() {
        assert_eq!(
            findings("input drop {\n  allow on lo\n  allow ssh\n}\n").len(),
            1
        );
    }
}
