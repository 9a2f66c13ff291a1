//! Runs the rules and applies what the user asked for: levels from the configuration and the
//! command line, and inline suppressions.

use std::collections::HashMap;

use super::context::{Check, LintContext};
use super::rules::{self, UNUSED_SUPPRESSION};
use super::suppression;
use super::{Level, LintRule};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::LintConfig;
use crate::diagnostic::{self, Diagnostic, Severity};
use crate::source::Sources;

/// The level of every rule: defaults, then the configuration, then the command line in order.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    overrides: HashMap<&'static str, Level>,
}

impl Levels {
    pub fn from_config(config: &LintConfig) -> Self {
        let mut levels = Levels::default();
        for (name, &level) in &config.levels {
            // Names were validated when the configuration was loaded.
            if let Some(rule) = super::find(name) {
                levels.set(rule, level);
            }
        }
        levels
    }

    /// Sets a rule's level. Syntax errors stay errors: a file that does not parse has no meaning.
    pub fn set(&mut self, rule: &'static LintRule, level: Level) {
        if rule.name != rules::SYNTAX_ERROR.name {
            self.overrides.insert(rule.name, level);
        }
    }

    pub fn level(&self, rule: &'static LintRule) -> Level {
        self.overrides
            .get(rule.name)
            .copied()
            .unwrap_or(rule.default_level)
    }
}

/// Runs every rule that has a check over a resolved policy.
pub fn run(ctx: &LintContext, levels: &Levels, out: &mut Vec<Diagnostic>) {
    run_with(ctx, levels, out, PARALLEL_RULES);
}

/// [`run`], on two threads when the chains have at least `parallel_rules` rules in all.
fn run_with(ctx: &LintContext, levels: &Levels, out: &mut Vec<Diagnostic>, parallel_rules: usize) {
    let checks: Vec<(&LintRule, Check)> = rules::CHECKS
        .iter()
        .filter(|(rule, _)| levels.level(rule) != Level::Off)
        .copied()
        .collect();
    let size: usize = ctx
        .policy
        .hosts
        .iter()
        .flat_map(|h| &h.chains)
        .map(|c| c.rules.len())
        .sum();
    if size < parallel_rules {
        for (_, check) in checks {
            check(ctx, out);
        }
        return;
    }
    // Rules are independent: two workers take them in turn from a shared counter, the longest
    // first so that neither is left with a long one at the end, and the findings are put back
    // together in rule order, so the result is what one thread finds.
    let order: Vec<usize> = {
        let mut order: Vec<usize> = (0..checks.len()).collect();
        let rank = |k: &usize| {
            LONGEST_FIRST
                .iter()
                .position(|name| *name == checks[*k].0.name)
                .unwrap_or(LONGEST_FIRST.len())
        };
        order.sort_by_key(rank);
        order
    };
    let next = AtomicUsize::new(0);
    let work = || {
        let mut found = Vec::new();
        loop {
            let Some(&k) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return found;
            };
            let mut diagnostics = Vec::new();
            (checks[k].1)(ctx, &mut diagnostics);
            found.push((k, diagnostics));
        }
    };
    let (mut found, more) = crate::parallel::join(work, work);
    found.extend(more);
    found.sort_unstable_by_key(|(k, _)| *k);
    for (_, diagnostics) in found {
        out.extend(diagnostics);
    }
}

/// Chains with this many rules in all are checked on two threads.
const PARALLEL_RULES: usize = 5_000;

/// The rules whose checks take longest on large chains, longest first (`cargo bench --bench check
/// -- 100000 --rules`); the coverage analysis is made by the first that needs it. The others
/// follow in their usual order.
const LONGEST_FIRST: &[&str] = &[
    "shadowed-rule",
    "ephemeral-port",
    "redundant-rule",
    "ftp-data-channel",
    "overlapping-rules",
    "exposed-admin-port",
    "any-port-open",
    "insecure-service",
];

