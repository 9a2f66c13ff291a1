//! Runs the rules and applies what the user asked for: levels from the configuration and the
//! command line, and inline suppressions.

use std::collections::HashMap;

use super::context::LintContext;
use super::rules::{self, UNUSED_SUPPRESSION};
use super::suppression;
use super::{Category, Level, LintRule};

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

/// Runs every rule that has a check over a resolved policy, in code order.
pub fn run(ctx: &LintContext, levels: &Levels, out: &mut Vec<Diagnostic>) {
    for (rule, check) in rules::CHECKS {
        if levels.level(rule) != Level::Off {
            check(ctx, out);
        }
    }
}

/// The command whose findings [`finish`] is given. Suppressions in a policy name the rules of
/// both, and only the command that runs a rule can tell whether its suppression suppressed
/// anything: each reports the unused suppressions of its own rules only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// `check` and the commands that check a policy: every rule but the audit's.
    Check,
    /// `audit`: the rules of category `audit`, which need the live host.
    Audit,
}

impl Run {
    /// Whether the run reports `rule`.
    pub fn reports(self, rule: &LintRule) -> bool {
        (rule.category == Category::Audit) == (self == Run::Audit)
    }
}

/// Applies suppressions and levels, reports suppressions of the run's rules that suppressed
/// nothing (and, in `check`, of names that are no rule), and sorts.
pub fn finish(
    mut diagnostics: Vec<Diagnostic>,
    sources: &Sources,
    levels: &Levels,
    run: Run,
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
                Some(rule) if !run.reports(rule) => continue,
                None if run != Run::Check => continue,
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
    // Each rule's level is looked up once, not once per finding: `None` for a rule that is off.
    let mut severity_of: HashMap<&'static str, Option<Severity>> = HashMap::new();
    diagnostics.retain_mut(|d| {
        let severity = *severity_of
            .entry(d.rule.name)
            .or_insert_with(|| levels.level(d.rule).severity());
        match severity {
            Some(severity) => {
                d.severity = severity;
                true
            }
            None => false,
        }
    });
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    diagnostics
}
