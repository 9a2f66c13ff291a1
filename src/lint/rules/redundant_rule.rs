//! `redundant-rule`: a rule whose removal would change no verdict.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::{earlier_labels, earlier_who, rule_text, verdict_verb};
use crate::lint::LintContext;
use crate::model::{Chain, Coverage, Rule, RuleCoverage, RuleOrigin};

crate::declare_lint! {
    /// A rule changes nothing: without it, every packet would get the same verdict.
    ///
    /// ## What it does
    /// Reports a rule whose traffic is all decided by earlier rules with the same verdict, and a
    /// rule whose packets would get the same verdict from the rules after it or from the chain's
    /// default, e.g. `deny telnet` in a chain that drops by default. Rules that log or count are
    /// not reported when they still match something: logging is an effect of its own.
    ///
    /// Earlier rules include the baseline the compiler puts before the policy's rules:
    /// `allow icmp/echo-request` is redundant while the baseline's ICMP part accepts echo
    /// requests. Of rules that are each redundant only because of the other (the same rule written
    /// twice), only the later one is reported, so that following every finding keeps the policy's
    /// meaning.
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

/// How many covering rules to point at.
const MAX_LABELS: usize = 5;

/// Why a rule is redundant.
enum Redundant {
    /// Earlier rules with its verdict decide all of its traffic.
    Covered,
    /// Without it, this later rule (or the chain's default) gives its traffic the same verdict.
    Fallback(Option<usize>),
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for (_, chain, coverage) in ctx.coverages() {
        for (index, why) in redundant(chain, coverage).into_iter().enumerate() {
            let Some(why) = why else {
                continue;
            };
            let rule = &chain.rules[index];
            let text = rule_text(ctx.sources, rule);
            let d = match why {
                Redundant::Covered => covered(chain, rule, &coverage.rules[index], &text),
                Redundant::Fallback(Some(later)) => Diagnostic::new(
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
                Redundant::Fallback(None) => Diagnostic::new(
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

/// Why each rule of a chain is redundant, if it is one to report.
fn redundant(chain: &Chain, coverage: &Coverage) -> Vec<Option<Redundant>> {
    // From the last rule to the first: a rule that leaves its traffic to a later one is
    // reported only if that later one is not reported itself. Of two rules that are each
    // redundant because of the other (the same rule twice), only the later, covered one is:
    // deleting both would change what the chain does.
    let mut found: Vec<Option<Redundant>> = (0..chain.rules.len()).map(|_| None).collect();
    for (index, (rule, cov)) in chain.rules.iter().zip(&coverage.rules).enumerate().rev() {
        if !rule.is_written() || !rule.resolved || !cov.matches_anything {
            continue;
        }
        if cov.wins.is_none() {
            let shadowed = cov
                .covering_with_other_verdict(chain, rule.verdict)
                .next()
                .is_some();
            // A shadowed rule is shadowed-rule's to report.
            if !shadowed {
                found[index] = Some(Redundant::Covered);
            }
            continue;
        }
        if cov.needed || rule.log.is_some() || rule.counter {
            continue;
        }
        let Some(fallback) = cov.fallback else {
            continue;
        };
        if fallback.is_some_and(|later| found[later].is_some()) {
            continue;
        }
        found[index] = Some(Redundant::Fallback(fallback));
    }
    found
}

/// The finding for a rule whose traffic earlier rules with its verdict all decide.
fn covered(chain: &Chain, rule: &Rule, cov: &RuleCoverage, text: &str) -> Diagnostic {
    let covering: &[usize] = &cov.covering().collect::<Vec<_>>();
    let (who, plural) = earlier_who(chain, covering);
    let mut d = Diagnostic::new(
        &REDUNDANT_RULE,
        rule.span,
        format!(
            "`{text}` is redundant: {who} already {} all of its traffic",
            verdict_verb(rule.verdict, plural)
        ),
    )
    .label("never matches");
    let whole = if covering.len() == 1 {
        "covers all of it"
    } else {
        "covers part of it"
    };
    for (span, label) in earlier_labels(chain, covering, MAX_LABELS, |_| whole.into()) {
        d = d.secondary(span, label);
    }
    let baseline = covering.iter().find_map(|&i| match chain.rules[i].origin {
        RuleOrigin::Baseline(part) => Some(part),
        _ => None,
    });
    match baseline {
        Some(part) => d.help(format!(
            "{} accepts this from anywhere, before any rule; to decide it with the policy's rules (from some sources only, say), switch the part off in portcullis.yaml (`{}: false`), otherwise delete this rule",
            part.describe(),
            part.config_key()
        )),
        None => d.help("delete this rule"),
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Diagnostic;

    fn findings(text: &str) -> Vec<Diagnostic> {
        crate::lint::findings_in(text, super::REDUNDANT_RULE.name)
    }

    fn lines(found: &[Diagnostic], text: &str) -> Vec<usize> {
        found
            .iter()
            .map(|d| text[..d.primary.span.start].matches('\n').count() + 1)
            .collect()
    }

    #[test]
    fn of_two_identical_rules_only_the_later_is_reported() {
        // Deleting both would lose the access: one finding, on the second, which the first
        // covers entirely.
        let text = "input drop {\n  allow ssh\n  allow ssh\n}\n";
        let found = findings(text);
        assert_eq!(lines(&found, text), [3], "{found:?}");
        assert_eq!(found[0].secondary[0].message, "covers all of it");
        assert!(found[0].message.contains("an earlier rule already allows"));
        let text = "input accept {\n  deny tcp/25\n  deny tcp/25\n  deny tcp/25\n}\n";
        assert_eq!(lines(&findings(text), text), [3, 4]);
    }

    #[test]
    fn a_rule_the_default_repeats_is_still_reported() {
        let text = "input drop {\n  allow ssh\n  deny telnet\n}\n";
        assert_eq!(lines(&findings(text), text), [3]);
    }

    #[test]
    fn two_rules_covering_parts_are_both_labelled_as_parts() {
        let text = "input drop {\n  allow tcp/1-10\n  allow tcp/11-20\n  allow tcp/5-15\n}\n";
        let found = findings(text);
        assert_eq!(lines(&found, text), [4]);
        let labels: Vec<&str> = found[0]
            .secondary
            .iter()
            .map(|l| l.message.as_ref())
            .collect();
        assert_eq!(labels, ["covers part of it", "covers part of it"]);
    }

    #[test]
    fn what_the_baseline_accepts_is_redundant_in_a_rule() {
        let text = "input drop {\n  allow icmp/echo-request\n  allow on lo\n}\n";
        let found = findings(text);
        assert_eq!(lines(&found, text), [2, 3], "{found:?}");
        assert!(found[0].message.contains("the baseline already allows"));
        assert!(found[0].secondary[0]
            .message
            .contains("compile.baseline.ping"));
    }
}
