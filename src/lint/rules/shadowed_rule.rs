//! `shadowed-rule`: a rule that can never match.

use crate::diagnostic::Diagnostic;
use crate::lint::describe::{earlier_labels, earlier_who, rule_text};
use crate::lint::LintContext;
use crate::model::Verdict;
use crate::model::{Family, Forward, RuleOrigin};

crate::declare_lint! {
    /// A rule never matches: earlier rules of another verdict decide all of its traffic.
    ///
    /// ## What it does
    /// Evaluates each chain the way the firewall does, first match wins, and reports a rule whose
    /// every packet is already decided by earlier rules, at least one of which has a different
    /// verdict. The earlier rules are found together: a rule covered only by the union of two
    /// earlier rules is reported too, and each covering rule is shown. A rule whose sources and
    /// destinations are of different address families, and so matches nothing, is reported too,
    /// and so is a `forward-port` whose every connection an earlier `forward-port` translates.
    ///
    /// ## Why it matters
    /// The rule looks as if it did something but the firewall never reaches it: the traffic you
    /// meant to allow stays blocked, or the traffic you meant to block gets through.
    ///
    /// ## Example
    /// ```text
    /// input drop {
    ///   deny tcp/1-1023
    ///   allow ssh from admins
    /// }
    /// ```
    ///
    /// ## Fix
    /// Move the rule above the rules that cover it, narrow those rules, or delete the rule if it
    /// is no longer wanted.
    pub static SHADOWED_RULE = {
        name: "shadowed-rule",
        code: "PC201",
        category: Coverage,
        default_level: Warning,
    }
}

/// How many covering rules to point at before summarising.
const MAX_LABELS: usize = 5;

/// A `forward-port` never translates anything when an earlier one translates every connection it
/// would: prerouting applies the first that matches.
fn check_forwards(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    for host in &ctx.policy.hosts {
        for (k, later) in host.forwards.iter().enumerate() {
            let Some(earlier) = host.forwards[..k].iter().find(|e| covers(e, later)) else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    &SHADOWED_RULE,
                    later.span,
                    "this `forward-port` never translates anything: an earlier one takes all of its connections",
                )
                .label("never translates")
                .secondary(earlier.span, "translates these connections first")
                .help("delete this forward-port, or narrow the earlier one with `from`, `on` or `at`"),
            );
        }
    }
}

/// Whether every connection `later` would translate, `earlier` translates.
fn covers(earlier: &Forward, later: &Forward) -> bool {
    let family = |f: &Forward| Family::of(f.target);
    let interfaces = match (&earlier.interface, &later.interface) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(e), Some(l)) => e == l,
    };
    let destinations = match (&earlier.at, &later.at) {
        (None, None) => true,
        (Some(e), Some(l)) => l.is_subset(e),
        _ => false,
    };
    earlier.protocol == later.protocol
        && earlier.ports.lo <= later.ports.lo
        && later.ports.hi <= earlier.ports.hi
        && family(earlier) == family(later)
        && later.from.is_subset(&earlier.from)
        && interfaces
        && destinations
}

pub fn check(ctx: &LintContext, out: &mut Vec<Diagnostic>) {
    check_forwards(ctx, out);
    for (_, chain, coverage) in ctx.coverages() {
        for (rule, cov) in chain.rules.iter().zip(&coverage.rules) {
            if !rule.is_written() || !rule.resolved || rule.traffic.is_empty() {
                continue;
            }
            if !cov.matches_anything {
                if !rule.src.is_empty() && !rule.dst.is_empty() {
                    out.push(
                        Diagnostic::new(
                            &SHADOWED_RULE,
                            rule.span,
                            "this rule can never match: its sources and destinations are of different address families",
                        )
                        .label("matches no packet")
                        .help("a packet's source and destination are both IPv4 or both IPv6; make `from` and `to` share a family"),
                    );
                }
                continue;
            }
            if cov.wins.is_some() {
                continue;
            }
            let other: Vec<usize> = cov
                .covering_with_other_verdict(chain, rule.verdict)
                .collect();
            if other.is_empty() {
                continue; // only same-verdict rules cover it: redundant-rule reports that
            }
            let all: &[usize] = &cov.covering().collect::<Vec<_>>();
            let (who, plural) = earlier_who(chain, all);
            let mut d = Diagnostic::new(
                &SHADOWED_RULE,
                rule.span,
                format!(
                    "`{}` never matches: {who} decide{} all of its traffic first",
                    rule_text(ctx.sources, rule),
                    if plural { "" } else { "s" },
                ),
            )
            .label("never matches");
            for (span, label) in earlier_labels(chain, all, MAX_LABELS, |earlier| {
                covered_by(earlier.verdict, rule.verdict).into()
            }) {
                d = d.secondary(span, label);
            }
            if all.len() > MAX_LABELS {
                d.message = format!("{} ({} rules in all)", d.message, all.len()).into();
            }
            let baseline = all.iter().find_map(|&i| match chain.rules[i].origin {
                RuleOrigin::Baseline(part) => Some(part),
                _ => None,
            });
            let help = match baseline {
                Some(part) => format!(
                    "{} comes before every rule: to decide this traffic with the policy's rules, switch it off in portcullis.yaml (`{}: false`); otherwise delete this rule",
                    part.describe(),
                    part.config_key()
                ),
                None => "move this rule above the rules that cover it, narrow them, or delete this rule".to_string(),
            };
            out.push(d.help(help));
        }
    }
}

/// The label on an earlier rule that covers a shadowed one.
fn covered_by(earlier: Verdict, shadowed: Verdict) -> &'static str {
    match (earlier == shadowed, earlier) {
        (true, Verdict::Accept) => "also covered by this allow",
        (true, Verdict::Drop) => "also covered by this deny",
        (true, Verdict::Reject) => "also covered by this reject",
        (false, Verdict::Accept) => "covered by this allow",
        (false, Verdict::Drop) => "covered by this deny",
        (false, Verdict::Reject) => "covered by this reject",
    }
}

#[cfg(test)]
mod tests {
    fn findings(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::lint::findings_in(text, super::SHADOWED_RULE.name)
    }

    #[test]
    fn a_forward_port_behind_one_for_the_same_port_is_dead() {
        let text = "forward-port tcp/443 to 10.0.0.7\nforward-port tcp/443 to 10.0.0.8\n";
        let found = findings(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("never translates"));
        // Narrowed to other sources, interfaces or destinations, both work.
        for text in [
            "forward-port tcp/443 from 192.0.2.0/24 to 10.0.0.7\nforward-port tcp/443 to 10.0.0.8\n",
            "forward-port tcp/443 on wan0 to 10.0.0.7\nforward-port tcp/443 on wan1 to 10.0.0.8\n",
            "forward-port tcp/443 at 203.0.113.7 to 10.0.0.7\nforward-port tcp/443 to 10.0.0.8\n",
            "forward-port tcp/443 to 10.0.0.7\nforward-port tcp/443 to [2001:db8::8]\n",
        ] {
            assert!(findings(text).is_empty(), "{text}");
        }
    }
}
