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

/// Looks a rule up by name, former name or code (case-insensitive).
pub fn find(name_or_code: &str) -> Option<&'static LintRule> {
    rules::ALL.iter().copied().find(|rule| {
        rule.name.eq_ignore_ascii_case(name_or_code)
            || rule.code.eq_ignore_ascii_case(name_or_code)
            || rule
                .aliases
                .iter()
                .any(|a| a.eq_ignore_ascii_case(name_or_code))
    })
}

/// The first name, code or alias that two rules share, if any. Debug builds check it at start-up.
pub fn duplicate_identifier() -> Option<&'static str> {
    duplicate_in(rules::ALL)
}

fn duplicate_in(rules: &[&'static LintRule]) -> Option<&'static str> {
    let mut seen = std::collections::HashSet::new();
    rules
        .iter()
        .flat_map(|r| {
            [r.name, r.code]
                .into_iter()
                .chain(r.aliases.iter().copied())
        })
        .find(|id| !seen.insert(id.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    crate::declare_lint! {
        /// A rule renamed from `old-name`, for the tests.
        pub static RENAMED = {
            name: "new-name",
            code: "PC999",
            category: Syntax,
            default_level: Warning,
            aliases: ["old-name"],
        }
    }

    #[test]
    fn an_alias_counts_as_a_name() {
        assert_eq!(RENAMED.aliases, ["old-name"]);
        let clash: &'static super::LintRule = Box::leak(Box::new(super::LintRule {
            name: "old-name",
            code: "PC998",
            ..RENAMED
        }));
        assert_eq!(super::duplicate_in(&[&RENAMED, clash]), Some("old-name"));
        assert_eq!(super::duplicate_in(&[&RENAMED]), None);
    }

    #[test]
    fn names_codes_and_aliases_are_unique() {
        assert_eq!(super::duplicate_identifier(), None);
        let mut codes = HashSet::new();
        for rule in super::rules::ALL {
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
