//! `portcullis compile FILE [--host NAME] [--format nft|json] [-o FILE | --out-dir DIR]`
//!
//! Nothing is written while the policy has error-level findings, and nothing is written partially:
//! every host is compiled before the first file is written, and each file is written to a temporary
//! file in its directory and then renamed over the target.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::arguments::{Arguments, CompileArgs, RulesetFormat};
use super::output::{Outcome, Output, Stream};
use super::project;
use crate::compile::{self, Ruleset};
use crate::diagnostic::{self, HumanOptions, Severity};
use crate::model::Host;

pub fn run(cmd: &CompileArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, String> {
    let (checked, settings) = project::load(&cmd.file, &cmd.stdin, &cmd.levels, args)?;
    if checked.has_errors() {
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .cloned()
            .collect();
        let options = HumanOptions {
            color: out.color && std::io::stderr().is_terminal(),
            width: super::output::terminal_width(Stream::Stderr),
        };
        out.note(&diagnostic::render_human(
            &checked.loaded.sources,
            &errors,
            options,
        ));
        out.note(&format!(
            "not compiled: {} has {} error{}; nothing was written",
            project::anchor(&cmd.file, &cmd.stdin).display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ));
        return Ok(Outcome::Findings);
    }

    let hosts: Vec<&Host> = match (&cmd.host, &cmd.out_dir) {
        (Some(name), _) => vec![project::pick_host(&checked, Some(name))?],
        (None, Some(_)) if !checked.policy.hosts.is_empty() => {
            checked.policy.hosts.iter().collect()
        }
        (None, _) => vec![project::pick_host(&checked, None).map_err(|e| {
            if checked.policy.hosts.len() > 1 {
                format!("{e}, or write one file per host with `--out-dir`")
            } else {
                e
            }
        })?],
    };

    let mut compiled: Vec<(&Host, String)> = Vec::new();
    for host in hosts {
        let ruleset = compile::compile_host_with_sources(
            &checked.policy,
            host,
            &settings.config.compile,
            &checked.loaded.sources,
        )
        .map_err(|e| format!("cannot compile host `{}`: {e}", host.display_name()))?;
        compiled.push((host, render(&ruleset, cmd.format)));
    }

    let warnings = checked.count(Severity::Warning);
    if warnings > 0 {
        out.note(&format!(
            "note: the policy has {warnings} warning{}; `portcullis check {}` shows them",
            if warnings == 1 { "" } else { "s" },
            project::anchor(&cmd.file, &cmd.stdin).display()
        ));
    }

    if let Some(dir) = &cmd.out_dir {
        let mut files: Vec<(PathBuf, &str)> = Vec::new();
        for (host, text) in &compiled {
            let path = dir.join(file_name(host, cmd.format)?);
            if files.iter().any(|(p, _)| *p == path) {
                return Err(format!(
                    "two hosts would both be written to `{}`",
                    path.display()
                ));
            }
            files.push((path, text));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        for (path, text) in &files {
            write_atomically(path, text)?;
        }
        out.note(&format!(
            "wrote {} file{} to {}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            dir.display()
        ));
    } else if let Some(path) = &cmd.output {
        write_atomically(path, &compiled[0].1)?;
    } else {
        out.print(&compiled[0].1);
    }
    Ok(Outcome::Clean)
}

fn render(ruleset: &Ruleset, format: RulesetFormat) -> String {
    match format {
        RulesetFormat::Nft => ruleset.to_nft(),
        RulesetFormat::Json => ruleset.to_json(),
    }
}

/// `web-1.nft`; `portcullis.nft` for the unnamed host. A name that could leave the directory or
/// hide the file is refused rather than rewritten, so the operator finds the file they expect.
fn file_name(host: &Host, format: RulesetFormat) -> Result<String, String> {
    let ext = match format {
        RulesetFormat::Nft => "nft",
        RulesetFormat::Json => "json",
    };
    let stem = host.name.as_deref().unwrap_or("portcullis");
    let safe = stem
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !stem.starts_with('.')
        && !stem.is_empty();
    if !safe {
        return Err(format!(
            "host name {stem:?} cannot be used as a file name; compile it with `--host` and `-o`"
        ));
    }
    Ok(format!("{stem}.{ext}"))
}

/// Writes `text` to a temporary file next to `path`, then renames it over `path`: readers see the
/// old file or the new one, never a partial one.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail = |e: &dyn std::fmt::Display| format!("cannot write `{}`: {e}", path.display());
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    // The temporary file is private (0600); the result keeps the mode of the file it replaces,
    // or gets the usual 0644 of a configuration file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| fail(&e))?;
    }
    file.write_all(text.as_bytes()).map_err(|e| fail(&e))?;
    file.as_file().sync_all().map_err(|e| fail(&e))?;
    file.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Arguments;

    fn run_cli(args: &[&str]) -> Outcome {
        let mut all = vec!["portcullis", "compile"];
        all.extend_from_slice(args);
        crate::cli::run(&Arguments::try_parse_from(all).expect("valid arguments"))
    }

    const TWO_HOSTS: &str = "host web-1 {\n  input drop {\n    allow ssh\n    allow http\n  }\n}\n\
                             host db-1 {\n  input drop {\n    allow ssh\n  }\n}\n";

    #[test]
    fn out_dir_writes_one_file_per_host() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("site.pcl");
        std::fs::write(&policy, TWO_HOSTS).unwrap();
        let out = dir.path().join("out");
        let outcome = run_cli(&[
            policy.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(outcome, Outcome::Clean);
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["db-1.json", "web-1.json"]);
        let web = std::fs::read_to_string(out.join("web-1.json")).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&web).is_ok());
    }

    #[test]
    fn a_policy_with_errors_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("bad.pcl");
        std::fs::write(&policy, "input drop {\n  allow tcp/99999\n  allow ssh\n}\n").unwrap();
        let target = dir.path().join("out.nft");
        std::fs::write(&target, "previous\n").unwrap();
        let outcome = run_cli(&[policy.to_str().unwrap(), "-o", target.to_str().unwrap()]);
        assert_eq!(outcome, Outcome::Findings);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "previous\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no stray files"
        );
    }

    #[test]
    fn several_hosts_need_a_choice() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("site.pcl");
        std::fs::write(&policy, TWO_HOSTS).unwrap();
        let target = dir.path().join("db.nft");
        assert_eq!(
            run_cli(&[policy.to_str().unwrap(), "-o", target.to_str().unwrap()]),
            Outcome::Fatal
        );
        assert!(!target.exists());
        assert_eq!(
            run_cli(&[
                policy.to_str().unwrap(),
                "--host",
                "db-1",
                "-o",
                target.to_str().unwrap()
            ]),
            Outcome::Clean
        );
        let text = std::fs::read_to_string(&target).unwrap();
        assert!(text.contains("for host db-1."));
        assert!(text.contains("tcp dport 22 accept"));
    }

    #[test]
    fn file_names_come_from_safe_host_names() {
        let host = |name: Option<&str>| Host {
            name: name.map(str::to_string),
            span: Default::default(),
            binds: Vec::new(),
            chains: Vec::new(),
            forwards: Vec::new(),
            source_nats: Vec::new(),
        };
        assert_eq!(
            file_name(&host(None), RulesetFormat::Nft).unwrap(),
            "portcullis.nft"
        );
        assert_eq!(
            file_name(&host(Some("web-1.example")), RulesetFormat::Json).unwrap(),
            "web-1.example.json"
        );
        for bad in ["../etc/passwd", "a/b", ".hidden", "", "a b"] {
            assert!(
                file_name(&host(Some(bad)), RulesetFormat::Nft).is_err(),
                "{bad}"
            );
        }
    }
}
