//! `portcullis test FILE [--host NAME] [--ruleset FILE] [--format human|json|junit]`: the
//! policy's expectations proven in a real kernel. The proof is [`crate::proof`]; this file
//! builds (or reads) each host's ruleset and renders what the probes found.

use std::path::Path;

use super::arguments::{Arguments, TestArgs, TestFormat};
use super::build::{build, note_warnings, Goal, Hosts};
use super::error::CliError;
use super::output::{Outcome, Output};
use super::project;
use crate::lab::LabError;
use crate::nft::Nft;
use crate::proof::{self, render, HostProof};

/// The largest ruleset `--ruleset` reads: a million rules as `nft -f` text fit well within it.
const RULESET_LIMIT: u64 = 512 << 20;

pub fn run(cmd: &TestArgs, args: &Arguments, out: &mut Output) -> Result<Outcome, CliError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(CliError::NeedsRoot);
    }
    Nft::from_env()
        .supported_version()
        .map_err(crate::deploy::DeployError::from)?;
    let hosts = match &cmd.host {
        Some(name) => Hosts::Named(name),
        None if cmd.ruleset.is_some() => Hosts::Only,
        None => Hosts::All,
    };
    let Some(built) = build(
        &cmd.file,
        &cmd.stdin,
        &cmd.levels,
        args,
        hosts,
        Goal::Test,
        out,
    )?
    else {
        return Ok(Outcome::Findings);
    };
    let checked = &built.checked;
    let given = match &cmd.ruleset {
        Some(path) => Some(read_ruleset(path)?),
        None => None,
    };
    let mut proofs: Vec<HostProof> = Vec::new();
    for (i, ruleset) in &built.rulesets {
        let host = &checked.policy.hosts[*i];
        if host.chains.iter().all(|c| c.expectations.is_empty()) {
            if cmd.host.is_some() || built.rulesets.len() == 1 {
                out.note(&format!(
                    "note: host `{}` has no `expect` statements: nothing to prove",
                    host.display_name()
                ));
            }
            continue;
        }
        let compiled;
        let text = match &given {
            Some(text) => text.as_str(),
            None => {
                compiled = ruleset.to_nft();
                compiled.as_str()
            }
        };
        let json = text.trim_start().starts_with('{');
        let ruleset = proof::Ruleset { text, json };
        let proof = proof::prove(host, &checked.loaded.sources, ruleset).map_err(|e| {
            match (e, &cmd.ruleset) {
                (LabError::Load(nft), Some(path)) => CliError::Usage(format!(
                    "`{}` is not a ruleset nft loads (nothing was probed): {nft}",
                    path.display()
                )),
                (e, _) => e.into(),
            }
        })?;
        proofs.push(proof);
    }
    note_warnings(&built, project::anchor(&cmd.file, &cmd.stdin), out);
    if proofs.is_empty() && built.rulesets.len() > 1 {
        out.note("note: no host of the policy has `expect` statements: nothing to prove");
    }
    out.print(&match cmd.format {
        TestFormat::Human => render::human(&proofs),
        TestFormat::Json => render::json(&proofs),
        TestFormat::Junit => render::junit(&proofs),
    });
    Ok(if proofs.iter().all(HostProof::passed) {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

fn read_ruleset(path: &Path) -> Result<String, CliError> {
    let bytes =
        crate::fsio::read_regular(path, RULESET_LIMIT).map_err(|reason| CliError::Read {
            path: path.display().to_string(),
            reason,
        })?;
    String::from_utf8(bytes).map_err(|_| CliError::Read {
        path: path.display().to_string(),
        reason: "it is not UTF-8 text, so not a ruleset".to_string(),
    })
}
