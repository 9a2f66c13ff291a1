//! Runs probes through the library's lab, holds each outcome against the oracle, and explains
//! every disagreement.

use std::fmt::Write as _;
use std::time::Duration;

use super::oracle::{Oracle, Path, Routed};
use super::probe::Outcome;
use super::topology::Topology;
use super::trials::say;

pub use portcullis::lab::run::{canonical, Checked, Listening, DEADLINE, PATIENT_DEADLINE};

/// Runs the probes (see [`portcullis::lab::run::run`]) and says which agreed only when asked
/// again.
pub fn run(
    topology: &Topology,
    oracle: &Oracle,
    listening: &Listening,
    probes: &[Routed],
    deadline: Duration,
) -> Vec<Checked> {
    let checked = portcullis::lab::run::run(topology, oracle, listening, probes, deadline)
        .unwrap_or_else(|e| panic!("probing failed: {e}"));
    for c in &checked {
        if let Some(first) = c.first_try {
            say!(
                "note: {} agreed only when asked again ({} the first time)",
                c.routed.probe,
                first.describe(c.routed.probe.protocol)
            );
        }
    }
    checked
}

/// Context for a failure message.
pub struct Report<'a> {
    /// What was tested: `examples/web.pcl, host web-1, loaded with nft -f`.
    pub title: &'a str,
    pub policy: &'a str,
    pub ruleset: &'a str,
}

/// Panics with every disagreement, the policy and the ruleset, if there is any.
pub fn assert_agree(report: &Report, checked: &[Checked]) {
    if let Err(message) = agree(report, checked) {
        panic!("{message}");
    }
}

/// Every disagreement, the policy and the ruleset, if there is any.
pub fn agree(report: &Report, checked: &[Checked]) -> Result<(), String> {
    let wrong: Vec<&Checked> = checked.iter().filter(|c| !c.agrees()).collect();
    if wrong.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "{}: the kernel disagrees with the policy on {} of {} probes\n\n",
        report.title,
        wrong.len(),
        checked.len()
    );
    for c in wrong.iter().take(40) {
        let _ = writeln!(message, "  {}\n", c.line());
    }
    if wrong.len() > 40 {
        let _ = writeln!(message, "  ... and {} more\n", wrong.len() - 40);
    }
    let _ = write!(
        message,
        "--- policy ---\n{}\n--- ruleset ---\n{}",
        report.policy.trim_end(),
        super::ruleset::numbered(report.ruleset)
    );
    Err(message)
}

/// Counts of outcomes, for a one-line summary.
pub fn summary(checked: &[Checked]) -> String {
    let count = |f: &dyn Fn(&Checked) -> bool| checked.iter().filter(|c| f(c)).count();
    let mut paths = Vec::new();
    for path in [Path::Input, Path::Forward, Path::Output] {
        let n = count(&|c| c.routed.path == path);
        if n > 0 {
            paths.push(format!("{n} {path}"));
        }
    }
    format!(
        "{} probes ({}; {} translated by forward-port, {} rate-limited): {} answered, {} refused, {} dropped",
        checked.len(),
        paths.join(", "),
        count(&|c| c.expectation.dnat.is_some()),
        count(&|c| c.expectation.is_limited()),
        count(&|c| c.outcome == Outcome::Answered),
        count(&|c| matches!(c.outcome, Outcome::Refused(_))),
        count(&|c| matches!(c.outcome, Outcome::TimedOut | Outcome::Blocked(_))),
    )
}
