//! The rules every generated filter chain starts with, before the policy's own rules.
//!
//! The parts that decide new connections (loopback, ICMP) are rules of the model's chains
//! ([`crate::model::baseline`]); each is written here in its nftables form, with the hop-limit
//! conditions the model leaves out. The parts about packets of known or broken connections
//! (replies, invalid packets) are the compiler's alone and come first.

use super::ruleset::{Action, AddrElem, AddrValue, Direction, Verdict};
use super::ruleset::{CtState, Match, Rule};
use crate::config::Baseline;
use crate::model::baseline::{
    ranges, ICMPV6_ECHO, ICMPV6_ERRORS, ICMPV6_MLD, ICMPV6_ND, ICMP_ECHO, ICMP_ERRORS,
};
use crate::model::ChainKind;
use crate::model::{BaselinePart, Family};

fn accept(matches: Vec<Match>, comment: &str) -> Rule {
    Rule {
        matches,
        actions: vec![Action::Verdict(Verdict::Accept)],
        comment: Some(comment.to_string()),
    }
}

/// Replies and related traffic accepted, invalid packets dropped: what comes before everything.
pub(super) fn connection_state(kind: ChainKind, baseline: &Baseline) -> Vec<Rule> {
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
    rules
}

/// One part of the baseline, as the model's chain holds it.
pub(super) fn part(kind: ChainKind, part: BaselinePart) -> Vec<Rule> {
    let mut rules = Vec::new();
    match part {
        BaselinePart::Loopback => rules.push(accept(
            vec![Match::Loopback {
                output: kind == ChainKind::Output,
            }],
            "baseline: loopback",
        )),
        BaselinePart::Ping => {
            rules.push(accept(
                vec![Match::IcmpType(Family::V4, ranges(ICMP_ECHO))],
                "baseline: ping",
            ));
            rules.push(accept(
                vec![Match::IcmpType(Family::V6, ranges(ICMPV6_ECHO))],
                "baseline: ping (RFC 4890)",
            ));
        }
        BaselinePart::Icmp => {
            rules.push(accept(
                vec![Match::IcmpType(Family::V4, ranges(ICMP_ERRORS))],
                "baseline: ICMP errors",
            ));
            rules.push(accept(
                vec![Match::IcmpType(Family::V6, ranges(ICMPV6_ERRORS))],
                "baseline: ICMPv6 errors (RFC 4890)",
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
                            direction: Direction::Source,
                            value: AddrValue::Elements(vec![AddrElem::Prefix(
                                "fe80::/10".parse().expect("a valid prefix"),
                            )]),
                            negated: false,
                        },
                        Match::IcmpType(Family::V6, ranges(ICMPV6_MLD)),
                    ],
                    "baseline: IPv6 multicast listener discovery (RFC 4890)",
                ));
            }
        }
    }
    rules
}
