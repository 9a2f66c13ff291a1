//! Lint rules: their registry and the engine that runs them and applies the user's levels.

mod context;
mod describe;
pub mod engine;
pub(crate) mod exposure;
pub mod rules;
pub mod suppression;

pub use crate::rule::{docs_markdown, first_line, Category, Level, LintRule};
pub use context::{Check, LintContext};
pub use engine::Levels;

/// The findings of one rule in policy text checked with the default settings, for the rules'
/// unit tests.
#[cfg(test)]
pub(crate) fn findings_in(text: &str, rule: &str) -> Vec<crate::diagnostic::Diagnostic> {
    crate::pipeline::check_text("test.pcl", text)
        .diagnostics
        .into_iter()
        .filter(|d| d.rule == rule)
        .collect()
}

/// Looks a rule up by name or code (case-insensitive).
pub fn find(name_or_code: &str) -> Option<&'static LintRule> {
    rules::ALL.iter().copied().find(|rule| {
        rule.name.eq_ignore_ascii_case(name_or_code) || rule.code.eq_ignore_ascii_case(name_or_code)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn names_and_codes_are_unique() {
        let mut names = HashSet::new();
        let mut codes = HashSet::new();
        for rule in super::rules::ALL {
            assert!(names.insert(rule.name), "duplicate rule name {}", rule.name);
            assert!(codes.insert(rule.code), "duplicate rule code {}", rule.code);
        }
    }

    /// The summary is the doc comment's first line, shown alone by `portcullis rules`, in SARIF
    /// and in docs/rules: it must be a whole sentence, not the start of one.
    #[test]
    fn every_summary_is_a_whole_sentence() {
        for rule in super::rules::ALL {
            let mut lines = rule.docs.lines().map(str::trim);
            let first = lines.next().unwrap_or_default();
            assert_eq!(first, rule.summary, "{}", rule.name);
            assert!(
                rule.summary.ends_with('.')
                    && rule.summary.chars().next().is_some_and(char::is_uppercase),
                "{}: the summary is not a sentence: {:?}",
                rule.name,
                rule.summary
            );
            assert_eq!(
                lines.next(),
                Some(""),
                "{}: the summary goes on past its first line",
                rule.name
            );
        }
    }

    #[test]
    fn every_rule_has_its_sections() {
        for rule in super::rules::ALL {
            assert!(!rule.summary.is_empty(), "{} has no summary", rule.name);
            for section in [
                "## What it does",
                "## Why it matters",
                "## Example",
                "## Fix",
            ] {
                assert!(rule.docs.contains(section), "{} lacks {section}", rule.name);
            }
        }
    }
}
