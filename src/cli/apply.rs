//! `portcullis apply FILE [--host NAME] [--confirm-within DURATION] [--dry-run]`
//!
//! Checks before it changes anything: the privilege to change the firewall, nft's version, the
//! policy (error-level findings refuse, exit 1), the compiled ruleset (`nft -c`). The work itself
//! is [`crate::deploy::apply`].

use std::path::Path;

use super::arguments::{ApplyArgs, Arguments, GuardChoice, StateArgs, StdinArgs};
use super::build::{build, note_warnings, Goal, Hosts};
use super::error::CliError;
use super::output::{Outcome, Output};
use super::project;
use crate::deploy::drift::Comparison;
use crate::deploy::guard::Kind;
use crate::deploy::state::{PolicyFile, PolicyFiles, StateDir};
use crate::deploy::{self, clock, ApplyRequest};
use crate::nft::Nft;

pub fn run(cmd: &ApplyArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, CliError> {
    deploy::require_net_admin("apply")?;
    let nft = Nft::from_env();
    nft.supported_version().map_err(deploy::DeployError::from)?;
    let hosts = match &cmd.host {
        Some(name) => Hosts::Named(name),
        None => Hosts::Only,
    };
    let Some(built) = build(
        &cmd.file,
        &cmd.stdin,
        &cmd.levels,
        args,
        hosts,
        Goal::Apply,
        out,
    )?
    else {
        return Ok(Outcome::Findings);
    };
    note_warnings(&built, project::anchor(&cmd.file, &cmd.stdin), out);
    let (index, ruleset) = &built.rulesets[0];
    let host = &built.checked.policy.hosts[*index];
    let script = ruleset.to_nft();
    let table = ruleset.table().to_string();
    let state_path = absolute(&StateDir::choose(cmd.state.state_dir.as_deref()))?;
    let confirm_within = match &cmd.confirm_within {
        Some(text) => crate::config::parse_confirm_within(text)
            .map_err(|e| CliError::Usage(format!("--confirm-within: {e}")))?,
        None => built.settings.config.deploy.confirm_within()?,
    };

    if cmd.dry_run {
        let state = StateDir::existing(&state_path)?;
        let found = deploy::dry_run(&nft, state.as_ref(), &table, &script)?;
        out.print(&script);
        let mut report = String::new();
        match &found.drift {
            Some(Comparison::Same) | None => {}
            Some(Comparison::Missing) => report.push_str(&format!(
                "drift: table inet {table} was applied but no longer exists\n"
            )),
            Some(Comparison::Differs(lines)) => {
                report.push_str(&format!(
                    "drift: table inet {table} differs from what was last applied (- applied, + live):\n"
                ));
                push_lines(&mut report, lines);
            }
        }
        let recorded = match &state {
            Some(state) => {
                state.applied()?.is_some_and(|a| a.table == table)
                    || state.previous()?.is_some_and(|p| p.table == table)
            }
            None => false,
        };
        if found.changes.is_some() && !recorded && !cmd.take_over {
            report.push_str(&format!(
                "note: table inet {table} exists and portcullis has no record of loading it: \
                 apply replaces it only with `--take-over`\n"
            ));
        }
        match &found.changes {
            None => report.push_str(&format!(
                "dry run: would create table inet {table}; nothing was changed\n"
            )),
            Some(lines) if lines.is_empty() => report.push_str(&format!(
                "dry run: table inet {table} already holds this ruleset; nothing was changed\n"
            )),
            Some(lines) => {
                report.push_str(&format!(
                    "dry run: would change table inet {table} (- live, + new); nothing was changed:\n"
                ));
                push_lines(&mut report, lines);
            }
        }
        out.note(report.trim_end());
        return Ok(Outcome::Clean);
    }

    let sources = &built.checked.loaded.sources;
    let root = sources.get(built.checked.loaded.root());
    let request = ApplyRequest {
        ruleset: script,
        table: table.clone(),
        host: host.name.clone(),
        source: match cmd.file == Path::new("-") {
            true if cmd.stdin.stdin_name == StdinArgs::DEFAULT_NAME => "standard input".to_string(),
            true => format!(
                "standard input (as {})",
                absolute(Path::new(&cmd.stdin.stdin_name))?.display()
            ),
            false => absolute(&cmd.file)?.display().to_string(),
        },
        source_bytes: root.text.as_bytes().to_vec(),
        policy: PolicyFiles {
            files: sources
                .iter()
                .map(|(_, f)| PolicyFile {
                    name: f.name.clone(),
                    text: f.text.to_string(),
                })
                .collect(),
        },
        confirm_within,
        guard: match cmd.guard {
            GuardChoice::Auto => Kind::Auto,
            GuardChoice::Systemd => Kind::Systemd,
            GuardChoice::Process => Kind::Process,
        },
        take_over: cmd.take_over,
        program: std::env::current_exe().map_err(|e| {
            CliError::Usage(format!(
                "cannot find this program's path for the rollback guard: {}",
                crate::fsio::reason(&e)
            ))
        })?,
    };
    let state = StateDir::create(&state_path)?;
    let report = deploy::apply(&nft, &state, &request)?;
    let applied = &report.applied;
    let mut text = format!(
        "applied {}{} to table inet {table}: apply #{}{}\n",
        project::anchor(&cmd.file, &cmd.stdin).display(),
        deploy::host_note(host.name.as_deref()),
        applied.generation,
        if report.replaced { "" } else { ", a new table" },
    );
    if report.pending.is_some() && report.first < applied.generation {
        text.push_str(&format!(
            "Applies #{} to #{} are not confirmed: a rollback undoes them all, back to the table \
             as it was before apply #{}.\n",
            report.first, applied.generation, report.first
        ));
    }
    match &report.pending {
        Some(pending) => text.push_str(&format!(
            "The table is restored by itself at {} ({} from now) unless confirmed.\n\
             Confirm from a NEW connection to this host: `portcullis confirm{}`. This session\n\
             stays up even if the new rules would refuse a new one, because the firewall lets\n\
             established connections through.\n",
            clock::format(pending.deadline),
            humantime::format_duration(confirm_within.unwrap_or_default()),
            state_flag(&cmd.state),
        )),
        None => text.push_str(
            "No confirmation was asked for (`--confirm-within` was not given): this is now the \
             boot ruleset.\n",
        ),
    }
    out.print(&text);
    if let Some(old) = &report.left_behind {
        out.note(&format!(
            "note: table inet {old}, which the apply before loaded, is still in place; portcullis \
             now owns table inet {table}. Remove the old one with `nft delete table inet {old}` \
             when nothing needs it"
        ));
    }
    Ok(Outcome::Clean)
}

fn push_lines(report: &mut String, lines: &[String]) {
    for line in lines {
        report.push_str("  ");
        report.push_str(line);
        report.push('\n');
    }
}

/// ` --state-dir DIR` when the command was given one, for advice to repeat it.
pub fn state_flag(state: &StateArgs) -> String {
    match &state.state_dir {
        Some(dir) => format!(" --state-dir {}", dir.display()),
        None => String::new(),
    }
}

/// `path` made absolute against the working directory (a guard runs from `/`).
fn absolute(path: &Path) -> Result<std::path::PathBuf, CliError> {
    std::path::absolute(path).map_err(|e| {
        CliError::Usage(format!(
            "cannot make `{}` absolute: {}",
            path.display(),
            crate::fsio::reason(&e)
        ))
    })
}
