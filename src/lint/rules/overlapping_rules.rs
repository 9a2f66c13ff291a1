//! `overlapping-rules`: rules of different verdicts that overlap, so their order matters.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::{earlier_labels, earlier_who, packet_example, rule_text};
use crate::lint::LintContext;
use crate::model::{Rule, RuleOrigin};

crate::declare_lint! {
    /// Two rules with different verdicts overlap in part: their order decides some packets.
    ///
    /// ## What it does
    /// Reports a rule that shares some traffic with an earlier rule of a different verdict, where
    /// the earlier rule wins, and shows one concrete packet (protocol, port, source) that the
    /// earlier rule decides. A rule covered completely is a `shadowed-rule` instead.
    ///
    /// An earlier rule about some of the later rule's addresses (its sources, destinations and
    /// interfaces all within the later rule's, and for the very same addresses its traffic
    /// within the later rule's too) is the usual way to write an exception before the general
    /// case: `deny tcp/445 from lan` before `allow from lan`, a block list before the services.
    /// It is not reported. Nor is the baseline, unless the rule names ICMP itself:
    /// every rule without services matches the pings and ICMP errors the baseline accepts first.
    ///
    /// ## Why it matters
    /// A rule for more addresses that takes part of a later, more particular rule's traffic is
    /// often a mistake: the later rule was meant to say something about those addresses, and on
    /// the overlap it says nothing. Reordering the rules silently changes what the firewall
    /// does. The example packet shows which way it goes now.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow tcp/8000-8100
    ///   deny tcp/8050-9000 from 10.10.5.0/24
    /// }
    /// ```
    ///
    /// ## Fix
    /// Nothing, if the order is what you mean; suppress it with `# portcullis:
    /// ignore[overlapping-rules]`. Otherwise move the particular rule first, or narrow the
    /// general one.
    pub static OVERLAPPING_RULES = {
        name: "overlapping-rules",
        code: "PC203",
        category: Coverage,
        default_level: Info,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for (_, chain, coverage) in ctx.coverages() {
        for (rule, cov) in chain.rules.iter().zip(&coverage.rules) {
            if !rule.is_written() || !rule.resolved || cov.wins.is_none() {
                continue;
            }
            let Some((first, packet)) = cov.first_covering_with_other_verdict(chain, rule.verdict)
            else {
                continue;
            };
            let earlier = &chain.rules[first];
            let names_icmp = rule
                .services
                .iter()
                .any(|s| !s.traffic.icmp.is_empty() || !s.traffic.icmpv6.is_empty());
            let expected = match earlier.origin {
                RuleOrigin::Written => about_fewer_addresses(earlier, rule),
                RuleOrigin::Baseline(_) => !names_icmp,
                RuleOrigin::PortForward(_) => false,
            };
            if expected {
                continue;
            }
            let more = cov.covering_with_other_verdict(chain, rule.verdict).count() - 1;
            let example = packet_example(packet, &[rule, earlier]);
            let who = match earlier.origin {
                RuleOrigin::Written => format!("an earlier `{}` rule", earlier.verdict.rule_word()),
                _ => earlier_who(chain, &[first]).0,
            };
            let mut d = Diagnostic::new(
                &OVERLAPPING_RULES,
                rule.span,
                format!(
                    "`{}` overlaps {who}, which wins: e.g. {example} is {}",
                    rule_text(ctx.sources, rule),
                    earlier.verdict.past_tense(),
                ),
            )
            .label("partly decided by an earlier rule");
            for (span, label) in earlier_labels(chain, &[first], 1, |_| {
                format!("decides {example} first").into()
            }) {
                d = d.secondary(span, label);
            }
            if more > 0 {
                d.message = format!(
                    "{} ({more} more earlier rule{} overlap)",
                    d.message,
                    if more == 1 { "" } else { "s" }
                )
                .into();
            }
            out.push(d.help(
                "if this order is intended, nothing to do; otherwise reorder or narrow the rules",
            ));
        }
    }
}

/// Whether `earlier` is about some of `later`'s addresses and interfaces: an exception or a
/// block list written before the general rule.
fn about_fewer_addresses(earlier: &Rule, later: &Rule) -> bool {
    let interfaces = match (&earlier.interface, &later.interface) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(e), Some(l)) => e == l,
    };
    let fewer =
        interfaces && earlier.src.is_subset(&later.src) && earlier.dst.is_subset(&later.dst);
    let same = earlier.src == later.src
        && earlier.dst == later.dst
        && earlier.interface == later.interface;
    // For the same addresses, only traffic inside the later rule's is an exception to it.
    fewer && (!same || earlier.traffic.is_subset(&later.traffic))
}
