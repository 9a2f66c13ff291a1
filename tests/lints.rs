//! Every lint rule against its fixtures: `tests/fixtures/lints/<rule>/trigger.pcl` must produce
//! the rule's finding (its rendering is snapshotted), `clean.pcl` and every other `clean-*.pcl`
//! (the policies people write that once triggered it falsely) must not. A rule without both
//! `trigger.pcl` and `clean.pcl` fails the test, so no rule goes untested.

use std::path::Path;

use portcullis::config::Settings;
use portcullis::lint::{self, Level, Levels};
use portcullis::pipeline::{self, Checked};

use crate::support::{render, root};

/// Checks a fixture with every rule at least at `info`, so rules that are off by default are
/// exercised too, with `portcullis.yaml` next to it when present.
fn check_fixture(path: &Path) -> Checked {
    let settings = Settings::discover(None, Some(path)).expect("fixture configuration loads");
    let mut levels = Levels::from_config(&settings.config.lint);
    for rule in lint::rules::ALL {
        if levels.level(rule) == Level::Off {
            levels.set(rule, Level::Info);
        }
    }
    let loaded = portcullis::load::load(path).expect("fixture reads");
    pipeline::check(loaded, &settings, &levels)
}

#[test]
fn every_rule_has_fixtures_that_trigger_it_or_not() {
    // Relative to the package root (the tests' working directory), so rendered paths do not
    // depend on where the repository is checked out.
    let dir = Path::new("tests/fixtures/lints");
    let mut missing = Vec::new();
    // The audit's rules need listeners as well as a policy: `tests/audit.rs` holds theirs.
    for rule in lint::rules::ALL
        .iter()
        .filter(|r| r.category != lint::Category::Audit)
    {
        let rule_dir = dir.join(rule.name);
        let trigger = rule_dir.join("trigger.pcl");
        let clean = rule_dir.join("clean.pcl");
        if !trigger.is_file() || !clean.is_file() {
            missing.push(rule.name);
            continue;
        }
        let checked = check_fixture(&trigger);
        let found: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.rule == rule.name)
            .collect();
        assert!(
            !found.is_empty(),
            "{} does not report `{}`:\n{}",
            trigger.display(),
            rule.name,
            render(&checked)
        );
        let mut only_this_rule = checked.clone();
        only_this_rule.diagnostics.retain(|d| d.rule == rule.name);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(root().join("tests/snapshots/lints"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(rule.name, render(&only_this_rule)));

        let mut cleans: Vec<_> = std::fs::read_dir(&rule_dir)
            .expect("the rule's fixtures")
            .map(|e| e.expect("a fixture").path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                name.starts_with("clean") && name.ends_with(".pcl")
            })
            .collect();
        cleans.sort();
        for clean in cleans {
            let checked = check_fixture(&clean);
            let found: Vec<_> = checked
                .diagnostics
                .iter()
                .filter(|d| d.rule == rule.name)
                .collect();
            assert!(
                found.is_empty(),
                "{} reports `{}` although it must not:\n{}",
                clean.display(),
                rule.name,
                render(&checked)
            );
        }
    }
    assert!(
        missing.is_empty(),
        "rules without trigger.pcl and clean.pcl: {missing:?}"
    );
}
