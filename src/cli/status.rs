//! `portcullis status [--format json]`: what is applied, whether a rollback is pending, and
//! whether the live table still matches. Exits 1 when it does not (drift) or when a rollback is
//! overdue, so that monitoring can run it.

use serde::Serialize;

use super::arguments::StatusArgs;
use super::error::CliError;
use super::output::{DataFormat, Outcome, Output};
use crate::deploy::drift::Comparison;
use crate::deploy::state::{Guard, StateDir};
use crate::deploy::{self, clock, Status};
use crate::nft::Nft;

#[derive(Serialize)]
struct Report<'a> {
    state_dir: &'a str,
    applied: Option<AppliedReport<'a>>,
    pending: Option<PendingReport<'a>>,
    live: LiveReport,
    log: &'a [String],
}

#[derive(Serialize)]
struct AppliedReport<'a> {
    generation: u64,
    source: &'a str,
    sha256: &'a str,
    host: Option<&'a str>,
    table: &'a str,
    applied_at: String,
    user: &'a str,
    confirmed_at: Option<String>,
}

#[derive(Serialize)]
struct PendingReport<'a> {
    generation: u64,
    deadline: String,
    overdue: bool,
    guard: &'a Guard,
    /// For a process guard: whether it still runs.
    guard_alive: Option<bool>,
}

#[derive(Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
enum LiveReport {
    /// Nothing was applied: nothing to compare.
    NotApplied,
    Same,
    Missing,
    Differs {
        lines: Vec<String>,
    },
    Unknown {
        reason: String,
    },
}

pub fn run(cmd: &StatusArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let path = StateDir::choose(cmd.state.state_dir.as_deref());
    let state = StateDir::existing(&path);
    let privileged = deploy::require_net_admin("status").is_ok();
    let status = deploy::status(
        &Nft::from_env(),
        state.as_ref(),
        &path.display().to_string(),
        privileged,
    )?;
    let report = report(&status, privileged);
    let overdue = report.pending.as_ref().is_some_and(|p| p.overdue);
    let drifted = matches!(
        report.live,
        LiveReport::Missing | LiveReport::Differs { .. }
    );
    match cmd.format {
        DataFormat::Json => {
            let mut text = serde_json::to_string_pretty(&report)?;
            text.push('\n');
            out.print(&text);
        }
        DataFormat::Human => out.print(&human(&report)),
    }
    Ok(if overdue || drifted {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn report(status: &Status, privileged: bool) -> Report<'_> {
    let now = clock::now();
    let live = match (&status.applied, &status.live) {
        (None, _) => LiveReport::NotApplied,
        (Some(_), Some(Ok(Comparison::Same))) => LiveReport::Same,
        (Some(_), Some(Ok(Comparison::Missing))) => LiveReport::Missing,
        (Some(_), Some(Ok(Comparison::Differs(lines)))) => LiveReport::Differs {
            lines: lines.clone(),
        },
        (Some(_), Some(Err(reason))) => LiveReport::Unknown {
            reason: reason.clone(),
        },
        (Some(_), None) => LiveReport::Unknown {
            reason: if privileged {
                "not compared".to_string()
            } else {
                "comparing the live table needs root or CAP_NET_ADMIN".to_string()
            },
        },
    };
    Report {
        state_dir: &status.state_dir,
        applied: status.applied.as_ref().map(|a| AppliedReport {
            generation: a.generation,
            source: &a.source,
            sha256: &a.sha256,
            host: a.host.as_deref(),
            table: &a.table,
            applied_at: clock::format(a.applied_at),
            user: &a.user,
            confirmed_at: a.confirmed_at.map(clock::format),
        }),
        pending: status.pending.as_ref().map(|p| PendingReport {
            generation: p.generation,
            deadline: clock::format(p.deadline),
            // A guard has a few seconds to act once the deadline passes.
            overdue: now > p.deadline + 10,
            guard: &p.guard,
            guard_alive: status.guard_alive,
        }),
        live,
        log: &status.log,
    }
}

fn human(report: &Report) -> String {
    let mut text = String::new();
    let Some(applied) = &report.applied else {
        text.push_str(&format!(
            "nothing applied (state directory `{}`)\n",
            report.state_dir
        ));
        push_log(&mut text, report.log);
        return text;
    };
    text.push_str(&format!(
        "applied:   #{} {}{} to table inet {}\n           at {} by {}, sha256 {}\n",
        applied.generation,
        applied.source,
        crate::deploy::host_note(applied.host),
        applied.table,
        applied.applied_at,
        applied.user,
        applied.sha256
    ));
    match (&applied.confirmed_at, &report.pending) {
        (_, Some(p)) if p.overdue => text.push_str(&format!(
            "pending:   OVERDUE: the rollback of #{} was due at {} and has not run{}; run \
             `portcullis rollback`, or `portcullis apply` again\n",
            p.generation,
            p.deadline,
            match p.guard_alive {
                Some(false) => " (its guard process is gone)",
                _ => "",
            }
        )),
        (_, Some(p)) => text.push_str(&format!(
            "pending:   rollback of #{} at {} unless `portcullis confirm` runs first ({})\n",
            p.generation,
            p.deadline,
            match p.guard {
                Guard::Systemd { unit } => format!("systemd timer {unit}.timer"),
                Guard::Process { pid } => format!("guard process {pid}"),
                Guard::None => "no guard started".to_string(),
            }
        )),
        (Some(at), None) => text.push_str(&format!("confirmed: {at}\n")),
        (None, None) => text.push_str("confirmed: no\n"),
    }
    match &report.live {
        LiveReport::NotApplied => {}
        LiveReport::Same => text.push_str("live:      matches what was applied\n"),
        LiveReport::Missing => text.push_str(&format!(
            "live:      DRIFT: table inet {} does not exist\n",
            applied.table
        )),
        LiveReport::Differs { lines } => {
            text.push_str("live:      DRIFT: differs from what was applied (- applied, + live):\n");
            for line in lines {
                text.push_str(&format!("             {line}\n"));
            }
        }
        LiveReport::Unknown { reason } => {
            text.push_str(&format!("live:      not compared: {reason}\n"))
        }
    }
    push_log(&mut text, report.log);
    text
}

/// The last events of the state directory's log.
fn push_log(text: &mut String, log: &[String]) {
    if let Some((first, rest)) = log.split_first() {
        text.push_str(&format!("log:       {first}\n"));
        for line in rest {
            text.push_str(&format!("           {line}\n"));
        }
    }
}
