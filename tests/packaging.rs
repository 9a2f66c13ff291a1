//! What a packaged CLI owes its users: shell completions and manual pages that cover every
//! subcommand, a binary that needs nothing beside itself, and systemd units that systemd accepts.

use std::path::{Path, PathBuf};
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

/// Whether `program` is on the `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A line on standard error that the test harness does not capture, so that a skipped check says
/// so in the run's output.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "systemd_accepts_the_example_units: {line}"
    );
}

/// `CI=true` or `CI=1`, as the kernel tests read it.
fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
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

/// `systemd-analyze verify` on copies of `units`, in `dir`; its complaints, empty when it has
/// none. It says nothing of a unit it accepts, and exits 0 even for an unknown key, which it
/// only warns about: any output is a complaint.
fn verify(analyze: &Path, dir: &Path, units: &[(String, String)], man: &[&str]) -> String {
    let mut paths = Vec::new();
    for (name, text) in units {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let output = Command::new(analyze)
        .arg("verify")
        .args(man)
        .args(&paths)
        .env("MANPATH", dir.join("man"))
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && said.trim().is_empty() {
        String::new()
    } else {
        format!("exit {:?}: {said}", output.status.code())
    }
}

#[test]
fn systemd_accepts_the_example_units() {
    let Some(analyze) = on_path("systemd-analyze") else {
        let reason = "systemd-analyze is not installed (tools/test installs systemd as root)";
        assert!(
            !on_ci(),
            "the systemd units cannot be verified on CI: {reason}"
        );
        say(&format!("skipped: {reason}"));
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // verify refuses an ExecStart= whose binary does not exist. The units run the installed
    // `/usr/local/bin/portcullis`; their copies run the binary under test instead, so that the
    // check holds on a machine where portcullis is not installed (and checks the real path's
    // program is the one built here). Other programs (nft) must be where the units say.
    let mut units = Vec::new();
    for path in std::fs::read_dir(root().join("examples/systemd")).unwrap() {
        let path = path.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "/usr/local/bin/portcullis",
            env!("CARGO_BIN_EXE_portcullis"),
        );
        for line in text.lines() {
            let Some(command) = line.strip_prefix("ExecStart=") else {
                continue;
            };
            let program = command.split_whitespace().next().unwrap();
            if !Path::new(program).exists() {
                let reason = format!("{name} runs {program}, which is not installed");
                assert!(
                    !on_ci(),
                    "the systemd units cannot be verified on CI: {reason}"
                );
                say(&format!("skipped: {reason}"));
                return;
            }
        }
        units.push((name, text));
    }
    units.sort();
    let names: Vec<&str> = units.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "portcullis-audit.service",
            "portcullis-audit.timer",
            "portcullis-restore.service"
        ]
    );
    // verify looks up the man: pages of Documentation= with man(1): install ours where it looks.
    let man = if on_path("man").is_some() {
        portcullis(
            None,
            &[
                "man",
                "--out-dir",
                dir.path().join("man/man1").to_str().unwrap(),
            ],
        )
        .code(0);
        Vec::new()
    } else {
        say("man is not installed: the units' Documentation= pages are not checked");
        vec!["--man=no"]
    };
    let complaints = verify(&analyze, dir.path(), &units, &man);
    assert!(complaints.is_empty(), "{complaints}");

    // The check can fail: a misspelt key is only a warning to systemd, and fails it here.
    let mut broken = units.clone();
    broken[0].1.push_str("\n[Service]\nProtectSystm=strict\n");
    let complaints = verify(&analyze, dir.path(), &broken, &man);
    assert!(complaints.contains("ProtectSystm"), "{complaints}");
}
