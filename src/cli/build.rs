//! What every command that produces rulesets does first: load and check the policy with its
//! settings, refuse while it has error-level findings (showing them on stderr), pick the hosts,
//! and compile each. `compile`, `apply` and `test` use it.

use std::io::IsTerminal;
use std::path::Path;

use super::arguments::{Arguments, LevelArgs, StdinArgs};
use super::error::CliError;
use super::output::{Output, Stream};
use super::project;
use crate::compile::{self, Ruleset};
use crate::config::Settings;
use crate::diagnostic::{self, HumanOptions, Severity};
use crate::pipeline::Checked;

/// Points at `check` for the warnings a command that produces a ruleset does not show.
pub fn note_warnings(built: &Built, file: &Path, out: &mut Output) {
    let warnings = built.warnings;
    if warnings > 0 {
        out.note(&format!(
            "note: the policy has {warnings} warning{}; `portcullis check {}` shows them",
            if warnings == 1 { "" } else { "s" },
            file.display()
        ));
    }
}

/// What the ruleset is built for, which the messages of a refusal name.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// To be written (`compile`).
    Compile,
    /// To be loaded (`apply`).
    Apply,
    /// To be probed in a lab network (`test`).
    Test,
}

impl Goal {
    fn refused(self) -> &'static str {
        match self {
            Goal::Compile => "not compiled",
            Goal::Apply => "not applied",
            Goal::Test => "not tested",
        }
    }

    fn unchanged(self) -> &'static str {
        match self {
            Goal::Compile => "nothing was written",
            Goal::Apply => "the firewall was not changed",
            Goal::Test => "nothing was probed",
        }
    }

    /// What to add to "pick one with `--host`" when the policy has several hosts.
    fn hint(self) -> &'static str {
        match self {
            Goal::Compile => ", or write one file per host with `--out-dir`",
            Goal::Apply | Goal::Test => "",
        }
    }
}

/// Which hosts of the policy to compile.
#[derive(Debug, Clone, Copy)]
pub enum Hosts<'a> {
    /// The one `--host` names.
    Named(&'a str),
    /// The only host; a policy of several is a usage error.
    Only,
    /// Every host (at least one).
    All,
}

/// A checked policy and the rulesets of the hosts asked for.
pub struct Built {
    /// The policy without its findings: a policy that compiles has none at error level, and of
    /// the others only their number is shown (`warnings`).
    pub checked: Checked,
    /// How many warning-level findings the policy has.
    pub warnings: usize,
    /// The configuration it was checked and compiled with.
    pub settings: Settings,
    /// Each host, by its index in `checked.policy.hosts`, with its ruleset.
    pub rulesets: Vec<(usize, Ruleset)>,
}

/// Loads, checks and compiles; `None` when the policy has errors (they have been shown and
/// nothing may be produced).
pub fn build(
    file: &Path,
    stdin: &StdinArgs,
    levels: &LevelArgs,
    args: &Arguments,
    hosts: Hosts,
    goal: Goal,
    out: &mut Output,
) -> Result<Option<Built>, CliError> {
    let (mut checked, settings) = project::load(file, stdin, levels, args)?;
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
            "{}: {} has {} error{}; {}",
            goal.refused(),
            project::anchor(file, stdin).display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            goal.unchanged()
        ));
        return Ok(None);
    }
    // Nothing after this reads the findings but their number, and a policy of a million rules
    // can have a million and a half of them: their memory goes to the compiler instead.
    let warnings = checked.count(Severity::Warning);
    checked.diagnostics = Vec::new();
    let all = &checked.policy.hosts;
    let index_of = |host: &crate::model::Host| {
        all.iter()
            .position(|h| std::ptr::eq(h, host))
            .expect("a host of the policy")
    };
    let picked: Vec<usize> = match hosts {
        Hosts::Named(name) => vec![index_of(project::pick_host(&checked, Some(name))?)],
        Hosts::All if !all.is_empty() => (0..all.len()).collect(),
        Hosts::All => vec![index_of(project::pick_host(&checked, None)?)],
        Hosts::Only => match project::pick_host(&checked, None) {
            Ok(host) => vec![index_of(host)],
            Err(e) if all.len() > 1 => return Err(CliError::Usage(format!("{e}{}", goal.hint()))),
            Err(e) => return Err(e.into()),
        },
    };
    let mut rulesets = Vec::with_capacity(picked.len());
    for i in picked {
        let host = &all[i];
        let ruleset = compile::compile_host_with_sources(
            &checked.policy,
            host,
            &settings.config.compile,
            &checked.loaded.sources,
        )
        .map_err(|error| CliError::Compile {
            host: host.display_name().to_string(),
            error,
        })?;
        rulesets.push((i, ruleset));
    }
    Ok(Some(Built {
        checked,
        warnings,
        settings,
        rulesets,
    }))
}
