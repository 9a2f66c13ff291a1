//! The rules every generated filter chain starts with, before the policy's own rules: the
//! nftables form of [`crate::model::baseline`], with the connection-tracking and hop-limit
//! conditions the model leaves out of its packets.

use super::ruleset::{Action, Verdict};
use super::ruleset::{CtState, Match, Rule};
use crate::config::Baseline;
use crate::model::baseline::{ranges, ICMPV6_ERRORS_ECHO, ICMPV6_MLD, ICMPV6_ND, ICMP_HOST};
use crate::model::Family;
use crate::syntax::ast::ChainKind;

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
            vec![Match::IcmpType(Family::V4, ranges(ICMP_HOST))],
            "baseline: ICMP",
        ));
        rules.push(accept(
            vec![Match::IcmpType(Family::V6, ranges(ICMPV6_ERRORS_ECHO))],
            "baseline: ICMPv6 errors and echo (RFC 4890)",
        ));
        if kind != ChainKind::Forward {
            rules.push(accept(
                vec![
                    Match::HopLimit(255),
                    Match::IcmpType(Family::V6, ranges(ICMPV6_ND)),
                ],
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
                        negated: false,
                    },
                    Match::IcmpType(Family::V6, ranges(ICMPV6_MLD)),
                ],
                "baseline: IPv6 multicast listener discovery (RFC 4890)",
            ));
        }
    }
    rules
}
