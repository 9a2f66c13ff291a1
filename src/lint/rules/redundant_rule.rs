//! `redundant-rule`: a rule whose removal would change no verdict.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::rule_text;
use crate::lint::LintContext;

crate::declare_lint! {
    /// A rule changes nothing: without it, every packet would get the same verdict.
    ///
    /// ## What it does
    /// Reports a rule whose traffic is all decided by earlier rules with the same verdict, and a
    /// rule whose packets would get the same verdict from the rules after it or from the chain's
    /// default, e.g. `deny telnet` in a chain that drops by default. Rules that log or count are
    /// not reported when they still match something: logging is an effect of its own.
    ///
    /// ## Why it matters
    /// Redundant rules make a policy longer than it needs to be and suggest a difference that does
    /// not exist; when the rules around them change, they are often the ones that are wrong.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   allow http, https
    ///   allow https from office
    ///   deny tcp/23
    /// }
    /// ```
    ///
    /// ## Fix
    /// Delete the rule, or, if it exists for documentation, add `log` or `counter` so it does
    /// something.
    pub static REDUNDANT_RULE = {
        name: "redundant-rule",
        code: "PC202",
        category: Coverage,
        default_level: Warning,
    }
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for (_, chain, coverage) in ctx.coverages() {
        for (rule, cov) in chain.rules.iter().zip(&coverage.rules) {
            if !rule.resolved || !cov.matches_anything {
                continue;
            }
            let text = rule_text(ctx.sources, rule);
            if cov.wins.is_none() {
                if cov
                    .covering_with_other_verdict(chain, rule.verdict)
                    .next()
                    .is_some()
                {
                    continue; // shadowed-rule reports it
                }
                let mut d = Diagnostic::new(
                    &REDUNDANT_RULE,
                    rule.span,
                    format!(
                        "`{text}` is redundant: earlier rules already {} all of its traffic",
                        rule.verdict.rule_word()
                    ),
                )
                .label("never matches");
                for &i in cov.covered_by.iter().take(5) {
                    d = d.secondary(chain.rules[i].span, "covers part of it");
                }
                out.push(d.help("delete this rule"));
                continue;
            }
            if cov.needed.is_some() || rule.log.is_some() || rule.counter {
                continue;
            }
            let Some(fallback) = cov.fallback else {
                continue;
            };
            let d = match fallback {
                Some(later) => Diagnostic::new(
                    &REDUNDANT_RULE,
                    rule.span,
                    format!(
                        "`{text}` is redundant: a later rule gives its traffic the same verdict",
                    ),
                )
                .label("removing it changes nothing")
                .secondary(
                    chain.rules[later].span,
                    format!(
                        "this rule would {} it",
                        chain.rules[later].verdict.rule_word()
                    ),
                )
                .help("delete this rule, or add `log`/`counter` if it is there to be seen"),
                None => Diagnostic::new(
                    &REDUNDANT_RULE,
                    rule.span,
                    format!(
                        "`{text}` is redundant: the chain's default already does `{}`",
                        chain.policy.policy_word()
                    ),
                )
                .label("removing it changes nothing")
                .secondary(chain.policy_span, "the chain's default")
                .help("delete this rule, or add `log`/`counter` if it is there to be seen"),
            };
            out.push(d);
        }
    }
}