/// Applies suppressions and levels, reports suppressions that suppressed nothing, and sorts.
pub fn finish(
    mut diagnostics: Vec<Diagnostic>,
    sources: &Sources,
    levels: &Levels,
) -> Vec<Diagnostic> {
    let suppressions = suppression::collect(sources);
    let mut used: Vec<Vec<bool>> = suppressions
        .iter()
        .map(|s| vec![false; s.rules.len()])
        .collect();
    diagnostics.retain(|d| {
        for (i, s) in suppressions.iter().enumerate() {
            if let Some(j) = s.covers(sources, d) {
                used[i][j] = true;
                return false;
            }
        }
        true
    });
    for (i, s) in suppressions.iter().enumerate() {
        for (j, (name, span)) in s.rules.iter().enumerate() {
            if used[i][j] {
                continue;
            }
            let d = match super::find(name) {
                Some(rule) => Diagnostic::new(
                    &UNUSED_SUPPRESSION,
                    *span,
                    format!("`{}` is suppressed here but reports nothing", rule.name),
                )
                .label("nothing to suppress")
                .help("remove the suppression; it would hide a future finding"),
                None => {
                    let names = rules::ALL.iter().map(|r| r.name);
                    let d = Diagnostic::new(
                        &UNUSED_SUPPRESSION,
                        *span,
                        format!("no rule is called `{name}`"),
                    )
                    .label("unknown rule");
                    match crate::registry::suggest(name, names) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("`portcullis rules` lists every rule"),
                    }
                }
            };
            diagnostics.push(d);
        }
    }
    // Each rule's level is looked up once, not once per finding: `None` for a name that is not
    // a lint rule's (kept as it is), `Some(None)` for a rule that is off.
    let mut severity_of: HashMap<&'static str, Option<Option<Severity>>> = HashMap::new();
    diagnostics.retain_mut(|d| {
        let severity = *severity_of
            .entry(d.rule)
            .or_insert_with(|| super::find(d.rule).map(|rule| levels.level(rule).severity()));
        match severity {
            None => true,
            Some(Some(severity)) => {
                d.severity = severity;
                true
            }
            Some(None) => false,
        }
    });
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn two_threads_find_what_one_finds() {
        let mut text =
            String::from("net a = 10.1.0.0/16\nbind ftpd on 0.0.0.0 ftp\ninput drop {\n");
        for i in 0..300u32 {
            let verdict = ["allow", "deny", "reject"][(i % 3) as usize];
            let from = ["", " from a", " from 10.1.5.0/24"][(i % 3) as usize];
            let lo = 1 + (i * 211) % 60000;
            text.push_str(&format!("  {verdict} tcp/{lo}-{}{from}\n", lo + i % 40));
        }
        text.push_str("  allow ftp\n  allow telnet\n}\n");
        let loaded = crate::load::load_text("big.pcl", &text);
        let mut diagnostics = loaded.diagnostics.clone();
        let policy = crate::resolve::resolve(
            &loaded,
            &[],
            crate::model::baseline::Parts::default(),
            &mut diagnostics,
        );
        let settings = Settings::default();
        let levels = Levels::from_config(&settings.config.lint);
        let found = |parallel_rules| {
            let ctx = LintContext::new(
                &policy,
                &loaded.sources,
                &settings.config.lint,
                &settings.config.compile,
            );
            let mut out = diagnostics.clone();
            run_with(&ctx, &levels, &mut out, parallel_rules);
            out
        };
        let one = found(usize::MAX);
        assert!(one.len() > 100, "a policy with many findings");
        assert_eq!(one, found(0));
    }

    #[test]
    fn the_longest_checks_are_named_as_rules_with_checks() {
        for name in LONGEST_FIRST {
            assert!(
                rules::CHECKS.iter().any(|(rule, _)| rule.name == *name),
                "{name} has no check"
            );
        }
    }
}
