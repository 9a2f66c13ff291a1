//! The whole front end in one call: loaded files -> resolved policy -> every finding, with the
//! user's levels and suppressions applied. `check`, `compile` and `explain` all start here.

use crate::config::Settings;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{self, Levels, LintContext};
use crate::load::Loaded;
use crate::model::Policy;

/// A policy with everything known about it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub loaded: Loaded,
    pub policy: Policy,
    /// Sorted, with levels and suppressions applied.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }
}

/// Resolves and lints a loaded policy.
pub fn check(loaded: Loaded, settings: &Settings, levels: &Levels) -> Checked {
    front_end(loaded, settings, levels, true)
}

/// Resolves a loaded policy without linting it: its diagnostics are the front end's own
/// (syntax, includes, names, values). For commands that compare policies rather than judge them.
pub fn resolve(loaded: Loaded, settings: &Settings, levels: &Levels) -> Checked {
    front_end(loaded, settings, levels, false)
}

fn front_end(mut loaded: Loaded, settings: &Settings, levels: &Levels, lint: bool) -> Checked {
    let mut diagnostics = loaded.diagnostics.clone();
    let policy = crate::resolve::resolve(
        &loaded,
        &settings.overlays,
        settings.config.compile.baseline.parts(),
        &mut diagnostics,
    );
    // Nothing reads the syntax trees after resolution, and at a million rules they hold a few
    // hundred megabytes the analysis that follows can use.
    loaded.forget_syntax();
    if lint {
        let ctx = LintContext::new(
            &policy,
            &loaded.sources,
            &settings.config.lint,
            &settings.config.compile,
        );
        lint::engine::run(&ctx, levels, &mut diagnostics);
    }
    let diagnostics = lint::engine::finish(
        diagnostics,
        &loaded.sources,
        levels,
        lint::engine::Run::Check,
    );
    Checked {
        loaded,
        policy,
        diagnostics,
    }
}

/// Checks policy text held in memory with the default settings. For tests and tools.
pub fn check_text(name: &str, text: &str) -> Checked {
    let settings = Settings::default();
    let levels = Levels::from_config(&settings.config.lint);
    check(crate::load::load_text(name, text), &settings, &levels)
}
