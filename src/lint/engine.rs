//! Runs the rules and applies what the user asked for: levels from the configuration and the
//! command line, and inline suppressions.

use std::collections::HashMap;

use super::rules::{self, UNUSED_SUPPRESSION};
use super::suppression;
use super::{Level, LintRule};
use std::sync::OnceLock;

use crate::config::{CompileConfig, LintConfig};
use crate::diagnostic::{self, Diagnostic};
use crate::model::{Chain, Coverage, Host, Policy, PortRange};
use crate::source::Sources;

/// What a rule's check gets to look at.
pub struct LintContext<'a> {
    pub policy: &'a Policy,
    pub sources: &'a Sources,
    pub config: &'a LintConfig,
    /// The compiler's options: some findings depend on the baseline it adds.
    pub compile: &'a CompileConfig,
    /// `lint.ephemeral-range`, validated.
    pub ephemeral: PortRange,
    /// The coverage analysis of every chain, computed once for all rules that need it.
    coverage: OnceLock<Vec<(usize, usize, Coverage)>>,
}

impl<'a> LintContext<'a> {
    pub fn new(
        policy: &'a Policy,
        sources: &'a Sources,
        config: &'a LintConfig,
        compile: &'a CompileConfig,
    ) -> Self {
        LintContext {
            policy,
            sources,
            config,
            compile,
            // Validated when the configuration was loaded; this is the built-in default.
            ephemeral: config.ephemeral_ports().unwrap_or(PortRange {
                lo: 32768,
                hi: 60999,
            }),
            coverage: OnceLock::new(),
        }
    }

    /// Every chain of every host with its coverage analysis.
    pub fn coverages(&self) -> impl Iterator<Item = (&'a Host, &'a Chain, &Coverage)> + '_ {
        let all = self.coverage.get_or_init(|| {
            let mut all = Vec::new();
            for (h, host) in self.policy.hosts.iter().enumerate() {
                for (c, chain) in host.chains.iter().enumerate() {
                    all.push((h, c, chain.coverage()));
                }
            }
            all
        });
        all.iter().map(|(h, c, coverage)| {
            let host = &self.policy.hosts[*h];
            (host, &host.chains[*c], coverage)
        })
    }

    /// Every chain of every host.
    pub fn chains(&self) -> impl Iterator<Item = (&'a Host, &'a Chain)> + 'a {
        self.policy
            .hosts
            .iter()
            .flat_map(|h| h.chains.iter().map(move |c| (h, c)))
    }
}

/// A rule's check: appends its findings.
pub type Check = fn(&LintContext, &mut Vec<Diagnostic>);

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
    for (rule, check) in rules::CHECKS {
        if levels.level(rule) != Level::Off {
            check(ctx, out);
        }
    }
}

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
    diagnostics.retain_mut(|d| {
        let Some(rule) = super::find(d.rule) else {
            return true;
        };
        match levels.level(rule).severity() {
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
