//! `overlapping-rules`: rules of different verdicts that overlap, so their order matters.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::{earlier_labels, earlier_who, packet_example, rule_text};
use crate::lint::LintContext;
use crate::model::RuleOrigin;

crate::declare_lint! {
    /// Two rules with different verdicts overlap in part: their order decides some packets.
    ///
    /// ## What it does
    /// Reports a rule that shares some traffic with an earlier rule of a different verdict, where
    /// the earlier rule wins, and shows one concrete packet (protocol, port, source) that the
    /// earlier rule decides. A rule covered completely is a `shadowed-rule` instead.
    ///
    /// ## Why it matters
    /// Often intended (a deny for one host before an allow for its network), but when it is not,
    /// reordering the rules silently changes what the firewall does. The example packet shows
    /// which way it goes now.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   deny tcp/8000-8100 from 10.10.5.0/24
    ///   allow tcp/8000-8100 from office
    /// }
    /// ```
    ///
    /// ## Fix
    /// Nothing, if the order is what you mean; suppress it with `# portcullis:
    /// ignore[overlapping-rules]`. Otherwise reorder the rules or narrow one of them.
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
            let more = cov.covering_with_other_verdict(chain, rule.verdict).count() - 1;
            let earlier = &chain.rules[first];
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
            for (span, label) in
                earlier_labels(chain, &[first], 1, |_| format!("decides {example} first"))
            {
                d = d.secondary(span, label);
            }
            if more > 0 {
                d.message.push_str(&format!(
                    " ({more} more earlier rule{} overlap)",
                    if more == 1 { "" } else { "s" }
                ));
            }
            out.push(d.help(
                "if this order is intended, nothing to do; otherwise reorder or narrow the rules",
            ));
        }
    }
}
