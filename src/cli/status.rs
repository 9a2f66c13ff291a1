//! `portcullis status [--format json]`: what is applied, whether a rollback is pending, and
//! whether the live table still matches. Exits 1 when something needs a person, so that
//! monitoring can run it: drift, an interrupted apply, a rollback overdue or without a guard.

use serde::Serialize;

use super::arguments::StatusArgs;
use super::error::CliError;
use super::output::{DataFormat, Outcome, Output};
use crate::deploy::drift::Comparison;
use crate::deploy::state::{Guard, StateDir};
use crate::deploy::{self, applies, clock, Status};
use crate::nft::Nft;

#[derive(Serialize)]
struct Report<'a> {
    state_dir: &'a str,
    applied: Option<AppliedReport<'a>>,
    pending: Option<PendingReport<'a>>,
    /// An apply that started to load but was not recorded.
    interrupted: Option<u64>,
    /// The pid of a deploying command running now.
    in_progress: Option<&'a str>,
    /// The last rollback, when nothing was applied since.
    rolled_back: Option<RolledBackReport<'a>>,
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
    /// The first apply it undoes (earlier than `generation` for a series of unconfirmed ones).
    first: u64,
    generation: u64,
    deadline: String,
    overdue: bool,
    guard: &'a Guard,
    /// For a process guard: whether it still runs.
    guard_alive: Option<bool>,
}

#[derive(Serialize)]
struct RolledBackReport<'a> {
    first: u64,
    generation: u64,
    table: &'a str,
    at: String,
    by_deadline: bool,
}

/// How long a guard has to act once the deadline passes before `status` calls it overdue.
const GRACE: u64 = 10;

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
    let state = StateDir::existing(&path)?;
    let privileged = deploy::require_net_admin("status").is_ok();
    let status = deploy::status(
        &Nft::from_env(),
        state.as_ref(),
        &path.display().to_string(),
        privileged,
    )?;
    let report = report(&status, privileged);
    let unguarded = report.pending.as_ref().is_some_and(|p| {
        p.overdue || p.guard_alive == Some(false) || matches!(p.guard, Guard::None)
    });
    let drifted = matches!(
        report.live,
        LiveReport::Missing | LiveReport::Differs { .. }
    );
    let needs_care = unguarded || drifted || report.interrupted.is_some();
    match cmd.format {
        DataFormat::Json => {
            let mut text = serde_json::to_string_pretty(&report)?;
            text.push('\n');
            out.print(&text);
        }
        DataFormat::Human => out.print(&human(&report)),
    }
    Ok(if needs_care {
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
            first: status.pending_first.unwrap_or(p.generation),
            generation: p.generation,
            deadline: clock::format(p.deadline),
            // A guard has a few seconds to act once the deadline passes.
            overdue: now > p.deadline + GRACE,
            guard: &p.guard,
            guard_alive: status.guard_alive,
        }),
        interrupted: status.interrupted,
        in_progress: status.in_progress.as_deref(),
        rolled_back: status
            .rolled_back
            .as_ref()
            .filter(|rb| {
                status
                    .applied
                    .as_ref()
                    .is_none_or(|a| a.generation < rb.generation)
            })
            .map(|rb| RolledBackReport {
                first: rb.first,
                generation: rb.generation,
                table: &rb.table,
                at: clock::format(rb.at),
                by_deadline: rb.by_deadline,
            }),
        live,
        log: &status.log,
    }
}

fn human(report: &Report) -> String {
    let mut text = String::new();
    match &report.applied {
        Some(applied) => {
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
            if report.pending.is_none() {
                match &applied.confirmed_at {
                    Some(at) => text.push_str(&format!("confirmed: {at}\n")),
                    None => text.push_str("confirmed: no\n"),
                }
            }
        }
        None => text.push_str(&format!(
            "applied:   nothing (state directory `{}`)\n",
            report.state_dir
        )),
    }
    if let Some(rb) = &report.rolled_back {
        text.push_str(&format!(
            "rolled back: {} at {}{}: table inet {} is as it was before apply #{}\n",
            applies(rb.first, rb.generation),
            rb.at,
            if rb.by_deadline {
                ", when its deadline passed"
            } else {
                " by `portcullis rollback`"
            },
            rb.table,
            rb.first
        ));
    }
    if let Some(pid) = report.in_progress {
        text.push_str(&format!(
            "running:   a deploying command (pid {pid}) is at work; what follows may change as it \
             finishes\n"
        ));
    }
    if let Some(generation) = report.interrupted {
        text.push_str(&format!(
            "INTERRUPTED: apply #{generation} started to load but was not recorded, so the live \
             table may hold its ruleset; run `portcullis rollback` to restore the table as it was \
             before it, or apply again\n"
        ));
    }
    if let Some(p) = &report.pending {
        text.push_str(&pending_line(p, report.interrupted.is_some()));
    }
    match &report.live {
        LiveReport::NotApplied => {}
        LiveReport::Same => text.push_str("live:      matches what was applied\n"),
        LiveReport::Missing => text.push_str(&format!(
            "live:      DRIFT: table inet {} does not exist\n",
            report.applied.as_ref().map_or("", |a| a.table)
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

/// The pending rollback, and what is wrong with it if anything. `interrupted`: its apply was
/// not recorded, so it cannot be confirmed.
fn pending_line(p: &PendingReport, interrupted: bool) -> String {
    let fix = "run `portcullis confirm` to keep the rules or `portcullis rollback` to undo them";
    let undoes = if p.first < p.generation {
        format!("#{} to #{}", p.first, p.generation)
    } else {
        format!("#{}", p.generation)
    };
    if p.overdue {
        return format!(
            "pending:   OVERDUE: the rollback of {undoes} was due at {} and has not run{}; run \
             `portcullis rollback`, or `portcullis apply` again\n",
            p.deadline,
            match p.guard_alive {
                Some(false) => " (its guard process is gone)",
                _ => "",
            }
        );
    }
    let by = match p.guard {
        Guard::Process { pid } if p.guard_alive == Some(false) => {
            return format!(
                "pending:   NO GUARD: the rollback of {undoes} is due at {}, but its guard process \
                 {pid} is gone, so nothing will fire it; {fix}\n",
                p.deadline
            )
        }
        Guard::None => {
            return format!(
                "pending:   NO GUARD: the rollback of {undoes} is due at {}, but no guard was \
                 started; {fix}\n",
                p.deadline
            )
        }
        Guard::Systemd { unit } => format!("systemd timer {unit}.timer"),
        Guard::Process { pid } => format!("guard process {pid}"),
    };
    if interrupted {
        format!(
            "pending:   rollback of {undoes} at {} ({by}); it cannot be confirmed, as the apply \
             was interrupted\n",
            p.deadline
        )
    } else {
        format!(
            "pending:   rollback of {undoes} at {} unless `portcullis confirm` runs first ({by})\n",
            p.deadline
        )
    }
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
