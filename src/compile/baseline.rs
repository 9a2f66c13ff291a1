//! The rules every generated filter chain starts with, before the policy's own rules.
//!
//! Each part is switched by `compile: baseline:` in portcullis.yaml. The ICMP part follows RFC 4890
//! for ICMPv6: without neighbour discovery a default-drop input chain cuts a host off IPv6 entirely,
//! and without packet-too-big path MTU discovery fails.

use super::ruleset::{Action, Verdict};
use super::ruleset::{CtState, Match, Rule};
use crate::config::Baseline;
use crate::model::Family;
use crate::syntax::ast::ChainKind;

const ICMP_HOST: &[&str] = &[
    "echo-request",
    "destination-unreachable",
    "time-exceeded",
    "parameter-problem",
];
/// RFC 4890 4.3.1 / 4.4.1: errors and echo, for hosts and routers alike.
const ICMPV6_ERRORS_ECHO: &[&str] = &[
    "destination-unreachable",
    "packet-too-big",
    "time-exceeded",
    "parameter-problem",
    "echo-request",
    "echo-reply",
];
/// Neighbour discovery, only valid on the link: a hop limit of 255 proves it was not routed.
const ICMPV6_ND: &[&str] = &[
    "nd-router-solicit",
    "nd-router-advert",
    "nd-neighbor-solicit",
    "nd-neighbor-advert",
];
/// Multicast listener discovery, sent from link-local addresses with a hop limit of 1.
const ICMPV6_MLD: &[&str] = &[
    "mld-listener-query",
    "mld-listener-report",
    "mld-listener-done",
    "mld2-listener-report",
];

fn accept(matches: Vec<Match>, comment: &str) -> Rule {
    Rule {
        matches,
        actions: vec![Action::Verdict(Verdict::Accept)],
        comment: Some(comment.to_string()),
    }
}

/// The baseline of one filter chain.
pub(super) fn rules(kind: ChainKind, baseline: &Baseline) -> Vec<Rule> {
    let mut rules = Vec::new();
    if baseline.established {
        rules.push(accept(
            vec![Match::CtState(CtState::EstablishedRelated)],
            "baseline: replies and related traffic",
        ));
    }
    if baseline.invalid && kind != ChainKind::Output {
        rules.push(Rule {
            matches: vec![Match::CtState(CtState::Invalid)],
            actions: vec![Action::Verdict(Verdict::Drop)],
            comment: Some("baseline: invalid packets".to_string()),
        });
    }
    if baseline.loopback && kind != ChainKind::Forward {
        rules.push(accept(
            vec![Match::Loopback {
                output: kind == ChainKind::Output,
            }],
            "baseline: loopback",
        ));
    }
    if baseline.icmp {
        rules.push(accept(
            vec![Match::IcmpType(Family::V4, ICMP_HOST)],
            "baseline: ICMP",
        ));
        rules.push(accept(
            vec![Match::IcmpType(Family::V6, ICMPV6_ERRORS_ECHO)],
            "baseline: ICMPv6 errors and echo (RFC 4890)",
        ));
        if kind != ChainKind::Forward {
            rules.push(accept(
                vec![Match::HopLimit(255), Match::IcmpType(Family::V6, ICMPV6_ND)],
                "baseline: IPv6 neighbour discovery (RFC 4890)",
            ));
            rules.push(accept(
                vec![
                    Match::HopLimit(1),
                    Match::Addr {
                        family: Family::V6,
                        direction: super::ruleset::Direction::Source,
                        value: super::ruleset::AddrValue::Elements(vec![
                            super::ruleset::AddrElem::Prefix(
                                "fe80::/10".parse().expect("a valid prefix"),
                            ),
                        ]),
                    },
                    Match::IcmpType(Family::V6, ICMPV6_MLD),
                ],
                "baseline: IPv6 multicast listener discovery (RFC 4890)",
            ));
        }
    }
    rules
}
