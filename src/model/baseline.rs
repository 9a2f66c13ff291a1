//! The baseline: what every generated filter chain does before the policy's own rules, part by
//! part as `compile: baseline:` in portcullis.yaml switches them. The compiler writes these parts
//! as nftables rules; the model holds them as rules of the chain, so that `explain`, the lints and
//! the kernel tests see what the ruleset does.
//!
//! The ICMP part follows RFC 4890 for ICMPv6: without neighbour discovery a default-drop input
//! chain cuts a host off IPv6 entirely, and without packet-too-big path MTU discovery fails.

use super::{AddrSet, BaselinePart, Family, Interfaces, IntervalSet, Rule, RuleOrigin, Traffic};
use super::{ChainKind, Verdict};
use crate::source::Span;

/// ICMP errors every chain accepts: destination-unreachable, time-exceeded, parameter-problem.
pub const ICMP_ERRORS: &[u8] = &[3, 11, 12];
/// RFC 4890 4.3.1 / 4.4.1: errors, for hosts and routers alike: destination-unreachable,
/// packet-too-big, time-exceeded, parameter-problem.
pub const ICMPV6_ERRORS: &[u8] = &[1, 2, 3, 4];
/// Ping: ICMP echo-request.
pub const ICMP_ECHO: &[u8] = &[8];
/// Ping: ICMPv6 echo-request and echo-reply (RFC 4890 4.3.1).
pub const ICMPV6_ECHO: &[u8] = &[128, 129];
/// Neighbour discovery, only valid on the link (hop limit 255): router solicitation and
/// advertisement, neighbour solicitation and advertisement.
pub const ICMPV6_ND: &[u8] = &[133, 134, 135, 136];
/// Multicast listener discovery, sent from link-local addresses with a hop limit of 1: query,
/// report, done, and version 2 report.
pub const ICMPV6_MLD: &[u8] = &[130, 131, 132, 143];

/// A list of types as the ranges nft matches, in the order given.
pub fn ranges(types: &[u8]) -> Vec<(u8, u8)> {
    types.iter().map(|&t| (t, t)).collect()
}

/// Which parts of the baseline a policy is compiled with, as far as new connections go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub loopback: bool,
    pub icmp: bool,
    pub ping: bool,
}

impl Default for Parts {
    fn default() -> Self {
        Parts {
            loopback: true,
            icmp: true,
            ping: true,
        }
    }
}

/// The most rules [`rules`] gives a chain: the resolver leaves room for them in front.
pub const MAX_RULES: usize = 7;

/// The baseline's rules for a chain of `kind` whose header is at `span`, in the order the
/// compiler writes them.
///
/// Two conditions of the generated rules are not in these rules, because no packet the host
/// accepts can fail them: neighbour discovery is accepted only with a hop limit of 255 and
/// multicast listener discovery only with 1, and receivers discard such messages with any other
/// hop limit (RFC 4861 section 7.1, RFC 3810 section 5).
pub fn rules(kind: ChainKind, parts: Parts, span: Span) -> Vec<Rule> {
    let rule = |part: BaselinePart, traffic: Traffic, src: AddrSet| Rule {
        origin: RuleOrigin::Baseline(part),
        ..Rule::matching(Verdict::Accept, span, traffic, src, AddrSet::any())
    };
    let icmp = |family: Family, types: &[u8]| {
        Traffic::icmp_types(
            family,
            IntervalSet::from_ranges(types.iter().map(|&t| (t, t))),
        )
    };
    let mut out = Vec::new();
    if parts.loopback && kind != ChainKind::Forward {
        out.push(Rule {
            interface: Some(Interfaces::one("lo")),
            ..rule(BaselinePart::Loopback, Traffic::all(), AddrSet::any())
        });
    }
    if parts.ping {
        let part = BaselinePart::Ping;
        out.push(rule(part, icmp(Family::V4, ICMP_ECHO), AddrSet::any()));
        out.push(rule(part, icmp(Family::V6, ICMPV6_ECHO), AddrSet::any()));
    }
    if parts.icmp {
        let part = BaselinePart::Icmp;
        out.push(rule(part, icmp(Family::V4, ICMP_ERRORS), AddrSet::any()));
        out.push(rule(part, icmp(Family::V6, ICMPV6_ERRORS), AddrSet::any()));
        if kind != ChainKind::Forward {
            out.push(rule(part, icmp(Family::V6, ICMPV6_ND), AddrSet::any()));
            let link_local = AddrSet::prefix("fe80::/10".parse().expect("a valid prefix"));
            out.push(rule(part, icmp(Family::V6, ICMPV6_MLD), link_local));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_rules_is_the_most_any_chain_gets() {
        for kind in ChainKind::ALL {
            let all = rules(
                kind,
                Parts::default(),
                Span::new(crate::source::FileId(0), 0, 0),
            );
            assert!(all.len() <= MAX_RULES, "{kind:?}: {}", all.len());
        }
    }
}
