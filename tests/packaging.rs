//! What a packaged CLI owes its users: shell completions and manual pages that cover every
//! subcommand, and a binary that needs nothing beside itself.

use std::process::Command;

use clap::CommandFactory;

use crate::support::{portcullis, root};

/// The subcommands a user can type, from clap's own command, so that a new one is covered here
/// without anyone listing it.
fn subcommands() -> Vec<String> {
    let names: Vec<String> = portcullis::cli::Arguments::command()
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| sub.get_name().to_string())
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    names
}

#[test]
fn completions_offer_every_subcommand() {
    // How each script offers a subcommand at the top level: not just the word somewhere (`rule`
    // is in `rules`, `man` in `command`), but the entry a shell completes from.
    type Entry = fn(&str) -> String;
    let entries: [(&str, Entry); 3] = [
        ("bash", |name| format!("portcullis,{name})")),
        ("zsh", |name| format!("'{name}:")),
        ("fish", |name| format!("-a \"{name}\"")),
    ];
    for (shell, entry) in entries {
        let run = portcullis(None, &["completions", shell]);
        run.code(0);
        assert!(run.stderr.is_empty(), "{shell}: {}", run.stderr);
        assert!(run.stdout.len() > 1000, "{shell}: {}", run.stdout);
        for name in subcommands() {
            assert!(
                run.stdout.contains(&entry(&name)),
                "{shell} completion does not offer `{name}`:\n{}",
                run.stdout
            );
        }
    }
    // Arguments as well as subcommands: a value of `--format`.
    let run = portcullis(None, &["completions", "fish"]);
    assert!(run.stdout.contains("sarif"), "{}", run.stdout);
    portcullis(None, &["completions", "tcsh"]).code(2);
}

#[test]
fn the_manual_names_every_subcommand_and_has_a_page_for_each() {
    let run = portcullis(None, &["man"]);
    run.code(0);
    assert!(
        run.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(".TH portcullis 1"), "{}", run.stdout);
    for name in subcommands() {
        // roff escapes the hyphen.
        let reference = format!("portcullis\\-{name}(1)");
        assert!(
            run.stdout.contains(&reference),
            "the main page does not name `{name}`:\n{}",
            run.stdout
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let run = portcullis(None, &["man", "--out-dir", out.to_str().unwrap()]);
    run.code(0);
    let mut expected: Vec<String> = subcommands()
        .iter()
        .map(|name| format!("portcullis-{name}.1"))
        .collect();
    expected.push("portcullis.1".to_string());
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, expected);
    let check = std::fs::read_to_string(out.join("portcullis-check.1")).unwrap();
    assert!(
        check.contains(&format!(
            ".TH portcullis-check 1  \"portcullis {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{check}"
    );
    assert!(check.contains("\\-\\-deny\\-warnings"), "{check}");
    assert!(check.contains("\\-\\-error"), "{check}");
    assert!(run
        .stderr
        .contains(&format!("wrote {} manual pages", expected.len())));
}

#[test]
fn the_binary_needs_nothing_beside_itself() {
    // A copy of the binary, alone in a directory, run with an empty environment from another:
    // the registry, the rule docs and the grammar must all be inside it.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let binary = bin.join("portcullis");
    std::fs::copy(env!("CARGO_BIN_EXE_portcullis"), &binary).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    for example in ["web.pcl", "common.pcl"] {
        std::fs::copy(root().join("examples").join(example), work.join(example)).unwrap();
    }
    for args in [
        &["check", "web.pcl"][..],
        &["lookup", "postgresql"],
        &["rule", "shadowed-rule"],
        &["compile", "web.pcl"],
    ] {
        let output = Command::new(&binary)
            .args(args)
            .current_dir(&work)
            .env_clear()
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.stdout.is_empty(), "{args:?}");
    }
}
