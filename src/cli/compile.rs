//! `portcullis compile FILE [--host NAME] [--format nft|json] [-o FILE | --out-dir DIR]`
//!
//! Nothing is written while the policy has error-level findings, and nothing is written partially:
//! every host is compiled before the first file is written, every file is written to a temporary
//! file next to its target, and only when all are complete are they renamed over their targets
//! ([`crate::fsio`]).

use std::path::{Path, PathBuf};

use super::arguments::{Arguments, CompileArgs, RulesetFormat};
use super::build::{build, note_warnings, Goal, Hosts};
use super::error::CliError;
use super::output::{Outcome, Output};
use super::project;
use crate::compile::Ruleset;
use crate::model::Host;

pub fn run(cmd: &CompileArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, CliError> {
    let hosts = match (&cmd.host, &cmd.out_dir) {
        (Some(name), _) => Hosts::Named(name),
        (None, Some(_)) => Hosts::All,
        (None, None) => Hosts::Only,
    };
    let Some(built) = build(
        &cmd.file,
        &cmd.stdin,
        &cmd.levels,
        args,
        hosts,
        Goal::Compile,
        out,
    )?
    else {
        return Ok(Outcome::Findings);
    };
    let checked = &built.checked;
    let compiled: Vec<(&Host, String)> = built
        .rulesets
        .iter()
        .map(|(i, ruleset)| (&checked.policy.hosts[*i], render(ruleset, cmd.format)))
        .collect();

    note_warnings(&built, project::anchor(&cmd.file, &cmd.stdin), out);

    if let Some(dir) = &cmd.out_dir {
        let mut files: Vec<(PathBuf, &str)> = Vec::new();
        for (host, text) in &compiled {
            let path = dir.join(file_name(host, cmd.format)?);
            if files.iter().any(|(p, _)| *p == path) {
                return Err(CliError::Usage(format!(
                    "two hosts would both be written to `{}`",
                    path.display()
                )));
            }
            files.push((path, text));
        }
        crate::fsio::create_dir_all(dir).map_err(|reason| CliError::CreateDir {
            path: dir.display().to_string(),
            reason,
        })?;
        let files: Vec<(&Path, &[u8])> = files
            .iter()
            .map(|(path, text)| (path.as_path(), text.as_bytes()))
            .collect();
        crate::fsio::write_all_atomically(&files)?;
        out.note(&format!(
            "wrote {} file{} to {}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            dir.display()
        ));
    } else if let Some(path) = &cmd.output {
        crate::fsio::write_atomically(path, compiled[0].1.as_bytes())?;
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
